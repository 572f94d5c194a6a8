//! [`Policy`] -> one classic-BPF seccomp program.
//!
//! We emit the BPF ourselves rather than through seccompiler: seccompiler gives a
//! filter a single match action and kills every non-native ABI, so an OCI profile
//! would need one filter per action, and the kernel would then pick the most
//! restrictive verdict across filters instead of the rule's action. One program
//! with first-match dispatch gives each syscall exactly its rule's action, covers
//! the x86 and x32 ABIs, and returns `SECCOMP_RET_USER_NOTIF` directly.
//!
//! Layout (every conditional jump is short; long distances use `ja`):
//! ```text
//!   ld arch; jeq AUDIT_ARCH_X86_64 -> native; jeq AUDIT_ARCH_I386 -> x86; ret bad_arch
//! native:
//!   ld nr; nr in [X32_BIT, 2^31) -> x32 section (or ret bad_arch if x32 is not listed)
//! each section:
//!   ld nr; for every action, groups of `jeq nr -> ret action` (unconditional syscalls)
//!   for every conditional syscall: jeq nr -> body; ja next; body: rules..., ret default
//!   jgt highest -> ret ENOSYS (stub); ret default
//! ```

use libc::sock_filter;

use super::policy::{Cmp, Op, Policy, Section};
use super::syscalls::{Abi, X32_SYSCALL_BIT};
use super::{Error, Result};

// linux/bpf_common.h
const BPF_LD: u16 = 0x00;
const BPF_ALU: u16 = 0x04;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_W: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_AND: u16 = 0x50;
const BPF_JA: u16 = 0x00;
const BPF_JEQ: u16 = 0x10;
const BPF_JGT: u16 = 0x20;
const BPF_JGE: u16 = 0x30;
const BPF_K: u16 = 0x00;

/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
pub(crate) const MAX_INSNS: usize = 4096;
/// Unconditional syscalls per shared `ret`, so that `jt` stays under 256.
const GROUP: usize = 200;

// struct seccomp_data offsets (little-endian: the low half of an arg comes first).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn arg_lo(index: u8) -> u32 {
    16 + 8 * u32::from(index)
}

#[derive(Clone, Copy, Debug)]
struct Label(usize);

#[derive(Clone, Copy, Debug)]
enum Tgt {
    Next,
    At(Label),
}

enum Item {
    Stmt { code: u16, k: u32 },
    Jump { code: u16, k: u32, jt: Tgt, jf: Tgt },
    Ja(Label),
}

/// A tiny assembler with forward labels.
#[derive(Default)]
struct Asm {
    items: Vec<Item>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }
    fn bind(&mut self, l: Label) {
        if let Some(slot) = self.labels.get_mut(l.0) {
            *slot = Some(self.items.len());
        }
    }
    fn ld(&mut self, off: u32) {
        self.items.push(Item::Stmt { code: BPF_LD | BPF_W | BPF_ABS, k: off });
    }
    fn and(&mut self, k: u32) {
        self.items.push(Item::Stmt { code: BPF_ALU | BPF_AND | BPF_K, k });
    }
    fn ret(&mut self, k: u32) {
        self.items.push(Item::Stmt { code: BPF_RET | BPF_K, k });
    }
    fn jump(&mut self, op: u16, k: u32, jt: Tgt, jf: Tgt) {
        self.items.push(Item::Jump { code: BPF_JMP | op | BPF_K, k, jt, jf });
    }
    fn ja(&mut self, l: Label) {
        self.items.push(Item::Ja(l));
    }

    fn offset(&self, pos: usize, t: Tgt) -> Result<usize> {
        match t {
            Tgt::Next => Ok(0),
            Tgt::At(l) => {
                let target = self.labels.get(l.0).copied().flatten().ok_or(Error::Codegen("unbound label"))?;
                target.checked_sub(pos + 1).ok_or(Error::Codegen("backward jump"))
            }
        }
    }

    fn finish(self) -> Result<Vec<sock_filter>> {
        if self.items.len() > MAX_INSNS {
            return Err(Error::TooLarge { len: self.items.len() });
        }
        let short = |off: usize| u8::try_from(off).map_err(|_| Error::RuleTooLong);
        let mut out = Vec::with_capacity(self.items.len());
        for (pos, item) in self.items.iter().enumerate() {
            out.push(match *item {
                Item::Stmt { code, k } => sock_filter { code, jt: 0, jf: 0, k },
                Item::Jump { code, k, jt, jf } => {
                    sock_filter { code, jt: short(self.offset(pos, jt)?)?, jf: short(self.offset(pos, jf)?)?, k }
                }
                Item::Ja(l) => {
                    let k = u32::try_from(self.offset(pos, Tgt::At(l))?).map_err(|_| Error::Codegen("jump"))?;
                    sock_filter { code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k }
                }
            });
        }
        Ok(out)
    }
}

