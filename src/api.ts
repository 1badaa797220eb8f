/**
 * The public library calls: countStates, topProcesses, snapshot and
 * topCgroupsByState, each with an async form (the kernel work and the file
 * look-ups run off the event loop) and a Sync form. Each is the same three
 * steps: check the options (options.ts), run (runner.ts; all-netns.ts for
 * every namespace), shape the result (counts.ts, top.ts, table.ts). The run
 * and the shaping are written once per call, as steps (core/lookup.ts) that
 * runAsync or runSync drives, so the two forms cannot disagree.
 */
import { allNetns, type PerNetns } from './core/all-netns';
import { all, runAsync, runSync, type Check } from './core/lookup';
import { cgroupIds, cgroupLabelsSteps } from './report/cgroup-names';
import { stateCounts } from './report/counts';
import { TcpcensusError } from './errors';
import type { RawCountResult, RawSampleResult } from './core/raw';
import { checking, type Call, type Request } from './request/options';
import * as runner from './core/runner';
import { maskNames, type StatesOf } from './request/states';
import { SocketTable } from './report/table';
import { GROUPINGS } from './report/groupings';
import { cgroupRowsByState, topReport, type Labels } from './report/top';
import type {
  AllNetnsOption,
  CgroupStateOptions,
  CgroupStateReport,
  CountOptions,
  NetnsSnapshot,
  NetnsStateCounts,
  NetnsStateCountsOf,
  NetnsTopReport,
  SnapshotOptions,
  StateCounts,
  StateCountsOf,
  TopOptions,
  TopReport,
} from './types';
import { userNamesSteps } from './report/users';

const clock = () => {
  const start = process.hrtime.bigint();
  return () => Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10;
};

type AllNetns = AllNetnsOption;
// A flag known only at run time: either shape.
type EitherNetns = { allNetns: boolean };

// ---- shaping per-namespace results ----

function sumCounts(req: Request, per: PerNetns<RawCountResult>, took: () => number): NetnsStateCounts {
  const namespaces = per.namespaces.map(({ netns, result, tookMs }) => ({ netns, ...stateCounts(req.raw.states, result, () => tookMs) }));
  const states: StateCounts['states'] = {};
  for (const name of maskNames(req.raw.states)) {
    // A state some namespace could not show has no honest sum.
    if (!namespaces.every((n) => n.states[name] !== undefined)) continue;
    states[name] = namespaces.reduce((sum, n) => sum + n.states[name]!, 0);
  }
  const families = { ipv4: 0, ipv6: 0 };
  for (const n of namespaces) {
    families.ipv4 += n.families.ipv4;
    families.ipv6 += n.families.ipv6;
  }
  return {
    total: families.ipv4 + families.ipv6,
    states,
    families,
    namespaces,
    skipped: per.skipped.length,
    skippedNamespaces: per.skipped,
    unreadableProcesses: per.unreadableProcesses,
    tookMs: took(),
  };
}

// One call, either way: its options checked, then its steps, all run
// awaited (off the event loop) or blocking, from this one definition.
function* calling<T>(call: Call, options: unknown, steps: (req: Request, took: () => number) => Check<T>): Check<T> {
  const took = clock();
  return yield* steps(yield* checking(call, options), took);
}

// ---- countStates ----

function* counting(req: Request, took: () => number): Check<StateCounts | NetnsStateCounts> {
  if (req.allNetns) return sumCounts(req, yield* allNetns(req, runner.countSteps), took);
  return stateCounts(req.raw.states, yield* runner.countSteps(req), took);
}

