// proc_parse.h: pure parsers for what tcpcensus reads from /proc: the
// owner sources (pids, fd links, comm, cmdline, stat), the network
// namespace list (pids) and every directory read (getdents64 records, for
// read_dir.h).
//
// No I/O here, so each can be unit-tested and fuzzed alone. Man pages:
// getdents64(2) (struct linux_dirent64), proc(5) (/proc/<pid>/fd links
// "socket:[<inode>]", comm, cmdline, stat field 22 starttime).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bytes.h"

namespace tcpcensus {

// One directory entry as getdents64 returns it: the name is not
// NUL-terminated in this view (len says where it ends).
struct DirEntry {
  const char* name;
  size_t len;
  uint8_t type;  // DT_* or DT_UNKNOWN
  uint64_t ino;  // d_ino (on cgroup2, a directory's is its cgroup id)
};

// struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type;
// char d_name[]; }: the name starts at byte 19.
constexpr size_t kDirentNameOffset = 19;

// Calls fn(const DirEntry&) for each record of a getdents64 result; fn
// returns false to stop. Returns false when the bytes are not well-formed
// records (a reclen that is too small or runs past the end, a name with no
// NUL inside its record): the caller treats that as an error, never reads
// on.
template <typename Fn>
bool ForEachDirent(ByteSpan buf, Fn&& fn) {
  size_t off = 0;
  while (off < buf.size()) {
    uint64_t ino;
    uint16_t reclen;
    uint8_t type;
    if (!buf.ReadAt(off, &ino) || !buf.ReadAt(off + 16, &reclen) || !buf.ReadAt(off + 18, &type)) return false;
    if (reclen <= kDirentNameOffset || !buf.Holds(off, reclen)) return false;
    const char* name = reinterpret_cast<const char*>(buf.data() + off + kDirentNameOffset);
    const size_t room = reclen - kDirentNameOffset;
    size_t len = 0;
    while (len < room && name[len] != '\0') ++len;
    if (len == room) return false;  // no NUL inside the record
    off += reclen;
    if (!fn(DirEntry{name, len, type, ino})) return true;
  }
  return true;
}

// A decimal pid with no sign, no leading zero, 1..INT32_MAX; false otherwise.
bool ParsePid(const char* s, size_t len, int32_t* pid);

// An fd number as /proc/<pid>/fd lists it: decimal, no sign, "0" or no
// leading zero, 0..INT32_MAX; false otherwise.
bool ParseFd(const char* s, size_t len, int32_t* fd);

// The inode of a "socket:[12345]" link text; 0 for anything else (a file,
// a pipe, an anon inode, a malformed or overlong number).
uint64_t ParseSocketLink(ByteSpan link);

// /proc/<pid>/comm as read: the name without its trailing newline.
std::string CommFromBytes(ByteSpan bytes);

// /proc/<pid>/cmdline as read: arguments joined by spaces, trailing NULs
// dropped.
std::string CmdlineFromBytes(ByteSpan bytes);

// Field 22 (starttime, clock ticks since boot) of /proc/<pid>/stat. The
// command (field 2) is in parentheses and may itself hold spaces and ')', so
// fields are counted from the last ')'. Returns false when absent or
// malformed.
bool ParseStatStartTime(ByteSpan stat, uint64_t* start);

}  // namespace tcpcensus
