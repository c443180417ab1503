/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of directive dispatch (core/ptc_conf.c) through ptc_cycle_create in
 * test-only mode: every dispatch error with its exact "MSG in FILE:LINE",
 * the -g parameters, core/events values and defaults, and a few http-level
 * errors. Each test writes its config into a fresh mkdtemp prefix. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ptc_cycle.h"
#include "core/ptc_module.h"
#include "core/ptc_regex.h"
#include "test/unit/unit.h"

void suite_conf(void);

static char cyc_dir[64];    /* the prefix, without the trailing '/' */
static char cyc_prefix[80]; /* with it */
static char cyc_conf[128];  /* the main config file */
static char cyc_err[1024];
static char cyc_want[1024];
static ptc_cycle_t *cyc_live; /* the last cycle built, destroyed by the next */

static int
cyc_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void
cyc_destroy(void)
{
    if (cyc_live != NULL) {
        ptc_cycle_destroy(cyc_live, NULL);
        cyc_live = NULL;
    }
}

/* Destroy the live cycle and remove the prefix: every test ends with this,
 * and the next test's setup repeats it after a failed assertion. */
static void
cyc_rmdir(void)
{
    cyc_destroy();
    if (cyc_dir[0] != '\0') {
        nftw(cyc_dir, cyc_rm_one, 8, FTW_DEPTH | FTW_PHYS);
        cyc_dir[0] = '\0';
    }
}

/* A fresh prefix with a logs/ directory (the default error log goes there). */
static bool
cyc_setup(void)
{
    cyc_rmdir();
    strcpy(cyc_dir, "/tmp/ptc_cycle_XXXXXX");
    if (mkdtemp(cyc_dir) == NULL) {
        cyc_dir[0] = '\0';
        return false;
    }
    snprintf(cyc_prefix, sizeof(cyc_prefix), "%s/", cyc_dir);
    snprintf(cyc_conf, sizeof(cyc_conf), "%s/portico.conf", cyc_dir);
    char logs[96];
    snprintf(logs, sizeof(logs), "%s/logs", cyc_dir);
    return mkdir(logs, 0755) == 0;
}

static bool
cyc_write(const char *name, const char *text)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/%s", cyc_dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return false;
    }
    fputs(text, f);
    return fclose(f) == 0;
}

/* Write `text` as the main config and build a test-only cycle from it;
 * the cycle stays live until the next one or cyc_rmdir(). */
static ptc_cycle_t *
cyc_create(const char *text, const char *conf_param)
{
    if (!cyc_write("portico.conf", text)) {
        snprintf(cyc_err, sizeof(cyc_err), "cannot write the config");
        return NULL;
    }
    ptc_cycle_params_t params = {
        .prefix = cyc_prefix,
        .conf_file = cyc_conf,
        .conf_param = conf_param,
        .test_only = true,
    };
    cyc_destroy();
    cyc_live = ptc_cycle_create(NULL, &params, cyc_err, sizeof(cyc_err));
    return cyc_live;
}

/* True when the config fails with exactly "MSG in <conf>:LINE". */
static bool
cyc_fails_at(const char *text, const char *msg, unsigned line)
{
    ptc_cycle_t *cycle = cyc_create(text, NULL);
    if (cycle != NULL) {
        snprintf(cyc_err, sizeof(cyc_err), "(config accepted)");
        return false;
    }
    snprintf(cyc_want, sizeof(cyc_want), "%s in %s:%u", msg, cyc_conf, line);
    return strcmp(cyc_err, cyc_want) == 0;
}

