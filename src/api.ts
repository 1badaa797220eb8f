/**
 * The public library: countStates, topProcesses and snapshot, each with an
 * async form (the kernel work runs on the libuv pool) and a Sync form.
 * Each call is split into "check the options and build the native request"
 * and "shape the native result", shared by both forms, so the two can never
 * disagree.
 */
import { performance } from 'node:perf_hooks';
import { OptionError } from './errors';
import { compileFilter, filterFamilies, parseFilter } from './filter';
import { COLUMNS, FAMILY_IPV4, FAMILY_IPV6, native, type ColumnName, type RawColumns, type RawCounts, type RawSampleOptions, type RawTable } from './native';
import { DEFAULT_MASK, maskNames, parseStates, stateNumber, type StateName } from './states';
import { formatAddress } from './address';
import { SocketTable } from './table';
import { userNames, userNamesSync } from './users';

export type FamilyOption = 'ipv4' | 'ipv6' | 'all';
export type TopBy = 'process' | 'command' | 'remote' | 'remote-host' | 'local-port' | 'user';
export const TOP_BY: readonly TopBy[] = ['process', 'command', 'remote', 'remote-host', 'local-port', 'user'];

/** Which sockets: all of these are AND-combined and, but for pids, run in the kernel. */
export interface FilterOptions {
  /** State names or groups (netstat or ss spelling). */
  states?: string[];
  family?: FamilyOption;
  /** Local port or range: 80, "80", "1000-2000". */
  sport?: number | string;
  /** Remote port or range. */
  dport?: number | string;
  /** Local address or prefix: "127.0.0.1", "10.0.0.0/8", "fe80::/10". */
  src?: string;
  /** Remote address or prefix. */
  dst?: string;
  /** Only sockets these processes hold; walks only their fd tables. */
  pids?: number[];
}

export interface WalkOptions {
  /** Threads for the /proc walk, 1..8; default the number of cores. */
  threads?: number;
  /**
   * Where procfs is mounted, default "/proc": e.g. "/host/proc" when tcpcensus
   * runs in a container that shares the host's network namespace.
   */
  procRoot?: string;
  /** Called about every 100 ms during the /proc walk (async forms only; the Sync forms ignore it). */
  onProgress?: (walked: number, total: number) => void;
}

/** Default states: every state but CLOSE. */
export type CountOptions = FilterOptions & WalkOptions;

export interface TopOptions extends FilterOptions, WalkOptions {
  /** Default ['CLOSE_WAIT']. */
  states?: string[];
  /** Rows to return, default 10. */
  limit?: number;
  /** Grouping, default 'process'. */
  by?: TopBy;
}

export interface SnapshotOptions extends FilterOptions, WalkOptions {
  /** Also find the owning process of each socket (walks /proc). */
  processes?: boolean;
}

export interface StateCounts {
  total: number;
  /** Every requested state, zeros included, in state-number order. */
  states: Record<string, number>;
  families: { ipv4: number; ipv6: number };
  source: 'netlink';
  tookMs: number;
}

export interface TopRow {
  /** What the row groups by, as text: a pid, a command, "addr:port", an address, a port, a user. */
  key: string;
  count: number;
  /** by process */
  pid?: number;
  /** by process, by command */
  command?: string;
  /** by process */
  cmdline?: string;
  /** by command: how many processes */
  pids?: number;
  /** by user */
  uid?: number;
  user?: string | null;
  /** by remote, remote-host */
  remoteAddress?: string;
  /** by remote */
  remotePort?: number;
  /** by local-port */
  localPort?: number;
}

/** Kept for the shape of by-process rows. */
export type ProcessRow = Required<Pick<TopRow, 'key' | 'pid' | 'command' | 'cmdline' | 'count'>>;

export interface TopReport {
  states: StateName[];
  by: TopBy;
  total: number;
  /**
   * Held by a process that was read. null for groupings that need no owner
   * (remote, remote-host, local-port, user): those skip the /proc walk.
   */
  owned: number | null;
  /** Held by no process (inode 0): TIME_WAIT, orphans, request sockets. */
  unowned: number;
  /** Held, but the owner could not be read or is gone (null without a walk). */
  unattributed: number | null;
  unreadableProcesses: number | null;
  shared: number | null;
  rows: TopRow[];
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

function parseFamily(v: unknown): FamilyOption {
  if (v === undefined) return 'all';
  if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(FAMILIES, v)) return v as FamilyOption;
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

function parseBy(v: unknown): TopBy {
  if (v === undefined) return 'process';
  if (typeof v === 'string' && (TOP_BY as readonly string[]).includes(v)) return v as TopBy;
  throw new OptionError(`unknown grouping "${String(v)}"; valid: ${TOP_BY.join(', ')}`);
}

function parsePids(v: unknown): Int32Array | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || !v.every((p) => Number.isInteger(p) && p > 0 && p <= 0x7fffffff)) {
    throw new OptionError(`pids must be a non-empty array of process ids, got ${JSON.stringify(v)}`);
  }
  return Int32Array.from(v as number[]);
}

