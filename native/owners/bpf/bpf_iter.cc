// bpf_iter.cc: the eBPF owner source's I/O: reading the kernel's BTF,
// loading the program, creating the iterator and reading its records.
//
// Man pages and kernel docs: bpf(2) and include/uapi/linux/bpf.h (union
// bpf_attr for BPF_PROG_LOAD, BPF_LINK_CREATE, BPF_ITER_CREATE; union
// bpf_iter_link_info), Documentation/bpf/bpf_iterators.rst (reading an
// iterator fd: a seq_file that fills at most 32 KiB a read, EAGAIN after
// many objects without output), Documentation/bpf/btf.rst and
// Documentation/ABI/testing/sysfs-kernel-btf (/sys/kernel/btf/vmlinux),
// mmap(2), statfs(2), pid_namespaces(7), proc(5) (/proc/self/ns/pid).
//
// bpf(2) is called through syscall(2): glibc has no wrapper, and no libbpf
// is needed. Every fd is owned by an Fd, so each path closes what it opened
// (the program, link and iterator fds are close-on-exec from the kernel).
#include "bpf_iter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

#include "../../common/fd.h"
#include "../../common/kernel_write.h"
#include "../../common/proc_parse.h"
#include "../../common/sys_error.h"
#include "btf.h"

namespace tcpcensus {

namespace {

// The leading part of union bpf_attr for each command we use, laid out as
// include/uapi/linux/bpf.h does (native/test checks the offsets against the
// header). The size passed to bpf(2) is ours: the kernel zero-fills the rest.
// 64-bit only, like the program.
struct ProgLoadAttr {
  uint32_t prog_type;
  uint32_t insn_cnt;
  alignas(8) uint64_t insns;
  alignas(8) uint64_t license;
  uint32_t log_level;
  uint32_t log_size;
  alignas(8) uint64_t log_buf;
  uint32_t kern_version;
  uint32_t prog_flags;
  char prog_name[16];
  uint32_t prog_ifindex;
  uint32_t expected_attach_type;
  uint32_t prog_btf_fd;
  uint32_t func_info_rec_size;
  alignas(8) uint64_t func_info;
  uint32_t func_info_cnt;
  uint32_t line_info_rec_size;
  alignas(8) uint64_t line_info;
  uint32_t line_info_cnt;
  uint32_t attach_btf_id;
  uint32_t attach_btf_obj_fd;  // 0: the vmlinux BTF
};
static_assert(offsetof(ProgLoadAttr, prog_name) == 48, "bpf_attr.prog_name");
static_assert(offsetof(ProgLoadAttr, expected_attach_type) == 68, "bpf_attr.expected_attach_type");
static_assert(offsetof(ProgLoadAttr, attach_btf_id) == 108, "bpf_attr.attach_btf_id");

struct LinkCreateAttr {
  uint32_t prog_fd;
  uint32_t target_fd;
  uint32_t attach_type;
  uint32_t flags;
  alignas(8) uint64_t iter_info;  // union bpf_iter_link_info *
  uint32_t iter_info_len;
};
static_assert(offsetof(LinkCreateAttr, iter_info) == 16, "bpf_attr.link_create.iter_info");

// union bpf_iter_link_info, its task member (kernel 6.1+): pid picks one
// process (every thread of it).
struct IterTaskInfo {
  uint32_t tid;
  uint32_t pid;
  uint32_t pid_fd;
  uint32_t pad;  // the union is 16 bytes (its cgroup member)
};

struct IterCreateAttr {
  uint32_t link_fd;
  uint32_t flags;
};

struct ObjInfoAttr {
  uint32_t bpf_fd;
  uint32_t info_len;
  alignas(8) uint64_t info;  // struct bpf_prog_info * or struct bpf_link_info *
};
static_assert(offsetof(ObjInfoAttr, info) == 8, "bpf_attr.info.info");

long Bpf(int cmd, void* attr, size_t size) { return syscall(SYS_bpf, cmd, attr, size); }

// BPF_PROG_LOAD may answer EAGAIN when interrupted by a signal (libbpf
// retries it the same way).
long BpfRetrying(int cmd, void* attr, size_t size) {
  long r;
  int tries = 0;
  do {
    r = Bpf(cmd, attr, size);
  } while (r < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 5);
  return r;
}

// PROC_PID_INIT_INO (include/linux/proc_ns.h): the inode of the initial
// pid namespace's /proc/<pid>/ns/pid.
constexpr uint64_t kInitPidNsInode = 0xEFFFFFFCu;

// The iterator reports task->tgid, the pid in the initial pid namespace.
// Those are the pids the caller sees only when it is in that namespace and
// its procfs is that namespace's too.
void CheckPidView(const std::string& proc_root) {
  const std::string ns = proc_root + "/self/ns/pid";
  struct stat st;
  if (stat(ns.c_str(), &st) != 0) throw SysError("stat", errno, ns);
  if (st.st_ino != kInitPidNsInode) {
    throw OwnerSourceError(
        "not in the initial pid namespace (the eBPF iterator cannot give pids as this one sees them)");
  }
  const std::string self = proc_root + "/self";
  char link[24];
  const ssize_t n = readlink(self.c_str(), link, sizeof link);
  int32_t pid = 0;
  if (n < 0) throw SysError("readlink", errno, self);
  if (!ParsePid(link, static_cast<size_t>(n), &pid) || pid != getpid()) {
    throw OwnerSourceError(proc_root + " shows another pid namespace than the eBPF iterator's");
  }
}

// ---- the kernel's BTF ----

constexpr size_t kMaxBtfBytes = size_t{256} << 20;
constexpr long kSysfsMagic = 0x62656572;  // SYSFS_MAGIC, statfs(2)

// The BTF file's bytes: mapped (sysfs, kernel 6.16+: about 10 ms for 5 MB,
// against 50-70 ms of 4 KiB reads) or read.
class BtfBytes {
 public:
  BtfBytes() = default;
  ~BtfBytes() {
    if (map_ != nullptr) munmap(map_, map_len_);
  }
  BtfBytes(const BtfBytes&) = delete;
  BtfBytes& operator=(const BtfBytes&) = delete;

