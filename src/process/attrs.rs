//! Process attributes shared by the container init and `exec`'d
//! processes: the terminal, rlimits, scheduling, credentials, and the final
//! execve.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::unistd::{setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::{PosixRlimitType, Process};

use crate::error::{Context, Error, Result};
use crate::rootfs::dev;
use crate::sys::process as sp;

pub(super) enum Never {}

pub(super) fn become_root() -> Result<()> {
    setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .ctx(|| "become gid 0 in the user namespace".to_string())?;
    setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .ctx(|| "become uid 0 in the user namespace".to_string())
}

pub(super) fn setup_console(sock: Option<BorrowedFd<'_>>) -> Result<()> {
    let sock = sock.ok_or_else(|| Error::Usage("a terminal was requested but no --console-socket given".into()))?;
    let (master, slave, name) = crate::terminal::open_pty()?;
    dev::mount_console(Path::new(&name))?;
    crate::terminal::send_fd(sock, master.as_fd(), &name)?;
    drop(master);
    nix::unistd::setsid().ctx(|| "create a session".to_string())?;
    sp::set_controlling_tty(slave.as_fd()).ctx(|| "make the pty the controlling terminal".to_string())?;
    for target in 0..3 {
        sp::dup_onto(slave.as_fd(), target).ctx(|| format!("connect the pty to descriptor {target}"))?;
    }
    Ok(())
}

/// Load the seccomp profile into this process. A profile with a notify
/// listener gets its listener sent to berth over `chan` (berth hands it to
/// the agent at `listenerPath`), and we wait until it got there: from now
/// on the agent answers the notified syscalls, ours included.
pub(super) fn load_seccomp(prog: &crate::seccomp::Program, chan: &super::sync::Channel) -> Result<()> {
    use super::sync::Message;
    let Some(listener) = crate::seccomp::install(prog)? else {
        return Ok(());
    };
    chan.send_with(&Message::SeccompFd, &[listener.as_fd()])
        .ctx(|| "send the seccomp listener to berth".to_string())?;
    drop(listener);
    match chan.recv().ctx(|| "wait for berth to pass on the seccomp listener".to_string())? {
        Some(Message::SeccompDone) => Ok(()),
        Some(Message::Error(e)) => Err(Error::Init(e)),
        // berth is gone (killed during create): nothing left to do.
        _ => sp::exit_now(1),
    }
}

pub(super) fn rlimit_number(t: PosixRlimitType) -> u32 {
    match t {
        PosixRlimitType::RlimitCpu => libc::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => libc::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => libc::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => libc::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => libc::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => libc::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => libc::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => libc::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => libc::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => libc::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => libc::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => libc::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

pub(super) fn set_rlimits(p: &Process) -> Result<()> {
    for r in p.rlimits().iter().flatten() {
        sp::set_rlimit(rlimit_number(r.typ()), r.soft(), r.hard())
            .ctx(|| format!("set rlimit {:?} to {}:{}", r.typ(), r.soft(), r.hard()))?;
    }
    Ok(())
}

pub(super) fn set_scheduler(p: &Process) -> Result<()> {
    use oci_spec::runtime::{LinuxSchedulerFlag as F, LinuxSchedulerPolicy as P};
    let Some(s) = p.scheduler() else { return Ok(()) };
    let policy = match s.policy() {
        P::SchedOther => 0,
        P::SchedFifo => 1,
        P::SchedRr => 2,
        P::SchedBatch => 3,
        P::SchedIso => 4,
        P::SchedIdle => 5,
        P::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            F::SchedResetOnFork => 0x01,
            F::SchedFlagReclaim => 0x02,
            F::SchedFlagDLOverrun => 0x04,
            F::SchedFlagKeepPolicy => 0x08,
            F::SchedFlagKeepParams => 0x10,
            F::SchedFlagUtilClampMin => 0x20,
            F::SchedFlagUtilClampMax => 0x40,
        };
    }
    let attr = sp::SchedAttr {
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0).max(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    };
    sp::set_sched_attr(&attr).ctx(|| format!("set scheduler {:?}", s.policy()))
}

pub(super) fn set_io_priority(p: &Process) -> Result<()> {
    use oci_spec::runtime::IOPriorityClass as C;
    let Some(io) = p.io_priority() else { return Ok(()) };
    let class = match io.class() {
        C::IoprioClassRt => 1,
        C::IoprioClassBe => 2,
        C::IoprioClassIdle => 3,
    };
    sp::set_ioprio(class, io.priority().clamp(0, 7) as u32).ctx(|| format!("set I/O priority {:?}", io.class()))
}

pub(super) fn set_user(p: &Process, in_userns: bool) -> Result<()> {
    let u = p.user();
    let groups: Vec<Gid> = u.additional_gids().iter().flatten().map(|g| Gid::from_raw(*g)).collect();
    // setgroups is denied in a user namespace whose /proc/PID/setgroups says
    // "deny"; only an explicit list then is an error.
    let denied = in_userns && std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if !denied || !groups.is_empty() {
        nix::unistd::setgroups(&groups).ctx(|| format!("set additional gids {:?}", u.additional_gids()))?;
    }
    let gid = Gid::from_raw(u.gid());
    setresgid(gid, gid, gid).ctx(|| format!("set gid {}", u.gid()))?;
    let uid = Uid::from_raw(u.uid());
    setresuid(uid, uid, uid).ctx(|| format!("set uid {}", u.uid()))
}

/// The home directory of `uid` from the container's /etc/passwd, or `/`.
pub(super) fn home_of(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
            })
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_string())
}

/// The guard against CVE-2019-5736, made before seccomp is installed
/// (memfd_create may be denied by the profile). `None` where the host has
/// no trampoline: the exec is then direct.
pub(super) fn prepare_exec_guard() -> Option<std::os::fd::OwnedFd> {
    crate::exec_guard::prepare().ok()
}

/// The final exec. Through the sealed trampoline, so that no process in
/// the container can ever run (and then reopen for writing) berth's own
/// binary via /proc/self/exe.
pub(super) fn exec(guard: Option<BorrowedFd<'_>>, program: &Path, args: &[String], env: &[String]) -> Result<Never> {
    let c = |s: &str| CString::new(s).map_err(|_| Error::config("process", format!("`{s}` contains a NUL byte")));
    let prog = c(&program.to_string_lossy())?;
    let argv = args.iter().map(|a| c(a)).collect::<Result<Vec<_>>>()?;
    let envp = env.iter().map(|e| c(e)).collect::<Result<Vec<_>>>()?;
    let err = match guard {
        Some(g) => crate::exec_guard::exec(g, &prog, &argv, &envp),
        None => crate::exec_guard::exec_unguarded(&prog, &argv, &envp),
    };
    // The parent is gone by now: the message goes to the container's stderr.
    eprintln!("berth: exec `{}`: {}", program.display(), crate::error::os_msg(&err));
    sp::exit_now(if err.raw_os_error() == Some(libc::ENOENT) { 127 } else { 126 })
}
