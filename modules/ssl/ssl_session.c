/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS session resumption: ssl_session_cache (off, none, builtin, shared),
 * ssl_session_timeout, ssl_session_tickets and ssl_session_ticket_key.
 *
 * The shared cache is a fixed table of equal slots in a shared-memory zone
 * (one session, serialized with i2d_SSL_SESSION, per slot), an open hash
 * index over the session ids and an LRU list through the slots, under one
 * process-shared lock. Fixed slots need no allocator inside the zone and
 * make "full" simple: the least recently used session goes. A session too
 * big for a slot (one that carries a large client certificate chain) is not
 * cached; the client then does a full handshake, as with any cache miss.
 *
 * OpenSSL consults the cache and ticket keys of the context the handshake
 * started on (the address's default server), also after SNI switched
 * servers; each server's session id context (a digest of its certificates
 * and verify settings) keeps a session from resuming in another server. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/ptc_pool.h"
#include "core/ptc_time.h"
#include "modules/ssl/ssl_int.h"

#define SESS_SLOT_DATA 480 /* serialized session bytes per slot */
#define SESS_NONE      UINT32_MAX

typedef struct {
    uint32_t prev, next; /* LRU list: head is the most recent */
    uint32_t hnext;      /* hash chain */
    uint32_t hash;
    int64_t expire; /* seconds */
    uint8_t id_len;
    uint8_t id[SSL_MAX_SSL_SESSION_ID_LENGTH];
    uint16_t len;
    uint8_t data[SESS_SLOT_DATA];
} sess_slot_t;

typedef struct {
    volatile int lock; /* pid of the holder, 0 when free */
    uint32_t nslots, nbuckets;
    uint32_t head, tail, free;
    uint32_t used;
    /* then: uint32_t buckets[nbuckets]; sess_slot_t slots[nslots] */
} sess_shm_t;

typedef struct {
    u_char name[16];
    u_char hmac[32];
    u_char aes[32];
    size_t size; /* 48 (AES-128) or 80 (AES-256) */
} sess_ticket_key_t;

static int sess_ctx_index = -1;

typedef struct {
    ptc_shm_zone_t *zone;     /* shared cache, or NULL */
    ptc_array_t *ticket_keys; /* sess_ticket_key_t, or NULL */
    int64_t timeout;          /* seconds */
} sess_ctx_t;

/* ---- directive ---- */

