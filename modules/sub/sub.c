/* SPDX-License-Identifier: BSD-2-Clause */
/* Response body substitution: nginx's sub_filter (string pairs, may hold
 * variables), sub_filter_once, sub_filter_types, sub_filter_last_modified,
 * and Portico's sub_filter_regex / sub_filter_regex_window (PCRE2 rules
 * whose replacement may name the match's groups).
 *
 * The header filter decides per response (content type, no
 * Content-Encoding, a body to come) and edits the headers: the length is
 * dropped, ranges are refused, validators go or turn weak. The body filter
 * streams: input memory and file buffers are read in pieces of at most
 * SUB_PIECE bytes (files with pread), fed to the matcher (sub_match.c),
 * and its output is copied into a few recycled buffers. When they all
 * wait for the client, input is kept (not consumed), which holds back the
 * producer; the writer resumes the filter (r->buffered) once the client
 * drains. */
#include <errno.h>
#include <unistd.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/http/http_core.h"
#include "modules/sub/sub_match.h"

#define SUB_PIECE     4096 /* input bytes per matcher call at most */
#define SUB_BUF_SIZE  4096 /* output buffer size */
#define SUB_BUSY_MAX  8    /* output buffers waiting for the client before input waits */
#define SUB_WINDOW    1024 /* default sub_filter_regex_window */
#define SUB_PIECE_MIN 64

typedef struct {
    ptc_http_complex_value_t *search; /* lowercased at config time when literal */
    ptc_http_complex_value_t *replace;
} sub_pair_conf_t;

enum { PART_TEXT, PART_GROUP, PART_VAR };

/* A sub_filter_regex replacement, compiled once: literal text, groups of
 * the match, and variables (evaluated once per response). */
typedef struct {
    int kind;
    ptc_str_t text;
    int index; /* group number or variable index */
} sub_part_t;

typedef struct {
    ptc_regex_t *re;
    sub_part_t *parts;
    size_t nparts;
} sub_rule_conf_t;

typedef struct {
    ptc_array_t *pairs; /* sub_pair_conf_t; UNSET_PTR when the level has none */
    ptc_array_t *rules; /* sub_rule_conf_t; likewise */
    ptc_array_t *types; /* ptc_str_t (besides text/html); UNSET_PTR when unset */
    int types_any;      /* "*" among the types */
    int once;
    int last_modified;
    size_t window;
} sub_loc_conf_t;

typedef struct {
    ptc_sub_t *m;
    ptc_http_request_t *r;
    ptc_chain_t *in; /* input kept until consumed (our links, their buffers) */
    ptc_chain_t **in_tail;
    ptc_chain_t *out; /* output of this call, not passed on yet */
    ptc_chain_t **out_tail;
    ptc_chain_t *free_links;
    ptc_array_t bufs; /* ptc_buf_t *: every output buffer, recycled when sent */
    ptc_buf_t *cur;   /* the output buffer being filled (not passed on) */
    ptc_buf_t *rbuf;  /* file reads */
    ptc_buf_t *flush_buf;
    size_t piece;
    unsigned errors_logged;
    bool flush; /* an input flush was consumed: pass output on with a flush */
    bool eof;   /* the input's last buffer was queued (later ones are ignored) */
    bool last;  /* the input ended and the matcher finished */
    bool done;  /* the end was passed on */
} sub_ctx_t;

