/* SPDX-License-Identifier: BSD-2-Clause */
/* The values of the `expires` directive and the Expires / Cache-Control
 * pair they produce: pure code (no request, no I/O), shared by the headers
 * filter and its unit tests. */
#ifndef PTC_MODULES_HTTP_EXPIRES_H
#define PTC_MODULES_HTTP_EXPIRES_H

#include <time.h>

#include "core/ptc_str.h"
#include "core/ptc_types.h"

typedef enum {
    PTC_HTTP_EXPIRES_OFF = 0,
    PTC_HTTP_EXPIRES_EPOCH,    /* the Unix epoch (plus one second), no-cache */
    PTC_HTTP_EXPIRES_MAX,      /* 31 Dec 2037, ten years of max-age */
    PTC_HTTP_EXPIRES_ACCESS,   /* seconds after the request */
    PTC_HTTP_EXPIRES_MODIFIED, /* seconds after Last-Modified (after the request without one) */
    PTC_HTTP_EXPIRES_DAILY,    /* the next occurrence of a local time of day */
} ptc_http_expires_kind_t;

typedef struct {
    ptc_http_expires_kind_t kind;
    time_t time; /* seconds (may be negative); DAILY: seconds after midnight */
} ptc_http_expires_t;

/* Parse one value of `expires` into *e: "epoch", "max", "off", "@TIME"
 * (daily), or a time ("1h30m", "+90", "-1"). `modified` says the directive
 * had the `modified` parameter: the keywords and daily times are then not
 * accepted and the result is a MODIFIED time. Returns NULL, or a static
 * message for the configuration error ("invalid value", ...); *e is then
 * unspecified. */
const char *ptc_http_expires_parse(const ptc_str_t *value, bool modified, ptc_http_expires_t *e);

/* The headers for a response made at `now` whose Last-Modified is
 * `last_modified` (-1: none): the Expires time in *expires and the
 * Cache-Control max-age in *max_age, or -1 there for "no-cache" (a negative
 * time, or an expiry already past). OFF gives nothing to send: the result is
 * false; otherwise true. DAILY uses the local time zone. */
bool ptc_http_expires_compute(const ptc_http_expires_t *e, time_t now, time_t last_modified,
                              time_t *expires, int64_t *max_age);

#endif
