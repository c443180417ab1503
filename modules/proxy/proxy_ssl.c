/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS towards origins: the proxy_ssl_* settings, one client context per
 * distinct set of them (built at config time, shared by the locations that
 * have the same), the non-blocking handshake after connect (a PROXY header
 * goes first, in plain), certificate and name verification, SNI, and saved
 * sessions per worker keyed by context, peer and name: a resumed session
 * never lets a location skip a verification its own settings demand. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "core/ptc_alloc.h"
#include "core/ptc_cycle.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_ssl.h"
#include "core/ptc_time.h"
#include "modules/proxy/proxy_ctx.h"

#define PROXY_SSL_SESSIONS 128 /* saved sessions per context, per worker */
#define PROXY_SSL_NAME_MAX 255 /* longest DNS name (SNI limit) */

/* What a TLS connection to an origin was made for. Hung on its SSL object
 * (freed with it); the session cache and the keep-alive pool match on it. */
typedef struct {
    struct sockaddr_storage sockaddr;
    socklen_t socklen;
    size_t name_len;
    u_char name[PROXY_SSL_NAME_MAX + 1];
    long verify_error; /* the first certificate error seen in the handshake, 0: none */
} proxy_ssl_key_t;

typedef struct {
    proxy_ssl_key_t key;
    SSL_SESSION *session; /* NULL: a free slot */
    ptc_msec_t used;
} proxy_ssl_saved_t;

struct proxy_ssl_s {
    SSL_CTX *ctx;
    ptc_str_t settings; /* canonical text of what it was built from (sharing) */
    bool verify;
    bool session_reuse;
    proxy_ssl_saved_t *saved; /* PROXY_SSL_SESSIONS slots, made by a worker on first use */
};

static int proxy_ssl_key_index = -1;

static void
proxy_ssl_key_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    ptc_free(ptr);
}

int
ptc_proxy_ssl_init(ptc_conf_t *cf)
{
    if (ptc_ssl_init(ptc_cycle_main_log(cf)) != PTC_OK) {
        return PTC_ERROR;
    }
    if (proxy_ssl_key_index < 0) {
        proxy_ssl_key_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, proxy_ssl_key_free);
        if (proxy_ssl_key_index < 0) {
            ptc_ssl_error(PTC_LOG_EMERG, ptc_cycle_main_log(cf), 0,
                          "SSL_get_ex_new_index() failed");
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

/* ---- directives ---- */

void
ptc_proxy_ssl_create_conf(proxy_ssl_conf_t *conf)
{
    conf->verify = PTC_CONF_UNSET;
    conf->verify_depth = PTC_CONF_UNSET;
    conf->server_name = PTC_CONF_UNSET;
    conf->session_reuse = PTC_CONF_UNSET;
    conf->protocols = PTC_CONF_UNSET_UINT;
    conf->passwords = PTC_CONF_UNSET_PTR;
    conf->conf_commands = PTC_CONF_UNSET_PTR;
    conf->name = PTC_CONF_UNSET_PTR;
}

const char *
ptc_proxy_ssl_set_protocols(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    unsigned *protocols = (unsigned *)((char *)conf + d->offset);
    if (*protocols != PTC_CONF_UNSET_UINT) {
        return "is duplicate";
    }
    *protocols = 0;
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        unsigned bit = ptc_ssl_protocol_bit(ptc_conf_arg(cf, i));
        if (bit == 0) {
            return ptc_conf_error(cf, "invalid value \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*ptc_conf_arg(cf, i)));
        }
        if (bit == PTC_SSL_SSLv2) {
            ptc_conf_warn(cf, "SSLv2 is not supported by OpenSSL 3: ignored");
        }
        *protocols |= bit;
    }
    return NULL;
}

const char *
ptc_proxy_ssl_set_password_file(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_array_t **passwords = (ptc_array_t **)((char *)conf + d->offset);
    if (*passwords != PTC_CONF_UNSET_PTR) {
        return "is duplicate";
    }
    char *path = ptc_conf_full_path(cf, ptc_conf_arg(cf, 1), true);
    if (path == NULL) {
        return "out of memory";
    }
    char err[512];
    *passwords = ptc_ssl_read_password_file(cf->pool, path, err, sizeof(err));
    return *passwords ? NULL : ptc_conf_error(cf, "%s", err);
}

const char *
ptc_proxy_ssl_set_conf_command(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_array_t **cmds = (ptc_array_t **)((char *)conf + d->offset);
    if (*cmds == PTC_CONF_UNSET_PTR
        && (*cmds = ptc_array_create(cf->pool, 4, sizeof(ptc_str_t))) == NULL) {
        return "out of memory";
    }
    ptc_str_t *kv = ptc_array_push_n(*cmds, 2);
    if (kv == NULL) {
        return "out of memory";
    }
    kv[0] = *ptc_conf_arg(cf, 1);
    kv[1] = *ptc_conf_arg(cf, 2);
    return NULL;
}

const char *
ptc_proxy_ssl_set_name(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_complex_value_t **cv = (ptc_http_complex_value_t **)((char *)conf + d->offset);
    if (*cv != PTC_CONF_UNSET_PTR) {
        return "is duplicate";
    }
    *cv = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 1));
    return *cv ? NULL : PTC_CONF_ERROR;
}

