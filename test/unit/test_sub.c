/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/sub/sub_match.c, the streaming matcher behind
 * sub_filter and sub_filter_regex: every case is fed whole and cut at
 * every split point and every pair of split points, and must give the
 * same output each time (matches straddling the cuts included). */
#include "core/ptc_config.h"

#ifdef PTC_WITH_SUB

#include "core/ptc_pool.h"
#include "modules/sub/sub_match.h"
#include "test/unit/unit.h"

void suite_sub(void);

typedef struct {
    char out[8192];
    size_t n;
} sink_t;

static int
sink_emit(void *data, const u_char *p, size_t n)
{
    sink_t *s = data;
    if (n == 0 || s->n + n > sizeof(s->out)) {
        return PTC_ERROR; /* the matcher never passes empty output */
    }
    memcpy(s->out + s->n, p, n);
    s->n += n;
    return PTC_OK;
}

typedef struct {
    const ptc_sub_pair_t *pairs;
    size_t npairs;
    bool once;
    const ptc_sub_rule_t *rules;
    size_t nrules;
} sub_case_t;

/* Feed `in` cut at a and b (a <= b), then finish. */
static int
sub_run_cuts(const sub_case_t *c, const char *in, size_t a, size_t b, sink_t *sink)
{
    size_t len = strlen(in);
    ptc_pool_t *pool = ptc_pool_create(4096);
    sink->n = 0;
    ptc_sub_t *m =
        ptc_sub_create(pool, c->pairs, c->npairs, c->once, c->rules, c->nrules, sink_emit, sink);
    int rc = m == NULL ? PTC_ERROR : PTC_OK;
    size_t cuts[] = {0, a, b, len};
    for (size_t i = 0; rc == PTC_OK && i + 1 < ptc_nelems(cuts); i++) {
        rc = ptc_sub_feed(m, (const u_char *)in + cuts[i], cuts[i + 1] - cuts[i]);
    }
    if (rc == PTC_OK) {
        rc = ptc_sub_finish(m);
    }
    ptc_pool_destroy(pool);
    return rc;
}

/* Every pair of cut points gives `expect`. */
static void
sub_check(const sub_case_t *c, const char *in, const char *expect, int line)
{
    static sink_t sink;
    size_t len = strlen(in);
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            if (sub_run_cuts(c, in, a, b, &sink) != PTC_OK) {
                unit_fail(__FILE__, line, "matcher failed, cuts %zu/%zu", a, b);
                return;
            }
            if (sink.n != strlen(expect) || memcmp(sink.out, expect, sink.n) != 0) {
                unit_fail(__FILE__, line, "cuts %zu/%zu of \"%s\": \"%.*s\" != \"%s\"", a, b, in,
                          (int)sink.n, sink.out, expect);
                return;
            }
        }
    }
}

#define PAIR(s, r)                                                                                 \
    {                                                                                              \
        {sizeof(s) - 1, (u_char *)(s)},                                                            \
        {                                                                                          \
            sizeof(r) - 1, (u_char *)(r)                                                           \
        }                                                                                          \
    }
#define TEXT(t)                                                                                    \
    {                                                                                              \
        {sizeof(t) - 1, (u_char *)(t)}, -1                                                         \
    }
#define GROUP(g)                                                                                   \
    {                                                                                              \
        {0, NULL}, (g)                                                                             \
    }

static sub_case_t
strings(const ptc_sub_pair_t *pairs, size_t n, bool once)
{
    sub_case_t c = {pairs, n, once, NULL, 0};
    return c;
}

TEST(sub_string_case_insensitive_across_cuts)
{
    static const ptc_sub_pair_t p[] = {PAIR("hello", "BYE")};
    sub_case_t once = strings(p, 1, true), all = strings(p, 1, false);
    sub_check(&once, "Hello HELLO hello", "BYE HELLO hello", __LINE__);
    sub_check(&all, "Hello HELLO hello", "BYE BYE BYE", __LINE__);
    /* a near miss at the end is given back unchanged */
    sub_check(&all, "say hell", "say hell", __LINE__);
    sub_check(&all, "hellhello", "hellBYE", __LINE__);
}

