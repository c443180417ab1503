/* SPDX-License-Identifier: BSD-2-Clause */
/* limit_req: the request rate per key, as nginx's leaky bucket. Each
 * limit_req line of a location is checked in order in the preaccess phase;
 * a request over `burst` is refused (limit_req_status, 503), one over
 * `delay` (0 unless nodelay or delay=N) waits on a timer until the bucket
 * has drained enough, without blocking the worker. The outcome is
 * $limit_req_status, decided once per request. */
#include <errno.h>
#include <sys/socket.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_time.h"
#include "modules/limit/limit_int.h"

typedef struct {
    ptc_shm_zone_t *shm; /* its data is the ptc_limit_zone_t once declared */
    uint64_t burst;      /* milli-requests */
    uint64_t delay;      /* milli-requests served without delay; UINT64_MAX: nodelay */
} limit_req_t;

typedef struct {
    ptc_array_t refs; /* ptc_limit_ref_t: every zone a limit_req line names */
} limit_req_main_conf_t;

typedef struct {
    ptc_array_t *limits; /* limit_req_t; UNSET_PTR: inherit the enclosing level's */
    int64_t status;
    int log_level;
    int dry_run;
} limit_req_loc_conf_t;

/* A request waiting out its delay. */
typedef struct {
    ptc_event_t timer;
    ptc_http_request_t *r;
    ptc_http_handler_fn read_handler; /* the request's handlers before the wait */
    ptc_http_handler_fn write_handler;
} limit_req_wait_t;