/* ---- building contexts ---- */

/* "MSG "ARG": openssl reasons in FILE:LINE" (the location's proxy_pass). */
static const char *
proxy_ssl_conf_error(ptc_conf_t *cf, const proxy_loc_conf_t *conf, const char *msg,
                     const ptc_str_t *arg)
{
    u_char why[512];
    char quoted[1024] = "";
    *ptc_ssl_error_text(why, sizeof(why) - 1) = '\0';
    if (arg) {
        snprintf(quoted, sizeof(quoted), " \"" PTC_STR_FMT "\"", PTC_STR_ARG(*arg));
    }
    snprintf(cf->errbuf, cf->errlen, "%s%s%s%s in %s:%u", msg, quoted, *why ? ": " : "",
             (char *)why, conf->file, conf->line);
    cf->failed = true;
    return PTC_CONF_ERROR;
}

/* Every setting that goes into the context, as one text: locations whose
 * texts are equal share a context (and so its saved sessions). */
static int
proxy_ssl_settings(ptc_conf_t *cf, const proxy_ssl_conf_t *sc, ptc_str_t *out)
{
    const ptc_str_t *strs[] = {&sc->trusted_certificate, &sc->crl, &sc->certificate,
                               &sc->certificate_key, &sc->ciphers};
    const ptc_array_t *lists[] = {sc->passwords, sc->conf_commands};
    size_t size = 96;
    for (size_t i = 0; i < ptc_nelems(strs); i++) {
        size += strs[i]->len + 24;
    }
    for (size_t i = 0; i < ptc_nelems(lists); i++) {
        const ptc_str_t *s = lists[i] ? lists[i]->elts : NULL;
        for (size_t j = 0; lists[i] && j < lists[i]->nelts; j++) {
            size += s[j].len + 24;
        }
    }
    u_char *p = ptc_pnalloc(cf->pool, size), *end = p + size;
    if (p == NULL) {
        return PTC_ERROR;
    }
    out->data = p;
    /* proxy_ssl_server_name acts per connection, yet connections and
     * sessions made with SNI are kept apart from those made without */
    p = ptc_sprintf(p, (size_t)(end - p), "%d %lld %d %d %u", sc->verify,
                    (long long)sc->verify_depth, sc->session_reuse, sc->server_name, sc->protocols);
    /* length-prefixed, so no two different settings give the same text */
    for (size_t i = 0; i < ptc_nelems(strs); i++) {
        p = ptc_sprintf(p, (size_t)(end - p), " %zu:" PTC_STR_FMT, strs[i]->len,
                        PTC_STR_ARG(*strs[i]));
    }
    for (size_t i = 0; i < ptc_nelems(lists); i++) {
        const ptc_str_t *s = lists[i] ? lists[i]->elts : NULL;
        size_t n = lists[i] ? lists[i]->nelts : 0;
        p = ptc_sprintf(p, (size_t)(end - p), " [%zu]", n);
        for (size_t j = 0; j < n; j++) {
            p = ptc_sprintf(p, (size_t)(end - p), " %zu:" PTC_STR_FMT, s[j].len, PTC_STR_ARG(s[j]));
        }
    }
    out->len = (size_t)(p - out->data);
    return PTC_OK;
}

static int proxy_ssl_verify_cb(int ok, X509_STORE_CTX *xs);
static int proxy_ssl_new_session(SSL *ssl, SSL_SESSION *session);

