//! The container side of create: the cloned child runs this setup script,
//! top to bottom in the order the runtime-spec and the kernel require, and
//! ends in execve. It never returns: on failure it reports over the sync
//! channel and leaves with `_exit`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::{unshare, CloneFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::sync::{Channel, Message};
use super::Plan;
use crate::error::{Context, Error, Result};
use crate::hooks::{self, Stage};
use crate::rootfs::{dev, finish, mounts, paths};
use crate::sys::process as sp;

/// Descriptors the init inherits from the parent.
pub struct InitFds {
    pub chan: Channel,
    /// O_PATH descriptor of the state directory holding the exec fifo (a
    /// directory, so the fifo can be opened with openat(2) even from a
    /// root without /proc).
    pub state_dir: Option<OwnedFd>,
    /// Connected `--console-socket` (terminal only).
    pub console: Option<OwnedFd>,
}

/// Run the init. Never returns.
pub fn run(plan: &Plan, fds: InitFds) -> ! {
    let code = match setup(plan, &fds) {
        Ok(never) => match never {},
        Err(e) => {
            let msg = e.to_string();
            if fds.chan.send(&Message::Error(msg.clone())).is_err() {
                eprintln!("berth init: {msg}");
            }
            1
        }
    };
    sp::exit_now(code)
}

use super::attrs::{self, Never};

fn wait_for(chan: &Channel, want: &str) -> Result<Message> {
    match chan.recv().ctx(|| format!("wait for `{want}` from berth"))? {
        Some(Message::Error(e)) => Err(Error::Init(e)),
        Some(m) => Ok(m),
        // The parent is gone (killed during create): nothing left to do.
        None => sp::exit_now(1),
    }
}

fn process(plan: &Plan) -> Result<&Process> {
    plan.spec.process().as_ref().ok_or_else(|| Error::config("process", "is required"))
}

