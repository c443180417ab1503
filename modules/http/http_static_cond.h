/* SPDX-License-Identifier: BSD-2-Clause */
/* The pure decisions of the static file handler: conditional requests
 * (RFC 9110 §13.2.2), If-Range and Range selection, Content-Range values
 * and the trailing-slash redirect target of a directory. No I/O; what is
 * returned is allocated from the pool the caller passes. */
#ifndef PTC_MODULES_HTTP_STATIC_COND_H
#define PTC_MODULES_HTTP_STATIC_COND_H

#include <time.h>

#include "core/ptc_str.h"
#include "core/ptc_types.h"
#include "modules/http/http.h"
#include "modules/http/http_util.h"

/* if_modified_since modes (the core loc conf's `if_modified_since`) */
#define PTC_HTTP_IMS_OFF    0
#define PTC_HTTP_IMS_EXACT  1
#define PTC_HTTP_IMS_BEFORE 2

/* Evaluate the preconditions of `in` against a representation whose strong
 * entity-tag is `etag` (quotes included) and whose modification time is
 * `mtime` (-1: none), in RFC 9110 §13.2.2 order:
 *   1. If-Match (strong comparison): no match -> 412;
 *   2. else If-Unmodified-Since (a valid date): mtime later -> 412;
 *   3. If-None-Match (weak comparison): a match -> 304 when `safe` (GET or
 *      HEAD), else 412; no match -> go on and If-Modified-Since is ignored;
 *   4. else, when `safe`, If-Modified-Since (a valid date) per `ims_mode`:
 *      EXACT: mtime equal -> 304; BEFORE: mtime not later -> 304; OFF: skip.
 * Dates that do not parse make their field ignored. Returns 0 (serve the
 * representation), 304 or 412. */
unsigned ptc_http_static_preconditions(const ptc_http_headers_in_t *in, const ptc_str_t *etag,
                                       time_t mtime, int ims_mode, bool safe);

/* True when an If-Range value allows the range (RFC 9110 §13.1.5): an
 * entity-tag must equal `etag` byte for byte and neither may be weak
 * ("W/"); otherwise the value must be an HTTP date exactly equal to mtime
 * (mtime -1 never matches). */
bool ptc_http_static_if_range_ok(const ptc_str_t *value, const ptc_str_t *etag, time_t mtime);

/* Decide the Range of a 200 response of `size` bytes: PTC_DECLINED (send the
 * whole representation) when there is no Range header, when If-Range is
 * present and does not match, or when ptc_http_parse_range declines it;
 * PTC_OK with *range set for one satisfiable range; PTC_ERROR when it is
 * unsatisfiable (answer 416). The caller checks method and max_ranges. */
int ptc_http_static_range(const ptc_http_headers_in_t *in, const ptc_str_t *etag, time_t mtime,
                          off_t size, ptc_http_range_t *range);

/* Content-Range value in pool memory: "bytes START-END/SIZE", or
 * "bytes *\/SIZE" when range is NULL (for a 416). PTC_OK or PTC_ERROR (no
 * memory). */
int ptc_http_static_content_range(ptc_pool_t *pool, const ptc_http_range_t *range, off_t size,
                                  ptc_str_t *out);

/* Redirect target for a directory requested without its slash: the decoded
 * `uri` re-escaped (controls, space, non-ASCII and "\"#%<>?\\^`{|}" become
 * %XX so the Location header stays one valid line), then "/", then "?" and
 * `args` (sent raw, as received) when args is non-empty. Pool memory.
 * PTC_OK or PTC_ERROR (no memory). */
int ptc_http_static_dir_location(ptc_pool_t *pool, const ptc_str_t *uri, const ptc_str_t *args,
                                 ptc_str_t *out);

#endif
