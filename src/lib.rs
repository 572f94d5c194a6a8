//! berth: an OCI runtime-spec container runtime with runc's command line, and
//! `imgtool`, which turns OCI images into runtime bundles.
//!
//! Architecture map (module -> what it owns):
//! - `cli`          the runc-compatible command line, one file per verb
//! - `logging`      `--log`/`--log-format`/`--debug`, runc-format JSON lines
//! - `spec`         loading and validating `config.json`, the `spec` template
//! - `state`        the per-container state directory, status, exec fifo
//! - `process`      the create/run process model: parent side, container init, sync protocol
//! - `namespaces`   the namespace table (config type <-> clone flag)
//! - `rootfs`       mount planning (pure) and applying, /dev, pivot_root, masked/readonly paths
//! - `capabilities` the capability name table and applying the five sets
//! - `seccomp`      `linux.seccomp` -> BPF program, installed with seccomp(2)
//! - `cgroups`      cgroup v1/v2 detection, creation, resources, freeze, stats
//! - `hooks`        the six OCI hook stages
//! - `terminal`     pty and `--console-socket`
//! - `image`        OCI image layouts/archives, the layer store, bundles (imgtool)
//! - `sys`          every `unsafe` syscall wrapper, nothing else
#![deny(unsafe_code)]

pub mod cgroups;
pub mod image;
pub mod seccomp;
pub mod spec;
#[allow(unsafe_code)]
pub mod sys;
