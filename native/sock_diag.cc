// sock_diag.cc: the NETLINK_SOCK_DIAG dump behind every tcpcensus count.
//
// Man pages: sock_diag(7) (request and reply layout), netlink(7) (multipart
// replies, NLMSG_DONE, NLMSG_ERROR), recvmsg(2) (MSG_TRUNC). The kernel walks
// its TCP hash tables and fills at most about 32 KiB of inet_diag_msg records
// per datagram; we read each datagram whole and parse it in place.
#include "sock_diag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <system_error>
#include <thread>

namespace tcpcensus {

namespace {

std::string ErrorMessage(const char* syscall, int err) {
  char buf[256];
  // GNU strerror_r returns the message pointer (may not be buf).
  const char* msg = strerror_r(err, buf, sizeof buf);
  return std::string(syscall) + " failed: " + msg;
}

// Large enough for any datagram the kernel sends for a dump (it caps each at
// 32 KiB); MSG_TRUNC is still checked so a cut reply is an error, not a
// silent loss.
constexpr size_t kRecvBufferSize = 64 * 1024;
// Room for the kernel to queue replies while we parse: the default rmem
// (~200 KiB) is fine for correctness (netlink dumps are flow-controlled) but
// more lets the kernel run ahead of us.
constexpr int kSocketRecvBuffer = 4 * 1024 * 1024;

class NetlinkSocket {
 public:
  NetlinkSocket() {
    fd_ = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd_ < 0) throw SysError("socket", errno);
    int size = kSocketRecvBuffer;
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it SO_RCVBUF (capped at
    // net.core.rmem_max) is the best we can do and is still correct.
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) {
      (void)setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
  }
  ~NetlinkSocket() { close(fd_); }
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

void SendRequest(int fd, int family, uint32_t states,
                 const std::vector<uint8_t>& bytecode, uint32_t seq) {
  const size_t bc_attr = bytecode.empty() ? 0 : RTA_SPACE(bytecode.size());
  std::vector<uint8_t> msg(NLMSG_SPACE(sizeof(inet_diag_req_v2)) + bc_attr, 0);

  auto* nlh = reinterpret_cast<nlmsghdr*>(msg.data());
  nlh->nlmsg_len = static_cast<uint32_t>(msg.size());
  nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;

  auto* req = reinterpret_cast<inet_diag_req_v2*>(NLMSG_DATA(nlh));
  req->sdiag_family = static_cast<uint8_t>(family);
  req->sdiag_protocol = IPPROTO_TCP;
  req->idiag_states = states;

  if (!bytecode.empty()) {
    auto* rta = reinterpret_cast<rtattr*>(msg.data() +
                                          NLMSG_SPACE(sizeof(inet_diag_req_v2)));
    rta->rta_type = INET_DIAG_REQ_BYTECODE;
    rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(bytecode.size()));
    std::memcpy(RTA_DATA(rta), bytecode.data(), bytecode.size());
  }

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = sendto(fd, msg.data(), msg.size(), 0,
                       reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    if (n >= 0) return;
    if (errno != EINTR) throw SysError("sendto", errno);
  }
}

// Runs one dump for one family and calls visit(const inet_diag_msg&) for each
// socket. visit is a template parameter so the per-socket path is inlined.
template <typename Visit>
void DumpFamily(int family, const DumpRequest& req, std::vector<uint8_t>& buf,
                Visit&& visit) {
  NetlinkSocket sock;
  const uint32_t seq = 1;
  SendRequest(sock.fd(), family, KernelStateMask(req.states), req.bytecode, seq);

  for (;;) {
    iovec iov{buf.data(), buf.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t len = recvmsg(sock.fd(), &mh, 0);
    if (len < 0) {
      if (errno == EINTR) continue;
      throw SysError("recvmsg", errno);
    }
    if (mh.msg_flags & MSG_TRUNC) throw SysError("recvmsg", EMSGSIZE);
    if (len == 0) throw SysError("recvmsg", ENODATA);

    unsigned remaining = static_cast<unsigned>(len);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data());
         NLMSG_OK(nlh, remaining); nlh = NLMSG_NEXT(nlh, remaining)) {
      if (nlh->nlmsg_seq != seq) continue;  // not ours (cannot happen on a private socket)
      if (nlh->nlmsg_type == NLMSG_DONE) {
        // A dump that failed part-way reports the error in DONE's payload.
        if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int err = *reinterpret_cast<int*>(NLMSG_DATA(nlh));
          if (err < 0) throw SysError("sock_diag", -err);
        }
        return;
      }
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
          throw SysError("sock_diag", EBADMSG);
        }
        auto* e = reinterpret_cast<nlmsgerr*>(NLMSG_DATA(nlh));
        if (e->error == 0) continue;  // an ACK, not an error
        throw SysError("sock_diag", -e->error);
      }
      if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
          nlh->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
        throw SysError("sock_diag", EBADMSG);
      }
      visit(*reinterpret_cast<const inet_diag_msg*>(NLMSG_DATA(nlh)));
    }
  }
}

inline uint8_t UserState(uint8_t kernel_state) {
  if (kernel_state == kNewSynRecv) return kSynRecv;
  if (kernel_state == kBoundInactive) return kClose;
  return kernel_state < kStateSlots ? kernel_state : 0;
}

