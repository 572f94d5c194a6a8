//! Pure conversions of OCI (cgroup v1 flavoured) values into cgroup v2 file
//! values, done the way runc 1.1 does them so that a config means the same
//! thing under both runtimes. Also the small value formatters shared by v1/v2.

use super::{Error, Result};

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
    fn hugepages() {
        assert_eq!(hugepage_size("2MB").unwrap(), "2MB");
        assert!(hugepage_size("2M").is_err());
        assert!(hugepage_size("MB").is_err());
        assert!(hugepage_size("../x").is_err());
    }
}
