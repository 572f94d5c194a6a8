#!/usr/bin/env python3
"""Time OCI runtimes side by side: the run lifecycle, create, start, exec,
delete, 100 concurrent creates, and the peak RSS of `run`.

Driven by integration/bench/runtime.sh, which prepares the bundles and runs
this inside one private mount namespace (so no runtime pays a wrapper the
others do not). Every measurement is taken in interleaved rounds (each
round times every runtime once, in an order that rotates), and the table
gives medians. Times are wall-clock from spawn to exit of the runtime's
process, taken by the small C timer rtime (fork, exec, wait4), which also
reports the peak RSS; the concurrent creates are spawned from here at once
and timed until the last one exits.

usage: lifecycle.py WORK ROUNDS CONCURRENT CONC_ROUNDS NAME=PATH...
  WORK holds bundle-true/ (process /bin/true) and bundle-sleep/ (sleep);
  each runtime keeps its state under WORK/root-NAME.
"""

import ctypes
import os
import statistics
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def spawn(argv, err=os.devnull):
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)


def timed(argv):
    """Run argv under rtime; returns (seconds, exit code, peak RSS KiB). Its
    stderr is kept in ERR_FILE, for the message when it fails."""
    with open(ERR_FILE, "w") as err:
        r = subprocess.run([RTIME, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True)
    if r.returncode != 0:
        fail(f"rtime {argv[0]}: exited with {r.returncode}")
    ns, rss, code = r.stdout.split()
    return int(ns) / 1e9, int(code), int(rss)


def reap():
    """Reap container inits orphaned to us (we are a child subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def quiet(argv):
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def status_of(rt, cid):
    r = subprocess.run(rt.cmd("state", cid), stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        return None
    for part in r.stdout.replace(",", "\n").splitlines():
        if '"status"' in part:
            return part.split(":", 1)[1].strip().strip('"')
    return None


def wait_stopped(rt, cid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        if status_of(rt, cid) == "stopped":
            return True
        time.sleep(0.002)
    return False


class Runtime:
    def __init__(self, name, path, work):
        self.name, self.path = name, path
        self.root = os.path.join(work, "root-" + name.split("(")[0])

    def cmd(self, *args):
        return [self.path, "--root", self.root, *args]


def fail(msg):
    print("bench: " + msg, file=sys.stderr)
    sys.exit(1)


def must(name, what, t):
    secs, code, ru = t
    if code != 0:
        with open(ERR_FILE, errors="replace") as f:
            fail(f"{name}: {what} exited with {code}: {f.read().strip()}")
    return secs, ru


def main():
    global ERR_FILE, RTIME
    work, rounds, conc, conc_rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    ERR_FILE, RTIME = os.path.join(work, "stderr"), os.path.join(work, "rtime")
    rts = [Runtime(*a.split("=", 1), work) for a in sys.argv[5:]]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        fail("cannot become a child subreaper")
    b_true, b_sleep = os.path.join(work, "bundle-true"), os.path.join(work, "bundle-sleep")
    floor = ["/usr/bin/unshare", "--pid", "--net", "--ipc", "--uts", "--mount", "--fork",
             "/usr/sbin/chroot", os.path.join(work, "rootfs"), "/bin/true"]

    ms = {}  # (op, runtime name) -> list of seconds
    rss = {}
    def add(op, name, secs):
        ms.setdefault((op, name), []).append(secs)

    # One long-running container per runtime, for exec.
    for rt in rts:
        quiet(rt.cmd("delete", "--force", "bench-exec"))
        must(rt.name, "create (exec target)", timed(rt.cmd("create", "-b", b_sleep, "bench-exec")))
        must(rt.name, "start (exec target)", timed(rt.cmd("start", "bench-exec")))

    warm = 3
    for i in range(-warm, rounds):
        order = rts[i % len(rts):] + rts[:i % len(rts)]
        record = i >= 0
        for rt in order:
            secs, ru = must(rt.name, "run", timed(rt.cmd("run", "-b", b_true, "bench-run")))
            reap()
            if record:
                add("run", rt.name, secs)
                rss.setdefault(rt.name, []).append(ru)
        if record and i % len(rts) == 0:
            secs, _ = must("floor", "unshare + chroot", timed(floor))
            add("run", "floor", secs)
        for rt in order:
            secs, _ = must(rt.name, "create", timed(rt.cmd("create", "-b", b_true, "bench-c")))
            record and add("create", rt.name, secs)
        for rt in order:
            secs, _ = must(rt.name, "start", timed(rt.cmd("start", "bench-c")))
            record and add("start", rt.name, secs)
        for rt in order:
            if not wait_stopped(rt, "bench-c"):
                fail(f"{rt.name}: bench-c did not stop")
        for rt in order:
            secs, _ = must(rt.name, "delete", timed(rt.cmd("delete", "bench-c")))
            reap()
            record and add("delete", rt.name, secs)
        for rt in order:
            secs, _ = must(rt.name, "exec", timed(rt.cmd("exec", "bench-exec", "/bin/true")))
            record and add("exec", rt.name, secs)

    for rt in rts:
        quiet(rt.cmd("delete", "--force", "bench-exec"))
    reap()

    # CONCURRENT creates at once, all must succeed; then removed (untimed).
    for k in range(conc_rounds):
        for rt in rts[k % len(rts):] + rts[:k % len(rts)]:
            ids = [f"bench-p{j}" for j in range(conc)]
            t0 = time.perf_counter()
            pids = [spawn(rt.cmd("create", "-b", b_sleep, cid)) for cid in ids]
            codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
            secs = time.perf_counter() - t0
            bad = sum(1 for c in codes if c != 0)
            for cid in ids:
                quiet(rt.cmd("delete", "--force", cid))
            reap()
            if bad:
                fail(f"{rt.name}: {bad} of {conc} concurrent creates failed")
            add(f"{conc} concurrent creates", rt.name, secs)

    # Results: median ms per op and runtime; ratios of berth to the others.
    names = [rt.name for rt in rts]
    others = [n for n in names if n != "berth"]
    ops = ["run", "create", "start", "exec", "delete", f"{conc} concurrent creates"]
    head = "| operation | " + " | ".join(f"{n} ms" for n in names)
    head += "".join(f" | berth/{n}" for n in others) + " |"
    print(head)
    print("|" + "---|" * (1 + len(names) + len(others)))
    for op in ops:
        med = {n: statistics.median(ms[(op, n)]) * 1000 for n in names if (op, n) in ms}
        row = f"| {op} | " + " | ".join(f"{med[n]:.2f}" if n in med else "-" for n in names)
        for n in others:
            ok = "berth" in med and n in med
            row += f" | {med['berth'] / med[n]:.2f}" if ok else " | -"
        print(row + " |")
    if ("run", "floor") in ms:
        print(f"| run floor (unshare + chroot, no runtime) | {statistics.median(ms[('run', 'floor')]) * 1000:.2f} ms |")
    print("| `run` peak RSS (MiB) | " + " | ".join(
        f"{statistics.median(rss[n]) / 1024:.1f}" for n in names) + " |")
    n_run = len(ms[("run", names[0])])
    print(f"({n_run} interleaved rounds per operation, {conc_rounds} of the concurrent creates; medians)")


ERR_FILE = os.devnull
RTIME = "rtime"

if __name__ == "__main__":
    main()
