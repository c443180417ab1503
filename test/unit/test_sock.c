/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of the socket address helpers in core/ptc_sock.c: parsing every
 * accepted form and every error message, formatting with and without the
 * port, equality and port extraction. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "core/ptc_conn.h"
#include "test/unit/unit.h"

void suite_sock(void);

static struct sockaddr_storage sock_sa;
static socklen_t sock_len;
static const char *sock_err;
static char sock_text[256];

/* Parse `s`; on success sock_text holds its text form with the port. */
static int
sock_parse(const char *s, int default_port)
{
    ptc_str_t t = {strlen(s), (u_char *)s};
    sock_err = NULL;
    sock_len = 0;
    sock_text[0] = '\0';
    int rc = ptc_sockaddr_parse(&t, default_port, &sock_sa, &sock_len, &sock_err);
    if (rc == PTC_OK) {
        size_t n = ptc_sockaddr_text((struct sockaddr *)&sock_sa, sock_len, (u_char *)sock_text,
                                     sizeof(sock_text), true);
        sock_text[n] = '\0';
    }
    return rc;
}

/* Text of sock_sa without the port. */
static const char *
sock_host(void)
{
    static char buf[256];
    size_t n =
        ptc_sockaddr_text((struct sockaddr *)&sock_sa, sock_len, (u_char *)buf, sizeof(buf), false);
    buf[n] = '\0';
    return buf;
}

TEST(sock_parse_ipv4)
{
    ASSERT_INT_EQ(sock_parse("127.0.0.1:80", 0), PTC_OK);
    ASSERT_INT_EQ(sock_sa.ss_family, AF_INET);
    ASSERT_INT_EQ(sock_len, sizeof(struct sockaddr_in));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&sock_sa;
    ASSERT_INT_EQ(ntohl(s4->sin_addr.s_addr), 0x7f000001);
    ASSERT_INT_EQ(ntohs(s4->sin_port), 80);
    ASSERT_INT_EQ(ptc_sockaddr_port((struct sockaddr *)&sock_sa), 80);
    ASSERT_STR_EQ(sock_text, "127.0.0.1:80");
    ASSERT_STR_EQ(sock_host(), "127.0.0.1");

    ASSERT_INT_EQ(sock_parse("80", 0), PTC_OK);
    ASSERT_INT_EQ(sock_sa.ss_family, AF_INET);
    ASSERT_INT_EQ(s4->sin_addr.s_addr, htonl(INADDR_ANY));
    ASSERT_STR_EQ(sock_text, "0.0.0.0:80");

    ASSERT_INT_EQ(sock_parse("*:8080", 0), PTC_OK);
    ASSERT_INT_EQ(s4->sin_addr.s_addr, htonl(INADDR_ANY));
    ASSERT_INT_EQ(ptc_sockaddr_port((struct sockaddr *)&sock_sa), 8080);
    ASSERT_STR_EQ(sock_text, "0.0.0.0:8080");

    ASSERT_INT_EQ(sock_parse("localhost:8000", 0), PTC_OK);
    ASSERT_STR_EQ(sock_text, "127.0.0.1:8000");

    ASSERT_INT_EQ(sock_parse("10.1.2.3:65535", 0), PTC_OK);
    ASSERT_STR_EQ(sock_text, "10.1.2.3:65535");
    ASSERT_INT_EQ(sock_parse("0.0.0.0:1", 0), PTC_OK);
    ASSERT_STR_EQ(sock_text, "0.0.0.0:1");
}

TEST(sock_parse_ipv6)
{
    ASSERT_INT_EQ(sock_parse("[::1]:443", 0), PTC_OK);
    ASSERT_INT_EQ(sock_sa.ss_family, AF_INET6);
    ASSERT_INT_EQ(sock_len, sizeof(struct sockaddr_in6));
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sock_sa;
    ASSERT_TRUE(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
    ASSERT_INT_EQ(ntohs(s6->sin6_port), 443);
    ASSERT_INT_EQ(ptc_sockaddr_port((struct sockaddr *)&sock_sa), 443);
    ASSERT_STR_EQ(sock_text, "[::1]:443");
    ASSERT_STR_EQ(sock_host(), "::1");

    ASSERT_INT_EQ(sock_parse("[::]:81", 0), PTC_OK);
    ASSERT_TRUE(IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr));
    ASSERT_STR_EQ(sock_text, "[::]:81");
    ASSERT_STR_EQ(sock_host(), "::");

    ASSERT_INT_EQ(sock_parse("[2001:DB8::a:1]:8443", 0), PTC_OK);
    ASSERT_STR_EQ(sock_text, "[2001:db8::a:1]:8443");
    ASSERT_STR_EQ(sock_host(), "2001:db8::a:1");
    ASSERT_INT_EQ(sock_parse("[::ffff:10.0.0.1]:80", 0), PTC_OK);
    ASSERT_STR_EQ(sock_text, "[::ffff:10.0.0.1]:80");
}

