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
}

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
  source: 'netlink';
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
  rows: TopRow[];
  tookMs: number;
}

/** Where owners come from: the /proc walk, the eBPF iterator (where the addon has it), or the best there is. */
export type OwnerSourceOption = 'auto' | 'proc' | 'bpf';

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
  /** Processes per attributed state in tcpcensus_process_sockets, default 10. */
  topProcesses?: number;
  /** A scrape within this long of the last sample's start reuses it: milliseconds or '1s' (default 1s; 0: every scrape samples). */
  minInterval?: number | string;
}

/** How a sample found its owners. */
export interface Attribution {
  /** The owner source that answered: 'proc' (the /proc walk) or what the addon reports. */
  source: string;
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
  /** Milliseconds spent looking up owners in this sample (the rest of tookMs is mostly the dump). */
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
