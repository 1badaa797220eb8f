// proc_source.cc: the /proc walk as an OwnerSource (proc_source.h). It
// needs the inodes to start (it stops once every one has an owner), so it
// has nothing to prefetch, and it reads names as it walks.
#include "proc_source.h"

#include "proc_walk.h"

namespace tcpcensus {

namespace {

class ProcOwnerSource : public OwnerSource {
 public:
  const char* name() const override { return "proc"; }
  bool ReadsNames() const override { return true; }
  void Claim(InodeTable* table, const OwnerOptions& opts, SourceOutput* out) override { WalkProc(table, opts, out); }
};

}  // namespace

std::unique_ptr<OwnerSource> MakeProcOwnerSource() { return std::make_unique<ProcOwnerSource>(); }

}  // namespace tcpcensus
