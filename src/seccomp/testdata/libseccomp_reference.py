#!/usr/bin/python3
"""The reference for berth's seccomp differential test: what runc loads for an
OCI `linux.seccomp` object, built with the real libseccomp (Debian's
python3-seccomp) and runc's own steps around it.

Reads one JSON request per line on stdin, writes one JSON answer per line:
  {"op": "probe"}                     -> {"version": "2.5.4"}
  {"op": "resolve", "names": [...]}   -> {"known": [names libseccomp knows],
                                          "x86_64": {name: nr}, "x86": ..., "x32": ...,
                                          "aarch64": ..., "arm": ..., "riscv64": ...}
                                         (libseccomp's own numbers; names it does not
                                         know, or that have no number there, left out)
  {"op": "table", "arch": "x86"}      -> {"nr": name, ...} for every real syscall number
  {"op": "compile", "profile": {...}, "native": "aarch64"}
                                      -> {"bpf": "<hex of struct sock_filter[]>"}
                                         or {"error": "..."} when runc would fail,
                                         or {"loops": true} when libseccomp never
                                         returns (runc would hang)

"native" (default x86_64) is the host runc runs on: x86_64, aarch64 or riscv64.
libseccomp builds any architecture's filter on any host, so this runs on x86_64
for all three (the filter's native arch is removed and the wanted one added).

"compile" mirrors runc 1.1 (libcontainer/seccomp/seccomp_linux.go and
patchbpf/enosys_linux.go), re-written here from its documented behaviour:
- one libseccomp filter with the default action, the listed architectures added
  (those the host's kernel can report: its compat ABIs; runc adds the others too,
  but the kernel never runs their sections);
- each name of each rule is added on its own, in profile order; a rule whose
  action is the default action is skipped, an unknown name is skipped;
- the rule's conditions are AND'ed in one libseccomp rule, unless two of them
  name the same argument: then each condition is a rule of its own;
- more than 32 names turn on libseccomp's binary-tree optimization;
- unless the default action is ALLOW, LOG or TRACE (or defaultErrnoRet is
  ENOSYS), a stub in front of the filter returns ENOSYS for syscall numbers above
  the highest one the profile names on each architecture, where "the number" is
  libseccomp's seccomp_syscall_resolve_name_arch(): on x86 that is a negative
  pseudo number for the socketcall/ipc families, which therefore never count.
"""

import ctypes
import json
import os
import select
import signal
import sys
import tempfile

import seccomp

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
AUDIT_ARCH_AARCH64 = 0xC00000B7
AUDIT_ARCH_ARM = 0x40000028
AUDIT_ARCH_RISCV64 = 0xC00000F3
# libseccomp's SCMP_ARCH_X32: EM_X86_64 | __AUDIT_ARCH_LE, without the 64-bit flag.
SCMP_ARCH_X32 = 0x4000003E
ARCH_TOKEN = {
    "x86_64": AUDIT_ARCH_X86_64,
    "x86": AUDIT_ARCH_I386,
    "x32": SCMP_ARCH_X32,
    "aarch64": AUDIT_ARCH_AARCH64,
    "arm": AUDIT_ARCH_ARM,
    "riscv64": AUDIT_ARCH_RISCV64,
}
# What seccomp_data.arch says for each (x32 calls come as x86_64's).
AUDIT = dict(ARCH_TOKEN, x32=AUDIT_ARCH_X86_64)
ARCH_OBJ = {
    "x86_64": seccomp.Arch.X86_64,
    "x86": seccomp.Arch.X86,
    "x32": seccomp.Arch.X32,
    "aarch64": seccomp.Arch.AARCH64,
    "arm": seccomp.Arch.ARM,
    "riscv64": seccomp.Arch.RISCV64,
}
OCI_ARCH = {
    "SCMP_ARCH_X86_64": "x86_64",
    "SCMP_ARCH_X86": "x86",
    "SCMP_ARCH_X32": "x32",
    "SCMP_ARCH_AARCH64": "aarch64",
    "SCMP_ARCH_ARM": "arm",
    "SCMP_ARCH_RISCV64": "riscv64",
}
# The ABIs each host's kernel runs besides its own.
COMPAT = {"x86_64": ["x86", "x32"], "aarch64": ["arm"], "riscv64": []}
X32_SYSCALL_BIT = 0x40000000
# ARM's private syscalls (__ARM_NR_BASE + n).
ARM_PRIVATE = range(0xF0000, 0xF0010)

# libseccomp builds a profile in milliseconds; a profile it has not finished
# after this long is one it loops on.
LOOP_TIMEOUT = 3.0

ENOSYS = 38
EPERM = 1
RET_ENOSYS = 0x00050000 | ENOSYS

