/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS session resumption: ssl_session_cache, ssl_session_timeout,
 * ssl_session_tickets, ssl_session_ticket_key. (First cut: no cache;
 * tickets with OpenSSL's per-context key.) */
#include "modules/ssl/ssl_int.h"

const char *
ptc_http_ssl_session_cache(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_ssl_srv_conf_t *sscf = conf;
    const ptc_str_t *a = ptc_conf_arg(cf, 1);
    if (ptc_str_eq_c(a, "off")) {
        sscf->session_cache = SSL_SESSION_CACHE_OFF;
    } else if (ptc_str_eq_c(a, "none")) {
        sscf->session_cache = SSL_SESSION_CACHE_NONE;
    } else {
        sscf->session_cache = SSL_SESSION_CACHE_NONE;
    }
    return NULL;
}

const char *
ptc_http_ssl_session_configure(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    SSL_CTX_set_session_cache_mode(conf->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_timeout(conf->ctx, (long)(conf->session_timeout / 1000));
    if (!conf->session_tickets) {
        SSL_CTX_set_options(conf->ctx, SSL_OP_NO_TICKET);
    }
    return NULL;
}
