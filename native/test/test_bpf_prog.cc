// test_bpf_prog.cc: the owner program's layout resolution (on the running
// kernel's BTF and on hand-made BTF where each check must fire), its
// instructions, the record format, the verifier-log reader, and our copies
// of the kernel's ABI numbers against <linux/bpf.h> (the product builds
// without kernel headers; the tests may use them).
#include <linux/bpf.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "../owners/bpf/bpf_prog.h"
#include "../owners/bpf/btf.h"
#include "btf_builder.h"
#include "check.h"

using namespace tcpcensus;
using namespace tcpcensus_test;

namespace {

bool Resolve(const std::vector<uint8_t>& blob, OwnerProgLayout* layout, std::string* error) {
  static std::vector<uint8_t> keep;
  keep = blob;
  Btf btf;
  if (!btf.Parse(ByteSpan(keep), error)) return false;
  return ResolveOwnerLayout(btf, layout, error);
}

std::string ResolveError(const OwnerBtfSpec& spec) {
  OwnerProgLayout layout;
  std::string error;
  if (Resolve(OwnerBtf(spec), &layout, &error)) return "(resolved)";
  return error;
}

}  // namespace

TEST(abi_numbers_match_the_kernel_headers) {
  CHECK_EQ(kBpfProgLoad, int{BPF_PROG_LOAD});
  CHECK_EQ(kBpfLinkCreate, int{BPF_LINK_CREATE});
  CHECK_EQ(kBpfIterCreate, int{BPF_ITER_CREATE});
  CHECK_EQ(kBpfObjGetInfoByFd, int{BPF_OBJ_GET_INFO_BY_FD});
  CHECK_EQ(kBpfLinkTypeIter, uint32_t{BPF_LINK_TYPE_ITER});
  CHECK_EQ(kBpfProgTypeTracing, uint32_t{BPF_PROG_TYPE_TRACING});
  CHECK_EQ(kBpfTraceIter, uint32_t{BPF_TRACE_ITER});
  CHECK_EQ(kBpfFuncSeqWrite, int32_t{BPF_FUNC_seq_write});
  // The offsets bpf_iter.cc's attribute structs assert.
  CHECK_EQ(offsetof(union bpf_attr, prog_name), size_t{48});
  CHECK_EQ(offsetof(union bpf_attr, expected_attach_type), size_t{68});
  CHECK_EQ(offsetof(union bpf_attr, attach_btf_id), size_t{108});
  CHECK_EQ(offsetof(union bpf_attr, attach_btf_obj_fd), size_t{112});
  CHECK_EQ(offsetof(union bpf_attr, link_create.iter_info), size_t{16});
  CHECK_EQ(offsetof(union bpf_attr, link_create.iter_info_len), size_t{24});
  CHECK_EQ(offsetof(union bpf_iter_link_info, task.pid), size_t{4});
  CHECK_EQ(sizeof(union bpf_iter_link_info), size_t{16});
  CHECK_EQ(sizeof(struct bpf_insn), sizeof(BpfInsn));
}

TEST(layout_resolves_on_the_running_kernel) {
  std::vector<uint8_t> vmlinux;
  {
    FILE* f = std::fopen("/sys/kernel/btf/vmlinux", "rb");
    CHECK(f != nullptr);
    if (f == nullptr) return;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) vmlinux.insert(vmlinux.end(), buf, buf + n);
    std::fclose(f);
  }
  OwnerProgLayout l;
  std::string error;
  CHECK(Resolve(vmlinux, &l, &error));
  CHECK_EQ(error, std::string());
  CHECK(l.attach_btf_id != 0);
  // bpf_iter_task_file(meta, task, fd, file): arguments 0, 1 and 3.
  CHECK_EQ(l.ctx_meta, int16_t{0});
  CHECK_EQ(l.ctx_task, int16_t{8});
  CHECK_EQ(l.ctx_file, int16_t{24});
  CHECK_EQ(l.meta_seq, int16_t{0});
  CHECK(l.task_pid > 0 && l.task_tgid > 0 && l.task_pid != l.task_tgid);
  CHECK(l.task_group_leader > 0 && l.task_files > 0);
  CHECK(l.file_inode > 0);
  CHECK(l.ino_size == 8 || l.ino_size == 4);
}

