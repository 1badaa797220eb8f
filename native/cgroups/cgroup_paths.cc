// cgroup_paths.cc: see cgroup_paths.h.
//
// Man pages: cgroups(7), openat(2), fstat(2), getdents64(2). The walk is
// depth-first with one open directory per level (the tree is shallow: a
// few levels under systemd, about six for a Kubernetes pod's container).
#include "cgroup_paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "../common/bytes.h"
#include "../common/fd.h"
#include "../common/read_dir.h"
#include "../common/sys_error.h"
#include "mounts_parse.h"

namespace tcpcensus {

namespace {

constexpr size_t kDirentBuffer = 32 * 1024;
constexpr size_t kMountsMax = 4 * 1024 * 1024;  // a /proc/mounts larger than this is not plausible
constexpr int kMaxDepth = 64;                   // deeper cgroups are not walked

std::string ReadMounts(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) throw SysError("open", errno, path);
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("read", errno, path);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMountsMax) throw SysError("read", EFBIG, path);
  }
  return text;
}

class Walker {
 public:
  Walker(const std::vector<uint64_t>& wanted, CgroupPaths* out)
      : wanted_(wanted), found_(wanted.size(), false), out_(out), buf_(kDirentBuffer) {}

  // Records id at path when it is wanted (or everything is); true when the
  // walk can stop.
  bool Offer(uint64_t id, const std::string& path) {
    if (wanted_.empty()) {
      found_paths_.emplace_back(id, path);
      return false;
    }
    auto it = std::lower_bound(wanted_.begin(), wanted_.end(), id);
    if (it == wanted_.end() || *it != id) return false;
    const size_t i = static_cast<size_t>(it - wanted_.begin());
    if (!found_[i]) {
      found_[i] = true;
      found_paths_.emplace_back(id, path);
      ++nfound_;
    }
    return nfound_ == wanted_.size();
  }

  // Walks the children of dirfd (whose path is `path`). Returns true when
  // the walk can stop.
  bool Walk(int dirfd, const std::string& path, int depth) {
    if (depth >= kMaxDepth) {
      truncated_ = true;
      return false;
    }
    // Names first, then descend: the buffer is shared by every level.
    std::vector<std::pair<std::string, uint64_t>> children;
    const int err = ReadDir(dirfd, MutableByteSpan(buf_), [&](const DirEntry& e) {
      if (e.type == DT_DIR || e.type == DT_UNKNOWN) {
        if (!(e.len == 1 && e.name[0] == '.') && !(e.len == 2 && e.name[0] == '.' && e.name[1] == '.')) {
          children.emplace_back(std::string(e.name, e.len), e.ino);
        }
      }
      return true;
    });
    if (err != 0) {
      if (err == ENOENT) return false;  // removed meanwhile
      throw SysError("getdents64", err, out_->mount + path);
    }
    for (const auto& child : children) {
      const std::string child_path = (path == "/" ? "/" : path + "/") + child.first;
      Fd sub(openat(dirfd, child.first.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!sub.ok()) {
        if (errno == EACCES || errno == EPERM) out_->unreadable++;
        continue;  // ENOTDIR (a DT_UNKNOWN file), ENOENT (removed): not a cgroup
      }
      if (Offer(child.second, child_path)) return true;
      if (Walk(sub.get(), child_path, depth + 1)) return true;
    }
    return false;
  }

  void Finish(bool stopped) {
    std::sort(found_paths_.begin(), found_paths_.end());
    for (auto& p : found_paths_) {
      out_->ids.push_back(p.first);
      out_->paths.push_back(std::move(p.second));
    }
    out_->complete = wanted_.empty() ? !truncated_ : stopped;
  }

 private:
  const std::vector<uint64_t>& wanted_;
  std::vector<bool> found_;
  size_t nfound_ = 0;
  bool truncated_ = false;
  CgroupPaths* out_;
  std::vector<uint8_t> buf_;
  std::vector<std::pair<uint64_t, std::string>> found_paths_;
};

}  // namespace

void FindCgroupPaths(const CgroupPathsRequest& req, CgroupPaths* out) {
  out->mount = req.mount;
  if (out->mount.empty()) {
    const std::string mounts = ReadMounts(req.mounts_file);
    if (!FindMountOfType(ByteSpan(mounts), "cgroup2", &out->mount)) {
      throw UnsupportedError("no cgroup2 filesystem is mounted (none in " + req.mounts_file +
                             "): cgroup ids cannot be named");
    }
  }
  std::vector<uint64_t> wanted = req.ids;
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  wanted.erase(std::remove(wanted.begin(), wanted.end(), uint64_t{0}), wanted.end());  // 0 = unknown

  if (!req.ids.empty() && wanted.empty()) {  // only 0s (unknown) asked for: nothing to name
    out->complete = true;
    return;
  }

  Fd root(open(out->mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.ok()) throw SysError("open", errno, out->mount);
  struct stat st;
  if (fstat(root.get(), &st) != 0) throw SysError("fstat", errno, out->mount);
  Walker walker(wanted, out);
  const bool stopped = walker.Offer(static_cast<uint64_t>(st.st_ino), "/") || walker.Walk(root.get(), "/", 0);
  walker.Finish(stopped);
}

}  // namespace tcpcensus
