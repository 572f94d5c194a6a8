//! The container side of create: the cloned child runs this setup script,
//! top to bottom in the order the runtime-spec and the kernel require
//! (namespaces, root filesystem, create hooks, pivot_root, locked-down
//! paths), then the tail it shares with exec (`super::finish`), which ends
//! in execve once `start` comes. It never returns: on failure it reports
//! over the sync channel and leaves with `_exit`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::{unshare, CloneFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::LinuxNamespaceType;

use super::finish::{finish, Started, Tail};
use super::sync::{Channel, Message};
use super::Plan;
use crate::error::{Context, Error, Result};
use crate::hooks::{self, Stage};
use crate::logging::StepTimes;
use crate::procfs::Proc;
use crate::rootfs::{dev, finish, mounts, paths};
use crate::sys::process as sp;

/// Descriptors the init inherits from the parent, besides its end of the
/// sync channel.
pub struct InitFds {
    /// O_PATH descriptor of the state directory holding the exec fifo (a
    /// directory, so the fifo can be opened with openat(2) even from a
    /// root without /proc).
    pub state_dir: Option<OwnedFd>,
    /// Connected `--console-socket` (terminal only).
    pub console: Option<OwnedFd>,
    /// The exec guard (CVE-2019-5736), made by berth before the clone.
    pub guard: OwnedFd,
    /// The v1 `tasks` files of the container's cgroup, which the init
    /// writes itself into (`cgroups::entry`).
    pub cgroup_tasks: Vec<(std::path::PathBuf, OwnedFd)>,
    /// The new network namespace berth made ahead (`super::netns`), its
    /// `lo` up; the init joins it first thing.
    pub netns: Option<OwnedFd>,
}

/// Run the init; `go`: wait for berth's `Go` first (see `process::sync`).
/// Never returns: every way out is here.
pub fn run(plan: &Plan, chan: Channel, fds: InitFds, go: bool) -> ! {
    let steps = StepTimes::new();
    let e = match setup(plan, &chan, go, fds, steps) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // The program could not be executed (`start` has been told through the
    // exec fifo): the reason goes to the container's stderr too, and the
    // status is the shell's (127 not found, 126 not executable).
    if let Error::Exec { code, .. } = e {
        eprintln!("berth: {e}");
        sp::exit_now(code)
    }
    let msg = crate::error::report(&e);
    if chan.send(&Message::Error(msg.clone())).is_err() {
        eprintln!("berth init: {msg}");
    }
    sp::exit_now(1)
}

use super::attrs::{self, Never};

pub(super) fn wait_for(chan: &Channel, want: &str) -> Result<Message> {
    match chan.recv().ctx(|| format!("wait for `{want}` from berth"))? {
        Some(Message::Error(e)) => Err(Error::Init(e)),
        Some(m) => Ok(m),
        // The parent is gone (killed during create): nothing left to do.
        None => Err(Error::Init("berth exited during create".into())),
    }
}

fn setup(plan: &Plan, chan: &Channel, go: bool, fds: InitFds, mut steps: StepTimes) -> Result<Never> {
    let InitFds { state_dir, console, guard, cgroup_tasks, netns } = fds;
    // The network namespace berth made ahead, ours before anything else
    // (the create hooks may configure it through /proc/<pid>/ns/net).
    let premade_netns = netns.is_some();
    if let Some(ns) = netns {
        nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).ctx(|| "join the new network namespace".to_string())?;
        steps.step("join the network namespace berth made");
    }
    // 1. The parent writes our id maps, starts a systemd unit or moves us
    //    into a cgroup the clone could not put us in, and only then lets
    //    us go (an unprivileged parent can only write the maps of a
    //    dumpable process: /proc/<pid> of a non-dumpable one belongs to
    //    root). Into the v1 hierarchies we move ourselves, first thing.
    if go {
        wait_for(chan, "go")?;
    }
    crate::cgroups::enter_self(&cgroup_tasks)?;
    drop(cgroup_tasks);
    // Until the final exec this process is a copy of berth: keep other
    // processes (in the container too, once it shares our pid namespace
    // with `exec`'d ones) from opening /proc/<pid>/exe or our memory.
    nix::sys::prctl::set_dumpable(false).ctx(|| "make the init non-dumpable".to_string())?;
    steps.step(if go { "wait for `go`, enter the cgroup" } else { "enter the cgroup" });
    let in_userns = plan.ns.has_userns() || plan.outer_userns;
    if plan.ns.creates(LinuxNamespaceType::User) {
        attrs::become_root()?;
    }
    // 2. Namespaces given by path (user first: it grants the rights over
    //    the others). pid and time were joined by the parent, which is the
    //    only way to enter them (they apply to children).
    join_namespaces(plan)?;
    // A cgroup namespace rooted at the container's cgroup, which we are in.
    if plan.ns.new_cgroup {
        unshare(CloneFlags::CLONE_NEWCGROUP).ctx(|| "create the cgroup namespace".to_string())?;
    }
    steps.step("join the namespaces given by path, the cgroup namespace");
    // A new network namespace gets its loopback up (runc's "loopback"
    // network): `--network none` containers still talk to 127.0.0.1.
    if plan.ns.creates(LinuxNamespaceType::Network) && !premade_netns {
        crate::sys::net::set_up("lo").ctx(|| "bring up the loopback interface `lo`".to_string())?;
        steps.step("bring up `lo`");
    }
    set_uts(plan)?;
    steps.step("set the hostname, domainname");
    // 3-5. The root filesystem, the create hooks, the switch of root.
    sp::set_umask(0);
    let cwd = plan.process.as_ref().map(|p| p.cwd.clone()).unwrap_or_else(|| "/".into());
    let done = if plan.ns.has_mountns() {
        setup_rootfs(plan, chan, in_userns, &cwd, &mut steps)?
    } else {
        setup_shared_mounts(plan, chan)?
    };
    let Some(process) = &plan.process else {
        // Created without a process: `start` refuses to run it; the init
        // only holds the container's namespaces (and its created marker)
        // until it is deleted.
        let _created = report_created(chan, state_dir.as_ref().map(|d| d.as_fd()))?;
        loop {
            nix::unistd::pause();
        }
    };
    // 6-9. The tail shared with exec, then the wait for `start`.
    let keep = state_dir.as_ref().map(|d| d.as_raw_fd()).into_iter().collect();
    let tail =
        Tail { chan, guard, console, console_target: done.console_target, proc: done.proc, keep, in_userns, steps };
    finish(process, tail, |chan| wait_for_start(chan, state_dir.as_ref().map(|d| d.as_fd()), plan, &done.state))
}

