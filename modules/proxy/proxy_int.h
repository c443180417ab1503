/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to the proxy module: its conf and per-request state. */
#ifndef PTC_MODULES_PROXY_INT_H
#define PTC_MODULES_PROXY_INT_H

#include "core/ptc_conn.h"
#include "core/ptc_regex.h"
#include "modules/http/http_core.h"
#include "modules/upstream/upstream_group.h"

/* proxy_next_upstream conditions (bitmask) */
enum {
    PROXY_FT_ERROR = 0x0001,
    PROXY_FT_TIMEOUT = 0x0002,
    PROXY_FT_INVALID_HEADER = 0x0004,
    PROXY_FT_HTTP_500 = 0x0008,
    PROXY_FT_HTTP_502 = 0x0010,
    PROXY_FT_HTTP_503 = 0x0020,
    PROXY_FT_HTTP_504 = 0x0040,
    PROXY_FT_HTTP_403 = 0x0080,
    PROXY_FT_HTTP_404 = 0x0100,
    PROXY_FT_HTTP_429 = 0x0200,
    PROXY_FT_NON_IDEMPOTENT = 0x0400,
    PROXY_FT_OFF = 0x0800,
};

/* proxy_ignore_headers (bitmask); the cache-related ones are accepted only */
enum {
    PROXY_IGN_XA_REDIRECT = 0x0001,
    PROXY_IGN_XA_EXPIRES = 0x0002,
    PROXY_IGN_XA_LIMIT_RATE = 0x0004,
    PROXY_IGN_XA_BUFFERING = 0x0008,
    PROXY_IGN_XA_CHARSET = 0x0010,
    PROXY_IGN_EXPIRES = 0x0020,
    PROXY_IGN_CACHE_CONTROL = 0x0040,
    PROXY_IGN_SET_COOKIE = 0x0080,
    PROXY_IGN_VARY = 0x0100,
};

typedef struct {
    ptc_str_t name;
    ptc_http_complex_value_t *value;
} proxy_header_t;

/* proxy_cookie_domain / proxy_cookie_path: one rule */
typedef struct {
    ptc_regex_t *re;                /* "~" forms, else NULL */
    ptc_http_complex_value_t *from; /* plain forms (a domain without its dot) */
    ptc_http_complex_value_t *to;
} proxy_cookie_rule_t;

enum { PROXY_CF_SECURE = 0x1, PROXY_CF_HTTPONLY = 0x2, PROXY_CF_SAMESITE = 0x4 };

/* proxy_cookie_flags: the cookie (name or regex) and what to add/remove */
typedef struct {
    ptc_regex_t *re;
    ptc_http_complex_value_t *name;
    unsigned set, clear; /* PROXY_CF_* */
    ptc_str_t samesite;  /* the samesite= value to set */
} proxy_cookie_flags_t;

/* proxy_bind: a literal address parsed at config time, or a value with
 * variables parsed per request (empty: no bind) */
typedef struct {
    ptc_conn_source_t src;
    ptc_http_complex_value_t *cv;
} proxy_bind_t;

typedef struct {
    ptc_http_complex_value_t *from; /* NULL: "default" entry resolved at merge */
    ptc_http_complex_value_t *to;
} proxy_redirect_t;

/* A client TLS context built from one set of proxy_ssl_* settings, shared
 * by the locations with identical ones, with its per-worker saved sessions
 * (proxy_ssl.c). */
typedef struct proxy_ssl_s proxy_ssl_t;

/* The proxy_ssl_* directives of one level (UNSET until merged). */
typedef struct {
    int verify;
    int64_t verify_depth;
    int server_name;
    int session_reuse;
    unsigned protocols;
    ptc_str_t trusted_certificate; /* absolute paths, or empty */
    ptc_str_t crl;
    ptc_str_t certificate;
    ptc_str_t certificate_key;
    ptc_str_t ciphers;
    ptc_array_t *passwords;         /* ptc_str_t (proxy_ssl_password_file) */
    ptc_array_t *conf_commands;     /* ptc_str_t name, value pairs */
    ptc_http_complex_value_t *name; /* proxy_ssl_name; NULL: $proxy_host */
} proxy_ssl_conf_t;

