// test_netns.cc: namespace specs, the setns thread, the namespace list, and
// (as root) dumps inside a network namespace a forked child made with
// unshare(CLONE_NEWNET): its listener shows there and only there.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "../common/sys_error.h"
#include "../sockets/netns.h"
#include "../sockets/sources.h"
#include "check.h"

using namespace tcpcensus;

TEST(netns_specs) {
  std::string err;
  CHECK_EQ(ResolveNetnsSpec("blue", &err), std::string("/var/run/netns/blue"));
  CHECK_EQ(ResolveNetnsSpec("a.b_c-1", &err), std::string("/var/run/netns/a.b_c-1"));
  CHECK_EQ(ResolveNetnsSpec("pid:1234", &err), std::string("/proc/1234/ns/net"));
  CHECK_EQ(ResolveNetnsSpec("/proc/1/ns/net", &err), std::string("/proc/1/ns/net"));
  CHECK_EQ(ResolveNetnsSpec("./x", &err), std::string("./x"));
  for (const char* bad : {"", ".", "..", "a b", "pid:", "pid:0", "pid:-1", "pid:12x", "tab\t", "ü"}) {
    err.clear();
    CHECK_EQ(ResolveNetnsSpec(bad, &err), std::string());
    CHECK(!err.empty());
  }
}

TEST(netns_thread_joins_and_leaves_the_caller_alone) {
  const uint64_t here = CurrentNetnsInode();
  CHECK(here != 0);
  std::thread::id inside;
  uint64_t there = 0;
  RunInNetns("/proc/self/ns/net", [&] {
    inside = std::this_thread::get_id();
    there = CurrentNetnsInode();
  });
  CHECK(inside != std::this_thread::get_id());
  CHECK_EQ(there, here);
  CHECK_EQ(CurrentNetnsInode(), here);
  CHECK_THROWS(SysError, RunInNetns("/var/run/netns/tcpcensus-no-such-ns", [] {}), [](const SysError& e) {
    return e.err() == ENOENT && e.syscall() == "open" && e.path() == "/var/run/netns/tcpcensus-no-such-ns";
  });
  if (geteuid() == 0) {
    CHECK_THROWS(SysError, RunInNetns("/dev/null", [] {}), [](const SysError& e) {
      return e.err() == EINVAL && std::string(e.what()) == "setns /dev/null failed: Invalid argument";
    });
  }
  // What fn throws comes back to the caller.
  CHECK_THROWS(SysError, RunInNetns("/proc/self/ns/net", [] { throw SysError("read", EIO); }),
               [](const SysError& e) { return e.err() == EIO; });
}

TEST(netns_list_has_our_own) {
  NetnsList list;
  ListNetns("/proc", &list);
  size_t selves = 0;
  for (const NetnsEntry& n : list.namespaces) {
    if (!n.self) continue;
    ++selves;
    CHECK_EQ(n.inode, CurrentNetnsInode());
    CHECK(n.pid > 0 || !n.name.empty());
  }
  CHECK_EQ(selves, size_t{1});
  for (size_t i = 1; i < list.namespaces.size(); ++i) {
    CHECK(list.namespaces[i - 1].inode < list.namespaces[i].inode);
  }
  NetnsList none;
  CHECK_THROWS(SysError, ListNetns("/nonexistent-proc", &none), [](const SysError& e) { return e.err() == ENOENT; });
}

TEST(netns_dump_in_a_namespace_of_our_own) {
  if (geteuid() != 0) {
    std::printf("# skipped: unshare(CLONE_NEWNET) needs root\n");
    return;
  }
  int ready[2], hold[2];
  CHECK(pipe(ready) == 0 && pipe(hold) == 0);
  const pid_t child = fork();
  if (child == 0) {
    // Only async-signal-safe calls from here on.
    close(ready[0]);
    close(hold[1]);
    if (syscall(SYS_unshare, 0x40000000 /* CLONE_NEWNET */) != 0) _exit(1);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    socklen_t len = sizeof a;
    if (bind(s, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(s, 1) != 0) _exit(2);
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    uint16_t port = ntohs(a.sin_port);
    if (write(ready[1], &port, sizeof port) != static_cast<ssize_t>(sizeof port)) _exit(3);
    char c;
    (void)read(hold[0], &c, 1);  // until the parent closes it
    _exit(0);
  }
  close(ready[1]);
  close(hold[0]);
  uint16_t port = 0;
  CHECK_EQ(read(ready[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  const std::string path = "/proc/" + std::to_string(child) + "/ns/net";
  struct stat st;
  CHECK(stat(path.c_str(), &st) == 0);

  auto listeners_on = [&](const SocketTable& t) {
    size_t n = 0;
    for (size_t i = 0; i < t.size(); ++i) n += t.state[i] == kListen && t.local_port[i] == port;
    return n;
  };
  for (Source source : {Source::kNetlink, Source::kProcfs}) {
    DumpRequest req;
    req.states = 0xFFE;
    req.source = source;
    req.netns = path;
    SocketTable inside;
    DumpInfo info;
    DumpSockets(req, &inside, &info);
    CHECK_EQ(listeners_on(inside), size_t{1});
    CHECK_EQ(inside.size(), size_t{1});  // a fresh namespace holds nothing else
    CHECK_EQ(info.netns_inode, static_cast<uint64_t>(st.st_ino));
    CHECK(info.netns_inode != CurrentNetnsInode());
    StateCounts counts;
    CountStates(req, &counts);
    CHECK_EQ(counts.ipv4[kListen], uint64_t{1});
    req.netns.clear();
    SocketTable outside;
    DumpSockets(req, &outside);
    CHECK_EQ(listeners_on(outside), size_t{0});
  }
  NetnsList list;
  ListNetns("/proc", &list);
  bool listed = false;
  for (const NetnsEntry& n : list.namespaces) {
    if (n.inode == static_cast<uint64_t>(st.st_ino)) {
      listed = true;
      CHECK_EQ(n.pid, static_cast<int32_t>(child));
      CHECK_EQ(n.path, path);
      CHECK(!n.self);
    }
  }
  CHECK(listed);
  close(hold[1]);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(ready[0]);
}