static int sub_postconfig(ptc_conf_t *cf);
static void *sub_create_loc(ptc_conf_t *cf);
static const char *sub_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static const char *sub_filter(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *sub_filter_regex(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *sub_filter_types(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

#define HSL (PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION)

static const ptc_conf_bounds_t sub_window_bounds = {1, 1024 * 1024};

static const ptc_directive_t sub_directives[] = {
    {"sub_filter", HSL, PTC_ARGS_2, sub_filter, PTC_CONF_LOC, 0, NULL},
    {"sub_filter_once", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, PTC_CONF_LOC,
     offsetof(sub_loc_conf_t, once), NULL},
    {"sub_filter_types", HSL, PTC_ARGS_1MORE, sub_filter_types, PTC_CONF_LOC, 0, NULL},
    {"sub_filter_last_modified", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, PTC_CONF_LOC,
     offsetof(sub_loc_conf_t, last_modified), NULL},
    {"sub_filter_regex", HSL, PTC_ARGS_2, sub_filter_regex, PTC_CONF_LOC, 0, NULL},
    {"sub_filter_regex_window", HSL, PTC_ARGS_1, ptc_conf_set_size, PTC_CONF_LOC,
     offsetof(sub_loc_conf_t, window), &sub_window_bounds},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_sub_module = {
    .name = "http_sub",
    .type = PTC_MODULE_HTTP,
    .directives = sub_directives,
    .postconfig = sub_postconfig,
    .create_loc = sub_create_loc,
    .merge_loc = sub_merge_loc,
};

static ptc_http_header_filter_fn sub_next_header;
static ptc_http_body_filter_fn sub_next_body;

/* ---- configuration ---- */

static void *
sub_create_loc(ptc_conf_t *cf)
{
    sub_loc_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c) {
        c->pairs = PTC_CONF_UNSET_PTR;
        c->rules = PTC_CONF_UNSET_PTR;
        c->types = PTC_CONF_UNSET_PTR;
        c->types_any = PTC_CONF_UNSET;
        c->once = PTC_CONF_UNSET;
        c->last_modified = PTC_CONF_UNSET;
        c->window = PTC_CONF_UNSET_SIZE;
    }
    return c;
}

static const char *
sub_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    sub_loc_conf_t *prev = parent, *conf = child;
    /* a level with any substitution replaces the inherited ones, all kinds */
    if (conf->pairs == PTC_CONF_UNSET_PTR && conf->rules == PTC_CONF_UNSET_PTR) {
        conf->pairs = prev->pairs;
        conf->rules = prev->rules;
    }
    if (conf->types == PTC_CONF_UNSET_PTR) {
        conf->types = prev->types;
        conf->types_any = prev->types_any;
    }
    /* the http level itself is never merged: its UNSETs may come down */
    conf->pairs = conf->pairs == PTC_CONF_UNSET_PTR ? NULL : conf->pairs;
    conf->rules = conf->rules == PTC_CONF_UNSET_PTR ? NULL : conf->rules;
    conf->types = conf->types == PTC_CONF_UNSET_PTR ? NULL : conf->types;
    conf->types_any = conf->types_any == PTC_CONF_UNSET ? 0 : conf->types_any;
    ptc_conf_merge_value(conf->once, prev->once, 1);
    ptc_conf_merge_value(conf->last_modified, prev->last_modified, 0);
    ptc_conf_merge_size(conf->window, prev->window, SUB_WINDOW);
    return NULL;
}

static void *
sub_push(ptc_conf_t *cf, ptc_array_t **list, size_t size)
{
    if (*list == PTC_CONF_UNSET_PTR) {
        *list = ptc_array_create(cf->pool, 4, size);
    }
    return *list ? ptc_array_push(*list) : NULL;
}

static const char *
sub_filter(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    sub_loc_conf_t *slcf = conf;
    const ptc_str_t *search = ptc_conf_arg(cf, 1);
    if (search->len == 0) {
        return ptc_conf_error(cf, "empty search pattern");
    }
    sub_pair_conf_t *pair = sub_push(cf, &slcf->pairs, sizeof(sub_pair_conf_t));
    if (pair == NULL) {
        return "out of memory";
    }
    pair->search = ptc_http_complex_value_compile(cf, search);
    pair->replace = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 2));
    if (pair->search == NULL || pair->replace == NULL) {
        return PTC_CONF_ERROR;
    }
    ptc_str_t text;
    if (ptc_http_complex_value_is_literal(pair->search, &text)) {
        /* matching is case-insensitive: compare with a lowercase copy */
        ptc_str_t low;
        if (ptc_str_dup(cf->pool, &low, text.data, text.len) != PTC_OK) {
            return "out of memory";
        }
        ptc_strlow(low.data, low.data, low.len);
        pair->search = ptc_http_complex_value_compile(cf, &low);
        if (pair->search == NULL) {
            return PTC_CONF_ERROR;
        }
    }
    return NULL;
}