#define ASSERT_CONF_FAILS(text, msg, line)                                                         \
    do {                                                                                           \
        if (!cyc_fails_at(text, msg, line)) {                                                      \
            unit_fail(__FILE__, __LINE__, "\"%s\" != \"%s\"", cyc_err, cyc_want);                  \
            cyc_rmdir();                                                                           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void
cyc_modules(void)
{
    static bool done;
    if (!done) {
        ptc_modules_init();
        done = true;
    }
}

TEST(conf_unknown_and_misplaced)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    ASSERT_CONF_FAILS("daemon off;\nfoo on;\n", "unknown directive \"foo\"", 2);
    ASSERT_CONF_FAILS("\n\nlisten 80;\n", "\"listen\" directive is not allowed here", 3);
    ASSERT_CONF_FAILS("events {\n daemon off;\n}\n", "\"daemon\" directive is not allowed here", 2);
    ASSERT_CONF_FAILS("events {\n  bogus;\n}\n", "unknown directive \"bogus\"", 2);
    ASSERT_CONF_FAILS("worker_connections 10;\n",
                      "\"worker_connections\" directive is not allowed here", 1);
    cyc_rmdir();
}

TEST(conf_argument_counts)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    ASSERT_CONF_FAILS("daemon;\n", "invalid number of arguments in \"daemon\" directive", 1);
    ASSERT_CONF_FAILS("daemon on off;\n", "invalid number of arguments in \"daemon\" directive", 1);
    ASSERT_CONF_FAILS("#c\nworker_processes 1 2;\n",
                      "invalid number of arguments in \"worker_processes\" directive", 2);
    ASSERT_CONF_FAILS("events x {\n}\n", "invalid number of arguments in \"events\" directive", 1);
    ASSERT_CONF_FAILS("error_log;\n", "invalid number of arguments in \"error_log\" directive", 1);
    ASSERT_CONF_FAILS("error_log logs/e.log warn extra;\n",
                      "\"error_log\" directive invalid number of arguments", 1);
    cyc_rmdir();
}

TEST(conf_bad_values)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    ASSERT_CONF_FAILS("worker_processes abc;\n",
                      "invalid value \"abc\" in \"worker_processes\" directive", 1);
    ASSERT_CONF_FAILS("worker_processes 0;\n",
                      "invalid value \"0\" in \"worker_processes\" directive", 1);
    ASSERT_CONF_FAILS("worker_processes 1025;\n",
                      "invalid value \"1025\" in \"worker_processes\" directive", 1);
    ASSERT_CONF_FAILS("events {\n\n    worker_connections x;\n}\n", "invalid number \"x\"", 3);
    ASSERT_CONF_FAILS("events { worker_connections 1; }\n",
                      "value must be between 2 and 16777216 in \"worker_connections\" directive",
                      1);
    ASSERT_CONF_FAILS(
        "daemon maybe;\n",
        "invalid value \"maybe\" in \"daemon\" directive, it must be \"on\" or \"off\"", 1);
    ASSERT_CONF_FAILS("events { multi_accept yes; }\n",
                      "invalid value \"yes\" in \"multi_accept\" directive, it must be \"on\" or "
                      "\"off\"",
                      1);
    ASSERT_CONF_FAILS("worker_rlimit_nofile -5;\n",
                      "\"worker_rlimit_nofile\" directive invalid number", 1);
    ASSERT_CONF_FAILS("worker_shutdown_timeout soon;\n",
                      "\"worker_shutdown_timeout\" directive invalid value", 1);
    ASSERT_CONF_FAILS("error_log logs/e.log loud;\n", "invalid log level \"loud\"", 1);
    ASSERT_CONF_FAILS("pcre_match_limit 0;\n",
                      "value must be between 1 and 4294967295 in \"pcre_match_limit\" directive",
                      1);
    ASSERT_CONF_FAILS("\npcre_depth_limit 4294967296;\n",
                      "value must be between 1 and 4294967295 in \"pcre_depth_limit\" directive",
                      2);
    ASSERT_CONF_FAILS("pcre_match_limit many;\n", "\"pcre_match_limit\" directive invalid number",
                      1);
    cyc_rmdir();
}

TEST(conf_duplicates)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    ASSERT_CONF_FAILS("daemon on;\ndaemon off;\n", "\"daemon\" directive is duplicate", 2);
    ASSERT_CONF_FAILS("worker_processes 2;\n\nworker_processes auto;\n",
                      "\"worker_processes\" directive is duplicate", 3);
    ASSERT_CONF_FAILS("pid a.pid;\npid b.pid;\n", "\"pid\" directive is duplicate", 2);
    ASSERT_CONF_FAILS("events {\n worker_connections 10;\n worker_connections 20;\n}\n",
                      "\"worker_connections\" directive is duplicate", 3);
    ASSERT_CONF_FAILS("events { accept_mutex on; }\n\nevents {\n accept_mutex off;\n}\n",
                      "\"events\" directive is duplicate", 3);
    cyc_rmdir();
}

