/* SPDX-License-Identifier: BSD-2-Clause */
/* Variables and complex values. Names are resolved to indexes at config
 * time (forward references allowed, checked when the http block ends);
 * per request, values are computed on first use and cached by index. */
#include "modules/http/http.h"

#include <stdio.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_regex.h"
#include "modules/http/http_int.h"

typedef struct {
    ptc_str_t name;
    ptc_http_variable_get_fn get;
    uintptr_t data;
    unsigned flags;
    ptc_http_variable_set_fn set; /* NULL: `set` stores the value in the request */
    const char *file;             /* where an unresolved reference was made */
    unsigned line;
} http_var_t;

/* The variables of a regex's named groups, hung on the regex. */
typedef struct {
    unsigned group;
    int index;
} http_regex_var_t;

typedef struct {
    size_t n;
    http_regex_var_t vars[];
} http_regex_vars_t;

typedef enum { CV_LITERAL, CV_VAR, CV_CAPTURE } cv_kind_t;

typedef struct {
    cv_kind_t kind;
    ptc_str_t text; /* literal */
    int index;      /* variable index or capture number */
} cv_part_t;

struct ptc_http_complex_value_s {
    cv_part_t *parts;
    size_t nparts;
    ptc_str_t literal; /* the whole value when it has no variables */
    bool is_literal;
};

/* The registry of the http block being configured; the worker's copy is
 * reached through the main conf. */
static ptc_array_t *vars_cfg;
static ptc_array_t *vars_prefix_cfg;
static http_var_t *vars_run;
static size_t vars_run_n;

int ptc_http_variables_core(ptc_conf_t *cf);

int
ptc_http_variables_preconfig(ptc_conf_t *cf)
{
    ptc_http_core_main_conf_t *cmcf = ptc_http_conf_get_main(cf, ptc_http_core_module);
    if (ptc_array_init(&cmcf->variables, cf->pool, 64, sizeof(http_var_t))
        || ptc_array_init(&cmcf->prefix_variables, cf->pool, 8, sizeof(http_var_t))) {
        return PTC_ERROR;
    }
    vars_cfg = &cmcf->variables;
    vars_prefix_cfg = &cmcf->prefix_variables;
    return ptc_http_variables_core(cf);
}

static http_var_t *
vars_find(ptc_array_t *a, const ptc_str_t *name, size_t *index)
{
    http_var_t *v = a->elts;
    for (size_t i = 0; i < a->nelts; i++) {
        if (ptc_str_caseeq(&v[i].name, name)) {
            *index = i;
            return &v[i];
        }
    }
    return NULL;
}

int
ptc_http_add_variable(ptc_conf_t *cf, const ptc_str_t *name, ptc_http_variable_get_fn get,
                      uintptr_t data, unsigned flags)
{
    size_t idx;
    ptc_array_t *list = (flags & PTC_HTTP_VAR_PREFIX) ? vars_prefix_cfg : vars_cfg;
    http_var_t *v = vars_find(list, name, &idx);
    if (v && v->get && !(v->flags & PTC_HTTP_VAR_CHANGEABLE)) {
        ptc_conf_error(cf, "the duplicate \"" PTC_STR_FMT "\" variable", PTC_STR_ARG(*name));
        return -1;
    }
    if (v && v->get && (flags & PTC_HTTP_VAR_WEAK)) {
        return (int)idx;
    }
    if (v == NULL) {
        v = ptc_array_push(list);
        if (v == NULL) {
            return -1;
        }
        memset(v, 0, sizeof(*v));
        idx = list->nelts - 1;
        if (ptc_str_dup(cf->pool, &v->name, name->data, name->len) != PTC_OK) {
            return -1;
        }
    }
    v->get = get;
    v->data = data;
    v->flags = flags & ~PTC_HTTP_VAR_WEAK;
    return (int)idx;
}

