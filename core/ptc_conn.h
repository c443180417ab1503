/* SPDX-License-Identifier: BSD-2-Clause */
/* Connections: a fixed per-worker array of worker_connections slots, each
 * with its read and write event, plus the plain-socket transport ops.
 * A module may swap the ops (TLS) per connection. */
#ifndef PTC_CORE_CONN_H
#define PTC_CORE_CONN_H

#include <sys/socket.h>
#include <sys/uio.h>

#include "core/ptc_event.h"
#include "core/ptc_queue.h"
#include "core/ptc_str.h"
#include "core/ptc_types.h"

/* Transport ops: return bytes moved, 0 for EOF (recv), PTC_AGAIN or PTC_ERROR. */
typedef ssize_t (*ptc_recv_fn)(ptc_conn_t *c, u_char *buf, size_t size);
typedef ssize_t (*ptc_send_fn)(ptc_conn_t *c, const u_char *buf, size_t size);
/* Send as much of the chain as possible (memory via writev, files via
 * sendfile), at most `limit` bytes (0: no limit). Returns the first link not
 * completely sent (NULL when all went) or (ptc_chain_t *)-1 on error.
 * Advances buf->pos / buf->file_pos of what was sent. */
typedef ptc_chain_t *(*ptc_send_chain_fn)(ptc_conn_t *c, ptc_chain_t *in, off_t limit);

struct ptc_listen_s {
    int fd;
    struct sockaddr_storage sockaddr;
    socklen_t socklen;
    ptc_str_t addr_text; /* "127.0.0.1:8080", "[::1]:8080", "unix:/path" */
    int backlog;
    int rcvbuf, sndbuf; /* -1: unset */
    int worker;         /* reuseport: the worker slot this socket belongs to, else -1 */
    unsigned wildcard : 1;
    unsigned reuseport : 1;
    unsigned ipv6only : 1;
    unsigned so_keepalive : 1;      /* SO_KEEPALIVE, inherited by accepted sockets */
    unsigned inherited : 1;         /* carried over from the previous cycle */
    unsigned keep : 1;              /* matched by the new cycle: do not close on retire */
    ptc_conn_t *conn;               /* in a worker: the connection slot that accepts */
    void (*handler)(ptc_conn_t *c); /* called for each accepted connection */
    void *servers;                  /* opaque to core: what the protocol module hangs here */
    ptc_log_t *log;
    size_t pool_size; /* initial size of each accepted connection's pool */
};

struct ptc_conn_s {
    void *data; /* protocol state (e.g. the current HTTP request) */
    ptc_event_t *read;
    ptc_event_t *write;
    int fd;
    ptc_recv_fn recv;
    ptc_send_fn send;
    ptc_send_chain_fn send_chain;
    ptc_listen_t *listening;
    struct sockaddr_storage sockaddr; /* peer */
    socklen_t socklen;
    struct sockaddr_storage local_sockaddr; /* filled lazily (local_socklen 0 = not yet) */
    socklen_t local_socklen;
    ptc_str_t addr_text; /* peer address as text */
    ptc_log_t *log;
    ptc_pool_t *pool;
    ptc_buf_t *buffer;   /* bytes read but not yet consumed */
    ptc_ssl_conn_t *ssl; /* TLS state (core/ptc_ssl.h), NULL for plain sockets */
    uint64_t number;     /* connection counter ($connection, *N in the log) */
    unsigned requests;   /* requests served ($connection_requests) */
    off_t sent;
    ptc_msec_t start_msec;
    ptc_queue_t queue; /* membership of the reusable (idle keep-alive) list */
    unsigned idle : 1; /* between requests, may be closed on graceful shutdown rules */
    unsigned reusable : 1;
    unsigned close : 1; /* close as soon as possible */
    unsigned error : 1;
    unsigned destroyed : 1;
    unsigned tcp_nodelay_set : 1;
    unsigned is_unix : 1;
    unsigned shared : 1;   /* listener slot */
    unsigned sendfile : 1; /* file buffers may go out with sendfile(); else pread+writev */
    unsigned counted : 1;  /* an accepted connection in ptc_stats->active */
};