static const char *
sub_filter_types(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    sub_loc_conf_t *slcf = conf;
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        const ptc_str_t *t = ptc_conf_arg(cf, i);
        ptc_str_t *slot = sub_push(cf, &slcf->types, sizeof(ptc_str_t));
        if (slot == NULL) {
            return "out of memory";
        }
        *slot = *t;
        if (ptc_str_eq_c(t, "*")) {
            slcf->types_any = 1;
        }
    }
    if (slcf->types_any == PTC_CONF_UNSET) {
        slcf->types_any = 0;
    }
    return NULL;
}

/* ---- sub_filter_regex replacements ---- */

static bool
sub_name_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int
sub_part_push(ptc_array_t *parts, int kind, const u_char *p, size_t n, int index)
{
    sub_part_t *part = ptc_array_push(parts);
    if (part == NULL) {
        return PTC_ERROR;
    }
    part->kind = kind;
    part->text.data = (u_char *)p;
    part->text.len = n;
    part->index = index;
    return PTC_OK;
}

/* Group number for a reference name: digits, or a named group of re; -1
 * when the name is neither (then it is a variable). */
static int
sub_group_of(const ptc_regex_t *re, const ptc_str_t *name)
{
    int64_t n = ptc_atoi(name->data, name->len);
    if (n >= 0) {
        return n > 99 ? 100 : (int)n;
    }
    ptc_str_t names[32];
    unsigned idx[32];
    size_t count = ptc_min(ptc_regex_names(re, names, idx, 32), (size_t)32);
    for (size_t i = 0; i < count; i++) {
        if (ptc_str_eq(&names[i], name)) {
            return (int)idx[i];
        }
    }
    return -1;
}

/* One "$N", "${N}", "$name" or "${name}" at p (p[0] is '$'): the bytes it
 * takes, 0 when it is not a reference ("$" is then text), -1 on error. */
static ssize_t
sub_parse_ref(ptc_conf_t *cf, const ptc_regex_t *re, ptc_array_t *parts, const u_char *p,
              const u_char *end)
{
    const u_char *s = p + 1;
    bool braced = s < end && *s == '{';
    s += braced;
    const u_char *name = s;
    if (!braced && s < end && *s >= '0' && *s <= '9') {
        s++; /* "$12" is group 1 then "2", as in nginx */
    } else {
        while (s < end && sub_name_char(*s)) {
            s++;
        }
    }
    if (s == name || (braced && (s == end || *s != '}'))) {
        return 0;
    }
    ptc_str_t ref = {(size_t)(s - name), (u_char *)name};
    int group = sub_group_of(re, &ref);
    if (group > (int)ptc_regex_captures(re)) {
        ptc_conf_error(cf,
                       "\"$" PTC_STR_FMT "\" refers to no group of the regex \"" PTC_STR_FMT "\"",
                       PTC_STR_ARG(ref), PTC_STR_ARG(*ptc_conf_arg(cf, 1)));
        return -1;
    }
    int rc;
    if (group >= 0) {
        rc = sub_part_push(parts, PART_GROUP, NULL, 0, group);
    } else {
        int idx = ptc_http_variable_index(cf, &ref);
        rc = idx < 0 ? PTC_ERROR : sub_part_push(parts, PART_VAR, NULL, 0, idx);
    }
    return rc == PTC_OK ? (s - p) + braced : -1;
}

static int
sub_compile_replacement(ptc_conf_t *cf, sub_rule_conf_t *rule, const ptc_str_t *src)
{
    ptc_array_t parts;
    if (ptc_array_init(&parts, cf->pool, 4, sizeof(sub_part_t)) != PTC_OK) {
        return PTC_ERROR;
    }
    const u_char *p = src->data, *end = src->data + src->len, *lit = p;
    while (p < end) {
        if (*p != '$') {
            p++;
            continue;
        }
        if (p > lit && sub_part_push(&parts, PART_TEXT, lit, (size_t)(p - lit), 0) != PTC_OK) {
            return PTC_ERROR;
        }
        ssize_t used = sub_parse_ref(cf, rule->re, &parts, p, end);
        if (used < 0) {
            return PTC_ERROR;
        }
        lit = used ? p + used : p;
        p += used ? used : 1;
    }
    if (end > lit && sub_part_push(&parts, PART_TEXT, lit, (size_t)(end - lit), 0) != PTC_OK) {
        return PTC_ERROR;
    }
    rule->parts = parts.elts;
    rule->nparts = parts.nelts;
    return PTC_OK;
}

