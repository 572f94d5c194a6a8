//! `linux.seccomp` -> [`Policy`]: the validated decision table that `bpf` encodes.
//!
//! This is where the profile's meaning is fixed: the meaning runc gives it with
//! libseccomp, checked verdict for verdict against libseccomp itself by
//! `differential_tests.rs`:
//! - names unknown to an ABI are skipped for that ABI; an empty name is an error;
//! - a rule whose action equals the default action is dropped (libseccomp refuses it);
//! - the args of one rule are AND'ed, unless two of them name the same index: then
//!   every arg becomes a rule of its own (OR'ed), runc's "old behaviour";
//! - rules for one syscall combine as libseccomp combines them (see `tree`): the
//!   first unconditional rule wins, overlapping conditional rules are ordered by
//!   libseccomp's decision tree, and overlaps libseccomp refuses are refused;
//! - on x86, rules for socket and SysV IPC calls also go to `socketcall(2)` and
//!   `ipc(2)` (see `mux`);
//! - unless the default action allows (ALLOW, LOG, TRACE) or is errno ENOSYS,
//!   syscalls numbered above the highest one the profile names return `ENOSYS`, so
//!   that programs fall back from syscalls newer than the profile (glibc's `clone3`,
//!   `faccessat2`) instead of failing with the default errno: runc's patchbpf stub,
//!   including its details (the x86 socket and IPC calls don't count, being
//!   multiplexed; a highest number of 0 means no stub);
//! - calls through an ABI the profile does not list get libseccomp's bad-arch
//!   action, `SCMP_ACT_KILL` (the thread), which runc does not change.

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator};

use super::mux;
use super::syscalls::Abi;
use super::tree::{Cmp, Key, Op, Refusal, Table};
use super::{Error, Result};

/// The kernel's `MAX_ERRNO`: return values from -4095 to -1 are errors.
const MAX_ERRNO: u32 = 4095;

/// `seccomp_data.args` has six entries.
const MAX_ARG_INDEX: usize = 5;

/// Syscalls the runtime itself needs between loading the filter and `execve`
/// (sending the listener fd to the parent); a notify rule on them would deadlock.
pub(crate) const NOTIFY_FORBIDDEN: &[&str] = &["write", "sendmsg"];

/// Everything the filter does for calls made through one ABI.
#[derive(Clone, Debug)]
pub(crate) struct Section {
    pub abi: Abi,
    /// The syscalls with a rule, as libseccomp would build them.
    pub table: Table,
    /// Numbers above this return `ENOSYS` instead of going through the table.
    pub enosys_above: Option<u32>,
}

/// The whole filter: per-ABI sections, the default action, and what happens to
/// calls from an ABI the profile does not list.
#[derive(Clone, Debug)]
pub(crate) struct Policy {
    pub default: u32,
    pub bad_arch: u32,
    pub sections: Vec<Section>,
}

/// The `SECCOMP_RET_*` value of an action. `field` names the errno field for errors.
pub(crate) fn action_ret(action: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<u32> {
    // An errno is below the kernel's MAX_ERRNO (libseccomp refuses more: the
    // caller would see a negative "success" return); a trace value is 16 bits.
    let with_data = |base: u32, max: u32| -> Result<u32> {
        let data = errno.unwrap_or(libc::EPERM as u32);
        if data > max {
            return Err(Error::ErrnoRange { field: field.to_string(), value: data, max });
        }
        Ok(base | data)
    };
    let plain = |ret: u32| -> Result<u32> {
        match errno {
            Some(_) => Err(Error::ErrnoUnsupported { field: field.to_string(), action: action_name(action) }),
            None => Ok(ret),
        }
    };
    match action {
        LinuxSeccompAction::ScmpActErrno => with_data(libc::SECCOMP_RET_ERRNO, MAX_ERRNO - 1),
        LinuxSeccompAction::ScmpActTrace => with_data(libc::SECCOMP_RET_TRACE, libc::SECCOMP_RET_DATA),
        LinuxSeccompAction::ScmpActAllow => plain(libc::SECCOMP_RET_ALLOW),
        LinuxSeccompAction::ScmpActLog => plain(libc::SECCOMP_RET_LOG),
        LinuxSeccompAction::ScmpActTrap => plain(libc::SECCOMP_RET_TRAP),
        // libseccomp's SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD.
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => plain(libc::SECCOMP_RET_KILL_THREAD),
        LinuxSeccompAction::ScmpActKillProcess => plain(libc::SECCOMP_RET_KILL_PROCESS),
        LinuxSeccompAction::ScmpActNotify => plain(libc::SECCOMP_RET_USER_NOTIF),
    }
}

/// The OCI spelling of an action, for messages.
pub(crate) fn action_name(action: LinuxSeccompAction) -> &'static str {
    match action {
        LinuxSeccompAction::ScmpActKill => "SCMP_ACT_KILL",
        LinuxSeccompAction::ScmpActKillThread => "SCMP_ACT_KILL_THREAD",
        LinuxSeccompAction::ScmpActKillProcess => "SCMP_ACT_KILL_PROCESS",
        LinuxSeccompAction::ScmpActTrap => "SCMP_ACT_TRAP",
        LinuxSeccompAction::ScmpActErrno => "SCMP_ACT_ERRNO",
        LinuxSeccompAction::ScmpActNotify => "SCMP_ACT_NOTIFY",
        LinuxSeccompAction::ScmpActTrace => "SCMP_ACT_TRACE",
        LinuxSeccompAction::ScmpActLog => "SCMP_ACT_LOG",
        LinuxSeccompAction::ScmpActAllow => "SCMP_ACT_ALLOW",
    }
}

