/* SPDX-License-Identifier: BSD-2-Clause */
/* proxy_request_buffering off: the request body goes to the upstream as it
 * arrives. A Content-Length body is passed as is; a chunked one is decoded
 * and sent again as chunks (HTTP/1.1 upstreams only). One buffer is in
 * flight: the client is read again only once the upstream took the last
 * bytes. Once body bytes left, the request cannot be retried elsewhere. */
#include <errno.h>
#include <stdio.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/proxy/proxy_stream.h"

static void
stream_client_event(ptc_http_request_t *r)
{
    proxy_ctx_t *ctx = ptc_http_get_ctx(r, ptc_proxy_module);
    if (ctx->state != PX_SEND) {
        /* body bytes follow the request head: not while connecting, queued
         * or in a TLS handshake (they stay in the socket until then) */
        return;
    }
    if (r->c->read->timedout) {
        ptc_log_error(PTC_LOG_INFO, r->c->log, ETIMEDOUT, "client timed out");
        ctx->stream_error = 408;
    }
    ptc_proxy_stream(ctx);
}

int
ptc_proxy_stream_init(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    ctx->sbuf = ptc_buf_create(r->pool, clcf->client_body_buffer_size);
    ctx->shead = ptc_buf_create(r->pool, 24);
    ctx->stail = ptc_buf_calloc(r->pool);
    r->request_body = ptc_pcalloc(r->pool, sizeof(ptc_http_request_body_t));
    if (ctx->sbuf == NULL || ctx->shead == NULL || ctx->stail == NULL || r->request_body == NULL) {
        return PTC_ERROR;
    }
    r->request_body->temp_fd = -1;
    ctx->stream_rest = r->headers_in.chunked ? -1 : r->headers_in.content_length_n;
    ctx->streaming = 1;
    r->read_event_handler = stream_client_event;
    return PTC_OK;
}

/* Bytes of the body now available in ctx->sbuf (read if needed):
 * > 0, PTC_AGAIN, or PTC_ERROR (client closed or failed). */
static ssize_t
stream_fill(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_buf_t *b = ctx->sbuf, *in = r->header_in;
    b->pos = b->last = b->start;
    size_t room = (size_t)(b->end - b->last);
    if (ctx->stream_rest >= 0 && (off_t)room > ctx->stream_rest) {
        room = (size_t)ctx->stream_rest; /* never read the next request */
    }
    if (in->pos < in->last) {
        size_t n = ptc_min(room, (size_t)(in->last - in->pos));
        b->last = ptc_cpymem(b->last, in->pos, n);
        in->pos += n;
        ctx->sbuf_from_header = 1;
        return (ssize_t)n;
    }
    ctx->sbuf_from_header = 0;
    ptc_conn_t *c = r->c;
    ssize_t n = c->read->ready || c->read->eof ? c->recv(c, b->last, room) : PTC_AGAIN;
    if (n == PTC_AGAIN) {
        ptc_event_add_timer(c->read, ptc_http_core_loc(r)->client_body_timeout);
        return PTC_AGAIN;
    }
    if (n <= 0) {
        ptc_log_error(PTC_LOG_INFO, c->log, 0, "client prematurely closed connection");
        return PTC_ERROR;
    }
    b->last += n;
    return n;
}

/* Turn the bytes read into what is sent upstream (ctx->out). PTC_OK,
 * PTC_DONE when this was the end of the body, PTC_ERROR (status set). */
