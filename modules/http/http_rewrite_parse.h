/* SPDX-License-Identifier: BSD-2-Clause */
/* Pure parsing for the rewrite module: the condition of `if`, the flag and
 * the replacement of `rewrite`, and the escaping of captures copied into a
 * query string or a redirect. No I/O and no config state, so it is
 * unit-tested from strings. */
#ifndef PTC_MODULES_HTTP_REWRITE_PARSE_H
#define PTC_MODULES_HTTP_REWRITE_PARSE_H

#include "core/ptc_array.h"
#include "core/ptc_str.h"
#include "core/ptc_types.h"

typedef enum {
    PTC_REWRITE_COND_VAR,   /* ($var): true unless empty or "0" */
    PTC_REWRITE_COND_EQ,    /* ($var = str), ($var != str) */
    PTC_REWRITE_COND_REGEX, /* ($var ~ re), ~*, !~, !~* */
    PTC_REWRITE_COND_FILE,  /* (-f path), -d, -e, -x and their !- forms */
} ptc_http_rewrite_cond_kind_t;

typedef struct {
    ptc_http_rewrite_cond_kind_t kind;
    ptc_str_t var;     /* the variable's name without '$' (not for FILE) */
    ptc_str_t operand; /* string (may hold variables), regex or path; empty for VAR */
    bool negate;       /* !=, !~, !~*, !-X */
    bool caseless;     /* ~*, !~* */
    u_char file_op;    /* FILE: 'f', 'd', 'e' or 'x' */
} ptc_http_rewrite_cond_t;

/* Parse the arguments of `if` (args[0..n), the directive name excluded)
 * with nginx's rules: the first argument starts with '(' and the last ends
 * with ')', either alone or attached; then "$var", "$var OP value" or
 * "-X path" / "!-X path". The strings in *cond are views into args (the
 * parentheses cut off, so they are not NUL-terminated). Returns PTC_OK, or
 * PTC_ERROR with nginx's message ("invalid condition \"...\"" or
 * "unexpected \"...\" in condition") written to err. */
int ptc_http_rewrite_cond_parse(const ptc_str_t *args, size_t n, ptc_http_rewrite_cond_t *cond,
                                char *err, size_t errlen);

/* The last argument of `rewrite`. */
typedef enum {
    PTC_REWRITE_FLAG_NONE = 0,  /* go on with the next directive */
    PTC_REWRITE_FLAG_LAST,      /* stop, search the location again */
    PTC_REWRITE_FLAG_BREAK,     /* stop, stay in this location */
    PTC_REWRITE_FLAG_REDIRECT,  /* 302 */
    PTC_REWRITE_FLAG_PERMANENT, /* 301 */
} ptc_http_rewrite_flag_t;

/* The flag named s, or -1 for an unknown word. */
int ptc_http_rewrite_flag(const ptc_str_t *s);

/* Does a replacement redirect by itself (starts with "http://",
 * "https://" or "$scheme")? */
bool ptc_http_rewrite_is_url(const ptc_str_t *s);

/* One piece of a replacement: text (literal bytes and $variables, compiled
 * into a complex value by the caller) or a numbered capture. */
typedef struct {
    ptc_str_t text;   /* when capture == 0; a view into the replacement */
    unsigned capture; /* 1..9 for "$N" or "${N}", else 0 */
    bool args;        /* after the first literal '?' of an internal rewrite */
} ptc_http_rewrite_piece_t;

typedef struct {
    ptc_array_t pieces; /* ptc_http_rewrite_piece_t, in order */
    bool add_args;      /* no trailing '?': the request's args are appended */
    bool has_query;     /* a literal '?' remains (redirects append args with '&') */
} ptc_http_rewrite_repl_t;

/* Split a replacement into pieces. A trailing '?' is dropped and clears
 * add_args; for an internal rewrite (redirect false) the first literal '?'
 * is removed and marks the pieces after it as the new query string. Pieces
 * live in `pool`. PTC_OK or PTC_ERROR (out of memory). */
int ptc_http_rewrite_repl_parse(ptc_pool_t *pool, const ptc_str_t *src, bool redirect,
                                ptc_http_rewrite_repl_t *out);

/* Escape src for a query string as nginx does for captures copied there:
 * SP, '#', '%', '&', '+', ';', '?', controls and bytes >= 0x7f become %XX.
 * With dst NULL only counts. Returns the escaped length. */
size_t ptc_http_rewrite_escape_args(u_char *dst, const u_char *src, size_t n);

#endif
