// inode_table.h: the wanted socket inodes and who owns each, shared by every
// owner source (the /proc walk, the eBPF iterator).
//
// An open-addressing table filled on one thread before the sources run;
// while they run, only the atomic owner and shared fields change, so any
// number of threads can claim at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tcpcensus {

class InodeTable {
 public:
  struct Slot {
    uint64_t inode = 0;  // 0 = empty (inode 0 is never looked up)
    std::atomic<int32_t> owner{0};
    std::atomic<uint8_t> shared{0};
  };

  // inodes: one per socket row; 0 (held by no process) is skipped.
  explicit InodeTable(const std::vector<uint32_t>& inodes) {
    size_t cap = 16;
    while (cap < inodes.size() * 2) cap <<= 1;
    mask_ = cap - 1;
    slots_ = std::vector<Slot>(cap);
    for (uint32_t inode : inodes) {
      if (inode != 0 && Insert(inode)) ++distinct_;
    }
  }

  Slot* Find(uint64_t inode) {
    if (inode == 0) return nullptr;
    for (size_t i = Hash(inode);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.inode == inode) return &s;
      if (s.inode == 0) return nullptr;
    }
  }

  // Records that pid holds the socket in s: the lowest pid wins, a second
  // process marks it shared. Returns true when s had no owner before (the
  // first claim), so callers can count found sockets and stop early.
  static bool Claim(Slot* s, int32_t pid) {
    int32_t cur = s->owner.load(std::memory_order_relaxed);
    for (;;) {
      if (cur == pid) return false;
      if (cur != 0 && cur < pid) break;
      if (s->owner.compare_exchange_weak(cur, pid, std::memory_order_relaxed)) {
        if (cur == 0) return true;
        break;  // replaced a higher pid: shared
      }
    }
    s->shared.store(1, std::memory_order_relaxed);
    return false;
  }

  // Forgets every claim (an owner source that failed half-way leaves them;
  // the next source starts clean). Not while a source runs.
  void ResetClaims() {
    for (Slot& s : slots_) {
      s.owner.store(0, std::memory_order_relaxed);
      s.shared.store(0, std::memory_order_relaxed);
    }
  }

  size_t distinct() const { return distinct_; }
  const std::vector<Slot>& slots() const { return slots_; }

 private:
  size_t Hash(uint64_t inode) const { return static_cast<size_t>((inode * 0x9E3779B97F4A7C15ull) >> 32) & mask_; }
  bool Insert(uint64_t inode) {
    for (size_t i = Hash(inode);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.inode == inode) return false;
      if (s.inode == 0) {
        s.inode = inode;
        return true;
      }
    }
  }

  size_t mask_ = 0;
  size_t distinct_ = 0;
  std::vector<Slot> slots_;
};

}  // namespace tcpcensus
