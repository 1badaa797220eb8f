/**
 * The groupings of `top --by`, `watch --by` and the library's `by`: one
 * entry each, the one home of everything a grouping is. An entry says what
 * a row is keyed by and holds (rows), whether it needs the owner join or
 * names looked up (user names, cgroup paths), which sockets count as having
 * no owner, and how its rows are titled and shown in `top` and in `watch`.
 * The renderers escape every cell (common/escape.ts), so a grouping cannot
 * forget to. A new grouping is a name in types.ts's TOP_BY and an entry
 * here: the compiler asks for the entry (Record<TopBy, Grouping>).
 * Pure: no addon, no file access.
 */
import type { RawTable } from '../core/raw';
import type { TopBy, TopRow } from '../types';
import { formatAddress } from './address';
import type { CgroupLabel } from './cgroup-name';

/** Names the groupings show: user names (by user), cgroup paths (by cgroup). */
export interface Labels {
  users?: Map<number, string>;
  cgroups?: Map<bigint, CgroupLabel>;
}

/** A column of a rendered table, after COUNT: its header and its cell, unescaped (the renderer escapes). */
export interface Column {
  header: string;
  cell(r: TopRow): string;
  align: 'left' | 'right';
  /** watch's fixed width for it (the last column takes the rest of the line). */
  width: number;
}

/** The rows a report covers: all of the table, or the given row indices. */
export type Rows = Uint32Array | undefined;

export interface Grouping {
  /** "Top <title> holding CLOSE_WAIT". */
  title: string;
  /** Rows are owners: the owner join (the eBPF iterator or the /proc walk) must run. */
  needsOwners: boolean;
  /** Names to look up before rows can be made. */
  labels?: 'users' | 'cgroups';
  /** Whether the socket at row i counts as unowned here. */
  unowned(t: RawTable, i: number): boolean;
  /** The rows count sockets (endpoints), unowned ones too; owner groupings never count those. */
  countsUnowned: boolean;
  /** The footer line for the unowned count, in `top`. */
  unownedText: string;
  rows(t: RawTable, labels: Labels, rows: Rows): TopRow[];
  columns: readonly Column[];
  /** watch's columns, narrower: fixed widths, one line per row. */
  watchColumns: readonly Column[];
}

const rowCount = (t: RawTable, rows: Rows) => (rows ? rows.length : t.size);
const rowAt = (rows: Rows, j: number) => (rows ? rows[j]! : j);

// Grouping keys built from the raw columns, so the per-socket work is
// arithmetic, not address formatting: an IPv4 host is its 32-bit value, an
// IPv6 host the 16 bytes as a short string. Only returned rows are formatted.
function hostKey(t: RawTable, i: number): number | string {
  const a = t.remoteAddr;
  const o = i * 16;
  if (t.family[i] === 4) return ((a[o]! << 24) >>> 0) + (a[o + 1]! << 16) + (a[o + 2]! << 8) + a[o + 3]!;
  return String.fromCharCode(...a.subarray(o, o + 16));
}

function endpointKey(t: RawTable, i: number): number | string {
  const h = hostKey(t, i);
  return typeof h === 'number' ? h * 65536 + t.remotePort[i]! : `${h}:${t.remotePort[i]}`;
}

// Groups rows by a key, skipping rows `skip` says to; returns [count, first row] per group.
function groupRows(
  t: RawTable,
  rows: Rows,
  keyOf: (t: RawTable, i: number) => number | string | bigint,
  skip?: (i: number) => boolean,
): Array<[number, number]> {
  const groups = new Map<number | string | bigint, [number, number]>();
  for (let j = 0, n = rowCount(t, rows); j < n; j++) {
    const i = rowAt(rows, j);
    if (skip?.(i)) continue;
    const k = keyOf(t, i);
    const g = groups.get(k);
    if (g) g[0]++;
    else groups.set(k, [1, i]);
  }
  return [...groups.values()];
}

/** A cgroup's row: what it is, then the count (the documented key order). */
export function cgroupRow(id: bigint, count: number, labels: Labels): TopRow {
  const l = labels.cgroups?.get(id);
  const row: Omit<TopRow, 'count'> = { key: l?.path ?? `cgroup id ${id}`, cgroupId: Number(id), path: l?.path ?? null, name: l?.name };
  if (l?.unit !== undefined) row.unit = l.unit;
  if (l?.containerId !== undefined) row.containerId = l.containerId;
  if (l?.podUid !== undefined) row.podUid = l.podUid;
  return { ...row, count };
}

// Sockets held by no process (inode 0: TIME_WAIT, orphans, request sockets)
// are never put in a process, command or user row: the kernel reports uid 0
// for them, which is nobody's.
const noInode = (t: RawTable, i: number) => t.inode[i] === 0;
const HELD_BY_NONE = 'held by no process (orphans, TIME_WAIT, half-open requests)';
const key: Column = { header: '', cell: (r) => r.key, align: 'left', width: 0 };
const endpoint = (title: string, header: string, align: Column['align'], rows: Grouping['rows']): Grouping => ({
  title,
  needsOwners: false,
  unowned: noInode,
  countsUnowned: true,
  unownedText: HELD_BY_NONE,
  rows,
  columns: [{ ...key, header, align }],
  watchColumns: [{ ...key, header }],
});

