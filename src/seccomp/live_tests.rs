//! Kernel tests: load compiled programs in a forked child (no root needed: the
//! child sets `no_new_privs`) and watch what the syscalls do.

use std::ffi::CString;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use super::tests::{fixture, profile};
use super::*;
use crate::sys::seccomp::run_in_child;

/// Set no_new_privs, load `p`, run `body`; the child's exit code is `body`'s, or
/// 100 + step when loading failed.
fn with_filter(p: &Program, body: impl FnOnce() -> i32) -> WaitStatus {
    run_in_child(|| {
        if nix::sys::prctl::set_no_new_privs().is_err() {
            return 101;
        }
        if install(p).is_err() {
            return 102;
        }
        body()
    })
    .unwrap()
}

fn exited(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        _ => None,
    }
}

#[test]
fn errno_rule_sets_errno_and_other_calls_work() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    ))
    .unwrap();
    let status = with_filter(&p, || match nix::unistd::getcwd() {
        Err(Errno::EACCES) if nix::unistd::getpid().as_raw() > 0 => 0,
        Err(_) => 1,
        Ok(_) => 2,
    });
    assert_eq!(exited(status), Some(0), "{status:?}");
}

#[test]
fn kill_actions_kill_with_sigsys() {
    for action in ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"] {
        let p = compile(&profile(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getcwd"],"action":"{action}"}}]}}"#
        )))
        .unwrap();
        let status = with_filter(&p, || {
            let _ = nix::unistd::getcwd();
            3
        });
        assert!(matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _)), "{action}: {status:?}");
    }
}

#[test]
fn argument_conditions_apply_in_the_kernel() {
    let p = compile(&fixture("runtime-tools.json")).unwrap();
    let status = with_filter(&p, || {
        use nix::sys::personality::{self, Persona};
        // personality(0xffffffff) (a query) is allowed, personality(READ_IMPLIES_EXEC) is not.
        let Ok(current) = personality::get() else {
            return 1;
        };
        match personality::set(Persona::READ_IMPLIES_EXEC) {
            Err(Errno::EPERM) => {}
            _ => return 2,
        }
        if nix::unistd::getcwd().is_err() {
            return 3;
        }
        if current.bits() < 0 {
            return 4;
        }
        0
    });
    assert_eq!(exited(status), Some(0), "{status:?}");
}

#[test]
fn notify_rule_returns_a_listener() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock",
            "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    ))
    .unwrap();
    let status = run_in_child(|| {
        if nix::sys::prctl::set_no_new_privs().is_err() {
            return 101;
        }
        match install(&p) {
            Ok(Some(_fd)) => 0,
            Ok(None) => 1,
            Err(_) => 2,
        }
    })
    .unwrap();
    assert_eq!(exited(status), Some(0), "{status:?}");
}

#[test]
fn install_without_nnp_or_cap_sys_admin_says_so() {
    let p = compile(&profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#)).unwrap();
    let status = run_in_child(|| {
        use caps::{CapSet, Capability};
        if caps::drop(None, CapSet::Effective, Capability::CAP_SYS_ADMIN).is_err() {
            return 101;
        }
        match install(&p) {
            Err(Error::NeedsNoNewPrivs) => 0,
            Err(_) => 1,
            Ok(_) => 2,
        }
    })
    .unwrap();
    assert_eq!(exited(status), Some(0), "{status:?}");
}

/// Real profiles: after loading, `execve` and a shell's usual syscalls work.
#[test]
fn fixture_profiles_run_programs() {
    let sh = CString::new("/bin/sh").unwrap();
    let argv = [
        sh.clone(),
        CString::new("-c").unwrap(),
        CString::new("/bin/true && ls / >/dev/null && cd /tmp && pwd >/dev/null && exit 7").unwrap(),
    ];
    for name in ["podman.json", "runtime-tools.json"] {
        let p = compile(&fixture(name)).unwrap();
        let status = with_filter(&p, || {
            let _ = nix::unistd::execv(&sh, &argv);
            127
        });
        assert_eq!(exited(status), Some(7), "{name}: {status:?}");
    }
}

/// The ENOSYS stub in the kernel: `clone3` (newer than the profile) gets ENOSYS,
/// an older unlisted syscall the default errno.
#[test]
fn newer_syscalls_get_enosys() {
    use crate::sys::seccomp::syscall_errno;
    let p = compile(&fixture("runtime-tools.json")).unwrap();
    let status = with_filter(&p, || match (syscall_errno(libc::SYS_clone3), syscall_errno(libc::SYS_pivot_root)) {
        (Some(Errno::ENOSYS), Some(Errno::EPERM)) => 0,
        _ => 1,
    });
    assert_eq!(exited(status), Some(0), "{status:?}");
}

/// x32 calls (x86_64 arch, `__X32_SYSCALL_BIT` set): filtered with the x32 table
/// when listed, killed when not. The verdict comes before the kernel's own ABI check.
#[test]
fn x32_calls_are_filtered_or_killed() {
    use crate::sys::seccomp::syscall_errno;
    let x32_getcwd = 0x4000_0000 + libc::SYS_getcwd;
    let listed = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],
            "syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    ))
    .unwrap();
    let status = with_filter(&listed, || i32::from(syscall_errno(x32_getcwd) != Some(Errno::EACCES)));
    assert_eq!(exited(status), Some(0), "{status:?}");

    let unlisted = compile(&profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#)).unwrap();
    let status = with_filter(&unlisted, || {
        let _ = syscall_errno(x32_getcwd);
        3
    });
    assert!(matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _)), "{status:?}");
}
