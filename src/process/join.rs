//! `exec`: a new process inside a running container. The parent joins the
//! container's pid and time namespaces for its children (they only apply
//! to children), clones, puts the child in the container's cgroup; the
//! child joins the other namespaces of the container's init, applies the
//! process' attributes and execs. Mirrors `parent` + `init` for create.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::Process;

use super::attrs::{self, Never};
use super::sync::{self, Channel, Message};
use crate::capabilities::{self, CapPlan};
use crate::error::{Context, Error, Result};
use crate::namespaces::open_proc_ns;
use crate::state::Stored;
use crate::sys::process::{clone_process, Forked};

pub struct ExecOptions {
    pub process: Process,
    pub console: Option<OwnedFd>,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    /// `--cgroup`: sub-cgroups of the container to run in.
    pub cgroup: Vec<String>,
}

struct ExecPlan {
    process: Process,
    caps: CapPlan,
    seccomp: Option<crate::seccomp::Program>,
    labels: crate::lsm::Labels,
    env: Vec<String>,
    keep_fds_below: u32,
    /// Namespaces of the init to join in the child, in order (user first,
    /// mount last).
    join: Vec<(OwnedFd, CloneFlags)>,
    /// pid and time namespaces the child enters after the others, then
    /// forks so that its child is in them: an unprivileged berth cannot
    /// enter them itself (setns needs CAP_SYS_ADMIN in its own user
    /// namespace), but the child has it once in the container's.
    late: Vec<(OwnedFd, CloneFlags)>,
    in_userns: bool,
}

/// Namespace files of the init that differ from ours, as (name, flag).
const ORDER: &[(&str, i32)] = &[
    ("user", libc::CLONE_NEWUSER),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("mnt", libc::CLONE_NEWNS),
];

fn same_ns(pid: i32, name: &str) -> bool {
    let a = std::fs::metadata(format!("/proc/{pid}/ns/{name}"));
    let b = std::fs::metadata(format!("/proc/self/ns/{name}"));
    use std::os::unix::fs::MetadataExt;
    matches!((a, b), (Ok(a), Ok(b)) if a.ino() == b.ino() && a.dev() == b.dev())
}

