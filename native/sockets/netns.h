// netns.h: network namespaces: naming one, running a dump inside one, and
// listing every one the caller can see.
//
// Plain C++ with no N-API inside. Man pages: setns(2), namespaces(7),
// network_namespaces(7), ip-netns(8) (/var/run/netns/NAME), proc(5)
// (/proc/PID/ns/net, /proc/thread-self).
//
// A socket is bound to the network namespace it was created in, and sock_diag
// and /proc/net/tcp show the sockets of the namespace of the calling
// *thread*. RunInNetns therefore starts a thread of its own, moves only that
// thread into the namespace with setns(fd, CLONE_NEWNET), runs the dump
// there (threads it starts inherit the namespace), and lets it exit: no
// caller thread (the JS thread, the libuv pool) ever changes namespace.
// setns is called through syscall(2): the glibc wrapper needs _GNU_SOURCE,
// which the portable build leaves out. It needs CAP_SYS_ADMIN.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tcpcensus {

// The file to open for a namespace spec, or "" with *error set:
//   "NAME"    -> /var/run/netns/NAME (as `ip netns add NAME` made it; a
//                name is letters, digits, '.', '_', '-', not "." or "..")
//   "pid:PID" -> /proc/PID/ns/net
//   a path with a '/' -> itself (/proc/PID/ns/net, a bind mount elsewhere)
// Pure: nothing is opened here.
std::string ResolveNetnsSpec(const std::string& spec, std::string* error);

// Runs fn on a new thread that first joins the network namespace at path.
// Throws SysError naming open or setns and the path (ENOENT: no such
// namespace; EINVAL: not a network namespace file; EPERM: no
// CAP_SYS_ADMIN), or whatever fn threw.
void RunInNetns(const std::string& path, const std::function<void()>& fn);

// The inode of the calling thread's network namespace, 0 when
// /proc/thread-self/ns/net cannot be read.
uint64_t CurrentNetnsInode();

struct NetnsEntry {
  uint64_t inode = 0;
  std::string path;   // a file that opens it: /var/run/netns/NAME, else <proc>/PID/ns/net
  std::string name;   // its name under /var/run/netns, "" when it has none
  int32_t pid = 0;    // the lowest pid in it, 0 when only a name holds it
  bool self = false;  // the caller's own namespace (its main thread's)
};

struct NetnsList {
  std::vector<NetnsEntry> namespaces;  // ascending by inode, each once
  uint64_t unreadable = 0;             // processes whose namespace could not be read (EACCES: not ours)
};

// Every distinct network namespace visible from proc_root/*/ns/net and
// /var/run/netns/*. Throws SysError when proc_root cannot be listed.
void ListNetns(const std::string& proc_root, NetnsList* out);

}  // namespace tcpcensus
