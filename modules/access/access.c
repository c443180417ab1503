/* SPDX-License-Identifier: BSD-2-Clause */
/* allow / deny: client address rules checked in the access phase, first
 * match wins, a denied request gets 403. The address is the one realip
 * settled on; realip must register its access-phase handler after this
 * module (later registration runs first), so auto/modules lists access
 * before realip. A configuration without any rule registers no handler. */
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/access/access_rules.h"
#include "modules/http/http_core.h"

typedef struct {
    bool used; /* some level has a rule: the handler is needed */
} access_main_conf_t;

typedef struct {
    ptc_access_list_t *list; /* UNSET_PTR: none here (inherit); NULL: no rules */
} access_loc_conf_t;

static int access_postconfig(ptc_conf_t *cf);
static void *access_create_main(ptc_conf_t *cf);
static void *access_create_loc(ptc_conf_t *cf);
static const char *access_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static const char *access_rule(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

#define HSL (PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION | PTC_CTX_LIMIT_EXCEPT)

static const ptc_directive_t access_directives[] = {
    {"allow", HSL, PTC_ARGS_1, access_rule, PTC_CONF_LOC, 0, NULL},
    {"deny", HSL, PTC_ARGS_1, access_rule, PTC_CONF_LOC, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_access_module = {
    .name = "http_access",
    .type = PTC_MODULE_HTTP,
    .directives = access_directives,
    .postconfig = access_postconfig,
    .create_main = access_create_main,
    .create_loc = access_create_loc,
    .merge_loc = access_merge_loc,
};

static void *
access_create_main(ptc_conf_t *cf)
{
    return ptc_pcalloc(cf->pool, sizeof(access_main_conf_t));
}

static void *
access_create_loc(ptc_conf_t *cf)
{
    access_loc_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c) {
        c->list = PTC_CONF_UNSET_PTR;
    }
    return c;
}

/* A level with rules replaces the enclosing level's list; one without
 * inherits it whole. */
static const char *
access_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    access_loc_conf_t *prev = parent, *conf = child;
    ptc_conf_merge_ptr(conf->list, prev->list, NULL);
    return NULL;
}

/* allow|deny ADDRESS | CIDR | unix: | all */
static const char *
access_rule(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    access_loc_conf_t *alcf = conf;
    access_main_conf_t *amcf = ptc_http_conf_get_main(cf, ptc_http_access_module);
    const ptc_str_t *arg = ptc_conf_arg(cf, 1);
    const char *note;
    ptc_cidr_t cidr;
    if (ptc_cidr_parse(arg, &cidr, &note) != PTC_OK) {
        return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*arg));
    }
    if (note) {
        ptc_conf_warn(cf, "low address bits of " PTC_STR_FMT " are meaningless", PTC_STR_ARG(*arg));
    }
    if (alcf->list == PTC_CONF_UNSET_PTR) {
        alcf->list = ptc_access_list_create(cf->pool);
        if (alcf->list == NULL) {
            return "out of memory";
        }
    }
    if (ptc_access_list_add(alcf->list, &cidr, d->name[0] == 'd') != PTC_OK) {
        return "out of memory";
    }
    amcf->used = true;
    return NULL;
}

static int
access_handler(ptc_http_request_t *r)
{
    access_loc_conf_t *alcf = ptc_http_get_loc_conf(r, ptc_http_access_module);
    if (alcf->list == NULL
        || !ptc_access_denied(alcf->list, (const struct sockaddr *)&r->c->sockaddr)) {
        return PTC_DECLINED;
    }
    ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "access forbidden by rule");
    ptc_http_finalize_status(r, 403);
    return PTC_DONE;
}

static int
access_postconfig(ptc_conf_t *cf)
{
    access_main_conf_t *amcf = ptc_http_conf_get_main(cf, ptc_http_access_module);
    if (!amcf->used) {
        return PTC_OK;
    }
    return ptc_http_add_phase_handler(cf, PTC_HTTP_ACCESS_PHASE, access_handler);
}