TEST(conf_block_shape)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    ASSERT_CONF_FAILS("events;\n", "directive \"events\" has no opening \"{\"", 1);
    ASSERT_CONF_FAILS("daemon on { }\n", "directive \"daemon\" is not terminated by \";\"", 1);
    ASSERT_CONF_FAILS("http;\n", "directive \"http\" has no opening \"{\"", 1);
    ASSERT_CONF_FAILS("events {\n worker_connections 10;\n",
                      "unexpected end of file, expecting \"}\"", 3);
    ASSERT_CONF_FAILS("daemon off;\n}\n", "unexpected \"}\"", 2);
    cyc_rmdir();
}

TEST(conf_events_required)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    /* as in nginx: a whole-config error, with no file:line */
    ASSERT_NULL(cyc_create("daemon off;\n", NULL));
    ASSERT_STR_EQ(cyc_err, "no \"events\" section in configuration");
    /* -g may give it; then the file's block is the duplicate */
    ASSERT_NOT_NULL(cyc_create("", "events { }"));
    ASSERT_NULL(cyc_create("\nevents {}\n", "events { }"));
    snprintf(cyc_want, sizeof(cyc_want), "\"events\" directive is duplicate in %s:2", cyc_conf);
    ASSERT_STR_EQ(cyc_err, cyc_want);
    cyc_rmdir();
}

TEST(conf_include)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    char msg[256];
    snprintf(msg, sizeof(msg), "open() \"%s/missing.conf\" failed (2: No such file or directory)",
             cyc_dir);
    ASSERT_CONF_FAILS("daemon off;\ninclude missing.conf;\n", msg, 2);
    /* an error inside an included file names that file */
    ASSERT_TRUE(cyc_write("inc.conf", "\nmaster_process off;\nmaster_process on;\n"));
    ptc_cycle_t *cycle = cyc_create("include inc.conf;\n", NULL);
    ASSERT_NULL(cycle);
    snprintf(cyc_want, sizeof(cyc_want),
             "\"master_process\" directive is duplicate in %s/inc.conf:3", cyc_dir);
    ASSERT_STR_EQ(cyc_err, cyc_want);
    /* and a good one is applied in place */
    ASSERT_TRUE(cyc_write("inc.conf", "worker_processes 7;\n"));
    cycle = cyc_create("daemon off;\ninclude inc.conf;\nevents { }\n", NULL);
    ASSERT_NOT_NULL(cycle);
    ASSERT_INT_EQ(ptc_cycle_core_conf(cycle)->worker_processes, 7);
    cyc_rmdir();
}

TEST(conf_command_line_params)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    /* -g is applied first, so the file's directive is the duplicate */
    ptc_cycle_t *cycle = cyc_create("daemon off;\nworker_processes 2;\n", "worker_processes 3;");
    ASSERT_NULL(cycle);
    snprintf(cyc_want, sizeof(cyc_want), "\"worker_processes\" directive is duplicate in %s:2",
             cyc_conf);
    ASSERT_STR_EQ(cyc_err, cyc_want);
    cycle = cyc_create("daemon off;\nevents { }\n", "worker_processes 3; master_process off;");
    ASSERT_NOT_NULL(cycle);
    ASSERT_INT_EQ(ptc_cycle_core_conf(cycle)->worker_processes, 3);
    ASSERT_INT_EQ(ptc_cycle_core_conf(cycle)->master, 0);
    ASSERT_INT_EQ(ptc_cycle_core_conf(cycle)->daemon, 0);
    /* strings from -g live as long as the cycle (ASan catches a stale pool) */
    cycle = cyc_create("events { }\n", "pid logs/g.pid;");
    ASSERT_NOT_NULL(cycle);
    const char *pid = ptc_cycle_core_conf(cycle)->pid_path;
    ASSERT_TRUE(strlen(pid) > 10 && strcmp(pid + strlen(pid) - 10, "logs/g.pid") == 0);
    ASSERT_MEM_EQ(ptc_cycle_core_conf(cycle)->pid.data, ptc_cycle_core_conf(cycle)->pid.len,
                  "logs/g.pid");
    /* errors in -g name the command line */
    cycle = cyc_create("daemon off;\n", "bogus 1;");
    ASSERT_NULL(cycle);
    ASSERT_STR_EQ(cyc_err, "unknown directive \"bogus\" in command line:1");
    cycle = cyc_create("daemon off;\n", "daemon");
    ASSERT_NULL(cycle);
    ASSERT_STR_EQ(cyc_err, "unexpected end of file, expecting \";\" or \"}\" in command line:1");
    cyc_rmdir();
}

