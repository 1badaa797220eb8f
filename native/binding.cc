// binding.cc: the only N-API file of tcpcensus.
//
// It checks arguments, copies them into plain structs, runs the sampling code
// (sockets/, owners/) either on the calling thread (the *Sync forms) or on
// the libuv pool (AsyncWorker + Promise), and hands the columnar results to
// JS as typed arrays. No JS value is touched off the main thread, and no C++
// exception reaches N-API: every one becomes a thrown or rejected JS error.
//
// Memory: an async result adopts the C++ vectors as external ArrayBuffers (no
// copy; freed when the event loop next turns after V8 collects them). A Sync
// result is copied into V8-owned ArrayBuffers instead, because external
// memory is only released on an event-loop turn, which a loop of Sync calls
// never gives: V8 collects its own buffers whenever it needs room. Where the
// runtime refuses external buffers (Electron's sandbox) the async form copies
// too.
//
// References: node-addon-api docs (AsyncWorker, TypedArrayOf, ArrayBuffer
// with finalizer), sock_diag(7), proc(5), setns(2), cgroups(7).
#include <napi.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "cgroups/cgroup_paths.h"
#include "common/sys_error.h"
#include "owners/owners.h"
#include "sockets/dump_stream.h"
#include "sockets/netns.h"
#include "sockets/sources.h"
#include "owners/proc_names.h"

namespace tcpcensus {
namespace {

constexpr uint32_t kValidStates = 0xFFEu;  // bits 1..11

// ---- test failpoints ----
// Set from the tests (binding.__failNext) to prove that a failure in each
// stage becomes a JS error and never takes the process down. One shot each.
enum Failpoint : int { kFailNone = 0, kFailRun = 1, kFailConvert = 2, kFailExternal = 3 };
std::atomic<int> g_fail_next{kFailNone};
bool Fires(Failpoint f) {
  int want = f;
  return g_fail_next.compare_exchange_strong(want, kFailNone);
}

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
using ProgressHandle = Napi::External<std::shared_ptr<Progress>>;
// Marks our progress handles, so an External from elsewhere is refused
// instead of being dereferenced as ours.
constexpr napi_type_tag kProgressTag = {0x7463706365'6e7375ull, 0x70726f6772657373ull};  // "tcpcensu", "progress"

std::shared_ptr<Progress> ProgressOf(Napi::Env env, Napi::Value v) {
  if (!v.IsExternal() || !v.As<ProgressHandle>().CheckTypeTag(&kProgressTag)) {
    throw Napi::TypeError::New(env, "progress must be a handle from newProgress()");
  }
  return *v.As<ProgressHandle>().Data();
}

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

// What a failed call carries to JS besides its message.
struct Failure {
  std::string message;
  std::string code;      // errno name, or ERR_TCPCENSUS_*
  std::string syscall;   // set for a failed system call
  std::string path;
  int err = 0;
  int pid = 0;
};

Failure FailureOf(const std::exception& e) {
  Failure f;
  f.message = e.what();
  if (auto* se = dynamic_cast<const SysError*>(&e)) {
    f.syscall = se->syscall();
    f.path = se->path();
    f.err = se->err();
    f.pid = se->pid();
    f.code = ErrnoName(se->err());
  } else if (dynamic_cast<const LimitError*>(&e) != nullptr) {
    f.code = "ERR_TCPCENSUS_MAX_SOCKETS";
  } else if (dynamic_cast<const UnsupportedError*>(&e) != nullptr) {
    f.code = "ERR_TCPCENSUS_UNSUPPORTED";
  } else if (dynamic_cast<const OwnerSourceError*>(&e) != nullptr) {
    f.code = "ERR_TCPCENSUS_BPF";  // ownerSource 'bpf' where it cannot answer (not a failed call)
  } else if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    f.message = "out of memory while sampling sockets";
    f.code = "ERR_TCPCENSUS_NO_MEMORY";
  } else {
    f.code = "ERR_TCPCENSUS_INTERNAL";
  }
  return f;
}

Napi::Error ToJsError(Napi::Env env, const Failure& f) {
  Napi::Error error = Napi::Error::New(env, f.message);
  Napi::Object o = error.Value();
  o.Set("code", f.code);
  if (f.err != 0) {
    o.Set("syscall", f.syscall);
    o.Set("errno", f.err);
    if (!f.path.empty()) o.Set("path", f.path);
    if (f.pid != 0) o.Set("pid", f.pid);
  }
  return error;
}

// Any exception escaping a conversion on the main thread, as a JS error.
// Napi::Error is itself a std::exception: keep it as it is.
Napi::Value AsJsError(Napi::Env env, const std::exception& e) {
  if (auto* ne = dynamic_cast<const Napi::Error*>(&e)) return ne->Value();
  return ToJsError(env, FailureOf(e)).Value();
}

// Rejects a worker's promise with e, in any case: out of memory even for the
// error, it rejects with undefined; and when the environment is going away (a
// worker thread exiting with a call in flight) no N-API call works, so
// nothing is owed and nothing may throw: a throw out of a completion escapes
// into Node's cleanup and aborts the whole process.
void RejectQuietly(Napi::Promise::Deferred& d, Napi::Env env, const std::exception& e) {
  try {
    d.Reject(AsJsError(env, e));
  } catch (...) {
    try {
      d.Reject(env.Undefined());
    } catch (...) {
    }
  }
}

// ---- argument parsing: JS -> plain structs (main thread only) ----

// Own properties only: a key someone set on Object.prototype (a polluted
// prototype in the service that loads us) must not become an option.
Napi::Value Own(const Napi::Object& o, const char* key) {
  return o.HasOwnProperty(key) ? o.Get(key) : o.Env().Undefined();
}

double GetNumber(const Napi::Object& o, const char* key, double def, double max) {
  Napi::Value v = Own(o, key);
  if (v.IsUndefined()) return def;
  if (!v.IsNumber()) {
    throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    throw Napi::RangeError::New(o.Env(), std::string(key) + " must be an integer from 0 to " +
                                             std::to_string(static_cast<uint64_t>(max)));
  }
  return d;
}

uint32_t GetUint(const Napi::Object& o, const char* key, uint32_t def, uint32_t max) {
  return static_cast<uint32_t>(GetNumber(o, key, def, max));
}

DumpRequest ParseDump(const Napi::Object& o) {
  DumpRequest req;
  req.families = GetUint(o, "families", kFamilyIPv4 | kFamilyIPv6, 3);
  if (req.families == 0) throw Napi::RangeError::New(o.Env(), "families must be 1, 2 or 3");
  req.states = GetUint(o, "states", 0, UINT32_MAX);
  if (req.states == 0 || (req.states & ~kValidStates)) {
    throw Napi::RangeError::New(o.Env(), "states must be a non-empty mask of bits 1..11");
  }
  req.max_rows = static_cast<size_t>(GetNumber(o, "maxSockets", 0, 9007199254740991.0));
  Napi::Value bc = Own(o, "bytecode");
  if (!bc.IsUndefined() && !bc.IsNull()) {
    if (!bc.IsTypedArray() || bc.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(o.Env(), "bytecode must be a Uint8Array");
    }
    auto arr = bc.As<Napi::Uint8Array>();
    if (arr.ElementLength() > 4096 || arr.ElementLength() % 4 != 0) {
      throw Napi::RangeError::New(o.Env(), "bytecode must be at most 4096 bytes, a multiple of 4");
    }
    req.bytecode.assign(arr.Data(), arr.Data() + arr.ElementLength());
  }
  Napi::Value source = Own(o, "source");
  if (!source.IsUndefined()) {
    const std::string s = source.IsString() ? source.As<Napi::String>().Utf8Value() : "";
    if (s == "auto") {
      req.source = Source::kAuto;
    } else if (s == "netlink") {
      req.source = Source::kNetlink;
    } else if (s == "procfs") {
      req.source = Source::kProcfs;
    } else {
      throw Napi::TypeError::New(o.Env(), "source must be 'auto', 'netlink' or 'procfs'");
    }
  }
  Napi::Value netns = Own(o, "netns");
  if (!netns.IsUndefined() && !netns.IsNull()) {
    if (!netns.IsString()) throw Napi::TypeError::New(o.Env(), "netns must be a string");
    std::string error;
    req.netns = ResolveNetnsSpec(netns.As<Napi::String>().Utf8Value(), &error);
    if (req.netns.empty()) throw Napi::RangeError::New(o.Env(), error);
  }
  return req;
}

Napi::Object ArgObject(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(info.Env(), "expected an options object");
  }
  return info[0].As<Napi::Object>();
}

// An optional typed array of the given type, copied out with its length;
// false when absent.
template <typename T>
bool GetArray(const Napi::Object& o, const char* key, napi_typedarray_type type, const char* type_name,
              std::vector<T>* out) {
  Napi::Value v = Own(o, key);
  if (v.IsUndefined() || v.IsNull()) return false;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw Napi::TypeError::New(o.Env(), std::string(key) + " must be " + type_name);
  }
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  out->assign(arr.Data(), arr.Data() + arr.ElementLength());
  return true;
}