static const char *
sub_filter_regex(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    sub_loc_conf_t *slcf = conf;
    char err[512];
    sub_rule_conf_t *rule = sub_push(cf, &slcf->rules, sizeof(sub_rule_conf_t));
    if (rule == NULL) {
        return "out of memory";
    }
    rule->re =
        ptc_regex_compile(cf->pool, ptc_conf_arg(cf, 1), PTC_REGEX_PARTIAL, err, sizeof(err));
    if (rule->re == NULL) {
        return ptc_conf_error(cf, "%s", err);
    }
    if (sub_compile_replacement(cf, rule, ptc_conf_arg(cf, 2)) != PTC_OK) {
        return cf->failed ? PTC_CONF_ERROR : "out of memory";
    }
    return NULL;
}

/* ---- which responses ---- */

static bool
sub_type_ok(ptc_http_request_t *r, const sub_loc_conf_t *slcf)
{
    if (slcf->types_any) {
        return true;
    }
    ptc_str_t t = r->headers_out.content_type;
    u_char *semi = t.len ? memchr(t.data, ';', t.len) : NULL;
    if (semi) {
        t.len = (size_t)(semi - t.data);
    }
    while (t.len && (t.data[t.len - 1] == ' ' || t.data[t.len - 1] == '\t')) {
        t.len--;
    }
    if (t.len == 0) {
        return false;
    }
    if (ptc_str_caseeq_c(&t, "text/html")) {
        return true;
    }
    const ptc_str_t *types = slcf->types ? slcf->types->elts : NULL;
    for (size_t i = 0; types && i < slcf->types->nelts; i++) {
        if (ptc_str_caseeq(&types[i], &t)) {
            return true;
        }
    }
    return false;
}

static ptc_http_header_t *
sub_header_out(ptc_http_request_t *r, const char *name)
{
    ptc_http_header_t *h = r->headers_out.list.elts;
    for (size_t i = 0; i < r->headers_out.list.nelts; i++) {
        if (h[i].hash && ptc_str_caseeq_c(&h[i].name, name)) {
            return &h[i];
        }
    }
    return NULL;
}

/* An encoded body (gzip, br...) is left alone: its bytes are not text. */
static bool
sub_encoded(ptc_http_request_t *r)
{
    ptc_http_header_t *h = sub_header_out(r, "content-encoding");
    return h && h->value.len && !ptc_str_caseeq_c(&h->value, "identity");
}

/* Will the filter rewrite r's body, from its type and encoding? */
static bool
sub_transforms(ptc_http_request_t *r)
{
    sub_loc_conf_t *slcf = ptc_http_get_loc_conf(r, ptc_http_sub_module);
    return (slcf->pairs || slcf->rules) && sub_type_ok(r, slcf) && !sub_encoded(r);
}

/* ---- header edits ---- */

static void
sub_remove_header(ptc_http_request_t *r, const char *name)
{
    ptc_http_header_t *h;
    while ((h = sub_header_out(r, name)) != NULL) {
        h->hash = 0;
    }
}

/* "W/" + a strong tag; an unquoted (invalid) tag is dropped. */
static int
sub_weak_etag(ptc_http_request_t *r, ptc_str_t *tag)
{
    if (tag->len >= 2 && tag->data[0] == 'W' && tag->data[1] == '/') {
        return PTC_OK;
    }
    if (tag->len == 0 || tag->data[0] != '"') {
        tag->len = 0;
        return PTC_OK;
    }
    return ptc_psprintf(r->pool, tag, "W/" PTC_STR_FMT, PTC_STR_ARG(*tag));
}

