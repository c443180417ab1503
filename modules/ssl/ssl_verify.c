/* SPDX-License-Identifier: BSD-2-Clause */
/* Client certificates: ssl_verify_client, ssl_verify_depth,
 * ssl_client_certificate, ssl_trusted_certificate, ssl_crl and the
 * $ssl_client_* variables.
 *
 * As in nginx, the handshake never fails over a client certificate: the
 * verify callback accepts, OpenSSL records the verdict, and the request
 * (in the post-read phase, for the server its Host picked) gets 400 "No
 * required SSL certificate was sent" (496) or "The SSL certificate error"
 * (495). So the client gets an HTTP answer it can show, and `optional`
 * lets the origin see $ssl_client_verify and decide. */
#include <openssl/x509v3.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/ssl/ssl_int.h"

static int
verify_callback(int ok, X509_STORE_CTX *store)
{
    return 1; /* decided per request, see above */
}

static const char *
verify_error(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf, const char *what, const ptc_str_t *f)
{
    u_char why[512];
    *ptc_ssl_error_text(why, sizeof(why) - 1) = '\0';
    snprintf(cf->errbuf, cf->errlen, "%s \"" PTC_STR_FMT "\" failed%s%s in %s:%u", what,
             PTC_STR_ARG(*f), *why ? ": " : "", (char *)why, conf->file ? conf->file : "?",
             conf->line);
    cf->failed = true;
    return PTC_CONF_ERROR;
}

static const char *
verify_load_crl(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    X509_STORE *store = SSL_CTX_get_cert_store(conf->ctx);
    X509_LOOKUP *lookup = store ? X509_STORE_add_lookup(store, X509_LOOKUP_file()) : NULL;
    if (lookup == NULL
        || X509_load_crl_file(lookup, (char *)conf->crl.data, X509_FILETYPE_PEM) <= 0) {
        return verify_error(cf, conf, "loading ssl_crl", &conf->crl);
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    return NULL;
}

const char *
ptc_http_ssl_verify_configure(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    SSL_CTX *ctx = conf->ctx;
    /* trusted CAs also serve ssl_stapling_verify, so they load either way */
    if (conf->trusted_certificate.data
        && SSL_CTX_load_verify_locations(ctx, (char *)conf->trusted_certificate.data, NULL) != 1) {
        return verify_error(cf, conf, "loading ssl_trusted_certificate",
                            &conf->trusted_certificate);
    }
    if (conf->verify == SSL_VERIFY_OFF) {
        return NULL;
    }
    if (conf->verify != SSL_VERIFY_OPTIONAL_NO_CA && conf->client_certificate.data == NULL
        && conf->trusted_certificate.data == NULL) {
        snprintf(cf->errbuf, cf->errlen,
                 "no ssl_client_certificate or ssl_trusted_certificate for ssl_verify_client "
                 "in %s:%u",
                 conf->file ? conf->file : "?", conf->line);
        cf->failed = true;
        return PTC_CONF_ERROR;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_callback);
    SSL_CTX_set_verify_depth(ctx, (int)conf->verify_depth);
    if (conf->client_certificate.data) {
        const char *f = (char *)conf->client_certificate.data;
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(f);
        if (SSL_CTX_load_verify_locations(ctx, f, NULL) != 1 || names == NULL) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            return verify_error(cf, conf, "loading ssl_client_certificate",
                                &conf->client_certificate);
        }
        SSL_CTX_set_client_CA_list(ctx, names); /* sent in the CertificateRequest */
    }
    return conf->crl.data ? verify_load_crl(cf, conf) : NULL;
}

void
ptc_http_ssl_verify_switch(SSL *ssl, const ptc_http_ssl_srv_conf_t *conf)
{
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(conf->ctx), SSL_CTX_get_verify_callback(conf->ctx));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(conf->ctx));
    STACK_OF(X509_NAME) *names = SSL_CTX_get_client_CA_list(conf->ctx);
    if (names) {
        SSL_set_client_CA_list(ssl, SSL_dup_CA_list(names));
    }
}

