// worker.h: how a request runs. The async form runs it on the libuv pool
// (Napi::AsyncWorker) and settles a Promise on the main thread; the Sync
// form runs it on the calling thread and throws. In both, no JS value is
// touched off the main thread and no C++ exception reaches N-API: each one
// becomes a rejected or thrown JS error (errors.h).
//
// A request is three plain functions: a parse (args.h, main thread), a run
// (any thread, no N-API) and a convert (convert.h, main thread).
//
// References: node-addon-api docs (AsyncWorker, Promise::Deferred).
#pragma once

#include <napi.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <utility>

#include "convert.h"
#include "errors.h"
#include "requests.h"

namespace tcpcensus {
namespace binding {

// Rejects a worker's promise with e, in any case: out of memory even for the
// error, it rejects with undefined; and when the environment is going away (a
// worker thread exiting with a call in flight) no N-API call works, so
// nothing is owed and nothing may throw: a throw out of a completion escapes
// into Node's cleanup and aborts the whole process.
void RejectQuietly(Napi::Promise::Deferred& d, Napi::Env env, const std::exception& e);

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

// Runs a request on the libuv pool; returns the promise of its result.
template <typename Request, typename Result>
Napi::Value Queue(Napi::Env env, Request req, void (*run)(Request&, Result*),
                  Napi::Value (*convert)(Napi::Env, Result&, Ownership)) {
  auto* w = new PromiseWorker<Request, Result>(env, std::move(req), run, convert);
  w->Queue();
  return w->Promise();
}

// Reads the next batch of a dump read in batches (openDump) on the libuv
// pool: at least rows rows unless the dump ends. The caller marks the cursor
// busy before queueing it; settling clears that, and closes the dump once it
// has no rows left or closeDump came meanwhile.
class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Env env, std::shared_ptr<StreamCursor> cursor, size_t rows);
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error&) override;

 private:
  void Settle();
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<StreamCursor> cursor_;
  size_t rows_;
  Failure failure_;
};

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

}  // namespace binding
}  // namespace tcpcensus
