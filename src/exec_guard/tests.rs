//! Tests of the exec guard on this host (no root needed): the sealed memfd,
//! and real runs through the native trampoline in a forked, ptraced child,
//! recording `/proc/<pid>/exe` after every exec. `trampoline_tests.rs` checks
//! every architecture's trampoline on its own.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;

use nix::fcntl::OFlag;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::trampoline_tests::native_runs_here;
use super::*;
use crate::sys::exe::fork_child;

fn cstrings(v: &[&str]) -> Vec<CString> {
    v.iter().map(|s| CString::new(*s).unwrap()).collect()
}

/// Where the host refuses executable memfds, the trampoline goes into an
/// unnamed read-only O_TMPFILE, and programs still run through it.
#[test]
fn tmpfile_fallback_runs_the_trampoline() {
    if !native_runs_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = nix::fcntl::open(
        dir.path(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    let fd = prepare_tmpfile(d.as_fd()).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the copy has no name");
    let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFL).unwrap();
    assert_eq!(flags & libc::O_ACCMODE, libc::O_RDONLY, "no writer, or exec fails with ETXTBSY");
    let mut content = Vec::new();
    File::from(fd.try_clone().unwrap()).read_to_end(&mut content).unwrap();
    assert_eq!(content, TRAMPOLINE);
    let (program, argv) = (c"/bin/sh", cstrings(&["sh", "-c", "exit 7"]));
    let pid = fork_child(|| {
        drop(exec(fd.as_fd(), program, &argv, &[]));
        93
    })
    .unwrap();
    assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 7));
}

#[test]
fn prepare_makes_a_sealed_copy() {
    let fd = prepare(None).unwrap();
    assert_eq!(crate::sys::exe::get_seals(fd.as_fd()).unwrap(), SEALS);
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
    assert!(link.to_string_lossy().starts_with("/memfd:berth-exec"), "{link:?}");
    let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFD).unwrap();
    assert_ne!(flags & libc::FD_CLOEXEC, 0, "close-on-exec");

    let mut file = File::from(fd);
    assert_eq!(file.metadata().unwrap().len(), TRAMPOLINE.len() as u64);
    let mut content = Vec::new();
    std::io::Seek::rewind(&mut file).unwrap();
    file.read_to_end(&mut content).unwrap();
    assert_eq!(content, TRAMPOLINE);
    assert!(file.write_all(b"x").is_err(), "F_SEAL_WRITE");
    assert!(file.set_len(1).is_err(), "F_SEAL_SHRINK");
    assert!(file.set_len(4096).is_err(), "F_SEAL_GROW");
}

/// What happened at one exec stop of the traced child.
#[derive(Debug)]
struct Stop {
    /// `/proc/<pid>/exe` right after the exec.
    exe: String,
    /// Only probed for the memfd (never write-open a host binary): whether
    /// the link could be opened for writing *and* written.
    writable: bool,
    /// Whether the `[stack]` mapping is executable.
    exec_stack: bool,
}

struct Run {
    status: WaitStatus,
    stdout: String,
    stderr: String,
    stops: Vec<Stop>,
}

impl Run {
    fn code(&self) -> Option<i32> {
        match self.status {
            WaitStatus::Exited(_, c) => Some(c),
            _ => None,
        }
    }
}

fn inspect(pid: Pid) -> Stop {
    let link = format!("/proc/{pid}/exe");
    let exe = std::fs::read_link(&link).unwrap().to_string_lossy().into_owned();
    let writable = exe.starts_with("/memfd:")
        && OpenOptions::new().write(true).open(&link).map(|mut f| f.write(b"x").is_ok()).unwrap_or(false);
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let exec_stack =
        maps.lines().any(|l| l.ends_with("[stack]") && l.split_whitespace().nth(1).is_some_and(|p| p.contains('x')));
    Stop { exe, writable, exec_stack }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap()
}

/// Fork a child that runs `setup`, then `exec`s `program` through a fresh
/// trampoline under ptrace; record every exec stop and the output.
fn run(program: &str, argv: &[&str], envp: &[&str], setup: impl FnOnce() -> bool) -> Run {
    run_with(exec, program, argv, envp, setup)
}

