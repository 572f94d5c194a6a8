//! Device access rules: the config's `linux.resources.devices` followed by
//! runc's default allowed devices, turned into v1 `devices.allow`/`deny`
//! writes (in order, so `devices.list` shows the config's rules first) or
//! into a cgroup v2 `BPF_PROG_TYPE_CGROUP_DEVICE` program assembled here by
//! hand. The program evaluates the rules last-match-wins, which is how the
//! v1 controller behaves for an ordered list of allow/deny writes.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::sys::bpf::BpfInsn;

/// One normalised rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    /// `'a'`, `'b'` or `'c'`.
    pub kind: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Subset of `rwm`, never empty.
    pub access: String,
}

impl Rule {
    /// The string the v1 controller takes and `devices.list` shows.
    pub fn v1_string(&self) -> String {
        if self.kind == 'a' {
            return "a".to_owned();
        }
        let n = |v: Option<u32>| v.map_or_else(|| "*".to_owned(), |v| v.to_string());
        format!("{} {}:{} {}", self.kind, n(self.major), n(self.minor), self.access)
    }

    /// Does this rule cover every device and every access (`a *:* rwm`)?
    pub fn is_wildcard(&self) -> bool {
        self.kind == 'a'
    }
}

/// A default rule as a `const` table entry.
pub struct DefaultRule {
    kind: char,
    major: Option<u32>,
    minor: Option<u32>,
    access: &'static str,
}

const fn dflt(kind: char, major: Option<u32>, minor: Option<u32>, access: &'static str) -> DefaultRule {
    DefaultRule { kind, major, minor, access }
}

/// runc 1.1's AllowedDevices: mknod of any char/block device, plus the
/// devices every container's default /dev holds.
pub const DEFAULT_ALLOWED: [DefaultRule; 11] = [
    dflt('c', None, None, "m"),
    dflt('b', None, None, "m"),
    dflt('c', Some(1), Some(3), "rwm"),    // /dev/null
    dflt('c', Some(1), Some(8), "rwm"),    // /dev/random
    dflt('c', Some(1), Some(7), "rwm"),    // /dev/full
    dflt('c', Some(5), Some(0), "rwm"),    // /dev/tty
    dflt('c', Some(1), Some(5), "rwm"),    // /dev/zero
    dflt('c', Some(1), Some(9), "rwm"),    // /dev/urandom
    dflt('c', Some(136), None, "rwm"),     // /dev/pts/*
    dflt('c', Some(5), Some(2), "rwm"),    // /dev/ptmx
    dflt('c', Some(10), Some(200), "rwm"), // /dev/net/tun
];

fn normalise_access(a: Option<&str>) -> String {
    let a = a.unwrap_or("");
    let mut out = String::new();
    for c in ['r', 'w', 'm'] {
        if a.contains(c) {
            out.push(c);
        }
    }
    if out.is_empty() {
        "rwm".to_owned()
    } else {
        out
    }
}

fn from_oci(d: &LinuxDeviceCgroup) -> Result<Rule, String> {
    let kind = match d.typ().unwrap_or(LinuxDeviceType::A) {
        LinuxDeviceType::A => 'a',
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C | LinuxDeviceType::U => 'c',
        LinuxDeviceType::P => return Err("type `p` (fifo) has no cgroup rule".into()),
    };
    let num = |v: Option<i64>| -> Result<Option<u32>, String> {
        match v {
            None | Some(-1) => Ok(None),
            Some(n) => u32::try_from(n).map(Some).map_err(|_| format!("device number {n} out of range")),
        }
    };
    if let Some(a) = d.access() {
        if a.chars().any(|c| !matches!(c, 'r' | 'w' | 'm')) {
            return Err(format!("access `{a}` is not a subset of `rwm`"));
        }
    }
    let access = normalise_access(d.access().as_deref());
    // `a` with explicit numbers still means every device to the kernel.
    let (major, minor) = if kind == 'a' { (None, None) } else { (num(d.major())?, num(d.minor())?) };
    Ok(Rule { allow: d.allow(), kind, major, minor, access })
}

/// Every device, every access: the rule a device list starts from.
fn deny_all() -> Rule {
    Rule { allow: false, kind: 'a', major: None, minor: None, access: "rwm".to_owned() }
}

