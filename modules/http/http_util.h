/* SPDX-License-Identifier: BSD-2-Clause */
/* Small pure HTTP helpers: HTTP dates, entity tags and conditional matching,
 * single byte ranges, reason phrases, status lines and the built-in error
 * pages. No I/O; input is counted bytes and never assumed NUL-terminated.
 * Everything returned is static (read-only) unless said otherwise. */
#ifndef PTC_MODULES_HTTP_UTIL_H
#define PTC_MODULES_HTTP_UTIL_H

#include <time.h>

#include "core/ptc_str.h"
#include "core/ptc_types.h"

/* Bytes an IMF-fixdate takes: "Sun, 06 Nov 1994 08:49:37 GMT". */
#define PTC_HTTP_TIME_LEN 29

/* Room ptc_http_etag() needs: quotes, two 16-digit hex numbers and '-'. */
#define PTC_HTTP_ETAG_MAX 40

/* Parse an HTTP date (RFC 9110 §5.6.7) in any of its three forms:
 *   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
 *   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT" (70-99 -> 19xx, 00-69 -> 20xx)
 *   asctime      "Sun Nov  6 08:49:37 1994" (day as SP DIGIT or 2DIGIT)
 * The whole of [s, s+len) must be the date: no surrounding whitespace. Day
 * and month names are case-sensitive; the weekday must be a valid name but
 * is not checked against the date. Returns seconds since the epoch, or
 * (time_t)-1 on a syntax error or an out-of-range field (day beyond the
 * month's length, hour > 23, minute > 59, second > 60, year before 1970 or
 * after 9999). A leap second (":60") counts as the next second. */
time_t ptc_http_parse_time(const u_char *s, size_t len);

/* Write t as an IMF-fixdate: exactly PTC_HTTP_TIME_LEN bytes, no NUL.
 * t is clamped to [1970, 9999] so the length never changes. Returns
 * buf + PTC_HTTP_TIME_LEN. */
u_char *ptc_http_format_time(u_char *buf, time_t t);

/* Write a strong ETag of the shape "MTIME-SIZE" (quotes included, both
 * numbers in lowercase hex, e.g. "5f5e1000-1a") into buf, which holds at
 * least PTC_HTTP_ETAG_MAX bytes. No NUL. Returns the length written. */
size_t ptc_http_etag(u_char *buf, time_t mtime, off_t size);

/* Evaluate an If-None-Match (weak == true: weak comparison, "W/" ignored on
 * both sides) or If-Match (weak == false: strong comparison, a weak tag on
 * either side never matches) field value against the representation's
 * current etag (quotes included, optionally "W/"-prefixed).
 * The value is "*" or a comma-separated list of entity-tags with optional
 * whitespace (RFC 9110 §13.1.1, §13.1.2). "*" matches whatever etag is given,
 * even an empty one: the caller only asks when a representation exists.
 * Elements that do not parse never match but do not stop the scan. Returns
 * true when some element matches. */
bool ptc_http_etag_match(const u_char *header, size_t len, const u_char *etag, size_t etag_len,
                         bool weak);

typedef struct {
    off_t start;
    off_t end; /* inclusive */
} ptc_http_range_t;

/* Parse a Range field value against a representation of `size` (>= 0) bytes,
 * accepting one range only (RFC 9110 §14.1.2): "bytes=FIRST-LAST",
 * "bytes=FIRST-" or "bytes=-SUFFIX". The unit is case-insensitive; OWS is
 * allowed after '=' and after the range, nowhere else. Returns:
 *   PTC_OK: *range set; end clamped to size - 1, a suffix longer than the
 *     representation selects all of it.
 *   PTC_DECLINED: ignore the header and send the full 200: another unit, a
 *     syntax error, LAST < FIRST, a number that overflows off_t, or more
 *     than one range (any ','). *range is untouched.
 *   PTC_ERROR: unsatisfiable (FIRST >= size, suffix 0, or size 0): the
 *     caller answers 416 with a Content-Range of "bytes", SP, "*", "/SIZE"
 *     (RFC 9110 §14.4). *range is untouched. */
int ptc_http_parse_range(const u_char *s, size_t len, off_t size, ptc_http_range_t *range);

/* Reason phrase in nginx's words ("Moved Temporarily", "Request Time-out",
 * "Service Temporarily Unavailable"; 494 "Request Header Too Large"), or
 * NULL for a status not in the table. Static string. */
const char *ptc_http_status_reason(unsigned status);

/* Whole status line "HTTP/1.1 404 Not Found\r\n" as a static string, or NULL
 * for a status not in the table (the caller then writes "HTTP/1.1 NNN \r\n"
 * itself). Statuses nginx sends under another code are mapped: 494, 495,
 * 496 and 497 give "HTTP/1.1 400 Bad Request\r\n". */
const ptc_str_t *ptc_http_status_line(unsigned status);

/* The small HTML error page for `status`:
 *   "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
 *   "<center><h1>404 Not Found</h1></center>\r\n<hr><center>FOOTER</center>\r\n"
 *   "</body>\r\n</html>\r\n"
 * FOOTER is "portico/VERSION" when `tokens` (server_tokens on), else
 * "portico". 494..497 say "400 ..." with their own text. Returns PTC_OK with
 * *page pointing at a static string (the pool is not used; it is there so a
 * later version may build pages per request), or PTC_DECLINED when the
 * status has no page: 1xx, 2xx, 3xx other than 301, 302, 303, 307 and 308,
 * and statuses not in the table. */
int ptc_http_error_page(ptc_pool_t *pool, unsigned status, bool tokens, ptc_str_t *page);

#endif
