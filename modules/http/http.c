/* SPDX-License-Identifier: BSD-2-Clause */
/* The http {} block: creates every HTTP module's confs, walks the block,
 * merges server and location levels, runs postconfig hooks, builds the
 * phase engine and turns `listen` directives into listening sockets with
 * their server lookup tables. */
#include "modules/http/http.h"

#include <netinet/in.h>
#include <stdio.h>

#include "core/ptc_cycle.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/http/http_int.h"

static void *http_create_conf(ptc_cycle_t *cycle);
static const char *http_block(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static int http_init_worker(ptc_cycle_t *cycle);

static const ptc_directive_t http_directives[] = {
    {"http", PTC_CTX_MAIN, PTC_ARGS_0 | PTC_ARGS_BLOCK, http_block, 0, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_module = {
    .name = "http",
    .type = PTC_MODULE_CORE,
    .directives = http_directives,
    .create_conf = http_create_conf,
    .init_worker = http_init_worker,
};

ptc_http_phase_handler_t *ptc_http_phase_engine;
size_t ptc_http_phase_engine_n;
static int http_find_config_at; /* this worker's copies, from its cycle */
static int http_server_rewrite_at;
static ptc_http_core_main_conf_t *http_worker_cmcf;

typedef struct {
    ptc_conf_ctx_t *ctx; /* NULL when the config has no http block */
} http_conf_t;

static void *
http_create_conf(ptc_cycle_t *cycle)
{
    return ptc_pcalloc(cycle->pool, sizeof(http_conf_t));
}

size_t
ptc_http_modules_n(void)
{
    static size_t n;
    if (n == 0) {
        n = ptc_modules_count(PTC_MODULE_HTTP);
    }
    return n;
}

ptc_http_core_main_conf_t *
ptc_http_cmcf(void)
{
    return http_worker_cmcf;
}

static int
http_init_worker(ptc_cycle_t *cycle)
{
    http_conf_t *hc = cycle->conf_ctx[ptc_http_module.index];
    if (hc->ctx == NULL) {
        return PTC_OK;
    }
    ptc_http_core_main_conf_t *cmcf = hc->ctx->main_conf[ptc_http_core_module.ctx_index];
    http_worker_cmcf = cmcf;
    ptc_http_phase_engine = cmcf->phase_engine;
    ptc_http_phase_engine_n = cmcf->phase_engine_n;
    http_find_config_at = cmcf->find_config_index;
    http_server_rewrite_at = cmcf->server_rewrite_index;
    ptc_http_top_header_filter = cmcf->top_header_filter;
    ptc_http_top_body_filter = cmcf->top_body_filter;
    return PTC_OK;
}

static int
http_create_confs(ptc_conf_t *cf, ptc_conf_ctx_t *ctx)
{
    size_t n = ptc_modules_count(PTC_MODULE_HTTP);
    ctx->main_conf = ptc_pcalloc(cf->pool, n * sizeof(void *));
    ctx->srv_conf = ptc_pcalloc(cf->pool, n * sizeof(void *));
    ctx->loc_conf = ptc_pcalloc(cf->pool, n * sizeof(void *));
    if (!ctx->main_conf || !ctx->srv_conf || !ctx->loc_conf) {
        return PTC_ERROR;
    }
    for (size_t i = 0; ptc_modules[i]; i++) {
        ptc_module_t *m = ptc_modules[i];
        if (m->type != PTC_MODULE_HTTP) {
            continue;
        }
        void **slots[3] = {ctx->main_conf, ctx->srv_conf, ctx->loc_conf};
        void *(*create[3])(ptc_conf_t *) = {m->create_main, m->create_srv, m->create_loc};
        for (int l = 0; l < 3; l++) {
            if (create[l] && (slots[l][m->ctx_index] = create[l](cf)) == NULL) {
                return PTC_ERROR;
            }
        }
    }
    return PTC_OK;
}

static int
http_run_hooks(ptc_conf_t *cf, bool post)
{
    for (size_t i = 0; ptc_modules[i]; i++) {
        ptc_module_t *m = ptc_modules[i];
        int (*fn)(ptc_conf_t *) = post ? m->postconfig : m->preconfig;
        if (m->type == PTC_MODULE_HTTP && fn && fn(cf) != PTC_OK) {
            if (!cf->failed) {
                ptc_conf_error(cf, "module \"%s\" failed to initialize", m->name);
            }
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

static int
http_init_main(ptc_conf_t *cf, ptc_conf_ctx_t *ctx)
{
    for (size_t i = 0; ptc_modules[i]; i++) {
        ptc_module_t *m = ptc_modules[i];
        if (m->type != PTC_MODULE_HTTP || m->init_main == NULL) {
            continue;
        }
        const char *rv = m->init_main(cf, ctx->main_conf[m->ctx_index]);
        if (rv) {
            if (rv != PTC_CONF_ERROR) {
                ptc_conf_error(cf, "%s", rv);
            }
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

static const char *
http_block(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    http_conf_t *hc = conf;
    if (hc->ctx) {
        return "is duplicate";
    }
    ptc_conf_ctx_t *ctx = ptc_pcalloc(cf->pool, sizeof(*ctx));
    if (ctx == NULL || http_create_confs(cf, ctx) != PTC_OK) {
        return "out of memory";
    }
    hc->ctx = ctx;
    const ptc_conf_node_t *node = cf->node;
    void *saved_ctx = cf->ctx;
    cf->ctx = ctx;
    ptc_http_core_main_conf_t *cmcf = ctx->main_conf[ptc_http_core_module.ctx_index];
    ptc_http_top_header_filter = NULL;
    ptc_http_top_body_filter = NULL;

    if (http_run_hooks(cf, false) != PTC_OK || ptc_conf_walk(cf, node, PTC_CTX_HTTP, ctx) != PTC_OK
        || http_init_main(cf, ctx) != PTC_OK || ptc_http_merge_servers(cf, ctx) != PTC_OK
        || http_run_hooks(cf, true) != PTC_OK || ptc_http_variables_init(cf) != PTC_OK
        || ptc_http_init_phases(cf, cmcf) != PTC_OK
        || ptc_http_build_listeners(cf, cmcf) != PTC_OK) {
        cf->ctx = saved_ctx;
        return PTC_CONF_ERROR;
    }
    cmcf->top_header_filter = ptc_http_top_header_filter;
    cmcf->top_body_filter = ptc_http_top_body_filter;
    cf->ctx = saved_ctx;
    return NULL;
}

/* ---- merging ---- */

/* Merge one location's confs under its parent's. While a module merges,
 * cf->ctx is the location's own context, so it can read the location's
 * other confs (e.g. whether it is an `if` block). */
static int
http_merge_loc(ptc_conf_t *cf, ptc_conf_ctx_t *sctx, void **parent, ptc_http_core_loc_conf_t *loc)
{
    ptc_conf_ctx_t lctx = {sctx->main_conf, sctx->srv_conf, loc->loc_conf};
    void *saved = cf->ctx;
    int rc = PTC_OK;
    cf->ctx = &lctx;
    for (size_t i = 0; ptc_modules[i]; i++) {
        ptc_module_t *m = ptc_modules[i];
        if (m->type != PTC_MODULE_HTTP || m->merge_loc == NULL) {
            continue;
        }
        cf->node = NULL;
        const char *rv = m->merge_loc(cf, parent[m->ctx_index], loc->loc_conf[m->ctx_index]);
        if (rv) {
            if (rv != PTC_CONF_ERROR) {
                snprintf(cf->errbuf, cf->errlen, "%s in %s:%u", rv, loc->file, loc->line);
                cf->failed = true;
            }
            rc = PTC_ERROR;
            break;
        }
    }
    cf->ctx = saved;
    return rc;
}

static int
http_merge_locs(ptc_conf_t *cf, ptc_conf_ctx_t *sctx, void **parent, ptc_http_core_loc_conf_t *clcf)
{
    ptc_array_t *lists[4] = {clcf->locations, clcf->regex_locations, clcf->named, clcf->if_blocks};
    for (int k = 0; k < 4; k++) {
        if (lists[k] == NULL) {
            continue;
        }
        ptc_http_core_loc_conf_t **locs = lists[k]->elts;
        for (size_t j = 0; j < lists[k]->nelts; j++) {
            if (http_merge_loc(cf, sctx, parent, locs[j]) != PTC_OK
                || http_merge_locs(cf, sctx, locs[j]->loc_conf, locs[j]) != PTC_OK) {
                return PTC_ERROR;
            }
        }
    }
    return PTC_OK;
}

static const char *
http_merge_one(ptc_conf_t *cf, ptc_module_t *m, ptc_conf_ctx_t *http, ptc_conf_ctx_t *srv)
{
    const char *rv = NULL;
    size_t i = m->ctx_index;
    if (m->merge_srv && (rv = m->merge_srv(cf, http->srv_conf[i], srv->srv_conf[i])) != NULL) {
        return rv;
    }
    if (m->merge_loc) {
        rv = m->merge_loc(cf, http->loc_conf[i], srv->loc_conf[i]);
    }
    return rv;
}

int
ptc_http_merge_servers(ptc_conf_t *cf, ptc_conf_ctx_t *http)
{
    ptc_http_core_main_conf_t *cmcf = http->main_conf[ptc_http_core_module.ctx_index];
    ptc_http_core_srv_conf_t **servers = cmcf->servers.elts;
    for (size_t s = 0; s < cmcf->servers.nelts; s++) {
        ptc_conf_ctx_t *sctx = servers[s]->ctx;
        for (size_t i = 0; ptc_modules[i]; i++) {
            ptc_module_t *m = ptc_modules[i];
            if (m->type != PTC_MODULE_HTTP) {
                continue;
            }
            cf->node = NULL;
            const char *rv = http_merge_one(cf, m, http, sctx);
            if (rv) {
                if (rv != PTC_CONF_ERROR) {
                    snprintf(cf->errbuf, cf->errlen, "%s in %s:%u", rv, servers[s]->file,
                             servers[s]->line);
                    cf->failed = true;
                }
                return PTC_ERROR;
            }
        }
        ptc_http_core_loc_conf_t *clcf = sctx->loc_conf[ptc_http_core_module.ctx_index];
        if (http_merge_locs(cf, sctx, sctx->loc_conf, clcf) != PTC_OK
            || ptc_http_init_locations(cf, clcf) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

/* ---- phases ---- */

int
ptc_http_add_phase_handler(ptc_conf_t *cf, int phase, ptc_http_phase_fn fn)
{
    ptc_http_core_main_conf_t *cmcf = ptc_http_conf_get_main(cf, ptc_http_core_module);
    ptc_http_phase_fn *slot = ptc_array_push(&cmcf->phases[phase]);
    if (slot == NULL) {
        return PTC_ERROR;
    }
    *slot = fn;
    return PTC_OK;
}

int
ptc_http_find_config_index(void)
{
    return http_find_config_at;
}

int
ptc_http_server_rewrite_index(void)
{
    return http_server_rewrite_at;
}

int
ptc_http_init_phases(ptc_conf_t *cf, ptc_http_core_main_conf_t *cmcf)
{
    size_t n = 2; /* the engine's content pair */
    for (int p = 0; p < PTC_HTTP_PHASES; p++) {
        n += p == PTC_HTTP_LOG_PHASE ? 0 : cmcf->phases[p].nelts;
    }
    ptc_http_phase_handler_t *ph = ptc_pcalloc(cf->pool, (n + 1) * sizeof(*ph));
    if (ph == NULL) {
        return PTC_ERROR;
    }
    size_t k = 0;
    for (int p = 0; p < PTC_HTTP_LOG_PHASE; p++) {
        size_t count = cmcf->phases[p].nelts + (p == PTC_HTTP_CONTENT_PHASE ? 2 : 0);
        int next = (int)(k + count);
        ptc_http_phase_fn *fns = cmcf->phases[p].elts;
        if (p == PTC_HTTP_SERVER_REWRITE_PHASE) {
            cmcf->server_rewrite_index = (int)k;
        }
        if (p == PTC_HTTP_FIND_CONFIG_PHASE) {
            cmcf->find_config_index = (int)k;
        }
        if (p == PTC_HTTP_POST_REWRITE_PHASE) {
            next = cmcf->find_config_index; /* PTC_OK there: the URI changed, search again */
        }
        if (p == PTC_HTTP_CONTENT_PHASE) {
            ph[k++] = (ptc_http_phase_handler_t){ptc_http_content_first, p, next};
        }
        /* Handlers registered later run first within a phase (the last
         * module to register is closest to the request), as in nginx. */
        for (size_t j = cmcf->phases[p].nelts; j-- > 0;) {
            ph[k++] = (ptc_http_phase_handler_t){fns[j], p, next};
        }
        if (p == PTC_HTTP_CONTENT_PHASE) {
            ph[k++] = (ptc_http_phase_handler_t){ptc_http_content_last, p, next};
        }
    }
    cmcf->phase_engine = ph;
    cmcf->phase_engine_n = k;
    return PTC_OK;
}

/* ---- listeners ---- */

static bool
http_addr_is_wildcard(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET) {
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    }
    if (sa->ss_family == AF_INET6) {
        return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &in6addr_any,
                      sizeof(struct in6_addr))
               == 0;
    }
    return false;
}

static bool
http_same_port(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    return a->ss_family == b->ss_family && a->ss_family != AF_UNIX
           && ptc_sockaddr_port((const struct sockaddr *)a)
                  == ptc_sockaddr_port((const struct sockaddr *)b);
}

static int
http_add_names(ptc_conf_t *cf, ptc_http_addr_conf_t *ac, ptc_http_core_srv_conf_t *srv)
{
    ptc_http_server_name_t *names = srv->server_names.elts;
    for (size_t i = 0; i < srv->server_names.nelts; i++) {
        ptc_http_server_name_t *n = ptc_array_push(&ac->names);
        if (n == NULL) {
            return PTC_ERROR;
        }
        *n = names[i];
        ac->has_regex_names |= names[i].regex != NULL;
        ac->has_wildcard_names |= names[i].wildcard_head || names[i].wildcard_tail;
    }
    return PTC_OK;
}

/* Collect the listen directives naming the same address into one addr
 * conf with a default server and the names of every server there. */
static ptc_http_addr_conf_t *
http_addr_conf(ptc_conf_t *cf, ptc_http_core_main_conf_t *cmcf, ptc_http_listen_opt_t *lo)
{
    ptc_http_addr_conf_t *ac = ptc_pcalloc(cf->pool, sizeof(*ac));
    if (ac == NULL || ptc_array_init(&ac->names, cf->pool, 4, sizeof(ptc_http_server_name_t))) {
        return NULL;
    }
    memcpy(&ac->sockaddr, &lo->sockaddr, lo->socklen);
    ac->socklen = lo->socklen;
    ptc_http_listen_opt_t *all = cmcf->listens.elts;
    for (size_t i = 0; i < cmcf->listens.nelts; i++) {
        ptc_http_listen_opt_t *o = &all[i];
        if (!ptc_sockaddr_eq((struct sockaddr *)&o->sockaddr, o->socklen,
                             (struct sockaddr *)&lo->sockaddr, lo->socklen)) {
            continue;
        }
        ac->proxy_protocol |= o->proxy_protocol;
        ac->ssl |= o->ssl;
        if (o->default_server) {
            if (ac->default_server && ac->default_server != o->server) {
                u_char text[128];
                size_t tl = ptc_sockaddr_text((struct sockaddr *)&o->sockaddr, o->socklen, text,
                                              sizeof(text), true);
                snprintf(cf->errbuf, cf->errlen, "a duplicate default server for %.*s in %s:%u",
                         (int)tl, text, o->file, o->line);
                cf->failed = true;
                return NULL;
            }
            ac->default_server = o->server;
        }
        if (http_add_names(cf, ac, o->server) != PTC_OK) {
            return NULL;
        }
    }
    if (ac->default_server == NULL) {
        ac->default_server = lo->server; /* the first server listening here */
    }
    return ac;
}

static int
http_add_port(ptc_conf_t *cf, ptc_http_core_main_conf_t *cmcf, ptc_http_listen_opt_t *bindopt,
              ptc_http_addr_conf_t **acs, size_t nacs)
{
    ptc_listen_t *l =
        ptc_cycle_add_listen(cf, (struct sockaddr *)&bindopt->sockaddr, bindopt->socklen);
    ptc_http_port_t *port = ptc_pcalloc(cf->pool, sizeof(*port));
    if (l == NULL || port == NULL) {
        return PTC_ERROR;
    }
    port->addrs = ptc_palloc(cf->pool, nacs * sizeof(ptc_http_addr_conf_t));
    if (port->addrs == NULL) {
        return PTC_ERROR;
    }
    for (size_t i = 0; i < nacs; i++) {
        port->addrs[i] = *acs[i];
    }
    port->naddrs = nacs;
    l->servers = port;
    l->handler = ptc_http_init_connection;
    l->backlog = bindopt->backlog;
    l->rcvbuf = bindopt->rcvbuf;
    l->sndbuf = bindopt->sndbuf;
    l->reuseport = bindopt->reuseport;
    l->so_keepalive = bindopt->so_keepalive;
    l->wildcard = bindopt->wildcard;
    l->pool_size = 512;
    l->log = ptc_cycle_main_log(cf);
    return PTC_OK;
}

int
ptc_http_build_listeners(ptc_conf_t *cf, ptc_http_core_main_conf_t *cmcf)
{
    ptc_http_listen_opt_t *all = cmcf->listens.elts;
    size_t n = cmcf->listens.nelts;
    bool *done = ptc_pcalloc(cf->temp_pool, n + 1);
    ptc_http_addr_conf_t **acs = ptc_palloc(cf->temp_pool, (n + 1) * sizeof(*acs));
    if (done == NULL || acs == NULL) {
        return PTC_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        if (done[i]) {
            continue;
        }
        /* Find the wildcard address of this port, if any: it then takes
         * every address of the port on one socket (resolved per connection
         * with getsockname), as binding both would fail. */
        ptc_http_listen_opt_t *bindopt = &all[i];
        for (size_t j = 0; j < n; j++) {
            if (all[j].wildcard && http_same_port(&all[j].sockaddr, &all[i].sockaddr)) {
                bindopt = &all[j];
                break;
            }
        }
        size_t nacs = 0;
        for (size_t j = i; j < n; j++) {
            bool member =
                bindopt->wildcard
                    ? http_same_port(&all[j].sockaddr, &bindopt->sockaddr)
                    : ptc_sockaddr_eq((struct sockaddr *)&all[j].sockaddr, all[j].socklen,
                                      (struct sockaddr *)&all[i].sockaddr, all[i].socklen);
            if (done[j] || !member) {
                continue;
            }
            bool seen = false;
            for (size_t k = 0; k < nacs; k++) {
                seen |= ptc_sockaddr_eq((struct sockaddr *)&acs[k]->sockaddr, acs[k]->socklen,
                                        (struct sockaddr *)&all[j].sockaddr, all[j].socklen);
            }
            done[j] = true;
            if (!seen && (acs[nacs++] = http_addr_conf(cf, cmcf, &all[j])) == NULL) {
                return PTC_ERROR;
            }
        }
        /* the wildcard entry goes last: specific addresses win */
        for (size_t k = 0; k + 1 < nacs; k++) {
            if (http_addr_is_wildcard(&acs[k]->sockaddr)) {
                ptc_http_addr_conf_t *t = acs[k];
                acs[k] = acs[nacs - 1];
                acs[nacs - 1] = t;
                break;
            }
        }
        if (http_add_port(cf, cmcf, bindopt, acs, nacs) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

bool
ptc_http_sockaddr_is_wildcard(const struct sockaddr_storage *sa)
{
    return http_addr_is_wildcard(sa);
}
