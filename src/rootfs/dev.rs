//! `/dev` inside the container: the default devices, `linux.devices`, the
//! standard symlinks, and `/dev/console` for a terminal. Nodes are made with
//! mknod where allowed, and bind-mounted from the host where not (in a user
//! namespace).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode};
use nix::unistd::{fchownat, symlinkat, FchownatFlags, Gid, Uid};

use super::paths::{self, fd_path};
use super::plan::{DeviceNode, DEV_SYMLINKS};
use crate::error::{Context, Error, Result};

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
    // never followed: unlinkat works on the entry itself). A fresh /dev
    // has nothing there: the unlink is only tried when the name is taken.
    let mknod = || mknodat(dir.as_fd(), name, d.kind, Mode::from_bits_truncate(d.mode), makedev(d.major, d.minor));
    match mknod() {
        Err(Errno::EEXIST) => {
            let _ = nix::unistd::unlinkat(dir.as_fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir);
            mknod()
        }
        r => r,
    }
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

/// `/dev/console` inside the container (after pivot_root), where the
/// terminal will be bound: an existing regular file or character device,
/// or a new empty file. A symlink there is refused, never followed: it
/// could point the bind mount anywhere (CVE-2025-52565).
pub fn console_target() -> Result<OwnedFd> {
    let root = paths::open_root(Path::new("/"))?;
    let how = |flags: OFlag| {
        OpenHow::new().flags(flags | OFlag::O_CLOEXEC).resolve(
            ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        )
    };
    let existing = match openat2(root.as_fd(), "dev/console", how(OFlag::O_PATH)) {
        Ok(fd) => Some(fd),
        Err(Errno::ENOENT) => None,
        Err(Errno::ELOOP) => {
            return Err(Error::Init(
                "`/dev/console` in the container is a symlink: refusing to mount the terminal over it".into(),
            ))
        }
        Err(e) => return Err(e).ctx(|| "open `/dev/console` in the container".to_string()),
    };
    let fd = match existing {
        Some(fd) => fd,
        None => {
            let dev = openat2(root.as_fd(), "dev", how(OFlag::O_PATH | OFlag::O_DIRECTORY))
                .ctx(|| "open `/dev` in the container".to_string())?;
            match nix::fcntl::openat(
                dev.as_fd(),
                "console",
                OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            ) {
                Ok(_) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e).ctx(|| "create `/dev/console` in the container".to_string()),
            }
            openat2(root.as_fd(), "dev/console", how(OFlag::O_PATH))
                .ctx(|| "open `/dev/console` in the container".to_string())?
        }
    };
    let st = nix::sys::stat::fstat(fd.as_fd()).ctx(|| "stat `/dev/console`".to_string())?;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFCHR => Ok(fd),
        _ => Err(Error::Init("`/dev/console` in the container is neither a file nor a device".into())),
    }
}

/// Bind the terminal's slave, from its descriptor, onto `/dev/console`
/// (`target` from [`console_target`]).
pub fn mount_console(slave: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<()> {
    let tree = crate::sys::fs::open_tree_of_fd(slave).ctx(|| "clone the pty for /dev/console".to_string())?;
    crate::sys::fs::move_mount_onto(tree.as_fd(), target).ctx(|| "bind the pty onto /dev/console".to_string())
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
