//! [`Policy`] -> one classic-BPF seccomp program.
//!
//! Why berth emits its own BPF rather than calling libseccomp (what runc and crun
//! do) or seccompiler: berth links statically and starts in about a millisecond,
//! and libseccomp would be a C dependency linked into every `berth` call;
//! seccompiler gives a filter a single match action and kills every non-native
//! ABI, so an OCI profile would need one filter per action, and the kernel would
//! then pick the most restrictive verdict across filters instead of the rule's
//! action. One program built here gives every call exactly the verdict runc's
//! libseccomp program (plus runc's ENOSYS stub) gives it, on x86_64, x86 and x32,
//! (and aarch64, arm and riscv64), and returns `SECCOMP_RET_USER_NOTIF` directly. That equality is the price of
//! not using libseccomp, and it is paid in `policy`/`tree`/`mux` (the meaning)
//! and proven by `differential_tests.rs`, which runs random profiles and calls
//! through both programs.
//!
//! Layout (the program only ever jumps forward; `ja` covers long distances):
//! ```text
//!   ld arch; jeq <native arch> -> native; jeq <compat arch> -> compat...; ret bad_arch
//! native (x86_64):
//!   ld nr; ENOSYS stub: nr has __X32_SYSCALL_BIT ? nr > x32 highest : nr > x86_64 highest
//!   without x32: nr in [X32_SYSCALL_BIT, 0xffffffff) -> ret bad_arch (libseccomp)
//!   dispatch x86_64 and x32 syscalls (the x32 numbers carry the bit), ret default
//! native (aarch64, riscv64), and each compat section (x86 on x86_64, arm on aarch64):
//!   ld nr; ENOSYS stub: nr > highest; dispatch the ABI's syscalls, ret default
//! dispatch:
//!   for every action, groups of `jeq nr -> ret action` (syscalls without conditions)
//!   for every syscall with conditions: jeq nr -> its tree; the tree ends in rets
//! tree node (libseccomp's evaluation order, see `tree`):
//!   ld word; [and mask]; jeq/jgt/jge datum -> true branch, false branch
//! ```

use std::collections::{BTreeMap, HashMap};

use libc::sock_filter;

use super::policy::{Policy, Section};
use super::syscalls::{Abi, X32_SYSCALL_BIT};
use super::tree::{Body, NodeOp, Table, Then};
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
const BPF_JSET: u16 = 0x40;
const BPF_K: u16 = 0x00;

/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
pub(crate) const MAX_INSNS: usize = 4096;
/// Unconditional syscalls per shared `ret`, so that `jt` stays under 256.
const GROUP: usize = 200;

// struct seccomp_data offsets (little-endian: the low half of an arg comes first).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn arg_word(index: u8, hi: bool) -> u32 {
    16 + 8 * u32::from(index) + if hi { 4 } else { 0 }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
        let short = |off: usize| u8::try_from(off).map_err(|_| Error::Codegen("conditional jump too long"));
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

