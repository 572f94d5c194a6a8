//! Translation tests: compile profiles and run the BPF in `interp` to check which
//! verdict each (ABI, syscall, args) gets. No kernel involved, so they run on
//! every host: they build x86_64's programs (`arch_tests` has the others').

use super::interp::{self, Data};
use super::syscalls::{Abi, X32_SYSCALL_BIT};
use super::*;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL_THREAD: u32 = libc::SECCOMP_RET_KILL_THREAD;
const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const NOTIFY: u32 = libc::SECCOMP_RET_USER_NOTIF;
const fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e as u32
}

/// The program an x86_64 host loads, whatever this host is.
fn compile(s: &LinuxSeccomp) -> Result<Program> {
    compile_for(s, Abi::X86_64)
}

pub(super) fn profile(json: &str) -> LinuxSeccomp {
    serde_json::from_str(json).unwrap()
}

pub(super) fn fixture(name: &str) -> LinuxSeccomp {
    let path = format!("{}/src/seccomp/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    profile(&std::fs::read_to_string(path).unwrap())
}

fn verdict(p: &Program, abi: Abi, name: &str, args: [u64; 6]) -> u32 {
    let nr = abi.resolve(name).unwrap_or_else(|| panic!("{name} unknown on {abi:?}"));
    interp::run(&p.filter, &Data { nr, arch: abi.audit_arch(), args })
}

fn v(p: &Program, name: &str) -> u32 {
    verdict(p, Abi::X86_64, name, [0; 6])
}

fn v0(p: &Program, name: &str, arg0: u64) -> u32 {
    verdict(p, Abi::X86_64, name, [arg0, 0, 0, 0, 0, 0])
}

#[test]
fn each_syscall_gets_its_rules_action() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"],
            "syscalls":[{"names":["getcwd","chmod"],"action":"SCMP_ACT_ERRNO"},
                        {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":38},
                        {"names":["rmdir"],"action":"SCMP_ACT_KILL"},
                        {"names":["unlink"],"action":"SCMP_ACT_KILL_PROCESS"},
                        {"names":["link"],"action":"SCMP_ACT_TRAP"},
                        {"names":["sync"],"action":"SCMP_ACT_LOG"},
                        {"names":["fsync"],"action":"SCMP_ACT_TRACE","errnoRet":7}]}"#,
    ))
    .unwrap();
    assert_eq!(v(&p, "getcwd"), errno(libc::EPERM));
    assert_eq!(v(&p, "chmod"), errno(libc::EPERM));
    assert_eq!(v(&p, "mkdir"), errno(libc::ENOSYS));
    assert_eq!(v(&p, "rmdir"), KILL_THREAD);
    assert_eq!(v(&p, "unlink"), KILL_PROCESS);
    assert_eq!(v(&p, "link"), libc::SECCOMP_RET_TRAP);
    assert_eq!(v(&p, "sync"), libc::SECCOMP_RET_LOG);
    assert_eq!(v(&p, "fsync"), libc::SECCOMP_RET_TRACE | 7);
    assert_eq!(v(&p, "read"), ALLOW);
    // The same rules hold for 32-bit and x32 programs, with their own numbers.
    for abi in [Abi::X86, Abi::X32] {
        assert_eq!(verdict(&p, abi, "getcwd", [0; 6]), errno(libc::EPERM), "{abi:?}");
        assert_eq!(verdict(&p, abi, "rmdir", [0; 6]), KILL_THREAD, "{abi:?}");
        assert_eq!(verdict(&p, abi, "read", [0; 6]), ALLOW, "{abi:?}");
    }
    assert!(!p.wants_listener());
}

