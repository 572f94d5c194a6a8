//! The create/run process model. `parent` is berth's side (clone, id maps,
//! cgroup, hooks, state), `init` is the container side (the setup script
//! ending in execve), `sync` the channel between them. `Plan` is everything
//! both sides need, computed and validated before any side effect.

pub mod attrs;
pub mod exec;
pub mod init;
pub mod join;
pub mod parent;
pub mod sync;

use std::path::PathBuf;

use oci_spec::runtime::Spec;

use crate::capabilities::{self, CapPlan};
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
    pub caps: CapPlan,
    pub seccomp: Option<crate::seccomp::Program>,
    pub terminal: bool,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// Descriptors from 3 up to (not including) this number reach the
    /// container: LISTEN_FDS first, then `--preserve-fds`.
    pub keep_fds_below: u32,
    /// The container's environment (with LISTEN_FDS/LISTEN_PID when passed).
    pub env: Vec<String>,
    /// The container's cgroup, resolved by the parent before the clone.
    pub cgroup: Option<crate::cgroups::Cgroup>,
    /// AppArmor profile and SELinux label for the container process.
    pub labels: crate::lsm::Labels,
    /// berth itself runs in a user namespace that is not the host's
    /// (rootless podman): the container is in one even without its own.
    pub outer_userns: bool,
    /// Detached idmapped mounts made by the parent before the clone, one
    /// slot per entry of `rootfs.mounts` (empty when there are none).
    pub idmapped: Vec<Option<std::os::fd::OwnedFd>>,
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

pub fn plan(spec: Spec, bundle: PathBuf, opts: &Options) -> Result<Plan> {
    let ns = namespaces::plan(spec.linux().as_ref())?;
    crate::spec::validate::validate(&spec, &ns)?;
    let rootfs = rootfs_plan::plan(&spec, &bundle)?;
    // `process` may be absent at create (runtime-spec config.md: it is
    // required only by start).
    let process = spec.process().clone().unwrap_or_default();
    let caps = capabilities::plan(process.capabilities().as_ref())?;
    let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) => Some(crate::seccomp::compile(s)?),
        None => None,
    };
    let labels = crate::lsm::plan(spec.process().as_ref(), "process")?;
    let terminal = process.terminal().unwrap_or(false);
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
    let listen = listen_fds();
    let mut env = process.env().clone().unwrap_or_default();
    if listen > 0 {
        env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_FDS={listen}"));
        env.push("LISTEN_PID=1".to_string());
    }
    Ok(Plan {
        spec,
        bundle,
        ns,
        rootfs,
        caps,
        seccomp,
        terminal,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        keep_fds_below: 3 + listen + opts.preserve_fds,
        env,
        cgroup: None,
        outer_userns: crate::rootless::in_user_namespace(),
        labels,
        idmapped: Vec::new(),
    })
}
