/* SPDX-License-Identifier: BSD-2-Clause */
/* Binary upgrade: the old master's side (pid file rename, fork + exec with
 * the listening sockets named in PORTICO_LISTEN) and the new master's side
 * (check each named descriptor, offer the good ones to the first cycle as
 * if they came from a previous configuration, close what is not used). */
#include "core/ptc_upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ptc_alloc.h"
#include "core/ptc_pool.h"

typedef struct {
    int fd;          /* -1 when the entry is not a number */
    ptc_str_t token; /* as written in the variable */
    const char *why;
    bool closed;
} upgrade_reject_t;

static struct {
    char **argv;
    const char *path; /* argv[0], made absolute when it was a relative path */
    pid_t parent;     /* the parent that blocks USR2 while alive; 0: none */
    bool started;     /* this master was started by an upgrade */
    ptc_cycle_t *inherited;
    const char *env;     /* PORTICO_LISTEN as received */
    ptc_array_t rejects; /* upgrade_reject_t */
} upgrade;

void
ptc_upgrade_save_argv(char **argv)
{
    upgrade.argv = argv;
    upgrade.path = argv[0];
    upgrade.parent = getppid();
    if (argv[0] == NULL || argv[0][0] == '/' || strchr(argv[0], '/') == NULL) {
        return; /* absolute, or a bare name found through PATH at exec time */
    }
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        return;
    }
    size_t n = strlen(cwd) + strlen(argv[0]) + 2;
    char *p = ptc_alloc(n);
    if (p != NULL) {
        snprintf(p, n, "%s/%s", cwd, argv[0]);
        upgrade.path = p;
    }
}

void
ptc_upgrade_detached(void)
{
    upgrade.parent = 0;
}

pid_t
ptc_upgrade_blocked_by(void)
{
    return upgrade.parent != 0 && getppid() == upgrade.parent ? upgrade.parent : 0;
}

bool
ptc_upgrade_started(void)
{
    return upgrade.started;
}

bool
ptc_upgrade_parent_alive(void)
{
    return upgrade.started && ptc_upgrade_blocked_by() != 0;
}

static bool
upgrade_oldbin_path(ptc_cycle_t *cycle, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s.oldbin", ptc_cycle_core_conf(cycle)->pid_path);
    return n > 0 && (size_t)n < size;
}

/* The child of the old master: hand the listening sockets over and become
 * the new binary. Only returns by exiting. */
static void __attribute__((noreturn)) upgrade_child(ptc_cycle_t *cycle)
{
    ptc_process_slot_pid = (int)getpid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the new binary starts like any other */
    signal(SIGPIPE, SIG_DFL);
    ptc_listen_t **ls = cycle->listening.elts;
    char *val = ptc_alloc(cycle->listening.nelts * 12 + 1);
    if (val == NULL) {
        _exit(1);
    }
    char *p = val;
    *p = '\0';
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        int fd = ls[i]->fd;
        int flags = fd == -1 ? -1 : fcntl(fd, F_GETFD);
        if (flags == -1 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == -1) {
            continue;
        }
        p += sprintf(p, "%s%d", p == val ? "" : ";", fd);
    }
    if (setenv(PTC_UPGRADE_ENV, val, 1) == -1) {
        ptc_log_error(PTC_LOG_ALERT, cycle->log, errno, "setenv(%s) failed", PTC_UPGRADE_ENV);
        _exit(1);
    }
    if (strchr(upgrade.path, '/')) {
        execv(upgrade.path, upgrade.argv);
    } else {
        execvp(upgrade.path, upgrade.argv);
    }
    ptc_log_error(PTC_LOG_ALERT, cycle->log, errno, "execve() of \"%s\" failed", upgrade.path);
    _exit(1);
}

pid_t
ptc_upgrade_exec(ptc_cycle_t *cycle)
{
    const char *pid_path = ptc_cycle_core_conf(cycle)->pid_path;
    char old[PATH_MAX + 8];
    if (!upgrade_oldbin_path(cycle, old, sizeof(old))) {
        ptc_log_error(PTC_LOG_ALERT, cycle->log, 0, "pid file path \"%s\" is too long", pid_path);
        return -1;
    }
    if (rename(pid_path, old) == -1) {
        ptc_log_error(PTC_LOG_ALERT, cycle->log, errno,
                      "rename() of \"%s\" to \"%s\" failed, binary not changed", pid_path, old);
        return -1;
    }
    ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "pid file \"%s\" renamed to \"%s\"", pid_path,
                  old);
    pid_t pid = fork();
    if (pid == 0) {
        upgrade_child(cycle);
    }
    if (pid == -1) {
        ptc_log_error(PTC_LOG_ALERT, cycle->log, errno, "fork() failed, binary not changed");
        ptc_upgrade_restore_pid(cycle);
        return -1;
    }
    ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "start new binary process %d", (int)pid);
    return pid;
}