static void
proxy_ssl_free_saved(void *data)
{
    proxy_ssl_t *ps = data;
    for (size_t i = 0; ps->saved && i < PROXY_SSL_SESSIONS; i++) {
        SSL_SESSION_free(ps->saved[i].session);
    }
    ptc_free(ps->saved);
    ps->saved = NULL;
}

static const char *
proxy_ssl_conf_commands(ptc_conf_t *cf, const proxy_loc_conf_t *conf, SSL_CTX *ctx)
{
    SSL_CONF_CTX *cctx = SSL_CONF_CTX_new();
    if (cctx == NULL) {
        return "out of memory";
    }
    SSL_CONF_CTX_set_flags(cctx, SSL_CONF_FLAG_FILE | SSL_CONF_FLAG_CLIENT
                                     | SSL_CONF_FLAG_CERTIFICATE | SSL_CONF_FLAG_SHOW_ERRORS);
    SSL_CONF_CTX_set_ssl_ctx(cctx, ctx);
    const ptc_str_t *kv = conf->ssl.conf_commands->elts;
    for (size_t i = 0; i + 1 < conf->ssl.conf_commands->nelts; i += 2) {
        if (SSL_CONF_cmd(cctx, (char *)kv[i].data, (char *)kv[i + 1].data) <= 0) {
            SSL_CONF_CTX_free(cctx);
            return proxy_ssl_conf_error(cf, conf, "proxy_ssl_conf_command failed for", &kv[i]);
        }
    }
    int ok = SSL_CONF_CTX_finish(cctx);
    SSL_CONF_CTX_free(cctx);
    return ok == 1 ? NULL : proxy_ssl_conf_error(cf, conf, "SSL_CONF_CTX_finish() failed", NULL);
}

/* Certificates: the client's own (proxy_ssl_certificate), the trusted CAs
 * and the CRL. */
static const char *
proxy_ssl_load_files(ptc_conf_t *cf, const proxy_loc_conf_t *conf, SSL_CTX *ctx)
{
    const proxy_ssl_conf_t *sc = &conf->ssl;
    if (sc->certificate.len) {
        if (sc->certificate_key.len == 0) {
            return proxy_ssl_conf_error(
                cf, conf, "no \"proxy_ssl_certificate_key\" is defined for certificate",
                &sc->certificate);
        }
        char err[1024];
        if (ptc_ssl_certificate(ctx, (char *)sc->certificate.data, (char *)sc->certificate_key.data,
                                sc->passwords, err, sizeof(err))
            != PTC_OK) {
            snprintf(cf->errbuf, cf->errlen, "%s in %s:%u", err, conf->file, conf->line);
            cf->failed = true;
            return PTC_CONF_ERROR;
        }
    }
    if (sc->verify && sc->trusted_certificate.len == 0) {
        return proxy_ssl_conf_error(cf, conf,
                                    "no proxy_ssl_trusted_certificate for proxy_ssl_verify", NULL);
    }
    if (sc->trusted_certificate.len
        && SSL_CTX_load_verify_locations(ctx, (char *)sc->trusted_certificate.data, NULL) != 1) {
        return proxy_ssl_conf_error(cf, conf, "cannot load proxy_ssl_trusted_certificate",
                                    &sc->trusted_certificate);
    }
    if (sc->crl.len) {
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        if (lookup == NULL
            || X509_load_crl_file(lookup, (char *)sc->crl.data, X509_FILETYPE_PEM) == 0) {
            return proxy_ssl_conf_error(cf, conf, "cannot load proxy_ssl_crl", &sc->crl);
        }
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    }
    return NULL;
}

