/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of core/ptc_regex.c: compile errors, flags, captures, named groups,
 * match offsets and the match limits that stop catastrophic backtracking. */
#include <time.h>

#include "core/ptc_pool.h"
#include "core/ptc_regex.h"
#include "test/unit/unit.h"

void suite_regex(void);

static char re_err[512];

static ptc_regex_t *
re_compile(ptc_pool_t *pool, const char *pattern, unsigned flags)
{
    ptc_str_t p = {strlen(pattern), (u_char *)pattern};
    re_err[0] = '\0';
    return ptc_regex_compile(pool, &p, flags, re_err, sizeof(re_err));
}

/* Test bodies take the pool from a wrapper that always destroys it, so a
 * failed assertion does not leak. */
static int
re_exec(const ptc_regex_t *re, const char *subject, int *ov, size_t pairs)
{
    return ptc_regex_exec(re, (const u_char *)subject, strlen(subject), ov, pairs);
}

static void
regex_compile_errors_body(ptc_pool_t *pool)
{
    ASSERT_NULL(re_compile(pool, "a(b", 0));
    ASSERT_STR_EQ(re_err,
                  "pcre2_compile() failed: missing closing parenthesis in \"a(b\" (offset 3)");
    ASSERT_NULL(re_compile(pool, "x[z-a]y", 0));
    ASSERT_STR_EQ(re_err, "pcre2_compile() failed: range out of order in character class in "
                          "\"x[z-a]y\" at \"a]y\" (offset 4)");
    ASSERT_NULL(re_compile(pool, "*abc", 0));
    ASSERT_STR_EQ(re_err, "pcre2_compile() failed: quantifier does not follow a repeatable item "
                          "in \"*abc\" at \"*abc\" (offset 0)");
    /* the pattern need not be NUL-terminated */
    ptc_str_t p = {2, (u_char *)"a)bc"};
    ASSERT_NULL(ptc_regex_compile(pool, &p, 0, re_err, sizeof(re_err)));
    ASSERT_STR_EQ(re_err,
                  "pcre2_compile() failed: unmatched closing parenthesis in \"a)\" at \")\" "
                  "(offset 1)");
}

TEST(regex_compile_errors)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    regex_compile_errors_body(pool);
    ptc_pool_destroy(pool);
}

