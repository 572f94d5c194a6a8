//! Linux security module labels: `process.apparmorProfile`,
//! `process.selinuxLabel` and `linux.mountLabel`.
//!
//! A profile or label the host cannot apply is an error before anything is
//! created (as runc and crun fail): a container must never run unconfined
//! when confinement was asked for. The one exception is `mountLabel` on a
//! host without SELinux, which is ignored as crun does and the
//! runtime-tools suite expects. When the module is active, the profile and
//! the process label are set for the next execve through
//! /proc/thread-self/attr, and the mount label goes into the `context=`
//! option of the filesystems berth mounts itself.

use oci_spec::runtime::Process;

use crate::error::{Error, Result};

/// AppArmor is enabled in the running kernel.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|s| s.trim() == "Y")
}

/// SELinux is enabled (selinuxfs is mounted).
pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// The labels of one process, checked against what the host has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pub apparmor: Option<String>,
    pub selinux: Option<String>,
}

/// Check `process`'s profile and label (`field` names it in errors: the
/// config's `process`, or an exec'd process).
pub fn plan(process: Option<&Process>, field: &str) -> Result<Labels> {
    plan_with(process, field, apparmor_enabled, selinux_enabled)
}

/// `apparmor` and `selinux` say whether the module is on; asked only when a
/// profile or label is set.
fn plan_with(
    process: Option<&Process>,
    field: &str,
    apparmor: impl Fn() -> bool,
    selinux: impl Fn() -> bool,
) -> Result<Labels> {
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let l = Labels {
        apparmor: process.and_then(|p| nonempty(p.apparmor_profile())),
        selinux: process.and_then(|p| nonempty(p.selinux_label())),
    };
    if let Some(p) = l.apparmor.as_ref().filter(|_| !apparmor()) {
        return Err(Error::config(
            format!("{field}.apparmorProfile"),
            format!("profile `{p}` is set, but AppArmor is not enabled on this host"),
        ));
    }
    if let Some(p) = l.selinux.as_ref().filter(|_| !selinux()) {
        return Err(Error::config(
            format!("{field}.selinuxLabel"),
            format!("label `{p}` is set, but SELinux is not enabled on this host"),
        ));
    }
    Ok(l)
}

/// The mount label to apply: `linux.mountLabel` when SELinux is enabled.
pub fn mount_label(label: Option<&String>) -> Option<String> {
    label.filter(|l| !l.is_empty() && selinux_enabled()).cloned()
}

/// Filesystem data with the SELinux `context=` option added.
pub fn with_context(data: &str, label: &str) -> String {
    let ctx = format!("context=\"{label}\"");
    if data.is_empty() {
        ctx
    } else {
        format!("{data},{ctx}")
    }
}

/// Set the labels the next execve of this thread takes on. Call it after
/// pivot_root (the container's /proc) and before seccomp.
pub fn apply(l: &Labels) -> Result<()> {
    if let Some(p) = &l.apparmor {
        write_attr(&["apparmor/exec", "exec"], &format!("exec {p}"))
            .map_err(|e| Error::Init(format!("apply AppArmor profile `{p}`: {e}")))?;
    }
    if let Some(s) = &l.selinux {
        write_attr(&["exec"], s).map_err(|e| Error::Init(format!("set SELinux label `{s}`: {e}")))?;
    }
    Ok(())
}

/// Write `value` to the first of /proc/thread-self/attr/`names` that exists.
/// Only a missing file moves on to the next name: the write itself fails
/// with ENOENT too when AppArmor has no profile of that name loaded.
fn write_attr(names: &[&str], value: &str) -> std::result::Result<(), String> {
    use std::io::Write;
    let mut last = String::from("no attribute file");
    for n in names {
        let path = format!("/proc/thread-self/attr/{n}");
        let mut f = match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                last = format!("open `{path}`: {}", crate::error::os_msg(&e));
                continue;
            }
            Err(e) => return Err(format!("open `{path}`: {}", crate::error::os_msg(&e))),
        };
        return match f.write_all(value.as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(format!("write `{path}`: {} (is the profile loaded?)", crate::error::os_msg(&e)))
            }
            Err(e) => Err(format!("write `{path}`: {}", crate::error::os_msg(&e))),
        };
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(json: &str) -> Process {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn labels_asked_for_on_a_host_without_the_module_are_errors() {
        let p = process(r#"{"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":"acme"}"#);
        let e = plan_with(Some(&p), "process", || false, || false).unwrap_err().to_string();
        assert!(e.contains("process.apparmorProfile") && e.contains("acme") && e.contains("not enabled"), "{e}");
        assert_eq!(plan_with(Some(&p), "process", || true, || false).unwrap().apparmor.as_deref(), Some("acme"));
        let p = process(r#"{"cwd":"/","user":{"uid":0,"gid":0},"selinuxLabel":"system_u:system_r:container_t:s0"}"#);
        assert!(plan_with(Some(&p), "process", || true, || false).unwrap_err().to_string().contains("selinuxLabel"));
        assert!(plan_with(Some(&p), "process", || false, || true).is_ok());
        // empty strings ask for nothing
        let p = process(r#"{"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":"","selinuxLabel":""}"#);
        assert_eq!(plan_with(Some(&p), "process", || false, || false).unwrap(), Labels::default());
        assert_eq!(plan_with(None, "process", || false, || false).unwrap(), Labels::default());
    }

    #[test]
    fn context_option() {
        assert_eq!(with_context("", "a:b:c:s0"), "context=\"a:b:c:s0\"");
        assert_eq!(with_context("mode=755", "a:b:c:s0"), "mode=755,context=\"a:b:c:s0\"");
    }
}
