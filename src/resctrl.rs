//! `linux.intelRdt` (config-linux.md "IntelRdt"): the container's processes
//! in a resctrl group (a class of service, CLOS) with its schemata, and in
//! a monitoring group of their own when asked.
//!
//! [`plan`] reads the config alone; [`check`] refuses, before anything is
//! created, what this host cannot do (no resctrl mounted: the spec says
//! "MUST generate an error"; a resource the schemata names but the host
//! lacks). [`apply`] and [`add_pid`] work on a resctrl root given as a
//! path, so the unit tests run them against a fixture directory.
//!
//! The group, by the spec's rules:
//! - `closID` unset: a group named after the container, created by berth
//!   and removed on delete (an existing one is an error: berth would
//!   remove what it did not create);
//! - `closID` `/`: the default group, the resctrl root;
//! - `closID` set: that group; with a schemata, created when missing, and
//!   compared with the schemata when present (a mismatch is an error);
//!   without one, it must exist. Never removed.
//!
//! With `enableMonitoring` (or runtime-spec 1.1-1.2's `enableCMT`/
//! `enableMBM`, which 1.3 merged into it) a MON group
//! `mon_groups/<container id>` is made under the group, and removed on
//! delete.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxIntelRdt;

use crate::error::{Error, Result};

/// Which resctrl group the container goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    /// The default group (`closID` is `/`).
    Default,
    /// A group named by `closID`.
    Named(String),
    /// A group named after the container, made by berth.
    Own,
}

/// The translated `linux.intelRdt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub group: Group,
    /// Schemata lines in the order the spec says to write them:
    /// `l3CacheSchema`, `memBwSchema`, then `schemata`.
    pub lines: Vec<String>,
    pub monitoring: bool,
}

/// What the host offers: the resctrl mount and its resources (`info/L3`,
/// `info/MB`, `info/L3_MON`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub root: PathBuf,
    pub resources: Vec<String>,
}

const FIELD: &str = "linux.intelRdt";

/// Translate the config's `intelRdt`; pure.
pub fn plan(rdt: &LinuxIntelRdt) -> Result<Plan> {
    let group = match rdt.clos_id().as_deref() {
        None | Some("") => Group::Own,
        Some("/") => Group::Default,
        Some(c) if c == "." || c == ".." || c.contains(['/', '\n', '\0']) => {
            return Err(Error::config(format!("{FIELD}.closID"), format!("`{c}` is not a resctrl group name")));
        }
        Some(c) => Group::Named(c.to_string()),
    };
    let mut lines = Vec::new();
    if let Some(l3) = rdt.l3_cache_schema().as_deref().filter(|s| !s.is_empty()) {
        lines.push(line(l3, "l3CacheSchema")?);
    }
    if let Some(mb) = rdt.mem_bw_schema().as_deref().filter(|s| !s.is_empty()) {
        if !mb.trim_start().starts_with("MB:") {
            return Err(Error::config(format!("{FIELD}.memBwSchema"), format!("`{mb}` does not start with `MB:`")));
        }
        lines.push(line(mb, "memBwSchema")?);
    }
    for s in rdt.schemata().iter().flatten() {
        lines.push(line(s, "schemata")?);
    }
    #[allow(deprecated)]
    let old_monitoring = rdt.enable_cmt().unwrap_or(false) || rdt.enable_mbm().unwrap_or(false);
    Ok(Plan { group, lines, monitoring: rdt.enable_monitoring().unwrap_or(false) || old_monitoring })
}

fn line(s: &str, field: &str) -> Result<String> {
    if s.contains(['\n', '\r']) {
        return Err(Error::config(format!("{FIELD}.{field}"), "must not contain a newline"));
    }
    if resource(s).is_empty() || !s.contains(':') {
        return Err(Error::config(format!("{FIELD}.{field}"), format!("`{s}` is not like `L3:0=ff;1=ff`")));
    }
    Ok(s.trim().to_string())
}

/// The resource a schemata line is for (`L3`, `MB`, ...).
fn resource(line: &str) -> &str {
    line.split(':').next().unwrap_or("").trim()
}

