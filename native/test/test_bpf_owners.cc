// test_bpf_owners.cc: the eBPF owner source against the /proc walk on real
// processes, socket by socket (a forked sharer, a thread that unshared its
// fd table, a leaderless process with many threads, named pids), its
// fallbacks (as nobody, with empty BTF, in the auto and forced modes), and
// the record reader on a pipe (split records, EAGAIN, a torn end).
// These run as root (npm run test:native); as another user the bpf source
// is refused and the comparisons are skipped with a note.
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../common/sys_error.h"
#include "../owners/bpf/bpf_iter.h"
#include "../owners/bpf/btf.h"
#include "../owners/owners.h"
#include "check.h"
#include "processes.h"

using namespace tcpcensus;
using namespace tcpcensus_test;

namespace {

// An inode no socket has: the walk never finds it, so it reads every
// process and counts `shared` completely, as the iterator does.
constexpr uint32_t kNeverFound = 1;

OwnerResult Find(const std::vector<uint32_t>& inodes, const std::string& source,
                 const std::vector<int32_t>& pids = {}) {
  OwnerOptions o;
  o.source = source;
  o.pids = pids;
  OwnerResult r;
  FindOwners(inodes, o, &r);
  return r;
}

bool BpfWorksHere() {
  if (geteuid() != 0) {
    std::fprintf(stderr, "  (not root: the bpf source cannot load; comparison skipped)\n");
    return false;
  }
  return true;
}

// Both sources on the same inodes: the same owner for every row, the same
// processes with the same names and counts, the same totals.
void CheckSame(const std::vector<uint32_t>& inodes, const std::vector<int32_t>& pids = {}) {
  const OwnerResult b = Find(inodes, "bpf", pids);
  const OwnerResult p = Find(inodes, "proc", pids);
  CHECK(b.source == "bpf");
  CHECK(p.source == "proc");
  CHECK_EQ(b.fallback, std::string());
  CHECK_EQ(b.owner.size(), p.owner.size());
  for (size_t i = 0; i < std::min(b.owner.size(), p.owner.size()); ++i) {
    if (b.owner[i] != p.owner[i]) {
      std::fprintf(stderr, "  inode %u: bpf says %d, proc says %d\n", inodes[i], b.owner[i], p.owner[i]);
    }
    CHECK_EQ(b.owner[i], p.owner[i]);
  }
  CHECK_EQ(b.processes.size(), p.processes.size());
  for (size_t i = 0; i < std::min(b.processes.size(), p.processes.size()); ++i) {
    CHECK_EQ(b.processes[i].pid, p.processes[i].pid);
    CHECK_EQ(b.processes[i].comm, p.processes[i].comm);
    CHECK_EQ(b.processes[i].cmdline, p.processes[i].cmdline);
    CHECK_EQ(b.processes[i].sockets, p.processes[i].sockets);
  }
  CHECK_EQ(b.wanted, p.wanted);
  CHECK_EQ(b.found, p.found);
  CHECK_EQ(b.shared, p.shared);
  CHECK(b.complete);
}

}  // namespace

TEST(bpf_and_walk_agree_on_a_forked_sharer) {
  if (!BpfWorksHere()) return;
  // The child listens, then forks a grandchild that inherits the listener:
  // the lower pid owns it, and it counts as shared.
  Child c = StartChild(3, [](int out) {
    int s = Listener();
    int own = Listener();  // the parent's alone
    const pid_t g = fork();
    if (g == 0) {
      close(own);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      for (;;) pause();
    }
    Send(out, InodeOf(s));
    Send(out, InodeOf(own));
    Send(out, static_cast<uint32_t>(g));
    close(out);
  });
  CHECK(c.pid > 0);
  if (c.pid <= 0) return;
  const pid_t grandchild = static_cast<pid_t>(c.values[2]);
  const std::vector<uint32_t> inodes = {c.values[0], c.values[1], kNeverFound, 0};
  CheckSame(inodes);
  const OwnerResult b = Find(inodes, "bpf");
  CHECK_EQ(b.owner[0], std::min<int32_t>(c.pid, grandchild));
  CHECK_EQ(b.owner[1], static_cast<int32_t>(c.pid));
  CHECK_EQ(b.owner[2], int32_t{0});
  CHECK_EQ(b.owner[3], int32_t{0});
  CHECK_EQ(b.shared, uint64_t{1});
  CHECK_EQ(b.found, uint64_t{2});
  kill(grandchild, SIGKILL);
  Stop(c.pid);
}

