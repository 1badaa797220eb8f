/**
 * The library's public option and result types, in one place so index.ts can
 * export every one of them. The README's "JSON" section is the contract the
 * result types follow; options.ts is where the options are checked.
 */
import type { StateName } from './states';

export type FamilyOption = 'ipv4' | 'ipv6' | 'all';

export type TopBy = 'process' | 'command' | 'remote' | 'remote-host' | 'local-port' | 'user';
export const TOP_BY: readonly TopBy[] = ['process', 'command', 'remote', 'remote-host', 'local-port', 'user'];

/** Which sockets: all of these are AND-combined and, but for pids, run in the kernel. */
export interface FilterOptions {
  /** State names or groups (netstat or ss spelling). */
  states?: string[];
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
  owners?: OwnerSource | 'auto';
}

/** The owner source that answered. */
export type OwnerSource = 'bpf' | 'proc';

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
  /** Every requested state, zeros included, in state-number order. */
  states: Partial<Record<StateName, number>>;
  families: { ipv4: number; ipv6: number };
  /** Where the sockets came from: netlink (sock_diag), or /proc/net/tcp{,6} where netlink is refused. */
  source: 'netlink' | 'procfs';
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
   * remote-host, local-port) count them in their rows too.
   */
  unowned: number;
  /**
   * Held, but no owner was found: the owner could not be read, exited, or
   * closed the socket between the dump and the walk (null without a walk).
   */
  unattributed: number | null;
  unreadableProcesses: number | null;
  shared: number | null;
  /** The owner source that answered (null without owners). */
  ownerSource: OwnerSource | null;
  /** Why owners 'auto' did not use the eBPF iterator, e.g. "bpf(BPF_PROG_LOAD) failed: Operation not permitted (EPERM)"; else null. */
  ownerFallback: string | null;
  rows: TopRow[];
  tookMs: number;
}
