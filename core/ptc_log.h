/* SPDX-License-Identifier: BSD-2-Clause */
/* Error log: nginx's line format "YYYY/MM/DD HH:MM:SS [level] PID#TID: *CONN
 * message[, context]". A log object points at an open file and carries an
 * optional context handler (client, server, request) appended to messages. */
#ifndef PTC_CORE_LOG_H
#define PTC_CORE_LOG_H

#include "core/ptc_str.h"
#include "core/ptc_types.h"

enum {
    PTC_LOG_STDERR = 0,
    PTC_LOG_EMERG = 1,
    PTC_LOG_ALERT,
    PTC_LOG_CRIT,
    PTC_LOG_ERR,
    PTC_LOG_WARN,
    PTC_LOG_NOTICE,
    PTC_LOG_INFO,
    PTC_LOG_DEBUG
};

/* An open log file, shared by every log object that names the same path;
 * owned by the cycle, reopened on USR1. */
typedef struct ptc_open_file_s ptc_open_file_t;
struct ptc_open_file_s {
    int fd;
    char *path; /* absolute; "stderr" for fd 2 */
    /* access-log buffering (buffer=): flushed when full, on timer and at exit */
    u_char *buf_start, *buf_pos, *buf_end;
    ptc_msec_t flush_ms;
    ptc_open_file_t *next;
};

typedef u_char *(*ptc_log_handler_fn)(ptc_log_t *log, u_char *buf, size_t len);

struct ptc_log_s {
    unsigned level;
    ptc_open_file_t *file;
    uint64_t connection;        /* *N in messages, 0 for none */
    ptc_log_handler_fn handler; /* appends ", client: ..." context */
    void *data;                 /* for the handler */
    const char *action;         /* "while reading client request" */
    ptc_log_t *next;            /* further error_log destinations */
};

/* Log a message at `level` to every destination of `log` whose level allows
 * it. `err` is a saved errno (0: none) rendered as " (err: strerror)". */
void ptc_log_error(unsigned level, ptc_log_t *log, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Print "portico: [level] message" to stderr (start-up and -t messages). */
void ptc_log_stderr(unsigned level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline bool
ptc_log_wants_debug(const ptc_log_t *log)
{
    for (; log; log = log->next) {
        if (log->level >= PTC_LOG_DEBUG) {
            return true;
        }
    }
    return false;
}

/* Debug messages are compiled into every build (as "debug" is accepted in
 * every build) and cost one level comparison when the log is not at debug. */
#define ptc_log_debug(log, ...)                                                                    \
    do {                                                                                           \
        if (ptc_log_wants_debug(log)) {                                                            \
            ptc_log_error(PTC_LOG_DEBUG, log, 0, __VA_ARGS__);                                     \
        }                                                                                          \
    } while (0)

/* "debug".."emerg" -> level, or 0 for an unknown name. */
unsigned ptc_log_level_parse(const ptc_str_t *name);
extern const char *const ptc_log_levels[];

/* The log used before the config is read (stderr, or -e FILE). */
extern ptc_log_t ptc_log_startup;
extern int ptc_process_slot_pid; /* cached getpid() for the PID#TID field */

#endif
