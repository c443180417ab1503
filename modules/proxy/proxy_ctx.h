/* SPDX-License-Identifier: BSD-2-Clause */
/* Per-request proxy state, shared by the files of modules/proxy. */
#ifndef PTC_MODULES_PROXY_CTX_H
#define PTC_MODULES_PROXY_CTX_H

#include "modules/proxy/proxy_int.h"

enum { PX_CONNECT = 0, PX_SSL, PX_SEND, PX_HEADER, PX_BODY, PX_TUNNEL, PX_DONE };

#define PROXY_TRIES_LOG 16

/* What one try did, for the $upstream_* variables (formatted only when a
 * log or header asks for them). */
typedef struct {
    const ptc_str_t *addr; /* the peer, or the group when no peer was left */
    unsigned status;       /* 0: none */
    int64_t connect_ms;    /* -1: unknown */
    int64_t header_ms;
    int64_t response_ms;
} proxy_try_log_t;

typedef struct {
    ptc_http_request_t *r;
    proxy_loc_conf_t *plcf;
    ptc_upstream_group_t *group;
    ptc_upstream_pick_t pick;
    ptc_upstream_pick_t backup_pick;
    ptc_upstream_peer_t *peer;
    ptc_conn_t *uc;    /* upstream connection, NULL when none */
    ptc_str_t host;    /* $proxy_host */
    ptc_str_t port;    /* $proxy_port */
    ptc_buf_t *head;   /* the request head, built once */
    ptc_chain_t *body; /* the request body (memory or file), NULL if none */
    off_t body_len;
    ptc_chain_t *out; /* what is left to send in this try */
    ptc_buf_t *hbuf;  /* response head buffer (proxy_buffer_size) */
    ptc_http_parse_t hp;
    int state;
    unsigned status;
    ptc_array_t uheaders; /* ptc_http_header_t from the upstream response */
    off_t rest;           /* body bytes still expected (Content-Length), -1 */
    ptc_http_chunked_t chunk;
    ptc_buf_t **bufs;      /* response body buffers, proxy_buffers of them */
    ptc_chain_t *links;    /* one chain link per buffer, for batches */
    int spool_fd;          /* response spool file for a slow client, -1 */
    off_t spool_size;      /* bytes written to it */
    ptc_buf_t *spool_buf;  /* the file range last handed to the output */
    ptc_buf_t *spool_read; /* scratch buffer between upstream and the file */
    size_t nbufs;
    ptc_msec_t start; /* first try */
    ptc_msec_t try_start;
    unsigned tries;
    unsigned fail_status; /* 502/504 of the last failed try, 0 before any */
    proxy_try_log_t tlog[PROXY_TRIES_LOG];
    unsigned ntlog;
    ptc_buf_t *sbuf;          /* streamed body: bytes read from the client */
    ptc_buf_t *shead, *stail; /* streamed chunked body: chunk framing */
    ptc_chain_t slinks[3];
    off_t stream_rest; /* streamed Content-Length body left, -1 chunked */
    ptc_http_chunked_t req_chunk;
    unsigned stream_error; /* status to answer with (0: just close) */
    ptc_queue_t wait_link; /* in group->waiting while queued */
    ptc_event_t wait_ev;   /* retries the pick while queued */
    ptc_msec_t wait_until;
    ptc_msec_t rate_start; /* proxy_limit_rate: when the body started */
    off_t rate_read;       /* body bytes read from the upstream since */
    off_t range_skip;      /* proxy_force_ranges: body bytes still to drop */
    off_t range_left;      /* and then to pass on */
    ptc_buf_t *tun_up;     /* tunnel: client -> upstream bytes */
    ptc_buf_t *tun_down;   /* tunnel: upstream -> client bytes */

    /* TLS to the upstream (proxy_ssl.c) */
    proxy_ssl_t *ssl;   /* the context this request speaks TLS with, NULL: plain */
    ptc_str_t ssl_name; /* proxy_ssl_name evaluated: host part, NUL-terminated */
    bool ssl_name_ip;   /* ssl_name is an address: no SNI, checked as an address */
    ptc_chain_t *pp;    /* the PROXY header still to send before the handshake */
    unsigned status_line_done : 1;
    unsigned status_logged : 1;  /* this try's status is in $upstream_status */
    unsigned head_body_done : 1; /* body bytes read with the head were passed on */
    unsigned streaming : 1;      /* the body is being streamed upstream */
    unsigned stream_done : 1;
    unsigned continue_sent : 1;
    unsigned sbuf_from_header : 1; /* sbuf was filled from r->header_in */
    unsigned retry_fresh : 1;      /* retry the same peer: the pooled connection was dead */
    unsigned queued : 1;           /* waiting in the group's queue */
    unsigned chunked : 1;
    unsigned close_delimited : 1;
    unsigned no_body : 1;
    unsigned upstream_close : 1; /* upstream said Connection: close / HTTP/1.0 */
    unsigned request_close : 1;  /* we asked for Connection: close */
    unsigned reused : 1;         /* this try runs on a pooled connection */
    unsigned request_sent : 1;   /* some request byte reached the upstream */
    unsigned header_passed : 1;  /* the response head went to the client */
    unsigned finished : 1;
    unsigned http10 : 1;       /* upstream answered HTTP/1.0 */
    unsigned buffering : 1;    /* proxy_buffering, or X-Accel-Buffering of this response */
    unsigned rate_delayed : 1; /* proxy_limit_rate: the read timer is the delay */
    unsigned ranged : 1;       /* proxy_force_ranges: one range of the body is sent */
} proxy_ctx_t;

