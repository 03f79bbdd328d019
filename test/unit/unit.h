/*
 * unit.h - a tiny C unit test framework for the language core.
 *
 *   static void test_x(void) { CHECK(1 + 1 == 2); CHECK_STR_EQ(s, "a"); }
 *   UNIT_MAIN(T(test_x), T(test_y))
 *
 * Each test runs inside valk_pcall, so an uncaught Valkyria error fails the
 * test instead of ending the binary. main initialises the collector and the
 * interpreter, prints "N passed, N failed" and exits 1 on any failure.
 * UNIT_MAIN_PRE(fn, ...) runs fn() before valk_gc_init (e.g. setenv).
 */
#ifndef UNIT_H
#define UNIT_H

#include "valk.h"

#include <stdio.h>
#include <string.h>

static int unit_checks_failed; /* failures in the current test */
static int unit_passed, unit_failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      unit_checks_failed++;                                                    \
    }                                                                          \
  } while (0)

#define CHECK_STR_EQ(actual, expected)                                              \
  do {                                                                              \
    const char *a_ = (actual), *e_ = (expected);                                    \
    if (!a_ || !e_ || strcmp(a_, e_) != 0) {                                        \
      fprintf(stderr, "%s:%d: CHECK_STR_EQ failed: %s\n  expected: %s\n  actual:   %s\n", \
              __FILE__, __LINE__, #actual, e_ ? e_ : "(null)", a_ ? a_ : "(null)");  \
      unit_checks_failed++;                                                         \
    }                                                                               \
  } while (0)

#define CHECK_INT_EQ(actual, expected)                                                 \
  do {                                                                                 \
    long long a_ = (long long)(actual), e_ = (long long)(expected);                    \
    if (a_ != e_) {                                                                    \
      fprintf(stderr, "%s:%d: CHECK_INT_EQ failed: %s: expected %lld, got %lld\n",     \
              __FILE__, __LINE__, #actual, e_, a_);                                    \
      unit_checks_failed++;                                                            \
    }                                                                                  \
  } while (0)

typedef struct { const char *name; void (*fn)(void); } unit_test;
#define T(fn) {#fn, fn}

static void unit_call(void *ud) { ((const unit_test *)ud)->fn(); }

static int unit_main(void (*pre)(void), const unit_test *tests, size_t n) {
  if (pre) pre();
  valk_gc_init();
  valk_init(0, NULL);
  for (size_t i = 0; i < n; i++) {
    unit_checks_failed = 0;
    fflush(stdout);
    V err = valk_pcall(unit_call, (void *)&tests[i]);
    if (err) {
      fprintf(stderr, "%s: uncaught error: %s", tests[i].name, AS_STR(valk_error_report(err))->s);
      unit_checks_failed++;
    }
    if (unit_checks_failed) { unit_failed++; fprintf(stderr, "FAIL %s\n", tests[i].name); }
    else unit_passed++;
  }
  printf("%s\n%d passed, %d failed\n", __BASE_FILE__, unit_passed, unit_failed);
  return unit_failed ? 1 : 0;
}

#define UNIT_MAIN_PRE(pre, ...)                                         \
  int main(void) {                                                      \
    static const unit_test tests_[] = {__VA_ARGS__};                    \
    return unit_main(pre, tests_, sizeof tests_ / sizeof tests_[0]);    \
  }
#define UNIT_MAIN(...) UNIT_MAIN_PRE(NULL, __VA_ARGS__)

#endif
