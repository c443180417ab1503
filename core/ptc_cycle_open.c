/* SPDX-License-Identifier: BSD-2-Clause */
/* What a cycle owns outside memory: log files, listening sockets, shared
 * zones, the pid file. Reload carries over sockets and zones with the same
 * identity so no connection is dropped and shared state survives. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/ptc_conf.h"
#include "core/ptc_cycle_int.h"
#include "core/ptc_pool.h"

ptc_open_file_t *
ptc_cycle_open_file(ptc_cycle_t *cycle, const char *path)
{
    if (path == NULL) {
        return NULL;
    }
    for (ptc_open_file_t *f = cycle->open_files; f; f = f->next) {
        if (strcmp(f->path, path) == 0) {
            return f;
        }
    }
    ptc_open_file_t *f = ptc_pcalloc(cycle->pool, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    f->fd = -1;
    f->path = (char *)path;
    f->next = cycle->open_files;
    cycle->open_files = f;
    return f;
}

static int
cycle_open_files(ptc_cycle_t *cycle, ptc_conf_t *cf)
{
    for (ptc_open_file_t *f = cycle->open_files; f; f = f->next) {
        if (strcmp(f->path, "stderr") == 0) {
            f->fd = 2;
            continue;
        }
        f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (f->fd == -1) {
            snprintf(cf->errbuf, cf->errlen, "open() \"%s\" failed (%d: %s)", f->path, errno,
                     strerror(errno));
            cf->failed = true;
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

ptc_listen_t *
ptc_cycle_add_listen(ptc_conf_t *cf, const struct sockaddr *sa, socklen_t len)
{
    ptc_cycle_t *cycle = cf->cycle;
    ptc_listen_t **ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        if (ptc_sockaddr_eq((struct sockaddr *)&ls[i]->sockaddr, ls[i]->socklen, sa, len)) {
            return ls[i];
        }
    }
    ptc_listen_t *l = ptc_pcalloc(cf->pool, sizeof(*l));
    ptc_listen_t **slot = ptc_array_push(&cycle->listening);
    if (l == NULL || slot == NULL) {
        return NULL;
    }
    memcpy(&l->sockaddr, sa, len);
    l->socklen = len;
    l->fd = -1;
    l->backlog = 511;
    l->rcvbuf = -1;
    l->sndbuf = -1;
    l->worker = -1;
    u_char text[128];
    size_t n = ptc_sockaddr_text(sa, len, text, sizeof(text), true);
    if (ptc_str_dup(cf->pool, &l->addr_text, text, n) != PTC_OK) {
        return NULL;
    }
    *slot = l;
    return l;
}

/* With reuseport, each worker gets its own socket: expand one entry into
 * worker_processes entries, each tagged with its worker slot. */
static int
cycle_expand_reuseport(ptc_cycle_t *cycle, int64_t workers)
{
    size_t n = cycle->listening.nelts;
    for (size_t i = 0; i < n; i++) {
        ptc_listen_t *l = ((ptc_listen_t **)cycle->listening.elts)[i];
        if (!l->reuseport || l->worker != -1) {
            continue;
        }
        l->worker = 0;
        for (int64_t w = 1; w < workers; w++) {
            ptc_listen_t *c = ptc_palloc(cycle->pool, sizeof(*c));
            ptc_listen_t **slot = ptc_array_push(&cycle->listening);
            if (c == NULL || slot == NULL) {
                return PTC_ERROR;
            }
            *c = *l;
            c->worker = (int)w;
            *slot = c;
        }
    }
    return PTC_OK;
}

static ptc_listen_t *
cycle_find_old_listen(ptc_cycle_t *old, const ptc_listen_t *l)
{
    if (old == NULL) {
        return NULL;
    }
    ptc_listen_t **ols = old->listening.elts;
    for (size_t i = 0; i < old->listening.nelts; i++) {
        ptc_listen_t *o = ols[i];
        if (o->fd != -1 && !o->keep && o->worker == l->worker && o->reuseport == l->reuseport
            && o->so_keepalive == l->so_keepalive
            && ptc_sockaddr_eq((struct sockaddr *)&o->sockaddr, o->socklen,
                               (const struct sockaddr *)&l->sockaddr, l->socklen)) {
            return o;
        }
    }
    return NULL;
}

