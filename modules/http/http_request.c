/* SPDX-License-Identifier: BSD-2-Clause */
/* Request lifecycle: read and parse the request head (with large header
 * buffers), validate it, pick the server, run the phases, and after the
 * response keep the connection alive, linger, or close it. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/ptc_alloc.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_process.h"
#include "core/ptc_proxy_protocol.h"
#include "core/ptc_ssl.h"
#include "core/ptc_time.h"
#include "modules/http/http_int.h"
#include "modules/http/http_request_int.h"

static void http_wait_request(ptc_event_t *rev);
static void http_ssl_detect(ptc_event_t *rev);
static int http_read_proxy_protocol(ptc_http_conn_t *hc);
static void http_process_request_line(ptc_event_t *rev);
static void http_process_request_headers(ptc_event_t *rev);
static void http_request_handler(ptc_event_t *ev);
static void http_keepalive_handler(ptc_event_t *rev);
static void http_lingering_handler(ptc_event_t *rev);
static void http_close_connection(ptc_conn_t *c);

static void
http_empty_handler(ptc_event_t *ev)
{
}

/* Context appended to error log lines: ", client: A, server: S, request: "R", host: "H"". */
static u_char *
http_log_context(ptc_log_t *log, u_char *buf, size_t len)
{
    ptc_http_conn_t *hc = log->data;
    u_char *p = buf, *end = buf + len;
    if (hc == NULL) {
        return buf;
    }
    p = ptc_sprintf(p, (size_t)(end - p), ", client: " PTC_STR_FMT, PTC_STR_ARG(hc->c->addr_text));
    ptc_http_request_t *r = hc->request;
    if (r == NULL) {
        return p;
    }
    if (r->srv_conf) {
        ptc_str_t sn = ptc_http_core_srv(r)->server_name;
        p = ptc_sprintf(p, (size_t)(end - p), ", server: " PTC_STR_FMT, PTC_STR_ARG(sn));
    }
    if (r->request_line.len) {
        p = ptc_sprintf(p, (size_t)(end - p), ", request: \"" PTC_STR_FMT "\"",
                        PTC_STR_ARG(r->request_line));
    }
    if (r->headers_in.host) {
        p = ptc_sprintf(p, (size_t)(end - p), ", host: \"" PTC_STR_FMT "\"",
                        PTC_STR_ARG(r->headers_in.host->value));
    }
    return p;
}

static ptc_http_addr_conf_t *
http_find_addr(ptc_conn_t *c, ptc_http_port_t *port)
{
    if (port->naddrs == 1 || ptc_conn_local_sockaddr(c) != PTC_OK) {
        return &port->addrs[0];
    }
    for (size_t i = 0; i < port->naddrs; i++) {
        ptc_http_addr_conf_t *a = &port->addrs[i];
        if (ptc_sockaddr_eq((struct sockaddr *)&a->sockaddr, a->socklen,
                            (struct sockaddr *)&c->local_sockaddr, c->local_socklen)) {
            return a;
        }
    }
    return &port->addrs[port->naddrs - 1]; /* the wildcard */
}

void
ptc_http_init_connection(ptc_conn_t *c)
{
    ptc_http_conn_t *hc = ptc_pcalloc(c->pool, sizeof(*hc));
    ptc_log_t *log = ptc_palloc(c->pool, sizeof(ptc_log_t));
    if (hc == NULL || log == NULL) {
        ptc_conn_close(c);
        return;
    }
    hc->addr_conf = http_find_addr(c, c->listening->servers);
    ptc_http_core_srv_conf_t *cscf = hc->addr_conf->default_server;
    ptc_http_core_loc_conf_t *clcf = cscf->ctx->loc_conf[ptc_http_core_module.ctx_index];
    *log = *clcf->error_log;
    log->connection = c->number;
    log->handler = http_log_context;
    log->data = hc;
    log->action = NULL;
    hc->c = c;
    c->log = log;
    c->data = hc;
    c->read->handler = http_wait_request;
    c->write->handler = http_empty_handler;
    c->read->log = log;
    c->write->log = log;
    if (clcf->tcp_nodelay && !c->is_unix) {
        /* responses leave as soon as they are written, never held for an ACK */
        int one = 1;
        if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
            ptc_log_error(PTC_LOG_ALERT, log, errno, "setsockopt(TCP_NODELAY) failed");
        }
    }
    ptc_event_add_timer(c->read, cscf->client_header_timeout);
    ptc_conn_reusable(c, true);
    if (hc->addr_conf->ssl) {
        /* client_header_timeout bounds the handshake and the first request head */
        c->read->handler = http_ssl_detect;
    }
    if (c->read->ready) {
        c->read->handler(c->read);
    }
}

