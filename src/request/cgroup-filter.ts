/**
 * Cgroup conditions for INET_DIAG_REQ_BYTECODE (`--cgroup PATH`), run by the
 * kernel as `ss 'cgroup PATH'` compiles it, and a way to AND them onto the
 * program compileFilter (filter.ts) builds. Kept apart from filter.ts so the
 * options module can fold it in.
 *
 * The op (linux/inet_diag.h, INET_DIAG_BC_CGROUP_COND = 13; kernel 5.7+ with
 * CONFIG_SOCK_CGROUP_DATA): struct inet_diag_bc_op {u8 code; u8 yes; u16 no}
 * followed by the u64 cgroup v2 id in host order, unaligned (the kernel reads
 * it with get_unaligned): 12 bytes. Audit (net/ipv4/inet_diag.c,
 * inet_diag_bc_audit with valid_cgroupcond): `yes` and `no` are multiples of
 * 4, at least 12, at most 4 past the end, and a `no` that lands inside the
 * program must land on an op reachable from the start by `yes` steps
 * (valid_cc). Run (inet_diag_bc_run): it matches when the socket's cgroup id
 * equals the operand; the kernel sees id 0 for its mini-sockets (TIME_WAIT,
 * also orphaned FIN_WAIT2 kept as TIME_WAIT in substate FIN_WAIT2, and
 * SYN_RECV request sockets), so a cgroup filter never keeps them.
 *
 * Several ids are an OR group, laid out as ss does for `a or b`:
 *   c1 [yes: next op, no: c2] J1 [JMP, no: after cn] c2 ... cn [no: reject]
 * so every `no` target is reachable by `yes` steps, as the audit requires.
 * A cgroup id is the inode of the cgroup's directory on the cgroup2 mount
 * (cgroupPaths in native.ts maps them back to paths).
 */
import { endianness } from 'node:os';

export const BC_JMP = 1;
export const BC_CGROUP_COND = 13;
const LE = endianness() === 'LE';
const COND = 12; // op + u64
const JMP = 4;

/** A program that keeps sockets created in any of these cgroups (ids > 0). */
export function compileCgroupFilter(ids: readonly bigint[]): Uint8Array {
  if (ids.length === 0) throw new RangeError('compileCgroupFilter needs at least one cgroup id');
  for (const id of ids) {
    if (typeof id !== 'bigint' || id <= 0n || id >= 1n << 64n) throw new RangeError(`cgroup id ${String(id)} is not a u64 above 0`);
  }
  const total = ids.length * COND + (ids.length - 1) * JMP;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let off = 0;
  ids.forEach((id, i) => {
    const last = i === ids.length - 1;
    dv.setUint8(off, BC_CGROUP_COND);
    dv.setUint8(off + 1, COND); // yes: the next op (the JMP, or past the group)
    dv.setUint16(off + 2, last ? total - off + 4 : COND + JMP, LE); // no: the next condition, or reject
    dv.setBigUint64(off + 4, id, LE);
    off += COND;
    if (!last) {
      dv.setUint8(off, BC_JMP);
      dv.setUint8(off + 1, JMP);
      dv.setUint16(off + 2, total - off, LE); // a match skips the rest of the group
      off += JMP;
    }
  });
  return out;
}

/**
 * AND-combines programs built by compileFilter and compileCgroupFilter (or
 * any program whose every op's `yes` is its own size, which is how both
 * build them): the first must accept, then the next. Each program's rejects
 * (jumps to its end + 4) are moved to the end of the whole + 4. Undefined
 * programs are skipped; undefined when none is left.
 */
export function andPrograms(...programs: Array<Uint8Array | undefined>): Uint8Array | undefined {
  const parts = programs.filter((p): p is Uint8Array => p !== undefined && p.length > 0);
  if (parts.length === 0) return undefined;
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let base = 0;
  for (const p of parts) {
    out.set(p, base);
    for (let off = 0; off < p.length;) {
      const yes = dv.getUint8(base + off + 1);
      const no = dv.getUint16(base + off + 2, LE);
      if (yes < 4 || yes % 4 !== 0) throw new RangeError(`andPrograms: op at byte ${off} has yes ${yes}`);
      if (off + no === p.length + 4) dv.setUint16(base + off + 2, total - base - off + 4, LE);
      off += yes;
    }
    base += p.length;
  }
  return out;
}
