// dump_stream.h: one socket dump handed over in batches, for a caller that
// writes rows as they come (tcpcensus list) and must hold a batch, not the
// whole socket set.
//
// Plain C++ with no N-API inside. Man pages: sock_diag(7), netlink(7)
// (multipart dumps: the kernel keeps a dump's place in the socket and fills
// the next datagram once the last was read), proc(5) (/proc/net/tcp),
// setns(2).
//
// The netlink source streams: each Next reads whole datagrams until the
// batch holds at least the rows asked for (a datagram carries at most about
// 32 KiB of records, some 200 rows), so memory is one batch and one receive
// buffer whatever the socket count. The procfs source (asked for, or auto's
// fallback when netlink is refused) does not stream: the text files are read
// whole into a native table first, as DumpSockets does, then handed out in
// batches. Rows come in the order DumpSockets gives them: one walk of both
// families where the kernel has it, else IPv4 then IPv6.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "request.h"
#include "sock_diag.h"
#include "socket_table.h"

namespace tcpcensus {

class DumpStream {
 public:
  explicit DumpStream(DumpRequest req);
  ~DumpStream();
  DumpStream(const DumpStream&) = delete;
  DumpStream& operator=(const DumpStream&) = delete;

  // Clears *out and fills it with the next rows: at least `rows` (plus the
  // rest of the last datagram read) unless the dump ends first. Returns
  // false once the dump has ended (*out may still hold its last rows).
  // The first call opens the dump (in the request's namespace). Throws as
  // DumpSockets does: SysError, NetlinkRefused with Source::kNetlink,
  // UnsupportedError, LimitError once more than max_rows rows were handed
  // over. After a throw the stream is ended. One thread at a time.
  bool Next(size_t rows, SocketTable* out);

  // How the dump is answered; complete once the first Next returned.
  const DumpInfo& info() const { return info_; }
  // Rows handed over so far.
  size_t delivered() const { return delivered_; }
  // Ends the dump early, closing its netlink sockets.
  void Close();

 private:
  enum class Phase { kStart, kNetlink, kTable, kDone };
  class BatchSink;
  void Start(BatchSink* sink);
  void OpenNetlink(BatchSink* sink);

  DumpRequest req_;
  DumpInfo info_;
  Phase phase_ = Phase::kStart;
  // The netlink dumps still to read, in order; the current one first.
  std::vector<std::unique_ptr<NetlinkDump>> dumps_;
  size_t current_ = 0;
  // The procfs source: the whole table, handed out from offset_.
  SocketTable whole_;
  size_t offset_ = 0;
  size_t delivered_ = 0;
};

}  // namespace tcpcensus
