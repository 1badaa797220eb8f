// owners.h: which processes hold given socket inodes.
//
// Plain C++ with no N-API inside. FindOwners fills an InodeTable from the
// socket rows, lets an owner source claim (inode, pid) pairs into it, then
// builds one result: the owner per row, the owning processes with their
// names, and what the source could not see. Sources: the /proc walk
// (proc_walk.*); more come beside it and share everything here.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tcpcensus {

constexpr unsigned kMaxThreads = 8;

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
  std::string comm;     // /proc/<pid>/comm without the newline
  std::string cmdline;  // /proc/<pid>/cmdline, NULs turned into spaces
  uint64_t sockets = 0; // rows of the request this process owns
  // Field 22 of /proc/<pid>/stat (clock ticks after boot), read through the
  // same open /proc/<pid> as the fds and names: with the pid it names one
  // process for good, since a reused pid starts later. 0 = not readable.
  uint64_t start_time = 0;
  // Fds in its fd directory when the walk read it (what walking it again
  // would cost); 0 when it was only probed.
  uint64_t fds = 0;
};

// A process the source could not read: EACCES/EPERM (unreadable) or
// ENOENT/ESRCH (exited during the walk).
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
  uint64_t wanted = 0;        // distinct non-zero inodes asked for
  uint64_t found = 0;         // distinct inodes given an owner
  uint64_t shared = 0;        // found inodes seen in more than one process
  uint64_t unreadable = 0;    // processes whose fd table was EACCES/EPERM
  uint64_t vanished = 0;      // processes that exited during the walk
  uint64_t walked = 0;        // processes whose fd table was read
  uint64_t candidates = 0;    // processes the walk could have looked at
  bool complete = false;      // false when it stopped early (all found)
};

// The default for OwnerOptions::threads == 0.
unsigned DefaultThreads();

// Finds owners for the given inodes (one per socket row). Throws SysError
// when /proc itself cannot be read or a thread cannot be started.
void FindOwners(const std::vector<uint32_t>& inodes, const OwnerOptions& opts, OwnerResult* out);

}  // namespace tcpcensus