namespace {

struct UnshareArgs {
  int out;
};

// A thread that takes its own copy of the fd table, then opens a listener
// only that copy holds.
void* UnsharingThread(void* arg) {
  const int out = static_cast<UnshareArgs*>(arg)->out;
  if (unshare(CLONE_FILES) != 0) _exit(5);
  int mine = Listener();
  Send(out, InodeOf(mine));
  Send(out, static_cast<uint32_t>(syscall(SYS_gettid)));
  close(out);  // closes our copy of the pipe; the leader still has its own
  for (;;) pause();
  return nullptr;
}

}  // namespace

TEST(bpf_and_walk_agree_on_a_thread_with_its_own_fd_table) {
  if (!BpfWorksHere()) return;
  // The leader holds `shared_before` (in both tables: it existed when the
  // thread unshared) and `leader_only`; the thread holds `thread_only`,
  // which /proc/<pid>/fd does not show, so neither source may report it.
  Child c = StartChild(4, [](int out) {
    int shared_before = Listener();
    Send(out, InodeOf(shared_before));
    int pipefd[2];
    if (pipe(pipefd) != 0) _exit(6);
    static UnshareArgs args;
    args.out = pipefd[1];
    if (!StartThread(UnsharingThread, &args)) _exit(7);
    uint32_t v[2];
    if (!ReadFull(pipefd[0], v, sizeof v)) _exit(8);
    close(pipefd[1]);
    int leader_only = Listener();
    Send(out, v[0]);
    Send(out, InodeOf(leader_only));
    Send(out, v[1]);
    close(out);
  });
  CHECK(c.pid > 0);
  if (c.pid <= 0) return;
  const std::vector<uint32_t> inodes = {c.values[0], c.values[1], c.values[2], kNeverFound};
  CHECK(static_cast<pid_t>(c.values[3]) != c.pid);
  CheckSame(inodes);
  const OwnerResult b = Find(inodes, "bpf");
  CHECK_EQ(b.owner[0], static_cast<int32_t>(c.pid));
  CHECK_EQ(b.owner[1], int32_t{0});  // the thread's table only
  CHECK_EQ(b.owner[2], static_cast<int32_t>(c.pid));
  CHECK_EQ(b.shared, uint64_t{0});
  Stop(c.pid);
}

TEST(bpf_and_walk_agree_on_a_leaderless_process_with_200_threads) {
  if (!BpfWorksHere()) return;
  uint32_t inode = 0;
  const pid_t pid = StartLeaderless(200, &inode);
  CHECK(pid > 0);
  if (pid <= 0) return;
  CheckSame({inode, kNeverFound});
  const OwnerResult b = Find({inode}, "bpf");
  CHECK_EQ(b.owner[0], static_cast<int32_t>(pid));
  CHECK_EQ(b.processes.size(), size_t{1});
  if (!b.processes.empty()) CHECK_EQ(b.processes[0].sockets, uint64_t{1});
  Stop(pid);
}

TEST(bpf_and_walk_agree_on_named_pids) {
  if (!BpfWorksHere()) return;
  Child c = StartChild(1, [](int out) {
    int s = Listener();
    Send(out, InodeOf(s));
    close(out);
  });
  CHECK(c.pid > 0);
  if (c.pid <= 0) return;
  int mine = Listener();  // after the fork: the child does not hold it
  const std::vector<uint32_t> inodes = {InodeOf(mine), c.values[0], kNeverFound};
  // Only the child: our own listener is not looked for in our table.
  CheckSame(inodes, {c.pid});
  const OwnerResult b = Find(inodes, "bpf", {c.pid, 2147483000});
  CHECK_EQ(b.owner[0], int32_t{0});
  CHECK_EQ(b.owner[1], static_cast<int32_t>(c.pid));
  // A pid that does not exist: vanished, as the walk says it.
  CHECK_EQ(b.vanished, uint64_t{1});
  CHECK_EQ(b.candidates, uint64_t{2});
  CHECK_EQ(b.walked, uint64_t{1});
  CHECK_EQ(b.failures.size(), size_t{1});
  if (!b.failures.empty()) {
    CHECK_EQ(b.failures[0].pid, int32_t{2147483000});
    CHECK_EQ(b.failures[0].err, int32_t{ENOENT});
  }
  close(mine);
  Stop(c.pid);
}

