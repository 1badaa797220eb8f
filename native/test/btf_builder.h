// btf_builder.h: writes small BTF blobs for the parser tests, well-formed
// or deliberately not. Encoding as in Documentation/bpf/btf.rst; type ids
// are given out in order from 1, so a type may refer to one added later by
// its future id (NextId() + n).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tcpcensus_test {

struct BtfMemberSpec {
  std::string name;  // "" for an anonymous member
  uint32_t type;
  uint32_t bit_offset;
  uint32_t bitfield_bits = 0;  // with kind_flag structs only
};

class BtfBuilder {
 public:
  BtfBuilder() { strings_.push_back('\0'); }

  uint32_t NextId() const { return count_ + 1; }

  uint32_t Str(const std::string& s) {
    if (s.empty()) return 0;
    const uint32_t off = static_cast<uint32_t>(strings_.size());
    strings_.insert(strings_.end(), s.begin(), s.end());
    strings_.push_back('\0');
    return off;
  }

  uint32_t Raw(uint32_t name_off, uint8_t kind, bool kind_flag, uint16_t vlen, uint32_t size_or_type,
               const std::vector<uint32_t>& extra) {
    Put(name_off);
    Put((uint32_t{kind_flag} << 31) | (uint32_t{kind} << 24) | vlen);
    Put(size_or_type);
    for (uint32_t w : extra) Put(w);
    return ++count_;
  }

  uint32_t Int(const std::string& name, uint32_t size, uint32_t bits = 0, uint32_t offset = 0) {
    return Raw(Str(name), 1, false, 0, size, {(offset << 16) | (bits ? bits : size * 8)});
  }
  uint32_t Ptr(uint32_t to) { return Raw(0, 2, false, 0, to, {}); }
  uint32_t Typedef(const std::string& name, uint32_t to) { return Raw(Str(name), 8, false, 0, to, {}); }
  uint32_t Const(uint32_t to) { return Raw(0, 10, false, 0, to, {}); }
  uint32_t Volatile(uint32_t to) { return Raw(0, 9, false, 0, to, {}); }
  uint32_t Fwd(const std::string& name) { return Raw(Str(name), 7, false, 0, 0, {}); }

  uint32_t Composite(uint8_t kind, const std::string& name, uint32_t size, const std::vector<BtfMemberSpec>& members,
                     bool kind_flag) {
    std::vector<uint32_t> extra;
    for (const auto& m : members) {
      extra.push_back(Str(m.name));
      extra.push_back(m.type);
      extra.push_back(kind_flag ? (m.bitfield_bits << 24) | m.bit_offset : m.bit_offset);
    }
    return Raw(Str(name), kind, kind_flag, static_cast<uint16_t>(members.size()), size, extra);
  }
  uint32_t Struct(const std::string& name, uint32_t size, const std::vector<BtfMemberSpec>& members,
                  bool kind_flag = false) {
    return Composite(4, name, size, members, kind_flag);
  }
  uint32_t Union(const std::string& name, uint32_t size, const std::vector<BtfMemberSpec>& members) {
    return Composite(5, name, size, members, false);
  }

  uint32_t FuncProto(uint32_t ret, const std::vector<std::pair<std::string, uint32_t>>& params) {
    std::vector<uint32_t> extra;
    for (const auto& p : params) {
      extra.push_back(Str(p.first));
      extra.push_back(p.second);
    }
    return Raw(0, 13, false, static_cast<uint16_t>(params.size()), ret, extra);
  }
  uint32_t Func(const std::string& name, uint32_t proto) { return Raw(Str(name), 12, false, 0, proto, {}); }

  // The blob: header, types, strings.
  std::vector<uint8_t> Build() const {
    std::vector<uint8_t> out(24);
    const uint16_t magic = 0xEB9F;
    std::memcpy(out.data(), &magic, 2);
    out[2] = 1;  // version
    out[3] = 0;  // flags
    const uint32_t hdr[5] = {24, 0, static_cast<uint32_t>(types_.size()), static_cast<uint32_t>(types_.size()),
                             static_cast<uint32_t>(strings_.size())};
    std::memcpy(out.data() + 4, hdr, sizeof hdr);
    out.insert(out.end(), types_.begin(), types_.end());
    out.insert(out.end(), strings_.begin(), strings_.end());
    return out;
  }

 private:
  void Put(uint32_t w) {
    uint8_t b[4];
    std::memcpy(b, &w, 4);
    types_.insert(types_.end(), b, b + 4);
  }

  std::vector<uint8_t> types_;
  std::vector<char> strings_;
  uint32_t count_ = 0;
};

