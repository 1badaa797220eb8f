/**
 * Options: the one place user input is checked and turned into a request.
 * Every library call hands its options here once, and the CLI's flags come
 * through flagOptions into the same options, so the two follow one set of
 * rules. What comes back is a Request: the native request the runner sends,
 * plus what stays in JavaScript (pids to keep, progress, grouping, limit).
 *
 * Each option is one entry in ENTRIES: which calls take it and how its value
 * is checked. build() holds the defaults and the rules that join options;
 * systemChecks() the rules that need the system (procRoot is a procfs mount,
 * each pid exists and shares the network namespace looked in, the netns
 * exists, each cgroup exists and gives its id to the kernel filter),
 * written once and run blocking or on the libuv pool (lookup.ts).
 *
 * The calls that sample over time (createSampler, registerMetrics and the
 * CLI's serve) take the filters too, and options of their own: how often,
 * which states to find owners for, how many rows; their Request carries a
 * Sampling part with those.
 */
import { andPrograms, compileCgroupFilter } from './cgroup-filter';
import { cgroup2Mount } from './cgroup-mount';
import { parseDuration } from './duration';
import { OptionError } from '../errors';
import { compileFilter, ipFamily, parsePortRange, parsePrefix, type PortRange, type Prefix } from './filter';
import { errnoOf, errnoText, readFile, readlink, runAsync, runSync, stat, statBig, statfs, type Check } from '../core/lookup';
import { FAMILY_IPV4, FAMILY_IPV6, MAX_THREADS, type RawSampleOptions, type RawSource } from '../core/raw';
import { DEFAULT_MASK, parseStates, stateNumber } from './states';
import { cut, shown } from '../common/escape';
import { procHidden } from './proc-mount';
import { closest } from '../common/suggest';
import { TOP_BY, type FamilyOption, type MetricsOptions, type OwnerSourceOption, type SamplerOptions, type SnapshotOptions, type TopBy, type TopOptions } from '../types';

export type Call = 'countStates' | 'topProcesses' | 'snapshot' | 'topCgroupsByState' | 'createSampler' | 'registerMetrics' | 'serve';

export const OWNER_SOURCES: readonly OwnerSourceOption[] = ['auto', 'bpf', 'proc'];

/** An address and port to listen on. */
export interface Listen {
  host: string;
  port: number;
}

/** The exporter's default port (README, "Port"): outside the fully allocated 9100-9999 and the ephemeral range. */
export const DEFAULT_PORT = 10469;

/** What a sampling call adds to its Request. */
export interface Sampling {
  /** createSampler: milliseconds between samples. */
  intervalMs: number;
  /** A full owner attribution every this many samples (1: every sample). */
  fullEvery: number;
  ownerSource: OwnerSourceOption;
  /** Mask of the states whose owners are looked up (top rows, per-owner metrics). */
  attributed: number;
  /** createSampler: top rows asked for (processes or by). */
  top: boolean;
  /** registerMetrics, serve: rows per attributed state. */
  topCommands: number;
  topProcesses: number;
  /** registerMetrics, serve: a scrape reuses a sample taken less than this ago. */
  minIntervalMs: number;
  /** serve */
  listen: Listen;
  requestTimeoutMs: number;
}
export type Progress = (walked: number, total: number) => void;

/** A checked request: what the runner sends to the kernel and what stays in JS. */
export interface Request {
  call: Call;
  raw: RawSampleOptions;
  /** Only the sockets these processes hold (the walk reads only them). */
  pids: Int32Array | undefined;
  onProgress: Progress | undefined;
  by: TopBy;
  limit: number;
  /** Every network namespace, one dump each (raw.netns is then unset). */
  allNetns: boolean;
  /** The cgroup paths of the kernel filter, as given; systemChecks adds their ids to raw.bytecode. */
  cgroups: string[] | undefined;
  /** The sampling calls' own options. */
  sampling?: Sampling;
  /** Set by the system checks when owners are looked up: the procfs option hiding other users' processes (proc-mount.ts), else null. */
  procHidden: string | null;
}

