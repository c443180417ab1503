/* SPDX-License-Identifier: BSD-2-Clause */
/* Master process: signal handling with sigtimedwait (every signal is
 * blocked; the master takes them synchronously, so no handler races),
 * worker bookkeeping, reload by cycle swap, respawn of crashed workers. */
#include "core/ptc_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ptc_module.h"
#include "core/ptc_process_int.h"
#include "core/ptc_time.h"

#define PROCESS_MAX_WORKERS 1024

typedef struct {
    pid_t pid;
    int slot;
    unsigned generation;
    bool exiting; /* told to quit/terminate: do not respawn */
} process_worker_t;

int ptc_process_role;
int ptc_worker_slot = -1;
volatile uint64_t *ptc_connection_counter;

static process_worker_t process_workers[PROCESS_MAX_WORKERS];
static size_t process_nworkers;
static unsigned process_generation;

int
ptc_process_shared_init(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        ptc_log_stderr(PTC_LOG_EMERG, errno, "mmap() of shared counters failed");
        return PTC_ERROR;
    }
    ptc_connection_counter = p;
    return PTC_OK;
}

void
ptc_process_block_signals(sigset_t *set)
{
    sigemptyset(set);
    int sigs[] = {SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD, SIGALRM};
    for (size_t i = 0; i < ptc_nelems(sigs); i++) {
        sigaddset(set, sigs[i]);
    }
    sigprocmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int
ptc_daemonize(ptc_log_t *log)
{
    pid_t pid = fork();
    if (pid == -1) {
        ptc_log_error(PTC_LOG_EMERG, log, errno, "fork() failed");
        return PTC_ERROR;
    }
    if (pid > 0) {
        exit(0);
    }
    if (setsid() == -1) {
        ptc_log_error(PTC_LOG_EMERG, log, errno, "setsid() failed");
        return PTC_ERROR;
    }
    umask(0);
    int fd = open("/dev/null", O_RDWR);
    if (fd != -1) {
        dup2(fd, 0);
        dup2(fd, 1);
        if (fd > 2) {
            close(fd);
        }
    }
    return PTC_OK;
}

static void
process_spawn(ptc_cycle_t *cycle, int slot)
{
    pid_t pid = fork();
    if (pid == -1) {
        ptc_log_error(PTC_LOG_ALERT, cycle->log, errno, "fork() failed while spawning worker");
        return;
    }
    if (pid == 0) {
        ptc_process_role = PTC_PROCESS_WORKER;
        exit(ptc_worker_run(cycle, slot));
    }
    for (size_t i = 0; i <= process_nworkers && i < PROCESS_MAX_WORKERS; i++) {
        if (i == process_nworkers) {
            process_nworkers++;
        } else if (process_workers[i].pid != 0) {
            continue;
        }
        process_workers[i] = (process_worker_t){pid, slot, process_generation, false};
        break;
    }
    ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "start worker process %d", (int)pid);
}

static void
process_start_workers(ptc_cycle_t *cycle)
{
    int64_t n = ptc_cycle_core_conf(cycle)->worker_processes;
    for (int64_t i = 0; i < n; i++) {
        process_spawn(cycle, (int)i);
    }
}

static void
process_signal_workers(ptc_cycle_t *cycle, int sig, bool only_old)
{
    for (size_t i = 0; i < process_nworkers; i++) {
        process_worker_t *w = &process_workers[i];
        if (w->pid == 0 || (only_old && w->generation == process_generation)) {
            continue;
        }
        if (sig == SIGQUIT || sig == SIGTERM) {
            w->exiting = true;
        }
        if (kill(w->pid, sig) == -1 && errno != ESRCH) {
            ptc_log_error(PTC_LOG_ALERT, cycle->log, errno, "kill(%d, %d) failed", (int)w->pid,
                          sig);
        }
    }
}

static size_t
process_live_workers(void)
{
    size_t n = 0;
    for (size_t i = 0; i < process_nworkers; i++) {
        n += process_workers[i].pid != 0;
    }
    return n;
}

