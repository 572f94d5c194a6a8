//! Every architecture's trampoline, whatever the host: its ELF headers, its
//! code against the disassembler (the listing in its source must be what
//! binutils' objdump reads), and its behaviour (calling convention, messages,
//! exit codes), run natively where this kernel runs that machine's code and
//! under qemu-user (Debian's qemu-user-static) otherwise.
//!
//! Without objdump or qemu for an architecture the test says so and skips
//! it, unless `BERTH_CROSS_TOOLS=required` (set by `make unit`, whose `deps`
//! install them) makes that a failure.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::elf::{Elf, EHDR_LEN, PHDR_LEN};
use super::{aarch64, riscv64, x86_64};

/// One architecture's trampoline and the tools that read and run it.
struct Arch {
    name: &'static str,
    elf: &'static Elf,
    image: &'static [u8],
    /// The code as instruction words, for the fixed-width machines.
    words: Option<&'static [u32]>,
    /// The module's source, whose `CODE` comments document every word.
    source: &'static str,
    /// objdump and its arguments for raw code of this machine.
    objdump: &'static [&'static str],
    qemu: &'static str,
}

const ARCHES: [Arch; 3] = [
    Arch {
        name: "x86_64",
        elf: &x86_64::ELF,
        image: x86_64::TRAMPOLINE,
        words: None,
        source: include_str!("x86_64.rs"),
        objdump: &[],
        qemu: "qemu-x86_64-static",
    },
    Arch {
        name: "aarch64",
        elf: &aarch64::ELF,
        image: aarch64::TRAMPOLINE,
        words: Some(&aarch64::CODE),
        source: include_str!("aarch64.rs"),
        objdump: &["aarch64-linux-gnu-objdump", "-D", "-b", "binary", "-m", "aarch64"],
        qemu: "qemu-aarch64-static",
    },
    Arch {
        name: "riscv64",
        elf: &riscv64::ELF,
        image: riscv64::TRAMPOLINE,
        words: Some(&riscv64::CODE),
        source: include_str!("riscv64.rs"),
        objdump: &["riscv64-linux-gnu-objdump", "-D", "-b", "binary", "-m", "riscv:rv64", "-M", "no-aliases"],
        qemu: "qemu-riscv64-static",
    },
];

fn le(b: &[u8], at: usize, n: usize) -> u64 {
    b[at..at + n].iter().rev().fold(0, |acc, &x| (acc << 8) | u64::from(x))
}

/// Skip (saying why), or fail under `BERTH_CROSS_TOOLS=required`.
fn missing(what: &str) {
    if std::env::var("BERTH_CROSS_TOOLS").as_deref() == Ok("required") {
        panic!("BERTH_CROSS_TOOLS=required but {what}");
    }
    eprintln!("skipped: {what}");
}

fn in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}

/// The ELF machine this kernel runs natively: its /bin/sh's (the test itself
/// may run under qemu-user, which reports the emulated machine everywhere else).
fn host_machine() -> u16 {
    let sh = std::fs::read("/bin/sh").unwrap();
    le(&sh, 18, 2) as u16
}

#[test]
fn elf_headers_are_what_the_kernel_loads() {
    for a in &ARCHES {
        let (b, name) = (a.image, a.name);
        assert_eq!(&b[..4], b"\x7fELF", "{name}");
        assert_eq!(b[4], 2, "{name}: ELFCLASS64");
        assert_eq!(b[5], 1, "{name}: little endian");
        assert_eq!(b[6], 1, "{name}: EV_CURRENT");
        assert_eq!(le(b, 16, 2), 2, "{name}: ET_EXEC");
        assert_eq!(le(b, 18, 2), u64::from(a.elf.machine), "{name}: e_machine");
        assert_eq!(le(b, 20, 4), 1, "{name}: e_version");
        let entry = le(b, 24, 8);
        let phoff = le(b, 32, 8) as usize;
        assert_eq!(le(b, 40, 8), 0, "{name}: no section headers");
        assert_eq!(le(b, 48, 4), 0, "{name}: e_flags");
        assert_eq!(le(b, 52, 2), EHDR_LEN as u64, "{name}: e_ehsize");
        assert_eq!(le(b, 54, 2), PHDR_LEN as u64, "{name}: e_phentsize");
        let phnum = le(b, 56, 2) as usize;
        assert_eq!(phnum, if a.elf.gnu_stack { 2 } else { 1 }, "{name}: e_phnum");
        assert_eq!(le(b, 60, 2), 0, "{name}: e_shnum");

        let ph = &b[phoff..phoff + PHDR_LEN];
        assert_eq!(le(ph, 0, 4), 1, "{name}: PT_LOAD");
        assert_eq!(le(ph, 4, 4), 5, "{name}: PF_R | PF_X, not writable");
        let (offset, vaddr, filesz, memsz, align) =
            (le(ph, 8, 8), le(ph, 16, 8), le(ph, 32, 8), le(ph, 40, 8), le(ph, 48, 8));
        assert_eq!(offset, 0, "{name}");
        assert_eq!(filesz, b.len() as u64, "{name}: p_filesz is the whole file");
        assert_eq!(memsz, filesz, "{name}");
        assert!(align.is_power_of_two() && vaddr % align == 0, "{name}: aligned for every page size");
        assert!((vaddr..vaddr + filesz).contains(&entry), "{name}: entry inside the segment");
        assert_eq!(entry, a.elf.load_addr + a.elf.code_offset() as u64, "{name}");
        if a.elf.gnu_stack {
            let st = &b[phoff + PHDR_LEN..phoff + 2 * PHDR_LEN];
            assert_eq!(le(st, 0, 4), 0x6474_e551, "{name}: PT_GNU_STACK");
            assert_eq!(le(st, 4, 4), 6, "{name}: PF_R | PF_W, not executable");
        }
        if let Some(words) = a.words {
            assert_eq!(le(b, a.elf.code_offset(), 4), u64::from(words[0]), "{name}: the code follows the headers");
        }
        assert!(b.len() < 512, "{name}: the trampoline stays tiny: {} bytes", b.len());
        // The same messages, right after the code, for every machine.
        assert!(b.ends_with(b"berth: exec: no program\nberth: exec ``: errno "), "{name}");
    }
}