/// What the root filesystem step leaves for the tail.
struct RootfsDone {
    /// The container's state for the createContainer/startContainer hooks.
    state: String,
    /// The procfs handle opened for the sysctls, if any.
    proc: Option<Proc>,
    /// `/dev/console`, where the terminal is bound.
    console_target: Option<OwnedFd>,
}

fn join_namespaces(plan: &Plan) -> Result<()> {
    for (t, path) in &plan.ns.join {
        if matches!(t, LinuxNamespaceType::Pid | LinuxNamespaceType::Time) {
            continue;
        }
        crate::namespaces::join_path(*t, path)?;
        if *t == LinuxNamespaceType::User {
            attrs::become_root()?;
        }
    }
    Ok(())
}

fn set_uts(plan: &Plan) -> Result<()> {
    if let Some(h) = plan.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| format!("set hostname `{h}`"))?;
    }
    if let Some(d) = plan.spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        sp::set_domainname(d).ctx(|| format!("set domainname `{d}`"))?;
    }
    Ok(())
}

/// `linux.sysctl`, written through a verified procfs handle (opened only
/// when there are sysctls): a `/proc/sys` file that the config or the
/// image covered with something else is never the one written.
fn set_sysctls(plan: &Plan) -> Result<Option<Proc>> {
    let sysctls = plan.spec.linux().as_ref().and_then(|l| l.sysctl().as_ref());
    let Some(sysctls) = sysctls.filter(|s| !s.is_empty()) else { return Ok(None) };
    let proc = Proc::open()?;
    for (k, v) in sysctls {
        proc.write(&format!("sys/{}", k.replace('.', "/")), v)
            .map_err(|e| Error::Init(format!("set sysctl `{k}` to `{v}`: {e}")))?;
    }
    Ok(Some(proc))
}

/// Report `created` to berth: take the read lock on `created.lock` that
/// says so to every `state` from now until `start` (see `process::sync`),
/// then send Ready. Returns the descriptor that holds the lock.
fn report_created(chan: &Channel, state_dir: Option<BorrowedFd<'_>>) -> Result<Option<OwnedFd>> {
    let marker = match state_dir {
        Some(dir) => {
            let name = crate::state::store::CREATED_LOCK_NAME;
            let fd = nix::fcntl::openat(dir, name, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                .ctx(|| format!("open `{name}` in the state directory"))?;
            crate::state::lock::hold_read(&fd)?;
            Some(fd)
        }
        None => None,
    };
    chan.send(&Message::Ready).ctx(|| "report ready to berth".to_string())?;
    Ok(marker)
}

/// Report created, block until `berth start` opens the exec fifo for
/// reading, then (no longer `created`: the marker is dropped at once, so
/// a `start` killed from here on leaves a `running` container, never a
/// `created` one that runs) run the startContainer hooks and answer
/// through the fifo: `0` to go on (the fifo then stays open until the
/// exec), or `E<message>` so that `start` fails with the hook's error.
pub(super) fn wait_for_start(
    chan: &Channel,
    state_dir: Option<BorrowedFd<'_>>,
    plan: &Plan,
    state: &str,
) -> Result<Started> {
    let marker = report_created(chan, state_dir)?;
    let Some(dir) = state_dir else { return Ok(Started(None)) };
    let name = crate::state::store::FIFO_NAME;
    let fd = loop {
        match nix::fcntl::openat(dir, name, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty()) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => break r.ctx(|| "open the exec fifo".to_string())?,
        }
    };
    drop(marker);
    let hooks = hooks::of(&plan.spec, Stage::StartContainer);
    if let Err(e) = hooks::run(Stage::StartContainer, &hooks, state.as_bytes()) {
        let _ = nix::unistd::write(&fd, format!("E{e}").as_bytes());
        return Err(e);
    }
    // EPIPE: the `start` that released us was killed. We were released all
    // the same (and `state` already says running): go on.
    let _ = nix::unistd::write(&fd, b"0");
    Ok(Started(Some(fd)))
}

