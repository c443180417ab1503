/* SPDX-License-Identifier: BSD-2-Clause */
/* The HTTP engine's public API for modules: the request object, phases,
 * header/body filter chains, variables and complex values, and the conf
 * accessors. Modules use only this header (and http_core.h for the core
 * confs) to talk to the engine. */
#ifndef PTC_MODULES_HTTP_H
#define PTC_MODULES_HTTP_H

#include "core/ptc_array.h"
#include "core/ptc_buf.h"
#include "core/ptc_conf.h"
#include "core/ptc_conn.h"
#include "core/ptc_module.h"
#include "core/ptc_str.h"
#include "core/ptc_types.h"
#include "modules/http/http_parse.h"

typedef struct ptc_http_request_s ptc_http_request_t;

typedef struct {
    ptc_str_t name;
    ptc_str_t value;
    uint32_t hash; /* ptc_hash_key_lc(name); 0 marks a deleted header */
} ptc_http_header_t;

typedef struct {
    ptc_array_t list; /* ptc_http_header_t, in arrival order */
    ptc_http_header_t *host;
    ptc_http_header_t *connection;
    ptc_http_header_t *if_modified_since;
    ptc_http_header_t *if_unmodified_since;
    ptc_http_header_t *if_none_match;
    ptc_http_header_t *if_match;
    ptc_http_header_t *if_range;
    ptc_http_header_t *user_agent;
    ptc_http_header_t *referer;
    ptc_http_header_t *content_length;
    ptc_http_header_t *content_type;
    ptc_http_header_t *range;
    ptc_http_header_t *transfer_encoding;
    ptc_http_header_t *expect;
    ptc_http_header_t *upgrade;
    ptc_http_header_t *authorization;
    ptc_str_t server;       /* Host (or absolute-URI host) lowercased, without port */
    off_t content_length_n; /* -1 when absent */
    unsigned chunked : 1;
    unsigned connection_close : 1;
    unsigned connection_keep_alive : 1;
} ptc_http_headers_in_t;

typedef struct {
    ptc_array_t list; /* extra headers to send, ptc_http_header_t */
    unsigned status;
    ptc_str_t status_line; /* overrides the standard one when set */
    ptc_str_t content_type;
    ptc_str_t charset;
    off_t content_length_n;    /* -1: unknown (chunked or close-delimited) */
    time_t last_modified_time; /* -1: none */
    ptc_str_t etag;
    ptc_str_t location;
    ptc_str_t content_range;
    ptc_str_t server;      /* replaces Portico's own Server line when set (proxy_pass_header) */
    ptc_str_t date;        /* likewise for Date */
    ptc_array_t *trailers; /* ptc_http_header_t sent after the last chunk; NULL: none */
    unsigned accept_ranges : 1;
} ptc_http_headers_out_t;

typedef struct {
    ptc_chain_t *bufs; /* the body: memory buffers and/or one temp file */
    off_t received;    /* bytes of body received so far (decoded) */
    off_t rest;        /* bytes still expected (Content-Length) or -1 chunked */
    int temp_fd;       /* spill file, -1 if none */
    ptc_str_t temp_path;
    ptc_buf_t *buf; /* current memory buffer */
    ptc_http_chunked_t chunked;
    void (*post_handler)(ptc_http_request_t *r);
    unsigned done : 1;
} ptc_http_request_body_t;

typedef void (*ptc_http_handler_fn)(ptc_http_request_t *r);

struct ptc_http_request_s {
    ptc_conn_t *c;
    ptc_pool_t *pool;
    void *http_conn; /* engine-private connection state */
    void **main_conf;
    void **srv_conf;
    void **loc_conf;
    void **ctx; /* per-module request state, by ctx_index */
    ptc_http_parse_t parse;
    ptc_buf_t *header_in;      /* buffer holding the end of the request head */
    u_char *header_line_start; /* start of the header line being parsed */

    ptc_str_t request_line;
    ptc_str_t method_name;
    int method;
    unsigned http_version;   /* 1000 or 1001 */
    ptc_str_t http_protocol; /* "HTTP/1.1" */
    ptc_str_t unparsed_uri;  /* request target as sent ($request_uri) */
    ptc_str_t uri;           /* normalised path ($uri) */
    ptc_str_t args;          /* query string without '?' ($args) */
    ptc_str_t exten;         /* extension of uri, for types */
    ptc_str_t schema;        /* absolute-form scheme, else empty */

