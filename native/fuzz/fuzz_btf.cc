// fuzz_btf.cc: libFuzzer target for the BTF parser (btf.*) and what reads
// through it: the owner program's layout resolution and emission
// (bpf_prog.*), and the verifier-log reader. The input is a BTF blob; when
// it parses, every type is looked at, members are searched by name through
// anonymous nesting, and the layout is resolved. Seeds: corpus/btf
// (make_seeds.py btf).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../owners/bpf/bpf_prog.h"
#include "../owners/bpf/btf.h"

using namespace tcpcensus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly the input's size, so a read past it is an ASan report.
  std::vector<uint8_t> exact(data, data + size);
  const ByteSpan in(exact.data(), exact.size());
  uint64_t sink = VerifierReason(in).size();
  Btf btf;
  std::string error;
  if (btf.Parse(in, &error)) {
    static const char* const kNames[] = {"pid", "tgid", "files", "seq", "f_inode", "i_ino", "deep", ""};
    unsigned composites = 0;
    for (uint32_t id = 1; id <= btf.max_id(); ++id) {
      BtfType t;
      if (!btf.Type(id, &t)) __builtin_trap();  // every id Parse indexed is readable
      std::string_view name;
      if (btf.Name(t.name_off, &name)) sink += name.size();
      sink += btf.SkipModifiers(id);
      if ((t.kind == kBtfStruct || t.kind == kBtfUnion) && composites++ < 64) {
        for (const char* n : kNames) {
          BtfMember m;
          if (btf.FindMember(id, n, &m, &error)) sink += m.bit_offset + m.bitfield_bits + m.type;
        }
      }
      if (t.kind == kBtfFuncProto) {
        uint32_t name_off, type;
        for (uint32_t i = 0; btf.Param(id, i, &name_off, &type); ++i) sink += name_off + type;
      }
    }
    OwnerProgLayout layout;
    if (ResolveOwnerLayout(btf, &layout, &error)) {
      OwnerProgram prog;
      EmitOwnerProgram(layout, &prog);
      sink += prog.count;
    }
  } else if (error.empty()) {
    __builtin_trap();  // a refusal always says why
  }
  volatile uint64_t keep = sink;
  (void)keep;
  return 0;
}
