/* SPDX-License-Identifier: BSD-2-Clause */
/* Set-Cookie from the origin, rewritten as nginx does: proxy_cookie_domain
 * and proxy_cookie_path replace the Domain and Path attributes (plain or
 * regex rules, the first match wins), proxy_cookie_flags adds or removes
 * Secure, HttpOnly and SameSite for the cookies it names. */
#include "core/ptc_pool.h"
#include "core/ptc_regex.h"
#include "modules/proxy/proxy_ctx.h"

/* ---- config ---- */

static ptc_regex_t *
cookie_regex(ptc_conf_t *cf, const ptc_str_t *arg, bool caseless)
{
    /* "~re" (case-sensitive) or "~*re" */
    size_t skip = arg->len > 1 && arg->data[1] == '*' ? 2 : 1;
    ptc_str_t pat = {arg->len - skip, arg->data + skip};
    char err[512];
    unsigned flags = caseless || skip == 2 ? PTC_REGEX_CASELESS : 0;
    ptc_regex_t *re = ptc_regex_compile(cf->pool, &pat, flags, err, sizeof(err));
    if (re == NULL) {
        ptc_conf_error(cf, "%s", err);
        return NULL;
    }
    return ptc_http_regex_names_register(cf, re) == PTC_OK ? re : NULL;
}

/* "off" for a list directive: PTC_OK (set to off), PTC_DECLINED (not
 * "off"), or an error message in *err. */
static int
cookie_off(ptc_conf_t *cf, ptc_array_t **list, const char **err)
{
    if (!ptc_str_eq_c(ptc_conf_arg(cf, 1), "off")) {
        return PTC_DECLINED;
    }
    if (ptc_conf_nargs(cf) != 2) {
        *err = "invalid number of arguments";
        return PTC_ERROR;
    }
    if (*list != PTC_CONF_UNSET_PTR) {
        *err = "is duplicate";
        return PTC_ERROR;
    }
    *list = NULL;
    return PTC_OK;
}

static ptc_array_t *
cookie_list(ptc_conf_t *cf, ptc_array_t **list, size_t size)
{
    if (*list == PTC_CONF_UNSET_PTR) {
        *list = ptc_array_create(cf->pool, 2, size);
    }
    return *list;
}

const char *
ptc_proxy_cookie_rule(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_array_t **list = (void *)((char *)conf + d->offset);
    bool domain = d->offset == offsetof(proxy_loc_conf_t, cookie_domains);
    const char *err = NULL;
    int rc = cookie_off(cf, list, &err);
    if (rc != PTC_DECLINED) {
        return err;
    }
    if (ptc_conf_nargs(cf) != 3) {
        return "invalid number of arguments";
    }
    if (*list == NULL) {
        return "is duplicate"; /* "off" was given at this level */
    }
    if (cookie_list(cf, list, sizeof(proxy_cookie_rule_t)) == NULL) {
        return PTC_CONF_ERROR;
    }
    proxy_cookie_rule_t *rule = ptc_array_push(*list);
    if (rule == NULL) {
        return PTC_CONF_ERROR;
    }
    memset(rule, 0, sizeof(*rule));
    ptc_str_t from = *ptc_conf_arg(cf, 1);
    if (from.len > 1 && from.data[0] == '~') {
        rule->re = cookie_regex(cf, &from, domain); /* domains: always caseless */
        if (rule->re == NULL) {
            return PTC_CONF_ERROR;
        }
    } else {
        if (domain && from.len > 1 && from.data[0] == '.') {
            from.data++; /* the leading dot of a domain is not compared */
            from.len--;
        }
        rule->from = ptc_http_complex_value_compile(cf, &from);
        if (rule->from == NULL) {
            return PTC_CONF_ERROR;
        }
    }
    rule->to = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 2));
    return rule->to ? NULL : PTC_CONF_ERROR;
}