/// The effective rule list: deny everything, then the config's rules in
/// order, then the defaults (runc's behaviour). The leading deny is there
/// whatever the config says: a config without `devices` (or without
/// `resources`) must not leave the container every host device, e.g.
/// `mknod c 1 11` for the kernel log or a block device for the host's disk.
pub fn rules(config: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>, String> {
    let mut out = vec![deny_all()];
    out.extend(config.iter().map(from_oci).collect::<Result<Vec<_>, _>>()?);
    // The config's own leading deny-all (runc spec writes one) is the same rule.
    if out.len() > 1 && out[1] == out[0] {
        out.remove(1);
    }
    out.extend(DEFAULT_ALLOWED.iter().map(|d| Rule {
        allow: true,
        kind: d.kind,
        major: d.major,
        minor: d.minor,
        access: d.access.to_owned(),
    }));
    Ok(out)
}

/// v1 writes: (file name, value) in order.
pub fn v1_writes(rules: &[Rule]) -> Vec<(&'static str, String)> {
    rules.iter().map(|r| (if r.allow { "devices.allow" } else { "devices.deny" }, r.v1_string())).collect()
}

// --- eBPF assembly -------------------------------------------------------

const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const MOV64_X: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
const MOV64_K: u8 = 0xb7;
const AND64_K: u8 = 0x57;
const RSH64_K: u8 = 0x77;
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JEQ_K: u8 = 0x15;
const EXIT: u8 = 0x95;

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn { code, regs: dst | (src << 4), off, imm }
}

fn access_mask(access: &str) -> i32 {
    // BPF_DEVCG_ACC_MKNOD = 1, READ = 2, WRITE = 4
    access
        .chars()
        .map(|c| match c {
            'm' => 1,
            'r' => 2,
            'w' => 4,
            _ => 0,
        })
        .sum()
}

/// The instructions of one rule; jumps to "next rule" use `off = NEXT`
/// placeholders resolved once the block length is known.
fn rule_block(r: &Rule) -> Vec<BpfInsn> {
    const NEXT: i16 = i16::MIN;
    let mut b = Vec::new();
    match r.kind {
        'b' => b.push(insn(JNE_K, 2, 0, NEXT, 1)), // BPF_DEVCG_DEV_BLOCK
        'c' => b.push(insn(JNE_K, 2, 0, NEXT, 2)), // BPF_DEVCG_DEV_CHAR
        _ => {}
    }
    let mask = access_mask(&r.access);
    if mask != 7 {
        b.push(insn(MOV64_X, 1, 3, 0, 0));
        if r.allow {
            // every requested bit must be in the rule
            b.push(insn(AND64_K, 1, 0, 0, !mask & 7));
            b.push(insn(JNE_K, 1, 0, NEXT, 0));
        } else {
            // any requested bit in the rule denies
            b.push(insn(AND64_K, 1, 0, 0, mask));
            b.push(insn(JEQ_K, 1, 0, NEXT, 0));
        }
    }
    if let Some(m) = r.major {
        b.push(insn(JNE_K, 4, 0, NEXT, m as i32));
    }
    if let Some(m) = r.minor {
        b.push(insn(JNE_K, 5, 0, NEXT, m as i32));
    }
    b.push(insn(MOV64_K, 0, 0, 0, i32::from(r.allow)));
    b.push(insn(EXIT, 0, 0, 0, 0));
    let len = b.len();
    for (i, ins) in b.iter_mut().enumerate() {
        if ins.off == NEXT {
            ins.off = (len - i - 1) as i16;
        }
    }
    b
}

