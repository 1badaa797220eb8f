// test_procnet.cc: the /proc/net/tcp{,6} parser (sockets/procnet_parse.*)
// on lines as the kernel prints them (full sockets, TIME_WAIT, request
// sockets), split at every byte, on hostile lines; and the procfs source
// against the netlink one on real sockets.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "../common/sys_error.h"
#include "../sockets/procnet_parse.h"
#include "../sockets/sources.h"
#include "check.h"

using namespace tcpcensus;

namespace {

const char kTcp4[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
    "                                                     \n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000  1000        0 456872 1 "
    "00000000c69d139d 100 0 0 10 0                    \n"
    "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000    65534        0 458975 1 "
    "000000007ae8e370 20 4 0 10 -1                    \n"
    "   2: 0100007F:B176 0100007F:8CA5 06 00000000:00000000 03:000010FC 00000000     0        0 0 3 "
    "000000004d2f538c\n"
    "10000: 0100007F:1F90 0100007F:C350 03 00000000:00000000 01:00000064 00000000  1000        0 0 0 "
    "00000000deadbeef\n";

const char kTcp6[] =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue "
    "tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 123 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000200007F:ABCD 01 00000001:00000002 "
    "00:00000000 00000000     7        0 124 1 0000000000000000 20 4 30 10 -1\n";

struct Collect : DiagSink {
  std::vector<SocketRecord> rows;
  void OnSocket(const SocketRecord& r) override { rows.push_back(r); }
};

std::vector<SocketRecord> ParseAll(const std::string& text, uint8_t family, size_t chunk = 0) {
  Collect c;
  ProcNetParser p(family, "/proc/net/tcp", &c);
  if (chunk == 0) {
    std::vector<uint8_t> exact(text.begin(), text.end());
    p.Feed(ByteSpan(exact.data(), exact.size()), true);
    return c.rows;
  }
  // Feed in pieces the way procnet.cc does: unconsumed bytes come back in
  // front of the next piece.
  std::string pending;
  size_t at = 0;
  for (;;) {
    const size_t take = std::min(chunk, text.size() - at);
    pending += text.substr(at, take);
    at += take;
    const bool eof = at == text.size() && take == 0;
    std::vector<uint8_t> exact(pending.begin(), pending.end());
    const size_t used = p.Feed(ByteSpan(exact.data(), exact.size()), eof);
    pending.erase(0, used);
    if (eof) break;
  }
  CHECK(pending.empty());
  return c.rows;
}

ByteSpan Text(const std::string& s) { return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

auto IsBadMessage = [](const SysError& e) { return e.err() == EBADMSG; };

}  // namespace

TEST(procnet_parses_ipv4_lines) {
  const auto rows = ParseAll(kTcp4, 4);
  CHECK_EQ(rows.size(), size_t{4});
  if (rows.size() != 4) return;
  const SocketRecord& l = rows[0];
  CHECK_EQ(l.state, uint8_t{kListen});
  CHECK_EQ(l.family, uint8_t{4});
  CHECK_EQ(l.local_port, uint16_t{8080});
  const uint8_t lo[4] = {127, 0, 0, 1};
  CHECK(std::memcmp(l.local_addr.data(), lo, 4) == 0);
  CHECK_EQ(l.local_addr[4], uint8_t{0});
  CHECK_EQ(l.recv_q, uint32_t{3});  // a listener's accept queue
  CHECK_EQ(l.uid, uint32_t{1000});
  CHECK_EQ(l.inode, uint32_t{456872});
  CHECK_EQ(l.cookie, uint64_t{0});
  CHECK_EQ(l.cgroup_id, uint64_t{0});

  const SocketRecord& cw = rows[1];
  CHECK_EQ(cw.state, uint8_t{kCloseWait});
  CHECK_EQ(cw.remote_addr[3], uint8_t{2});
  CHECK_EQ(cw.remote_port, uint16_t{0xAE44});
  CHECK_EQ(cw.send_q, uint32_t{10});
  CHECK_EQ(cw.recv_q, uint32_t{20});
  CHECK_EQ(cw.uid, uint32_t{65534});

  CHECK_EQ(rows[2].state, uint8_t{kTimeWait});
  CHECK_EQ(rows[2].inode, uint32_t{0});
  // A request socket: the text shows its listener's uid (1000) and refcount
  // 0; sock_diag says uid 0, and so does the record.
  CHECK_EQ(rows[3].state, uint8_t{kSynRecv});
  CHECK_EQ(rows[3].uid, uint32_t{0});
}

TEST(procnet_parses_ipv6_lines) {
  const auto rows = ParseAll(kTcp6, 6);
  CHECK_EQ(rows.size(), size_t{2});
  if (rows.size() != 2) return;
  uint8_t loopback[16] = {};
  loopback[15] = 1;
  CHECK(std::memcmp(rows[0].local_addr.data(), loopback, 16) == 0);
  CHECK_EQ(rows[0].family, uint8_t{6});
  CHECK_EQ(rows[0].local_port, uint16_t{80});
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 2};
  CHECK(std::memcmp(rows[1].remote_addr.data(), mapped, 16) == 0);
  CHECK_EQ(rows[1].state, uint8_t{kEstablished});
  CHECK_EQ(rows[1].send_q, uint32_t{1});
  CHECK_EQ(rows[1].recv_q, uint32_t{2});
  CHECK_EQ(rows[1].uid, uint32_t{7});
}

TEST(procnet_split_anywhere_gives_the_same_rows) {
  const std::string text = kTcp4;
  const auto whole = ParseAll(text, 4);
  for (size_t chunk = 1; chunk < 200; chunk += (chunk < 20 ? 1 : 37)) {
    const auto parts = ParseAll(text, 4, chunk);
    CHECK_EQ(parts.size(), whole.size());
    for (size_t i = 0; i < parts.size() && i < whole.size(); ++i) {
      const SocketRecord &a = parts[i], &b = whole[i];
      CHECK(a.state == b.state && a.family == b.family && a.local_addr == b.local_addr &&
            a.remote_addr == b.remote_addr && a.local_port == b.local_port && a.remote_port == b.remote_port &&
            a.recv_q == b.recv_q && a.send_q == b.send_q && a.uid == b.uid && a.inode == b.inode);
    }
  }
  // No newline at the very end: the last line still counts at eof.
  std::string cut = kTcp6;
  cut.pop_back();
  CHECK_EQ(ParseAll(cut, 6).size(), size_t{2});
}

TEST(procnet_refuses_hostile_lines) {
  const std::string good =
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 65534 0 458975 1 0";
  SocketRecord r;
  CHECK(ParseProcNetLine(Text(good), 4, &r) == ProcNetLine::kRow);
  const char* bad[] = {
      "   1 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",    // slot without ':'
      "   x: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",   // slot not a number
      "   1: 100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",    // 7 hex digits
      "   1: 0100007G:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",   // not hex
      "   1: 0100007F-9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",   // no ':'
      "   1: 0100007F:94999 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",  // 5-digit port
      "   1: 0100007F:9499 0200007F:AE44 00 0000000A:00000014 00:00000000 00000000 0 0 1",   // state 0
      "   1: 0100007F:9499 0200007F:AE44 0E 0000000A:00000014 00:00000000 00000000 0 0 1",   // state 14
      "   1: 0100007F:9499 0200007F:AE44 8 0000000A:00000014 00:00000000 00000000 0 0 1",    // 1-digit state
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A-00000014 00:00000000 00000000 0 0 1",   // queues
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 -1 0 1",  // uid
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 4294967296 0 1",
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 4294967296",
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0",  // no inode
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014",                           // cut short
      "   1:",
      "   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 0:0 0 0 0 0 1",
  };
  for (const char* line : bad) {
    CHECK_THROWS(SysError, ParseProcNetLine(Text(line), 4, &r), IsBadMessage);
  }
  // An IPv4 line in the IPv6 file, and the other way round.
  CHECK_THROWS(SysError, ParseProcNetLine(Text(good), 6, &r), IsBadMessage);
  // Header and blank lines are skipped, not errors.
  CHECK(ParseProcNetLine(Text("  sl  local_address rem_address"), 4, &r) == ProcNetLine::kSkip);
  CHECK(ParseProcNetLine(Text("      "), 4, &r) == ProcNetLine::kSkip);
  CHECK(ParseProcNetLine(ByteSpan(), 4, &r) == ProcNetLine::kSkip);

  // The parser names the file and line.
  Collect c;
  ProcNetParser p(4, "/proc/thread-self/net/tcp", &c);
  const std::string text = std::string(kTcp4) + "   9: junk\n";
  CHECK_THROWS(SysError, p.Feed(Text(text), true), [](const SysError& e) {
    return e.err() == EBADMSG &&
           std::string(e.what()).find("/proc/thread-self/net/tcp line 6: local address") != std::string::npos;
  });
  // A line longer than kProcNetMaxLine is refused even before its end comes.
  ProcNetParser q(4, "tcp", &c);
  const std::string endless(kProcNetMaxLine + 1, '1');
  CHECK_THROWS(SysError, q.Feed(Text(endless), false), IsBadMessage);
  ProcNetParser w(4, "tcp", &c);
  CHECK_EQ(w.Feed(Text(std::string(100, '1')), false), size_t{0});  // waits for the rest
}

namespace {

int Listener(int family, uint16_t* port) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 a6{};
  sockaddr_in a4{};
  sockaddr* sa;
  socklen_t len;
  if (family == AF_INET6) {
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_loopback;
    sa = reinterpret_cast<sockaddr*>(&a6);
    len = sizeof a6;
  } else {
    a4.sin_family = AF_INET;
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa = reinterpret_cast<sockaddr*>(&a4);
    len = sizeof a4;
  }
  if (bind(fd, sa, len) != 0 || listen(fd, 4) != 0) return -1;
  getsockname(fd, sa, &len);
  *port = ntohs(family == AF_INET6 ? a6.sin6_port : a4.sin_port);
  return fd;
}

int Connect(int family, uint16_t port) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (family == AF_INET6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    a.sin6_port = htons(port);
    connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  return fd;
}

}  // namespace

