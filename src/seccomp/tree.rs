//! One ABI's syscall table as libseccomp builds it: per syscall number, either
//! one action or a decision tree of 32-bit word comparisons.
//!
//! Which rule decides a call when several conditional rules for one syscall
//! overlap is not "the first one in the profile": libseccomp (and so runc, crun
//! and podman) merges the rules into a tree, and the tree's shape decides. berth
//! builds the same tree with the same insertion steps (libseccomp 2.5's
//! `src/db.c`: `_db_rule_gen_64/32`, `db_rule_add`, `_db_tree_prune`,
//! `_db_tree_add`), so that a profile gives the same verdicts, and is refused in
//! the same cases, under berth as under runc. The differential test against
//! libseccomp itself (`differential_tests.rs`) checks that. In short:
//! - a rule becomes a chain of comparisons, argument 0 first. On a 64-bit ABI a
//!   64-bit comparison becomes comparisons of the high and the low word (`a > b`
//!   is `hi(a) > hi(b)`, or `hi(a) == hi(b)` and `lo(a) > lo(b)`); on a 32-bit
//!   ABI (x86, x32) only the low word is compared. `!=`, `<`, `<=` are `==`,
//!   `>=`, `>` with the branches swapped.
//! - chains are merged into one tree: an equal comparison at the same place is
//!   one shared node; different comparisons on one level are kept in
//!   libseccomp's order (higher argument first, high word first, `==`/`!=`/masked
//!   before `<`/`<=` before `>`/`>=`, then by value), and a call is evaluated by
//!   trying a level's nodes in that order, going down a branch and, when a branch
//!   ends without an action, carrying on with the next node of the level above;
//! - a rule that ends where an existing chain has another action, or that repeats
//!   a chain with another action, is refused ([`Refusal::Conflict`], libseccomp's
//!   `-EEXIST`); a shorter rule with the same action prunes the chains it covers;
//! - the first unconditional rule for a syscall wins over every later rule and
//!   replaces the conditional rules before it.
//!
//! Nodes live in an arena with libseccomp's reference counts, including the
//! references neighbours on a level hold on each other: whether a node is freed
//! decides whether it leaves its level, so the counts are part of the semantics.
//! Known libseccomp quirks are kept on purpose (noted where they happen).
//!
//! One libseccomp bug is not kept: merging two rules that share a 64-bit range
//! comparison (`>`, `>=`, `<`, `<=`) followed by conditions on different later
//! arguments links a node into a level twice, and libseccomp then walks that
//! level forever (`seccomp_rule_add` never returns, and runc hangs). berth
//! refuses such a profile instead ([`Refusal::Loops`]).

use std::cell::Cell;
use std::collections::BTreeMap;

/// A comparison operator, with `MaskedEq` meaning `(arg & mask) == value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    MaskedEq,
}

/// One argument comparison of a rule (what `policy` makes of an OCI
/// `args` entry, and what the tree is built from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cmp {
    pub index: u8,
    pub op: Op,
    pub value: u64,
    /// Only used by `Op::MaskedEq`.
    pub mask: u64,
}

/// Why a rule cannot be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// libseccomp refuses it (`-EEXIST`): runc fails the container.
    Conflict,
    /// libseccomp never returns from adding it (see the module doc).
    Loops,
}
use Refusal::Conflict;

/// The word comparison a node makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeOp {
    Eq,
    /// `(word & mask) == datum`; a different node from `Eq` even with a full mask.
    MaskedEq,
    Gt,
    Ge,
}

/// Where a node's branch goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Then {
    /// Evaluate the level that starts at this node.
    Level(usize),
    /// Return this `SECCOMP_RET_*` value.
    Ret(u32),
    /// Try the next node of this level (or, after the last one, of the level above).
    Next,
}

/// What a syscall number does: one action, or the level that starts its tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    Ret(u32),
    Tree(usize),
}

/// A node as `bpf` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Test {
    pub arg: u8,
    /// The high word of a 64-bit argument.
    pub hi: bool,
    pub op: NodeOp,
    pub mask: u32,
    pub datum: u32,
    pub on_true: Then,
    pub on_false: Then,
    /// The next node of the same level.
    pub next: Option<usize>,
}

type Id = usize;

