/* SPDX-License-Identifier: BSD-2-Clause */
#include "core/ptc_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

volatile ptc_msec_t ptc_current_msec;
volatile time_t ptc_time_sec;
volatile unsigned ptc_time_msec_part;

static u_char time_err_log[sizeof("1970/09/28 12:00:00")];
static u_char time_http[sizeof("Mon, 28 Sep 1970 06:00:00 GMT")];
static u_char time_http_log[sizeof("28/Sep/1970:12:00:00 +0600")];
static u_char time_iso8601[sizeof("1970-09-28T12:00:00+06:00")];

ptc_str_t ptc_cached_err_log_time = {sizeof(time_err_log) - 1, time_err_log};
ptc_str_t ptc_cached_http_time = {sizeof(time_http) - 1, time_http};
ptc_str_t ptc_cached_http_log_time = {sizeof(time_http_log) - 1, time_http_log};
ptc_str_t ptc_cached_http_log_iso8601 = {sizeof(time_iso8601) - 1, time_iso8601};

static const char *const time_wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const time_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Format into a roomy scratch buffer, then copy the fixed-size result:
 * the struct tm fields are in range, but the compiler cannot know it. */
static void time_put(u_char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
time_put(u_char *dst, size_t size, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    memcpy(dst, tmp, size - 1);
    dst[size - 1] = '\0';
}

static void
time_format(time_t sec)
{
    struct tm gmt, loc;
    gmtime_r(&sec, &gmt);
    localtime_r(&sec, &loc);
    long off = loc.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    long aoff = off < 0 ? -off : off;

    time_put(time_err_log, sizeof(time_err_log), "%04d/%02d/%02d %02d:%02d:%02d",
             loc.tm_year + 1900, loc.tm_mon + 1, loc.tm_mday, loc.tm_hour, loc.tm_min, loc.tm_sec);
    time_put(time_http, sizeof(time_http), "%s, %02d %s %04d %02d:%02d:%02d GMT",
             time_wdays[gmt.tm_wday], gmt.tm_mday, time_months[gmt.tm_mon], gmt.tm_year + 1900,
             gmt.tm_hour, gmt.tm_min, gmt.tm_sec);
    time_put(time_http_log, sizeof(time_http_log), "%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld",
             loc.tm_mday, time_months[loc.tm_mon], loc.tm_year + 1900, loc.tm_hour, loc.tm_min,
             loc.tm_sec, sign, aoff / 60, aoff % 60);
    time_put(time_iso8601, sizeof(time_iso8601), "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
             loc.tm_year + 1900, loc.tm_mon + 1, loc.tm_mday, loc.tm_hour, loc.tm_min, loc.tm_sec,
             sign, aoff / 60, aoff % 60);
}

void
ptc_time_update(void)
{
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
    clock_gettime(CLOCK_REALTIME_COARSE, &real);
    ptc_current_msec = (ptc_msec_t)mono.tv_sec * 1000 + (ptc_msec_t)(mono.tv_nsec / 1000000);
    ptc_time_msec_part = (unsigned)(real.tv_nsec / 1000000);
    if (real.tv_sec != ptc_time_sec || time_err_log[0] == '\0') {
        ptc_time_sec = real.tv_sec;
        time_format(real.tv_sec);
    }
}
