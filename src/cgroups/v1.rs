//! cgroup v1 (and hybrid hosts, which use the v1 controllers): one planning
//! function per controller taking the OCI values and the controller's
//! directory, which it may read to see what the kernel offers (the file
//! exists) or the current value (write ordering). Also cpuset
//! initialisation and the freezer.

use std::path::Path;
use std::time::{Duration, Instant};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxNetwork, LinuxResources};

use super::convert::{self, cpu_is_empty, memory_is_empty};
use super::fsops::{read, read_u64, write};
use super::paths::{controller_dir, Hierarchy};
use super::plan::{OnEinval, Plan};
use super::{devices, Error, Result};

fn unsupported(field: &str, reason: impl Into<String>) -> Error {
    Error::Unsupported { field: field.to_owned(), reason: reason.into() }
}

fn need<'a>(v1: &'a [Hierarchy], controller: &str, field: &str) -> Result<&'a Path> {
    controller_dir(v1, controller)
        .ok_or_else(|| unsupported(field, format!("the `{controller}` controller is not mounted (cgroup v1)")))
}

/// Require `dir/file` to exist (the kernel offers the knob).
fn has(dir: &Path, file: &str, field: &str) -> Result<()> {
    if dir.join(file).exists() {
        Ok(())
    } else {
        Err(unsupported(field, format!("`{}` does not exist", dir.join(file).display())))
    }
}

/// Plan every field of `r` but `unified` (the v2 files, which only a hybrid
/// host's cgroup2 mount has) for the v1 hierarchies `cg`.
pub(crate) fn plan(r: &LinuxResources, cg: &[Hierarchy], with_devices: bool) -> Result<Plan> {
    let mut p = Plan::default();
    if with_devices {
        let dir = need(cg, "devices", "devices")?;
        let rules = devices::rules(r.devices().as_deref().unwrap_or(&[]))
            .map_err(|reason| Error::Invalid { field: "devices", reason })?;
        for (file, value) in devices::v1_writes(&rules) {
            p.write(dir, file, value);
        }
    }
    if let Some(m) = r.memory().as_ref().filter(|m| !memory_is_empty(m)) {
        plan_memory(m, need(cg, "memory", "memory")?, &mut p)?;
    }
    if let Some(c) = r.cpu().as_ref().filter(|c| !cpu_is_empty(c)) {
        let cpuset_set =
            c.cpus().as_deref().is_some_and(|s| !s.is_empty()) || c.mems().as_deref().is_some_and(|s| !s.is_empty());
        let cpu_set = c.shares().is_some()
            || c.quota().is_some()
            || c.period().is_some()
            || c.burst().is_some()
            || c.realtime_period().is_some()
            || c.realtime_runtime().is_some()
            || c.idle().is_some();
        if cpu_set {
            plan_cpu(c, need(cg, "cpu", "cpu")?, &mut p)?;
        }
        if cpuset_set {
            plan_cpuset(c, need(cg, "cpuset", "cpu.cpus")?, &mut p);
        }
    }
    if let Some(pids) = r.pids() {
        p.write(need(cg, "pids", "pids")?, "pids.max", convert::v2_limit(pids.limit()));
    }
    if let Some(b) = r.block_io() {
        if *b != LinuxBlockIo::default() {
            plan_blkio(b, need(cg, "blkio", "blockIO")?, &mut p)?;
        }
    }
    if let Some(h) = r.hugepage_limits().as_ref().filter(|h| !h.is_empty()) {
        plan_hugetlb(h, need(cg, "hugetlb", "hugepageLimits")?, &mut p)?;
    }
    if let Some(n) = r.network() {
        plan_network(n, cg, &mut p)?;
    }
    if let Some(rdma) = r.rdma().as_ref().filter(|m| !m.is_empty()) {
        let dir = need(cg, "rdma", "rdma")?;
        for line in convert::rdma_lines(rdma)? {
            p.write(dir, "rdma.max", line);
        }
    }
    Ok(p)
}