/** Counts and ids the caller gives must fit a C int. */
export const INT_MAX = 2 ** 31 - 1;
const PROC_SUPER_MAGIC = 0x9fa0; // statfs(2)
const PROC_ROOT_INO = 1; // the root directory of every procfs mount

/** The checked value of each option. */
interface Values {
  states: number;
  family: FamilyOption;
  sport: PortRange;
  dport: PortRange;
  src: Prefix;
  dst: Prefix;
  source: RawSource;
  netns: string;
  allNetns: boolean;
  cgroup: string[];
  pids: Int32Array;
  owners: OwnerSourceOption;
  threads: number;
  procRoot: string;
  onProgress: Progress;
  maxSockets: number;
  limit: number;
  by: TopBy;
  processes: boolean;
  interval: number;
  fullEvery: number;
  ownerStates: number;
  top: number;
  topProcesses: number;
  minInterval: number;
  listen: Listen;
  requestTimeout: number;
}
type Parsed = Partial<Values>;

interface Entry<V> {
  /** The calls that take this option. */
  calls: readonly Call[];
  /** Checks a given value (never undefined); returns it checked. */
  check(value: unknown): V;
}

const ONCE: readonly Call[] = ['countStates', 'topProcesses', 'snapshot'];
const METRICS: readonly Call[] = ['registerMetrics', 'serve'];
const SAMPLING: readonly Call[] = ['createSampler', ...METRICS];
// The one-shot calls: every option of a socket dump and its owners.
const EVERY: readonly Call[] = ONCE;
// The socket filters: every call; topCgroupsByState walks no /proc, and the
// samplers look in one namespace.
const FILTERS: readonly Call[] = [...ONCE, 'topCgroupsByState', ...SAMPLING];
// countStates keeps no rows, so it has nothing for maxSockets to bound.
const KEEPS_ROWS: readonly Call[] = ['topProcesses', 'snapshot', 'topCgroupsByState', ...SAMPLING];
const FAMILIES: Record<FamilyOption, number> = { ipv4: FAMILY_IPV4, ipv6: FAMILY_IPV6, all: FAMILY_IPV4 | FAMILY_IPV6 };

const ENTRIES: { [K in keyof Values]: Entry<Values[K]> } = {
  states: { calls: [...ONCE, 'topCgroupsByState', 'createSampler'], check: (v) => parseStates(v as string[]) },
  family: { calls: FILTERS, check: (v) => oneOf(v, Object.keys(FAMILIES) as FamilyOption[], 'family', 'family', 'valid families') },
  sport: { calls: FILTERS, check: (v) => parsePortRange(v, 'sport') },
  dport: { calls: FILTERS, check: (v) => parsePortRange(v, 'dport') },
  src: { calls: FILTERS, check: (v) => parsePrefix(v, 'src') },
  dst: { calls: FILTERS, check: (v) => parsePrefix(v, 'dst') },
  source: { calls: FILTERS, check: (v) => oneOf(v, ['auto', 'netlink', 'procfs'] as const, 'source', 'socket source', 'valid') },
  netns: { calls: FILTERS, check: netnsSpec },
  allNetns: { calls: EVERY, check: (v) => ofType(v, 'boolean', 'allNetns', 'true or false') },
  cgroup: { calls: FILTERS, check: cgroupPaths },
  pids: { calls: EVERY, check: pidArray },
  owners: { calls: [...EVERY, ...SAMPLING], check: (v) => oneOf(v, OWNER_SOURCES, 'owners', 'owner source', 'valid') },
  threads: { calls: [...EVERY, ...SAMPLING], check: (v) => integer('threads', v, 1, MAX_THREADS) },
  procRoot: { calls: [...EVERY, ...SAMPLING], check: (v) => ofType(v, 'string', 'procRoot', 'a directory path') },
  onProgress: { calls: ONCE, check: (v) => ofType(v, 'function', 'onProgress', 'a function') as Progress },
  maxSockets: { calls: KEEPS_ROWS, check: (v) => integer('maxSockets', v, 1, INT_MAX) },
  limit: { calls: ['topProcesses', 'topCgroupsByState', 'createSampler'], check: (v) => integer('limit', v, 1, INT_MAX) },
  by: { calls: ['topProcesses', 'createSampler'], check: (v) => oneOf(v, TOP_BY, 'by', 'grouping', 'valid') },
  processes: { calls: ['snapshot', 'createSampler'], check: (v) => ofType(v, 'boolean', 'processes', 'true or false') },
  interval: { calls: ['createSampler'], check: (v) => parseDuration(v, 'interval', 10) },
  fullEvery: { calls: SAMPLING, check: (v) => integer('fullEvery', v, 1, INT_MAX) },
  ownerStates: { calls: METRICS, check: (v) => parseStates(v as string[]) },
  top: { calls: METRICS, check: (v) => integer('top', v, 1, 10000) },
  topProcesses: { calls: METRICS, check: (v) => integer('topProcesses', v, 0, 10000) },
  minInterval: { calls: METRICS, check: (v) => parseDuration(v, 'minInterval', 0) },
  listen: { calls: ['serve'], check: parseListen },
  requestTimeout: { calls: ['serve'], check: (v) => parseDuration(v, 'requestTimeout', 1) },
};

