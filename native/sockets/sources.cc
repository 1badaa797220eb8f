// sources.cc: see sources.h.
//
// Man pages: sock_diag(7), proc(5), setns(2), pthreads(7). Each family's
// rows go to a sink of their own (two threads), and the caller's output is
// only touched once both dumps succeeded, so a source that fails part-way
// (or a netlink refusal before falling back) leaves nothing behind.
#include "sources.h"

#include <sys/socket.h>

#include <exception>
#include <system_error>
#include <thread>

#include "../common/sys_error.h"
#include "netns.h"
#include "procnet.h"
#include "sock_diag.h"

namespace tcpcensus {

namespace {

// Tallies every row by family and state, and those no process holds. Rows
// are filed by their own family: a one-walk dump (AF_UNSPEC) sends both
// families to one sink.
class CountSink : public DiagSink {
 public:
  void OnSocket(const SocketRecord& r) override {
    (r.family == 6 ? tally.counts.ipv6 : tally.counts.ipv4)[r.state]++;
    if (r.inode == 0) tally.unowned[r.state]++;
  }
  DumpTally tally;
};

// Adds the tallies of both families' sinks to *out.
void AddTallies(const CountSink& v4, const CountSink& v6, DumpTally* out) {
  for (size_t i = 0; i < kStateSlots; ++i) {
    for (const CountSink* s : {&v4, &v6}) {
      out->counts.ipv4[i] += s->tally.counts.ipv4[i];
      out->counts.ipv6[i] += s->tally.counts.ipv6[i];
      out->unowned[i] += s->tally.unowned[i];
    }
  }
}

[[noreturn]] void TooMany(size_t max_rows) {
  throw LimitError("more than " + std::to_string(max_rows) + (max_rows == 1 ? " socket matches" : " sockets match") +
                   " (maxSockets); narrow the states or filters, or raise the bound");
}

// Tallies every row (CountSink) and keeps those in the request's states.
class TableSink : public CountSink {
 public:
  explicit TableSink(const DumpRequest& req) : max_rows_(req.max_rows), keep_(req.keep_states) {}
  void OnSocket(const SocketRecord& r) override {
    CountSink::OnSocket(r);
    if (keep_ != 0 && !((keep_ >> r.state) & 1u)) return;
    if (max_rows_ != 0 && table.size() >= max_rows_) TooMany(max_rows_);
    table.Append(r);
  }
  void OnNoCgroupId() override { no_cgroup = true; }
  SocketTable table;
  bool no_cgroup = false;

