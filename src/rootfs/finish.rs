//! The steps after the mounts: pivot_root (or move + chroot with
//! `--no-pivot`), then — with `/` now the container's root, so no path can
//! reach the host — masked and read-only paths, a read-only root, and the
//! requested root propagation.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;

use super::mounts::locked_flags;
use super::paths::fd_path;
use crate::error::{Context, Error, Result};

const NONE: Option<&str> = None;

/// Make the rootfs the process' `/`. With pivot_root, the old root is
/// left stacked on top of the new one: [`detach_old_root`] must follow.
pub fn pivot(root: BorrowedFd<'_>, rootfs: &Path, no_pivot: bool) -> Result<()> {
    if no_pivot {
        nix::unistd::chdir(rootfs).ctx(|| format!("chdir to `{}`", rootfs.display()))?;
        mount(Some("."), "/", NONE, MsFlags::MS_MOVE, NONE).ctx(|| "move the rootfs onto `/`".to_string())?;
        nix::unistd::chroot(".").ctx(|| "chroot".to_string())?;
        return nix::unistd::chdir("/").ctx(|| "chdir to `/`".to_string());
    }
    // pivot_root(".", ".") stacks the old root on top of the new one, so no
    // directory in the container is needed for it.
    nix::unistd::fchdir(root).ctx(|| "enter the rootfs".to_string())?;
    nix::unistd::pivot_root(".", ".").ctx(|| format!("pivot_root into `{}`", rootfs.display()))
}

/// Detach the old root that [`pivot`] left on top of the new one (the
/// working directory), then enter the new `/`.
pub fn detach_old_root() -> Result<()> {
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

/// The container's `/dev/null`, checked to be the null device (char 1:3):
/// masked files are covered with it, so a rootfs that brings its own
/// `/dev` with a "null" of its choosing cannot unmask them.
pub fn open_dev_null() -> Result<OwnedFd> {
    let fd = open("/dev/null", OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NOCTTY, Mode::empty())
        .ctx(|| "open `/dev/null` in the container".to_string())?;
    let st = nix::sys::stat::fstat(fd.as_fd()).ctx(|| "stat `/dev/null`".to_string())?;
    let is_null = st.st_mode & libc::S_IFMT == libc::S_IFCHR
        && nix::sys::stat::major(st.st_rdev) == 1
        && nix::sys::stat::minor(st.st_rdev) == 3;
    if !is_null {
        return Err(Error::Init(
            "`/dev/null` in the container is not the null device (char 1:3): refusing to mask paths with it".into(),
        ));
    }
    Ok(fd)
}

/// Hide a path: `null` (from [`open_dev_null`]) over files, an empty
/// read-only tmpfs over dirs. The bind is made from the descriptor, not
/// from a path.
pub fn mask_path(path: &Path, null: BorrowedFd<'_>) -> Result<()> {
    let Some(fd) = open_nofollow(path)? else { return Ok(()) };
    let st = nix::sys::stat::fstat(fd.as_fd()).ctx(|| format!("stat `{}`", path.display()))?;
    let r = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => mount(Some("tmpfs"), &fd_path(fd.as_fd()), Some("tmpfs"), MsFlags::MS_RDONLY, NONE)
            .map_err(std::io::Error::from),
        libc::S_IFLNK => return Ok(()),
        _ => crate::sys::fs::open_tree_of_fd(null)
            .and_then(|tree| crate::sys::fs::move_mount_onto(tree.as_fd(), fd.as_fd())),
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
