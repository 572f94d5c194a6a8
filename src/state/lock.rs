//! The per-container lock: flock(2) on the container's state directory.
//!
//! Verbs that move a container through the runtime-spec's state machine
//! (create, start, pause, resume, update, delete) hold it exclusively for
//! as long as the step takes; `exec` holds it shared while it sets its
//! process up (so execs run side by side, but never while the container is
//! being started, paused or deleted). `kill`, `state`, `list`, `ps` and
//! `events` never take it: `kill` must work while another verb hangs. A
//! foreground `run` holds it for create and start only, not while the
//! container runs.
//!
//! Why the directory: it exists exactly as long as the container, so a
//! verb that waited while `delete` removed the container finds, once it has
//! the lock, that its descriptor no longer names the path (same device and
//! inode) and reports the container as gone instead of acting on a stranger
//! that took the id meanwhile. A lock is released when its holder unlocks
//! or dies; a clone of berth that still holds a copy of the descriptor
//! (the container init) does not keep it, because the holder's unlock
//! (`LOCK_UN`, also done on drop) releases the open file description.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;

use crate::error::{Context, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Several holders at once (`exec`).
    Shared,
    /// One holder (every verb that changes the container's status).
    Exclusive,
}

impl LockMode {
    fn arg(self, wait: bool) -> FlockArg {
        match (self, wait) {
            (LockMode::Shared, true) => FlockArg::LockShared,
            (LockMode::Shared, false) => FlockArg::LockSharedNonblock,
            (LockMode::Exclusive, true) => FlockArg::LockExclusive,
            (LockMode::Exclusive, false) => FlockArg::LockExclusiveNonblock,
        }
    }
}

/// A held lock on one container's directory; released on drop.
#[derive(Debug)]
pub struct Lock {
    flock: Flock<OwnedFd>,
    path: PathBuf,
}

/// What one attempt to take the lock found.
enum Attempt {
    Held(Lock),
    Busy,
}

fn open_dir(path: &Path, id: &str) -> Result<OwnedFd> {
    match nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(Errno::ENOENT) => Err(Error::NotExist(id.to_string())),
        Err(e) => Err(e).ctx(|| format!("open state directory `{}`", path.display())),
    }
}

fn attempt(path: &Path, id: &str, mode: LockMode, wait: bool) -> Result<Attempt> {
    let mut fd = open_dir(path, id)?;
    loop {
        match Flock::lock(fd, mode.arg(wait)) {
            Ok(flock) => {
                let lock = Lock { flock, path: path.to_path_buf() };
                // The directory may have been removed (and the id taken
                // again) while we waited: then this lock guards nothing.
                return if lock.names_path() { Ok(Attempt::Held(lock)) } else { Err(Error::NotExist(id.to_string())) };
            }
            Err((back, Errno::EINTR)) => fd = back,
            Err((_, Errno::EWOULDBLOCK)) => return Ok(Attempt::Busy),
            Err((_, e)) => return Err(e).ctx(|| format!("lock container `{id}`")),
        }
    }
}

/// Take the lock of the container directory `path`, waiting for it.
pub fn lock(path: &Path, id: &str, mode: LockMode) -> Result<Lock> {
    match attempt(path, id, mode, true)? {
        Attempt::Held(l) => Ok(l),
        // A blocking flock does not report EWOULDBLOCK.
        Attempt::Busy => Err(Error::Status(format!("container `{id}` is locked"))),
    }
}

