//! The per-container overlay: the image's store layers as read-only lowers,
//! the bundle's own `upper` and `work` directories, mounted on `rootfs`.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{Error, Result};

/// The mount data can hold one page.
const MAX_DATA: usize = 4095;

/// The overlay mount options. `lowers` are ordered bottom layer first (image
/// order); overlayfs wants the topmost first. Paths with `,` `:` or `\` are
/// refused (they would need escaping and store paths never contain them).
pub fn plan_options(lowers: &[PathBuf], upper: &Path, work: &Path) -> Result<String> {
    let mut all: Vec<&Path> = lowers.iter().map(PathBuf::as_path).collect();
    all.extend([upper, work]);
    for p in &all {
        let s = p.to_string_lossy();
        if s.contains([',', ':', '\\']) {
            return Err(Error::sys("mount overlay with", p.to_path_buf(), nix::errno::Errno::EINVAL));
        }
    }
    let lower: Vec<String> = lowers.iter().rev().map(|p| p.display().to_string()).collect();
    Ok(format!("lowerdir={},upperdir={},workdir={}", lower.join(":"), upper.display(), work.display()))
}

/// Mount the overlay on `target`. When the absolute paths do not fit in a
/// page, the lowers are given relative to their common parent (the store's
/// layer directory), which is made the working directory for the call.
pub fn mount_overlay(lowers: &[PathBuf], upper: &Path, work: &Path, target: &Path) -> Result<()> {
    let mut data = plan_options(lowers, upper, work)?;
    let mut restore = None;
    if data.len() > MAX_DATA {
        let base = lowers.first().and_then(|p| p.parent()).and_then(Path::parent).map(Path::to_path_buf);
        if let Some(base) = base {
            let rel: Vec<PathBuf> = lowers
                .iter()
                .map(|p| p.strip_prefix(&base).map(Path::to_path_buf).unwrap_or_else(|_| p.clone()))
                .collect();
            data = plan_options(&rel, upper, work)?;
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
        let o = plan_options(&l, Path::new("/u"), Path::new("/w")).unwrap();
        assert_eq!(o, "lowerdir=/s/b/diff:/s/a/diff,upperdir=/u,workdir=/w");
        assert!(plan_options(&[PathBuf::from("/a,b")], Path::new("/u"), Path::new("/w")).is_err());
    }

    #[test]
    fn root_is_a_mountpoint() {
        assert!(is_mountpoint(Path::new("/")).unwrap());
    }
}
