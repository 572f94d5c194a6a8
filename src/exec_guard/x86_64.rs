//! The trampoline for x86_64 (`exec_guard` says what it does). It is
//! position independent (every data reference is RIP-relative) and has no
//! `PT_GNU_STACK`: on x86_64 a missing one still gives a non-executable stack
//! (only ia32 binaries get READ_IMPLIES_EXEC).

use super::elf::{self, Elf};

/// `EM_X86_64`, mapped at the conventional non-PIE base; 4 KiB pages.
pub(super) const ELF: Elf = Elf { machine: 62, load_addr: 0x40_0000, align: 0x1000, gnu_stack: false };

/// The code, from `as` (intel syntax) and checked with `objdump -d`; the
/// offsets in the comments are from the start of the code.
#[rustfmt::skip]
pub(super) const CODE: [u8; 0xce] = [
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

const LEN: usize = ELF.code_offset() + CODE.len() + USAGE.len() + PREFIX.len() + SUFFIX.len();

/// The trampoline ELF file, written into the memfd by `exec_guard::prepare`.
pub const TRAMPOLINE: &[u8] = &elf::image::<LEN>(&ELF, &[&CODE, USAGE, PREFIX, SUFFIX]);
