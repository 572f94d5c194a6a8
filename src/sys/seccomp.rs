//! Raw `seccomp(2)`: load a classic-BPF filter with `SECCOMP_SET_MODE_FILTER`.
//!
//! The filter itself is built by `crate::seccomp`; this file only hands it to the
//! kernel. Unlike seccompiler's `apply_filter`, it never sets `no_new_privs` (the
//! caller decides that from `process.noNewPrivileges`) and it can ask for a
//! user-notification listener (`SECCOMP_FILTER_FLAG_NEW_LISTENER`).

use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;

/// Load `filter` into the calling thread with the `SECCOMP_FILTER_FLAG_*` bits in
/// `flags`. Returns the listener fd when `flags` contains
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
///
/// `EACCES` means the caller has neither `no_new_privs` nor `CAP_SYS_ADMIN` in its
/// user namespace. A thread that could not be synchronized under
/// `SECCOMP_FILTER_FLAG_TSYNC` is reported as `ESRCH`.
pub fn set_mode_filter(filter: &[libc::sock_filter], flags: libc::c_ulong) -> nix::Result<Option<OwnedFd>> {
    let len = u16::try_from(filter.len()).map_err(|_| Errno::EINVAL)?;
    let prog = libc::sock_fprog {
        len,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `filter`, which outlives the call; the kernel only
    // reads `len` instructions from it (copy_from_user) and keeps no reference.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc < 0 {
        return Err(Errno::last());
    }
    if flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        let fd = libc::c_int::try_from(rc).map_err(|_| Errno::EBADF)?;
        // SAFETY: with NEW_LISTENER the kernel returns a fresh fd that nothing else owns.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    if rc > 0 {
        // TSYNC without NEW_LISTENER returns the id of the thread that failed to sync.
        return Err(Errno::ESRCH);
    }
    Ok(None)
}