static const char *
proxy_ssl_build(ptc_conf_t *cf, const proxy_loc_conf_t *conf, proxy_ssl_t *ps)
{
    const proxy_ssl_conf_t *sc = &conf->ssl;
    ERR_clear_error();
    SSL_CTX *ctx = ptc_ssl_ctx_create(false, sc->protocols, ptc_cycle_main_log(cf));
    if (ctx == NULL || ptc_ssl_ctx_cleanup(cf->pool, ctx) != PTC_OK) {
        return "cannot create an SSL context";
    }
    ps->ctx = ctx;
    ps->verify = sc->verify;
    ps->session_reuse = sc->session_reuse;
    SSL_CTX_set_app_data(ctx, ps);
    if (SSL_CTX_set_cipher_list(ctx, (char *)sc->ciphers.data) != 1) {
        return proxy_ssl_conf_error(cf, conf, "invalid proxy_ssl_ciphers", &sc->ciphers);
    }
    const char *rv = proxy_ssl_load_files(cf, conf, ctx);
    if (rv) {
        return rv;
    }
    /* the chain, then the name (set per connection), are checked in the
     * handshake, which a failure aborts with an alert to the origin */
    SSL_CTX_set_verify(ctx, sc->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                       sc->verify ? proxy_ssl_verify_cb : NULL);
    SSL_CTX_set_verify_depth(ctx, (int)sc->verify_depth);
    if (sc->session_reuse) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
        SSL_CTX_sess_set_new_cb(ctx, proxy_ssl_new_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    if (sc->conf_commands && (rv = proxy_ssl_conf_commands(cf, conf, ctx)) != NULL) {
        return rv;
    }
    ptc_pool_cleanup_t *cln = ptc_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return "out of memory";
    }
    cln->handler = proxy_ssl_free_saved;
    cln->data = ps;
    return NULL;
}

static void
proxy_ssl_merge_str(ptc_str_t *conf, const ptc_str_t *prev, const char *def)
{
    if (conf->data == NULL) {
        if (prev->data) {
            *conf = *prev;
        } else if (def) {
            ptc_str_set(conf, def);
        }
    }
}

const char *
ptc_proxy_ssl_merge(ptc_conf_t *cf, proxy_loc_conf_t *prev, proxy_loc_conf_t *conf,
                    ptc_array_t *shared)
{
    proxy_ssl_conf_t *p = &prev->ssl, *c = &conf->ssl;
    ptc_conf_merge_value(c->verify, p->verify, 0);
    ptc_conf_merge_value(c->verify_depth, p->verify_depth, 1);
    ptc_conf_merge_value(c->server_name, p->server_name, 0);
    ptc_conf_merge_value(c->session_reuse, p->session_reuse, 1);
    if (c->protocols == PTC_CONF_UNSET_UINT) {
        c->protocols =
            p->protocols == PTC_CONF_UNSET_UINT ? PTC_SSL_DEFAULT_PROTOCOLS : p->protocols;
    }
    proxy_ssl_merge_str(&c->trusted_certificate, &p->trusted_certificate, NULL);
    proxy_ssl_merge_str(&c->crl, &p->crl, NULL);
    proxy_ssl_merge_str(&c->certificate, &p->certificate, NULL);
    proxy_ssl_merge_str(&c->certificate_key, &p->certificate_key, NULL);
    proxy_ssl_merge_str(&c->ciphers, &p->ciphers, "DEFAULT");
    ptc_conf_merge_ptr(c->passwords, p->passwords, NULL);
    ptc_conf_merge_ptr(c->conf_commands, p->conf_commands, NULL);
    ptc_conf_merge_ptr(c->name, p->name, NULL);
    if (!conf->set || (!conf->https && conf->url_cv == NULL)) {
        return NULL; /* this location never speaks TLS */
    }
    ptc_str_t settings;
    if (proxy_ssl_settings(cf, c, &settings) != PTC_OK) {
        return "out of memory";
    }
    proxy_ssl_t **all = shared->elts;
    for (size_t i = 0; i < shared->nelts; i++) {
        if (ptc_str_eq(&all[i]->settings, &settings)) {
            conf->ssl_ctx = all[i];
            return NULL;
        }
    }
    proxy_ssl_t *ps = ptc_pcalloc(cf->pool, sizeof(*ps));
    proxy_ssl_t **slot = ptc_array_push(shared);
    if (ps == NULL || slot == NULL) {
        return "out of memory";
    }
    ps->settings = settings;
    const char *rv = proxy_ssl_build(cf, conf, ps);
    if (rv) {
        shared->nelts--;
        return rv;
    }
    *slot = ps;
    conf->ssl_ctx = ps;
    return NULL;
}

/* ---- saved sessions ---- */

static bool
proxy_ssl_key_eq(const proxy_ssl_key_t *a, const proxy_ssl_key_t *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0
           && ptc_sockaddr_eq((const struct sockaddr *)&a->sockaddr, a->socklen,
                              (const struct sockaddr *)&b->sockaddr, b->socklen);
}

