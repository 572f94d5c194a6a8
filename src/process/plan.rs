//! The plan of one container process: what create's init will run once
//! `start` comes, or what `exec` runs. Built by [`plan_process`] from the
//! OCI `process` object (the config's, or exec's `--process` file) and the
//! container's `linux` section, before any side effect. Pure: no
//! descriptors, no /proc or /sys reads, no logging, so every mistake in the
//! process object is an error before anything exists, and the whole
//! translation is unit-tested by value. [`super::finish`] applies it.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Linux, PosixRlimitType, Process};

use crate::capabilities::{self, CapPlan};
use crate::error::{Error, Result};
use crate::placement;
use crate::sys::process::SchedAttr;

/// One setrlimit(2) call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// Who the process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPlan {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: u32,
}

/// Everything about one container process, translated and checked.
#[derive(Debug)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    /// The environment, without HOME when the config has none (HOME comes
    /// from the container's /etc/passwd, read in the container).
    pub env: Vec<String>,
    pub cwd: PathBuf,
    pub user: UserPlan,
    pub caps: CapPlan,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privs: bool,
    pub seccomp: Option<crate::seccomp::Program>,
    pub labels: crate::lsm::Labels,
    pub scheduler: Option<SchedAttr>,
    /// ioprio class and level.
    pub io_priority: Option<(u32, u32)>,
    pub oom_score_adj: Option<i32>,
    pub personality: Option<libc::c_ulong>,
    pub terminal: bool,
    /// Descriptors 3.. up to (not including) this number reach the program.
    pub keep_fds_below: u32,
    /// Join a new session keyring (unless `--no-new-keyring`).
    pub new_keyring: bool,
    /// The pty's window size (rows, columns), from `consoleSize`.
    pub console_size: Option<(u16, u16)>,
    /// `linux.memoryPolicy`, for every process of the container.
    pub memory_policy: Option<crate::placement::MemoryPolicy>,
    /// `execCPUAffinity.initial`: the CPUs berth runs on around the clone,
    /// so the process starts there before it joins the container's cgroup.
    pub cpus_initial: Option<Vec<u32>>,
    /// `execCPUAffinity.final`: the CPUs the process is pinned to once in
    /// the container's cgroup.
    pub cpus_final: Option<Vec<u32>>,
}

/// What the caller adds to the process object.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// How the process is named in errors: `process` (config.json) or
    /// `exec process`.
    pub field: &'static str,
    /// Descriptors from 3 passed on (LISTEN_FDS, `--preserve-fds`).
    pub extra_fds: u32,
    /// Variables appended to the environment, replacing the same names.
    pub extra_env: Vec<String>,
    /// oom_score_adj when the process object has none (exec: the
    /// container's, not the caller's).
    pub oom_score_adj: Option<i32>,
    pub new_keyring: bool,
    /// berth's caller's RLIMIT_NOFILE (soft, hard): berth raises its own,
    /// and a process whose object sets none gets the caller's back.
    pub caller_nofile: Option<(u64, u64)>,
    /// Take `execCPUAffinity`: an exec'd process only (config.md: "This
    /// setting is not applicable to the container's init process").
    pub exec_cpu_affinity: bool,
}

