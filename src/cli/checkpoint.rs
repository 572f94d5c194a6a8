//! `berth checkpoint [flags] ID`: save a running (or paused) container with
//! CRIU, runc 1.1's flags (see `crate::criu`).

use std::path::PathBuf;

use super::Globals;
use crate::criu::checkpoint::{self, Options};
use crate::criu::plan::{self, Common};
use crate::error::{Error, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path for saving CRIU image files (default: ./checkpoint)
    #[arg(long = "image-path", value_name = "PATH")]
    pub image_path: Option<PathBuf>,
    /// Path for saving work files and logs (default: the image path)
    #[arg(long = "work-path", value_name = "PATH")]
    pub work_path: Option<PathBuf>,
    /// Path of previous CRIU image files, relative to the image path (pre-dump)
    #[arg(long = "parent-path", value_name = "PATH")]
    pub parent_path: Option<String>,
    /// Leave the container running after checkpointing
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    #[command(flatten)]
    pub criu: CriuArgs,
    /// CRIU writes \0 to this descriptor once lazy-pages is ready
    #[arg(long = "status-fd", value_name = "FD", default_value_t = -1, allow_negative_numbers = true)]
    pub status_fd: i32,
    /// ADDRESS:PORT of the page server
    #[arg(long = "page-server", value_name = "ADDRESS:PORT")]
    pub page_server: Option<String>,
    /// Dump the container's memory only, leave it running after this
    #[arg(long = "pre-dump")]
    pub pre_dump: bool,
    /// The container id
    pub id: String,
}

// The CRIU options `checkpoint` and `restore` share (runc's flags). Not a
// doc comment: clap would make it the `about` of the verb that flattens it
// (the verbs' flags are deferred, see `super::Command`, so it would be
// applied after theirs).
#[derive(Debug, clap::Args)]
pub struct CriuArgs {
    /// Allow open TCP connections
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// Allow external unix sockets
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// Allow shell jobs
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// Handle file locks, for safety
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// Cgroups mode: soft (default), full or strict
    #[arg(long = "manage-cgroups-mode", value_name = "MODE")]
    pub manage_cgroups_mode: Option<String>,
    /// Create a namespace, but don't restore its properties (network)
    #[arg(long = "empty-ns", value_name = "NS")]
    pub empty_ns: Vec<String>,
    /// Enable auto deduplication of memory images
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    /// Use userfaultfd to restore memory pages lazily
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
}

impl CriuArgs {
    /// The options they stand for, checked.
    pub(super) fn common(&self) -> Result<Common> {
        Ok(Common {
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            shell_job: self.shell_job,
            file_locks: self.file_locks,
            manage_cgroups_mode: self.manage_cgroups_mode.as_deref().map(plan::parse_cg_mode).transpose()?,
            empty_ns: plan::parse_empty_ns(&self.empty_ns)?,
            auto_dedup: self.auto_dedup,
            lazy_pages: self.lazy_pages,
        })
    }
}

/// `--page-server ADDRESS:PORT`.
fn parse_page_server(s: &str) -> Result<(String, i32)> {
    let bad = || Error::Usage(format!("invalid --page-server `{s}`: use ADDRESS:PORT"));
    let (addr, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if addr.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((addr.trim_start_matches('[').trim_end_matches(']').to_string(), i32::from(port)))
}

/// The image path runc uses when none is given.
pub(super) fn default_image_path() -> PathBuf {
    std::env::current_dir().unwrap_or_default().join("checkpoint")
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    if !nix::unistd::geteuid().is_root() || crate::rootless::in_user_namespace() {
        crate::logging::warn("checkpoint is untested with rootless containers");
    }
    let dir = g.container(&a.id)?;
    let o = Options {
        image_path: a.image_path.unwrap_or_else(default_image_path),
        work_path: a.work_path,
        parent_path: a.parent_path,
        leave_running: a.leave_running,
        pre_dump: a.pre_dump,
        status_fd: (a.status_fd >= 0).then_some(a.status_fd),
        page_server: a.page_server.as_deref().map(parse_page_server).transpose()?,
        common: a.criu.common()?,
    };
    if o.status_fd.is_some() && !o.common.lazy_pages {
        return Err(Error::Usage("--status-fd is only used with --lazy-pages".into()));
    }
    checkpoint::checkpoint(&dir, g.criu.as_deref(), &o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_server_addresses() {
        assert_eq!(parse_page_server("127.0.0.1:27277").unwrap(), ("127.0.0.1".into(), 27277));
        assert_eq!(parse_page_server("[::1]:1").unwrap(), ("::1".into(), 1));
        for bad in ["", "host", ":1", "h:0", "h:70000", "h:x"] {
            assert!(parse_page_server(bad).is_err(), "{bad}");
        }
    }
}
