/* SPDX-License-Identifier: BSD-2-Clause */
/* A tiny unit-test harness: typed asserts print both operands with
 * file:line; the runner prints one line per failure and "N passed, N failed". */
#ifndef PTC_TEST_UNIT_H
#define PTC_TEST_UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int unit_failed_checks;
void unit_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Run one test function; counts pass/fail by whether it failed any check. */
void unit_run(const char *name, void (*fn)(void));

#define TEST(name) static void name(void)
#define RUN(name)  unit_run(#name, name)

#define ASSERT_TRUE(c)                                                                             \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            unit_fail(__FILE__, __LINE__, "expected true: %s", #c);                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_INT_EQ(a, b)                                                                        \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                                     \
            unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                    \
                      a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Compare a counted string (ptr,len) with a C string. */
#define ASSERT_MEM_EQ(p, n, s)                                                                     \
    do {                                                                                           \
        const char *p_ = (const char *)(p), *s_ = (s);                                             \
        size_t n_ = (size_t)(n);                                                                   \
        if (p_ == NULL || n_ != strlen(s_) || memcmp(p_, s_, n_) != 0) {                           \
            unit_fail(__FILE__, __LINE__, "%s == %s: \"%.*s\" != \"%s\"", #p, #s,                  \
                      p_ ? (int)n_ : 6, p_ ? p_ : "(null)", s_);                                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_NULL(p)     ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)

#endif
