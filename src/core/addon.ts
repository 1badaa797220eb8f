/**
 * The one loader of the C++ addon (native/binding/). It types the raw
 * binding (what `require` hands back is cast to that type here, and only
 * here) and turns the addon's system errors into SystemError. Everything else imports from this module, never the .node file.
 */
import { join } from 'node:path';
import { packageRoot } from './package-root';
import { COLUMNS } from './columns';
import type {
  DumpHandle,
  ProgressHandle,
  RawBatch,
  RawCgroupPaths,
  RawCgroupPathsOptions,
  RawCountResult,
  RawDumpOptions,
  RawFindOptions,
  RawFound,
  RawNetnsList,
  RawSampleOptions,
  RawSampleResult,
} from './raw';
import { MAX_THREADS } from './raw';
import { isErrorCode, LimitError, SystemError, TcpcensusError } from '../errors';

interface RawBinding {
  count: (opts: RawDumpOptions) => Promise<RawCountResult>;
  countSync: (opts: RawDumpOptions) => RawCountResult;
  sample: (opts: RawSampleOptions) => Promise<RawSampleResult>;
  sampleSync: (opts: RawSampleOptions) => RawSampleResult;
  cgroupPaths: (opts?: RawCgroupPathsOptions) => Promise<RawCgroupPaths>;
  cgroupPathsSync: (opts?: RawCgroupPathsOptions) => RawCgroupPaths;
  listNetns: (opts?: { procRoot?: string }) => Promise<RawNetnsList>;
  listNetnsSync: (opts?: { procRoot?: string }) => RawNetnsList;
  findOwners: (opts: RawFindOptions) => Promise<RawFound>;
  findOwnersSync: (opts: RawFindOptions) => RawFound;
  startTimes: (opts: { pids: Int32Array; procRoot?: string }) => Promise<Float64Array>;
  startTimesSync: (opts: { pids: Int32Array; procRoot?: string }) => Float64Array;
  /** A dump to read in batches; nothing is read until the first nextBatch. keepStates as for sample. */
  openDump: (opts: RawDumpOptions & { keepStates?: number }) => DumpHandle;
  /** The next rows (at least `rows` unless the dump ends), read on the libuv pool; one at a time per handle. */
  nextBatch: (handle: DumpHandle, rows: number) => Promise<RawBatch>;
  /** Ends the dump now, or once the batch being read is in. */
  closeDump: (handle: DumpHandle) => void;
  newProgress: () => ProgressHandle;
  readProgress: (handle: ProgressHandle) => [done: number, total: number];
  /** Frees the given buffers now if the addon adopted them (detaching them); returns how many it freed. */
  release: (buffers: ArrayBuffer[]) => number;
  __failNext: (what: 'none' | 'run' | 'convert' | 'external') => void;
  columns: Array<{ name: string; bytes: number; width: number }>;
  defaultThreads: number;
  maxThreads: number;
}

// node-gyp builds build/Release (build/Debug with --debug). Those two paths
// are tried directly: the `bindings` package probes about a dozen layouts
// with a stat each, 2.7 ms of the CLI's start-up budget here.
function load(): unknown {
  const root = packageRoot();
  const tried: string[] = [];
  for (const build of ['Release', 'Debug']) {
    const file = join(root, 'build', build, 'tcpcensus.node');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
      tried.push(file);
    }
  }
  throw new TcpcensusError(`the tcpcensus addon is not built (looked for ${tried.join(' and ')}); run npm run build:native`, 'ERR_TCPCENSUS_ADDON');
}

const raw = load() as RawBinding;

