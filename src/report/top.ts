/**
 * The top-N report: groups the sockets of a table by one of the groupings
 * (./groupings.ts: process, command, peer, peer address, local port, user,
 * cgroup), ranks the rows, and counts what has no owner as that grouping
 * counts it.
 * A report covers every row of the table, or only the rows a sampler picks
 * (the rows in its attributed states).
 */
import type { RawDumpInfo, RawTable } from '../core/raw';
import { OWNER_SOURCE } from '../core/sources';
import { cgroupRow, GROUPINGS, type Labels } from './groupings';
import type { Request } from '../request/options';
import { maskNames, stateNumber, type StateName } from '../request/states';
import type { CgroupStateRow, TopReport } from '../types';

export type { Labels };

const rowCount = (t: RawTable, rows: Uint32Array | undefined) => (rows ? rows.length : t.size);
const rowAt = (rows: Uint32Array | undefined, j: number) => (rows ? rows[j]! : j);

/**
 * The report for a request's table (or for the given rows of it; the states
 * it names are `states`, default the request's); tookMs is the caller's to
 * fill in.
 */
export function topReport(
  req: Request,
  t: RawTable & RawDumpInfo,
  labels: Labels,
  tookMs: () => number,
  rows?: Uint32Array,
  states: number = req.raw.states,
): TopReport {
  const n = rowCount(t, rows);
  const grouping = GROUPINGS[req.by];
  let unowned = 0;
  for (let j = 0; j < n; j++) if (grouping.unowned(t, rowAt(rows, j))) unowned++;
  let owned: number | null = null;
  const w = t.owners;
  if (w) {
    owned = 0;
    for (let j = 0; j < n; j++) if (w.owner[rowAt(rows, j)] !== 0) owned++;
  }
  const top = grouping
    .rows(t, labels, rows)
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
    procHidden: w && OWNER_SOURCE[w.source].seesOnlyListedProcesses ? req.procHidden : null,
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
export function cgroupRowsByState(
  t: RawTable,
  mask: number,
  limit: number,
  labels: Labels,
): { rows: CgroupStateRow[]; noCgroup: Partial<Record<StateName, number>> } {
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
    if (!m) perState.set(s, (m = new Map<bigint, number>()));
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
