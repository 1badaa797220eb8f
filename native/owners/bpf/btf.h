// btf.h: a parser for the BPF Type Format (BTF), enough to find what the
// eBPF owner source needs in the running kernel's type information
// (/sys/kernel/btf/vmlinux): a function prototype by name, and struct
// members by name with their offsets.
//
// Pure: no I/O, every read goes through a ByteSpan, and any input, however
// hostile, gives an error text instead of a crash, an endless loop or an
// allocation that the input's size does not bound (fuzz: native/fuzz/
// fuzz_btf.cc). References: Documentation/bpf/btf.rst (header, string
// section, type encoding of every kind, both member offset encodings),
// include/uapi/linux/btf.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../../common/bytes.h"

namespace tcpcensus {

// BTF_KIND_* (include/uapi/linux/btf.h).
enum BtfKind : uint8_t {
  kBtfInt = 1,
  kBtfPtr = 2,
  kBtfArray = 3,
  kBtfStruct = 4,
  kBtfUnion = 5,
  kBtfEnum = 6,
  kBtfFwd = 7,
  kBtfTypedef = 8,
  kBtfVolatile = 9,
  kBtfConst = 10,
  kBtfRestrict = 11,
  kBtfFunc = 12,
  kBtfFuncProto = 13,
  kBtfVar = 14,
  kBtfDatasec = 15,
  kBtfFloat = 16,
  kBtfDeclTag = 17,
  kBtfTypeTag = 18,
  kBtfEnum64 = 19,
};

// struct btf_header, 24 bytes in version 1; hdr_len may say more.
constexpr uint16_t kBtfMagic = 0xEB9F;
constexpr size_t kBtfHeaderSize = 24;
// BTF_MAX_TYPE: the kernel never has more type ids than this.
constexpr uint32_t kBtfMaxTypes = 0x000FFFFF;

// One type as encoded: the common 12-byte struct btf_type and the bytes of
// its kind-specific data (btf_member[vlen], btf_param[vlen], ...).
struct BtfType {
  uint32_t name_off = 0;
  uint8_t kind = 0;
  bool kind_flag = false;
  uint16_t vlen = 0;
  uint32_t size_or_type = 0;  // size for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT, a type id otherwise
  ByteSpan data;              // the kind-specific bytes after the 12
};

// A struct or union member found by name, possibly inside anonymous ones.
struct BtfMember {
  uint32_t type = 0;           // the member's type id
  uint64_t bit_offset = 0;     // from the start of the outermost struct
  uint32_t bitfield_bits = 0;  // 0 when the member is no bitfield
};

class Btf {
 public:
  // Checks the header and every type record of data, which must stay alive
  // and unchanged as long as this object is used. Returns false with *error
  // set when data is no well-formed native-endian BTF.
  bool Parse(ByteSpan data, std::string* error);

  // Highest valid type id (ids run from 1; 0 is void).
  uint32_t max_id() const { return static_cast<uint32_t>(offsets_.size()); }

  // The type with this id; false for 0 (void) or an id out of range.
  bool Type(uint32_t id, BtfType* out) const;

  // The NUL-terminated string at name_off of the string section; false when
  // it is out of range.
  bool Name(uint32_t name_off, std::string_view* out) const;
  bool NameIs(uint32_t name_off, std::string_view name) const;

  // The first type of this kind and name, or 0.
  uint32_t FindByName(uint8_t kind, std::string_view name) const;

  // Follows typedef, const, volatile, restrict and type tags from id to the
  // first other type. Returns 0 for void, a bad id or a chain too long (a
  // cycle).
  uint32_t SkipModifiers(uint32_t id) const;

  // The member called name of the struct or union id, searching anonymous
  // struct and union members too (randstruct and unions put fields there).
  // Returns true when found; false with *error empty when there is none;
  // false with *error set when the BTF is malformed on the way or nests
  // beyond the limits below.
  bool FindMember(uint32_t id, std::string_view name, BtfMember* out, std::string* error) const;

  // Parameter i of a FUNC_PROTO: its name offset and type. False when out of
  // range or id is no FUNC_PROTO.
  bool Param(uint32_t proto_id, uint32_t i, uint32_t* name_off, uint32_t* type) const;

  // Limits of FindMember: anonymous nesting depth, and members looked at in
  // one search (bounds the work on a hostile blob with wide, deep nesting).
  static constexpr int kMaxNesting = 16;
  static constexpr uint32_t kMaxMembersVisited = 1u << 16;
  // Limit of SkipModifiers.
  static constexpr int kMaxModifierChain = 32;

 private:
  bool ParseInto(ByteSpan data, std::string* error);
  bool FindMemberIn(uint32_t id, std::string_view name, uint64_t base_bits, int depth, uint32_t* budget, BtfMember* out,
                    std::string* error) const;

  ByteSpan types_;
  ByteSpan strings_;
  std::vector<uint32_t> offsets_;  // offsets_[id - 1]: where type id starts in types_
};

// Bytes of kind-specific data that follow struct btf_type for a kind with
// vlen entries; false for an unknown kind.
bool BtfKindDataSize(uint8_t kind, uint16_t vlen, size_t* size);

}  // namespace tcpcensus
