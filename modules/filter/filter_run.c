/* SPDX-License-Identifier: BSD-2-Clause */
/* The request filter at run time: an access-phase handler that tests the
 * location's rules in order and acts on the first one that fires (deny,
 * close, or log and go on). A rule on the body makes the body be read
 * first, once, with the engine's body reader; the content handler then
 * finds it complete. Values are taken from the request in place; only
 * form-decoding an argument or merging slashes allocates. */
#include <errno.h>
#include <unistd.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/filter/filter_int.h"
#include "modules/filter/filter_scan.h"
#include "modules/http/http_core.h"

/* Marks the pool cleanup that carries a request's filter_state_t. */
static void
filter_state_tag(void *data)
{
}

filter_state_t *
ptc_filter_state(ptc_http_request_t *r)
{
    filter_state_t *st = ptc_http_get_ctx(r, ptc_http_filter_module);
    if (st == NULL) {
        /* r->ctx is cleared by internal redirects; the pool keeps it */
        st = ptc_pool_cleanup_find(r->pool, filter_state_tag);
        ptc_http_set_ctx(r, ptc_http_filter_module, st);
    }
    return st;
}

/* A new state for a request that has none yet; NULL when out of memory. */
static filter_state_t *
filter_state_create(ptc_http_request_t *r)
{
    ptc_pool_cleanup_t *cln = ptc_pool_cleanup_add(r->pool, sizeof(filter_state_t));
    if (cln == NULL) {
        return NULL;
    }
    filter_state_t *st = cln->data;
    memset(st, 0, sizeof(*st));
    cln->handler = filter_state_tag;
    ptc_http_set_ctx(r, ptc_http_filter_module, st);
    return st;
}

/* ---- testing values ---- */

typedef struct {
    ptc_http_request_t *r;
    const filter_loc_conf_t *flcf;
    const filter_rule_t *rule;
    filter_state_t *st;
} filter_run_t;

/* Does the rule fire on this one value? A match that hits PCRE2's limits
 * counts as no match (and is logged): the worker never gets stuck. */
static bool
filter_fires(const filter_run_t *run, const u_char *p, size_t n)
{
    int ov[2];
    int rc = ptc_regex_exec(run->rule->re, p, n, ov, 1);
    if (rc == PTC_ERROR) {
        ptc_log_error((unsigned)run->flcf->log_level, run->r->c->log, 0,
                      "filter rule \"" PTC_STR_FMT "\" hit the regex match limit on " PTC_STR_FMT
                      ", treated as no match",
                      PTC_STR_ARG(run->rule->name), PTC_STR_ARG(run->rule->target_text));
    }
    return (rc > 0) != run->rule->negate;
}

/* The same for a form-encoded value, decoded once (a copy only when it has
 * '%' or '+'). 1 fires, 0 not, PTC_ERROR. */
static int
filter_form_fires(const filter_run_t *run, const ptc_str_t *v)
{
    if (!ptc_filter_form_needs_decode(v->data, v->len)) {
        return filter_fires(run, v->data, v->len);
    }
    u_char *buf = ptc_pnalloc(run->r->pool, v->len);
    if (buf == NULL) {
        return PTC_ERROR;
    }
    return filter_fires(run, buf, ptc_filter_form_decode(buf, v->data, v->len));
}

/* The normalised path: r->uri is already percent-decoded with dot segments
 * resolved; its slashes are merged here too when merge_slashes is off, so
 * "//admin" cannot slip past a rule on "^/admin". */
static int
filter_path_fires(const filter_run_t *run)
{
    ptc_http_request_t *r = run->r;
    if (ptc_http_core_srv(r)->merge_slashes
        || !ptc_filter_has_double_slash(r->uri.data, r->uri.len)) {
        return filter_fires(run, r->uri.data, r->uri.len);
    }
    u_char *buf = ptc_pnalloc(r->pool, r->uri.len);
    if (buf == NULL) {
        return PTC_ERROR;
    }
    return filter_fires(run, buf, ptc_filter_merge_slashes(buf, r->uri.data, r->uri.len));
}

/* Every occurrence of the argument is tested; a missing one is tested as
 * an empty value (as $arg_NAME would be empty). */
static int
filter_arg_fires(const filter_run_t *run)
{
    size_t pos = 0;
    ptc_str_t v;
    bool seen = false;
    while (ptc_filter_arg_next(&run->r->args, &pos, &run->rule->key, &v)) {
        seen = true;
        int rc = filter_form_fires(run, &v);
        if (rc != 0) {
            return rc;
        }
    }
    return seen ? 0 : filter_fires(run, NULL, 0);
}

static int
filter_header_fires(const filter_run_t *run)
{
    const ptc_http_request_t *r = run->r;
    const ptc_http_header_t *h = r->headers_in.list.elts;
    bool seen = false;
    for (size_t i = 0; i < r->headers_in.list.nelts; i++) {
        if (h[i].hash && ptc_str_caseeq(&h[i].name, &run->rule->key)) {
            seen = true;
            if (filter_fires(run, h[i].value.data, h[i].value.len)) {
                return 1;
            }
        }
    }
    return seen ? 0 : filter_fires(run, NULL, 0);
}