void
ptc_upgrade_restore_pid(ptc_cycle_t *cycle)
{
    const char *pid_path = ptc_cycle_core_conf(cycle)->pid_path;
    char old[PATH_MAX + 8];
    if (!upgrade_oldbin_path(cycle, old, sizeof(old))) {
        return;
    }
    if (rename(old, pid_path) == -1) {
        ptc_log_error(PTC_LOG_ALERT, cycle->log, errno, "rename() of \"%s\" back to \"%s\" failed",
                      old, pid_path);
        return;
    }
    ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "pid file \"%s\" renamed back to \"%s\"", old,
                  pid_path);
}

void
ptc_upgrade_delete_oldbin(ptc_cycle_t *cycle)
{
    char old[PATH_MAX + 8];
    if (upgrade_oldbin_path(cycle, old, sizeof(old)) && unlink(old) == -1 && errno != ENOENT) {
        ptc_log_error(PTC_LOG_ALERT, cycle->log, errno, "unlink() \"%s\" failed", old);
    }
}

/* NULL when fd can serve as an inherited listener (its address in sa/len),
 * else why not; *close_it tells whether the descriptor is ours to close. */
static const char *
upgrade_check_fd(int fd, struct sockaddr_storage *sa, socklen_t *len, bool *close_it)
{
    struct stat st;
    int v;
    socklen_t vl = sizeof(v);
    *close_it = false;
    if (fd <= 2) {
        return "a standard stream";
    }
    if (fstat(fd, &st) == -1) {
        return "not open";
    }
    if (!S_ISSOCK(st.st_mode)) {
        return "not a socket";
    }
    *close_it = true;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl) == -1 || v != SOCK_STREAM) {
        return "not a stream socket";
    }
    vl = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == -1 || v == 0) {
        return "not a listening socket";
    }
    *len = sizeof(*sa);
    if (getsockname(fd, (struct sockaddr *)sa, len) == -1) {
        return "getsockname() failed";
    }
    if (sa->ss_family != AF_INET && sa->ss_family != AF_INET6 && sa->ss_family != AF_UNIX) {
        return "not an inet, inet6 or unix socket";
    }
    return NULL;
}

static bool
upgrade_sockopt(int fd, int opt)
{
    int v = 0;
    socklen_t vl = sizeof(v);
    return getsockopt(fd, SOL_SOCKET, opt, &v, &vl) == 0 && v != 0;
}

