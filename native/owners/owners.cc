// owners.cc: FindOwners, the one entry every owner source goes through: it
// builds the inode table, runs the sources opts.source picks (source.h: the
// factory and the 'auto' fallback), and turns claims into the result (owner
// per row, owning processes with names, what could not be seen, which
// source answered).
//
// Man pages: sched_getaffinity(2) (called through syscall(2): the glibc
// wrapper needs _GNU_SOURCE, which the portable build leaves out).
#include "owners.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "../common/fd.h"
#include "../common/sys_error.h"
#include "inode_table.h"
#include "proc_names.h"
#include "source.h"

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

// The sources a search runs, made (and the first one prefetching) before
// the inodes are known.
struct OwnerPrefetch::State {
  std::vector<std::unique_ptr<OwnerSource>> sources;
};

OwnerPrefetch::OwnerPrefetch(const OwnerOptions& opts) : state_(new State()) {
  state_->sources = OwnerSourcesFor(opts.source);
  state_->sources.front()->Prefetch(opts);
}

OwnerPrefetch::~OwnerPrefetch() = default;

void FindOwners(const std::vector<uint32_t>& inodes, const OwnerOptions& opts, OwnerResult* out,
                OwnerPrefetch* prefetch) {
  InodeTable table(inodes);
  out->wanted = table.distinct();

  std::vector<std::unique_ptr<OwnerSource>> made;
  if (prefetch == nullptr) made = OwnerSourcesFor(opts.source);
  const std::vector<std::unique_ptr<OwnerSource>>& sources = prefetch ? prefetch->state_->sources : made;
  SourceOutput walk;
  const OwnerSource& answered = RunOwnerSources(sources, &table, opts, &walk, &out->fallback);
  out->source = answered.name();
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
  // The walk reads names as it goes; a source that reports pids only (the
  // iterator) leaves them to be read now, for the owners only.
  if (!answered.ReadsNames() && !out->processes.empty()) {
    Fd proc(open(opts.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!proc.ok()) throw SysError("open", errno, opts.proc_root);
    for (auto& p : out->processes) ReadProcessNamesOf(proc.get(), &p);
  }
}

}  // namespace tcpcensus
