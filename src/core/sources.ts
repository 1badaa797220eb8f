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

/** The owner source that answered. */
export type OwnerSource = 'bpf' | 'proc';
