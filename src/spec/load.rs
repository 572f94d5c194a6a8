//! Reading a bundle's `config.json` (and exec's `--process` file), with
//! errors that name the field.
//!
//! The bytes are read into a JSON value first, for two reasons: the
//! spellings oci-spec 0.10 gets wrong are put right before it parses them
//! (see [`normalise_process`]), and every field present is looked up in
//! [`super::fields`], so that none is dropped without a word.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Process, Spec};
use serde_json::Value;

use super::fields::{self, Scope};
use crate::error::{Context, Error, Result};

/// A parsed config and where it came from.
pub struct Bundle {
    /// Absolute, canonical bundle directory.
    pub dir: PathBuf,
    pub spec: Spec,
    /// The exact bytes read, kept so the state directory holds the config as
    /// it was at create time (edits made after create change nothing).
    pub raw: Vec<u8>,
    /// Fields berth does not apply, one warning each, for create to log.
    pub warnings: Vec<String>,
}

/// Load `<dir>/config.json`. A field berth must refuse is an error here,
/// before anything exists.
pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    let dir = std::fs::canonicalize(dir).ctx(|| format!("open bundle `{}`", dir.display()))?;
    let path = dir.join("config.json");
    let raw = std::fs::read(&path).ctx(|| format!("read `{}`", path.display()))?;
    let value = parse_value(&raw, "config.json")?;
    let warnings = fields::review(&value, Scope::Config)?;
    let spec = spec_from_value(value)?;
    check_rootfs_mounted(&dir, &spec)?;
    Ok(Bundle { dir, spec, raw, warnings })
}

/// The file imgtool leaves in an overlay bundle's mount point while nothing
/// is mounted on it (`crate::image::overlay::guard_mount_point`).
pub const NOT_MOUNTED: &str = ".imgtool-not-mounted";

