// test_netlink_parse.cc: the NETLINK_SOCK_DIAG reply parser on hand-made
// datagrams, well-formed and lying: every length field is checked before
// anything behind it is read (ASan would catch a read past the buffer; the
// buffers here are exact-size vectors so any overrun is one).
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "../common/sys_error.h"
#include "../sockets/netlink_parse.h"
#include "check.h"

using namespace tcpcensus;

namespace {

constexpr uint32_t kSeq = 1;

struct Collect : DiagSink {
  std::vector<SocketRecord> rows;
  void OnSocket(const SocketRecord& r) override { rows.push_back(r); }
};

void Put(std::vector<uint8_t>* out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out->insert(out->end(), b, b + n);
}

void Pad(std::vector<uint8_t>* out) {
  while (out->size() % 4) out->push_back(0);
}

// Appends one message; len_override replaces nlmsg_len (a lie), pad=false
// leaves it unpadded.
void Message(std::vector<uint8_t>* out, uint16_t type, const std::vector<uint8_t>& payload, uint32_t seq = kSeq,
             long len_override = -1, bool pad = true) {
  nlmsghdr h{};
  h.nlmsg_len =
      len_override >= 0 ? static_cast<uint32_t>(len_override) : static_cast<uint32_t>(NLMSG_HDRLEN + payload.size());
  h.nlmsg_type = type;
  h.nlmsg_flags = NLM_F_MULTI;
  h.nlmsg_seq = seq;
  Put(out, &h, sizeof h);
  Put(out, payload.data(), payload.size());
  if (pad) Pad(out);
}

std::vector<uint8_t> SocketPayload(uint8_t state, uint8_t family, uint16_t sport, uint32_t inode,
                                   const std::vector<uint8_t>& attrs = {}) {
  inet_diag_msg m{};
  m.idiag_family = family;
  m.idiag_state = state;
  m.id.idiag_sport = htons(sport);
  m.id.idiag_dport = htons(4242);
  m.id.idiag_src[0] = htonl(0x7f000001);
  m.id.idiag_cookie[0] = 7;
  m.id.idiag_cookie[1] = 1;
  m.idiag_rqueue = 3;
  m.idiag_wqueue = 5;
  m.idiag_uid = 1000;
  m.idiag_inode = inode;
  std::vector<uint8_t> p;
  Put(&p, &m, sizeof m);
  Pad(&p);
  p.insert(p.end(), attrs.begin(), attrs.end());
  return p;
}

std::vector<uint8_t> Attr(uint16_t type, const std::vector<uint8_t>& data, long len_override = -1, bool pad = true) {
  rtattr a{};
  a.rta_type = type;
  a.rta_len = static_cast<unsigned short>(len_override >= 0 ? len_override : RTA_LENGTH(data.size()));
  std::vector<uint8_t> out;
  Put(&out, &a, sizeof a);
  out.insert(out.end(), data.begin(), data.end());
  if (pad) Pad(&out);
  return out;
}

std::vector<uint8_t> Int(int32_t v) {
  std::vector<uint8_t> p(4);
  std::memcpy(p.data(), &v, 4);
  return p;
}

DumpStatus Parse(const std::vector<uint8_t>& d, Collect* c) {
  // An exact-size heap copy: one byte past it is an ASan report.
  std::vector<uint8_t> exact(d.begin(), d.end());
  return ParseDiagDatagram(ByteSpan(exact.data(), exact.size()), kSeq, c);
}

auto IsBadMessage = [](const SysError& e) { return e.err() == EBADMSG; };

}  // namespace