TEST(bpf_and_walk_agree_on_every_socket_of_ours_and_many_fds) {
  if (!BpfWorksHere()) return;
  // Many sockets (unix socket pairs: no ports used) and many non-socket
  // fds: the records span several reads.
  std::vector<int> fds;
  std::vector<uint32_t> inodes;
  for (int i = 0; i < 2500; ++i) {
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) break;
    fds.push_back(sp[0]);
    fds.push_back(sp[1]);
    inodes.push_back(InodeOf(sp[0]));
    inodes.push_back(InodeOf(sp[1]));
    int p[2];
    if (pipe(p) == 0) {
      fds.push_back(p[0]);
      fds.push_back(p[1]);
    }
  }
  CHECK(inodes.size() > 4000);
  inodes.push_back(kNeverFound);
  CheckSame(inodes);
  const OwnerResult b = Find(inodes, "bpf");
  CHECK_EQ(b.found, static_cast<uint64_t>(inodes.size() - 1));
  for (int fd : fds) close(fd);
}

TEST(empty_btf_falls_back_in_auto_and_fails_when_forced) {
  char path[] = "/tmp/tcpcensus-btf-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  close(fd);
  int s = Listener();
  OwnerOptions o;
  o.btf_path = path;
  OwnerResult r;
  FindOwners({InodeOf(s)}, o, &r);
  CHECK(r.source == "proc");
  CHECK_EQ(r.fallback, "BTF " + std::string(path) + ": empty");
  CHECK_EQ(r.owner[0], static_cast<int32_t>(getpid()));
  o.source = "bpf";
  OwnerResult f;
  CHECK_THROWS(OwnerSourceError, FindOwners({InodeOf(s)}, o, &f), [&](const OwnerSourceError& e) {
    return std::string(e.what()) == "BTF " + std::string(path) + ": empty";
  });
  o.btf_path = "/nonexistent/vmlinux";
  CHECK_THROWS(SysError, FindOwners({InodeOf(s)}, o, &f),
               [](const SysError& e) { return e.syscall() == "open" && e.err() == ENOENT; });
  o.source = "auto";
  OwnerResult g;
  FindOwners({InodeOf(s)}, o, &g);
  CHECK_EQ(g.fallback, std::string("open /nonexistent/vmlinux failed: No such file or directory (ENOENT)"));
  unlink(path);
  close(s);
}

