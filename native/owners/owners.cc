// owners.cc: FindOwners, the one entry every owner source goes through: it
// builds the inode table, runs the source, and turns claims into the result
// (owner per row, owning processes with names, what could not be seen).
//
// Man pages: sched_getaffinity(2) (called through syscall(2): the glibc
// wrapper needs _GNU_SOURCE, which the portable build leaves out).
#include "owners.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "inode_table.h"
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

void FindOwners(const std::vector<uint32_t>& inodes, const OwnerOptions& opts, OwnerResult* out) {
  InodeTable table(inodes);
  out->wanted = table.distinct();

  WalkOutput walk;
  WalkProc(&table, opts, &walk);
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
}

}  // namespace tcpcensus
