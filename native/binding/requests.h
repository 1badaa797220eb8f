// requests.h: what each call of the addon carries from the main thread to
// the one that runs it and back: plain structs with no N-API value inside
// (args.h fills a request, convert.h turns a result into JS), and the run of
// each (run.cc), which only hands the request to the sampling code
// (sockets/, owners/, cgroups/) and may run on any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../cgroups/cgroup_paths.h"
#include "../owners/owners.h"
#include "../sockets/dump_stream.h"
#include "../sockets/netns.h"
#include "../sockets/sources.h"

namespace tcpcensus {
namespace binding {

constexpr uint32_t kValidStates = 0xFFEu;  // bits 1..11

struct CountRequest {
  DumpRequest dump;
};

struct CountResult {
  StateCounts counts;
  DumpInfo info;
};

// Progress of a /proc walk, shared by the worker (which writes it) and the
// JS handle (which reads it on the main thread).
struct Progress {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
};

struct SampleRequest {
  DumpRequest dump;
  bool owners = false;
  // Owners only of rows in these states (1 << state); 0: of every row. A
  // sampler counts every state but attributes a few.
  uint32_t owner_states = 0;
  OwnerOptions owner_opts;
  std::shared_ptr<Progress> progress;  // keeps the counters alive for the worker
};

struct SampleResult {
  SocketTable table;
  DumpTally tally;
  DumpInfo info;
  OwnerResult owners;
  bool has_owners = false;
};

// findOwners: owners of given inodes, without a dump (an incremental
// sampler asks only about sockets it has no owner for).
struct FindRequest {
  std::vector<uint32_t> inodes;
  OwnerOptions owner_opts;
  bool claims = false;
};

struct FindResult {
  OwnerResult owners;
  std::vector<FdClaim> claims;
};

// startTimes: field 22 of /proc/<pid>/stat for each pid, 0 when gone.
struct StartTimesRequest {
  std::vector<int32_t> pids;
  std::string proc_root = "/proc";
};

struct StartTimesResult {
  std::vector<double> start;  // clock ticks fit a double exactly for 2^53 ticks (about 2.8 million years at 100 Hz)
};

struct NetnsRequest {
  std::string proc_root = "/proc";
};

// A dump read in batches (openDump, nextBatch, closeDump), for a caller that
// writes rows as they come (tcpcensus list): the handle holds the dump
// (sockets/dump_stream.h) and one batch table whose columns keep their
// capacity from batch to batch. One batch at a time per handle.
struct StreamCursor {
  explicit StreamCursor(DumpRequest req) : stream(std::move(req)) {}
  DumpStream stream;
  SocketTable batch;
  bool busy = false;     // main thread only: a nextBatch is running
  bool more = true;      // the dump has rows left
  bool closing = false;  // closeDump came while busy
};

// ---- the runs (any thread; each may throw what the sampling code throws) ----
void RunCount(CountRequest& req, CountResult* out);
void RunSample(SampleRequest& req, SampleResult* res);
void RunFind(FindRequest& req, FindResult* res);
void RunStartTimes(StartTimesRequest& req, StartTimesResult* res);
void RunCgroupPaths(CgroupPathsRequest& req, CgroupPaths* out);
void RunListNetns(NetnsRequest& req, NetnsList* out);

}  // namespace binding
}  // namespace tcpcensus
