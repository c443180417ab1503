/* SPDX-License-Identifier: BSD-2-Clause */
/* Request bodies: Content-Length or chunked (RFC 9112 §6-7), with
 * "Expect: 100-continue", client_max_body_size, client_body_timeout, a
 * memory buffer of client_body_buffer_size and a temp file beyond it.
 * Discarding reads the same way and drops the bytes, so the connection can
 * be kept alive. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ptc_file.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_process.h"
#include "modules/http/http_request_int.h"

#define BODY_DISCARD_BUF 4096

static void body_read_handler(ptc_http_request_t *r);
static void body_expect_continue(ptc_http_request_t *r);
static void body_discard_handler(ptc_http_request_t *r);

bool
ptc_http_body_finished(ptc_http_request_t *r)
{
    ptc_http_headers_in_t *in = &r->headers_in;
    if (!in->chunked && in->content_length_n <= 0) {
        return true;
    }
    return r->request_body && r->request_body->done;
}

static ptc_http_request_body_t *
body_init(ptc_http_request_t *r)
{
    if (r->request_body) {
        return r->request_body;
    }
    ptc_http_request_body_t *rb = ptc_pcalloc(r->pool, sizeof(*rb));
    if (rb == NULL) {
        return NULL;
    }
    rb->temp_fd = -1;
    rb->rest = r->headers_in.chunked ? -1 : r->headers_in.content_length_n;
    if (rb->rest == 0) {
        rb->done = 1;
    }
    r->request_body = rb;
    return rb;
}

/* Decode framing from b, handing data to `sink`. Returns PTC_OK when the
 * body is complete, PTC_AGAIN when more is needed, PTC_ERROR on bad framing
 * (status in *status). */
typedef int (*body_sink_fn)(ptc_http_request_t *r, const u_char *p, size_t n);

static int
body_consume(ptc_http_request_t *r, ptc_buf_t *b, body_sink_fn sink, unsigned *status)
{
    ptc_http_request_body_t *rb = r->request_body;
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    while (!rb->done && b->pos < b->last) {
        size_t n;
        if (!r->headers_in.chunked) {
            n = (size_t)ptc_min((off_t)(b->last - b->pos), rb->rest);
            rb->rest -= (off_t)n;
            rb->done = rb->rest == 0;
        } else {
            int rc = ptc_http_parse_chunked(&rb->chunked, b);
            if (rc == PTC_ERROR) {
                ptc_log_error(PTC_LOG_INFO, r->c->log, 0, "client sent invalid chunked body: %s",
                              rb->chunked.error ? rb->chunked.error : "malformed");
                *status = 400;
                return PTC_ERROR;
            }
            if (rc == PTC_DONE) {
                rb->done = 1;
                break;
            }
            if (rc == PTC_AGAIN) {
                break;
            }
            n = (size_t)rb->chunked.size;
            if (clcf->client_max_body_size
                && (size_t)(rb->received + (off_t)n) > clcf->client_max_body_size) {
                ptc_log_error(PTC_LOG_ERR, r->c->log, 0,
                              "client intended to send too large chunked body: %lld+%zu bytes",
                              (long long)rb->received, n);
                *status = 413;
                return PTC_ERROR;
            }
        }
        if (sink(r, b->pos, n) != PTC_OK) {
            *status = 500;
            return PTC_ERROR;
        }
        rb->received += (off_t)n;
        b->pos += n;
    }
    return rb->done ? PTC_OK : PTC_AGAIN;
}

static int
body_drop(ptc_http_request_t *r, const u_char *p, size_t n)
{
    return PTC_OK;
}

void
ptc_http_send_continue(ptc_http_request_t *r)
{
    body_expect_continue(r);
}

static void
body_expect_continue(ptc_http_request_t *r)
{
    ptc_http_header_t *e = r->headers_in.expect;
    if (r->expect_tested || e == NULL || r->http_version < 1001) {
        return;
    }
    r->expect_tested = 1;
    if (!ptc_str_caseeq_c(&e->value, "100-continue") || r->header_in->pos < r->header_in->last) {
        return;
    }
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    ssize_t n = r->c->send(r->c, (const u_char *)line, sizeof(line) - 1);
    if (n != (ssize_t)sizeof(line) - 1) {
        /* Part of the line may be on the wire, or (TLS) sealed in a record
         * that OpenSSL would complete with the response's first bytes: the
         * stream is unusable, so the connection ends here. */
        ptc_log_error(PTC_LOG_INFO, r->c->log, 0, "could not send \"100 Continue\"");
        r->c->error = 1;
    }
}

