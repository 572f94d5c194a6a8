//! A minimal D-Bus client: one unix socket to systemd (through the bus
//! daemon, or straight to systemd's private socket), `EXTERNAL`
//! authentication, method calls, and waiting for the `JobRemoved` signal
//! that ends a unit job. Blocking, single-threaded, no dependencies beyond
//! std: the driver makes a handful of calls per berth invocation, and only
//! invocations that use `--systemd-cgroup` (or a container made with it)
//! ever open one.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::wire::{Kind, Message, Value};
use super::{Error, Result};

pub const SYSTEMD: &str = "org.freedesktop.systemd1";
pub const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
pub const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const DBUS: &str = "org.freedesktop.DBus";

/// How long a call, or a job, may take (runc waits 30 s for a job).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Where a socket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Path(PathBuf),
    /// A Linux abstract socket name (without the leading NUL).
    Abstract(String),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Path(p) => write!(f, "{}", p.display()),
            Address::Abstract(n) => write!(f, "@{n}"),
        }
    }
}

/// The unix addresses in a D-Bus address string
/// (`unix:path=/run/dbus/system_bus_socket;unix:abstract=x`), in order.
/// Other transports are skipped.
pub fn parse_addresses(s: &str) -> Vec<Address> {
    let mut out = Vec::new();
    for one in s.split(';') {
        let Some(params) = one.strip_prefix("unix:") else { continue };
        for kv in params.split(',') {
            match kv.split_once('=') {
                Some(("path", v)) => out.push(Address::Path(PathBuf::from(unescape(v)))),
                Some(("abstract", v)) => out.push(Address::Abstract(unescape(v))),
                _ => {}
            }
        }
    }
    out
}