/// Calls through an ABI the profile does not list get libseccomp's bad-arch
/// action, `SCMP_ACT_KILL` (runc keeps it).
#[test]
fn unlisted_abis_are_killed() {
    let p = compile(&profile(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"]}"#)).unwrap();
    let run = |arch, nr| interp::run(&p.filter, &Data { nr, arch, args: [0; 6] });
    assert_eq!(run(Abi::X86_64.audit_arch(), 0), ALLOW);
    assert_eq!(run(Abi::X86.audit_arch(), 0), KILL_THREAD);
    assert_eq!(run(Abi::X32.audit_arch(), X32_SYSCALL_BIT), KILL_THREAD);
    assert_eq!(run(0xc000_00b7, 0), KILL_THREAD); // AUDIT_ARCH_AARCH64

    // Above the x32 bit is x32 for libseccomp, except syscall(-1), which tracers use.
    assert_eq!(run(Abi::X86_64.audit_arch(), 0x8000_0000), KILL_THREAD);
    assert_eq!(run(Abi::X86_64.audit_arch(), u32::MAX), ALLOW);
}

#[test]
fn default_errno_with_allow_list_and_arguments() {
    let p = compile(&fixture("runtime-tools.json")).unwrap();
    assert_eq!(v(&p, "read"), ALLOW);
    assert_eq!(v(&p, "execve"), ALLOW);
    assert_eq!(v(&p, "getcwd"), ALLOW);
    assert_eq!(v(&p, "mount"), errno(libc::EPERM));
    // clone: allowed unless a namespace flag is set (MASKED_EQ 0x7E020000 == 0).
    let sigchld = libc::SIGCHLD as u64;
    assert_eq!(v0(&p, "clone", sigchld | libc::CLONE_VM as u64), ALLOW);
    assert_eq!(v0(&p, "clone", sigchld | libc::CLONE_NEWNS as u64), errno(libc::EPERM));
    assert_eq!(v0(&p, "clone", libc::CLONE_NEWUSER as u64), errno(libc::EPERM));
    // personality: only the listed values.
    assert_eq!(v0(&p, "personality", 0), ALLOW);
    assert_eq!(v0(&p, "personality", 8), ALLOW);
    assert_eq!(v0(&p, "personality", 0xffff_ffff), ALLOW);
    assert_eq!(v0(&p, "personality", 1), errno(libc::EPERM));
    assert_eq!(v0(&p, "personality", 0x1_0000_0000), errno(libc::EPERM));
    // Newer than anything the profile names: ENOSYS, so glibc falls back.
    for newer in ["clone3", "faccessat2", "openat2", "close_range", "fchmodat2"] {
        assert_eq!(v(&p, newer), errno(libc::ENOSYS), "{newer}");
    }
    // Older but not listed: the default.
    assert_eq!(v(&p, "pivot_root"), errno(libc::EPERM));
    // i386 programs: clone with the same argument rule, their own numbers.
    assert_eq!(verdict(&p, Abi::X86, "clone", [sigchld, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(verdict(&p, Abi::X86, "socketcall", [0; 6]), ALLOW);
    assert_eq!(verdict(&p, Abi::X86, "clone", [libc::CLONE_NEWNET as u64, 0, 0, 0, 0, 0]), errno(libc::EPERM));
    assert!(p.len() < bpf::MAX_INSNS);
}

#[test]
fn podman_profile() {
    let p = compile(&fixture("podman.json")).unwrap();
    assert_eq!(v(&p, "read"), ALLOW);
    assert_eq!(v(&p, "clone3"), ALLOW);
    assert_eq!(v(&p, "kexec_load"), errno(libc::EPERM));
    assert_eq!(v(&p, "tuxcall"), errno(libc::ENOSYS)); // not listed: defaultErrnoRet 38
                                                       // `setns` is first allowed, later denied: the first unconditional rule wins (libseccomp).
    assert_eq!(v(&p, "setns"), ALLOW);
    // socket(AF_NETLINK, _, NETLINK_AUDIT) -> EINVAL, other sockets allowed.
    let socket = |a0, a2| verdict(&p, Abi::X86_64, "socket", [a0, 0, a2, 0, 0, 0]);
    assert_eq!(socket(16, 9), errno(libc::EINVAL));
    assert_eq!(socket(16, 0), ALLOW);
    assert_eq!(socket(2, 9), ALLOW);
    assert!(p.len() < bpf::MAX_INSNS, "{}", p.len());
}

#[test]
fn unconditional_rule_wins_and_first_one_counts() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":2,"args":[{"index":1,"value":0,"op":"SCMP_CMP_NE"}]},
            {"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":3},
            {"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":4},
            {"names":["chdir"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
            {"names":["chdir"],"action":"SCMP_ACT_ERRNO","errnoRet":6,"args":[{"index":0,"value":1,"op":"SCMP_CMP_GE"}]}]}"#,
    ))
    .unwrap();
    assert_eq!(verdict(&p, Abi::X86_64, "getcwd", [0, 1, 0, 0, 0, 0]), errno(3));
    assert_eq!(v0(&p, "chdir", 1), errno(5));
    assert_eq!(v0(&p, "chdir", 2), errno(6));
    assert_eq!(v0(&p, "chdir", 0), ALLOW);
}

#[test]
fn args_are_anded_unless_an_index_repeats() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["getcwd"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":1,"value":0,"op":"SCMP_CMP_NE"}]},
            {"names":["chdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#,
    ))
    .unwrap();
    let getcwd = |a0, a1| verdict(&p, Abi::X86_64, "getcwd", [a0, a1, 0, 0, 0, 0]);
    assert_eq!(getcwd(0, 1), errno(libc::EPERM));
    assert_eq!(getcwd(0, 0), ALLOW);
    assert_eq!(getcwd(1, 1), ALLOW);
    assert_eq!(v0(&p, "chdir", 1), errno(libc::EPERM));
    assert_eq!(v0(&p, "chdir", 2), errno(libc::EPERM));
    assert_eq!(v0(&p, "chdir", 3), ALLOW);
}

/// Every operator against a reference, around the 32-bit boundary, on both widths.
#[test]
fn operators_match_unsigned_semantics() {
    let values: [u64; 9] = [0, 1, 5, 0xffff_ffff, 1 << 32, (1 << 32) + 5, 0x7_0000_0001, u64::MAX - 1, u64::MAX];
    let ops = ["EQ", "NE", "LT", "LE", "GT", "GE", "MASKED_EQ"];
    for op in ops {
        for &value in &values {
            let two = value & 0xf0f0_f0f0_f0f0_f0f5;
            let json = format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"syscalls":[{{"names":["getcwd"],
                    "action":"SCMP_ACT_KILL","args":[{{"index":3,"value":{value},"valueTwo":{two},"op":"SCMP_CMP_{op}"}}]}}]}}"#
            );
            let p = compile(&profile(&json)).unwrap();
            for abi in [Abi::X86_64, Abi::X86] {
                let (value, two) = if abi.is_64bit() { (value, two) } else { (value & 0xffff_ffff, two & 0xffff_ffff) };
                for &arg in &values {
                    let arg = if abi.is_64bit() { arg } else { arg & 0xffff_ffff };
                    let want = match op {
                        "EQ" => arg == value,
                        "NE" => arg != value,
                        "LT" => arg < value,
                        "LE" => arg <= value,
                        "GT" => arg > value,
                        "GE" => arg >= value,
                        _ => arg & value == two,
                    };
                    let got = verdict(&p, abi, "getcwd", [0, 0, 0, arg, 0, 0]) == KILL_THREAD;
                    assert_eq!(got, want, "{abi:?} {arg:#x} {op} {value:#x} (two {two:#x})");
                }
            }
        }
    }
}