void CheckPositive(const Napi::Object& o, const char* key, const std::vector<int32_t>& pids) {
  for (int32_t p : pids) {
    if (p <= 0) throw Napi::RangeError::New(o.Env(), std::string(key) + " must be positive");
  }
}

std::string GetProcRoot(const Napi::Object& o) {
  Napi::Value proc_root = Own(o, "procRoot");
  if (proc_root.IsUndefined()) return "/proc";
  if (!proc_root.IsString()) throw Napi::TypeError::New(o.Env(), "procRoot must be a string");
  return proc_root.As<Napi::String>().Utf8Value();
}

// The owner options every call that walks takes: threads, pids, procRoot,
// and for an incremental caller firstPids, probes (pid, fd pairs) and
// probesOnly.
// Keys it does not know (ownerSource until that lands) are ignored.
OwnerOptions ParseOwnerOptions(const Napi::Object& o) {
  OwnerOptions opts;
  opts.threads = GetUint(o, "threads", 0, kMaxThreads);
  if (GetArray(o, "pids", napi_int32_array, "an Int32Array", &opts.pids)) {
    CheckPositive(o, "pids", opts.pids);
    if (opts.pids.empty()) throw Napi::RangeError::New(o.Env(), "pids must not be empty");
  }
  if (GetArray(o, "firstPids", napi_int32_array, "an Int32Array", &opts.first_pids)) {
    CheckPositive(o, "firstPids", opts.first_pids);
  }
  std::vector<int32_t> pairs;
  if (GetArray(o, "probes", napi_int32_array, "an Int32Array", &pairs)) {
    if (pairs.size() % 2 != 0) throw Napi::RangeError::New(o.Env(), "probes must hold pid, fd pairs");
    for (size_t i = 0; i < pairs.size(); i += 2) {
      if (pairs[i] <= 0 || pairs[i + 1] < 0) {
        throw Napi::RangeError::New(o.Env(), "probes must hold a positive pid and a non-negative fd per pair");
      }
      opts.probes.push_back(FdProbe{pairs[i], pairs[i + 1]});
    }
  }
  Napi::Value probes_only = Own(o, "probesOnly");
  opts.probes_only = probes_only.IsBoolean() && probes_only.As<Napi::Boolean>().Value();
  opts.proc_root = GetProcRoot(o);
  // ownerSource: 'auto' (the eBPF iterator, the /proc walk when it cannot
  // answer), 'bpf' or 'proc'. Absent means 'proc', as before this option:
  // the TypeScript layer passes it explicitly.
  Napi::Value source = Own(o, "ownerSource");
  opts.source = OwnerSource::kProc;
  if (!source.IsUndefined()) {
    const std::string s = source.IsString() ? source.As<Napi::String>().Utf8Value() : "";
    if (s == "auto") {
      opts.source = OwnerSource::kAuto;
    } else if (s == "bpf") {
      opts.source = OwnerSource::kBpf;
    } else if (s != "proc") {
      throw Napi::TypeError::New(o.Env(), "ownerSource must be 'auto', 'bpf' or 'proc'");
    }
  }
  // btfPath: the kernel BTF the eBPF source reads; absent, the environment
  // variable TCPCENSUS_BTF_PATH when set and not empty, else
  // /sys/kernel/btf/vmlinux.
  Napi::Value btf = Own(o, "btfPath");
  if (!btf.IsUndefined()) {
    if (!btf.IsString() || btf.As<Napi::String>().Utf8Value().empty()) {
      throw Napi::TypeError::New(o.Env(), "btfPath must be a non-empty string");
    }
    opts.btf_path = btf.As<Napi::String>().Utf8Value();
  } else if (const char* env = std::getenv("TCPCENSUS_BTF_PATH"); env != nullptr && *env != '\0') {
    opts.btf_path = env;
  }
  return opts;
}