/** Why an option some call takes does not apply to another. */
const NOT_HERE: Partial<Record<keyof Values, (call: Call) => string | undefined>> = {
  maxSockets: (call) => (call === 'countStates' ? 'it keeps no rows, so there is nothing to bound' : undefined),
  pids: (call) => (SAMPLING.includes(call) ? 'a sampler watches every process' : undefined),
  states: (call) => (METRICS.includes(call) ? 'the metrics count every state; ownerStates picks the states whose owners are counted' : undefined),
};

// ---- value rules ----


function integer(key: string, v: unknown, lo: number, hi: number): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi) return v;
  throw new OptionError(`${key} must be an integer from ${lo} to ${hi}, got ${shown(v)}`, key);
}

// CLI text: checked as text, so the message quotes it as typed (a number
// conversion would turn 9007199254740993 into ...992 first).
function integerText(key: string, text: string, lo: number, hi: number): number {
  if (/^\d{1,10}$/.test(text) && Number(text) >= lo && Number(text) <= hi) return Number(text);
  throw new OptionError(`${key} must be an integer from ${lo} to ${hi}, got ${shown(text)}`, key);
}

function oneOf<T extends string>(v: unknown, valid: readonly T[], key: string, noun: string, label: string): T {
  if (typeof v === 'string' && (valid as readonly string[]).includes(v)) return v as T;
  const near = typeof v === 'string' ? closest(v, valid) : undefined;
  throw new OptionError(`unknown ${noun} ${shown(v)}${near ? ` (did you mean ${near}?)` : ''}; ${label}: ${valid.join(', ')}`, key);
}

function ofType<T>(v: unknown, type: 'string' | 'function' | 'boolean', key: string, what: string): T {
  if (typeof v === type && v !== '') return v as T;
  throw new OptionError(`${key} must be ${what}`, key);
}

// As the addon resolves it (native/sockets/netns.h): pid:PID, a path with a
// '/', or a name under /var/run/netns. Checked here so a typo is exit 2.
function netnsSpec(v: unknown): string {
  const fail = () => new OptionError(`netns ${shown(v)} is not a namespace name (letters, digits, '.', '_', '-'), a path such as /proc/1234/ns/net, or pid:PID`, 'netns');
  if (typeof v !== 'string' || v === '') throw fail();
  if (v.startsWith('pid:')) {
    const pid = v.slice(4);
    if (!/^\d{1,10}$/.test(pid) || Number(pid) < 1 || Number(pid) > INT_MAX) throw fail();
    return v;
  }
  if (v.includes('/')) return v;
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(v) || v === '.' || v === '..') throw fail();
  return v;
}

function cgroupPaths(v: unknown): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((p) => typeof p === 'string' && p !== '' && !p.includes('\0'))) {
    throw new OptionError(`cgroup must be a cgroup path such as /system.slice/nginx.service, or a non-empty array of them, got ${shown(v)}`, 'cgroup');
  }
  return list as string[];
}

