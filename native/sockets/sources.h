// sources.h: where sockets come from: the entry every dump goes through.
//
// Plain C++ with no N-API inside. Man pages: sock_diag(7), proc(5)
// (/proc/net/tcp), setns(2), namespaces(7).
//
// It picks the socket source (NETLINK_SOCK_DIAG, or /proc/net/tcp{,6} when
// asked or when netlink is refused), runs the IPv4 and IPv6 dumps (in
// parallel: each walks the kernel's whole TCP hash table), in another
// network namespace when asked (on a thread of its own, netns.h), and says
// how it was answered (DumpInfo): the source, why it fell back, the
// namespace's inode, and what that source cannot show.
#pragma once

#include "request.h"
#include "socket_table.h"

namespace tcpcensus {

// Counts sockets by state without keeping rows. Throws SysError (the
// netlink refusal itself when Source::kNetlink is forced), UnsupportedError
// (a cgroup filter on procfs).
void CountStates(const DumpRequest& req, StateCounts* out, DumpInfo* info = nullptr);

// Dumps matching sockets into *out (appending); with req.keep_states only
// the rows in those states, but every row is added to *tally when given.
// Throws as CountStates, or LimitError when more than req.max_rows rows
// would be kept.
void DumpSockets(const DumpRequest& req, SocketTable* out, DumpInfo* info = nullptr, DumpTally* tally = nullptr);

}  // namespace tcpcensus