SampleRequest ParseSample(const Napi::Object& o) {
  SampleRequest req;
  req.dump = ParseDump(o);
  Napi::Value owners = Own(o, "owners");
  req.owners = owners.IsBoolean() && owners.As<Napi::Boolean>().Value();
  req.owner_states = GetUint(o, "ownerStates", 0, UINT32_MAX);
  req.dump.keep_states = GetUint(o, "keepStates", 0, UINT32_MAX);
  if ((req.owner_states & ~kValidStates) || (req.dump.keep_states & ~kValidStates)) {
    throw Napi::RangeError::New(o.Env(), "ownerStates and keepStates must be masks of bits 1..11");
  }
  req.owner_opts = ParseOwnerOptions(o);
  Napi::Value progress = Own(o, "progress");
  if (!progress.IsUndefined()) {
    req.progress = ProgressOf(o.Env(), progress);
    req.owner_opts.progress_done = &req.progress->done;
    req.owner_opts.progress_total = &req.progress->total;
  }
  return req;
}

FindRequest ParseFind(const Napi::Object& o) {
  FindRequest req;
  if (!GetArray(o, "inodes", napi_uint32_array, "a Uint32Array", &req.inodes)) {
    throw Napi::TypeError::New(o.Env(), "inodes must be a Uint32Array");
  }
  req.owner_opts = ParseOwnerOptions(o);
  Napi::Value claims = Own(o, "claims");
  req.claims = claims.IsBoolean() && claims.As<Napi::Boolean>().Value();
  return req;
}

StartTimesRequest ParseStartTimes(const Napi::Object& o) {
  StartTimesRequest req;
  if (!GetArray(o, "pids", napi_int32_array, "an Int32Array", &req.pids)) {
    throw Napi::TypeError::New(o.Env(), "pids must be an Int32Array");
  }
  req.proc_root = GetProcRoot(o);
  return req;
}

// ---- the work itself (any thread) ----

void RunCount(CountRequest& req, CountResult* out) {
  if (Fires(kFailRun)) throw std::bad_alloc();
  CountStates(req.dump, &out->counts, &out->info);
}

