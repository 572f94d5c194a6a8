//! `restore`: a new container whose init CRIU brings back from an image
//! directory, made the way `create` makes one (`process::parent`): the id
//! reserved, the config saved, the cgroup created with the config's limits,
//! state written, the prestart and createRuntime hooks run (when CRIU has
//! set up the namespaces), the pty master sent to `--console-socket`, the
//! pid file written; any failure undoes all of it. The restored init is
//! running at the end (there is no `start`), with the pid it had inside the
//! container; on the host it is berth's child.
//!
//! CRIU needs the rootfs at a mount point of its own whose parent is not
//! overmounted: it is bound onto `<state dir>/criu-root` for the restore.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::LinuxNamespaceType;

use super::plan::{self, Common, Container, RestoreFacts};
use super::proto::{ReqType, Request};
use super::{swrk, Criu};
use crate::cgroups::Cgroup;
use crate::error::{Context, Error, Result};
use crate::hooks::{self, Stage};
use crate::process::launch;
use crate::process::parent::{self, Cleanup};
use crate::rootfs::plan::{Kind, RootfsPlan};
use crate::spec::load::Bundle;
use crate::state::store::ContainerDir;
use crate::state::{self, Status, Stored};

/// `restore`'s command line, validated.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub id: String,
    pub image_path: PathBuf,
    pub work_path: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub rootless: bool,
    /// `--lsm-profile TYPE:NAME` and `--lsm-mount-context`, passed to CRIU.
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
    pub common: Common,
}

/// A restored container.
pub struct Restored {
    pub pid: i32,
    pub dir: ContainerDir,
    pub stored: Stored,
}

/// The rootfs bound onto `<state dir>/criu-root`; unbound (and the mount
/// point removed) when dropped.
struct CriuRoot(PathBuf);

impl CriuRoot {
    fn bind(dir: &ContainerDir, rootfs: &Path) -> Result<CriuRoot> {
        let p = dir.path.join("criu-root");
        fs::create_dir(&p).ctx(|| format!("create `{}`", p.display()))?;
        let root = CriuRoot(p);
        mount(Some(rootfs), &root.0, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
            .ctx(|| format!("bind rootfs `{}` onto `{}`", rootfs.display(), root.0.display()))?;
        Ok(root)
    }
}

impl Drop for CriuRoot {
    fn drop(&mut self) {
        let _ = umount2(&self.0, MntFlags::MNT_DETACH);
        let _ = fs::remove_dir(&self.0);
    }
}

/// Restore container `o.id` from `o.image_path`. `console` overrides
/// `--console-socket` with a connected socket (a foreground restore with
/// a terminal).
pub fn restore(
    root: &Path,
    criu: Option<&str>,
    o: &Options,
    bundle: Bundle,
    console: Option<OwnedFd>,
) -> Result<Restored> {
    let dir = ContainerDir::new(root, &o.id)?;
    // `reserve` below is what settles a race; this is for a clear error
    // before the checkpoint is looked at.
    if dir.exists() {
        return Err(Error::Exists(o.id.clone()));
    }
    let spec = &bundle.spec;
    let ns = crate::namespaces::plan(spec.linux().as_ref())?;
    crate::spec::validate::validate(spec, &ns)?;
    let rootfs = crate::rootfs::plan::plan(spec, &bundle.dir)?;
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false);
    if terminal && console.is_none() && o.console_socket.is_none() {
        return Err(Error::Usage("process.terminal is true: --console-socket is required".into()));
    }
    // What create does for these, restore cannot yet: refuse rather than
    // bring a container back without them.
    let linux = spec.linux().as_ref();
    if linux.and_then(|l| l.net_devices().as_ref()).is_some_and(|d| !d.is_empty()) {
        return Err(Error::Unsupported("restore: `linux.netDevices` is not supported by restore".into()));
    }
    if linux.and_then(|l| l.intel_rdt().as_ref()).is_some() {
        return Err(Error::Unsupported("restore: `linux.intelRdt` is not supported by restore".into()));
    }
    // Check the checkpoint before anything is created.
    let images = open_images(&o.image_path)?;
    let descriptors = read_descriptors(&o.image_path)?;
    let work = o.work_path.as_deref().map(|p| super::checkpoint::open_dir(p, "work")).transpose()?;
    let log = o.work_path.as_deref().unwrap_or(&o.image_path).join("restore.log");
    let ext_ns = open_external_namespaces(&ns)?;
    let criu = Criu::open(criu)?;
    let cgroups_path =
        spec.linux().as_ref().and_then(|l| l.cgroups_path().as_ref()).map(|p| p.to_string_lossy().into_owned());
    let cgroup = Cgroup::resolve(cgroups_path.as_deref(), &o.id)?;