// Knobs for the owner program's BTF, to make each thing it checks go wrong.
struct OwnerBtfSpec {
  bool randstruct = true;          // pid and tgid inside an anonymous struct in a union
  bool kind_flag = true;           // task_struct uses the kind_flag member encoding
  bool pid_bitfield = false;       // task_struct.pid is a bitfield
  bool old_bitfield = false;       // task_struct.tgid is a bitfield in the INT encoding
  bool ino_32 = false;             // i_ino is 4 bytes
  bool no_files = false;           // task_struct lacks files
  bool files_wrong_type = false;   // task_struct.files is an int
  bool meta_seq_anonymous = true;  // bpf_iter_meta.seq inside an anonymous union
  bool no_func = false;            // no FUNC bpf_iter_task_file (only the struct)
};

// Offsets the spec puts things at (bytes).
constexpr uint32_t kSpecPid = 1264, kSpecTgid = 1268, kSpecLeader = 1328, kSpecFiles = 1824;
constexpr uint32_t kSpecInode = 32, kSpecMode = 0, kSpecIno = 64;

inline std::vector<uint8_t> OwnerBtf(const OwnerBtfSpec& spec = OwnerBtfSpec()) {
  BtfBuilder b;
  const uint32_t u16 = b.Int("unsigned short", 2);
  const uint32_t i32 = b.Int("int", 4);
  const uint32_t u32 = b.Int("unsigned int", 4);
  const uint32_t ulong = b.Int("long unsigned int", 8);
  const uint32_t pid_t_ = b.Typedef("pid_t", i32);
  const uint32_t umode = b.Typedef("umode_t", u16);
  const uint32_t seq_file = b.Struct("seq_file", 64, {});
  const uint32_t files_struct = b.Fwd("files_struct");
  // Ids of task_struct and what follows it, given out in this order.
  const uint32_t task = b.NextId();
  const uint32_t task_ptr = task + 1;
  const uint32_t anon_struct = task + 2;  // struct { pid; tgid; }
  const uint32_t anon_union = task + 3;   // union { that struct; }
  const uint32_t tgid_bits = task + 4;    // only with old_bitfield
  const uint32_t files_ptr = spec.old_bitfield ? task + 5 : task + 4;
  const uint32_t tgid_type = spec.old_bitfield ? tgid_bits : pid_t_;
  std::vector<BtfMemberSpec> tm;
  if (spec.randstruct) {
    tm.push_back({"", anon_union, kSpecPid * 8});
  } else {
    tm.push_back({"pid", pid_t_, kSpecPid * 8, spec.pid_bitfield ? 20u : 0u});
    tm.push_back({"tgid", tgid_type, kSpecTgid * 8});
  }
  tm.push_back({"group_leader", task_ptr, kSpecLeader * 8});
  if (!spec.no_files) tm.push_back({"files", spec.files_wrong_type ? i32 : files_ptr, kSpecFiles * 8});
  tm.push_back({"state_bits", u32, 100 * 8 + 3, spec.kind_flag ? 5u : 0u});
  b.Struct("task_struct", 3264, tm, spec.kind_flag || spec.pid_bitfield);
  b.Ptr(task);
  b.Struct("", 8, {{"pid", pid_t_, 0, spec.pid_bitfield ? 20u : 0u}, {"tgid", tgid_type, 32}}, spec.pid_bitfield);
  b.Union("", 8, {{"", anon_struct, 0}});
  if (spec.old_bitfield) b.Int("int", 4, 20, 0);
  b.Ptr(files_struct);
  // file and inode.
  const uint32_t inode = b.NextId();
  b.Struct("inode", 616, {{"i_mode", umode, kSpecMode * 8}, {"i_ino", spec.ino_32 ? u32 : ulong, kSpecIno * 8}});
  const uint32_t inode_ptr = b.Ptr(inode);
  const uint32_t file = b.Struct("file", 184, {{"f_inode", inode_ptr, kSpecInode * 8}});
  const uint32_t file_ptr = b.Ptr(file);
  // bpf_iter_meta { union { struct seq_file *seq; }; u64 session_id; u64 seq_num; }
  const uint32_t seq_ptr = b.Ptr(seq_file);
  uint32_t meta;
  if (spec.meta_seq_anonymous) {
    const uint32_t u = b.Union("", 8, {{"seq", seq_ptr, 0}});
    meta = b.Struct("bpf_iter_meta", 24, {{"", u, 0}, {"session_id", ulong, 64}, {"seq_num", ulong, 128}});
  } else {
    meta = b.Struct("bpf_iter_meta", 24, {{"seq", seq_ptr, 0}, {"session_id", ulong, 64}});
  }
  const uint32_t meta_ptr = b.Ptr(meta);
  const uint32_t task_ptr2 = b.Ptr(task);
  b.Struct("bpf_iter__task_file", 32, {{"", meta_ptr, 0}, {"", task_ptr2, 64}, {"fd", u32, 128}, {"", file_ptr, 192}});
  const uint32_t proto = b.FuncProto(i32, {{"meta", meta_ptr}, {"task", task_ptr2}, {"fd", u32}, {"file", file_ptr}});
  if (!spec.no_func) b.Func("bpf_iter_task_file", proto);
  return b.Build();
}

}  // namespace tcpcensus_test