/// The default actions under which runc adds no ENOSYS stub: a tracer handles
/// unknown syscalls itself.
fn is_allowing(ret: u32) -> bool {
    let action = ret & libc::SECCOMP_RET_ACTION_FULL;
    action == libc::SECCOMP_RET_ALLOW || action == libc::SECCOMP_RET_LOG || action == libc::SECCOMP_RET_TRACE
}

fn translate_arg(rule: usize, arg: &LinuxSeccompArg) -> Result<Cmp> {
    let index = u8::try_from(arg.index())
        .ok()
        .filter(|i| usize::from(*i) <= MAX_ARG_INDEX)
        .ok_or(Error::ArgIndex { rule, index: arg.index() })?;
    let (op, value, mask) = match arg.op() {
        LinuxSeccompOperator::ScmpCmpEq => (Op::Eq, arg.value(), 0),
        LinuxSeccompOperator::ScmpCmpNe => (Op::Ne, arg.value(), 0),
        LinuxSeccompOperator::ScmpCmpLt => (Op::Lt, arg.value(), 0),
        LinuxSeccompOperator::ScmpCmpLe => (Op::Le, arg.value(), 0),
        LinuxSeccompOperator::ScmpCmpGt => (Op::Gt, arg.value(), 0),
        LinuxSeccompOperator::ScmpCmpGe => (Op::Ge, arg.value(), 0),
        // libseccomp: `value` is the mask, `valueTwo` the expected masked value.
        LinuxSeccompOperator::ScmpCmpMaskedEq => (Op::MaskedEq, arg.value_two().unwrap_or(0), arg.value()),
    };
    Ok(Cmp { index, op, value, mask })
}

/// At most one condition per argument, indexed by argument (libseccomp's form).
pub(crate) type Conds = [Option<Cmp>; MAX_ARG_INDEX + 1];

/// The condition sets one OCI rule expands to (see the module doc for the OR case).
fn translate_args(rule: usize, args: &[LinuxSeccompArg]) -> Result<Vec<Conds>> {
    let conds = args.iter().map(|a| translate_arg(rule, a)).collect::<Result<Vec<_>>>()?;
    let mut seen = [false; MAX_ARG_INDEX + 1];
    let repeated = conds.iter().any(|c| std::mem::replace(&mut seen[usize::from(c.index)], true));
    let one = |cs: &[Cmp]| {
        let mut set: Conds = [None; MAX_ARG_INDEX + 1];
        for c in cs {
            set[usize::from(c.index)] = Some(*c);
        }
        set
    };
    if repeated {
        Ok(conds.iter().map(|c| one(std::slice::from_ref(c))).collect())
    } else {
        Ok(vec![one(&conds)])
    }
}

/// The tables being built, one per ABI.
struct Tables<'a> {
    abis: &'a [Abi],
    tables: Vec<Table>,
    /// The highest syscall number named, per ABI, as runc's stub counts it.
    highest: Vec<Option<u32>>,
    /// Names that got a pseudo entry somewhere, by id.
    pseudo: Vec<String>,
}

