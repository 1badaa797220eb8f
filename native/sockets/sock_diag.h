// sock_diag.h: dump TCP sockets from the kernel over NETLINK_SOCK_DIAG.
//
// Plain C++ with no N-API inside. Man pages: sock_diag(7), netlink(7),
// rtnetlink(7); kernel headers linux/inet_diag.h and linux/sock_diag.h.
//
// One dump per address family (AF_INET, AF_INET6) with the caller's state mask
// and an optional INET_DIAG_REQ_BYTECODE filter, so the kernel does the
// filtering and sends only what is wanted. This file does the I/O; the bytes
// are parsed by netlink_parse.* into a columnar SocketTable (one vector per
// column, grown in bulk), never into one heap object per socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/sys_error.h"
#include "socket_table.h"

namespace tcpcensus {

enum FamilyBits : unsigned {
  kFamilyIPv4 = 1u << 0,
  kFamilyIPv6 = 1u << 1,
};

struct DumpRequest {
  unsigned families = kFamilyIPv4 | kFamilyIPv6;
  // Bit mask of 1 << state, as sock_diag(7) idiag_states. Callers pass states
  // 1..11; the request adds NEW_SYN_RECV with SYN_RECV and BOUND_INACTIVE with
  // CLOSE, because those are how the kernel files the same user-visible state.
  uint32_t states = 0;
  // INET_DIAG_REQ_BYTECODE program (inet_diag_bc_op ops); empty = no filter.
  std::vector<uint8_t> bytecode;
  // A dump that keeps rows stops with LimitError past this many; 0 = no bound.
  size_t max_rows = 0;
};

// Per-state, per-family counts. Index by state number (1..11).
struct StateCounts {
  uint64_t ipv4[kStateSlots] = {};
  uint64_t ipv6[kStateSlots] = {};
};

// Normalises a request mask: adds NEW_SYN_RECV for SYN_RECV and BOUND_INACTIVE
// for CLOSE. Exposed for tests.
uint32_t KernelStateMask(uint32_t states);

// Counts sockets by state without keeping rows. Throws SysError.
void CountStates(const DumpRequest& req, StateCounts* out);

// Dumps matching sockets into *out (appending). Throws SysError, or
// LimitError when req.max_rows is exceeded.
void DumpSockets(const DumpRequest& req, SocketTable* out);

}  // namespace tcpcensus
