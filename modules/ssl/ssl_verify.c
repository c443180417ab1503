/* SPDX-License-Identifier: BSD-2-Clause */
/* Client certificates: ssl_verify_client, ssl_verify_depth,
 * ssl_client_certificate, ssl_trusted_certificate, ssl_crl and the
 * $ssl_client_* variables. (First cut: not yet enforced.) */
#include "modules/ssl/ssl_int.h"

const char *
ptc_http_ssl_verify_configure(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    return NULL;
}

void
ptc_http_ssl_verify_switch(SSL *ssl, const ptc_http_ssl_srv_conf_t *conf)
{
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(conf->ctx), SSL_CTX_get_verify_callback(conf->ctx));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(conf->ctx));
}

int
ptc_http_ssl_verify_add_variables(ptc_conf_t *cf)
{
    return PTC_OK;
}
