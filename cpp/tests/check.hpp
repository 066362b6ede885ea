// A minimal test harness for the C++ tests: CHECK records a failure and goes on (never compiled
// out, unlike assert under NDEBUG), TEST registers a function, main() runs them all and returns
// the number of failures. No vendored framework: these tests need nothing more.
#pragma once
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace vcdfast::test {

struct Case {
  const char* name;
  std::function<void()> run;
};

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

inline int& failures() {
  static int count = 0;
  return count;
}

struct Register {
  Register(const char* name, std::function<void()> run) { cases().push_back({name, std::move(run)}); }
};

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "%s:%d: FAILED %s\n", file, line, what.c_str());
}

}  // namespace vcdfast::test

#define VCDFAST_CAT2(a, b) a##b
#define VCDFAST_CAT(a, b) VCDFAST_CAT2(a, b)
#define TEST(name)                                                                                  \
  static void name();                                                                               \
  static const ::vcdfast::test::Register VCDFAST_CAT(register_, name)(#name, name);                \
  static void name()

#define CHECK(cond) \
  ((cond) ? (void)0 : ::vcdfast::test::fail(__FILE__, __LINE__, #cond))

// Checks that `expr` throws `Exception` whose what() contains `text`.
#define CHECK_THROWS(Exception, expr, text)                                                            \
  do {                                                                                                 \
    bool thrown_ = false;                                                                              \
    try {                                                                                              \
      (void)(expr);                                                                                    \
    } catch (const Exception& e_) {                                                                    \
      thrown_ = std::string(e_.what()).find(text) != std::string::npos;                               \
      if (!thrown_) ::vcdfast::test::fail(__FILE__, __LINE__, std::string("message: ") + e_.what()); \
      thrown_ = true;                                                                                  \
    }                                                                                                  \
    if (!thrown_) ::vcdfast::test::fail(__FILE__, __LINE__, "no " #Exception " from " #expr);         \
  } while (0)
