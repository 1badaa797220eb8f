#!/usr/bin/env python3
"""make_seeds.py: writes the fuzzers' seed corpus from this machine.

  python3 native/fuzz/make_seeds.py

corpus/netlink: real NETLINK_SOCK_DIAG reply datagrams (sock_diag(7)) for a
few sockets this script opens on loopback, IPv4 and IPv6, with the DONE
message. corpus/proc_parse: a real getdents64 buffer of /proc, socket link
texts, /proc/self/stat, comm, cmdline, a pid and an fd number, each behind the selector byte that
fuzz_proc_parse.cc reads. Run it again when the parsers learn new input.
"""
import ctypes
import os
import socket
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300


def write(kind, name, data):
    d = os.path.join(HERE, 'corpus', kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def dump(family, states=0xFFFFFFFF):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    # inet_diag_req_v2: family, protocol, ext, pad, states, then a zeroed
    # inet_diag_sockid (48 bytes).
    req = struct.pack('=BBBBI', family, socket.IPPROTO_TCP, 0, 0, states) + bytes(48)
    hdr = struct.pack('=IHHII', 16 + len(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    s.sendto(hdr + req, (0, 0))
    grams = []
    while True:
        g = s.recv(65536)
        grams.append(g)
        if struct.unpack_from('=H', g, 4)[0] == 3:  # NLMSG_DONE
            break
    s.close()
    return grams


def main():
    # A few sockets of our own so the dump is not empty: a listener, an
    # established pair, on each family.
    held = []
    for fam, addr in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
        srv = socket.socket(fam)
        srv.bind((addr, 0))
        srv.listen()
        cli = socket.create_connection(srv.getsockname()[:2])
        conn, _ = srv.accept()
        held += [srv, cli, conn]
    for fam, tag in ((socket.AF_INET, 'v4'), (socket.AF_INET6, 'v6')):
        for i, g in enumerate(dump(fam)[:3]):
            write('netlink', f'{tag}-{i}', g)
    for s in held:
        s.close()

    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open('/proc', os.O_RDONLY | os.O_DIRECTORY)
    buf = ctypes.create_string_buffer(4096)
    n = libc.syscall(217, fd, buf, 4096)  # SYS_getdents64 on x86_64
    os.close(fd)
    if n > 0:
        write('proc_parse', 'dirents', b'\x00' + buf.raw[:n])
    write('proc_parse', 'link-socket', b'\x01socket:[123456]')
    write('proc_parse', 'link-pipe', b'\x01pipe:[42]')
    with open('/proc/self/stat', 'rb') as f:
        write('proc_parse', 'stat', b'\x02' + f.read())
    with open('/proc/self/cmdline', 'rb') as f:
        write('proc_parse', 'cmdline', b'\x03' + f.read())
    write('proc_parse', 'pid', b'\x0412345')
    write('proc_parse', 'fd', b'\x0517')


if __name__ == '__main__':
    main()
