#!/usr/bin/python3
"""Generate the syscall tables next to this script from the kernel's own
uapi headers, as Debian 12 packages them:

  x86_64, x86, x32   linux-libc-dev (amd64): asm/unistd_64.h, unistd_32.h, unistd_x32.h
  aarch64            linux-libc-dev-arm64-cross: asm/unistd.h (the asm-generic table
                     with arm64's __ARCH_WANT_* choices)
  riscv64            linux-libc-dev-riscv64-cross: asm/unistd.h (asm-generic, rv64)
  arm                linux-libc-dev-armhf-cross: asm/unistd.h (EABI numbers and the
                     ARM private calls at 0x0f0000)

Each header is run through the C preprocessor (`gcc -E -dM`, so the
architecture's own #defines and #ifs decide, as they do for its libc), and
every `__NR_<name>` (and ARM's `__ARM_NR_<name>`) is evaluated to its number.
Debian 12's headers are Linux 6.1; the syscalls the kernel added since, up to
6.18, are listed below (ADDED) from the kernel's syscall tables
(arch/x86/entry/syscalls/syscall_{32,64}.tbl, scripts/syscall.tbl,
arch/arm/tools/syscall.tbl): every architecture numbers them alike.

  generate.py          rewrite the tables
  generate.py --check  exit 1 if a table differs from what the headers give
                       (exit 2, saying why, when a header package is missing)
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# The syscalls of Linux 6.2 to 6.18 (all "common" in the tables above, unless
# noted).
ADDED_COMMON = [
    ("cachestat", 451),  # 6.5
    ("fchmodat2", 452),  # 6.6
    ("map_shadow_stack", 453),  # 6.6 (x86_64); reserved everywhere in 6.7, but "64" on x86: not x32
    ("futex_wake", 454),  # 6.7
    ("futex_wait", 455),
    ("futex_requeue", 456),
    ("statmount", 457),  # 6.8
    ("listmount", 458),
    ("lsm_get_self_attr", 459),
    ("lsm_set_self_attr", 460),
    ("lsm_list_modules", 461),
    ("mseal", 462),  # 6.10
    ("setxattrat", 463),  # 6.13
    ("getxattrat", 464),
    ("listxattrat", 465),
    ("removexattrat", 466),
    ("open_tree_attr", 467),  # 6.15
    ("file_getattr", 468),  # 6.17
    ("file_setattr", 469),
]

ADDED = {
    "x86_64": ADDED_COMMON + [("uretprobe", 335)],  # 6.11, x86_64 only
    "x86": ADDED_COMMON,
    "x32": [e for e in ADDED_COMMON if e[0] != "map_shadow_stack"],
    "aarch64": ADDED_COMMON,
    "riscv64": ADDED_COMMON + [("riscv_hwprobe", 258)],  # 6.4: __NR_arch_specific_syscall + 14
    "arm": ADDED_COMMON,
}

X32_SYSCALL_BIT = 0x40000000

# file stem -> (what, Debian package, include dir, header, extra cpp flags, doc)
TABLES = {
    "x86_64": (
        "linux-libc-dev",
        "/usr/include/x86_64-linux-gnu",
        "asm/unistd_64.h",
        [],
        "x86_64 syscall numbers (`AUDIT_ARCH_X86_64`, native ABI).",
    ),
    "x86": (
        "linux-libc-dev",
        "/usr/include/x86_64-linux-gnu",
        "asm/unistd_32.h",
        [],
        "i386 syscall numbers (`AUDIT_ARCH_I386`, also used by 32-bit programs on x86_64).",
    ),
    "x32": (
        "linux-libc-dev",
        "/usr/include/x86_64-linux-gnu",
        "asm/unistd_x32.h",
        # Defined by asm/unistd.h, which picks unistd_x32.h only for an x32 compiler.
        ["-D__X32_SYSCALL_BIT=0x40000000"],
        "x32 syscall numbers, without `__X32_SYSCALL_BIT` (x32 calls arrive as `AUDIT_ARCH_X86_64` "
        "with that bit set in `nr`).",
    ),
    "aarch64": (
        "linux-libc-dev-arm64-cross",
        "/usr/aarch64-linux-gnu/include",
        "asm/unistd.h",
        [],
        "aarch64 syscall numbers (`AUDIT_ARCH_AARCH64`, native ABI).",
    ),
    "riscv64": (
        "linux-libc-dev-riscv64-cross",
        "/usr/riscv64-linux-gnu/include",
        "asm/unistd.h",
        # The header picks rv64's table with __LP64__, which the host's cpp
        # (x86_64) defines; say it anyway.
        ["-D__LP64__=1"],
        "riscv64 syscall numbers (`AUDIT_ARCH_RISCV64`, native ABI).",
    ),
    "arm": (
        "linux-libc-dev-armhf-cross",
        "/usr/arm-linux-gnueabihf/include",
        "asm/unistd.h",
        # EABI, the only ABI arm64 runs 32-bit programs with.
        ["-D__ARM_EABI__=1"],
        "32-bit arm (EABI) syscall numbers (`AUDIT_ARCH_ARM`, 32-bit programs on aarch64).",
    ),
}

# Macros that are not syscalls.
NOT_SYSCALLS = {"syscalls", "arch_specific_syscall", "SYSCALL_BASE", "OABI_SYSCALL_BASE", "SYSCALL_MASK", "BASE"}

# Second names the headers give a number for libc's sake: the kernel's table
# (and libseccomp) know 341 on arm only as arm_sync_file_range.
ALIASES = {"arm": {"sync_file_range2"}}


class Missing(Exception):
    pass


def package_version(package):
    """`6.1` from `6.1.4-1cross1`: point releases never renumber syscalls."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status} ${Version}", package], capture_output=True, text=True, check=False
    )
    words = out.stdout.split()
    if out.returncode != 0 or "installed" not in words[:3] or len(words) < 4:
        raise Missing("Debian package %s is not installed" % package)
    return ".".join(words[3].split(".")[:2])


