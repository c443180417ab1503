/* SPDX-License-Identifier: BSD-2-Clause */
/* Request head semantics: known headers, framing rules (RFC 9112 §6) that
 * keep a request from being read two ways, Host validation and server
 * selection. */
#include <stdio.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_process.h"
#include "modules/http/http_request_int.h"

typedef struct {
    const char *name;
    size_t offset; /* of the ptc_http_header_t * in headers_in */
    bool unique;   /* a second one is a 400 */
} http_known_t;

#define KH(n, f, u)                                                                                \
    {                                                                                              \
        n, offsetof(ptc_http_headers_in_t, f), u                                                   \
    }
static const http_known_t http_known[] = {
    KH("host", host, true),
    KH("connection", connection, false),
    KH("if-modified-since", if_modified_since, true),
    KH("if-unmodified-since", if_unmodified_since, true),
    KH("if-none-match", if_none_match, false),
    KH("if-match", if_match, false),
    KH("if-range", if_range, true),
    KH("user-agent", user_agent, false),
    KH("referer", referer, false),
    KH("content-length", content_length, true),
    KH("content-type", content_type, false),
    KH("range", range, false),
    KH("transfer-encoding", transfer_encoding, true),
    KH("expect", expect, false),
    KH("upgrade", upgrade, false),
    KH("authorization", authorization, true),
};

void
ptc_http_request_set_exten(ptc_http_request_t *r)
{
    r->exten.len = 0;
    r->exten.data = NULL;
    for (size_t i = r->uri.len; i-- > 0;) {
        u_char ch = r->uri.data[i];
        if (ch == '/') {
            return;
        }
        if (ch == '.') {
            r->exten.data = r->uri.data + i + 1;
            r->exten.len = r->uri.len - i - 1;
            return;
        }
    }
}

int
ptc_http_validate_host(ptc_http_request_t *r, ptc_str_t *host)
{
    const u_char *p = host->data, *end = host->data + host->len;
    size_t len = host->len, dot_pos = (size_t)-1;
    bool in_brackets = false;
    /* RFC 3986 host chars; reject "/", "\", "..", NUL, controls */
    for (size_t i = 0; i < host->len; i++) {
        u_char ch = p[i];
        if (ch == '.') {
            if (dot_pos == i - 1 && i > 0) {
                return PTC_DECLINED;
            }
            dot_pos = i;
        } else if (ch == ':' && !in_brackets) {
            len = i;
            break;
        } else if (ch == '[' && i == 0) {
            in_brackets = true;
        } else if (ch == ']') {
            in_brackets = false;
        } else if (ch == '/' || ch == '\\' || ch <= ' ' || ch == 0x7f) {
            return PTC_DECLINED;
        }
    }
    (void)end;
    if (len && p[len - 1] == '.') {
        len--; /* "example.com." names the same host */
    }
    if (len == 0 && host->len) {
        return PTC_DECLINED;
    }
    u_char *low = ptc_pnalloc(r->pool, len + 1);
    if (low == NULL) {
        return PTC_ERROR;
    }
    ptc_strlow(low, p, len);
    r->headers_in.server.data = low;
    r->headers_in.server.len = len;
    return PTC_OK;
}

int
ptc_http_request_header(ptc_http_request_t *r, ptc_http_core_srv_conf_t *cscf)
{
    ptc_http_parse_t *p = &r->parse;
    if (p->invalid_header && cscf->ignore_invalid_headers) {
        ptc_log_error(PTC_LOG_INFO, r->c->log, 0, "client sent invalid header line: \"%.*s\"",
                      (int)(p->header_name_end - p->header_name_start), p->header_name_start);
        return PTC_OK;
    }
    ptc_http_header_t *h = ptc_array_push(&r->headers_in.list);
    if (h == NULL) {
        ptc_http_finalize_status(r, 500);
        return PTC_ERROR;
    }
    h->name.data = p->header_name_start;
    h->name.len = (size_t)(p->header_name_end - p->header_name_start);
    h->value.data = p->header_start;
    h->value.len = (size_t)(p->header_end - p->header_start);
    h->hash = p->header_hash ? p->header_hash : 1;
    for (size_t i = 0; i < ptc_nelems(http_known); i++) {
        if (!ptc_str_caseeq_c(&h->name, http_known[i].name)) {
            continue;
        }
        ptc_http_header_t **slot =
            (ptc_http_header_t **)((char *)&r->headers_in + http_known[i].offset);
        if (*slot && http_known[i].unique) {
            ptc_log_error(PTC_LOG_INFO, r->c->log, 0,
                          "client sent duplicate header line: \"" PTC_STR_FMT ": " PTC_STR_FMT
                          "\", previous value: \"" PTC_STR_FMT ": " PTC_STR_FMT "\"",
                          PTC_STR_ARG(h->name), PTC_STR_ARG(h->value), PTC_STR_ARG((*slot)->name),
                          PTC_STR_ARG((*slot)->value));
            ptc_http_finalize_status(r, 400);
            return PTC_ERROR;
        }
        if (*slot == NULL) {
            *slot = h;
        }
        break;
    }
    return PTC_OK;
}

