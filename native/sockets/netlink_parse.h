// netlink_parse.h: the pure parser of NETLINK_SOCK_DIAG dump replies.
//
// No I/O: it reads one datagram's bytes (as recvmsg(2) returned them) and
// hands each socket to a sink, so it can be unit-tested and fuzzed alone.
// Man pages: netlink(7) (nlmsghdr, NLMSG_DONE, NLMSG_ERROR, alignment),
// sock_diag(7) (inet_diag_msg and its rtattr extensions), rtnetlink(7).
//
// Nothing from the input is trusted: every nlmsg_len and rta_len is checked
// against the bytes left before anything behind it is read, and a message or
// attribute that does not fit is an error, never a guess.
#pragma once

#include <cstdint>

#include "../common/bytes.h"
#include "socket_table.h"

namespace tcpcensus {

enum class DumpStatus { kMore, kDone };

// Parses one datagram of the reply to the dump with sequence number seq.
// Returns kDone at NLMSG_DONE. Throws SysError("sock_diag", errno) for an
// error the kernel reports (NLMSG_ERROR, or an error in NLMSG_DONE), and
// SysError("sock_diag", EBADMSG, what) for bytes that are not a well-formed
// reply. Messages with another sequence number are skipped.
DumpStatus ParseDiagDatagram(ByteSpan datagram, uint32_t seq, DiagSink* sink);

// Maps the kernel's state to the user-visible one: NEW_SYN_RECV is SYN_RECV,
// BOUND_INACTIVE is CLOSE; 0 for a number outside 1..13.
uint8_t UserState(uint8_t kernel_state);

}  // namespace tcpcensus
