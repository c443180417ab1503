/* SPDX-License-Identifier: BSD-2-Clause */
/* Chain output over a plain socket (writev for memory, sendfile for files)
 * and socket address helpers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/ptc_buf.h"
#include "core/ptc_conn.h"
#include "core/ptc_log.h"

#define SOCK_IOV_MAX      64
#define SOCK_SENDFILE_MAX (2L * 1024 * 1024 * 1024 - 4096)
/* File ranges up to this size are read and sent with the memory before
 * them in one writev: one segment instead of two for small files. */
#define SOCK_INLINE_FILE    16384
#define SOCK_INLINE_SCRATCH 32768

ptc_chain_t *
ptc_chain_skip_empty(ptc_chain_t *cl)
{
    while (cl && ptc_buf_size(cl->buf) == 0) {
        cl = cl->next;
    }
    return cl;
}

ptc_chain_t *
ptc_chain_consume(ptc_chain_t *cl, size_t sent)
{
    for (; cl; cl = cl->next) {
        ptc_buf_t *b = cl->buf;
        off_t size = ptc_buf_size(b);
        if (sent == 0 && size > 0) {
            return cl;
        }
        if ((off_t)sent >= size) {
            sent -= (size_t)size;
            if (b->in_file) {
                b->file_pos = b->file_last;
            } else {
                b->pos = b->last;
            }
            continue;
        }
        if (b->in_file) {
            b->file_pos += (off_t)sent;
        } else {
            b->pos += sent;
        }
        return cl;
    }
    return NULL;
}

static ssize_t
sock_sendfile(ptc_conn_t *c, ptc_buf_t *b, off_t limit)
{
    off_t off = b->file_pos;
    size_t size = (size_t)ptc_min(b->file_last - b->file_pos, (off_t)SOCK_SENDFILE_MAX);
    if (limit && (off_t)size > limit) {
        size = (size_t)limit;
    }
    for (;;) {
        ssize_t n = sendfile(c->fd, b->fd, &off, size);
        if (n >= 0) {
            return n;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EAGAIN ? PTC_AGAIN : PTC_ERROR;
    }
}

/* Gather memory buffers (and small file ranges, read into `scratch`, or any
 * file range when sendfile is off) into iov. Returns the iov count. */
static int
sock_gather(ptc_conn_t *c, ptc_chain_t *in, off_t limit, struct iovec *iov, u_char *scratch,
            size_t *want)
{
    int niov = 0;
    size_t used = 0;
    *want = 0;
    for (ptc_chain_t *cl = in; cl && niov < SOCK_IOV_MAX; cl = cl->next) {
        ptc_buf_t *b = cl->buf;
        size_t sz = (size_t)ptc_buf_size(b);
        if (sz == 0) {
            continue;
        }
        if (limit && (off_t)(*want + sz) > limit) {
            sz = (size_t)(limit - (off_t)*want);
        }
        if (b->in_file) {
            bool inline_ok = !c->sendfile || (sz <= SOCK_INLINE_FILE && niov > 0);
            if (!inline_ok || used == SOCK_INLINE_SCRATCH) {
                break;
            }
            sz = ptc_min(sz, SOCK_INLINE_SCRATCH - used);
            ssize_t n = pread(b->fd, scratch + used, sz, b->file_pos);
            if (n <= 0) {
                if (niov == 0) {
                    return n == 0 ? -2 : -1; /* file shrank / read error */
                }
                break;
            }
            iov[niov].iov_base = scratch + used;
            iov[niov].iov_len = (size_t)n;
            used += (size_t)n;
            if ((size_t)n < sz) {
                niov++;
                *want += (size_t)n;
                break;
            }
        } else {
            iov[niov].iov_base = b->pos;
            iov[niov].iov_len = sz;
        }
        niov++;
        *want += sz;
        if (limit && (off_t)*want >= limit) {
            break;
        }
    }
    return niov;
}

ptc_chain_t *
ptc_unix_send_chain(ptc_conn_t *c, ptc_chain_t *in, off_t limit)
{
    struct iovec iov[SOCK_IOV_MAX];
    u_char scratch[SOCK_INLINE_SCRATCH];
    for (;;) {
        in = ptc_chain_skip_empty(in);
        if (in == NULL) {
            return NULL;
        }
        ssize_t n;
        size_t want = 0;
        int niov = 0;
        if (!in->buf->in_file || !c->sendfile) {
            niov = sock_gather(c, in, limit, iov, scratch, &want);
        }
        if (niov < 0) {
            c->write->error = 1;
            ptc_log_error(PTC_LOG_CRIT, c->log, niov == -1 ? errno : 0,
                          niov == -1 ? "pread() failed" : "file was truncated while sent");
            return (ptc_chain_t *)-1;
        }
        if (niov == 0) {
            want = (size_t)ptc_min(ptc_buf_size(in->buf), (off_t)SOCK_SENDFILE_MAX);
            n = sock_sendfile(c, in->buf, limit);
        } else {
            do {
                n = writev(c->fd, iov, niov);
            } while (n == -1 && errno == EINTR);
            if (n == -1) {
                n = errno == EAGAIN ? PTC_AGAIN : PTC_ERROR;
            }
        }
        if (n == PTC_AGAIN) {
            c->write->ready = 0;
            return in;
        }
        if (n < 0) {
            int err = errno;
            c->write->error = 1;
            ptc_log_error(err == EPIPE || err == ECONNRESET ? PTC_LOG_INFO : PTC_LOG_ERR, c->log,
                          err, niov ? "writev() failed" : "sendfile() failed");
            return (ptc_chain_t *)-1;
        }
        c->sent += n;
        in = ptc_chain_consume(in, (size_t)n);
        if (limit) {
            limit -= n;
            if (limit <= 0) {
                return ptc_chain_skip_empty(in);
            }
        }
        if ((size_t)n < want) {
            c->write->ready = 0;
            return in;
        }
    }
}

int
ptc_conn_local_sockaddr(ptc_conn_t *c)
{
    if (c->local_socklen) {
        return PTC_OK;
    }
    socklen_t len = sizeof(c->local_sockaddr);
    if (getsockname(c->fd, (struct sockaddr *)&c->local_sockaddr, &len) == -1) {
        ptc_log_error(PTC_LOG_CRIT, c->log, errno, "getsockname() failed");
        return PTC_ERROR;
    }
    c->local_socklen = len;
    return PTC_OK;
}

int
ptc_sockaddr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    }
    if (sa->sa_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    return 0;
}