TEST(sub_string_overlapping_candidates)
{
    /* the leftmost match wins: "aab" inside "aaab" */
    static const ptc_sub_pair_t p[] = {PAIR("aab", "Z")};
    sub_case_t c = strings(p, 1, false);
    sub_check(&c, "aaab aab aaaab ab", "aZ Z aaZ ab", __LINE__);
    /* a match does not overlap the next one: "aa" twice in "aaaa", not thrice */
    static const ptc_sub_pair_t q[] = {PAIR("aa", "-")};
    sub_case_t d = strings(q, 1, false);
    sub_check(&d, "aaaaa", "--a", __LINE__);
}

TEST(sub_string_pairs_order)
{
    /* as nginx: at one position the pair listed first wins */
    static const ptc_sub_pair_t p1[] = {PAIR("abc", "X"), PAIR("ab", "Y"), PAIR("aab", "Z")};
    static const ptc_sub_pair_t p2[] = {PAIR("ab", "Y"), PAIR("abc", "X")};
    sub_case_t c1 = strings(p1, 3, false), c2 = strings(p2, 2, false);
    sub_check(&c1, "abcd aab aaab xabcx", "Xd Z aZ xXx", __LINE__);
    sub_check(&c2, "abcd aab aaab xabcx", "Ycd aY aaY xYcx", __LINE__);
    /* "abc" listed first is still undecided on "ab|" : it must wait */
    sub_check(&c1, "xab", "xY", __LINE__);
}

TEST(sub_string_once_per_pair)
{
    static const ptc_sub_pair_t p[] = {PAIR("a", "1"), PAIR("b", "2")};
    sub_case_t once = strings(p, 2, true), all = strings(p, 2, false);
    sub_check(&once, "abcd aab", "12cd aab", __LINE__);
    sub_check(&all, "abcd aab", "12cd 112", __LINE__);
    /* a replacement is never searched again */
    static const ptc_sub_pair_t q[] = {PAIR("x", "xx")};
    sub_case_t grow = strings(q, 1, false);
    sub_check(&grow, "axbx", "axxbxx", __LINE__);
}

typedef struct {
    ptc_pool_t *pool;
    ptc_sub_rule_t rule;
} rule_holder_t;

static int
rule_make(rule_holder_t *h, const char *pattern, const ptc_sub_piece_t *pieces, size_t n,
          size_t window)
{
    char err[256];
    ptc_str_t p = {strlen(pattern), (u_char *)pattern};
    h->rule.re = ptc_regex_compile(h->pool, &p, PTC_REGEX_PARTIAL, err, sizeof(err));
    h->rule.pieces = pieces;
    h->rule.npieces = n;
    h->rule.window = window;
    return h->rule.re ? PTC_OK : PTC_ERROR;
}

static void
regex_cards_body(ptc_pool_t *pool)
{
    static const ptc_sub_piece_t mask[] = {GROUP(1), TEXT("-XXXX-XXXX-"), GROUP(2)};
    rule_holder_t h = {pool, {0}};
    ASSERT_INT_EQ(rule_make(&h, "\\b(\\d{4})[ -]?\\d{4}[ -]?\\d{4}[ -]?(\\d{4})\\b", mask, 3, 64),
                  PTC_OK);
    sub_case_t c = {NULL, 0, false, &h.rule, 1};
    sub_check(&c, "card 4111 1111 1111 1234.", "card 4111-XXXX-XXXX-1234.", __LINE__);
    sub_check(&c, "4111-1111-1111-1234", "4111-XXXX-XXXX-1234", __LINE__);
    /* every match, and \b keeps longer digit runs out */
    sub_check(&c, "a 1234567812345678 b 12345678123456789 c 0000111122223333",
              "a 1234-XXXX-XXXX-5678 b 12345678123456789 c 0000-XXXX-XXXX-3333", __LINE__);
}

