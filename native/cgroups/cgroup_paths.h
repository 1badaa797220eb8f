// cgroup_paths.h: cgroup v2 ids (what sock_diag's INET_DIAG_CGROUP_ID
// carries) to cgroup paths, by one walk of the cgroup2 mount.
//
// Plain C++ with no N-API inside. Man pages: cgroups(7) (cgroup v2, the
// unified hierarchy), proc(5) (/proc/mounts), getdents64(2), stat(2).
// A cgroup's id is the inode number of its directory on cgroup2 (kernfs
// hands out the node id as the inode on 64-bit kernels), so getdents64's
// d_ino names every child without a stat. Paths are relative to the mount,
// with a leading '/', as /proc/PID/cgroup's "0::" line and `ss --cgroup`
// print them ("/" is the root cgroup). Directories are world-readable, so
// this works without privileges.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tcpcensus {

struct CgroupPathsRequest {
  // The ids to name; empty = every cgroup. The walk stops once all are
  // found.
  std::vector<uint64_t> ids;
  // Where cgroup2 is mounted; "" = the first cgroup2 line of mounts_file.
  std::string mount;
  std::string mounts_file = "/proc/mounts";
};

struct CgroupPaths {
  std::string mount;               // the cgroup2 mount walked
  std::vector<uint64_t> ids;       // found ids, ascending
  std::vector<std::string> paths;  // paths[i] is the cgroup of ids[i]
  uint64_t unreadable = 0;         // directories that could not be opened (EACCES)
  bool complete = false;           // every wanted id found (or, with none wanted, the whole tree walked)
};

// Throws UnsupportedError when no cgroup2 filesystem is mounted, SysError
// when the mount cannot be read.
void FindCgroupPaths(const CgroupPathsRequest& req, CgroupPaths* out);

}  // namespace tcpcensus
