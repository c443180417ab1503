/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS connections over OpenSSL (the only user of openssl/ssl.h besides the
 * TLS modules). A connection becomes TLS by ptc_ssl_create_conn(); the
 * handshake runs on the connection's events without blocking, and once it
 * is done the connection's recv/send/send_chain ops are swapped for the
 * TLS ones, so protocol code above is unchanged.
 *
 * Event readiness follows the plain-socket rule: `ready` is cleared only
 * when OpenSSL reports SSL_ERROR_WANT_READ/WRITE (the socket said EAGAIN),
 * never on a short read, because OpenSSL may still hold decrypted bytes.
 * A read that needs the socket writable (TLS 1.3 key update under a full
 * send buffer) sets `read_wants_write`; the event loop then also runs the
 * read handler when the socket turns writable (and vice versa). */
#ifndef PTC_CORE_SSL_H
#define PTC_CORE_SSL_H

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/ptc_array.h"
#include "core/ptc_conn.h"
#include "core/ptc_str.h"
#include "core/ptc_types.h"

/* ssl_protocols bits */
#define PTC_SSL_SSLv2             0x0002
#define PTC_SSL_SSLv3             0x0004
#define PTC_SSL_TLSv1             0x0008
#define PTC_SSL_TLSv1_1           0x0010
#define PTC_SSL_TLSv1_2           0x0020
#define PTC_SSL_TLSv1_3           0x0040
#define PTC_SSL_DEFAULT_PROTOCOLS (PTC_SSL_TLSv1_2 | PTC_SSL_TLSv1_3)

/* The raw ClientHello kept for fingerprints: at most this many bytes. */
#define PTC_SSL_HELLO_MAX 8192

struct ptc_ssl_conn_s {
    SSL *ssl;
    /* The context the connection was made on: OpenSSL keeps using its
     * session cache and ticket keys after SNI switched contexts. */
    SSL_CTX *initial_ctx;
    void (*handler)(ptc_conn_t *c); /* called once the handshake ended (check handshaked) */
    u_char *hello;                  /* server side: the first ClientHello message, or NULL */
    size_t hello_len;
    size_t write_pending; /* bytes offered to an SSL_write that must be retried */
    unsigned handshaked : 1;
    unsigned client : 1;
    unsigned read_wants_write : 1; /* SSL_read needs the socket writable */
    unsigned write_wants_read : 1; /* SSL_write needs the socket readable */
    unsigned no_send_shutdown : 1; /* on close: no close_notify (peer gone or broken) */
    unsigned handshake_error : 1;  /* the handshake failed (logged) */
};

/* Once per process (before any context is made). PTC_OK or PTC_ERROR. */
int ptc_ssl_init(ptc_log_t *log);

/* A new context with Portico's defaults: modes for non-blocking partial
 * writes, read-ahead, no renegotiation, no compression, the given protocol
 * mask. NULL on failure (logged). */
SSL_CTX *ptc_ssl_ctx_create(bool server, unsigned protocols, ptc_log_t *log);
/* Free a context when `pool` is destroyed. PTC_OK or PTC_ERROR. */
int ptc_ssl_ctx_cleanup(ptc_pool_t *pool, SSL_CTX *ctx);

/* Load a certificate chain (PEM) and its key (encrypted keys are tried with
 * each password in `passwords`, an array of ptc_str_t, may be NULL). On
 * failure returns PTC_SSL_CERT_ERROR (the certificate) or PTC_ERROR (the
 * key: unreadable, wrong password, not matching) with a message in err
 * (the OpenSSL reason included). Several calls add certificates of
 * different key types. */
#define PTC_SSL_CERT_ERROR (-10)
int ptc_ssl_certificate(SSL_CTX *ctx, const char *cert, const char *key,
                        const ptc_array_t *passwords, char *err, size_t errlen);
/* Read a password file: one password per line. NULL with err set on failure. */
ptc_array_t *ptc_ssl_read_password_file(ptc_pool_t *pool, const char *path, char *err,
                                        size_t errlen);
/* Parse a protocol name ("TLSv1.2", ...) into its bit; 0 if unknown. */
unsigned ptc_ssl_protocol_bit(const ptc_str_t *name);

/* Make `c` a TLS connection on ctx (server or client side). The SSL state is
 * freed by ptc_conn_close (after a close_notify when the connection was
 * clean). PTC_OK or PTC_ERROR (logged). */
int ptc_ssl_create_conn(ptc_conn_t *c, SSL_CTX *ctx, bool client);
/* Run the handshake: PTC_OK (done: ops swapped), PTC_AGAIN (the events now
 * drive it; c->ssl->handler is called when it ends, either way) or
 * PTC_ERROR (failed: logged at info level for client mistakes; on the
 * client side at error level, except a peer certificate that failed
 * verification, which the caller reports from SSL_get_verify_result). */
int ptc_ssl_handshake(ptc_conn_t *c);

/* TLS transport ops (installed by the handshake). */
ssize_t ptc_ssl_recv(ptc_conn_t *c, u_char *buf, size_t size);
ssize_t ptc_ssl_send(ptc_conn_t *c, const u_char *buf, size_t size);
ptc_chain_t *ptc_ssl_send_chain(ptc_conn_t *c, ptc_chain_t *in, off_t limit);

/* Send close_notify now, once, without waiting for the peer's: before a
 * lingering close shuts down the socket's write side. Nothing is sent after
 * an error (TLS, I/O, or c->error: the data did not end cleanly) or while a
 * record is half written. Reads still work afterwards. */
void ptc_ssl_shutdown(ptc_conn_t *c);
/* ptc_ssl_shutdown, then free the SSL state. Called by ptc_conn_close. */
void ptc_ssl_close(ptc_conn_t *c);

/* Log `fmt` followed by " (SSL: reason:reason...)" from OpenSSL's error
 * queue, which is drained. */
void ptc_ssl_error(unsigned level, ptc_log_t *log, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Drain OpenSSL's error queue into `buf` as "error:...:reason" pieces
 * joined by ':'; returns the end. */
u_char *ptc_ssl_error_text(u_char *buf, size_t size);

/* The connection an SSL object belongs to. */
ptc_conn_t *ptc_ssl_get_conn(const SSL *ssl);

#endif
