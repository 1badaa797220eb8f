// fuzz_proc_parse.cc: libFuzzer target for the /proc parsers (getdents64
// records, socket links, pids, fd numbers, comm, cmdline, stat). The first byte picks
// the parser, the rest is its input. Seeds: corpus/proc_parse.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/proc_parse.h"

using namespace tcpcensus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<uint8_t> exact(data + 1, data + size);
  const ByteSpan in(exact.data(), exact.size());
  uint64_t sink = 0;
  switch (data[0] % 6) {
    case 0:
      ForEachDirent(in, [&](const DirEntry& e) {
        int32_t pid;
        if (ParsePid(e.name, e.len, &pid)) sink += static_cast<uint64_t>(pid);
        sink += e.len + e.type;
        return true;
      });
      break;
    case 1:
      sink += ParseSocketLink(in);
      break;
    case 2: {
      uint64_t start = 0;
      if (ParseStatStartTime(in, &start)) sink += start;
      break;
    }
    case 3:
      sink += CommFromBytes(in).size() + CmdlineFromBytes(in).size();
      break;
    case 4: {
      int32_t pid;
      if (ParsePid(reinterpret_cast<const char*>(exact.data()), exact.size(), &pid)) sink += static_cast<uint64_t>(pid);
      break;
    }
    case 5: {
      int32_t fd;
      if (ParseFd(reinterpret_cast<const char*>(exact.data()), exact.size(), &fd)) sink += static_cast<uint64_t>(fd);
      break;
    }
  }
  volatile uint64_t keep = sink;
  (void)keep;
  return 0;
}
