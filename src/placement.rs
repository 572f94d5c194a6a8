//! Where a container process runs and where its memory comes from:
//! `linux.memoryPolicy` (set_mempolicy(2)) and `process.execCPUAffinity`.
//! Parsing the CPU and node lists (`0-3,7`) and translating the policy
//! into the syscall's arguments is pure and unit-tested; checking them
//! against the host reads /sys; the calls are made in `process::finish`
//! (memory policy, final affinity) and `process::join` (initial affinity).
//! The mode and flag tables also feed `features`.

use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType as F, MemoryPolicyModeType as M};

use crate::error::{Error, Result};

/// The highest CPU or node number accepted (the kernel's largest
/// configurable NR_CPUS is 8192; MAX_NUMNODES is at most 1024).
const MAX_CPU: u32 = 8191;
const MAX_NODE: u32 = 1023;

/// Memory policy modes: (runtime-spec name, oci-spec value, MPOL_* number).
pub const MODES: &[(&str, M, i32)] = &[
    ("MPOL_DEFAULT", M::MpolDefault, 0),
    ("MPOL_PREFERRED", M::MpolPreferred, 1),
    ("MPOL_BIND", M::MpolBind, 2),
    ("MPOL_INTERLEAVE", M::MpolInterleave, 3),
    ("MPOL_LOCAL", M::MpolLocal, 4),
    ("MPOL_PREFERRED_MANY", M::MpolPreferredMany, 5),
    ("MPOL_WEIGHTED_INTERLEAVE", M::MpolWeightedInterleave, 6),
];

/// Mode flags: (runtime-spec name, oci-spec value, bit or'ed into the mode).
pub const FLAGS: &[(&str, F, i32)] = &[
    ("MPOL_F_NUMA_BALANCING", F::MpolFNumaBalancing, 1 << 13),
    ("MPOL_F_RELATIVE_NODES", F::MpolFRelativeNodes, 1 << 14),
    ("MPOL_F_STATIC_NODES", F::MpolFStaticNodes, 1 << 15),
];

/// set_mempolicy's arguments, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPolicy {
    /// The mode or'ed with its flags.
    pub mode: i32,
    /// One bit per node; empty for "no nodes".
    pub nodemask: Vec<libc::c_ulong>,
    /// The nodes, for messages and the host check.
    pub nodes: Vec<u32>,
    /// Node numbers are relative to the allowed set (MPOL_F_RELATIVE_NODES),
    /// not host node numbers.
    pub relative: bool,
}

