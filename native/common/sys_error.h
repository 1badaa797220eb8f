// sys_error.h: the one error type the sampling code throws for a failed
// system call, and errno names of our own.
//
// Plain C++, no N-API. Man pages: errno(3), strerror(3). Only interfaces that
// glibc 2.28 and musl both have are used: no strerrorname_np (glibc 2.32),
// and strerror_r is called so that either its XSI or its GNU form works.
#pragma once

#include <stdexcept>
#include <string>

namespace tcpcensus {

// A failed system call. what() is "<syscall>[ <path>] failed: <strerror>",
// e.g. "open /host/proc failed: No such file or directory", or with a detail
// in parentheses "socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation
// not permitted".
// syscall() is the bare call ("open"), path() the file it was about (empty
// when none, or when the detail is a parenthesised description rather than
// a path), pid() the process it was about (0 when none).
class SysError : public std::runtime_error {
 public:
  SysError(std::string syscall, int err, std::string detail = std::string(), int pid = 0);
  const std::string& syscall() const { return syscall_; }
  const std::string& path() const { return path_; }
  int err() const { return err_; }
  int pid() const { return pid_; }

 private:
  std::string syscall_;
  std::string path_;
  int err_;
  int pid_;
};

// A result that would break a bound the caller set (maxSockets): not a
// system failure, but a refusal to go on.
class LimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A request the chosen source cannot answer truthfully (a cgroup filter on
// the procfs source, which has no cgroup ids; no cgroup2 mount to map ids
// to paths): said, never answered with a guess.
class UnsupportedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The symbolic name of an errno value ("ENOENT"), or "EUNKNOWN".
const char* ErrnoName(int err);

// strerror(3) text of err, thread-safe.
std::string ErrnoMessage(int err);

}  // namespace tcpcensus