static int
sub_edit_headers(ptc_http_request_t *r, const sub_loc_conf_t *slcf)
{
    ptc_http_headers_out_t *o = &r->headers_out;
    o->content_length_n = -1;
    o->accept_ranges = 0;
    sub_remove_header(r, "content-length");
    sub_remove_header(r, "accept-ranges");
    if (!slcf->last_modified) {
        o->last_modified_time = -1;
        o->etag.len = 0;
        sub_remove_header(r, "last-modified");
        sub_remove_header(r, "etag");
        return PTC_OK;
    }
    if (sub_weak_etag(r, &o->etag) != PTC_OK) {
        return PTC_ERROR;
    }
    ptc_http_header_t *h = sub_header_out(r, "etag");
    if (h && sub_weak_etag(r, &h->value) != PTC_OK) {
        return PTC_ERROR;
    }
    if (h && h->value.len == 0) {
        h->hash = 0;
    }
    return PTC_OK;
}

/* ---- per-response matcher ---- */

static int sub_emit(void *data, const u_char *p, size_t n);

/* Output bytes per input byte at most, for the piece size: a large
 * expansion gets smaller pieces, so one piece's output stays bounded. */
static size_t
sub_growth(const ptc_sub_pair_t *pairs, size_t npairs, bool once, const ptc_sub_rule_t *rules,
           size_t nrules)
{
    size_t g = 1;
    for (size_t i = 0; i < npairs && !once; i++) {
        g = ptc_max(g, (pairs[i].replace.len + pairs[i].search.len - 1) / pairs[i].search.len);
    }
    for (size_t i = 0; i < nrules; i++) {
        size_t per = 0;
        for (size_t k = 0; k < rules[i].npieces; k++) {
            per += rules[i].pieces[k].group < 0 ? rules[i].pieces[k].text.len : 1;
        }
        g = ptc_min(g * ptc_max(per, 1), (size_t)SUB_PIECE);
    }
    return ptc_min(g, (size_t)SUB_PIECE);
}

static int
sub_eval_pairs(ptc_http_request_t *r, const sub_loc_conf_t *slcf, ptc_sub_pair_t **out, size_t *n)
{
    size_t count = slcf->pairs ? slcf->pairs->nelts : 0;
    const sub_pair_conf_t *pc = count ? slcf->pairs->elts : NULL;
    *n = 0;
    *out = count ? ptc_palloc(r->pool, count * sizeof(ptc_sub_pair_t)) : NULL;
    if (count && *out == NULL) {
        return PTC_ERROR;
    }
    for (size_t i = 0; i < count; i++) {
        ptc_sub_pair_t *p = &(*out)[*n];
        if (ptc_http_complex_value(r, pc[i].search, &p->search) != PTC_OK
            || ptc_http_complex_value(r, pc[i].replace, &p->replace) != PTC_OK) {
            return PTC_ERROR;
        }
        if (p->search.len == 0) {
            continue; /* a variable that came out empty searches nothing */
        }
        if (!ptc_http_complex_value_is_literal(pc[i].search, NULL)) {
            ptc_strlow(p->search.data, p->search.data, p->search.len);
        }
        (*n)++;
    }
    return PTC_OK;
}

static int
sub_eval_rule(ptc_http_request_t *r, const sub_loc_conf_t *slcf, const sub_rule_conf_t *rc,
              ptc_sub_rule_t *out)
{
    ptc_sub_piece_t *pieces = ptc_palloc(r->pool, ptc_max(rc->nparts, 1) * sizeof(*pieces));
    if (pieces == NULL) {
        return PTC_ERROR;
    }
    for (size_t k = 0; k < rc->nparts; k++) {
        const sub_part_t *part = &rc->parts[k];
        pieces[k].group = part->kind == PART_GROUP ? part->index : -1;
        pieces[k].text = part->text;
        if (part->kind == PART_VAR) {
            ptc_http_variable_value_t *v = ptc_http_variable_get(r, part->index);
            if (v == NULL) {
                return PTC_ERROR;
            }
            pieces[k].text = v->not_found ? (ptc_str_t)ptc_null_string : v->value;
        }
    }
    out->re = rc->re;
    out->pieces = pieces;
    out->npieces = rc->nparts;
    out->window = slcf->window;
    return PTC_OK;
}

