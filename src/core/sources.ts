/**
 * The sources tcpcensus reads, described once: where sockets come from
 * (netlink's sock_diag(7), or the text of /proc/net/tcp, see proc(5)) and
 * where their owners come from (the eBPF task_file iterator, bpf(2), or the
 * /proc/<pid>/fd walk). What a source can and cannot see lives here as
 * data, so a report, a check or a cache asks the descriptor instead of
 * comparing names; a new source is one entry here and one in the addon's
 * factory (native/owners/source.h). Loads no addon.
 */

/**
 * What the socket source could not show, so a zero there would be a guess:
 * 'boundInactive' (CLOSE sockets: /proc/net/tcp does not list them),
 * 'cgroupId' (no cgroup ids: /proc/net/tcp, or a kernel before 5.7),
 * 'cookie', 'ifindex' (not in /proc/net/tcp), 'listenBacklog' (LISTEN
 * sockets' Send-Q: /proc/net/tcp shows 0 there).
 */
export type Unknown = 'boundInactive' | 'cgroupId' | 'cookie' | 'ifindex' | 'listenBacklog';

/** Where the sockets came from: netlink (sock_diag), or /proc/net/tcp{,6} where netlink is refused. */
export type SocketSource = 'netlink' | 'procfs';

/** What an owner source is, as the rest of tcpcensus needs to know it. */
export interface OwnerSourceInfo {
  /** How a report names it: "owners via eBPF". */
  label: string;
  /**
   * It can be refused a process's fd table (another user's, without
   * CAP_SYS_PTRACE) and say so; the default report then shows cgroups
   * instead of a partial owner table (cli/owners-rule.ts).
   */
  refusedByProcess: boolean;
  /** It lists only the processes procfs shows, so a hidepid mount hides owners from it (request/proc-mount.ts). */
  seesOnlyListedProcesses: boolean;
  /**
   * It answers for every socket in one pass, cheaply: a sampler attributes
   * in full every sample instead of incrementally (sampler/owner-cache.ts).
   */
  wholeEveryTime: boolean;
}

/**
 * The owner sources, as native/owners/source.h's factory names them: the
 * eBPF task_file iterator (bpf(2), bpf-helpers(7): root, or CAP_BPF with
 * CAP_PERFMON) and the /proc/<pid>/fd walk (proc(5)).
 */
export const OWNER_SOURCE = {
  bpf: { label: 'eBPF', refusedByProcess: false, seesOnlyListedProcesses: false, wholeEveryTime: true },
  proc: { label: '/proc', refusedByProcess: true, seesOnlyListedProcesses: true, wholeEveryTime: false },
} as const satisfies Record<string, OwnerSourceInfo>;

/** The owner source that answered. */
export type OwnerSource = keyof typeof OWNER_SOURCE;
