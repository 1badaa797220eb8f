/**
 * The top-N report: groups the sockets of a table by process, command, peer,
 * peer address, local port or user, and counts what has no owner. Sockets
 * held by no process (inode 0: TIME_WAIT, orphans, request sockets) are never
 * put in a process, command or user row (the kernel reports uid 0 for them,
 * which is nobody's): they are the "unowned" count alone. The endpoint
 * groupings describe sockets, not owners, so they count them in their rows.
 * By cgroup, a row is a cgroup id the kernel tagged sockets with, and the
 * "unowned" count is the sockets with no id (the kernel's mini-sockets:
 * TIME_WAIT, request sockets, orphans kept as TIME_WAIT).
 * A report covers every row of the table, or only the rows a sampler picks
 * (the rows in its attributed states).
 */
import { formatAddress } from './address';
import type { CgroupLabel } from './cgroup-names';
import type { RawDumpInfo, RawTable } from '../core/raw';
import type { Request } from '../request/options';
import { maskNames, stateNumber, type StateName } from '../request/states';
import type { CgroupStateRow, TopBy, TopReport, TopRow } from '../types';

/** Names the groupings show: user names (by user), cgroup paths (by cgroup). */
export interface Labels {
  users?: Map<number, string>;
  cgroups?: Map<bigint, CgroupLabel>;
}

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
function groupRows(t: RawTable, rows: Rows, keyOf: (t: RawTable, i: number) => number | string | bigint, skip?: (i: number) => boolean): Array<[number, number]> {
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

function cgroupRow(id: bigint, count: number, labels: Labels): TopRow {
  const l = labels.cgroups!.get(id)!;
  // Key order as documented: what it is, then the count.
  const row: Omit<TopRow, 'count'> = { key: l.path ?? `cgroup id ${id}`, cgroupId: Number(id), path: l.path, name: l.name };
  if (l.unit !== undefined) row.unit = l.unit;
  if (l.containerId !== undefined) row.containerId = l.containerId;
  if (l.podUid !== undefined) row.podUid = l.podUid;
  return { ...row, count };
}

function topRows(by: TopBy, t: RawTable, labels: Labels, rows: Rows): TopRow[] {
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
        const user = labels.users!.get(uid) ?? null;
        return { key: user ?? String(uid), count, uid, user };
      });
    case 'cgroup':
      return groupRows(t, rows, (x, i) => x.cgroupId[i]!, (i) => t.cgroupId[i] === 0n).map(([count, i]) => cgroupRow(t.cgroupId[i]!, count, labels));
  }
}

/**
 * The report for a request's table (or for the given rows of it; the states
 * it names are `states`, default the request's); tookMs is the caller's to
 * fill in.
 */
export function topReport(req: Request, t: RawTable & RawDumpInfo, labels: Labels, tookMs: () => number,
  rows?: Uint32Array, states: number = req.raw.states): TopReport {
  const n = rowCount(t, rows);
  let unowned = 0;
  for (let j = 0; j < n; j++) {
    const i = rowAt(rows, j);
    if (req.by === 'cgroup' ? t.cgroupId[i] === 0n : t.inode[i] === 0) unowned++;
  }
  let owned: number | null = null;
  const w = t.owners;
  if (w) {
    owned = 0;
    for (let j = 0; j < n; j++) if (w.owner[rowAt(rows, j)] !== 0) owned++;
  }
  const top = topRows(req.by, t, labels, rows)
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
    // The eBPF iterator sees every task, whatever procfs lists.
    procHidden: w && w.source === 'proc' ? req.procHidden : null,
    shared: w ? w.shared : null,
    ownerSource: w ? w.source : null,
    ownerFallback: w ? w.fallback : null,
    source: t.source,
    sourceFallback: t.sourceFallback,
    // A top report shows counts of states, not queues, cookies or interfaces.
    unknown: t.missing.filter((m) => m === 'boundInactive'),
    rows: top,
    tookMs: tookMs(),
  };
}

/**
 * For each state in the mask, the `limit` cgroups holding the most of the
 * table's sockets in it (ties by path), and per state the sockets with no
 * cgroup id: what the exporter's tcpcensus_cgroup_sockets{state,cgroup}
 * needs, from one dump.
 */
export function cgroupRowsByState(t: RawTable, mask: number, limit: number, labels: Labels):
  { rows: CgroupStateRow[]; noCgroup: Partial<Record<StateName, number>> } {
  const perState = new Map<number, Map<bigint, number>>();
  const none = new Map<number, number>();
  for (let i = 0; i < t.size; i++) {
    const s = t.state[i]!;
    const id = t.cgroupId[i]!;
    if (id === 0n) {
      none.set(s, (none.get(s) ?? 0) + 1);
      continue;
    }
    let m = perState.get(s);
    if (!m) perState.set(s, (m = new Map()));
    m.set(id, (m.get(id) ?? 0) + 1);
  }
  const rows: CgroupStateRow[] = [];
  const noCgroup: Partial<Record<StateName, number>> = {};
  for (const state of maskNames(mask)) {
    const n = stateNumber(state);
    noCgroup[state] = none.get(n) ?? 0;
    const ranked = [...(perState.get(n) ?? [])]
      .map(([id, count]) => cgroupRow(id, count, labels))
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, limit);
    for (const { key: _key, ...r } of ranked) rows.push({ state, ...r } as CgroupStateRow);
  }
  return { rows, noCgroup };
}