static sub_ctx_t *
sub_create_ctx(ptc_http_request_t *r, const sub_loc_conf_t *slcf)
{
    ptc_sub_pair_t *pairs;
    size_t npairs, nrules = slcf->rules ? slcf->rules->nelts : 0;
    sub_ctx_t *ctx = ptc_pcalloc(r->pool, sizeof(*ctx));
    ptc_sub_rule_t *rules = ptc_palloc(r->pool, ptc_max(nrules, 1) * sizeof(*rules));
    if (ctx == NULL || rules == NULL || sub_eval_pairs(r, slcf, &pairs, &npairs) != PTC_OK
        || ptc_array_init(&ctx->bufs, r->pool, SUB_BUSY_MAX, sizeof(ptc_buf_t *)) != PTC_OK) {
        return NULL;
    }
    const sub_rule_conf_t *rc = nrules ? slcf->rules->elts : NULL;
    for (size_t i = 0; i < nrules; i++) {
        if (sub_eval_rule(r, slcf, &rc[i], &rules[i]) != PTC_OK) {
            return NULL;
        }
    }
    ctx->r = r;
    ctx->in_tail = &ctx->in;
    ctx->out_tail = &ctx->out;
    ctx->piece = ptc_max(SUB_PIECE / sub_growth(pairs, npairs, slcf->once, rules, nrules),
                         (size_t)SUB_PIECE_MIN);
    if (npairs == 0 && nrules == 0) {
        ctx->done = true; /* every search string came out empty: pass through */
        return ctx;
    }
    ctx->m = ptc_sub_create(r->pool, pairs, npairs, slcf->once, rules, nrules, sub_emit, ctx);
    return ctx->m ? ctx : NULL;
}

static int
sub_header_filter(ptc_http_request_t *r)
{
    sub_loc_conf_t *slcf = ptc_http_get_loc_conf(r, ptc_http_sub_module);
    unsigned st = r->headers_out.status;
    /* 1xx (a 101 starts a tunnel) and empty bodies are left alone */
    if ((slcf->pairs == NULL && slcf->rules == NULL) || st < 200
        || r->headers_out.content_length_n == 0 || !sub_transforms(r)) {
        return sub_next_header(r);
    }
    bool body = !r->header_only && r->method != PTC_HTTP_HEAD && st != 204 && st != 304;
    if (body) {
        sub_ctx_t *ctx = sub_create_ctx(r, slcf);
        if (ctx == NULL) {
            return PTC_ERROR;
        }
        ptc_http_set_ctx(r, ptc_http_sub_module, ctx);
    }
    if (sub_edit_headers(r, slcf) != PTC_OK) {
        return PTC_ERROR;
    }
    return sub_next_header(r);
}

/* ---- output buffers ---- */

static ptc_chain_t *
sub_link(sub_ctx_t *ctx, ptc_buf_t *b)
{
    ptc_chain_t *cl = ctx->free_links;
    if (cl) {
        ctx->free_links = cl->next;
    } else if ((cl = ptc_chain_alloc(ctx->r->pool)) == NULL) {
        return NULL;
    }
    cl->buf = b;
    cl->next = NULL;
    return cl;
}

static void
sub_unlink(sub_ctx_t *ctx, ptc_chain_t *cl)
{
    cl->buf = NULL;
    cl->next = ctx->free_links;
    ctx->free_links = cl;
}

static int
sub_out_append(sub_ctx_t *ctx, ptc_buf_t *b)
{
    ptc_chain_t *cl = sub_link(ctx, b);
    if (cl == NULL) {
        return PTC_ERROR;
    }
    *ctx->out_tail = cl;
    ctx->out_tail = &cl->next;
    return PTC_OK;
}

/* Output buffers handed on and not yet written to the client. */
static size_t
sub_busy(sub_ctx_t *ctx)
{
    ptc_buf_t **b = ctx->bufs.elts;
    size_t n = 0;
    for (size_t i = 0; i < ctx->bufs.nelts; i++) {
        n += b[i]->pos < b[i]->last && b[i] != ctx->cur;
    }
    return n;
}

