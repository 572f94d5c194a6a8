//! cgroup v2 (the unified hierarchy): per-controller planning functions
//! converting OCI values the way runc does (`convert.rs`), the `unified`
//! key/value files (also planned on a hybrid host's cgroup2 mount),
//! controller delegation down the tree and `cgroup.freeze`. The device
//! rules go into the plan for `apply.rs` to compile and attach.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxResources};

use super::convert::{self, cpu_is_empty, memory_is_empty};
use super::fsops::{read, read_u64, write};
use super::plan::Plan;
use super::{devices, Error, Result};

fn unsupported(field: &str, reason: impl Into<String>) -> Error {
    Error::Unsupported { field: field.to_owned(), reason: reason.into() }
}

/// Require the controller's interface file (it exists only when the
/// controller is enabled in the parent's `cgroup.subtree_control`).
fn need(dir: &Path, file: &str, controller: &str, field: &str) -> Result<()> {
    if dir.join(file).exists() {
        Ok(())
    } else {
        Err(unsupported(field, format!("the `{controller}` controller is not enabled in `{}`", dir.display())))
    }
}

pub(crate) fn plan(r: &LinuxResources, dir: &Path, with_devices: bool) -> Result<Plan> {
    let mut p = Plan::default();
    if with_devices {
        let rules = devices::rules(r.devices().as_deref().unwrap_or(&[]))
            .map_err(|reason| Error::Invalid { field: "devices", reason })?;
        p.bpf_devices = Some((dir.to_owned(), rules));
    }
    if let Some(m) = r.memory().as_ref().filter(|m| !memory_is_empty(m)) {
        plan_memory(m, dir, &mut p)?;
    }
    if let Some(c) = r.cpu().as_ref().filter(|c| !cpu_is_empty(c)) {
        plan_cpu(c, dir, &mut p)?;
    }
    if let Some(pids) = r.pids() {
        need(dir, "pids.max", "pids", "pids")?;
        p.write(dir, "pids.max", convert::v2_limit(pids.limit()));
    }
    if let Some(b) = r.block_io().as_ref().filter(|b| **b != LinuxBlockIo::default()) {
        plan_io(b, dir, &mut p)?;
    }
    if let Some(h) = r.hugepage_limits().as_ref().filter(|h| !h.is_empty()) {
        plan_hugetlb(h, dir, &mut p)?;
    }
    if let Some(n) = r.network() {
        if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|v| !v.is_empty()) {
            return Err(unsupported("network", "net_cls/net_prio do not exist on cgroup v2"));
        }
    }
    if let Some(rdma) = r.rdma().as_ref().filter(|m| !m.is_empty()) {
        need(dir, "rdma.max", "rdma", "rdma")?;
        for line in convert::rdma_lines(rdma)? {
            p.write(dir, "rdma.max", line);
        }
    }
    // Last, so explicit unified values win over converted ones (as runc).
    if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
        plan_unified(u, dir, &mut p)?;
    }
    Ok(p)
}

