//! `berth events [--stats] [--interval D] ID`: runc's event stream, one
//! JSON object per line. `--stats` prints the container's statistics once
//! (`{"type":"stats","id":ID,"data":{...}}`); otherwise statistics are
//! printed every interval and `{"type":"oom","id":ID}` on each OOM kill,
//! until the container's cgroup is removed (by `delete`, as with runc) or
//! the reader goes away.

use std::io::Write;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::pause::load_with_cgroup;
use super::Globals;
use crate::cgroups::Stats;
use crate::error::{Error, Result};
use crate::state::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Statistics interval (Go duration: 5s, 500ms, 1m30s)
    #[arg(long, default_value = "5s", allow_hyphen_values = true)]
    pub interval: String,
    /// Print the container's statistics once and exit
    #[arg(long)]
    pub stats: bool,
    pub id: String,
}

/// runc's `types.Event`.
#[derive(Debug, Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Stats>,
}

/// Print one event line; false once stdout is gone (the reader quit).
fn emit(e: &Event<'_>) -> bool {
    let Ok(line) = serde_json::to_string(e) else { return false };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let interval = parse_duration(&a.interval)
        .map_err(|e| Error::Usage(format!("invalid value `{}` for flag --interval: {e}", a.interval)))?;
    if interval.is_zero() {
        return Err(Error::Usage("duration interval must be greater than 0".into()));
    }
    let (dir, stored, cg) = load_with_cgroup(g, &a.id)?;
    if dir.status(&stored) == Status::Stopped {
        return Err(Error::Status(format!("container with id {} is not running", a.id)));
    }
    if a.stats {
        emit(&Event { kind: "stats", id: &a.id, data: Some(cg.stats()?) });
        return Ok(());
    }
    let mut oom = cg.oom_notifier()?;
    let mut next = Instant::now() + interval;
    loop {
        let Some(kills) = oom.wait(next.saturating_duration_since(Instant::now()))? else {
            return Ok(()); // the cgroup was removed
        };
        for _ in 0..kills {
            if !emit(&Event { kind: "oom", id: &a.id, data: None }) {
                return Ok(());
            }
        }
        if Instant::now() >= next {
            next += interval;
            match cg.stats() {
                Ok(s) => {
                    if !emit(&Event { kind: "stats", id: &a.id, data: Some(s) }) {
                        return Ok(());
                    }
                }
                // removed by a delete since the wait above: the end
                Err(_) if cg.dirs().all(|d| !d.exists()) => return Ok(()),
                Err(e) => crate::logging::error(&e.to_string()),
            }
        }
    }
}

/// A Go `time.Duration` string: `300ms`, `1.5h`, `2h45m`, `0`.
/// Negative durations parse (and are then refused by the caller).
fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        let n: f64 = num.parse().map_err(|_| format!("invalid duration `{s}`"))?;
        let unit_end = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let secs = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("missing unit in duration `{s}`")),
            _ => return Err(format!("unknown unit `{unit}` in duration `{s}`")),
        };
        total += n * secs;
        rest = tail;
    }
    if neg {
        return Ok(Duration::ZERO);
    }
    Duration::try_from_secs_f64(total).map_err(|_| format!("invalid duration `{s}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("-5s").unwrap(), Duration::ZERO);
        for bad in ["", "5", "5x", "s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn event_json_shapes() {
        let oom = serde_json::to_string(&Event { kind: "oom", id: "c1", data: None }).unwrap();
        assert_eq!(oom, r#"{"type":"oom","id":"c1"}"#);
        let st = serde_json::to_value(Event { kind: "stats", id: "c1", data: Some(Stats::default()) }).unwrap();
        assert_eq!(st["type"], "stats");
        assert_eq!(st["id"], "c1");
        for k in ["cpu", "memory", "pids", "blkio", "hugetlb"] {
            assert!(st["data"].get(k).is_some(), "{k}");
        }
    }
}
