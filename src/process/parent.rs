//! berth's side of create: reserve the id, make the cgroup, clone the init
//! into its namespaces (and, on cgroup v2, straight into its cgroup), write
//! its id maps, run the runtime-namespace hooks when it asks, and record the
//! state once it is ready. Also `start` (open the exec fifo, wait for the
//! exec) and `destroy`. Every function here that changes a container
//! expects its caller to hold the container's lock (`state::lock`);
//! `create` takes it itself when it reserves the id.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;

use super::init::{self, InitFds};
use super::launch::{exec_guard, pass_listener, write_pid_file};
use super::sync::{self, Message};
use super::{Options, Plan};
use crate::cgroups::Cgroup;
use crate::error::{Context, Error, Result};
use crate::hooks::{self, Stage};
use crate::logging;
use crate::spec::load::Bundle;
use crate::state::lock::Lock;
use crate::state::store::ContainerDir;
use crate::state::{self, Status, Stored};
use crate::sys::process::{clone_process, Forked};

/// A container that reached `created`.
pub struct Created {
    pub pid: i32,
    pub dir: ContainerDir,
    /// The container's lock, held since the id was reserved.
    pub lock: Lock,
    pub stored: Stored,
    /// Its config as read at create time.
    pub spec: oci_spec::runtime::Spec,
}

/// Undo a partial create (or restore, `crate::criu::restore`) unless disarmed.
pub(crate) struct Cleanup<'a> {
    pub(crate) dir: &'a ContainerDir,
    /// The container's lock, held by the create (or restore) throughout.
    pub(crate) lock: &'a Lock,
    pub(crate) cgroup: Option<Cgroup>,
    pub(crate) pid: Option<i32>,
    /// Set once the create hooks ran: a failure after that point goes on
    /// to the poststop hooks (runtime.md lifecycle steps 3-5, then 12-13).
    pub(crate) poststop: Option<(Vec<oci_spec::runtime::Hook>, Vec<u8>)>,
    /// Devices moved into a network namespace the container joined (it
    /// outlives a failed create): moved back.
    pub(crate) net_devices: Option<(OwnedFd, Vec<crate::netdev::Moved>)>,
    /// The resctrl root and the container's resctrl plan, once applied.
    pub(crate) resctrl: Option<(std::path::PathBuf, crate::resctrl::Plan)>,
    pub(crate) armed: bool,
}

impl<'a> Cleanup<'a> {
    /// Armed, with nothing made yet but the reserved id.
    pub(crate) fn new(dir: &'a ContainerDir, lock: &'a Lock) -> Cleanup<'a> {
        Cleanup { dir, lock, cgroup: None, pid: None, poststop: None, net_devices: None, resctrl: None, armed: true }
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
        }
        // A `delete --force` that gave up waiting for our lock removed the
        // container already; the id (and its cgroup path) may be someone
        // else's by now.
        if !self.lock.names_path() {
            return;
        }
        if let Some(cg) = &self.cgroup {
            let _ = cg.kill_all(Signal::SIGKILL);
            let _ = cg.destroy();
        }
        if let Some((root, p)) = &self.resctrl {
            let _ = crate::resctrl::remove(root, p, &self.dir.id);
        }
        if let Some((netns, moved)) = &self.net_devices {
            if let Err(e) = crate::netdev::move_back(moved, netns.as_fd()) {
                logging::warn(&e.to_string());
            }
        }
        if let Some((hooks, st)) = &self.poststop {
            hooks::run_warn(Stage::Poststop, hooks, st);
        }
        let _ = self.dir.remove();
    }
}

/// Create a container. `console` overrides `--console-socket` with an
/// already-connected socket (foreground `run` with a terminal).
pub fn create(root: &Path, opts: &Options, console: Option<OwnedFd>) -> Result<Created> {
    let bundle = crate::spec::load::load_bundle(&opts.bundle)?;
    create_from(root, opts, bundle, console)
}