/// Take the lock, waiting at most `patience`; `None` if someone else
/// still holds it then.
pub fn lock_within(path: &Path, id: &str, mode: LockMode, patience: Duration) -> Result<Option<Lock>> {
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Attempt::Held(l) = attempt(path, id, mode, false)? {
            return Ok(Some(l));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Whether some berth process holds the lock of `path` exclusively right
/// now (a create in progress). Takes and drops a shared lock to find out.
pub fn held_exclusively(path: &Path) -> bool {
    let Ok(fd) = open_dir(path, "") else { return false };
    matches!(Flock::lock(fd, FlockArg::LockSharedNonblock), Err((_, Errno::EWOULDBLOCK)))
}

/// The whole-file record lock `l_type` for fcntl's OFD commands.
fn whole_file(l_type: libc::c_short) -> libc::flock {
    libc::flock { l_type, l_whence: libc::SEEK_SET as libc::c_short, l_start: 0, l_len: 0, l_pid: 0 }
}

/// Put a read lock on all of `file`, owned by its open file description:
/// it lasts until every copy of the descriptor is closed (at the latest,
/// the close-on-exec of the holder's execve). The init marks `created`
/// with it. Record locks are apart from the flock(2) locks above.
pub fn hold_read<F: AsFd>(file: F) -> Result<()> {
    nix::fcntl::fcntl(file, nix::fcntl::FcntlArg::F_OFD_SETLKW(&whole_file(libc::F_RDLCK as libc::c_short)))
        .map(drop)
        .ctx(|| "lock the created marker".to_string())
}

/// Whether some process holds a record lock on `file` (see [`hold_read`]).
/// Only asks (F_OFD_GETLK): it takes nothing, so any number of callers
/// may ask at once.
pub fn read_locked<F: AsFd>(file: F) -> bool {
    let mut probe = whole_file(libc::F_WRLCK as libc::c_short);
    match nix::fcntl::fcntl(file, nix::fcntl::FcntlArg::F_OFD_GETLK(&mut probe)) {
        Ok(_) => probe.l_type != libc::F_UNLCK as libc::c_short,
        Err(_) => false,
    }
}

impl Lock {
    /// The locked descriptor still names the container's path: nobody
    /// removed the directory since.
    pub fn names_path(&self) -> bool {
        let (Ok(ours), Ok(now)) = (nix::sys::stat::fstat(self.flock.as_fd()), std::fs::symlink_metadata(&self.path))
        else {
            return false;
        };
        ours.st_dev == now.dev() && ours.st_ino == now.ino()
    }

    /// In a process cloned while the lock was held (the container init):
    /// close this copy, so that the lock dies with the parent and never
    /// waits for the child. The child must leave with `_exit`.
    pub fn close_in_child(&self) {
        crate::sys::process::close_in_child(self.flock.as_fd());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_and_shared_shares() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("c");
        std::fs::create_dir(&p).unwrap();
        let a = lock(&p, "c", LockMode::Exclusive).unwrap();
        assert!(held_exclusively(&p));
        assert!(lock_within(&p, "c", LockMode::Shared, Duration::ZERO).unwrap().is_none());
        drop(a);
        assert!(!held_exclusively(&p));
        let s1 = lock(&p, "c", LockMode::Shared).unwrap();
        let s2 = lock_within(&p, "c", LockMode::Shared, Duration::ZERO).unwrap();
        assert!(s2.is_some());
        assert!(!held_exclusively(&p));
        assert!(lock_within(&p, "c", LockMode::Exclusive, Duration::from_millis(5)).unwrap().is_none());
        drop((s1, s2));
    }

    #[test]
    fn a_removed_directory_is_gone_for_the_next_holder() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("c");
        std::fs::create_dir(&p).unwrap();
        let a = lock(&p, "c", LockMode::Exclusive).unwrap();
        std::fs::remove_dir(&p).unwrap();
        assert!(!a.names_path());
        // taken again by a new container of the same id
        std::fs::create_dir(&p).unwrap();
        assert!(!a.names_path());
        assert!(matches!(lock(&t.path().join("nope"), "nope", LockMode::Shared), Err(Error::NotExist(_))));
    }

    #[test]
    fn record_lock_is_seen_until_its_holder_closes() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("created.lock");
        std::fs::write(&p, "").unwrap();
        let holder = std::fs::File::open(&p).unwrap();
        let asker = std::fs::File::open(&p).unwrap();
        assert!(!read_locked(&asker));
        hold_read(&holder).unwrap();
        assert!(read_locked(&asker));
        assert!(read_locked(std::fs::File::open(&p).unwrap()));
        drop(holder);
        assert!(!read_locked(&asker));
    }
}
