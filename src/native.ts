/**
 * The one loader of the C++ addon (native/binding.cc). It types the raw
 * binding and turns the addon's system errors into SystemError; `any` lives
 * only here. Everything else imports from this module, never from `bindings`.
 */
import bindings from 'bindings';
import { LimitError, SystemError, TcpcensusError } from './errors';

export const FAMILY_IPV4 = 1;
export const FAMILY_IPV6 = 2;

export interface RawDumpOptions {
  /** Bit mask: FAMILY_IPV4 | FAMILY_IPV6. */
  families: number;
  /** Bit mask of 1 << state (states 1..11). */
  states: number;
  /** INET_DIAG_REQ_BYTECODE program, run by the kernel. */
  bytecode?: Uint8Array;
  /** A dump keeping rows fails with LimitError past this many (0: no bound). */
  maxSockets?: number;
}

/** Which processes to read and how: every call that walks /proc takes these. */
export interface RawWalkOptions {
  threads?: number;
  pids?: Int32Array;
  /** Where procfs is mounted (default /proc). */
  procRoot?: string;
  /**
   * The owner source to use ('proc', 'bpf', 'auto'); passed through for the
   * addon that knows it (one without it walks /proc and ignores the key).
   */
  ownerSource?: string;
}

export interface RawSampleOptions extends RawDumpOptions, RawWalkOptions {
  owners?: boolean;
  /** A handle from newProgress(), to watch the /proc walk. */
  progress?: ProgressHandle;
}

/** findOwners: the owners of given socket inodes, without a dump. */
export interface RawFindOptions extends RawWalkOptions {
  inodes: Uint32Array;
  /** Walked first, in this order; then the rest ascending. */
  firstPids?: Int32Array;
  /** (pid, fd) pairs whose links are read before any walk. */
  probes?: Int32Array;
  /** Read the probes, walk nothing. */
  probesOnly?: boolean;
  /** Return where each wanted socket was seen (claimPids, claimFds, claimInodes). */
  claims?: boolean;
}

/** Opaque handle to a walk's progress counters. */
export interface ProgressHandle {
  readonly __progress: unique symbol;
}

export interface RawCounts {
  /** Indexed by state number. */
  ipv4: Float64Array;
  ipv6: Float64Array;
}

export interface RawProcess {
  pid: number;
  comm: string;
  cmdline: string;
  sockets: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot); 0 when it could not be read. */
  startTime: number;
  /** Fds in its fd directory when the walk read it; 0 when it was only probed. */
  fds: number;
}

export interface RawOwners {
  /** Owning pid per row, 0 for none. */
  owner: Int32Array;
  processes: RawProcess[];
  wanted: number;
  found: number;
  shared: number;
  unreadable: number;
  vanished: number;
  walked: number;
  candidates: number;
  complete: boolean;
  /** Processes that could not be read, ascending, with the errno of each. */
  failedPids: Int32Array;
  failedErrnos: Int32Array;
  /** The call that failed for each: openat (the fd directory), readlinkat, getdents64. */
  failedCalls: string[];
  /** The owner source that answered, from an addon that has several; absent means the /proc walk. */
  source?: string;
}

/** findOwners' answer: owners per given inode, and with claims where each was seen. */
export interface RawFound extends RawOwners {
  claimPids: Int32Array;
  claimFds: Int32Array;
  claimInodes: Uint32Array;
}

/**
 * The socket table's columns: the one TypeScript declaration of them, the
 * twin of TCPCENSUS_SOCKET_COLUMNS in native/sockets/socket_table.h (the
 * loader checks the two agree when it loads the addon). Each entry is the
 * typed array the addon fills and how many values a row takes.
 */
export const COLUMNS = {
  state: [Uint8Array, 1],
  /** 4 or 6 */
  family: [Uint8Array, 1],
  /** 16 bytes per row, network order; IPv4 uses the first 4. */
  localAddr: [Uint8Array, 16],
  remoteAddr: [Uint8Array, 16],
  localPort: [Uint16Array, 1],
  remotePort: [Uint16Array, 1],
  recvQ: [Uint32Array, 1],
  sendQ: [Uint32Array, 1],
  uid: [Uint32Array, 1],
  inode: [Uint32Array, 1],
  ifindex: [Uint32Array, 1],
  /** The kernel's socket cookie, unique per socket. */
  cookie: [BigUint64Array, 1],
} as const;