def macros(include, header, flags):
    cmd = ["gcc", "-E", "-dM", "-nostdinc", "-I", include] + flags + ["-include", header, "-x", "c", "/dev/null"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise Missing("%s: %s" % (" ".join(cmd), out.stderr.strip()))
    defs = {}
    for line in out.stdout.splitlines():
        m = re.match(r"#define (\w+) (.*)$", line)
        if m:
            defs[m.group(1)] = m.group(2).strip()
    return defs


def evaluate(name, defs, depth=0):
    if depth > 10:
        raise ValueError("macro %s nests too deep" % name)
    body = defs[name]

    def expand(m):
        word = m.group(0)
        if re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", word):
            return str(int(word, 0))
        return "(%d)" % evaluate(word, defs, depth + 1)

    expr = re.sub(r"\b\w+\b", expand, body)
    if not re.fullmatch(r"[\d\s+\-()]*", expr):
        raise ValueError("macro %s = %r is not a number" % (name, body))
    return eval(expr)  # only digits, + - and parentheses reach here


def syscalls(stem):
    package, include, header, flags, _ = TABLES[stem]
    defs = macros(include, header, flags)
    table = {}
    for macro in defs:
        m = re.fullmatch(r"__(?:ARM_)?NR_(\w+)", macro)
        if not m or m.group(1) in NOT_SYSCALLS or m.group(1) in ALIASES.get(stem, ()):
            continue
        nr = evaluate(macro, defs)
        if stem == "x32":
            nr -= X32_SYSCALL_BIT
        table[m.group(1)] = nr
    for name, nr in ADDED[stem]:
        if table.get(name, nr) != nr:
            raise ValueError("%s: %s is %d in the headers, %d in ADDED" % (stem, name, table[name], nr))
        table[name] = nr
    if len(table) < 250:
        raise ValueError("%s: only %d syscalls in %s/%s" % (stem, len(table), include, header))
    return table


def render(stem):
    package, include, header, _, doc = TABLES[stem]
    version = package_version(package)
    table = syscalls(stem)
    entries = ['("%s", %d)' % (n, table[n]) for n in sorted(table, key=lambda n: n.encode())]
    lines = ["    " + ", ".join(entries[i : i + 4]) + "," for i in range(0, len(entries), 4)]
    return (
        "//! %s\n"
        "//!\n"
        "//! Generated by `generate.py` from `%s` (%s %s) plus the syscalls added\n"
        "//! up to Linux 6.18, sorted by name for binary search. Do not edit: rerun the script.\n"
        "\n"
        "#[rustfmt::skip]\n"
        "pub(super) const TABLE: &[(&str, u32)] = &[\n"
        "%s\n"
        "];\n" % (doc, header, package, version, "\n".join(lines))
    )


def main():
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] not in ([], ["--check"]):
        sys.exit(__doc__)
    stale = []
    for stem in TABLES:
        path = os.path.join(HERE, stem + ".rs")
        try:
            text = render(stem)
        except Missing as e:
            print("generate.py: %s: %s" % (stem, e), file=sys.stderr)
            sys.exit(2)
        old = open(path).read() if os.path.exists(path) else None
        if old == text:
            continue
        if check:
            stale.append(path)
        else:
            with open(path, "w") as f:
                f.write(text)
            print("wrote " + path)
    if stale:
        print("generate.py: out of date (run it): " + " ".join(stale), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
