// bpf_prog.h: the eBPF program of the kernel-side owner source, as data:
// where it reads each field (resolved from BTF), the instructions it is
// made of, and the records it writes.
//
// Pure: no I/O and no syscall here (bpf_iter.* loads and runs it). The
// program is of type BPF_PROG_TYPE_TRACING with expected attach type
// BPF_TRACE_ITER, attached to the iterator target task_file (BTF FUNC
// bpf_iter_task_file); the kernel calls it once per (task, open file) and it
// writes one record per socket file through bpf_seq_write. References:
// Documentation/bpf/bpf_iterators.rst (iterator programs, the context
// struct bpf_iter__task_file { meta, task, fd, file }), Documentation/bpf/
// standardization/instruction-set.rst (the instruction encoding),
// Documentation/bpf/btf.rst, bpf-helpers(7) (bpf_seq_write), inode(7)
// (S_IFMT, S_IFSOCK), kernel/bpf/task_iter.c (which tasks are visited).
//
// Every offset the program uses comes from the running kernel's BTF, never
// from a header of the build machine: struct layouts differ between kernel
// builds (randstruct, config options).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "../../common/bytes.h"
#include "btf.h"

namespace tcpcensus {

// Stable kernel ABI numbers (include/uapi/linux/bpf.h), ours so that
// building needs no kernel headers; native/test/test_bpf_prog.cc checks them
// against <linux/bpf.h>.
constexpr int kBpfProgLoad = 5;               // enum bpf_cmd BPF_PROG_LOAD
constexpr int kBpfLinkCreate = 28;            // BPF_LINK_CREATE
constexpr int kBpfIterCreate = 33;            // BPF_ITER_CREATE
constexpr int kBpfObjGetInfoByFd = 15;        // BPF_OBJ_GET_INFO_BY_FD
constexpr uint32_t kBpfLinkTypeIter = 4;      // enum bpf_link_type BPF_LINK_TYPE_ITER
constexpr uint32_t kBpfProgTypeTracing = 26;  // BPF_PROG_TYPE_TRACING
constexpr uint32_t kBpfTraceIter = 28;        // BPF_TRACE_ITER
constexpr int32_t kBpfFuncSeqWrite = 127;     // BPF_FUNC_seq_write

// Where the program reads what it needs, in bytes. Context offsets are
// 8 * the argument's position in bpf_iter_task_file's prototype (tracing
// programs see their arguments as an array of u64).
struct OwnerProgLayout {
  uint32_t attach_btf_id = 0;  // the BTF FUNC bpf_iter_task_file
  int16_t ctx_meta = 0;
  int16_t ctx_task = 0;
  int16_t ctx_file = 0;
  int16_t meta_seq = 0;           // struct bpf_iter_meta: seq (struct seq_file *)
  int16_t task_pid = 0;           // struct task_struct: pid (the thread id, 4 bytes)
  int16_t task_tgid = 0;          //   tgid (the process id, 4 bytes)
  int16_t task_group_leader = 0;  //   group_leader (struct task_struct *)
  int16_t task_files = 0;         //   files (struct files_struct *)
  int16_t file_inode = 0;         // struct file: f_inode (struct inode *)
  int16_t inode_mode = 0;         // struct inode: i_mode (2 bytes)
  int16_t inode_ino = 0;          //   i_ino (4 or 8 bytes)
  uint8_t ino_size = 8;
};

// Finds every offset of OwnerProgLayout in btf and checks each field's type
// and size (a wrong offset can pass the verifier and silently read
// something else). Returns false with *error naming what is missing or
// unexpected.
bool ResolveOwnerLayout(const Btf& btf, OwnerProgLayout* out, std::string* error);

// struct bpf_insn: opcode, dst_reg:4 | src_reg:4, off, imm.
struct BpfInsn {
  uint8_t code;
  uint8_t regs;
  int16_t off;
  int32_t imm;
};
static_assert(sizeof(BpfInsn) == 8, "struct bpf_insn is 8 bytes");

constexpr size_t kMaxOwnerInsns = 40;
struct OwnerProgram {
  std::array<BpfInsn, kMaxOwnerInsns> insns{};
  size_t count = 0;
};

// The program, for this layout. What it does, per (task, file) visited:
//   if task == NULL or file == NULL: done (the final call has neither)
//   inode = file->f_inode; if NULL or (inode->i_mode & S_IFMT) != S_IFSOCK: done
//   if task->pid != task->tgid and task->group_leader->files != NULL: done
//     (a thread visited apart from its leader has its own fd table, which
//     /proc/<pid>/fd does not show; but when the leader exited, its table
//     lives on in the other threads, so read it there)
//   bpf_seq_write(meta->seq, &{inode->i_ino, task->tgid, task->pid}, 16)
void EmitOwnerProgram(const OwnerProgLayout& layout, OwnerProgram* out);

// The record the program writes, in the host's byte order.
struct OwnerRecord {
  uint64_t inode;
  int32_t tgid;  // the process (global pid: the initial pid namespace's view)
  int32_t tid;   // the thread whose table was read
};
constexpr size_t kOwnerRecordSize = 16;

// Calls fn(const OwnerRecord&) for each whole record of bytes and returns
// how many bytes that consumed (a multiple of kOwnerRecordSize); the caller
// keeps the rest, a record split across reads, for the next call.
template <typename Fn>
size_t ForEachOwnerRecord(ByteSpan bytes, Fn&& fn) {
  size_t off = 0;
  OwnerRecord r;
  while (bytes.Holds(off, kOwnerRecordSize)) {
    bytes.ReadAt(off, &r.inode);
    bytes.ReadAt(off + 8, &r.tgid);
    bytes.ReadAt(off + 12, &r.tid);
    fn(r);
    off += kOwnerRecordSize;
  }
  return off;
}

// The verifier's reason in a load's log (log_level 1): its last line that
// is no statistics line ("processed N insns ...", "verification time ..."),
// at most max_len bytes, control bytes dropped. Empty when there is none.
std::string VerifierReason(ByteSpan log, size_t max_len = 160);

}  // namespace tcpcensus
