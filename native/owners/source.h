// source.h: the interface every owner source implements, and the factory
// that picks sources by name (as @parcel/watcher's Backend and getBackend).
//
// An owner source claims (socket inode, pid) pairs into an InodeTable;
// FindOwners (owners.h) builds the one result every source gives from
// those claims. Sources: bpf/ (the eBPF task_file iterator) and proc/ (the
// /proc/<pid>/fd walk). The name a source answers to is its name(), and
// results report it as it is: a new source is its own folder plus one line
// in the list of source.cc.
//
// Plain C++ with no N-API inside.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inode_table.h"
#include "owners.h"

namespace tcpcensus {

// What a source reports besides its claims in the table (the counters as
// owners.h's OwnerResult defines them for that source).
struct SourceOutput {
  std::vector<ProcessInfo> matched;  // processes that claimed a socket, ascending by pid
  std::vector<PidFailure> failures;  // processes that could not be read
  std::vector<FdClaim> claims;       // where wanted sockets were seen (with OwnerOptions::claims)
  uint64_t unreadable = 0;
  uint64_t vanished = 0;
  uint64_t walked = 0;
  uint64_t candidates = 0;
  bool complete = false;
};

class OwnerSource {
 public:
  virtual ~OwnerSource() = default;

  // The name a caller picks it by (OwnerOptions::source) and results report
  // (OwnerResult::source): "bpf", "proc".
  virtual const char* name() const = 0;

  // Whether the processes in SourceOutput::matched come with their names
  // (comm, cmdline, start time) read; when not, FindOwners reads them for
  // the owners only.
  virtual bool ReadsNames() const = 0;

  // Starts the half of the work that needs no inodes, before they are known
  // (the eBPF iterator runs while the sockets are dumped); Claim then uses
  // it. Never throws for a failure of the source: Claim reports that.
  // Default: nothing to start.
  virtual void Prefetch(const OwnerOptions& opts) { (void)opts; }

  // Claims the sockets each process of opts holds into *table and fills
  // *out. Throws SysError for a failed call, or OwnerSourceError when the
  // source cannot answer; 'auto' then tries the next source.
  virtual void Claim(InodeTable* table, const OwnerOptions& opts, SourceOutput* out) = 0;
};

// The name that picks every source in turn: the first that answers does,
// and a failure of each one before it is kept as the fallback reason.
constexpr const char* kAutoOwnerSource = "auto";

// A new source of this name, or nullptr when there is none.
std::unique_ptr<OwnerSource> MakeOwnerSource(const std::string& name);

// The names of every source, in the order 'auto' tries them.
const std::vector<std::string>& OwnerSourceNames();

// True for 'auto' and every source's name.
bool IsOwnerSourceName(const std::string& name);

// The names a caller may give, for a message: "'auto', 'bpf' or 'proc'".
std::string OwnerSourceChoices();

// The sources a name picks, in the order they are tried: the one of that
// name, or every source for 'auto'. Throws std::invalid_argument for an
// unknown name.
std::vector<std::unique_ptr<OwnerSource>> OwnerSourcesFor(const std::string& name);

// Runs sources in order into *table and *out until one answers, and returns
// it. A source that throws SysError or OwnerSourceError gives way to the
// next one, its claims dropped and its reason appended to *fallback (e.g.
// "bpf(BPF_PROG_LOAD) failed: Operation not permitted (EPERM)"); the last
// one's failure is thrown.
OwnerSource& RunOwnerSources(const std::vector<std::unique_ptr<OwnerSource>>& sources, InodeTable* table,
                             const OwnerOptions& opts, SourceOutput* out, std::string* fallback);

}  // namespace tcpcensus
