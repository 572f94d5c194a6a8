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
//! Architectures: the trampoline is x86_64 machine code. Elsewhere
//! [`TRAMPOLINE`] is empty and [`prepare`] fails with
//! `ErrorKind::Unsupported`, so containers are refused rather than run
//! unprotected.

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

/// Whether this architecture has a trampoline.
pub const SUPPORTED: bool = cfg!(target_arch = "x86_64");

#[cfg(target_arch = "x86_64")]
pub use x86_64::TRAMPOLINE;

/// No trampoline on this architecture: [`prepare`] reports `Unsupported`.
#[cfg(not(target_arch = "x86_64"))]
pub const TRAMPOLINE: &[u8] = &[];

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

/// The trampoline for x86_64, a static `ET_EXEC` image: ELF header, one
/// `PT_LOAD` program header (read + execute, the whole file), then the code
/// and its messages. It is position independent (every data reference is
/// RIP-relative), has no `PT_GNU_STACK` (on x86_64 a missing one still gives
/// a non-executable stack: only ia32 binaries get READ_IMPLIES_EXEC), no
/// section headers and no interpreter.
#[cfg(target_arch = "x86_64")]
mod x86_64 {
    /// Where the kernel maps the file (the conventional non-PIE base).
    pub(super) const LOAD_ADDR: u64 = 0x40_0000;
    const EHDR_LEN: usize = 64;
    const PHDR_LEN: usize = 56;
    /// File offset (and offset from `LOAD_ADDR`) of the first instruction.
    pub(super) const CODE_OFFSET: usize = EHDR_LEN + PHDR_LEN;

    /// The code, from `as` (intel syntax) and checked with `objdump -d`; the
    /// offsets in the comments are from the start of the code.
    #[rustfmt::skip]
    const CODE: [u8; 0xce] = [
        // _start:
        0x48, 0x8b, 0x0c, 0x24,                     //   0: mov rcx,[rsp]                   argc
        0x48, 0x83, 0xf9, 0x02,                     //   4: cmp rcx,0x2
        0x0f, 0x82, 0x9b, 0x00, 0x00, 0x00,         //   8: jb a9 <usage>                   fewer than 2 args: nothing to run
        0x48, 0x8b, 0x7c, 0x24, 0x08,               //   e: mov rdi,[rsp+0x8]               path = argv[0] (the program)
        0x48, 0x8d, 0x74, 0x24, 0x10,               //  13: lea rsi,[rsp+0x10]              argv = &argv[1] (the user's argv)
        0x48, 0x8d, 0x54, 0xcc, 0x10,               //  18: lea rdx,[rsp+rcx*8+0x10]        envp = &argv[argc + 1]
        0xb8, 0x3b, 0x00, 0x00, 0x00,               //  1d: mov eax,0x3b                    SYS_execve
        0x0f, 0x05,                                 //  22: syscall                         returns only on failure, rax = -errno
        0x48, 0x83, 0xec, 0x20,                     //  24: sub rsp,0x20                    scratch for the errno digits; calls push below it
        0xf7, 0xd8,                                 //  28: neg eax                         errno
        0x41, 0x89, 0xc4,                           //  2a: mov r12d,eax                    keep errno
        0x49, 0x89, 0xfd,                           //  2d: mov r13,rdi                     keep the path
        0x48, 0x8d, 0x35, 0xaf, 0x00, 0x00, 0x00,   //  30: lea rsi,[rip+0xaf] PREFIX     "berth: exec `"
        0xba, 0x0d, 0x00, 0x00, 0x00,               //  37: mov edx,0xd
        0xe8, 0x80, 0x00, 0x00, 0x00,               //  3c: call c1 <put>
        0x4c, 0x89, 0xee,                           //  41: mov rsi,r13                     strlen(path) into edx
        0x31, 0xd2,                                 //  44: xor edx,edx
        0x80, 0x3c, 0x16, 0x00,                     //  46: cmp byte [rsi+rdx*1],0x0
        0x74, 0x04,                                 //  4a: je 50
        0xff, 0xc2,                                 //  4c: inc edx
        0xeb, 0xf6,                                 //  4e: jmp 46
        0xe8, 0x6c, 0x00, 0x00, 0x00,               //  50: call c1 <put>                   the path
        0x48, 0x8d, 0x35, 0x97, 0x00, 0x00, 0x00,   //  55: lea rsi,[rip+0x97] SUFFIX     "`: errno "
        0xba, 0x09, 0x00, 0x00, 0x00,               //  5c: mov edx,0x9
        0xe8, 0x5b, 0x00, 0x00, 0x00,               //  61: call c1 <put>
        0x48, 0x8d, 0x74, 0x24, 0x1f,               //  66: lea rsi,[rsp+0x1f]              digits are written backwards from the end
        0xc6, 0x06, 0x0a,                           //  6b: mov byte [rsi],0xa              a final newline
        0x44, 0x89, 0xe0,                           //  6e: mov eax,r12d
        0xb9, 0x0a, 0x00, 0x00, 0x00,               //  71: mov ecx,0xa
        0x31, 0xd2,                                 //  76: xor edx,edx                     eax /= 10, edx = digit
        0xf7, 0xf1,                                 //  78: div ecx
        0x80, 0xc2, 0x30,                           //  7a: add dl,0x30
        0x48, 0xff, 0xce,                           //  7d: dec rsi
        0x88, 0x16,                                 //  80: mov byte [rsi],dl
        0x85, 0xc0,                                 //  82: test eax,eax
        0x75, 0xf0,                                 //  84: jne 76
        0x48, 0x8d, 0x54, 0x24, 0x20,               //  86: lea rdx,[rsp+0x20]              length = end - start
        0x48, 0x29, 0xf2,                           //  8b: sub rdx,rsi
        0xe8, 0x2e, 0x00, 0x00, 0x00,               //  8e: call c1 <put>                   the digits
        0xbf, 0x7e, 0x00, 0x00, 0x00,               //  93: mov edi,0x7e                    126: found but could not run
        0x41, 0x83, 0xfc, 0x02,                     //  98: cmp r12d,0x2                    ENOENT?
        0x75, 0x02,                                 //  9c: jne a0
        0xff, 0xc7,                                 //  9e: inc edi                         127: not found
        0xb8, 0xe7, 0x00, 0x00, 0x00,               //  a0: mov eax,0xe7                    SYS_exit_group
        0x0f, 0x05,                                 //  a5: syscall
        0x0f, 0x0b,                                 //  a7: ud2                             unreachable
        // usage:
        0x48, 0x8d, 0x35, 0x1e, 0x00, 0x00, 0x00,   //  a9: lea rsi,[rip+0x1e] USAGE      "berth: exec: no program\n"
        0xba, 0x18, 0x00, 0x00, 0x00,               //  b0: mov edx,0x18
        0xe8, 0x07, 0x00, 0x00, 0x00,               //  b5: call c1 <put>
        0xbf, 0x7f, 0x00, 0x00, 0x00,               //  ba: mov edi,0x7f
        0xeb, 0xdf,                                 //  bf: jmp a0
        // put:
        0xbf, 0x02, 0x00, 0x00, 0x00,               //  c1: mov edi,0x2                     write(2, rsi, rdx)
        0xb8, 0x01, 0x00, 0x00, 0x00,               //  c6: mov eax,0x1                     SYS_write
        0x0f, 0x05,                                 //  cb: syscall
        0xc3,                                       //  cd: ret
    ];
    /// The messages, right after the code: offsets 0xce, 0xe6 and 0xf3.
    const USAGE: &[u8] = b"berth: exec: no program\n";
    const PREFIX: &[u8] = b"berth: exec `";
    const SUFFIX: &[u8] = b"`: errno ";