int
ptc_http_add_variables(ptc_conf_t *cf, const ptc_http_variable_def_t *defs)
{
    for (; defs->name; defs++) {
        ptc_str_t n = {strlen(defs->name), (u_char *)defs->name};
        if (ptc_http_add_variable(cf, &n, defs->get, defs->data, defs->flags) < 0) {
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

int
ptc_http_variable_index(ptc_conf_t *cf, const ptc_str_t *name)
{
    size_t idx;
    if (vars_find(vars_cfg, name, &idx)) {
        return (int)idx;
    }
    /* Unknown yet: a placeholder resolved (prefix) or rejected at the end. */
    http_var_t *v = ptc_array_push(vars_cfg);
    if (v == NULL) {
        return -1;
    }
    memset(v, 0, sizeof(*v));
    if (ptc_str_dup(cf->pool, &v->name, name->data, name->len) != PTC_OK) {
        return -1;
    }
    if (cf->node) {
        v->file = cf->node->file;
        v->line = cf->node->line;
    }
    return (int)(vars_cfg->nelts - 1);
}

int
ptc_http_variables_init(ptc_conf_t *cf)
{
    http_var_t *v = vars_cfg->elts, *p = vars_prefix_cfg->elts;
    for (size_t i = 0; i < vars_cfg->nelts; i++) {
        if (v[i].get) {
            continue;
        }
        for (size_t j = 0; j < vars_prefix_cfg->nelts; j++) {
            if (v[i].name.len >= p[j].name.len
                && ptc_strncasecmp(v[i].name.data, p[j].name.data, p[j].name.len) == 0) {
                v[i].get = p[j].get;
                v[i].data = (uintptr_t)&v[i].name; /* prefix getters read the full name */
                v[i].flags = p[j].flags;
                break;
            }
        }
        if (v[i].get == NULL) {
            snprintf(cf->errbuf, cf->errlen, "unknown \"%.*s\" variable", PTC_STR_ARG(v[i].name));
            if (v[i].file) {
                size_t n = strlen(cf->errbuf);
                snprintf(cf->errbuf + n, cf->errlen - n, " in %s:%u", v[i].file, v[i].line);
            }
            cf->failed = true;
            return PTC_ERROR;
        }
    }
    /* Frozen: the worker reads this table by index. */
    vars_run = vars_cfg->elts;
    vars_run_n = vars_cfg->nelts;
    return PTC_OK;
}

int
ptc_http_variable_set_handler(ptc_conf_t *cf, const char *name, ptc_http_variable_set_fn fn)
{
    size_t idx;
    ptc_str_t n = {strlen(name), (u_char *)name};
    http_var_t *v = vars_find(vars_cfg, &n, &idx);
    if (v == NULL) {
        return PTC_ERROR;
    }
    v->set = fn;
    return PTC_OK;
}

void
ptc_http_variable_set(ptc_http_request_t *r, int index, const ptc_str_t *value)
{
    if (index < 0 || (size_t)index >= vars_run_n) {
        return;
    }
    http_var_t *def = &vars_run[index];
    if (def->set) {
        def->set(r, value, def->data);
        return;
    }
    ptc_http_variable_value_t *v = &((ptc_http_variable_value_t *)r->variables)[index];
    v->value = *value;
    v->valid = 1;
    v->not_found = 0;
    v->no_cacheable = 0;
}

size_t
ptc_http_variables_count(void)
{
    return vars_run_n;
}

int
ptc_http_variables_request_init(ptc_http_request_t *r)
{
    ptc_http_core_main_conf_t *cmcf = ptc_http_cmcf();
    vars_run = cmcf->variables.elts;
    vars_run_n = cmcf->variables.nelts;
    r->variables = ptc_pcalloc(r->pool, vars_run_n * sizeof(ptc_http_variable_value_t));
    return r->variables ? PTC_OK : PTC_ERROR;
}

ptc_http_variable_value_t *
ptc_http_variable_get(ptc_http_request_t *r, int index)
{
    if (index < 0 || (size_t)index >= vars_run_n) {
        return NULL;
    }
    ptc_http_variable_value_t *v = &((ptc_http_variable_value_t *)r->variables)[index];
    if (v->valid && !v->no_cacheable) {
        return v;
    }
    if (v->not_found && !v->no_cacheable) {
        return v;
    }
    http_var_t *def = &vars_run[index];
    v->valid = 0;
    v->not_found = 0;
    v->value.len = 0;
    v->value.data = (u_char *)"";
    if (def->get(r, v, def->data) != PTC_OK) {
        return NULL;
    }
    if (def->flags & PTC_HTTP_VAR_NOCACHEABLE) {
        v->no_cacheable = 1;
    }
    return v;
}

ptc_http_variable_value_t *
ptc_http_variable_by_name(ptc_http_request_t *r, const ptc_str_t *name)
{
    for (size_t i = 0; i < vars_run_n; i++) {
        if (ptc_str_caseeq(&vars_run[i].name, name)) {
            return ptc_http_variable_get(r, (int)i);
        }
    }
    ptc_http_variable_value_t *v = ptc_pcalloc(r->pool, sizeof(*v));
    if (v) {
        v->not_found = 1;
    }
    return v;
}

bool
ptc_http_header_name_is(const ptc_str_t *header, const ptc_str_t *var_name)
{
    if (header->len != var_name->len) {
        return false;
    }
    for (size_t k = 0; k < header->len; k++) {
        u_char a = ptc_tolower(header->data[k]), b = ptc_tolower(var_name->data[k]);
        if (a != b && !(a == '-' && b == '_')) {
            return false;
        }
    }
    return true;
}

/* ---- complex values ---- */

static bool
cv_name_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int
cv_push(ptc_array_t *parts, cv_kind_t kind, const u_char *p, size_t len, int index)
{
    cv_part_t *part = ptc_array_push(parts);
    if (part == NULL) {
        return PTC_ERROR;
    }
    part->kind = kind;
    part->text.data = (u_char *)p;
    part->text.len = len;
    part->index = index;
    return PTC_OK;
}

/* Parse "$name", "${name}" or "$N" at p (which points at '$'). Returns the
 * bytes consumed, or 0 when it is not a variable reference. */
static size_t
cv_parse_var(ptc_conf_t *cf, ptc_array_t *parts, const u_char *p, const u_char *end)
{
    const u_char *s = p + 1;
    bool braced = s < end && *s == '{';
    s += braced;
    const u_char *n = s;
    if (!braced && n < end && *n >= '1' && *n <= '9') {
        return cv_push(parts, CV_CAPTURE, NULL, 0, *n - '0') == PTC_OK ? 2 : 0;
    }
    while (s < end && cv_name_char(*s)) {
        s++;
    }
    if (s == n || (braced && (s == end || *s != '}'))) {
        return 0;
    }
    ptc_str_t name = {(size_t)(s - n), (u_char *)n};
    if (name.len == 1 && name.data[0] >= '0' && name.data[0] <= '9') {
        if (cv_push(parts, CV_CAPTURE, NULL, 0, name.data[0] - '0') != PTC_OK) {
            return 0;
        }
    } else {
        int idx = ptc_http_variable_index(cf, &name);
        if (idx < 0 || cv_push(parts, CV_VAR, name.data, name.len, idx) != PTC_OK) {
            return 0;
        }
    }
    return (size_t)(s - p) + braced;
}

ptc_http_complex_value_t *
ptc_http_complex_value_compile(ptc_conf_t *cf, const ptc_str_t *src)
{
    ptc_http_complex_value_t *cv = ptc_pcalloc(cf->pool, sizeof(*cv));
    ptc_array_t parts;
    if (cv == NULL || ptc_array_init(&parts, cf->pool, 4, sizeof(cv_part_t)) != PTC_OK) {
        return NULL;
    }
    const u_char *p = src->data, *end = src->data + src->len, *lit = p;
    while (p < end) {
        if (*p != '$') {
            p++;
            continue;
        }
        size_t litlen = (size_t)(p - lit);
        size_t before = parts.nelts;
        if (litlen && cv_push(&parts, CV_LITERAL, lit, litlen, 0) != PTC_OK) {
            return NULL;
        }
        size_t used = cv_parse_var(cf, &parts, p, end);
        if (used == 0) {
            if (cf->failed) {
                return NULL;
            }
            /* not a reference: "$" stays literal text */
            parts.nelts = before;
            p++;
            continue;
        }
        p += used;
        lit = p;
    }
    if (lit < end && cv_push(&parts, CV_LITERAL, lit, (size_t)(end - lit), 0) != PTC_OK) {
        return NULL;
    }
    cv->parts = parts.elts;
    cv->nparts = parts.nelts;
    cv->literal = *src;
    cv->is_literal = true;
    for (size_t i = 0; i < cv->nparts; i++) {
        cv->is_literal &= cv->parts[i].kind == CV_LITERAL;
    }
    return cv;
}

bool
ptc_http_complex_value_is_literal(const ptc_http_complex_value_t *cv, ptc_str_t *text)
{
    if (cv->is_literal && text) {
        *text = cv->literal;
    }
    return cv->is_literal;
}

static ptc_str_t
cv_part_value(ptc_http_request_t *r, const cv_part_t *part)
{
    ptc_str_t none = {0, (u_char *)""};
    if (part->kind == CV_LITERAL) {
        return part->text;
    }
    if (part->kind == CV_CAPTURE) {
        unsigned n = (unsigned)part->index;
        if (r->captures == NULL || n >= r->ncaptures || r->captures[2 * n] < 0) {
            return none;
        }
        ptc_str_t s = {(size_t)(r->captures[2 * n + 1] - r->captures[2 * n]),
                       (u_char *)r->captures_data + r->captures[2 * n]};
        return s;
    }
    ptc_http_variable_value_t *v = ptc_http_variable_get(r, part->index);
    return v && !v->not_found ? v->value : none;
}

int
ptc_http_complex_value(ptc_http_request_t *r, const ptc_http_complex_value_t *cv, ptc_str_t *out)
{
    if (cv->is_literal) {
        *out = cv->literal;
        return PTC_OK;
    }
    ptc_str_t vals[16], *v = vals;
    if (cv->nparts > ptc_nelems(vals)) {
        v = ptc_palloc(r->pool, cv->nparts * sizeof(ptc_str_t));
        if (v == NULL) {
            return PTC_ERROR;
        }
    }
    size_t len = 0;
    for (size_t i = 0; i < cv->nparts; i++) {
        v[i] = cv_part_value(r, &cv->parts[i]);
        len += v[i].len;
    }
    u_char *p = ptc_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return PTC_ERROR;
    }
    out->data = p;
    out->len = len;
    for (size_t i = 0; i < cv->nparts; i++) {
        if (v[i].len) {
            p = ptc_cpymem(p, v[i].data, v[i].len);
        }
    }
    *p = '\0';
    return PTC_OK;
}

/* ---- regex captures ---- */

/* A named group's variable before any regex with that group matched (a
 * match stores the value itself, see ptc_http_regex_exec). */
static int
vars_named_capture(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    v->not_found = 1;
    return PTC_OK;
}

int
ptc_http_regex_names_register(ptc_conf_t *cf, void *regex)
{
    ptc_str_t names[32];
    unsigned idx[32];
    size_t n = ptc_min(ptc_regex_names(regex, names, idx, 32), 32);
    if (n == 0) {
        return PTC_OK;
    }
    http_regex_vars_t *rv = ptc_palloc(cf->pool, sizeof(*rv) + n * sizeof(http_regex_var_t));
    if (rv == NULL) {
        return PTC_ERROR;
    }
    rv->n = n;
    for (size_t i = 0; i < n; i++) {
        ptc_str_t *copy = ptc_palloc(cf->pool, sizeof(ptc_str_t));
        if (copy == NULL || ptc_str_dup(cf->pool, copy, names[i].data, names[i].len) != PTC_OK) {
            return PTC_ERROR;
        }
        rv->vars[i].group = idx[i];
        rv->vars[i].index =
            ptc_http_add_variable(cf, copy, vars_named_capture, (uintptr_t)copy,
                                  PTC_HTTP_VAR_NOCACHEABLE | PTC_HTTP_VAR_CHANGEABLE);
        if (rv->vars[i].index < 0) {
            return PTC_ERROR;
        }
    }
    ptc_regex_set_data(regex, rv);
    return PTC_OK;
}

/* Store the named groups of the match in ov into their variables. */
static void
vars_store_named(ptc_http_request_t *r, const http_regex_vars_t *rv, const int *ov, unsigned n,
                 const ptc_str_t *subject)
{
    ptc_http_variable_value_t *vals = r->variables;
    for (size_t i = 0; i < rv->n; i++) {
        unsigned g = rv->vars[i].group;
        ptc_http_variable_value_t *v = &vals[rv->vars[i].index];
        v->value.len = 0;
        v->value.data = (u_char *)"";
        if (g < n && ov[2 * g] >= 0) {
            v->value.data = subject->data + ov[2 * g];
            v->value.len = (size_t)(ov[2 * g + 1] - ov[2 * g]);
        }
        v->valid = 1;
        v->not_found = 0;
        v->no_cacheable = 0;
    }
}

int
ptc_http_regex_exec(ptc_http_request_t *r, const void *regex, const ptc_str_t *subject)
{
    unsigned n = ptc_regex_captures(regex) + 1;
    int *ov = ptc_palloc(r->pool, 2 * n * sizeof(int));
    if (ov == NULL) {
        return PTC_ERROR;
    }
    int rc = ptc_regex_exec(regex, subject->data, subject->len, ov, n);
    if (rc == PTC_DECLINED) {
        return PTC_DECLINED;
    }
    if (rc < 0) {
        char msg[2048];
        ptc_regex_exec_error(regex, subject->data, subject->len, msg, sizeof(msg));
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "%s", msg);
        return PTC_ERROR;
    }
    for (unsigned i = (unsigned)rc; i < n; i++) {
        ov[2 * i] = ov[2 * i + 1] = -1;
    }
    r->captures = ov;
    r->ncaptures = n;
    r->captures_data = subject->data;
    r->captures_regex = regex;
    const http_regex_vars_t *rv = ptc_regex_data(regex);
    if (rv) {
        vars_store_named(r, rv, ov, n, subject);
    }
    return PTC_OK;
}
