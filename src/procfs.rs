//! A procfs handle that a container cannot fake.
//!
//! berth writes security-relevant files under /proc from inside the
//! container's namespaces: sysctls, `oom_score_adj`, the LSM `attr/exec`
//! files, and reads `setgroups`. Reached by path, each of those can be
//! redirected: a rootfs whose `/proc` is a symlink, a bind mount of some
//! other file over `/proc/sys/...` in the config, or a tmpfs where proc
//! should be (runc CVE-2019-16884, CVE-2023-28642, CVE-2025-52881). So all
//! of them go through one [`Proc`] handle:
//!
//! 1. a fresh, detached procfs instance (fsopen/fsmount): no mount in any
//!    namespace covers its files; else
//! 2. a non-recursive clone of the `/proc` mount (open_tree): the proc
//!    mount alone, without what is mounted over its files; else
//! 3. `/proc` itself, as a last resort;
//!
//! each checked to be procfs (fstatfs: PROC_SUPER_MAGIC) before use, and
//! every file opened below it with openat2 refusing symlinks, magic links
//! and mount crossings, then checked to be on procfs again.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use crate::error::{Context, Error, Result};
use crate::sys::fs as sfs;

/// `PROC_SUPER_MAGIC` from linux/magic.h.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// An open, verified procfs root.
pub struct Proc(OwnedFd);

impl Proc {
    /// Open a procfs instance for the caller's pid namespace (see the
    /// module docs for the order of attempts). Fails if none of them is
    /// really procfs.
    pub fn open() -> Result<Proc> {
        let candidates = [
            sfs::fsmount_proc(),
            sfs::open_tree_clone(Path::new("/proc"), false),
            nix::fcntl::open("/proc", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(std::io::Error::from),
        ];
        let mut last = None;
        for c in candidates {
            match c {
                Ok(fd) if is_proc(fd.as_fd()) => return Ok(Proc(fd)),
                Ok(_) => last = Some(std::io::Error::from_raw_os_error(libc::EXDEV)),
                Err(e) => last = Some(e),
            }
        }
        Err(Error::Io {
            what: "open a procfs handle (fsopen, open_tree and /proc all failed or were not procfs)".into(),
            source: last.unwrap_or_else(|| std::io::Error::from_raw_os_error(libc::ENOENT)),
        })
    }

    /// The root descriptor (for tests and for reading directories).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }

    /// Open `rel` (e.g. `sys/net/ipv4/ip_forward`, `1/oom_score_adj`)
    /// below the handle: no symlink, no magic link, no mount crossing on
    /// the way, and the file itself must be on procfs.
    pub fn open_file(&self, rel: &str, flags: OFlag) -> Result<OwnedFd> {
        let how = OpenHow::new().flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOCTTY).resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS
                | ResolveFlag::RESOLVE_NO_XDEV,
        );
        let fd = openat2(self.0.as_fd(), rel, how).ctx(|| format!("open `/proc/{rel}`"))?;
        if !is_proc(fd.as_fd()) {
            return Err(Error::Io {
                what: format!("open `/proc/{rel}`: not on procfs"),
                source: std::io::Error::from_raw_os_error(libc::EXDEV),
            });
        }
        Ok(fd)
    }

    /// Write `value` to `rel` in one write(2), as sysctl(8) does.
    pub fn write(&self, rel: &str, value: &str) -> Result<()> {
        let fd = self.open_file(rel, OFlag::O_WRONLY)?;
        std::fs::File::from(fd).write_all(value.as_bytes()).ctx(|| format!("write `/proc/{rel}`"))
    }

    /// Read `rel` whole.
    pub fn read(&self, rel: &str) -> Result<String> {
        let fd = self.open_file(rel, OFlag::O_RDONLY)?;
        let mut s = String::new();
        std::fs::File::from(fd).read_to_string(&mut s).ctx(|| format!("read `/proc/{rel}`"))?;
        Ok(s)
    }

    /// `/proc/<pid>` of the calling process, spelled with its pid (the
    /// `self` and `thread-self` links are symlinks, which [`Self::open_file`]
    /// refuses to follow).
    pub fn self_dir() -> String {
        std::process::id().to_string()
    }

    /// `/proc/<pid>/task/<tid>` of the calling thread.
    pub fn thread_dir() -> String {
        format!("{}/task/{}", std::process::id(), nix::unistd::gettid())
    }
}

fn is_proc(fd: BorrowedFd<'_>) -> bool {
    sfs::fs_magic(fd).is_ok_and(|m| m == PROC_SUPER_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_status_and_refuses_symlinks() {
        let p = Proc::open().unwrap();
        let status = p.read(&format!("{}/status", Proc::self_dir())).unwrap();
        assert!(status.contains(&format!("Pid:\t{}", std::process::id())), "{status}");
        assert!(p.read(&format!("{}/comm", Proc::thread_dir())).is_ok());
        // `self` is a symlink: refused, whatever it points to.
        assert!(p.read("self/status").is_err());
        assert!(p.read("../etc/passwd").is_err());
    }
}
