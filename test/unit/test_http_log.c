/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/http/http_log_format.c: format compiling, escaping and
 * line rendering. */
#include "modules/http/http_log_format.h"

#include "core/ptc_pool.h"
#include "test/unit/unit.h"

void suite_http_log(void);

#define S(lit) ((ptc_str_t)ptc_string(lit))

static ptc_http_log_part_t *
part_at(ptc_http_log_format_t *fmt, size_t i)
{
    return ptc_array_at(&fmt->parts, ptc_http_log_part_t, i);
}

/* Compile one argument into a fresh default-escape format. */
static const char *
compile1(ptc_pool_t *pool, ptc_http_log_format_t *fmt, const char *arg)
{
    ptc_str_t name = S("t");
    ptc_str_t a = {strlen(arg), (u_char *)arg};
    if (ptc_http_log_format_init(fmt, pool, &name, PTC_HTTP_LOG_ESCAPE_DEFAULT) != PTC_OK) {
        return "init failed";
    }
    return ptc_http_log_format_add(fmt, pool, &a);
}

TEST(test_escape_parse)
{
    ASSERT_INT_EQ(ptc_http_log_escape_parse(&S("default")), PTC_HTTP_LOG_ESCAPE_DEFAULT);
    ASSERT_INT_EQ(ptc_http_log_escape_parse(&S("json")), PTC_HTTP_LOG_ESCAPE_JSON);
    ASSERT_INT_EQ(ptc_http_log_escape_parse(&S("none")), PTC_HTTP_LOG_ESCAPE_NONE);
    ASSERT_INT_EQ(ptc_http_log_escape_parse(&S("")), -1);
    ASSERT_INT_EQ(ptc_http_log_escape_parse(&S("JSON")), -1);
    ASSERT_INT_EQ(ptc_http_log_escape_parse(&S("jsonx")), -1);
}

TEST(test_compile_literal_and_vars)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_http_log_format_t fmt;
    ASSERT_TRUE(compile1(pool, &fmt, "a $remote_addr-${status}x$1$a_B9") == NULL);
    ASSERT_INT_EQ(fmt.parts.nelts, 7);
    ASSERT_TRUE(!part_at(&fmt, 0)->is_var);
    ASSERT_INT_EQ(part_at(&fmt, 0)->index, -1);
    ASSERT_MEM_EQ(part_at(&fmt, 0)->text.data, part_at(&fmt, 0)->text.len, "a ");
    ASSERT_TRUE(part_at(&fmt, 1)->is_var);
    ASSERT_INT_EQ(part_at(&fmt, 1)->index, -1);
    ASSERT_MEM_EQ(part_at(&fmt, 1)->text.data, part_at(&fmt, 1)->text.len, "remote_addr");
    ASSERT_MEM_EQ(part_at(&fmt, 2)->text.data, part_at(&fmt, 2)->text.len, "-");
    ASSERT_TRUE(part_at(&fmt, 3)->is_var);
    ASSERT_MEM_EQ(part_at(&fmt, 3)->text.data, part_at(&fmt, 3)->text.len, "status");
    ASSERT_TRUE(!part_at(&fmt, 4)->is_var);
    ASSERT_MEM_EQ(part_at(&fmt, 4)->text.data, part_at(&fmt, 4)->text.len, "x");
    ASSERT_MEM_EQ(part_at(&fmt, 5)->text.data, part_at(&fmt, 5)->text.len, "1");
    ASSERT_TRUE(part_at(&fmt, 6)->is_var);
    ASSERT_MEM_EQ(part_at(&fmt, 6)->text.data, part_at(&fmt, 6)->text.len, "a_B9");
    ptc_pool_destroy(pool);
}

