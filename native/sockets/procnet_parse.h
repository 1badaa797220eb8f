// procnet_parse.h: the pure parser of /proc/net/tcp and /proc/net/tcp6 text,
// the socket source for sandboxes that refuse NETLINK_SOCK_DIAG.
//
// No I/O: it reads bytes as read(2) returned them and hands each socket to a
// sink as the same SocketRecord the netlink parser makes, so it can be
// unit-tested and fuzzed alone. Man pages: proc(5) (/proc/net/tcp), tcp(7).
// Layout (net/ipv4/tcp_ipv4.c get_tcp4_sock, get_timewait4_sock,
// get_openreq4; net/ipv6/tcp_ipv6.c get_tcp6_sock): a header line, then one
// line per socket:
//   "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu %d %pK ..."
//   sl, local address:port, remote address:port, st (the state), tx_queue:
//   rx_queue, timer:when, retransmits, uid, timeout, inode, refcount, ...
// Addresses are the in-memory __be32 words printed as host-order hex (one
// word for IPv4, four for IPv6), ports host-order hex.
//
// What the text cannot say, the record leaves at 0 and the caller reports
// as missing: cookie, ifindex, cgroup id, and LISTEN's backlog (netlink's
// send queue of a listener; the text shows 0). Request sockets (SYN_RECV,
// refcount printed as 0) show their listener's uid in the text but uid 0 in
// sock_diag; the record takes sock_diag's 0 so both sources agree.
//
// Nothing from the input is trusted: every field is checked for its exact
// width and range, and a line that does not parse is an error, never a
// guess.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../common/bytes.h"
#include "socket_table.h"

namespace tcpcensus {

// Longest line accepted (the kernel's are about 150 bytes for tcp, 180 for
// tcp6); a reader's buffer must hold at least two.
constexpr size_t kProcNetMaxLine = 4096;

enum class ProcNetLine { kRow, kSkip };

// Parses one line without its newline: kRow with *r filled, or kSkip for the
// header and blank lines. family is 4 (/proc/net/tcp) or 6 (tcp6). Throws
// SysError("read", EBADMSG, "(<what>)") for anything else.
ProcNetLine ParseProcNetLine(ByteSpan line, uint8_t family, SocketRecord* r);

// Splits text into lines as it arrives and parses each into sink.
class ProcNetParser {
 public:
  // path names the file in error messages.
  ProcNetParser(uint8_t family, const char* path, DiagSink* sink) : family_(family), path_(path), sink_(sink) {}

  // Parses every complete line of data and returns how many bytes that
  // was; the caller keeps the rest and hands it in again with more. At eof a
  // last line without its newline is parsed too (and everything is
  // consumed). Throws SysError(EBADMSG) naming the path and line number for
  // a malformed line or one longer than kProcNetMaxLine.
  size_t Feed(ByteSpan data, bool eof);

  uint64_t lines() const { return lines_; }

 private:
  uint8_t family_;
  const char* path_;
  DiagSink* sink_;
  uint64_t lines_ = 0;
};

}  // namespace tcpcensus
