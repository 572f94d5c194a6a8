//! The trampoline for riscv64 (`exec_guard` says what it does), instruction
//! for instruction the x86_64 one: same calling convention, same messages,
//! same exit codes. RV64IM without compressed instructions (every Linux
//! riscv64 runs it), position independent (`auipc` + `addi` reach the
//! messages) and with a `PT_GNU_STACK` that keeps the stack non-executable.
//! Linux's generic syscall numbers: `execve` 221, `write` 64, `exit_group` 94.
//!
//! At entry `sp` points at `argc`, then `argv[0..argc]`, a null, `envp`.

use super::elf::{self, Elf};

/// `EM_RISCV`, mapped at the conventional non-PIE base; 4 KiB pages. `e_flags`
/// 0: no float ABI is used, and the kernel does not look.
pub(super) const ELF: Elf = Elf { machine: 243, load_addr: 0x40_0000, align: 0x1000, gnu_stack: true };

/// The code, from `riscv64-linux-gnu-as -march=rv64im`: one instruction per
/// word, each comment its offset from the start of the code and how
/// `riscv64-linux-gnu-objdump -D -b binary -m riscv:rv64 -M no-aliases` reads
/// it (branch targets are offsets too; `auipc` + `addi` add to the offset of
/// the `auipc`), then what it is for. The unit test
/// `trampoline_tests::code_disassembles_as_documented` runs that objdump.
#[rustfmt::skip]
pub(super) const CODE: [u32; 60] = [
        // _start:
        0x00013283, // 00: ld t0,0(sp)                    argc
        0x00200313, // 04: addi t1,zero,2
        0x0c62e063, // 08: bltu t0,t1,0xc8                fewer than 2 args: nothing to run
        0x00813503, // 0c: ld a0,8(sp)                    path = argv[0] (the program)
        0x01010593, // 10: addi a1,sp,16                  argv = &argv[1] (the user's argv)
        0x00329613, // 14: slli a2,t0,0x3
        0x00260633, // 18: add a2,a2,sp
        0x01060613, // 1c: addi a2,a2,16                  envp = &argv[argc + 1]
        0x0dd00893, // 20: addi a7,zero,221               SYS_execve
        0x00000073, // 24: ecall                          returns only on failure, a0 = -errno
        0x40a004b3, // 28: sub s1,zero,a0                 keep errno (neg)
        0x00813903, // 2c: ld s2,8(sp)                    keep the path
        0xfe010113, // 30: addi sp,sp,-32                 scratch for the errno digits (sp stays 16-aligned)
        0x00000597, // 34: auipc a1,0x0                   PREFIX "berth: exec `" (pc-relative)
        0x0d458593, // 38: addi a1,a1,212                 0x34 + 212 = 0x108
        0x00d00613, // 3c: addi a2,zero,13
        0x0a0000ef, // 40: jal ra,0xe0
        0x00090593, // 44: addi a1,s2,0                   strlen(path) into a2 (mv)
        0x00000613, // 48: addi a2,zero,0
        // strlen:
        0x00c582b3, // 4c: add t0,a1,a2
        0x0002c283, // 50: lbu t0,0(t0)
        0x00028663, // 54: beq t0,zero,0x60
        0x00160613, // 58: addi a2,a2,1
        0xff1ff06f, // 5c: jal zero,0x4c
        0x080000ef, // 60: jal ra,0xe0                    the path
        0x00000597, // 64: auipc a1,0x0                   SUFFIX "`: errno " (pc-relative)
        0x0b158593, // 68: addi a1,a1,177                 0x64 + 177 = 0x115
        0x00900613, // 6c: addi a2,zero,9
        0x070000ef, // 70: jal ra,0xe0
        0x01f10593, // 74: addi a1,sp,31                  digits are written backwards from the end
        0x00a00293, // 78: addi t0,zero,10
        0x00558023, // 7c: sb t0,0(a1)                    a final newline
        0x00048293, // 80: addi t0,s1,0                   n (mv)
        0x00a00313, // 84: addi t1,zero,10
        // digits:
        0x0262f3b3, // 88: remu t2,t0,t1                  t2 = n % 10
        0x0262d2b3, // 8c: divu t0,t0,t1                  t0 = n / 10
        0x03038393, // 90: addi t2,t2,48                  '0' + digit
        0xfff58593, // 94: addi a1,a1,-1
        0x00758023, // 98: sb t2,0(a1)
        0xfe0296e3, // 9c: bne t0,zero,0x88
        0x02010613, // a0: addi a2,sp,32                  length = end - start
        0x40b60633, // a4: sub a2,a2,a1
        0x038000ef, // a8: jal ra,0xe0                    the digits
        0x07e00513, // ac: addi a0,zero,126               126: found but could not run
        0x00200293, // b0: addi t0,zero,2                 ENOENT?
        0x00549463, // b4: bne s1,t0,0xbc
        0x07f00513, // b8: addi a0,zero,127               127: not found
        // exit:
        0x05e00893, // bc: addi a7,zero,94                SYS_exit_group
        0x00000073, // c0: ecall
        0x00100073, // c4: ebreak                         unreachable
        // usage:
        0x00000597, // c8: auipc a1,0x0                   USAGE "berth: exec: no program\n" (pc-relative)
        0x02858593, // cc: addi a1,a1,40                  0xc8 + 40 = 0xf0
        0x01800613, // d0: addi a2,zero,24
        0x00c000ef, // d4: jal ra,0xe0
        0x07f00513, // d8: addi a0,zero,127
        0xfe1ff06f, // dc: jal zero,0xbc
        // put (a1 = bytes, a2 = length):
        0x00200513, // e0: addi a0,zero,2                 fd 2
        0x04000893, // e4: addi a7,zero,64                SYS_write
        0x00000073, // e8: ecall
        0x00008067, // ec: jalr zero,0(ra)                ret
];
/// The messages, right after the code: offsets 0xf0, 0x108 and 0x115.
const USAGE: &[u8] = b"berth: exec: no program\n";
const PREFIX: &[u8] = b"berth: exec `";
const SUFFIX: &[u8] = b"`: errno ";

// The pc-relative offsets and the lengths encoded in CODE assume this layout.
const _: () = assert!(CODE.len() * 4 == 0xf0 && USAGE.len() == 0x18 && PREFIX.len() == 0x0d && SUFFIX.len() == 0x09);

const CODE_BYTES: [u8; 0xf0] = elf::le_words(&CODE);
const LEN: usize = ELF.code_offset() + CODE_BYTES.len() + USAGE.len() + PREFIX.len() + SUFFIX.len();

/// The trampoline ELF file, written into the memfd by `exec_guard::prepare`.
pub const TRAMPOLINE: &[u8] = &elf::image::<LEN>(&ELF, &[&CODE_BYTES, USAGE, PREFIX, SUFFIX]);
