// procnet_parse.cc: /proc/net/tcp{,6} text to SocketRecord (see
// procnet_parse.h). Reads only inside the spans it is given.
#include "procnet_parse.h"

#include <errno.h>

#include <cstring>
#include <string>

#include "../common/sys_error.h"
#include "netlink_parse.h"

namespace tcpcensus {

namespace {

bool IsSpace(uint8_t c) { return c == ' ' || c == '\t'; }

// Hands out the space-separated tokens of a line.
class Tokens {
 public:
  explicit Tokens(ByteSpan line) : line_(line) {}
  // The next token, or an empty span at the end of the line.
  ByteSpan Next() {
    const uint8_t* p = line_.data();
    while (at_ < line_.size() && IsSpace(p[at_])) ++at_;
    const size_t begin = at_;
    while (at_ < line_.size() && !IsSpace(p[at_])) ++at_;
    return line_.Sub(begin, at_ - begin);
  }

 private:
  ByteSpan line_;
  size_t at_ = 0;
};

int HexDigit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Exactly `digits` hex digits (at most 8) at the start of s.
bool Hex(ByteSpan s, size_t digits, uint32_t* out) {
  if (digits > 8 || s.size() < digits) return false;
  uint32_t v = 0;
  for (size_t i = 0; i < digits; ++i) {
    const int d = HexDigit(s.data()[i]);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  *out = v;
  return true;
}

// A whole token of decimal digits, at most max.
bool Decimal(ByteSpan s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const uint8_t c = s.data()[i];
    if (c < '0' || c > '9') return false;
    if (v > (max - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// "ADDR:PORT": ADDR is `words` hex words of 8 digits, each the in-memory
// bytes of a __be32 printed as a host-order number, so copying the number
// back into memory restores the address bytes on either endianness.
bool Endpoint(ByteSpan tok, size_t words, uint8_t addr[16], uint16_t* port) {
  if (tok.size() != words * 8 + 1 + 4 || tok.data()[words * 8] != ':') return false;
  for (size_t w = 0; w < words; ++w) {
    uint32_t v;
    if (!Hex(tok.From(w * 8), 8, &v)) return false;
    std::memcpy(addr + 4 * w, &v, 4);
  }
  uint32_t p;
  if (!Hex(tok.From(words * 8 + 1), 4, &p)) return false;
  *port = static_cast<uint16_t>(p);
  return true;
}

// Parses one line; returns the reason it is malformed, or nullptr.
const char* ParseLine(ByteSpan line, uint8_t family, SocketRecord* r, ProcNetLine* kind) {
  Tokens t(line);
  const ByteSpan sl = t.Next();
  if (sl.empty() || (sl.size() >= 2 && std::memcmp(sl.data(), "sl", 2) == 0)) {
    *kind = ProcNetLine::kSkip;  // blank, or the header "  sl  local_address ..."
    return nullptr;
  }
  // "%4d:" the slot number: digits and a colon.
  uint64_t slot;
  if (sl.data()[sl.size() - 1] != ':' || !Decimal(sl.Sub(0, sl.size() - 1), UINT32_MAX, &slot)) {
    return "slot number";
  }
  *r = SocketRecord();
  r->family = family;
  const size_t words = family == 6 ? 4 : 1;
  if (!Endpoint(t.Next(), words, r->local_addr.data(), &r->local_port)) return "local address";
  if (!Endpoint(t.Next(), words, r->remote_addr.data(), &r->remote_port)) return "remote address";

  const ByteSpan st = t.Next();
  uint32_t state;
  if (st.size() != 2 || !Hex(st, 2, &state)) return "state";
  r->state = UserState(static_cast<uint8_t>(state));
  if (r->state == 0) return "state out of range";

  // "%08X:%08X" tx_queue:rx_queue
  const ByteSpan q = t.Next();
  uint32_t tx, rx;
  if (q.size() != 17 || q.data()[8] != ':' || !Hex(q, 8, &tx) || !Hex(q.From(9), 8, &rx)) return "queues";
  r->send_q = tx;
  r->recv_q = rx;

  if (t.Next().empty()) return "timer";        // tr:tm->when, not needed
  if (t.Next().empty()) return "retransmits";  // not needed
  uint64_t uid, inode;
  if (!Decimal(t.Next(), UINT32_MAX, &uid)) return "uid";
  if (t.Next().empty()) return "timeout";  // %8d, not needed
  if (!Decimal(t.Next(), UINT32_MAX, &inode)) return "inode";
  r->uid = static_cast<uint32_t>(uid);
  r->inode = static_cast<uint32_t>(inode);
  // A request socket (get_openreq4/6) prints a literal 0 as its refcount
  // and its listener's uid; sock_diag reports uid 0 for it.
  const ByteSpan refcount = t.Next();
  if (r->state == kSynRecv && refcount.size() == 1 && refcount.data()[0] == '0') r->uid = 0;
  *kind = ProcNetLine::kRow;
  return nullptr;
}

}  // namespace

ProcNetLine ParseProcNetLine(ByteSpan line, uint8_t family, SocketRecord* r) {
  ProcNetLine kind = ProcNetLine::kSkip;
  if (const char* what = ParseLine(line, family, r, &kind)) {
    throw SysError("read", EBADMSG, std::string("(/proc/net/tcp line: ") + what + ")");
  }
  return kind;
}

size_t ProcNetParser::Feed(ByteSpan data, bool eof) {
  size_t at = 0;
  SocketRecord r;
  while (at < data.size()) {
    const uint8_t* begin = data.data() + at;
    const size_t left = data.size() - at;
    const void* nl = std::memchr(begin, '\n', left < kProcNetMaxLine + 1 ? left : kProcNetMaxLine + 1);
    size_t len;
    if (nl != nullptr) {
      len = static_cast<size_t>(static_cast<const uint8_t*>(nl) - begin);
    } else if (left > kProcNetMaxLine) {
      len = left;  // too long whatever comes next
    } else if (eof) {
      len = left;  // a last line without its newline
    } else {
      break;  // wait for the rest of the line
    }
    ++lines_;
    const char* what = len > kProcNetMaxLine ? "line too long" : nullptr;
    ProcNetLine kind = ProcNetLine::kSkip;
    if (what == nullptr) what = ParseLine(data.Sub(at, len), family_, &r, &kind);
    if (what != nullptr) {
      throw SysError("read", EBADMSG, std::string("(") + path_ + " line " + std::to_string(lines_) + ": " + what + ")");
    }
    if (kind == ProcNetLine::kRow) sink_->OnSocket(r);
    at += len + (nl != nullptr ? 1 : 0);
  }
  return at;
}

}  // namespace tcpcensus