static int limit_req_preconfig(ptc_conf_t *cf);
static int limit_req_postconfig(ptc_conf_t *cf);
static void *limit_req_create_main(ptc_conf_t *cf);
static void *limit_req_create_loc(ptc_conf_t *cf);
static const char *limit_req_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static const char *limit_req_zone(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *limit_req(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

#define HSL (PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION)

static const ptc_conf_bounds_t limit_req_status_bounds = {400, 599};

static const ptc_directive_t limit_req_directives[] = {
    {"limit_req_zone", PTC_CTX_HTTP, PTC_ARGS_3 | PTC_ARGS_4, limit_req_zone, PTC_CONF_MAIN, 0,
     NULL},
    {"limit_req", HSL, PTC_ARGS_123, limit_req, PTC_CONF_LOC, 0, NULL},
    {"limit_req_status", HSL, PTC_ARGS_1, ptc_conf_set_num, PTC_CONF_LOC,
     offsetof(limit_req_loc_conf_t, status), &limit_req_status_bounds},
    {"limit_req_log_level", HSL, PTC_ARGS_1, ptc_limit_set_log_level, PTC_CONF_LOC,
     offsetof(limit_req_loc_conf_t, log_level), NULL},
    {"limit_req_dry_run", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, PTC_CONF_LOC,
     offsetof(limit_req_loc_conf_t, dry_run), NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_limit_req_module = {
    .name = "http_limit_req",
    .type = PTC_MODULE_HTTP,
    .directives = limit_req_directives,
    .preconfig = limit_req_preconfig,
    .postconfig = limit_req_postconfig,
    .create_main = limit_req_create_main,
    .create_loc = limit_req_create_loc,
    .merge_loc = limit_req_merge_loc,
};

/* ---- config ---- */

static void *
limit_req_create_main(ptc_conf_t *cf)
{
    limit_req_main_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c && ptc_array_init(&c->refs, cf->pool, 4, sizeof(ptc_limit_ref_t)) != PTC_OK) {
        return NULL;
    }
    return c;
}

static void *
limit_req_create_loc(ptc_conf_t *cf)
{
    limit_req_loc_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c) {
        c->limits = PTC_CONF_UNSET_PTR;
        c->status = PTC_CONF_UNSET;
        c->log_level = PTC_CONF_UNSET;
        c->dry_run = PTC_CONF_UNSET;
    }
    return c;
}

static const char *
limit_req_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    limit_req_loc_conf_t *prev = parent, *conf = child;
    ptc_conf_merge_ptr(conf->limits, prev->limits, NULL);
    ptc_conf_merge_value(conf->status, prev->status, 503);
    ptc_conf_merge_value(conf->log_level, prev->log_level, PTC_LOG_ERR);
    ptc_conf_merge_value(conf->dry_run, prev->dry_run, 0);
    return NULL;
}

static bool
limit_has_prefix(const ptc_str_t *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s->len >= n && memcmp(s->data, prefix, n) == 0;
}

/* "rate=Nr/s", "rate=Nr/m" (or a bare N: per second) into milli-requests
 * per second; 0 when invalid. */
static uint64_t
limit_req_parse_rate(const ptc_str_t *arg)
{
    ptc_str_t v = {arg->len - 5, arg->data + 5};
    uint64_t scale = 1;
    if (v.len >= 3 && memcmp(v.data + v.len - 3, "r/s", 3) == 0) {
        v.len -= 3;
    } else if (v.len >= 3 && memcmp(v.data + v.len - 3, "r/m", 3) == 0) {
        v.len -= 3;
        scale = 60;
    }
    int64_t n = ptc_atoi(v.data, v.len);
    return n > 0 ? (uint64_t)n * 1000 / scale : 0;
}

/* limit_req_zone KEY zone=NAME:SIZE rate=RATE */
static const char *
limit_req_zone(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_str_t name = ptc_null_string;
    size_t size = 0;
    uint64_t rate = 1000;
    if (ptc_conf_nargs(cf) == 5) {
        /* room for one more word only for nginx Plus's "sync" */
        for (size_t i = 2; i < 5; i++) {
            if (ptc_str_eq_c(ptc_conf_arg(cf, i), "sync")) {
                return ptc_conf_error(cf, "the \"sync\" parameter is not supported: zone state "
                                          "is shared by the workers of one server, not between "
                                          "servers");
            }
        }
        return ptc_conf_error(cf, "invalid number of arguments in \"limit_req_zone\" directive");
    }
    for (size_t i = 2; i < ptc_conf_nargs(cf); i++) {
        const ptc_str_t *a = ptc_conf_arg(cf, i);
        if (limit_has_prefix(a, "zone=")) {
            if (ptc_limit_parse_zone(cf, a, &name, &size) != NULL) {
                return PTC_CONF_ERROR;
            }
        } else if (limit_has_prefix(a, "rate=")) {
            if ((rate = limit_req_parse_rate(a)) == 0) {
                return ptc_conf_error(cf, "invalid rate \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
            }
        } else {
            return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
        }
    }
    if (name.len == 0) {
        return ptc_conf_error(cf, "\"limit_req_zone\" must have \"zone\" parameter");
    }
    ptc_limit_zone_t *z = ptc_limit_zone_add(cf, &ptc_http_limit_req_module, "limit_req_zone",
                                             "limit_req", &name, size);
    if (z == NULL) {
        return PTC_CONF_ERROR;
    }
    z->rate = rate;
    return NULL;
}

/* A "burst=N" / "delay=N" value in milli-requests; 0 when invalid. */
static uint64_t
limit_req_parse_count(const ptc_str_t *arg, size_t skip)
{
    int64_t n = ptc_atoi(arg->data + skip, arg->len - skip);
    /* beyond what a bucket level holds (about 4 million requests) a
     * bucket never fills anyway */
    return n > 0 ? (uint64_t)ptc_min(n, 4000000) * 1000 : 0;
}

static const char *
limit_req_add(ptc_conf_t *cf, limit_req_loc_conf_t *lrcf, const limit_req_t *lim)
{
    if (lrcf->limits == PTC_CONF_UNSET_PTR) {
        lrcf->limits = ptc_array_create(cf->pool, 2, sizeof(limit_req_t));
        if (lrcf->limits == NULL) {
            return "out of memory";
        }
    }
    limit_req_t *l = lrcf->limits->elts;
    for (size_t i = 0; i < lrcf->limits->nelts; i++) {
        if (l[i].shm == lim->shm) {
            return "is duplicate";
        }
    }
    limit_req_t *slot = ptc_array_push(lrcf->limits);
    if (slot == NULL) {
        return "out of memory";
    }
    *slot = *lim;
    return NULL;
}

/* limit_req zone=NAME [burst=N] [nodelay | delay=N] */
static const char *
limit_req(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    limit_req_main_conf_t *lmcf = ptc_http_conf_get_main(cf, ptc_http_limit_req_module);
    limit_req_t lim = {NULL, 0, 0};
    ptc_str_t name = ptc_null_string;
    bool named = false;
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        const ptc_str_t *a = ptc_conf_arg(cf, i);
        if (limit_has_prefix(a, "zone=")) {
            name = (ptc_str_t){a->len - 5, a->data + 5};
            named = true;
        } else if (limit_has_prefix(a, "burst=")) {
            if ((lim.burst = limit_req_parse_count(a, 6)) == 0) {
                return ptc_conf_error(cf, "invalid burst value \"" PTC_STR_FMT "\"",
                                      PTC_STR_ARG(*a));
            }
        } else if (ptc_str_eq_c(a, "nodelay")) {
            lim.delay = UINT64_MAX;
        } else if (limit_has_prefix(a, "delay=")) {
            if ((lim.delay = limit_req_parse_count(a, 6)) == 0) {
                return ptc_conf_error(cf, "invalid delay value \"" PTC_STR_FMT "\"",
                                      PTC_STR_ARG(*a));
            }
        } else {
            return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
        }
    }
    if (!named) {
        return ptc_conf_error(cf, "\"limit_req\" must have \"zone\" parameter");
    }
    lim.shm = ptc_limit_zone_ref(cf, &ptc_http_limit_req_module, &name, &lmcf->refs);
    if (lim.shm == NULL) {
        return PTC_CONF_ERROR;
    }
    return limit_req_add(cf, conf, &lim);
}

/* ---- $limit_req_status ---- */

static int
limit_req_var(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    static const char *const names[] = {
        NULL, "PASSED", "DELAYED", "REJECTED", "DELAYED_DRY_RUN", "REJECTED_DRY_RUN",
    };
    unsigned s = r->limit_req_status;
    if (s == 0 || s >= ptc_nelems(names)) {
        v->not_found = 1;
        return PTC_OK;
    }
    v->value.data = (u_char *)names[s];
    v->value.len = strlen(names[s]);
    v->valid = 1;
    return PTC_OK;
}

static const ptc_http_variable_def_t limit_req_vars[] = {
    {"limit_req_status", limit_req_var, 0, PTC_HTTP_VAR_NOCACHEABLE},
    {NULL, NULL, 0, 0},
};

static int
limit_req_preconfig(ptc_conf_t *cf)
{
    return ptc_http_add_variables(cf, limit_req_vars);
}

/* ---- the delay ---- */

static void
limit_req_wait_cleanup(void *data)
{
    limit_req_wait_t *w = data;
    if (w->timer.timer_set) {
        ptc_event_del_timer(&w->timer);
    }
}

static void
limit_req_ignore(ptc_http_request_t *r)
{
}

/* While the request waits: a client that goes away ends it (499). Data
 * that arrives (a body, a pipelined request) stays in the socket. */
static void
limit_req_test_reading(ptc_http_request_t *r)
{
    ptc_conn_t *c = r->c;
    int err = 0;
    if (!c->read->eof) {
        if (!c->read->ready) {
            return;
        }
        u_char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
        if (n > 0) {
            return;
        }
        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            /* On TLS an empty socket says nothing about the bytes OpenSSL
             * already holds (a body that came with the head): keep `ready`
             * so the body reader still looks there. */
            if (errno == EAGAIN && c->ssl == NULL) {
                c->read->ready = 0;
            }
            return;
        }
        err = n == -1 ? errno : 0;
    }
    ptc_log_error(PTC_LOG_INFO, c->log, err, "client prematurely closed connection");
    r->headers_out.status = 499;
    ptc_http_finalize(r, PTC_ERROR);
}