static const char *
cookie_flag(proxy_cookie_flags_t *f, const ptc_str_t *v)
{
    static const struct {
        const char *name;
        unsigned set, clear;
    } flags[] = {
        {"secure", PROXY_CF_SECURE, 0},       {"nosecure", 0, PROXY_CF_SECURE},
        {"httponly", PROXY_CF_HTTPONLY, 0},   {"nohttponly", 0, PROXY_CF_HTTPONLY},
        {"nosamesite", 0, PROXY_CF_SAMESITE},
    };
    for (size_t i = 0; i < ptc_nelems(flags); i++) {
        if (ptc_str_caseeq_c(v, flags[i].name)) {
            f->set |= flags[i].set;
            f->clear |= flags[i].clear;
            return NULL;
        }
    }
    static const char *const samesite[][2] = {
        {"samesite=strict", "Strict"}, {"samesite=lax", "Lax"}, {"samesite=none", "None"}};
    for (size_t i = 0; i < ptc_nelems(samesite); i++) {
        if (ptc_str_caseeq_c(v, samesite[i][0])) {
            f->set |= PROXY_CF_SAMESITE;
            f->samesite.data = (u_char *)samesite[i][1];
            f->samesite.len = strlen(samesite[i][1]);
            return NULL;
        }
    }
    return "invalid parameter";
}

const char *
ptc_proxy_cookie_flags(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    const char *err = NULL;
    int rc = cookie_off(cf, &plcf->cookie_flags, &err);
    if (rc != PTC_DECLINED) {
        return err;
    }
    if (plcf->cookie_flags == NULL) {
        return "is duplicate";
    }
    if (ptc_conf_nargs(cf) > 2 + 8) {
        return "invalid number of arguments";
    }
    if (cookie_list(cf, &plcf->cookie_flags, sizeof(proxy_cookie_flags_t)) == NULL) {
        return PTC_CONF_ERROR;
    }
    proxy_cookie_flags_t *f = ptc_array_push(plcf->cookie_flags);
    if (f == NULL) {
        return PTC_CONF_ERROR;
    }
    memset(f, 0, sizeof(*f));
    const ptc_str_t *name = ptc_conf_arg(cf, 1);
    if (name->len > 1 && name->data[0] == '~') {
        f->re = cookie_regex(cf, name, false);
        if (f->re == NULL) {
            return PTC_CONF_ERROR;
        }
    } else if ((f->name = ptc_http_complex_value_compile(cf, name)) == NULL) {
        return PTC_CONF_ERROR;
    }
    for (size_t i = 2; i < ptc_conf_nargs(cf); i++) {
        if (memchr(ptc_conf_arg(cf, i)->data, '$', ptc_conf_arg(cf, i)->len)) {
            return ptc_conf_error(cf, "variables in flags of \"proxy_cookie_flags\" are not "
                                      "supported");
        }
        if (cookie_flag(f, ptc_conf_arg(cf, i)) != NULL) {
            return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*ptc_conf_arg(cf, i)));
        }
    }
    return NULL;
}

/* ---- per response ---- */

/* One attribute of a Set-Cookie value: [start, end) is "; Name=value"
 * with its separator; name and value are trimmed. */
typedef struct {
    const u_char *start, *end;
    ptc_str_t name, value;
} cookie_attr_t;

static const u_char *
cookie_next(const u_char *p, const u_char *end, cookie_attr_t *a)
{
    a->start = p; /* at ';' */
    p++;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    const u_char *semi = memchr(p, ';', (size_t)(end - p));
    a->end = semi ? semi : end;
    const u_char *eq = memchr(p, '=', (size_t)(a->end - p));
    const u_char *ne = eq ? eq : a->end;
    while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t')) {
        ne--;
    }
    a->name = (ptc_str_t){(size_t)(ne - p), (u_char *)p};
    const u_char *v = eq ? eq + 1 : a->end, *ve = a->end;
    while (v < ve && (*v == ' ' || *v == '\t')) {
        v++;
    }
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
        ve--;
    }
    a->value = (ptc_str_t){(size_t)(ve - v), (u_char *)v};
    return a->end;
}