/// D-Bus addresses escape bytes as `%XX`.
fn unescape(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(x) = hex {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An authenticated connection.
pub struct Bus {
    stream: UnixStream,
    addr: Address,
    /// Through a bus daemon (calls need a destination, signals a match).
    via_daemon: bool,
    serial: u32,
    /// Signals that arrived while waiting for a method return.
    signals: Vec<Message>,
}

impl Bus {
    /// Connect and authenticate; through a bus daemon, also say Hello.
    pub fn connect(addr: &Address, via_daemon: bool) -> Result<Bus> {
        let stream = match addr {
            Address::Path(p) => UnixStream::connect(p),
            Address::Abstract(n) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(n.as_bytes())
                    .and_then(|a| UnixStream::connect_addr(&a))
            }
        }
        .map_err(|source| Error::Connect { addr: addr.to_string(), source })?;
        let io = |source| Error::Io { addr: addr.to_string(), source };
        stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
        stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
        let mut bus = Bus { stream, addr: addr.clone(), via_daemon, serial: 0, signals: Vec::new() };
        bus.authenticate()?;
        if via_daemon {
            bus.call("say hello to the bus", Some(DBUS), "/org/freedesktop/DBus", DBUS, "Hello", vec![])?;
        }
        Ok(bus)
    }

    /// The destination of systemd's calls: its bus name through a daemon,
    /// none on a direct connection.
    pub fn destination(&self) -> Option<&'static str> {
        self.via_daemon.then_some(SYSTEMD)
    }

    pub fn address(&self) -> &Address {
        &self.addr
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io { addr: self.addr.to_string(), source }
    }

    fn protocol(&self, reason: impl Into<String>) -> Error {
        Error::Protocol { addr: self.addr.to_string(), reason: reason.into() }
    }

    /// SASL `EXTERNAL`: the server checks the uid we claim against the
    /// socket's peer credentials, which it sees in its own user namespace:
    /// inside a user namespace (rootless podman) claim the uid outside.
    fn authenticate(&mut self) -> Result<()> {
        let euid = nix::unistd::geteuid().as_raw();
        let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        let uid = outer_uid(&map, euid).to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        // BEGIN goes with AUTH, as sd-bus clients send it: systemd's own
        // socket does not look at a message that arrives in one read with
        // a lone BEGIN until more data comes (seen with systemd 252).
        let hello = format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n");
        self.stream.write_all(hello.as_bytes()).map_err(|e| self.io(e))?;
        let line = self.read_line()?;
        if !line.starts_with("OK ") {
            return Err(Error::Auth { addr: self.addr.to_string(), reason: format!("server answered `{line}`") });
        }
        Ok(())
    }

    /// One `\r\n`-terminated line, read byte by byte so that nothing of
    /// the message stream after it is consumed.
    fn read_line(&mut self) -> Result<String> {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            if line.len() > 512 {
                return Err(self.protocol("authentication line too long"));
            }
            match self.stream.read(&mut b) {
                Ok(0) => return Err(self.protocol("connection closed during authentication")),
                Ok(_) => line.push(b[0]),
                Err(e) => return Err(self.io(e)),
            }
        }
        line.truncate(line.len() - 2);
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    fn send(&mut self, mut m: Message) -> Result<u32> {
        self.serial += 1;
        m.serial = self.serial;
        let bytes = m.encode().map_err(|e| self.protocol(e.0))?;
        self.stream.write_all(&bytes).map_err(|e| self.io(e))?;
        Ok(m.serial)
    }

    fn recv(&mut self) -> Result<Message> {
        let mut head = [0u8; 16];
        self.stream.read_exact(&mut head).map_err(|e| self.io(e))?;
        let total = Message::total_len(&head).map_err(|e| self.protocol(e.0))?;
        let mut buf = vec![0u8; total];
        buf[..16].copy_from_slice(&head);
        self.stream.read_exact(&mut buf[16..]).map_err(|e| self.io(e))?;
        Message::decode(&buf).map_err(|e| self.protocol(e.0))
    }

    /// Call a method and wait for its return; an error reply becomes
    /// [`Error::Call`] with `what` as its context.
    pub fn call(
        &mut self,
        what: &str,
        destination: Option<&str>,
        path: &str,
        interface: &str,
        member: &str,
        body: Vec<Value>,
    ) -> Result<Vec<Value>> {
        let mut m = Message::call(0, destination, path, interface, member);
        m.body = body;
        let serial = self.send(m)?;
        loop {
            let reply = self.recv()?;
            match reply.kind {
                Kind::Signal => self.signals.push(reply),
                Kind::Return if reply.reply_serial == Some(serial) => return Ok(reply.body),
                Kind::Error if reply.reply_serial == Some(serial) => {
                    return Err(Error::Call {
                        what: what.to_owned(),
                        name: reply.error_name.unwrap_or_default(),
                        message: reply.body.first().and_then(Value::as_str).unwrap_or_default().to_owned(),
                    })
                }
                _ => {}
            }
        }
    }

    /// A method of systemd's manager object.
    pub fn manager(&mut self, what: &str, member: &str, body: Vec<Value>) -> Result<Vec<Value>> {
        self.call(what, self.destination(), MANAGER_PATH, MANAGER, member, body)
    }

    /// Ask for the manager's signals (it sends none to a client that did
    /// not subscribe; through the daemon a match rule is needed as well).
    pub fn subscribe(&mut self) -> Result<()> {
        if self.via_daemon {
            let rule = format!(
                "type='signal',sender='{SYSTEMD}',path='{MANAGER_PATH}',interface='{MANAGER}',member='JobRemoved'"
            );
            self.call(
                "add a match rule",
                Some(DBUS),
                "/org/freedesktop/DBus",
                DBUS,
                "AddMatch",
                vec![Value::str(rule)],
            )?;
        }
        self.manager("subscribe to systemd's signals", "Subscribe", vec![])?;
        Ok(())
    }

    /// Wait for `JobRemoved` of `job` (an object path) and return its
    /// result: `done`, `canceled`, `timeout`, `failed`, `dependency`, `skipped`.
    pub fn wait_job(&mut self, job: &str) -> Result<String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(i) = self.signals.iter().position(|s| job_removed(s).is_some_and(|(j, _)| j == job)) {
                let s = self.signals.swap_remove(i);
                return Ok(job_removed(&s).map(|(_, r)| r.to_owned()).unwrap_or_default());
            }
            if Instant::now() > deadline {
                return Err(self.protocol(format!("no end of job `{job}` after {} s", TIMEOUT.as_secs())));
            }
            let m = self.recv()?;
            if m.kind == Kind::Signal {
                self.signals.push(m);
            }
        }
    }
}

/// `uid` of this user namespace as the parent namespace sees it.
fn outer_uid(uid_map: &str, uid: u32) -> u32 {
    for line in uid_map.lines() {
        let f: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if let [inside, outside, count] = f[..] {
            if u64::from(uid) >= inside && u64::from(uid) < inside + count {
                return u32::try_from(outside + (u64::from(uid) - inside)).unwrap_or(uid);
            }
        }
    }
    uid
}

