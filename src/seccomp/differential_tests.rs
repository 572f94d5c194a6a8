//! berth's BPF against libseccomp's, verdict for verdict.
//!
//! berth emits its own seccomp programs (see `bpf`); this test is what makes that
//! safe. It builds random OCI profiles (every default action, per-rule actions
//! with errno values, conditions with every operator, repeated argument indexes,
//! the x86 and x32 ABIs, socket and IPC calls that x86 multiplexes) and random
//! calls (x86_64, x86, x32 and foreign architectures; numbers from the profile,
//! around its highest number, the multiplexers with their call numbers, and
//! arguments around the profile's values and 32-bit boundaries), and runs every
//! call through two programs with `interp`:
//! - berth's, from `compile`;
//! - the reference: what runc loads for the same profile, built by the real
//!   libseccomp through Debian's python3-seccomp, with runc's ENOSYS stub in front
//!   (`testdata/libseccomp_reference.py`).
//!
//! The verdicts must be identical, and a profile libseccomp refuses must be
//! refused by berth too, for the same reason. The exceptions, where libseccomp
//! 2.5 is broken and berth does what the profile says, are counted, printed and
//! bounded:
//! - profiles on which libseccomp never returns (runc hangs; see `tree`): berth
//!   must refuse them with [`Error::RuleLoops`];
//! - calls that reach a comparison of a stale accumulator in libseccomp's
//!   program (`interp::stale_compares`). Two code-generation bugs do that:
//!   when a tree branch ends and evaluation falls through to the next node of
//!   the level above, the argument word is reloaded only on the first jump into
//!   that node, so other jumps compare a stale word (say the low half of an
//!   argument where the node tests the high half); and when the first entry of
//!   the x86 table (in libseccomp's priority order) is a pseudo syscall (a rule
//!   for `accept` or `send`, which x86 only has through `socketcall`), the
//!   section never loads the syscall number and compares the arch value
//!   instead. Reproducing either would mean copying the block placement of
//!   libseccomp's code generator; berth's programs load every word they
//!   compare, and the test checks that they never compare a stale one.
//!
//! One difference is berth's on purpose: an `errnoRet` libseccomp does not take
//! (4095 and up) is an error in every rule, while runc only notices it in rules
//! that name a syscall libseccomp knows.
//!
//! Hosts: the same runs for the programs of an aarch64 host (its own calls and
//! 32-bit arm ones) and of a riscv64 host, which `compile_for` builds here and
//! libseccomp builds on any host too: berth's other architectures are proven on
//! x86_64 machines, not only where they run.
//!
//! It is seeded and reproducible: `BERTH_SECCOMP_SEED=<n>` reruns one seed (a
//! failure prints it), `BERTH_SECCOMP_CASES=<n>` sets the number of profiles.
//! Without python3-seccomp the tests are skipped, unless
//! `BERTH_SECCOMP_REFERENCE=required` (set by `make unit`) makes that a failure.
//! Names that the installed libseccomp does not know are left out: runc skips
//! them, and berth's tables are newer (a newer libseccomp knows them too).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::interp::{self, Data};
use super::syscalls::{Abi, AUDIT_ARCH_AARCH64, X32_SYSCALL_BIT};
use super::*;

const PYTHON: &str = "/usr/bin/python3";
const DEFAULT_SEED: u64 = 0x5ecc_0b0e_2026;
const DEFAULT_CASES: usize = 3000;
const PROBES: usize = 48;

