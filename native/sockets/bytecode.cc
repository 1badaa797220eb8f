// bytecode.cc: see bytecode.h. Reads only through ByteSpan; mirrors
// inet_diag_bc_audit and inet_diag_bc_run of net/ipv4/inet_diag.c, op for op.
#include "bytecode.h"

#include <linux/inet_diag.h>
#include <sys/socket.h>

#include <cstring>

namespace tcpcensus {

namespace {

constexpr size_t kOp = sizeof(inet_diag_bc_op);  // 4
constexpr size_t kHostcond = 8;                  // family, prefix_len, pad, int port
static_assert(sizeof(inet_diag_hostcond) == kHostcond, "inet_diag_hostcond without addr");

// Size of an op with its operands as the audit requires, or 0 for an
// unknown code; *needs gains what the op reads. For S_COND/D_COND the
// address length depends on the family, so the operand is checked here too.
size_t OpSize(ByteSpan bc, const inet_diag_bc_op& op, unsigned* needs, std::string* error) {
  switch (op.code) {
    case INET_DIAG_BC_S_COND:
    case INET_DIAG_BC_D_COND: {
      uint8_t family = 0, prefix_len = 0;
      if (!bc.ReadAt(kOp, &family) || !bc.ReadAt(kOp + 1, &prefix_len) || !bc.Holds(kOp, kHostcond)) {
        *error = "host condition cut short";
        return 0;
      }
      size_t addr_len = 0;
      if (family == AF_INET) {
        addr_len = 4;
      } else if (family == AF_INET6) {
        addr_len = 16;
      } else if (family != AF_UNSPEC) {
        *error = "host condition of address family " + std::to_string(family);
        return 0;
      }
      if (prefix_len > 8 * addr_len) {
        *error = "prefix length " + std::to_string(prefix_len) + " longer than the address";
        return 0;
      }
      return kOp + kHostcond + addr_len;
    }
    case INET_DIAG_BC_DEV_COND:
      *needs |= kBcNeedsIfindex;
      return kOp + sizeof(uint32_t);
    case INET_DIAG_BC_S_EQ:
    case INET_DIAG_BC_S_GE:
    case INET_DIAG_BC_S_LE:
    case INET_DIAG_BC_D_EQ:
    case INET_DIAG_BC_D_GE:
    case INET_DIAG_BC_D_LE:
      return kOp + kOp;  // the port is the `no` of a second op
    case INET_DIAG_BC_MARK_COND:
      *needs |= kBcNeedsMark;
      return kOp + sizeof(inet_diag_markcond);
    case INET_DIAG_BC_CGROUP_COND:
      *needs |= kBcNeedsCgroup;
      return kOp + sizeof(uint64_t);
    case INET_DIAG_BC_AUTO:
      *needs |= kBcNeedsUserlocks;
      return kOp;
    case INET_DIAG_BC_JMP:
    case INET_DIAG_BC_NOP:
      return kOp;
    default:
      *error = "unknown op code " + std::to_string(op.code);
      return 0;
  }
}

// valid_cc: is there an op `cc` bytes before the end, reachable from the
// start by `yes` steps?
bool ReachableByYes(ByteSpan program, size_t cc) {
  size_t len = program.size();
  size_t at = 0;
  for (;;) {
    if (cc > len) return false;
    if (cc == len) return true;
    inet_diag_bc_op op;
    if (!program.ReadAt(at, &op)) return false;
    if (op.yes < 4 || (op.yes & 3)) return false;
    if (op.yes > len) return false;  // the kernel's len goes negative: no match
    len -= op.yes;
    at += op.yes;
  }
}

// bitstring_match: the first `bits` bits of a and b (network order) agree.
bool PrefixMatch(const uint8_t* a, const uint8_t* b, unsigned bits) {
  const unsigned bytes = bits / 8;
  if (bytes && std::memcmp(a, b, bytes) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF00u >> rest);
  return ((a[bytes] ^ b[bytes]) & mask) == 0;
}

bool IsV4Mapped(const uint8_t* a) {
  static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  return std::memcmp(a, kPrefix, sizeof kPrefix) == 0;
}

// INET_DIAG_BC_S_COND / D_COND on one socket; false when the operand
// cannot be read (an unaudited program).
bool HostCond(ByteSpan operand, bool source, const BcEntry& e) {
  uint8_t family = 0, prefix_len = 0;
  int32_t port = 0;
  if (!operand.ReadAt(0, &family) || !operand.ReadAt(1, &prefix_len) || !operand.ReadAt(4, &port)) return false;
  if (port != -1 && port != (source ? e.sport : e.dport)) return false;
  const uint8_t* addr = source ? e.saddr : e.daddr;
  const ByteSpan want = operand.From(kHostcond);
  if (family != AF_UNSPEC && family != e.family) {
    // An IPv4 condition also matches an IPv4-mapped IPv6 socket.
    return e.family == AF_INET6 && family == AF_INET && prefix_len <= 32 && want.size() >= 4 && IsV4Mapped(addr) &&
           PrefixMatch(addr + 12, want.data(), prefix_len);
  }
  if (prefix_len == 0) return true;
  const size_t addr_len = e.family == AF_INET ? 4 : 16;
  if (prefix_len > 8 * addr_len || want.size() * 8 < prefix_len) return false;
  return PrefixMatch(addr, want.data(), prefix_len);
}

// One op's verdict (the kernel's `yes`).
bool Matches(ByteSpan at, const inet_diag_bc_op& op, const BcEntry& e) {
  inet_diag_bc_op arg{};
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  switch (op.code) {
    case INET_DIAG_BC_NOP:
      return true;
    case INET_DIAG_BC_JMP:
      return false;
    case INET_DIAG_BC_S_EQ:
      return at.ReadAt(kOp, &arg) && e.sport == arg.no;
    case INET_DIAG_BC_S_GE:
      return at.ReadAt(kOp, &arg) && e.sport >= arg.no;
    case INET_DIAG_BC_S_LE:
      return at.ReadAt(kOp, &arg) && e.sport <= arg.no;
    case INET_DIAG_BC_D_EQ:
      return at.ReadAt(kOp, &arg) && e.dport == arg.no;
    case INET_DIAG_BC_D_GE:
      return at.ReadAt(kOp, &arg) && e.dport >= arg.no;
    case INET_DIAG_BC_D_LE:
      return at.ReadAt(kOp, &arg) && e.dport <= arg.no;
    case INET_DIAG_BC_AUTO:
      return !(e.userlocks & 8);  // SOCK_BINDPORT_LOCK (include/net/sock.h)
    case INET_DIAG_BC_S_COND:
    case INET_DIAG_BC_D_COND:
      return HostCond(at.From(kOp), op.code == INET_DIAG_BC_S_COND, e);
    case INET_DIAG_BC_DEV_COND:
      return at.ReadAt(kOp, &u32) && u32 == e.ifindex;
    case INET_DIAG_BC_MARK_COND: {
      inet_diag_markcond m{};
      return at.ReadAt(kOp, &m) && (e.mark & m.mask) == m.mark;
    }
    case INET_DIAG_BC_CGROUP_COND:
      return at.ReadAt(kOp, &u64) && u64 == e.cgroup_id;
    default:
      return false;  // the audit refuses unknown codes; here: no match
  }
}

}  // namespace

BcAudit AuditBytecode(ByteSpan program) {
  BcAudit out;
  if (program.size() < kOp) {
    out.error = "shorter than one op";
    return out;
  }
  size_t len = program.size();
  size_t at = 0;
  while (len > 0) {
    inet_diag_bc_op op;
    if (!program.ReadAt(at, &op)) {
      out.error = "op cut short at byte " + std::to_string(at);
      return out;
    }
    const ByteSpan here = program.From(at);
    const size_t min_len = OpSize(here, op, &out.needs, &out.error);
    if (min_len == 0) return out;
    if (min_len > len) {
      out.error = "operands of op " + std::to_string(op.code) + " run past the end";
      return out;
    }
    if (op.code != INET_DIAG_BC_NOP) {
      if (op.no < min_len || op.no > len + 4 || (op.no & 3)) {
        out.error = "bad `no` " + std::to_string(op.no) + " at byte " + std::to_string(at);
        return out;
      }
      if (op.no < len && !ReachableByYes(program, len - op.no)) {
        out.error = "`no` at byte " + std::to_string(at) + " lands between ops";
        return out;
      }
    }
    if (op.yes < min_len || op.yes > len + 4 || (op.yes & 3)) {
      out.error = "bad `yes` " + std::to_string(op.yes) + " at byte " + std::to_string(at);
      return out;
    }
    if (op.yes > len) break;  // 4 past the end: the walk cannot end exactly
    at += op.yes;
    len -= op.yes;
  }
  if (len != 0) {
    out.error = "ops do not end exactly at the end";
    return out;
  }
  out.ok = true;
  return out;
}

bool RunBytecode(ByteSpan program, const BcEntry& e) {
  size_t len = program.size();
  size_t at = 0;
  while (len > 0) {
    inet_diag_bc_op op;
    if (!program.ReadAt(at, &op)) return false;
    const size_t step = Matches(program.From(at), op, e) ? op.yes : op.no;
    // The audit guarantees this; an unaudited program must still end.
    if (step < 4 || (step & 3)) return false;
    if (step > len) return false;  // past the end: rejected
    at += step;
    len -= step;
  }
  return true;
}

}  // namespace tcpcensus
