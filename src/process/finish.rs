//! The one tail before execve, shared by create's init and exec's child.
//!
//! Both arrive here inside every namespace of the container, with the
//! container's root as `/` (create: after pivot_root and the path
//! lockdown; exec: after setns). From here on they do the very same steps,
//! in this order (runc's `finalizeNamespace`, shared by its two inits, is
//! the model); each step says why it stands where it stands:
//!
//! ```text
//!  1. terminal       a pty from the container's devpts, its slave taken
//!                    from the master (TIOCGPTPEER), never by name; create's
//!                    init binds it onto /dev/console from that descriptor;
//!                    its window gets `consoleSize`; without one, a
//!                    session of its own (runc's nsexec: CRIU cannot dump
//!                    a session led from outside)
//!  2. keyring        a new session keyring, before seccomp may deny keyctl
//!  3. attributes     oom_score_adj, scheduler, I/O priority, personality,
//!                    rlimits (RLIMIT_NOFILE's soft limit only in step 14,
//!                    as the tail still opens descriptors): while we still hold CAP_SYS_RESOURCE and
//!                    CAP_SYS_NICE (lowering oom_score_adj, raising a hard
//!                    limit, real-time policies need them); the exec guard
//!                    was made by berth before the clone, so no rlimit can
//!                    keep it from existing. Then the memory policy and
//!                    execCPUAffinity's `final` CPUs: we are in the
//!                    container's cgroup by now (the parent put us there
//!                    before `go`), whose cpuset the affinity must fit, and
//!                    seccomp (Docker's profile denies set_mempolicy without
//!                    CAP_SYS_NICE) comes later
//!  4. stdio          handed to the container user (pipes, sockets, our
//!                    pty), as runc's fixStdioPermissions: needs CAP_CHOWN
//!  5. descriptors    every descriptor but stdio, `--preserve-fds` and our
//!                    own close-on-exec ones is closed, before the working
//!                    directory is entered (CVE-2024-21626) and before
//!                    seccomp (which may deny close_range)
//!  6. LSM            the AppArmor profile / SELinux label for the execve,
//!                    written through a verified procfs handle, before
//!                    seccomp (which may deny the write)
//!  7. signals        every disposition default, mask empty: before seccomp
//!                    (which may deny rt_sigaction)
//!  8. seccomp, early without no_new_privs (loading needs CAP_SYS_ADMIN,
//!                    about to be dropped) or with a notify listener (berth
//!                    is still here to pass it to the agent)
//!  9. credentials    bounding set (needs CAP_SETPCAP), keepcaps, the
//!                    working directory (resolved inside the root, as root
//!                    first for directories only root may enter), uid/gid,
//!                    then the other capability sets (capabilities(7))
//! 10. cwd check      the working directory must be inside the root
//! 11. program        looked up as the container user, so a missing or
//!                    non-executable program fails create, as with runc
//! 12. gate           tell berth we are ready; create's init then waits
//!                    for `start` (startContainer hooks run there) and keeps
//!                    its end of the exec fifo open until the execve, so
//!                    that `start` knows the program runs (or why not)
//! 13. seccomp, late  with no_new_privs: as close to execve as possible
//! 14. exec           RLIMIT_NOFILE's soft limit, umask, then execve through
//!                    the exec guard
//! ```
//!
//! Every step returns its error; the caller reports it and exits, so every
//! way out of a container process is visible in `init::run` and
//! `join::run_child`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};

use super::attrs::{self, Never};
use super::plan::ProcessPlan;
use super::sync::Channel;
use crate::error::{Context, Error, Result};
use crate::procfs::Proc;
use crate::sys::process as sp;

/// What the tail works with besides the plan: descriptors that are open
/// (never part of a plan) and the entry point's own gate.
pub(super) struct Tail<'a> {
    pub(super) chan: &'a Channel,
    /// The exec guard berth made before the clone (CVE-2019-5736).
    pub(super) guard: OwnedFd,
    /// The connected `--console-socket` (terminal only).
    pub(super) console: Option<OwnedFd>,
    /// create: `/dev/console` in the container, where the pty is bound.
    pub(super) console_target: Option<OwnedFd>,
    /// A verified procfs handle, when the caller already has one.
    pub(super) proc: Option<Proc>,
    /// Further descriptors of ours that must stay open until the gate
    /// (create's exec fifo directory); close-on-exec.
    pub(super) keep: Vec<RawFd>,
    /// The process is in a user namespace other than the host's.
    pub(super) in_userns: bool,
    /// The steps so far with their times (`--debug`), sent to berth at the gate.
    pub(super) steps: crate::logging::StepTimes,
}

/// What the gate leaves open until the exec: create's end of the exec
/// fifo. Its EOF (it is close-on-exec) tells `start` that the program was
/// executed, so poststart hooks run after the exec (config.md#poststart);
/// a failure before then is written to it, and `start` reports it.
pub(super) struct Started(pub(super) Option<OwnedFd>);

