/* SPDX-License-Identifier: BSD-2-Clause */
/* add_header: extra response headers (values may hold variables), added
 * for success and redirect statuses, or for every status with `always`.
 * A level that has any add_header replaces the inherited list.
 * expires: the Expires and Cache-Control pair for the same statuses,
 * replacing any the response already had (an origin's).
 * add_trailer: fields after the last chunk; the header filter turns the
 * response to chunked coding for them, the body filter evaluates them when
 * the last buffer passes, and the engine's chunked filter writes them. */
#include "modules/http/http_core.h"

#include "core/ptc_pool.h"
#include "core/ptc_time.h"
#include "modules/http/http_expires.h"
#include "modules/http/http_util.h"

typedef struct {
    ptc_str_t name;
    ptc_http_complex_value_t *value;
    bool always;
} headers_item_t;

typedef struct {
    ptc_array_t *headers;                 /* headers_item_t; UNSET_PTR when the level has none */
    ptc_array_t *trailers;                /* add_trailer, likewise */
    int expires_set;                      /* UNSET: inherit `expires` */
    ptc_http_expires_t expires;           /* the parsed value (the kind alone with a cv) */
    ptc_http_complex_value_t *expires_cv; /* a value with variables, parsed per response */
} headers_loc_conf_t;

static void *headers_create_loc(ptc_conf_t *cf);
static const char *headers_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static int headers_postconfig(ptc_conf_t *cf);
static const char *headers_add(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *headers_expires(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

static const ptc_directive_t headers_directives[] = {
    {"add_header", PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION | PTC_CTX_IF_LOC,
     PTC_ARGS_2 | PTC_ARGS_3, headers_add, PTC_CONF_LOC, 0, NULL},
    {"add_trailer", PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION | PTC_CTX_IF_LOC,
     PTC_ARGS_2 | PTC_ARGS_3, headers_add, PTC_CONF_LOC, 0, NULL},
    {"expires", PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION | PTC_CTX_IF_LOC, PTC_ARGS_12,
     headers_expires, PTC_CONF_LOC, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_headers_module = {
    .name = "http_headers",
    .type = PTC_MODULE_HTTP,
    .directives = headers_directives,
    .create_loc = headers_create_loc,
    .merge_loc = headers_merge_loc,
    .postconfig = headers_postconfig,
};

static ptc_http_header_filter_fn headers_next;
static ptc_http_body_filter_fn headers_body_next;

static void *
headers_create_loc(ptc_conf_t *cf)
{
    headers_loc_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c) {
        c->headers = PTC_CONF_UNSET_PTR;
        c->trailers = PTC_CONF_UNSET_PTR;
        c->expires_set = PTC_CONF_UNSET;
    }
    return c;
}

static const char *
headers_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    headers_loc_conf_t *prev = parent, *conf = child;
    ptc_conf_merge_ptr(conf->headers, prev->headers, NULL);
    ptc_conf_merge_ptr(conf->trailers, prev->trailers, NULL);
    if (conf->expires_set == PTC_CONF_UNSET) {
        conf->expires_set = prev->expires_set == PTC_CONF_UNSET ? 0 : prev->expires_set;
        conf->expires = prev->expires; /* kind OFF when never set (zeroed conf) */
        conf->expires_cv = prev->expires_cv;
    }
    return NULL;
}

static const char *
headers_add(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    headers_loc_conf_t *hlcf = conf;
    ptc_array_t **list = d->name[4] == 't' ? &hlcf->trailers : &hlcf->headers;
    if (*list == PTC_CONF_UNSET_PTR) {
        *list = ptc_array_create(cf->pool, 4, sizeof(headers_item_t));
        if (*list == NULL) {
            return "out of memory";
        }
    }
    if (ptc_conf_nargs(cf) == 4 && !ptc_str_eq_c(ptc_conf_arg(cf, 3), "always")) {
        return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"",
                              PTC_STR_ARG(*ptc_conf_arg(cf, 3)));
    }
    headers_item_t *h = ptc_array_push(*list);
    if (h == NULL) {
        return "out of memory";
    }
    h->name = *ptc_conf_arg(cf, 1);
    h->always = ptc_conf_nargs(cf) == 4;
    h->value = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 2));
    return h->value ? NULL : PTC_CONF_ERROR;
}

