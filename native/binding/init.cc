// init.cc: the addon's entry points and its exports table. Each entry point
// is a parse (args.h), a run (requests.h) and a convert (convert.h), queued
// on the libuv pool (worker.h) or run on the calling thread (the *Sync
// forms); every one is exported through Guarded, so no C++ exception
// reaches N-API.
//
// The other files of binding/ (all the N-API code of tcpcensus, and nothing
// else): args (JS options to plain requests), requests and run (what each
// call carries, and the hand-over to the sampling code), convert (results
// to typed arrays; the adopted buffers and release()), worker (promises and
// the libuv pool), errors (C++ failures as JS errors, test failpoints).
//
// References: node-addon-api docs (Function, External, AsyncWorker),
// sock_diag(7), proc(5), setns(2), cgroups(7).
#include <napi.h>

#include <memory>
#include <string>
#include <utility>

#include "args.h"
#include "convert.h"
#include "errors.h"
#include "requests.h"
#include "worker.h"

namespace tcpcensus {
namespace binding {
namespace {

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
  ProgressHandle handle = ProgressHandle::New(info.Env(), new std::shared_ptr<Progress>(std::make_shared<Progress>()),
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
// For a caller that writes rows as they come (tcpcensus list): each
// nextBatch reads the next rows on the libuv pool and copies them into
// V8-owned typed arrays. One batch at a time per handle.

// openDump(options): a handle to a dump of these sockets (the keys of
// count; maxSockets bounds the rows handed over in all). Nothing is read
// until the first nextBatch.
Napi::Value OpenDump(const Napi::CallbackInfo& info) {
  DumpRequest req = ParseDump(ArgObject(info));
  Napi::Object o = info[0].As<Napi::Object>();
  req.keep_states = GetUint(o, "keepStates", 0, UINT32_MAX);
  if (req.keep_states & ~kValidStates)
    throw Napi::RangeError::New(info.Env(), "keepStates must be a mask of bits 1..11");
  StreamHandle handle =
      StreamHandle::New(info.Env(), new std::shared_ptr<StreamCursor>(std::make_shared<StreamCursor>(std::move(req))),
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
}  // namespace binding
}  // namespace tcpcensus

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tcpcensus::binding::Init(env, exports); }

NODE_API_MODULE(tcpcensus, InitModule)
