//! `berth restore [flags] ID`: a new container from a checkpoint, runc
//! 1.1's flags (see `crate::criu`). With `-d` it returns once the container
//! runs; in the foreground it waits for it like `run` (signals forwarded,
//! the terminal proxied), deletes it and exits with its status.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use super::checkpoint::CriuArgs;
use super::Globals;
use crate::criu::restore::{self, Options};
use crate::error::{Context, Error, Result};
use crate::process::parent;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Unix socket that receives the pty master (process.terminal)
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Path to the CRIU image files to restore (default: ./checkpoint)
    #[arg(long = "image-path", value_name = "PATH")]
    pub image_path: Option<PathBuf>,
    /// Path for saving work files and logs (default: the image path)
    #[arg(long = "work-path", value_name = "PATH")]
    pub work_path: Option<PathBuf>,
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Path to the bundle directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Detach: return once the container runs
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// File to write the restored init's host pid to
    #[arg(long = "pid-file", value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// Accepted for runc compatibility: the restored init is berth's own
    /// child, so a foreground restore needs no subreaper
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// Accepted for runc compatibility: CRIU restores the mount namespace
    /// itself, without pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// LSM profile for the restored processes, as TYPE:NAME
    #[arg(long = "lsm-profile", value_name = "TYPE:NAME")]
    pub lsm_profile: Option<String>,
    /// LSM mount context for the restored mounts
    #[arg(long = "lsm-mount-context", value_name = "CONTEXT")]
    pub lsm_mount_context: Option<String>,
    /// The container id
    pub id: String,
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    if !nix::unistd::geteuid().is_root() || crate::rootless::in_user_namespace() {
        crate::logging::warn("restore is untested with rootless containers");
    }
    let o = Options {
        id: a.id,
        image_path: a.image_path.unwrap_or_else(super::checkpoint::default_image_path),
        work_path: a.work_path,
        pid_file: a.pid_file,
        console_socket: a.console_socket,
        rootless: g.rootless,
        lsm_profile: a.lsm_profile,
        lsm_mount_context: a.lsm_mount_context,
        common: a.criu.common()?,
    };
    let bundle = crate::spec::load::load_bundle(&a.bundle)?;
    let terminal = bundle.spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false);
    if a.detach {
        if terminal && o.console_socket.is_none() {
            return Err(Error::Usage("a detached container with a terminal needs --console-socket".into()));
        }
        restore::restore(&g.root, g.criu.as_deref(), &o, bundle, None)?;
        return Ok(());
    }
    // Foreground: with a terminal, we are our own console socket.
    let (ours, theirs) = if terminal && o.console_socket.is_none() {
        let (x, y) = UnixStream::pair().ctx(|| "create the console socket pair".to_string())?;
        (Some(x), Some(OwnedFd::from(y)))
    } else {
        (None, None)
    };
    let r = restore::restore(&g.root, g.criu.as_deref(), &o, bundle, theirs)?;
    let master = ours.as_ref().map(|s| crate::terminal::recv_fd(s.as_fd())).transpose();
    let code = master.and_then(|m| super::run::wait_foreground(r.pid, m.as_ref()));
    let stored = r.dir.load().unwrap_or(r.stored);
    let cleanup = parent::destroy(&r.dir, None, &stored);
    let code = code?;
    cleanup?;
    Err(Error::Exit(code))
}