/// Parse a list like `0-3,7` (what the kernel prints in `cpus_allowed_list`
/// and /sys/devices/system/node/online): sorted, without duplicates.
pub fn parse_list(s: &str, max: u32) -> std::result::Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let num = |t: &str| {
            t.trim().parse::<u32>().map_err(|_| format!("`{s}` is not a list like `0-3,7`")).and_then(|n| {
                if n > max {
                    Err(format!("{n} is beyond {max}"))
                } else {
                    Ok(n)
                }
            })
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err(format!("range `{}` runs backwards", part.trim()));
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn format_list(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// Translate `linux.memoryPolicy`. The rules of set_mempolicy(2) that the
/// spec repeats are checked here, so the config fails before anything is
/// created: MPOL_DEFAULT and MPOL_LOCAL take no nodes, the interleave,
/// bind and preferred-many modes need one, and the static and relative
/// flags exclude each other.
pub fn plan_memory_policy(p: &LinuxMemoryPolicy) -> Result<MemoryPolicy> {
    let field = |f: &str| format!("linux.memoryPolicy.{f}");
    let (name, _, mode) = MODES
        .iter()
        .find(|m| m.1 == p.mode())
        .copied()
        .ok_or_else(|| Error::config(field("mode"), format!("{:?} is not a mode berth knows", p.mode())))?;
    let nodes = match p.nodes().as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse_list(s, MAX_NODE).map_err(|e| Error::config(field("nodes"), e))?,
        None => Vec::new(),
    };
    let mut flags = 0;
    for f in p.flags().iter().flatten() {
        flags |= FLAGS.iter().find(|x| x.1 == *f).map_or(0, |x| x.2);
    }
    let (relative, stat) = (flags & (1 << 14) != 0, flags & (1 << 15) != 0);
    if relative && stat {
        return Err(Error::config(field("flags"), "MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other"));
    }
    match p.mode() {
        M::MpolDefault | M::MpolLocal if !nodes.is_empty() => {
            return Err(Error::config(field("nodes"), format!("{name} takes no nodes")));
        }
        M::MpolLocal if relative || stat => {
            return Err(Error::config(field("flags"), format!("{name} takes no node flags")));
        }
        M::MpolBind | M::MpolInterleave | M::MpolWeightedInterleave | M::MpolPreferredMany if nodes.is_empty() => {
            return Err(Error::config(field("nodes"), format!("{name} needs at least one node")));
        }
        _ => {}
    }
    let mut nodemask = Vec::new();
    if let Some(&last) = nodes.last() {
        let bits = libc::c_ulong::BITS;
        nodemask = vec![0; (last / bits + 1) as usize];
        for n in &nodes {
            nodemask[(n / bits) as usize] |= 1 << (n % bits);
        }
    }
    Ok(MemoryPolicy { mode: mode | flags, nodemask, nodes, relative })
}

/// Refuse nodes this host does not have (`available` is the kernel's
/// list of online nodes). Relative node numbers are not host nodes.
pub fn check_nodes(mp: &MemoryPolicy, available: &str) -> Result<()> {
    if mp.relative || mp.nodes.is_empty() {
        return Ok(());
    }
    let have = parse_list(available.trim(), MAX_NODE).unwrap_or_default();
    match mp.nodes.iter().find(|n| !have.contains(n)) {
        Some(n) => Err(Error::config(
            "linux.memoryPolicy.nodes",
            format!("node {n} does not exist on this host (online nodes: {})", available.trim()),
        )),
        None => Ok(()),
    }
}

/// [`check_nodes`] against /sys/devices/system/node/online.
pub fn check_host_nodes(mp: &MemoryPolicy) -> Result<()> {
    if mp.relative || mp.nodes.is_empty() {
        return Ok(());
    }
    // A kernel without NUMA has no node directory: node 0 only.
    let online = std::fs::read_to_string("/sys/devices/system/node/online").unwrap_or_else(|_| "0".into());
    check_nodes(mp, &online)
}

/// Parse one of `execCPUAffinity`'s lists; empty means "not set".
pub fn plan_cpus(list: Option<&str>, field: &str) -> Result<Option<Vec<u32>>> {
    match list.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse_list(s, MAX_CPU).map(Some).map_err(|e| Error::config(field, e)),
        None => Ok(None),
    }
}

/// Refuse CPUs that do not exist on this host (`possible` is the kernel's
/// list, as in /sys/devices/system/cpu/possible).
pub fn check_cpus(cpus: &[u32], possible: &str, field: &str) -> Result<()> {
    let have = parse_list(possible.trim(), MAX_CPU).unwrap_or_default();
    match cpus.iter().find(|c| !have.contains(c)) {
        Some(c) => {
            Err(Error::config(field, format!("CPU {c} does not exist on this host (CPUs: {})", possible.trim())))
        }
        None => Ok(()),
    }
}

/// [`check_cpus`] against /sys/devices/system/cpu/possible.
pub fn check_host_cpus(cpus: &[u32], field: &str) -> Result<()> {
    match std::fs::read_to_string("/sys/devices/system/cpu/possible") {
        Ok(possible) => check_cpus(cpus, &possible, field),
        // Without sysfs, sched_setaffinity is the judge.
        Err(_) => Ok(()),
    }
}