static int
filter_cookie_fires(const filter_run_t *run)
{
    const ptc_http_request_t *r = run->r;
    const ptc_http_header_t *h = r->headers_in.list.elts;
    bool seen = false;
    for (size_t i = 0; i < r->headers_in.list.nelts; i++) {
        if (h[i].hash == 0 || !ptc_str_caseeq_c(&h[i].name, "Cookie")) {
            continue;
        }
        size_t pos = 0;
        ptc_str_t v;
        while (ptc_filter_cookie_next(&h[i].value, &pos, &run->rule->key, &v)) {
            seen = true;
            if (filter_fires(run, v.data, v.len)) {
                return 1;
            }
        }
    }
    return seen ? 0 : filter_fires(run, NULL, 0);
}

/* 1 when the rule fires on the request, 0 when not, PTC_ERROR. */
static int
filter_rule_fires(const filter_run_t *run)
{
    const ptc_http_request_t *r = run->r;
    switch (run->rule->target) {
    case FILTER_TARGET_PATH:
        return filter_path_fires(run);
    case FILTER_TARGET_URI:
        return filter_fires(run, r->unparsed_uri.data, r->unparsed_uri.len);
    case FILTER_TARGET_ARGS:
        return filter_fires(run, r->args.data, r->args.len);
    case FILTER_TARGET_ARG:
        return filter_arg_fires(run);
    case FILTER_TARGET_HEADER:
        return filter_header_fires(run);
    case FILTER_TARGET_COOKIE:
        return filter_cookie_fires(run);
    case FILTER_TARGET_VAR: {
        /* a variable that is not found is tested as an empty string */
        ptc_http_variable_value_t *v =
            ptc_http_variable_get((ptc_http_request_t *)r, run->rule->var_index);
        if (v == NULL) {
            return PTC_ERROR;
        }
        return v->not_found ? filter_fires(run, NULL, 0)
                            : filter_fires(run, v->value.data, v->value.len);
    }
    default:
        return filter_fires(run, run->st->body.data, run->st->body.len);
    }
}

/* ---- the body ---- */

static bool
filter_has_body(const ptc_http_request_t *r)
{
    return r->headers_in.content_length_n > 0 || r->headers_in.chunked;
}

/* Copy up to `want` bytes of the read body (memory and/or temp file) to
 * dst; returns the count or -1 (logged). The file is read with pread, so
 * whoever sends the body later is not disturbed. */
static ssize_t
filter_body_copy(ptc_http_request_t *r, u_char *dst, size_t want)
{
    size_t got = 0;
    for (ptc_chain_t *cl = r->request_body->bufs; cl && got < want; cl = cl->next) {
        ptc_buf_t *b = cl->buf;
        if (!b->in_file) {
            size_t n = ptc_min((size_t)(b->last - b->pos), want - got);
            memcpy(dst + got, b->pos, n);
            got += n;
            continue;
        }
        off_t off = b->file_pos;
        while (got < want && off < b->file_last) {
            size_t n = (size_t)ptc_min((off_t)(want - got), b->file_last - off);
            ssize_t k = pread(b->fd, dst + got, n, off);
            if (k == -1 && errno == EINTR) {
                continue;
            }
            if (k <= 0) {
                ptc_log_error(PTC_LOG_CRIT, r->c->log, k == -1 ? errno : 0,
                              "pread() of the request body temp file failed");
                return -1;
            }
            got += (size_t)k;
            off += k;
        }
    }
    return (ssize_t)got;
}

/* Take the first filter_body_size bytes of the body into st->body (a
 * slice of the body's own buffer when it is one memory buffer). */
static int
filter_body_prefix(ptc_http_request_t *r, filter_state_t *st, size_t limit)
{
    if (st->have_body && st->body_limit == limit) {
        return PTC_OK;
    }
    ptc_http_request_body_t *rb = r->request_body;
    st->body.len = 0;
    st->body.data = NULL;
    if (rb && rb->bufs && rb->received > 0) {
        ptc_buf_t *b = rb->bufs->buf;
        size_t want = (size_t)ptc_min((off_t)limit, rb->received);
        if (rb->bufs->next == NULL && !b->in_file) {
            st->body.data = b->pos;
            st->body.len = ptc_min(want, (size_t)(b->last - b->pos));
        } else {
            st->body.data = ptc_pnalloc(r->pool, want);
            ssize_t n = st->body.data ? filter_body_copy(r, st->body.data, want) : -1;
            if (n < 0) {
                return PTC_ERROR;
            }
            st->body.len = (size_t)n;
        }
    }
    st->body_limit = limit;
    st->have_body = 1;
    return PTC_OK;
}

/* The body reader's post handler: go on with the phases where the filter
 * left them (unless the body was complete at once and the handler is
 * still on the stack). */
static void
filter_body_ready(ptc_http_request_t *r)
{
    filter_state_t *st = ptc_filter_state(r);
    if (st && !st->in_read) {
        ptc_http_run_phases(r);
    }
}