TEST(layout_of_hand_made_btf_is_where_it_was_put) {
  OwnerProgLayout l;
  std::string error;
  CHECK(Resolve(OwnerBtf(), &l, &error));
  CHECK_EQ(error, std::string());
  CHECK_EQ(l.task_pid, int16_t{kSpecPid});
  CHECK_EQ(l.task_tgid, int16_t{kSpecTgid});
  CHECK_EQ(l.task_group_leader, int16_t{kSpecLeader});
  CHECK_EQ(l.task_files, int16_t{kSpecFiles});
  CHECK_EQ(l.file_inode, int16_t{kSpecInode});
  CHECK_EQ(l.inode_mode, int16_t{kSpecMode});
  CHECK_EQ(l.inode_ino, int16_t{kSpecIno});
  CHECK_EQ(int{l.ino_size}, 8);
  OwnerBtfSpec plain;
  plain.randstruct = false;
  plain.kind_flag = false;
  plain.meta_seq_anonymous = false;
  plain.ino_32 = true;
  CHECK(Resolve(OwnerBtf(plain), &l, &error));
  CHECK_EQ(l.task_tgid, int16_t{kSpecTgid});
  CHECK_EQ(int{l.ino_size}, 4);
}

TEST(layout_refuses_what_would_read_the_wrong_thing) {
  OwnerBtfSpec s;
  s.randstruct = false;
  s.pid_bitfield = true;
  CHECK_EQ(ResolveError(s), std::string("struct task_struct member pid is a bitfield"));
  s = OwnerBtfSpec();
  s.randstruct = false;
  s.kind_flag = false;
  s.old_bitfield = true;
  CHECK_EQ(ResolveError(s), std::string("struct task_struct member tgid is a bitfield"));
  s = OwnerBtfSpec();
  s.no_files = true;
  CHECK_EQ(ResolveError(s), std::string("struct task_struct has no member files"));
  s = OwnerBtfSpec();
  s.files_wrong_type = true;
  CHECK_EQ(ResolveError(s), std::string("struct task_struct member files is no pointer to struct files_struct"));
  s = OwnerBtfSpec();
  s.no_func = true;
  CHECK(ResolveError(s).find("no function bpf_iter_task_file") == 0);
}

TEST(program_is_well_formed) {
  OwnerProgLayout l;
  std::string error;
  CHECK(Resolve(OwnerBtf(), &l, &error));
  OwnerProgram p;
  EmitOwnerProgram(l, &p);
  CHECK(p.count > 20 && p.count < kMaxOwnerInsns);
  // r6 = r1 first; r0 = 0 and exit last.
  CHECK_EQ(int{p.insns[0].code}, 0xbf);
  CHECK_EQ(int{p.insns[0].regs}, 0x16);
  CHECK_EQ(int{p.insns[p.count - 2].code}, 0xb7);
  CHECK_EQ(int{p.insns[p.count - 1].code}, 0x95);
  int calls = 0;
  for (size_t i = 0; i < p.count; ++i) {
    const BpfInsn& in = p.insns[i];
    const uint8_t cls = in.code & 0x07;
    if (cls == 0x05 && in.code != 0x85 && in.code != 0x95) {
      // Every jump lands inside the program, forward.
      const long target = static_cast<long>(i) + 1 + in.off;
      CHECK(in.off >= 0 && target < static_cast<long>(p.count));
    }
    if (in.code == 0x85) {
      ++calls;
      CHECK_EQ(in.imm, kBpfFuncSeqWrite);
    }
    // Loads from the task use the resolved offsets.
    if (in.code == 0x61 && (in.regs >> 4) == 7) CHECK(in.off == kSpecPid || in.off == kSpecTgid);
  }
  CHECK_EQ(calls, 1);
  // A 4-byte i_ino is loaded with a 4-byte load.
  OwnerBtfSpec s;
  s.ino_32 = true;
  CHECK(Resolve(OwnerBtf(s), &l, &error));
  EmitOwnerProgram(l, &p);
  bool w_load = false;
  for (size_t i = 0; i < p.count; ++i) w_load = w_load || (p.insns[i].code == 0x61 && p.insns[i].off == kSpecIno);
  CHECK(w_load);
}

