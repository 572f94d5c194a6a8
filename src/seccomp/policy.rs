//! `linux.seccomp` -> [`Policy`]: the validated decision table that `bpf` encodes.
//!
//! This is where the profile's meaning is fixed, following what runc (with
//! libseccomp) does, checked by running runc 1.1.5 on this host:
//! - names unknown to an ABI are skipped for that ABI; an empty name is an error;
//! - a rule whose action equals the default action is dropped (libseccomp refuses it);
//! - the args of one rule are AND'ed, unless two of them name the same index: then
//!   every arg becomes a rule of its own (OR'ed), runc's "old behaviour";
//! - for one syscall, the first unconditional rule wins over every conditional one,
//!   and otherwise the conditional rules are tried in profile order. (libseccomp
//!   orders overlapping conditional rules by its decision tree instead: observed,
//!   higher arg index first, EQ/NE before GE/GT. Only profiles whose conditional
//!   rules for one syscall overlap with different actions can tell; none we know do.)
//! - unless the default action allows, syscalls numbered above the highest one the
//!   profile names return `ENOSYS`, so that programs fall back from syscalls newer
//!   than the profile (glibc's `clone3`, `faccessat2`) instead of failing with the
//!   default errno (runc's patchbpf stub).

use std::collections::BTreeMap;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator};

use super::syscalls::Abi;
use super::{Error, Result};

/// `seccomp_data.args` has six entries.
const MAX_ARG_INDEX: usize = 5;

/// Syscalls the runtime itself needs between loading the filter and `execve`
/// (sending the listener fd to the parent); a notify rule on them would deadlock.
pub(crate) const NOTIFY_FORBIDDEN: &[&str] = &["write", "sendmsg"];

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

/// One argument comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cmp {
    pub index: u8,
    pub op: Op,
    pub value: u64,
    /// Only used by `Op::MaskedEq`.
    pub mask: u64,
}

/// A rule: when every comparison holds (none: always), the syscall gets `ret`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    pub conds: Vec<Cmp>,
    pub ret: u32,
}

/// The rules of one syscall number, tried in order; none matching means the default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Syscall {
    pub nr: u32,
    pub rules: Vec<Rule>,
}

/// Everything the filter does for calls made through one ABI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Section {
    pub abi: Abi,
    /// Sorted by number.
    pub syscalls: Vec<Syscall>,
    /// Numbers above this return `ENOSYS` instead of the default action.
    pub enosys_above: Option<u32>,
}

/// The whole filter: per-ABI sections, the default action, and what happens to
/// calls from an ABI the profile does not list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    pub default: u32,
    pub bad_arch: u32,
    pub sections: Vec<Section>,
}

/// The `SECCOMP_RET_*` value of an action. `field` names the errno field for errors.
pub(crate) fn action_ret(action: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<u32> {
    let with_data = |base: u32| -> Result<u32> {
        let data = errno.unwrap_or(libc::EPERM as u32);
        if data > libc::SECCOMP_RET_DATA {
            return Err(Error::ErrnoRange { field: field.to_string(), value: data });
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
        LinuxSeccompAction::ScmpActErrno => with_data(libc::SECCOMP_RET_ERRNO),
        LinuxSeccompAction::ScmpActTrace => with_data(libc::SECCOMP_RET_TRACE),
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

fn is_allowing(ret: u32) -> bool {
    let action = ret & libc::SECCOMP_RET_ACTION_FULL;
    action == libc::SECCOMP_RET_ALLOW || action == libc::SECCOMP_RET_LOG
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

/// The condition lists one OCI rule expands to (see the module doc for the OR case).
fn translate_args(rule: usize, args: &[LinuxSeccompArg]) -> Result<Vec<Vec<Cmp>>> {
    let conds = args.iter().map(|a| translate_arg(rule, a)).collect::<Result<Vec<_>>>()?;
    let mut seen = [false; MAX_ARG_INDEX + 1];
    let repeated = conds.iter().any(|c| std::mem::replace(&mut seen[usize::from(c.index)], true));
    if repeated {
        Ok(conds.into_iter().map(|c| vec![c]).collect())
    } else {
        Ok(vec![conds])
    }
}

/// Per syscall number: the first unconditional action, and the conditional rules.
#[derive(Default)]
struct Collected {
    unconditional: Option<u32>,
    conditional: Vec<Rule>,
}

/// Build the policy for `abis` (native first). `default` is the default action's
/// return value, already validated.
pub(crate) fn build(s: &LinuxSeccomp, default: u32, abis: &[Abi]) -> Result<Policy> {
    let mut per_abi: Vec<BTreeMap<u32, Collected>> = abis.iter().map(|_| BTreeMap::new()).collect();
    let mut highest: Vec<Option<u32>> = vec![None; abis.len()];

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
            for (a, abi) in abis.iter().enumerate() {
                let Some(nr) = abi.resolve(name) else {
                    continue;
                };
                highest[a] = highest[a].max(Some(nr));
                if ret == default {
                    continue;
                }
                let entry = per_abi[a].entry(nr).or_default();
                for conds in &cond_sets {
                    if conds.is_empty() {
                        entry.unconditional.get_or_insert(ret);
                    } else {
                        entry.conditional.push(Rule { conds: conds.clone(), ret });
                    }
                }
            }
        }
    }

    let sections = abis
        .iter()
        .zip(per_abi)
        .zip(highest)
        .map(|((abi, calls), high)| Section {
            abi: *abi,
            syscalls: calls
                .into_iter()
                .map(|(nr, c)| Syscall {
                    nr,
                    rules: match c.unconditional {
                        Some(ret) => vec![Rule { conds: Vec::new(), ret }],
                        None => c.conditional,
                    },
                })
                .collect(),
            enosys_above: if is_allowing(default) { None } else { high },
        })
        .collect();

    Ok(Policy { default, bad_arch: libc::SECCOMP_RET_KILL_PROCESS, sections })
}