/* A buffer whose bytes all went out (or a new one). Buffers queued in this
 * call's output hold data, so they are never picked. */
static ptc_buf_t *
sub_free_buf(sub_ctx_t *ctx)
{
    ptc_buf_t **b = ctx->bufs.elts;
    for (size_t i = 0; i < ctx->bufs.nelts; i++) {
        if (b[i]->pos == b[i]->last && b[i] != ctx->cur) {
            b[i]->pos = b[i]->last = b[i]->start;
            return b[i];
        }
    }
    ptc_buf_t *nb = ptc_buf_create(ctx->r->pool, SUB_BUF_SIZE);
    ptc_buf_t **slot = nb ? ptc_array_push(&ctx->bufs) : NULL;
    if (slot == NULL) {
        return NULL;
    }
    *slot = nb;
    return nb;
}

/* The matcher's output: copied into output buffers. */
static int
sub_emit(void *data, const u_char *p, size_t n)
{
    sub_ctx_t *ctx = data;
    while (n) {
        ptc_buf_t *b = ctx->cur;
        if (b == NULL || b->last == b->end) {
            if (b && sub_out_append(ctx, b) != PTC_OK) {
                return PTC_ERROR;
            }
            ctx->cur = b = sub_free_buf(ctx);
            if (b == NULL) {
                return PTC_ERROR;
            }
        }
        size_t k = ptc_min(n, (size_t)(b->end - b->last));
        b->last = ptc_cpymem(b->last, p, k);
        p += k;
        n -= k;
    }
    return PTC_OK;
}

/* An empty buffer carrying the end or a flush. The flush one is shared by
 * every flush of the response (it holds no bytes, so several queued links
 * to it are harmless) so a long stream does not allocate one per call. */
static ptc_buf_t *
sub_flag_buf(sub_ctx_t *ctx, bool last)
{
    if (!last && ctx->flush_buf) {
        return ctx->flush_buf;
    }
    ptc_buf_t *b = ptc_buf_calloc(ctx->r->pool);
    if (b) {
        b->last_buf = last;
        b->flush = !last;
    }
    if (!last) {
        ctx->flush_buf = b;
    }
    return b;
}

/* Hand this call's output on (with the end, or a flush when asked). */
static int
sub_pass_on(sub_ctx_t *ctx, bool flush)
{
    ptc_http_request_t *r = ctx->r;
    if (ctx->cur && ctx->cur->last > ctx->cur->pos) {
        if (sub_out_append(ctx, ctx->cur) != PTC_OK) {
            return PTC_ERROR;
        }
        ctx->cur = NULL; /* never written into again until it is sent */
    }
    if ((ctx->last && !ctx->done) || flush || ctx->flush) {
        ptc_buf_t *b = sub_flag_buf(ctx, ctx->last && !ctx->done);
        if (b == NULL || sub_out_append(ctx, b) != PTC_OK) {
            return PTC_ERROR;
        }
        ctx->done = ctx->last;
    }
    ctx->flush = false;
    ptc_chain_t *out = ctx->out;
    ctx->out = NULL;
    ctx->out_tail = &ctx->out;
    int rc = sub_next_body(r, out);
    while (out) {
        ptc_chain_t *next = out->next;
        sub_unlink(ctx, out);
        out = next;
    }
    return rc;
}

/* ---- input ---- */

static int
sub_queue(sub_ctx_t *ctx, ptc_chain_t *in)
{
    for (; in && !ctx->eof; in = in->next) {
        ptc_chain_t *cl = sub_link(ctx, in->buf);
        if (cl == NULL) {
            return PTC_ERROR;
        }
        *ctx->in_tail = cl;
        ctx->in_tail = &cl->next;
        ctx->eof = in->buf->last_buf; /* anything after the end is not body */
    }
    return PTC_OK;
}

/* Read the next piece of a file buffer (pread: bounded, no sendfile since
 * the bytes change). PTC_OK or PTC_ERROR (logged). */
