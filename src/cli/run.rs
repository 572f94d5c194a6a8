//! `berth run`: create + start. In the foreground it waits for the
//! container, forwards signals to it, proxies the terminal if there is one,
//! deletes the container and exits with its status; `-d` returns at once.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::sys::signal::{kill, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::create::Args as CreateArgs;
use super::Globals;
use crate::error::{Context, Error, Result};
use crate::process::parent::{self, Created};
use crate::state::lock::LockMode;
use crate::state::store::ContainerDir;
use crate::state::Stored;

#[derive(Debug, clap::Args)]
#[group(id = "run_args")]
pub struct Args {
    /// Detach: return once the container runs
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Do not delete the container after it exits
    #[arg(long)]
    pub keep: bool,
    /// Accepted for runc compatibility: berth's foreground run waits for
    /// its own child and sets up no subreaper to disable
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    #[command(flatten)]
    pub create: CreateArgs,
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    // Before anything else (see `crate::signals`): a SIGTERM while the
    // container is being made waits; in the foreground it is forwarded
    // once the container runs, with -d it undoes the create.
    if a.detach {
        crate::signals::block_stop()?;
    } else {
        crate::signals::block_forwarded()?;
    }
    let mut steps = crate::logging::Steps::new("run");
    let opts = a.create.options(g);
    let bundle = crate::spec::load::load_bundle(&opts.bundle)?;
    steps.step("read the config");
    // run starts what it creates, and start needs a process: refuse before
    // anything exists rather than create a container that cannot start.
    if bundle.spec.process().is_none() {
        return Err(Error::config("process", "is required to run a container"));
    }
    let terminal = bundle.spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false);
    if a.detach {
        if terminal && opts.console_socket.is_none() {
            return Err(Error::Usage("a detached container with a terminal needs --console-socket".into()));
        }
        let c = parent::create_from(&g.root, &opts, bundle, None)?;
        super::create::undo_if_stopped(&c)?;
        return parent::start(&c.dir, c.lock, &c.stored, &c.spec);
    }
    // Foreground: with a terminal, we are our own console socket.
    let (ours, theirs) = if terminal && opts.console_socket.is_none() {
        let (a, b) = UnixStream::pair().ctx(|| "create the console socket pair".to_string())?;
        (Some(a), Some(OwnedFd::from(b)))
    } else {
        (None, None)
    };
    let Created { pid, dir, lock, stored, spec } = parent::create_from(&g.root, &opts, bundle, theirs)?;
    let master = match &ours {
        Some(s) => Some(crate::terminal::recv_fd(s.as_fd())?),
        None => None,
    };
    // start lets go of the lock: none is held while the container runs,
    // so pause, exec, kill and delete work from elsewhere meanwhile.
    let started = parent::start(&dir, lock, &stored, &spec);
    let started_ok = started.is_ok();
    steps.step("create and start (the steps above)");
    let code = match started {
        Ok(()) => wait_loop(pid, &crate::signals::forwarding_fd()?, master.as_ref()),
        Err(e) => Err(e),
    };
    steps.step("the container ran and exited");
    // --keep: the stopped container stays until `delete` (unless start
    // failed, which already destroyed it).
    let cleanup = if a.keep && started_ok { Ok(()) } else { destroy_if_ours(&dir, &stored, &spec) };
    steps.step("delete the container");
    let code = code?;
    cleanup?;
    Err(Error::Exit(code))
}

/// Destroy the container this `run` made, unless someone deleted it while
/// it ran (and maybe made another with the same id: the one on disk must
/// be ours, same init, same creation time). `spec` is its config, as read
/// for the create.
fn destroy_if_ours(dir: &ContainerDir, ours: &Stored, spec: &oci_spec::runtime::Spec) -> Result<()> {
    let lock = match dir.lock(LockMode::Exclusive) {
        Ok(l) => l,
        Err(Error::NotExist(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    match dir.load() {
        Ok(s) if s.pid == ours.pid && s.start_time == ours.start_time && s.created == ours.created => {
            parent::destroy_with(dir, Some(&lock), &s, Some(spec))
        }
        Ok(_) | Err(Error::NotExist(_)) => Ok(()),
        // Damaged meanwhile: what we know is still ours.
        Err(_) => parent::destroy_with(dir, Some(&lock), ours, Some(spec)),
    }
}

/// Wait for a child of ours in the foreground (exec without -d), with
/// signals blocked since the verb began (`crate::signals`).
pub fn wait_foreground(pid: i32, master: Option<&OwnedFd>) -> Result<i32> {
    wait_loop(pid, &crate::signals::forwarding_fd()?, master)
}

fn wait_loop(pid: i32, sfd: &SignalFd, master: Option<&OwnedFd>) -> Result<i32> {
    let _raw = master.map(|m| crate::terminal::RawMode::enter(std::io::stdin().as_fd(), m.as_fd()));
    let pid = Pid::from_raw(pid);
    let stdin = std::io::stdin();
    let mut stdin_open = master.is_some();
    loop {
        if let Some(code) = reap(pid)? {
            if let Some(m) = master {
                crate::terminal::drain(m.as_fd());
            }
            return Ok(code);
        }
        let mut fds = vec![nix::poll::PollFd::new(sfd.as_fd(), nix::poll::PollFlags::POLLIN)];
        if let Some(m) = master {
            fds.push(nix::poll::PollFd::new(m.as_fd(), nix::poll::PollFlags::POLLIN));
            if stdin_open {
                fds.push(nix::poll::PollFd::new(stdin.as_fd(), nix::poll::PollFlags::POLLIN));
            }
        }
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(200u16)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e).ctx(|| "wait for the container".to_string()),
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.any().unwrap_or(false)).collect();
        if ready[0] {
            if let Ok(Some(info)) = sfd.read_signal() {
                let sig = Signal::try_from(info.ssi_signo as i32).ok();
                match sig {
                    Some(Signal::SIGCHLD) | None => {}
                    Some(Signal::SIGWINCH) => {
                        if let Some(m) = master {
                            let _ = crate::sys::process::copy_winsize(stdin.as_fd(), m.as_fd());
                        }
                    }
                    Some(s) => {
                        let _ = kill(pid, s);
                    }
                }
            }
        }
        if let Some(m) = master {
            if ready.get(1).copied().unwrap_or(false)
                && !crate::terminal::copy_once(m.as_fd(), std::io::stdout().as_fd())
            {
                // The pty closed: the container is exiting; keep reaping.
            }
            if ready.get(2).copied().unwrap_or(false) && !crate::terminal::copy_once(stdin.as_fd(), m.as_fd()) {
                stdin_open = false;
            }
        }
    }
}

/// Reap the init if it exited; its status as a shell would report it.
fn reap(pid: Pid) -> Result<Option<i32>> {
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => Ok(Some(code)),
        Ok(WaitStatus::Signaled(_, sig, _)) => Ok(Some(128 + sig as i32)),
        Ok(_) => Ok(None),
        Err(nix::errno::Errno::ECHILD) => Ok(Some(0)),
        Err(e) => Err(e).ctx(|| "wait for the container init".to_string()),
    }
}
