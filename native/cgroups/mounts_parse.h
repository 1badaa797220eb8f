// mounts_parse.h: the pure parser of /proc/mounts, to find where cgroup2
// is mounted (/sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a
// hybrid one, anywhere in a container) instead of assuming it.
//
// No I/O. Man pages: proc(5) (/proc/mounts, /proc/self/mounts), fstab(5)
// (the fields: source, mount point, type, options, dump, pass). The kernel
// escapes space, tab, newline and backslash in paths as \ooo octal
// (fs/proc_namespace.c, mangle), which is undone here.
#pragma once

#include <string>

#include "../common/bytes.h"

namespace tcpcensus {

// The mount point of the first mount of type fstype ("cgroup2"), unescaped;
// false when there is none. Lines that do not have the fields are skipped.
bool FindMountOfType(ByteSpan mounts, const char* fstype, std::string* mount_point);

// A mount-point field with its \ooo escapes decoded; a backslash not
// followed by three octal digits stays as it is.
std::string UnescapeMountField(ByteSpan field);

}  // namespace tcpcensus
