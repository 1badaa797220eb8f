// convert.h: results to JS, on the main thread. The columns of a table go
// to JS as typed arrays: an async result adopts the C++ vectors as external
// ArrayBuffers (no copy; freed when V8 collects them, or earlier by
// release()), a Sync result is copied into V8-owned ArrayBuffers instead,
// because external memory is only released on an event-loop turn, which a
// loop of Sync calls never gives: V8 collects its own buffers whenever it
// needs room. Where the runtime refuses external buffers (Electron's
// sandbox) the async form copies too.
//
// References: node-addon-api docs (TypedArrayOf, ArrayBuffer), Node-API docs
// (napi_create_external_arraybuffer, napi_adjust_external_memory,
// napi_type_tag_object, napi_detach_arraybuffer).
#pragma once

#include <napi.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "errors.h"
#include "requests.h"

namespace tcpcensus {
namespace binding {

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

// Makes buffer (external, over a->data) carry its control block a for
// release(), once the caller has handed a to the finalizer.
void TrackAdopted(napi_env env, napi_value buffer, Adopted* a);

// The finalizer of an adopted buffer: frees the vector (unless release()
// did) and the control block.
void FinalizeAdopted(napi_env env, void* data, void* hint);

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
  napi_status status = Fires(kFailExternal) ? napi_no_external_buffers_allowed
                                            : napi_create_external_arraybuffer(env, holder->data(), length * sizeof(T),
                                                                               FinalizeAdopted, control.get(), &buffer);
  if (status != napi_ok) {
    // Refused (or failed): the holder is still ours; copy and let it go.
    return CopyOut(env, *holder);
  }
  holder.release();                              // the control block owns it now
  TrackAdopted(env, buffer, control.release());  // and the finalizer the control block
  return Napi::TypedArrayOf<T>::New(env, length, Napi::ArrayBuffer(env, buffer), 0);
}

// release(buffers): frees adopted buffers now, detaching each (so no view
// can reach freed memory: a detached buffer reads as empty). Buffers not
// adopted by us (copies, anything else) are left alone. Main thread only.
Napi::Value ReleaseBuffers(const Napi::CallbackInfo& info);

// The results of the runs in requests.h.
Napi::Value CountsToJs(Napi::Env env, CountResult& r, Ownership how);
Napi::Value SampleToJs(Napi::Env env, SampleResult& r, Ownership how);
Napi::Value FindToJs(Napi::Env env, FindResult& r, Ownership how);
Napi::Value StartTimesToJs(Napi::Env env, StartTimesResult& r, Ownership how);
Napi::Value CgroupPathsToJs(Napi::Env env, CgroupPaths& r, Ownership how);
Napi::Value NetnsToJs(Napi::Env env, NetnsList& r, Ownership how);
// The batch a nextBatch read, always copied (a batch is small: the copy is
// cheap and V8 sees the memory it holds).
Napi::Value BatchToJs(Napi::Env env, StreamCursor& c);

// The column list, for the loader's check (src/core/addon.ts) that
// src/core/columns.ts agrees with it.
Napi::Value ColumnsToJs(Napi::Env env);

}  // namespace binding
}  // namespace tcpcensus