int (*ptc_http_ssl_start)(ptc_conn_t *c, void **srv_conf);

void **
ptc_http_conn_find_server(ptc_conn_t *c, const ptc_str_t *name)
{
    ptc_http_conn_t *hc = c->data;
    ptc_http_core_srv_conf_t *cscf = ptc_http_find_server(hc->addr_conf, name, NULL);
    return cscf ? cscf->ctx->srv_conf : NULL;
}

/* A PROXY protocol header ahead of the TLS stream is read with MSG_PEEK
 * and then consumed exactly, so no TLS byte is taken from OpenSSL. */
static int
http_ssl_proxy_protocol(ptc_http_conn_t *hc)
{
    ptc_conn_t *c = hc->c;
    u_char buf[1024];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_PEEK);
    if (n == -1 && errno == EAGAIN) {
        c->read->ready = 0;
        return PTC_AGAIN;
    }
    if (n <= 0) {
        return PTC_ERROR;
    }
    ptc_buf_t *b = &hc->buf;
    b->start = b->pos = buf;
    b->last = b->end = buf + n;
    ptc_proxy_protocol_t pp;
    ssize_t used = ptc_proxy_protocol_parse(buf, (size_t)n, &pp);
    if (used == 0 && (size_t)n < sizeof(buf)) {
        memset(b, 0, sizeof(*b));
        c->read->ready = 0; /* the rest comes with a later edge */
        return PTC_AGAIN;
    }
    int rc = http_read_proxy_protocol(hc);
    memset(b, 0, sizeof(*b));
    if (rc != PTC_OK || recv(c->fd, buf, (size_t)used, 0) != used) {
        return PTC_ERROR;
    }
    return PTC_OK;
}

/* The first byte on a TLS address: a handshake record (0x16, or 0x80 for
 * an SSLv2-style hello OpenSSL will refuse) starts TLS; anything else is
 * plain HTTP, read as usual and answered 497 (nginx's "400 The plain HTTP
 * request was sent to HTTPS port"). */