/* Text and names are copies: the argument may be temporary. */
TEST(test_compile_copies_argument)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_http_log_format_t fmt;
    char arg[] = "[$host]";
    ASSERT_TRUE(compile1(pool, &fmt, arg) == NULL);
    memset(arg, 'z', sizeof(arg) - 1);
    ASSERT_INT_EQ(fmt.parts.nelts, 3);
    ASSERT_MEM_EQ(part_at(&fmt, 0)->text.data, part_at(&fmt, 0)->text.len, "[");
    ASSERT_MEM_EQ(part_at(&fmt, 1)->text.data, part_at(&fmt, 1)->text.len, "host");
    ASSERT_MEM_EQ(part_at(&fmt, 2)->text.data, part_at(&fmt, 2)->text.len, "]");
    ptc_pool_destroy(pool);
}

/* Arguments concatenate with no separator; touching literals merge, but a
 * name never continues into the next argument. */
TEST(test_compile_several_args)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_http_log_format_t fmt;
    ASSERT_TRUE(compile1(pool, &fmt, "$a x") == NULL);
    ASSERT_TRUE(ptc_http_log_format_add(&fmt, pool, &S("y ")) == NULL);
    ASSERT_TRUE(ptc_http_log_format_add(&fmt, pool, &S("z$b")) == NULL);
    ASSERT_TRUE(ptc_http_log_format_add(&fmt, pool, &S("c")) == NULL);
    ASSERT_INT_EQ(fmt.parts.nelts, 4);
    ASSERT_MEM_EQ(part_at(&fmt, 0)->text.data, part_at(&fmt, 0)->text.len, "a");
    ASSERT_MEM_EQ(part_at(&fmt, 1)->text.data, part_at(&fmt, 1)->text.len, " xy z");
    ASSERT_TRUE(!part_at(&fmt, 1)->is_var);
    ASSERT_MEM_EQ(part_at(&fmt, 2)->text.data, part_at(&fmt, 2)->text.len, "b");
    ASSERT_TRUE(part_at(&fmt, 2)->is_var);
    ASSERT_MEM_EQ(part_at(&fmt, 3)->text.data, part_at(&fmt, 3)->text.len, "c");
    ASSERT_TRUE(!part_at(&fmt, 3)->is_var);
    ptc_pool_destroy(pool);
}

TEST(test_compile_empty_arg)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_http_log_format_t fmt;
    ASSERT_TRUE(compile1(pool, &fmt, "") == NULL);
    ASSERT_INT_EQ(fmt.parts.nelts, 0);
    ptc_pool_destroy(pool);
}

TEST(test_compile_errors)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_http_log_format_t fmt;
    ASSERT_STR_EQ(compile1(pool, &fmt, "$"), "invalid parameter \"$\"");
    ASSERT_STR_EQ(compile1(pool, &fmt, "abc $"), "invalid parameter \"abc $\"");
    ASSERT_STR_EQ(compile1(pool, &fmt, "a $ b"), "invalid parameter \"a $ b\"");
    ASSERT_STR_EQ(compile1(pool, &fmt, "$-x"), "invalid parameter \"$-x\"");
    ASSERT_STR_EQ(compile1(pool, &fmt, "x${}"), "invalid parameter \"x${}\"");
    ASSERT_STR_EQ(compile1(pool, &fmt, "x${"), "invalid parameter \"x${\"");
    ASSERT_STR_EQ(compile1(pool, &fmt, "${host"),
                  "the closing bracket in \"host\" variable is missing");
    ASSERT_STR_EQ(compile1(pool, &fmt, "${ho-st}"),
                  "the closing bracket in \"ho\" variable is missing");
    ASSERT_STR_EQ(compile1(pool, &fmt, "${-}"), "the closing bracket in \"\" variable is missing");
    ptc_pool_destroy(pool);
}

