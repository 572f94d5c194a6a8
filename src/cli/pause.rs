//! `berth pause ID`: freeze every process of the container (v1 freezer,
//! v2 `cgroup.freeze`) and return once the kernel reports it frozen.

use super::Globals;
use crate::cgroups::Cgroup;
use crate::error::{Error, Result};
use crate::state::lock::LockMode;
use crate::state::store::ContainerDir;
use crate::state::Stored;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

/// Load a container and its cgroup (pause, resume, update, events).
pub(super) fn load_with_cgroup(g: &Globals, id: &str) -> Result<(ContainerDir, Stored, Cgroup)> {
    let dir = g.container(id)?;
    let stored = dir.load()?;
    let cg = stored
        .cgroup
        .clone()
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "container {id} has no cgroup of its own (rootless, and the host delegated no writable cgroup): this needs one"
            ))
        })?;
    Ok((dir, stored, cg))
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let _lock = g.container(&a.id)?.lock(LockMode::Exclusive)?;
    let (dir, stored, cg) = load_with_cgroup(g, &a.id)?;
    // runc pauses created containers too (their init waits in the cgroup).
    if !dir.status(&stored).can_pause() {
        return Err(Error::Status("container not running".into()));
    }
    cg.freeze()?;
    Ok(())
}