size_t
ptc_sockaddr_text(const struct sockaddr *sa, socklen_t len, u_char *buf, size_t size,
                  bool with_port)
{
    char a[INET6_ADDRSTRLEN];
    int n = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
        n = with_port ? snprintf((char *)buf, size, "%s:%d", a, ntohs(s4->sin_port))
                      : snprintf((char *)buf, size, "%s", a);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
        n = with_port ? snprintf((char *)buf, size, "[%s]:%d", a, ntohs(s6->sin6_port))
                      : snprintf((char *)buf, size, "%s", a);
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *su = (const struct sockaddr_un *)sa;
        n = len > offsetof(struct sockaddr_un, sun_path) && su->sun_path[0]
                ? snprintf((char *)buf, size, "unix:%s", su->sun_path)
                : snprintf((char *)buf, size, "unix:");
    }
    if (n < 0) {
        return 0;
    }
    return ptc_min((size_t)n, size ? size - 1 : 0);
}

static int
sockaddr_parse_port(const u_char *p, size_t n, const char **err)
{
    int64_t port = ptc_atoi(p, n);
    if (port < 1 || port > 65535) {
        *err = "invalid port";
        return -1;
    }
    return (int)port;
}

static int
sockaddr_parse_unix(const ptc_str_t *t, struct sockaddr_storage *sa, socklen_t *len,
                    const char **err)
{
    struct sockaddr_un *su = (struct sockaddr_un *)sa;
    size_t n = t->len - 5;
    if (n == 0 || n >= sizeof(su->sun_path)) {
        *err = n == 0 ? "no path in the unix domain socket" : "too long path in the unix socket";
        return PTC_ERROR;
    }
    su->sun_family = AF_UNIX;
    memcpy(su->sun_path, t->data + 5, n);
    su->sun_path[n] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return PTC_OK;
}

