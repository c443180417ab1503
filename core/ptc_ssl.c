/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS connections over OpenSSL: contexts, non-blocking handshake, the TLS
 * transport ops, close_notify and error-queue logging. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "core/ptc_alloc.h"
#include "core/ptc_array.h"
#include "core/ptc_buf.h"
#include "core/ptc_event.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_ssl.h"

/* Memory gathered into one SSL_write: one full TLS record. */
#define SSL_RECORD 16384

static int ssl_conn_index = -1;

int
ptc_ssl_init(ptc_log_t *log)
{
    if (ssl_conn_index >= 0) {
        return PTC_OK;
    }
    if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) == 0) {
        ptc_ssl_error(PTC_LOG_EMERG, log, 0, "OPENSSL_init_ssl() failed");
        return PTC_ERROR;
    }
    ssl_conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (ssl_conn_index < 0) {
        ptc_ssl_error(PTC_LOG_EMERG, log, 0, "SSL_get_ex_new_index() failed");
        return PTC_ERROR;
    }
    return PTC_OK;
}

ptc_conn_t *
ptc_ssl_get_conn(const SSL *ssl)
{
    return SSL_get_ex_data(ssl, ssl_conn_index);
}

u_char *
ptc_ssl_error_text(u_char *buf, size_t size)
{
    u_char *p = buf, *end = buf + size;
    const char *data;
    int flags;
    unsigned long e;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (end - p < 2) {
            continue; /* keep draining */
        }
        if (p != buf) {
            *p++ = ' ';
        }
        ERR_error_string_n(e, (char *)p, (size_t)(end - p));
        p += strlen((char *)p);
        if ((flags & ERR_TXT_STRING) && data && *data) {
            p = ptc_sprintf(p, (size_t)(end - p), ":%s", data);
        }
    }
    return p;
}

void
ptc_ssl_error(unsigned level, ptc_log_t *log, int err, const char *fmt, ...)
{
    u_char msg[1024], reasons[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    u_char *end = ptc_ssl_error_text(reasons, sizeof(reasons));
    if (end == reasons) {
        ptc_log_error(level, log, err, "%s", msg);
        return;
    }
    ptc_log_error(level, log, err, "%s (SSL: %.*s)", msg, (int)(end - reasons), reasons);
}

/* Keep the first ClientHello for fingerprints. */
static void
ssl_msg_callback(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
                 void *arg)
{
    const u_char *m = buf;
    if (write_p || content_type != SSL3_RT_HANDSHAKE || len < 4 || m[0] != SSL3_MT_CLIENT_HELLO) {
        return;
    }
    ptc_conn_t *c = ptc_ssl_get_conn(ssl);
    if (c == NULL || c->ssl == NULL || c->ssl->hello || len > PTC_SSL_HELLO_MAX) {
        return;
    }
    c->ssl->hello = ptc_alloc(len);
    if (c->ssl->hello) {
        memcpy(c->ssl->hello, m, len);
        c->ssl->hello_len = len;
    }
}

static void
ssl_set_protocols(SSL_CTX *ctx, unsigned protocols)
{
    static const struct {
        unsigned bit;
        long op;
        int version;
    } map[] = {
        {PTC_SSL_SSLv3, SSL_OP_NO_SSLv3, SSL3_VERSION},
        {PTC_SSL_TLSv1, SSL_OP_NO_TLSv1, TLS1_VERSION},
        {PTC_SSL_TLSv1_1, SSL_OP_NO_TLSv1_1, TLS1_1_VERSION},
        {PTC_SSL_TLSv1_2, SSL_OP_NO_TLSv1_2, TLS1_2_VERSION},
        {PTC_SSL_TLSv1_3, SSL_OP_NO_TLSv1_3, TLS1_3_VERSION},
    };
    int min = 0, max = 0;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (protocols & map[i].bit) {
            min = min ? min : map[i].version;
            max = map[i].version;
        } else {
            SSL_CTX_set_options(ctx, map[i].op);
        }
    }
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_max_proto_version(ctx, max);
}

