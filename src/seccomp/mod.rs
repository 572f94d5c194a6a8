//! `linux.seccomp` -> one seccomp BPF program, loaded with our own `seccomp(2)` call.
//!
//! [`compile`] is pure and runs in the runtime parent at create time, so every
//! mistake in the profile is reported before any side effect. [`install`] runs in
//! the container process as late before `execve` as it can: it does not set
//! `no_new_privs` (the caller does, from `process.noNewPrivileges`) and returns the
//! user-notification listener when the profile has an `SCMP_ACT_NOTIFY` rule.
//!
//! Pipeline: `policy` fixes the meaning of the profile (what runc with libseccomp
//! makes of it, see its doc), with `tree` (how rules for one syscall combine, as
//! in libseccomp) and `mux` (x86's `socketcall`/`ipc`); `bpf` encodes it as one
//! program; `syscalls` holds the name tables; `sys::seccomp` talks to the kernel.
//! `differential_tests` proves the result against libseccomp itself.
//!
//! Architectures: the filter always covers the native ABI (x86_64, aarch64 or
//! riscv64: the one berth is built for). When the profile lists a compat ABI of the
//! native kernel (`SCMP_ARCH_X86` or `SCMP_ARCH_X32` on x86_64, `SCMP_ARCH_ARM` on
//! aarch64), it gets a section of its own with its own syscall numbers, like
//! libseccomp; calls through an ABI that is not listed get libseccomp's bad-arch
//! action, `SCMP_ACT_KILL` (the calling thread, a single-threaded program dies of
//! SIGSYS). Other listed architectures are accepted and ignored: the kernel never
//! reports them. [`compile_for`] builds the program of another host, for tests.

pub mod agent;
mod bpf;
mod mux;
mod policy;
mod syscalls;
mod tree;

// The translation tests build the programs of every host (`compile_for`) and run
// them in `interp`; the live tests load x86_64 filters into this process.
#[cfg(test)]
mod arch_tests;
#[cfg(test)]
mod differential_tests;
#[cfg(test)]
mod interp;
#[cfg(test)]
#[cfg(target_arch = "x86_64")]
mod live_tests;
#[cfg(test)]
mod tests;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};

use syscalls::Abi;

/// Actions `berth features` reports; every one is handled by [`compile`].
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

/// Argument operators `berth features` reports.
pub const OPERATORS: &[&str] =
    &["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"];

/// Architectures accepted in `architectures` (see the module doc for what each does).
pub const ARCHES: &[&str] = &[
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];

/// Filter flags accepted in `flags`.
pub const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// Errors of compiling or loading a seccomp profile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("compile seccomp profile: host architecture `{0}` is not supported")]
    UnsupportedHost(&'static str),
    #[error("`linux.seccomp.syscalls[{rule}].names` is empty")]
    NoSyscallNames { rule: usize },
    #[error("empty string in `linux.seccomp.syscalls[{rule}].names` is not a valid syscall")]
    EmptySyscallName { rule: usize },
    #[error("`{field}` is set but `{action}` takes no errno")]
    ErrnoUnsupported { field: String, action: &'static str },
    #[error("`{field}` value {value} is out of range (at most {max})")]
    ErrnoRange { field: String, value: u32, max: u32 },
    #[error("argument index {index} in `linux.seccomp.syscalls[{rule}].args` is not in 0..=5")]
    ArgIndex { rule: usize, index: usize },
    #[error("`SCMP_ACT_NOTIFY` cannot be the default action")]
    NotifyDefault,
    #[error("`SCMP_ACT_NOTIFY` cannot be used for `{syscall}`: the runtime needs it after loading the filter")]
    NotifyForbidden { syscall: String },
    #[error("`SCMP_ACT_NOTIFY` is used but `linux.seccomp.listenerPath` is not set")]
    NotifyWithoutListener,
    #[error("`linux.seccomp.listenerMetadata` is set without `listenerPath`")]
    MetadataWithoutListener,
    #[error("compile seccomp profile: {len} BPF instructions exceed the kernel limit of 4096")]
    TooLarge { len: usize },
    #[error(
        "add `linux.seccomp.syscalls[{rule}]` for `{syscall}`: its argument conditions overlap an earlier rule's with \
         a different action (libseccomp, and so runc, refuses this profile too)"
    )]
    RuleConflict { rule: usize, syscall: String },
    #[error(
        "add `linux.seccomp.syscalls[{rule}]` for `{syscall}`: libseccomp cannot merge its argument conditions with an \
         earlier rule's (it never returns, so runc hangs on this profile)"
    )]
    RuleLoops { rule: usize, syscall: String },
    #[error("compile seccomp profile: internal error: {0}")]
    Codegen(&'static str),
    #[error("load seccomp filter: need `no_new_privs` or `CAP_SYS_ADMIN` (set `process.noNewPrivileges`)")]
    NeedsNoNewPrivs,
    #[error("load seccomp filter")]
    Load(#[source] Errno),
}

pub type Result<T> = std::result::Result<T, Error>;

/// A compiled profile: the BPF program plus how to load it.
#[derive(Clone)]
pub struct Program {
    filter: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
    listener: bool,
    listener_path: Option<PathBuf>,
    listener_metadata: Option<String>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("instructions", &self.filter.len())
            .field("flags", &self.flags)
            .field("listener", &self.listener)
            .field("listener_path", &self.listener_path)
            .finish()
    }
}