TEST(a_program_the_verifier_refuses_falls_back_with_the_verifier_s_reason) {
  if (!BpfWorksHere()) return;
  // The running kernel's BTF with struct file's f_inode moved onto a member
  // that holds no pointer: it passes our checks (the type still says
  // pointer) but the verifier refuses to dereference what it loads.
  std::vector<uint8_t> blob;
  {
    FILE* f = std::fopen("/sys/kernel/btf/vmlinux", "rb");
    CHECK(f != nullptr);
    if (f == nullptr) return;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) blob.insert(blob.end(), buf, buf + n);
    std::fclose(f);
  }
  Btf btf;
  std::string error;
  CHECK(btf.Parse(ByteSpan(blob), &error));
  const uint32_t file = btf.FindByName(kBtfStruct, "file");
  BtfType t;
  CHECK(btf.Type(file, &t));
  size_t f_inode_at = 0;
  uint32_t scalar_bits = UINT32_MAX;
  for (uint32_t i = 0; i < t.vlen; ++i) {
    uint32_t name_off, type, offset;
    t.data.ReadAt(12 * i, &name_off);
    t.data.ReadAt(12 * i + 4, &type);
    t.data.ReadAt(12 * i + 8, &offset);
    BtfType mt;
    const uint32_t resolved = btf.SkipModifiers(type);
    if (btf.NameIs(name_off, "f_inode")) {
      f_inode_at = static_cast<size_t>(t.data.data() - blob.data()) + 12 * i + 8;
    } else if (scalar_bits == UINT32_MAX && !t.kind_flag && offset % 64 == 0 && btf.Type(resolved, &mt) &&
               mt.kind != kBtfPtr && mt.kind != kBtfStruct && mt.kind != kBtfUnion) {
      scalar_bits = offset;
    }
  }
  CHECK(f_inode_at != 0 && scalar_bits != UINT32_MAX);
  if (f_inode_at == 0 || scalar_bits == UINT32_MAX) return;
  std::memcpy(blob.data() + f_inode_at, &scalar_bits, 4);
  char path[] = "/tmp/tcpcensus-badbtf-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0 && write(fd, blob.data(), blob.size()) == static_cast<ssize_t>(blob.size()));
  close(fd);
  int s = Listener();
  OwnerOptions o;
  o.btf_path = path;
  OwnerResult r;
  FindOwners({InodeOf(s)}, o, &r);
  CHECK(r.source == "proc");
  CHECK(r.fallback.find("bpf(BPF_PROG_LOAD; verifier: ") == 0);
  CHECK_EQ(r.owner[0], static_cast<int32_t>(getpid()));
  std::fprintf(stderr, "  (fallback: %s)\n", r.fallback.c_str());
  o.source = "bpf";
  OwnerResult f;
  CHECK_THROWS(SysError, FindOwners({InodeOf(s)}, o, &f), [](const SysError& e) {
    return e.syscall() == "bpf" && e.err() == EACCES && e.path().empty() &&
           std::string(e.what()).find("bpf(BPF_PROG_LOAD; verifier: ") == 0;
  });
  unlink(path);
  close(s);
}

TEST(as_nobody_auto_falls_back_with_the_failed_call_and_forced_bpf_fails) {
  if (geteuid() != 0) return;
  // A child becomes nobody and reports what each mode answered.
  int status = 0;
  const std::string got = ReportFromChild(
      []() -> std::string {
        std::string report;
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
        int s = Listener();
        OwnerOptions o;
        OwnerResult r;
        FindOwners({InodeOf(s)}, o, &r);
        report +=
            (r.source == "proc" ? "proc|" : "bpf|") + r.fallback + "|" + std::to_string(r.owner[0] == getpid()) + "|";
        o.source = "bpf";
        try {
          OwnerResult f;
          FindOwners({InodeOf(s)}, o, &f);
          report += "no error";
        } catch (const SysError& e) {
          report += e.syscall() + "|" + e.what();
        }
        return report;
      },
      &status);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(got, std::string("proc|bpf(BPF_PROG_LOAD) failed: Operation not permitted (EPERM)|1|"
                            "bpf|bpf(BPF_PROG_LOAD) failed: Operation not permitted"));
}

TEST(a_prefetch_started_before_the_inodes_gives_the_same_answer) {
  if (!BpfWorksHere()) return;
  Child c = StartChild(1, [](int out) {
    int s = Listener();
    Send(out, InodeOf(s));
    close(out);
  });
  CHECK(c.pid > 0);
  if (c.pid <= 0) return;
  const std::vector<uint32_t> inodes = {c.values[0], kNeverFound};
  for (const std::string source : {"auto", "bpf", "proc"}) {
    OwnerOptions o;
    o.source = source;
    OwnerPrefetch prefetch(o);
    OwnerResult with, without;
    FindOwners(inodes, o, &with, &prefetch);
    FindOwners(inodes, o, &without);
    CHECK(with.source == without.source);
    CHECK(with.source == (source == "proc" ? "proc" : "bpf"));
    CHECK_EQ(with.owner[0], static_cast<int32_t>(c.pid));
    CHECK_EQ(with.owner[0], without.owner[0]);
    CHECK_EQ(with.processes.size(), without.processes.size());
  }
  // Started and never used: destroyed while it may still run.
  for (int i = 0; i < 3; ++i) {
    OwnerOptions o;
    OwnerPrefetch unused(o);
  }
  // A prefetch that fails: auto falls back with the reason, forced throws.
  OwnerOptions bad;
  bad.btf_path = "/nonexistent/vmlinux";
  OwnerPrefetch failing(bad);
  OwnerResult r;
  FindOwners(inodes, bad, &r, &failing);
  CHECK(r.source == "proc");
  CHECK_EQ(r.fallback, std::string("open /nonexistent/vmlinux failed: No such file or directory (ENOENT)"));
  CHECK_EQ(r.owner[0], static_cast<int32_t>(c.pid));
  bad.source = "bpf";
  OwnerPrefetch forced(bad);
  OwnerResult f;
  CHECK_THROWS(SysError, FindOwners(inodes, bad, &f, &forced), [](const SysError& e) { return e.err() == ENOENT; });
  Stop(c.pid);
}

