/* SPDX-License-Identifier: BSD-2-Clause */
/* add_header: extra response headers (values may hold variables), added
 * for success and redirect statuses, or for every status with `always`.
 * A level that has any add_header replaces the inherited list. */
#include "modules/http/http_core.h"

#include "core/ptc_pool.h"

typedef struct {
    ptc_str_t name;
    ptc_http_complex_value_t *value;
    bool always;
} headers_item_t;

typedef struct {
    ptc_array_t *headers; /* headers_item_t; UNSET_PTR when the level has none */
} headers_loc_conf_t;

static void *headers_create_loc(ptc_conf_t *cf);
static const char *headers_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static int headers_postconfig(ptc_conf_t *cf);
static const char *headers_add(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

static const ptc_directive_t headers_directives[] = {
    {"add_header", PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION | PTC_CTX_IF_LOC,
     PTC_ARGS_2 | PTC_ARGS_3, headers_add, PTC_CONF_LOC, 0, NULL},
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

static void *
headers_create_loc(ptc_conf_t *cf)
{
    headers_loc_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c) {
        c->headers = PTC_CONF_UNSET_PTR;
    }
    return c;
}

static const char *
headers_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    headers_loc_conf_t *prev = parent, *conf = child;
    ptc_conf_merge_ptr(conf->headers, prev->headers, NULL);
    return NULL;
}

static const char *
headers_add(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    headers_loc_conf_t *hlcf = conf;
    if (hlcf->headers == PTC_CONF_UNSET_PTR) {
        hlcf->headers = ptc_array_create(cf->pool, 4, sizeof(headers_item_t));
        if (hlcf->headers == NULL) {
            return "out of memory";
        }
    }
    if (ptc_conf_nargs(cf) == 4 && !ptc_str_eq_c(ptc_conf_arg(cf, 3), "always")) {
        return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"",
                              PTC_STR_ARG(*ptc_conf_arg(cf, 3)));
    }
    headers_item_t *h = ptc_array_push(hlcf->headers);
    if (h == NULL) {
        return "out of memory";
    }
    h->name = *ptc_conf_arg(cf, 1);
    h->always = ptc_conf_nargs(cf) == 4;
    h->value = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 2));
    return h->value ? NULL : PTC_CONF_ERROR;
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

static int
headers_filter(ptc_http_request_t *r)
{
    headers_loc_conf_t *hlcf = ptc_http_get_loc_conf(r, ptc_http_headers_module);
    if (hlcf->headers == NULL) {
        return headers_next(r);
    }
    bool ok = headers_status_ok(r->headers_out.status);
    headers_item_t *h = hlcf->headers->elts;
    for (size_t i = 0; i < hlcf->headers->nelts; i++) {
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
        if (ptc_http_add_header_out(r, &h[i].name, &value) == NULL) {
            return PTC_ERROR;
        }
    }
    return headers_next(r);
}

static int
headers_postconfig(ptc_conf_t *cf)
{
    headers_next = ptc_http_top_header_filter;
    ptc_http_top_header_filter = headers_filter;
    return PTC_OK;
}
