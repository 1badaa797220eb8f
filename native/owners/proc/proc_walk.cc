// proc_walk.cc: the parallel /proc/<pid>/fd walk that joins sockets to
// processes.
//
// Man pages: proc(5), getdents64(2), readlinkat(2), openat(2), pthreads(7).
// A caller that knows where new sockets probably are (an incremental sampler)
// can name fd slots to read first (probes) and processes to walk first
// (first_pids); see owners.h.
// Threads share their process's fd table, so only /proc/<pid> is walked, never
// /proc/<pid>/task (but for a process whose main thread exited). Each fd
// costs one readlinkat (about 4 us, all in the kernel), so the work is spread
// over threads and stops as soon as every wanted inode has an owner. Threads
// keep their own buffers and counters; the only shared writes are one atomic
// per matched socket. Every buffer handed to the kernel goes with its own
// size (MutableByteSpan), and every byte back is read by common/proc_parse.*.
#include "proc_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <exception>
#include <system_error>
#include <thread>

#include "../../common/bytes.h"
#include "../../common/fd.h"
#include "../../common/kernel_write.h"
#include "../../common/proc_parse.h"
#include "../../common/read_dir.h"
#include "../../common/sys_error.h"
#include "../proc_names.h"

namespace tcpcensus {

namespace {

constexpr size_t kDirentBuffer = 64 * 1024;
// How many other threads of a leaderless process to try before giving up.
constexpr size_t kMaxTasksTried = 64;
// /proc/<pid>/stat is about 300 bytes; field 22 ends well inside this.

struct Shared {
  InodeTable* table;
  const std::vector<int32_t>* pids;
  int proc_fd;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> found{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t>* progress_done;
  uint64_t wanted;
  bool want_claims = false;  // record every (pid, fd, inode) seen
};

// Claims s for pid; counts a first claim and stops the walk once every
// wanted inode has an owner.
void ClaimFor(Shared& sh, InodeTable::Slot* s, int32_t pid) {
  if (InodeTable::Claim(s, pid) && sh.found.fetch_add(1, std::memory_order_relaxed) + 1 == sh.wanted) {
    sh.stop.store(true, std::memory_order_relaxed);
  }
}

struct WorkerResult {
  SourceOutput out;
  int error = 0;  // an errno that ended this worker
  const char* syscall = nullptr;
  int32_t error_pid = 0;
  std::exception_ptr exception;  // anything else that ended it (bad_alloc)
};

// Counts a finished pid for the progress line, however the pid ended.
struct ProgressTick {
  std::atomic<uint64_t>* done;
  ~ProgressTick() {
    if (done) done->fetch_add(1, std::memory_order_relaxed);
  }
};

bool IsGone(int err) { return err == ENOENT || err == ESRCH; }
bool IsDenied(int err) { return err == EACCES || err == EPERM; }

class PidWalker {
 public:
  PidWalker(Shared& sh, WorkerResult& res) : sh_(sh), res_(res), dents_(kDirentBuffer) {}