/// `create` with the bundle's config already read (`run` reads it first).
pub fn create_from(root: &Path, opts: &Options, bundle: Bundle, console: Option<OwnedFd>) -> Result<Created> {
    for w in &bundle.warnings {
        logging::warn_user(w);
    }
    let mut steps = logging::Steps::new("create");
    let dir = ContainerDir::new(root, &opts.id)?;
    // The caller's sd_notify socket: the container gets one of its own (see
    // `crate::notify`), which `start` passes on.
    let notify = crate::notify::host_socket().map(|_| crate::notify::state_dir(&dir.path));
    let mut spec = bundle.spec.clone();
    if let Some(d) = &notify {
        crate::notify::amend(&mut spec, d)?;
    }
    let mut plan = super::plan(spec, bundle.dir.clone(), opts)?;
    // The network namespace is made meanwhile (`super::netns`).
    let netns = super::netns::NetnsAhead::start(&plan)?;
    steps.step("plan and validate the config");
    if plan.terminal && console.is_none() && opts.console_socket.is_none() {
        return Err(Error::Usage("process.terminal is true: --console-socket is required".into()));
    }
    if plan.rootfs.mounts.iter().any(|m| m.idmap.is_some()) {
        if !plan.ns.has_mountns() {
            return Err(Error::config("mounts", "idmapped mounts need a mount namespace"));
        }
        plan.idmapped = crate::rootfs::idmap::prepare(&plan.rootfs)?;
    }
    let cgroups_path =
        plan.spec.linux().as_ref().and_then(|l| l.cgroups_path().as_ref()).map(|p| p.to_string_lossy().into_owned());
    let cgroup = if opts.systemd_cgroup {
        // Rootless: the caller's user manager, as runc does.
        let annotations = plan.spec.annotations().clone().unwrap_or_default();
        Cgroup::resolve_systemd(cgroups_path.as_deref(), &opts.id, opts.rootless, &annotations)?
    } else {
        Cgroup::resolve(cgroups_path.as_deref(), &opts.id)?
    };
    plan.cgroup = Some(cgroup.clone());
    if opts.rootless && !nix::unistd::geteuid().is_root() && !plan.ns.has_userns() {
        return Err(Error::config(
            "linux.namespaces",
            "a rootless container needs a user namespace (`berth spec --rootless` writes a config with one)",
        ));
    }
    crate::netdev::check_host(&plan.net_devices, &plan.ns)?;
    // linux.intelRdt: the spec requires an error when resctrl is not mounted.
    let resctrl_root = match &plan.intel_rdt {
        Some(p) => {
            let host = crate::resctrl::host();
            crate::resctrl::check(p, host.as_ref())?;
            host.map(|h| h.root)
        }
        None => None,
    };

    // From here on, everything is undone on failure.
    steps.step("check the host (cgroup path, devices, resctrl, idmapped mounts)");
    let lock = dir.reserve()?;
    let mut cleanup = Cleanup::new(&dir, &lock);
    dir.save_config(&bundle.raw)?;
    if let Some(d) = &notify {
        crate::notify::make_dir(d)?;
    }
    let mut stored = Stored {
        id: opts.id.clone(),
        pid: 0,
        start_time: 0,
        bundle: bundle.dir.clone(),
        rootfs: plan.rootfs.rootfs.clone(),
        created: logging::now_rfc3339_nanos(),
        annotations: plan.spec.annotations().clone().unwrap_or_default(),
        owner: String::new(),
        creating: true,
        // A systemd unit is recorded once started: until then its name
        // may be another container's, which a cleanup must not stop.
        cgroup: (!cgroup.is_systemd()).then(|| cgroup.clone()),
        shares_host_pidns: !plan.ns.creates(LinuxNamespaceType::Pid)
            && plan.ns.joins(LinuxNamespaceType::Pid).is_none(),
        shared_cgroup: false,
    };
    dir.save(&stored)?;
    steps.step("reserve the id, write the state");
    let resources = plan.spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    // A systemd unit is started once the init exists (it needs a pid).
    let cgroup = if cgroup.is_systemd() { Some(cgroup) } else { create_cgroup(cgroup, opts.rootless, resources)? };
    if cgroup.is_none() {
        stored.cgroup = None;
        dir.save(&stored)?;
        plan.cgroup = Cgroup::own().ok();
    }
    // A cgroup that already holds processes is shared with something else
    // (runc warns too): the container may use it, but no verb will signal
    // or remove the whole of it (`Stored::own_cgroup`).
    if let Some(cg) = cgroup.as_ref().filter(|c| !c.is_systemd()) {
        let others = cg.pids().unwrap_or_default();
        if !others.is_empty() {
            logging::warn(&format!("container's cgroup is not empty: {} process(es) found", others.len()));
            stored.shared_cgroup = true;
            dir.save(&stored)?;
        }
    }
    cleanup.cgroup = cgroup.clone().filter(|c| !c.is_systemd() && !stored.shared_cgroup);
    if let Some(cg) = cgroup.as_ref().filter(|c| !c.is_systemd()) {
        for w in cg.apply(resources, opts.rootless)? {
            logging::warn(&w);
        }
    }
    steps.step("make the cgroup and apply the resources");
    let state_dir_fd = make_fifo(&dir, &plan)?;
    let console = match (console, &opts.console_socket) {
        (Some(c), _) => Some(c),
        (None, Some(p)) if plan.terminal => Some(crate::terminal::connect(p)?),
        _ => None,
    };
    // The ways into the cgroup that cost no global lock (`cgroups::entry`).
    let entry = match &cgroup {
        Some(cg) if !cg.is_systemd() => cg.entry()?,
        _ => crate::cgroups::Entry::default(),
    };
    steps.step("make the exec fifo, connect the console");
    // Work berth must do before the init runs anything; without it (and
    // with the init born in its cgroup) the init needs no `Go` and sets
    // up its root meanwhile.
    let parent_first = plan.ns.creates(LinuxNamespaceType::User)
        || cgroup.as_ref().is_some_and(Cgroup::is_systemd)
        || !plan.net_devices.is_empty()
        || plan.intel_rdt.is_some();
    let guard = exec_guard(&dir)?;
    steps.step("make the exec guard");
    let netns = match netns {
        Some(n) => {
            let fd = n.take()?;
            steps.step("wait for the network namespace (made meanwhile)");
            Some(fd)
        }
        None => None,
    };
    let into = entry.into.as_ref().map(|f| f.as_fd());
    let fds = InitFds { state_dir: Some(state_dir_fd), console, guard, cgroup_tasks: entry.tasks, netns };
    let (pid, in_cgroup, go, parent_chan) = spawn_init(&plan, &lock, into, parent_first, fds)?;
    steps.step("clone the init");
    cleanup.pid = Some(pid);
    let start_time = state::proc_stat(pid).map(|s| s.1).unwrap_or(0);
    stored.pid = pid;
    stored.start_time = start_time;
    dir.save(&stored)?;

    if plan.ns.creates(LinuxNamespaceType::User) {
        write_id_maps(pid, &plan)?;
    }
    // Into the cgroup before the init runs anything, unless the kernel put
    // it there at birth (clone3 may be refused, e.g. under Docker's
    // default seccomp profile, and the legacy clone cannot).
    match &cgroup {
        Some(cg) if cg.is_systemd() => {
            let warnings = cg.start_unit(&opts.id, pid, resources, &stored.annotations)?;
            cleanup.cgroup = Some(cg.clone());
            stored.cgroup = Some(cg.clone());
            dir.save(&stored)?;
            for w in warnings {
                logging::warn(&w);
            }
        }
        Some(cg) => cg.add_rest(pid, in_cgroup)?,
        None => {}
    }
    move_net_devices(&plan, pid, &mut cleanup)?;
    if let (Some(root), Some(p)) = (resctrl_root, &plan.intel_rdt) {
        let r = crate::resctrl::apply(&root, p, &opts.id, pid);
        cleanup.resctrl = Some((root, p.clone()));
        r?;
    }
    if go {
        parent_chan.send(&Message::Go).ctx(|| "start the container init".to_string())?;
    }
    steps.step("id maps, join the cgroup, start the init");
    serve_init(&parent_chan, &plan, &stored, &mut cleanup)?;
    steps.step("the init set up the container (mounts, hooks, pivot_root, the tail)");
    stored.creating = false;
    dir.save(&stored)?;
    if let Some(p) = &opts.pid_file {
        write_pid_file(p, pid)?;
    }
    cleanup.armed = false;
    steps.step("record the state, write the pid file");
    drop(cleanup);
    Ok(Created { pid, dir, lock, stored, spec: bundle.spec })
}

