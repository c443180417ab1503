/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to the process files. */
#ifndef PTC_CORE_PROCESS_INT_H
#define PTC_CORE_PROCESS_INT_H

#include <signal.h>

#include "core/ptc_cycle.h"

/* Block the control signals (they are taken synchronously or only while
 * the event loop waits) and ignore SIGPIPE. */
void ptc_process_block_signals(sigset_t *set);
/* Body of a worker (or the single process when slot is -1); returns the
 * exit status. */
int ptc_worker_run(ptc_cycle_t *cycle, int slot);

#endif
