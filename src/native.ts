/**
 * The one loader of the C++ addon (native/binding.cc). It types the raw
 * binding and turns the addon's system errors into SystemError; `any` lives
 * only here. Everything else imports from this module, never the .node file.
 */
import { join } from 'node:path';
import { COLUMNS, type ColumnName, type RawColumns } from './columns';
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
  /**
   * Where the sockets come from (default 'auto'): NETLINK_SOCK_DIAG, or the
   * text of /proc/net/tcp{,6}; 'auto' reads the text when netlink is refused
   * (EPERM, EACCES, EPROTONOSUPPORT, EAFNOSUPPORT from socket() or the first
   * reply). A forced 'netlink' that is refused is a SystemError naming the call.
   */
  source?: RawSource;
  /**
   * The network namespace to dump in: a name under /var/run/netns, 'pid:PID',
   * or a path with a '/' (/proc/PID/ns/net). A malformed spec throws a
   * RangeError; a missing namespace is SystemError open ENOENT with `path`;
   * joining needs CAP_SYS_ADMIN (else SystemError setns EPERM).
   */
  netns?: string;
}

export type RawSource = 'auto' | 'netlink' | 'procfs';

/** What a source cannot show: a zero in those places is unknown, not zero. */
export type RawMissing =
  /** CLOSE (bound, inactive) sockets: not in /proc/net/tcp, so CLOSE counts are unknown. */
  | 'boundInactive'
  /** cgroupId: /proc/net/tcp has none, or the kernel sends none (before 5.7; a full socket came without one). */
  | 'cgroupId'
  /** cookie: not in /proc/net/tcp. */
  | 'cookie'
  /** ifindex: not in /proc/net/tcp. */
  | 'ifindex'
  /** sendQ of LISTEN rows (netlink's backlog): /proc/net/tcp shows 0 there. */
  | 'listenBacklog';

/** How a dump was answered; on every count and sample result. */
export interface RawDumpInfo {
  source: 'netlink' | 'procfs';
  /** Why 'auto' read procfs: the refused call and errno, e.g. "socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation not permitted"; null when it did not fall back. */
  sourceFallback: string | null;
  /** Inode of the network namespace the dump ran in (0 when unreadable). */
  netnsInode: number;
  missing: RawMissing[];
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
  /** With owners: only rows in these states (bit mask of 1 << state) get one; absent or 0: every row. */
  ownerStates?: number;
  /** Keep only the rows in these states (bit mask); absent or 0: every row. Every row is still in `tally`. */
  keepStates?: number;
  /** A handle from newProgress(), to watch the /proc walk. */
  progress?: ProgressHandle;
  /**
   * Where owners come from: 'auto' (the eBPF task_file iterator, or the /proc
   * walk when it cannot answer: owners.fallback says why), 'bpf' (the
   * iterator or an error naming the failed call), 'proc' (the walk).
   * Absent: 'proc'.
   */
  ownerSource?: 'auto' | 'bpf' | 'proc';
  /**
   * The kernel BTF the iterator reads its offsets from. Absent: the
   * environment variable TCPCENSUS_BTF_PATH when set, else
   * /sys/kernel/btf/vmlinux.
   */
  btfPath?: string;
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
  /**
   * The source that answered. With 'bpf', walked and candidates count the
   * processes seen holding a socket, unreadable is 0 and complete is true.
   */
  source: 'bpf' | 'proc';
  /** Why ownerSource 'auto' fell back to the walk, e.g. "bpf(BPF_PROG_LOAD) failed: Operation not permitted (EPERM)"; null otherwise. */
  fallback: string | null;
}

/** findOwners' answer: owners per given inode, and with claims where each was seen. */
export interface RawFound extends RawOwners {
  claimPids: Int32Array;
  claimFds: Int32Array;
  claimInodes: Uint32Array;
}

export { COLUMNS, type ColumnName, type RawColumns };

export interface RawTable extends RawColumns {
  size: number;
  owners?: RawOwners;
}

/** What count() and countSync() return. */
export interface RawCountResult extends RawCounts, RawDumpInfo {}

/** What sample() and sampleSync() return. */
export interface RawSampleResult extends RawTable, RawDumpInfo {
  /** Every row the dump saw, kept or not (keepStates), by state number; unowned: those with inode 0. */
  tally: RawCounts & { unowned: Float64Array };
}

/** One batch of a dump read in batches (openDump, nextBatch): its rows and how the dump is answered. */
export interface RawBatch extends RawColumns, RawDumpInfo {
  size: number;
  /** The dump has ended: no batch follows. */
  done: boolean;
}

/** Opaque handle to a dump read in batches. */
export interface DumpHandle {
  readonly __dump: unique symbol;
}

export interface RawCgroupPathsOptions {
  /** The cgroup ids to name (0s are ignored); absent or empty: every cgroup. The walk stops once all are found. */
  ids?: BigUint64Array;
  /** Where cgroup2 is mounted; default: the first cgroup2 mount in /proc/mounts. */
  mount?: string;
}

