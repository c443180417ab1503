/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP dates, entity tags, single byte ranges and the status table. Dates
 * are converted arithmetically (days from the civil date), never through
 * strptime()/timegm(), so the result cannot depend on locale or TZ. */
#include "modules/http/http_util.h"

#include <stdint.h>

/* Broken-down UTC time as parsed; mon is 1..12. */
typedef struct {
    int year, mon, day, hour, min, sec;
} http_tm_t;

/* Largest value an off_t holds, whatever its width. */
#define HTTP_OFF_MAX ((off_t)((((uint64_t)1) << (sizeof(off_t) * 8 - 1)) - 1))

/* 9999-12-31 23:59:59 UTC: the last second with a 4-digit year. */
#define HTTP_TIME_MAX ((int64_t)253402300799)

static const char http_wday_short[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

static const char *const http_wday_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};

static const char http_months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Value of n ASCII digits, or -1 if any byte is not a digit. */
static int
http_time_digits(const u_char *p, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Month number 1..12 for a 3-letter name, or -1. */
static int
http_time_month(const u_char *p)
{
    for (int i = 0; i < 12; i++) {
        if (memcmp(p, http_months[i], 3) == 0) {
            return i + 1;
        }
    }
    return -1;
}

static bool
http_time_is_wday(const u_char *p)
{
    for (int i = 0; i < 7; i++) {
        if (memcmp(p, http_wday_short[i], 3) == 0) {
            return true;
        }
    }
    return false;
}

/* "HH:MM:SS" (8 bytes) into tm; false on a syntax error. */
static bool
http_time_hms(const u_char *p, http_tm_t *tm)
{
    if (p[2] != ':' || p[5] != ':') {
        return false;
    }
    tm->hour = http_time_digits(p, 2);
    tm->min = http_time_digits(p + 3, 2);
    tm->sec = http_time_digits(p + 6, 2);
    return tm->hour >= 0 && tm->min >= 0 && tm->sec >= 0;
}

static bool
http_time_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days between 1970-01-01 and the given date (proleptic Gregorian, y >= 0).
 * Counting years from March puts the leap day last, so the day of the year
 * follows from the month by a linear formula and 400-year eras repeat. */
static int64_t
http_time_days(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    if (m <= 2) {
        y--;
    }
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Range-check the fields and convert; -1 when out of range. */
static time_t
http_time_make(const http_tm_t *tm)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t v;
    int dim;

    if (tm->year < 1970 || tm->year > 9999 || tm->mon < 1 || tm->mon > 12) {
        return (time_t)-1;
    }
    dim = mdays[tm->mon - 1] + (tm->mon == 2 && http_time_is_leap(tm->year));
    if (tm->day < 1 || tm->day > dim || tm->hour > 23 || tm->min > 59 || tm->sec > 60) {
        return (time_t)-1;
    }
    v = http_time_days(tm->year, tm->mon, tm->day) * 86400 + tm->hour * 3600 + tm->min * 60
        + tm->sec;
    if ((int64_t)(time_t)v != v) {
        return (time_t)-1;
    }
    return (time_t)v;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes). */
static time_t
http_time_imf(const u_char *p)
{
    http_tm_t tm;

    if (!http_time_is_wday(p) || memcmp(p + 3, ", ", 2) != 0 || p[7] != ' ' || p[11] != ' '
        || p[16] != ' ' || memcmp(p + 25, " GMT", 4) != 0) {
        return (time_t)-1;
    }
    tm.day = http_time_digits(p + 5, 2);
    tm.mon = http_time_month(p + 8);
    tm.year = http_time_digits(p + 12, 4);
    if (tm.day < 0 || tm.mon < 0 || tm.year < 0 || !http_time_hms(p + 17, &tm)) {
        return (time_t)-1;
    }
    return http_time_make(&tm);
}

/* asctime: "Sun Nov  6 08:49:37 1994" (24 bytes); the day is SP DIGIT or
 * 2DIGIT. */
static time_t
http_time_asctime(const u_char *p)
{
    http_tm_t tm;

    if (!http_time_is_wday(p) || p[3] != ' ' || p[7] != ' ' || p[10] != ' ' || p[19] != ' ') {
        return (time_t)-1;
    }
    tm.mon = http_time_month(p + 4);
    tm.day = p[8] == ' ' ? http_time_digits(p + 9, 1) : http_time_digits(p + 8, 2);
    tm.year = http_time_digits(p + 20, 4);
    if (tm.day < 0 || tm.mon < 0 || tm.year < 0 || !http_time_hms(p + 11, &tm)) {
        return (time_t)-1;
    }
    return http_time_make(&tm);
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT": a full weekday name, ", ", then
 * 22 bytes of date. */
static time_t
http_time_rfc850(const u_char *s, size_t len)
{
    const u_char *p = NULL;
    http_tm_t tm;

    for (int i = 0; i < 7; i++) {
        size_t n = strlen(http_wday_long[i]);
        if (len == n + 2 + 22 && memcmp(s, http_wday_long[i], n) == 0
            && memcmp(s + n, ", ", 2) == 0) {
            p = s + n + 2;
            break;
        }
    }
    if (p == NULL || p[2] != '-' || p[6] != '-' || p[9] != ' ' || memcmp(p + 18, " GMT", 4) != 0) {
        return (time_t)-1;
    }
    tm.day = http_time_digits(p, 2);
    tm.mon = http_time_month(p + 3);
    tm.year = http_time_digits(p + 7, 2);
    if (tm.day < 0 || tm.mon < 0 || tm.year < 0 || !http_time_hms(p + 10, &tm)) {
        return (time_t)-1;
    }
    tm.year += tm.year >= 70 ? 1900 : 2000;
    return http_time_make(&tm);
}

time_t
ptc_http_parse_time(const u_char *s, size_t len)
{
    if (len == PTC_HTTP_TIME_LEN && s[3] == ',') {
        return http_time_imf(s);
    }
    if (len == 24 && s[3] == ' ') {
        return http_time_asctime(s);
    }
    return http_time_rfc850(s, len);
}

/* Write v (0..99) as two digits. */
static u_char *
http_time_put2(u_char *p, int v)
{
    *p++ = (u_char)('0' + v / 10);
    *p++ = (u_char)('0' + v % 10);
    return p;
}

u_char *
ptc_http_format_time(u_char *buf, time_t t)
{
    int64_t v = (int64_t)t;
    time_t c;
    struct tm tm;
    u_char *p = buf;

    /* Outside [1970, 9999] the year would not take exactly 4 digits. */
    v = v < 0 ? 0 : (v > HTTP_TIME_MAX ? HTTP_TIME_MAX : v);
    c = (time_t)v;
    if (gmtime_r(&c, &tm) == NULL) {
        memset(&tm, 0, sizeof(tm));
        tm.tm_mday = 1;
        tm.tm_year = 70;
        tm.tm_wday = 4;
    }
    p = ptc_cpymem(p, http_wday_short[tm.tm_wday], 3);
    p = ptc_cpymem(p, ", ", 2);
    p = http_time_put2(p, tm.tm_mday);
    *p++ = ' ';
    p = ptc_cpymem(p, http_months[tm.tm_mon], 3);
    *p++ = ' ';
    p = http_time_put2(p, (tm.tm_year + 1900) / 100);
    p = http_time_put2(p, (tm.tm_year + 1900) % 100);
    *p++ = ' ';
    p = http_time_put2(p, tm.tm_hour);
    *p++ = ':';
    p = http_time_put2(p, tm.tm_min);
    *p++ = ':';
    p = http_time_put2(p, tm.tm_sec);
    return ptc_cpymem(p, " GMT", 4);
}

/* Lowercase hex of v, no leading zeros ("0" for zero). */
static u_char *
http_etag_hex(u_char *p, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    u_char tmp[16];
    size_t n = 0;

    do {
        tmp[n++] = (u_char)hex[v & 0xf];
        v >>= 4;
    } while (v != 0);
    while (n > 0) {
        *p++ = tmp[--n];
    }
    return p;
}

size_t
ptc_http_etag(u_char *buf, time_t mtime, off_t size)
{
    u_char *p = buf;

    *p++ = '"';
    p = http_etag_hex(p, (uint64_t)mtime);
    *p++ = '-';
    p = http_etag_hex(p, (uint64_t)size);
    *p++ = '"';
    return (size_t)(p - buf);
}

static bool
http_is_ows(u_char c)
{
    return c == ' ' || c == '\t';
}

/* etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3) */
static bool
http_is_etagc(u_char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/* Parse one list element at p (OWS already skipped): [W/] DQUOTE etagc*
 * DQUOTE, then OWS up to ',' or end. Sets tag to the quoted part (quotes
 * included) and *weak, or tag->len = 0 when the element is malformed.
 * Returns where the element ends: at its ',' or at end. */
static const u_char *
http_etag_element(const u_char *p, const u_char *end, ptc_str_t *tag, bool *weak)
{
    const u_char *q;

    tag->len = 0;
    tag->data = NULL;
    *weak = end - p >= 2 && p[0] == 'W' && p[1] == '/';
    q = *weak ? p + 2 : p;
    if (q < end && *q == '"') {
        const u_char *t = q + 1;
        while (t < end && http_is_etagc(*t)) {
            t++;
        }
        if (t < end && *t == '"') {
            tag->data = (u_char *)q;
            tag->len = (size_t)(t + 1 - q);
            p = t + 1;
            while (p < end && http_is_ows(*p)) {
                p++;
            }
        }
    }
    if (p < end && *p != ',') {
        tag->len = 0;
    }
    while (p < end && *p != ',') {
        p++;
    }
    return p;
}

bool
ptc_http_etag_match(const u_char *header, size_t len, const u_char *etag, size_t etag_len,
                    bool weak)
{
    const u_char *p = header, *end = header + len;
    bool etag_weak, tag_weak;
    ptc_str_t tag;

    while (p < end && http_is_ows(*p)) {
        p++;
    }
    while (end > p && http_is_ows(end[-1])) {
        end--;
    }
    if (end - p == 1 && *p == '*') {
        return true;
    }
    etag_weak = etag_len >= 2 && etag[0] == 'W' && etag[1] == '/';
    if (etag_weak) {
        etag += 2;
        etag_len -= 2;
    }
    if ((etag_weak && !weak) || etag_len == 0) {
        return false;
    }
    while (p < end) {
        if (http_is_ows(*p) || *p == ',') {
            p++;
            continue;
        }
        p = http_etag_element(p, end, &tag, &tag_weak);
        if (tag.len == etag_len && (weak || !tag_weak) && memcmp(tag.data, etag, etag_len) == 0) {
            return true;
        }
    }
    return false;
}

/* Decimal digits at *pp into *n, advancing *pp; false when there are none
 * or the value overflows off_t. */
static bool
http_range_number(const u_char **pp, const u_char *end, off_t *n)
{
    const u_char *p = *pp;
    off_t v = 0;

    if (p == end || *p < '0' || *p > '9') {
        return false;
    }
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (v > (HTTP_OFF_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *pp = p;
    *n = v;
    return true;
}

/* Syntax of the single range after "bytes=" and OWS: sets *first, *last
 * (-1 when absent: FIRST- has no last, -SUFFIX has no first and *last is the
 * suffix length). False on any syntax error. */
static bool
http_range_spec(const u_char *p, const u_char *end, off_t *first, off_t *last)
{
    *first = -1;
    *last = -1;
    if (p < end && *p != '-' && !http_range_number(&p, end, first)) {
        return false;
    }
    if (p == end || *p++ != '-') {
        return false;
    }
    if (p < end && *p >= '0' && *p <= '9' && !http_range_number(&p, end, last)) {
        return false;
    }
    if (*first == -1 && *last == -1) {
        return false;
    }
    while (p < end && http_is_ows(*p)) {
        p++;
    }
    /* anything left, a ',' included, means syntax error or several ranges */
    return p == end && (*first == -1 || *last == -1 || *last >= *first);
}

int
ptc_http_parse_range(const u_char *s, size_t len, off_t size, ptc_http_range_t *range)
{
    const u_char *p, *end = s + len;
    off_t first, last;

    if (len < 6 || ptc_strncasecmp(s, (const u_char *)"bytes=", 6) != 0) {
        return PTC_DECLINED;
    }
    p = s + 6;
    while (p < end && http_is_ows(*p)) {
        p++;
    }
    if (!http_range_spec(p, end, &first, &last)) {
        return PTC_DECLINED;
    }
    if (first == -1) {
        /* suffix-range: the last `last` bytes (RFC 9110 §14.1.1) */
        if (last == 0 || size <= 0) {
            return PTC_ERROR;
        }
        range->start = last < size ? size - last : 0;
        range->end = size - 1;
        return PTC_OK;
    }
    if (first >= size) {
        return PTC_ERROR;
    }
    range->start = first;
    range->end = last == -1 || last >= size ? size - 1 : last;
    return PTC_OK;
}

/* Status table. Each row carries its reason phrase, its status line and,
 * for statuses that have one, both forms of its error page, all built at
 * compile time. Rows are sorted by status for the binary search. */
typedef struct {
    unsigned status;
    const char *reason;
    ptc_str_t line;
    ptc_str_t page_tokens; /* footer "portico/VERSION"; len 0: no page */
    ptc_str_t page_plain;  /* footer "portico" */
} http_status_t;

#define HTTP_PAGE(title, footer)                                                                   \
    ptc_string("<html>\r\n<head><title>" title "</title></head>\r\n<body>\r\n<center><h1>" title   \
               "</h1></center>\r\n<hr><center>" footer "</center>\r\n</body>\r\n</html>\r\n")

#define HTTP_LINE(code, text) ptc_string("HTTP/1.1 " code " " text "\r\n")

/* A status with no page. */
#define HTTP_STATUS(code, text)                                                                    \
    {                                                                                              \
        code, text, HTTP_LINE(#code, text), ptc_null_string, ptc_null_string                       \
    }

/* A status whose page title is "CODE TEXT". */
#define HTTP_STATUS_PAGE(code, text)                                                               \
    {                                                                                              \
        code, text, HTTP_LINE(#code, text), HTTP_PAGE(#code " " text, PTC_NAME "/" PTC_VERSION),   \
            HTTP_PAGE(#code " " text, PTC_NAME)                                                    \
    }

/* nginx-internal statuses are sent as 400: the title names the cause, the
 * heading says "400 Bad Request" and a line below repeats the cause. */
#define HTTP_PAGE_400(msg, footer)                                                                 \
    ptc_string("<html>\r\n<head><title>400 " msg "</title></head>\r\n<body>\r\n"                   \
               "<center><h1>400 Bad Request</h1></center>\r\n<center>" msg "</center>\r\n"         \
               "<hr><center>" footer "</center>\r\n</body>\r\n</html>\r\n")

#define HTTP_STATUS_400(code, text, msg)                                                           \
    {                                                                                              \
        code, text, HTTP_LINE("400", "Bad Request"), HTTP_PAGE_400(msg, PTC_NAME "/" PTC_VERSION), \
            HTTP_PAGE_400(msg, PTC_NAME)                                                           \
    }

static const http_status_t http_statuses[] = {
    HTTP_STATUS(100, "Continue"),
    HTTP_STATUS(101, "Switching Protocols"),
    HTTP_STATUS(200, "OK"),
    HTTP_STATUS(201, "Created"),
    HTTP_STATUS(202, "Accepted"),
    HTTP_STATUS(204, "No Content"),
    HTTP_STATUS(206, "Partial Content"),
    HTTP_STATUS(207, "Multi-Status"),
    HTTP_STATUS_PAGE(301, "Moved Permanently"),
    HTTP_STATUS_PAGE(302, "Moved Temporarily"),
    HTTP_STATUS_PAGE(303, "See Other"),
    HTTP_STATUS(304, "Not Modified"),
    HTTP_STATUS_PAGE(307, "Temporary Redirect"),
    HTTP_STATUS_PAGE(308, "Permanent Redirect"),
    HTTP_STATUS_PAGE(400, "Bad Request"),
    HTTP_STATUS_PAGE(401, "Unauthorized"),
    HTTP_STATUS_PAGE(402, "Payment Required"),
    HTTP_STATUS_PAGE(403, "Forbidden"),
    HTTP_STATUS_PAGE(404, "Not Found"),
    HTTP_STATUS_PAGE(405, "Not Allowed"),
    HTTP_STATUS_PAGE(406, "Not Acceptable"),
    HTTP_STATUS_PAGE(408, "Request Time-out"),
    HTTP_STATUS_PAGE(409, "Conflict"),
    HTTP_STATUS_PAGE(410, "Gone"),
    HTTP_STATUS_PAGE(411, "Length Required"),
    HTTP_STATUS_PAGE(412, "Precondition Failed"),
    HTTP_STATUS_PAGE(413, "Request Entity Too Large"),
    HTTP_STATUS_PAGE(414, "Request-URI Too Large"),
    HTTP_STATUS_PAGE(415, "Unsupported Media Type"),
    HTTP_STATUS_PAGE(416, "Requested Range Not Satisfiable"),
    HTTP_STATUS_PAGE(421, "Misdirected Request"),
    HTTP_STATUS_PAGE(429, "Too Many Requests"),
    HTTP_STATUS_400(494, "Request Header Too Large", "Request Header Or Cookie Too Large"),
    HTTP_STATUS_400(495, "SSL Certificate Error", "The SSL certificate error"),
    HTTP_STATUS_400(496, "SSL Certificate Required", "No required SSL certificate was sent"),
    HTTP_STATUS_400(497, "HTTP Request Sent to HTTPS Port",
                    "The plain HTTP request was sent to HTTPS port"),
    HTTP_STATUS_PAGE(500, "Internal Server Error"),
    HTTP_STATUS_PAGE(501, "Not Implemented"),
    HTTP_STATUS_PAGE(502, "Bad Gateway"),
    HTTP_STATUS_PAGE(503, "Service Temporarily Unavailable"),
    HTTP_STATUS_PAGE(504, "Gateway Time-out"),
    HTTP_STATUS_PAGE(505, "HTTP Version Not Supported"),
    HTTP_STATUS_PAGE(507, "Insufficient Storage"),
};

static const http_status_t *
http_status_find(unsigned status)
{
    size_t lo = 0, hi = ptc_nelems(http_statuses);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (http_statuses[mid].status == status) {
            return &http_statuses[mid];
        }
        if (http_statuses[mid].status < status) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

const char *
ptc_http_status_reason(unsigned status)
{
    const http_status_t *st = http_status_find(status);

    return st ? st->reason : NULL;
}

const ptc_str_t *
ptc_http_status_line(unsigned status)
{
    const http_status_t *st = http_status_find(status);

    return st ? &st->line : NULL;
}

int
ptc_http_error_page(ptc_pool_t *pool, unsigned status, bool tokens, ptc_str_t *page)
{
    const http_status_t *st = http_status_find(status);

    if (st == NULL || st->page_tokens.len == 0) {
        return PTC_DECLINED;
    }
    *page = tokens ? st->page_tokens : st->page_plain;
    return PTC_OK;
}
