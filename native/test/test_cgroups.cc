// test_cgroups.cc: the /proc/mounts parser and the cgroup2 walk (cgroups/),
// on made-up mount tables, on a directory tree of our own (the walk only
// needs directories and their inodes), and on this machine's cgroup2 mount.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "../cgroups/cgroup_paths.h"
#include "../cgroups/mounts_parse.h"
#include "../common/sys_error.h"
#include "check.h"

using namespace tcpcensus;

namespace {
ByteSpan Text(const std::string& s) { return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

uint64_t Ino(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}
}  // namespace

TEST(mounts_find_cgroup2) {
  std::string m;
  const std::string hybrid =
      "sysfs /sys sysfs rw,nosuid 0 0\n"
      "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n"
      "cgroup2 /elsewhere cgroup2 rw 0 0\n";
  CHECK(FindMountOfType(Text(hybrid), "cgroup2", &m));
  CHECK_EQ(m, std::string("/sys/fs/cgroup/unified"));
  CHECK(FindMountOfType(Text("none /my\\040cgroups\\134x cgroup2 rw 0 0"), "cgroup2", &m));
  CHECK_EQ(m, std::string("/my cgroups\\x"));
  CHECK(!FindMountOfType(Text("cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n"), "cgroup2", &m));
  CHECK(!FindMountOfType(Text("cgroup2\n\n   \ncgroup2 /x\n x cgroup2x rw\n"), "cgroup2", &m));
  CHECK(!FindMountOfType(ByteSpan(), "cgroup2", &m));
  CHECK(FindMountOfType(Text("a /last cgroup2"), "cgroup2", &m));  // no newline, no options
  CHECK_EQ(m, std::string("/last"));
  CHECK_EQ(UnescapeMountField(Text("\\0")), std::string("\\0"));      // too short: kept
  CHECK_EQ(UnescapeMountField(Text("\\777")), std::string("\\777"));  // above 255: kept
  CHECK_EQ(UnescapeMountField(Text("a\\011b\\012")), std::string("a\tb\n"));
  CHECK_EQ(UnescapeMountField(Text("\\08a")), std::string("\\08a"));  // 8 is not octal
}

TEST(cgroup_walk_on_a_tree_of_our_own) {
  char tmpl[] = "/tmp/tcpcensus-cgtest-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  const std::vector<std::string> dirs = {"/a", "/a/b.slice", "/a/b.slice/c.service", "/d", "/d/e"};
  for (const auto& d : dirs) CHECK(mkdir((root + d).c_str(), 0755) == 0);
  // A file is not a cgroup.
  close(open((root + "/a/cgroup.procs").c_str(), O_CREAT | O_WRONLY, 0644));

  CgroupPathsRequest req;
  req.mount = root;
  req.ids = {Ino(root + "/a/b.slice/c.service"), Ino(root + "/d"), 0};
  CgroupPaths out;
  FindCgroupPaths(req, &out);
  CHECK(out.complete);
  CHECK_EQ(out.mount, root);
  CHECK_EQ(out.ids.size(), size_t{2});
  for (size_t i = 0; i < out.ids.size(); ++i) {
    CHECK(out.paths[i] == "/a/b.slice/c.service" || out.paths[i] == "/d");
    CHECK_EQ(out.ids[i], Ino(root + out.paths[i]));
  }
  if (out.ids.size() == 2) CHECK(out.ids[0] < out.ids[1]);

  CgroupPathsRequest everything;
  everything.mount = root;
  CgroupPaths all;
  FindCgroupPaths(everything, &all);
  CHECK(all.complete);
  CHECK_EQ(all.paths.size(), dirs.size() + 1);  // and "/"
  bool root_seen = false;
  for (size_t i = 0; i < all.paths.size(); ++i) {
    root_seen = root_seen || (all.paths[i] == "/" && all.ids[i] == Ino(root));
  }
  CHECK(root_seen);

  CgroupPathsRequest missing;
  missing.mount = root;
  missing.ids = {Ino(root + "/d/e"), 1234567890123ull};
  CgroupPaths some;
  FindCgroupPaths(missing, &some);
  CHECK(!some.complete);
  CHECK_EQ(some.paths.size(), size_t{1});

  CgroupPathsRequest zeros;
  zeros.mount = root;
  zeros.ids = {0, 0};
  CgroupPaths nothing;
  FindCgroupPaths(zeros, &nothing);
  CHECK(nothing.complete);
  CHECK(nothing.ids.empty());

  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) rmdir((root + *it).c_str());
  unlink((root + "/a/cgroup.procs").c_str());
  rmdir((root + "/a").c_str());
  CHECK(rmdir(root.c_str()) == 0);

  CgroupPathsRequest gone;
  gone.mount = root;
  CgroupPaths g;
  CHECK_THROWS(SysError, FindCgroupPaths(gone, &g), [](const SysError& e) { return e.err() == ENOENT; });
}

TEST(cgroup_walk_of_this_machine) {
  CgroupPathsRequest req;
  req.ids = {1};  // the root cgroup's id
  CgroupPaths out;
  try {
    FindCgroupPaths(req, &out);
  } catch (const UnsupportedError&) {
    std::printf("# skipped: no cgroup2 mount here\n");
    return;
  }
  CHECK(!out.mount.empty());
  CHECK_EQ(out.ids.size(), size_t{1});
  if (!out.paths.empty()) CHECK_EQ(out.paths[0], std::string("/"));
  CHECK_EQ(Ino(out.mount), uint64_t{1});

  char tmpl[] = "/tmp/tcpcensus-mounts-XXXXXX";
  const int fd = mkstemp(tmpl);
  CHECK(write(fd, "proc /proc proc rw 0 0\n", 23) == 23);
  close(fd);
  CgroupPathsRequest nocg;
  nocg.mounts_file = tmpl;
  CgroupPaths n;
  CHECK_THROWS(UnsupportedError, FindCgroupPaths(nocg, &n),
               [](const UnsupportedError& e) { return std::string(e.what()).find("no cgroup2") != std::string::npos; });
  unlink(tmpl);
}
