//! The state directory: `<root>/<id>/` holding `state.json` (written
//! atomically: temp file + rename), `config.json` (the config as it was at
//! create time), `exec.fifo` and `created.lock` (the start handshake with
//! the init, see `process::sync`) and, once `update` ran, `resources.json`
//! (the resources now in force). The directory itself is the container's
//! lock (`super::lock`).

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::lock::{self, Lock, LockMode};
use super::{init_alive, Status, Stored};
use crate::error::{Context, Error, Result};

pub const DEFAULT_ROOT: &str = "/run/berth";
pub(crate) const STATE_FILE: &str = "state.json";
const CONFIG_FILE: &str = "config.json";
/// The container's resources after the last `update` (absent until then).
const RESOURCES_FILE: &str = "resources.json";
pub const FIFO_NAME: &str = "exec.fifo";
/// The init holds a read lock (an open file description lock) on this file
/// from before it reports ready until `start` opens the exec fifo: the
/// container is `created` exactly while the lock is held.
pub const CREATED_LOCK_NAME: &str = "created.lock";

/// Check a container id: what runc accepts (`[\w+-.]+`, not `.` or `..`),
/// at most 255 bytes (it names a directory and a cgroup).
pub fn validate_id(id: &str) -> Result<()> {
    let bad = |why| Err(Error::BadId { id: id.to_string(), why });
    if id.is_empty() {
        return bad("it is empty");
    }
    if id == "." || id == ".." {
        return bad("`.` and `..` are not allowed");
    }
    if id.len() > 255 {
        return bad("it is longer than 255 bytes");
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.')) {
        return bad("only letters, digits, `_`, `+`, `-` and `.` are allowed");
    }
    Ok(())
}

/// One container's directory under the state root.
pub struct ContainerDir {
    pub id: String,
    pub path: PathBuf,
}

impl ContainerDir {
    pub fn new(root: &Path, id: &str) -> Result<Self> {
        validate_id(id)?;
        Ok(ContainerDir { id: id.to_string(), path: root.join(id) })
    }

    /// Reserve the id and lock it: mkdir is atomic, so of two concurrent
    /// creates with the same id exactly one wins. (A `delete --force`
    /// between the mkdir and the lock removes the empty directory; the
    /// lock then fails with "does not exist".)
    pub fn reserve(&self) -> Result<Lock> {
        if let Some(root) = self.path.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o711)
                .create(root)
                .ctx(|| format!("create state root `{}`", root.display()))?;
        }
        match fs::DirBuilder::new().mode(0o711).create(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(Error::Exists(self.id.clone())),
            Err(e) => return Err(e).ctx(|| format!("create state directory `{}`", self.path.display())),
        }
        self.lock(LockMode::Exclusive)
    }

    /// Take the container's lock, waiting for the verb that holds it.
    pub fn lock(&self, mode: LockMode) -> Result<Lock> {
        lock::lock(&self.path, &self.id, mode)
    }

    /// Take the container's lock, waiting at most `patience`.
    pub fn lock_within(&self, mode: LockMode, patience: std::time::Duration) -> Result<Option<Lock>> {
        lock::lock_within(&self.path, &self.id, mode, patience)
    }

    pub fn exists(&self) -> bool {
        self.path.join(STATE_FILE).exists()
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(FIFO_NAME)
    }

    pub fn created_lock_path(&self) -> PathBuf {
        self.path.join(CREATED_LOCK_NAME)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path.join(CONFIG_FILE)
    }

    /// Write `state.json` atomically.
    pub fn save(&self, s: &Stored) -> Result<()> {
        let data = serde_json::to_vec(s).map_err(|e| Error::Init(format!("encode state: {e}")))?;
        self.write_atomic(STATE_FILE, &data)
    }

    pub fn save_config(&self, raw: &[u8]) -> Result<()> {
        self.write_atomic(CONFIG_FILE, raw)
    }

    /// State describes processes, which a reboot ends: no flush to disk
    /// on replace (`atomic_file::write_volatile`).
    fn write_atomic(&self, name: &str, data: &[u8]) -> Result<()> {
        let dst = self.path.join(name);
        crate::atomic_file::write_volatile(&dst, data, 0o600).ctx(|| format!("write `{}`", dst.display()))
    }

    /// Load `state.json`; a missing directory is "container does not exist".
    pub fn load(&self) -> Result<Stored> {
        let p = self.path.join(STATE_FILE);
        let data = match fs::read(&p) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotExist(self.id.clone())),
            Err(e) => return Err(e).ctx(|| format!("read `{}`", p.display())),
        };
        serde_json::from_slice(&data).map_err(|e| Error::Init(format!("decode `{}`: {e}", p.display())))
    }

    /// The config saved at create time.
    pub fn load_config(&self) -> Result<oci_spec::runtime::Spec> {
        let raw = fs::read(self.config_path()).ctx(|| format!("read `{}`", self.config_path().display()))?;
        crate::spec::load::parse_spec(&raw)
    }

    /// The container's current `linux.resources`: as the last `update` left
    /// them, else as the config gave them at create time.
    pub fn load_resources(&self) -> Result<LinuxResources> {
        let p = self.path.join(RESOURCES_FILE);
        match fs::read(&p) {
            Ok(data) => {
                serde_json::from_slice(&data).map_err(|e| Error::Init(format!("decode `{}`: {e}", p.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let spec = self.load_config()?;
                Ok(spec.linux().as_ref().and_then(|l| l.resources().clone()).unwrap_or_default())
            }
            Err(e) => Err(e).ctx(|| format!("read `{}`", p.display())),
        }
    }

    /// Record the resources `update` applied (atomically).
    pub fn save_resources(&self, r: &LinuxResources) -> Result<()> {
        let data = serde_json::to_vec(r).map_err(|e| Error::Init(format!("encode resources: {e}")))?;
        self.write_atomic(RESOURCES_FILE, &data)
    }

    /// Derive the container's status (see the module docs of `state`).
    pub fn status(&self, s: &Stored) -> Status {
        if s.creating {
            // A create in progress holds the lock from before the init
            // exists; one that was killed leaves an init that may still
            // live. Either way it is not `stopped`, which a plain
            // `delete` would remove.
            if init_alive(s.pid, s.start_time) || lock::held_exclusively(&self.path) {
                return Status::Creating;
            }
            return Status::Stopped;
        }
        if !init_alive(s.pid, s.start_time) {
            return Status::Stopped;
        }
        // Paused wins over created: runc pauses created containers too.
        if let Some(cg) = &s.cgroup {
            if cg.is_frozen().unwrap_or(false) {
                return Status::Paused;
            }
        }
        if self.init_waits_for_start() {
            return Status::Created;
        }
        Status::Running
    }

    /// The init still waits for `start`: it holds its lock on
    /// `created.lock` (state directories made by an older berth have no
    /// such file: there the exec fifo's presence tells, as it used to).
    fn init_waits_for_start(&self) -> bool {
        let p = self.created_lock_path();
        match fs::File::open(&p) {
            Ok(f) => lock::read_locked(&f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.fifo_path().exists(),
            Err(_) => self.fifo_path().exists(),
        }
    }

    /// Remove the whole directory.
    pub fn remove(&self) -> Result<()> {
        match fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).ctx(|| format!("remove state directory `{}`", self.path.display())),
        }
    }
}

/// Ids of every container directory under `root` (sorted): names that
/// are valid ids, of directories, whether or not they hold a readable
/// state.json (`list` warns about those that do not).
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let rd = match fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(e).ctx(|| format!("read state root `{}`", root.display())),
    };
    for e in rd.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
        if validate_id(&name).is_ok() && e.file_type().is_ok_and(|t| t.is_dir()) {
            ids.push(name);
        }
    }
    ids.sort();
    Ok(ids)
}