// The kernel walks its whole TCP hash table for each family's dump (both
// families live in one table), so the two dumps run in parallel: the IPv6
// one on a second thread into its own sink, merged afterwards. With one
// family asked for, everything stays on the calling thread.
template <typename Sink, typename Visit, typename Merge>
void DumpAll(const DumpRequest& req, Sink* sink, Visit visit, Merge merge) {
  const bool both = (req.families & kFamilyIPv4) && (req.families & kFamilyIPv6);
  if (!both) {
    std::vector<uint8_t> buf(kRecvBufferSize);
    int family = (req.families & kFamilyIPv4) ? AF_INET : AF_INET6;
    DumpFamily(family, req, buf, [&](const inet_diag_msg& m) { visit(sink, m); });
    return;
  }
  Sink v6;
  std::exception_ptr v6_error;
  std::thread helper;
  try {
    helper = std::thread([&] {
      try {
        std::vector<uint8_t> buf(kRecvBufferSize);
        DumpFamily(AF_INET6, req, buf, [&](const inet_diag_msg& m) { visit(&v6, m); });
      } catch (...) {
        v6_error = std::current_exception();
      }
    });
  } catch (const std::system_error& e) {
    throw SysError("pthread_create", e.code().value());
  }
  std::exception_ptr v4_error;
  try {
    std::vector<uint8_t> buf(kRecvBufferSize);
    DumpFamily(AF_INET, req, buf, [&](const inet_diag_msg& m) { visit(sink, m); });
  } catch (...) {
    v4_error = std::current_exception();
  }
  helper.join();
  if (v4_error) std::rethrow_exception(v4_error);
  if (v6_error) std::rethrow_exception(v6_error);
  merge(sink, v6);
}

// Calls f(column of a, the same column of b, values per row) for every
// column: the one list of columns that reserve() and the merge share.
template <typename A, typename B, typename F>
void ZipColumns(A& a, B& b, F&& f) {
  f(a.state, b.state, 1);
  f(a.family, b.family, 1);
  f(a.local_addr, b.local_addr, 16);
  f(a.remote_addr, b.remote_addr, 16);
  f(a.local_port, b.local_port, 1);
  f(a.remote_port, b.remote_port, 1);
  f(a.recv_q, b.recv_q, 1);
  f(a.send_q, b.send_q, 1);
  f(a.uid, b.uid, 1);
  f(a.inode, b.inode, 1);
  f(a.ifindex, b.ifindex, 1);
  f(a.cookie, b.cookie, 1);
}

}  // namespace

SysError::SysError(const char* syscall, int err)
    : std::runtime_error(ErrorMessage(syscall, err)), syscall_(syscall), err_(err) {}

uint32_t KernelStateMask(uint32_t states) {
  if (states & (1u << kSynRecv)) states |= 1u << kNewSynRecv;
  if (states & (1u << kClose)) states |= 1u << kBoundInactive;
  return states;
}

void SocketTable::reserve(size_t rows) {
  ZipColumns(*this, *this, [rows](auto& column, auto&, size_t width) { column.reserve(rows * width); });
}

void CountStates(const DumpRequest& req, StateCounts* out) {
  DumpAll(
      req, out,
      [](StateCounts* c, const inet_diag_msg& m) {
        uint64_t* counts = m.idiag_family == AF_INET6 ? c->ipv6 : c->ipv4;
        counts[UserState(m.idiag_state)]++;
      },
      [](StateCounts* to, const StateCounts& from) {
        for (size_t i = 0; i < kStateSlots; ++i) {
          to->ipv4[i] += from.ipv4[i];
          to->ipv6[i] += from.ipv6[i];
        }
      });
}

namespace {

inline void AppendRow(SocketTable* t, const inet_diag_msg& m) {
  // Columns grow geometrically, so appends are amortised bulk growth, not an
  // allocation per socket.
  if (t->size == t->state.capacity()) {
    t->reserve(t->size < 4096 ? 4096 : t->size * 2);
  }
  t->state.push_back(UserState(m.idiag_state));
  t->family.push_back(m.idiag_family == AF_INET6 ? 6 : 4);
  const auto* src = reinterpret_cast<const uint8_t*>(m.id.idiag_src);
  const auto* dst = reinterpret_cast<const uint8_t*>(m.id.idiag_dst);
  t->local_addr.insert(t->local_addr.end(), src, src + 16);
  t->remote_addr.insert(t->remote_addr.end(), dst, dst + 16);
  t->local_port.push_back(ntohs(m.id.idiag_sport));
  t->remote_port.push_back(ntohs(m.id.idiag_dport));
  t->recv_q.push_back(m.idiag_rqueue);
  t->send_q.push_back(m.idiag_wqueue);
  t->uid.push_back(m.idiag_uid);
  t->inode.push_back(m.idiag_inode);
  t->ifindex.push_back(m.id.idiag_if);
  t->cookie.push_back(static_cast<uint64_t>(m.id.idiag_cookie[0]) |
                      (static_cast<uint64_t>(m.id.idiag_cookie[1]) << 32));
  t->size++;
}

void AppendTable(SocketTable* to, const SocketTable& from) {
  if (from.size == 0) return;
  to->reserve(to->size + from.size);
  ZipColumns(*to, from, [](auto& column, const auto& more, size_t) {
    column.insert(column.end(), more.begin(), more.end());
  });
  to->size += from.size;
}

}  // namespace

void DumpSockets(const DumpRequest& req, SocketTable* t) {
  DumpAll(req, t, AppendRow, AppendTable);
}

}  // namespace tcpcensus