export interface RawCgroupPaths {
  /** The cgroup2 mount walked. */
  mount: string;
  /** Found ids, ascending; paths[i] is the cgroup of ids[i], relative to the mount ("/" is the root, "/system.slice/x.service"). */
  ids: BigUint64Array;
  paths: string[];
  /** Directories that could not be opened. */
  unreadable: number;
  /** Every wanted id was found (or, with none asked, the whole tree was walked). */
  complete: boolean;
}

export interface RawNetns {
  /** The namespace's nsfs inode (what netnsInode of a dump in it says). */
  inode: number;
  /** A file that opens it: /var/run/netns/NAME when named, else <procRoot>/PID/ns/net. Pass it as `netns`. */
  path: string;
  /** Its name under /var/run/netns, '' when it has none. */
  name: string;
  /** The lowest pid in it, 0 when only a name holds it. */
  pid: number;
  /** The caller's own namespace. */
  self: boolean;
}

export interface RawNetnsList {
  /** Every distinct network namespace seen, ascending by inode. */
  namespaces: RawNetns[];
  /** Processes whose namespace could not be read (another user's, not root). */
  unreadable: number;
}

interface RawBinding {
  count(opts: RawDumpOptions): Promise<RawCountResult>;
  countSync(opts: RawDumpOptions): RawCountResult;
  sample(opts: RawSampleOptions): Promise<RawSampleResult>;
  sampleSync(opts: RawSampleOptions): RawSampleResult;
  cgroupPaths(opts?: RawCgroupPathsOptions): Promise<RawCgroupPaths>;
  cgroupPathsSync(opts?: RawCgroupPathsOptions): RawCgroupPaths;
  listNetns(opts?: { procRoot?: string }): Promise<RawNetnsList>;
  listNetnsSync(opts?: { procRoot?: string }): RawNetnsList;
  findOwners(opts: RawFindOptions): Promise<RawFound>;
  findOwnersSync(opts: RawFindOptions): RawFound;
  startTimes(opts: { pids: Int32Array; procRoot?: string }): Promise<Float64Array>;
  startTimesSync(opts: { pids: Int32Array; procRoot?: string }): Float64Array;
  /** A dump to read in batches; nothing is read until the first nextBatch. keepStates as for sample. */
  openDump(opts: RawDumpOptions & { keepStates?: number }): DumpHandle;
  /** The next rows (at least `rows` unless the dump ends), read on the libuv pool; one at a time per handle. */
  nextBatch(handle: DumpHandle, rows: number): Promise<RawBatch>;
  /** Ends the dump now, or once the batch being read is in. */
  closeDump(handle: DumpHandle): void;
  newProgress(): ProgressHandle;
  readProgress(handle: ProgressHandle): [done: number, total: number];
  /** Frees the given buffers now if the addon adopted them (detaching them); returns how many it freed. */
  release(buffers: ArrayBuffer[]): number;
  __failNext(what: 'none' | 'run' | 'convert' | 'external'): void;
  columns: Array<{ name: string; bytes: number; width: number }>;
  defaultThreads: number;
  maxThreads: number;
}

// node-gyp builds build/Release (build/Debug with --debug). Those two paths
// are tried directly: the `bindings` package probes about a dozen layouts
// with a stat each, 2.7 ms of the CLI's start-up budget here.
function load(): unknown {
  const root = join(__dirname, '..');
  const tried: string[] = [];
  for (const build of ['Release', 'Debug']) {
    const file = join(root, 'build', build, 'tcpcensus.node');
    try {
      return require(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
      tried.push(file);
    }
  }
  throw new TcpcensusError(`the tcpcensus addon is not built (looked for ${tried.join(' and ')}); run npm run build:native`, 'ERR_TCPCENSUS_ADDON');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const raw: RawBinding = load() as any;

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
  cgroupPaths: async((o?: RawCgroupPathsOptions) => raw.cgroupPaths(o)),
  cgroupPathsSync: sync((o?: RawCgroupPathsOptions) => raw.cgroupPathsSync(o)),
  listNetns: async((o?: { procRoot?: string }) => raw.listNetns(o)),
  listNetnsSync: sync((o?: { procRoot?: string }) => raw.listNetnsSync(o)),
  findOwners: async(raw.findOwners),
  findOwnersSync: sync(raw.findOwnersSync),
  startTimes: async(raw.startTimes),
  startTimesSync: sync(raw.startTimesSync),
  openDump: sync((o: RawDumpOptions & { keepStates?: number }) => raw.openDump(o)),
  nextBatch: (h: DumpHandle, rows: number) => raw.nextBatch(h, rows).catch((err) => Promise.reject(convert(err))),
  closeDump: (h: DumpHandle) => raw.closeDump(h),
  newProgress: () => raw.newProgress(),
  readProgress: (h: ProgressHandle) => raw.readProgress(h),
  release: (buffers: ArrayBuffer[]) => raw.release(buffers),
  /** Tests only: make the next call fail at one stage (see binding.cc). */
  failNext: (what: 'none' | 'run' | 'convert' | 'external') => raw.__failNext(what),
  defaultThreads: raw.defaultThreads,
  maxThreads: raw.maxThreads,
};
