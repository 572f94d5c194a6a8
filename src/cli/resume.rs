//! `berth resume ID`: thaw a paused container.

use super::pause::load_with_cgroup;
use super::Globals;
use crate::error::{Error, Result};
use crate::state::lock::LockMode;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let _lock = g.container(&a.id)?.lock(LockMode::Exclusive)?;
    let (dir, stored, cg) = load_with_cgroup(g, &a.id)?;
    if !dir.status(&stored).can_resume() {
        return Err(Error::Status("container not paused".into()));
    }
    cg.thaw()?;
    Ok(())
}
