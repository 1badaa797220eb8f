// btf.cc: see btf.h. Every read is bounded by the span it comes from; every
// loop is bounded by the input's size or by the limits in btf.h.
//
// Reference: Documentation/bpf/btf.rst, sections "Type Encoding" (2.1, the
// kinds and their trailing data) and "String Encoding", and "Kernel API" for
// the header checks the kernel itself makes (magic, version, aligned type
// section, a string section that starts and ends with NUL).
#include "btf.h"

#include <cstring>

namespace tcpcensus {

namespace {

constexpr size_t kTypeHeader = 12;  // struct btf_type: name_off, info, size/type

std::string Str(uint64_t v) { return std::to_string(v); }

// BTF_INT_OFFSET / BTF_INT_BITS of an INT's trailing u32.
uint32_t IntOffset(uint32_t enc) { return (enc >> 16) & 0xff; }
uint32_t IntBits(uint32_t enc) { return enc & 0xff; }

}  // namespace

bool BtfKindDataSize(uint8_t kind, uint16_t vlen, size_t* size) {
  switch (kind) {
    case kBtfInt:
      *size = 4;  // encoding, offset, bits
      return true;
    case kBtfPtr:
    case kBtfFwd:
    case kBtfTypedef:
    case kBtfVolatile:
    case kBtfConst:
    case kBtfRestrict:
    case kBtfFunc:
    case kBtfFloat:
    case kBtfTypeTag:
      *size = 0;
      return true;
    case kBtfArray:
      *size = 12;  // struct btf_array
      return true;
    case kBtfStruct:
    case kBtfUnion:
      *size = size_t{12} * vlen;  // struct btf_member
      return true;
    case kBtfEnum:
      *size = size_t{8} * vlen;  // struct btf_enum
      return true;
    case kBtfFuncProto:
      *size = size_t{8} * vlen;  // struct btf_param
      return true;
    case kBtfVar:
      *size = 4;  // struct btf_var
      return true;
    case kBtfDatasec:
      *size = size_t{12} * vlen;  // struct btf_var_secinfo
      return true;
    case kBtfDeclTag:
      *size = 4;  // struct btf_decl_tag
      return true;
    case kBtfEnum64:
      *size = size_t{12} * vlen;  // struct btf_enum64
      return true;
    default:
      return false;
  }
}

bool Btf::Parse(ByteSpan data, std::string* error) {
  if (ParseInto(data, error)) return true;
  // Nothing half-parsed stays usable.
  types_ = ByteSpan();
  strings_ = ByteSpan();
  offsets_.clear();
  return false;
}

bool Btf::ParseInto(ByteSpan data, std::string* error) {
  types_ = ByteSpan();
  strings_ = ByteSpan();
  offsets_.clear();
  uint16_t magic;
  uint8_t version;
  uint32_t hdr_len, type_off, type_len, str_off, str_len;
  if (!data.ReadAt(0, &magic) || !data.ReadAt(2, &version) || !data.ReadAt(4, &hdr_len) || !data.ReadAt(8, &type_off) ||
      !data.ReadAt(12, &type_len) || !data.ReadAt(16, &str_off) || !data.ReadAt(20, &str_len)) {
    *error = data.empty() ? "empty" : "header truncated (" + Str(data.size()) + " bytes)";
    return false;
  }
  if (magic != kBtfMagic) {
    *error = magic == 0x9FEB ? "byte order is not this machine's" : "bad magic " + Str(magic);
    return false;
  }
  if (version != 1) {
    *error = "unknown version " + Str(version);
    return false;
  }
  if (hdr_len < kBtfHeaderSize || hdr_len > data.size()) {
    *error = "header length " + Str(hdr_len) + " out of range";
    return false;
  }
  const ByteSpan body = data.From(hdr_len);
  if (!body.Holds(type_off, type_len)) {
    *error = "type section [" + Str(type_off) + ", +" + Str(type_len) + ") outside the data";
    return false;
  }
  if (!body.Holds(str_off, str_len)) {
    *error = "string section [" + Str(str_off) + ", +" + Str(str_len) + ") outside the data";
    return false;
  }
  types_ = body.Sub(type_off, type_len);
  strings_ = body.Sub(str_off, str_len);
  if (type_off % 4 != 0) {
    *error = "type section not 4-byte aligned";
    return false;
  }
  if (str_len == 0 || strings_.data()[0] != '\0' || strings_.data()[str_len - 1] != '\0') {
    *error = "string section does not start and end with NUL";
    return false;
  }
  // Each type takes at least 12 bytes, so the index is bounded by the input.
  offsets_.reserve(type_len / kTypeHeader);
  size_t off = 0;
  while (off < types_.size()) {
    uint32_t info;
    if (!types_.ReadAt(off + 4, &info) || !types_.Holds(off, kTypeHeader)) {
      *error = "type " + Str(offsets_.size() + 1) + " truncated";
      return false;
    }
    const uint8_t kind = static_cast<uint8_t>((info >> 24) & 0x1f);
    const uint16_t vlen = static_cast<uint16_t>(info & 0xffff);
    size_t extra;
    if (!BtfKindDataSize(kind, vlen, &extra)) {
      *error = "type " + Str(offsets_.size() + 1) + " has unknown kind " + Str(kind);
      return false;
    }
    if (!types_.Holds(off + kTypeHeader, extra)) {
      *error = "type " + Str(offsets_.size() + 1) + " runs past the type section";
      return false;
    }
    if (offsets_.size() >= kBtfMaxTypes) {
      *error = "more than " + Str(kBtfMaxTypes) + " types";
      return false;
    }
    offsets_.push_back(static_cast<uint32_t>(off));
    off += kTypeHeader + extra;
  }
  return true;
}

bool Btf::Type(uint32_t id, BtfType* out) const {
  if (id == 0 || id > offsets_.size()) return false;
  const size_t off = offsets_[id - 1];
  uint32_t info;
  // Parse() proved every record fits; read checked all the same.
  if (!types_.ReadAt(off, &out->name_off) || !types_.ReadAt(off + 4, &info) ||
      !types_.ReadAt(off + 8, &out->size_or_type)) {
    return false;
  }
  out->kind = static_cast<uint8_t>((info >> 24) & 0x1f);
  out->kind_flag = (info >> 31) != 0;
  out->vlen = static_cast<uint16_t>(info & 0xffff);
  size_t extra = 0;
  if (!BtfKindDataSize(out->kind, out->vlen, &extra)) return false;
  out->data = types_.Sub(off + kTypeHeader, extra);
  return out->data.size() == extra;
}

bool Btf::Name(uint32_t name_off, std::string_view* out) const {
  if (name_off >= strings_.size()) return false;
  const char* begin = reinterpret_cast<const char*>(strings_.data()) + name_off;
  // The section ends with a NUL (checked in Parse), so memchr finds one.
  const void* nul = std::memchr(begin, '\0', strings_.size() - name_off);
  if (nul == nullptr) return false;
  *out = std::string_view(begin, static_cast<size_t>(static_cast<const char*>(nul) - begin));
  return true;
}

bool Btf::NameIs(uint32_t name_off, std::string_view name) const {
  std::string_view s;
  return Name(name_off, &s) && s == name;
}

uint32_t Btf::FindByName(uint8_t kind, std::string_view name) const {
  BtfType t;
  for (uint32_t id = 1; id <= max_id(); ++id) {
    if (Type(id, &t) && t.kind == kind && NameIs(t.name_off, name)) return id;
  }
  return 0;
}

uint32_t Btf::SkipModifiers(uint32_t id) const {
  BtfType t;
  for (int i = 0; i < kMaxModifierChain; ++i) {
    if (!Type(id, &t)) return 0;
    switch (t.kind) {
      case kBtfTypedef:
      case kBtfVolatile:
      case kBtfConst:
      case kBtfRestrict:
      case kBtfTypeTag:
        id = t.size_or_type;
        break;
      default:
        return id;
    }
  }
  return 0;
}

bool Btf::FindMember(uint32_t id, std::string_view name, BtfMember* out, std::string* error) const {
  error->clear();
  uint32_t budget = kMaxMembersVisited;
  return FindMemberIn(id, name, 0, 0, &budget, out, error);
}

bool Btf::FindMemberIn(uint32_t id, std::string_view name, uint64_t base_bits, int depth, uint32_t* budget,
                       BtfMember* out, std::string* error) const {
  BtfType t;
  if (!Type(id, &t) || (t.kind != kBtfStruct && t.kind != kBtfUnion)) {
    *error = "type " + Str(id) + " is no struct or union";
    return false;
  }
  for (uint32_t i = 0; i < t.vlen; ++i) {
    if (*budget == 0) {
      *error = "too many members searched for " + std::string(name);
      return false;
    }
    --*budget;
    // struct btf_member { __u32 name_off; __u32 type; __u32 offset; }
    uint32_t m_name, m_type, m_offset;
    if (!t.data.ReadAt(12 * i, &m_name) || !t.data.ReadAt(12 * i + 4, &m_type) ||
        !t.data.ReadAt(12 * i + 8, &m_offset)) {
      *error = "member " + Str(i) + " of type " + Str(id) + " truncated";
      return false;
    }
    // kind_flag set: bits 0-23 are the bit offset, 24-31 the bitfield size;
    // clear: the whole word is the bit offset and a bitfield's size and
    // extra offset live in the INT type it refers to.
    uint64_t bits = t.kind_flag ? (m_offset & 0xffffff) : m_offset;
    uint32_t field_bits = t.kind_flag ? (m_offset >> 24) : 0;
    std::string_view m;
    if (!Name(m_name, &m)) {
      *error = "member name offset " + Str(m_name) + " out of range";
      return false;
    }
    if (m == name) {
      if (!t.kind_flag) {
        BtfType mt;
        const uint32_t resolved = SkipModifiers(m_type);
        if (resolved != 0 && Type(resolved, &mt) && mt.kind == kBtfInt) {
          uint32_t enc = 0;
          mt.data.ReadAt(0, &enc);
          if (IntOffset(enc) != 0 || (IntBits(enc) != 0 && uint64_t{IntBits(enc)} != uint64_t{mt.size_or_type} * 8)) {
            bits += IntOffset(enc);
            field_bits = IntBits(enc);
          }
        }
      }
      out->type = m_type;
      out->bit_offset = base_bits + bits;
      out->bitfield_bits = field_bits;
      return true;
    }
    if (!m.empty()) continue;
    // An anonymous member: a struct or union whose members belong to us.
    const uint32_t inner = SkipModifiers(m_type);
    BtfType it;
    if (inner == 0 || !Type(inner, &it) || (it.kind != kBtfStruct && it.kind != kBtfUnion)) continue;
    if (depth + 1 >= kMaxNesting) {
      *error = "anonymous members nested deeper than " + Str(kMaxNesting);
      return false;
    }
    if (FindMemberIn(inner, name, base_bits + bits, depth + 1, budget, out, error)) return true;
    if (!error->empty()) return false;
  }
  return false;
}

bool Btf::Param(uint32_t proto_id, uint32_t i, uint32_t* name_off, uint32_t* type) const {
  BtfType t;
  if (!Type(proto_id, &t) || t.kind != kBtfFuncProto || i >= t.vlen) return false;
  // struct btf_param { __u32 name_off; __u32 type; }
  return t.data.ReadAt(8 * i, name_off) && t.data.ReadAt(8 * i + 4, type);
}

}  // namespace tcpcensus
