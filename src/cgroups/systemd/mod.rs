//! The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup
//! is a transient scope unit `prefix-name.scope` in a slice, made by
//! systemd over D-Bus with `Delegate=yes`, its limits given to systemd as
//! unit properties (so that systemd, which owns the tree, does not undo
//! them) and then written to the cgroup files as well, for everything
//! systemd does not manage. This is what runc's systemd drivers do.
//!
//! This module knows units: naming them from `linux.cgroupsPath`
//! (`slice:prefix:name`), where their cgroup is, and the calls made on
//! them: start (`StartTransientUnit`, waiting for its job), set properties
//! (`update`), stop (`delete`), and attach a process (rootless `exec`, where
//! only the user's systemd may move it). `Cgroup` (the parent module) keeps
//! the [`Unit`] in the container's state, so that every later verb finds
//! the driver again without the flag. Files: `properties.rs` (resources ->
//! properties, pure), `annotations.rs` (`org.systemd.property.*`),
//! `bus.rs` (the connection), `wire.rs` (the D-Bus format).
//!
//! The device trap: a unit started without device properties does not get
//! a devices cgroup of its own from systemd on v1; in a slice where no
//! other unit has one either, systemd moves the container's processes to
//! the slice's devices cgroup, which allows every device. runc 1.1 sets
//! the device properties only after the unit started and falls into it in
//! a new slice; here every property, the device policy included, is part
//! of `StartTransientUnit`.

mod annotations;
mod bus;
mod properties;
mod wire;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use bus::{Address, Bus};
pub use properties::{range_to_bits, translate, Flavour, Stage, Translation};
use wire::Value;

/// Errors of the systemd driver.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid cgroups path `{path}` for the systemd cgroup driver: {reason}")]
    Path { path: String, reason: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("cannot reach systemd: {0}")]
    NoSystemd(String),
    #[error("connect to `{addr}`: {}", crate::error::os::os_msg(source))]
    Connect { addr: String, source: io::Error },
    #[error("authenticate on `{addr}`: {reason}")]
    Auth { addr: String, reason: String },
    #[error("talk to systemd on `{addr}`: {}", crate::error::os::os_msg(source))]
    Io { addr: String, source: io::Error },
    #[error("talk to systemd on `{addr}`: {reason}")]
    Protocol { addr: String, reason: String },
    /// systemd (or the bus) answered a call with an error.
    #[error("{what}: {message} ({name})")]
    Call { what: String, name: String, message: String },
    #[error("{what}: job {result}")]
    Job { what: String, result: String },
    #[error("translate linux.resources into unit properties: {0}")]
    Resources(String),
    #[error("invalid unit property: {0}")]
    Annotation(String),
}

impl Error {
    fn is_call(&self, name: &str) -> bool {
        matches!(self, Error::Call { name: n, .. } if n == name)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A container's unit, as kept in its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// `prefix-name.scope`.
    pub name: String,
    /// The slice it is in (`system.slice`).
    pub slice: String,
    /// The caller's user manager's unit, not the system's (rootless).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub user: bool,
    /// Its cgroup in the hierarchy (the manager's own cgroup included for a
    /// user manager): set when the unit is resolved.
    #[serde(default)]
    pub cgroup: String,
}

impl Unit {
    /// runc's reading of `linux.cgroupsPath` for the systemd driver: none
    /// means `:runc:ID`; otherwise exactly `slice:prefix:name`, where an
    /// empty slice is `system.slice` (`user.slice` for a user manager).
    pub fn parse(cgroups_path: Option<&str>, id: &str, user: bool) -> Result<Unit> {
        let raw = cgroups_path.unwrap_or("");
        let bad = |reason: &str| Error::Path { path: raw.to_owned(), reason: reason.to_owned() };
        let (slice, prefix, name) = if raw.is_empty() {
            ("", "runc", id)
        } else {
            let parts: Vec<&str> = raw.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                return Err(bad("expected the form `slice:prefix:name`"));
            };
            (slice, prefix, name)
        };
        if name.is_empty() {
            return Err(bad("the name is empty"));
        }
        if name.ends_with(".slice") {
            return Err(bad("a container in a slice unit of its own is not supported; name a scope"));
        }
        let slice = match slice {
            "" if user => "user.slice",
            "" => "system.slice",
            s => s,
        };
        expand_slice(slice).map_err(|e| bad(&e))?;
        let mut unit =
            Unit { name: format!("{prefix}-{name}.scope"), slice: slice.to_owned(), user, cgroup: String::new() };
        check_unit_name(&unit.name).map_err(|e| bad(&e))?;
        unit.cgroup = unit.cgroup_path()?;
        Ok(unit)
    }

