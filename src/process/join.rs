//! `exec`: a new process inside a running container. The parent joins the
//! container's pid and time namespaces for its children (they only apply
//! to children), clones, puts the child in the container's cgroup; the
//! child joins the other namespaces of the container's init and runs the
//! tail it shares with create's init (`super::finish`).

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::Process;

use super::attrs::Never;
use super::finish::{finish, Tail};
use super::launch::{exec_guard, pass_listener, write_pid_file};
use super::plan::{self, ProcessPlan};
use super::sync::{self, Channel, Message};
use crate::error::{Context, Error, Result};
use crate::namespaces::open_proc_ns;
use crate::state::store::ContainerDir;
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

/// What the exec'd process needs: its plan and the namespaces to join.
struct ExecPlan {
    process: ProcessPlan,
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

/// The process plan of an exec: the `--process` object, with the
/// container's seccomp profile and personality, and the container's
/// oomScoreAdj when the object has none (never the caller's). Pure.
fn plan_exec(spec: &oci_spec::runtime::Spec, process: &Process, preserve_fds: u32) -> Result<ProcessPlan> {
    let inputs = plan::Inputs {
        field: "exec process",
        extra_fds: preserve_fds,
        extra_env: Vec::new(),
        oom_score_adj: spec.process().as_ref().and_then(|p| p.oom_score_adj()),
        // runc's setns init also leaves the caller's session keyring.
        new_keyring: true,
        caller_nofile: super::caller_nofile(),
        exec_cpu_affinity: true,
    };
    plan::plan_process(process, spec.linux().as_ref(), &inputs)
}

/// The container's `linux.intelRdt` group, for an exec'd process.
fn resctrl_group(spec: &oci_spec::runtime::Spec) -> Result<Option<(PathBuf, crate::resctrl::Plan)>> {
    let Some(rdt) = spec.linux().as_ref().and_then(|l| l.intel_rdt().as_ref()) else { return Ok(None) };
    let p = crate::resctrl::plan(rdt)?;
    let host = crate::resctrl::host();
    crate::resctrl::check(&p, host.as_ref())?;
    Ok(host.map(|h| (h.root, p)))
}

/// What the plan asks of the host: the memory policy's nodes and the
/// CPUs of the affinity lists must exist here.
fn check_host(p: &ProcessPlan) -> Result<()> {
    if let Some(mp) = &p.memory_policy {
        crate::placement::check_host_nodes(mp)?;
    }
    for (cpus, field) in [(&p.cpus_initial, "initial"), (&p.cpus_final, "final")] {
        if let Some(cpus) = cpus {
            crate::placement::check_host_cpus(cpus, &format!("exec process.execCPUAffinity.{field}"))?;
        }
    }
    Ok(())
}

/// Start `opts.process` in the container; returns its host pid.
pub fn spawn(stored: &Stored, dir: &ContainerDir, spec: &oci_spec::runtime::Spec, opts: ExecOptions) -> Result<i32> {
    let pid = stored.pid;
    let process = plan_exec(spec, &opts.process, opts.preserve_fds)?;
    crate::lsm::check(&process.labels, "exec process")?;
    check_host(&process)?;
    let resctrl = resctrl_group(spec)?;
    if process.terminal && opts.console.is_none() {
        return Err(Error::Usage("a terminal was requested but no --console-socket given".into()));
    }
    let mut join = Vec::new();
    for (name, flag) in ORDER {
        if !same_ns(pid, name) {
            join.push((open_proc_ns(pid as u32, name)?, CloneFlags::from_bits_retain(*flag)));
        }
    }
    let guard = exec_guard(dir)?;
    let mut plan = ExecPlan {
        late: Vec::new(),
        in_userns: join.iter().any(|(_, f)| *f == CloneFlags::CLONE_NEWUSER) || crate::rootless::in_user_namespace(),
        process,
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
    // The ways into the cgroup that cost no global lock (`cgroups::entry`).
    let mut entry = match &target {
        Some(cg) => cg.entry()?,
        None => crate::cgroups::Entry::default(),
    };
    let console = opts.console;
    // execCPUAffinity.initial: berth itself runs there across the clone, so
    // the process starts on those CPUs before it joins the container's
    // cgroup (config.md), whichever way it joins; berth's own affinity is
    // back right after.
    let own_affinity = match &plan.process.cpus_initial {
        Some(cpus) => Some(crate::placement::pin_self(cpus)?),
        None => None,
    };
    // berth's work before the child may run: moving it where neither the
    // clone nor the child itself can, and the resctrl group. Both sides
    // decide alike whether the child waits for `Go`.
    let go = |in_cgroup: bool| resctrl.is_some() || target.as_ref().is_some_and(|cg| cg.rest_needed(in_cgroup));
    let forked = clone_process(0, entry.into.as_ref().map(|f| f.as_fd()));
    if let Some(own) = &own_affinity {
        if !matches!(forked, Ok(Forked::Child { .. })) {
            crate::placement::restore_self(own)?;
        }
    }
    let (child, in_cgroup) = match forked {
        Ok(Forked::Child { in_cgroup }) => {
            crate::signals::restore_in_child();
            drop(parent_chan);
            run_child(&plan, child_chan, console, guard, std::mem::take(&mut entry.tasks), go(in_cgroup))
        }
        Ok(Forked::Parent { pid, in_cgroup }) => (pid, in_cgroup),
        Err(e) => return Err(e).ctx(|| "clone the exec process".to_string()),
    };
    drop(child_chan);
    drop(console);
    drop(guard);
    drop(entry);
    for (fd, flag) in restore.into_iter().rev() {
        setns(fd.as_fd(), flag).ctx(|| "return to berth's own namespaces".to_string())?;
    }
    let mut child = child;
    let fail = |child: i32, e: Error| {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
        e
    };
    // Into the cgroup before it runs anything, where the kernel did not put
    // it there at birth (clone3 may be refused, e.g. under Docker's
    // profile) and it cannot move itself.
    if let Some(cg) = &target {
        cg.add_rest(child, in_cgroup).map_err(|e| fail(child, e.into()))?;
    }
    // The container's resctrl group (and MON group), like its cgroup.
    if let Some((root, p)) = &resctrl {
        crate::resctrl::add_pid(root, p, &stored.id, child).map_err(|e| fail(child, e))?;
    }
    if go(in_cgroup) {
        parent_chan.send(&Message::Go).ctx(|| "start the exec process".to_string()).map_err(|e| fail(child, e))?;
    }
    loop {
        match parent_chan.recv_with_fd().ctx(|| "read from the exec process".to_string()).map_err(|e| fail(child, e))? {
            Some((Message::Ready, _)) => break,
            Some((Message::Steps(steps), _)) => crate::logging::log_steps("exec: process", &steps),
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
                if let Err(e) = pass_listener(plan.process.seccomp.as_ref(), listener, child, &st) {
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
        write_pid_file(p, child)?;
    }
    Ok(child)
}

/// The exec'd process: `tasks` are the cgroup files it moves itself into,
/// `go` whether it waits for berth first. Never returns: every way out is
/// here.
fn run_child(
    plan: &ExecPlan,
    chan: Channel,
    console: Option<OwnedFd>,
    guard: OwnedFd,
    tasks: Vec<(PathBuf, OwnedFd)>,
    go: bool,
) -> ! {
    let e = match setup_child(plan, &chan, console, guard, tasks, go) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // The program could not be executed: berth exec already let go of us,
    // so the reason goes to the process' stderr and the status says it.
    if let Error::Exec { code, .. } = e {
        eprintln!("berth: {e}");
        crate::sys::process::exit_now(code)
    }
    let msg = crate::error::report(&e);
    if chan.send(&Message::Error(msg.clone())).is_err() {
        eprintln!("berth exec: {msg}");
    }
    crate::sys::process::exit_now(1)
}

fn wait_go(chan: &Channel) -> Result<()> {
    match chan.recv().ctx(|| "wait for berth".to_string())? {
        Some(Message::Go) => Ok(()),
        _ => Err(Error::Init("berth exited before the exec process started".into())),
    }
}

fn setup_child(
    plan: &ExecPlan,
    chan: &Channel,
    console: Option<OwnedFd>,
    guard: OwnedFd,
    tasks: Vec<(PathBuf, OwnedFd)>,
    go: bool,
) -> Result<Never> {
    let mut steps = crate::logging::StepTimes::new();
    nix::sys::prctl::set_dumpable(false).ctx(|| "make the exec process non-dumpable".to_string())?;
    if go {
        wait_go(chan)?;
    }
    crate::cgroups::enter_self(&tasks)?;
    // Host cgroup files have no business in the container's namespaces.
    drop(tasks);
    for (fd, flag) in &plan.join {
        setns(fd.as_fd(), *flag).ctx(|| format!("join the container's namespace ({flag:?})"))?;
    }
    if !plan.late.is_empty() {
        for (fd, flag) in &plan.late {
            setns(fd.as_fd(), *flag).ctx(|| format!("join the container's namespace ({flag:?})"))?;
        }
        match clone_process(0, None).ctx(|| "fork into the container's pid namespace".to_string())? {
            Forked::Parent { pid: grandchild, .. } => {
                let _ = chan.send(&Message::Forked(grandchild));
                crate::sys::process::exit_now(0)
            }
            Forked::Child { .. } => wait_go(chan)?,
        }
    }
    steps.step("enter the cgroup, join the namespaces");
    let in_userns = plan.in_userns;
    let tail = Tail { chan, guard, console, console_target: None, proc: None, keep: Vec::new(), in_userns, steps };
    finish(&plan.process, tail, |chan| {
        // Ready goes out before the late seccomp profile, which may deny sendto.
        chan.send(&Message::Ready).ctx(|| "report ready to berth".to_string())?;
        Ok(super::finish::Started(None))
    })
}
