#!/usr/bin/env python3
"""A caller's sd_notify socket, as systemd or conmon has one: bind a unix
datagram socket at SOCKET and append every datagram received to OUTFILE.

usage: notify_listen.py SOCKET OUTFILE
"""
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(120)
while True:
    try:
        data = s.recv(4096)
    except socket.timeout:
        break
    with open(out, "ab") as f:
        f.write(data)
