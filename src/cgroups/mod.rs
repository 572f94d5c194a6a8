//! Control groups for containers, on cgroup v1, v2 and hybrid hosts.
//!
//! [`Cgroup::resolve`] turns `linux.cgroupsPath` into one directory per
//! hierarchy without touching anything, shaped by what the host is
//! ([`Hierarchies`]: v1, hybrid or v2, each with only the directories such
//! a host has); the value is serializable so the runtime stores it in the
//! container state and later verbs (`pause`, `update`, `ps`, `events`,
//! `delete`) act on exactly the same directories.
//! Limits are first *planned* as a list of file writes ([`Plan`], `plan.rs`)
//! by per-controller functions (`v1.rs`, `v2.rs`, which share the
//! conversions and formatters of `convert.rs`), then executed (`apply.rs`,
//! which also attaches the v2 device program). Imports go one way: this file
//! -> `apply`/`v1`/`v2`/`stats`/`systemd` -> `plan`/`convert`/`devices`/`fsops`.
//! v1 and hybrid hosts use the v1 controllers (the unified hierarchy only gets
//! membership, and `unified` keys, as runc does); pure v2 hosts use the
//! unified hierarchy with an eBPF device program (`devices.rs`).
//!
//! With the systemd driver (`systemd/`), the cgroup is a transient unit's:
//! systemd makes it (with the process in it) and gets the limits as unit
//! properties; the same files are then written here, and every other verb
//! works on the directories as with cgroupfs. [`Cgroup::systemd`] records
//! the unit so that later verbs need no flag.

mod apply;
pub mod convert;
pub mod devices;
mod entry;
mod events;
mod fsops;
mod paths;
mod plan;
pub mod stats;
pub mod systemd;
mod update;
mod v1;
mod v2;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use entry::{enter_self, Entry};
pub use events::OomNotifier;
pub use paths::{Hierarchies, Hierarchy, Layout};
pub use plan::{OnEinval, Plan, Write};
pub use stats::Stats;
pub use update::{merge_resources, merge_update, parse_bytes, UpdateFlags};