    // From here on, everything is undone on failure (in reverse order:
    // CRIU stopped, the rootfs unbound, then the container removed).
    let lock = dir.reserve()?;
    let mut cleanup = Cleanup::new(&dir, &lock);
    dir.save_config(&bundle.raw)?;
    let mut stored = Stored {
        id: o.id.clone(),
        pid: 0,
        start_time: 0,
        bundle: bundle.dir.clone(),
        rootfs: rootfs.rootfs.clone(),
        created: crate::logging::now_rfc3339_nanos(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        owner: String::new(),
        creating: true,
        cgroup: Some(cgroup.clone()),
        shares_host_pidns: !ns.creates(LinuxNamespaceType::Pid) && ns.joins(LinuxNamespaceType::Pid).is_none(),
        shared_cgroup: false,
    };
    dir.save(&stored)?;
    let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    let cgroup = parent::create_cgroup(cgroup, o.rootless, resources)?;
    if cgroup.is_none() {
        stored.cgroup = None;
        dir.save(&stored)?;
    }
    cleanup.cgroup = cgroup.clone();
    if let Some(cg) = &cgroup {
        for w in cg.apply(resources, o.rootless)? {
            crate::logging::warn(&w);
        }
    }
    let console = match (console, &o.console_socket) {
        (Some(c), _) => Some(c),
        (None, Some(p)) if terminal => Some(crate::terminal::connect(p)?),
        _ => None,
    };
    make_mountpoints(&rootfs)?;
    let criu_root = CriuRoot::bind(&dir, &rootfs.rootfs)?;

    let container = Container { spec, rootfs: &rootfs, ns: &ns, cgroup: cgroup.as_ref() };
    let facts = RestoreFacts {
        images_dir_fd: images.as_raw_fd(),
        work_dir_fd: work.as_ref().map(|w| w.as_raw_fd()),
        root: criu_root.0.clone(),
        external_ns: ext_ns.iter().map(|(t, fd)| (*t, fd.as_raw_fd())).collect(),
        descriptors,
    };
    let mut opts = plan::restore_opts(&container, &o.common, &facts)?;
    opts.lsm_profile = o.lsm_profile.clone();
    opts.lsm_mount_context = o.lsm_mount_context.clone();
    let mut inherit: Vec<BorrowedFd<'_>> = vec![images.as_fd()];
    inherit.extend(work.as_ref().map(|w| w.as_fd()));
    inherit.extend(ext_ns.iter().map(|(_, fd)| fd.as_fd()));
    let mut session = swrk::start(&criu.path, &inherit, log)?;
    // CRIU itself goes into the cgroup first, so that every task it makes
    // starts there (runc does the same).
    if let Some(cg) = &cgroup {
        cg.add_pid(session.pid())?;
    }
    let resp = session.call(&Request::new(ReqType::Restore, Some(opts)), |n, fd| match n.script.as_str() {
        // The init exists, in its namespaces, nothing else is restored yet:
        // the hooks that set up namespaces (networking) run now.
        "setup-namespaces" => {
            let mut st = stored.oci(Status::Creating);
            st.pid = n.pid;
            let st = serde_json::to_vec(&st).unwrap_or_default();
            cleanup.poststop = Some((hooks::of(spec, Stage::Poststop), st.clone()));
            hooks::run(Stage::Prestart, &hooks::of(spec, Stage::Prestart), &st)?;
            hooks::run(Stage::CreateRuntime, &hooks::of(spec, Stage::CreateRuntime), &st)
        }
        "post-restore" => {
            cleanup.pid = Some(n.pid);
            record_pid(&dir, &mut stored, n.pid)
        }
        "orphan-pts-master" => {
            let (Some(sock), Some(master)) = (&console, fd) else {
                return Err(Error::Init("CRIU restored a terminal, but there is no console socket for it".into()));
            };
            crate::terminal::send_fd(sock.as_fd(), master.as_fd(), "orphan-pts-master")
        }
        _ => Ok(()),
    })?;
    session.finish();
    drop(criu_root);
    let pid = resp.restored_pid.unwrap_or(stored.pid);
    if pid != stored.pid {
        cleanup.pid = Some(pid);
        record_pid(&dir, &mut stored, pid)?;
    }
    stored.creating = false;
    dir.save(&stored)?;
    if let Some(p) = &o.pid_file {
        launch::write_pid_file(p, pid)?;
    }
    cleanup.armed = false;
    drop(cleanup);
    Ok(Restored { pid, dir, stored })
}

fn record_pid(dir: &ContainerDir, stored: &mut Stored, pid: i32) -> Result<()> {
    stored.pid = pid;
    stored.start_time = state::proc_stat(pid).map(|s| s.1).unwrap_or(0);
    dir.save(stored)
}

/// The image directory must exist (restore never creates it).
fn open_images(p: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(p, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .ctx(|| format!("open image directory `{}`", p.display()))
}

/// The init's stdio at checkpoint: its absence means `p` holds no
/// checkpoint made by berth or runc.
fn read_descriptors(p: &Path) -> Result<Vec<String>> {
    let f = p.join(plan::DESCRIPTORS);
    let data = fs::read(&f).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::Usage(format!("`{}` holds no checkpoint (no {})", p.display(), plan::DESCRIPTORS))
        }
        _ => Error::Io { what: format!("read `{}`", f.display()), source: e },
    })?;
    plan::parse_descriptors(&data).map_err(|e| Error::Usage(format!("invalid `{}`: {e}", f.display())))
}

