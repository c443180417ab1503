/* SPDX-License-Identifier: BSD-2-Clause */
/* Directive dispatch and the generic setters. */
#include "core/ptc_conf.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/ptc_cycle.h"
#include "core/ptc_module.h"
#include "core/ptc_pool.h"

static const char *
conf_vformat(ptc_conf_t *cf, const ptc_conf_node_t *node, const char *fmt, va_list ap)
{
    if (cf->failed) {
        return PTC_CONF_ERROR; /* keep the first error */
    }
    cf->failed = true;
    int n = vsnprintf(cf->errbuf, cf->errlen, fmt, ap);
    if (n >= 0 && (size_t)n < cf->errlen && node && node->file) {
        snprintf(cf->errbuf + n, cf->errlen - (size_t)n, " in %s:%u", node->file, node->line);
    }
    return PTC_CONF_ERROR;
}

const char *
ptc_conf_error(ptc_conf_t *cf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *r = conf_vformat(cf, cf->node, fmt, ap);
    va_end(ap);
    return r;
}

const char *
ptc_conf_error_at(ptc_conf_t *cf, const ptc_conf_node_t *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *r = conf_vformat(cf, node, fmt, ap);
    va_end(ap);
    return r;
}

void
ptc_conf_warn(ptc_conf_t *cf, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (cf->node && cf->node->file) {
        ptc_log_stderr(PTC_LOG_WARN, 0, "%s in %s:%u", buf, cf->node->file, cf->node->line);
    } else {
        ptc_log_stderr(PTC_LOG_WARN, 0, "%s", buf);
    }
}

static bool
conf_args_ok(unsigned spec, size_t n)
{
    if (spec & PTC_ARGS_ANY) {
        return true;
    }
    if (spec & PTC_ARGS_FLAG) {
        return n == 1;
    }
    if ((spec & PTC_ARGS_1MORE) && n >= 1) {
        return true;
    }
    if ((spec & PTC_ARGS_2MORE) && n >= 2) {
        return true;
    }
    return n <= 7 && (spec & (1u << n));
}

static void *
conf_target(ptc_conf_t *cf, const ptc_module_t *m, const ptc_directive_t *d)
{
    if (m->type == PTC_MODULE_CORE) {
        return cf->cycle->conf_ctx[m->index];
    }
    ptc_conf_ctx_t *ctx = cf->ctx;
    void **confs = d->level == PTC_CONF_MAIN  ? ctx->main_conf
                   : d->level == PTC_CONF_SRV ? ctx->srv_conf
                                              : ctx->loc_conf;
    return confs[m->ctx_index];
}

static int
conf_apply(ptc_conf_t *cf, const ptc_conf_node_t *node)
{
    const ptc_str_t *name = &node->args[0];
    bool found = false;
    cf->node = node;
    for (size_t i = 0; ptc_modules[i]; i++) {
        const ptc_module_t *m = ptc_modules[i];
        for (const ptc_directive_t *d = m->directives; d && d->name; d++) {
            if (!ptc_str_eq_c(name, d->name)) {
                continue;
            }
            found = true;
            if (!(d->contexts & cf->ctx_type)) {
                continue;
            }
            if (!(d->args & PTC_ARGS_BLOCK) && node->block) {
                ptc_conf_error(cf, "directive \"%s\" is not terminated by \";\"", d->name);
                return PTC_ERROR;
            }
            if ((d->args & PTC_ARGS_BLOCK) && !node->block) {
                ptc_conf_error(cf, "directive \"%s\" has no opening \"{\"", d->name);
                return PTC_ERROR;
            }
            if (!conf_args_ok(d->args, node->nargs - 1)) {
                ptc_conf_error(cf, "invalid number of arguments in \"%s\" directive", d->name);
                return PTC_ERROR;
            }
            const char *rv = d->set(cf, d, conf_target(cf, m, d));
            cf->node = node;
            if (rv == NULL) {
                return PTC_OK;
            }
            if (rv != PTC_CONF_ERROR) {
                ptc_conf_error(cf, "\"%s\" directive %s", d->name, rv);
            }
            return PTC_ERROR;
        }
    }
    if (found) {
        ptc_conf_error(cf, "\"" PTC_STR_FMT "\" directive is not allowed here", PTC_STR_ARG(*name));
    } else {
        ptc_conf_error(cf, "unknown directive \"" PTC_STR_FMT "\"", PTC_STR_ARG(*name));
    }
    return PTC_ERROR;
}

int
ptc_conf_walk(ptc_conf_t *cf, const ptc_conf_node_t *block, unsigned ctx_type, void *ctx)
{
    unsigned saved_type = cf->ctx_type;
    void *saved_ctx = cf->ctx;
    const ptc_conf_node_t *saved_node = cf->node;
    int rc = PTC_OK;
    cf->ctx_type = ctx_type;
    cf->ctx = ctx;
    for (size_t i = 0; i < block->nchildren; i++) {
        if (conf_apply(cf, &block->children[i]) != PTC_OK) {
            rc = PTC_ERROR;
            break;
        }
    }
    cf->ctx_type = saved_type;
    cf->ctx = saved_ctx;
    cf->node = saved_node;
    return rc;
}

char *
ptc_conf_full_path(ptc_conf_t *cf, const ptc_str_t *path, bool conf_prefix)
{
    if (path->len > 0 && path->data[0] == '/') {
        return ptc_str_cstr(cf->pool, path);
    }
    const char *pre = conf_prefix ? cf->conf_prefix : cf->prefix;
    size_t plen = strlen(pre);
    char *s = ptc_pnalloc(cf->pool, plen + path->len + 2);
    if (s == NULL) {
        return NULL;
    }
    memcpy(s, pre, plen);
    if (plen && s[plen - 1] != '/') {
        s[plen++] = '/';
    }
    memcpy(s + plen, path->data, path->len);
    s[plen + path->len] = '\0';
    return s;
}