function statesOption(v: unknown, fallback: number): number {
  if (v !== undefined && !Array.isArray(v)) {
    throw new OptionError('states must be an array of state names, e.g. ["CLOSE_WAIT"]');
  }
  return parseStates(v as string[] | undefined, fallback);
}

function onProgressOption(v: unknown): ((walked: number, total: number) => void) | undefined {
  if (v === undefined || typeof v === 'function') return v as ((walked: number, total: number) => void) | undefined;
  throw new OptionError('onProgress must be a function');
}

const elapsed = (start: number) => Math.round((performance.now() - start) * 10) / 10;

/** The parts of a request every call shares. */
interface Request {
  raw: RawSampleOptions;
  pids: Int32Array | undefined;
  onProgress: ((walked: number, total: number) => void) | undefined;
}

function buildRequest(o: Record<string, unknown>, defaultStates: number, owners: boolean): Request {
  const family = parseFamily(o.family);
  const spec = parseFilter(o);
  for (const f of filterFamilies(spec)) {
    if (family === 'ipv4' && f === 'ipv6') throw new OptionError('an IPv6 src/dst filter cannot match with family ipv4 (-4)');
  }
  const pids = parsePids(o.pids);
  const raw: RawSampleOptions = {
    families: FAMILIES[family],
    states: statesOption(o.states, defaultStates),
    owners: owners || pids !== undefined,
    threads: parseThreads(o.threads),
  };
  const bytecode = compileFilter(spec);
  if (bytecode) raw.bytecode = bytecode;
  if (pids) raw.pids = pids;
  if (o.procRoot !== undefined) {
    if (typeof o.procRoot !== 'string' || o.procRoot === '') throw new OptionError('procRoot must be a directory path');
    raw.procRoot = o.procRoot;
  }
  return { raw, pids, onProgress: onProgressOption(o.onProgress) };
}

async function runAsync(req: Request): Promise<RawTable> {
  const raw = { ...req.raw };
  let timer: NodeJS.Timeout | undefined;
  if (req.onProgress && raw.owners) {
    const handle = native.newProgress();
    raw.progress = handle;
    const report = req.onProgress;
    timer = setInterval(() => {
      const [walked, total] = native.readProgress(handle);
      if (total > 0) report(walked, total);
    }, 100);
  }
  try {
    return keepPids(req, await native.sample(raw));
  } finally {
    if (timer) clearInterval(timer);
  }
}

function runSync(req: Request): RawTable {
  return keepPids(req, native.sampleSync(req.raw));
}

// With pids, only the rows those processes own are kept (the kernel cannot
// filter by owner). The walk only read those processes, so this is small.
function keepPids(req: Request, t: RawTable): RawTable {
  if (!req.pids) return t;
  const owner = t.owners!.owner;
  const keep: number[] = [];
  for (let i = 0; i < t.size; i++) if (owner[i] !== 0) keep.push(i);
  const pick = <A extends { length: number; [i: number]: number | bigint }>(a: A, width: number): A => {
    const Ctor = a.constructor as new (n: number) => A;
    const out = new Ctor(keep.length * width);
    keep.forEach((row, j) => {
      for (let k = 0; k < width; k++) out[j * width + k] = a[row * width + k]!;
    });
    return out;
  };
  const columns = {} as Record<ColumnName, RawColumns[ColumnName]>;
  for (const [name, [, width]] of Object.entries(COLUMNS) as Array<[ColumnName, (typeof COLUMNS)[ColumnName]]>) {
    columns[name] = pick(t[name], width);
  }
  return { ...(columns as RawColumns), size: keep.length, owners: { ...t.owners!, owner: pick(owner, 1) } };
}

// ---- countStates ----

