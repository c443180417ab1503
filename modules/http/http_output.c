/* SPDX-License-Identifier: BSD-2-Clause */
/* Response output: the final header filter (serialises the status line and
 * headers), the chunked body filter, and the write filter that queues the
 * chain and sends it (writev/sendfile), plus finalization and the phase
 * runner. The header is held back until the first body bytes or the end of
 * the response so both usually leave in one writev. */
#include <errno.h>
#include <stdio.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_process.h"
#include "core/ptc_time.h"
#include "modules/http/http_request_int.h"
#include "modules/http/http_util.h"

ptc_http_header_filter_fn ptc_http_top_header_filter;
ptc_http_body_filter_fn ptc_http_top_body_filter;

/* Chain links of a request are recycled once their buffer went out, so a
 * long streamed response does not grow the request pool link by link. */
static ptc_chain_t *
out_link(ptc_http_request_t *r)
{
    ptc_chain_t *cl = r->free_links;
    if (cl) {
        r->free_links = cl->next;
        cl->next = NULL;
        return cl;
    }
    return ptc_chain_alloc(r->pool);
}

static void
out_free_links(ptc_http_request_t *r, ptc_chain_t *from, ptc_chain_t *upto)
{
    while (from && from != upto) {
        ptc_chain_t *next = from->next;
        from->buf = NULL;
        from->next = r->free_links;
        r->free_links = from;
        from = next;
    }
}

#define OUT_POSTPONE 1460 /* hold small output until this much or the end */

static void http_writer_event(ptc_http_request_t *r);

ptc_http_header_t *
ptc_http_add_header_out(ptc_http_request_t *r, const ptc_str_t *name, const ptc_str_t *value)
{
    ptc_http_header_t *h = ptc_array_push(&r->headers_out.list);
    if (h) {
        h->name = *name;
        h->value = *value;
        h->hash = 1;
    }
    return h;
}

ptc_http_header_t *
ptc_http_find_header_in(ptc_http_request_t *r, const u_char *name, size_t len)
{
    ptc_http_header_t *h = r->headers_in.list.elts;
    for (size_t i = 0; i < r->headers_in.list.nelts; i++) {
        if (h[i].hash && h[i].name.len == len && ptc_strncasecmp(h[i].name.data, name, len) == 0) {
            return &h[i];
        }
    }
    return NULL;
}

/* ---- header serialisation ---- */

static size_t
out_header_len(ptc_http_request_t *r, const ptc_str_t *status_line)
{
    ptc_http_headers_out_t *o = &r->headers_out;
    size_t len = status_line->len + 64 /* Server */ + 40 /* Date */ + 32 /* Connection */
                 + o->server.len + o->date.len + 40 /* Transfer-Encoding */ + 2;
    len += o->content_type.len + o->charset.len + 40;
    len += 40 /* Content-Length */ + 50 /* Last-Modified */ + o->etag.len + 10;
    len += o->location.len + 16 + o->content_range.len + 20 + 24 /* Accept-Ranges */;
    ptc_http_header_t *h = o->list.elts;
    for (size_t i = 0; i < o->list.nelts; i++) {
        len += h[i].name.len + h[i].value.len + 4;
    }
    return len;
}

