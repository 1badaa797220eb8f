/**
 * Options to a request: every library call hands its options here once, and
 * the CLI's flags become the same options (cli/flags.ts), so the two follow
 * one set of rules. Each option's own check is its entry in the option
 * table (./option-table.ts); here are the reading of the caller's object,
 * the defaults and the rules that join options (build), and the rules that
 * need the system (systemChecks: procRoot is a procfs mount, each pid exists
 * and shares the network namespace looked in, the netns exists, each cgroup
 * exists and gives its id to the kernel filter), written once and run
 * blocking or on the libuv pool (core/lookup.ts). What comes back is a
 * Request: the native request the runner sends, plus what stays in
 * JavaScript (pids to keep, progress, grouping, limit).
 *
 * The calls that sample over time (createSampler, registerMetrics and the
 * CLI's serve) take the filters too, and options of their own: how often,
 * which states to find owners for, how many rows; their Request carries a
 * Sampling part with those.
 */
import { andPrograms, compileCgroupFilter } from './cgroup-filter';
import { cgroup2Mount } from './cgroup-mount';
import { OptionError, opt, optValue } from '../errors';
import { compileFilter } from './filter';
import { errnoOf, errnoText, readFile, readlink, runAsync, stat, statBig, statfs, type Check } from '../core/lookup';
import { FAMILY_IPV4, FAMILY_IPV6, type RawSampleOptions } from '../core/raw';
import { OWNER_SOURCE } from '../core/sources';
import { DEFAULT_MASK, stateNumber } from './states';
import { cut, shown } from '../common/escape';
import { procHidden } from './proc-mount';
import { closest } from '../common/suggest';
import { DEFAULT_PORT, KEYS, OPTIONS, SAMPLING, type Call, type Key, type Listen, type Progress, type Values } from './option-table';
import { GROUPINGS } from '../report/groupings';
import type { FamilyOption, OwnerSourceOption, TopBy } from '../types';

export { DEFAULT_PORT, INT_MAX, OWNER_SOURCES, type Call, type Listen, type Progress } from './option-table';

const FAMILIES: Record<FamilyOption, number> = { ipv4: FAMILY_IPV4, ipv6: FAMILY_IPV6, all: FAMILY_IPV4 | FAMILY_IPV6 };

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

const PROC_SUPER_MAGIC = 0x9fa0; // statfs(2)
const PROC_ROOT_INO = 1; // the root directory of every procfs mount

type Parsed = Partial<Values>;

// ---- options -> request ----

// The caller's object as a plain copy of its own enumerable properties, read
// once: nothing comes through the prototype chain (Object.prototype.states
// set by someone else must not narrow our dump), and a getter or Proxy runs
// here, where what it throws becomes an OptionError.
function checkObject(options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new OptionError(`options must be an object, got ${shown(options)}`);
  const own: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let key = '';
  try {
    for (key of Object.keys(options)) own[key] = (options as Record<string, unknown>)[key];
  } catch (e) {
    throw new OptionError(
      key === '' ? 'options could not be read (their keys threw)' : `${key} could not be read: reading it threw`,
      key || undefined,
    );
  }
  return own;
}

function validKeys(call: Call): Key[] {
  return KEYS.filter((k) => OPTIONS[k].calls.includes(call));
}

// A misspelt key must not be ignored: { state: [...] } would count everything.
function checkKeys(call: Call, o: Record<string, unknown>): void {
  for (const key of Object.keys(o)) {
    const spec = Object.hasOwn(OPTIONS, key) && OPTIONS[key as Key].calls.length > 0 ? OPTIONS[key as Key] : undefined;
    if (spec?.calls.includes(call)) continue;
    const valid = validKeys(call);
    if (spec) {
      const why = spec.notHere?.(call);
      throw new OptionError(`${opt(key)} does not apply to ${call}${why ? ` (${why})` : ''}; valid options: ${valid.join(', ')}`, key);
    }
    const near = closest(key, valid);
    throw new OptionError(`unknown option ${shown(key)} for ${call}${near ? ` (did you mean ${near}?)` : ''}; valid options: ${valid.join(', ')}`);
  }
}

// Every bad value is an OptionError naming its key: a check that meets a
// value it did not foresee (a Proxy, a throwing toString) must not leak that
// value's own error, and a shared parser's error is re-keyed to this option.
function checkOne<K extends Key>(key: K, o: Record<string, unknown>, into: Parsed): void {
  if (!Object.hasOwn(o, key) || o[key] === undefined) return;
  const v = o[key];
  try {
    into[key] = OPTIONS[key].check(v);
  } catch (e) {
    if (!(e instanceof OptionError)) throw new OptionError(`${opt(key)} is not a valid value: ${shown(v)}`, key);
    throw e.option === key ? e : e.rekeyed(key);
  }
}

function parse(call: Call, options: unknown): Parsed {
  const o = checkObject(options);
  checkKeys(call, o);
  // No prototype: an option not given reads undefined, whatever Object.prototype holds.
  const parsed = Object.create(null) as Parsed;
  for (const key of validKeys(call)) checkOne(key, o, parsed);
  return parsed;
}

const CLOSE_WAIT_MASK = 1 << stateNumber('CLOSE_WAIT');

