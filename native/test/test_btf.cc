// test_btf.cc: the BTF parser on the running kernel's BTF and on hand-made
// and hostile blobs, under the sanitizers: every malformed input must give
// an error, never a read outside the blob, a crash or an endless loop.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../owners/bpf/btf.h"
#include "btf_builder.h"
#include "check.h"

using namespace tcpcensus;
using namespace tcpcensus_test;

namespace {

std::vector<uint8_t> ReadAll(const char* path) {
  std::vector<uint8_t> out;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  uint8_t buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  close(fd);
  return out;
}

// Parses bytes copied into a buffer of exactly their size, so ASan sees a
// read one past the end.
bool ParseExact(const std::vector<uint8_t>& bytes, Btf* btf, std::string* error) {
  static std::vector<uint8_t> keep;  // the Btf refers to it after we return
  keep = bytes;
  keep.shrink_to_fit();
  return btf->Parse(ByteSpan(keep.data(), keep.size()), error);
}

void Put32(std::vector<uint8_t>* b, size_t off, uint32_t v) { std::memcpy(b->data() + off, &v, 4); }

uint32_t FindStruct(const Btf& btf, const char* name) { return btf.FindByName(kBtfStruct, name); }

}  // namespace

TEST(btf_parses_the_running_kernel) {
  const std::vector<uint8_t> vmlinux = ReadAll("/sys/kernel/btf/vmlinux");
  CHECK(vmlinux.size() > 1000000);
  Btf btf;
  std::string error;
  CHECK(btf.Parse(ByteSpan(vmlinux), &error));
  CHECK_EQ(error, std::string());
  CHECK(btf.max_id() > 10000);
  const uint32_t func = btf.FindByName(kBtfFunc, "bpf_iter_task_file");
  CHECK(func != 0);
  BtfType t;
  CHECK(btf.Type(func, &t));
  CHECK_EQ(int{t.kind}, int{kBtfFunc});
  uint32_t name_off, type;
  CHECK(btf.Param(t.size_or_type, 1, &name_off, &type));
  CHECK(btf.NameIs(name_off, "task"));

  const uint32_t task = FindStruct(btf, "task_struct");
  CHECK(task != 0);
  BtfMember pid, tgid, files;
  CHECK(btf.FindMember(task, "pid", &pid, &error));
  CHECK(btf.FindMember(task, "tgid", &tgid, &error));
  CHECK(btf.FindMember(task, "files", &files, &error));
  CHECK_EQ(pid.bitfield_bits, uint32_t{0});
  CHECK_EQ(pid.bit_offset % 8, uint64_t{0});
  CHECK(tgid.bit_offset != pid.bit_offset);
  BtfMember missing;
  CHECK(!btf.FindMember(task, "no_such_member", &missing, &error));
  CHECK_EQ(error, std::string());
  // bpf_iter_meta keeps seq inside an anonymous union (__bpf_md_ptr).
  BtfMember seq;
  CHECK(btf.FindMember(FindStruct(btf, "bpf_iter_meta"), "seq", &seq, &error));
  CHECK_EQ(seq.bit_offset, uint64_t{0});
  // A real bitfield of the kernel: sk_buff's pkt_type is 3 bits.
  BtfMember pkt_type;
  const uint32_t skb = FindStruct(btf, "sk_buff");
  if (skb != 0 && btf.FindMember(skb, "pkt_type", &pkt_type, &error)) CHECK_EQ(pkt_type.bitfield_bits, uint32_t{3});
}