impl Tables<'_> {
    /// Add rule `rule`'s `ret` for `name` under each condition set, to every ABI.
    fn add(&mut self, rule: usize, name: &str, ret: u32, default: u32, cond_sets: &[Conds]) -> Result<()> {
        for ((abi, table), high) in self.abis.iter().zip(&mut self.tables).zip(&mut self.highest) {
            let mux = if *abi == Abi::X86 { mux::x86_multiplexed(name) } else { None };
            let nr = abi.resolve(name);
            // runc's stub takes libseccomp's number for the name, which for a
            // multiplexed call is a negative pseudo number: it never counts.
            if mux.is_none() {
                *high = (*high).max(nr);
            }
            if ret == default {
                continue;
            }
            // A name the ABI lacks but another ABI has still gets an entry
            // (libseccomp's pseudo syscall), except on x86, where libseccomp
            // drops it unless it is a multiplexed call.
            let key = match nr {
                Some(nr) => Some(Key::Nr(nr)),
                None if (*abi != Abi::X86 || mux.is_some()) && Abi::known(name) => {
                    let id = self.pseudo.iter().position(|n| n == name).unwrap_or_else(|| {
                        self.pseudo.push(name.to_string());
                        self.pseudo.len() - 1
                    });
                    Some(Key::Pseudo(u32::try_from(id).unwrap_or(u32::MAX)))
                }
                None => None,
            };
            let refused = |r| match r {
                Refusal::Conflict => Error::RuleConflict { rule, syscall: name.to_string() },
                Refusal::Loops => Error::RuleLoops { rule, syscall: name.to_string() },
            };
            for conds in cond_sets {
                if let Some((mux_nr, call)) = mux {
                    // First the multiplexer, with argument 0 naming the call...
                    let mut args = *conds;
                    args[0] = Some(Cmp { index: 0, op: Op::Eq, value: u64::from(call), mask: 0 });
                    table.add(Key::Nr(mux_nr), ret, &args).map_err(refused)?;
                }
                // ...then the syscall itself.
                if let Some(key) = key {
                    table.add(key, ret, conds).map_err(refused)?;
                }
            }
        }
        Ok(())
    }
}

/// Build the policy for `abis` (native first). `default` is the default action's
/// return value, already validated.
pub(crate) fn build(s: &LinuxSeccomp, default: u32, abis: &[Abi]) -> Result<Policy> {
    let mut t = Tables {
        abis,
        tables: abis.iter().map(|abi| Table::new(abi.is_64bit())).collect(),
        highest: vec![None; abis.len()],
        pseudo: Vec::new(),
    };
    // runc's order: rule by rule, name by name.
    for (i, call) in s.syscalls().iter().flatten().enumerate() {
        if call.names().is_empty() {
            return Err(Error::NoSyscallNames { rule: i });
        }
        let field = format!("linux.seccomp.syscalls[{i}].errnoRet");
        let ret = action_ret(call.action(), call.errno_ret(), &field)?;
        let notify = call.action() == LinuxSeccompAction::ScmpActNotify;
        let cond_sets = translate_args(i, call.args().as_deref().unwrap_or_default())?;
        for name in call.names() {
            if name.is_empty() {
                return Err(Error::EmptySyscallName { rule: i });
            }
            if notify && NOTIFY_FORBIDDEN.contains(&name.as_str()) {
                return Err(Error::NotifyForbidden { syscall: name.clone() });
            }
            t.add(i, name, ret, default, &cond_sets)?;
        }
    }

    // No stub where the profile allows, or denies with ENOSYS anyway (runc).
    let stub = !is_allowing(default) && s.default_errno_ret() != Some(libc::ENOSYS as u32);
    let sections = abis
        .iter()
        .zip(t.tables)
        .zip(t.highest)
        .map(|((abi, table), high)| Section {
            abi: *abi,
            table,
            // runc keeps no stub for an ABI whose highest number is 0.
            enosys_above: high.filter(|h| stub && *h != 0),
        })
        .collect();

    // libseccomp's default bad-arch action, which runc keeps.
    Ok(Policy { default, bad_arch: libc::SECCOMP_RET_KILL_THREAD, sections })
}
