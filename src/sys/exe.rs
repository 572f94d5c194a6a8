//! Syscalls behind the exec guard (`crate::exec_guard`): an executable,
//! sealable memfd, adding seals to it, and executing a file descriptor or a
//! path with an explicit argv/envp. All go through `libc::syscall` rather
//! than glibc's wrappers so that what reaches the kernel (and the container's
//! seccomp filter) is exactly the syscall named here: glibc's `fexecve`, for
//! one, silently retries through `/proc/self/fd`.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use libc::c_char;

/// `MFD_EXEC` (Linux 6.3): ask for an executable memfd even when the
/// `vm.memfd_noexec` sysctl would default new memfds to non-executable.
const MFD_EXEC: libc::c_uint = 0x0010;

/// memfd_create(2) with `MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC`.
/// Kernels before 6.3 reject the unknown `MFD_EXEC` with EINVAL; there every
/// memfd is executable, so the call is retried without it.
pub fn memfd_create_exec(name: &CStr) -> io::Result<OwnedFd> {
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    let mut r = memfd_create(name, base | MFD_EXEC);
    if r.as_ref().err().and_then(io::Error::raw_os_error) == Some(libc::EINVAL) {
        r = memfd_create(name, base);
    }
    r
}

fn memfd_create(name: &CStr, flags: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid NUL-terminated string for the whole call; the
    // kernel only reads it.
    let r = unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(r).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: memfd_create returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode): an unnamed
/// regular file on the filesystem of `dir`.
pub fn open_tmpfile(dir: BorrowedFd<'_>, mode: libc::mode_t) -> io::Result<OwnedFd> {
    // SAFETY: a valid dir fd and a NUL-terminated path; returns a new fd or -1.
    let r =
        unsafe { libc::openat(dir.as_raw_fd(), c".".as_ptr(), libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC, mode) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openat returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

/// A new read-only, close-on-exec descriptor of the file `fd` is open on
/// (through this process' own /proc/self/fd entry: the file may have no
/// name). Used in berth itself, on the host, never in a container.
pub fn reopen_readonly(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let path = std::ffi::CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a NUL-terminated path; returns a new fd or -1.
    let r = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: open returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

/// fcntl(F_ADD_SEALS).
pub fn add_seals(fd: BorrowedFd<'_>, seals: libc::c_int) -> io::Result<()> {
    // SAFETY: F_ADD_SEALS takes an integer argument; fd is a valid borrowed fd.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// fcntl(F_GET_SEALS).
pub fn get_seals(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: F_GET_SEALS takes no argument; fd is a valid borrowed fd.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

/// A NULL-terminated array of pointers into `strs`, as execve wants it. The
/// pointers borrow `strs`, so the vector must not outlive them.
fn ptr_array(strs: &[&CStr]) -> Vec<*const c_char> {
    strs.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): run the file `fd` refers to.
/// Returns only on failure.
pub fn execveat_fd(fd: BorrowedFd<'_>, argv: &[&CStr], envp: &[&CStr]) -> io::Error {
    let argv = ptr_array(argv);
    let envp = ptr_array(envp);
    // SAFETY: the path is a static empty C string, argv and envp are
    // NULL-terminated arrays of pointers to NUL-terminated strings that the
    // caller's slices keep alive for the call. On success the call does not
    // return, so nothing observes the process image afterwards.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}

/// execve(path, argv, envp). Returns only on failure.
pub fn execve(path: &CStr, argv: &[&CStr], envp: &[&CStr]) -> io::Error {
    let argv = ptr_array(argv);
    let envp = ptr_array(envp);
    // SAFETY: as for `execveat_fd`: every pointer is to a NUL-terminated
    // string or a NULL-terminated array kept alive across the call.
    unsafe { libc::syscall(libc::SYS_execve, path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// Fork, run `child` in the child and leave it with `_exit(child())`;
/// returns the child's pid to the parent, which must reap it. For tests that
/// exec or ptrace from a child of the (multi-threaded) test harness.
#[cfg(test)]
pub(crate) fn fork_child(child: impl FnOnce() -> i32) -> nix::Result<nix::unistd::Pid> {
    use nix::unistd::{fork, ForkResult};
    // SAFETY: the child only runs test code that makes plain syscalls and
    // allocates at most through glibc's fork-safe malloc, then leaves with
    // `_exit`, never returning into the harness.
    match unsafe { fork() }? {
        ForkResult::Child => {
            let code = child();
            // SAFETY: `_exit` ends the child at once, skipping the harness's atexit state.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => Ok(child),
    }
}
