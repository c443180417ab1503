/* SPDX-License-Identifier: BSD-2-Clause */
/* The upstream response head: status line, header fields (parsed with the
 * request header parser: the same grammar, the same strictness), framing
 * checks that keep a response from being read two ways, and the copy into
 * the client response with hop-by-hop and hidden headers removed and
 * Location/Refresh rewritten by proxy_redirect. */
#include <stdio.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/http/http_util.h"
#include "modules/proxy/proxy_ctx.h"

proxy_try_log_t *
ptc_proxy_tlog(proxy_ctx_t *ctx)
{
    static proxy_try_log_t scratch;
    if (ctx->ntlog == 0 || ctx->ntlog > PROXY_TRIES_LOG) {
        return &scratch;
    }
    return &ctx->tlog[ctx->ntlog - 1];
}

/* "HTTP/1.x SP 3DIGIT [SP reason] CRLF" (RFC 9112 §4). PTC_OK, PTC_AGAIN
 * (need more; b->pos unchanged), PTC_ERROR. */
int
ptc_proxy_parse_status_line(proxy_ctx_t *ctx, ptc_buf_t *b)
{
    u_char *lf = memchr(b->pos, '\n', (size_t)(b->last - b->pos));
    if (lf == NULL) {
        return PTC_AGAIN;
    }
    u_char *p = b->pos, *end = lf;
    if (end > p && end[-1] == '\r') {
        end--;
    }
    if (end - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ') {
        return PTC_ERROR;
    }
    int64_t st = ptc_atoi(p + 9, 3);
    if (st < 100 || st > 999 || (end - p > 12 && p[12] != ' ')) {
        return PTC_ERROR;
    }
    for (u_char *q = p + 12; q < end; q++) {
        if ((*q < 0x20 && *q != '\t') || *q == 0x7f) {
            return PTC_ERROR; /* CR, NUL or other controls in the reason */
        }
    }
    ctx->status = (unsigned)st;
    ctx->http10 = p[7] == '0';
    b->pos = lf + 1;
    return PTC_OK;
}

static bool
proxy_name_in(const ptc_str_t *name, ptc_array_t *list)
{
    ptc_str_t *s = list ? list->elts : NULL;
    for (size_t i = 0; list && i < list->nelts; i++) {
        if (ptc_str_caseeq(&s[i], name)) {
            return true;
        }
    }
    return false;
}

/* Response headers the client never sees from the upstream: hop-by-hop,
 * the framing (recomputed here), and what identifies the origin (Server,
 * X-Powered-By) or is meant for the proxy (X-Accel-*), unless passed. */
static bool
proxy_hidden(proxy_ctx_t *ctx, const ptc_str_t *name)
{
    static const char *const always[] = {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding",
        "te",         "trailer",    "upgrade",          "content-length",
        NULL};
    static const char *const by_default[] = {"server", "date", "x-powered-by", "x-pad", NULL};
    for (const char *const *p = always; *p; p++) {
        if (ptc_str_caseeq_c(name, *p)) {
            /* a 101 passes Upgrade and Connection: the tunnel needs them */
            return !(
                ctx->status == 101
                && (ptc_str_caseeq_c(name, "upgrade") || ptc_str_caseeq_c(name, "connection")));
        }
    }
    if (name->len > 8 && ptc_strncasecmp(name->data, (const u_char *)"x-accel-", 8) == 0) {
        return !proxy_name_in(name, ctx->plcf->pass_headers);
    }
    if (proxy_name_in(name, ctx->plcf->hide_headers)) {
        return true;
    }
    for (const char *const *p = by_default; *p; p++) {
        if (ptc_str_caseeq_c(name, *p)) {
            return !proxy_name_in(name, ctx->plcf->pass_headers);
        }
    }
    return false;
}

/* proxy_redirect: rewrite the start of a Location/Refresh value. */
static int
proxy_rewrite_location(proxy_ctx_t *ctx, ptc_str_t *value)
{
    ptc_http_request_t *r = ctx->r;
    proxy_loc_conf_t *plcf = ctx->plcf;
    if (plcf->redirect_default == 1 && !plcf->url_cv) {
        /* default: "http://$proxy_host" + uri part -> the location name */
        ptc_str_t from;
        if (ptc_psprintf(r->pool, &from, "http://" PTC_STR_FMT PTC_STR_FMT, PTC_STR_ARG(ctx->host),
                         PTC_STR_ARG(plcf->has_uri ? plcf->uri : (ptc_str_t)ptc_string("/")))
            != PTC_OK) {
            return PTC_ERROR;
        }
        ptc_str_t to = plcf->has_uri ? plcf->location : (ptc_str_t)ptc_string("/");
        if (value->len >= from.len && memcmp(value->data, from.data, from.len) == 0) {
            ptc_str_t tail = {value->len - from.len, value->data + from.len}, rel, abs;
            if (ptc_psprintf(r->pool, &rel, PTC_STR_FMT PTC_STR_FMT, PTC_STR_ARG(to),
                             PTC_STR_ARG(tail))
                    != PTC_OK
                || ptc_http_redirect_location(r, &rel, &abs) != PTC_OK) {
                return PTC_ERROR;
            }
            *value = abs;
            return PTC_OK;
        }
    }
    proxy_redirect_t *pr = plcf->redirects ? plcf->redirects->elts : NULL;
    for (size_t i = 0; plcf->redirects && i < plcf->redirects->nelts; i++) {
        ptc_str_t from, to;
        if (ptc_http_complex_value(r, pr[i].from, &from) != PTC_OK
            || ptc_http_complex_value(r, pr[i].to, &to) != PTC_OK) {
            return PTC_ERROR;
        }
        if (value->len >= from.len && memcmp(value->data, from.data, from.len) == 0) {
            return ptc_psprintf(r->pool, value, PTC_STR_FMT "%.*s", PTC_STR_ARG(to),
                                (int)(value->len - from.len), value->data + from.len);
        }
    }
    return PTC_OK;
}

