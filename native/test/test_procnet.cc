// test_procnet.cc: the /proc/net/tcp{,6} parser (sockets/procnet_parse.*)
// on lines as the kernel prints them (full sockets, TIME_WAIT, request
// sockets), split at every byte, on hostile lines.
#include <errno.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "../common/sys_error.h"
#include "../sockets/procnet_parse.h"
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
      CHECK(std::memcmp(&parts[i], &whole[i], sizeof parts[i]) == 0);
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
      "   1 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",   // slot without ':'
      "   x: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",  // slot not a number
      "   1: 100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",   // 7 hex digits
      "   1: 0100007G:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",  // not hex
      "   1: 0100007F-9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1",  // no ':'
      "   1: 0100007F:94999 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 1", // 5-digit port
      "   1: 0100007F:9499 0200007F:AE44 00 0000000A:00000014 00:00000000 00000000 0 0 1",  // state 0
      "   1: 0100007F:9499 0200007F:AE44 0E 0000000A:00000014 00:00000000 00000000 0 0 1",  // state 14
      "   1: 0100007F:9499 0200007F:AE44 8 0000000A:00000014 00:00000000 00000000 0 0 1",   // 1-digit state
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A-00000014 00:00000000 00000000 0 0 1",  // queues
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 -1 0 1", // uid
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 4294967296 0 1",
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0 4294967296",
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014 00:00000000 00000000 0 0",    // no inode
      "   1: 0100007F:9499 0200007F:AE44 08 0000000A:00000014",                             // cut short
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
    return e.err() == EBADMSG && std::string(e.what()).find("/proc/thread-self/net/tcp line 6: local address") != std::string::npos;
  });
  // A line longer than kProcNetMaxLine is refused even before its end comes.
  ProcNetParser q(4, "tcp", &c);
  const std::string endless(kProcNetMaxLine + 1, '1');
  CHECK_THROWS(SysError, q.Feed(Text(endless), false), IsBadMessage);
  ProcNetParser w(4, "tcp", &c);
  CHECK_EQ(w.Feed(Text(std::string(100, '1')), false), size_t{0});  // waits for the rest
}
