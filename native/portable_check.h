// portable_check.h: forced in front of every native source by
// check_portable.sh (-include). It pulls in the libc and C++ headers first,
// then poisons the glibc-only interfaces (newer than glibc 2.28, or absent
// from musl), so a use of one in our code is a compile error. The headers
// themselves were read before the poison, so their own declarations pass.
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// glibc 2.32: strerrorname_np and friends; 2.30: gettid, the getdents64
// wrapper, tgkill; 2.34: close_range, closefrom; 2.36: pidfd_*; GNU only:
// sched_getaffinity's wrapper under _GNU_SOURCE (musl has it, glibc 2.28 has
// it too, but CPU_COUNT differs), strchrnul, mempcpy, get_current_dir_name.
#pragma GCC poison strerrorname_np strerrordesc_np sigabbrev_np sigdescr_np
#pragma GCC poison gettid getdents64 tgkill close_range closefrom
#pragma GCC poison pidfd_open pidfd_getfd pidfd_send_signal
#pragma GCC poison strchrnul mempcpy get_current_dir_name
