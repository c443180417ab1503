/* SPDX-License-Identifier: BSD-2-Clause */
/* The proxied request: choose a peer, connect (or take a pooled
 * connection), send the request, read and check the response head, then
 * relay the body to the client through a bounded set of buffers (reading
 * from the upstream pauses while the client is slow), and finally pool or
 * close the upstream connection. Failures before the response reaches the
 * client go to the next peer as proxy_next_upstream allows; after that,
 * the client connection is closed, never ended as if complete.
 *
 *   state       waits for           next
 *   PX_CONNECT  upstream writable   PX_SSL for https, else PX_SEND (or next peer)
 *   PX_SSL      either direction    PX_SEND after the handshake (or next peer)
 *   PX_SEND     upstream writable   PX_HEADER when all is sent
 *   PX_HEADER   upstream readable   PX_BODY / PX_TUNNEL / done (or next peer)
 *   PX_BODY     upstream readable,  done at the body's end
 *               client drained
 *   PX_TUNNEL   either side         closed when either side ends */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ptc_cycle.h"
#include "core/ptc_file.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_proxy_protocol.h"
#include "core/ptc_time.h"
#include "modules/http/http_static_cond.h"
#include "modules/proxy/proxy_stream.h"

static void proxy_connect(proxy_ctx_t *ctx);
static void proxy_connected(proxy_ctx_t *ctx);
static void proxy_wake_waiter(ptc_upstream_group_t *g);
static void proxy_next(proxy_ctx_t *ctx, unsigned ft, const char *what, int err);
static void proxy_up_read(ptc_event_t *ev);
static void proxy_up_write(ptc_event_t *ev);
static void proxy_read_body(proxy_ctx_t *ctx);
static void proxy_resume(ptc_http_request_t *r);
void ptc_proxy_tunnel_start(proxy_ctx_t *ctx);

#define PROXY_HEADERS_MAX 100

static bool
proxy_idempotent(ptc_http_request_t *r)
{
    return !(r->method == PTC_HTTP_POST || r->method == PTC_HTTP_PATCH
             || ptc_str_eq_c(&r->method_name, "LOCK"));
}

static int64_t
proxy_since(ptc_msec_t t)
{
    return (int64_t)(ptc_current_msec - t);
}

static void
proxy_tlog_begin(proxy_ctx_t *ctx, const ptc_str_t *addr)
{
    if (ctx->ntlog < PROXY_TRIES_LOG) {
        ctx->tlog[ctx->ntlog] = (proxy_try_log_t){addr, 0, -1, -1, -1};
    }
    ctx->ntlog++;
}

/* ---- upstream connections and the keep-alive pool ---- */

static void
proxy_idle_handler(ptc_event_t *ev)
{
    /* An idle pooled connection that becomes readable was closed by the
     * upstream (or sent junk): either way it cannot be reused. */
    ptc_conn_t *c = ev->data;
    ptc_upstream_group_t *g = c->data;
    if (c->ssl && !ev->timedout && ev == c->read && ptc_proxy_ssl_idle_alive(c)) {
        return;
    }
    ptc_queue_remove(&c->queue);
    g->nidle--;
    ptc_conn_close(c);
}

static void
proxy_release_conn(proxy_ctx_t *ctx, bool reusable)
{
    ptc_conn_t *c = ctx->uc;
    ptc_upstream_group_t *g = ctx->group;
    if (c == NULL) {
        return;
    }
    ctx->uc = NULL;
    if (ctx->peer) {
        ptc_upstream_group_conns(ctx->group, ctx->peer, -1);
        proxy_wake_waiter(g);
    }
    c->requests++;
    if (!reusable || g->keepalive == 0 || ctx->plcf->proxy_protocol
        || c->requests >= (unsigned)g->keepalive_requests
        || ptc_current_msec - c->start_msec > g->keepalive_time || c->read->eof) {
        ptc_conn_close(c);
        return;
    }
    if (g->nidle >= g->keepalive) {
        /* drop the oldest idle connection to make room */
        ptc_queue_t *q = ptc_queue_last(&g->idle);
        ptc_conn_t *old = ptc_queue_data(q, ptc_conn_t, queue);
        ptc_queue_remove(q);
        g->nidle--;
        ptc_conn_close(old);
    }
    ptc_event_del_timer(c->write);
    c->data = g;
    c->log = ptc_cycle->log;
    c->read->log = c->write->log = c->log;
    c->read->handler = proxy_idle_handler;
    c->write->handler = proxy_idle_handler;
    c->write->active = 0; /* writability of an idle connection is not news */
    c->idle = 1;
    ptc_queue_insert_head(&g->idle, &c->queue);
    g->nidle++;
    ptc_event_add_timer(c->read, g->keepalive_timeout);
    c->read->cancelable = 1;
}

static ptc_conn_t *
proxy_pooled(proxy_ctx_t *ctx)
{
    ptc_upstream_group_t *g = ctx->group;
    for (ptc_queue_t *q = ptc_queue_head(&g->idle); q != ptc_queue_sentinel(&g->idle);
         q = ptc_queue_next(q)) {
        ptc_conn_t *c = ptc_queue_data(q, ptc_conn_t, queue);
        if (ptc_sockaddr_eq((struct sockaddr *)&c->sockaddr, c->socklen,
                            (struct sockaddr *)&ctx->peer->sockaddr, ctx->peer->socklen)
            && ptc_proxy_ssl_match(ctx, c)) {
            ptc_queue_remove(q);
            g->nidle--;
            ptc_event_del_timer(c->read);
            c->read->cancelable = 0;
            c->idle = 0;
            c->write->active = 1;
            c->write->ready = 1;
            return c;
        }
    }
    return NULL;
}

/* ---- the upstream queue (queue N timeout=T) ---- */

static void
proxy_dequeue(proxy_ctx_t *ctx)
{
    if (ctx->queued) {
        ptc_queue_remove(&ctx->wait_link);
        ctx->group->nwaiting--;
        ctx->queued = 0;
    }
    ptc_event_del_timer(&ctx->wait_ev);
    ptc_event_delete_posted(&ctx->wait_ev);
}

static void
proxy_queue_event(ptc_event_t *ev)
{
    proxy_ctx_t *ctx = ev->data;
    proxy_connect(ctx);
}

/* Every server is at max_conns: wait in the queue. PTC_AGAIN (waiting),
 * PTC_DECLINED (queue full or waited too long: 503). */
static int
proxy_enqueue(proxy_ctx_t *ctx)
{
    ptc_upstream_group_t *g = ctx->group;
    ptc_http_request_t *r = ctx->r;
    if (!ctx->queued) {
        if (g->nwaiting >= g->queue_max) {
            ptc_log_error(PTC_LOG_WARN, r->c->log, 0, "upstream queue is full");
            return PTC_DECLINED;
        }
        ptc_queue_insert_tail(&g->waiting, &ctx->wait_link);
        g->nwaiting++;
        ctx->queued = 1;
        ctx->wait_until = ptc_current_msec + g->queue_timeout;
    }
    if (ptc_current_msec >= ctx->wait_until) {
        proxy_dequeue(ctx);
        ptc_log_error(PTC_LOG_WARN, r->c->log, 0, "timed out waiting in the upstream queue");
        return PTC_DECLINED;
    }
    /* woken at once by a local release, else every 50 ms (another worker's
     * release, with a zone, frees a slot this worker cannot see happen) */
    ctx->wait_ev.data = ctx;
    ctx->wait_ev.handler = proxy_queue_event;
    ctx->wait_ev.log = r->c->log;
    ptc_event_add_timer(&ctx->wait_ev, ptc_min(50, ctx->wait_until - ptc_current_msec));
    return PTC_AGAIN;
}

