//! Resolving paths inside the container's root without ever leaving it.
//!
//! The rootfs is untrusted: any component may be a symlink (absolute,
//! relative, `..`-laden) or be swapped while we work. Every lookup goes
//! through openat2(2) with RESOLVE_IN_ROOT, so the kernel resolves symlinks
//! as if the rootfs were `/`, and magic links are refused. Mounts then
//! target the resolved descriptor through `/proc/self/fd/N`, so what is
//! mounted on is exactly what was checked.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use crate::error::{Context, Error, Result};

fn how(flags: OFlag) -> OpenHow {
    OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
}

/// `path` relative to the root (leading `/` dropped; `.` and `..` kept for
/// the kernel to clamp at the root).
fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path.components().filter(|c| !matches!(c, Component::RootDir)).collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// The `/proc/self/fd/N` path that stands for an open descriptor.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Open the root itself (an O_PATH directory descriptor).
pub fn open_root(rootfs: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(rootfs, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .ctx(|| format!("open rootfs `{}`", rootfs.display()))
}

/// Open `path` inside the root as an O_PATH descriptor.
pub fn resolve(root: BorrowedFd<'_>, path: &Path) -> nix::Result<OwnedFd> {
    openat2(root, &relative(path), how(OFlag::O_PATH))
}

/// Open with extra flags (e.g. O_DIRECTORY, O_RDONLY for reading).
pub fn resolve_with(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    openat2(root, &relative(path), how(flags))
}

/// `mkdir -p` inside the root; returns the final directory (O_PATH).
/// A dangling symlink on the way is followed (inside the root) and its
/// target created, as runc does for e.g. `/var/run -> /run`.
pub fn mkdir_all(root: BorrowedFd<'_>, path: &Path, mode: u32) -> Result<OwnedFd> {
    let rel = relative(path);
    let dir = how(OFlag::O_PATH | OFlag::O_DIRECTORY);
    // Most destinations exist already: one lookup, resolved exactly as the
    // walk below would resolve it.
    if let Ok(fd) = openat2(root, &rel, dir) {
        return Ok(fd);
    }
    // Most of the others miss their last component only (`/dev/pts` on a
    // fresh /dev): make it in its parent, then look the whole path up
    // again inside the root. Anything else (a deeper miss, a dangling
    // symlink at the name, an error) takes the walk, which says why.
    if let (Some(parent), Some(Component::Normal(name))) = (rel.parent(), rel.components().next_back()) {
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        if let Ok(p) = openat2(root, parent, dir) {
            if nix::sys::stat::mkdirat(p.as_fd(), name, Mode::from_bits_truncate(mode)).is_ok() {
                if let Ok(fd) = openat2(root, &rel, dir) {
                    return Ok(fd);
                }
            }
        }
    }
    mkdir_all_depth(root, &rel, mode, 0)
}

fn mkdir_all_depth(root: BorrowedFd<'_>, rel: &Path, mode: u32, depth: u32) -> Result<OwnedFd> {
    if depth > 40 {
        return Err(Errno::ELOOP).ctx(|| format!("create `{}` in the rootfs", rel.display()));
    }
    let mut cur: OwnedFd = root.try_clone_to_owned().ctx(|| "duplicate the rootfs descriptor".to_string())?;
    let mut prefix = PathBuf::new();
    let comps: Vec<Component> = rel.components().collect();
    for (i, comp) in comps.iter().enumerate() {
        prefix.push(comp);
        match openat2(root, &prefix, how(OFlag::O_PATH | OFlag::O_DIRECTORY)) {
            Ok(fd) => {
                cur = fd;
                continue;
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e).ctx(|| format!("open `{}` in the rootfs", prefix.display())),
        }
        match nix::sys::stat::mkdirat(cur.as_fd(), comp.as_os_str(), Mode::from_bits_truncate(mode)) {
            Ok(()) => {}
            Err(Errno::EEXIST) => {
                // A dangling symlink: create its target instead, then go on.
                let target = nix::fcntl::readlinkat(cur.as_fd(), comp.as_os_str())
                    .ctx(|| format!("read link `{}` in the rootfs", prefix.display()))?;
                let base = prefix.parent().map(Path::to_path_buf).unwrap_or_default();
                let mut next =
                    if Path::new(&target).is_absolute() { relative(Path::new(&target)) } else { base.join(&target) };
                for rest in &comps[i + 1..] {
                    next.push(rest);
                }
                return mkdir_all_depth(root, &next, mode, depth + 1);
            }
            Err(e) => return Err(e).ctx(|| format!("create directory `{}` in the rootfs", prefix.display())),
        }
        cur = openat2(root, &prefix, how(OFlag::O_PATH | OFlag::O_DIRECTORY))
            .ctx(|| format!("open `{}` in the rootfs", prefix.display()))?;
    }
    Ok(cur)
}

/// Make sure a regular file (or anything non-directory that already
/// exists) is at `path` inside the root, creating parents; returns it O_PATH.
pub fn ensure_file(root: BorrowedFd<'_>, path: &Path) -> Result<OwnedFd> {
    if let Ok(fd) = resolve(root, path) {
        return Ok(fd);
    }
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .ok_or_else(|| Error::config("mount destination", format!("`{}` has no file name", path.display())))?;
    let dir = mkdir_all(root, parent, 0o755)?;
    match nix::fcntl::openat(
        dir.as_fd(),
        name,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    ) {
        Ok(_) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e).ctx(|| format!("create `{}` in the rootfs", path.display())),
    }
    resolve(root, path).ctx(|| format!("open `{}` in the rootfs", path.display()))
}

