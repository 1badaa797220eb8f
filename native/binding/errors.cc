// errors.cc: a C++ failure as a JS error (errors.h).
#include "errors.h"

#include <atomic>
#include <new>
#include <string>

#include "../common/sys_error.h"
#include "../owners/owners.h"

namespace tcpcensus {
namespace binding {

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

Napi::Value AsJsError(Napi::Env env, const std::exception& e) {
  if (auto* ne = dynamic_cast<const Napi::Error*>(&e)) return ne->Value();
  return ToJsError(env, FailureOf(e)).Value();
}

namespace {
std::atomic<int> g_fail_next{kFailNone};
}  // namespace

bool Fires(Failpoint f) {
  int want = f;
  return g_fail_next.compare_exchange_strong(want, kFailNone);
}

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

}  // namespace binding
}  // namespace tcpcensus