#[derive(Clone, Debug)]
struct Node {
    arg: u8,
    hi: bool,
    op: NodeOp,
    /// The profile's operator, which orders nodes on a level.
    orig: Op,
    mask: u32,
    datum: u32,
    /// The whole 64-bit value of the comparison this node is part of.
    datum_full: u64,
    // Actions are a flag plus a value, as in libseccomp: one quirk below sets
    // the value without the flag.
    act_t_flg: bool,
    act_t: u32,
    act_f_flg: bool,
    act_f: u32,
    lvl_prv: Option<Id>,
    lvl_nxt: Option<Id>,
    nxt_t: Option<Id>,
    nxt_f: Option<Id>,
    refcnt: u32,
}

/// Which table entry a rule goes to: a syscall number of the ABI, or a name
/// the ABI does not have (libseccomp keeps such entries under a negative pseudo
/// number: they are never part of the program, but a rule that conflicts with
/// one is refused all the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key {
    Nr(u32),
    /// An id for the name, unique within one profile.
    Pseudo(u32),
}

/// A place that holds a node reference: a syscall's tree root or a branch.
#[derive(Clone, Copy)]
enum Slot {
    Root(Key),
    True(Id),
    False(Id),
}

#[derive(Clone, Debug)]
struct Call {
    chains: Option<Id>,
    action: u32,
}

/// What `_db_tree_prune` learns while walking (libseccomp's `db_iter_state`).
#[derive(Clone, Copy)]
struct Walk {
    flags: u32,
    action: u32,
}

const MATCH: u32 = 0x1;
const MATCH_ONCE: u32 = 0x2;
const X_FINISHED: u32 = 0x10;
const N_FINISHED: u32 = 0x20;
const X_PREFIX: u32 = 0x100;
const N_PREFIX: u32 = 0x200;
const MATCHSET: u32 = MATCH | MATCH_ONCE;
const REDUNDANT: u32 = MATCH | X_FINISHED | N_PREFIX;

/// The syscalls of one ABI.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    wide: bool,
    nodes: Vec<Node>,
    calls: BTreeMap<Key, Call>,
    /// A level was found to be circular: libseccomp would loop.
    looped: Cell<bool>,
}

impl Table {
    /// An empty table; `wide` for an ABI with 64-bit arguments.
    pub(crate) fn new(wide: bool) -> Table {
        Table { wide, nodes: Vec::new(), calls: BTreeMap::new(), looped: Cell::new(false) }
    }

    /// Add a rule: syscall `nr` gets `ret` when every condition in `args` (at
    /// most one per argument, indexed by argument) holds.
    pub(crate) fn add(&mut self, nr: Key, ret: u32, args: &[Option<Cmp>; 6]) -> Result<(), Refusal> {
        let added = self.add_rule(nr, ret, args);
        if self.looped.get() {
            return Err(Refusal::Loops);
        }
        added
    }

    fn add_rule(&mut self, nr: Key, ret: u32, args: &[Option<Cmp>; 6]) -> Result<(), Refusal> {
        let new = if self.wide { self.gen_64(ret, args) } else { self.gen_32(ret, args) };
        let Some(call) = self.calls.get(&nr) else {
            self.calls.insert(nr, Call { chains: new, action: ret });
            return Ok(());
        };
        let mut pruned = false;
        let mut existing = call.chains;
        loop {
            let Some(x) = existing else {
                if pruned {
                    // The new rule pruned the whole tree: it takes its place.
                    self.calls.insert(nr, Call { chains: new, action: ret });
                } else {
                    // An unconditional rule is there already: it wins.
                    let mut new = new;
                    self.tree_put(&mut new);
                }
                return Ok(());
            };
            let Some(n) = new else {
                // An unconditional rule replaces the conditional ones.
                let mut old = Some(x);
                self.tree_put(&mut old);
                self.calls.insert(nr, Call { chains: None, action: ret });
                return Ok(());
            };
            let mut walk = Walk { flags: 0, action: ret };
            let removed = self.prune(Some(x), Some(n), &mut walk, nr);
            if removed > 0 {
                pruned = true;
                existing = self.root(nr);
                if existing.is_none() {
                    continue;
                }
            } else if walk.flags & REDUNDANT == REDUNDANT {
                // An existing shorter chain with the same action covers the rule.
                let mut new = new;
                self.tree_put(&mut new);
                return Ok(());
            }
            self.tree_add(Slot::Root(nr), n)?;
            let mut new = new;
            self.tree_put(&mut new);
            return Ok(());
        }
    }