static void
process_reap(ptc_cycle_t *cycle, bool stopping)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < process_nworkers; i++) {
            process_worker_t *w = &process_workers[i];
            if (w->pid != pid) {
                continue;
            }
            w->pid = 0;
            if (WIFSIGNALED(status)) {
                /* A crash is abnormal and worth a page: nginx logs it at alert. */
                ptc_log_error(w->exiting ? PTC_LOG_NOTICE : PTC_LOG_ALERT, cycle->log, 0,
                              "worker process %d exited on signal %d", (int)pid, WTERMSIG(status));
            } else {
                ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0,
                              "worker process %d exited with code %d", (int)pid,
                              WEXITSTATUS(status));
            }
            bool fatal = WIFEXITED(status) && WEXITSTATUS(status) == 2;
            if (fatal && !w->exiting) {
                ptc_log_error(PTC_LOG_ALERT, cycle->log, 0,
                              "worker process %d could not start and is not respawned", (int)pid);
            }
            if (!w->exiting && !stopping && !fatal && w->generation == process_generation) {
                process_spawn(cycle, w->slot);
            }
        }
    }
}

/* Stopping: the master's copies of the listening sockets go too, so new
 * connections are refused rather than queued for nobody. */
static void
process_close_listeners(ptc_cycle_t *cycle)
{
    ptc_listen_t **ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i]->fd != -1) {
            close(ls[i]->fd);
            ls[i]->fd = -1;
            if (ls[i]->sockaddr.ss_family == AF_UNIX) {
                unlink(((struct sockaddr_un *)&ls[i]->sockaddr)->sun_path);
            }
        }
    }
}

static ptc_cycle_t *
process_reload(ptc_cycle_t *cycle)
{
    char err[2048];
    ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "signal %d (SIGHUP) received, reconfiguring",
                  SIGHUP);
    ptc_cycle_t *next = ptc_cycle_create(cycle, &cycle->params, err, sizeof(err));
    if (next == NULL) {
        ptc_log_error(PTC_LOG_EMERG, cycle->log, 0, "%s", err);
        ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0,
                      "reload failed, the old configuration "
                      "keeps serving");
        return cycle;
    }
    for (size_t i = 0; ptc_modules[i]; i++) {
        if (ptc_modules[i]->init_module && ptc_modules[i]->init_module(next) != PTC_OK) {
            ptc_log_error(PTC_LOG_EMERG, cycle->log, 0, "module \"%s\" failed to start",
                          ptc_modules[i]->name);
        }
    }
    process_generation++;
    process_start_workers(next);
    process_signal_workers(cycle, SIGQUIT, true);
    ptc_cycle_write_pid(next);
    ptc_cycle_destroy(cycle, next);
    ptc_cycle = next;
    return next;
}

int
ptc_master_run(ptc_cycle_t *cycle)
{
    sigset_t set;
    siginfo_t info;
    struct timespec ts = {1, 0};
    bool terminating = false, quitting = false;
    ptc_msec_t kill_at = 0;

    ptc_process_role = PTC_PROCESS_MASTER;
    ptc_process_block_signals(&set);
    process_start_workers(cycle);

    for (;;) {
        int sig = sigtimedwait(&set, &info, &ts);
        ptc_time_update();
        switch (sig) {
        case SIGCHLD:
            process_reap(cycle, terminating || quitting);
            break;
        case SIGHUP:
            if (!terminating && !quitting) {
                cycle = process_reload(cycle);
            }
            break;
        case SIGUSR1:
            ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0,
                          "signal %d (SIGUSR1) received, "
                          "reopening logs",
                          SIGUSR1);
            ptc_cycle_reopen_files(cycle);
            process_signal_workers(cycle, SIGUSR1, false);
            break;
        case SIGQUIT:
            if (!quitting && !terminating) {
                quitting = true;
                ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "gracefully shutting down");
                process_signal_workers(cycle, SIGQUIT, false);
                process_close_listeners(cycle);
            }
            break;
        case SIGTERM:
        case SIGINT:
            if (!terminating) {
                terminating = true;
                kill_at = ptc_current_msec + 3000;
                ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "exiting");
                process_signal_workers(cycle, SIGTERM, false);
                process_close_listeners(cycle);
            }
            break;
        default:
            break;
        }
        process_reap(cycle, terminating || quitting);
        if (terminating && ptc_current_msec >= kill_at && process_live_workers()) {
            /* Workers that ignore TERM for 3 s are killed: stop means stop. */
            process_signal_workers(cycle, SIGKILL, false);
        }
        if ((terminating || quitting) && process_live_workers() == 0) {
            break;
        }
    }
    ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "exit");
    ptc_cycle_delete_pid(cycle);
    for (size_t i = 0; ptc_modules[i]; i++) {
        if (ptc_modules[i]->exit_master) {
            ptc_modules[i]->exit_master(cycle);
        }
    }
    ptc_cycle_destroy(cycle, NULL);
    return 0;
}
