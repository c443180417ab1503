/* SPDX-License-Identifier: BSD-2-Clause */
/* What limit_req.c and limit_conn.c share: the zone as configured (key,
 * shared memory, rate), reading `KEY zone=NAME:SIZE` directives, zone
 * references from limit_req/limit_conn and their check, the per-request
 * key, and the log level table. No other module includes this header. */
#ifndef PTC_MODULES_LIMIT_INT_H
#define PTC_MODULES_LIMIT_INT_H

#include "core/ptc_cycle.h"
#include "modules/http/http.h"
#include "modules/limit/limit_zone.h"

/* A zone as declared by limit_req_zone / limit_conn_zone; it lives in the
 * cycle pool and is the shm zone's `data`. */
typedef struct {
    const char *kind; /* "limit_req" or "limit_conn_zone", as nginx words reload errors */
    ptc_str_t name;
    ptc_str_t key_text; /* the key as written, for messages and reload checks */
    ptc_http_complex_value_t *key;
    uint64_t rate;       /* limit_req: milli-requests per second */
    ptc_limit_shm_t *sh; /* the table, once the zone is mapped (never with -t) */
    char error[256];     /* message of a failed init */
} ptc_limit_zone_t;

/* A limit_req/limit_conn line naming a zone, checked once the whole http
 * block is read (zones may be declared after their use). */
typedef struct {
    ptc_shm_zone_t *shm;
    const ptc_conf_node_t *node;
} ptc_limit_ref_t;

/* Parse a "zone=NAME:SIZE" argument into name and size (bytes). NULL, or
 * an error already reported with the directive's file:line. */
const char *ptc_limit_parse_zone(ptc_conf_t *cf, const ptc_str_t *arg, ptc_str_t *name,
                                 size_t *size);

/* Declare the zone of a limit_*_zone directive whose key is argument 1;
 * `tag` tells the two kinds apart. Returns the zone (cycle pool) or NULL
 * with the error reported ("already bound to key", size conflicts). */
ptc_limit_zone_t *ptc_limit_zone_add(ptc_conf_t *cf, const void *tag, const char *directive,
                                     const char *kind, const ptc_str_t *name, size_t size);

/* Record a use of zone `name` by the current directive into refs
 * (ptc_limit_ref_t). Returns the shm zone, or NULL (reported). */
ptc_shm_zone_t *ptc_limit_zone_ref(ptc_conf_t *cf, const void *tag, const ptc_str_t *name,
                                   ptc_array_t *refs);

/* Fail (PTC_ERROR, reported at the using line) if a referenced zone was
 * never declared, as nginx does ("zero size shared memory zone"). */
int ptc_limit_check_refs(ptc_conf_t *cf, ptc_array_t *refs);

/* The request's key for a zone: PTC_OK (key filled), PTC_DECLINED for an
 * empty key (not limited), PTC_ERROR. */
int ptc_limit_request_key(ptc_http_request_t *r, ptc_limit_zone_t *zone, ptc_limit_key_t *key);

/* Setter of limit_*_log_level: info | notice | warn | error into an int
 * field (a PTC_LOG_* level). */
const char *ptc_limit_set_log_level(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

/* $limit_req_status / $limit_conn_status values kept in the request */
enum {
    PTC_LIMIT_REQ_PASSED = 1,
    PTC_LIMIT_REQ_DELAYED,
    PTC_LIMIT_REQ_REJECTED,
    PTC_LIMIT_REQ_DELAYED_DRY_RUN,
    PTC_LIMIT_REQ_REJECTED_DRY_RUN,
};
enum {
    PTC_LIMIT_CONN_PASSED = 1,
    PTC_LIMIT_CONN_REJECTED,
    PTC_LIMIT_CONN_REJECTED_DRY_RUN,
};

#endif