/// Errors of the cgroups module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("write `{value}` to `{path}`")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("create cgroup `{path}`")]
    Mkdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("remove cgroup `{path}`")]
    Rmdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("open `{path}`")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("parse `{path}`: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error(
        "cgroups path `{0}` is in systemd form (slice:prefix:name), but berth has no systemd cgroup driver; use a path"
    )]
    SystemdPath(String),
    #[error("invalid cgroups path `{0}`")]
    InvalidPath(String),
    #[error(transparent)]
    Systemd(#[from] systemd::Error),
    #[error("no cgroup hierarchy is mounted")]
    NoHierarchy,
    #[error("cannot apply `{field}`: {reason}")]
    Unsupported { field: String, reason: String },
    #[error("invalid `{field}`: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("freeze cgroup `{path}`: still `{state}` after {secs} s")]
    FreezeTimeout { path: PathBuf, state: String, secs: u64 },
    #[error("signal pid {pid} with {signal}")]
    Kill {
        pid: i32,
        signal: Signal,
        #[source]
        source: nix::Error,
    },
    #[error("load device eBPF program: {log}")]
    BpfLoad {
        log: String,
        #[source]
        source: io::Error,
    },
    #[error("{op} device eBPF program on `{path}`")]
    Bpf {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("register OOM notification on `{path}`")]
    Oom {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

/// The limits `r` asks for, by field name: everything but device rules,
/// which a rootless container cannot get around anyway (it cannot mknod).
pub fn limits_in(r: &LinuxResources) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (set, name) in [
        (r.memory().is_some(), "memory"),
        (r.cpu().is_some(), "cpu"),
        (r.pids().is_some(), "pids"),
        (r.block_io().is_some(), "blockIO"),
        (r.hugepage_limits().as_ref().is_some_and(|v| !v.is_empty()), "hugepageLimits"),
        (r.network().is_some(), "network"),
        (r.rdma().as_ref().is_some_and(|m| !m.is_empty()), "rdma"),
        (r.unified().as_ref().is_some_and(|m| !m.is_empty()), "unified"),
    ] {
        if set {
            out.push(name);
        }
    }
    out
}

impl Error {
    /// The cgroup tree is not ours to change (EACCES, EPERM, EROFS): what a
    /// rootless caller meets on a host that delegated it no cgroup.
    pub fn is_permission(&self) -> bool {
        let io = match self {
            Error::Mkdir { source, .. } | Error::Write { source, .. } | Error::Open { source, .. } => source,
            _ => return false,
        };
        matches!(io.raw_os_error(), Some(libc::EACCES | libc::EPERM | libc::EROFS))
    }

    /// bpf(2) refused a device program for want of privilege.
    pub(crate) fn is_bpf_eperm(&self) -> bool {
        match self {
            Error::BpfLoad { source, .. } | Error::Bpf { source, .. } => source.raw_os_error() == Some(libc::EPERM),
            _ => false,
        }
    }
}

/// Whether `/sys/fs/cgroup` is itself a cgroup2 mount (a pure v2 host), the
/// test runc's `spec` makes (statfs); `false` when it cannot be looked at.
pub fn host_is_unified() -> bool {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    std::fs::File::open("/sys/fs/cgroup")
        .and_then(|d| crate::sys::fs::fs_magic(std::os::fd::AsFd::as_fd(&d)))
        .is_ok_and(|m| m == CGROUP2_SUPER_MAGIC)
}

/// Detect the host's cgroup layout from `/proc/self/mountinfo`.
pub fn detect() -> Result<Layout> {
    let text = fsops::read("/proc/self/mountinfo")?;
    paths::layout_of(&paths::parse_mountinfo(&text))
}

/// A container's cgroup, resolved to one directory per hierarchy.
///
/// In `state.json` it keeps the shape berth has always stored
/// (`{"layout", "v1", "unified", "systemd"}`, see [`Record`]), so the
/// containers of an older berth stay readable and an older berth can
/// read a newer one's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Record", into = "Record")]
pub struct Cgroup {
    /// The directories, as the host's layout shapes them.
    pub hierarchies: Hierarchies,
    /// The systemd driver's unit; `None` with cgroupfs.
    pub systemd: Option<systemd::Unit>,
}

/// How a [`Cgroup`] is stored: the flat record of the first `state.json`
/// format.
#[derive(Serialize, Deserialize)]
struct Record {
    layout: Layout,
    /// v1 hierarchies (every mounted one the caller is in, named ones too).
    v1: Vec<Hierarchy>,
    /// The unified hierarchy (pure v2, or hybrid's cgroup2 mount).
    unified: Option<Hierarchy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    systemd: Option<systemd::Unit>,
}

impl TryFrom<Record> for Cgroup {
    type Error = Error;

    fn try_from(r: Record) -> Result<Cgroup> {
        Ok(Cgroup { hierarchies: Hierarchies::new(r.layout, r.v1, r.unified)?, systemd: r.systemd })
    }
}

impl From<Cgroup> for Record {
    fn from(cg: Cgroup) -> Record {
        let layout = cg.hierarchies.layout();
        let (v1, unified) = match cg.hierarchies {
            Hierarchies::V1 { v1 } => (v1, None),
            Hierarchies::Hybrid { v1, unified } => (v1, Some(unified)),
            Hierarchies::V2 { unified } => (Vec::new(), Some(unified)),
        };
        Record { layout, v1, unified, systemd: cg.systemd }
    }
}

impl Cgroup {
    /// Resolve `linux.cgroupsPath` for container `id`, with no side effects.
    /// Absolute paths are relative to each hierarchy's root; relative ones go
    /// under the caller's own cgroup (on pure v2 its parent, as runc); none
    /// means the relative path `<id>`, runc's cgroupfs default. The systemd
    /// form `slice:prefix:name` is an error.
    pub fn resolve(cgroups_path: Option<&str>, id: &str) -> Result<Cgroup> {
        let inner = paths::inner_path(cgroups_path, id)?;
        let mounts = paths::parse_mountinfo(&fsops::read("/proc/self/mountinfo")?);
        let own = paths::parse_proc_cgroup(&fsops::read("/proc/self/cgroup")?);
        let mut hierarchies = paths::resolve_with(&mounts, &own, &inner)?;
        for h in hierarchies.iter_mut() {
            h.create_from = paths::first_missing(&h.mountpoint, &h.path);
        }
        Ok(Cgroup { hierarchies, systemd: None })
    }

    /// The systemd driver's cgroup for `linux.cgroupsPath` (`slice:prefix:name`)
    /// of container `id`: the unit's directory in every hierarchy, resolved
    /// without starting it (the `org.systemd.property.*` annotations are
    /// checked too). `user`: the caller's user manager (rootless),
    /// which runc too supports on cgroup v2 only.
    pub fn resolve_systemd(
        cgroups_path: Option<&str>,
        id: &str,
        user: bool,
        annotations: &HashMap<String, String>,
    ) -> Result<Cgroup> {
        let unit = systemd::Unit::parse(cgroups_path, id, user)?;
        systemd::check_annotations(annotations)?;
        let mounts = paths::parse_mountinfo(&fsops::read("/proc/self/mountinfo")?);
        let own = paths::parse_proc_cgroup(&fsops::read("/proc/self/cgroup")?);
        if user && paths::layout_of(&mounts)? != Layout::V2 {
            return Err(systemd::Error::Unsupported(
                "rootless: the systemd cgroup driver needs a cgroup v2 host (a user manager delegates nothing on v1)"
                    .into(),
            )
            .into());
        }
        let mut unit = unit;
        if user {
            let base = systemd::user_manager_cgroup()?;
            unit.cgroup = format!("{}{}", base.trim_end_matches('/'), unit.cgroup);
        }
        let hierarchies = paths::resolve_with(&mounts, &own, &unit.cgroup)?;
        Ok(Cgroup { hierarchies, systemd: Some(unit) })
    }

    /// The caller's own cgroup, as a rootless container without a cgroup of
    /// its own sees it (for its `cgroup` mount). Never created or removed.
    pub fn own() -> Result<Cgroup> {
        let mounts = paths::parse_mountinfo(&fsops::read("/proc/self/mountinfo")?);
        let own = paths::parse_proc_cgroup(&fsops::read("/proc/self/cgroup")?);
        Ok(Cgroup { hierarchies: paths::own_with(&mounts, &own)?, systemd: None })
    }

    /// How the host mounts cgroups.
    pub fn layout(&self) -> Layout {
        self.hierarchies.layout()
    }

    /// Every directory of the container, v1 first.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.hierarchies.iter().map(|h| h.path.as_path())
    }

    /// The v1 directory of `controller` (`memory`, `name=systemd`).
    pub fn v1_dir(&self, controller: &str) -> Option<&Path> {
        paths::controller_dir(self.hierarchies.v1(), controller)
    }

    /// The directory whose `cgroup.procs` lists the container's processes.
    fn procs_dir(&self) -> Option<&Path> {
        if let Hierarchies::V2 { unified } = &self.hierarchies {
            return Some(&unified.path);
        }
        ["pids", "freezer", "devices", "memory"].iter().find_map(|c| self.v1_dir(c)).or_else(|| self.dirs().next())
    }

    /// mkdir -p in every hierarchy; on v1 fill a new cpuset's cpus/mems from
    /// its parent; on pure v2 enable the available controllers down the tree.
    pub fn create(&self) -> Result<()> {
        for h in self.hierarchies.iter() {
            std::fs::create_dir_all(&h.path).map_err(|source| Error::Mkdir { path: h.path.clone(), source })?;
        }
        if let Some(h) = self.hierarchies.v1().iter().find(|h| h.controllers.iter().any(|c| c == "cpuset")) {
            v1::init_cpuset(&h.mountpoint, &h.path)?;
        }
        if let Hierarchies::V2 { unified: h } = &self.hierarchies {
            v2::enable_controllers(&h.mountpoint, &h.path)?;
        }
        Ok(())
    }

    /// Plan the writes for `r` without doing them.
    pub fn plan(&self, r: &LinuxResources, with_devices: bool) -> Result<Plan> {
        let (v1, unified) = match &self.hierarchies {
            Hierarchies::V2 { unified } => return v2::plan(r, &unified.path, with_devices),
            Hierarchies::Hybrid { v1, unified } => (v1, Some(unified)),
            Hierarchies::V1 { v1 } => (v1, None),
        };
        let mut plan = v1::plan(r, v1, with_devices)?;
        // The v2 files a hybrid host's cgroup2 mount has (last, as on v2).
        if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
            let Some(h) = unified else {
                return Err(Error::Unsupported {
                    field: "unified".into(),
                    reason: "unified resources need cgroup v2".into(),
                });
            };
            v2::plan_unified(u, &h.path, &mut plan)?;
        }
        Ok(plan)
    }

    /// Write every limit of `r`. Returns warnings for fields the host ignores
    /// where runc only warns; errors for fields it cannot apply. Without
    /// `linux.resources` (`None`) the device rules are still applied: they
    /// always start from deny-all (see `devices::rules`).
    ///
    /// `rootless`: the caller has no privilege over the host, so the kernel
    /// refuses it a device program (EPERM from bpf(2)); the rules are then
    /// left out, as runc does (fs2's `setDevices` under `Rootless`). Not
    /// failing open: such a caller's container cannot mknod (no
    /// CAP_MKNOD outside its user namespace) and opens device nodes only
    /// through the caller's own permissions, which the rules could only
    /// narrow further, never widen. Any other failure is still an error.
    pub fn apply(&self, r: Option<&LinuxResources>, rootless: bool) -> Result<Vec<String>> {
        let none = LinuxResources::default();
        let mut plan = self.plan(r.unwrap_or(&none), true)?;
        plan.rootless = rootless;
        apply::execute(plan)
    }

    fn flavour(&self) -> systemd::Flavour {
        if self.layout() == Layout::V2 {
            systemd::Flavour::V2
        } else {
            systemd::Flavour::V1
        }
    }

    /// The systemd driver's create, once the init `pid` exists: start the
    /// unit with it and the properties the annotations name (systemd makes the unit's directories in the
    /// controllers it manages), make the others and put `pid` in them too,
    /// then write every limit (devices included) to the files, as runc
    /// does. Returns the warnings. On failure nothing of the unit is left;
    /// a unit that could not be started is not touched (its name may be
    /// another container's).
    pub fn start_unit(
        &self,
        id: &str,
        pid: i32,
        r: Option<&LinuxResources>,
        annotations: &HashMap<String, String>,
    ) -> Result<Vec<String>> {
        let Some(unit) = &self.systemd else { return Ok(Vec::new()) };
        let t = systemd::start(unit, id, pid, r, annotations, self.flavour())?;
        // systemd put the pid in its unit; the other hierarchies are ours.
        let join = || if unit.user { Ok(()) } else { self.add_pid(pid) };
        // Without `linux.resources` too: the device rules start from
        // deny-all (`t.resources` is the translation of the default then).
        let joined = self.create().and_then(|()| join()).and_then(|()| {
            // A user manager's unit: rootless (see `apply`).
            let mut plan = self.plan(&t.resources, true)?;
            plan.rootless = unit.user;
            apply::execute(plan)
        });
        match joined {
            Ok(w) => Ok(t.warnings.into_iter().chain(w).collect()),
            Err(e) => {
                let _ = self.destroy();
                Err(e)
            }
        }
    }

    /// Change the limits of a live container (`berth update`): the unit's
    /// properties first (with the systemd driver), then the files. Device
    /// rules are left alone, as `runc update` does.
    pub fn update(&self, r: &LinuxResources) -> Result<Vec<String>> {
        let Some(unit) = &self.systemd else { return apply::execute(self.plan(r, false)?) };
        let t = systemd::set_properties(unit, r, self.flavour())?;
        let mut warnings = t.warnings;
        warnings.extend(apply::execute(self.plan(&t.resources, false)?)?);
        Ok(warnings)
    }

    /// The container's cgroup is a systemd unit's.
    pub fn is_systemd(&self) -> bool {
        self.systemd.is_some()
    }

    /// Move `pid` into the container's cgroup in every hierarchy.
    /// The cgroup `exec --cgroup` puts a process in: for each hierarchy, the
    /// existing sub-cgroup named for its controller (`cpu:sub`), or for all
    /// (`sub`), below the container's cgroup; the container's own otherwise.
    pub fn sub(&self, specs: &[String]) -> Result<Cgroup> {
        let mut parsed: Vec<(Option<&str>, String)> = Vec::new();
        for s in specs {
            let (ctl, path) = match s.split_once(':') {
                Some((c, p)) => (Some(c), p),
                None => (None, s.as_str()),
            };
            let clean = paths::clean_path(path);
            let clean = clean.trim_start_matches('/').to_string();
            if clean.is_empty() || path.split('/').any(|c| c == "..") {
                return Err(Error::InvalidPath(s.clone()));
            }
            if ctl.is_some() && self.layout() == Layout::V2 {
                return Err(Error::Invalid {
                    field: "--cgroup",
                    reason: format!("`{s}`: no controller names on cgroup v2"),
                });
            }
            parsed.push((ctl, clean));
        }
        let mut out = self.clone();
        let pick = |h: &mut paths::Hierarchy| -> Result<()> {
            let named = parsed.iter().find(|(c, _)| c.is_some_and(|c| h.controllers.iter().any(|x| x == c)));
            let any = parsed.iter().find(|(c, _)| c.is_none());
            if let Some((_, p)) = named.or(any) {
                let dir = h.path.join(p);
                if !dir.is_dir() {
                    return Err(Error::Open { path: dir, source: io::Error::from_raw_os_error(libc::ENOENT) });
                }
                h.path = dir;
            }
            Ok(())
        };
        for h in out.hierarchies.iter_mut() {
            pick(h)?;
        }
        for c in parsed.iter().filter_map(|(c, _)| *c) {
            if self.v1_dir(c).is_none() {
                return Err(Error::Invalid { field: "--cgroup", reason: format!("no `{c}` controller hierarchy") });
            }
        }
        Ok(out)
    }

    /// A user manager's unit (rootless, v2 only): the process is moved by
    /// systemd, since the caller may not write the common ancestor's
    /// `cgroup.procs` (runc does the same).
    fn user_unit(&self) -> Option<&systemd::Unit> {
        self.systemd.as_ref().filter(|u| u.user)
    }

    pub fn add_pid(&self, pid: i32) -> Result<()> {
        if let (Some(unit), Some(h)) = (self.user_unit(), self.hierarchies.unified()) {
            let own = h.mountpoint.join(unit.cgroup.trim_start_matches('/'));
            let sub = h.path.strip_prefix(&own).map_err(|_| Error::InvalidPath(h.path.display().to_string()))?;
            return Ok(systemd::attach(unit, &format!("/{}", sub.display()), pid)?);
        }
        for dir in self.dirs() {
            fsops::write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Every pid in the container's cgroup, sub-cgroups included.
    pub fn pids(&self) -> Result<Vec<i32>> {
        match self.procs_dir() {
            Some(dir) => fsops::pids_recursive(dir),
            None => Ok(Vec::new()),
        }
    }

    /// The directory whose freezer stops the container: the cgroup on v2,
    /// the v1 freezer controller's otherwise (none if it is not mounted).
    pub fn freezer_dir(&self) -> Option<&Path> {
        match &self.hierarchies {
            Hierarchies::V2 { unified } => Some(&unified.path),
            _ => self.v1_dir("freezer"),
        }
    }

    fn freezer(&self) -> Result<Freezer<'_>> {
        if let Hierarchies::V2 { unified } = &self.hierarchies {
            return Ok(Freezer::V2(&unified.path));
        }
        self.v1_dir("freezer").map(Freezer::V1).ok_or_else(|| Error::Unsupported {
            field: "freezer".into(),
            reason: "the v1 freezer controller is not mounted".into(),
        })
    }

    /// Freeze every process and wait until the kernel reports FROZEN.
    pub fn freeze(&self) -> Result<()> {
        match self.freezer()? {
            Freezer::V1(d) => v1::freeze(d, true),
            Freezer::V2(d) => v2::freeze(d, true),
        }
    }

    /// Thaw and wait until THAWED.
    pub fn thaw(&self) -> Result<()> {
        match self.freezer()? {
            Freezer::V1(d) => v1::freeze(d, false),
            Freezer::V2(d) => v2::freeze(d, false),
        }
    }

    pub fn is_frozen(&self) -> Result<bool> {
        match self.freezer()? {
            Freezer::V1(d) => v1::is_frozen(d),
            Freezer::V2(d) => v2::is_frozen(d),
        }
    }

    /// Signal every process. SIGKILL uses `cgroup.kill` on v2 and is never
    /// preceded by a freeze (see [`Cgroup::kill_all_now`]); other signals
    /// are sent with the cgroup frozen (when possible) so that nothing forks
    /// in between, as runc does.
    pub fn kill_all(&self, sig: Signal) -> Result<()> {
        if sig == Signal::SIGKILL {
            return self.kill_all_now();
        }
        // A paused container stays paused.
        let was_frozen = self.is_frozen().unwrap_or(false);
        let frozen = !was_frozen && self.freeze().is_ok();
        let result = self.pids().and_then(|pids| pids.into_iter().try_for_each(|pid| signal(pid, sig)));
        if frozen {
            self.thaw()?;
        }
        result
    }

    /// SIGKILL every process without freezing first: a berth killed in the
    /// middle (an engine's timeout) then leaves nothing frozen. Processes
    /// forked meanwhile show up in the next pass (a task with SIGKILL
    /// pending cannot fork), so passes repeat until one finds no new pid.
    /// A container paused before is thawed once the signals are pending:
    /// frozen tasks only die once thawed.
    fn kill_all_now(&self) -> Result<()> {
        if let Hierarchies::V2 { unified } = &self.hierarchies {
            let kill = unified.path.join("cgroup.kill");
            if kill.exists() {
                return fsops::write(&kill, "1");
            }
        }
        let was_frozen = self.is_frozen().unwrap_or(false);
        let mut signalled = std::collections::HashSet::new();
        loop {
            let new: Vec<i32> = self.pids()?.into_iter().filter(|p| !signalled.contains(p)).collect();
            if new.is_empty() {
                break;
            }
            for pid in new {
                signal(pid, Signal::SIGKILL)?;
                signalled.insert(pid);
            }
        }
        if was_frozen {
            self.thaw()?;
        }
        Ok(())
    }

    /// Remove the cgroup (and sub-cgroups) in every hierarchy, retrying
    /// briefly while the kernel still reports EBUSY, then the parents
    /// `resolve` saw missing, if empty. Already gone is fine. A systemd
    /// unit is stopped first; the directories systemd does not manage are
    /// removed even when that fails, and then its error is returned.
    pub fn destroy(&self) -> Result<()> {
        let stopped = match &self.systemd {
            Some(unit) => systemd::stop(unit),
            None => Ok(()),
        };
        self.remove_dirs()?;
        Ok(stopped?)
    }

    fn remove_dirs(&self) -> Result<()> {
        for h in self.hierarchies.iter() {
            fsops::remove_tree(&h.path)?;
            if let Some(top) = &h.create_from {
                let mut cur = h.path.parent();
                while let Some(dir) = cur {
                    if !dir.starts_with(top) {
                        break;
                    }
                    if std::fs::remove_dir(dir).is_err() {
                        break;
                    }
                    cur = dir.parent();
                }
            }
        }
        Ok(())
    }

    /// Usage statistics, serializing as runc's `events --stats` data.
    pub fn stats(&self) -> Result<Stats> {
        match &self.hierarchies {
            Hierarchies::V2 { unified } => stats::v2(&unified.path),
            hs => stats::v1(hs.v1()),
        }
    }

    /// How many processes the OOM killer killed in the container's memory
    /// cgroup (`oom_kill` of memory.events on v2, memory.oom_control on v1);
    /// `None` where the host cannot say.
    pub fn oom_kills(&self) -> Option<u64> {
        let file = match &self.hierarchies {
            Hierarchies::V2 { unified } => unified.path.join("memory.events"),
            _ => self.v1_dir("memory")?.join("memory.oom_control"),
        };
        let text = std::fs::read_to_string(file).ok()?;
        text.lines().filter_map(|l| l.strip_prefix("oom_kill ")).find_map(|v| v.trim().parse().ok())
    }

    /// A notifier for OOM kills in the container's memory cgroup.
    pub fn oom_notifier(&self) -> Result<OomNotifier> {
        match &self.hierarchies {
            Hierarchies::V2 { unified } => OomNotifier::v2(&unified.path),
            _ => match self.v1_dir("memory") {
                Some(d) => OomNotifier::v1(d),
                None => Err(Error::Unsupported { field: "events".into(), reason: "no memory controller".into() }),
            },
        }
    }
}

/// kill(2) that treats a process gone meanwhile as done.
fn signal(pid: i32, sig: Signal) -> Result<()> {
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(source) => Err(Error::Kill { pid, signal: sig, source }),
    }
}

enum Freezer<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

#[cfg(test)]
mod root_tests;
#[cfg(test)]
pub(crate) mod testutil;
