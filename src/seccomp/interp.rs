//! A classic-BPF interpreter over `seccomp_data`, for tests: it runs the programs
//! `bpf` emits (the opcodes seccomp accepts that we use) and returns the verdict.

use libc::sock_filter;

/// The fields of `struct seccomp_data` a filter can read.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Data {
    pub nr: u32,
    pub arch: u32,
    pub args: [u64; 6],
}

impl Data {
    fn word(&self, off: u32) -> u32 {
        match off {
            0 => self.nr,
            4 => self.arch,
            16..=63 if off.is_multiple_of(4) => {
                let arg = self.args[((off - 16) / 8) as usize];
                if (off - 16).is_multiple_of(8) {
                    arg as u32
                } else {
                    (arg >> 32) as u32
                }
            }
            _ => panic!("load from unexpected offset {off}"),
        }
    }
}

/// Run `prog` on `data` and return its `SECCOMP_RET_*` value.
pub(crate) fn run(prog: &[sock_filter], data: &Data) -> u32 {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    loop {
        let i = prog.get(pc).unwrap_or_else(|| panic!("fell off the end at {pc}"));
        pc += 1;
        match i.code {
            0x20 => a = data.word(i.k), // ld w abs
            0x54 => a &= i.k,           // alu and k
            0x06 => return i.k,         // ret k
            0x05 => pc += i.k as usize, // ja
            0x15 | 0x25 | 0x35 => {
                let taken = match i.code {
                    0x15 => a == i.k,
                    0x25 => a > i.k,
                    _ => a >= i.k,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            c => panic!("unexpected opcode {c:#x} at {}", pc - 1),
        }
    }
}

/// The kernel's verdict when several filters are stacked: the one whose action
/// has the highest precedence (lowest value as a signed action) wins.
pub(crate) fn run_stacked(progs: &[&[sock_filter]], data: &Data) -> u32 {
    let rank = |ret: u32| (ret & libc::SECCOMP_RET_ACTION_FULL) as i32;
    progs.iter().map(|p| run(p, data)).min_by_key(|r| rank(*r)).unwrap_or(libc::SECCOMP_RET_ALLOW)
}