  ByteSpan span() const {
    return map_ != nullptr ? ByteSpan(static_cast<const uint8_t*>(map_), map_len_) : ByteSpan(buf_);
  }

  void Load(int fd, const struct stat& st, const std::string& path) {
    // Only sysfs is mapped: a regular file truncated while mapped would
    // raise SIGBUS on access, and reading one is fast anyway.
    struct statfs fs;
    if (st.st_size > 0 && static_cast<uint64_t>(st.st_size) <= kMaxBtfBytes && fstatfs(fd, &fs) == 0 &&
        static_cast<long>(fs.f_type) == kSysfsMagic) {
      void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        map_ = p;
        map_len_ = static_cast<size_t>(st.st_size);
        return;
      }
    }
    // sysfs may report a size; a read to the end decides.
    size_t cap = st.st_size > 0 && static_cast<uint64_t>(st.st_size) < kMaxBtfBytes
                     ? static_cast<size_t>(st.st_size) + 1
                     : size_t{1} << 20;
    buf_.resize(cap);
    size_t used = 0;
    for (;;) {
      if (used == buf_.size()) {
        if (buf_.size() >= kMaxBtfBytes) throw OwnerSourceError("BTF " + path + ": larger than 256 MiB");
        buf_.resize(std::min(buf_.size() * 2, kMaxBtfBytes));
      }
      const ssize_t n = read(fd, buf_.data() + used, buf_.size() - used);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw SysError("read", errno, path);
      }
      if (n == 0) break;
      used += static_cast<size_t>(n);
    }
    buf_.resize(used);
  }

 private:
  void* map_ = nullptr;
  size_t map_len_ = 0;
  std::vector<uint8_t> buf_;
};

// The layout is resolved once per BTF file and kept: the kernel's BTF does
// not change while it runs, and parsing 5 MB of it costs milliseconds a call.
// A pthread mutex, not std::mutex: libstdc++'s <mutex> needs _GNU_SOURCE,
// which the portable build leaves out.
struct LayoutCache {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  bool valid = false;
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  OwnerProgLayout layout;
};