static void
http_ssl_detect(ptc_event_t *rev)
{
    ptc_conn_t *c = rev->data;
    ptc_http_conn_t *hc = c->data;
    if (rev->timedout || c->close) {
        if (rev->timedout) {
            ptc_log_error(PTC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        }
        http_close_connection(c);
        return;
    }
    if (hc->addr_conf->proxy_protocol && !hc->pp_done) {
        int rc = http_ssl_proxy_protocol(hc);
        if (rc != PTC_OK) {
            if (rc == PTC_ERROR) {
                http_close_connection(c);
            }
            return;
        }
    }
    u_char first;
    ssize_t n = recv(c->fd, &first, 1, MSG_PEEK);
    if (n == -1 && errno == EAGAIN) {
        rev->ready = 0;
        return;
    }
    if (n <= 0) {
        http_close_connection(c);
        return;
    }
    if (first != 0x16 && first != 0x80) {
        hc->plain_on_ssl = true;
        rev->handler = http_wait_request;
        http_wait_request(rev);
        return;
    }
    /* A handshake in progress is not idle: closing it to free a slot would
     * only surface later (c->close) and drop a client that did finish. */
    ptc_conn_reusable(c, false);
    if (ptc_http_ssl_start(c, hc->addr_conf->default_server->ctx->srv_conf) != PTC_OK) {
        http_close_connection(c);
    }
}

void
ptc_http_ssl_handshaked(ptc_conn_t *c)
{
    if (c->ssl == NULL || !c->ssl->handshaked) {
        http_close_connection(c);
        return;
    }
    c->read->handler = http_wait_request;
    c->write->handler = http_empty_handler;
    ptc_conn_reusable(c, true); /* idle until the request starts */
    if (c->read->ready || c->read->eof) {
        http_wait_request(c->read);
    }
}

static int
http_alloc_header_buffer(ptc_http_conn_t *hc, size_t size)
{
    if (hc->buf_mem) {
        return PTC_OK;
    }
    hc->buf_mem = ptc_alloc(size);
    if (hc->buf_mem == NULL) {
        return PTC_ERROR;
    }
    hc->buf.start = hc->buf.pos = hc->buf.last = hc->buf_mem;
    hc->buf.end = hc->buf_mem + size;
    return PTC_OK;
}

static void
http_free_header_buffer(ptc_http_conn_t *hc)
{
    ptc_free(hc->buf_mem);
    hc->buf_mem = NULL;
    memset(&hc->buf, 0, sizeof(hc->buf));
}

static ptc_http_request_t *
http_create_request(ptc_conn_t *c, ptc_http_conn_t *hc)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    if (pool == NULL) {
        return NULL;
    }
    ptc_http_request_t *r = ptc_pcalloc(pool, sizeof(*r));
    size_t n = ptc_http_modules_n();
    if (r == NULL || (r->ctx = ptc_pcalloc(pool, n * sizeof(void *))) == NULL
        || ptc_array_init(&r->headers_in.list, pool, 16, sizeof(ptc_http_header_t))
        || ptc_array_init(&r->headers_out.list, pool, 8, sizeof(ptc_http_header_t))) {
        ptc_pool_destroy(pool);
        return NULL;
    }
    r->pool = pool;
    r->c = c;
    r->http_conn = hc;
    ptc_conf_ctx_t *ctx = hc->addr_conf->default_server->ctx;
    r->main_conf = ctx->main_conf;
    r->srv_conf = ctx->srv_conf;
    r->loc_conf = ctx->loc_conf;
    r->header_in = &hc->buf;
    r->headers_in.content_length_n = -1;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;
    r->start_msec = ptc_current_msec;
    r->start_sec = ptc_time_sec;
    r->start_msec_part = ptc_time_msec_part;
    r->sent_start = c->sent;
    r->uri_changes = 11;
    r->count = 1;
    r->read_event_handler = ptc_http_block_reading;
    r->write_event_handler = NULL;
    c->requests++;
    ptc_stat_add(requests, 1);
    ptc_stat_add(reading, 1);
    r->stat_reading = 1;
    hc->request = r;
    hc->large_used = 0;
    r->head_mark = r->header_in->pos;
    r->pipelined = hc->pipelined;
    hc->pipelined = false;
    if (ptc_http_variables_request_init(r) != PTC_OK) {
        ptc_pool_destroy(pool);
        hc->request = NULL;
        return NULL;
    }
    c->data = r;
    return r;
}

/* Read more of the request head into r->header_in. Returns bytes now
 * unparsed, PTC_AGAIN, or PTC_ERROR (connection closed by the caller). */
static ssize_t
http_read_header(ptc_http_request_t *r)
{
    ptc_buf_t *b = r->header_in;
    ptc_conn_t *c = r->c;
    if (b->last > b->pos) {
        return b->last - b->pos;
    }
    ssize_t n = c->read->ready || c->read->eof ? c->recv(c, b->last, (size_t)(b->end - b->last))
                                               : PTC_AGAIN;
    if (n == PTC_AGAIN) {
        if (!c->read->timer_set) {
            ptc_event_add_timer(c->read, ptc_http_core_srv(r)->client_header_timeout);
        }
        return PTC_AGAIN;
    }
    if (n == 0) {
        ptc_log_error(PTC_LOG_INFO, c->log, 0, "client prematurely closed connection");
        return PTC_ERROR;
    }
    if (n < 0) {
        return PTC_ERROR;
    }
    b->last += n;
    return n;
}

