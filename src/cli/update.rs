//! `berth update [--resources FILE|-] [flags] ID`: change the limits of a
//! live container. The new values are merged over the resources now in
//! force (the last update's, else the config's), applied to the cgroup
//! (device rules untouched, as runc) and recorded for the next update.
//! As in runc, an empty or zero flag means "unchanged", and `--resources`
//! (a JSON `LinuxResources`, `-` for stdin) makes every other flag ignored.

use std::io::Read;

use oci_spec::runtime::{LinuxMemory, LinuxResources};

use super::pause::load_with_cgroup;
use super::Globals;
use crate::cgroups::{merge_resources, merge_update, parse_bytes, UpdateFlags};
use crate::error::{Context, Error, Result};
use crate::state::Status;

#[derive(Debug, Default, clap::Args)]
#[command(args_override_self = true)]
pub struct Args {
    /// File with the resources to update (JSON LinuxResources), `-` for stdin
    #[arg(short = 'r', long, value_name = "FILE")]
    pub resources: Option<String>,
    /// Per cgroup block IO weight (10 to 1000)
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period (µs)
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<String>,
    /// CPU CFS quota (µs per period)
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPU shares (relative weight)
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    pub cpu_share: Option<String>,
    /// CPU realtime period (µs)
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<String>,
    /// CPU realtime runtime (µs per period)
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    /// CPUs to use (cpuset)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use (cpuset)
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Obsolete; ignored with a warning
    #[arg(long = "kernel-memory", hide = true, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Kernel TCP buffer limit (cgroup v1 only)
    #[arg(long = "kernel-memory-tcp", allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Memory limit (bytes, or 512k, 100m, 2g; -1 unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory reservation (soft limit)
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit; -1 for unlimited swap
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of pids (-1 unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT/CAT L3 cache schema (not supported)
    #[arg(long = "l3-cache-schema")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema (not supported)
    #[arg(long = "mem-bw-schema")]
    pub mem_bw_schema: Option<String>,
    pub id: String,
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    // resources.json is read, merged and written back: one update at a time.
    let _lock = g.container(&a.id)?.lock(crate::state::lock::LockMode::Exclusive)?;
    let (dir, stored, cg) = load_with_cgroup(g, &a.id)?;
    if matches!(dir.status(&stored), Status::Stopped | Status::Creating) {
        return Err(Error::Status("container not running".into()));
    }
    let base = dir.load_resources()?;
    let merged = match &a.resources {
        Some(src) if !src.is_empty() => merge_resources(&base, &normalize_patch(read_resources(src)?)),
        _ => {
            check_rdt(&a)?;
            if a.kernel_memory.as_deref().is_some_and(|v| !v.is_empty() && v != "0") {
                crate::logging::warn("kernel memory settings are ignored and will be removed");
            }
            merge_update(&base, &flags(&a)?)
        }
    };
    let warnings = match cg.update(&merged) {
        Ok(w) => w,
        Err(e) => {
            // Put back what was in force, as runc does (best effort).
            let _ = cg.update(&base);
            return Err(e.into());
        }
    };
    for w in warnings {
        crate::logging::warn(&w);
    }
    dir.save_resources(&merged)
}

/// `--resources FILE` or `-` (stdin): a JSON `LinuxResources`.
fn read_resources(src: &str) -> Result<LinuxResources> {
    let mut data = Vec::new();
    if src == "-" {
        std::io::stdin().read_to_end(&mut data).ctx(|| "read resources from stdin".into())?;
    } else {
        data = std::fs::read(src).ctx(|| format!("read resources `{src}`"))?;
    }
    serde_json::from_slice(&data).map_err(|e| Error::Usage(format!("decode resources `{src}`: {e}")))
}

/// runc decodes the patch over zeroes, so a zero means "unchanged"; make
/// the zeroes that would otherwise be written mean that here too.
fn normalize_patch(mut p: LinuxResources) -> LinuxResources {
    if p.pids().is_some_and(|x| x.limit() == 0) {
        p.set_pids(None);
    }
    if let Some(m) = p.memory().filter(|m| m.limit() == Some(-1) && m.swap().is_none()) {
        // Unlimited memory with swap not given: swap unlimited as well
        // (the planner turns swap 0 with limit -1 into -1 where it exists).
        let mut m: LinuxMemory = m;
        m.set_swap(Some(0));
        p.set_memory(Some(m));
    }
    p
}

fn check_rdt(a: &Args) -> Result<()> {
    if a.l3_cache_schema.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(Error::Unsupported(
            "Intel RDT/CAT: l3 cache schema is not enabled (berth has no Intel RDT support)".into(),
        ));
    }
    if a.mem_bw_schema.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(Error::Unsupported(
            "Intel RDT/MBA: memory bandwidth schema is not enabled (berth has no Intel RDT support)".into(),
        ));
    }
    Ok(())
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn invalid(opt: &str, v: &str, what: &str) -> Error {
    Error::Usage(format!("invalid value for {opt}: `{v}` is not {what}"))
}

fn uint(opt: &str, v: &Option<String>) -> Result<Option<u64>> {
    given(v).map(|s| s.parse().map_err(|_| invalid(opt, s, "an unsigned integer"))).transpose()
}

fn int(opt: &str, v: &Option<String>) -> Result<Option<i64>> {
    given(v).map(|s| s.parse().map_err(|_| invalid(opt, s, "an integer"))).transpose()
}

fn bytes(opt: &str, v: &Option<String>) -> Result<Option<i64>> {
    given(v).map(|s| parse_bytes(s).map_err(|_| invalid(opt, s, "a size like 512m or -1"))).transpose()
}

