//! Container resource statistics, shaped exactly like the `data` object of
//! runc's `events --stats` JSON (runc `types.Stats`), read from the v1
//! controller files or the v2 unified files. Missing files just leave zeroes:
//! statistics are best effort, as in runc.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fsops::{read, read_u64};
use super::paths::{controller_dir, Hierarchy};
use super::Result;

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub cpuset: CpuSet,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
    pub intel_rdt: serde_json::Map<String, serde_json::Value>,
    pub network_interfaces: Option<Vec<serde_json::Value>>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuUsage {
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero", default)]
    pub periods: u64,
    #[serde(rename = "throttledPeriods", skip_serializing_if = "is_zero", default)]
    pub throttled_periods: u64,
    #[serde(rename = "throttledTime", skip_serializing_if = "is_zero", default)]
    pub throttled_time: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuSet {
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub cpus: Vec<u16>,
    pub cpu_exclusive: u64,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub mems: Vec<u16>,
    pub mem_hardwall: u64,
    pub mem_exclusive: u64,
    pub memory_migrate: u64,
    pub memory_spread_page: u64,
    pub memory_spread_slab: u64,
    pub memory_pressure: u64,
    pub sched_load_balance: u64,
    pub sched_relax_domain_level: i64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero", default)]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero", default)]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub limit: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero", default)]
    pub major: u64,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub minor: u64,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub op: String,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub value: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero", default)]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub max: u64,
    pub failcnt: u64,
}

fn num(dir: &Path, file: &str) -> u64 {
    read_u64(&dir.join(file)).unwrap_or(0)
}