SSL_CTX *
ptc_ssl_ctx_create(bool server, unsigned protocols, ptc_log_t *log)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL) {
        ptc_ssl_error(PTC_LOG_EMERG, log, 0, "SSL_CTX_new() failed");
        return NULL;
    }
    /* Renegotiation is a DoS lever and has no use in HTTP/1.1 proxying; an
     * unexpected EOF is an ordinary EOF for framed HTTP. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
                                 | SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (server) {
        /* OpenSSL 3 refuses client-initiated renegotiation unless allowed */
        SSL_CTX_set_msg_callback(ctx, ssl_msg_callback);
    }
    ssl_set_protocols(ctx, protocols);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                              | SSL_MODE_RELEASE_BUFFERS);
    /* Read whole socket buffers at once: fewer recv() calls per record. */
    SSL_CTX_set_read_ahead(ctx, 1);
    return ctx;
}

static void
ssl_ctx_free(void *data)
{
    SSL_CTX_free(data);
}

int
ptc_ssl_ctx_cleanup(ptc_pool_t *pool, SSL_CTX *ctx)
{
    ptc_pool_cleanup_t *cln = ptc_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        SSL_CTX_free(ctx);
        return PTC_ERROR;
    }
    cln->handler = ssl_ctx_free;
    cln->data = ctx;
    return PTC_OK;
}

unsigned
ptc_ssl_protocol_bit(const ptc_str_t *name)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        {"SSLv2", PTC_SSL_SSLv2},     {"SSLv3", PTC_SSL_SSLv3},     {"TLSv1", PTC_SSL_TLSv1},
        {"TLSv1.1", PTC_SSL_TLSv1_1}, {"TLSv1.2", PTC_SSL_TLSv1_2}, {"TLSv1.3", PTC_SSL_TLSv1_3},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (ptc_str_eq_c(name, names[i].name)) {
            return names[i].bit;
        }
    }
    return 0;
}

/* Never prompt on a terminal: the password comes from the file or not at all. */
static int
ssl_password_cb(char *buf, int size, int rwflag, void *userdata)
{
    const ptc_str_t *pw = userdata;
    if (pw == NULL || pw->len > (size_t)size) {
        return -1;
    }
    memcpy(buf, pw->data, pw->len);
    return (int)pw->len;
}

static EVP_PKEY *
ssl_load_key(const char *key, const ptc_array_t *passwords)
{
    BIO *bio = BIO_new_file(key, "r");
    if (bio == NULL) {
        return NULL;
    }
    size_t n = passwords ? passwords->nelts : 0;
    const ptc_str_t *pw = passwords ? passwords->elts : NULL;
    EVP_PKEY *pkey = NULL;
    for (size_t i = 0; i == 0 || i < n; i++) {
        if (i > 0) {
            ERR_clear_error();
            (void)BIO_reset(bio);
        }
        pkey = PEM_read_bio_PrivateKey(bio, NULL, ssl_password_cb, n ? (void *)&pw[i] : NULL);
        if (pkey) {
            break;
        }
    }
    BIO_free(bio);
    return pkey;
}

int
ptc_ssl_certificate(SSL_CTX *ctx, const char *cert, const char *key, const ptc_array_t *passwords,
                    char *err, size_t errlen)
{
    u_char why[512];
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        *ptc_ssl_error_text(why, sizeof(why) - 1) = '\0';
        snprintf(err, errlen, "cannot load certificate \"%s\": %s", cert, why);
        return PTC_SSL_CERT_ERROR;
    }
    EVP_PKEY *pkey = ssl_load_key(key, passwords);
    if (pkey == NULL) {
        *ptc_ssl_error_text(why, sizeof(why) - 1) = '\0';
        snprintf(err, errlen, "cannot load certificate key \"%s\": %s", key, why);
        return PTC_ERROR;
    }
    int ok = SSL_CTX_use_PrivateKey(ctx, pkey);
    EVP_PKEY_free(pkey);
    if (ok != 1) {
        *ptc_ssl_error_text(why, sizeof(why) - 1) = '\0';
        snprintf(err, errlen, "certificate \"%s\" and key \"%s\" do not match: %s", cert, key, why);
        return PTC_ERROR;
    }
    return PTC_OK;
}