/// `JobRemoved(u id, o job, s unit, s result)`: (job, result).
fn job_removed(m: &Message) -> Option<(&str, &str)> {
    if m.member.as_deref() != Some("JobRemoved") || m.interface.as_deref() != Some(MANAGER) {
        return None;
    }
    Some((m.body.get(1)?.as_str()?, m.body.get(3)?.as_str()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_addresses("unix:path=/run/dbus/system_bus_socket"),
            vec![Address::Path("/run/dbus/system_bus_socket".into())]
        );
        assert_eq!(
            parse_addresses("tcp:host=x,port=1;unix:abstract=/tmp/dbus-Xy%2c1,guid=00;unix:path=/a%20b"),
            vec![Address::Abstract("/tmp/dbus-Xy,1".into()), Address::Path("/a b".into())]
        );
        assert!(parse_addresses("").is_empty());
        assert_eq!(unescape("%zz%4"), "%zz%4");
    }

    #[test]
    fn uid_outside_a_user_namespace() {
        assert_eq!(outer_uid("         0          0 4294967295\n", 0), 0);
        assert_eq!(outer_uid("         0       1000          1\n         1     100000      65536\n", 0), 1000);
        assert_eq!(outer_uid("0 1000 1\n1 100000 65536\n", 5), 100004);
        assert_eq!(outer_uid("", 7), 7);
    }

    #[test]
    fn job_removed_signals() {
        let mut m = Message::call(1, None, MANAGER_PATH, MANAGER, "JobRemoved");
        m.kind = Kind::Signal;
        m.body = vec![
            Value::U32(4),
            Value::Path("/org/freedesktop/systemd1/job/4".into()),
            Value::str("a.scope"),
            Value::str("done"),
        ];
        assert_eq!(job_removed(&m), Some(("/org/freedesktop/systemd1/job/4", "done")));
        m.member = Some("UnitNew".into());
        assert_eq!(job_removed(&m), None);
    }

    #[test]
    fn talks_to_a_fake_systemd() {
        // A peer that accepts EXTERNAL auth, answers one call with an object
        // path, then sends a JobRemoved for it.
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let peer = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut b = [0u8; 1];
            while !got.ends_with(b"\r\n") {
                theirs.read_exact(&mut b).unwrap();
                got.push(b[0]);
            }
            assert!(got.starts_with(b"\0AUTH EXTERNAL "));
            let mut begin = [0u8; 7];
            theirs.read_exact(&mut begin).unwrap();
            assert_eq!(&begin, b"BEGIN\r\n");
            theirs.write_all(b"OK 0123456789abcdef0123456789abcdef\r\n").unwrap();
            let mut head = [0u8; 16];
            theirs.read_exact(&mut head).unwrap();
            let mut rest = vec![0u8; Message::total_len(&head).unwrap() - 16];
            theirs.read_exact(&mut rest).unwrap();
            let call = Message::decode(&[&head[..], &rest].concat()).unwrap();
            assert_eq!(call.member.as_deref(), Some("StopUnit"));
            let job = "/org/freedesktop/systemd1/job/9";
            let mut sig = Message::call(1, None, MANAGER_PATH, MANAGER, "JobRemoved");
            sig.kind = Kind::Signal;
            sig.body = vec![Value::U32(9), Value::Path(job.into()), Value::str("a.scope"), Value::str("done")];
            let mut ret = Message::call(2, None, MANAGER_PATH, MANAGER, "x");
            ret.kind = Kind::Return;
            ret.member = None;
            ret.reply_serial = Some(call.serial);
            ret.body = vec![Value::Path(job.into())];
            // The signal before the return: it must not be lost.
            theirs.write_all(&sig.encode().unwrap()).unwrap();
            theirs.write_all(&ret.encode().unwrap()).unwrap();
        });
        let mut bus = Bus {
            stream: ours,
            addr: Address::Path("/fake".into()),
            via_daemon: false,
            serial: 0,
            signals: Vec::new(),
        };
        bus.authenticate().unwrap();
        let out = bus.manager("stop", "StopUnit", vec![Value::str("a.scope"), Value::str("replace")]).unwrap();
        let job = out[0].as_str().unwrap().to_owned();
        assert_eq!(bus.wait_job(&job).unwrap(), "done");
        peer.join().unwrap();
    }
}
