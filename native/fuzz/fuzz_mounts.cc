// fuzz_mounts.cc: libFuzzer target for the /proc/mounts parser (finding the
// cgroup2 mount, undoing \ooo escapes). Seeds: corpus/mounts (this
// machine's /proc/mounts, from make_seeds.py).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../cgroups/mounts_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> exact(data, data + size);
  const tcpcensus::ByteSpan in(exact.data(), exact.size());
  std::string mount;
  size_t n = 0;
  if (tcpcensus::FindMountOfType(in, "cgroup2", &mount)) n += mount.size();
  n += tcpcensus::UnescapeMountField(in).size();
  if (n > 2 * size) __builtin_trap();  // unescaping never grows
  return 0;
}