static int
proxy_framing(proxy_ctx_t *ctx, ptc_http_header_t *h, ptc_http_header_t **cl, bool *te)
{
    if (ptc_str_caseeq_c(&h->name, "content-length")) {
        if (*cl) {
            return PTC_ERROR; /* repeated: ambiguous, refuse it */
        }
        *cl = h;
        return PTC_OK;
    }
    if (ptc_str_caseeq_c(&h->name, "transfer-encoding")) {
        if (*te || !ptc_str_caseeq_c(&h->value, "chunked")) {
            return PTC_ERROR;
        }
        *te = true;
        return PTC_OK;
    }
    if (ptc_str_caseeq_c(&h->name, "connection")
        && ptc_strnstr(h->value.data, h->value.len, "close", 5)) {
        ctx->upstream_close = 1;
    }
    return PTC_OK;
}

/* Copy the upstream head into r->headers_out. PTC_OK, or PTC_ERROR for a
 * head whose framing is ambiguous (an invalid header, for next upstream). */
int
ptc_proxy_process_headers(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_http_header_t *hs = ctx->uheaders.elts, *cl = NULL;
    bool te = false;
    for (size_t i = 0; i < ctx->uheaders.nelts; i++) {
        if (proxy_framing(ctx, &hs[i], &cl, &te) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    if (cl && te) {
        return PTC_ERROR; /* RFC 9112 §6.3: a message with both is an attack vector */
    }
    ctx->rest = -1;
    if (cl) {
        ctx->rest = ptc_atoi(cl->value.data, cl->value.len);
        if (ctx->rest < 0) {
            return PTC_ERROR;
        }
    }
    ctx->chunked = te;
    ctx->no_body =
        r->method == PTC_HTTP_HEAD || ctx->status < 200 || ctx->status == 204 || ctx->status == 304;
    ctx->close_delimited = !ctx->no_body && !te && !cl;
    if (ctx->http10) {
        ctx->upstream_close = 1;
    }
    ctx->buffering = ctx->plcf->buffering ? 1 : 0;
    ptc_http_headers_out_t *out = &r->headers_out;
    out->status = ctx->status;
    out->content_length_n = ctx->no_body ? (cl ? ctx->rest : -1) : cl ? ctx->rest : -1;
    for (size_t i = 0; i < ctx->uheaders.nelts; i++) {
        ptc_http_header_t *h = &hs[i];
        if (ptc_str_caseeq_c(&h->name, "x-accel-buffering")
            && !(ctx->plcf->ignore_headers & PROXY_IGN_XA_BUFFERING)) {
            if (ptc_str_caseeq_c(&h->value, "yes")) {
                ctx->buffering = 1;
            } else if (ptc_str_caseeq_c(&h->value, "no")) {
                ctx->buffering = 0;
            }
        }
        if (ptc_str_caseeq_c(&h->name, "x-accel-limit-rate")
            && !(ctx->plcf->ignore_headers & PROXY_IGN_XA_LIMIT_RATE)) {
            /* the origin paces this response (bytes per second), as in nginx */
            int64_t rate = ptc_atoi(h->value.data, h->value.len);
            if (rate >= 0) {
                r->limit_rate = (size_t)rate;
                r->limit_rate_set = 1;
            }
        }
        if (proxy_hidden(ctx, &h->name)) {
            continue;
        }
        if (ptc_str_caseeq_c(&h->name, "content-type")) {
            out->content_type = h->value;
            continue;
        }
        if (ptc_str_caseeq_c(&h->name, "server")) {
            out->server = h->value; /* passed with proxy_pass_header */
            continue;
        }
        if (ptc_str_caseeq_c(&h->name, "date")) {
            out->date = h->value;
            continue;
        }
        ptc_str_t value = h->value;
        if ((ptc_str_caseeq_c(&h->name, "location") || ptc_str_caseeq_c(&h->name, "refresh"))
            && proxy_rewrite_location(ctx, &value) != PTC_OK) {
            return PTC_ERROR;
        }
        if (ptc_str_caseeq_c(&h->name, "set-cookie")
            && (ctx->plcf->cookie_domains || ctx->plcf->cookie_paths || ctx->plcf->cookie_flags)
            && ptc_proxy_rewrite_cookie(ctx, &value) != PTC_OK) {
            return PTC_ERROR;
        }
        if (ptc_str_caseeq_c(&h->name, "location")) {
            out->location = value;
            continue;
        }
        if (ptc_http_add_header_out(r, &h->name, &value) == NULL) {
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

const ptc_str_t *
ptc_proxy_accel_redirect(proxy_ctx_t *ctx)
{
    if (ctx->plcf->ignore_headers & PROXY_IGN_XA_REDIRECT) {
        return NULL;
    }
    ptc_http_header_t *hs = ctx->uheaders.elts;
    for (size_t i = 0; i < ctx->uheaders.nelts; i++) {
        if (ptc_str_caseeq_c(&hs[i].name, "x-accel-redirect") && hs[i].value.len) {
            return &hs[i].value;
        }
    }
    return NULL;
}
