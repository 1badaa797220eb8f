// bpf_source.cc: the eBPF iterator as an OwnerSource (bpf_source.h). The
// iterator needs no inodes, so Prefetch loads the program and runs it on a
// thread of its own while the caller dumps the sockets; Claim then only
// claims what it reported. It reports pids only: FindOwners reads the
// owners' names. Man pages: pthreads(7).
#include "bpf_source.h"

#include <atomic>
#include <exception>
#include <system_error>
#include <thread>

#include "bpf_iter.h"

namespace tcpcensus {

namespace {

class BpfOwnerSource : public OwnerSource {
 public:
  BpfOwnerSource() = default;
  BpfOwnerSource(const BpfOwnerSource&) = delete;
  BpfOwnerSource& operator=(const BpfOwnerSource&) = delete;
  // Unused, a prefetch is stopped between reads.
  ~BpfOwnerSource() override {
    if (started_ && !joined_) {
      cancel_.store(true, std::memory_order_relaxed);
      thread_.join();
    }
  }

  const char* name() const override { return "bpf"; }
  bool ReadsNames() const override { return false; }

  void Prefetch(const OwnerOptions& opts) override {
    if (started_) return;
    opts_ = opts;
    opts_.progress_done = nullptr;
    opts_.progress_total = nullptr;
    try {
      thread_ = std::thread([this] {
        // No exception may leave a thread: keep it for Claim.
        try {
          CollectBpfRecords(opts_, false, &records_, &cancel_);
        } catch (...) {
          error_ = std::current_exception();
        }
      });
      started_ = true;
    } catch (const std::system_error&) {
      // No thread: Claim collects on its own.
    }
  }

  void Claim(InodeTable* table, const OwnerOptions& opts, SourceOutput* out) override {
    if (started_) {
      ClaimBpfRecords(table, Take(), opts, out);
    } else {
      RunBpfOwners(table, opts, out);
    }
  }

 private:
  // The records, once the thread is done; rethrows what ended it.
  const BpfRecords& Take() {
    if (!joined_) {
      thread_.join();
      joined_ = true;
    }
    if (error_) std::rethrow_exception(error_);
    return records_;
  }

  OwnerOptions opts_;  // the prefetch's, without progress counters
  BpfRecords records_;
  std::exception_ptr error_;
  std::atomic<bool> cancel_{false};
  std::thread thread_;
  bool started_ = false;
  bool joined_ = false;
};

}  // namespace

std::unique_ptr<OwnerSource> MakeBpfOwnerSource() { return std::make_unique<BpfOwnerSource>(); }

}  // namespace tcpcensus
