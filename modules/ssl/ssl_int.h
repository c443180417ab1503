/* SPDX-License-Identifier: BSD-2-Clause */
/* Private to modules/ssl: the per-server TLS settings and the hooks the
 * module's files provide to each other. */
#ifndef PTC_MODULES_SSL_INT_H
#define PTC_MODULES_SSL_INT_H

#include "core/ptc_cycle.h"
#include "core/ptc_ssl.h"
#include "modules/http/http_core.h"

/* ssl_verify_client */
enum { SSL_VERIFY_OFF = 0, SSL_VERIFY_ON, SSL_VERIFY_OPTIONAL, SSL_VERIFY_OPTIONAL_NO_CA };

/* A file named by a directive, with where it was named (for errors found
 * when the file is loaded, after the whole configuration was read). */
typedef struct {
    ptc_str_t path; /* absolute */
    const char *file;
    unsigned line;
} ptc_http_ssl_file_t;

typedef struct {
    SSL_CTX *ctx;              /* NULL: this server has no certificate */
    ptc_array_t *certificates; /* ptc_http_ssl_file_t, UNSET_PTR when not set here */
    ptc_array_t *certificate_keys;
    ptc_array_t *passwords; /* ptc_str_t, from ssl_password_file */
    unsigned protocols;     /* PTC_SSL_* bits */
    ptc_str_t ciphers;
    int prefer_server_ciphers;
    ptc_str_t ecdh_curve;
    ptc_str_t dhparam;
    ptc_array_t *conf_commands; /* pairs of ptc_str_t (name, value) */
    int early_data;

    /* sessions (ssl_session.c) */
    int session_cache;             /* SSL_SESSION_CACHE_* */
    ptc_shm_zone_t *session_zone;  /* shared:NAME:SIZE */
    ssize_t builtin_session_cache; /* builtin[:SIZE] entries */
    ptc_msec_t session_timeout;
    int session_tickets;
    ptc_array_t *session_ticket_keys; /* ptc_http_ssl_file_t, UNSET_PTR when not set here */

    /* client certificates (ssl_verify.c) */
    int verify; /* SSL_VERIFY_* */
    int64_t verify_depth;
    ptc_str_t client_certificate;
    ptc_str_t trusted_certificate;
    ptc_str_t crl;

    /* OCSP stapling (ssl_stapling.c) */
    int stapling;
    int stapling_verify;
    ptc_str_t stapling_file;

    int reject_handshake;

    const char *file; /* where the first ssl_certificate was set, for errors */
    unsigned line;
} ptc_http_ssl_srv_conf_t;

/* ssl_session_cache values */
enum {
    SSL_SESSION_CACHE_UNSET = -1,
    SSL_SESSION_CACHE_OFF = 0,
    SSL_SESSION_CACHE_NONE,
    SSL_SESSION_CACHE_ON
};

extern ptc_module_t ptc_http_ssl_module;

/* Config-time steps run on a server's new SSL_CTX in merge order; each
 * returns NULL or an error message (PTC_CONF_ERROR when already reported). */
const char *ptc_http_ssl_session_configure(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf);
const char *ptc_http_ssl_verify_configure(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf);
const char *ptc_http_ssl_stapling_configure(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf);

/* Directive handlers implemented next to their feature. */
const char *ptc_http_ssl_session_cache(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

/* Variables (ssl_vars.c; the client-certificate ones in ssl_verify.c),
 * registered in preconfig. */
int ptc_http_ssl_add_variables(ptc_conf_t *cf);
int ptc_http_ssl_verify_add_variables(ptc_conf_t *cf);
/* Set v to the lowercase hex of p[0..n) (request pool). PTC_OK or PTC_ERROR. */
int ptc_http_ssl_var_hex(ptc_http_request_t *r, ptc_http_variable_value_t *v, const u_char *p,
                         size_t n);
/* Registers the post-read check of client certificates. */
int ptc_http_ssl_verify_postconfig(ptc_conf_t *cf);

/* After SNI switched a connection to another server's context: apply that
 * server's per-connection verify settings (ssl_verify.c). */
void ptc_http_ssl_verify_switch(SSL *ssl, const ptc_http_ssl_srv_conf_t *conf);

#endif
