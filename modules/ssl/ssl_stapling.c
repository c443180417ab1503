/* SPDX-License-Identifier: BSD-2-Clause */
/* OCSP stapling from a response prepared offline: ssl_stapling,
 * ssl_stapling_file, ssl_stapling_verify. The DER file is read once at
 * config time and sent to every client that asks (status_request). There
 * is no OCSP responder client (that would need a resolver and outbound
 * HTTP from workers): a cron job refreshing the file plus a reload is the
 * supported way, as with nginx's ssl_stapling_file. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ocsp.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/ssl/ssl_int.h"

#define STAPLING_MAX (1024 * 1024)

typedef struct {
    u_char *der;
    size_t len;
} stapling_t;

static int
stapling_status_cb(SSL *ssl, void *arg)
{
    const stapling_t *st = arg;
    u_char *copy = OPENSSL_malloc(st->len);
    if (copy == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    memcpy(copy, st->der, st->len);
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)st->len); /* OpenSSL frees it */
    return SSL_TLSEXT_ERR_OK;
}

static const char *
stapling_read(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf, stapling_t *st)
{
    const char *path = (char *)conf->stapling_file.data;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd == -1 || fstat(fd, &sb) == -1 || sb.st_size <= 0 || sb.st_size > STAPLING_MAX) {
        int err = errno;
        if (fd != -1) {
            close(fd);
        }
        snprintf(cf->errbuf, cf->errlen, "cannot read ssl_stapling_file \"%s\"%s%s in %s:%u", path,
                 fd == -1 ? ": " : " (empty or too big)", fd == -1 ? strerror(err) : "",
                 conf->file ? conf->file : "?", conf->line);
        cf->failed = true;
        return PTC_CONF_ERROR;
    }
    st->len = (size_t)sb.st_size;
    st->der = ptc_palloc(cf->pool, st->len);
    ssize_t n = st->der ? read(fd, st->der, st->len) : -1;
    close(fd);
    if (n != (ssize_t)st->len) {
        return "cannot read ssl_stapling_file";
    }
    return NULL;
}

/* ssl_stapling_verify: the response must be a successful, signed, current
 * answer for this server's certificate; otherwise nothing is stapled (a
 * warning says why) rather than a response clients would reject. */
static const char *
stapling_check(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf, const stapling_t *st)
{
    const u_char *p = st->der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)st->len);
    OCSP_BASICRESP *basic = NULL;
    const char *why = NULL;
    X509 *cert = SSL_CTX_get0_certificate(conf->ctx);
    STACK_OF(X509) *chain = NULL;
    SSL_CTX_get0_chain_certs(conf->ctx, &chain);
    X509_STORE *store = SSL_CTX_get_cert_store(conf->ctx);
    if (resp == NULL) {
        why = "not a DER OCSP response";
    } else if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        why = "the response status is not successful";
    } else if ((basic = OCSP_response_get1_basic(resp)) == NULL) {
        why = "no basic response";
    } else if (OCSP_basic_verify(basic, chain, store, 0) != 1) {
        why = "the response signature does not verify (is the issuer in "
              "ssl_trusted_certificate?)";
    } else {
        X509 *issuer = NULL;
        for (int i = 0; chain && i < sk_X509_num(chain); i++) {
            if (X509_check_issued(sk_X509_value(chain, i), cert) == X509_V_OK) {
                issuer = sk_X509_value(chain, i);
            }
        }
        X509_STORE_CTX *sctx = X509_STORE_CTX_new();
        if (issuer == NULL && sctx && X509_STORE_CTX_init(sctx, store, cert, chain) == 1) {
            X509_STORE_CTX_get1_issuer(&issuer, sctx, cert);
        } else if (issuer) {
            X509_up_ref(issuer);
        }
        X509_STORE_CTX_free(sctx);
        OCSP_CERTID *id = issuer ? OCSP_cert_to_id(NULL, cert, issuer) : NULL;
        int status = -1, reason;
        ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL;
        if (id == NULL
            || OCSP_resp_find_status(basic, id, &status, &reason, NULL, &thisupd, &nextupd) != 1) {
            why = "the response is not for this certificate";
        } else if (status != V_OCSP_CERTSTATUS_GOOD) {
            why = "the certificate is not \"good\" in the response";
        } else if (OCSP_check_validity(thisupd, nextupd, 300, -1) != 1) {
            why = "the response is out of date";
        }
        OCSP_CERTID_free(id);
        X509_free(issuer);
    }
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    if (why) {
        ptc_conf_warn(cf, "\"ssl_stapling\" ignored for \"%s\": %s in %s:%u",
                      (char *)conf->stapling_file.data, why, conf->file ? conf->file : "?",
                      conf->line);
    }
    return why;
}

const char *
ptc_http_ssl_stapling_configure(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    if (!conf->stapling || conf->certificates == NULL) {
        return NULL;
    }
    if (conf->stapling_file.data == NULL) {
        ptc_conf_warn(cf,
                      "\"ssl_stapling\" ignored: no \"ssl_stapling_file\" (Portico does not "
                      "query OCSP responders) in %s:%u",
                      conf->file ? conf->file : "?", conf->line);
        return NULL;
    }
    stapling_t *st = ptc_pcalloc(cf->pool, sizeof(*st));
    if (st == NULL) {
        return "out of memory";
    }
    const char *rv = stapling_read(cf, conf, st);
    if (rv) {
        return rv;
    }
    if (conf->stapling_verify && stapling_check(cf, conf, st) != NULL) {
        return NULL;
    }
    SSL_CTX_set_tlsext_status_cb(conf->ctx, stapling_status_cb);
    SSL_CTX_set_tlsext_status_arg(conf->ctx, st);
    return NULL;
}
