// proc_walk.h: the owner source that walks /proc/<pid>/fd.
//
// Plain C++ with no N-API inside. Man pages: proc(5) (/proc/<pid>/fd links
// read "socket:[<inode>]", /proc/<pid>/task/<tid>/fd, comm, cmdline, stat),
// getdents64(2), readlinkat(2), openat(2).
//
// The walk runs on several threads that take pids in ascending order (after
// OwnerOptions::first_pids, and after reading OwnerOptions::probes) from a
// shared counter and claim into one InodeTable; it stops as soon as every
// wanted inode has an owner.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../inode_table.h"
#include "../owners.h"
#include "../source.h"

namespace tcpcensus {

// Walks the processes of opts (every pid under opts.proc_root, or opts.pids)
// and claims the sockets each holds in *table. Throws SysError naming the
// path when proc_root cannot be listed.
void WalkProc(InodeTable* table, const OwnerOptions& opts, SourceOutput* out);

}  // namespace tcpcensus
