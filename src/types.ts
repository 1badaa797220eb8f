/**
 * The library's public option and result types, in one place so index.ts can
 * export every one of them. The README's "JSON" section is the contract the
 * result types follow; options.ts is where the options are checked.
 */
import type { AnyStates, CountsOf, StateName } from './request/states';
import type { SocketTable } from './report/table';
import type { OwnerSource, SocketSource, Unknown } from './core/sources';

export type { OwnerSource, SocketSource, Unknown };

export type FamilyOption = 'ipv4' | 'ipv6' | 'all';

export const TOP_BY = ['process', 'command', 'remote', 'remote-host', 'local-port', 'user', 'cgroup'] as const;
/** A grouping of top rows; each is an entry of report/groupings.ts. */
export type TopBy = (typeof TOP_BY)[number];

/** Which sockets: all of these are AND-combined and, but for pids, run in the kernel. */
export interface FilterOptions {
  /** State names or groups (netstat or ss spelling). */
  states?: readonly string[];
  family?: FamilyOption;
  /** Local port or range: 80, "80", "1000-2000". */
  sport?: number | string;
  /** Remote port or range. */
  dport?: number | string;
  /** Local address or prefix: "127.0.0.1", "10.0.0.0/8", "fe80::/10". */
  src?: string;
  /** Remote address or prefix. */
  dst?: string;
  /**
   * Only sockets these processes hold; walks only their fd tables. A pid
   * that does not exist, lives in another network namespace or cannot be
   * read is an error, never an empty answer.
   */
  pids?: number[];
  /**
   * Where sockets come from: 'netlink' (NETLINK_SOCK_DIAG), 'procfs'
   * (/proc/net/tcp and tcp6, for sandboxes that refuse netlink) or 'auto'
   * (default: netlink, procfs when netlink is refused).
   */
  source?: 'auto' | 'netlink' | 'procfs';
  /**
   * The network namespace to look in: a name under /var/run/netns
   * ("blue"), a path ("/proc/1234/ns/net"), or "pid:1234" (that process's
   * namespace). The dump runs on a thread of its own that joins it
   * (CAP_SYS_ADMIN); no thread of the caller changes namespace.
   */
  netns?: string;
  /**
   * Only sockets created in this cgroup (or any of these), as ss's
   * `cgroup PATH`, filtered in the kernel: a path relative to the cgroup2
   * mount ("/system.slice/nginx.service"), or a path under the mount
   * ("/sys/fs/cgroup/system.slice/nginx.service"). Exactly that cgroup:
   * not its children. Needs the netlink source.
   */
  cgroup?: string | string[];
}

export interface WalkOptions {
  /** Threads for the /proc walk, 1..8; default the number of cores. */
  threads?: number;
  /**
   * Where procfs is mounted, default "/proc": e.g. "/host/proc" when tcpcensus
   * runs in a container that shares the host's network namespace. Must be
   * the root of a procfs mount.
   */
  procRoot?: string;
  /** Called about every 100 ms during the /proc walk (async forms only; the Sync forms ignore it). */
  onProgress?: (walked: number, total: number) => void;
  /**
   * Where owners come from: 'bpf' (an eBPF task_file iterator joins sockets to
   * processes inside the kernel: root, or CAP_BPF with CAP_PERFMON), 'proc'
   * (the /proc/<pid>/fd walk), or 'auto' (default: bpf where the kernel and
   * privileges allow, else the walk, saying why in ownerFallback).
   */
  owners?: OwnerSourceOption;
}

/**
 * `allNetns: true` (countStates, topProcesses, snapshot and their Sync
 * twins): every network namespace the caller can see (those of the
 * processes in /proc, and the names in /var/run/netns), each dumped on its
 * own; the result is per namespace (NetnsStateCounts, NetnsTopReport,
 * NetnsSnapshot). Entering a namespace but the caller's own needs
 * CAP_SYS_ADMIN. Not with netns or pids. Kept out of the option types
 * above so that they give the one-namespace result types.
 */
export interface AllNetnsOption {
  allNetns: true;
}