/// Encode the policy. The native section must be `Abi::X86_64`.
pub(crate) fn assemble(p: &Policy) -> Result<Vec<sock_filter>> {
    let section = |abi: Abi| p.sections.iter().find(|s| s.abi == abi);
    let native = section(Abi::X86_64).ok_or(Error::Codegen("no native section"))?;
    let mut a = Asm::default();

    let l_native = a.label();
    let l_x86 = a.label();
    a.ld(OFF_ARCH);
    jump_long(&mut a, Abi::X86_64.audit_arch(), l_native);
    if section(Abi::X86).is_some() {
        jump_long(&mut a, Abi::X86.audit_arch(), l_x86);
    }
    a.ret(p.bad_arch);

    a.bind(l_native);
    let l_dispatch = a.label();
    let l_x32 = a.label();
    a.ld(OFF_NR);
    a.jump(BPF_JGE, X32_SYSCALL_BIT, Tgt::Next, Tgt::At(l_dispatch));
    // Negative numbers (`syscall(-1)`) are not x32: treat them as unknown native calls.
    a.jump(BPF_JGE, 0x8000_0000, Tgt::At(l_dispatch), Tgt::Next);
    if section(Abi::X32).is_some() {
        a.ja(l_x32);
    } else {
        a.ret(p.bad_arch);
    }
    a.bind(l_dispatch);
    emit_section(&mut a, native, p.default)?;

    if let Some(x32) = section(Abi::X32) {
        a.bind(l_x32);
        emit_section(&mut a, x32, p.default)?;
    }
    if let Some(x86) = section(Abi::X86) {
        a.bind(l_x86);
        emit_section(&mut a, x86, p.default)?;
    }
    a.finish()
}

/// `if A == k goto l` for any distance.
fn jump_long(a: &mut Asm, k: u32, l: Label) {
    let skip = a.label();
    a.jump(BPF_JEQ, k, Tgt::Next, Tgt::At(skip));
    a.ja(l);
    a.bind(skip);
}

fn emit_section(a: &mut Asm, s: &Section, default: u32) -> Result<()> {
    a.ld(OFF_NR);

    // Unconditional syscalls, grouped by action so that each group shares one `ret`.
    let mut by_ret: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for call in &s.syscalls {
        if let [rule] = call.rules.as_slice() {
            if rule.conds.is_empty() {
                by_ret.entry(rule.ret).or_default().push(call.nr);
            }
        }
    }
    for (ret, nrs) in &by_ret {
        for chunk in nrs.chunks(GROUP) {
            let hit = a.label();
            let after = a.label();
            for nr in chunk {
                a.jump(BPF_JEQ, *nr, Tgt::At(hit), Tgt::Next);
            }
            a.ja(after);
            a.bind(hit);
            a.ret(*ret);
            a.bind(after);
        }
    }

    // Syscalls with argument conditions: each body ends in a `ret`, since it clobbers A.
    let is_plain = |rules: &[super::policy::Rule]| matches!(rules, [r] if r.conds.is_empty());
    for call in s.syscalls.iter().filter(|c| !is_plain(&c.rules)) {
        let body = a.label();
        let next = a.label();
        a.jump(BPF_JEQ, call.nr, Tgt::At(body), Tgt::Next);
        a.ja(next);
        a.bind(body);
        for rule in &call.rules {
            let fail = a.label();
            for cmp in &rule.conds {
                emit_cmp(a, s.abi.is_64bit(), cmp, fail);
            }
            a.ret(rule.ret);
            a.bind(fail);
        }
        a.ret(default);
        a.bind(next);
    }

    if let Some(highest) = s.enosys_above {
        let known = a.label();
        a.jump(BPF_JGT, highest, Tgt::Next, Tgt::At(known));
        a.ret(libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
        a.bind(known);
    }
    a.ret(default);
    Ok(())
}

/// Fall through when `cmp` holds, jump to `fail` otherwise. 64-bit values are
/// compared unsigned, high half first; 32-bit ABIs compare only the low half.
fn emit_cmp(a: &mut Asm, wide: bool, cmp: &Cmp, fail: Label) {
    let lo_off = arg_lo(cmp.index);
    let hi_off = lo_off + 4;
    let (vh, vl) = ((cmp.value >> 32) as u32, cmp.value as u32);
    let (mh, ml) = ((cmp.mask >> 32) as u32, cmp.mask as u32);
    let fail = Tgt::At(fail);
    match cmp.op {
        Op::Eq => {
            if wide {
                a.ld(hi_off);
                a.jump(BPF_JEQ, vh, Tgt::Next, fail);
            }
            a.ld(lo_off);
            a.jump(BPF_JEQ, vl, Tgt::Next, fail);
        }
        Op::Ne => {
            let ok = a.label();
            if wide {
                a.ld(hi_off);
                a.jump(BPF_JEQ, vh, Tgt::Next, Tgt::At(ok));
            }
            a.ld(lo_off);
            a.jump(BPF_JEQ, vl, fail, Tgt::Next);
            a.bind(ok);
        }
        Op::Gt | Op::Ge => {
            let ok = a.label();
            if wide {
                a.ld(hi_off);
                a.jump(BPF_JGT, vh, Tgt::At(ok), Tgt::Next);
                a.jump(BPF_JEQ, vh, Tgt::Next, fail);
            }
            a.ld(lo_off);
            let op = if cmp.op == Op::Gt { BPF_JGT } else { BPF_JGE };
            a.jump(op, vl, Tgt::Next, fail);
            a.bind(ok);
        }
        // Lt is "not Ge", Le is "not Gt".
        Op::Lt | Op::Le => {
            let ok = a.label();
            if wide {
                a.ld(hi_off);
                a.jump(BPF_JGT, vh, fail, Tgt::Next);
                a.jump(BPF_JEQ, vh, Tgt::Next, Tgt::At(ok));
            }
            a.ld(lo_off);
            let op = if cmp.op == Op::Lt { BPF_JGE } else { BPF_JGT };
            a.jump(op, vl, fail, Tgt::Next);
            a.bind(ok);
        }
        Op::MaskedEq => {
            if wide {
                a.ld(hi_off);
                a.and(mh);
                a.jump(BPF_JEQ, vh, Tgt::Next, fail);
            }
            a.ld(lo_off);
            a.and(ml);
            a.jump(BPF_JEQ, vl, Tgt::Next, fail);
        }
    }
}
