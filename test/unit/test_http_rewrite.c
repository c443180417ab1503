/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/http/http_rewrite_parse.c: the `if` condition grammar
 * with nginx's error messages, rewrite flags, replacement splitting and
 * the escaping of captures. */
#include <stdlib.h>

#include "core/ptc_pool.h"
#include "modules/http/http_rewrite_parse.h"
#include "test/unit/unit.h"

void suite_http_rewrite(void);

static char rw_err[256];
static ptc_http_rewrite_cond_t rw_cond;

/* Split `text` on spaces into args (as the config reader would) and parse. */
static int
rw_parse(const char *text)
{
    static char buf[256];
    ptc_str_t args[16];
    size_t n = 0;
    snprintf(buf, sizeof(buf), "%s", text);
    for (char *tok = strtok(buf, " "); tok && n < 16; tok = strtok(NULL, " ")) {
        args[n].data = (u_char *)tok;
        args[n++].len = strlen(tok);
    }
    rw_err[0] = '\0';
    return ptc_http_rewrite_cond_parse(args, n, &rw_cond, rw_err, sizeof(rw_err));
}

TEST(rewrite_cond_variable)
{
    ASSERT_INT_EQ(rw_parse("($a)"), PTC_OK);
    ASSERT_INT_EQ(rw_cond.kind, PTC_REWRITE_COND_VAR);
    ASSERT_MEM_EQ(rw_cond.var.data, rw_cond.var.len, "a");
    ASSERT_INT_EQ(rw_parse("( $http_x )"), PTC_OK);
    ASSERT_MEM_EQ(rw_cond.var.data, rw_cond.var.len, "http_x");
    ASSERT_INT_EQ(rw_parse("($a))"), PTC_OK); /* nginx: the variable "a)" */
    ASSERT_MEM_EQ(rw_cond.var.data, rw_cond.var.len, "a)");
}

TEST(rewrite_cond_compare)
{
    ASSERT_INT_EQ(rw_parse("($a = b)"), PTC_OK);
    ASSERT_INT_EQ(rw_cond.kind, PTC_REWRITE_COND_EQ);
    ASSERT_TRUE(!rw_cond.negate);
    ASSERT_MEM_EQ(rw_cond.operand.data, rw_cond.operand.len, "b");
    ASSERT_INT_EQ(rw_parse("($a != b )"), PTC_OK);
    ASSERT_TRUE(rw_cond.negate);
    ASSERT_MEM_EQ(rw_cond.operand.data, rw_cond.operand.len, "b");
    const char *ops[] = {"~", "~*", "!~", "!~*"};
    for (int i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof(text), "($uri %s ^/x(.*)$)", ops[i]);
        ASSERT_INT_EQ(rw_parse(text), PTC_OK);
        ASSERT_INT_EQ(rw_cond.kind, PTC_REWRITE_COND_REGEX);
        ASSERT_INT_EQ(rw_cond.negate, i >= 2);
        ASSERT_INT_EQ(rw_cond.caseless, i % 2);
        ASSERT_MEM_EQ(rw_cond.operand.data, rw_cond.operand.len, "^/x(.*)$");
    }
}

TEST(rewrite_cond_file)
{
    const char *ops = "fdex";
    for (int i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof(text), "(-%c /p/$x)", ops[i]);
        ASSERT_INT_EQ(rw_parse(text), PTC_OK);
        ASSERT_INT_EQ(rw_cond.kind, PTC_REWRITE_COND_FILE);
        ASSERT_INT_EQ(rw_cond.file_op, ops[i]);
        ASSERT_TRUE(!rw_cond.negate);
        ASSERT_MEM_EQ(rw_cond.operand.data, rw_cond.operand.len, "/p/$x");
        snprintf(text, sizeof(text), "( !-%c /q )", ops[i]);
        ASSERT_INT_EQ(rw_parse(text), PTC_OK);
        ASSERT_TRUE(rw_cond.negate);
        ASSERT_MEM_EQ(rw_cond.operand.data, rw_cond.operand.len, "/q");
    }
}

