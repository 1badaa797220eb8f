// sys_error.cc: SysError and the errno name table.
//
// Man pages: errno(3), strerror(3). The name table is ours because
// strerrorname_np is glibc 2.32+ only; it covers what the sampling code's
// calls (open, read, socket, sendto, recvmsg, getdents64, readlinkat, bpf,
// setns, statfs) can return, plus the common rest.
#include "sys_error.h"

#include <errno.h>
#include <string.h>

namespace tcpcensus {

namespace {

// strerror_r is XSI (returns int) or GNU (returns char*) depending on the
// libc and feature macros: overloads pick the right reading of its result.
[[maybe_unused]] const char* StrerrorResult(int ret, const char* buf) { return ret == 0 ? buf : nullptr; }
[[maybe_unused]] const char* StrerrorResult(const char* ret, const char*) { return ret; }

std::string Compose(const std::string& syscall, const std::string& detail, int err) {
  // "open /proc failed", but "socket(AF_NETLINK, ...) failed".
  std::string what = syscall;
  if (!detail.empty()) what += (detail[0] == '(' ? "" : " ") + detail;
  return what + " failed: " + ErrnoMessage(err);
}

}  // namespace

SysError::SysError(std::string syscall, int err, std::string detail, int pid)
    : std::runtime_error(Compose(syscall, detail, err)),
      syscall_(std::move(syscall)),
      path_(!detail.empty() && detail[0] == '(' ? std::string() : std::move(detail)),
      err_(err),
      pid_(pid) {}

std::string ErrnoMessage(int err) {
  char buf[256];
  buf[0] = '\0';
  const char* msg = StrerrorResult(strerror_r(err, buf, sizeof buf), buf);
  if (msg == nullptr || *msg == '\0') return "Unknown error " + std::to_string(err);
  return msg;
}

// A table, several to a line:
// clang-format off
const char* ErrnoName(int err) {
  switch (err) {
#define TCPCENSUS_ERRNO(name) \
  case name:                  \
    return #name;
    TCPCENSUS_ERRNO(EPERM) TCPCENSUS_ERRNO(ENOENT) TCPCENSUS_ERRNO(ESRCH)
    TCPCENSUS_ERRNO(EINTR) TCPCENSUS_ERRNO(EIO) TCPCENSUS_ERRNO(ENXIO)
    TCPCENSUS_ERRNO(E2BIG) TCPCENSUS_ERRNO(ENOEXEC) TCPCENSUS_ERRNO(EBADF)
    TCPCENSUS_ERRNO(ECHILD) TCPCENSUS_ERRNO(EAGAIN) TCPCENSUS_ERRNO(ENOMEM)
    TCPCENSUS_ERRNO(EACCES) TCPCENSUS_ERRNO(EFAULT) TCPCENSUS_ERRNO(EBUSY)
    TCPCENSUS_ERRNO(EEXIST) TCPCENSUS_ERRNO(EXDEV) TCPCENSUS_ERRNO(ENODEV)
    TCPCENSUS_ERRNO(ENOTDIR) TCPCENSUS_ERRNO(EISDIR) TCPCENSUS_ERRNO(EINVAL)
    TCPCENSUS_ERRNO(ENFILE) TCPCENSUS_ERRNO(EMFILE) TCPCENSUS_ERRNO(ENOTTY)
    TCPCENSUS_ERRNO(EFBIG) TCPCENSUS_ERRNO(ENOSPC) TCPCENSUS_ERRNO(ESPIPE)
    TCPCENSUS_ERRNO(EROFS) TCPCENSUS_ERRNO(EMLINK) TCPCENSUS_ERRNO(EPIPE)
    TCPCENSUS_ERRNO(EDOM) TCPCENSUS_ERRNO(ERANGE) TCPCENSUS_ERRNO(EDEADLK)
    TCPCENSUS_ERRNO(ENAMETOOLONG) TCPCENSUS_ERRNO(ENOLCK) TCPCENSUS_ERRNO(ENOSYS)
    TCPCENSUS_ERRNO(ENOTEMPTY) TCPCENSUS_ERRNO(ELOOP) TCPCENSUS_ERRNO(ENOMSG)
    TCPCENSUS_ERRNO(ENODATA) TCPCENSUS_ERRNO(ETIME) TCPCENSUS_ERRNO(EPROTO)
    TCPCENSUS_ERRNO(EBADMSG) TCPCENSUS_ERRNO(EOVERFLOW) TCPCENSUS_ERRNO(EILSEQ)
    TCPCENSUS_ERRNO(ENOTSOCK) TCPCENSUS_ERRNO(EDESTADDRREQ) TCPCENSUS_ERRNO(EMSGSIZE)
    TCPCENSUS_ERRNO(EPROTOTYPE) TCPCENSUS_ERRNO(ENOPROTOOPT) TCPCENSUS_ERRNO(EPROTONOSUPPORT)
    TCPCENSUS_ERRNO(ESOCKTNOSUPPORT) TCPCENSUS_ERRNO(EOPNOTSUPP) TCPCENSUS_ERRNO(EPFNOSUPPORT)
    TCPCENSUS_ERRNO(EAFNOSUPPORT) TCPCENSUS_ERRNO(EADDRINUSE) TCPCENSUS_ERRNO(EADDRNOTAVAIL)
    TCPCENSUS_ERRNO(ENETDOWN) TCPCENSUS_ERRNO(ENETUNREACH) TCPCENSUS_ERRNO(ECONNABORTED)
    TCPCENSUS_ERRNO(ECONNRESET) TCPCENSUS_ERRNO(ENOBUFS) TCPCENSUS_ERRNO(EISCONN)
    TCPCENSUS_ERRNO(ENOTCONN) TCPCENSUS_ERRNO(ETIMEDOUT) TCPCENSUS_ERRNO(ECONNREFUSED)
    TCPCENSUS_ERRNO(EHOSTUNREACH) TCPCENSUS_ERRNO(EALREADY) TCPCENSUS_ERRNO(EINPROGRESS)
    TCPCENSUS_ERRNO(ESTALE) TCPCENSUS_ERRNO(EDQUOT) TCPCENSUS_ERRNO(ECANCELED)
    TCPCENSUS_ERRNO(EOWNERDEAD) TCPCENSUS_ERRNO(ENOTRECOVERABLE) TCPCENSUS_ERRNO(ENOKEY)
    TCPCENSUS_ERRNO(EKEYREJECTED) TCPCENSUS_ERRNO(ENOMEDIUM)
#undef TCPCENSUS_ERRNO
    default:
      return "EUNKNOWN";
  }
}
// clang-format on

}  // namespace tcpcensus