TEST(sub_regex_masks_cards_across_cuts)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    regex_cards_body(pool);
    ptc_pool_destroy(pool);
}

static void
regex_hosts_body(ptc_pool_t *pool)
{
    static const ptc_sub_piece_t host[] = {TEXT("https://www.example.com"), GROUP(2)};
    rule_holder_t h = {pool, {0}};
    ASSERT_INT_EQ(rule_make(&h, "(?i)http://(backend|internal)\\.local(:\\d+)?(?=/)", host, 2, 64),
                  PTC_OK);
    sub_case_t c = {NULL, 0, false, &h.rule, 1};
    sub_check(&c, "<a href=\"http://INTERNAL.local:8080/x\">http://backend.local/</a>",
              "<a href=\"https://www.example.com:8080/x\">https://www.example.com/</a>", __LINE__);
    /* the lookahead needs the "/": without it there is no match */
    sub_check(&c, "http://internal.local", "http://internal.local", __LINE__);
}

TEST(sub_regex_rewrites_links)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    regex_hosts_body(pool);
    ptc_pool_destroy(pool);
}

static void
regex_anchors_body(ptc_pool_t *pool)
{
    static const ptc_sub_piece_t star[] = {TEXT("<"), GROUP(0), TEXT(">")};
    rule_holder_t h = {pool, {0}};
    /* ^ only at the very start, wherever the text was cut */
    ASSERT_INT_EQ(rule_make(&h, "^ab", star, 3, 16), PTC_OK);
    sub_case_t c = {NULL, 0, false, &h.rule, 1};
    sub_check(&c, "abab\nab", "<ab>ab\nab", __LINE__);
    /* (?m)^ sees the newline before the cut */
    ASSERT_INT_EQ(rule_make(&h, "(?m)^ab", star, 3, 16), PTC_OK);
    sub_check(&c, "abab\nab", "<ab>ab\n<ab>", __LINE__);
    /* $ only at the real end */
    ASSERT_INT_EQ(rule_make(&h, "b$", star, 3, 16), PTC_OK);
    sub_check(&c, "abab", "aba<b>", __LINE__);
    /* lookbehind across the cut */
    ASSERT_INT_EQ(rule_make(&h, "(?<=@@)x", star, 3, 16), PTC_OK);
    sub_check(&c, "x@@x@x", "x@@<x>@x", __LINE__);
    /* an empty match is never replaced */
    ASSERT_INT_EQ(rule_make(&h, "y*", star, 3, 16), PTC_OK);
    sub_check(&c, "ayyb", "a<yy>b", __LINE__);
}

TEST(sub_regex_anchors_and_lookbehind)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    regex_anchors_body(pool);
    ptc_pool_destroy(pool);
}

static void
regex_window_body(ptc_pool_t *pool)
{
    static const ptc_sub_piece_t pieces[] = {TEXT("["), GROUP(1), TEXT("]")};
    rule_holder_t h = {pool, {0}};
    /* window 6: "<" + up to 4 letters + ">" fits; a longer tag never matches,
     * its "<" is given up and the search goes on after it */
    ASSERT_INT_EQ(rule_make(&h, "<(\\w+)>", pieces, 3, 6), PTC_OK);
    sub_case_t c = {NULL, 0, false, &h.rule, 1};
    sub_check(&c, "<abcd> <abcde> <a<b>", "[abcd] <abcde> <a[b]", __LINE__);
    /* a possible match that is still open at the end is decided there */
    sub_check(&c, "x <ab", "x <ab", __LINE__);
    /* the window also bounds a match inside one piece */
    sub_check(&c, "<abcdefghijkl>", "<abcdefghijkl>", __LINE__);
}

TEST(sub_regex_window_overflow)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    regex_window_body(pool);
    ptc_pool_destroy(pool);
}