export type ColumnName = keyof typeof COLUMNS;

/** The socket table's columns, one entry (16 bytes for addresses) per socket. */
export type RawColumns = { [K in ColumnName]: InstanceType<(typeof COLUMNS)[K][0]> };

export interface RawTable extends RawColumns {
  size: number;
  owners?: RawOwners;
}

interface RawBinding {
  count(opts: RawDumpOptions): Promise<RawCounts>;
  countSync(opts: RawDumpOptions): RawCounts;
  sample(opts: RawSampleOptions): Promise<RawTable>;
  sampleSync(opts: RawSampleOptions): RawTable;
  findOwners(opts: RawFindOptions): Promise<RawFound>;
  findOwnersSync(opts: RawFindOptions): RawFound;
  startTimes(opts: { pids: Int32Array; procRoot?: string }): Promise<Float64Array>;
  startTimesSync(opts: { pids: Int32Array; procRoot?: string }): Float64Array;
  newProgress(): ProgressHandle;
  readProgress(handle: ProgressHandle): [done: number, total: number];
  __failNext(what: 'none' | 'run' | 'convert' | 'external'): void;
  columns: Array<{ name: string; bytes: number; width: number }>;
  defaultThreads: number;
  maxThreads: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const raw: RawBinding = bindings('tcpcensus') as any;

// A stale build of the addon next to newer TypeScript would hand over
// columns under other names or widths: refuse it here, once, not as garbage
// rows later.
for (const [i, [name, [Ctor, width]]] of Object.entries(COLUMNS).entries()) {
  const c = raw.columns[i];
  if (!c || c.name !== name || c.bytes !== Ctor.BYTES_PER_ELEMENT || c.width !== width) {
    throw new TcpcensusError(`the tcpcensus addon's columns do not match this version (column ${name}); rebuild it with npm run build:native`, 'ERR_TCPCENSUS_ADDON');
  }
}
if (raw.columns.length !== Object.keys(COLUMNS).length) {
  throw new TcpcensusError('the tcpcensus addon has more columns than this version knows; rebuild it with npm run build:native', 'ERR_TCPCENSUS_ADDON');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function convert(err: any): unknown {
  if (!err || typeof err !== 'object') return err;
  const message = String(err.message);
  if (typeof err.syscall === 'string' && typeof err.errno === 'number') {
    const extra: { path?: string; pid?: number } = {};
    if (typeof err.path === 'string') extra.path = err.path;
    if (typeof err.pid === 'number') extra.pid = err.pid;
    return new SystemError(message, err.syscall, err.errno, String(err.code), extra);
  }
  if (err.code === 'ERR_TCPCENSUS_MAX_SOCKETS') return new LimitError(message);
  if (typeof err.code === 'string' && err.code.startsWith('ERR_TCPCENSUS_')) return new TcpcensusError(message, err.code);
  return err;
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
  return (a) => fn(a).catch((err) => Promise.reject(convert(err)));
}

export const native = {
  count: async(raw.count),
  countSync: sync(raw.countSync),
  sample: async(raw.sample),
  sampleSync: sync(raw.sampleSync),
  findOwners: async(raw.findOwners),
  findOwnersSync: sync(raw.findOwnersSync),
  startTimes: async(raw.startTimes),
  startTimesSync: sync(raw.startTimesSync),
  newProgress: () => raw.newProgress(),
  readProgress: (h: ProgressHandle) => raw.readProgress(h),
  /** Tests only: make the next call fail at one stage (see binding.cc). */
  failNext: (what: 'none' | 'run' | 'convert' | 'external') => raw.__failNext(what),
  defaultThreads: raw.defaultThreads,
  maxThreads: raw.maxThreads,
};
