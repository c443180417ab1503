/* SPDX-License-Identifier: BSD-2-Clause */
/* The worker's event loop: one edge-triggered epoll set, a timer heap and
 * a queue of posted events. A connection is registered once for both
 * directions (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET) when accepted, so the
 * request path never calls epoll_ctl; handlers read/write until EAGAIN and
 * the `ready` flags remember what the kernel last said. */
#ifndef PTC_CORE_EVENT_H
#define PTC_CORE_EVENT_H

#include "core/ptc_queue.h"
#include "core/ptc_types.h"

typedef void (*ptc_event_handler_fn)(ptc_event_t *ev);

struct ptc_event_s {
    void *data; /* usually the ptc_conn_t */
    ptc_event_handler_fn handler;
    ptc_log_t *log;
    ptc_msec_t timer_key; /* expiry, in ptc_current_msec units */
    ssize_t timer_index;  /* position in the heap, -1 when not set */
    ptc_queue_t posted;
    unsigned write : 1;
    unsigned accept : 1;
    unsigned ready : 1;  /* the kernel said readable/writable, not yet EAGAIN */
    unsigned active : 1; /* registered with epoll */
    unsigned timedout : 1;
    unsigned timer_set : 1;
    unsigned is_posted : 1;
    unsigned eof : 1; /* peer closed its side (EPOLLRDHUP or read 0) */
    unsigned error : 1;
    unsigned cancelable : 1; /* this timer does not hold a graceful shutdown */
    unsigned instance : 1;   /* flips on reuse to detect stale epoll events */
};

/* Create the epoll set and the timer heap for a worker. */
int ptc_event_init(ptc_log_t *log);
/* Close the epoll fd (before exec/exit). */
void ptc_event_done(void);

/* Register a connection for both directions, edge-triggered. */
int ptc_event_add_conn(ptc_conn_t *c);
/* Register a listening socket (level-triggered, EPOLLEXCLUSIVE). */
int ptc_event_add_listen(ptc_conn_t *c);
/* Register a listening socket again, which moves this worker to the end of
 * the socket's exclusive wait queue. The kernel hands an EPOLLEXCLUSIVE
 * wake-up to the first waiter in that queue, so without this one worker
 * takes nearly every connection; re-registering now and then spreads them. */
int ptc_event_reorder_listen(ptc_conn_t *c);
/* Remove an fd from the set (only needed for listeners; closing an fd
 * removes connections implicitly). */
int ptc_event_del(ptc_conn_t *c);

void ptc_event_add_timer(ptc_event_t *ev, ptc_msec_t ms);
void ptc_event_del_timer(ptc_event_t *ev);
/* True when only cancelable timers remain (graceful shutdown may finish). */
bool ptc_event_timers_only_cancelable(void);

void ptc_event_post(ptc_event_t *ev);
void ptc_event_delete_posted(ptc_event_t *ev);

/* Wait for events (at most until the nearest timer), run handlers, posted
 * events and expired timers once. Signals are delivered only while waiting. */
void ptc_event_process(void);

#endif