TEST(parses_sockets_and_done) {
  std::vector<uint8_t> d;
  Message(&d, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 80, 111));
  Message(&d, SOCK_DIAG_BY_FAMILY, SocketPayload(12 /* NEW_SYN_RECV */, AF_INET6, 443, 0));
  Message(&d, SOCK_DIAG_BY_FAMILY, SocketPayload(13 /* BOUND_INACTIVE */, AF_INET, 8080, 222));
  Collect c;
  CHECK(Parse(d, &c) == DumpStatus::kMore);
  CHECK_EQ(c.rows.size(), size_t{3});
  if (c.rows.size() != 3) return;
  CHECK_EQ(c.rows[0].state, uint8_t{1});
  CHECK_EQ(c.rows[0].family, uint8_t{4});
  CHECK_EQ(c.rows[0].local_port, uint16_t{80});
  CHECK_EQ(c.rows[0].remote_port, uint16_t{4242});
  CHECK_EQ(c.rows[0].local_addr[0], uint8_t{127});
  CHECK_EQ(c.rows[0].local_addr[3], uint8_t{1});
  CHECK_EQ(c.rows[0].inode, uint32_t{111});
  CHECK_EQ(c.rows[0].recv_q, uint32_t{3});
  CHECK_EQ(c.rows[0].send_q, uint32_t{5});
  CHECK_EQ(c.rows[0].uid, uint32_t{1000});
  CHECK_EQ(c.rows[0].cookie, (uint64_t{1} << 32) | 7);
  CHECK_EQ(c.rows[1].state, uint8_t{3});  // NEW_SYN_RECV reads as SYN_RECV
  CHECK_EQ(c.rows[1].family, uint8_t{6});
  CHECK_EQ(c.rows[2].state, uint8_t{7});  // BOUND_INACTIVE reads as CLOSE

  std::vector<uint8_t> done;
  Message(&done, NLMSG_DONE, Int(0));
  Collect c2;
  CHECK(Parse(done, &c2) == DumpStatus::kDone);
  std::vector<uint8_t> bare_done;
  Message(&bare_done, NLMSG_DONE, {});
  CHECK(Parse(bare_done, &c2) == DumpStatus::kDone);
}

TEST(skips_other_sequence_numbers_and_noop) {
  std::vector<uint8_t> d;
  Message(&d, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 1, 1), kSeq + 1);
  Message(&d, NLMSG_NOOP, {});
  Message(&d, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 2, 2));
  Collect c;
  CHECK(Parse(d, &c) == DumpStatus::kMore);
  CHECK_EQ(c.rows.size(), size_t{1});
}

TEST(kernel_errors_carry_their_errno) {
  std::vector<uint8_t> err;
  Message(&err, NLMSG_ERROR, Int(-EINVAL));
  Collect c;
  CHECK_THROWS(SysError, Parse(err, &c),
               [](const SysError& e) { return e.err() == EINVAL && e.syscall() == "sock_diag"; });
  std::vector<uint8_t> ack;
  Message(&ack, NLMSG_ERROR, Int(0));
  CHECK(Parse(ack, &c) == DumpStatus::kMore);
  std::vector<uint8_t> done_err;
  Message(&done_err, NLMSG_DONE, Int(-ENOMEM));
  CHECK_THROWS(SysError, Parse(done_err, &c), [](const SysError& e) { return e.err() == ENOMEM; });
}

TEST(empty_datagram_is_an_error) {
  Collect c;
  CHECK_THROWS(SysError, Parse({}, &c), IsBadMessage);
}

TEST(error_message_shorter_than_its_payload) {
  std::vector<uint8_t> d;
  Message(&d, NLMSG_ERROR, {0xff, 0xff});  // 2 bytes where the int error belongs
  Collect c;
  CHECK_THROWS(SysError, Parse(d, &c), IsBadMessage);
  std::vector<uint8_t> odd;
  Message(&odd, NLMSG_ERROR, Int(-99999));  // not an errno
  CHECK_THROWS(SysError, Parse(odd, &c), IsBadMessage);
  std::vector<uint8_t> min;
  Message(&min, NLMSG_ERROR, Int(INT32_MIN));  // negating it would overflow
  CHECK_THROWS(SysError, Parse(min, &c), IsBadMessage);
}

TEST(truncated_header_and_message) {
  std::vector<uint8_t> d;
  Message(&d, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 1, 1));
  Collect c;
  for (size_t cut : {size_t{1}, size_t{8}, size_t{15}, size_t{16}, size_t{40}, d.size() - 4}) {
    std::vector<uint8_t> part(d.begin(), d.begin() + static_cast<long>(cut));
    CHECK_THROWS(SysError, Parse(part, &c), IsBadMessage);
  }
  // A socket message too short for inet_diag_msg, length honest.
  std::vector<uint8_t> shortmsg;
  Message(&shortmsg, SOCK_DIAG_BY_FAMILY, std::vector<uint8_t>(20, 0));
  CHECK_THROWS(SysError, Parse(shortmsg, &c), IsBadMessage);
}