static void
proxy_wake_waiter(ptc_upstream_group_t *g)
{
    if (g->nwaiting) {
        proxy_ctx_t *w = ptc_queue_data(ptc_queue_head(&g->waiting), proxy_ctx_t, wait_link);
        ptc_event_post(&w->wait_ev);
    }
}

static void
proxy_cleanup(void *data)
{
    proxy_ctx_t *ctx = data;
    proxy_dequeue(ctx);
    if (ctx->uc) {
        proxy_release_conn(ctx, false);
    }
}

/* ---- sending the request ---- */

/* Rewind the request chain for a (re)try: the head and the body buffers
 * go back to their start. */
static int
proxy_rewind(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ctx->head->pos = ctx->head->start;
    ptc_chain_t *head = ptc_chain_alloc(r->pool);
    if (head == NULL) {
        return PTC_ERROR;
    }
    head->buf = ctx->head;
    ptc_chain_t **ll = &head->next;
    for (ptc_chain_t *cl = ctx->body; cl; cl = cl->next) {
        ptc_buf_t *b = cl->buf, *copy = ptc_buf_calloc(r->pool);
        ptc_chain_t *link = ptc_chain_alloc(r->pool);
        if (copy == NULL || link == NULL) {
            return PTC_ERROR;
        }
        *copy = *b;
        if (b->in_file) {
            copy->file_pos = 0;
        } else {
            copy->pos = b->start;
        }
        link->buf = copy;
        *ll = link;
        ll = &link->next;
    }
    ctx->out = head;
    return PTC_OK;
}

static void
proxy_send(proxy_ctx_t *ctx)
{
    ptc_conn_t *uc = ctx->uc;
    ctx->state = PX_SEND;
    ptc_chain_t *rest = uc->send_chain(uc, ctx->out, 0);
    if (rest == (ptc_chain_t *)-1) {
        proxy_next(ctx, PROXY_FT_ERROR, "send() to upstream failed", errno);
        return;
    }
    ctx->request_sent = 1;
    ctx->out = rest;
    if (rest) {
        ptc_event_add_timer(uc->write, ctx->plcf->send_timeout);
        return;
    }
    ptc_event_del_timer(uc->write);
    if (ctx->streaming) {
        ptc_proxy_stream(ctx); /* the body follows the head as it arrives */
        return;
    }
    ptc_proxy_request_sent(ctx);
}

void
ptc_proxy_request_sent(proxy_ctx_t *ctx)
{
    ptc_conn_t *uc = ctx->uc;
    ctx->state = PX_HEADER;
    ptc_event_add_timer(uc->read, ctx->plcf->read_timeout);
    if (uc->read->ready) {
        proxy_up_read(uc->read);
    }
}

static void
proxy_up_write(ptc_event_t *ev)
{
    ptc_conn_t *uc = ev->data;
    proxy_ctx_t *ctx = uc->data;
    int err = 0;
    if (ctx->state == PX_CONNECT) {
        if (ev->timedout) {
            proxy_next(ctx, PROXY_FT_TIMEOUT, "upstream timed out while connecting", ETIMEDOUT);
            return;
        }
        if (ptc_conn_connect_result(uc, &err) != PTC_OK) {
            proxy_next(ctx, PROXY_FT_ERROR, "connect() failed", err);
            return;
        }
        proxy_connected(ctx);
        return;
    }
    if (ctx->state == PX_SEND) {
        if (ev->timedout) {
            proxy_next(ctx, PROXY_FT_TIMEOUT, "upstream timed out while sending request",
                       ETIMEDOUT);
            return;
        }
        if (ctx->streaming && ctx->out == NULL) {
            ptc_proxy_stream(ctx);
            return;
        }
        proxy_send(ctx);
        return;
    }
    if (ctx->state == PX_TUNNEL) {
        ptc_proxy_tunnel_start(ctx);
    }
}

/* ---- choosing a peer and connecting ---- */

/* A new connection is up (or a pooled one taken): TLS first for https,
 * under what is left of proxy_connect_timeout, then the request. */
static void
proxy_connected(proxy_ctx_t *ctx)
{
    if (ctx->ssl && !ctx->reused) {
        ptc_proxy_ssl_start(ctx);
        return;
    }
    ptc_event_del_timer(ctx->uc->write);
    ptc_proxy_tlog(ctx)->connect_ms = proxy_since(ctx->try_start);
    proxy_send(ctx);
}

void
ptc_proxy_ssl_done(proxy_ctx_t *ctx, unsigned ft)
{
    ptc_conn_t *uc = ctx->uc;
    ptc_log_t *log = ctx->r->c->log;
    uc->log = uc->read->log = uc->write->log = log;
    uc->read->handler = proxy_up_read;
    uc->write->handler = proxy_up_write;
    if (ft) {
        proxy_next(ctx, ft, NULL, 0); /* the reason is logged */
        return;
    }
    ptc_event_del_timer(uc->write);
    /* $upstream_connect_time includes the handshake, as in nginx */
    ptc_proxy_tlog(ctx)->connect_ms = proxy_since(ctx->try_start);
    proxy_send(ctx);
}

static void
proxy_fail(proxy_ctx_t *ctx, unsigned status)
{
    ptc_http_request_t *r = ctx->r;
    ctx->finished = 1;
    if (ctx->uc) {
        proxy_release_conn(ctx, false);
    }
    if (ctx->header_passed || status == 0) {
        /* part of the response is out: send what is here, then the client
         * sees a cut, never a complete-looking end */
        ptc_buf_t *b = ptc_buf_calloc(r->pool);
        if (b) {
            b->flush = 1;
            ptc_chain_t cl = {b, NULL};
            (void)ptc_http_output_filter(r, &cl);
        }
        r->c->error = 1;
        ptc_http_finalize(r, PTC_ERROR);
        return;
    }
    ptc_http_finalize_status(r, status);
}

/* Prepend a PROXY protocol header naming the client to this try's output. */
static int
proxy_pp_header(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_buf_t *b = ptc_buf_create(r->pool, PTC_PROXY_PROTOCOL_MAX);
    ptc_chain_t *cl = ptc_chain_alloc(r->pool);
    if (b == NULL || cl == NULL || ptc_conn_local_sockaddr(r->c) != PTC_OK) {
        return PTC_ERROR;
    }
    const struct sockaddr *src = (struct sockaddr *)&r->c->sockaddr;
    const struct sockaddr *dst = (struct sockaddr *)&r->c->local_sockaddr;
    b->last += ctx->plcf->proxy_protocol == 2 ? ptc_proxy_protocol_write_v2(b->last, src, dst)
                                              : ptc_proxy_protocol_write_v1(b->last, src, dst);
    cl->buf = b;
    if (ctx->ssl) {
        ctx->pp = cl; /* in plain, before the handshake */
        return PTC_OK;
    }
    cl->next = ctx->out;
    ctx->out = cl;
    return PTC_OK;
}

void
ptc_proxy_abort(proxy_ctx_t *ctx, unsigned status)
{
    proxy_fail(ctx, status);
}

/* proxy_bind: the source address of this try (*from NULL: none).
 * PTC_ERROR (logged) for a value that is not an address. */
static int
proxy_bind_source(proxy_ctx_t *ctx, ptc_conn_source_t *src, const ptc_conn_source_t **from)
{
    proxy_bind_t *b = ctx->plcf->bind;
    if (b->cv == NULL) {
        *from = &b->src;
        return PTC_OK;
    }
    ptc_str_t v;
    if (ptc_http_complex_value(ctx->r, b->cv, &v) != PTC_OK) {
        return PTC_ERROR;
    }
    if (v.len == 0) {
        return PTC_OK;
    }
    if (ptc_proxy_parse_bind(&v, src) != PTC_OK) {
        ptc_log_error(PTC_LOG_ERR, ctx->r->c->log, 0, "invalid local address \"%.*s\"",
                      PTC_STR_ARG(v));
        return PTC_ERROR;
    }
    src->transparent = b->src.transparent;
    *from = src;
    return PTC_OK;
}