static int
cycle_bind(ptc_listen_t *l, ptc_conf_t *cf)
{
    int family = l->sockaddr.ss_family, one = 1;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        goto failed;
    }
    if (family != AF_UNIX && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) {
        goto failed;
    }
    if (l->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) {
        goto failed;
    }
    if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) {
        goto failed;
    }
    if (l->so_keepalive && setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == -1) {
        goto failed;
    }
    if (l->rcvbuf != -1) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &l->rcvbuf, sizeof(int));
    }
    if (l->sndbuf != -1) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &l->sndbuf, sizeof(int));
    }
    if (family == AF_UNIX) {
        unlink(((struct sockaddr_un *)&l->sockaddr)->sun_path);
    }
    if (bind(fd, (struct sockaddr *)&l->sockaddr, l->socklen) == -1) {
        int err = errno;
        snprintf(cf->errbuf, cf->errlen, "bind() to %.*s failed (%d: %s)",
                 PTC_STR_ARG(l->addr_text), err, strerror(err));
        cf->failed = true;
        close(fd);
        return PTC_ERROR;
    }
    if (listen(fd, l->backlog) == -1) {
        goto failed;
    }
    l->fd = fd;
    return PTC_OK;

failed:;
    int err = errno;
    snprintf(cf->errbuf, cf->errlen, "socket setup for %.*s failed (%d: %s)",
             PTC_STR_ARG(l->addr_text), err, strerror(err));
    cf->failed = true;
    if (fd != -1) {
        close(fd);
    }
    return PTC_ERROR;
}

