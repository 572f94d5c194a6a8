//! `linux.resources` as systemd unit properties, the way runc's systemd
//! drivers translate them (systemd.resource-control(5)): the v1 flavour
//! for legacy and hybrid hosts (`MemoryLimit`, `CPUShares`,
//! `BlockIOWeight`), the v2 flavour for unified ones (`MemoryMax`,
//! `MemoryLow`, `MemorySwapMax`, `CPUWeight`, `unified` keys). Both share
//! the CPU quota, `TasksMax`, `AllowedCPUs`/`AllowedMemoryNodes` and the
//! device policy. Pure: the systemd version is a parameter, and the result
//! says which resources the cgroup files must then get (systemd rounds the
//! CPU quota to whole percents, so the files get the rounded value too).

use oci_spec::runtime::LinuxResources;

use super::super::convert;
use super::super::devices::{self, Rule};
use super::wire::Value;

/// Which cgroup hierarchy the unit lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Legacy or hybrid host: systemd drives the v1 controllers.
    V1,
    /// Unified host.
    V2,
}

/// When the properties are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `StartTransientUnit`: device rules and start-only properties too.
    Start,
    /// `SetUnitProperties` of `update`: devices stay as they are (as
    /// `runc update` leaves them), start-only properties are left out.
    Update,
}

/// A translation of resources into properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    pub properties: Vec<(String, Value)>,
    /// What the cgroup files get afterwards (the CPU quota rounded up).
    pub resources: LinuxResources,
    /// Things systemd cannot express (the files still get them).
    pub warnings: Vec<String>,
}

/// The kernel's default CFS period (µs), on v1 and v2 alike.
const DEFAULT_PERIOD: u64 = 100_000;
/// systemd's "infinity" (`USEC_INFINITY`, `CGROUP_LIMIT_MAX`).
const INFINITY: u64 = u64::MAX;

struct Props {
    out: Vec<(String, Value)>,
    warnings: Vec<String>,
    version: u32,
}

impl Props {
    fn add(&mut self, name: &str, v: Value) {
        self.out.push((name.to_owned(), v));
    }
}

/// Translate `r` for a unit on a `flavour` host managed by systemd `version`.
pub fn translate(r: &LinuxResources, flavour: Flavour, version: u32, stage: Stage) -> Result<Translation, String> {
    let mut p = Props { out: Vec::new(), warnings: Vec::new(), version };
    let mut files = r.clone();
    if stage == Stage::Start {
        let rules = devices::rules(r.devices().as_deref().unwrap_or(&[]))?;
        device_properties(&rules, &mut p);
    }
    if let Some(m) = r.memory() {
        let limit = m.limit().unwrap_or(0);
        let name = if flavour == Flavour::V1 { "MemoryLimit" } else { "MemoryMax" };
        if limit != 0 {
            p.add(name, Value::U64(bytes(limit)));
        }
        if flavour == Flavour::V2 {
            if let Some(res) = m.reservation().filter(|&v| v != 0) {
                p.add("MemoryLow", Value::U64(bytes(res)));
            }
            let swap = convert::memory_swap_to_v2(m.swap().unwrap_or(0), limit).map_err(|e| e.to_string())?;
            if swap != 0 {
                p.add("MemorySwapMax", Value::U64(bytes(swap)));
            }
        }
    }
    if let Some(c) = r.cpu() {
        let shares = c.shares().unwrap_or(0);
        let idle = flavour == Flavour::V2 && c.idle() == Some(1) && version >= 252;
        if idle {
            // systemd turns CPUWeight=0 into cpu.idle=1.
            p.add("CPUWeight", Value::U64(0));
        }
        match flavour {
            Flavour::V1 if shares != 0 => p.add("CPUShares", Value::U64(shares)),
            Flavour::V2 if shares != 0 && !idle => p.add("CPUWeight", Value::U64(convert::shares_to_weight(shares))),
            _ => {}
        }
        let mut quota = c.quota().unwrap_or(0);
        cpu_quota(&mut p, &mut quota, c.period().unwrap_or(0))?;
        if c.quota().is_some_and(|q| q != quota) {
            let mut c2 = c.clone();
            c2.set_quota(Some(quota));
            files.set_cpu(Some(c2));
        }
        cpuset(&mut p, c.cpus().as_deref(), c.mems().as_deref())?;
    }
    if flavour == Flavour::V1 {
        if let Some(w) = r.block_io().as_ref().and_then(|b| b.weight()).filter(|&w| w != 0) {
            p.add("BlockIOWeight", Value::U64(u64::from(w)));
        }
    }
    if let Some(pids) = r.pids() {
        p.add("TasksMax", Value::U64(tasks_max(pids.limit())));
    }
    if flavour == Flavour::V2 {
        if let Some(u) = r.unified() {
            unified(&mut p, u, stage)?;
        }
    }
    Ok(Translation { properties: p.out, resources: files, warnings: p.warnings })
}

