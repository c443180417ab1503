/* SPDX-License-Identifier: BSD-2-Clause */
/* Streaming substitution, pure (no I/O, no HTTP): the matcher behind
 * sub_filter and sub_filter_regex. Text is fed in pieces of any size and
 * the output is handed to a callback as soon as it is decided, so the
 * result never depends on where the pieces were cut (except that a regex
 * match must fit in its window, below).
 *
 * Stages run in a pipeline: first the string pairs, matched as nginx's
 * sub_filter does (ASCII case-insensitive; the leftmost match wins, and at
 * one position the pair listed first; with `once` each pair is replaced at
 * most once), then each regex rule in turn over the previous stage's
 * output (every match replaced; an empty match never is).
 *
 * Memory is fixed at creation: the string stage holds back fewer bytes
 * than its longest search string; a regex stage at most `window` bytes
 * (a possible match that is still undecided) plus the few bytes its
 * lookbehind needs. A possible match that reaches `window` bytes without
 * being decided is given up: its first byte is passed on unchanged and
 * the search goes on from the next one. */
#ifndef PTC_MODULES_SUB_MATCH_H
#define PTC_MODULES_SUB_MATCH_H

#include "core/ptc_regex.h"
#include "core/ptc_str.h"
#include "core/ptc_types.h"

typedef struct {
    ptc_str_t search; /* lowercase ASCII, not empty */
    ptc_str_t replace;
} ptc_sub_pair_t;

/* One piece of a regex replacement: literal text, or a capture group. */
typedef struct {
    ptc_str_t text; /* used when group < 0 */
    int group;      /* capture group number (0: the whole match), or -1 */
} ptc_sub_piece_t;

typedef struct {
    const ptc_regex_t *re; /* compiled with PTC_REGEX_PARTIAL */
    const ptc_sub_piece_t *pieces;
    size_t npieces;
    size_t window; /* longest match, and most text held back (>= 1) */
} ptc_sub_rule_t;

/* Receives the output in order; PTC_OK, or PTC_ERROR to stop. */
typedef int (*ptc_sub_emit_fn)(void *data, const u_char *p, size_t n);

typedef struct ptc_sub_s ptc_sub_t;

/* A matcher allocated in `pool` (pairs, rules and what they point to are
 * not copied: they must live as long). NULL on allocation failure. */
ptc_sub_t *ptc_sub_create(ptc_pool_t *pool, const ptc_sub_pair_t *pairs, size_t npairs, bool once,
                          const ptc_sub_rule_t *rules, size_t nrules, ptc_sub_emit_fn emit,
                          void *data);
/* Feed n more bytes of text (copied; p may be reused on return). What is
 * decided goes to emit before the call returns. PTC_OK or PTC_ERROR (emit
 * failed). */
int ptc_sub_feed(ptc_sub_t *s, const u_char *p, size_t n);
/* The text ended: decide and emit everything held. PTC_OK or PTC_ERROR.
 * Nothing may be fed afterwards. */
int ptc_sub_finish(ptc_sub_t *s);
/* Regex searches abandoned so far because a match limit was hit (the
 * text they covered was passed on unchanged). */
unsigned ptc_sub_regex_errors(const ptc_sub_t *s);

#endif
