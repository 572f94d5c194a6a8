//! Descriptors passed over unix sockets with SCM_RIGHTS: the pty master to
//! `--console-socket`, the seccomp listener from the init to berth, and from
//! berth to the seccomp agent at `listenerPath`.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

/// Send `payload` with `fds` attached, in one sendmsg(2). Never raises
/// SIGPIPE: a peer that is gone is an `EPIPE` error.
pub fn send(sock: BorrowedFd<'_>, payload: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let raw: Vec<_> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let iov = [IoSlice::new(payload)];
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage<'_>] = if raw.is_empty() { &[] } else { &cmsg };
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(n) if n == payload.len() => return Ok(()),
            Ok(_) => return Err(io::Error::new(io::ErrorKind::WriteZero, "short write on a unix socket")),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receive one message into `buf`: (its length, the first descriptor sent
/// with it). Extra descriptors are closed; every one arrives close-on-exec.
/// A length of 0 means the peer closed the socket.
pub fn recv(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = match recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Ok(m) => m,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut first = None;
        for c in msg.cmsgs().map_err(io::Error::from)? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                for fd in fds {
                    // The kernel just installed this descriptor for us.
                    let owned = crate::sys::process::own_fd(fd);
                    if first.is_none() {
                        first = Some(owned);
                    }
                }
            }
        }
        if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
            return Err(io::Error::other("descriptors were dropped (control message truncated)"));
        }
        return Ok((msg.bytes, first));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_descriptor_and_its_payload_arrive_together() {
        let (a, b) = UnixStream::pair().unwrap();
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        send(a.as_fd(), b"seccompFd", &[f.as_fd()]).unwrap();
        let mut buf = [0u8; 64];
        let (n, fd) = recv(b.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"seccompFd");
        let fd = fd.expect("a descriptor");
        let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_ne!(flags & libc::FD_CLOEXEC, 0, "received descriptors are close-on-exec");
        send(a.as_fd(), b"plain", &[]).unwrap();
        let (n, fd) = recv(b.as_fd(), &mut buf).unwrap();
        assert_eq!((&buf[..n], fd.is_none()), (&b"plain"[..], true));
        drop(a);
        assert_eq!(recv(b.as_fd(), &mut buf).unwrap().0, 0);
    }
}
