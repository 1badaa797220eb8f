// fuzz_bytecode.cc: libFuzzer target for the INET_DIAG_REQ_BYTECODE audit
// and interpreter. The first 40 bytes are a socket (family bit, addresses,
// ports, cgroup id), the rest the program. The audit must never read past
// the program; the interpreter must end on any bytes, audited or not.
// Seeds: corpus/bytecode (programs as src/request/filter.ts and
// src/request/cgroup-filter.ts emit them, from make_seeds.py).
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../sockets/bytecode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHead = 1 + 16 + 16 + 2 + 2 + 8;
  if (size < kHead) return 0;
  uint8_t src[16], dst[16];
  std::memcpy(src, data + 1, 16);
  std::memcpy(dst, data + 17, 16);
  tcpcensus::BcEntry e;
  e.family = (data[0] & 1) ? AF_INET6 : AF_INET;
  e.saddr = src;
  e.daddr = dst;
  std::memcpy(&e.sport, data + 33, 2);
  std::memcpy(&e.dport, data + 35, 2);
  std::memcpy(&e.cgroup_id, data + 37, 8);
  const std::vector<uint8_t> program(data + kHead, data + size);  // exact size
  const tcpcensus::ByteSpan p(program.data(), program.size());
  const tcpcensus::BcAudit audit = tcpcensus::AuditBytecode(p);
  volatile bool verdict = tcpcensus::RunBytecode(p, e);
  (void)verdict;
  (void)audit;
  return 0;
}
