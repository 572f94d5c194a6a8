//! Syscall name -> number tables for the ABIs a filter can cover.
//!
//! Every seccomp filter runs for every syscall, whatever ABI the calling program
//! uses, so the filter dispatches on `seccomp_data.arch` first and then needs the
//! numbers of that ABI. A kernel reports its native ABI and the compat ABIs it
//! runs ([`Abi::compat`]): on x86_64, i386 (`int 0x80`, 32-bit programs) and x32
//! (which reports `AUDIT_ARCH_X86_64` with `__X32_SYSCALL_BIT` set in the number);
//! on aarch64, 32-bit arm (EABI) programs; riscv64 none that libseccomp knows.
//! Names missing from an ABI's table (for example `socketcall` on x86_64, `open`
//! on aarch64) are skipped for that ABI, as libseccomp does.
//!
//! The tables are generated from the kernel's uapi headers by `generate.py` (which
//! says where each comes from); `make lint` checks that they are up to date.

mod aarch64;
mod arm;
mod riscv64;
mod x32;
mod x86;
mod x86_64;

/// `AUDIT_ARCH_X86_64` (linux/audit.h): `EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386` (linux/audit.h): `EM_386 | __AUDIT_ARCH_LE`.
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `AUDIT_ARCH_AARCH64` (linux/audit.h): `EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`.
pub(crate) const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// `AUDIT_ARCH_ARM` (linux/audit.h): `EM_ARM | __AUDIT_ARCH_LE`.
const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
/// `AUDIT_ARCH_RISCV64` (linux/audit.h): `EM_RISCV | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`.
const AUDIT_ARCH_RISCV64: u32 = 0xc000_00f3;
/// `__X32_SYSCALL_BIT` (asm/unistd.h).
pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// A syscall ABI the filter has a section for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Abi {
    X86_64,
    X86,
    X32,
    Aarch64,
    /// 32-bit arm (EABI), as an aarch64 kernel runs it.
    Arm,
    Riscv64,
}

impl Abi {
    /// Every ABI berth has a table for.
    pub(crate) const ALL: [Abi; 6] = [Abi::X86_64, Abi::X86, Abi::X32, Abi::Aarch64, Abi::Arm, Abi::Riscv64];

