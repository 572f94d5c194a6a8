#!/usr/bin/env python3
"""Act like conmon or the containerd shim: a child subreaper that runs a runtime.

usage: subreaper.py REPORT CREATE_CMD... [::: START_CMD...]

Becomes a child subreaper (PR_SET_CHILD_SUBREAPER), runs CREATE_CMD and waits
for it, then records which processes are left as its children (the container
init must be the only one: nothing of the runtime may stay behind). With a
START_CMD it runs that too, then reaps every child (up to 30 s) and records
their exit statuses. REPORT gets one JSON object:
  {"create_rc": N, "children_after_create": [{"pid", "comm", "state"}],
   "start_rc": N, "reaped": {"PID": {"exit": N} | {"signal": N}}}
"""
import ctypes
import json
import os
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def children(me):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == me:
            out.append({"pid": int(d), "comm": comm, "state": fields[0]})
    return out


def run(cmd):
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st)


def main():
    report, rest = sys.argv[1], sys.argv[2:]
    create, start = rest, None
    if ":::" in rest:
        i = rest.index(":::")
        create, start = rest[:i], rest[i + 1:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
    res = {"create_rc": run(create)}
    time.sleep(0.2)  # let anything the runtime forked settle
    res["children_after_create"] = children(os.getpid())
    if start is not None:
        res["start_rc"] = run(start)
    reaped = {}
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.05)
            continue
        if os.WIFSIGNALED(st):
            reaped[str(pid)] = {"signal": os.WTERMSIG(st)}
        else:
            reaped[str(pid)] = {"exit": os.WEXITSTATUS(st)}
    res["reaped"] = reaped
    with open(report, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
