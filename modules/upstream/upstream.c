/* SPDX-License-Identifier: BSD-2-Clause */
/* The upstream module: `upstream NAME { ... }` blocks, their servers and
 * balancer directives, implicit groups for `proxy_pass host:port`, and
 * per-request peer selection. Host names are resolved once, at config
 * time (as nginx does without a resolver). */
#include "modules/upstream/upstream_group.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/ptc_cycle.h"
#include "core/ptc_pool.h"
#include "core/ptc_time.h"

typedef struct {
    ptc_array_t groups; /* ptc_upstream_group_t * */
} upstream_main_conf_t;

static void *upstream_create_main(ptc_conf_t *cf);
static int upstream_postconfig(ptc_conf_t *cf);
static const char *upstream_block(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *upstream_server(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *upstream_balance(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *upstream_keepalive(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *upstream_zone(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *upstream_queue(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static void upstream_lock(ptc_upstream_group_t *g);
static void upstream_unlock(ptc_upstream_group_t *g);

#define UPS PTC_CTX_UPSTREAM

static const ptc_directive_t upstream_directives[] = {
    {"upstream", PTC_CTX_HTTP, PTC_ARGS_1 | PTC_ARGS_BLOCK, upstream_block, PTC_CONF_MAIN, 0, NULL},
    {"server", UPS, PTC_ARGS_1MORE, upstream_server, PTC_CONF_SRV, 0, NULL},
    {"least_conn", UPS, PTC_ARGS_0, upstream_balance, PTC_CONF_SRV, 0, NULL},
    {"ip_hash", UPS, PTC_ARGS_0, upstream_balance, PTC_CONF_SRV, 0, NULL},
    {"hash", UPS, PTC_ARGS_12, upstream_balance, PTC_CONF_SRV, 0, NULL},
    {"random", UPS, PTC_ARGS_0 | PTC_ARGS_1 | PTC_ARGS_2, upstream_balance, PTC_CONF_SRV, 0, NULL},
    {"keepalive", UPS, PTC_ARGS_1, upstream_keepalive, PTC_CONF_SRV, 0, NULL},
    {"keepalive_requests", UPS, PTC_ARGS_1, upstream_keepalive, PTC_CONF_SRV, 0, NULL},
    {"keepalive_timeout", UPS, PTC_ARGS_1, upstream_keepalive, PTC_CONF_SRV, 0, NULL},
    {"keepalive_time", UPS, PTC_ARGS_1, upstream_keepalive, PTC_CONF_SRV, 0, NULL},
    {"zone", UPS, PTC_ARGS_12, upstream_zone, PTC_CONF_SRV, 0, NULL},
    {"queue", UPS, PTC_ARGS_12, upstream_queue, PTC_CONF_SRV, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_upstream_module = {
    .name = "upstream",
    .type = PTC_MODULE_HTTP,
    .directives = upstream_directives,
    .create_main = upstream_create_main,
    .postconfig = upstream_postconfig,
};

static void *
upstream_create_main(ptc_conf_t *cf)
{
    upstream_main_conf_t *umcf = ptc_pcalloc(cf->pool, sizeof(*umcf));
    if (umcf == NULL
        || ptc_array_init(&umcf->groups, cf->pool, 4, sizeof(ptc_upstream_group_t *))) {
        return NULL;
    }
    return umcf;
}

static ptc_upstream_group_t *
upstream_find(upstream_main_conf_t *umcf, const ptc_str_t *name)
{
    ptc_upstream_group_t **gs = umcf->groups.elts;
    for (size_t i = 0; i < umcf->groups.nelts; i++) {
        if (ptc_str_caseeq(&gs[i]->name, name)) {
            return gs[i];
        }
    }
    return NULL;
}

/* The group `name` that a proxy_pass with this default port may use: a
 * block, or an implicit group made for the same default port (so that
 * http://host and https://host, ports 80 and 443, stay apart). */
static ptc_upstream_group_t *
upstream_find_port(upstream_main_conf_t *umcf, const ptc_str_t *name, int port)
{
    ptc_upstream_group_t **gs = umcf->groups.elts;
    for (size_t i = 0; i < umcf->groups.nelts; i++) {
        if (ptc_str_caseeq(&gs[i]->name, name) && (!gs[i]->implicit || gs[i]->port == port)) {
            return gs[i];
        }
    }
    return NULL;
}

static ptc_upstream_group_t *
upstream_new(ptc_conf_t *cf, upstream_main_conf_t *umcf, const ptc_str_t *name)
{
    ptc_upstream_group_t *g = ptc_pcalloc(cf->pool, sizeof(*g));
    ptc_upstream_group_t **slot = ptc_array_push(&umcf->groups);
    if (g == NULL || slot == NULL) {
        return NULL;
    }
    if (ptc_str_dup(cf->pool, &g->name, name->data, name->len) != PTC_OK) {
        return NULL;
    }
    g->servers = ptc_array_create(cf->pool, 4, sizeof(ptc_upstream_peer_t));
    if (g->servers == NULL) {
        return NULL;
    }
    g->file = cf->node->file;
    g->line = cf->node->line;
    g->keepalive_requests = 1000;
    g->keepalive_timeout = 60000;
    g->keepalive_time = 3600000;
    *slot = g;
    return g;
}

ptc_upstream_group_t *
ptc_upstream_group_get(ptc_conf_t *cf, const ptc_str_t *name, bool implicit, int default_port)
{
    upstream_main_conf_t *umcf = ptc_http_conf_get_main(cf, ptc_upstream_module);
    ptc_upstream_group_t *g = upstream_find_port(umcf, name, default_port);
    if (g) {
        return g;
    }
    g = upstream_new(cf, umcf, name);
    if (g == NULL) {
        return NULL;
    }
    g->implicit = implicit;
    g->port = (in_port_t)default_port;
    return g;
}

/* Resolve "host[:port]" (or a literal address, or unix:PATH) into peers
 * appended to `out`, each a copy of `proto`. */
static const char *
upstream_resolve(ptc_conf_t *cf, const ptc_str_t *text, int default_port,
                 const ptc_upstream_peer_t *proto, ptc_array_t *out)
{
    struct sockaddr_storage sa;
    socklen_t len;
    const char *err;
    if (ptc_sockaddr_parse(text, default_port, &sa, &len, &err) == PTC_OK) {
        ptc_upstream_peer_t *p = ptc_array_push(out);
        if (p == NULL) {
            return "out of memory";
        }
        *p = *proto;
        memcpy(&p->sockaddr, &sa, len);
        p->socklen = len;
        u_char buf[128];
        size_t n = ptc_sockaddr_text((struct sockaddr *)&sa, len, buf, sizeof(buf), true);
        return ptc_str_dup(cf->pool, &p->name, buf, n) == PTC_OK ? NULL : "out of memory";
    }
    if (strcmp(err, "host not found") != 0) {
        return err;
    }
    /* a host name: split the port, then getaddrinfo (config time only) */
    char host[256], port[8];
    const u_char *colon = memchr(text->data, ':', text->len);
    size_t hl = colon ? (size_t)(colon - text->data) : text->len;
    if (hl == 0 || hl >= sizeof(host)) {
        return "invalid host";
    }
    memcpy(host, text->data, hl);
    host[hl] = '\0';
    int64_t pn = colon ? ptc_atoi(colon + 1, text->len - hl - 1) : default_port;
    if (pn < 1 || pn > 65535) {
        return "invalid port";
    }
    snprintf(port, sizeof(port), "%d", (int)pn);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL) {
        return "host not found";
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        ptc_upstream_peer_t *p = ptc_array_push(out);
        if (p == NULL) {
            freeaddrinfo(res);
            return "out of memory";
        }
        *p = *proto;
        memcpy(&p->sockaddr, ai->ai_addr, ai->ai_addrlen);
        p->socklen = ai->ai_addrlen;
        u_char buf[128];
        size_t n = ptc_sockaddr_text(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), true);
        if (ptc_str_dup(cf->pool, &p->name, buf, n) != PTC_OK) {
            freeaddrinfo(res);
            return "out of memory";
        }
    }
    freeaddrinfo(res);
    return NULL;
}

static const char *
upstream_block(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    upstream_main_conf_t *umcf = conf;
    const ptc_str_t *name = ptc_conf_arg(cf, 1);
    ptc_upstream_group_t *g = upstream_find(umcf, name);
    if (g && g->defined) {
        return ptc_conf_error(cf, "duplicate upstream \"" PTC_STR_FMT "\"", PTC_STR_ARG(*name));
    }
    if (g == NULL && (g = upstream_new(cf, umcf, name)) == NULL) {
        return "out of memory";
    }
    g->defined = true;
    g->implicit = false;
    g->file = cf->node->file;
    g->line = cf->node->line;
    ptc_conf_ctx_t *http = cf->ctx;
    ptc_conf_ctx_t *ctx = ptc_pcalloc(cf->pool, sizeof(*ctx));
    size_t n = ptc_modules_count(PTC_MODULE_HTTP);
    if (ctx == NULL || (ctx->srv_conf = ptc_pcalloc(cf->pool, n * sizeof(void *))) == NULL) {
        return "out of memory";
    }
    ctx->main_conf = http->main_conf;
    ctx->loc_conf = http->loc_conf;
    ctx->srv_conf[ptc_upstream_module.ctx_index] = g;
    if (ptc_conf_walk(cf, cf->node, PTC_CTX_UPSTREAM, ctx) != PTC_OK) {
        return PTC_CONF_ERROR;
    }
    if (g->servers->nelts == 0) {
        return ptc_conf_error(cf, "no servers are inside upstream");
    }
    return NULL;
}

static const char *
upstream_server_param(ptc_conf_t *cf, ptc_upstream_peer_t *p, const ptc_str_t *a)
{
    ptc_str_t v;
    if (ptc_str_eq_c(a, "backup")) {
        p->backup = true;
    } else if (ptc_str_eq_c(a, "down")) {
        p->down = true;
    } else if (a->len > 7 && memcmp(a->data, "weight=", 7) == 0) {
        int64_t w = ptc_atoi(a->data + 7, a->len - 7);
        if (w < 1 || w > 1000) { /* the hash ring holds 160 points per unit of weight */
            return "invalid weight";
        }
        p->weight = (int)w;
    } else if (a->len > 10 && memcmp(a->data, "max_fails=", 10) == 0) {
        int64_t n = ptc_atoi(a->data + 10, a->len - 10);
        if (n < 0) {
            return "invalid max_fails";
        }
        p->max_fails = (int)n;
    } else if (a->len > 10 && memcmp(a->data, "max_conns=", 10) == 0) {
        int64_t n = ptc_atoi(a->data + 10, a->len - 10);
        if (n < 0) {
            return "invalid max_conns";
        }
        p->max_conns = (int)n;
    } else if (a->len > 13 && memcmp(a->data, "fail_timeout=", 13) == 0) {
        v.data = a->data + 13;
        v.len = a->len - 13;
        int64_t t = ptc_parse_time_ms(&v);
        if (t < 0) {
            return "invalid fail_timeout";
        }
        p->fail_timeout = (ptc_msec_t)t;
    } else {
        return "invalid parameter";
    }
    return NULL;
}

static const char *
upstream_server(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_upstream_group_t *g = conf;
    ptc_upstream_peer_t proto;
    memset(&proto, 0, sizeof(proto));
    proto.weight = 1;
    proto.max_fails = 1;
    proto.fail_timeout = 10000;
    proto.server = *ptc_conf_arg(cf, 1);
    for (size_t i = 2; i < ptc_conf_nargs(cf); i++) {
        const char *rv = upstream_server_param(cf, &proto, ptc_conf_arg(cf, i));
        if (rv) {
            return ptc_conf_error(cf, "%s \"" PTC_STR_FMT "\"", rv,
                                  PTC_STR_ARG(*ptc_conf_arg(cf, i)));
        }
    }
    if (proto.backup && (g->ip_hash || g->hash_key)) {
        return ptc_conf_error(cf, "balancing method does not support parameter \"backup\"");
    }
    const char *rv = upstream_resolve(cf, &proto.server, 80, &proto, g->servers);
    if (rv) {
        return ptc_conf_error(cf, "%s in upstream \"" PTC_STR_FMT "\"", rv,
                              PTC_STR_ARG(proto.server));
    }
    return NULL;
}

static const char *
upstream_balance(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_upstream_group_t *g = conf;
    if (g->balancer) {
        return ptc_conf_error(cf, "load balancing method redefined");
    }
    const char *name = d->name;
    if (strcmp(name, "least_conn") == 0) {
        g->balancer = &ptc_upstream_least_conn;
    } else if (strcmp(name, "ip_hash") == 0) {
        g->balancer = &ptc_upstream_ip_hash;
        g->ip_hash = true;
    } else if (strcmp(name, "hash") == 0) {
        g->hash_key = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 1));
        if (g->hash_key == NULL) {
            return PTC_CONF_ERROR;
        }
        g->balancer = &ptc_upstream_hash;
        if (ptc_conf_nargs(cf) == 3) {
            if (!ptc_str_eq_c(ptc_conf_arg(cf, 2), "consistent")) {
                return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"",
                                      PTC_STR_ARG(*ptc_conf_arg(cf, 2)));
            }
            g->balancer = &ptc_upstream_hash_consistent;
        }
    } else {
        for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
            const ptc_str_t *a = ptc_conf_arg(cf, i);
            if (i == 1 && ptc_str_eq_c(a, "two")) {
                g->random_conf.two = true;
            } else if (i == 2 && ptc_str_eq_c(a, "least_conn")) {
                g->random_conf.least_conn = true;
            } else {
                return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
            }
        }
        g->random_conf.least_conn |= g->random_conf.two;
        g->balancer = &ptc_upstream_random;
    }
    return NULL;
}

static const char *
upstream_keepalive(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_upstream_group_t *g = conf;
    const ptc_str_t *v = ptc_conf_arg(cf, 1);
    if (strcmp(d->name, "keepalive") == 0 || strcmp(d->name, "keepalive_requests") == 0) {
        int64_t n = ptc_atoi(v->data, v->len);
        if (n < 1) {
            return "invalid value";
        }
        if (d->name[9] == '\0') {
            g->keepalive = (size_t)n;
        } else {
            g->keepalive_requests = n;
        }
        return NULL;
    }
    int64_t t = ptc_parse_time_ms(v);
    if (t < 0) {
        return "invalid value";
    }
    if (strcmp(d->name, "keepalive_timeout") == 0) {
        g->keepalive_timeout = (ptc_msec_t)t;
    } else {
        g->keepalive_time = (ptc_msec_t)t;
    }
    return NULL;
}

static const char *
upstream_zone(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_upstream_group_t *g = conf;
    if (g->zone_name.data) {
        return "is duplicate";
    }
    int64_t size = 65536;
    if (ptc_conf_nargs(cf) == 3 && (size = ptc_parse_size(ptc_conf_arg(cf, 2))) < 8192) {
        return ptc_conf_error(cf, "invalid zone size \"" PTC_STR_FMT "\"",
                              PTC_STR_ARG(*ptc_conf_arg(cf, 2)));
    }
    g->zone_name = *ptc_conf_arg(cf, 1);
    g->zone_size = (size_t)size;
    g->zone_file = cf->node->file;
    g->zone_line = cf->node->line;
    return NULL;
}

static const char *
upstream_queue(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_upstream_group_t *g = conf;
    const ptc_str_t *n = ptc_conf_arg(cf, 1);
    if (g->queue_max) {
        return "is duplicate";
    }
    int64_t v = ptc_atoi(n->data, n->len);
    if (v < 1) {
        return ptc_conf_error(cf, "invalid queue size \"" PTC_STR_FMT "\"", PTC_STR_ARG(*n));
    }
    g->queue_max = (size_t)v;
    g->queue_timeout = 60000;
    if (ptc_conf_nargs(cf) == 3) {
        const ptc_str_t *a = ptc_conf_arg(cf, 2);
        ptc_str_t t = {a->len - 8, a->data + 8};
        int64_t ms = a->len > 8 && memcmp(a->data, "timeout=", 8) == 0 ? ptc_parse_time_ms(&t) : -1;
        if (ms < 0) {
            return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
        }
        g->queue_timeout = (ptc_msec_t)ms;
    }
    return NULL;
}

bool
ptc_upstream_group_busy(ptc_upstream_group_t *g)
{
    bool busy = false, usable = false;
    ptc_upstream_pick_t none;
    memset(&none, 0, sizeof(none));
    none.now = ptc_current_msec;
    upstream_lock(g);
    for (size_t t = 0; t < 2; t++) {
        ptc_upstream_peer_t *peers = t ? g->backup : g->peers;
        size_t n = t ? g->nbackup : g->npeers;
        for (size_t i = 0; i < n; i++) {
            if (ptc_upstream_peer_usable(&peers[i], i, &none)) {
                usable = true;
            } else if (peers[i].max_conns && peers[i].conns >= peers[i].max_conns
                       && !peers[i].down) {
                busy = true;
            }
        }
    }
    upstream_unlock(g);
    return busy && !usable;
}

/* The zone holds a lock word and the group's peers. Peers keep pointers
 * into this cycle's config memory, so a zone belongs to one cycle: the
 * tag is the group itself, which a reload never matches (peer state starts
 * afresh with a new configuration). */
static int
upstream_zone_init(ptc_shm_zone_t *zone, void *old_data)
{
    ptc_upstream_group_t *g = zone->data;
    size_t head = ptc_align(sizeof(uint32_t), 64);
    size_t need = head + (g->npeers + g->nbackup) * sizeof(ptc_upstream_peer_t);
    if (need > zone->size) {
        char *msg = g->zone_msg;
        snprintf(msg, sizeof(g->zone_msg), "zone \"%.*s\" is too small", PTC_STR_ARG(zone->name));
        zone->error = msg;
        return PTC_ERROR;
    }
    u_char *p = zone->addr;
    g->lock = (volatile uint32_t *)p;
    *g->lock = 0;
    ptc_upstream_peer_t *peers = (ptc_upstream_peer_t *)(p + head);
    memcpy(peers, g->peers, g->npeers * sizeof(*peers));
    memcpy(peers + g->npeers, g->backup, g->nbackup * sizeof(*peers));
    g->peers = peers;
    g->backup = peers + g->npeers;
    return PTC_OK;
}

static int
upstream_zone_add(ptc_conf_t *cf, ptc_upstream_group_t *g)
{
    ptc_shm_zone_t *z = ptc_cycle_add_shm(cf, &g->zone_name, g->zone_size, g);
    if (z == NULL) {
        return PTC_ERROR;
    }
    z->init = upstream_zone_init;
    z->data = g;
    z->file = g->zone_file;
    z->line = g->zone_line;
    return PTC_OK;
}

static void
upstream_lock(ptc_upstream_group_t *g)
{
    if (g->lock) {
        /* held only for a few memory operations: spinning is cheaper than
         * any kernel-assisted lock here */
        while (__atomic_exchange_n(g->lock, 1, __ATOMIC_ACQUIRE)) {
            __builtin_ia32_pause();
        }
    }
}

static void
upstream_unlock(ptc_upstream_group_t *g)
{
    if (g->lock) {
        __atomic_store_n(g->lock, 0, __ATOMIC_RELEASE);
    }
}

void
ptc_upstream_group_release(ptc_upstream_group_t *g, ptc_upstream_peer_t *peer, int outcome)
{
    upstream_lock(g);
    ptc_upstream_peer_release(peer, outcome, ptc_current_msec);
    upstream_unlock(g);
}

void
ptc_upstream_group_conns(ptc_upstream_group_t *g, ptc_upstream_peer_t *peer, int delta)
{
    upstream_lock(g);
    peer->conns += delta;
    upstream_unlock(g);
}

/* Split a group's servers into tiers and let the balancer prepare them. */
static const char *
upstream_finish(ptc_conf_t *cf, ptc_upstream_group_t *g)
{
    if (g->implicit) {
        ptc_upstream_peer_t proto;
        memset(&proto, 0, sizeof(proto));
        proto.weight = 1;
        proto.max_fails = 1;
        proto.fail_timeout = 10000;
        proto.server = g->name;
        const char *rv = upstream_resolve(cf, &g->name, g->port, &proto, g->servers);
        if (rv) {
            return rv;
        }
    }
    ptc_upstream_peer_t *all = g->servers->elts;
    size_t n = g->servers->nelts, nb = 0;
    for (size_t i = 0; i < n; i++) {
        nb += all[i].backup;
    }
    g->npeers = n - nb;
    g->nbackup = nb;
    if (nb && (g->ip_hash || g->hash_key)) {
        return "balancing method does not support parameter \"backup\"";
    }
    if (g->npeers > 256 || g->nbackup > 256) {
        return "too many servers (256 per tier at most)";
    }
    g->peers = ptc_palloc(cf->pool, (g->npeers + 1) * sizeof(ptc_upstream_peer_t));
    g->backup = ptc_palloc(cf->pool, (g->nbackup + 1) * sizeof(ptc_upstream_peer_t));
    if (g->peers == NULL || g->backup == NULL) {
        return "out of memory";
    }
    for (size_t i = 0, a = 0, b = 0; i < n; i++) {
        all[i].effective_weight = all[i].weight;
        if (all[i].backup) {
            g->backup[b++] = all[i];
        } else {
            g->peers[a++] = all[i];
        }
    }
    if (g->npeers == 1 && g->nbackup == 0) {
        /* a lone server is never marked unavailable (nginx does the same):
         * failing fast would only turn its hiccups into 502s */
        g->peers[0].max_fails = 0;
    }
    if (g->balancer == NULL) {
        g->balancer = &ptc_upstream_round_robin;
    }
    const void *bconf = g->balancer == &ptc_upstream_random ? &g->random_conf : NULL;
    g->data = g->balancer->init(cf->pool, g->peers, g->npeers, bconf);
    g->backup_data =
        g->nbackup ? ptc_upstream_round_robin.init(cf->pool, g->backup, g->nbackup, NULL) : NULL;
    if (g->data == NULL || (g->nbackup && g->backup_data == NULL)) {
        return "out of memory";
    }
    ptc_queue_init(&g->idle);
    ptc_queue_init(&g->waiting);
    if (g->zone_name.data && upstream_zone_add(cf, g) != PTC_OK) {
        return "cannot add its zone";
    }
    return NULL;
}

static int
upstream_postconfig(ptc_conf_t *cf)
{
    upstream_main_conf_t *umcf = ptc_http_conf_get_main(cf, ptc_upstream_module);
    ptc_upstream_group_t **gs = umcf->groups.elts;
    for (size_t i = 0; i < umcf->groups.nelts; i++) {
        const char *rv = upstream_finish(cf, gs[i]);
        if (rv) {
            snprintf(cf->errbuf, cf->errlen, "%s in upstream \"%.*s\" in %s:%u", rv,
                     PTC_STR_ARG(gs[i]->name), gs[i]->file, gs[i]->line);
            cf->failed = true;
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

ptc_upstream_peer_t *
ptc_upstream_group_pick(ptc_upstream_group_t *g, ptc_http_request_t *r, ptc_upstream_pick_t *pick,
                        ptc_upstream_pick_t *backup_pick)
{
    pick->now = ptc_current_msec;
    if (pick->tries == 0) {
        pick->rand = (uint32_t)random();
        if (g->ip_hash) {
            struct sockaddr_storage *sa = &r->c->sockaddr;
            pick->key.data = sa->ss_family == AF_INET6
                                 ? (u_char *)&((struct sockaddr_in6 *)sa)->sin6_addr
                                 : (u_char *)&((struct sockaddr_in *)sa)->sin_addr;
            pick->key.len = sa->ss_family == AF_INET6 ? 16 : sa->ss_family == AF_INET ? 4 : 0;
        } else if (g->hash_key && ptc_http_complex_value(r, g->hash_key, &pick->key) != PTC_OK) {
            return NULL;
        }
    }
    pick->tries++;
    upstream_lock(g);
    int i = g->balancer->pick(g->data, g->peers, g->npeers, pick);
    ptc_upstream_peer_t *peer = i >= 0 ? &g->peers[i] : NULL;
    if (peer == NULL && g->nbackup) {
        backup_pick->now = pick->now;
        backup_pick->rand = pick->rand;
        backup_pick->tries++;
        i = ptc_upstream_round_robin.pick(g->backup_data, g->backup, g->nbackup, backup_pick);
        peer = i >= 0 ? &g->backup[i] : NULL;
    }
    upstream_unlock(g);
    return peer;
}

ptc_upstream_group_t *
ptc_upstream_group_for(ptc_http_request_t *r, const ptc_str_t *name, int default_port)
{
    upstream_main_conf_t *umcf = ptc_http_get_main_conf(r, ptc_upstream_module);
    ptc_upstream_group_t *g = upstream_find_port(umcf, name, default_port);
    if (g) {
        return g;
    }
    struct sockaddr_storage sa;
    socklen_t len;
    const char *err;
    if (ptc_sockaddr_parse(name, default_port, &sa, &len, &err) != PTC_OK) {
        return NULL;
    }
    g = ptc_pcalloc(r->pool, sizeof(*g));
    ptc_upstream_peer_t *p = ptc_pcalloc(r->pool, sizeof(*p));
    if (g == NULL || p == NULL) {
        return NULL;
    }
    memcpy(&p->sockaddr, &sa, len);
    p->socklen = len;
    p->name = *name;
    p->server = *name;
    p->weight = p->effective_weight = 1;
    g->name = *name;
    g->peers = p;
    g->npeers = 1;
    g->backup = p;
    g->balancer = &ptc_upstream_round_robin;
    g->data = g->balancer->init(r->pool, g->peers, 1, NULL);
    ptc_queue_init(&g->idle);
    return g->data ? g : NULL;
}

bool
ptc_upstream_group_has_next(ptc_upstream_group_t *g, const ptc_upstream_pick_t *pick,
                            const ptc_upstream_pick_t *backup_pick)
{
    bool found = false;
    upstream_lock(g);
    for (size_t i = 0; i < g->npeers && !found; i++) {
        found = ptc_upstream_peer_usable(&g->peers[i], i, pick);
    }
    for (size_t i = 0; i < g->nbackup && !found; i++) {
        found = ptc_upstream_peer_usable(&g->backup[i], i, backup_pick);
    }
    upstream_unlock(g);
    return found;
}
