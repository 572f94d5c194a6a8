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
    let prog = libc::sock_fprog { len, filter: filter.as_ptr().cast_mut() };
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

/// Run `child` in a forked child process and wait for it; for tests that load a
/// filter, which cannot be undone in the test process itself (the live tests,
/// which load x86_64 filters).
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn run_in_child(child: impl FnOnce() -> i32) -> nix::Result<nix::sys::wait::WaitStatus> {
    use nix::unistd::{fork, ForkResult};
    // SAFETY: the child only runs `child` (test code that makes plain syscalls and
    // allocates at most through glibc's fork-safe malloc) and leaves with `_exit`,
    // never returning into the test harness.
    match unsafe { fork() }? {
        ForkResult::Child => {
            let code = child();
            // SAFETY: `_exit` ends the child at once, skipping the harness's atexit state.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => nix::sys::wait::waitpid(child, None),
    }
}

/// Make syscall `nr` with all-zero arguments and return its errno (`None` on
/// success); for tests that check what a filter does to a syscall nix has no
/// wrapper for (or to another ABI's number).
#[cfg(test)]
pub(crate) fn syscall_errno(nr: libc::c_long) -> Option<Errno> {
    // SAFETY: every argument is zero, so no pointer the kernel could write through
    // is passed; tests only use syscalls for which zeros are harmless.
    let rc = unsafe { libc::syscall(nr, 0, 0, 0, 0, 0, 0) };
    (rc < 0).then(Errno::last)
}