fn setup(plan: &Plan, fds: &InitFds) -> Result<Never> {
    // 1. The parent writes our id maps and puts us in the cgroup first
    //    (an unprivileged parent can only write the maps of a dumpable
    //    process: /proc/<pid> of a non-dumpable one belongs to root).
    wait_for(&fds.chan, "go")?;
    // Until the final exec this process is a copy of berth: keep other
    // processes (in the container too, once it shares our pid namespace
    // with `exec`'d ones) from opening /proc/<pid>/exe or our memory.
    let _ = nix::sys::prctl::set_dumpable(false);
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
    set_uts(plan)?;
    set_oom_score_adj(plan)?;
    // 3-5. The root filesystem, the create hooks, the switch of root.
    sp::set_umask(0);
    let cwd = plan.spec.process().as_ref().map(|p| p.cwd().clone()).unwrap_or_else(|| "/".into());
    let state =
        if plan.ns.has_mountns() { setup_rootfs(plan, fds, in_userns, &cwd)? } else { setup_shared_mounts(plan, fds)? };
    if plan.spec.process().is_none() {
        // Created without a process: `start` refuses to run it; the init
        // only holds the container's namespaces (and its created marker)
        // until it is deleted.
        let _created = report_created(&fds.chan, fds.state_dir.as_ref().map(|d| d.as_fd()))?;
        loop {
            nix::unistd::pause();
        }
    }
    // 6. Process attributes that need privileges we are about to drop.
    if !plan.no_new_keyring {
        // EPERM/ENOSYS (keyrings disabled, or blocked by an outer profile)
        // is not fatal, as in runc.
        let _ = sp::join_new_session_keyring();
    }
    let proc_ = process(plan)?;
    attrs::set_rlimits(proc_)?;
    set_personality(plan)?;
    attrs::set_scheduler(proc_)?;
    attrs::set_io_priority(proc_)?;
    let guard = attrs::prepare_exec_guard();
    // Before any seccomp profile (which may deny close_range).
    sp::cloexec_from(plan.keep_fds_below).ctx(|| "mark inherited descriptors close-on-exec".to_string())?;
    for fd in 3..plan.keep_fds_below {
        sp::clear_cloexec(fd as i32).ctx(|| format!("pass descriptor {fd} to the container"))?;
    }
    // The AppArmor profile / SELinux label the execve will take on.
    crate::lsm::apply(&plan.labels)?;
    // 7. Credentials: bounding set, then uid/gid with keepcaps, then the
    //    other capability sets (capabilities(7)).
    let no_new_privs = proc_.no_new_privileges().unwrap_or(false);
    // Without no_new_privs the filter needs CAP_SYS_ADMIN: load it while we
    // still hold it (runc does the same). A profile with a notify listener
    // is loaded now too, while berth is here to pass the listener on.
    let early = plan.seccomp.as_ref().filter(|p| !no_new_privs || p.wants_listener());
    if let Some(prog) = early {
        if no_new_privs {
            nix::sys::prctl::set_no_new_privs().ctx(|| "set no_new_privs".to_string())?;
        }
        attrs::load_seccomp(prog, &fds.chan)?;
    }
    crate::capabilities::drop_bounding(&plan.caps)?;
    nix::sys::prctl::set_keepcaps(true).ctx(|| "set keepcaps".to_string())?;
    let chdir_early = nix::unistd::chdir(&cwd);
    attrs::set_user(proc_, in_userns)?;
    nix::sys::prctl::set_keepcaps(false).ctx(|| "clear keepcaps".to_string())?;
    crate::capabilities::apply_sets(&plan.caps)?;
    if chdir_early.is_err() {
        nix::unistd::chdir(&cwd).ctx(|| format!("chdir to cwd `{}` set in config.json", cwd.display()))?;
    }
    // 8. The program must exist now: an error here fails create, as runc.
    let mut env = plan.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", attrs::home_of(proc_.user().uid())));
    }
    let args = proc_.args().clone().unwrap_or_default();
    let arg0 = args.first().cloned().unwrap_or_default();
    let program = super::exec::find(&arg0, &super::exec::path_var(&env), &cwd).map_err(Error::Init)?;
    // 9. Created: tell berth, then wait for `start` on the exec fifo.
    let started = wait_for_start(&fds.chan, fds.state_dir.as_ref().map(|d| d.as_fd()), plan, &state)?;
    let tail = || -> Result<Never> {
        if no_new_privs && early.is_none() {
            nix::sys::prctl::set_no_new_privs().ctx(|| "set no_new_privs".to_string())?;
            if let Some(prog) = &plan.seccomp {
                // no listener here (it would have been loaded early)
                drop(crate::seccomp::install(prog)?);
            }
        }
        sp::set_umask(proc_.user().umask().unwrap_or(0o022));
        attrs::exec(guard.as_ref().map(|g| g.as_fd()), &program, &args, &env)
    };
    // Only returns on failure, which `start` then reports.
    let Err(e) = tail();
    Err(started.failed(e))
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

fn set_oom_score_adj(plan: &Plan) -> Result<()> {
    if let Some(v) = plan.spec.process().as_ref().and_then(|p| p.oom_score_adj()) {
        std::fs::write("/proc/self/oom_score_adj", v.to_string()).ctx(|| format!("set oom_score_adj to {v}"))?;
    }
    Ok(())
}

fn set_sysctls(plan: &Plan) -> Result<()> {
    for (k, v) in plan.spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()).into_iter().flatten() {
        let path = PathBuf::from("/proc/sys").join(k.replace('.', "/"));
        std::fs::write(&path, v).ctx(|| format!("set sysctl `{k}` to `{v}`"))?;
    }
    Ok(())
}

