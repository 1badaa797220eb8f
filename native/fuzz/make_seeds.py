#!/usr/bin/env python3
"""make_seeds.py: writes the fuzzers' seed corpus from this machine.

  python3 native/fuzz/make_seeds.py        # every corpus
  python3 native/fuzz/make_seeds.py btf    # corpus/btf only

corpus/netlink: real NETLINK_SOCK_DIAG reply datagrams (sock_diag(7)) for a
few sockets this script opens on loopback, IPv4 and IPv6, with the DONE
message. corpus/proc_parse: a real getdents64 buffer of /proc, socket link
texts, /proc/self/stat, comm, cmdline, a pid and an fd number, each behind the selector byte that
fuzz_proc_parse.cc reads. corpus/procnet: the head of this machine's
/proc/net/tcp and tcp6 while those sockets are open (every kind of line:
LISTEN, ESTABLISHED, TIME_WAIT). corpus/bytecode: programs exactly as
src/request/filter.ts and src/request/cgroup-filter.ts compile them (run
`npm run build` first: they come from dist/), behind a socket for fuzz_bytecode.cc.
corpus/mounts: this machine's /proc/mounts. corpus/btf: small BTF blobs (Documentation/bpf/
btf.rst) shaped like the kernel's where the owner program looks (task_struct
with pid and tgid in an anonymous struct inside an anonymous union and a
kind_flag bitfield, file, inode, bpf_iter_meta with seq in an anonymous
union, the FUNC bpf_iter_task_file and its prototype), in both member
encodings, plus nested and truncated ones; synthesized, not cut from this
machine's 5 MB vmlinux. Run it again when the parsers learn new input.
"""
import ctypes
import json
import os
import socket
import struct
import subprocess
import sys

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
    # A TIME_WAIT: the client side closes first, then the server side.
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen()
    cli = socket.create_connection(srv.getsockname())
    conn, _ = srv.accept()
    cli.close()
    conn.close()
    srv.close()
    for fam, tag in ((socket.AF_INET, 'v4'), (socket.AF_INET6, 'v6')):
        for i, g in enumerate(dump(fam)[:3]):
            write('netlink', f'{tag}-{i}', g)
    # fuzz_procnet.cc: selector byte (bit 0: tcp6; the rest: read size).
    for name, sel in (('tcp', 0x20), ('tcp6', 0x21)):
        with open(f'/proc/net/{name}', 'rb') as f:
            lines = f.read().split(b'\n')
        write('procnet', name, bytes([sel]) + b'\n'.join(lines[:40]) + b'\n')
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

    with open('/proc/mounts', 'rb') as f:
        write('mounts', 'proc-mounts', f.read())

    # fuzz_bytecode.cc: a socket (family bit, src, dst, sport, dport, cgroup
    # id), then the program as the TypeScript compilers emit it.
    root = os.path.join(HERE, '..', '..')
    script = """
const { compileFilter, parsePortRange, parsePrefix } = require('./dist/request/filter');
const { compileCgroupFilter, andPrograms } = require('./dist/request/cgroup-filter');
const f = (o) => compileFilter(Object.fromEntries(Object.entries(o).map(([k, v]) =>
  [k, k.endsWith('port') ? parsePortRange(v, k) : parsePrefix(v, k)])));
const progs = {
  sport: f({ sport: 80 }), range: f({ sport: '1000-2000', dport: '1-1024' }),
  dst8: f({ dst: '10.0.0.0/8' }), src6: f({ src: 'fe80::/10' }), all: f({ sport: 443, src: '127.0.0.1', dst: '::1' }),
  cgroup: compileCgroupFilter([1n]), cgroups: compileCgroupFilter([7n, 9n, 4242n]),
  and: andPrograms(f({ sport: '1000-2000', dst: '10.0.0.0/8' }), compileCgroupFilter([5n, 6n])),
};
process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(progs).map(([k, v]) => [k, Buffer.from(v).toString('hex')]))));
"""
    progs = json.loads(subprocess.check_output(['node', '-e', script], cwd=root))
    v4 = (b'\x00' + socket.inet_aton('127.0.0.1') + bytes(12) + socket.inet_aton('10.1.2.3') + bytes(12)
          + struct.pack('=HHQ', 80, 443, 5))
    v6 = (b'\x01' + socket.inet_pton(socket.AF_INET6, 'fe80::1') + socket.inet_pton(socket.AF_INET6, '::ffff:10.0.0.1')
          + struct.pack('=HHQ', 1500, 22, 1))
    for name, hexprog in progs.items():
        write('bytecode', f'{name}-v4', v4 + bytes.fromhex(hexprog))
        write('bytecode', f'{name}-v6', v6 + bytes.fromhex(hexprog))


