/* SPDX-License-Identifier: BSD-2-Clause */
/* Pure helpers of the request filter: finding one argument in a query
 * string and one cookie in a Cookie header by scanning the raw text (no
 * allocation), form decoding (%XX and '+') and slash merging. No I/O. */
#ifndef PTC_MODULES_FILTER_SCAN_H
#define PTC_MODULES_FILTER_SCAN_H

#include "core/ptc_str.h"
#include "core/ptc_types.h"

/* Find the next argument called `name` in a query string (no '?'),
 * starting at *pos (0 to begin). Arguments are separated by '&'; a name is
 * compared after form decoding and without regard to case, so "ID", "%69d"
 * and "i%64" all find "id". On success *value is the raw (still encoded)
 * value, a slice of args, empty when the argument has no '=', and *pos
 * moves past it; returns false when there are no more. */
bool ptc_filter_arg_next(const ptc_str_t *args, size_t *pos, const ptc_str_t *name,
                         ptc_str_t *value);

/* Find the next cookie called `name` (compared without regard to case) in
 * the value of one Cookie header ("a=1; b=2"), starting at *pos (0 to
 * begin). Pairs are separated by ';', blanks around names and values are
 * skipped. On success *value is the raw value (a slice of the header) and
 * *pos moves past it; false when there are no more. */
bool ptc_filter_cookie_next(const ptc_str_t *header, size_t *pos, const ptc_str_t *name,
                            ptc_str_t *value);

/* True when form decoding would change the text (it has '%' or '+'). */
bool ptc_filter_form_needs_decode(const u_char *p, size_t n);

/* Form-decode n bytes at src into dst (which may equal src and must hold n
 * bytes): "%XX" becomes the byte, '+' a space; a '%' not followed by two
 * hex digits is kept as it is. Decodes once: "%2561" gives "%61". Returns
 * the decoded length (<= n). */
size_t ptc_filter_form_decode(u_char *dst, const u_char *src, size_t n);

/* True when the path has two slashes in a row. */
bool ptc_filter_has_double_slash(const u_char *p, size_t n);

/* Copy n bytes of a path from src to dst (which may equal src) with runs
 * of slashes merged into one; returns the new length. */
size_t ptc_filter_merge_slashes(u_char *dst, const u_char *src, size_t n);

#endif
