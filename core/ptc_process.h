/* SPDX-License-Identifier: BSD-2-Clause */
/* Process model: the master parses config, owns sockets, forks workers and
 * turns signals into actions (HUP reload, QUIT graceful stop, TERM/INT fast
 * stop, USR1 reopen logs, CHLD respawn, USR2 + WINCH binary upgrade).
 * Workers run the event loop. */
#ifndef PTC_CORE_PROCESS_H
#define PTC_CORE_PROCESS_H

#include "core/ptc_cycle.h"
#include "core/ptc_types.h"

enum { PTC_PROCESS_SINGLE = 0, PTC_PROCESS_MASTER, PTC_PROCESS_WORKER };

extern int ptc_process_role;
extern int ptc_worker_slot;
/* Detached from the terminal: by daemon on, or started by a binary upgrade
 * of a master that was. Only then does the master act on WINCH. */
extern bool ptc_process_daemonized;
/* Set in a worker that was told to stop gracefully: finish what is in
 * flight, answer the next request on a kept-alive connection with
 * "Connection: close", accept nothing new. */
extern bool ptc_worker_exiting;
/* A counter shared by all processes (mapped before fork): connection numbers. */
extern volatile uint64_t *ptc_connection_counter;

/* Connection and request counters of every worker together (nginx's
 * stub_status): in the same shared page, mapped once before the first fork
 * and kept across reloads, so old workers still draining are counted too.
 * Before ptc_process_shared_init (tests, -t) they point at process memory. */
typedef struct {
    uint64_t accepted; /* connections accepted */
    uint64_t handled;  /* ... that got a connection slot */
    uint64_t requests; /* client requests started */
    int64_t active;    /* accepted client connections open now */
    int64_t reading;   /* requests reading their head */
    int64_t writing;   /* requests past their head, until they end */
    int64_t waiting;   /* idle client connections (before a request, keep-alive) */
} ptc_stats_t;

extern ptc_stats_t *ptc_stats;

/* Add n (may be negative) to one counter; cheap and safe from any worker. */
#define ptc_stat_add(field, n) ((void)__atomic_add_fetch(&ptc_stats->field, (n), __ATOMIC_RELAXED))
/* Read one counter. */
#define ptc_stat_get(field) __atomic_load_n(&ptc_stats->field, __ATOMIC_RELAXED)

/* Run the master until it is told to stop; returns the exit status. */
int ptc_master_run(ptc_cycle_t *cycle);
/* Run one process without a master (master_process off). */
int ptc_single_run(ptc_cycle_t *cycle);
/* Detach from the terminal (daemon on): fork, setsid; the parent exits. */
int ptc_daemonize(ptc_log_t *log);
/* Map the shared counters; call once before any fork. */
int ptc_process_shared_init(void);

#endif