/* Make sure the body has been read before a body rule runs. PTC_OK (it
 * is), PTC_AGAIN (reading; the phases resume at rule `at`), PTC_DONE (the
 * request was finalized: a body error). */
static int
filter_read_body(ptc_http_request_t *r, filter_state_t *st, size_t at)
{
    if (!filter_has_body(r) || (r->request_body && r->request_body->bufs)) {
        return PTC_OK;
    }
    if (r->request_body || r->discard_body) {
        return PTC_OK; /* being discarded or streamed by someone else: nothing to see */
    }
    st->in_read = 1;
    int rc = ptc_http_read_request_body(r, filter_body_ready);
    st->in_read = 0;
    if (rc == PTC_AGAIN) {
        st->resume = 1;
        st->resume_at = at;
    }
    return rc;
}

/* ---- acting ---- */

/* Has this log-only rule been logged for the request already (on a pass
 * before an internal redirect)? If not, remember it. */
static bool
filter_logged_before(const filter_run_t *run)
{
    filter_state_t *st = run->st;
    if (st->logged == NULL) {
        st->logged = ptc_array_create(run->r->pool, 2, sizeof(filter_rule_t *));
        if (st->logged == NULL) {
            return false;
        }
    }
    const filter_rule_t **seen = st->logged->elts;
    for (size_t i = 0; i < st->logged->nelts; i++) {
        if (seen[i] == run->rule) {
            return true;
        }
    }
    const filter_rule_t **slot = ptc_array_push(st->logged);
    if (slot) {
        *slot = run->rule;
    }
    return false;
}

/* A rule fired: log it and act. PTC_DECLINED (log only: go on), PTC_DONE. */
static int
filter_act(const filter_run_t *run)
{
    const filter_rule_t *rule = run->rule;
    bool log_only = rule->action == FILTER_ACTION_LOG || run->flcf->dry_run;
    if (run->st->fired == NULL) {
        run->st->fired = rule;
    }
    if (log_only && filter_logged_before(run)) {
        return PTC_DECLINED;
    }
    ptc_log_error((unsigned)run->flcf->log_level, run->r->c->log, 0,
                  "filter rule \"" PTC_STR_FMT "\" matched " PTC_STR_FMT "%s",
                  PTC_STR_ARG(rule->name), PTC_STR_ARG(rule->target_text),
                  log_only ? " (log only)" : "");
    if (log_only) {
        return PTC_DECLINED;
    }
    run->st->denied = 1;
    ptc_http_finalize_status(run->r, rule->status);
    return PTC_DONE;
}

/* The state, created when first needed (most requests never need it). */
static filter_state_t *
filter_run_state(filter_run_t *run)
{
    if (run->st == NULL) {
        run->st = filter_state_create(run->r);
    }
    return run->st;
}

/* Read the body if needed and take its prefix, before rule `at` (a body
 * rule) runs: PTC_OK, PTC_DONE (finalized or waiting), PTC_ERROR. */
static int
filter_body_before(filter_run_t *run, size_t at)
{
    filter_state_t *st = filter_run_state(run);
    if (st == NULL) {
        return PTC_ERROR;
    }
    int rc = filter_read_body(run->r, st, at);
    if (rc != PTC_OK) {
        return PTC_DONE;
    }
    return filter_body_prefix(run->r, st, run->flcf->body_size);
}

/* Test rules[from..]: PTC_DECLINED when the request may go on, PTC_DONE
 * when it was finalized or waits for its body, PTC_ERROR. */
static int
filter_run_rules(filter_run_t *run, size_t from)
{
    const filter_rules_t *rules = run->flcf->rules;
    for (size_t i = from; i < rules->n; i++) {
        run->rule = rules->elts[i];
        if (run->rule->target == FILTER_TARGET_BODY) {
            if (run->flcf->body_size == 0) {
                continue;
            }
            int rc = filter_body_before(run, i);
            if (rc != PTC_OK) {
                return rc;
            }
        }
        int rc = filter_rule_fires(run);
        if (rc == 1) {
            if (filter_run_state(run) == NULL) {
                return PTC_ERROR;
            }
            rc = filter_act(run);
            if (rc == PTC_DONE) {
                return rc;
            }
        } else if (rc == PTC_ERROR) {
            return rc;
        }
    }
    return PTC_DECLINED;
}

int
ptc_filter_access_handler(ptc_http_request_t *r)
{
    const filter_loc_conf_t *flcf = ptc_http_get_loc_conf(r, ptc_http_filter_module);
    if (flcf->rules == NULL || !flcf->enable) {
        return PTC_DECLINED;
    }
    filter_run_t run = {r, flcf, NULL, ptc_filter_state(r)};
    size_t from = 0;
    if (run.st && run.st->denied) {
        return PTC_DECLINED; /* on the way to its error_page: judged already */
    }
    if (run.st && run.st->resume) {
        run.st->resume = 0;
        from = run.st->resume_at;
    }
    int rc = filter_run_rules(&run, from);
    if (rc == PTC_ERROR) {
        ptc_http_finalize_status(r, 500);
        return PTC_DONE;
    }
    return rc;
}