/// `linux.netDevices`: into the container's network namespace, new (the
/// init's) or joined by path, before the init runs anything (and before
/// the create hooks, which may configure them).
fn move_net_devices(plan: &Plan, pid: i32, cleanup: &mut Cleanup<'_>) -> Result<()> {
    if plan.net_devices.is_empty() {
        return Ok(());
    }
    let (target, joined) = match plan.ns.joins(LinuxNamespaceType::Network) {
        Some(path) => (crate::netdev::open_netns(path)?, true),
        None => (crate::namespaces::open_proc_ns(pid as u32, "net")?, false),
    };
    let mut moved = Vec::new();
    let r = crate::netdev::move_all(&plan.net_devices, target.as_fd(), &mut moved);
    if joined {
        cleanup.net_devices = Some((target, moved));
    }
    r
}

/// Make the container's cgroup. Rootless on a host that delegated no
/// cgroup: without limits the container stays in the caller's cgroup (as
/// with runc's rootless mode) and this returns None; limits are an error.
pub(crate) fn create_cgroup(
    cgroup: Cgroup,
    rootless: bool,
    resources: Option<&oci_spec::runtime::LinuxResources>,
) -> Result<Option<Cgroup>> {
    match cgroup.create() {
        Ok(()) => Ok(Some(cgroup)),
        Err(e) if rootless && e.is_permission() => {
            let _ = cgroup.destroy();
            let wanted = resources.map(crate::cgroups::limits_in).unwrap_or_default();
            if !wanted.is_empty() {
                let why = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| format!("{e}: {s}"));
                return Err(Error::Unsupported(format!(
                    "rootless: cannot apply linux.resources ({}) without write access to the cgroup tree: {why}",
                    wanted.join(", ")
                )));
            }
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Answer the init until it is ready: pass its seccomp listener on, run the
/// runtime-namespace hooks when it asks (arming the poststop hooks).
pub(super) fn serve_init(chan: &sync::Channel, plan: &Plan, stored: &Stored, cleanup: &mut Cleanup<'_>) -> Result<()> {
    loop {
        let received = match chan.recv_with_fd() {
            Ok(r) => r,
            // The init died with our messages unread (ECONNRESET): say why.
            Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => None,
            Err(e) => return Err(e).ctx(|| "read from the container init".to_string()),
        };
        let (msg, fd) = match received {
            Some((m, fd)) => (Some(m), fd),
            None => (None, None),
        };
        match msg {
            Some(Message::SeccompFd) => {
                let prog = plan.process.as_ref().and_then(|p| p.seccomp.as_ref());
                if let Err(e) = pass_listener(prog, fd, stored.pid, &stored.oci(Status::Creating)) {
                    let _ = chan.send(&Message::Error(e.to_string()));
                    return Err(e);
                }
                chan.send(&Message::SeccompDone).ctx(|| "resume the container init".to_string())?;
            }
            Some(Message::CreateHooks) => {
                let st = serde_json::to_vec(&stored.oci(Status::Created)).unwrap_or_default();
                cleanup.poststop = Some((hooks::of(&plan.spec, Stage::Poststop), st.clone()));
                let r = hooks::run(Stage::Prestart, &hooks::of(&plan.spec, Stage::Prestart), &st)
                    .and_then(|()| hooks::run(Stage::CreateRuntime, &hooks::of(&plan.spec, Stage::CreateRuntime), &st));
                if let Err(e) = r {
                    let _ = chan.send(&Message::Error(e.to_string()));
                    return Err(e);
                }
                let reply = Message::HooksDone(String::from_utf8_lossy(&st).into_owned());
                chan.send(&reply).ctx(|| "resume the container init".to_string())?;
            }
            Some(Message::Steps(steps)) => logging::log_steps("create: init", &steps),
            Some(Message::Ready) => return Ok(()),
            Some(Message::Error(e)) => return Err(Error::Init(e)),
            Some(m) => return Err(Error::Init(format!("unexpected message {m:?} from the container init"))),
            None => return Err(Error::Init(init_death(stored))),
        }
    }
}

/// Why the init is gone before it reported ready: its wait status and, if
/// it was killed, whether the OOM killer did it (a memory limit too low to
/// even start the container is the usual cause).
fn init_death(stored: &Stored) -> String {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    let pid = Pid::from_raw(stored.pid);
    let mut status = waitpid(pid, Some(WaitPidFlag::WNOHANG));
    for _ in 0..50 {
        if !matches!(status, Ok(WaitStatus::StillAlive)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
        status = waitpid(pid, Some(WaitPidFlag::WNOHANG));
    }
    let oom = stored.cgroup.as_ref().and_then(|c| c.oom_kills()).unwrap_or(0) > 0;
    match status {
        Ok(WaitStatus::Signaled(_, Signal::SIGKILL, _)) if oom => {
            "the container init was killed by the OOM killer during create: linux.resources.memory.limit is too low to start it".into()
        }
        Ok(WaitStatus::Signaled(_, sig, _)) => format!("the container init was killed by {sig} during create"),
        Ok(WaitStatus::Exited(_, code)) => format!("the container init exited with status {code} during create"),
        _ => "the container init exited during setup".into(),
    }
}

/// Clone the init. pid and time namespaces only apply to children, so the
/// parent enters (or creates) them around the clone and then returns to
/// its own, leaving hooks it runs later in the host's namespaces.
/// `cgroup` is the cgroup2 directory to clone it into; `fds` what the init
/// inherits besides its end of the sync channel (made here).
/// Returns the init's pid, whether it was born in `cgroup`, whether it
/// waits for `Go` (`parent_first`, or berth must still move it: both
/// sides decide alike), and berth's end of the sync channel.
fn spawn_init(
    plan: &Plan,
    lock: &Lock,
    cgroup: Option<std::os::fd::BorrowedFd<'_>>,
    parent_first: bool,
    fds: InitFds,
) -> Result<(i32, bool, bool, sync::Channel)> {
    let (parent_chan, child_chan) = sync::pair().ctx(|| "create the sync socket".to_string())?;
    let go = |in_cgroup: bool| parent_first || (cgroup.is_some() && !in_cgroup);
    // A network namespace made ahead is joined by the init, not cloned.
    let mut clone_flags = plan.ns.clone_flags;
    if fds.netns.is_some() {
        clone_flags &= !(libc::CLONE_NEWNET as u64);
    }
    let mut restore: Vec<(OwnedFd, CloneFlags)> = Vec::new();
    let ns_open = |name: &str| crate::namespaces::open_proc_ns(std::process::id(), name);
    let mut enter = |t: LinuxNamespaceType, flag: CloneFlags, own: &str| -> Result<()> {
        let Some(path) = plan.ns.joins(t) else { return Ok(()) };
        restore.push((ns_open(own)?, flag));
        crate::namespaces::join_path(t, path)
    };
    enter(LinuxNamespaceType::Pid, CloneFlags::CLONE_NEWPID, "pid_for_children")?;
    enter(LinuxNamespaceType::Time, CloneFlags::from_bits_retain(libc::CLONE_NEWTIME), "time_for_children")?;
    if plan.ns.new_time {
        restore.push((ns_open("time_for_children")?, CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)));
        unshare(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)).ctx(|| "create the time namespace".to_string())?;
        write_time_offsets(plan)?;
    }
    let forked = clone_process(clone_flags, cgroup);
    match forked {
        Ok(Forked::Child { in_cgroup }) => {
            crate::signals::restore_in_child();
            lock.close_in_child();
            // Only the init's end stays open in the init, so that it sees
            // EOF (and exits) if berth dies during create.
            drop(parent_chan);
            init::run(plan, child_chan, fds, go(in_cgroup))
        }
        Ok(Forked::Parent { pid, in_cgroup }) => {
            // Likewise berth keeps only its end: EOF means the init died.
            drop(child_chan);
            drop(fds);
            for (fd, flag) in restore.into_iter().rev() {
                setns(fd.as_fd(), flag).ctx(|| "return to berth's own namespaces".to_string())?;
            }
            Ok((pid, in_cgroup, go(in_cgroup), parent_chan))
        }
        Err(e) => Err(e).ctx(|| "clone the container init".to_string()),
    }
}

fn write_time_offsets(plan: &Plan) -> Result<()> {
    let offsets = plan.spec.linux().as_ref().and_then(|l| l.time_offsets().as_ref());
    let mut text = String::new();
    for (clock, o) in offsets.into_iter().flatten() {
        text.push_str(&format!("{clock} {} {}\n", o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0)));
    }
    if text.is_empty() {
        return Ok(());
    }
    std::fs::write("/proc/self/timens_offsets", text).ctx(|| "write the time namespace offsets".to_string())
}