/// Start `opts.process` in the container; returns its host pid.
pub fn spawn(stored: &Stored, spec: &oci_spec::runtime::Spec, opts: ExecOptions) -> Result<i32> {
    let pid = stored.pid;
    let mut join = Vec::new();
    for (name, flag) in ORDER {
        if !same_ns(pid, name) {
            join.push((open_proc_ns(pid as u32, name)?, CloneFlags::from_bits_retain(*flag)));
        }
    }
    let caps = capabilities::plan(opts.process.capabilities().as_ref())?;
    let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) => Some(crate::seccomp::compile(s)?),
        None => None,
    };
    if opts.process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::config("process.args", "must not be empty"));
    }
    let labels = crate::lsm::plan(Some(&opts.process), "exec process")?;
    let mut plan = ExecPlan {
        labels,
        late: Vec::new(),
        env: opts.process.env().clone().unwrap_or_default(),
        in_userns: join.iter().any(|(_, f)| *f == CloneFlags::CLONE_NEWUSER),
        process: opts.process,
        caps,
        seccomp,
        keep_fds_below: 3 + opts.preserve_fds,
        join,
    };
    let (parent_chan, child_chan) = sync::pair().ctx(|| "create the sync socket".to_string())?;
    // pid and time namespaces: entered for our children around the clone,
    // or by the child itself when we are unprivileged.
    let unprivileged = !nix::unistd::geteuid().is_root();
    let mut restore = Vec::new();
    let mut late = Vec::new();
    for (name, own, flag) in
        [("pid", "pid_for_children", libc::CLONE_NEWPID), ("time", "time_for_children", libc::CLONE_NEWTIME)]
    {
        if !same_ns(pid, name) && !same_ns(pid, own) {
            let flag = CloneFlags::from_bits_retain(flag);
            let target = open_proc_ns(pid as u32, name)?;
            if unprivileged {
                late.push((target, flag));
                continue;
            }
            restore.push((open_proc_ns(std::process::id(), own)?, flag));
            setns(target.as_fd(), flag).ctx(|| format!("join the container's {name} namespace"))?;
        }
    }
    if !late.is_empty() {
        // The process that runs is our grandchild: adopt it when its parent
        // exits, so a foreground exec can wait for it.
        nix::sys::prctl::set_child_subreaper(true).ctx(|| "become a child subreaper".to_string())?;
    }
    plan.late = late;
    let target = match (&stored.cgroup, opts.cgroup.is_empty()) {
        (cg, true) => cg.clone(),
        (Some(cg), false) => Some(cg.sub(&opts.cgroup)?),
        (None, false) => return Err(Error::Usage("--cgroup: the container has no cgroup of its own".into())),
    };
    let cgroup_fd = match &target {
        Some(cg) => cg.open_dir_fd()?,
        None => None,
    };
    let console = opts.console;
    let child = match clone_process(0, cgroup_fd.as_ref().map(|f| f.as_fd())) {
        Ok((Forked::Child, _)) => {
            crate::signals::restore_in_child();
            drop(parent_chan);
            run_child(&plan, child_chan, console.as_ref().map(|c| c.as_fd()))
        }
        Ok((Forked::Parent(p), _)) => p,
        Err(e) => return Err(e).ctx(|| "clone the exec process".to_string()),
    };
    drop(child_chan);
    drop(console);
    for (fd, flag) in restore.into_iter().rev() {
        setns(fd.as_fd(), flag).ctx(|| "return to berth's own namespaces".to_string())?;
    }
    let mut child = child;
    let fail = |child: i32, e: Error| {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
        e
    };
    if cgroup_fd.is_none() {
        if let Some(cg) = &target {
            cg.add_pid(child).map_err(|e| fail(child, e.into()))?;
        }
    }
    parent_chan.send(&Message::Go).ctx(|| "start the exec process".to_string()).map_err(|e| fail(child, e))?;
    loop {
        match parent_chan.recv_with_fd().ctx(|| "read from the exec process".to_string()).map_err(|e| fail(child, e))? {
            Some((Message::Ready, _)) => break,
            Some((Message::Forked(grandchild), _)) if !plan.late.is_empty() && grandchild > 0 => {
                // The child is done; once it is reaped its child is ours.
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
                child = grandchild;
                parent_chan
                    .send(&Message::Go)
                    .ctx(|| "start the exec process".to_string())
                    .map_err(|e| fail(child, e))?;
            }
            Some((Message::SeccompFd, listener)) => {
                let st = stored.oci(crate::state::Status::Running);
                if let Err(e) = super::parent::pass_listener(plan.seccomp.as_ref(), listener, child, &st) {
                    let _ = parent_chan.send(&Message::Error(e.to_string()));
                    return Err(fail(child, e));
                }
                parent_chan
                    .send(&Message::SeccompDone)
                    .ctx(|| "resume the exec process".to_string())
                    .map_err(|e| fail(child, e))?;
            }
            Some((Message::Error(e), _)) => return Err(fail(child, Error::Init(e))),
            _ => return Err(fail(child, Error::Init("the exec process exited during setup".into()))),
        }
    }
    if let Some(p) = &opts.pid_file {
        super::parent::write_pid_file(p, child)?;
    }
    Ok(child)
}

fn run_child(plan: &ExecPlan, chan: Channel, console: Option<BorrowedFd<'_>>) -> ! {
    let r = setup_child(plan, &chan, console);
    let msg = match r {
        Ok(never) => match never {},
        Err(e) => e.to_string(),
    };
    if chan.send(&Message::Error(msg.clone())).is_err() {
        eprintln!("berth exec: {msg}");
    }
    crate::sys::process::exit_now(1)
}