/* Errors optional_no_ca tolerates: the chain does not reach a trusted CA. */
static bool
verify_error_no_ca(long rc)
{
    return rc == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
           || rc == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
           || rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
           || rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || rc == X509_V_ERR_CERT_UNTRUSTED
           || rc == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

/* Post-read phase: the verdict for the server the request landed in. */
static int
verify_phase(ptc_http_request_t *r)
{
    ptc_ssl_conn_t *sc = r->c->ssl;
    ptc_http_ssl_srv_conf_t *sscf = ptc_http_get_srv_conf(r, ptc_http_ssl_module);
    if (sc == NULL || sscf->verify == SSL_VERIFY_OFF) {
        return PTC_DECLINED;
    }
    long rc = SSL_get_verify_result(sc->ssl);
    X509 *cert = SSL_get0_peer_certificate(sc->ssl);
    if (cert && rc != X509_V_OK
        && (sscf->verify != SSL_VERIFY_OPTIONAL_NO_CA || !verify_error_no_ca(rc))) {
        ptc_log_error(PTC_LOG_INFO, r->c->log, 0, "client SSL certificate verify error: (%ld:%s)",
                      rc, X509_verify_cert_error_string(rc));
        r->keepalive = 0;
        ptc_http_finalize_status(r, 495);
        return PTC_DONE;
    }
    if (cert == NULL && sscf->verify == SSL_VERIFY_ON) {
        ptc_log_error(PTC_LOG_INFO, r->c->log, 0, "client sent no required SSL certificate");
        r->keepalive = 0;
        ptc_http_finalize_status(r, 496);
        return PTC_DONE;
    }
    return PTC_DECLINED;
}

int
ptc_http_ssl_verify_postconfig(ptc_conf_t *cf)
{
    return ptc_http_add_phase_handler(cf, PTC_HTTP_POST_READ_PHASE, verify_phase);
}

/* ---- variables ---- */

enum {
    VERIFY_VAR_VERIFY,
    VERIFY_VAR_S_DN,
    VERIFY_VAR_I_DN,
    VERIFY_VAR_SERIAL,
    VERIFY_VAR_FINGERPRINT,
    VERIFY_VAR_ESCAPED_CERT,
    VERIFY_VAR_RAW_CERT,
    VERIFY_VAR_V_START,
    VERIFY_VAR_V_END,
    VERIFY_VAR_V_REMAIN,
};

/* Copy what a memory BIO holds into the request pool as the value. */
static int
verify_var_bio(ptc_http_request_t *r, ptc_http_variable_value_t *v, BIO *bio)
{
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    int rc = n >= 0 && ptc_str_dup(r->pool, &v->value, (u_char *)p, (size_t)n) == PTC_OK
                 ? PTC_OK
                 : PTC_ERROR;
    BIO_free(bio);
    v->valid = rc == PTC_OK;
    return rc;
}

static int
verify_var_verify(ptc_http_request_t *r, ptc_http_variable_value_t *v, SSL *ssl, X509 *cert)
{
    if (cert == NULL) {
        ptc_str_set(&v->value, "NONE");
        v->valid = 1;
        return PTC_OK;
    }
    long rc = SSL_get_verify_result(ssl);
    if (rc == X509_V_OK) {
        ptc_str_set(&v->value, "SUCCESS");
        v->valid = 1;
        return PTC_OK;
    }
    v->valid = 1;
    return ptc_psprintf(r->pool, &v->value, "FAILED:%s", X509_verify_cert_error_string(rc));
}

static int
verify_var_fingerprint(ptc_http_request_t *r, ptc_http_variable_value_t *v, X509 *cert)
{
    u_char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (X509_digest(cert, EVP_sha1(), md, &len) != 1) {
        return PTC_ERROR;
    }
    return ptc_http_ssl_var_hex(r, v, md, len);
}

/* The PEM certificate, percent-encoded the way nginx does it for
 * $ssl_client_escaped_cert (unreserved characters stay). */
static int
verify_var_escaped(ptc_http_request_t *r, ptc_http_variable_value_t *v, X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem;
    if (bio == NULL || PEM_write_bio_X509(bio, cert) != 1) {
        BIO_free(bio);
        return PTC_ERROR;
    }
    long n = BIO_get_mem_data(bio, &pem);
    u_char *out = ptc_palloc(r->pool, 3 * (size_t)n), *q = out;
    if (out == NULL) {
        BIO_free(bio);
        return PTC_ERROR;
    }
    static const char hex[] = "0123456789ABCDEF";
    for (long i = 0; i < n; i++) {
        u_char ch = (u_char)pem[i];
        bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
                    || ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (keep) {
            *q++ = ch;
        } else {
            *q++ = '%';
            *q++ = (u_char)hex[ch >> 4];
            *q++ = (u_char)hex[ch & 0xf];
        }
    }
    BIO_free(bio);
    v->value.data = out;
    v->value.len = (size_t)(q - out);
    v->valid = 1;
    return PTC_OK;
}

static int
verify_var_time(ptc_http_request_t *r, ptc_http_variable_value_t *v, X509 *cert, uintptr_t which)
{
    const ASN1_TIME *t =
        which == VERIFY_VAR_V_START ? X509_get0_notBefore(cert) : X509_get0_notAfter(cert);
    if (which == VERIFY_VAR_V_REMAIN) {
        int days = 0, secs = 0;
        if (ASN1_TIME_diff(&days, &secs, NULL, t) != 1) {
            return PTC_ERROR;
        }
        v->valid = 1;
        return ptc_psprintf(r->pool, &v->value, "%d", days < 0 ? 0 : days);
    }
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || ASN1_TIME_print(bio, t) != 1) {
        BIO_free(bio);
        return PTC_ERROR;
    }
    return verify_var_bio(r, v, bio);
}