/** Where owners come from: the eBPF iterator, the /proc walk, or 'auto' (the iterator where allowed, else the walk). */
export type OwnerSourceOption = OwnerSource | 'auto';

/** Default states: every state but CLOSE. countStates keeps no rows, so it takes no maxSockets. */
export type CountOptions = FilterOptions & WalkOptions;

/** For the calls that keep one row per socket (topProcesses, snapshot). */
export interface RowOptions {
  /**
   * Fail with LimitError rather than keep more than this many rows (1..2^31-1;
   * default no bound). It bounds what the kernel dump hands over, before
   * pids narrows it.
   */
  maxSockets?: number;
}

export interface TopOptions extends FilterOptions, WalkOptions, RowOptions {
  /** Default ['CLOSE_WAIT']. */
  states?: string[];
  /** Rows to return, 1..2^31-1, default 10. */
  limit?: number;
  /** Grouping, default 'process'. */
  by?: TopBy;
}

export interface SnapshotOptions extends FilterOptions, WalkOptions, RowOptions {
  /** Also find the owning process of each socket (walks /proc). */
  processes?: boolean;
}

export interface StateCounts {
  total: number;
  /**
   * Every requested state, zeros included, in state-number order; but a
   * state the source cannot show (CLOSE from /proc/net/tcp) is left out,
   * never a zero, and `unknown` says so. Typed so: every state asked for is
   * a number, CLOSE may be missing.
   */
  states: Partial<Record<StateName, number>>;
  families: { ipv4: number; ipv6: number };
  /** Where the sockets came from: netlink (sock_diag), or /proc/net/tcp{,6} where netlink is refused. */
  source: SocketSource;
  /** Why source 'auto' read /proc/net/tcp: the refused call, e.g. "socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation not permitted"; else null. */
  sourceFallback: string | null;
  /** What the source could not show of what was asked ([] with netlink). */
  unknown: Unknown[];
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
  /** by cgroup: the cgroup v2 id (the inode of its directory on the cgroup2 mount) */
  cgroupId?: number;
  /**
   * by cgroup: the path relative to the cgroup2 mount, as ss prints it
   * ("/system.slice/nginx.service"); null when the cgroup was removed
   * since the socket was made.
   */
  path?: string | null;
  /** by cgroup: the short name: the container id's first 12 characters, the systemd unit, or the last component. */
  name?: string;
  /** by cgroup: the last `.service` or `.scope` component, when there is one. */
  unit?: string;
  /** by cgroup: the full 64-hex container id (docker-, cri-containerd-, crio-, libpod-<id>.scope, or a bare id). */
  containerId?: string;
  /** by cgroup: the Kubernetes pod uid, when the path has one. */
  podUid?: string;
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
  /**
   * Held by no process (inode 0): TIME_WAIT, orphans, request sockets. Never
   * in a process, command or user row; the endpoint groupings (remote,
   * remote-host, local-port) count them in their rows too. By cgroup: the
   * sockets that carry no cgroup id (TIME_WAIT, request sockets, orphans
   * the kernel keeps as mini-sockets), never in a row.
   */
  unowned: number;
  /**
   * Held, but no owner was found: the owner could not be read, exited, or
   * closed the socket between the dump and the walk (null without a walk).
   */
  unattributed: number | null;
  unreadableProcesses: number | null;
  /**
   * The procfs mount option that hides other users' processes from this one
   * (e.g. "hidepid=invisible", as /proc/self/mountinfo shows it): the /proc
   * walk never meets them, so their sockets are unattributed and not counted
   * in unreadableProcesses. Null when nothing is hidden from this process
   * (root, or a member of the mount's gid= group), and without a /proc walk.
   */
  procHidden: string | null;
  shared: number | null;
  /** The owner source that answered (null without owners). */
  ownerSource: OwnerSource | null;
  /** Why owners 'auto' did not use the eBPF iterator, e.g. "bpf(BPF_PROG_LOAD) failed: Operation not permitted (EPERM)"; else null. */
  ownerFallback: string | null;
  /** Where the sockets came from. */
  source: SocketSource;
  /** Why source 'auto' read /proc/net/tcp; else null. */
  sourceFallback: string | null;
  /** What the source could not show of what was asked. */
  unknown: Unknown[];
  rows: TopRow[];
  tookMs: number;
}

