//! `/dev` inside the container: the default devices, `linux.devices`, the
//! standard symlinks, and `/dev/console` for a terminal. Nodes are made with
//! mknod where allowed, and bind-mounted from the host where not (in a user
//! namespace).

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode};
use nix::unistd::{fchownat, symlinkat, FchownatFlags, Gid, Uid};

use super::paths::{self, fd_path};
use super::plan::{DeviceNode, DEV_SYMLINKS};
use crate::error::{Context, Result};

const NONE: Option<&str> = None;

/// Create one device node inside the root.
pub fn create_device(root: BorrowedFd<'_>, d: &DeviceNode, bind: bool) -> Result<()> {
    let parent = d.path.parent().unwrap_or(Path::new("/dev"));
    let name = d.path.file_name().unwrap_or_default();
    let dir = paths::mkdir_all(root, parent, 0o755)?;
    if bind {
        let target = paths::ensure_file(root, &d.path)?;
        return mount(Some(&d.path), &fd_path(target.as_fd()), NONE, MsFlags::MS_BIND, NONE)
            .ctx(|| format!("bind device `{}` from the host", d.path.display()));
    }
    // Replace whatever the rootfs has at that name (a file, a stale node;
    // never followed: unlinkat works on the entry itself).
    let _ = nix::unistd::unlinkat(dir.as_fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir);
    mknodat(dir.as_fd(), name, d.kind, Mode::from_bits_truncate(d.mode), makedev(d.major, d.minor))
        .ctx(|| format!("create device `{}`", d.path.display()))?;
    fchownat(
        dir.as_fd(),
        name,
        Some(Uid::from_raw(d.uid)),
        Some(Gid::from_raw(d.gid)),
        FchownatFlags::AT_SYMLINK_NOFOLLOW,
    )
    .ctx(|| format!("chown device `{}`", d.path.display()))
}

/// Create devices; `in_userns` makes them host bind mounts (mknod is not
/// allowed there). Falls back to a bind when mknod is refused.
pub fn create_devices(root: BorrowedFd<'_>, devs: &[DeviceNode], in_userns: bool) -> Result<()> {
    for d in devs {
        match create_device(root, d, in_userns) {
            Err(crate::Error::Sys { source: Errno::EPERM, .. }) if !in_userns => create_device(root, d, true)?,
            r => r?,
        }
    }
    Ok(())
}

/// /dev/fd, /dev/std{in,out,err}, /dev/ptmx, /dev/core (existing entries win).
pub fn create_symlinks(root: BorrowedFd<'_>) -> Result<()> {
    let dev = paths::mkdir_all(root, Path::new("/dev"), 0o755)?;
    for (link, target) in DEV_SYMLINKS {
        // Like runc: /dev/core only where the kernel has /proc/kcore.
        if *link == "/dev/core" && !Path::new("/proc/kcore").exists() {
            continue;
        }
        let name = Path::new(link).file_name().unwrap_or_default();
        match symlinkat(*target, dev.as_fd(), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e).ctx(|| format!("create symlink `{link}`")),
        }
    }
    Ok(())
}

/// Bind the terminal's slave onto /dev/console (after pivot_root, so the
/// path is the container's).
pub fn mount_console(slave_path: &Path) -> Result<()> {
    let root = paths::open_root(Path::new("/"))?;
    let target = paths::ensure_file(root.as_fd(), Path::new("/dev/console"))?;
    mount(Some(slave_path), &fd_path(target.as_fd()), NONE, MsFlags::MS_BIND, NONE)
        .ctx(|| format!("bind `{}` onto /dev/console", slave_path.display()))
}

/// Stdio that is the host's /dev/null becomes the container's own /dev/null
/// (after pivot_root), as runc's reOpenDevNull does: CRIU cannot checkpoint
/// a descriptor of a file on a mount outside the container.
pub fn reopen_dev_null() -> Result<()> {
    let null = nix::fcntl::open("/dev/null", nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC, Mode::empty())
        .ctx(|| "open the container's /dev/null".to_string())?;
    let rdev = nix::sys::stat::fstat(null.as_fd()).ctx(|| "stat the container's /dev/null".to_string())?.st_rdev;
    let is_null = |fd: BorrowedFd<'_>| {
        nix::sys::stat::fstat(fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == rdev)
    };
    let stdio =
        [is_null(std::io::stdin().as_fd()), is_null(std::io::stdout().as_fd()), is_null(std::io::stderr().as_fd())];
    for (n, _) in stdio.iter().enumerate().filter(|(_, null)| **null) {
        crate::sys::process::dup_onto(null.as_fd(), n as i32).ctx(|| format!("reopen /dev/null on descriptor {n}"))?;
    }
    Ok(())
}
