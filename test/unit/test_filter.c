/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/filter/filter_scan.c: the argument and cookie scanners,
 * form decoding and slash merging used by the request filter. */
#include "modules/filter/filter_scan.h"
#include "test/unit/unit.h"

void suite_filter(void);

static ptc_str_t
S(const char *s)
{
    ptc_str_t r = {strlen(s), (u_char *)s};
    return r;
}

/* Every value of argument `name` in `args`, joined with '|'. */
static const char *
args_all(const char *args, const char *name)
{
    static char out[256];
    ptc_str_t a = S(args), n = S(name), v;
    size_t pos = 0, len = 0;
    out[0] = '\0';
    for (int i = 0; ptc_filter_arg_next(&a, &pos, &n, &v); i++) {
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%.*s", i ? "|" : "", (int)v.len,
                                (const char *)v.data);
    }
    return out;
}

static const char *
cookies_all(const char *header, const char *name)
{
    static char out[256];
    ptc_str_t h = S(header), n = S(name), v;
    size_t pos = 0, len = 0;
    out[0] = '\0';
    while (ptc_filter_cookie_next(&h, &pos, &n, &v)) {
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s[%.*s]", len ? "|" : "",
                                (int)v.len, (const char *)v.data);
    }
    return out;
}

TEST(arg_scan_finds_every_occurrence)
{
    ASSERT_STR_EQ(args_all("a=1&id=2&b=3&id=4", "id"), "2|4");
    ASSERT_STR_EQ(args_all("id=2", "id"), "2");
    ASSERT_STR_EQ(args_all("xid=1&idx=2&id", "id"), "");
    ASSERT_STR_EQ(args_all("id&id=&id=5", "id"), "||5");
    ASSERT_STR_EQ(args_all("", "id"), "");
    ASSERT_STR_EQ(args_all("&&id=1&&", "id"), "1");
    ASSERT_STR_EQ(args_all("id=a=b&c", "id"), "a=b");
}

TEST(arg_scan_decodes_names_and_ignores_case)
{
    ASSERT_STR_EQ(args_all("ID=1&Id=2&%69d=3&i%64=4&%49%44=5", "id"), "1|2|3|4|5");
    ASSERT_STR_EQ(args_all("my+name=1&my%20name=2&my name=3", "my name"), "1|2|3");
    ASSERT_STR_EQ(args_all("%2569d=1&i%=2&id%=3", "id"), "");
    ASSERT_STR_EQ(args_all("i%=2", "i%"), "2");
}

TEST(arg_scan_values_stay_raw_slices)
{
    ptc_str_t a = S("q=%3Cb%3E&x=1"), n = S("q"), v;
    size_t pos = 0;
    ASSERT_TRUE(ptc_filter_arg_next(&a, &pos, &n, &v));
    ASSERT_TRUE(v.data == a.data + 2);
    ASSERT_MEM_EQ(v.data, v.len, "%3Cb%3E");
    ASSERT_INT_EQ(pos, 10);
    ASSERT_TRUE(!ptc_filter_arg_next(&a, &pos, &n, &v));
    ASSERT_INT_EQ(pos, a.len);
}

TEST(cookie_scan)
{
    ASSERT_STR_EQ(cookies_all("a=1; sid=abc; b=2", "sid"), "[abc]");
    ASSERT_STR_EQ(cookies_all("sid=1;sid=2", "sid"), "[1]|[2]");
    ASSERT_STR_EQ(cookies_all("  SID =  x y  ;", "sid"), "[x y]");
    ASSERT_STR_EQ(cookies_all("xsid=1; sidx=2; sid", "sid"), "");
    ASSERT_STR_EQ(cookies_all("sid=", "sid"), "[]");
    ASSERT_STR_EQ(cookies_all("sid=\"q\"; a=b=c", "a"), "[b=c]");
    ASSERT_STR_EQ(cookies_all("sid=%41", "sid"), "[%41]");
    ASSERT_STR_EQ(cookies_all("", "sid"), "");
}

static const char *
decode(const char *in)
{
    static u_char out[256];
    size_t n = ptc_filter_form_decode(out, (const u_char *)in, strlen(in));
    out[n] = '\0';
    return (const char *)out;
}

TEST(form_decode_once)
{
    ASSERT_STR_EQ(decode("a%20b+c"), "a b c");
    ASSERT_STR_EQ(decode("%3Cscript%3e"), "<script>");
    ASSERT_STR_EQ(decode("%2561"), "%61");
    ASSERT_STR_EQ(decode("100%"), "100%");
    ASSERT_STR_EQ(decode("%zz%4"), "%zz%4");
    ASSERT_STR_EQ(decode("%%41"), "%A");
    ASSERT_STR_EQ(decode(""), "");
    u_char nul[] = "a%00b";
    ASSERT_INT_EQ(ptc_filter_form_decode(nul, nul, 5), 3);
    ASSERT_TRUE(memcmp(nul, "a\0b", 3) == 0);
    ASSERT_TRUE(ptc_filter_form_needs_decode((const u_char *)"a+b", 3));
    ASSERT_TRUE(ptc_filter_form_needs_decode((const u_char *)"%41", 3));
    ASSERT_TRUE(!ptc_filter_form_needs_decode((const u_char *)"plain", 5));
}

static const char *
merge(const char *in)
{
    static u_char out[256];
    size_t n = ptc_filter_merge_slashes(out, (const u_char *)in, strlen(in));
    out[n] = '\0';
    return (const char *)out;
}

TEST(merge_slashes)
{
    ASSERT_STR_EQ(merge("//admin"), "/admin");
    ASSERT_STR_EQ(merge("/a///b//"), "/a/b/");
    ASSERT_STR_EQ(merge("/a/b"), "/a/b");
    ASSERT_TRUE(ptc_filter_has_double_slash((const u_char *)"/a//b", 5));
    ASSERT_TRUE(!ptc_filter_has_double_slash((const u_char *)"/a/b/", 5));
    ASSERT_TRUE(!ptc_filter_has_double_slash((const u_char *)"/", 1));
}

void
suite_filter(void)
{
    RUN(arg_scan_finds_every_occurrence);
    RUN(arg_scan_decodes_names_and_ignores_case);
    RUN(arg_scan_values_stay_raw_slices);
    RUN(cookie_scan);
    RUN(form_decode_once);
    RUN(merge_slashes);
}
