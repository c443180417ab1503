/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit test runner: one explicit table of suites; an optional argument
 * filters suites by substring. Suites are weak so a table entry whose file
 * is not written yet is skipped rather than breaking the link. */
#include <stdarg.h>
#include <stdlib.h>

#include "test/unit/unit.h"

int unit_failed_checks;
static int unit_passed, unit_failed;
static int unit_check_mark;

void
unit_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    unit_failed_checks++;
}

void
unit_run(const char *name, void (*fn)(void))
{
    unit_check_mark = unit_failed_checks;
    fn();
    if (unit_failed_checks != unit_check_mark) {
        fprintf(stdout, "  in test %s\n", name);
        unit_failed++;
    } else {
        unit_passed++;
    }
}

#define SUITES(X)                                                                                  \
    X(suite_pool)                                                                                  \
    X(suite_str)                                                                                   \
    X(suite_array)                                                                                 \
    X(suite_cidr)                                                                                  \
    X(suite_rbtree)                                                                                \
    X(suite_hash)                                                                                  \
    X(suite_time)                                                                                  \
    X(suite_event)                                                                                 \
    X(suite_sock)                                                                                  \
    X(suite_conf_file)                                                                             \
    X(suite_conf)                                                                                  \
    X(suite_regex)                                                                                 \
    X(suite_http_parse)                                                                            \
    X(suite_http_chunked)                                                                          \
    X(suite_http_uri)                                                                              \
    X(suite_http_util)                                                                             \
    X(suite_http_expires)                                                                          \
    X(suite_http_static)                                                                           \
    X(suite_http_log)                                                                              \
    X(suite_map)                                                                                   \
    X(suite_http_variables)                                                                        \
    X(suite_http_location)                                                                         \
    X(suite_http_rewrite)                                                                          \
    X(suite_upstream)                                                                              \
    X(suite_balancer)                                                                              \
    X(suite_proxy_protocol)                                                                        \
    X(suite_tls_hello)                                                                             \
    X(suite_limit)                                                                                 \
    X(suite_filter)                                                                                \
    X(suite_sub)                                                                                   \
    X(suite_access)                                                                                \
    X(suite_ssl_io)                                                                                \
    X(suite_limit)                                                                                 \
    X(suite_upgrade)                                                                               \
    X(suite_proxy_ssl)

#define DECLARE(s) void s(void) __attribute__((weak));
SUITES(DECLARE)

int
main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
#define CALL(s)                                                                                    \
    if (s != NULL && (filter == NULL || strstr(#s, filter) != NULL)) {                             \
        s();                                                                                       \
    }
    SUITES(CALL)
    printf("%d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}