static void
limit_req_resume(ptc_event_t *ev)
{
    limit_req_wait_t *w = ev->data;
    ptc_http_request_t *r = w->r;
    r->read_event_handler = w->read_handler;
    r->write_event_handler = w->write_handler;
    ptc_http_run_phases(r); /* comes back to limit_req_handler, which lets it pass */
}

static int
limit_req_delay(ptc_http_request_t *r, ptc_msec_t delay)
{
    ptc_conn_t *c = r->c;
    limit_req_wait_t *w = ptc_pcalloc(r->pool, sizeof(*w));
    ptc_pool_cleanup_t *cln = ptc_pool_cleanup_add(r->pool, 0);
    if (w == NULL || cln == NULL) {
        return PTC_ERROR;
    }
    w->r = r;
    w->timer.data = w;
    w->timer.handler = limit_req_resume;
    w->timer.log = c->log;
    w->timer.timer_index = -1;
    w->read_handler = r->read_event_handler;
    w->write_handler = r->write_event_handler;
    cln->handler = limit_req_wait_cleanup;
    cln->data = w;
    r->read_event_handler = limit_req_test_reading;
    r->write_event_handler = limit_req_ignore;
    ptc_event_add_timer(&w->timer, delay);
    if (c->read->ready || c->read->eof) {
        ptc_event_post(c->read); /* the client may already be gone */
    }
    return PTC_OK;
}