impl Started {
    pub(super) fn failed(&self, e: &Error) {
        if let Some(fd) = &self.0 {
            let _ = nix::unistd::write(fd, format!("E{e}").as_bytes());
        }
    }
}

/// Run the tail. `gate` tells berth we are ready and returns once the
/// program may run: create's init waits there for `start` (see
/// `init::wait_for_start`); exec just reports ready.
pub(super) fn finish(
    p: &ProcessPlan,
    mut t: Tail<'_>,
    gate: impl FnOnce(&Channel) -> Result<Started>,
) -> Result<Never> {
    // 1. terminal
    if p.terminal {
        let sock = t
            .console
            .take()
            .ok_or_else(|| Error::Usage("a terminal was requested but no --console-socket given".into()))?;
        crate::terminal::attach(sock.as_fd(), t.console_target.take().as_ref().map(|f| f.as_fd()))?;
        if let Some((rows, cols)) = p.console_size {
            sp::set_winsize(sp::stdio_fd(0), rows, cols).ctx(|| format!("set the terminal size to {rows}x{cols}"))?;
        }
    } else {
        nix::unistd::setsid().ctx(|| "create a session".to_string())?;
    }
    drop(t.console.take());
    drop(t.console_target.take());
    t.steps.step(if p.terminal { "the terminal" } else { "a session of its own" });
    // 2. keyring: EPERM/ENOSYS (keyrings disabled, or blocked by an outer
    //    profile) is not fatal, as in runc.
    if p.new_keyring {
        let _ = sp::join_new_session_keyring();
    }
    // 3. attributes
    if let Some(v) = p.oom_score_adj {
        proc(&mut t.proc)?
            .write(&format!("{}/oom_score_adj", Proc::self_dir()), &v.to_string())
            .map_err(|e| Error::Init(format!("set oom_score_adj to {v}: {e}")))?;
    }
    if let Some(s) = &p.scheduler {
        sp::set_sched_attr(s).ctx(|| format!("set scheduler policy {}", s.policy))?;
    }
    if let Some((class, level)) = p.io_priority {
        sp::set_ioprio(class, level).ctx(|| format!("set I/O priority class {class} level {level}"))?;
    }
    if let Some(persona) = p.personality {
        sp::set_personality(persona).ctx(|| format!("set personality {persona:#x}"))?;
    }
    // RLIMIT_NOFILE's soft limit is lowered last (step 14): the tail still
    // opens descriptors (cwd, the exec fifo), and lowering a soft limit
    // needs no privilege, while raising a hard one would.
    let nofile = p.rlimits.iter().find(|r| r.resource == libc::RLIMIT_NOFILE);
    for r in &p.rlimits {
        let soft = if r.resource == libc::RLIMIT_NOFILE { r.hard } else { r.soft };
        sp::set_rlimit(r.resource, soft, r.hard).ctx(|| format!("set rlimit {} to {}:{}", r.resource, soft, r.hard))?;
    }
    if let Some(mp) = &p.memory_policy {
        crate::placement::set_memory_policy(mp)?;
    }
    if let Some(cpus) = &p.cpus_final {
        crate::placement::set_affinity(cpus)?;
    }
    t.steps.step("keyring, rlimits and the other attributes");
    // 4. stdio
    attrs::give_stdio(p.user.uid, p.terminal)?;
    // 5. descriptors: ours stay (close-on-exec) until the exec.
    let mut keep = vec![t.chan.as_raw_fd(), t.guard.as_raw_fd()];
    keep.extend(t.proc.as_ref().map(|p| p.fd().as_raw_fd()));
    keep.extend(t.keep.iter().copied());
    if let Some(fd) = keep.iter().find(|&&fd| fd >= 3 && (fd as u32) < p.keep_fds_below) {
        return Err(Error::Init(format!(
            "descriptor {fd} is berth's own but lies in the range passed to the container (3..{})",
            p.keep_fds_below
        )));
    }
    keep.extend((3..p.keep_fds_below).map(|fd| fd as RawFd));
    sp::close_fds_except(&keep).ctx(|| "close inherited descriptors".to_string())?;
    for fd in 3..p.keep_fds_below {
        sp::clear_cloexec(fd as RawFd).ctx(|| format!("pass descriptor {fd} to the container"))?;
    }
    // 6. LSM
    if p.labels.apparmor.is_some() || p.labels.selinux.is_some() {
        crate::lsm::apply(&p.labels, proc(&mut t.proc)?)?;
    }
    // In a user namespace whose setgroups is "deny", only an explicit
    // group list is an error (read now, before seccomp).
    let setgroups_denied = t.in_userns
        && proc(&mut t.proc)?.read(&format!("{}/setgroups", Proc::self_dir())).is_ok_and(|s| s.trim() == "deny");
    t.steps.step("stdio, close descriptors, LSM");
    // 7. signals
    sp::reset_signals().ctx(|| "reset signal dispositions and mask".to_string())?;
    t.steps.step("reset the signals");
    // 8. seccomp, early
    let early = p.seccomp.as_ref().filter(|s| !p.no_new_privs || s.wants_listener());
    if let Some(prog) = early {
        if p.no_new_privs {
            nix::sys::prctl::set_no_new_privs().ctx(|| "set no_new_privs".to_string())?;
        }
        attrs::load_seccomp(prog, t.chan)?;
        t.steps.step("load the seccomp profile (early)");
    }
    // 9. credentials, and the working directory
    crate::capabilities::drop_bounding(&p.caps)?;
    nix::sys::prctl::set_keepcaps(true).ctx(|| "set keepcaps".to_string())?;
    let entered = enter_cwd(&p.cwd);
    attrs::set_user(&p.user, setgroups_denied)?;
    nix::sys::prctl::set_keepcaps(false).ctx(|| "clear keepcaps".to_string())?;
    crate::capabilities::apply_sets(&p.caps)?;
    if entered.is_err() {
        enter_cwd(&p.cwd)?;
    }
    // 10. cwd check
    check_cwd(&p.cwd)?;
    t.steps.step("bounding set, user, capabilities, cwd");
    // 11. program
    let mut env = p.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", attrs::home_of(p.user.uid)));
    }
    let program = super::exec::find(&p.args[0], &super::exec::path_var(&env), &p.cwd).map_err(Error::Init)?;
    t.steps.step("look up the program");
    // 12. gate
    let steps = t.steps.take();
    if !steps.is_empty() {
        // Before a late seccomp profile, which may deny sendto.
        t.chan.send(&super::sync::Message::Steps(steps)).ctx(|| "send the step times to berth".to_string())?;
    }
    let started = gate(t.chan)?;
    let Err(e) = after_gate(p, &t, early.is_some(), nofile, &program, &env);
    started.failed(&e);
    Err(e)
}