/* The first rule of list matching value: PTC_OK with *out the new value,
 * PTC_DECLINED, PTC_ERROR. */
static int
cookie_rewrite(proxy_ctx_t *ctx, ptc_array_t *list, bool domain, ptc_str_t value, ptc_str_t *out)
{
    ptc_http_request_t *r = ctx->r;
    proxy_cookie_rule_t *rules = list->elts;
    ptc_str_t keep = ptc_null_string;
    if (domain && value.len && value.data[0] == '.') {
        keep = (ptc_str_t){1, value.data};
        value.data++;
        value.len--;
    }
    for (size_t i = 0; i < list->nelts; i++) {
        ptc_str_t from, to, rest = ptc_null_string;
        if (rules[i].re) {
            int rc = ptc_http_regex_exec(r, rules[i].re, &value);
            if (rc == PTC_DECLINED) {
                continue;
            }
            if (rc != PTC_OK) {
                return PTC_ERROR;
            }
        } else {
            if (ptc_http_complex_value(r, rules[i].from, &from) != PTC_OK) {
                return PTC_ERROR;
            }
            if (domain ? !(from.len == value.len
                           && ptc_strncasecmp(from.data, value.data, from.len) == 0)
                       : !(from.len <= value.len && memcmp(from.data, value.data, from.len) == 0)) {
                continue;
            }
            rest = (ptc_str_t){value.len - from.len, value.data + from.len};
        }
        if (ptc_http_complex_value(r, rules[i].to, &to) != PTC_OK) {
            return PTC_ERROR;
        }
        return ptc_psprintf(r->pool, out, PTC_STR_FMT PTC_STR_FMT PTC_STR_FMT, PTC_STR_ARG(keep),
                            PTC_STR_ARG(to), PTC_STR_ARG(rest));
    }
    return PTC_DECLINED;
}

static const proxy_cookie_flags_t *
cookie_flags_for(proxy_ctx_t *ctx, ptc_str_t name, int *rc)
{
    ptc_array_t *list = ctx->plcf->cookie_flags;
    proxy_cookie_flags_t *f = list ? list->elts : NULL;
    *rc = PTC_OK;
    for (size_t i = 0; list && i < list->nelts; i++) {
        if (f[i].re) {
            int m = ptc_http_regex_exec(ctx->r, f[i].re, &name);
            if (m == PTC_OK) {
                return &f[i];
            }
            if (m == PTC_ERROR) {
                *rc = PTC_ERROR;
                return NULL;
            }
            continue;
        }
        ptc_str_t n;
        if (ptc_http_complex_value(ctx->r, f[i].name, &n) != PTC_OK) {
            *rc = PTC_ERROR;
            return NULL;
        }
        if (ptc_str_eq(&n, &name)) {
            return &f[i];
        }
    }
    return NULL;
}

/* Output pieces of the new value, in r->pool. */
typedef struct {
    ptc_str_t *part; /* sized for the value: 3 per attribute, 4 more */
    size_t n, len;
} cookie_out_t;

static void
cookie_put(cookie_out_t *o, const u_char *p, size_t len)
{
    o->part[o->n++] = (ptc_str_t){len, (u_char *)p};
    o->len += len;
}

static void
cookie_put_c(cookie_out_t *o, const char *s)
{
    cookie_put(o, (const u_char *)s, strlen(s));
}

/* Copy one attribute to o: rewritten (domain, path, SameSite), dropped
 * (a flag removed) or as it was. PTC_OK or PTC_ERROR. */