TEST(btf_finds_members_through_anonymous_unions_and_both_bitfield_encodings) {
  Btf btf;
  std::string error;
  CHECK(ParseExact(OwnerBtf(), &btf, &error));
  const uint32_t task = FindStruct(btf, "task_struct");
  BtfMember m;
  CHECK(btf.FindMember(task, "pid", &m, &error));
  CHECK_EQ(m.bit_offset, uint64_t{kSpecPid} * 8);
  CHECK(btf.FindMember(task, "tgid", &m, &error));
  CHECK_EQ(m.bit_offset, uint64_t{kSpecTgid} * 8);
  // kind_flag encoding: bit offset in the low 24 bits, size in the high 8.
  CHECK(btf.FindMember(task, "state_bits", &m, &error));
  CHECK_EQ(m.bit_offset, uint64_t{803});
  CHECK_EQ(m.bitfield_bits, uint32_t{5});

  // The INT encoding: the bitfield's size lives in the int type.
  OwnerBtfSpec old;
  old.randstruct = false;
  old.kind_flag = false;
  old.old_bitfield = true;
  Btf b2;
  CHECK(ParseExact(OwnerBtf(old), &b2, &error));
  CHECK(b2.FindMember(FindStruct(b2, "task_struct"), "tgid", &m, &error));
  CHECK_EQ(m.bitfield_bits, uint32_t{20});
  CHECK(b2.FindMember(FindStruct(b2, "task_struct"), "pid", &m, &error));
  CHECK_EQ(m.bitfield_bits, uint32_t{0});
}

TEST(btf_rejects_bad_headers) {
  Btf btf;
  std::string error;
  CHECK(!ParseExact({}, &btf, &error));
  CHECK_EQ(error, std::string("empty"));
  const std::vector<uint8_t> good = OwnerBtf();
  // Every truncation of a good blob fails cleanly (or parses a prefix that
  // happens to be whole: never reads past the end).
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + n);
    CHECK(!ParseExact(cut, &btf, &error));
  }
  std::vector<uint8_t> b = good;
  std::swap(b[0], b[1]);  // the magic in the other byte order
  CHECK(!ParseExact(b, &btf, &error));
  CHECK_EQ(error, std::string("byte order is not this machine's"));
  b = good;
  b[2] = 2;
  CHECK(!ParseExact(b, &btf, &error));
  CHECK_EQ(error, std::string("unknown version 2"));
  b = good;
  Put32(&b, 4, 1u << 30);  // hdr_len
  CHECK(!ParseExact(b, &btf, &error));
  b = good;
  Put32(&b, 4, 8);  // hdr_len shorter than the header
  CHECK(!ParseExact(b, &btf, &error));
}

TEST(btf_rejects_lying_lengths_and_offsets) {
  const std::vector<uint8_t> good = OwnerBtf();
  Btf btf;
  std::string error;
  std::vector<uint8_t> b = good;
  Put32(&b, 12, 0xFFFFFFF0u);  // type_len
  CHECK(!ParseExact(b, &btf, &error));
  b = good;
  Put32(&b, 8, 0xFFFFFFF0u);  // type_off: offset + length wraps in 32 bits
  CHECK(!ParseExact(b, &btf, &error));
  b = good;
  Put32(&b, 20, 0xFFFFFFFFu);  // str_len
  CHECK(!ParseExact(b, &btf, &error));
  b = good;
  Put32(&b, 8, 2);  // misaligned type section
  CHECK(!ParseExact(b, &btf, &error));
  // A type whose vlen says more members than the section holds.
  b = good;
  Put32(&b, 24 + 4, (4u << 24) | 0xFFFF);  // the first type: a struct with 65535 members
  CHECK(!ParseExact(b, &btf, &error));
  // An unknown kind.
  b = good;
  Put32(&b, 24 + 4, 31u << 24);
  CHECK(!ParseExact(b, &btf, &error));
  CHECK(error.find("unknown kind 31") != std::string::npos);
  // String section not ending in NUL.
  b = good;
  b.back() = 'x';
  CHECK(!ParseExact(b, &btf, &error));
}