static u_char *
out_header_fields(ptc_http_request_t *r, u_char *p)
{
    ptc_http_headers_out_t *o = &r->headers_out;
    if (o->content_type.len) {
        p = ptc_cpymem(p, "Content-Type: ", 14);
        p = ptc_cpymem(p, o->content_type.data, o->content_type.len);
        if (o->charset.len) {
            p = ptc_cpymem(p, "; charset=", 10);
            p = ptc_cpymem(p, o->charset.data, o->charset.len);
        }
        p = ptc_cpymem(p, "\r\n", 2);
    }
    if (o->content_length_n >= 0) {
        p = ptc_cpymem(p, "Content-Length: ", 16);
        p = ptc_write_u64(p, (uint64_t)o->content_length_n);
        p = ptc_cpymem(p, "\r\n", 2);
    } else if (r->chunked_out) {
        p = ptc_cpymem(p, "Transfer-Encoding: chunked\r\n", 28);
    }
    if (o->last_modified_time >= 0) {
        p = ptc_cpymem(p, "Last-Modified: ", 15);
        p = ptc_http_format_time(p, o->last_modified_time);
        p = ptc_cpymem(p, "\r\n", 2);
    }
    if (o->status != 101) { /* a 101 carries the upgrade's own Connection header */
        p = r->keepalive ? ptc_cpymem(p, "Connection: keep-alive\r\n", 24)
                         : ptc_cpymem(p, "Connection: close\r\n", 19);
    }
    if (o->location.len) {
        p = ptc_cpymem(p, "Location: ", 10);
        p = ptc_cpymem(p, o->location.data, o->location.len);
        p = ptc_cpymem(p, "\r\n", 2);
    }
    if (o->etag.len) {
        p = ptc_cpymem(p, "ETag: ", 6);
        p = ptc_cpymem(p, o->etag.data, o->etag.len);
        p = ptc_cpymem(p, "\r\n", 2);
    }
    if (o->content_range.len) {
        p = ptc_cpymem(p, "Content-Range: ", 15);
        p = ptc_cpymem(p, o->content_range.data, o->content_range.len);
        p = ptc_cpymem(p, "\r\n", 2);
    }
    if (o->accept_ranges) {
        p = ptc_cpymem(p, "Accept-Ranges: bytes\r\n", 22);
    }
    ptc_http_header_t *h = o->list.elts;
    for (size_t i = 0; i < o->list.nelts; i++) {
        if (h[i].hash == 0) {
            continue;
        }
        p = ptc_cpymem(p, h[i].name.data, h[i].name.len);
        p = ptc_cpymem(p, ": ", 2);
        p = ptc_cpymem(p, h[i].value.data, h[i].value.len);
        p = ptc_cpymem(p, "\r\n", 2);
    }
    return ptc_cpymem(p, "\r\n", 2);
}

/* Decide keep-alive and body framing just before the header goes out. */
static void
out_prepare(ptc_http_request_t *r)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    ptc_http_headers_out_t *o = &r->headers_out;
    unsigned st = o->status;
    if (r->method == PTC_HTTP_HEAD || st == 204 || st == 304 || (st >= 100 && st < 200)) {
        r->header_only = 1;
    }
    if (st == 204 || st == 304) {
        o->content_length_n = -1;
        o->content_type.len = 0;
    }
    if (r->keepalive) {
        if (ptc_worker_exiting || clcf->keepalive_timeout == 0
            || r->c->requests >= (unsigned)clcf->keepalive_requests
            || ptc_current_msec - r->c->start_msec > clcf->keepalive_time || r->close_after) {
            r->keepalive = 0;
        }
    }
    if (o->content_length_n < 0 && !r->header_only && st != 204 && st != 304) {
        if (r->http_version >= 1001 && clcf->chunked_transfer_encoding) {
            r->chunked_out = 1;
        } else {
            r->keepalive = 0; /* the body ends when the connection does */
        }
    }
}

static int
out_header_writer(ptc_http_request_t *r)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    if (r->header_sent) {
        return PTC_OK;
    }
    r->header_sent = 1;
    out_prepare(r);
    ptc_str_t line = r->headers_out.status_line;
    if (line.len == 0) {
        const ptc_str_t *std = ptc_http_status_line(r->headers_out.status);
        if (std) {
            line = *std;
        } else if (ptc_psprintf(r->pool, &line, "HTTP/1.1 %03u \r\n", r->headers_out.status)) {
            return PTC_ERROR;
        }
    }
    ptc_buf_t *b = ptc_buf_create(r->pool, out_header_len(r, &line));
    ptc_chain_t *cl = ptc_chain_alloc(r->pool);
    if (b == NULL || cl == NULL) {
        return PTC_ERROR;
    }
    u_char *p = ptc_cpymem(b->last, line.data, line.len);
    ptc_http_headers_out_t *o = &r->headers_out;
    if (o->server.len) {
        p = ptc_cpymem(p, "Server: ", 8);
        p = ptc_cpymem(p, o->server.data, o->server.len);
        p = ptc_cpymem(p, "\r\n", 2);
    } else if (clcf->server_tokens) {
        p = ptc_cpymem(p, "Server: " PTC_NAME "/" PTC_VERSION "\r\n",
                       sizeof("Server: " PTC_NAME "/" PTC_VERSION "\r\n") - 1);
    } else {
        p = ptc_cpymem(p, "Server: " PTC_NAME "\r\n", sizeof("Server: " PTC_NAME "\r\n") - 1);
    }
    p = ptc_cpymem(p, "Date: ", 6);
    p = o->date.len ? ptc_cpymem(p, o->date.data, o->date.len)
                    : ptc_cpymem(p, ptc_cached_http_time.data, ptc_cached_http_time.len);
    p = ptc_cpymem(p, "\r\n", 2);
    b->last = out_header_fields(r, p);
    r->header_size = b->last - b->pos;
    if (r->header_only) {
        b->last_buf = 1;
    }
    cl->buf = b;
    return ptc_http_write_filter(r, cl);
}