void RunSample(SampleRequest& req, SampleResult* res) {
  if (Fires(kFailRun)) throw std::bad_alloc();
  // The eBPF owner source needs no inodes to start: it runs while the
  // sockets are dumped.
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

// ---- results: plain structs -> JS (main thread only) ----

enum class Ownership { kAdopt, kCopy };

template <typename T>
Napi::TypedArrayOf<T> CopyOut(Napi::Env env, const std::vector<T>& v) {
  auto out = Napi::TypedArrayOf<T>::New(env, v.size());
  if (!v.empty()) std::memcpy(out.Data(), v.data(), v.size() * sizeof(T));
  return out;
}

// An adopted vector's control block, owned by the buffer's finalizer. The
// vector is freed there, when V8 collects the buffer, or earlier by
// release() (ReleaseBuffers below) once JS has read what it needs:
// topProcesses aggregates a table and drops it, and V8 collects external
// buffers late (it counts them, but collects for them only past tens of MB),
// so a service calling often held many calls' columns at once.
struct Adopted {
  void (*free)(void*) = nullptr;  // deletes the vector
  void* vector = nullptr;
  const void* data = nullptr;  // the vector's bytes, as the buffer holds them
  int64_t bytes = 0;
  bool live = true;
};
// Marks our buffers, so release() frees only what it adopted.
constexpr napi_type_tag kAdoptedTag = {0x7463706365727375ULL, 0x6164f9b0e1a5c3d2ULL};

void FreeAdopted(napi_env env, Adopted* a) {
  if (!a->live) return;
  a->live = false;
  a->free(a->vector);
  int64_t ignored;
  napi_adjust_external_memory(env, -a->bytes, &ignored);
}

// A vector as a typed array: adopted without a copy (freed by a finalizer
// once V8 collects the buffer, or by release()), or copied into V8-owned
// memory. Adoption falls back to a copy when the runtime refuses external
// buffers.
template <typename T>
Napi::TypedArrayOf<T> ToTypedArray(Napi::Env env, std::vector<T>&& v, Ownership how) {
  if (how == Ownership::kCopy || v.empty()) return CopyOut(env, v);
  auto holder = std::make_unique<std::vector<T>>(std::move(v));
  auto control = std::make_unique<Adopted>();
  control->free = [](void* p) { delete static_cast<std::vector<T>*>(p); };
  control->vector = holder.get();
  control->data = holder->data();
  control->bytes = static_cast<int64_t>(holder->capacity() * sizeof(T));
  const size_t length = holder->size();
  napi_value buffer = nullptr;
  napi_status status = Fires(kFailExternal)
                           ? napi_no_external_buffers_allowed
                           : napi_create_external_arraybuffer(
                                 env, holder->data(), length * sizeof(T),
                                 [](napi_env e, void*, void* hint) {
                                   auto* a = static_cast<Adopted*>(hint);
                                   FreeAdopted(e, a);
                                   delete a;
                                 },
                                 control.get(), &buffer);
  if (status != napi_ok) {
    // Refused (or failed): the holder is still ours; copy and let it go.
    return CopyOut(env, *holder);
  }
  // V8 does not see external memory: without this it would collect these
  // buffers late, letting RSS float by tens of MB between collections.
  int64_t ignored;
  napi_adjust_external_memory(env, control->bytes, &ignored);
  holder.release();  // the control block owns it now
  Adopted* a = control.release();  // and the finalizer the control block
  // The buffer carries its control block for release(), tagged as ours; if
  // either step fails, release() skips it and the finalizer alone frees it.
  if (napi_type_tag_object(env, buffer, &kAdoptedTag) == napi_ok) napi_wrap(env, buffer, a, nullptr, nullptr, nullptr);
  return Napi::TypedArrayOf<T>::New(env, length, Napi::ArrayBuffer(env, buffer), 0);
}

// release(buffers): frees adopted buffers now, detaching each (so no view
// can reach freed memory: a detached buffer reads as empty). Buffers not
// adopted by us (copies, anything else) are left alone. Main thread only.
Napi::Value ReleaseBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "release expects an array of ArrayBuffers");
  Napi::Array list = info[0].As<Napi::Array>();
  uint32_t freed = 0;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsArrayBuffer()) continue;
    bool ours = false;
    if (napi_check_object_type_tag(env, v, &kAdoptedTag, &ours) != napi_ok || !ours) continue;
    // Detached already: released before (its control block may be gone with
    // the finalizer Node then schedules), or transferred (structuredClone,
    // postMessage), when another buffer now holds the memory. Only an
    // attached buffer of ours still holds its memory and its control block.
    bool detached = true;
    if (napi_is_detached_arraybuffer(env, v, &detached) != napi_ok || detached) continue;
    void* data = nullptr;
    size_t length = 0;
    void* p = nullptr;
    if (napi_get_arraybuffer_info(env, v, &data, &length) != napi_ok || napi_unwrap(env, v, &p) != napi_ok || p == nullptr) continue;
    auto* a = static_cast<Adopted*>(p);
    if (!a->live || a->data != data) continue;
    if (napi_detach_arraybuffer(env, v) != napi_ok) continue;
    napi_remove_wrap(env, v, nullptr);  // the control block is the finalizer's to delete
    FreeAdopted(env, a);
    freed++;
  }
  return Napi::Number::New(env, freed);
}

// How a dump was answered: source, sourceFallback, netnsInode, missing.
void SetDumpInfo(Napi::Env env, Napi::Object o, const DumpInfo& info) {
  o.Set("source", info.source == Source::kProcfs ? "procfs" : "netlink");
  o.Set("sourceFallback", info.fallback.empty() ? env.Null() : Napi::String::New(env, info.fallback));
  o.Set("netnsInode", static_cast<double>(info.netns_inode));
  static const struct {
    unsigned bit;
    const char* name;
  } kMissing[] = {{kMissingBoundInactive, "boundInactive"}, {kMissingCgroupId, "cgroupId"},
                  {kMissingCookie, "cookie"},               {kMissingIfindex, "ifindex"},
                  {kMissingListenBacklog, "listenBacklog"}};
  Napi::Array missing = Napi::Array::New(env);
  uint32_t n = 0;
  for (const auto& m : kMissing) {
    if (info.missing & m.bit) missing[n++] = m.name;
  }
  o.Set("missing", missing);
}

// A per-state count (indexed by state number) as a Float64Array.
Napi::Float64Array SlotsToJs(Napi::Env env, const uint64_t (&slots)[kStateSlots]) {
  auto a = Napi::Float64Array::New(env, kStateSlots);
  for (size_t i = 0; i < kStateSlots; ++i) a[i] = static_cast<double>(slots[i]);
  return a;
}

Napi::Value CountsToJs(Napi::Env env, CountResult& r, Ownership) {
  if (Fires(kFailConvert)) throw std::bad_alloc();
  Napi::Object o = Napi::Object::New(env);
  o.Set("ipv4", SlotsToJs(env, r.counts.ipv4));
  o.Set("ipv6", SlotsToJs(env, r.counts.ipv6));
  SetDumpInfo(env, o, r.info);
  return o;
}

