// errors.h: a C++ failure as a JS error. Every exception the sampling code
// throws (SysError, LimitError, UnsupportedError, OwnerSourceError,
// std::bad_alloc) becomes an Error with a code, and for a failed system call
// its syscall, errno, path and pid, so JS can tell them apart without parsing
// messages.
//
// Also the test failpoints, which make each stage fail on purpose.
//
// References: node-addon-api docs (Error), errno(3).
#pragma once

#include <napi.h>

#include <exception>
#include <string>

namespace tcpcensus {
namespace binding {

// What a failed call carries to JS besides its message. Plain strings, so a
// worker can fill it off the main thread and build the JS error later.
struct Failure {
  std::string message;
  std::string code;     // errno name, or ERR_TCPCENSUS_*
  std::string syscall;  // set for a failed system call
  std::string path;
  int err = 0;
  int pid = 0;
};

// Any thread.
Failure FailureOf(const std::exception& e);

// Main thread only.
Napi::Error ToJsError(Napi::Env env, const Failure& f);

// Any exception escaping a conversion on the main thread, as a JS error.
// Napi::Error is itself a std::exception: kept as it is.
Napi::Value AsJsError(Napi::Env env, const std::exception& e);

// Test failpoints.
// Set from the tests (binding.__failNext) to prove that a failure in each
// stage becomes a JS error and never takes the process down. One shot each.
enum Failpoint : int { kFailNone = 0, kFailRun = 1, kFailConvert = 2, kFailExternal = 3 };

// True once after the tests armed f (and disarms it). Any thread.
bool Fires(Failpoint f);

// __failNext(stage): tests only: make the next run, conversion or external
// buffer fail.
Napi::Value FailNext(const Napi::CallbackInfo& info);

}  // namespace binding
}  // namespace tcpcensus
