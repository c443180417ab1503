/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/http/http_static_cond.c: preconditions in RFC 9110
 * §13.2.2 order, If-Range, Range selection, Content-Range values and the
 * directory redirect target. */
#include <string.h>
#include <time.h>

#include "core/ptc_pool.h"
#include "core/ptc_str.h"
#include "modules/http/http_static_cond.h"
#include "test/unit/unit.h"

void suite_http_static(void);

#define MTIME       784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */
#define DATE_EQ     "Sun, 06 Nov 1994 08:49:37 GMT"
#define DATE_BEFORE "Sun, 06 Nov 1994 08:49:36 GMT" /* one second before MTIME */
#define DATE_AFTER  "Sun, 06 Nov 1994 08:49:38 GMT" /* one second after MTIME */

/* Request headers for one test; each field set by a helper below. */
typedef struct {
    ptc_http_headers_in_t in;
    ptc_http_header_t h[6];
} hdrs_t;

static ptc_http_header_t *
hdr(hdrs_t *t, int slot, const char *value)
{
    t->h[slot].value.data = (u_char *)value;
    t->h[slot].value.len = strlen(value);
    return &t->h[slot];
}

static void
hdrs_init(hdrs_t *t)
{
    memset(t, 0, sizeof(*t));
}

static const ptc_str_t etag = ptc_string("\"2ebc98a1-a\"");

static unsigned
pre(hdrs_t *t, int mode, bool safe)
{
    return ptc_http_static_preconditions(&t->in, &etag, MTIME, mode, safe);
}

TEST(pre_no_headers)
{
    hdrs_t t;
    hdrs_init(&t);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_BEFORE, false), 0);
}

TEST(pre_if_match)
{
    hdrs_t t;
    hdrs_init(&t);
    t.in.if_match = hdr(&t, 0, "\"2ebc98a1-a\"");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
    t.in.if_match = hdr(&t, 0, "\"x\", \"2ebc98a1-a\"");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
    t.in.if_match = hdr(&t, 0, "*");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
    t.in.if_match = hdr(&t, 0, "\"other\"");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 412);
    /* strong comparison: a weak tag never matches */
    t.in.if_match = hdr(&t, 0, "W/\"2ebc98a1-a\"");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 412);
}

TEST(pre_if_match_overrides_unmodified_since)
{
    hdrs_t t;
    hdrs_init(&t);
    t.in.if_unmodified_since = hdr(&t, 1, DATE_BEFORE); /* alone this would be 412 */
    t.in.if_match = hdr(&t, 0, "\"2ebc98a1-a\"");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
}

TEST(pre_if_unmodified_since)
{
    hdrs_t t;
    hdrs_init(&t);
    t.in.if_unmodified_since = hdr(&t, 1, DATE_BEFORE);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 412);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_OFF, false), 412);
    t.in.if_unmodified_since = hdr(&t, 1, DATE_EQ);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
    t.in.if_unmodified_since = hdr(&t, 1, DATE_AFTER);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
    /* an invalid date is ignored */
    t.in.if_unmodified_since = hdr(&t, 1, "yesterday");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
    /* no modification date: ignored */
    t.in.if_unmodified_since = hdr(&t, 1, DATE_BEFORE);
    ASSERT_INT_EQ(ptc_http_static_preconditions(&t.in, &etag, -1, PTC_HTTP_IMS_EXACT, true), 0);
}

TEST(pre_if_none_match)
{
    hdrs_t t;
    hdrs_init(&t);
    t.in.if_none_match = hdr(&t, 2, "\"2ebc98a1-a\"");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 304);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, false), 412);
    /* weak comparison */
    t.in.if_none_match = hdr(&t, 2, "\"a\", W/\"2ebc98a1-a\"");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 304);
    t.in.if_none_match = hdr(&t, 2, "*");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_OFF, true), 304);
    t.in.if_none_match = hdr(&t, 2, "\"other\"");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
}

TEST(pre_if_none_match_overrides_modified_since)
{
    hdrs_t t;
    hdrs_init(&t);
    t.in.if_modified_since = hdr(&t, 3, DATE_EQ); /* alone this would be 304 */
    t.in.if_none_match = hdr(&t, 2, "\"other\"");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_BEFORE, true), 0);
}

TEST(pre_failed_if_match_before_if_none_match)
{
    hdrs_t t;
    hdrs_init(&t);
    t.in.if_match = hdr(&t, 0, "\"other\"");
    t.in.if_none_match = hdr(&t, 2, "\"2ebc98a1-a\"");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 412);
    hdrs_init(&t);
    t.in.if_unmodified_since = hdr(&t, 1, DATE_BEFORE);
    t.in.if_modified_since = hdr(&t, 3, DATE_EQ);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 412);
}