Napi::Object OwnersToJs(Napi::Env env, OwnerResult& w, Ownership how) {
  Napi::Object owners = Napi::Object::New(env);
  owners.Set("owner", ToTypedArray(env, std::move(w.owner), how));
  Napi::Array procs = Napi::Array::New(env, w.processes.size());
  for (size_t i = 0; i < w.processes.size(); ++i) {
    const ProcessInfo& p = w.processes[i];
    Napi::Object po = Napi::Object::New(env);
    po.Set("pid", p.pid);
    po.Set("comm", p.comm);
    po.Set("cmdline", p.cmdline);
    po.Set("sockets", static_cast<double>(p.sockets));
    po.Set("startTime", static_cast<double>(p.start_time));
    po.Set("fds", static_cast<double>(p.fds));
    procs[i] = po;
  }
  owners.Set("processes", procs);
  auto failed_pids = Napi::Int32Array::New(env, w.failures.size());
  auto failed_errnos = Napi::Int32Array::New(env, w.failures.size());
  Napi::Array failed_calls = Napi::Array::New(env, w.failures.size());
  for (size_t i = 0; i < w.failures.size(); ++i) {
    failed_pids[i] = w.failures[i].pid;
    failed_errnos[i] = w.failures[i].err;
    failed_calls[static_cast<uint32_t>(i)] = Napi::String::New(env, w.failures[i].call);
  }
  owners.Set("failedPids", failed_pids);
  owners.Set("failedErrnos", failed_errnos);
  owners.Set("failedCalls", failed_calls);
  owners.Set("wanted", static_cast<double>(w.wanted));
  owners.Set("found", static_cast<double>(w.found));
  owners.Set("shared", static_cast<double>(w.shared));
  owners.Set("unreadable", static_cast<double>(w.unreadable));
  owners.Set("vanished", static_cast<double>(w.vanished));
  owners.Set("walked", static_cast<double>(w.walked));
  owners.Set("candidates", static_cast<double>(w.candidates));
  owners.Set("complete", w.complete);
  owners.Set("source", w.source == OwnerSource::kBpf ? "bpf" : "proc");
  if (w.fallback.empty()) {
    owners.Set("fallback", env.Null());
  } else {
    owners.Set("fallback", w.fallback);
  }
  return owners;
}

Napi::Value SampleToJs(Napi::Env env, SampleResult& r, Ownership how) {
  if (Fires(kFailConvert)) throw std::bad_alloc();
  SocketTable& t = r.table;
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", static_cast<double>(t.size()));
#define TCPCENSUS_TO_JS(name, type, width, js) o.Set(js, ToTypedArray(env, std::move(t.name), how));
  TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_TO_JS)
#undef TCPCENSUS_TO_JS
  if (r.has_owners) o.Set("owners", OwnersToJs(env, r.owners, how));
  // Every row the dump saw, kept or not (keepStates), by family and state,
  // and those no process holds.
  Napi::Object tally = Napi::Object::New(env);
  tally.Set("ipv4", SlotsToJs(env, r.tally.counts.ipv4));
  tally.Set("ipv6", SlotsToJs(env, r.tally.counts.ipv6));
  tally.Set("unowned", SlotsToJs(env, r.tally.unowned));
  o.Set("tally", tally);
  SetDumpInfo(env, o, r.info);
  return o;
}

// ---- cgroup paths and network namespaces ----

CgroupPathsRequest ParseCgroupPaths(const Napi::CallbackInfo& info) {
  CgroupPathsRequest req;
  if (info.Length() < 1 || info[0].IsUndefined()) return req;
  Napi::Object o = ArgObject(info);
  Napi::Value ids = Own(o, "ids");
  if (!ids.IsUndefined() && !ids.IsNull()) {
    if (!ids.IsTypedArray() || ids.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array) {
      throw Napi::TypeError::New(o.Env(), "ids must be a BigUint64Array");
    }
    auto arr = ids.As<Napi::BigUint64Array>();
    req.ids.assign(arr.Data(), arr.Data() + arr.ElementLength());
  }
  Napi::Value mount = Own(o, "mount");
  if (!mount.IsUndefined()) {
    if (!mount.IsString()) throw Napi::TypeError::New(o.Env(), "mount must be a string");
    req.mount = mount.As<Napi::String>().Utf8Value();
  }
  return req;
}

void RunCgroupPaths(CgroupPathsRequest& req, CgroupPaths* out) { FindCgroupPaths(req, out); }

Napi::Value CgroupPathsToJs(Napi::Env env, CgroupPaths& r, Ownership how) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("mount", r.mount);
  Napi::Array paths = Napi::Array::New(env, r.paths.size());
  for (size_t i = 0; i < r.paths.size(); ++i) paths[i] = r.paths[i];
  o.Set("ids", ToTypedArray(env, std::move(r.ids), how));
  o.Set("paths", paths);
  o.Set("unreadable", static_cast<double>(r.unreadable));
  o.Set("complete", r.complete);
  return o;
}

struct NetnsRequest {
  std::string proc_root = "/proc";
};

NetnsRequest ParseNetns(const Napi::CallbackInfo& info) {
  NetnsRequest req;
  if (info.Length() < 1 || info[0].IsUndefined()) return req;
  Napi::Object o = ArgObject(info);
  Napi::Value proc_root = Own(o, "procRoot");
  if (!proc_root.IsUndefined()) {
    if (!proc_root.IsString()) throw Napi::TypeError::New(o.Env(), "procRoot must be a string");
    req.proc_root = proc_root.As<Napi::String>().Utf8Value();
  }
  return req;
}

