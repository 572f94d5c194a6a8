//! Terminals: the pty made inside the container (its own devpts), its master
//! sent over `--console-socket` with SCM_RIGHTS as runc does, and the
//! receiving side used by a foreground `run` with a terminal.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::sys::stat::Mode;

use crate::error::{Context, Error, Result};

/// Connect to the console socket given by `--console-socket`.
pub fn connect(path: &Path) -> Result<OwnedFd> {
    let s = UnixStream::connect(path).ctx(|| format!("connect to console socket `{}`", path.display()))?;
    Ok(OwnedFd::from(s))
}

/// A new pty from the devpts instance at /dev/pts (the container's once
/// pivoted): (master, slave, slave path).
pub fn open_pty() -> Result<(OwnedFd, OwnedFd, String)> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).ctx(|| "open /dev/ptmx".to_string())?;
    grantpt(&master).ctx(|| "grantpt".to_string())?;
    unlockpt(&master).ctx(|| "unlockpt".to_string())?;
    let name = ptsname_r(&master).ctx(|| "ptsname".to_string())?;
    let slave = nix::fcntl::open(name.as_str(), OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, Mode::empty())
        .ctx(|| format!("open pty slave `{name}`"))?;
    // PtyMaster owns its descriptor; take it over.
    let master = crate::sys::process::own_fd(master.into_raw_fd());
    Ok((master, slave, name))
}

/// Send `fd` over a unix socket with SCM_RIGHTS; the payload is its name.
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>, name: &str) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    let iov = [IoSlice::new(name.as_bytes())];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None).ctx(|| "send the pty master to the console socket".to_string())?;
    Ok(())
}

/// Receive one descriptor sent with SCM_RIGHTS.
pub fn recv_fd(sock: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .ctx(|| "receive the pty master".to_string())?;
    for c in msg.cmsgs().map_err(|e| Error::Init(format!("receive the pty master: {e}")))? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                // The kernel just installed this descriptor for us.
                return Ok(crate::sys::process::own_fd(*fd));
            }
        }
    }
    Err(Error::Init("the console socket sent no descriptor".into()))
}