/* proxy_request.c: build the request head (and set ctx->body). */
int ptc_proxy_build_request(proxy_ctx_t *ctx, const ptc_str_t *uri_part, bool has_uri);
/* proxy_response.c */
int ptc_proxy_parse_status_line(proxy_ctx_t *ctx, ptc_buf_t *b);
int ptc_proxy_process_headers(proxy_ctx_t *ctx);
/* The X-Accel-Redirect value of the response head, unless ignored: NULL
 * when there is none. */
const ptc_str_t *ptc_proxy_accel_redirect(proxy_ctx_t *ctx);
/* proxy_cookie.c: apply proxy_cookie_domain/path/flags to a Set-Cookie
 * value (replaced by a copy in r->pool when rewritten). PTC_OK/PTC_ERROR. */
int ptc_proxy_rewrite_cookie(proxy_ctx_t *ctx, ptc_str_t *value);
/* The record of the current try (a scratch one past PROXY_TRIES_LOG). */
proxy_try_log_t *ptc_proxy_tlog(proxy_ctx_t *ctx);

/* proxy_ssl.c, per request */
/* Evaluate proxy_ssl_name (default: $proxy_host) into ctx->ssl_name, in
 * r->pool. PTC_OK or PTC_ERROR (logged). */
int ptc_proxy_ssl_name(proxy_ctx_t *ctx);
/* May this request use pooled connection c? Plain with plain; TLS only
 * when made with the request's context for the same name. */
bool ptc_proxy_ssl_match(const proxy_ctx_t *ctx, const ptc_conn_t *c);
/* An idle pooled TLS connection turned readable: true when that was only
 * a record without data (keep it), false when it must be closed. */
bool ptc_proxy_ssl_idle_alive(ptc_conn_t *c);
/* Make the connected ctx->uc a TLS connection: PROXY header (ctx->pp)
 * first, then the handshake, within proxy_connect_timeout. Always ends in
 * ptc_proxy_ssl_done(), at once or from an event. */
void ptc_proxy_ssl_start(proxy_ctx_t *ctx);
/* proxy_run.c: the handshake ended; `ft` 0 (send the request) or the
 * PROXY_FT_* failure (already logged: next peer or 502/504). */
void ptc_proxy_ssl_done(proxy_ctx_t *ctx, unsigned ft);

#endif