/// A cgroup device program for `rules`: the last matching rule decides;
/// with no match, access is allowed (a new v1 cgroup's default).
pub fn bpf_program(rules: &[Rule]) -> Vec<BpfInsn> {
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0), // r2 = ctx->access_type
        insn(MOV64_X, 3, 2, 0, 0),
        insn(RSH64_K, 3, 0, 0, 16),     // r3 = access
        insn(AND64_K, 2, 0, 0, 0xffff), // r2 = type
        insn(LDX_MEM_W, 4, 1, 4, 0),    // r4 = ctx->major
        insn(LDX_MEM_W, 5, 1, 8, 0),    // r5 = ctx->minor
    ];
    // A wildcard rule decides everything before it: start from the last one.
    let start = rules.iter().rposition(Rule::is_wildcard).map_or(0, |i| i + 1);
    let default_allow = if start == 0 { true } else { rules[start - 1].allow };
    for r in rules[start..].iter().rev() {
        p.extend(rule_block(r));
    }
    p.push(insn(MOV64_K, 0, 0, 0, i32::from(default_allow)));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    fn dev(
        allow: bool,
        t: Option<LinuxDeviceType>,
        maj: Option<i64>,
        min: Option<i64>,
        acc: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default().allow(allow).access(acc);
        if let Some(t) = t {
            b = b.typ(t);
        }
        if let Some(m) = maj {
            b = b.major(m);
        }
        if let Some(m) = min {
            b = b.minor(m);
        }
        b.build().unwrap()
    }

    #[test]
    fn v1_config_order_then_defaults() {
        let cfg = vec![
            dev(false, None, None, None, "rwm"),
            dev(true, Some(LinuxDeviceType::C), Some(10), Some(229), "rw"),
            dev(true, Some(LinuxDeviceType::B), Some(8), None, "r"),
            dev(false, Some(LinuxDeviceType::C), Some(1), Some(3), ""),
        ];
        let w = v1_writes(&rules(&cfg).unwrap());
        assert_eq!(w[0], ("devices.deny", "a".to_owned()));
        assert_eq!(w[1], ("devices.allow", "c 10:229 rw".to_owned()));
        assert_eq!(w[2], ("devices.allow", "b 8:* r".to_owned()));
        assert_eq!(w[3], ("devices.deny", "c 1:3 rwm".to_owned()));
        assert_eq!(w[4], ("devices.allow", "c *:* m".to_owned()));
        assert_eq!(w[6], ("devices.allow", "c 1:3 rwm".to_owned()));
        assert_eq!(w.len(), 4 + DEFAULT_ALLOWED.len());
    }

    /// No device rules in the config (or no `resources` at all) still means
    /// deny-all plus the defaults, never the host's every device.
    #[test]
    fn no_rules_means_deny_all_then_defaults() {
        let r = rules(&[]).unwrap();
        assert_eq!(r[0], deny_all());
        assert_eq!(r.len(), 1 + DEFAULT_ALLOWED.len());
        assert!(r[1..].iter().all(|r| r.allow));
        // The kernel log (c 1:11) and a disk (b 8:0) are denied by the
        // program; /dev/null is not, and mknod still is allowed.
        let prog = bpf_program(&r);
        let (c, b, m, rd) = (2, 1, 1, 2);
        assert_eq!(run(&prog, c, rd, 1, 11), 0);
        assert_eq!(run(&prog, b, rd, 8, 0), 0);
        assert_eq!(run(&prog, c, rd, 1, 3), 1);
        assert_eq!(run(&prog, b, m, 8, 0), 1);
        // A privileged config that allows everything still can.
        let all = rules(&[dev(true, None, None, None, "rwm")]).unwrap();
        assert_eq!(all[..2], [deny_all(), Rule { allow: true, ..deny_all() }]);
    }

    #[test]
    fn rejects_bad_rules() {
        assert!(rules(&[dev(true, Some(LinuxDeviceType::C), Some(1), Some(3), "rx")]).is_err());
        assert!(rules(&[dev(true, Some(LinuxDeviceType::P), None, None, "r")]).is_err());
    }

    /// A tiny interpreter for exactly the instructions we emit, to check the
    /// program's verdicts without a kernel.
    fn run(p: &[BpfInsn], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [access << 16 | kind, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (d, s) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => r[d] = u64::from(ctx[(i.off / 4) as usize]),
                MOV64_X => r[d] = r[s],
                MOV64_K => r[d] = i.imm as i64 as u64,
                AND64_K => r[d] &= i.imm as i64 as u64,
                RSH64_K => r[d] >>= i.imm,
                JNE_K => {
                    if r[d] != i.imm as i64 as u64 {
                        pc += i.off as usize
                    }
                }
                JEQ_K => {
                    if r[d] == i.imm as i64 as u64 {
                        pc += i.off as usize
                    }
                }
                EXIT => return r[0],
                c => panic!("unknown opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn bpf_verdicts() {
        let cfg = vec![
            dev(false, None, None, None, "rwm"),
            dev(true, Some(LinuxDeviceType::C), Some(10), Some(229), "rw"),
            dev(true, Some(LinuxDeviceType::B), Some(8), None, "r"),
            dev(false, Some(LinuxDeviceType::C), Some(1), Some(9), "w"),
        ];
        let p = bpf_program(&rules(&cfg).unwrap());
        let (c, b) = (2, 1);
        let (m, r, w) = (1, 2, 4);
        assert_eq!(run(&p, c, r | w, 10, 229), 1);
        assert_eq!(run(&p, c, m, 10, 229), 1, "mknod of any char device is a default");
        assert_eq!(run(&p, c, r, 10, 230), 0);
        assert_eq!(run(&p, b, r, 8, 3), 1);
        assert_eq!(run(&p, b, w, 8, 3), 0);
        assert_eq!(run(&p, c, r | w, 1, 3), 1, "/dev/null default");
        assert_eq!(run(&p, c, r | w, 136, 7), 1, "pts");
        assert_eq!(run(&p, c, r, 4, 1), 0);
        // the config's deny of urandom write is overridden by the later default
        assert_eq!(run(&p, c, w, 1, 9), 1);

        let only_deny =
            bpf_program(&[Rule { allow: false, kind: 'c', major: Some(1), minor: Some(3), access: "w".into() }]);
        assert_eq!(run(&only_deny, c, r | w, 1, 3), 0);
        assert_eq!(run(&only_deny, c, r, 1, 3), 1);
        assert_eq!(run(&only_deny, b, w, 1, 3), 1);
    }
}
