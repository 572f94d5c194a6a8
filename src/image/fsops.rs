//! File system operations confined to a root directory. Every lookup goes
//! through `openat2(RESOLVE_IN_ROOT)`, so `..`, absolute symlinks and
//! relative symlinks that climb out all stay inside the root (as they would
//! inside the container); the final component is only ever touched with
//! `*at` calls that do not follow it. Nothing here can reach the host.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, openat2, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstatat, mkdirat, FileStat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

use super::{Error, Result};

/// A path inside the root as its clean components: no `.`, no root, and
/// `..` clamped at the top (so `../../etc` is `etc`).
pub type Comps = Vec<OsString>;

/// Lexically clean `p` into components.
pub fn clean(p: &Path) -> Comps {
    let mut out: Comps = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s.to_os_string()),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Join components with `/` (`.` for the root itself).
pub fn join(comps: &[OsString]) -> OsString {
    if comps.is_empty() {
        return OsString::from(".");
    }
    let mut v = Vec::new();
    for (i, c) in comps.iter().enumerate() {
        if i > 0 {
            v.push(b'/');
        }
        v.extend_from_slice(c.as_bytes());
    }
    OsString::from_vec(v)
}

/// An open root directory that lookups cannot leave.
pub struct Root {
    fd: OwnedFd,
    pub path: PathBuf,
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY.union(OFlag::O_DIRECTORY).union(OFlag::O_CLOEXEC);

impl Root {
    pub fn open(path: &Path) -> Result<Root> {
        let fd = nix::fcntl::open(path, DIR_FLAGS, Mode::empty()).map_err(|e| Error::sys("open root", path, e))?;
        Ok(Root { fd, path: path.to_path_buf() })
    }

    #[cfg(test)]
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// For error messages: the host path a root-relative path stands for.
    pub fn display(&self, comps: &[OsString]) -> PathBuf {
        self.path.join(Path::new(&join(comps)))
    }

    /// Open `comps` inside the root with `flags`, resolving in the root.
    pub fn open_in(&self, comps: &[OsString], flags: OFlag) -> nix::Result<OwnedFd> {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS | ResolveFlag::RESOLVE_NO_XDEV);
        let path = join(comps);
        let mut tries = 0;
        loop {
            match openat2(self.fd.as_fd(), path.as_os_str(), how) {
                // The kernel asks for a retry when a rename raced the walk.
                Err(Errno::EAGAIN) if tries < 16 => tries += 1,
                r => return r,
            }
        }
    }

    /// The directory `comps`, created (mode 0755) where missing if `create`.
    /// `Ok(None)` when it does not exist and `create` is false.
    pub fn dir(&self, comps: &[OsString], create: bool) -> Result<Option<OwnedFd>> {
        match self.open_in(comps, DIR_FLAGS) {
            Ok(fd) => return Ok(Some(fd)),
            Err(Errno::ENOENT) if create => {}
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(Error::sys("open directory", self.display(comps), e)),
        }
        let mut cur = self.open_in(&[], DIR_FLAGS).map_err(|e| Error::sys("open", &self.path, e))?;
        for i in 0..comps.len() {
            let prefix = &comps[..=i];
            cur = match self.open_in(prefix, DIR_FLAGS) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    match mkdirat(cur.as_fd(), comps[i].as_os_str(), Mode::from_bits_truncate(0o755)) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => return Err(Error::sys("create directory", self.display(prefix), e)),
                    }
                    self.open_in(prefix, DIR_FLAGS)
                        .map_err(|e| Error::sys("open directory", self.display(prefix), e))?
                }
                Err(e) => return Err(Error::sys("open directory", self.display(prefix), e)),
            };
        }
        Ok(Some(cur))
    }
}

