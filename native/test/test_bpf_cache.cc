// test_bpf_cache.cc: the eBPF owner source keeps its loaded program, its
// link to every task and its record buffers across calls (bpf_iter.cc):
// one BPF_PROG_LOAD for many calls, the same records from every read of the
// kept program, concurrent reads on several threads, a kept fd closed and
// its number reused behind our back, a fork child and a process that drops
// its capabilities (both load their own, or are refused as before).
// Root only (the program cannot load otherwise); skipped with a note.
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "../common/sys_error.h"
#include "../owners/bpf/bpf_iter.h"
#include "../owners/owners.h"
#include "check.h"
#include "processes.h"

using namespace tcpcensus;
using namespace tcpcensus_test;

namespace {

bool Root() {
  if (geteuid() != 0) {
    std::fprintf(stderr, "  (not root: the bpf source cannot load; skipped)\n");
    return false;
  }
  return true;
}

// Socket pairs of this process (no ports used), their inodes sorted.
struct OwnSockets {
  std::vector<int> fds;
  std::vector<uint64_t> inodes;
  explicit OwnSockets(int pairs) {
    for (int i = 0; i < pairs; ++i) {
      int sp[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) break;
      for (int fd : sp) {
        fds.push_back(fd);
        inodes.push_back(InodeOf(fd));
      }
    }
    std::sort(inodes.begin(), inodes.end());
  }
  ~OwnSockets() {
    for (int fd : fds) close(fd);
  }
};

// The socket inodes one read of the iterator reports for this process.
std::vector<uint64_t> OursIn(const BpfRecords& recs) {
  std::vector<uint64_t> v;
  for (const OwnerRecord& r : recs.records) {
    if (r.tgid == getpid()) v.push_back(r.inode);
  }
  std::sort(v.begin(), v.end());
  return v;
}

uint32_t FindOne(uint32_t inode) {
  OwnerOptions o;
  o.source = "bpf";
  OwnerResult r;
  FindOwners({inode}, o, &r);
  return r.owner.empty() ? 0 : static_cast<uint32_t>(r.owner[0]);
}

}  // namespace

TEST(the_bpf_program_is_loaded_once_for_many_calls) {
  if (!Root()) return;
  const int s = Listener();
  CHECK_EQ(FindOne(InodeOf(s)), static_cast<uint32_t>(getpid()));
  const uint64_t loads = BpfProgramLoads();
  const int fd = BpfKeptProgramFd();
  CHECK(loads >= 1);
  CHECK(fd >= 0);
  for (int i = 0; i < 200; ++i) CHECK_EQ(FindOne(InodeOf(s)), static_cast<uint32_t>(getpid()));
  // With a prefetch (the path the async calls take) too.
  for (int i = 0; i < 50; ++i) {
    OwnerOptions o;
    o.source = "bpf";
    OwnerPrefetch prefetch(o);
    OwnerResult r;
    FindOwners({InodeOf(s)}, o, &r, &prefetch);
    CHECK_EQ(r.owner[0], static_cast<int32_t>(getpid()));
  }
  CHECK_EQ(BpfProgramLoads(), loads);
  CHECK_EQ(BpfKeptProgramFd(), fd);
  close(s);
}

TEST(two_reads_of_the_kept_program_give_the_same_records) {
  if (!Root()) return;
  OwnSockets own(300);
  CHECK_EQ(own.inodes.size(), size_t{600});
  OwnerOptions o;
  o.source = "bpf";
  BpfRecords a, b;
  CollectBpfRecords(o, false, &a);
  const uint64_t loads = BpfProgramLoads();
  CollectBpfRecords(o, false, &b);
  CHECK_EQ(BpfProgramLoads(), loads);
  // Every socket this process holds, not one more, in both reads (other
  // processes on the machine may come and go between the reads).
  const std::vector<uint64_t> ia = OursIn(a), ib = OursIn(b);
  std::vector<uint64_t> want;
  std::set_intersection(ia.begin(), ia.end(), own.inodes.begin(), own.inodes.end(), std::back_inserter(want));
  CHECK_EQ(want.size(), own.inodes.size());
  CHECK(ia == ib);
  // A buffer that went back to the pool serves the next read: same memory,
  // no growth from empty.
  const OwnerRecord* data = b.records.data();
  const size_t cap = b.records.capacity();
  GiveBackRecordBuffer(&b.records);
  CHECK_EQ(b.records.capacity(), size_t{0});
  BpfRecords c;
  CollectBpfRecords(o, false, &c);
  CHECK(c.records.data() == data);
  CHECK(c.records.capacity() == cap);
  CHECK(OursIn(c) == ia);
}