/// The network and pid namespaces the config joins by path, opened for CRIU
/// to restore into (they were left out of the image).
fn open_external_namespaces(ns: &crate::namespaces::Plan) -> Result<Vec<(LinuxNamespaceType, OwnedFd)>> {
    let mut out = Vec::new();
    for t in [LinuxNamespaceType::Network, LinuxNamespaceType::Pid] {
        if let Some(p) = ns.joins(t) {
            let fd = nix::fcntl::open(p.as_path(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                .ctx(|| format!("open {} namespace `{}`", crate::namespaces::oci_name(t), p.display()))?;
            out.push((t, fd));
        }
    }
    Ok(out)
}

/// Mount points of the config's mounts that the rootfs lacks (a new
/// rootfs, e.g. podman's `--import`), as create would make them: CRIU
/// mounts onto them but does not create them. Those on a tmpfs of the
/// container are left to CRIU, which restores the tmpfs' content.
fn make_mountpoints(rootfs: &RootfsPlan) -> Result<()> {
    let root = crate::rootfs::paths::open_root(&rootfs.rootfs)?;
    let tmpfs: Vec<&Path> =
        rootfs.mounts.iter().filter(|m| m.fstype.as_deref() == Some("tmpfs")).map(|m| m.dest.as_path()).collect();
    for m in &rootfs.mounts {
        if tmpfs.iter().any(|t| m.dest != *t && m.dest.starts_with(t)) {
            continue;
        }
        let file_source = m.kind == Kind::Bind && m.source.as_ref().is_some_and(|s| s.exists() && !s.is_dir());
        if file_source {
            crate::rootfs::paths::ensure_file(root.as_fd(), &m.dest)?;
        } else {
            crate::rootfs::paths::mkdir_all(root.as_fd(), &m.dest, 0o755)?;
        }
    }
    Ok(())
}
