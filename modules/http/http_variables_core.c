/* SPDX-License-Identifier: BSD-2-Clause */
/* The engine's built-in variables ($host, $uri, $remote_addr, $status,
 * $http_NAME, ...). Each getter fills a value from request state; values
 * that change while a request runs are marked non-cacheable. */
#include <netinet/in.h>
#include <stdio.h>
#include <unistd.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_process.h"
#include "core/ptc_time.h"
#include "modules/http/http_int.h"

int ptc_http_variables_core(ptc_conf_t *cf);

#define VAR_SET(v, s)                                                                              \
    do {                                                                                           \
        (v)->value = (s);                                                                          \
        (v)->valid = 1;                                                                            \
    } while (0)

static int
var_fmt(ptc_http_request_t *r, ptc_http_variable_value_t *v, const char *fmt, long long n)
{
    u_char *p = ptc_pnalloc(r->pool, 24);
    if (p == NULL) {
        return PTC_ERROR;
    }
    v->value.data = p;
    v->value.len = (size_t)snprintf((char *)p, 24, fmt, n);
    v->valid = 1;
    return PTC_OK;
}

static int
var_str_field(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    ptc_str_t *s = (ptc_str_t *)((char *)r + data);
    if (s->data == NULL) {
        v->not_found = 1;
        return PTC_OK;
    }
    VAR_SET(v, *s);
    return PTC_OK;
}

static int
var_header_field(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    ptc_http_header_t *h = *(ptc_http_header_t **)((char *)&r->headers_in + data);
    if (h == NULL) {
        v->not_found = 1;
        return PTC_OK;
    }
    VAR_SET(v, h->value);
    return PTC_OK;
}

/* $http_NAME: underscores in NAME stand for dashes; several headers with
 * the same name are joined (", " or "; " for cookies). */
static int
var_http_prefix(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    const ptc_str_t *full = (const ptc_str_t *)data;
    size_t skip = full->data[0] == 'h' || full->data[0] == 'H' ? 5 : 0; /* "http_" */
    ptc_str_t name = {full->len - skip, full->data + skip};
    ptc_http_header_t *hs = r->headers_in.list.elts;
    size_t len = 0, count = 0;
    ptc_http_header_t *one = NULL;
    for (size_t i = 0; i < r->headers_in.list.nelts; i++) {
        if (hs[i].hash && ptc_http_header_name_is(&hs[i].name, &name)) {
            len += hs[i].value.len + 2;
            count++;
            one = &hs[i];
        }
    }
    if (count == 0) {
        v->not_found = 1;
        return PTC_OK;
    }
    if (count == 1) {
        VAR_SET(v, one->value);
        return PTC_OK;
    }
    u_char *p = ptc_pnalloc(r->pool, len);
    if (p == NULL) {
        return PTC_ERROR;
    }
    v->value.data = p;
    bool cookie = ptc_str_caseeq_c(&name, "cookie");
    for (size_t i = 0, n = 0; i < r->headers_in.list.nelts; i++) {
        if (hs[i].hash == 0 || &hs[i] > one || !ptc_http_header_name_is(&hs[i].name, &name)) {
            continue;
        }
        if (n++) {
            *p++ = cookie ? ';' : ',';
            *p++ = ' ';
        }
        p = ptc_cpymem(p, hs[i].value.data, hs[i].value.len);
    }
    v->value.len = (size_t)(p - v->value.data);
    v->valid = 1;
    return PTC_OK;
}

/* Find "name=value" in a list separated by `sep` (';' cookies, '&' args). */
static bool
var_find_pair(const ptc_str_t *list, const ptc_str_t *name, u_char sep, ptc_str_t *out)
{
    const u_char *p = list->data, *end = list->data + list->len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == sep)) {
            p++;
        }
        const u_char *e = memchr(p, sep, (size_t)(end - p));
        if (e == NULL) {
            e = end;
        }
        if ((size_t)(e - p) > name->len && p[name->len] == '='
            && ptc_strncasecmp(p, name->data, name->len) == 0) {
            out->data = (u_char *)p + name->len + 1;
            out->len = (size_t)(e - p) - name->len - 1;
            return true;
        }
        if ((size_t)(e - p) == name->len && sep == '&'
            && ptc_strncasecmp(p, name->data, name->len) == 0) {
            out->data = (u_char *)e;
            out->len = 0;
            return true;
        }
        p = e + 1;
    }
    return false;
}

