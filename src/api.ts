/**
 * The public library: countStates, topProcesses and snapshot, each with an
 * async form (the kernel work runs on the libuv pool) and a Sync form.
 * Each call is split into "check the options and build the native request"
 * and "shape the native result", shared by both forms.
 */
import { performance } from 'node:perf_hooks';
import { OptionError } from './errors';
import { FAMILY_IPV4, FAMILY_IPV6, native, type RawCounts, type RawSampleOptions, type RawTable } from './native';
import { DEFAULT_MASK, maskNames, parseStates, stateNumber, type StateName } from './states';
import { SocketTable } from './table';

export type FamilyOption = 'ipv4' | 'ipv6' | 'all';

export interface CountOptions {
  /** State names or groups (netstat or ss spelling). Default: every state but CLOSE. */
  states?: string[];
  family?: FamilyOption;
}

export interface TopOptions {
  /** Default ['CLOSE_WAIT']. */
  states?: string[];
  /** Rows to return, default 10. */
  limit?: number;
  family?: FamilyOption;
  /** Threads for the /proc walk, 1..8; default the number of cores. */
  threads?: number;
}

export interface SnapshotOptions {
  states?: string[];
  family?: FamilyOption;
  /** Also find the owning process of each socket (walks /proc). */
  processes?: boolean;
  threads?: number;
}

export interface StateCounts {
  total: number;
  /** Every requested state, zeros included, in state-number order. */
  states: Record<string, number>;
  families: { ipv4: number; ipv6: number };
  source: 'netlink';
  tookMs: number;
}

export interface ProcessRow {
  /** The pid as text. */
  key: string;
  pid: number;
  command: string;
  cmdline: string;
  count: number;
}

export interface TopReport {
  states: StateName[];
  by: 'process';
  total: number;
  /** Held by a process that was read. */
  owned: number;
  /** Held by no process (inode 0): TIME_WAIT, orphans, request sockets. */
  unowned: number;
  /** Held, but the owner could not be read or is gone. */
  unattributed: number;
  unreadableProcesses: number;
  shared: number;
  rows: ProcessRow[];
  tookMs: number;
}

const FAMILIES: Record<FamilyOption, number> = {
  ipv4: FAMILY_IPV4,
  ipv6: FAMILY_IPV6,
  all: FAMILY_IPV4 | FAMILY_IPV6,
};

function checkObject(opts: unknown): Record<string, unknown> {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new OptionError('options must be an object');
  }
  return opts as Record<string, unknown>;
}

function parseFamily(v: unknown): number {
  if (v === undefined) return FAMILIES.all;
  if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(FAMILIES, v)) {
    return FAMILIES[v as FamilyOption];
  }
  throw new OptionError(`unknown family "${String(v)}"; valid families: ${Object.keys(FAMILIES).join(', ')}`);
}

function parseLimit(v: unknown): number {
  if (v === undefined) return 10;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
  throw new OptionError(`limit must be a positive integer, got ${JSON.stringify(v)}`);
}

function parseThreads(v: unknown): number {
  if (v === undefined) return 0; // the addon picks the number of cores
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= native.maxThreads) return v;
  throw new OptionError(`threads must be an integer from 1 to ${native.maxThreads}, got ${JSON.stringify(v)}`);
}

function statesOption(v: unknown, fallback: number): number {
  if (v !== undefined && !Array.isArray(v)) {
    throw new OptionError('states must be an array of state names, e.g. ["CLOSE_WAIT"]');
  }
  return parseStates(v as string[] | undefined, fallback);
}

const elapsed = (start: number) => Math.round((performance.now() - start) * 10) / 10;

// ---- countStates ----

function countRequest(options: CountOptions | undefined) {
  const o = checkObject(options);
  return { families: parseFamily(o.family), states: statesOption(o.states, DEFAULT_MASK) };
}

function countResult(mask: number, raw: RawCounts, start: number): StateCounts {
  const states: Record<string, number> = {};
  let ipv4 = 0;
  let ipv6 = 0;
  for (const name of maskNames(mask)) {
    const n = stateNumber(name);
    const v4 = raw.ipv4[n]!;
    const v6 = raw.ipv6[n]!;
    states[name] = v4 + v6;
    ipv4 += v4;
    ipv6 += v6;
  }
  return { total: ipv4 + ipv6, states, families: { ipv4, ipv6 }, source: 'netlink', tookMs: elapsed(start) };
}

/** Counts TCP sockets by state. Never touches /proc. */
export async function countStates(options?: CountOptions): Promise<StateCounts> {
  const start = performance.now();
  const req = countRequest(options);
  return countResult(req.states, await native.count(req), start);
}

export function countStatesSync(options?: CountOptions): StateCounts {
  const start = performance.now();
  const req = countRequest(options);
  return countResult(req.states, native.countSync(req), start);
}

// ---- topProcesses ----

const CLOSE_WAIT_MASK = 1 << stateNumber('CLOSE_WAIT');

function topRequest(options: TopOptions | undefined) {
  const o = checkObject(options);
  const req: RawSampleOptions = {
    families: parseFamily(o.family),
    states: statesOption(o.states, CLOSE_WAIT_MASK),
    owners: true,
    threads: parseThreads(o.threads),
  };
  return { req, limit: parseLimit(o.limit) };
}

function topResult(mask: number, limit: number, raw: RawTable, start: number): TopReport {
  const owners = raw.owners!;
  let unowned = 0;
  let owned = 0;
  const { inode } = raw;
  const { owner } = owners;
  for (let i = 0; i < raw.size; i++) {
    if (inode[i] === 0) unowned++;
    else if (owner[i] !== 0) owned++;
  }
  const rows = owners.processes
    .slice()
    .sort((a, b) => b.sockets - a.sockets || a.pid - b.pid)
    .slice(0, limit)
    .map((p) => ({ key: String(p.pid), pid: p.pid, command: p.comm, cmdline: p.cmdline, count: p.sockets }));
  return {
    states: maskNames(mask),
    by: 'process',
    total: raw.size,
    owned,
    unowned,
    unattributed: raw.size - owned - unowned,
    unreadableProcesses: owners.unreadable,
    shared: owners.shared,
    rows,
    tookMs: elapsed(start),
  };
}

/** The processes holding the most sockets in the given states (default CLOSE_WAIT). */
export async function topProcesses(options?: TopOptions): Promise<TopReport> {
  const start = performance.now();
  const { req, limit } = topRequest(options);
  return topResult(req.states, limit, await native.sample(req), start);
}

export function topProcessesSync(options?: TopOptions): TopReport {
  const start = performance.now();
  const { req, limit } = topRequest(options);
  return topResult(req.states, limit, native.sampleSync(req), start);
}

// ---- snapshot ----

function snapshotRequest(options: SnapshotOptions | undefined): RawSampleOptions {
  const o = checkObject(options);
  if (o.processes !== undefined && typeof o.processes !== 'boolean') {
    throw new OptionError('processes must be true or false');
  }
  return {
    families: parseFamily(o.family),
    states: statesOption(o.states, DEFAULT_MASK),
    owners: o.processes === true,
    threads: parseThreads(o.threads),
  };
}

/** Every matching socket as a columnar table, optionally with owners. */
export async function snapshot(options?: SnapshotOptions): Promise<SocketTable> {
  return new SocketTable(await native.sample(snapshotRequest(options)));
}

export function snapshotSync(options?: SnapshotOptions): SocketTable {
  return new SocketTable(native.sampleSync(snapshotRequest(options)));
}
