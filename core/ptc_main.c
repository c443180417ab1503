/* SPDX-License-Identifier: BSD-2-Clause */
/* main(): parse the command line (nginx's flags), then hand over to the
 * cycle and process code. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ptc_conf_file.h"
#include "core/ptc_config.h"
#include "core/ptc_cycle.h"
#include "core/ptc_module.h"
#include "core/ptc_pool.h"
#include "core/ptc_process.h"
#include "core/ptc_time.h"
#include "core/ptc_upgrade.h"

typedef struct {
    bool help, version, version_full, test, dump, quiet;
    const char *prefix, *conf, *param, *errlog, *signal;
} main_opts_t;

static void
main_usage(void)
{
    fprintf(stderr,
            "Usage: " PTC_NAME " [-?hvVtTq] [-s signal] [-p prefix]\n"
            "             [-e filename] [-c filename] [-g directives]\n\n"
            "Options:\n"
            "  -?,-h         : this help\n"
            "  -v            : show version and exit\n"
            "  -V            : show version and configure options then exit\n"
            "  -t            : test configuration and exit\n"
            "  -T            : test configuration, dump it and exit\n"
            "  -q            : suppress non-error messages during configuration testing\n"
            "  -s signal     : send signal to a master process: stop, quit, reopen, reload\n"
            "  -p prefix     : set prefix path (default: " PTC_PREFIX ")\n"
            "  -e filename   : set error log file (default: " PTC_ERROR_LOG_PATH ")\n"
            "  -c filename   : set configuration file (default: " PTC_CONF_PATH ")\n"
            "  -g directives : set global directives out of configuration file\n\n");
}

static int
main_parse(int argc, char **argv, main_opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        const char *p = argv[i];
        if (*p++ != '-') {
            fprintf(stderr, PTC_NAME ": invalid option: \"%s\"\n", argv[i]);
            return PTC_ERROR;
        }
        while (*p) {
            char f = *p++;
            const char **val = NULL;
            switch (f) {
            case '?':
            case 'h':
                o->help = true;
                break;
            case 'v':
                o->version = true;
                break;
            case 'V':
                o->version = o->version_full = true;
                break;
            case 't':
                o->test = true;
                break;
            case 'T':
                o->test = o->dump = true;
                break;
            case 'q':
                o->quiet = true;
                break;
            case 'p':
                val = &o->prefix;
                break;
            case 'c':
                val = &o->conf;
                break;
            case 'g':
                val = &o->param;
                break;
            case 'e':
                val = &o->errlog;
                break;
            case 's':
                val = &o->signal;
                break;
            default:
                fprintf(stderr, PTC_NAME ": invalid option: \"%c\"\n", f);
                return PTC_ERROR;
            }
            if (val) {
                if (*p) {
                    *val = p;
                } else if (i + 1 < argc) {
                    *val = argv[++i];
                } else {
                    fprintf(stderr, PTC_NAME ": option \"-%c\" requires %s\n", f,
                            f == 's'   ? "signal name"
                            : f == 'g' ? "directives"
                                       : "file name");
                    return PTC_ERROR;
                }
                break;
            }
        }
    }
    if (o->signal && strcmp(o->signal, "stop") != 0 && strcmp(o->signal, "quit") != 0
        && strcmp(o->signal, "reopen") != 0 && strcmp(o->signal, "reload") != 0) {
        fprintf(stderr, PTC_NAME ": invalid option: \"-s %s\"\n", o->signal);
        return PTC_ERROR;
    }
    return PTC_OK;
}

static void
main_version(const main_opts_t *o)
{
    fprintf(stderr, PTC_NAME " version: " PTC_NAME "/" PTC_VERSION "\n");
    if (!o->version_full) {
        return;
    }
    fprintf(stderr, "built by %s\n", PTC_CC_NAME);
    fprintf(stderr, "built with OpenSSL %s\n", PTC_OPENSSL_VERSION);
    fprintf(stderr, "TLS SNI support enabled\n");
    /* the arguments as given, with the prefix shown when it was the default
     * (the compiled-in prefix ends with '/', which -V leaves out) */
    if (strstr(PTC_CONFIGURE_ARGS, "--prefix=") == NULL) {
        fprintf(stderr, "configure arguments: --prefix=%.*s%s%s %s\n", (int)sizeof(PTC_PREFIX) - 2,
                PTC_PREFIX, PTC_CONFIGURE_ARGS[0] ? " " : "", PTC_CONFIGURE_ARGS,
                PTC_MODULE_SWITCHES);
    } else {
        fprintf(stderr, "configure arguments: %s %s\n", PTC_CONFIGURE_ARGS, PTC_MODULE_SWITCHES);
    }
}

/* Lives as long as the process: the paths given on the command line. */
static ptc_pool_t *main_pool;

/* Absolute path: `path` if absolute, else base + path. */
static char *
main_abs(const char *base, const char *path)
{
    size_t bl = strlen(base), pl = strlen(path);
    char *s = ptc_pnalloc(main_pool, bl + pl + 2);
    if (s == NULL) {
        return NULL;
    }
    if (path[0] == '/') {
        memcpy(s, path, pl + 1);
        return s;
    }
    memcpy(s, base, bl);
    if (bl && s[bl - 1] != '/') {
        s[bl++] = '/';
    }
    memcpy(s + bl, path, pl + 1);
    return s;
}

static int
main_signal(ptc_cycle_t *cycle, const char *name)
{
    int sig = strcmp(name, "stop") == 0     ? SIGTERM
              : strcmp(name, "quit") == 0   ? SIGQUIT
              : strcmp(name, "reopen") == 0 ? SIGUSR1
                                            : SIGHUP;
    pid_t pid = ptc_cycle_read_pid(ptc_cycle_core_conf(cycle)->pid_path);
    if (pid == -1) {
        return 1;
    }
    if (kill(pid, sig) == -1) {
        ptc_log_stderr(PTC_LOG_ALERT, errno, "kill(%d, %d) failed", (int)pid, sig);
        return 1;
    }
    return 0;
}

