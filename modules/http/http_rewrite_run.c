/* SPDX-License-Identifier: BSD-2-Clause */
/* The rewrite module at request time: runs a server's or a location's
 * program op by op, and searches the location again after a rewrite
 * changed the URI (at most 10 times, then 500 as nginx). Everything was
 * compiled at config time; per request there is only regex matching,
 * complex-value evaluation and, for -f/-d/-e/-x, one stat() each. */
#include <errno.h>
#include <sys/stat.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/http/http_request_int.h"
#include "modules/http/http_rewrite_int.h"

/* What an op tells the runner. */
enum { RW_NEXT, RW_STOP, RW_FINALIZED };

#define RW_LOG(r, ...) ptc_log_error(PTC_LOG_NOTICE, (r)->c->log, 0, __VA_ARGS__)

static ptc_str_t
rw_capture(const ptc_http_request_t *r, unsigned n)
{
    ptc_str_t s = ptc_string("");
    if (r->captures && n < r->ncaptures && r->captures[2 * n] >= 0) {
        s.data = (u_char *)r->captures_data + r->captures[2 * n];
        s.len = (size_t)(r->captures[2 * n + 1] - r->captures[2 * n]);
    }
    return s;
}

/* The expanded replacement: path and query in one buffer (query from
 * `query`, or none when query == len and the replacement has no '?'). */
typedef struct {
    u_char *data;
    size_t len;
    size_t query; /* offset where the new query string starts */
} rw_result_t;

/* Captures copied into a query string or a redirect are escaped when the
 * client's URI was (it had %XX or '+'), as nginx does. */
static size_t
rw_piece_copy(u_char *dst, const ptc_str_t *v, bool escape)
{
    if (escape) {
        return ptc_http_rewrite_escape_args(dst, v->data, v->len);
    }
    if (dst && v->len) {
        memcpy(dst, v->data, v->len);
    }
    return v->len;
}

static bool
rw_piece_escaped(const ptc_http_request_t *r, const rw_rewrite_t *rw, const rw_piece_t *p)
{
    return p->capture && (rw->status || p->args) && (r->parse.quoted_uri || r->parse.plus_in_uri);
}

static int
rw_expand(ptc_http_request_t *r, const rw_rewrite_t *rw, rw_result_t *res)
{
    ptc_str_t vals[16], *v = vals;
    if (rw->npieces > ptc_nelems(vals) && !(v = ptc_palloc(r->pool, rw->npieces * sizeof(*v)))) {
        return PTC_ERROR;
    }
    size_t len = 0;
    for (size_t i = 0; i < rw->npieces; i++) {
        const rw_piece_t *p = &rw->pieces[i];
        if (p->capture) {
            v[i] = rw_capture(r, p->capture);
        } else if (ptc_http_complex_value(r, p->cv, &v[i]) != PTC_OK) {
            return PTC_ERROR;
        }
        len += rw_piece_copy(NULL, &v[i], rw_piece_escaped(r, rw, p));
    }
    u_char *buf = ptc_pnalloc(r->pool, len + r->args.len + 2);
    if (buf == NULL) {
        return PTC_ERROR;
    }
    res->data = buf;
    res->query = SIZE_MAX;
    len = 0;
    for (size_t i = 0; i < rw->npieces; i++) {
        if (rw->pieces[i].args && res->query == SIZE_MAX) {
            res->query = len;
        }
        len += rw_piece_copy(buf + len, &v[i], rw_piece_escaped(r, rw, &rw->pieces[i]));
    }
    if (res->query == SIZE_MAX) {
        res->query = len;
    }
    /* a redirect carries the args in its URL; an internal rewrite with a
     * query of its own appends them to it */
    if (rw->add_args && r->args.len && (rw->status || rw->has_query)) {
        buf[len++] = rw->status && !rw->has_query ? '?' : '&';
        len += rw_piece_copy(buf + len, &r->args, false);
    }
    buf[len] = '\0';
    res->len = len;
    return PTC_OK;
}

static int
rw_redirect(ptc_http_request_t *r, bool log, const rw_rewrite_t *rw, const rw_result_t *res)
{
    ptc_str_t url = {res->len, res->data};
    if (log) {
        RW_LOG(r, "rewritten redirect: \"" PTC_STR_FMT "\"", PTC_STR_ARG(url));
    }
    if (ptc_http_redirect_location(r, &url, &r->headers_out.location) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return RW_FINALIZED;
    }
    ptc_http_finalize_status(r, rw->status);
    return RW_FINALIZED;
}

/* Make the expansion the request's URI and args. The new URI is used as
 * written (nginx does not normalise it again); proxying escapes it. */
