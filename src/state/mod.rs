//! Container state: the model (what `state` prints and what berth keeps to
//! find the container again) and the on-disk store under `--root`.
//!
//! Status is never stored: it is derived each time from the processes
//! themselves, so that no berth killed half-way can leave a status that
//! lies: the init (alive, and the same process: its start time matches),
//! the init's lock on `created.lock` (held until `start` releases it), the
//! freezer, and, while `creating` is recorded, whether a berth still holds
//! the container's lock (`lock`).

pub mod lock;
pub mod salvage;
pub mod store;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cgroups::Cgroup;

pub const OCI_VERSION: &str = "1.0.2-dev";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
    pub fn can_start(self) -> bool {
        self == Status::Created
    }
    pub fn can_kill(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Paused)
    }
    /// Deleting without `--force` is allowed only once the container stopped
    /// (runtime-spec runtime.md, "delete").
    pub fn can_delete(self) -> bool {
        self == Status::Stopped
    }
    pub fn can_pause(self) -> bool {
        matches!(self, Status::Running | Status::Created)
    }
    pub fn can_resume(self) -> bool {
        self == Status::Paused
    }
}

/// What berth stores for each container (`state.json` in its directory).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    pub id: String,
    /// Host pid of the init; 0 until the clone happened.
    pub pid: i32,
    /// The init's start time (field 22 of /proc/<pid>/stat), so a reused pid
    /// is never mistaken for the container.
    pub start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub owner: String,
    /// True until create finished: a berth killed during create leaves this
    /// set, and `delete --force` cleans up from it.
    pub creating: bool,
    pub cgroup: Option<Cgroup>,
    /// The container has no pid namespace of its own (kill --all must then
    /// signal every process in its cgroup).
    #[serde(default)]
    pub shares_host_pidns: bool,
    /// The cgroup already held other processes when the container was
    /// created (a cgroupsPath shared with something else): it is not the
    /// container's alone, see [`Stored::own_cgroup`].
    #[serde(default)]
    pub shared_cgroup: bool,
}

/// The OCI state document (`berth state`, hooks' stdin, `list --format json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
    pub owner: String,
}

impl Stored {
    /// The processes of a container without a cgroup of its own (rootless):
    /// those of its pid namespace while its init lives; none when it shares
    /// the host's pid namespace, where they cannot be told apart.
    /// The cgroup whose every process is the container's, for the verbs
    /// that signal or remove a whole cgroup (`kill --all`, `delete`); `None`
    /// for a cgroup the container shares, so that nothing that is not the
    /// container's is killed or removed.
    pub fn own_cgroup(&self) -> Option<&crate::cgroups::Cgroup> {
        self.cgroup.as_ref().filter(|_| !self.shared_cgroup)
    }

    pub fn pidns_members(&self) -> Vec<i32> {
        if self.shares_host_pidns || !init_alive(self.pid, self.start_time) {
            return Vec::new();
        }
        crate::namespaces::pids_in_pidns_of(self.pid)
    }

    pub fn oci(&self, status: Status) -> OciState {
        OciState {
            oci_version: OCI_VERSION.to_string(),
            id: self.id.clone(),
            pid: if status == Status::Stopped { 0 } else { self.pid },
            status,
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            annotations: self.annotations.clone(),
            owner: self.owner.clone(),
        }
    }
}

/// Fields of /proc/<pid>/stat that matter: state letter and start time.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    if pid <= 0 {
        return None;
    }
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&s)
}