static const char *
sess_parse_shared(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *sscf, const ptc_str_t *a)
{
    /* shared:NAME:SIZE */
    u_char *colon = a->len > 7 ? memchr(a->data + 7, ':', a->len - 7) : NULL;
    if (colon == NULL || colon == a->data + 7) {
        return ptc_conf_error(cf, "invalid session cache \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
    }
    ptc_str_t name = {(size_t)(colon - a->data - 7), a->data + 7};
    ptc_str_t sz = {(size_t)(a->data + a->len - colon - 1), colon + 1};
    int64_t size = ptc_parse_size(&sz);
    if (size < 8 * 4096) {
        return ptc_conf_error(cf, "session cache \"" PTC_STR_FMT "\" is too small",
                              PTC_STR_ARG(*a));
    }
    sscf->session_zone = ptc_cycle_add_shm(cf, &name, (size_t)size, &ptc_http_ssl_module);
    return sscf->session_zone ? NULL : PTC_CONF_ERROR;
}

const char *
ptc_http_ssl_session_cache(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_ssl_srv_conf_t *sscf = conf;
    if (sscf->session_cache != SSL_SESSION_CACHE_UNSET) {
        return "is duplicate";
    }
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        const ptc_str_t *a = ptc_conf_arg(cf, i);
        const char *rv = NULL;
        if (ptc_str_eq_c(a, "off") || ptc_str_eq_c(a, "none")) {
            if (ptc_conf_nargs(cf) != 2) {
                return ptc_conf_error(cf, "invalid session cache \"" PTC_STR_FMT "\"",
                                      PTC_STR_ARG(*a));
            }
            sscf->session_cache =
                a->data[1] == 'f' ? SSL_SESSION_CACHE_OFF : SSL_SESSION_CACHE_NONE;
            return NULL;
        }
        if (ptc_str_eq_c(a, "builtin")) {
            sscf->builtin_session_cache = 20480;
        } else if (a->len > 8 && memcmp(a->data, "builtin:", 8) == 0) {
            int64_t n = ptc_atoi(a->data + 8, a->len - 8);
            if (n <= 0) {
                return ptc_conf_error(cf, "invalid session cache \"" PTC_STR_FMT "\"",
                                      PTC_STR_ARG(*a));
            }
            sscf->builtin_session_cache = (ssize_t)n;
        } else if (a->len > 7 && memcmp(a->data, "shared:", 7) == 0) {
            rv = sess_parse_shared(cf, sscf, a);
        } else {
            rv = ptc_conf_error(cf, "invalid session cache \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
        }
        if (rv) {
            return rv;
        }
    }
    sscf->session_cache = SSL_SESSION_CACHE_ON;
    return NULL;
}

/* ---- the shared table ---- */

static inline uint32_t *
sess_buckets(sess_shm_t *sh)
{
    return (uint32_t *)(sh + 1);
}

static inline sess_slot_t *
sess_slots(sess_shm_t *sh)
{
    /* the slots hold 64-bit fields: align them past the bucket array */
    return (sess_slot_t *)ptc_align((uintptr_t)(sess_buckets(sh) + sh->nbuckets), 8);
}

static void
sess_lock(sess_shm_t *sh)
{
    int me = (int)getpid();
    for (unsigned spins = 0;; spins++) {
        int expected = 0;
        if (__atomic_compare_exchange_n(&sh->lock, &expected, me, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            return;
        }
        if ((spins & 0xfff) == 0xfff && expected && kill(expected, 0) == -1 && errno == ESRCH) {
            /* the holder died mid-update: take the lock over */
            __atomic_compare_exchange_n(&sh->lock, &expected, 0, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED);
        }
        __builtin_ia32_pause();
    }
}

static void
sess_unlock(sess_shm_t *sh)
{
    __atomic_store_n(&sh->lock, 0, __ATOMIC_RELEASE);
}

static uint32_t
sess_hash(const u_char *id, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ id[i]) * 16777619u;
    }
    return h;
}

static void
sess_lru_unlink(sess_shm_t *sh, uint32_t i)
{
    sess_slot_t *s = sess_slots(sh);
    if (s[i].prev != SESS_NONE) {
        s[s[i].prev].next = s[i].next;
    } else {
        sh->head = s[i].next;
    }
    if (s[i].next != SESS_NONE) {
        s[s[i].next].prev = s[i].prev;
    } else {
        sh->tail = s[i].prev;
    }
}

static void
sess_lru_push(sess_shm_t *sh, uint32_t i)
{
    sess_slot_t *s = sess_slots(sh);
    s[i].prev = SESS_NONE;
    s[i].next = sh->head;
    if (sh->head != SESS_NONE) {
        s[sh->head].prev = i;
    } else {
        sh->tail = i;
    }
    sh->head = i;
}

/* Remove slot i from its hash chain and the LRU list; it becomes free. */
static void
sess_drop(sess_shm_t *sh, uint32_t i)
{
    sess_slot_t *s = sess_slots(sh);
    uint32_t *p = &sess_buckets(sh)[s[i].hash % sh->nbuckets];
    while (*p != SESS_NONE && *p != i) {
        p = &s[*p].hnext;
    }
    if (*p == i) {
        *p = s[i].hnext;
    }
    sess_lru_unlink(sh, i);
    s[i].next = sh->free;
    sh->free = i;
    sh->used--;
}

static uint32_t
sess_find(sess_shm_t *sh, const u_char *id, size_t len, uint32_t hash)
{
    sess_slot_t *s = sess_slots(sh);
    for (uint32_t i = sess_buckets(sh)[hash % sh->nbuckets]; i != SESS_NONE; i = s[i].hnext) {
        if (s[i].hash == hash && s[i].id_len == len && memcmp(s[i].id, id, len) == 0) {
            return i;
        }
    }
    return SESS_NONE;
}

