// procnet.cc: reads /proc/thread-self/net/tcp{,6} (see procnet.h).
//
// Man pages: proc(5), open(2), read(2). The kernel generates the text as it
// is read (seq_file); a large read lets it fill many lines per call. Lines
// may split across reads: the parser takes the complete ones and the rest
// moves to the front of the buffer. One buffer per family, no allocation
// per socket.
#include "procnet.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "../common/bytes.h"
#include "../common/fd.h"
#include "../common/sys_error.h"
#include "bytecode.h"
#include "procnet_parse.h"

namespace tcpcensus {

namespace {

constexpr size_t kReadBuffer = 256 * 1024;
static_assert(kReadBuffer >= 2 * kProcNetMaxLine, "a split line must fit beside a whole one");

// Keeps the rows the kernel would have sent for this request.
class FilterSink : public DiagSink {
 public:
  FilterSink(const DumpRequest& req, DiagSink* next) : states_(req.states), program_(req.bytecode), next_(next) {}
  void OnSocket(const SocketRecord& r) override {
    if (!(states_ & (1u << r.state))) return;
    if (!program_.empty()) {
      BcEntry e;
      e.family = r.family == 6 ? AF_INET6 : AF_INET;
      e.saddr = r.local_addr.data();
      e.daddr = r.remote_addr.data();
      e.sport = r.local_port;
      e.dport = r.remote_port;
      if (!RunBytecode(program_, e)) return;
    }
    next_->OnSocket(r);
  }

 private:
  uint32_t states_;
  ByteSpan program_;
  DiagSink* next_;
};

}  // namespace

void CheckProcfsRequest(const DumpRequest& req) {
  if (req.bytecode.empty()) return;
  const BcAudit audit = AuditBytecode(ByteSpan(req.bytecode));
  if (!audit.ok) throw std::invalid_argument("INET_DIAG_REQ_BYTECODE refused: " + audit.error);
  if (audit.needs & kBcNeedsCgroup) {
    throw UnsupportedError("the procfs source cannot filter by cgroup: /proc/net/tcp has no cgroup ids");
  }
  if (audit.needs & (kBcNeedsIfindex | kBcNeedsMark | kBcNeedsUserlocks)) {
    throw UnsupportedError(
        "the procfs source cannot filter by interface, mark or port lock: /proc/net/tcp does not show them");
  }
}

void ProcfsDumpFamily(int family, const DumpRequest& req, DiagSink* sink) {
  const char* path = family == AF_INET6 ? "/proc/thread-self/net/tcp6" : "/proc/thread-self/net/tcp";
  Fd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) {
    if (family == AF_INET6 && errno == ENOENT) return;  // no IPv6 in this kernel
    throw SysError("open", errno, path);
  }
  FilterSink filter(req, sink);
  ProcNetParser parser(family == AF_INET6 ? 6 : 4, path, &filter);
  std::vector<uint8_t> buf(kReadBuffer);
  size_t kept = 0;  // bytes of a line cut by the last read, at the front
  for (;;) {
    ssize_t n = read(fd.get(), buf.data() + kept, buf.size() - kept);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("read", errno, path);
    }
    const bool eof = n == 0;
    const size_t filled = kept + static_cast<size_t>(n);
    const size_t used = parser.Feed(ByteSpan(buf.data(), filled), eof);
    if (eof) return;
    kept = filled - used;
    if (kept > 0 && used > 0) std::memmove(buf.data(), buf.data() + used, kept);
  }
}

}  // namespace tcpcensus
