//! Black-box tests of the `berth` binary that start no container: the
//! command line, `spec`, `features`, errors and their `--log` lines.

#![allow(clippy::unwrap_used)] // the helper outside #[test] fns

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn berth(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth")).arg("--root").arg(root).args(args).output().unwrap()
}

#[test]
fn version_and_help() {
    let t = tempfile::tempdir().unwrap();
    let o = berth(t.path(), &["--version"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("berth version "), "{out}");
    assert!(out.contains("spec: 1.0.2-dev"), "{out}");
    // podman probes `checkpoint --help`: exit 0 claims checkpoint support.
    for verb in [
        "create",
        "start",
        "run",
        "state",
        "kill",
        "delete",
        "list",
        "spec",
        "exec",
        "features",
        "checkpoint",
        "restore",
    ] {
        let o = berth(t.path(), &[verb, "--help"]);
        assert!(o.status.success(), "{verb} --help");
    }
}

#[test]
fn spec_writes_runc_default_and_refuses_to_overwrite() {
    let t = tempfile::tempdir().unwrap();
    let b = t.path().join("b");
    std::fs::create_dir(&b).unwrap();
    let o = berth(t.path(), &["spec", "-b", b.to_str().unwrap()]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    assert_eq!(v["ociVersion"], "1.0.2-dev");
    assert_eq!(v["root"]["path"], "rootfs");
    assert_eq!(v["process"]["args"][0], "sh");
    let o = berth(t.path(), &["spec", "-b", b.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists"));
}

#[test]
fn features_document_is_built_from_the_tables() {
    let t = tempfile::tempdir().unwrap();
    let o = berth(t.path(), &["features"]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["hooks"].as_array().unwrap().len(), 6);
    let ns: Vec<&str> = v["linux"]["namespaces"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    for n in ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"] {
        assert!(ns.contains(&n), "{n}");
    }
    assert!(v["mountOptions"].as_array().unwrap().iter().any(|o| o == "rro"));
    assert!(v["linux"]["seccomp"]["actions"].as_array().unwrap().iter().any(|a| a == "SCMP_ACT_NOTIFY"));
    assert!(v["linux"]["capabilities"].as_array().unwrap().iter().any(|c| c == "CAP_SYS_ADMIN"));
    assert_eq!(v["annotations"]["io.github.berth.checkpoint.enabled"], "true");
    assert_eq!(v["potentiallyUnsafeConfigAnnotations"][0], "org.criu.config");
    // runtime-spec 1.3: what berth applies, from the table of config fields.
    assert_eq!(v["ociVersionMax"], "1.3.0");
    assert_eq!(v["linux"]["netDevices"]["enabled"], true);
    assert_eq!(v["linux"]["intelRdt"], serde_json::json!({"enabled": true, "schemata": true, "monitoring": true}));
    assert_eq!(v["linux"]["memoryPolicy"]["modes"].as_array().unwrap().len(), 7);
    assert_eq!(v["linux"]["memoryPolicy"]["flags"].as_array().unwrap().len(), 3);
    let host = v["annotations"]["io.github.berth.resctrl"].as_str().unwrap();
    let mounted = std::fs::read_to_string("/proc/self/mounts").unwrap().lines().any(|l| l.contains(" resctrl "));
    assert_eq!(host.starts_with("not mounted"), !mounted, "{host}");
}

#[test]
fn checkpoint_and_restore_errors_name_the_problem() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let root = root.to_str().unwrap();
    let o = berth(t.path(), &["--root", root, "checkpoint", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
    let o = berth(t.path(), &["--root", root, "checkpoint", "--empty-ns", "pid", "nosuch"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("only `network`"));
    let o = berth(t.path(), &["--root", root, "checkpoint", "--manage-cgroups-mode", "odd", "nosuch"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("soft, full or strict"));
    let images = t.path().join("images");
    let o = berth(t.path(), &["--root", root, "restore", "--image-path", images.to_str().unwrap(), "c1"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("config.json") || err.contains("images"), "{err}");
}

#[test]
fn json_log_has_exactly_one_error_object() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("log.json");
    for flags in [vec!["--log-format=json"], vec!["--log-format", "json"]] {
        let _ = std::fs::remove_file(&log);
        let mut args = flags.clone();
        args.extend(["--log", log.to_str().unwrap(), "state", "nosuch"]);
        let o = berth(t.path(), &args);
        assert_eq!(o.status.code(), Some(1));
        let text = std::fs::read_to_string(&log).unwrap();
        let v: Value = serde_json::from_str(&text).expect("the whole file is one JSON object");
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container does not exist");
        let time = v["time"].as_str().unwrap();
        assert!(time.len() == 20 && time.ends_with('Z') && &time[10..11] == "T", "{time}");
        // ... and the plain message on stderr, where podman falls back to it.
        assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
    }
}

#[test]
fn text_errors_without_log_file_are_logrus_lines_on_stderr() {
    let t = tempfile::tempdir().unwrap();
    let o = berth(t.path(), &["kill", "nosuch", "9"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("time=\"") && err.contains("level=error msg=\"container does not exist\""), "{err}");
}

#[test]
fn bad_ids_and_unknown_containers() {
    let t = tempfile::tempdir().unwrap();
    for id in ["..", "a/b", "a b"] {
        let o = berth(t.path(), &["state", id]);
        assert!(!o.status.success(), "{id}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("invalid container id"), "{id}");
    }
    // delete --force of an unknown id is not an error (engines rely on it).
    assert!(berth(t.path(), &["delete", "--force", "nosuch"]).status.success());
    assert!(!berth(t.path(), &["delete", "nosuch"]).status.success());
    // nothing was written for any of it
    assert!(std::fs::read_dir(t.path()).unwrap().next().is_none());
    let o = berth(t.path(), &["list", "--format", "json"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}

#[test]
fn invalid_config_fails_before_any_side_effect() {
    let t = tempfile::tempdir().unwrap();
    let b = t.path().join("bundle");
    std::fs::create_dir_all(b.join("rootfs")).unwrap();
    let root = t.path().join("state");
    let cases = [
        (
            r#"{"ociVersion":"invalid","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0}}}"#,
            "ociVersion",
        ),
        (
            r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":"x","gid":0}}}"#,
            "process.user.uid",
        ),
        (
            r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0}},"linux":{"namespaces":[{"type":"bogus"}]}}"#,
            "linux.namespaces",
        ),
        (
            r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_TEST"]}}}"#,
            "capabilities",
        ),
        (
            r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"rel","args":["sh"],"user":{"uid":0,"gid":0}}}"#,
            "process.cwd",
        ),
        ("{", "config"),
    ];
    for (cfg, want) in cases {
        std::fs::write(b.join("config.json"), cfg).unwrap();
        let o = berth(&root, &["create", "-b", b.to_str().unwrap(), "c1"]);
        assert_eq!(o.status.code(), Some(1), "{want}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{want}: {err}");
        assert!(!root.join("c1").exists(), "{want}: a state directory was left");
    }
}
