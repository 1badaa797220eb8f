/*
 * floor.c: the "what the kernel allows" reference for the benchmark.
 *
 * It does only the raw work, with no result shaping, on one thread:
 *   floor dump [STATEMASK]  one NETLINK_SOCK_DIAG dump of both families in one walk
 *                           of the kernel's hash tables (TCPDIAG_GETSOCK, which dumps
 *                           with family AF_UNSPEC), counting states
 *   floor walk              one /proc/<pid>/fd walk with readlinkat, counting socket links
 *   floor join              dump CLOSE_WAIT inodes into a hash set, then the walk,
 *                           counting sockets per owning pid (the top-processes job)
 *   floor run CMD ARGS...   runs a command, prints its wall time and peak RSS
 * Each job prints one JSON line with its own elapsed time ("ms"), so process
 * start-up is not part of the floor.
 *
 * Man pages: sock_diag(7), netlink(7), proc(5), getdents64(2), readlinkat(2),
 * wait4(2).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* ---- netlink dump ---- */

typedef void (*visit_fn)(const struct inet_diag_msg *m, void *ctx);

static void dump_family(int family, uint32_t states, visit_fn visit, void *ctx) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) die("socket");
  int sz = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  /* AF_UNSPEC: both families in one walk, through the older request. */
  struct {
    struct nlmsghdr nlh;
    union {
      struct inet_diag_req_v2 v2;
      struct inet_diag_req compat;
    } r;
  } req;
  memset(&req, 0, sizeof req);
  req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  if (family == AF_UNSPEC) {
    req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof req.r.compat);
    req.nlh.nlmsg_type = TCPDIAG_GETSOCK;
    req.r.compat.idiag_states = states;
  } else {
    req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof req.r.v2);
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.r.v2.sdiag_family = family;
    req.r.v2.sdiag_protocol = IPPROTO_TCP;
    req.r.v2.idiag_states = states;
  }
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (sendto(fd, &req, req.nlh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) die("sendto");
  static char buf[65536];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recv");
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) {
        close(fd);
        return;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        errno = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
        die("sock_diag");
      }
      visit((const struct inet_diag_msg *)NLMSG_DATA(h), ctx);
    }
  }
}

static void count_visit(const struct inet_diag_msg *m, void *ctx) {
  ((uint64_t *)ctx)[m->idiag_state & 15]++;
}

/* ---- inode set (open addressing, inode -> count slot) ---- */

typedef struct {
  uint32_t *keys;
  int32_t *pid;
  size_t mask, n;
} set_t;

static void set_init(set_t *s, size_t cap) {
  size_t c = 16;
  while (c < cap * 2) c <<= 1;
  s->keys = calloc(c, sizeof *s->keys);
  s->pid = calloc(c, sizeof *s->pid);
  s->mask = c - 1;
  s->n = 0;
}
static size_t set_slot(set_t *s, uint32_t k) {
  size_t i = ((uint64_t)k * 0x9E3779B97F4A7C15ull >> 32) & s->mask;
  while (s->keys[i] && s->keys[i] != k) i = (i + 1) & s->mask;
  return i;
}

typedef struct {
  uint32_t *inodes;
  size_t n, cap;
} vec_t;

static void collect_visit(const struct inet_diag_msg *m, void *ctx) {
  vec_t *v = ctx;
  if (v->n == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 4096;
    v->inodes = realloc(v->inodes, v->cap * sizeof *v->inodes);
  }
  v->inodes[v->n++] = m->idiag_inode;
}

/* ---- /proc walk ---- */

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Calls found(pid, inode) for every socket link; returns links read. */
static uint64_t walk(set_t *set, uint64_t *owned) {
  static char pbuf[1 << 16], fbuf[1 << 16];
  int proc = open("/proc", O_RDONLY | O_DIRECTORY);
  if (proc < 0) die("open /proc");
  uint64_t links = 0;
  long n;
  while ((n = syscall(SYS_getdents64, proc, pbuf, sizeof pbuf)) > 0) {
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (void *)(pbuf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '1' || d->d_name[0] > '9') continue;
      int pid = atoi(d->d_name);
      char path[64];
      snprintf(path, sizeof path, "%d/fd", pid);
      int dfd = openat(proc, path, O_RDONLY | O_DIRECTORY);
      if (dfd < 0) continue;
      long m;
      while ((m = syscall(SYS_getdents64, dfd, fbuf, sizeof fbuf)) > 0) {
        for (long o = 0; o < m;) {
          struct linux_dirent64 *e = (void *)(fbuf + o);
          o += e->d_reclen;
          if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
          char link[64];
          ssize_t l = readlinkat(dfd, e->d_name, link, sizeof link);
          links++;
          if (l < 10 || memcmp(link, "socket:[", 8) != 0) continue;
          uint32_t ino = (uint32_t)strtoul(link + 8, NULL, 10);
          if (set) {
            size_t i = set_slot(set, ino);
            if (set->keys[i] == ino && set->pid[i] == 0) {
              set->pid[i] = pid;
              (*owned)++;
            }
          } else {
            (*owned)++;
          }
        }
      }
      close(dfd);
    }
  }
  close(proc);
  return links;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: floor dump [MASK] | walk | join | run CMD...\n");
    return 2;
  }
  if (!strcmp(argv[1], "dump")) {
    uint32_t mask = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 0xFFFu & ~(1u << 7);
    uint64_t counts[16] = {0};
    double t = now_ms();
    dump_family(AF_UNSPEC, mask, count_visit, counts);
    double ms = now_ms() - t;
    uint64_t total = 0;
    for (int i = 0; i < 16; i++) total += counts[i];
    printf("{\"ms\":%.2f,\"total\":%llu,\"closeWait\":%llu}\n", ms, (unsigned long long)total,
           (unsigned long long)counts[8]);
    return 0;
  }
  if (!strcmp(argv[1], "walk")) {
    uint64_t sockets = 0;
    double t = now_ms();
    uint64_t links = walk(NULL, &sockets);
    printf("{\"ms\":%.2f,\"links\":%llu,\"sockets\":%llu}\n", now_ms() - t, (unsigned long long)links,
           (unsigned long long)sockets);
    return 0;
  }
  if (!strcmp(argv[1], "join")) {
    double t = now_ms();
    vec_t v = {0};
    dump_family(AF_UNSPEC, 1u << 8, collect_visit, &v);
    set_t s;
    set_init(&s, v.n);
    for (size_t i = 0; i < v.n; i++)
      if (v.inodes[i]) s.keys[set_slot(&s, v.inodes[i])] = v.inodes[i];
    uint64_t owned = 0;
    walk(&s, &owned);
    printf("{\"ms\":%.2f,\"closeWait\":%zu,\"owned\":%llu}\n", now_ms() - t, v.n, (unsigned long long)owned);
    return 0;
  }
  if (!strcmp(argv[1], "run") && argc > 2) {
    double t = now_ms();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      execvp(argv[2], argv + 2);
      _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) die("wait4");
    printf("{\"ms\":%.2f,\"maxRssKb\":%ld,\"exit\":%d}\n", now_ms() - t, ru.ru_maxrss,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
  }
  fprintf(stderr, "floor: unknown job %s\n", argv[1]);
  return 2;
}