impl Program {
    /// Whether an `SCMP_ACT_NOTIFY` rule exists, so [`install`] returns a listener fd.
    pub fn wants_listener(&self) -> bool {
        self.listener
    }
    /// `listenerPath`, where the runtime sends the listener fd (only set with a listener).
    pub fn listener_path(&self) -> Option<&Path> {
        self.listener_path.as_deref()
    }
    /// `listenerMetadata`, passed as `metadata` in the container process state.
    pub fn listener_metadata(&self) -> Option<&str> {
        self.listener_metadata.as_deref()
    }
    /// Number of BPF instructions (for debug logs).
    pub fn len(&self) -> usize {
        self.filter.len()
    }
    /// Always false: a compiled program has at least one instruction.
    pub fn is_empty(&self) -> bool {
        self.filter.is_empty()
    }
}

/// The ABI the running binary uses; the filter is built for it.
fn native_abi() -> Result<Abi> {
    if cfg!(target_arch = "x86_64") {
        Ok(Abi::X86_64)
    } else if cfg!(all(target_arch = "aarch64", target_endian = "little")) {
        Ok(Abi::Aarch64)
    } else if cfg!(target_arch = "riscv64") {
        Ok(Abi::Riscv64)
    } else {
        Err(Error::UnsupportedHost(std::env::consts::ARCH))
    }
}

/// The ABI an OCI `architectures` entry names, where berth has its table.
fn listed_abi(arch: Arch) -> Option<Abi> {
    match arch {
        Arch::ScmpArchX86_64 => Some(Abi::X86_64),
        Arch::ScmpArchX86 => Some(Abi::X86),
        Arch::ScmpArchX32 => Some(Abi::X32),
        Arch::ScmpArchAarch64 => Some(Abi::Aarch64),
        Arch::ScmpArchArm => Some(Abi::Arm),
        Arch::ScmpArchRiscv64 => Some(Abi::Riscv64),
        _ => None,
    }
}

fn filter_flags(s: &LinuxSeccomp, listener: bool) -> libc::c_ulong {
    let mut flags = 0;
    for flag in s.flags().iter().flatten() {
        flags |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            // Only meaningful (and only accepted by the kernel) with a listener.
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv if listener => {
                libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
        };
    }
    if listener {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // The kernel refuses TSYNC with NEW_LISTENER unless TSYNC failures are ESRCH.
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    }
    flags
}

/// Compile the whole OCI `linux.seccomp` object into a ready program. Pure: no
/// syscalls, so it can run before any side effect of `create`.
pub fn compile(s: &LinuxSeccomp) -> Result<Program> {
    compile_for(s, native_abi()?)
}

/// [`compile`] for a host whose native ABI is `native`.
pub(crate) fn compile_for(s: &LinuxSeccomp, native: Abi) -> Result<Program> {
    if s.default_action() == LinuxSeccompAction::ScmpActNotify {
        return Err(Error::NotifyDefault);
    }
    let default = policy::action_ret(s.default_action(), s.default_errno_ret(), "linux.seccomp.defaultErrnoRet")?;

    let mut abis = vec![native];
    for abi in s.architectures().iter().flatten().filter_map(|a| listed_abi(*a)) {
        if native.compat().contains(&abi) && !abis.contains(&abi) {
            abis.push(abi);
        }
    }

    let listener = s.syscalls().iter().flatten().any(|c| c.action() == LinuxSeccompAction::ScmpActNotify);
    if s.listener_metadata().is_some() && s.listener_path().is_none() {
        return Err(Error::MetadataWithoutListener);
    }
    if listener && s.listener_path().is_none() {
        return Err(Error::NotifyWithoutListener);
    }

    let policy = policy::build(s, default, &abis)?;
    let filter = bpf::assemble(&policy)?;
    Ok(Program {
        filter,
        flags: filter_flags(s, listener),
        listener,
        listener_path: if listener { s.listener_path().clone() } else { None },
        listener_metadata: if listener { s.listener_metadata().clone() } else { None },
    })
}

/// Load `p` into the calling process, as late before `execve` as the caller can
/// (a profile with a listener is loaded while berth is still there to hand the
/// listener to the agent: see [`agent`]). Does not set `no_new_privs`. Returns
/// the notify listener fd when the profile has an `SCMP_ACT_NOTIFY` rule.
pub fn install(p: &Program) -> Result<Option<OwnedFd>> {
    crate::sys::seccomp::set_mode_filter(&p.filter, p.flags).map_err(|e| match e {
        Errno::EACCES => Error::NeedsNoNewPrivs,
        e => Error::Load(e),
    })
}
