/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS variables of the client connection: $ssl_protocol, $ssl_cipher,
 * $ssl_curve, $ssl_server_name, $ssl_session_id, $ssl_session_reused,
 * $ssl_alpn_protocol, $ssl_early_data, and the client fingerprints
 * $ssl_ja3, $ssl_ja3_hash, $ssl_ja4 (from the ClientHello the connection
 * kept; docs/fingerprints.md). Empty on plain connections (not found, as
 * nginx). */
#include "core/ptc_pool.h"
#include "core/ptc_tls_hello.h"
#include "modules/ssl/ssl_int.h"

enum {
    SSL_VAR_PROTOCOL,
    SSL_VAR_CIPHER,
    SSL_VAR_CURVE,
    SSL_VAR_SERVER_NAME,
    SSL_VAR_SESSION_ID,
    SSL_VAR_SESSION_REUSED,
    SSL_VAR_ALPN,
    SSL_VAR_EARLY_DATA,
    SSL_VAR_JA3,
    SSL_VAR_JA3_HASH,
    SSL_VAR_JA4,
};

/* JA3/JA4 from the kept ClientHello; computed when a variable is used. */
static int
ssl_var_fingerprint(ptc_http_request_t *r, ptc_http_variable_value_t *v, ptc_ssl_conn_t *sc,
                    uintptr_t which)
{
    ptc_tls_hello_t h;
    if (sc->hello == NULL || ptc_tls_hello_parse(sc->hello, sc->hello_len, &h) != PTC_OK) {
        v->not_found = 1;
        return PTC_OK;
    }
    /* a JA3 string is at most about 3 characters per ClientHello byte */
    size_t size = which == SSL_VAR_JA3 ? 3 * sc->hello_len + 64 : PTC_TLS_JA4_LEN;
    size = ptc_max(size, (size_t)PTC_TLS_JA3_HASH_LEN);
    u_char *buf = ptc_pnalloc(r->pool, size);
    if (buf == NULL) {
        return PTC_ERROR;
    }
    size_t n = 0;
    if (which == SSL_VAR_JA3) {
        n = ptc_tls_ja3(&h, buf, size);
    } else if (which == SSL_VAR_JA3_HASH) {
        n = ptc_tls_ja3_hash(&h, buf) == PTC_OK ? PTC_TLS_JA3_HASH_LEN : 0;
    } else {
        n = ptc_tls_ja4(&h, 't', buf, size);
    }
    if (n == 0) {
        v->not_found = 1;
        return PTC_OK;
    }
    v->value.data = buf;
    v->value.len = n;
    v->valid = 1;
    return PTC_OK;
}

/* As nginx: a TLS variable with nothing to say is "not found" (a log
 * writes "-"), not an empty string. */
static int
ssl_var_static(ptc_http_variable_value_t *v, const char *s)
{
    if (s == NULL || *s == '\0') {
        v->not_found = 1;
        return PTC_OK;
    }
    v->value.data = (u_char *)s;
    v->value.len = strlen(s);
    v->valid = 1;
    return PTC_OK;
}

int
ptc_http_ssl_var_hex(ptc_http_request_t *r, ptc_http_variable_value_t *v, const u_char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    u_char *out = ptc_palloc(r->pool, 2 * n + 1);
    if (out == NULL) {
        return PTC_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = (u_char)hex[p[i] >> 4];
        out[2 * i + 1] = (u_char)hex[p[i] & 0xf];
    }
    v->value.data = out;
    v->value.len = 2 * n;
    v->valid = 1;
    return PTC_OK;
}

static const char *
ssl_var_curve(SSL *ssl)
{
    int nid = SSL_get_negotiated_group(ssl);
    if (nid == 0) {
        return NULL;
    }
    /* OpenSSL's short names as nginx prints them (X25519, prime256v1) */
    const char *name = OBJ_nid2sn(nid);
    return name ? name : SSL_group_to_name(ssl, nid);
}

static int
ssl_var(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t which)
{
    ptc_ssl_conn_t *sc = r->c->ssl;
    if (sc == NULL) {
        v->not_found = 1;
        return PTC_OK;
    }
    SSL *ssl = sc->ssl;
    switch (which) {
    case SSL_VAR_PROTOCOL:
        return ssl_var_static(v, SSL_get_version(ssl));
    case SSL_VAR_CIPHER:
        return ssl_var_static(v, SSL_get_cipher_name(ssl));
    case SSL_VAR_CURVE:
        return ssl_var_static(v, ssl_var_curve(ssl));
    case SSL_VAR_SERVER_NAME:
        return ssl_var_static(v, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
    case SSL_VAR_SESSION_REUSED:
        return ssl_var_static(v, SSL_session_reused(ssl) ? "r" : ".");
    case SSL_VAR_EARLY_DATA:
        return ssl_var_static(v, SSL_is_init_finished(ssl) ? "" : "1");
    case SSL_VAR_SESSION_ID: {
        SSL_SESSION *s = SSL_get0_session(ssl);
        unsigned len = 0;
        const u_char *id = s ? SSL_SESSION_get_id(s, &len) : NULL;
        return id && len ? ptc_http_ssl_var_hex(r, v, id, len) : ssl_var_static(v, NULL);
    }
    case SSL_VAR_ALPN: {
        const u_char *p = NULL;
        unsigned len = 0;
        SSL_get0_alpn_selected(ssl, &p, &len);
        if (p == NULL || len == 0) {
            return ssl_var_static(v, NULL);
        }
        v->value.data = (u_char *)p;
        v->value.len = len;
        v->valid = 1;
        return PTC_OK;
    }
    case SSL_VAR_JA3:
    case SSL_VAR_JA3_HASH:
    case SSL_VAR_JA4:
        return ssl_var_fingerprint(r, v, sc, which);
    default:
        v->not_found = 1;
        return PTC_OK;
    }
}

static const ptc_http_variable_def_t ssl_vars[] = {
    {"ssl_protocol", ssl_var, SSL_VAR_PROTOCOL, 0},
    {"ssl_cipher", ssl_var, SSL_VAR_CIPHER, 0},
    {"ssl_curve", ssl_var, SSL_VAR_CURVE, 0},
    {"ssl_server_name", ssl_var, SSL_VAR_SERVER_NAME, 0},
    {"ssl_session_id", ssl_var, SSL_VAR_SESSION_ID, 0},
    {"ssl_session_reused", ssl_var, SSL_VAR_SESSION_REUSED, 0},
    {"ssl_alpn_protocol", ssl_var, SSL_VAR_ALPN, 0},
    {"ssl_early_data", ssl_var, SSL_VAR_EARLY_DATA, 0},
    {"ssl_ja3", ssl_var, SSL_VAR_JA3, 0},
    {"ssl_ja3_hash", ssl_var, SSL_VAR_JA3_HASH, 0},
    {"ssl_ja4", ssl_var, SSL_VAR_JA4, 0},
    {NULL, NULL, 0, 0},
};

int
ptc_http_ssl_add_variables(ptc_conf_t *cf)
{
    if (ptc_http_add_variables(cf, ssl_vars) != PTC_OK) {
        return PTC_ERROR;
    }
    return ptc_http_ssl_verify_add_variables(cf);
}
