//! The i386 multiplexers: `socketcall(2)` and `ipc(2)`.
//!
//! A 32-bit x86 program can reach every socket call through `socketcall(call,
//! args)` (number 102) and every SysV IPC call through `ipc(call, ...)` (117);
//! the direct syscalls (`socket` = 359, ..., `shmget` = 395, ...) only came with
//! Linux 4.3 and 5.1, and some (`send`, `recv`, `accept`, `semop`) never came.
//! A profile that denies `socket` therefore denies nothing for such a program
//! unless the filter also looks at `socketcall`'s first argument.
//!
//! berth gives the verdicts libseccomp gives (it is what runc and crun load; see
//! libseccomp's `abi_rule_add()` in `src/syscalls.c`, 2.5.x). For every rule
//! whose syscall belongs to one of the two families, on the x86 ABI only:
//! - one rule goes to the multiplexer: the same action and the same argument
//!   conditions, except that the condition on argument 0 becomes
//!   `arg0 == <call number>` (whatever the profile said about argument 0);
//! - one rule goes to the direct syscall, unchanged, when x86 has one.
//!
//! Two consequences are libseccomp's, and berth keeps them so that a profile means
//! the same thing under every runtime:
//! - the real arguments of a multiplexed call sit in user memory behind a pointer
//!   that seccomp cannot read, so the profile's conditions on arguments 1-5 are
//!   compared with `socketcall`'s/`ipc`'s own arguments (a pointer, ...), and its
//!   condition on argument 0 (say `socket` with `domain != AF_VSOCK`) is replaced:
//!   through `socketcall` that rule matches every `socket` call;
//! - `ipc(2)` takes the call number from the low 16 bits of its first argument (the
//!   high 16 are an interface version), while the rule compares all 32 bits.
//!
//! x86_64 and x32 have no multiplexers: there, these names are ordinary syscalls.

/// `socketcall(2)`'s call numbers (`SYS_*` in linux/net.h).
const SOCKETCALL: &[(&str, u32)] = &[
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];

/// `ipc(2)`'s call numbers (`SEMOP`... in linux/ipc.h).
const IPC: &[(&str, u32)] = &[
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

/// i386 `__NR_socketcall`.
pub(crate) const X86_SOCKETCALL: u32 = 102;
/// i386 `__NR_ipc`.
pub(crate) const X86_IPC: u32 = 117;

/// Where an x86 rule for `name` goes through a multiplexer: `(multiplexer
/// syscall number, call number)`, or `None` for an ordinary syscall.
pub(crate) fn x86_multiplexed(name: &str) -> Option<(u32, u32)> {
    let find = |table: &[(&str, u32)]| table.iter().find(|(n, _)| *n == name).map(|(_, call)| *call);
    find(SOCKETCALL).map(|call| (X86_SOCKETCALL, call)).or_else(|| find(IPC).map(|call| (X86_IPC, call)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_numbers_match_the_kernel_headers() {
        assert_eq!(x86_multiplexed("socket"), Some((X86_SOCKETCALL, 1)));
        assert_eq!(x86_multiplexed("sendmmsg"), Some((X86_SOCKETCALL, 20)));
        assert_eq!(x86_multiplexed("semtimedop"), Some((X86_IPC, 4)));
        assert_eq!(x86_multiplexed("shmctl"), Some((X86_IPC, 24)));
        assert_eq!(x86_multiplexed("socketcall"), None);
        assert_eq!(x86_multiplexed("read"), None);
        // The kernel's own numbering, as far as libc exports it.
        assert_eq!(x86_multiplexed("recvmmsg").map(|m| m.1), Some(19));
    }
}
