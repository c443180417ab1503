/* SPDX-License-Identifier: BSD-2-Clause */
/* Status codes, basic types and forward typedefs shared by every file.
 * Handlers return one of the PTC_* codes below; HTTP statuses never travel
 * in a return value. */
#ifndef PTC_CORE_TYPES_H
#define PTC_CORE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PTC_OK       0
#define PTC_ERROR    -1
#define PTC_AGAIN    -2 /* would block: called again on the next event */
#define PTC_DECLINED -3 /* not mine: try the next handler */
#define PTC_DONE     -4 /* fully handled: stop */

typedef uint64_t ptc_msec_t; /* milliseconds */

typedef struct ptc_pool_s ptc_pool_t;
typedef struct ptc_log_s ptc_log_t;
typedef struct ptc_conf_s ptc_conf_t;
typedef struct ptc_cycle_s ptc_cycle_t;
typedef struct ptc_conn_s ptc_conn_t;
typedef struct ptc_event_s ptc_event_t;
typedef struct ptc_buf_s ptc_buf_t;
typedef struct ptc_chain_s ptc_chain_t;
typedef struct ptc_module_s ptc_module_t;
typedef struct ptc_directive_s ptc_directive_t;
typedef struct ptc_listen_s ptc_listen_t;
typedef struct ptc_ssl_conn_s ptc_ssl_conn_t;

#define ptc_min(a, b)   ((a) < (b) ? (a) : (b))
#define ptc_max(a, b)   ((a) > (b) ? (a) : (b))
#define ptc_nelems(a)   (sizeof(a) / sizeof((a)[0]))
#define ptc_align(n, a) (((n) + ((a)-1)) & ~((uintptr_t)(a)-1))

/* Programmer errors, checked in --with-debug builds (never for input). */
#ifdef PTC_DEBUG
void ptc_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define ptc_assert(e) ((e) ? (void)0 : ptc_assert_fail(#e, __FILE__, __LINE__))
#else
#define ptc_assert(e) ((void)0)
#endif

#define PTC_VERSION "0.1.0"
#define PTC_NAME    "portico"

#endif