TEST(sock_parse_unix)
{
    ASSERT_INT_EQ(sock_parse("unix:/tmp/x.sock", 0), PTC_OK);
    ASSERT_INT_EQ(sock_sa.ss_family, AF_UNIX);
    struct sockaddr_un *su = (struct sockaddr_un *)&sock_sa;
    ASSERT_STR_EQ(su->sun_path, "/tmp/x.sock");
    ASSERT_INT_EQ(sock_len, offsetof(struct sockaddr_un, sun_path) + sizeof("/tmp/x.sock"));
    ASSERT_INT_EQ(ptc_sockaddr_port((struct sockaddr *)&sock_sa), 0);
    ASSERT_STR_EQ(sock_text, "unix:/tmp/x.sock");
    ASSERT_STR_EQ(sock_host(), "unix:/tmp/x.sock");
    /* a unix socket needs no port even when none has a default */
    ASSERT_INT_EQ(sock_parse("unix:rel.sock", 80), PTC_OK);
    ASSERT_STR_EQ(sock_text, "unix:rel.sock");

    /* the longest path that fits, and one byte more */
    char path[200] = "unix:";
    size_t max = sizeof(su->sun_path) - 1;
    memset(path + 5, 'p', max);
    path[5 + max] = '\0';
    ASSERT_INT_EQ(sock_parse(path, 0), PTC_OK);
    ASSERT_INT_EQ(strlen(su->sun_path), max);
    path[5 + max] = 'p';
    path[6 + max] = '\0';
    ASSERT_INT_EQ(sock_parse(path, 0), PTC_ERROR);
    ASSERT_STR_EQ(sock_err, "too long path in the unix socket");
}

TEST(sock_parse_default_port)
{
    ASSERT_INT_EQ(sock_parse("1.2.3.4", 80), PTC_OK);
    ASSERT_STR_EQ(sock_text, "1.2.3.4:80");
    ASSERT_INT_EQ(sock_parse("1.2.3.4", 0), PTC_ERROR);
    ASSERT_STR_EQ(sock_err, "no port");
    ASSERT_INT_EQ(sock_parse("localhost", 8080), PTC_OK);
    ASSERT_STR_EQ(sock_text, "127.0.0.1:8080");
    ASSERT_INT_EQ(sock_parse("[::1]", 443), PTC_OK);
    ASSERT_STR_EQ(sock_text, "[::1]:443");
    ASSERT_INT_EQ(sock_parse("[::1]", 0), PTC_ERROR);
    ASSERT_STR_EQ(sock_err, "no port");
    ASSERT_INT_EQ(sock_parse("*", 0), PTC_ERROR);
    ASSERT_STR_EQ(sock_err, "no port");
    /* an explicit port wins over the default */
    ASSERT_INT_EQ(sock_parse("1.2.3.4:81", 80), PTC_OK);
    ASSERT_STR_EQ(sock_text, "1.2.3.4:81");
    ASSERT_INT_EQ(sock_parse("81", 80), PTC_OK);
    ASSERT_STR_EQ(sock_text, "0.0.0.0:81");
}

TEST(sock_parse_errors)
{
    static const struct {
        const char *text, *err;
    } cases[] = {
        {"1.2.3.4:0", "invalid port"},
        {"1.2.3.4:70000", "invalid port"},
        {"1.2.3.4:65536", "invalid port"},
        {"1.2.3.4:", "invalid port"},
        {"1.2.3.4:8a", "invalid port"},
        {"1.2.3.4:-1", "invalid port"},
        {"0", "invalid port"},
        {"70000", "invalid port"},
        {"[::1", "invalid address"},
        {"[::1]80", "invalid address"},
        {"[::1]:", "invalid port"},
        {"[::1]:0", "invalid port"},
        {"[zz::1]:80", "invalid address"},
        {"[1.2.3.4]:80", "invalid address"},
        {"unix:", "no path in the unix domain socket"},
        {"999.1.1.1:80", "host not found"},
        {"host.example:80", "host not found"},
        {"1.2.3:80", "host not found"},
        {"::1:80", "invalid port"},
    };
    for (size_t i = 0; i < ptc_nelems(cases); i++) {
        if (sock_parse(cases[i].text, 0) != PTC_ERROR) {
            unit_fail(__FILE__, __LINE__, "\"%s\" parsed", cases[i].text);
            return;
        }
        if (sock_err == NULL || strcmp(sock_err, cases[i].err) != 0) {
            unit_fail(__FILE__, __LINE__, "\"%s\": \"%s\" != \"%s\"", cases[i].text,
                      sock_err ? sock_err : "(null)", cases[i].err);
            return;
        }
    }
}