/* A stand-in for the listener the old master had on fd. */
static int
upgrade_add_listen(ptc_cycle_t *c, int fd, const struct sockaddr_storage *sa, socklen_t len)
{
    ptc_listen_t *l = ptc_pcalloc(c->pool, sizeof(*l));
    if (l == NULL) {
        return PTC_ERROR;
    }
    l->fd = fd;
    l->sockaddr = *sa;
    l->socklen = len;
    l->backlog = -1; /* unknown: the new cycle sets its own */
    l->rcvbuf = l->sndbuf = -1;
    l->reuseport = upgrade_sockopt(fd, SO_REUSEPORT);
    l->so_keepalive = upgrade_sockopt(fd, SO_KEEPALIVE);
    l->worker = -1;
    if (l->reuseport) {
        /* reuseport sockets of one address are listed in worker-slot order */
        ptc_listen_t **ls = c->listening.elts;
        l->worker = 0;
        for (size_t i = 0; i < c->listening.nelts; i++) {
            l->worker += ls[i]->reuseport
                         && ptc_sockaddr_eq((struct sockaddr *)&ls[i]->sockaddr, ls[i]->socklen,
                                            (struct sockaddr *)sa, len);
        }
    }
    u_char text[128];
    size_t n = ptc_sockaddr_text((const struct sockaddr *)sa, len, text, sizeof(text), true);
    if (ptc_str_dup(c->pool, &l->addr_text, text, n) != PTC_OK) {
        return PTC_ERROR;
    }
    ptc_listen_t **slot = ptc_array_push(&c->listening);
    if (slot == NULL) {
        return PTC_ERROR;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    *slot = l;
    return PTC_OK;
}

static bool
upgrade_seen(ptc_cycle_t *c, int fd)
{
    ptc_listen_t **ls = c->listening.elts;
    for (size_t i = 0; i < c->listening.nelts; i++) {
        if (ls[i]->fd == fd) {
            return true;
        }
    }
    upgrade_reject_t *r = upgrade.rejects.elts;
    for (size_t i = 0; i < upgrade.rejects.nelts; i++) {
        if (r[i].fd == fd) {
            return true;
        }
    }
    return false;
}

/* One "fd" of the variable: accept it as a listener or note why not. */
static int
upgrade_take(ptc_cycle_t *c, const char *tok, size_t toklen)
{
    int64_t fd = toklen && toklen <= 10 ? ptc_atoi((const u_char *)tok, toklen) : -1;
    const char *why = NULL;
    bool close_it = false;
    struct sockaddr_storage sa;
    socklen_t len = 0;
    if (fd < 0 || fd > INT_MAX) {
        fd = -1;
        why = "not a descriptor number";
    } else if (upgrade_seen(c, (int)fd)) {
        why = "listed twice";
    } else {
        why = upgrade_check_fd((int)fd, &sa, &len, &close_it);
    }
    if (why == NULL) {
        return upgrade_add_listen(c, (int)fd, &sa, len);
    }
    upgrade_reject_t *r = ptc_array_push(&upgrade.rejects);
    if (r == NULL) {
        return PTC_ERROR;
    }
    *r = (upgrade_reject_t){(int)fd, {.data = (u_char *)tok, .len = toklen}, why, close_it};
    if (close_it) {
        close((int)fd);
    }
    return PTC_OK;
}

ptc_cycle_t *
ptc_upgrade_inherit(void)
{
    const char *env = getenv(PTC_UPGRADE_ENV);
    if (env == NULL) {
        return NULL;
    }
    upgrade.started = true;
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_cycle_t *c = pool ? ptc_pcalloc(pool, sizeof(*c)) : NULL;
    char *copy = c ? ptc_pnalloc(pool, strlen(env) + 1) : NULL;
    if (copy == NULL || ptc_array_init(&c->listening, pool, 8, sizeof(ptc_listen_t *)) != PTC_OK
        || ptc_array_init(&upgrade.rejects, pool, 2, sizeof(upgrade_reject_t)) != PTC_OK) {
        ptc_pool_destroy(pool);
        unsetenv(PTC_UPGRADE_ENV);
        return NULL;
    }
    c->pool = pool;
    c->log = &ptc_log_startup;
    strcpy(copy, env);
    upgrade.env = copy;
    for (const char *p = copy; *p;) {
        size_t n = strcspn(p, ";");
        if (n > 0 && upgrade_take(c, p, n) != PTC_OK) {
            break;
        }
        p += n + (p[n] == ';');
    }
    unsetenv(PTC_UPGRADE_ENV);
    upgrade.inherited = c;
    return c;
}

void
ptc_upgrade_adopt(ptc_cycle_t *cycle)
{
    ptc_cycle_t *old = upgrade.inherited;
    if (old == NULL) {
        return;
    }
    ptc_log_t *log = cycle->log;
    ptc_log_error(PTC_LOG_NOTICE, log, 0,
                  "binary upgrade: started by the old master %d with " PTC_UPGRADE_ENV "=\"%s\"",
                  (int)upgrade.parent, upgrade.env);
    upgrade_reject_t *r = upgrade.rejects.elts;
    for (size_t i = 0; i < upgrade.rejects.nelts; i++) {
        ptc_log_error(PTC_LOG_NOTICE, log, 0, "binary upgrade: ignoring \"%.*s\": %s%s",
                      PTC_STR_ARG(r[i].token), r[i].why, r[i].closed ? ", closed" : "");
    }
    ptc_listen_t **ls = old->listening.elts;
    for (size_t i = 0; i < old->listening.nelts; i++) {
        if (ls[i]->keep) {
            ptc_log_error(PTC_LOG_NOTICE, log, 0,
                          "binary upgrade: using inherited listening socket %.*s (fd %d)",
                          PTC_STR_ARG(ls[i]->addr_text), ls[i]->fd);
        } else {
            ptc_log_error(PTC_LOG_NOTICE, log, 0,
                          "binary upgrade: closing inherited socket %.*s (fd %d): not in the "
                          "configuration",
                          PTC_STR_ARG(ls[i]->addr_text), ls[i]->fd);
        }
    }
    upgrade.inherited = NULL;
    upgrade.env = NULL;
    upgrade.rejects = (ptc_array_t){0};
    ptc_cycle_destroy(old, cycle);
}
