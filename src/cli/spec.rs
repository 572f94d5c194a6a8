//! `berth spec`: write runc's default config.json into a bundle.

use std::io::Write;
use std::path::PathBuf;

use crate::error::{Context, Error, Result};
use crate::spec::template;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bundle directory to write config.json into
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for a rootless container
    #[arg(long)]
    pub rootless: bool,
}

pub fn run(a: Args) -> Result<()> {
    let path = a.bundle.join("config.json");
    let text = if a.rootless { template::ROOTLESS_JSON } else { template::DEFAULT_JSON };
    let mut f = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Usage(format!("File {} exists. Remove it first", path.display())));
        }
        Err(e) => return Err(e).ctx(|| format!("create `{}`", path.display())),
    };
    f.write_all(text.as_bytes()).ctx(|| format!("write `{}`", path.display()))
}