pub(crate) fn plan_memory(m: &LinuxMemory, dir: &Path, p: &mut Plan) -> Result<()> {
    if m.kernel().is_some_and(|k| k != 0) {
        p.warn("kernel memory settings are ignored (the kernel no longer supports them)");
    }
    if m.kernel_tcp().is_some_and(|k| k != 0) {
        p.warn("kernelTCP ignored: cgroup v2 has no TCP memory limit");
    }
    if m.swappiness().is_some_and(|s| s != u64::MAX) {
        p.warn("memory.swappiness ignored: cgroup v2 has no per-cgroup swappiness");
    }
    if m.disable_oom_killer() == Some(true) {
        p.warn("disableOOMKiller ignored: cgroup v2 cannot disable the OOM killer");
    }
    if m.use_hierarchy() == Some(false) {
        p.warn("useHierarchy=false ignored: cgroup v2 is always hierarchical");
    }
    let limit = m.limit().unwrap_or(0);
    let swap_in = m.swap().unwrap_or(0);
    let swap = convert::memory_swap_to_v2(swap_in, limit)?;
    let swap_str = match swap {
        0 if swap_in > 0 => Some("0".to_owned()), // swap == limit: no swap at all
        0 => None,
        v => Some(convert::v2_limit(v)),
    };
    if limit != 0 || m.reservation().is_some_and(|r| r != 0) {
        need(dir, "memory.max", "memory", "memory")?;
    }
    if let Some(s) = swap_str {
        if dir.join("memory.swap.max").exists() {
            p.write(dir, "memory.swap.max", s);
        } else if s != "max" && s != "0" {
            return Err(unsupported("memory.swap", "swap accounting is not enabled (no `memory.swap.max`)"));
        }
    }
    if limit != 0 {
        if m.check_before_update() == Some(true) && limit > 0 {
            let usage = read_u64(&dir.join("memory.current")).unwrap_or(0);
            if usage > limit as u64 {
                return Err(Error::Invalid {
                    field: "memory.limit",
                    reason: format!("new limit {limit} is below the current usage {usage} (checkBeforeUpdate)"),
                });
            }
        }
        p.write(dir, "memory.max", convert::v2_limit(limit));
    }
    if let Some(r) = m.reservation().filter(|&r| r != 0) {
        p.write(dir, "memory.low", convert::v2_limit(r));
    }
    Ok(())
}

pub(crate) fn plan_cpu(c: &LinuxCpu, dir: &Path, p: &mut Plan) -> Result<()> {
    if c.realtime_period().is_some_and(|v| v != 0) || c.realtime_runtime().is_some_and(|v| v != 0) {
        return Err(unsupported("cpu.realtimePeriod/realtimeRuntime", "cgroup v2 has no realtime scheduling limits"));
    }
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        need(dir, "cpu.weight", "cpu", "cpu.shares")?;
        p.write(dir, "cpu.weight", convert::shares_to_weight(s));
    }
    let quota = c.quota().unwrap_or(0);
    let period = c.period().unwrap_or(0);
    if quota != 0 || period != 0 {
        need(dir, "cpu.max", "cpu", "cpu.quota")?;
        let mut v = if quota > 0 { quota.to_string() } else { "max".to_owned() };
        if period != 0 {
            v.push_str(&format!(" {period}"));
        }
        p.write(dir, "cpu.max", v);
    }
    if let Some(b) = c.burst() {
        if quota > 0 && b > quota as u64 {
            return Err(Error::Invalid { field: "cpu.burst", reason: format!("{b} is larger than quota {quota}") });
        }
        need(dir, "cpu.max.burst", "cpu", "cpu.burst")?;
        p.write(dir, "cpu.max.burst", b);
    }
    if let Some(i) = c.idle() {
        need(dir, "cpu.idle", "cpu", "cpu.idle")?;
        p.write(dir, "cpu.idle", i);
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        need(dir, "cpuset.cpus", "cpuset", "cpu.cpus")?;
        p.write(dir, "cpuset.cpus", cpus);
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        need(dir, "cpuset.mems", "cpuset", "cpu.mems")?;
        p.write(dir, "cpuset.mems", mems);
    }
    Ok(())
}

pub(crate) fn plan_io(b: &LinuxBlockIo, dir: &Path, p: &mut Plan) -> Result<()> {
    let bfq = dir.join("io.bfq.weight").exists();
    if let Some(w) = b.weight().filter(|&w| w != 0) {
        if bfq {
            p.write(dir, "io.bfq.weight", w);
        } else {
            need(dir, "io.weight", "io", "blockIO.weight")?;
            p.write(dir, "io.weight", convert::blkio_weight_to_io_weight(w));
        }
    }
    if b.leaf_weight().is_some_and(|w| w != 0) {
        p.warn("blockIO.leafWeight ignored: cgroup v2 has no leaf weight");
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            if bfq {
                p.write(dir, "io.bfq.weight", format!("{}:{} {}", d.major(), d.minor(), w));
            } else {
                need(dir, "io.weight", "io", "blockIO.weightDevice")?;
                let v = convert::blkio_weight_to_io_weight(w);
                p.write(dir, "io.weight", format!("{}:{} {}", d.major(), d.minor(), v));
            }
        }
        if d.leaf_weight().is_some() {
            p.warn("blockIO.weightDevice.leafWeight ignored: cgroup v2 has no leaf weight");
        }
    }
    let throttles = [
        (b.throttle_read_bps_device(), "rbps"),
        (b.throttle_write_bps_device(), "wbps"),
        (b.throttle_read_iops_device(), "riops"),
        (b.throttle_write_iops_device(), "wiops"),
    ];
    for (list, key) in throttles {
        for d in list.iter().flatten() {
            need(dir, "io.max", "io", "blockIO.throttle")?;
            p.write(dir, "io.max", format!("{}:{} {}={}", d.major(), d.minor(), key, d.rate()));
        }
    }
    Ok(())
}