static void
proxy_connect(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    int rc, err;
    bool fresh = ctx->retry_fresh;
    if (fresh) {
        /* same peer, new connection: the pooled one had been closed */
        ctx->retry_fresh = 0;
        ctx->tries--;
        goto try;
    }
    ctx->peer = ptc_upstream_group_pick(ctx->group, r, &ctx->pick, &ctx->backup_pick);
    if (ctx->peer == NULL && ctx->group->queue_max && ctx->fail_status == 0
        && ptc_upstream_group_busy(ctx->group)) {
        if (proxy_enqueue(ctx) == PTC_AGAIN) {
            return;
        }
        ptc_proxy_tlog(ctx)->status = 503;
        proxy_fail(ctx, 503);
        return;
    }
    proxy_dequeue(ctx);
    if (ctx->peer == NULL) {
        if (ctx->fail_status) {
            /* every other peer is down: the last try's failure decides */
            proxy_fail(ctx, ctx->fail_status);
            return;
        }
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0,
                      "no live upstreams while connecting to upstream \"" PTC_STR_FMT "\"",
                      PTC_STR_ARG(ctx->group->name));
        proxy_tlog_begin(ctx, &ctx->group->name);
        ptc_proxy_tlog(ctx)->status = 502;
        proxy_fail(ctx, 502);
        return;
    }
    proxy_tlog_begin(ctx, &ctx->peer->name);
    try : ctx
        ->tries++;
    ctx->try_start = ptc_current_msec;
    ctx->state = PX_CONNECT;
    ctx->status_line_done = 0;
    ctx->hbuf->pos = ctx->hbuf->last = ctx->hbuf->start;
    ctx->uheaders.nelts = 0;
    memset(&ctx->chunk, 0, sizeof(ctx->chunk));
    ctx->upstream_close = 0;
    ptc_upstream_group_conns(ctx->group, ctx->peer, 1);
    if (proxy_rewind(ctx) != PTC_OK) {
        proxy_fail(ctx, 500);
        return;
    }
    /* a connection that announced one client (PROXY header) is never
     * pooled, so it is never taken here either */
    ptc_conn_t *uc = fresh || ctx->plcf->proxy_protocol ? NULL : proxy_pooled(ctx);
    ctx->reused = uc != NULL;
    if (uc == NULL && ctx->plcf->proxy_protocol && proxy_pp_header(ctx) != PTC_OK) {
        proxy_fail(ctx, 500);
        return;
    }
    ptc_conn_source_t src;
    const ptc_conn_source_t *from = NULL;
    if (uc == NULL && ctx->plcf->bind && proxy_bind_source(ctx, &src, &from) != PTC_OK) {
        ptc_upstream_group_conns(ctx->group, ctx->peer, -1);
        proxy_fail(ctx, 500);
        return;
    }
    if (uc == NULL) {
        uc = ptc_conn_connect_from((struct sockaddr *)&ctx->peer->sockaddr, ctx->peer->socklen,
                                   from, r->c->log, &rc, &err);
        if (uc == NULL) {
            ptc_upstream_group_conns(ctx->group, ctx->peer, -1);
            proxy_next(ctx, PROXY_FT_ERROR, "connect() failed", err);
            return;
        }
        uc->start_msec = ptc_current_msec;
    } else {
        rc = PTC_OK;
    }
    ctx->uc = uc;
    uc->data = ctx;
    uc->log = r->c->log;
    uc->read->log = uc->write->log = uc->log;
    uc->read->handler = proxy_up_read;
    uc->write->handler = proxy_up_write;
    uc->sendfile = 1;
    if (rc == PTC_AGAIN) {
        ptc_event_add_timer(uc->write, ctx->plcf->connect_timeout);
        return;
    }
    proxy_connected(ctx);
}

/* A try failed before the response reached the client: count it against
 * the peer, then go to the next peer if proxy_next_upstream allows, else
 * answer 502/504. */
static void
proxy_next(proxy_ctx_t *ctx, unsigned ft, const char *what, int err)
{
    ptc_http_request_t *r = ctx->r;
    proxy_loc_conf_t *plcf = ctx->plcf;
    unsigned status = ft == PROXY_FT_TIMEOUT ? 504 : 502;
    if (ctx->reused && !ctx->status_line_done && proxy_idempotent(r) && (ft == PROXY_FT_ERROR)) {
        /* a pooled connection the upstream had closed: retry on a fresh
         * one without blaming the peer */
        ptc_log_error(PTC_LOG_INFO, r->c->log, err,
                      "%s (reused keep-alive connection), "
                      "retrying",
                      what);
        proxy_release_conn(ctx, false);
        ctx->retry_fresh = 1;
        proxy_connect(ctx);
        return;
    }
    if (what && (ft & (PROXY_FT_ERROR | PROXY_FT_TIMEOUT | PROXY_FT_INVALID_HEADER))) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, err,
                      "%s while talking to upstream, upstream: \"" PTC_STR_FMT "\"", what,
                      ctx->peer ? (int)ctx->peer->name.len : 0,
                      ctx->peer ? (const char *)ctx->peer->name.data : "");
    }
    if (ctx->peer) {
        /* a 403/404 is an answer, not a broken peer */
        bool failed = !(ft & (PROXY_FT_HTTP_403 | PROXY_FT_HTTP_404));
        ptc_upstream_group_release(ctx->group, ctx->peer,
                                   failed ? PTC_UPSTREAM_FAILED : PTC_UPSTREAM_OK);
    }
    if (!ctx->status_logged) {
        ptc_proxy_tlog(ctx)->status = status;
    }
    ptc_proxy_tlog(ctx)->response_ms = proxy_since(ctx->try_start);
    proxy_release_conn(ctx, false);
    ctx->peer = NULL;
    bool allowed = (plcf->next_upstream & ft) && !(plcf->next_upstream & PROXY_FT_OFF)
                   && !ctx->header_passed
                   && (plcf->next_upstream_tries == 0 || ctx->tries < plcf->next_upstream_tries)
                   && (plcf->next_upstream_timeout == 0
                       || ptc_current_msec - ctx->start < plcf->next_upstream_timeout)
                   && (proxy_idempotent(r) || !ctx->request_sent
                       || (plcf->next_upstream & PROXY_FT_NON_IDEMPOTENT))
                   /* a streamed body cannot be sent twice */
                   && !(r->request_body && ctx->sbuf && r->request_body->received > 0);
    if (!allowed) {
        proxy_fail(ctx, status);
        return;
    }
    ctx->status = 0;
    ctx->status_logged = 0;
    ctx->request_sent = 0;
    ctx->fail_status = status;
    proxy_connect(ctx);
}

/* ---- the response head ---- */

static int
proxy_read_head(proxy_ctx_t *ctx)
{
    ptc_buf_t *b = ctx->hbuf;
    ptc_conn_t *uc = ctx->uc;
    if (b->last == b->end) {
        return PTC_DECLINED; /* the head does not fit proxy_buffer_size */
    }
    ssize_t n = uc->recv(uc, b->last, (size_t)(b->end - b->last));
    if (n == PTC_AGAIN) {
        return PTC_AGAIN;
    }
    if (n <= 0) {
        return PTC_ERROR;
    }
    b->last += n;
    return PTC_OK;
}