typedef struct {
    /* proxy_pass */
    ptc_upstream_group_t *group;      /* fixed target, NULL with variables */
    ptc_http_complex_value_t *url_cv; /* proxy_pass with variables */
    ptc_str_t url;                    /* as written */
    ptc_str_t host;                   /* $proxy_host: "host:port" or the group name */
    ptc_str_t port;                   /* $proxy_port */
    ptc_str_t uri;                    /* URI part of proxy_pass, if any */
    bool has_uri;
    ptc_str_t location; /* the location prefix the URI part replaces */
    int location_type;

    ptc_array_t *set_headers;  /* proxy_header_t; UNSET_PTR when not set here */
    ptc_array_t *send_headers; /* defaults + set_headers, where proxy_pass is */
    ptc_array_t *hide_headers; /* ptc_str_t */
    ptc_array_t *pass_headers; /* ptc_str_t */
    ptc_array_t *redirects;    /* proxy_redirect_t; NULL: off */
    int redirect_default;      /* -1 unset, 1 default, 0 off/explicit */

    int64_t http_version; /* 1000 or 1001 */
    ptc_msec_t connect_timeout;
    ptc_msec_t send_timeout;
    ptc_msec_t read_timeout;
    ptc_msec_t next_upstream_timeout;
    int64_t next_upstream_tries;
    unsigned next_upstream; /* PROXY_FT_* */
    int buffering;
    int request_buffering;
    size_t buffer_size; /* response head buffer */
    int64_t bufs_num;   /* proxy_buffers N SIZE */
    size_t bufs_size;
    size_t busy_buffers_size;
    int intercept_errors;
    int pass_request_headers;
    int pass_request_body;
    int ignore_client_abort;
    int ignore_headers;          /* PROXY_IGN_* */
    ptc_array_t *cookie_domains; /* proxy_cookie_rule_t; NULL: off */
    ptc_array_t *cookie_paths;   /* proxy_cookie_rule_t; NULL: off */
    ptc_array_t *cookie_flags;   /* proxy_cookie_flags_t; NULL: off */
    proxy_bind_t *bind;          /* NULL: off */
    size_t limit_rate;           /* proxy_limit_rate, bytes/s; 0: none */
    int force_ranges;
    ptc_http_complex_value_t *method;
    ptc_http_complex_value_t *set_body; /* proxy_set_body, NULL: the client's */
    int proxy_protocol;                 /* 0 off, 1 v1, 2 v2 (Portico: PROXY header to origins) */
    ptc_str_t temp_path;                /* where responses spool for slow clients */
    size_t max_temp_file_size;          /* 0: never spool */
    bool set;                           /* proxy_pass given at this level */
    bool https;                         /* proxy_pass https:// */
    const char *file;                   /* where proxy_pass was written */
    unsigned line;
    proxy_ssl_conf_t ssl;
    proxy_ssl_t *ssl_ctx; /* https:// or variables: the client context, else NULL */
} proxy_loc_conf_t;

extern ptc_module_t ptc_proxy_module;

/* proxy_run.c */
void ptc_proxy_handler(ptc_http_request_t *r);
int ptc_proxy_variables(ptc_conf_t *cf);
/* The client's read events while a request is proxied: a client that
 * closed its side (EOF or an error, never just readable pipelined bytes)
 * ends the request with 499 and closes the upstream connection, unless
 * proxy_ignore_client_abort is on. Used as r->read_event_handler. */
void ptc_proxy_client_event(ptc_http_request_t *r);

/* The host part of a proxy_ssl_name value: no port, no brackets
 * ("[::1]:443" -> "::1", "origin:8443" -> "origin"); an address with
 * several colons and no brackets is left whole. Points into name. */
void ptc_proxy_ssl_host_part(const ptc_str_t *name, ptc_str_t *host);

/* proxy.c: parse a proxy_bind address ("ADDR", "ADDR:PORT", "[v6]:PORT",
 * "v6"). PTC_OK or PTC_ERROR. */
int ptc_proxy_parse_bind(const ptc_str_t *text, ptc_conn_source_t *src);

/* proxy_cookie.c, at config time: proxy_cookie_domain/path (by offset)
 * and proxy_cookie_flags */
const char *ptc_proxy_cookie_rule(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
const char *ptc_proxy_cookie_flags(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

/* proxy_ssl.c, at config time: setters of the proxy_ssl_* directives
 * whose values need more than the generic ones (protocol names, a password
 * file read now, name/value pairs, a complex value); file names use
 * ptc_conf_set_conf_file */
const char *ptc_proxy_ssl_set_protocols(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
const char *ptc_proxy_ssl_set_password_file(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
const char *ptc_proxy_ssl_set_conf_command(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
const char *ptc_proxy_ssl_set_name(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
/* Once per process, before any context is built. PTC_OK or PTC_ERROR. */
int ptc_proxy_ssl_init(ptc_conf_t *cf);
/* Set the UNSET sentinels of a fresh conf. */
void ptc_proxy_ssl_create_conf(proxy_ssl_conf_t *conf);
/* Inherit and default the settings; for a location whose proxy_pass may
 * speak TLS, find or build its context (plcf->ssl_ctx), shared with the
 * earlier locations of identical settings (`shared`, an array of
 * proxy_ssl_t *, owned by the proxy main conf). NULL, or an error message
 * (PTC_CONF_ERROR when already reported with file:line). */
const char *ptc_proxy_ssl_merge(ptc_conf_t *cf, proxy_loc_conf_t *prev, proxy_loc_conf_t *conf,
                                ptc_array_t *shared);

#endif
