/* SPDX-License-Identifier: BSD-2-Clause */
#include "core/ptc_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "core/ptc_time.h"

#define LOG_MAX 4096

const char *const ptc_log_levels[] = {"",     "emerg",  "alert", "crit", "error",
                                      "warn", "notice", "info",  "debug"};

static ptc_open_file_t log_stderr_file = {.fd = 2, .path = "stderr"};
ptc_log_t ptc_log_startup = {.level = PTC_LOG_NOTICE, .file = &log_stderr_file};
int ptc_process_slot_pid;

static size_t
log_append_err(u_char *p, size_t room, int err)
{
    if (err == 0 || room < 8) {
        return 0;
    }
    int n = snprintf((char *)p, room, " (%d: %s)", err, strerror(err));
    return n < 0 ? 0 : ptc_min((size_t)n, room - 1);
}

void
ptc_log_error(unsigned level, ptc_log_t *log, int err, const char *fmt, ...)
{
    u_char buf[LOG_MAX];
    va_list ap;
    int saved = errno;

    if (ptc_process_slot_pid == 0) {
        ptc_process_slot_pid = (int)getpid();
    }
    if (ptc_cached_err_log_time.data[0] == '\0') {
        ptc_time_update();
    }
    u_char *p = buf, *end = buf + LOG_MAX - 1; /* room for the newline */
    p += snprintf((char *)p, (size_t)(end - p),
                  PTC_STR_FMT " [%s] %d#%d: ", PTC_STR_ARG(ptc_cached_err_log_time),
                  ptc_log_levels[level], ptc_process_slot_pid, ptc_process_slot_pid);
    if (log && log->connection) {
        p += snprintf((char *)p, (size_t)(end - p), "*%llu ", (unsigned long long)log->connection);
    }
    va_start(ap, fmt);
    int n = vsnprintf((char *)p, (size_t)(end - p), fmt, ap);
    va_end(ap);
    p += n < 0 ? 0 : ptc_min((size_t)n, (size_t)(end - p) - 1);
    p += log_append_err(p, (size_t)(end - p), err);
    if (log && log->action && end - p > 8) {
        n = snprintf((char *)p, (size_t)(end - p), " while %s", log->action);
        p += n < 0 ? 0 : ptc_min((size_t)n, (size_t)(end - p) - 1);
    }
    if (log && log->handler && end - p > 8) {
        p = log->handler(log, p, (size_t)(end - p));
    }
    *p++ = '\n';

    bool wrote_stderr = false;
    for (ptc_log_t *l = log ? log : &ptc_log_startup; l; l = l->next) {
        if (level > l->level || l->file == NULL || l->file->fd == -1) {
            continue;
        }
        wrote_stderr |= l->file->fd == 2;
        /* A failed log write has nowhere to be reported. */
        if (write(l->file->fd, buf, (size_t)(p - buf)) == -1) {
            continue;
        }
    }
    (void)wrote_stderr;
    errno = saved;
}

void
ptc_log_stderr(unsigned level, int err, const char *fmt, ...)
{
    u_char buf[LOG_MAX];
    va_list ap;
    u_char *p = buf, *end = buf + LOG_MAX - 1;
    p += snprintf((char *)p, (size_t)(end - p), PTC_NAME ": [%s] ", ptc_log_levels[level]);
    va_start(ap, fmt);
    int n = vsnprintf((char *)p, (size_t)(end - p), fmt, ap);
    va_end(ap);
    p += n < 0 ? 0 : ptc_min((size_t)n, (size_t)(end - p) - 1);
    p += log_append_err(p, (size_t)(end - p), err);
    *p++ = '\n';
    if (write(2, buf, (size_t)(p - buf)) == -1) {
        return;
    }
}

unsigned
ptc_log_level_parse(const ptc_str_t *name)
{
    for (unsigned i = 1; i < ptc_nelems(ptc_log_levels); i++) {
        if (ptc_str_eq_c(name, ptc_log_levels[i])) {
            return i;
        }
    }
    return 0;
}