int
ptc_sockaddr_parse(const ptc_str_t *t, int default_port, struct sockaddr_storage *sa,
                   socklen_t *len, const char **err)
{
    char host[INET6_ADDRSTRLEN + 1];
    const u_char *p = t->data, *end = t->data + t->len, *colon;
    int port = default_port;
    memset(sa, 0, sizeof(*sa));
    *err = "invalid address";
    if (t->len >= 5 && memcmp(p, "unix:", 5) == 0) {
        return sockaddr_parse_unix(t, sa, len, err);
    }
    if (t->len > 0 && p[0] == '[') {
        const u_char *rb = memchr(p, ']', t->len);
        if (rb == NULL || (size_t)(rb - p - 1) >= sizeof(host)) {
            return PTC_ERROR;
        }
        memcpy(host, p + 1, (size_t)(rb - p - 1));
        host[rb - p - 1] = '\0';
        if (rb + 1 < end) {
            if (rb[1] != ':'
                || (port = sockaddr_parse_port(rb + 2, (size_t)(end - rb - 2), err)) < 0) {
                return PTC_ERROR;
            }
        }
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
            return PTC_ERROR;
        }
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*s6);
        goto check_port;
    }
    colon = memchr(p, ':', t->len);
    if (colon == NULL && ptc_atoi(p, t->len) >= 0) { /* just a port */
        if ((port = sockaddr_parse_port(p, t->len, err)) < 0) {
            return PTC_ERROR;
        }
        end = p;
    } else if (colon) {
        if ((port = sockaddr_parse_port(colon + 1, (size_t)(end - colon - 1), err)) < 0) {
            return PTC_ERROR;
        }
        end = colon;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *len = sizeof(*s4);
    if (end == p || (end - p == 1 && *p == '*')) {
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else {
        if ((size_t)(end - p) >= sizeof(host)) {
            return PTC_ERROR;
        }
        memcpy(host, p, (size_t)(end - p));
        host[end - p] = '\0';
        if (strcmp(host, "localhost") == 0) {
            strcpy(host, "127.0.0.1");
        }
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
            *err = "host not found";
            return PTC_ERROR;
        }
    }
check_port:
    if (port == 0) {
        *err = "no port";
        return PTC_ERROR;
    }
    return PTC_OK;
}

bool
ptc_sockaddr_eq(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b, socklen_t blen)
{
    if (a->sa_family != b->sa_family) {
        return false;
    }
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port
               && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return alen == blen && memcmp(a, b, alen) == 0;
}

ptc_conn_t *
ptc_conn_connect(const struct sockaddr *sa, socklen_t len, ptc_log_t *log, int *rc, int *err)
{
    return ptc_conn_connect_from(sa, len, NULL, log, rc, err);
}

/* Bind fd to the source address of `from` (before connect). */
static int
sock_bind_source(int fd, const ptc_conn_source_t *from, ptc_log_t *log)
{
    const struct sockaddr *la = (const struct sockaddr *)&from->sockaddr;
    int one = 1;
    if (from->transparent) {
        int r = la->sa_family == AF_INET6
                    ? setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one))
                    : setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one));
        if (r == -1) {
            int e = errno;
            ptc_log_error(PTC_LOG_ALERT, log, e,
                          "setsockopt(IP_TRANSPARENT) failed (needs CAP_NET_ADMIN)");
            errno = e;
            return PTC_ERROR;
        }
    }
#ifdef IP_BIND_ADDRESS_NO_PORT
    if (ptc_sockaddr_port(la) == 0 && la->sa_family != AF_UNIX) {
        /* the port is chosen at connect(), per destination */
        (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    }
#endif
    if (bind(fd, la, from->socklen) == -1) {
        int e = errno;
        u_char text[128];
        size_t n = ptc_sockaddr_text(la, from->socklen, text, sizeof(text), true);
        ptc_log_error(PTC_LOG_CRIT, log, e, "bind(%.*s) failed", (int)n, text);
        errno = e;
        return PTC_ERROR;
    }
    return PTC_OK;
}

ptc_conn_t *
ptc_conn_connect_from(const struct sockaddr *sa, socklen_t len, const ptc_conn_source_t *from,
                      ptc_log_t *log, int *rc, int *err)
{
    *err = 0;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        *err = errno;
        *rc = PTC_ERROR;
        ptc_log_error(PTC_LOG_ALERT, log, *err, "socket() failed");
        return NULL;
    }
    ptc_conn_t *c = ptc_conn_get(fd, log);
    if (c == NULL) {
        close(fd);
        *rc = PTC_DECLINED;
        return NULL;
    }
    c->is_unix = sa->sa_family == AF_UNIX;
    memcpy(&c->sockaddr, sa, len);
    c->socklen = len;
    if (!c->is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (from && sock_bind_source(fd, from, log) != PTC_OK) {
        *err = errno;
        *rc = PTC_ERROR;
        ptc_conn_close(c);
        return NULL;
    }
    int r;
    do {
        r = connect(fd, sa, len);
    } while (r == -1 && errno == EINTR);
    if (r == -1 && errno != EINPROGRESS && errno != EAGAIN) {
        *err = errno;
        *rc = PTC_ERROR;
        ptc_conn_close(c);
        return NULL;
    }
    if (ptc_event_add_conn(c) != PTC_OK) {
        *err = errno;
        *rc = PTC_ERROR;
        ptc_conn_close(c);
        return NULL;
    }
    *rc = r == 0 ? PTC_OK : PTC_AGAIN;
    return c;
}

int
ptc_conn_connect_result(ptc_conn_t *c, int *err)
{
    int e = 0;
    socklen_t l = sizeof(e);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l) == -1) {
        e = errno;
    }
    *err = e;
    return e ? PTC_ERROR : PTC_OK;
}