static int
cookie_attr(proxy_ctx_t *ctx, const cookie_attr_t *a, const proxy_cookie_flags_t *f, unsigned *seen,
            cookie_out_t *o)
{
    proxy_loc_conf_t *plcf = ctx->plcf;
    bool domain = ptc_str_caseeq_c(&a->name, "domain");
    ptc_array_t *list = domain                               ? plcf->cookie_domains
                        : ptc_str_caseeq_c(&a->name, "path") ? plcf->cookie_paths
                                                             : NULL;
    unsigned flag = ptc_str_caseeq_c(&a->name, "secure")     ? PROXY_CF_SECURE
                    : ptc_str_caseeq_c(&a->name, "httponly") ? PROXY_CF_HTTPONLY
                    : ptc_str_caseeq_c(&a->name, "samesite") ? PROXY_CF_SAMESITE
                                                             : 0;
    if (flag && f && (f->clear & flag)) {
        return PTC_OK; /* removed */
    }
    *seen |= flag;
    if (flag == PROXY_CF_SAMESITE && f && (f->set & flag)) {
        cookie_put(o, a->start, (size_t)(a->name.data - a->start));
        cookie_put_c(o, "SameSite=");
        cookie_put(o, f->samesite.data, f->samesite.len);
        return PTC_OK;
    }
    ptc_str_t nv;
    int rc = list ? cookie_rewrite(ctx, list, domain, a->value, &nv) : PTC_DECLINED;
    if (rc == PTC_ERROR) {
        return PTC_ERROR;
    }
    if (rc == PTC_DECLINED) {
        cookie_put(o, a->start, (size_t)(a->end - a->start));
        return PTC_OK;
    }
    cookie_put(o, a->start, (size_t)(a->value.data - a->start));
    cookie_put(o, nv.data, nv.len);
    cookie_put(o, a->value.data + a->value.len, (size_t)(a->end - (a->value.data + a->value.len)));
    return PTC_OK;
}

int
ptc_proxy_rewrite_cookie(proxy_ctx_t *ctx, ptc_str_t *value)
{
    const u_char *p = value->data, *end = p + value->len;
    const u_char *semi = memchr(p, ';', value->len);
    const u_char *first_end = semi ? semi : end;
    const u_char *eq = memchr(p, '=', (size_t)(first_end - p));
    ptc_str_t name = {(size_t)((eq ? eq : first_end) - p), (u_char *)p};
    while (name.len && (name.data[name.len - 1] == ' ' || name.data[name.len - 1] == '\t')) {
        name.len--;
    }
    int rc;
    const proxy_cookie_flags_t *f = cookie_flags_for(ctx, name, &rc);
    if (rc != PTC_OK) {
        return PTC_ERROR;
    }
    size_t nattrs = 0;
    for (const u_char *s = first_end; s < end; s++) {
        nattrs += *s == ';';
    }
    cookie_out_t out = {ptc_palloc(ctx->r->pool, (3 * nattrs + 8) * sizeof(ptc_str_t)), 0, 0};
    cookie_out_t *o = &out;
    if (o->part == NULL) {
        return PTC_ERROR;
    }
    cookie_put(o, p, (size_t)(first_end - p));
    unsigned seen = 0;
    for (p = first_end; p < end;) {
        cookie_attr_t a;
        p = cookie_next(p, end, &a);
        if (cookie_attr(ctx, &a, f, &seen, o) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    if (f && (f->set & PROXY_CF_SECURE) && !(seen & PROXY_CF_SECURE)) {
        cookie_put_c(o, "; Secure");
    }
    if (f && (f->set & PROXY_CF_HTTPONLY) && !(seen & PROXY_CF_HTTPONLY)) {
        cookie_put_c(o, "; HttpOnly");
    }
    if (f && (f->set & PROXY_CF_SAMESITE) && !(seen & PROXY_CF_SAMESITE)) {
        cookie_put_c(o, "; SameSite=");
        cookie_put(o, f->samesite.data, f->samesite.len);
    }
    u_char *q = ptc_pnalloc(ctx->r->pool, o->len + 1);
    if (q == NULL) {
        return PTC_ERROR;
    }
    value->data = q;
    for (size_t i = 0; i < o->n; i++) {
        q = ptc_cpymem(q, o->part[i].data, o->part[i].len);
    }
    value->len = o->len;
    return PTC_OK;
}
