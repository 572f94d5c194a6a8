//! `checkpoint`: CRIU dumps a running (or paused) container into an image
//! directory. Afterwards the container is gone (its init was killed by
//! CRIU; berth removes its cgroups and state, running the poststop hooks, as
//! runc does) unless `--leave-running` or `--pre-dump`. A failed dump leaves
//! the container as it was (CRIU resumes its tasks) and names CRIU's log.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use oci_spec::runtime::LinuxNamespaceType;

use super::plan::{self, Common, Container, DumpFacts};
use super::proto::{Features, ReqType, Request};
use super::{swrk, Criu, Error as CriuError};
use crate::error::{Context, Error, Result};
use crate::state::store::ContainerDir;
use crate::state::{Status, Stored};

/// `checkpoint`'s command line, validated.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub image_path: PathBuf,
    pub work_path: Option<PathBuf>,
    /// Relative to the image directory (`--parent-path`).
    pub parent_path: Option<String>,
    pub leave_running: bool,
    pub pre_dump: bool,
    /// `--status-fd`: berth's descriptor that gets a `\0` once the lazy-pages
    /// page server is ready.
    pub status_fd: Option<i32>,
    pub page_server: Option<(String, i32)>,
    pub common: Common,
}

/// Checkpoint the container of `dir` with the CRIU `--criu` names.
pub fn checkpoint(dir: &ContainerDir, criu: Option<&str>, o: &Options) -> Result<()> {
    // Like every verb that changes a container's state (see `state::lock`).
    let lock = dir.lock(crate::state::lock::LockMode::Exclusive)?;
    let stored = dir.load()?;
    let status = dir.status(&stored);
    if !matches!(status, Status::Running | Status::Paused) {
        return Err(Error::Status(format!(
            "container {} cannot be checkpointed in the {} state (only running or paused ones can)",
            stored.id,
            status.as_str()
        )));
    }
    let spec = dir.load_config()?;
    let rootfs = crate::rootfs::plan::plan(&spec, &stored.bundle)?;
    let ns = crate::namespaces::plan(spec.linux().as_ref())?;
    let status_fd = o.status_fd.map(check_status_fd).transpose()?;
    let parent = o.parent_path.as_deref().map(|p| check_parent(&o.image_path, p)).transpose()?;
    let criu = &Criu::open(criu)?;

    let images = open_dir(&o.image_path, "image")?;
    let work = o.work_path.as_deref().map(|p| open_dir(p, "work")).transpose()?;
    let log = o.work_path.as_deref().unwrap_or(&o.image_path).join("dump.log");
    let container = Container { spec: &spec, rootfs: &rootfs, ns: &ns, cgroup: stored.cgroup.as_ref() };
    let facts = DumpFacts {
        pid: stored.pid,
        images_dir_fd: images.as_raw_fd(),
        work_dir_fd: work.as_ref().map(|w| w.as_raw_fd()),
        external_ns: external_namespaces(&ns)?,
        masked_files: masked_files(stored.pid, &rootfs.masked),
        parent,
        page_server: o.page_server.clone(),
    };
    let opts = plan::dump_opts(&container, &o.common, &facts, o.leave_running, o.pre_dump);
    let mut inherit = vec![images.as_fd()];
    inherit.extend(work.as_ref().map(|w| w.as_fd()));

    if o.pre_dump {
        require(criu, &opts, Features { mem_track: Some(true), ..Default::default() }, "--pre-dump")?;
    }
    if o.common.lazy_pages {
        require(criu, &opts, Features { lazy_pages: Some(true), ..Default::default() }, "--lazy-pages")?;
    }
    if !o.pre_dump {
        write_descriptors(&o.image_path, stored.pid)?;
    }
    let kind = if o.pre_dump { ReqType::PreDump } else { ReqType::Dump };
    let mut session = swrk::start(&criu.path, &inherit, log)?;
    let mut status_fd = status_fd;
    session.call(&Request::new(kind, Some(opts)), |n, _| {
        // Lazy pages: the page server waits for the restore to pull memory.
        if n.script == "status-ready" {
            if let Some(fd) = status_fd.take() {
                nix::unistd::write(&fd, &[0]).ctx(|| "write to --status-fd".to_string())?;
            }
        }
        Ok(())
    })?;
    session.finish();
    if !(o.leave_running || o.pre_dump) {
        // CRIU killed the tasks; what remains is berth's.
        return crate::process::parent::destroy(dir, Some(&lock), &reload(dir, stored));
    }
    Ok(())
}

/// The state as it is now (the container may have been changed meanwhile).
fn reload(dir: &ContainerDir, old: Stored) -> Stored {
    dir.load().unwrap_or(old)
}