pub fn plan_process(p: &Process, linux: Option<&Linux>, inputs: &Inputs) -> Result<ProcessPlan> {
    let field = inputs.field;
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(Error::config(format!("{field}.args"), "must not be empty"));
    }
    if !p.cwd().is_absolute() {
        return Err(Error::config(format!("{field}.cwd"), format!("`{}` is not an absolute path", p.cwd().display())));
    }
    let mut env = p.env().clone().unwrap_or_default();
    for extra in &inputs.extra_env {
        let name = extra.split('=').next().unwrap_or_default();
        env.retain(|e| e.split('=').next() != Some(name));
        env.push(extra.clone());
    }
    for (what, list) in [("args", &args), ("env", &env)] {
        if let Some(bad) = list.iter().find(|s| s.contains('\0')) {
            return Err(Error::config(
                format!("{field}.{what}"),
                format!("`{}` contains a NUL byte", bad.escape_debug()),
            ));
        }
    }
    if p.cwd().as_os_str().as_encoded_bytes().contains(&0) {
        return Err(Error::config(format!("{field}.cwd"), "contains a NUL byte"));
    }
    let u = p.user();
    let user = UserPlan {
        uid: u.uid(),
        gid: u.gid(),
        additional_gids: u.additional_gids().clone().unwrap_or_default(),
        umask: u.umask().unwrap_or(0o022),
    };
    let caps = capabilities::plan(p.capabilities().as_ref())?;
    let seccomp = match linux.and_then(|l| l.seccomp().as_ref()) {
        Some(s) => Some(crate::seccomp::compile(s)?),
        None => None,
    };
    let memory_policy = match linux.and_then(|l| l.memory_policy().as_ref()) {
        Some(mp) => Some(crate::placement::plan_memory_policy(mp)?),
        None => None,
    };
    let (cpus_initial, cpus_final) = match p.exec_cpu_affinity().as_ref().filter(|_| inputs.exec_cpu_affinity) {
        Some(a) => (
            placement::plan_cpus(a.initial().as_deref(), &format!("{field}.execCPUAffinity.initial"))?,
            placement::plan_cpus(a.cpu_affinity_final().as_deref(), &format!("{field}.execCPUAffinity.final"))?,
        ),
        None => (None, None),
    };
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let labels = crate::lsm::Labels { apparmor: nonempty(p.apparmor_profile()), selinux: nonempty(p.selinux_label()) };
    Ok(ProcessPlan {
        args,
        env,
        cwd: p.cwd().clone(),
        user,
        caps,
        rlimits: rlimits(p, field, inputs.caller_nofile)?,
        no_new_privs: p.no_new_privileges().unwrap_or(false),
        seccomp,
        labels,
        scheduler: scheduler(p),
        io_priority: io_priority(p),
        oom_score_adj: p.oom_score_adj().or(inputs.oom_score_adj),
        personality: personality(linux),
        terminal: p.terminal().unwrap_or(false),
        keep_fds_below: 3 + inputs.extra_fds,
        new_keyring: inputs.new_keyring,
        console_size: console_size(p, field)?,
        memory_policy,
        cpus_initial,
        cpus_final,
    })
}

fn console_size(p: &Process, field: &str) -> Result<Option<(u16, u16)>> {
    let Some(b) = p.console_size() else { return Ok(None) };
    let dim = |v: u64, what: &str| {
        u16::try_from(v).map_err(|_| {
            Error::config(format!("{field}.consoleSize.{what}"), format!("{v} is larger than a terminal can be"))
        })
    };
    Ok(Some((dim(b.height(), "height")?, dim(b.width(), "width")?)))
}

