/* SPDX-License-Identifier: BSD-2-Clause */
/* epoll backend, timer min-heap and posted-event queue of a worker. */
#include "core/ptc_event.h"
#include "core/ptc_ssl.h"

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/ptc_alloc.h"
#include "core/ptc_conn.h"
#include "core/ptc_log.h"
#include "core/ptc_time.h"

#define EVENT_BATCH 512

static int event_epfd = -1;
static ptc_log_t *event_log;
static ptc_event_t **timer_heap;
static size_t timer_n, timer_cap;
static size_t timer_noncancelable;
static ptc_queue_t event_posted;

int
ptc_event_init(ptc_log_t *log)
{
    event_log = log;
    event_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (event_epfd == -1) {
        ptc_log_error(PTC_LOG_EMERG, log, errno, "epoll_create1() failed");
        return PTC_ERROR;
    }
    ptc_queue_init(&event_posted);
    return PTC_OK;
}

void
ptc_event_done(void)
{
    if (event_epfd != -1) {
        close(event_epfd);
        event_epfd = -1;
    }
}

static int
event_ctl(ptc_conn_t *c, int op, uint32_t events)
{
    struct epoll_event ee;
    ee.events = events;
    ee.data.ptr = (void *)((uintptr_t)c | c->read->instance);
    if (epoll_ctl(event_epfd, op, c->fd, &ee) == -1) {
        ptc_log_error(PTC_LOG_ALERT, c->log, errno, "epoll_ctl(%d, %d) failed", op, c->fd);
        return PTC_ERROR;
    }
    return PTC_OK;
}

int
ptc_event_add_conn(ptc_conn_t *c)
{
    c->read->active = 1;
    c->write->active = 1;
    return event_ctl(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
}

int
ptc_event_add_listen(ptc_conn_t *c)
{
    c->read->active = 1;
    return event_ctl(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLEXCLUSIVE);
}

int
ptc_event_reorder_listen(ptc_conn_t *c)
{
    if (event_ctl(c, EPOLL_CTL_DEL, 0) != PTC_OK) {
        return PTC_ERROR;
    }
    return event_ctl(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLEXCLUSIVE);
}

int
ptc_event_del(ptc_conn_t *c)
{
    c->read->active = 0;
    c->write->active = 0;
    return event_ctl(c, EPOLL_CTL_DEL, 0);
}

/* ---- timers: a binary min-heap keyed by expiry; each event knows its slot. */

static void
timer_swap(size_t a, size_t b)
{
    ptc_event_t *t = timer_heap[a];
    timer_heap[a] = timer_heap[b];
    timer_heap[b] = t;
    timer_heap[a]->timer_index = (ssize_t)a;
    timer_heap[b]->timer_index = (ssize_t)b;
}

static void
timer_up(size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (timer_heap[p]->timer_key <= timer_heap[i]->timer_key) {
            break;
        }
        timer_swap(i, p);
        i = p;
    }
}

static void
timer_down(size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < timer_n && timer_heap[l]->timer_key < timer_heap[m]->timer_key) {
            m = l;
        }
        if (r < timer_n && timer_heap[r]->timer_key < timer_heap[m]->timer_key) {
            m = r;
        }
        if (m == i) {
            return;
        }
        timer_swap(i, m);
        i = m;
    }
}

void
ptc_event_del_timer(ptc_event_t *ev)
{
    if (!ev->timer_set) {
        return;
    }
    size_t i = (size_t)ev->timer_index;
    ptc_assert(i < timer_n && timer_heap[i] == ev);
    timer_n--;
    if (i != timer_n) {
        timer_heap[i] = timer_heap[timer_n];
        timer_heap[i]->timer_index = (ssize_t)i;
        timer_up(i);
        timer_down((size_t)timer_heap[i]->timer_index);
    }
    ev->timer_set = 0;
    ev->timer_index = -1;
    if (!ev->cancelable) {
        timer_noncancelable--;
    }
}

