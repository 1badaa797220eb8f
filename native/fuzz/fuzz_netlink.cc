// fuzz_netlink.cc: libFuzzer target for the NETLINK_SOCK_DIAG reply parser.
// Any input must parse or throw SysError; a crash or sanitizer report is a
// bug. Seeds: real reply datagrams (corpus/netlink, from make_seeds.py).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/sys_error.h"
#include "../sockets/netlink_parse.h"

namespace {
struct Count : tcpcensus::DiagSink {
  size_t n = 0;
  void OnSocket(const tcpcensus::SocketRecord& r) override { n += r.state; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy, so a read one byte past the input is reported.
  std::vector<uint8_t> exact(data, data + size);
  Count sink;
  for (uint32_t seq : {1u, 0u}) {
    try {
      tcpcensus::ParseDiagDatagram(tcpcensus::ByteSpan(exact.data(), exact.size()), seq, &sink);
    } catch (const tcpcensus::SysError&) {
    }
  }
  return 0;
}
