/**
 * The top-N report: groups the sockets of a table by process, command, peer,
 * peer address, local port or user, and counts what has no owner. Sockets
 * held by no process (inode 0: TIME_WAIT, orphans, request sockets) are never
 * put in a process, command or user row (the kernel reports uid 0 for them,
 * which is nobody's): they are the "unowned" count alone. The endpoint
 * groupings describe sockets, not owners, so they count them in their rows.
 * A report covers every row of the table, or only the rows a sampler picks
 * (the rows in its attributed states).
 */
import { formatAddress } from './address';
import type { RawTable } from './native';
import type { Request } from './options';
import { maskNames } from './states';
import type { TopBy, TopReport, TopRow } from './types';

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

/** The rows a report covers: all of the table, or the given row indices. */
type Rows = Uint32Array | undefined;
const rowCount = (t: RawTable, rows: Rows) => (rows ? rows.length : t.size);
const rowAt = (rows: Rows, j: number) => (rows ? rows[j]! : j);

// Groups rows by a key, skipping rows `skip` says to; returns [count, first row] per group.
function groupRows(t: RawTable, rows: Rows, keyOf: (t: RawTable, i: number) => number | string, skip?: (i: number) => boolean): Array<[number, number]> {
  const groups = new Map<number | string, [number, number]>();
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

function topRows(by: TopBy, t: RawTable, users: Map<number, string> | undefined, rows: Rows): TopRow[] {
  switch (by) {
    case 'process':
      return t.owners!.processes.map((p) => ({ key: String(p.pid), pid: p.pid, command: p.comm, cmdline: p.cmdline, count: p.sockets }));
    case 'command': {
      const byCommand = new Map<string, TopRow>();
      for (const p of t.owners!.processes) {
        const row = byCommand.get(p.comm) ?? { key: p.comm, command: p.comm, pids: 0, count: 0 };
        row.pids! += 1;
        row.count += p.sockets;
        byCommand.set(p.comm, row);
      }
      return [...byCommand.values()];
    }
    case 'remote':
      return groupRows(t, rows, endpointKey).map(([count, i]) => {
        const addr = formatAddress(t.family[i]!, t.remoteAddr, i);
        const port = t.remotePort[i]!;
        return { key: t.family[i] === 6 ? `[${addr}]:${port}` : `${addr}:${port}`, count, remoteAddress: addr, remotePort: port };
      });
    case 'remote-host':
      return groupRows(t, rows, hostKey).map(([count, i]) => {
        const addr = formatAddress(t.family[i]!, t.remoteAddr, i);
        return { key: addr, count, remoteAddress: addr };
      });
    case 'local-port':
      return groupRows(t, rows, (x, i) => x.localPort[i]!).map(([count, i]) => ({ key: String(t.localPort[i]), count, localPort: t.localPort[i]! }));
    case 'user':
      return groupRows(t, rows, (x, i) => x.uid[i]!, (i) => t.inode[i] === 0).map(([count, i]) => {
        const uid = t.uid[i]!;
        const user = users!.get(uid) ?? null;
        return { key: user ?? String(uid), count, uid, user };
      });
  }
}

/**
 * The report for a request's table (or for the given rows of it; the states
 * it names are `states`, default the request's); tookMs is the caller's to
 * fill in.
 */
export function topReport(req: Request, t: RawTable, users: Map<number, string> | undefined, tookMs: () => number,
  rows?: Uint32Array, states: number = req.raw.states): TopReport {
  const n = rowCount(t, rows);
  let unowned = 0;
  for (let j = 0; j < n; j++) if (t.inode[rowAt(rows, j)] === 0) unowned++;
  let owned: number | null = null;
  const w = t.owners;
  if (w) {
    owned = 0;
    for (let j = 0; j < n; j++) if (w.owner[rowAt(rows, j)] !== 0) owned++;
  }
  const top = topRows(req.by, t, users, rows)
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, req.limit);
  return {
    states: maskNames(states),
    by: req.by,
    total: n,
    owned,
    unowned,
    unattributed: owned === null ? null : n - owned - unowned,
    unreadableProcesses: w ? w.unreadable : null,
    shared: w ? w.shared : null,
    rows: top,
    tookMs: tookMs(),
  };
}
