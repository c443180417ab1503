/* SPDX-License-Identifier: BSD-2-Clause */
/* The real client address behind trusted proxies: set_real_ip_from,
 * real_ip_header (X-Real-IP, X-Forwarded-For, proxy_protocol, or any
 * header) and real_ip_recursive. When the peer is trusted, the request
 * takes the address from the header ($remote_addr, logs, allow/deny);
 * $realip_remote_addr keeps the peer's. The connection gets its own
 * address back when the request ends (the next request may say another). */
#include <arpa/inet.h>
#include <stdio.h>

#include "core/ptc_cidr.h"
#include "core/ptc_pool.h"
#include "modules/http/http_core.h"

typedef struct {
    ptc_array_t *from; /* ptc_cidr_t; UNSET_PTR when not set here */
    ptc_str_t header;  /* "X-Real-IP" by default; "proxy_protocol" is special */
    int recursive;
} realip_loc_conf_t;

typedef struct {
    ptc_conn_t *c;
    struct sockaddr_storage sockaddr; /* the peer's own address */
    socklen_t socklen;
    ptc_str_t addr_text;
    bool changed;
} realip_ctx_t;

static int realip_preconfig(ptc_conf_t *cf);
static int realip_postconfig(ptc_conf_t *cf);
static void *realip_create_loc(ptc_conf_t *cf);
static const char *realip_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static const char *realip_from(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *realip_header(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

#define HSL (PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION)

static const ptc_directive_t realip_directives[] = {
    {"set_real_ip_from", HSL, PTC_ARGS_1, realip_from, PTC_CONF_LOC, 0, NULL},
    {"real_ip_header", HSL, PTC_ARGS_1, realip_header, PTC_CONF_LOC, 0, NULL},
    {"real_ip_recursive", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, PTC_CONF_LOC,
     offsetof(realip_loc_conf_t, recursive), NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_realip_module = {
    .name = "http_realip",
    .type = PTC_MODULE_HTTP,
    .directives = realip_directives,
    .preconfig = realip_preconfig,
    .postconfig = realip_postconfig,
    .create_loc = realip_create_loc,
    .merge_loc = realip_merge_loc,
};

static void *
realip_create_loc(ptc_conf_t *cf)
{
    realip_loc_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c) {
        c->from = PTC_CONF_UNSET_PTR;
        c->recursive = PTC_CONF_UNSET;
    }
    return c;
}

static const char *
realip_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    realip_loc_conf_t *prev = parent, *conf = child;
    ptc_conf_merge_ptr(conf->from, prev->from, NULL);
    ptc_conf_merge_str(conf->header, prev->header, "X-Real-IP");
    ptc_conf_merge_value(conf->recursive, prev->recursive, 0);
    return NULL;
}

static const char *
realip_from(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    realip_loc_conf_t *rlcf = conf;
    const char *err;
    if (rlcf->from == PTC_CONF_UNSET_PTR) {
        rlcf->from = ptc_array_create(cf->pool, 4, sizeof(ptc_cidr_t));
        if (rlcf->from == NULL) {
            return "out of memory";
        }
    }
    ptc_cidr_t *c = ptc_array_push(rlcf->from);
    if (c == NULL) {
        return "out of memory";
    }
    if (ptc_cidr_parse(ptc_conf_arg(cf, 1), c, &err) != PTC_OK) {
        return ptc_conf_error(cf, "%s \"" PTC_STR_FMT "\"", err, PTC_STR_ARG(*ptc_conf_arg(cf, 1)));
    }
    return NULL;
}

static const char *
realip_header(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    realip_loc_conf_t *rlcf = conf;
    if (rlcf->header.data) {
        return "is duplicate";
    }
    rlcf->header = *ptc_conf_arg(cf, 1);
    return NULL;
}

static bool
realip_trusted(realip_loc_conf_t *rlcf, const struct sockaddr *sa)
{
    ptc_cidr_t *c = rlcf->from->elts;
    for (size_t i = 0; i < rlcf->from->nelts; i++) {
        if (ptc_cidr_match(&c[i], sa)) {
            return true;
        }
    }
    return false;
}

/* Parse an address element of a header ("192.0.2.1", "2001:db8::1",
 * "[2001:db8::1]"); false if it is not one. */
static bool
realip_parse(const u_char *p, size_t n, struct sockaddr_storage *sa, socklen_t *len)
{
    char buf[INET6_ADDRSTRLEN + 2];
    while (n && (*p == ' ' || *p == '\t')) {
        p++, n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
        n--;
    }
    if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
        p++, n -= 2;
    }
    if (n == 0 || n >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    memset(sa, 0, sizeof(*sa));
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        *len = sizeof(*s4);
        return true;
    }
    if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        *len = sizeof(*s6);
        return true;
    }
    return false;
}

/* The client address from a list header, right to left: the last entry,
 * or with real_ip_recursive the last one that is not a trusted proxy. */
