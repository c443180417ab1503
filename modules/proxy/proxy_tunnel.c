/* SPDX-License-Identifier: BSD-2-Clause */
/* After a 101 Switching Protocols (WebSocket and other upgrades) the
 * request turns into a two-way byte tunnel between the client and the
 * upstream, with proxy_read_timeout as its idle timeout. Each direction
 * has one buffer; reading stops while its buffer waits to be written. */
#include <errno.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/proxy/proxy_ctx.h"

#define TUNNEL_BUF 16384

void ptc_proxy_tunnel_start(proxy_ctx_t *ctx);

static void
tunnel_close(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ctx->finished = 1;
    ctx->state = PX_DONE;
    if (ctx->uc) {
        ptc_upstream_group_conns(ctx->group, ctx->peer, -1);
        ptc_conn_close(ctx->uc);
        ctx->uc = NULL;
    }
    r->keepalive = 0;
    r->c->error = 1; /* nothing more to send: just close */
    ptc_http_finalize(r, PTC_ERROR);
}

/* Move bytes src -> buf -> dst. Returns false when the tunnel must end
 * (EOF with nothing left to forward, or an error). */
static bool
tunnel_pump(ptc_conn_t *src, ptc_conn_t *dst, ptc_buf_t *b)
{
    for (;;) {
        if (b->pos < b->last) {
            ssize_t n = dst->send(dst, b->pos, (size_t)(b->last - b->pos));
            if (n == PTC_ERROR) {
                return false;
            }
            if (n == PTC_AGAIN) {
                return true; /* dst writable event resumes */
            }
            b->pos += n;
            if (b->pos < b->last) {
                return true;
            }
        }
        b->pos = b->last = b->start;
        if (!src->read->ready && !src->read->eof) {
            return true;
        }
        ssize_t n = src->recv(src, b->last, (size_t)(b->end - b->last));
        if (n == PTC_AGAIN) {
            return true;
        }
        if (n <= 0) {
            return false;
        }
        b->last += n;
    }
}

static void
tunnel_client_event(ptc_http_request_t *r)
{
    proxy_ctx_t *ctx = ptc_http_get_ctx(r, ptc_proxy_module);
    ptc_proxy_tunnel_start(ctx);
}

void
ptc_proxy_tunnel_start(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_conn_t *c = r->c, *uc = ctx->uc;
    if (ctx->state != PX_TUNNEL) {
        ctx->state = PX_TUNNEL;
        ctx->header_passed = 1;
        r->keepalive = 0;
        if (ptc_http_send_header(r) == PTC_ERROR) {
            tunnel_close(ctx);
            return;
        }
        ctx->tun_up = ptc_buf_create(r->pool, TUNNEL_BUF);
        ctx->tun_down = ptc_buf_create(r->pool, TUNNEL_BUF);
        if (ctx->tun_up == NULL || ctx->tun_down == NULL) {
            tunnel_close(ctx);
            return;
        }
        /* bytes that already came behind the request or the 101 head */
        ptc_buf_t *in = r->header_in;
        size_t n = ptc_min((size_t)(in->last - in->pos), TUNNEL_BUF);
        ctx->tun_up->last = ptc_cpymem(ctx->tun_up->last, in->pos, n);
        in->pos += n;
        n = ptc_min((size_t)(ctx->hbuf->last - ctx->hbuf->pos), TUNNEL_BUF);
        ctx->tun_down->last = ptc_cpymem(ctx->tun_down->last, ctx->hbuf->pos, n);
        ctx->hbuf->pos += n;
        r->read_event_handler = tunnel_client_event;
        r->write_event_handler = tunnel_client_event;
        r->resume_handler = tunnel_client_event; /* after the head is flushed */
        c->read->ready = 1; /* check the client once: it may have sent already */
        uc->read->ready = 1;
    }
    if (uc->read->timedout || c->read->timedout) {
        ptc_log_error(PTC_LOG_INFO, c->log, ETIMEDOUT, "upgraded connection timed out");
        tunnel_close(ctx);
        return;
    }
    if (r->out) {
        /* the 101 head is still on its way: tunnel data must follow it */
        int rc = ptc_http_output_flush(r);
        if (rc == PTC_ERROR) {
            tunnel_close(ctx);
            return;
        }
        if (rc == PTC_AGAIN || r->out) {
            return;
        }
    }
    r->write_event_handler = tunnel_client_event;
    if (!tunnel_pump(uc, c, ctx->tun_down) || !tunnel_pump(c, uc, ctx->tun_up)) {
        tunnel_close(ctx);
        return;
    }
    ptc_event_add_timer(uc->read, ctx->plcf->read_timeout);
}
