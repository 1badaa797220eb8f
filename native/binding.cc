// binding.cc: the only N-API file of tcpcensus.
//
// It checks arguments, copies them into plain structs, runs the sampling code
// (sock_diag.*, proc_owners.*) either on the calling thread (the *Sync forms)
// or on the libuv pool (AsyncWorker + Promise), and hands the columnar results
// to JS as typed arrays over the C++ vectors, without copying them.
// No JS value is touched off the main thread.
//
// References: node-addon-api docs (AsyncWorker, TypedArrayOf, ArrayBuffer
// with finalizer), sock_diag(7), proc(5).
#include <napi.h>
#include <string.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proc_owners.h"
#include "sock_diag.h"

namespace tcpcensus {
namespace {

constexpr uint32_t kValidStates = 0xFFEu;  // bits 1..11

struct CountRequest {
  DumpRequest dump;
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
  OwnerOptions owner_opts;
  std::shared_ptr<Progress> progress;  // keeps the counters alive for the worker
};

struct SampleResult {
  SocketTable table;
  OwnerResult owners;
  bool has_owners = false;
};

// What a failed call carries to JS besides its message.
struct Failure {
  std::string message;
  std::string syscall;
  int err = 0;
};

Failure FailureOf(const std::exception& e) {
  Failure f;
  f.message = e.what();
  if (auto* se = dynamic_cast<const SysError*>(&e)) {
    f.syscall = se->syscall();
    f.err = se->err();
  }
  return f;
}

Napi::Error ToJsError(Napi::Env env, const Failure& f) {
  Napi::Error error = Napi::Error::New(env, f.message);
  if (f.err != 0) {
    Napi::Object o = error.Value();
    o.Set("syscall", f.syscall);
    o.Set("errno", f.err);
    const char* name = strerrorname_np(f.err);
    o.Set("code", name ? name : "EUNKNOWN");
  }
  return error;
}

// ---- argument parsing: JS -> plain structs (main thread only) ----

uint32_t GetUint(const Napi::Object& o, const char* key, uint32_t def, uint32_t max) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsNumber()) {
    throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw Napi::RangeError::New(o.Env(), std::string(key) + " must be an integer from 0 to " +
                                             std::to_string(max));
  }
  return static_cast<uint32_t>(d);
}

DumpRequest ParseDump(const Napi::Object& o) {
  DumpRequest req;
  req.families = GetUint(o, "families", kFamilyIPv4 | kFamilyIPv6, 3);
  if (req.families == 0) throw Napi::RangeError::New(o.Env(), "families must be 1, 2 or 3");
  req.states = GetUint(o, "states", 0, UINT32_MAX);
  if (req.states == 0 || (req.states & ~kValidStates)) {
    throw Napi::RangeError::New(o.Env(), "states must be a non-empty mask of bits 1..11");
  }
  Napi::Value bc = o.Get("bytecode");
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
  return req;
}

Napi::Object ArgObject(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(info.Env(), "expected an options object");
  }
  return info[0].As<Napi::Object>();
}

SampleRequest ParseSample(const Napi::Object& o) {
  SampleRequest req;
  req.dump = ParseDump(o);
  Napi::Value owners = o.Get("owners");
  req.owners = owners.IsBoolean() && owners.As<Napi::Boolean>().Value();
  req.owner_opts.threads = GetUint(o, "threads", 0, kMaxThreads);
  Napi::Value pids = o.Get("pids");
  if (!pids.IsUndefined() && !pids.IsNull()) {
    if (!pids.IsTypedArray() || pids.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Napi::TypeError::New(o.Env(), "pids must be an Int32Array");
    }
    auto arr = pids.As<Napi::Int32Array>();
    for (size_t i = 0; i < arr.ElementLength(); ++i) {
      if (arr[i] <= 0) throw Napi::RangeError::New(o.Env(), "pids must be positive");
    }
    req.owner_opts.pids.assign(arr.Data(), arr.Data() + arr.ElementLength());
    if (req.owner_opts.pids.empty()) {
      throw Napi::RangeError::New(o.Env(), "pids must not be empty");
    }
  }
  Napi::Value proc_root = o.Get("procRoot");
  if (!proc_root.IsUndefined()) {
    if (!proc_root.IsString()) throw Napi::TypeError::New(o.Env(), "procRoot must be a string");
    req.owner_opts.proc_root = proc_root.As<Napi::String>().Utf8Value();
  }
  Napi::Value progress = o.Get("progress");
  if (!progress.IsUndefined()) {
    req.progress = ProgressOf(o.Env(), progress);
    req.owner_opts.progress_done = &req.progress->done;
    req.owner_opts.progress_total = &req.progress->total;
  }
  return req;
}

// ---- the work itself (any thread) ----

void RunSample(SampleRequest& req, SampleResult* res) {
  DumpSockets(req.dump, &res->table);
  if (req.owners) {
    FindOwners(res->table.inode.data(), res->table.size, req.owner_opts, &res->owners);
    res->has_owners = true;
  }
}

// ---- results: plain structs -> JS (main thread only) ----

// Wraps a vector in a typed array without copying; the vector is freed when
// the ArrayBuffer is collected.
template <typename T>
Napi::TypedArrayOf<T> Adopt(Napi::Env env, std::vector<T>&& v) {
  const size_t length = v.size();
  if (length == 0) {
    return Napi::TypedArrayOf<T>::New(env, 0);
  }
  auto* holder = new std::vector<T>(std::move(v));
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(
      env, holder->data(), length * sizeof(T),
      [](Napi::Env, void*, std::vector<T>* h) { delete h; }, holder);
  return Napi::TypedArrayOf<T>::New(env, length, buf, 0);
}

