//! Filesystem syscalls nix lacks: mount_setattr(2) for the recursive
//! mount attributes (`rro`, `rnosuid`, ...) and idmapped mounts, and
//! open_tree(2)/move_mount(2) for detached mounts.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR_ATIME_MASK: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

const AT_RECURSIVE: libc::c_uint = 0x8000;
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, ...): set and clear
/// attributes on the mount `fd` refers to and every mount below it.
pub fn mount_setattr_recursive(fd: BorrowedFd<'_>, set: u64, clear: u64) -> io::Result<()> {
    mount_setattr(fd, true, &MountAttr { attr_set: set, attr_clr: clear, propagation: 0, userns_fd: 0 })
}

/// Make the detached mount `fd` (from [`open_tree_clone`]) idmapped with the
/// mappings of the user namespace `userns`; `recursive`: every mount of
/// the tree.
pub fn set_idmap(fd: BorrowedFd<'_>, userns: BorrowedFd<'_>, recursive: bool) -> io::Result<()> {
    let attr =
        MountAttr { attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: 0, userns_fd: userns.as_raw_fd() as u64 };
    mount_setattr(fd, recursive, &attr)
}

fn mount_setattr(fd: BorrowedFd<'_>, recursive: bool, attr: &MountAttr) -> io::Result<()> {
    let flags = libc::AT_EMPTY_PATH as libc::c_uint | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: valid fd, a NUL-terminated empty path, and a mount_attr of the
    // size passed, which the kernel only reads.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC): a detached
/// copy of the mount at `path` (with `recursive`, of the whole tree below it),
/// like the first half of a bind mount.
pub fn open_tree_clone(path: &Path, recursive: bool) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: open_tree returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r as libc::c_int) })
}

/// move_mount(from, "", to, "", F_EMPTY_PATH | T_EMPTY_PATH): attach the
/// detached mount `from` onto the file or directory `to` (an O_PATH fd).
pub fn move_mount_onto(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: two valid fds and NUL-terminated empty paths.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// open_tree(fd, "", OPEN_TREE_CLONE | AT_EMPTY_PATH): a detached bind
/// mount of the file or directory `fd` refers to, taken from the
/// descriptor itself rather than from a path someone could swap.
pub fn open_tree_of_fd(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_EMPTY_PATH as libc::c_uint;
    // SAFETY: a valid fd and a NUL-terminated empty path.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), c"".as_ptr(), flags) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: open_tree returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r as libc::c_int) })
}

/// A new, detached procfs instance (fsopen + fsconfig + fsmount), for the
/// pid namespace of the caller: no mount in any namespace covers it.
pub fn fsmount_proc() -> io::Result<OwnedFd> {
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    const MOUNT_ATTR_NOSUID_NODEV_NOEXEC: libc::c_uint =
        (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) as _;
    // SAFETY: a NUL-terminated filesystem name; returns a new fd or -1.
    let fsfd = unsafe { libc::syscall(libc::SYS_fsopen, c"proc".as_ptr(), FSOPEN_CLOEXEC) };
    if fsfd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fsopen returned a fresh descriptor that nothing else owns.
    let fsfd = unsafe { OwnedFd::from_raw_fd(fsfd as libc::c_int) };
    // SAFETY: FSCONFIG_CMD_CREATE takes no key, value or aux argument.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fsfd.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a valid filesystem context fd and integer flags.
    let m =
        unsafe { libc::syscall(libc::SYS_fsmount, fsfd.as_raw_fd(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID_NODEV_NOEXEC) };
    if m < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fsmount returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(m as libc::c_int) })
}

/// The `f_type` of the filesystem `fd` is on (fstatfs(2)).
pub fn fs_magic(fd: BorrowedFd<'_>) -> io::Result<i64> {
    // SAFETY: fstatfs fills the zeroed local; fd is valid.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_type as i64)
}