TEST(nothing_wanted_still_says_which_source_answers) {
  if (!BpfWorksHere()) return;
  const OwnerResult b = Find({0, 0}, "auto");
  CHECK(b.source == "bpf");
  CHECK_EQ(b.owner.size(), size_t{2});
  CHECK_EQ(b.found, uint64_t{0});
}

namespace {

struct Collected {
  std::vector<OwnerRecord> records;
  static void On(void* self, const OwnerRecord& r) { static_cast<Collected*>(self)->records.push_back(r); }
};

std::vector<uint8_t> Records(int n) {
  std::vector<uint8_t> out(16 * static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const uint64_t ino = 5000 + static_cast<uint64_t>(i);
    const int32_t tgid = 100 + i, tid = 200 + i;
    std::memcpy(out.data() + 16 * i, &ino, 8);
    std::memcpy(out.data() + 16 * i + 8, &tgid, 4);
    std::memcpy(out.data() + 16 * i + 12, &tid, 4);
  }
  return out;
}

}  // namespace

TEST(record_reader_joins_split_records_and_retries_eagain) {
  int p[2];
  CHECK(pipe(p) == 0);
  // Non-blocking: every read that finds the pipe empty is EAGAIN, which the
  // reader must take as "read again", like the iterator's.
  CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
  const std::vector<uint8_t> bytes = Records(3000);  // 48000 bytes: more than one read
  std::thread writer([&] {
    // Chunks of 7, 13 and 4093 bytes: records split everywhere.
    const size_t sizes[] = {7, 13, 4093};
    size_t off = 0;
    for (int i = 0; off < bytes.size(); ++i) {
      const size_t n = std::min(sizes[i % 3], bytes.size() - off);
      if (write(p[1], bytes.data() + off, n) != static_cast<ssize_t>(n)) break;
      off += n;
      if (i % 8 == 0) std::this_thread::yield();
    }
    close(p[1]);
  });
  Collected c;
  ReadOwnerRecords(p[0], "(test pipe)", Collected::On, &c);
  writer.join();
  close(p[0]);
  CHECK_EQ(c.records.size(), size_t{3000});
  bool in_order = true;
  for (size_t i = 0; i < c.records.size(); ++i) {
    in_order = in_order && c.records[i].inode == 5000 + i && c.records[i].tgid == static_cast<int32_t>(100 + i) &&
               c.records[i].tid == static_cast<int32_t>(200 + i);
  }
  CHECK(in_order);
}

TEST(record_reader_refuses_a_torn_end_and_read_errors) {
  int p[2];
  CHECK(pipe(p) == 0);
  const std::vector<uint8_t> bytes = Records(2);
  CHECK(write(p[1], bytes.data(), 24) == 24);  // a record and a half
  close(p[1]);
  Collected c;
  CHECK_THROWS(SysError, ReadOwnerRecords(p[0], "(test pipe)", Collected::On, &c), [](const SysError& e) {
    return e.err() == EBADMSG && std::string(e.what()).find("read(test pipe) failed") == 0;
  });
  close(p[0]);
  // A read error is an error, never a partial answer.
  int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK_THROWS(SysError, ReadOwnerRecords(dir, "(bpf iterator)", Collected::On, &c),
               [](const SysError& e) { return e.err() == EISDIR && e.syscall() == "read"; });
  close(dir);
}
