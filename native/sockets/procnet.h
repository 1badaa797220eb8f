// procnet.h: the /proc/net/tcp socket source, for when NETLINK_SOCK_DIAG is
// refused (gVisor, strict seccomp profiles) or asked for by name.
//
// Plain C++ with no N-API inside. Man pages: proc(5) (/proc/net/tcp,
// /proc/thread-self), namespaces(7). It reads the calling thread's network
// namespace (/proc/thread-self/net, not /proc/self/net, which follows the
// main thread: a dump thread that called setns(2) must see its own), parses
// with procnet_parse.*, and keeps what the request's state mask and
// INET_DIAG_REQ_BYTECODE program accept, run by bytecode.* with the
// kernel's meaning. The text has no bound-inactive (CLOSE) sockets, cgroup
// ids, cookies or interfaces: sources.* reports those as missing.
#pragma once

#include "request.h"
#include "socket_table.h"

namespace tcpcensus {

// Throws when the request cannot be answered from the text: UnsupportedError
// for a program that needs what the text lacks (cgroup, interface, mark,
// port-lock conditions), std::invalid_argument for a program the kernel
// itself would refuse (EINVAL).
void CheckProcfsRequest(const DumpRequest& req);

// Reads the sockets of one family (AF_INET: tcp, AF_INET6: tcp6) of the
// calling thread's network namespace that the request accepts into sink.
// A kernel without IPv6 has no tcp6: no sockets. Throws SysError.
void ProcfsDumpFamily(int family, const DumpRequest& req, DiagSink* sink);

}  // namespace tcpcensus