static int
stream_frame(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_buf_t *b = ctx->sbuf;
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    bool done = false;
    if (ctx->stream_rest >= 0) {
        ctx->stream_rest -= b->last - b->pos;
        done = ctx->stream_rest == 0;
    } else {
        ptc_buf_t in = *b;
        u_char *w = b->pos;
        for (;;) {
            int rc = ptc_http_parse_chunked(&ctx->req_chunk, &in);
            if (rc == PTC_OK) {
                memmove(w, in.pos, (size_t)ctx->req_chunk.size);
                w += ctx->req_chunk.size;
                in.pos += ctx->req_chunk.size;
                continue;
            }
            if (rc == PTC_ERROR) {
                ctx->stream_error = 400;
                return PTC_ERROR;
            }
            done = rc == PTC_DONE;
            if (done && in.pos < in.last) {
                /* a pipelined request after the body: give it back when it
                 * came from the header buffer, else keep-alive ends here */
                if (ctx->sbuf_from_header) {
                    r->header_in->pos -= in.last - in.pos;
                } else {
                    r->keepalive = 0;
                }
            }
            break;
        }
        b->last = w;
    }
    r->request_body->received += b->last - b->pos;
    if (clcf->client_max_body_size
        && (size_t)r->request_body->received > clcf->client_max_body_size) {
        ctx->stream_error = 413;
        return PTC_ERROR;
    }
    ptc_chain_t **ll = &ctx->out;
    size_t n = (size_t)(b->last - b->pos);
    if (ctx->stream_rest < 0 && n) {
        ctx->shead->pos = ctx->shead->last = ctx->shead->start;
        ctx->shead->last += sprintf((char *)ctx->shead->last, "%zx\r\n", n);
        ctx->slinks[0] = (ptc_chain_t){ctx->shead, NULL};
        *ll = &ctx->slinks[0];
        ll = &ctx->slinks[0].next;
    }
    if (n) {
        ctx->slinks[1] = (ptc_chain_t){b, NULL};
        *ll = &ctx->slinks[1];
        ll = &ctx->slinks[1].next;
    }
    if (ctx->stream_rest < 0 && (n || done)) {
        const char *t = n ? (done ? "\r\n0\r\n\r\n" : "\r\n") : "0\r\n\r\n";
        ctx->stail->pos = (u_char *)t;
        ctx->stail->last = ctx->stail->pos + strlen(t);
        ctx->slinks[2] = (ptc_chain_t){ctx->stail, NULL};
        *ll = &ctx->slinks[2];
    }
    return done ? PTC_DONE : PTC_OK;
}

static void
stream_fail(proxy_ctx_t *ctx, unsigned status)
{
    ptc_http_request_t *r = ctx->r;
    ctx->streaming = 0;
    r->read_event_handler = NULL;
    r->request_body->done = 1;
    if (status == 0) {
        r->c->error = 1;
    }
    ptc_proxy_abort(ctx, status);
}

void
ptc_proxy_stream(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_conn_t *uc = ctx->uc;
    if (ctx->stream_error) {
        stream_fail(ctx, ctx->stream_error == 408 ? 0 : ctx->stream_error);
        return;
    }
    for (;;) {
        if (ctx->out) {
            ptc_chain_t *rest = uc->send_chain(uc, ctx->out, 0);
            if (rest == (ptc_chain_t *)-1) {
                ptc_log_error(PTC_LOG_ERR, r->c->log, errno,
                              "sending the body to upstream "
                              "failed");
                stream_fail(ctx, 502);
                return;
            }
            ctx->out = rest;
            if (rest) {
                ptc_event_add_timer(uc->write, ctx->plcf->send_timeout);
                return;
            }
            ptc_event_del_timer(uc->write);
        }
        if (ctx->stream_done) {
            ctx->streaming = 0;
            r->request_body->done = 1;
            r->read_event_handler = ptc_proxy_client_event;
            ptc_event_del_timer(r->c->read);
            ptc_proxy_request_sent(ctx);
            return;
        }
        if (!ctx->continue_sent) {
            ctx->continue_sent = 1;
            ptc_http_send_continue(r);
        }
        ssize_t n = stream_fill(ctx);
        if (n == PTC_AGAIN) {
            return;
        }
        if (n < 0) {
            stream_fail(ctx, 0);
            return;
        }
        int rc = stream_frame(ctx);
        if (rc == PTC_ERROR) {
            stream_fail(ctx, ctx->stream_error);
            return;
        }
        ctx->stream_done = rc == PTC_DONE;
    }
}