static int
proxy_parse_head(proxy_ctx_t *ctx)
{
    ptc_buf_t *b = ctx->hbuf;
    if (!ctx->status_line_done) {
        int rc = ptc_proxy_parse_status_line(ctx, b);
        if (rc != PTC_OK) {
            return rc;
        }
        ctx->status_line_done = 1;
        memset(&ctx->hp, 0, sizeof(ctx->hp));
        ctx->uheaders.nelts = 0;
    }
    for (;;) {
        int rc = ptc_http_parse_header_line(&ctx->hp, b, true);
        if (rc == PTC_DONE) {
            if (ctx->status >= 100 && ctx->status < 200 && ctx->status != 101) {
                /* an interim response: skip it, the final one follows */
                ctx->status_line_done = 0;
                int next = ptc_proxy_parse_status_line(ctx, b);
                if (next != PTC_OK) {
                    return next;
                }
                ctx->status_line_done = 1;
                ctx->uheaders.nelts = 0;
                continue;
            }
            return PTC_DONE;
        }
        if (rc != PTC_OK) {
            return rc;
        }
        if (ctx->uheaders.nelts >= PROXY_HEADERS_MAX) {
            return PTC_ERROR;
        }
        ptc_http_header_t *h = ptc_array_push(&ctx->uheaders);
        if (h == NULL) {
            return PTC_ERROR;
        }
        h->name.data = ctx->hp.header_name_start;
        h->name.len = (size_t)(ctx->hp.header_name_end - ctx->hp.header_name_start);
        h->value.data = ctx->hp.header_start;
        h->value.len = (size_t)(ctx->hp.header_end - ctx->hp.header_start);
        h->hash = 1;
    }
}

static unsigned
proxy_status_ft(unsigned status)
{
    switch (status) {
    case 500:
        return PROXY_FT_HTTP_500;
    case 502:
        return PROXY_FT_HTTP_502;
    case 503:
        return PROXY_FT_HTTP_503;
    case 504:
        return PROXY_FT_HTTP_504;
    case 403:
        return PROXY_FT_HTTP_403;
    case 404:
        return PROXY_FT_HTTP_404;
    case 429:
        return PROXY_FT_HTTP_429;
    default:
        return 0;
    }
}

/* Would proxy_next_upstream send this status to another peer, and is one
 * left? (Without a next peer the response itself is passed on.) */
static bool
proxy_retry_status(proxy_ctx_t *ctx)
{
    proxy_loc_conf_t *plcf = ctx->plcf;
    unsigned ft = proxy_status_ft(ctx->status);
    if (ft == 0 || !(plcf->next_upstream & ft)
        || (plcf->next_upstream_tries && ctx->tries >= plcf->next_upstream_tries)
        || (!proxy_idempotent(ctx->r) && !(plcf->next_upstream & PROXY_FT_NON_IDEMPOTENT))) {
        return false;
    }
    if (plcf->next_upstream_timeout
        && ptc_current_msec - ctx->start >= plcf->next_upstream_timeout) {
        return false;
    }
    ptc_upstream_pick_t probe = ctx->pick;
    probe.now = ptc_current_msec;
    return ptc_upstream_group_has_next(ctx->group, &probe, &ctx->backup_pick);
}

static bool
proxy_intercept(proxy_ctx_t *ctx)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(ctx->r);
    if (!ctx->plcf->intercept_errors || ctx->status < 300 || clcf->error_pages == NULL) {
        return false;
    }
    ptc_http_error_page_t *ep = clcf->error_pages->elts;
    for (size_t i = 0; i < clcf->error_pages->nelts; i++) {
        if (ep[i].status == ctx->status) {
            return true;
        }
    }
    return false;
}

/* Is this X-Accel-Redirect path safe to serve (no "." or ".." segment
 * that climbs, no NUL)? */
static bool
proxy_safe_uri(const ptc_str_t *uri)
{
    if (memchr(uri->data, '\0', uri->len)) {
        return false;
    }
    for (size_t i = 0; i < uri->len; i++) {
        if (uri->data[i] != '/') {
            continue;
        }
        size_t rest = uri->len - i - 1;
        const u_char *p = uri->data + i + 1;
        if ((rest >= 2 && p[0] == '.' && p[1] == '.' && (rest == 2 || p[2] == '/'))
            || (rest >= 1 && p[0] == '.' && (rest == 1 || p[1] == '/'))) {
            return false;
        }
    }
    return true;
}

/* X-Accel-Redirect: drop the upstream response and serve the named URI
 * (or @location) instead, as a GET, keeping the headers nginx keeps. */
static void
proxy_accel_redirect(proxy_ctx_t *ctx, ptc_str_t uri)
{
    static const char *const kept[] = {"set-cookie", "content-disposition", "cache-control",
                                       "expires",    "accept-ranges",       NULL};
    ptc_http_request_t *r = ctx->r;
    ctx->finished = 1;
    ctx->state = PX_DONE;
    ptc_proxy_tlog(ctx)->response_ms = proxy_since(ctx->try_start);
    ptc_upstream_group_release(ctx->group, ctx->peer, PTC_UPSTREAM_OK);
    proxy_release_conn(ctx, false);
    ptc_http_header_t *hs = ctx->uheaders.elts;
    for (size_t i = 0; i < ctx->uheaders.nelts; i++) {
        for (const char *const *k = kept; *k; k++) {
            if (ptc_str_caseeq_c(&hs[i].name, *k)
                && ptc_http_add_header_out(r, &hs[i].name, &hs[i].value) == NULL) {
                ptc_http_finalize_status(r, 500);
                return;
            }
        }
    }
    r->read_event_handler = NULL;
    if (r->method != PTC_HTTP_HEAD) {
        r->method = PTC_HTTP_GET;
        ptc_str_set(&r->method_name, "GET");
    }
    if (uri.data[0] == '@') {
        ptc_http_named_location(r, &uri);
        return;
    }
    ptc_str_t args = ptc_null_string;
    u_char *q = memchr(uri.data, '?', uri.len);
    if (q) {
        args.data = q + 1;
        args.len = uri.len - (size_t)(q + 1 - uri.data);
        uri.len = (size_t)(q - uri.data);
    }
    if (uri.len == 0 || uri.data[0] != '/' || !proxy_safe_uri(&uri)) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "unsafe URI \"%.*s\" was detected",
                      PTC_STR_ARG(uri));
        ptc_http_finalize_status(r, 404);
        return;
    }
    ptc_http_internal_redirect(r, &uri, &args); /* no "?": no args, as nginx */
}

/* proxy_force_ranges: answer a single Range of a 200 response of known
 * length from the upstream's whole body (206, or 416 when unsatisfiable).
 * PTC_OK to go on, PTC_DONE when the request was answered. */
static int
proxy_force_range(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_http_headers_out_t *out = &r->headers_out;
    if (ctx->status != 200 || ctx->no_body || ctx->chunked || ctx->rest < 0
        || ptc_http_core_loc(r)->max_ranges == 0 || proxy_intercept(ctx)) {
        return PTC_OK;
    }
    ptc_str_t etag = ptc_null_string;
    ptc_http_header_t *hs = ctx->uheaders.elts;
    bool accept = false;
    for (size_t i = 0; i < ctx->uheaders.nelts; i++) {
        if (ptc_str_caseeq_c(&hs[i].name, "etag")) {
            etag = hs[i].value;
        }
        accept |= ptc_str_caseeq_c(&hs[i].name, "accept-ranges");
    }
    if (!accept) {
        out->accept_ranges = 1;
    }
    if (r->method != PTC_HTTP_GET) {
        return PTC_OK;
    }
    ptc_http_range_t range;
    off_t size = ctx->rest;
    int rc = ptc_http_static_range(&r->headers_in, &etag, (time_t)-1, size, &range);
    if (rc == PTC_DECLINED) {
        return PTC_OK;
    }
    if (rc == PTC_ERROR) {
        ctx->finished = 1;
        ctx->state = PX_DONE;
        ptc_upstream_group_release(ctx->group, ctx->peer, PTC_UPSTREAM_OK);
        proxy_release_conn(ctx, false);
        out->list.nelts = 0;
        if (ptc_http_static_content_range(r->pool, NULL, size, &out->content_range) != PTC_OK) {
            ptc_http_finalize_status(r, 500);
            return PTC_DONE;
        }
        ptc_http_finalize_status(r, 416);
        return PTC_DONE;
    }
    if (ptc_http_static_content_range(r->pool, &range, size, &out->content_range) != PTC_OK) {
        proxy_fail(ctx, 500);
        return PTC_DONE;
    }
    out->status = 206;
    out->content_length_n = range.end - range.start + 1;
    ctx->ranged = 1;
    ctx->range_skip = range.start;
    ctx->range_left = out->content_length_n;
    return PTC_OK;
}