function pidArray(v: unknown): Int32Array {
  if (!Array.isArray(v) || v.length === 0) throw new OptionError(`pids must be a non-empty array of process ids, got ${shown(v)}`, 'pids');
  for (const p of v) integer('pids', p, 1, INT_MAX);
  return Int32Array.from(v as number[]);
}

// "127.0.0.1:10469", "[::1]:10469", "10469" (loopback); any other address
// only when it is written out: listening beyond loopback is a choice.
function parseListen(v: unknown): Listen {
  const fail = () => new OptionError(`listen must be PORT, ADDRESS:PORT or [IPv6]:PORT with a port from 0 to 65535, e.g. 127.0.0.1:${DEFAULT_PORT}, got ${shown(v)}`, 'listen');
  if (typeof v !== 'string') throw fail();
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):)?(\d{1,5})$/.exec(v.trim());
  if (!m || Number(m[2]) > 65535) throw fail();
  const host = m[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '');
  if (host !== 'localhost' && ipFamily(host) === undefined) throw fail();
  if (host.includes(':') !== (m[1]?.startsWith('[') ?? false)) throw fail();
  return { host, port: Number(m[2]) };
}

// ---- options -> request ----

// The caller's object as a plain copy of its own enumerable properties, read
// once: nothing comes through the prototype chain (Object.prototype.states
// set by someone else must not narrow our dump), and a getter or Proxy runs
// here, where what it throws becomes an OptionError.
function checkObject(options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new OptionError(`options must be an object, got ${shown(options)}`);
  const own: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let key = '';
  try {
    for (key of Object.keys(options)) own[key] = (options as Record<string, unknown>)[key];
  } catch (e) {
    throw new OptionError(key === '' ? 'options could not be read (their keys threw)' : `${key} could not be read: reading it threw`, key || undefined);
  }
  return own;
}

function validKeys(call: Call): string[] {
  return (Object.keys(ENTRIES) as Array<keyof Values>).filter((k) => ENTRIES[k].calls.includes(call));
}

// A misspelt key must not be ignored: { state: [...] } would count everything.
function checkKeys(call: Call, o: Record<string, unknown>): void {
  for (const key of Object.keys(o)) {
    const entry = Object.prototype.hasOwnProperty.call(ENTRIES, key) ? ENTRIES[key as keyof Values] : undefined;
    if (entry?.calls.includes(call)) continue;
    const valid = validKeys(call);
    if (entry) {
      const why = NOT_HERE[key as keyof Values]?.(call);
      throw new OptionError(`${key} does not apply to ${call}${why ? ` (${why})` : ''}; valid options: ${valid.join(', ')}`, key);
    }
    const near = closest(key, valid);
    throw new OptionError(`unknown option ${shown(key)} for ${call}${near ? ` (did you mean ${near}?)` : ''}; valid options: ${valid.join(', ')}`);
  }
}

// Every bad value is an OptionError naming its key: a check that meets a
// value it did not foresee (a Proxy, a throwing toString) must not leak that
// value's own error, and a shared parser's error is re-keyed to this option.
function checkOne<K extends keyof Values>(key: K, o: Record<string, unknown>, into: Parsed): void {
  if (!Object.prototype.hasOwnProperty.call(o, key) || o[key] === undefined) return;
  const v = o[key];
  try {
    into[key] = ENTRIES[key].check(v);
  } catch (e) {
    if (!(e instanceof OptionError)) throw new OptionError(`${key} is not a valid value: ${shown(v)}`, key);
    if (e.option === key) throw e;
    const message = e.option !== undefined && e.message.startsWith(e.option) ? key + e.message.slice(e.option.length) : e.message;
    throw new OptionError(message, key);
  }
}

function parse(call: Call, options: unknown): Parsed {
  const o = checkObject(options);
  checkKeys(call, o);
  // No prototype: an option not given reads undefined, whatever Object.prototype holds.
  const parsed = Object.create(null) as Parsed;
  for (const key of Object.keys(ENTRIES) as Array<keyof Values>) checkOne(key, o, parsed);
  return parsed;
}