fn setup_child(plan: &ExecPlan, chan: &Channel, console: Option<BorrowedFd<'_>>) -> Result<Never> {
    let _ = nix::sys::prctl::set_dumpable(false);
    match chan.recv().ctx(|| "wait for berth".to_string())? {
        Some(Message::Go) => {}
        _ => crate::sys::process::exit_now(1),
    }
    for (fd, flag) in &plan.join {
        setns(fd.as_fd(), *flag).ctx(|| format!("join the container's namespace ({flag:?})"))?;
    }
    if !plan.late.is_empty() {
        for (fd, flag) in &plan.late {
            setns(fd.as_fd(), *flag).ctx(|| format!("join the container's namespace ({flag:?})"))?;
        }
        match clone_process(0, None).ctx(|| "fork into the container's pid namespace".to_string())? {
            (Forked::Parent(grandchild), _) => {
                let _ = chan.send(&Message::Forked(grandchild));
                crate::sys::process::exit_now(0)
            }
            (Forked::Child, _) => match chan.recv().ctx(|| "wait for berth".to_string())? {
                Some(Message::Go) => {}
                _ => crate::sys::process::exit_now(1),
            },
        }
    }
    let p = &plan.process;
    if p.terminal().unwrap_or(false) {
        attrs::setup_console(console)?;
    }
    attrs::set_rlimits(p)?;
    attrs::set_scheduler(p)?;
    attrs::set_io_priority(p)?;
    let nnp = p.no_new_privileges().unwrap_or(false);
    crate::lsm::apply(&plan.labels)?;
    let guard = attrs::prepare_exec_guard();
    // Before any seccomp profile (which may deny close_range).
    crate::sys::process::cloexec_from(plan.keep_fds_below).ctx(|| "mark descriptors close-on-exec".to_string())?;
    for fd in 3..plan.keep_fds_below {
        crate::sys::process::clear_cloexec(fd as i32).ctx(|| format!("pass descriptor {fd}"))?;
    }
    // As for the init: early without no_new_privs (needs CAP_SYS_ADMIN) or
    // with a notify listener (berth exec passes it to the agent).
    let seccomp_early = plan.seccomp.as_ref().filter(|p| !nnp || p.wants_listener());
    if let Some(prog) = seccomp_early {
        if nnp {
            nix::sys::prctl::set_no_new_privs().ctx(|| "set no_new_privs".to_string())?;
        }
        attrs::load_seccomp(prog, chan)?;
    }
    capabilities::drop_bounding(&plan.caps)?;
    nix::sys::prctl::set_keepcaps(true).ctx(|| "set keepcaps".to_string())?;
    let early = nix::unistd::chdir(p.cwd());
    attrs::set_user(p, plan.in_userns)?;
    nix::sys::prctl::set_keepcaps(false).ctx(|| "clear keepcaps".to_string())?;
    capabilities::apply_sets(&plan.caps)?;
    if early.is_err() {
        nix::unistd::chdir(p.cwd()).ctx(|| format!("chdir to `{}`", p.cwd().display()))?;
    }
    let mut env = plan.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", attrs::home_of(p.user().uid())));
    }
    let args = p.args().clone().unwrap_or_default();
    let arg0 = args.first().cloned().unwrap_or_default();
    let program = super::exec::find(&arg0, &super::exec::path_var(&env), p.cwd()).map_err(Error::Init)?;
    if nnp {
        nix::sys::prctl::set_no_new_privs().ctx(|| "set no_new_privs".to_string())?;
    }
    // Ready goes out before seccomp: the profile may deny sendto.
    chan.send(&Message::Ready).ctx(|| "report ready to berth".to_string())?;
    if let (Some(prog), true, None) = (&plan.seccomp, nnp, seccomp_early) {
        drop(crate::seccomp::install(prog)?);
    }
    crate::sys::process::set_umask(p.user().umask().unwrap_or(0o022));
    attrs::exec(guard.as_ref().map(|g| g.as_fd()), &program, &args, &env)
}
