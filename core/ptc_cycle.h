/* SPDX-License-Identifier: BSD-2-Clause */
/* A cycle is one loaded configuration with everything it owns: module
 * confs, listening sockets, shared zones and open log files. Reload builds
 * a new cycle beside the old one; on failure the new one is discarded and
 * the old keeps serving. Sockets and zones with the same identity are
 * carried over rather than re-created. */
#ifndef PTC_CORE_CYCLE_H
#define PTC_CORE_CYCLE_H

#include <sys/socket.h>
#include <sys/types.h>

#include "core/ptc_array.h"
#include "core/ptc_conn.h"
#include "core/ptc_log.h"
#include "core/ptc_types.h"

typedef struct {
    const char *prefix;     /* -p, ends with '/' */
    const char *conf_file;  /* -c, absolute */
    const char *conf_param; /* -g, or NULL */
    const char *error_log;  /* -e, absolute, or NULL */
    bool test_only;         /* -t/-T: no sockets, no zones */
    bool dump;              /* -T: keep sources */
} ptc_cycle_params_t;

typedef struct ptc_shm_zone_s ptc_shm_zone_t;
struct ptc_shm_zone_s {
    ptc_str_t name;
    size_t size;
    const void *tag; /* the module that owns it: a zone is reused only by its owner */
    void *addr;      /* mapped before fork, same address in every worker */
    int (*init)(ptc_shm_zone_t *zone, void *old_data); /* old_data: the reused zone's data */
    void *data;        /* owner's pointer (e.g. its struct inside the zone) */
    const char *error; /* set by init on failure ("zone "x" is too small") */
    const char *file;  /* where it was declared */
    unsigned line;
    bool reused;
};

struct ptc_cycle_s {
    ptc_pool_t *pool;
    ptc_log_t *log;        /* error_log at main level (chain), or the start-up log */
    void **conf_ctx;       /* per module index: core modules' confs */
    ptc_array_t listening; /* ptc_listen_t * */
    ptc_array_t shm_zones; /* ptc_shm_zone_t * */
    ptc_open_file_t *open_files;
    ptc_array_t sources; /* ptc_conf_source_t, for -T */
    const char *prefix;
    const char *conf_file;
    const char *conf_prefix;
    ptc_cycle_params_t params;
    size_t connection_n;
};

typedef struct {
    int daemon;
    int master;
    int64_t worker_processes; /* -1 unset; 0 = auto resolved at init */
    ptc_str_t pid;
    char *pid_path;
    ptc_str_t user_name;
    uid_t uid;
    gid_t gid;
    bool user_set;
    int64_t rlimit_nofile;
    ptc_msec_t shutdown_timeout;
    int64_t pcre_match_limit; /* applied by each worker */
    int64_t pcre_depth_limit;
    ptc_log_t *error_log;    /* main-level error_log chain, NULL: default */
    bool error_log_implicit; /* error_log is the default, made before any error_log line */
} ptc_core_conf_t;

typedef struct {
    int64_t connections;
    int multi_accept;
    int accept_mutex;
    bool seen; /* an events {} block was given (nginx requires one) */
} ptc_events_conf_t;

extern ptc_module_t ptc_core_module;
extern ptc_module_t ptc_events_module;
extern ptc_cycle_t *ptc_cycle; /* the current cycle in this process */

/* Build a cycle from the params. Opens files, binds sockets (inheriting
 * matching ones from `old`), maps zones. NULL on failure, with the message
 * in err ("unknown directive "x" in /path:3"). */
ptc_cycle_t *ptc_cycle_create(ptc_cycle_t *old, const ptc_cycle_params_t *params, char *err,
                              size_t errlen);
/* Release everything the cycle owns that the `next` cycle did not take
 * over (sockets, files, zones), then its pool. next may be NULL. */
void ptc_cycle_destroy(ptc_cycle_t *cycle, ptc_cycle_t *next);

ptc_core_conf_t *ptc_cycle_core_conf(ptc_cycle_t *cycle);
ptc_events_conf_t *ptc_cycle_events_conf(ptc_cycle_t *cycle);

/* Config-time helpers for modules. */
ptc_open_file_t *ptc_cycle_open_file(ptc_cycle_t *cycle, const char *path);
ptc_listen_t *ptc_cycle_add_listen(ptc_conf_t *cf, const struct sockaddr *sa, socklen_t len);
ptc_shm_zone_t *ptc_cycle_add_shm(ptc_conf_t *cf, const ptc_str_t *name, size_t size,
                                  const void *tag);
/* Parse an `error_log FILE [LEVEL]` directive into a log object; used by
 * the core module and by http for server/location logs. */
const char *ptc_cycle_parse_error_log(ptc_conf_t *cf, ptc_log_t **head);

/* The main-level error log, for modules that need it while the config is
 * still being read: the default log is made on first use, and a later
 * main-level error_log line updates that same object in place. */
ptc_log_t *ptc_cycle_main_log(ptc_conf_t *cf);

/* Reopen every open file (USR1); returns PTC_OK. */
int ptc_cycle_reopen_files(ptc_cycle_t *cycle);
/* Flush access-log buffers. */
void ptc_cycle_flush_files(ptc_cycle_t *cycle);

/* Write / remove the pid file. */
int ptc_cycle_write_pid(ptc_cycle_t *cycle);
void ptc_cycle_delete_pid(ptc_cycle_t *cycle);
/* Read the master's pid from the pid file; -1 on error (logged to stderr). */
pid_t ptc_cycle_read_pid(const char *path);

#endif
