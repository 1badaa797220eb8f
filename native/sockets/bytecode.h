// bytecode.h: a pure interpreter of INET_DIAG_REQ_BYTECODE programs, so the
// procfs source filters with exactly the kernel's meaning.
//
// No I/O. Mirrors net/ipv4/inet_diag.c: inet_diag_bc_audit (which programs
// the kernel accepts) and inet_diag_bc_run (what they match). Layout
// (linux/inet_diag.h): a program is a list of struct inet_diag_bc_op
// {u8 code; u8 yes; u16 no} (host order). When an op matches, the walk
// moves `yes` bytes on, otherwise `no` bytes; a socket is accepted when the
// walk ends exactly at the end of the program. Operands follow their op:
//   S_GE/S_LE/D_GE/D_LE/S_EQ/D_EQ: a second op whose `no` is the port;
//   S_COND/D_COND: struct inet_diag_hostcond {u8 family; u8 prefix_len;
//     int port (-1 = any); be32 addr[0, 1 or 4 words]};
//   DEV_COND: u32 ifindex; MARK_COND: struct inet_diag_markcond {u32 mark,
//     mask} (needs CAP_NET_ADMIN in the kernel);
//   CGROUP_COND: u64 cgroup v2 id, unaligned (kernel 5.7+);
//   JMP: always takes `no`; NOP: always takes `yes`; AUTO: no operand.
// Audit rules: every op's yes and no are multiples of 4, at least the op's
// size with operands, at most 4 past the end; a `no` that lands inside the
// program must land on an op reachable from the start by `yes` steps; the
// `yes` steps must end exactly at the end.
//
// The kernel sees no cgroup id (0) for its mini-sockets (TIME_WAIT, also in
// substate FIN_WAIT2, and request sockets), so a CGROUP_COND never matches
// them.
#pragma once

#include <cstdint>
#include <string>

#include "../common/bytes.h"

namespace tcpcensus {

// The fields of a socket a program can look at (struct inet_diag_entry).
struct BcEntry {
  uint8_t family = 0;              // AF_INET or AF_INET6
  const uint8_t* saddr = nullptr;  // 16 bytes, network order (IPv4: the first 4)
  const uint8_t* daddr = nullptr;
  uint16_t sport = 0;  // host order
  uint16_t dport = 0;
  uint32_t ifindex = 0;
  uint32_t mark = 0;
  uint16_t userlocks = 0;
  uint64_t cgroup_id = 0;
};

// What an audited program needs to know about a socket beyond addresses and
// ports: a source that cannot tell must refuse the program.
enum BcNeeds : unsigned {
  kBcNeedsIfindex = 1u << 0,    // DEV_COND
  kBcNeedsMark = 1u << 1,       // MARK_COND
  kBcNeedsUserlocks = 1u << 2,  // AUTO
  kBcNeedsCgroup = 1u << 3,     // CGROUP_COND
};

struct BcAudit {
  bool ok = false;
  std::string error;   // why not, when !ok
  unsigned needs = 0;  // BcNeeds
};

// Checks a program as inet_diag_bc_audit does (net_admin assumed, so
// MARK_COND passes). An empty program is not a program (the kernel refuses
// an attribute shorter than one op).
BcAudit AuditBytecode(ByteSpan program);

// Runs a program on one socket: true when it accepts it. Meant for audited
// programs, but still reads only inside the program and always moves
// forward, so any bytes at all end in a verdict (an op it cannot read or a
// step that is not a positive multiple of 4 rejects).
bool RunBytecode(ByteSpan program, const BcEntry& e);

}  // namespace tcpcensus