TEST(test_escape_default)
{
    const u_char in[] = "a\"b\\c\x01\x1f\x7f\x80\xff ~";
    size_t n = sizeof(in) - 1;
    const char *want = "a\\x22b\\x5Cc\\x01\\x1F\\x7F\\x80\\xFF ~";
    u_char out[64];
    ASSERT_INT_EQ(ptc_http_log_escape(PTC_HTTP_LOG_ESCAPE_DEFAULT, NULL, in, n), strlen(want));
    size_t w = ptc_http_log_escape(PTC_HTTP_LOG_ESCAPE_DEFAULT, out, in, n);
    const u_char *o = out; /* a pointer, so the macro's NULL check compiles */
    ASSERT_MEM_EQ(o, w, want);
}

TEST(test_escape_json)
{
    const u_char in[] = "q\"s\\n\nr\rt\tb\bf\f\x01\x1f\x7f\xc3\xa9/";
    size_t n = sizeof(in) - 1;
    const char *want = "q\\\"s\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f\x7f\xc3\xa9/";
    u_char out[96];
    ASSERT_INT_EQ(ptc_http_log_escape(PTC_HTTP_LOG_ESCAPE_JSON, NULL, in, n), strlen(want));
    size_t w = ptc_http_log_escape(PTC_HTTP_LOG_ESCAPE_JSON, out, in, n);
    const u_char *o = out; /* a pointer, so the macro's NULL check compiles */
    ASSERT_MEM_EQ(o, w, want);
}

TEST(test_escape_none)
{
    const u_char in[] = "\"\\\n\x01\xff";
    u_char out[16];
    ASSERT_INT_EQ(ptc_http_log_escape(PTC_HTTP_LOG_ESCAPE_NONE, NULL, in, 5), 5);
    size_t w = ptc_http_log_escape(PTC_HTTP_LOG_ESCAPE_NONE, out, in, 5);
    ASSERT_INT_EQ(w, 5);
    ASSERT_TRUE(memcmp(out, in, 5) == 0);
}

/* Render "[$a] \"$b\" $c" with b and c given by the caller. */
static const char *
render(ptc_pool_t *pool, int escape, ptc_str_t b, ptc_str_t c, size_t *len)
{
    static u_char out[128];
    ptc_http_log_format_t fmt;
    ptc_str_t name = S("t");
    if (ptc_http_log_format_init(&fmt, pool, &name, escape) != PTC_OK
        || ptc_http_log_format_add(&fmt, pool, &S("[$a] \"$b\" $c")) != NULL
        || fmt.parts.nelts != 6) {
        return NULL;
    }
    /* parts: "[" a "] \"" b "\" " c; the literal slots get garbage on
     * purpose: values of literal parts must be ignored */
    ptc_str_t vals[6] = {S("XX"), S("1.2.3.4"), S("YY"), b, S("ZZ"), c};
    *len = ptc_http_log_line_len(&fmt, vals);
    memset(out, '#', sizeof(out));
    u_char *end = ptc_http_log_line_write(&fmt, vals, out);
    return (size_t)(end - out) == *len && out[*len] == '#' ? (const char *)out : NULL;
}

TEST(test_line_default)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    size_t len;
    const char *line =
        render(pool, PTC_HTTP_LOG_ESCAPE_DEFAULT, S("GET /\"x\" HTTP/1.1"), S("200"), &len);
    ASSERT_MEM_EQ(line, len, "[1.2.3.4] \"GET /\\x22x\\x22 HTTP/1.1\" 200\n");
    ptc_str_t missing = ptc_null_string;
    line = render(pool, PTC_HTTP_LOG_ESCAPE_DEFAULT, missing, S(""), &len);
    /* not found: "-"; found but empty: nothing (nginx) */
    ASSERT_MEM_EQ(line, len, "[1.2.3.4] \"-\" \n");
    ptc_pool_destroy(pool);
}