    ptc_http_headers_in_t headers_in;
    ptc_http_headers_out_t headers_out;
    ptc_http_request_body_t *request_body;

    ptc_http_handler_fn content_handler;
    ptc_http_handler_fn read_event_handler;
    ptc_http_handler_fn write_event_handler;
    ptc_http_handler_fn resume_handler; /* called when pending output drained (not at end) */
    int phase_handler;                  /* index into the engine's phase table */

    void *variables;            /* cached variable values, by index */
    int *captures;              /* last regex match: offsets pairs */
    const void *captures_regex; /* the regex of the last match (named groups) */
    unsigned ncaptures;         /* pairs */
    const u_char *captures_data;

    ptc_chain_t *out;        /* output not yet written */
    ptc_chain_t *free_links; /* spare chain links of this request */
    off_t header_size;       /* bytes of status line + headers sent */
    off_t head_length;       /* bytes of request line + headers received ($request_length) */
    u_char *head_mark;       /* where the uncounted part of the head starts */
    off_t sent_start;        /* c->sent when this request started */
    size_t limit_rate;       /* response bytes per second, 0: no limit ($limit_rate) */
    off_t limit_rate_after;  /* bytes of the response sent before the limit applies */
    ptc_msec_t start_msec;
    time_t start_sec;
    unsigned start_msec_part;
    unsigned uri_changes;    /* internal redirects left */
    unsigned err_status;     /* error_page: status the final response carries (0: its own) */
    unsigned discard_status; /* why discarding the body failed (400 bad framing, 413) */
    unsigned count;          /* references held (body reading, subrequest-free design: 1) */
    unsigned buffered;       /* PTC_HTTP_*_BUFFERED: body filters holding input */

    unsigned keepalive : 1;
    unsigned header_only : 1; /* HEAD, 204, 304: no body is sent */
    unsigned header_sent : 1;
    unsigned internal : 1;
    unsigned error_page : 1; /* an error_page redirect already happened */
    unsigned discard_body : 1;
    unsigned reading_body : 1;
    unsigned expect_tested : 1;
    unsigned lingering_close : 1;
    unsigned done : 1;      /* response completely handed to the write filter */
    unsigned pipelined : 1; /* read from bytes that came with the previous request ($pipe) */
    unsigned finalized : 1;
    unsigned logged : 1;
    unsigned chunked_out : 1; /* response body uses chunked coding */
    unsigned allow_ranges : 1;
    unsigned valid_location : 1;       /* r->uri still starts with the location's name (not
                                          after `rewrite ... break`) */
    unsigned uri_changed : 1;          /* a rewrite changed the URI: search the location again */
    unsigned unparsed_uri_changed : 1; /* uri or args no longer match unparsed_uri */
    unsigned close_after : 1;          /* framing in doubt: close after the response */
    unsigned limit_rate_set : 1;       /* limit_rate is final (first write, or set $limit_rate) */
    unsigned limit_rate_after_set : 1;
    unsigned limit_delayed : 1;   /* the write timer is limit_rate's pause, not send_timeout */
    unsigned stat_reading : 1;    /* counted in ptc_stats->reading (engine) */
    unsigned stat_writing : 1;    /* counted in ptc_stats->writing (engine) */
    unsigned expect_trailers : 1; /* add_trailer applies: fill headers_out.trailers at
                                     the end of a chunked body */
    /* outcome of limit_req / limit_conn (0: not applied yet); kept across
     * internal redirects, so a request is limited once */
    unsigned limit_req_status : 3;
    unsigned limit_conn_status : 2;
};

/* ---- phases ---- */
enum {
    PTC_HTTP_POST_READ_PHASE = 0,
    PTC_HTTP_SERVER_REWRITE_PHASE,
    PTC_HTTP_FIND_CONFIG_PHASE,
    PTC_HTTP_REWRITE_PHASE,
    PTC_HTTP_POST_REWRITE_PHASE,
    PTC_HTTP_PREACCESS_PHASE, /* before access checks: limit_req, limit_conn, realip */
    PTC_HTTP_ACCESS_PHASE,
    PTC_HTTP_CONTENT_PHASE,
    PTC_HTTP_LOG_PHASE,
    PTC_HTTP_PHASES
};

