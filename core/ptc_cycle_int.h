/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to the cycle files: opening what a parsed cycle needs. */
#ifndef PTC_CORE_CYCLE_INT_H
#define PTC_CORE_CYCLE_INT_H

#include "core/ptc_cycle.h"

/* Open files, map zones, bind sockets (or inherit them from old).
 * Errors are reported through cf. */
int ptc_cycle_open(ptc_cycle_t *cycle, ptc_cycle_t *old, ptc_conf_t *cf);
/* Undo a failed cycle: close what it opened itself, leave old's intact. */
void ptc_cycle_abandon(ptc_cycle_t *cycle, ptc_cycle_t *old);

#endif
