// proc_names.h: reading who a process is from /proc, for every owner
// source: comm (the short name), cmdline and start time, only for processes
// that own a socket; and start times alone, for a caller checking that a pid
// still names the process it knew.
//
// Man pages: proc(5) (/proc/<pid>/comm, /proc/<pid>/cmdline, /proc/<pid>/stat
// field 22), openat(2), read(2).
#pragma once

#include <string>
#include <vector>

#include "../common/bytes.h"
#include "owners.h"

namespace tcpcensus {

// Reads a small /proc file relative to dirfd into buf; returns the bytes
// read, or an empty span when it cannot be read (the process may be gone).
ByteSpan ReadSmallFile(int dirfd, const char* path, MutableByteSpan buf);

// Fills p->comm, p->cmdline and p->start_time from an open /proc/<pid>
// directory; empty strings and 0 for what cannot be read.
void ReadProcessNames(int pid_dirfd, ProcessInfo* p);

// The same for p->pid under the procfs opened as proc_fd; empty strings
// when the process is gone.
void ReadProcessNamesOf(int proc_fd, ProcessInfo* p);

// Start times (field 22 of /proc/<pid>/stat) of pids under proc_root, 0 for
// a pid that is gone. Throws SysError when proc_root cannot be opened.
void ReadStartTimes(const std::string& proc_root, const std::vector<int32_t>& pids, std::vector<uint64_t>* out);

}  // namespace tcpcensus