static void
regex_match_offsets_body(ptc_pool_t *pool)
{
    int ov[30];
    ptc_regex_t *re = re_compile(pool, "b+", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(ptc_regex_captures(re), 0);
    ASSERT_INT_EQ(re_exec(re, "aabbbc", ov, 10), 1);
    ASSERT_INT_EQ(ov[0], 2);
    ASSERT_INT_EQ(ov[1], 5);
    ASSERT_INT_EQ(re_exec(re, "aaac", ov, 10), PTC_DECLINED);
    ASSERT_INT_EQ(re_exec(re, "", ov, 10), PTC_DECLINED);

    re = re_compile(pool, "^/img/([a-z]+)\\.(png|jpg)$", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(ptc_regex_captures(re), 2);
    ASSERT_INT_EQ(re_exec(re, "/img/logo.png", ov, 10), 3);
    ASSERT_INT_EQ(ov[0], 0);
    ASSERT_INT_EQ(ov[1], 13);
    ASSERT_INT_EQ(ov[2], 5);
    ASSERT_INT_EQ(ov[3], 9);
    ASSERT_INT_EQ(ov[4], 10);
    ASSERT_INT_EQ(ov[5], 13);
    ASSERT_INT_EQ(re_exec(re, "/img/logo.gif", ov, 10), PTC_DECLINED);
    /* fewer pairs than groups: only what fits */
    ov[2] = 99;
    ASSERT_INT_EQ(re_exec(re, "/img/a.jpg", ov, 1), 1);
    ASSERT_INT_EQ(ov[1], 10);
    ASSERT_INT_EQ(ov[2], 99);

    /* an unset group in the middle reads -1; trailing unset groups are not counted */
    re = re_compile(pool, "(a)|(b)(c)?", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(ptc_regex_captures(re), 3);
    ASSERT_INT_EQ(re_exec(re, "xb", ov, 10), 3);
    ASSERT_INT_EQ(ov[0], 1);
    ASSERT_INT_EQ(ov[1], 2);
    ASSERT_INT_EQ(ov[2], -1);
    ASSERT_INT_EQ(ov[3], -1);
    ASSERT_INT_EQ(ov[4], 1);
    ASSERT_INT_EQ(ov[5], 2);
    ASSERT_INT_EQ(re_exec(re, "a", ov, 10), 2);

    /* a length, not a NUL, ends the subject; binary bytes are fine */
    re = re_compile(pool, "c$", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(ptc_regex_exec(re, (const u_char *)"abcd", 3, ov, 10), 1);
    ASSERT_INT_EQ(ov[0], 2);
    ASSERT_INT_EQ(ptc_regex_exec(re, (const u_char *)"a\0c", 3, ov, 10), 1);
    ASSERT_INT_EQ(ov[0], 2);
    re = re_compile(pool, "^$", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(ptc_regex_exec(re, NULL, 0, ov, 10), 1);
    ASSERT_INT_EQ(ov[0], 0);
    ASSERT_INT_EQ(ov[1], 0);
}

TEST(regex_match_offsets)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    regex_match_offsets_body(pool);
    ptc_pool_destroy(pool);
}

static void
regex_caseless_body(ptc_pool_t *pool)
{
    int ov[6];
    ptc_regex_t *re = re_compile(pool, "\\.PnG$", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(re_exec(re, "/a.png", ov, 3), PTC_DECLINED);
    ASSERT_INT_EQ(re_exec(re, "/a.PnG", ov, 3), 1);
    re = re_compile(pool, "\\.PnG$", PTC_REGEX_CASELESS);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(re_exec(re, "/a.png", ov, 3), 1);
    ASSERT_INT_EQ(ov[0], 2);
    ASSERT_INT_EQ(ov[1], 6);
    ASSERT_INT_EQ(re_exec(re, "/A.PNG", ov, 3), 1);
    ASSERT_INT_EQ(re_exec(re, "/a.pngx", ov, 3), PTC_DECLINED);
}

TEST(regex_caseless)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    regex_caseless_body(pool);
    ptc_pool_destroy(pool);
}

static void
regex_named_groups_body(ptc_pool_t *pool)
{
    ptc_str_t names[4];
    unsigned idx[4];
    ptc_regex_t *re = re_compile(pool, "(?<year>\\d{4})-(\\d\\d)-(?<day>\\d\\d)(?<t>T)?", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(ptc_regex_captures(re), 4);
    ASSERT_INT_EQ(ptc_regex_names(re, names, idx, 4), 3);
    /* PCRE2's name table is sorted by name */
    ASSERT_MEM_EQ(names[0].data, names[0].len, "day");
    ASSERT_INT_EQ(idx[0], 3);
    ASSERT_MEM_EQ(names[1].data, names[1].len, "t");
    ASSERT_INT_EQ(idx[1], 4);
    ASSERT_MEM_EQ(names[2].data, names[2].len, "year");
    ASSERT_INT_EQ(idx[2], 1);
    /* a short array gets the first entries, the count is still the total */
    names[1].len = 99;
    ASSERT_INT_EQ(ptc_regex_names(re, names, idx, 1), 3);
    ASSERT_MEM_EQ(names[0].data, names[0].len, "day");
    ASSERT_INT_EQ(names[1].len, 99);
    int ov[10];
    ASSERT_INT_EQ(re_exec(re, "on 2024-05-17", ov, 5), 4);
    ASSERT_INT_EQ(ov[2], 3);
    ASSERT_INT_EQ(ov[3], 7);
    ASSERT_INT_EQ(ov[6], 11);
    ASSERT_INT_EQ(ov[7], 13);

    re = re_compile(pool, "(a)(b)", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(ptc_regex_names(re, names, idx, 4), 0);
}

TEST(regex_named_groups)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    regex_named_groups_body(pool);
    ptc_pool_destroy(pool);
}

static double
re_seconds(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
regex_limits_body(ptc_pool_t *pool)
{
    static const char subject[] =
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
    int ov[6];
    ptc_regex_t *re = re_compile(pool, "(a+)+$", 0);
    ASSERT_NOT_NULL(re);
    ptc_regex_set_limits(1000, 100);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = re_exec(re, subject, ov, 3);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ASSERT_INT_EQ(rc, PTC_ERROR);
    ASSERT_TRUE(re_seconds(&t0, &t1) < 1.0);
    /* an easy match still succeeds under the low limits */
    ASSERT_INT_EQ(re_exec(re, "xaaa", ov, 3), 2);
    ASSERT_INT_EQ(ov[0], 1);
    ASSERT_INT_EQ(ov[1], 4);
}

TEST(regex_match_limits)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    regex_limits_body(pool);
    ptc_regex_set_limits(PTC_REGEX_MATCH_LIMIT, PTC_REGEX_DEPTH_LIMIT);
    ptc_pool_destroy(pool);
}

/* The built-in limits stop ^(a+)+$ on 30 'a' and a 'b' (2^30 paths) and
 * the failure reads as a log line naming subject and pattern. */
static void
regex_exec_error_body(ptc_pool_t *pool)
{
    int ov[6];
    char msg[512];
    ptc_regex_t *re = re_compile(pool, "^(a+)+$", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_STR_EQ((const char *)ptc_regex_pattern(re)->data, "^(a+)+$");
    ASSERT_INT_EQ(re_exec(re, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", ov, 3), PTC_ERROR);
    ptc_regex_exec_error(re, (const u_char *)"/a\"\n\\", 5, msg, sizeof(msg));
    ASSERT_STR_EQ(msg, "pcre2_match() failed: match limit exceeded on \"/a\\x22\\x0a\\x5c\" "
                       "using \"^(a+)+$\"");
    /* a long subject is cut at 256 bytes */
    char subject[400];
    memset(subject, 'a', sizeof(subject));
    ptc_regex_exec_error(re, (const u_char *)subject, sizeof(subject), msg, sizeof(msg));
    ASSERT_INT_EQ(strlen(msg), strlen("pcre2_match() failed: match limit exceeded on \"\" using "
                                      "\"^(a+)+$\"")
                                   + 256 + 3);
}

TEST(regex_exec_error)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    regex_exec_error_body(pool);
    ptc_pool_destroy(pool);
}

/* A repeated group over a long subject needs more than PCRE2's default
 * 32 KiB JIT stack. */
static void
regex_long_subject_body(ptc_pool_t *pool)
{
    enum { N = 16000 };
    static char subject[N + 2];
    int ov[4];
    for (size_t i = 0; i < N; i++) {
        subject[i] = i % 2 ? 'b' : 'a';
    }
    subject[N] = 'c';
    subject[N + 1] = '\0';
    ptc_regex_t *re = re_compile(pool, "(a|b)*c", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(re_exec(re, subject, ov, 2), 2);
    ASSERT_INT_EQ(ov[0], 0);
    ASSERT_INT_EQ(ov[1], N + 1);
}

TEST(regex_long_subject)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    regex_long_subject_body(pool);
    ptc_pool_destroy(pool);
}

static int
re_exec_at(const ptc_regex_t *re, const char *subject, size_t start, unsigned opts, int *ov)
{
    return ptc_regex_exec_at(re, (const u_char *)subject, strlen(subject), start, opts, ov, 3);
}

static void
regex_partial_body(ptc_pool_t *pool)
{
    int ov[6];
    ptc_regex_t *re = re_compile(pool, "\\b(\\d{4})-(\\d+)\\b", PTC_REGEX_PARTIAL);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(ptc_regex_max_lookbehind(re), 1);
    /* the digits may go on, and \b needs the next byte: partial */
    ASSERT_INT_EQ(re_exec_at(re, "card 1234-56", 0, PTC_REGEX_EXEC_PARTIAL, ov), PTC_AGAIN);
    ASSERT_INT_EQ(ov[0], 5);
    ASSERT_INT_EQ(ov[1], 12);
    /* without partial matching the end of the subject decides */
    ASSERT_INT_EQ(re_exec_at(re, "card 1234-56", 0, 0, ov), 3);
    ASSERT_INT_EQ(ov[0], 5);
    ASSERT_INT_EQ(ov[5], 12);
    /* a complete match that never looked at the end is reported as such */
    ASSERT_INT_EQ(re_exec_at(re, "1234-5 x 12", 0, PTC_REGEX_EXEC_PARTIAL, ov), 3);
    ASSERT_INT_EQ(ov[1], 6);
    /* a leading \b cannot be decided at the very end: an empty partial */
    ASSERT_INT_EQ(re_exec_at(re, "card xyz", 0, PTC_REGEX_EXEC_PARTIAL, ov), PTC_AGAIN);
    ASSERT_INT_EQ(ov[0], 8);
    /* nothing that could start a match: no match, not partial */
    ptc_regex_t *plain = re_compile(pool, "(\\d{4})-", PTC_REGEX_PARTIAL);
    ASSERT_NOT_NULL(plain);
    ASSERT_INT_EQ(ptc_regex_max_lookbehind(plain), 0);
    ASSERT_INT_EQ(re_exec_at(plain, "card xyz", 0, PTC_REGEX_EXEC_PARTIAL, ov), PTC_DECLINED);
    /* the byte before `start` is seen by \b */
    ASSERT_INT_EQ(re_exec_at(re, "x1234-5 ", 1, 0, ov), PTC_DECLINED);
    ASSERT_INT_EQ(re_exec_at(re, " 1234-5 ", 1, 0, ov), 3);
    ASSERT_INT_EQ(ov[0], 1);
}

static void
regex_notbol_notempty_body(ptc_pool_t *pool)
{
    int ov[6];
    ptc_regex_t *re = re_compile(pool, "^ab", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(re_exec_at(re, "abc", 0, 0, ov), 1);
    ASSERT_INT_EQ(re_exec_at(re, "abc", 0, PTC_REGEX_EXEC_NOTBOL, ov), PTC_DECLINED);
    re = re_compile(pool, "x*", 0);
    ASSERT_NOT_NULL(re);
    ASSERT_INT_EQ(re_exec_at(re, "abxx", 0, 0, ov), 1);
    ASSERT_INT_EQ(ov[1], 0);
    ASSERT_INT_EQ(re_exec_at(re, "abxx", 0, PTC_REGEX_EXEC_NOTEMPTY, ov), 1);
    ASSERT_INT_EQ(ov[0], 2);
    ASSERT_INT_EQ(ov[1], 4);
}

TEST(regex_partial)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    regex_partial_body(pool);
    regex_notbol_notempty_body(pool);
    ptc_pool_destroy(pool);
}

void
suite_regex(void)
{
    RUN(regex_compile_errors);
    RUN(regex_match_offsets);
    RUN(regex_caseless);
    RUN(regex_named_groups);
    RUN(regex_match_limits);
    RUN(regex_partial);
    RUN(regex_exec_error);
    RUN(regex_long_subject);
}
