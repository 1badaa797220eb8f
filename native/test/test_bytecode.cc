// test_bytecode.cc: the INET_DIAG_REQ_BYTECODE interpreter (sockets/
// bytecode.*) on programs shaped as src/request/filter.ts and
// src/request/cgroup-filter.ts emit them and as `ss` compiles them (OR groups with JMP), on hostile
// programs, and against the kernel itself: the audit must refuse exactly
// what the kernel refuses (EINVAL), and a program must keep exactly the
// sockets the kernel keeps.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "../common/sys_error.h"
#include "../sockets/bytecode.h"
#include "../sockets/sock_diag.h"
#include "../sockets/sources.h"
#include "check.h"

using namespace tcpcensus;

namespace {

using Bytes = std::vector<uint8_t>;

void Op(Bytes* p, uint8_t code, uint8_t yes, uint16_t no) {
  inet_diag_bc_op op{code, yes, no};
  const auto* b = reinterpret_cast<const uint8_t*>(&op);
  p->insert(p->end(), b, b + sizeof op);
}

struct Piece {
  uint8_t code;
  Bytes operand;
};

Piece Port(uint8_t code, uint16_t port) {
  Bytes operand;
  Op(&operand, 0, 0, port);  // the port is the `no` of a second op
  return {code, operand};
}

Piece Host(uint8_t code, uint8_t family, uint8_t prefix, const Bytes& addr, int32_t port = -1) {
  Bytes operand = {family, prefix, 0, 0, 0, 0, 0, 0};
  std::memcpy(operand.data() + 4, &port, 4);
  operand.insert(operand.end(), addr.begin(), addr.end());
  return {code, operand};
}

Piece Cgroup(uint64_t id) {
  Bytes operand(8);
  std::memcpy(operand.data(), &id, 8);
  return {INET_DIAG_BC_CGROUP_COND, operand};
}

// Every condition must hold: a failed one jumps 4 past the end (reject), as
// compileFilter in src/request/filter.ts does.
Bytes And(const std::vector<Piece>& pieces) {
  size_t total = 0;
  for (const Piece& p : pieces) total += 4 + p.operand.size();
  Bytes out;
  for (const Piece& p : pieces) {
    const size_t size = 4 + p.operand.size();
    Op(&out, p.code, static_cast<uint8_t>(size), static_cast<uint16_t>(total - out.size() + 4));
    out.insert(out.end(), p.operand.begin(), p.operand.end());
  }
  return out;
}

// a OR b, as ss compiles it: a's no skips a JMP that carries a's yes past b.
Bytes Or(const Piece& a, const Piece& b) {
  const size_t sa = 4 + a.operand.size(), sb = 4 + b.operand.size();
  Bytes out;
  Op(&out, a.code, static_cast<uint8_t>(sa), static_cast<uint16_t>(sa + 4));
  out.insert(out.end(), a.operand.begin(), a.operand.end());
  Op(&out, INET_DIAG_BC_JMP, 4, static_cast<uint16_t>(4 + sb));
  Op(&out, b.code, static_cast<uint8_t>(sb), static_cast<uint16_t>(sb + 4));
  out.insert(out.end(), b.operand.begin(), b.operand.end());
  return out;
}

Bytes V4(const char* s) {
  Bytes b(4);
  inet_pton(AF_INET, s, b.data());
  return b;
}
Bytes V6(const char* s) {
  Bytes b(16);
  inet_pton(AF_INET6, s, b.data());
  return b;
}

struct Sock {
  uint8_t family;
  Bytes src, dst;  // 16 bytes each
  uint16_t sport, dport;
  uint64_t cgroup = 0;
};

Sock S4(const char* src, uint16_t sport, const char* dst, uint16_t dport) {
  Sock s{AF_INET, V4(src), V4(dst), sport, dport};
  s.src.resize(16);
  s.dst.resize(16);
  return s;
}
Sock S6(const char* src, uint16_t sport, const char* dst, uint16_t dport) {
  return Sock{AF_INET6, V6(src), V6(dst), sport, dport};
}

bool Run(const Bytes& prog, const Sock& s) {
  Bytes exact(prog);  // exact size: a read past it is an ASan report
  BcEntry e;
  e.family = s.family;
  e.saddr = s.src.data();
  e.daddr = s.dst.data();
  e.sport = s.sport;
  e.dport = s.dport;
  e.cgroup_id = s.cgroup;
  return RunBytecode(ByteSpan(exact.data(), exact.size()), e);
}

bool Audits(const Bytes& prog) {
  Bytes exact(prog);
  return AuditBytecode(ByteSpan(exact.data(), exact.size())).ok;
}

// What the kernel says of a program: true when it accepts it (an empty
// LISTEN dump of one family suffices to run inet_diag_bc_audit).
bool KernelAccepts(const Bytes& prog) {
  DumpRequest req;
  req.states = 1u << kListen;
  req.bytecode = prog;
  struct Nothing : DiagSink {
    void OnSocket(const SocketRecord&) override {}
  } sink;
  try {
    NetlinkDumpFamily(AF_INET, req, &sink);
    return true;
  } catch (const SysError& e) {
    if (e.err() != EINVAL) throw;
    return false;
  }
}

}  // namespace