TEST(conf_core_defaults)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    ptc_cycle_t *cycle = cyc_create("# only the required block\nevents {\n}\n", NULL);
    ASSERT_NOT_NULL(cycle);
    ptc_core_conf_t *cc = ptc_cycle_core_conf(cycle);
    ASSERT_INT_EQ(cc->worker_processes, 1);
    ASSERT_INT_EQ(cc->daemon, 1);
    ASSERT_INT_EQ(cc->master, 1);
    ASSERT_INT_EQ(cc->shutdown_timeout, 0);
    ASSERT_INT_EQ(cc->pcre_match_limit, PTC_REGEX_MATCH_LIMIT);
    ASSERT_INT_EQ(cc->pcre_depth_limit, PTC_REGEX_DEPTH_LIMIT);
    char want[192];
    snprintf(want, sizeof(want), "%slogs/portico.pid", cyc_prefix);
    ASSERT_STR_EQ(cc->pid_path, want);
    ASSERT_INT_EQ(ptc_cycle_events_conf(cycle)->connections, 512);
    ASSERT_INT_EQ(ptc_cycle_events_conf(cycle)->multi_accept, 0);
    ASSERT_INT_EQ(ptc_cycle_events_conf(cycle)->accept_mutex, 0);
    ASSERT_INT_EQ(cycle->connection_n, 512);
    /* the default error log, opened even by -t */
    ASSERT_NOT_NULL(cycle->log);
    ASSERT_INT_EQ(cycle->log->level, PTC_LOG_ERR);
    ASSERT_NOT_NULL(cycle->log->file);
    snprintf(want, sizeof(want), "%slogs/error.log", cyc_prefix);
    ASSERT_STR_EQ(cycle->log->file->path, want);
    ASSERT_TRUE(cycle->log->file->fd > 2);
    ASSERT_INT_EQ(access(want, F_OK), 0);
    cyc_rmdir();
}

