//! `berth exec`: run a new process in a running container, from a
//! `--process` JSON file (what conmon and the containerd shim pass) or from
//! the command line over the container's own process settings.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use oci_spec::runtime::{Capability, Process, User};

use super::Globals;
use crate::error::{Context, Error, Result};
use crate::process::join::{self, ExecOptions};
use crate::state::lock::LockMode;
use crate::state::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON file with the OCI `process` to run
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Unix socket that receives the pty master
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Extra environment variables (KEY=VALUE)
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// uid[:gid] to run as
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Additional gids
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Detach: return once the process runs
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// File to write the process' host pid to
    #[arg(long = "pid-file", value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// Set no_new_privs
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Add a capability to the process (all sets but ambient)
    #[arg(short = 'c', long = "cap")]
    pub caps: Vec<String>,
    /// Pass N extra descriptors (from 3)
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Run the process in an existing sub-cgroup of the container:
    /// [<controller>:]<path> (repeatable)
    #[arg(long = "cgroup", value_name = "CGROUP")]
    pub cgroup: Vec<String>,
    /// Allow exec in a paused container
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// SELinux label of the process
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// AppArmor profile of the process
    #[arg(long)]
    pub apparmor: Option<String>,
    pub id: String,
    /// The command and its arguments (without --process)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

fn build_process(a: &Args, base: Option<&Process>) -> Result<Process> {
    if let Some(p) = &a.process {
        let raw = std::fs::read(p).ctx(|| format!("read process file `{}`", p.display()))?;
        let (process, warnings) = crate::spec::load::parse_process(&raw)?;
        for w in &warnings {
            crate::logging::warn_user(w);
        }
        return Ok(process);
    }
    if a.command.is_empty() {
        return Err(Error::Usage("exec needs a command or --process".into()));
    }
    let mut p =
        base.cloned().ok_or_else(|| Error::config("process", "the container has no process to base exec on"))?;
    p.set_args(Some(a.command.clone()));
    p.set_terminal(Some(a.tty));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(a.env.iter().cloned());
    p.set_env(Some(env));
    if let Some(u) = &a.user {
        let (uid, gid) = u.split_once(':').unwrap_or((u, "0"));
        let uid = uid.parse().map_err(|_| Error::Usage(format!("invalid --user `{u}` (uid[:gid])")))?;
        let gid = gid.parse().map_err(|_| Error::Usage(format!("invalid --user `{u}` (uid[:gid])")))?;
        let mut user = User::default();
        user.set_uid(uid);
        user.set_gid(gid);
        p.set_user(user);
    }
    if !a.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(a.additional_gids.clone()));
        p.set_user(user);
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if a.apparmor.is_some() {
        p.set_apparmor_profile(a.apparmor.clone());
    }
    if a.process_label.is_some() {
        p.set_selinux_label(a.process_label.clone());
    }
    if !a.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for name in &a.caps {
            let c: Capability = serde_json::from_value(serde_json::Value::String(name.clone()))
                .map_err(|_| Error::Usage(format!("unknown capability `{name}`")))?;
            let add = |set: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = set.clone().unwrap_or_default();
                s.insert(c);
                Some(s)
            };
            let (b, e, p_, i) =
                (add(caps.bounding()), add(caps.effective()), add(caps.permitted()), add(caps.inheritable()));
            caps.set_bounding(b);
            caps.set_effective(e);
            caps.set_permitted(p_);
            caps.set_inheritable(i);
        }
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    if !a.detach {
        // Before anything else: a signal meant for the process is then
        // forwarded once it runs, never lost or fatal to berth half-way.
        crate::signals::block_forwarded()?;
    }
    let dir = g.container(&a.id)?;
    // Shared: execs run side by side, but not while the container is being
    // started, paused or deleted. Held until the process is set up.
    let lock = dir.lock(LockMode::Shared)?;
    let stored = dir.load()?;
    match dir.status(&stored) {
        Status::Running | Status::Created => {}
        Status::Paused if a.ignore_paused => {}
        Status::Paused => return Err(Error::Status("container is paused (use --ignore-paused)".into())),
        Status::Creating => return Err(Error::Status("cannot exec in a container that is being created".into())),
        Status::Stopped => return Err(Error::Status("cannot exec in a stopped container".into())),
    }
    let spec = dir.load_config()?;
    let process = build_process(&a, spec.process().as_ref())?;
    let terminal = process.terminal().unwrap_or(false);
    let (ours, console): (Option<std::os::unix::net::UnixStream>, Option<OwnedFd>) = match (&a.console_socket, terminal)
    {
        (Some(p), true) => (None, Some(crate::terminal::connect(p)?)),
        (None, true) if !a.detach => {
            let (x, y) = std::os::unix::net::UnixStream::pair().ctx(|| "create the console socket pair".to_string())?;
            (Some(x), Some(OwnedFd::from(y)))
        }
        (None, true) => return Err(Error::Usage("a detached exec with a terminal needs --console-socket".into())),
        _ => (None, None),
    };
    let opts = ExecOptions {
        process,
        console,
        pid_file: a.pid_file.clone(),
        preserve_fds: a.preserve_fds,
        cgroup: a.cgroup.clone(),
    };
    let pid = join::spawn(&stored, &dir, &spec, opts)?;
    drop(lock);
    if a.detach {
        return Ok(());
    }
    let master = match &ours {
        Some(s) => Some(crate::terminal::recv_fd(std::os::fd::AsFd::as_fd(s))?),
        None => None,
    };
    let code = super::run::wait_foreground(pid, master.as_ref())?;
    Err(Error::Exit(code))
}