/* Pull bytes from the header buffer leftovers, then the socket, through
 * body_consume. PTC_OK done, PTC_AGAIN waiting, PTC_ERROR (status set). */
static int
body_pump(ptc_http_request_t *r, body_sink_fn sink, unsigned *status)
{
    ptc_conn_t *c = r->c;
    u_char scratch[BODY_DISCARD_BUF];
    int rc = body_consume(r, r->header_in, sink, status);
    if (rc != PTC_AGAIN) {
        return rc;
    }
    body_expect_continue(r);
    if (c->error) {
        *status = 500;
        return PTC_ERROR;
    }
    for (;;) {
        ptc_buf_t b = {0};
        b.start = b.pos = b.last = scratch;
        b.end = scratch + sizeof(scratch);
        if (!r->headers_in.chunked && r->request_body->rest < (off_t)sizeof(scratch)) {
            b.end = scratch + r->request_body->rest; /* never read past this request */
        }
        ssize_t n = c->read->ready || c->read->eof ? c->recv(c, b.last, (size_t)(b.end - b.last))
                                                   : PTC_AGAIN;
        if (n == PTC_AGAIN) {
            ptc_event_add_timer(c->read, ptc_http_core_loc(r)->client_body_timeout);
            return PTC_AGAIN;
        }
        if (n <= 0) {
            ptc_log_error(PTC_LOG_INFO, c->log, 0, "client prematurely closed connection");
            c->error = 1;
            *status = 400;
            return PTC_ERROR;
        }
        b.last += n;
        rc = body_consume(r, &b, sink, status);
        if (rc == PTC_OK && b.pos < b.last) {
            /* chunked: bytes after the body belong to the next request */
            size_t extra = (size_t)(b.last - b.pos);
            ptc_buf_t *hb = r->header_in;
            if ((size_t)(hb->end - hb->last) < extra) {
                ptc_buf_t *nb = ptc_buf_create(r->pool, extra + (size_t)(hb->last - hb->pos));
                if (nb == NULL) {
                    *status = 500;
                    return PTC_ERROR;
                }
                nb->last = ptc_cpymem(nb->last, hb->pos, (size_t)(hb->last - hb->pos));
                r->header_in = hb = nb;
            }
            hb->last = ptc_cpymem(hb->last, b.pos, extra);
        }
        if (rc != PTC_AGAIN) {
            return rc;
        }
    }
}

int
ptc_http_discard_request_body(ptc_http_request_t *r)
{
    unsigned status = 0;
    if (ptc_http_body_finished(r) || r->discard_body || r->reading_body) {
        return PTC_OK;
    }
    if (body_init(r) == NULL) {
        return PTC_ERROR;
    }
    r->discard_body = 1;
    int rc = body_pump(r, body_drop, &status);
    if (rc == PTC_AGAIN) {
        r->read_event_handler = body_discard_handler;
        return PTC_OK;
    }
    if (rc == PTC_ERROR) {
        r->keepalive = 0;
        r->discard_status = status;
        return PTC_ERROR;
    }
    return PTC_OK;
}

static void
body_discard_handler(ptc_http_request_t *r)
{
    unsigned status = 0;
    ptc_conn_t *c = r->c;
    if (c->read->timedout) {
        c->read->timedout = 0;
        r->keepalive = 0;
        r->read_event_handler = ptc_http_block_reading;
        return;
    }
    int rc = body_pump(r, body_drop, &status);
    if (rc != PTC_AGAIN) {
        r->read_event_handler = ptc_http_block_reading;
        if (c->read->timer_set) {
            ptc_event_del_timer(c->read);
        }
    }
}

/* ---- reading into memory / temp file ---- */

static int
body_open_temp(ptc_http_request_t *r)
{
    ptc_http_request_body_t *rb = r->request_body;
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    bool keep = clcf->client_body_in_file_only == 1;
    rb->temp_fd =
        ptc_temp_file_open(r->pool, &clcf->client_body_temp_path, keep, r->c->log, &rb->temp_path);
    if (rb->temp_fd == -1) {
        return PTC_ERROR;
    }
    if (keep) {
        ptc_log_error(PTC_LOG_NOTICE, r->c->log, 0,
                      "a client request body is buffered to a temporary file %s",
                      (char *)rb->temp_path.data);
    }
    return PTC_OK;
}

