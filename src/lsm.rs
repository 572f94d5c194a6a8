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

use crate::error::{Error, Result};
use crate::procfs::Proc;

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

/// Check that the host can apply `l` (`field` names the process in
/// errors: the config's `process`, or an exec'd process).
pub fn check(l: &Labels, field: &str) -> Result<()> {
    check_with(l, field, apparmor_enabled, selinux_enabled)
}

/// `apparmor` and `selinux` say whether the module is on; asked only when a
/// profile or label is set.
fn check_with(l: &Labels, field: &str, apparmor: impl Fn() -> bool, selinux: impl Fn() -> bool) -> Result<()> {
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
    Ok(())
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

/// Set the labels the next execve of this thread takes on, through the
/// verified procfs handle `proc` (a container cannot redirect the write);
/// call it before seccomp.
pub fn apply(l: &Labels, proc: &Proc) -> Result<()> {
    if let Some(p) = &l.apparmor {
        write_attr(proc, &["apparmor/exec", "exec"], &format!("exec {p}"))
            .map_err(|e| Error::Init(format!("apply AppArmor profile `{p}`: {e}")))?;
    }
    if let Some(s) = &l.selinux {
        write_attr(proc, &["exec"], s).map_err(|e| Error::Init(format!("set SELinux label `{s}`: {e}")))?;
    }
    Ok(())
}

/// Write `value` to the first of this thread's attr/`names` that exists.
/// Only a missing file moves on to the next name: the write itself fails
/// with ENOENT too when AppArmor has no profile of that name loaded.
fn write_attr(proc: &Proc, names: &[&str], value: &str) -> std::result::Result<(), String> {
    use std::io::Write;
    let mut last = String::from("no attribute file");
    for n in names {
        let rel = format!("{}/attr/{n}", Proc::thread_dir());
        let fd = match proc.open_file(&rel, nix::fcntl::OFlag::O_WRONLY) {
            Ok(fd) => fd,
            Err(Error::Sys { source: nix::errno::Errno::ENOENT, .. }) => {
                last = format!("open `/proc/{rel}`: no such file or directory");
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        return match std::fs::File::from(fd).write_all(value.as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(format!("write `/proc/{rel}`: {} (is the profile loaded?)", crate::error::os_msg(&e)))
            }
            Err(e) => Err(format!("write `/proc/{rel}`: {}", crate::error::os_msg(&e))),
        };
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(apparmor: Option<&str>, selinux: Option<&str>) -> Labels {
        Labels { apparmor: apparmor.map(Into::into), selinux: selinux.map(Into::into) }
    }

    #[test]
    fn labels_asked_for_on_a_host_without_the_module_are_errors() {
        let l = labels(Some("acme"), None);
        let e = check_with(&l, "process", || false, || false).unwrap_err().to_string();
        assert!(e.contains("process.apparmorProfile") && e.contains("acme") && e.contains("not enabled"), "{e}");
        assert!(check_with(&l, "process", || true, || false).is_ok());
        let l = labels(None, Some("system_u:system_r:container_t:s0"));
        assert!(check_with(&l, "process", || true, || false).unwrap_err().to_string().contains("selinuxLabel"));
        assert!(check_with(&l, "process", || false, || true).is_ok());
        // nothing asked, nothing checked
        assert!(check_with(&Labels::default(), "process", || panic!(), || panic!()).is_ok());
    }

    #[test]
    fn context_option() {
        assert_eq!(with_context("", "a:b:c:s0"), "context=\"a:b:c:s0\"");
        assert_eq!(with_context("mode=755", "a:b:c:s0"), "mode=755,context=\"a:b:c:s0\"");
    }
}
