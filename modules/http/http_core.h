/* SPDX-License-Identifier: BSD-2-Clause */
/* Confs of the HTTP core module (http/server/location levels). Other
 * modules read these (root, types, limits); only the engine writes them. */
#ifndef PTC_MODULES_HTTP_CORE_H
#define PTC_MODULES_HTTP_CORE_H

#include <sys/socket.h>

#include "core/ptc_regex.h"
#include "modules/http/http.h"

typedef struct ptc_http_core_loc_conf_s ptc_http_core_loc_conf_t;
typedef struct ptc_http_core_srv_conf_s ptc_http_core_srv_conf_t;

typedef struct {
    ptc_array_t servers;                 /* ptc_http_core_srv_conf_t * */
    ptc_array_t listens;                 /* ptc_http_listen_opt_t, every listen directive */
    ptc_array_t phases[PTC_HTTP_PHASES]; /* ptc_http_phase_fn */
    ptc_array_t variables;               /* registered ptc_http_variable_t */
    ptc_array_t prefix_variables;
    size_t ncaptures;
    int64_t variables_hash_max_size;
    int64_t server_names_hash_max_size;
    /* built at the end of the http block, installed by each worker */
    void *phase_engine; /* ptc_http_phase_handler_t[] (engine-private) */
    size_t phase_engine_n;
    int server_rewrite_index; /* where internal redirects re-enter the engine */
    int find_config_index;    /* where a changed URI searches its location again */
    ptc_http_header_filter_fn top_header_filter;
    ptc_http_body_filter_fn top_body_filter;
    ptc_array_t *transform_tests; /* ptc_http_transform_test_fn; NULL when none */
} ptc_http_core_main_conf_t;

typedef struct {
    ptc_str_t name;
    ptc_regex_t *regex; /* ~name */
    bool wildcard_head; /* "*.example.com" or ".example.com": match by suffix */
    bool wildcard_tail; /* "example.*": match by prefix */
    bool dot_form;      /* ".example.com" also matches "example.com" */
    ptc_http_core_srv_conf_t *server;
} ptc_http_server_name_t;

struct ptc_http_core_srv_conf_s {
    ptc_array_t server_names; /* ptc_http_server_name_t */
    ptc_conf_ctx_t *ctx;      /* the server's main/srv/loc conf arrays */
    ptc_str_t server_name;    /* the first name, for $server_name */
    const char *file;
    unsigned line;
    size_t client_header_buffer_size;
    size_t large_header_buf_size;
    int64_t large_header_bufs;
    ptc_msec_t client_header_timeout;
    int underscores_in_headers;
    int ignore_invalid_headers;
    int merge_slashes;
    bool listen; /* has a listen directive */
};

/* One `listen` directive. */
typedef struct {
    struct sockaddr_storage sockaddr;
    socklen_t socklen;
    ptc_http_core_srv_conf_t *server;
    int backlog;
    int rcvbuf, sndbuf;
    unsigned default_server : 1;
    unsigned reuseport : 1;
    unsigned ssl : 1;
    unsigned proxy_protocol : 1;
    unsigned wildcard : 1;
    unsigned bind : 1;
    unsigned so_keepalive : 1;
    const char *file;
    unsigned line;
} ptc_http_listen_opt_t;

enum {
    PTC_HTTP_LOC_PREFIX = 0,
    PTC_HTTP_LOC_EXACT,   /* = */
    PTC_HTTP_LOC_NOREGEX, /* ^~ */
    PTC_HTTP_LOC_REGEX,   /* ~ and ~* */
    PTC_HTTP_LOC_NAMED,   /* @name */
};

typedef struct {
    unsigned status; /* 0 for the final entry */
    int overwrite;   /* -1: keep; 0: "=" (use the redirect's status); >0: "=NNN" */
    ptc_http_complex_value_t *uri;
} ptc_http_error_page_t;

typedef struct {
    ptc_str_t exten;
    ptc_str_t type;
} ptc_http_type_t;

/* A size that may hold variables (`limit_rate $rate;`): `cv` is NULL when
 * the value is the constant `n` (PTC_CONF_UNSET_SIZE while unset). */
typedef struct {
    ptc_http_complex_value_t *cv;
    size_t n;
} ptc_http_size_value_t;