void RunListNetns(NetnsRequest& req, NetnsList* out) { ListNetns(req.proc_root, out); }

Napi::Value NetnsToJs(Napi::Env env, NetnsList& r, Ownership) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array list = Napi::Array::New(env, r.namespaces.size());
  for (size_t i = 0; i < r.namespaces.size(); ++i) {
    const NetnsEntry& n = r.namespaces[i];
    Napi::Object e = Napi::Object::New(env);
    e.Set("inode", static_cast<double>(n.inode));
    e.Set("path", n.path);
    e.Set("name", n.name);
    e.Set("pid", n.pid);
    e.Set("self", n.self);
    list[i] = e;
  }
  o.Set("namespaces", list);
  o.Set("unreadable", static_cast<double>(r.unreadable));
  return o;
}

Napi::Value FindToJs(Napi::Env env, FindResult& r, Ownership how) {
  if (Fires(kFailConvert)) throw std::bad_alloc();
  Napi::Object o = OwnersToJs(env, r.owners, how);
  std::vector<int32_t> pids(r.claims.size());
  std::vector<int32_t> fds(r.claims.size());
  std::vector<uint32_t> inodes(r.claims.size());
  for (size_t i = 0; i < r.claims.size(); ++i) {
    pids[i] = r.claims[i].pid;
    fds[i] = r.claims[i].fd;
    inodes[i] = r.claims[i].inode;
  }
  o.Set("claimPids", ToTypedArray(env, std::move(pids), how));
  o.Set("claimFds", ToTypedArray(env, std::move(fds), how));
  o.Set("claimInodes", ToTypedArray(env, std::move(inodes), how));
  return o;
}

Napi::Value StartTimesToJs(Napi::Env env, StartTimesResult& r, Ownership how) {
  if (Fires(kFailConvert)) throw std::bad_alloc();
  return ToTypedArray(env, std::move(r.start), how);
}

// The column list, for the loader's check (src/native.ts) that src/columns.ts agrees with it.
Napi::Value ColumnsToJs(Napi::Env env) {
  Napi::Array cols = Napi::Array::New(env);
  uint32_t i = 0;
#define TCPCENSUS_COLUMN(name, type, width, js)              \
  {                                                          \
    Napi::Object c = Napi::Object::New(env);                 \
    c.Set("name", js);                                       \
    c.Set("bytes", static_cast<double>(sizeof(type)));       \
    c.Set("width", static_cast<double>(width));              \
    cols[i++] = c;                                           \
  }
  TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_COLUMN)
#undef TCPCENSUS_COLUMN
  return cols;
}

// ---- async and sync forms ----

template <typename Request, typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Run = void (*)(Request&, Result*);
  using Convert = Napi::Value (*)(Napi::Env, Result&, Ownership);

  PromiseWorker(Napi::Env env, Request req, Run run, Convert convert)
      : Napi::AsyncWorker(env, "tcpcensus"),
        deferred_(Napi::Promise::Deferred::New(env)),
        req_(std::move(req)),
        run_(run),
        convert_(convert) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      run_(req_, &result_);
    } catch (const std::exception& e) {
      failure_ = FailureOf(e);
      SetError(failure_.message);
    } catch (...) {
      failure_.message = "unknown failure while sampling sockets";
      failure_.code = "ERR_TCPCENSUS_INTERNAL";
      SetError(failure_.message);
    }
  }
  void OnOK() override {
    // Converting can throw (an allocation refused): reject, never leave the
    // promise pending and never let it reach N-API.
    Napi::Env env = Env();
    try {
      deferred_.Resolve(convert_(env, result_, Ownership::kAdopt));
    } catch (const std::exception& e) {
      RejectWith(env, e);
    }
  }
  void OnError(const Napi::Error&) override {
    try {
      deferred_.Reject(ToJsError(Env(), failure_).Value());
    } catch (const std::exception& e) {
      RejectWith(Env(), e);
    }
  }

 private:
  void RejectWith(Napi::Env env, const std::exception& e) { RejectQuietly(deferred_, env, e); }

  Napi::Promise::Deferred deferred_;
  Request req_;
  Result result_;
  Run run_;
  Convert convert_;
  Failure failure_;
};

// Runs a request on this thread; any failure is thrown as a JS error.
template <typename Request, typename Result>
Napi::Value RunSync(Napi::Env env, Request& req, void (*run)(Request&, Result*),
                    Napi::Value (*convert)(Napi::Env, Result&, Ownership)) {
  try {
    Result result;
    run(req, &result);
    return convert(env, result, Ownership::kCopy);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw ToJsError(env, FailureOf(e));
  }
}

template <typename Request, typename Result>
Napi::Value Queue(Napi::Env env, Request req, void (*run)(Request&, Result*),
                  Napi::Value (*convert)(Napi::Env, Result&, Ownership)) {
  auto* w = new PromiseWorker<Request, Result>(env, std::move(req), run, convert);
  w->Queue();
  return w->Promise();
}

Napi::Value Count(const Napi::CallbackInfo& info) {
  return Queue(info.Env(), CountRequest{ParseDump(ArgObject(info))}, RunCount, CountsToJs);
}

Napi::Value CountSync(const Napi::CallbackInfo& info) {
  CountRequest req{ParseDump(ArgObject(info))};
  return RunSync(info.Env(), req, RunCount, CountsToJs);
}