/// The resctrl mount of berth's mount namespace, with its resources.
pub fn host() -> Option<Host> {
    let root = crate::mountinfo::read().into_iter().rev().find(|e| e.fstype == "resctrl")?.mount_point;
    let resources = std::fs::read_dir(root.join("info"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    Some(Host { root, resources })
}

/// Refuse what the host cannot do, before anything is created (runc's
/// wording: "Intel RDT/CAT is not enabled").
pub fn check(p: &Plan, host: Option<&Host>) -> Result<()> {
    let Some(host) = host else {
        return Err(Error::config(FIELD, "Intel RDT is not enabled: no resctrl filesystem is mounted"));
    };
    for l in &p.lines {
        let res = resource(l);
        if !host.resources.iter().any(|r| r == res) {
            let feature = if res.starts_with("MB") || res.starts_with("SMBA") { "MBA" } else { "CAT" };
            return Err(Error::config(
                FIELD,
                format!("Intel RDT/{feature} is not enabled: resctrl has no `{res}` resource for `{l}`"),
            ));
        }
    }
    if p.monitoring && !host.resources.iter().any(|r| r.ends_with("_MON")) {
        return Err(Error::config(
            format!("{FIELD}.enableMonitoring"),
            "Intel RDT monitoring is not enabled: resctrl has no monitoring resource",
        ));
    }
    Ok(())
}

/// The group's directory under the resctrl root.
pub fn group_dir(root: &Path, p: &Plan, id: &str) -> PathBuf {
    match &p.group {
        Group::Default => root.to_path_buf(),
        Group::Named(c) => root.join(c),
        Group::Own => root.join(id),
    }
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { what, source }
}

/// Put process `pid` of container `id` in its group (making the group and
/// writing its schemata as the spec says) and, with monitoring, in its MON
/// group. Errors name the file and, for a schemata the kernel refuses,
/// resctrl's own reason (`info/last_cmd_status`).
pub fn apply(root: &Path, p: &Plan, id: &str, pid: i32) -> Result<()> {
    let dir = group_dir(root, p, id);
    match &p.group {
        Group::Own => {
            std::fs::create_dir(&dir).map_err(io_err(format!("create resctrl group `{}`", dir.display())))?;
            write_schemata(root, &dir, &p.lines)?;
        }
        Group::Named(_) | Group::Default if dir.exists() => {
            if !p.lines.is_empty() {
                compare_schemata(&dir, &p.lines)?;
            }
        }
        Group::Named(c) if p.lines.is_empty() => {
            return Err(Error::config(
                format!("{FIELD}.closID"),
                format!("resctrl group `{c}` does not exist (no schemata is given to create it with)"),
            ));
        }
        Group::Named(_) | Group::Default => {
            std::fs::create_dir(&dir).map_err(io_err(format!("create resctrl group `{}`", dir.display())))?;
            write_schemata(root, &dir, &p.lines)?;
        }
    }
    add_pid(root, p, id, pid)
}

/// Put another process of the container (an exec'd one) where [`apply`]
/// put the init.
pub fn add_pid(root: &Path, p: &Plan, id: &str, pid: i32) -> Result<()> {
    let dir = group_dir(root, p, id);
    write_file(&dir.join("tasks"), &pid.to_string())?;
    if p.monitoring {
        let mon = dir.join("mon_groups").join(id);
        if !mon.exists() {
            std::fs::create_dir_all(&mon)
                .map_err(io_err(format!("create resctrl monitoring group `{}`", mon.display())))?;
        }
        write_file(&mon.join("tasks"), &pid.to_string())?;
    }
    Ok(())
}

/// Remove what berth made for container `id`: its MON group, and its own
/// group (never a `closID` group). Groups already gone are fine.
pub fn remove(root: &Path, p: &Plan, id: &str) -> Result<()> {
    let dir = group_dir(root, p, id);
    let mut gone = Vec::new();
    if p.monitoring {
        gone.push(dir.join("mon_groups").join(id));
    }
    if p.group == Group::Own {
        gone.push(dir);
    }
    for d in gone {
        match std::fs::remove_dir(&d) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::Io { what: format!("remove resctrl group `{}`", d.display()), source: e });
            }
            _ => {}
        }
    }
    Ok(())
}

/// One write(2) per line, in order, on one open file (resctrl applies each
/// write on its own and says why it refused one in `info/last_cmd_status`;
/// a fixture's plain file collects the lines).
fn write_schemata(root: &Path, dir: &Path, lines: &[String]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let path = dir.join("schemata");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io_err(format!("open `{}`", path.display())))?;
    for l in lines {
        if let Err(e) = f.write_all(format!("{l}\n").as_bytes()) {
            let status = std::fs::read_to_string(root.join("info/last_cmd_status")).unwrap_or_default();
            let why = match status.trim() {
                "" | "ok" => String::new(),
                s => format!(" ({s})"),
            };
            return Err(Error::Io { what: format!("write `{l}` to `{}`{why}", path.display()), source: e });
        }
    }
    Ok(())
}

/// resource -> domain id -> value, from schemata text (`    L3:0=7ff;1=7ff`).
fn parse_schemata(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for l in text.lines() {
        let Some((res, domains)) = l.split_once(':') else { continue };
        let entry = out.entry(res.trim().to_string()).or_default();
        for d in domains.split(';') {
            if let Some((id, v)) = d.split_once('=') {
                entry.insert(id.trim().to_string(), v.trim().to_string());
            }
        }
    }
    out
}

