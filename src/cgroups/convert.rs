//! Pure conversions of OCI (cgroup v1 flavoured) values into cgroup v2 file
//! values, done the way runc 1.1 does them so that a config means the same
//! thing under both runtimes. Also what v1 and v2 planning share: the small
//! value formatters, `rdma.max` lines (one format in both), and whether a
//! section of `linux.resources` sets anything at all.

use std::collections::HashMap;

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxRdma};

use super::{Error, Result};

/// `linux.resources.memory` sets nothing (an empty object).
pub(crate) fn memory_is_empty(m: &LinuxMemory) -> bool {
    *m == LinuxMemory::default()
}

/// `linux.resources.cpu` sets nothing (an empty object).
pub(crate) fn cpu_is_empty(c: &LinuxCpu) -> bool {
    *c == LinuxCpu::default()
}

/// The `rdma.max` lines for `linux.resources.rdma` (the file takes one
/// device per write, on v1 and v2 alike), sorted by device name.
pub(crate) fn rdma_lines(rdma: &HashMap<String, LinuxRdma>) -> Result<Vec<String>> {
    let mut devs: Vec<_> = rdma.iter().collect();
    devs.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::with_capacity(devs.len());
    for (dev, l) in devs {
        let mut line = dev.clone();
        if let Some(h) = l.hca_handles() {
            line.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            line.push_str(&format!(" hca_object={o}"));
        }
        if line == *dev {
            return Err(Error::Invalid {
                field: "rdma",
                reason: format!("`{dev}` sets neither hcaHandles nor hcaObjects"),
            });
        }
        out.push(line);
    }
    Ok(out)
}

/// cpu.shares (2..=262144) -> cpu.weight (1..=10000), runc's linear map.
/// 0 means unset.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// blkio.weight (10..=1000) -> io.weight (1..=10000). 0 means unset.
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    let w = u64::from(weight.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

/// OCI `memory.swap` is memory+swap (v1 memsw); v2's `memory.swap.max` is
/// swap alone. Returns the v2 value (`-1` = max, `0` = unset) or an error for
/// combinations that mean nothing, exactly as runc's ConvertMemorySwapToCgroupV2Value.
pub fn memory_swap_to_v2(swap: i64, limit: i64) -> Result<i64> {
    if limit == -1 && swap == 0 {
        return Ok(-1);
    }
    if swap == -1 || swap == 0 {
        return Ok(swap);
    }
    if limit == 0 || limit == -1 {
        return Err(Error::Invalid {
            field: "memory.swap",
            reason: "unable to set swap limit without memory limit".into(),
        });
    }
    if limit < 0 {
        return Err(Error::Invalid { field: "memory.limit", reason: format!("invalid memory value {limit}") });
    }
    if swap < limit {
        return Err(Error::Invalid {
            field: "memory.swap",
            reason: format!("memory+swap limit {swap} should be >= memory limit {limit}"),
        });
    }
    Ok(swap - limit)
}

/// A v2 limit: negative means `max`.
pub fn v2_limit(v: i64) -> String {
    if v < 0 {
        "max".to_owned()
    } else {
        v.to_string()
    }
}

/// `hugepageLimits[].pageSize` as it appears in the file names (`2MB`,
/// `1GB`, `64KB`), validated.
pub fn hugepage_size(size: &str) -> Result<&str> {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(unit, "KB" | "MB" | "GB" | "TB") {
        return Err(Error::Invalid { field: "hugepageLimits.pageSize", reason: format!("`{size}` is not like `2MB`") });
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(512), 20);
    }

    #[test]
    fn blkio() {
        assert_eq!(blkio_weight_to_io_weight(0), 0);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    }

    #[test]
    fn swap() {
        assert_eq!(memory_swap_to_v2(0, -1).unwrap(), -1);
        assert_eq!(memory_swap_to_v2(-1, 100).unwrap(), -1);
        assert_eq!(memory_swap_to_v2(0, 100).unwrap(), 0);
        assert_eq!(memory_swap_to_v2(300, 100).unwrap(), 200);
        assert_eq!(memory_swap_to_v2(100, 100).unwrap(), 0);
        assert!(memory_swap_to_v2(50, 100).is_err());
        assert!(memory_swap_to_v2(50, 0).is_err());
    }

    #[test]
    fn rdma() {
        let rdma =
            serde_json::from_str(r#"{"mlx5_1":{"hcaObjects":9},"mlx4_0":{"hcaHandles":2,"hcaObjects":2000}}"#).unwrap();
        assert_eq!(rdma_lines(&rdma).unwrap(), ["mlx4_0 hca_handle=2 hca_object=2000", "mlx5_1 hca_object=9"]);
        assert!(rdma_lines(&serde_json::from_str(r#"{"mlx":{}}"#).unwrap()).is_err());
    }

    #[test]
    fn hugepages() {
        assert_eq!(hugepage_size("2MB").unwrap(), "2MB");
        assert!(hugepage_size("2M").is_err());
        assert!(hugepage_size("MB").is_err());
        assert!(hugepage_size("../x").is_err());
    }
}