Napi::Value CountsToJs(Napi::Env env, const StateCounts& c) {
  Napi::Object o = Napi::Object::New(env);
  auto v4 = Napi::Float64Array::New(env, kStateSlots);
  auto v6 = Napi::Float64Array::New(env, kStateSlots);
  for (size_t i = 0; i < kStateSlots; ++i) {
    v4[i] = static_cast<double>(c.ipv4[i]);
    v6[i] = static_cast<double>(c.ipv6[i]);
  }
  o.Set("ipv4", v4);
  o.Set("ipv6", v6);
  return o;
}

Napi::Value SampleToJs(Napi::Env env, SampleResult& r) {
  SocketTable& t = r.table;
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", static_cast<double>(t.size));
  o.Set("state", Adopt(env, std::move(t.state)));
  o.Set("family", Adopt(env, std::move(t.family)));
  o.Set("localAddr", Adopt(env, std::move(t.local_addr)));
  o.Set("remoteAddr", Adopt(env, std::move(t.remote_addr)));
  o.Set("localPort", Adopt(env, std::move(t.local_port)));
  o.Set("remotePort", Adopt(env, std::move(t.remote_port)));
  o.Set("recvQ", Adopt(env, std::move(t.recv_q)));
  o.Set("sendQ", Adopt(env, std::move(t.send_q)));
  o.Set("uid", Adopt(env, std::move(t.uid)));
  o.Set("inode", Adopt(env, std::move(t.inode)));
  o.Set("ifindex", Adopt(env, std::move(t.ifindex)));
  o.Set("cookie", Adopt(env, std::move(t.cookie)));
  if (r.has_owners) {
    OwnerResult& w = r.owners;
    Napi::Object owners = Napi::Object::New(env);
    owners.Set("owner", Adopt(env, std::move(w.owner)));
    Napi::Array procs = Napi::Array::New(env, w.processes.size());
    for (size_t i = 0; i < w.processes.size(); ++i) {
      const ProcessInfo& p = w.processes[i];
      Napi::Object po = Napi::Object::New(env);
      po.Set("pid", p.pid);
      po.Set("comm", p.comm);
      po.Set("cmdline", p.cmdline);
      po.Set("sockets", static_cast<double>(p.sockets));
      procs[i] = po;
    }
    owners.Set("processes", procs);
    owners.Set("wanted", static_cast<double>(w.wanted));
    owners.Set("found", static_cast<double>(w.found));
    owners.Set("shared", static_cast<double>(w.shared));
    owners.Set("unreadable", static_cast<double>(w.unreadable));
    owners.Set("vanished", static_cast<double>(w.vanished));
    owners.Set("walked", static_cast<double>(w.walked));
    owners.Set("candidates", static_cast<double>(w.candidates));
    owners.Set("complete", w.complete);
    o.Set("owners", owners);
  }
  return o;
}

// ---- async workers ----

template <typename Request, typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Run = void (*)(Request&, Result*);
  using Convert = Napi::Value (*)(Napi::Env, Result&);

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
    }
  }
  void OnOK() override {
    // Converting can throw (an allocation refused): reject, never leave the
    // promise pending.
    try {
      deferred_.Resolve(convert_(Env(), result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error&) override {
    deferred_.Reject(ToJsError(Env(), failure_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Request req_;
  Result result_;
  Run run_;
  Convert convert_;
  Failure failure_;
};

void RunCount(CountRequest& req, StateCounts* out) { CountStates(req.dump, out); }
Napi::Value ConvertCount(Napi::Env env, StateCounts& c) { return CountsToJs(env, c); }
Napi::Value ConvertSample(Napi::Env env, SampleResult& r) { return SampleToJs(env, r); }

// Runs a request on this thread and throws a JS error on failure.
template <typename Request, typename Result>
Napi::Value RunSync(Napi::Env env, Request& req, void (*run)(Request&, Result*),
                    Napi::Value (*convert)(Napi::Env, Result&)) {
  Result result;
  try {
    run(req, &result);
  } catch (const std::exception& e) {
    throw ToJsError(env, FailureOf(e));
  }
  return convert(env, result);
}

Napi::Value Count(const Napi::CallbackInfo& info) {
  CountRequest req{ParseDump(ArgObject(info))};
  auto* w = new PromiseWorker<CountRequest, StateCounts>(info.Env(), std::move(req), RunCount,
                                                         ConvertCount);
  w->Queue();
  return w->Promise();
}

Napi::Value CountSync(const Napi::CallbackInfo& info) {
  CountRequest req{ParseDump(ArgObject(info))};
  return RunSync(info.Env(), req, RunCount, ConvertCount);
}

Napi::Value Sample(const Napi::CallbackInfo& info) {
  SampleRequest req = ParseSample(ArgObject(info));
  auto* w = new PromiseWorker<SampleRequest, SampleResult>(info.Env(), std::move(req), RunSample,
                                                           ConvertSample);
  w->Queue();
  return w->Promise();
}

Napi::Value SampleSync(const Napi::CallbackInfo& info) {
  SampleRequest req = ParseSample(ArgObject(info));
  return RunSync(info.Env(), req, RunSample, ConvertSample);
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("newProgress", Napi::Function::New(env, NewProgress, "newProgress"));
  exports.Set("readProgress", Napi::Function::New(env, ReadProgress, "readProgress"));
  exports.Set("count", Napi::Function::New(env, Count, "count"));
  exports.Set("countSync", Napi::Function::New(env, CountSync, "countSync"));
  exports.Set("sample", Napi::Function::New(env, Sample, "sample"));
  exports.Set("sampleSync", Napi::Function::New(env, SampleSync, "sampleSync"));
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