const CLOSE_WAIT_MASK = 1 << stateNumber('CLOSE_WAIT');
const NEEDS_OWNERS: ReadonlySet<TopBy> = new Set(['process', 'command']);

// The options that cannot go together.
function joinRules(call: Call, p: Parsed, by: TopBy): void {
  if (p.allNetns && p.netns !== undefined) {
    throw new OptionError('allNetns cannot be combined with netns: allNetns already looks in every namespace', 'allNetns');
  }
  if (p.allNetns && p.pids) {
    throw new OptionError('pids cannot be combined with allNetns: a process\'s sockets are in its own namespace; give netns "pid:PID" instead', 'pids');
  }
  // /proc/net/tcp carries no cgroup ids: nothing to group or filter by.
  const grouping = call === 'topCgroupsByState' || (call === 'topProcesses' && by === 'cgroup');
  if (p.source === 'procfs' && (grouping || p.cgroup)) {
    throw new OptionError(`source "procfs" cannot ${grouping ? 'group sockets by cgroup' : 'filter by cgroup'}: /proc/net/tcp has no cgroup ids; use source auto or netlink`, 'source');
  }
}

function build(call: Call, p: Parsed): Request {
  const family = p.family ?? 'all';
  // An IPv4 prefix still matches IPv4-mapped IPv6 sockets; the reverse cannot match.
  if (family === 'ipv4' && (p.src?.family === 'ipv6' || p.dst?.family === 'ipv6')) {
    throw new OptionError('an IPv6 src/dst filter cannot match with family ipv4 (-4)', 'family');
  }
  const by = call === 'topCgroupsByState' ? 'cgroup' : (p.by ?? 'process');
  joinRules(call, p, by);
  const owners = p.pids !== undefined || (call === 'topProcesses' && NEEDS_OWNERS.has(by)) || (call === 'snapshot' && p.processes === true);
  const raw: RawSampleOptions = {
    families: FAMILIES[family],
    states: p.states ?? (call === 'topProcesses' ? CLOSE_WAIT_MASK : DEFAULT_MASK),
    owners,
    threads: p.threads ?? 0, // 0: the addon takes the number of cores
  };
  const bytecode = compileFilter({ sport: p.sport, dport: p.dport, src: p.src, dst: p.dst });
  if (bytecode) raw.bytecode = bytecode;
  if (p.pids) raw.pids = p.pids;
  if (p.procRoot !== undefined) raw.procRoot = p.procRoot;
  if (p.maxSockets !== undefined) raw.maxSockets = p.maxSockets;
  if (p.source !== undefined) raw.source = p.source;
  if (p.netns !== undefined) raw.netns = p.netns;
  if (owners) raw.ownerSource = p.owners ?? 'auto';
  const req: Request = { call, raw, pids: p.pids, onProgress: p.onProgress, by, limit: p.limit ?? 10, allNetns: p.allNetns === true, cgroups: p.cgroup, procHidden: null };
  if (SAMPLING.includes(call)) req.sampling = sampling(call, p, req);
  return req;
}

// A sampler counts every state (so the histogram, the deltas and the
// metrics are whole) and looks up owners only for the attributed states:
// `states` for createSampler, `ownerStates` for the metrics, CLOSE_WAIT by
// default.
function sampling(call: Call, p: Parsed, req: Request): Sampling {
  const attributed = (call === 'createSampler' ? p.states : p.ownerStates) ?? CLOSE_WAIT_MASK;
  const top = call === 'createSampler' ? p.processes === true || p.by !== undefined : true;
  const ownerSource = p.owners ?? 'auto';
  req.raw.states = DEFAULT_MASK | attributed;
  req.raw.owners = false; // the sampler asks for owners itself, only for what it does not know
  req.raw.ownerSource = ownerSource;
  return {
    intervalMs: p.interval ?? 1000,
    fullEvery: p.fullEvery ?? 60,
    ownerSource,
    attributed,
    top,
    topCommands: p.top ?? 20,
    topProcesses: p.topProcesses ?? 10,
    minIntervalMs: p.minInterval ?? 1000,
    listen: p.listen ?? { host: '127.0.0.1', port: DEFAULT_PORT },
    requestTimeoutMs: p.requestTimeout ?? 10_000,
  };
}