/// Whether an O_PATH descriptor refers to a directory.
pub fn is_dir(fd: BorrowedFd<'_>) -> bool {
    nix::sys::stat::fstat(fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_cannot_leave_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        let outside = t.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        symlink(&outside, root.join("abs")).unwrap();
        symlink("../../../../outside", root.join("rel")).unwrap();
        let r = open_root(&root).unwrap();
        // Creating through an absolute or a `..` symlink stays inside.
        mkdir_all(r.as_fd(), Path::new("/abs/x"), 0o755).unwrap();
        mkdir_all(r.as_fd(), Path::new("/rel/y/z"), 0o755).unwrap();
        assert!(!outside.join("x").exists() && !outside.join("y").exists());
        assert!(root.join(outside.strip_prefix("/").unwrap()).join("x").is_dir());
        let f = ensure_file(r.as_fd(), Path::new("/../../etc/f")).unwrap();
        assert!(!is_dir(f.as_fd()));
        assert!(root.join("etc/f").is_file());
    }

    #[test]
    fn mkdir_all_makes_what_is_missing_and_follows_dangling_links_inside() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("dev")).unwrap();
        symlink("/run", t.path().join("var-run")).unwrap();
        let r = open_root(t.path()).unwrap();
        for p in ["/dev/pts", "/dev/pts", "/a/b/c", "/var-run/x", "/top"] {
            let fd = mkdir_all(r.as_fd(), Path::new(p), 0o755).unwrap();
            assert!(is_dir(fd.as_fd()), "{p}");
        }
        for p in ["dev/pts", "a/b/c", "run/x", "top"] {
            assert!(t.path().join(p).is_dir(), "{p}");
        }
        // A file where a directory is wanted fails, and nothing is made.
        std::fs::write(t.path().join("file"), "").unwrap();
        assert!(mkdir_all(r.as_fd(), Path::new("/file"), 0o755).is_err());
        assert!(mkdir_all(r.as_fd(), Path::new("/file/sub"), 0o755).is_err());
    }

    #[test]
    fn magic_links_are_refused() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("proc")).unwrap();
        symlink("/proc/self/root", t.path().join("escape")).unwrap();
        let r = open_root(t.path()).unwrap();
        // The absolute link is clamped into the root, where /proc/self is absent.
        assert!(resolve(r.as_fd(), Path::new("/escape/etc")).is_err());
    }
}
