//! `berth state`: the OCI state document, status derived live.

use super::Globals;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let dir = g.container(&a.id)?;
    let stored = dir.load()?;
    let st = stored.oci(dir.status(&stored));
    println!("{}", serde_json::to_string_pretty(&st).unwrap_or_default());
    Ok(())
}
