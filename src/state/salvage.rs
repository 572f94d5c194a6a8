//! What can still be learnt about a container whose `state.json` is
//! missing or unreadable, so that `delete --force` can kill its processes
//! and remove its cgroup anyway, and say what it could not do.
//!
//! Sources, best first: the fields of `state.json` that still parse (valid
//! JSON of another shape), then the config saved at create time (its
//! `linux.cgroupsPath`, resolved as create resolved it). Nothing is
//! guessed beyond that: a cgroup path made up from the id alone could name
//! a cgroup that holds other processes.

use serde_json::Value;

use super::store::ContainerDir;
use crate::cgroups::Cgroup;

/// The container as far as it could be recovered.
#[derive(Debug, Default)]
pub struct Salvaged {
    /// The init's pid and start time.
    pub init: Option<(i32, u64)>,
    pub cgroup: Option<Cgroup>,
    /// Where the cgroup came from, for the report.
    pub cgroup_source: &'static str,
    /// The directory holds nothing but what a create writes before its
    /// first state (a create killed right after reserving the id).
    pub only_reserved: bool,
}

/// Recover what `dir` still tells about its container.
pub fn salvage(dir: &ContainerDir) -> Salvaged {
    let mut out = Salvaged::default();
    let state = std::fs::read(dir.path.join(super::store::STATE_FILE)).ok();
    if let Some(v) = state.as_deref().and_then(|d| serde_json::from_slice::<Value>(d).ok()) {
        out.init = init_of(&v);
        if let Some(cg) = v.get("cgroup").and_then(|c| serde_json::from_value::<Cgroup>(c.clone()).ok()) {
            out.cgroup = Some(cg);
            out.cgroup_source = "state.json";
        }
    }
    if out.cgroup.is_none() {
        if let Ok(spec) = dir.load_config() {
            let path = spec.linux().as_ref().and_then(|l| l.cgroups_path().as_ref()).map(|p| p.to_string_lossy());
            if let Ok(cg) = Cgroup::resolve(path.as_deref(), &dir.id) {
                out.cgroup = Some(cg);
                out.cgroup_source = "config.json";
            }
        }
    }
    out.only_reserved = state.is_none()
        && std::fs::read_dir(&dir.path).map(|rd| rd.flatten().all(|e| e.file_name() == "config.json")).unwrap_or(true);
    out
}

fn init_of(v: &Value) -> Option<(i32, u64)> {
    let pid = v.get("pid")?.as_i64()?;
    let start = v.get("start_time")?.as_u64()?;
    (pid > 0).then_some((i32::try_from(pid).ok()?, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_from_partial_state() {
        let v: Value = serde_json::from_str(r#"{"pid": 42, "start_time": 7, "other": 1}"#).unwrap();
        assert_eq!(init_of(&v), Some((42, 7)));
        let v: Value = serde_json::from_str(r#"{"pid": 0, "start_time": 7}"#).unwrap();
        assert_eq!(init_of(&v), None);
        let v: Value = serde_json::from_str(r#"{"pid": "x"}"#).unwrap();
        assert_eq!(init_of(&v), None);
    }

    #[test]
    fn garbage_state_and_no_config_recover_nothing() {
        let t = tempfile::tempdir().unwrap();
        let d = ContainerDir::new(t.path(), "c").unwrap();
        std::fs::create_dir(&d.path).unwrap();
        assert!(salvage(&d).only_reserved);
        std::fs::write(d.path.join("state.json"), "{garbage").unwrap();
        let s = salvage(&d);
        assert!(s.init.is_none() && s.cgroup.is_none() && !s.only_reserved);
    }
}
