// proc_names.cc: see proc_names.h. The bytes are turned into names by the
// pure parsers of common/proc_parse.*.
#include "proc_names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <array>

#include "../common/fd.h"
#include "../common/proc_parse.h"
#include "../common/sys_error.h"

namespace tcpcensus {

ByteSpan ReadSmallFile(int dirfd, const char* path, MutableByteSpan buf) {
  Fd fd(openat(dirfd, path, O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return ByteSpan();
  size_t used = 0;
  while (used < buf.size()) {
    ssize_t n = read(fd.get(), buf.data() + used, buf.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ByteSpan();
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  return buf.Filled(used);
}

namespace {

// /proc/<pid>/stat is one line of 52 fields; the command in it is at most
// 64 bytes (TASK_COMM_LEN 16, escaped at most 4x).
constexpr size_t kStatBuffer = 1024;

// Field 22 of <pid_dirfd>/stat; 0 when it cannot be read (the process is gone).
uint64_t ReadStartTime(int pid_dirfd, MutableByteSpan buf) {
  uint64_t start = 0;
  return ParseStatStartTime(ReadSmallFile(pid_dirfd, "stat", buf), &start) ? start : 0;
}

}  // namespace

void ReadProcessNames(int pid_dirfd, ProcessInfo* p) {
  std::array<uint8_t, 4096> buf;
  p->comm = CommFromBytes(ReadSmallFile(pid_dirfd, "comm", MutableByteSpan(buf.data(), 64)));
  p->cmdline = CmdlineFromBytes(ReadSmallFile(pid_dirfd, "cmdline", MutableByteSpan(buf)));
  p->start_time = ReadStartTime(pid_dirfd, MutableByteSpan(buf.data(), kStatBuffer));
}

void ReadProcessNamesOf(int proc_fd, ProcessInfo* p) {
  char path[16];
  snprintf(path, sizeof path, "%d", p->pid);
  Fd piddir(openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (piddir.ok()) ReadProcessNames(piddir.get(), p);
}

void ReadStartTimes(const std::string& proc_root, const std::vector<int32_t>& pids, std::vector<uint64_t>* out) {
  Fd proc(open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc.ok()) throw SysError("open", errno, proc_root);
  std::array<uint8_t, kStatBuffer> buf;
  out->assign(pids.size(), 0);
  for (size_t i = 0; i < pids.size(); ++i) {
    if (pids[i] <= 0) continue;
    char path[16];
    snprintf(path, sizeof path, "%d", pids[i]);
    Fd piddir(openat(proc.get(), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (piddir.ok()) (*out)[i] = ReadStartTime(piddir.get(), MutableByteSpan(buf));
  }
}

}  // namespace tcpcensus