#[test]
fn unknown_names_are_skipped_and_empty_names_rejected() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["no_such_call!!","getcwd"],"action":"SCMP_ACT_ERRNO"}]}"#,
    ))
    .unwrap();
    assert_eq!(v(&p, "getcwd"), errno(libc::EPERM));
    let e = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[""],"action":"SCMP_ACT_ERRNO"}]}"#,
    ));
    assert!(matches!(e, Err(Error::EmptySyscallName { rule: 0 })), "{e:?}");
    let e =
        compile(&profile(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_ERRNO"}]}"#));
    assert!(matches!(e, Err(Error::NoSyscallNames { rule: 0 })), "{e:?}");
}

#[test]
fn invalid_profiles_are_rejected_with_the_field_named() {
    let bad = [
        (
            r#"{"defaultAction":"SCMP_ACT_KILL","defaultErrnoRet":1}"#,
            "`linux.seccomp.defaultErrnoRet` is set but `SCMP_ACT_KILL` takes no errno",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_KILL","errnoRet":2}]}"#,
            "`linux.seccomp.syscalls[0].errnoRet` is set but `SCMP_ACT_KILL` takes no errno",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}"#,
            "`linux.seccomp.defaultErrnoRet` value 70000 is out of range (at most 4094)",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":4095}]}"#,
            "`linux.seccomp.syscalls[0].errnoRet` value 4095 is out of range (at most 4094)",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_TRACE","errnoRet":65536}]}"#,
            "`linux.seccomp.syscalls[0].errnoRet` value 65536 is out of range (at most 65535)",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_KILL","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
            "argument index 6 in `linux.seccomp.syscalls[0].args` is not in 0..=5",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/x"}"#,
            "`SCMP_ACT_NOTIFY` cannot be the default action",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            "`SCMP_ACT_NOTIFY` is used but `linux.seccomp.listenerPath` is not set",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/x","syscalls":[{"names":["write"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            "`SCMP_ACT_NOTIFY` cannot be used for `write`: the runtime needs it after loading the filter",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerMetadata":"m"}"#,
            "`linux.seccomp.listenerMetadata` is set without `listenerPath`",
        ),
    ];
    for (json, msg) in bad {
        assert_eq!(compile(&profile(json)).unwrap_err().to_string(), msg, "{json}");
    }
}

