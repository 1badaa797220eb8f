// test_owner_sources.cc: the owner-source factory and the 'auto' fallback
// (owners/source.h): names come from the sources themselves, a name picks
// its source, 'auto' tries every source in order, keeps why each gave way
// and drops what a failed one claimed, and the last one's failure is
// thrown. The sources' own answers are tested against real processes in
// test_owners.cc and test_bpf_owners.cc.
#include <errno.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/sys_error.h"
#include "../owners/inode_table.h"
#include "../owners/source.h"
#include "check.h"

namespace tcpcensus {
namespace {

TEST(owner_sources_are_named_by_their_implementations_in_auto_order) {
  CHECK(OwnerSourceNames() == std::vector<std::string>({"bpf", "proc"}));
  for (const std::string& name : OwnerSourceNames()) {
    auto s = MakeOwnerSource(name);
    CHECK(s != nullptr);
    if (s) CHECK_EQ(std::string(s->name()), name);
  }
  CHECK(MakeOwnerSource("auto") == nullptr);
  CHECK(MakeOwnerSource("Bpf") == nullptr);
  CHECK(MakeOwnerSource("") == nullptr);
  CHECK(IsOwnerSourceName("auto") && IsOwnerSourceName("bpf") && IsOwnerSourceName("proc"));
  CHECK(!IsOwnerSourceName("") && !IsOwnerSourceName("procfs"));
  CHECK_EQ(OwnerSourceChoices(), std::string("'auto', 'bpf' or 'proc'"));
  // Only the walk reads names as it goes.
  CHECK(MakeOwnerSource("proc")->ReadsNames());
  CHECK(!MakeOwnerSource("bpf")->ReadsNames());
}

TEST(a_name_picks_its_source_and_auto_picks_every_one_in_order) {
  auto one = OwnerSourcesFor("proc");
  CHECK_EQ(one.size(), size_t{1});
  CHECK_EQ(std::string(one[0]->name()), std::string("proc"));
  auto all = OwnerSourcesFor("auto");
  CHECK_EQ(all.size(), OwnerSourceNames().size());
  for (size_t i = 0; i < all.size(); ++i) CHECK_EQ(std::string(all[i]->name()), OwnerSourceNames()[i]);
  CHECK_THROWS(std::invalid_argument, OwnerSourcesFor("nope"),
               [](const std::invalid_argument& e) { return std::string(e.what()) == "no owner source named 'nope'"; });
}

// A source that claims one inode for one pid, then fails as told (or not).
class Scripted : public OwnerSource {
 public:
  enum Fail { kNone, kSys, kCannot, kOther };
  Scripted(const char* name, int32_t pid, Fail fail) : name_(name), pid_(pid), fail_(fail) {}
  const char* name() const override { return name_; }
  bool ReadsNames() const override { return true; }
  void Claim(InodeTable* table, const OwnerOptions&, SourceOutput* out) override {
    ++calls;
    InodeTable::Claim(table->Find(7), pid_);
    out->walked = static_cast<uint64_t>(pid_);
    if (fail_ == kSys) throw SysError("bpf(BPF_PROG_LOAD)", EPERM);
    if (fail_ == kCannot) throw OwnerSourceError("BTF /x: empty");
    if (fail_ == kOther) throw std::logic_error("not a source failure");
  }
  int calls = 0;

 private:
  const char* name_;
  int32_t pid_;
  Fail fail_;
};

std::vector<std::unique_ptr<OwnerSource>> Sources(std::vector<Scripted*> list) {
  std::vector<std::unique_ptr<OwnerSource>> out;
  for (Scripted* s : list) out.emplace_back(s);
  return out;
}

TEST(auto_falls_back_past_failed_sources_keeping_each_reason_and_dropping_their_claims) {
  auto* a = new Scripted("a", 300, Scripted::kSys);
  auto* b = new Scripted("b", 200, Scripted::kCannot);
  auto* c = new Scripted("c", 400, Scripted::kNone);
  auto sources = Sources({a, b, c});
  InodeTable table({7, 8});
  SourceOutput out;
  std::string fallback;
  OwnerSource& answered = RunOwnerSources(sources, &table, OwnerOptions(), &out, &fallback);
  CHECK_EQ(std::string(answered.name()), std::string("c"));
  CHECK(a->calls == 1 && b->calls == 1 && c->calls == 1);
  CHECK_EQ(fallback, std::string("bpf(BPF_PROG_LOAD) failed: Operation not permitted (EPERM); BTF /x: empty"));
  // Only c's claim and output are left (a lower pid of a failed source would
  // otherwise have won).
  CHECK_EQ(table.Find(7)->owner.load(), int32_t{400});
  CHECK_EQ(table.Find(7)->shared.load(), uint8_t{0});
  CHECK_EQ(out.walked, uint64_t{400});
}

TEST(the_first_source_that_answers_leaves_no_fallback) {
  auto sources = Sources({new Scripted("a", 5, Scripted::kNone), new Scripted("b", 6, Scripted::kNone)});
  InodeTable table({7});
  SourceOutput out;
  std::string fallback;
  CHECK_EQ(std::string(RunOwnerSources(sources, &table, OwnerOptions(), &out, &fallback).name()), std::string("a"));
  CHECK(fallback.empty());
  CHECK_EQ(table.Find(7)->owner.load(), int32_t{5});
}

TEST(the_last_sources_failure_and_any_other_exception_are_thrown) {
  {
    auto sources = Sources({new Scripted("a", 5, Scripted::kCannot), new Scripted("b", 6, Scripted::kSys)});
    InodeTable table({7});
    SourceOutput out;
    std::string fallback;
    CHECK_THROWS(SysError, RunOwnerSources(sources, &table, OwnerOptions(), &out, &fallback),
                 [](const SysError& e) { return e.err() == EPERM; });
  }
  {
    // Not a source's failure to answer (a bug, or out of memory): no
    // fallback hides it.
    auto* next = new Scripted("b", 6, Scripted::kNone);
    auto sources = Sources({new Scripted("a", 5, Scripted::kOther), next});
    InodeTable table({7});
    SourceOutput out;
    std::string fallback;
    CHECK_THROWS(std::logic_error, RunOwnerSources(sources, &table, OwnerOptions(), &out, &fallback),
                 [](const std::logic_error&) { return true; });
    CHECK_EQ(next->calls, 0);
  }
}

}  // namespace
}  // namespace tcpcensus