static int
var_cookie_prefix(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    const ptc_str_t *full = (const ptc_str_t *)data;
    ptc_str_t name = {full->len - 7, full->data + 7}; /* "cookie_" */
    ptc_http_header_t *hs = r->headers_in.list.elts;
    for (size_t i = 0; i < r->headers_in.list.nelts; i++) {
        if (hs[i].hash && ptc_str_caseeq_c(&hs[i].name, "cookie")
            && var_find_pair(&hs[i].value, &name, ';', &v->value)) {
            v->valid = 1;
            return PTC_OK;
        }
    }
    v->not_found = 1;
    return PTC_OK;
}

static int
var_arg_prefix(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    const ptc_str_t *full = (const ptc_str_t *)data;
    ptc_str_t name = {full->len - 4, full->data + 4}; /* "arg_" */
    if (r->args.len && var_find_pair(&r->args, &name, '&', &v->value)) {
        v->valid = 1;
        return PTC_OK;
    }
    v->not_found = 1;
    return PTC_OK;
}

static int
var_sent_http_prefix(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    const ptc_str_t *full = (const ptc_str_t *)data;
    ptc_str_t name = {full->len - 10, full->data + 10}; /* "sent_http_" */
    ptc_http_headers_out_t *ho = &r->headers_out;
    if (ptc_str_caseeq_c(&name, "content_type") && ho->content_type.len) {
        VAR_SET(v, ho->content_type);
        return PTC_OK;
    }
    if (ptc_str_caseeq_c(&name, "location") && ho->location.len) {
        VAR_SET(v, ho->location);
        return PTC_OK;
    }
    if (ptc_str_caseeq_c(&name, "content_length") && ho->content_length_n >= 0) {
        return var_fmt(r, v, "%lld", (long long)ho->content_length_n);
    }
    ptc_http_header_t *hs = ho->list.elts;
    for (size_t i = 0; i < ho->list.nelts; i++) {
        if (hs[i].hash && ptc_http_header_name_is(&hs[i].name, &name)) {
            VAR_SET(v, hs[i].value);
            return PTC_OK;
        }
    }
    v->not_found = 1;
    return PTC_OK;
}

static int
var_host(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    if (r->headers_in.server.len) {
        VAR_SET(v, r->headers_in.server);
        return PTC_OK;
    }
    if (r->srv_conf) {
        VAR_SET(v, ptc_http_core_srv(r)->server_name);
        return PTC_OK;
    }
    v->value.len = 0;
    v->valid = 1;
    return PTC_OK;
}

static int
var_server_name(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    VAR_SET(v, ptc_http_core_srv(r)->server_name);
    return PTC_OK;
}

static int
var_addr(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t local)
{
    ptc_conn_t *c = r->c;
    if (!local) {
        VAR_SET(v, c->addr_text);
        return PTC_OK;
    }
    if (ptc_conn_local_sockaddr(c) != PTC_OK) {
        return PTC_ERROR;
    }
    u_char *p = ptc_pnalloc(r->pool, 64);
    if (p == NULL) {
        return PTC_ERROR;
    }
    v->value.data = p;
    v->value.len =
        ptc_sockaddr_text((struct sockaddr *)&c->local_sockaddr, c->local_socklen, p, 64, false);
    v->valid = 1;
    return PTC_OK;
}

static int
var_binary_remote_addr(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    struct sockaddr_storage *sa = &r->c->sockaddr;
    if (sa->ss_family == AF_INET) {
        v->value.data = (u_char *)&((struct sockaddr_in *)sa)->sin_addr;
        v->value.len = 4;
    } else if (sa->ss_family == AF_INET6) {
        v->value.data = (u_char *)&((struct sockaddr_in6 *)sa)->sin6_addr;
        v->value.len = 16;
    } else {
        v->value.len = 0;
    }
    v->valid = 1;
    return PTC_OK;
}

static int
var_port(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t local)
{
    ptc_conn_t *c = r->c;
    if (local && ptc_conn_local_sockaddr(c) != PTC_OK) {
        return PTC_ERROR;
    }
    const struct sockaddr *sa =
        (const struct sockaddr *)(local ? &c->local_sockaddr : &c->sockaddr);
    if (sa->sa_family == AF_UNIX) {
        v->value.len = 0;
        v->valid = 1;
        return PTC_OK;
    }
    return var_fmt(r, v, "%lld", ptc_sockaddr_port(sa));
}

