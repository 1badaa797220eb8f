// proc_parse.cc: see proc_parse.h. Every function reads only inside the span
// it is given.
#include "proc_parse.h"

#include <cstring>

namespace tcpcensus {

bool ParsePid(const char* s, size_t len, int32_t* pid) {
  if (len == 0 || len > 10 || s[0] < '1' || s[0] > '9') return false;
  int64_t v = 0;
  for (size_t i = 0; i < len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  if (v > INT32_MAX) return false;
  *pid = static_cast<int32_t>(v);
  return true;
}

bool ParseFd(const char* s, size_t len, int32_t* fd) {
  if (len == 1 && s[0] == '0') {
    *fd = 0;
    return true;
  }
  return ParsePid(s, len, fd);
}

uint64_t ParseSocketLink(ByteSpan link) {
  static constexpr char kPrefix[] = "socket:[";
  constexpr size_t kPrefixLen = sizeof kPrefix - 1;
  // "socket:[" + at least one digit + "]"
  if (link.size() < kPrefixLen + 2 || std::memcmp(link.data(), kPrefix, kPrefixLen) != 0) return 0;
  if (link.data()[link.size() - 1] != ']') return 0;
  const size_t digits = link.size() - kPrefixLen - 1;
  if (digits > 20) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < digits; ++i) {
    const uint8_t c = link.data()[kPrefixLen + i];
    if (c < '0' || c > '9') return 0;
    if (v > (UINT64_MAX - (c - '0')) / 10) return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string CommFromBytes(ByteSpan bytes) {
  std::string s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string CmdlineFromBytes(ByteSpan bytes) {
  std::string s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  while (!s.empty() && s.back() == '\0') s.pop_back();
  for (char& c : s) {
    if (c == '\0') c = ' ';
  }
  return s;
}

bool ParseStatStartTime(ByteSpan stat, uint64_t* start) {
  size_t close = stat.size();
  for (size_t i = stat.size(); i > 0; --i) {
    if (stat.data()[i - 1] == ')') {
      close = i - 1;
      break;
    }
  }
  if (close == stat.size()) return false;
  // After ") " come fields 3, 4, ...: starttime is the 20th of them.
  size_t i = close + 1;
  for (int field = 3; field <= 22; ++field) {
    while (i < stat.size() && stat.data()[i] == ' ') ++i;
    if (i >= stat.size()) return false;
    const size_t begin = i;
    while (i < stat.size() && stat.data()[i] != ' ' && stat.data()[i] != '\n') ++i;
    if (field == 22) {
      uint64_t v = 0;
      if (i == begin || i - begin > 20) return false;
      for (size_t k = begin; k < i; ++k) {
        const uint8_t c = stat.data()[k];
        if (c < '0' || c > '9') return false;
        if (v > (UINT64_MAX - (c - '0')) / 10) return false;
        v = v * 10 + (c - '0');
      }
      *start = v;
      return true;
    }
  }
  return false;
}

}  // namespace tcpcensus