int
ptc_http_send_header(ptc_http_request_t *r)
{
    if (r->header_sent) {
        ptc_log_error(PTC_LOG_ALERT, r->c->log, 0, "header already sent");
        return PTC_ERROR;
    }
    if (r->headers_out.status == 0) {
        r->headers_out.status = 200;
    }
    if (r->err_status && r->headers_out.status < 300) {
        r->headers_out.status = r->err_status;
    }
    int rc = ptc_http_top_header_filter(r);
    if (rc == PTC_ERROR) {
        return rc;
    }
    return r->header_only ? PTC_DONE : rc;
}

/* ---- chunked body encoding ---- */

/* The end of a chunked body: CRLF closing the data chunk before it (when
 * `after_data`), the last-chunk, headers_out.trailers and the final CRLF
 * (RFC 9112 §7.1.2). NULL when out of memory. */
static ptc_buf_t *
out_last_chunk(ptc_http_request_t *r, bool after_data)
{
    ptc_array_t *tr = r->headers_out.trailers;
    ptc_http_header_t *h = tr ? tr->elts : NULL;
    size_t len = sizeof("\r\n0\r\n\r\n");
    for (size_t i = 0; tr && i < tr->nelts; i++) {
        len += h[i].name.len + h[i].value.len + 4;
    }
    ptc_buf_t *b = ptc_buf_create(r->pool, len);
    if (b == NULL) {
        return NULL;
    }
    u_char *p = b->last;
    if (after_data) {
        p = ptc_cpymem(p, "\r\n", 2);
    }
    p = ptc_cpymem(p, "0\r\n", 3);
    for (size_t i = 0; tr && i < tr->nelts; i++) {
        if (h[i].hash) {
            p = ptc_cpymem(p, h[i].name.data, h[i].name.len);
            p = ptc_cpymem(p, ": ", 2);
            p = ptc_cpymem(p, h[i].value.data, h[i].value.len);
            p = ptc_cpymem(p, "\r\n", 2);
        }
    }
    b->last = ptc_cpymem(p, "\r\n", 2);
    b->last_buf = 1;
    return b;
}

static int
out_chunked_filter(ptc_http_request_t *r, ptc_chain_t *in)
{
    if (!r->chunked_out || in == NULL) {
        return ptc_http_write_filter(r, in);
    }
    ptc_chain_t *out = NULL, **ll = &out;
    off_t size = 0;
    bool last = false;
    for (ptc_chain_t *cl = in; cl; cl = cl->next) {
        size += ptc_buf_size(cl->buf);
        last |= cl->buf->last_buf;
    }
    if (size > 0) {
        ptc_buf_t *hb = ptc_buf_create(r->pool, 20);
        ptc_chain_t *hl = out_link(r);
        if (hb == NULL || hl == NULL) {
            return PTC_ERROR;
        }
        hb->last += sprintf((char *)hb->last, "%llx\r\n", (unsigned long long)size);
        hl->buf = hb;
        *ll = hl;
        ll = &hl->next;
    }
    for (ptc_chain_t *cl = in; cl; cl = cl->next) {
        ptc_chain_t *n = out_link(r);
        if (n == NULL) {
            return PTC_ERROR;
        }
        n->buf = cl->buf;
        *ll = n;
        ll = &n->next;
    }
    if (size > 0 || last) {
        ptc_buf_t *tb =
            last && r->headers_out.trailers ? out_last_chunk(r, size > 0) : ptc_buf_calloc(r->pool);
        ptc_chain_t *tl = out_link(r);
        if (tb == NULL || tl == NULL) {
            return PTC_ERROR;
        }
        if (tb->last == tb->pos) {
            const char *t = size > 0 ? (last ? "\r\n0\r\n\r\n" : "\r\n") : "0\r\n\r\n";
            tb->pos = (u_char *)t;
            tb->last = tb->pos + strlen(t);
            tb->memory = 1;
            tb->last_buf = last;
        }
        tl->buf = tb;
        *ll = tl;
    }
    return ptc_http_write_filter(r, out);
}