TEST(pre_if_modified_since_modes)
{
    hdrs_t t;
    hdrs_init(&t);
    t.in.if_modified_since = hdr(&t, 3, DATE_EQ);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 304);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_BEFORE, true), 304);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_OFF, true), 0);
    /* only GET and HEAD */
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, false), 0);
    /* the client's copy is newer than the file */
    t.in.if_modified_since = hdr(&t, 3, DATE_AFTER);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_BEFORE, true), 304);
    /* the file changed since */
    t.in.if_modified_since = hdr(&t, 3, DATE_BEFORE);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_EXACT, true), 0);
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_BEFORE, true), 0);
    /* invalid date, or no modification date: ignored */
    t.in.if_modified_since = hdr(&t, 3, "Sun, 06 Nov 1994 08:49:37");
    ASSERT_INT_EQ(pre(&t, PTC_HTTP_IMS_BEFORE, true), 0);
    t.in.if_modified_since = hdr(&t, 3, DATE_AFTER);
    ASSERT_INT_EQ(ptc_http_static_preconditions(&t.in, &etag, -1, PTC_HTTP_IMS_BEFORE, true), 0);
}

TEST(if_range)
{
    ptc_str_t v;
    ptc_str_set(&v, "\"2ebc98a1-a\"");
    ASSERT_TRUE(ptc_http_static_if_range_ok(&v, &etag, MTIME));
    ptc_str_set(&v, "\"2ebc98a1-b\"");
    ASSERT_TRUE(!ptc_http_static_if_range_ok(&v, &etag, MTIME));
    ptc_str_set(&v, "\"2ebc98a1-a"); /* a prefix is not equal */
    ASSERT_TRUE(!ptc_http_static_if_range_ok(&v, &etag, MTIME));
    ptc_str_set(&v, "W/\"2ebc98a1-a\"");
    ASSERT_TRUE(!ptc_http_static_if_range_ok(&v, &etag, MTIME));
    ptc_str_t weak = ptc_string("W/\"2ebc98a1-a\"");
    ASSERT_TRUE(!ptc_http_static_if_range_ok(&weak, &weak, MTIME));
    ptc_str_set(&v, DATE_EQ);
    ASSERT_TRUE(ptc_http_static_if_range_ok(&v, &etag, MTIME));
    ASSERT_TRUE(!ptc_http_static_if_range_ok(&v, &etag, -1));
    ptc_str_set(&v, DATE_AFTER); /* exact match only */
    ASSERT_TRUE(!ptc_http_static_if_range_ok(&v, &etag, MTIME));
    ptc_str_set(&v, DATE_BEFORE);
    ASSERT_TRUE(!ptc_http_static_if_range_ok(&v, &etag, MTIME));
    ptc_str_set(&v, "garbage");
    ASSERT_TRUE(!ptc_http_static_if_range_ok(&v, &etag, MTIME));
    /* an unparsable date must not "equal" a missing modification time */
    ASSERT_TRUE(!ptc_http_static_if_range_ok(&v, &etag, -1));
    ptc_str_set(&v, "");
    ASSERT_TRUE(!ptc_http_static_if_range_ok(&v, &etag, MTIME));
}

TEST(range_selection)
{
    hdrs_t t;
    ptc_http_range_t r = {-7, -7};
    hdrs_init(&t);
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_DECLINED);
    t.in.range = hdr(&t, 4, "bytes=2-4");
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_OK);
    ASSERT_INT_EQ(r.start, 2);
    ASSERT_INT_EQ(r.end, 4);
    t.in.range = hdr(&t, 4, "bytes=-3");
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_OK);
    ASSERT_INT_EQ(r.start, 7);
    ASSERT_INT_EQ(r.end, 9);
    t.in.range = hdr(&t, 4, "bytes=10-");
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_ERROR);
    t.in.range = hdr(&t, 4, "bytes=0-1,3-4");
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_DECLINED);
    t.in.range = hdr(&t, 4, "pages=1-2");
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_DECLINED);
}

TEST(range_with_if_range)
{
    hdrs_t t;
    ptc_http_range_t r = {-7, -7};
    hdrs_init(&t);
    t.in.range = hdr(&t, 4, "bytes=5-");
    t.in.if_range = hdr(&t, 5, "\"2ebc98a1-a\"");
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_OK);
    ASSERT_INT_EQ(r.start, 5);
    ASSERT_INT_EQ(r.end, 9);
    t.in.if_range = hdr(&t, 5, DATE_EQ);
    r.start = r.end = -7;
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_OK);
    ASSERT_INT_EQ(r.start, 5);
    /* a stale validator: the whole representation, the range untouched */
    r.start = r.end = -7;
    t.in.if_range = hdr(&t, 5, "\"old\"");
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_DECLINED);
    t.in.if_range = hdr(&t, 5, DATE_BEFORE);
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_DECLINED);
    /* even an unsatisfiable range is ignored when If-Range fails */
    t.in.range = hdr(&t, 4, "bytes=50-");
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_DECLINED);
    ASSERT_INT_EQ(r.start, -7);
    ASSERT_INT_EQ(r.end, -7);
    /* If-Range without Range does nothing */
    t.in.range = NULL;
    t.in.if_range = hdr(&t, 5, "\"2ebc98a1-a\"");
    ASSERT_INT_EQ(ptc_http_static_range(&t.in, &etag, MTIME, 10, &r), PTC_DECLINED);
}