void
ptc_event_add_timer(ptc_event_t *ev, ptc_msec_t ms)
{
    ptc_event_del_timer(ev);
    if (timer_n == timer_cap) {
        size_t cap = timer_cap ? timer_cap * 2 : 1024;
        ptc_event_t **h = ptc_realloc(timer_heap, cap * sizeof(*h));
        if (h == NULL) {
            return; /* the connection then lives until its peer acts */
        }
        timer_heap = h;
        timer_cap = cap;
    }
    ev->timer_key = ptc_current_msec + ms;
    ev->timer_index = (ssize_t)timer_n;
    timer_heap[timer_n++] = ev;
    timer_up(timer_n - 1);
    ev->timer_set = 1;
    if (!ev->cancelable) {
        timer_noncancelable++;
    }
}

bool
ptc_event_timers_only_cancelable(void)
{
    return timer_noncancelable == 0;
}

static void
timer_expire(void)
{
    while (timer_n > 0 && timer_heap[0]->timer_key <= ptc_current_msec) {
        ptc_event_t *ev = timer_heap[0];
        ptc_event_del_timer(ev);
        ev->timedout = 1;
        ev->handler(ev);
    }
}

/* ---- posted events run after the current batch of I/O handlers. */

void
ptc_event_post(ptc_event_t *ev)
{
    if (!ev->is_posted) {
        ev->is_posted = 1;
        ptc_queue_insert_tail(&event_posted, &ev->posted);
    }
}

void
ptc_event_delete_posted(ptc_event_t *ev)
{
    if (ev->is_posted) {
        ev->is_posted = 0;
        ptc_queue_remove(&ev->posted);
    }
}

static void
event_run_posted(void)
{
    while (!ptc_queue_empty(&event_posted)) {
        ptc_queue_t *q = ptc_queue_head(&event_posted);
        ptc_event_t *ev = ptc_queue_data(q, ptc_event_t, posted);
        ptc_event_delete_posted(ev);
        ev->handler(ev);
    }
}

static void
event_dispatch(struct epoll_event *ee)
{
    uintptr_t instance = (uintptr_t)ee->data.ptr & 1;
    ptc_conn_t *c = (ptc_conn_t *)((uintptr_t)ee->data.ptr & ~(uintptr_t)1);
    if (c->fd == -1 || c->read->instance != instance) {
        return; /* stale: closed (and maybe reused) earlier in this batch */
    }
    uint32_t e = ee->events;
    if (e & (EPOLLERR | EPOLLHUP)) {
        e |= EPOLLIN | EPOLLOUT;
    }
    ptc_event_t *rev = c->read, *wev = c->write;
    if ((e & EPOLLIN) && rev->active) {
        rev->ready = 1;
        if (e & EPOLLRDHUP) {
            rev->eof = 1;
        }
        rev->handler(rev);
        if (c->ssl && c->ssl->write_wants_read && c->fd != -1 && wev->instance == instance) {
            ptc_event_post(wev); /* an SSL_write waited for the socket to be readable */
        }
    }
    if ((e & EPOLLOUT) && wev->active && c->fd != -1 && c->write->instance == instance) {
        wev->ready = 1;
        wev->handler(wev);
        if (c->ssl && c->ssl->read_wants_write && c->fd != -1 && rev->instance == instance) {
            ptc_event_post(rev); /* an SSL_read waited for the socket to be writable */
        }
    }
}

void
ptc_event_process(void)
{
    struct epoll_event events[EVENT_BATCH];
    sigset_t none;
    int timeout = -1;

    if (timer_n > 0) {
        ptc_msec_t key = timer_heap[0]->timer_key;
        timeout = key > ptc_current_msec ? (int)ptc_min(key - ptc_current_msec, 600000) : 0;
    }
    if (!ptc_queue_empty(&event_posted)) {
        timeout = 0;
    }
    sigemptyset(&none);
    int n = epoll_pwait(event_epfd, events, EVENT_BATCH, timeout, &none);
    int err = errno;
    ptc_time_update();
    if (n == -1) {
        if (err != EINTR) {
            ptc_log_error(PTC_LOG_ALERT, event_log, err, "epoll_pwait() failed");
        }
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        event_dispatch(&events[i]);
    }
    event_run_posted();
    timer_expire();
    event_run_posted();
}
