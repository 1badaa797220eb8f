// owners.cc: FindOwners, the one entry every owner source goes through: it
// builds the inode table, picks and runs the source (the eBPF iterator, or
// the /proc walk when asked or when the iterator cannot answer), and turns
// claims into the result (owner per row, owning processes with names, what
// could not be seen, which source answered).
//
// Man pages: sched_getaffinity(2) (called through syscall(2): the glibc
// wrapper needs _GNU_SOURCE, which the portable build leaves out).
#include "owners.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <system_error>
#include <thread>

#include "../common/fd.h"
#include "../common/sys_error.h"
#include "bpf_iter.h"
#include "inode_table.h"
#include "proc_names.h"
#include "proc_walk.h"

namespace tcpcensus {

unsigned DefaultThreads() {
  unsigned long mask[16] = {};
  long bytes = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
  unsigned n = 0;
  for (long i = 0; bytes > 0 && i < bytes / static_cast<long>(sizeof mask[0]); ++i) {
    n += static_cast<unsigned>(__builtin_popcountl(mask[i]));
  }
  if (n == 0) n = std::thread::hardware_concurrency();
  return std::max(1u, std::min(n, kMaxThreads));
}

struct OwnerPrefetch::State {
  OwnerOptions opts;
  BpfRecords records;
  std::exception_ptr error;
  std::atomic<bool> cancel{false};
  std::thread thread;
  bool started = false;
  bool joined = false;

  // The records, once the thread is done; rethrows what ended it.
  const BpfRecords& Take() {
    if (!joined) {
      thread.join();
      joined = true;
    }
    if (error) std::rethrow_exception(error);
    return records;
  }
};

OwnerPrefetch::OwnerPrefetch(const OwnerOptions& opts) : state_(new State()) {
  if (opts.source == OwnerSource::kProc) return;
  State* st = state_.get();
  st->opts = opts;
  st->opts.progress_done = nullptr;
  st->opts.progress_total = nullptr;
  try {
    st->thread = std::thread([st] {
      // No exception may leave a thread: keep it for FindOwners.
      try {
        CollectBpfRecords(st->opts, false, &st->records, &st->cancel);
      } catch (...) {
        st->error = std::current_exception();
      }
    });
    st->started = true;
  } catch (const std::system_error&) {
    // No thread: FindOwners collects on its own.
  }
}

OwnerPrefetch::~OwnerPrefetch() {
  if (state_->started && !state_->joined) {
    state_->cancel.store(true, std::memory_order_relaxed);
    state_->thread.join();
  }
}

namespace {

// Runs the source opts.source picks into *table and *src; returns the one
// that answered and, when kAuto fell back, why.
OwnerSource RunSource(InodeTable* table, const OwnerOptions& opts, OwnerPrefetch::State* prefetch,
                      WalkOutput* src, std::string* fallback) {
  if (opts.source != OwnerSource::kProc) {
    try {
      if (prefetch != nullptr && prefetch->started) {
        ClaimBpfRecords(table, prefetch->Take(), opts, src);
      } else {
        RunBpfOwners(table, opts, src);
      }
      return OwnerSource::kBpf;
    } catch (const SysError& e) {
      if (opts.source == OwnerSource::kBpf) throw;
      *fallback = std::string(e.what()) + " (" + ErrnoName(e.err()) + ")";
    } catch (const OwnerSourceError& e) {
      if (opts.source == OwnerSource::kBpf) throw;
      *fallback = e.what();
    }
    // Whatever the iterator claimed before it failed is dropped: the walk
    // answers alone.
    table->ResetClaims();
    *src = WalkOutput();
  }
  WalkProc(table, opts, src);
  return OwnerSource::kProc;
}

}  // namespace

void FindOwners(const std::vector<uint32_t>& inodes, const OwnerOptions& opts, OwnerResult* out,
                OwnerPrefetch* prefetch) {
  InodeTable table(inodes);
  out->wanted = table.distinct();

  WalkOutput walk;
  out->source = RunSource(&table, opts, prefetch ? prefetch->state_.get() : nullptr, &walk, &out->fallback);
  out->failures = std::move(walk.failures);
  out->unreadable = walk.unreadable;
  out->vanished = walk.vanished;
  out->walked = walk.walked;
  out->candidates = walk.candidates;
  out->complete = walk.complete;

  for (const auto& s : table.slots()) {
    if (s.inode == 0) continue;
    if (s.owner.load(std::memory_order_relaxed) != 0) out->found++;
    if (s.shared.load(std::memory_order_relaxed)) out->shared++;
  }
  std::vector<ProcessInfo>& matched = walk.matched;  // ascending by pid
  out->owner.assign(inodes.size(), 0);
  for (size_t i = 0; i < inodes.size(); ++i) {
    InodeTable::Slot* s = table.Find(inodes[i]);
    if (s == nullptr) continue;
    const int32_t pid = s->owner.load(std::memory_order_relaxed);
    out->owner[i] = pid;
    if (pid == 0) continue;
    auto it = std::lower_bound(matched.begin(), matched.end(), pid,
                               [](const ProcessInfo& p, int32_t v) { return p.pid < v; });
    if (it != matched.end() && it->pid == pid) it->sockets++;
  }
  // Keep only processes that won at least one socket (a higher pid that also
  // held a shared socket does not own it).
  for (auto& p : matched) {
    if (p.sockets) out->processes.push_back(std::move(p));
  }
  // The walk read names as it went; the iterator reports pids only, so read
  // the names of the owners now (only theirs).
  if (out->source == OwnerSource::kBpf && !out->processes.empty()) {
    Fd proc(open(opts.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!proc.ok()) throw SysError("open", errno, opts.proc_root);
    for (auto& p : out->processes) ReadProcessNamesOf(proc.get(), &p);
  }
}

}  // namespace tcpcensus
