//! Checks run on a config before any side effect: a list of small check
//! functions, each naming the field and value it rejects. (Mount, device,
//! namespace, capability and seccomp entries are checked by their own
//! planners, which run at the same point.)

use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result};
use crate::namespaces::Plan;

type Check = fn(&Spec, &Plan) -> Result<()>;

const CHECKS: &[Check] =
    &[check_version, check_process, check_uts, check_user_ns, check_time_ns, check_rlimits, check_sysctl, check_hooks];

pub fn validate(spec: &Spec, ns: &Plan) -> Result<()> {
    CHECKS.iter().try_for_each(|c| c(spec, ns))
}

/// runtime-spec versions berth implements: any 1.x.y (with a pre-release).
fn check_version(spec: &Spec, _: &Plan) -> Result<()> {
    let v = spec.version();
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric || parts[0] != "1" {
        return Err(Error::config("ociVersion", format!("`{v}` is not a supported runtime-spec version (1.x.y)")));
    }
    Ok(())
}

fn check_process(spec: &Spec, _: &Plan) -> Result<()> {
    let Some(p) = spec.process().as_ref() else { return Ok(()) };
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::config("process.args", "must not be empty"));
    }
    if !p.cwd().is_absolute() {
        return Err(Error::config("process.cwd", format!("`{}` is not an absolute path", p.cwd().display())));
    }
    Ok(())
}

fn has(ns: &Plan, t: LinuxNamespaceType) -> bool {
    ns.creates(t) || ns.joins(t).is_some()
}

fn check_uts(spec: &Spec, ns: &Plan) -> Result<()> {
    for (field, v) in [("hostname", spec.hostname()), ("domainname", spec.domainname())] {
        if v.as_deref().is_some_and(|h| !h.is_empty()) && !has(ns, LinuxNamespaceType::Uts) {
            return Err(Error::config(field, "cannot be set without a private UTS namespace"));
        }
    }
    Ok(())
}

fn check_user_ns(spec: &Spec, ns: &Plan) -> Result<()> {
    let linux = spec.linux().as_ref();
    let uid = linux.and_then(|l| l.uid_mappings().as_ref()).is_some_and(|m| !m.is_empty());
    let gid = linux.and_then(|l| l.gid_mappings().as_ref()).is_some_and(|m| !m.is_empty());
    if ns.creates(LinuxNamespaceType::User) {
        if !uid {
            return Err(Error::config("linux.uidMappings", "a new user namespace needs uid mappings"));
        }
        if !gid {
            return Err(Error::config("linux.gidMappings", "a new user namespace needs gid mappings"));
        }
    } else if uid || gid {
        return Err(Error::config("linux.uidMappings", "id mappings need a new user namespace"));
    }
    Ok(())
}

fn check_time_ns(spec: &Spec, ns: &Plan) -> Result<()> {
    let offsets = spec.linux().as_ref().and_then(|l| l.time_offsets().as_ref());
    if let Some(o) = offsets.filter(|o| !o.is_empty()) {
        if !ns.creates(LinuxNamespaceType::Time) {
            return Err(Error::config("linux.timeOffsets", "need a new time namespace"));
        }
        for k in o.keys() {
            if k != "monotonic" && k != "boottime" {
                return Err(Error::config("linux.timeOffsets", format!("unknown clock `{k}` (monotonic or boottime)")));
            }
        }
    }
    Ok(())
}

fn check_rlimits(spec: &Spec, _: &Plan) -> Result<()> {
    let mut seen = Vec::new();
    for (i, r) in spec.process().as_ref().and_then(|p| p.rlimits().as_ref()).into_iter().flatten().enumerate() {
        if seen.contains(&r.typ()) {
            return Err(Error::config(format!("process.rlimits[{i}]"), format!("duplicate rlimit `{:?}`", r.typ())));
        }
        seen.push(r.typ());
        if r.soft() > r.hard() {
            return Err(Error::config(format!("process.rlimits[{i}]"), "soft limit is above the hard limit"));
        }
    }
    Ok(())
}

