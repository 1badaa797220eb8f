// sock_diag.h: the NETLINK_SOCK_DIAG socket source: one dump of TCP sockets
// of one address family, straight from the kernel.
//
// Plain C++ with no N-API inside. Man pages: sock_diag(7), netlink(7),
// rtnetlink(7); kernel headers linux/inet_diag.h and linux/sock_diag.h.
//
// A dump of one address family (AF_INET, AF_INET6), or of both in one walk
// (AF_UNSPEC), with the caller's state mask and an optional
// INET_DIAG_REQ_BYTECODE filter, so the kernel does the filtering and sends
// only what is wanted. This file does the I/O; the bytes
// are parsed by netlink_parse.* and handed to a sink. sources.* picks this
// source or the procfs one and runs the two families' dumps.
#pragma once

#include <cstdint>
#include <vector>

#include "../common/fd.h"
#include "../common/sys_error.h"
#include "netlink_parse.h"
#include "request.h"

namespace tcpcensus {

// NETLINK_SOCK_DIAG refused before it answered anything: socket(), sendto(),
// or the first reply failed with EPERM, EACCES, EPROTONOSUPPORT or
// EAFNOSUPPORT (what seccomp profiles and gVisor give). Source::kAuto reads
// /proc/net/tcp instead; Source::kNetlink reports it like any SysError.
class NetlinkRefused : public SysError {
 public:
  explicit NetlinkRefused(const SysError& e) : SysError(e) {}
};

// Normalises a request mask: adds NEW_SYN_RECV for SYN_RECV and BOUND_INACTIVE
// for CLOSE. Exposed for tests.
uint32_t KernelStateMask(uint32_t states);

// The one-walk request (AF_UNSPEC below) failed before any socket reached
// the sink (a kernel without it, or a sandbox refusing it or netlink):
// dump the families one by one instead, which meet any refusal themselves.
// After a failure that is no refusal, later one-walk requests fail at once.
class OneWalkUnsupported : public SysError {
 public:
  explicit OneWalkUnsupported(const SysError& e) : SysError(e) {}
};

// Dumps the sockets of one family (AF_INET or AF_INET6) of the calling
// thread's network namespace into sink. Throws NetlinkRefused, or SysError
// for any other failure.
//
// AF_UNSPEC dumps both families in one walk. The kernel's TCP hash tables
// hold both families, and a SOCK_DIAG_BY_FAMILY dump walks all of them for
// one family, so two dumps walk them twice. The older TCPDIAG_GETSOCK
// request (struct inet_diag_req, linux/inet_diag.h) runs the same dump with
// family AF_UNSPEC (net/ipv4/inet_diag.c: inet_diag_dump_compat), with the
// same state mask, bytecode filter and reply. Throws OneWalkUnsupported
// where the kernel lacks it.
void NetlinkDumpFamily(int family, const DumpRequest& req, DiagSink* sink);

// One dump read a datagram at a time, for a caller that pulls rows in
// batches (dump_stream.h): the kernel keeps the dump's place in the netlink
// socket and fills the next datagram only when this one has been read, so
// what is held here is one receive buffer, whatever the socket count. The
// constructor opens the socket (in the calling thread's network namespace,
// which the socket keeps for good) and sends the request; Next reads one
// datagram into sink. Both throw NetlinkRefused for a refusal before the
// kernel answered, else SysError. One thread at a time.
// For such a caller's one-walk request: whether a kernel already turned it
// down (then go per family at once), and to note a failure before any row
// (as NetlinkDumpFamily does: a refusal is not held against the kernel).
bool OneWalkKnownRefused();
void NoteOneWalkFailure(const SysError& e);

class NetlinkDump {
 public:
  NetlinkDump(int family, const DumpRequest& req);
  NetlinkDump(const NetlinkDump&) = delete;
  NetlinkDump& operator=(const NetlinkDump&) = delete;
  // Reads the next datagram into sink; false once the kernel said done.
  bool Next(DiagSink* sink);
  bool done() const { return done_; }

 private:
  Fd fd_;
  std::vector<uint8_t> buf_;
  bool answered_ = false;
  bool done_ = false;
};

}  // namespace tcpcensus