    /// The value of `seccomp_data.arch` for calls made through this ABI.
    pub(crate) fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::X86 => AUDIT_ARCH_I386,
            Abi::Aarch64 => AUDIT_ARCH_AARCH64,
            Abi::Arm => AUDIT_ARCH_ARM,
            Abi::Riscv64 => AUDIT_ARCH_RISCV64,
        }
    }

    /// The other ABIs a kernel whose native ABI is `self` runs programs with,
    /// and so the only ones a profile's `architectures` can add a section for
    /// (libseccomp's compat arches; the kernel never reports the others).
    pub(crate) fn compat(self) -> &'static [Abi] {
        match self {
            Abi::X86_64 => &[Abi::X86, Abi::X32],
            Abi::Aarch64 => &[Abi::Arm],
            Abi::X86 | Abi::X32 | Abi::Arm | Abi::Riscv64 => &[],
        }
    }

    /// Whether syscall arguments are 64 bits wide. For 32-bit ABIs only the low
    /// half of an argument is compared, as libseccomp does.
    pub(crate) fn is_64bit(self) -> bool {
        matches!(self, Abi::X86_64 | Abi::Aarch64 | Abi::Riscv64)
    }

    /// Whether any of the ABIs has a syscall called `name`, or x86 reaches it
    /// through a multiplexer (`send`, `recv`...): the names libseccomp knows.
    pub(crate) fn known(name: &str) -> bool {
        Abi::ALL.iter().any(|abi| abi.resolve(name).is_some()) || super::mux::x86_multiplexed(name).is_some()
    }

    /// The number `seccomp_data.nr` carries for `name` in this ABI, if it has it.
    pub(crate) fn resolve(self, name: &str) -> Option<u32> {
        let (table, offset) = match self {
            Abi::X86_64 => (x86_64::TABLE, 0),
            Abi::X86 => (x86::TABLE, 0),
            Abi::X32 => (x32::TABLE, X32_SYSCALL_BIT),
            Abi::Aarch64 => (aarch64::TABLE, 0),
            Abi::Arm => (arm::TABLE, 0),
            Abi::Riscv64 => (riscv64::TABLE, 0),
        };
        table
            .binary_search_by(|(n, _)| n.as_bytes().cmp(name.as_bytes()))
            .ok()
            .and_then(|i| table.get(i))
            .map(|(_, nr)| nr + offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_unique() {
        for table in [x86_64::TABLE, x86::TABLE, x32::TABLE, aarch64::TABLE, arm::TABLE, riscv64::TABLE] {
            for pair in table.windows(2) {
                assert!(pair[0].0.as_bytes() < pair[1].0.as_bytes(), "{:?}", pair);
            }
        }
    }

    #[test]
    fn resolves_known_numbers() {
        assert_eq!(Abi::X86_64.resolve("read"), Some(0));
        assert_eq!(Abi::X86_64.resolve("getcwd"), Some(79));
        assert_eq!(Abi::X86_64.resolve("clone3"), Some(435));
        assert_eq!(Abi::X86_64.resolve("fchmodat2"), Some(452));
        assert_eq!(Abi::X86_64.resolve("socketcall"), None);
        assert_eq!(Abi::X86.resolve("socketcall"), Some(102));
        assert_eq!(Abi::X86.resolve("getcwd"), Some(183));
        assert_eq!(Abi::X32.resolve("getcwd"), Some(X32_SYSCALL_BIT + 79));
        assert_eq!(Abi::X32.resolve("execve"), Some(X32_SYSCALL_BIT + 520));
        assert_eq!(Abi::X86_64.resolve("no_such_syscall"), None);
        // The asm-generic numbering, with each architecture's choices.
        assert_eq!(Abi::Aarch64.resolve("read"), Some(63));
        assert_eq!(Abi::Aarch64.resolve("getcwd"), Some(17));
        assert_eq!(Abi::Aarch64.resolve("execve"), Some(221));
        assert_eq!(Abi::Aarch64.resolve("renameat"), Some(38));
        assert_eq!(Abi::Aarch64.resolve("clone3"), Some(435));
        assert_eq!(Abi::Aarch64.resolve("fchmodat2"), Some(452));
        assert_eq!(Abi::Aarch64.resolve("open"), None);
        assert_eq!(Abi::Riscv64.resolve("renameat"), None);
        assert_eq!(Abi::Riscv64.resolve("riscv_flush_icache"), Some(259));
        assert_eq!(Abi::Riscv64.resolve("riscv_hwprobe"), Some(258));
        assert_eq!(Abi::Riscv64.resolve("newfstatat"), Some(79));
        assert_eq!(Abi::Arm.resolve("open"), Some(5));
        assert_eq!(Abi::Arm.resolve("cacheflush"), Some(0x0f_0002));
        assert_eq!(Abi::Arm.resolve("sync_file_range2"), None);
        assert_eq!(Abi::Arm.resolve("arm_sync_file_range"), Some(341));
    }

    #[test]
    fn names_of_every_table_are_known() {
        assert!(Abi::known("riscv_flush_icache"));
        assert!(Abi::known("cacheflush"));
        assert!(Abi::known("send"));
        assert!(!Abi::known("no_such_syscall"));
    }

    /// The native table against the numbers the libc crate was built with
    /// (its own, independent copy of the kernel's).
    #[test]
    fn native_numbers_match_libc() {
        let native = crate::seccomp::native_abi().unwrap();
        for (name, nr) in [
            ("execve", libc::SYS_execve),
            ("execveat", libc::SYS_execveat),
            ("personality", libc::SYS_personality),
            ("exit_group", libc::SYS_exit_group),
            ("clone3", libc::SYS_clone3),
            ("openat", libc::SYS_openat),
            ("seccomp", libc::SYS_seccomp),
            ("write", libc::SYS_write),
            ("getcwd", libc::SYS_getcwd),
        ] {
            assert_eq!(native.resolve(name), Some(nr as u32), "{name} on {native:?}");
        }
    }
}