static int
var_request_line(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    VAR_SET(v, r->request_line);
    return PTC_OK;
}

static int
var_is_args(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    ptc_str_t q = ptc_string("?"), e = ptc_string("");
    VAR_SET(v, r->args.len
                       || (r->args.data && r->unparsed_uri.len && !r->unparsed_uri_changed
                           && memchr(r->unparsed_uri.data, '?', r->unparsed_uri.len))
                   ? q
                   : e);
    return PTC_OK;
}

static int
var_scheme(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t https)
{
    bool tls = r->c->ssl != NULL;
    ptc_str_t s = tls ? (ptc_str_t)ptc_string("https") : (ptc_str_t)ptc_string("http");
    ptc_str_t e = tls ? (ptc_str_t)ptc_string("on") : (ptc_str_t)ptc_string("");
    VAR_SET(v, https ? e : s);
    return PTC_OK;
}

static int
var_status(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    unsigned st = r->headers_out.status;
    if (st == 494) {
        st = 400;
    }
    return var_fmt(r, v, "%03lld", (long long)st);
}

static int
var_bytes_sent(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t body)
{
    off_t sent = r->c->sent - r->sent_start;
    if (body) {
        sent -= r->header_size;
        if (sent < 0) {
            sent = 0;
        }
    }
    return var_fmt(r, v, "%lld", (long long)sent);
}

/* $request_length: the head as received plus the body bytes read (after
 * chunked decoding, where nginx counts the chunk framing too); a body that
 * was discarded does not count, as in nginx. */
static int
var_request_length(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    off_t body = r->request_body && !r->discard_body ? r->request_body->received : 0;
    off_t n = r->head_length + body;
    return var_fmt(r, v, "%lld", (long long)n);
}

static int
var_pipe(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    ptc_str_t p = ptc_string("p"), n = ptc_string(".");
    VAR_SET(v, r->pipelined ? p : n);
    return PTC_OK;
}

static int
var_request_time(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    ptc_time_update();
    ptc_msec_t ms = ptc_current_msec - r->start_msec;
    u_char *p = ptc_pnalloc(r->pool, 32);
    if (p == NULL) {
        return PTC_ERROR;
    }
    v->value.data = p;
    v->value.len = (size_t)snprintf((char *)p, 32, "%llu.%03llu", (unsigned long long)(ms / 1000),
                                    (unsigned long long)(ms % 1000));
    v->valid = 1;
    return PTC_OK;
}

static int
var_msec(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    ptc_time_update();
    u_char *p = ptc_pnalloc(r->pool, 32);
    if (p == NULL) {
        return PTC_ERROR;
    }
    v->value.data = p;
    v->value.len =
        (size_t)snprintf((char *)p, 32, "%lld.%03u", (long long)ptc_time_sec, ptc_time_msec_part);
    v->valid = 1;
    return PTC_OK;
}

static int
var_time_cached(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t which)
{
    ptc_str_t *src = which ? &ptc_cached_http_log_iso8601 : &ptc_cached_http_log_time;
    return ptc_str_dup(r->pool, &v->value, src->data, src->len) == PTC_OK ? (v->valid = 1, PTC_OK)
                                                                          : PTC_ERROR;
}

static int
var_number(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t which)
{
    switch (which) {
    case 0:
        return var_fmt(r, v, "%lld", (long long)r->c->number);
    case 1:
        return var_fmt(r, v, "%lld", (long long)r->c->requests);
    case 2:
        return var_fmt(r, v, "%lld", (long long)getpid());
    default:
        if (r->headers_in.content_length_n < 0) {
            v->not_found = 1;
            return PTC_OK;
        }
        return var_fmt(r, v, "%lld", (long long)r->headers_in.content_length_n);
    }
}

static int
var_connection_time(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    ptc_msec_t ms = ptc_current_msec - r->c->start_msec;
    u_char *p = ptc_pnalloc(r->pool, 32);
    if (p == NULL) {
        return PTC_ERROR;
    }
    v->value.data = p;
    v->value.len = (size_t)snprintf((char *)p, 32, "%llu.%03llu", (unsigned long long)(ms / 1000),
                                    (unsigned long long)(ms % 1000));
    v->valid = 1;
    return PTC_OK;
}

