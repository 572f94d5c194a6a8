#!/usr/bin/env python3
"""Receive a pty master over a --console-socket, as conmon and the shim do.

usage: console_recv.py SOCKET OUTFILE [INPUT]

Listens on the unix socket SOCKET (created before it prints nothing and the
caller waits for the path to appear), accepts one connection, takes the fd
sent with SCM_RIGHTS, writes INPUT to it if given, then copies everything the
container writes to OUTFILE (as it arrives) until the slave side closes (EIO) or 20 s pass.
A line "#master=<readlink of the fd>" is appended so tests can check it was
a pty master.
"""
import os
import select
import socket
import sys
import time


def main():
    path, out = sys.argv[1], sys.argv[2]
    data_in = sys.argv[3].encode() if len(sys.argv) > 3 else None
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)
    conn, _ = srv.accept()
    _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
    conn.close()
    srv.close()
    if not fds:
        sys.exit("no fd received")
    master = fds[0]
    target = os.readlink(f"/proc/self/fd/{master}")
    if data_in:
        os.write(master, data_in)
    deadline = time.time() + 20
    with open(out, "wb") as f:
        # written as it arrives, so that a test can watch a running container
        while time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.5)
            if not r:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            f.write(chunk)
            f.flush()
        f.write(f"\n#master={target}\n".encode())


if __name__ == "__main__":
    main()