static void
proxy_head_done(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_proxy_tlog(ctx)->status = ctx->status;
    ptc_proxy_tlog(ctx)->header_ms = proxy_since(ctx->try_start);
    ctx->status_logged = 1;
    if (proxy_retry_status(ctx)) {
        ptc_log_error(PTC_LOG_INFO, r->c->log, 0, "upstream answered %u, trying the next one",
                      ctx->status);
        proxy_next(ctx, proxy_status_ft(ctx->status), "upstream answered an error status", 0);
        return;
    }
    const ptc_str_t *xar = ptc_proxy_accel_redirect(ctx);
    if (xar) {
        proxy_accel_redirect(ctx, *xar);
        return;
    }
    if (ptc_proxy_process_headers(ctx) != PTC_OK) {
        proxy_next(ctx, PROXY_FT_INVALID_HEADER, "upstream sent invalid header", 0);
        return;
    }
    if (ctx->status == 101 && r->headers_in.upgrade) {
        ptc_proxy_tunnel_start(ctx);
        return;
    }
    if (ctx->plcf->force_ranges && proxy_force_range(ctx) != PTC_OK) {
        return;
    }
    if (proxy_intercept(ctx)) {
        ptc_upstream_group_release(ctx->group, ctx->peer, PTC_UPSTREAM_OK);
        proxy_release_conn(ctx, false);
        ctx->finished = 1;
        r->headers_out.list.nelts = 0;
        ptc_http_finalize_status(r, ctx->status);
        return;
    }
    ctx->header_passed = 1;
    int rc = ptc_http_send_header(r);
    if (rc == PTC_ERROR) {
        proxy_fail(ctx, 500);
        return;
    }
    if (ctx->no_body || rc == PTC_DONE) {
        /* HEAD, 1xx, 204, 304: a body would be a protocol error; a HEAD
         * answered with a body by the upstream makes the connection unusable */
        ctx->finished = 1;
        ptc_proxy_tlog(ctx)->response_ms = proxy_since(ctx->try_start);
        ptc_upstream_group_release(ctx->group, ctx->peer, PTC_UPSTREAM_OK);
        bool clean =
            ctx->hbuf->pos == ctx->hbuf->last && !ctx->upstream_close && !ctx->request_close;
        proxy_release_conn(ctx, clean);
        ptc_http_finalize(r, PTC_OK);
        return;
    }
    ctx->state = PX_BODY;
    ctx->rate_start = ptc_current_msec;
    r->resume_handler = proxy_resume;
    proxy_read_body(ctx);
}

static void
proxy_up_read(ptc_event_t *ev)
{
    ptc_conn_t *uc = ev->data;
    proxy_ctx_t *ctx = uc->data;
    if (ctx->state == PX_TUNNEL) {
        ptc_proxy_tunnel_start(ctx);
        return;
    }
    if (ctx->state == PX_BODY) {
        if (ev->timedout && ctx->rate_delayed) {
            ev->timedout = 0; /* proxy_limit_rate: time to read again */
            proxy_read_body(ctx);
            return;
        }
        if (ev->timedout) {
            ptc_log_error(PTC_LOG_ERR, ctx->r->c->log, ETIMEDOUT,
                          "upstream timed out while reading upstream");
            proxy_fail(ctx, 504);
            return;
        }
        proxy_read_body(ctx);
        return;
    }
    if (ctx->state != PX_HEADER) {
        return; /* response data before the request went out: wait */
    }
    if (ev->timedout) {
        proxy_next(ctx, PROXY_FT_TIMEOUT, "upstream timed out while reading response header",
                   ETIMEDOUT);
        return;
    }
    for (;;) {
        int rc = proxy_parse_head(ctx);
        if (rc == PTC_DONE) {
            ptc_event_del_timer(ev);
            proxy_head_done(ctx);
            return;
        }
        if (rc == PTC_ERROR) {
            proxy_next(ctx, PROXY_FT_INVALID_HEADER, "upstream sent invalid response head", 0);
            return;
        }
        rc = proxy_read_head(ctx);
        if (rc == PTC_AGAIN) {
            return;
        }
        if (rc == PTC_DECLINED) {
            proxy_next(ctx, PROXY_FT_INVALID_HEADER, "upstream sent too big header", 0);
            return;
        }
        if (rc == PTC_ERROR) {
            proxy_next(ctx, PROXY_FT_ERROR,
                       "upstream prematurely closed connection while reading response header", 0);
            return;
        }
    }
}

/* ---- the response body ---- */

/* Read from the upstream within proxy_limit_rate (buffered responses, as
 * in nginx): the rate allows rate * (elapsed + 1 s) bytes so far; beyond
 * that, PTC_AGAIN with a timer (ctx->rate_delayed) that resumes reading. */
static ssize_t
proxy_recv(proxy_ctx_t *ctx, u_char *buf, size_t size)
{
    ptc_conn_t *uc = ctx->uc;
    size_t rate = ctx->plcf->limit_rate;
    ctx->rate_delayed = 0;
    if (rate && ctx->buffering) {
        ptc_msec_t elapsed = ptc_current_msec - ctx->rate_start;
        off_t allowed = (off_t)((uint64_t)rate * (elapsed + 1000) / 1000) - ctx->rate_read;
        if (allowed <= 0) {
            ctx->rate_delayed = 1;
            ptc_event_add_timer(uc->read, (ptc_msec_t)(-allowed * 1000 / (off_t)rate) + 1);
            return PTC_AGAIN;
        }
        size = ptc_min(size, (size_t)allowed);
    }
    if (!uc->read->ready && !uc->read->eof) {
        return PTC_AGAIN;
    }
    ssize_t n = uc->recv(uc, buf, size);
    if (n > 0) {
        ctx->rate_read += n;
    }
    return n;
}

static ptc_buf_t *
proxy_free_buf(proxy_ctx_t *ctx)
{
    proxy_loc_conf_t *plcf = ctx->plcf;
    for (size_t i = 0; i < ctx->nbufs; i++) {
        ptc_buf_t *b = ctx->bufs[i];
        if (b->pos == b->last) {
            b->pos = b->last = b->start;
            b->flush = 0;
            return b;
        }
    }
    if (ctx->nbufs == (size_t)plcf->bufs_num) {
        return NULL;
    }
    if (ctx->bufs == NULL) {
        ctx->bufs = ptc_pcalloc(ctx->r->pool, (size_t)plcf->bufs_num * sizeof(ptc_buf_t *));
        ctx->links = ptc_pcalloc(ctx->r->pool, (size_t)plcf->bufs_num * sizeof(ptc_chain_t));
        if (ctx->bufs == NULL || ctx->links == NULL) {
            return NULL;
        }
    }
    ptc_buf_t *b = ptc_buf_create(ctx->r->pool, plcf->bufs_size);
    if (b != NULL) {
        ctx->bufs[ctx->nbufs++] = b;
    }
    return b;
}