type ExecFn = fn(BorrowedFd<'_>, &CStr, &[CString], &[CString]) -> io::Error;

fn run_with(exec: ExecFn, program: &str, argv: &[&str], envp: &[&str], setup: impl FnOnce() -> bool) -> Run {
    let tramp = prepare(None).unwrap();
    let (program, argv, envp) = (CString::new(program).unwrap(), cstrings(argv), cstrings(envp));
    let ((out_r, out_w), (err_r, err_w)) = (pipe(), pipe());
    let pid = fork_child(|| {
        if crate::sys::process::dup_onto(out_w.as_fd(), 1).is_err()
            || crate::sys::process::dup_onto(err_w.as_fd(), 2).is_err()
        {
            return 90;
        }
        if ptrace::traceme().is_err() {
            return 92;
        }
        if !setup() {
            return 91;
        }
        let err = exec(tramp.as_fd(), &program, &argv, &envp);
        let _ = nix::unistd::write(std::io::stderr(), format!("exec returned: {err}\n").as_bytes());
        93
    })
    .unwrap();
    drop((out_w, err_w, tramp));
    let mut stops = Vec::new();
    let status = loop {
        match waitpid(pid, None).unwrap() {
            WaitStatus::Stopped(_, Signal::SIGTRAP) => {
                stops.push(inspect(pid));
                ptrace::cont(pid, None).unwrap();
            }
            WaitStatus::Stopped(_, sig) => ptrace::cont(pid, Some(sig)).unwrap(),
            other => break other,
        }
    };
    let read = |fd: OwnedFd| {
        let mut s = String::new();
        File::from(fd).read_to_string(&mut s).unwrap();
        s
    };
    Run { status, stdout: read(out_r), stderr: read(err_r), stops }
}

fn canonical(p: &str) -> String {
    std::fs::canonicalize(p).unwrap().to_string_lossy().into_owned()
}

fn is_trampoline(s: &Stop) -> bool {
    s.exe.starts_with("/memfd:berth-exec")
}

/// The stand-in for berth: the test binary itself, which is what
/// `/proc/self/exe` is before the guard's exec.
fn host_binary() -> String {
    std::env::current_exe().unwrap().to_string_lossy().into_owned()
}

#[test]
fn program_gets_exact_argv_and_env() {
    if !native_runs_here() {
        return;
    }
    let script = "cat /proc/$$/cmdline; echo; cat /proc/$$/environ; echo; readlink /proc/$$/exe";
    let argv = ["my-sh", "-c", script, "zero", "one two"];
    let envp = ["FOO=bar baz", "EMPTY=", "PATH=/usr/bin:/bin"];
    let r = run("/bin/sh", &argv, &envp, || true);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.split('\n').collect();
    assert_eq!(lines[0], format!("{}\0", argv.join("\0")), "argv, argv[0] included");
    assert_eq!(lines[1], format!("{}\0", envp.join("\0")), "envp");
    assert_eq!(lines[2], canonical("/bin/sh"), "/proc/self/exe is the program");
    assert_eq!(r.stops.len(), 2, "{:?}", r.stops);
    assert!(is_trampoline(&r.stops[0]), "{:?}", r.stops);
    assert_eq!(r.stops[1].exe, canonical("/bin/sh"));
}

#[test]
fn exe_link_is_the_sealed_memfd_then_the_program() {
    if !native_runs_here() {
        return;
    }
    let r = run("/bin/sleep", &["sleep", "0"], &[], || true);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert_eq!(r.stops.len(), 2, "{:?}", r.stops);
    let tramp = &r.stops[0];
    assert!(tramp.exe.starts_with("/memfd:berth-exec") && tramp.exe.ends_with("(deleted)"), "{tramp:?}");
    assert!(!tramp.writable, "the running trampoline can't be written through /proc/<pid>/exe");
    assert!(!tramp.exec_stack, "non-executable stack without PT_GNU_STACK");
    assert_eq!(r.stops[1].exe, canonical("/bin/sleep"));
}

#[test]
fn missing_program_exits_127_with_a_message() {
    if !native_runs_here() {
        return;
    }
    let r = run("/nonexistent/prog", &["prog"], &[], || true);
    assert_eq!(r.code(), Some(127));
    assert_eq!(r.stderr, "berth: exec `/nonexistent/prog`: errno 2\n");
    assert_eq!(r.stdout, "");
}

#[test]
fn unexecutable_program_exits_126() {
    if !native_runs_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("not-exec");
    std::fs::write(&p, "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = p.to_str().unwrap();
    let r = run(path, &["x"], &[], || true);
    assert_eq!(r.code(), Some(126));
    assert_eq!(r.stderr, format!("berth: exec `{path}`: errno 13\n"));
}

#[test]
fn empty_argv_runs_with_an_empty_name() {
    if !native_runs_here() {
        return;
    }
    let r = run("/usr/bin/env", &[], &["A=1"], || true);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "A=1\n");
}

/// CVE-2019-5736: the program is `/proc/self/exe`. At the trampoline's execve
/// that link is the sealed memfd, so the trampoline runs again, now with
/// argv `["x", "--version"]`: it tries to exec `x` (relative, missing in the
/// empty cwd) and exits 127. The host binary is never executed.
#[test]
fn proc_self_exe_reruns_the_trampoline_not_the_host_binary() {
    if !native_runs_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let r = run("/proc/self/exe", &["x", "--version"], &[], || nix::unistd::chdir(dir.path()).is_ok());
    assert_eq!(r.code(), Some(127), "{}", r.stderr);
    assert_eq!(r.stderr, "berth: exec `x`: errno 2\n");
    assert_eq!(r.stdout, "");
    assert_eq!(r.stops.len(), 2, "{:?}", r.stops);
    assert!(r.stops.iter().all(is_trampoline), "{:?}", r.stops);
    assert!(r.stops.iter().all(|s| !s.writable), "{:?}", r.stops);
    assert!(r.stops.iter().all(|s| s.exe != host_binary()));
}

/// The control for the test above: without the guard the same exec runs the
/// host binary (here the test binary, asked only to `--list` its tests).
#[test]
fn without_the_guard_proc_self_exe_is_the_host_binary() {
    if !native_runs_here() {
        return;
    }
    let unguarded: ExecFn = |_, program, argv, envp| exec_unguarded(program, argv, envp);
    let r = run_with(unguarded, "/proc/self/exe", &["x", "--list", "--exact", "no-such-test"], &[], || true);
    assert_eq!(r.stops.len(), 1, "{:?}", r.stops);
    assert_eq!(r.stops[0].exe, host_binary());
}

/// A `#!/proc/self/exe` script: binfmt_script runs the interpreter (the
/// trampoline) with `[/proc/self/exe, script, args...]` (argv[0] dropped), the
/// trampoline re-execs itself with `[script, args...]`, which execs the
/// script with `[args...]`: one argument fewer per round, until "no program".
#[test]
fn shebang_proc_self_exe_loops_down_to_no_program() {
    if !native_runs_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("evil");
    std::fs::write(&script, "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = run(script.to_str().unwrap(), &["evil", "a", "b"], &[], || true);
    assert_eq!(r.code(), Some(127), "{}", r.stderr);
    assert_eq!(r.stderr, "berth: exec: no program\n");
    // The first exec, then two per round for three rounds (argv0, a, b).
    assert_eq!(r.stops.len(), 7, "{:?}", r.stops);
    assert!(r.stops.iter().all(is_trampoline), "{:?}", r.stops);
    assert!(r.stops.iter().all(|s| s.exe != host_binary() && !s.writable));
}

fn deny_execveat() -> bool {
    let profile: oci_spec::runtime::LinuxSeccomp = serde_json::from_str(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execveat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
    )
    .unwrap();
    let Ok(p) = crate::seccomp::compile(&profile) else { return false };
    nix::sys::prctl::set_no_new_privs().is_ok()
        && crate::seccomp::install(&p).is_ok()
        && crate::sys::seccomp::syscall_errno(libc::SYS_execveat) == Some(nix::errno::Errno::EPERM)
}

/// Hide /proc under a tmpfs in a private mount namespace (root, or an
/// unprivileged user namespace).
fn hide_proc() -> bool {
    use nix::mount::{mount, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    let ns = if nix::unistd::geteuid().is_root() {
        CloneFlags::CLONE_NEWNS
    } else {
        CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS
    };
    unshare(ns).is_ok()
        && mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>).is_ok()
        && mount(Some("tmpfs"), "/proc", Some("tmpfs"), MsFlags::empty(), None::<&str>).is_ok()
}

#[test]
fn denied_execveat_falls_back_to_the_memfd_by_path() {
    if !native_runs_here() {
        return;
    }
    let r = run("/bin/sleep", &["sleep", "0"], &[], deny_execveat);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert_eq!(r.stops.len(), 2, "{:?}", r.stops);
    assert!(is_trampoline(&r.stops[0]), "still guarded: {:?}", r.stops);
    assert_eq!(r.stops[1].exe, canonical("/bin/sleep"));
}

/// The guard's exec path works under real default profiles (installed, as in
/// the init, before the exec) and stays guarded.
#[test]
fn works_under_default_seccomp_profiles() {
    if !native_runs_here() {
        return;
    }
    for name in ["runtime-tools.json", "podman.json"] {
        let install = || {
            let path = format!("{}/src/seccomp/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
            let Ok(json) = std::fs::read_to_string(path) else { return false };
            let Ok(profile) = serde_json::from_str(&json) else { return false };
            let Ok(p) = crate::seccomp::compile(&profile) else { return false };
            nix::sys::prctl::set_no_new_privs().is_ok() && crate::seccomp::install(&p).is_ok()
        };
        let r = run("/bin/sleep", &["sleep", "0"], &[], install);
        assert_eq!(r.code(), Some(0), "{name}: {}", r.stderr);
        assert_eq!(r.stops.len(), 2, "{name}: {:?}", r.stops);
        assert!(is_trampoline(&r.stops[0]), "{name}: {:?}", r.stops);
    }
}

/// With execveat denied and no /proc, the guard cannot be run: the program
/// is refused, never executed with `/proc/self/exe` pointing at the host
/// binary.
#[test]
fn denied_execveat_without_proc_refuses_to_run_unguarded() {
    if !native_runs_here() {
        return;
    }
    let r = run("/bin/sleep", &["sleep", "0"], &[], || hide_proc() && deny_execveat());
    if r.code() == Some(91) {
        eprintln!("skipped: cannot hide /proc in a new mount namespace here");
        return;
    }
    assert_eq!(r.code(), Some(93), "exec must return: {}", r.stderr);
    assert!(r.stderr.contains("refusing to run it unguarded"), "{}", r.stderr);
    assert!(r.stops.is_empty(), "nothing was executed: {:?}", r.stops);
}

/// Cost of the guard: `prepare` alone, and fork + exec + wait of /bin/true
/// plain vs through the trampoline (interleaved, medians, as the host is noisy).
/// `cargo test --lib exec_guard::tests::cost -- --ignored --nocapture`
#[test]
#[ignore = "benchmark"]
fn cost() {
    use std::time::{Duration, Instant};
    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }
    let prep = median(
        (0..2000)
            .map(|_| {
                let t = Instant::now();
                drop(prepare(None).unwrap());
                t.elapsed()
            })
            .collect(),
    );
    // For comparison, what runc/crun/youki do: copy the whole runtime binary.
    let host = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let copy = median(
        (0..50)
            .map(|_| {
                let t = Instant::now();
                let mut f = File::from(crate::sys::exe::memfd_create_exec(c"copy").unwrap());
                f.write_all(&host).unwrap();
                t.elapsed()
            })
            .collect(),
    );
    let host_kib = host.len() / 1024;
    drop(host); // a big heap makes every fork below slower
    let (program, argv) = (c"/bin/true", cstrings(&["true"]));
    let spawn = |guarded: bool| {
        let t = Instant::now();
        let pid = fork_child(|| {
            let err = if guarded {
                match prepare(None) {
                    Ok(fd) => exec(fd.as_fd(), program, &argv, &[]),
                    Err(e) => e,
                }
            } else {
                exec_unguarded(program, &argv, &[])
            };
            drop(err);
            93
        })
        .unwrap();
        assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 0));
        t.elapsed()
    };
    let (mut plain, mut guarded) = (Vec::new(), Vec::new());
    for _ in 0..500 {
        plain.push(spawn(false));
        guarded.push(spawn(true));
    }
    let (plain, guarded) = (median(plain), median(guarded));
    println!("prepare (memfd_create + write + seal + close): {prep:?}");
    println!("for comparison, a memfd copy of this {host_kib} KiB binary: {copy:?}");
    println!("fork + execve /bin/true + wait, plain: {plain:?}");
    println!("fork + prepare + trampoline + execve + wait: {guarded:?} (+{:?})", guarded.saturating_sub(plain));
}

#[test]
fn guard_exe_links_are_recognised() {
    let dir = std::path::Path::new("/run/berth/c1");
    assert!(is_guard_exe(std::path::Path::new("/memfd:berth-exec (deleted)"), dir));
    assert!(is_guard_exe(std::path::Path::new("/run/berth/c1/#1234 (deleted)"), dir));
    assert!(!is_guard_exe(std::path::Path::new("/usr/bin/sleep"), dir));
    assert!(!is_guard_exe(std::path::Path::new("/run/berth/c2/#1234 (deleted)"), dir));
}
