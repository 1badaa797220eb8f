/**
 * Socket filters compiled to INET_DIAG_REQ_BYTECODE, so the kernel drops
 * what is not wanted before it is ever sent (sock_diag(7); the op layout and
 * audit rules are linux/inet_diag.h and net/ipv4/inet_diag.c:
 * inet_diag_bc_audit, inet_diag_bc_run).
 *
 * A program is a list of 4-byte ops {code, yes, no}: when an op matches, the
 * kernel moves `yes` bytes on, otherwise `no` bytes. A socket is accepted
 * when the walk ends exactly at the end of the program; jumping to end + 4
 * rejects it. Every condition here jumps to "reject" when it fails, so the
 * conditions are AND-combined, as `ss '( sport = :80 ) and ( dst 10/8 )'`.
 * The value parsers here are the rules for sport, dport, src and dst;
 * options.ts applies them and calls compileFilter once.
 */
import { endianness } from 'node:os';
import { OptionError, opt } from '../errors';
import { shown } from '../common/escape';

const BC_S_GE = 2;
const BC_S_LE = 3;
const BC_D_GE = 4;
const BC_D_LE = 5;
const BC_S_COND = 7;
const BC_D_COND = 8;
const AF_INET = 2;
const AF_INET6 = 10;
// The op offsets and port operands are host-order u16/int in the kernel.
const LE = endianness() === 'LE';

export interface PortRange {
  lo: number;
  hi: number;
}

export interface Prefix {
  family: 'ipv4' | 'ipv6';
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
  bits: number;
  /** -1: any port. */
  port: number;
  text: string;
}

export interface FilterSpec {
  sport?: PortRange;
  dport?: PortRange;
  src?: Prefix;
  dst?: Prefix;
}

/** "80", ":80", "1000-2000". */
export function parsePortRange(input: unknown, what: string): PortRange {
  const text = typeof input === 'number' ? String(input) : input;
  if (typeof text !== 'string') throw new OptionError(`${opt(what)} must be a port or a range such as 1000-2000`, what);
  const m = /^:?(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo > 65535 || hi > 65535) {
    throw new OptionError(`${opt(what)} ${shown(text)} is not a port from 0 to 65535 or a range such as 1000-2000`, what);
  }
  if (lo > hi) throw new OptionError(`${opt(what)} range ${shown(text)} runs backwards; write it low-high`, what);
  return { lo, hi };
}

function ipv4Bytes(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map(Number));
}

