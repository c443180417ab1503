/* SPDX-License-Identifier: BSD-2-Clause */
/* Request filter (a Portico addition; nginx has no such module): PCRE2
 * rules on the path, the raw target, the query string, one argument, a
 * header, a cookie or the body, checked in the access phase after
 * allow/deny. Rules are compiled once here; unlike nginx's array
 * directives they accumulate from http to server to location, so adding a
 * rule in a location never drops the outer ones. The run-time side is in
 * filter_run.c. */
#include <stdio.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/filter/filter_int.h"
#include "modules/http/http_core.h"

static int filter_preconfig(ptc_conf_t *cf);
static void *filter_create_loc(ptc_conf_t *cf);
static const char *filter_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static const char *filter_rule_set(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *filter_log_level_set(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

#define HSL      (PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION)
#define OFF(fld) offsetof(filter_loc_conf_t, fld)

static const ptc_directive_t filter_directives[] = {
    {"filter_rule", HSL, PTC_ARGS_4 | PTC_ARGS_5, filter_rule_set, PTC_CONF_LOC, 0, NULL},
    {"filter", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, PTC_CONF_LOC, OFF(enable), NULL},
    {"filter_body_size", HSL, PTC_ARGS_1, ptc_conf_set_size, PTC_CONF_LOC, OFF(body_size), NULL},
    {"filter_log_level", HSL, PTC_ARGS_1, filter_log_level_set, PTC_CONF_LOC, 0, NULL},
    {"filter_dry_run", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, PTC_CONF_LOC, OFF(dry_run), NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_filter_module = {
    .name = "http_filter",
    .type = PTC_MODULE_HTTP,
    .directives = filter_directives,
    .preconfig = filter_preconfig,
    .create_loc = filter_create_loc,
    .merge_loc = filter_merge_loc,
};

static void *
filter_create_loc(ptc_conf_t *cf)
{
    filter_loc_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c) {
        c->enable = PTC_CONF_UNSET;
        c->body_size = PTC_CONF_UNSET_SIZE;
        c->log_level = PTC_CONF_UNSET;
        c->dry_run = PTC_CONF_UNSET;
    }
    return c;
}

/* The parent's rules followed by this level's own; the parent's list
 * itself when this level adds none. NULL with *failed on no memory. */
static filter_rules_t *
filter_rules_build(ptc_conf_t *cf, filter_rules_t *parent, const ptc_array_t *own, bool *failed)
{
    size_t pn = parent ? parent->n : 0, on = own ? own->nelts : 0;
    if (on == 0) {
        return parent;
    }
    filter_rules_t *rs = ptc_palloc(cf->pool, sizeof(*rs));
    filter_rule_t **elts = ptc_palloc(cf->pool, (pn + on) * sizeof(*elts));
    if (rs == NULL || elts == NULL) {
        *failed = true;
        return NULL;
    }
    for (size_t i = 0; i < pn; i++) {
        elts[i] = parent->elts[i];
    }
    filter_rule_t *mine = own->elts;
    for (size_t i = 0; i < on; i++) {
        elts[pn + i] = &mine[i];
    }
    rs->elts = elts;
    rs->n = pn + on;
    return rs;
}

static const char *
filter_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    filter_loc_conf_t *prev = parent, *conf = child;
    bool failed = false;
    if (!prev->merged) { /* the http level: its own rules are all it has */
        prev->rules = filter_rules_build(cf, NULL, prev->own, &failed);
        prev->merged = true;
    }
    conf->rules = filter_rules_build(cf, prev->rules, conf->own, &failed);
    conf->merged = true;
    if (failed) {
        return "out of memory";
    }
    ptc_conf_merge_value(conf->enable, prev->enable, 1);
    ptc_conf_merge_size(conf->body_size, prev->body_size, 16 * 1024);
    ptc_conf_merge_value(conf->log_level, prev->log_level, PTC_LOG_ERR);
    ptc_conf_merge_value(conf->dry_run, prev->dry_run, 0);
    return NULL;
}

/* info | notice | warn | error: a rule firing is never an emergency, and
 * a debug line would be lost among the others. */
static const char *
filter_log_level_set(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    filter_loc_conf_t *flcf = conf;
    const ptc_str_t *v = ptc_conf_arg(cf, 1);
    if (flcf->log_level != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    unsigned level = ptc_log_level_parse(v);
    if (level < PTC_LOG_ERR || level > PTC_LOG_INFO) {
        return ptc_conf_error(cf,
                              "invalid value \"" PTC_STR_FMT "\" in \"filter_log_level\" "
                              "directive, it must be \"info\", \"notice\", \"warn\" or \"error\"",
                              PTC_STR_ARG(*v));
    }
    flcf->log_level = (int)level;
    return NULL;
}

/* ---- filter_rule NAME TARGET OP PATTERN [ACTION] ---- */

static bool
filter_name_ok(const ptc_str_t *s)
{
    for (size_t i = 0; i < s->len; i++) {
        u_char c = s->data[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                  || c == '_' || c == '-' || c == '.' || c == ':';
        if (!ok) {
            return false;
        }
    }
    return s->len > 0;
}

static const struct {
    const char *name;
    bool keyed; /* "arg:NAME": the name follows */
    unsigned target;
} filter_targets[] = {
    {"path", false, FILTER_TARGET_PATH},     {"uri", false, FILTER_TARGET_URI},
    {"args", false, FILTER_TARGET_ARGS},     {"body", false, FILTER_TARGET_BODY},
    {"arg:", true, FILTER_TARGET_ARG},       {"header:", true, FILTER_TARGET_HEADER},
    {"cookie:", true, FILTER_TARGET_COOKIE},
};

static const char *
filter_parse_target(ptc_conf_t *cf, filter_rule_t *rule, const ptc_str_t *t)
{
    rule->target_text = *t;
    if (t->len > 1 && t->data[0] == '$') {
        ptc_str_t name = {t->len - 1, t->data + 1};
        rule->target = FILTER_TARGET_VAR;
        rule->var_index = ptc_http_variable_index(cf, &name);
        return rule->var_index < 0 ? PTC_CONF_ERROR : NULL;
    }
    for (size_t i = 0; i < sizeof(filter_targets) / sizeof(filter_targets[0]); i++) {
        size_t n = strlen(filter_targets[i].name);
        bool keyed = filter_targets[i].keyed;
        if ((keyed ? t->len > n : t->len == n) && memcmp(t->data, filter_targets[i].name, n) == 0) {
            rule->target = filter_targets[i].target;
            rule->key.data = t->data + n;
            rule->key.len = t->len - n;
            return NULL;
        }
    }
    return ptc_conf_error(cf,
                          "unknown filter target \"" PTC_STR_FMT "\" (path, uri, args, "
                          "arg:NAME, header:NAME, cookie:NAME, body or $variable)",
                          PTC_STR_ARG(*t));
}

static const char *
filter_parse_action(ptc_conf_t *cf, filter_rule_t *rule, const ptc_str_t *a)
{
    rule->action = FILTER_ACTION_DENY;
    rule->status = 403;
    if (a == NULL || ptc_str_eq_c(a, "deny")) {
        return NULL;
    }
    if (ptc_str_eq_c(a, "close")) {
        rule->action = FILTER_ACTION_CLOSE;
        rule->status = 444;
        return NULL;
    }
    if (ptc_str_eq_c(a, "log")) {
        rule->action = FILTER_ACTION_LOG;
        return NULL;
    }
    if (a->len > 5 && memcmp(a->data, "deny=", 5) == 0) {
        int64_t st = ptc_atoi(a->data + 5, a->len - 5);
        if (st < 400 || st > 599) {
            return ptc_conf_error(cf, "invalid filter status \"" PTC_STR_FMT "\" (400..599)",
                                  PTC_STR_ARG(*a));
        }
        rule->status = (unsigned)st;
        return NULL;
    }
    return ptc_conf_error(cf,
                          "unknown filter action \"" PTC_STR_FMT "\" (deny, deny=NNN, close "
                          "or log)",
                          PTC_STR_ARG(*a));
}

/* OP and PATTERN: the regex is compiled here, once, with JIT. */
static const char *
filter_parse_match(ptc_conf_t *cf, filter_rule_t *rule, const ptc_str_t *op,
                   const ptc_str_t *pattern)
{
    unsigned flags = 0;
    if (ptc_str_eq_c(op, "~") || ptc_str_eq_c(op, "!~")) {
        flags = 0;
    } else if (ptc_str_eq_c(op, "~*") || ptc_str_eq_c(op, "!~*")) {
        flags = PTC_REGEX_CASELESS;
    } else {
        return ptc_conf_error(cf, "invalid filter operator \"" PTC_STR_FMT "\" (~, ~*, !~ or !~*)",
                              PTC_STR_ARG(*op));
    }
    rule->negate = op->data[0] == '!';
    char err[512];
    rule->re = ptc_regex_compile(cf->pool, pattern, flags, err, sizeof(err));
    if (rule->re == NULL) {
        return ptc_conf_error(cf, "%s", err);
    }
    return NULL;
}

static const char *
filter_rule_set(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    filter_loc_conf_t *flcf = conf;
    if (flcf->own == NULL) {
        flcf->own = ptc_array_create(cf->pool, 4, sizeof(filter_rule_t));
        if (flcf->own == NULL) {
            return "out of memory";
        }
    }
    filter_rule_t *rule = ptc_array_push(flcf->own);
    if (rule == NULL) {
        return "out of memory";
    }
    memset(rule, 0, sizeof(*rule));
    rule->name = *ptc_conf_arg(cf, 1);
    if (!filter_name_ok(&rule->name)) {
        return ptc_conf_error(cf,
                              "invalid filter rule name \"" PTC_STR_FMT "\" (letters, digits, "
                              "'_', '-', '.', ':')",
                              PTC_STR_ARG(rule->name));
    }
    const char *rv = filter_parse_target(cf, rule, ptc_conf_arg(cf, 2));
    if (rv == NULL) {
        rv = filter_parse_match(cf, rule, ptc_conf_arg(cf, 3), ptc_conf_arg(cf, 4));
    }
    if (rv == NULL) {
        rv = filter_parse_action(cf, rule, ptc_conf_nargs(cf) > 5 ? ptc_conf_arg(cf, 5) : NULL);
    }
    return rv;
}

/* ---- $filter_rule and registration ---- */

static int
filter_rule_var(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    filter_state_t *st = ptc_filter_state(r);
    if (st == NULL || st->fired == NULL) {
        v->not_found = 1;
        return PTC_OK;
    }
    v->value = st->fired->name;
    v->valid = 1;
    return PTC_OK;
}

static const ptc_http_variable_def_t filter_vars[] = {
    {"filter_rule", filter_rule_var, 0, PTC_HTTP_VAR_NOCACHEABLE},
    {NULL, NULL, 0, 0},
};

static int
filter_preconfig(ptc_conf_t *cf)
{
    /* Registered before any module's postconfig: handlers registered
     * later run first within a phase, so allow/deny and the other access
     * checks run before the rules, whatever the module order. A location
     * without rules costs one test per request. */
    if (ptc_http_add_phase_handler(cf, PTC_HTTP_ACCESS_PHASE, ptc_filter_access_handler)
        != PTC_OK) {
        return PTC_ERROR;
    }
    return ptc_http_add_variables(cf, filter_vars);
}