/** Whether a sampling request looks up owners at all. */
export function samplesOwners(req: Request): boolean {
  const s = req.sampling;
  return s !== undefined && s.top && (req.call !== 'createSampler' || NEEDS_OWNERS.has(req.by));
}

// ---- rules that need the system ----

const describe = (e: NodeJS.ErrnoException) => {
  const { code, message } = errnoText(errnoOf(e));
  return `${e.syscall ?? 'a file-system call'} failed: ${message} (${code})`;
};

// A wrong procRoot would read as "every process unreadable": refuse anything
// but the root of a procfs mount (/proc/self is procfs too, but not its root).
function* checkProcfs(root: string): Check<void> {
  const fail = (why: string) =>
    new OptionError(`procRoot ${shown(root)} ${why}; give the directory procfs is mounted on, e.g. /proc or /host/proc`, 'procRoot');
  const fs = yield* statfs(root);
  if (!fs.ok) throw fail(`cannot be used: ${describe(fs.error)}`);
  if (fs.value.type !== PROC_SUPER_MAGIC) throw fail(`is not a procfs mount (filesystem type 0x${fs.value.type.toString(16)})`);
  const st = yield* stat(root);
  if (!st.ok) throw fail(`cannot be used: ${describe(st.error)}`);
  if (st.value.ino !== PROC_ROOT_INO) throw fail('is inside a procfs mount, not its root');
}

/** The file a netns spec opens, as the addon resolves it (pid:PID is always under /proc). */
export function netnsPath(spec: string): string {
  if (spec.startsWith('pid:')) return `/proc/${spec.slice(4)}/ns/net`;
  return spec.includes('/') ? spec : `/var/run/netns/${spec}`;
}

// The namespace named by the netns option must exist: a typo is exit 2,
// naming it and where to find the right one. What else goes wrong (EACCES,
// not a namespace file) the addon names with its system call.
function* checkNetns(spec: string): Check<void> {
  const path = netnsPath(spec);
  const st = yield* stat(path);
  if (st.ok) {
    // Every namespace file is on the one nsfs filesystem, ours too.
    const ours = yield* stat('/proc/self/ns/net');
    if (ours.ok && st.value.dev !== ours.value.dev) {
      throw new OptionError(`netns ${shown(spec)}: ${cut(path)} is not a namespace file (such as /var/run/netns/NAME or /proc/PID/ns/net)`, 'netns');
    }
    return;
  }
  if (st.error.code !== 'ENOENT') return;
  const why = spec.startsWith('pid:') ? `no such process (no /proc/${spec.slice(4)})`
    : spec.includes('/') ? `no such file (${cut(path)})` : `no network namespace of that name (no ${cut(path)})`;
  throw new OptionError(`netns ${shown(spec)}: ${why}; ip netns list shows the named ones, tcpcensus states --all-netns every one`, 'netns');
}

// The network namespace the dump sees, as net:[INODE]: the netns option's,
// else this process's (under procRoot when this process is visible there,
// else in our own /proc).
function* dumpNetns(root: string, spec: string | undefined): Check<string | undefined> {
  if (spec !== undefined) {
    const st = yield* stat(netnsPath(spec));
    return st.ok ? `net:[${st.value.ino}]` : undefined;
  }
  for (const path of [`${root}/self/ns/net`, '/proc/self/ns/net']) {
    const ns = yield* readlink(path);
    if (ns.ok) return ns.value;
  }
  return undefined;
}

const CGROUP2_SUPER_MAGIC = 0x63677270; // statfs(2)

