//! berth: an OCI runtime-spec container runtime with runc's command line, and
//! `imgtool`, which turns OCI images into runtime bundles.
//!
//! Architecture map (module -> what it owns):
//! - `cli`          the runc-compatible command line, one file per verb
//! - `logging`      `--log`/`--log-format`/`--debug`, runc-format log lines
//! - `atomic_file`  temp-file-and-rename writes
//! - `fdpass`       descriptors over unix sockets (SCM_RIGHTS)
//! - `error`        the crate error type, reported once by `main`; `error::os`
//!   words OS errors as runc does
//! - `spec`         loading and validating `config.json` (every field in one
//!   table, `spec::fields`), the `spec` template
//! - `state`        the per-container state directory, derived status
//! - `process`      the container processes: create's parent side and init,
//!   exec, the tail both end in, the sync protocol between berth and them
//! - `mountinfo`    parsing /proc/self/mountinfo (shared by rootfs, cgroups, image)
//! - `procfs`       a verified procfs handle for the writes under /proc that matter
//! - `notify`       NOTIFY_SOCKET: sd_notify readiness from the container to the caller
//! - `namespaces`   the namespace table (config type <-> clone flag) and plan
//! - `rootfs`       mount planning (pure) and applying, /dev, pivot_root, masked/readonly paths
//! - `rootless`     unprivileged operation: state root, id maps, best-effort cgroups
//! - `capabilities` the capability name table and applying the five sets
//! - `placement`    NUMA memory policy and CPU affinity of container processes
//! - `netdev`       `linux.netDevices`: host devices moved in (rtnetlink)
//! - `resctrl`      `linux.intelRdt`: resctrl groups, schemata, monitoring
//! - `lsm`          AppArmor profile, SELinux process and mount labels
//! - `seccomp`      `linux.seccomp` -> BPF program, installed with seccomp(2)
//! - `exec_guard`   the final exec through a sealed memfd trampoline (CVE-2019-5736)
//! - `cgroups`      cgroup v1/v2 detection, creation, resources, freeze,
//!   stats; the systemd driver (transient units over D-Bus)
//! - `hooks`        the six OCI hook stages
//! - `criu`         checkpoint and restore through CRIU's RPC (`criu swrk`)
//! - `signals`      signals blocked and forwarded by a foreground run/exec
//! - `terminal`     `process.terminal`: the pty and `--console-socket`
//! - `image`        OCI image layouts/archives, the layer store, bundles (imgtool)
//! - `sys`          every `unsafe` syscall wrapper, nothing else
//!
//! Imports between modules only go down: no module imports one that
//! imports it back, directly or through others (a module's own `mod.rs`
//! types and errors aside). Shared pieces get a home of their own below
//! both users (`cgroups::plan`, `image::model`, `process::launch`).
#![deny(unsafe_code)]

pub mod atomic_file;
pub mod capabilities;
pub mod cgroups;
pub mod cli;
pub mod criu;
pub mod error;
pub mod exec_guard;
pub mod fdpass;
pub mod hooks;
pub mod image;
pub mod logging;
pub mod lsm;
pub mod mountinfo;
pub mod namespaces;
pub mod netdev;
pub mod notify;
pub mod placement;
pub mod process;
pub mod procfs;
pub mod resctrl;
pub mod rootfs;
pub mod rootless;
pub mod seccomp;
pub mod signals;
pub mod spec;
pub mod state;
#[allow(unsafe_code)]
pub mod sys;
pub mod terminal;

#[cfg(test)]
mod structure_tests;

pub use error::{Error, Result};