/* The slot saved for key; with `create`, a free or the least recently used
 * one (its session dropped) when there is none. NULL: none / no memory. */
static proxy_ssl_saved_t *
proxy_ssl_saved(proxy_ssl_t *ps, const proxy_ssl_key_t *key, bool create)
{
    if (ps->saved == NULL) {
        if (!create || (ps->saved = ptc_calloc(PROXY_SSL_SESSIONS * sizeof(*ps->saved))) == NULL) {
            return NULL;
        }
    }
    proxy_ssl_saved_t *victim = &ps->saved[0];
    for (size_t i = 0; i < PROXY_SSL_SESSIONS; i++) {
        proxy_ssl_saved_t *s = &ps->saved[i];
        if (s->session && proxy_ssl_key_eq(&s->key, key)) {
            s->used = ptc_current_msec;
            return s;
        }
        if (victim->session && (s->session == NULL || s->used < victim->used)) {
            victim = s;
        }
    }
    if (!create) {
        return NULL;
    }
    SSL_SESSION_free(victim->session);
    victim->session = NULL;
    victim->key = *key;
    victim->key.verify_error = 0;
    victim->used = ptc_current_msec;
    return victim;
}

/* OpenSSL hands over each new session (TLS 1.3: each ticket, possibly
 * after the handshake). It is kept only when it passed this context's
 * verification, chain and name: a resumption skips both. */
static int
proxy_ssl_new_session(SSL *ssl, SSL_SESSION *session)
{
    proxy_ssl_t *ps = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    const proxy_ssl_key_t *key = SSL_get_ex_data(ssl, proxy_ssl_key_index);
    if (ps == NULL || key == NULL || (ps->verify && SSL_get_verify_result(ssl) != X509_V_OK)) {
        return 0;
    }
    proxy_ssl_saved_t *s = proxy_ssl_saved(ps, key, true);
    if (s == NULL) {
        return 0;
    }
    SSL_SESSION_free(s->session);
    s->session = session;
    return 1; /* the reference is ours now */
}

/* The first certificate error ends the handshake; it is kept to be logged
 * in nginx's words. */
static int
proxy_ssl_verify_cb(int ok, X509_STORE_CTX *xs)
{
    if (!ok) {
        SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
        proxy_ssl_key_t *key = ssl ? SSL_get_ex_data(ssl, proxy_ssl_key_index) : NULL;
        if (key && key->verify_error == 0) {
            key->verify_error = X509_STORE_CTX_get_error(xs);
        }
    }
    return ok;
}

/* ---- per request ---- */

static bool
proxy_ssl_is_ip(const char *name)
{
    u_char addr[16];
    return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

void
ptc_proxy_ssl_host_part(const ptc_str_t *name, ptc_str_t *host)
{
    *host = *name;
    if (host->len && host->data[0] == '[') {
        const u_char *end = memchr(host->data, ']', host->len);
        host->data++;
        host->len = end ? (size_t)(end - host->data) : host->len - 1;
        return;
    }
    const u_char *colon = memchr(host->data, ':', host->len);
    if (colon && memchr(colon + 1, ':', host->len - (size_t)(colon + 1 - host->data)) == NULL) {
        host->len = (size_t)(colon - host->data);
    }
}

int
ptc_proxy_ssl_name(proxy_ctx_t *ctx)
{
    ptc_http_request_t *r = ctx->r;
    ptc_str_t value = ctx->host, name;
    if (ctx->plcf->ssl.name && ptc_http_complex_value(r, ctx->plcf->ssl.name, &value) != PTC_OK) {
        return PTC_ERROR;
    }
    ptc_proxy_ssl_host_part(&value, &name);
    if (name.len > PROXY_SSL_NAME_MAX) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "upstream SSL name \"%.*s\" is too long",
                      PTC_STR_ARG(name));
        return PTC_ERROR;
    }
    u_char *p = ptc_pnalloc(r->pool, name.len + 1);
    if (p == NULL) {
        return PTC_ERROR;
    }
    memcpy(p, name.data, name.len); /* sent as written, as nginx does */
    p[name.len] = '\0';
    ctx->ssl_name.data = p;
    ctx->ssl_name.len = name.len;
    ctx->ssl_name_ip = name.len && proxy_ssl_is_ip((char *)p);
    return PTC_OK;
}

