// args.h: reading a call's JS arguments into the plain requests of
// requests.h, on the main thread. Every check that can refuse an argument is
// here, with the message JS sees (a TypeError for a wrong type, a
// RangeError for a value out of range). Options are read as own properties
// only (Own).
//
// References: node-addon-api docs (Object, TypedArrayOf, External type tags).
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "requests.h"

namespace tcpcensus {
namespace binding {

// Own properties only: a key someone set on Object.prototype (a polluted
// prototype in the service that loads us) must not become an option.
Napi::Value Own(const Napi::Object& o, const char* key);

// An integer option from 0 to max, def when absent.
double GetNumber(const Napi::Object& o, const char* key, double def, double max);
uint32_t GetUint(const Napi::Object& o, const char* key, uint32_t def, uint32_t max);

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

// The first argument, which must be an options object.
Napi::Object ArgObject(const Napi::CallbackInfo& info);

// The handles JS holds: Externals tagged as ours, so an External from
// elsewhere is refused instead of being dereferenced as ours.
using ProgressHandle = Napi::External<std::shared_ptr<Progress>>;
constexpr napi_type_tag kProgressTag = {0x7463706365'6e7375ull, 0x70726f6772657373ull};  // "tcpcensu", "progress"
using StreamHandle = Napi::External<std::shared_ptr<StreamCursor>>;
constexpr napi_type_tag kStreamTag = {0x7463706365'6e7375ull, 0x64756d7073747265ull};  // "tcpcensu", "dumpstre"

std::shared_ptr<Progress> ProgressOf(Napi::Env env, Napi::Value v);
std::shared_ptr<StreamCursor> CursorOf(Napi::Env env, Napi::Value v);

// The options of count and openDump: families, states, maxSockets,
// bytecode, source, netns.
DumpRequest ParseDump(const Napi::Object& o);
// sample: ParseDump's, owners, ownerStates, keepStates, progress and the
// owner options.
SampleRequest ParseSample(const Napi::Object& o);
// findOwners: inodes, claims and the owner options.
FindRequest ParseFind(const Napi::Object& o);
StartTimesRequest ParseStartTimes(const Napi::Object& o);
// cgroupPaths and listNetns take an optional options object.
CgroupPathsRequest ParseCgroupPaths(const Napi::CallbackInfo& info);
NetnsRequest ParseNetns(const Napi::CallbackInfo& info);

}  // namespace binding
}  // namespace tcpcensus