/* ---- the phase handler ---- */

static ptc_limit_zone_t *
limit_req_zone_of(const limit_req_t *lim)
{
    return lim->shm->data;
}

/* Milliseconds a request must wait so the bucket drains to `delay`. */
static ptc_msec_t
limit_req_wait_ms(const limit_req_t *lim, uint64_t excess)
{
    if (excess <= lim->delay) {
        return 0;
    }
    return (excess - lim->delay) * 1000 / limit_req_zone_of(lim)->rate;
}

static int
limit_req_reject(ptc_http_request_t *r, limit_req_loc_conf_t *lrcf, const limit_req_t *lim,
                 uint64_t excess)
{
    ptc_log_error((unsigned)lrcf->log_level, r->c->log, 0,
                  "limiting requests%s, excess: %llu.%03llu by zone \"%.*s\"",
                  lrcf->dry_run ? ", dry run" : "", (unsigned long long)(excess / 1000),
                  (unsigned long long)(excess % 1000), PTC_STR_ARG(limit_req_zone_of(lim)->name));
    if (lrcf->dry_run) {
        r->limit_req_status = PTC_LIMIT_REQ_REJECTED_DRY_RUN;
        return PTC_DECLINED;
    }
    r->limit_req_status = PTC_LIMIT_REQ_REJECTED;
    ptc_http_finalize_status(r, (unsigned)lrcf->status);
    return PTC_DONE;
}

/* Evaluate every limit's key (len 0: empty, not limited); returns the index
 * of the last limit with a key, -1 for none, -2 on error. */
static ssize_t
limit_req_keys(ptc_http_request_t *r, const limit_req_t *lims, size_t n, ptc_limit_key_t *keys)
{
    ssize_t last = -1;
    for (size_t i = 0; i < n; i++) {
        int rc = ptc_limit_request_key(r, limit_req_zone_of(&lims[i]), &keys[i]);
        if (rc == PTC_ERROR) {
            return -2;
        }
        keys[i].len = rc == PTC_OK ? keys[i].len : 0;
        last = rc == PTC_OK ? (ssize_t)i : last;
    }
    return last;
}