class Locked {
 public:
  explicit Locked(pthread_mutex_t* mu) : mu_(mu) { pthread_mutex_lock(mu_); }
  ~Locked() { pthread_mutex_unlock(mu_); }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

 private:
  pthread_mutex_t* mu_;
};

LayoutCache& Cache() {
  static LayoutCache* cache = new LayoutCache();  // never destroyed: no exit-time order issues
  return *cache;
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

OwnerProgLayout LayoutFor(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) throw SysError("open", errno, path);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw SysError("fstat", errno, path);
  LayoutCache& c = Cache();
  Locked lock(&c.mu);
  if (c.valid && c.path == path && c.dev == st.st_dev && c.ino == st.st_ino && c.size == st.st_size &&
      c.mtime_ns == MtimeNs(st)) {
    return c.layout;
  }
  BtfBytes bytes;
  bytes.Load(fd.get(), st, path);
  Btf btf;
  std::string error;
  if (!btf.Parse(bytes.span(), &error)) throw OwnerSourceError("BTF " + path + ": " + error);
  OwnerProgLayout layout;
  if (!ResolveOwnerLayout(btf, &layout, &error)) throw OwnerSourceError("BTF " + path + ": " + error);
  c.valid = true;
  c.path = path;
  c.dev = st.st_dev;
  c.ino = st.st_ino;
  c.size = st.st_size;
  c.mtime_ns = MtimeNs(st);
  c.layout = layout;
  return layout;
}

// ---- loading and running ----

constexpr size_t kVerifierLogSize = size_t{1} << 20;

Fd LoadProgram(const OwnerProgram& prog, uint32_t attach_btf_id) {
  static const char kLicense[] = "GPL";  // the program reads GPL-only kernel structs
  ProgLoadAttr a;
  std::memset(&a, 0, sizeof a);
  a.prog_type = kBpfProgTypeTracing;
  a.expected_attach_type = kBpfTraceIter;
  a.attach_btf_id = attach_btf_id;
  a.insn_cnt = static_cast<uint32_t>(prog.count);
  a.insns = reinterpret_cast<uintptr_t>(prog.insns.data());
  a.license = reinterpret_cast<uintptr_t>(kLicense);
  std::memcpy(a.prog_name, "tcpc_owners", sizeof "tcpc_owners");
  // No log first: a log buffer that is too small makes a valid program fail
  // with ENOSPC, and the verifier is faster without one.
  long fd = BpfRetrying(kBpfProgLoad, &a, sizeof a);
  if (fd >= 0) return Fd(static_cast<int>(fd));
  const int err = errno;
  if (err == EPERM || err == ENOSYS || err == ENOMEM) throw SysError("bpf", err, "(BPF_PROG_LOAD)");
  // Refused by the verifier (EACCES, EINVAL, ...): load again, with its log
  // this time, only to say why.
  std::vector<uint8_t> log(kVerifierLogSize);
  a.log_level = 1;
  a.log_size = static_cast<uint32_t>(log.size());
  a.log_buf = reinterpret_cast<uintptr_t>(log.data());
  CheckKernelBuffer(log.data(), log.size());
  fd = BpfRetrying(kBpfProgLoad, &a, sizeof a);
  if (fd >= 0) return Fd(static_cast<int>(fd));
  const std::string why = VerifierReason(ByteSpan(log));
  throw SysError("bpf", err, why.empty() ? "(BPF_PROG_LOAD)" : "(BPF_PROG_LOAD; verifier: " + why + ")");
}

// A link of the program to the task_file target: every process, or only
// process `pid` (every thread of it) when pid is not 0.
Fd CreateLink(int prog_fd, int32_t pid) {
  IterTaskInfo info;
  std::memset(&info, 0, sizeof info);
  info.pid = static_cast<uint32_t>(pid);
  LinkCreateAttr a;
  std::memset(&a, 0, sizeof a);
  a.prog_fd = static_cast<uint32_t>(prog_fd);
  a.attach_type = kBpfTraceIter;
  if (pid != 0) {
    a.iter_info = reinterpret_cast<uintptr_t>(&info);
    a.iter_info_len = sizeof info;
  }
  const long fd = BpfRetrying(kBpfLinkCreate, &a, sizeof a);
  if (fd < 0) throw SysError("bpf", errno, "(BPF_LINK_CREATE)");
  return Fd(static_cast<int>(fd));
}