Napi::Value Sample(const Napi::CallbackInfo& info) {
  return Queue(info.Env(), ParseSample(ArgObject(info)), RunSample, SampleToJs);
}

Napi::Value SampleSync(const Napi::CallbackInfo& info) {
  SampleRequest req = ParseSample(ArgObject(info));
  return RunSync(info.Env(), req, RunSample, SampleToJs);
}

Napi::Value CgroupPathsAsync(const Napi::CallbackInfo& info) {
  return Queue(info.Env(), ParseCgroupPaths(info), RunCgroupPaths, CgroupPathsToJs);
}

Napi::Value CgroupPathsSync(const Napi::CallbackInfo& info) {
  CgroupPathsRequest req = ParseCgroupPaths(info);
  return RunSync(info.Env(), req, RunCgroupPaths, CgroupPathsToJs);
}

Napi::Value ListNetnsAsync(const Napi::CallbackInfo& info) {
  return Queue(info.Env(), ParseNetns(info), RunListNetns, NetnsToJs);
}

Napi::Value ListNetnsSync(const Napi::CallbackInfo& info) {
  NetnsRequest req = ParseNetns(info);
  return RunSync(info.Env(), req, RunListNetns, NetnsToJs);
}

Napi::Value Find(const Napi::CallbackInfo& info) {
  return Queue(info.Env(), ParseFind(ArgObject(info)), RunFind, FindToJs);
}

Napi::Value FindSync(const Napi::CallbackInfo& info) {
  FindRequest req = ParseFind(ArgObject(info));
  return RunSync(info.Env(), req, RunFind, FindToJs);
}

Napi::Value StartTimes(const Napi::CallbackInfo& info) {
  return Queue(info.Env(), ParseStartTimes(ArgObject(info)), RunStartTimes, StartTimesToJs);
}

Napi::Value StartTimesSync(const Napi::CallbackInfo& info) {
  StartTimesRequest req = ParseStartTimes(ArgObject(info));
  return RunSync(info.Env(), req, RunStartTimes, StartTimesToJs);
}

Napi::Value NewProgress(const Napi::CallbackInfo& info) {
  ProgressHandle handle = ProgressHandle::New(
      info.Env(), new std::shared_ptr<Progress>(std::make_shared<Progress>()),
      [](Napi::Env, std::shared_ptr<Progress>* p) { delete p; });
  handle.TypeTag(&kProgressTag);
  return handle;
}

// [processes walked, processes to walk] of the walk using this handle.
Napi::Value ReadProgress(const Napi::CallbackInfo& info) {
  if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), "expected a handle from newProgress()");
  const std::shared_ptr<Progress> handle = ProgressOf(info.Env(), info[0]);
  const Progress& p = *handle;
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out[0u] = static_cast<double>(p.done.load(std::memory_order_relaxed));
  out[1u] = static_cast<double>(p.total.load(std::memory_order_relaxed));
  return out;
}

// ---- a dump read in batches (openDump, nextBatch, closeDump) ----
//
// For a caller that writes rows as they come (tcpcensus list): the handle
// holds the dump (sockets/dump_stream.h) and one batch table whose columns
// keep their capacity from batch to batch; each nextBatch reads the next
// rows on the libuv pool and copies them into V8-owned typed arrays (a
// batch is small: the copy is cheap and V8 sees the memory it holds). One
// batch at a time per handle.

struct StreamCursor {
  explicit StreamCursor(DumpRequest req) : stream(std::move(req)) {}
  DumpStream stream;
  SocketTable batch;
  bool busy = false;    // main thread only: a nextBatch is running
  bool more = true;     // the dump has rows left
  bool closing = false; // closeDump came while busy
};
using StreamHandle = Napi::External<std::shared_ptr<StreamCursor>>;
constexpr napi_type_tag kStreamTag = {0x7463706365'6e7375ull, 0x64756d7073747265ull};  // "tcpcensu", "dumpstre"

std::shared_ptr<StreamCursor> CursorOf(Napi::Env env, Napi::Value v) {
  if (!v.IsExternal() || !v.As<StreamHandle>().CheckTypeTag(&kStreamTag)) {
    throw Napi::TypeError::New(env, "expected a handle from openDump()");
  }
  return *v.As<StreamHandle>().Data();
}

Napi::Value BatchToJs(Napi::Env env, StreamCursor& c) {
  if (Fires(kFailConvert)) throw std::bad_alloc();
  SocketTable& t = c.batch;
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", static_cast<double>(t.size()));
#define TCPCENSUS_BATCH_TO_JS(name, type, width, js) o.Set(js, CopyOut(env, t.name));
  TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_BATCH_TO_JS)
#undef TCPCENSUS_BATCH_TO_JS
  o.Set("done", !c.more);
  SetDumpInfo(env, o, c.stream.info());
  return o;
}

class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Env env, std::shared_ptr<StreamCursor> cursor, size_t rows)
      : Napi::AsyncWorker(env, "tcpcensus"), deferred_(Napi::Promise::Deferred::New(env)), cursor_(std::move(cursor)), rows_(rows) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    StreamCursor& c = *cursor_;
    try {
      if (Fires(kFailRun)) throw std::bad_alloc();
      if (c.more) {
        c.more = c.stream.Next(rows_, &c.batch);
      } else {
        c.batch.Clear();
      }
    } catch (const std::exception& e) {
      c.more = false;
      failure_ = FailureOf(e);
      SetError(failure_.message);
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Settle();
    try {
      deferred_.Resolve(BatchToJs(env, *cursor_));
    } catch (const std::exception& e) {
      RejectQuietly(deferred_, env, e);
    }
    if (!cursor_->more) cursor_->batch = SocketTable();  // the last batch: its columns go now
  }
  void OnError(const Napi::Error&) override {
    Settle();
    try {
      deferred_.Reject(ToJsError(Env(), failure_).Value());
    } catch (const std::exception& e) {
      RejectQuietly(deferred_, Env(), e);
    }
  }

 private:
  void Settle() {
    cursor_->busy = false;
    if (cursor_->closing) cursor_->more = false;
    if (!cursor_->more) cursor_->stream.Close();
  }
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<StreamCursor> cursor_;
  size_t rows_;
  Failure failure_;
};

