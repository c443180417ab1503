/* SPDX-License-Identifier: BSD-2-Clause */
/* The rewrite module's `return` (server level runs before the location is
 * chosen, location level after). Directives here are not inherited: each
 * level runs its own, as in nginx. */
#include "modules/http/http_core.h"

#include "core/ptc_pool.h"

typedef struct {
    unsigned code;                  /* 0: no return here */
    ptc_http_complex_value_t *text; /* body text or redirect URL, NULL if none */
} rewrite_loc_conf_t;

static void *rewrite_create_loc(ptc_conf_t *cf);
static int rewrite_postconfig(ptc_conf_t *cf);
static const char *rewrite_return(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

static const ptc_directive_t rewrite_directives[] = {
    {"return", PTC_CTX_SERVER | PTC_CTX_LOCATION | PTC_CTX_IF_SRV | PTC_CTX_IF_LOC, PTC_ARGS_12,
     rewrite_return, PTC_CONF_LOC, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_rewrite_module = {
    .name = "http_rewrite",
    .type = PTC_MODULE_HTTP,
    .directives = rewrite_directives,
    .create_loc = rewrite_create_loc,
    .postconfig = rewrite_postconfig,
};

static void *
rewrite_create_loc(ptc_conf_t *cf)
{
    return ptc_pcalloc(cf->pool, sizeof(rewrite_loc_conf_t));
}

static bool
rewrite_is_redirect(unsigned code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

static const char *
rewrite_return(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    rewrite_loc_conf_t *rlcf = conf;
    const ptc_str_t *a1 = ptc_conf_arg(cf, 1);
    if (rlcf->code) {
        return "is duplicate";
    }
    int64_t code = ptc_atoi(a1->data, a1->len);
    const ptc_str_t *text = ptc_conf_nargs(cf) == 3 ? ptc_conf_arg(cf, 2) : NULL;
    if (code < 0) {
        /* "return URL;" is a 302 to it */
        bool url = (a1->len > 7 && memcmp(a1->data, "http://", 7) == 0)
                   || (a1->len > 8 && memcmp(a1->data, "https://", 8) == 0)
                   || (a1->len > 1 && a1->data[0] == '$');
        if (ptc_conf_nargs(cf) != 2 || !url) {
            return ptc_conf_error(cf, "invalid return code \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a1));
        }
        code = 302;
        text = a1;
    }
    if (code > 999) {
        return ptc_conf_error(cf, "invalid return code \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a1));
    }
    rlcf->code = (unsigned)code;
    if (text && (rlcf->text = ptc_http_complex_value_compile(cf, text)) == NULL) {
        return PTC_CONF_ERROR;
    }
    return NULL;
}

static void
rewrite_do_return(ptc_http_request_t *r, rewrite_loc_conf_t *rlcf)
{
    ptc_str_t text = ptc_null_string;
    if (rlcf->text && ptc_http_complex_value(r, rlcf->text, &text) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return;
    }
    if (rewrite_is_redirect(rlcf->code) && rlcf->text) {
        if (ptc_http_redirect_location(r, &text, &r->headers_out.location) != PTC_OK) {
            ptc_http_finalize_status(r, 500);
            return;
        }
        ptc_http_finalize_status(r, rlcf->code);
        return;
    }
    if (rlcf->text == NULL || rlcf->code == 444) {
        ptc_http_finalize_status(r, rlcf->code);
        return;
    }
    ptc_http_set_content_type(r);
    ptc_str_t ctype = r->headers_out.content_type;
    ptc_http_send_response(r, rlcf->code, &ctype, &text);
}

static int
rewrite_server_phase(ptc_http_request_t *r)
{
    rewrite_loc_conf_t *rlcf = ptc_http_get_loc_conf(r, ptc_http_rewrite_module);
    if (rlcf->code == 0) {
        return PTC_DECLINED;
    }
    rewrite_do_return(r, rlcf);
    return PTC_DONE;
}

static int
rewrite_location_phase(ptc_http_request_t *r)
{
    rewrite_loc_conf_t *rlcf = ptc_http_get_loc_conf(r, ptc_http_rewrite_module);
    ptc_conf_ctx_t *sctx = ptc_http_core_srv(r)->ctx;
    /* the server level already ran in its own phase */
    if (rlcf->code == 0 || r->loc_conf == sctx->loc_conf) {
        return PTC_DECLINED;
    }
    rewrite_do_return(r, rlcf);
    return PTC_DONE;
}

static int
rewrite_postconfig(ptc_conf_t *cf)
{
    if (ptc_http_add_phase_handler(cf, PTC_HTTP_SERVER_REWRITE_PHASE, rewrite_server_phase)
        || ptc_http_add_phase_handler(cf, PTC_HTTP_REWRITE_PHASE, rewrite_location_phase)) {
        return PTC_ERROR;
    }
    return PTC_OK;
}
