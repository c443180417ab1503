/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to the rewrite module (http_rewrite*.c): the program each
 * server and location level compiles its rewrite, return, set, break and
 * if directives into. A program is a flat array of ops run in order; the
 * ops of an `if` block sit inline after their `if` op, which jumps past
 * them when its condition is false (so nothing is parsed per request). */
#ifndef PTC_MODULES_HTTP_REWRITE_INT_H
#define PTC_MODULES_HTTP_REWRITE_INT_H

#include "core/ptc_regex.h"
#include "modules/http/http.h"
#include "modules/http/http_rewrite_parse.h"

typedef enum {
    RW_OP_REWRITE,
    RW_OP_RETURN,
    RW_OP_BREAK,
    RW_OP_SET,
    RW_OP_IF,
} rw_op_kind_t;

/* A piece of a rewrite's replacement: a complex value, or a capture. */
typedef struct {
    ptc_http_complex_value_t *cv; /* NULL for a capture */
    unsigned capture;             /* 1..9 */
    bool args;                    /* part of the new query string */
} rw_piece_t;

typedef struct {
    ptc_regex_t *regex;
    ptc_str_t pattern; /* as written, for rewrite_log */
    rw_piece_t *pieces;
    size_t npieces;
    unsigned status; /* 301 or 302 for a redirect, else 0 */
    int flag;        /* PTC_REWRITE_FLAG_NONE, _LAST or _BREAK (redirects stop anyway) */
    bool add_args;   /* append the request's args (no trailing '?') */
    bool has_query;  /* the replacement has a literal '?' */
} rw_rewrite_t;

typedef struct {
    unsigned code;
    ptc_http_complex_value_t *text; /* body or URL, NULL if none */
} rw_return_t;

typedef struct {
    int index; /* the variable's */
    ptc_http_complex_value_t *value;
} rw_set_t;

typedef struct {
    ptc_http_rewrite_cond_kind_t kind;
    int var;                         /* variable index (not FILE) */
    ptc_http_complex_value_t *value; /* EQ: compared string; FILE: path */
    ptc_regex_t *regex;              /* REGEX */
    ptc_str_t pattern;               /* REGEX, for rewrite_log */
    bool negate;
    u_char file_op;  /* FILE: 'f', 'd', 'e' or 'x' */
    void **loc_conf; /* location `if`: the block's confs; NULL at server level */
    size_t next;     /* index of the op after the block */
} rw_if_t;

typedef struct {
    rw_op_kind_t kind;
    union {
        rw_rewrite_t rewrite;
        rw_return_t ret;
        rw_set_t set;
        rw_if_t cond;
    } u;
} rw_op_t;

typedef struct {
    ptc_array_t *ops; /* rw_op_t of this level; NULL when it has none. While an
                         `if` block is parsed its conf shares its parent's. */
    int log;          /* rewrite_log */
    int uninitialized_warn;
} rw_loc_conf_t;

typedef struct {
    bool used; /* some level has a program: the phase handlers are needed */
} rw_main_conf_t;

extern ptc_module_t ptc_http_rewrite_module;

/* http_rewrite_run.c */
/* Phase handlers: the server level's program (SERVER_REWRITE), the
 * location's (REWRITE), and the new location search after a URI change
 * (POST_REWRITE). */
int ptc_http_rewrite_server_phase(ptc_http_request_t *r);
int ptc_http_rewrite_location_phase(ptc_http_request_t *r);
int ptc_http_rewrite_post_phase(ptc_http_request_t *r);
/* Getter of a variable made by `set`: read before any `set` ran, it is
 * empty (with nginx's warning unless uninitialized_variable_warn is off).
 * data points at the variable's name (ptc_str_t). */
int ptc_http_rewrite_var_get(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data);

#endif
