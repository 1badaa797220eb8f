// netns.cc: see netns.h.
//
// Man pages: setns(2), namespaces(7), stat(2), getdents64(2), ip-netns(8).
// A namespace is identified by the inode of its nsfs file (what
// stat /proc/PID/ns/net gives through the magic link): every such file, and
// every bind mount of one under /var/run/netns, lives on the one nsfs
// filesystem, so (st_dev of our own namespace file, st_ino) tells namespaces
// apart and tells a mounted name from a stale empty file.
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <map>
#include <system_error>
#include <thread>

#include "../common/bytes.h"
#include "../common/fd.h"
#include "../common/proc_parse.h"
#include "../common/read_dir.h"
#include "../common/sys_error.h"

namespace tcpcensus {

namespace {

// CLONE_NEWNET (linux/sched.h); <sched.h> only defines it under _GNU_SOURCE.
constexpr int kCloneNewNet = 0x40000000;
#ifdef CLONE_NEWNET
static_assert(CLONE_NEWNET == kCloneNewNet, "CLONE_NEWNET");
#endif

constexpr char kNetnsRunDir[] = "/var/run/netns";  // iproute2's NETNS_RUN_DIR
constexpr size_t kDirentBuffer = 32 * 1024;

bool ValidName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string ResolveNetnsSpec(const std::string& spec, std::string* error) {
  if (spec.compare(0, 4, "pid:") == 0) {
    int32_t pid;
    const std::string digits = spec.substr(4);
    if (!ParsePid(digits.data(), digits.size(), &pid)) {
      *error = "netns \"" + spec + "\": pid:PID needs a process id, e.g. pid:1234";
      return "";
    }
    return "/proc/" + digits + "/ns/net";
  }
  if (spec.find('/') != std::string::npos) return spec;
  if (!ValidName(spec)) {
    *error = "netns \"" + spec + "\" is not a namespace name (letters, digits, '.', '_', '-'), a path, or pid:PID";
    return "";
  }
  return std::string(kNetnsRunDir) + "/" + spec;
}

void RunInNetns(const std::string& path, const std::function<void()>& fn) {
  // Opened on the caller's thread, so a missing namespace is reported before
  // any thread starts; the fd stays ours until the thread has joined.
  Fd ns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.ok()) throw SysError("open", errno, path);
  std::exception_ptr error;
  std::thread worker;
  try {
    worker = std::thread([&] {
      try {
        if (syscall(SYS_setns, ns.get(), kCloneNewNet) != 0) throw SysError("setns", errno, path);
        fn();
      } catch (...) {
        error = std::current_exception();
      }
      // The thread ends here, still in the namespace: nothing else ever
      // runs on it.
    });
  } catch (const std::system_error& e) {
    throw SysError("pthread_create", e.code().value());
  }
  worker.join();
  if (error) std::rethrow_exception(error);
}

uint64_t CurrentNetnsInode() {
  struct stat st;
  if (stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_ino);
}

void ListNetns(const std::string& proc_root, NetnsList* out) {
  struct stat self;
  const bool have_self = stat("/proc/self/ns/net", &self) == 0;
  std::map<uint64_t, NetnsEntry> found;
  std::vector<uint8_t> buf(kDirentBuffer);

  Fd proc(open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc.ok()) throw SysError("open", errno, proc_root);
  std::vector<int32_t> pids;
  int err = ReadDir(proc.get(), MutableByteSpan(buf), [&](const DirEntry& e) {
    int32_t pid;
    if (ParsePid(e.name, e.len, &pid)) pids.push_back(pid);
    return true;
  });
  if (err != 0) throw SysError("getdents64", err, proc_root);
  std::sort(pids.begin(), pids.end());
  for (int32_t pid : pids) {
    const std::string rel = std::to_string(pid) + "/ns/net";
    struct stat st;
    // stat follows the magic link to the namespace's nsfs inode; another
    // user's process is EACCES (ptrace access mode) unless we are root,
    // and a process may exit meanwhile (ENOENT).
    if (fstatat(proc.get(), rel.c_str(), &st, 0) != 0) {
      if (errno == EACCES || errno == EPERM) out->unreadable++;
      continue;
    }
    if (have_self && st.st_dev != self.st_dev) continue;  // not an nsfs file
    NetnsEntry& n = found[st.st_ino];
    if (n.pid == 0) {  // pids ascend: the first is the lowest
      n.inode = st.st_ino;
      n.pid = pid;
      n.path = proc_root + "/" + rel;
    }
  }

  Fd run(open(kNetnsRunDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::vector<std::string> names;
  if (run.ok()) {
    err = ReadDir(run.get(), MutableByteSpan(buf), [&](const DirEntry& e) {
      if (e.name[0] != '.') names.emplace_back(e.name, e.len);
      return true;
    });
    if (err != 0) throw SysError("getdents64", err, kNetnsRunDir);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    struct stat st;
    // A name whose namespace is gone (or was never mounted) is an empty
    // file on the run directory's own filesystem: not a namespace.
    if (fstatat(run.get(), name.c_str(), &st, 0) != 0) continue;
    if (!have_self || st.st_dev != self.st_dev) continue;
    NetnsEntry& n = found[st.st_ino];
    n.inode = st.st_ino;
    if (n.name.empty()) {  // names ascend: the first one names it
      n.name = name;
      n.path = std::string(kNetnsRunDir) + "/" + name;
    }
  }

  for (auto& kv : found) {
    kv.second.self = have_self && kv.first == static_cast<uint64_t>(self.st_ino);
    out->namespaces.push_back(std::move(kv.second));
  }
}

}  // namespace tcpcensus