struct ptc_http_core_loc_conf_s {
    ptc_str_t name;
    int type;
    ptc_regex_t *regex;
    void **loc_conf;              /* all modules' loc confs of this location */
    ptc_array_t *locations;       /* nested: ptc_http_core_loc_conf_t * (sorted at postconfig) */
    ptc_array_t *regex_locations; /* nested regex locations in file order */
    ptc_array_t *named;           /* server level only: @name locations */
    ptc_array_t *if_blocks;       /* `if` and `limit_except` blocks inside this location
                                     (merged under it) */
    ptc_http_core_loc_conf_t *parent;
    bool noname; /* an `if` block: never searched, entered by its condition */
    bool internal;
    bool auto_redirect; /* "/a" is redirected to this "/a/" location (proxy_pass) */
    /* limit_except: the methods it lists (bits of the engine's method table)
     * and the confs that serve every other method; NULL when none */
    unsigned limit_except_allow;
    ptc_http_core_loc_conf_t *limit_except;

    ptc_str_t root; /* root or alias path (may contain variables) */
    ptc_http_complex_value_t *root_cv;
    ptc_str_t root_prefix; /* for a root_cv that evaluates to a relative path */
    bool alias;
    ptc_array_t *index;       /* ptc_http_complex_value_t *; UNSET_PTR when unset */
    ptc_array_t *error_pages; /* ptc_http_error_page_t; UNSET_PTR when unset */
    ptc_array_t *types;       /* ptc_http_type_t; UNSET_PTR when unset */
    ptc_str_t default_type;
    size_t client_max_body_size;
    size_t client_body_buffer_size;
    ptc_msec_t client_body_timeout;
    ptc_str_t client_body_temp_path;
    int client_body_in_file_only;
    ptc_msec_t send_timeout;
    ptc_msec_t keepalive_timeout;
    int64_t keepalive_requests;
    ptc_msec_t keepalive_time;
    ptc_msec_t lingering_timeout;
    ptc_msec_t lingering_time;
    int lingering_close; /* 0 off, 1 on, 2 always */
    int server_tokens;
    int sendfile;
    int tcp_nopush;
    int tcp_nodelay;
    size_t sendfile_max_chunk;
    ptc_http_size_value_t limit_rate;       /* bytes per second, 0: no limit */
    ptc_http_size_value_t limit_rate_after; /* bytes sent before the limit starts */
    bool resolver;                          /* a `resolver` line here (checked, not used) */
    ptc_msec_t resolver_timeout;
    int absolute_redirect;
    int port_in_redirect;
    int server_name_in_redirect;
    int if_modified_since; /* 0 off, 1 exact, 2 before */
    int64_t max_ranges;
    int log_not_found;
    int msie_padding;
    int recursive_error_pages;
    int chunked_transfer_encoding;
    ptc_log_t *error_log;
    ptc_http_handler_fn handler; /* content handler set by a module for this location */
    const char *file;
    unsigned line;
};

/* Find the location for r->uri in r's server and set r->loc_conf
 * (captures of a regex location are stored). PTC_OK, PTC_DECLINED when
 * no location matched (r->loc_conf is then the server-level one), or
 * PTC_DONE when the URI must be redirected to the same URI plus '/'. */
int ptc_http_find_location(ptc_http_request_t *r);
/* Content type for r->exten from the location's types, or default_type. */
void ptc_http_set_content_type(ptc_http_request_t *r);
/* Map r->uri to a filesystem path under root/alias; `reserve` extra bytes
 * are allocated after it (for index names). Returns a NUL-terminated path
 * in *path (len excludes the NUL). PTC_OK or PTC_ERROR (also, logged, for a
 * prefix alias after `rewrite ... break`, as nginx refuses it). */
int ptc_http_map_uri_to_path(ptc_http_request_t *r, ptc_str_t *path, size_t reserve);
/* Build an absolute Location for a redirect to `uri` following
 * absolute_redirect/port_in_redirect/server_name_in_redirect. */
int ptc_http_redirect_location(ptc_http_request_t *r, const ptc_str_t *uri, ptc_str_t *out);
/* The value of a size with variables for r; an invalid one is logged and
 * gives 0. */
size_t ptc_http_size_value(ptc_http_request_t *r, const ptc_http_size_value_t *v);
/* The core loc conf of r. */
#define ptc_http_core_loc(r)                                                                       \
    ((ptc_http_core_loc_conf_t *)ptc_http_get_loc_conf(r, ptc_http_core_module))
#define ptc_http_core_srv(r)                                                                       \
    ((ptc_http_core_srv_conf_t *)ptc_http_get_srv_conf(r, ptc_http_core_module))

#endif