class Btf:
    """A BTF writer: types get ids 1, 2, ... in the order they are added."""

    def __init__(self):
        self.types = b''
        self.strings = b'\0'
        self.count = 0

    def str(self, s):
        if not s:
            return 0
        off = len(self.strings)
        self.strings += s.encode() + b'\0'
        return off

    def raw(self, name, kind, vlen, size_or_type, extra=(), kind_flag=0):
        info = (kind_flag << 31) | (kind << 24) | vlen
        self.types += struct.pack('=III', self.str(name), info, size_or_type)
        self.types += b''.join(struct.pack('=I', w) for w in extra)
        self.count += 1
        return self.count

    def int(self, name, size, bits=0, offset=0):
        return self.raw(name, 1, 0, size, [(offset << 16) | (bits or size * 8)])

    def ptr(self, to):
        return self.raw('', 2, 0, to)

    def typedef(self, name, to):
        return self.raw(name, 8, 0, to)

    def fwd(self, name):
        return self.raw(name, 7, 0, 0)

    def struct(self, name, size, members, kind_flag=0, kind=4):
        extra = []
        for m in members:
            mname, mtype, bits = m[0], m[1], m[2]
            fbits = m[3] if len(m) > 3 else 0
            extra += [self.str(mname), mtype, (fbits << 24) | bits if kind_flag else bits]
        return self.raw(name, kind, len(members), size, extra, kind_flag)

    def proto(self, ret, params):
        extra = []
        for pname, ptype in params:
            extra += [self.str(pname), ptype]
        return self.raw('', 13, len(params), ret, extra)

    def func(self, name, proto):
        return self.raw(name, 12, 0, proto)

    def blob(self):
        hdr = struct.pack('=HBBIIIII', 0xEB9F, 1, 0, 24, 0, len(self.types), len(self.types), len(self.strings))
        return hdr + self.types + self.strings


def owner_btf(randstruct=True, kind_flag=1, old_bitfield=False):
    b = Btf()
    u16, i32, u32, ulong = b.int('unsigned short', 2), b.int('int', 4), b.int('unsigned int', 4), b.int('long unsigned int', 8)
    pid_t, umode = b.typedef('pid_t', i32), b.typedef('umode_t', u16)
    seq_file, files_struct = b.struct('seq_file', 64, []), b.fwd('files_struct')
    task = b.count + 1
    anon_struct, anon_union = task + 2, task + 3
    tgid_type = task + 4 if old_bitfield else pid_t
    files_ptr = task + (5 if old_bitfield else 4)
    if randstruct:
        members = [('', anon_union, 1264 * 8)]
    else:
        members = [('pid', pid_t, 1264 * 8), ('tgid', tgid_type, 1268 * 8)]
    members += [('group_leader', task + 1, 1328 * 8), ('files', files_ptr, 1824 * 8), ('state_bits', u32, 803, 5)]
    b.struct('task_struct', 3264, members, kind_flag)
    b.ptr(task)
    b.struct('', 8, [('pid', pid_t, 0), ('tgid', tgid_type, 32)])
    b.struct('', 8, [('', anon_struct, 0)], kind=5)
    if old_bitfield:
        b.int('int', 4, bits=20)
    b.ptr(files_struct)
    inode = b.struct('inode', 616, [('i_mode', umode, 0), ('i_ino', ulong, 512)])
    inode_ptr = b.ptr(inode)
    file_ptr = b.ptr(b.struct('file', 184, [('f_inode', inode_ptr, 256)]))
    seq_union = b.struct('', 8, [('seq', b.ptr(seq_file), 0)], kind=5)
    meta = b.struct('bpf_iter_meta', 24, [('', seq_union, 0), ('session_id', ulong, 64), ('seq_num', ulong, 128)])
    meta_ptr, task_ptr = b.ptr(meta), b.ptr(task)
    b.struct('bpf_iter__task_file', 32, [('', meta_ptr, 0), ('', task_ptr, 64), ('fd', u32, 128), ('', file_ptr, 192)])
    b.func('bpf_iter_task_file', b.proto(i32, [('meta', meta_ptr), ('task', task_ptr), ('fd', u32), ('file', file_ptr)]))
    return b.blob()


def btf_seeds():
    write('btf', 'owner', owner_btf())
    write('btf', 'owner-plain', owner_btf(randstruct=False, kind_flag=0))
    write('btf', 'owner-int-bitfield', owner_btf(randstruct=False, kind_flag=0, old_bitfield=True))
    # Anonymous structs nested 12 deep, and a typedef cycle.
    b = Btf()
    i32 = b.int('int', 4)
    inner = b.struct('', 4, [('deep', i32, 8)])
    for _ in range(11):
        inner = b.struct('', 4, [('', inner, 16)])
    b.struct('outer', 4, [('', inner, 0)])
    t = b.count + 1
    b.typedef('a', t + 1)
    b.typedef('b', t)
    write('btf', 'nested', b.blob())
    write('btf', 'truncated', owner_btf()[:100])


if __name__ == '__main__':
    if sys.argv[1:] == ['btf']:
        btf_seeds()
    else:
        main()
        btf_seeds()
