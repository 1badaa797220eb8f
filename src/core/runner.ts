/**
 * The runner: the one module that calls the addon (./addon). It runs a
 * checked Request on the libuv pool (async) or on this thread (Sync), each
 * call written once as steps (lookup.ts) that either driver runs; it
 * reports walk progress, keeps only the rows of the pids asked for, and
 * refuses to answer for a pid whose fd table it could not read: "none" must
 * mean it looked. It also hands over the addon's other look-ups: the network
 * namespaces there are, the paths of cgroup ids, and for the samplers the raw
 * dump, the owners of given inodes and the start times of given pids, each
 * off the event loop.
 */
import { SystemError } from '../errors';
import { call, errnoText, runAsync, runSync, type Check, type Twin } from './lookup';
import { native } from './addon';
import { COLUMNS, type ColumnName, type RawColumns } from './columns';
import type {
  RawBatch,
  RawCgroupPaths,
  RawCountResult,
  RawDumpOptions,
  RawFindOptions,
  RawFound,
  RawNetnsList,
  RawSampleOptions,
  RawSampleResult,
} from './raw';
import type { Request } from '../request/options';

// With pids, only the rows those processes own are kept (the kernel cannot
// filter by owner). The walk only read those processes, so this is small.
function keepPids(req: Request, t: RawSampleResult): RawSampleResult {
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
  return { ...t, ...(columns as RawColumns), size: keep.length, owners: { ...t.owners!, owner: pick(owner, 1) } };
}

// A pid the caller named but the walk could not read (EACCES/EPERM) or that
// exited before it was read (ENOENT/ESRCH) leaves its sockets unknown: an
// error naming it and the call that failed, never an empty answer.
function refuseUnread(req: Request, t: RawSampleResult): void {
  const o = t.owners;
  if (!req.pids || !o || o.failedPids.length === 0) return;
  const pid = o.failedPids[0]!;
  const errno = o.failedErrnos[0]!;
  const path = `${req.raw.procRoot ?? '/proc'}/${pid}/fd`;
  const { code, message } = errnoText(errno);
  throw new SystemError(`cannot read ${path}: ${message}`, o.failedCalls[0] ?? 'openat', errno, code, { path, pid });
}

async function sampleRaw(req: Request): Promise<RawSampleResult> {
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
    return await native.sample(raw);
  } finally {
    if (timer) clearInterval(timer);
  }
}

/** Rows per batch of a streamed dump: a few hundred KiB of columns, a few MB of output text. */
export const BATCH_ROWS = 2048;

/**
 * The request's rows (no owners) in batches, each read on the libuv pool
 * when the caller asks for it: the kernel holds the rest of the dump
 * meanwhile, so memory is a batch, not the socket count. Every batch is
 * yielded, the last (done) one too even when empty; stopping early closes
 * the dump.
 */
export async function* stream(req: Request, rows = BATCH_ROWS): AsyncGenerator<RawBatch> {
  const handle = native.openDump(req.raw);
  try {
    for (;;) {
      const batch = await native.nextBatch(handle, rows);
      yield batch;
      if (batch.done) return;
    }
  } finally {
    native.closeDump(handle);
  }
}

/**
 * Frees a table's adopted columns now, for a caller that has read all it
 * needs from them (topProcesses, once its rows are built): V8 would free
 * them only when it next collects, which for a service calling often meant
 * many calls' columns held at once. The arrays read as empty afterwards.
 */
export function release(t: RawSampleResult): void {
  const buffers: ArrayBuffer[] = [];
  const add = (o: object | undefined) => {
    for (const v of Object.values(o ?? {})) if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) buffers.push(v.buffer);
  };
  add(t);
  add(t.owners);
  add(t.tally);
  native.release(buffers);
}

// The addon's calls a check makes, each in its two forms (lookup.ts's Twin).
// The pool form of a dump reports walk progress; the blocking form has no
// event loop to report it on.
const dump: Twin<Request, RawSampleResult> = { sync: (req) => native.sampleSync(req.raw), async: sampleRaw };
const counts: Twin<RawDumpOptions, RawCountResult> = { sync: native.countSync, async: native.count };
const netnsList: Twin<{ procRoot?: string }, RawNetnsList> = { sync: native.listNetnsSync, async: native.listNetns };
const cgroupWalk: Twin<BigUint64Array, RawCgroupPaths> = {
  sync: (ids) => native.cgroupPathsSync({ ids }),
  async: (ids) => native.cgroupPaths({ ids }),
};

/** The socket table of a request (owners when it asks for them). */
export function* sampleSteps(req: Request): Check<RawSampleResult> {
  const t = yield* call(dump, req);
  refuseUnread(req, t);
  return keepPids(req, t);
}

export const sample = (req: Request): Promise<RawSampleResult> => runAsync(sampleSteps(req));

function tally(t: RawSampleResult): RawCountResult {
  const ipv4 = new Float64Array(16);
  const ipv6 = new Float64Array(16);
  for (let i = 0; i < t.size; i++) (t.family[i] === 6 ? ipv6 : ipv4)[t.state[i]!]!++;
  return { ipv4, ipv6, source: t.source, sourceFallback: t.sourceFallback, netnsInode: t.netnsInode, missing: t.missing };
}

/** Counts by state; with pids the rows are needed (to keep those pids' sockets), otherwise none are kept. */
export function* countSteps(req: Request): Check<RawCountResult> {
  return req.pids ? tally(yield* sampleSteps(req)) : yield* call(counts, req.raw);
}

export const count = (req: Request): Promise<RawCountResult> => runAsync(countSteps(req));
export const countSync = (req: Request): RawCountResult => runSync(countSteps(req));

/** Every network namespace visible in procRoot's processes and /var/run/netns. */
export function* listNetnsSteps(req: Request): Check<RawNetnsList> {
  return yield* call(netnsList, req.raw.procRoot !== undefined ? { procRoot: req.raw.procRoot } : {});
}

export const listNetns = (req: Request): Promise<RawNetnsList> => runAsync(listNetnsSteps(req));

/** The paths of these cgroup ids, by one walk of the cgroup2 mount. */
export function* cgroupPathsSteps(ids: BigUint64Array): Check<RawCgroupPaths> {
  return yield* call(cgroupWalk, ids);
}

// ---- for the samplers (sampler.ts, owner-cache.ts) ----

/** One dump as the addon gives it: the counts only, or the rows (no owners: a sampler finds those itself). */
export function dumpCounts(raw: RawSampleOptions): Promise<RawCountResult> {
  return native.count(raw);
}

export function dumpRows(raw: RawSampleOptions): Promise<RawSampleResult> {
  return native.sample({ ...raw, owners: false });
}

/**
 * One dump with the owners of the rows in ownerStates (a mask), joined by
 * the addon as topProcesses does: the eBPF iterator runs while the kernel
 * dumps. For a sampler whose owner source is the iterator.
 */
export function dumpRowsWithOwners(raw: RawSampleOptions, ownerStates: number): Promise<RawSampleResult> {
  return native.sample({ ...raw, owners: true, ownerStates });
}

/** Owners of given socket inodes (probes, first pids, claims: see RawFindOptions). */
export function findOwners(opts: RawFindOptions): Promise<RawFound> {
  return native.findOwners(opts);
}

/** Start time (field 22 of /proc/<pid>/stat) of each pid; 0 for one that is gone. */
export function startTimes(pids: Int32Array, procRoot: string | undefined): Promise<Float64Array> {
  return native.startTimes(procRoot === undefined ? { pids } : { pids, procRoot });
}