/// A byte limit: negative means unlimited.
fn bytes(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(INFINITY)
}

/// systemd refuses `TasksMax=0`: 1 is the nearest it takes.
fn tasks_max(limit: i64) -> u64 {
    match limit {
        l if l < 0 => INFINITY,
        0 => 1,
        l => l as u64,
    }
}

/// `CPUQuotaPeriodUSec` (systemd 242 and later) and `CPUQuotaPerSecUSec`.
/// systemd keeps the quota in whole percents of a CPU (10 ms per second),
/// so a finer quota is rounded up and `quota` updated to match, so that
/// the file written afterwards agrees with what systemd writes.
fn cpu_quota(p: &mut Props, quota: &mut i64, period: u64) -> Result<(), String> {
    if period != 0 {
        if p.version >= 242 {
            p.add("CPUQuotaPeriodUSec", Value::U64(period));
        } else {
            p.warnings
                .push(format!("systemd {} cannot set CPUQuotaPeriodUSec (only the cgroup file is set)", p.version));
        }
    }
    if *quota == 0 && period == 0 {
        return Ok(());
    }
    let mut per_sec = INFINITY;
    if *quota > 0 {
        let period = if period == 0 { DEFAULT_PERIOD } else { period };
        let q = *quota as u128;
        per_sec =
            u64::try_from(q * 1_000_000 / u128::from(period)).map_err(|_| format!("cpu quota {quota} too large"))?;
        if !per_sec.is_multiple_of(10_000) {
            per_sec = (per_sec / 10_000 + 1) * 10_000;
            *quota = i64::try_from(u128::from(per_sec) * u128::from(period) / 1_000_000)
                .map_err(|_| format!("cpu quota {quota} too large"))?;
        }
    }
    p.add("CPUQuotaPerSecUSec", Value::U64(per_sec));
    Ok(())
}

/// `AllowedCPUs`/`AllowedMemoryNodes` (systemd 244 and later).
fn cpuset(p: &mut Props, cpus: Option<&str>, mems: Option<&str>) -> Result<(), String> {
    for (list, name) in [(cpus, "AllowedCPUs"), (mems, "AllowedMemoryNodes")] {
        let Some(list) = list.filter(|l| !l.trim().is_empty()) else { continue };
        let bits = range_to_bits(list).map_err(|e| format!("cpuset `{list}`: {e}"))?;
        if p.version >= 244 {
            p.add(name, Value::array("y", bits.into_iter().map(Value::Byte).collect()));
        } else {
            p.warnings.push(format!("systemd {} cannot set {name} (only the cgroup file is set)", p.version));
        }
    }
    Ok(())
}

/// A cpuset list (`0-3,8`) as the bitmask systemd takes: byte 0 holds
/// CPUs 0-7 (least significant bit first), no trailing zero bytes.
pub fn range_to_bits(list: &str) -> Result<Vec<u8>, String> {
    let mut bits: Vec<u8> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let num = |s: &str| s.trim().parse::<u32>().map_err(|_| format!("`{s}` is not a number"));
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err(format!("invalid range `{part}`"));
        }
        if hi >= 1 << 16 {
            return Err(format!("`{hi}` is too large"));
        }
        for i in lo..=hi {
            let byte = (i / 8) as usize;
            if bits.len() <= byte {
                bits.resize(byte + 1, 0);
            }
            bits[byte] |= 1 << (i % 8);
        }
    }
    if bits.is_empty() {
        return Err("empty list".into());
    }
    Ok(bits)
}

