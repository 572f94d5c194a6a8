//! Byte sizes as imgtool shows and reads them: one unit system (binary,
//! `KiB`/`MiB`/`GiB`) for `list`, `gc`, the progress line and error messages,
//! and the same suffixes (or their one-letter forms) accepted by the size
//! flags.

use super::{Error, Result};

const UNITS: [(&str, u64); 4] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];

/// `n` bytes for people: `512 B`, `1.5 KiB`, `56.3 MiB`.
pub fn human(n: u64) -> String {
    for (name, size) in UNITS {
        if n >= size {
            return format!("{:.1} {name}", n as f64 / size as f64);
        }
    }
    format!("{n} B")
}

/// Parse a size flag: a number of bytes, optionally with a binary suffix
/// (`K`, `KiB`, `M`, `MiB`, `G`, `GiB`, `T`, `TiB`; case-insensitive).
pub fn parse_size(s: &str) -> Result<u64> {
    let bad = || Error::Size(s.to_string());
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let num: u64 = num.parse().map_err(|_| bad())?;
    let mult = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    num.checked_mul(mult).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_binary_units() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(5 << 20), "5.0 MiB");
        assert_eq!(human(3 << 30), "3.0 GiB");
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("4k").unwrap(), 4096);
        assert_eq!(parse_size("16GiB").unwrap(), 16 << 30);
        assert_eq!(parse_size("2 M").unwrap(), 2 << 20);
        assert_eq!(parse_size("0").unwrap(), 0);
        for bad in ["", "G", "1.5G", "10 apples", "-1", "99999999999T"] {
            assert!(matches!(parse_size(bad), Err(Error::Size(_))), "{bad}");
        }
    }
}