/// The documented listing of `CODE` in an architecture's source: (offset,
/// word, instruction as objdump prints it).
fn documented(a: &Arch) -> Vec<(usize, u32, String)> {
    let body = a.source.split_once("const CODE:").unwrap().1.split_once("\n];").unwrap().0;
    body.lines()
        .filter_map(|l| {
            let (word, comment) = l.trim().split_once(", // ")?;
            let word = u32::from_str_radix(word.strip_prefix("0x")?, 16).ok()?;
            let (offset, rest) = comment.split_once(": ")?;
            // The instruction ends where the two-space gap before the note is.
            let insn = rest.split("  ").next().unwrap_or_default().trim().to_string();
            Some((usize::from_str_radix(offset, 16).ok()?, word, insn))
        })
        .collect()
}

fn normalized(insn: &str) -> String {
    let insn = insn.split_whitespace().collect::<Vec<_>>().join(" ");
    // objdump's own comments (`// #221`, `# 0x108`) are left out.
    let insn = insn.split(" //").next().unwrap_or_default();
    insn.split(" # ").next().unwrap_or_default().to_string()
}

#[test]
fn code_disassembles_as_documented() {
    for a in ARCHES.iter().filter(|a| a.words.is_some()) {
        let words = a.words.unwrap_or_default();
        let listing = documented(a);
        // The comments document exactly the words in CODE, in order.
        assert_eq!(listing.iter().map(|l| l.1).collect::<Vec<_>>(), words, "{}", a.name);
        assert!(listing.iter().enumerate().all(|(i, l)| l.0 == 4 * i), "{}: offsets", a.name);

        let Some(objdump) = in_path(a.objdump[0]) else {
            missing(&format!("{} is not installed (Debian package binutils-{}-linux-gnu)", a.objdump[0], a.name));
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("code");
        std::fs::write(&code, words.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        let out = Command::new(objdump).args(&a.objdump[1..]).arg(&code).output().unwrap();
        assert!(out.status.success(), "{}: {}", a.name, String::from_utf8_lossy(&out.stderr));
        let theirs: Vec<(usize, u32, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut f = l.trim_start().splitn(3, '\t');
                let offset = usize::from_str_radix(f.next()?.strip_suffix(':')?, 16).ok()?;
                let word = u32::from_str_radix(f.next()?.trim(), 16).ok()?;
                Some((offset, word, normalized(f.next()?)))
            })
            .collect();
        let ours: Vec<(usize, u32, String)> = listing.into_iter().map(|(o, w, i)| (o, w, normalized(&i))).collect();
        assert_eq!(ours, theirs, "{}: the listing in {}.rs is not what objdump reads", a.name, a.name);
    }
}

/// How to run an architecture's trampoline here, from a file.
enum Runner {
    Native,
    Qemu(PathBuf),
}

fn runner(a: &Arch) -> Option<Runner> {
    if a.elf.machine == host_machine() {
        return Some(Runner::Native);
    }
    match in_path(a.qemu) {
        Some(q) => Some(Runner::Qemu(q)),
        None => {
            missing(&format!(
                "this kernel does not run {} code and {} is not installed (qemu-user-static)",
                a.name, a.qemu
            ));
            None
        }
    }
}

/// The trampoline of `a` in a file of its own, ready to run.
fn trampoline_file(a: &Arch, dir: &Path) -> PathBuf {
    let path = dir.join(format!("trampoline-{}", a.name));
    std::fs::write(&path, a.image).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Run `a`'s trampoline with `argv = [program, user_argv...]` and exactly `env`.
fn run(a: &Arch, r: &Runner, file: &Path, program: &str, user_argv: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = match r {
        Runner::Native => {
            let mut c = Command::new(file);
            c.arg0(program);
            c
        }
        // `-0` sets the program's argv[0]; qemu-user's own execve runs the
        // program natively.
        Runner::Qemu(q) => {
            let mut c = Command::new(q);
            c.arg("-0").arg(program).arg(file);
            c
        }
    };
    cmd.args(user_argv).env_clear().envs(env.iter().copied());
    // A file just written may still be open for writing in a child another
    // test thread forked meanwhile (until its exec closes it).
    for _ in 0..100 {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("{}: run the trampoline: {e}", a.name),
            Ok(out) => return out,
        }
    }
    panic!("{}: the trampoline file stays busy", a.name);
}

/// Each runnable trampoline with its runner and its file.
fn runnable(dir: &Path) -> Vec<(&'static Arch, Runner, PathBuf)> {
    ARCHES.iter().filter_map(|a| runner(a).map(|r| (a, r, trampoline_file(a, dir)))).collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn program_gets_the_users_argv_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let script = "cat /proc/$$/cmdline; echo; cat /proc/$$/environ";
    let argv = ["my-sh", "-c", script, "zero", "one two"];
    let env = [("FOO", "bar baz"), ("EMPTY", ""), ("PATH", "/usr/bin:/bin")];
    for (a, r, file) in runnable(dir.path()) {
        let out = run(a, &r, &file, "/bin/sh", &argv, &env);
        assert_eq!(out.status.code(), Some(0), "{}: {}", a.name, text(&out.stderr));
        let stdout = text(&out.stdout);
        let (cmdline, environ) = stdout.split_once('\n').unwrap();
        assert_eq!(cmdline, format!("{}\0", argv.join("\0")), "{}: argv, argv[0] included", a.name);
        // The order is qemu-user's business (it reverses it); ptrace'd native
        // runs in `tests.rs` check it.
        let mut environ: Vec<&str> = environ.split_terminator('\0').collect();
        environ.sort();
        assert_eq!(environ, ["EMPTY=", "FOO=bar baz", "PATH=/usr/bin:/bin"], "{}: envp", a.name);
        assert_eq!(text(&out.stderr), "", "{}", a.name);
    }
}

#[test]
fn program_status_is_the_status() {
    let dir = tempfile::tempdir().unwrap();
    for (a, r, file) in runnable(dir.path()) {
        let out = run(a, &r, &file, "/bin/sh", &["sh", "-c", "exit 7"], &[]);
        assert_eq!(out.status.code(), Some(7), "{}: {}", a.name, text(&out.stderr));
        // An empty argv[0] is passed on as it is.
        let out = run(a, &r, &file, "/usr/bin/env", &[""], &[("A", "1")]);
        assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "A=1\n".to_string()), "{}", a.name);
    }
}

