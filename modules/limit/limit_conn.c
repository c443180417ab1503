/* SPDX-License-Identifier: BSD-2-Clause */
/* limit_conn: requests in progress per key. In the preaccess phase each
 * limit_conn line counts the request in its zone unless the key already
 * holds the limit (then limit_conn_status, 503). The counts are held for
 * the life of the request and given back by its pool cleanup, which runs
 * however the request ends (response sent, error, client gone). The
 * outcome is $limit_conn_status, decided once per request. */
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/limit/limit_int.h"

typedef struct {
    ptc_shm_zone_t *shm; /* its data is the ptc_limit_zone_t once declared */
    uint32_t conn;       /* 1..65535 */
} limit_conn_t;

typedef struct {
    ptc_array_t refs; /* ptc_limit_ref_t: every zone a limit_conn line names */
} limit_conn_main_conf_t;

typedef struct {
    ptc_array_t *limits; /* limit_conn_t; UNSET_PTR: inherit the enclosing level's */
    int64_t status;
    int log_level;
    int dry_run;
} limit_conn_loc_conf_t;

/* The counts one request holds, given back when its pool goes. */
typedef struct {
    size_t n;
    struct {
        ptc_limit_shm_t *sh;
        uint32_t node;
    } held[];
} limit_conn_held_t;