static int
rw_internal(ptc_http_request_t *r, bool log, const rw_rewrite_t *rw, const rw_result_t *res)
{
    ptc_str_t uri = {res->query, res->data};
    ptc_str_t args = ptc_string("");
    if (rw->has_query) {
        args.data = res->data + res->query;
        args.len = res->len - res->query;
    } else if (rw->add_args) {
        args = r->args;
    }
    if (log) {
        RW_LOG(r, "rewritten data: \"" PTC_STR_FMT "\", args: \"" PTC_STR_FMT "\"",
               PTC_STR_ARG(uri), PTC_STR_ARG(args));
    }
    if (uri.len == 0) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "the rewritten URI has a zero length");
        ptc_http_finalize_status(r, 500);
        return RW_FINALIZED;
    }
    r->uri = uri;
    r->args = args;
    ptc_http_request_set_exten(r);
    r->internal = 1; /* `internal` locations accept rewritten requests */
    r->unparsed_uri_changed = 1;
    if (rw->flag == PTC_REWRITE_FLAG_BREAK) {
        r->valid_location = 0;
        r->uri_changed = 0;
        return RW_STOP;
    }
    r->uri_changed = 1;
    return rw->flag == PTC_REWRITE_FLAG_LAST ? RW_STOP : RW_NEXT;
}

static int
rw_rewrite(ptc_http_request_t *r, bool log, const rw_rewrite_t *rw)
{
    ptc_str_t subject = r->uri;
    int rc = ptc_http_regex_exec(r, rw->regex, &subject);
    if (rc == PTC_ERROR) {
        ptc_http_finalize_status(r, 500);
        return RW_FINALIZED;
    }
    if (log) {
        RW_LOG(r, "\"" PTC_STR_FMT "\" %s \"" PTC_STR_FMT "\"", PTC_STR_ARG(rw->pattern),
               rc == PTC_OK ? "matches" : "does not match", PTC_STR_ARG(subject));
    }
    if (rc == PTC_DECLINED) {
        r->ncaptures = 0; /* $1.. are empty after a failed match, as in nginx */
        return RW_NEXT;
    }
    rw_result_t res;
    if (rw_expand(r, rw, &res) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return RW_FINALIZED;
    }
    return rw->status ? rw_redirect(r, log, rw, &res) : rw_internal(r, log, rw, &res);
}

/* ---- return, set, break ---- */

static bool
rw_is_redirect(unsigned code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

static int
rw_return(ptc_http_request_t *r, const rw_return_t *ret)
{
    ptc_str_t text = ptc_null_string;
    if (ret->text && ptc_http_complex_value(r, ret->text, &text) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return RW_FINALIZED;
    }
    if (rw_is_redirect(ret->code) && ret->text) {
        if (ptc_http_redirect_location(r, &text, &r->headers_out.location) != PTC_OK) {
            ptc_http_finalize_status(r, 500);
            return RW_FINALIZED;
        }
        ptc_http_finalize_status(r, ret->code);
        return RW_FINALIZED;
    }
    if (ret->text == NULL || ret->code == 444) {
        ptc_http_finalize_status(r, ret->code);
        return RW_FINALIZED;
    }
    ptc_http_set_content_type(r);
    ptc_str_t ctype = r->headers_out.content_type;
    ptc_http_send_response(r, ret->code, &ctype, &text);
    return RW_FINALIZED;
}

static int
rw_set(ptc_http_request_t *r, const rw_set_t *set)
{
    ptc_str_t value;
    if (ptc_http_complex_value(r, set->value, &value) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return RW_FINALIZED;
    }
    ptc_http_variable_set(r, set->index, &value);
    return RW_NEXT;
}

static int
rw_break(ptc_http_request_t *r)
{
    if (r->uri_changed) {
        /* `rewrite ...; break;` stays here as `rewrite ... break;` does */
        r->valid_location = 0;
        r->uri_changed = 0;
    }
    return RW_STOP;
}

/* ---- if ---- */

static ptc_str_t
rw_var_value(ptc_http_request_t *r, int index, bool *ok)
{
    ptc_str_t none = ptc_string("");
    ptc_http_variable_value_t *v = ptc_http_variable_get(r, index);
    *ok = v != NULL;
    return v && !v->not_found ? v->value : none;
}

/* -f/-d/-e/-x: one stat() (a disk access in the worker, as in nginx). */
static int
rw_file_test(ptc_http_request_t *r, const rw_if_t *c)
{
    ptc_str_t path;
    struct stat st;
    if (ptc_http_complex_value(r, c->value, &path) != PTC_OK) {
        return -1;
    }
    if (stat((const char *)path.data, &st) == -1) {
        int err = errno;
        if (err != ENOENT && err != ENOTDIR && err != ENAMETOOLONG) {
            ptc_log_error(PTC_LOG_CRIT, r->c->log, err, "stat() \"%s\" failed",
                          (const char *)path.data);
        }
        return c->negate;
    }
    bool yes = false;
    switch (c->file_op) {
    case 'f':
        yes = S_ISREG(st.st_mode);
        break;
    case 'd':
        yes = S_ISDIR(st.st_mode);
        break;
    case 'e':
        yes = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode);
        break;
    case 'x':
        yes = (st.st_mode & S_IXUSR) != 0;
        break;
    }
    return yes != c->negate;
}

