//! What a cgroup's limits come to before anything is written: a [`Plan`] is
//! the ordered list of control-file writes (each with what to do when the
//! kernel answers EINVAL), the warnings for fields the host ignores, and on
//! cgroup v2 the device rules for the eBPF program. `v1.rs` and `v2.rs` fill
//! it, `apply.rs` carries it out; both import it from here.

use std::path::{Path, PathBuf};

use super::devices;

/// What to do when the kernel answers a planned write with EINVAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnEinval {
    Fail,
    /// Retry once after every other write of the plan (cfs period/quota).
    RetryLast,
    /// Turn the failure into this warning (e.g. `useHierarchy: false`).
    Warn(String),
}

/// One planned write of a cgroup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub path: PathBuf,
    pub value: String,
    pub on_einval: OnEinval,
}

/// The planned effect of a `LinuxResources` on one cgroup.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    pub writes: Vec<Write>,
    pub warnings: Vec<String>,
    /// v2 only: device rules to compile into an eBPF program and attach to
    /// this directory (replacing the program attached before).
    pub bpf_devices: Option<(PathBuf, Vec<devices::Rule>)>,
    /// The caller is rootless: a device program the kernel refuses to
    /// load or attach with EPERM is left out (see [`super::Cgroup::apply`]).
    pub rootless: bool,
}

impl Plan {
    pub(crate) fn write(&mut self, dir: &Path, file: &str, value: impl ToString) {
        self.writes.push(Write { path: dir.join(file), value: value.to_string(), on_einval: OnEinval::Fail });
    }

    pub(crate) fn write_with(&mut self, dir: &Path, file: &str, value: impl ToString, on_einval: OnEinval) {
        self.writes.push(Write { path: dir.join(file), value: value.to_string(), on_einval });
    }

    pub(crate) fn warn(&mut self, msg: impl Into<String>) {
        self.warnings.push(msg.into());
    }

    /// The (file name, value) pairs, for tests.
    pub fn files(&self) -> Vec<(String, String)> {
        self.writes
            .iter()
            .map(|w| {
                let name = w.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                (name, w.value.clone())
            })
            .collect()
    }
}