/// `linux.resources.unified` keys systemd knows; the rest go to the files only.
fn unified(p: &mut Props, map: &std::collections::HashMap<String, String>, stage: Stage) -> Result<(), String> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let number = |k: &str, v: &str| -> Result<u64, String> {
        if v == "max" {
            return Ok(INFINITY);
        }
        v.parse::<u64>().map_err(|_| format!("unified `{k}`: `{v}` is not a number"))
    };
    let idle = map.get("cpu.idle").is_some_and(|v| v.trim() == "1") && p.version >= 252;
    for k in keys {
        let v = map[k].trim();
        if k.contains('/') || k.find('.').is_none_or(|i| i == 0) {
            return Err(format!("unified key `{k}` is not CONTROLLER.FILE"));
        }
        match k.as_str() {
            "cpu.idle" if idle => p.add("CPUWeight", Value::U64(0)),
            "cpu.weight" if idle => p.warnings.push("cpu.idle is set: cpu.weight is not given to systemd".into()),
            "cpu.weight" => p.add("CPUWeight", Value::U64(number(k, v)?)),
            "cpu.max" => {
                let f: Vec<&str> = v.split_whitespace().collect();
                if f.is_empty() || f.len() > 2 {
                    return Err(format!("unified `cpu.max`: `{v}` is not `QUOTA [PERIOD]`"));
                }
                let mut quota = if f[0] == "max" {
                    0
                } else {
                    f[0].parse::<i64>().map_err(|_| format!("unified `cpu.max`: `{}` is not a number", f[0]))?
                };
                let period = match f.get(1) {
                    Some(s) => s.parse::<u64>().map_err(|_| format!("unified `cpu.max`: `{s}` is not a number"))?,
                    None => DEFAULT_PERIOD,
                };
                cpu_quota(p, &mut quota, period)?;
            }
            "cpuset.cpus" => cpuset(p, Some(v), None)?,
            "cpuset.mems" => cpuset(p, None, Some(v))?,
            "memory.high" | "memory.low" | "memory.min" | "memory.max" | "memory.swap.max" => {
                let name = match k.as_str() {
                    "memory.high" => "MemoryHigh",
                    "memory.low" => "MemoryLow",
                    "memory.min" => "MemoryMin",
                    "memory.max" => "MemoryMax",
                    _ => "MemorySwapMax",
                };
                p.add(name, Value::U64(number(k, v)?));
            }
            "pids.max" => p.add("TasksMax", Value::U64(number(k, v)?.max(1))),
            "memory.oom.group" if stage == Stage::Start && p.version >= 253 => match v {
                "0" => p.add("OOMPolicy", Value::str("continue")),
                "1" => p.add("OOMPolicy", Value::str("kill")),
                _ => {}
            },
            _ => {}
        }
    }
    Ok(())
}

/// The device rules in effect after applying `rules` in order to a
/// deny-all cgroup, as the v1 controller computes them: an `a` rule resets
/// the default and drops every exception; other rules add an exception
/// (when they differ from the default) or take access away from one.
#[derive(Debug, PartialEq, Eq)]
struct Effective {
    allow_all_by_default: bool,
    exceptions: Vec<Rule>,
}

fn effective(rules: &[Rule]) -> Effective {
    let mut e = Effective { allow_all_by_default: false, exceptions: Vec::new() };
    for r in rules {
        if r.is_wildcard() {
            e = Effective { allow_all_by_default: r.allow, exceptions: Vec::new() };
            continue;
        }
        let same = |x: &Rule| x.kind == r.kind && x.major == r.major && x.minor == r.minor;
        if r.allow != e.allow_all_by_default {
            match e.exceptions.iter_mut().find(|x| same(x)) {
                Some(x) => {
                    for c in r.access.chars() {
                        if !x.access.contains(c) {
                            x.access.push(c);
                        }
                    }
                    x.access = ['r', 'w', 'm'].iter().filter(|c| x.access.contains(**c)).collect();
                }
                None => e.exceptions.push(Rule { allow: r.allow, ..r.clone() }),
            }
        } else if let Some(i) = e.exceptions.iter().position(same) {
            let left: String = e.exceptions[i].access.chars().filter(|c| !r.access.contains(*c)).collect();
            if left.is_empty() {
                e.exceptions.remove(i);
            } else {
                e.exceptions[i].access = left;
            }
        }
    }
    e
}

