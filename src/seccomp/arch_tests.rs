//! The programs of the other hosts berth builds for: aarch64 (with 32-bit arm
//! programs as its compat ABI) and riscv64, built on any host with
//! [`compile_for`] and run in `interp`. `differential_tests` checks them against
//! libseccomp too; these tests say what they must do.

use oci_spec::runtime::LinuxSeccomp;
use serde_json::json;

use super::interp::{self, Data};
use super::syscalls::{Abi, AUDIT_ARCH_AARCH64};
use super::tests::{fixture, profile};
use super::*;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL_THREAD: u32 = libc::SECCOMP_RET_KILL_THREAD;
const fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e as u32
}

fn verdict(p: &Program, abi: Abi, name: &str, args: [u64; 6]) -> u32 {
    let nr = abi.resolve(name).unwrap_or_else(|| panic!("{name} unknown on {abi:?}"));
    run(p, abi.audit_arch(), nr, args)
}

fn run(p: &Program, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    interp::run(&p.filter, &Data { nr, arch, args })
}

/// A profile with every architecture berth has a table for.
const EVERY_ARCH: &str = r#"["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32",
    "SCMP_ARCH_AARCH64","SCMP_ARCH_ARM","SCMP_ARCH_RISCV64","SCMP_ARCH_PPC64LE"]"#;

#[test]
fn rules_take_the_hosts_own_numbers() {
    let p = profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW",
            "syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO"},
                        {"names":["mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":38},
                        {"names":["unlinkat"],"action":"SCMP_ACT_KILL"},
                        {"names":["open","renameat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    );
    for native in [Abi::Aarch64, Abi::Riscv64] {
        let p = compile_for(&p, native).unwrap();
        assert_eq!(verdict(&p, native, "getcwd", [0; 6]), errno(libc::EPERM), "{native:?}");
        assert_eq!(verdict(&p, native, "mkdirat", [0; 6]), errno(libc::ENOSYS), "{native:?}");
        assert_eq!(verdict(&p, native, "unlinkat", [0; 6]), KILL_THREAD, "{native:?}");
        assert_eq!(verdict(&p, native, "read", [0; 6]), ALLOW, "{native:?}");
        // x86_64's getcwd (79) is newfstatat here: not the rule's syscall.
        assert_eq!(run(&p, native.audit_arch(), 79, [0; 6]), ALLOW, "{native:?}");
        // `open` does not exist on either host: skipped, as by libseccomp.
        assert_eq!(native.resolve("open"), None);
    }
    // renameat exists on aarch64 (38) but not on riscv64, whose 38 is nothing.
    let aarch64 = compile_for(&p, Abi::Aarch64).unwrap();
    assert_eq!(verdict(&aarch64, Abi::Aarch64, "renameat", [0; 6]), errno(libc::EACCES));
    let riscv64 = compile_for(&p, Abi::Riscv64).unwrap();
    assert_eq!(run(&riscv64, Abi::Riscv64.audit_arch(), 38, [0; 6]), ALLOW);
}

/// Only the native ABI and the compat ABIs its kernel runs get sections;
/// every other arch value is a bad arch, whatever the profile lists.
#[test]
fn each_host_filters_its_own_abis_and_kills_the_rest() {
    let every = profile(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":{EVERY_ARCH},
            "syscalls":[{{"names":["getcwd"],"action":"SCMP_ACT_ERRNO"}}]}}"#
    ));
    let cases = [
        (Abi::Aarch64, &[Abi::Aarch64, Abi::Arm][..], &[Abi::X86_64, Abi::X86, Abi::Riscv64][..]),
        (Abi::Riscv64, &[Abi::Riscv64][..], &[Abi::X86_64, Abi::X86, Abi::Aarch64, Abi::Arm][..]),
        (Abi::X86_64, &[Abi::X86_64, Abi::X86, Abi::X32][..], &[Abi::Aarch64, Abi::Arm, Abi::Riscv64][..]),
    ];
    for (native, filtered, killed) in cases {
        let p = compile_for(&every, native).unwrap();
        for abi in filtered {
            assert_eq!(verdict(&p, *abi, "getcwd", [0; 6]), errno(libc::EPERM), "{native:?}: {abi:?}");
            assert_eq!(verdict(&p, *abi, "read", [0; 6]), ALLOW, "{native:?}: {abi:?}");
        }
        for abi in killed {
            assert_eq!(run(&p, abi.audit_arch(), 0, [0; 6]), KILL_THREAD, "{native:?}: {abi:?}");
        }
        assert_eq!(run(&p, 0x8000_0015, 0, [0; 6]), KILL_THREAD, "{native:?}: ppc64 is never filtered");
    }

    // Without SCMP_ARCH_ARM, 32-bit programs on aarch64 are a bad arch.
    let native_only = profile(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_AARCH64"]}"#);
    let p = compile_for(&native_only, Abi::Aarch64).unwrap();
    assert_eq!(run(&p, Abi::Aarch64.audit_arch(), 17, [0; 6]), ALLOW);
    assert_eq!(run(&p, Abi::Arm.audit_arch(), 183, [0; 6]), KILL_THREAD);
    // No architectures at all: the native one.
    let none = profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#);
    let p = compile_for(&none, Abi::Aarch64).unwrap();
    assert_eq!(run(&p, AUDIT_ARCH_AARCH64, 17, [0; 6]), ALLOW);
    assert_eq!(run(&p, Abi::X86_64.audit_arch(), 17, [0; 6]), KILL_THREAD);
}

