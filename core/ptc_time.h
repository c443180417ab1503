/* SPDX-License-Identifier: BSD-2-Clause */
/* The cached clock. The event loop refreshes it once per wake-up so hot
 * paths read a variable instead of calling the kernel; formatted forms used
 * by logs and headers are rebuilt only when the second changes. */
#ifndef PTC_CORE_TIME_H
#define PTC_CORE_TIME_H

#include <time.h>

#include "core/ptc_str.h"
#include "core/ptc_types.h"

extern volatile ptc_msec_t ptc_current_msec; /* monotonic ms, for timers */
extern volatile time_t ptc_time_sec;         /* wall clock seconds */
extern volatile unsigned ptc_time_msec_part; /* wall clock milliseconds 0..999 */

extern ptc_str_t ptc_cached_err_log_time;     /* "2026/11/28 00:20:29" */
extern ptc_str_t ptc_cached_http_time;        /* "Sat, 28 Nov 2026 00:20:29 GMT" */
extern ptc_str_t ptc_cached_http_log_time;    /* "28/Nov/2026:00:20:29 +0000" */
extern ptc_str_t ptc_cached_http_log_iso8601; /* "2026-11-28T00:20:29+00:00" */

/* Read the clocks and refresh the cached strings if the second changed. */
void ptc_time_update(void);

#endif
