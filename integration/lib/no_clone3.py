#!/usr/bin/env python3
"""Run a command with clone3(2) failing with ENOSYS, as under Docker's
default seccomp profile: the runtime must fall back to clone(2) and still
place the container's processes in their cgroup.

usage: no_clone3.py PROGRAM [ARGS...]
"""
import errno
import os
import sys

import seccomp

f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
f.load()
os.execv(sys.argv[1], sys.argv[1:])