TEST(btf_string_offsets_out_of_range_are_errors) {
  BtfBuilder b;
  const uint32_t i32 = b.Int("int", 4);
  const uint32_t s = b.Struct("s", 8, {{"a", i32, 0}});
  std::vector<uint8_t> blob = b.Build();
  // Point the member's name far outside the string section.
  const size_t member_name = 24 + 16 + 12;  // int: 12 + 4, then the struct's header
  Put32(&blob, member_name, 1u << 20);
  Btf btf;
  std::string error;
  CHECK(ParseExact(blob, &btf, &error));  // names are checked when used
  BtfMember m;
  CHECK(!btf.FindMember(s, "a", &m, &error));
  CHECK(error.find("out of range") != std::string::npos);
  std::string_view name;
  CHECK(!btf.Name(1u << 20, &name));
  CHECK(!btf.Name(0xFFFFFFFFu, &name));
  CHECK(btf.Name(0, &name));
  CHECK(name.empty());
}

TEST(btf_cycles_and_deep_nesting_end) {
  BtfBuilder b;
  // typedef a -> typedef b -> a: a cycle of modifiers.
  const uint32_t a = b.NextId();
  b.Typedef("a", a + 1);
  b.Typedef("b", a);
  // A struct with an anonymous member of its own type: infinite nesting.
  const uint32_t self = b.NextId();
  b.Struct("self", 8, {{"", self, 0}, {"x", a, 0}});
  // 12 levels of anonymous structs, the innermost holding "deep".
  const uint32_t i32 = b.Int("int", 4);
  uint32_t inner = b.Struct("", 4, {{"deep", i32, 8}});
  for (int i = 0; i < 11; ++i) inner = b.Struct("", 4, {{"", inner, 16}});
  const uint32_t outer12 = inner;
  // 40 levels: beyond the limit.
  for (int i = 0; i < 28; ++i) inner = b.Struct("", 4, {{"", inner, 16}});
  const uint32_t outer40 = inner;
  // A reference to a type id that does not exist.
  const uint32_t dangling = b.Struct("dangling", 4, {{"", 9999, 0}, {"", 0, 0}});
  const std::vector<uint8_t> blob = b.Build();
  Btf btf;
  std::string error;
  CHECK(ParseExact(blob, &btf, &error));
  CHECK_EQ(btf.SkipModifiers(a), uint32_t{0});
  BtfMember m;
  CHECK(!btf.FindMember(self, "nothing", &m, &error));
  CHECK(error.find("nested deeper") != std::string::npos);
  CHECK(btf.FindMember(outer12, "deep", &m, &error));
  CHECK_EQ(m.bit_offset, uint64_t{8 + 11 * 16});
  CHECK(!btf.FindMember(outer40, "deep", &m, &error));
  CHECK(!error.empty());
  CHECK(!btf.FindMember(dangling, "x", &m, &error));
  CHECK_EQ(error, std::string());  // a bad id is skipped as no struct
  CHECK(!btf.FindMember(9999, "x", &m, &error));
  CHECK(!error.empty());
  BtfType t;
  CHECK(!btf.Type(0, &t));
  CHECK(!btf.Type(btf.max_id() + 1, &t));
}

TEST(btf_wide_and_deep_anonymous_fanout_is_bounded) {
  // Each level holds 200 anonymous members of the level below: a naive
  // search would visit 200^6 members.
  BtfBuilder b;
  const uint32_t i32 = b.Int("int", 4);
  uint32_t level = b.Struct("", 4, {{"leaf", i32, 0}});
  for (int depth = 0; depth < 6; ++depth) {
    std::vector<BtfMemberSpec> ms(200, BtfMemberSpec{"", level, 0});
    level = b.Struct("", 4, ms);
  }
  const std::vector<uint8_t> blob = b.Build();
  Btf btf;
  std::string error;
  CHECK(ParseExact(blob, &btf, &error));
  BtfMember m;
  CHECK(!btf.FindMember(level, "absent", &m, &error));
  CHECK(error.find("too many members") != std::string::npos);
  CHECK(btf.FindMember(level, "leaf", &m, &error));  // found on the first path
}