#[test]
fn notify_rule_returns_user_notif_and_asks_for_a_listener() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock","listenerMetadata":"meta",
            "flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    ))
    .unwrap();
    assert_eq!(v(&p, "mkdir"), NOTIFY);
    assert!(p.wants_listener());
    assert_eq!(p.listener_path(), Some(Path::new("/run/agent.sock")));
    assert_eq!(p.listener_metadata(), Some("meta"));
    let want = libc::SECCOMP_FILTER_FLAG_TSYNC
        | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
        | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
        | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    assert_eq!(p.flags, want);
}

#[test]
fn flags_without_listener() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/ignored",
            "flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#,
    ))
    .unwrap();
    assert_eq!(p.flags, libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    assert_eq!(p.listener_path(), None);
}

/// A single filter decides alone: stacking it under an allow-all filter (as the
/// kernel does with an inherited filter) changes nothing.
#[test]
fn one_filter_so_precedence_cannot_mix_actions() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO"},{"names":["chmod"],"action":"SCMP_ACT_KILL"}]}"#,
    ))
    .unwrap();
    let allow_all = [libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: ALLOW }];
    let data = |name| Data { nr: Abi::X86_64.resolve(name).unwrap(), arch: Abi::X86_64.audit_arch(), args: [0; 6] };
    assert_eq!(interp::run_stacked(&[&allow_all, &p.filter], &data("getcwd")), errno(libc::EPERM));
    assert_eq!(interp::run_stacked(&[&allow_all, &p.filter], &data("chmod")), KILL_THREAD);
    assert_eq!(interp::run_stacked(&[&allow_all, &p.filter], &data("read")), ALLOW);
}

/// The `features` tables name exactly what oci-spec parses, so they cannot drift.
#[test]
fn feature_tables_parse() {
    for a in ACTIONS {
        let action: LinuxSeccompAction = serde_json::from_value(serde_json::json!(a)).unwrap();
        assert_eq!(policy::action_name(action), *a);
    }
    for o in OPERATORS {
        let _: oci_spec::runtime::LinuxSeccompOperator = serde_json::from_value(serde_json::json!(o)).unwrap();
    }
    for a in ARCHES {
        let _: Arch = serde_json::from_value(serde_json::json!(a)).unwrap();
    }
    for f in FLAGS {
        let _: LinuxSeccompFilterFlag = serde_json::from_value(serde_json::json!(f)).unwrap();
    }
    assert_eq!(ACTIONS.len(), 9);
    assert_eq!(OPERATORS.len(), 7);
}