    // The RIP-relative displacements and lengths encoded in CODE assume this layout.
    const _: () = assert!(USAGE.len() == 0x18 && PREFIX.len() == 0x0d && SUFFIX.len() == 0x09);

    const LEN: usize = CODE_OFFSET + CODE.len() + USAGE.len() + PREFIX.len() + SUFFIX.len();

    /// The trampoline ELF file, written into the memfd by [`super::prepare`].
    pub const TRAMPOLINE: &[u8] = &image();

    const fn put(buf: &mut [u8; LEN], at: usize, bytes: &[u8]) -> usize {
        let mut i = 0;
        while i < bytes.len() {
            buf[at + i] = bytes[i];
            i += 1;
        }
        at + bytes.len()
    }

    const fn image() -> [u8; LEN] {
        let mut b = [0u8; LEN];
        let len = LEN as u64;
        // ELF header: 64-bit, little endian, version 1, System V ABI.
        put(&mut b, 0, &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
        put(&mut b, 16, &2u16.to_le_bytes()); // e_type: ET_EXEC
        put(&mut b, 18, &62u16.to_le_bytes()); // e_machine: EM_X86_64
        put(&mut b, 20, &1u32.to_le_bytes()); // e_version
        put(&mut b, 24, &(LOAD_ADDR + CODE_OFFSET as u64).to_le_bytes()); // e_entry
        put(&mut b, 32, &(EHDR_LEN as u64).to_le_bytes()); // e_phoff
                                                           // e_shoff, e_flags: 0
        put(&mut b, 52, &(EHDR_LEN as u16).to_le_bytes()); // e_ehsize
        put(&mut b, 54, &(PHDR_LEN as u16).to_le_bytes()); // e_phentsize
        put(&mut b, 56, &1u16.to_le_bytes()); // e_phnum
                                              // e_shentsize, e_shnum, e_shstrndx: 0 (no sections)
                                              // Program header: PT_LOAD, PF_R | PF_X, the whole file at LOAD_ADDR.
        let ph = EHDR_LEN;
        put(&mut b, ph, &1u32.to_le_bytes()); // p_type: PT_LOAD
        put(&mut b, ph + 4, &5u32.to_le_bytes()); // p_flags: PF_R | PF_X
                                                  // p_offset: 0
        put(&mut b, ph + 16, &LOAD_ADDR.to_le_bytes()); // p_vaddr
        put(&mut b, ph + 24, &LOAD_ADDR.to_le_bytes()); // p_paddr
        put(&mut b, ph + 32, &len.to_le_bytes()); // p_filesz
        put(&mut b, ph + 40, &len.to_le_bytes()); // p_memsz
        put(&mut b, ph + 48, &0x1000u64.to_le_bytes()); // p_align
        let at = put(&mut b, CODE_OFFSET, &CODE);
        let at = put(&mut b, at, USAGE);
        let at = put(&mut b, at, PREFIX);
        put(&mut b, at, SUFFIX);
        b
    }
}

#[cfg(test)]
mod tests;