bool
ptc_proxy_ssl_match(const proxy_ctx_t *ctx, const ptc_conn_t *c)
{
    if (c->ssl == NULL || ctx->ssl == NULL) {
        return c->ssl == NULL && ctx->ssl == NULL;
    }
    if (c->ssl->initial_ctx != ctx->ssl->ctx) {
        return false;
    }
    const proxy_ssl_key_t *key = SSL_get_ex_data(c->ssl->ssl, proxy_ssl_key_index);
    return key && key->name_len == ctx->ssl_name.len
           && memcmp(key->name, ctx->ssl_name.data, key->name_len) == 0;
}

bool
ptc_proxy_ssl_idle_alive(ptc_conn_t *c)
{
    /* a TLS record that carries no data (a late session ticket, a key
     * update) makes an idle connection readable without ending it */
    u_char byte;
    return c->recv(c, &byte, 1) == PTC_AGAIN;
}

/* The SSL object of a new connection: its key, SNI, the name to verify
 * and the session saved for the same context, peer and name. */
static int
proxy_ssl_create(proxy_ctx_t *ctx)
{
    ptc_conn_t *uc = ctx->uc;
    proxy_ssl_key_t *key = ptc_calloc(sizeof(*key));
    if (key == NULL || ptc_ssl_create_conn(uc, ctx->ssl->ctx, true) != PTC_OK) {
        ptc_free(key);
        return PTC_ERROR;
    }
    SSL *ssl = uc->ssl->ssl;
    memcpy(&key->sockaddr, &ctx->peer->sockaddr, ctx->peer->socklen);
    key->socklen = ctx->peer->socklen;
    key->name_len = ctx->ssl_name.len;
    memcpy(key->name, ctx->ssl_name.data, ctx->ssl_name.len);
    if (SSL_set_ex_data(ssl, proxy_ssl_key_index, key) != 1) {
        ptc_free(key);
        ptc_ssl_error(PTC_LOG_ALERT, uc->log, 0, "SSL_set_ex_data() failed");
        return PTC_ERROR;
    }
    const char *name = (const char *)ctx->ssl_name.data;
    /* RFC 6066 §3: no literal addresses in SNI */
    if (ctx->plcf->ssl.server_name && key->name_len && !ctx->ssl_name_ip
        && SSL_set_tlsext_host_name(ssl, name) != 1) {
        ptc_ssl_error(PTC_LOG_ERR, uc->log, 0, "SSL_set_tlsext_host_name(\"%s\") failed", name);
        return PTC_ERROR;
    }
    if (ctx->ssl->verify && key->name_len) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        int ok = ctx->ssl_name_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name)
                                  : X509_VERIFY_PARAM_set1_host(vp, name, key->name_len);
        if (ok != 1) {
            ptc_ssl_error(PTC_LOG_ERR, uc->log, 0, "X509_VERIFY_PARAM_set1_host(\"%s\") failed",
                          name);
            return PTC_ERROR;
        }
    }
    if (ctx->ssl->session_reuse) {
        proxy_ssl_saved_t *s = proxy_ssl_saved(ctx->ssl, key, false);
        if (s && SSL_set_session(ssl, s->session) != 1) {
            ERR_clear_error(); /* a full handshake then */
        }
    }
    return PTC_OK;
}

/* After a handshake with proxy_ssl_verify on (done, or failed because of
 * the certificate): PTC_OK, or PTC_ERROR with the reason logged in nginx's
 * words. A resumed session carries the result of its full handshake. */
static int
proxy_ssl_check(proxy_ctx_t *ctx)
{
    ptc_conn_t *uc = ctx->uc;
    SSL *ssl = uc->ssl->ssl;
    long rc = SSL_get_verify_result(ssl);
    if (rc != X509_V_OK) {
        const proxy_ssl_key_t *key = SSL_get_ex_data(ssl, proxy_ssl_key_index);
        long first = key && key->verify_error ? key->verify_error : rc;
        if (first == X509_V_ERR_HOSTNAME_MISMATCH || first == X509_V_ERR_IP_ADDRESS_MISMATCH) {
            ptc_log_error(PTC_LOG_ERR, uc->log, 0, "upstream SSL certificate does not match \"%s\"",
                          (char *)ctx->ssl_name.data);
        } else {
            ptc_log_error(PTC_LOG_ERR, uc->log, 0,
                          "upstream SSL certificate verify error: (%ld:%s)", first,
                          X509_verify_cert_error_string(first));
        }
        return PTC_ERROR;
    }
    if (SSL_get0_peer_certificate(ssl) == NULL) {
        ptc_log_error(PTC_LOG_ERR, uc->log, 0, "upstream sent no required SSL certificate");
        return PTC_ERROR;
    }
    return PTC_OK;
}