/// Only namespaced sysctls may be set, and only with their namespace
/// (runc's rule): IPC ones need an IPC namespace, net.* a network one.
fn check_sysctl(spec: &Spec, ns: &Plan) -> Result<()> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    for k in spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()).into_iter().flat_map(|m| m.keys()) {
        let field = format!("linux.sysctl.{k}");
        let need = if IPC.contains(&k.as_str()) || k.starts_with("fs.mqueue.") {
            LinuxNamespaceType::Ipc
        } else if k.starts_with("net.") {
            LinuxNamespaceType::Network
        } else if k == "kernel.hostname" || k == "kernel.domainname" {
            LinuxNamespaceType::Uts
        } else {
            return Err(Error::config(field, "is not a namespaced sysctl"));
        };
        if !has(ns, need) {
            return Err(Error::config(field, format!("needs a `{}` namespace", crate::namespaces::oci_name(need))));
        }
        if k.contains("..") || k.contains('/') {
            return Err(Error::config(field, "is not a valid sysctl name"));
        }
    }
    Ok(())
}

fn check_hooks(spec: &Spec, _: &Plan) -> Result<()> {
    for stage in crate::hooks::Stage::ALL {
        for (i, h) in crate::hooks::of(spec, stage).iter().enumerate() {
            if !Path::new(h.path()).is_absolute() {
                return Err(Error::config(
                    format!("hooks.{}[{i}].path", stage.name()),
                    format!("`{}` is not an absolute path", h.path().display()),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load::parse_spec;

    fn run(json: &str) -> Result<()> {
        let s = parse_spec(json.as_bytes())?;
        let ns = crate::namespaces::plan(s.linux().as_ref())?;
        validate(&s, &ns)
    }

    fn with(linux: &str, extra: &str) -> String {
        format!(
            r#"{{"ociVersion":"1.0.2-dev","root":{{"path":"rootfs"}},"process":{{"cwd":"/","args":["sh"],"user":{{"uid":0,"gid":0}}}},"linux":{linux}{extra}}}"#
        )
    }

    const NS: &str = r#"{"namespaces":[{"type":"mount"},{"type":"uts"},{"type":"ipc"}]}"#;

    #[test]
    fn good_config_passes() {
        run(&with(NS, r#","hostname":"h""#)).unwrap();
        run(&crate::spec::template::DEFAULT_JSON.replace("\"terminal\": true", "\"terminal\": false")).unwrap();
    }

    #[test]
    fn table_of_rejections() {
        let cases = [
            (with(NS, "").replace("1.0.2-dev", "invalid"), "ociVersion"),
            (with(NS, "").replace("1.0.2-dev", "2.0.0"), "ociVersion"),
            (with(r#"{"namespaces":[{"type":"mount"}]}"#, r#","hostname":"h""#), "hostname"),
            (with(r#"{"namespaces":[{"type":"mount"},{"type":"user"}]}"#, ""), "linux.uidMappings"),
            (
                with(r#"{"namespaces":[{"type":"mount"}],"uidMappings":[{"containerID":0,"hostID":1,"size":1}]}"#, ""),
                "uidMappings",
            ),
            (
                with(r#"{"namespaces":[{"type":"mount"}],"sysctl":{"net.ipv4.ip_forward":"1"}}"#, ""),
                "net.ipv4.ip_forward",
            ),
            (
                with(r#"{"namespaces":[{"type":"mount"},{"type":"ipc"}],"sysctl":{"vm.swappiness":"1"}}"#, ""),
                "vm.swappiness",
            ),
            (with(NS, "").replace(r#""cwd":"/""#, r#""cwd":"rel""#), "process.cwd"),
            (with(NS, r#","hooks":{"prestart":[{"path":"rel"}]}"#), "hooks.prestart[0].path"),
            (with(r#"{"namespaces":[{"type":"mount"}],"timeOffsets":{"monotonic":{"secs":1}}}"#, ""), "timeOffsets"),
        ];
        for (json, want) in cases {
            let e = run(&json).expect_err(want).to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn rlimit_rules() {
        let r = |l: &str| with(NS, "").replace(r#""args":["sh"]"#, &format!(r#""args":["sh"],"rlimits":{l}"#));
        assert!(run(&r(r#"[{"type":"RLIMIT_NOFILE","soft":10,"hard":5}]"#)).is_err());
        assert!(run(&r(r#"[{"type":"RLIMIT_NOFILE","soft":1,"hard":5},{"type":"RLIMIT_NOFILE","soft":1,"hard":5}]"#))
            .is_err());
        assert!(run(&r(r#"[{"type":"RLIMIT_BOGUS","soft":1,"hard":5}]"#)).is_err());
        run(&r(r#"[{"type":"RLIMIT_NOFILE","soft":1,"hard":5}]"#)).unwrap();
    }
}