/// x86_64's x32 range is x86_64's own: elsewhere a number with that bit is an
/// ordinary unknown syscall (libseccomp adds no check for it either).
#[test]
fn no_x32_range_outside_x86_64() {
    let p = profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1}"#);
    for native in [Abi::Aarch64, Abi::Riscv64] {
        let p = compile_for(&p, native).unwrap();
        for nr in [0x4000_0000, 0x4000_0011, u32::MAX] {
            assert_eq!(run(&p, native.audit_arch(), nr, [0; 6]), errno(1), "{native:?} {nr:#x}");
        }
    }
}

/// runc's ENOSYS stub counts each ABI's own highest number.
#[test]
fn enosys_above_each_abis_highest_named_number() {
    let p = profile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_AARCH64","SCMP_ARCH_ARM"],
            "syscalls":[{"names":["read","getcwd"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let p = compile_for(&p, Abi::Aarch64).unwrap();
    // aarch64: read 63, getcwd 17.
    assert_eq!(run(&p, Abi::Aarch64.audit_arch(), 63, [0; 6]), ALLOW);
    assert_eq!(run(&p, Abi::Aarch64.audit_arch(), 62, [0; 6]), errno(libc::EPERM));
    assert_eq!(run(&p, Abi::Aarch64.audit_arch(), 64, [0; 6]), errno(libc::ENOSYS));
    // arm: read 3, getcwd 183.
    assert_eq!(run(&p, Abi::Arm.audit_arch(), 183, [0; 6]), ALLOW);
    assert_eq!(run(&p, Abi::Arm.audit_arch(), 64, [0; 6]), errno(libc::EPERM));
    assert_eq!(run(&p, Abi::Arm.audit_arch(), 184, [0; 6]), errno(libc::ENOSYS));
    // ARM's private calls sit at 0x0f0000 and count like any other number.
    let cache = profile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_ARM"],
            "syscalls":[{"names":["cacheflush"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let p = compile_for(&cache, Abi::Aarch64).unwrap();
    assert_eq!(verdict(&p, Abi::Arm, "cacheflush", [0; 6]), ALLOW);
    assert_eq!(verdict(&p, Abi::Arm, "set_tls", [0; 6]), errno(libc::ENOSYS));
    assert_eq!(verdict(&p, Abi::Arm, "read", [0; 6]), errno(libc::EPERM));
}

/// Arguments are 64 bits on aarch64 and riscv64; a 32-bit arm program's are
/// compared in their low half only, as libseccomp does for every 32-bit ABI.
#[test]
fn argument_width_follows_the_abi() {
    let p = profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_ARM"],
            "syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO",
                         "args":[{"index":0,"value":4294967296,"op":"SCMP_CMP_EQ"}]},
                        {"names":["clone"],"action":"SCMP_ACT_ERRNO","errnoRet":22,
                         "args":[{"index":1,"value":5,"op":"SCMP_CMP_GT"}]}]}"#,
    );
    for native in [Abi::Aarch64, Abi::Riscv64] {
        let p = compile_for(&p, native).unwrap();
        let pers = |a0| verdict(&p, native, "personality", [a0, 0, 0, 0, 0, 0]);
        assert_eq!(pers(0x1_0000_0000), errno(libc::EPERM), "{native:?}");
        assert_eq!(pers(0), ALLOW, "{native:?}");
        let clone = |a1| verdict(&p, native, "clone", [0, a1, 0, 0, 0, 0]);
        assert_eq!(clone(6), errno(libc::EINVAL), "{native:?}");
        assert_eq!(clone(5), ALLOW, "{native:?}");
        assert_eq!(clone(0x1_0000_0000), errno(libc::EINVAL), "{native:?}: the high word counts");
    }
    let p = compile_for(&p, Abi::Aarch64).unwrap();
    let pers = |a0| verdict(&p, Abi::Arm, "personality", [a0, 0, 0, 0, 0, 0]);
    assert_eq!(pers(0), errno(libc::EPERM), "only the low word (0) is compared");
    let clone = |a1| verdict(&p, Abi::Arm, "clone", [0, a1, 0, 0, 0, 0]);
    assert_eq!(clone(6), errno(libc::EINVAL));
    assert_eq!(clone(0x1_0000_0000), ALLOW, "only the low word (0) is compared");
}

#[test]
fn podman_profile_on_aarch64() {
    let mut profile = fixture("podman.json");
    profile.set_architectures(Some(vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]));
    let p = compile_for(&profile, Abi::Aarch64).unwrap();
    for abi in [Abi::Aarch64, Abi::Arm] {
        let v = |name| verdict(&p, abi, name, [0; 6]);
        assert_eq!(v("read"), ALLOW, "{abi:?}");
        assert_eq!(v("clone3"), ALLOW, "{abi:?}");
        assert_eq!(v("kexec_load"), errno(libc::EPERM), "{abi:?}");
        assert_eq!(v("setns"), ALLOW, "{abi:?}");
        let socket = |a0, a2| verdict(&p, abi, "socket", [a0, 0, a2, 0, 0, 0]);
        assert_eq!(socket(16, 9), errno(libc::EINVAL), "{abi:?}");
        assert_eq!(socket(16, 0), ALLOW, "{abi:?}");
        assert_eq!(socket(2, 9), ALLOW, "{abi:?}");
    }
    // Not listed, so the default errno 38, like any unknown call.
    assert_eq!(verdict(&p, Abi::Arm, "cacheflush", [0; 6]), errno(libc::ENOSYS));
    assert!(p.len() < bpf::MAX_INSNS, "{}", p.len());
}

/// A profile says the same thing on every host: every syscall it names gets the
/// same verdict on x86_64, aarch64 and riscv64 (where the host has it), for
/// arguments on both sides of each of its comparisons.
#[test]
fn fixture_profiles_mean_the_same_on_every_host() {
    for name in ["podman.json", "runtime-tools.json"] {
        let profile: LinuxSeccomp = fixture(name);
        let programs: Vec<(Abi, Program)> = [Abi::X86_64, Abi::Aarch64, Abi::Riscv64]
            .iter()
            .map(|a| (*a, compile_for(&profile, *a).unwrap()))
            .collect();
        let mut values = vec![0u64, 1, u64::MAX];
        for rule in profile.syscalls().iter().flatten() {
            for arg in rule.args().iter().flatten() {
                values.extend([arg.value(), arg.value().wrapping_add(1), arg.value().wrapping_sub(1)]);
            }
        }
        let mut compared = 0;
        for rule in profile.syscalls().iter().flatten() {
            for call in rule.names() {
                for (i, v) in values.iter().enumerate() {
                    let args = [*v, 0, values[(i + 1) % values.len()], 0, 0, 0];
                    let verdicts: Vec<(Abi, u32)> = programs
                        .iter()
                        .filter(|(abi, _)| abi.resolve(call).is_some())
                        .map(|(abi, p)| (*abi, verdict(p, *abi, call, args)))
                        .collect();
                    assert!(verdicts.windows(2).all(|w| w[0].1 == w[1].1), "{name}: {call} {args:x?}: {verdicts:x?}");
                    compared += verdicts.len();
                }
            }
        }
        assert!(compared > 1000, "{name}: {compared}");
    }
}

/// The generated tables, read back through the ELF machine's libc where this
/// test runs natively, and by a few numbers from the kernel's own tables.
#[test]
fn arch_tables_agree_with_the_kernel() {
    let expect = [
        (Abi::Aarch64, "io_setup", 0),
        (Abi::Aarch64, "execve", 221),
        (Abi::Aarch64, "rseq", 293),
        (Abi::Aarch64, "memfd_secret", 447),
        (Abi::Aarch64, "map_shadow_stack", 453),
        (Abi::Riscv64, "riscv_hwprobe", 258),
        (Abi::Riscv64, "clone3", 435),
        (Abi::Arm, "restart_syscall", 0),
        (Abi::Arm, "execve", 11),
        (Abi::Arm, "set_tls", 0x0f_0005),
        (Abi::Arm, "clock_gettime64", 403),
    ];
    for (abi, name, nr) in expect {
        assert_eq!(abi.resolve(name), Some(nr), "{name} on {abi:?}");
    }
    // The OCI names of the architectures map onto these ABIs.
    let p: LinuxSeccomp =
        serde_json::from_value(json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_ARM"]})).unwrap();
    let prog = compile_for(&p, Abi::Aarch64).unwrap();
    assert_eq!(run(&prog, 0x4000_0028, 0, [0; 6]), ALLOW, "AUDIT_ARCH_ARM is filtered");
}

/// libseccomp knows every architecture's names and keeps a rule for a name
/// the host lacks under a pseudo number: it never matches, but a rule that
/// conflicts with it is refused all the same (as libseccomp, and so runc,
/// refuses it), on every host.
#[test]
fn conflicts_on_other_architectures_names_are_refused() {
    let p = profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW",
            "syscalls":[{"names":["cacheflush"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
                        {"names":["cacheflush"],"action":"SCMP_ACT_KILL","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    for native in [Abi::X86_64, Abi::Aarch64, Abi::Riscv64] {
        assert!(matches!(compile_for(&p, native), Err(Error::RuleConflict { rule: 1, .. })), "{native:?}");
    }
}
