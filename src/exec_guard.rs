//! The exec guard: protection against CVE-2019-5736 without copying berth.
//!
//! The container's init is a clone of berth, not a re-exec, so until its
//! final exec `/proc/self/exe` is the host's berth binary. If the user's
//! program resolves to that link (`/proc/self/exe` itself, a
//! `#!/proc/self/exe` script, a binfmt_misc interpreter), a plain execve
//! would run berth inside the container, and once berth is gone a container
//! process could reopen `/proc/<pid>/exe` for writing and overwrite the
//! host's runtime. crun, youki and runc before 1.2 copy their whole binary
//! into a sealed memfd on every call (runc 1.2 and later open their binary
//! through a private read-only overlayfs mount instead, and still make the
//! memfd copy when rootless); berth instead executes a few hundred bytes,
//! privileged or not:
//!
//! 1. [`prepare`] (before seccomp is installed, because profiles may deny
//!    `memfd_create`) writes [`TRAMPOLINE`], a tiny static ELF, into a memfd
//!    and seals it against any change.
//! 2. [`exec`] (the init's very last step) runs that memfd with
//!    `execveat(fd, "", AT_EMPTY_PATH)`. From this moment `/proc/self/exe` is
//!    the sealed memfd, never berth.
//! 3. The trampoline execs the user's program. Afterwards `/proc/self/exe`
//!    is the program. If the program resolves to `/proc/self/exe` again, that
//!    is the trampoline, which just runs once more: berth is never executed.
//!
//! Calling convention of the trampoline: `argv = [program, user_argv0,
//! user_argv1, ...]`; it calls `execve(argv[0], &argv[1], envp)`, so the
//! program sees exactly the user's argv and env. When the execve fails it
//! writes ``berth: exec `<program>`: errno <n>`` to fd 2 and exits 127 for
//! ENOENT, 126 otherwise (the shell's convention); with fewer than two
//! arguments it writes `berth: exec: no program` and exits 127. That last
//! rule also ends the loop a `#!/proc/self/exe` script makes: each round
//! through binfmt_script drops one argument until none is left.
//!
//! Where the guard comes from: berth makes it in its own process, on the
//! host, before the container process is cloned (which inherits the
//! descriptor). So neither the container's `vm.memfd_noexec` (a per pid
//! namespace sysctl) nor its seccomp profile nor its RLIMIT_NOFILE can keep
//! it from being made. If the host refuses executable memfds
//! (`vm.memfd_noexec=2`), the trampoline goes into an unlinked `O_TMPFILE`
//! in berth's state directory instead: a private copy that no other
//! process can reach, so what happens to it cannot touch the host's binary
//! either. If neither can be made, [`prepare`] fails and so does the
//! create or exec: berth never runs a container program unguarded.
//!
//! Seccomp: the user's filter is in force when [`exec`] runs, so it uses only
//! `execveat` and `execve` (Docker's, podman's and runtime-tools' profiles
//! allow both). If `execveat` is denied (EPERM/ENOSYS), the trampoline is run
//! by path with plain `execve("/proc/self/fd/<n>")`, still guarded. If that
//! path is unusable too (no `/proc` in the container), [`exec`] fails: the
//! program is not run rather than run with `/proc/self/exe` pointing at
//! berth.
//!
//! Architectures: there is a trampoline for x86_64, aarch64 and riscv64
//! (`x86_64.rs`, `aarch64.rs`, `riscv64.rs`: the same program in each
//! machine's code, every instruction documented; `elf.rs` wraps it in an ELF
//! file). [`TRAMPOLINE`] is the one of the architecture berth is built for.
//! Elsewhere it is empty and [`prepare`] fails with `ErrorKind::Unsupported`,
//! so containers are refused rather than run unprotected. The tests run every
//! trampoline: the native one natively, the others under qemu-user where it
//! is installed (`trampoline_tests.rs`).

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::sys::exe as sys;

/// The name the memfd shows in `/proc/<pid>/exe` (`/memfd:berth-exec (deleted)`).
pub const MEMFD_NAME: &CStr = c"berth-exec";

/// Everything that could change the memfd: its contents, its size, and
/// the seal set itself.
pub const SEALS: libc::c_int = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

// Every trampoline is compiled into the tests, whatever the host.
#[cfg(any(test, target_arch = "aarch64"))]
mod aarch64;
mod elf;
#[cfg(any(test, target_arch = "riscv64"))]
mod riscv64;
#[cfg(any(test, target_arch = "x86_64"))]
mod x86_64;

#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
pub use aarch64::TRAMPOLINE;
#[cfg(target_arch = "riscv64")]
pub use riscv64::TRAMPOLINE;
#[cfg(target_arch = "x86_64")]
pub use x86_64::TRAMPOLINE;

/// No trampoline on this architecture: [`prepare`] reports `Unsupported`.
#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_endian = "little"),
    target_arch = "riscv64"
)))]
pub const TRAMPOLINE: &[u8] = &[];

/// Whether this architecture has a trampoline.
pub const SUPPORTED: bool = !TRAMPOLINE.is_empty();

