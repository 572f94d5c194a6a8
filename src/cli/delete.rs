//! `berth delete [--force] ID`: remove a stopped container (or any, with
//! --force, killing it first). Deleting an unknown id with --force is not
//! an error (engines call it to clean up after failures).

use super::Globals;
use crate::error::{Error, Result};
use crate::process::parent;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kill the container first if it is still running
    #[arg(short = 'f', long)]
    pub force: bool,
    pub id: String,
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let dir = g.container(&a.id)?;
    let stored = match dir.load() {
        Ok(s) => s,
        // A berth killed between reserving the id and writing state leaves
        // an empty directory: --force removes it.
        Err(Error::NotExist(_)) if a.force => return dir.remove(),
        Err(e) => return Err(e),
    };
    let status = dir.status(&stored);
    if !status.can_delete() && !a.force {
        return Err(Error::Status(format!(
            "cannot delete container {} that is not stopped: {}",
            a.id,
            status.as_str()
        )));
    }
    parent::destroy(&dir, &stored)
}