TEST(bytecode_ports_and_hosts_as_filter_ts_emits_them) {
  const Bytes range = And({Port(INET_DIAG_BC_S_GE, 1000), Port(INET_DIAG_BC_S_LE, 2000)});
  CHECK(Audits(range));
  CHECK(Run(range, S4("127.0.0.1", 1000, "127.0.0.1", 5)));
  CHECK(Run(range, S4("127.0.0.1", 2000, "127.0.0.1", 5)));
  CHECK(!Run(range, S4("127.0.0.1", 999, "127.0.0.1", 5)));
  CHECK(!Run(range, S4("127.0.0.1", 2001, "127.0.0.1", 5)));

  const Bytes dport = And({Port(INET_DIAG_BC_D_GE, 443), Port(INET_DIAG_BC_D_LE, 443)});
  CHECK(Run(dport, S6("::1", 1, "::1", 443)));
  CHECK(!Run(dport, S6("::1", 443, "::1", 444)));

  const Bytes net8 = And({Host(INET_DIAG_BC_D_COND, AF_INET, 8, V4("10.0.0.0"))});
  CHECK(Audits(net8));
  CHECK(Run(net8, S4("127.0.0.1", 1, "10.200.3.4", 2)));
  CHECK(!Run(net8, S4("127.0.0.1", 1, "11.0.0.1", 2)));
  // An IPv4 prefix also matches IPv4-mapped IPv6 sockets, and no other IPv6.
  CHECK(Run(net8, S6("::1", 1, "::ffff:10.1.2.3", 2)));
  CHECK(!Run(net8, S6("::1", 1, "::ffff:11.1.2.3", 2)));
  CHECK(!Run(net8, S6("::1", 1, "::a01:203", 2)));

  const Bytes odd = And({Host(INET_DIAG_BC_S_COND, AF_INET, 23, V4("192.168.2.0"))});
  CHECK(Run(odd, S4("192.168.3.255", 1, "1.1.1.1", 2)));
  CHECK(!Run(odd, S4("192.168.4.0", 1, "1.1.1.1", 2)));

  const Bytes v6 = And({Host(INET_DIAG_BC_S_COND, AF_INET6, 10, V6("fe80::"))});
  CHECK(Run(v6, S6("fe80::1", 1, "::1", 2)));
  CHECK(Run(v6, S6("febf::1", 1, "::1", 2)));
  CHECK(!Run(v6, S6("fec0::1", 1, "::1", 2)));
  CHECK(!Run(v6, S4("127.0.0.1", 1, "127.0.0.1", 2)));  // an IPv6 prefix never matches IPv4
  const Bytes exact = And({Host(INET_DIAG_BC_S_COND, AF_INET6, 128, V6("::1"))});
  CHECK(Run(exact, S6("::1", 1, "::1", 2)));
  CHECK(!Run(exact, S6("::2", 1, "::1", 2)));
  // A host condition's own port (ss "src 1.2.3.4:80").
  const Bytes hostport = And({Host(INET_DIAG_BC_S_COND, AF_INET, 32, V4("1.2.3.4"), 80)});
  CHECK(Run(hostport, S4("1.2.3.4", 80, "5.6.7.8", 9)));
  CHECK(!Run(hostport, S4("1.2.3.4", 81, "5.6.7.8", 9)));

  const Bytes all = And({Port(INET_DIAG_BC_S_GE, 80), Port(INET_DIAG_BC_S_LE, 80),
                         Host(INET_DIAG_BC_S_COND, AF_INET, 8, V4("127.0.0.0")),
                         Host(INET_DIAG_BC_D_COND, AF_INET, 32, V4("127.0.0.9"))});
  CHECK(Audits(all));
  CHECK(Run(all, S4("127.0.0.1", 80, "127.0.0.9", 5)));
  CHECK(!Run(all, S4("127.0.0.1", 80, "127.0.0.8", 5)));
  CHECK(!Run(all, S4("128.0.0.1", 80, "127.0.0.9", 5)));
}