static int
sub_read_file(sub_ctx_t *ctx, ptc_buf_t *b, const u_char **p, size_t *n)
{
    if (ctx->rbuf == NULL && (ctx->rbuf = ptc_buf_create(ctx->r->pool, ctx->piece)) == NULL) {
        return PTC_ERROR;
    }
    size_t want = (size_t)ptc_min(b->file_last - b->file_pos, (off_t)ctx->piece);
    ssize_t got;
    do {
        got = pread(b->fd, ctx->rbuf->start, want, b->file_pos);
    } while (got == -1 && errno == EINTR);
    if (got <= 0) {
        ptc_log_error(PTC_LOG_CRIT, ctx->r->c->log, got == 0 ? 0 : errno,
                      got == 0 ? "file shrank while sub_filter read it" : "pread() failed");
        return PTC_ERROR;
    }
    b->file_pos += got;
    *p = ctx->rbuf->start;
    *n = (size_t)got;
    return PTC_OK;
}

/* Feed one piece of the first input buffer to the matcher. */
static int
sub_consume(sub_ctx_t *ctx, ptc_buf_t *b)
{
    const u_char *p;
    size_t n;
    if (b->in_file) {
        if (sub_read_file(ctx, b, &p, &n) != PTC_OK) {
            return PTC_ERROR;
        }
    } else {
        p = b->pos;
        n = ptc_min((size_t)(b->last - b->pos), ctx->piece);
        b->pos += n;
    }
    return ptc_sub_feed(ctx->m, p, n);
}

static void
sub_log_errors(sub_ctx_t *ctx)
{
    unsigned n = ptc_sub_regex_errors(ctx->m);
    if (n != ctx->errors_logged) {
        ptc_log_error(PTC_LOG_WARN, ctx->r->c->log, 0,
                      "sub_filter_regex hit the regex match limit; text passed unchanged");
        ctx->errors_logged = n;
    }
}

/* The first input buffer is used up: note its flags and drop it. */
static int
sub_input_done(sub_ctx_t *ctx)
{
    ptc_chain_t *cl = ctx->in;
    ctx->flush |= cl->buf->flush;
    bool last = cl->buf->last_buf;
    ctx->in = cl->next;
    if (ctx->in == NULL) {
        ctx->in_tail = &ctx->in;
    }
    sub_unlink(ctx, cl);
    if (!last) {
        return PTC_OK;
    }
    ctx->last = true;
    return ptc_sub_finish(ctx->m);
}

static int
sub_body_filter(ptc_http_request_t *r, ptc_chain_t *in)
{
    sub_ctx_t *ctx = ptc_http_get_ctx(r, ptc_http_sub_module);
    if (ctx == NULL || ctx->done) {
        return sub_next_body(r, in);
    }
    if (sub_queue(ctx, in) != PTC_OK) {
        return PTC_ERROR;
    }
    while (ctx->in) {
        ptc_buf_t *b = ctx->in->buf;
        if (ptc_buf_size(b) == 0) {
            if (sub_input_done(ctx) != PTC_OK) {
                return PTC_ERROR;
            }
            continue;
        }
        if (sub_busy(ctx) >= SUB_BUSY_MAX) {
            /* the client is behind: push what waits, keep the input if
             * that does not free a buffer (the writer resumes us) */
            int rc = sub_pass_on(ctx, true);
            if (rc == PTC_ERROR) {
                return rc;
            }
            if (sub_busy(ctx) >= SUB_BUSY_MAX) {
                r->buffered |= PTC_HTTP_SUB_BUFFERED;
                return PTC_AGAIN;
            }
        }
        if (sub_consume(ctx, b) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    r->buffered &= ~PTC_HTTP_SUB_BUFFERED;
    sub_log_errors(ctx);
    return sub_pass_on(ctx, false);
}

static int
sub_postconfig(ptc_conf_t *cf)
{
    sub_next_header = ptc_http_top_header_filter;
    ptc_http_top_header_filter = sub_header_filter;
    sub_next_body = ptc_http_top_body_filter;
    ptc_http_top_body_filter = sub_body_filter;
    return ptc_http_add_transform_test(cf, sub_transforms);
}