Fd CreateIterator(int link_fd) {
  IterCreateAttr a;
  std::memset(&a, 0, sizeof a);
  a.link_fd = static_cast<uint32_t>(link_fd);
  const long fd = BpfRetrying(kBpfIterCreate, &a, sizeof a);
  if (fd < 0) throw SysError("bpf", errno, "(BPF_ITER_CREATE)");
  return Fd(static_cast<int>(fd));
}

// The seq_file behind an iterator fills at most 32 KiB a read; a larger
// buffer gains nothing.
constexpr size_t kReadSize = 32 * 1024;
// EAGAIN comes after about a million objects visited without output; this
// many in a row (a trillion objects) means something else is wrong.
constexpr unsigned kMaxEagainInARow = 1u << 20;

// Keeps the records of one iterator (only those of process `only` when it
// is not 0). The vector comes sized for the last call (TakeRecordBuffer):
// it rarely grows, and never allocates per record.
struct Collector {
  std::vector<OwnerRecord>* out;
  int32_t only;
  static void On(void* self, const OwnerRecord& r) {
    auto* c = static_cast<Collector*>(self);
    if (r.tgid > 0 && (c->only == 0 || r.tgid == c->only)) c->out->push_back(r);
  }
};

void SortUnique(std::vector<int32_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

// One read of an iterator: each has its own fd and seq_file, so reads from
// one link may run at the same time on several threads.
void ReadIterator(int link_fd, int32_t pid, std::vector<OwnerRecord>* out, const std::atomic<bool>* cancel) {
  Fd iter = CreateIterator(link_fd);
  Collector c{out, pid};
  ReadOwnerRecords(iter.get(), "(bpf iterator)", Collector::On, &c, cancel);
}

// ---- the loaded program, kept across calls ----
//
// Loading costs a BPF_PROG_LOAD (the verifier) every call otherwise, and a
// sampler calls every second for weeks. The program and its link to every
// task are kept process-wide; each read still makes its own iterator fd.
// The cache holds two fds (close-on-exec, from the kernel) until the
// process ends.

// The type and id the kernel gave the program or link behind fd
// (bpf_prog_info and bpf_link_info both start with them); {0, 0} when fd is
// no bpf object.
struct ObjectKey {
  uint32_t type = 0;
  uint32_t id = 0;
  bool operator==(const ObjectKey& o) const { return type == o.type && id == o.id; }
};

ObjectKey KeyOf(int fd) {
  uint32_t info[2] = {0, 0};
  ObjInfoAttr a;
  std::memset(&a, 0, sizeof a);
  a.bpf_fd = static_cast<uint32_t>(fd);
  a.info_len = sizeof info;  // the kernel writes at most this much
  a.info = reinterpret_cast<uintptr_t>(info);
  CheckKernelBuffer(info, sizeof info);
  if (Bpf(kBpfObjGetInfoByFd, &a, sizeof a) != 0) return ObjectKey();
  return ObjectKey{info[0], info[1]};
}

// A kept program or link fd, shared by the calls using it and closed when
// the last lets go; unless it was found not to be ours any more (closed
// behind our back, its number reused, e.g. by a service that closes every
// fd after fork): then the number is someone else's and is left alone.
struct BpfObject {
  int fd = -1;
  ObjectKey key;
  std::atomic<bool> lost{false};
  BpfObject(int f, ObjectKey k) : fd(f), key(k) {}
  ~BpfObject() {
    // Checked once more: a number closed behind our back since the last
    // check and reused is not ours to close (this narrows the window; only
    // the owner of the other fd could close it).
    if (fd >= 0 && !lost.load(std::memory_order_relaxed) && StillOurs()) close(fd);
  }
  BpfObject(const BpfObject&) = delete;
  BpfObject& operator=(const BpfObject&) = delete;
  // One bpf(2) call: the fd still names the object we made. After fork the
  // child's copy of it passes too, and is used.
  bool StillOurs() const { return KeyOf(fd) == key; }
};
using SharedObject = std::shared_ptr<BpfObject>;

SharedObject Own(Fd fd) {
  const ObjectKey key = KeyOf(fd.get());
  if (key.id == 0) throw SysError("bpf", errno, "(BPF_OBJ_GET_INFO_BY_FD)");
  auto obj = std::make_shared<BpfObject>(fd.get(), key);
  (void)fd.Release();
  return obj;
}

// At most this many spare record buffers are kept (calls run on the libuv
// pool, four at once by default), and none more than twice as large as what
// its last call needed (a one-off spike is not kept for good).
constexpr size_t kMaxSpareBuffers = 2;

// Who may use a kept program: the process that loaded it, with the
// effective uid and capabilities it had then (capget(2)). A service that
// drops its privileges after a first call loads again and is refused, as
// before: the kept program is not a way around the kernel's check. A fork
// child loads its own.
struct Holder {
  pid_t pid = 0;
  uid_t euid = 0;
  uint32_t caps[2] = {0, 0};  // effective set, _LINUX_CAPABILITY_VERSION_3
  bool operator==(const Holder& o) const {
    return pid == o.pid && euid == o.euid && caps[0] == o.caps[0] && caps[1] == o.caps[1];
  }
};

Holder CurrentHolder() {
  struct {
    uint32_t version;
    int pid;
  } header = {0x20080522, 0};  // _LINUX_CAPABILITY_VERSION_3, this thread
  struct {
    uint32_t effective, permitted, inheritable;
  } data[2] = {};
  Holder h;
  h.pid = getpid();
  h.euid = geteuid();
  CheckKernelBuffer(data, sizeof data);
  if (syscall(SYS_capget, &header, data) == 0) {
    h.caps[0] = data[0].effective;
    h.caps[1] = data[1].effective;
  } else {
    h.caps[0] = h.caps[1] = 0xFFFFFFFFu;  // unknown: never equal to a real set...
    h.pid = -1;                           // ...nor to any holder: nothing is kept
  }
  return h;
}

struct ProgramCache {
  // Held only for a few instructions, never across a bpf(2) load, so a
  // fork() (its prepare handler takes the lock) never waits long.
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  Holder holder;      // who loaded prog_obj
  OwnerProgram prog;  // the instructions prog_obj was loaded from
  uint32_t attach_btf_id = 0;
  SharedObject prog_obj;
  SharedObject link_obj;  // prog_obj's link to every task
  uint64_t loads = 0;
  std::vector<std::vector<OwnerRecord>> spare;
  size_t last_records = 0;  // how many the last call kept: a new buffer's size
};

ProgramCache& Programs() {
  static ProgramCache* cache = [] {
    auto* c = new ProgramCache();  // never destroyed, like the layout cache
    // A fork() while another thread holds the lock would leave it locked
    // in the child for good: take it around fork so the child gets it free
    // and the cache whole (pthread_atfork(3)).
    pthread_atfork([] { pthread_mutex_lock(&Programs().mu); }, [] { pthread_mutex_unlock(&Programs().mu); },
                   [] { pthread_mutex_unlock(&Programs().mu); });
    return c;
  }();
  return *cache;
}

bool SameProgram(const OwnerProgram& a, const OwnerProgram& b) {
  return a.count == b.count && std::memcmp(a.insns.data(), b.insns.data(), a.count * sizeof(BpfInsn)) == 0;
}

// The loaded program for these instructions: the kept one when it is the
// same program and its fd is still ours, else loaded now and kept. Two
// first calls at once may both load; one program is kept.
// Lets the kept objects go when `now` may not use them. In a fork child
// the copies are the child's: closed now if they are still ours (other
// threads' references did not survive the fork, so no last user would).
void DropForeign(ProgramCache* c, const Holder& now) {
  if (!c->prog_obj || c->holder == now) return;
  for (SharedObject* o : {&c->link_obj, &c->prog_obj}) {
    if (!*o) continue;
    if (c->holder.pid != now.pid && (*o)->StillOurs()) close((*o)->fd);
    if (c->holder.pid != now.pid || !(*o)->StillOurs()) (*o)->lost.store(true, std::memory_order_relaxed);
    o->reset();
  }
}

SharedObject ProgramFor(const OwnerProgram& prog, uint32_t attach_btf_id) {
  ProgramCache& c = Programs();
  const Holder now = CurrentHolder();
  if (now.pid < 0) {
    // Who we are is unknown (capget failed): neither use the kept program
    // nor keep this one, and leave the cache (and its fds) alone.
    SharedObject once = Own(LoadProgram(prog, attach_btf_id));
    Locked lock(&c.mu);
    c.loads++;
    return once;
  }
  {
    Locked lock(&c.mu);
    DropForeign(&c, now);
    if (c.prog_obj && c.attach_btf_id == attach_btf_id && SameProgram(c.prog, prog)) {
      if (c.prog_obj->StillOurs()) return c.prog_obj;
      c.prog_obj->lost.store(true, std::memory_order_relaxed);
    }
  }
  SharedObject loaded = Own(LoadProgram(prog, attach_btf_id));
  Locked lock(&c.mu);
  c.loads++;
  if (c.link_obj) {
    // The link holds the old program: it goes with it (closed once no call
    // uses it, unless it too is no longer ours).
    if (!c.link_obj->StillOurs()) c.link_obj->lost.store(true, std::memory_order_relaxed);
    c.link_obj.reset();
  }
  c.holder = now;
  c.prog = prog;
  c.attach_btf_id = attach_btf_id;
  c.prog_obj = loaded;
  return loaded;
}

// prog's link to every task: the kept one, or made now and kept.
SharedObject AllTasksLink(const SharedObject& prog) {
  ProgramCache& c = Programs();
  {
    Locked lock(&c.mu);
    if (c.link_obj && c.prog_obj == prog) {
      if (c.link_obj->StillOurs()) return c.link_obj;
      c.link_obj->lost.store(true, std::memory_order_relaxed);
      c.link_obj.reset();
    }
  }
  SharedObject link = Own(CreateLink(prog->fd, 0));
  Locked lock(&c.mu);
  if (c.prog_obj == prog) c.link_obj = link;  // not when another call replaced the program meanwhile
  return link;
}

// A record buffer: a spare one, or a new one sized for what the last call
// kept (no doubling from empty every call).
std::vector<OwnerRecord> TakeRecordBuffer() {
  ProgramCache& c = Programs();
  std::vector<OwnerRecord> v;
  size_t hint;
  {
    Locked lock(&c.mu);
    if (!c.spare.empty()) {
      v = std::move(c.spare.back());
      c.spare.pop_back();
      return v;
    }
    hint = c.last_records;
  }
  if (hint > 0) v.reserve(hint + hint / 8);
  return v;
}

}  // namespace