TEST(lying_nlmsg_len) {
  Collect c;
  std::vector<uint8_t> good;
  Message(&good, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 1, 1));
  // Longer than the datagram.
  std::vector<uint8_t> longer;
  Message(&longer, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 1, 1), kSeq, static_cast<long>(good.size()) + 4);
  CHECK_THROWS(SysError, Parse(longer, &c), IsBadMessage);
  // Shorter than a header.
  std::vector<uint8_t> tiny;
  Message(&tiny, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 1, 1), kSeq, 8);
  CHECK_THROWS(SysError, Parse(tiny, &c), IsBadMessage);
  // Zero: would loop forever on a parser that steps by it.
  std::vector<uint8_t> zero;
  Message(&zero, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 1, 1), kSeq, 0);
  CHECK_THROWS(SysError, Parse(zero, &c), IsBadMessage);
}

// The defect of issue 8, item 2: a last message whose nlmsg_len is not a
// multiple of 4 made the old unsigned `remaining` wrap, and stale bytes were
// parsed again. Here the datagram ends right after an unpadded message that
// is followed (in a reused buffer) by an old socket record.
TEST(unpadded_last_message_ends_the_datagram) {
  std::vector<uint8_t> d;
  Message(&d, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 1, 1));
  // An unpadded NOOP of 17 bytes (header + 1) closes the datagram.
  Message(&d, NLMSG_NOOP, {0x5a}, kSeq, -1, /*pad=*/false);
  const size_t datagram = d.size();
  // What a reused receive buffer still holds behind it: a stale socket.
  std::vector<uint8_t> buffer = d;
  Pad(&buffer);
  Message(&buffer, SOCK_DIAG_BY_FAMILY, SocketPayload(8, AF_INET, 9999, 9999));
  Collect c;
  CHECK(ParseDiagDatagram(ByteSpan(buffer.data(), datagram), kSeq, &c) == DumpStatus::kMore);
  CHECK_EQ(c.rows.size(), size_t{1});
  // An unpadded socket message that fits is still read.
  std::vector<uint8_t> e;
  // Its last attribute (9 bytes) is not padded either.
  Message(&e, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 2, 2, Attr(1, {1, 2, 3, 4, 5}, -1, false)), kSeq, -1,
          /*pad=*/false);
  Collect c2;
  CHECK(Parse(e, &c2) == DumpStatus::kMore);
  CHECK_EQ(c2.rows.size(), size_t{1});
}

TEST(lying_rta_len) {
  Collect c;
  // Well-formed attributes are walked and ignored.
  std::vector<uint8_t> ok;
  Message(&ok, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 1, 1, Attr(2, {1, 2, 3, 4, 5, 6, 7, 8})));
  CHECK(Parse(ok, &c) == DumpStatus::kMore);
  CHECK_EQ(c.rows.size(), size_t{1});
  for (long lie : {0L, 2L, 3L, 200L, 65535L}) {
    std::vector<uint8_t> d;
    Message(&d, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 1, 1, Attr(2, {1, 2, 3, 4}, lie)));
    CHECK_THROWS(SysError, Parse(d, &c), IsBadMessage);
  }
  // An attribute header cut short (2 of its 4 bytes).
  std::vector<uint8_t> cut;
  std::vector<uint8_t> payload = SocketPayload(1, AF_INET, 1, 1);
  payload.push_back(8);
  payload.push_back(0);
  Message(&cut, SOCK_DIAG_BY_FAMILY, payload);
  CHECK_THROWS(SysError, Parse(cut, &c), IsBadMessage);
}

TEST(unknown_type_and_family_are_errors) {
  Collect c;
  std::vector<uint8_t> d;
  Message(&d, 99, {});
  CHECK_THROWS(SysError, Parse(d, &c), IsBadMessage);
  std::vector<uint8_t> f;
  Message(&f, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_UNIX, 1, 1));
  CHECK_THROWS(SysError, Parse(f, &c), IsBadMessage);
}

// The reply to the one-walk request (TCPDIAG_GETSOCK, sock_diag.h) carries
// that type on the same inet_diag_msg records; other request types are not
// replies to anything we send.
TEST(one_walk_replies_parse_like_by_family_replies) {
  Collect c;
  std::vector<uint8_t> d;
  Message(&d, TCPDIAG_GETSOCK, SocketPayload(8 /* CLOSE_WAIT */, AF_INET, 80, 7));
  Message(&d, TCPDIAG_GETSOCK, SocketPayload(10 /* LISTEN */, AF_INET6, 443, 9));
  Message(&d, NLMSG_DONE, std::vector<uint8_t>(4, 0));
  CHECK(Parse(d, &c) == DumpStatus::kDone);
  CHECK(c.rows.size() == 2);
  if (c.rows.size() == 2) {
    CHECK(c.rows[0].state == 8 && c.rows[0].family == 4 && c.rows[0].local_port == 80 && c.rows[0].inode == 7);
    CHECK(c.rows[1].state == 10 && c.rows[1].family == 6 && c.rows[1].local_port == 443 && c.rows[1].inode == 9);
  }
  std::vector<uint8_t> dccp;
  Message(&dccp, TCPDIAG_GETSOCK + 1 /* DCCPDIAG_GETSOCK */, SocketPayload(1, AF_INET, 1, 1));
  CHECK_THROWS(SysError, Parse(dccp, &c), IsBadMessage);
}

