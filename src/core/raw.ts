/**
 * The addon's raw types and constants, with no addon behind them: what the
 * binding (native/binding/) takes and returns, typed once. Modules that only
 * shape a request or a result import from here, so loading them loads no
 * native code; ./addon.ts is the one loader and checks these constants
 * against the binary's.
 */
import type { RawColumns } from './columns';
import type { OwnerSource, SocketSource } from './sources';

export const FAMILY_IPV4 = 1;
export const FAMILY_IPV6 = 2;
/** The owner walk's most threads (kMaxThreads in native/owners/owners.h; checked at load). */
export const MAX_THREADS = 8;

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
  source: SocketSource;
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
  ownerSource?: 'auto' | OwnerSource;
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
  source: OwnerSource;
  /** Why ownerSource 'auto' fell back to the walk, e.g. "bpf(BPF_PROG_LOAD) failed: Operation not permitted (EPERM)"; null otherwise. */
  fallback: string | null;
}

/** findOwners' answer: owners per given inode, and with claims where each was seen. */
export interface RawFound extends RawOwners {
  claimPids: Int32Array;
  claimFds: Int32Array;
  claimInodes: Uint32Array;
}

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
