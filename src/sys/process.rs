//! Process-level syscalls: clone3 (with CLONE_INTO_CGROUP), raw fd
//! duplication, close_range, prctl and scheduling calls nix lacks.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Result of a fork-like clone: which side of it we are on, and on both
/// sides whether the kernel already placed the child in the requested
/// cgroup (`CLONE_INTO_CGROUP`). When `in_cgroup` is false the parent must
/// move the child itself before letting it run anything (and the child
/// knows to wait for that).
pub enum Forked {
    /// The parent side, with the child's pid.
    Parent {
        pid: i32,
        in_cgroup: bool,
    },
    Child {
        in_cgroup: bool,
    },
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Fork-like clone with namespace flags: the child continues on a copy of
/// the caller's stack, exactly like fork(2). `cgroup` places the child in
/// that cgroup v2 directory at birth (clone3 + CLONE_INTO_CGROUP).
/// Falls back to the legacy clone(2) when clone3 is unavailable (ENOSYS,
/// e.g. under an outer seccomp profile such as Docker's default); the cgroup
/// is then ignored and the parent learns it from `in_cgroup == false`.
///
/// The caller must be single-threaded.
pub fn clone_process(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<Forked> {
    let mut args = CloneArgs { flags, exit_signal: libc::SIGCHLD as u64, ..Default::default() };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: clone3 with stack == 0 behaves like fork: the child gets a
    // copy-on-write copy of this (single-threaded) process and returns 0 on
    // the same stack. `args` is a valid, fully initialised clone_args.
    let r = unsafe { libc::syscall(libc::SYS_clone3, &mut args as *mut CloneArgs, std::mem::size_of::<CloneArgs>()) };
    if r >= 0 {
        let in_cgroup = cgroup.is_some();
        return Ok(if r == 0 { Forked::Child { in_cgroup } } else { Forked::Parent { pid: r as i32, in_cgroup } });
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) && err.raw_os_error() != Some(libc::EPERM) {
        return Err(err);
    }
    // Legacy clone: flags in the low bits, exit signal in CSIGNAL, no stack.
    // The other arguments (stack, tids, tls) are zero, so their order, which
    // differs between architectures (x86_64's is not aarch64's or riscv64's,
    // CLONE_BACKWARDS), does not matter.
    // SAFETY: as above; legacy clone with a null stack is fork with flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags & 0xffff_ffff) as libc::c_ulong | libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match r {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child { in_cgroup: false }),
        pid => Ok(Forked::Parent { pid: pid as i32, in_cgroup: false }),
    }
}

/// Leave the process immediately, without running destructors or atexit
/// handlers (the forked side of a clone must never unwind into the parent's
/// code).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// Close `fd` in a cloned child whose copy of the owner is never dropped
/// (the child leaves with [`exit_now`]): e.g. the container init must not
/// keep a copy of the parent's lock descriptor. The caller must not use
/// `fd` afterwards.
pub fn close_in_child(fd: BorrowedFd<'_>) {
    // SAFETY: close(2) of a valid descriptor; by the contract above nothing
    // in this process touches it again (its owner never runs Drop here).
    unsafe { libc::close(fd.as_raw_fd()) };
}

/// dup2(2) onto a fixed descriptor number (stdio setup).
pub fn dup_onto(fd: BorrowedFd<'_>, target: RawFd) -> io::Result<()> {
    // SAFETY: plain syscall on a valid borrowed fd; the target number is
    // owned by the caller's stdio convention.
    let r = unsafe { libc::dup2(fd.as_raw_fd(), target) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Set close-on-exec on every descriptor from `first` upwards.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes descriptor flags; no memory involved.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        return Ok(());
    }
    // Fallback for kernels without CLOSE_RANGE_CLOEXEC: walk /proc/self/fd.
    let mut fds = Vec::new();
    for e in std::fs::read_dir("/proc/self/fd")? {
        if let Some(n) = e?.file_name().to_str().and_then(|s| s.parse::<RawFd>().ok()) {
            if n >= first as RawFd {
                fds.push(n);
            }
        }
    }
    for n in fds {
        // SAFETY: F_SETFD on a number that may or may not be open; EBADF is
        // harmless (the fd of the read_dir itself is already closed).
        unsafe { libc::fcntl(n, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Close every descriptor from 3 upwards except those in `keep` (stdio
/// is never touched). Fails if a descriptor cannot be closed: a leaked
/// host descriptor is how CVE-2024-21626 reached the host, so the caller
/// must not go on.
pub fn close_fds_except(keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<u32> = keep.iter().filter(|&&fd| fd >= 3).map(|&fd| fd as u32).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut first = 3u32;
    for k in keep.into_iter().chain(std::iter::once(u32::MAX)) {
        if k > first {
            close_range(first, k - 1)?;
        }
        first = k.saturating_add(1);
    }
    Ok(())
}

fn close_range(first: u32, last: u32) -> io::Result<()> {
    // SAFETY: close_range only closes descriptors of this process; no
    // memory is involved, and the caller owns every fd in the range (the
    // ones it still needs are outside it).
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    if r == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(err);
    }
    // Kernels before 5.9: close one by one, up to the descriptor limit.
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the valid local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let end = u64::from(last).min(lim.rlim_cur.max(lim.rlim_max).min(1 << 20));
    for fd in u64::from(first)..=end {
        // SAFETY: closing a number this process owns or that is not open (EBADF).
        if unsafe { libc::close(fd as RawFd) } < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EBADF) {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Every signal back to its default action and an empty signal mask: what
/// a freshly started program expects, whatever berth (the Rust runtime
/// ignores SIGPIPE) or its caller (`nohup`, a script's background job)
/// had set. execve keeps ignored signals and the mask, so this must be
/// done by hand before it.
pub fn reset_signals() -> io::Result<()> {
    // The kernel's struct sigaction for rt_sigaction(2): handler, flags,
    // restorer (only where the architecture defines SA_RESTORER: x86_64 and
    // aarch64, not riscv64), mask (a sigset of _NSIG = 64 bits).
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        #[cfg(not(target_arch = "riscv64"))]
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        #[cfg(not(target_arch = "riscv64"))]
        restorer: 0,
        mask: 0,
    };
    // Straight to the kernel: glibc's sigaction refuses the two real-time
    // signals it reserves (32 and 33), yet a caller may have them ignored
    // (GNU make does), and execve would pass that on.
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `dfl` is a valid kernel sigaction of the size passed;
        // the old action is not asked for.
        let r = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &dfl as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                std::mem::size_of::<u64>(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let empty: u64 = 0;
    // SAFETY: an all-clear kernel sigset of the size passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            std::ptr::null_mut::<u64>(),
            std::mem::size_of::<u64>(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// ioctl(TIOCGPTPEER): open the slave of the pty master `master` through
/// the master itself, never by a name in /dev/pts that the container could
/// have replaced.
pub fn open_pty_peer(master: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER (libc's, whose number is the architecture's own)
    // takes the open flags as an integer and returns a new descriptor.
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the ioctl returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

/// Clear close-on-exec on one descriptor (for fds handed to the container).
pub fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl flag change on a caller-provided descriptor number.
    let r = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Take ownership of a descriptor number inherited from the caller.
///
/// # Safety contract (checked by the caller)
/// `fd` must be open and not owned by anything else in this process.
pub fn own_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: see the contract above: the caller transfers sole ownership.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0, prio).
pub fn set_ioprio(class: u32, level: u32) -> io::Result<()> {
    let prio = (class << 13) | (level & 0x1fff);
    // SAFETY: plain syscall with integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, prio) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The scheduler attributes of sched_setattr(2).
#[derive(Default, Debug, Clone)]
pub struct SchedAttr {
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

#[repr(C)]
struct RawSchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
}

/// sched_setattr(2) on the calling thread.
pub fn set_sched_attr(a: &SchedAttr) -> io::Result<()> {
    let raw = RawSchedAttr {
        size: std::mem::size_of::<RawSchedAttr>() as u32,
        sched_policy: a.policy,
        sched_flags: a.flags,
        sched_nice: a.nice,
        sched_priority: a.priority,
        sched_runtime: a.runtime,
        sched_deadline: a.deadline,
        sched_period: a.period,
    };
    // SAFETY: `raw` is a valid sched_attr of the size we pass.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &raw as *const RawSchedAttr, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// setdomainname(2).
pub fn set_domainname(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes.
    let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// personality(2).
pub fn set_personality(persona: libc::c_ulong) -> io::Result<()> {
    // SAFETY: integer-only syscall.
    let r = unsafe { libc::personality(persona) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// ioctl(TIOCSCTTY): make `fd` the controlling terminal.
pub fn set_controlling_tty(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument; fd is a valid tty fd.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Size of a terminal, for the foreground `run` proxy.
pub fn copy_winsize(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    let mut ws: libc::winsize = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes a winsize into the valid local.
    if unsafe { libc::ioctl(from.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: TIOCSWINSZ reads the valid local.
    if unsafe { libc::ioctl(to.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// ioctl(TIOCSWINSZ): set a terminal's size.
pub fn set_winsize(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads the valid local.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// setrlimit(2) with a raw resource number.
pub fn set_rlimit(resource: u32, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: `lim` is a valid rlimit; the resource number is checked by the kernel.
    let r = unsafe { libc::setrlimit(resource as _, &lim) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// getrlimit(2): (soft, hard).
pub fn get_rlimit(resource: u32) -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the valid local.
    let r = unsafe { libc::getrlimit(resource as _, &mut lim) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// prctl(PR_CAPBSET_DROP): take capability number `cap` out of the
/// bounding set (EINVAL: the kernel has no such capability; EPERM: no
/// CAP_SETPCAP).
pub fn capbset_drop(cap: u8) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// prctl(PR_CAPBSET_READ): whether capability number `cap` is in the
/// bounding set.
pub fn capbset_read(cap: u8) -> io::Result<bool> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap), 0, 0, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r == 1)
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a fresh anonymous session
/// keyring, so the container can't see the host's keys.
pub fn join_new_session_keyring() -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a NULL name asks the kernel for an anonymous keyring.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, std::ptr::null::<libc::c_char>()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// umask(2); returns the previous mask.
pub fn set_umask(mask: u32) -> u32 {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

/// A borrowed descriptor for stdio number `fd` (0, 1 or 2).
pub fn stdio_fd(fd: RawFd) -> BorrowedFd<'static> {
    debug_assert!((0..3).contains(&fd));
    // SAFETY: the standard descriptors stay open for the life of the
    // process (berth never closes them; at worst they refer to /dev/null).
    unsafe { BorrowedFd::borrow_raw(fd) }
}