static int
verify_var(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t which)
{
    ptc_ssl_conn_t *sc = r->c->ssl;
    if (sc == NULL) {
        v->not_found = 1;
        return PTC_OK;
    }
    X509 *cert = SSL_get0_peer_certificate(sc->ssl);
    if (which == VERIFY_VAR_VERIFY) {
        return verify_var_verify(r, v, sc->ssl, cert);
    }
    if (cert == NULL) {
        v->not_found = 1; /* "-" in a log, as nginx */
        return PTC_OK;
    }
    BIO *bio = NULL;
    switch (which) {
    case VERIFY_VAR_S_DN:
    case VERIFY_VAR_I_DN:
        bio = BIO_new(BIO_s_mem());
        if (bio == NULL
            || X509_NAME_print_ex(bio,
                                  which == VERIFY_VAR_S_DN ? X509_get_subject_name(cert)
                                                           : X509_get_issuer_name(cert),
                                  0, XN_FLAG_RFC2253)
                   < 0) {
            BIO_free(bio);
            return PTC_ERROR;
        }
        return verify_var_bio(r, v, bio);
    case VERIFY_VAR_SERIAL:
        bio = BIO_new(BIO_s_mem());
        if (bio == NULL || i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(cert)) < 0) {
            BIO_free(bio);
            return PTC_ERROR;
        }
        return verify_var_bio(r, v, bio);
    case VERIFY_VAR_FINGERPRINT:
        return verify_var_fingerprint(r, v, cert);
    case VERIFY_VAR_ESCAPED_CERT:
        return verify_var_escaped(r, v, cert);
    case VERIFY_VAR_RAW_CERT:
        bio = BIO_new(BIO_s_mem());
        if (bio == NULL || PEM_write_bio_X509(bio, cert) != 1) {
            BIO_free(bio);
            return PTC_ERROR;
        }
        return verify_var_bio(r, v, bio);
    default:
        return verify_var_time(r, v, cert, which);
    }
}

static const ptc_http_variable_def_t verify_vars[] = {
    {"ssl_client_verify", verify_var, VERIFY_VAR_VERIFY, 0},
    {"ssl_client_s_dn", verify_var, VERIFY_VAR_S_DN, 0},
    {"ssl_client_i_dn", verify_var, VERIFY_VAR_I_DN, 0},
    {"ssl_client_serial", verify_var, VERIFY_VAR_SERIAL, 0},
    {"ssl_client_fingerprint", verify_var, VERIFY_VAR_FINGERPRINT, 0},
    {"ssl_client_escaped_cert", verify_var, VERIFY_VAR_ESCAPED_CERT, 0},
    {"ssl_client_raw_cert", verify_var, VERIFY_VAR_RAW_CERT, 0},
    {"ssl_client_v_start", verify_var, VERIFY_VAR_V_START, 0},
    {"ssl_client_v_end", verify_var, VERIFY_VAR_V_END, 0},
    {"ssl_client_v_remain", verify_var, VERIFY_VAR_V_REMAIN, 0},
    {NULL, NULL, 0, 0},
};

int
ptc_http_ssl_verify_add_variables(ptc_conf_t *cf)
{
    return ptc_http_add_variables(cf, verify_vars);
}