static int
rw_regex_test(ptc_http_request_t *r, bool log, const rw_if_t *c, ptc_str_t subject)
{
    int rc = ptc_http_regex_exec(r, c->regex, &subject);
    if (rc == PTC_ERROR) {
        return -1;
    }
    if (log) {
        RW_LOG(r, "\"" PTC_STR_FMT "\" %s \"" PTC_STR_FMT "\"", PTC_STR_ARG(c->pattern),
               rc == PTC_OK ? "matches" : "does not match", PTC_STR_ARG(subject));
    }
    if (rc == PTC_DECLINED) {
        r->ncaptures = 0;
    }
    return (rc == PTC_OK) != c->negate;
}

/* 1 when the condition holds, 0 when not, -1 on error. */
static int
rw_condition(ptc_http_request_t *r, bool log, const rw_if_t *c)
{
    if (c->kind == PTC_REWRITE_COND_FILE) {
        return rw_file_test(r, c);
    }
    bool ok;
    ptc_str_t v = rw_var_value(r, c->var, &ok);
    ptc_str_t other;
    if (!ok) {
        return -1;
    }
    switch (c->kind) {
    case PTC_REWRITE_COND_VAR:
        return v.len && !(v.len == 1 && v.data[0] == '0');
    case PTC_REWRITE_COND_EQ:
        if (ptc_http_complex_value(r, c->value, &other) != PTC_OK) {
            return -1;
        }
        return ptc_str_eq(&v, &other) != c->negate;
    case PTC_REWRITE_COND_REGEX:
        return rw_regex_test(r, log, c, v);
    case PTC_REWRITE_COND_FILE:
        break;
    }
    return -1;
}

/* ---- the runner ---- */

static int
rw_op(ptc_http_request_t *r, bool log, const rw_op_t *op)
{
    switch (op->kind) {
    case RW_OP_REWRITE:
        return rw_rewrite(r, log, &op->u.rewrite);
    case RW_OP_RETURN:
        return rw_return(r, &op->u.ret);
    case RW_OP_SET:
        return rw_set(r, &op->u.set);
    case RW_OP_BREAK:
        return rw_break(r);
    case RW_OP_IF:
        break; /* handled by the runner: it jumps */
    }
    return RW_NEXT;
}

/* Run a program: PTC_DECLINED when the phases go on, PTC_DONE when the
 * request was finalized (return, redirect, error). */
static int
rw_run(ptc_http_request_t *r, const rw_loc_conf_t *rlcf)
{
    const rw_op_t *ops = rlcf->ops->elts;
    size_t n = rlcf->ops->nelts;
    bool log = rlcf->log == 1;
    for (size_t i = 0; i < n;) {
        const rw_op_t *op = &ops[i++];
        if (op->kind == RW_OP_IF) {
            int yes = rw_condition(r, log, &op->u.cond);
            if (yes < 0) {
                ptc_http_finalize_status(r, 500);
                return PTC_DONE;
            }
            if (!yes) {
                i = op->u.cond.next;
            } else if (op->u.cond.loc_conf) {
                r->loc_conf = op->u.cond.loc_conf; /* the block's settings apply */
            }
            continue;
        }
        int rc = rw_op(r, log, op);
        if (rc != RW_NEXT) {
            return rc == RW_STOP ? PTC_DECLINED : PTC_DONE;
        }
    }
    return PTC_DECLINED;
}

int
ptc_http_rewrite_server_phase(ptc_http_request_t *r)
{
    rw_loc_conf_t *rlcf = ptc_http_get_loc_conf(r, ptc_http_rewrite_module);
    return rlcf->ops ? rw_run(r, rlcf) : PTC_DECLINED;
}

int
ptc_http_rewrite_location_phase(ptc_http_request_t *r)
{
    rw_loc_conf_t *rlcf = ptc_http_get_loc_conf(r, ptc_http_rewrite_module);
    ptc_conf_ctx_t *sctx = ptc_http_core_srv(r)->ctx;
    /* no location matched: the server's program already ran */
    if (rlcf->ops == NULL || r->loc_conf == sctx->loc_conf) {
        return PTC_DECLINED;
    }
    return rw_run(r, rlcf);
}

int
ptc_http_rewrite_post_phase(ptc_http_request_t *r)
{
    if (!r->uri_changed) {
        return PTC_DECLINED;
    }
    if (--r->uri_changes == 0) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0,
                      "rewrite or internal redirection cycle while processing \"" PTC_STR_FMT "\"",
                      PTC_STR_ARG(r->uri));
        ptc_http_finalize_status(r, 500);
        return PTC_DONE;
    }
    r->loc_conf = ((ptc_conf_ctx_t *)ptc_http_core_srv(r)->ctx)->loc_conf;
    return PTC_OK; /* back to the location search */
}

int
ptc_http_rewrite_var_get(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    const rw_loc_conf_t *rlcf = ptc_http_get_loc_conf(r, ptc_http_rewrite_module);
    if (rlcf->uninitialized_warn) {
        const ptc_str_t *name = (const ptc_str_t *)data;
        ptc_log_error(PTC_LOG_WARN, r->c->log, 0,
                      "using uninitialized \"" PTC_STR_FMT "\" variable", PTC_STR_ARG(*name));
    }
    v->valid = 1; /* empty, and cached: warned once per request */
    return PTC_OK;
}