OPS = {
    "SCMP_CMP_NE": seccomp.NE,
    "SCMP_CMP_LT": seccomp.LT,
    "SCMP_CMP_LE": seccomp.LE,
    "SCMP_CMP_EQ": seccomp.EQ,
    "SCMP_CMP_GE": seccomp.GE,
    "SCMP_CMP_GT": seccomp.GT,
    "SCMP_CMP_MASKED_EQ": seccomp.MASKED_EQ,
}

lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
lib.seccomp_syscall_resolve_name_arch.restype = ctypes.c_int
NR_SCMP_ERROR = -1


class Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


lib.seccomp_version.restype = ctypes.POINTER(Version)


def signed32(v):
    """The python binding takes actions as C ints."""
    return v - (1 << 32) if v >= (1 << 31) else v


def action(name, errno_ret):
    """runc's getAction()."""
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return seccomp.KILL
    if name == "SCMP_ACT_KILL_PROCESS":
        return seccomp.KILL_PROCESS
    if name == "SCMP_ACT_ERRNO":
        return seccomp.ERRNO(EPERM if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_TRAP":
        return seccomp.TRAP
    if name == "SCMP_ACT_ALLOW":
        return seccomp.ALLOW
    if name == "SCMP_ACT_TRACE":
        return seccomp.TRACE(EPERM if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_LOG":
        return seccomp.LOG
    if name == "SCMP_ACT_NOTIFY":
        return seccomp.NOTIFY
    raise ValueError("unknown action " + name)


def resolve_arch(arch, name):
    """libseccomp-golang's GetSyscallFromNameByArch (no pseudo-number rewriting)."""
    return lib.seccomp_syscall_resolve_name_arch(ARCH_TOKEN[arch], name.encode())


def arches_of(profile, native):
    arches = [native]
    for a in profile.get("architectures") or []:
        if OCI_ARCH.get(a) in COMPAT[native] and OCI_ARCH[a] not in arches:
            arches.append(OCI_ARCH[a])
    return arches


def entries(profile):
    """runc's configs.Syscalls: one entry per name."""
    for rule in profile.get("syscalls") or []:
        for name in rule["names"]:
            yield name, rule


def build_filter(profile, native):
    default = action(profile["defaultAction"], profile.get("defaultErrnoRet"))
    f = seccomp.SyscallFilter(signed32(default))
    arches = arches_of(profile, native)
    if native != "x86_64":
        # Names still resolve through this host's (x86_64) numbers, which
        # libseccomp translates to each arch by name, as on the real host.
        f.add_arch(ARCH_OBJ[native])
        f.remove_arch(seccomp.Arch.NATIVE)
    for arch in arches[1:]:
        f.add_arch(ARCH_OBJ[arch])
    if sum(1 for _ in entries(profile)) > 32:
        f.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)
    for name, rule in entries(profile):
        act = action(rule["action"], rule.get("errnoRet"))
        if act == default:
            continue
        if lib.seccomp_syscall_resolve_name(name.encode()) == NR_SCMP_ERROR:
            continue
        args = rule.get("args") or []
        conds = []
        for a in args:
            conds.append(seccomp.Arg(a["index"], OPS[a["op"]], a["value"], a.get("valueTwo", 0)))
        indexes = [a["index"] for a in args]
        if len(set(indexes)) != len(indexes):
            for c in conds:
                f.add_rule(signed32(act), name, c)
        else:
            f.add_rule(signed32(act), name, *conds)
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return out.read()


# Classic BPF opcodes, for the stub.
LD_ABS = 0x20
JA = 0x05
JEQ = 0x15
JGT = 0x25
JSET = 0x45
RET = 0x06


def insn(code, jt=0, jf=0, k=0):
    return (code, jt, jf, k)


def enosys_stub(profile, native):
    """runc's generateEnosysStub(), or [] when runc adds no stub."""
    if profile.get("defaultErrnoRet") == ENOSYS:
        return []
    if profile["defaultAction"] in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"):
        return []
    last = {}
    for arch in arches_of(profile, native):
        largest = 0
        for name, _ in entries(profile):
            nr = resolve_arch(arch, name)
            if nr != NR_SCMP_ERROR and nr > largest:
                largest = nr
        if largest != 0:
            last.setdefault(AUDIT[arch], {})[arch] = largest

    tail = [insn(JA, k=1), insn(RET, k=RET_ENOSYS)]
    jump_table = {}
    for audit, maxes in last.items():
        base_enosys = len(tail) - 1
        base_filter = base_enosys + 1
        section = [insn(LD_ABS, k=0)]
        if len(maxes) == 1:
            ((arch, sysno),) = maxes.items()
            if base_enosys + 1 <= 255:
                sec_tail = [insn(JGT, jt=base_enosys + 1, k=sysno), insn(JA, k=base_filter)]
            else:
                sec_tail = [insn(JGT, jf=1, k=sysno), insn(RET, k=RET_ENOSYS), insn(JA, k=base_filter)]
            if audit == AUDIT_ARCH_X86_64:
                if arch == "x86_64":
                    sec_tail = [insn(JSET, jt=len(sec_tail) - 1, k=X32_SYSCALL_BIT)] + sec_tail
                else:
                    sec_tail = [insn(JSET, jf=len(sec_tail) - 1, k=X32_SYSCALL_BIT)] + sec_tail
            section += sec_tail
        else:
            x32, native = maxes["x32"], maxes["x86_64"]
            if base_enosys + 2 <= 255:
                section += [
                    insn(JSET, jt=1, k=X32_SYSCALL_BIT),
                    insn(JGT, jt=base_enosys + 2, jf=1, k=native),
                    insn(JGT, jt=base_enosys + 1, k=x32),
                    insn(JA, k=base_filter),
                ]
            else:
                section += [
                    insn(JSET, jt=1, k=X32_SYSCALL_BIT),
                    insn(JGT, jt=1, jf=2, k=native),
                    insn(JGT, jf=1, k=x32),
                    insn(RET, k=RET_ENOSYS),
                    insn(JA, k=base_filter),
                ]
        tail = section + tail
        jump_table[audit] = len(tail)
    tail = [insn(JA, k=len(tail))] + tail
    for audit in last:
        jump = len(tail) - jump_table[audit]
        if jump <= 255:
            tail = [insn(JEQ, jt=jump, k=audit)] + tail
        else:
            tail = [insn(JEQ, jf=1, k=audit), insn(JA, k=jump)] + tail
    return [insn(LD_ABS, k=4)] + tail


def encode(stub):
    out = b""
    for code, jt, jf, k in stub:
        out += code.to_bytes(2, "little") + bytes([jt, jf]) + k.to_bytes(4, "little")
    return out


def compile_profile(profile, native):
    try:
        bpf = build_filter(profile, native)
    except (OSError, RuntimeError, ValueError) as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}
    return {"bpf": (encode(enosys_stub(profile, native)) + bpf).hex()}


