//! The parent <-> init channel: one SOCK_SEQPACKET socketpair, one JSON
//! message per packet.
//!
//! ```text
//!  parent (berth create)                 init (the cloned child)
//!  clone3 (into the cgroup2 dir) ----->  waits for Go (*)
//!  write uid/gid maps, systemd unit,
//!  netDevices, resctrl, the cgroup2
//!  dir if clone3 could not
//!  Go (*) ---------------------------->  write itself into the v1 cgroups,
//!                                        become root in the user ns, join
//!                                        namespaces by path, cgroup ns,
//!                                        hostname, mounts, /dev
//!                   <---------------- CreateHooks (**)
//!  run prestart + createRuntime hooks
//!  HooksDone (**) -------------------->  createContainer hooks, pivot_root,
//!                                        masked/readonly paths, sysctl,
//!                                        console, rlimits, user, caps,
//!                                        resolve the executable
//!                                        (a seccomp profile with a notify
//!                                        listener is loaded here, and:)
//!                   <---------------- SeccompFd + the listener fd
//!  send it to listenerPath
//!  SeccompDone ----------------------->
//!                   <---------------- Steps (--debug only: the init's
//!                                        steps with their times)
//!                                        OFD read lock on created.lock
//!                   <---------------- Ready
//!  write pid file + state, exit          open exec.fifo for writing (blocks)
//!  (any step failing in the init)  <---- Error(msg), then _exit(1)
//! ```
//!
//! (*) Only when berth has work before the init may run (the steps above
//! Go); otherwise the init goes on at once, both sides knowing it from the
//! plan and from whether clone3 placed the init. (**) Only when the config
//! has hooks (prestart, createRuntime, createContainer, startContainer or
//! poststop); the round trip costs two wake-ups on a busy host.
//!
//! The start handshake, through the state directory (no socket: `start`
//! is another berth process, and may be killed at any point):
//!
//! ```text
//!  berth start (holds the container's lock)    init
//!  created.lock read-locked? else refuse       (holds the created.lock
//!                                               read lock: status created)
//!  open exec.fifo O_RDONLY|O_NONBLOCK -------> open for writing returns
//!                                              close created.lock: from now
//!                                              on the status is running,
//!                                              whether or not start lives
//!                                              startContainer hooks
//!                   <------------------------ `E<msg>` (hook failed), _exit
//!                   <------------------------ `0`, keeps the fifo open
//!                                              (O_CLOEXEC) through: late
//!                                              seccomp, umask, execve
//!                   <------------------------ `E<msg>` if that failed
//!  EOF: the execve happened (the trampoline's;
//!  then wait until /proc/<pid>/exe is no longer
//!  the trampoline), poststart hooks
//! ```
//!
//! `state` derives `created` from the lock on created.lock alone
//! (F_OFD_GETLK), so a start killed anywhere leaves a status that is true,
//! and a second start never opens a fifo nobody will open. The read lock
//! is an open file description lock: it belongs to the init's descriptor
//! and goes with its close, exit or execve.
//!
//! `protocol_tests.rs` drives both conversations without root: each side
//! against a scripted peer, and the two real sides against each other.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Go,
    CreateHooks,
    HooksDone(String),
    /// Carries the seccomp notify listener fd (SCM_RIGHTS).
    SeccompFd,
    /// The listener fd reached the seccomp agent.
    SeccompDone,
    /// exec by an unprivileged berth: the child entered the container's pid
    /// (or time) namespace and forked; this is the host pid of the process
    /// that goes on (the child itself exits).
    Forked(i32),
    /// `--debug` only: the container process' own steps with their times
    /// in nanoseconds (`logging::StepTimes`), just before it reports ready.
    Steps(Vec<(String, u64)>),
    Ready,
    Error(String),
}

pub struct Channel(OwnedFd);

pub fn pair() -> nix::Result<(Channel, Channel)> {
    let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
    Ok((Channel(a), Channel(b)))
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

impl Channel {
    /// send(2) of one message. The init uses this after its seccomp profile
    /// may be loaded, so it stays the plain send/recv syscalls it always
    /// was; only handing over the notify listener needs sendmsg.
    pub fn send(&self, m: &Message) -> std::io::Result<()> {
        let data = serde_json::to_vec(m).map_err(std::io::Error::other)?;
        loop {
            match send(self.0.as_raw_fd(), &data, MsgFlags::MSG_NOSIGNAL) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => return r.map(drop).map_err(Into::into),
            }
        }
    }

    /// Send `m` with descriptors attached (sendmsg(2), SCM_RIGHTS).
    pub fn send_with(&self, m: &Message, fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
        let data = serde_json::to_vec(m).map_err(std::io::Error::other)?;
        crate::fdpass::send(self.0.as_fd(), &data, fds)
    }

    /// The next message; `None` when the other side closed (it died).
    pub fn recv(&self) -> std::io::Result<Option<Message>> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(0) => return Ok(None),
                Ok(n) => return serde_json::from_slice(&buf[..n]).map(Some).map_err(std::io::Error::other),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The next message and the descriptor sent with it, if any (berth's
    /// side: the init may send its seccomp listener).
    pub fn recv_with_fd(&self) -> std::io::Result<Option<(Message, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; 64 * 1024];
        match crate::fdpass::recv(self.0.as_fd(), &mut buf)? {
            (0, _) => Ok(None),
            (n, fd) => serde_json::from_slice(&buf[..n]).map(|m| Some((m, fd))).map_err(std::io::Error::other),
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
        let f = std::fs::File::open("/dev/null").unwrap();
        a.send_with(&Message::SeccompFd, &[f.as_fd()]).unwrap();
        let (m, fd) = b.recv_with_fd().unwrap().unwrap();
        assert_eq!((m, fd.is_some()), (Message::SeccompFd, true));
        drop(a);
        assert_eq!(b.recv().unwrap(), None);
    }
}
