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
    // runc's `spec` gives a container on a pure cgroup v2 host a cgroup
    // namespace of its own; bundles made by one runtime's `spec` run the
    // same on the other
    let text = template::spec_text(a.rootless, crate::cgroups::host_is_unified());
    let text = if a.rootless {
        rootless_text(&text, nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())
    } else {
        text
    };
    let mut f = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Usage(format!("File {} exists. Remove it first", path.display())));
        }
        Err(e) => return Err(e).ctx(|| format!("create `{}`", path.display())),
    };
    f.write_all(text.as_bytes()).ctx(|| format!("write `{}`", path.display()))
}

/// runc's `spec --rootless`: container root maps to the caller's own uid
/// and gid (the first `hostID` is the uid mapping's, the second the gid's).
fn rootless_text(t: &str, uid: u32, gid: u32) -> String {
    let (uids, gids) = t.split_at(t.find("\"gidMappings\"").unwrap_or(t.len()));
    let host = |part: &str, id: u32| part.replacen("\"hostID\": 0,", &format!("\"hostID\": {id},"), 1);
    host(uids, uid) + &host(gids, gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootless_maps_root_to_the_caller() {
        let v: serde_json::Value = serde_json::from_str(&rootless_text(template::ROOTLESS_JSON, 1000, 1001)).unwrap();
        assert_eq!(v["linux"]["uidMappings"][0]["hostID"], 1000);
        assert_eq!(v["linux"]["gidMappings"][0]["hostID"], 1001);
        assert_eq!(v["linux"]["uidMappings"][0]["containerID"], 0);
        let v: serde_json::Value = serde_json::from_str(&rootless_text(template::ROOTLESS_JSON, 0, 5)).unwrap();
        assert_eq!(
            (v["linux"]["uidMappings"][0]["hostID"].as_u64(), v["linux"]["gidMappings"][0]["hostID"].as_u64()),
            (Some(0), Some(5))
        );
    }
}