/* Is `v` a comma-separated list containing token `tok`? */
static bool
http_has_token(const ptc_str_t *v, const char *tok)
{
    size_t tl = strlen(tok);
    const u_char *p = v->data, *end = v->data + v->len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }
        const u_char *s = p;
        while (p < end && *p != ',') {
            p++;
        }
        const u_char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        if ((size_t)(e - s) == tl && ptc_strncasecmp(s, (const u_char *)tok, tl) == 0) {
            return true;
        }
    }
    return false;
}

static int
http_bad(ptc_http_request_t *r, const char *why)
{
    ptc_log_error(PTC_LOG_INFO, r->c->log, 0, "%s", why);
    ptc_http_finalize_status(r, 400);
    return PTC_ERROR;
}

/* Framing (RFC 9112 §6.1-6.3): exactly one way to find the body's end. */
static int
http_check_framing(ptc_http_request_t *r)
{
    ptc_http_headers_in_t *in = &r->headers_in;
    if (in->content_length) {
        int64_t n = ptc_atoi(in->content_length->value.data, in->content_length->value.len);
        if (n < 0) {
            return http_bad(r, "client sent invalid \"Content-Length\" header");
        }
        in->content_length_n = n;
    }
    if (in->transfer_encoding == NULL) {
        return PTC_OK;
    }
    if (r->http_version < 1001) {
        return http_bad(r, "client sent \"Transfer-Encoding\" header in HTTP/1.0 request");
    }
    if (in->content_length) {
        return http_bad(r, "client sent \"Content-Length\" and \"Transfer-Encoding\" headers "
                           "at the same time");
    }
    ptc_str_t v = in->transfer_encoding->value;
    if (!ptc_str_caseeq_c(&v, "chunked")) {
        /* Only a lone "chunked" can be decoded here; anything else would be
         * forwarded with a framing we cannot vouch for. */
        return http_bad(r, "client sent unknown \"Transfer-Encoding\"");
    }
    in->chunked = 1;
    return PTC_OK;
}

static void
http_connection_flags(ptc_http_request_t *r)
{
    ptc_http_headers_in_t *in = &r->headers_in;
    if (in->connection) {
        in->connection_close = http_has_token(&in->connection->value, "close");
        in->connection_keep_alive = http_has_token(&in->connection->value, "keep-alive");
    }
    if (r->http_version >= 1001) {
        r->keepalive = !in->connection_close;
    } else {
        r->keepalive = in->connection_keep_alive && !in->connection_close;
    }
}

static void
http_use_server(ptc_http_request_t *r, ptc_http_core_srv_conf_t *cscf)
{
    r->srv_conf = cscf->ctx->srv_conf;
    r->loc_conf = cscf->ctx->loc_conf;
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    ptc_log_t *log = r->c->log;
    /* keep the connection-specific fields, take the server's destinations */
    log->level = clcf->error_log->level;
    log->file = clcf->error_log->file;
    log->next = clcf->error_log->next;
}

int
ptc_http_request_head_done(ptc_http_request_t *r)
{
    ptc_http_headers_in_t *in = &r->headers_in;
    ptc_http_conn_t *hc = r->http_conn;
    if (r->head_mark && r->header_in->pos >= r->head_mark) {
        r->head_length += r->header_in->pos - r->head_mark;
    }
    if (in->host && r->headers_in.server.data == NULL) {
        if (ptc_http_validate_host(r, &in->host->value) != PTC_OK) {
            return http_bad(r, "client sent invalid host header");
        }
    }
    if (in->host == NULL && r->http_version >= 1001 && r->parse.host_start == NULL) {
        return http_bad(r, "client sent HTTP/1.1 request without \"Host\" header");
    }
    if (http_check_framing(r) != PTC_OK) {
        return PTC_ERROR;
    }
    http_connection_flags(r);
    ptc_http_core_srv_conf_t *cscf = ptc_http_find_server(hc->addr_conf, &in->server, r);
    if (cscf == NULL) {
        ptc_http_finalize_status(r, 500);
        return PTC_ERROR;
    }
    http_use_server(r, cscf);
    if (hc->plain_on_ssl) {
        ptc_log_error(PTC_LOG_INFO, r->c->log, 0, "client sent plain HTTP request to HTTPS port");
        r->keepalive = 0;
        ptc_http_finalize_status(r, 497);
        return PTC_ERROR;
    }
    return PTC_OK;
}
