//! What berth does around starting any container process, create's init
//! (`parent`) and exec's child (`join`) alike: prepare the exec guard before
//! the clone, hand a seccomp notify listener on to the agent, and write the
//! pid file. One copy, so that both entry points take the same steps.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Context, Error, Result};
use crate::state;
use crate::state::store::ContainerDir;

/// The exec guard, made here in berth before the clone (see
/// `crate::exec_guard`), with the container's state directory as the place
/// for its fallback copy.
pub(crate) fn exec_guard(dir: &ContainerDir) -> Result<OwnedFd> {
    let d = nix::fcntl::open(&dir.path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .ctx(|| format!("open state directory `{}`", dir.path.display()))?;
    crate::exec_guard::prepare(Some(d.as_fd())).map_err(|e| Error::Io {
        what: "prepare the exec guard against CVE-2019-5736 (refusing to run the container program unguarded)".into(),
        source: e,
    })
}

/// Hand the seccomp notify listener `fd` that process `pid` loaded to the
/// agent at `linux.seccomp.listenerPath`, with the container's state.
pub(crate) fn pass_listener(
    prog: Option<&crate::seccomp::Program>,
    fd: Option<OwnedFd>,
    pid: i32,
    st: &state::OciState,
) -> Result<()> {
    let (Some(prog), Some(fd)) = (prog, fd) else {
        return Err(Error::Init("the container process sent no seccomp listener".into()));
    };
    let path = prog.listener_path().ok_or_else(|| Error::Init("seccomp listener without a listenerPath".into()))?;
    let msg = crate::seccomp::agent::ProcessState::new(state::OCI_VERSION, pid, prog.listener_metadata(), st);
    crate::seccomp::agent::send(path, fd.as_fd(), &msg)
        .ctx(|| format!("send the seccomp listener to linux.seccomp.listenerPath `{}`", path.display()))
}

/// runc writes the pid without a newline, atomically.
pub(crate) fn write_pid_file(p: &Path, pid: i32) -> Result<()> {
    crate::atomic_file::write(p, pid.to_string().as_bytes(), 0o644).ctx(|| format!("write pid file `{}`", p.display()))
}
