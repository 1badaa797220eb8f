// sock_diag.cc: the NETLINK_SOCK_DIAG dump (see sock_diag.h).
//
// Man pages: sock_diag(7) (request layout), netlink(7) (multipart replies),
// recvmsg(2) (MSG_TRUNC). The kernel walks its TCP hash tables and fills at
// most about 32 KiB of inet_diag_msg records per datagram; each datagram is
// read whole into a buffer of known size and handed to the pure parser
// (netlink_parse.*), which is where every byte is checked.
#include "sock_diag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "../common/bytes.h"
#include "../common/fd.h"
#include "netlink_parse.h"

namespace tcpcensus {

namespace {

// Large enough for any datagram the kernel sends for a dump (it caps each at
// 32 KiB); MSG_TRUNC is still checked so a cut reply is an error, not a
// silent loss.
constexpr size_t kRecvBufferSize = 64 * 1024;
// Room for the kernel to queue replies while we parse: the default rmem
// (~200 KiB) is fine for correctness (netlink dumps are flow-controlled) but
// more lets the kernel run ahead of us.
constexpr int kSocketRecvBuffer = 4 * 1024 * 1024;
constexpr uint32_t kSeq = 1;

Fd OpenNetlink() {
  Fd fd(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  // Named in full: a sandbox that refuses netlink (seccomp, gVisor) fails
  // here, and "socket failed" alone would not say which socket.
  if (!fd.ok()) throw SysError("socket", errno, "(AF_NETLINK, NETLINK_SOCK_DIAG)");
  int size = kSocketRecvBuffer;
  // SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it SO_RCVBUF (capped at
  // net.core.rmem_max) is the best we can do and is still correct.
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) {
    (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  return fd;
}

// The request: SOCK_DIAG_BY_FAMILY with inet_diag_req_v2 for one family, or
// for AF_UNSPEC TCPDIAG_GETSOCK with inet_diag_req (both families, one walk;
// see sock_diag.h). The bytecode attribute follows either header.
template <typename Req>
std::vector<uint8_t> Message(uint16_t type, const Req& req, const std::vector<uint8_t>& bytecode, uint32_t seq) {
  const size_t bc_attr = bytecode.empty() ? 0 : RTA_SPACE(bytecode.size());
  std::vector<uint8_t> msg(NLMSG_SPACE(sizeof req) + bc_attr, 0);

  nlmsghdr nlh{};
  nlh.nlmsg_len = static_cast<uint32_t>(msg.size());
  nlh.nlmsg_type = type;
  nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh.nlmsg_seq = seq;
  std::memcpy(msg.data(), &nlh, sizeof nlh);
  std::memcpy(msg.data() + NLMSG_HDRLEN, &req, sizeof req);

  if (!bytecode.empty()) {
    rtattr rta{};
    rta.rta_type = INET_DIAG_REQ_BYTECODE;
    rta.rta_len = static_cast<unsigned short>(RTA_LENGTH(bytecode.size()));
    const size_t at = NLMSG_SPACE(sizeof req);
    std::memcpy(msg.data() + at, &rta, sizeof rta);
    std::memcpy(msg.data() + at + RTA_LENGTH(0), bytecode.data(), bytecode.size());
  }
  return msg;
}

std::vector<uint8_t> BuildRequest(int family, uint32_t states, const std::vector<uint8_t>& bytecode, uint32_t seq) {
  if (family == AF_UNSPEC) {
    inet_diag_req req{};
    req.idiag_family = AF_UNSPEC;  // ignored by the kernel: this dump is always AF_UNSPEC
    req.idiag_states = states;
    return Message(TCPDIAG_GETSOCK, req, bytecode, seq);
  }
  inet_diag_req_v2 req{};
  req.sdiag_family = static_cast<uint8_t>(family);
  req.sdiag_protocol = IPPROTO_TCP;
  req.idiag_states = states;
  return Message(SOCK_DIAG_BY_FAMILY, req, bytecode, seq);
}

void SendRequest(int fd, const std::vector<uint8_t>& msg) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    if (n >= 0) return;
    if (errno != EINTR) throw SysError("sendto", errno, "(NETLINK_SOCK_DIAG)");
  }
}

bool IsRefusal(int err) { return err == EPERM || err == EACCES || err == EPROTONOSUPPORT || err == EAFNOSUPPORT; }

// Counts what reaches the caller's sink: a failed one-walk dump may be
// retried per family into the same sink only when nothing did.
class CountingSink : public DiagSink {
 public:
  explicit CountingSink(DiagSink* inner) : inner_(inner) {}
  void OnSocket(const SocketRecord& r) override {
    ++delivered;
    inner_->OnSocket(r);
  }
  void OnNoCgroupId() override { inner_->OnNoCgroupId(); }
  size_t delivered = 0;

