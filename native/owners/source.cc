// source.cc: the list of owner sources, the factory by name and the 'auto'
// fallback (source.h).
#include "source.h"

#include <stdexcept>

#include "../common/sys_error.h"
#include "bpf/bpf_source.h"
#include "proc/proc_source.h"

namespace tcpcensus {

namespace {

// Every owner source, in the order 'auto' tries them: the eBPF iterator
// first (it sees every process at a fraction of the walk's cost), the walk
// when it cannot answer. A new source is one line here.
using MakeFn = std::unique_ptr<OwnerSource> (*)();
constexpr MakeFn kSources[] = {MakeBpfOwnerSource, MakeProcOwnerSource};

}  // namespace

const std::vector<std::string>& OwnerSourceNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (MakeFn make : kSources) out.push_back(make()->name());
    return out;
  }();
  return names;
}

std::unique_ptr<OwnerSource> MakeOwnerSource(const std::string& name) {
  for (MakeFn make : kSources) {
    std::unique_ptr<OwnerSource> s = make();
    if (name == s->name()) return s;
  }
  return nullptr;
}

bool IsOwnerSourceName(const std::string& name) {
  if (name == kAutoOwnerSource) return true;
  for (const std::string& n : OwnerSourceNames()) {
    if (n == name) return true;
  }
  return false;
}

std::string OwnerSourceChoices() {
  const std::vector<std::string>& names = OwnerSourceNames();
  std::string out = std::string("'") + kAutoOwnerSource + "'";
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i + 1 == names.size() ? " or '" : ", '") + names[i] + "'";
  }
  return out;
}

std::vector<std::unique_ptr<OwnerSource>> OwnerSourcesFor(const std::string& name) {
  std::vector<std::unique_ptr<OwnerSource>> out;
  if (name == kAutoOwnerSource) {
    for (MakeFn make : kSources) out.push_back(make());
  } else if (std::unique_ptr<OwnerSource> s = MakeOwnerSource(name)) {
    out.push_back(std::move(s));
  } else {
    throw std::invalid_argument("no owner source named '" + name + "'");
  }
  return out;
}

OwnerSource& RunOwnerSources(const std::vector<std::unique_ptr<OwnerSource>>& sources, InodeTable* table,
                             const OwnerOptions& opts, SourceOutput* out, std::string* fallback) {
  if (sources.empty()) throw std::invalid_argument("no owner source to run");
  std::string reasons;
  for (size_t i = 0;; ++i) {
    OwnerSource& source = *sources[i];
    const bool last = i + 1 == sources.size();
    std::string reason;
    try {
      source.Claim(table, opts, out);
      if (!reasons.empty()) *fallback = reasons;
      return source;
    } catch (const SysError& e) {
      if (last) throw;
      reason = std::string(e.what()) + " (" + ErrnoName(e.err()) + ")";
    } catch (const OwnerSourceError& e) {
      if (last) throw;
      reason = e.what();
    }
    if (!reasons.empty()) reasons += "; ";
    reasons += reason;
    // Whatever this source claimed before it failed is dropped: the next
    // one answers alone.
    table->ResetClaims();
    *out = SourceOutput();
  }
}

}  // namespace tcpcensus
