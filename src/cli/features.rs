//! `berth features`: the runtime-spec features document, built from the same
//! tables the parsers use so it cannot drift from what is implemented: the
//! name tables of each module, and for whole features the table of config
//! fields (`spec::fields`), which says whether berth applies them.

use serde_json::json;

use crate::error::Result;
use crate::spec::fields::is_applied;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn document() -> serde_json::Value {
    let hooks: Vec<&str> = crate::hooks::Stage::ALL.iter().map(|s| s.name()).collect();
    let namespaces: Vec<&str> = crate::namespaces::TABLE.iter().map(|e| e.0).collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.3.0",
        "hooks": hooks,
        "mountOptions": crate::rootfs::options::names(),
        "linux": {
            "namespaces": namespaces,
            "capabilities": crate::capabilities::names(),
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": true, "rdma": true},
            "seccomp": {
                "enabled": true,
                "actions": crate::seccomp::ACTIONS,
                "operators": crate::seccomp::OPERATORS,
                "archs": crate::seccomp::ARCHES,
                "knownFlags": crate::seccomp::FLAGS,
                "supportedFlags": crate::seccomp::FLAGS,
            },
            "apparmor": {"enabled": is_applied("process.apparmorProfile")},
            "selinux": {"enabled": is_applied("process.selinuxLabel")},
            "intelRdt": {
                "enabled": is_applied("linux.intelRdt.closID"),
                "schemata": is_applied("linux.intelRdt.schemata"),
                "monitoring": is_applied("linux.intelRdt.enableMonitoring"),
            },
            "memoryPolicy": {
                "modes": crate::placement::MODES.iter().map(|m| m.0).collect::<Vec<_>>(),
                "flags": crate::placement::FLAGS.iter().map(|f| f.0).collect::<Vec<_>>(),
            },
            "mountExtensions": {"idmap": {"enabled": is_applied("mounts[].uidMappings")}},
            "netDevices": {"enabled": is_applied("linux.netDevices.*.name")},
        },
        "annotations": {
            "io.github.berth.version": env!("CARGO_PKG_VERSION"),
            // `checkpoint`/`restore` are built in; they need a CRIU (`--criu`
            // or PATH) new enough for the kernel, which they check when used.
            "io.github.berth.checkpoint.enabled": "true",
            // features.md: the intelRdt object is what berth supports,
            // whatever the host has; what this host has is said here.
            "io.github.berth.resctrl": resctrl_on_host(),
        },
        // It names the CRIU configuration file for checkpoint and restore.
        "potentiallyUnsafeConfigAnnotations": [crate::criu::plan::CONFIG_ANNOTATION],
    })
}

/// This host's resctrl: where it is mounted and its resources, or why
/// `linux.intelRdt` would be refused here.
fn resctrl_on_host() -> String {
    match crate::resctrl::host() {
        Some(h) => {
            let mut r = h.resources.clone();
            r.sort();
            format!("{} ({})", h.root.display(), r.join(", "))
        }
        None => "not mounted: linux.intelRdt is refused on this host".to_string(),
    }
}

pub fn run(_: Args) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(&document()).unwrap_or_default());
    Ok(())
}
