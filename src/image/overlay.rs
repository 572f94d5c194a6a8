//! The per-container overlay: the image's store layers as read-only lowers,
//! the bundle's own `upper` and `work` directories, mounted on `rootfs`.
//!
//! The mount does not survive a reboot or an unmount, and what is left is
//! the empty mount point, which a runtime would happily take for a rootfs.
//! So the mount point itself is made unusable as one before anything is
//! mounted on it ([`guard_mount_point`]): it holds [`NOT_MOUNTED`], which
//! berth checks for, and regular files named `proc`, `dev` and `sys`, on
//! which no runtime can mount those file systems (runc: "must be mounted on
//! ordinary directory"). Mounted, the overlay hides all of them.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{Error, Result};

/// The mount data can hold one page.
const MAX_DATA: usize = 4095;

/// The overlay mount options. `lowers` are ordered bottom layer first (image
/// order); overlayfs wants the topmost first. Paths with `,` `:` or `\` are
/// refused (they would need escaping and store paths never contain them).
/// `userxattr` (overlay metadata in `user.overlay.*`, required for a mount
/// in a user namespace) is appended when asked.
pub fn plan_options(lowers: &[PathBuf], upper: &Path, work: &Path, userxattr: bool) -> Result<String> {
    let mut all: Vec<&Path> = lowers.iter().map(PathBuf::as_path).collect();
    all.extend([upper, work]);
    for p in &all {
        let s = p.to_string_lossy();
        if s.contains([',', ':', '\\']) {
            return Err(Error::sys("mount overlay with", p.to_path_buf(), nix::errno::Errno::EINVAL));
        }
    }
    let lower: Vec<String> = lowers.iter().rev().map(|p| p.display().to_string()).collect();
    let extra = if userxattr { ",userxattr" } else { "" };
    Ok(format!("lowerdir={},upperdir={},workdir={}{extra}", lower.join(":"), upper.display(), work.display()))
}

/// Mount the overlay on `target`. When the absolute paths do not fit in a
/// page, the lowers are given relative to their common parent (the store's
/// layer directory), which is made the working directory for the call.
pub fn mount_overlay(lowers: &[PathBuf], upper: &Path, work: &Path, target: &Path, userxattr: bool) -> Result<()> {
    let mut data = plan_options(lowers, upper, work, userxattr)?;
    let mut restore = None;
    if data.len() > MAX_DATA {
        let base = lowers.first().and_then(|p| p.parent()).and_then(Path::parent).map(Path::to_path_buf);
        if let Some(base) = base {
            let rel: Vec<PathBuf> = lowers
                .iter()
                .map(|p| p.strip_prefix(&base).map(Path::to_path_buf).unwrap_or_else(|_| p.clone()))
                .collect();
            data = plan_options(&rel, upper, work, userxattr)?;
            restore = Some(std::env::current_dir().map_err(|e| Error::io("get working directory", ".", e))?);
            std::env::set_current_dir(&base).map_err(|e| Error::io("change directory to", &base, e))?;
        }
    }
    let r = mount(Some("overlay"), target, Some("overlay"), MsFlags::empty(), Some(data.as_str()));
    if let Some(dir) = restore {
        let _ = std::env::set_current_dir(dir);
    }
    r.map_err(|e| Error::sys("mount overlay on", target, e))
}

/// The file in an overlay bundle's mount point that says nothing is mounted
/// (berth's bundle loader owns the name: it is what berth refuses).
pub use crate::spec::load::NOT_MOUNTED;

/// Names that runtimes mount file systems on: files here make them fail.
const DECOYS: [&str; 3] = ["proc", "dev", "sys"];

/// Make the (empty, unmounted) mount point `dir` unusable as a rootfs; see
/// the module comment. Idempotent.
pub fn guard_mount_point(dir: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let text = "This is the mount point of an imgtool overlay bundle, with nothing mounted on it\n\
                (after a reboot or an unmount). Mount it again with: imgtool mount BUNDLE\n";
    let note = dir.join(NOT_MOUNTED);
    if !note.exists() {
        std::fs::write(&note, text).map_err(|e| Error::io("write", &note, e))?;
    }
    for name in DECOYS {
        let p = dir.join(name);
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o000).open(&p) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("create", &p, e)),
        }
    }
    Ok(())
}

/// Whether this caller may mount here: always for root; rootless, only as
/// root of a user namespace that owns its mount namespace (overlayfs allows
/// unprivileged mounts there since Linux 5.11). Probed by mounting a tmpfs
/// on `dir` (an empty directory of ours) and unmounting it.
pub fn can_mount(dir: &Path) -> Result<bool> {
    if !super::rootless::is_rootless() {
        return Ok(true);
    }
    match mount(Some("tmpfs"), dir, Some("tmpfs"), MsFlags::empty(), Some("size=4k")) {
        Ok(()) => {
            unmount(dir, false)?;
            Ok(true)
        }
        Err(nix::errno::Errno::EPERM) => Ok(false),
        Err(e) => Err(Error::sys("probe mount on", dir, e)),
    }
}

/// Unmount `target`; `Ok(false)` if nothing was mounted there.
pub fn unmount(target: &Path, lazy: bool) -> Result<bool> {
    let flags = if lazy { MntFlags::MNT_DETACH } else { MntFlags::empty() };
    match umount2(target, flags) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(false),
        Err(e) => Err(Error::sys("unmount", target, e)),
    }
}

/// True if some mount has `path` (canonicalised) as its mount point.
pub fn is_mountpoint(path: &Path) -> Result<bool> {
    let Ok(path) = path.canonicalize() else { return Ok(false) };
    let info =
        std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| Error::io("read", "/proc/self/mountinfo", e))?;
    Ok(crate::mountinfo::parse(&info).iter().any(|e| e.mount_point == path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_put_the_top_layer_first() {
        let l = [PathBuf::from("/s/a/diff"), PathBuf::from("/s/b/diff")];
        let o = plan_options(&l, Path::new("/u"), Path::new("/w"), false).unwrap();
        assert_eq!(o, "lowerdir=/s/b/diff:/s/a/diff,upperdir=/u,workdir=/w");
        let o = plan_options(&l[..1], Path::new("/u"), Path::new("/w"), true).unwrap();
        assert_eq!(o, "lowerdir=/s/a/diff,upperdir=/u,workdir=/w,userxattr");
        assert!(plan_options(&[PathBuf::from("/a,b")], Path::new("/u"), Path::new("/w"), false).is_err());
    }

    #[test]
    fn a_guarded_mount_point_is_no_rootfs() {
        let t = tempfile::tempdir().unwrap();
        guard_mount_point(t.path()).unwrap();
        guard_mount_point(t.path()).unwrap();
        assert!(t.path().join(NOT_MOUNTED).is_file());
        for d in DECOYS {
            assert!(t.path().join(d).is_file(), "{d} is a file, nothing mounts on it");
        }
    }

    #[test]
    fn root_is_a_mountpoint() {
        assert!(is_mountpoint(Path::new("/")).unwrap());
    }
}
