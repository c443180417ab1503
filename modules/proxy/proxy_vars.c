/* SPDX-License-Identifier: BSD-2-Clause */
/* Proxy variables: $proxy_host, $proxy_port, $proxy_add_x_forwarded_for,
 * and the $upstream_* values for logs ("a, b" lists when a request was
 * tried on several peers). */
#include <stdio.h>

#include "core/ptc_pool.h"
#include "modules/proxy/proxy_ctx.h"

static proxy_ctx_t *
vars_ctx(ptc_http_request_t *r, ptc_http_variable_value_t *v)
{
    proxy_ctx_t *ctx = ptc_http_get_ctx(r, ptc_proxy_module);
    if (ctx == NULL) {
        v->not_found = 1;
    }
    return ctx;
}

static int
var_proxy_host(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t port)
{
    proxy_ctx_t *ctx = vars_ctx(r, v);
    if (ctx) {
        v->value = port ? ctx->port : ctx->host;
        v->valid = 1;
    }
    return PTC_OK;
}

/* "$upstream_*": one entry per try, joined with ", " (nginx's format). */
static int
var_upstream_log(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t which)
{
    proxy_ctx_t *ctx = vars_ctx(r, v);
    if (ctx == NULL || ctx->ntlog == 0) {
        v->not_found = 1;
        return PTC_OK;
    }
    unsigned n = ptc_min(ctx->ntlog, PROXY_TRIES_LOG);
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        len += (ctx->tlog[i].addr ? ctx->tlog[i].addr->len : 0) + 24;
    }
    u_char *p = ptc_pnalloc(r->pool, len);
    if (p == NULL) {
        return PTC_ERROR;
    }
    v->value.data = p;
    for (unsigned i = 0; i < n; i++) {
        const proxy_try_log_t *t = &ctx->tlog[i];
        if (i) {
            p = ptc_cpymem(p, ", ", 2);
        }
        int64_t ms = which == 2 ? t->connect_ms : which == 3 ? t->header_ms : t->response_ms;
        if (which == 0) {
            p = ptc_cpymem(p, t->addr->data, t->addr->len);
        } else if (which == 1) {
            p += t->status ? sprintf((char *)p, "%u", t->status) : sprintf((char *)p, "-");
        } else if (ms < 0) {
            *p++ = '-';
        } else {
            p += sprintf((char *)p, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
        }
    }
    v->value.len = (size_t)(p - v->value.data);
    v->valid = 1;
    return PTC_OK;
}

/* X-Forwarded-For of the request (all such headers, in order) plus the
 * client address. */
static int
var_add_xff(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    ptc_http_header_t *h = r->headers_in.list.elts;
    size_t len = r->c->addr_text.len;
    for (size_t i = 0; i < r->headers_in.list.nelts; i++) {
        if (h[i].hash && ptc_str_caseeq_c(&h[i].name, "x-forwarded-for")) {
            len += h[i].value.len + 2;
        }
    }
    u_char *p = ptc_pnalloc(r->pool, len);
    if (p == NULL) {
        return PTC_ERROR;
    }
    v->value.data = p;
    for (size_t i = 0; i < r->headers_in.list.nelts; i++) {
        if (h[i].hash && ptc_str_caseeq_c(&h[i].name, "x-forwarded-for") && h[i].value.len) {
            p = ptc_cpymem(p, h[i].value.data, h[i].value.len);
            p = ptc_cpymem(p, ", ", 2);
        }
    }
    p = ptc_cpymem(p, r->c->addr_text.data, r->c->addr_text.len);
    v->value.len = (size_t)(p - v->value.data);
    v->valid = 1;
    return PTC_OK;
}

static int
var_upstream_http(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    const ptc_str_t *full = (const ptc_str_t *)data;
    ptc_str_t name = {full->len - 14, full->data + 14}; /* "upstream_http_" */
    proxy_ctx_t *ctx = vars_ctx(r, v);
    if (ctx == NULL) {
        return PTC_OK;
    }
    ptc_http_header_t *h = ctx->uheaders.elts;
    for (size_t i = 0; i < ctx->uheaders.nelts; i++) {
        if (ptc_http_header_name_is(&h[i].name, &name)) {
            v->value = h[i].value;
            v->valid = 1;
            return PTC_OK;
        }
    }
    v->not_found = 1;
    return PTC_OK;
}

/* $upstream_cookie_NAME: the value of cookie NAME set by the upstream
 * response (the first Set-Cookie naming it; names compared without case,
 * as nginx does). */
static int
var_upstream_cookie(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    const ptc_str_t *full = (const ptc_str_t *)data;
    ptc_str_t name = {full->len - 16, full->data + 16}; /* "upstream_cookie_" */
    proxy_ctx_t *ctx = vars_ctx(r, v);
    ptc_http_header_t *h = ctx ? ctx->uheaders.elts : NULL;
    for (size_t i = 0; ctx && i < ctx->uheaders.nelts; i++) {
        if (!ptc_str_caseeq_c(&h[i].name, "set-cookie")) {
            continue;
        }
        const u_char *p = h[i].value.data, *end = p + h[i].value.len;
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if ((size_t)(end - p) <= name.len || p[name.len] != '='
            || ptc_strncasecmp(p, name.data, name.len) != 0) {
            continue;
        }
        p += name.len + 1;
        const u_char *semi = memchr(p, ';', (size_t)(end - p));
        v->value = (ptc_str_t){(size_t)((semi ? semi : end) - p), (u_char *)p};
        v->valid = 1;
        return PTC_OK;
    }
    v->not_found = 1;
    return PTC_OK;
}

/* $upstream_cache_status: there is no cache, so never set. */
static int
var_not_found(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    v->not_found = 1;
    return PTC_OK;
}

#define NC PTC_HTTP_VAR_NOCACHEABLE

static const ptc_http_variable_def_t proxy_vars[] = {
    {"proxy_host", var_proxy_host, 0, 0},
    {"proxy_port", var_proxy_host, 1, 0},
    {"proxy_add_x_forwarded_for", var_add_xff, 0, 0},
    {"upstream_addr", var_upstream_log, 0, NC},
    {"upstream_status", var_upstream_log, 1, NC},
    {"upstream_connect_time", var_upstream_log, 2, NC},
    {"upstream_header_time", var_upstream_log, 3, NC},
    {"upstream_response_time", var_upstream_log, 4, NC},
    {"upstream_http_", var_upstream_http, 0, PTC_HTTP_VAR_PREFIX | NC},
    {"upstream_cookie_", var_upstream_cookie, 0, PTC_HTTP_VAR_PREFIX | NC},
    {"upstream_cache_status", var_not_found, 0, 0},
    {NULL, NULL, 0, 0},
};

int
ptc_proxy_variables(ptc_conf_t *cf)
{
    return ptc_http_add_variables(cf, proxy_vars);
}
