//! The steps after the mounts: pivot_root (or move + chroot with
//! `--no-pivot`), then — with `/` now the container's root, so no path can
//! reach the host — masked and read-only paths, a read-only root, and the
//! requested root propagation.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;

use super::mounts::locked_flags;
use super::paths::fd_path;
use crate::error::{Context, Result};

const NONE: Option<&str> = None;

/// Make the rootfs the process' `/`.
pub fn pivot(root: BorrowedFd<'_>, rootfs: &Path, no_pivot: bool) -> Result<()> {
    if no_pivot {
        nix::unistd::chdir(rootfs).ctx(|| format!("chdir to `{}`", rootfs.display()))?;
        mount(Some("."), "/", NONE, MsFlags::MS_MOVE, NONE).ctx(|| "move the rootfs onto `/`".to_string())?;
        nix::unistd::chroot(".").ctx(|| "chroot".to_string())?;
        return nix::unistd::chdir("/").ctx(|| "chdir to `/`".to_string());
    }
    // pivot_root(".", ".") stacks the old root on top of the new one, so no
    // directory in the container is needed for it; it is then detached.
    nix::unistd::fchdir(root).ctx(|| "enter the rootfs".to_string())?;
    nix::unistd::pivot_root(".", ".").ctx(|| format!("pivot_root into `{}`", rootfs.display()))?;
    // Make the old root a slave so its unmount doesn't propagate to the host.
    mount(NONE, ".", NONE, MsFlags::MS_SLAVE | MsFlags::MS_REC, NONE)
        .ctx(|| "make the old root a slave".to_string())?;
    umount2(".", MntFlags::MNT_DETACH).ctx(|| "detach the old root".to_string())?;
    nix::unistd::chdir("/").ctx(|| "chdir to `/`".to_string())
}

/// Open a container path without following a final symlink; `None` if it
/// does not exist (masking or protecting a missing path is a no-op).
fn open_nofollow(path: &Path) -> Result<Option<std::os::fd::OwnedFd>> {
    match open(path, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e).ctx(|| format!("open `{}`", path.display())),
    }
}

/// Hide a path: /dev/null over files, an empty read-only tmpfs over dirs.
pub fn mask_path(path: &Path) -> Result<()> {
    let Some(fd) = open_nofollow(path)? else { return Ok(()) };
    let st = nix::sys::stat::fstat(fd.as_fd()).ctx(|| format!("stat `{}`", path.display()))?;
    let target = fd_path(fd.as_fd());
    let r = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => mount(Some("tmpfs"), &target, Some("tmpfs"), MsFlags::MS_RDONLY, NONE),
        libc::S_IFLNK => return Ok(()),
        _ => mount(Some("/dev/null"), &target, NONE, MsFlags::MS_BIND, NONE),
    };
    r.ctx(|| format!("mask `{}`", path.display()))
}

/// Bind a path onto itself and make it read-only.
pub fn readonly_path(path: &Path) -> Result<()> {
    let Some(fd) = open_nofollow(path)? else { return Ok(()) };
    mount(Some(&fd_path(fd.as_fd())), &fd_path(fd.as_fd()), NONE, MsFlags::MS_BIND | MsFlags::MS_REC, NONE)
        .ctx(|| format!("bind `{}` onto itself", path.display()))?;
    remount_readonly(path)
}

/// Remount the mount at `path` read-only, keeping its other flags.
pub fn remount_readonly(path: &Path) -> Result<()> {
    let fd =
        open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).ctx(|| format!("open `{}`", path.display()))?;
    let flags =
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_REC | locked_flags(fd.as_fd());
    mount(NONE, &fd_path(fd.as_fd()), NONE, flags, NONE).ctx(|| format!("remount `{}` read-only", path.display()))
}

/// Apply `linux.rootfsPropagation` to the container's `/`.
pub fn set_root_propagation(flags: MsFlags) -> Result<()> {
    mount(NONE, "/", NONE, flags, NONE).ctx(|| "set the propagation of the container's `/`".to_string())
}
