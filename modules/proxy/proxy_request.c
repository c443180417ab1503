/* SPDX-License-Identifier: BSD-2-Clause */
/* Building the request sent upstream: request line with nginx's URI rules,
 * proxy_set_header values (defaults Host $proxy_host, Connection close),
 * the client's end-to-end headers, and the body length. Built once per
 * request in one buffer; retries resend the same bytes. */
#include <stdio.h>

#include "core/ptc_pool.h"
#include "modules/proxy/proxy_ctx.h"

/* Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded as such. */
static const char *const proxy_hop_by_hop[] = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "expect",
    "proxy-authenticate",
    NULL,
};

static bool
proxy_uri_needs_escape(u_char c)
{
    return c <= ' ' || c >= 0x7f || c == '%' || c == '?' || c == '#' || c == '"';
}

static size_t
proxy_escape_uri(u_char *dst, const u_char *src, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (proxy_uri_needs_escape(src[i])) {
            if (dst) {
                dst[len] = '%';
                dst[len + 1] = (u_char)hex[src[i] >> 4];
                dst[len + 2] = (u_char)hex[src[i] & 0xf];
            }
            len += 3;
        } else {
            if (dst) {
                dst[len] = src[i];
            }
            len++;
        }
    }
    return len;
}

/* The request target: as the client sent it when nothing replaces it, else
 * the URI part of proxy_pass plus the rest of the (normalised) URI. */
static int
proxy_target(proxy_ctx_t *ctx, const ptc_str_t *uri_part, bool has_uri, ptc_str_t *out)
{
    ptc_http_request_t *r = ctx->r;
    proxy_loc_conf_t *plcf = ctx->plcf;
    if (has_uri && plcf->url_cv) {
        *out = *uri_part; /* a URL with variables is used as evaluated */
        return PTC_OK;
    }
    if (!has_uri && !r->internal && !r->unparsed_uri_changed) {
        *out = r->unparsed_uri;
        return PTC_OK;
    }
    ptc_str_t rest = r->uri;
    ptc_str_t base = ptc_null_string;
    /* after `rewrite ... break` the whole new URI goes, without the URI part */
    if (has_uri && r->valid_location) {
        base = *uri_part;
        size_t skip = plcf->location_type == PTC_HTTP_LOC_EXACT
                          ? rest.len
                          : ptc_min(plcf->location.len, rest.len);
        rest.data += skip;
        rest.len -= skip;
    }
    size_t elen = proxy_escape_uri(NULL, rest.data, rest.len);
    size_t len = base.len + elen + (r->args.len ? r->args.len + 1 : 0);
    u_char *p = ptc_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return PTC_ERROR;
    }
    out->data = p;
    if (base.len) {
        p = ptc_cpymem(p, base.data, base.len);
    }
    p += proxy_escape_uri(p, rest.data, rest.len);
    if (r->args.len) {
        *p++ = '?';
        p = ptc_cpymem(p, r->args.data, r->args.len);
    }
    out->len = (size_t)(p - out->data);
    return PTC_OK;
}

static bool
proxy_in_list(const ptc_str_t *name, const char *const *list)
{
    for (; *list; list++) {
        if (ptc_str_caseeq_c(name, *list)) {
            return true;
        }
    }
    return false;
}

/* Is `name` one of the tokens of the client's Connection header? */
static bool
proxy_named_in_connection(ptc_http_request_t *r, const ptc_str_t *name)
{
    ptc_http_header_t *c = r->headers_in.connection;
    if (c == NULL) {
        return false;
    }
    const u_char *p = c->value.data, *end = p + c->value.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ',' || *p == '\t')) {
            p++;
        }
        const u_char *s = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }
        if ((size_t)(p - s) == name->len && ptc_strncasecmp(s, name->data, name->len) == 0) {
            return true;
        }
    }
    return false;
}

typedef struct {
    ptc_str_t name;
    ptc_str_t value;
} proxy_kv_t;

static int
proxy_eval_headers(proxy_ctx_t *ctx, proxy_kv_t **out, size_t *n, size_t *len)
{
    ptc_array_t *list = ctx->plcf->send_headers;
    proxy_header_t *h = list->elts;
    proxy_kv_t *kv = ptc_palloc(ctx->r->pool, (list->nelts + 1) * sizeof(*kv));
    if (kv == NULL) {
        return PTC_ERROR;
    }
    *n = 0;
    for (size_t i = 0; i < list->nelts; i++) {
        ptc_str_t v;
        if (ptc_http_complex_value(ctx->r, h[i].value, &v) != PTC_OK) {
            return PTC_ERROR;
        }
        if (ptc_str_caseeq_c(&h[i].name, "connection")) {
            /* no Connection header: HTTP/1.1 keeps the connection, 1.0 does not */
            ctx->request_close = v.len ? ptc_strnstr(v.data, v.len, "close", 5) != NULL
                                       : ctx->plcf->http_version == 1000;
        }
        if (v.len == 0) {
            continue; /* an empty value removes the header */
        }
        kv[*n].name = h[i].name;
        kv[*n].value = v;
        *len += h[i].name.len + v.len + 4;
        (*n)++;
    }
    *out = kv;
    return PTC_OK;
}

