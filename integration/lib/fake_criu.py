#!/usr/bin/env python3
"""A stand-in for an old CRIU: answers `criu swrk FD`'s first request (the
version request runtimes send first) with version 3.17.1, Debian 12's CRIU,
too old for kernels >= 6.13, then exits.

usage: fake_criu.py swrk FD
"""
import socket
import sys


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "swrk":
        sys.exit("usage: fake_criu.py swrk FD")
    sock = socket.socket(fileno=int(sys.argv[2]))
    sock.recv(65536)
    # criu_resp { type: VERSION (10), success: true,
    #             version { major_number: 3, minor_number: 17, sublevel: 1 } }
    sock.send(bytes([0x08, 0x0A, 0x10, 0x01, 0x52, 0x06, 0x08, 0x03, 0x10, 0x11, 0x20, 0x01]))


if __name__ == "__main__":
    main()