/** A network namespace, as --all-netns labels its results. */
export interface NetnsLabel {
  /** The inode of its nsfs file: what `readlink /proc/PID/ns/net` shows as net:[INODE]. */
  inode: number;
  /** Its name under /var/run/netns (`ip netns`), null when it has none. */
  name: string | null;
  /** The file it was entered through: /var/run/netns/NAME, or /proc/PID/ns/net. */
  path: string;
  /** The lowest pid in it, null when only a name holds it. */
  pid: number | null;
  /** The caller's own namespace. */
  self: boolean;
}

/** A namespace listed but gone before or while it was dumped. */
export interface SkippedNetns {
  netns: NetnsLabel;
  /** e.g. "gone during the run (setns EINVAL: the file no longer is that namespace)". */
  reason: string;
}

/** What every allNetns result says besides its namespaces. */
export interface NetnsScan {
  /** How many namespaces were listed but gone before or while they were dumped (their last process exited, `ip netns del`). */
  skipped: number;
  /** Those namespaces, each with why. */
  skippedNamespaces: SkippedNetns[];
  /** Processes whose namespace could not be read (another user's, not root): a namespace only they hold is not in the list. */
  unreadableProcesses: number;
  tookMs: number;
}

/**
 * What countStates returns for the states S asked for (StatesOf reads them
 * from a literal `states` option): `states` has a number for each of them, so
 * `counts.states.CLOSE_WAIT` needs no `?? 0` when CLOSE_WAIT was asked for.
 * Only CLOSE can be missing (a source that cannot show it). Assignable to
 * StateCounts.
 */
export type StateCountsOf<S extends StateName | AnyStates> = Omit<StateCounts, 'states'> & { states: CountsOf<S> };
/** The same for countStates with allNetns. */
export type NetnsStateCountsOf<S extends StateName | AnyStates> = Omit<NetnsStateCounts, 'states' | 'namespaces'> & {
  states: CountsOf<S>;
  namespaces: Array<{ netns: NetnsLabel } & StateCountsOf<S>>;
};

/** countStates with allNetns: the counts of each namespace, and their sums. */
export interface NetnsStateCounts extends NetnsScan {
  /** Sums over every namespace. */
  total: number;
  /** Sums over every namespace; a state some namespace could not show (CLOSE) is left out. */
  states: Partial<Record<StateName, number>>;
  families: { ipv4: number; ipv6: number };
  /** One entry per namespace, ascending by inode. */
  namespaces: Array<{ netns: NetnsLabel } & StateCounts>;
}

/** topProcesses with allNetns: one report per namespace. */
export interface NetnsTopReport extends NetnsScan {
  states: StateName[];
  by: TopBy;
  /** Sockets in the states asked for, over every namespace. */
  total: number;
  /** One report per namespace, ascending by inode. */
  namespaces: Array<{ netns: NetnsLabel } & TopReport>;
}

/** snapshot with allNetns: one table per namespace. */
export interface NetnsSnapshot extends NetnsScan {
  namespaces: Array<{ netns: NetnsLabel; table: SocketTable }>;
}

/** The top cgroups of one state: one metric sample each (tcpcensus_cgroup_sockets{state,cgroup}). */
export interface CgroupStateRow {
  state: StateName;
  cgroupId: number;
  /** Relative to the cgroup2 mount; null when the cgroup was removed since. */
  path: string | null;
  name: string;
  unit?: string;
  containerId?: string;
  podUid?: string;
  count: number;
}

/** topCgroupsByState: for each state asked for, the cgroups holding the most sockets in it. */
export interface CgroupStateReport {
  states: StateName[];
  /** For each state, its top `limit` cgroups, largest first; states in state-number order. */
  rows: CgroupStateRow[];
  /** Per state, the sockets that carry no cgroup id (TIME_WAIT, request sockets, mini-socket orphans). */
  noCgroup: Partial<Record<StateName, number>>;
  source: SocketSource;
  sourceFallback: string | null;
  tookMs: number;
}