/** Counts TCP sockets by state. Touches /proc only when pids is given (or allNetns, to find the namespaces). */
// The result is typed by the states asked for (StatesOf): counts.states.CLOSE_WAIT
// is a number when CLOSE_WAIT was asked for.
type Counting<S> = Omit<CountOptions, 'states'> & { states?: S };
export async function countStates<const S extends readonly string[] | undefined = undefined>(
  options: Counting<S> & AllNetns,
): Promise<NetnsStateCountsOf<StatesOf<S>>>;
export async function countStates<const S extends readonly string[] | undefined = undefined>(
  options: Counting<S> & EitherNetns,
): Promise<StateCountsOf<StatesOf<S>> | NetnsStateCountsOf<StatesOf<S>>>;
export async function countStates<const S extends readonly string[] | undefined = undefined>(
  options?: Counting<S>,
): Promise<StateCountsOf<StatesOf<S>>>;
export async function countStates(options?: CountOptions & Partial<EitherNetns>): Promise<StateCounts | NetnsStateCounts> {
  return runAsync(calling('countStates', options, counting));
}

export function countStatesSync<const S extends readonly string[] | undefined = undefined>(
  options: Counting<S> & AllNetns,
): NetnsStateCountsOf<StatesOf<S>>;
export function countStatesSync<const S extends readonly string[] | undefined = undefined>(
  options: Counting<S> & EitherNetns,
): StateCountsOf<StatesOf<S>> | NetnsStateCountsOf<StatesOf<S>>;
export function countStatesSync<const S extends readonly string[] | undefined = undefined>(options?: Counting<S>): StateCountsOf<StatesOf<S>>;
export function countStatesSync(options?: CountOptions & Partial<EitherNetns>): StateCounts | NetnsStateCounts {
  return runSync(calling('countStates', options, counting));
}

// ---- topProcesses ----

// By cgroup needs the ids the kernel tags sockets with: /proc/net/tcp has
// none (a forced procfs source is refused with the options; this is auto
// falling back), nor has a kernel before 5.7.
function needCgroupIds(t: RawSampleResult): void {
  if (t.source === 'procfs') {
    throw new TcpcensusError(
      `cannot group by cgroup: NETLINK_SOCK_DIAG was refused (${t.sourceFallback}) and /proc/net/tcp has no cgroup ids`,
      'ERR_TCPCENSUS_UNSUPPORTED',
    );
  }
  if (t.missing.includes('cgroupId')) {
    throw new TcpcensusError(
      'cannot group by cgroup: the kernel sent no cgroup ids (INET_DIAG_CGROUP_ID: Linux 5.7+ with CONFIG_SOCK_CGROUP_DATA)',
      'ERR_TCPCENSUS_UNSUPPORTED',
    );
  }
}

function* labelsFor(req: Request, t: RawSampleResult, users: Map<number, string> | undefined): Check<Labels> {
  if (GROUPINGS[req.by].labels !== 'cgroups' && req.call !== 'topCgroupsByState') return { users };
  needCgroupIds(t);
  return { cgroups: yield* cgroupLabelsSteps(cgroupIds(t.cgroupId, t.size)) };
}

function netnsTop(req: Request, namespaces: NetnsTopReport['namespaces'], per: PerNetns<unknown>, took: () => number): NetnsTopReport {
  return {
    states: maskNames(req.raw.states),
    by: req.by,
    total: namespaces.reduce((n, r) => n + r.total, 0),
    namespaces,
    skipped: per.skipped.length,
    skippedNamespaces: per.skipped,
    unreadableProcesses: per.unreadableProcesses,
    tookMs: took(),
  };
}

// Only a grouping that names users reads /etc/passwd.
function* usersFor(req: Request): Check<Map<number, string> | undefined> {
  return GROUPINGS[req.by].labels === 'users' ? yield* userNamesSteps() : undefined;
}

// /etc/passwd is read while the kernel dumps (awaited). Each table's columns
// are freed once its report is built (the report holds no column): now, not
// at V8's next collection, by the Sync form too.
function* topping(req: Request, took: () => number): Check<TopReport | NetnsTopReport> {
  if (!req.allNetns) {
    const [t, names] = yield* all(runner.sampleSteps(req), usersFor(req));
    const report = topReport(req, t, yield* labelsFor(req, t, names), took);
    runner.release(t);
    return report;
  }
  const [per, names] = yield* all(allNetns(req, runner.sampleSteps), usersFor(req));
  const namespaces: NetnsTopReport['namespaces'] = [];
  for (const { netns, result, tookMs } of per.namespaces) {
    namespaces.push({ netns, ...topReport(req, result, yield* labelsFor(req, result, names), () => tookMs) });
    runner.release(result);
  }
  return netnsTop(req, namespaces, per, took);
}

