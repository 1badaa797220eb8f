// bpf_prog.cc: see bpf_prog.h. Resolves the program's offsets from BTF and
// emits its instructions.
//
// References: Documentation/bpf/standardization/instruction-set.rst (opcode
// = operation | source | class; registers r0 return value, r1-r5 arguments
// and scratch, r6-r9 callee-saved, r10 read-only frame pointer),
// Documentation/bpf/bpf_iterators.rst, Documentation/bpf/btf.rst,
// kernel/bpf/btf.c btf_ctx_access() (a tracing program reads argument i at
// context offset 8 * i, with 8-byte loads), bpf-helpers(7) bpf_seq_write.
#include "bpf_prog.h"

#include <cstdint>

namespace tcpcensus {

namespace {

constexpr uint32_t kPointerSize = 8;  // 64-bit kernels only

std::string Str(uint64_t v) { return std::to_string(v); }

// The struct a pointer type points to, when it is a pointer to a struct (or
// a forward declaration of one) called name. *target is 0 for a forward
// declaration (it has no members to look up).
bool PointsTo(const Btf& btf, uint32_t type, std::string_view name, uint32_t* target) {
  BtfType t;
  const uint32_t ptr = btf.SkipModifiers(type);
  if (ptr == 0 || !btf.Type(ptr, &t) || t.kind != kBtfPtr) return false;
  const uint32_t to = btf.SkipModifiers(t.size_or_type);
  if (to == 0 || !btf.Type(to, &t) || !btf.NameIs(t.name_off, name)) return false;
  if (t.kind == kBtfStruct) {
    *target = to;
    return true;
  }
  if (t.kind == kBtfFwd && !t.kind_flag) {  // kind_flag 1: a forward union
    *target = 0;
    return true;
  }
  return false;
}

// The size of an integer (or enum) type, or 0.
uint32_t IntSize(const Btf& btf, uint32_t type) {
  BtfType t;
  const uint32_t id = btf.SkipModifiers(type);
  if (id == 0 || !btf.Type(id, &t)) return 0;
  if (t.kind == kBtfInt || t.kind == kBtfEnum || t.kind == kBtfEnum64) return t.size_or_type;
  return 0;
}

class Resolver {
 public:
  Resolver(const Btf& btf, std::string* error) : btf_(btf), error_(error) {}

  bool Fail(std::string what) {
    *error_ = std::move(what);
    return false;
  }

  // The byte offset and type of struct_id's member, checked to be no
  // bitfield, byte aligned, inside the struct for `size` bytes, and
  // reachable by one instruction's 16-bit offset.
  bool Member(uint32_t struct_id, std::string_view sname, std::string_view mname, uint32_t size, int16_t* off,
              uint32_t* type) {
    BtfMember m;
    std::string err;
    const std::string what = "struct " + std::string(sname) + " member " + std::string(mname);
    if (!btf_.FindMember(struct_id, mname, &m, &err)) {
      return Fail(err.empty() ? "struct " + std::string(sname) + " has no member " + std::string(mname)
                              : what + ": " + err);
    }
    if (m.bitfield_bits != 0) return Fail(what + " is a bitfield");
    // Naturally aligned, as every field of these structs is: anything else
    // is a wrong offset.
    if (m.bit_offset % (uint64_t{size} * 8) != 0) return Fail(what + " is not aligned");
    BtfType st;
    const uint64_t bytes = m.bit_offset / 8;
    if (!btf_.Type(struct_id, &st) || bytes + size > st.size_or_type) {
      return Fail(what + " lies outside the struct");
    }
    if (bytes > INT16_MAX - 8) return Fail(what + " is too far (" + Str(bytes) + " bytes) for one load");
    *off = static_cast<int16_t>(bytes);
    *type = m.type;
    return true;
  }

