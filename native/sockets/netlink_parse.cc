// netlink_parse.cc: NETLINK_SOCK_DIAG reply parsing (see netlink_parse.h).
//
// Layout (netlink(7), linux/inet_diag.h): a datagram holds messages, each an
// nlmsghdr followed by its payload and padded to 4 bytes. A socket's payload
// is struct inet_diag_msg followed by rtattr extensions, each padded to 4.
#include "netlink_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

#include "../common/sys_error.h"

namespace tcpcensus {

namespace {

constexpr size_t kAlign = 4;  // NLMSG_ALIGNTO and RTA_ALIGNTO
constexpr size_t Align(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

[[noreturn]] void Malformed(const std::string& what) {
  throw SysError("recvmsg", EBADMSG, "(NETLINK_SOCK_DIAG reply: " + what + ")");
}

uint16_t FromBigEndian(uint16_t v) { return ntohs(v); }

// Reads inet_diag_msg and its attributes from one message's payload.
void ParseSocket(ByteSpan payload, DiagSink* sink) {
  inet_diag_msg m;
  if (!payload.ReadAt(0, &m)) Malformed("inet_diag_msg cut short");
  if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6) {
    Malformed("address family " + std::to_string(m.idiag_family));
  }
  SocketRecord r;
  // Attributes follow the aligned message; each is checked so a lying
  // rta_len can never move the reader outside the payload. The kernel adds
  // INET_DIAG_CGROUP_ID (a u64, kernel 5.7+ with CONFIG_SOCK_CGROUP_DATA) to
  // every full socket without being asked through idiag_ext
  // (inet_diag_msg_attrs_fill, which always adds INET_DIAG_SHUTDOWN too);
  // mini-sockets (TIME_WAIT, also in substate FIN_WAIT2, and request
  // sockets, which get at most INET_DIAG_MARK) carry neither, so their
  // cgroup_id stays 0 = unknown. INET_DIAG_SHUTDOWN without a cgroup id
  // means the kernel sends none.
  bool full = false, has_cgroup = false;
  for (ByteSpan attrs = payload.From(Align(sizeof m)); !attrs.empty();) {
    rtattr a;
    if (!attrs.ReadAt(0, &a)) Malformed("attribute header cut short");
    if (a.rta_len < sizeof a || a.rta_len > attrs.size()) {
      Malformed("attribute length " + std::to_string(a.rta_len));
    }
    if (a.rta_type == INET_DIAG_CGROUP_ID) {
      const ByteSpan value = attrs.Sub(RTA_LENGTH(0), a.rta_len - RTA_LENGTH(0));
      // nla_put_u64_64bit may put an INET_DIAG_PAD before it, never inside:
      // the value is exactly 8 bytes, possibly unaligned (ReadAt copies).
      if (value.size() != sizeof r.cgroup_id || !value.ReadAt(0, &r.cgroup_id)) {
        Malformed("INET_DIAG_CGROUP_ID of " + std::to_string(value.size()) + " bytes");
      }
      has_cgroup = true;
    }
    if (a.rta_type == INET_DIAG_SHUTDOWN) full = true;
    const size_t step = Align(a.rta_len);
    attrs = step >= attrs.size() ? ByteSpan() : attrs.From(step);
  }

  r.state = UserState(m.idiag_state);
  r.family = m.idiag_family == AF_INET6 ? 6 : 4;
  static_assert(sizeof m.id.idiag_src == 16 && sizeof m.id.idiag_dst == 16, "16-byte addresses");
  std::memcpy(r.local_addr.data(), m.id.idiag_src, 16);
  std::memcpy(r.remote_addr.data(), m.id.idiag_dst, 16);
  r.local_port = FromBigEndian(m.id.idiag_sport);
  r.remote_port = FromBigEndian(m.id.idiag_dport);
  r.recv_q = m.idiag_rqueue;
  r.send_q = m.idiag_wqueue;
  r.uid = m.idiag_uid;
  r.inode = m.idiag_inode;
  r.ifindex = m.id.idiag_if;
  r.cookie = static_cast<uint64_t>(m.id.idiag_cookie[0]) | (static_cast<uint64_t>(m.id.idiag_cookie[1]) << 32);
  if (full && !has_cgroup) sink->OnNoCgroupId();
  sink->OnSocket(r);
}

// The errno carried by NLMSG_ERROR or NLMSG_DONE: a negative int.
int PayloadError(ByteSpan payload, const char* what) {
  int32_t err;
  if (!payload.ReadAt(0, &err)) Malformed(std::string(what) + " without its error field");
  // Kernel errnos are 1..4095 (MAX_ERRNO); anything else is not an errno
  // (and negating INT32_MIN would overflow).
  if (err < -4095 || err > 0) Malformed(std::string(what) + " error " + std::to_string(err));
  return err;
}

}  // namespace

uint8_t UserState(uint8_t kernel_state) {
  if (kernel_state == kNewSynRecv) return kSynRecv;
  if (kernel_state == kBoundInactive) return kClose;
  return kernel_state >= 1 && kernel_state <= kClosing ? kernel_state : 0;
}

DumpStatus ParseDiagDatagram(ByteSpan datagram, uint32_t seq, DiagSink* sink) {
  if (datagram.empty()) Malformed("empty datagram");
  ByteSpan rest = datagram;
  while (!rest.empty()) {
    nlmsghdr h;
    if (!rest.ReadAt(0, &h)) Malformed("message header cut short");
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > rest.size()) {
      Malformed("message length " + std::to_string(h.nlmsg_len) + " with " + std::to_string(rest.size()) +
                " bytes left");
    }
    const ByteSpan payload = rest.Sub(Align(sizeof h), h.nlmsg_len - Align(sizeof h));
    // The next message starts at the aligned length; a last message the
    // kernel did not pad simply ends the datagram.
    const size_t step = Align(h.nlmsg_len);
    rest = step >= rest.size() ? ByteSpan() : rest.From(step);

    if (h.nlmsg_seq != seq) continue;  // not ours (cannot happen on a private socket)
    switch (h.nlmsg_type) {
      case NLMSG_DONE: {
        // A dump that failed part-way reports the error in DONE's payload;
        // an older kernel may send DONE with no payload at all.
        if (payload.size() >= sizeof(int32_t)) {
          int err = PayloadError(payload, "NLMSG_DONE");
          if (err < 0) throw SysError("sock_diag", -err);
        }
        return DumpStatus::kDone;
      }
      case NLMSG_ERROR: {
        int err = PayloadError(payload, "NLMSG_ERROR");
        if (err == 0) continue;  // an ACK, not an error
        throw SysError("sock_diag", -err);
      }
      case NLMSG_NOOP:
        continue;
      case SOCK_DIAG_BY_FAMILY:
      case TCPDIAG_GETSOCK:  // the reply to the one-walk request (sock_diag.h): the same inet_diag_msg
        ParseSocket(payload, sink);
        continue;
      default:
        Malformed("message type " + std::to_string(h.nlmsg_type));
    }
  }
  return DumpStatus::kMore;
}

}  // namespace tcpcensus
