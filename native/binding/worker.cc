// worker.cc: the quiet rejection and the batch worker (worker.h).
#include "worker.h"

#include <new>

namespace tcpcensus {
namespace binding {

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

BatchWorker::BatchWorker(Napi::Env env, std::shared_ptr<StreamCursor> cursor, size_t rows)
    : Napi::AsyncWorker(env, "tcpcensus"),
      deferred_(Napi::Promise::Deferred::New(env)),
      cursor_(std::move(cursor)),
      rows_(rows) {}

void BatchWorker::Execute() {
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

void BatchWorker::OnOK() {
  Napi::Env env = Env();
  Settle();
  try {
    deferred_.Resolve(BatchToJs(env, *cursor_));
  } catch (const std::exception& e) {
    RejectQuietly(deferred_, env, e);
  }
  if (!cursor_->more) cursor_->batch = SocketTable();  // the last batch: its columns go now
}

void BatchWorker::OnError(const Napi::Error&) {
  Settle();
  try {
    deferred_.Reject(ToJsError(Env(), failure_).Value());
  } catch (const std::exception& e) {
    RejectQuietly(deferred_, Env(), e);
  }
}

void BatchWorker::Settle() {
  cursor_->busy = false;
  if (cursor_->closing) cursor_->more = false;
  if (!cursor_->more) cursor_->stream.Close();
}

}  // namespace binding
}  // namespace tcpcensus