function ipv6Bytes(s: string): Uint8Array {
  // A trailing dotted quad (::ffff:1.2.3.4) becomes its two hex words first.
  const text = s.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const words = (part: string) => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
  const gap = text.indexOf('::');
  const head = words(gap < 0 ? text : text.slice(0, gap));
  const tail = gap < 0 ? [] : words(text.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/**
 * 'ipv4', 'ipv6' or undefined for text that is no address. node:net is loaded
 * here, on the first address given, not at start-up: loading it costs every
 * command about 4 ms though few are given an address.
 */
export function ipFamily(text: string): 'ipv4' | 'ipv6' | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const net = require('node:net') as typeof import('node:net');
  return net.isIPv4(text) ? 'ipv4' : net.isIPv6(text) ? 'ipv6' : undefined;
}

// The forms src and dst take: an IPv4 address, an IPv6 address in brackets or
// bare, each with an optional /prefix; a port after an IPv4 address or after
// the brackets (ss(8) "[::1]:443"): the kernel's host condition has a port.
const BRACKETED = /^\[([^\]]+)\](?:\/(\d{1,3}))?(?::(\d{1,5}))?$/;
const IPV4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,3}))?(?::(\d{1,5}))?$/;
const BARE = /^([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?$/;

/** "10.0.0.0/8", "127.0.0.2", "127.0.0.1:443", "::1", "[::1]:443", "[fe80::]/10". */
export function parsePrefix(input: unknown, what: string): Prefix {
  if (typeof input !== 'string') throw new OptionError(`${opt(what)} must be an address or a prefix such as 10.0.0.0/8, got ${shown(input)}`, what);
  const text = input.trim();
  if (text.includes('%')) {
    throw new OptionError(`${opt(what)} ${shown(text)}: zone ids (%eth0) are not supported; give the address alone`, what);
  }
  const m = BRACKETED.exec(text) ?? IPV4.exec(text) ?? BARE.exec(text);
  const addr = m?.[1] ?? '';
  if (m && m[2] === undefined && !text.startsWith('[') && addr.includes(':')) portAfterIpv6(text, addr, what);
  const family = m ? ipFamily(addr) : undefined;
  if (!m || family === undefined) {
    throw new OptionError(`${opt(what)} ${shown(text)} is not an IPv4 or IPv6 address or prefix (e.g. 10.0.0.0/8, ::1, [::1]:443, fe80::/10)`, what);
  }
  const max = family === 'ipv4' ? 32 : 128;
  const bits = m[2] === undefined ? max : Number(m[2]);
  if (bits > max) throw new OptionError(`${opt(what)} ${shown(text)}: prefix length must be 0 to ${max}`, what);
  const port = m[3] === undefined ? -1 : Number(m[3]);
  if (port > 65535) throw new OptionError(`${opt(what)} ${shown(text)}: the port must be 0 to 65535`, what);
  return { family, bytes: family === 'ipv4' ? ipv4Bytes(addr) : ipv6Bytes(addr), bits, port, text };
}

// "::1:443" (a valid address) and "::1:51234" (none: 51234 is no hex group)
// were most likely typed as ::1 with a port, and the first would match
// nothing, silently. A bare IPv6 address whose last group is decimal and
// whose rest is an address of its own is refused, with both ways to say it.
function portAfterIpv6(text: string, addr: string, what: string): void {
  const at = addr.lastIndexOf(':');
  const head = addr.slice(0, at);
  const tail = addr.slice(at + 1);
  if (!/^\d{2,5}$/.test(tail) || Number(tail) > 65535 || ipFamily(head) !== 'ipv6') return;
  const portKey = what === 'src' ? 'sport' : 'dport';
  const itself = ipFamily(addr) === 'ipv6' ? `; for the address ${addr} itself write [${addr}]` : '';
  throw new OptionError(
    `${opt(what)} ${shown(text)} looks like address ${head} with port ${tail}: write [${head}]:${tail} ` +
      `(or the address alone and ${opt(portKey)} ${tail})${itself}`,
    what,
  );
}

/** Compiles a filter; returns undefined when there is nothing to filter. */
export function compileFilter(spec: FilterSpec): Uint8Array | undefined {
  // Each piece: [code, operand bytes]; sizes are known, so offsets can be
  // computed before writing.
  const pieces: Array<{ code: number; operand: Uint8Array }> = [];
  const port = (code: number, p: number) => {
    const operand = new Uint8Array(4);
    new DataView(operand.buffer).setUint16(2, p, LE); // the "no" field of a second op
    pieces.push({ code, operand });
  };
  const host = (code: number, p: Prefix) => {
    // struct inet_diag_hostcond { u8 family; u8 prefix_len; int port; be32 addr[] }
    const operand = new Uint8Array(8 + p.bytes.length);
    const dv = new DataView(operand.buffer);
    dv.setUint8(0, p.family === 'ipv4' ? AF_INET : AF_INET6);
    dv.setUint8(1, p.bits);
    dv.setInt32(4, p.port, LE); // -1: any port
    operand.set(p.bytes, 8);
    pieces.push({ code, operand });
  };
  if (spec.sport) {
    port(BC_S_GE, spec.sport.lo);
    port(BC_S_LE, spec.sport.hi);
  }
  if (spec.dport) {
    port(BC_D_GE, spec.dport.lo);
    port(BC_D_LE, spec.dport.hi);
  }
  if (spec.src) host(BC_S_COND, spec.src);
  if (spec.dst) host(BC_D_COND, spec.dst);
  if (pieces.length === 0) return undefined;

  const total = pieces.reduce((n, p) => n + 4 + p.operand.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let off = 0;
  for (const p of pieces) {
    const size = 4 + p.operand.length;
    dv.setUint8(off, p.code);
    dv.setUint8(off + 1, size); // yes: the next op
    dv.setUint16(off + 2, total - off + 4, LE); // no: past the end, reject
    out.set(p.operand, off + 4);
    off += size;
  }
  return out;
}
