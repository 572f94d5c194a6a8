#!/usr/bin/env python3
"""Run a command with SIGPIPE, SIGINT, SIGHUP, SIGQUIT and the real-time
signals 32 and 33 ignored (the last two as GNU make leaves them for its
children; glibc refuses to touch them, so the raw syscall sets them).

usage: ignore_signals.py PROGRAM [ARGS...]
"""
import ctypes
import os
import signal
import sys

SYS_RT_SIGACTION = 13  # x86_64


class KSigaction(ctypes.Structure):
    _fields_ = [("handler", ctypes.c_ulong), ("flags", ctypes.c_ulong),
                ("restorer", ctypes.c_ulong), ("mask", ctypes.c_ulong)]


libc = ctypes.CDLL(None, use_errno=True)
for s in (32, 33):
    act = KSigaction(1, 0, 0, 0)  # SIG_IGN
    libc.syscall(SYS_RT_SIGACTION, s, ctypes.byref(act), None, 8)
for s in (signal.SIGPIPE, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(s, signal.SIG_IGN)
os.execv(sys.argv[1], sys.argv[1:])