static int
body_write_file(ptc_http_request_t *r, const u_char *p, size_t n)
{
    ptc_http_request_body_t *rb = r->request_body;
    if (rb->temp_fd == -1 && body_open_temp(r) != PTC_OK) {
        return PTC_ERROR;
    }
    while (n) {
        ssize_t w = write(rb->temp_fd, p, n);
        if (w == -1) {
            if (errno == EINTR) {
                continue;
            }
            ptc_log_error(PTC_LOG_CRIT, r->c->log, errno, "write() to \"%s\" failed",
                          (char *)rb->temp_path.data);
            return PTC_ERROR;
        }
        p += w;
        n -= (size_t)w;
    }
    return PTC_OK;
}

static int
body_store(ptc_http_request_t *r, const u_char *p, size_t n)
{
    ptc_http_request_body_t *rb = r->request_body;
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    if (clcf->client_body_in_file_only) {
        return body_write_file(r, p, n);
    }
    if (rb->buf == NULL && rb->temp_fd == -1) {
        rb->buf = ptc_buf_create(r->pool, clcf->client_body_buffer_size);
        if (rb->buf == NULL) {
            return PTC_ERROR;
        }
    }
    if (rb->temp_fd == -1 && (size_t)(rb->buf->end - rb->buf->last) >= n) {
        rb->buf->last = ptc_cpymem(rb->buf->last, p, n);
        return PTC_OK;
    }
    if (rb->temp_fd == -1 && rb->buf) {
        /* spill what memory holds, then continue in the file */
        if (body_write_file(r, rb->buf->pos, (size_t)(rb->buf->last - rb->buf->pos)) != PTC_OK) {
            return PTC_ERROR;
        }
        rb->buf->last = rb->buf->pos;
    }
    return body_write_file(r, p, n);
}

static int
body_finish(ptc_http_request_t *r)
{
    ptc_http_request_body_t *rb = r->request_body;
    ptc_chain_t *cl = ptc_chain_alloc(r->pool);
    if (cl == NULL) {
        return PTC_ERROR;
    }
    if (rb->temp_fd != -1) {
        ptc_buf_t *fb = ptc_buf_calloc(r->pool);
        if (fb == NULL) {
            return PTC_ERROR;
        }
        fb->in_file = 1;
        fb->fd = rb->temp_fd;
        fb->file_pos = 0;
        fb->file_last = rb->received;
        cl->buf = fb;
    } else {
        cl->buf = rb->buf ? rb->buf : ptc_buf_calloc(r->pool);
        if (cl->buf == NULL) {
            return PTC_ERROR;
        }
    }
    cl->buf->last_buf = 1;
    rb->bufs = cl;
    r->reading_body = 0;
    return PTC_OK;
}

int
ptc_http_read_request_body(ptc_http_request_t *r, ptc_http_handler_fn post_handler)
{
    unsigned status = 0;
    ptc_http_request_body_t *rb = body_init(r);
    if (rb == NULL) {
        ptc_http_finalize_status(r, 500);
        return PTC_DONE;
    }
    rb->post_handler = post_handler;
    r->reading_body = 1;
    int rc = rb->done ? PTC_OK : body_pump(r, body_store, &status);
    if (rc == PTC_AGAIN) {
        r->read_event_handler = body_read_handler;
        return PTC_AGAIN;
    }
    if (rc == PTC_ERROR || body_finish(r) != PTC_OK) {
        r->reading_body = 0;
        r->keepalive = 0;
        r->discard_body = 1; /* the rest of the body is not read: the connection ends */
        ptc_http_finalize_status(r, status ? status : 500);
        return PTC_DONE;
    }
    post_handler(r);
    return PTC_OK;
}

static void
body_read_handler(ptc_http_request_t *r)
{
    unsigned status = 0;
    ptc_conn_t *c = r->c;
    if (c->read->timedout) {
        /* as nginx: a client that stops sending its body gets no answer */
        c->read->timedout = 0;
        r->reading_body = 0;
        ptc_log_error(PTC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        r->headers_out.status = 408;
        c->error = 1;
        ptc_http_close_request(r, false);
        return;
    }
    int rc = body_pump(r, body_store, &status);
    if (rc == PTC_AGAIN) {
        return;
    }
    if (c->read->timer_set) {
        ptc_event_del_timer(c->read);
    }
    r->read_event_handler = ptc_http_block_reading;
    if (rc == PTC_ERROR || body_finish(r) != PTC_OK) {
        r->reading_body = 0;
        r->keepalive = 0;
        r->discard_body = 1;
        if (c->error) {
            ptc_http_close_request(r, true);
            return;
        }
        ptc_http_finalize_status(r, status ? status : 500);
        return;
    }
    r->request_body->post_handler(r);
}
