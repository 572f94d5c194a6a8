//! `berth start`: let a created container run its program.

use super::Globals;
use crate::error::{Error, Result};
use crate::process::parent;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let dir = g.container(&a.id)?;
    let stored = dir.load()?;
    let status = dir.status(&stored);
    if !status.can_start() {
        return Err(Error::Status(match status {
            crate::state::Status::Stopped => "cannot start a container that has stopped".to_string(),
            s => format!("cannot start an already {} container", s.as_str()),
        }));
    }
    let spec = dir.load_config()?;
    if spec.process().is_none() {
        return Err(Error::Status("cannot start a container without a `process` in its config".into()));
    }
    parent::start(&dir, &stored, &spec)
}