function countFromTable(t: RawTable): RawCounts {
  const ipv4 = new Float64Array(16);
  const ipv6 = new Float64Array(16);
  for (let i = 0; i < t.size; i++) (t.family[i] === 6 ? ipv6 : ipv4)[t.state[i]!]!++;
  return { ipv4, ipv6 };
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

/** Counts TCP sockets by state. Touches /proc only when pids is given. */
export async function countStates(options?: CountOptions): Promise<StateCounts> {
  const start = performance.now();
  const req = buildRequest(checkObject(options), DEFAULT_MASK, false);
  const counts = req.pids ? countFromTable(await runAsync(req)) : await native.count(req.raw);
  return countResult(req.raw.states, counts, start);
}

export function countStatesSync(options?: CountOptions): StateCounts {
  const start = performance.now();
  const req = buildRequest(checkObject(options), DEFAULT_MASK, false);
  const counts = req.pids ? countFromTable(runSync(req)) : native.countSync(req.raw);
  return countResult(req.raw.states, counts, start);
}

// ---- topProcesses ----

const CLOSE_WAIT_MASK = 1 << stateNumber('CLOSE_WAIT');
const NEEDS_OWNERS: ReadonlySet<TopBy> = new Set(['process', 'command']);

function topRequest(options: TopOptions | undefined) {
  const o = checkObject(options);
  const by = parseBy(o.by);
  const req = buildRequest(o, CLOSE_WAIT_MASK, NEEDS_OWNERS.has(by));
  return { req, by, limit: parseLimit(o.limit) };
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

// Groups rows by a key; returns [count, first row] per group.
function groupRows(t: RawTable, keyOf: (t: RawTable, i: number) => number | string): Array<[number, number]> {
  const groups = new Map<number | string, [number, number]>();
  for (let i = 0; i < t.size; i++) {
    const k = keyOf(t, i);
    const g = groups.get(k);
    if (g) g[0]++;
    else groups.set(k, [1, i]);
  }
  return [...groups.values()];
}

function topRows(by: TopBy, t: RawTable, users: Map<number, string> | undefined): TopRow[] {
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
      return groupRows(t, endpointKey).map(([count, i]) => {
        const addr = formatAddress(t.family[i]!, t.remoteAddr, i);
        const port = t.remotePort[i]!;
        return { key: t.family[i] === 6 ? `[${addr}]:${port}` : `${addr}:${port}`, count, remoteAddress: addr, remotePort: port };
      });
    case 'remote-host':
      return groupRows(t, hostKey).map(([count, i]) => {
        const addr = formatAddress(t.family[i]!, t.remoteAddr, i);
        return { key: addr, count, remoteAddress: addr };
      });
    case 'local-port':
      return groupRows(t, (x, i) => x.localPort[i]!).map(([count, i]) => ({ key: String(t.localPort[i]), count, localPort: t.localPort[i]! }));
    case 'user':
      return groupRows(t, (x, i) => x.uid[i]!).map(([count, i]) => {
        const uid = t.uid[i]!;
        const user = users!.get(uid) ?? null;
        return { key: user ?? String(uid), count, uid, user };
      });
  }
}

function topResult(mask: number, by: TopBy, limit: number, t: RawTable, users: Map<number, string> | undefined, start: number): TopReport {
  let unowned = 0;
  for (let i = 0; i < t.size; i++) if (t.inode[i] === 0) unowned++;
  let owned: number | null = null;
  const w = t.owners;
  if (w) {
    owned = 0;
    for (let i = 0; i < t.size; i++) if (w.owner[i] !== 0) owned++;
  }
  const rows = topRows(by, t, users)
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, limit);
  return {
    states: maskNames(mask),
    by,
    total: t.size,
    owned,
    unowned,
    unattributed: owned === null ? null : t.size - owned - unowned,
    unreadableProcesses: w ? w.unreadable : null,
    shared: w ? w.shared : null,
    rows,
    tookMs: elapsed(start),
  };
}

/** The processes (or commands, peers, ports, users) holding the most sockets in the given states. */
export async function topProcesses(options?: TopOptions): Promise<TopReport> {
  const start = performance.now();
  const { req, by, limit } = topRequest(options);
  const [t, users] = await Promise.all([runAsync(req), by === 'user' ? userNames() : undefined]);
  return topResult(req.raw.states, by, limit, t, users, start);
}

export function topProcessesSync(options?: TopOptions): TopReport {
  const start = performance.now();
  const { req, by, limit } = topRequest(options);
  const t = runSync(req);
  return topResult(req.raw.states, by, limit, t, by === 'user' ? userNamesSync() : undefined, start);
}

// ---- snapshot ----

function snapshotRequest(options: SnapshotOptions | undefined): Request {
  const o = checkObject(options);
  if (o.processes !== undefined && typeof o.processes !== 'boolean') {
    throw new OptionError('processes must be true or false');
  }
  return buildRequest(o, DEFAULT_MASK, o.processes === true);
}

/** Every matching socket as a columnar table, optionally with owners. */
export async function snapshot(options?: SnapshotOptions): Promise<SocketTable> {
  return new SocketTable(await runAsync(snapshotRequest(options)));
}

export function snapshotSync(options?: SnapshotOptions): SocketTable {
  return new SocketTable(runSync(snapshotRequest(options)));
}
