// fuzz_procnet.cc: libFuzzer target for the /proc/net/tcp{,6} parser. The
// first byte picks the family (even: tcp, odd: tcp6) and how the text is cut
// into reads; any input must parse or throw SysError. Seeds: corpus/procnet
// (real /proc/net/tcp and tcp6 text, from make_seeds.py).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../common/sys_error.h"
#include "../sockets/procnet_parse.h"

namespace {
struct Count : tcpcensus::DiagSink {
  uint64_t n = 0;
  void OnSocket(const tcpcensus::SocketRecord& r) override { n += r.state + r.local_port + r.inode; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t family = (data[0] & 1) ? 6 : 4;
  const size_t chunk = 1 + (data[0] >> 1) * 7;  // 1..897 bytes per read
  const std::vector<uint8_t> text(data + 1, data + size);
  Count sink;
  try {
    tcpcensus::ProcNetParser p(family, "/proc/net/tcp", &sink);
    // Reads as procnet.cc does them: the unconsumed tail comes back in
    // front of the next piece, each piece an exact-size copy.
    std::vector<uint8_t> pending;
    size_t at = 0;
    for (;;) {
      const size_t take = std::min(chunk, text.size() - at);
      pending.insert(pending.end(), text.begin() + at, text.begin() + at + take);
      at += take;
      const bool eof = take == 0;
      std::vector<uint8_t> exact(pending);
      const size_t used = p.Feed(tcpcensus::ByteSpan(exact.data(), exact.size()), eof);
      if (used > exact.size()) __builtin_trap();
      pending.erase(pending.begin(), pending.begin() + used);
      if (eof) {
        if (!pending.empty()) __builtin_trap();  // eof consumes everything
        break;
      }
    }
  } catch (const tcpcensus::SysError&) {
  }
  volatile uint64_t keep = sink.n;
  (void)keep;
  return 0;
}
