//! `berth features`: the runtime-spec features document, built from the same
//! tables the parsers use so it cannot drift from what is implemented.

use serde_json::json;

use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn document() -> serde_json::Value {
    let hooks: Vec<&str> = crate::hooks::Stage::ALL.iter().map(|s| s.name()).collect();
    let namespaces: Vec<&str> = crate::namespaces::TABLE.iter().map(|e| e.0).collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.1",
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
            "apparmor": {"enabled": true},
            "selinux": {"enabled": true},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": true}},
        },
        "annotations": {
            "io.github.berth.version": env!("CARGO_PKG_VERSION"),
            // `checkpoint`/`restore` are built in; they need a CRIU (`--criu`
            // or PATH) new enough for the kernel, which they check when used.
            "io.github.berth.checkpoint.enabled": "true",
        },
        // It names the CRIU configuration file for checkpoint and restore.
        "potentiallyUnsafeConfigAnnotations": [crate::criu::plan::CONFIG_ANNOTATION],
    })
}

pub fn run(_: Args) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(&document()).unwrap_or_default());
    Ok(())
}