/// Steps 13 and 14, after the gate: their failure is also `start`'s.
fn after_gate(
    p: &ProcessPlan,
    t: &Tail<'_>,
    seccomp_loaded: bool,
    nofile: Option<&super::plan::Rlimit>,
    program: &Path,
    env: &[String],
) -> Result<Never> {
    // 13. seccomp, late
    if p.no_new_privs {
        nix::sys::prctl::set_no_new_privs().ctx(|| "set no_new_privs".to_string())?;
        if let (Some(prog), false) = (&p.seccomp, seccomp_loaded) {
            drop(crate::seccomp::install(prog)?);
        }
    }
    // 14. exec
    if let Some(r) = nofile {
        sp::set_rlimit(r.resource, r.soft, r.hard).ctx(|| format!("set RLIMIT_NOFILE to {}:{}", r.soft, r.hard))?;
    }
    sp::set_umask(p.user.umask);
    attrs::exec(t.guard.as_fd(), program, &p.args, env)
}

/// The procfs handle, opened on first use.
fn proc(slot: &mut Option<Proc>) -> Result<&Proc> {
    if slot.is_none() {
        *slot = Some(Proc::open()?);
    }
    slot.as_ref().ok_or_else(|| Error::Init("no procfs handle".into()))
}

/// chdir to `cwd` resolved inside the container's root: symlinks are
/// followed as if the root were `/`, magic links (`/proc/self/fd/N`,
/// which could name a host directory) are refused.
fn enter_cwd(cwd: &Path) -> Result<()> {
    let root =
        nix::fcntl::open("/", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
            .ctx(|| "open the container's root".to_string())?;
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let dir = openat2(root.as_fd(), &super::plan::cwd_in_root(cwd), how)
        .ctx(|| format!("chdir to cwd `{}` set in config.json", cwd.display()))?;
    fchdir(dir.as_fd(), cwd)
}

fn fchdir(dir: BorrowedFd<'_>, cwd: &Path) -> Result<()> {
    nix::unistd::fchdir(dir).ctx(|| format!("chdir to cwd `{}` set in config.json", cwd.display()))
}

/// The kernel reports a working directory outside the process' root as
/// unreachable (getcwd(3) fails with ENOENT, the raw syscall prefixes
/// "(unreachable)"): such a cwd would hand the host's filesystem to the
/// container.
fn check_cwd(cwd: &Path) -> Result<()> {
    match nix::unistd::getcwd() {
        Ok(p) if !p.to_string_lossy().starts_with("(unreachable)") => Ok(()),
        _ => {
            Err(Error::Init(format!("cwd `{}` is outside the container's root: refusing to run there", cwd.display())))
        }
    }
}