/// `lstat` of `name` in `dir`; `Ok(None)` if absent.
pub fn lstat_at(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<Option<FileStat>> {
    match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn is_dir(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
}

/// True for an overlayfs whiteout: a character device 0/0.
pub fn is_whiteout(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR && st.st_rdev == 0
}

/// Remove `name` in `dir` and everything below it, never following a
/// symlink (directories are opened `O_NOFOLLOW` and walked by fd).
pub fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<()> {
    let Some(st) = lstat_at(dir, name)? else { return Ok(()) };
    if !is_dir(&st) {
        return match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
            Err(Errno::ENOENT) => Ok(()),
            r => r,
        };
    }
    let sub = openat(dir, name, DIR_FLAGS | OFlag::O_NOFOLLOW, Mode::empty())?;
    let children = list_dir(sub.as_fd())?;
    for child in &children {
        remove_all_at(sub.as_fd(), child)?;
    }
    match unlinkat(dir, name, UnlinkatFlags::RemoveDir) {
        Err(Errno::ENOENT) => Ok(()),
        r => r,
    }
}

/// Remove `path` and everything below it (never following a symlink); a
/// missing path is fine. A directory the caller owns but may not write (an
/// image's 0555 directories, unpacked rootless) is made writable first.
pub fn remove_tree(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            make_writable(path);
            std::fs::remove_dir_all(path).map_err(|e| Error::io("remove", path, e))
        }
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// `u+rwx` on every directory from `path` down, best effort.
fn make_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(md) = std::fs::symlink_metadata(path) else { return };
    if !md.is_dir() {
        return;
    }
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(md.permissions().mode() | 0o700));
    for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
        make_writable(&e.path());
    }
}

/// The names in directory `dir` (without `.` and `..`).
pub fn list_dir(dir: BorrowedFd<'_>) -> nix::Result<Vec<OsString>> {
    let fd = openat(dir, ".", DIR_FLAGS, Mode::empty())?;
    let mut d = Dir::from_fd(fd)?;
    let mut out = Vec::new();
    for e in d.iter() {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            out.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    Ok(out)
}

/// Open child directory `name` of `dir` without following symlinks.
pub fn open_child_dir(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<OwnedFd> {
    openat(dir, name, DIR_FLAGS | OFlag::O_NOFOLLOW, Mode::empty())
}

/// Read a small file inside the root (e.g. `/etc/passwd`); `Ok(None)` if absent.
pub fn read_in_root(root: &Path, rel: &str) -> Result<Option<String>> {
    let r = Root::open(root)?;
    let comps = clean(Path::new(rel));
    match r.open_in(&comps, OFlag::O_RDONLY) {
        Ok(fd) => {
            let mut s = String::new();
            let mut f = std::fs::File::from(fd);
            std::io::Read::read_to_string(&mut std::io::Read::take(&mut f, 16 << 20), &mut s)
                .map_err(|e| Error::io("read", r.display(&comps), e))?;
            Ok(Some(s))
        }
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(Error::sys("open", r.display(&comps), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn clean_clamps_parent_dirs() {
        assert_eq!(join(&clean(Path::new("/../a/./b/../../../c"))), "c");
        assert_eq!(join(&clean(Path::new("./"))), ".");
    }

    #[test]
    fn dir_creation_stays_inside_through_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        symlink("/", root.join("abs")).unwrap();
        symlink("../../..", root.join("rel")).unwrap();
        let r = Root::open(&root).unwrap();
        r.dir(&clean(Path::new("abs/x")), true).unwrap();
        r.dir(&clean(Path::new("rel/outside/y")), true).unwrap();
        assert!(root.join("x").is_dir());
        assert!(root.join("outside/y").is_dir());
        assert!(!outside.join("y").exists());
    }

    #[test]
    fn remove_all_does_not_follow_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let keep = t.path().join("keep");
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(keep.join("f"), "x").unwrap();
        let d = t.path().join("d");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        symlink(&keep, d.join("sub/link")).unwrap();
        let parent = Root::open(t.path()).unwrap();
        remove_all_at(parent.fd(), OsStr::new("d")).unwrap();
        assert!(!d.exists());
        assert!(keep.join("f").exists());
    }
}