/** The processes (or commands, peers, ports, users, cgroups) holding the most sockets in the given states. */
export async function topProcesses(options: TopOptions & AllNetns): Promise<NetnsTopReport>;
export async function topProcesses(options: TopOptions & EitherNetns): Promise<TopReport | NetnsTopReport>;
export async function topProcesses(options?: TopOptions): Promise<TopReport>;
export async function topProcesses(options?: TopOptions & Partial<EitherNetns>): Promise<TopReport | NetnsTopReport> {
  return runAsync(calling('topProcesses', options, topping));
}

export function topProcessesSync(options: TopOptions & AllNetns): NetnsTopReport;
export function topProcessesSync(options: TopOptions & EitherNetns): TopReport | NetnsTopReport;
export function topProcessesSync(options?: TopOptions): TopReport;
export function topProcessesSync(options?: TopOptions & Partial<EitherNetns>): TopReport | NetnsTopReport {
  return runSync(calling('topProcesses', options, topping));
}

// ---- snapshot ----

function netnsTables(per: PerNetns<RawSampleResult>, took: () => number, procHidden: string | null): NetnsSnapshot {
  return {
    namespaces: per.namespaces.map(({ netns, result }) => ({ netns, table: new SocketTable(result, procHidden) })),
    skipped: per.skipped.length,
    skippedNamespaces: per.skipped,
    unreadableProcesses: per.unreadableProcesses,
    tookMs: took(),
  };
}

function* snapshotting(req: Request, took: () => number): Check<SocketTable | NetnsSnapshot> {
  if (req.allNetns) return netnsTables(yield* allNetns(req, runner.sampleSteps), took, req.procHidden);
  return new SocketTable(yield* runner.sampleSteps(req), req.procHidden);
}

/** Every matching socket as a columnar table, optionally with owners. */
export async function snapshot(options: SnapshotOptions & AllNetns): Promise<NetnsSnapshot>;
export async function snapshot(options: SnapshotOptions & EitherNetns): Promise<SocketTable | NetnsSnapshot>;
export async function snapshot(options?: SnapshotOptions): Promise<SocketTable>;
export async function snapshot(options?: SnapshotOptions & Partial<EitherNetns>): Promise<SocketTable | NetnsSnapshot> {
  return runAsync(calling('snapshot', options, snapshotting));
}

export function snapshotSync(options: SnapshotOptions & AllNetns): NetnsSnapshot;
export function snapshotSync(options: SnapshotOptions & EitherNetns): SocketTable | NetnsSnapshot;
export function snapshotSync(options?: SnapshotOptions): SocketTable;
export function snapshotSync(options?: SnapshotOptions & Partial<EitherNetns>): SocketTable | NetnsSnapshot {
  return runSync(calling('snapshot', options, snapshotting));
}

// ---- topCgroupsByState ----

function* cgroupReport(req: Request, took: () => number): Check<CgroupStateReport> {
  const t = yield* runner.sampleSteps(req);
  const { rows, noCgroup } = cgroupRowsByState(t, req.raw.states, req.limit, yield* labelsFor(req, t, undefined));
  return { states: maskNames(req.raw.states), rows, noCgroup, source: t.source, sourceFallback: t.sourceFallback, tookMs: took() };
}

/**
 * For each state, the cgroups holding the most sockets in it (`limit` per
 * state, default 10), from one dump and no /proc walk: the rows of the
 * exporter's tcpcensus_cgroup_sockets{state,cgroup}. Works unprivileged.
 */
export async function topCgroupsByState(options?: CgroupStateOptions): Promise<CgroupStateReport> {
  return runAsync(calling('topCgroupsByState', options, cgroupReport));
}

export function topCgroupsByStateSync(options?: CgroupStateOptions): CgroupStateReport {
  return runSync(calling('topCgroupsByState', options, cgroupReport));
}