static int
cycle_open_listening(ptc_cycle_t *cycle, ptc_cycle_t *old, ptc_conf_t *cf)
{
    ptc_listen_t **ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        ptc_listen_t *o = cycle_find_old_listen(old, ls[i]);
        if (o) {
            o->keep = 1;
            ls[i]->fd = o->fd;
            ls[i]->inherited = 1;
            if (o->backlog != ls[i]->backlog) {
                listen(o->fd, ls[i]->backlog);
            }
            continue;
        }
        if (cycle_bind(ls[i], cf) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

ptc_shm_zone_t *
ptc_cycle_add_shm(ptc_conf_t *cf, const ptc_str_t *name, size_t size, const void *tag)
{
    ptc_cycle_t *cycle = cf->cycle;
    ptc_shm_zone_t **zs = cycle->shm_zones.elts;
    for (size_t i = 0; i < cycle->shm_zones.nelts; i++) {
        if (ptc_str_eq(&zs[i]->name, name)) {
            if (zs[i]->tag != tag) {
                ptc_conf_error(cf,
                               "the shared memory zone \"" PTC_STR_FMT
                               "\" is already declared for a different use",
                               PTC_STR_ARG(*name));
                return NULL;
            }
            if (size && zs[i]->size && size != zs[i]->size) {
                ptc_conf_error(cf,
                               "the size %zu of shared memory zone \"" PTC_STR_FMT
                               "\" conflicts with already declared size %zu",
                               size, PTC_STR_ARG(*name), zs[i]->size);
                return NULL;
            }
            if (size) {
                zs[i]->size = size;
            }
            return zs[i];
        }
    }
    ptc_shm_zone_t *z = ptc_pcalloc(cf->pool, sizeof(*z));
    ptc_shm_zone_t **slot = ptc_array_push(&cycle->shm_zones);
    if (z == NULL || slot == NULL) {
        return NULL;
    }
    z->name = *name;
    z->size = size;
    z->tag = tag;
    if (cf->node) {
        z->file = cf->node->file;
        z->line = cf->node->line;
    }
    *slot = z;
    return z;
}

static ptc_shm_zone_t *
cycle_find_old_shm(ptc_cycle_t *old, const ptc_shm_zone_t *z)
{
    if (old == NULL) {
        return NULL;
    }
    ptc_shm_zone_t **zs = old->shm_zones.elts;
    for (size_t i = 0; i < old->shm_zones.nelts; i++) {
        if (ptc_str_eq(&zs[i]->name, &z->name) && zs[i]->size == z->size && zs[i]->tag == z->tag
            && zs[i]->addr) {
            return zs[i];
        }
    }
    return NULL;
}

static int
cycle_open_shm(ptc_cycle_t *cycle, ptc_cycle_t *old, ptc_conf_t *cf)
{
    ptc_shm_zone_t **zs = cycle->shm_zones.elts;
    for (size_t i = 0; i < cycle->shm_zones.nelts; i++) {
        ptc_shm_zone_t *z = zs[i];
        if (z->size == 0) {
            snprintf(cf->errbuf, cf->errlen, "zero size shared memory zone \"%.*s\"",
                     PTC_STR_ARG(z->name));
            cf->failed = true;
            return PTC_ERROR;
        }
        ptc_shm_zone_t *o = cycle_find_old_shm(old, z);
        if (o) {
            z->addr = o->addr;
            z->reused = true;
            o->addr = NULL; /* ownership moves to the new cycle */
        } else {
            z->addr =
                mmap(NULL, z->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
            if (z->addr == MAP_FAILED) {
                z->addr = NULL;
                snprintf(cf->errbuf, cf->errlen, "mmap(%zu) failed (%d: %s)", z->size, errno,
                         strerror(errno));
                cf->failed = true;
                return PTC_ERROR;
            }
        }
        if (z->init && z->init(z, o ? o->data : NULL) != PTC_OK) {
            if (z->error) {
                snprintf(cf->errbuf, cf->errlen, "%s in %s:%u", z->error, z->file ? z->file : "",
                         z->line);
            } else {
                snprintf(cf->errbuf, cf->errlen, "cannot initialize shared memory zone \"%.*s\"",
                         PTC_STR_ARG(z->name));
            }
            cf->failed = true;
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

int
ptc_cycle_open(ptc_cycle_t *cycle, ptc_cycle_t *old, ptc_conf_t *cf)
{
    if (cycle_open_files(cycle, cf) != PTC_OK) {
        return PTC_ERROR;
    }
    if (cycle->params.test_only) {
        return PTC_OK;
    }
    ptc_core_conf_t *cc = ptc_cycle_core_conf(cycle);
    if (cycle_expand_reuseport(cycle, cc->master ? cc->worker_processes : 1) != PTC_OK
        || cycle_open_shm(cycle, old, cf) != PTC_OK
        || cycle_open_listening(cycle, old, cf) != PTC_OK) {
        return PTC_ERROR;
    }
    return PTC_OK;
}

static void
cycle_close_files(ptc_cycle_t *cycle, ptc_cycle_t *next)
{
    for (ptc_open_file_t *f = cycle->open_files; f; f = f->next) {
        if (f->fd > 2) {
            close(f->fd);
        }
        f->fd = -1;
    }
}

void
ptc_cycle_abandon(ptc_cycle_t *cycle, ptc_cycle_t *old)
{
    ptc_listen_t **ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i]->fd != -1 && !ls[i]->inherited) {
            close(ls[i]->fd);
        }
    }
    if (old) {
        ptc_listen_t **ols = old->listening.elts;
        for (size_t i = 0; i < old->listening.nelts; i++) {
            ols[i]->keep = 0;
        }
        ptc_shm_zone_t **ozs = old->shm_zones.elts, **zs = cycle->shm_zones.elts;
        for (size_t i = 0; i < cycle->shm_zones.nelts; i++) {
            for (size_t j = 0; zs[i]->reused && j < old->shm_zones.nelts; j++) {
                if (ozs[j]->addr == NULL && ptc_str_eq(&ozs[j]->name, &zs[i]->name)) {
                    ozs[j]->addr = zs[i]->addr; /* give it back */
                }
            }
            if (!zs[i]->reused && zs[i]->addr) {
                munmap(zs[i]->addr, zs[i]->size);
            }
        }
    }
    cycle_close_files(cycle, NULL);
    ptc_pool_destroy(cycle->pool);
}

void
ptc_cycle_destroy(ptc_cycle_t *cycle, ptc_cycle_t *next)
{
    ptc_listen_t **ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i]->fd != -1 && !ls[i]->keep) {
            close(ls[i]->fd);
            if (ls[i]->sockaddr.ss_family == AF_UNIX && next == NULL) {
                unlink(((struct sockaddr_un *)&ls[i]->sockaddr)->sun_path);
            }
        }
        ls[i]->fd = -1;
    }
    ptc_shm_zone_t **zs = cycle->shm_zones.elts;
    for (size_t i = 0; i < cycle->shm_zones.nelts; i++) {
        if (zs[i]->addr) {
            munmap(zs[i]->addr, zs[i]->size);
        }
    }
    cycle_close_files(cycle, next);
    ptc_pool_destroy(cycle->pool);
}