/* A phase handler returns PTC_DECLINED (go on), PTC_OK (this phase is
 * done, go to the next phase), PTC_DONE (the request was finalized or is
 * suspended; stop running phases) or PTC_AGAIN (same as DONE: the handler
 * will resume the request itself with ptc_http_run_phases). Statuses are
 * sent with ptc_http_finalize_status(). In the POST_REWRITE phase PTC_OK
 * goes back to the location search instead (the URI was rewritten). */
typedef int (*ptc_http_phase_fn)(ptc_http_request_t *r);

/* Register a handler for a phase (in postconfig). */
int ptc_http_add_phase_handler(ptc_conf_t *cf, int phase, ptc_http_phase_fn fn);
/* (Re)start the phase engine from r->phase_handler. */
void ptc_http_run_phases(ptc_http_request_t *r);

/* ---- filters ---- */
typedef int (*ptc_http_header_filter_fn)(ptc_http_request_t *r);
typedef int (*ptc_http_body_filter_fn)(ptc_http_request_t *r, ptc_chain_t *in);
extern ptc_http_header_filter_fn ptc_http_top_header_filter;
extern ptc_http_body_filter_fn ptc_http_top_body_filter;

/* r->buffered bits. A body filter that keeps input it cannot pass on yet
 * (its output waits for the client) sets its bit; while any is set, the
 * writer runs the whole body filter chain with no input when the socket
 * drains, so the filter can go on. It may hold input only while some of
 * its output is queued unsent (else no drain event would come). */
#define PTC_HTTP_SUB_BUFFERED 0x01

/* Run the header filters: PTC_OK, PTC_ERROR, or PTC_DONE for header_only. */
int ptc_http_send_header(ptc_http_request_t *r);
/* Run the body filters over `in` (a buf with last_buf ends the response):
 * PTC_OK (all written), PTC_AGAIN (some queued; the engine finishes the
 * write), PTC_ERROR. */
int ptc_http_output_filter(ptc_http_request_t *r, ptc_chain_t *in);

/* Try to write output queued by earlier filter calls: PTC_OK (all out),
 * PTC_AGAIN (the rest waits for the socket), PTC_ERROR. */
int ptc_http_output_flush(ptc_http_request_t *r);

/* ---- body transformation ---- */
/* Tells whether a body filter will change the bytes of r's response, from
 * its headers_out as set so far (content type, encoding). */
typedef bool (*ptc_http_transform_test_fn)(ptc_http_request_t *r);
/* Register a test (in postconfig). PTC_OK or PTC_ERROR. */
int ptc_http_add_transform_test(ptc_conf_t *cf, ptc_http_transform_test_fn fn);
/* True when a registered body filter will transform r's response body. A
 * handler then serves the whole representation rather than a byte range
 * of it (the range would not describe the bytes sent), as nginx does. */
bool ptc_http_body_transformed(ptc_http_request_t *r);

/* ---- finishing ---- */
/* End the request: rc is PTC_OK/PTC_DONE (response sent or in progress),
 * PTC_ERROR (close the connection), PTC_AGAIN (output pending). */
void ptc_http_finalize(ptc_http_request_t *r, int rc);
/* Answer with `status`: applies error_page, else sends the standard page
 * (or nothing for 444: close). Then finalizes. */
void ptc_http_finalize_status(ptc_http_request_t *r, unsigned status);
/* Send a complete in-memory response (status, content type, body) and
 * finalize. Body may be empty. */
void ptc_http_send_response(ptc_http_request_t *r, unsigned status, const ptc_str_t *ctype,
                            const ptc_str_t *body);
/* Jump to another location by URI (error_page, index) or named location
 * ("@name"); args may be NULL. Runs the phases again. */
void ptc_http_internal_redirect(ptc_http_request_t *r, const ptc_str_t *uri, const ptc_str_t *args);
void ptc_http_named_location(ptc_http_request_t *r, const ptc_str_t *name);