static int
sess_zone_init(ptc_shm_zone_t *zone, void *old_data)
{
    if (old_data) {
        zone->data = old_data; /* sessions survive a reload of the same zone */
        return PTC_OK;
    }
    sess_shm_t *sh = zone->addr;
    size_t room = zone->size - sizeof(*sh) - 8; /* 8: alignment of the slots */
    uint32_t n = (uint32_t)(room / (sizeof(sess_slot_t) + 2 * sizeof(uint32_t)));
    if (n < 8) {
        zone->error = "the session cache zone is too small";
        return PTC_ERROR;
    }
    sh->lock = 0;
    sh->nslots = n;
    sh->nbuckets = 2 * n;
    sh->head = sh->tail = SESS_NONE;
    sh->used = 0;
    memset(sess_buckets(sh), 0xff, sh->nbuckets * sizeof(uint32_t));
    sess_slot_t *s = sess_slots(sh);
    for (uint32_t i = 0; i < n; i++) {
        s[i].next = i + 1 < n ? i + 1 : SESS_NONE;
    }
    sh->free = 0;
    zone->data = sh;
    return PTC_OK;
}

static sess_ctx_t *
sess_ctx_of(SSL *ssl)
{
    /* the context the handshake started on owns the cache (see above) */
    ptc_conn_t *c = ptc_ssl_get_conn(ssl);
    SSL_CTX *ctx = c && c->ssl ? c->ssl->initial_ctx : SSL_get_SSL_CTX(ssl);
    return SSL_CTX_get_ex_data(ctx, sess_ctx_index);
}

static int
sess_new_cb(SSL *ssl, SSL_SESSION *sess)
{
    sess_ctx_t *sx = sess_ctx_of(ssl);
    if (sx == NULL || sx->zone == NULL || sx->zone->data == NULL) {
        return 0;
    }
    unsigned id_len;
    const u_char *id = SSL_SESSION_get_id(sess, &id_len);
    int len = i2d_SSL_SESSION(sess, NULL);
    if (id_len == 0 || id_len > SSL_MAX_SSL_SESSION_ID_LENGTH || len <= 0 || len > SESS_SLOT_DATA) {
        return 0;
    }
    u_char buf[SESS_SLOT_DATA], *p = buf;
    i2d_SSL_SESSION(sess, &p);
    sess_shm_t *sh = sx->zone->data;
    uint32_t hash = sess_hash(id, id_len);
    sess_lock(sh);
    uint32_t i = sess_find(sh, id, id_len, hash);
    if (i != SESS_NONE) {
        sess_drop(sh, i);
    }
    if (sh->free == SESS_NONE) {
        sess_drop(sh, sh->tail); /* full: the least recently used goes */
    }
    sess_slot_t *s = sess_slots(sh);
    i = sh->free;
    sh->free = s[i].next;
    sh->used++;
    s[i].hash = hash;
    s[i].id_len = (uint8_t)id_len;
    memcpy(s[i].id, id, id_len);
    s[i].len = (uint16_t)len;
    memcpy(s[i].data, buf, (size_t)len);
    s[i].expire = ptc_time_sec + sx->timeout;
    uint32_t *b = &sess_buckets(sh)[hash % sh->nbuckets];
    s[i].hnext = *b;
    *b = i;
    sess_lru_push(sh, i);
    sess_unlock(sh);
    return 0; /* we hold no reference */
}

