// bpf_iter.h: the owner source that runs inside the kernel: an eBPF
// task_file iterator that reports (process, socket inode) pairs.
//
// Plain C++ with no N-API, no libbpf and nothing else to install: the
// program's offsets come from the running kernel's BTF (btf.*), its
// instructions from bpf_prog.*, and it is loaded and run here with raw
// bpf(2) calls. Man pages and kernel docs: bpf(2) (BPF_PROG_LOAD,
// BPF_LINK_CREATE, BPF_ITER_CREATE), Documentation/bpf/bpf_iterators.rst,
// Documentation/bpf/btf.rst, capabilities(7) (CAP_BPF, CAP_PERFMON),
// pid_namespaces(7), proc(5).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../../common/bytes.h"
#include "../inode_table.h"
#include "../owners.h"
#include "../source.h"
#include "bpf_prog.h"

namespace tcpcensus {

// Claims the sockets each process holds into *table, as the /proc walk
// would: a process's table is read once (under its leader, or under its
// other threads when the leader exited), the lowest pid wins, pids are the
// initial pid namespace's. Only the processes of opts.pids when it is given
// (one iterator per pid). Fills out->matched with the processes that
// claimed a socket (ascending, names not read) and the counters as
// owners.h defines them for this source. CollectBpfRecords then
// ClaimBpfRecords.
//
// Throws SysError naming the call that failed (e.g. "bpf(BPF_PROG_LOAD)
// failed: Operation not permitted"; a verifier refusal carries the
// verifier's reason in the detail), or OwnerSourceError when the BTF at
// opts.btf_path does not parse or lacks what the program needs, or the
// caller does not see pids as the program reports them (another pid
// namespace).
void RunBpfOwners(InodeTable* table, const OwnerOptions& opts, SourceOutput* out);

// What the iterator reported, before any claim: the half of this source
// that needs no inodes, so it can run while the sockets are dumped.
// Its buffer comes from a small process-wide pool and goes back to it when
// the BpfRecords is destroyed (GiveBackRecordBuffer), so a sampler does not
// grow a vector from empty every call.
struct BpfRecords {
  std::vector<OwnerRecord> records;  // in the iterator's order; only opts.pids' when given
  BpfRecords() = default;
  ~BpfRecords();
  BpfRecords(BpfRecords&&) = default;
  BpfRecords& operator=(BpfRecords&&) = default;
  BpfRecords(const BpfRecords&) = delete;
  BpfRecords& operator=(const BpfRecords&) = delete;
};

// Empties *records and keeps its buffer as a spare for a later call (at
// most a couple are kept, none much larger than its call needed).
void GiveBackRecordBuffer(std::vector<OwnerRecord>* records);

// Checks that the source can answer, loads the program and, unless
// load_only, runs the iterator(s) into *out. Throws as RunBpfOwners; when
// *cancel becomes true it stops between reads with an OwnerSourceError.
void CollectBpfRecords(const OwnerOptions& opts, bool load_only, BpfRecords* out,
                       const std::atomic<bool>* cancel = nullptr);

// The program is loaded once per process and kept with its link to every
// task (BPF_PROG_LOAD runs the verifier: milliseconds and kernel memory per
// call otherwise); it is loaded again only when the instructions differ (a
// BTF with another layout) or its fd is no longer ours (closed behind our
// back, or a fork child that closed it). For the tests: how many loads this
// process has done, and the kept program's fd (-1: none).
uint64_t BpfProgramLoads();
int BpfKeptProgramFd();

// Claims collected records into *table and fills *out as RunBpfOwners.
void ClaimBpfRecords(InodeTable* table, const BpfRecords& recs, const OwnerOptions& opts, SourceOutput* out);

// The records of an iterator, read in large reads: records split across
// reads are joined, EAGAIN (the kernel visited many objects without output
// in one read) and EINTR mean read again; any other error is a SysError
// naming `what`, never a partial answer. Calls fn(ctx, record) for each.
// Stops with an OwnerSourceError when *cancel becomes true. Exposed for the
// tests, which feed it a pipe.
void ReadOwnerRecords(int fd, const char* what, void (*fn)(void*, const OwnerRecord&), void* ctx,
                      const std::atomic<bool>* cancel = nullptr);

}  // namespace tcpcensus
