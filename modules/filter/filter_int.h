/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to modules/filter: the compiled rules, the location conf and
 * the per-request state shared by filter.c (config) and filter_run.c
 * (the access-phase handler). No other module may include this header. */
#ifndef PTC_MODULES_FILTER_INT_H
#define PTC_MODULES_FILTER_INT_H

#include "core/ptc_regex.h"
#include "modules/http/http.h"

enum {
    FILTER_TARGET_PATH = 0,
    FILTER_TARGET_URI,
    FILTER_TARGET_ARGS,
    FILTER_TARGET_ARG,
    FILTER_TARGET_HEADER,
    FILTER_TARGET_COOKIE,
    FILTER_TARGET_BODY,
    FILTER_TARGET_VAR, /* $name: any variable ($ssl_ja4, $http_x, a map result) */
};

enum { FILTER_ACTION_DENY = 0, FILTER_ACTION_CLOSE, FILTER_ACTION_LOG };

/* One filter_rule line, compiled at config time; lives in the cycle pool. */
typedef struct {
    ptc_str_t name;        /* for logs and $filter_rule */
    ptc_str_t target_text; /* as written ("header:User-Agent"), for logs */
    ptc_str_t key;         /* NAME of arg:NAME, header:NAME, cookie:NAME */
    uint32_t key_hash;     /* header: ptc_hash_key_lc(key), as request headers carry */
    int var_index;         /* $name: the variable's index */
    ptc_regex_t *re;
    unsigned target; /* FILTER_TARGET_* */
    unsigned action; /* FILTER_ACTION_* */
    unsigned status; /* deny: 403 or deny=NNN; close: 444 */
    bool negate;     /* !~ and !~*: fires when a value does not match */
} filter_rule_t;

/* The rules that apply at one level: the enclosing levels' first. Shared
 * with the parent level when this level adds none. */
typedef struct {
    filter_rule_t **elts;
    size_t n;
} filter_rules_t;

typedef struct {
    ptc_array_t *own;      /* filter_rule_t written at this level; NULL if none */
    filter_rules_t *rules; /* effective list (NULL: none), built at merge */
    bool merged;           /* rules is built (the http level is never merged) */
    int enable;            /* filter on|off */
    size_t body_size;      /* filter_body_size; 0: body rules never run */
    int log_level;         /* PTC_LOG_* for the line of a firing rule */
    int dry_run;
} filter_loc_conf_t;

/* Per-request state. It hangs on a request pool cleanup, not only on
 * r->ctx, so it survives internal redirects (index, error_page): the first
 * firing rule stays in $filter_rule, and a request the filter denied is not
 * judged again on its way to the error page. */
typedef struct {
    const filter_rule_t *fired; /* first rule that fired ($filter_rule) */
    ptc_array_t *logged;        /* const filter_rule_t *: log-only rules already logged */
    size_t resume_at;           /* rule index to go on from once the body is read */
    ptc_str_t body;             /* the inspected prefix of the body */
    size_t body_limit;          /* filter_body_size the prefix was taken with */
    unsigned have_body : 1;     /* body holds the prefix for body_limit */
    unsigned in_read : 1;       /* inside ptc_http_read_request_body() */
    unsigned resume : 1;        /* the body was being read: go on at resume_at */
    unsigned denied : 1;        /* the filter finalized this request */
} filter_state_t;

extern ptc_module_t ptc_http_filter_module;

/* filter_run.c */
/* The access-phase handler (see ptc_http_phase_fn). */
int ptc_filter_access_handler(ptc_http_request_t *r);
/* The request's state, or NULL when the filter has not touched it. */
filter_state_t *ptc_filter_state(ptc_http_request_t *r);

#endif