/// Same value? Cache bitmasks are hex (resctrl prints them zero-padded),
/// bandwidth is decimal.
fn same_value(res: &str, a: &str, b: &str) -> bool {
    let radix = if res.starts_with("MB") || res.starts_with("SMBA") { 10 } else { 16 };
    match (u64::from_str_radix(a, radix), u64::from_str_radix(b, radix)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// An existing group must already have the schemata asked for (the spec:
/// "generate an error if doesn't match").
fn compare_schemata(dir: &Path, lines: &[String]) -> Result<()> {
    let path = dir.join("schemata");
    let text = std::fs::read_to_string(&path).map_err(io_err(format!("read `{}`", path.display())))?;
    let have = parse_schemata(&text);
    for (res, domains) in parse_schemata(&lines.join("\n")) {
        for (id, want) in &domains {
            let got = have.get(&res).and_then(|d| d.get(id));
            if !got.is_some_and(|g| same_value(&res, g, want)) {
                return Err(Error::config(
                    format!("{FIELD}.closID"),
                    format!(
                        "resctrl group `{}` exists with `{res}:{id}={}`, not `{want}` as the config asks",
                        dir.display(),
                        got.map_or("(none)", String::as_str)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Append `text` (resctrl's files exist from the group's mkdir; `create`
/// is for fixtures).
fn write_file(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(io_err(format!("open `{}`", path.display())))?;
    f.write_all(text.as_bytes()).map_err(io_err(format!("write `{text}` to `{}`", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdt(json: &str) -> Plan {
        plan(&serde_json::from_str(json).unwrap()).unwrap()
    }

    /// A resctrl root as the kernel lays it out, with plain files.
    fn fixture() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for d in ["info/L3", "info/MB", "info/L3_MON", "mon_groups"] {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        std::fs::write(t.path().join("schemata"), "    L3:0=7ff;1=7ff\n    MB:0=100;1=100\n").unwrap();
        std::fs::write(t.path().join("tasks"), "").unwrap();
        t
    }

    /// A group directory the way mkdir in resctrl makes one (the kernel
    /// fills it; a fixture has to).
    fn group(root: &Path, name: &str, schemata: &str) {
        let d = root.join(name);
        std::fs::create_dir_all(d.join("mon_groups")).unwrap();
        std::fs::write(d.join("schemata"), schemata).unwrap();
        std::fs::write(d.join("tasks"), "").unwrap();
    }

    fn read(p: PathBuf) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn plans_follow_the_spec() {
        let p = rdt(
            r#"{"closID":"gold","l3CacheSchema":"L3:0=7f0;1=1f","memBwSchema":"MB:0=20;1=70","schemata":["L2:0=f"],"enableMonitoring":true}"#,
        );
        assert_eq!(p.group, Group::Named("gold".into()));
        assert_eq!(p.lines, ["L3:0=7f0;1=1f", "MB:0=20;1=70", "L2:0=f"]);
        assert!(p.monitoring);
        assert_eq!(rdt(r#"{"closID":"/"}"#).group, Group::Default);
        assert_eq!(rdt("{}"), Plan { group: Group::Own, lines: vec![], monitoring: false });
        assert!(rdt(r#"{"enableCmt":true}"#).monitoring, "runtime-spec 1.2's enableCMT means monitoring");
        for (json, want) in [
            (r#"{"memBwSchema":"L3:0=1"}"#, "does not start with `MB:`"),
            (r#"{"schemata":["L3:0=1\nMB:0=1"]}"#, "newline"),
            (r#"{"closID":"../x"}"#, "not a resctrl group name"),
            (r#"{"l3CacheSchema":"garbage"}"#, "not like"),
        ] {
            let e = plan(&serde_json::from_str(json).unwrap()).unwrap_err().to_string();
            assert!(e.contains(want), "{json}: {e}");
        }
    }

    #[test]
    fn refuses_what_the_host_lacks() {
        let p = rdt(r#"{"l3CacheSchema":"L3:0=f","memBwSchema":"MB:0=50"}"#);
        let e = check(&p, None).unwrap_err().to_string();
        assert!(e.contains("Intel RDT is not enabled") && e.contains("no resctrl filesystem"), "{e}");
        let cat_only = Host { root: "/x".into(), resources: vec!["L3".into()] };
        let e = check(&p, Some(&cat_only)).unwrap_err().to_string();
        assert!(e.contains("Intel RDT/MBA is not enabled"), "{e}");
        let none = Host { root: "/x".into(), resources: vec![] };
        let e = check(&p, Some(&none)).unwrap_err().to_string();
        assert!(e.contains("Intel RDT/CAT is not enabled"), "{e}");
        let e = check(&rdt(r#"{"enableMonitoring":true}"#), Some(&cat_only)).unwrap_err().to_string();
        assert!(e.contains("monitoring is not enabled"), "{e}");
        let all = Host { root: "/x".into(), resources: vec!["L3".into(), "MB".into(), "L3_MON".into()] };
        check(&p, Some(&all)).unwrap();
    }

    /// What rmdir of a resctrl group does to a plain fixture directory.
    fn empty(dir: PathBuf) {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.path().is_dir() {
                std::fs::remove_dir_all(e.path()).unwrap();
            } else {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
    }

    #[test]
    fn own_group_gets_the_schemata_in_order_and_goes_on_delete() {
        let t = fixture();
        let p = rdt(
            r#"{"schemata":["L2:0=f"],"l3CacheSchema":"L3:0=7f0","memBwSchema":"MB:0=20","enableMonitoring":true}"#,
        );
        apply(t.path(), &p, "c1", 42).unwrap();
        assert_eq!(read(t.path().join("c1/schemata")), "L3:0=7f0\nMB:0=20\nL2:0=f\n");
        assert_eq!(read(t.path().join("c1/tasks")), "42");
        assert_eq!(read(t.path().join("c1/mon_groups/c1/tasks")), "42");
        // an exec'd process joins both
        add_pid(t.path(), &p, "c1", 43).unwrap();
        assert_eq!(read(t.path().join("c1/tasks")), "4243");
        assert_eq!(read(t.path().join("c1/mon_groups/c1/tasks")), "4243");
        // the root group is untouched
        assert_eq!(read(t.path().join("tasks")), "");
        // a second container of that id would take over the group: refused
        let e = apply(t.path(), &p, "c1", 44).unwrap_err().to_string();
        assert!(e.contains("create resctrl group"), "{e}");
        // delete: the MON group, then the group
        empty(t.path().join("c1/mon_groups/c1"));
        remove(t.path(), &rdt(r#"{"enableMonitoring":true,"closID":"c1"}"#), "c1").unwrap();
        assert!(!t.path().join("c1/mon_groups/c1").exists());
        assert!(t.path().join("c1").exists(), "a closID group is never removed");
        empty(t.path().join("c1"));
        remove(t.path(), &p, "c1").unwrap();
        assert!(!t.path().join("c1").exists());
        remove(t.path(), &p, "c1").unwrap();
    }

    #[test]
    fn an_existing_clos_must_match() {
        let t = fixture();
        group(t.path(), "gold", "    L3:0=07f0;1=7ff\n    MB:0=20;1=100\n");
        let same = rdt(r#"{"closID":"gold","l3CacheSchema":"L3:0=7f0","memBwSchema":"MB:0=20"}"#);
        apply(t.path(), &same, "c1", 7).unwrap();
        assert_eq!(read(t.path().join("gold/tasks")), "7");
        // the existing group's schemata is not rewritten
        assert_eq!(read(t.path().join("gold/schemata")), "    L3:0=07f0;1=7ff\n    MB:0=20;1=100\n");
        let other = rdt(r#"{"closID":"gold","l3CacheSchema":"L3:0=ff"}"#);
        let e = apply(t.path(), &other, "c1", 7).unwrap_err().to_string();
        assert!(e.contains("exists with `L3:0=07f0`, not `ff`"), "{e}");
        let other = rdt(r#"{"closID":"gold","schemata":["L2:0=f"]}"#);
        assert!(apply(t.path(), &other, "c1", 7).unwrap_err().to_string().contains("(none)"));
        // a closID group is never removed
        remove(t.path(), &same, "c1").unwrap();
        assert!(t.path().join("gold").exists());
    }

    #[test]
    fn a_missing_clos_is_created_only_with_a_schemata() {
        let t = fixture();
        let e = apply(t.path(), &rdt(r#"{"closID":"silver"}"#), "c1", 7).unwrap_err().to_string();
        assert!(e.contains("resctrl group `silver` does not exist"), "{e}");
        assert!(!t.path().join("silver").exists());
        // with one, berth makes it and writes the schemata
        apply(t.path(), &rdt(r#"{"closID":"silver","l3CacheSchema":"L3:0=f"}"#), "c1", 7).unwrap();
        assert_eq!(read(t.path().join("silver/schemata")), "L3:0=f\n");
        assert_eq!(read(t.path().join("silver/tasks")), "7");
        // the default group is the root
        let root = rdt(r#"{"closID":"/","l3CacheSchema":"L3:0=7ff"}"#);
        apply(t.path(), &root, "c1", 9).unwrap();
        assert_eq!(read(t.path().join("tasks")), "9");
    }
}