/// x86: a rule for a socket or SysV IPC call also covers the multiplexer, with
/// argument 0 naming the call; x86_64 has no multiplexer.
#[test]
fn x86_socket_and_ipc_rules_cover_the_multiplexers() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
            "syscalls":[{"names":["socket","shmget","send"],"action":"SCMP_ACT_ERRNO","errnoRet":72}]}"#,
    ))
    .unwrap();
    let x86 = |nr, arg0| interp::run(&p.filter, &Data { nr, arch: Abi::X86.audit_arch(), args: [arg0, 0, 0, 0, 0, 0] });
    assert_eq!(x86(mux::X86_SOCKETCALL, 1), errno(72)); // SYS_SOCKET
    assert_eq!(x86(mux::X86_SOCKETCALL, 9), errno(72)); // SYS_SEND: no direct syscall on x86
    assert_eq!(x86(mux::X86_SOCKETCALL, 8), ALLOW); // SYS_SOCKETPAIR
    assert_eq!(x86(359, 2), errno(72)); // socket(2)
    assert_eq!(x86(mux::X86_IPC, 23), errno(72)); // SHMGET
    assert_eq!(x86(mux::X86_IPC, 21), ALLOW); // SHMAT
    assert_eq!(x86(395, 0), errno(72)); // shmget(2)
    assert_eq!(v(&p, "socket"), errno(72));
    assert_eq!(v(&p, "getuid"), ALLOW); // 102 on x86_64
}

/// Through `socketcall` the real arguments are behind a pointer: libseccomp
/// replaces the condition on argument 0 with the call number (so this rule
/// allows every socket family there), and berth does the same.
#[test]
fn x86_socketcall_takes_the_call_number_for_argument_0() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
            "syscalls":[{"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":40,"op":"SCMP_CMP_NE"}]},
                        {"names":["exit_group","execve","read","write","close","kill"],"action":"SCMP_ACT_ALLOW"}]}"#,
    ))
    .unwrap();
    let x86 = |nr, arg0| interp::run(&p.filter, &Data { nr, arch: Abi::X86.audit_arch(), args: [arg0, 0, 0, 0, 0, 0] });
    assert_eq!(x86(mux::X86_SOCKETCALL, 1), ALLOW);
    assert_eq!(x86(mux::X86_SOCKETCALL, 3), errno(libc::EPERM)); // SYS_CONNECT
    assert_eq!(x86(359, 40), errno(libc::ENOSYS)); // runc's stub: 359 is above x86's highest (252)
    assert_eq!(v0(&p, "socket", 2), ALLOW);
    assert_eq!(v0(&p, "socket", 40), errno(libc::EPERM));
}

/// Overlapping conditional rules: libseccomp's tree tries comparisons of higher
/// arguments first, whatever the profile order.
#[test]
fn overlapping_conditional_rules_follow_libseccomps_order() {
    let p = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":2,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
            {"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":3,"args":[{"index":1,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
    ))
    .unwrap();
    let getcwd = |a0, a1| verdict(&p, Abi::X86_64, "getcwd", [a0, a1, 0, 0, 0, 0]);
    assert_eq!(getcwd(1, 1), errno(3));
    assert_eq!(getcwd(1, 0), errno(2));
    assert_eq!(getcwd(0, 1), errno(3));
    assert_eq!(getcwd(0, 0), ALLOW);
}

/// Rules libseccomp refuses (runc then fails the container) are refused.
#[test]
fn conflicting_rules_are_refused() {
    let e = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["getcwd"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
            {"names":["chdir","getcwd"],"action":"SCMP_ACT_KILL","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
    ))
    .unwrap_err();
    assert!(matches!(e, Error::RuleConflict { rule: 1, ref syscall } if syscall == "getcwd"), "{e}");
    // A rule on x86 through socketcall: both become socketcall(arg0 == 1).
    let e = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"syscalls":[
            {"names":["socket"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]},
            {"names":["socket"],"action":"SCMP_ACT_KILL","args":[{"index":0,"value":10,"op":"SCMP_CMP_EQ"}]}]}"#,
    ))
    .unwrap_err();
    assert!(matches!(e, Error::RuleConflict { rule: 1, .. }), "{e}");
    // libseccomp 2.5 never returns from this one (runc hangs): refused.
    let e = compile(&profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["close"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":3,"op":"SCMP_CMP_GT"},
                {"index":2,"value":3,"valueTwo":2,"op":"SCMP_CMP_MASKED_EQ"}]},
            {"names":["close"],"action":"SCMP_ACT_TRAP","args":[{"index":4,"value":2147483647,"op":"SCMP_CMP_GT"},
                {"index":0,"value":3,"op":"SCMP_CMP_GT"}]}]}"#,
    ))
    .unwrap_err();
    assert!(matches!(e, Error::RuleLoops { rule: 1, .. }), "{e}");
}