int
ptc_conf_resolve_path(ptc_conf_t *cf, ptc_str_t *path)
{
    if (path->len && path->data[0] == '/') {
        return PTC_OK;
    }
    char *full = ptc_conf_full_path(cf, path, false);
    if (full == NULL) {
        return PTC_ERROR;
    }
    path->data = (u_char *)full;
    path->len = strlen(full);
    return PTC_OK;
}

/* ---- generic setters ---- */

const char *
ptc_conf_set_flag(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    int *field = (int *)((char *)conf + d->offset);
    const ptc_str_t *v = ptc_conf_arg(cf, 1);
    if (*field != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    if (ptc_str_caseeq_c(v, "on")) {
        *field = 1;
    } else if (ptc_str_caseeq_c(v, "off")) {
        *field = 0;
    } else {
        return ptc_conf_error(cf,
                              "invalid value \"" PTC_STR_FMT "\" in \"%s\" directive, "
                              "it must be \"on\" or \"off\"",
                              PTC_STR_ARG(*v), d->name);
    }
    return NULL;
}

static const char *
conf_check_bounds(ptc_conf_t *cf, const ptc_directive_t *d, int64_t v)
{
    const ptc_conf_bounds_t *b = d->extra;
    if (b && (v < b->min || v > b->max)) {
        return ptc_conf_error(cf, "value must be between %lld and %lld in \"%s\" directive",
                              (long long)b->min, (long long)b->max, d->name);
    }
    return NULL;
}

static const char *
conf_invalid(ptc_conf_t *cf, const ptc_directive_t *d, size_t argi)
{
    return ptc_conf_error(cf, "invalid value \"" PTC_STR_FMT "\" in \"%s\" directive",
                          PTC_STR_ARG(*ptc_conf_arg(cf, argi)), d->name);
}

const char *
ptc_conf_set_num(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    int64_t *field = (int64_t *)((char *)conf + d->offset);
    if (*field != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    const ptc_str_t *v = ptc_conf_arg(cf, 1);
    int64_t n = ptc_atoi(v->data, v->len);
    if (n < 0) {
        return "invalid number";
    }
    *field = n;
    return conf_check_bounds(cf, d, n);
}

const char *
ptc_conf_set_size(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    size_t *field = (size_t *)((char *)conf + d->offset);
    if (*field != PTC_CONF_UNSET_SIZE) {
        return "is duplicate";
    }
    int64_t n = ptc_parse_size(ptc_conf_arg(cf, 1));
    if (n < 0) {
        return "invalid value";
    }
    *field = (size_t)n;
    return conf_check_bounds(cf, d, n);
}

const char *
ptc_conf_set_msec(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_msec_t *field = (ptc_msec_t *)((char *)conf + d->offset);
    if (*field != PTC_CONF_UNSET_MSEC) {
        return "is duplicate";
    }
    int64_t n = ptc_parse_time_ms(ptc_conf_arg(cf, 1));
    if (n < 0) {
        return "invalid value";
    }
    *field = (ptc_msec_t)n;
    return NULL;
}

const char *
ptc_conf_set_str(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_str_t *field = (ptc_str_t *)((char *)conf + d->offset);
    if (field->data) {
        return "is duplicate";
    }
    *field = *ptc_conf_arg(cf, 1);
    return NULL;
}

const char *
ptc_conf_set_str_array(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_array_t **field = (ptc_array_t **)((char *)conf + d->offset);
    if (*field == PTC_CONF_UNSET_PTR || *field == NULL) {
        *field = ptc_array_create(cf->pool, 4, sizeof(ptc_str_t));
        if (*field == NULL) {
            return "out of memory";
        }
    }
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        ptc_str_t *s = ptc_array_push(*field);
        if (s == NULL) {
            return "out of memory";
        }
        *s = *ptc_conf_arg(cf, i);
    }
    return NULL;
}

const char *
ptc_conf_set_conf_file(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_str_t *s = (ptc_str_t *)((char *)conf + d->offset);
    if (s->data) {
        return "is duplicate";
    }
    char *path = ptc_conf_full_path(cf, ptc_conf_arg(cf, 1), true);
    if (path == NULL) {
        return "out of memory";
    }
    s->data = (u_char *)path;
    s->len = strlen(path);
    return NULL;
}

const char *
ptc_conf_set_enum(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    int *field = (int *)((char *)conf + d->offset);
    if (*field != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    const ptc_str_t *v = ptc_conf_arg(cf, 1);
    for (const ptc_conf_enum_t *e = d->extra; e->name; e++) {
        if (ptc_str_caseeq_c(v, e->name)) {
            *field = e->value;
            return NULL;
        }
    }
    return conf_invalid(cf, d, 1);
}

const char *
ptc_conf_set_temp_path(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_str_t *field = (ptc_str_t *)((char *)conf + d->offset);
    if (field->data) {
        return "is duplicate";
    }
    for (size_t i = 2; i < ptc_conf_nargs(cf); i++) {
        const ptc_str_t *lv = ptc_conf_arg(cf, i);
        int64_t v = ptc_atoi(lv->data, lv->len);
        if (v < 1 || v > 2) {
            return conf_invalid(cf, d, i);
        }
    }
    *field = *ptc_conf_arg(cf, 1);
    return NULL;
}
