/**
 * src/request/filter.ts and src/request/cgroup-filter.ts: socket filters
 * compiled to INET_DIAG_REQ_BYTECODE (sock_diag(7)). The expected bytes are
 * what iproute2's ss(8) compiles for the same expression (misc/ss.c,
 * ssfilter_bytecompile and ssfilter_patch): `sport >= :N` is
 * {S_GE, 8, 12}{0, 0, N}; `dst P` is {D_COND, len, len+4} followed by
 * struct inet_diag_hostcond {u8 family; u8 prefix_len; int port; addr};
 * `cgroup P` is the packed {CGROUP_COND, 12, 16} and a u64; `a and b`
 * relocates a's rejects (a jump to its end + 4) past b; `a or b` puts
 * {JMP, 4, len(b)+4} between them. Op codes and structs: linux/inet_diag.h.
 * Two programs are also checked against the bytes ss 6.1 sent here (captured
 * with strace); the cgroup ones are from the source only (ss 6.1 here
 * resolved no cgroup ids on this hybrid layout).
 * Besides the bytes, every program is run through a model of the kernel's
 * inet_diag_bc_audit and inet_diag_bc_run (net/ipv4/inet_diag.c), written
 * below from the kernel source, so a program the kernel would refuse
 * (EINVAL) or misread fails here. Values are host order (little-endian here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';

import { compileFilter, ipFamily, parsePortRange, parsePrefix, type Prefix } from '../../src/request/filter';
import { andPrograms, compileCgroupFilter } from '../../src/request/cgroup-filter';
import { OptionError } from '../../src/errors';

const LE = endianness() === 'LE';
// linux/inet_diag.h
const NOP = 0,
  JMP = 1,
  S_GE = 2,
  S_LE = 3,
  D_GE = 4,
  D_LE = 5,
  S_COND = 7,
  D_COND = 8,
  CGROUP_COND = 13;
const AF_INET = 2,
  AF_INET6 = 10;

// ---- byte writers for the expected programs, as ss lays them out ----
const u16 = (n: number) => (LE ? [n & 0xff, n >> 8] : [n >> 8, n & 0xff]);
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  if (LE) b.writeInt32LE(n);
  else b.writeInt32BE(n);
  return [...b];
};
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  if (LE) b.writeBigUInt64LE(n);
  else b.writeBigUInt64BE(n);
  return [...b];
};
const op = (code: number, yes: number, no: number) => [code, yes, ...u16(no)];
const hostcond = (family: number, bits: number, port: number, addr: number[]) => [family, bits, 0, 0, ...i32(port), ...addr];
const bytes = (...parts: number[][]) => Uint8Array.from(parts.flat());

// ---- a model of the kernel's audit and run (net/ipv4/inet_diag.c) ----
interface Entry {
  family: 2 | 10;
  sport: number;
  dport: number;
  saddr: number[];
  daddr: number[];
  cgroupId: bigint;
}

function audit(bc: Uint8Array): boolean {
  const dv = new DataView(bc.buffer, bc.byteOffset, bc.byteLength);
  const validCc = (len: number, cc: number) => {
    let at = 0;
    while (len >= 0) {
      if (cc > len) return false;
      if (cc === len) return true;
      const yes = dv.getUint8(at + 1);
      if (yes < 4 || yes & 3) return false;
      len -= yes;
      at += yes;
    }
    return false;
  };
  let at = 0;
  let len = bc.length;
  while (len > 0) {
    const code = dv.getUint8(at);
    const yes = dv.getUint8(at + 1);
    const no = dv.getUint16(at + 2, LE);
    let min = 4;
    switch (code) {
      case S_COND:
      case D_COND: {
        min = 12;
        if (len < min) return false;
        const fam = dv.getUint8(at + 4);
        const alen = fam === 0 ? 0 : fam === AF_INET ? 4 : fam === AF_INET6 ? 16 : -1;
        if (alen < 0) return false;
        min += alen;
        if (len < min || dv.getUint8(at + 5) > alen * 8) return false;
        break;
      }
      case S_GE:
      case S_LE:
      case D_GE:
      case D_LE:
        min = 8;
        if (len < min) return false;
        break;
      case CGROUP_COND:
        min = 12;
        if (len < min) return false;
        break;
      case JMP:
      case NOP:
        break;
      default:
        return false;
    }
    if (code !== NOP) {
      if (no < min || no > len + 4 || no & 3) return false;
      if (no < len && !validCc(bc.length, len - no)) return false;
    }
    if (yes < min || yes > len + 4 || yes & 3) return false;
    at += yes;
    len -= yes;
  }
  return len === 0;
}

function prefixMatch(addr: number[], want: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const m = 0x80 >> (i % 8);
    if ((addr[i >> 3]! & m) !== (want[i >> 3]! & m)) return false;
  }
  return true;
}

function run(bc: Uint8Array, e: Entry): boolean {
  const dv = new DataView(bc.buffer, bc.byteOffset, bc.byteLength);
  let at = 0;
  let len = bc.length;
  while (len > 0) {
    const code = dv.getUint8(at);
    let yes = true;
    const operand16 = () => dv.getUint16(at + 6, LE); // op[1].no
    switch (code) {
      case JMP:
        yes = false;
        break;
      case S_GE:
        yes = e.sport >= operand16();
        break;
      case S_LE:
        yes = e.sport <= operand16();
        break;
      case D_GE:
        yes = e.dport >= operand16();
        break;
      case D_LE:
        yes = e.dport <= operand16();
        break;
      case S_COND:
      case D_COND: {
        const fam = dv.getUint8(at + 4),
          bits = dv.getUint8(at + 5),
          port = dv.getInt32(at + 8, LE);
        const want = bc.subarray(at + 12, at + 12 + (fam === AF_INET ? 4 : 16));
        if (port !== -1 && port !== (code === S_COND ? e.sport : e.dport)) {
          yes = false;
          break;
        }
        const addr = code === S_COND ? e.saddr : e.daddr;
        if (fam !== 0 && fam !== e.family) {
          const mapped =
            e.family === AF_INET6 && fam === AF_INET && addr.slice(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff;
          yes = mapped && prefixMatch(addr.slice(12), want, bits);
          break;
        }
        yes = bits === 0 || prefixMatch(addr, want, bits);
        break;
      }
      case CGROUP_COND:
        yes = dv.getBigUint64(at + 4, LE) === e.cgroupId;
        break;
      default:
        break;
    }
    const step = yes ? dv.getUint8(at + 1) : dv.getUint16(at + 2, LE);
    at += step;
    len -= step;
  }
  return len === 0;
}

const v4 = (s: string) => s.split('.').map(Number);
const v6 = (lastWord: number) => [...new Array(14).fill(0), lastWord >> 8, lastWord & 0xff];
const sock = (over: Partial<Entry>): Entry => ({
  family: AF_INET,
  sport: 1,
  dport: 1,
  saddr: v4('127.0.0.1'),
  daddr: v4('127.0.0.1'),
  cgroupId: 0n,
  ...over,
});

// ---- the value parsers ----

test('ports: "80", ":80" (ss writes ports after a colon), a number, and a low-high range', () => {
  assert.deepEqual(parsePortRange('80', 'sport'), { lo: 80, hi: 80 });
  assert.deepEqual(parsePortRange(':80', 'sport'), { lo: 80, hi: 80 });
  assert.deepEqual(parsePortRange(443, 'dport'), { lo: 443, hi: 443 });
  assert.deepEqual(parsePortRange('1000-2000', 'dport'), { lo: 1000, hi: 2000 });
  assert.deepEqual(parsePortRange('0', 'sport'), { lo: 0, hi: 0 });
  assert.deepEqual(parsePortRange('65535', 'sport'), { lo: 65535, hi: 65535 });
});

test('ports outside 0..65535, backwards ranges and non-numbers are refused with an OptionError naming the option', () => {
  for (const bad of ['65536', '-1', '', 'http', '80.5', 80.5, '123456', '1-70000', '1000-']) {
    assert.throws(
      () => parsePortRange(bad, 'sport'),
      (e: unknown) => e instanceof OptionError && e.option === 'sport',
      String(bad),
    );
  }
  assert.throws(() => parsePortRange('2000-1000', 'dport'), /runs backwards; write it low-high/);
  assert.throws(
    () => parsePortRange(undefined, 'dport'),
    (e: unknown) => e instanceof OptionError && e.option === 'dport',
  );
});

test('ipFamily follows node:net isIP: v4, v6, or nothing', () => {
  assert.equal(ipFamily('127.0.0.1'), 'ipv4');
  assert.equal(ipFamily('::1'), 'ipv6');
  assert.equal(ipFamily('::ffff:1.2.3.4'), 'ipv6');
  assert.equal(ipFamily('localhost'), undefined);
  assert.equal(ipFamily('1.2.3'), undefined);
});

test('prefixes: address bytes in network order, the prefix length, and the port ss(8) allows after an address', () => {
  const p = (s: string) => {
    const x = parsePrefix(s, 'dst');
    return [x.family, Buffer.from(x.bytes).toString('hex'), x.bits, x.port];
  };
  assert.deepEqual(p('10.0.0.0/8'), ['ipv4', '0a000000', 8, -1]);
  assert.deepEqual(p('127.0.0.1'), ['ipv4', '7f000001', 32, -1]);
  assert.deepEqual(p('127.0.0.1:443'), ['ipv4', '7f000001', 32, 443]);
  assert.deepEqual(p('::1'), ['ipv6', '00000000000000000000000000000001', 128, -1]);
  assert.deepEqual(p('[::1]:443'), ['ipv6', '00000000000000000000000000000001', 128, 443]);
  assert.deepEqual(p('fe80::/10'), ['ipv6', 'fe800000000000000000000000000000', 10, -1]);
  assert.deepEqual(p('[fe80::]/10'), ['ipv6', 'fe800000000000000000000000000000', 10, -1]);
  // inet_pton(3): a trailing dotted quad is the last two words.
  assert.deepEqual(p('::ffff:1.2.3.4'), ['ipv6', '00000000000000000000ffff01020304', 128, -1]);
  assert.deepEqual(p('1:2:3:4:5:6:7:8'), ['ipv6', '00010002000300040005000600070008', 128, -1]);
  assert.deepEqual(p('1::'), ['ipv6', '00010000000000000000000000000000', 128, -1]);
});

test('"::1:443" is refused (it reads as ::1 with port 443), "[::1]:443" is the way to say it', () => {
  assert.throws(
    () => parsePrefix('::1:443', 'src'),
    (e: unknown) => e instanceof OptionError && e.option === 'src' && e.message.includes('[::1]:443') && e.message.includes('sport 443'),
  );
  assert.throws(() => parsePrefix('::1:51234', 'dst'), /write \[::1\]:51234 \(or the address alone and dport 51234\)/);
  assert.equal(parsePrefix('[::1]:443', 'src').port, 443);
  assert.equal(parsePrefix('[::1:443]', 'src').port, -1, 'the address ::1:443 itself, in brackets');
});

test('bad prefixes are refused: lengths past 32/128, octets past 255, zone ids, ports past 65535, names', () => {
  for (const bad of [
    '1.2.3.4/33',
    '::1/129',
    '256.1.1.1',
    '1.2.3',
    'fe80::1%eth0',
    '10.0.0.1:65536',
    '[::1]:65536',
    'localhost',
    '',
    ':::',
    '1:2:3:4:5:6:7:8:9',
  ]) {
    assert.throws(
      () => parsePrefix(bad, 'dst'),
      (e: unknown) => e instanceof OptionError && e.option === 'dst',
      bad,
    );
  }
  assert.throws(() => parsePrefix(42, 'dst'), OptionError);
  assert.throws(() => parsePrefix('fe80::1%eth0', 'dst'), /zone ids/);
});

// ---- compiled programs against ss's bytes ----

test('nothing to filter compiles to no program', () => {
  assert.equal(compileFilter({}), undefined);
});

test("sport 80 is ss's `sport >= :80 and sport <= :80`: {S_GE,8,20}{0,0,80}{S_LE,8,12}{0,0,80}", () => {
  const bc = compileFilter({ sport: { lo: 80, hi: 80 } })!;
  assert.deepEqual(bc, bytes(op(S_GE, 8, 20), op(0, 0, 80), op(S_LE, 8, 12), op(0, 0, 80)));
  assert.ok(audit(bc));
  assert.equal(run(bc, sock({ sport: 80 })), true);
  assert.equal(run(bc, sock({ sport: 81 })), false);
  assert.equal(run(bc, sock({ sport: 79 })), false);
});

test("dport 1000-2000 is ss's `dport >= :1000 and dport <= :2000`, inclusive at both ends", () => {
  const bc = compileFilter({ dport: { lo: 1000, hi: 2000 } })!;
  assert.deepEqual(bc, bytes(op(D_GE, 8, 20), op(0, 0, 1000), op(D_LE, 8, 12), op(0, 0, 2000)));
  assert.ok(audit(bc));
  for (const [port, kept] of [
    [999, false],
    [1000, true],
    [1500, true],
    [2000, true],
    [2001, false],
  ] as const) {
    assert.equal(run(bc, sock({ dport: port })), kept, String(port));
  }
});

test("dst 10.0.0.0/8 is ss's hostcond {D_COND,16,20}{AF_INET,8,port -1,10.0.0.0}", () => {
  const bc = compileFilter({ dst: parsePrefix('10.0.0.0/8', 'dst') })!;
  assert.deepEqual(bc, bytes(op(D_COND, 16, 20), hostcond(AF_INET, 8, -1, [10, 0, 0, 0])));
  assert.ok(audit(bc));
  assert.equal(run(bc, sock({ daddr: v4('10.200.3.4') })), true);
  assert.equal(run(bc, sock({ daddr: v4('11.0.0.1') })), false);
  // The kernel matches an AF_INET condition against v4-mapped IPv6 peers too.
  assert.equal(run(bc, sock({ family: AF_INET6, daddr: [...new Array(10).fill(0), 0xff, 0xff, 10, 1, 2, 3] })), true);
});

test("src [::1]:443 is ss's {S_COND,28,32}{AF_INET6,128,443,::1}", () => {
  const bc = compileFilter({ src: parsePrefix('[::1]:443', 'src') })!;
  assert.deepEqual(bc, bytes(op(S_COND, 28, 32), hostcond(AF_INET6, 128, 443, v6(1))));
  assert.ok(audit(bc));
  assert.equal(run(bc, sock({ family: AF_INET6, saddr: v6(1), sport: 443 })), true);
  assert.equal(run(bc, sock({ family: AF_INET6, saddr: v6(1), sport: 444 })), false);
  assert.equal(run(bc, sock({ family: AF_INET6, saddr: v6(2), sport: 443 })), false);
});

test("several conditions AND as ss's `a and b` does: every reject jumps to the end of the whole + 4", () => {
  const dst: Prefix = parsePrefix('127.0.0.0/8', 'dst');
  const bc = compileFilter({ sport: { lo: 1000, hi: 2000 }, dport: { lo: 80, hi: 80 }, src: parsePrefix('127.0.0.2', 'src'), dst })!;
  const total = 8 + 8 + 8 + 8 + 16 + 16;
  assert.equal(bc.length, total);
  assert.deepEqual(
    bc,
    bytes(
      op(S_GE, 8, total + 4),
      op(0, 0, 1000),
      op(S_LE, 8, total - 8 + 4),
      op(0, 0, 2000),
      op(D_GE, 8, total - 16 + 4),
      op(0, 0, 80),
      op(D_LE, 8, total - 24 + 4),
      op(0, 0, 80),
      op(S_COND, 16, 16 + 16 + 4),
      hostcond(AF_INET, 32, -1, [127, 0, 0, 2]),
      op(D_COND, 16, 16 + 4),
      hostcond(AF_INET, 8, -1, [127, 0, 0, 0]),
    ),
  );
  assert.ok(audit(bc));
  const good = sock({ sport: 1500, dport: 80, saddr: v4('127.0.0.2'), daddr: v4('127.9.9.9') });
  assert.equal(run(bc, good), true);
  for (const bad of [{ sport: 999 }, { sport: 2001 }, { dport: 81 }, { saddr: v4('127.0.0.3') }, { daddr: v4('10.0.0.1') }]) {
    assert.equal(run(bc, { ...good, ...bad }), false, JSON.stringify(bad));
  }
});

test(
  'byte for byte what ss 6.1 sent on this machine (strace -e trace=sendmsg -e write=3 ss -tan EXPR)',
  { skip: !LE && 'captured on a little-endian host' },
  () => {
    // ss -tan 'sport >= :1000 and sport <= :2000 and dst 10.0.0.0/8'
    assert.equal(
      Buffer.from(compileFilter({ sport: parsePortRange('1000-2000', 'sport'), dst: parsePrefix('10.0.0.0/8', 'dst') })!).toString('hex'),
      '02082400' + '0000e803' + '03081c00' + '0000d007' + '08101400' + '02080000' + 'ffffffff' + '0a000000',
    );
    // ss -tan 'src [::1]:443'
    assert.equal(
      Buffer.from(compileFilter({ src: parsePrefix('[::1]:443', 'src') })!).toString('hex'),
      '071c2000' + '0a800000' + 'bb010000' + '00000000000000000000000000000001',
    );
  },
);

test("one cgroup is ss's `cgroup PATH`: the packed {CGROUP_COND,12,16} and the u64 id", () => {
  const bc = compileCgroupFilter([0x1234_5678_9abcn]);
  assert.deepEqual(bc, bytes(op(CGROUP_COND, 12, 16), u64(0x1234_5678_9abcn)));
  assert.ok(audit(bc));
  assert.equal(run(bc, sock({ cgroupId: 0x1234_5678_9abcn })), true);
  assert.equal(run(bc, sock({ cgroupId: 7n })), false);
  assert.equal(run(bc, sock({ cgroupId: 0n })), false, 'a mini-socket (cgroup id 0) never matches');
});

test("two cgroups are ss's `cgroup A or cgroup B`: A, {JMP,4,len(B)+4}, B", () => {
  const bc = compileCgroupFilter([5n, 9n]);
  assert.deepEqual(bc, bytes(op(CGROUP_COND, 12, 16), u64(5n), op(JMP, 4, 16), op(CGROUP_COND, 12, 16), u64(9n)));
  assert.ok(audit(bc));
  assert.deepEqual(
    [5n, 9n, 6n, 0n].map((id) => run(bc, sock({ cgroupId: id }))),
    [true, true, false, false],
  );
});

test('three or more cgroups: an OR group the kernel audit accepts, keeping exactly those ids', () => {
  // ss nests `a or b or c` left to right, so its first JMP lands on the second;
  // here each JMP goes straight past the group. Both pass the audit and run
  // alike, so the run is what is checked, with the layout's size.
  const ids = [3n, 1n << 40n, 0xffff_ffff_ffff_ffffn, 77n];
  const bc = compileCgroupFilter(ids);
  assert.equal(bc.length, 4 * 12 + 3 * 4);
  assert.ok(audit(bc));
  for (const id of ids) assert.equal(run(bc, sock({ cgroupId: id })), true, String(id));
  for (const id of [0n, 2n, 78n, (1n << 40n) + 1n]) assert.equal(run(bc, sock({ cgroupId: id })), false, String(id));
});

test('cgroup ids must be u64 values above 0, and at least one', () => {
  assert.throws(() => compileCgroupFilter([]), RangeError);
  assert.throws(() => compileCgroupFilter([0n]), RangeError);
  assert.throws(() => compileCgroupFilter([-1n]), RangeError);
  assert.throws(() => compileCgroupFilter([1n << 64n]), RangeError);
  assert.throws(() => compileCgroupFilter([5 as unknown as bigint]), RangeError);
});

test("andPrograms is ss's `a and b`: a's rejects moved past b (ssfilter_patch), b kept as is", () => {
  const ports = compileFilter({ sport: { lo: 80, hi: 80 } })!;
  const cg = compileCgroupFilter([5n, 9n]);
  const bc = andPrograms(ports, undefined, cg)!;
  const total = 16 + 28;
  assert.deepEqual(
    bc,
    bytes(
      op(S_GE, 8, total + 4),
      op(0, 0, 80),
      op(S_LE, 8, total - 8 + 4),
      op(0, 0, 80),
      op(CGROUP_COND, 12, 16),
      u64(5n),
      op(JMP, 4, 16),
      op(CGROUP_COND, 12, 16),
      u64(9n),
    ),
  );
  assert.ok(audit(bc));
  assert.equal(run(bc, sock({ sport: 80, cgroupId: 9n })), true);
  assert.equal(run(bc, sock({ sport: 80, cgroupId: 6n })), false);
  assert.equal(run(bc, sock({ sport: 81, cgroupId: 5n })), false);
  assert.equal(andPrograms(undefined, undefined), undefined);
  assert.deepEqual(andPrograms(cg), cg);
});

test('the model refuses what the kernel refuses, so the passes above mean something', () => {
  assert.equal(audit(bytes(op(CGROUP_COND, 12, 20), u64(1n))), false, 'no past end + 4');
  assert.equal(audit(bytes(op(S_GE, 8, 10), op(0, 0, 80))), false, 'no not a multiple of 4');
  assert.equal(audit(bytes(op(D_COND, 16, 20), hostcond(AF_INET, 33, -1, [1, 2, 3, 4]))), false, 'prefix longer than the address');
  assert.equal(audit(bytes(op(99, 4, 8))), false, 'unknown op');
});