fn set_personality(plan: &Plan) -> Result<()> {
    let Some(p) = plan.spec.linux().as_ref().and_then(|l| l.personality().as_ref()) else { return Ok(()) };
    let persona = match p.domain() {
        oci_spec::runtime::LinuxPersonalityDomain::PerLinux => 0x0000,
        oci_spec::runtime::LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    sp::set_personality(persona).ctx(|| format!("set personality {:?}", p.domain()))
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

/// The init's end of the exec fifo after `start` released it. It stays
/// open (close-on-exec) until the execve: its EOF tells `start` that the
/// program was executed, so poststart hooks run after the exec
/// (config.md#poststart).
struct Started(Option<OwnedFd>);

impl Started {
    /// The exec (or a step before it) failed: tell `start`, which waits on
    /// the fifo, before leaving.
    fn failed(self, e: Error) -> Error {
        if let Some(fd) = &self.0 {
            let _ = nix::unistd::write(fd, format!("E{e}").as_bytes());
        }
        e
    }
}

/// Report created, block until `berth start` opens the exec fifo for
/// reading, then (no longer `created`: the marker is dropped at once, so
/// a `start` killed from here on leaves a `running` container, never a
/// `created` one that runs) run the startContainer hooks and answer
/// through the fifo: `0` to go on (the fifo then stays open until the
/// exec), or `E<message>` so that `start` fails with the hook's error.
fn wait_for_start(chan: &Channel, state_dir: Option<BorrowedFd<'_>>, plan: &Plan, state: &str) -> Result<Started> {
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
        sp::exit_now(1);
    }
    // EPIPE: the `start` that released us was killed. We were released all
    // the same (and `state` already says running): go on.
    let _ = nix::unistd::write(&fd, b"0");
    Ok(Started(Some(fd)))
}

fn create_hooks(plan: &Plan, fds: &InitFds) -> Result<String> {
    // prestart/createRuntime hooks run in the parent, then createContainer
    // hooks here, before the root is switched (runtime.md lifecycle).
    fds.chan.send(&Message::CreateHooks).ctx(|| "ask berth to run the create hooks".to_string())?;
    let state = match wait_for(&fds.chan, "hooks done")? {
        Message::HooksDone(state) => state,
        m => return Err(Error::Init(format!("unexpected message {m:?} from berth"))),
    };
    hooks::run(Stage::CreateContainer, &hooks::of(&plan.spec, Stage::CreateContainer), state.as_bytes())?;
    Ok(state)
}

/// The container's own mount namespace: mounts (still seeing the host's
/// paths), /dev, hooks, pivot_root, then the paths locked down from inside.
fn setup_rootfs(plan: &Plan, fds: &InitFds, in_userns: bool, cwd: &Path) -> Result<String> {
    let root = mounts::prepare_root(&plan.rootfs)?;
    mounts::mount_all(root.as_fd(), &plan.rootfs, &plan.idmapped, in_userns, plan.ns.new_cgroup, plan.cgroup.as_ref())?;
    if plan.rootfs.setup_dev {
        dev::create_devices(root.as_fd(), &crate::rootfs::plan::default_devices(), in_userns)?;
        dev::create_symlinks(root.as_fd())?;
    }
    dev::create_devices(root.as_fd(), &plan.rootfs.devices, in_userns)?;
    paths::mkdir_all(root.as_fd(), cwd, 0o755)?;
    let state = create_hooks(plan, fds)?;
    finish::pivot(root.as_fd(), &plan.rootfs.rootfs, plan.no_pivot)?;
    drop(root);
    set_sysctls(plan)?;
    for p in &plan.rootfs.masked {
        finish::mask_path(p)?;
    }
    for p in &plan.rootfs.readonly_paths {
        finish::readonly_path(p)?;
    }
    if plan.terminal {
        attrs::setup_console(fds.console.as_ref().map(|f| f.as_fd()))?;
    }
    if plan.rootfs.readonly {
        finish::remount_readonly(Path::new("/"))?;
    }
    if let Some(p) = plan.rootfs.propagation {
        finish::set_root_propagation(p)?;
    }
    Ok(state)
}

/// No mount namespace of its own: the container shares the host's mounts
/// (runtime-spec: an unlisted namespace is inherited). Mounting there would
/// change the host, so berth only chroots into the rootfs; the parent has
/// warned that `mounts` and path restrictions are not applied.
fn setup_shared_mounts(plan: &Plan, fds: &InitFds) -> Result<String> {
    let state = create_hooks(plan, fds)?;
    nix::unistd::chroot(&plan.rootfs.rootfs).ctx(|| format!("chroot into `{}`", plan.rootfs.rootfs.display()))?;
    nix::unistd::chdir("/").ctx(|| "chdir to `/`".to_string())?;
    set_sysctls(plan)?;
    if plan.terminal {
        attrs::setup_console(fds.console.as_ref().map(|f| f.as_fd()))?;
    }
    Ok(state)
}
