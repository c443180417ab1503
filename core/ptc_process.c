/* SPDX-License-Identifier: BSD-2-Clause */
/* Master process: signal handling with sigtimedwait (every signal is
 * blocked; the master takes them synchronously, so no handler races),
 * worker bookkeeping, reload by cycle swap, respawn of crashed workers,
 * and the old master's part of a binary upgrade (USR2 starts the new
 * binary, WINCH stops the workers, HUP brings them back, the new master's
 * exit restores the pid file). */
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
#include "core/ptc_upgrade.h"

#define PROCESS_MAX_WORKERS 1024

typedef struct {
    pid_t pid;
    int slot;
    unsigned generation;
    bool exiting; /* told to quit/terminate: do not respawn */
} process_worker_t;

int ptc_process_role;
bool ptc_process_daemonized;
int ptc_worker_slot = -1;
volatile uint64_t *ptc_connection_counter;
static ptc_stats_t process_stats_local;
ptc_stats_t *ptc_stats = &process_stats_local;

static process_worker_t process_workers[PROCESS_MAX_WORKERS];
static size_t process_nworkers;
static unsigned process_generation;
static pid_t process_new_binary; /* the new master of a binary upgrade; 0: none */
static bool process_noaccepting; /* workers stopped by WINCH: none is started until HUP */

int
ptc_process_shared_init(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        ptc_log_stderr(PTC_LOG_EMERG, errno, "mmap() of shared counters failed");
        return PTC_ERROR;
    }
    ptc_connection_counter = p;
    /* the counters sit on their own cache line, away from the number */
    ptc_stats = (ptc_stats_t *)((u_char *)p + 64);
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
    ptc_process_daemonized = true;
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

static bool
process_slot_running(int slot)
{
    for (size_t i = 0; i < process_nworkers; i++) {
        process_worker_t *w = &process_workers[i];
        if (w->pid != 0 && w->slot == slot && w->generation == process_generation && !w->exiting) {
            return true;
        }
    }
    return false;
}

/* Start a worker in every slot of the current configuration that has none
 * (after WINCH: the old master takes over again). */
static void
process_resume_workers(ptc_cycle_t *cycle)
{
    process_noaccepting = false;
    int64_t n = ptc_cycle_core_conf(cycle)->worker_processes;
    for (int64_t i = 0; i < n; i++) {
        if (!process_slot_running((int)i)) {
            process_spawn(cycle, (int)i);
        }
    }
}

static void
process_new_binary_exited(ptc_cycle_t *cycle, int status, bool stopping)
{
    if (WIFSIGNALED(status)) {
        ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "new binary process %d exited on signal %d",
                      (int)process_new_binary, WTERMSIG(status));
    } else {
        ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0, "new binary process %d exited with code %d",
                      (int)process_new_binary, WEXITSTATUS(status));
    }
    process_new_binary = 0;
    ptc_upgrade_restore_pid(cycle);
    if (process_noaccepting && !stopping) {
        ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0,
                      "the new binary is gone, starting worker processes again");
        process_resume_workers(cycle);
    }
}

static void
process_reap(ptc_cycle_t *cycle, bool stopping)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == process_new_binary) {
            process_new_binary_exited(cycle, status, stopping);
            continue;
        }
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
            if (!w->exiting && !stopping && !fatal && !process_noaccepting
                && w->generation == process_generation) {
                process_spawn(cycle, w->slot);
            }
        }
    }
}

/* Stopping: the master's copies of the listening sockets go too, so new
 * connections are refused rather than queued for nobody. A unix socket's
 * file stays while the other master of a binary upgrade may use it. */
static void
process_close_listeners(ptc_cycle_t *cycle)
{
    bool shared = process_new_binary != 0 || ptc_upgrade_parent_alive();
    ptc_listen_t **ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i]->fd != -1) {
            close(ls[i]->fd);
            ls[i]->fd = -1;
            if (ls[i]->sockaddr.ss_family == AF_UNIX && !shared) {
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
    process_noaccepting = false;
    process_start_workers(next);
    process_signal_workers(cycle, SIGQUIT, true);
    ptc_cycle_write_pid(next);
    ptc_cycle_destroy(cycle, next);
    ptc_cycle = next;
    return next;
}

/* HUP while a new binary runs: the configuration is not read again (the
 * pid file is the new master's); the old workers come back (rollback). */
static void
process_hup(ptc_cycle_t **cycle)
{
    if (process_new_binary == 0) {
        *cycle = process_reload(*cycle);
        return;
    }
    ptc_log_error(PTC_LOG_NOTICE, (*cycle)->log, 0,
                  "signal %d (SIGHUP) received, starting worker processes without rereading the "
                  "configuration (new binary process %d is running)",
                  SIGHUP, (int)process_new_binary);
    process_resume_workers(*cycle);
}

static void
process_usr2(ptc_cycle_t *cycle)
{
    pid_t by = ptc_upgrade_blocked_by();
    if (process_new_binary) {
        ptc_log_error(PTC_LOG_WARN, cycle->log, 0,
                      "signal %d (SIGUSR2) received, ignored: new binary process %d is running",
                      SIGUSR2, (int)process_new_binary);
    } else if (by && ptc_upgrade_started()) {
        ptc_log_error(PTC_LOG_WARN, cycle->log, 0,
                      "signal %d (SIGUSR2) received, ignored: the old master %d is still running",
                      SIGUSR2, (int)by);
    } else if (by) {
        ptc_log_error(PTC_LOG_WARN, cycle->log, 0,
                      "signal %d (SIGUSR2) received, ignored: binary upgrade needs \"daemon on\" "
                      "(the parent process %d would not know the new master)",
                      SIGUSR2, (int)by);
    } else {
        ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0,
                      "signal %d (SIGUSR2) received, changing binary", SIGUSR2);
        pid_t pid = ptc_upgrade_exec(cycle);
        process_new_binary = pid > 0 ? pid : 0;
    }
}

/* WINCH: the workers stop gracefully and are not replaced; the master
 * keeps its sockets (the new binary's workers serve them). In the
 * foreground it is a terminal resize, not an order. */
static void
process_winch(ptc_cycle_t *cycle)
{
    if (!ptc_process_daemonized) {
        ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0,
                      "signal %d (SIGWINCH) received, ignored: not running as a daemon", SIGWINCH);
        return;
    }
    ptc_log_error(PTC_LOG_NOTICE, cycle->log, 0,
                  "signal %d (SIGWINCH) received, gracefully stopping worker processes", SIGWINCH);
    process_noaccepting = true;
    process_signal_workers(cycle, SIGQUIT, false);
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
                process_hup(&cycle);
            }
            break;
        case SIGUSR2:
            if (!terminating && !quitting) {
                process_usr2(cycle);
            }
            break;
        case SIGWINCH:
            if (!terminating && !quitting) {
                process_winch(cycle);
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
    if (process_new_binary) {
        ptc_upgrade_delete_oldbin(cycle); /* the pid file is the new master's */
    } else {
        ptc_cycle_delete_pid(cycle);
    }
    for (size_t i = 0; ptc_modules[i]; i++) {
        if (ptc_modules[i]->exit_master) {
            ptc_modules[i]->exit_master(cycle);
        }
    }
    ptc_cycle_destroy(cycle, NULL);
    return 0;
}
