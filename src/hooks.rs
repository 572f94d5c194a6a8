//! The six OCI hook stages (runtime-spec config.md "POSIX-platform Hooks",
//! runtime.md "Lifecycle"): each hook gets the state JSON on stdin, runs
//! with exactly its own `args` and `env`, and is killed at its `timeout`.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prestart => "prestart",
            Stage::CreateRuntime => "createRuntime",
            Stage::CreateContainer => "createContainer",
            Stage::StartContainer => "startContainer",
            Stage::Poststart => "poststart",
            Stage::Poststop => "poststop",
        }
    }
    pub const ALL: [Stage; 6] = [
        Stage::Prestart,
        Stage::CreateRuntime,
        Stage::CreateContainer,
        Stage::StartContainer,
        Stage::Poststart,
        Stage::Poststop,
    ];
}

/// The hooks of one stage from a config.
pub fn of(spec: &oci_spec::runtime::Spec, stage: Stage) -> Vec<Hook> {
    let Some(h) = spec.hooks() else { return Vec::new() };
    #[allow(deprecated)]
    let list = match stage {
        Stage::Prestart => h.prestart(),
        Stage::CreateRuntime => h.create_runtime(),
        Stage::CreateContainer => h.create_container(),
        Stage::StartContainer => h.start_container(),
        Stage::Poststart => h.poststart(),
        Stage::Poststop => h.poststop(),
    };
    list.clone().unwrap_or_default()
}

/// Run every hook of a stage in order; the first failure stops the stage
/// and is returned (callers decide whether it is fatal or a warning).
pub fn run(stage: Stage, hooks: &[Hook], state_json: &[u8]) -> Result<()> {
    for (index, hook) in hooks.iter().enumerate() {
        run_one(hook, state_json).map_err(|msg| Error::Hook {
            stage: stage.name(),
            index,
            path: hook.path().display().to_string(),
            msg,
        })?;
    }
    Ok(())
}

/// Run every hook of a stage; a failing hook is logged as a warning and
/// the others still run (poststart and poststop, runtime.md lifecycle).
pub fn run_warn(stage: Stage, hooks: &[Hook], state_json: &[u8]) {
    for (index, hook) in hooks.iter().enumerate() {
        if let Err(msg) = run_one(hook, state_json) {
            let e = Error::Hook { stage: stage.name(), index, path: hook.path().display().to_string(), msg };
            crate::logging::warn(&e.to_string());
        }
    }
}

fn run_one(hook: &Hook, state_json: &[u8]) -> std::result::Result<(), String> {
    let mut cmd = Command::new(hook.path());
    let args = hook.args().clone().unwrap_or_default();
    if let Some(a0) = args.first() {
        cmd.arg0(a0);
    }
    cmd.args(args.iter().skip(1));
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that ignores its stdin may exit before reading: EPIPE is fine.
        let _ = stdin.write_all(state_json);
    }
    let deadline = hook.timeout().map(|t| Instant::now() + Duration::from_secs(t.max(1) as u64));
    let mut nap = Duration::from_micros(200);
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => return Err(format!("wait: {e}")),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {}s", hook.timeout().unwrap_or(0)));
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    };
    if status.success() {
        return Ok(());
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    let err = err.trim();
    Err(format!("{status}{}{err}", if err.is_empty() { "" } else { ": " }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: &str) -> Hook {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn state_reaches_stdin_and_env_is_exact() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        let h = hook(&format!(
            r#"{{"path":"/bin/sh","args":["sh","-c","cat > {0}; echo >> {0}; /usr/bin/env >> {0}"],"env":["FOO=bar"]}}"#,
            out.display()
        ));
        run(Stage::Poststart, &[h], b"{\"id\":\"x\"}").unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        assert!(got.starts_with("{\"id\":\"x\"}\n"), "{got}");
        assert!(got.contains("FOO=bar\n"), "{got}");
        assert!(!got.contains("HOME="), "the runtime's env leaked: {got}");
    }

    #[test]
    fn failure_names_stage_index_and_path() {
        let ok = hook(r#"{"path":"/bin/true"}"#);
        let bad = hook(r#"{"path":"/bin/sh","args":["sh","-c","echo boom >&2; exit 3"]}"#);
        let e = run(Stage::Prestart, &[ok, bad], b"{}").unwrap_err().to_string();
        assert!(e.contains("prestart hook #1 `/bin/sh`") && e.contains("boom"), "{e}");
    }

    #[test]
    fn warn_mode_runs_every_hook() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        let bad = hook(r#"{"path":"/bin/false"}"#);
        let good = hook(&format!(r#"{{"path":"/bin/sh","args":["sh","-c","echo ran > {}"]}}"#, out.display()));
        run_warn(Stage::Poststop, &[bad, good], b"{}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran\n");
    }

    #[test]
    fn timeout_kills_the_hook() {
        let h = hook(r#"{"path":"/bin/sleep","args":["sleep","5"],"timeout":1}"#);
        let t0 = Instant::now();
        let e = run(Stage::CreateRuntime, &[h], b"{}").unwrap_err().to_string();
        assert!(e.contains("timed out"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(4));
    }
}