// Our own listener and connection, as both sources see them.
TEST(procfs_source_matches_netlink) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (int family : {AF_INET, AF_INET6}) {
    uint16_t port = 0;
    int l = Listener(family, &port);
    CHECK(l >= 0);
    int c = Connect(family, port);
    int a = accept(l, nullptr, nullptr);
    CHECK(c >= 0 && a >= 0);
    CHECK_EQ(write(c, "hello", 5), 5L);  // 5 bytes queued unread on the accepted end
    fds.insert(fds.end(), {l, c, a});
    ports.push_back(port);
  }
  usleep(20000);
  DumpRequest req;
  req.states = (1u << kEstablished) | (1u << kListen);
  auto ours = [&](const SocketTable& t) {
    std::vector<std::string> keys;
    for (size_t i = 0; i < t.size(); ++i) {
      const bool mine = std::find(ports.begin(), ports.end(), t.local_port[i]) != ports.end() ||
                        std::find(ports.begin(), ports.end(), t.remote_port[i]) != ports.end();
      if (!mine) continue;
      std::string k = std::to_string(t.state[i]) + " " + std::to_string(t.family[i]) + " " +
                      std::string(reinterpret_cast<const char*>(&t.local_addr[16 * i]), 16) +
                      std::string(reinterpret_cast<const char*>(&t.remote_addr[16 * i]), 16) + " " +
                      std::to_string(t.local_port[i]) + ">" + std::to_string(t.remote_port[i]) + " q" +
                      std::to_string(t.recv_q[i]) + "/" +
                      (t.state[i] == kListen ? std::string("?") : std::to_string(t.send_q[i])) + " uid" +
                      std::to_string(t.uid[i]) + " ino" + std::to_string(t.inode[i]);
      keys.push_back(k);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  };
  SocketTable nl, pf;
  DumpInfo nl_info, pf_info;
  req.source = Source::kNetlink;
  DumpSockets(req, &nl, &nl_info);
  req.source = Source::kProcfs;
  DumpSockets(req, &pf, &pf_info);
  CHECK(nl_info.source == Source::kNetlink);
  CHECK(pf_info.source == Source::kProcfs);
  CHECK_EQ(nl_info.missing, 0u);
  CHECK_EQ(pf_info.missing, unsigned{kMissingCgroupId | kMissingCookie | kMissingIfindex | kMissingListenBacklog});
  CHECK(nl_info.netns_inode != 0);
  CHECK_EQ(pf_info.netns_inode, nl_info.netns_inode);
  const auto a = ours(nl), b = ours(pf);
  CHECK_EQ(a.size(), size_t{6});
  CHECK(a == b);
  // A port filter run by the kernel and by the interpreter.
  req.bytecode = {INET_DIAG_BC_S_GE, 8, 20, 0, 0, 0, 0, 0, INET_DIAG_BC_S_LE, 8, 12, 0, 0, 0, 0, 0};
  const uint16_t p = ports[0];
  std::memcpy(&req.bytecode[6], &p, 2);
  std::memcpy(&req.bytecode[14], &p, 2);
  SocketTable nl2, pf2;
  req.source = Source::kNetlink;
  DumpSockets(req, &nl2);
  req.source = Source::kProcfs;
  DumpSockets(req, &pf2);
  CHECK_EQ(ours(nl2).size(), size_t{2});  // the IPv4 listener and its accepted end
  CHECK(ours(nl2) == ours(pf2));
  // A cgroup condition cannot be answered from the text.
  req.bytecode = {INET_DIAG_BC_CGROUP_COND, 12, 16, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  SocketTable none;
  CHECK_THROWS(UnsupportedError, DumpSockets(req, &none),
               [](const UnsupportedError& e) { return std::string(e.what()).find("cgroup") != std::string::npos; });
  CHECK_EQ(none.size(), size_t{0});
  for (int fd : fds) close(fd);
}