def answer(req):
    op = req["op"]
    if op == "probe":
        v = lib.seccomp_version().contents
        return {"version": "%d.%d.%d" % (v.major, v.minor, v.micro)}
    if op == "resolve":
        out = {"known": [n for n in req["names"] if lib.seccomp_syscall_resolve_name(n.encode()) != NR_SCMP_ERROR]}
        for arch in ARCH_TOKEN:
            out[arch] = {}
            for name in req["names"]:
                nr = resolve_arch(arch, name)
                if nr >= 0:
                    out[arch][name] = nr
        return out
    if op == "table":
        arch = req["arch"]
        base = X32_SYSCALL_BIT if arch == "x32" else 0
        out = {}
        for nr in list(range(0, 1024)) + (list(ARM_PRIVATE) if arch == "arm" else []):
            try:
                out[str(nr)] = seccomp.resolve_syscall(ARCH_OBJ[arch], base + nr).decode()
            except ValueError:
                pass
        return out
    if op == "compile":
        return compile_profile(req["profile"], req.get("native", "x86_64"))
    raise ValueError("unknown op " + op)


def main():
    """Answer every request in a worker process. libseccomp 2.5 loops forever
    on some profiles (seccomp_rule_add never returns): when the worker stalls on
    a request, it is killed, that request is answered {"loops": true}, and a new
    worker goes on with the next one."""
    requests = [json.loads(line) for line in sys.stdin if line.strip()]
    answers = []
    while len(answers) < len(requests):
        first = len(answers)
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rd)
            with os.fdopen(wr, "w") as out:
                for req in requests[first:]:
                    out.write(json.dumps(answer(req)) + "\n")
                    out.flush()
            os._exit(0)
        os.close(wr)
        buf = b""
        while len(answers) < len(requests):
            if b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                answers.append(json.loads(line))
                continue
            ready, _, _ = select.select([rd], [], [], LOOP_TIMEOUT)
            if not ready:
                os.kill(pid, signal.SIGKILL)
                answers.append({"loops": True})
                break
            chunk = os.read(rd, 1 << 16)
            if not chunk:
                break
            buf += chunk
        os.close(rd)
        os.waitpid(pid, 0)
        if len(answers) == first:
            raise SystemExit("the worker died on request %d" % first)
    for a in answers:
        sys.stdout.write(json.dumps(a) + "\n")


if __name__ == "__main__":
    main()