  bool IntMember(uint32_t struct_id, std::string_view sname, std::string_view mname, uint32_t min_size,
                 uint32_t max_size, int16_t* off, uint32_t* size) {
    uint32_t type;
    // Look up first with the smallest size; check the real size after.
    if (!Member(struct_id, sname, mname, min_size, off, &type)) return false;
    *size = IntSize(btf_, type);
    if (*size < min_size || *size > max_size) {
      return Fail("struct " + std::string(sname) + " member " + std::string(mname) + " is " +
                  (*size ? Str(*size) + " bytes" : std::string("no integer")) + ", expected " +
                  (min_size == max_size ? Str(min_size) : Str(min_size) + " to " + Str(max_size)));
    }
    BtfType st;
    if (*off % *size != 0 || !btf_.Type(struct_id, &st) || uint64_t(*off) + *size > st.size_or_type) {
      return Fail("struct " + std::string(sname) + " member " + std::string(mname) + " is not aligned or lies outside");
    }
    return true;
  }

  bool PtrMember(uint32_t struct_id, std::string_view sname, std::string_view mname, std::string_view to, int16_t* off,
                 uint32_t* target) {
    uint32_t type;
    if (!Member(struct_id, sname, mname, kPointerSize, off, &type)) return false;
    if (!PointsTo(btf_, type, to, target)) {
      return Fail("struct " + std::string(sname) + " member " + std::string(mname) + " is no pointer to struct " +
                  std::string(to));
    }
    return true;
  }

 private:
  const Btf& btf_;
  std::string* error_;
};

}  // namespace

bool ResolveOwnerLayout(const Btf& btf, OwnerProgLayout* out, std::string* error) {
  Resolver r(btf, error);
  // The iterator target: a FUNC (a struct bpf_iter__task_file exists too).
  const uint32_t func = btf.FindByName(kBtfFunc, "bpf_iter_task_file");
  BtfType t;
  if (func == 0 || !btf.Type(func, &t)) {
    return r.Fail("no function bpf_iter_task_file (a kernel without task_file iterators, before 5.8)");
  }
  const uint32_t proto = t.size_or_type;
  BtfType p;
  if (!btf.Type(proto, &p) || p.kind != kBtfFuncProto) return r.Fail("bpf_iter_task_file has no prototype");
  uint32_t meta_struct = 0, task_struct = 0, file_struct = 0;
  bool have_meta = false, have_task = false, have_file = false;
  for (uint32_t i = 0; i < p.vlen; ++i) {
    uint32_t name_off, type;
    if (!btf.Param(proto, i, &name_off, &type)) return r.Fail("bpf_iter_task_file parameter truncated");
    if (i >= 64) break;  // the real prototype has 4; never a context offset past 16 bits
    const int16_t ctx_off = static_cast<int16_t>(8 * i);
    if (btf.NameIs(name_off, "meta")) {
      if (!PointsTo(btf, type, "bpf_iter_meta", &meta_struct) || meta_struct == 0) {
        return r.Fail("bpf_iter_task_file's meta is no struct bpf_iter_meta *");
      }
      out->ctx_meta = ctx_off;
      have_meta = true;
    } else if (btf.NameIs(name_off, "task")) {
      if (!PointsTo(btf, type, "task_struct", &task_struct) || task_struct == 0) {
        return r.Fail("bpf_iter_task_file's task is no struct task_struct *");
      }
      out->ctx_task = ctx_off;
      have_task = true;
    } else if (btf.NameIs(name_off, "file")) {
      if (!PointsTo(btf, type, "file", &file_struct) || file_struct == 0) {
        return r.Fail("bpf_iter_task_file's file is no struct file *");
      }
      out->ctx_file = ctx_off;
      have_file = true;
    }
  }
  if (!have_meta || !have_task || !have_file) {
    return r.Fail("bpf_iter_task_file lacks a meta, task or file parameter");
  }
  out->attach_btf_id = func;

  uint32_t target, size;
  if (!r.PtrMember(meta_struct, "bpf_iter_meta", "seq", "seq_file", &out->meta_seq, &target)) return false;
  if (!r.IntMember(task_struct, "task_struct", "pid", 4, 4, &out->task_pid, &size)) return false;
  if (!r.IntMember(task_struct, "task_struct", "tgid", 4, 4, &out->task_tgid, &size)) return false;
  if (!r.PtrMember(task_struct, "task_struct", "group_leader", "task_struct", &out->task_group_leader, &target)) {
    return false;
  }
  if (!r.PtrMember(task_struct, "task_struct", "files", "files_struct", &out->task_files, &target)) return false;
  uint32_t inode_struct = 0;
  if (!r.PtrMember(file_struct, "file", "f_inode", "inode", &out->file_inode, &inode_struct)) return false;
  if (inode_struct == 0) return r.Fail("struct inode is only declared");
  if (!r.IntMember(inode_struct, "inode", "i_mode", 2, 2, &out->inode_mode, &size)) return false;
  if (!r.IntMember(inode_struct, "inode", "i_ino", 4, 8, &out->inode_ino, &size)) return false;
  if (size != 4 && size != 8) return r.Fail("struct inode member i_ino is " + Str(size) + " bytes");
  out->ino_size = static_cast<uint8_t>(size);
  return true;
}

namespace {

// Opcode parts (instruction-set.rst).
constexpr uint8_t kLdx = 0x01, kStx = 0x03, kJmp = 0x05, kAlu64 = 0x07;
constexpr uint8_t kSizeW = 0x00, kSizeH = 0x08, kSizeDW = 0x18;
constexpr uint8_t kMem = 0x60;
constexpr uint8_t kSrcK = 0x00, kSrcX = 0x08;
constexpr uint8_t kAdd = 0x00, kAnd = 0x50, kMov = 0xb0;
constexpr uint8_t kJeq = 0x10, kJne = 0x50, kCall = 0x80, kExit = 0x90;

constexpr uint8_t R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;

constexpr int32_t kSIfmt = 0170000;    // S_IFMT
constexpr int32_t kSIfsock = 0140000;  // S_IFSOCK

class Emitter {
 public:
  explicit Emitter(OwnerProgram* out) : out_(out) { out_->count = 0; }

