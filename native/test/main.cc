// main.cc: runs every registered native unit test (npm run test:native) and
// exits non-zero when one fails. A test name as argument runs that one only.
#include <cstdio>
#include <cstring>

#include "check.h"

int main(int argc, char** argv) {
  int ran = 0;
  int failed = 0;
  for (const auto& t : tcpcensus_test::Registry()) {
    if (argc > 1 && std::strcmp(argv[1], t.name) != 0) continue;
    const int before = tcpcensus_test::Failures();
    try {
      t.fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "  uncaught exception: %s\n", e.what());
      ++tcpcensus_test::Failures();
    }
    const bool ok = tcpcensus_test::Failures() == before;
    std::printf("%s - %s\n", ok ? "ok" : "not ok", t.name);
    ++ran;
    if (!ok) ++failed;
  }
  std::printf("# native tests: %d, failed: %d\n", ran, failed);
  return failed == 0 && ran > 0 ? 0 : 1;
}