/* ---- request body ---- */
/* Read the whole body (memory up to client_body_buffer_size, then a temp
 * file), then call post_handler. Returns PTC_OK if the body was already
 * complete (post_handler was called), PTC_AGAIN if reading continues,
 * PTC_DONE if the request was finalized with an error (413, 400, 408). */
int ptc_http_read_request_body(ptc_http_request_t *r, ptc_http_handler_fn post_handler);
/* Send "100 Continue" when the client asked for it and has not started its
 * body yet (for modules that read the body themselves). */
void ptc_http_send_continue(ptc_http_request_t *r);
/* Read and drop the body so the connection can be kept alive. */
int ptc_http_discard_request_body(ptc_http_request_t *r);

/* ---- headers ---- */
/* Append an output header (name and value are not copied). NULL on failure. */
ptc_http_header_t *ptc_http_add_header_out(ptc_http_request_t *r, const ptc_str_t *name,
                                           const ptc_str_t *value);
/* First request header named `name` (case-insensitive), NULL if none. */
ptc_http_header_t *ptc_http_find_header_in(ptc_http_request_t *r, const u_char *name, size_t len);

/* The client address a PROXY protocol header announced on this connection
 * (listen ... proxy_protocol), or NULL. */
const struct sockaddr *ptc_http_proxy_protocol_addr(ptc_http_request_t *r, socklen_t *len);

/* ---- TLS (the ssl module plugs in here) ---- */
/* Set by the ssl module at load time: start TLS on a connection accepted on
 * a `listen ... ssl` address, with the TLS settings of `srv_conf` (the
 * address's default server). It makes c a TLS connection and runs the
 * handshake, then calls ptc_http_ssl_handshaked(c) (at once or from the
 * events). PTC_OK or PTC_ERROR (the caller closes). NULL: no TLS in this
 * build. */
extern int (*ptc_http_ssl_start)(ptc_conn_t *c, void **srv_conf);
/* The handshake ended (c->ssl->handshaked tells how): go on reading the
 * first request, or close. */
void ptc_http_ssl_handshaked(ptc_conn_t *c);
/* During the handshake: the srv_conf array of the server named `name` on
 * this connection's address (exact, wildcard, regex names; else the
 * default server). */
void **ptc_http_conn_find_server(ptc_conn_t *c, const ptc_str_t *name);

/* ---- conf access ---- */
#define ptc_http_get_main_conf(r, m)  ((r)->main_conf[(m).ctx_index])
#define ptc_http_get_srv_conf(r, m)   ((r)->srv_conf[(m).ctx_index])
#define ptc_http_get_loc_conf(r, m)   ((r)->loc_conf[(m).ctx_index])
#define ptc_http_get_ctx(r, m)        ((r)->ctx[(m).ctx_index])
#define ptc_http_set_ctx(r, m, v)     ((r)->ctx[(m).ctx_index] = (v))
#define ptc_http_conf_get_main(cf, m) (((ptc_conf_ctx_t *)(cf)->ctx)->main_conf[(m).ctx_index])
#define ptc_http_conf_get_srv(cf, m)  (((ptc_conf_ctx_t *)(cf)->ctx)->srv_conf[(m).ctx_index])
#define ptc_http_conf_get_loc(cf, m)  (((ptc_conf_ctx_t *)(cf)->ctx)->loc_conf[(m).ctx_index])

/* ---- variables ---- */
typedef struct {
    ptc_str_t value;
    unsigned valid : 1;
    unsigned not_found : 1;
    unsigned no_cacheable : 1;
} ptc_http_variable_value_t;

/* Fill v (valid/not_found) for request r; `data` is the registration's
 * data (for prefix variables, a pointer to the full name). PTC_OK or
 * PTC_ERROR. */
typedef int (*ptc_http_variable_get_fn)(ptc_http_request_t *r, ptc_http_variable_value_t *v,
                                        uintptr_t data);

#define PTC_HTTP_VAR_PREFIX      0x1 /* name is a prefix: "http_", "arg_" */
#define PTC_HTTP_VAR_NOCACHEABLE 0x2 /* re-evaluated on every use */
#define PTC_HTTP_VAR_CHANGEABLE  0x4 /* `set` may assign it */
#define PTC_HTTP_VAR_WEAK        0x8 /* declare only: an existing getter is kept (`set`) */