    /// Every syscall number with a rule, in ascending order.
    pub(crate) fn calls(&self) -> impl Iterator<Item = (u32, Body)> + '_ {
        self.calls.iter().filter_map(|(key, call)| {
            let Key::Nr(nr) = key else { return None };
            let body = match call.chains {
                Some(root) => Body::Tree(self.level_start(root)),
                None => Body::Ret(call.action),
            };
            Some((*nr, body))
        })
    }

    /// Node `id` (from a [`Body::Tree`], [`Then::Level`] or `next`).
    pub(crate) fn test(&self, id: usize) -> Option<Test> {
        let n = self.nodes.get(id)?;
        let then = |flag: bool, ret: u32, sub: Option<Id>| match (sub, flag) {
            (Some(s), _) => Then::Level(self.level_start(s)),
            (None, true) => Then::Ret(ret),
            (None, false) => Then::Next,
        };
        Some(Test {
            arg: n.arg,
            hi: n.hi,
            op: n.op,
            mask: n.mask,
            datum: n.datum,
            on_true: then(n.act_t_flg, n.act_t, n.nxt_t),
            on_false: then(n.act_f_flg, n.act_f, n.nxt_f),
            next: n.lvl_nxt,
        })
    }

    // ---- rule -> chain -------------------------------------------------------

    fn alloc(&mut self, arg: u8, hi: bool, op: NodeOp, c: &Cmp, mask: u32, datum: u32) -> Id {
        self.nodes.push(Node {
            arg,
            hi,
            op,
            orig: c.op,
            mask,
            datum: datum & mask,
            datum_full: c.value,
            act_t_flg: false,
            act_t: 0,
            act_f_flg: false,
            act_f: 0,
            lvl_prv: None,
            lvl_nxt: None,
            nxt_t: None,
            nxt_f: None,
            refcnt: 0,
        });
        self.nodes.len() - 1
    }

    /// The chain of a rule on a 64-bit ABI (`_db_rule_gen_64`).
    fn gen_64(&mut self, ret: u32, args: &[Option<Cmp>; 6]) -> Option<Id> {
        let mut root = None;
        let mut prev: Option<(Op, [Id; 3])> = None;
        for c in args.iter().flatten() {
            let mask = full_mask(c);
            let (mh, ml) = ((mask >> 32) as u32, mask as u32);
            let (dh, dl) = ((c.value >> 32) as u32, c.value as u32);
            if c.op == Op::MaskedEq && mh == 0 && ml == 0 {
                continue; // always true
            }
            // [first node, second node, third node (ranges only; else the first)]
            let level = match c.op {
                Op::Gt | Op::Ge | Op::Lt | Op::Le => {
                    let c0 = self.alloc(c.index, true, NodeOp::Gt, c, mh, dh);
                    let c1 = self.alloc(c.index, true, NodeOp::Eq, c, mh, dh);
                    let lo_op = if matches!(c.op, Op::Gt | Op::Le) { NodeOp::Gt } else { NodeOp::Ge };
                    let c2 = self.alloc(c.index, false, lo_op, c, ml, dl);
                    self.nodes[c0].nxt_f = self.get(Some(c1));
                    self.nodes[c1].nxt_t = self.get(Some(c2));
                    [c0, c1, c2]
                }
                Op::Eq | Op::Ne | Op::MaskedEq => {
                    let op = if c.op == Op::MaskedEq { NodeOp::MaskedEq } else { NodeOp::Eq };
                    let c0 = self.alloc(c.index, true, op, c, mh, dh);
                    let c1 = self.alloc(c.index, false, op, c, ml, dl);
                    self.nodes[c0].nxt_t = self.get(Some(c1));
                    [c0, c1, c0]
                }
            };
            let head = Some(level[0]);
            match prev {
                // Link the accepting branches of the previous comparison to this one.
                Some((op, [p0, p1, p2])) => match op {
                    Op::Gt | Op::Ge => {
                        self.nodes[p0].nxt_t = self.get(head);
                        self.nodes[p2].nxt_t = self.get(head);
                    }
                    Op::Eq | Op::MaskedEq => self.nodes[p1].nxt_t = self.get(head),
                    Op::Lt | Op::Le => {
                        self.nodes[p1].nxt_f = self.get(head);
                        self.nodes[p2].nxt_f = self.get(head);
                    }
                    Op::Ne => {
                        self.nodes[p0].nxt_f = self.get(head);
                        self.nodes[p1].nxt_f = self.get(head);
                    }
                },
                None => root = self.get(head),
            }
            prev = Some((c.op, level));
        }
        if let Some((op, [c0, c1, c2])) = prev {
            let mut set = |id: Id, on_true: bool| {
                let n = &mut self.nodes[id];
                if on_true {
                    (n.act_t_flg, n.act_t) = (true, ret);
                } else {
                    (n.act_f_flg, n.act_f) = (true, ret);
                }
            };
            match op {
                Op::Gt | Op::Ge => {
                    set(c0, true);
                    set(c2, true);
                }
                Op::Lt | Op::Le => {
                    set(c1, false);
                    set(c2, false);
                }
                Op::Eq | Op::MaskedEq => set(c1, true),
                Op::Ne => {
                    set(c0, false);
                    set(c1, false);
                }
            }
        }
        root
    }

    /// The chain of a rule on a 32-bit ABI (`_db_rule_gen_32`): low words only.
    fn gen_32(&mut self, ret: u32, args: &[Option<Cmp>; 6]) -> Option<Id> {
        let mut root = None;
        let mut prev: Option<(Id, bool)> = None;
        for c in args.iter().flatten() {
            let mask = full_mask(c) as u32;
            if c.op == Op::MaskedEq && mask == 0 {
                continue; // always true
            }
            // The node's branch that goes on with the rule.
            let (op, accept) = match c.op {
                Op::Eq => (NodeOp::Eq, true),
                Op::Ne => (NodeOp::Eq, false),
                Op::MaskedEq => (NodeOp::MaskedEq, true),
                Op::Gt => (NodeOp::Gt, true),
                Op::Le => (NodeOp::Gt, false),
                Op::Ge => (NodeOp::Ge, true),
                Op::Lt => (NodeOp::Ge, false),
            };
            let id = self.alloc(c.index, false, op, c, mask, c.value as u32);
            match prev {
                Some((p, true)) => self.nodes[p].nxt_t = self.get(Some(id)),
                Some((p, false)) => self.nodes[p].nxt_f = self.get(Some(id)),
                None => root = self.get(Some(id)),
            }
            prev = Some((id, accept));
        }
        if let Some((id, accept)) = prev {
            let n = &mut self.nodes[id];
            if accept {
                (n.act_t_flg, n.act_t) = (true, ret);
            } else {
                (n.act_f_flg, n.act_f) = (true, ret);
            }
        }
        root
    }

    // ---- node order ---------------------------------------------------------

    fn arg_priority(n: &Node) -> u32 {
        (u32::from(n.arg) << 1) + u32::from(n.hi)
    }

    fn op_priority(op: Op) -> u32 {
        match op {
            Op::MaskedEq | Op::Eq | Op::Ne => 3,
            Op::Le | Op::Lt => 2,
            Op::Ge | Op::Gt => 1,
        }
    }

    /// `_db_chain_lt`: `a` goes after `b` on a level.
    fn chain_lt(&self, a: Id, b: Id) -> bool {
        let (a, b) = (&self.nodes[a], &self.nodes[b]);
        let (pa, pb) = (Self::arg_priority(a), Self::arg_priority(b));
        if pa != pb {
            return pa < pb;
        }
        let (oa, ob) = (Self::op_priority(a.orig), Self::op_priority(b.orig));
        if oa != ob {
            return oa < ob;
        }
        match a.orig {
            // Smaller values first for < and <=.
            Op::Le | Op::Lt => a.datum > b.datum,
            _ => a.datum < b.datum,
        }
    }

    /// `_db_chain_eq`: the same comparison (the profile's operator aside).
    fn chain_eq(&self, a: Id, b: Id) -> bool {
        let (a, b) = (&self.nodes[a], &self.nodes[b]);
        Self::arg_priority(a) == Self::arg_priority(b) && a.op == b.op && a.datum == b.datum && a.mask == b.mask
    }

    fn is_leaf(&self, id: Id) -> bool {
        let n = &self.nodes[id];
        n.nxt_t.is_none() && n.nxt_f.is_none()
    }

    fn is_zombie(&self, id: Id) -> bool {
        let n = &self.nodes[id];
        self.is_leaf(id) && !n.act_t_flg && !n.act_f_flg
    }

    fn level_start(&self, mut id: Id) -> Id {
        let mut steps = 0;
        while let Some(p) = self.nodes[id].lvl_prv {
            if !self.step(&mut steps) {
                break;
            }
            id = p;
        }
        id
    }

    /// Count one step along a level; `false` (and the table marked as looping)
    /// once there were more steps than nodes.
    fn step(&self, steps: &mut usize) -> bool {
        *steps += 1;
        if *steps > self.nodes.len() {
            self.looped.set(true);
            return false;
        }
        true
    }

    fn root(&self, nr: Key) -> Option<Id> {
        self.calls.get(&nr).and_then(|c| c.chains)
    }

    fn slot(&self, s: Slot) -> Option<Id> {
        match s {
            Slot::Root(nr) => self.root(nr),
            Slot::True(id) => self.nodes[id].nxt_t,
            Slot::False(id) => self.nodes[id].nxt_f,
        }
    }

    fn set_slot(&mut self, s: Slot, v: Option<Id>) {
        match s {
            Slot::Root(nr) => {
                if let Some(c) = self.calls.get_mut(&nr) {
                    c.chains = v;
                }
            }
            Slot::True(id) => self.nodes[id].nxt_t = v,
            Slot::False(id) => self.nodes[id].nxt_f = v,
        }
    }

    // ---- reference counts ---------------------------------------------------

    fn get(&mut self, id: Option<Id>) -> Option<Id> {
        if let Some(i) = id {
            self.nodes[i].refcnt += 1;
        }
        id
    }

    /// Drop a reference (`_db_node_put`). A freed node leaves its level, and
    /// `*node` moves to a neighbour (or `None`). Returns the number of nodes freed.
    fn node_put(&mut self, node: &mut Option<Id>) -> u32 {
        let Some(n) = *node else {
            return 0;
        };
        let mut freed = 0;
        self.nodes[n].refcnt = self.nodes[n].refcnt.wrapping_sub(1);
        if self.nodes[n].refcnt == 0 {
            let Node { lvl_prv, lvl_nxt, nxt_t, nxt_f, .. } = self.nodes[n];
            let (mut prv, mut nxt, mut t, mut f) = (lvl_prv, lvl_nxt, nxt_t, nxt_f);
            // Split the level, drop the references `n` held on its neighbours,
            // then join what is left of it.
            if let Some(p) = prv {
                self.nodes[p].lvl_nxt = None;
            }
            if let Some(q) = nxt {
                self.nodes[q].lvl_prv = None;
            }
            if prv.is_some() {
                freed += self.node_put(&mut prv);
            }
            if nxt.is_some() {
                freed += self.node_put(&mut nxt);
            }
            if let Some(p) = prv {
                self.nodes[p].lvl_nxt = self.get(nxt);
            }
            if let Some(q) = nxt {
                self.nodes[q].lvl_prv = self.get(prv);
            }
            *node = prv.or(nxt);
            freed += self.tree_put(&mut t);
            freed += self.tree_put(&mut f);
            freed += 1;
        }
        freed
    }

    /// Drop a reference to a level (`_db_tree_put`), and the whole level when only
    /// its nodes' links to each other keep it alive.
    fn tree_put(&mut self, tree: &mut Option<Id>) -> u32 {
        let mut freed = self.node_put(tree);
        if let Some(t) = *tree {
            freed += self.level_clean(t);
        }
        freed
    }

    fn level_clean(&mut self, id: Id) -> u32 {
        let start = self.level_start(id);
        let mut it = Some(start);
        let mut steps = 0;
        while let Some(i) = it {
            if !self.step(&mut steps) {
                return 0;
            }
            let n = &self.nodes[i];
            let links = u32::from(n.lvl_prv.is_some()) + u32::from(n.lvl_nxt.is_some());
            if n.refcnt > links {
                return 0;
            }
            it = n.lvl_nxt;
        }
        let mut freed = 0;
        let mut it = Some(start);
        while it.is_some() {
            let once = self.node_put(&mut it);
            if once == 0 || self.looped.get() {
                break; // (libseccomp would spin here; it never gets here)
            }
            freed += once;
        }
        freed
    }

    // ---- merging --------------------------------------------------------------

    /// `_db_tree_act_check`: every action in the level of `tree` and below is `action`.
    fn act_check(&self, tree: Option<Id>, action: u32) -> Result<(), Refusal> {
        let Some(t) = tree else {
            return Ok(());
        };
        let mut it = Some(self.level_start(t));
        let mut steps = 0;
        while let Some(i) = it {
            if !self.step(&mut steps) {
                return Err(Refusal::Loops);
            }
            let n = &self.nodes[i];
            if (n.act_t_flg && n.act_t != action) || (n.act_f_flg && n.act_f != action) {
                return Err(Conflict);
            }
            self.act_check(n.nxt_t, action)?;
            self.act_check(n.nxt_f, action)?;
            it = n.lvl_nxt;
        }
        Ok(())
    }

    /// `_db_tree_remove`: find `node` under the level in `slot` and cut it out with
    /// its subtrees; an empty leaf met on the way is cut instead. Returns the
    /// number of nodes freed.
    fn remove(&mut self, slot: Slot, node: Id) -> u32 {
        let Some(top) = self.slot(slot) else {
            return 0;
        };
        let mut freed = 0;
        let mut c = self.level_start(top);
        let mut steps = 0;
        loop {
            if !self.step(&mut steps) {
                return freed;
            }
            if c == node {
                return freed + self.cut(slot, c);
            }
            freed += self.remove(Slot::True(c), node);
            freed += self.remove(Slot::False(c), node);
            if self.is_zombie(c) {
                return freed + self.cut(slot, c);
            }
            match self.nodes[c].lvl_nxt {
                Some(next) if freed == 0 => c = next,
                _ => return freed,
            }
        }
    }

    fn cut(&mut self, slot: Slot, c: Id) -> u32 {
        let (prv, nxt) = (self.nodes[c].lvl_prv, self.nodes[c].lvl_nxt);
        if self.slot(slot) == Some(c) {
            self.set_slot(slot, prv.or(nxt));
        }
        // Neighbours keep the references they held on `c`, as in libseccomp.
        if let Some(p) = prv {
            self.nodes[p].lvl_nxt = nxt;
        }
        if let Some(q) = nxt {
            self.nodes[q].lvl_prv = prv;
        }
        self.nodes[c].lvl_prv = None;
        self.nodes[c].lvl_nxt = None;
        self.node_put(&mut Some(c))
    }

    /// `_db_tree_prune`: remove the existing chains that the new chain `new`
    /// (same action, fewer conditions) covers, and note in `walk` whether an
    /// existing chain covers the new one. Returns the number of nodes freed.
    fn prune(&mut self, existing: Option<Id>, new: Option<Id>, walk: &mut Walk, nr: Key) -> u32 {
        let mut found = *walk;
        let freed = match (existing, new) {
            (Some(x), Some(n)) if walk.flags & MATCHSET != MATCH_ONCE => self.prune_level(x, n, *walk, &mut found, nr),
            _ => 0,
        };
        if found.flags & MATCH != 0 {
            walk.flags |= found.flags;
        } else {
            walk.flags &= !MATCH;
        }
        freed
    }

    /// The loop over one existing level of [`Table::prune`]; returning early is
    /// libseccomp's `goto prune_return`.
    fn prune_level(&mut self, x: Id, n: Id, walk: Walk, found: &mut Walk, nr: Key) -> u32 {
        let mut freed = 0;
        let mut x = self.level_start(x);
        let mut steps = 0;
        loop {
            if !self.step(&mut steps) {
                return freed;
            }
            let x_next = self.nodes[x].lvl_nxt;
            // `None`: `x` itself was freed, go on with `x_next`.
            let mut cur = Some(x);
            if self.chain_eq(x, n) {
                found.flags |= MATCHSET;
                if self.is_leaf(n) {
                    found.flags |= N_FINISHED;
                }
                if self.is_leaf(x) {
                    found.flags |= X_FINISHED;
                }
                let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
                // Don't remove nodes that have more actions or levels than the new chain.
                if (xn.act_t_flg || xn.nxt_t.is_some()) && !(nn.act_t_flg || nn.nxt_t.is_some()) {
                    return freed;
                }
                if (xn.act_f_flg || xn.nxt_f.is_some()) && !(nn.act_f_flg || nn.nxt_f.is_some()) {
                    return freed;
                }
                if found.flags & N_FINISHED != 0
                    && found.flags & X_FINISHED != 0
                    && (nn.act_t_flg != xn.act_t_flg
                        || nn.act_t != xn.act_t
                        || nn.act_f_flg != xn.act_f_flg
                        || nn.act_f != xn.act_f)
                {
                    return freed;
                }
                for branch in [true, false] {
                    let Some(x_now) = cur else { break };
                    let sub_new = if branch { self.nodes[n].nxt_t } else { self.nodes[n].nxt_f };
                    let Some(sub_new) = sub_new else { continue };
                    let sub_old = if branch { self.nodes[x_now].nxt_t } else { self.nodes[x_now].nxt_f };
                    let mut deeper = Walk { flags: walk.flags | MATCHSET, action: walk.action };
                    self.get(Some(x_now));
                    freed += self.prune(sub_old, Some(sub_new), &mut deeper, nr);
                    freed += self.node_put(&mut cur);
                    if deeper.flags & MATCH != 0 {
                        found.flags |= deeper.flags;
                    }
                }
                if let Some(x_now) = cur {
                    x = x_now;
                    let same = self.act_check(Some(x), found.action).is_ok();
                    let f = found.flags;
                    if same && f & MATCH != 0 && f & N_FINISHED != 0 && f & X_PREFIX != 0 {
                        // The new chain is shorter: drop the existing one.
                        freed += self.remove(Slot::Root(nr), x);
                        if self.root(nr).is_none() {
                            return freed;
                        }
                    } else if same && f & MATCH != 0 && f & X_FINISHED != 0 && f & N_PREFIX != 0 {
                        // The new chain is longer.
                        return freed;
                    }
                }
            } else if self.chain_lt(x, n) {
                // The existing chain has a comparison the new one lacks: look below it.
                if walk.flags & N_PREFIX != 0 {
                    return freed;
                }
                for branch in [true, false] {
                    let Some(x_now) = cur else { break };
                    let sub_old = if branch { self.nodes[x_now].nxt_t } else { self.nodes[x_now].nxt_f };
                    let Some(sub_old) = sub_old else { continue };
                    let mut deeper = Walk { flags: (walk.flags & !MATCH) | X_PREFIX, action: walk.action };
                    self.get(Some(x_now));
                    freed += self.prune(Some(sub_old), Some(n), &mut deeper, nr);
                    freed += self.node_put(&mut cur);
                    if deeper.flags & MATCH != 0 {
                        found.flags |= deeper.flags;
                        return freed;
                    }
                }
            } else {
                // The new chain has a comparison the existing one lacks: skip it.
                if walk.flags & X_PREFIX != 0 {
                    return freed;
                }
                for branch in [true, false] {
                    let Some(x_now) = cur else { break };
                    let sub_new = if branch { self.nodes[n].nxt_t } else { self.nodes[n].nxt_f };
                    let Some(sub_new) = sub_new else { continue };
                    let mut deeper = Walk { flags: (walk.flags & !MATCH) | N_PREFIX, action: walk.action };
                    self.get(Some(x_now));
                    freed += self.prune(Some(x_now), Some(sub_new), &mut deeper, nr);
                    freed += self.node_put(&mut cur);
                    if deeper.flags & MATCH != 0 {
                        found.flags |= deeper.flags;
                        return freed;
                    }
                }
            }
            match x_next {
                Some(next) => x = next,
                None => break,
            }
        }
        found.flags &= !MATCH;
        freed
    }

    /// `_db_tree_add`: merge the chain starting at `n` into the level in `slot`.
    fn tree_add(&mut self, slot: Slot, n: Id) -> Result<(), Refusal> {
        let Some(mut x) = self.slot(slot) else {
            return Ok(());
        };
        let mut steps = 0;
        loop {
            if !self.step(&mut steps) {
                return Err(Refusal::Loops);
            }
            if self.chain_eq(x, n) {
                if self.nodes[n].act_t_flg {
                    if !self.nodes[x].act_t_flg {
                        // The new chain ends here: everything below must agree.
                        self.act_check(self.nodes[x].nxt_t, self.nodes[n].act_t)?;
                        let mut sub = self.nodes[x].nxt_t;
                        self.node_put(&mut sub);
                        let act = self.nodes[n].act_t;
                        let xn = &mut self.nodes[x];
                        (xn.nxt_t, xn.act_t, xn.act_t_flg) = (None, act, true);
                    } else if self.nodes[n].act_t != self.nodes[x].act_t {
                        // libseccomp keeps the action of the larger 64-bit value.
                        if self.nodes[n].hi && self.nodes[n].datum_full > self.nodes[x].datum_full {
                            self.nodes[x].act_t = self.nodes[n].act_t;
                        }
                        if self.is_leaf(x) || self.is_leaf(n) {
                            return Err(Conflict);
                        }
                    }
                }
                if self.nodes[n].act_f_flg {
                    if !self.nodes[x].act_f_flg {
                        self.act_check(self.nodes[x].nxt_f, self.nodes[n].act_f)?;
                        let mut sub = self.nodes[x].nxt_f;
                        self.node_put(&mut sub);
                        let act = self.nodes[n].act_f;
                        let xn = &mut self.nodes[x];
                        (xn.nxt_f, xn.act_f, xn.act_f_flg) = (None, act, true);
                    } else if self.nodes[n].act_f != self.nodes[x].act_f {
                        // (sic: libseccomp 2.5 writes the true action here)
                        if self.nodes[n].hi && self.nodes[n].datum_full < self.nodes[x].datum_full {
                            self.nodes[x].act_t = self.nodes[n].act_t;
                        }
                        if self.is_leaf(x) || self.is_leaf(n) {
                            return Err(Conflict);
                        }
                    }
                }
                for branch in [true, false] {
                    let (sub_new, sub_old, act) = if branch {
                        (self.nodes[n].nxt_t, self.nodes[x].nxt_t, self.nodes[x].act_t_flg)
                    } else {
                        (self.nodes[n].nxt_f, self.nodes[x].nxt_f, self.nodes[x].act_f_flg)
                    };
                    let Some(sub_new) = sub_new else { continue };
                    let here = if branch { Slot::True(x) } else { Slot::False(x) };
                    if sub_old.is_some() {
                        self.tree_add(here, sub_new)?;
                    } else if !act {
                        let v = self.get(Some(sub_new));
                        self.set_slot(here, v);
                    } else {
                        // The existing chain is shorter: it already decides.
                        return Ok(());
                    }
                }
                return Ok(());
            } else if !self.chain_lt(x, n) {
                match self.nodes[x].lvl_nxt {
                    Some(next) => x = next,
                    None => {
                        // Last on this level.
                        self.refuse_relink(n)?;
                        self.nodes[n].lvl_prv = self.get(Some(x));
                        self.nodes[x].lvl_nxt = self.get(Some(n));
                        return Ok(());
                    }
                }
            } else {
                // Before `x` on this level.
                self.refuse_relink(n)?;
                match self.nodes[x].lvl_prv {
                    Some(p) => {
                        self.nodes[p].lvl_nxt = self.get(Some(n));
                        self.nodes[n].lvl_prv = Some(p);
                        self.nodes[x].lvl_prv = self.get(Some(n));
                        self.nodes[n].lvl_nxt = Some(x);
                    }
                    None => {
                        self.nodes[x].lvl_prv = self.get(Some(n));
                        self.nodes[n].lvl_nxt = self.get(Some(x));
                    }
                }
                if self.slot(slot) == Some(x) {
                    let v = self.get(Some(n));
                    self.set_slot(slot, v);
                    self.node_put(&mut Some(x));
                }
                return Ok(());
            }
        }
    }
}

impl Table {
    /// Linking `n` into a level when it is on one already is libseccomp's
    /// endless loop (see the module doc).
    fn refuse_relink(&self, n: Id) -> Result<(), Refusal> {
        let node = &self.nodes[n];
        if node.lvl_prv.is_some() || node.lvl_nxt.is_some() {
            self.looped.set(true);
            return Err(Refusal::Loops);
        }
        Ok(())
    }
}

/// libseccomp's mask: the profile's for `MASKED_EQ`, all ones otherwise.
fn full_mask(c: &Cmp) -> u64 {
    if c.op == Op::MaskedEq {
        c.mask
    } else {
        u64::MAX
    }
}