TEST(sock_text_forms)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(8080)};
    inet_pton(AF_INET, "192.168.0.10", &s4.sin_addr);
    u_char buf[64];
    size_t n = ptc_sockaddr_text((struct sockaddr *)&s4, sizeof(s4), buf, sizeof(buf), true);
    ASSERT_MEM_EQ(buf, n, "192.168.0.10:8080");
    n = ptc_sockaddr_text((struct sockaddr *)&s4, sizeof(s4), buf, sizeof(buf), false);
    ASSERT_MEM_EQ(buf, n, "192.168.0.10");
    /* truncated to the buffer, NUL-terminated inside it */
    n = ptc_sockaddr_text((struct sockaddr *)&s4, sizeof(s4), buf, 8, true);
    ASSERT_MEM_EQ(buf, n, "192.168");
    ASSERT_INT_EQ(buf[7], '\0');

    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(1)};
    inet_pton(AF_INET6, "fe80::1:2", &s6.sin6_addr);
    n = ptc_sockaddr_text((struct sockaddr *)&s6, sizeof(s6), buf, sizeof(buf), true);
    ASSERT_MEM_EQ(buf, n, "[fe80::1:2]:1");
    n = ptc_sockaddr_text((struct sockaddr *)&s6, sizeof(s6), buf, sizeof(buf), false);
    ASSERT_MEM_EQ(buf, n, "fe80::1:2");

    struct sockaddr_un su = {.sun_family = AF_UNIX};
    strcpy(su.sun_path, "/run/p.sock");
    socklen_t ulen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof("/run/p.sock"));
    n = ptc_sockaddr_text((struct sockaddr *)&su, ulen, buf, sizeof(buf), true);
    ASSERT_MEM_EQ(buf, n, "unix:/run/p.sock");
    n = ptc_sockaddr_text((struct sockaddr *)&su, ulen, buf, sizeof(buf), false);
    ASSERT_MEM_EQ(buf, n, "unix:/run/p.sock");
    /* an unnamed (client-side) unix socket */
    n = ptc_sockaddr_text((struct sockaddr *)&su, sizeof(sa_family_t), buf, sizeof(buf), true);
    ASSERT_MEM_EQ(buf, n, "unix:");
    su.sun_path[0] = '\0';
    n = ptc_sockaddr_text((struct sockaddr *)&su, sizeof(su), buf, sizeof(buf), false);
    ASSERT_MEM_EQ(buf, n, "unix:");

    struct sockaddr other = {.sa_family = AF_UNSPEC};
    ASSERT_INT_EQ(ptc_sockaddr_text(&other, sizeof(other), buf, sizeof(buf), true), 0);
    ASSERT_INT_EQ(ptc_sockaddr_port(&other), 0);
}

TEST(sock_eq)
{
    struct sockaddr_storage a, b;
    socklen_t alen, blen;
    const char *err;
    ptc_str_t t1 = ptc_string("127.0.0.1:80"), t2 = ptc_string("localhost:80"),
              t3 = ptc_string("127.0.0.1:81"), t4 = ptc_string("127.0.0.2:80"),
              t5 = ptc_string("[::1]:80"), t6 = ptc_string("[0::1]:80"), t7 = ptc_string("unix:/a"),
              t8 = ptc_string("unix:/b"), t9 = ptc_string("unix:/a");
    struct sockaddr *pa = (struct sockaddr *)&a, *pb = (struct sockaddr *)&b;

    ASSERT_INT_EQ(ptc_sockaddr_parse(&t1, 0, &a, &alen, &err), PTC_OK);
    ASSERT_INT_EQ(ptc_sockaddr_parse(&t2, 0, &b, &blen, &err), PTC_OK);
    ASSERT_TRUE(ptc_sockaddr_eq(pa, alen, pb, blen));
    ASSERT_INT_EQ(ptc_sockaddr_parse(&t3, 0, &b, &blen, &err), PTC_OK);
    ASSERT_TRUE(!ptc_sockaddr_eq(pa, alen, pb, blen));
    ASSERT_INT_EQ(ptc_sockaddr_parse(&t4, 0, &b, &blen, &err), PTC_OK);
    ASSERT_TRUE(!ptc_sockaddr_eq(pa, alen, pb, blen));
    /* different families never compare equal */
    ASSERT_INT_EQ(ptc_sockaddr_parse(&t5, 0, &b, &blen, &err), PTC_OK);
    ASSERT_TRUE(!ptc_sockaddr_eq(pa, alen, pb, blen));
    ASSERT_INT_EQ(ptc_sockaddr_parse(&t6, 0, &a, &alen, &err), PTC_OK);
    ASSERT_TRUE(ptc_sockaddr_eq(pa, alen, pb, blen));
    ASSERT_INT_EQ(ptc_sockaddr_parse(&t1, 0, &b, &blen, &err), PTC_OK);
    ASSERT_TRUE(!ptc_sockaddr_eq(pa, alen, pb, blen));

    ASSERT_INT_EQ(ptc_sockaddr_parse(&t7, 0, &a, &alen, &err), PTC_OK);
    ASSERT_INT_EQ(ptc_sockaddr_parse(&t8, 0, &b, &blen, &err), PTC_OK);
    ASSERT_TRUE(!ptc_sockaddr_eq(pa, alen, pb, blen));
    ASSERT_INT_EQ(ptc_sockaddr_parse(&t9, 0, &b, &blen, &err), PTC_OK);
    ASSERT_TRUE(ptc_sockaddr_eq(pa, alen, pb, blen));
}

void
suite_sock(void)
{
    RUN(sock_parse_ipv4);
    RUN(sock_parse_ipv6);
    RUN(sock_parse_unix);
    RUN(sock_parse_default_port);
    RUN(sock_parse_errors);
    RUN(sock_text_forms);
    RUN(sock_eq);
}
