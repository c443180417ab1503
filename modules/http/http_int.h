/* SPDX-License-Identifier: BSD-2-Clause */
/* Engine-private declarations shared by the files of modules/http.
 * No other module may include this header. */
#ifndef PTC_MODULES_HTTP_INT_H
#define PTC_MODULES_HTTP_INT_H

#include "modules/http/http.h"
#include "modules/http/http_core.h"

/* Servers reachable through one listening address. */
typedef struct {
    struct sockaddr_storage sockaddr;
    socklen_t socklen;
    ptc_http_core_srv_conf_t *default_server;
    ptc_array_t names; /* ptc_http_server_name_t, exact first then wildcard then regex order */
    bool has_wildcard_names;
    bool has_regex_names;
    bool proxy_protocol; /* connections start with a PROXY protocol header */
    bool ssl;            /* listen ... ssl */
} ptc_http_addr_conf_t;

/* Hung on ptc_listen_t->servers. */
typedef struct {
    ptc_http_addr_conf_t *addrs;
    size_t naddrs; /* > 1 only on a wildcard socket shared with specific addresses */
} ptc_http_port_t;

/* Per-connection engine state (c->data while no request is active, and
 * r->http_conn). */
typedef struct {
    ptc_conn_t *c;
    ptc_http_addr_conf_t *addr_conf;
    ptc_http_request_t *request;
    u_char *buf_mem;     /* heap memory of the client header buffer (freed when idle) */
    ptc_buf_t buf;       /* the client header buffer (client_header_buffer_size) */
    unsigned large_used; /* large header buffers taken by the current request */
    unsigned keepalive_requests;
    struct sockaddr_storage *pp_src; /* PROXY protocol: the announced client, or NULL */
    socklen_t pp_src_len;
    ptc_str_t pp_addr;            /* $proxy_protocol_addr */
    bool pp_done;                 /* the PROXY header was read */
    bool plain_on_ssl;            /* plain HTTP arrived on a TLS address: answer 497 */
    bool pipelined;               /* the next request's bytes came with the previous one */
    ptc_msec_t lingering_until;   /* lingering close: give up reading at this time */
    ptc_msec_t lingering_timeout; /* ... or after this long without data */
} ptc_http_conn_t;

extern ptc_http_header_filter_fn ptc_http_top_header_filter;
extern ptc_http_body_filter_fn ptc_http_top_body_filter;

/* http.c */
int ptc_http_build_listeners(ptc_conf_t *cf, ptc_http_core_main_conf_t *cmcf);
int ptc_http_merge_servers(ptc_conf_t *cf, ptc_conf_ctx_t *http_ctx);
int ptc_http_init_phases(ptc_conf_t *cf, ptc_http_core_main_conf_t *cmcf);
ptc_http_core_main_conf_t *ptc_http_cmcf(void);
bool ptc_http_sockaddr_is_wildcard(const struct sockaddr_storage *sa);
/* Number of HTTP modules (the size of per-request ctx arrays), counted once. */
size_t ptc_http_modules_n(void);

/* http_request.c */
void ptc_http_init_connection(ptc_conn_t *c);
void ptc_http_close_request(ptc_http_request_t *r, bool error);
void ptc_http_request_done(ptc_http_request_t *r);
void ptc_http_block_reading(ptc_http_request_t *r);

/* http_core.c */
/* The confs of an `if` block in the current server or location block: an
 * anonymous location named as the enclosing one (core_merge_loc gives it
 * that location's content handler when it has none). At location level it
 * is merged under the location like a nested one; at server level it is not
 * used beyond its rewrite directives. NULL on failure. */
ptc_conf_ctx_t *ptc_http_core_if_block(ptc_conf_t *cf);
/* Once r's location is chosen: when it has a limit_except block that does
 * not list r's method, r is served with that block's confs from now on. */
void ptc_http_core_limit_except(ptc_http_request_t *r);

/* http_location.c */
ptc_http_core_srv_conf_t *ptc_http_find_server(ptc_http_addr_conf_t *ac, const ptc_str_t *host,
                                               ptc_http_request_t *r);
int ptc_http_init_locations(ptc_conf_t *cf, ptc_http_core_loc_conf_t *clcf);

/* http_special.c: the engine's own phase handlers */
extern ptc_http_phase_fn ptc_http_content_first;
extern ptc_http_phase_fn ptc_http_content_last;
int ptc_http_engine_phases(ptc_conf_t *cf);
/* index of the find-config handler in the engine table */
int ptc_http_find_config_index(void);
/* index of the first server-rewrite handler (internal redirects start there) */
int ptc_http_server_rewrite_index(void);

/* http_variables.c */
size_t ptc_http_variables_count(void);
int ptc_http_variables_preconfig(ptc_conf_t *cf);
int ptc_http_variables_init(ptc_conf_t *cf);
int ptc_http_variables_request_init(ptc_http_request_t *r);

/* http_output.c */
int ptc_http_output_postconfig(ptc_conf_t *cf);
void ptc_http_writer(ptc_http_request_t *r);
int ptc_http_write_filter(ptc_http_request_t *r, ptc_chain_t *in);

/* the phase engine's handler table (built at postconfig) */
typedef struct {
    ptc_http_phase_fn handler;
    int phase;
    int next; /* index of the first handler of the next phase */
} ptc_http_phase_handler_t;

extern ptc_http_phase_handler_t *ptc_http_phase_engine;
extern size_t ptc_http_phase_engine_n;

#endif
