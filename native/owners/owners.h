// owners.h: which processes hold given socket inodes.
//
// Plain C++ with no N-API inside. FindOwners fills an InodeTable from the
// socket rows, lets an owner source claim (inode, pid) pairs into it, then
// builds one result: the owner per row, the owning processes with their
// names, and what the source could not see. Sources (source.h, one
// interface): the /proc walk (proc/) and the eBPF task_file iterator
// (bpf/); both claim into the same table and give the same result.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tcpcensus {

constexpr unsigned kMaxThreads = 8;

constexpr const char* kDefaultBtfPath = "/sys/kernel/btf/vmlinux";

// Why a source cannot answer when that is no failed system call (a failed
// one is a SysError): for the eBPF source, BTF that does not parse or lacks
// what the program needs, or pids the program cannot give as the caller
// sees them.
class OwnerSourceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One fd of one process: /proc/<pid>/fd/<fd>.
struct FdProbe {
  int32_t pid = 0;
  int32_t fd = 0;
};

// Where a wanted socket was seen: process, fd, socket inode.
struct FdClaim {
  int32_t pid = 0;
  int32_t fd = 0;
  uint32_t inode = 0;
};

struct OwnerOptions {
  unsigned threads = 0;       // 0 = number of usable cores, at most kMaxThreads
  std::vector<int32_t> pids;  // empty = every process in /proc
  std::string proc_root = "/proc";
  // Optional: the walk stores how many processes it has finished here, and
  // the number it will look at in *progress_total, so a caller on another
  // thread can show progress.
  std::atomic<uint64_t>* progress_done = nullptr;
  std::atomic<uint64_t>* progress_total = nullptr;
  // Which owner source answers, by name (source.h): "auto" tries every
  // source in turn (the eBPF iterator, then the /proc walk when it cannot
  // answer, keeping the reason); "bpf" uses the iterator or fails; "proc"
  // walks /proc.
  std::string source = "auto";
  // The kernel's BTF, where the eBPF source finds its offsets.
  std::string btf_path = kDefaultBtfPath;
  // For a caller that already knows who held what (an incremental sampler):
  // these processes are walked first, in this order, then every other pid
  // in ascending order; the early stop still applies. A socket held by
  // several processes can then go to one that is not the lowest pid: only a
  // walk without first_pids and probes keeps the lowest-pid rule.
  std::vector<int32_t> first_pids;
  // Read before any fd directory is listed, one readlinkat each (the fd
  // slots a caller expects new sockets in: a process reuses its lowest free
  // fd). A hit claims as the walk does; when the probes find every inode,
  // nothing is walked.
  std::vector<FdProbe> probes;
  // Read the probes and walk nothing (a caller that will walk later for
  // what the probes did not find).
  bool probes_only = false;
  // Optional: where the probes and the walk saw a wanted socket, every
  // (pid, fd, inode), in no particular order (the caller owns the vector).
  std::vector<FdClaim>* claims = nullptr;
};

struct ProcessInfo {
  int32_t pid = 0;
  std::string comm;      // /proc/<pid>/comm without the newline
  std::string cmdline;   // /proc/<pid>/cmdline, NULs turned into spaces
  uint64_t sockets = 0;  // rows of the request this process owns
  // Field 22 of /proc/<pid>/stat (clock ticks after boot), read through the
  // same open /proc/<pid> as the fds and names: with the pid it names one
  // process for good, since a reused pid starts later. 0 = not readable.
  uint64_t start_time = 0;
  // Fds in its fd directory when the walk read it (what walking it again
  // would cost); 0 when it was only probed.
  uint64_t fds = 0;
};

// A process the source could not read: EACCES/EPERM (unreadable) or
// ENOENT/ESRCH (exited during the walk, or a pid of OwnerOptions::pids that
// does not exist).
struct PidFailure {
  int32_t pid = 0;
  int32_t err = 0;
  const char* call = "";  // what failed: "openat" (the fd directory), "readlinkat", "getdents64"
};

struct OwnerResult {
  // One entry per input row: the owning pid, or 0 when the inode is 0 (held
  // by no process) or no readable process holds it.
  std::vector<int32_t> owner;
  // Every process that owns at least one row, ascending by pid.
  std::vector<ProcessInfo> processes;
  // Every process that could not be read, ascending by pid.
  std::vector<PidFailure> failures;
  uint64_t wanted = 0;  // distinct non-zero inodes asked for
  uint64_t found = 0;   // distinct inodes given an owner
  uint64_t shared = 0;  // found inodes seen in more than one process
  // The /proc walk counts every process it lists. The eBPF iterator visits
  // every process in the kernel and never fails on one, but reports only
  // sockets: with it, walked and candidates are the processes seen holding
  // at least one socket, unreadable is 0, and vanished counts only pids of
  // OwnerOptions::pids that no longer exist; complete is always true.
  uint64_t unreadable = 0;  // processes whose fd table was EACCES/EPERM
  uint64_t vanished = 0;    // processes that exited during the walk
  uint64_t walked = 0;      // processes whose fd table was read
  uint64_t candidates = 0;  // processes the walk could have looked at
  bool complete = false;    // false when it stopped early (all found)
  std::string source;       // the name of the one that answered: "bpf" or "proc"
  // When "auto" fell back to the walk: why, e.g. "bpf(BPF_PROG_LOAD) failed:
  // Operation not permitted (EPERM)". Empty otherwise.
  std::string fallback;
};

// The default for OwnerOptions::threads == 0.
unsigned DefaultThreads();

// The half of an owner search that needs no inodes, started early: the
// sources opts.source picks, the first one prefetching (OwnerSource::
// Prefetch): the eBPF iterator loads its program and runs on a thread of
// its own while the caller dumps the sockets, and FindOwners then only
// claims. The /proc walk needs the inodes (it stops when all are found), so
// for "proc" this does nothing. Destroying it unused stops the iterator
// between reads.
class OwnerPrefetch {
 public:
  explicit OwnerPrefetch(const OwnerOptions& opts);
  ~OwnerPrefetch();
  OwnerPrefetch(const OwnerPrefetch&) = delete;
  OwnerPrefetch& operator=(const OwnerPrefetch&) = delete;

  struct State;

 private:
  friend void FindOwners(const std::vector<uint32_t>&, const OwnerOptions&, OwnerResult*, OwnerPrefetch*);
  std::unique_ptr<State> state_;
};

// Finds owners for the given inodes (one per socket row), with the source
// opts.source picks. Throws SysError when /proc itself cannot be read or a
// thread cannot be started; with "bpf", also SysError or
// OwnerSourceError when the eBPF source cannot answer. prefetch, when given,
// was started with the same opts before the inodes were known.
void FindOwners(const std::vector<uint32_t>& inodes, const OwnerOptions& opts, OwnerResult* out,
                OwnerPrefetch* prefetch = nullptr);

}  // namespace tcpcensus
