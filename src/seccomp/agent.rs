//! Handing a seccomp user-notification listener to the agent at
//! `linux.seccomp.listenerPath`: one connection per listener, one
//! "container process state" (config-linux.md) as JSON with the fd attached
//! by SCM_RIGHTS and named `seccompFd` in `fds`, then the connection closes.

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde::Serialize;

/// config-linux.md "The Container Process State".
#[derive(Debug, Serialize)]
pub struct ProcessState<'a, S: Serialize> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub fds: [&'static str; 1],
    /// The process that loaded the filter, as berth sees it.
    pub pid: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a str>,
    pub state: &'a S,
}

impl<'a, S: Serialize> ProcessState<'a, S> {
    pub fn new(oci_version: &'a str, pid: i32, metadata: Option<&'a str>, state: &'a S) -> Self {
        ProcessState { oci_version, fds: ["seccompFd"], pid, metadata, state }
    }
}

/// Send `listener` and `st` to the agent listening on `path`.
pub fn send<S: Serialize>(path: &Path, listener: BorrowedFd<'_>, st: &ProcessState<'_, S>) -> std::io::Result<()> {
    let payload = serde_json::to_vec(st).map_err(std::io::Error::other)?;
    let sock = UnixStream::connect(path)?;
    crate::fdpass::send(sock.as_fd(), &payload, &[listener])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn the_agent_gets_the_state_and_the_fd_on_one_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.sock");
        let l = UnixListener::bind(&path).unwrap();
        let state = serde_json::json!({"ociVersion":"1.0.2","id":"c1","status":"creating","pid":42,"bundle":"/b"});
        let f = std::fs::File::open("/dev/null").unwrap();
        send(&path, f.as_fd(), &ProcessState::new("1.0.2", 42, Some("meta"), &state)).unwrap();
        let (conn, _) = l.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let (n, fd) = crate::fdpass::recv(conn.as_fd(), &mut buf).unwrap();
        assert!(fd.is_some());
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(v["fds"], serde_json::json!(["seccompFd"]));
        assert_eq!(v["pid"], 42);
        assert_eq!(v["metadata"], "meta");
        assert_eq!(v["state"]["status"], "creating");
        assert_eq!(v["ociVersion"], "1.0.2");
        // exactly one state per connection, then it is closed
        assert_eq!(crate::fdpass::recv(conn.as_fd(), &mut buf).unwrap().0, 0);
    }

    #[test]
    fn no_agent_is_an_error() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let st = serde_json::json!({});
        let e =
            send(Path::new("/nonexistent/agent.sock"), f.as_fd(), &ProcessState::new("1", 1, None, &st)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
}