ptc_array_t *
ptc_ssl_read_password_file(ptc_pool_t *pool, const char *path, char *err, size_t errlen)
{
    u_char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", path, errno, strerror(errno));
        return NULL;
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    ptc_array_t *a = ptc_array_create(pool, 4, sizeof(ptc_str_t));
    if (n < 0 || a == NULL) {
        snprintf(err, errlen, "cannot read \"%s\"", path);
        return NULL;
    }
    for (u_char *p = buf, *end = buf + n; p < end;) {
        u_char *eol = memchr(p, '\n', (size_t)(end - p));
        u_char *last = eol ? eol : end;
        size_t len = (size_t)(last - p);
        len -= len && p[len - 1] == '\r';
        ptc_str_t *pw = ptc_array_push(a);
        if (pw == NULL || ptc_str_dup(pool, pw, p, len) != PTC_OK) {
            return NULL;
        }
        p = last + 1;
    }
    if (a->nelts == 0) {
        snprintf(err, errlen, "empty password file \"%s\"", path);
        return NULL;
    }
    return a;
}

int
ptc_ssl_create_conn(ptc_conn_t *c, SSL_CTX *ctx, bool client)
{
    ptc_ssl_conn_t *sc = ptc_calloc(sizeof(*sc));
    if (sc == NULL) {
        return PTC_ERROR;
    }
    ERR_clear_error();
    sc->ssl = SSL_new(ctx);
    if (sc->ssl == NULL || SSL_set_fd(sc->ssl, c->fd) != 1
        || SSL_set_ex_data(sc->ssl, ssl_conn_index, c) != 1) {
        ptc_ssl_error(PTC_LOG_ALERT, c->log, 0, "SSL_new() failed");
        SSL_free(sc->ssl);
        ptc_free(sc);
        return PTC_ERROR;
    }
    sc->client = client;
    sc->initial_ctx = ctx;
    if (client) {
        SSL_set_connect_state(sc->ssl);
    } else {
        SSL_set_accept_state(sc->ssl);
    }
    c->ssl = sc;
    return PTC_OK;
}

static void
ssl_handshake_handler(ptc_event_t *ev)
{
    ptc_conn_t *c = ev->data;
    if (ev->timedout) {
        ptc_log_error(PTC_LOG_INFO, c->log, ETIMEDOUT, "client timed out while SSL handshaking");
        c->ssl->handshake_error = 1;
        c->ssl->no_send_shutdown = 1;
        c->ssl->handler(c);
        return;
    }
    if (ptc_ssl_handshake(c) != PTC_AGAIN) {
        c->ssl->handler(c);
    }
}

static void
ssl_handshake_empty(ptc_event_t *ev)
{
}

/* Errors a client can cause (logged at info). A misused SSL_write (a retry
 * with other bytes, an internal error) is Portico's bug and stays loud. */
static bool
ssl_client_mistake(unsigned long e)
{
    int lib = ERR_GET_LIB(e);
    if (lib == 0) {
        return true;
    }
    if (lib != ERR_LIB_SSL) {
        return false;
    }
    int reason = ERR_GET_REASON(e);
    return reason != SSL_R_BAD_WRITE_RETRY && reason != SSL_R_BAD_LENGTH
           && reason != ERR_R_INTERNAL_ERROR && reason != ERR_R_MALLOC_FAILURE;
}

