// test_owners.cc: the owner walk and the dump on real sockets and real
// processes, under the sanitizers. The leaderless case is the defect of
// issue 8, item 1: a process whose main thread exited, with hundreds of
// threads, made the old walk list /proc/<pid>/task into a 4 KiB buffer while
// telling getdents64 it had 64 KiB: a heap overflow.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "../common/sys_error.h"
#include "../owners/owners.h"
#include "../sockets/sources.h"
#include "check.h"
#include "processes.h"

using namespace tcpcensus;
using namespace tcpcensus_test;


TEST(walk_finds_a_leaderless_process_with_400_threads) {
  uint32_t inode = 0;
  pid_t pid = StartLeaderless(400, &inode);
  CHECK(pid > 0);
  if (pid <= 0) return;
  CHECK(inode != 0);
  for (int round = 0; round < 5; ++round) {
    OwnerOptions opts;
    opts.source = OwnerSource::kProc;
    opts.threads = 2;
    OwnerResult res;
    FindOwners({inode, 0}, opts, &res);
    CHECK_EQ(res.owner.size(), size_t{2});
    CHECK_EQ(res.owner[0], static_cast<int32_t>(pid));
    CHECK_EQ(res.owner[1], int32_t{0});
    CHECK_EQ(res.found, uint64_t{1});
    bool named = false;
    for (const auto& p : res.processes) named = named || (p.pid == pid && p.sockets == 1);
    CHECK(named);
  }
  Stop(pid);
}

TEST(walk_of_named_pids_reports_failures) {
  int s = Listener();
  OwnerOptions opts;
  opts.source = OwnerSource::kProc;
  opts.pids = {getpid(), 2147483000};  // ourselves, and a pid that does not exist
  OwnerResult res;
  // Inode 1 is no socket: it is never found, so the walk reads every pid.
  FindOwners({InodeOf(s), 1}, opts, &res);
  CHECK_EQ(res.owner[0], static_cast<int32_t>(getpid()));
  CHECK_EQ(res.vanished, uint64_t{1});
  CHECK_EQ(res.failures.size(), size_t{1});
  if (!res.failures.empty()) {
    CHECK_EQ(res.failures[0].pid, int32_t{2147483000});
    CHECK_EQ(res.failures[0].err, int32_t{ENOENT});
  }
  close(s);
}

TEST(walk_of_a_missing_proc_root_names_the_path) {
  OwnerOptions opts;
  opts.source = OwnerSource::kProc;
  opts.proc_root = "/nonexistent-proc";
  OwnerResult res;
  CHECK_THROWS(SysError, FindOwners({1}, opts, &res), [](const SysError& e) {
    return e.err() == ENOENT && e.path() == "/nonexistent-proc" &&
           std::string(e.what()) == "open /nonexistent-proc failed: No such file or directory";
  });
}

TEST(dump_sees_our_listener_and_honours_max_rows) {
  uint16_t port;
  int s = Listener(&port);
  DumpRequest req;
  req.states = 1u << kListen;
  SocketTable t;
  DumpSockets(req, &t);
  bool seen = false;
  for (size_t i = 0; i < t.size(); ++i) {
    seen = seen || (t.local_port[i] == port && t.inode[i] == InodeOf(s) && t.state[i] == kListen);
  }
  CHECK(seen);
  CHECK_EQ(t.state.size(), t.size());
  CHECK_EQ(t.local_addr.size(), t.size() * 16);
  StateCounts counts;
  CountStates(req, &counts);
  CHECK(counts.ipv4[kListen] + counts.ipv6[kListen] >= 1);

  DumpRequest bounded = req;
  bounded.max_rows = t.size() > 1 ? t.size() - 1 : 0;
  if (bounded.max_rows > 0) {
    SocketTable u;
    CHECK_THROWS(LimitError, DumpSockets(bounded, &u), [](const LimitError&) { return true; });
  }
  close(s);
}

TEST(errno_names_and_messages) {
  CHECK_EQ(std::string(ErrnoName(ENOENT)), std::string("ENOENT"));
  CHECK_EQ(std::string(ErrnoName(EACCES)), std::string("EACCES"));
  CHECK_EQ(std::string(ErrnoName(EPERM)), std::string("EPERM"));
  CHECK_EQ(std::string(ErrnoName(99999)), std::string("EUNKNOWN"));
  CHECK_EQ(ErrnoMessage(ENOENT), std::string("No such file or directory"));
  SysError e("socket", EPERM, "(AF_NETLINK, NETLINK_SOCK_DIAG)");
  CHECK_EQ(std::string(e.what()), std::string("socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation not permitted"));
}