TEST(test_line_json)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    size_t len;
    const char *line = render(pool, PTC_HTTP_LOG_ESCAPE_JSON, S("a\"b\n"), S("\\"), &len);
    ASSERT_MEM_EQ(line, len, "[1.2.3.4] \"a\\\"b\\n\" \\\\\n");
    ptc_str_t missing = ptc_null_string;
    line = render(pool, PTC_HTTP_LOG_ESCAPE_JSON, missing, S(""), &len);
    ASSERT_MEM_EQ(line, len, "[1.2.3.4] \"\" \n");
    ptc_pool_destroy(pool);
}

TEST(test_line_none)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    size_t len;
    const char *line = render(pool, PTC_HTTP_LOG_ESCAPE_NONE, S("a\"b\x01"), S("\xff"), &len);
    ASSERT_MEM_EQ(line, len, "[1.2.3.4] \"a\"b\x01\" \xff\n");
    ptc_str_t missing = ptc_null_string;
    line = render(pool, PTC_HTTP_LOG_ESCAPE_NONE, missing, S(""), &len);
    /* not found: "-"; found but empty: nothing (nginx) */
    ASSERT_MEM_EQ(line, len, "[1.2.3.4] \"-\" \n");
    ptc_pool_destroy(pool);
}

/* The built-in combined format, as http_log.c compiles it. */
TEST(test_combined)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_http_log_format_t fmt;
    const char *err = compile1(pool, &fmt,
                               "$remote_addr - $remote_user [$time_local] \"$request\" $status "
                               "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"");
    ASSERT_TRUE(err == NULL);
    ASSERT_INT_EQ(fmt.parts.nelts, 16);
    static const char *const names[] = {"remote_addr",  "remote_user",    "time_local",
                                        "request",      "status",         "body_bytes_sent",
                                        "http_referer", "http_user_agent"};
    ptc_str_t vals[16];
    for (size_t i = 0; i < 8; i++) {
        ptc_http_log_part_t *p = part_at(&fmt, 2 * i);
        ASSERT_TRUE(p->is_var);
        ASSERT_MEM_EQ(p->text.data, p->text.len, names[i]);
        vals[2 * i + 1] = (ptc_str_t)ptc_null_string;
    }
    vals[0] = S("127.0.0.1");
    vals[2] = (ptc_str_t)ptc_null_string;
    vals[4] = S("28/Nov/2026:00:20:29 +0000");
    vals[6] = S("GET / HTTP/1.1");
    vals[8] = S("200");
    vals[10] = S("612");
    vals[12] = (ptc_str_t)ptc_null_string;
    vals[14] = S("curl/7.88.1");
    u_char out[256];
    size_t len = ptc_http_log_line_len(&fmt, vals);
    ASSERT_INT_EQ(ptc_http_log_line_write(&fmt, vals, out) - out, len);
    const u_char *o = out;
    ASSERT_MEM_EQ(o, len,
                  "127.0.0.1 - - [28/Nov/2026:00:20:29 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" "
                  "\"curl/7.88.1\"\n");
    ptc_pool_destroy(pool);
}

TEST(test_line_empty_format)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_http_log_format_t fmt;
    ASSERT_TRUE(compile1(pool, &fmt, "") == NULL);
    u_char out[4];
    ASSERT_INT_EQ(ptc_http_log_line_len(&fmt, NULL), 1);
    ASSERT_INT_EQ(ptc_http_log_line_write(&fmt, NULL, out) - out, 1);
    ASSERT_INT_EQ(out[0], '\n');
    ptc_pool_destroy(pool);
}

void
suite_http_log(void)
{
    RUN(test_escape_parse);
    RUN(test_compile_literal_and_vars);
    RUN(test_compile_copies_argument);
    RUN(test_compile_several_args);
    RUN(test_compile_empty_arg);
    RUN(test_compile_errors);
    RUN(test_escape_default);
    RUN(test_escape_json);
    RUN(test_escape_none);
    RUN(test_line_default);
    RUN(test_line_json);
    RUN(test_line_none);
    RUN(test_combined);
    RUN(test_line_empty_format);
}
