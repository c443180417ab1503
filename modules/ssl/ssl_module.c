/* SPDX-License-Identifier: BSD-2-Clause */
/* The http ssl module: TLS settings per server, one SSL_CTX per server
 * with certificates, made once at config time; SNI switches a handshake to
 * the named server's context; ALPN offers HTTP/1.x. Sessions, client
 * certificates, stapling and variables live in the neighbouring files. */
#include <stdio.h>

#include <openssl/pem.h>

#include "core/ptc_pool.h"
#include "modules/ssl/ssl_int.h"

static int ssl_preconfig(ptc_conf_t *cf);
static int ssl_postconfig(ptc_conf_t *cf);
static void *ssl_create_srv(ptc_conf_t *cf);
static const char *ssl_merge_srv(ptc_conf_t *cf, void *prev, void *conf);
static const char *ssl_set_file_array(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *ssl_set_protocols(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *ssl_set_password_file(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *ssl_set_conf_command(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

#define HS         (PTC_CTX_HTTP | PTC_CTX_SERVER)
#define SRV_OFF(f) PTC_CONF_SRV, offsetof(ptc_http_ssl_srv_conf_t, f)

static const ptc_conf_enum_t ssl_verify_values[] = {
    /* clang-format off */
    {"off", SSL_VERIFY_OFF}, {"on", SSL_VERIFY_ON}, {"optional", SSL_VERIFY_OPTIONAL},
    {"optional_no_ca", SSL_VERIFY_OPTIONAL_NO_CA}, {NULL, 0},
    /* clang-format on */
};

static const ptc_conf_bounds_t ssl_depth_bounds = {0, 100};

static const ptc_directive_t ssl_directives[] = {
    {"ssl_certificate", HS, PTC_ARGS_1, ssl_set_file_array, SRV_OFF(certificates), NULL},
    {"ssl_certificate_key", HS, PTC_ARGS_1, ssl_set_file_array, SRV_OFF(certificate_keys), NULL},
    {"ssl_password_file", HS, PTC_ARGS_1, ssl_set_password_file, SRV_OFF(passwords), NULL},
    {"ssl_protocols", HS, PTC_ARGS_1MORE, ssl_set_protocols, SRV_OFF(protocols), NULL},
    {"ssl_ciphers", HS, PTC_ARGS_1, ptc_conf_set_str, SRV_OFF(ciphers), NULL},
    {"ssl_prefer_server_ciphers", HS, PTC_ARGS_FLAG, ptc_conf_set_flag,
     SRV_OFF(prefer_server_ciphers), NULL},
    {"ssl_ecdh_curve", HS, PTC_ARGS_1, ptc_conf_set_str, SRV_OFF(ecdh_curve), NULL},
    {"ssl_dhparam", HS, PTC_ARGS_1, ptc_conf_set_conf_file, SRV_OFF(dhparam), NULL},
    {"ssl_conf_command", HS, PTC_ARGS_2, ssl_set_conf_command, SRV_OFF(conf_commands), NULL},
    {"ssl_early_data", HS, PTC_ARGS_FLAG, ptc_conf_set_flag, SRV_OFF(early_data), NULL},
    {"ssl_session_cache", HS, PTC_ARGS_12, ptc_http_ssl_session_cache, SRV_OFF(session_cache),
     NULL},
    {"ssl_session_timeout", HS, PTC_ARGS_1, ptc_conf_set_msec, SRV_OFF(session_timeout), NULL},
    {"ssl_session_tickets", HS, PTC_ARGS_FLAG, ptc_conf_set_flag, SRV_OFF(session_tickets), NULL},
    {"ssl_session_ticket_key", HS, PTC_ARGS_1, ssl_set_file_array, SRV_OFF(session_ticket_keys),
     NULL},
    {"ssl_verify_client", HS, PTC_ARGS_1, ptc_conf_set_enum, SRV_OFF(verify), ssl_verify_values},
    {"ssl_verify_depth", HS, PTC_ARGS_1, ptc_conf_set_num, SRV_OFF(verify_depth),
     &ssl_depth_bounds},
    {"ssl_client_certificate", HS, PTC_ARGS_1, ptc_conf_set_conf_file, SRV_OFF(client_certificate),
     NULL},
    {"ssl_trusted_certificate", HS, PTC_ARGS_1, ptc_conf_set_conf_file,
     SRV_OFF(trusted_certificate), NULL},
    {"ssl_crl", HS, PTC_ARGS_1, ptc_conf_set_conf_file, SRV_OFF(crl), NULL},
    {"ssl_stapling", HS, PTC_ARGS_FLAG, ptc_conf_set_flag, SRV_OFF(stapling), NULL},
    {"ssl_stapling_file", HS, PTC_ARGS_1, ptc_conf_set_conf_file, SRV_OFF(stapling_file), NULL},
    {"ssl_stapling_verify", HS, PTC_ARGS_FLAG, ptc_conf_set_flag, SRV_OFF(stapling_verify), NULL},
    {"ssl_reject_handshake", HS, PTC_ARGS_FLAG, ptc_conf_set_flag, SRV_OFF(reject_handshake), NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_ssl_module = {
    .name = "http_ssl",
    .type = PTC_MODULE_HTTP,
    .directives = ssl_directives,
    .preconfig = ssl_preconfig,
    .postconfig = ssl_postconfig,
    .create_srv = ssl_create_srv,
    .merge_srv = ssl_merge_srv,
};

static void *
ssl_create_srv(ptc_conf_t *cf)
{
    ptc_http_ssl_srv_conf_t *c = ptc_pcalloc(cf->pool, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->certificates = PTC_CONF_UNSET_PTR;
    c->certificate_keys = PTC_CONF_UNSET_PTR;
    c->passwords = PTC_CONF_UNSET_PTR;
    c->protocols = PTC_CONF_UNSET_UINT;
    c->prefer_server_ciphers = PTC_CONF_UNSET;
    c->conf_commands = PTC_CONF_UNSET_PTR;
    c->early_data = PTC_CONF_UNSET;
    c->session_cache = SSL_SESSION_CACHE_UNSET;
    c->builtin_session_cache = PTC_CONF_UNSET;
    c->session_timeout = PTC_CONF_UNSET_MSEC;
    c->session_tickets = PTC_CONF_UNSET;
    c->session_ticket_keys = PTC_CONF_UNSET_PTR;
    c->verify = PTC_CONF_UNSET;
    c->verify_depth = PTC_CONF_UNSET;
    c->stapling = PTC_CONF_UNSET;
    c->stapling_verify = PTC_CONF_UNSET;
    c->reject_handshake = PTC_CONF_UNSET;
    return c;
}

static const char *
ssl_set_file_array(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_ssl_srv_conf_t *sscf = conf;
    ptc_array_t **a = (ptc_array_t **)((char *)conf + d->offset);
    if (*a == PTC_CONF_UNSET_PTR
        && (*a = ptc_array_create(cf->pool, 2, sizeof(ptc_http_ssl_file_t))) == NULL) {
        return "out of memory";
    }
    ptc_http_ssl_file_t *f = ptc_array_push(*a);
    char *path = ptc_conf_full_path(cf, ptc_conf_arg(cf, 1), true);
    if (f == NULL || path == NULL) {
        return "out of memory";
    }
    f->path.data = (u_char *)path;
    f->path.len = strlen(path);
    f->file = cf->node->file;
    f->line = cf->node->line;
    if (sscf->file == NULL && d->offset == offsetof(ptc_http_ssl_srv_conf_t, certificates)) {
        sscf->file = cf->node->file;
        sscf->line = cf->node->line;
    }
    return NULL;
}

static const char *
ssl_set_protocols(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_ssl_srv_conf_t *sscf = conf;
    if (sscf->protocols != PTC_CONF_UNSET_UINT) {
        return "is duplicate";
    }
    sscf->protocols = 0;
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        unsigned bit = ptc_ssl_protocol_bit(ptc_conf_arg(cf, i));
        if (bit == 0) {
            return ptc_conf_error(cf, "invalid value \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*ptc_conf_arg(cf, i)));
        }
        if (bit == PTC_SSL_SSLv2) {
            ptc_conf_warn(cf, "SSLv2 is not supported by OpenSSL 3: ignored");
        }
        sscf->protocols |= bit;
    }
    return NULL;
}

static const char *
ssl_set_password_file(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_ssl_srv_conf_t *sscf = conf;
    if (sscf->passwords != PTC_CONF_UNSET_PTR) {
        return "is duplicate";
    }
    char *path = ptc_conf_full_path(cf, ptc_conf_arg(cf, 1), true);
    if (path == NULL) {
        return "out of memory";
    }
    char err[512];
    sscf->passwords = ptc_ssl_read_password_file(cf->pool, path, err, sizeof(err));
    if (sscf->passwords == NULL) {
        return ptc_conf_error(cf, "%s", err);
    }
    return NULL;
}

static const char *
ssl_set_conf_command(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_ssl_srv_conf_t *sscf = conf;
    if (sscf->conf_commands == PTC_CONF_UNSET_PTR
        && (sscf->conf_commands = ptc_array_create(cf->pool, 4, sizeof(ptc_str_t))) == NULL) {
        return "out of memory";
    }
    ptc_str_t *kv = ptc_array_push_n(sscf->conf_commands, 2);
    if (kv == NULL) {
        return "out of memory";
    }
    kv[0] = *ptc_conf_arg(cf, 1);
    kv[1] = *ptc_conf_arg(cf, 2);
    return NULL;
}

static void
ssl_merge_ptr(void **conf, void *prev, void *def)
{
    if (*conf == PTC_CONF_UNSET_PTR) {
        *conf = prev == PTC_CONF_UNSET_PTR ? def : prev;
    }
}

static void
ssl_merge_str(ptc_str_t *conf, const ptc_str_t *prev, const char *def)
{
    if (conf->data == NULL) {
        if (prev->data) {
            *conf = *prev;
        } else if (def) {
            conf->data = (u_char *)def;
            conf->len = strlen(def);
        }
    }
}

static void
ssl_merge_values(ptc_http_ssl_srv_conf_t *prev, ptc_http_ssl_srv_conf_t *conf)
{
    ssl_merge_ptr((void **)&conf->certificates, prev->certificates, NULL);
    ssl_merge_ptr((void **)&conf->certificate_keys, prev->certificate_keys, NULL);
    ssl_merge_ptr((void **)&conf->passwords, prev->passwords, NULL);
    ssl_merge_ptr((void **)&conf->conf_commands, prev->conf_commands, NULL);
    ssl_merge_ptr((void **)&conf->session_ticket_keys, prev->session_ticket_keys, NULL);
    if (conf->protocols == PTC_CONF_UNSET_UINT) {
        conf->protocols =
            prev->protocols == PTC_CONF_UNSET_UINT ? PTC_SSL_DEFAULT_PROTOCOLS : prev->protocols;
    }
    ssl_merge_str(&conf->ciphers, &prev->ciphers, "HIGH:!aNULL:!MD5");
    ssl_merge_str(&conf->ecdh_curve, &prev->ecdh_curve, "auto");
    ssl_merge_str(&conf->dhparam, &prev->dhparam, NULL);
    ssl_merge_str(&conf->client_certificate, &prev->client_certificate, NULL);
    ssl_merge_str(&conf->trusted_certificate, &prev->trusted_certificate, NULL);
    ssl_merge_str(&conf->crl, &prev->crl, NULL);
    ssl_merge_str(&conf->stapling_file, &prev->stapling_file, NULL);
    ptc_conf_merge_value(conf->prefer_server_ciphers, prev->prefer_server_ciphers, 0);
    ptc_conf_merge_value(conf->early_data, prev->early_data, 0);
    ptc_conf_merge_value(conf->session_tickets, prev->session_tickets, 1);
    ptc_conf_merge_value(conf->verify, prev->verify, SSL_VERIFY_OFF);
    ptc_conf_merge_value(conf->verify_depth, prev->verify_depth, 1);
    ptc_conf_merge_value(conf->stapling, prev->stapling, 0);
    ptc_conf_merge_value(conf->stapling_verify, prev->stapling_verify, 0);
    ptc_conf_merge_value(conf->reject_handshake, prev->reject_handshake, 0);
    ptc_conf_merge_msec(conf->session_timeout, prev->session_timeout, 300000);
    if (conf->session_cache == SSL_SESSION_CACHE_UNSET) {
        conf->session_cache = prev->session_cache == SSL_SESSION_CACHE_UNSET
                                  ? SSL_SESSION_CACHE_NONE
                                  : prev->session_cache;
        conf->session_zone = prev->session_zone;
        conf->builtin_session_cache = prev->builtin_session_cache;
    }
    if (conf->file == NULL) {
        conf->file = prev->file;
        conf->line = prev->line;
    }
}

/* ---- building a server's context ---- */

static const char *
ssl_error(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf, const char *fmt, const char *arg)
{
    u_char why[512];
    *ptc_ssl_error_text(why, sizeof(why) - 1) = '\0';
    snprintf(cf->errbuf, cf->errlen, "%s%s%s%s in %s:%u", fmt, arg ? arg : "", *why ? ": " : "",
             (char *)why, conf->file ? conf->file : "?", conf->line);
    cf->failed = true;
    return PTC_CONF_ERROR;
}

static const char *
ssl_load_dhparam(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    BIO *bio = BIO_new_file((char *)conf->dhparam.data, "r");
    if (bio == NULL) {
        return ssl_error(cf, conf, "cannot read ssl_dhparam ", (char *)conf->dhparam.data);
    }
    EVP_PKEY *dh = PEM_read_bio_Parameters(bio, NULL);
    BIO_free(bio);
    if (dh == NULL || SSL_CTX_set0_tmp_dh_pkey(conf->ctx, dh) != 1) {
        EVP_PKEY_free(dh);
        return ssl_error(cf, conf, "invalid ssl_dhparam ", (char *)conf->dhparam.data);
    }
    return NULL;
}

static const char *
ssl_conf_commands(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    SSL_CONF_CTX *cctx = SSL_CONF_CTX_new();
    if (cctx == NULL) {
        return "out of memory";
    }
    SSL_CONF_CTX_set_flags(cctx, SSL_CONF_FLAG_FILE | SSL_CONF_FLAG_SERVER
                                     | SSL_CONF_FLAG_CERTIFICATE | SSL_CONF_FLAG_SHOW_ERRORS);
    SSL_CONF_CTX_set_ssl_ctx(cctx, conf->ctx);
    ptc_str_t *kv = conf->conf_commands->elts;
    for (size_t i = 0; i + 1 < conf->conf_commands->nelts; i += 2) {
        char name[256], value[1024];
        snprintf(name, sizeof(name), PTC_STR_FMT, PTC_STR_ARG(kv[i]));
        snprintf(value, sizeof(value), PTC_STR_FMT, PTC_STR_ARG(kv[i + 1]));
        if (SSL_CONF_cmd(cctx, name, value) <= 0) {
            SSL_CONF_CTX_free(cctx);
            return ssl_error(cf, conf, "ssl_conf_command failed for ", name);
        }
    }
    int ok = SSL_CONF_CTX_finish(cctx);
    SSL_CONF_CTX_free(cctx);
    return ok == 1 ? NULL : ssl_error(cf, conf, "SSL_CONF_CTX_finish() failed", NULL);
}

static const char *
ssl_load_certificates(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    if (conf->certificates == NULL) {
        return NULL; /* ssl_reject_handshake without certificates */
    }
    ptc_http_ssl_file_t *certs = conf->certificates->elts;
    ptc_http_ssl_file_t *keys = conf->certificate_keys ? conf->certificate_keys->elts : NULL;
    size_t nkeys = conf->certificate_keys ? conf->certificate_keys->nelts : 0;
    if (nkeys < conf->certificates->nelts) {
        snprintf(cf->errbuf, cf->errlen,
                 "no \"ssl_certificate_key\" is defined for certificate \"" PTC_STR_FMT
                 "\" in %s:%u",
                 PTC_STR_ARG(certs[nkeys].path), certs[nkeys].file, certs[nkeys].line);
        cf->failed = true;
        return PTC_CONF_ERROR;
    }
    for (size_t i = 0; i < conf->certificates->nelts; i++) {
        char err[1024];
        int rc = ptc_ssl_certificate(conf->ctx, (char *)certs[i].path.data,
                                     (char *)keys[i].path.data, conf->passwords, err, sizeof(err));
        if (rc != PTC_OK) {
            /* a certificate problem names the ssl_certificate line, a key
             * problem (unreadable, wrong password, not matching) the key's */
            const ptc_http_ssl_file_t *at = rc == PTC_SSL_CERT_ERROR ? &certs[i] : &keys[i];
            snprintf(cf->errbuf, cf->errlen, "%s in %s:%u", err, at->file, at->line);
            cf->failed = true;
            return PTC_CONF_ERROR;
        }
    }
    return NULL;
}

static int ssl_servername(SSL *ssl, int *ad, void *arg);
static int ssl_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                           const unsigned char *in, unsigned int inlen, void *arg);

static const char *
ssl_build_ctx(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    conf->ctx = ptc_ssl_ctx_create(true, conf->protocols, ptc_cycle_main_log(cf));
    if (conf->ctx == NULL || ptc_ssl_ctx_cleanup(cf->pool, conf->ctx) != PTC_OK) {
        return "cannot create an SSL context";
    }
    SSL_CTX *ctx = conf->ctx;
    if (SSL_CTX_set_cipher_list(ctx, (char *)conf->ciphers.data) != 1) {
        return ssl_error(cf, conf, "invalid ssl_ciphers ", (char *)conf->ciphers.data);
    }
    if (conf->prefer_server_ciphers) {
        SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    }
    if (!ptc_str_eq_c(&conf->ecdh_curve, "auto")
        && SSL_CTX_set1_groups_list(ctx, (char *)conf->ecdh_curve.data) != 1) {
        return ssl_error(cf, conf, "invalid ssl_ecdh_curve ", (char *)conf->ecdh_curve.data);
    }
    const char *rv;
    if ((conf->dhparam.data && (rv = ssl_load_dhparam(cf, conf)) != NULL)
        || (rv = ssl_load_certificates(cf, conf)) != NULL) {
        return rv;
    }
    if (conf->early_data) {
        /* 0-RTT needs the request served before the client's Finished;
         * until that exists early data is declined (clients resend it
         * after the handshake), which is safe and says so */
        ptc_conf_warn(cf,
                      "\"ssl_early_data on\" is not supported yet: early data is declined "
                      "in %s:%u",
                      conf->file ? conf->file : "?", conf->line);
    }
    SSL_CTX_set_tlsext_servername_callback(ctx, ssl_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx, conf);
    SSL_CTX_set_alpn_select_cb(ctx, ssl_alpn_select, NULL);
    if ((rv = ptc_http_ssl_session_configure(cf, conf)) != NULL
        || (rv = ptc_http_ssl_verify_configure(cf, conf)) != NULL
        || (rv = ptc_http_ssl_stapling_configure(cf, conf)) != NULL) {
        return rv;
    }
    if (conf->conf_commands && (rv = ssl_conf_commands(cf, conf)) != NULL) {
        return rv;
    }
    return NULL;
}

static const char *
ssl_merge_srv(ptc_conf_t *cf, void *parent, void *child)
{
    ptc_http_ssl_srv_conf_t *prev = parent, *conf = child;
    ssl_merge_values(prev, conf);
    if (conf->certificates == NULL && !conf->reject_handshake) {
        return NULL; /* postconfig refuses `listen ... ssl` without a certificate */
    }
    /* Each server gets its own context even when the certificates come from
     * http{}: verify and session settings may differ per server. */
    return ssl_build_ctx(cf, conf);
}

/* ---- handshake hooks ---- */

static int
ssl_servername(SSL *ssl, int *ad, void *arg)
{
    const char *sn = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    ptc_conn_t *c = ptc_ssl_get_conn(ssl);
    const ptc_http_ssl_srv_conf_t *def = arg;
    if (sn == NULL || c == NULL) {
        if (def->reject_handshake) {
            *ad = SSL_AD_UNRECOGNIZED_NAME;
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        return SSL_TLSEXT_ERR_NOACK;
    }
    u_char lc[256];
    size_t len = strlen(sn);
    if (len == 0 || len >= sizeof(lc)) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    for (size_t i = 0; i < len; i++) {
        lc[i] = (u_char)(sn[i] >= 'A' && sn[i] <= 'Z' ? sn[i] | 0x20 : sn[i]);
    }
    ptc_str_t name = {len, lc};
    void **srv_conf = ptc_http_conn_find_server(c, &name);
    if (srv_conf == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    ptc_http_ssl_srv_conf_t *sscf = srv_conf[ptc_http_ssl_module.ctx_index];
    if (sscf->reject_handshake) {
        ptc_log_error(PTC_LOG_INFO, c->log, 0, "reject handshake for \"%s\"", sn);
        *ad = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    if (sscf->ctx == NULL || sscf->ctx == SSL_get_SSL_CTX(ssl)) {
        return SSL_TLSEXT_ERR_OK;
    }
    SSL_set_SSL_CTX(ssl, sscf->ctx);
    /* SSL_set_SSL_CTX swaps certificates only: take the other settings too */
    SSL_set_options(ssl, SSL_CTX_get_options(sscf->ctx));
    ptc_http_ssl_verify_switch(ssl, sscf);
    return SSL_TLSEXT_ERR_OK;
}

static int
ssl_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                unsigned int inlen, void *arg)
{
    static const unsigned char http1[] = "\x08http/1.1\x08http/1.0";
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, http1, sizeof(http1) - 1, in, inlen)
        != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
    }
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static void
ssl_handshake_done(ptc_conn_t *c)
{
    ptc_http_ssl_handshaked(c);
}

static int
ssl_start(ptc_conn_t *c, void **srv_conf)
{
    ptc_http_ssl_srv_conf_t *sscf = srv_conf[ptc_http_ssl_module.ctx_index];
    if (sscf->ctx == NULL || ptc_ssl_create_conn(c, sscf->ctx, false) != PTC_OK) {
        return PTC_ERROR;
    }
    c->ssl->handler = ssl_handshake_done;
    int rc = ptc_ssl_handshake(c);
    if (rc == PTC_OK) {
        ptc_http_ssl_handshaked(c);
        return PTC_OK;
    }
    return rc == PTC_AGAIN ? PTC_OK : PTC_ERROR;
}

static int
ssl_preconfig(ptc_conf_t *cf)
{
    if (ptc_ssl_init(ptc_cycle_main_log(cf)) != PTC_OK) {
        return PTC_ERROR;
    }
    ptc_http_ssl_start = ssl_start;
    return ptc_http_ssl_add_variables(cf);
}

/* Every `listen ... ssl` needs a certificate in its server (nginx's check). */
static int
ssl_postconfig(ptc_conf_t *cf)
{
    if (ptc_http_ssl_verify_postconfig(cf) != PTC_OK) {
        return PTC_ERROR;
    }
    ptc_http_core_main_conf_t *cmcf = ptc_http_conf_get_main(cf, ptc_http_core_module);
    ptc_http_listen_opt_t *lo = cmcf->listens.elts;
    for (size_t i = 0; i < cmcf->listens.nelts; i++) {
        if (!lo[i].ssl) {
            continue;
        }
        ptc_http_ssl_srv_conf_t *sscf = lo[i].server->ctx->srv_conf[ptc_http_ssl_module.ctx_index];
        if (sscf->ctx == NULL && !sscf->reject_handshake) {
            snprintf(cf->errbuf, cf->errlen,
                     "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive "
                     "in %s:%u",
                     lo[i].file, lo[i].line);
            cf->failed = true;
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}