static void
pipeline_body(ptc_pool_t *pool)
{
    static const ptc_sub_pair_t p[] = {PAIR("cat", "dog")};
    static const ptc_sub_piece_t pieces[] = {GROUP(0), GROUP(0)};
    rule_holder_t h = {pool, {0}};
    ASSERT_INT_EQ(rule_make(&h, "o+", pieces, 2, 8), PTC_OK);
    /* strings first, then each rule over their output */
    sub_case_t c = {p, 1, true, &h.rule, 1};
    sub_check(&c, "a cat, a CAT, a moo", "a doog, a CAT, a moooo", __LINE__);
}

TEST(sub_strings_then_regex)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    pipeline_body(pool);
    ptc_pool_destroy(pool);
}

static void
progress_body(ptc_pool_t *pool)
{
    static sink_t sink;
    static const ptc_sub_pair_t p[] = {PAIR("needle", "N")};
    static const ptc_sub_piece_t pieces[] = {TEXT("R")};
    rule_holder_t h = {pool, {0}};
    ASSERT_INT_EQ(rule_make(&h, "\\d+x", pieces, 1, 32), PTC_OK);
    sub_case_t c = {p, 1, false, &h.rule, 1};
    sink.n = 0;
    ptc_sub_t *m = ptc_sub_create(pool, c.pairs, 1, false, &h.rule, 1, sink_emit, &sink);
    ASSERT_NOT_NULL(m);
    /* text that cannot match goes out at once; only a possible match waits */
    for (int i = 0; i < 100; i++) {
        ASSERT_INT_EQ(ptc_sub_feed(m, (const u_char *)"lorem ipsum ", 12), PTC_OK);
        ASSERT_INT_EQ(sink.n, 12 * (i + 1));
    }
    ASSERT_INT_EQ(ptc_sub_feed(m, (const u_char *)"a need", 6), PTC_OK);
    ASSERT_INT_EQ(sink.n, 1202);
    ASSERT_INT_EQ(ptc_sub_feed(m, (const u_char *)"le 12345", 8), PTC_OK);
    ASSERT_MEM_EQ(sink.out + 1200, sink.n - 1200, "a N ");
    ASSERT_INT_EQ(ptc_sub_feed(m, (const u_char *)"6x.", 3), PTC_OK);
    ASSERT_MEM_EQ(sink.out + 1200, sink.n - 1200, "a N R.");
    ASSERT_INT_EQ(ptc_sub_finish(m), PTC_OK);
    ASSERT_INT_EQ(ptc_sub_regex_errors(m), 0);
}

TEST(sub_output_as_input_arrives)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    progress_body(pool);
    ptc_pool_destroy(pool);
}

static void
long_text_body(ptc_pool_t *pool)
{
    static sink_t sink;
    static const ptc_sub_pair_t p[] = {PAIR("0123456789", "#")};
    ptc_sub_t *m = ptc_sub_create(pool, p, 1, false, NULL, 0, sink_emit, &sink);
    ASSERT_NOT_NULL(m);
    /* pieces larger than the stage's buffer are taken in rounds */
    static char big[6000];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (char)('0' + i % 10);
    }
    sink.n = 0;
    ASSERT_INT_EQ(ptc_sub_feed(m, (const u_char *)big, sizeof(big)), PTC_OK);
    ASSERT_INT_EQ(ptc_sub_finish(m), PTC_OK);
    ASSERT_INT_EQ(sink.n, 600);
    ASSERT_TRUE(memchr(sink.out, '0', sink.n) == NULL);
}

TEST(sub_long_pieces)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    long_text_body(pool);
    ptc_pool_destroy(pool);
}

void
suite_sub(void)
{
    RUN(sub_string_case_insensitive_across_cuts);
    RUN(sub_string_overlapping_candidates);
    RUN(sub_string_pairs_order);
    RUN(sub_string_once_per_pair);
    RUN(sub_regex_masks_cards_across_cuts);
    RUN(sub_regex_rewrites_links);
    RUN(sub_regex_anchors_and_lookbehind);
    RUN(sub_regex_window_overflow);
    RUN(sub_strings_then_regex);
    RUN(sub_output_as_input_arrives);
    RUN(sub_long_pieces);
}

#endif