/// Candidate names: ordinary calls, ABI-specific ones, the socket and IPC
/// families (multiplexed on x86), the multiplexers themselves, numbers 0 (no
/// stub in runc), and a name no libseccomp knows.
const POOL: &[&str] = &[
    "read",
    "write",
    "getcwd",
    "chdir",
    "kill",
    "clone",
    "personality",
    "mmap",
    "openat",
    "close",
    "ioctl",
    "fcntl",
    "dup",
    "exit_group",
    "restart_syscall",
    "arch_prctl",
    "newfstatat",
    "tuxcall",
    "_llseek",
    "chown32",
    "fcntl64",
    "socketcall",
    "ipc",
    "socket",
    "bind",
    "connect",
    "listen",
    "accept",
    "accept4",
    "send",
    "recv",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "recvmmsg",
    "sendmmsg",
    "shutdown",
    "socketpair",
    "getsockopt",
    "setsockopt",
    "semop",
    "semget",
    "semctl",
    "semtimedop",
    "msgsnd",
    "msgrcv",
    "msgget",
    "msgctl",
    "shmat",
    "shmdt",
    "shmget",
    "shmctl",
    "clone3",
    "faccessat2",
    "process_mrelease",
    "futex_waitv",
    "no_such_syscall",
];

/// More names for the other hosts: ones some architectures lack (`open`,
/// `renameat`), 32-bit arm's own (its private calls at 0x0f0000, `send`,
/// `recv`, `socketcall`, `ipc` are real syscalls there) and riscv64's.
const ARCH_POOL: &[&str] = &[
    "open",
    "renameat",
    "fstat",
    "fstat64",
    "getrlimit",
    "ugetrlimit",
    "mmap2",
    "arm_fadvise64_64",
    "cacheflush",
    "set_tls",
    "breakpoint",
    "riscv_flush_icache",
    "memfd_secret",
];

/// The audit arch values a call can come with, by the host it is made on.
const X86_64_ARCHES: [u32; 3] = [0xc000_003e, 0x4000_0003, AUDIT_ARCH_AARCH64];
const AARCH64_ARCHES: [u32; 4] = [AUDIT_ARCH_AARCH64, 0x4000_0028, 0xc000_003e, 0xc000_00f3];
const RISCV64_ARCHES: [u32; 3] = [0xc000_00f3, AUDIT_ARCH_AARCH64, 0xc000_003e];

/// The name the reference helper uses for a host.
fn host_key(native: Abi) -> &'static str {
    match native {
        Abi::X86_64 => "x86_64",
        Abi::Aarch64 => "aarch64",
        Abi::Riscv64 => "riscv64",
        Abi::X86 | Abi::X32 | Abi::Arm => unreachable!("not a host"),
    }
}

fn host_arches(native: Abi) -> &'static [u32] {
    match native {
        Abi::Aarch64 => &AARCH64_ARCHES,
        Abi::Riscv64 => &RISCV64_ARCHES,
        _ => &X86_64_ARCHES,
    }
}

const OPS: &[&str] =
    &["SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT", "SCMP_CMP_GE", "SCMP_CMP_MASKED_EQ"];

/// splitmix64: small, seedable, good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// Values that sit on the boundaries comparisons care about.
    fn value(&mut self) -> u64 {
        const V: &[u64] = &[
            0,
            1,
            2,
            3,
            5,
            16,
            40,
            0xff,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0005,
            0xffff_ffff_0000_0000,
            u64::MAX - 1,
            u64::MAX,
        ];
        match self.below(10) {
            0..=6 => *self.pick(V),
            7 => self.next() & 0xff,
            8 => self.next() & 0xffff_ffff,
            _ => self.next(),
        }
    }
}