/// A CPU set for sched_setaffinity(2).
pub fn cpu_set(cpus: &[u32]) -> Result<nix::sched::CpuSet> {
    let mut set = nix::sched::CpuSet::new();
    for &c in cpus {
        set.set(c as usize).map_err(|_| {
            Error::config("process.execCPUAffinity", format!("CPU {c} is beyond what sched_setaffinity takes"))
        })?;
    }
    Ok(set)
}

/// Pin the calling thread to `cpus`.
pub fn set_affinity(cpus: &[u32]) -> Result<()> {
    let set = cpu_set(cpus)?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .map_err(|e| Error::Sys { what: format!("set the CPU affinity to `{}`", format_list(cpus)), source: e })
}

/// Pin the calling thread to `cpus` for a while; returns the affinity to
/// put back with [`restore_self`].
pub fn pin_self(cpus: &[u32]) -> Result<nix::sched::CpuSet> {
    let own = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map_err(|e| Error::Sys { what: "read berth's own CPU affinity".into(), source: e })?;
    set_affinity(cpus)?;
    crate::logging::debug(&format!(
        "CPU affinity `{}` until the process is in the container's cgroup",
        format_list(cpus)
    ));
    Ok(own)
}

/// Put back the affinity [`pin_self`] returned.
pub fn restore_self(own: &nix::sched::CpuSet) -> Result<()> {
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), own)
        .map_err(|e| Error::Sys { what: "restore berth's own CPU affinity".into(), source: e })
}

