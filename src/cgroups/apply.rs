//! Carrying out a [`Plan`]: the control-file writes in order (EINVAL
//! handled as each write asks), then on cgroup v2 the device eBPF program
//! compiled from the plan's rules and attached in place of the old one.

use std::os::fd::AsFd;
use std::path::Path;

use super::fsops::{open_path, write};
use super::plan::{OnEinval, Plan};
use super::{devices, Error, Result};
use crate::sys::bpf;

/// Perform the planned writes in order; returns the plan's warnings plus
/// those produced by `OnEinval::Warn` writes.
pub(crate) fn execute(plan: Plan) -> Result<Vec<String>> {
    let mut warnings = plan.warnings;
    let mut retry = Vec::new();
    // Writes in a row to one file (a device list: `devices.allow` once per
    // rule) share one open: each write(2) is a command of its own.
    let mut open: Option<(std::path::PathBuf, std::fs::File)> = None;
    for w in plan.writes {
        let file = match open.take() {
            Some((path, f)) if path == w.path => Ok(f),
            _ => std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&w.path),
        };
        let written = file.and_then(|mut f| {
            let r = std::io::Write::write_all(&mut f, w.value.as_bytes());
            open = Some((w.path.clone(), f));
            r
        });
        match written {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && w.on_einval != OnEinval::Fail => match w.on_einval {
                OnEinval::Warn(msg) => warnings.push(msg),
                _ => retry.push(w),
            },
            Err(source) => return Err(Error::Write { path: w.path, value: w.value, source }),
        }
    }
    for w in retry {
        write(&w.path, &w.value)?;
    }
    if let Some((dir, rules)) = plan.bpf_devices {
        match attach_devices(&dir, &rules) {
            Err(e) if plan.rootless && e.is_bpf_eperm() => {
                crate::logging::debug(&format!("rootless: no device program on `{}`: {e}", dir.display()))
            }
            r => r?,
        }
    }
    Ok(warnings)
}

/// Compile `rules`, attach the program to `dir` with BPF_F_ALLOW_MULTI, then
/// detach the programs that were attached before (an `update`), so there is
/// never a moment without a device filter.
pub(crate) fn attach_devices(dir: &Path, rules: &[devices::Rule]) -> Result<()> {
    let insns = devices::bpf_program(rules);
    let prog =
        bpf::prog_load_cgroup_device(&insns, c"Apache").map_err(|(source, log)| Error::BpfLoad { log, source })?;
    let cg = open_path(dir)?;
    let err = |op| move |source| Error::Bpf { op, path: dir.to_owned(), source };
    let old = bpf::prog_query(cg.as_fd(), bpf::ATTACH_CGROUP_DEVICE).map_err(err("query"))?;
    bpf::prog_attach(cg.as_fd(), prog.as_fd(), bpf::ATTACH_CGROUP_DEVICE, bpf::F_ALLOW_MULTI).map_err(err("attach"))?;
    for id in old {
        let fd = bpf::prog_get_fd_by_id(id).map_err(err("open old"))?;
        bpf::prog_detach(cg.as_fd(), fd.as_fd(), bpf::ATTACH_CGROUP_DEVICE).map_err(err("detach old"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::fsops::read;

    #[test]
    fn execute_retries_and_warns() {
        let tmp = tempfile::tempdir().unwrap();
        let mut plan = Plan::default();
        plan.write(tmp.path(), "a", 1);
        plan.write_with(tmp.path(), "b", "x", OnEinval::Warn("w".into()));
        plan.write(tmp.path(), "c", 1);
        plan.write(tmp.path(), "c", 2);
        plan.warn("first");
        assert_eq!(execute(plan).unwrap(), vec!["first".to_owned()]);
        assert_eq!(read(tmp.path().join("a")).unwrap(), "1");
        // Two writes in a row through one open: both land, in order.
        assert_eq!(read(tmp.path().join("c")).unwrap(), "12");
        let mut plan = Plan::default();
        plan.write(&tmp.path().join("missing"), "a", 1);
        assert!(matches!(execute(plan), Err(Error::Write { .. })));
    }
}