int
ptc_ssl_handshake(ptc_conn_t *c)
{
    ptc_ssl_conn_t *sc = c->ssl;
    ERR_clear_error();
    errno = 0; /* SSL_ERROR_SYSCALL reports errno, which must be this call's */
    int n = SSL_do_handshake(sc->ssl);
    if (n == 1) {
        sc->handshaked = 1;
        c->recv = ptc_ssl_recv;
        c->send = ptc_ssl_send;
        c->send_chain = ptc_ssl_send_chain;
        c->read->handler = ssl_handshake_empty;
        c->write->handler = ssl_handshake_empty;
        return PTC_OK;
    }
    int e = SSL_get_error(sc->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        (e == SSL_ERROR_WANT_READ ? c->read : c->write)->ready = 0;
        c->read->handler = ssl_handshake_handler;
        c->write->handler = ssl_handshake_handler;
        return PTC_AGAIN;
    }
    int err = e == SSL_ERROR_SYSCALL ? errno : 0;
    sc->handshake_error = 1;
    sc->no_send_shutdown = 1;
    c->read->error = 1;
    unsigned long first = ERR_peek_error();
    if (sc->client && ERR_GET_LIB(first) == ERR_LIB_SSL
        && ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        /* the caller names the certificate's fault (SSL_get_verify_result) */
        ERR_clear_error();
        return PTC_ERROR;
    }
    /* a failed handshake to an origin is a failed upstream (error, as
     * nginx logs it); a client's is routine */
    unsigned level = sc->client                  ? PTC_LOG_ERR
                     : ssl_client_mistake(first) ? PTC_LOG_INFO
                                                 : PTC_LOG_CRIT;
    if ((e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) && first == 0) {
        ptc_log_error(sc->client ? PTC_LOG_ERR : PTC_LOG_INFO, c->log, err,
                      err ? "SSL_do_handshake() failed"
                          : "peer closed connection in SSL handshake");
        return PTC_ERROR;
    }
    ptc_ssl_error(level, c->log, err, "SSL_do_handshake() failed");
    return PTC_ERROR;
}

/* SSL_read/SSL_write outcome other than success: PTC_AGAIN (ready flags
 * updated), 0 (clean EOF) or PTC_ERROR (logged). */
static ssize_t
ssl_io_error(ptc_conn_t *c, int n, bool reading)
{
    ptc_ssl_conn_t *sc = c->ssl;
    int e = SSL_get_error(sc->ssl, n);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        /* Each direction clears its own flag when it runs again: a read
         * must not cancel a write's wait for readability (or vice versa). */
        c->read->ready = 0;
        if (!reading) {
            sc->write_wants_read = 1;
        }
        return PTC_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        c->write->ready = 0;
        if (reading) {
            sc->read_wants_write = 1;
        }
        return PTC_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        if (reading) {
            c->read->ready = 0;
            c->read->eof = 1;
            return 0;
        }
        break;
    default:
        break;
    }
    int err = e == SSL_ERROR_SYSCALL ? errno : 0;
    sc->no_send_shutdown = 1;
    (reading ? c->read : c->write)->error = 1;
    /* an origin's TLS alert (e.g. it wanted a client certificate) is worth
     * an error line; a reset is routine on either side */
    unsigned level =
        err == ECONNRESET || err == EPIPE || (!sc->client && ssl_client_mistake(ERR_peek_error()))
            ? PTC_LOG_INFO
            : PTC_LOG_ERR;
    ptc_ssl_error(level, c->log, err, reading ? "SSL_read() failed" : "SSL_write() failed");
    return PTC_ERROR;
}

ssize_t
ptc_ssl_recv(ptc_conn_t *c, u_char *buf, size_t size)
{
    size_t got = 0;
    if (c->read->error) {
        return PTC_ERROR; /* reported when it happened; OpenSSL refuses more */
    }
    c->ssl->read_wants_write = 0;
    while (got < size) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(c->ssl->ssl, buf + got, (int)ptc_min(size - got, (size_t)INT_MAX));
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        ssize_t rc = ssl_io_error(c, n, true);
        if (got) {
            return (ssize_t)got; /* the error or EOF shows again on the next call */
        }
        return rc;
    }
    return (ssize_t)got;
}

/* One SSL_write: bytes written, PTC_AGAIN or PTC_ERROR. */
static ssize_t
ssl_write(ptc_conn_t *c, const u_char *buf, size_t size)
{
    c->ssl->write_wants_read = 0;
    ERR_clear_error();
    errno = 0;
    int n = SSL_write(c->ssl->ssl, buf, (int)ptc_min(size, (size_t)INT_MAX));
    if (n > 0) {
        c->sent += n;
        c->ssl->write_pending = 0;
        return n;
    }
    ssize_t rc = ssl_io_error(c, n, false);
    if (rc == PTC_AGAIN) {
        /* the retry must offer these bytes again, or more */
        c->ssl->write_pending = ptc_min(size, (size_t)INT_MAX);
    }
    return rc;
}