/// `DevicePolicy` and `DeviceAllow`. An empty `DeviceAllow` comes first: it
/// clears what an existing unit has, and set before `DevicePolicy` it
/// spares systemd a needless daemon-reload (runc #4612). systemd has no
/// deny list: a config that allows every device but some gets `strict`
/// with no entries here (the cgroup files then get the real rules), as runc
/// does, with a warning.
fn device_properties(rules: &[Rule], p: &mut Props) {
    let e = effective(rules);
    p.add("DeviceAllow", Value::array("(ss)", vec![]));
    if e.allow_all_by_default {
        if e.exceptions.is_empty() {
            p.add("DevicePolicy", Value::str("auto"));
        } else {
            p.add("DevicePolicy", Value::str("strict"));
            p.warnings.push("systemd has no device deny list: the unit denies every device, the cgroup allows all but the denied ones".into());
        }
        return;
    }
    p.add("DevicePolicy", Value::str("strict"));
    let mut entries = Vec::new();
    for r in &e.exceptions {
        let class = if r.kind == 'b' { "block" } else { "char" };
        let path = match (r.major, r.minor) {
            (None, None) => format!("{class}-*"),
            (Some(maj), None) if p.version >= 240 => format!("{class}-{maj}"),
            (Some(maj), Some(min)) => format!("/dev/{class}/{maj}:{min}"),
            _ => {
                p.warnings.push(format!(
                    "systemd cannot express device rule `{}` (only the cgroup file has it)",
                    r.v1_string()
                ));
                continue;
            }
        };
        entries.push(Value::Struct(vec![Value::str(path), Value::str(r.access.clone())]));
    }
    p.add("DeviceAllow", Value::array("(ss)", entries));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn names(t: &Translation) -> Vec<&str> {
        t.properties.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn get<'a>(t: &'a Translation, name: &str) -> Vec<&'a Value> {
        t.properties.iter().filter(|(n, _)| n == name).map(|(_, v)| v).collect()
    }

    fn allow_list(t: &Translation) -> Vec<(String, String)> {
        let Some(Value::Array { items, .. }) = get(t, "DeviceAllow").last().copied() else { panic!("no DeviceAllow") };
        items
            .iter()
            .map(|s| match s {
                Value::Struct(f) => (f[0].as_str().unwrap().to_owned(), f[1].as_str().unwrap().to_owned()),
                _ => panic!("{s:?}"),
            })
            .collect()
    }

    const RUNC_SPEC_DEVICES: &str = r#"{"devices":[{"allow":false,"access":"rwm"}]}"#;

    #[test]
    fn v1_limits() {
        let r = res(r#"{"memory":{"limit":104857600},"cpu":{"shares":512,"quota":50000,"period":100000},
            "pids":{"limit":50},"blockIO":{"weight":300}}"#);
        let t = translate(&r, Flavour::V1, 252, Stage::Update).unwrap();
        assert_eq!(
            names(&t),
            ["MemoryLimit", "CPUShares", "CPUQuotaPeriodUSec", "CPUQuotaPerSecUSec", "BlockIOWeight", "TasksMax"]
        );
        assert_eq!(get(&t, "MemoryLimit"), [&Value::U64(104857600)]);
        assert_eq!(get(&t, "CPUShares"), [&Value::U64(512)]);
        assert_eq!(get(&t, "CPUQuotaPerSecUSec"), [&Value::U64(500_000)]);
        assert_eq!(get(&t, "BlockIOWeight"), [&Value::U64(300)]);
        assert_eq!(get(&t, "TasksMax"), [&Value::U64(50)]);
        assert_eq!(t.resources, r);
    }

    #[test]
    fn v2_limits() {
        let r = res(r#"{"memory":{"limit":104857600,"reservation":52428800,"swap":209715200},
            "cpu":{"shares":1024,"quota":-1},"pids":{"limit":-1},"blockIO":{"weight":300}}"#);
        let t = translate(&r, Flavour::V2, 252, Stage::Update).unwrap();
        assert_eq!(
            names(&t),
            ["MemoryMax", "MemoryLow", "MemorySwapMax", "CPUWeight", "CPUQuotaPerSecUSec", "TasksMax"]
        );
        assert_eq!(get(&t, "MemorySwapMax"), [&Value::U64(104857600)]);
        assert_eq!(get(&t, "CPUWeight"), [&Value::U64(39)]);
        // quota -1: no limit
        assert_eq!(get(&t, "CPUQuotaPerSecUSec"), [&Value::U64(u64::MAX)]);
        assert_eq!(get(&t, "TasksMax"), [&Value::U64(u64::MAX)]);
        let t = translate(&res(r#"{"memory":{"limit":-1}}"#), Flavour::V2, 252, Stage::Update).unwrap();
        assert_eq!(get(&t, "MemoryMax"), [&Value::U64(u64::MAX)]);
        assert_eq!(get(&t, "MemorySwapMax"), [&Value::U64(u64::MAX)]);
        assert!(translate(&res(r#"{"memory":{"swap":100}}"#), Flavour::V2, 252, Stage::Update).is_err());
    }

    #[test]
    fn quota_rounds_up_to_whole_percents_and_the_files_follow() {
        // 1234 µs per 10000 µs = 12.34 % -> 13 % -> quota 1300
        let r = res(r#"{"cpu":{"quota":1234,"period":10000}}"#);
        let t = translate(&r, Flavour::V1, 252, Stage::Update).unwrap();
        assert_eq!(get(&t, "CPUQuotaPerSecUSec"), [&Value::U64(130_000)]);
        assert_eq!(t.resources.cpu().as_ref().unwrap().quota(), Some(1300));
        // the default period when only a quota is given
        let t = translate(&res(r#"{"cpu":{"quota":20000}}"#), Flavour::V2, 252, Stage::Update).unwrap();
        assert_eq!(names(&t), ["CPUQuotaPerSecUSec"]);
        assert_eq!(get(&t, "CPUQuotaPerSecUSec"), [&Value::U64(200_000)]);
        // old systemd: no period property, a warning instead
        let t = translate(&res(r#"{"cpu":{"quota":20000,"period":50000}}"#), Flavour::V1, 239, Stage::Update).unwrap();
        assert_eq!(names(&t), ["CPUQuotaPerSecUSec"]);
        assert_eq!(t.warnings.len(), 1);
    }

    #[test]
    fn pids_zero_is_one() {
        let t = translate(&res(r#"{"pids":{"limit":0}}"#), Flavour::V1, 252, Stage::Update).unwrap();
        assert_eq!(get(&t, "TasksMax"), [&Value::U64(1)]);
    }

    #[test]
    fn cpusets() {
        assert_eq!(range_to_bits("0").unwrap(), [1]);
        assert_eq!(range_to_bits("0-1").unwrap(), [3]);
        assert_eq!(range_to_bits("1,3-5").unwrap(), [0b0011_1010]);
        assert_eq!(range_to_bits(" 8 ,").unwrap(), [0, 1]);
        assert!(range_to_bits("").is_err());
        assert!(range_to_bits("3-1").is_err());
        assert!(range_to_bits("x").is_err());
        let r = res(r#"{"cpu":{"cpus":"0-1","mems":"0"}}"#);
        let t = translate(&r, Flavour::V1, 252, Stage::Update).unwrap();
        assert_eq!(names(&t), ["AllowedCPUs", "AllowedMemoryNodes"]);
        assert_eq!(get(&t, "AllowedCPUs"), [&Value::array("y", vec![Value::Byte(3)])]);
        let t = translate(&r, Flavour::V2, 243, Stage::Update).unwrap();
        assert!(t.properties.is_empty());
        assert_eq!(t.warnings.len(), 2);
    }

    #[test]
    fn unified_keys_on_v2_only() {
        let r = res(r#"{"unified":{"memory.high":"1048576","memory.max":"max","pids.max":"0",
            "cpu.max":"max 50000","cpu.weight":"100","cpuset.cpus":"0","io.weight":"50","memory.oom.group":"1"}}"#);
        let t = translate(&r, Flavour::V2, 253, Stage::Start).unwrap();
        let mut n = names(&t);
        n.retain(|n| !n.starts_with("Device"));
        assert_eq!(
            n,
            [
                "CPUQuotaPeriodUSec",
                "CPUQuotaPerSecUSec",
                "CPUWeight",
                "AllowedCPUs",
                "MemoryHigh",
                "MemoryMax",
                "OOMPolicy",
                "TasksMax"
            ]
        );
        assert_eq!(get(&t, "CPUQuotaPerSecUSec"), [&Value::U64(u64::MAX)]);
        assert_eq!(get(&t, "MemoryMax"), [&Value::U64(u64::MAX)]);
        assert_eq!(get(&t, "TasksMax"), [&Value::U64(1)]);
        // OOMPolicy only when starting, and only from systemd 253
        let t = translate(&r, Flavour::V2, 252, Stage::Start).unwrap();
        assert!(get(&t, "OOMPolicy").is_empty());
        let t = translate(&r, Flavour::V2, 253, Stage::Update).unwrap();
        assert!(get(&t, "OOMPolicy").is_empty());
        // v1 leaves unified keys to the files
        let t = translate(&r, Flavour::V1, 253, Stage::Update).unwrap();
        assert!(t.properties.is_empty());
        assert!(translate(&res(r#"{"unified":{"a/b":"1"}}"#), Flavour::V2, 252, Stage::Update).is_err());
        assert!(translate(&res(r#"{"unified":{"memory.max":"lots"}}"#), Flavour::V2, 252, Stage::Update).is_err());
    }

    #[test]
    fn cpu_idle() {
        let r = res(r#"{"cpu":{"idle":1,"shares":1024}}"#);
        let t = translate(&r, Flavour::V2, 252, Stage::Update).unwrap();
        assert_eq!(get(&t, "CPUWeight"), [&Value::U64(0)]);
        let t = translate(&r, Flavour::V2, 251, Stage::Update).unwrap();
        assert_eq!(get(&t, "CPUWeight"), [&Value::U64(39)]);
    }

    #[test]
    fn default_devices_become_a_strict_allow_list() {
        let t = translate(&res(RUNC_SPEC_DEVICES), Flavour::V1, 252, Stage::Start).unwrap();
        assert_eq!(names(&t), ["DeviceAllow", "DevicePolicy", "DeviceAllow"]);
        assert_eq!(get(&t, "DeviceAllow")[0], &Value::array("(ss)", vec![]));
        assert_eq!(get(&t, "DevicePolicy"), [&Value::str("strict")]);
        let list = allow_list(&t);
        let want = [
            ("char-*", "m"),
            ("block-*", "m"),
            ("/dev/char/1:3", "rwm"),
            ("/dev/char/1:8", "rwm"),
            ("/dev/char/1:7", "rwm"),
            ("/dev/char/5:0", "rwm"),
            ("/dev/char/1:5", "rwm"),
            ("/dev/char/1:9", "rwm"),
            ("char-136", "rwm"),
            ("/dev/char/5:2", "rwm"),
            ("/dev/char/10:200", "rwm"),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(list, want);
        // Update leaves devices alone.
        let t = translate(&res(RUNC_SPEC_DEVICES), Flavour::V1, 252, Stage::Update).unwrap();
        assert!(t.properties.is_empty());
    }

    #[test]
    fn device_rules_are_evaluated_in_order() {
        // deny all, allow /dev/sda read-write, take w away again, deny a
        // rule that was never allowed (no effect), allow 7:* and *:5 (which
        // systemd cannot express)
        let r = res(r#"{"devices":[{"allow":false,"access":"rwm"},
            {"allow":true,"type":"b","major":8,"minor":0,"access":"rw"},
            {"allow":false,"type":"b","major":8,"minor":0,"access":"w"},
            {"allow":false,"type":"c","major":4,"minor":1,"access":"rwm"},
            {"allow":true,"type":"b","major":7,"access":"r"},
            {"allow":true,"type":"c","minor":5,"access":"r"}]}"#);
        let t = translate(&r, Flavour::V2, 252, Stage::Start).unwrap();
        let list = allow_list(&t);
        assert_eq!(list[0], ("/dev/block/8:0".to_string(), "r".to_string()));
        assert_eq!(list[1], ("block-7".to_string(), "r".to_string()));
        assert!(!list.iter().any(|(p, _)| p.contains("4:1")));
        assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
        // systemd before 240 cannot do MAJOR:* either
        let t = translate(&r, Flavour::V2, 239, Stage::Start).unwrap();
        assert!(!allow_list(&t).iter().any(|(p, _)| p == "block-7"));
    }

    #[test]
    fn allow_all_and_deny_lists() {
        let t =
            translate(&res(r#"{"devices":[{"allow":true,"access":"rwm"}]}"#), Flavour::V1, 252, Stage::Start).unwrap();
        assert_eq!(names(&t), ["DeviceAllow", "DevicePolicy"]);
        assert_eq!(get(&t, "DevicePolicy"), [&Value::str("auto")]);
        // Allow all, then the default rules (allows) change nothing: still auto.
        let t = translate(&res(r#"{"devices":[{"allow":true}]}"#), Flavour::V1, 252, Stage::Start).unwrap();
        assert_eq!(get(&t, "DevicePolicy"), [&Value::str("auto")]);
        // A deny list: strict with nothing, and a warning.
        let t = translate(
            &res(r#"{"devices":[{"allow":true},{"allow":false,"type":"c","major":1,"minor":1,"access":"rwm"}]}"#),
            Flavour::V1,
            252,
            Stage::Start,
        )
        .unwrap();
        assert_eq!(names(&t), ["DeviceAllow", "DevicePolicy"]);
        assert_eq!(get(&t, "DevicePolicy"), [&Value::str("strict")]);
        assert_eq!(t.warnings.len(), 1);
    }
}