/// Apply a memory policy to the calling thread (inherited by its children
/// and kept across execve).
pub fn set_memory_policy(mp: &MemoryPolicy) -> Result<()> {
    crate::sys::numa::set_mempolicy(mp.mode, &mp.nodemask).map_err(|e| {
        let name = MODES.iter().find(|m| m.2 == mp.mode & 0xff).map_or("?", |m| m.0);
        Error::Io { what: format!("set memory policy {name} on nodes `{}`", format_list(&mp.nodes)), source: e }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Result<MemoryPolicy> {
        plan_memory_policy(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn lists() {
        assert_eq!(parse_list("0-3,7", 100).unwrap(), [0, 1, 2, 3, 7]);
        assert_eq!(parse_list("7,0-1,1", 100).unwrap(), [0, 1, 7]);
        assert_eq!(parse_list("5", 100).unwrap(), [5]);
        for bad in ["", "a", "1-", "-1", "3-1", "1,,2", "0-200"] {
            assert!(parse_list(bad, 100).is_err(), "{bad}");
        }
    }

    /// The tables hold every mode and flag of the runtime-spec, by the
    /// names it gives them.
    #[test]
    fn tables_match_oci_spec() {
        assert_eq!(MODES.len(), 7);
        assert_eq!(FLAGS.len(), 3);
        for (name, value, _) in MODES {
            assert_eq!(serde_json::from_value::<M>(serde_json::json!(name)).unwrap(), *value);
        }
        for (name, value, _) in FLAGS {
            assert_eq!(serde_json::from_value::<F>(serde_json::json!(name)).unwrap(), *value);
        }
    }

    #[test]
    fn every_mode_and_flag_translates() {
        for (name, _, number) in MODES {
            let nodes = if matches!(*name, "MPOL_DEFAULT" | "MPOL_LOCAL") { "" } else { r#","nodes":"0""# };
            let mp = policy(&format!(r#"{{"mode":"{name}"{nodes}}}"#)).unwrap();
            assert_eq!(mp.mode, *number, "{name}");
        }
        let mp =
            policy(r#"{"mode":"MPOL_BIND","nodes":"0-1,64","flags":["MPOL_F_STATIC_NODES","MPOL_F_NUMA_BALANCING"]}"#)
                .unwrap();
        assert_eq!(mp.mode, 2 | (1 << 15) | (1 << 13));
        assert_eq!(mp.nodes, [0, 1, 64]);
        assert_eq!(mp.nodemask, [0b11, 1]);
        let mp = policy(r#"{"mode":"MPOL_INTERLEAVE","nodes":"1","flags":["MPOL_F_RELATIVE_NODES"]}"#).unwrap();
        assert_eq!((mp.mode, mp.relative), (3 | (1 << 14), true));
        // MPOL_PREFERRED without nodes is "local allocation".
        assert_eq!(policy(r#"{"mode":"MPOL_PREFERRED"}"#).unwrap().nodemask, Vec::<libc::c_ulong>::new());
    }

    #[test]
    fn what_set_mempolicy_would_refuse_is_refused_first() {
        let cases = [
            (r#"{"mode":"MPOL_DEFAULT","nodes":"0"}"#, "takes no nodes"),
            (r#"{"mode":"MPOL_LOCAL","nodes":"0"}"#, "takes no nodes"),
            (r#"{"mode":"MPOL_LOCAL","flags":["MPOL_F_STATIC_NODES"]}"#, "no node flags"),
            (r#"{"mode":"MPOL_BIND"}"#, "at least one node"),
            (r#"{"mode":"MPOL_INTERLEAVE","nodes":" "}"#, "at least one node"),
            (r#"{"mode":"MPOL_PREFERRED_MANY"}"#, "at least one node"),
            (r#"{"mode":"MPOL_WEIGHTED_INTERLEAVE"}"#, "at least one node"),
            (r#"{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_STATIC_NODES","MPOL_F_RELATIVE_NODES"]}"#, "exclude"),
            (r#"{"mode":"MPOL_BIND","nodes":"x"}"#, "not a list"),
            (r#"{"mode":"MPOL_BIND","nodes":"2000"}"#, "beyond"),
        ];
        for (json, want) in cases {
            let e = policy(json).unwrap_err().to_string();
            assert!(e.contains("linux.memoryPolicy") && e.contains(want), "{json}: {e}");
        }
    }

    #[test]
    fn nodes_and_cpus_the_host_lacks_are_refused() {
        let mp = policy(r#"{"mode":"MPOL_BIND","nodes":"0-1"}"#).unwrap();
        check_nodes(&mp, "0-1\n").unwrap();
        let e = check_nodes(&mp, "0\n").unwrap_err().to_string();
        assert!(e.contains("node 1 does not exist") && e.contains("online nodes: 0"), "{e}");
        let rel = policy(r#"{"mode":"MPOL_BIND","nodes":"3","flags":["MPOL_F_RELATIVE_NODES"]}"#).unwrap();
        check_nodes(&rel, "0").unwrap();
        check_cpus(&[0, 1], "0-1\n", "f").unwrap();
        let e = check_cpus(&[2], "0-1\n", "process.execCPUAffinity.final").unwrap_err().to_string();
        assert!(e.contains("execCPUAffinity.final") && e.contains("CPU 2 does not exist"), "{e}");
        assert_eq!(plan_cpus(Some("1, 0"), "f").unwrap(), Some(vec![0, 1]));
        assert_eq!(plan_cpus(Some(""), "f").unwrap(), None);
        assert!(plan_cpus(Some("9000"), "f").is_err());
    }

    /// set_mempolicy for real, on a thread of its own (the policy is
    /// per thread): node 0 exists on every host.
    #[test]
    fn the_policy_reaches_the_kernel() {
        if crate::sys::numa::get_mempolicy().is_err_and(|e| e.raw_os_error() == Some(libc::ENOSYS)) {
            eprintln!("skipped: this kernel has no NUMA support");
            return;
        }
        std::thread::spawn(|| {
            let mp = policy(r#"{"mode":"MPOL_PREFERRED","nodes":"0","flags":["MPOL_F_STATIC_NODES"]}"#).unwrap();
            set_memory_policy(&mp).unwrap();
            assert_eq!(crate::sys::numa::get_mempolicy().unwrap(), (1 | (1 << 15), 1));
            set_memory_policy(&policy(r#"{"mode":"MPOL_DEFAULT"}"#).unwrap()).unwrap();
            assert_eq!(crate::sys::numa::get_mempolicy().unwrap().0, 0);
        })
        .join()
        .unwrap();
    }
}
