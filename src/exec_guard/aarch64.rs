//! The trampoline for aarch64 (`exec_guard` says what it does), instruction
//! for instruction the x86_64 one: same calling convention, same messages,
//! same exit codes. Position independent (`adr` reaches the messages) and
//! with a `PT_GNU_STACK` that keeps the stack non-executable. Linux's
//! generic syscall numbers: `execve` 221, `write` 64, `exit_group` 94.
//!
//! At entry `sp` points at `argc`, then `argv[0..argc]`, a null, `envp`.

use super::elf::{self, Elf};

/// `EM_AARCH64`, mapped at the conventional non-PIE base, aligned for the
/// largest page size aarch64 kernels use (64 KiB).
pub(super) const ELF: Elf = Elf { machine: 183, load_addr: 0x40_0000, align: 0x1_0000, gnu_stack: true };

/// The code, from `aarch64-linux-gnu-as`: one instruction per word, each
/// comment its offset from the start of the code and how
/// `aarch64-linux-gnu-objdump -D -b binary -m aarch64` reads it (branch
/// and `adr` targets are offsets too), then what it is for. The unit test
/// `trampoline_tests::code_disassembles_as_documented` runs that objdump.
#[rustfmt::skip]
pub(super) const CODE: [u32; 56] = [
        // _start:
        0xf94003e9, // 00: ldr x9, [sp]                   argc
        0xf100093f, // 04: cmp x9, #0x2
        0x540005a3, // 08: b.cc 0xbc                      fewer than 2 args: nothing to run
        0xf94007e0, // 0c: ldr x0, [sp, #8]               path = argv[0] (the program)
        0x910043e1, // 10: add x1, sp, #0x10              argv = &argv[1] (the user's argv)
        0x8b296fe2, // 14: add x2, sp, x9, lsl #3
        0x91004042, // 18: add x2, x2, #0x10              envp = &argv[argc + 1]
        0xd2801ba8, // 1c: mov x8, #0xdd                  SYS_execve
        0xd4000001, // 20: svc #0x0                       returns only on failure, x0 = -errno
        0xcb0003f3, // 24: neg x19, x0                    keep errno
        0xf94007f4, // 28: ldr x20, [sp, #8]              keep the path
        0xd10083ff, // 2c: sub sp, sp, #0x20              scratch for the errno digits (sp stays 16-aligned)
        0x10000641, // 30: adr x1, 0xf8                   PREFIX "berth: exec `"
        0xd28001a2, // 34: mov x2, #0xd
        0x94000026, // 38: bl 0xd0
        0xaa1403e1, // 3c: mov x1, x20                    strlen(path) into x2
        0xd2800002, // 40: mov x2, #0x0
        // strlen:
        0x38626823, // 44: ldrb w3, [x1, x2]
        0x34000063, // 48: cbz w3, 0x54
        0x91000442, // 4c: add x2, x2, #0x1
        0x17fffffd, // 50: b 0x44
        0x9400001f, // 54: bl 0xd0                        the path
        0x30000561, // 58: adr x1, 0x105                  SUFFIX "`: errno "
        0xd2800122, // 5c: mov x2, #0x9
        0x9400001c, // 60: bl 0xd0
        0x91007fe1, // 64: add x1, sp, #0x1f              digits are written backwards from the end
        0x52800143, // 68: mov w3, #0xa
        0x39000023, // 6c: strb w3, [x1]                  a final newline
        0xaa1303e4, // 70: mov x4, x19
        0xd2800145, // 74: mov x5, #0xa
        // digits:
        0x9ac50886, // 78: udiv x6, x4, x5                x6 = n / 10
        0x9b0590c7, // 7c: msub x7, x6, x5, x4            x7 = n % 10
        0x1100c0e7, // 80: add w7, w7, #0x30              '0' + digit
        0xd1000421, // 84: sub x1, x1, #0x1
        0x39000027, // 88: strb w7, [x1]
        0xaa0603e4, // 8c: mov x4, x6
        0xb5ffff44, // 90: cbnz x4, 0x78
        0x910083e2, // 94: add x2, sp, #0x20              length = end - start
        0xcb010042, // 98: sub x2, x2, x1
        0x9400000d, // 9c: bl 0xd0                        the digits
        0xd2800fc0, // a0: mov x0, #0x7e                  126: found but could not run
        0xf1000a7f, // a4: cmp x19, #0x2                  ENOENT?
        0x54000041, // a8: b.ne 0xb0
        0xd2800fe0, // ac: mov x0, #0x7f                  127: not found
        // exit:
        0xd2800bc8, // b0: mov x8, #0x5e                  SYS_exit_group
        0xd4000001, // b4: svc #0x0
        0xd4200000, // b8: brk #0x0                       unreachable
        // usage:
        0x10000121, // bc: adr x1, 0xe0                   USAGE "berth: exec: no program\n"
        0xd2800302, // c0: mov x2, #0x18
        0x94000003, // c4: bl 0xd0
        0xd2800fe0, // c8: mov x0, #0x7f
        0x17fffff9, // cc: b 0xb0
        // put (x1 = bytes, x2 = length):
        0xd2800040, // d0: mov x0, #0x2                   fd 2
        0xd2800808, // d4: mov x8, #0x40                  SYS_write
        0xd4000001, // d8: svc #0x0
        0xd65f03c0, // dc: ret
];
/// The messages, right after the code: offsets 0xe0, 0xf8 and 0x105.
const USAGE: &[u8] = b"berth: exec: no program\n";
const PREFIX: &[u8] = b"berth: exec `";
const SUFFIX: &[u8] = b"`: errno ";

// The `adr` offsets and the lengths encoded in CODE assume this layout.
const _: () = assert!(CODE.len() * 4 == 0xe0 && USAGE.len() == 0x18 && PREFIX.len() == 0x0d && SUFFIX.len() == 0x09);

const CODE_BYTES: [u8; 0xe0] = elf::le_words(&CODE);
const LEN: usize = ELF.code_offset() + CODE_BYTES.len() + USAGE.len() + PREFIX.len() + SUFFIX.len();

/// The trampoline ELF file, written into the memfd by `exec_guard::prepare`.
pub const TRAMPOLINE: &[u8] = &elf::image::<LEN>(&ELF, &[&CODE_BYTES, USAGE, PREFIX, SUFFIX]);
