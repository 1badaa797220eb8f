// mounts_parse.cc: see mounts_parse.h. Reads only inside the span given.
#include "mounts_parse.h"

#include <cstring>

namespace tcpcensus {

namespace {

bool IsOctal(uint8_t c) { return c >= '0' && c <= '7'; }

// The next space-separated field of line from *at, or an empty span.
ByteSpan Field(ByteSpan line, size_t* at) {
  while (*at < line.size() && line.data()[*at] == ' ') ++*at;
  const size_t begin = *at;
  while (*at < line.size() && line.data()[*at] != ' ') ++*at;
  return line.Sub(begin, *at - begin);
}

}  // namespace

std::string UnescapeMountField(ByteSpan field) {
  std::string out;
  out.reserve(field.size());
  const uint8_t* p = field.data();
  for (size_t i = 0; i < field.size(); ++i) {
    if (p[i] == '\\' && i + 3 < field.size() && IsOctal(p[i + 1]) && IsOctal(p[i + 2]) && IsOctal(p[i + 3])) {
      const int v = (p[i + 1] - '0') * 64 + (p[i + 2] - '0') * 8 + (p[i + 3] - '0');
      if (v <= 0xFF) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(static_cast<char>(p[i]));
  }
  return out;
}

bool FindMountOfType(ByteSpan mounts, const char* fstype, std::string* mount_point) {
  const size_t type_len = std::strlen(fstype);
  size_t start = 0;
  while (start < mounts.size()) {
    const void* nl = std::memchr(mounts.data() + start, '\n', mounts.size() - start);
    const size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - mounts.data()) : mounts.size();
    const ByteSpan line = mounts.Sub(start, end - start);
    start = end + 1;
    size_t at = 0;
    const ByteSpan source = Field(line, &at);
    const ByteSpan target = Field(line, &at);
    const ByteSpan type = Field(line, &at);
    if (source.empty() || target.empty() || type.size() != type_len) continue;
    if (std::memcmp(type.data(), fstype, type_len) != 0) continue;
    *mount_point = UnescapeMountField(target);
    return true;
  }
  return false;
}

}  // namespace tcpcensus
