//! Rootless operation: berth run by an unprivileged user (with a user
//! namespace in the config), or as root inside a user namespace that does
//! not own the host (podman's rootless mode runs its runtime that way).
//!
//! What changes then: the default state root (`$XDG_RUNTIME_DIR/berth`, as
//! runc's), id maps written the unprivileged way (a single mapping of the
//! caller's own ids after `setgroups` is denied, or through the setuid
//! `newuidmap`/`newgidmap` helpers), and cgroups become best effort: a
//! container without limits simply runs in the caller's cgroup when the
//! cgroup tree is not writable, while asking for limits is an error.

use std::path::PathBuf;
use std::process::Command;

use oci_spec::runtime::LinuxIdMapping;

use crate::error::{Context, Error, Result};

/// The identity map of the initial user namespace.
fn is_identity_map(text: &str) -> bool {
    let f: Vec<&str> = text.split_whitespace().collect();
    f == ["0", "0", "4294967295"]
}

/// Whether this process runs in a user namespace other than the host's
/// (read once: the flag decision, the default root and the plan all ask).
pub fn in_user_namespace() -> bool {
    static IN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IN.get_or_init(|| std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|t| !is_identity_map(&t)))
}

/// `--rootless true|false|auto` (auto, the default: rootless when not root
/// or inside a user namespace).
pub fn decide(flag: Option<&str>) -> Result<bool> {
    match flag.unwrap_or("auto") {
        "true" => Ok(true),
        "false" => Ok(false),
        "auto" => Ok(!nix::unistd::geteuid().is_root() || in_user_namespace()),
        other => Err(Error::Usage(format!("invalid value `{other}` for --rootless: use true, false or auto"))),
    }
}

/// runc's rule for honouring `$XDG_RUNTIME_DIR`: never when it is empty or
/// for real root (podman passes it empty to root); always for other users;
/// for root inside a user namespace unless `$USER` is `root`.
fn honour_xdg(euid_root: bool, in_userns: bool, xdg: Option<&str>, user: Option<&str>) -> bool {
    if xdg.is_none_or(str::is_empty) {
        return false;
    }
    if !euid_root {
        return true;
    }
    in_userns && user != Some("root")
}

/// The state root used without `--root`.
pub fn default_root() -> PathBuf {
    let xdg = std::env::var("XDG_RUNTIME_DIR").ok();
    let user = std::env::var("USER").ok();
    let root = nix::unistd::geteuid().is_root();
    let in_userns = root && in_user_namespace();
    match xdg {
        Some(dir) if honour_xdg(root, in_userns, Some(&dir), user.as_deref()) => PathBuf::from(dir).join("berth"),
        _ => PathBuf::from(crate::state::store::DEFAULT_ROOT),
    }
}

/// The single mapping an unprivileged process may write itself: container
/// id range of size 1 onto its own id.
fn is_own_single(maps: &[LinuxIdMapping], own: u32) -> bool {
    matches!(maps, [m] if m.host_id() == own && m.size() == 1)
}

/// Write the id maps of process `pid` without privileges over the host.
pub fn write_id_maps(pid: i32, uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<()> {
    let (euid, egid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    if is_own_single(uid, euid) && is_own_single(gid, egid) {
        // An unprivileged writer of gid_map must deny setgroups first.
        std::fs::write(format!("/proc/{pid}/setgroups"), "deny")
            .ctx(|| "deny setgroups in the user namespace".to_string())?;
        return crate::namespaces::write_id_maps(pid, Some(&uid.to_vec()), Some(&gid.to_vec()));
    }
    helper("newuidmap", pid, uid)?;
    helper("newgidmap", pid, gid)
}

/// `newuidmap PID ID HOSTID SIZE...` (shadow's setuid helpers, package
/// `uidmap`), which check the ranges against /etc/subuid and /etc/subgid.
fn helper(name: &str, pid: i32, maps: &[LinuxIdMapping]) -> Result<()> {
    let mut args = vec![pid.to_string()];
    for m in maps {
        args.extend([m.container_id().to_string(), m.host_id().to_string(), m.size().to_string()]);
    }
    let out = Command::new(name).args(&args).output().map_err(|e| {
        Error::Unsupported(format!(
            "rootless: these id mappings need `{name}` (package uidmap), which could not be run: {}",
            crate::error::os_msg(&e)
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Unsupported(format!(
            "rootless: `{name} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_map() {
        assert!(is_identity_map("         0          0 4294967295\n"));
        assert!(!is_identity_map("         0       1000          1\n"));
    }

    #[test]
    fn xdg_rule_is_runcs() {
        assert!(!honour_xdg(true, false, Some("/run/user/0"), Some("root")), "real root never");
        assert!(!honour_xdg(true, false, Some(""), None));
        assert!(!honour_xdg(false, false, Some(""), None), "empty never");
        assert!(!honour_xdg(false, false, None, None));
        assert!(honour_xdg(false, false, Some("/run/user/1000"), Some("alice")));
        assert!(honour_xdg(true, true, Some("/run/user/1000"), Some("alice")), "podman rootless: root in a userns");
        assert!(!honour_xdg(true, true, Some("/run/user/1000"), Some("root")));
    }

    #[test]
    fn own_single_mapping() {
        let m = |c: u32, h: u32, s: u32| {
            oci_spec::runtime::LinuxIdMappingBuilder::default().container_id(c).host_id(h).size(s).build().unwrap()
        };
        assert!(is_own_single(&[m(0, 1000, 1)], 1000));
        assert!(!is_own_single(&[m(0, 1000, 2)], 1000));
        assert!(!is_own_single(&[m(0, 1000, 1), m(1, 100000, 65536)], 1000));
        assert!(!is_own_single(&[m(0, 0, 1)], 1000));
    }

    #[test]
    fn flag_values() {
        assert!(decide(Some("true")).unwrap());
        assert!(!decide(Some("false")).unwrap());
        assert!(decide(Some("maybe")).is_err());
    }
}
