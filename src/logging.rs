//! runc-compatible logging: `--log FILE`, `--log-format text|json`, `--debug`.
//!
//! JSON lines are exactly `{"level":"error","msg":"…","time":"<RFC 3339>"}`
//! (what containerd's shim and podman parse); text lines are logrus-style
//! `time="…" level=error msg="…"`. Errors are logged once, by `main`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }
}

struct Logger {
    file: Option<File>,
    format: Format,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Set up logging once, from the global flags. A log file that cannot be
/// opened is reported on stderr and logging falls back to stderr.
pub fn init(path: Option<&str>, format: Format, debug: bool) {
    let file =
        path.filter(|p| !p.is_empty()).and_then(|p| match OpenOptions::new().create(true).append(true).open(p) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("berth: open log file `{p}`: {e}");
                None
            }
        });
    let _ = LOGGER.set(Logger { file, format, debug });
}

/// Whether a log file was given (errors then also go to stderr plainly).
pub fn has_file() -> bool {
    LOGGER.get().is_some_and(|l| l.file.is_some())
}

pub fn log(level: Level, msg: &str) {
    let Some(l) = LOGGER.get() else {
        eprintln!("{}", format_line(Format::Text, level, msg, now_rfc3339()).trim_end());
        return;
    };
    if level == Level::Debug && !l.debug {
        return;
    }
    let line = format_line(l.format, level, msg, now_rfc3339());
    match &l.file {
        // One write per line, O_APPEND: concurrent writers don't interleave.
        Some(f) => {
            let _ = (&*f).write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg);
}

/// Whether `--debug` is on (so that callers skip building debug lines).
pub fn debug_enabled() -> bool {
    LOGGER.get().is_some_and(|l| l.debug)
}

/// The steps of one operation with their timings, as `--debug` lines:
/// `create: clone the init: 0.21 ms (total 1.37 ms)`. Costs one clock
/// read per step, and nothing more without `--debug`.
pub struct Steps {
    what: &'static str,
    on: bool,
    start: std::time::Instant,
    last: std::time::Instant,
}

impl Steps {
    pub fn new(what: &'static str) -> Steps {
        let now = std::time::Instant::now();
        Steps { what, on: debug_enabled(), start: now, last: now }
    }

    /// `name` just finished.
    pub fn step(&mut self, name: &str) {
        if !self.on {
            return;
        }
        let now = std::time::Instant::now();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        debug(&format!("{}: {name}: {:.2} ms (total {:.2} ms)", self.what, ms(now - self.last), ms(now - self.start)));
        self.last = now;
    }
}

/// The steps of a container process (create's init, exec's child), timed
/// where nothing may be logged: its stderr is the container's and its
/// descriptors get closed. They go to berth over the sync channel, which
/// logs them with [`log_steps`]. Like [`Steps`], one clock read per step
/// with `--debug` (the flag is inherited with berth's memory), nothing
/// without.
pub struct StepTimes {
    last: Option<std::time::Instant>,
    steps: Vec<(String, u64)>,
}

impl StepTimes {
    pub fn new() -> StepTimes {
        StepTimes { last: debug_enabled().then(std::time::Instant::now), steps: Vec::new() }
    }

    /// `name` just finished.
    pub fn step(&mut self, name: &str) {
        let Some(last) = self.last else { return };
        let now = std::time::Instant::now();
        self.steps.push((name.to_string(), (now - last).as_nanos() as u64));
        self.last = Some(now);
    }

    /// The steps so far, as (name, nanoseconds); the next ones start over.
    pub fn take(&mut self) -> Vec<(String, u64)> {
        std::mem::take(&mut self.steps)
    }
}

impl Default for StepTimes {
    fn default() -> Self {
        StepTimes::new()
    }
}

/// Log steps a container process reported, in the style of [`Steps`]:
/// `create: init: mount the rootfs: 0.42 ms (total 1.10 ms)`, the total
/// counted from the process' first step.
pub fn log_steps(what: &str, steps: &[(String, u64)]) {
    let mut total = 0;
    for (name, ns) in steps {
        total += ns;
        debug(&format!("{what}: {name}: {:.2} ms (total {:.2} ms)", *ns as f64 / 1e6, total as f64 / 1e6));
    }
}
pub fn warn(msg: &str) {
    log(Level::Warn, msg);
}
/// A warning about the user's own input (a config field that is not
/// applied): in the log, and on stderr as well when the log is a file, as
/// `main` does for errors.
pub fn warn_user(msg: &str) {
    warn(msg);
    if has_file() {
        eprintln!("berth: warning: {msg}");
    }
}
pub fn error(msg: &str) {
    log(Level::Error, msg);
}

pub fn format_line(format: Format, level: Level, msg: &str, time: String) -> String {
    match format {
        Format::Json => {
            let v = serde_json::json!({"level": level.as_str(), "msg": msg, "time": time});
            format!("{v}\n")
        }
        Format::Text => {
            let quoted = serde_json::Value::String(msg.to_string()).to_string();
            format!("time=\"{time}\" level={} msg={quoted}\n", level.as_str())
        }
    }
}

/// Current UTC time as RFC 3339 with second precision, e.g. `2026-11-27T07:53:09Z`.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    rfc3339(d.as_secs() as i64, None)
}

/// Current UTC time with nanoseconds (the `created` field of state).
pub fn now_rfc3339_nanos() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    rfc3339(d.as_secs() as i64, Some(d.subsec_nanos()))
}

/// Format seconds since the epoch as UTC RFC 3339 (days-to-civil algorithm).
pub fn rfc3339(secs: i64, nanos: Option<u32>) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    match nanos {
        Some(n) => format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{n:09}Z"),
        None => format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0, None), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400, None), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_765_989, Some(5)), "2026-11-27T07:53:09.000000005Z");
    }

    #[test]
    fn json_line_is_one_object_with_three_keys() {
        let l = format_line(Format::Json, Level::Error, "container \"x\" not running", "T".into());
        assert!(l.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(l.trim_end()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container \"x\" not running");
        assert_eq!(v["time"], "T");
        assert_eq!(v.as_object().unwrap().len(), 3);
    }

    #[test]
    fn text_line_is_logrus_style() {
        let l = format_line(Format::Text, Level::Warn, "a b", "T".into());
        assert_eq!(l, "time=\"T\" level=warning msg=\"a b\"\n");
    }
}