/// Encode the policy. The first section is the native ABI's; x32's, when there
/// is one, shares x86_64's arch value and joins its part of the program.
pub(crate) fn assemble(p: &Policy) -> Result<Vec<sock_filter>> {
    let native = p.sections.first().ok_or(Error::Codegen("no native section"))?;
    let x32 = p.sections.iter().find(|s| s.abi == Abi::X32);
    if x32.is_some() && native.abi != Abi::X86_64 {
        return Err(Error::Codegen("x32 without x86_64"));
    }
    let compat: Vec<&Section> = p.sections.iter().skip(1).filter(|s| s.abi != Abi::X32).collect();
    let mut a = Asm::default();

    let l_native = a.label();
    let l_compat: Vec<Label> = compat.iter().map(|_| a.label()).collect();
    a.ld(OFF_ARCH);
    jump_long(&mut a, native.abi.audit_arch(), l_native);
    for (section, l) in compat.iter().zip(&l_compat) {
        jump_long(&mut a, section.abi.audit_arch(), *l);
    }
    a.ret(p.bad_arch);

    a.bind(l_native);
    a.ld(OFF_NR);
    if native.abi == Abi::X86_64 {
        // x86_64 and x32 calls share AUDIT_ARCH_X86_64; x32 numbers have the bit.
        // Calls with the x32 bit are checked against x32's numbers even when x32 is
        // not listed (runc's stub then lets them through, and they are a bad arch).
        emit_stub(&mut a, native.enosys_above, Some(x32.and_then(|s| s.enosys_above)));
        if x32.is_none() {
            // libseccomp: x32-range numbers are a bad arch when x32 is not listed,
            // except -1 (what a tracer sets to skip a call).
            let dispatch = a.label();
            a.jump(BPF_JGE, X32_SYSCALL_BIT, Tgt::Next, Tgt::At(dispatch));
            a.jump(BPF_JEQ, u32::MAX, Tgt::At(dispatch), Tgt::Next);
            a.ret(p.bad_arch);
            a.bind(dispatch);
        }
    } else {
        emit_stub(&mut a, native.enosys_above, None);
    }
    let mut tables = vec![&native.table];
    tables.extend(x32.map(|s| &s.table));
    emit_dispatch(&mut a, &tables, p.default)?;

    for (section, l) in compat.iter().zip(l_compat) {
        a.bind(l);
        a.ld(OFF_NR);
        emit_stub(&mut a, section.enosys_above, None);
        emit_dispatch(&mut a, &[&section.table], p.default)?;
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

/// runc's ENOSYS stub with A = nr: calls numbered above `high` return ENOSYS.
/// On `AUDIT_ARCH_X86_64` (`x32` is `Some`) calls with `__X32_SYSCALL_BIT` are
/// x32 calls and are checked against the x32 highest number instead. A is kept.
fn emit_stub(a: &mut Asm, high: Option<u32>, x32: Option<Option<u32>>) {
    let x32_high = x32.flatten();
    if high.is_none() && x32_high.is_none() {
        return;
    }
    let enosys = a.label();
    let done = a.label();
    if x32.is_some() {
        let l_x32 = a.label();
        a.jump(BPF_JSET, X32_SYSCALL_BIT, Tgt::At(l_x32), Tgt::Next);
        if let Some(h) = high {
            a.jump(BPF_JGT, h, Tgt::At(enosys), Tgt::Next);
        }
        a.ja(done);
        a.bind(l_x32);
        if let Some(h) = x32_high {
            a.jump(BPF_JGT, h, Tgt::At(enosys), Tgt::Next);
        }
    } else if let Some(h) = high {
        a.jump(BPF_JGT, h, Tgt::At(enosys), Tgt::Next);
    }
    a.ja(done);
    a.bind(enosys);
    a.ret(libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
    a.bind(done);
}

/// With A = nr: the verdict for every syscall in `tables`, else `default`.
fn emit_dispatch(a: &mut Asm, tables: &[&Table], default: u32) -> Result<()> {
    // Syscalls without conditions, grouped by action so that each group shares one `ret`.
    let mut by_ret: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (nr, body) in tables.iter().flat_map(|t| t.calls()) {
        if let Body::Ret(ret) = body {
            by_ret.entry(ret).or_default().push(nr);
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

    // Syscalls with argument conditions: each tree ends in `ret`s, since it clobbers A.
    for table in tables {
        for (nr, body) in table.calls() {
            let Body::Tree(root) = body else { continue };
            let tree = a.label();
            let next = a.label();
            a.jump(BPF_JEQ, nr, Tgt::At(tree), Tgt::Next);
            a.ja(next);
            a.bind(tree);
            emit_tree(a, table, root, default)?;
            a.bind(next);
        }
    }
    a.ret(default);
    Ok(())
}

/// Where evaluation goes: a block (a node, plus where to go when that node and
/// the rest of its level decide nothing), or a return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Goto {
    Block(usize),
    Ret(u32),
}

/// Encode the tree whose top level starts at `root`. A node can be reached
/// from several places (libseccomp shares the rest of a chain between the
/// branches of a 64-bit range comparison) and with different continuations, so
/// each (node, continuation) pair becomes one block; the blocks are laid out in
/// topological order, so that every jump goes forward.
fn emit_tree(a: &mut Asm, table: &Table, root: usize, default: u32) -> Result<()> {
    // Blocks: (node, continuation) -> index; edges found breadth first.
    let mut blocks: Vec<(usize, Goto)> = Vec::new();
    let mut index: HashMap<(usize, Goto), usize> = HashMap::new();
    let mut edges: Vec<[Goto; 2]> = Vec::new();
    let mut intern = |node: usize, cont: Goto, blocks: &mut Vec<(usize, Goto)>| -> usize {
        *index.entry((node, cont)).or_insert_with(|| {
            blocks.push((node, cont));
            blocks.len() - 1
        })
    };
    let start = intern(root, Goto::Ret(default), &mut blocks);
    let mut i = 0;
    while i < blocks.len() {
        let (node, cont) = blocks[i];
        let t = table.test(node).ok_or(Error::Codegen("dangling tree node"))?;
        // What comes after this node when its branch decides nothing.
        let rest = match t.next {
            Some(n) => Goto::Block(intern(n, cont, &mut blocks)),
            None => cont,
        };
        let mut target = |then: Then, blocks: &mut Vec<(usize, Goto)>| match then {
            Then::Level(n) => Goto::Block(intern(n, rest, blocks)),
            Then::Ret(r) => Goto::Ret(r),
            Then::Next => rest,
        };
        let on_true = target(t.on_true, &mut blocks);
        let on_false = target(t.on_false, &mut blocks);
        edges.push([on_true, on_false]);
        i += 1;
        if blocks.len() > MAX_INSNS {
            return Err(Error::TooLarge { len: blocks.len() });
        }
    }
    let order = topological(start, &edges)?;

    let labels: Vec<Label> = blocks.iter().map(|_| a.label()).collect();
    let mut rets: BTreeMap<u32, Label> = BTreeMap::new();
    let mut goto_label = |g: Goto, a: &mut Asm| match g {
        Goto::Block(b) => labels[b],
        Goto::Ret(r) => *rets.entry(r).or_insert_with(|| a.label()),
    };
    for &b in &order {
        let (node, _) = blocks[b];
        let t = table.test(node).ok_or(Error::Codegen("dangling tree node"))?;
        a.bind(labels[b]);
        a.ld(arg_word(t.arg, t.hi));
        if t.op == NodeOp::MaskedEq && t.mask != u32::MAX {
            a.and(t.mask);
        }
        let op = match t.op {
            NodeOp::Eq | NodeOp::MaskedEq => BPF_JEQ,
            NodeOp::Gt => BPF_JGT,
            NodeOp::Ge => BPF_JGE,
        };
        let [on_true, on_false] = edges[b];
        let (lt, lf) = (goto_label(on_true, a), goto_label(on_false, a));
        // Targets can be far: reach both through `ja`.
        let skip = a.label();
        a.jump(op, t.datum, Tgt::Next, Tgt::At(skip));
        a.ja(lt);
        a.bind(skip);
        a.ja(lf);
    }
    for (ret, label) in rets {
        a.bind(label);
        a.ret(ret);
    }
    Ok(())
}

/// Blocks reachable from `start`, ordered so that every edge goes forward.
fn topological(start: usize, edges: &[[Goto; 2]]) -> Result<Vec<usize>> {
    // Iterative depth-first search; reverse post-order of a DAG is topological.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    let mut post = Vec::with_capacity(edges.len());
    let mut stack = vec![(start, 0usize)];
    mark[start] = Mark::Open;
    while let Some((b, k)) = stack.pop() {
        if k < 2 {
            stack.push((b, k + 1));
            if let Goto::Block(c) = edges[b][k] {
                match mark[c] {
                    Mark::New => {
                        mark[c] = Mark::Open;
                        stack.push((c, 0));
                    }
                    Mark::Open => return Err(Error::Codegen("cycle in the decision tree")),
                    Mark::Done => {}
                }
            }
        } else {
            mark[b] = Mark::Done;
            post.push(b);
        }
    }
    post.reverse();
    Ok(post)
}
