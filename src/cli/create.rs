//! `berth create`: set up a container and leave its init waiting for start.

use std::path::PathBuf;

use super::Globals;
use crate::error::Result;
use crate::process::{parent, Options};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path to the bundle directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master (process.terminal)
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// File to write the init's host pid to
    #[arg(long = "pid-file", value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// Use move-mount + chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Don't create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra descriptors (from 3) to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container id
    pub id: String,
}

impl Args {
    pub fn options(&self, g: &Globals) -> Options {
        Options {
            rootless: g.rootless,
            systemd_cgroup: g.systemd_cgroup,
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
        }
    }
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    crate::signals::block_stop()?;
    let c = parent::create(&g.root, &a.options(g), None)?;
    undo_if_stopped(&c)
}

/// A HUP, INT, QUIT or TERM came while the container was being made
/// (`crate::signals`): remove it and exit as that signal asked.
pub(super) fn undo_if_stopped(c: &parent::Created) -> Result<()> {
    let Some(sig) = crate::signals::pending_stop() else { return Ok(()) };
    parent::destroy(&c.dir, Some(&c.lock), &c.stored)?;
    crate::logging::warn(&format!("interrupted by {sig}: container {} removed", c.dir.id));
    Err(crate::error::Error::Exit(128 + sig as i32))
}
