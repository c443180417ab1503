/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of the TLS transport in core/ptc_ssl.c over loopback TCP: a server
 * and a client connection run the non-blocking handshake, then the tests
 * check the rules the event loop and the HTTP code rely on:
 *   - `ready` stays set while OpenSSL holds bytes the socket no longer has
 *     (read-ahead), and is cleared only when the socket said EAGAIN;
 *   - an SSL_write retried after WANT_WRITE is offered at least the bytes
 *     of the first attempt, whatever limit the caller now passes;
 *   - a fatal error is logged once, leaves OpenSSL's error queue empty and
 *     later calls fail without asking OpenSSL again;
 *   - a close_notify goes out only when the data ended cleanly, and reads
 *     keep working after ptc_ssl_shutdown (lingering close). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/ptc_buf.h"
#include "core/ptc_conn.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_ssl.h"
#include "test/unit/unit.h"

void suite_ssl_io(void);

static ptc_open_file_t sio_file = {.fd = -1, .path = "unit-ssl-log"};
static ptc_log_t sio_log = {.level = PTC_LOG_INFO, .file = &sio_file};
static SSL_CTX *sio_sctx, *sio_cctx;
static ptc_conn_t *sio_s, *sio_c; /* server and client ends */

/* A self-signed P-256 certificate made in memory. */
static bool
sio_certificate(SSL_CTX *ctx)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    bool ok = pkey && x;
    if (ok) {
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        X509_set_pubkey(x, pkey);
        X509_NAME *name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const u_char *)"unit", -1, -1, 0);
        X509_set_issuer_name(x, name);
        ok = X509_sign(x, pkey, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, x) == 1
             && SSL_CTX_use_PrivateKey(ctx, pkey) == 1;
    }
    X509_free(x);
    EVP_PKEY_free(pkey);
    return ok;
}

/* Once per process: contexts, the log file, the connection slots. */
static bool
sio_init(void)
{
    static int done;
    if (done) {
        return done > 0;
    }
    done = -1;
    char path[] = "/tmp/ptc-unit-ssl-XXXXXX";
    sio_file.fd = mkstemp(path);
    if (sio_file.fd == -1) {
        return false;
    }
    unlink(path);
    if (ptc_ssl_init(&sio_log) != PTC_OK || ptc_conn_init(16, &sio_log) != PTC_OK) {
        return false;
    }
    sio_sctx = ptc_ssl_ctx_create(true, PTC_SSL_DEFAULT_PROTOCOLS, &sio_log);
    sio_cctx = ptc_ssl_ctx_create(false, PTC_SSL_DEFAULT_PROTOCOLS, &sio_log);
    if (sio_sctx == NULL || sio_cctx == NULL || !sio_certificate(sio_sctx)) {
        return false;
    }
    done = 1;
    return true;
}

/* Everything logged since the last call. */
static const char *
sio_log_text(void)
{
    static char text[8192];
    ssize_t n = pread(sio_file.fd, text, sizeof(text) - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    if (ftruncate(sio_file.fd, 0) == 0) {
        lseek(sio_file.fd, 0, SEEK_SET);
    }
    return text;
}

static int
sio_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) {
        n++;
    }
    return n;
}

/* A connected loopback TCP pair with small buffers (0: leave them). */
static bool
sio_tcp_pair(int fds[2], int bufsize)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    fds[0] = fds[1] = -1;
    if (l == -1 || bind(l, (struct sockaddr *)&sa, len) == -1 || listen(l, 1) == -1
        || getsockname(l, (struct sockaddr *)&sa, &len) == -1) {
        close(l);
        return false;
    }
    fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bufsize) {
        setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
    }
    if (connect(fds[1], (struct sockaddr *)&sa, len) == -1) {
        close(l);
        return false;
    }
    fds[0] = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    close(l);
    if (bufsize) {
        setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
    }
    int one = 1; /* no Nagle delay: every record leaves at once */
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fds[0] != -1 && fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0;
}

/* Connect and complete the handshake (both ends driven by hand). */
static bool
sio_open(int bufsize)
{
    int fds[2];
    sio_s = sio_c = NULL;
    if (!sio_init() || !sio_tcp_pair(fds, bufsize)) {
        return false;
    }
    sio_s = ptc_conn_get(fds[0], &sio_log);
    sio_c = ptc_conn_get(fds[1], &sio_log);
    if (ptc_ssl_create_conn(sio_s, sio_sctx, false) != PTC_OK
        || ptc_ssl_create_conn(sio_c, sio_cctx, true) != PTC_OK) {
        return false;
    }
    int rs = PTC_AGAIN, rc = PTC_AGAIN;
    for (int i = 0; i < 100 && (rs == PTC_AGAIN || rc == PTC_AGAIN); i++) {
        ptc_conn_t *ends[] = {sio_c, sio_s};
        int *rcs[] = {&rc, &rs};
        for (int k = 0; k < 2; k++) {
            if (*rcs[k] == PTC_AGAIN) {
                ends[k]->read->ready = ends[k]->write->ready = 1;
                *rcs[k] = ptc_ssl_handshake(ends[k]);
            }
        }
    }
    sio_log_text();
    return rs == PTC_OK && rc == PTC_OK;
}

