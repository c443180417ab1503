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

/* Run the master until it is told to stop; returns the exit status. */
int ptc_master_run(ptc_cycle_t *cycle);
/* Run one process without a master (master_process off). */
int ptc_single_run(ptc_cycle_t *cycle);
/* Detach from the terminal (daemon on): fork, setsid; the parent exits. */
int ptc_daemonize(ptc_log_t *log);
/* Map the shared counters; call once before any fork. */
int ptc_process_shared_init(void);

#endif