/* Bytes of body buffers handed to the client side and not yet written. */
static size_t
proxy_busy_bytes(proxy_ctx_t *ctx)
{
    size_t n = 0;
    for (size_t i = 0; i < ctx->nbufs; i++) {
        n += (size_t)(ctx->bufs[i]->last - ctx->bufs[i]->pos);
    }
    return n;
}

static bool
proxy_free_buf_peek(proxy_ctx_t *ctx)
{
    for (size_t i = 0; i < ctx->nbufs; i++) {
        if (ctx->bufs[i]->pos == ctx->bufs[i]->last) {
            return true;
        }
    }
    return ctx->nbufs < (size_t)ctx->plcf->bufs_num;
}

/* Decode chunked framing in place: the data of [pos, last) is compacted to
 * [pos, new last). PTC_OK (more to come), PTC_DONE (body complete),
 * PTC_ERROR. *extra tells whether bytes followed the body. */
static int
proxy_dechunk(proxy_ctx_t *ctx, ptc_buf_t *b, bool *extra)
{
    ptc_buf_t in = *b;
    u_char *w = b->pos;
    for (;;) {
        int rc = ptc_http_parse_chunked(&ctx->chunk, &in);
        if (rc == PTC_OK) {
            size_t n = (size_t)ctx->chunk.size;
            memmove(w, in.pos, n);
            w += n;
            in.pos += n;
            continue;
        }
        b->last = w;
        if (rc == PTC_DONE) {
            *extra = in.pos < in.last;
        }
        return rc == PTC_AGAIN ? PTC_OK : rc;
    }
}

static void
proxy_body_done(proxy_ctx_t *ctx, bool reusable)
{
    ptc_http_request_t *r = ctx->r;
    ctx->finished = 1;
    ctx->state = PX_DONE;
    r->resume_handler = NULL;
    ptc_proxy_tlog(ctx)->response_ms = proxy_since(ctx->try_start);
    ptc_upstream_group_release(ctx->group, ctx->peer, PTC_UPSTREAM_OK);
    proxy_release_conn(ctx, reusable && !ctx->close_delimited && !ctx->upstream_close
                                && !ctx->request_close);
    ptc_buf_t *b = ptc_buf_calloc(r->pool);
    if (b == NULL) {
        ptc_http_finalize(r, PTC_ERROR);
        return;
    }
    b->last_buf = 1;
    ptc_chain_t cl = {b, NULL};
    int rc = ptc_http_output_filter(r, &cl);
    ptc_http_finalize(r, rc == PTC_ERROR ? PTC_ERROR : PTC_OK);
}

/* proxy_force_ranges: of the body bytes in b, keep those of the range. */
static void
proxy_range_trim(proxy_ctx_t *ctx, ptc_buf_t *b)
{
    if (!ctx->ranged) {
        return;
    }
    off_t skip = ptc_min(ctx->range_skip, (off_t)(b->last - b->pos));
    b->pos += skip;
    ctx->range_skip -= skip;
    off_t keep = ptc_min(ctx->range_left, (off_t)(b->last - b->pos));
    b->last = b->pos + keep;
    ctx->range_left -= keep;
}

/* Framing of the bytes now in b: their length is trimmed to this
 * response's body. PTC_OK (more to come), PTC_DONE (body complete; *extra
 * when bytes followed it), PTC_ERROR (handled). */
static int
proxy_account(proxy_ctx_t *ctx, ptc_buf_t *b, bool *extra)
{
    *extra = false;
    if (ctx->chunked) {
        int rc = proxy_dechunk(ctx, b, extra);
        if (rc == PTC_ERROR) {
            ptc_log_error(PTC_LOG_ERR, ctx->r->c->log, 0,
                          "upstream sent invalid chunked "
                          "response");
            proxy_fail(ctx, 502);
        }
        return rc;
    }
    if (ctx->rest >= 0) {
        off_t n = ptc_min((off_t)(b->last - b->pos), ctx->rest);
        *extra = (off_t)(b->last - b->pos) > n;
        b->last = b->pos + n;
        ctx->rest -= n;
        proxy_range_trim(ctx, b);
        return ctx->rest == 0 ? PTC_DONE : PTC_OK;
    }
    return PTC_OK;
}

/* Hand a chain of body buffers to the client side. PTC_OK or PTC_ERROR
 * (handled). */
static int
proxy_emit(proxy_ctx_t *ctx, ptc_chain_t *cl)
{
    if (cl == NULL) {
        return PTC_OK;
    }
    if (ptc_http_output_filter(ctx->r, cl) == PTC_ERROR) {
        proxy_fail(ctx, 502);
        return PTC_ERROR;
    }
    return PTC_OK;
}

static ptc_chain_t *
proxy_link(proxy_ctx_t *ctx, ptc_buf_t *b)
{
    for (size_t i = 0; i < ctx->nbufs; i++) {
        if (ctx->bufs[i] == b) {
            ctx->links[i].buf = b;
            ctx->links[i].next = NULL;
            return &ctx->links[i];
        }
    }
    return NULL;
}

/* ---- spooling to a temp file when the client is slow ---- */

static int
proxy_spool_open(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ctx->spool_fd = ptc_temp_file_open(r->pool, &ctx->plcf->temp_path, false, r->c->log, NULL);
    if (ctx->spool_fd == -1) {
        return PTC_ERROR;
    }
    /* large pieces: fewer writes, and fewer file ranges when they cannot
     * be merged (a chunked response to the client) */
    ctx->spool_read = ptc_buf_create(r->pool, ptc_max(ctx->plcf->bufs_size, 65536));
    return ctx->spool_read ? PTC_OK : PTC_ERROR;
}

/* Append b's bytes to the spool file and hand the range to the output
 * (growing the last range while it is still queued). PTC_OK / PTC_ERROR. */
static int
proxy_spool_write(proxy_ctx_t *ctx, ptc_buf_t *b)
{
    size_t n = (size_t)(b->last - b->pos);
    const u_char *p = b->pos;
    while (n) {
        ssize_t w = pwrite(ctx->spool_fd, p, n, ctx->spool_size);
        if (w == -1 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            ptc_log_error(PTC_LOG_CRIT, ctx->r->c->log, errno, "write() to a spool file failed");
            return PTC_ERROR;
        }
        p += w;
        n -= (size_t)w;
        ctx->spool_size += w;
    }
    b->pos = b->last;
    ptc_buf_t *f = ctx->spool_buf;
    if (f && !ctx->r->chunked_out && f->file_pos < f->file_last
        && f->file_last + (p - b->start) == ctx->spool_size) {
        f->file_last = ctx->spool_size; /* still queued: the range just grows */
        return PTC_OK;
    }
    f = ptc_buf_calloc(ctx->r->pool);
    if (f == NULL) {
        return PTC_ERROR;
    }
    f->in_file = 1;
    f->fd = ctx->spool_fd;
    f->file_pos = ctx->spool_size - (p - b->start);
    f->file_last = ctx->spool_size;
    ctx->spool_buf = f;
    ptc_chain_t cl = {f, NULL};
    return proxy_emit(ctx, &cl);
}

/* Every memory buffer waits for a slow client: keep reading the upstream
 * into the spool file so it is released as soon as it is done, as nginx
 * does. PTC_OK (read all there was), PTC_DONE (finished or failed: handled),
 * PTC_DECLINED (spooling not possible: pause instead). */
