/* SPDX-License-Identifier: BSD-2-Clause */
/* Worker process: drop privileges, set up the event loop and connection
 * slots, accept on the shared listeners, and stop gracefully on QUIT:
 * listeners close at once, in-flight requests finish, and kept-alive
 * connections stay open until their next request (answered with
 * "Connection: close") or their keepalive timeout, bounded by
 * worker_shutdown_timeout. */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/ptc_conf.h"
#include "core/ptc_module.h"
#include "core/ptc_pool.h"
#include "core/ptc_process.h"
#include "core/ptc_process_int.h"
#include "core/ptc_time.h"

#define WORKER_ACCEPT_BATCH 64

bool ptc_worker_exiting;
static volatile sig_atomic_t worker_sig_quit, worker_sig_term, worker_sig_reopen,
    worker_sig_upgrade;
static ptc_event_t worker_shutdown_ev;

static void
worker_signal(int sig)
{
    switch (sig) {
    case SIGQUIT:
        worker_sig_quit = 1;
        break;
    case SIGTERM:
    case SIGINT:
        worker_sig_term = 1;
        break;
    case SIGUSR1:
        worker_sig_reopen = 1;
        break;
    case SIGUSR2:
        worker_sig_upgrade = 1;
        break;
    default:
        break;
    }
}

static void
worker_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = worker_signal;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGQUIT, SIGTERM, SIGINT, SIGUSR1};
    for (size_t i = 0; i < ptc_nelems(sigs); i++) {
        sigaction(sigs[i], &sa, NULL);
    }
    /* without a master, USR2 is answered with a notice: there is nobody to
     * hand the sockets over */
    if (ptc_process_role == PTC_PROCESS_SINGLE) {
        sigaction(SIGUSR2, &sa, NULL);
    }
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    if (ptc_process_role != PTC_PROCESS_SINGLE) {
        sigaction(SIGUSR2, &sa, NULL);
    }
    sigaction(SIGWINCH, &sa, NULL);
}

/* Accepted connections between two re-registrations of a shared listener
 * (see ptc_event_reorder_listen): two syscalls per this many accepts. */
#define WORKER_REORDER_EVERY 16
static unsigned worker_accepted;

static void
worker_accept(ptc_event_t *ev)
{
    ptc_conn_t *lc = ev->data;
    ptc_listen_t *ls = lc->listening;
    for (int i = 0; i < WORKER_ACCEPT_BATCH; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        int fd = accept4(lc->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            int err = errno;
            if (err == EAGAIN || err == EINTR) {
                return;
            }
            ptc_log_error(err == ECONNABORTED ? PTC_LOG_ERR : PTC_LOG_ALERT, ls->log, err,
                          "accept4() failed");
            return;
        }
        ptc_stat_add(accepted, 1);
        ptc_conn_t *c = ptc_conn_get(fd, ls->log);
        if (c == NULL) {
            close(fd);
            return;
        }
        c->counted = 1;
        ptc_stat_add(active, 1);
        c->pool = ptc_pool_create(ls->pool_size ? ls->pool_size : 512);
        if (c->pool == NULL) {
            ptc_conn_close(c);
            continue;
        }
        memcpy(&c->sockaddr, &sa, len);
        c->socklen = len;
        c->listening = ls;
        c->is_unix = sa.ss_family == AF_UNIX;
        c->number = __atomic_add_fetch(ptc_connection_counter, 1, __ATOMIC_RELAXED);
        c->start_msec = ptc_current_msec;
        u_char text[64];
        size_t n = ptc_sockaddr_text((struct sockaddr *)&sa, len, text, sizeof(text), false);
        if (ptc_str_dup(c->pool, &c->addr_text, text, n) != PTC_OK
            || ptc_event_add_conn(c) != PTC_OK) {
            ptc_conn_close(c);
            continue;
        }
        ptc_log_debug(c->log, "*%llu accept: %.*s fd:%d", (unsigned long long)c->number,
                      PTC_STR_ARG(c->addr_text), fd);
        ptc_stat_add(handled, 1);
        ls->handler(c);
        if (!ls->reuseport && ++worker_accepted % WORKER_REORDER_EVERY == 0) {
            ptc_event_reorder_listen(lc);
        }
    }
}

