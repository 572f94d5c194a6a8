//! The parent <-> init channel: one SOCK_SEQPACKET socketpair, one JSON
//! message per packet.
//!
//! ```text
//!  parent (berth create)                 init (the cloned child)
//!  clone3 ---------------------------->  waits for Go
//!  write uid/gid maps, join cgroup
//!  Go -------------------------------->  become root in the user ns, join
//!                                        namespaces by path, cgroup ns,
//!                                        hostname, mounts, /dev
//!                   <---------------- CreateHooks
//!  run prestart + createRuntime hooks
//!  HooksDone ------------------------->  createContainer hooks, pivot_root,
//!                                        masked/readonly paths, sysctl,
//!                                        console, rlimits, user, caps,
//!                                        resolve the executable
//!                   <---------------- Ready
//!  write pid file + state, exit          open exec.fifo (blocks until start)
//!                                        startContainer hooks, seccomp, execve
//!  (any step failing in the init)  <---- Error(msg), then _exit(1)
//! ```

use std::os::fd::OwnedFd;

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Go,
    CreateHooks,
    HooksDone(String),
    Ready,
    Error(String),
}

pub struct Channel(OwnedFd);

pub fn pair() -> nix::Result<(Channel, Channel)> {
    let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
    Ok((Channel(a), Channel(b)))
}

impl Channel {
    pub fn send(&self, m: &Message) -> std::io::Result<()> {
        let data = serde_json::to_vec(m).map_err(std::io::Error::other)?;
        send(std::os::fd::AsRawFd::as_raw_fd(&self.0), &data, MsgFlags::MSG_NOSIGNAL)?;
        Ok(())
    }

    /// The next message; `None` when the other side closed (it died).
    pub fn recv(&self) -> std::io::Result<Option<Message>> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match recv(std::os::fd::AsRawFd::as_raw_fd(&self.0), &mut buf, MsgFlags::empty()) {
                Ok(0) => return Ok(None),
                Ok(n) => return serde_json::from_slice(&buf[..n]).map(Some).map_err(std::io::Error::other),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_eof() {
        let (a, b) = pair().unwrap();
        a.send(&Message::Error("boom \"x\"".into())).unwrap();
        a.send(&Message::Ready).unwrap();
        assert_eq!(b.recv().unwrap(), Some(Message::Error("boom \"x\"".into())));
        assert_eq!(b.recv().unwrap(), Some(Message::Ready));
        drop(a);
        assert_eq!(b.recv().unwrap(), None);
    }
}