/* Allocate the worker's connection slots. */
int ptc_conn_init(size_t n, ptc_log_t *log);
/* Take a free slot for fd, NULL (logged) when all worker_connections are in use. */
ptc_conn_t *ptc_conn_get(int fd, ptc_log_t *log);
/* Close the fd (if any), destroy the pool, return the slot. */
void ptc_conn_close(ptc_conn_t *c);
/* Slots in use / total. */
size_t ptc_conn_used(void);
size_t ptc_conn_total(void);
/* Mark idle keep-alive connections; the list is walked when slots run out
 * or on graceful shutdown. */
void ptc_conn_reusable(ptc_conn_t *c, bool reusable);
/* Close idle reusable connections (they get a chance to notice via their
 * read handler with c->close set). `all`: every one; else a few. */
void ptc_conn_drain(bool all);
/* Iterate over in-use slots (for shutdown): calls fn(c) for each. */
void ptc_conn_foreach(void (*fn)(ptc_conn_t *c));

/* Start a non-blocking TCP (or unix) connection to sa, registered with the
 * event loop. Returns the connection with *rc = PTC_OK (connected at once)
 * or PTC_AGAIN (in progress: wait for the write event, then check with
 * ptc_conn_connect_result); NULL with *rc = PTC_ERROR (logged, errno kept
 * in *err) or PTC_DECLINED (no free connection slot). The pool is not
 * created: the caller owns c->pool (may stay NULL). */
ptc_conn_t *ptc_conn_connect(const struct sockaddr *sa, socklen_t len, ptc_log_t *log, int *rc,
                             int *err);
/* A source address to bind an outgoing connection to (proxy_bind). */
typedef struct {
    struct sockaddr_storage sockaddr;
    socklen_t socklen;
    bool transparent; /* IP_TRANSPARENT: any address, needs CAP_NET_ADMIN */
} ptc_conn_source_t;
/* ptc_conn_connect, binding the socket to `from` first (NULL: no bind).
 * A bind (or IP_TRANSPARENT) failure is logged and gives *rc = PTC_ERROR. */
ptc_conn_t *ptc_conn_connect_from(const struct sockaddr *sa, socklen_t len,
                                  const ptc_conn_source_t *from, ptc_log_t *log, int *rc, int *err);
/* After the write event of a connect in progress: PTC_OK or PTC_ERROR with
 * *err set (ECONNREFUSED, ...). */
int ptc_conn_connect_result(ptc_conn_t *c, int *err);

/* Plain socket transport. */
ssize_t ptc_unix_recv(ptc_conn_t *c, u_char *buf, size_t size);
ssize_t ptc_unix_send(ptc_conn_t *c, const u_char *buf, size_t size);
ptc_chain_t *ptc_unix_send_chain(ptc_conn_t *c, ptc_chain_t *in, off_t limit);

/* Chain helpers for transports: the first link with bytes left (NULL: none),
 * and advancing the buffers by `sent` bytes (returns the first unsent link). */
ptc_chain_t *ptc_chain_skip_empty(ptc_chain_t *cl);
ptc_chain_t *ptc_chain_consume(ptc_chain_t *cl, size_t sent);

/* Local address of an accepted connection (getsockname once, cached). */
int ptc_conn_local_sockaddr(ptc_conn_t *c);
/* Format a socket address: "1.2.3.4", "::1" (with_port: "1.2.3.4:80",
 * "[::1]:80"), "unix:" for AF_UNIX. Returns length written (<= len). */
size_t ptc_sockaddr_text(const struct sockaddr *sa, socklen_t len, u_char *buf, size_t size,
                         bool with_port);
/* Parse "ADDR:PORT", "PORT", "[v6]:PORT", "*:PORT", "unix:/path" into sa;
 * PTC_OK or PTC_ERROR (with *err set to a static message). `default_port`
 * applies when no port is given (0: a port is required). */
int ptc_sockaddr_parse(const ptc_str_t *text, int default_port, struct sockaddr_storage *sa,
                       socklen_t *len, const char **err);
bool ptc_sockaddr_eq(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
                     socklen_t blen);
int ptc_sockaddr_port(const struct sockaddr *sa);

#endif
