/**
 * The one loader of the C++ addon (native/binding.cc). It types the raw
 * binding and turns the addon's system errors into SystemError; `any` lives
 * only here. Everything else imports from this module, never from `bindings`.
 */
import bindings from 'bindings';
import { SystemError } from './errors';

export const FAMILY_IPV4 = 1;
export const FAMILY_IPV6 = 2;

export interface RawDumpOptions {
  /** Bit mask: FAMILY_IPV4 | FAMILY_IPV6. */
  families: number;
  /** Bit mask of 1 << state (states 1..11). */
  states: number;
  /** INET_DIAG_REQ_BYTECODE program, run by the kernel. */
  bytecode?: Uint8Array;
}

export interface RawSampleOptions extends RawDumpOptions {
  owners?: boolean;
  threads?: number;
  pids?: Int32Array;
  /** Where procfs is mounted (default /proc). */
  procRoot?: string;
  /** A handle from newProgress(), to watch the /proc walk. */
  progress?: ProgressHandle;
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
}

/** The socket table's columns, one entry (16 bytes for addresses) per socket. */
export interface RawColumns {
  state: Uint8Array;
  /** 4 or 6 */
  family: Uint8Array;
  /** 16 bytes per row, network order; IPv4 uses the first 4. */
  localAddr: Uint8Array;
  remoteAddr: Uint8Array;
  localPort: Uint16Array;
  remotePort: Uint16Array;
  recvQ: Uint32Array;
  sendQ: Uint32Array;
  uid: Uint32Array;
  inode: Uint32Array;
  ifindex: Uint32Array;
  /** The kernel's socket cookie, unique per socket. */
  cookie: BigUint64Array;
}

export interface RawTable extends RawColumns {
  size: number;
  owners?: RawOwners;
}

interface RawBinding {
  count(opts: RawDumpOptions): Promise<RawCounts>;
  countSync(opts: RawDumpOptions): RawCounts;
  sample(opts: RawSampleOptions): Promise<RawTable>;
  sampleSync(opts: RawSampleOptions): RawTable;
  newProgress(): ProgressHandle;
  readProgress(handle: ProgressHandle): [done: number, total: number];
  defaultThreads: number;
  maxThreads: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const raw: RawBinding = bindings('tcpcensus') as any;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function convert(err: any): unknown {
  if (err && typeof err.syscall === 'string' && typeof err.errno === 'number') {
    return new SystemError(String(err.message), err.syscall, err.errno, String(err.code));
  }
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
  newProgress: () => raw.newProgress(),
  readProgress: (h: ProgressHandle) => raw.readProgress(h),
  defaultThreads: raw.defaultThreads,
  maxThreads: raw.maxThreads,
};
