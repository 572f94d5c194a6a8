//! The file operations behind a cgroup: reading and writing control files
//! with errors that name the file, opening a cgroup directory, listing pids
//! and removing a cgroup tree (rmdir only; cgroupfs has no files to unlink).

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Error, Result};

pub(crate) fn read(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_owned(), source })
}

/// Read a single-number file; `max` reads as `u64::MAX`.
pub(crate) fn read_u64(path: &Path) -> Result<u64> {
    let s = read(path)?;
    let s = s.trim();
    if s == "max" {
        return Ok(u64::MAX);
    }
    s.parse().map_err(|_| Error::Parse { path: path.to_owned(), reason: format!("`{s}` is not a number") })
}

pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|source| Error::Write {
        path: path.to_owned(),
        value: value.to_owned(),
        source,
    })
}

pub(crate) fn open_path(path: &Path) -> Result<OwnedFd> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|source| Error::Open { path: path.to_owned(), source })
}

pub(crate) fn parse_pids(path: &Path, text: &str) -> Result<Vec<i32>> {
    text.split_whitespace()
        .map(|p| p.parse().map_err(|_| Error::Parse { path: path.to_owned(), reason: format!("`{p}` is not a pid") }))
        .collect()
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Read { path: dir.to_owned(), source }),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|source| Error::Read { path: dir.to_owned(), source })?;
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Pids in `dir/cgroup.procs` and every sub-cgroup's.
pub(crate) fn pids_recursive(dir: &Path) -> Result<Vec<i32>> {
    let procs = dir.join("cgroup.procs");
    let mut pids = match std::fs::read_to_string(&procs) {
        Ok(t) => parse_pids(&procs, &t)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Read { path: procs, source }),
    };
    for sub in subdirs(dir)? {
        pids.extend(pids_recursive(&sub)?);
    }
    Ok(pids)
}

/// rmdir `dir` and its sub-cgroups, deepest first. EBUSY (the last task is
/// still being reaped) is retried for about a second.
pub(crate) fn remove_tree(dir: &Path) -> Result<()> {
    // A container's cgroup seldom has sub-cgroups: the rmdir is tried
    // first, and the directory only read when it is refused (a cgroup
    // with children is EBUSY, a plain directory ENOTEMPTY).
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    for sub in subdirs(dir)? {
        remove_tree(&sub)?;
    }
    let mut delay = Duration::from_millis(5);
    for attempt in 0.. {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 10 => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(200));
            }
            Err(source) => return Err(Error::Rmdir { path: dir.to_owned(), source }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_and_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let sub = tmp.path().join("c/d");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(tmp.path().join("cgroup.procs"), "1\n2\n").unwrap();
        std::fs::write(sub.join("cgroup.procs"), "3\n").unwrap();
        let mut p = pids_recursive(tmp.path()).unwrap();
        p.sort();
        assert_eq!(p, vec![1, 2]); // `c` has no cgroup.procs: not a cgroup
        std::fs::write(tmp.path().join("c/cgroup.procs"), "").unwrap();
        let mut p = pids_recursive(tmp.path()).unwrap();
        p.sort();
        assert_eq!(p, vec![1, 2, 3]);
        assert_eq!(read_u64(&sub.join("cgroup.procs")).unwrap(), 3);
        // remove_tree on a plain fs fails (files inside), but a missing dir is fine
        assert!(remove_tree(&tmp.path().join("nope")).is_ok());
    }
}
