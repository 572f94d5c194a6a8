//! Syscall name -> number tables for the ABIs a filter can cover on an x86_64 host.
//!
//! Every seccomp filter runs for every syscall, whatever ABI the calling program
//! uses, so the filter dispatches on `seccomp_data.arch` first and then needs the
//! numbers of that ABI. On x86_64 the kernel reports three ABIs: native x86_64,
//! i386 (`int 0x80`, 32-bit programs) and x32 (which reports `AUDIT_ARCH_X86_64`
//! with `__X32_SYSCALL_BIT` set in the number). Names missing from an ABI's table
//! (for example `socketcall` on x86_64) are skipped for that ABI, as libseccomp does.

mod x32;
mod x86;
mod x86_64;

/// `AUDIT_ARCH_X86_64` (linux/audit.h): `EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386` (linux/audit.h): `EM_386 | __AUDIT_ARCH_LE`.
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `__X32_SYSCALL_BIT` (asm/unistd.h).
pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// A syscall ABI the filter has a section for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Abi {
    X86_64,
    X86,
    X32,
}

impl Abi {
    /// The value of `seccomp_data.arch` for calls made through this ABI.
    pub(crate) fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::X86 => AUDIT_ARCH_I386,
        }
    }

    /// Whether syscall arguments are 64 bits wide. For 32-bit ABIs only the low
    /// half of an argument is compared, as libseccomp does.
    pub(crate) fn is_64bit(self) -> bool {
        matches!(self, Abi::X86_64)
    }

    /// Whether any of the ABIs has a syscall called `name`, or x86 reaches it
    /// through a multiplexer (`send`, `recv`...): the names libseccomp knows.
    pub(crate) fn known(name: &str) -> bool {
        [Abi::X86_64, Abi::X86, Abi::X32].iter().any(|abi| abi.resolve(name).is_some())
            || super::mux::x86_multiplexed(name).is_some()
    }

    /// The number `seccomp_data.nr` carries for `name` in this ABI, if it has it.
    pub(crate) fn resolve(self, name: &str) -> Option<u32> {
        let (table, offset) = match self {
            Abi::X86_64 => (x86_64::TABLE, 0),
            Abi::X86 => (x86::TABLE, 0),
            Abi::X32 => (x32::TABLE, X32_SYSCALL_BIT),
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
        for table in [x86_64::TABLE, x86::TABLE, x32::TABLE] {
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
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn native_numbers_match_libc() {
        assert_eq!(Abi::X86_64.resolve("execve"), Some(libc::SYS_execve as u32));
        assert_eq!(Abi::X86_64.resolve("personality"), Some(libc::SYS_personality as u32));
        assert_eq!(Abi::X86_64.resolve("exit_group"), Some(libc::SYS_exit_group as u32));
    }
}
