// proc_names.h: reading a process's names from /proc, for every owner
// source: comm (the short name) and cmdline, only for processes that own a
// socket.
//
// Man pages: proc(5) (/proc/<pid>/comm, /proc/<pid>/cmdline), openat(2),
// read(2).
#pragma once

#include <string>

#include "../common/bytes.h"
#include "owners.h"

namespace tcpcensus {

// Reads a small /proc file relative to dirfd into buf; returns the bytes
// read, or an empty span when it cannot be read (the process may be gone).
ByteSpan ReadSmallFile(int dirfd, const char* path, MutableByteSpan buf);

// Fills p->comm and p->cmdline from an open /proc/<pid> directory; empty
// strings for what cannot be read.
void ReadProcessNames(int pid_dirfd, ProcessInfo* p);

// The same for p->pid under the procfs opened as proc_fd; empty strings
// when the process is gone.
void ReadProcessNamesOf(int proc_fd, ProcessInfo* p);

}  // namespace tcpcensus