static int
worker_listen(ptc_cycle_t *cycle, int slot)
{
    ptc_listen_t **ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        ptc_listen_t *l = ls[i];
        if (l->worker != -1 && l->worker != slot && slot != -1) {
            continue;
        }
        ptc_conn_t *c = ptc_conn_get(l->fd, cycle->log);
        if (c == NULL) {
            return PTC_ERROR;
        }
        c->shared = 1;
        c->listening = l;
        c->log = l->log ? l->log : cycle->log;
        c->read->handler = worker_accept;
        c->read->accept = 1;
        l->conn = c;
        if (ptc_event_add_listen(c) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

static void
worker_close_listeners(ptc_cycle_t *cycle)
{
    ptc_listen_t **ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        ptc_conn_t *c = ls[i]->conn;
        if (c == NULL) {
            continue;
        }
        ptc_event_del(c);
        ls[i]->conn = NULL;
        ptc_conn_close(c); /* closes this process's copy of the socket only */
    }
}

static void
worker_force_close(ptc_conn_t *c)
{
    ptc_log_error(PTC_LOG_INFO, c->log, 0, "closing connection at worker_shutdown_timeout");
    c->close = 1;
    c->error = 1;
    ptc_conn_close(c);
}

static void
worker_shutdown_timer(ptc_event_t *ev)
{
    ptc_conn_foreach(worker_force_close);
}

static int
worker_init(ptc_cycle_t *cycle, int slot)
{
    ptc_core_conf_t *cc = ptc_cycle_core_conf(cycle);
    ptc_process_slot_pid = (int)getpid();
    ptc_worker_slot = slot;
    if (cc->rlimit_nofile != PTC_CONF_UNSET) {
        struct rlimit rl = {(rlim_t)cc->rlimit_nofile, (rlim_t)cc->rlimit_nofile};
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
            ptc_log_error(PTC_LOG_ALERT, cycle->log, errno, "setrlimit(RLIMIT_NOFILE, %lld) failed",
                          (long long)cc->rlimit_nofile);
        }
    }
    if (geteuid() == 0 && cc->user_set && slot != -1) {
        if (setgid(cc->gid) == -1
            || initgroups(cc->user_name.len ? (char *)cc->user_name.data : "nobody", cc->gid) == -1
            || setuid(cc->uid) == -1) {
            ptc_log_error(PTC_LOG_EMERG, cycle->log, errno, "switching to user \"%.*s\" failed",
                          PTC_STR_ARG(cc->user_name));
            return PTC_ERROR;
        }
    }
    if (ptc_event_init(cycle->log) != PTC_OK
        || ptc_conn_init(cycle->connection_n, cycle->log) != PTC_OK) {
        return PTC_ERROR;
    }
    for (size_t i = 0; ptc_modules[i]; i++) {
        if (ptc_modules[i]->init_worker && ptc_modules[i]->init_worker(cycle) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    return worker_listen(cycle, slot);
}

static void
worker_exit(ptc_cycle_t *cycle, int status)
{
    for (size_t i = 0; ptc_modules[i]; i++) {
        if (ptc_modules[i]->exit_worker) {
            ptc_modules[i]->exit_worker(cycle);
        }
    }
    ptc_cycle_flush_files(cycle);
    if (ptc_process_role == PTC_PROCESS_SINGLE) {
        ptc_cycle_delete_pid(cycle);
    }
    exit(status);
}

static void
worker_begin_shutdown(ptc_cycle_t *cycle)
{
    ptc_worker_exiting = true;
    ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "gracefully shutting down");
    worker_close_listeners(cycle);
    ptc_msec_t t = ptc_cycle_core_conf(cycle)->shutdown_timeout;
    if (t) {
        worker_shutdown_ev.handler = worker_shutdown_timer;
        worker_shutdown_ev.log = cycle->log;
        worker_shutdown_ev.cancelable = 1;
        worker_shutdown_ev.timer_index = -1;
        ptc_event_add_timer(&worker_shutdown_ev, t);
    }
}

int
ptc_worker_run(ptc_cycle_t *cycle, int slot)
{
    sigset_t set;
    ptc_process_block_signals(&set);
    worker_signals();
    ptc_time_update();
    if (worker_init(cycle, slot) != PTC_OK) {
        /* exit code 2 tells the master not to respawn in a tight loop */
        worker_exit(cycle, 2);
    }
    for (;;) {
        ptc_event_process();
        if (worker_sig_term) {
            worker_exit(cycle, 0);
        }
        if (worker_sig_reopen) {
            worker_sig_reopen = 0;
            ptc_cycle_reopen_files(cycle);
        }
        if (worker_sig_upgrade) {
            worker_sig_upgrade = 0;
            ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0,
                          "signal %d (SIGUSR2) received, ignored: binary upgrade needs "
                          "\"master_process on\"",
                          SIGUSR2);
        }
        if (worker_sig_quit && !ptc_worker_exiting) {
            worker_begin_shutdown(cycle);
        }
        if (ptc_worker_exiting && ptc_conn_used() == 0) {
            worker_exit(cycle, 0);
        }
    }
}

int
ptc_single_run(ptc_cycle_t *cycle)
{
    ptc_process_role = PTC_PROCESS_SINGLE;
    return ptc_worker_run(cycle, -1);
}