    /// The unit's cgroup below its manager's (`/system.slice/x.scope`).
    pub fn cgroup_path(&self) -> Result<String> {
        let slice = expand_slice(&self.slice).map_err(|reason| Error::Path { path: self.slice.clone(), reason })?;
        Ok(format!("{}/{}", slice.trim_end_matches('/'), self.name))
    }
}

/// `a-b-c.slice` is `/a.slice/a-b.slice/a-b-c.slice` in the tree; `-.slice`
/// is the root.
pub fn expand_slice(slice: &str) -> std::result::Result<String, String> {
    let bad = || Err(format!("invalid slice name `{slice}`"));
    let Some(base) = slice.strip_suffix(".slice") else { return bad() };
    if base.is_empty() || slice.contains('/') {
        return bad();
    }
    if base == "-" {
        return Ok("/".into());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in base.split('-') {
        if part.is_empty() {
            return bad();
        }
        path.push_str(&format!("/{prefix}{part}.slice"));
        prefix.push_str(part);
        prefix.push('-');
    }
    Ok(path)
}

/// systemd's unit name rules: at most 255 bytes of `[A-Za-z0-9:_.\-\\@]`.
fn check_unit_name(name: &str) -> std::result::Result<(), String> {
    if name.len() > 255 {
        return Err(format!("unit name `{name}` is longer than 255 bytes"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || ":_.-\\@".contains(*c))) {
        return Err(format!("unit name `{name}` has `{c}`, which systemd does not allow"));
    }
    Ok(())
}

/// Where systemd listens: the bus daemon(s) first, then systemd's own
/// private socket (root only, as `systemctl` does when no bus runs). For a
/// user manager: the session bus, then `$XDG_RUNTIME_DIR/systemd/private`.
fn candidates(user: bool) -> Vec<(Address, bool)> {
    let env_addrs = |var: &str| std::env::var(var).ok().map(|s| bus::parse_addresses(&s)).unwrap_or_default();
    let mut out = Vec::new();
    if user {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
        let mut daemon = env_addrs("DBUS_SESSION_BUS_ADDRESS");
        if daemon.is_empty() {
            daemon.extend(runtime.iter().map(|r| Address::Path(r.join("bus"))));
        }
        out.extend(daemon.into_iter().map(|a| (a, true)));
        out.extend(runtime.iter().map(|r| (Address::Path(r.join("systemd/private")), false)));
    } else {
        let mut daemon = env_addrs("DBUS_SYSTEM_BUS_ADDRESS");
        if daemon.is_empty() {
            daemon.push(Address::Path("/run/dbus/system_bus_socket".into()));
        }
        out.extend(daemon.into_iter().map(|a| (a, true)));
        if nix::unistd::geteuid().is_root() {
            out.push((Address::Path("/run/systemd/private".into()), false));
        }
    }
    out
}

/// Connect to the system's systemd, or the caller's user manager.
fn connect(user: bool) -> Result<Bus> {
    if !user && !Path::new("/run/systemd/system").is_dir() {
        return Err(Error::NoSystemd("systemd is not running on this host (no /run/systemd/system)".into()));
    }
    let mut tried = Vec::new();
    for (addr, via_daemon) in candidates(user) {
        match Bus::connect(&addr, via_daemon) {
            Ok(b) => return Ok(b),
            Err(e) => tried.push(e.to_string()),
        }
    }
    if tried.is_empty() {
        tried.push("no bus address (set XDG_RUNTIME_DIR or DBUS_SESSION_BUS_ADDRESS)".into());
    }
    Err(Error::NoSystemd(tried.join("; ")))
}

/// A property of the manager object.
fn manager_property(bus: &mut Bus, name: &str) -> Result<Value> {
    let out = bus.call(
        &format!("read systemd's `{name}`"),
        bus.destination(),
        bus::MANAGER_PATH,
        "org.freedesktop.DBus.Properties",
        "Get",
        vec![Value::str(bus::MANAGER), Value::str(name)],
    )?;
    match out.into_iter().next() {
        Some(Value::Variant(v)) => Ok(*v),
        other => {
            Err(Error::Protocol { addr: bus.address().to_string(), reason: format!("`{name}` came back as {other:?}") })
        }
    }
}

/// systemd's version number (`252` of `252.38-1~deb12u1`); 0 if unknown.
fn version(bus: &mut Bus) -> u32 {
    let v = manager_property(bus, "Version").ok();
    let s = v.as_ref().and_then(Value::as_str).unwrap_or("");
    let digits: String = s.trim_start_matches(['v', '"']).chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

/// The cgroup of the caller's user manager
/// (`/user.slice/user-1000.slice/user@1000.service`).
pub fn user_manager_cgroup() -> Result<String> {
    let mut bus = connect(true)?;
    let v = manager_property(&mut bus, "ControlGroup")?;
    v.as_str().map(str::to_owned).ok_or_else(|| Error::Protocol {
        addr: bus.address().to_string(),
        reason: "ControlGroup is not a string".into(),
    })
}

fn prop(name: &str, v: Value) -> Value {
    Value::Struct(vec![Value::str(name), Value::variant(v)])
}

/// Check the `org.systemd.property.*` annotations (before anything is made).
pub fn check_annotations(annotations: &HashMap<String, String>) -> Result<()> {
    annotations::properties(annotations).map(drop).map_err(Error::Annotation)
}

/// Start the unit with `pid` in it, the properties the annotations ask for
/// and every property of `resources`; returns what the cgroup files must
/// get afterwards, with warnings.
pub fn start(
    unit: &Unit,
    id: &str,
    pid: i32,
    resources: Option<&LinuxResources>,
    annotations: &HashMap<String, String>,
    flavour: Flavour,
) -> Result<Translation> {
    let extra = annotations::properties(annotations).map_err(Error::Annotation)?;
    let mut bus = connect(unit.user)?;
    let version = version(&mut bus);
    let empty = LinuxResources::default();
    let t = translate(resources.unwrap_or(&empty), flavour, version, Stage::Start).map_err(Error::Resources)?;
    let pid = u32::try_from(pid).map_err(|_| Error::Unsupported(format!("invalid pid {pid}")))?;
    let io_accounting = if flavour == Flavour::V1 { "BlockIOAccounting" } else { "IOAccounting" };
    let mut props = vec![
        prop("Description", Value::str(format!("berth container {id}"))),
        prop("Slice", Value::str(unit.slice.clone())),
        prop("Delegate", Value::Bool(true)),
        prop("PIDs", Value::array("u", vec![Value::U32(pid)])),
        // Accounting everywhere makes systemd create the unit's cgroup in
        // every controller it manages, as the cgroupfs driver would.
        prop("MemoryAccounting", Value::Bool(true)),
        prop("CPUAccounting", Value::Bool(true)),
        prop(io_accounting, Value::Bool(true)),
        prop("TasksAccounting", Value::Bool(true)),
        // Not stopped with the slice's or the manager's shutdown ordering.
        prop("DefaultDependencies", Value::Bool(false)),
    ];
    // The annotations may override the defaults above, the resources them.
    props.extend(extra.into_iter().map(|(n, v)| prop(&n, v)));
    props.extend(t.properties.iter().map(|(n, v)| prop(n, v.clone())));
    bus.subscribe()?;
    let what = format!("start unit `{}`", unit.name);
    let call = |bus: &mut Bus| {
        let body = vec![
            Value::str(unit.name.clone()),
            Value::str("replace"),
            Value::array("(sv)", props.clone()),
            Value::array("(sa(sv))", vec![]),
        ];
        bus.manager(&what, "StartTransientUnit", body)
    };
    let out = match call(&mut bus) {
        // A failed unit of that name may linger: reset it and retry once.
        Err(e) if e.is_call("org.freedesktop.systemd1.UnitExists") => {
            let _ = reset_failed(&mut bus, &unit.name);
            call(&mut bus)?
        }
        r => r?,
    };
    let job = job_path(&bus, out)?;
    let result = bus.wait_job(&job)?;
    if result != "done" {
        let _ = reset_failed(&mut bus, &unit.name);
        return Err(Error::Job { what, result });
    }
    Ok(t)
}

/// Change the unit's properties for `resources` (`update`); returns what
/// the cgroup files must get.
pub fn set_properties(unit: &Unit, resources: &LinuxResources, flavour: Flavour) -> Result<Translation> {
    let mut bus = connect(unit.user)?;
    let version = version(&mut bus);
    let t = translate(resources, flavour, version, Stage::Update).map_err(Error::Resources)?;
    if t.properties.is_empty() {
        return Ok(t);
    }
    let props = t.properties.iter().map(|(n, v)| prop(n, v.clone())).collect();
    bus.manager(
        &format!("set properties of unit `{}`", unit.name),
        "SetUnitProperties",
        vec![Value::str(unit.name.clone()), Value::Bool(true), Value::array("(sv)", props)],
    )?;
    Ok(t)
}

/// Stop the unit and wait for it; a unit already gone is fine.
pub fn stop(unit: &Unit) -> Result<()> {
    let mut bus = connect(unit.user)?;
    bus.subscribe()?;
    let what = format!("stop unit `{}`", unit.name);
    match bus.manager(&what, "StopUnit", vec![Value::str(unit.name.clone()), Value::str("replace")]) {
        Ok(out) => {
            let job = job_path(&bus, out)?;
            let result = bus.wait_job(&job)?;
            // A failed stop leaves the unit failed: reset it, but report.
            let _ = reset_failed(&mut bus, &unit.name);
            if result != "done" {
                return Err(Error::Job { what, result });
            }
            Ok(())
        }
        Err(e) if e.is_call("org.freedesktop.systemd1.NoSuchUnit") => Ok(()),
        Err(e) => Err(e),
    }
}

/// Have systemd put `pid` in the unit's cgroup, or its sub-cgroup
/// `subcgroup` (`/` for the unit's own): a user manager can move a process
/// its user could not (the common ancestor cgroup is not theirs); it asks
/// the system manager when it has to.
pub fn attach(unit: &Unit, subcgroup: &str, pid: i32) -> Result<()> {
    let mut bus = connect(unit.user)?;
    let pid = u32::try_from(pid).map_err(|_| Error::Unsupported(format!("invalid pid {pid}")))?;
    bus.manager(
        &format!("attach pid {pid} to unit `{}`", unit.name),
        "AttachProcessesToUnit",
        vec![Value::str(unit.name.clone()), Value::str(subcgroup), Value::array("u", vec![Value::U32(pid)])],
    )?;
    Ok(())
}

fn reset_failed(bus: &mut Bus, name: &str) -> Result<()> {
    bus.manager(&format!("reset failed unit `{name}`"), "ResetFailedUnit", vec![Value::str(name.to_owned())])?;
    Ok(())
}

fn job_path(bus: &Bus, out: Vec<Value>) -> Result<String> {
    match out.first() {
        Some(Value::Path(p)) => Ok(p.clone()),
        other => {
            Err(Error::Protocol { addr: bus.address().to_string(), reason: format!("expected a job, got {other:?}") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_expand_like_systemd() {
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(expand_slice("a-b-c.slice").unwrap(), "/a.slice/a-b.slice/a-b-c.slice");
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        for bad in ["system", ".slice", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice"] {
            assert!(expand_slice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn units_from_cgroups_paths() {
        let u = Unit::parse(Some("machine.slice:libpod:abc"), "x", false).unwrap();
        assert_eq!(u.name, "libpod-abc.scope");
        assert_eq!(u.slice, "machine.slice");
        assert_eq!(u.cgroup, "/machine.slice/libpod-abc.scope");
        let u = Unit::parse(None, "ctr1", false).unwrap();
        assert_eq!((u.name.as_str(), u.slice.as_str()), ("runc-ctr1.scope", "system.slice"));
        let u = Unit::parse(Some(":berth:c"), "x", true).unwrap();
        assert_eq!(u.slice, "user.slice");
        let u = Unit::parse(Some("k-pod1.slice:cri:c"), "x", false).unwrap();
        assert_eq!(u.cgroup_path().unwrap(), "/k.slice/k-pod1.slice/cri-c.scope");
        let u = Unit::parse(Some("-.slice:p:c"), "x", false).unwrap();
        assert_eq!(u.cgroup_path().unwrap(), "/p-c.scope");
        for bad in ["/a/b", "a:b", "a:b:c:d", "x.slice:p:", "bad:p:c", "x.slice:p:y.slice", "x.slice:p:a b"] {
            let e = Unit::parse(Some(bad), "id", false).unwrap_err();
            assert!(e.to_string().contains(&format!("`{bad}`")), "{bad}: {e}");
        }
    }

    #[test]
    fn where_to_connect() {
        // Only the shape: the system bus first, systemd's socket last (root).
        let c = candidates(false);
        if std::env::var_os("DBUS_SYSTEM_BUS_ADDRESS").is_none() {
            assert_eq!(c[0], (Address::Path("/run/dbus/system_bus_socket".into()), true));
        }
        if nix::unistd::geteuid().is_root() {
            assert_eq!(c.last().unwrap(), &(Address::Path("/run/systemd/private".into()), false));
        }
    }

    #[test]
    fn state_form() {
        let u = Unit::parse(Some("system.slice:a:b"), "x", false).unwrap();
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"name":"a-b.scope","slice":"system.slice","cgroup":"/system.slice/a-b.scope"}"#
        );
    }
}
