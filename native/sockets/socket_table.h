// socket_table.h: the columnar socket table every socket source fills.
//
// TCPCENSUS_SOCKET_COLUMNS is the one list of columns: it generates the
// record a parser produces, the table's vectors, their growth, the merge of
// two tables and (in binding/convert.cc) the conversion to JS typed arrays.
// Adding a column is one line here (and its field in src/core/columns.ts,
// which the loader, src/core/addon.ts, checks against this list).
//
// X(name, element type, values per row, JS name)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#define TCPCENSUS_SOCKET_COLUMNS(X)         \
  X(state, uint8_t, 1, "state")             \
  X(family, uint8_t, 1, "family")           \
  X(local_addr, uint8_t, 16, "localAddr")   \
  X(remote_addr, uint8_t, 16, "remoteAddr") \
  X(local_port, uint16_t, 1, "localPort")   \
  X(remote_port, uint16_t, 1, "remotePort") \
  X(recv_q, uint32_t, 1, "recvQ")           \
  X(send_q, uint32_t, 1, "sendQ")           \
  X(uid, uint32_t, 1, "uid")                \
  X(inode, uint32_t, 1, "inode")            \
  X(ifindex, uint32_t, 1, "ifindex")        \
  X(cookie, uint64_t, 1, "cookie")          \
  X(cgroup_id, uint64_t, 1, "cgroupId")

namespace tcpcensus {

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

// One value of a column: the element itself, or an array of them.
template <typename T, size_t Width>
struct ColumnValue {
  using type = std::array<T, Width>;
};
template <typename T>
struct ColumnValue<T, 1> {
  using type = T;
};

// One socket as a parser hands it over. Addresses are 16 bytes in network
// order (IPv4 uses the first 4), ports host order, state the user-visible
// state (1..11). cgroup_id is the cgroup v2 id of the socket's creator, 0
// when unknown: the kernel's mini-sockets carry none (TIME_WAIT, request
// sockets, and orphaned FIN_WAIT2 sockets, which it keeps as TIME_WAIT
// mini-sockets in substate FIN_WAIT2), nor does /proc/net/tcp.
struct SocketRecord {
#define TCPCENSUS_FIELD(name, T, width, js) typename ColumnValue<T, width>::type name{};
  TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_FIELD)
#undef TCPCENSUS_FIELD
};

// Where a socket source hands each socket it reads (the netlink parser, the
// /proc/net/tcp parser): counting, filtering or keeping rows.
class DiagSink {
 public:
  virtual ~DiagSink() = default;
  virtual void OnSocket(const SocketRecord& r) = 0;
  // A full socket (INET_DIAG_SHUTDOWN comes with every one) came without
  // INET_DIAG_CGROUP_ID:
  // this kernel sends no cgroup ids (before 5.7, or without
  // CONFIG_SOCK_CGROUP_DATA). Called before OnSocket for that socket.
  virtual void OnNoCgroupId() {}
};

class SocketTable {
 public:
#define TCPCENSUS_VECTOR(name, T, width, js) std::vector<T> name;
  TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_VECTOR)
#undef TCPCENSUS_VECTOR

  size_t size() const { return size_; }

  // Columns grow geometrically: appends are amortised bulk growth, never an
  // allocation per socket.
  void Append(const SocketRecord& r) {
    if (size_ == state.capacity()) Reserve(size_ < 4096 ? 4096 : size_ * 2);
#define TCPCENSUS_PUSH(name, type, width, js) Push(name, r.name);
    TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_PUSH)
#undef TCPCENSUS_PUSH
    ++size_;
  }

  void Reserve(size_t rows) {
#define TCPCENSUS_RESERVE(name, type, width, js) name.reserve(static_cast<size_t>(width) * rows);
    TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_RESERVE)
#undef TCPCENSUS_RESERVE
  }

  // Forgets every row but keeps the columns' capacity: a table refilled
  // batch after batch allocates only while it grows to its largest batch.
  void Clear() {
#define TCPCENSUS_CLEAR(name, type, width, js) name.clear();
    TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_CLEAR)
#undef TCPCENSUS_CLEAR
    size_ = 0;
  }

  // Appends rows [from, from + n) of other (the caller keeps them in range).
  void AppendRange(const SocketTable& other, size_t from, size_t n) {
    Reserve(size_ + n);
#define TCPCENSUS_RANGE(name, type, width, js) \
  name.insert(name.end(), other.name.begin() + from * (width), other.name.begin() + (from + n) * (width));
    TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_RANGE)
#undef TCPCENSUS_RANGE
    size_ += n;
  }

  // Appends every row of other.
  void Merge(const SocketTable& other) {
    if (other.size_ == 0) return;
    Reserve(size_ + other.size_);
#define TCPCENSUS_MERGE(name, type, width, js) name.insert(name.end(), other.name.begin(), other.name.end());
    TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_MERGE)
#undef TCPCENSUS_MERGE
    size_ += other.size_;
  }

 private:
  template <typename T>
  static void Push(std::vector<T>& column, T v) {
    column.push_back(v);
  }
  template <typename T, size_t N>
  static void Push(std::vector<T>& column, const std::array<T, N>& v) {
    column.insert(column.end(), v.begin(), v.end());
  }

  size_t size_ = 0;
};

}  // namespace tcpcensus