  size_t Emit(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    const size_t at = out_->count;
    // kMaxOwnerInsns is sized for this program; EmitOwnerProgram is fixed.
    if (at < out_->insns.size()) {
      out_->insns[at] = BpfInsn{code, static_cast<uint8_t>((src << 4) | dst), off, imm};
      out_->count++;
    }
    return at;
  }
  size_t MovX(uint8_t dst, uint8_t src) { return Emit(kAlu64 | kMov | kSrcX, dst, src, 0, 0); }
  size_t MovK(uint8_t dst, int32_t imm) { return Emit(kAlu64 | kMov | kSrcK, dst, 0, 0, imm); }
  size_t AddK(uint8_t dst, int32_t imm) { return Emit(kAlu64 | kAdd | kSrcK, dst, 0, 0, imm); }
  size_t AndK(uint8_t dst, int32_t imm) { return Emit(kAlu64 | kAnd | kSrcK, dst, 0, 0, imm); }
  size_t Load(uint8_t size, uint8_t dst, uint8_t src, int16_t off) {
    return Emit(kLdx | kMem | size, dst, src, off, 0);
  }
  size_t Store(uint8_t size, uint8_t dst, int16_t off, uint8_t src) {
    return Emit(kStx | kMem | size, dst, src, off, 0);
  }
  // Jumps are emitted with no target and pointed at a label later.
  size_t JeqK(uint8_t dst, int32_t imm) { return Emit(kJmp | kJeq | kSrcK, dst, 0, 0, imm); }
  size_t JneK(uint8_t dst, int32_t imm) { return Emit(kJmp | kJne | kSrcK, dst, 0, 0, imm); }
  size_t JeqX(uint8_t dst, uint8_t src) { return Emit(kJmp | kJeq | kSrcX, dst, src, 0, 0); }
  size_t Call(int32_t helper) { return Emit(kJmp | kCall, 0, 0, 0, helper); }
  size_t Exit() { return Emit(kJmp | kExit, 0, 0, 0, 0); }