/// Ask CRIU whether it has `want` (a feature check), for `flag`.
fn require(criu: &Criu, opts: &super::proto::Opts, want: Features, flag: &str) -> Result<()> {
    let mut s = swrk::start(&criu.path, &[], PathBuf::new())?;
    // CRIU older than 2.12 crashes on a feature check without options.
    let req = Request { features: Some(want), ..Request::new(ReqType::FeatureCheck, Some(opts.clone())) };
    let got = s.call(&req, |_, _| Ok(()))?.features.unwrap_or_default();
    s.finish();
    let missing = if want.mem_track == Some(true) && got.mem_track != Some(true) {
        "memory change tracking (the kernel has no soft-dirty page tracking)"
    } else if want.lazy_pages == Some(true) && got.lazy_pages != Some(true) {
        "lazy pages (userfaultfd)"
    } else {
        return Ok(());
    };
    Err(CriuError::MissingFeatures(format!("{flag} needs {missing}")).into())
}

/// Create (if needed) and open an image or work directory.
pub(super) fn open_dir(p: &Path, what: &str) -> Result<OwnedFd> {
    match fs::DirBuilder::new().recursive(true).mode(0o700).create(p) {
        Ok(()) => {}
        Err(e) => return Err(e).ctx(|| format!("create {what} directory `{}`", p.display())),
    }
    nix::fcntl::open(p, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .ctx(|| format!("open {what} directory `{}`", p.display()))
}

/// `--parent-path` is relative to the image directory and must exist there.
fn check_parent(images: &Path, parent: &str) -> Result<String> {
    if Path::new(parent).is_absolute() {
        return Err(Error::Usage(format!("--parent-path `{parent}` must be relative to the image directory")));
    }
    let real = images.join(parent);
    if !real.is_dir() {
        return Err(Error::Usage(format!("invalid --parent-path `{parent}`: `{}` is not a directory", real.display())));
    }
    Ok(parent.to_string())
}

/// A `--status-fd` must be an open, writable descriptor of berth's.
fn check_status_fd(fd: i32) -> Result<OwnedFd> {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
        .map_err(|_| Error::Usage(format!("invalid --status-fd {fd}: not an open descriptor")))?;
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| i32::from_str_radix(f.trim(), 8).ok())
        .unwrap_or(0);
    if flags & libc::O_ACCMODE == libc::O_RDONLY {
        return Err(Error::Usage(format!("invalid --status-fd {fd}: not writable")));
    }
    // berth inherited it from its caller and nothing else here owns it.
    Ok(crate::sys::process::own_fd(fd))
}

/// (type, inode) of the network and pid namespaces the container joined
/// by path: CRIU leaves them out of the image (they are not the
/// container's) and expects them back at restore.
fn external_namespaces(ns: &crate::namespaces::Plan) -> Result<Vec<(LinuxNamespaceType, u64)>> {
    let mut out = Vec::new();
    for t in [LinuxNamespaceType::Network, LinuxNamespaceType::Pid] {
        if let Some(p) = ns.joins(t) {
            let st = nix::sys::stat::stat(p).ctx(|| format!("stat namespace `{}`", p.display()))?;
            out.push((t, st.st_ino));
        }
    }
    Ok(out)
}

/// Masked paths that are files in the container (masked with a bind of
/// /dev/null); masked directories are tmpfs mounts CRIU dumps itself.
fn masked_files(pid: i32, masked: &[PathBuf]) -> Vec<PathBuf> {
    masked
        .iter()
        .filter(|p| {
            let inside = format!("/proc/{pid}/root/{}", p.to_string_lossy().trim_start_matches('/'));
            fs::symlink_metadata(inside).is_ok_and(|m| !m.is_dir() && !m.file_type().is_symlink())
        })
        .cloned()
        .collect()
}

/// Record the init's stdio (`descriptors.json`, runc's format) so that
/// restore can hand pipes to the restored init.
fn write_descriptors(images: &Path, pid: i32) -> Result<()> {
    let fds: Vec<String> = (0..3)
        .map(|i| fs::read_link(format!("/proc/{pid}/fd/{i}")).map(|t| t.to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .ctx(|| format!("read the stdio of the container init (pid {pid})"))?;
    let data = serde_json::to_vec(&fds).map_err(|e| Error::Init(format!("encode {}: {e}", plan::DESCRIPTORS)))?;
    let p = images.join(plan::DESCRIPTORS);
    crate::atomic_file::write(&p, &data, 0o600).ctx(|| format!("write `{}`", p.display()))
}
