// kernel_write.h: let AddressSanitizer check a buffer handed to a raw syscall.
//
// ASan checks buffers given to the libc functions it intercepts, but not one
// handed to the kernel through syscall(2) (getdents64, bpf iterator reads):
// a size larger than the buffer lets the kernel write past it, which
// corrupts the heap silently under ASan and shows up later as a glibc abort.
// CheckKernelBuffer asks ASan, in sanitizer builds only, whether all `size`
// bytes the kernel may write are ours, and reports an overflow before the
// call otherwise; elsewhere it is nothing.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define TCPCENSUS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TCPCENSUS_ASAN 1
#endif
#endif

#ifdef TCPCENSUS_ASAN
// compiler-rt's syscall hook (sanitizer/linux_syscall_hooks.h, which gcc
// does not ship): before read(2) into buf, it checks [buf, buf + count) is
// writable memory.
extern "C" void __sanitizer_syscall_pre_impl_read(long fd, long buf, long count);
#endif

namespace tcpcensus {

inline void CheckKernelBuffer(const void* buf, size_t size) {
#ifdef TCPCENSUS_ASAN
  if (size > 0) __sanitizer_syscall_pre_impl_read(-1, reinterpret_cast<long>(buf), static_cast<long>(size));
#else
  (void)buf;
  (void)size;
#endif
}

}  // namespace tcpcensus