void GiveBackRecordBuffer(std::vector<OwnerRecord>* records) {
  std::vector<OwnerRecord> v = std::move(*records);
  records->clear();
  const size_t used = v.size();
  if (v.capacity() == 0) return;
  v.clear();
  ProgramCache& c = Programs();
  Locked lock(&c.mu);
  c.last_records = used;
  if (c.spare.size() < kMaxSpareBuffers && v.capacity() <= 2 * used + 1024) c.spare.push_back(std::move(v));
  // else v is freed as it leaves (after the lock: the destructor runs last)
}

BpfRecords::~BpfRecords() { GiveBackRecordBuffer(&records); }

uint64_t BpfProgramLoads() {
  ProgramCache& c = Programs();
  Locked lock(&c.mu);
  return c.loads;
}

int BpfKeptProgramFd() {
  ProgramCache& c = Programs();
  Locked lock(&c.mu);
  return c.prog_obj ? c.prog_obj->fd : -1;
}

void ReadOwnerRecords(int fd, const char* what, void (*fn)(void*, const OwnerRecord&), void* ctx,
                      const std::atomic<bool>* cancel) {
  // Room for one read and the start of a record the previous read split.
  std::vector<uint8_t> buf(kReadSize + kOwnerRecordSize);
  size_t carry = 0;
  unsigned eagain = 0;
  for (;;) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) throw OwnerSourceError("cancelled");
    const ssize_t n = read(fd, buf.data() + carry, buf.size() - carry);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && ++eagain < kMaxEagainInARow) continue;
      throw SysError("read", errno, what);
    }
    eagain = 0;
    if (n == 0) break;
    const size_t have = carry + static_cast<size_t>(n);
    const size_t used = ForEachOwnerRecord(ByteSpan(buf.data(), have), [&](const OwnerRecord& r) { fn(ctx, r); });
    carry = have - used;
    std::memmove(buf.data(), buf.data() + used, carry);
  }
  // The iterator ended inside a record: never answer with part of the data.
  if (carry != 0) throw SysError("read", EBADMSG, what);
}