static SSL_SESSION *
sess_get_cb(SSL *ssl, const unsigned char *id, int len, int *copy)
{
    *copy = 0;
    sess_ctx_t *sx = sess_ctx_of(ssl);
    if (sx == NULL || sx->zone == NULL || sx->zone->data == NULL || len <= 0
        || len > SSL_MAX_SSL_SESSION_ID_LENGTH) {
        return NULL;
    }
    sess_shm_t *sh = sx->zone->data;
    uint32_t hash = sess_hash(id, (size_t)len);
    u_char buf[SESS_SLOT_DATA];
    size_t n = 0;
    sess_lock(sh);
    uint32_t i = sess_find(sh, id, (size_t)len, hash);
    if (i != SESS_NONE) {
        sess_slot_t *s = sess_slots(sh);
        if (s[i].expire <= ptc_time_sec) {
            sess_drop(sh, i);
        } else {
            n = s[i].len;
            memcpy(buf, s[i].data, n);
            sess_lru_unlink(sh, i);
            sess_lru_push(sh, i);
        }
    }
    sess_unlock(sh);
    if (n == 0) {
        return NULL;
    }
    const u_char *p = buf;
    return d2i_SSL_SESSION(NULL, &p, (long)n);
}

static void
sess_remove_cb(SSL_CTX *ctx, SSL_SESSION *sess)
{
    sess_ctx_t *sx = SSL_CTX_get_ex_data(ctx, sess_ctx_index);
    if (sx == NULL || sx->zone == NULL || sx->zone->data == NULL) {
        return;
    }
    unsigned id_len;
    const u_char *id = SSL_SESSION_get_id(sess, &id_len);
    sess_shm_t *sh = sx->zone->data;
    sess_lock(sh);
    uint32_t i = sess_find(sh, id, id_len, sess_hash(id, id_len));
    if (i != SESS_NONE) {
        sess_drop(sh, i);
    }
    sess_unlock(sh);
}

/* ---- ticket keys ---- */

static const char *
sess_read_ticket_key(ptc_conf_t *cf, const ptc_http_ssl_file_t *f, sess_ticket_key_t *k)
{
    u_char buf[81];
    int fd = open((char *)f->path.data, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd == -1 ? -1 : read(fd, buf, sizeof(buf));
    int err = errno;
    if (fd != -1) {
        close(fd);
    }
    if (n != 48 && n != 80) {
        snprintf(cf->errbuf, cf->errlen,
                 "cannot use ssl_session_ticket_key \"" PTC_STR_FMT "\": %s in %s:%u",
                 PTC_STR_ARG(f->path), n < 0 ? strerror(err) : "the file must hold 48 or 80 bytes",
                 f->file, f->line);
        cf->failed = true;
        return PTC_CONF_ERROR;
    }
    /* nginx's layout, so the same key files work in a mixed fleet:
     * name[16] hmac[16|32] aes[16|32] */
    size_t half = n == 48 ? 16 : 32;
    memcpy(k->name, buf, 16);
    memcpy(k->hmac, buf + 16, half);
    memcpy(k->aes, buf + 16 + half, half);
    k->size = (size_t)n;
    return NULL;
}

static int
sess_ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *ectx,
               EVP_MAC_CTX *hctx, int enc)
{
    sess_ctx_t *sx = sess_ctx_of(ssl);
    if (sx == NULL || sx->ticket_keys == NULL) {
        return -1;
    }
    sess_ticket_key_t *keys = sx->ticket_keys->elts, *k = NULL;
    int rc = 1;
    if (enc) {
        k = &keys[0];
        memcpy(name, k->name, 16);
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) {
            return -1;
        }
    } else {
        for (size_t i = 0; i < sx->ticket_keys->nelts; i++) {
            if (memcmp(keys[i].name, name, 16) == 0) {
                k = &keys[i];
                rc = i == 0 ? 1 : 2; /* 2: decrypted with an old key, issue a new ticket */
                break;
            }
        }
        if (k == NULL) {
            return 0; /* unknown key: full handshake */
        }
    }
    size_t half = k->size == 48 ? 16 : 32;
    const EVP_CIPHER *cipher = half == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k->hmac, half),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(hctx, params) != 1) {
        return -1;
    }
    int ok = enc ? EVP_EncryptInit_ex(ectx, cipher, NULL, k->aes, iv)
                 : EVP_DecryptInit_ex(ectx, cipher, NULL, k->aes, iv);
    return ok == 1 ? rc : -1;
}

/* ---- per-context setup ---- */