TEST(rewrite_cond_errors)
{
    static const struct {
        const char *text, *err;
    } cases[] = {
        {"$a)", "invalid condition \"$a)\""},
        {"($a", "invalid condition \"$a\""},
        {"(($a)", "invalid condition \"($a\""},
        {"()", "invalid condition \")\""},
        {"( )", "invalid condition \")\""},
        {"(", "invalid condition \"(\""},
        {"(a)", "invalid condition \"a\""},
        {"($)", "invalid condition \"$\""},
        {"($a = )", "invalid condition \"$a\""},
        {"($a = b c)", "invalid condition \"$a\""},
        {"($a == b)", "unexpected \"==\" in condition"},
        {"($a =~ b)", "unexpected \"=~\" in condition"},
        {"(-f)", "invalid condition \"-f\""},
        {"(-z /x)", "invalid condition \"-z\""},
        {"(-f /x y)", "invalid condition \"-f\""},
        {"(!-q /x)", "invalid condition \"!-q\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ASSERT_INT_EQ(rw_parse(cases[i].text), PTC_ERROR);
        ASSERT_STR_EQ(rw_err, cases[i].err);
    }
    ASSERT_INT_EQ(ptc_http_rewrite_cond_parse(NULL, 0, &rw_cond, rw_err, sizeof(rw_err)),
                  PTC_ERROR);
}

TEST(rewrite_flags_and_urls)
{
    ptc_str_t s = ptc_string("last");
    ASSERT_INT_EQ(ptc_http_rewrite_flag(&s), PTC_REWRITE_FLAG_LAST);
    ptc_str_set(&s, "break");
    ASSERT_INT_EQ(ptc_http_rewrite_flag(&s), PTC_REWRITE_FLAG_BREAK);
    ptc_str_set(&s, "redirect");
    ASSERT_INT_EQ(ptc_http_rewrite_flag(&s), PTC_REWRITE_FLAG_REDIRECT);
    ptc_str_set(&s, "permanent");
    ASSERT_INT_EQ(ptc_http_rewrite_flag(&s), PTC_REWRITE_FLAG_PERMANENT);
    ptc_str_set(&s, "Last");
    ASSERT_INT_EQ(ptc_http_rewrite_flag(&s), -1);
    ptc_str_set(&s, "http://x/");
    ASSERT_TRUE(ptc_http_rewrite_is_url(&s));
    ptc_str_set(&s, "https://x");
    ASSERT_TRUE(ptc_http_rewrite_is_url(&s));
    ptc_str_set(&s, "$scheme://$host$uri");
    ASSERT_TRUE(ptc_http_rewrite_is_url(&s));
    ptc_str_set(&s, "/http://x");
    ASSERT_TRUE(!ptc_http_rewrite_is_url(&s));
    ptc_str_set(&s, "http://");
    ASSERT_TRUE(!ptc_http_rewrite_is_url(&s));
}

/* Render pieces as "text|$N|?..." for compact checks: '?' marks the first
 * piece of the query, "$N" a capture. */
static const char *
rw_render(const ptc_http_rewrite_repl_t *r)
{
    static char out[256];
    size_t n = 0;
    bool args = false;
    const ptc_http_rewrite_piece_t *p = r->pieces.elts;
    out[0] = '\0';
    for (size_t i = 0; i < r->pieces.nelts && n < sizeof(out) - 16; i++) {
        if (p[i].args && !args) {
            out[n++] = '?';
            args = true;
        }
        if (i && !(p[i].args && !p[i - 1].args)) {
            out[n++] = '|';
        }
        if (p[i].capture) {
            n += (size_t)snprintf(out + n, sizeof(out) - n, "$%u", p[i].capture);
        } else {
            n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*s", PTC_STR_ARG(p[i].text));
        }
    }
    out[n] = '\0';
    return out;
}

static ptc_http_rewrite_repl_t rw_repl;

static int
rw_split(ptc_pool_t *pool, const char *src, bool redirect)
{
    ptc_str_t s = {strlen(src), (u_char *)src};
    return ptc_http_rewrite_repl_parse(pool, &s, redirect, &rw_repl);
}

TEST(rewrite_replacement_split)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_INT_EQ(rw_split(pool, "/new/$1/x$host$2", false), PTC_OK);
    ASSERT_STR_EQ(rw_render(&rw_repl), "/new/|$1|/x$host|$2");
    ASSERT_TRUE(rw_repl.add_args && !rw_repl.has_query);
    ASSERT_INT_EQ(rw_split(pool, "/p?a=$1&b=${2}c?", false), PTC_OK);
    ASSERT_STR_EQ(rw_render(&rw_repl), "/p?a=|$1|&b=|$2|c");
    ASSERT_TRUE(!rw_repl.add_args && rw_repl.has_query);
    ASSERT_INT_EQ(rw_split(pool, "/p??", false), PTC_OK);
    ASSERT_STR_EQ(rw_render(&rw_repl), "/p");
    ASSERT_TRUE(!rw_repl.add_args && rw_repl.has_query);
    ASSERT_INT_EQ(rw_split(pool, "/p?a?b", false), PTC_OK);
    ASSERT_STR_EQ(rw_render(&rw_repl), "/p?a?b");
    /* "$0", "$10" and "$$1": only $1..$9 are captures, one digit each */
    ASSERT_INT_EQ(rw_split(pool, "$0$10$$1", false), PTC_OK);
    ASSERT_STR_EQ(rw_render(&rw_repl), "$0|$1|0$|$1");
    /* a redirect keeps its '?' in the text */
    ASSERT_INT_EQ(rw_split(pool, "http://h/$1?q=$1", true), PTC_OK);
    ASSERT_STR_EQ(rw_render(&rw_repl), "http://h/|$1|?q=|$1");
    ASSERT_INT_EQ(((ptc_http_rewrite_piece_t *)rw_repl.pieces.elts)[2].args, 0);
    ASSERT_TRUE(rw_repl.add_args && rw_repl.has_query);
    ASSERT_INT_EQ(rw_split(pool, "?", false), PTC_OK);
    ASSERT_INT_EQ(rw_repl.pieces.nelts, 0);
    ASSERT_TRUE(!rw_repl.add_args && !rw_repl.has_query);
    ptc_pool_destroy(pool);
}

TEST(rewrite_escape_args)
{
    u_char out[64];
    const char *src = "a b+c&d;e?f#g%h/i=j~\x01\x7f\xc3";
    size_t n = ptc_http_rewrite_escape_args(NULL, (const u_char *)src, strlen(src));
    ASSERT_INT_EQ(ptc_http_rewrite_escape_args(out, (const u_char *)src, strlen(src)), n);
    ASSERT_MEM_EQ(out, n, "a%20b%2Bc%26d%3Be%3Ff%23g%25h/i=j~%01%7F%C3");
    ASSERT_INT_EQ(ptc_http_rewrite_escape_args(out, (const u_char *)"", 0), 0);
}

void
suite_http_rewrite(void)
{
    RUN(rewrite_cond_variable);
    RUN(rewrite_cond_compare);
    RUN(rewrite_cond_file);
    RUN(rewrite_cond_errors);
    RUN(rewrite_flags_and_urls);
    RUN(rewrite_replacement_split);
    RUN(rewrite_escape_args);
}