impl ContainerDir {
    /// A directory without state.json: a create between its mkdir and its
    /// first state write (it holds the lock), or one killed there.
    pub fn is_being_created(&self) -> bool {
        !self.exists() && lock::held_exclusively(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["a", "A-b_c.d+e", "x".repeat(255).as_str()] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "../x", "a b", "x".repeat(256).as_str()] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserve_is_exclusive_and_state_roundtrips() {
        let t = tempfile::tempdir().unwrap();
        let d = ContainerDir::new(&t.path().join("root"), "c1").unwrap();
        let held = d.reserve().unwrap();
        assert!(matches!(d.reserve(), Err(Error::Exists(_))));
        assert!(d.is_being_created());
        drop(held);
        assert!(!d.is_being_created());
        assert!(matches!(d.load(), Err(Error::NotExist(_))));
        let s = Stored {
            id: "c1".into(),
            pid: std::process::id() as i32,
            start_time: super::super::proc_stat(std::process::id() as i32).unwrap().1,
            bundle: "/b".into(),
            rootfs: "/b/r".into(),
            created: "T".into(),
            annotations: Default::default(),
            owner: String::new(),
            creating: false,
            cgroup: None,
            shares_host_pidns: false,
            shared_cgroup: false,
        };
        d.save(&s).unwrap();
        assert_eq!(d.load().unwrap().pid, s.pid);
        assert_eq!(d.status(&s), Status::Running);
        assert_eq!(list_ids(&t.path().join("root")).unwrap(), ["c1"]);
        d.remove().unwrap();
        assert!(!d.path.exists());
    }

    #[test]
    fn status_comes_from_the_processes_and_locks() {
        let t = tempfile::tempdir().unwrap();
        let d = ContainerDir::new(t.path(), "c").unwrap();
        let me = std::process::id() as i32;
        let mut s = Stored {
            id: "c".into(),
            pid: 0,
            start_time: 0,
            bundle: "/b".into(),
            rootfs: "/b/r".into(),
            created: "T".into(),
            annotations: Default::default(),
            owner: String::new(),
            creating: true,
            cgroup: None,
            shares_host_pidns: false,
            shared_cgroup: false,
        };
        // before the clone: creating while its creator holds the lock...
        let held = d.reserve().unwrap();
        assert_eq!(d.status(&s), Status::Creating);
        // ...stopped once that creator is gone and nothing runs
        drop(held);
        assert_eq!(d.status(&s), Status::Stopped);
        // an init alive: creating, whoever holds the lock
        (s.pid, s.start_time) = (me, super::super::proc_stat(me).unwrap().1);
        assert_eq!(d.status(&s), Status::Creating);
        // created exactly while the init holds its lock on created.lock
        s.creating = false;
        std::fs::write(d.created_lock_path(), "").unwrap();
        let marker = std::fs::File::open(d.created_lock_path()).unwrap();
        lock::hold_read(&marker).unwrap();
        assert_eq!(d.status(&s), Status::Created);
        drop(marker);
        assert_eq!(d.status(&s), Status::Running);
    }
}