  // Walks one process. Returns false when the whole walk must stop (an
  // unexpected errno, kept in res_).
  bool Walk(int32_t pid) {
    pid_ = pid;
    matched_ = false;
    // fd, comm and cmdline are read relative to one open /proc/<pid>, so they
    // cannot come from a different process that reused the pid meanwhile.
    char path[16];
    snprintf(path, sizeof path, "%d", pid);
    Fd piddir(openat(sh_.proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    int err = piddir.ok() ? 0 : errno;
    failed_call_ = "openat";
    size_t fds_seen = 0;
    if (err == 0) err = WalkFdDir(piddir.get(), "fd", &fds_seen);
    // A process whose main thread has exited shows an empty fd directory
    // while its other threads still share the fd table: read it through a
    // live thread instead (proc(5), /proc/<pid>/task/<tid>/fd).
    if (err == 0 && fds_seen == 0) err = WalkThroughTask(piddir.get(), &fds_seen);
    if (err != 0 && !IsGone(err) && !IsDenied(err)) {
      res_.error = err;
      res_.syscall = err == EBADMSG ? "getdents64" : "openat";
      res_.error_pid = pid;
      return false;
    }
    SourceOutput& out = res_.out;
    if (err == 0) {
      out.walked++;
    } else {
      (IsGone(err) ? out.vanished : out.unreadable)++;
      out.failures.push_back(PidFailure{pid, err, failed_call_});
    }
    if (matched_) {
      ProcessInfo p;
      p.pid = pid;
      p.fds = fds_seen;
      ReadProcessNames(piddir.get(), &p);
      out.matched.push_back(std::move(p));
    }
    return true;
  }

 private:
  // Opens dirfd/path and reads every link in it. Returns 0 or the errno that
  // ended it.
  int WalkFdDir(int dirfd, const char* path, size_t* fds_seen) {
    Fd dir(openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    failed_call_ = "openat";
    if (!dir.ok()) return errno;
    failed_call_ = "getdents64";
    int link_err = 0;
    const int fd = dir.get();
    int err = ReadDir(fd, MutableByteSpan(dents_), [&](const DirEntry& e) {
      if (e.name[0] < '0' || e.name[0] > '9') return true;  // "." and ".."
      ++*fds_seen;
      // e.name is NUL-terminated inside the getdents64 record (checked).
      ssize_t n = readlinkat(fd, e.name, reinterpret_cast<char*>(link_.data()), link_.size());
      if (n < 0) {
        // EACCES/EPERM: the directory was listable but its links are not
        // (root without CAP_SYS_PTRACE, a container's default): the whole
        // process is unreadable, never silently half-read.
        if (IsDenied(errno)) {
          link_err = errno;
          failed_call_ = "readlinkat";
          return false;
        }
        return true;  // ENOENT: the fd was closed meanwhile
      }
      const uint64_t inode = ParseSocketLink(ByteSpan(link_.data(), static_cast<size_t>(n)));
      if (InodeTable::Slot* s = sh_.table->Find(inode)) {
        ClaimFor(sh_, s, pid_);
        matched_ = true;
        int32_t fdnum;
        if (sh_.want_claims && ParseFd(e.name, e.len, &fdnum)) {
          res_.out.claims.push_back(FdClaim{pid_, fdnum, static_cast<uint32_t>(inode)});
        }
      }
      return true;
    });
    return link_err ? link_err : err;
  }

  int WalkThroughTask(int piddir, size_t* fds_seen) {
    Fd tasks(openat(piddir, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!tasks.ok()) return 0;  // gone: nothing more to read
    std::vector<int32_t> tids;
    int err = ReadDir(tasks.get(), MutableByteSpan(dents_), [&](const DirEntry& e) {
      int32_t tid;
      if (ParsePid(e.name, e.len, &tid) && tid != pid_) tids.push_back(tid);
      return tids.size() < kMaxTasksTried;
    });
    if (err != 0) return IsGone(err) ? 0 : err;
    for (int32_t tid : tids) {
      char tpath[32];
      snprintf(tpath, sizeof tpath, "task/%d/fd", tid);
      err = WalkFdDir(piddir, tpath, fds_seen);
      if (!IsGone(err)) return err;  // that thread is gone too: try the next
    }
    return 0;
  }

  Shared& sh_;
  WorkerResult& res_;
  std::vector<uint8_t> dents_;
  std::array<uint8_t, 64> link_;
  int32_t pid_ = 0;
  bool matched_ = false;
  const char* failed_call_ = "";  // the call behind the last error, for PidFailure
};

void WalkPids(Shared& sh, WorkerResult& res) {
  PidWalker walker(sh, res);
  const size_t npids = sh.pids->size();
  // Pids are claimed in ascending order and a claimed pid is always walked to
  // the end, so when the walk stops early every pid below the last claimed one
  // has been seen: the lowest-pid-wins rule still holds (but for first_pids
  // and probes, which come out of that order).
  while (!sh.stop.load(std::memory_order_relaxed)) {
    size_t i = sh.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= npids) break;
    ProgressTick tick{sh.progress_done};
    if (!walker.Walk((*sh.pids)[i])) {
      sh.stop.store(true);
      break;
    }
  }
}

// A thread must not let an exception escape (std::terminate would take Node
// down): keep it for the caller to rethrow after every thread has joined.
void Worker(Shared& sh, WorkerResult& res) {
  try {
    WalkPids(sh, res);
  } catch (...) {
    res.exception = std::current_exception();
    sh.stop.store(true);
  }
}

std::vector<int32_t> ListPids(int proc_fd, const std::string& proc_root) {
  // A dup so the directory stream does not move the caller's fd offset.
  Fd dir(openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.ok()) throw SysError("open", errno, proc_root);
  std::vector<uint8_t> buf(kDirentBuffer);
  std::vector<int32_t> pids;
  int err = ReadDir(dir.get(), MutableByteSpan(buf), [&](const DirEntry& e) {
    int32_t pid;
    if (ParsePid(e.name, e.len, &pid)) pids.push_back(pid);
    return true;
  });
  if (err != 0) throw SysError("getdents64", err, proc_root);
  std::sort(pids.begin(), pids.end());
  return pids;
}

// The walk's order: the first pids that are among pids (ascending), in their
// order and once each, then the rest of pids.
std::vector<int32_t> WalkOrder(const std::vector<int32_t>& pids, const std::vector<int32_t>& first) {
  if (first.empty()) return pids;
  std::vector<int32_t> order;
  order.reserve(pids.size());
  std::vector<int32_t> taken;
  for (int32_t p : first) {
    if (!std::binary_search(pids.begin(), pids.end(), p)) continue;
    auto at = std::lower_bound(taken.begin(), taken.end(), p);
    if (at != taken.end() && *at == p) continue;
    taken.insert(at, p);
    order.push_back(p);
  }
  for (int32_t p : pids) {
    if (!std::binary_search(taken.begin(), taken.end(), p)) order.push_back(p);
  }
  return order;
}

// Reads each probed fd link (grouped by pid, each /proc/<pid> opened once)
// and claims what it holds; names are read for the processes that matched.
// A probe that fails (fd closed, process gone or unreadable) is skipped: the
// walk that may follow reads and reports that process as usual.
void RunProbes(Shared& sh, int proc_fd, std::vector<FdProbe> probes, SourceOutput* out) {
  std::sort(probes.begin(), probes.end(),
            [](const FdProbe& a, const FdProbe& b) { return a.pid != b.pid ? a.pid < b.pid : a.fd < b.fd; });
  std::array<uint8_t, 64> link;
  for (size_t i = 0; i < probes.size() && !sh.stop.load(std::memory_order_relaxed);) {
    const int32_t pid = probes[i].pid;
    size_t end = i;
    while (end < probes.size() && probes[end].pid == pid) ++end;
    char path[16];
    snprintf(path, sizeof path, "%d", pid);
    Fd piddir(pid > 0 ? openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1);
    // Links are read relative to the open fd directory: one path component
    // to resolve per probe, not two.
    Fd fddir(piddir.ok() ? openat(piddir.get(), "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1);
    bool matched = false;
    for (; fddir.ok() && i < end && !sh.stop.load(std::memory_order_relaxed); ++i) {
      if (probes[i].fd < 0) continue;
      char fdname[16];
      snprintf(fdname, sizeof fdname, "%d", probes[i].fd);
      ssize_t n = readlinkat(fddir.get(), fdname, reinterpret_cast<char*>(link.data()), link.size());
      if (n < 0) continue;
      const uint64_t inode = ParseSocketLink(ByteSpan(link.data(), static_cast<size_t>(n)));
      if (InodeTable::Slot* s = sh.table->Find(inode)) {
        ClaimFor(sh, s, pid);
        matched = true;
        if (sh.want_claims) out->claims.push_back(FdClaim{pid, probes[i].fd, static_cast<uint32_t>(inode)});
      }
    }
    if (matched) {
      ProcessInfo p;
      p.pid = pid;
      ReadProcessNames(piddir.get(), &p);
      out->matched.push_back(std::move(p));
    }
    i = end;
  }
}

}  // namespace

void WalkProc(InodeTable* table, const OwnerOptions& opts, SourceOutput* out) {
  Fd proc(open(opts.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc.ok()) throw SysError("open", errno, opts.proc_root);

  std::vector<int32_t> pids;
  if (opts.probes_only) {
    // No walk: pids stays empty.
  } else if (opts.pids.empty()) {
    pids = ListPids(proc.get(), opts.proc_root);
  } else {
    pids = opts.pids;
    std::sort(pids.begin(), pids.end());
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  }
  pids = WalkOrder(pids, opts.first_pids);
  out->candidates = pids.size();
  if (opts.progress_total) opts.progress_total->store(pids.size());

  Shared sh;
  sh.table = table;
  sh.pids = &pids;
  sh.proc_fd = proc.get();
  sh.wanted = table->distinct();
  sh.progress_done = opts.progress_done;
  sh.want_claims = opts.claims != nullptr;
  // Nothing to look for: every row is unowned (inode 0) or the set is empty.
  if (sh.wanted == 0) sh.stop.store(true);
  // The probes run first, on this thread; when they find everything, the
  // threads below stop before their first pid.
  SourceOutput probed;
  RunProbes(sh, proc.get(), opts.probes, &probed);

  unsigned nthreads = opts.threads ? std::min(opts.threads, kMaxThreads) : DefaultThreads();
  nthreads = static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(nthreads, pids.size())));
  std::vector<WorkerResult> results(nthreads);
  {
    std::vector<std::thread> threads;
    threads.reserve(nthreads - 1);
    try {
      for (unsigned t = 1; t < nthreads; ++t) {
        threads.emplace_back(Worker, std::ref(sh), std::ref(results[t]));
      }
    } catch (const std::system_error& e) {
      sh.stop.store(true);
      for (auto& th : threads) th.join();
      throw SysError("pthread_create", e.code().value());
    }
    Worker(sh, results[0]);  // the calling thread works too
    for (auto& th : threads) th.join();
  }

  out->complete = (!opts.probes_only && sh.next.load() >= pids.size()) || sh.wanted == 0;
  for (auto& r : results) {
    if (r.exception) std::rethrow_exception(r.exception);
    if (r.error) {
      throw SysError(r.syscall, r.error, opts.proc_root + "/" + std::to_string(r.error_pid) + "/fd", r.error_pid);
    }
  }
  out->matched = std::move(probed.matched);
  out->claims = std::move(probed.claims);
  for (auto& r : results) {
    out->unreadable += r.out.unreadable;
    out->vanished += r.out.vanished;
    out->walked += r.out.walked;
    for (auto& p : r.out.matched) out->matched.push_back(std::move(p));
    for (auto& f : r.out.failures) out->failures.push_back(f);
    out->claims.insert(out->claims.end(), r.out.claims.begin(), r.out.claims.end());
  }
  auto by_pid = [](const auto& a, const auto& b) { return a.pid < b.pid; };
  // A process both probed and walked matched twice: keep one, with the
  // walk's fd count.
  std::stable_sort(out->matched.begin(), out->matched.end(), by_pid);
  for (size_t i = 1; i < out->matched.size(); ++i) {
    if (out->matched[i].pid == out->matched[i - 1].pid) {
      out->matched[i - 1].fds = std::max(out->matched[i - 1].fds, out->matched[i].fds);
    }
  }
  out->matched.erase(std::unique(out->matched.begin(), out->matched.end(),
                                 [](const ProcessInfo& a, const ProcessInfo& b) { return a.pid == b.pid; }),
                     out->matched.end());
  std::sort(out->failures.begin(), out->failures.end(), by_pid);
  if (opts.claims) opts.claims->insert(opts.claims->end(), out->claims.begin(), out->claims.end());
}

}  // namespace tcpcensus