// openDump(options): a handle to a dump of these sockets (the keys of
// count; maxSockets bounds the rows handed over in all). Nothing is read
// until the first nextBatch.
Napi::Value OpenDump(const Napi::CallbackInfo& info) {
  DumpRequest req = ParseDump(ArgObject(info));
  Napi::Object o = info[0].As<Napi::Object>();
  req.keep_states = GetUint(o, "keepStates", 0, UINT32_MAX);
  if (req.keep_states & ~kValidStates) throw Napi::RangeError::New(info.Env(), "keepStates must be a mask of bits 1..11");
  StreamHandle handle = StreamHandle::New(
      info.Env(), new std::shared_ptr<StreamCursor>(std::make_shared<StreamCursor>(std::move(req))),
      [](Napi::Env, std::shared_ptr<StreamCursor>* p) { delete p; });
  handle.TypeTag(&kStreamTag);
  return handle;
}

// nextBatch(handle, rows): a promise of the next batch (at least `rows` rows
// unless the dump ends; done says it has), read on the libuv pool.
Napi::Value NextBatch(const Napi::CallbackInfo& info) {
  if (info.Length() < 2) throw Napi::TypeError::New(info.Env(), "expected a handle from openDump() and a row count");
  std::shared_ptr<StreamCursor> cursor = CursorOf(info.Env(), info[0]);
  if (!info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "rows must be a number");
  const double rows = info[1].As<Napi::Number>().DoubleValue();
  if (!(rows >= 1 && rows <= 1048576) || rows != static_cast<double>(static_cast<uint32_t>(rows))) {
    throw Napi::RangeError::New(info.Env(), "rows must be an integer from 1 to 1048576");
  }
  if (cursor->busy) throw Napi::Error::New(info.Env(), "a batch of this dump is already being read");
  auto* w = new BatchWorker(info.Env(), cursor, static_cast<size_t>(rows));
  cursor->busy = true;
  w->Queue();
  return w->Promise();
}

// closeDump(handle): ends the dump now (its netlink sockets closed), or as
// soon as the batch being read is in.
Napi::Value CloseDump(const Napi::CallbackInfo& info) {
  if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), "expected a handle from openDump()");
  std::shared_ptr<StreamCursor> cursor = CursorOf(info.Env(), info[0]);
  if (cursor->busy) {
    cursor->closing = true;
  } else {
    cursor->more = false;
    cursor->stream.Close();
    cursor->batch = SocketTable();
  }
  return info.Env().Undefined();
}

// Tests only: make the next run, conversion or external buffer fail.
Napi::Value FailNext(const Napi::CallbackInfo& info) {
  static const char* const kNames[] = {"none", "run", "convert", "external"};
  std::string what = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  for (int i = 0; i < 4; ++i) {
    if (what == kNames[i]) {
      g_fail_next.store(i);
      return info.Env().Undefined();
    }
  }
  throw Napi::TypeError::New(info.Env(), "__failNext takes none, run, convert or external");
}

// node-addon-api turns a thrown Napi::Error into a JS exception but lets any
// other C++ exception escape into N-API, which terminates the process: every
// entry point goes through this, so argument copying or queueing that runs
// out of memory is a JS error too.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw ToJsError(info.Env(), FailureOf(e));
  }
}

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, Guarded<F>, name));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Export<NewProgress>(env, exports, "newProgress");
  Export<ReadProgress>(env, exports, "readProgress");
  Export<Count>(env, exports, "count");
  Export<CountSync>(env, exports, "countSync");
  Export<Sample>(env, exports, "sample");
  Export<SampleSync>(env, exports, "sampleSync");
  Export<CgroupPathsAsync>(env, exports, "cgroupPaths");
  Export<CgroupPathsSync>(env, exports, "cgroupPathsSync");
  Export<ListNetnsAsync>(env, exports, "listNetns");
  Export<ListNetnsSync>(env, exports, "listNetnsSync");
  Export<Find>(env, exports, "findOwners");
  Export<FindSync>(env, exports, "findOwnersSync");
  Export<StartTimes>(env, exports, "startTimes");
  Export<StartTimesSync>(env, exports, "startTimesSync");
  Export<OpenDump>(env, exports, "openDump");
  Export<NextBatch>(env, exports, "nextBatch");
  Export<CloseDump>(env, exports, "closeDump");
  Export<ReleaseBuffers>(env, exports, "release");
  Export<FailNext>(env, exports, "__failNext");
  exports.Set("columns", ColumnsToJs(env));
  exports.Set("defaultThreads", Napi::Number::New(env, DefaultThreads()));
  exports.Set("maxThreads", Napi::Number::New(env, kMaxThreads));
  return exports;
}

}  // namespace
}  // namespace tcpcensus

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return tcpcensus::Init(env, exports);
}

NODE_API_MODULE(tcpcensus, InitModule)