// Each cgroup path to its id (the inode of its directory on the cgroup2
// mount), and the kernel filter on those ids AND-ed onto the others, as ss
// compiles `cgroup PATH`. A path is taken as ss prints it (relative to the
// mount: /system.slice/x.service) or as a path under the mount.
function* checkCgroups(req: Request, paths: string[]): Check<void> {
  const mounts = yield* readFile('/proc/mounts');
  const mount = mounts.ok ? cgroup2Mount(mounts.value) : undefined;
  if (mount === undefined) {
    throw new OptionError(`cgroup: no cgroup2 filesystem is mounted (none in /proc/mounts), so there is no cgroup ${shown(paths[0])} to filter by`, 'cgroup');
  }
  const ids: bigint[] = [];
  for (const given of paths) {
    const under = given === mount || given.startsWith(`${mount}/`);
    const rel = under ? given.slice(mount.length) : given.startsWith('/') ? given : `/${given}`;
    const dir = `${mount}${rel}`.replace(/\/+$/, '') || '/';
    const fail = (why: string) => new OptionError(`cgroup ${shown(given)}: ${why}; give a path relative to the cgroup2 mount ${mount}, ` +
      'as /proc/PID/cgroup shows it (0::/system.slice/nginx.service), or a directory under it', 'cgroup');
    const st = yield* statBig(dir);
    if (!st.ok) throw fail(st.error.code === 'ENOENT' ? `no such cgroup (no ${cut(dir)})` : `cannot be used: ${describe(st.error)}`);
    if (!st.value.isDirectory()) throw fail(`${cut(dir)} is not a directory`);
    const fs = yield* statfs(dir);
    if (fs.ok && fs.value.type !== CGROUP2_SUPER_MAGIC) throw fail(`${cut(dir)} is not on the cgroup2 mount`);
    if (!ids.includes(st.value.ino)) ids.push(st.value.ino);
  }
  req.raw.bytecode = andPrograms(req.raw.bytecode, compileCgroupFilter(ids));
}

function* checkPid(root: string, pid: number, ours: string | undefined): Check<void> {
  const dir = `${root}/${pid}`;
  const st = yield* stat(dir);
  if (!st.ok && st.error.code === 'ENOENT') throw new OptionError(`pids ${pid}: no such process (no ${cut(dir)})`, 'pids');
  if (ours === undefined) return;
  // Unreadable (another user's process, not root): the walk will refuse it.
  const ns = yield* readlink(`${dir}/ns/net`);
  if (ns.ok && ns.value !== ours) {
    throw new OptionError(`pids ${pid} lives in network namespace ${ns.value}, not in ${ours} where tcpcensus looks, ` +
      `so none of its sockets would be seen; look in that namespace with netns "pid:${pid}"`, 'pids');
  }
}

function* systemChecks(req: Request, procRootGiven: boolean): Check<void> {
  const root = req.raw.procRoot ?? '/proc';
  if (procRootGiven || req.raw.owners || samplesOwners(req)) yield* checkProcfs(root);
  // Only the walk is blind to hidden processes: owners 'bpf' never reads the mount table.
  if ((req.raw.owners || samplesOwners(req)) && req.raw.ownerSource !== 'bpf') req.procHidden = yield* procHidden(root);
  if (req.raw.netns !== undefined) yield* checkNetns(req.raw.netns);
  if (req.pids) {
    const ours = yield* dumpNetns(root, req.raw.netns);
    for (const pid of req.pids) yield* checkPid(root, pid, ours);
  }
  if (req.cgroups) yield* checkCgroups(req, req.cgroups);
}

/** Checks a call's options; the system checks run off the event loop. */
export async function checkOptions(call: Call, options: unknown): Promise<Request> {
  const req = buildRequest(call, options);
  await checkSystem(req);
  return req;
}

export function checkOptionsSync(call: Call, options: unknown): Request {
  const req = buildRequest(call, options);
  runSync(systemChecks(req, req.raw.procRoot !== undefined));
  return req;
}

/** The rules that need no system look-up: a call's options as a Request, or an OptionError. */
export function buildRequest(call: Call, options: unknown): Request {
  return build(call, parse(call, options));
}