static int
proxy_spool(proxy_ctx_t *ctx)
{
    ptc_conn_t *uc = ctx->uc;
    bool extra;
    if (!ctx->buffering || ctx->plcf->max_temp_file_size == 0) {
        return PTC_DECLINED;
    }
    if (ctx->spool_fd == -1 && proxy_spool_open(ctx) != PTC_OK) {
        return PTC_DECLINED;
    }
    for (;;) {
        if ((size_t)ctx->spool_size >= ctx->plcf->max_temp_file_size) {
            return PTC_DECLINED;
        }
        ptc_buf_t *b = ctx->spool_read;
        b->pos = b->last = b->start;
        size_t size = (size_t)(b->end - b->last);
        if (!ctx->chunked && ctx->rest > 0 && (off_t)size > ctx->rest) {
            size = (size_t)ctx->rest;
        }
        ssize_t n = proxy_recv(ctx, b->last, size);
        if (n == PTC_AGAIN) {
            if (!ctx->rate_delayed) {
                ptc_event_add_timer(uc->read, ctx->plcf->read_timeout);
            }
            return PTC_OK;
        }
        if (n == 0 && ctx->close_delimited) {
            proxy_body_done(ctx, false);
            return PTC_DONE;
        }
        if (n <= 0) {
            ptc_log_error(PTC_LOG_ERR, ctx->r->c->log, 0,
                          "upstream prematurely closed connection while reading upstream");
            proxy_fail(ctx, 502);
            return PTC_DONE;
        }
        b->last += n;
        int rc = proxy_account(ctx, b, &extra);
        if (rc == PTC_ERROR) {
            return PTC_DONE;
        }
        if (b->last > b->pos && proxy_spool_write(ctx, b) != PTC_OK) {
            proxy_fail(ctx, 502);
            return PTC_DONE;
        }
        if (rc == PTC_DONE) {
            proxy_body_done(ctx, !extra);
            return PTC_DONE;
        }
    }
}

static void
proxy_read_body(proxy_ctx_t *ctx)
{
    ptc_conn_t *uc = ctx->uc;
    bool extra;
    if (!ctx->head_body_done) {
        /* body bytes that came with the head (the buffer then belongs to
         * the output until sent; it is never read into again) */
        ctx->head_body_done = 1;
        ptc_buf_t *hb = ctx->hbuf;
        if (hb->pos < hb->last) {
            int rc = proxy_account(ctx, hb, &extra);
            if (rc == PTC_ERROR) {
                return;
            }
            ptc_chain_t cl = {hb, NULL};
            hb->flush = !ctx->buffering;
            if (hb->last > hb->pos && proxy_emit(ctx, &cl) != PTC_OK) {
                return;
            }
            if (rc == PTC_DONE) {
                proxy_body_done(ctx, !extra);
                return;
            }
        }
    }
    if (ctx->finished) {
        return;
    }
    if (ctx->rest == 0 && !ctx->chunked) {
        proxy_body_done(ctx, true);
        return;
    }
    /* With proxy_buffering on, what the upstream has ready is read into as
     * many buffers as are free and goes to the client in one write; off,
     * each read is passed on (and flushed) at once. */
    ptc_chain_t *batch = NULL, **ll = &batch;
    for (;;) {
        /* proxy_busy_buffers_size: beyond this much waiting for the client,
         * further data goes to the spool file rather than to memory */
        bool busy = batch == NULL /* only what was handed over counts */
                    && ctx->buffering && ctx->plcf->max_temp_file_size
                    && proxy_busy_bytes(ctx) >= ctx->plcf->busy_buffers_size;
        ptc_buf_t *b = ctx->spool_fd != -1 || busy ? NULL : proxy_free_buf(ctx);
        if (b == NULL && busy && ctx->spool_fd == -1) {
            if (proxy_emit(ctx, batch) != PTC_OK) {
                return;
            }
            batch = NULL;
            ll = &batch;
            int rc = proxy_spool(ctx);
            if (rc != PTC_DECLINED) {
                return;
            }
            b = proxy_free_buf(ctx); /* spooling impossible: use memory as before */
        }
        if (b == NULL && ctx->spool_fd != -1) {
            /* once spooling, everything goes through the file: order */
            if (proxy_emit(ctx, batch) != PTC_OK) {
                return;
            }
            int rc = proxy_spool(ctx);
            if (rc != PTC_DECLINED) {
                return;
            }
            ptc_event_del_timer(uc->read); /* spool full: wait for the client */
            return;
        }
        if (b == NULL) {
            if (batch) {
                if (proxy_emit(ctx, batch) != PTC_OK) {
                    return;
                }
                batch = NULL;
                ll = &batch;
                if (proxy_free_buf_peek(ctx)) {
                    continue;
                }
            }
            int rc = proxy_spool(ctx);
            if (rc != PTC_DECLINED) {
                return;
            }
            /* every buffer waits for the client: make sure they are on their
             * way (small pieces may be held back), and stop timing the
             * upstream, which is not the slow side; proxy_resume continues */
            ptc_event_del_timer(uc->read);
            ptc_buf_t *f = ptc_buf_calloc(ctx->r->pool);
            if (f != NULL) {
                f->flush = 1;
                ptc_chain_t cl = {f, NULL};
                if (proxy_emit(ctx, &cl) != PTC_OK) {
                    return;
                }
                if (proxy_free_buf_peek(ctx)) {
                    continue; /* the flush freed a buffer */
                }
            }
            return;
        }
        size_t size = (size_t)(b->end - b->last);
        if (!ctx->chunked && ctx->rest > 0 && (off_t)size > ctx->rest) {
            size = (size_t)ctx->rest; /* never read past this response */
        }
        ssize_t n = proxy_recv(ctx, b->last, size);
        if (n == PTC_AGAIN) {
            if (proxy_emit(ctx, batch) != PTC_OK) {
                return;
            }
            if (!ctx->rate_delayed) {
                ptc_event_add_timer(uc->read, ctx->plcf->read_timeout);
            }
            return;
        }
        if (n == 0 && ctx->close_delimited) {
            if (proxy_emit(ctx, batch) == PTC_OK) {
                proxy_body_done(ctx, false);
            }
            return;
        }
        if (n <= 0) {
            ptc_log_error(PTC_LOG_ERR, ctx->r->c->log, 0,
                          "upstream prematurely closed connection while reading upstream");
            if (proxy_emit(ctx, batch) == PTC_OK) {
                proxy_fail(ctx, 502);
            }
            return;
        }
        b->last += n;
        int rc = proxy_account(ctx, b, &extra);
        if (rc == PTC_ERROR) {
            return;
        }
        if (b->last > b->pos) {
            ptc_chain_t *link = proxy_link(ctx, b);
            b->flush = !ctx->buffering;
            *ll = link;
            ll = &link->next;
        }
        if (rc == PTC_DONE || !ctx->buffering) {
            if (proxy_emit(ctx, batch) != PTC_OK) {
                return;
            }
            batch = NULL;
            ll = &batch;
        }
        if (rc == PTC_DONE) {
            proxy_body_done(ctx, !extra);
            return;
        }
    }
}

static void
proxy_resume(ptc_http_request_t *r)
{
    proxy_ctx_t *ctx = ptc_http_get_ctx(r, ptc_proxy_module);
    if (ctx && ctx->state == PX_BODY && !ctx->finished && ctx->uc) {
        proxy_read_body(ctx);
    }
}

/* ---- a client that goes away (proxy_ignore_client_abort off) ---- */

static const char *
proxy_action(const proxy_ctx_t *ctx)
{
    if (ctx->queued) {
        return "waiting in the upstream queue";
    }
    switch (ctx->state) {
    case PX_CONNECT:
    case PX_SSL:
        return "connecting to upstream";
    case PX_SEND:
        return "sending request to upstream";
    case PX_HEADER:
        return "reading response header from upstream";
    default:
        return "reading upstream";
    }
}