export const GROUPINGS: { readonly [B in TopBy]: Grouping } = {
  process: {
    title: 'processes',
    needsOwners: true,
    unowned: noInode,
    countsUnowned: false,
    unownedText: HELD_BY_NONE,
    rows: (t) => t.owners!.processes.map((p) => ({ key: String(p.pid), pid: p.pid, command: p.comm, cmdline: p.cmdline, count: p.sockets })),
    columns: [
      { header: 'PID', cell: (r) => String(r.pid), align: 'right', width: 7 },
      { header: 'COMMAND', cell: (r) => r.command ?? '', align: 'left', width: 15 },
      { header: 'CMDLINE', cell: (r) => r.cmdline ?? '', align: 'left', width: 0 },
    ],
    get watchColumns() {
      return this.columns;
    },
  },
  command: {
    title: 'commands',
    needsOwners: true,
    unowned: noInode,
    countsUnowned: false,
    unownedText: HELD_BY_NONE,
    rows(t) {
      const byCommand = new Map<string, TopRow>();
      for (const p of t.owners!.processes) {
        const row = byCommand.get(p.comm) ?? { key: p.comm, command: p.comm, pids: 0, count: 0 };
        row.pids! += 1;
        row.count += p.sockets;
        byCommand.set(p.comm, row);
      }
      return [...byCommand.values()];
    },
    columns: [
      { header: 'PROCS', cell: (r) => String(r.pids), align: 'right', width: 5 },
      { header: 'COMMAND', cell: (r) => r.command ?? '', align: 'left', width: 0 },
    ],
    get watchColumns() {
      return this.columns;
    },
  },
  remote: endpoint('peers', 'PEER', 'left', (t, _l, rows) =>
    groupRows(t, rows, endpointKey).map(([count, i]) => {
      const addr = formatAddress(t.family[i]!, t.remoteAddr, i);
      const port = t.remotePort[i]!;
      return { key: t.family[i] === 6 ? `[${addr}]:${port}` : `${addr}:${port}`, count, remoteAddress: addr, remotePort: port };
    }),
  ),
  'remote-host': endpoint('peer addresses', 'PEER ADDRESS', 'left', (t, _l, rows) =>
    groupRows(t, rows, hostKey).map(([count, i]) => {
      const addr = formatAddress(t.family[i]!, t.remoteAddr, i);
      return { key: addr, count, remoteAddress: addr };
    }),
  ),
  'local-port': endpoint('local ports', 'LOCAL PORT', 'right', (t, _l, rows) =>
    groupRows(t, rows, (x, i) => x.localPort[i]!).map(([count, i]) => ({ key: String(t.localPort[i]), count, localPort: t.localPort[i]! })),
  ),
  user: {
    title: 'users',
    needsOwners: false,
    labels: 'users',
    unowned: noInode,
    countsUnowned: false,
    unownedText: HELD_BY_NONE,
    rows: (t, labels, rows) =>
      groupRows(
        t,
        rows,
        (x, i) => x.uid[i]!,
        (i) => t.inode[i] === 0,
      ).map(([count, i]) => {
        const uid = t.uid[i]!;
        const user = labels.users?.get(uid) ?? null;
        return { key: user ?? String(uid), count, uid, user };
      }),
    columns: [
      { header: 'UID', cell: (r) => String(r.uid), align: 'right', width: 7 },
      { header: 'USER', cell: (r) => r.user ?? '?', align: 'left', width: 0 },
    ],
    get watchColumns() {
      return this.columns;
    },
  },
  // A row is a cgroup id the kernel tagged sockets with; the unowned count is
  // the sockets with no id (the kernel's mini-sockets: TIME_WAIT, request
  // sockets, orphans kept as TIME_WAIT).
  cgroup: {
    title: 'cgroups',
    needsOwners: false,
    labels: 'cgroups',
    unowned: (t, i) => t.cgroupId[i] === 0n,
    countsUnowned: false,
    unownedText: 'carry no cgroup (TIME_WAIT, half-open requests, orphans kept as TIME_WAIT)',
    rows: (t, labels, rows) =>
      groupRows(
        t,
        rows,
        (x, i) => x.cgroupId[i]!,
        (i) => t.cgroupId[i] === 0n,
      ).map(([count, i]) => cgroupRow(t.cgroupId[i]!, count, labels)),
    columns: [
      { header: 'NAME', cell: (r) => r.name ?? '', align: 'left', width: 24 },
      { header: 'PATH', cell: (r) => r.path ?? `(id ${r.cgroupId})`, align: 'left', width: 0 },
    ],
    watchColumns: [
      { header: 'NAME', cell: (r) => r.name ?? '', align: 'left', width: 24 },
      { header: 'CGROUP', cell: (r) => r.path ?? r.key, align: 'left', width: 0 },
    ],
  },
};
