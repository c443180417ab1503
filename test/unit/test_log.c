/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of core/ptc_time.c (the cached clock and its formatted forms,
 * checked against strftime) and core/ptc_log.c (the error log line
 * format, level filtering, destinations and truncation). */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/ptc_log.h"
#include "core/ptc_time.h"
#include "test/unit/unit.h"

void suite_time(void);

/* True when `s` (len bytes) matches the POSIX extended regex `re`. */
static bool
tm_matches(const u_char *s, size_t len, const char *re)
{
    regex_t rx;
    char buf[8192];
    if (len >= sizeof(buf) || regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    bool ok = regexec(&rx, buf, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

/* The four cached forms of `sec`, built with strftime in the current zone. */
static void
tm_expected(time_t sec, char *err_log, char *http, char *http_log, char *iso, size_t size)
{
    struct tm gmt, loc;
    char z[16];
    gmtime_r(&sec, &gmt);
    localtime_r(&sec, &loc);
    strftime(err_log, size, "%Y/%m/%d %H:%M:%S", &loc);
    strftime(http, size, "%a, %d %b %Y %H:%M:%S GMT", &gmt);
    strftime(http_log, size, "%d/%b/%Y:%H:%M:%S %z", &loc);
    strftime(iso, size, "%Y-%m-%dT%H:%M:%S", &loc);
    strftime(z, sizeof(z), "%z", &loc); /* "+0530" -> "+05:30" */
    size_t n = strlen(iso);
    snprintf(iso + n, size - n, "%.3s:%.2s", z, z + 3);
}

/* The cached strings are those of ptc_time_sec, which is the clock's now. */
static void
tm_check_cache(time_t before)
{
    char e[64], h[64], hl[64], iso[64];
    time_t after = time(NULL);
    ASSERT_TRUE(ptc_time_sec >= before && ptc_time_sec <= after);
    ASSERT_TRUE(ptc_time_msec_part < 1000);
    tm_expected(ptc_time_sec, e, h, hl, iso, sizeof(e));
    ASSERT_MEM_EQ(ptc_cached_err_log_time.data, ptc_cached_err_log_time.len, e);
    ASSERT_MEM_EQ(ptc_cached_http_time.data, ptc_cached_http_time.len, h);
    ASSERT_MEM_EQ(ptc_cached_http_log_time.data, ptc_cached_http_log_time.len, hl);
    ASSERT_MEM_EQ(ptc_cached_http_log_iso8601.data, ptc_cached_http_log_iso8601.len, iso);
}

TEST(time_cached_strings)
{
    time_t before = time(NULL);
    ptc_time_update();
    tm_check_cache(before);
    ASSERT_TRUE(tm_matches(ptc_cached_http_time.data, ptc_cached_http_time.len,
                           "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|"
                           "Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$"));
    ASSERT_TRUE(tm_matches(ptc_cached_err_log_time.data, ptc_cached_err_log_time.len,
                           "^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"));
    ASSERT_TRUE(tm_matches(ptc_cached_http_log_time.data, ptc_cached_http_log_time.len,
                           "^[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} "
                           "[+-][0-9]{4}$"));
    ASSERT_TRUE(tm_matches(ptc_cached_http_log_iso8601.data, ptc_cached_http_log_iso8601.len,
                           "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                           "[+-][0-9]{2}:[0-9]{2}$"));
    /* the monotonic clock never goes back */
    ptc_msec_t m1 = ptc_current_msec;
    ptc_time_update();
    ASSERT_TRUE(ptc_current_msec >= m1);
}

/* Reformat in zone `tz` (forcing a refresh by forgetting the cached
 * second) and compare with strftime. */
static void
tm_check_zone(const char *tz, const char *suffix, const char *iso_suffix)
{
    setenv("TZ", tz, 1);
    tzset();
    ptc_time_sec = 0;
    time_t before = time(NULL);
    ptc_time_update();
    tm_check_cache(before);
    const ptc_str_t *hl = &ptc_cached_http_log_time, *iso = &ptc_cached_http_log_iso8601;
    ASSERT_MEM_EQ(hl->data + hl->len - 5, 5, suffix);
    ASSERT_MEM_EQ(iso->data + iso->len - 6, 6, iso_suffix);
}

TEST(time_zone_offsets)
{
    const char *saved = getenv("TZ");
    char *copy = saved ? strdup(saved) : NULL;
    tm_check_zone("UTC0", "+0000", "+00:00");
    tm_check_zone("IST-5:30", "+0530", "+05:30");
    tm_check_zone("NST+3:30", "-0330", "-03:30");
    tm_check_zone("XYZ+11", "-1100", "-11:00");
    if (copy) {
        setenv("TZ", copy, 1);
        free(copy);
    } else {
        unsetenv("TZ");
    }
    tzset();
    ptc_time_sec = 0;
    ptc_time_update();
}

/* ---- the error log ---- */

static int tm_log_fd = -1;
static char tm_log_path[64];

static bool
tm_log_open(void)
{
    strcpy(tm_log_path, "/tmp/ptc_log_XXXXXX");
    tm_log_fd = mkstemp(tm_log_path);
    return tm_log_fd != -1;
}

static void
tm_log_close(void)
{
    if (tm_log_fd != -1) {
        close(tm_log_fd);
        unlink(tm_log_path);
        tm_log_fd = -1;
    }
}

/* Everything written to the temp log so far, NUL-terminated. */
static size_t
tm_log_read(char *buf, size_t size)
{
    ssize_t n = pread(tm_log_fd, buf, size - 1, 0);
    n = n < 0 ? 0 : n;
    buf[n] = '\0';
    return (size_t)n;
}

static u_char *
tm_log_ctx(ptc_log_t *log, u_char *buf, size_t len)
{
    int n = snprintf((char *)buf, len, ", ctx");
    return buf + ptc_min((size_t)n, len - 1);
}

TEST(log_line_format)
{
    ASSERT_TRUE(tm_log_open());
    ptc_open_file_t file = {.fd = tm_log_fd, .path = tm_log_path};
    ptc_log_t log = {.level = PTC_LOG_ERR,
                     .file = &file,
                     .connection = 7,
                     .action = "testing",
                     .handler = tm_log_ctx};
    ptc_time_update();
    errno = EBADF;
    ptc_log_error(PTC_LOG_ERR, &log, ENOENT, "boom");
    ASSERT_INT_EQ(errno, EBADF); /* errno is preserved */
    char buf[8192], want[256];
    size_t n = tm_log_read(buf, sizeof(buf));
    ASSERT_TRUE(tm_matches((u_char *)buf, n,
                           "^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:"
                           "[0-9]{2} \\[error\\] [0-9]+#[0-9]+: \\*7 boom "
                           "\\(2: No such file or directory\\) while testing, "
                           "ctx\n$"));
    int pid = (int)getpid();
    snprintf(want, sizeof(want),
             " [error] %d#%d: *7 boom (2: No such file or directory) while "
             "testing, ctx\n",
             pid, pid);
    ASSERT_TRUE(n > 19);
    ASSERT_STR_EQ(buf + 19, want);
    tm_log_close();
}

TEST(log_plain_and_formatted)
{
    ASSERT_TRUE(tm_log_open());
    ptc_open_file_t file = {.fd = tm_log_fd, .path = tm_log_path};
    ptc_log_t log = {.level = PTC_LOG_WARN, .file = &file};
    ptc_log_error(PTC_LOG_WARN, &log, 0, "x=%d s=%s", 42, "str");
    ptc_log_error(PTC_LOG_EMERG, &log, EACCES, "denied");
    char buf[8192], want[512];
    tm_log_read(buf, sizeof(buf));
    int pid = (int)getpid();
    /* each line starts with the time; compare what follows */
    char *l2 = strchr(buf, '\n');
    ASSERT_NOT_NULL(l2);
    l2++;
    snprintf(want, sizeof(want), " [warn] %d#%d: x=%d s=%s\n", pid, pid, 42, "str");
    ASSERT_MEM_EQ(buf + 19, (size_t)(l2 - buf - 19), want);
    snprintf(want, sizeof(want), " [emerg] %d#%d: denied (13: Permission denied)\n", pid, pid);
    ASSERT_STR_EQ(l2 + 19, want);
    tm_log_close();
}

TEST(log_levels_and_destinations)
{
    ASSERT_TRUE(tm_log_open());
    char path2[64] = "/tmp/ptc_log2_XXXXXX";
    int fd2 = mkstemp(path2);
    ASSERT_TRUE(fd2 != -1);
    ptc_open_file_t f1 = {.fd = tm_log_fd, .path = tm_log_path}, f2 = {.fd = fd2, .path = path2};
    ptc_log_t second = {.level = PTC_LOG_INFO, .file = &f2};
    ptc_log_t log = {.level = PTC_LOG_ERR, .file = &f1, .next = &second};
    ptc_log_error(PTC_LOG_WARN, &log, 0, "warn-line");
    ptc_log_error(PTC_LOG_DEBUG, &log, 0, "debug-line");
    ptc_log_error(PTC_LOG_CRIT, &log, 0, "crit-line");
    ASSERT_TRUE(ptc_log_wants_debug(&log) == false);
    char buf[8192], buf2[8192];
    tm_log_read(buf, sizeof(buf));
    ssize_t n2 = pread(fd2, buf2, sizeof(buf2) - 1, 0);
    buf2[n2 < 0 ? 0 : n2] = '\0';
    close(fd2);
    unlink(path2);
    ASSERT_TRUE(strstr(buf, "warn-line") == NULL);
    ASSERT_TRUE(strstr(buf, "debug-line") == NULL);
    ASSERT_TRUE(strstr(buf, "] ") != NULL && strstr(buf, ": crit-line\n") != NULL);
    ASSERT_INT_EQ(strchr(buf, '\n') - buf + 1, (ptrdiff_t)strlen(buf)); /* one line */
    ASSERT_TRUE(strstr(buf2, "[warn]") != NULL && strstr(buf2, ": warn-line\n") != NULL);
    ASSERT_TRUE(strstr(buf2, "[crit]") != NULL && strstr(buf2, ": crit-line\n") != NULL);
    ASSERT_TRUE(strstr(buf2, "debug-line") == NULL);
    /* a destination without a file, or with a closed one, is skipped */
    ptc_open_file_t closed = {.fd = -1, .path = "closed"};
    ptc_log_t nofile = {.level = PTC_LOG_DEBUG, .file = NULL, .next = &log};
    second.file = &closed;
    ptc_log_error(PTC_LOG_ALERT, &nofile, 0, "alert-line");
    ASSERT_TRUE(ptc_log_wants_debug(&nofile));
    tm_log_read(buf, sizeof(buf));
    ASSERT_TRUE(strstr(buf, "[alert]") != NULL && strstr(buf, ": alert-line\n") != NULL);
    tm_log_close();
}

TEST(log_truncates_long_messages)
{
    ASSERT_TRUE(tm_log_open());
    ptc_open_file_t file = {.fd = tm_log_fd, .path = tm_log_path};
    ptc_log_t log = {.level = PTC_LOG_ERR,
                     .file = &file,
                     .connection = 3,
                     .action = "reading",
                     .handler = tm_log_ctx};
    char *big = malloc(10001);
    ASSERT_NOT_NULL(big);
    memset(big, 'x', 10000);
    big[10000] = '\0';
    ptc_log_error(PTC_LOG_ERR, &log, ENOENT, "%s", big);
    free(big);
    char buf[16384];
    size_t n = tm_log_read(buf, sizeof(buf));
    /* one line of 4 KiB less the NUL slot, ending in a newline */
    ASSERT_INT_EQ(n, 4095);
    ASSERT_INT_EQ(buf[n - 1], '\n');
    ASSERT_INT_EQ(strlen(buf), n);
    ASSERT_INT_EQ(buf[n - 2], 'x');
    ASSERT_TRUE(strstr(buf, "*3 xxxx") != NULL);
    ASSERT_TRUE(strchr(buf, '\n') == buf + n - 1);

    /* a message that just fits keeps its suffixes */
    ASSERT_INT_EQ(ftruncate(tm_log_fd, 0), 0);
    ASSERT_INT_EQ(lseek(tm_log_fd, 0, SEEK_SET), 0);
    ptc_log_error(PTC_LOG_ERR, &log, ENOENT, "%s", "short");
    n = tm_log_read(buf, sizeof(buf));
    ASSERT_TRUE(n > 0 && buf[n - 1] == '\n');
    ASSERT_TRUE(strstr(buf, "*3 short (2: No such file or directory) while reading, ctx\n")
                != NULL);
    tm_log_close();
}

TEST(log_level_names)
{
    static const char *const names[] = {"emerg", "alert",  "crit", "error",
                                        "warn",  "notice", "info", "debug"};
    for (unsigned i = 0; i < ptc_nelems(names); i++) {
        ptc_str_t s = {strlen(names[i]), (u_char *)names[i]};
        ASSERT_INT_EQ(ptc_log_level_parse(&s), i + 1);
        ASSERT_STR_EQ(ptc_log_levels[i + 1], names[i]);
    }
    ptc_str_t bad = ptc_string("warning"), empty = ptc_string("");
    ASSERT_INT_EQ(ptc_log_level_parse(&bad), 0);
    ASSERT_INT_EQ(ptc_log_level_parse(&empty), 0);
}

void
suite_time(void)
{
    RUN(time_cached_strings);
    RUN(time_zone_offsets);
    RUN(log_line_format);
    RUN(log_plain_and_formatted);
    RUN(log_levels_and_destinations);
    RUN(log_truncates_long_messages);
    RUN(log_level_names);
    tm_log_close(); /* after a failed assertion */
}
