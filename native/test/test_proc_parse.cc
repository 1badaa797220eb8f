// test_proc_parse.cc: the /proc parsers on well-formed and hostile bytes.
#include <cstring>
#include <string>
#include <vector>

#include "../common/proc_parse.h"
#include "check.h"

using namespace tcpcensus;

namespace {

void Dirent(std::vector<uint8_t>* out, const std::string& name, long reclen_override = -1) {
  size_t reclen = (kDirentNameOffset + name.size() + 1 + 7) & ~size_t{7};
  if (reclen_override >= 0) reclen = static_cast<size_t>(reclen_override);
  std::vector<uint8_t> rec(std::max(reclen, kDirentNameOffset + name.size() + 1), 0);
  const uint16_t r16 = static_cast<uint16_t>(reclen);
  const uint64_t ino = 1000 + name.size();  // d_ino, so the test can tell entries apart
  std::memcpy(rec.data(), &ino, 8);
  std::memcpy(rec.data() + 16, &r16, 2);
  rec[18] = 4;  // DT_DIR
  std::memcpy(rec.data() + kDirentNameOffset, name.data(), name.size());
  rec.resize(std::max(reclen, size_t{1}));
  out->insert(out->end(), rec.begin(), rec.end());
}

std::vector<std::string> Names(const std::vector<uint8_t>& buf, bool* ok) {
  std::vector<uint8_t> exact(buf);
  std::vector<std::string> names;
  *ok = ForEachDirent(ByteSpan(exact.data(), exact.size()), [&](const DirEntry& e) {
    names.emplace_back(e.name, e.len);
    return true;
  });
  return names;
}

ByteSpan Text(const std::string& s) { return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

}  // namespace

TEST(dirents_well_formed) {
  std::vector<uint8_t> buf;
  Dirent(&buf, ".");
  Dirent(&buf, "..");
  Dirent(&buf, "1234");
  Dirent(&buf, "a-much-longer-name-than-eight");
  bool ok = false;
  auto names = Names(buf, &ok);
  CHECK(ok);
  CHECK_EQ(names.size(), size_t{4});
  if (names.size() == 4) CHECK_EQ(names[3], std::string("a-much-longer-name-than-eight"));
  uint64_t inos = 0;
  ForEachDirent(ByteSpan(buf.data(), buf.size()), [&](const DirEntry& e) {
    CHECK_EQ(e.ino, uint64_t{1000 + e.len});
    ++inos;
    return true;
  });
  CHECK_EQ(inos, uint64_t{4});
  bool stopped_ok = ForEachDirent(ByteSpan(buf.data(), buf.size()), [](const DirEntry&) { return false; });
  CHECK(stopped_ok);
  CHECK(ForEachDirent(ByteSpan(), [](const DirEntry&) { return true; }));
}

TEST(dirents_hostile) {
  bool ok = true;
  std::vector<uint8_t> zero;
  Dirent(&zero, "x", 0);  // reclen 0 would loop forever
  Names(zero, &ok);
  CHECK(!ok);
  std::vector<uint8_t> small;
  Dirent(&small, "x", 19);  // no room for even the NUL
  Names(small, &ok);
  CHECK(!ok);
  std::vector<uint8_t> longer;
  Dirent(&longer, "abc");
  longer.resize(longer.size() - 4);  // reclen now runs past the end
  Names(longer, &ok);
  CHECK(!ok);
  std::vector<uint8_t> nonul;
  Dirent(&nonul, "abcd");
  for (size_t i = kDirentNameOffset; i < nonul.size(); ++i) nonul[i] = 'z';  // no NUL
  Names(nonul, &ok);
  CHECK(!ok);
  std::vector<uint8_t> stub = {1, 2, 3};  // shorter than a record header
  Names(stub, &ok);
  CHECK(!ok);
}

TEST(pids) {
  int32_t pid = 0;
  CHECK(ParsePid("1", 1, &pid) && pid == 1);
  CHECK(ParsePid("2147483647", 10, &pid) && pid == 2147483647);
  CHECK(!ParsePid("2147483648", 10, &pid));
  CHECK(!ParsePid("0", 1, &pid));
  CHECK(!ParsePid("012", 3, &pid));
  CHECK(!ParsePid("", 0, &pid));
  CHECK(!ParsePid("12a", 3, &pid));
  CHECK(!ParsePid("-1", 2, &pid));
  CHECK(!ParsePid("99999999999", 11, &pid));
  CHECK(ParsePid("123456", 3, &pid) && pid == 123);  // only len bytes count
}

TEST(fd_numbers) {
  int32_t fd = -1;
  CHECK(ParseFd("0", 1, &fd) && fd == 0);
  CHECK(ParseFd("17", 2, &fd) && fd == 17);
  CHECK(ParseFd("2147483647", 10, &fd) && fd == 2147483647);
  CHECK(!ParseFd("2147483648", 10, &fd));
  CHECK(!ParseFd("00", 2, &fd));
  CHECK(!ParseFd("07", 2, &fd));
  CHECK(!ParseFd("", 0, &fd));
  CHECK(!ParseFd(".", 1, &fd));
  CHECK(!ParseFd("-0", 2, &fd));
  CHECK(ParseFd("05", 1, &fd) && fd == 0);  // only len bytes count
}

TEST(socket_links) {
  CHECK_EQ(ParseSocketLink(Text("socket:[12345]")), uint64_t{12345});
  CHECK_EQ(ParseSocketLink(Text("socket:[18446744073709551615]")), UINT64_MAX);
  CHECK_EQ(ParseSocketLink(Text("socket:[18446744073709551616]")), uint64_t{0});
  CHECK_EQ(ParseSocketLink(Text("socket:[]")), uint64_t{0});
  CHECK_EQ(ParseSocketLink(Text("socket:[12")), uint64_t{0});
  CHECK_EQ(ParseSocketLink(Text("socket:[1x2]")), uint64_t{0});
  CHECK_EQ(ParseSocketLink(Text("pipe:[12345]")), uint64_t{0});
  CHECK_EQ(ParseSocketLink(Text("/dev/null")), uint64_t{0});
  CHECK_EQ(ParseSocketLink(Text("")), uint64_t{0});
  CHECK_EQ(ParseSocketLink(ByteSpan()), uint64_t{0});
}

TEST(comm_and_cmdline) {
  CHECK_EQ(CommFromBytes(Text("nginx\n")), std::string("nginx"));
  CHECK_EQ(CommFromBytes(Text("")), std::string(""));
  CHECK_EQ(CmdlineFromBytes(Text(std::string("node\0server.js\0--port\0"
                                             "80\0",
                                             25))),
           std::string("node server.js --port 80"));
  CHECK_EQ(CmdlineFromBytes(Text(std::string("\0\0", 2))), std::string(""));
}

TEST(stat_start_time) {
  uint64_t t = 0;
  const std::string stat =
      "4242 (a) b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 987654 1000 10 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  CHECK(ParseStatStartTime(Text(stat), &t));
  CHECK_EQ(t, uint64_t{987654});
  CHECK(!ParseStatStartTime(Text("4242 (x) S 1 2 3"), &t));
  CHECK(!ParseStatStartTime(Text("no paren at all 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22"), &t));
  CHECK(!ParseStatStartTime(Text("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12z4 0"), &t));
  CHECK(!ParseStatStartTime(ByteSpan(), &t));
}