// The options that cannot go together.
function joinRules(call: Call, p: Parsed, by: TopBy): void {
  if (p.allNetns && p.netns !== undefined) {
    throw new OptionError(
      `${opt('allNetns')} cannot be combined with ${opt('netns')}: ${opt('allNetns')} already looks in every namespace`,
      'allNetns',
    );
  }
  if (p.allNetns && p.pids) {
    throw new OptionError(
      `${opt('pids')} cannot be combined with ${opt('allNetns')}: a process's sockets are in its own namespace; give ${optValue('netns', 'pid:PID')} instead`,
      'pids',
    );
  }
  // /proc/net/tcp carries no cgroup ids: nothing to group or filter by.
  const grouping = call === 'topCgroupsByState' || (call === 'topProcesses' && by === 'cgroup');
  if (p.source === 'procfs' && (grouping || p.cgroup)) {
    throw new OptionError(
      `${opt('source')} "procfs" cannot ${grouping ? 'group sockets by cgroup' : 'filter by cgroup'}: /proc/net/tcp has no cgroup ids; use ${opt('source')} auto or netlink`,
      'source',
    );
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
  const owners = p.pids !== undefined || (call === 'topProcesses' && GROUPINGS[by].needsOwners) || (call === 'snapshot' && p.processes === true);
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
  const req: Request = {
    call,
    raw,
    pids: p.pids,
    onProgress: p.onProgress,
    by,
    limit: p.limit ?? 10,
    allNetns: p.allNetns === true,
    cgroups: p.cgroup,
    procHidden: null,
  };
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
  return s !== undefined && s.top && (req.call !== 'createSampler' || GROUPINGS[req.by].needsOwners);
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
    new OptionError(`${opt('procRoot')} ${shown(root)} ${why}; give the directory procfs is mounted on, e.g. /proc or /host/proc`, 'procRoot');
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
      throw new OptionError(
        `${opt('netns')} ${shown(spec)}: ${cut(path)} is not a namespace file (such as /var/run/netns/NAME or /proc/PID/ns/net)`,
        'netns',
      );
    }
    return;
  }
  if (st.error.code !== 'ENOENT') return;
  const why = spec.startsWith('pid:')
    ? `no such process (no /proc/${spec.slice(4)})`
    : spec.includes('/')
      ? `no such file (${cut(path)})`
      : `no network namespace of that name (no ${cut(path)})`;
  throw new OptionError(
    `${opt('netns')} ${shown(spec)}: ${why}; ip netns list shows the named ones, tcpcensus states --all-netns every one`,
    'netns',
  );
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
    throw new OptionError(
      `${opt('cgroup')}: no cgroup2 filesystem is mounted (none in /proc/mounts), so there is no cgroup ${shown(paths[0])} to filter by`,
      'cgroup',
    );
  }
  const ids: bigint[] = [];
  for (const given of paths) {
    const under = given === mount || given.startsWith(`${mount}/`);
    const rel = under ? given.slice(mount.length) : given.startsWith('/') ? given : `/${given}`;
    const dir = `${mount}${rel}`.replace(/\/+$/, '') || '/';
    const fail = (why: string) =>
      new OptionError(
        `${opt('cgroup')} ${shown(given)}: ${why}; give a path relative to the cgroup2 mount ${mount}, ` +
          'as /proc/PID/cgroup shows it (0::/system.slice/nginx.service), or a directory under it',
        'cgroup',
      );
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
  if (!st.ok && st.error.code === 'ENOENT') throw new OptionError(`${opt('pids')} ${pid}: no such process (no ${cut(dir)})`, 'pids');
  if (ours === undefined) return;
  // Unreadable (another user's process, not root): the walk will refuse it.
  const ns = yield* readlink(`${dir}/ns/net`);
  if (ns.ok && ns.value !== ours) {
    throw new OptionError(
      `${opt('pids')} ${pid} lives in network namespace ${ns.value}, not in ${ours} where tcpcensus looks, ` +
        `so none of its sockets would be seen; look in that namespace with ${optValue('netns', `pid:${pid}`)}`,
      'pids',
    );
  }
}

function* systemChecks(req: Request, procRootGiven: boolean): Check<void> {
  const root = req.raw.procRoot ?? '/proc';
  if (procRootGiven || req.raw.owners || samplesOwners(req)) yield* checkProcfs(root);
  // Only a source that lists processes through procfs is blind to hidden ones: a forced other source never reads the mount table.
  const forced = req.raw.ownerSource === undefined || req.raw.ownerSource === 'auto' ? undefined : OWNER_SOURCE[req.raw.ownerSource];
  if ((req.raw.owners || samplesOwners(req)) && (forced?.seesOnlyListedProcesses ?? true)) req.procHidden = yield* procHidden(root);
  if (req.raw.netns !== undefined) yield* checkNetns(req.raw.netns);
  if (req.pids) {
    const ours = yield* dumpNetns(root, req.raw.netns);
    for (const pid of req.pids) yield* checkPid(root, pid, ours);
  }
  if (req.cgroups) yield* checkCgroups(req, req.cgroups);
}

/** Checks a call's options, as steps: run awaited, the system checks go off the event loop (core/lookup.ts). */
export function* checking(call: Call, options: unknown): Check<Request> {
  const req = buildRequest(call, options);
  yield* systemChecks(req, req.raw.procRoot !== undefined);
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