/* The PROXY protocol header that starts the connection: PTC_OK (read and
 * consumed), PTC_AGAIN (incomplete), PTC_ERROR (broken: logged). */
static int
http_read_proxy_protocol(ptc_http_conn_t *hc)
{
    ptc_buf_t *b = &hc->buf;
    ptc_proxy_protocol_t pp;
    ssize_t n = ptc_proxy_protocol_parse(b->pos, (size_t)(b->last - b->pos), &pp);
    if (n == 0 && b->last < b->end) {
        return PTC_AGAIN;
    }
    if (n <= 0) {
        ptc_log_error(PTC_LOG_ERR, hc->c->log, 0,
                      "broken header: \"%.*s\" while reading PROXY "
                      "protocol",
                      (int)ptc_min((size_t)(b->last - b->pos), 108), b->pos);
        return PTC_ERROR;
    }
    b->pos += n;
    hc->pp_done = true;
    if (pp.local || pp.src_len == 0) {
        return PTC_OK;
    }
    hc->pp_src = ptc_palloc(hc->c->pool, sizeof(struct sockaddr_storage));
    u_char text[64];
    if (hc->pp_src == NULL) {
        return PTC_ERROR;
    }
    memcpy(hc->pp_src, &pp.src, pp.src_len);
    hc->pp_src_len = pp.src_len;
    size_t tl =
        ptc_sockaddr_text((struct sockaddr *)&pp.src, pp.src_len, text, sizeof(text), false);
    return ptc_str_dup(hc->c->pool, &hc->pp_addr, text, tl);
}

const struct sockaddr *
ptc_http_proxy_protocol_addr(ptc_http_request_t *r, socklen_t *len)
{
    ptc_http_conn_t *hc = r->http_conn;
    *len = hc->pp_src_len;
    return (const struct sockaddr *)hc->pp_src;
}