pub(crate) fn plan_hugetlb(limits: &[LinuxHugepageLimit], dir: &Path, p: &mut Plan) -> Result<()> {
    for l in limits {
        let size = convert::hugepage_size(l.page_size())?;
        let file = format!("hugetlb.{size}.max");
        need(dir, &file, "hugetlb", "hugepageLimits")?;
        p.write(dir, &file, convert::v2_limit(l.limit()));
        let rsvd = format!("hugetlb.{size}.rsvd.max");
        if dir.join(&rsvd).exists() {
            p.write(dir, &rsvd, convert::v2_limit(l.limit()));
        }
    }
    Ok(())
}

/// `linux.resources.unified`: each key is a file of the cgroup directory.
pub(crate) fn plan_unified(u: &HashMap<String, String>, dir: &Path, p: &mut Plan) -> Result<()> {
    let mut keys: Vec<_> = u.iter().collect();
    keys.sort();
    for (k, v) in keys {
        if k.is_empty() || k.contains('/') || k.starts_with('.') || k == "cgroup.procs" || k == "cgroup.threads" {
            return Err(Error::Invalid { field: "unified", reason: format!("`{k}` is not a cgroup control file") });
        }
        if !dir.join(k).exists() {
            let ctrl = k.split('.').next().unwrap_or(k);
            return Err(unsupported(
                &format!("unified.{k}"),
                format!("no `{k}` in `{}` (is the `{ctrl}` controller enabled?)", dir.display()),
            ));
        }
        p.write(dir, k, v);
    }
    Ok(())
}

/// Enable every available controller in `cgroup.subtree_control` from the
/// root down to the container's parent, so the container gets its files.
/// Controllers a level refuses (e.g. it has processes) are skipped; a field
/// that needs one then fails clearly at `apply`.
pub(crate) fn enable_controllers(mountpoint: &Path, dir: &Path) -> Result<()> {
    let Ok(rel) = dir.strip_prefix(mountpoint) else { return Ok(()) };
    let mut levels = vec![mountpoint.to_path_buf()];
    for c in rel.components() {
        let next = levels[levels.len() - 1].join(c);
        levels.push(next);
    }
    levels.pop(); // the container's own directory delegates nothing
    for level in levels {
        let available = read(level.join("cgroup.controllers"))?;
        let all: Vec<String> = available.split_whitespace().map(|c| format!("+{c}")).collect();
        let control = level.join("cgroup.subtree_control");
        if !all.is_empty() && write(&control, &all.join(" ")).is_err() {
            for ctrl in &all {
                let _ = write(&control, ctrl);
            }
        }
    }
    Ok(())
}

pub(crate) fn freeze(dir: &Path, frozen: bool) -> Result<()> {
    write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
    let start = Instant::now();
    loop {
        if is_frozen(dir)? == frozen {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(5) {
            let state = if frozen { "freezing" } else { "thawing" };
            return Err(Error::FreezeTimeout { path: dir.to_owned(), state: state.into(), secs: 5 });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub(crate) fn is_frozen(dir: &Path) -> Result<bool> {
    let events = read(dir.join("cgroup.events"))?;
    Ok(events.lines().any(|l| l.trim() == "frozen 1"))
}

#[cfg(test)]
#[path = "v2_tests.rs"]
mod tests;