static void proxy_ssl_event(ptc_event_t *ev);

static void
proxy_ssl_handshake(proxy_ctx_t *ctx)
{
    ptc_conn_t *uc = ctx->uc;
    int rc = ptc_ssl_handshake(uc);
    if (rc == PTC_AGAIN) {
        uc->read->handler = proxy_ssl_event;
        uc->write->handler = proxy_ssl_event;
        return;
    }
    if (rc != PTC_OK) {
        if (ctx->ssl->verify && SSL_get_verify_result(uc->ssl->ssl) != X509_V_OK) {
            (void)proxy_ssl_check(ctx); /* not logged by the handshake */
        }
        ptc_proxy_ssl_done(ctx, PROXY_FT_ERROR);
        return;
    }
    if (ctx->ssl->verify && proxy_ssl_check(ctx) != PTC_OK) {
        ptc_proxy_ssl_done(ctx, PROXY_FT_ERROR);
        return;
    }
    ptc_proxy_ssl_done(ctx, 0);
}

/* The PROXY header (if any) names the client to the origin before TLS
 * starts; then the handshake begins. */
static void
proxy_ssl_begin(proxy_ctx_t *ctx)
{
    ptc_conn_t *uc = ctx->uc;
    if (ctx->pp) {
        ptc_chain_t *rest = uc->send_chain(uc, ctx->pp, 0);
        if (rest == (ptc_chain_t *)-1) {
            ptc_log_error(PTC_LOG_ERR, uc->log, errno, "send() of the PROXY header failed");
            ptc_proxy_ssl_done(ctx, PROXY_FT_ERROR);
            return;
        }
        ctx->pp = rest;
        if (rest) {
            uc->read->handler = proxy_ssl_event;
            uc->write->handler = proxy_ssl_event;
            return;
        }
    }
    if (proxy_ssl_create(ctx) != PTC_OK) {
        ptc_proxy_ssl_done(ctx, PROXY_FT_ERROR);
        return;
    }
    proxy_ssl_handshake(ctx);
}

static void
proxy_ssl_event(ptc_event_t *ev)
{
    ptc_conn_t *uc = ev->data;
    proxy_ctx_t *ctx = uc->data;
    if (ev->timedout) {
        ptc_log_error(PTC_LOG_ERR, uc->log, ETIMEDOUT, "upstream timed out");
        if (uc->ssl) {
            uc->ssl->no_send_shutdown = 1;
        }
        ptc_proxy_ssl_done(ctx, PROXY_FT_TIMEOUT);
        return;
    }
    if (ctx->pp) {
        proxy_ssl_begin(ctx);
        return;
    }
    proxy_ssl_handshake(ctx);
}

void
ptc_proxy_ssl_start(proxy_ctx_t *ctx)
{
    ptc_conn_t *uc = ctx->uc;
    ptc_http_request_t *r = ctx->r;
    ctx->state = PX_SSL;
    /* proxy_connect_timeout bounds the connect and the handshake together */
    if (!uc->write->timer_set) {
        ptc_event_add_timer(uc->write, ctx->plcf->connect_timeout);
    }
    /* what is logged during the handshake says so, and names the peer */
    ptc_log_t *log = ptc_palloc(r->pool, sizeof(*log));
    size_t len = sizeof("SSL handshaking to upstream, upstream: \"\"") + ctx->peer->name.len;
    u_char *action = ptc_pnalloc(r->pool, len);
    if (log == NULL || action == NULL) {
        ptc_proxy_ssl_done(ctx, PROXY_FT_ERROR);
        return;
    }
    ptc_sprintf(action, len, "SSL handshaking to upstream, upstream: \"" PTC_STR_FMT "\"",
                PTC_STR_ARG(ctx->peer->name));
    *log = *r->c->log;
    log->action = (const char *)action;
    uc->log = uc->read->log = uc->write->log = log;
    proxy_ssl_begin(ctx);
}