TEST(content_range_values)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    ptc_str_t out = ptc_null_string;
    ptc_http_range_t r = {2, 4};
    ASSERT_NOT_NULL(pool);
    ASSERT_INT_EQ(ptc_http_static_content_range(pool, &r, 10, &out), PTC_OK);
    ASSERT_MEM_EQ(out.data, out.len, "bytes 2-4/10");
    ASSERT_INT_EQ(ptc_http_static_content_range(pool, NULL, 10, &out), PTC_OK);
    ASSERT_MEM_EQ(out.data, out.len, "bytes */10");
    r.start = 4294967296LL;
    r.end = 8589934591LL;
    ASSERT_INT_EQ(ptc_http_static_content_range(pool, &r, 8589934592LL, &out), PTC_OK);
    ASSERT_MEM_EQ(out.data, out.len, "bytes 4294967296-8589934591/8589934592");
    ASSERT_INT_EQ(ptc_http_static_content_range(pool, NULL, 0, &out), PTC_OK);
    ASSERT_MEM_EQ(out.data, out.len, "bytes */0");
    ptc_pool_destroy(pool);
}

/* ptc_http_static_dir_location over C strings. */
static void
dir_location(ptc_pool_t *pool, const char *uri, const char *args, ptc_str_t *out)
{
    ptc_str_t u = {strlen(uri), (u_char *)uri}, a = {strlen(args), (u_char *)args};
    out->data = NULL;
    out->len = 0;
    if (ptc_http_static_dir_location(pool, &u, &a, out) != PTC_OK) {
        out->data = NULL;
    }
}

TEST(dir_location_plain)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    ptc_str_t out;
    ASSERT_NOT_NULL(pool);
    dir_location(pool, "/docs", "", &out);
    ASSERT_MEM_EQ(out.data, out.len, "/docs/");
    dir_location(pool, "/a/b.c", "x=1&y=%20", &out);
    ASSERT_MEM_EQ(out.data, out.len, "/a/b.c/?x=1&y=%20");
    /* RFC 3986 sub-delims and ':' '@' stay as they are */
    dir_location(pool, "/a:b@c!$&'()*+,;=~-._", "", &out);
    ASSERT_MEM_EQ(out.data, out.len, "/a:b@c!$&'()*+,;=~-._/");
    ptc_pool_destroy(pool);
}

TEST(dir_location_escapes)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    ptc_str_t out;
    ASSERT_NOT_NULL(pool);
    dir_location(pool, "/my dir", "", &out);
    ASSERT_MEM_EQ(out.data, out.len, "/my%20dir/");
    /* a decoded CR LF must not split the Location header */
    dir_location(pool, "/a\r\nSet-Cookie: x", "", &out);
    ASSERT_MEM_EQ(out.data, out.len, "/a%0D%0ASet-Cookie:%20x/");
    dir_location(pool, "/100%?#", "q", &out);
    ASSERT_MEM_EQ(out.data, out.len, "/100%25%3F%23/?q");
    dir_location(pool, "/\"<>\\^`{|}\x7f\t", "", &out);
    ASSERT_MEM_EQ(out.data, out.len, "/%22%3C%3E%5C%5E%60%7B%7C%7D%7F%09/");
    dir_location(pool, "/caf\xc3\xa9", "", &out);
    ASSERT_MEM_EQ(out.data, out.len, "/caf%C3%A9/");
    ptc_pool_destroy(pool);
}

void
suite_http_static(void)
{
    RUN(pre_no_headers);
    RUN(pre_if_match);
    RUN(pre_if_match_overrides_unmodified_since);
    RUN(pre_if_unmodified_since);
    RUN(pre_if_none_match);
    RUN(pre_if_none_match_overrides_modified_since);
    RUN(pre_failed_if_match_before_if_none_match);
    RUN(pre_if_modified_since_modes);
    RUN(if_range);
    RUN(range_selection);
    RUN(range_with_if_range);
    RUN(content_range_values);
    RUN(dir_location_plain);
    RUN(dir_location_escapes);
}
