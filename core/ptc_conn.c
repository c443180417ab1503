/* SPDX-License-Identifier: BSD-2-Clause */
/* Connection slots, plain socket I/O and socket address helpers. */
#include "core/ptc_conn.h"
#include "core/ptc_ssl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/ptc_alloc.h"
#include "core/ptc_buf.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_process.h"

static ptc_conn_t *conn_slots;
static ptc_event_t *conn_revs, *conn_wevs;
static ptc_conn_t *conn_free;
static size_t conn_n, conn_nfree;
static ptc_queue_t conn_reusable;
static size_t conn_reusable_n;

int
ptc_conn_init(size_t n, ptc_log_t *log)
{
    conn_slots = ptc_calloc(n * sizeof(ptc_conn_t));
    conn_revs = ptc_calloc(n * sizeof(ptc_event_t));
    conn_wevs = ptc_calloc(n * sizeof(ptc_event_t));
    if (conn_slots == NULL || conn_revs == NULL || conn_wevs == NULL) {
        return PTC_ERROR;
    }
    conn_free = NULL;
    for (size_t i = n; i-- > 0;) {
        ptc_conn_t *c = &conn_slots[i];
        c->fd = -1;
        c->read = &conn_revs[i];
        c->write = &conn_wevs[i];
        c->read->timer_index = -1;
        c->write->timer_index = -1;
        c->data = conn_free;
        conn_free = c;
    }
    conn_n = n;
    conn_nfree = n;
    ptc_queue_init(&conn_reusable);
    return PTC_OK;
}

ptc_conn_t *
ptc_conn_get(int fd, ptc_log_t *log)
{
    if (conn_free == NULL) {
        ptc_conn_drain(false);
    }
    ptc_conn_t *c = conn_free;
    if (c == NULL) {
        ptc_log_error(PTC_LOG_ALERT, log, 0, "%zu worker_connections are not enough", conn_n);
        return NULL;
    }
    conn_free = c->data;
    conn_nfree--;

    ptc_event_t *rev = c->read, *wev = c->write;
    unsigned instance = rev->instance;
    memset(c, 0, sizeof(*c));
    memset(rev, 0, sizeof(*rev));
    memset(wev, 0, sizeof(*wev));
    c->read = rev;
    c->write = wev;
    c->fd = fd;
    c->log = log;
    c->recv = ptc_unix_recv;
    c->send = ptc_unix_send;
    c->send_chain = ptc_unix_send_chain;
    rev->instance = !instance;
    wev->instance = !instance;
    rev->data = c;
    wev->data = c;
    wev->write = 1;
    rev->timer_index = -1;
    wev->timer_index = -1;
    return c;
}

void
ptc_conn_close(ptc_conn_t *c)
{
    if (c->fd == -1) {
        return;
    }
    ptc_event_del_timer(c->read);
    ptc_event_del_timer(c->write);
    ptc_event_delete_posted(c->read);
    ptc_event_delete_posted(c->write);
    ptc_conn_reusable(c, false);
    if (c->counted) {
        c->counted = 0;
        ptc_stat_add(active, -1);
    }
    ptc_ssl_close(c);
    c->read->active = 0;
    c->write->active = 0;
    c->read->ready = 0;
    c->write->ready = 0;
    int fd = c->fd;
    c->fd = -1;
    c->destroyed = 1;
    if (close(fd) == -1) {
        ptc_log_error(PTC_LOG_ALERT, c->log, errno, "close() socket %d failed", fd);
    }
    ptc_pool_t *pool = c->pool;
    c->pool = NULL;
    c->data = conn_free;
    conn_free = c;
    conn_nfree++;
    /* The pool may hold c->log; destroy it last. */
    ptc_pool_destroy(pool);
}

size_t
ptc_conn_used(void)
{
    return conn_n - conn_nfree;
}

size_t
ptc_conn_total(void)
{
    return conn_n;
}

void
ptc_conn_reusable(ptc_conn_t *c, bool reusable)
{
    if (c->reusable) {
        ptc_queue_remove(&c->queue);
        conn_reusable_n--;
        ptc_stat_add(waiting, -1);
    }
    c->reusable = reusable;
    if (reusable) {
        ptc_queue_insert_head(&conn_reusable, &c->queue);
        conn_reusable_n++;
        ptc_stat_add(waiting, 1);
    }
}

void
ptc_conn_drain(bool all)
{
    /* Oldest idle connections sit at the tail. */
    size_t n = all ? conn_reusable_n : ptc_min(conn_reusable_n, 32);
    while (n-- > 0 && !ptc_queue_empty(&conn_reusable)) {
        ptc_queue_t *q = ptc_queue_last(&conn_reusable);
        ptc_conn_t *c = ptc_queue_data(q, ptc_conn_t, queue);
        ptc_conn_reusable(c, false);
        c->close = 1;
        c->read->handler(c->read);
    }
}

void
ptc_conn_foreach(void (*fn)(ptc_conn_t *c))
{
    for (size_t i = 0; i < conn_n; i++) {
        if (conn_slots[i].fd != -1 && !conn_slots[i].shared) {
            fn(&conn_slots[i]);
        }
    }
}

ssize_t
ptc_unix_recv(ptc_conn_t *c, u_char *buf, size_t size)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, size, 0);
        if (n > 0) {
            if ((size_t)n < size) {
                /* Edge-triggered: a short read means the socket is drained,
                 * unless the peer closed (eof is then seen on the next read). */
                c->read->ready = c->read->eof;
            }
            return n;
        }
        if (n == 0) {
            c->read->ready = 0;
            c->read->eof = 1;
            return 0;
        }
        int err = errno;
        if (err == EINTR) {
            continue;
        }
        c->read->ready = 0;
        if (err == EAGAIN) {
            return PTC_AGAIN;
        }
        c->read->error = 1;
        ptc_log_error(err == ECONNRESET ? PTC_LOG_INFO : PTC_LOG_ERR, c->log, err, "recv() failed");
        return PTC_ERROR;
    }
}

ssize_t
ptc_unix_send(ptc_conn_t *c, const u_char *buf, size_t size)
{
    for (;;) {
        ssize_t n = send(c->fd, buf, size, MSG_NOSIGNAL);
        if (n >= 0) {
            if ((size_t)n < size) {
                c->write->ready = 0;
            }
            c->sent += n;
            return n;
        }
        int err = errno;
        if (err == EINTR) {
            continue;
        }
        c->write->ready = 0;
        if (err == EAGAIN) {
            return PTC_AGAIN;
        }
        c->write->error = 1;
        ptc_log_error(err == EPIPE || err == ECONNRESET ? PTC_LOG_INFO : PTC_LOG_ERR, c->log, err,
                      "send() failed");
        return PTC_ERROR;
    }
}