TEST(records_are_read_whole_and_the_rest_kept) {
  std::vector<uint8_t> bytes(16 * 3 + 5);
  for (int i = 0; i < 3; ++i) {
    const uint64_t ino = 1000 + i;
    const int32_t tgid = 10 + i, tid = 20 + i;
    std::memcpy(bytes.data() + 16 * i, &ino, 8);
    std::memcpy(bytes.data() + 16 * i + 8, &tgid, 4);
    std::memcpy(bytes.data() + 16 * i + 12, &tid, 4);
  }
  std::vector<OwnerRecord> got;
  const size_t used = ForEachOwnerRecord(ByteSpan(bytes), [&](const OwnerRecord& r) { got.push_back(r); });
  CHECK_EQ(used, size_t{48});
  CHECK_EQ(got.size(), size_t{3});
  CHECK_EQ(got[2].inode, uint64_t{1002});
  CHECK_EQ(got[2].tgid, int32_t{12});
  CHECK_EQ(got[2].tid, int32_t{22});
  CHECK_EQ(ForEachOwnerRecord(ByteSpan(bytes.data(), 15), [&](const OwnerRecord&) {}), size_t{0});
}

TEST(verifier_reason_is_the_last_line_that_says_something) {
  const std::string log =
      "func#0 @0\n0: R1=ctx() R10=fp0\n0: (bf) r6 = r1\n5: (79) r1 = *(u64 *)(r8 +256)\n"
      "R8 invalid mem access 'scalar'\nprocessed 6 insns (limit 1000000) max_states_per_insn 0\n";
  std::vector<uint8_t> buf(log.begin(), log.end());
  buf.push_back('\0');
  buf.resize(4096, 'x');  // bytes after the NUL are not text
  CHECK_EQ(VerifierReason(ByteSpan(buf)), std::string("R8 invalid mem access 'scalar'"));
  CHECK_EQ(VerifierReason(ByteSpan()), std::string());
  const std::string ctrl = "bad\x01 thing\x7f\n";
  CHECK_EQ(VerifierReason(ByteSpan(reinterpret_cast<const uint8_t*>(ctrl.data()), ctrl.size())),
           std::string("bad thing"));
  const std::string longline(500, 'a');
  CHECK_EQ(VerifierReason(ByteSpan(reinterpret_cast<const uint8_t*>(longline.data()), longline.size()), 10),
           std::string(10, 'a'));
}

TEST(layout_refuses_misaligned_members) {
  // Move task_struct.pid two bytes on: a 4-byte field at an odd place is a
  // wrong offset, never something to load.
  std::vector<uint8_t> blob = OwnerBtf();
  Btf btf;
  std::string error;
  CHECK(btf.Parse(ByteSpan(blob), &error));
  const uint32_t anon = btf.FindByName(kBtfStruct, "task_struct") + 2;  // struct { pid; tgid; }
  BtfType t;
  CHECK(btf.Type(anon, &t));
  const size_t pid_offset_at = static_cast<size_t>(t.data.data() - blob.data()) + 8;  // member 0's offset word
  const uint32_t two_bytes_on = 16;
  std::memcpy(blob.data() + pid_offset_at, &two_bytes_on, 4);
  OwnerProgLayout l;
  CHECK(!Resolve(blob, &l, &error));
  CHECK_EQ(error, std::string("struct task_struct member pid is not aligned"));
}