TEST(concurrent_reads_of_the_kept_program_each_get_every_record) {
  if (!Root()) return;
  OwnSockets own(200);
  OwnerOptions o;
  o.source = "bpf";
  {
    BpfRecords warm;
    CollectBpfRecords(o, false, &warm);
  }
  const uint64_t loads = BpfProgramLoads();
  std::atomic<int> wrong{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        try {
          BpfRecords r;
          CollectBpfRecords(o, false, &r);
          if (OursIn(r) != own.inodes) wrong++;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "  read failed: %s\n", e.what());
          failed++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK_EQ(wrong.load(), 0);
  CHECK_EQ(failed.load(), 0);
  CHECK_EQ(BpfProgramLoads(), loads);
}

TEST(a_kept_fd_closed_behind_our_back_is_loaded_again_and_its_new_owner_left_alone) {
  if (!Root()) return;
  const int s = Listener();
  CHECK_EQ(FindOne(InodeOf(s)), static_cast<uint32_t>(getpid()));
  const int fd = BpfKeptProgramFd();
  CHECK(fd >= 0);
  if (fd < 0) return;
  const uint64_t loads = BpfProgramLoads();
  // Someone closes "every fd" and opens a file that gets the same number.
  close(fd);
  const int other = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHECK_EQ(other, fd);
  CHECK_EQ(FindOne(InodeOf(s)), static_cast<uint32_t>(getpid()));
  CHECK_EQ(BpfProgramLoads(), loads + 1);
  CHECK(BpfKeptProgramFd() != fd);
  // The file that took the number is still open, and still the same file.
  struct stat st, null_st;
  CHECK(fstat(other, &st) == 0);
  CHECK(stat("/dev/null", &null_st) == 0);
  CHECK(st.st_rdev == null_st.st_rdev && S_ISCHR(st.st_mode));
  // The link of the lost program went too: later calls use the new one.
  CHECK_EQ(FindOne(InodeOf(s)), static_cast<uint32_t>(getpid()));
  CHECK_EQ(BpfProgramLoads(), loads + 1);
  close(other);
  close(s);
}

TEST(a_fork_child_loads_its_own_program_and_closes_its_copy_of_ours) {
  if (!Root()) return;
  const int s = Listener();
  CHECK_EQ(FindOne(InodeOf(s)), static_cast<uint32_t>(getpid()));
  const int fd = BpfKeptProgramFd();
  const uint64_t loads = BpfProgramLoads();
  const pid_t pid = fork();
  if (pid == 0) {
    // Exit codes say what went wrong: 10 wrong owner (the listener is
    // shared: the parent, the lower pid, owns it), 11 no new load, 12 our
    // copy still open.
    if (FindOne(InodeOf(s)) != static_cast<uint32_t>(getppid())) _exit(10);
    if (BpfProgramLoads() != loads + 1) _exit(11);
    if (BpfKeptProgramFd() != fd && fcntl(fd, F_GETFD) != -1) _exit(12);
    _exit(0);
  }
  CHECK(pid > 0);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
  // The parent's program is untouched.
  CHECK_EQ(BpfKeptProgramFd(), fd);
  CHECK(fcntl(fd, F_GETFD) != -1);
  CHECK_EQ(FindOne(InodeOf(s)), static_cast<uint32_t>(getpid()));
  CHECK_EQ(BpfProgramLoads(), loads);
  close(s);
}

TEST(a_process_that_drops_its_privileges_is_refused_despite_the_kept_program) {
  if (!Root()) return;
  const int s = Listener();
  CHECK_EQ(FindOne(InodeOf(s)), static_cast<uint32_t>(getpid()));
  int status = 0;
  const std::string got = ReportFromChild(
      [&]() -> std::string {
        // Load as root in the child first, so its own cache holds a program...
        if (FindOne(InodeOf(s)) != static_cast<uint32_t>(getppid())) _exit(10);
        // ...then drop to nobody: the kept program must not answer.
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
        try {
          FindOne(InodeOf(s));
          return "no error";
        } catch (const SysError& e) {
          return e.what();
        }
      },
      &status);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
  CHECK_EQ(got, std::string("bpf(BPF_PROG_LOAD) failed: Operation not permitted"));
  close(s);
}