pub(crate) fn plan_memory(m: &LinuxMemory, dir: &Path, p: &mut Plan) -> Result<()> {
    if m.kernel().is_some_and(|k| k != 0) {
        p.warn("kernel memory settings are ignored (the kernel no longer supports them)");
    }
    let limit = m.limit().unwrap_or(0);
    let mut swap = m.swap().unwrap_or(0);
    let memsw = dir.join("memory.memsw.limit_in_bytes").exists();
    if limit == -1 && swap == 0 && memsw {
        swap = -1;
    }
    if swap != 0 && !memsw {
        p.warn("memory swap limit ignored: swap accounting is not enabled in the kernel");
        swap = 0;
    }
    let swap_first = limit != 0 && swap != 0 && {
        let cur = read_u64(&dir.join("memory.limit_in_bytes")).unwrap_or(u64::MAX);
        swap == -1 || u64::try_from(swap).is_ok_and(|s| cur < s)
    };
    if swap_first {
        p.write(dir, "memory.memsw.limit_in_bytes", swap);
    }
    if limit != 0 {
        p.write(dir, "memory.limit_in_bytes", limit);
    }
    if swap != 0 && !swap_first {
        p.write(dir, "memory.memsw.limit_in_bytes", swap);
    }
    if let Some(r) = m.reservation().filter(|&r| r != 0) {
        p.write(dir, "memory.soft_limit_in_bytes", r);
    }
    if let Some(t) = m.kernel_tcp().filter(|&t| t != 0) {
        if dir.join("memory.kmem.tcp.limit_in_bytes").exists() {
            p.write(dir, "memory.kmem.tcp.limit_in_bytes", t);
        } else {
            p.warn("kernelTCP ignored: this kernel has no `memory.kmem.tcp.limit_in_bytes`");
        }
    }
    if let Some(s) = m.swappiness().filter(|&s| s != u64::MAX) {
        if s > 100 {
            return Err(Error::Invalid { field: "memory.swappiness", reason: format!("{s} is not in 0..=100") });
        }
        p.write(dir, "memory.swappiness", s);
    }
    if m.disable_oom_killer() == Some(true) {
        p.write(dir, "memory.oom_control", 1);
    }
    match m.use_hierarchy() {
        Some(true) => p.write(dir, "memory.use_hierarchy", 1),
        Some(false) => p.write_with(
            dir,
            "memory.use_hierarchy",
            0,
            OnEinval::Warn("useHierarchy=false ignored: this kernel always accounts hierarchically".into()),
        ),
        None => {}
    }
    // checkBeforeUpdate: the v1 kernel itself refuses a limit below usage.
    Ok(())
}

pub(crate) fn plan_cpu(c: &LinuxCpu, dir: &Path, p: &mut Plan) -> Result<()> {
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        if !(2..=262_144).contains(&s) {
            return Err(Error::Invalid { field: "cpu.shares", reason: format!("{s} is not in 2..=262144") });
        }
        p.write(dir, "cpu.shares", s);
    }
    let quota = c.quota().unwrap_or(0);
    if let (Some(b), true) = (c.burst(), quota > 0) {
        if b > quota as u64 {
            return Err(Error::Invalid { field: "cpu.burst", reason: format!("{b} is larger than quota {quota}") });
        }
    }
    if let Some(period) = c.period().filter(|&v| v != 0) {
        // A smaller period can be refused until the quota is lowered: retry last.
        let on = if quota != 0 { OnEinval::RetryLast } else { OnEinval::Fail };
        p.write_with(dir, "cpu.cfs_period_us", period, on);
    }
    if quota != 0 {
        p.write(dir, "cpu.cfs_quota_us", quota);
    }
    if let Some(b) = c.burst() {
        has(dir, "cpu.cfs_burst_us", "cpu.burst")?;
        p.write(dir, "cpu.cfs_burst_us", b);
    }
    if let Some(v) = c.realtime_period().filter(|&v| v != 0) {
        has(dir, "cpu.rt_period_us", "cpu.realtimePeriod")?;
        p.write(dir, "cpu.rt_period_us", v);
    }
    if let Some(v) = c.realtime_runtime().filter(|&v| v != 0) {
        has(dir, "cpu.rt_runtime_us", "cpu.realtimeRuntime")?;
        p.write(dir, "cpu.rt_runtime_us", v);
    }
    if let Some(i) = c.idle() {
        has(dir, "cpu.idle", "cpu.idle")?;
        p.write(dir, "cpu.idle", i);
    }
    Ok(())
}

pub(crate) fn plan_cpuset(c: &LinuxCpu, dir: &Path, p: &mut Plan) {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        p.write(dir, "cpuset.cpus", cpus);
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        p.write(dir, "cpuset.mems", mems);
    }
}