/// An imgtool overlay bundle whose overlay is not mounted (after a reboot or
/// an unmount) shows the bare mount point, which imgtool marks: refuse it
/// with the fix, rather than fail later at the first mount inside it.
fn check_rootfs_mounted(dir: &Path, spec: &Spec) -> Result<()> {
    let Some(root) = spec.root().as_ref() else { return Ok(()) };
    let rootfs = dir.join(root.path());
    if std::fs::symlink_metadata(rootfs.join(NOT_MOUNTED)).is_ok() {
        return Err(Error::config(
            "root.path",
            format!(
                "`{}` is the mount point of an imgtool overlay with nothing mounted on it: run `imgtool mount {}`",
                rootfs.display(),
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Parse config bytes; a type error names the JSON path of the bad field.
pub fn parse_spec(raw: &[u8]) -> Result<Spec> {
    spec_from_value(parse_value(raw, "config.json")?)
}

/// Parse exec's `--process` file: the same spellings put right and the
/// same review of its fields as the config's `process`.
pub fn parse_process(raw: &[u8]) -> Result<(Process, Vec<String>)> {
    let mut value = parse_value_raw(raw, "process file")?;
    normalise_process(&mut value);
    let warnings = fields::review(&value, Scope::Process)?;
    let process = from_value(value, "process file")?;
    Ok((process, warnings))
}

fn parse_value_raw(raw: &[u8], what: &str) -> Result<Value> {
    serde_json::from_slice(raw).map_err(|e| Error::config(what, e.to_string()))
}

fn parse_value(raw: &[u8], what: &str) -> Result<Value> {
    let mut value = parse_value_raw(raw, what)?;
    if let Some(p) = value.get_mut("process") {
        normalise_process(p);
    }
    if let Some(rdt) = value.pointer_mut("/linux/intelRdt").and_then(Value::as_object_mut) {
        // runtime-spec 1.1-1.2 spell these `enableCMT`/`enableMBM`; oci-spec
        // reads `enableCmt`/`enableMbm` and would drop the spec's spelling.
        for (spec_name, oci_name) in [("enableCMT", "enableCmt"), ("enableMBM", "enableMbm")] {
            if let Some(v) = rdt.remove(spec_name) {
                rdt.insert(oci_name.to_string(), v);
            }
        }
    }
    Ok(value)
}

fn spec_from_value(value: Value) -> Result<Spec> {
    from_value(value, "config.json")
}

fn from_value<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    super::de::from_value(&value).map_err(|e| {
        let field = if e.path.is_empty() { what.to_string() } else { format!("{}{}", prefix(what), e.path) };
        Error::config(field, e.msg)
    })
}

fn prefix(what: &str) -> &'static str {
    if what == "process file" {
        "process file: "
    } else {
        ""
    }
}

/// Where oci-spec 0.10 and the runtime-spec schema disagree on the spelling
/// of a `process` value, rewrite the spec's spelling into oci-spec's, so
/// that valid configs parse:
/// - `scheduler.flags`: the schema's `SCHED_FLAG_RESET_ON_FORK` and
///   `SCHED_FLAG_DL_OVERRUN` are `SCHED_RESET_ON_FORK` and
///   `SCHED_FLAG_D_L_OVERRUN` in oci-spec;
/// - `execCPUAffinity`: the schema allows spaces (`^[0-9, -]*$`) and an
///   empty list ("runtime SHOULD NOT change" the affinity), oci-spec's
///   pattern allows neither. Spaces are dropped; an empty list is removed.
///
/// Every other enum of the schema (namespace types, seccomp actions,
/// operators, arches and flags, memory policy modes and flags, I/O priority
/// classes, personality domains, scheduler policies) parses as spelled:
/// see the tests.
pub fn normalise_process(p: &mut Value) {
    if let Some(flags) = p.pointer_mut("/scheduler/flags").and_then(Value::as_array_mut) {
        for f in flags {
            let fixed = match f.as_str() {
                Some("SCHED_FLAG_RESET_ON_FORK") => "SCHED_RESET_ON_FORK",
                Some("SCHED_FLAG_DL_OVERRUN") => "SCHED_FLAG_D_L_OVERRUN",
                _ => continue,
            };
            *f = Value::String(fixed.to_string());
        }
    }
    if let Some(aff) = p.get_mut("execCPUAffinity").and_then(Value::as_object_mut) {
        for key in ["initial", "final"] {
            let Some(s) = aff.get(key).and_then(Value::as_str) else { continue };
            let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.is_empty() {
                aff.remove(key);
            } else {
                aff.insert(key.to_string(), Value::String(compact));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_error_names_the_field() {
        let e = parse_spec(br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":"x","gid":0}}}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("process.user.uid"), "{e}");
    }

    #[test]
    fn unknown_capability_is_rejected() {
        let e = parse_spec(
            br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_TEST"]}}}"#,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("CAP_TEST") || e.contains("capabilities"), "{e}");
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(parse_spec(b"{").is_err());
    }

    #[test]
    fn an_unmounted_imgtool_rootfs_is_refused() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("rootfs")).unwrap();
        let spec = parse_spec(br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"}}"#).unwrap();
        assert!(check_rootfs_mounted(t.path(), &spec).is_ok());
        crate::image::overlay::guard_mount_point(&t.path().join("rootfs")).unwrap();
        let e = check_rootfs_mounted(t.path(), &spec).unwrap_err().to_string();
        assert!(e.contains("imgtool mount"), "{e}");
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let s = parse_spec(br#"{"ociVersion":"1.0.2","whatever":{"x":1},"annotations":{"a":"b"}}"#).unwrap();
        assert_eq!(s.version(), "1.0.2");
    }

    fn process(extra: &str) -> String {
        format!(r#"{{"cwd":"/","args":["sh"],"user":{{"uid":0,"gid":0}}{extra}}}"#)
    }

    fn config(process_extra: &str, linux: &str) -> String {
        format!(r#"{{"ociVersion":"1.3.0","process":{},"linux":{linux}}}"#, process(process_extra))
    }

    /// oci-spec 0.10's scheduler flag spellings differ from the schema's;
    /// both parse, to the same flags.
    #[test]
    fn scheduler_flags_in_the_schemas_spelling_parse() {
        use oci_spec::runtime::LinuxSchedulerFlag as F;
        let sched = r#","scheduler":{"policy":"SCHED_DEADLINE","flags":["SCHED_FLAG_RESET_ON_FORK","SCHED_FLAG_DL_OVERRUN","SCHED_FLAG_RECLAIM"]}"#;
        let s = parse_spec(config(sched, "{}").as_bytes()).unwrap();
        let flags = s.process().as_ref().unwrap().scheduler().as_ref().unwrap().flags().clone().unwrap();
        assert_eq!(flags, [F::SchedResetOnFork, F::SchedFlagDLOverrun, F::SchedFlagReclaim]);
        // exec's --process file gets the same treatment.
        let (p, _) = parse_process(process(sched).as_bytes()).unwrap();
        assert_eq!(p.scheduler().as_ref().unwrap().flags().as_ref().unwrap().len(), 3);
        // oci-spec's own spelling still parses (configs written by oci-spec users).
        parse_spec(config(r#","scheduler":{"policy":"SCHED_OTHER","flags":["SCHED_RESET_ON_FORK"]}"#, "{}").as_bytes())
            .unwrap();
    }

    #[test]
    fn exec_cpu_affinity_as_the_schema_allows() {
        let s = parse_spec(config(r#","execCPUAffinity":{"initial":"0, 1","final":""}"#, "{}").as_bytes()).unwrap();
        let a = s.process().as_ref().unwrap().exec_cpu_affinity().clone().unwrap();
        assert_eq!(a.initial().as_deref(), Some("0,1"));
        assert_eq!(a.cpu_affinity_final().as_deref(), None);
    }

    #[test]
    fn intel_rdt_monitoring_flags_in_the_specs_spelling_parse() {
        let s = parse_spec(config("", r#"{"intelRdt":{"enableCMT":true,"enableMBM":true}}"#).as_bytes()).unwrap();
        let rdt = s.linux().as_ref().unwrap().intel_rdt().clone().unwrap();
        #[allow(deprecated)]
        let (cmt, mbm) = (rdt.enable_cmt(), rdt.enable_mbm());
        assert_eq!((*cmt, *mbm), (Some(true), Some(true)));
    }

    /// Every enum value the runtime-spec 1.3 schema lists
    /// (schema/defs-linux.json, config-schema.json) parses.
    #[test]
    fn every_enum_value_of_the_schema_parses() {
        let mut cases: Vec<(String, String)> = Vec::new();
        for c in ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"] {
            cases.push((format!(r#","ioPriority":{{"class":"{c}","priority":1}}"#), "{}".into()));
        }
        for d in ["LINUX", "LINUX32"] {
            cases.push((String::new(), format!(r#"{{"personality":{{"domain":"{d}"}}}}"#)));
        }
        for p in ["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"] {
            cases.push((format!(r#","scheduler":{{"policy":"{p}"}}"#), "{}".into()));
        }
        for f in [
            "SCHED_FLAG_RESET_ON_FORK",
            "SCHED_FLAG_RECLAIM",
            "SCHED_FLAG_DL_OVERRUN",
            "SCHED_FLAG_KEEP_POLICY",
            "SCHED_FLAG_KEEP_PARAMS",
            "SCHED_FLAG_UTIL_CLAMP_MIN",
            "SCHED_FLAG_UTIL_CLAMP_MAX",
        ] {
            cases.push((format!(r#","scheduler":{{"policy":"SCHED_OTHER","flags":["{f}"]}}"#), "{}".into()));
        }
        for t in ["mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time"] {
            cases.push((String::new(), format!(r#"{{"namespaces":[{{"type":"{t}"}}]}}"#)));
        }
        for m in [
            "MPOL_DEFAULT",
            "MPOL_BIND",
            "MPOL_INTERLEAVE",
            "MPOL_WEIGHTED_INTERLEAVE",
            "MPOL_PREFERRED",
            "MPOL_PREFERRED_MANY",
            "MPOL_LOCAL",
        ] {
            cases.push((String::new(), format!(r#"{{"memoryPolicy":{{"mode":"{m}"}}}}"#)));
        }
        for f in ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"] {
            cases.push((String::new(), format!(r#"{{"memoryPolicy":{{"mode":"MPOL_BIND","flags":["{f}"]}}}}"#)));
        }
        let seccomp = |s: &str| format!(r#"{{"seccomp":{{"defaultAction":"SCMP_ACT_ALLOW"{s}}}}}"#);
        for a in [
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_TRAP",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_LOG",
            "SCMP_ACT_NOTIFY",
        ] {
            cases.push((String::new(), seccomp(&format!(r#","syscalls":[{{"names":["kill"],"action":"{a}"}}]"#))));
        }
        for a in [
            "SCMP_ARCH_X86",
            "SCMP_ARCH_X86_64",
            "SCMP_ARCH_X32",
            "SCMP_ARCH_ARM",
            "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_LOONGARCH64",
            "SCMP_ARCH_M68K",
            "SCMP_ARCH_MIPS",
            "SCMP_ARCH_MIPS64",
            "SCMP_ARCH_MIPS64N32",
            "SCMP_ARCH_MIPSEL",
            "SCMP_ARCH_MIPSEL64",
            "SCMP_ARCH_MIPSEL64N32",
            "SCMP_ARCH_PPC",
            "SCMP_ARCH_PPC64",
            "SCMP_ARCH_PPC64LE",
            "SCMP_ARCH_S390",
            "SCMP_ARCH_S390X",
            "SCMP_ARCH_SH",
            "SCMP_ARCH_SHEB",
            "SCMP_ARCH_PARISC",
            "SCMP_ARCH_PARISC64",
            "SCMP_ARCH_RISCV64",
        ] {
            cases.push((String::new(), seccomp(&format!(r#","architectures":["{a}"]"#))));
        }
        for f in [
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        ] {
            cases.push((String::new(), seccomp(&format!(r#","flags":["{f}"]"#))));
        }
        for op in [
            "SCMP_CMP_NE",
            "SCMP_CMP_LT",
            "SCMP_CMP_LE",
            "SCMP_CMP_EQ",
            "SCMP_CMP_GE",
            "SCMP_CMP_GT",
            "SCMP_CMP_MASKED_EQ",
        ] {
            let rule = format!(
                r#","syscalls":[{{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{{"index":0,"value":1,"op":"{op}"}}]}}]"#
            );
            cases.push((String::new(), seccomp(&rule)));
        }
        for p in ["private", "shared", "slave", "unbindable"] {
            cases.push((String::new(), format!(r#"{{"rootfsPropagation":"{p}"}}"#)));
        }
        for (t, extra) in [
            ("c", r#","major":1,"minor":3"#),
            ("b", r#","major":8,"minor":0"#),
            ("u", r#","major":1,"minor":3"#),
            ("p", ""),
        ] {
            cases.push((String::new(), format!(r#"{{"devices":[{{"path":"/dev/x","type":"{t}"{extra}}}]}}"#)));
        }
        for (process_extra, linux) in cases {
            let json = config(&process_extra, &linux);
            if let Err(e) = parse_spec(json.as_bytes()) {
                panic!("{json}: {e}");
            }
        }
    }
}