/* $request_body: the body when it was read into memory (by the proxy or
 * the request filter); none when it was not read, was streamed, or went to
 * a temp file, as in nginx. */
static int
var_request_body(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    ptc_http_request_body_t *rb = r->request_body;
    size_t len = 0;
    v->not_found = 1;
    if (rb == NULL || rb->bufs == NULL || rb->temp_fd != -1) {
        return PTC_OK;
    }
    for (ptc_chain_t *cl = rb->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            return PTC_OK;
        }
        len += (size_t)(cl->buf->last - cl->buf->pos);
    }
    v->not_found = 0;
    v->valid = 1;
    if (rb->bufs->next == NULL) {
        v->value.data = rb->bufs->buf->pos;
        v->value.len = len;
        return PTC_OK;
    }
    u_char *p = ptc_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return PTC_ERROR;
    }
    v->value.data = p;
    v->value.len = len;
    for (ptc_chain_t *cl = rb->bufs; cl; cl = cl->next) {
        p = ptc_cpymem(p, cl->buf->pos, (size_t)(cl->buf->last - cl->buf->pos));
    }
    return PTC_OK;
}

static int
var_limit_rate(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    return var_fmt(r, v, "%lld", (long long)r->limit_rate);
}

static int
var_remote_user(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    ptc_http_header_t *h = r->headers_in.authorization;
    v->not_found = 1;
    if (h == NULL || h->value.len < 7 || ptc_strncasecmp(h->value.data, (u_char *)"Basic ", 6)) {
        return PTC_OK;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const u_char *s = h->value.data + 6, *end = h->value.data + h->value.len;
    u_char *out = ptc_pnalloc(r->pool, (size_t)(end - s));
    if (out == NULL) {
        return PTC_ERROR;
    }
    size_t n = 0;
    unsigned acc = 0, bits = 0;
    for (; s < end && *s != '='; s++) {
        const char *q = memchr(b64, *s, 64);
        if (q == NULL) {
            return PTC_OK;
        }
        acc = (acc << 6) | (unsigned)(q - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (u_char)(acc >> bits);
        }
    }
    u_char *colon = memchr(out, ':', n);
    if (colon == NULL) {
        return PTC_OK;
    }
    v->value.data = out;
    v->value.len = (size_t)(colon - out);
    v->not_found = 0;
    v->valid = 1;
    return PTC_OK;
}

static int
var_document_root(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t filename)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    if (!filename) {
        if (clcf->root_cv) {
            return ptc_http_complex_value(r, clcf->root_cv, &v->value) == PTC_OK
                       ? (v->valid = 1, PTC_OK)
                       : PTC_ERROR;
        }
        VAR_SET(v, clcf->root);
        return PTC_OK;
    }
    if (ptc_http_map_uri_to_path(r, &v->value, 0) != PTC_OK) {
        return PTC_ERROR;
    }
    v->valid = 1;
    return PTC_OK;
}

static int
var_hostname(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    static u_char host[256];
    static size_t len;
    if (len == 0 && gethostname((char *)host, sizeof(host) - 1) == 0) {
        len = strlen((char *)host);
    }
    v->value.data = host;
    v->value.len = len;
    v->valid = 1;
    return PTC_OK;
}

static int
var_proxy_protocol(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t port)
{
    ptc_http_conn_t *hc = r->http_conn;
    if (hc->pp_src == NULL) {
        v->not_found = 1;
        return PTC_OK;
    }
    if (!port) {
        VAR_SET(v, hc->pp_addr);
        return PTC_OK;
    }
    return var_fmt(r, v, "%lld", ptc_sockaddr_port((struct sockaddr *)hc->pp_src));
}

static int
var_request_id(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    /* 16 random bytes as hex, from the kernel's non-blocking source */
    u_char raw[16];
    if (getentropy(raw, sizeof(raw)) != 0) {
        return PTC_ERROR;
    }
    u_char *p = ptc_pnalloc(r->pool, 33);
    if (p == NULL) {
        return PTC_ERROR;
    }
    for (int i = 0; i < 16; i++) {
        snprintf((char *)p + 2 * i, 3, "%02x", raw[i]);
    }
    v->value.data = p;
    v->value.len = 32;
    v->valid = 1;
    return PTC_OK;
}

#define R_OFF(f) offsetof(ptc_http_request_t, f)
#define H_OFF(f) offsetof(ptc_http_headers_in_t, f)
#define NC       PTC_HTTP_VAR_NOCACHEABLE

