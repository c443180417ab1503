/* SPDX-License-Identifier: BSD-2-Clause */
/* The rewrite module's configuration: rewrite, return, break, set, if,
 * rewrite_log and uninitialized_variable_warn. Each server and location
 * compiles its directives, in file order, into one program of ops (see
 * http_rewrite_int.h) that http_rewrite_run.c executes. Programs are not
 * inherited: each level runs its own, as in nginx. */
#include "modules/http/http_rewrite_int.h"

#include <stdio.h>

#include "core/ptc_pool.h"
#include "modules/http/http_int.h"

static void *rewrite_create_main(ptc_conf_t *cf);
static void *rewrite_create_loc(ptc_conf_t *cf);
static const char *rewrite_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static int rewrite_postconfig(ptc_conf_t *cf);
static const char *rewrite_rewrite(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *rewrite_return(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *rewrite_break(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *rewrite_set(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *rewrite_if(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

#define RW_CTX    (PTC_CTX_SERVER | PTC_CTX_LOCATION | PTC_CTX_IF_SRV | PTC_CTX_IF_LOC)
#define RW_OFF(f) PTC_CONF_LOC, offsetof(rw_loc_conf_t, f)

static const ptc_directive_t rewrite_directives[] = {
    {"rewrite", RW_CTX, PTC_ARGS_2 | PTC_ARGS_3, rewrite_rewrite, PTC_CONF_LOC, 0, NULL},
    {"return", RW_CTX, PTC_ARGS_12, rewrite_return, PTC_CONF_LOC, 0, NULL},
    {"break", RW_CTX, PTC_ARGS_0, rewrite_break, PTC_CONF_LOC, 0, NULL},
    {"set", RW_CTX, PTC_ARGS_2, rewrite_set, PTC_CONF_LOC, 0, NULL},
    {"if", PTC_CTX_SERVER | PTC_CTX_LOCATION, PTC_ARGS_1MORE | PTC_ARGS_BLOCK, rewrite_if,
     PTC_CONF_LOC, 0, NULL},
    {"rewrite_log", PTC_CTX_HTTP | RW_CTX, PTC_ARGS_FLAG, ptc_conf_set_flag, RW_OFF(log), NULL},
    {"uninitialized_variable_warn", PTC_CTX_HTTP | RW_CTX, PTC_ARGS_FLAG, ptc_conf_set_flag,
     RW_OFF(uninitialized_warn), NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_rewrite_module = {
    .name = "http_rewrite",
    .type = PTC_MODULE_HTTP,
    .directives = rewrite_directives,
    .create_main = rewrite_create_main,
    .create_loc = rewrite_create_loc,
    .merge_loc = rewrite_merge_loc,
    .postconfig = rewrite_postconfig,
};

static void *
rewrite_create_main(ptc_conf_t *cf)
{
    return ptc_pcalloc(cf->pool, sizeof(rw_main_conf_t));
}

static void *
rewrite_create_loc(ptc_conf_t *cf)
{
    rw_loc_conf_t *rlcf = ptc_pcalloc(cf->pool, sizeof(*rlcf));
    if (rlcf) {
        rlcf->log = PTC_CONF_UNSET;
        rlcf->uninitialized_warn = PTC_CONF_UNSET;
    }
    return rlcf;
}

static const char *
rewrite_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    rw_loc_conf_t *prev = parent, *conf = child;
    ptc_conf_merge_value(conf->log, prev->log, 0);
    ptc_conf_merge_value(conf->uninitialized_warn, prev->uninitialized_warn, 1);
    return NULL;
}

/* The handlers run only when some level has a program: a config without
 * rewrite directives pays nothing per request. */
static int
rewrite_postconfig(ptc_conf_t *cf)
{
    rw_main_conf_t *mcf = ptc_http_conf_get_main(cf, ptc_http_rewrite_module);
    if (!mcf->used) {
        return PTC_OK;
    }
    if (ptc_http_add_phase_handler(cf, PTC_HTTP_SERVER_REWRITE_PHASE, ptc_http_rewrite_server_phase)
        || ptc_http_add_phase_handler(cf, PTC_HTTP_REWRITE_PHASE, ptc_http_rewrite_location_phase)
        || ptc_http_add_phase_handler(cf, PTC_HTTP_POST_REWRITE_PHASE,
                                      ptc_http_rewrite_post_phase)) {
        return PTC_ERROR;
    }
    return PTC_OK;
}

/* Append an op of `kind` to the program being built; NULL when out of
 * memory. The pointer is valid until the next op is added. */
static rw_op_t *
rewrite_add_op(ptc_conf_t *cf, rw_loc_conf_t *rlcf, rw_op_kind_t kind)
{
    if (rlcf->ops == NULL && (rlcf->ops = ptc_array_create(cf->pool, 4, sizeof(rw_op_t))) == NULL) {
        return NULL;
    }
    rw_op_t *op = ptc_array_push(rlcf->ops);
    if (op == NULL) {
        return NULL;
    }
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    rw_main_conf_t *mcf = ptc_http_conf_get_main(cf, ptc_http_rewrite_module);
    mcf->used = true;
    return op;
}

static ptc_regex_t *
rewrite_regex(ptc_conf_t *cf, const ptc_str_t *pattern, unsigned flags)
{
    char err[512];
    ptc_regex_t *re = ptc_regex_compile(cf->pool, pattern, flags, err, sizeof(err));
    if (re == NULL) {
        ptc_conf_error(cf, "%s", err);
        return NULL;
    }
    return ptc_http_regex_names_register(cf, re) == PTC_OK ? re : NULL;
}

/* ---- rewrite ---- */

static int
rewrite_pieces(ptc_conf_t *cf, rw_rewrite_t *rw, const ptc_str_t *repl)
{
    ptc_http_rewrite_repl_t parsed;
    if (ptc_http_rewrite_repl_parse(cf->pool, repl, rw->status != 0, &parsed) != PTC_OK) {
        return PTC_ERROR;
    }
    rw->add_args = parsed.add_args;
    rw->has_query = parsed.has_query;
    rw->npieces = parsed.pieces.nelts;
    rw->pieces = ptc_pcalloc(cf->pool, (rw->npieces + 1) * sizeof(rw_piece_t));
    if (rw->pieces == NULL) {
        return PTC_ERROR;
    }
    ptc_http_rewrite_piece_t *src = parsed.pieces.elts;
    for (size_t i = 0; i < rw->npieces; i++) {
        rw->pieces[i].capture = src[i].capture;
        rw->pieces[i].args = src[i].args;
        if (src[i].capture == 0
            && (rw->pieces[i].cv = ptc_http_complex_value_compile(cf, &src[i].text)) == NULL) {
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

static const char *
rewrite_rewrite(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    const ptc_str_t *pattern = ptc_conf_arg(cf, 1), *repl = ptc_conf_arg(cf, 2);
    int flag = PTC_REWRITE_FLAG_NONE;
    if (ptc_conf_nargs(cf) == 4 && (flag = ptc_http_rewrite_flag(ptc_conf_arg(cf, 3))) < 0) {
        return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"",
                              PTC_STR_ARG(*ptc_conf_arg(cf, 3)));
    }
    if (repl->len == 0) {
        return ptc_conf_error(cf, "empty replacement");
    }
    rw_op_t *op = rewrite_add_op(cf, conf, RW_OP_REWRITE);
    if (op == NULL) {
        return "out of memory";
    }
    rw_rewrite_t *rw = &op->u.rewrite;
    rw->pattern = *pattern;
    rw->flag = flag;
    if (flag == PTC_REWRITE_FLAG_PERMANENT) {
        rw->status = 301;
    } else if (flag == PTC_REWRITE_FLAG_REDIRECT || ptc_http_rewrite_is_url(repl)) {
        rw->status = 302;
    }
    if ((rw->regex = rewrite_regex(cf, pattern, 0)) == NULL) {
        return PTC_CONF_ERROR;
    }
    if (rewrite_pieces(cf, rw, repl) != PTC_OK) {
        return cf->failed ? PTC_CONF_ERROR : "out of memory";
    }
    return NULL;
}

/* ---- return, break ---- */

static const char *
rewrite_return(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    const ptc_str_t *a1 = ptc_conf_arg(cf, 1);
    int64_t code = ptc_atoi(a1->data, a1->len);
    const ptc_str_t *text = ptc_conf_nargs(cf) == 3 ? ptc_conf_arg(cf, 2) : NULL;
    if (code < 0) {
        /* "return URL;" is a 302 to it */
        if (ptc_conf_nargs(cf) != 2 || !(ptc_http_rewrite_is_url(a1) || a1->data[0] == '$')) {
            return ptc_conf_error(cf, "invalid return code \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a1));
        }
        code = 302;
        text = a1;
    }
    if (code > 999) {
        return ptc_conf_error(cf, "invalid return code \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a1));
    }
    rw_op_t *op = rewrite_add_op(cf, conf, RW_OP_RETURN);
    if (op == NULL) {
        return "out of memory";
    }
    op->u.ret.code = (unsigned)code;
    if (text && (op->u.ret.text = ptc_http_complex_value_compile(cf, text)) == NULL) {
        return PTC_CONF_ERROR;
    }
    return NULL;
}

static const char *
rewrite_break(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    return rewrite_add_op(cf, conf, RW_OP_BREAK) ? NULL : "out of memory";
}

/* ---- set ---- */

static const char *
rewrite_set(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    const ptc_str_t *a1 = ptc_conf_arg(cf, 1);
    if (a1->len < 2 || a1->data[0] != '$') {
        return ptc_conf_error(cf, "invalid variable name \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a1));
    }
    /* the name outlives the config pass: the getter logs it */
    ptc_str_t *name = ptc_palloc(cf->pool, sizeof(*name));
    if (name == NULL || ptc_str_dup(cf->pool, name, a1->data + 1, a1->len - 1) != PTC_OK) {
        return "out of memory";
    }
    /* declared only if new: $args and other changeable variables keep theirs */
    int index = ptc_http_add_variable(cf, name, ptc_http_rewrite_var_get, (uintptr_t)name,
                                      PTC_HTTP_VAR_CHANGEABLE | PTC_HTTP_VAR_WEAK);
    if (index < 0) {
        return PTC_CONF_ERROR;
    }
    rw_op_t *op = rewrite_add_op(cf, conf, RW_OP_SET);
    if (op == NULL) {
        return "out of memory";
    }
    op->u.set.index = index;
    op->u.set.value = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 2));
    return op->u.set.value ? NULL : PTC_CONF_ERROR;
}

/* ---- if ---- */

static int
rewrite_cond_compile(ptc_conf_t *cf, rw_if_t *ifc, const ptc_http_rewrite_cond_t *c)
{
    ptc_str_t operand;
    ifc->kind = c->kind;
    ifc->negate = c->negate;
    ifc->file_op = c->file_op;
    /* a NUL-terminated copy: the view ends where ')' was cut off */
    if (ptc_str_dup(cf->pool, &operand, c->operand.data, c->operand.len) != PTC_OK) {
        return PTC_ERROR;
    }
    if (c->kind != PTC_REWRITE_COND_FILE && (ifc->var = ptc_http_variable_index(cf, &c->var)) < 0) {
        return PTC_ERROR;
    }
    switch (c->kind) {
    case PTC_REWRITE_COND_EQ:
    case PTC_REWRITE_COND_FILE:
        ifc->value = ptc_http_complex_value_compile(cf, &operand);
        return ifc->value ? PTC_OK : PTC_ERROR;
    case PTC_REWRITE_COND_REGEX:
        ifc->pattern = operand;
        ifc->regex = rewrite_regex(cf, &operand, c->caseless ? PTC_REGEX_CASELESS : 0);
        return ifc->regex ? PTC_OK : PTC_ERROR;
    case PTC_REWRITE_COND_VAR:
        break;
    }
    return PTC_OK;
}

static const char *
rewrite_if(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    rw_loc_conf_t *rlcf = conf;
    ptc_http_rewrite_cond_t cond;
    char err[512];
    if (ptc_http_rewrite_cond_parse(&cf->node->args[1], ptc_conf_nargs(cf) - 1, &cond, err,
                                    sizeof(err))
        != PTC_OK) {
        return ptc_conf_error(cf, "%s", err);
    }
    rw_op_t *op = rewrite_add_op(cf, rlcf, RW_OP_IF);
    if (op == NULL) {
        return "out of memory";
    }
    size_t at = rlcf->ops->nelts - 1;
    if (rewrite_cond_compile(cf, &op->u.cond, &cond) != PTC_OK) {
        return cf->failed ? PTC_CONF_ERROR : "out of memory";
    }
    bool in_location = cf->ctx_type == PTC_CTX_LOCATION;
    ptc_conf_ctx_t *ctx = ptc_http_core_if_block(cf);
    if (ctx == NULL) {
        return "out of memory";
    }
    op->u.cond.loc_conf = in_location ? ctx->loc_conf : NULL;
    /* the block's rewrite directives go inline into this program */
    rw_loc_conf_t *inner = ctx->loc_conf[ptc_http_rewrite_module.ctx_index];
    inner->ops = rlcf->ops;
    int rc = ptc_conf_walk(cf, cf->node, in_location ? PTC_CTX_IF_LOC : PTC_CTX_IF_SRV, ctx);
    inner->ops = NULL;
    if (rc != PTC_OK) {
        return PTC_CONF_ERROR;
    }
    ((rw_op_t *)rlcf->ops->elts)[at].u.cond.next = rlcf->ops->nelts;
    return NULL;
}