static bool
proxy_client_header_wanted(proxy_ctx_t *ctx, ptc_http_header_t *h)
{
    if (h->hash == 0 || proxy_in_list(&h->name, proxy_hop_by_hop)
        || proxy_named_in_connection(ctx->r, &h->name)) {
        return false;
    }
    proxy_header_t *set = ctx->plcf->send_headers->elts;
    for (size_t j = 0; j < ctx->plcf->send_headers->nelts; j++) {
        if (ptc_str_caseeq(&set[j].name, &h->name)) {
            return false;
        }
    }
    return true;
}

/* proxy_set_body: the evaluated value is the body (none when empty). */
static int
proxy_set_body(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_str_t v;
    if (ptc_http_complex_value(r, ctx->plcf->set_body, &v) != PTC_OK) {
        return PTC_ERROR;
    }
    ctx->body = NULL;
    ctx->body_len = (off_t)v.len;
    if (v.len == 0) {
        return PTC_OK;
    }
    ptc_buf_t *b = ptc_buf_calloc(r->pool);
    ptc_chain_t *cl = ptc_chain_alloc(r->pool);
    if (b == NULL || cl == NULL) {
        return PTC_ERROR;
    }
    b->start = b->pos = v.data;
    b->last = b->end = v.data + v.len;
    b->memory = 1;
    cl->buf = b;
    ctx->body = cl;
    return PTC_OK;
}

int
ptc_proxy_build_request(proxy_ctx_t *ctx, const ptc_str_t *uri_part, bool has_uri)
{
    ptc_http_request_t *r = ctx->r;
    proxy_loc_conf_t *plcf = ctx->plcf;
    ptc_str_t method = r->method_name, target;
    if (plcf->method && ptc_http_complex_value(r, plcf->method, &method) != PTC_OK) {
        return PTC_ERROR;
    }
    if (proxy_target(ctx, uri_part, has_uri, &target) != PTC_OK) {
        return PTC_ERROR;
    }
    ctx->request_close = true; /* unless a Connection header says otherwise */
    size_t len = method.len + target.len + 16 + 2, n = 0;
    proxy_kv_t *kv;
    if (proxy_eval_headers(ctx, &kv, &n, &len) != PTC_OK) {
        return PTC_ERROR;
    }
    ptc_http_header_t *hs = r->headers_in.list.elts;
    for (size_t i = 0; plcf->pass_request_headers && i < r->headers_in.list.nelts; i++) {
        if (proxy_client_header_wanted(ctx, &hs[i])) {
            len += hs[i].name.len + hs[i].value.len + 4;
        }
    }
    len += 40; /* the body's Content-Length or Transfer-Encoding, even "Content-Length: 0" */
    if (plcf->set_body) {
        if (proxy_set_body(ctx) != PTC_OK) {
            return PTC_ERROR;
        }
    } else if (!ctx->streaming && r->request_body && r->request_body->bufs
               && plcf->pass_request_body) {
        ctx->body = r->request_body->bufs;
        ctx->body_len = r->request_body->received;
    }
    ptc_buf_t *b = ptc_buf_create(r->pool, len);
    if (b == NULL) {
        return PTC_ERROR;
    }
    u_char *p = b->last;
    p += sprintf((char *)p, "%.*s %.*s HTTP/1.%d\r\n", PTC_STR_ARG(method), PTC_STR_ARG(target),
                 plcf->http_version == 1001 ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        p +=
            sprintf((char *)p, "%.*s: %.*s\r\n", PTC_STR_ARG(kv[i].name), PTC_STR_ARG(kv[i].value));
    }
    if (ctx->body || plcf->set_body) {
        p += sprintf((char *)p, "Content-Length: %lld\r\n", (long long)ctx->body_len);
    } else if (ctx->streaming && r->headers_in.chunked) {
        p = ptc_cpymem(p, "Transfer-Encoding: chunked\r\n", 28);
    } else if (ctx->streaming) {
        p += sprintf((char *)p, "Content-Length: %lld\r\n",
                     (long long)r->headers_in.content_length_n);
    } else if (r->headers_in.content_length_n == 0 && plcf->pass_request_body) {
        p = ptc_cpymem(p, "Content-Length: 0\r\n", 19); /* an empty body, said so */
    }
    for (size_t i = 0; plcf->pass_request_headers && i < r->headers_in.list.nelts; i++) {
        if (proxy_client_header_wanted(ctx, &hs[i])) {
            p += sprintf((char *)p, "%.*s: %.*s\r\n", PTC_STR_ARG(hs[i].name),
                         PTC_STR_ARG(hs[i].value));
        }
    }
    p = ptc_cpymem(p, "\r\n", 2);
    b->last = p;
    ctx->head = b;
    return PTC_OK;
}