/// The reference helper, fed a batch of requests at once.
fn reference(requests: &[Value]) -> std::result::Result<Vec<Value>, String> {
    let script = format!("{}/src/seccomp/testdata/libseccomp_reference.py", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(PYTHON)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("run {PYTHON}: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let answers: Vec<Value> = BufReader::new(stdout)
        .lines()
        .map(|l| serde_json::from_str(&l.map_err(|e| e.to_string())?).map_err(|e| e.to_string()))
        .collect::<std::result::Result<_, String>>()?;
    let _ = writer.join();
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() || answers.len() != requests.len() {
        return Err(format!("reference helper failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(answers)
}

/// Whether the reference can run here; `Err` is the reason it cannot.
fn reference_available() -> std::result::Result<String, String> {
    if !std::path::Path::new(PYTHON).exists() {
        return Err(format!("{PYTHON} is missing (Debian packages python3 and python3-seccomp)"));
    }
    let answers = reference(&[json!({"op": "probe"})])
        .map_err(|e| format!("libseccomp's python binding is not usable (Debian package python3-seccomp): {e}"))?;
    Ok(answers[0]["version"].as_str().unwrap_or("?").to_string())
}

/// `None` (after saying why) when the test must be skipped.
fn require_reference() -> Option<String> {
    match reference_available() {
        Ok(version) => Some(version),
        Err(why) if std::env::var("BERTH_SECCOMP_REFERENCE").as_deref() == Ok("required") => {
            panic!("BERTH_SECCOMP_REFERENCE=required but {why}")
        }
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn errno_ret(rng: &mut Rng) -> Option<u64> {
    match rng.below(40) {
        0..=11 => None,
        12..=19 => Some(1),
        20..=25 => Some(38),
        26..=37 => Some(rng.next() % 200),
        38 => Some(4094 + rng.next() % 2),
        _ => Some(rng.next() & 0xffff),
    }
}

/// An action and its `errnoRet`, as OCI JSON fields.
fn action(rng: &mut Rng, default: bool, notify_ok: bool) -> (String, Option<u64>) {
    let choices: &[&str] = if default {
        &[
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_TRAP",
            "SCMP_ACT_LOG",
            "SCMP_ACT_TRACE",
        ]
    } else {
        &[
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_TRAP",
            "SCMP_ACT_LOG",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_NOTIFY",
        ]
    };
    let mut name = *rng.pick(choices);
    if name == "SCMP_ACT_NOTIFY" && !notify_ok {
        name = "SCMP_ACT_ERRNO";
    }
    let errno = match name {
        "SCMP_ACT_ERRNO" | "SCMP_ACT_TRACE" => errno_ret(rng),
        _ => None,
    };
    (name.to_string(), errno)
}

/// A random condition; values cluster so that rules overlap.
fn condition(rng: &mut Rng, values: &[u64]) -> Value {
    let index = if rng.chance(80) { rng.below(3) } else { rng.below(6) };
    let op = *rng.pick(OPS);
    let value = if rng.chance(50) { *rng.pick(values) } else { rng.value() };
    let mut c = json!({"index": index, "value": value, "op": op});
    if op == "SCMP_CMP_MASKED_EQ" {
        let two = if rng.chance(50) { value & rng.value() } else { rng.value() };
        c["valueTwo"] = json!(two);
    }
    c
}

/// The architectures a profile for `native`'s host lists.
fn random_arches(rng: &mut Rng, native: Abi) -> Vec<&'static str> {
    let candidates: &[(u64, &str)] = match native {
        Abi::Aarch64 => &[(70, "SCMP_ARCH_AARCH64"), (60, "SCMP_ARCH_ARM"), (10, "SCMP_ARCH_X86_64")],
        Abi::Riscv64 => &[(70, "SCMP_ARCH_RISCV64"), (10, "SCMP_ARCH_AARCH64")],
        _ => &[(70, "SCMP_ARCH_X86_64"), (60, "SCMP_ARCH_X86"), (40, "SCMP_ARCH_X32"), (5, "SCMP_ARCH_AARCH64")],
    };
    candidates.iter().filter(|(percent, _)| rng.chance(*percent)).map(|(_, name)| *name).collect()
}

/// A random profile drawing names from `names`.
fn random_profile(rng: &mut Rng, names: &[&'static str], native: Abi) -> Value {
    let (default, default_errno) = action(rng, true, false);
    let mut p = json!({"defaultAction": default});
    if let Some(e) = default_errno {
        p["defaultErrnoRet"] = json!(e);
    }
    p["architectures"] = json!(random_arches(rng, native));

    // A few names per profile, so that rules for one syscall meet.
    let focus: Vec<&str> = (0..2 + rng.below(5)).map(|_| *rng.pick(names)).collect();
    let values: Vec<u64> = (0..3).map(|_| rng.value()).collect();
    let count = if rng.chance(5) { 30 + rng.below(15) } else { rng.below(9) };
    let mut rules = Vec::new();
    let mut notify = false;
    for _ in 0..count {
        let rule_names: Vec<&str> =
            (0..1 + rng.below(3)).map(|_| if rng.chance(80) { *rng.pick(&focus) } else { *rng.pick(names) }).collect();
        let notify_ok = !rule_names.iter().any(|n| policy::NOTIFY_FORBIDDEN.contains(n));
        let (act, errno) = action(rng, false, notify_ok);
        notify |= act == "SCMP_ACT_NOTIFY";
        let mut rule = json!({"names": rule_names, "action": act});
        if let Some(e) = errno {
            rule["errnoRet"] = json!(e);
        }
        if rng.chance(60) {
            let args: Vec<Value> = (0..1 + rng.below(3)).map(|_| condition(rng, &values)).collect();
            rule["args"] = json!(args);
        }
        rules.push(rule);
    }
    p["syscalls"] = json!(rules);
    if notify {
        p["listenerPath"] = json!("/run/agent.sock");
    }
    p
}

/// The ABI a random call comes through on `native`'s host, and its arch value
/// (now and then one the host does not run, or nonsense).
fn random_abi(rng: &mut Rng, native: Abi) -> (Abi, u32) {
    match (native, rng.below(20)) {
        (Abi::Aarch64, 0..=11) | (Abi::Riscv64, 0..=17) => (native, native.audit_arch()),
        (Abi::Aarch64, 12..=18) => (Abi::Arm, Abi::Arm.audit_arch()),
        (Abi::Aarch64 | Abi::Riscv64, _) => (native, *rng.pick(host_arches(native)) ^ rng.chance(30) as u32),
        (_, 0..=8) => (Abi::X86_64, Abi::X86_64.audit_arch()),
        (_, 9..=11) => (Abi::X32, Abi::X32.audit_arch()),
        (_, 12..=18) => (Abi::X86, Abi::X86.audit_arch()),
        _ => (Abi::X86_64, if rng.chance(50) { AUDIT_ARCH_AARCH64 } else { rng.next() as u32 }),
    }
}

/// Random calls aimed at the profile's names, numbers and values.
fn random_calls(rng: &mut Rng, profile: &Value, names: &[&str], native: Abi) -> Vec<Data> {
    let mut used: Vec<&str> = Vec::new();
    let mut values: Vec<u64> = Vec::new();
    for rule in profile["syscalls"].as_array().into_iter().flatten() {
        for n in rule["names"].as_array().into_iter().flatten() {
            used.extend(n.as_str());
        }
        for a in rule["args"].as_array().into_iter().flatten() {
            for key in ["value", "valueTwo"] {
                if let Some(v) = a[key].as_u64() {
                    values.extend([v, v.wrapping_add(1), v.wrapping_sub(1), v & 0xffff_ffff, v ^ (1 << 32)]);
                }
            }
        }
    }
    if used.is_empty() {
        used.extend(names.iter().take(4));
    }
    (0..PROBES)
        .map(|_| {
            let (abi, arch) = random_abi(rng, native);
            let name = if rng.chance(75) { *rng.pick(&used) } else { *rng.pick(names) };
            let mut args = [0u64; 6];
            for a in &mut args {
                *a = if !values.is_empty() && rng.chance(60) { *rng.pick(&values) } else { rng.value() };
            }
            let nr = match rng.below(10) {
                0..=6 => match (abi, mux::x86_multiplexed(name)) {
                    (Abi::X86, Some((mux_nr, call))) if rng.chance(70) => {
                        args[0] = if rng.chance(80) { u64::from(call) } else { rng.value() };
                        mux_nr
                    }
                    _ => abi.resolve(name).unwrap_or_else(|| rng.next() as u32 & 0x1ff),
                },
                7 => (rng.next() as u32 & 0x1ff) | if abi == Abi::X32 { X32_SYSCALL_BIT } else { 0 },
                8 if abi == Abi::Arm => *rng.pick(&[u32::MAX, 0x0f_0000, 0x0f_0002, 0x0f_0005, 0x0f_0007, 0]),
                8 => *rng.pick(&[u32::MAX, 0x8000_0000, X32_SYSCALL_BIT, X32_SYSCALL_BIT - 1, 0xc000_0000, 0]),
                _ => {
                    // Around the profile's highest number on this ABI.
                    let high = used.iter().filter_map(|n| abi.resolve(n)).max().unwrap_or(0);
                    high.wrapping_add(rng.below(3) as u32).wrapping_sub(1)
                }
            };
            Data { nr, arch, args }
        })
        .collect()
}

/// Whether the rule that `field` (`linux.seccomp.syscalls[N].errnoRet`) names
/// has only names that libseccomp does not know.
fn names_unknown(profile: &Value, field: &str, known: &[&str]) -> bool {
    let Some(rule) = field.strip_prefix("linux.seccomp.syscalls[").and_then(|r| r.split(']').next()) else {
        return false;
    };
    let rule = &profile["syscalls"][rule.parse::<usize>().unwrap_or(usize::MAX)];
    rule["names"].as_array().is_some_and(|n| n.iter().all(|n| !known.contains(&n.as_str().unwrap_or_default())))
}

fn decode(hex: &str) -> Vec<libc::sock_filter> {
    let bytes: Vec<u8> = (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    bytes
        .chunks(8)
        .map(|c| libc::sock_filter {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// The ABIs and the reference helper's names for them.
const ABI_KEYS: [(Abi, &str); 6] = [
    (Abi::X86_64, "x86_64"),
    (Abi::X86, "x86"),
    (Abi::X32, "x32"),
    (Abi::Aarch64, "aarch64"),
    (Abi::Arm, "arm"),
    (Abi::Riscv64, "riscv64"),
];

/// `pool`, less names the installed libseccomp does not know. Checks on the
/// way that libseccomp and berth number every pool name alike, on every ABI.
fn known_names(pool: &[&'static str]) -> Vec<&'static str> {
    let answer = reference(&[json!({"op": "resolve", "names": pool})]).unwrap().remove(0);
    let known: Vec<&str> = answer["known"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    for (abi, key) in ABI_KEYS {
        for name in &known {
            let theirs = answer[key][*name].as_u64().map(|n| n as u32);
            // libseccomp numbers multiplexed x86 calls with pseudo numbers (left out).
            if abi == Abi::X86 && mux::x86_multiplexed(name).is_some() {
                continue;
            }
            assert_eq!(abi.resolve(name), theirs, "{name} on {key}");
        }
    }
    pool.iter().copied().filter(|n| known.contains(n) || *n == "no_such_syscall").collect()
}

/// The pool names libseccomp knows.
fn libseccomp_knows(names: &[&'static str]) -> Vec<&'static str> {
    names.iter().copied().filter(|n| *n != "no_such_syscall").collect()
}

#[test]
fn verdicts_match_libseccomp() {
    verdicts_match_on(Abi::X86_64, POOL, DEFAULT_CASES);
}

#[test]
fn verdicts_match_libseccomp_on_aarch64() {
    verdicts_match_on(Abi::Aarch64, &[POOL, ARCH_POOL].concat(), DEFAULT_CASES / 2);
}

#[test]
fn verdicts_match_libseccomp_on_riscv64() {
    verdicts_match_on(Abi::Riscv64, &[POOL, ARCH_POOL].concat(), DEFAULT_CASES / 6);
}

/// Random profiles for `native`'s host, compiled by both, and random calls
/// through both programs. `BERTH_SECCOMP_CASES` scales every host alike.
fn verdicts_match_on(native: Abi, pool: &[&'static str], default_cases: usize) {
    let Some(version) = require_reference() else { return };
    let seed: u64 = env_number("BERTH_SECCOMP_SEED", DEFAULT_SEED);
    let cases: usize = env_number("BERTH_SECCOMP_CASES", DEFAULT_CASES) * default_cases / DEFAULT_CASES;
    let names = known_names(pool);
    let host = host_key(native);
    let mut rng = Rng(seed);
    let profiles: Vec<Value> = (0..cases).map(|_| random_profile(&mut rng, &names, native)).collect();
    let requests: Vec<Value> = profiles
        .iter()
        .map(|p| {
            if native == Abi::X86_64 {
                json!({"op": "compile", "profile": p})
            } else {
                json!({"op": "compile", "profile": p, "native": host})
            }
        })
        .collect();
    if let Ok(path) = std::env::var("BERTH_SECCOMP_DUMP") {
        let lines: String = requests.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(format!("{path}.{host}"), lines).unwrap();
    }
    let answers = reference(&requests).unwrap();

    let mut refused = 0;
    let mut loops = 0;
    let mut calls = 0;
    let mut stale = 0;
    let mut verdicts: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, (profile, answer)) in profiles.iter().zip(&answers).enumerate() {
        let ours = compile_for(&serde_json::from_value(profile.clone()).unwrap(), native);
        let context = || {
            format!("{host} host, seed {seed} (BERTH_SECCOMP_SEED={seed}), case {i}, libseccomp {version}\nprofile: {profile}")
        };
        if answer.get("loops").is_some() {
            // runc would hang: berth must refuse it, saying why.
            match &ours {
                Err(Error::RuleLoops { .. }) => {}
                other => panic!("libseccomp loops on the profile, berth gives {other:?}\n{}", context()),
            }
            loops += 1;
            continue;
        }
        let theirs = match (answer.get("error"), &ours) {
            (Some(e), Err(ours)) => {
                // EEXIST is an overlap, EINVAL an errno libseccomp does not take.
                let e = e.as_str().unwrap_or_default();
                let same = match ours {
                    Error::RuleConflict { .. } => e.contains("errno = -17"),
                    Error::ErrnoRange { .. } => !e.contains("errno = -17"),
                    _ => false,
                };
                assert!(same, "libseccomp refuses the profile ({e}), berth for another reason: {ours}\n{}", context());
                refused += 1;
                continue;
            }
            (Some(e), Ok(_)) => panic!("libseccomp refuses the profile ({e}), berth accepts it\n{}", context()),
            // berth checks every rule's errno; runc never hands libseccomp a rule
            // whose names are all unknown, so it does not notice a bad one there.
            (None, Err(Error::ErrnoRange { field, .. }))
                if names_unknown(profile, field, &libseccomp_knows(&names)) =>
            {
                continue
            }
            (None, Err(e)) => panic!("berth refuses the profile ({e}), libseccomp accepts it\n{}", context()),
            (None, Ok(_)) => decode(answer["bpf"].as_str().unwrap()),
        };
        let ours = ours.unwrap();
        let arches = host_arches(native);
        let ours_stale = interp::stale_compares(&ours.filter, arches);
        assert!(!ours_stale.contains(&true), "berth compares a stale word\n{}", context());
        let broken = interp::stale_compares(&theirs, arches);
        for data in random_calls(&mut rng, profile, &names, native) {
            let mut miscompiled = false;
            let b = interp::run_traced(&theirs, &data, &mut |pc| miscompiled |= broken[pc]);
            let a = interp::run(&ours.filter, &data);
            if miscompiled {
                stale += 1;
                continue;
            }
            assert_eq!(a, b, "berth {a:#x}, libseccomp {b:#x} for {data:?}\n{}", context());
            *verdicts.entry(a & libc::SECCOMP_RET_ACTION_FULL).or_default() += 1;
            calls += 1;
        }
    }
    eprintln!(
        "{host} host: {cases} profiles ({refused} refused by both, {loops} that libseccomp loops on), {calls} calls \
         ({stale} more through a stale comparison in libseccomp's program), verdicts by action: {verdicts:x?}"
    );
    assert!(stale * 20 < calls, "{stale} calls of {calls} met a stale comparison");
    assert!(loops * 50 < cases.max(50), "{loops} of {cases} profiles loop");
    // The generator must reach the interesting cases, or the test proves little.
    assert!(refused > 0 && refused < cases * 2 / 5, "{refused} of {cases} profiles refused");
    assert!(verdicts.len() >= 7, "{verdicts:x?}");
}

/// Every number berth knows for every ABI names the same syscall in
/// libseccomp's tables (where libseccomp knows the number at all).
#[test]
fn syscall_tables_match_libseccomp() {
    if require_reference().is_none() {
        return;
    }
    let requests: Vec<Value> = ABI_KEYS.iter().map(|(_, a)| json!({"op": "table", "arch": a})).collect();
    let answers = reference(&requests).unwrap();
    for ((abi, key), table) in ABI_KEYS.iter().zip(&answers) {
        let table = table.as_object().unwrap();
        assert!(table.len() > 300, "{key}: {} numbers", table.len());
        for (nr, name) in table {
            let nr: u32 = nr.parse().unwrap();
            let name = name.as_str().unwrap();
            let nr = if *abi == Abi::X32 { nr + X32_SYSCALL_BIT } else { nr };
            assert_eq!(abi.resolve(name), Some(nr), "{name} on {key}");
        }
    }
}

/// The real profiles in `testdata` (podman's default, a runtime-tools style
/// allow list), on every ABI of every host, against many random calls.
#[test]
fn fixture_profiles_match_libseccomp() {
    if require_reference().is_none() {
        return;
    }
    let hosts: [(Abi, &[&str]); 3] = [
        (Abi::X86_64, &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
        (Abi::Aarch64, &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
        (Abi::Riscv64, &["SCMP_ARCH_RISCV64"]),
    ];
    for (native, listed) in hosts {
        let names = known_names(if native == Abi::X86_64 { POOL } else { ARCH_POOL });
        let mut rng = Rng(DEFAULT_SEED);
        let arches = host_arches(native);
        for fixture in ["podman.json", "runtime-tools.json"] {
            let path = format!("{}/src/seccomp/testdata/{fixture}", env!("CARGO_MANIFEST_DIR"));
            let mut profile: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            profile["architectures"] = json!(listed);
            let request = json!({"op": "compile", "profile": profile, "native": host_key(native)});
            let answer = reference(&[request]).unwrap().remove(0);
            let theirs = decode(answer["bpf"].as_str().unwrap_or_else(|| panic!("{fixture}: {answer}")));
            let ours = compile_for(&serde_json::from_value(profile.clone()).unwrap(), native).unwrap();
            let broken = interp::stale_compares(&theirs, arches);
            let mut compared = 0;
            for _ in 0..200 {
                for data in random_calls(&mut rng, &profile, &names, native) {
                    let mut miscompiled = false;
                    let b = interp::run_traced(&theirs, &data, &mut |pc| miscompiled |= broken[pc]);
                    let a = interp::run(&ours.filter, &data);
                    if !miscompiled {
                        assert_eq!(a, b, "{fixture} on {native:?}: berth {a:#x}, libseccomp {b:#x} for {data:?}");
                        compared += 1;
                    }
                }
            }
            assert!(compared > 9000, "{fixture} on {native:?}: {compared} calls compared");
        }
    }
}
