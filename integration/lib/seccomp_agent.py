#!/usr/bin/env python3
"""A minimal seccomp agent for linux.seccomp.listenerPath tests.

usage: seccomp_agent.py SOCKET LOGDIR ERRNO

Listens on the unix stream socket SOCKET. Each connection must carry one
"container process state" (config-linux.md) with the listener fd attached by
SCM_RIGHTS; the JSON is saved as LOGDIR/state.N.json. Every syscall notified
on any listener is answered with -ERRNO and logged as a line
"<syscall nr> <pid>" in LOGDIR/calls. Runs until killed.
"""
import os
import select
import socket
import struct
import sys
import fcntl

# struct seccomp_notif: id u64, pid u32, flags u32, seccomp_data (nr i32,
# arch u32, ip u64, args u64[6]) = 80 bytes; seccomp_notif_resp: id u64,
# val s64, error s32, flags u32 = 24 bytes.
NOTIF_SIZE, RESP_SIZE = 80, 24
IOCTL_RECV = (3 << 30) | (NOTIF_SIZE << 16) | (ord("!") << 8) | 0
IOCTL_SEND = (3 << 30) | (RESP_SIZE << 16) | (ord("!") << 8) | 1


def main():
    path, logdir, errno = sys.argv[1], sys.argv[2], int(sys.argv[3])
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path + ".tmp")
    srv.listen(8)
    os.rename(path + ".tmp", path)  # appears only once it accepts
    listeners = []
    n = 0
    while True:
        ready, _, _ = select.select([srv] + listeners, [], [])
        for r in ready:
            if r is srv:
                conn, _ = srv.accept()
                msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
                conn.close()
                n += 1
                with open(os.path.join(logdir, f"state.{n}.json"), "wb") as f:
                    f.write(msg)
                listeners.extend(fds)
                continue
            buf = bytearray(NOTIF_SIZE)
            try:
                fcntl.ioctl(r, IOCTL_RECV, buf, True)
            except OSError:
                # ENOENT: the process went away; others: the filter is gone
                if not _alive(r):
                    listeners.remove(r)
                    os.close(r)
                continue
            nid, pid, _flags, nr = struct.unpack_from("=QIIi", buf)
            with open(os.path.join(logdir, "calls"), "a") as f:
                f.write(f"{nr} {pid}\n")
            resp = struct.pack("=QqiI", nid, 0, -errno, 0)
            try:
                fcntl.ioctl(r, IOCTL_SEND, resp)
            except OSError:
                pass


def _alive(fd):
    # a listener whose filter has no users left polls as POLLHUP
    p = select.poll()
    p.register(fd, select.POLLIN)
    return not any(ev & select.POLLHUP for _, ev in p.poll(0))


if __name__ == "__main__":
    main()
