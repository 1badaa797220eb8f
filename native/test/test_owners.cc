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

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "../common/proc_parse.h"
#include "../common/sys_error.h"
#include "../owners/owners.h"
#include "../owners/proc/proc_walk.h"
#include "../owners/proc_names.h"
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
    opts.source = "proc";
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
  opts.source = "proc";
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
  opts.source = "proc";
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

// ---- what an incremental sampler asks for ----

namespace {

uint64_t OwnStartTime() {
  FILE* f = fopen("/proc/self/stat", "r");
  char buf[1024];
  size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f) fclose(f);
  uint64_t t = 0;
  ParseStatStartTime(ByteSpan(reinterpret_cast<const uint8_t*>(buf), n), &t);
  return t;
}

}  // namespace

TEST(probes_that_find_everything_walk_nothing_and_record_claims) {
  uint16_t port;
  int s = Listener(&port);
  int t = Listener(&port);
  OwnerOptions opts;
  opts.source = "proc";  // probes and first pids are the walk's
  opts.probes = {{getpid(), s}, {getpid(), t}, {getpid(), 100000}, {2147483000, 3}};
  std::vector<FdClaim> claims;
  opts.claims = &claims;
  OwnerResult res;
  FindOwners({InodeOf(s), InodeOf(t)}, opts, &res);
  CHECK_EQ(res.owner[0], static_cast<int32_t>(getpid()));
  CHECK_EQ(res.owner[1], static_cast<int32_t>(getpid()));
  CHECK_EQ(res.found, uint64_t{2});
  CHECK_EQ(res.walked, uint64_t{0});  // no fd directory was listed
  CHECK(!res.complete);
  CHECK_EQ(res.processes.size(), size_t{1});
  if (!res.processes.empty()) {
    CHECK_EQ(res.processes[0].sockets, uint64_t{2});
    CHECK_EQ(res.processes[0].start_time, OwnStartTime());
    CHECK(!res.processes[0].comm.empty());
    CHECK_EQ(res.processes[0].fds, uint64_t{0});  // probed, not walked
  }
  CHECK_EQ(claims.size(), size_t{2});
  bool s_seen = false, t_seen = false;
  for (const auto& c : claims) {
    CHECK_EQ(c.pid, static_cast<int32_t>(getpid()));
    s_seen = s_seen || (c.fd == s && c.inode == InodeOf(s));
    t_seen = t_seen || (c.fd == t && c.inode == InodeOf(t));
  }
  CHECK(s_seen && t_seen);
  close(s);
  close(t);
}

TEST(a_missed_probe_falls_back_to_the_walk_which_records_the_fd) {
  uint16_t port;
  int s = Listener(&port);
  OwnerOptions opts;
  opts.source = "proc";                  // probes and first pids are the walk's
  opts.probes = {{getpid(), s + 1000}};  // the wrong slot
  opts.first_pids = {getpid()};
  opts.threads = 1;
  std::vector<FdClaim> claims;
  opts.claims = &claims;
  OwnerResult res;
  FindOwners({InodeOf(s)}, opts, &res);
  CHECK_EQ(res.owner[0], static_cast<int32_t>(getpid()));
  // Walked first and found there, so the walk stopped at once.
  CHECK_EQ(res.walked, uint64_t{1});
  CHECK(!res.complete);
  CHECK_EQ(res.processes.size(), size_t{1});
  if (!res.processes.empty()) {
    // Every fd of ours was read: at least stdin..stderr and the listener.
    CHECK(res.processes[0].fds >= static_cast<uint64_t>(s) + 1);
  }
  CHECK_EQ(claims.size(), size_t{1});
  if (!claims.empty()) {
    CHECK_EQ(claims[0].fd, s);
    CHECK_EQ(claims[0].inode, InodeOf(s));
  }
  close(s);
}

TEST(probes_only_walks_nothing_even_when_a_probe_misses) {
  uint16_t port;
  int s = Listener(&port);
  int t = Listener(&port);
  OwnerOptions opts;
  opts.source = "proc";  // probes and first pids are the walk's
  opts.probes = {{getpid(), s}, {getpid(), t + 1000}};
  opts.probes_only = true;
  OwnerResult res;
  FindOwners({InodeOf(s), InodeOf(t)}, opts, &res);
  CHECK_EQ(res.owner[0], static_cast<int32_t>(getpid()));
  CHECK_EQ(res.owner[1], int32_t{0});
  CHECK_EQ(res.walked, uint64_t{0});
  CHECK_EQ(res.candidates, uint64_t{0});
  CHECK(!res.complete);
  close(s);
  close(t);
}

TEST(first_pids_come_first_and_the_rest_in_order) {
  // A child holds the socket; our own pid is walked first and holds it too,
  // so the early stop gives it to us even when the child's pid is lower.
  uint16_t port;
  int s = Listener(&port);
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) pause();
  }
  CHECK(child > 0);
  OwnerOptions opts;
  opts.source = "proc";  // probes and first pids are the walk's
  opts.threads = 1;
  opts.first_pids = {getpid(), 2147483000, getpid()};  // a missing pid and a repeat are skipped
  OwnerResult res;
  FindOwners({InodeOf(s)}, opts, &res);
  CHECK_EQ(res.owner[0], static_cast<int32_t>(getpid()));
  CHECK_EQ(res.walked, uint64_t{1});
  // Without first_pids the lowest pid of the two wins.
  OwnerOptions plain;
  plain.source = "proc";  // probes and first pids are the walk's
  plain.pids = {getpid(), child};
  OwnerResult all;
  FindOwners({InodeOf(s)}, plain, &all);
  CHECK_EQ(all.owner[0], static_cast<int32_t>(std::min<pid_t>(getpid(), child)));
  Stop(child);
  close(s);
}

TEST(start_times_of_live_and_gone_processes) {
  pid_t child = fork();
  if (child == 0) _exit(0);
  int status;
  waitpid(child, &status, 0);
  std::vector<uint64_t> start;
  ReadStartTimes("/proc", {getpid(), child, 2147483000}, &start);
  CHECK_EQ(start.size(), size_t{3});
  CHECK_EQ(start[0], OwnStartTime());
  CHECK(start[0] > 0);
  CHECK_EQ(start[1], uint64_t{0});  // reaped
  CHECK_EQ(start[2], uint64_t{0});
  CHECK_THROWS(SysError, ReadStartTimes("/nonexistent-proc", {1}, &start),
               [](const SysError& e) { return e.err() == ENOENT && e.path() == "/nonexistent-proc"; });
}