/* expires [modified] TIME | epoch | max | off; a value with variables is
 * parsed per response (an invalid result then sets nothing). */
static const char *
headers_expires(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    headers_loc_conf_t *hlcf = conf;
    if (hlcf->expires_set != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    bool modified = ptc_conf_nargs(cf) == 3;
    if (modified && !ptc_str_eq_c(ptc_conf_arg(cf, 1), "modified")) {
        return "invalid value";
    }
    const ptc_str_t *value = ptc_conf_arg(cf, modified ? 2 : 1);
    hlcf->expires_set = 1;
    hlcf->expires.kind = modified ? PTC_HTTP_EXPIRES_MODIFIED : PTC_HTTP_EXPIRES_ACCESS;
    hlcf->expires.time = 0;
    if (memchr(value->data, '$', value->len)) {
        hlcf->expires_cv = ptc_http_complex_value_compile(cf, value);
        return hlcf->expires_cv ? NULL : PTC_CONF_ERROR;
    }
    return ptc_http_expires_parse(value, modified, &hlcf->expires);
}

static bool
headers_status_ok(unsigned s)
{
    switch (s) {
    case 200:
    case 201:
    case 204:
    case 206:
    case 301:
    case 302:
    case 303:
    case 304:
    case 307:
    case 308:
        return true;
    default:
        return false;
    }
}

/* Give the response's first header `name` this value, dropping any later
 * ones of that name, or add it. PTC_OK or PTC_ERROR. */
static int
headers_replace(ptc_http_request_t *r, const char *name, const ptc_str_t *value)
{
    ptc_str_t n = {strlen(name), (u_char *)name};
    ptc_http_header_t *h = r->headers_out.list.elts, *found = NULL;
    for (size_t i = 0; i < r->headers_out.list.nelts; i++) {
        if (h[i].hash && ptc_str_caseeq(&h[i].name, &n)) {
            if (found) {
                h[i].hash = 0;
                continue;
            }
            found = &h[i];
            found->value = *value;
        }
    }
    if (found == NULL && ptc_http_add_header_out(r, &n, value) == NULL) {
        return PTC_ERROR;
    }
    return PTC_OK;
}

static int
headers_set_expires(ptc_http_request_t *r, headers_loc_conf_t *hlcf)
{
    ptc_http_expires_t e = hlcf->expires;
    if (hlcf->expires_cv) {
        ptc_str_t v;
        if (ptc_http_complex_value(r, hlcf->expires_cv, &v) != PTC_OK) {
            return PTC_ERROR;
        }
        if (ptc_http_expires_parse(&v, e.kind == PTC_HTTP_EXPIRES_MODIFIED, &e) != NULL) {
            return PTC_OK; /* as nginx: a bad value at run time sets nothing */
        }
    }
    time_t expires;
    int64_t max_age;
    if (!ptc_http_expires_compute(&e, ptc_time_sec, r->headers_out.last_modified_time, &expires,
                                  &max_age)) {
        return PTC_OK;
    }
    u_char *p = ptc_pnalloc(r->pool, PTC_HTTP_TIME_LEN + sizeof("max-age=") + 20);
    if (p == NULL) {
        return PTC_ERROR;
    }
    ptc_str_t ev = {PTC_HTTP_TIME_LEN, p}, cc = ptc_string("no-cache");
    p = ptc_http_format_time(p, expires);
    if (max_age >= 0) {
        cc.data = p;
        p = ptc_write_u64(ptc_cpymem(p, "max-age=", 8), (uint64_t)max_age);
        cc.len = (size_t)(p - cc.data);
    }
    if (headers_replace(r, "Expires", &ev) != PTC_OK
        || headers_replace(r, "Cache-Control", &cc) != PTC_OK) {
        return PTC_ERROR;
    }
    return PTC_OK;
}

/* Does any item of the list apply to a response whose status is `ok` (a
 * success or redirect) or not? */
static bool
headers_applies(const ptc_array_t *items, bool ok)
{
    const headers_item_t *h = items->elts;
    for (size_t i = 0; i < items->nelts; i++) {
        if (ok || h[i].always) {
            return true;
        }
    }
    return false;
}

/* Evaluate the items that apply and append those with a value to `out` (an
 * array of ptc_http_header_t). PTC_OK or PTC_ERROR. */
static int
headers_add_items(ptc_http_request_t *r, const ptc_array_t *items, bool ok, ptc_array_t *out)
{
    const headers_item_t *h = items->elts;
    for (size_t i = 0; i < items->nelts; i++) {
        if (!ok && !h[i].always) {
            continue;
        }
        ptc_str_t value;
        if (ptc_http_complex_value(r, h[i].value, &value) != PTC_OK) {
            return PTC_ERROR;
        }
        if (value.len == 0) {
            continue; /* an empty value adds nothing, as in nginx */
        }
        ptc_http_header_t *slot = ptc_array_push(out);
        if (slot == NULL) {
            return PTC_ERROR;
        }
        slot->name = h[i].name;
        slot->value = value;
        slot->hash = 1;
    }
    return PTC_OK;
}

/* Trailers need chunked coding, so an HTTP/1.1 response with a body drops
 * its Content-Length (as nginx does); one that will not be chunked (HTTP/1.0,
 * chunked_transfer_encoding off) simply gets no trailers. */
static void
headers_expect_trailers(ptc_http_request_t *r)
{
    unsigned st = r->headers_out.status;
    r->expect_trailers = 1;
    if (r->method == PTC_HTTP_HEAD || st < 200 || st == 204 || st == 304) {
        return;
    }
    if (r->http_version >= 1001 && ptc_http_core_loc(r)->chunked_transfer_encoding) {
        r->headers_out.content_length_n = -1;
    }
}

static int
headers_filter(ptc_http_request_t *r)
{
    headers_loc_conf_t *hlcf = ptc_http_get_loc_conf(r, ptc_http_headers_module);
    bool ok = headers_status_ok(r->headers_out.status);
    if (ok && (hlcf->expires.kind != PTC_HTTP_EXPIRES_OFF || hlcf->expires_cv)
        && headers_set_expires(r, hlcf) != PTC_OK) {
        return PTC_ERROR;
    }
    if (hlcf->headers && headers_add_items(r, hlcf->headers, ok, &r->headers_out.list) != PTC_OK) {
        return PTC_ERROR;
    }
    if (hlcf->trailers && headers_applies(hlcf->trailers, ok)) {
        headers_expect_trailers(r);
    }
    return headers_next(r);
}

/* The trailers are evaluated when the last buffer of a chunked body passes,
 * so their variables see the response as completed. */
static int
headers_body_filter(ptc_http_request_t *r, ptc_chain_t *in)
{
    if (!r->expect_trailers || !r->chunked_out) {
        return headers_body_next(r, in);
    }
    bool last = false;
    for (ptc_chain_t *cl = in; cl; cl = cl->next) {
        last |= cl->buf->last_buf;
    }
    if (!last) {
        return headers_body_next(r, in);
    }
    r->expect_trailers = 0;
    headers_loc_conf_t *hlcf = ptc_http_get_loc_conf(r, ptc_http_headers_module);
    if (r->headers_out.trailers == NULL
        && (r->headers_out.trailers =
                ptc_array_create(r->pool, hlcf->trailers->nelts, sizeof(ptc_http_header_t)))
               == NULL) {
        return PTC_ERROR;
    }
    bool ok = headers_status_ok(r->headers_out.status);
    if (headers_add_items(r, hlcf->trailers, ok, r->headers_out.trailers) != PTC_OK) {
        return PTC_ERROR;
    }
    return headers_body_next(r, in);
}

static int
headers_postconfig(ptc_conf_t *cf)
{
    headers_next = ptc_http_top_header_filter;
    ptc_http_top_header_filter = headers_filter;
    headers_body_next = ptc_http_top_body_filter;
    ptc_http_top_body_filter = headers_body_filter;
    return PTC_OK;
}