TEST(user_state_mapping) {
  CHECK_EQ(UserState(0), uint8_t{0});
  CHECK_EQ(UserState(1), uint8_t{1});
  CHECK_EQ(UserState(11), uint8_t{11});
  CHECK_EQ(UserState(12), uint8_t{3});
  CHECK_EQ(UserState(13), uint8_t{7});
  CHECK_EQ(UserState(14), uint8_t{0});
  CHECK_EQ(UserState(255), uint8_t{0});
}

namespace {
std::vector<uint8_t> U64(uint64_t v) {
  std::vector<uint8_t> p(8);
  std::memcpy(p.data(), &v, 8);
  return p;
}
}  // namespace

// INET_DIAG_CGROUP_ID comes unasked with every full socket (after
// INET_DIAG_SHUTDOWN and friends, possibly behind an INET_DIAG_PAD that
// aligns it); mini-sockets (TIME_WAIT, request sockets) have no attributes:
// 0. A full socket (INET_DIAG_SHUTDOWN) without an id says the kernel sends
// none.
TEST(cgroup_id_attribute) {
  std::vector<uint8_t> attrs = Attr(INET_DIAG_SHUTDOWN, {0});
  const std::vector<uint8_t> pad = Attr(INET_DIAG_PAD, {});
  attrs.insert(attrs.end(), pad.begin(), pad.end());
  const std::vector<uint8_t> id = Attr(INET_DIAG_CGROUP_ID, U64(0x1234567890ull));
  attrs.insert(attrs.end(), id.begin(), id.end());
  std::vector<uint8_t> d;
  Message(&d, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 80, 111, attrs));
  Message(&d, SOCK_DIAG_BY_FAMILY, SocketPayload(6 /* TIME_WAIT */, AF_INET, 81, 0));
  struct Flag : Collect {
    size_t without = 0;
    void OnNoCgroupId() override { ++without; }
  } c;
  CHECK(Parse(d, &c) == DumpStatus::kMore);
  CHECK_EQ(c.rows.size(), size_t{2});
  if (c.rows.size() == 2) {
    CHECK_EQ(c.rows[0].cgroup_id, uint64_t{0x1234567890ull});
    CHECK_EQ(c.rows[1].cgroup_id, uint64_t{0});
  }
  CHECK_EQ(c.without, size_t{0});
  // A full socket (it has INET_DIAG_SHUTDOWN) from a kernel without ids.
  std::vector<uint8_t> old;
  Message(&old, SOCK_DIAG_BY_FAMILY, SocketPayload(1, AF_INET, 80, 111, Attr(INET_DIAG_SHUTDOWN, {0})));
  CHECK(Parse(old, &c) == DumpStatus::kMore);
  CHECK_EQ(c.without, size_t{1});
  // A request socket as root: INET_DIAG_MARK only, no id, and rightly so.
  std::vector<uint8_t> req;
  Message(&req, SOCK_DIAG_BY_FAMILY, SocketPayload(12, AF_INET, 80, 0, Attr(INET_DIAG_MARK, {0, 0, 0, 0})));
  CHECK(Parse(req, &c) == DumpStatus::kMore);
  CHECK_EQ(c.without, size_t{1});
  // Any other size is not a u64: refused, never half-read.
  for (size_t n : {size_t{0}, size_t{4}, size_t{7}, size_t{9}, size_t{16}}) {
    std::vector<uint8_t> bad;
    Message(&bad, SOCK_DIAG_BY_FAMILY,
            SocketPayload(1, AF_INET, 80, 111, Attr(INET_DIAG_CGROUP_ID, std::vector<uint8_t>(n, 1))));
    CHECK_THROWS(SysError, Parse(bad, &c), IsBadMessage);
  }
}