ssize_t
ptc_ssl_send(ptc_conn_t *c, const u_char *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = ssl_write(c, buf + done, size - done);
        if (n < 0) {
            return done ? (ssize_t)done : n;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* Copy up to `size` bytes from the chain into buf (files read with pread).
 * Returns the bytes gathered, or -1 on a read error / truncated file. */
static ssize_t
ssl_gather(ptc_chain_t *in, u_char *buf, size_t size)
{
    size_t used = 0;
    for (ptc_chain_t *cl = in; cl && used < size; cl = cl->next) {
        ptc_buf_t *b = cl->buf;
        size_t sz = (size_t)ptc_min(ptc_buf_size(b), (off_t)(size - used));
        if (sz == 0) {
            continue;
        }
        if (!b->in_file) {
            memcpy(buf + used, b->pos, sz);
            used += sz;
            continue;
        }
        ssize_t n = pread(b->fd, buf + used, sz, b->file_pos);
        if (n <= 0) {
            return used ? (ssize_t)used : -1;
        }
        used += (size_t)n;
        if ((size_t)n < sz) {
            break;
        }
    }
    return (ssize_t)used;
}

ptc_chain_t *
ptc_ssl_send_chain(ptc_conn_t *c, ptc_chain_t *in, off_t limit)
{
    u_char scratch[SSL_RECORD];
    for (;;) {
        in = ptc_chain_skip_empty(in);
        if (in == NULL) {
            return NULL;
        }
        size_t max = limit ? (size_t)ptc_min(limit, (off_t)SSL_RECORD) : SSL_RECORD;
        /* A retry after WANT_WRITE must offer at least the bytes offered before. */
        max = ptc_max(max, c->ssl->write_pending);
        const u_char *p = scratch;
        ssize_t len;
        ptc_buf_t *b = in->buf;
        size_t bsize = b->in_file ? 0 : (size_t)(b->last - b->pos);
        if (bsize >= max) {
            /* a big memory buffer goes out without a copy, a few records at once */
            size_t want = ptc_min(bsize, (size_t)4 * SSL_RECORD);
            if (limit) {
                want = (size_t)ptc_min((off_t)want, limit);
            }
            p = b->pos;
            len = (ssize_t)ptc_max(want, max);
        } else if (max > SSL_RECORD || (len = ssl_gather(in, scratch, max)) < 0
                   || (size_t)len < c->ssl->write_pending) {
            c->write->error = 1;
            ptc_log_error(PTC_LOG_CRIT, c->log, errno, "pread() failed or file was truncated");
            return (ptc_chain_t *)-1;
        }
        ssize_t n = ssl_write(c, p, (size_t)len);
        if (n == PTC_AGAIN) {
            return in;
        }
        if (n < 0) {
            return (ptc_chain_t *)-1;
        }
        in = ptc_chain_consume(in, (size_t)n);
        if (limit) {
            limit -= n;
            if (limit <= 0) {
                return ptc_chain_skip_empty(in);
            }
        }
    }
}

void
ptc_ssl_shutdown(ptc_conn_t *c)
{
    ptc_ssl_conn_t *sc = c->ssl;
    if (sc == NULL || !sc->handshaked || sc->no_send_shutdown
        || (SSL_get_shutdown(sc->ssl) & SSL_SENT_SHUTDOWN)) {
        return;
    }
    /* A close_notify says "the data ended here": never after a fatal TLS
     * error, an I/O error, a connection abandoned in error (a response cut
     * short, a timeout) or with a record still half written. */
    if (c->error || c->read->error || c->write->error || sc->write_pending) {
        sc->no_send_shutdown = 1;
        return;
    }
    /* one attempt, never a wait for the peer's close_notify */
    ERR_clear_error();
    if (SSL_shutdown(sc->ssl) < 0) {
        sc->no_send_shutdown = 1; /* the socket is full or gone: no retry */
    }
    ERR_clear_error();
}

void
ptc_ssl_close(ptc_conn_t *c)
{
    ptc_ssl_conn_t *sc = c->ssl;
    if (sc == NULL) {
        return;
    }
    ptc_ssl_shutdown(c);
    c->ssl = NULL;
    ERR_clear_error();
    SSL_free(sc->ssl);
    ptc_free(sc->hello);
    ptc_free(sc);
}