TEST(bytecode_cgroup_conditions_and_or_groups) {
  Sock s = S4("127.0.0.1", 1, "127.0.0.1", 2);
  s.cgroup = 4242;
  const Bytes one = And({Cgroup(4242)});
  CHECK_EQ(one.size(), size_t{12});
  CHECK(Audits(one));
  CHECK(Run(one, s));
  s.cgroup = 0;  // TIME_WAIT, request sockets: the kernel sees 0
  CHECK(!Run(one, s));
  const Bytes either = Or(Cgroup(7), Cgroup(9));
  CHECK(Audits(either));
  for (uint64_t id : {7u, 9u, 8u, 0u}) {
    s.cgroup = id;
    CHECK_EQ(Run(either, s), id == 7 || id == 9);
  }
  // A port range AND a cgroup, as the options module folds them together.
  Bytes both = And({Port(INET_DIAG_BC_S_GE, 10), Port(INET_DIAG_BC_S_LE, 20), Cgroup(7)});
  CHECK(Audits(both));
  s.cgroup = 7;
  s.sport = 15;
  CHECK(Run(both, s));
  s.sport = 21;
  CHECK(!Run(both, s));
}

TEST(bytecode_audit_refuses_what_the_kernel_refuses) {
  struct Case {
    const char* what;
    Bytes prog;
  };
  std::vector<Case> cases;
  cases.push_back({"port range", And({Port(INET_DIAG_BC_S_GE, 1), Port(INET_DIAG_BC_S_LE, 2)})});
  cases.push_back({"cgroup", And({Cgroup(1)})});
  cases.push_back({"or group", Or(Cgroup(1), Cgroup(2))});
  cases.push_back({"v6 host", And({Host(INET_DIAG_BC_S_COND, AF_INET6, 64, V6("fd00::"))})});
  cases.push_back({"any host", And({Host(INET_DIAG_BC_D_COND, AF_UNSPEC, 0, {})})});
  Bytes nop;
  Op(&nop, INET_DIAG_BC_NOP, 4, 0);
  cases.push_back({"nop", nop});
  Bytes jmp_end;
  Op(&jmp_end, INET_DIAG_BC_JMP, 4, 4);
  cases.push_back({"jmp to the end", jmp_end});
  // Refused ones.
  Bytes zero_yes;
  Op(&zero_yes, INET_DIAG_BC_NOP, 0, 0);
  cases.push_back({"yes 0", zero_yes});
  Bytes unknown;
  Op(&unknown, 200, 4, 8);
  cases.push_back({"unknown code", unknown});
  Bytes between = And({Port(INET_DIAG_BC_S_GE, 1), Port(INET_DIAG_BC_S_LE, 2)});
  between[2] = 12;  // the first op's no lands on the second op's operand
  between[3] = 0;
  cases.push_back({"no between ops", between});
  Bytes misaligned = And({Cgroup(1)});
  misaligned[2] = 14;
  cases.push_back({"no not a multiple of 4", misaligned});
  Bytes too_far = And({Cgroup(1)});
  too_far[2] = 20;
  cases.push_back({"no past end + 4", too_far});
  Bytes short_yes = And({Cgroup(1)});
  short_yes[1] = 8;  // yes shorter than the op with its operand
  cases.push_back({"yes inside the operand", short_yes});
  cases.push_back({"v4 prefix 33", And({Host(INET_DIAG_BC_S_COND, AF_INET, 33, V4("1.2.3.4"))})});
  cases.push_back({"family 99", And({Host(INET_DIAG_BC_S_COND, 99, 0, {})})});
  cases.push_back({"unspec with a prefix", And({Host(INET_DIAG_BC_S_COND, AF_UNSPEC, 8, {})})});
  Bytes cut = And({Cgroup(1)});
  cut.resize(8);
  cut[1] = 8;
  cut[2] = 12;
  cases.push_back({"cgroup operand cut", cut});
  Bytes overshoot;
  Op(&overshoot, INET_DIAG_BC_NOP, 8, 0);
  cases.push_back({"yes to end + 4", overshoot});
  // No MARK_COND among them: it needs CAP_NET_ADMIN, the rest any user.
  int refused = 0;
  for (const Case& c : cases) {
    const bool ours = Audits(c.prog);
    const bool theirs = KernelAccepts(c.prog);
    if (ours != theirs) std::fprintf(stderr, "  %s: audit %d, kernel %d\n", c.what, ours, theirs);
    CHECK_EQ(ours, theirs);
    refused += !theirs;
  }
  CHECK_EQ(refused, 11);
  CHECK(!AuditBytecode(ByteSpan()).ok);
}