/* End the request as nginx does for a client that closed: the upstream
 * connection is closed (never pooled), the peer is given back, and the
 * request is logged 499 unless part of the response already went out. */
static void
proxy_client_closed(proxy_ctx_t *ctx, int err)
{
    ptc_http_request_t *r = ctx->r;
    ptc_log_error(PTC_LOG_INFO, r->c->log, err,
                  "client prematurely closed connection, so upstream connection is closed "
                  "too while %s",
                  proxy_action(ctx));
    proxy_dequeue(ctx);
    ctx->finished = 1;
    ctx->state = PX_DONE;
    r->resume_handler = NULL;
    if (ctx->uc && ctx->peer) {
        ptc_proxy_tlog(ctx)->response_ms = proxy_since(ctx->try_start);
        ptc_upstream_group_release(ctx->group, ctx->peer, PTC_UPSTREAM_OK);
    }
    proxy_release_conn(ctx, false);
    ctx->peer = NULL;
    if (r->headers_out.status == 0 || r->c->sent == r->sent_start) {
        r->headers_out.status = 499;
    }
    ptc_http_finalize(r, PTC_ERROR);
}

void
ptc_proxy_client_event(ptc_http_request_t *r)
{
    proxy_ctx_t *ctx = ptc_http_get_ctx(r, ptc_proxy_module);
    if (ctx == NULL || ctx->finished || ctx->plcf->ignore_client_abort) {
        return;
    }
    ptc_conn_t *c = r->c;
    int err = 0;
    if (!c->read->eof) {
        /* readable: pipelined bytes are no abort, only an end or an error */
        u_char byte;
        ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK);
        if (n > 0) {
            return;
        }
        if (n < 0) {
            err = errno;
            if (err == EAGAIN || err == EINTR) {
                return;
            }
        }
    }
    socklen_t len = sizeof(err);
    if (err == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
        err = errno;
    }
    c->read->eof = 1;
    proxy_client_closed(ctx, err);
}

/* ---- the content handler ---- */

static int
proxy_eval_url(proxy_ctx_t *ctx, ptc_str_t *uri, bool *has_uri)
{
    ptc_http_request_t *r = ctx->r;
    ptc_str_t url;
    if (ptc_http_complex_value(r, ctx->plcf->url_cv, &url) != PTC_OK) {
        return PTC_ERROR;
    }
    size_t skip = 0;
    if (url.len > 7 && ptc_strncasecmp(url.data, (const u_char *)"http://", 7) == 0) {
        skip = 7;
        ctx->ssl = NULL;
    } else if (url.len > 8 && ptc_strncasecmp(url.data, (const u_char *)"https://", 8) == 0) {
        skip = 8;
        ctx->ssl = ctx->plcf->ssl_ctx;
    } else {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "invalid URL prefix in \"%.*s\"",
                      PTC_STR_ARG(url));
        return PTC_ERROR;
    }
    ptc_str_t rest = {url.len - skip, url.data + skip};
    u_char *slash = memchr(rest.data, '/', rest.len);
    ctx->host.data = rest.data;
    ctx->host.len = slash ? (size_t)(slash - rest.data) : rest.len;
    *has_uri = slash != NULL;
    u_char *colon = memchr(ctx->host.data, ':', ctx->host.len);
    if (colon) {
        ctx->port.data = colon + 1;
        ctx->port.len = ctx->host.len - (size_t)(colon + 1 - ctx->host.data);
    } else {
        ptc_str_set(&ctx->port, ctx->ssl ? "443" : "80");
    }
    if (slash) {
        uri->data = slash;
        uri->len = (size_t)(rest.data + rest.len - slash);
    }
    /* a variable target may only name a configured upstream group or an
     * address; host names are not resolved at run time (no resolver) */
    ctx->group = NULL;
    ptc_upstream_group_t *g = ptc_upstream_group_for(r, &ctx->host, ctx->ssl ? 443 : 80);
    if (g == NULL) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0,
                      "no upstream \"%.*s\" (a proxy_pass with "
                      "variables needs a configured upstream or an "
                      "address)",
                      PTC_STR_ARG(ctx->host));
        return PTC_DECLINED;
    }
    ctx->group = g;
    return PTC_OK;
}

static void
proxy_start(ptc_http_request_t *r)
{
    proxy_ctx_t *ctx = ptc_http_get_ctx(r, ptc_proxy_module);
    ptc_str_t uri = ctx->plcf->uri;
    bool has_uri = ctx->plcf->has_uri;
    if (ctx->plcf->url_cv) {
        int rc = proxy_eval_url(ctx, &uri, &has_uri);
        if (rc != PTC_OK) {
            ptc_http_finalize_status(r, rc == PTC_ERROR || ctx->host.len == 0 ? 500 : 502);
            return;
        }
    }
    if (ctx->ssl && ptc_proxy_ssl_name(ctx) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return;
    }
    if (ptc_proxy_build_request(ctx, &uri, has_uri) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return;
    }
    if (!ctx->streaming) {
        r->read_event_handler = ptc_proxy_client_event;
    }
    proxy_connect(ctx);
}

void
ptc_proxy_handler(ptc_http_request_t *r)
{
    proxy_loc_conf_t *plcf = ptc_http_get_loc_conf(r, ptc_proxy_module);
    proxy_ctx_t *ctx = ptc_pcalloc(r->pool, sizeof(*ctx));
    ptc_pool_cleanup_t *cln = ptc_pool_cleanup_add(r->pool, 0);
    if (ctx == NULL || cln == NULL
        || ptc_array_init(&ctx->uheaders, r->pool, 16, sizeof(ptc_http_header_t)) != PTC_OK
        || (ctx->hbuf = ptc_buf_create(r->pool, plcf->buffer_size)) == NULL) {
        ptc_http_finalize_status(r, 500);
        return;
    }
    cln->handler = proxy_cleanup;
    cln->data = ctx;
    ctx->r = r;
    ctx->spool_fd = -1;
    ctx->plcf = plcf;
    ctx->group = plcf->group;
    ctx->ssl = plcf->https ? plcf->ssl_ctx : NULL;
    ctx->host = plcf->host;
    ctx->port = plcf->port;
    ctx->start = ptc_current_msec;
    ptc_http_set_ctx(r, ptc_proxy_module, ctx);
    bool has_body = r->headers_in.content_length_n > 0 || r->headers_in.chunked;
    /* a body already read (for the request filter's body rules) is sent
     * from where it was stored, as with request buffering */
    bool body_read = r->request_body && r->request_body->bufs;
    bool client_body = plcf->pass_request_body && !plcf->set_body;
    if (client_body && has_body && !plcf->request_buffering && !body_read
        && !(r->headers_in.chunked && plcf->http_version == 1000)) {
        /* a chunked body cannot be streamed to an HTTP/1.0 upstream: that
         * case is buffered, as nginx does */
        if (ptc_proxy_stream_init(ctx) != PTC_OK) {
            ptc_http_finalize_status(r, 500);
            return;
        }
        proxy_start(r);
        return;
    }
    /* with proxy_set_body the client's body is still read: $request_body */
    if ((!plcf->pass_request_body && !plcf->set_body) || !has_body) {
        if (ptc_http_discard_request_body(r) == PTC_ERROR && r->discard_status) {
            ptc_http_finalize_status(r, r->discard_status);
            return;
        }
        proxy_start(r);
        return;
    }
    /* The body is read whole before the upstream is chosen (memory up to
     * client_body_buffer_size, then a temp file), so a retry can resend it
     * and a slow client never holds an upstream connection. */
    ptc_http_read_request_body(r, proxy_start);
}