fn parse_stat(s: &str) -> Option<(char, u64)> {
    // The command name (field 2) may contain spaces and parens: split after
    // the last ')'. Then field 3 is the state and field 22 the start time.
    let rest = &s[s.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// Whether the container's init is still the process we started.
pub fn init_alive(pid: i32, start_time: u64) -> bool {
    match proc_stat(pid) {
        Some((state, start)) => start == start_time && state != 'Z' && state != 'X',
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn stat_with_odd_command_name() {
        let line = "4692 (a) b (c) S 1 4692 4692 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(parse_stat(line), Some(('S', 123456)));
    }

    #[test]
    fn own_process_is_alive_and_pid_reuse_is_not() {
        let me = std::process::id() as i32;
        let (_, start) = proc_stat(me).unwrap();
        assert!(init_alive(me, start));
        assert!(!init_alive(me, start + 1));
        assert!(!init_alive(0, 0));
    }

    #[test]
    fn stopped_state_reports_pid_zero() {
        let s = Stored {
            id: "a".into(),
            pid: 42,
            start_time: 1,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "T".into(),
            annotations: HashMap::new(),
            owner: String::new(),
            creating: false,
            cgroup: None,
            shares_host_pidns: false,
            shared_cgroup: false,
        };
        assert_eq!(s.oci(Status::Stopped).pid, 0);
        let v = serde_json::to_value(s.oci(Status::Running)).unwrap();
        assert_eq!(v["ociVersion"], OCI_VERSION);
        assert_eq!(v["status"], "running");
        assert_eq!(v["pid"], 42);
        assert!(v.get("annotations").is_none());
    }

    /// `state.json` of containers made before `Cgroup` became a
    /// `Hierarchies` enum: one written by berth at 8743ae7 on this
    /// development VM (hybrid), and the same shape for a systemd unit on a
    /// pure v2 host (written by hand after that version's serde derive).
    /// The new berth reads them and writes the cgroup back unchanged, so
    /// the old and the new binary can share a state root.
    #[test]
    fn reads_state_written_before_the_hierarchies_enum() {
        use crate::cgroups::{Hierarchies, Layout};

        let raw = include_str!("testdata/hybrid-8743ae7.json");
        let s: Stored = serde_json::from_str(raw).unwrap();
        let cg = s.cgroup.as_ref().unwrap();
        let Hierarchies::Hybrid { v1, unified } = &cg.hierarchies else { panic!("{cg:?}") };
        assert_eq!(v1.len(), 9);
        assert_eq!(unified.path, PathBuf::from("/sys/fs/cgroup/unified/health-old-state"));
        assert_eq!(
            cg.v1_dir("memory").unwrap(),
            PathBuf::from("/sys/fs/cgroup/memory/process_api/0822683d52c4b61fc687acd7d2c16aa9/health-old-state")
        );
        assert_eq!(cg.dirs().count(), 10);
        assert!(cg.systemd.is_none());
        let old: serde_json::Value = serde_json::from_str(raw).unwrap();
        assert_eq!(serde_json::to_value(cg).unwrap(), old["cgroup"], "written back as it was read");

        let raw = include_str!("testdata/v2-systemd-8743ae7.json");
        let s: Stored = serde_json::from_str(raw).unwrap();
        let cg = s.cgroup.as_ref().unwrap();
        assert_eq!(cg.layout(), Layout::V2);
        assert_eq!(cg.dirs().collect::<Vec<_>>(), [Path::new("/sys/fs/cgroup/system.slice/berth-web.scope")]);
        assert_eq!(cg.freezer_dir(), Some(Path::new("/sys/fs/cgroup/system.slice/berth-web.scope")));
        assert_eq!(cg.systemd.as_ref().unwrap().name, "berth-web.scope");
        let old: serde_json::Value = serde_json::from_str(raw).unwrap();
        assert_eq!(serde_json::to_value(cg).unwrap(), old["cgroup"]);
    }

    /// The records an old state could hold but no host can be: refused
    /// with the reason, or read as what they mean.
    #[test]
    fn impossible_cgroup_records() {
        use crate::cgroups::{Cgroup, Layout};

        let v2_without_unified = r#"{"layout":"v2","v1":[],"unified":null}"#;
        let e = serde_json::from_str::<Cgroup>(v2_without_unified).unwrap_err();
        assert!(e.to_string().contains("no cgroup hierarchy"), "{e}");
        // A hybrid host whose cgroup2 mount the caller was not in works as v1.
        let h = r#"{"controllers":["pids"],"mountpoint":"/p","path":"/p/c","create_from":null}"#;
        let cg: Cgroup = serde_json::from_str(&format!(r#"{{"layout":"hybrid","v1":[{h}],"unified":null}}"#)).unwrap();
        assert_eq!(cg.layout(), Layout::V1);
        assert_eq!(cg.v1_dir("pids"), Some(Path::new("/p/c")));
    }
}
