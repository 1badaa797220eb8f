// dump_stream.cc: see dump_stream.h.
//
// Man pages: sock_diag(7), netlink(7), setns(2). The netlink sockets are
// opened on a thread in the request's namespace (RunInNetns) and read from
// whichever pool thread runs the next batch: a socket stays in the
// namespace it was made in.
#include "dump_stream.h"

#include <sys/socket.h>

#include <string>
#include <utility>

#include "../common/sys_error.h"
#include "netns.h"
#include "procnet.h"
#include "sources.h"

namespace tcpcensus {

// Keeps the rows in the request's states into the batch, with the bound on
// rows handed over in all (max_rows), and notes a kernel that sends no
// cgroup ids.
class DumpStream::BatchSink : public DiagSink {
 public:
  BatchSink(const DumpRequest& req, size_t before, SocketTable* out, DumpInfo* info)
      : max_rows_(req.max_rows), keep_(req.keep_states), before_(before), out_(out), info_(info) {}
  void OnSocket(const SocketRecord& r) override {
    if (keep_ != 0 && !((keep_ >> r.state) & 1u)) return;
    if (max_rows_ != 0 && before_ + out_->size() >= max_rows_) {
      throw LimitError("more than " + std::to_string(max_rows_) +
                       (max_rows_ == 1 ? " socket matches" : " sockets match") +
                       " (maxSockets); narrow the states or filters, or raise the bound");
    }
    out_->Append(r);
  }
  void OnNoCgroupId() override { info_->missing |= kMissingCgroupId; }
  size_t kept() const { return out_->size(); }
  // Lets go of what a refused dump handed over before its refusal, so the
  // source that answers instead never follows rows of the one that did not.
  void Drop() { out_->Clear(); }

 private:
  size_t max_rows_;
  uint32_t keep_;
  size_t before_;
  SocketTable* out_;
  DumpInfo* info_;
};

DumpStream::DumpStream(DumpRequest req) : req_(std::move(req)) {}
DumpStream::~DumpStream() = default;

void DumpStream::Close() {
  dumps_.clear();
  whole_ = SocketTable();
  phase_ = Phase::kDone;
}

// Opens the dumps and reads the first datagram, which is where a sandbox's
// refusal or a kernel without the one-walk request shows.
void DumpStream::OpenNetlink(BatchSink* sink) {
  const bool want4 = req_.families & kFamilyIPv4;
  const bool want6 = req_.families & kFamilyIPv6;
  if (want4 && want6 && !OneWalkKnownRefused()) {
    try {
      auto both = std::make_unique<NetlinkDump>(AF_UNSPEC, req_);
      both->Next(sink);
      dumps_.push_back(std::move(both));
      return;
    } catch (const LimitError&) {
      throw;
    } catch (const SysError& e) {
      // Failed before any row: the families one by one, as DumpSockets does.
      // After a row, retrying would hand rows over twice: the failure stands.
      if (sink->kept() != 0) throw;
      NoteOneWalkFailure(e);
    }
  }
  if (want4) dumps_.push_back(std::make_unique<NetlinkDump>(AF_INET, req_));
  if (want6) dumps_.push_back(std::make_unique<NetlinkDump>(AF_INET6, req_));
  // The first reply of the first, where a refusal of the socket or the
  // request shows; a refusal the second family's dump alone meets later
  // (none is known) would end the stream with that error, not fall back.
  if (!dumps_[0]->Next(sink)) current_ = 1;
}

void DumpStream::Start(BatchSink* sink) {
  bool procfs = req_.source == Source::kProcfs;
  auto open = [&] {
    info_.netns_inode = CurrentNetnsInode();
    if (procfs) return;
    try {
      OpenNetlink(sink);
      info_.source = Source::kNetlink;
    } catch (const NetlinkRefused& e) {
      if (req_.source == Source::kNetlink) throw;
      sink->Drop();
      dumps_.clear();
      current_ = 0;
      info_.fallback = e.what();
      procfs = true;
    }
  };
  if (req_.netns.empty()) {
    open();
  } else {
    RunInNetns(req_.netns, open);
  }
  if (!procfs) {
    phase_ = current_ >= dumps_.size() ? Phase::kDone : Phase::kNetlink;
    return;
  }
  // /proc/net/tcp: read whole (DumpSockets enters the namespace itself).
  DumpRequest whole = req_;
  whole.source = Source::kProcfs;
  DumpInfo info;
  try {
    DumpSockets(whole, &whole_, &info);
  } catch (const UnsupportedError& e) {
    if (info_.fallback.empty()) throw;
    throw UnsupportedError(std::string(e.what()) + " (NETLINK_SOCK_DIAG was refused: " + info_.fallback + ")");
  }
  info.fallback = info_.fallback;
  info_ = info;
  phase_ = Phase::kTable;
}

bool DumpStream::Next(size_t rows, SocketTable* out) {
  out->Clear();
  if (rows == 0) rows = 1;
  BatchSink sink(req_, delivered_, out, &info_);
  try {
    if (phase_ == Phase::kStart) Start(&sink);
    while (phase_ == Phase::kNetlink && out->size() < rows) {
      if (!dumps_[current_]->Next(&sink)) {
        dumps_[current_].reset();  // its socket closed as soon as it is read
        if (++current_ == dumps_.size()) phase_ = Phase::kDone;
      }
    }
    if (phase_ == Phase::kTable) {
      const size_t n = std::min(rows, whole_.size() - offset_);
      out->AppendRange(whole_, offset_, n);
      offset_ += n;
      if (offset_ == whole_.size()) {
        whole_ = SocketTable();
        phase_ = Phase::kDone;
      }
    }
  } catch (...) {
    Close();
    throw;
  }
  delivered_ += out->size();
  if (phase_ == Phase::kDone) dumps_.clear();
  return phase_ != Phase::kDone;
}

}  // namespace tcpcensus
