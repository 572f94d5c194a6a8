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
//!   threadgroup lock (Linux 6.2 and later skip it; older kernels take it
//!   as before, so this is never slower). berth opens the `tasks` files
//!   before the clone, the child inherits them and writes. The kernel
//!   checks the permission against the opener (berth), as it would for
//!   berth's own write, whatever namespaces the child is in by then.
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