static void
http_wait_request(ptc_event_t *rev)
{
    ptc_conn_t *c = rev->data;
    ptc_http_conn_t *hc = c->data;
    if (rev->timedout || c->close) {
        if (rev->timedout) {
            ptc_log_error(PTC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        }
        http_close_connection(c);
        return;
    }
    size_t size = hc->addr_conf->default_server->client_header_buffer_size;
    if (http_alloc_header_buffer(hc, size) != PTC_OK) {
        http_close_connection(c);
        return;
    }
    ptc_buf_t *b = &hc->buf;
    bool pp_pending = hc->addr_conf->proxy_protocol && !hc->pp_done;
    if (b->last == b->pos || pp_pending) {
        if (b->last == b->pos) {
            b->pos = b->last = b->start;
        }
        ssize_t n = c->recv(c, b->last, (size_t)(b->end - b->last));
        if (n == PTC_AGAIN) {
            if (b->pos == b->last) {
                http_free_header_buffer(hc); /* idle connections hold no buffer memory */
            }
            return;
        }
        if (n <= 0) {
            http_close_connection(c);
            return;
        }
        b->last += n;
    }
    if (hc->addr_conf->proxy_protocol && !hc->pp_done) {
        int rc = http_read_proxy_protocol(hc);
        if (rc != PTC_OK) {
            if (rc == PTC_ERROR) {
                http_close_connection(c);
            }
            return;
        }
        if (b->pos == b->last) {
            return; /* the request follows in a later read */
        }
    }
    ptc_conn_reusable(c, false);
    if (http_create_request(c, hc) == NULL) {
        http_close_connection(c);
        return;
    }
    rev->handler = http_process_request_line;
    http_process_request_line(rev);
}

/* Move the unfinished line starting at `from` into a fresh large buffer.
 * Parser pointers into that line are rebased. PTC_OK, or PTC_DECLINED when
 * the line cannot fit or no large buffer is left. */
static int
http_large_buffer(ptc_http_request_t *r, u_char *from)
{
    ptc_http_conn_t *hc = r->http_conn;
    ptc_http_core_srv_conf_t *cscf = ptc_http_core_srv(r);
    ptc_buf_t *old = r->header_in;
    size_t keep = (size_t)(old->last - from);
    if (keep >= cscf->large_header_buf_size
        || hc->large_used >= (unsigned)cscf->large_header_bufs) {
        return PTC_DECLINED;
    }
    ptc_buf_t *b = ptc_buf_create(r->pool, cscf->large_header_buf_size);
    if (b == NULL) {
        return PTC_ERROR;
    }
    hc->large_used++;
    if (r->head_mark && r->head_mark <= from && r->head_mark >= old->start) {
        r->head_length += from - r->head_mark; /* complete lines left behind */
    }
    r->head_mark = b->start;
    if (keep) {
        memcpy(b->start, from, keep);
    }
    b->last = b->start + keep;
    b->pos = b->start + (old->pos - from);
    ptrdiff_t delta = b->start - from;
    u_char **ptrs[] = {
        &r->parse.request_start, &r->parse.request_end,       &r->parse.method_end,
        &r->parse.uri_start,     &r->parse.uri_end,           &r->parse.schema_start,
        &r->parse.schema_end,    &r->parse.host_start,        &r->parse.host_end,
        &r->parse.port_start,    &r->parse.port_end,          &r->parse.path_start,
        &r->parse.args_start,    &r->parse.header_name_start, &r->parse.header_name_end,
        &r->parse.header_start,  &r->parse.header_end};
    for (size_t i = 0; i < ptc_nelems(ptrs); i++) {
        if (*ptrs[i] && *ptrs[i] >= from && *ptrs[i] <= old->last) {
            *ptrs[i] += delta;
        }
    }
    old->pos = from; /* what stays behind is complete lines only */
    old->last = from;
    r->header_in = b;
    return PTC_OK;
}

static int
http_set_request_line(ptc_http_request_t *r)
{
    ptc_http_parse_t *p = &r->parse;
    r->request_line.data = p->request_start;
    r->request_line.len = (size_t)(p->request_end - p->request_start);
    r->method = p->method;
    r->method_name.data = p->request_start;
    r->method_name.len = (size_t)(p->method_end - p->request_start);
    r->http_version = p->http_major * 1000 + ptc_min(p->http_minor, 1);
    r->http_protocol.data = p->uri_end + 1;
    r->http_protocol.len = (size_t)(p->request_end - r->http_protocol.data);
    r->unparsed_uri.data = p->uri_start;
    r->unparsed_uri.len = (size_t)(p->uri_end - p->uri_start);
    if (p->schema_start) {
        r->schema.data = p->schema_start;
        r->schema.len = (size_t)(p->schema_end - p->schema_start);
    }
    u_char *path = p->path_start ? p->path_start : (u_char *)"/";
    u_char *path_end = p->args_start ? p->args_start - 1 : p->uri_end;
    if (p->path_start == NULL) {
        path_end = path + 1;
    }
    if (p->args_start) {
        r->args.data = p->args_start;
        r->args.len = (size_t)(p->uri_end - p->args_start);
        u_char *hash = memchr(r->args.data, '#', r->args.len);
        if (hash) {
            r->args.len = (size_t)(hash - r->args.data);
        }
    }
    size_t plen = (size_t)(path_end - path);
    u_char *hash = memchr(path, '#', plen);
    if (hash) {
        plen = (size_t)(hash - path);
    }
    if (p->complex_uri || p->quoted_uri) {
        r->uri.data = ptc_pnalloc(r->pool, plen + 1);
        if (r->uri.data == NULL) {
            return PTC_ERROR;
        }
        if (ptc_http_parse_complex_uri(path, plen, ptc_http_core_srv(r)->merge_slashes, &r->uri)
            != PTC_OK) {
            ptc_log_error(PTC_LOG_INFO, r->c->log, 0, "client sent invalid request");
            return PTC_DECLINED;
        }
    } else {
        r->uri.data = path;
        r->uri.len = plen;
    }
    ptc_http_request_set_exten(r);
    if (p->host_start) {
        ptc_str_t h = {(size_t)(p->host_end - p->host_start), p->host_start};
        if (ptc_http_validate_host(r, &h) != PTC_OK) {
            return PTC_DECLINED;
        }
    }
    return PTC_OK;
}

static void
http_process_request_line(ptc_event_t *rev)
{
    ptc_conn_t *c = rev->data;
    ptc_http_request_t *r = c->data;
    if (rev->timedout) {
        ptc_log_error(PTC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        c->error = 1;
        r->headers_out.status = 408;
        ptc_http_close_request(r, true);
        return;
    }
    for (;;) {
        ssize_t n = http_read_header(r);
        if (n == PTC_AGAIN) {
            return;
        }
        if (n < 0) {
            r->headers_out.status = 400;
            ptc_http_close_request(r, true);
            return;
        }
        int rc = ptc_http_parse_request_line(&r->parse, r->header_in);
        if (rc == PTC_OK) {
            ptc_log_debug(c->log, "http request line: \"%.*s\"",
                          (int)(r->parse.request_end - r->parse.request_start),
                          r->parse.request_start);
            rc = http_set_request_line(r);
            if (rc != PTC_OK) {
                ptc_http_finalize_status(r, rc == PTC_ERROR ? 500 : 400);
                return;
            }
            r->lingering_close = 0;
            rev->handler = http_process_request_headers;
            r->parse.state = 0;
            r->header_line_start = r->header_in->pos;
            http_process_request_headers(rev);
            return;
        }
        if (rc == PTC_ERROR) {
            ptc_log_error(PTC_LOG_INFO, c->log, 0, "client sent invalid request line: %s",
                          r->parse.error ? r->parse.error : "malformed");
            r->request_line.data = r->parse.request_start;
            ptc_http_finalize_status(r,
                                     r->parse.error_status ? (unsigned)r->parse.error_status : 400);
            return;
        }
        /* PTC_AGAIN: the parser consumed everything */
        if (r->header_in->last == r->header_in->end) {
            u_char *from = r->parse.request_start ? r->parse.request_start : r->header_in->last;
            rc = http_large_buffer(r, from);
            if (rc == PTC_DECLINED) {
                ptc_log_error(PTC_LOG_INFO, c->log, 0, "client sent too long URI");
                ptc_http_finalize_status(r, 414);
                return;
            }
            if (rc == PTC_ERROR) {
                ptc_http_finalize_status(r, 500);
                return;
            }
        }
    }
}

static void
http_process_request_headers(ptc_event_t *rev)
{
    ptc_conn_t *c = rev->data;
    ptc_http_request_t *r = c->data;
    ptc_http_core_srv_conf_t *cscf = ptc_http_core_srv(r);
    if (rev->timedout) {
        ptc_log_error(PTC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        c->error = 1;
        r->headers_out.status = 408;
        ptc_http_close_request(r, true);
        return;
    }
    for (;;) {
        int rc = ptc_http_parse_header_line(&r->parse, r->header_in, cscf->underscores_in_headers);
        if (rc == PTC_OK) {
            ptc_log_debug(c->log, "http header: \"%.*s: %.*s\"",
                          (int)(r->parse.header_name_end - r->parse.header_name_start),
                          r->parse.header_name_start,
                          (int)(r->parse.header_end - r->parse.header_start),
                          r->parse.header_start);
            if (ptc_http_request_header(r, cscf) != PTC_OK) {
                return; /* finalized */
            }
            r->header_line_start = r->header_in->pos;
            continue;
        }
        if (rc == PTC_DONE) {
            ptc_log_debug(c->log, "http header done");
            if (ptc_http_request_head_done(r) == PTC_OK) {
                if (rev->timer_set) {
                    ptc_event_del_timer(rev);
                }
                rev->handler = http_request_handler;
                c->write->handler = http_request_handler;
                ptc_stat_add(reading, -1);
                ptc_stat_add(writing, 1);
                r->stat_reading = 0;
                r->stat_writing = 1;
                r->read_event_handler = ptc_http_block_reading;
                r->phase_handler = 0;
                ptc_http_run_phases(r);
            }
            return;
        }
        if (rc == PTC_ERROR) {
            ptc_log_error(PTC_LOG_INFO, c->log, 0, "client sent invalid header line: %s",
                          r->parse.error ? r->parse.error : "malformed");
            ptc_http_finalize_status(r, 400);
            return;
        }
        if (r->header_in->last == r->header_in->end) {
            rc = http_large_buffer(r, r->header_line_start);
            if (rc == PTC_DECLINED) {
                ptc_log_error(PTC_LOG_INFO, c->log, 0, "client sent too long header line");
                ptc_http_finalize_status(r, 494);
                return;
            }
            if (rc == PTC_ERROR) {
                ptc_http_finalize_status(r, 500);
                return;
            }
            r->header_line_start = r->header_in->start;
        }
        ssize_t n = http_read_header(r);
        if (n == PTC_AGAIN) {
            return;
        }
        if (n < 0) {
            r->headers_out.status = 400;
            ptc_http_close_request(r, true);
            return;
        }
    }
}

/* Event dispatch once the request is being processed. */
static void
http_request_handler(ptc_event_t *ev)
{
    ptc_conn_t *c = ev->data;
    ptc_http_request_t *r = c->data;
    if (ev->write) {
        if (r->write_event_handler) {
            r->write_event_handler(r);
        }
    } else if (r->read_event_handler) {
        r->read_event_handler(r);
    }
}

void
ptc_http_block_reading(ptc_http_request_t *r)
{
    /* Edge-triggered: nothing to disarm. A client that closes while we
     * work is noticed at the next write. */
}

/* ---- end of request ---- */

static void
http_run_log_phase(ptc_http_request_t *r)
{
    if (r->logged) {
        return;
    }
    r->logged = 1;
    ptc_http_core_main_conf_t *cmcf = ptc_http_get_main_conf(r, ptc_http_core_module);
    ptc_http_phase_fn *fns = cmcf->phases[PTC_HTTP_LOG_PHASE].elts;
    for (size_t i = 0; i < cmcf->phases[PTC_HTTP_LOG_PHASE].nelts; i++) {
        fns[i](r);
    }
}

/* Log the request and destroy it (the connection stays). */
static void
http_free_request(ptc_http_request_t *r)
{
    ptc_http_conn_t *hc = r->http_conn;
    http_run_log_phase(r);
    hc->request = NULL;
    ptc_stat_add(reading, -(int64_t)r->stat_reading);
    ptc_stat_add(writing, -(int64_t)r->stat_writing);
    ptc_pool_destroy(r->pool);
}

void
ptc_http_close_request(ptc_http_request_t *r, bool error)
{
    ptc_conn_t *c = r->c;
    ptc_http_conn_t *hc = r->http_conn;
    if (error && r->headers_out.status == 0) {
        r->headers_out.status = 400;
    }
    http_free_request(r);
    c->data = hc;
    http_close_connection(c);
}

static void
http_close_connection(ptc_conn_t *c)
{
    ptc_http_conn_t *hc = c->data;
    ptc_log_debug(c->log, "close http connection: %d", c->fd);
    if (hc && hc->request) {
        http_free_request(hc->request);
    }
    if (hc) {
        http_free_header_buffer(hc);
    }
    ptc_conn_close(c);
}

/* Carry bytes already received after this request (pipelining) into the
 * connection buffer; returns the bytes carried. */
static size_t
http_carry_pipelined(ptc_http_request_t *r, ptc_http_conn_t *hc)
{
    ptc_buf_t *b = r->header_in;
    size_t rest = (size_t)(b->last - b->pos);
    if (rest == 0) {
        return 0;
    }
    if (b == &hc->buf) {
        memmove(hc->buf.start, b->pos, rest);
        hc->buf.pos = hc->buf.start;
        hc->buf.last = hc->buf.start + rest;
        return rest;
    }
    size_t size = ptc_max(rest, hc->addr_conf->default_server->client_header_buffer_size);
    http_free_header_buffer(hc);
    if (http_alloc_header_buffer(hc, size) != PTC_OK) {
        return 0;
    }
    memcpy(hc->buf.start, b->pos, rest);
    hc->buf.last = hc->buf.start + rest;
    return rest;
}

static void
http_set_keepalive(ptc_http_request_t *r)
{
    ptc_conn_t *c = r->c;
    ptc_http_conn_t *hc = r->http_conn;
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    ptc_msec_t timeout = clcf->keepalive_timeout;
    size_t pipelined = http_carry_pipelined(r, hc);
    hc->pipelined = pipelined > 0;
    ptc_log_debug(c->log, "set http keepalive handler%s", pipelined ? " (pipelined)" : "");
    if (!pipelined && hc->buf.start && r->header_in == &hc->buf) {
        hc->buf.pos = hc->buf.last = hc->buf.start;
    }
    http_free_request(r);
    c->data = hc;
    c->read->handler = http_keepalive_handler;
    c->write->handler = http_empty_handler;
    if (pipelined) {
        ptc_event_add_timer(c->read, timeout);
        ptc_event_post(c->read);
        return;
    }
    http_free_header_buffer(hc);
    /* Not cancelable: a worker shutting down waits for its kept-alive
     * connections to time out or to bring one more request (answered with
     * "Connection: close"), so clients never see a reset. */
    ptc_event_add_timer(c->read, timeout);
    ptc_conn_reusable(c, true);
    if (c->read->ready || c->read->eof) {
        http_keepalive_handler(c->read);
    }
}

static void
http_keepalive_handler(ptc_event_t *rev)
{
    ptc_conn_t *c = rev->data;
    if (rev->timedout || c->close) {
        http_close_connection(c);
        return;
    }
    http_wait_request(rev);
}

static void
http_lingering_close(ptc_http_request_t *r)
{
    ptc_conn_t *c = r->c;
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    ptc_msec_t timeout = clcf->lingering_timeout;
    ptc_http_conn_t *hc = r->http_conn;
    hc->lingering_timeout = timeout;
    http_free_request(r);
    c->data = hc;
    ptc_ssl_shutdown(c); /* TLS: the close_notify goes before the FIN */
    if (shutdown(c->fd, SHUT_WR) == -1) {
        http_close_connection(c);
        return;
    }
    c->read->handler = http_lingering_handler;
    c->write->handler = http_empty_handler;
    hc->lingering_until = ptc_current_msec + clcf->lingering_time;
    ptc_event_add_timer(c->read, timeout);
    http_lingering_handler(c->read);
}

static void
http_lingering_handler(ptc_event_t *rev)
{
    ptc_conn_t *c = rev->data;
    ptc_http_conn_t *hc = c->data;
    u_char buf[4096];
    if (rev->timedout || c->close || ptc_current_msec >= hc->lingering_until) {
        http_close_connection(c);
        return;
    }
    for (;;) {
        ssize_t n = c->recv(c, buf, sizeof(buf));
        if (n == PTC_AGAIN) {
            ptc_msec_t left = hc->lingering_until - ptc_current_msec;
            ptc_event_add_timer(rev, ptc_min(left, hc->lingering_timeout));
            return;
        }
        if (n <= 0) {
            http_close_connection(c);
            return;
        }
    }
}

void
ptc_http_request_done(ptc_http_request_t *r)
{
    ptc_conn_t *c = r->c;
    if (c->error || c->write->error) {
        ptc_http_close_request(r, false);
        return;
    }
    if (!ptc_http_body_finished(r)) {
        /* the client is still sending a body we did not read */
        r->keepalive = 0;
        r->lingering_close = 1;
    }
    if (r->keepalive) {
        http_set_keepalive(r);
        return;
    }
    int linger = ptc_http_core_loc(r)->lingering_close;
    if ((r->lingering_close && linger) || linger == 2) {
        http_lingering_close(r);
        return;
    }
    ptc_http_close_request(r, false);
}