void CollectBpfRecords(const OwnerOptions& opts, bool load_only, BpfRecords* out, const std::atomic<bool>* cancel) {
  CheckPidView(opts.proc_root);
  const OwnerProgLayout layout = LayoutFor(opts.btf_path);
  OwnerProgram prog;
  EmitOwnerProgram(layout, &prog);
  const SharedObject prog_obj = ProgramFor(prog, layout.attach_btf_id);
  // Nothing to look for: the load proved this source would answer.
  if (load_only) return;
  if (out->records.capacity() == 0) out->records = TakeRecordBuffer();
  if (opts.pids.empty()) {
    const SharedObject link = AllTasksLink(prog_obj);
    ReadIterator(link->fd, 0, &out->records, cancel);
  } else {
    // A link per named process (the pids differ between calls).
    std::vector<int32_t> pids = opts.pids;
    SortUnique(&pids);
    for (int32_t pid : pids) {
      Fd link = CreateLink(prog_obj->fd, pid);
      ReadIterator(link.get(), pid, &out->records, cancel);
    }
  }
}

void ClaimBpfRecords(InodeTable* table, const BpfRecords& recs, const OwnerOptions& opts, SourceOutput* out) {
  out->complete = true;
  // Which processes were seen and which claimed something: one entry per
  // run of records of one process, sorted once at the end.
  std::vector<int32_t> seen;
  std::vector<int32_t> matched;
  int32_t last_seen = 0, last_matched = 0;
  for (const OwnerRecord& r : recs.records) {
    if (r.tgid != last_seen) {
      seen.push_back(r.tgid);
      last_seen = r.tgid;
    }
    if (InodeTable::Slot* s = table->Find(r.inode)) {
      InodeTable::Claim(s, r.tgid);
      if (r.tgid != last_matched) {
        matched.push_back(r.tgid);
        last_matched = r.tgid;
      }
    }
  }
  SortUnique(&seen);
  SortUnique(&matched);
  for (int32_t pid : matched) {
    ProcessInfo p;
    p.pid = pid;
    out->matched.push_back(std::move(p));
  }
  if (opts.pids.empty()) {
    out->walked = seen.size();
    out->candidates = seen.size();
    return;
  }
  // Named pids: one that showed no socket may not exist; say so as the walk
  // does (ENOENT), so a typo is never silently an empty answer.
  std::vector<int32_t> pids = opts.pids;
  SortUnique(&pids);
  out->candidates = pids.size();
  Fd proc(open(opts.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc.ok()) throw SysError("open", errno, opts.proc_root);
  for (int32_t pid : pids) {
    if (std::binary_search(seen.begin(), seen.end(), pid)) {
      out->walked++;
      continue;
    }
    char name[16];
    snprintf(name, sizeof name, "%d", pid);
    struct stat st;
    const int err = fstatat(proc.get(), name, &st, 0) == 0 ? 0 : errno;
    if (err == ENOENT || err == ESRCH) {
      out->vanished++;
      out->failures.push_back(PidFailure{pid, err});
    } else {
      out->walked++;
    }
  }
}

void RunBpfOwners(InodeTable* table, const OwnerOptions& opts, SourceOutput* out) {
  BpfRecords recs;
  CollectBpfRecords(opts, table->distinct() == 0, &recs);
  ClaimBpfRecords(table, recs, opts, out);
}

}  // namespace tcpcensus
