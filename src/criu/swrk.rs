//! One `criu swrk` session: CRIU started on one end of a SOCK_SEQPACKET
//! socket pair (its number on the command line), then requests and answers,
//! one datagram each:
//!
//! ```text
//!   berth                                   criu swrk
//!     | -- criu_req {DUMP|RESTORE, opts} -----> |
//!     | <-- criu_resp {NOTIFY, "script", pid} -- |  (zero or more; a
//!     | -- criu_req {NOTIFY, success} --------> |   pty master may ride
//!     |            ...                           |   along: SCM_RIGHTS)
//!     | <-- criu_resp {DUMP|RESTORE, success} -- |
//!     | (closes its end)            (exits) ---- |
//! ```
//!
//! Descriptors CRIU must use (image and work directories, namespaces to
//! restore into, stdio pipes) are inherited: their close-on-exec flag is
//! cleared for the spawn and set again after it, and the request names them
//! by number.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use super::proto::{Notify, ReqType, Request, Response, Version};
use super::Error;

/// CRIU's answers fit in far less; runc uses the same bound.
const MAX_ANSWER: usize = 10 * 4096;

/// A running `criu swrk`. Dropping it closes berth's end (CRIU then exits,
/// aborting whatever it was doing) and reaps CRIU.
pub struct Session {
    child: Child,
    sock: Option<OwnedFd>,
    /// The log file named in the request, for errors.
    log: PathBuf,
}

/// Start `criu swrk`, passing `inherit` (kept open in CRIU under the same
/// numbers) and berth's own stdio.
pub fn start(path: &Path, inherit: &[BorrowedFd<'_>], log: PathBuf) -> Result<Session, Error> {
    let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .map_err(|e| Error::Rpc { what: "create the socket pair", source: e.into() })?;
    let passed: Vec<BorrowedFd<'_>> = inherit.iter().copied().chain(std::iter::once(theirs.as_fd())).collect();
    for fd in &passed {
        set_cloexec(*fd, false)?;
    }
    let spawned = Command::new(path)
        .arg("swrk")
        .arg(theirs.as_raw_fd().to_string())
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn();
    for fd in &passed {
        set_cloexec(*fd, true)?;
    }
    let child = spawned.map_err(|source| Error::Spawn { path: path.to_path_buf(), source })?;
    // Only CRIU keeps its end: if it dies, reads here see EOF.
    drop(theirs);
    Ok(Session { child, sock: Some(ours), log })
}

fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> Result<(), Error> {
    let flag = if on { FdFlag::FD_CLOEXEC } else { FdFlag::empty() };
    fcntl(fd, FcntlArg::F_SETFD(flag))
        .map(drop)
        .map_err(|e| Error::Rpc { what: "pass a descriptor to CRIU", source: e.into() })
}

impl Session {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Send `req` and answer CRIU's notifications with `on_notify` (its
    /// error aborts the request: CRIU is told the step failed) until the
    /// final answer, which must be a success.
    pub fn call(
        &mut self,
        req: &Request,
        mut on_notify: impl FnMut(&Notify, Option<OwnedFd>) -> crate::Result<()>,
    ) -> crate::Result<Response> {
        self.send(req)?;
        let mut buf = vec![0u8; MAX_ANSWER];
        loop {
            let (n, fd) = crate::fdpass::recv(self.sock()?, &mut buf)
                .map_err(|source| Error::Rpc { what: "read an answer", source })?;
            if n == 0 {
                return Err(self.failed(req.kind, "CRIU exited without answering".into()).into());
            }
            if n == buf.len() {
                return Err(Error::Protocol(format!("an answer of {n} bytes or more")).into());
            }
            let resp = Response::decode(&buf[..n]).map_err(Error::Protocol)?;
            if !resp.success {
                let why = match (&resp.cr_errmsg, resp.cr_errno) {
                    (Some(m), _) if !m.is_empty() => m.clone(),
                    (_, Some(e)) if e != 0 => crate::error::os::errno_text(e),
                    _ => String::new(),
                };
                return Err(self.failed(resp.kind, why).into());
            }
            if resp.kind == ReqType::Notify {
                let notify = resp.notify.clone().unwrap_or_default();
                crate::logging::debug(&format!("criu notify `{}` (pid {})", notify.script, notify.pid));
                if let Err(e) = on_notify(&notify, fd) {
                    let _ = self.send(&Request::notify_ack(false));
                    return Err(e);
                }
                self.send(&Request::notify_ack(true))?;
                continue;
            }
            if resp.kind != req.kind {
                return Err(
                    Error::Protocol(format!("a {} answer to a {} request", resp.kind.name(), req.kind.name())).into()
                );
            }
            return Ok(resp);
        }
    }

    fn sock(&self) -> Result<BorrowedFd<'_>, Error> {
        let closed = || Error::Rpc { what: "use the socket", source: std::io::Error::from_raw_os_error(libc::EBADF) };
        self.sock.as_ref().map(|s| s.as_fd()).ok_or_else(closed)
    }

    fn send(&self, req: &Request) -> Result<(), Error> {
        crate::fdpass::send(self.sock()?, &req.encode(), &[])
            .map_err(|source| Error::Rpc { what: "send a request", source })
    }

    /// A failed request: the first error in CRIU's log (the cause; later
    /// ones are consequences), else the reason CRIU answered.
    fn failed(&self, kind: ReqType, why: String) -> Error {
        let logged = std::fs::read_to_string(&self.log).ok().and_then(|l| super::first_log_error(&l));
        let why = Some(why).filter(|w| !w.is_empty() && !super::is_harmless(w));
        let detail = logged.or(why).unwrap_or_else(|| "no reason given".to_string());
        Error::Failed { op: kind.name(), detail, log: self.log.clone() }
    }

    /// Close our end (CRIU then exits) and wait for it. Its exit status is
    /// not an error once the request succeeded: after a pre-dump CRIU waits
    /// for more requests and exits non-zero when the socket closes.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        drop(self.sock.take());
        let _ = self.child.wait();
    }
}

/// Ask CRIU its version (a session of its own, as CRIU serves one request
/// of this kind per `swrk`).
pub fn version(path: &Path) -> crate::Result<Version> {
    let mut s = start(path, &[], PathBuf::new())?;
    let r = s.call(&Request::new(ReqType::Version, None), |_, _| Ok(()));
    s.finish();
    r.map_err(|e| match e {
        crate::Error::Criu(Error::Failed { .. }) => {
            Error::Protocol(format!("`{}` did not answer a version request (CRIU 3.0 or newer needed)", path.display()))
                .into()
        }
        e => e,
    })?
    .version
    .ok_or_else(|| Error::Protocol("a version answer without a version".into()).into())
}