void
ptc_cycle_flush_files(ptc_cycle_t *cycle)
{
    for (ptc_open_file_t *f = cycle->open_files; f; f = f->next) {
        if (f->buf_start && f->buf_pos > f->buf_start && f->fd != -1) {
            if (write(f->fd, f->buf_start, (size_t)(f->buf_pos - f->buf_start)) == -1) {
                ptc_log_error(PTC_LOG_ALERT, cycle->log, errno, "write() to \"%s\" failed",
                              f->path);
            }
            f->buf_pos = f->buf_start;
        }
    }
}

int
ptc_cycle_reopen_files(ptc_cycle_t *cycle)
{
    ptc_cycle_flush_files(cycle);
    for (ptc_open_file_t *f = cycle->open_files; f; f = f->next) {
        if (f->fd <= 2) {
            continue;
        }
        int fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd == -1) {
            ptc_log_error(PTC_LOG_ERR, cycle->log, errno, "reopen of \"%s\" failed", f->path);
            continue;
        }
        /* dup2 keeps the fd number, so nothing that holds it needs updating. */
        if (dup2(fd, f->fd) == -1) {
            ptc_log_error(PTC_LOG_ERR, cycle->log, errno, "dup2() for \"%s\" failed", f->path);
        }
        close(fd);
    }
    return PTC_OK;
}

int
ptc_cycle_write_pid(ptc_cycle_t *cycle)
{
    const char *path = ptc_cycle_core_conf(cycle)->pid_path;
    char tmp[4096], buf[32];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        ptc_log_error(PTC_LOG_EMERG, cycle->log, errno, "open() \"%s\" failed", tmp);
        return PTC_ERROR;
    }
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    bool ok = write(fd, buf, (size_t)n) == n;
    close(fd);
    /* rename makes the pid file appear complete or not at all */
    if (!ok || rename(tmp, path) == -1) {
        ptc_log_error(PTC_LOG_EMERG, cycle->log, errno, "writing pid file \"%s\" failed", path);
        unlink(tmp);
        return PTC_ERROR;
    }
    return PTC_OK;
}

void
ptc_cycle_delete_pid(ptc_cycle_t *cycle)
{
    const char *path = ptc_cycle_core_conf(cycle)->pid_path;
    if (unlink(path) == -1 && errno != ENOENT) {
        ptc_log_error(PTC_LOG_ALERT, cycle->log, errno, "unlink() \"%s\" failed", path);
    }
}

pid_t
ptc_cycle_read_pid(const char *path)
{
    char buf[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        ptc_log_stderr(PTC_LOG_ERR, errno, "open() \"%s\" failed", path);
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) {
        n--;
    }
    int64_t pid = n > 0 ? ptc_atoi((u_char *)buf, (size_t)n) : -1;
    if (pid <= 0) {
        ptc_log_stderr(PTC_LOG_ERR, 0, "invalid PID number \"%.*s\" in \"%s\"",
                       (int)(n > 0 ? n : 0), buf, path);
        return -1;
    }
    return (pid_t)pid;
}