// Arbitrary bytes never read outside the program and always end.
TEST(bytecode_run_is_safe_without_audit) {
  const Sock s = S6("::1", 1, "::1", 2);
  for (int seed = 0; seed < 2000; ++seed) {
    Bytes prog(4 * (1 + seed % 9));
    uint32_t x = 2166136261u ^ static_cast<uint32_t>(seed);
    for (uint8_t& b : prog) {
      x = x * 16777619u + 1013904223u;
      b = static_cast<uint8_t>(x >> 24);
    }
    prog[0] = static_cast<uint8_t>(seed % 14);  // every op code, some unknown
    (void)Run(prog, s);
    (void)Audits(prog);
  }
  CHECK(!Run(Bytes{0, 0, 0, 0}, s));  // NOP with yes 0 would never move
  CHECK(Run(Bytes{}, s));             // nothing to check: the walk is already at the end
}

namespace {

struct Keep : DiagSink {
  std::vector<SocketRecord> rows;
  void OnSocket(const SocketRecord& r) override { rows.push_back(r); }
};

// addr of family into *ss; returns its length.
socklen_t Address(int family, const char* addr, sockaddr_storage* ss) {
  *ss = sockaddr_storage{};
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(ss);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, addr, &a->sin_addr);
    return sizeof *a;
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(ss);
  a->sin6_family = AF_INET6;
  inet_pton(AF_INET6, addr, &a->sin6_addr);
  return sizeof *a;
}

int Listen(int family, const char* addr, uint16_t* port) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss;
  socklen_t len = Address(family, addr, &ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 8) != 0) return -1;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                  : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return fd;
}

}  // namespace

// The same program through the kernel and through the interpreter keeps the
// same sockets (listeners on several addresses and ports of both families).
TEST(bytecode_keeps_what_the_kernel_keeps) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  const struct {
    int family;
    const char* addr;
  } spots[] = {{AF_INET, "127.0.0.1"}, {AF_INET, "127.0.0.2"},         {AF_INET, "0.0.0.0"},
               {AF_INET6, "::1"},      {AF_INET6, "::ffff:127.0.0.1"}, {AF_INET6, "::"}};
  for (const auto& s : spots) {
    uint16_t port = 0;
    int fd = Listen(s.family, s.addr, &port);
    CHECK(fd >= 0);
    if (fd < 0) continue;
    fds.push_back(fd);
    ports.push_back(port);
  }
  std::vector<uint16_t> sorted = ports;
  std::sort(sorted.begin(), sorted.end());
  const uint16_t lo = sorted.front(), mid = sorted[sorted.size() / 2];
  const std::vector<Bytes> programs = {
      And({Port(INET_DIAG_BC_S_GE, lo), Port(INET_DIAG_BC_S_LE, mid)}),
      And({Host(INET_DIAG_BC_S_COND, AF_INET, 8, V4("127.0.0.0"))}),
      And({Host(INET_DIAG_BC_S_COND, AF_INET, 32, V4("127.0.0.2"))}),
      And({Host(INET_DIAG_BC_S_COND, AF_INET6, 128, V6("::1"))}),
      And({Host(INET_DIAG_BC_S_COND, AF_INET6, 0, V6("::"))}),
      And({Host(INET_DIAG_BC_S_COND, AF_INET, 32, V4("0.0.0.0"))}),
      Or(Port(INET_DIAG_BC_S_LE, lo), Host(INET_DIAG_BC_S_COND, AF_INET6, 128, V6("::1"))),
      And({Cgroup(1)}),
      And({Cgroup(999999999)}),
  };
  auto ours = [&](const SocketRecord& r) {
    return r.state == kListen && std::find(ports.begin(), ports.end(), r.local_port) != ports.end();
  };
  int kept_some = 0, kept_none = 0;  // the comparison must not be vacuous
  for (int family : {AF_INET, AF_INET6}) {
    DumpRequest all;
    all.states = 1u << kListen;
    Keep everything;
    NetlinkDumpFamily(family, all, &everything);
    for (const Bytes& prog : programs) {
      DumpRequest req = all;
      req.bytecode = prog;
      Keep kernel;
      NetlinkDumpFamily(family, req, &kernel);
      std::set<uint64_t> by_kernel, by_us;
      for (const auto& r : kernel.rows) {
        if (ours(r)) by_kernel.insert(r.cookie);
      }
      for (const auto& r : everything.rows) {
        if (!ours(r)) continue;
        BcEntry e;
        e.family = static_cast<uint8_t>(family);
        e.saddr = r.local_addr.data();
        e.daddr = r.remote_addr.data();
        e.sport = r.local_port;
        e.dport = r.remote_port;
        e.cgroup_id = r.cgroup_id;
        if (RunBytecode(ByteSpan(prog), e)) by_us.insert(r.cookie);
      }
      CHECK(by_kernel == by_us);
      (by_kernel.empty() ? kept_none : kept_some)++;
    }
  }
  CHECK(kept_some >= 8);
  CHECK(kept_none >= 4);
  for (int fd : fds) close(fd);
}

