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
#define PTC_REGEX_PARTIAL  0x2 /* also JIT-compile for partial matching (streams) */

/* Built-in limits of one match (pcre_match_limit, pcre_depth_limit): a
 * pattern that backtracks catastrophically gives up after about 0.3 ms with
 * JIT instead of stalling the worker; ordinary patterns on URIs and headers
 * stay far below them. */
#define PTC_REGEX_MATCH_LIMIT 100000
#define PTC_REGEX_DEPTH_LIMIT 10000

/* Compile `pattern`; NULL on failure with "pcre2_compile() failed: MSG in
 * \"PATTERN\" at \"REST\" (offset N)" in err (REST: the pattern from where
 * PCRE2 gave up; N: that offset). The regex lives in `pool` (a cleanup
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

/* Options of ptc_regex_exec_at. */
#define PTC_REGEX_EXEC_PARTIAL  0x1 /* hard partial matching (see below) */
#define PTC_REGEX_EXEC_NOTBOL   0x2 /* the subject does not start a line: ^ cannot match at 0 */
#define PTC_REGEX_EXEC_NOTEMPTY 0x4 /* an empty string is never a match */

/* Match subject from offset `start` (the bytes before it stay visible to
 * lookbehind assertions and \b). Returns as ptc_regex_exec, plus, with
 * PTC_REGEX_EXEC_PARTIAL, PTC_AGAIN when the end of the subject was reached
 * before the match could be decided: ovector[0] is where that possible
 * match starts (no match starts earlier), ovector[1] is len. A partial
 * match is preferred to a complete one found at the same start. Compile
 * with PTC_REGEX_PARTIAL so partial matching runs JIT code too. */
int ptc_regex_exec_at(const ptc_regex_t *re, const u_char *subject, size_t len, size_t start,
                      unsigned opts, int *ovector, size_t ovec_pairs);

/* The most characters a lookbehind assertion can inspect before the
 * current position (\b and \B count one): what a streaming matcher keeps
 * of text it already passed. */
size_t ptc_regex_max_lookbehind(const ptc_regex_t *re);

/* After ptc_regex_exec returned PTC_ERROR: write "pcre2_match() failed:
 * MSG on \"SUBJECT\" using \"PATTERN\"" into buf (NUL-terminated; the subject
 * cut at 256 bytes, bytes outside printable ASCII as \xHH). */
void ptc_regex_exec_error(const ptc_regex_t *re, const u_char *subject, size_t len, char *buf,
                          size_t buflen);

/* The pattern as it was compiled. */
const ptc_str_t *ptc_regex_pattern(const ptc_regex_t *re);

/* Limits applied to every later match in this process (pcre_match_limit
 * and pcre_depth_limit, set by each worker at start). The depth limit only
 * binds patterns the JIT could not compile; JIT-compiled ones are bounded
 * by the match limit and a 1 MiB JIT stack. */
void ptc_regex_set_limits(uint32_t match_limit, uint32_t depth_limit);

#endif