/** The rules that need the system (procRoot is a procfs mount, pids exist), off the event loop. */
export async function checkSystem(req: Request): Promise<void> {
  await runAsync(systemChecks(req, req.raw.procRoot !== undefined));
}

// ---- the CLI's flags ----

/** The CLI's flags as commander hands them over: text, as typed. */
export interface Flags {
  state?: string[];
  ipv4?: boolean;
  ipv6?: boolean;
  sport?: string;
  dport?: string;
  src?: string;
  dst?: string;
  pid?: string;
  threads?: string;
  proc?: string;
  maxSockets?: string;
  limit?: string;
  by?: string;
  processes?: boolean;
  source?: string;
  owners?: string;
  netns?: string;
  allNetns?: boolean;
  cgroup?: string[];
  interval?: string;
  fullEvery?: string;
  ownerStates?: string[];
  top?: string;
  topProcesses?: string;
  minInterval?: string;
  listen?: string;
  requestTimeout?: string;
}

/** Every option a flag can set; each command passes on the ones its call takes. */
export type FlagOptions = TopOptions & SnapshotOptions & SamplerOptions & MetricsOptions & {
  allNetns?: boolean;
  listen?: string;
  requestTimeout?: string;
};

function pidText(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0 || !parts.every((p) => /^\d{1,10}$/.test(p) && Number(p) >= 1 && Number(p) <= INT_MAX)) {
    throw new OptionError(`pids takes process ids such as 1234 or 1234,5678, got ${shown(text)}`, 'pids');
  }
  return parts.map(Number);
}

/** watch --count: how many samples before it stops (a CLI flag, no library option). */
export function countFlag(text: string): number {
  return integerText('count', text, 1, INT_MAX);
}

/**
 * Library options from CLI flags. Numbers are checked here, on the text;
 * everything else goes on as given and is checked with the library's options.
 */
export function flagOptions(f: Flags): FlagOptions {
  const o: FlagOptions = {};
  if (f.state) o.states = f.state;
  if (f.ipv4 && !f.ipv6) o.family = 'ipv4';
  if (f.ipv6 && !f.ipv4) o.family = 'ipv6';
  if (f.sport !== undefined) o.sport = f.sport;
  if (f.dport !== undefined) o.dport = f.dport;
  if (f.src !== undefined) o.src = f.src;
  if (f.dst !== undefined) o.dst = f.dst;
  if (f.pid !== undefined) o.pids = pidText(f.pid);
  if (f.threads !== undefined) o.threads = integerText('threads', f.threads, 1, MAX_THREADS);
  if (f.proc !== undefined) o.procRoot = f.proc;
  if (f.maxSockets !== undefined) o.maxSockets = integerText('maxSockets', f.maxSockets, 1, INT_MAX);
  if (f.limit !== undefined) o.limit = integerText('limit', f.limit, 1, INT_MAX);
  if (f.by !== undefined) o.by = f.by as TopBy; // checked with the library's options
  if (f.processes) o.processes = true;
  if (f.source !== undefined) o.source = f.source as RawSource; // checked with the library's options
  if (f.owners !== undefined) o.owners = f.owners as OwnerSourceOption; // likewise
  if (f.netns !== undefined) o.netns = f.netns; // likewise
  if (f.allNetns) o.allNetns = true;
  if (f.cgroup) o.cgroup = f.cgroup;
  if (f.interval !== undefined) o.interval = f.interval; // durations too
  if (f.fullEvery !== undefined) o.fullEvery = integerText('fullEvery', f.fullEvery, 1, INT_MAX);
  if (f.ownerStates) o.ownerStates = f.ownerStates;
  if (f.top !== undefined) o.top = integerText('top', f.top, 1, 10000);
  if (f.topProcesses !== undefined) o.topProcesses = integerText('topProcesses', f.topProcesses, 0, 10000);
  if (f.minInterval !== undefined) o.minInterval = f.minInterval;
  if (f.listen !== undefined) o.listen = f.listen;
  if (f.requestTimeout !== undefined) o.requestTimeout = f.requestTimeout;
  return o;
}
