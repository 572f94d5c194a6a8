//! How a new container process (create's init, an exec'd process) gets
//! into the container's cgroup without a global lock.
//!
//! Writing another process' pid to `cgroup.procs` takes the kernel's
//! `cgroup_threadgroup_rwsem` for writing, which first waits for an RCU
//! grace period: several milliseconds on a busy host (measured here: 7-14
//! ms, about half of a whole `run`), during which every fork and exit on
//! the machine waits too. Two ways in skip it:
//!
//! - cgroup v2: clone3's `CLONE_INTO_CGROUP` makes the child in the
//!   cgroup (pure v2 hosts, and the cgroup2 mount of hybrid ones);
//! - cgroup v1: a single-threaded process moves itself by writing `0` to a
//!   hierarchy's `tasks` file; migrating only the calling thread needs no
//!   threadgroup lock (`cgroup_procs_write_start` skips it for pid 0 in
//!   recent kernels, this host's 6.18 among them: `exec` took 0.22x the
//!   time of berth writing the pid, in `make bench`; a kernel without it
//!   takes the lock as before, so this is never slower). berth opens the
//!   `tasks` files before the clone, the child inherits them and writes.
//!   The kernel checks the permission against the opener (berth), as it
//!   would for berth's own write, whatever namespaces the child is in by
//!   then.
//!
//! Whatever neither way covers (clone3 refused, e.g. by Docker's seccomp
//! profile; a rootless systemd unit, which only systemd may fill) is left
//! to berth, by pid, before the child runs anything ([`Cgroup::add_rest`]).

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::{fsops, Cgroup, Error, Result};

/// A new process' ways into the cgroup, opened by berth before the clone.
#[derive(Debug, Default)]
pub struct Entry {
    /// The cgroup2 directory, for clone3's `CLONE_INTO_CGROUP`.
    pub into: Option<OwnedFd>,
    /// Each v1 hierarchy's `tasks` file (path and descriptor), open for
    /// writing: the child writes `0` to every one ([`enter_self`]).
    pub tasks: Vec<(PathBuf, OwnedFd)>,
}

impl Cgroup {
    /// Open the ways in for a new process (see the module docs). A rootless
    /// systemd unit gets none: berth asks systemd to move the process.
    pub fn entry(&self) -> Result<Entry> {
        if self.user_unit().is_some() {
            return Ok(Entry::default());
        }
        let into = match self.hierarchies.unified() {
            Some(h) => Some(fsops::open_path(&h.path)?),
            None => None,
        };
        let v1 = self.hierarchies.v1();
        let mut tasks = Vec::with_capacity(v1.len());
        for h in v1 {
            let path = h.path.join("tasks");
            let f = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path)
                .map_err(|source| Error::Open { path: path.clone(), source })?;
            tasks.push((path, OwnedFd::from(f)));
        }
        Ok(Entry { into, tasks })
    }

    /// After the clone, in berth: move the new process `pid` where neither
    /// the kernel (`in_cgroup`: clone3 put it in [`Entry::into`]) nor the
    /// process itself (the v1 `tasks` files) does. Whether there is
    /// anything to do is [`Cgroup::rest_needed`].
    pub fn add_rest(&self, pid: i32, in_cgroup: bool) -> Result<()> {
        if self.user_unit().is_some() {
            return self.add_pid(pid);
        }
        match self.hierarchies.unified() {
            Some(h) if !in_cgroup => fsops::write(&h.path.join("cgroup.procs"), &pid.to_string()),
            _ => Ok(()),
        }
    }

    /// Whether [`Cgroup::add_rest`] has anything to do.
    pub fn rest_needed(&self, in_cgroup: bool) -> bool {
        self.user_unit().is_some() || (self.hierarchies.unified().is_some() && !in_cgroup)
    }
}

/// In the new process, before it runs anything else: move itself into
/// every v1 hierarchy of the container's cgroup. It must be
/// single-threaded (a forked child is), or only this thread would move.
pub fn enter_self(tasks: &[(PathBuf, OwnedFd)]) -> Result<()> {
    for (path, fd) in tasks {
        nix::unistd::write(fd.as_fd(), b"0").map_err(|e| Error::Write {
            path: path.clone(),
            value: "0".into(),
            source: e.into(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{hybrid_host, v1_host};
    use super::*;

    fn with_tasks(cg: &Cgroup) {
        for h in cg.hierarchies.v1() {
            std::fs::write(h.path.join("tasks"), "").unwrap();
        }
    }

    #[test]
    fn the_child_writes_itself_into_every_v1_hierarchy() {
        let (_tmp, cg) = v1_host(&[]);
        with_tasks(&cg);
        let entry = cg.entry().unwrap();
        assert!(entry.into.is_none());
        assert_eq!(entry.tasks.len(), cg.hierarchies.v1().len());
        enter_self(&entry.tasks).unwrap();
        for h in cg.hierarchies.v1() {
            assert_eq!(std::fs::read_to_string(h.path.join("tasks")).unwrap(), "0", "{}", h.path.display());
        }
    }

    #[test]
    fn a_hierarchy_that_cannot_be_opened_is_an_error_before_the_clone() {
        let (_tmp, cg) = v1_host(&[]);
        with_tasks(&cg);
        let gone = cg.hierarchies.v1()[3].path.join("tasks");
        std::fs::remove_file(&gone).unwrap();
        let e = cg.entry().unwrap_err();
        assert!(matches!(&e, Error::Open { path, .. } if *path == gone), "{e:?}");
    }

    #[test]
    fn a_refused_write_is_an_error_naming_the_file() {
        // /dev/full refuses every write with ENOSPC, as a cpuset without
        // CPUs refuses a task.
        let path = PathBuf::from("/dev/full");
        let fd = OwnedFd::from(std::fs::OpenOptions::new().write(true).open(&path).unwrap());
        let e = enter_self(&[(path.clone(), fd)]).unwrap_err();
        assert!(matches!(&e, Error::Write { path: p, .. } if *p == path), "{e:?}");
    }

    #[test]
    fn berth_moves_the_process_only_where_clone3_did_not() {
        let (_tmp, v1) = v1_host(&[]);
        assert!(!v1.rest_needed(false), "v1 alone: the child moves itself");
        let (_tmp, hybrid) = hybrid_host(&[], &[]);
        with_tasks(&hybrid);
        assert!(hybrid.entry().unwrap().into.is_some(), "the cgroup2 directory for CLONE_INTO_CGROUP");
        assert!(!hybrid.rest_needed(true));
        assert!(hybrid.rest_needed(false), "clone3 refused: berth writes cgroup.procs");
    }
}
