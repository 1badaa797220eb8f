// proc_names.cc: see proc_names.h. The bytes are turned into names by the
// pure parsers of proc_parse.*.
#include "proc_names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <array>

#include "../common/fd.h"
#include "proc_parse.h"

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

void ReadProcessNames(int pid_dirfd, ProcessInfo* p) {
  std::array<uint8_t, 4096> buf;
  p->comm = CommFromBytes(ReadSmallFile(pid_dirfd, "comm", MutableByteSpan(buf.data(), 64)));
  p->cmdline = CmdlineFromBytes(ReadSmallFile(pid_dirfd, "cmdline", MutableByteSpan(buf)));
}

void ReadProcessNamesOf(int proc_fd, ProcessInfo* p) {
  char path[16];
  snprintf(path, sizeof path, "%d", p->pid);
  Fd piddir(openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (piddir.ok()) ReadProcessNames(piddir.get(), p);
}

}  // namespace tcpcensus
