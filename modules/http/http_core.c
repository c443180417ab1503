/* SPDX-License-Identifier: BSD-2-Clause */
/* The HTTP core module: server, listen, server_name, location and the
 * per-location settings every request consults (root, types, limits,
 * timeouts, keep-alive). Defaults live in the merge functions. */
#include "modules/http/http_core.h"

#include <stdio.h>
#include <unistd.h>

#include "core/ptc_config.h"
#include "core/ptc_cycle.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/http/http_int.h"

static int core_preconfig(ptc_conf_t *cf);
static int core_postconfig(ptc_conf_t *cf);
static void *core_create_main(ptc_conf_t *cf);
static void *core_create_srv(ptc_conf_t *cf);
static const char *core_merge_srv(ptc_conf_t *cf, void *prev, void *conf);
static void *core_create_loc(ptc_conf_t *cf);
static const char *core_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static const char *core_server(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_listen(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_server_name(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_location(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_root(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_error_page(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_types(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_keepalive_timeout(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_large_buffers(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_error_log(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_internal(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_limit_except(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_ignored(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_size_value(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *core_resolver(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

#define SRV        PTC_CTX_SERVER
#define HSL        (PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION)
#define HS         (PTC_CTX_HTTP | PTC_CTX_SERVER)
#define LOC_OFF(f) PTC_CONF_LOC, offsetof(ptc_http_core_loc_conf_t, f)
#define SRV_OFF(f) PTC_CONF_SRV, offsetof(ptc_http_core_srv_conf_t, f)

static const ptc_conf_enum_t core_ims_enum[] = {{"off", 0}, {"exact", 1}, {"before", 2}, {NULL, 0}};
static const ptc_conf_enum_t core_lingering_enum[] = {
    {"off", 0}, {"on", 1}, {"always", 2}, {NULL, 0}};
static const ptc_conf_enum_t core_in_file_enum[] = {{"off", 0}, {"on", 1}, {"clean", 2}, {NULL, 0}};
static const ptc_conf_bounds_t core_buf_bounds = {1, 1 << 30};

static const ptc_directive_t core_directives[] = {
    {"server", PTC_CTX_HTTP, PTC_ARGS_0 | PTC_ARGS_BLOCK, core_server, 0, 0, NULL},
    {"listen", SRV, PTC_ARGS_1MORE, core_listen, PTC_CONF_SRV, 0, NULL},
    {"server_name", SRV, PTC_ARGS_1MORE, core_server_name, PTC_CONF_SRV, 0, NULL},
    {"location", SRV | PTC_CTX_LOCATION, PTC_ARGS_12 | PTC_ARGS_BLOCK, core_location, 0, 0, NULL},
    {"root", HSL | PTC_CTX_IF_LOC, PTC_ARGS_1, core_root, PTC_CONF_LOC, 0, NULL},
    {"alias", PTC_CTX_LOCATION, PTC_ARGS_1, core_root, PTC_CONF_LOC, 0, NULL},
    {"error_page", HSL | PTC_CTX_IF_LOC, PTC_ARGS_2MORE, core_error_page, PTC_CONF_LOC, 0, NULL},
    {"types", HSL, PTC_ARGS_0 | PTC_ARGS_BLOCK, core_types, PTC_CONF_LOC, 0, NULL},
    {"default_type", HSL, PTC_ARGS_1, ptc_conf_set_str, LOC_OFF(default_type), NULL},
    {"client_max_body_size", HSL, PTC_ARGS_1, ptc_conf_set_size, LOC_OFF(client_max_body_size),
     NULL},
    {"client_body_buffer_size", HSL, PTC_ARGS_1, ptc_conf_set_size,
     LOC_OFF(client_body_buffer_size), &core_buf_bounds},
    {"client_body_timeout", HSL, PTC_ARGS_1, ptc_conf_set_msec, LOC_OFF(client_body_timeout), NULL},
    {"client_body_temp_path", HSL, PTC_ARGS_1 | PTC_ARGS_2 | PTC_ARGS_3 | PTC_ARGS_4,
     ptc_conf_set_temp_path, LOC_OFF(client_body_temp_path), NULL},
    {"client_body_in_file_only", HSL, PTC_ARGS_1, ptc_conf_set_enum,
     LOC_OFF(client_body_in_file_only), core_in_file_enum},
    {"client_body_in_single_buffer", HSL, PTC_ARGS_FLAG, core_ignored, 0, 0, NULL},
    {"client_header_timeout", HS, PTC_ARGS_1, ptc_conf_set_msec, SRV_OFF(client_header_timeout),
     NULL},
    {"client_header_buffer_size", HS, PTC_ARGS_1, ptc_conf_set_size,
     SRV_OFF(client_header_buffer_size), &core_buf_bounds},
    {"large_client_header_buffers", HS, PTC_ARGS_2, core_large_buffers, PTC_CONF_SRV, 0, NULL},
    {"underscores_in_headers", HS, PTC_ARGS_FLAG, ptc_conf_set_flag,
     SRV_OFF(underscores_in_headers), NULL},
    {"ignore_invalid_headers", HS, PTC_ARGS_FLAG, ptc_conf_set_flag,
     SRV_OFF(ignore_invalid_headers), NULL},
    {"merge_slashes", HS, PTC_ARGS_FLAG, ptc_conf_set_flag, SRV_OFF(merge_slashes), NULL},
    {"send_timeout", HSL, PTC_ARGS_1, ptc_conf_set_msec, LOC_OFF(send_timeout), NULL},
    {"keepalive_timeout", HSL, PTC_ARGS_12, core_keepalive_timeout, PTC_CONF_LOC, 0, NULL},
    {"keepalive_requests", HSL, PTC_ARGS_1, ptc_conf_set_num, LOC_OFF(keepalive_requests), NULL},
    {"keepalive_time", HSL, PTC_ARGS_1, ptc_conf_set_msec, LOC_OFF(keepalive_time), NULL},
    {"keepalive_disable", HSL, PTC_ARGS_12, core_ignored, 0, 0, NULL},
    {"lingering_close", HSL, PTC_ARGS_1, ptc_conf_set_enum, LOC_OFF(lingering_close),
     core_lingering_enum},
    {"lingering_time", HSL, PTC_ARGS_1, ptc_conf_set_msec, LOC_OFF(lingering_time), NULL},
    {"lingering_timeout", HSL, PTC_ARGS_1, ptc_conf_set_msec, LOC_OFF(lingering_timeout), NULL},
    {"server_tokens", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, LOC_OFF(server_tokens), NULL},
    {"sendfile", HSL | PTC_CTX_IF_LOC, PTC_ARGS_FLAG, ptc_conf_set_flag, LOC_OFF(sendfile), NULL},
    {"sendfile_max_chunk", HSL, PTC_ARGS_1, ptc_conf_set_size, LOC_OFF(sendfile_max_chunk), NULL},
    {"limit_rate", HSL | PTC_CTX_IF_LOC, PTC_ARGS_1, core_size_value, LOC_OFF(limit_rate), NULL},
    {"limit_rate_after", HSL | PTC_CTX_IF_LOC, PTC_ARGS_1, core_size_value,
     LOC_OFF(limit_rate_after), NULL},
    {"tcp_nopush", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, LOC_OFF(tcp_nopush), NULL},
    {"tcp_nodelay", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, LOC_OFF(tcp_nodelay), NULL},
    {"absolute_redirect", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, LOC_OFF(absolute_redirect), NULL},
    {"port_in_redirect", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, LOC_OFF(port_in_redirect), NULL},
    {"server_name_in_redirect", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag,
     LOC_OFF(server_name_in_redirect), NULL},
    {"if_modified_since", HSL, PTC_ARGS_1, ptc_conf_set_enum, LOC_OFF(if_modified_since),
     core_ims_enum},
    {"max_ranges", HSL, PTC_ARGS_1, ptc_conf_set_num, LOC_OFF(max_ranges), NULL},
    {"log_not_found", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, LOC_OFF(log_not_found), NULL},
    {"recursive_error_pages", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, LOC_OFF(recursive_error_pages),
     NULL},
    {"chunked_transfer_encoding", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag,
     LOC_OFF(chunked_transfer_encoding), NULL},
    {"msie_padding", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, LOC_OFF(msie_padding), NULL},
    {"error_log", HSL, PTC_ARGS_1MORE, core_error_log, PTC_CONF_LOC, 0, NULL},
    /* names are resolved when the config is read: the resolver is checked only */
    {"resolver", HSL, PTC_ARGS_1MORE, core_resolver, PTC_CONF_LOC, 0, NULL},
    {"resolver_timeout", HSL, PTC_ARGS_1, ptc_conf_set_msec, LOC_OFF(resolver_timeout), NULL},
    {"internal", PTC_CTX_LOCATION, PTC_ARGS_0, core_internal, PTC_CONF_LOC, 0, NULL},
    {"limit_except", PTC_CTX_LOCATION, PTC_ARGS_1MORE | PTC_ARGS_BLOCK, core_limit_except,
     PTC_CONF_LOC, 0, NULL},
    /* hash sizing knobs: Portico's tables size themselves */
    {"server_names_hash_max_size", PTC_CTX_HTTP, PTC_ARGS_1, core_ignored, 0, 0, NULL},
    {"server_names_hash_bucket_size", PTC_CTX_HTTP, PTC_ARGS_1, core_ignored, 0, 0, NULL},
    {"variables_hash_max_size", PTC_CTX_HTTP, PTC_ARGS_1, core_ignored, 0, 0, NULL},
    {"variables_hash_bucket_size", PTC_CTX_HTTP, PTC_ARGS_1, core_ignored, 0, 0, NULL},
    {"types_hash_max_size", HSL, PTC_ARGS_1, core_ignored, 0, 0, NULL},
    {"types_hash_bucket_size", HSL, PTC_ARGS_1, core_ignored, 0, 0, NULL},
    {"map_hash_max_size", PTC_CTX_HTTP, PTC_ARGS_1, core_ignored, 0, 0, NULL},
    {"map_hash_bucket_size", PTC_CTX_HTTP, PTC_ARGS_1, core_ignored, 0, 0, NULL},
    {"reset_timedout_connection", HSL, PTC_ARGS_FLAG, core_ignored, 0, 0, NULL},
    {"open_file_cache", HSL, PTC_ARGS_12, core_ignored, 0, 0, NULL},
    {"open_file_cache_valid", HSL, PTC_ARGS_1, core_ignored, 0, 0, NULL},
    {"open_file_cache_errors", HSL, PTC_ARGS_FLAG, core_ignored, 0, 0, NULL},
    {"open_file_cache_min_uses", HSL, PTC_ARGS_1, core_ignored, 0, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_core_module = {
    .name = "http_core",
    .type = PTC_MODULE_HTTP,
    .directives = core_directives,
    .preconfig = core_preconfig,
    .postconfig = core_postconfig,
    .create_main = core_create_main,
    .create_srv = core_create_srv,
    .merge_srv = core_merge_srv,
    .create_loc = core_create_loc,
    .merge_loc = core_merge_loc,
};

static int
core_preconfig(ptc_conf_t *cf)
{
    return ptc_http_variables_preconfig(cf);
}

static int
core_postconfig(ptc_conf_t *cf)
{
    if (ptc_http_engine_phases(cf) != PTC_OK) {
        return PTC_ERROR;
    }
    return ptc_http_output_postconfig(cf);
}

static void *
core_create_main(ptc_conf_t *cf)
{
    ptc_http_core_main_conf_t *cmcf = ptc_pcalloc(cf->pool, sizeof(*cmcf));
    if (cmcf == NULL
        || ptc_array_init(&cmcf->servers, cf->pool, 4, sizeof(ptc_http_core_srv_conf_t *))
        || ptc_array_init(&cmcf->listens, cf->pool, 4, sizeof(ptc_http_listen_opt_t))) {
        return NULL;
    }
    for (int p = 0; p < PTC_HTTP_PHASES; p++) {
        if (ptc_array_init(&cmcf->phases[p], cf->pool, 2, sizeof(ptc_http_phase_fn))) {
            return NULL;
        }
    }
    return cmcf;
}

static void *
core_create_srv(ptc_conf_t *cf)
{
    ptc_http_core_srv_conf_t *cscf = ptc_pcalloc(cf->pool, sizeof(*cscf));
    if (cscf == NULL
        || ptc_array_init(&cscf->server_names, cf->pool, 2, sizeof(ptc_http_server_name_t))) {
        return NULL;
    }
    cscf->client_header_buffer_size = PTC_CONF_UNSET_SIZE;
    cscf->large_header_buf_size = PTC_CONF_UNSET_SIZE;
    cscf->large_header_bufs = PTC_CONF_UNSET;
    cscf->client_header_timeout = PTC_CONF_UNSET_MSEC;
    cscf->underscores_in_headers = PTC_CONF_UNSET;
    cscf->ignore_invalid_headers = PTC_CONF_UNSET;
    cscf->merge_slashes = PTC_CONF_UNSET;
    if (cf->node) {
        cscf->file = cf->node->file;
        cscf->line = cf->node->line;
    }
    return cscf;
}

static const char *
core_merge_srv(ptc_conf_t *cf, void *parent, void *child)
{
    ptc_http_core_srv_conf_t *prev = parent, *conf = child;
    ptc_conf_merge_size(conf->client_header_buffer_size, prev->client_header_buffer_size, 1024);
    ptc_conf_merge_size(conf->large_header_buf_size, prev->large_header_buf_size, 8192);
    ptc_conf_merge_value(conf->large_header_bufs, prev->large_header_bufs, 4);
    ptc_conf_merge_msec(conf->client_header_timeout, prev->client_header_timeout, 60000);
    ptc_conf_merge_value(conf->underscores_in_headers, prev->underscores_in_headers, 0);
    ptc_conf_merge_value(conf->ignore_invalid_headers, prev->ignore_invalid_headers, 1);
    ptc_conf_merge_value(conf->merge_slashes, prev->merge_slashes, 1);
    if (conf->large_header_buf_size < conf->client_header_buffer_size) {
        conf->large_header_buf_size = conf->client_header_buffer_size;
    }
    if (conf->server_names.nelts == 0) {
        /* nginx's default server_name is "" */
        ptc_http_server_name_t *n = ptc_array_push(&conf->server_names);
        if (n == NULL) {
            return "out of memory";
        }
        memset(n, 0, sizeof(*n));
        ptc_str_set(&n->name, "");
        n->server = conf;
    }
    conf->server_name = ((ptc_http_server_name_t *)conf->server_names.elts)[0].name;
    if (conf->server_name.len && conf->server_name.data[0] == '~') {
        conf->server_name.len = 0;
    }
    return NULL;
}

static void
core_merge_size_value(ptc_http_size_value_t *conf, const ptc_http_size_value_t *prev)
{
    if (conf->cv == NULL && conf->n == PTC_CONF_UNSET_SIZE) {
        *conf = *prev;
        if (conf->cv == NULL && conf->n == PTC_CONF_UNSET_SIZE) {
            conf->n = 0;
        }
    }
}

static void *
core_create_loc(ptc_conf_t *cf)
{
    ptc_http_core_loc_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->index = PTC_CONF_UNSET_PTR;
    c->error_pages = PTC_CONF_UNSET_PTR;
    c->types = PTC_CONF_UNSET_PTR;
    c->client_max_body_size = PTC_CONF_UNSET_SIZE;
    c->client_body_buffer_size = PTC_CONF_UNSET_SIZE;
    c->client_body_timeout = PTC_CONF_UNSET_MSEC;
    c->client_body_in_file_only = PTC_CONF_UNSET;
    c->send_timeout = PTC_CONF_UNSET_MSEC;
    c->keepalive_timeout = PTC_CONF_UNSET_MSEC;
    c->keepalive_requests = PTC_CONF_UNSET;
    c->keepalive_time = PTC_CONF_UNSET_MSEC;
    c->lingering_timeout = PTC_CONF_UNSET_MSEC;
    c->lingering_time = PTC_CONF_UNSET_MSEC;
    c->lingering_close = PTC_CONF_UNSET;
    c->server_tokens = PTC_CONF_UNSET;
    c->sendfile = PTC_CONF_UNSET;
    c->tcp_nopush = PTC_CONF_UNSET;
    c->tcp_nodelay = PTC_CONF_UNSET;
    c->sendfile_max_chunk = PTC_CONF_UNSET_SIZE;
    c->limit_rate.n = PTC_CONF_UNSET_SIZE;
    c->resolver_timeout = PTC_CONF_UNSET_MSEC;
    c->limit_rate_after.n = PTC_CONF_UNSET_SIZE;
    c->absolute_redirect = PTC_CONF_UNSET;
    c->port_in_redirect = PTC_CONF_UNSET;
    c->server_name_in_redirect = PTC_CONF_UNSET;
    c->if_modified_since = PTC_CONF_UNSET;
    c->max_ranges = PTC_CONF_UNSET;
    c->log_not_found = PTC_CONF_UNSET;
    c->msie_padding = PTC_CONF_UNSET;
    c->recursive_error_pages = PTC_CONF_UNSET;
    c->chunked_transfer_encoding = PTC_CONF_UNSET;
    c->error_log = PTC_CONF_UNSET_PTR;
    return c;
}

static int
core_default_index(ptc_conf_t *cf, ptc_http_core_loc_conf_t *conf)
{
    ptc_str_t def = ptc_string("index.html");
    conf->index = ptc_array_create(cf->pool, 1, sizeof(ptc_http_complex_value_t *));
    ptc_http_complex_value_t **slot = conf->index ? ptc_array_push(conf->index) : NULL;
    if (slot == NULL || (*slot = ptc_http_complex_value_compile(cf, &def)) == NULL) {
        return PTC_ERROR;
    }
    return PTC_OK;
}

static const char *
core_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    ptc_http_core_loc_conf_t *prev = parent, *conf = child;
    if (conf->root.data == NULL) {
        conf->alias = prev->alias;
        conf->root = prev->root;
        conf->root_cv = prev->root_cv;
        conf->root_prefix = prev->root_prefix;
        if (conf->root.data == NULL) {
            ptc_str_t def = ptc_string("html");
            char *full = ptc_conf_full_path(cf, &def, false);
            if (full == NULL) {
                return "out of memory";
            }
            conf->root.data = (u_char *)full;
            conf->root.len = strlen(full);
            conf->root_cv = NULL;
        }
    }
    ptc_conf_merge_ptr(conf->index, prev->index, NULL);
    if (conf->index == NULL && core_default_index(cf, conf) != PTC_OK) {
        return "out of memory";
    }
    ptc_conf_merge_ptr(conf->error_pages, prev->error_pages, NULL);
    ptc_conf_merge_ptr(conf->types, prev->types, NULL);
    ptc_conf_merge_str(conf->default_type, prev->default_type, "text/plain");
    ptc_conf_merge_size(conf->client_max_body_size, prev->client_max_body_size, 1024 * 1024);
    ptc_conf_merge_size(conf->client_body_buffer_size, prev->client_body_buffer_size, 16384);
    ptc_conf_merge_msec(conf->client_body_timeout, prev->client_body_timeout, 60000);
    ptc_conf_merge_str(conf->client_body_temp_path, prev->client_body_temp_path,
                       "client_body_temp");
    if (ptc_conf_resolve_path(cf, &conf->client_body_temp_path) != PTC_OK) {
        return "out of memory";
    }
    ptc_conf_merge_value(conf->client_body_in_file_only, prev->client_body_in_file_only, 0);
    ptc_conf_merge_msec(conf->send_timeout, prev->send_timeout, 60000);
    ptc_conf_merge_msec(conf->keepalive_timeout, prev->keepalive_timeout, 75000);
    ptc_conf_merge_value(conf->keepalive_requests, prev->keepalive_requests, 1000);
    ptc_conf_merge_msec(conf->keepalive_time, prev->keepalive_time, 3600000);
    ptc_conf_merge_msec(conf->lingering_timeout, prev->lingering_timeout, 5000);
    ptc_conf_merge_msec(conf->lingering_time, prev->lingering_time, 30000);
    ptc_conf_merge_value(conf->lingering_close, prev->lingering_close, 1);
    ptc_conf_merge_value(conf->server_tokens, prev->server_tokens, 1);
    ptc_conf_merge_value(conf->sendfile, prev->sendfile, 0);
    ptc_conf_merge_value(conf->tcp_nopush, prev->tcp_nopush, 0);
    ptc_conf_merge_value(conf->tcp_nodelay, prev->tcp_nodelay, 1);
    ptc_conf_merge_size(conf->sendfile_max_chunk, prev->sendfile_max_chunk, 2 * 1024 * 1024);
    core_merge_size_value(&conf->limit_rate, &prev->limit_rate);
    ptc_conf_merge_msec(conf->resolver_timeout, prev->resolver_timeout, 30000);
    core_merge_size_value(&conf->limit_rate_after, &prev->limit_rate_after);
    ptc_conf_merge_value(conf->absolute_redirect, prev->absolute_redirect, 1);
    ptc_conf_merge_value(conf->port_in_redirect, prev->port_in_redirect, 1);
    ptc_conf_merge_value(conf->server_name_in_redirect, prev->server_name_in_redirect, 0);
    ptc_conf_merge_value(conf->if_modified_since, prev->if_modified_since, 1);
    ptc_conf_merge_value(conf->max_ranges, prev->max_ranges, INT32_MAX);
    ptc_conf_merge_value(conf->log_not_found, prev->log_not_found, 1);
    ptc_conf_merge_value(conf->msie_padding, prev->msie_padding, 1);
    ptc_conf_merge_value(conf->recursive_error_pages, prev->recursive_error_pages, 0);
    ptc_conf_merge_value(conf->chunked_transfer_encoding, prev->chunked_transfer_encoding, 1);
    ptc_conf_merge_ptr(conf->error_log, prev->error_log, NULL);
    if (conf->error_log == NULL) {
        conf->error_log = ptc_cycle_main_log(cf);
    }
    if (conf->noname && conf->handler == NULL) {
        /* an `if` block without its own content handler serves as its location does */
        conf->handler = prev->handler;
    }
    return NULL;
}

/* ---- server ---- */

static const char *
core_server(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_conf_ctx_t *http = cf->ctx;
    ptc_conf_ctx_t *ctx = ptc_pcalloc(cf->pool, sizeof(*ctx));
    size_t n = ptc_modules_count(PTC_MODULE_HTTP);
    if (ctx == NULL) {
        return "out of memory";
    }
    ctx->main_conf = http->main_conf;
    ctx->srv_conf = ptc_pcalloc(cf->pool, n * sizeof(void *));
    ctx->loc_conf = ptc_pcalloc(cf->pool, n * sizeof(void *));
    if (ctx->srv_conf == NULL || ctx->loc_conf == NULL) {
        return "out of memory";
    }
    for (size_t i = 0; ptc_modules[i]; i++) {
        ptc_module_t *m = ptc_modules[i];
        if (m->type != PTC_MODULE_HTTP) {
            continue;
        }
        if ((m->create_srv && !(ctx->srv_conf[m->ctx_index] = m->create_srv(cf)))
            || (m->create_loc && !(ctx->loc_conf[m->ctx_index] = m->create_loc(cf)))) {
            return "out of memory";
        }
    }
    ptc_http_core_srv_conf_t *cscf = ctx->srv_conf[ptc_http_core_module.ctx_index];
    ptc_http_core_loc_conf_t *clcf = ctx->loc_conf[ptc_http_core_module.ctx_index];
    cscf->ctx = ctx;
    clcf->loc_conf = ctx->loc_conf;
    clcf->file = cf->node->file;
    clcf->line = cf->node->line;
    ptc_http_core_main_conf_t *cmcf = http->main_conf[ptc_http_core_module.ctx_index];
    ptc_http_core_srv_conf_t **slot = ptc_array_push(&cmcf->servers);
    if (slot == NULL) {
        return "out of memory";
    }
    *slot = cscf;
    if (ptc_conf_walk(cf, cf->node, PTC_CTX_SERVER, ctx) != PTC_OK) {
        return PTC_CONF_ERROR;
    }
    if (!cscf->listen) {
        /* nginx: *:80 when started as root, else *:8000 */
        ptc_http_listen_opt_t *lo = ptc_array_push(&cmcf->listens);
        if (lo == NULL) {
            return "out of memory";
        }
        memset(lo, 0, sizeof(*lo));
        ptc_str_t def = ptc_string("80");
        if (geteuid() != 0) {
            ptc_str_set(&def, "8000");
        }
        const char *err;
        ptc_sockaddr_parse(&def, 0, &lo->sockaddr, &lo->socklen, &err);
        lo->server = cscf;
        lo->backlog = 511;
        lo->rcvbuf = lo->sndbuf = -1;
        lo->wildcard = 1;
        lo->file = cf->node->file;
        lo->line = cf->node->line;
    }
    return NULL;
}

static const char *
core_listen_param(ptc_conf_t *cf, ptc_http_listen_opt_t *lo, const ptc_str_t *a)
{
    if (ptc_str_eq_c(a, "default_server") || ptc_str_eq_c(a, "default")) {
        lo->default_server = 1;
    } else if (ptc_str_eq_c(a, "reuseport")) {
        lo->reuseport = 1;
    } else if (ptc_str_eq_c(a, "proxy_protocol")) {
        lo->proxy_protocol = 1;
    } else if (ptc_str_eq_c(a, "ssl")) {
        if (ptc_http_ssl_start == NULL) {
            /* refusing beats silently serving plain HTTP where TLS was asked for */
            return ptc_conf_error(cf, "the \"ssl\" parameter of \"listen\" needs the ssl module, "
                                      "which is not in this build");
        }
        lo->ssl = 1;
    } else if (ptc_str_eq_c(a, "http2")) {
        /* ALPN offers only http/1.1, so HTTP/2 clients fall back to it */
        ptc_conf_warn(cf, "the \"http2\" parameter of \"listen\" is not supported "
                          "yet: HTTP/1.1 is served");
    } else if (a->len > 13 && memcmp(a->data, "so_keepalive=", 13) == 0) {
        ptc_str_t v = {a->len - 13, a->data + 13};
        if (ptc_str_eq_c(&v, "on")) {
            lo->so_keepalive = 1;
        } else if (!ptc_str_eq_c(&v, "off")) {
            return ptc_conf_error(cf, "invalid so_keepalive value: \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*a));
        }
    } else if (ptc_str_eq_c(a, "bind") || ptc_str_eq_c(a, "deferred")
               || (a->len > 9 && memcmp(a->data, "fastopen=", 9) == 0)
               || (a->len > 9 && memcmp(a->data, "ipv6only=", 9) == 0)) {
        /* accepted: every address is bound on its own when needed, IPv6
         * sockets are always v6only, TFO and deferred accept are not used */
        lo->bind = lo->bind || ptc_str_eq_c(a, "bind");
    } else if (a->len > 8 && memcmp(a->data, "backlog=", 8) == 0) {
        int64_t v = ptc_atoi(a->data + 8, a->len - 8);
        if (v < 1) {
            return ptc_conf_error(cf, "invalid backlog \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
        }
        lo->backlog = (int)ptc_min(v, 65535);
    } else if (a->len > 7
               && (memcmp(a->data, "rcvbuf=", 7) == 0 || memcmp(a->data, "sndbuf=", 7) == 0)) {
        ptc_str_t v = {a->len - 7, a->data + 7};
        int64_t n = ptc_parse_size(&v);
        if (n < 1) {
            return ptc_conf_error(cf, "invalid %.6s \"" PTC_STR_FMT "\"", a->data, PTC_STR_ARG(v));
        }
        *(a->data[0] == 'r' ? &lo->rcvbuf : &lo->sndbuf) = (int)ptc_min(n, INT32_MAX);
    } else {
        return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
    }
    return NULL;
}

static const char *
core_listen(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_srv_conf_t *cscf = conf;
    ptc_http_core_main_conf_t *cmcf = ptc_http_conf_get_main(cf, ptc_http_core_module);
    ptc_http_listen_opt_t lo;
    const char *err;
    memset(&lo, 0, sizeof(lo));
    if (ptc_sockaddr_parse(ptc_conf_arg(cf, 1), 80, &lo.sockaddr, &lo.socklen, &err) != PTC_OK) {
        return ptc_conf_error(cf, "%s in \"" PTC_STR_FMT "\" of the \"listen\" directive", err,
                              PTC_STR_ARG(*ptc_conf_arg(cf, 1)));
    }
    lo.server = cscf;
    lo.backlog = 511;
    lo.rcvbuf = lo.sndbuf = -1;
    lo.file = cf->node->file;
    lo.line = cf->node->line;
    lo.wildcard = ptc_http_sockaddr_is_wildcard(&lo.sockaddr);
    for (size_t i = 2; i < ptc_conf_nargs(cf); i++) {
        const char *rv = core_listen_param(cf, &lo, ptc_conf_arg(cf, i));
        if (rv) {
            return rv;
        }
    }
    ptc_http_listen_opt_t *all = cmcf->listens.elts;
    for (size_t i = 0; i < cmcf->listens.nelts; i++) {
        if (all[i].server == cscf
            && ptc_sockaddr_eq((struct sockaddr *)&all[i].sockaddr, all[i].socklen,
                               (struct sockaddr *)&lo.sockaddr, lo.socklen)) {
            return ptc_conf_error(cf, "a duplicate listen " PTC_STR_FMT,
                                  PTC_STR_ARG(*ptc_conf_arg(cf, 1)));
        }
    }
    ptc_http_listen_opt_t *slot = ptc_array_push(&cmcf->listens);
    if (slot == NULL) {
        return "out of memory";
    }
    *slot = lo;
    cscf->listen = true;
    return NULL;
}

static const char *
core_server_name(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_srv_conf_t *cscf = conf;
    char err[512];
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        ptc_str_t v = *ptc_conf_arg(cf, i);
        ptc_http_server_name_t *sn = ptc_array_push(&cscf->server_names);
        if (sn == NULL) {
            return "out of memory";
        }
        memset(sn, 0, sizeof(*sn));
        sn->server = cscf;
        if (v.len > 1 && v.data[0] == '~') {
            ptc_str_t pat = {v.len - 1, v.data + 1};
            sn->name = v;
            sn->regex = ptc_regex_compile(cf->pool, &pat, PTC_REGEX_CASELESS, err, sizeof(err));
            if (sn->regex == NULL) {
                return ptc_conf_error(cf, "%s", err);
            }
            if (ptc_http_regex_names_register(cf, sn->regex) != PTC_OK) {
                return PTC_CONF_ERROR;
            }
            continue;
        }
        u_char *low = ptc_pnalloc(cf->pool, v.len + 1);
        if (low == NULL) {
            return "out of memory";
        }
        ptc_strlow(low, v.data, v.len);
        sn->name.data = low;
        sn->name.len = v.len;
        if (v.len > 2 && low[0] == '*' && low[1] == '.') {
            sn->wildcard_head = true;
            sn->name.data += 1; /* keep ".example.com" as the suffix */
            sn->name.len -= 1;
        } else if (v.len > 1 && low[0] == '.') {
            sn->wildcard_head = true;
            sn->dot_form = true;
        } else if (v.len > 2 && low[v.len - 1] == '*' && low[v.len - 2] == '.') {
            sn->wildcard_tail = true;
            sn->name.len -= 1; /* keep "www.example." as the prefix */
        }
        /* one wildcard, only at an end: "*.a*.com" and "www.a*.*" are errors */
        if (memchr(sn->name.data, '*', sn->name.len)) {
            return ptc_conf_error(cf, "invalid server name or wildcard \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(v));
        }
    }
    return NULL;
}

/* ---- location ---- */

static const char *
core_location_kind(ptc_conf_t *cf, ptc_http_core_loc_conf_t *clcf)
{
    const ptc_str_t *a1 = ptc_conf_arg(cf, 1);
    ptc_str_t name = *a1;
    char err[512];
    unsigned flags = 0;
    clcf->type = PTC_HTTP_LOC_PREFIX;
    if (ptc_conf_nargs(cf) == 3) {
        name = *ptc_conf_arg(cf, 2);
        if (ptc_str_eq_c(a1, "=")) {
            clcf->type = PTC_HTTP_LOC_EXACT;
        } else if (ptc_str_eq_c(a1, "^~")) {
            clcf->type = PTC_HTTP_LOC_NOREGEX;
        } else if (ptc_str_eq_c(a1, "~") || ptc_str_eq_c(a1, "~*")) {
            clcf->type = PTC_HTTP_LOC_REGEX;
            flags = a1->len == 2 ? PTC_REGEX_CASELESS : 0;
        } else {
            return ptc_conf_error(cf, "invalid location modifier \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*a1));
        }
    } else if (a1->len > 1 && a1->data[0] == '=') {
        clcf->type = PTC_HTTP_LOC_EXACT;
        name.data++, name.len--;
    } else if (a1->len > 2 && a1->data[0] == '^' && a1->data[1] == '~') {
        clcf->type = PTC_HTTP_LOC_NOREGEX;
        name.data += 2, name.len -= 2;
    } else if (a1->len > 1 && a1->data[0] == '~') {
        clcf->type = PTC_HTTP_LOC_REGEX;
        name.data++, name.len--;
        if (name.len > 1 && name.data[0] == '*') {
            flags = PTC_REGEX_CASELESS;
            name.data++, name.len--;
        }
    } else if (a1->len > 1 && a1->data[0] == '@') {
        clcf->type = PTC_HTTP_LOC_NAMED;
    }
    clcf->name = name;
    if (clcf->type == PTC_HTTP_LOC_REGEX) {
        clcf->regex = ptc_regex_compile(cf->pool, &name, flags, err, sizeof(err));
        if (clcf->regex == NULL) {
            return ptc_conf_error(cf, "%s", err);
        }
    }
    return NULL;
}

static int
core_location_link(ptc_conf_t *cf, ptc_http_core_loc_conf_t *parent, ptc_http_core_loc_conf_t *l)
{
    ptc_array_t **list = l->type == PTC_HTTP_LOC_REGEX   ? &parent->regex_locations
                         : l->type == PTC_HTTP_LOC_NAMED ? &parent->named
                                                         : &parent->locations;
    if (*list == NULL) {
        *list = ptc_array_create(cf->pool, 4, sizeof(ptc_http_core_loc_conf_t *));
        if (*list == NULL) {
            return PTC_ERROR;
        }
    }
    ptc_http_core_loc_conf_t **slot = ptc_array_push(*list);
    if (slot == NULL) {
        return PTC_ERROR;
    }
    *slot = l;
    l->parent = parent;
    return PTC_OK;
}

/* A context for a block nested in the current one: the same main and
 * server confs, and a fresh loc conf of every module. NULL on failure. */
static ptc_conf_ctx_t *
core_create_loc_ctx(ptc_conf_t *cf)
{
    ptc_conf_ctx_t *pctx = cf->ctx;
    ptc_conf_ctx_t *ctx = ptc_pcalloc(cf->pool, sizeof(*ctx));
    size_t n = ptc_modules_count(PTC_MODULE_HTTP);
    if (ctx == NULL || (ctx->loc_conf = ptc_pcalloc(cf->pool, n * sizeof(void *))) == NULL) {
        return NULL;
    }
    ctx->main_conf = pctx->main_conf;
    ctx->srv_conf = pctx->srv_conf;
    for (size_t i = 0; ptc_modules[i]; i++) {
        ptc_module_t *m = ptc_modules[i];
        if (m->type == PTC_MODULE_HTTP && m->create_loc
            && !(ctx->loc_conf[m->ctx_index] = m->create_loc(cf))) {
            return NULL;
        }
    }
    ptc_http_core_loc_conf_t *clcf = ctx->loc_conf[ptc_http_core_module.ctx_index];
    clcf->loc_conf = ctx->loc_conf;
    clcf->file = cf->node->file;
    clcf->line = cf->node->line;
    return ctx;
}

ptc_conf_ctx_t *
ptc_http_core_if_block(ptc_conf_t *cf)
{
    ptc_conf_ctx_t *pctx = cf->ctx;
    ptc_http_core_loc_conf_t *parent = pctx->loc_conf[ptc_http_core_module.ctx_index];
    ptc_conf_ctx_t *ctx = core_create_loc_ctx(cf);
    if (ctx == NULL) {
        return NULL;
    }
    ptc_http_core_loc_conf_t *clcf = ctx->loc_conf[ptc_http_core_module.ctx_index];
    clcf->noname = true;
    clcf->name = parent->name;
    clcf->type = parent->type;
    clcf->parent = parent;
    if (cf->ctx_type != PTC_CTX_LOCATION) {
        return ctx; /* server level: only its rewrite directives count, as in nginx */
    }
    if (parent->if_blocks == NULL) {
        parent->if_blocks = ptc_array_create(cf->pool, 2, sizeof(ptc_http_core_loc_conf_t *));
    }
    ptc_http_core_loc_conf_t **slot = parent->if_blocks ? ptc_array_push(parent->if_blocks) : NULL;
    if (slot == NULL) {
        return NULL;
    }
    *slot = clcf;
    return ctx;
}

/* The methods limit_except may name (nginx's list); a request's method is
 * found here by name, so any method not listed is limited. */
static const char *const core_limit_methods[] = {
    "GET",     "HEAD",     "POST",      "PUT",  "DELETE", "MKCOL", "COPY", "MOVE",
    "OPTIONS", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "PATCH", NULL};

static unsigned
core_method_bit(const ptc_str_t *name, bool caseless)
{
    for (unsigned i = 0; core_limit_methods[i]; i++) {
        if (caseless ? ptc_str_caseeq_c(name, core_limit_methods[i])
                     : ptc_str_eq_c(name, core_limit_methods[i])) {
            return 1u << i;
        }
    }
    return 0;
}

/* limit_except METHOD ... { allow/deny ... }: an anonymous level under the
 * location, merged like an `if` block (so it inherits the location's
 * settings and content handler, but not its rewrite program), that serves
 * the methods not listed. */
static const char *
core_limit_except(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_loc_conf_t *pclcf = conf;
    if (pclcf->limit_except) {
        return "is duplicate";
    }
    unsigned allow = 0;
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        unsigned bit = core_method_bit(ptc_conf_arg(cf, i), true);
        if (bit == 0) {
            return ptc_conf_error(cf, "invalid method \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*ptc_conf_arg(cf, i)));
        }
        allow |= bit;
    }
    if (allow & 1u) {
        allow |= 2u; /* GET implies HEAD */
    }
    ptc_conf_ctx_t *ctx = core_create_loc_ctx(cf);
    if (ctx == NULL) {
        return "out of memory";
    }
    ptc_http_core_loc_conf_t *clcf = ctx->loc_conf[ptc_http_core_module.ctx_index];
    clcf->noname = true;
    clcf->name = pclcf->name;
    clcf->type = pclcf->type;
    clcf->regex = pclcf->regex;
    clcf->parent = pclcf;
    if (pclcf->if_blocks == NULL) {
        pclcf->if_blocks = ptc_array_create(cf->pool, 2, sizeof(ptc_http_core_loc_conf_t *));
    }
    ptc_http_core_loc_conf_t **slot = pclcf->if_blocks ? ptc_array_push(pclcf->if_blocks) : NULL;
    if (slot == NULL) {
        return "out of memory";
    }
    *slot = clcf;
    pclcf->limit_except = clcf;
    pclcf->limit_except_allow = allow;
    return ptc_conf_walk(cf, cf->node, PTC_CTX_LIMIT_EXCEPT, ctx) == PTC_OK ? NULL : PTC_CONF_ERROR;
}

void
ptc_http_core_limit_except(ptc_http_request_t *r)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    if (clcf->limit_except
        && !(core_method_bit(&r->method_name, false) & clcf->limit_except_allow)) {
        r->loc_conf = clcf->limit_except->loc_conf;
    }
}

static const char *
core_location(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_conf_ctx_t *pctx = cf->ctx;
    ptc_http_core_loc_conf_t *parent = pctx->loc_conf[ptc_http_core_module.ctx_index];
    ptc_conf_ctx_t *ctx = core_create_loc_ctx(cf);
    if (ctx == NULL) {
        return "out of memory";
    }
    ptc_http_core_loc_conf_t *clcf = ctx->loc_conf[ptc_http_core_module.ctx_index];
    const char *rv = core_location_kind(cf, clcf);
    if (rv) {
        return rv;
    }
    if (parent->type == PTC_HTTP_LOC_EXACT || parent->type == PTC_HTTP_LOC_NAMED) {
        return ptc_conf_error(cf,
                              "location \"" PTC_STR_FMT "\" cannot be inside the %s location "
                              "\"" PTC_STR_FMT "\"",
                              PTC_STR_ARG(clcf->name),
                              parent->type == PTC_HTTP_LOC_EXACT ? "exact" : "named",
                              PTC_STR_ARG(parent->name));
    }
    if (clcf->type == PTC_HTTP_LOC_NAMED && cf->ctx_type != PTC_CTX_SERVER) {
        return ptc_conf_error(cf,
                              "named location \"" PTC_STR_FMT "\" can be on the server "
                              "level only",
                              PTC_STR_ARG(clcf->name));
    }
    if (parent->name.len && parent->type != PTC_HTTP_LOC_REGEX && clcf->type != PTC_HTTP_LOC_REGEX
        && (clcf->name.len < parent->name.len
            || memcmp(clcf->name.data, parent->name.data, parent->name.len) != 0)) {
        return ptc_conf_error(
            cf, "location \"" PTC_STR_FMT "\" is outside location \"" PTC_STR_FMT "\"",
            PTC_STR_ARG(clcf->name), PTC_STR_ARG(parent->name));
    }
    if (core_location_link(cf, parent, clcf) != PTC_OK) {
        return "out of memory";
    }
    if (ptc_conf_walk(cf, cf->node, PTC_CTX_LOCATION, ctx) != PTC_OK) {
        return PTC_CONF_ERROR;
    }
    return NULL;
}

static const char *
core_root(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_loc_conf_t *clcf = conf;
    bool alias = d->name[0] == 'a';
    if (clcf->root.data) {
        if (clcf->alias != alias) {
            return ptc_conf_error(cf,
                                  "\"%s\" directive is duplicate, \"%s\" directive was "
                                  "specified earlier",
                                  d->name, clcf->alias ? "alias" : "root");
        }
        return "is duplicate";
    }
    if (alias && clcf->type == PTC_HTTP_LOC_NAMED) {
        return ptc_conf_error(cf, "\"alias\" directive cannot be used inside the named location");
    }
    ptc_str_t v = *ptc_conf_arg(cf, 1);
    if (!alias && v.len > 1 && v.data[v.len - 1] == '/') {
        v.len--; /* "root /var/www/;" behaves as "root /var/www;" */
    }
    clcf->alias = alias;
    clcf->root = v;
    if (memchr(v.data, '$', v.len)) {
        clcf->root_cv = ptc_http_complex_value_compile(cf, &v);
        if (clcf->root_cv == NULL) {
            return PTC_CONF_ERROR;
        }
        /* a relative result is taken from the prefix at request time */
        clcf->root_prefix.data = (u_char *)cf->prefix;
        clcf->root_prefix.len = strlen(cf->prefix);
    } else if (v.data[0] != '/') {
        char *full = ptc_conf_full_path(cf, &v, false);
        if (full == NULL) {
            return "out of memory";
        }
        clcf->root.data = (u_char *)full;
        clcf->root.len = strlen(full);
    }
    return NULL;
}

static const char *
core_error_page(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_loc_conf_t *clcf = conf;
    size_t n = ptc_conf_nargs(cf);
    const ptc_str_t *uri = ptc_conf_arg(cf, n - 1);
    int overwrite = -1;
    size_t last_code = n - 2;
    const ptc_str_t *ow = ptc_conf_arg(cf, n - 2);
    if (ow->len && ow->data[0] == '=') {
        overwrite = 0;
        if (ow->len > 1) {
            int64_t v = ptc_atoi(ow->data + 1, ow->len - 1);
            if (v < 100 || v > 999) {
                return ptc_conf_error(cf, "invalid value \"" PTC_STR_FMT "\"", PTC_STR_ARG(*ow));
            }
            overwrite = (int)v;
        }
        last_code--;
    }
    if (last_code < 1) {
        return "invalid number of arguments";
    }
    if (clcf->error_pages == PTC_CONF_UNSET_PTR || clcf->error_pages == NULL) {
        clcf->error_pages = ptc_array_create(cf->pool, 4, sizeof(ptc_http_error_page_t));
        if (clcf->error_pages == NULL) {
            return "out of memory";
        }
    }
    ptc_http_complex_value_t *cv = ptc_http_complex_value_compile(cf, uri);
    if (cv == NULL) {
        return PTC_CONF_ERROR;
    }
    for (size_t i = 1; i <= last_code; i++) {
        const ptc_str_t *a = ptc_conf_arg(cf, i);
        int64_t code = ptc_atoi(a->data, a->len);
        if (code < 300 || code > 599) {
            return ptc_conf_error(cf, "value \"" PTC_STR_FMT "\" must be between 300 and 599",
                                  PTC_STR_ARG(*a));
        }
        ptc_http_error_page_t *ep = ptc_array_push(clcf->error_pages);
        if (ep == NULL) {
            return "out of memory";
        }
        ep->status = (unsigned)code;
        ep->overwrite = overwrite;
        ep->uri = cv;
    }
    return NULL;
}

static const char *
core_types(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_loc_conf_t *clcf = conf;
    const ptc_conf_node_t *node = cf->node;
    if (clcf->types == PTC_CONF_UNSET_PTR) {
        clcf->types = ptc_array_create(cf->pool, 64, sizeof(ptc_http_type_t));
        if (clcf->types == NULL) {
            return "out of memory";
        }
    }
    for (size_t i = 0; i < node->nchildren; i++) {
        const ptc_conf_node_t *c = &node->children[i];
        if (c->block || c->nargs < 2) {
            return ptc_conf_error_at(cf, c, "invalid types entry \"" PTC_STR_FMT "\"",
                                     PTC_STR_ARG(c->args[0]));
        }
        for (size_t j = 1; j < c->nargs; j++) {
            ptc_http_type_t *t = NULL, *all = clcf->types->elts;
            for (size_t k = 0; k < clcf->types->nelts; k++) {
                if (ptc_str_caseeq(&all[k].exten, &c->args[j])) {
                    t = &all[k]; /* a later entry wins, as in nginx (with a warning there) */
                }
            }
            if (t == NULL && (t = ptc_array_push(clcf->types)) == NULL) {
                return "out of memory";
            }
            t->exten = c->args[j];
            t->type = c->args[0];
        }
    }
    return NULL;
}

static const char *
core_keepalive_timeout(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_loc_conf_t *clcf = conf;
    if (clcf->keepalive_timeout != PTC_CONF_UNSET_MSEC) {
        return "is duplicate";
    }
    int64_t t = ptc_parse_time_ms(ptc_conf_arg(cf, 1));
    if (t < 0) {
        return "invalid value";
    }
    clcf->keepalive_timeout = (ptc_msec_t)t;
    /* the optional header timeout (Keep-Alive: timeout=N) is accepted and not sent */
    if (ptc_conf_nargs(cf) == 3 && ptc_parse_time_ms(ptc_conf_arg(cf, 2)) < 0) {
        return "invalid value";
    }
    return NULL;
}

static const char *
core_large_buffers(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_srv_conf_t *cscf = conf;
    if (cscf->large_header_bufs != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    const ptc_str_t *num = ptc_conf_arg(cf, 1);
    int64_t n = ptc_atoi(num->data, num->len);
    int64_t size = ptc_parse_size(ptc_conf_arg(cf, 2));
    if (n < 1 || size < 1) {
        return "invalid value";
    }
    if (size <= 1) {
        return "invalid value";
    }
    cscf->large_header_bufs = n;
    cscf->large_header_buf_size = (size_t)size;
    return NULL;
}

static const char *
core_error_log(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_loc_conf_t *clcf = conf;
    ptc_log_t *head = clcf->error_log == PTC_CONF_UNSET_PTR ? NULL : clcf->error_log;
    const char *rv = ptc_cycle_parse_error_log(cf, &head);
    clcf->error_log = head;
    return rv;
}

static const char *
core_internal(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_loc_conf_t *clcf = conf;
    if (clcf->internal) {
        return "is duplicate";
    }
    clcf->internal = true;
    return NULL;
}

static const char *
core_ignored(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    return NULL;
}

/* A size, or text with variables evaluated to a size per request. */
static const char *
core_size_value(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_size_value_t *v = (ptc_http_size_value_t *)((char *)conf + d->offset);
    const ptc_str_t *a = ptc_conf_arg(cf, 1);
    if (v->cv || v->n != PTC_CONF_UNSET_SIZE) {
        return "is duplicate";
    }
    if (memchr(a->data, '$', a->len)) {
        v->cv = ptc_http_complex_value_compile(cf, a);
        return v->cv ? NULL : PTC_CONF_ERROR;
    }
    int64_t n = ptc_parse_size(a);
    if (n < 0) {
        return "invalid value";
    }
    v->n = (size_t)n;
    return NULL;
}

size_t
ptc_http_size_value(ptc_http_request_t *r, const ptc_http_size_value_t *v)
{
    if (v->cv == NULL) {
        return v->n;
    }
    ptc_str_t text;
    if (ptc_http_complex_value(r, v->cv, &text) != PTC_OK) {
        return 0;
    }
    int64_t n = ptc_parse_size(&text);
    if (n < 0) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "invalid size \"" PTC_STR_FMT "\"",
                      PTC_STR_ARG(text));
        return 0;
    }
    return (size_t)n;
}

/* One name server of `resolver`: an address with an optional port, or a
 * host name (not looked up: no query is ever sent). NULL or a message. */
static const char *
core_resolver_addr(ptc_conf_t *cf, const ptc_str_t *a)
{
    struct sockaddr_storage sa;
    socklen_t len;
    const char *err;
    bool name = a->len > 0;
    for (size_t i = 0; i < a->len && name; i++) {
        u_char ch = a->data[i];
        name = ch == '.' || ch == '-' || ch == ':' || (ch >= '0' && ch <= '9')
               || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
    }
    if (ptc_str_eq_c(a, "unix:") || (a->len > 5 && memcmp(a->data, "unix:", 5) == 0)) {
        return ptc_conf_error(cf, "invalid parameter: " PTC_STR_FMT, PTC_STR_ARG(*a));
    }
    if (ptc_sockaddr_parse(a, 53, &sa, &len, &err) == PTC_OK
        || (name && strcmp(err, "host not found") == 0)) {
        return NULL;
    }
    if (!name && a->data[0] != '[') {
        return ptc_conf_error(cf, "invalid parameter: " PTC_STR_FMT, PTC_STR_ARG(*a));
    }
    return ptc_conf_error(cf, "%s in resolver \"" PTC_STR_FMT "\"", err, PTC_STR_ARG(*a));
}

/* resolver ADDRESS ... [valid=TIME] [ipv6=on|off]: checked so that nginx
 * configs load; Portico resolves names when the configuration is read. */
static const char *
core_resolver(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_loc_conf_t *clcf = conf;
    size_t servers = 0;
    if (clcf->resolver) {
        return "is duplicate";
    }
    clcf->resolver = true;
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        const ptc_str_t *a = ptc_conf_arg(cf, i);
        if (a->len > 6 && memcmp(a->data, "valid=", 6) == 0) {
            ptc_str_t t = {a->len - 6, a->data + 6};
            if (ptc_parse_time_ms(&t) < 0) {
                return ptc_conf_error(cf, "invalid parameter: " PTC_STR_FMT, PTC_STR_ARG(*a));
            }
        } else if (a->len > 5 && memcmp(a->data, "ipv6=", 5) == 0) {
            ptc_str_t v = {a->len - 5, a->data + 5};
            if (!ptc_str_eq_c(&v, "on") && !ptc_str_eq_c(&v, "off")) {
                return ptc_conf_error(cf, "invalid parameter: " PTC_STR_FMT, PTC_STR_ARG(*a));
            }
        } else if (core_resolver_addr(cf, a) != NULL) {
            return PTC_CONF_ERROR;
        } else {
            servers++;
        }
    }
    return servers ? NULL : ptc_conf_error(cf, "no name servers defined");
}
