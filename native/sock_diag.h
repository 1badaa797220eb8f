// sock_diag.h: dump TCP sockets from the kernel over NETLINK_SOCK_DIAG.
//
// Plain C++ with no N-API inside, so it can be unit-tested or fuzzed alone.
// Man pages: sock_diag(7), netlink(7), rtnetlink(7); kernel headers
// linux/inet_diag.h and linux/sock_diag.h.
//
// One dump per address family (AF_INET, AF_INET6) with the caller's state mask
// and an optional INET_DIAG_REQ_BYTECODE filter, so the kernel does the
// filtering and sends only what is wanted. Replies are parsed straight into a
// columnar table (one std::vector per column, grown in bulk), never into one
// heap object per socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tcpcensus {

// A failed system call: what() is "<syscall> failed: <strerror>".
class SysError : public std::runtime_error {
 public:
  SysError(const char* syscall, int err);
  const char* syscall() const { return syscall_; }
  int err() const { return err_; }

 private:
  const char* syscall_;
  int err_;
};

// Kernel TCP state numbers (include/net/tcp_states.h).
enum TcpState : uint8_t {
  kEstablished = 1,
  kSynSent = 2,
  kSynRecv = 3,
  kFinWait1 = 4,
  kFinWait2 = 5,
  kTimeWait = 6,
  kClose = 7,
  kCloseWait = 8,
  kLastAck = 9,
  kListen = 10,
  kClosing = 11,
  kNewSynRecv = 12,     // request sockets; reported by the kernel as SYN_RECV
  kBoundInactive = 13,  // kernel 6.5+: bound, not listening; reported as CLOSE
  kStateSlots = 16,
};

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
};

// Per-state, per-family counts. Index by state number (1..11).
struct StateCounts {
  uint64_t ipv4[kStateSlots] = {};
  uint64_t ipv6[kStateSlots] = {};
};

// Columnar socket table. Addresses are 16 bytes per row in network order; an
// IPv4 address uses the first 4 bytes. Ports are host order.
struct SocketTable {
  size_t size = 0;
  std::vector<uint8_t> state;
  std::vector<uint8_t> family;  // 4 or 6
  std::vector<uint8_t> local_addr;
  std::vector<uint8_t> remote_addr;
  std::vector<uint16_t> local_port;
  std::vector<uint16_t> remote_port;
  std::vector<uint32_t> recv_q;
  std::vector<uint32_t> send_q;
  std::vector<uint32_t> uid;
  std::vector<uint32_t> inode;
  std::vector<uint32_t> ifindex;
  std::vector<uint64_t> cookie;

  void reserve(size_t rows);
};

// Normalises a request mask: adds NEW_SYN_RECV for SYN_RECV and BOUND_INACTIVE
// for CLOSE. Exposed for tests.
uint32_t KernelStateMask(uint32_t states);

// Counts sockets by state without keeping rows. Throws SysError.
void CountStates(const DumpRequest& req, StateCounts* out);

// Dumps matching sockets into *out (appending). Throws SysError.
void DumpSockets(const DumpRequest& req, SocketTable* out);

}  // namespace tcpcensus