/// The text written to /proc/PID/{uid,gid}_map: one `inside outside size`
/// line per mapping (user_namespaces(7)).
fn write_id_maps(pid: i32, plan: &Plan) -> Result<()> {
    let linux = plan.spec.linux().as_ref();
    let (uid, gid) = (linux.and_then(|l| l.uid_mappings().as_ref()), linux.and_then(|l| l.gid_mappings().as_ref()));
    if nix::unistd::geteuid().is_root() {
        return crate::namespaces::write_id_maps(pid, uid, gid);
    }
    let none = Vec::new();
    crate::rootless::write_id_maps(pid, uid.unwrap_or(&none), gid.unwrap_or(&none))
}

/// The host uid/gid that container root maps to (owner of the exec fifo).
fn host_root(plan: &Plan) -> (u32, u32) {
    let linux = plan.spec.linux().as_ref();
    let find = |maps: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| {
        maps.into_iter().flatten().find(|m| m.container_id() == 0).map(|m| m.host_id()).unwrap_or(0)
    };
    (find(linux.and_then(|l| l.uid_mappings().as_ref())), find(linux.and_then(|l| l.gid_mappings().as_ref())))
}

/// Make the exec fifo and the created marker the init locks (both in
/// `process::sync`'s start protocol); returns an O_PATH descriptor of
/// their directory.
fn make_fifo(dir: &ContainerDir, plan: &Plan) -> Result<OwnedFd> {
    // Both made with their final mode, the umask cleared meanwhile: one
    // filesystem operation each, no chmod after (on a journalled state
    // root every one of them may wait for a journal commit). The
    // directory is new and ours, so O_EXCL and mkfifo find nothing there.
    let umask = crate::sys::process::set_umask(0);
    let made = make_fifo_files(dir);
    crate::sys::process::set_umask(umask);
    made?;
    // Only real root can give the fifo away; a rootless caller is
    // container root. Mostly it is root's own already (a stat is no
    // filesystem change).
    let p = dir.fifo_path();
    if nix::unistd::geteuid().is_root() {
        use std::os::unix::fs::MetadataExt;
        let (uid, gid) = host_root(plan);
        let owned = std::fs::symlink_metadata(&p).is_ok_and(|m| (m.uid(), m.gid()) == (uid, gid));
        if !owned {
            std::os::unix::fs::chown(&p, Some(uid), Some(gid)).ctx(|| format!("chown exec fifo `{}`", p.display()))?;
        }
    }
    nix::fcntl::open(&dir.path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .ctx(|| format!("open state directory `{}`", dir.path.display()))
}

/// The created marker and the exec fifo: readable (the marker) and
/// writable (the fifo) by the container user, who may map to no one on
/// the host: the init opens both after it took the container's
/// credentials.
fn make_fifo_files(dir: &ContainerDir) -> Result<()> {
    let marker = dir.created_lock_path();
    nix::fcntl::open(
        &marker,
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    )
    .map(drop)
    .ctx(|| format!("create `{}`", marker.display()))?;
    let p = dir.fifo_path();
    nix::unistd::mkfifo(&p, Mode::from_bits_truncate(0o622)).ctx(|| format!("create exec fifo `{}`", p.display()))
}

/// `start`: release the init, wait until it executed the user program,
/// then run the poststart hooks. The caller took the container's lock and
/// found it `created`; the lock is let go before the poststart hooks, so
/// that a hook may use berth on the container (`exec`, `pause`) without
/// waiting for itself. A failing startContainer or poststart hook is an
/// error that stops and destroys the container (runtime.md lifecycle steps
/// 7 and 9, then 12); an init that died or failed its exec is only
/// reported: the container is then `stopped`, for `delete` to remove.
pub fn start(dir: &ContainerDir, lock: Lock, stored: &Stored, spec: &oci_spec::runtime::Spec) -> Result<()> {
    let mut steps = logging::Steps::new("start");
    // Listening before the program may run, so that no READY is lost.
    let notify = match crate::notify::host_socket() {
        Some(host) => crate::notify::listen(&crate::notify::state_dir(&dir.path), host)?,
        None => None,
    };
    let reply = release_init(dir, stored)?;
    steps.step("release the init (exec fifo), startContainer hooks");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match reply.as_slice() {
        [b'0'] => {}
        [b'E', msg @ ..] => {
            let _ = destroy(dir, Some(&lock), stored);
            return Err(Error::Init(text(msg)));
        }
        [b'0', b'E', msg @ ..] => return Err(Error::Init(text(msg))),
        [] => return Err(Error::Status("container init exited before start".into())),
        other => return Err(Error::Init(format!("unexpected answer `{}` from the container init", text(other)))),
    }
    let poststart = hooks::of(spec, Stage::Poststart);
    if !poststart.is_empty() {
        wait_program_exec(dir, stored);
        steps.step("the program was executed");
    }
    drop(lock);
    let st = serde_json::to_vec(&stored.oci(Status::Running)).unwrap_or_default();
    hooks::run(Stage::Poststart, &poststart, &st).inspect_err(|_| {
        // The same container still (nobody deleted it and took the id)?
        if let Ok(lock) = dir.lock(crate::state::lock::LockMode::Exclusive) {
            if dir.load().is_ok_and(|now| now.pid == stored.pid && now.start_time == stored.start_time) {
                let _ = destroy(dir, Some(&lock), stored);
            }
        }
    })?;
    // As runc: start returns once the program said it is ready (or died).
    if let Some(l) = notify {
        l.forward_ready(stored.pid, || state::init_alive(stored.pid, stored.start_time))?;
        steps.step("the program notified READY");
    }
    Ok(())
}

/// Open the exec fifo (the init is blocked opening its other end, or about
/// to: it holds its created marker, which the caller saw) and read the
/// init's answer until it closes its end, at its execve. Polls so that an
/// init that died meanwhile is noticed instead of waited on forever.
fn release_init(dir: &ContainerDir, stored: &Stored) -> Result<Vec<u8>> {
    let fifo_path = dir.fifo_path();
    let fifo = nix::fcntl::open(&fifo_path, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
        .ctx(|| format!("open exec fifo `{}`", fifo_path.display()))?;
    let mut reply = Vec::new();
    loop {
        let mut pfd = [nix::poll::PollFd::new(fifo.as_fd(), nix::poll::PollFlags::POLLIN)];
        let n = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(100u16));
        if !matches!(n, Ok(k) if k > 0) {
            if !state::init_alive(stored.pid, stored.start_time) {
                break;
            }
            continue;
        }
        let mut b = [0u8; 4096];
        match nix::unistd::read(&fifo, &mut b) {
            // EOF once the init closed its end (POLLHUP): the answer is complete.
            Ok(0) if pfd[0].revents().is_some_and(|r| r.contains(nix::poll::PollFlags::POLLHUP)) => break,
            Ok(0) | Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => {}
            Ok(k) => reply.extend_from_slice(&b[..k]),
            Err(e) => return Err(e).ctx(|| "read exec fifo".to_string()),
        }
    }
    let _ = std::fs::remove_file(&fifo_path);
    Ok(reply)
}

/// The fifo's EOF comes with the execve of the exec guard's trampoline,
/// which executes the program straight away: wait for that second execve
/// too (`/proc/<pid>/exe` leaves the trampoline's memfd), for at most a
/// second, so that poststart hooks see the program (without any, nobody
/// looks: `start` returns at once, as runc's does before the execve).
/// Where berth may not read the link it has nothing to wait for.
fn wait_program_exec(dir: &ContainerDir, stored: &Stored) {
    let link = format!("/proc/{}/exe", stored.pid);
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline && state::init_alive(stored.pid, stored.start_time) {
        match std::fs::read_link(&link) {
            Ok(p) if crate::exec_guard::is_guard_exe(&p, &dir.path) => std::thread::sleep(Duration::from_micros(200)),
            _ => return,
        }
    }
}

/// Kill what is left of a container, wait for it, run poststop hooks and
/// remove its cgroup and state. `lock` is the caller's hold on the
/// container; if a `delete --force` that did not wait for it removed the
/// container meanwhile, there is nothing left to destroy (and the id, or
/// its cgroup path, may already belong to a new container). `None`: that
/// `delete --force` itself.
pub fn destroy(dir: &ContainerDir, lock: Option<&Lock>, stored: &Stored) -> Result<()> {
    destroy_with(dir, lock, stored, None)
}

/// [`destroy`], given the container's config when the caller has it
/// (`run`, which created it): it is not read back from the state
/// directory then.
pub fn destroy_with(
    dir: &ContainerDir,
    lock: Option<&Lock>,
    stored: &Stored,
    spec: Option<&oci_spec::runtime::Spec>,
) -> Result<()> {
    if lock.is_some_and(|l| !l.names_path()) {
        return Ok(());
    }
    if state::init_alive(stored.pid, stored.start_time) {
        let _ = kill(Pid::from_raw(stored.pid), Signal::SIGKILL);
    }
    if let Some(cg) = stored.own_cgroup() {
        let _ = cg.kill_all(Signal::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while state::init_alive(stored.pid, stored.start_time) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let loaded = if spec.is_none() { dir.load_config().ok() } else { None };
    let spec = spec.or(loaded.as_ref());
    if let Some(spec) = spec {
        let st = serde_json::to_vec(&stored.oci(Status::Stopped)).unwrap_or_default();
        hooks::run_warn(Stage::Poststop, &hooks::of(spec, Stage::Poststop), &st);
    }
    // A shared cgroup (see `Stored::own_cgroup`) is left to whoever else
    // is in it.
    if let Some(cg) = stored.own_cgroup() {
        cg.destroy()?;
    }
    if let Some(spec) = spec {
        remove_resctrl(spec, &stored.id)?;
    }
    dir.remove()
}

/// Remove the resctrl groups berth made for the container (none when
/// resctrl is no longer mounted: nothing can be left there).
fn remove_resctrl(spec: &oci_spec::runtime::Spec, id: &str) -> Result<()> {
    let Some(rdt) = spec.linux().as_ref().and_then(|l| l.intel_rdt().as_ref()) else { return Ok(()) };
    match (crate::resctrl::plan(rdt), crate::resctrl::host()) {
        (Ok(p), Some(host)) => crate::resctrl::remove(&host.root, &p, id),
        _ => Ok(()),
    }
}
