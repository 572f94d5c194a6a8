//! `NOTIFY_SOCKET`: sd_notify(3) readiness from inside the container, passed
//! on to the caller's notify socket, as runc does (podman
//! `--sdnotify=container`, systemd `Type=notify` units that run a container).
//!
//! - create: when `NOTIFY_SOCKET` is set, the container gets a read-only
//!   bind of `<state>/notify` at `/run/notify` and
//!   `NOTIFY_SOCKET=/run/notify/notify.sock` in its environment;
//! - start (and run): when `NOTIFY_SOCKET` is set, berth listens on
//!   `<state>/notify/notify.sock` before it lets the program run, waits for
//!   the program's `READY=` datagram, and sends `READY=…` then
//!   `MAINPID=<init's pid>` to the caller's socket. If the container exits
//!   first, start returns without a word to the caller's socket.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::{MountBuilder, Spec};

use crate::error::{Context, Error, Result};

/// Where the socket's directory appears in the container.
pub const DIR_IN_CONTAINER: &str = "/run/notify";
/// Its name there and in the state directory.
const SOCKET: &str = "notify.sock";

/// The caller's notify socket, if any.
pub fn host_socket() -> Option<PathBuf> {
    std::env::var_os("NOTIFY_SOCKET").filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The directory in the container's state directory that holds the socket.
pub fn state_dir(container_dir: &Path) -> PathBuf {
    container_dir.join("notify")
}

/// The config amended for notify: the bind of `dir` and the environment
/// variable. Pure.
pub fn amend(spec: &mut Spec, dir: &Path) -> Result<()> {
    let mount = MountBuilder::default()
        .destination(DIR_IN_CONTAINER)
        .typ("bind")
        .source(dir)
        .options(["bind", "nosuid", "noexec", "nodev", "ro"].map(String::from).to_vec())
        .build()
        .map_err(|e| Error::config("mounts", e.to_string()))?;
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.push(mount);
    spec.set_mounts(Some(mounts));
    if let Some(p) = spec.process().clone() {
        let mut p = p;
        let mut env = p.env().clone().unwrap_or_default();
        env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
        env.push(format!("NOTIFY_SOCKET={DIR_IN_CONTAINER}/{SOCKET}"));
        p.set_env(Some(env));
        spec.set_process(Some(p));
    }
    Ok(())
}

/// Make the directory the bind comes from (create, after the id is reserved).
pub fn make_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir(dir).ctx(|| format!("create `{}`", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).ctx(|| format!("chmod `{}`", dir.display()))
}

/// The socket start listens on, bound before the program may run.
pub struct Listener {
    socket: UnixDatagram,
    host: PathBuf,
}

/// Listen in `dir` for the container (when it was created for notify),
/// forwarding to `host`.
pub fn listen(dir: &Path, host: PathBuf) -> Result<Option<Listener>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let path = dir.join(SOCKET);
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path).ctx(|| format!("listen on notify socket `{}`", path.display()))?;
    // Any container user may notify.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
        .ctx(|| format!("chmod `{}`", path.display()))?;
    Ok(Some(Listener { socket, host }))
}

impl Listener {
    /// Wait for the program's `READY=` and pass it on with `MAINPID=pid`;
    /// return early (and quietly) once `alive` says the container is gone.
    pub fn forward_ready(&self, pid: i32, alive: impl Fn() -> bool) -> Result<()> {
        self.socket.set_read_timeout(Some(Duration::from_millis(100))).ctx(|| "set a timeout".to_string())?;
        let mut buf = [0u8; 4096];
        let ready = loop {
            match self.socket.recv(&mut buf) {
                Ok(n) => {
                    if let Some(line) = ready_line(&buf[..n]) {
                        break line;
                    }
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    if !alive() {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).ctx(|| "read the container's notify socket".to_string()),
            }
        };
        let out = UnixDatagram::unbound().ctx(|| "create a socket".to_string())?;
        let send =
            |msg: String| out.send_to(msg.as_bytes(), &self.host).ctx(|| format!("notify `{}`", self.host.display()));
        send(format!("{ready}\n"))?;
        send(format!("MAINPID={pid}\n"))?;
        Ok(())
    }
}

/// The `READY=…` line of a datagram, if it has one.
fn ready_line(datagram: &[u8]) -> Option<String> {
    String::from_utf8_lossy(datagram).lines().find(|l| l.starts_with("READY=")).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_gets_the_bind_and_the_variable() {
        let mut spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},"env":["A=1","NOTIFY_SOCKET=/x"]}}"#,
        )
        .unwrap();
        amend(&mut spec, Path::new("/run/berth/c1/notify")).unwrap();
        let m = spec.mounts().as_ref().unwrap().last().unwrap();
        assert_eq!(m.destination(), Path::new("/run/notify"));
        assert_eq!(m.source().as_deref(), Some(Path::new("/run/berth/c1/notify")));
        assert!(m.options().as_ref().unwrap().contains(&"ro".to_string()));
        let env = spec.process().as_ref().unwrap().env().clone().unwrap();
        assert_eq!(env, ["A=1", "NOTIFY_SOCKET=/run/notify/notify.sock"]);
    }

    #[test]
    fn ready_lines() {
        assert_eq!(ready_line(b"STATUS=x\nREADY=1\n").as_deref(), Some("READY=1"));
        assert_eq!(ready_line(b"STATUS=starting"), None);
    }

    #[test]
    fn forwards_ready_then_mainpid() {
        let t = tempfile::tempdir().unwrap();
        let host = t.path().join("host.sock");
        let host_sock = UnixDatagram::bind(&host).unwrap();
        let dir = t.path().join("notify");
        make_dir(&dir).unwrap();
        let l = listen(&dir, host.clone()).unwrap().unwrap();
        UnixDatagram::unbound().unwrap().send_to(b"STATUS=up\nREADY=1", dir.join(SOCKET)).unwrap();
        l.forward_ready(42, || true).unwrap();
        let mut buf = [0u8; 64];
        let n = host_sock.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\n");
        let n = host_sock.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"MAINPID=42\n");
        // a container that is gone ends the wait
        l.forward_ready(42, || false).unwrap();
    }
}