// A stale build of the addon next to newer TypeScript would hand over
// columns under other names or widths: refuse it here, once, not as garbage
// rows later.
for (const [i, [name, [Ctor, width]]] of Object.entries(COLUMNS).entries()) {
  const c = raw.columns[i];
  if (!c || c.name !== name || c.bytes !== Ctor.BYTES_PER_ELEMENT || c.width !== width) {
    throw new TcpcensusError(
      `the tcpcensus addon's columns do not match this version (column ${name}); rebuild it with npm run build:native`,
      'ERR_TCPCENSUS_ADDON',
    );
  }
}
if (raw.maxThreads !== MAX_THREADS) {
  throw new TcpcensusError(
    `the tcpcensus addon's thread bound (${raw.maxThreads}) does not match this version (${MAX_THREADS}); rebuild it with npm run build:native`,
    'ERR_TCPCENSUS_ADDON',
  );
}
if (raw.columns.length !== Object.keys(COLUMNS).length) {
  throw new TcpcensusError(
    'the tcpcensus addon has more columns than this version knows; rebuild it with npm run build:native',
    'ERR_TCPCENSUS_ADDON',
  );
}

// The addon throws plain objects and Errors with these own fields set.
interface AddonError {
  message?: unknown;
  syscall?: unknown;
  errno?: unknown;
  code?: unknown;
  path?: unknown;
  pid?: unknown;
}

function convert(thrown: unknown): unknown {
  if (!thrown || typeof thrown !== 'object') return thrown;
  const err = thrown as AddonError;
  const message = String(err.message);
  if (typeof err.syscall === 'string' && typeof err.errno === 'number') {
    const extra: { path?: string; pid?: number } = {};
    if (typeof err.path === 'string') extra.path = err.path;
    if (typeof err.pid === 'number') extra.pid = err.pid;
    return new SystemError(message, err.syscall, err.errno, String(err.code), extra);
  }
  if (err.code === 'ERR_TCPCENSUS_MAX_SOCKETS') return new LimitError(message);
  if (isErrorCode(err.code)) return new TcpcensusError(message, err.code);
  if (typeof err.code === 'string' && err.code.startsWith('ERR_TCPCENSUS')) return new TcpcensusError(message, 'ERR_TCPCENSUS_INTERNAL');
  return thrown;
}

function sync<A, R>(fn: (a: A) => R): (a: A) => R {
  return (a) => {
    try {
      return fn(a);
    } catch (err) {
      throw convert(err);
    }
  };
}

function async<A, R>(fn: (a: A) => Promise<R>): (a: A) => Promise<R> {
  return (a) =>
    fn(a).catch((err: unknown) => {
      throw convert(err);
    });
}

export const native = {
  count: async(raw.count),
  countSync: sync(raw.countSync),
  sample: async(raw.sample),
  sampleSync: sync(raw.sampleSync),
  cgroupPaths: async((o?: RawCgroupPathsOptions) => raw.cgroupPaths(o)),
  cgroupPathsSync: sync((o?: RawCgroupPathsOptions) => raw.cgroupPathsSync(o)),
  listNetns: async((o?: { procRoot?: string }) => raw.listNetns(o)),
  listNetnsSync: sync((o?: { procRoot?: string }) => raw.listNetnsSync(o)),
  findOwners: async(raw.findOwners),
  findOwnersSync: sync(raw.findOwnersSync),
  startTimes: async(raw.startTimes),
  startTimesSync: sync(raw.startTimesSync),
  openDump: sync((o: RawDumpOptions & { keepStates?: number }) => raw.openDump(o)),
  nextBatch: (h: DumpHandle, rows: number) =>
    raw.nextBatch(h, rows).catch((err: unknown) => {
      throw convert(err);
    }),
  closeDump: (h: DumpHandle) => raw.closeDump(h),
  newProgress: () => raw.newProgress(),
  readProgress: (h: ProgressHandle) => raw.readProgress(h),
  release: (buffers: ArrayBuffer[]) => raw.release(buffers),
  /** Tests only: make the next call fail at one stage (see native/binding/errors.h). */
  failNext: (what: 'none' | 'run' | 'convert' | 'external') => raw.__failNext(what),
  defaultThreads: raw.defaultThreads,
  maxThreads: raw.maxThreads,
};
