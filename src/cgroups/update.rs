//! `berth update`: runc's flags as a plain struct, merged (purely) over the
//! container's current `LinuxResources`, plus the byte-size parser runc uses
//! for `--memory 512m`. A flag that is not given keeps the current value; for
//! cpu quota/period that is what lets v2's `cpu.max` carry both.

use oci_spec::runtime::{LinuxPids, LinuxResources};

use super::{Error, Result};

/// runc `update` flags; `None` = not given.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpdateFlags {
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub kernel_memory_tcp: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
}

/// `-1`, `1024`, `512k`, `100m`, `2g`, `1GiB`... (base 1024, as runc's
/// `units.RAMInBytes`).
pub fn parse_bytes(s: &str) -> Result<i64> {
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let bad = || Error::Invalid { field: "size", reason: format!("`{s}` is not a size like 512m") };
    let end = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(end);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().trim_end_matches("ib").trim_end_matches('b') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    Ok((n * mult) as i64)
}

/// `base` with every given flag applied.
pub fn merge_update(base: &LinuxResources, f: &UpdateFlags) -> LinuxResources {
    let mut r = base.clone();
    let mut m = r.memory().unwrap_or_default();
    let mem_given = f.memory.is_some()
        || f.memory_swap.is_some()
        || f.memory_reservation.is_some()
        || f.kernel_memory_tcp.is_some();
    if let Some(v) = f.memory {
        m.set_limit(Some(v));
        // unlimited memory without an explicit swap: swap unlimited too (runc)
        if v == -1 && f.memory_swap.is_none() {
            m.set_swap(Some(-1));
        }
    }
    if let Some(v) = f.memory_swap {
        m.set_swap(Some(v));
    }
    if let Some(v) = f.memory_reservation {
        m.set_reservation(Some(v));
    }
    if let Some(v) = f.kernel_memory_tcp {
        m.set_kernel_tcp(Some(v));
    }
    if mem_given {
        r.set_memory(Some(m));
    }

    let mut c = r.cpu().clone().unwrap_or_default();
    let mut cpu_given = false;
    let mut set = |given: bool| cpu_given |= given;
    set(f.cpu_shares.is_some());
    if let Some(v) = f.cpu_shares {
        c.set_shares(Some(v));
    }
    set(f.cpu_quota.is_some() || f.cpu_period.is_some());
    if let Some(v) = f.cpu_quota {
        c.set_quota(Some(v));
    }
    if let Some(v) = f.cpu_period {
        c.set_period(Some(v));
    }
    set(f.cpu_rt_period.is_some() || f.cpu_rt_runtime.is_some());
    if let Some(v) = f.cpu_rt_period {
        c.set_realtime_period(Some(v));
    }
    if let Some(v) = f.cpu_rt_runtime {
        c.set_realtime_runtime(Some(v));
    }
    set(f.cpuset_cpus.is_some() || f.cpuset_mems.is_some());
    if let Some(v) = &f.cpuset_cpus {
        c.set_cpus(Some(v.clone()));
    }
    if let Some(v) = &f.cpuset_mems {
        c.set_mems(Some(v.clone()));
    }
    if cpu_given {
        r.set_cpu(Some(c));
    }
    if let Some(v) = f.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(v);
        r.set_pids(Some(p));
    }
    if let Some(v) = f.blkio_weight {
        let mut b = r.block_io().clone().unwrap_or_default();
        b.set_weight(Some(v));
        r.set_block_io(Some(b));
    }
    r
}

/// `base` overlaid with every field present in `patch` (`update --resources`).
pub fn merge_resources(base: &LinuxResources, patch: &LinuxResources) -> LinuxResources {
    let mut r = base.clone();
    if let Some(p) = patch.memory() {
        let mut m = r.memory().unwrap_or_default();
        macro_rules! take { ($($get:ident $set:ident),*) => { $( if p.$get().is_some() { m.$set(p.$get()); } )* } }
        take!(limit set_limit, reservation set_reservation, swap set_swap, kernel set_kernel, kernel_tcp set_kernel_tcp,
              swappiness set_swappiness, disable_oom_killer set_disable_oom_killer, use_hierarchy set_use_hierarchy,
              check_before_update set_check_before_update);
        r.set_memory(Some(m));
    }
    if let Some(p) = patch.cpu() {
        let mut c = r.cpu().clone().unwrap_or_default();
        macro_rules! take { ($($get:ident $set:ident),*) => { $( if p.$get().is_some() { c.$set(p.$get()); } )* } }
        take!(shares set_shares, quota set_quota, period set_period, burst set_burst, realtime_runtime set_realtime_runtime,
              realtime_period set_realtime_period, idle set_idle);
        if p.cpus().is_some() {
            c.set_cpus(p.cpus().clone());
        }
        if p.mems().is_some() {
            c.set_mems(p.mems().clone());
        }
        r.set_cpu(Some(c));
    }
    if patch.pids().is_some() {
        r.set_pids(*patch.pids());
    }
    if patch.block_io().is_some() {
        r.set_block_io(patch.block_io().clone());
    }
    if patch.hugepage_limits().is_some() {
        r.set_hugepage_limits(patch.hugepage_limits().clone());
    }
    if patch.network().is_some() {
        r.set_network(patch.network().clone());
    }
    if patch.rdma().is_some() {
        r.set_rdma(patch.rdma().clone());
    }
    if patch.unified().is_some() {
        r.set_unified(patch.unified().clone());
    }
    if patch.devices().is_some() {
        r.set_devices(patch.devices().clone());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert_eq!(parse_bytes("512k").unwrap(), 512 * 1024);
        assert_eq!(parse_bytes("100m").unwrap(), 100 << 20);
        assert_eq!(parse_bytes("2GB").unwrap(), 2 << 30);
        assert_eq!(parse_bytes("1GiB").unwrap(), 1 << 30);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5x").is_err());
    }

    #[test]
    fn merges_flags_over_base() {
        let base: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":1000,"swap":2000},"cpu":{"quota":5000,"period":10000,"shares":512},"pids":{"limit":10}}"#,
        )
        .unwrap();
        let f = UpdateFlags {
            memory: Some(4096),
            cpu_quota: Some(20000),
            pids_limit: Some(-1),
            blkio_weight: Some(300),
            ..Default::default()
        };
        let r = merge_update(&base, &f);
        let m = r.memory().unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(4096), Some(2000)));
        let c = r.cpu().clone().unwrap();
        assert_eq!((c.quota(), c.period(), c.shares()), (Some(20000), Some(10000), Some(512)));
        assert_eq!(r.pids().unwrap().limit(), -1);
        assert_eq!(r.block_io().clone().unwrap().weight(), Some(300));
        let r = merge_update(&base, &UpdateFlags { memory: Some(-1), ..Default::default() });
        assert_eq!(r.memory().unwrap().swap(), Some(-1));
        assert_eq!(merge_update(&base, &UpdateFlags::default()), base);
    }

    #[test]
    fn merges_resources_patch() {
        let base: LinuxResources =
            serde_json::from_str(r#"{"memory":{"limit":1000,"swappiness":10},"pids":{"limit":10}}"#).unwrap();
        let patch: LinuxResources = serde_json::from_str(r#"{"memory":{"limit":2000},"cpu":{"cpus":"0"}}"#).unwrap();
        let r = merge_resources(&base, &patch);
        assert_eq!(r.memory().unwrap().limit(), Some(2000));
        assert_eq!(r.memory().unwrap().swappiness(), Some(10));
        assert_eq!(r.cpu().clone().unwrap().cpus().as_deref(), Some("0"));
        assert_eq!(r.pids().unwrap().limit(), 10);
    }
}
