/* SPDX-License-Identifier: BSD-2-Clause */
/* PCRE2 wrapper (the only user of pcre2.h). Patterns are compiled once at
 * config time with JIT; matching uses per-process match data and bounded
 * match/depth limits so a pathological pattern cannot stall a worker. */
#ifndef PTC_CORE_REGEX_H
#define PTC_CORE_REGEX_H

#include "core/ptc_str.h"
#include "core/ptc_types.h"

typedef struct ptc_regex_s ptc_regex_t;

#define PTC_REGEX_CASELESS 0x1

/* Compile `pattern`; NULL on failure with "pcre2_compile() failed: MSG in
 * \"PATTERN\" at \"REST\"" in err. The regex lives in `pool` (a cleanup
 * frees the PCRE2 objects). */
ptc_regex_t *ptc_regex_compile(ptc_pool_t *pool, const ptc_str_t *pattern, unsigned flags,
                               char *err, size_t errlen);

/* Number of capture groups, and named groups (name -> index). */
unsigned ptc_regex_captures(const ptc_regex_t *re);
/* Iterate named captures: returns the count; fills names[i]/indexes[i] up
 * to max entries. */
size_t ptc_regex_names(const ptc_regex_t *re, ptc_str_t *names, unsigned *indexes, size_t max);

/* One pointer of caller data kept with a compiled regex (the HTTP engine
 * hangs the variables of its named groups there). NULL until set; the
 * caller owns what it points to. */
void ptc_regex_set_data(ptc_regex_t *re, void *data);
void *ptc_regex_data(const ptc_regex_t *re);

/* Match subject. On a match returns the number of pairs stored in ovector
 * (>= 1; ovector[2*i], ovector[2*i+1] are offsets of group i, or -1 for an
 * unset group), at most ovec_pairs. PTC_DECLINED for no match; PTC_ERROR
 * when a match/depth limit was hit (logged by the caller; treat as no
 * match). */
int ptc_regex_exec(const ptc_regex_t *re, const u_char *subject, size_t len, int *ovector,
                   size_t ovec_pairs);

/* Limits applied to every match (set from config). */
void ptc_regex_set_limits(uint32_t match_limit, uint32_t depth_limit);

#endif
