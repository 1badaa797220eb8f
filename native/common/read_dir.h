// read_dir.h: every entry of an open directory through getdents64(2), read
// into a buffer of known size and parsed by ForEachDirent (proc_parse.h),
// which checks each record. Shared by the /proc walk, the
// network namespace list and the cgroup2 walk.
//
// Man pages: getdents64(2) (called through syscall(2): the glibc wrapper is
// 2.30+), syscall(2).
#pragma once

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bytes.h"
#include "kernel_write.h"
#include "proc_parse.h"

namespace tcpcensus {

// Calls fn(const DirEntry&) for every entry of an open directory until fn
// returns false. Returns 0, the errno of a failed getdents64, or EBADMSG
// when the kernel's records do not parse.
template <typename Fn>
int ReadDir(int dirfd, MutableByteSpan buf, Fn&& fn) {
  CheckKernelBuffer(buf.data(), buf.size());
  for (;;) {
    long n = syscall(SYS_getdents64, dirfd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return 0;
    bool stopped = false;
    const bool ok = ForEachDirent(buf.Filled(static_cast<size_t>(n)), [&](const DirEntry& e) {
      stopped = !fn(e);
      return !stopped;
    });
    if (!ok) return EBADMSG;
    if (stopped) return 0;
  }
}

}  // namespace tcpcensus
