//! A classic-BPF interpreter over `seccomp_data`, for tests: it runs the programs
//! `bpf` emits and the ones libseccomp (with runc's stub) emits (the opcodes
//! seccomp accepts that either uses) and returns the verdict.

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
    run_traced(prog, data, &mut |_| {})
}

/// [`run`], calling `visit` with the index of every instruction executed.
pub(crate) fn run_traced(prog: &[sock_filter], data: &Data, visit: &mut dyn FnMut(usize)) -> u32 {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    loop {
        let i = prog.get(pc).unwrap_or_else(|| panic!("fell off the end at {pc}"));
        visit(pc);
        pc += 1;
        match i.code {
            0x20 => a = data.word(i.k), // ld w abs
            0x54 => a &= i.k,           // alu and k
            0x06 => return i.k,         // ret k
            0x05 => pc += i.k as usize, // ja
            0x15 | 0x25 | 0x35 | 0x45 => {
                let taken = match i.code {
                    0x15 => a == i.k,
                    0x25 => a > i.k,
                    0x35 => a >= i.k,
                    _ => a & i.k != 0,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            c => panic!("unexpected opcode {c:#x} at {}", pc - 1),
        }
    }
}

/// For every instruction: whether it is a conditional jump that compares a
/// stale accumulator: depending on the path taken to it, different things
/// (words of `seccomp_data`, or one word under different masks), or the arch
/// word with something that is not one of `arches`. A correct program does
/// neither: each comparison tests one word, and the arch word is only compared
/// with architectures. libseccomp 2.5 sometimes does (see `differential_tests.rs`).
pub(crate) fn stale_compares(prog: &[sock_filter], arches: &[u32]) -> Vec<bool> {
    use std::collections::BTreeSet;
    // (offset of the last load, mask applied since); u32::MAX: nothing loaded.
    let mut states: Vec<BTreeSet<(u32, u32)>> = vec![BTreeSet::new(); prog.len() + 1];
    if let Some(first) = states.first_mut() {
        first.insert((u32::MAX, u32::MAX));
    }
    for (pc, i) in prog.iter().enumerate() {
        let here: Vec<(u32, u32)> = states[pc].iter().copied().collect();
        let after: Vec<(u32, u32)> = match i.code {
            0x20 => vec![(i.k, u32::MAX)],
            0x54 => here.iter().map(|(off, mask)| (*off, mask & i.k)).collect(),
            _ => here,
        };
        let next: Vec<usize> = match i.code {
            0x06 => vec![],
            0x05 => vec![pc + 1 + i.k as usize],
            0x15 | 0x25 | 0x35 | 0x45 => vec![pc + 1 + usize::from(i.jt), pc + 1 + usize::from(i.jf)],
            _ => vec![pc + 1],
        };
        for n in next {
            if let Some(s) = states.get_mut(n) {
                s.extend(after.iter().copied());
            }
        }
    }
    prog.iter()
        .zip(&states)
        .map(|(i, s)| {
            let arch_misused = s.iter().any(|(off, _)| *off == 4) && !arches.contains(&i.k);
            matches!(i.code, 0x15 | 0x25 | 0x35 | 0x45) && (s.len() > 1 || arch_misused)
        })
        .collect()
}

/// The kernel's verdict when several filters are stacked: the one whose action
/// has the highest precedence (lowest value as a signed action) wins.
pub(crate) fn run_stacked(progs: &[&[sock_filter]], data: &Data) -> u32 {
    let rank = |ret: u32| (ret & libc::SECCOMP_RET_ACTION_FULL) as i32;
    progs.iter().map(|p| run(p, data)).min_by_key(|r| rank(*r)).unwrap_or(libc::SECCOMP_RET_ALLOW)
}
