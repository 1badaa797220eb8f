// check.h: the native unit tests' few macros. Each TEST registers itself;
// main.cc runs them all. A failed CHECK prints where and what, and marks
// the test failed; the tests run under AddressSanitizer and
// UndefinedBehaviorSanitizer (native/test/Makefile), which abort on the first
// memory error.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace tcpcensus_test {

struct Test {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Test>& Registry() {
  static std::vector<Test> tests;
  return tests;
}

inline int& Failures() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, std::function<void()> fn) { Registry().push_back({name, std::move(fn)}); }
};

}  // namespace tcpcensus_test

#define TC_CONCAT2(a, b) a##b
#define TC_CONCAT(a, b) TC_CONCAT2(a, b)
#define TEST(name)                                                           \
  static void name();                                                        \
  static ::tcpcensus_test::Register TC_CONCAT(register_, name)(#name, name); \
  static void name()

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++::tcpcensus_test::Failures();                                                 \
    }                                                                                 \
  } while (0)

#define CHECK_EQ(a, b)                                                                                 \
  do {                                                                                                 \
    const auto& tc_a = (a);                                                                            \
    const auto& tc_b = (b);                                                                            \
    if (!(tc_a == tc_b)) {                                                                             \
      std::fprintf(stderr, "  %s:%d: CHECK_EQ(%s, %s) failed: %s vs %s\n", __FILE__, __LINE__, #a, #b, \
                   ::tcpcensus_test::Show(tc_a).c_str(), ::tcpcensus_test::Show(tc_b).c_str());        \
      ++::tcpcensus_test::Failures();                                                                  \
    }                                                                                                  \
  } while (0)

// Runs stmt and checks it throws E; pred(e) may check the exception further.
#define CHECK_THROWS(E, stmt, pred)                                                                                   \
  do {                                                                                                                \
    bool tc_thrown = false;                                                                                           \
    try {                                                                                                             \
      stmt;                                                                                                           \
    } catch (const E& e) {                                                                                            \
      tc_thrown = true;                                                                                               \
      if (!(pred(e))) {                                                                                               \
        std::fprintf(stderr, "  %s:%d: %s threw %s: %s, not as expected\n", __FILE__, __LINE__, #stmt, #E, e.what()); \
        ++::tcpcensus_test::Failures();                                                                               \
      }                                                                                                               \
    }                                                                                                                 \
    if (!tc_thrown) {                                                                                                 \
      std::fprintf(stderr, "  %s:%d: %s did not throw %s\n", __FILE__, __LINE__, #stmt, #E);                          \
      ++::tcpcensus_test::Failures();                                                                                 \
    }                                                                                                                 \
  } while (0)

namespace tcpcensus_test {
inline std::string Show(const std::string& s) { return "\"" + s + "\""; }
inline std::string Show(const char* s) { return Show(std::string(s)); }
template <typename T>
std::string Show(const T& v) {
  if constexpr (std::is_enum<T>::value) {
    return std::to_string(static_cast<long long>(v));
  } else if constexpr (std::is_arithmetic<T>::value) {
    return std::to_string(v);
  } else {
    return "(value)";
  }
}
}  // namespace tcpcensus_test
