// args.cc: JS arguments to plain requests (args.h).
#include "args.h"

#include <cstdlib>

#include "../owners/source.h"

namespace tcpcensus {
namespace binding {

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
    throw Napi::RangeError::New(
        o.Env(), std::string(key) + " must be an integer from 0 to " + std::to_string(static_cast<uint64_t>(max)));
  }
  return d;
}

uint32_t GetUint(const Napi::Object& o, const char* key, uint32_t def, uint32_t max) {
  return static_cast<uint32_t>(GetNumber(o, key, def, max));
}

Napi::Object ArgObject(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(info.Env(), "expected an options object");
  }
  return info[0].As<Napi::Object>();
}

std::shared_ptr<Progress> ProgressOf(Napi::Env env, Napi::Value v) {
  if (!v.IsExternal() || !v.As<ProgressHandle>().CheckTypeTag(&kProgressTag)) {
    throw Napi::TypeError::New(env, "progress must be a handle from newProgress()");
  }
  return *v.As<ProgressHandle>().Data();
}

std::shared_ptr<StreamCursor> CursorOf(Napi::Env env, Napi::Value v) {
  if (!v.IsExternal() || !v.As<StreamHandle>().CheckTypeTag(&kStreamTag)) {
    throw Napi::TypeError::New(env, "expected a handle from openDump()");
  }
  return *v.As<StreamHandle>().Data();
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

namespace {

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

// The owner options every call that finds owners takes: threads, pids,
// procRoot, ownerSource, btfPath, and for an incremental caller firstPids,
// probes (pid, fd pairs) and probesOnly. Keys it does not know are ignored.
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
  // The names come from the sources themselves (owners/source.h).
  Napi::Value source = Own(o, "ownerSource");
  opts.source = "proc";
  if (!source.IsUndefined()) {
    const std::string s = source.IsString() ? source.As<Napi::String>().Utf8Value() : "";
    if (!IsOwnerSourceName(s)) {
      throw Napi::TypeError::New(o.Env(), "ownerSource must be " + OwnerSourceChoices());
    }
    opts.source = s;
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

}  // namespace

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

NetnsRequest ParseNetns(const Napi::CallbackInfo& info) {
  NetnsRequest req;
  if (info.Length() < 1 || info[0].IsUndefined()) return req;
  req.proc_root = GetProcRoot(ArgObject(info));
  return req;
}

}  // namespace binding
}  // namespace tcpcensus