typedef struct {
    const char *name;
    ptc_http_variable_get_fn get;
    uintptr_t data;
    unsigned flags;
} ptc_http_variable_def_t;

/* Register variables (at preconfig/config time). A NULL name ends defs. */
int ptc_http_add_variables(ptc_conf_t *cf, const ptc_http_variable_def_t *defs);
/* Register one variable; returns its index or -1 (reported). A name that
 * is already registered is "the duplicate" error unless the existing one is
 * PTC_HTTP_VAR_CHANGEABLE; then a WEAK registration keeps its getter and
 * any other replaces it. */
int ptc_http_add_variable(ptc_conf_t *cf, const ptc_str_t *name, ptc_http_variable_get_fn get,
                          uintptr_t data, unsigned flags);
/* Index for a variable name used in config ("host", "http_x_y"), resolving
 * prefixes; -1 with an error reported for an unknown name. Checked once all
 * modules registered theirs (postconfig), so forward references work. */
int ptc_http_variable_index(ptc_conf_t *cf, const ptc_str_t *name);
/* Value of an indexed variable for this request (cached unless
 * no_cacheable); NULL on error. */
ptc_http_variable_value_t *ptc_http_variable_get(ptc_http_request_t *r, int index);
/* Value by name at runtime (prefix variables resolved); not_found when unknown. */
ptc_http_variable_value_t *ptc_http_variable_by_name(ptc_http_request_t *r, const ptc_str_t *name);

/* Setter of a variable backed by request state ($args): `set` calls it
 * instead of storing the value. The value lives in r->pool. */
typedef void (*ptc_http_variable_set_fn)(ptc_http_request_t *r, const ptc_str_t *value,
                                         uintptr_t data);
/* Give the registered variable `name` a setter (config time). PTC_OK, or
 * PTC_ERROR when no such variable is registered. */
int ptc_http_variable_set_handler(ptc_conf_t *cf, const char *name, ptc_http_variable_set_fn fn);
/* Assign `value` (kept, not copied: it must live in r->pool) to variable
 * `index` for this request: through its setter when it has one, else later
 * reads return the value until the request ends or is redirected. */
void ptc_http_variable_set(ptc_http_request_t *r, int index, const ptc_str_t *value);

/* A string with variables ("$host:$server_port", "${a}b", "$1"),
 * compiled once at config time. */
typedef struct ptc_http_complex_value_s ptc_http_complex_value_t;
/* Compile src; NULL on error (reported with the directive's file:line). */
ptc_http_complex_value_t *ptc_http_complex_value_compile(ptc_conf_t *cf, const ptc_str_t *src);
/* Evaluate into r->pool; PTC_OK or PTC_ERROR. */
int ptc_http_complex_value(ptc_http_request_t *r, const ptc_http_complex_value_t *cv,
                           ptc_str_t *out);
/* True when the value has no variables (then *text is its literal). */
bool ptc_http_complex_value_is_literal(const ptc_http_complex_value_t *cv, ptc_str_t *text);

/* Does a header name match the NAME of a $http_NAME-style variable (case
 * insensitive, '_' in the variable standing for '-')? */
bool ptc_http_header_name_is(const ptc_str_t *header, const ptc_str_t *var_name);

/* Register the named groups of a regex (a ptc_regex_t) compiled for HTTP
 * use as variables. Call at config time, once per regex. */
int ptc_http_regex_names_register(ptc_conf_t *cf, void *regex);
/* Match `regex` (a ptc_regex_t) against subject and, on a match, keep the
 * captures in r for $1..$9 (until the next match) and store its named
 * groups in their variables ($name keeps the value of the last regex that
 * had that group, as in nginx). PTC_OK on match, PTC_DECLINED on no match,
 * PTC_ERROR when the match limit was hit (logged). The subject must stay
 * alive as long as the captures are used (r->pool). */
int ptc_http_regex_exec(ptc_http_request_t *r, const void *regex, const ptc_str_t *subject);

/* The engine module descriptors */
extern ptc_module_t ptc_http_module;      /* the http {} block (core type) */
extern ptc_module_t ptc_http_core_module; /* server/location/listen/... */

#endif
