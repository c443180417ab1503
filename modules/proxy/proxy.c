/* SPDX-License-Identifier: BSD-2-Clause */
/* The proxy module's configuration: proxy_pass and the proxy_* directives,
 * with nginx's defaults (Host $proxy_host, Connection close, HTTP/1.0,
 * 60s timeouts, 4k/8 buffers, next upstream on error and timeout). The
 * request path lives in proxy_run.c, TLS to upstreams in proxy_ssl.c. */
#include "modules/proxy/proxy_int.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "core/ptc_pool.h"

static int proxy_preconfig(ptc_conf_t *cf);
static void *proxy_create_main(ptc_conf_t *cf);
static void *proxy_create_loc(ptc_conf_t *cf);
static const char *proxy_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static const char *proxy_pass(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *proxy_set_header(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *proxy_str_list(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *proxy_http_version(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *proxy_next_upstream(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *proxy_buffers(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *proxy_redirect(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *proxy_method(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *proxy_ignore_headers(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *proxy_bind(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *proxy_ignored(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

#define HSL (PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION)

static const ptc_conf_enum_t proxy_pp_enum[] = {
    {"off", 0}, {"on", 1}, {"v1", 1}, {"v2", 2}, {NULL, 0}};
#define OFF(f) PTC_CONF_LOC, offsetof(proxy_loc_conf_t, f)
#define SSL(f) PTC_CONF_LOC, offsetof(proxy_loc_conf_t, ssl.f)

static const ptc_conf_bounds_t proxy_ssl_depth_bounds = {0, 100};

/* The proxy module's main conf: client TLS contexts, shared between
 * locations whose proxy_ssl_* settings are identical. */
typedef struct {
    ptc_array_t ssl_shared; /* proxy_ssl_t * */
} proxy_main_conf_t;

static const ptc_directive_t proxy_directives[] = {
    {"proxy_pass", PTC_CTX_LOCATION | PTC_CTX_IF_LOC, PTC_ARGS_1, proxy_pass, OFF(url), NULL},
    {"proxy_set_header", HSL, PTC_ARGS_2, proxy_set_header, OFF(set_headers), NULL},
    {"proxy_hide_header", HSL, PTC_ARGS_1, proxy_str_list, OFF(hide_headers), NULL},
    {"proxy_pass_header", HSL, PTC_ARGS_1, proxy_str_list, OFF(pass_headers), NULL},
    {"proxy_http_version", HSL, PTC_ARGS_1, proxy_http_version, OFF(http_version), NULL},
    {"proxy_connect_timeout", HSL, PTC_ARGS_1, ptc_conf_set_msec, OFF(connect_timeout), NULL},
    {"proxy_send_timeout", HSL, PTC_ARGS_1, ptc_conf_set_msec, OFF(send_timeout), NULL},
    {"proxy_read_timeout", HSL, PTC_ARGS_1, ptc_conf_set_msec, OFF(read_timeout), NULL},
    {"proxy_next_upstream", HSL, PTC_ARGS_1MORE, proxy_next_upstream, OFF(next_upstream), NULL},
    {"proxy_next_upstream_tries", HSL, PTC_ARGS_1, ptc_conf_set_num, OFF(next_upstream_tries),
     NULL},
    {"proxy_next_upstream_timeout", HSL, PTC_ARGS_1, ptc_conf_set_msec, OFF(next_upstream_timeout),
     NULL},
    {"proxy_buffering", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, OFF(buffering), NULL},
    {"proxy_request_buffering", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, OFF(request_buffering),
     NULL},
    {"proxy_buffer_size", HSL, PTC_ARGS_1, ptc_conf_set_size, OFF(buffer_size), NULL},
    {"proxy_buffers", HSL, PTC_ARGS_2, proxy_buffers, OFF(bufs_num), NULL},
    {"proxy_busy_buffers_size", HSL, PTC_ARGS_1, ptc_conf_set_size, OFF(busy_buffers_size), NULL},
    {"proxy_intercept_errors", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, OFF(intercept_errors), NULL},
    {"proxy_pass_request_headers", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, OFF(pass_request_headers),
     NULL},
    {"proxy_pass_request_body", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, OFF(pass_request_body),
     NULL},
    {"proxy_ignore_client_abort", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, OFF(ignore_client_abort),
     NULL},
    {"proxy_ignore_headers", HSL, PTC_ARGS_1MORE, proxy_ignore_headers, OFF(ignore_headers), NULL},
    {"proxy_cookie_domain", HSL, PTC_ARGS_12, ptc_proxy_cookie_rule, OFF(cookie_domains), NULL},
    {"proxy_cookie_path", HSL, PTC_ARGS_12, ptc_proxy_cookie_rule, OFF(cookie_paths), NULL},
    {"proxy_cookie_flags", HSL, PTC_ARGS_1MORE, ptc_proxy_cookie_flags, OFF(cookie_flags), NULL},
    {"proxy_bind", HSL, PTC_ARGS_12, proxy_bind, OFF(bind), NULL},
    {"proxy_limit_rate", HSL, PTC_ARGS_1, ptc_conf_set_size, OFF(limit_rate), NULL},
    {"proxy_force_ranges", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, OFF(force_ranges), NULL},
    {"proxy_redirect", HSL, PTC_ARGS_12, proxy_redirect, OFF(redirects), NULL},
    {"proxy_method", HSL, PTC_ARGS_1, proxy_method, OFF(method), NULL},
    {"proxy_set_body", HSL, PTC_ARGS_1, proxy_method, OFF(set_body), NULL},
    {"proxy_protocol", HSL, PTC_ARGS_1, ptc_conf_set_enum, OFF(proxy_protocol), proxy_pp_enum},
    /* accepted: responses are streamed through bounded memory buffers */
    {"proxy_temp_path", HSL, PTC_ARGS_1 | PTC_ARGS_2 | PTC_ARGS_3 | PTC_ARGS_4,
     ptc_conf_set_temp_path, OFF(temp_path), NULL},
    {"proxy_max_temp_file_size", HSL, PTC_ARGS_1, ptc_conf_set_size, OFF(max_temp_file_size), NULL},
    {"proxy_temp_file_write_size", HSL, PTC_ARGS_1, proxy_ignored, OFF(set), NULL},
    {"proxy_headers_hash_max_size", HSL, PTC_ARGS_1, proxy_ignored, OFF(set), NULL},
    {"proxy_headers_hash_bucket_size", HSL, PTC_ARGS_1, proxy_ignored, OFF(set), NULL},
    /* TLS to the upstream: proxy_ssl.c */
    {"proxy_ssl_verify", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, SSL(verify), NULL},
    {"proxy_ssl_verify_depth", HSL, PTC_ARGS_1, ptc_conf_set_num, SSL(verify_depth),
     &proxy_ssl_depth_bounds},
    {"proxy_ssl_trusted_certificate", HSL, PTC_ARGS_1, ptc_conf_set_conf_file,
     SSL(trusted_certificate), NULL},
    {"proxy_ssl_crl", HSL, PTC_ARGS_1, ptc_conf_set_conf_file, SSL(crl), NULL},
    {"proxy_ssl_server_name", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, SSL(server_name), NULL},
    {"proxy_ssl_name", HSL, PTC_ARGS_1, ptc_proxy_ssl_set_name, SSL(name), NULL},
    {"proxy_ssl_protocols", HSL, PTC_ARGS_1MORE, ptc_proxy_ssl_set_protocols, SSL(protocols), NULL},
    {"proxy_ssl_ciphers", HSL, PTC_ARGS_1, ptc_conf_set_str, SSL(ciphers), NULL},
    {"proxy_ssl_certificate", HSL, PTC_ARGS_1, ptc_conf_set_conf_file, SSL(certificate), NULL},
    {"proxy_ssl_certificate_key", HSL, PTC_ARGS_1, ptc_conf_set_conf_file, SSL(certificate_key),
     NULL},
    {"proxy_ssl_password_file", HSL, PTC_ARGS_1, ptc_proxy_ssl_set_password_file, SSL(passwords),
     NULL},
    {"proxy_ssl_session_reuse", HSL, PTC_ARGS_FLAG, ptc_conf_set_flag, SSL(session_reuse), NULL},
    {"proxy_ssl_conf_command", HSL, PTC_ARGS_2, ptc_proxy_ssl_set_conf_command, SSL(conf_commands),
     NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_proxy_module = {
    .name = "proxy",
    .type = PTC_MODULE_HTTP,
    .directives = proxy_directives,
    .preconfig = proxy_preconfig,
    .create_main = proxy_create_main,
    .create_loc = proxy_create_loc,
    .merge_loc = proxy_merge_loc,
};

static int
proxy_preconfig(ptc_conf_t *cf)
{
    if (ptc_proxy_ssl_init(cf) != PTC_OK) {
        return PTC_ERROR;
    }
    return ptc_proxy_variables(cf);
}

static void *
proxy_create_main(ptc_conf_t *cf)
{
    proxy_main_conf_t *pmcf = ptc_pcalloc(cf->pool, sizeof(*pmcf));
    if (pmcf == NULL || ptc_array_init(&pmcf->ssl_shared, cf->pool, 4, sizeof(proxy_ssl_t *))) {
        return NULL;
    }
    return pmcf;
}

static void *
proxy_create_loc(ptc_conf_t *cf)
{
    proxy_loc_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->set_headers = PTC_CONF_UNSET_PTR;
    c->hide_headers = PTC_CONF_UNSET_PTR;
    c->pass_headers = PTC_CONF_UNSET_PTR;
    c->redirects = PTC_CONF_UNSET_PTR;
    c->redirect_default = PTC_CONF_UNSET;
    c->http_version = PTC_CONF_UNSET;
    c->connect_timeout = PTC_CONF_UNSET_MSEC;
    c->send_timeout = PTC_CONF_UNSET_MSEC;
    c->read_timeout = PTC_CONF_UNSET_MSEC;
    c->next_upstream_timeout = PTC_CONF_UNSET_MSEC;
    c->next_upstream_tries = PTC_CONF_UNSET;
    c->buffering = PTC_CONF_UNSET;
    c->request_buffering = PTC_CONF_UNSET;
    c->buffer_size = PTC_CONF_UNSET_SIZE;
    c->bufs_num = PTC_CONF_UNSET;
    c->busy_buffers_size = PTC_CONF_UNSET_SIZE;
    c->intercept_errors = PTC_CONF_UNSET;
    c->pass_request_headers = PTC_CONF_UNSET;
    c->pass_request_body = PTC_CONF_UNSET;
    c->ignore_client_abort = PTC_CONF_UNSET;
    c->ignore_headers = PTC_CONF_UNSET;
    c->cookie_domains = PTC_CONF_UNSET_PTR;
    c->cookie_paths = PTC_CONF_UNSET_PTR;
    c->cookie_flags = PTC_CONF_UNSET_PTR;
    c->bind = PTC_CONF_UNSET_PTR;
    c->limit_rate = PTC_CONF_UNSET_SIZE;
    c->force_ranges = PTC_CONF_UNSET;
    c->method = PTC_CONF_UNSET_PTR;
    c->set_body = PTC_CONF_UNSET_PTR;
    c->proxy_protocol = PTC_CONF_UNSET;
    c->max_temp_file_size = PTC_CONF_UNSET_SIZE;
    ptc_proxy_ssl_create_conf(&c->ssl);
    return c;
}

static int
proxy_add_header(ptc_conf_t *cf, ptc_array_t *list, const char *name, const char *value)
{
    ptc_str_t n = {strlen(name), (u_char *)name}, v = {strlen(value), (u_char *)value};
    proxy_header_t *h = ptc_array_push(list);
    if (h == NULL) {
        return PTC_ERROR;
    }
    h->name = n;
    h->value = ptc_http_complex_value_compile(cf, &v);
    return h->value ? PTC_OK : PTC_ERROR;
}

/* The default request headers, then the configured ones (which replace a
 * default of the same name), as one list evaluated per request. */
static ptc_array_t *
proxy_headers_with_defaults(ptc_conf_t *cf, ptc_array_t *set)
{
    ptc_array_t *all = ptc_array_create(cf->pool, 8, sizeof(proxy_header_t));
    if (all == NULL) {
        return NULL;
    }
    static const char *const defs[][2] = {{"Host", "$proxy_host"}, {"Connection", "close"}};
    for (size_t i = 0; i < ptc_nelems(defs); i++) {
        bool overridden = false;
        proxy_header_t *h = set ? set->elts : NULL;
        for (size_t j = 0; set && j < set->nelts; j++) {
            overridden |= ptc_str_caseeq_c(&h[j].name, defs[i][0]);
        }
        if (!overridden && proxy_add_header(cf, all, defs[i][0], defs[i][1]) != PTC_OK) {
            return NULL;
        }
    }
    proxy_header_t *h = set ? set->elts : NULL;
    for (size_t j = 0; set && j < set->nelts; j++) {
        proxy_header_t *slot = ptc_array_push(all);
        if (slot == NULL) {
            return NULL;
        }
        *slot = h[j];
    }
    return all;
}

/* An `if` block inside a proxied location proxies as its location does
 * unless it has its own proxy_pass (nginx). */
static void
proxy_inherit_pass(proxy_loc_conf_t *conf, const proxy_loc_conf_t *prev)
{
    conf->group = prev->group;
    conf->url_cv = prev->url_cv;
    conf->url = prev->url;
    conf->host = prev->host;
    conf->port = prev->port;
    conf->uri = prev->uri;
    conf->has_uri = prev->has_uri;
    conf->location = prev->location;
    conf->location_type = prev->location_type;
    conf->https = prev->https;
    conf->file = prev->file;
    conf->line = prev->line;
    conf->set = true;
}

static const char *
proxy_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    proxy_loc_conf_t *prev = parent, *conf = child;
    ptc_http_core_loc_conf_t *clcf = ptc_http_conf_get_loc(cf, ptc_http_core_module);
    if (clcf->noname && !conf->set && prev->set) {
        proxy_inherit_pass(conf, prev);
    }
    ptc_conf_merge_ptr(conf->set_headers, prev->set_headers, NULL);
    ptc_conf_merge_ptr(conf->hide_headers, prev->hide_headers, NULL);
    ptc_conf_merge_ptr(conf->pass_headers, prev->pass_headers, NULL);
    ptc_conf_merge_ptr(conf->redirects, prev->redirects, NULL);
    ptc_conf_merge_value(conf->redirect_default, prev->redirect_default, 1);
    ptc_conf_merge_value(conf->http_version, prev->http_version, 1000);
    ptc_conf_merge_msec(conf->connect_timeout, prev->connect_timeout, 60000);
    ptc_conf_merge_msec(conf->send_timeout, prev->send_timeout, 60000);
    ptc_conf_merge_msec(conf->read_timeout, prev->read_timeout, 60000);
    ptc_conf_merge_msec(conf->next_upstream_timeout, prev->next_upstream_timeout, 0);
    ptc_conf_merge_value(conf->next_upstream_tries, prev->next_upstream_tries, 0);
    if (conf->next_upstream == 0) {
        conf->next_upstream =
            prev->next_upstream ? prev->next_upstream : PROXY_FT_ERROR | PROXY_FT_TIMEOUT;
    }
    ptc_conf_merge_value(conf->buffering, prev->buffering, 1);
    ptc_conf_merge_value(conf->request_buffering, prev->request_buffering, 1);
    ptc_conf_merge_size(conf->buffer_size, prev->buffer_size, 4096);
    if (conf->bufs_num == PTC_CONF_UNSET) {
        conf->bufs_num = prev->bufs_num == PTC_CONF_UNSET ? 8 : prev->bufs_num;
        conf->bufs_size = prev->bufs_num == PTC_CONF_UNSET ? 4096 : prev->bufs_size;
    }
    ptc_conf_merge_size(conf->busy_buffers_size, prev->busy_buffers_size, 2 * conf->bufs_size);
    ptc_conf_merge_value(conf->intercept_errors, prev->intercept_errors, 0);
    ptc_conf_merge_value(conf->pass_request_headers, prev->pass_request_headers, 1);
    ptc_conf_merge_value(conf->pass_request_body, prev->pass_request_body, 1);
    ptc_conf_merge_value(conf->ignore_client_abort, prev->ignore_client_abort, 0);
    ptc_conf_merge_value(conf->ignore_headers, prev->ignore_headers, 0);
    ptc_conf_merge_ptr(conf->cookie_domains, prev->cookie_domains, NULL);
    ptc_conf_merge_ptr(conf->cookie_paths, prev->cookie_paths, NULL);
    ptc_conf_merge_ptr(conf->cookie_flags, prev->cookie_flags, NULL);
    ptc_conf_merge_ptr(conf->bind, prev->bind, NULL);
    ptc_conf_merge_size(conf->limit_rate, prev->limit_rate, 0);
    ptc_conf_merge_value(conf->force_ranges, prev->force_ranges, 0);
    ptc_conf_merge_ptr(conf->method, prev->method, NULL);
    ptc_conf_merge_ptr(conf->set_body, prev->set_body, NULL);
    ptc_conf_merge_value(conf->proxy_protocol, prev->proxy_protocol, 0);
    ptc_conf_merge_size(conf->max_temp_file_size, prev->max_temp_file_size,
                        (size_t)1024 * 1024 * 1024);
    ptc_conf_merge_str(conf->temp_path, prev->temp_path, "proxy_temp");
    if (ptc_conf_resolve_path(cf, &conf->temp_path) != PTC_OK) {
        return "out of memory";
    }
    proxy_main_conf_t *pmcf = ptc_http_conf_get_main(cf, ptc_proxy_module);
    const char *rv = ptc_proxy_ssl_merge(cf, prev, conf, &pmcf->ssl_shared);
    if (rv) {
        return rv;
    }
    if (conf->bufs_num < 2) {
        return "there must be at least 2 \"proxy_buffers\"";
    }
    if (conf->busy_buffers_size < ptc_max(conf->buffer_size, conf->bufs_size)) {
        return "\"proxy_busy_buffers_size\" must be equal to or greater than the maximum of "
               "the value of \"proxy_buffer_size\" and one of the \"proxy_buffers\"";
    }
    if (conf->busy_buffers_size > (size_t)(conf->bufs_num - 1) * conf->bufs_size) {
        return "\"proxy_busy_buffers_size\" must be less than the size of all "
               "\"proxy_buffers\" minus one buffer";
    }
    /* the list sent per request: defaults + proxy_set_header, built once */
    if (conf->set
        && (conf->send_headers = proxy_headers_with_defaults(cf, conf->set_headers)) == NULL) {
        return "out of memory";
    }
    return NULL;
}

/* "http[s]://host[:port][/uri]" -> group, $proxy_host/$proxy_port, uri */
static const char *
proxy_parse_url(ptc_conf_t *cf, proxy_loc_conf_t *plcf, ptc_str_t url)
{
    if (url.len > 7 && ptc_strncasecmp(url.data, (const u_char *)"http://", 7) == 0) {
        url.data += 7;
        url.len -= 7;
    } else if (url.len > 8 && ptc_strncasecmp(url.data, (const u_char *)"https://", 8) == 0) {
        url.data += 8;
        url.len -= 8;
        plcf->https = true;
    } else {
        return ptc_conf_error(cf, "invalid URL prefix in \"" PTC_STR_FMT "\"", PTC_STR_ARG(url));
    }
    u_char *slash = memchr(url.data, '/', url.len);
    if (url.len > 5 && memcmp(url.data, "unix:", 5) == 0) {
        /* http://unix:/path/sock:/uri */
        u_char *colon = memchr(url.data + 5, ':', url.len - 5);
        slash = colon ? colon + 1 : NULL;
    }
    ptc_str_t host = {slash ? (size_t)(slash - url.data) : url.len, url.data};
    if (host.len && host.data[host.len - 1] == ':' && slash && url.data[0] == 'u') {
        host.len--;
    }
    if (host.len == 0) {
        return ptc_conf_error(cf, "no host in \"" PTC_STR_FMT "\"", PTC_STR_ARG(plcf->url));
    }
    if (slash) {
        plcf->has_uri = true;
        plcf->uri.data = slash;
        plcf->uri.len = (size_t)(url.data + url.len - slash);
    }
    plcf->host = host;
    const u_char *colon = host.data[0] == '[' ? memchr(host.data, ']', host.len) : host.data;
    colon = colon ? memchr(colon, ':', host.len - (size_t)(colon - host.data)) : NULL;
    if (colon && !(host.len > 5 && memcmp(host.data, "unix:", 5) == 0)) {
        plcf->port.data = (u_char *)colon + 1;
        plcf->port.len = host.len - (size_t)(colon + 1 - host.data);
    } else if (plcf->https) {
        ptc_str_set(&plcf->port, "443");
    } else {
        ptc_str_set(&plcf->port, "80");
    }
    plcf->group = ptc_upstream_group_get(cf, &host, true, plcf->https ? 443 : 80);
    return plcf->group ? NULL : PTC_CONF_ERROR;
}

static const char *
proxy_pass(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    ptc_http_core_loc_conf_t *clcf = ptc_http_conf_get_loc(cf, ptc_http_core_module);
    if (plcf->set) {
        return "is duplicate";
    }
    plcf->set = true;
    plcf->file = cf->node->file;
    plcf->line = cf->node->line;
    plcf->url = *ptc_conf_arg(cf, 1);
    plcf->location = clcf->name;
    plcf->location_type = clcf->type;
    clcf->handler = ptc_proxy_handler;
    if (clcf->name.len && clcf->name.data[clcf->name.len - 1] == '/') {
        clcf->auto_redirect = true;
    }
    if (memchr(plcf->url.data, '$', plcf->url.len)) {
        plcf->url_cv = ptc_http_complex_value_compile(cf, &plcf->url);
        return plcf->url_cv ? NULL : PTC_CONF_ERROR;
    }
    const char *rv = proxy_parse_url(cf, plcf, plcf->url);
    if (rv) {
        return rv;
    }
    if (plcf->has_uri
        && (clcf->type == PTC_HTTP_LOC_REGEX || clcf->type == PTC_HTTP_LOC_NAMED || clcf->noname)) {
        return ptc_conf_error(cf, "\"proxy_pass\" cannot have URI part in location given by "
                                  "regular expression, or inside named location, or inside "
                                  "\"if\" statement, or inside \"limit_except\" block");
    }
    return NULL;
}

static const char *
proxy_set_header(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    if (plcf->set_headers == PTC_CONF_UNSET_PTR) {
        plcf->set_headers = ptc_array_create(cf->pool, 4, sizeof(proxy_header_t));
        if (plcf->set_headers == NULL) {
            return "out of memory";
        }
    }
    proxy_header_t *h = ptc_array_push(plcf->set_headers);
    if (h == NULL) {
        return "out of memory";
    }
    h->name = *ptc_conf_arg(cf, 1);
    h->value = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 2));
    return h->value ? NULL : PTC_CONF_ERROR;
}

static const char *
proxy_str_list(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_array_t **list = (ptc_array_t **)((char *)conf + d->offset);
    if (*list == PTC_CONF_UNSET_PTR) {
        *list = ptc_array_create(cf->pool, 4, sizeof(ptc_str_t));
        if (*list == NULL) {
            return "out of memory";
        }
    }
    ptc_str_t *s = ptc_array_push(*list);
    if (s == NULL) {
        return "out of memory";
    }
    *s = *ptc_conf_arg(cf, 1);
    return NULL;
}

static const char *
proxy_http_version(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    const ptc_str_t *v = ptc_conf_arg(cf, 1);
    if (plcf->http_version != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    if (ptc_str_eq_c(v, "1.0")) {
        plcf->http_version = 1000;
    } else if (ptc_str_eq_c(v, "1.1")) {
        plcf->http_version = 1001;
    } else {
        return ptc_conf_error(cf,
                              "invalid value \"" PTC_STR_FMT "\" in \"%s\" directive, it "
                              "must be \"1.0\" or \"1.1\"",
                              PTC_STR_ARG(*v), d->name);
    }
    return NULL;
}

static const char *
proxy_next_upstream(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    static const ptc_conf_enum_t names[] = {
        {"error", PROXY_FT_ERROR},
        {"timeout", PROXY_FT_TIMEOUT},
        {"invalid_header", PROXY_FT_INVALID_HEADER},
        {"http_500", PROXY_FT_HTTP_500},
        {"http_502", PROXY_FT_HTTP_502},
        {"http_503", PROXY_FT_HTTP_503},
        {"http_504", PROXY_FT_HTTP_504},
        {"http_403", PROXY_FT_HTTP_403},
        {"http_404", PROXY_FT_HTTP_404},
        {"http_429", PROXY_FT_HTTP_429},
        {"non_idempotent", PROXY_FT_NON_IDEMPOTENT},
        {"off", PROXY_FT_OFF},
        {NULL, 0},
    };
    proxy_loc_conf_t *plcf = conf;
    if (plcf->next_upstream) {
        return "is duplicate";
    }
    unsigned mask = 0;
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        const ptc_conf_enum_t *e = names;
        while (e->name && !ptc_str_eq_c(ptc_conf_arg(cf, i), e->name)) {
            e++;
        }
        if (e->name == NULL) {
            return ptc_conf_error(cf, "invalid value \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*ptc_conf_arg(cf, i)));
        }
        mask |= (unsigned)e->value;
    }
    if ((mask & PROXY_FT_OFF) && mask != PROXY_FT_OFF) {
        return ptc_conf_error(cf, "\"off\" cannot be combined with other values");
    }
    plcf->next_upstream = mask;
    return NULL;
}

static const char *
proxy_ignore_headers(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    static const ptc_conf_enum_t names[] = {
        {"X-Accel-Redirect", PROXY_IGN_XA_REDIRECT},
        {"X-Accel-Expires", PROXY_IGN_XA_EXPIRES},
        {"X-Accel-Limit-Rate", PROXY_IGN_XA_LIMIT_RATE},
        {"X-Accel-Buffering", PROXY_IGN_XA_BUFFERING},
        {"X-Accel-Charset", PROXY_IGN_XA_CHARSET},
        {"Expires", PROXY_IGN_EXPIRES},
        {"Cache-Control", PROXY_IGN_CACHE_CONTROL},
        {"Set-Cookie", PROXY_IGN_SET_COOKIE},
        {"Vary", PROXY_IGN_VARY},
        {NULL, 0},
    };
    proxy_loc_conf_t *plcf = conf;
    if (plcf->ignore_headers != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    int mask = 0;
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        const ptc_conf_enum_t *e = names;
        while (e->name && !ptc_str_caseeq_c(ptc_conf_arg(cf, i), e->name)) {
            e++;
        }
        if (e->name == NULL) {
            return ptc_conf_error(cf, "invalid value \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*ptc_conf_arg(cf, i)));
        }
        mask |= (int)e->value;
    }
    plcf->ignore_headers = mask;
    return NULL;
}

int
ptc_proxy_parse_bind(const ptc_str_t *text, ptc_conn_source_t *src)
{
    char buf[INET6_ADDRSTRLEN + 8];
    memset(&src->sockaddr, 0, sizeof(src->sockaddr));
    if (text->len == 0 || text->len >= sizeof(buf)) {
        return PTC_ERROR;
    }
    memcpy(buf, text->data, text->len);
    buf[text->len] = '\0';
    struct sockaddr_in *sin = (struct sockaddr_in *)&src->sockaddr;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&src->sockaddr;
    if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        src->socklen = sizeof(*sin);
        return PTC_OK;
    }
    if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        src->socklen = sizeof(*sin6);
        return PTC_OK;
    }
    const char *err;
    if (ptc_sockaddr_parse(text, 0, &src->sockaddr, &src->socklen, &err) != PTC_OK
        || src->sockaddr.ss_family == AF_UNIX) {
        return PTC_ERROR;
    }
    return PTC_OK;
}

static const char *
proxy_bind(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    if (plcf->bind != PTC_CONF_UNSET_PTR) {
        return "is duplicate";
    }
    const ptc_str_t *addr = ptc_conf_arg(cf, 1);
    if (ptc_str_eq_c(addr, "off")) {
        if (ptc_conf_nargs(cf) != 2) {
            return "invalid number of arguments";
        }
        plcf->bind = NULL;
        return NULL;
    }
    plcf->bind = ptc_pcalloc(cf->pool, sizeof(proxy_bind_t));
    if (plcf->bind == NULL) {
        return PTC_CONF_ERROR;
    }
    if (ptc_conf_nargs(cf) == 3) {
        if (!ptc_str_eq_c(ptc_conf_arg(cf, 2), "transparent")) {
            return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*ptc_conf_arg(cf, 2)));
        }
        plcf->bind->src.transparent = true;
    }
    if (memchr(addr->data, '$', addr->len)) {
        plcf->bind->cv = ptc_http_complex_value_compile(cf, addr);
        return plcf->bind->cv ? NULL : PTC_CONF_ERROR;
    }
    if (ptc_proxy_parse_bind(addr, &plcf->bind->src) != PTC_OK) {
        return ptc_conf_error(cf, "invalid address \"" PTC_STR_FMT "\"", PTC_STR_ARG(*addr));
    }
    return NULL;
}

static const char *
proxy_buffers(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    const ptc_str_t *n = ptc_conf_arg(cf, 1);
    if (plcf->bufs_num != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    int64_t num = ptc_atoi(n->data, n->len), size = ptc_parse_size(ptc_conf_arg(cf, 2));
    if (num < 1 || size < 1) {
        return "invalid value";
    }
    plcf->bufs_num = num;
    plcf->bufs_size = (size_t)size;
    return NULL;
}

static const char *
proxy_redirect(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    const ptc_str_t *a1 = ptc_conf_arg(cf, 1);
    if (ptc_conf_nargs(cf) == 2) {
        if (ptc_str_eq_c(a1, "off")) {
            plcf->redirect_default = 0;
            plcf->redirects = NULL;
            return NULL;
        }
        if (ptc_str_eq_c(a1, "default")) {
            plcf->redirect_default = 1;
            return NULL;
        }
        return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a1));
    }
    if (plcf->redirects == PTC_CONF_UNSET_PTR || plcf->redirects == NULL) {
        plcf->redirects = ptc_array_create(cf->pool, 2, sizeof(proxy_redirect_t));
        if (plcf->redirects == NULL) {
            return "out of memory";
        }
    }
    if (plcf->redirect_default == PTC_CONF_UNSET) {
        plcf->redirect_default = 0; /* explicit pairs replace the default */
    }
    proxy_redirect_t *pr = ptc_array_push(plcf->redirects);
    if (pr == NULL) {
        return "out of memory";
    }
    pr->from = ptc_http_complex_value_compile(cf, a1);
    pr->to = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 2));
    return pr->from && pr->to ? NULL : PTC_CONF_ERROR;
}

static const char *
proxy_method(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    /* proxy_method and proxy_set_body: one complex value */
    ptc_http_complex_value_t **slot = (void *)((char *)conf + d->offset);
    if (*slot != PTC_CONF_UNSET_PTR) {
        return "is duplicate";
    }
    *slot = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 1));
    return *slot ? NULL : PTC_CONF_ERROR;
}

static const char *
proxy_ignored(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    return NULL;
}
