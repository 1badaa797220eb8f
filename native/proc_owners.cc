// proc_owners.cc: the parallel /proc/<pid>/fd walk that joins sockets to
// processes.
//
// Man pages: proc(5), getdents64(2), readlinkat(2), openat(2), pthreads(7).
// Threads share their process's fd table, so only /proc/<pid> is walked, never
// /proc/<pid>/task. Each fd costs one readlinkat (about 4 us, all in the
// kernel), so the work is spread over threads and stops as soon as every
// wanted inode has an owner. Threads keep their own buffers and counters; the
// only shared writes are one atomic per matched socket.
#include "proc_owners.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "sock_diag.h"

namespace tcpcensus {

namespace {

// linux_dirent64 as getdents64(2) returns it; glibc's struct dirent has the
// same layout on 64-bit Linux but we use the syscall to read in large batches.
struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

constexpr size_t kDirentBuffer = 64 * 1024;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Calls fn(name) for every entry of an open directory. Returns 0, or the
// errno of a failed getdents64.
template <typename Fn>
int ForEachEntry(int dirfd, char* buf, Fn&& fn) {
  for (;;) {
    long n = syscall(SYS_getdents64, dirfd, buf, kDirentBuffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<LinuxDirent64*>(buf + off);
      off += d->d_reclen;
      if (!fn(d->d_name)) return 0;
    }
  }
}

bool ParsePid(const char* s, int32_t* pid) {
  if (*s < '1' || *s > '9') return false;
  int64_t v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return false;
    v = v * 10 + (*s - '0');
    if (v > INT32_MAX) return false;
  }
  *pid = static_cast<int32_t>(v);
  return true;
}

// Open-addressing table of wanted inodes. Filled on one thread before the
// walk; during the walk only the atomic owner and shared fields change.
class InodeTable {
 public:
  struct Slot {
    uint32_t inode = 0;  // 0 = empty (inode 0 is never looked up)
    std::atomic<int32_t> owner{0};
    std::atomic<uint8_t> shared{0};
  };

  InodeTable(const uint32_t* inodes, size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    mask_ = cap - 1;
    slots_ = std::vector<Slot>(cap);
    for (size_t i = 0; i < n; ++i) {
      if (inodes[i] != 0 && Insert(inodes[i])) ++distinct_;
    }
  }

  Slot* Find(uint32_t inode) {
    for (size_t i = Hash(inode);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.inode == inode) return &s;
      if (s.inode == 0) return nullptr;
    }
  }

  size_t distinct() const { return distinct_; }
  std::vector<Slot>& slots() { return slots_; }

 private:
  size_t Hash(uint32_t inode) const {
    return (static_cast<uint64_t>(inode) * 0x9E3779B97F4A7C15ull >> 32) & mask_;
  }
  bool Insert(uint32_t inode) {
    for (size_t i = Hash(inode);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.inode == inode) return false;
      if (s.inode == 0) {
        s.inode = inode;
        return true;
      }
    }
  }

  size_t mask_ = 0;
  size_t distinct_ = 0;
  std::vector<Slot> slots_;
};