 private:
  size_t max_rows_;
  uint32_t keep_;
};

using DumpFamilyFn = void (*)(int, const DumpRequest&, DiagSink*);

// Runs the families' dumps. With both, netlink walks the kernel's hash tables
// once for both (AF_UNSPEC, sock_diag.h), so every row goes to v4's sink
// (sinks file rows by their own family); that leaves the second core to the
// eBPF owner iterator, which runs meanwhile. Where the kernel lacks that
// request, and for the procfs source (two files), the IPv6 dump runs on a
// second thread (started from this thread, so it shares this thread's
// namespace).
void BothFamilies(DumpFamilyFn dump, const DumpRequest& req, DiagSink* v4, DiagSink* v6) {
  const bool want4 = req.families & kFamilyIPv4;
  const bool want6 = req.families & kFamilyIPv6;
  if (!(want4 && want6)) {
    dump(want4 ? AF_INET : AF_INET6, req, want4 ? v4 : v6);
    return;
  }
  if (dump == &NetlinkDumpFamily) {
    try {
      dump(AF_UNSPEC, req, v4);
      return;
    } catch (const OneWalkUnsupported&) {
      // It failed before any row reached v4: the families one by one.
    }
  }
  std::exception_ptr v6_error;
  std::thread helper;
  try {
    helper = std::thread([&] {
      try {
        dump(AF_INET6, req, v6);
      } catch (...) {
        v6_error = std::current_exception();
      }
    });
  } catch (const std::system_error& e) {
    throw SysError("pthread_create", e.code().value());
  }
  std::exception_ptr v4_error;
  try {
    dump(AF_INET, req, v4);
  } catch (...) {
    v4_error = std::current_exception();
  }
  helper.join();
  // A refusal wins over other errors: it is what decides a fallback.
  for (const std::exception_ptr& e : {v4_error, v6_error}) {
    if (!e) continue;
    try {
      std::rethrow_exception(e);
    } catch (const NetlinkRefused&) {
      throw;
    } catch (...) {
    }
  }
  if (v4_error) std::rethrow_exception(v4_error);
  if (v6_error) std::rethrow_exception(v6_error);
}

// Runs `run(dump)` with the netlink source, or the procfs one, as the
// request says; fills info. `run` must leave its output untouched when it
// throws.
template <typename Run>
void FromSource(const DumpRequest& req, DumpInfo* info, Run&& run) {
  auto answer = [&] {
    info->netns_inode = CurrentNetnsInode();
    if (req.source != Source::kProcfs) {
      try {
        run(&NetlinkDumpFamily);
        info->source = Source::kNetlink;
        return;
      } catch (const NetlinkRefused& e) {
        if (req.source == Source::kNetlink) throw;
        info->fallback = e.what();
      }
    }
    try {
      CheckProcfsRequest(req);
    } catch (const UnsupportedError& e) {
      if (info->fallback.empty()) throw;
      throw UnsupportedError(std::string(e.what()) + " (NETLINK_SOCK_DIAG was refused: " + info->fallback + ")");
    }
    run(&ProcfsDumpFamily);
    info->source = Source::kProcfs;
  };
  if (req.netns.empty()) {
    answer();
  } else {
    RunInNetns(req.netns, answer);
  }
}

bool Asks(const DumpRequest& req, uint8_t state) { return (req.states & (1u << state)) != 0; }

}  // namespace

void CountStates(const DumpRequest& req, StateCounts* out, DumpInfo* info) {
  DumpInfo local;
  DumpInfo* di = info ? info : &local;
  CountSink v4, v6;
  FromSource(req, di, [&](DumpFamilyFn dump) {
    CountSink a, b;
    BothFamilies(dump, req, &a, &b);
    v4 = a;
    v6 = b;
  });
  if (di->source == Source::kProcfs && Asks(req, kClose)) di->missing |= kMissingBoundInactive;
  DumpTally sum;
  AddTallies(v4, v6, &sum);
  for (size_t i = 0; i < kStateSlots; ++i) {
    out->ipv4[i] += sum.counts.ipv4[i];
    out->ipv6[i] += sum.counts.ipv6[i];
  }
}

void DumpSockets(const DumpRequest& req, SocketTable* out, DumpInfo* info, DumpTally* tally) {
  DumpInfo local;
  DumpInfo* di = info ? info : &local;
  TableSink v4(req), v6(req);
  FromSource(req, di, [&](DumpFamilyFn dump) {
    TableSink a(req), b(req);
    BothFamilies(dump, req, &a, &b);
    v4 = std::move(a);
    v6 = std::move(b);
  });
  if (di->source == Source::kProcfs) {
    di->missing |= kMissingCgroupId | kMissingCookie | kMissingIfindex;
    if (Asks(req, kClose)) di->missing |= kMissingBoundInactive;
    if (Asks(req, kListen)) di->missing |= kMissingListenBacklog;
  } else if (v4.no_cgroup || v6.no_cgroup) {
    di->missing |= kMissingCgroupId;
  }
  if (req.max_rows != 0 && out->size() + v4.table.size() + v6.table.size() > req.max_rows) {
    TooMany(req.max_rows);
  }
  if (tally) AddTallies(v4, v6, tally);
  // The IPv4 table is usually the larger one: move it in when *out is
  // empty rather than copy it.
  if (out->size() == 0) {
    *out = std::move(v4.table);
  } else {
    out->Merge(v4.table);
  }
  out->Merge(v6.table);
}

}  // namespace tcpcensus