pub(crate) fn plan_blkio(b: &LinuxBlockIo, dir: &Path, p: &mut Plan) -> Result<()> {
    let (weight_file, bfq) =
        if dir.join("blkio.weight").exists() { ("blkio.weight", false) } else { ("blkio.bfq.weight", true) };
    if let Some(w) = b.weight().filter(|&w| w != 0) {
        has(dir, weight_file, "blockIO.weight")?;
        p.write(dir, weight_file, w);
    }
    if let Some(w) = b.leaf_weight().filter(|&w| w != 0) {
        has(dir, "blkio.leaf_weight", "blockIO.leafWeight")?;
        p.write(dir, "blkio.leaf_weight", w);
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            let file = if bfq { "blkio.bfq.weight" } else { "blkio.weight_device" };
            has(dir, file, "blockIO.weightDevice")?;
            p.write(dir, file, format!("{}:{} {}", d.major(), d.minor(), w));
        }
        if let Some(w) = d.leaf_weight() {
            has(dir, "blkio.leaf_weight_device", "blockIO.weightDevice.leafWeight")?;
            p.write(dir, "blkio.leaf_weight_device", format!("{}:{} {}", d.major(), d.minor(), w));
        }
    }
    let throttles = [
        (b.throttle_read_bps_device(), "blkio.throttle.read_bps_device"),
        (b.throttle_write_bps_device(), "blkio.throttle.write_bps_device"),
        (b.throttle_read_iops_device(), "blkio.throttle.read_iops_device"),
        (b.throttle_write_iops_device(), "blkio.throttle.write_iops_device"),
    ];
    for (list, file) in throttles {
        for d in list.iter().flatten() {
            has(dir, file, "blockIO.throttle")?;
            p.write(dir, file, format!("{}:{} {}", d.major(), d.minor(), d.rate()));
        }
    }
    Ok(())
}

pub(crate) fn plan_hugetlb(limits: &[LinuxHugepageLimit], dir: &Path, p: &mut Plan) -> Result<()> {
    for l in limits {
        let size = convert::hugepage_size(l.page_size())?;
        let file = format!("hugetlb.{size}.limit_in_bytes");
        has(dir, &file, "hugepageLimits")?;
        p.write(dir, &file, l.limit());
        let rsvd = format!("hugetlb.{size}.rsvd.limit_in_bytes");
        if dir.join(&rsvd).exists() {
            p.write(dir, &rsvd, l.limit());
        }
    }
    Ok(())
}

fn plan_network(n: &LinuxNetwork, cg: &[Hierarchy], p: &mut Plan) -> Result<()> {
    if let Some(id) = n.class_id() {
        p.write(need(cg, "net_cls", "network.classID")?, "net_cls.classid", id);
    }
    for prio in n.priorities().iter().flatten() {
        let dir = need(cg, "net_prio", "network.priorities")?;
        p.write(dir, "net_prio.ifpriomap", format!("{} {}", prio.name(), prio.priority()));
    }
    Ok(())
}

/// A new v1 cpuset cgroup starts with empty cpus/mems, and a process cannot
/// join it until they are set: copy them down from the nearest parent.
pub(crate) fn init_cpuset(mountpoint: &Path, dir: &Path) -> Result<()> {
    let Ok(rel) = dir.strip_prefix(mountpoint) else { return Ok(()) };
    let mut cur = mountpoint.to_path_buf();
    for c in rel.components() {
        let parent = cur.clone();
        cur.push(c);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if read(cur.join(file))?.trim().is_empty() {
                write(&cur.join(file), read(parent.join(file))?.trim())?;
            }
        }
    }
    Ok(())
}

/// Write FROZEN/THAWED and wait until `freezer.state` says so.
pub(crate) fn freeze(dir: &Path, frozen: bool) -> Result<()> {
    let want = if frozen { "FROZEN" } else { "THAWED" };
    let file = dir.join("freezer.state");
    let start = Instant::now();
    let mut i = 0u32;
    loop {
        // Rewrite periodically: a task forked mid-freeze can stall FREEZING.
        if i.is_multiple_of(25) {
            write(&file, want)?;
        }
        let state = read(&file)?;
        let state = state.trim();
        if state == want {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(5) {
            if frozen {
                // Leave nothing half-frozen behind.
                let _ = write(&file, "THAWED");
            }
            return Err(Error::FreezeTimeout { path: dir.to_owned(), state: state.to_owned(), secs: 5 });
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(if i < 10 { 1 } else { 10 }));
    }
}

pub(crate) fn is_frozen(dir: &Path) -> Result<bool> {
    Ok(read(dir.join("freezer.state"))?.trim() == "FROZEN")
}

#[cfg(test)]
#[path = "v1_tests.rs"]
mod tests;