/// `key value` lines (memory.stat, cpu.stat, memory.events).
pub(crate) fn keyed(dir: &Path, file: &str) -> BTreeMap<String, u64> {
    read(dir.join(file))
        .map(|t| {
            t.lines()
                .filter_map(|l| {
                    let (k, v) = l.split_once(' ')?;
                    Some((k.to_owned(), v.trim().parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn list(dir: &Path, file: &str) -> Vec<u64> {
    read(dir.join(file)).map(|t| t.split_whitespace().filter_map(|v| v.parse().ok()).collect()).unwrap_or_default()
}

/// `0-2,5` -> [0, 1, 2, 5]
pub(crate) fn parse_cpu_list(s: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<u16>().ok()),
        }
    }
    out
}

/// v1 blkio `8:0 Read 123` lines (the `Total` lines are skipped).
pub(crate) fn parse_blkio(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 3 {
                return None;
            }
            let (maj, min) = f[0].split_once(':')?;
            Some(BlkioEntry {
                major: maj.parse().ok()?,
                minor: min.parse().ok()?,
                op: f[1].to_owned(),
                value: f[2].parse().ok()?,
            })
        })
        .collect()
}

fn hugepage_sizes(dir: &Path, suffix: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut sizes: Vec<String> = rd
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("hugetlb.")?.strip_suffix(suffix).map(str::to_owned))
        .filter(|s| !s.contains('.'))
        .collect();
    sizes.sort();
    sizes
}

fn v1_memory_entry(dir: &Path, prefix: &str) -> MemoryEntry {
    MemoryEntry {
        limit: num(dir, &format!("{prefix}.limit_in_bytes")),
        usage: num(dir, &format!("{prefix}.usage_in_bytes")),
        max: num(dir, &format!("{prefix}.max_usage_in_bytes")),
        failcnt: num(dir, &format!("{prefix}.failcnt")),
    }
}

pub(crate) fn v1(hs: &[Hierarchy]) -> Result<Stats> {
    let mut s = Stats::default();
    if let Some(d) = controller_dir(hs, "memory") {
        s.memory.usage = v1_memory_entry(d, "memory");
        s.memory.swap = v1_memory_entry(d, "memory.memsw");
        s.memory.kernel = v1_memory_entry(d, "memory.kmem");
        s.memory.kernel_tcp = v1_memory_entry(d, "memory.kmem.tcp");
        s.memory.raw = keyed(d, "memory.stat");
        s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
    }
    if let Some(d) = controller_dir(hs, "cpuacct") {
        s.cpu.usage.total = num(d, "cpuacct.usage");
        s.cpu.usage.percpu = list(d, "cpuacct.usage_percpu");
        s.cpu.usage.percpu_kernel = list(d, "cpuacct.usage_percpu_sys");
        s.cpu.usage.percpu_user = list(d, "cpuacct.usage_percpu_user");
        // cpuacct.stat is in USER_HZ (100/s) ticks.
        let st = keyed(d, "cpuacct.stat");
        s.cpu.usage.user = st.get("user").copied().unwrap_or(0) * 10_000_000;
        s.cpu.usage.kernel = st.get("system").copied().unwrap_or(0) * 10_000_000;
    }
    if let Some(d) = controller_dir(hs, "cpu") {
        let st = keyed(d, "cpu.stat");
        s.cpu.throttling = Throttling {
            periods: st.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: st.get("throttled_time").copied().unwrap_or(0),
        };
    }
    if let Some(d) = controller_dir(hs, "cpuset") {
        s.cpuset.cpus = parse_cpu_list(&read(d.join("cpuset.cpus")).unwrap_or_default());
        s.cpuset.mems = parse_cpu_list(&read(d.join("cpuset.mems")).unwrap_or_default());
        s.cpuset.cpu_exclusive = num(d, "cpuset.cpu_exclusive");
        s.cpuset.mem_hardwall = num(d, "cpuset.mem_hardwall");
        s.cpuset.mem_exclusive = num(d, "cpuset.mem_exclusive");
        s.cpuset.memory_migrate = num(d, "cpuset.memory_migrate");
        s.cpuset.memory_spread_page = num(d, "cpuset.memory_spread_page");
        s.cpuset.memory_spread_slab = num(d, "cpuset.memory_spread_slab");
        s.cpuset.memory_pressure = num(d, "cpuset.memory_pressure");
        s.cpuset.sched_load_balance = num(d, "cpuset.sched_load_balance");
        s.cpuset.sched_relax_domain_level =
            read(d.join("cpuset.sched_relax_domain_level")).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    }
    if let Some(d) = controller_dir(hs, "pids") {
        s.pids.current = num(d, "pids.current");
        s.pids.limit = match num(d, "pids.max") {
            u64::MAX => 0,
            v => v,
        };
    }
    if let Some(d) = controller_dir(hs, "blkio") {
        let pick = |names: [&str; 3]| {
            names.iter().map(|n| read(d.join(n)).map(|t| parse_blkio(&t)).unwrap_or_default()).find(|v| !v.is_empty())
        };
        s.blkio.io_service_bytes_recursive = pick([
            "blkio.io_service_bytes_recursive",
            "blkio.bfq.io_service_bytes_recursive",
            "blkio.throttle.io_service_bytes_recursive",
        ])
        .unwrap_or_default();
        s.blkio.io_serviced_recursive = pick([
            "blkio.io_serviced_recursive",
            "blkio.bfq.io_serviced_recursive",
            "blkio.throttle.io_serviced_recursive",
        ])
        .unwrap_or_default();
    }
    if let Some(d) = controller_dir(hs, "hugetlb") {
        for size in hugepage_sizes(d, ".limit_in_bytes") {
            let h = Hugetlb {
                usage: num(d, &format!("hugetlb.{size}.usage_in_bytes")),
                max: num(d, &format!("hugetlb.{size}.max_usage_in_bytes")),
                failcnt: num(d, &format!("hugetlb.{size}.failcnt")),
            };
            s.hugetlb.insert(size, h);
        }
    }
    Ok(s)
}

/// v2 `io.stat`: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...`
pub(crate) fn parse_io_stat(text: &str) -> Blkio {
    let mut b = Blkio::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else { continue };
        let (Ok(major), Ok(minor)) = (maj.parse(), min.parse()) else { continue };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else { continue };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut b.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut b.io_service_bytes_recursive, "Write"),
                "rios" => (&mut b.io_serviced_recursive, "Read"),
                "wios" => (&mut b.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry { major, minor, op: op.to_owned(), value });
        }
    }
    b
}