 private:
  DiagSink* inner_;
};

// Set once a kernel turned the one-walk request down: it is a property of
// the kernel, so later dumps go per family at once.
std::atomic<bool> one_walk_refused{false};

}  // namespace

uint32_t KernelStateMask(uint32_t states) {
  if (states & (1u << kSynRecv)) states |= 1u << kNewSynRecv;
  if (states & (1u << kClose)) states |= 1u << kBoundInactive;
  return states;
}

NetlinkDump::NetlinkDump(int family, const DumpRequest& req) : buf_(kRecvBufferSize) {
  try {
    fd_ = OpenNetlink();
    SendRequest(fd_.get(), BuildRequest(family, KernelStateMask(req.states), req.bytecode, kSeq));
  } catch (const SysError& e) {
    if (IsRefusal(e.err())) throw NetlinkRefused(e);
    throw;
  }
}

bool NetlinkDump::Next(DiagSink* sink) {
  if (done_) return false;
  // A refusal can come as the first reply (a sandbox that lets the socket be
  // made but answers the request with an error); once the kernel has
  // answered, every error is a real failure.
  try {
    const MutableByteSpan into(buf_);
    for (;;) {
      iovec iov{into.data(), into.size()};
      msghdr mh{};
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      ssize_t len = recvmsg(fd_.get(), &mh, 0);
      if (len < 0) {
        if (errno == EINTR) continue;
        throw SysError("recvmsg", errno, "(NETLINK_SOCK_DIAG)");
      }
      if (mh.msg_flags & MSG_TRUNC) throw SysError("recvmsg", EMSGSIZE, "(NETLINK_SOCK_DIAG)");
      const DumpStatus status = ParseDiagDatagram(into.Filled(static_cast<size_t>(len)), kSeq, sink);
      answered_ = true;
      if (status == DumpStatus::kDone) done_ = true;
      return !done_;
    }
  } catch (const SysError& e) {
    if (!answered_ && IsRefusal(e.err())) throw NetlinkRefused(e);
    throw;
  }
}

void NetlinkDumpFamily(int family, const DumpRequest& req, DiagSink* out) {
  if (family == AF_UNSPEC && one_walk_refused.load(std::memory_order_relaxed)) {
    throw OneWalkUnsupported(SysError("sock_diag", EINVAL, "(TCPDIAG_GETSOCK)"));
  }
  CountingSink counting(out);
  try {
    NetlinkDump dump(family, req);
    while (dump.Next(&counting)) {
    }
  } catch (const SysError& e) {
    // The one-walk request failing before any row was handed over (a
    // kernel without it, or a sandbox that refuses it or netlink itself):
    // the per-family dumps decide, and meet any refusal themselves.
    if (family == AF_UNSPEC && counting.delivered == 0) {
      if (!IsRefusal(e.err())) one_walk_refused.store(true, std::memory_order_relaxed);
      throw OneWalkUnsupported(e);
    }
    throw;
  }
}

bool OneWalkKnownRefused() { return one_walk_refused.load(std::memory_order_relaxed); }

void NoteOneWalkFailure(const SysError& e) {
  if (!IsRefusal(e.err())) one_walk_refused.store(true, std::memory_order_relaxed);
}

}  // namespace tcpcensus