#[test]
fn failures_exit_127_or_126_with_the_errno() {
    let dir = tempfile::tempdir().unwrap();
    let not_exec = dir.path().join("not-exec");
    std::fs::write(&not_exec, "#!/bin/sh\necho ran\n").unwrap();
    let not_exec = not_exec.to_str().unwrap();
    let not_dir = format!("{not_exec}/x");
    let a_dir = dir.path().to_str().unwrap();
    let cases = [
        ("/nonexistent/prog", 127, 2), // ENOENT
        (not_exec, 126, 13),           // EACCES
        (&not_dir, 126, 20),           // ENOTDIR: two digits, in order
        (a_dir, 126, 13),              // a directory: EACCES
    ];
    for (a, r, file) in runnable(dir.path()) {
        for (program, code, errno) in cases {
            let out = run(a, &r, &file, program, &["x"], &[]);
            assert_eq!(out.status.code(), Some(code), "{}: {program}", a.name);
            assert_eq!(text(&out.stderr), format!("berth: exec `{program}`: errno {errno}\n"), "{}", a.name);
            assert_eq!(text(&out.stdout), "", "{}", a.name);
        }
    }
}

#[test]
fn without_a_program_it_says_so_and_exits_127() {
    let dir = tempfile::tempdir().unwrap();
    for (a, r, file) in runnable(dir.path()) {
        let out = run(a, &r, &file, "/bin/true", &[], &[]);
        assert_eq!(out.status.code(), Some(127), "{}", a.name);
        assert_eq!(text(&out.stderr), "berth: exec: no program\n", "{}", a.name);
    }
}

/// The native trampoline runs here as `prepare` makes it (memfd, sealed)
/// only where this kernel runs its machine's code: not in an emulated test run.
pub(super) fn native_runs_here() -> bool {
    if super::SUPPORTED && le(super::TRAMPOLINE, 18, 2) as u16 == host_machine() {
        return true;
    }
    eprintln!("skipped: this test runs emulated (qemu-user): the kernel does not run its trampoline's machine code");
    false
}

#[test]
fn the_native_trampoline_is_this_architectures() {
    let native = ARCHES.iter().find(|a| a.image == super::TRAMPOLINE).map(|a| a.name);
    assert_eq!(native, Some(std::env::consts::ARCH));
}
