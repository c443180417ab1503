/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of core/ptc_upgrade.c on the new master's side: PORTICO_LISTEN is
 * parsed, each descriptor checked (listening stream socket of a known
 * family), the others noted and closed when they are sockets, and the
 * adoption logs each decision and closes what the configuration left. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ptc_upgrade.h"
#include "test/unit/unit.h"

void suite_upgrade(void);

static int
upg_listener(bool reuseport, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (reuseport) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    }
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(fd, 8) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

static int
upg_port(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    getsockname(fd, (struct sockaddr *)&sin, &len);
    return ntohs(sin.sin_port);
}

static bool
upg_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

TEST(test_no_variable_no_stand_in)
{
    unsetenv(PTC_UPGRADE_ENV);
    ASSERT_NULL(ptc_upgrade_inherit());
}

TEST(test_each_descriptor_checked_and_adoption_logged)
{
    int lfd = upg_listener(false, 0), other = upg_listener(false, 0);
    int idle = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), pipefd[2];
    ASSERT_TRUE(lfd > 2 && other > 2 && idle > 2 && pipe(pipefd) == 0);
    char env[128], want[128];
    snprintf(env, sizeof(env), "%d;%d;%d;%d;x1;;2;%d", lfd, other, idle, pipefd[0], lfd);
    setenv(PTC_UPGRADE_ENV, env, 1);
    ptc_cycle_t *old = ptc_upgrade_inherit();
    ASSERT_NOT_NULL(old);
    ASSERT_NULL(getenv(PTC_UPGRADE_ENV));
    ASSERT_INT_EQ(old->listening.nelts, 2);
    ptc_listen_t **ls = old->listening.elts;
    ASSERT_INT_EQ(ls[0]->fd, lfd);
    ASSERT_INT_EQ(ls[0]->worker, -1);
    snprintf(want, sizeof(want), "127.0.0.1:%d", upg_port(lfd));
    ASSERT_MEM_EQ(ls[0]->addr_text.data, ls[0]->addr_text.len, want);
    ASSERT_INT_EQ(ls[1]->fd, other);
    ASSERT_TRUE(!upg_open(idle));     /* a socket that does not listen: closed */
    ASSERT_TRUE(upg_open(pipefd[0])); /* not a socket: not ours to close */
    ASSERT_TRUE(ptc_upgrade_started());

    /* the configuration took the first socket only */
    ls[0]->keep = 1;
    int lport = upg_port(lfd), oport = upg_port(other);
    char path[] = "/tmp/ptc_upgrade_XXXXXX";
    int logfd = mkstemp(path);
    ASSERT_TRUE(logfd != -1);
    unlink(path);
    ptc_open_file_t file = {.fd = logfd, .path = path};
    ptc_log_t log = {.level = PTC_LOG_NOTICE, .file = &file};
    ptc_cycle_t cycle = {.log = &log};
    ptc_upgrade_adopt(&cycle);
    ASSERT_TRUE(upg_open(lfd) && !upg_open(other));
    char text[4096];
    ssize_t n = pread(logfd, text, sizeof(text) - 1, 0);
    close(logfd);
    ASSERT_TRUE(n > 0);
    text[n] = '\0';
    snprintf(want, sizeof(want), "using inherited listening socket 127.0.0.1:%d (fd %d)", lport,
             lfd);
    ASSERT_NOT_NULL(strstr(text, want));
    snprintf(want, sizeof(want), "closing inherited socket 127.0.0.1:%d (fd %d): not in", oport,
             other);
    ASSERT_NOT_NULL(strstr(text, want));
    snprintf(want, sizeof(want), "ignoring \"%d\": not a listening socket, closed", idle);
    ASSERT_NOT_NULL(strstr(text, want));
    snprintf(want, sizeof(want), "ignoring \"%d\": not a socket\n", pipefd[0]);
    ASSERT_NOT_NULL(strstr(text, want));
    ASSERT_NOT_NULL(strstr(text, "ignoring \"x1\": not a descriptor number"));
    ASSERT_NOT_NULL(strstr(text, "ignoring \"2\": a standard stream"));
    snprintf(want, sizeof(want), "ignoring \"%d\": listed twice", lfd);
    ASSERT_NOT_NULL(strstr(text, want));
    ASSERT_NOT_NULL(strstr(text, PTC_UPGRADE_ENV "=\""));
    close(lfd);
    close(pipefd[0]);
    close(pipefd[1]);
}

TEST(test_reuseport_sockets_keep_their_worker_slots)
{
    int a = upg_listener(true, 0);
    ASSERT_TRUE(a > 2);
    int b = upg_listener(true, upg_port(a)), c = upg_listener(false, 0);
    ASSERT_TRUE(b > 2 && c > 2);
    char env[64];
    snprintf(env, sizeof(env), "%d;%d;%d", a, c, b);
    setenv(PTC_UPGRADE_ENV, env, 1);
    ptc_cycle_t *old = ptc_upgrade_inherit();
    ASSERT_NOT_NULL(old);
    ASSERT_INT_EQ(old->listening.nelts, 3);
    ptc_listen_t **ls = old->listening.elts;
    ASSERT_TRUE(ls[0]->reuseport && ls[2]->reuseport && !ls[1]->reuseport);
    ASSERT_INT_EQ(ls[0]->worker, 0);
    ASSERT_INT_EQ(ls[1]->worker, -1);
    ASSERT_INT_EQ(ls[2]->worker, 1);
    ptc_log_t log = {.level = 0};
    ptc_cycle_t cycle = {.log = &log};
    ptc_upgrade_adopt(&cycle); /* nothing kept: all three closed */
    ASSERT_TRUE(!upg_open(a) && !upg_open(b) && !upg_open(c));
}

void
suite_upgrade(void)
{
    RUN(test_no_variable_no_stand_in);
    RUN(test_each_descriptor_checked_and_adoption_logged);
    RUN(test_reuseport_sockets_keep_their_worker_slots);
}