static void
sio_close(void)
{
    if (sio_s) {
        ptc_conn_close(sio_s);
    }
    if (sio_c) {
        ptc_conn_close(sio_c);
    }
    sio_s = sio_c = NULL;
    ERR_clear_error();
}

/* Read from `c` until EAGAIN or EOF/error, at most `max` bytes into buf.
 * Returns the bytes read; *last is the final return code. */
static size_t
sio_drain(ptc_conn_t *c, u_char *buf, size_t max, ssize_t *last)
{
    size_t got = 0;
    *last = 0;
    while (got < max) {
        c->read->ready = 1;
        ssize_t n = ptc_ssl_recv(c, buf + got, ptc_min(max - got, (size_t)4096));
        *last = n;
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    return got;
}

TEST(ssl_ready_stays_while_openssl_holds_records)
{
    ASSERT_TRUE(sio_open(0));
    u_char msg[1000], buf[4000];
    memset(msg, 'r', sizeof(msg));
    for (int i = 0; i < 3; i++) { /* three records */
        sio_c->write->ready = 1;
        ASSERT_INT_EQ(ptc_ssl_send(sio_c, msg, sizeof(msg)), sizeof(msg));
    }
    usleep(20000);
    size_t total = 0;
    sio_s->read->ready = 1;
    ASSERT_INT_EQ(ptc_ssl_recv(sio_s, buf, 100), 100);
    total += 100;
    /* read-ahead took every record off the socket, yet bytes remain */
    char peek;
    ASSERT_INT_EQ(recv(sio_s->fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT), -1);
    ASSERT_INT_EQ(errno, EAGAIN);
    ASSERT_INT_EQ(sio_s->read->ready, 1);
    for (int i = 0; i < 100 && sio_s->read->ready; i++) {
        ssize_t n = ptc_ssl_recv(sio_s, buf + total, 333);
        if (n == PTC_AGAIN) {
            break;
        }
        ASSERT_TRUE(n > 0);
        total += (size_t)n;
    }
    ASSERT_INT_EQ(total, 3000);
    ASSERT_INT_EQ(sio_s->read->ready, 0); /* only after OpenSSL saw EAGAIN */
    ASSERT_INT_EQ(ptc_ssl_recv(sio_s, buf, 10), PTC_AGAIN);
    sio_close();
}

/* The chain: 150 KB of memory, 400 KB of file, 5 bytes of memory. */
#define SIO_MEM1 (150 * 1024)
#define SIO_FILE (400 * 1024)
#define SIO_ALL  (SIO_MEM1 + SIO_FILE + 5)

static u_char
sio_byte(size_t i)
{
    return (u_char)((i * 7919) >> 3);
}

static ptc_chain_t *
sio_chain(ptc_pool_t *pool, int fd)
{
    ptc_buf_t *m1 = ptc_buf_create(pool, SIO_MEM1), *f = ptc_buf_calloc(pool);
    ptc_buf_t *m2 = ptc_buf_create(pool, 5);
    ptc_chain_t *c1 = ptc_chain_alloc(pool), *c2 = ptc_chain_alloc(pool);
    ptc_chain_t *c3 = ptc_chain_alloc(pool);
    if (!m1 || !f || !m2 || !c1 || !c2 || !c3) {
        return NULL;
    }
    for (size_t i = 0; i < SIO_MEM1; i++) {
        *m1->last++ = sio_byte(i);
    }
    u_char *tmp = malloc(SIO_FILE);
    if (tmp == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < SIO_FILE; i++) {
        tmp[i] = sio_byte(SIO_MEM1 + i);
    }
    ssize_t w = pwrite(fd, tmp, SIO_FILE, 0);
    free(tmp);
    if (w != SIO_FILE) {
        return NULL;
    }
    f->in_file = 1;
    f->fd = fd;
    f->file_last = SIO_FILE;
    for (size_t i = 0; i < 5; i++) {
        *m2->last++ = sio_byte(SIO_MEM1 + SIO_FILE + i);
    }
    c1->buf = m1;
    c2->buf = f;
    c3->buf = m2;
    c1->next = c2;
    c2->next = c3;
    return c1;
}

TEST(ssl_write_retry_offers_the_pending_bytes_whatever_the_limit)
{
    static const off_t limits[] = {0, 1, 7, 5000, 16384, 70000, 3, 40000, 100};
    ASSERT_TRUE(sio_open(8192));
    ptc_pool_t *pool = ptc_pool_create(4096);
    char path[] = "/tmp/ptc-unit-ssl-file-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(pool && fd != -1);
    unlink(path);
    ptc_chain_t *in = sio_chain(pool, fd);
    ASSERT_NOT_NULL(in);
    u_char *got = malloc(SIO_ALL + 1);
    ASSERT_NOT_NULL(got);
    size_t have = 0;
    int pending_retries = 0, smaller_limit_retries = 0;
    for (int i = 0; i < 100000 && (in || have < SIO_ALL); i++) {
        if (in) {
            off_t limit = limits[i % ptc_nelems(limits)];
            if (sio_s->ssl->write_pending) {
                pending_retries++;
                smaller_limit_retries += limit && (size_t)limit < sio_s->ssl->write_pending;
            }
            sio_s->write->ready = 1;
            in = ptc_ssl_send_chain(sio_s, in, limit);
            if (in == (ptc_chain_t *)-1) {
                unit_fail(__FILE__, __LINE__, "send_chain failed: %s", sio_log_text());
                break;
            }
        }
        if (i % 3 == 0 || in == NULL) { /* a slow reader */
            ssize_t last;
            have += sio_drain(sio_c, got + have, ptc_min(SIO_ALL + 1 - have, (size_t)6000), &last);
            if (last == 0 || last == PTC_ERROR) {
                break;
            }
        }
    }
    bool same = have == SIO_ALL;
    for (size_t i = 0; same && i < SIO_ALL; i++) {
        same = got[i] == sio_byte(i);
    }
    free(got);
    close(fd);
    ptc_pool_destroy(pool);
    const char *log = sio_log_text();
    sio_close();
    ASSERT_INT_EQ(have, SIO_ALL);
    ASSERT_TRUE(same);
    ASSERT_TRUE(in == NULL);
    ASSERT_TRUE(pending_retries > 0);       /* WANT_WRITE did happen */
    ASSERT_TRUE(smaller_limit_retries > 0); /* with a limit below the pending bytes */
    ASSERT_INT_EQ(sio_count(log, "["), 0);
}

TEST(ssl_fatal_read_error_once_and_no_error_queue)
{
    ASSERT_TRUE(sio_open(0));
    /* an application-data record that cannot decrypt */
    static const u_char bad[] = "\x17\x03\x03\x00\x14"
                                "0123456789abcdefghij";
    ASSERT_INT_EQ(write(sio_c->fd, bad, sizeof(bad) - 1), sizeof(bad) - 1);
    usleep(20000);
    u_char buf[100];
    sio_s->read->ready = 1;
    ASSERT_INT_EQ(ptc_ssl_recv(sio_s, buf, sizeof(buf)), PTC_ERROR);
    ASSERT_INT_EQ(sio_s->read->error, 1);
    ASSERT_INT_EQ(ERR_peek_error(), 0);
    sio_s->read->ready = 1;
    ASSERT_INT_EQ(ptc_ssl_recv(sio_s, buf, sizeof(buf)), PTC_ERROR);
    const char *log = sio_log_text();
    ASSERT_INT_EQ(sio_count(log, "SSL_read() failed"), 1);
    ASSERT_INT_EQ(sio_count(log, "[info]"), 1); /* a client's doing */
    sio_close();
}

TEST(ssl_failed_handshake_leaves_no_error_queue)
{
    ASSERT_TRUE(sio_init());
    int fds[2];
    ASSERT_TRUE(sio_tcp_pair(fds, 0));
    static const u_char junk[] = "\x16\x03\x01\x00\x05"
                                 "junk!";
    ASSERT_INT_EQ(write(fds[1], junk, sizeof(junk) - 1), sizeof(junk) - 1);
    usleep(20000);
    sio_s = ptc_conn_get(fds[0], &sio_log);
    sio_c = NULL;
    close(fds[1]);
    ASSERT_INT_EQ(ptc_ssl_create_conn(sio_s, sio_sctx, false), PTC_OK);
    sio_s->read->ready = 1;
    ASSERT_INT_EQ(ptc_ssl_handshake(sio_s), PTC_ERROR);
    ASSERT_INT_EQ(ERR_peek_error(), 0);
    ASSERT_INT_EQ(sio_s->ssl->no_send_shutdown, 1);
    const char *log = sio_log_text();
    ASSERT_INT_EQ(sio_count(log, "SSL_do_handshake() failed"), 1);
    sio_close();
    /* the next connection starts clean */
    ASSERT_TRUE(sio_open(0));
    sio_close();
}

/* Close the server end; then what the client's next read says: 0 after a
 * close_notify, PTC_ERROR (unexpected EOF) without one. */
static ssize_t
sio_client_sees(void)
{
    SSL_clear_options(sio_c->ssl->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    ptc_conn_close(sio_s);
    sio_s = NULL;
    usleep(20000);
    u_char *buf = malloc(1 << 20);
    ssize_t last = PTC_AGAIN;
    if (buf) {
        for (int i = 0; i < 1000 && last != 0 && last != PTC_ERROR; i++) {
            sio_drain(sio_c, buf, 1 << 20, &last);
        }
    }
    free(buf);
    sio_log_text();
    return last;
}

TEST(ssl_close_notify_only_after_a_clean_end)
{
    ASSERT_TRUE(sio_open(0));
    ASSERT_INT_EQ(sio_client_sees(), 0);
    sio_close();

    ASSERT_TRUE(sio_open(0));
    sio_s->error = 1; /* e.g. a response cut short */
    ASSERT_INT_EQ(sio_client_sees(), PTC_ERROR);
    sio_close();

    /* a record half written when the connection goes */
    ASSERT_TRUE(sio_open(8192));
    static u_char big[256 * 1024];
    ptc_buf_t b = {.pos = big, .last = big + sizeof(big)};
    ptc_chain_t cl = {.buf = &b, .next = NULL};
    sio_s->write->ready = 1;
    for (int i = 0; i < 100 && sio_s->ssl->write_pending == 0; i++) {
        ptc_ssl_send_chain(sio_s, &cl, 0);
    }
    ASSERT_TRUE(sio_s->ssl->write_pending > 0);
    ASSERT_INT_EQ(sio_client_sees(), PTC_ERROR);
    sio_close();

    /* the same through ptc_ssl_send (tunnels, "100 Continue") */
    ASSERT_TRUE(sio_open(8192));
    for (int i = 0; i < 100 && sio_s->ssl->write_pending == 0; i++) {
        sio_s->write->ready = 1;
        ptc_ssl_send(sio_s, big, sizeof(big));
    }
    ASSERT_TRUE(sio_s->ssl->write_pending > 0);
    ASSERT_INT_EQ(sio_client_sees(), PTC_ERROR);
    sio_close();
}

TEST(ssl_reads_work_after_shutdown)
{
    ASSERT_TRUE(sio_open(0));
    ptc_ssl_shutdown(sio_s);
    ASSERT_TRUE(SSL_get_shutdown(sio_s->ssl->ssl) & SSL_SENT_SHUTDOWN);
    u_char buf[64];
    ssize_t last;
    ASSERT_INT_EQ(sio_drain(sio_c, buf, sizeof(buf), &last), 0);
    ASSERT_INT_EQ(last, 0); /* the client saw the close_notify */
    sio_c->write->ready = 1;
    ASSERT_INT_EQ(ptc_ssl_send(sio_c, (const u_char *)"late", 4), 4);
    usleep(20000);
    ASSERT_INT_EQ(sio_drain(sio_s, buf, sizeof(buf), &last), 4);
    ASSERT_MEM_EQ(buf, 4, "late");
    ptc_ssl_shutdown(sio_s); /* once only */
    ASSERT_INT_EQ(sio_count(sio_log_text(), "["), 0);
    sio_close();
}

/* The event loop re-runs a write that waits for readability (and a read
 * that waits for writability) from the other direction's event: one
 * direction's EAGAIN must not cancel the other's wait. */
TEST(ssl_each_direction_keeps_its_own_wait_flag)
{
    ASSERT_TRUE(sio_open(0));
    u_char buf[16];
    sio_s->ssl->write_wants_read = 1; /* as after an SSL_write WANT_READ */
    sio_s->read->ready = 1;
    ASSERT_INT_EQ(ptc_ssl_recv(sio_s, buf, sizeof(buf)), PTC_AGAIN);
    ASSERT_INT_EQ(sio_s->ssl->write_wants_read, 1);
    ASSERT_INT_EQ(sio_s->ssl->read_wants_write, 0);
    sio_s->write->ready = 1;
    ASSERT_INT_EQ(ptc_ssl_send(sio_s, (const u_char *)"x", 1), 1);
    ASSERT_INT_EQ(sio_s->ssl->write_wants_read, 0); /* the write ran again */
    sio_close();
}

void
suite_ssl_io(void)
{
    RUN(ssl_ready_stays_while_openssl_holds_records);
    RUN(ssl_write_retry_offers_the_pending_bytes_whatever_the_limit);
    RUN(ssl_fatal_read_error_once_and_no_error_queue);
    RUN(ssl_failed_handshake_leaves_no_error_queue);
    RUN(ssl_close_notify_only_after_a_clean_end);
    RUN(ssl_reads_work_after_shutdown);
    RUN(ssl_each_direction_keeps_its_own_wait_flag);
    sio_close();
}