/* A session id context that differs when the certificates or the verify
 * settings differ: a session never resumes in a server that would have
 * asked for more. */
static void
sess_set_id_context(ptc_http_ssl_srv_conf_t *conf)
{
    u_char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (m == NULL || EVP_DigestInit_ex(m, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(m);
        return;
    }
    ptc_http_ssl_file_t *certs = conf->certificates ? conf->certificates->elts : NULL;
    for (size_t i = 0; certs && i < conf->certificates->nelts; i++) {
        EVP_DigestUpdate(m, certs[i].path.data, certs[i].path.len);
    }
    EVP_DigestUpdate(m, &conf->verify, sizeof(conf->verify));
    EVP_DigestUpdate(m, &conf->verify_depth, sizeof(conf->verify_depth));
    const ptc_str_t *files[] = {&conf->client_certificate, &conf->trusted_certificate, &conf->crl};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        EVP_DigestUpdate(m, files[i]->data ? files[i]->data : (u_char *)"", files[i]->len + 1);
    }
    EVP_DigestFinal_ex(m, md, &len);
    EVP_MD_CTX_free(m);
    SSL_CTX_set_session_id_context(conf->ctx, md, ptc_min(len, SSL_MAX_SID_CTX_LENGTH));
}

static const char *
sess_ticket_keys(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf, sess_ctx_t *sx)
{
    sx->ticket_keys =
        ptc_array_create(cf->pool, conf->session_ticket_keys->nelts, sizeof(sess_ticket_key_t));
    if (sx->ticket_keys == NULL) {
        return "out of memory";
    }
    ptc_http_ssl_file_t *paths = conf->session_ticket_keys->elts;
    for (size_t i = 0; i < conf->session_ticket_keys->nelts; i++) {
        sess_ticket_key_t *k = ptc_array_push(sx->ticket_keys);
        const char *rv;
        if (k == NULL) {
            return "out of memory";
        }
        if ((rv = sess_read_ticket_key(cf, &paths[i], k)) != NULL) {
            return rv;
        }
    }
    SSL_CTX_set_tlsext_ticket_key_evp_cb(conf->ctx, sess_ticket_cb);
    return NULL;
}

const char *
ptc_http_ssl_session_configure(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    SSL_CTX *ctx = conf->ctx;
    if (sess_ctx_index < 0
        && (sess_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL)) < 0) {
        return "SSL_CTX_get_ex_new_index() failed";
    }
    sess_ctx_t *sx = ptc_pcalloc(cf->pool, sizeof(*sx));
    if (sx == NULL || SSL_CTX_set_ex_data(ctx, sess_ctx_index, sx) != 1) {
        return "out of memory";
    }
    sx->timeout = (int64_t)(conf->session_timeout / 1000);
    SSL_CTX_set_timeout(ctx, (long)sx->timeout);
    sess_set_id_context(conf);
    if (!conf->session_tickets) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    } else if (conf->session_ticket_keys) {
        const char *rv = sess_ticket_keys(cf, conf, sx);
        if (rv) {
            return rv;
        }
    }
    switch (conf->session_cache) {
    case SSL_SESSION_CACHE_OFF:
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        return NULL;
    case SSL_SESSION_CACHE_NONE:
        /* session ids are given out, nothing is kept */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
        return NULL;
    default:
        break;
    }
    long mode = SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_AUTO_CLEAR;
    if (conf->builtin_session_cache > 0) {
        SSL_CTX_sess_set_cache_size(ctx, conf->builtin_session_cache);
    } else {
        mode |= SSL_SESS_CACHE_NO_INTERNAL;
    }
    SSL_CTX_set_session_cache_mode(ctx, mode);
    if (conf->session_zone) {
        sx->zone = conf->session_zone;
        sx->zone->init = sess_zone_init;
        SSL_CTX_sess_set_new_cb(ctx, sess_new_cb);
        SSL_CTX_sess_set_get_cb(ctx, sess_get_cb);
        SSL_CTX_sess_set_remove_cb(ctx, sess_remove_cb);
    }
    return NULL;
}
