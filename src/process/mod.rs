//! The process model. `parent` is berth's side of create (clone, id maps,
//! cgroup, hooks, state), `init` is the container side (the setup script),
//! `join` is `exec` (both sides), `sync` the channel between berth and the
//! container process. `plan` translates one OCI `process` object, and
//! `finish` is the one tail both `init` and `join` end in; `launch` the
//! steps berth takes around starting either (exec guard, seccomp listener,
//! pid file); `netns` the new network namespace made while berth prepares
//! the clone. `Plan` is
//! everything create needs, computed and validated before any side effect.

pub mod attrs;
pub mod exec;
pub mod finish;
pub mod init;
pub mod join;
pub mod launch;
pub mod netns;
pub mod parent;
pub mod plan;
pub mod sync;

#[cfg(test)]
mod protocol_tests;

use std::path::PathBuf;

use oci_spec::runtime::Spec;

use crate::error::Result;
use crate::namespaces;
use crate::rootfs::plan::{self as rootfs_plan, RootfsPlan};

/// Options from the command line of `create` and `run`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// No privileges over the host (`crate::rootless`).
    pub rootless: bool,
    /// The cgroup is a systemd unit's (`--systemd-cgroup`).
    pub systemd_cgroup: bool,
}

/// Everything the container needs, planned and validated up front.
pub struct Plan {
    pub spec: Spec,
    pub bundle: PathBuf,
    pub ns: namespaces::Plan,
    pub rootfs: RootfsPlan,
    /// The program `start` runs (absent: the container only holds its
    /// namespaces, and `start` refuses it).
    pub process: Option<plan::ProcessPlan>,
    pub terminal: bool,
    pub no_pivot: bool,
    /// The container's cgroup, resolved by the parent before the clone.
    pub cgroup: Option<crate::cgroups::Cgroup>,
    /// berth itself runs in a user namespace that is not the host's
    /// (rootless podman): the container is in one even without its own.
    pub outer_userns: bool,
    /// Detached idmapped mounts made by the parent before the clone, one
    /// slot per entry of `rootfs.mounts` (empty when there are none).
    pub idmapped: Vec<Option<std::os::fd::OwnedFd>>,
    /// `linux.netDevices`: host devices the parent moves into the
    /// container's network namespace.
    pub net_devices: Vec<crate::netdev::Move>,
    /// `linux.intelRdt`: the resctrl group the parent puts the init in.
    pub intel_rdt: Option<crate::resctrl::Plan>,
}

/// berth's caller's RLIMIT_NOFILE, before [`raise_own_nofile`].
static CALLER_NOFILE: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();

/// Raise berth's own soft RLIMIT_NOFILE to its hard limit (runc does the
/// same), so that a caller with few descriptors left does not make create
/// or exec fail halfway. The caller's limits are remembered: a container
/// process whose config sets no RLIMIT_NOFILE gets them back, not berth's.
pub fn raise_own_nofile() {
    if let Ok((soft, hard)) = crate::sys::process::get_rlimit(libc::RLIMIT_NOFILE) {
        let _ = CALLER_NOFILE.set((soft, hard));
        if soft < hard {
            let _ = crate::sys::process::set_rlimit(libc::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// The caller's RLIMIT_NOFILE, if berth raised its own.
pub fn caller_nofile() -> Option<(u64, u64)> {
    CALLER_NOFILE.get().copied()
}

/// Socket activation fds the runtime itself received (LISTEN_FDS, valid
/// only when LISTEN_PID names this process, as sd_listen_fds(3) says).
fn listen_fds() -> u32 {
    let for_us = std::env::var("LISTEN_PID").ok().and_then(|v| v.parse::<u32>().ok()) == Some(std::process::id());
    if !for_us {
        return 0;
    }
    std::env::var("LISTEN_FDS").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Plan a container. `listen` is the number of socket-activation
/// descriptors berth itself received (see [`listen_fds`]).
pub fn plan(spec: Spec, bundle: PathBuf, opts: &Options) -> Result<Plan> {
    plan_with(spec, bundle, opts, listen_fds())
}

fn plan_with(spec: Spec, bundle: PathBuf, opts: &Options, listen: u32) -> Result<Plan> {
    let ns = namespaces::plan(spec.linux().as_ref())?;
    crate::spec::validate::validate(&spec, &ns)?;
    let rootfs = rootfs_plan::plan(&spec, &bundle)?;
    // Named here, before anything is created: otherwise the first sign of a
    // missing rootfs is a failed mount deep in the init.
    match std::fs::metadata(&rootfs.rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(crate::error::Error::config(
                "root.path",
                format!("`{}` is not a directory", rootfs.rootfs.display()),
            ))
        }
        Err(e) => {
            return Err(crate::error::Error::Io { what: format!("root.path `{}`", rootfs.rootfs.display()), source: e })
        }
    }
    let net_devices = crate::netdev::plan(spec.linux().as_ref(), &ns)?;
    let intel_rdt = match spec.linux().as_ref().and_then(|l| l.intel_rdt().as_ref()) {
        Some(r) => Some(crate::resctrl::plan(r)?),
        None => None,
    };
    // `process` may be absent at create (runtime-spec config.md: it is
    // required only by start).
    let process = match spec.process() {
        Some(p) => {
            let mut extra_env = Vec::new();
            if listen > 0 {
                extra_env.push(format!("LISTEN_FDS={listen}"));
                extra_env.push("LISTEN_PID=1".to_string());
            }
            let inputs = plan::Inputs {
                field: "process",
                extra_fds: listen + opts.preserve_fds,
                extra_env,
                oom_score_adj: None,
                new_keyring: !opts.no_new_keyring,
                caller_nofile: caller_nofile(),
                exec_cpu_affinity: false,
            };
            let pp = plan::plan_process(p, spec.linux().as_ref(), &inputs)?;
            crate::lsm::check(&pp.labels, "process")?;
            if let Some(mp) = &pp.memory_policy {
                crate::placement::check_host_nodes(mp)?;
            }
            Some(pp)
        }
        None => None,
    };
    let label = spec.linux().as_ref().and_then(|l| l.mount_label().as_ref()).filter(|l| !l.is_empty());
    if label.is_some() && crate::lsm::mount_label(label).is_none() {
        crate::logging::warn_user(
            "config.json: `linux.mountLabel` is not applied: SELinux is not enabled on this host",
        );
    }
    let terminal = process.as_ref().is_some_and(|p| p.terminal);
    if !ns.has_mountns()
        && (!rootfs.mounts.is_empty()
            || !rootfs.masked.is_empty()
            || !rootfs.readonly_paths.is_empty()
            || rootfs.readonly)
    {
        crate::logging::warn(
            "no mount namespace: the container shares the host's mounts, so `mounts`, masked and read-only paths and root.readonly are not applied",
        );
    }
    Ok(Plan {
        spec,
        bundle,
        ns,
        rootfs,
        process,
        terminal,
        no_pivot: opts.no_pivot,
        cgroup: None,
        outer_userns: crate::rootless::in_user_namespace(),
        idmapped: Vec::new(),
        net_devices,
        intel_rdt,
    })
}
