#!/usr/bin/env python3
"""Run a command on a new pty (its controlling terminal and stdio), the way a
user at a terminal runs it, and copy what it writes to our stdout.

usage: underpty.py TIMEOUT COMMAND [ARG...]

Unlike `script </dev/null`, nothing is ever sent to the command's input:
script forwards the EOF of its stdin as a ^D, and if that ^D lands before the
command has put the terminal in raw mode (ctr -t, berth run with a terminal)
the command sees end-of-input at start-up and may close the container's
console before it prints anything. Here the input simply stays open and
empty. Exits with the command's status (128+N if killed by signal N), or 124
after TIMEOUT seconds (the command is then killed).
"""
import os
import select
import signal
import sys
import time


def main():
    timeout = float(sys.argv[1])
    argv = sys.argv[2:]
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        import fcntl
        import termios
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            os.write(2, f"underpty: {argv[0]}: {e.strerror}\n".encode())
            os._exit(127)
    os.close(slave)
    deadline = time.monotonic() + timeout
    out = sys.stdout.buffer
    status = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            if status is not None:
                break  # drained long enough after the command ended
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            os.waitpid(pid, 0)
            out.flush()
            sys.exit(124)
        ready, _, _ = select.select([master], [], [], min(left, 0.2))
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every slave fd is closed
                data = b""
            if data:
                out.write(data)
                out.flush()
                continue
            break
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                # the command is gone; drain what is left without waiting
                # for processes that may still hold the slave open
                deadline = min(deadline, time.monotonic() + 2)
    if status is None:
        _, status = os.waitpid(pid, 0)
    out.flush()
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
