/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/http/http_util.c: dates, etags, ranges, status table. */
#include <stdint.h>
#include <time.h>

#include "core/ptc_pool.h"
#include "core/ptc_str.h"
#include "modules/http/http_util.h"
#include "test/unit/unit.h"

void suite_http_util(void);

#define S(lit) (const u_char *)(lit), sizeof(lit) - 1

/* Parse a C string date. */
static time_t
parse_date(const char *s)
{
    return ptc_http_parse_time((const u_char *)s, strlen(s));
}

TEST(time_parse_three_forms)
{
    ASSERT_INT_EQ(parse_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    ASSERT_INT_EQ(parse_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    ASSERT_INT_EQ(parse_date("Sun Nov  6 08:49:37 1994"), 784111777);
    ASSERT_INT_EQ(parse_date("Sun Nov 06 08:49:37 1994"), 784111777);
    ASSERT_INT_EQ(parse_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    ASSERT_INT_EQ(parse_date("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799LL);
    ASSERT_INT_EQ(parse_date("Wed Dec 31 23:59:59 2025"), 1767225599);
    ASSERT_INT_EQ(parse_date("Wednesday, 31-Dec-25 23:59:59 GMT"), 1767225599);
    /* the weekday is a name check only, not checked against the date */
    ASSERT_INT_EQ(parse_date("Mon, 06 Nov 1994 08:49:37 GMT"), 784111777);
    /* leap second counts as the next second */
    ASSERT_INT_EQ(parse_date("Sat, 31 Dec 2016 23:59:60 GMT"), 1483228800);
}

TEST(time_parse_two_digit_years)
{
    ASSERT_INT_EQ(parse_date("Thursday, 01-Jan-70 00:00:00 GMT"), 0);
    ASSERT_INT_EQ(parse_date("Friday, 31-Dec-99 23:59:59 GMT"), 946684799);
    ASSERT_INT_EQ(parse_date("Saturday, 01-Jan-00 00:00:00 GMT"), 946684800);
    ASSERT_INT_EQ(parse_date("Tuesday, 31-Dec-69 00:00:00 GMT"), 3155673600LL);
    ASSERT_INT_EQ(parse_date("Tuesday, 29-Feb-00 12:00:00 GMT"), 951825600);
}

TEST(time_parse_leap_days)
{
    ASSERT_INT_EQ(parse_date("Thu, 29 Feb 2024 00:00:00 GMT"), 1709164800);
    ASSERT_INT_EQ(parse_date("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
    ASSERT_INT_EQ(parse_date("Thu, 29 Feb 2023 00:00:00 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Thu, 29 Feb 2100 00:00:00 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Thu, 31 Feb 2024 00:00:00 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Thu, 31 Apr 2024 00:00:00 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Thu, 31 May 2024 00:00:00 GMT"), 1717113600);
    ASSERT_INT_EQ(parse_date("Thu Feb 29 00:00:00 2023"), -1);
    ASSERT_INT_EQ(parse_date("Thursday, 29-Feb-23 00:00:00 GMT"), -1);
}

TEST(time_parse_out_of_range)
{
    ASSERT_INT_EQ(parse_date("Sun, 06 Xyz 1994 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06 nov 1994 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 00 Nov 1994 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 32 Jan 1994 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06 Nov 1994 24:00:00 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06 Nov 1994 23:60:00 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06 Nov 1994 23:59:61 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Wed, 31 Dec 1969 23:59:59 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Wed, 31 Dec 1969 23:59:58 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Mon, 01 Jan 1900 00:00:00 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sat Jan  1 00:00:00 0000"), -1);
    ASSERT_INT_EQ(parse_date("Sun Nov  6 24:49:37 1994"), -1);
    ASSERT_INT_EQ(parse_date("Sun Nov 31 08:49:37 1994"), -1);
    ASSERT_INT_EQ(parse_date("Sun Nov  0 08:49:37 1994"), -1);
    ASSERT_INT_EQ(parse_date("Sunday, 06-Foo-94 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sunday, 06-Nov-94 08:61:37 GMT"), -1);
}

TEST(time_parse_syntax_errors)
{
    ASSERT_INT_EQ(parse_date(""), -1);
    ASSERT_INT_EQ(parse_date("Sun"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06 Nov 1994 08:49:37"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06 Nov 1994 08:49:37 UTC"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06 Nov 1994 08:49:37 GMT "), -1);
    ASSERT_INT_EQ(parse_date(" Sun, 06 Nov 1994 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Xyz, 06 Nov 1994 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun,  6 Nov 1994 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06-Nov-1994 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06 Nov 1994 08.49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06 Nov 1994 08:49:3x GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun, 06 Nov 19a4 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sunday, 06-Nov-94 08:49:37"), -1);
    ASSERT_INT_EQ(parse_date("Sunday, 06-Nov-94 08:49:37 UTC"), -1);
    ASSERT_INT_EQ(parse_date("Sunday 06-Nov-94 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sundae, 06-Nov-94 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sunday, 06 Nov 94 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sunday, 06-Nov-1994 08:49:37 GMT"), -1);
    ASSERT_INT_EQ(parse_date("Sun Nov  6 08:49:37 1994 "), -1);
    ASSERT_INT_EQ(parse_date("Sun Nov  6 08:49:37 94"), -1);
    ASSERT_INT_EQ(parse_date("Sun Nov 6  08:49:37 1994"), -1);
    ASSERT_INT_EQ(parse_date("Xyz Nov  6 08:49:37 1994"), -1);
    ASSERT_INT_EQ(parse_date("Sun Nov  6 08:49:37 GMT"), -1);
    /* counted input: the bytes after len are not read */
    ASSERT_INT_EQ(ptc_http_parse_time((const u_char *)"Sun, 06 Nov 1994 08:49:37 GMTX", 29),
                  784111777);
    ASSERT_INT_EQ(ptc_http_parse_time((const u_char *)"Sun, 06 Nov 1994 08:49:37 GMT", 28), -1);
}

TEST(time_format_known)
{
    u_char mem[64], *buf = mem;
    memset(mem, 'x', sizeof(mem));
    u_char *end = ptc_http_format_time(buf, 784111777);
    ASSERT_TRUE(end == buf + PTC_HTTP_TIME_LEN);
    ASSERT_MEM_EQ(buf, PTC_HTTP_TIME_LEN, "Sun, 06 Nov 1994 08:49:37 GMT");
    ASSERT_INT_EQ(buf[PTC_HTTP_TIME_LEN], 'x');
    end = ptc_http_format_time(buf, 0);
    ASSERT_MEM_EQ(buf, (size_t)(end - buf), "Thu, 01 Jan 1970 00:00:00 GMT");
    end = ptc_http_format_time(buf, 1709164800);
    ASSERT_MEM_EQ(buf, (size_t)(end - buf), "Thu, 29 Feb 2024 00:00:00 GMT");
    /* clamped so the length never changes */
    end = ptc_http_format_time(buf, -5);
    ASSERT_MEM_EQ(buf, (size_t)(end - buf), "Thu, 01 Jan 1970 00:00:00 GMT");
    end = ptc_http_format_time(buf, (time_t)300000000000LL);
    ASSERT_MEM_EQ(buf, (size_t)(end - buf), "Fri, 31 Dec 9999 23:59:59 GMT");
}

/* format against strftime (C locale), parse against timegm, over many
 * instants spread from 1970 to 9999, every leap day 1970..2400 included. */
TEST(time_round_trip)
{
    u_char mem[64], *buf = mem;
    char ref[64];
    struct tm tm;
    int checked = 0;

    for (int64_t v = 0; v <= 253402300799LL; v += 86400LL * 97 + 3671) {
        time_t t = (time_t)v;
        u_char *end = ptc_http_format_time(buf, t);
        ASSERT_NOT_NULL(gmtime_r(&t, &tm));
        ASSERT_INT_EQ(strftime(ref, sizeof(ref), "%a, %d %b %Y %H:%M:%S GMT", &tm), 29);
        ASSERT_MEM_EQ(buf, (size_t)(end - buf), ref);
        ASSERT_INT_EQ(ptc_http_parse_time(buf, (size_t)(end - buf)), v);
        ASSERT_INT_EQ(strftime(ref, sizeof(ref), "%a %b %e %H:%M:%S %Y", &tm), 24);
        ASSERT_INT_EQ(parse_date(ref), v);
        checked++;
    }
    for (int y = 1972; y <= 2400; y += 4) {
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = y - 1900;
        tm.tm_mon = 1;
        tm.tm_mday = 29;
        tm.tm_hour = 13;
        time_t t = timegm(&tm);
        u_char *end = ptc_http_format_time(buf, t);
        bool leap = y % 100 != 0 || y % 400 == 0;
        ASSERT_INT_EQ(ptc_http_parse_time(buf, (size_t)(end - buf)), t);
        ASSERT_MEM_EQ(buf + 5, 6, leap ? "29 Feb" : "01 Mar");
        checked++;
    }
    ASSERT_TRUE(checked > 30000);
}

TEST(etag_format)
{
    u_char mem[PTC_HTTP_ETAG_MAX], *buf = mem;
    size_t n = ptc_http_etag(buf, 0x5f5e1000, 26);
    ASSERT_MEM_EQ(buf, n, "\"5f5e1000-1a\"");
    n = ptc_http_etag(buf, 0, 0);
    ASSERT_MEM_EQ(buf, n, "\"0-0\"");
    n = ptc_http_etag(buf, 1700000000, (off_t)0x7fffffffffffffffLL);
    ASSERT_MEM_EQ(buf, n, "\"6553f100-7fffffffffffffff\"");
    n = ptc_http_etag(buf, -1, (off_t)0xabcdef);
    ASSERT_MEM_EQ(buf, n, "\"ffffffffffffffff-abcdef\"");
    ASSERT_TRUE(n <= PTC_HTTP_ETAG_MAX);
}

static bool
match(const char *header, const char *etag, bool weak)
{
    return ptc_http_etag_match((const u_char *)header, strlen(header), (const u_char *)etag,
                               strlen(etag), weak);
}

TEST(etag_match_lists)
{
    ASSERT_TRUE(match("\"abc\"", "\"abc\"", true));
    ASSERT_TRUE(match("\"abc\"", "\"abc\"", false));
    ASSERT_TRUE(!match("\"abd\"", "\"abc\"", true));
    ASSERT_TRUE(!match("\"ab\"", "\"abc\"", true));
    ASSERT_TRUE(!match("abc", "\"abc\"", true));
    ASSERT_TRUE(match("\"x\", \"abc\"", "\"abc\"", false));
    ASSERT_TRUE(match("\"x\",\"y\" ,\t\"abc\"  ", "\"abc\"", true));
    ASSERT_TRUE(match(" , ,\"abc\",,", "\"abc\"", true));
    ASSERT_TRUE(!match("\"x\", \"y\"", "\"abc\"", true));
    ASSERT_TRUE(!match("", "\"abc\"", true));
    /* a comma inside an opaque-tag is part of it (etagc includes ',') */
    ASSERT_TRUE(match("\"a,b\"", "\"a,b\"", true));
    ASSERT_TRUE(!match("\"a,b\"", "\"a\"", true));
}

TEST(etag_match_star)
{
    ASSERT_TRUE(match("*", "\"abc\"", true));
    ASSERT_TRUE(match(" * ", "\"abc\"", false));
    ASSERT_TRUE(match("*", "W/\"abc\"", false));
    ASSERT_TRUE(match("*", "", true));
    ASSERT_TRUE(!match("*, \"x\"", "\"abc\"", true));
    ASSERT_TRUE(!match("**", "\"abc\"", true));
}

TEST(etag_match_weak_strong)
{
    /* weak comparison: W/ ignored on both sides */
    ASSERT_TRUE(match("W/\"abc\"", "\"abc\"", true));
    ASSERT_TRUE(match("\"abc\"", "W/\"abc\"", true));
    ASSERT_TRUE(match("W/\"abc\"", "W/\"abc\"", true));
    ASSERT_TRUE(match("\"x\", W/\"abc\"", "\"abc\"", true));
    /* strong comparison: a weak tag on either side never matches */
    ASSERT_TRUE(!match("W/\"abc\"", "\"abc\"", false));
    ASSERT_TRUE(!match("\"abc\"", "W/\"abc\"", false));
    ASSERT_TRUE(match("W/\"abc\", \"abc\"", "\"abc\"", false));
    /* lowercase w/ is not the weak marker */
    ASSERT_TRUE(!match("w/\"abc\"", "\"abc\"", true));
}

TEST(etag_match_malformed)
{
    /* unparsable elements never match, the scan goes on */
    ASSERT_TRUE(!match("\"abc", "\"abc\"", true));
    ASSERT_TRUE(!match("\"abc\"x", "\"abc\"", true));
    ASSERT_TRUE(match("\"abc\"x, \"abc\"", "\"abc\"", true));
    ASSERT_TRUE(match("garbage, \"abc\"", "\"abc\"", true));
    ASSERT_TRUE(!match("\"a bc\"", "\"a bc\"", true));
    ASSERT_TRUE(match("\"a b\", \"abc\"", "\"abc\"", true));
    ASSERT_TRUE(!match("W/", "\"abc\"", true));
    ASSERT_TRUE(!match("W", "\"abc\"", true));
    ASSERT_TRUE(!match("\"", "\"abc\"", true));
    ASSERT_TRUE(!match("\"\"", "\"abc\"", true));
    ASSERT_TRUE(!match("\"abc\" \"abc\"", "\"abc\"", true));
    ASSERT_TRUE(!match("\"\"", "", true));
    ASSERT_TRUE(!match("\"abc\"", "W/", true));
    /* counted: bytes past len are ignored */
    ASSERT_TRUE(ptc_http_etag_match(S("\"abc\""), (const u_char *)"\"abc\"", 5, true));
    ASSERT_TRUE(
        !ptc_http_etag_match((const u_char *)"\"abc\"", 4, (const u_char *)"\"abc\"", 5, true));
}

/* Parse a range against size; returns the status, fills start/end (or -9
 * when untouched). */
static int
range(const char *s, off_t size, off_t *start, off_t *end)
{
    ptc_http_range_t r = {-9, -9};
    int rc = ptc_http_parse_range((const u_char *)s, strlen(s), size, &r);
    *start = r.start;
    *end = r.end;
    return rc;
}

TEST(range_ok)
{
    off_t a, b;
    ASSERT_INT_EQ(range("bytes=0-499", 1000, &a, &b), PTC_OK);
    ASSERT_INT_EQ(a, 0);
    ASSERT_INT_EQ(b, 499);
    ASSERT_INT_EQ(range("bytes=500-", 1000, &a, &b), PTC_OK);
    ASSERT_INT_EQ(a, 500);
    ASSERT_INT_EQ(b, 999);
    ASSERT_INT_EQ(range("bytes=-200", 1000, &a, &b), PTC_OK);
    ASSERT_INT_EQ(a, 800);
    ASSERT_INT_EQ(b, 999);
    ASSERT_INT_EQ(range("bytes=999-999", 1000, &a, &b), PTC_OK);
    ASSERT_INT_EQ(a, 999);
    ASSERT_INT_EQ(b, 999);
    ASSERT_INT_EQ(range("BYTES=0-0", 1000, &a, &b), PTC_OK);
    ASSERT_INT_EQ(a, 0);
    ASSERT_INT_EQ(b, 0);
    ASSERT_INT_EQ(range("bytes= \t10-20 \t", 1000, &a, &b), PTC_OK);
    ASSERT_INT_EQ(a, 10);
    ASSERT_INT_EQ(b, 20);
}

TEST(range_clamped)
{
    off_t a, b;
    /* suffix larger than the representation selects all of it */
    ASSERT_INT_EQ(range("bytes=-5000", 1000, &a, &b), PTC_OK);
    ASSERT_INT_EQ(a, 0);
    ASSERT_INT_EQ(b, 999);
    ASSERT_INT_EQ(range("bytes=-1000", 1000, &a, &b), PTC_OK);
    ASSERT_INT_EQ(a, 0);
    ASSERT_INT_EQ(b, 999);
    /* end beyond the size is clamped */
    ASSERT_INT_EQ(range("bytes=100-5000", 1000, &a, &b), PTC_OK);
    ASSERT_INT_EQ(a, 100);
    ASSERT_INT_EQ(b, 999);
    ASSERT_INT_EQ(range("bytes=0-9223372036854775807", 10, &a, &b), PTC_OK);
    ASSERT_INT_EQ(a, 0);
    ASSERT_INT_EQ(b, 9);
}

TEST(range_unsatisfiable)
{
    off_t a, b;
    ASSERT_INT_EQ(range("bytes=1000-", 1000, &a, &b), PTC_ERROR);
    ASSERT_INT_EQ(a, -9);
    ASSERT_INT_EQ(range("bytes=1000-2000", 1000, &a, &b), PTC_ERROR);
    ASSERT_INT_EQ(range("bytes=-0", 1000, &a, &b), PTC_ERROR);
    ASSERT_INT_EQ(range("bytes=0-", 0, &a, &b), PTC_ERROR);
    ASSERT_INT_EQ(range("bytes=0-0", 0, &a, &b), PTC_ERROR);
    ASSERT_INT_EQ(range("bytes=-5", 0, &a, &b), PTC_ERROR);
    ASSERT_INT_EQ(a, -9);
    ASSERT_INT_EQ(b, -9);
}

TEST(range_ignored)
{
    off_t a, b;
    ASSERT_INT_EQ(range("bytes=5-2", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(a, -9);
    ASSERT_INT_EQ(b, -9);
    ASSERT_INT_EQ(range("bytes=0-0,5-6", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=0-0, 5-6", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=0-1,", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("items=0-1", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=abc", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=abc", 0, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=-", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=--5", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=-5-", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=5", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=5--", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=1-2x", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=+1-2", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=1 -2", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=1- 2", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes =1-2", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range(" bytes=1-2", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytesx0-1", 1000, &a, &b), PTC_DECLINED);
    /* overflow of off_t */
    ASSERT_INT_EQ(range("bytes=9223372036854775808-", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=0-9223372036854775808", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(range("bytes=-99999999999999999999", 1000, &a, &b), PTC_DECLINED);
    ASSERT_INT_EQ(a, -9);
    /* counted input: "bytes=0-1,2-3" cut after the first range */
    ptc_http_range_t r;
    ASSERT_INT_EQ(ptc_http_parse_range((const u_char *)"bytes=0-1,2-3", 9, 100, &r), PTC_OK);
    ASSERT_INT_EQ(r.start, 0);
    ASSERT_INT_EQ(r.end, 1);
}

TEST(status_reasons)
{
    ASSERT_STR_EQ(ptc_http_status_reason(200), "OK");
    ASSERT_STR_EQ(ptc_http_status_reason(302), "Moved Temporarily");
    ASSERT_STR_EQ(ptc_http_status_reason(405), "Not Allowed");
    ASSERT_STR_EQ(ptc_http_status_reason(408), "Request Time-out");
    ASSERT_STR_EQ(ptc_http_status_reason(413), "Request Entity Too Large");
    ASSERT_STR_EQ(ptc_http_status_reason(414), "Request-URI Too Large");
    ASSERT_STR_EQ(ptc_http_status_reason(416), "Requested Range Not Satisfiable");
    ASSERT_STR_EQ(ptc_http_status_reason(494), "Request Header Too Large");
    ASSERT_STR_EQ(ptc_http_status_reason(503), "Service Temporarily Unavailable");
    ASSERT_STR_EQ(ptc_http_status_reason(504), "Gateway Time-out");
    ASSERT_STR_EQ(ptc_http_status_reason(505), "HTTP Version Not Supported");
    ASSERT_STR_EQ(ptc_http_status_reason(100), "Continue");
    ASSERT_STR_EQ(ptc_http_status_reason(507), "Insufficient Storage");
    ASSERT_NULL(ptc_http_status_reason(0));
    ASSERT_NULL(ptc_http_status_reason(299));
    ASSERT_NULL(ptc_http_status_reason(418));
    ASSERT_NULL(ptc_http_status_reason(499));
    ASSERT_NULL(ptc_http_status_reason(999));
}

TEST(status_lines)
{
    const ptc_str_t *l = ptc_http_status_line(404);
    ASSERT_NOT_NULL(l);
    ASSERT_MEM_EQ(l->data, l->len, "HTTP/1.1 404 Not Found\r\n");
    l = ptc_http_status_line(302);
    ASSERT_NOT_NULL(l);
    ASSERT_MEM_EQ(l->data, l->len, "HTTP/1.1 302 Moved Temporarily\r\n");
    l = ptc_http_status_line(100);
    ASSERT_NOT_NULL(l);
    ASSERT_MEM_EQ(l->data, l->len, "HTTP/1.1 100 Continue\r\n");
    for (unsigned s = 494; s <= 497; s++) {
        l = ptc_http_status_line(s);
        ASSERT_NOT_NULL(l);
        ASSERT_MEM_EQ(l->data, l->len, "HTTP/1.1 400 Bad Request\r\n");
    }
    ASSERT_NULL(ptc_http_status_line(418));
    ASSERT_NULL(ptc_http_status_line(99));
    /* the whole table is sorted and self-consistent */
    unsigned found = 0;
    for (unsigned s = 0; s < 1000; s++) {
        const char *reason = ptc_http_status_reason(s);
        l = ptc_http_status_line(s);
        ASSERT_TRUE((reason == NULL) == (l == NULL));
        if (l == NULL || (s >= 494 && s <= 497)) {
            continue;
        }
        char want[80];
        snprintf(want, sizeof(want), "HTTP/1.1 %u %s\r\n", s, reason);
        ASSERT_MEM_EQ(l->data, l->len, want);
        found++;
    }
    ASSERT_INT_EQ(found, 39);
}

/* nginx-internal 4xx pages: cause in the title and below a "400 Bad Request" heading */
#define PAGE400(msg, footer)                                                                       \
    "<html>\r\n<head><title>400 " msg "</title></head>\r\n<body>\r\n"                              \
    "<center><h1>400 Bad Request</h1></center>\r\n<center>" msg "</center>\r\n"                    \
    "<hr><center>" footer "</center>\r\n</body>\r\n</html>\r\n"

#define PAGE(title, footer)                                                                        \
    "<html>\r\n<head><title>" title "</title></head>\r\n<body>\r\n<center><h1>" title              \
    "</h1></center>\r\n<hr><center>" footer "</center>\r\n</body>\r\n</html>\r\n"

TEST(error_pages)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    ptc_str_t page = ptc_null_string;
    ASSERT_NOT_NULL(pool);
    ASSERT_INT_EQ(ptc_http_error_page(pool, 404, true, &page), PTC_OK);
    ASSERT_MEM_EQ(page.data, page.len,
                  "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                  "<center><h1>404 Not Found</h1></center>\r\n"
                  "<hr><center>portico/0.1.0</center>\r\n</body>\r\n</html>\r\n");
    ASSERT_INT_EQ(ptc_http_error_page(pool, 404, false, &page), PTC_OK);
    ASSERT_MEM_EQ(page.data, page.len,
                  "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                  "<center><h1>404 Not Found</h1></center>\r\n"
                  "<hr><center>portico</center>\r\n</body>\r\n</html>\r\n");
    ASSERT_INT_EQ(ptc_http_error_page(pool, 494, false, &page), PTC_OK);
    ASSERT_MEM_EQ(page.data, page.len, PAGE400("Request Header Or Cookie Too Large", "portico"));
    ASSERT_INT_EQ(ptc_http_error_page(pool, 495, true, &page), PTC_OK);
    ASSERT_MEM_EQ(page.data, page.len,
                  PAGE400("The SSL certificate error", PTC_NAME "/" PTC_VERSION));
    ASSERT_INT_EQ(ptc_http_error_page(pool, 496, false, &page), PTC_OK);
    ASSERT_MEM_EQ(page.data, page.len, PAGE400("No required SSL certificate was sent", "portico"));
    ASSERT_INT_EQ(ptc_http_error_page(pool, 497, false, &page), PTC_OK);
    ASSERT_MEM_EQ(page.data, page.len,
                  PAGE400("The plain HTTP request was sent to HTTPS port", "portico"));
    ASSERT_INT_EQ(ptc_http_error_page(pool, 503, false, &page), PTC_OK);
    ASSERT_MEM_EQ(page.data, page.len, PAGE("503 Service Temporarily Unavailable", "portico"));
    ASSERT_INT_EQ(ptc_http_error_page(pool, 302, true, &page), PTC_OK);
    ASSERT_MEM_EQ(page.data, page.len, PAGE("302 Moved Temporarily", "portico/0.1.0"));
    ASSERT_INT_EQ(ptc_pool_used(pool), 0);
    ptc_pool_destroy(pool);
}

TEST(error_pages_declined)
{
    static const unsigned none[] = {100, 101, 200, 201, 202, 204, 206, 207, 304, 300, 305, 418, 0};
    static const unsigned some[] = {301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 406,
                                    408, 409, 410, 411, 412, 413, 414, 415, 416, 421, 429, 494,
                                    495, 496, 497, 500, 501, 502, 503, 504, 505, 507};
    ptc_str_t page = {7, (u_char *)"unset"};

    for (size_t i = 0; i < ptc_nelems(none); i++) {
        ASSERT_INT_EQ(ptc_http_error_page(NULL, none[i], true, &page), PTC_DECLINED);
        ASSERT_INT_EQ(ptc_http_error_page(NULL, none[i], false, &page), PTC_DECLINED);
        ASSERT_INT_EQ(page.len, 7);
    }
    for (size_t i = 0; i < ptc_nelems(some); i++) {
        ASSERT_INT_EQ(ptc_http_error_page(NULL, some[i], false, &page), PTC_OK);
        ASSERT_TRUE(page.len > 100);
    }
}

void
suite_http_util(void)
{
    RUN(time_parse_three_forms);
    RUN(time_parse_two_digit_years);
    RUN(time_parse_leap_days);
    RUN(time_parse_out_of_range);
    RUN(time_parse_syntax_errors);
    RUN(time_format_known);
    RUN(time_round_trip);
    RUN(etag_format);
    RUN(etag_match_lists);
    RUN(etag_match_star);
    RUN(etag_match_weak_strong);
    RUN(etag_match_malformed);
    RUN(range_ok);
    RUN(range_clamped);
    RUN(range_unsatisfiable);
    RUN(range_ignored);
    RUN(status_reasons);
    RUN(status_lines);
    RUN(error_pages);
    RUN(error_pages_declined);
}