static int limit_conn_preconfig(ptc_conf_t *cf);
static int limit_conn_postconfig(ptc_conf_t *cf);
static void *limit_conn_create_main(ptc_conf_t *cf);
static void *limit_conn_create_loc(ptc_conf_t *cf);
static const char *limit_conn_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static const char *limit_conn_zone(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *limit_conn(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

#define HSL (PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION)

static const ptc_conf_bounds_t limit_conn_status_bounds = {400, 599};

static const ptc_directive_t limit_conn_directives[] = {
    {"limit_conn_zone", PTC_CTX_HTTP, PTC_ARGS_2, limit_conn_zone, PTC_CONF_MAIN, 0, NULL},
    {"limit_conn", HSL, PTC_ARGS_2, limit_conn, PTC_CONF_LOC, 0, NULL},
    {"limit_conn_status", HSL, PTC_ARGS_1, ptc_conf_set_num, PTC_CONF_LOC,
     offsetof(limit_conn_loc_conf_t, status), &limit_conn_status_bounds},
    {"limit_conn_log_level", HSL, PTC_ARGS_1, ptc_limit_set_log_level, PTC_CONF_LOC,
     offsetof(limit_conn_loc_conf_t, log_level), NULL},
    {"limit_conn_dry_run", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, PTC_CONF_LOC,
     offsetof(limit_conn_loc_conf_t, dry_run), NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_limit_conn_module = {
    .name = "http_limit_conn",
    .type = PTC_MODULE_HTTP,
    .directives = limit_conn_directives,
    .preconfig = limit_conn_preconfig,
    .postconfig = limit_conn_postconfig,
    .create_main = limit_conn_create_main,
    .create_loc = limit_conn_create_loc,
    .merge_loc = limit_conn_merge_loc,
};

/* ---- config ---- */

static void *
limit_conn_create_main(ptc_conf_t *cf)
{
    limit_conn_main_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c && ptc_array_init(&c->refs, cf->pool, 4, sizeof(ptc_limit_ref_t)) != PTC_OK) {
        return NULL;
    }
    return c;
}

static void *
limit_conn_create_loc(ptc_conf_t *cf)
{
    limit_conn_loc_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c) {
        c->limits = PTC_CONF_UNSET_PTR;
        c->status = PTC_CONF_UNSET;
        c->log_level = PTC_CONF_UNSET;
        c->dry_run = PTC_CONF_UNSET;
    }
    return c;
}

static const char *
limit_conn_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    limit_conn_loc_conf_t *prev = parent, *conf = child;
    ptc_conf_merge_ptr(conf->limits, prev->limits, NULL);
    ptc_conf_merge_value(conf->status, prev->status, 503);
    ptc_conf_merge_value(conf->log_level, prev->log_level, PTC_LOG_ERR);
    ptc_conf_merge_value(conf->dry_run, prev->dry_run, 0);
    return NULL;
}

/* limit_conn_zone KEY zone=NAME:SIZE */
static const char *
limit_conn_zone(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    const ptc_str_t *a = ptc_conf_arg(cf, 2);
    ptc_str_t name = ptc_null_string;
    size_t size = 0;
    if (a->len < 5 || memcmp(a->data, "zone=", 5) != 0) {
        return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
    }
    if (ptc_limit_parse_zone(cf, a, &name, &size) != NULL) {
        return PTC_CONF_ERROR;
    }
    if (name.len == 0) {
        return ptc_conf_error(cf, "\"limit_conn_zone\" must have \"zone\" parameter");
    }
    if (ptc_limit_zone_add(cf, &ptc_http_limit_conn_module, "limit_conn_zone", "limit_conn_zone",
                           &name, size)
        == NULL) {
        return PTC_CONF_ERROR;
    }
    return NULL;
}

/* limit_conn ZONE NUMBER */
static const char *
limit_conn(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    limit_conn_main_conf_t *lmcf = ptc_http_conf_get_main(cf, ptc_http_limit_conn_module);
    limit_conn_loc_conf_t *lccf = conf;
    const ptc_str_t *num = ptc_conf_arg(cf, 2);
    int64_t n = ptc_atoi(num->data, num->len);
    if (n <= 0) {
        return ptc_conf_error(cf, "invalid number of connections \"" PTC_STR_FMT "\"",
                              PTC_STR_ARG(*num));
    }
    if (n > 65535) {
        return ptc_conf_error(cf, "connection limit must be less 65536");
    }
    ptc_shm_zone_t *shm =
        ptc_limit_zone_ref(cf, &ptc_http_limit_conn_module, ptc_conf_arg(cf, 1), &lmcf->refs);
    if (shm == NULL) {
        return PTC_CONF_ERROR;
    }
    if (lccf->limits == PTC_CONF_UNSET_PTR) {
        lccf->limits = ptc_array_create(cf->pool, 2, sizeof(limit_conn_t));
        if (lccf->limits == NULL) {
            return "out of memory";
        }
    }
    limit_conn_t *l = lccf->limits->elts;
    for (size_t i = 0; i < lccf->limits->nelts; i++) {
        if (l[i].shm == shm) {
            return "is duplicate";
        }
    }
    limit_conn_t *slot = ptc_array_push(lccf->limits);
    if (slot == NULL) {
        return "out of memory";
    }
    slot->shm = shm;
    slot->conn = (uint32_t)n;
    return NULL;
}

/* ---- $limit_conn_status ---- */

static int
limit_conn_var(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    static const char *const names[] = {NULL, "PASSED", "REJECTED", "REJECTED_DRY_RUN"};
    unsigned s = r->limit_conn_status;
    if (s == 0 || s >= ptc_nelems(names)) {
        v->not_found = 1;
        return PTC_OK;
    }
    v->value.data = (u_char *)names[s];
    v->value.len = strlen(names[s]);
    v->valid = 1;
    return PTC_OK;
}

static const ptc_http_variable_def_t limit_conn_vars[] = {
    {"limit_conn_status", limit_conn_var, 0, PTC_HTTP_VAR_NOCACHEABLE},
    {NULL, NULL, 0, 0},
};

static int
limit_conn_preconfig(ptc_conf_t *cf)
{
    return ptc_http_add_variables(cf, limit_conn_vars);
}

/* ---- the phase handler ---- */

static void
limit_conn_release(void *data)
{
    limit_conn_held_t *h = data;
    for (size_t i = 0; i < h->n; i++) {
        ptc_limit_conn_release(h->held[i].sh, h->held[i].node);
    }
    h->n = 0;
}

/* The counts of this request, given back by its pool cleanup (registered
 * before anything is counted). NULL on allocation failure. */
static limit_conn_held_t *
limit_conn_held(ptc_http_request_t *r, size_t n)
{
    ptc_pool_cleanup_t *cln = ptc_pool_cleanup_add(r->pool, 0);
    limit_conn_held_t *h = ptc_pcalloc(r->pool, sizeof(*h) + n * sizeof(h->held[0]));
    if (cln == NULL || h == NULL) {
        return NULL;
    }
    cln->handler = limit_conn_release;
    cln->data = h;
    return h;
}

static int
limit_conn_reject(ptc_http_request_t *r, limit_conn_loc_conf_t *lccf, limit_conn_held_t *h,
                  ptc_limit_zone_t *z)
{
    ptc_log_error((unsigned)lccf->log_level, r->c->log, 0,
                  "limiting connections%s by zone \"%.*s\"", lccf->dry_run ? ", dry run," : "",
                  PTC_STR_ARG(z->name));
    limit_conn_release(h); /* a refused request holds nothing */
    if (lccf->dry_run) {
        r->limit_conn_status = PTC_LIMIT_CONN_REJECTED_DRY_RUN;
        return PTC_DECLINED;
    }
    r->limit_conn_status = PTC_LIMIT_CONN_REJECTED;
    ptc_http_finalize_status(r, (unsigned)lccf->status);
    return PTC_DONE;
}

static int
limit_conn_handler(ptc_http_request_t *r)
{
    limit_conn_loc_conf_t *lccf = ptc_http_get_loc_conf(r, ptc_http_limit_conn_module);
    if (r->limit_conn_status || lccf->limits == NULL) {
        return PTC_DECLINED;
    }
    limit_conn_t *lims = lccf->limits->elts;
    limit_conn_held_t *h = limit_conn_held(r, lccf->limits->nelts);
    if (h == NULL) {
        ptc_http_finalize_status(r, 500);
        return PTC_DONE;
    }
    for (size_t i = 0; i < lccf->limits->nelts; i++) {
        ptc_limit_zone_t *z = lims[i].shm->data;
        ptc_limit_key_t key;
        int rc = ptc_limit_request_key(r, z, &key);
        if (rc == PTC_DECLINED) {
            continue; /* an empty key is not limited */
        }
        if (rc == PTC_ERROR) {
            limit_conn_release(h);
            ptc_http_finalize_status(r, 500);
            return PTC_DONE;
        }
        r->limit_conn_status = PTC_LIMIT_CONN_PASSED;
        uint32_t node;
        rc = ptc_limit_conn_take(z->sh, &key, lims[i].conn, &node);
        if (rc == PTC_DECLINED) {
            return limit_conn_reject(r, lccf, h, z);
        }
        if (rc == PTC_ERROR) {
            /* every node counts a request in progress: this one goes
             * uncounted rather than refused */
            ptc_log_error(PTC_LOG_WARN, r->c->log, 0,
                          "limit_conn zone \"%.*s\" is full, request not counted",
                          PTC_STR_ARG(z->name));
            continue;
        }
        h->held[h->n].sh = z->sh;
        h->held[h->n++].node = node;
    }
    return PTC_DECLINED;
}

static int
limit_conn_postconfig(ptc_conf_t *cf)
{
    limit_conn_main_conf_t *lmcf = ptc_http_conf_get_main(cf, ptc_http_limit_conn_module);
    if (ptc_limit_check_refs(cf, &lmcf->refs) != PTC_OK) {
        return PTC_ERROR;
    }
    return ptc_http_add_phase_handler(cf, PTC_HTTP_PREACCESS_PHASE, limit_conn_handler);
}