TEST(conf_core_explicit)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    ptc_cycle_t *cycle = cyc_create("worker_processes 6;\ndaemon off;\nmaster_process off;\n"
                                    "pid run/x.pid;\nworker_shutdown_timeout 5s;\n"
                                    "pcre_jit on;\npcre_match_limit 5000;\npcre_depth_limit 300;\n"
                                    "events {\n worker_connections 2048;\n"
                                    " multi_accept on;\n use epoll;\n}\n"
                                    "error_log logs/other.log warn;\n",
                                    NULL);
    ASSERT_NOT_NULL(cycle);
    ptc_core_conf_t *cc = ptc_cycle_core_conf(cycle);
    ASSERT_INT_EQ(cc->worker_processes, 6);
    ASSERT_INT_EQ(cc->daemon, 0);
    ASSERT_INT_EQ(cc->master, 0);
    ASSERT_INT_EQ(cc->shutdown_timeout, 5000);
    ASSERT_INT_EQ(cc->pcre_match_limit, 5000);
    ASSERT_INT_EQ(cc->pcre_depth_limit, 300);
    char want[192];
    snprintf(want, sizeof(want), "%srun/x.pid", cyc_prefix);
    ASSERT_STR_EQ(cc->pid_path, want);
    ASSERT_INT_EQ(ptc_cycle_events_conf(cycle)->connections, 2048);
    ASSERT_INT_EQ(ptc_cycle_events_conf(cycle)->multi_accept, 1);
    ASSERT_INT_EQ(cycle->connection_n, 2048);
    ASSERT_INT_EQ(cycle->log->level, PTC_LOG_WARN);
    snprintf(want, sizeof(want), "%slogs/other.log", cyc_prefix);
    ASSERT_STR_EQ(cycle->log->file->path, want);
    ASSERT_NULL(cycle->log->next);

    cycle =
        cyc_create("worker_processes auto;\npid /var/run/abs.pid;\ndaemon on;\nevents {}\n", NULL);
    ASSERT_NOT_NULL(cycle);
    cc = ptc_cycle_core_conf(cycle);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    ASSERT_INT_EQ(cc->worker_processes, ncpu > 0 ? ncpu : 1);
    ASSERT_INT_EQ(cc->daemon, 1);
    ASSERT_STR_EQ(cc->pid_path, "/var/run/abs.pid");

    /* a log file that cannot be opened fails the config */
    cycle = cyc_create("error_log nodir/e.log;\nevents {}\n", NULL);
    ASSERT_NULL(cycle);
    snprintf(want, sizeof(want), "open() \"%snodir/e.log\" failed (2: No such file or directory)",
             cyc_prefix);
    ASSERT_STR_EQ(cyc_err, want);
    cyc_rmdir();
}

TEST(conf_http_errors)
{
    cyc_modules();
    ASSERT_TRUE(cyc_setup());
    ASSERT_CONF_FAILS("http {\n server {\n  listen 127.0.0.1:1;\n  location ~ \"(\" { }\n }\n}\n",
                      "pcre2_compile() failed: missing closing parenthesis in \"(\" (offset 1)", 4);
    ASSERT_CONF_FAILS("http {\n server {\n  server_name a*b.com;\n }\n}\n",
                      "invalid server name or wildcard \"a*b.com\"", 3);
    ASSERT_CONF_FAILS("http {\n server {\n  server_name *.a*.com;\n }\n}\n",
                      "invalid server name or wildcard \"*.a*.com\"", 3);
    ASSERT_CONF_FAILS("http {\n server {\n  server_name www.a*.*;\n }\n}\n",
                      "invalid server name or wildcard \"www.a*.*\"", 3);
    ASSERT_CONF_FAILS("http {\n\n unknown_x on;\n}\n", "unknown directive \"unknown_x\"", 3);
    ASSERT_CONF_FAILS("http {\n server {\n  location /a { }\n  location /a { }\n }\n}\n",
                      "duplicate location \"/a\"", 4);
    ASSERT_CONF_FAILS("http { }\nhttp { }\n", "\"http\" directive is duplicate", 2);
    ASSERT_CONF_FAILS("http {\n server {\n  listen 127.0.0.1:0;\n }\n}\n",
                      "invalid port in \"127.0.0.1:0\" of the \"listen\" directive", 3);
    /* a good http block passes -t */
    ptc_cycle_t *cycle =
        cyc_create("daemon off;\nevents {}\nhttp {\n server {\n  listen 127.0.0.1:1;\n"
                   "  server_name *.example.com www.example.* ~^a\\d+$;\n"
                   "  location / { }\n  location ~* \\.png$ { }\n"
                   "  location = /x { }\n }\n}\n",
                   NULL);
    ASSERT_NOT_NULL(cycle);
    cyc_rmdir();
}

void
suite_conf(void)
{
    RUN(conf_unknown_and_misplaced);
    RUN(conf_argument_counts);
    RUN(conf_bad_values);
    RUN(conf_duplicates);
    RUN(conf_block_shape);
    RUN(conf_events_required);
    RUN(conf_include);
    RUN(conf_command_line_params);
    RUN(conf_core_defaults);
    RUN(conf_core_explicit);
    RUN(conf_http_errors);
    cyc_rmdir(); /* after a failed assertion */
}