/* The request fits every limit: pass it, or let it wait out the largest
 * delay any of them asks for. */
static int
limit_req_outcome(ptc_http_request_t *r, limit_req_loc_conf_t *lrcf, const limit_req_t *lim,
                  uint64_t excess, ptc_msec_t wait)
{
    if (wait == 0) {
        r->limit_req_status = PTC_LIMIT_REQ_PASSED;
        return PTC_DECLINED;
    }
    /* delays are logged one level below refusals */
    ptc_log_error((unsigned)lrcf->log_level + 1, r->c->log, 0,
                  "delaying request%s, excess: %llu.%03llu, by zone \"%.*s\"",
                  lrcf->dry_run ? ", dry run" : "", (unsigned long long)(excess / 1000),
                  (unsigned long long)(excess % 1000), PTC_STR_ARG(limit_req_zone_of(lim)->name));
    if (lrcf->dry_run) {
        r->limit_req_status = PTC_LIMIT_REQ_DELAYED_DRY_RUN;
        return PTC_DECLINED;
    }
    r->limit_req_status = PTC_LIMIT_REQ_DELAYED;
    if (limit_req_delay(r, wait) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
    }
    return PTC_DONE;
}

static int
limit_req_handler(ptc_http_request_t *r)
{
    limit_req_loc_conf_t *lrcf = ptc_http_get_loc_conf(r, ptc_http_limit_req_module);
    if (r->limit_req_status || lrcf->limits == NULL) {
        return PTC_DECLINED;
    }
    const limit_req_t *lims = lrcf->limits->elts;
    size_t n = lrcf->limits->nelts;
    ptc_limit_key_t *keys = ptc_palloc(r->pool, n * sizeof(*keys));
    ssize_t last = keys ? limit_req_keys(r, lims, n, keys) : -2;
    if (last < 0) {
        if (last == -2) {
            ptc_http_finalize_status(r, 500);
            return PTC_DONE;
        }
        return PTC_DECLINED;
    }
    /* Test every limit; the last one is recorded in the same locked step
     * (exact across workers), the others once all have passed. A refused
     * request changes no bucket. */
    ptc_msec_t now = ptc_current_msec;
    uint64_t excess = 0, last_excess = 0;
    for (size_t i = 0; i <= (size_t)last; i++) {
        ptc_limit_zone_t *z = limit_req_zone_of(&lims[i]);
        if (keys[i].len == 0) {
            continue;
        }
        if (!ptc_limit_req_take(z->sh, &keys[i], now, z->rate, lims[i].burst, i == (size_t)last,
                                &last_excess)) {
            return limit_req_reject(r, lrcf, &lims[i], last_excess);
        }
    }
    const limit_req_t *worst = &lims[last];
    uint64_t worst_excess = last_excess;
    ptc_msec_t wait = limit_req_wait_ms(worst, last_excess);
    for (size_t i = 0; i < (size_t)last; i++) {
        ptc_limit_zone_t *z = limit_req_zone_of(&lims[i]);
        if (keys[i].len == 0) {
            continue;
        }
        ptc_limit_req_take(z->sh, &keys[i], now, z->rate, UINT64_MAX, true, &excess);
        ptc_msec_t ms = limit_req_wait_ms(&lims[i], excess);
        if (ms > wait) {
            wait = ms;
            worst = &lims[i];
            worst_excess = excess;
        }
    }
    return limit_req_outcome(r, lrcf, worst, worst_excess, wait);
}

static int
limit_req_postconfig(ptc_conf_t *cf)
{
    limit_req_main_conf_t *lmcf = ptc_http_conf_get_main(cf, ptc_http_limit_req_module);
    if (ptc_limit_check_refs(cf, &lmcf->refs) != PTC_OK) {
        return PTC_ERROR;
    }
    return ptc_http_add_phase_handler(cf, PTC_HTTP_PREACCESS_PHASE, limit_req_handler);
}
