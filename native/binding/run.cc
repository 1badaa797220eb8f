// run.cc: the runs of requests.h, on any thread. Each hands its request to
// the sampling code; nothing here touches N-API.
#include <memory>
#include <new>

#include "../owners/proc_names.h"
#include "errors.h"
#include "requests.h"

namespace tcpcensus {
namespace binding {

void RunCount(CountRequest& req, CountResult* out) {
  if (Fires(kFailRun)) throw std::bad_alloc();
  CountStates(req.dump, &out->counts, &out->info);
}

void RunSample(SampleRequest& req, SampleResult* res) {
  if (Fires(kFailRun)) throw std::bad_alloc();
  // An owner source that needs no inodes to start (the eBPF iterator) runs
  // while the sockets are dumped.
  std::unique_ptr<OwnerPrefetch> prefetch;
  if (req.owners) prefetch = std::make_unique<OwnerPrefetch>(req.owner_opts);
  DumpSockets(req.dump, &res->table, &res->info, &res->tally);
  if (req.owners) {
    if (req.owner_states == 0) {
      FindOwners(res->table.inode, req.owner_opts, &res->owners, prefetch.get());
    } else {
      // Inode 0 asks for no owner (as for a socket no process holds).
      std::vector<uint32_t> wanted(res->table.inode);
      for (size_t i = 0; i < wanted.size(); ++i) {
        if (!((req.owner_states >> res->table.state[i]) & 1u)) wanted[i] = 0;
      }
      FindOwners(wanted, req.owner_opts, &res->owners, prefetch.get());
    }
    res->has_owners = true;
  }
}

void RunFind(FindRequest& req, FindResult* res) {
  if (Fires(kFailRun)) throw std::bad_alloc();
  if (req.claims) req.owner_opts.claims = &res->claims;
  FindOwners(req.inodes, req.owner_opts, &res->owners);
}

void RunStartTimes(StartTimesRequest& req, StartTimesResult* res) {
  if (Fires(kFailRun)) throw std::bad_alloc();
  std::vector<uint64_t> ticks;
  ReadStartTimes(req.proc_root, req.pids, &ticks);
  res->start.assign(ticks.begin(), ticks.end());
}

void RunCgroupPaths(CgroupPathsRequest& req, CgroupPaths* out) { FindCgroupPaths(req, out); }

void RunListNetns(NetnsRequest& req, NetnsList* out) { ListNetns(req.proc_root, out); }

}  // namespace binding
}  // namespace tcpcensus
