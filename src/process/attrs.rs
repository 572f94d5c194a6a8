//! Steps of the shared tail (`finish`) that take more than a line:
//! credentials, stdio ownership, the seccomp load with its listener, HOME,
//! and the final execve.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use nix::unistd::{setresgid, setresuid, Gid, Uid};

use crate::error::{Context, Error, Result};
use crate::sys::process as sp;

pub(super) enum Never {}

pub(super) fn become_root() -> Result<()> {
    setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .ctx(|| "become gid 0 in the user namespace".to_string())?;
    setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .ctx(|| "become uid 0 in the user namespace".to_string())
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
        _ => Err(Error::Init("berth exited while passing on the seccomp listener".into())),
    }
}

pub(super) fn set_user(u: &super::plan::UserPlan, setgroups_denied: bool) -> Result<()> {
    let groups: Vec<Gid> = u.additional_gids.iter().map(|g| Gid::from_raw(*g)).collect();
    // setgroups is refused in a user namespace whose setgroups file says
    // "deny"; only an explicit list then is an error.
    if !setgroups_denied || !groups.is_empty() {
        nix::unistd::setgroups(&groups).ctx(|| format!("set additional gids {:?}", u.additional_gids))?;
    }
    let gid = Gid::from_raw(u.gid);
    setresgid(gid, gid, gid).ctx(|| format!("set gid {}", u.gid))?;
    let uid = Uid::from_raw(u.uid);
    setresuid(uid, uid, uid).ctx(|| format!("set uid {}", u.uid))
}

/// Hand the process' stdio to the container user, as runc's
/// fixStdioPermissions does, so that a non-root program can reopen
/// /dev/stdout, /dev/stderr or its tty. Only pipes, sockets and the pty
/// berth made are changed: never a host file or the host's terminal that
/// berth's caller passed as stdio.
pub(super) fn give_stdio(uid: u32, own_pty: bool) -> Result<()> {
    for fd in 0..3 {
        let Ok(st) = nix::sys::stat::fstat(stdio(fd)) else { continue };
        let kind = st.st_mode & libc::S_IFMT;
        let ours = match kind {
            libc::S_IFIFO | libc::S_IFSOCK => true,
            libc::S_IFCHR => own_pty,
            _ => false,
        };
        if !ours || st.st_uid == uid {
            continue;
        }
        match nix::unistd::fchown(stdio(fd), Some(Uid::from_raw(uid)), None) {
            // The inode's owner or the uid is not mapped in the user
            // namespace: leave it, as runc does.
            Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::EPERM) => {}
            Err(e) => return Err(e).ctx(|| format!("hand descriptor {fd} to uid {uid}")),
        }
    }
    Ok(())
}

fn stdio(fd: i32) -> BorrowedFd<'static> {
    sp::stdio_fd(fd)
}

/// The home directory of `uid` from the container's /etc/passwd, or `/`.
/// The file is the image's: resolved inside the root, and read only if it
/// is a regular file (a fifo there must not hang the container's start).
pub(super) fn home_of(uid: u32) -> String {
    read_passwd()
        .and_then(|t| {
            t.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
            })
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_string())
}

fn read_passwd() -> Option<String> {
    use std::io::Read;
    let root = nix::fcntl::open("/", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(root.as_fd(), "etc/passwd", how).ok()?;
    let st = nix::sys::stat::fstat(fd.as_fd()).ok()?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    let mut text = String::new();
    std::fs::File::from(fd).take(4 << 20).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The final exec. Through the sealed trampoline, so that no process in
/// the container can ever run (and then reopen for writing) berth's own
/// binary via /proc/self/exe. Returns only on failure.
pub(super) fn exec(guard: BorrowedFd<'_>, program: &Path, args: &[String], env: &[String]) -> Result<Never> {
    let c = |s: &str| CString::new(s).map_err(|_| Error::config("process", format!("`{s}` contains a NUL byte")));
    let prog = c(&program.to_string_lossy())?;
    let argv = args.iter().map(|a| c(a)).collect::<Result<Vec<_>>>()?;
    let envp = env.iter().map(|e| c(e)).collect::<Result<Vec<_>>>()?;
    let err = crate::exec_guard::exec(guard, &prog, &argv, &envp);
    let code = if err.raw_os_error() == Some(libc::ENOENT) { 127 } else { 126 };
    Err(Error::Exec { program: program.display().to_string(), code, source: err })
}