  size_t Here() const { return out_->count; }
  // A jump's offset counts instructions after the jump itself.
  void PointAt(size_t jump, size_t label) {
    if (jump < out_->count) out_->insns[jump].off = static_cast<int16_t>(label - jump - 1);
  }

 private:
  OwnerProgram* out_;
};

}  // namespace

void EmitOwnerProgram(const OwnerProgLayout& l, OwnerProgram* out) {
  Emitter e(out);
  size_t to_done[8];
  size_t n_done = 0;
  // An instruction listing, its comments in one column:
  // clang-format off
  e.MovX(R6, R1);                           // r6 = ctx
  e.Load(kSizeDW, R7, R6, l.ctx_task);      // r7 = ctx->task
  to_done[n_done++] = e.JeqK(R7, 0);
  e.Load(kSizeDW, R8, R6, l.ctx_file);      // r8 = ctx->file
  to_done[n_done++] = e.JeqK(R8, 0);
  e.Load(kSizeDW, R1, R8, l.file_inode);    // r1 = file->f_inode
  to_done[n_done++] = e.JeqK(R1, 0);
  e.Load(kSizeH, R2, R1, l.inode_mode);     // r2 = inode->i_mode
  e.AndK(R2, kSIfmt);
  to_done[n_done++] = e.JneK(R2, kSIfsock); // no socket
  e.Load(l.ino_size == 8 ? kSizeDW : kSizeW, R9, R1, l.inode_ino);  // r9 = inode->i_ino
  e.Load(kSizeW, R2, R7, l.task_tgid);      // r2 = task->tgid
  e.Load(kSizeW, R3, R7, l.task_pid);       // r3 = task->pid
  const size_t leader = e.JeqX(R2, R3);     // the leader: its table is the process's
  e.Load(kSizeDW, R4, R7, l.task_group_leader);  // r4 = task->group_leader
  to_done[n_done++] = e.JeqK(R4, 0);
  e.Load(kSizeDW, R4, R4, l.task_files);    // r4 = leader->files
  to_done[n_done++] = e.JneK(R4, 0);        // the leader has a table: ours is apart
  e.PointAt(leader, e.Here());
  e.Store(kSizeDW, R10, -16, R9);           // record.inode
  e.Store(kSizeW, R10, -8, R2);             // record.tgid
  e.Store(kSizeW, R10, -4, R3);             // record.tid
  e.Load(kSizeDW, R1, R6, l.ctx_meta);      // r1 = ctx->meta
  e.Load(kSizeDW, R1, R1, l.meta_seq);      // r1 = meta->seq
  e.MovX(R2, R10);
  e.AddK(R2, -16);                          // r2 = &record
  e.MovK(R3, static_cast<int32_t>(kOwnerRecordSize));
  e.Call(kBpfFuncSeqWrite);
  const size_t done = e.Here();
  e.MovK(R0, 0);                            // 0: go on with the next object
  e.Exit();
  // clang-format on
  for (size_t i = 0; i < n_done; ++i) e.PointAt(to_done[i], done);
}

std::string VerifierReason(ByteSpan log, size_t max_len) {
  // The log is NUL-terminated text; stop at the first NUL.
  size_t end = 0;
  while (end < log.size() && log.data()[end] != '\0') ++end;
  const char* text = reinterpret_cast<const char*>(log.data());
  std::string_view best;
  size_t begin = 0;
  while (begin < end) {
    size_t stop = begin;
    while (stop < end && text[stop] != '\n') ++stop;
    std::string_view line(text + begin, stop - begin);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (!line.empty() && line.rfind("processed ", 0) != 0 && line.rfind("verification time", 0) != 0 &&
        line.rfind("stack depth", 0) != 0) {
      best = line;
    }
    begin = stop + 1;
  }
  std::string out;
  for (char c : best) {
    if (out.size() >= max_len) break;
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out.push_back(c);
  }
  return out;
}

}  // namespace tcpcensus