static bool
realip_from_list(realip_loc_conf_t *rlcf, const ptc_str_t *v, struct sockaddr_storage *sa,
                 socklen_t *len)
{
    const u_char *end = v->data + v->len;
    bool found = false;
    while (end > v->data) {
        const u_char *start = end;
        while (start > v->data && start[-1] != ',') {
            start--;
        }
        struct sockaddr_storage cand;
        socklen_t clen;
        if (!realip_parse(start, (size_t)(end - start), &cand, &clen)) {
            break; /* garbage stops the walk: keep what was found */
        }
        *sa = cand;
        *len = clen;
        found = true;
        if (!rlcf->recursive || !realip_trusted(rlcf, (struct sockaddr *)&cand)) {
            break;
        }
        end = start > v->data ? start - 1 : start;
    }
    return found;
}

static void
realip_restore(void *data)
{
    realip_ctx_t *ctx = data;
    ptc_conn_t *c = ctx->c;
    memcpy(&c->sockaddr, &ctx->sockaddr, ctx->socklen);
    c->socklen = ctx->socklen;
    c->addr_text = ctx->addr_text;
}

static int
realip_set(ptc_http_request_t *r, struct sockaddr_storage *sa, socklen_t len)
{
    ptc_conn_t *c = r->c;
    realip_ctx_t *ctx = ptc_http_get_ctx(r, ptc_http_realip_module);
    ptc_pool_cleanup_t *cln = ptc_pool_cleanup_add(r->pool, 0);
    u_char text[INET6_ADDRSTRLEN];
    if (ctx == NULL || cln == NULL) {
        return PTC_ERROR;
    }
    size_t n = ptc_sockaddr_text((struct sockaddr *)sa, len, text, sizeof(text), false);
    ptc_str_t addr;
    if (ptc_str_dup(r->pool, &addr, text, n) != PTC_OK) {
        return PTC_ERROR;
    }
    if (!ctx->changed) {
        ctx->c = c;
        memcpy(&ctx->sockaddr, &c->sockaddr, c->socklen);
        ctx->socklen = c->socklen;
        ctx->addr_text = c->addr_text;
        ctx->changed = true;
        cln->handler = realip_restore;
        cln->data = ctx;
    }
    /* the peer's port stays: the header names only an address */
    int port = ptc_sockaddr_port((struct sockaddr *)&c->sockaddr);
    if (sa->ss_family == AF_INET) {
        ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
    } else if (sa->ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
    }
    memcpy(&c->sockaddr, sa, len);
    c->socklen = len;
    c->addr_text = addr;
    return PTC_OK;
}

static int
realip_handler(ptc_http_request_t *r)
{
    realip_loc_conf_t *rlcf = ptc_http_get_loc_conf(r, ptc_http_realip_module);
    realip_ctx_t *ctx = ptc_http_get_ctx(r, ptc_http_realip_module);
    if (rlcf->from == NULL || (ctx && ctx->changed)) {
        return PTC_DECLINED;
    }
    if (ctx == NULL) {
        ctx = ptc_pcalloc(r->pool, sizeof(*ctx));
        if (ctx == NULL) {
            ptc_http_finalize_status(r, 500);
            return PTC_DONE;
        }
        ptc_http_set_ctx(r, ptc_http_realip_module, ctx);
    }
    if (!realip_trusted(rlcf, (struct sockaddr *)&r->c->sockaddr)) {
        return PTC_DECLINED;
    }
    struct sockaddr_storage sa;
    socklen_t len = 0;
    bool found = false;
    if (ptc_str_caseeq_c(&rlcf->header, "proxy_protocol")) {
        const struct sockaddr *pp = ptc_http_proxy_protocol_addr(r, &len);
        if (pp) {
            memcpy(&sa, pp, len);
            found = true;
        }
    } else {
        ptc_http_header_t *h = ptc_http_find_header_in(r, rlcf->header.data, rlcf->header.len);
        found = h && realip_from_list(rlcf, &h->value, &sa, &len);
    }
    if (found && realip_set(r, &sa, len) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return PTC_DONE;
    }
    return PTC_DECLINED;
}

static int
realip_var(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t port)
{
    realip_ctx_t *ctx = ptc_http_get_ctx(r, ptc_http_realip_module);
    const struct sockaddr *sa = ctx && ctx->changed ? (struct sockaddr *)&ctx->sockaddr
                                                    : (struct sockaddr *)&r->c->sockaddr;
    if (!port) {
        v->value = ctx && ctx->changed ? ctx->addr_text : r->c->addr_text;
        v->valid = 1;
        return PTC_OK;
    }
    return ptc_psprintf(r->pool, &v->value, "%d", ptc_sockaddr_port(sa)) == PTC_OK
               ? (v->valid = 1, PTC_OK)
               : PTC_ERROR;
}

static const ptc_http_variable_def_t realip_vars[] = {
    {"realip_remote_addr", realip_var, 0, 0},
    {"realip_remote_port", realip_var, 1, 0},
    {NULL, NULL, 0, 0},
};

static int
realip_preconfig(ptc_conf_t *cf)
{
    return ptc_http_add_variables(cf, realip_vars);
}

static int
realip_postconfig(ptc_conf_t *cf)
{
    /* server-level settings as soon as the head is read, location-level
     * ones (if the server level did nothing) before limits and access
     * checks; registered after the limit module, so it runs first there */
    if (ptc_http_add_phase_handler(cf, PTC_HTTP_POST_READ_PHASE, realip_handler) != PTC_OK
        || ptc_http_add_phase_handler(cf, PTC_HTTP_PREACCESS_PHASE, realip_handler) != PTC_OK) {
        return PTC_ERROR;
    }
    return PTC_OK;
}