/* ---- write filter ---- */

/* limit_rate: how many more bytes r may send now. As in nginx, a response
 * gets its first second's worth at once and limit_rate_after bytes free;
 * the allowance then grows with the time since the request started. */
static off_t
out_rate_allowance(ptc_http_request_t *r)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    if (!r->limit_rate_after_set) {
        r->limit_rate_after = (off_t)ptc_http_size_value(r, &clcf->limit_rate_after);
        r->limit_rate_after_set = 1;
    }
    ptc_msec_t elapsed = ptc_current_msec - r->start_msec;
    off_t rate = (off_t)r->limit_rate;
    off_t sent = r->c->sent - r->sent_start - r->limit_rate_after;
    return rate + rate * (off_t)elapsed / 1000 - sent;
}

/* Pause writing for `ms`: the write timer now means "go on", not "the
 * client is too slow" (http_writer_event tells them apart). */
static void
out_rate_pause(ptc_http_request_t *r, ptc_msec_t ms)
{
    r->limit_delayed = 1;
    ptc_event_add_timer(r->c->write, ms);
    r->write_event_handler = http_writer_event;
}

/* The pause that keeps r at its rate after `n` more bytes went out (the
 * bytes below limit_rate_after do not count). */
static ptc_msec_t
out_rate_delay(ptc_http_request_t *r, off_t before, off_t after)
{
    off_t free_until = r->sent_start + r->limit_rate_after;
    before = ptc_max(before, free_until);
    after = ptc_max(after, free_until);
    return (ptc_msec_t)((after - before) * 1000 / (off_t)r->limit_rate);
}

int
ptc_http_write_filter(ptc_http_request_t *r, ptc_chain_t *in)
{
    ptc_conn_t *c = r->c;
    ptc_chain_t **ll = &r->out;
    bool flush = false;
    off_t size = 0;
    if (c->error) {
        return PTC_ERROR;
    }
    for (ptc_chain_t *cl = r->out; cl; cl = cl->next) {
        ll = &cl->next;
        size += ptc_buf_size(cl->buf);
        flush |= cl->buf->flush || cl->buf->last_buf;
    }
    for (ptc_chain_t *cl = in; cl; cl = cl->next) {
        ptc_chain_t *n = out_link(r);
        if (n == NULL) {
            return PTC_ERROR;
        }
        n->buf = cl->buf;
        *ll = n;
        ll = &n->next;
        size += ptc_buf_size(cl->buf);
        flush |= cl->buf->flush || cl->buf->last_buf;
        if (cl->buf->last_buf) {
            r->done = 1;
        }
    }
    if (r->limit_delayed && c->write->timedout) {
        r->limit_delayed = 0; /* the pause is over */
        c->write->timedout = 0;
    }
    if (!flush && size < OUT_POSTPONE) {
        return PTC_OK;
    }
    if (r->limit_delayed || (!c->write->ready && r->out && c->write->timer_set)) {
        return PTC_AGAIN;
    }
    if (!r->limit_rate_set) {
        r->limit_rate = ptc_http_size_value(r, &ptc_http_core_loc(r)->limit_rate);
        r->limit_rate_set = 1;
    }
    off_t limit = 0;
    bool limited = r->limit_rate && r->headers_out.status != 101; /* a tunnel paces itself */
    if (limited && (limit = out_rate_allowance(r)) <= 0) {
        out_rate_pause(r, (ptc_msec_t)(-limit * 1000 / (off_t)r->limit_rate + 1));
        return PTC_AGAIN;
    }
    c->sendfile = ptc_http_core_loc(r)->sendfile;
    off_t before = c->sent;
    ptc_chain_t *rest = c->send_chain(c, r->out, limit);
    if (rest == (ptc_chain_t *)-1) {
        c->error = 1;
        return PTC_ERROR;
    }
    out_free_links(r, r->out, rest);
    r->out = rest;
    ptc_msec_t delay = limited ? out_rate_delay(r, before, c->sent) : 0;
    if (delay && (rest || !r->done)) {
        out_rate_pause(r, delay);
        return rest ? PTC_AGAIN : PTC_OK;
    }
    if (rest) {
        ptc_event_add_timer(c->write, ptc_http_core_loc(r)->send_timeout);
        r->write_event_handler = http_writer_event;
        return PTC_AGAIN;
    }
    if (c->write->timer_set) {
        ptc_event_del_timer(c->write);
    }
    return PTC_OK;
}

