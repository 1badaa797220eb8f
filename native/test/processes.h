// processes.h: real processes and sockets for the owner tests: a listener,
// its inode, and children holding sockets in the shapes the owner sources
// must agree on (a leaderless process, a forked sharer, a thread with its
// own fd table). Every child dies with the test (PR_SET_PDEATHSIG).
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tcpcensus_test {

inline int Listener(uint16_t* port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(s, 1) < 0) return -1;
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return s;
}

inline int Listener() {
  uint16_t port;
  return Listener(&port);
}

inline uint32_t InodeOf(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? static_cast<uint32_t>(st.st_ino) : 0;
}

inline void* Park(void*) {
  for (;;) pause();
  return nullptr;
}

inline int FdCount(pid_t pid) {
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  int count = 0;
  if (DIR* d = opendir(fd_dir.c_str())) {
    while (dirent* e = readdir(d)) count += e->d_name[0] != '.';
    closedir(d);
  }
  return count;
}

inline bool StartThread(void* (*fn)(void*), void* arg) {
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  const bool ok = pthread_create(&t, &attr, fn, arg) == 0;
  pthread_attr_destroy(&attr);
  return ok;
}

// Reads exactly n bytes (a pipe may hand them over in pieces).
inline bool ReadFull(int fd, void* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, static_cast<uint8_t*>(buf) + got, n - got);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// A child process that reports a few numbers through a pipe once it is set
// up, then holds still until killed.
struct Child {
  pid_t pid = -1;
  std::vector<uint32_t> values;  // what it reported
};

// Forks; the child runs setup(write_fd), which writes uint32 values to
// write_fd and closes it when done (or _exits on failure). The parent reads
// `count` values.
template <typename Setup>
Child StartChild(size_t count, Setup setup) {
  Child c;
  int pipefd[2];
  if (pipe(pipefd) != 0) return c;
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the test, even when a sanitizer aborts it
    close(pipefd[0]);
    setup(pipefd[1]);
    for (;;) pause();
  }
  close(pipefd[1]);
  c.values.resize(count);
  const bool ok = ReadFull(pipefd[0], c.values.data(), count * sizeof(uint32_t));
  close(pipefd[0]);
  if (!ok) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return Child();
  }
  c.pid = pid;
  return c;
}

inline void Send(int fd, uint32_t v) {
  if (write(fd, &v, sizeof v) != sizeof v) _exit(4);
}

// Forks a child that holds a listener, starts `threads` threads and ends
// its main thread. Returns the child's pid and the listener's inode once
// /proc/<pid>/fd reads empty (the leader is gone).
inline pid_t StartLeaderless(int threads, uint32_t* inode) {
  Child c = StartChild(1, [threads](int out) {
    int s = Listener();
    for (int i = 0; i < threads; ++i) {
      if (!StartThread(Park, nullptr)) _exit(3);
    }
    Send(out, InodeOf(s));
    close(out);
    pthread_exit(nullptr);
  });
  if (c.pid < 0) return -1;
  *inode = c.values[0];
  for (int i = 0; i < 500; ++i) {
    if (FdCount(c.pid) == 0) return c.pid;
    usleep(10000);
  }
  return -1;
}

inline void Stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
}

// Runs body in a forked child and returns what it reported (the string it
// returns, sent back over a pipe) with the child's exit status: for checks
// that change the process itself (setuid), which the test must not undergo.
// body may _exit early with a code of its own; the caller checks status.
template <typename Body>
std::string ReportFromChild(Body body, int* status) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    const std::string report = body();
    if (write(pipefd[1], report.data(), report.size()) != static_cast<ssize_t>(report.size())) _exit(3);
    _exit(0);
  }
  close(pipefd[1]);
  std::string got;
  char buf[512];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  *status = 0;
  waitpid(pid, status, 0);
  return got;
}

}  // namespace tcpcensus_test