fn rlimit_number(t: PosixRlimitType) -> u32 {
    match t {
        PosixRlimitType::RlimitCpu => libc::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => libc::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => libc::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => libc::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => libc::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => libc::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => libc::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => libc::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => libc::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => libc::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => libc::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => libc::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// config.md: "the runtime MUST generate an error" for a soft limit above
/// the hard one (setrlimit would fail later, after side effects) and for
/// the same type twice.
fn rlimits(p: &Process, field: &str, caller_nofile: Option<(u64, u64)>) -> Result<Vec<Rlimit>> {
    let mut out: Vec<Rlimit> = Vec::new();
    for r in p.rlimits().iter().flatten() {
        let resource = rlimit_number(r.typ());
        let name = || format!("{field}.rlimits {:?}", r.typ());
        if r.soft() > r.hard() {
            return Err(Error::config(name(), format!("soft limit {} is above hard limit {}", r.soft(), r.hard())));
        }
        if out.iter().any(|o| o.resource == resource) {
            return Err(Error::config(name(), "is given twice"));
        }
        out.push(Rlimit { resource, soft: r.soft(), hard: r.hard() });
    }
    if let Some((soft, hard)) = caller_nofile.filter(|_| !out.iter().any(|r| r.resource == libc::RLIMIT_NOFILE)) {
        out.push(Rlimit { resource: libc::RLIMIT_NOFILE, soft, hard });
    }
    Ok(out)
}

fn scheduler(p: &Process) -> Option<SchedAttr> {
    use oci_spec::runtime::{LinuxSchedulerFlag as F, LinuxSchedulerPolicy as P};
    let s = p.scheduler().as_ref()?;
    let policy = match s.policy() {
        P::SchedOther => 0,
        P::SchedFifo => 1,
        P::SchedRr => 2,
        P::SchedBatch => 3,
        P::SchedIso => 4,
        P::SchedIdle => 5,
        P::SchedDeadline => 6,
    };
    let flags = s
        .flags()
        .iter()
        .flatten()
        .map(|f| match f {
            F::SchedResetOnFork => 0x01,
            F::SchedFlagReclaim => 0x02,
            F::SchedFlagDLOverrun => 0x04,
            F::SchedFlagKeepPolicy => 0x08,
            F::SchedFlagKeepParams => 0x10,
            F::SchedFlagUtilClampMin => 0x20,
            F::SchedFlagUtilClampMax => 0x40,
        })
        .fold(0u64, |a, b| a | b);
    Some(SchedAttr {
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0).max(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    })
}

fn io_priority(p: &Process) -> Option<(u32, u32)> {
    use oci_spec::runtime::IOPriorityClass as C;
    let io = p.io_priority().as_ref()?;
    let class = match io.class() {
        C::IoprioClassRt => 1,
        C::IoprioClassBe => 2,
        C::IoprioClassIdle => 3,
    };
    Some((class, io.priority().clamp(0, 7) as u32))
}

fn personality(linux: Option<&Linux>) -> Option<libc::c_ulong> {
    let p = linux?.personality().as_ref()?;
    Some(match p.domain() {
        oci_spec::runtime::LinuxPersonalityDomain::PerLinux => 0x0000,
        oci_spec::runtime::LinuxPersonalityDomain::PerLinux32 => 0x0008,
    })
}

/// The working directory, relative to the container's root (for openat2
/// with RESOLVE_IN_ROOT).
pub fn cwd_in_root(cwd: &Path) -> PathBuf {
    let rel: PathBuf = cwd.components().filter(|c| !matches!(c, std::path::Component::RootDir)).collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(json: &str) -> Process {
        serde_json::from_str(json).unwrap()
    }

    fn inputs() -> Inputs {
        Inputs { field: "process", ..Default::default() }
    }

    #[test]
    fn translates_every_attribute() {
        let p = process(
            r#"{"args":["sh","-c","x"],"cwd":"/work","env":["PATH=/bin","LISTEN_FDS=9"],
            "user":{"uid":1000,"gid":100,"additionalGids":[5,6],"umask":63},
            "rlimits":[{"type":"RLIMIT_NOFILE","soft":10,"hard":20}],
            "noNewPrivileges":true,"oomScoreAdj":5,"terminal":true,
            "scheduler":{"policy":"SCHED_BATCH","nice":3,"flags":["SCHED_FLAG_KEEP_POLICY"]},
            "ioPriority":{"class":"IOPRIO_CLASS_IDLE","priority":9},
            "capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}}"#,
        );
        let linux: Linux = serde_json::from_str(r#"{"personality":{"domain":"LINUX32"}}"#).unwrap();
        let i = Inputs { extra_fds: 2, extra_env: vec!["LISTEN_FDS=2".into()], new_keyring: true, ..inputs() };
        let plan = plan_process(&p, Some(&linux), &i).unwrap();
        assert_eq!(plan.args, ["sh", "-c", "x"]);
        assert_eq!(plan.env, ["PATH=/bin", "LISTEN_FDS=2"]);
        assert_eq!(plan.cwd, PathBuf::from("/work"));
        assert_eq!(plan.user, UserPlan { uid: 1000, gid: 100, additional_gids: vec![5, 6], umask: 0o77 });
        assert_eq!(plan.rlimits, [Rlimit { resource: libc::RLIMIT_NOFILE, soft: 10, hard: 20 }]);
        assert!(plan.no_new_privs && plan.terminal && plan.new_keyring);
        assert_eq!(plan.oom_score_adj, Some(5));
        let s = plan.scheduler.unwrap();
        assert_eq!((s.policy, s.nice, s.flags), (3, 3, 8));
        assert_eq!(plan.io_priority, Some((3, 7)));
        assert_eq!(plan.personality, Some(8));
        assert_eq!(plan.keep_fds_below, 5);
        assert!(plan.seccomp.is_none());
        assert_eq!(plan.caps.bounding.len(), 1);
    }

    #[test]
    fn placement_and_console_size() {
        let p = process(
            r#"{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0},"consoleSize":{"height":40,"width":132},
            "execCPUAffinity":{"initial":"1","final":"0-1"}}"#,
        );
        let linux: Linux =
            serde_json::from_str(r#"{"memoryPolicy":{"mode":"MPOL_INTERLEAVE","nodes":"0,2"}}"#).unwrap();
        let exec = Inputs { field: "exec process", exec_cpu_affinity: true, ..inputs() };
        let plan = plan_process(&p, Some(&linux), &exec).unwrap();
        assert_eq!(plan.console_size, Some((40, 132)));
        assert_eq!(plan.cpus_initial, Some(vec![1]));
        assert_eq!(plan.cpus_final, Some(vec![0, 1]));
        let mp = plan.memory_policy.unwrap();
        assert_eq!((mp.mode, mp.nodemask), (3, vec![0b101]));
        // config.md: execCPUAffinity "is not applicable to the container's
        // init process"; the memory policy is for every process.
        let init = plan_process(&p, Some(&linux), &inputs()).unwrap();
        assert_eq!((init.cpus_initial, init.cpus_final), (None, None));
        assert!(init.memory_policy.is_some());
        let e = plan_process(
            &process(r#"{"args":["x"],"cwd":"/","user":{"uid":0,"gid":0},"consoleSize":{"height":70000,"width":1}}"#),
            None,
            &inputs(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("process.consoleSize.height"), "{e}");
        let e =
            plan_process(&p, Some(&serde_json::from_str(r#"{"memoryPolicy":{"mode":"MPOL_BIND"}}"#).unwrap()), &exec)
                .unwrap_err()
                .to_string();
        assert!(e.contains("linux.memoryPolicy.nodes"), "{e}");
    }

    #[test]
    fn defaults_and_fallbacks() {
        let p = process(r#"{"args":["true"],"cwd":"/","user":{"uid":0,"gid":0}}"#);
        let i = Inputs { oom_score_adj: Some(-17), caller_nofile: Some((64, 4096)), ..inputs() };
        let plan = plan_process(&p, None, &i).unwrap();
        assert_eq!(plan.user.umask, 0o022);
        assert_eq!(plan.oom_score_adj, Some(-17), "exec falls back to the container's oomScoreAdj");
        assert_eq!(plan.keep_fds_below, 3);
        assert!(!plan.terminal && !plan.no_new_privs);
        // berth raised its own RLIMIT_NOFILE: the process gets the caller's.
        assert_eq!(plan.rlimits, [Rlimit { resource: libc::RLIMIT_NOFILE, soft: 64, hard: 4096 }]);
        assert_eq!(cwd_in_root(Path::new("/")), PathBuf::from("."));
        assert_eq!(cwd_in_root(Path::new("/a/b")), PathBuf::from("a/b"));
    }

    #[test]
    fn refuses_what_would_fail_later() {
        let err = |json: &str| plan_process(&process(json), None, &inputs()).unwrap_err().to_string();
        let e = err(r#"{"args":[],"cwd":"/","user":{"uid":0,"gid":0}}"#);
        assert!(e.contains("process.args") && e.contains("empty"), "{e}");
        let e = err(r#"{"args":["x"],"cwd":"rel","user":{"uid":0,"gid":0}}"#);
        assert!(e.contains("process.cwd") && e.contains("absolute"), "{e}");
        let e = err(r#"{"args":["a\u0000b"],"cwd":"/","user":{"uid":0,"gid":0}}"#);
        assert!(e.contains("NUL"), "{e}");
        let e = err(
            r#"{"args":["x"],"cwd":"/","user":{"uid":0,"gid":0},"rlimits":[{"type":"RLIMIT_CPU","soft":2,"hard":1}]}"#,
        );
        assert!(e.contains("RlimitCpu") && e.contains("above"), "{e}");
        let e = err(
            r#"{"args":["x"],"cwd":"/","user":{"uid":0,"gid":0},"rlimits":[{"type":"RLIMIT_CPU","soft":1,"hard":1},
            {"type":"RLIMIT_CPU","soft":1,"hard":1}]}"#,
        );
        assert!(e.contains("twice"), "{e}");
    }
}