int
ptc_http_output_flush(ptc_http_request_t *r)
{
    return ptc_http_write_filter(r, NULL);
}

int
ptc_http_output_filter(ptc_http_request_t *r, ptc_chain_t *in)
{
    int rc = ptc_http_top_body_filter(r, in);
    if (rc == PTC_ERROR) {
        r->c->error = 1;
    }
    return rc;
}

/* Called when the socket becomes writable with output pending. */
static void
http_writer_event(ptc_http_request_t *r)
{
    ptc_conn_t *c = r->c;
    if (c->write->timedout && !r->limit_delayed) {
        ptc_log_error(PTC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        c->error = 1;
        ptc_http_finalize(r, PTC_ERROR);
        return;
    }
    /* a body filter holding input continues now that its output moved */
    int rc = r->buffered ? ptc_http_top_body_filter(r, NULL) : ptc_http_write_filter(r, NULL);
    if (rc == PTC_AGAIN) {
        return;
    }
    r->write_event_handler = NULL;
    if (rc == PTC_ERROR) {
        ptc_http_finalize(r, PTC_ERROR);
        return;
    }
    if (r->done && r->finalized) {
        ptc_http_request_done(r);
        return;
    }
    /* the producer (e.g. a proxied response) resumes on its own events */
    if (r->resume_handler) {
        r->resume_handler(r);
    }
}

int
ptc_http_add_transform_test(ptc_conf_t *cf, ptc_http_transform_test_fn fn)
{
    ptc_http_core_main_conf_t *cmcf = ptc_http_conf_get_main(cf, ptc_http_core_module);
    if (cmcf->transform_tests == NULL) {
        cmcf->transform_tests = ptc_array_create(cf->pool, 2, sizeof(fn));
    }
    ptc_http_transform_test_fn *slot =
        cmcf->transform_tests ? ptc_array_push(cmcf->transform_tests) : NULL;
    if (slot == NULL) {
        return PTC_ERROR;
    }
    *slot = fn;
    return PTC_OK;
}

bool
ptc_http_body_transformed(ptc_http_request_t *r)
{
    ptc_http_core_main_conf_t *cmcf = ptc_http_get_main_conf(r, ptc_http_core_module);
    ptc_http_transform_test_fn *fn = cmcf->transform_tests ? cmcf->transform_tests->elts : NULL;
    for (size_t i = 0; fn && i < cmcf->transform_tests->nelts; i++) {
        if (fn[i](r)) {
            return true;
        }
    }
    return false;
}

int
ptc_http_output_postconfig(ptc_conf_t *cf)
{
    ptc_http_top_header_filter = out_header_writer;
    ptc_http_top_body_filter = out_chunked_filter;
    return PTC_OK;
}

/* ---- finalization ---- */

void
ptc_http_finalize(ptc_http_request_t *r, int rc)
{
    ptc_log_debug(r->c->log, "http finalize request: %d, \"%.*s?%.*s\"", rc, PTC_STR_ARG(r->uri),
                  PTC_STR_ARG(r->args));
    if (rc == PTC_ERROR) {
        r->c->error = 1;
        if (r->headers_out.status == 0) {
            r->headers_out.status = 500;
        }
        ptc_http_close_request(r, false);
        return;
    }
    r->finalized = 1;
    if (!r->done && r->header_sent && !r->header_only) {
        /* the producer ended without last_buf: make sure the end is sent */
        ptc_buf_t *b = ptc_buf_calloc(r->pool);
        ptc_chain_t cl = {b, NULL};
        if (b == NULL) {
            ptc_http_finalize(r, PTC_ERROR);
            return;
        }
        b->last_buf = 1;
        if (ptc_http_output_filter(r, &cl) == PTC_ERROR) {
            ptc_http_finalize(r, PTC_ERROR);
            return;
        }
    }
    if (r->out) {
        r->write_event_handler = http_writer_event;
        return; /* the writer completes the request */
    }
    ptc_http_request_done(r);
}