static void
main_dump(ptc_cycle_t *cycle)
{
    ptc_conf_source_t *src = cycle->sources.elts;
    for (size_t i = 0; i < cycle->sources.nelts; i++) {
        printf("# configuration file %s:\n", src[i].path);
        fwrite(src[i].text, 1, src[i].len, stdout);
        if (src[i].len && src[i].text[src[i].len - 1] != '\n') {
            putchar('\n');
        }
        putchar('\n');
    }
    fflush(stdout);
}

/* Start-up failure: stderr, and the error log file when one exists (once
 * when stderr is that file, as in a master started by a binary upgrade of
 * a daemon). */
static void
main_fail(const ptc_cycle_params_t *pp, const char *err)
{
    const char *path = pp->error_log ? pp->error_log : main_abs(pp->prefix, PTC_ERROR_LOG_PATH);
    int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
    struct stat a, b;
    if (fd == -1 || fstat(fd, &a) == -1 || fstat(2, &b) == -1 || a.st_dev != b.st_dev
        || a.st_ino != b.st_ino) {
        ptc_log_stderr(PTC_LOG_EMERG, 0, "%s", err);
    }
    if (fd != -1) {
        ptc_open_file_t f = {.fd = fd, .path = (char *)path};
        ptc_log_t log = {.level = PTC_LOG_EMERG, .file = &f};
        ptc_log_error(PTC_LOG_EMERG, &log, 0, "%s", err);
        close(fd);
    }
}

static int
main_start(ptc_cycle_t *cycle)
{
    ptc_core_conf_t *cc = ptc_cycle_core_conf(cycle);
    ptc_upgrade_adopt(cycle);
    for (size_t i = 0; ptc_modules[i]; i++) {
        if (ptc_modules[i]->init_module && ptc_modules[i]->init_module(cycle) != PTC_OK) {
            return 1;
        }
    }
    if (ptc_upgrade_started()) {
        /* The old master is our parent and waits for us: no second fork. */
        ptc_process_daemonized = true;
    } else if (cc->daemon) {
        if (ptc_daemonize(cycle->log) != PTC_OK) {
            return 1;
        }
        ptc_upgrade_detached();
    }
    if (ptc_process_shared_init() != PTC_OK || ptc_cycle_write_pid(cycle) != PTC_OK) {
        return 1;
    }
    ptc_process_slot_pid = (int)getpid();
    if (cc->daemon) {
        /* Nothing is ever written to the terminal by a running server. */
        for (ptc_log_t *l = cycle->log; l; l = l->next) {
            if (l->file && l->file->fd > 2) {
                dup2(l->file->fd, 2);
                break;
            }
        }
    }
    ptc_cycle = cycle;
    return cc->master ? ptc_master_run(cycle) : ptc_single_run(cycle);
}

int
main(int argc, char **argv)
{
    main_opts_t o = {0};
    char err[4096];

    ptc_upgrade_save_argv(argv);
    if (main_parse(argc, argv, &o) != PTC_OK) {
        return 1;
    }
    if (o.help) {
        main_version(&o);
        main_usage();
        return 0;
    }
    if (o.version) {
        main_version(&o);
        if (!o.test) {
            return 0;
        }
    }
    ptc_modules_init();
    ptc_time_update();
    main_pool = ptc_pool_create(4096);
    if (main_pool == NULL) {
        return 1;
    }

    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        strcpy(cwd, "/");
    }
    char *prefix = main_abs(cwd, o.prefix ? o.prefix : PTC_PREFIX);
    if (prefix == NULL) {
        return 1;
    }
    size_t pl = strlen(prefix);
    if (prefix[pl - 1] != '/') {
        char *p2 = main_abs(prefix, "");
        prefix = p2 ? p2 : prefix;
    }
    ptc_cycle_params_t pp = {
        .prefix = prefix,
        .conf_file = main_abs(prefix, o.conf ? o.conf : PTC_CONF_PATH),
        .conf_param = o.param,
        .error_log = o.errlog == NULL                  ? NULL
                     : strcmp(o.errlog, "stderr") == 0 ? "stderr"
                                                       : main_abs(prefix, o.errlog),
        .test_only = o.test || o.signal,
        .dump = o.dump,
    };
    if (pp.error_log && strcmp(pp.error_log, "stderr") != 0) {
        static ptc_open_file_t startup;
        startup.fd = open(pp.error_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        startup.path = (char *)pp.error_log;
        if (startup.fd != -1) {
            ptc_log_startup.file = &startup;
        }
    }
    /* a master started by a binary upgrade builds on the old one's sockets */
    ptc_cycle_t *inherited = pp.test_only ? NULL : ptc_upgrade_inherit();
    ptc_cycle_t *cycle = ptc_cycle_create(inherited, &pp, err, sizeof(err));
    if (cycle == NULL) {
        main_fail(&pp, err);
        if (o.test) {
            fprintf(stderr, PTC_NAME ": configuration file %s test failed\n", pp.conf_file);
        }
        return 1;
    }
    if (o.signal) {
        return main_signal(cycle, o.signal);
    }
    if (o.test) {
        if (!o.quiet) {
            fprintf(stderr, PTC_NAME ": the configuration file %s syntax is ok\n", pp.conf_file);
            fprintf(stderr, PTC_NAME ": configuration file %s test is successful\n", pp.conf_file);
        }
        if (o.dump) {
            main_dump(cycle);
        }
        return 0;
    }
    return main_start(cycle);
}