pub(super) fn create_hooks(plan: &Plan, chan: &Channel) -> Result<String> {
    // prestart/createRuntime hooks run in the parent, then createContainer
    // hooks here, before the root is switched (runtime.md lifecycle). The
    // round trip is for hooks alone: those berth runs, ours (they need the
    // state berth sends back, as do startContainer's), and poststop (berth
    // arms them here for a failure from now on). Without any, it is skipped.
    let stages =
        [Stage::Prestart, Stage::CreateRuntime, Stage::CreateContainer, Stage::StartContainer, Stage::Poststop];
    if stages.iter().all(|s| hooks::of(&plan.spec, *s).is_empty()) {
        return Ok(String::new());
    }
    chan.send(&Message::CreateHooks).ctx(|| "ask berth to run the create hooks".to_string())?;
    let state = match wait_for(chan, "hooks done")? {
        Message::HooksDone(state) => state,
        m => return Err(Error::Init(format!("unexpected message {m:?} from berth"))),
    };
    hooks::run(Stage::CreateContainer, &hooks::of(&plan.spec, Stage::CreateContainer), state.as_bytes())?;
    Ok(state)
}

/// The container's own mount namespace: mounts (still seeing the host's
/// paths), /dev, hooks, pivot_root, then the paths locked down from inside.
fn setup_rootfs(plan: &Plan, chan: &Channel, in_userns: bool, cwd: &Path, steps: &mut StepTimes) -> Result<RootfsDone> {
    let root = mounts::prepare_root(&plan.rootfs)?;
    steps.step("prepare the root (propagation, rootfs bind)");
    mounts::mount_all(root.as_fd(), &plan.rootfs, &plan.idmapped, in_userns, plan.ns.new_cgroup, plan.cgroup.as_ref())?;
    steps.step("mount the config's mounts");
    if plan.rootfs.setup_dev {
        dev::create_devices(root.as_fd(), &crate::rootfs::plan::default_devices(), in_userns)?;
        dev::create_symlinks(root.as_fd())?;
    }
    dev::create_devices(root.as_fd(), &plan.rootfs.devices, in_userns)?;
    paths::mkdir_all(root.as_fd(), cwd, 0o755)?;
    steps.step("create /dev's devices and links, the cwd");
    let state = create_hooks(plan, chan)?;
    if !state.is_empty() {
        steps.step("createContainer hooks");
    }
    finish::pivot(root.as_fd(), &plan.rootfs.rootfs, plan.no_pivot)?;
    drop(root);
    steps.step("pivot_root");
    if !plan.no_pivot {
        finish::detach_old_root()?;
        steps.step("detach the old root");
    }
    // Stdio that is the host's /dev/null is reopened on the container's own
    // (runc's reOpenDevNull): CRIU cannot dump a descriptor of a mount
    // outside the container.
    if plan.rootfs.setup_dev {
        dev::reopen_dev_null()?;
    }
    let proc = set_sysctls(plan)?;
    if !plan.rootfs.masked.is_empty() {
        let null = finish::open_dev_null()?;
        for p in &plan.rootfs.masked {
            finish::mask_path(p, null.as_fd())?;
        }
    }
    steps.step("reopen /dev/null, sysctls, masked paths");
    for p in &plan.rootfs.readonly_paths {
        finish::readonly_path(p)?;
    }
    steps.step("read-only paths");
    // The terminal is bound onto /dev/console by the tail; the file to bind
    // onto is made now, while the root may still be writable.
    let console_target = if plan.terminal { Some(dev::console_target()?) } else { None };
    if plan.rootfs.readonly {
        finish::remount_readonly(Path::new("/"))?;
    }
    if let Some(p) = plan.rootfs.propagation {
        finish::set_root_propagation(p)?;
    }
    steps.step("/dev/console, read-only root, root propagation");
    Ok(RootfsDone { state, proc, console_target })
}

/// No mount namespace of its own: the container shares the host's mounts
/// (runtime-spec: an unlisted namespace is inherited). Mounting there would
/// change the host (so no /dev/console either), berth only chroots into
/// the rootfs; the parent has warned that `mounts` and path restrictions
/// are not applied.
fn setup_shared_mounts(plan: &Plan, chan: &Channel) -> Result<RootfsDone> {
    let state = create_hooks(plan, chan)?;
    nix::unistd::chroot(&plan.rootfs.rootfs).ctx(|| format!("chroot into `{}`", plan.rootfs.rootfs.display()))?;
    nix::unistd::chdir("/").ctx(|| "chdir to `/`".to_string())?;
    let proc = set_sysctls(plan)?;
    Ok(RootfsDone { state, proc, console_target: None })
}
