/* SPDX-License-Identifier: BSD-2-Clause */
/* Cycle construction and the core and events modules (main-level
 * directives). Sockets and files are opened by ptc_cycle_open.c. */
#include "core/ptc_cycle.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/ptc_conf.h"
#include "core/ptc_conf_file.h"
#include "core/ptc_config.h"
#include "core/ptc_cycle_int.h"
#include "core/ptc_module.h"
#include "core/ptc_pool.h"
#include "core/ptc_regex.h"

ptc_cycle_t *ptc_cycle;

static void *core_create_conf(ptc_cycle_t *cycle);
static const char *core_init_conf(ptc_cycle_t *cycle, void *conf);
static const char *core_set_workers(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_set_user(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_set_error_log(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_set_ignored(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static int core_init_worker(ptc_cycle_t *cycle);
static void *events_create_conf(ptc_cycle_t *cycle);
static const char *events_init_conf(ptc_cycle_t *cycle, void *conf);
static const char *events_block(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *events_set_connections(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

static const ptc_conf_bounds_t core_rlimit_bounds = {1, 1 << 30};
static const ptc_conf_bounds_t core_pcre_limit_bounds = {1, UINT32_MAX};

static const ptc_directive_t core_directives[] = {
    {"daemon", PTC_CTX_MAIN, PTC_ARGS_FLAG, ptc_conf_set_flag, 0, offsetof(ptc_core_conf_t, daemon),
     NULL},
    {"master_process", PTC_CTX_MAIN, PTC_ARGS_FLAG, ptc_conf_set_flag, 0,
     offsetof(ptc_core_conf_t, master), NULL},
    {"worker_processes", PTC_CTX_MAIN, PTC_ARGS_1, core_set_workers, 0, 0, NULL},
    {"pid", PTC_CTX_MAIN, PTC_ARGS_1, ptc_conf_set_str, 0, offsetof(ptc_core_conf_t, pid), NULL},
    {"user", PTC_CTX_MAIN, PTC_ARGS_12, core_set_user, 0, 0, NULL},
    {"worker_rlimit_nofile", PTC_CTX_MAIN, PTC_ARGS_1, ptc_conf_set_num, 0,
     offsetof(ptc_core_conf_t, rlimit_nofile), &core_rlimit_bounds},
    {"worker_shutdown_timeout", PTC_CTX_MAIN, PTC_ARGS_1, ptc_conf_set_msec, 0,
     offsetof(ptc_core_conf_t, shutdown_timeout), NULL},
    {"error_log", PTC_CTX_MAIN, PTC_ARGS_1MORE, core_set_error_log, 0, 0, NULL},
    /* Portico additions: the bounds of one regex match */
    {"pcre_match_limit", PTC_CTX_MAIN, PTC_ARGS_1, ptc_conf_set_num, 0,
     offsetof(ptc_core_conf_t, pcre_match_limit), &core_pcre_limit_bounds},
    {"pcre_depth_limit", PTC_CTX_MAIN, PTC_ARGS_1, ptc_conf_set_num, 0,
     offsetof(ptc_core_conf_t, pcre_depth_limit), &core_pcre_limit_bounds},
    /* accepted for compatibility; Portico needs no setting for them */
    {"pcre_jit", PTC_CTX_MAIN, PTC_ARGS_FLAG, core_set_ignored, 0, 0, NULL},
    {"worker_cpu_affinity", PTC_CTX_MAIN, PTC_ARGS_1MORE, core_set_ignored, 0, 0, NULL},
    {"worker_priority", PTC_CTX_MAIN, PTC_ARGS_1, core_set_ignored, 0, 0, NULL},
    {"env", PTC_CTX_MAIN, PTC_ARGS_1, core_set_ignored, 0, 0, NULL},
    {"timer_resolution", PTC_CTX_MAIN, PTC_ARGS_1, core_set_ignored, 0, 0, NULL},
    {"events", PTC_CTX_MAIN, PTC_ARGS_0 | PTC_ARGS_BLOCK, events_block, 0, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_core_module = {
    .name = "core",
    .type = PTC_MODULE_CORE,
    .directives = core_directives,
    .create_conf = core_create_conf,
    .init_conf = core_init_conf,
    .init_worker = core_init_worker,
};

static const ptc_conf_bounds_t events_conn_bounds = {2, 1 << 24};

static const ptc_directive_t events_directives[] = {
    {"worker_connections", PTC_CTX_EVENTS, PTC_ARGS_1, events_set_connections, 0,
     offsetof(ptc_events_conf_t, connections), &events_conn_bounds},
    {"multi_accept", PTC_CTX_EVENTS, PTC_ARGS_FLAG, ptc_conf_set_flag, 0,
     offsetof(ptc_events_conf_t, multi_accept), NULL},
    {"accept_mutex", PTC_CTX_EVENTS, PTC_ARGS_FLAG, ptc_conf_set_flag, 0,
     offsetof(ptc_events_conf_t, accept_mutex), NULL},
    {"use", PTC_CTX_EVENTS, PTC_ARGS_1, core_set_ignored, 0, 0, NULL},
    {"accept_mutex_delay", PTC_CTX_EVENTS, PTC_ARGS_1, core_set_ignored, 0, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_events_module = {
    .name = "events",
    .type = PTC_MODULE_CORE,
    .directives = events_directives,
    .create_conf = events_create_conf,
    .init_conf = events_init_conf,
};

static void *
core_create_conf(ptc_cycle_t *cycle)
{
    ptc_core_conf_t *cc = ptc_pcalloc(cycle->pool, sizeof(*cc));
    if (cc == NULL) {
        return NULL;
    }
    cc->daemon = PTC_CONF_UNSET;
    cc->master = PTC_CONF_UNSET;
    cc->worker_processes = PTC_CONF_UNSET;
    cc->rlimit_nofile = PTC_CONF_UNSET;
    cc->shutdown_timeout = PTC_CONF_UNSET_MSEC;
    cc->pcre_match_limit = PTC_CONF_UNSET;
    cc->pcre_depth_limit = PTC_CONF_UNSET;
    return cc;
}

static const char *
core_init_conf(ptc_cycle_t *cycle, void *conf)
{
    ptc_core_conf_t *cc = conf;
    ptc_conf_merge_value(cc->daemon, PTC_CONF_UNSET, 1);
    ptc_conf_merge_value(cc->master, PTC_CONF_UNSET, 1);
    ptc_conf_merge_value(cc->worker_processes, PTC_CONF_UNSET, 1);
    if (cc->worker_processes == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cc->worker_processes = n > 0 ? n : 1;
    }
    ptc_conf_merge_msec(cc->shutdown_timeout, PTC_CONF_UNSET_MSEC, 0);
    ptc_conf_merge_value(cc->pcre_match_limit, PTC_CONF_UNSET, PTC_REGEX_MATCH_LIMIT);
    ptc_conf_merge_value(cc->pcre_depth_limit, PTC_CONF_UNSET, PTC_REGEX_DEPTH_LIMIT);
    if (cc->pid.data == NULL) {
        ptc_str_set(&cc->pid, PTC_PID_PATH);
    }
    if (!cc->user_set && geteuid() == 0) {
        /* nginx's default when started as root: workers run as nobody. */
        struct passwd *pw = getpwnam("nobody");
        if (pw) {
            cc->uid = pw->pw_uid;
            cc->gid = pw->pw_gid;
            struct group *gr = getgrnam("nogroup");
            if (gr) {
                cc->gid = gr->gr_gid;
            }
            cc->user_set = true;
            ptc_str_set(&cc->user_name, "nobody");
        }
    }
    return NULL;
}

/* Each worker (or the single process) takes this cycle's regex limits; the
 * master never matches, so a failed reload cannot leak its values into
 * the workers of the configuration still serving. */
static int
core_init_worker(ptc_cycle_t *cycle)
{
    ptc_core_conf_t *cc = ptc_cycle_core_conf(cycle);
    ptc_regex_set_limits((uint32_t)cc->pcre_match_limit, (uint32_t)cc->pcre_depth_limit);
    return PTC_OK;
}

static const char *
core_set_workers(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_core_conf_t *cc = conf;
    const ptc_str_t *v = ptc_conf_arg(cf, 1);
    if (cc->worker_processes != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    if (ptc_str_eq_c(v, "auto")) {
        cc->worker_processes = 0;
        return NULL;
    }
    int64_t n = ptc_atoi(v->data, v->len);
    if (n < 1 || n > 1024) {
        return ptc_conf_error(cf, "invalid value \"" PTC_STR_FMT "\" in \"%s\" directive",
                              PTC_STR_ARG(*v), d->name);
    }
    cc->worker_processes = n;
    return NULL;
}

static const char *
core_set_user(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_core_conf_t *cc = conf;
    if (cc->user_set) {
        return "is duplicate";
    }
    if (geteuid() != 0) {
        ptc_conf_warn(cf, "the \"user\" directive makes sense only if the master process runs "
                          "with super-user privileges, ignored");
        return NULL;
    }
    const char *user = ptc_str_cstr(cf->temp_pool, ptc_conf_arg(cf, 1));
    const char *group =
        ptc_conf_nargs(cf) == 3 ? ptc_str_cstr(cf->temp_pool, ptc_conf_arg(cf, 2)) : user;
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        return ptc_conf_error(cf, "getpwnam(\"%s\") failed", user);
    }
    cc->uid = pw->pw_uid;
    cc->gid = pw->pw_gid;
    struct group *gr = getgrnam(group);
    if (gr == NULL) {
        if (ptc_conf_nargs(cf) == 3) {
            return ptc_conf_error(cf, "getgrnam(\"%s\") failed", group);
        }
    } else {
        cc->gid = gr->gr_gid;
    }
    cc->user_name = *ptc_conf_arg(cf, 1);
    cc->user_set = true;
    return NULL;
}

static const char *
core_set_error_log(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_core_conf_t *cc = conf;
    if (!cc->error_log_implicit) {
        return ptc_cycle_parse_error_log(cf, &cc->error_log);
    }
    /* modules already hold the default log object: turn it into this one */
    ptc_log_t *log = NULL;
    const char *rv = ptc_cycle_parse_error_log(cf, &log);
    if (rv == NULL) {
        *cc->error_log = *log;
        cc->error_log_implicit = false;
    }
    return rv;
}

ptc_log_t *
ptc_cycle_main_log(ptc_conf_t *cf)
{
    ptc_core_conf_t *cc = ptc_cycle_core_conf(cf->cycle);
    if (cc->error_log) {
        return cc->error_log;
    }
    ptc_str_t def = ptc_string(PTC_ERROR_LOG_PATH);
    ptc_log_t *log = ptc_pcalloc(cf->pool, sizeof(ptc_log_t));
    if (log == NULL) {
        return &ptc_log_startup;
    }
    log->level = PTC_LOG_ERR;
    log->file = ptc_cycle_open_file(cf->cycle, cf->cycle->params.error_log
                                                   ? cf->cycle->params.error_log
                                                   : ptc_conf_full_path(cf, &def, false));
    cc->error_log = log;
    cc->error_log_implicit = true;
    return log;
}

static const char *
core_set_ignored(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    return NULL;
}

static void *
events_create_conf(ptc_cycle_t *cycle)
{
    ptc_events_conf_t *ec = ptc_pcalloc(cycle->pool, sizeof(*ec));
    if (ec) {
        ec->connections = PTC_CONF_UNSET;
        ec->multi_accept = PTC_CONF_UNSET;
        ec->accept_mutex = PTC_CONF_UNSET;
    }
    return ec;
}

static const char *
events_init_conf(ptc_cycle_t *cycle, void *conf)
{
    ptc_events_conf_t *ec = conf;
    ptc_conf_merge_value(ec->connections, PTC_CONF_UNSET, 512);
    ptc_conf_merge_value(ec->multi_accept, PTC_CONF_UNSET, 0);
    ptc_conf_merge_value(ec->accept_mutex, PTC_CONF_UNSET, 0);
    return NULL;
}

static const char *
events_set_connections(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    const ptc_str_t *v = ptc_conf_arg(cf, 1);
    if (ptc_atoi(v->data, v->len) < 0) {
        return ptc_conf_error(cf, "invalid number \"" PTC_STR_FMT "\"", PTC_STR_ARG(*v));
    }
    return ptc_conf_set_num(cf, d, conf);
}

static const char *
events_block(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_events_conf_t *ec = ptc_cycle_events_conf(cf->cycle);
    if (ec->seen) {
        return "is duplicate";
    }
    ec->seen = true;
    if (ptc_conf_walk(cf, cf->node, PTC_CTX_EVENTS, cf->ctx) != PTC_OK) {
        return PTC_CONF_ERROR;
    }
    return NULL;
}

const char *
ptc_cycle_parse_error_log(ptc_conf_t *cf, ptc_log_t **head)
{
    const ptc_str_t *path = ptc_conf_arg(cf, 1);
    unsigned level = PTC_LOG_ERR;
    if (ptc_conf_nargs(cf) > 3) {
        return "invalid number of arguments"; /* nginx allows one level word */
    }
    if (ptc_conf_nargs(cf) == 3) {
        level = ptc_log_level_parse(ptc_conf_arg(cf, 2));
        if (level == 0) {
            return ptc_conf_error(cf, "invalid log level \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*ptc_conf_arg(cf, 2)));
        }
    }
    ptc_log_t *log = ptc_pcalloc(cf->pool, sizeof(ptc_log_t));
    if (log == NULL) {
        return "out of memory";
    }
    log->level = level;
    if (ptc_str_eq_c(path, "stderr")) {
        log->file = ptc_cycle_open_file(cf->cycle, "stderr");
    } else if (ptc_str_eq_c(path, "/dev/null")) {
        log->file = NULL;
        log->level = 0;
    } else {
        log->file = ptc_cycle_open_file(cf->cycle, ptc_conf_full_path(cf, path, false));
    }
    if (log->level && log->file == NULL) {
        return "out of memory";
    }
    /* Several error_log lines at one level all receive messages. */
    ptc_log_t **tail = head;
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = log;
    return NULL;
}

ptc_core_conf_t *
ptc_cycle_core_conf(ptc_cycle_t *cycle)
{
    return cycle->conf_ctx[ptc_core_module.index];
}

ptc_events_conf_t *
ptc_cycle_events_conf(ptc_cycle_t *cycle)
{
    return cycle->conf_ctx[ptc_events_module.index];
}

static int
cycle_parse(ptc_cycle_t *cycle, ptc_conf_t *cf, char *err, size_t errlen)
{
    ptc_array_t *sources = cycle->params.dump ? &cycle->sources : NULL;
    const ptc_cycle_params_t *pp = &cycle->params;
    if (pp->conf_param) {
        ptc_conf_node_t *g =
            ptc_conf_text_parse(cycle->pool, "command line", pp->conf_param, strlen(pp->conf_param),
                                cycle->conf_prefix, NULL, err, errlen);
        if (g == NULL || ptc_conf_walk(cf, g, PTC_CTX_MAIN, cycle->conf_ctx) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    ptc_conf_node_t *root = ptc_conf_file_parse(cycle->pool, cycle->conf_file, cycle->conf_prefix,
                                                sources, err, errlen);
    if (root == NULL) {
        return PTC_ERROR;
    }
    return ptc_conf_walk(cf, root, PTC_CTX_MAIN, cycle->conf_ctx);
}

static int
cycle_init_confs(ptc_cycle_t *cycle, ptc_conf_t *cf)
{
    for (size_t i = 0; ptc_modules[i]; i++) {
        ptc_module_t *m = ptc_modules[i];
        if (m->type == PTC_MODULE_CORE && m->init_conf) {
            const char *rv = m->init_conf(cycle, cycle->conf_ctx[i]);
            if (rv && rv != PTC_CONF_ERROR) {
                ptc_conf_error(cf, "%s", rv);
            }
            if (rv) {
                return PTC_ERROR;
            }
        }
    }
    ptc_core_conf_t *cc = ptc_cycle_core_conf(cycle);
    if (!ptc_cycle_events_conf(cycle)->seen) {
        snprintf(cf->errbuf, cf->errlen, "no \"events\" section in configuration");
        cf->failed = true;
        return PTC_ERROR;
    }
    cc->pid_path = ptc_conf_full_path(cf, &cc->pid, false);
    ptc_cycle_main_log(cf);
    return PTC_OK;
}

static ptc_cycle_t *
cycle_alloc(const ptc_cycle_params_t *params)
{
    ptc_pool_t *pool = ptc_pool_create(16384);
    if (pool == NULL) {
        return NULL;
    }
    ptc_cycle_t *cycle = ptc_pcalloc(pool, sizeof(*cycle));
    if (cycle == NULL) {
        ptc_pool_destroy(pool);
        return NULL;
    }
    cycle->pool = pool;
    cycle->params = *params;
    cycle->prefix = params->prefix;
    cycle->conf_file = params->conf_file;
    char *cp = ptc_pnalloc(pool, strlen(params->conf_file) + 2);
    if (cp == NULL) {
        ptc_pool_destroy(pool);
        return NULL;
    }
    strcpy(cp, params->conf_file);
    char *slash = strrchr(cp, '/');
    if (slash) {
        slash[1] = '\0';
    }
    cycle->conf_prefix = cp;
    cycle->log = &ptc_log_startup;
    cycle->conf_ctx = ptc_pcalloc(pool, (ptc_modules_n + 1) * sizeof(void *));
    if (cycle->conf_ctx == NULL
        || ptc_array_init(&cycle->listening, pool, 8, sizeof(ptc_listen_t *)) != PTC_OK
        || ptc_array_init(&cycle->shm_zones, pool, 4, sizeof(ptc_shm_zone_t *)) != PTC_OK
        || ptc_array_init(&cycle->sources, pool, 4, sizeof(ptc_conf_source_t)) != PTC_OK) {
        ptc_pool_destroy(pool);
        return NULL;
    }
    return cycle;
}

ptc_cycle_t *
ptc_cycle_create(ptc_cycle_t *old, const ptc_cycle_params_t *params, char *err, size_t errlen)
{
    ptc_cycle_t *cycle = cycle_alloc(params);
    if (cycle == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ptc_conf_t cf = {
        .cycle = cycle,
        .pool = cycle->pool,
        .temp_pool = ptc_pool_create(16384),
        .log = cycle->log,
        .prefix = cycle->prefix,
        .conf_prefix = cycle->conf_prefix,
        .errbuf = err,
        .errlen = errlen,
    };
    err[0] = '\0';
    if (cf.temp_pool == NULL) {
        goto failed;
    }
    for (size_t i = 0; ptc_modules[i]; i++) {
        ptc_module_t *m = ptc_modules[i];
        if (m->type == PTC_MODULE_CORE && m->create_conf) {
            cycle->conf_ctx[i] = m->create_conf(cycle);
            if (cycle->conf_ctx[i] == NULL) {
                goto failed;
            }
        }
    }
    if (cycle_parse(cycle, &cf, err, errlen) != PTC_OK || cycle_init_confs(cycle, &cf) != PTC_OK
        || ptc_cycle_open(cycle, old, &cf) != PTC_OK) {
        goto failed;
    }
    cycle->log = ptc_cycle_core_conf(cycle)->error_log;
    cycle->connection_n = (size_t)ptc_cycle_events_conf(cycle)->connections;
    ptc_pool_destroy(cf.temp_pool);
    return cycle;

failed:
    if (err[0] == '\0') {
        snprintf(err, errlen, "out of memory");
    }
    ptc_cycle_abandon(cycle, old);
    ptc_pool_destroy(cf.temp_pool);
    return NULL;
}