static const ptc_http_variable_def_t core_vars[] = {
    {"host", var_host, 0, 0},
    {"server_name", var_server_name, 0, 0},
    {"remote_addr", var_addr, 0, 0},
    {"binary_remote_addr", var_binary_remote_addr, 0, 0},
    {"remote_port", var_port, 0, 0},
    {"server_addr", var_addr, 1, 0},
    {"server_port", var_port, 1, 0},
    {"remote_user", var_remote_user, 0, 0},
    {"request", var_request_line, 0, 0},
    {"request_method", var_str_field, R_OFF(method_name), 0},
    {"request_uri", var_str_field, R_OFF(unparsed_uri), 0},
    {"uri", var_str_field, R_OFF(uri), NC},
    {"document_uri", var_str_field, R_OFF(uri), NC},
    {"args", var_str_field, R_OFF(args), NC | PTC_HTTP_VAR_CHANGEABLE},
    {"query_string", var_str_field, R_OFF(args), NC},
    {"is_args", var_is_args, 0, NC},
    {"server_protocol", var_str_field, R_OFF(http_protocol), 0},
    {"scheme", var_scheme, 0, 0},
    {"https", var_scheme, 1, 0},
    {"status", var_status, 0, NC},
    {"body_bytes_sent", var_bytes_sent, 1, NC},
    {"bytes_sent", var_bytes_sent, 0, NC},
    {"request_time", var_request_time, 0, NC},
    {"request_length", var_request_length, 0, NC},
    {"pipe", var_pipe, 0, 0},
    {"msec", var_msec, 0, NC},
    {"time_local", var_time_cached, 0, NC},
    {"time_iso8601", var_time_cached, 1, NC},
    {"connection", var_number, 0, 0},
    {"connection_requests", var_number, 1, 0},
    {"connection_time", var_connection_time, 0, NC},
    {"pid", var_number, 2, 0},
    {"limit_rate", var_limit_rate, 0, NC | PTC_HTTP_VAR_CHANGEABLE},
    {"content_length", var_number, 3, 0},
    {"request_body", var_request_body, 0, NC},
    {"content_type", var_header_field, H_OFF(content_type), 0},
    {"document_root", var_document_root, 0, NC},
    {"realpath_root", var_document_root, 0, NC},
    {"request_filename", var_document_root, 1, NC},
    {"hostname", var_hostname, 0, 0},
    {"request_id", var_request_id, 0, 0},
    {"proxy_protocol_addr", var_proxy_protocol, 0, 0},
    {"proxy_protocol_port", var_proxy_protocol, 1, 0},
    {"http_", var_http_prefix, 0, PTC_HTTP_VAR_PREFIX},
    {"cookie_", var_cookie_prefix, 0, PTC_HTTP_VAR_PREFIX},
    {"arg_", var_arg_prefix, 0, PTC_HTTP_VAR_PREFIX | NC},
    {"sent_http_", var_sent_http_prefix, 0, PTC_HTTP_VAR_PREFIX | NC},
    {NULL, NULL, 0, 0},
};

/* `set $args ...`: the new query string is what $args, $arg_NAME and
 * proxying see from now on; $request_uri keeps the client's. */
static void
var_set_args(ptc_http_request_t *r, const ptc_str_t *value, uintptr_t data)
{
    r->args = *value;
    r->unparsed_uri_changed = 1;
}

/* `set $limit_rate 100k`: the rate of this response from now on, which the
 * location's limit_rate no longer overrides. */
static void
var_set_limit_rate(ptc_http_request_t *r, const ptc_str_t *value, uintptr_t data)
{
    int64_t n = ptc_parse_size(value);
    if (n < 0) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "invalid $limit_rate \"" PTC_STR_FMT "\"",
                      PTC_STR_ARG(*value));
        return;
    }
    r->limit_rate = (size_t)n;
    r->limit_rate_set = 1;
}

int
ptc_http_variables_core(ptc_conf_t *cf)
{
    if (ptc_http_add_variables(cf, core_vars) != PTC_OK
        || ptc_http_variable_set_handler(cf, "limit_rate", var_set_limit_rate) != PTC_OK) {
        return PTC_ERROR;
    }
    return ptc_http_variable_set_handler(cf, "args", var_set_args);
}