// Reads a small /proc file into a string (at most max bytes). Returns false
// when it cannot be read (the process may be gone).
bool ReadSmallFile(int proc_fd, const char* path, size_t max, std::string* out) {
  Fd fd(openat(proc_fd, path, O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return false;
  out->resize(max);
  size_t used = 0;
  while (used < max) {
    ssize_t n = read(fd.get(), &(*out)[used], max - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      out->clear();
      return false;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  out->resize(used);
  return true;
}

void ReadProcessNames(int pid_fd, ProcessInfo* p) {
  if (ReadSmallFile(pid_fd, "comm", 64, &p->comm)) {
    while (!p->comm.empty() && p->comm.back() == '\n') p->comm.pop_back();
  }
  if (ReadSmallFile(pid_fd, "cmdline", 4096, &p->cmdline)) {
    while (!p->cmdline.empty() && p->cmdline.back() == '\0') p->cmdline.pop_back();
    std::replace(p->cmdline.begin(), p->cmdline.end(), '\0', ' ');
  }
}

struct Shared {
  InodeTable* table;
  const std::vector<int32_t>* pids;
  int proc_fd;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> found{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t>* progress_done;
  uint64_t wanted;
};

struct WorkerResult {
  std::vector<ProcessInfo> processes;  // processes that matched something
  uint64_t unreadable = 0;
  uint64_t vanished = 0;
  uint64_t walked = 0;
  int error = 0;              // an errno that ended this worker
  const char* syscall = nullptr;
  std::exception_ptr exception;  // anything else that ended it (bad_alloc)
};

// Records that pid holds the socket in slot s: the lowest pid wins, and a
// second process marks the socket shared.
void Claim(Shared& sh, InodeTable::Slot* s, int32_t pid) {
  int32_t cur = s->owner.load(std::memory_order_relaxed);
  for (;;) {
    if (cur == pid) return;
    if (cur != 0 && cur < pid) break;
    if (s->owner.compare_exchange_weak(cur, pid, std::memory_order_relaxed)) {
      if (cur == 0) {
        if (sh.found.fetch_add(1, std::memory_order_relaxed) + 1 == sh.wanted) {
          sh.stop.store(true, std::memory_order_relaxed);
        }
        return;
      }
      break;  // replaced a higher pid: shared
    }
  }
  s->shared.store(1, std::memory_order_relaxed);
}

// Counts a finished pid for the progress line, however the pid ended.
struct ProgressTick {
  std::atomic<uint64_t>* done;
  ~ProgressTick() {
    if (done) done->fetch_add(1, std::memory_order_relaxed);
  }
};

void WalkPids(Shared& sh, WorkerResult& res) {
  std::vector<char> dents(kDirentBuffer);
  char path[32];
  char link[64];
  const size_t npids = sh.pids->size();
  // Pids are claimed in ascending order and a claimed pid is always walked to
  // the end, so when the walk stops early every pid below the last claimed one
  // has been seen: the lowest-pid-wins rule still holds.
  while (!sh.stop.load(std::memory_order_relaxed)) {
    size_t i = sh.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= npids) break;
    ProgressTick tick{sh.progress_done};
    const int32_t pid = (*sh.pids)[i];
    // fd, comm and cmdline are read relative to one open /proc/<pid>, so they
    // cannot come from a different process that reused the pid meanwhile.
    snprintf(path, sizeof path, "%d", pid);
    Fd piddir(openat(sh.proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    int open_err = piddir.get() < 0 ? errno : 0;
    Fd dir(open_err ? -1 : openat(piddir.get(), "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!open_err && dir.get() < 0) open_err = errno;
    if (open_err) {
      if (open_err == ENOENT || open_err == ESRCH) {
        res.vanished++;
      } else if (open_err == EACCES || open_err == EPERM) {
        res.unreadable++;
      } else {
        res.error = open_err;
        res.syscall = "openat";
        sh.stop.store(true);
        break;
      }
      continue;
    }
    bool matched = false;
    int link_err = 0;
    size_t fds_seen = 0;
    // Walks one fd directory; returns 0 or the errno that ended it.
    auto walk_fds = [&](int fd_dir) {
      int e = ForEachEntry(fd_dir, dents.data(), [&](const char* name) {
        if (name[0] < '0' || name[0] > '9') return true;  // "." and ".."
        ++fds_seen;
        ssize_t n = readlinkat(fd_dir, name, link, sizeof link);
        if (n < 0) {
          // EACCES/EPERM: the directory was listable but its links are not
          // (root without CAP_SYS_PTRACE, a container's default): the whole
          // process is unreadable, never silently half-read.
          if (errno == EACCES || errno == EPERM) {
            link_err = errno;
            return false;
          }
          return true;  // ENOENT: the fd was closed meanwhile
        }
        // "socket:[N]"; anything else (files, pipes) is skipped.
        if (n < 10 || std::memcmp(link, "socket:[", 8) != 0) return true;
        uint64_t inode = 0;
        for (ssize_t k = 8; k < n && link[k] != ']'; ++k) {
          inode = inode * 10 + static_cast<unsigned>(link[k] - '0');
        }
        if (inode == 0 || inode > UINT32_MAX) return true;
        if (InodeTable::Slot* s = sh.table->Find(static_cast<uint32_t>(inode))) {
          Claim(sh, s, pid);
          matched = true;
        }
        return true;
      });
      return link_err ? link_err : e;
    };
    int err = walk_fds(dir.get());
    // A process whose main thread has exited shows an empty fd directory
    // while its other threads still share the fd table: read it through a
    // live thread instead (proc(5), /proc/<pid>/task/<tid>/fd).
    if (err == 0 && fds_seen == 0) {
      Fd tasks(openat(piddir.get(), "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      std::vector<int32_t> tids;
      if (tasks.get() >= 0) {
        std::vector<char> tbuf(4096);
        (void)ForEachEntry(tasks.get(), tbuf.data(), [&](const char* name) {
          int32_t tid;
          if (ParsePid(name, &tid) && tid != pid) tids.push_back(tid);
          return tids.size() < 64;
        });
      }
      for (int32_t tid : tids) {
        char tpath[48];
        snprintf(tpath, sizeof tpath, "task/%d/fd", tid);
        Fd tdir(openat(piddir.get(), tpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (tdir.get() < 0) continue;  // that thread is gone too: try the next
        err = walk_fds(tdir.get());
        break;
      }
    }
    if (err == 0) {
      res.walked++;
    } else if (err == ENOENT || err == ESRCH) {
      res.vanished++;  // exited while we read its table
    } else if (err == EACCES || err == EPERM) {
      res.unreadable++;
    } else {
      res.error = err;
      res.syscall = "getdents64";
      sh.stop.store(true);
      break;
    }
    if (matched) {
      ProcessInfo p;
      p.pid = pid;
      ReadProcessNames(piddir.get(), &p);
      res.processes.push_back(std::move(p));
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

std::vector<int32_t> ListPids(int proc_fd) {
  // A dup so the directory stream does not move the caller's fd offset.
  Fd dir(openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) throw SysError("openat", errno);
  std::vector<char> buf(kDirentBuffer);
  std::vector<int32_t> pids;
  int err = ForEachEntry(dir.get(), buf.data(), [&](const char* name) {
    int32_t pid;
    if (ParsePid(name, &pid)) pids.push_back(pid);
    return true;
  });
  if (err != 0) throw SysError("getdents64", err);
  std::sort(pids.begin(), pids.end());
  return pids;
}

}  // namespace

unsigned DefaultThreads() {
  cpu_set_t set;
  unsigned n = 0;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n == 0) n = std::thread::hardware_concurrency();
  return std::max(1u, std::min(n, kMaxThreads));
}

void FindOwners(const uint32_t* inodes, size_t n, const OwnerOptions& opts,
                OwnerResult* out) {
  InodeTable table(inodes, n);
  out->wanted = table.distinct();
  out->owner.assign(n, 0);

  Fd proc(open(opts.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (proc.get() < 0) throw SysError("open", errno);

  std::vector<int32_t> pids;
  if (opts.pids.empty()) {
    pids = ListPids(proc.get());
  } else {
    pids = opts.pids;
    std::sort(pids.begin(), pids.end());
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  }
  out->candidates = pids.size();
  if (opts.progress_total) opts.progress_total->store(pids.size());

  Shared sh;
  sh.table = &table;
  sh.pids = &pids;
  sh.proc_fd = proc.get();
  sh.wanted = out->wanted;
  sh.progress_done = opts.progress_done;
  // Nothing to look for: every row is unowned (inode 0) or the set is empty.
  if (sh.wanted == 0) sh.stop.store(true);

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

  out->complete = sh.next.load() >= pids.size() || sh.wanted == 0;
  std::vector<ProcessInfo> matched;
  for (auto& r : results) {
    if (r.exception) std::rethrow_exception(r.exception);
    if (r.error) throw SysError(r.syscall, r.error);
    out->unreadable += r.unreadable;
    out->vanished += r.vanished;
    out->walked += r.walked;
    for (auto& p : r.processes) matched.push_back(std::move(p));
  }
  std::sort(matched.begin(), matched.end(),
            [](const ProcessInfo& a, const ProcessInfo& b) { return a.pid < b.pid; });

  for (auto& s : table.slots()) {
    if (s.inode == 0) continue;
    if (s.owner.load() != 0) out->found++;
    if (s.shared.load()) out->shared++;
  }
  for (size_t i = 0; i < n; ++i) {
    if (inodes[i] == 0) continue;
    InodeTable::Slot* s = table.Find(inodes[i]);
    int32_t pid = s->owner.load(std::memory_order_relaxed);
    out->owner[i] = pid;
    if (pid == 0) continue;
    auto it = std::lower_bound(matched.begin(), matched.end(), pid,
                               [](const ProcessInfo& p, int32_t v) { return p.pid < v; });
    it->sockets++;
  }
  // Keep only processes that won at least one socket (a higher pid that also
  // held a shared socket does not own it).
  for (auto& p : matched) {
    if (p.sockets) out->processes.push_back(std::move(p));
  }
}

}  // namespace tcpcensus