/// Whether `exe`, what `/proc/PID/exe` links to, is a guard made by
/// [`prepare`] with `fallback_dir`: the memfd, or the unnamed O_TMPFILE
/// copy in `fallback_dir` (shown as `<dir>/#<inode> (deleted)`). While it
/// is, the process has not yet executed its program.
pub fn is_guard_exe(exe: &std::path::Path, fallback_dir: &std::path::Path) -> bool {
    let exe = exe.to_string_lossy();
    let memfd = format!("/memfd:{}", MEMFD_NAME.to_string_lossy());
    let tmpfile = format!("{}/#", fallback_dir.display());
    exe.starts_with(&memfd) || (exe.starts_with(&tmpfile) && exe.ends_with(" (deleted)"))
}

/// Make the guard: [`TRAMPOLINE`] in a sealed, executable memfd, or, where
/// the host refuses executable memfds, in an unlinked read-only
/// `O_TMPFILE` below `fallback_dir` (an `O_PATH` or directory descriptor).
/// The descriptor is close-on-exec, so neither the trampoline nor the
/// user's program inherits it. Call it in berth before the container
/// process is cloned (see the module docs).
pub fn prepare(fallback_dir: Option<BorrowedFd<'_>>) -> io::Result<OwnedFd> {
    if !SUPPORTED {
        return Err(io::Error::new(io::ErrorKind::Unsupported, "no exec trampoline for this architecture"));
    }
    let memfd_err = match prepare_memfd() {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    let Some(dir) = fallback_dir else { return Err(memfd_err) };
    prepare_tmpfile(dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "an executable memfd: {}; an O_TMPFILE copy: {}",
                crate::error::os_msg(&memfd_err),
                crate::error::os_msg(&e)
            ),
        )
    })
}

fn prepare_memfd() -> io::Result<OwnedFd> {
    let mut file = File::from(sys::memfd_create_exec(MEMFD_NAME)?);
    file.write_all(TRAMPOLINE)?;
    let fd = OwnedFd::from(file);
    sys::add_seals(fd.as_fd(), SEALS)?;
    Ok(fd)
}

/// The trampoline in an `O_TMPFILE` (never linked, so never visible under
/// any name), reopened read-only: an executable file must have no writer.
fn prepare_tmpfile(dir: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let st = nix::sys::statvfs::fstatvfs(dir)?;
    if st.flags().contains(nix::sys::statvfs::FsFlags::ST_NOEXEC) {
        return Err(io::Error::from_raw_os_error(libc::EACCES));
    }
    let rw = sys::open_tmpfile(dir, 0o500)?;
    let mut file = File::from(rw);
    file.write_all(TRAMPOLINE)?;
    let ro = sys::reopen_readonly(file.as_fd())?;
    drop(file);
    Ok(ro)
}

/// Run `program` with `argv` and `envp` through the trampoline in
/// `trampoline` (from [`prepare`]). `program` is the resolved path (relative
/// paths are relative to the cwd); `argv[0]` is what the program sees as its
/// name. An empty `argv` becomes `[""]`, as the kernel does for execve.
/// Returns only on failure, with the error of the last exec tried (see the
/// module docs for the fallbacks).
pub fn exec(trampoline: BorrowedFd<'_>, program: &CStr, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut targv: Vec<&CStr> = Vec::with_capacity(argv.len() + 1);
    targv.push(program);
    targv.extend(argv.iter().map(CString::as_c_str));
    if argv.is_empty() {
        targv.push(c"");
    }
    let env: Vec<&CStr> = envp.iter().map(CString::as_c_str).collect();

    let err = sys::execveat_fd(trampoline, &targv, &env);
    if !is_denied(&err) {
        return err;
    }
    // execveat is filtered: run the same file by path, which needs only
    // execve (and a /proc). The kernel opens the path before it closes our
    // close-on-exec fds, so O_CLOEXEC on the descriptor does not get in the way.
    let Ok(by_path) = CString::new(format!("/proc/self/fd/{}", trampoline.as_raw_fd())) else {
        return err;
    };
    let by_path_err = sys::execve(&by_path, &targv, &env);
    if matches!(by_path_err.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR | libc::EACCES | libc::ELOOP)) {
        // Neither way to run the guard works: refuse (fail closed).
        return io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the seccomp profile denies execveat and /proc is not usable in the container, \
             so the program cannot be run through berth's exec guard (CVE-2019-5736); refusing to run it unguarded",
        );
    }
    by_path_err
}

/// Plain `execve(program, argv, envp)`, without the guard: only the tests'
/// control runs use it (berth itself never execs unguarded).
#[cfg(test)]
pub(crate) fn exec_unguarded(program: &CStr, argv: &[CString], envp: &[CString]) -> io::Error {
    let argv: Vec<&CStr> = argv.iter().map(CString::as_c_str).collect();
    let env: Vec<&CStr> = envp.iter().map(CString::as_c_str).collect();
    sys::execve(program, &argv, &env)
}

/// Errors with which a seccomp profile typically denies a syscall.
fn is_denied(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EPERM | libc::ENOSYS))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod trampoline_tests;