/// The flags' meaning: values parsed as runc parses them, empty or zero
/// numbers left out (unchanged).
fn flags(a: &Args) -> Result<UpdateFlags> {
    Ok(UpdateFlags {
        memory: bytes("memory", &a.memory)?,
        memory_swap: bytes("memory-swap", &a.memory_swap)?,
        memory_reservation: bytes("memory-reservation", &a.memory_reservation)?,
        kernel_memory_tcp: bytes("kernel-memory-tcp", &a.kernel_memory_tcp)?,
        cpu_shares: uint("cpu-share", &a.cpu_share)?,
        cpu_quota: int("cpu-quota", &a.cpu_quota)?,
        cpu_period: uint("cpu-period", &a.cpu_period)?,
        cpu_rt_period: uint("cpu-rt-period", &a.cpu_rt_period)?,
        cpu_rt_runtime: int("cpu-rt-runtime", &a.cpu_rt_runtime)?,
        cpuset_cpus: given(&a.cpuset_cpus).map(str::to_owned),
        cpuset_mems: given(&a.cpuset_mems).map(str::to_owned),
        pids_limit: a.pids_limit.filter(|&v| v != 0),
        blkio_weight: a.blkio_weight.filter(|&v| v != 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(argv: &[&str]) -> Args {
        match Cli::try_parse_from(std::iter::once("berth").chain(argv.iter().copied())).unwrap().command {
            Some(Command::Update(a)) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn engine_spellings() {
        assert_eq!(
            parse(&["update", "--resources=/var/tmp/podman1", "c"]).resources.as_deref(),
            Some("/var/tmp/podman1")
        );
        assert_eq!(parse(&["update", "--resources", "-", "c"]).resources.as_deref(), Some("-"));
        assert_eq!(parse(&["update", "-r", "f.json", "c"]).resources.as_deref(), Some("f.json"));
        let a = parse(&["update", "--cpu-shares", "512", "--cpu-share", "256", "c"]);
        assert_eq!(a.cpu_share.as_deref(), Some("256"));
    }

    #[test]
    fn flags_parse_like_runc() {
        let a = parse(&[
            "update",
            "--memory",
            "100m",
            "--memory-swap",
            "-1",
            "--memory-reservation",
            "50M",
            "--kernel-memory-tcp",
            "1g",
            "--cpu-share",
            "512",
            "--cpu-quota",
            "-1",
            "--cpu-period",
            "100000",
            "--cpu-rt-period",
            "1000000",
            "--cpu-rt-runtime",
            "950000",
            "--cpuset-cpus",
            "0-1",
            "--cpuset-mems",
            "0",
            "--pids-limit",
            "-1",
            "--blkio-weight",
            "300",
            "c1",
        ]);
        assert_eq!(a.id, "c1");
        let f = flags(&a).unwrap();
        assert_eq!(f.memory, Some(100 << 20));
        assert_eq!(f.memory_swap, Some(-1));
        assert_eq!(f.memory_reservation, Some(50 << 20));
        assert_eq!(f.kernel_memory_tcp, Some(1 << 30));
        assert_eq!((f.cpu_shares, f.cpu_quota, f.cpu_period), (Some(512), Some(-1), Some(100000)));
        assert_eq!((f.cpu_rt_period, f.cpu_rt_runtime), (Some(1000000), Some(950000)));
        assert_eq!((f.cpuset_cpus.as_deref(), f.cpuset_mems.as_deref()), (Some("0-1"), Some("0")));
        assert_eq!((f.pids_limit, f.blkio_weight), (Some(-1), Some(300)));
    }

    #[test]
    fn empty_and_zero_mean_unchanged() {
        let a = parse(&["update", "--cpuset-cpus", "", "--pids-limit", "0", "--blkio-weight", "0", "c"]);
        assert_eq!(flags(&a).unwrap(), UpdateFlags::default());
    }

    #[test]
    fn bad_values_name_the_flag() {
        let a = Args { cpu_period: Some("x".into()), ..Default::default() };
        assert!(flags(&a).unwrap_err().to_string().contains("invalid value for cpu-period"));
        let a = Args { memory: Some("lots".into()), ..Default::default() };
        assert!(flags(&a).unwrap_err().to_string().contains("invalid value for memory"));
        let a = Args { cpu_share: Some("-5".into()), ..Default::default() };
        assert!(flags(&a).is_err());
        let a = Args { l3_cache_schema: Some("L3:0=f".into()), ..Default::default() };
        assert!(check_rdt(&a).unwrap_err().to_string().contains("Intel RDT/CAT"));
    }

    #[test]
    fn podman_resources_file_merges_over_current() {
        let base: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":52428800,"swap":104857600},"pids":{"limit":100},"cpu":{"shares":512}}"#,
        )
        .unwrap();
        let patch: LinuxResources = serde_json::from_str(r#"{"memory":{"limit":100663296,"swap":201326592}}"#).unwrap();
        let r = merge_resources(&base, &normalize_patch(patch));
        let m = r.memory().unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(100663296), Some(201326592)));
        assert_eq!(r.pids().unwrap().limit(), 100);
        assert_eq!(r.cpu().clone().unwrap().shares(), Some(512));
    }

    #[test]
    fn patch_zeroes_are_unchanged() {
        let base: LinuxResources =
            serde_json::from_str(r#"{"memory":{"limit":1000,"swap":2000},"pids":{"limit":10}}"#).unwrap();
        let patch: LinuxResources = serde_json::from_str(r#"{"memory":{"limit":-1},"pids":{"limit":0}}"#).unwrap();
        let r = merge_resources(&base, &normalize_patch(patch));
        assert_eq!(r.pids().unwrap().limit(), 10);
        let m = r.memory().unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(-1), Some(0)));
    }
}
