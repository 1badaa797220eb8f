// request.h: what a socket dump is asked for and what it says about itself,
// shared by every socket source (NETLINK_SOCK_DIAG in sock_diag.*, the
// /proc/net/tcp text in procnet.*) and the code that picks one (sources.*).
//
// Plain C++ with no N-API inside. Man pages: sock_diag(7) (idiag_states,
// INET_DIAG_REQ_BYTECODE), proc(5) (/proc/net/tcp), setns(2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "socket_table.h"

namespace tcpcensus {

enum FamilyBits : unsigned {
  kFamilyIPv4 = 1u << 0,
  kFamilyIPv6 = 1u << 1,
};

// Where the sockets come from. kAuto asks the kernel over NETLINK_SOCK_DIAG
// and reads /proc/net/tcp{,6} instead when netlink is refused (sandboxes:
// gVisor, strict seccomp profiles).
enum class Source : uint8_t { kAuto, kNetlink, kProcfs };

struct DumpRequest {
  unsigned families = kFamilyIPv4 | kFamilyIPv6;
  // Bit mask of 1 << state, as sock_diag(7) idiag_states. Callers pass states
  // 1..11; the request adds NEW_SYN_RECV with SYN_RECV and BOUND_INACTIVE with
  // CLOSE, because those are how the kernel files the same user-visible state.
  uint32_t states = 0;
  // INET_DIAG_REQ_BYTECODE program (inet_diag_bc_op ops); empty = no filter.
  // The procfs source runs the same program itself (bytecode.*).
  std::vector<uint8_t> bytecode;
  // A dump that keeps rows stops with LimitError past this many; 0 = no bound.
  size_t max_rows = 0;
  // A dump that keeps rows keeps only those in these states (1 << state,
  // user-visible states); 0 = every row. The others are only tallied
  // (DumpTally): a sampler counts every state but needs the rows of a few.
  uint32_t keep_states = 0;
  Source source = Source::kAuto;
  // A network namespace file to dump in (/var/run/netns/NAME,
  // /proc/PID/ns/net); empty = the caller's own. See netns.h.
  std::string netns;
};

// Per-state, per-family counts. Index by state number (1..11).
struct StateCounts {
  uint64_t ipv4[kStateSlots] = {};
  uint64_t ipv6[kStateSlots] = {};
};

// What a dump that keeps rows counted of every row it saw, kept or not.
struct DumpTally {
  StateCounts counts;
  uint64_t unowned[kStateSlots] = {};  // rows with inode 0: no process holds them
};

// What a source could not tell, so that a zero in the result is never read
// as a known value.
enum MissingBits : unsigned {
  kMissingBoundInactive = 1u << 0,  // CLOSE (bound, inactive) sockets: not in /proc/net/tcp
  kMissingCgroupId = 1u << 1,       // cgroup ids: not in /proc/net/tcp, or a kernel that sends none
  kMissingCookie = 1u << 2,         // socket cookies: not in /proc/net/tcp
  kMissingIfindex = 1u << 3,        // bound interface: not in /proc/net/tcp
  kMissingListenBacklog = 1u << 4,  // LISTEN rows' sendQ (the backlog): /proc/net/tcp has 0 there
};

// How a dump was answered.
struct DumpInfo {
  Source source = Source::kAuto;  // kNetlink or kProcfs once answered
  // Why kAuto fell back to procfs: the refused call and its errno, e.g.
  // "socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation not permitted";
  // empty when it did not.
  std::string fallback;
  // The inode of the network namespace the dump ran in (nsfs, as
  // stat /proc/self/ns/net shows it); 0 when it could not be read.
  uint64_t netns_inode = 0;
  unsigned missing = 0;  // MissingBits
};

}  // namespace tcpcensus