namespace {

// Bound, neither listening nor connected: state CLOSE, dumped with bit 13.
int BindOnly(int family, const char* addr) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss;
  const socklen_t len = Address(family, addr, &ss);
  return bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 ? fd : -1;
}

// What identifies a row and what a caller reads of it: one walk must give the
// same of each.
std::set<std::string> Rows(const std::vector<SocketRecord>& rows, const std::set<uint64_t>& cookies) {
  std::set<std::string> out;
  for (const auto& r : rows) {
    if (!cookies.count(r.cookie)) continue;
    out.insert(std::to_string(r.cookie) + " " + std::to_string(r.family) + " " + std::to_string(r.state) + " " +
               std::to_string(r.local_port) + " " + std::to_string(r.inode) + " " + std::to_string(r.cgroup_id));
  }
  return out;
}

}  // namespace

// The one-walk dump (AF_UNSPEC, sock_diag.h) gives exactly the rows of the
// AF_INET dump and the AF_INET6 dump together, with and without a filter, for
// listeners and for bound-inactive sockets (CLOSE, state bit 13), of both
// families and IPv4-mapped IPv6.
TEST(one_walk_dump_is_both_family_dumps) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  const struct {
    int family;
    const char* addr;
  } spots[] = {{AF_INET, "127.0.0.3"}, {AF_INET6, "::1"}, {AF_INET6, "::ffff:127.0.0.3"}};
  for (const auto& s : spots) {
    uint16_t port = 0;
    int fd = Listen(s.family, s.addr, &port);
    CHECK(fd >= 0);
    if (fd >= 0) fds.push_back(fd), ports.push_back(port);
    int bound = BindOnly(s.family, s.addr);
    CHECK(bound >= 0);
    if (bound >= 0) fds.push_back(bound);
  }
  std::sort(ports.begin(), ports.end());
  DumpRequest all;
  all.states = KernelStateMask((1u << kListen) | (1u << kClose));
  // Our sockets, by cookie: the ones on the addresses above.
  Keep v4, v6;
  NetlinkDumpFamily(AF_INET, all, &v4);
  NetlinkDumpFamily(AF_INET6, all, &v6);
  std::set<uint64_t> ours;
  for (const auto* rows : {&v4.rows, &v6.rows}) {
    for (const auto& r : *rows) {
      const bool v4_local = r.family == 4 && r.local_addr[0] == 127 && r.local_addr[3] == 3;
      const bool v6_local =
          r.family == 6 &&
          (std::memcmp(r.local_addr.data(), in6addr_loopback.s6_addr, 16) == 0 ||
           (r.local_addr[10] == 0xff && r.local_addr[11] == 0xff && r.local_addr[12] == 127 && r.local_addr[15] == 3));
      bool ours_port = std::find(ports.begin(), ports.end(), r.local_port) != ports.end();
      if ((v4_local || v6_local) && (ours_port || r.state == kClose)) ours.insert(r.cookie);
    }
  }
  CHECK(ours.size() >= 6);  // three listeners and three bound-only sockets
  const std::vector<Bytes> programs = {
      Bytes{},
      And({Port(INET_DIAG_BC_S_GE, ports.front()), Port(INET_DIAG_BC_S_LE, ports.back())}),
      And({Host(INET_DIAG_BC_S_COND, AF_INET, 32, V4("127.0.0.3"))}),
      And({Host(INET_DIAG_BC_S_COND, AF_INET6, 128, V6("::1"))}),
  };
  for (const Bytes& prog : programs) {
    DumpRequest req = all;
    req.bytecode = prog;
    Keep a, b, both;
    NetlinkDumpFamily(AF_INET, req, &a);
    NetlinkDumpFamily(AF_INET6, req, &b);
    NetlinkDumpFamily(AF_UNSPEC, req, &both);
    std::vector<SocketRecord> apart = a.rows;
    apart.insert(apart.end(), b.rows.begin(), b.rows.end());
    CHECK(Rows(both.rows, ours) == Rows(apart, ours));
    CHECK(!Rows(apart, ours).empty());
  }
  // Through the source entry point: counts equal per-family counts.
  StateCounts one, per;
  CountStates(all, &one);
  DumpRequest v4only = all, v6only = all;
  v4only.families = kFamilyIPv4;
  v6only.families = kFamilyIPv6;
  CountStates(v4only, &per);
  CountStates(v6only, &per);
  for (size_t s = 0; s < kStateSlots; ++s) {
    CHECK(one.ipv4[s] == per.ipv4[s]);
    CHECK(one.ipv6[s] == per.ipv6[s]);
  }
  for (int fd : fds) close(fd);
}