export interface CgroupStateOptions extends FilterOptions, RowOptions {
  /** Default: every state but CLOSE. */
  states?: string[];
  /** Cgroups per state, 1..2^31-1, default 10. */
  limit?: number;
}

/** Filters and walk settings a sampler shares with the one-shot calls. */
export interface SamplingOptions extends Omit<FilterOptions, 'states' | 'pids'>, Omit<WalkOptions, 'onProgress'>, RowOptions {
  /**
   * Owner source, default 'auto'. With the /proc walk ('proc', or 'auto'
   * where nothing better answers) owners are found incrementally.
   */
  owners?: OwnerSourceOption;
  /** A full owner attribution every this many samples (default 60; 1: every sample). */
  fullEvery?: number;
}

export interface SamplerOptions extends SamplingOptions {
  /** Milliseconds, or a duration such as '1s', '500ms', '2m'; default 1s, at least 10 ms. */
  interval?: number | string;
  /**
   * The states the top rows are about (default ['CLOSE_WAIT']). The counts
   * always cover every state (all but CLOSE, and CLOSE when named here).
   */
  states?: string[];
  /** Top rows by process (the same as by: 'process'). */
  processes?: boolean;
  /** Top rows grouped this way (implies top rows). */
  by?: TopBy;
  /** Top rows, default 10. */
  limit?: number;
}

export interface MetricsOptions extends SamplingOptions {
  /** States whose owners are counted per command and process, default ['CLOSE_WAIT']. */
  ownerStates?: string[];
  /** Commands per attributed state in tcpcensus_command_sockets, default 20. */
  top?: number;
  /** Processes per attributed state in tcpcensus_process_sockets, default 10; 0: no such series (no pids for whoever scrapes). */
  topProcesses?: number;
  /** A scrape within this long of the last sample's start reuses it: milliseconds or '1s' (default 1s; 0: every scrape samples). */
  minInterval?: number | string;
}

/** How a sample found its owners. */
export interface Attribution {
  /** The owner source that answered: 'bpf' (the eBPF iterator) or 'proc' (the /proc walk). */
  source: OwnerSource;
  /** Why owners 'auto' could not use the eBPF iterator; null when it did or was not asked. */
  fallback: string | null;
  /** A full attribution (the first sample, every fullEvery-th, or a source that is cheap anyway), not an incremental one. */
  full: boolean;
  /** Attributed sockets whose owner came from the cache (still held by the same process, checked by start time). */
  cached: number;
  /** Attributed sockets looked up in this sample. */
  lookedUp: number;
  /** Of those, found by reading a remembered fd slot (a probe), without listing any fd directory. */
  probed: number;
  /** Processes whose fd directory was listed in this sample. */
  walkedProcesses: number;
  /**
   * Sockets not found yet (new ones the probes and the cheap walk of recent
   * owners missed, or ones waiting for a paced walk of every process).
   */
  pending: number;
  /**
   * Milliseconds spent looking up owners in this sample (the rest of tookMs
   * is mostly the dump). With the eBPF iterator, after the first sample the
   * owners come with the dump (the iterator runs while the kernel dumps), so
   * this counts only what follows the dump.
   */
  lookupMs: number;
}

/** One sample of a sampler. */
export interface Sample {
  /** When the sample started. */
  at: Date;
  /** 1 for the first sample. */
  seq: number;
  total: number;
  /** Every counted state, zeros included, in state-number order. */
  states: Partial<Record<StateName, number>>;
  families: { ipv4: number; ipv6: number };
  /** Change of each state's count since the previous sample; null on the first sample, which has no previous one. */
  delta: Partial<Record<StateName, number>> | null;
  /** The top rows for the chosen states, when processes or by asked for them. */
  top: TopReport | null;
  /** How owners were found; null when the sample looked up none. */
  attribution: Attribution | null;
  /** Ticks skipped since the previous sample because a sample ran longer than the interval. */
  skipped: number;
  tookMs: number;
}

/** An async iterable (and iterator: next() takes the next sample) of samples that can be stopped. */
export interface Sampler extends AsyncIterableIterator<Sample> {
  /** Stops the sampler: no timer stays alive, an iteration in progress ends after its current sample. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
