//! `berth start`: let a created container run its program. Holds the
//! container's lock throughout, so of two concurrent starts the second
//! finds the container running and fails without touching it.

use super::Globals;
use crate::error::{Error, Result};
use crate::process::parent;
use crate::state::lock::LockMode;
use crate::state::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let dir = g.container(&a.id)?;
    let lock = dir.lock(LockMode::Exclusive)?;
    let stored = dir.load()?;
    let status = dir.status(&stored);
    if !status.can_start() {
        return Err(Error::Status(match status {
            Status::Stopped => "cannot start a container that has stopped".to_string(),
            Status::Creating => "cannot start a container that is still being created".to_string(),
            s => format!("cannot start an already {} container", s.as_str()),
        }));
    }
    let spec = dir.load_config()?;
    if spec.process().is_none() {
        return Err(Error::Status("cannot start a container without a `process` in its config".into()));
    }
    parent::start(&dir, lock, &stored, &spec)
}