// A dump that keeps the rows of some states only (keep_states) tallies every
// row it saw: the counts equal a CountStates of the same request, the kept
// rows are exactly that dump's rows in those states, and unowned counts the
// rows with inode 0.
TEST(dump_keeps_some_states_and_tallies_all) {
  std::vector<int> fds;
  uint16_t port = 0;
  int listener = Listen(AF_INET, "127.0.0.3", &port);
  CHECK(listener >= 0);
  if (listener >= 0) fds.push_back(listener);
  int bound = BindOnly(AF_INET6, "::1");
  CHECK(bound >= 0);
  if (bound >= 0) fds.push_back(bound);
  DumpRequest req;
  req.states = KernelStateMask((1u << kListen) | (1u << kClose));
  req.keep_states = 1u << kClose;
  // The host's other sockets may come and go: retry until two plain dumps
  // around ours agree.
  bool steady = false;
  for (int attempt = 0; attempt < 10 && !steady; ++attempt) {
    SocketTable before_rows, kept, after_rows;
    DumpRequest all = req;
    all.keep_states = 0;
    DumpSockets(all, &before_rows);
    DumpTally tally;
    DumpSockets(req, &kept, nullptr, &tally);
    DumpSockets(all, &after_rows);
    if (before_rows.size() != after_rows.size()) continue;
    steady = true;
    StateCounts counts;
    uint64_t unowned[kStateSlots] = {};
    size_t close_rows = 0;
    for (size_t i = 0; i < before_rows.size(); ++i) {
      const uint8_t s = before_rows.state[i];
      (before_rows.family[i] == 6 ? counts.ipv6 : counts.ipv4)[s]++;
      if (before_rows.inode[i] == 0) unowned[s]++;
      if (s == kClose) close_rows++;
    }
    for (size_t s = 0; s < kStateSlots; ++s) {
      CHECK(tally.counts.ipv4[s] == counts.ipv4[s]);
      CHECK(tally.counts.ipv6[s] == counts.ipv6[s]);
      CHECK(tally.unowned[s] == unowned[s]);
    }
    CHECK(tally.counts.ipv4[kListen] >= 1);
    CHECK(tally.counts.ipv6[kClose] >= 1);
    CHECK(kept.size() == close_rows);
    for (size_t i = 0; i < kept.size(); ++i) CHECK(kept.state[i] == kClose);
    // max_rows bounds the rows kept, not the rows seen.
    DumpRequest bounded = req;
    bounded.max_rows = close_rows;
    SocketTable within;
    DumpSockets(bounded, &within);
    CHECK(within.size() == close_rows);
  }
  CHECK(steady);
  for (int fd : fds) close(fd);
}