pub(crate) fn v2(d: &Path) -> Result<Stats> {
    let mut s = Stats::default();
    let raw = keyed(d, "memory.stat");
    let events = keyed(d, "memory.events");
    let current = num(d, "memory.current");
    s.memory.usage = MemoryEntry {
        limit: num(d, "memory.max"),
        usage: current,
        max: num(d, "memory.peak"),
        failcnt: events.get("max").copied().unwrap_or(0),
    };
    if d.join("memory.swap.current").exists() {
        // runc reports v1-style memory+swap
        s.memory.swap = MemoryEntry {
            limit: num(d, "memory.swap.max").saturating_add(s.memory.usage.limit),
            usage: num(d, "memory.swap.current") + current,
            max: 0,
            failcnt: 0,
        };
    }
    s.memory.cache = raw.get("file").copied().unwrap_or(0);
    s.memory.raw = raw;
    let cpu = keyed(d, "cpu.stat");
    let g = |k: &str| cpu.get(k).copied().unwrap_or(0);
    s.cpu.usage.total = g("usage_usec") * 1000;
    s.cpu.usage.user = g("user_usec") * 1000;
    s.cpu.usage.kernel = g("system_usec") * 1000;
    s.cpu.throttling = Throttling {
        periods: g("nr_periods"),
        throttled_periods: g("nr_throttled"),
        throttled_time: g("throttled_usec") * 1000,
    };
    s.cpuset.cpus = parse_cpu_list(&read(d.join("cpuset.cpus.effective")).unwrap_or_default());
    s.cpuset.mems = parse_cpu_list(&read(d.join("cpuset.mems.effective")).unwrap_or_default());
    s.pids.current = num(d, "pids.current");
    s.pids.limit = match num(d, "pids.max") {
        u64::MAX => 0,
        v => v,
    };
    s.blkio = read(d.join("io.stat")).map(|t| parse_io_stat(&t)).unwrap_or_default();
    for size in hugepage_sizes(d, ".max") {
        let ev = keyed(d, &format!("hugetlb.{size}.events"));
        let h = Hugetlb {
            usage: num(d, &format!("hugetlb.{size}.current")),
            max: 0,
            failcnt: ev.get("max").copied().unwrap_or(0),
        };
        s.hugetlb.insert(size, h);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        assert_eq!(parse_cpu_list("0-2,5\n"), vec![0, 1, 2, 5]);
        assert_eq!(parse_cpu_list(""), Vec::<u16>::new());
        let b = parse_blkio("8:0 Read 10\n8:0 Write 20\nTotal 30\n");
        assert_eq!(b.len(), 2);
        assert_eq!(b[1], BlkioEntry { major: 8, minor: 0, op: "Write".into(), value: 20 });
        let io = parse_io_stat("8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0\n");
        assert_eq!(io.io_service_bytes_recursive.len(), 2);
        assert_eq!(io.io_serviced_recursive[1].value, 4);
    }

    #[test]
    fn v2_fixture_and_json_shape() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for (f, v) in [
            ("memory.current", "4096"),
            ("memory.max", "max"),
            ("memory.stat", "anon 10\nfile 20\n"),
            ("memory.events", "low 0\nmax 3\noom 1\noom_kill 1\n"),
            ("cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 0\n"),
            ("pids.current", "2"),
            ("pids.max", "max"),
            ("hugetlb.2MB.max", "max"),
            ("hugetlb.2MB.rsvd.max", "max"),
            ("hugetlb.2MB.current", "0"),
        ] {
            std::fs::write(d.join(f), v).unwrap();
        }
        let s = v2(d).unwrap();
        assert_eq!(s.memory.usage.usage, 4096);
        assert_eq!(s.memory.usage.failcnt, 3);
        assert_eq!(s.memory.cache, 20);
        assert_eq!(s.cpu.usage.total, 5000);
        assert_eq!(s.pids.current, 2);
        assert_eq!(s.pids.limit, 0);
        assert_eq!(s.hugetlb.keys().collect::<Vec<_>>(), vec!["2MB"]);
        let json = serde_json::to_value(&s).unwrap();
        for key in ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["memory"]["kernelTCP"]["failcnt"], 0);
        assert_eq!(json["blkio"], serde_json::json!({}));
        assert_eq!(json["network_interfaces"], serde_json::Value::Null);
    }
}
