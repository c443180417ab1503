/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of core/ptc_proxy_protocol.c: v1 and v2 headers with exact
 * addresses, every rejection, byte-by-byte arrival, the writers' exact
 * bytes and write -> parse round trips. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "core/ptc_proxy_protocol.h"
#include "test/unit/unit.h"

void suite_proxy_protocol(void);

#define PP_SIG "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A"

static ptc_proxy_protocol_t pp_out;

static ssize_t
pp_parse_n(const char *s, size_t n)
{
    memset(&pp_out, 0xA5, sizeof(pp_out));
    return ptc_proxy_protocol_parse((const u_char *)s, n, &pp_out);
}

static ssize_t
pp_parse(const char *s)
{
    return pp_parse_n(s, strlen(s));
}

/* "addr port" text of a parsed sockaddr, or "?" for a wrong length. */
static const char *
pp_text(const struct sockaddr_storage *ss, socklen_t len)
{
    static char buf[2][80];
    static int which;
    char *out = buf[which++ & 1], a[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET && len == sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
        snprintf(out, 80, "%s %u", a, ntohs(sin->sin_port));
    } else if (ss->ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
        snprintf(out, 80, "%s %u", a, ntohs(sin6->sin6_port));
    } else {
        snprintf(out, 80, "?");
    }
    return out;
}

#define ASSERT_PP(src_text, dst_text)                                                              \
    do {                                                                                           \
        ASSERT_INT_EQ(pp_out.local, false);                                                        \
        ASSERT_STR_EQ(pp_text(&pp_out.src, pp_out.src_len), src_text);                             \
        ASSERT_STR_EQ(pp_text(&pp_out.dst, pp_out.dst_len), dst_text);                             \
    } while (0)

#define ASSERT_PP_LOCAL()                                                                          \
    do {                                                                                           \
        ASSERT_INT_EQ(pp_out.local, true);                                                         \
        ASSERT_INT_EQ(pp_out.src_len, 0);                                                          \
        ASSERT_INT_EQ(pp_out.dst_len, 0);                                                          \
    } while (0)

/* Every strict prefix of s[0..n) needs more bytes; all n bytes give n. */
static int
pp_split_check(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        ssize_t rc = pp_parse_n(s, k);
        if (rc != 0) {
            unit_fail(__FILE__, __LINE__, "prefix of %zu bytes returned %zd", k, rc);
            return -1;
        }
    }
    return (int)pp_parse_n(s, n);
}

TEST(pp_v1_tcp4)
{
    const char *s = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
    ASSERT_INT_EQ(pp_parse(s), 47);
    ASSERT_PP("192.168.0.1 56324", "192.168.0.11 443");
}

TEST(pp_v1_tcp6)
{
    ASSERT_INT_EQ(pp_parse("PROXY TCP6 2001:DB8::1 ::1 65535 0\r\nx"), 36);
    ASSERT_PP("2001:db8::1 65535", "::1 0");
    ASSERT_INT_EQ(pp_parse("PROXY TCP6 ::ffff:10.0.0.1 fe80::1:2 1 80\r\n"), 43);
    ASSERT_PP("::ffff:10.0.0.1 1", "fe80::1:2 80");
}

TEST(pp_v1_unknown)
{
    ASSERT_INT_EQ(pp_parse("PROXY UNKNOWN\r\nGET"), 15);
    ASSERT_PP_LOCAL();
    ASSERT_INT_EQ(pp_parse("PROXY UNKNOWN ffff::1 garbage \t\r\n"), 33);
    ASSERT_PP_LOCAL();
    /* The longest allowed line is 107 bytes including CRLF. */
    char line[120];
    memcpy(line, "PROXY UNKNOWN ", 14);
    memset(line + 14, 'a', 91);
    memcpy(line + 105, "\r\n", 2);
    ASSERT_INT_EQ(pp_parse_n(line, 107), 107);
    ASSERT_PP_LOCAL();
    ASSERT_INT_EQ(pp_parse_n(line, 106), 0);
    memset(line + 14, 'a', 92);
    memcpy(line + 106, "\r\n", 2);
    ASSERT_INT_EQ(pp_parse_n(line, 108), -1);
    ASSERT_INT_EQ(pp_parse_n(line, 107), -1);
    ASSERT_INT_EQ(pp_parse_n(line, 106), 0);
}

TEST(pp_v1_reject)
{
    static const char *bad[] = {
        "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",          /* lowercase */
        "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",          /* lowercase family */
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",          /* bad family */
        "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",          /* bad family */
        "PROXY UNKNOWNX\r\n",                          /* not UNKNOWN */
        "PROXY TCP4\r\n",                              /* no addresses */
        "PROXY \r\n",                                  /* no family */
        "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",        /* bad address */
        "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",            /* bad address */
        "PROXY TCP4 1.2.3.4 5.6.7.x 1 2\r\n",          /* bad address */
        "PROXY TCP4 ::1 ::1 1 2\r\n",                  /* TCP4 with IPv6 */
        "PROXY TCP4 1.2.3.4 ::ffff:1.2.3.4 1 2\r\n",   /* TCP4 with IPv6 dst */
        "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",          /* TCP6 with IPv4 */
        "PROXY TCP6 ::1 ::g 1 2\r\n",                  /* bad IPv6 */
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",      /* port > 65535 */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",      /* port > 65535 */
        "PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n",     /* six digits */
        "PROXY TCP4 1.2.3.4 5.6.7.8 0123 2\r\n",       /* leading zero */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n",         /* leading zero */
        "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",         /* sign */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n",         /* sign */
        "PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n",         /* double space */
        "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",         /* double space */
        "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",         /* double space */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",         /* trailing space */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",        /* extra field */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",            /* missing port */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n",           /* empty port */
        "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",         /* tab */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",            /* LF without CR */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n",         /* CR without LF */
        "PROXY\r\n",                                   /* no SP */
        "PROXYTCP4",                                   /* no SP */
        "G",                                           /* not a header */
        "GET / HTTP/1.1\r\n",                          /* not a header */
        "PROXY TCP4 1.2.3.4 5.6.7.8 99999",            /* invalid before CRLF */
        "PROXY TCP4 1.2.3.4 ::",                       /* invalid before CRLF */
        "PROXY TCP4 1.2.3.4 5.6.7.8 01",               /* invalid before CRLF */
        "PROXY TCP4 1.2.3.4.5.6.7.8.9.",               /* address too long */
        "PROXY TCP9",                                  /* invalid before CRLF */
        "PROXY UNKNOWZ",                               /* invalid before CRLF */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ",             /* a sixth field starts */
        "PROXY TCP 1",                                 /* family cut short */
        "PROXY TCP4 1.2.3.4 5.6.7.8 4294967296 2\r\n", /* would wrap 32 bits */
    };
    for (size_t i = 0; i < ptc_nelems(bad); i++) {
        ssize_t rc = pp_parse(bad[i]);
        if (rc != -1) {
            unit_fail(__FILE__, __LINE__, "\"%s\" returned %zd", bad[i], rc);
            return;
        }
    }
    /* A NUL inside an address must not end the text early. */
    ASSERT_INT_EQ(pp_parse_n("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33), -1);
    /* The output is left alone on failure. */
    u_char untouched[sizeof(pp_out)];
    memset(untouched, 0xA5, sizeof(untouched));
    ASSERT_INT_EQ(pp_parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"), -1);
    ASSERT_TRUE(memcmp(&pp_out, untouched, sizeof(pp_out)) == 0);
}

TEST(pp_v1_need_more)
{
    ASSERT_INT_EQ(ptc_proxy_protocol_parse(NULL, 0, &pp_out), 0);
    ASSERT_INT_EQ(pp_parse("P"), 0);
    ASSERT_INT_EQ(pp_parse("PROXY"), 0);
    ASSERT_INT_EQ(pp_parse("PROXY UNK"), 0);
    ASSERT_INT_EQ(pp_parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"), 0);
    ASSERT_INT_EQ(pp_parse("PROXY TCP6 ::1 ::1 1 6553"), 0);
    ASSERT_INT_EQ(pp_parse("PROXY UNKNOWN \r\r"), 0);
}

TEST(pp_v1_split)
{
    const char *s = "PROXY TCP4 10.1.2.3 10.4.5.6 1234 80\r\n";
    ASSERT_INT_EQ(pp_split_check(s, strlen(s)), (int)strlen(s));
    ASSERT_PP("10.1.2.3 1234", "10.4.5.6 80");
    s = "PROXY TCP6 2001:db8:0:1::2 ::ffff:192.0.2.1 65535 8443\r\n";
    ASSERT_INT_EQ(pp_split_check(s, strlen(s)), (int)strlen(s));
    ASSERT_PP("2001:db8:0:1::2 65535", "::ffff:192.0.2.1 8443");
    s = "PROXY UNKNOWN 1.2.3.4 x\r\n";
    ASSERT_INT_EQ(pp_split_check(s, strlen(s)), (int)strlen(s));
    ASSERT_PP_LOCAL();
}

/* v2 headers as C literals: signature + ver_cmd + fam + length + body. */
#define PP_V2_TCP4_HDR                                                                             \
    PP_SIG "\x21\x11\x00\x0C"                                                                      \
           "\xC0\x00\x02\x01"                                                                      \
           "\xC6\x33\x64\x02"                                                                      \
           "\xD4\x31\x01\xBB"
#define PP_V2_TCP6_HDR                                                                             \
    PP_SIG "\x21\x21\x00\x24"                                                                      \
           "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"                      \
           "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02"                      \
           "\x00\x00\xFF\xFF"

TEST(pp_v2_tcp4)
{
    static const char s[] = PP_V2_TCP4_HDR "GET";
    ASSERT_INT_EQ(pp_parse_n(s, sizeof(s) - 1), 28);
    ASSERT_PP("192.0.2.1 54321", "198.51.100.2 443");
    ASSERT_INT_EQ(pp_split_check(s, 28), 28);
    ASSERT_PP("192.0.2.1 54321", "198.51.100.2 443");
}

TEST(pp_v2_tcp6)
{
    static const char s[] = PP_V2_TCP6_HDR;
    ASSERT_INT_EQ(pp_parse_n(s, sizeof(s) - 1), 52);
    ASSERT_PP("2001:db8::1 0", "::2 65535");
    ASSERT_INT_EQ(pp_split_check(s, 52), 52);
    ASSERT_PP("2001:db8::1 0", "::2 65535");
}

TEST(pp_v2_local)
{
    static const char local[] = PP_SIG "\x20\x00\x00\x00"
                                       "GET";
    ASSERT_INT_EQ(pp_parse_n(local, sizeof(local) - 1), 16);
    ASSERT_PP_LOCAL();
    /* LOCAL ignores a family and address block that are present. */
    static const char local4[] = PP_SIG "\x20\x11\x00\x0C"
                                        "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02";
    ASSERT_INT_EQ(pp_split_check(local4, sizeof(local4) - 1), 28);
    ASSERT_PP_LOCAL();
    /* PROXY with UDP, unix or UNSPEC: keep the real peer. */
    static const char udp4[] = PP_SIG "\x21\x12\x00\x0C"
                                      "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02";
    ASSERT_INT_EQ(pp_parse_n(udp4, sizeof(udp4) - 1), 28);
    ASSERT_PP_LOCAL();
    static const char unspec[] = PP_SIG "\x21\x00\x00\x00";
    ASSERT_INT_EQ(pp_parse_n(unspec, sizeof(unspec) - 1), 16);
    ASSERT_PP_LOCAL();
    static u_char unix_hdr[16 + 216];
    memcpy(unix_hdr, PP_SIG "\x21\x31\x00\xD8", 16);
    memset(unix_hdr + 16, 'u', 216);
    ASSERT_INT_EQ(pp_parse_n((const char *)unix_hdr, sizeof(unix_hdr)), 232);
    ASSERT_PP_LOCAL();
}

TEST(pp_v2_tlv)
{
    /* IPv4 block, then ALPN "h2" (type 0x01) and a NOOP (0x04) of 3 bytes. */
    static const char s[] = PP_SIG "\x21\x11\x00\x17"
                                   "\x0A\x00\x00\x01\x0A\x00\x00\x02\x1F\x90\x00\x50"
                                   "\x01\x00\x02h2"
                                   "\x04\x00\x03\x00\x00\x00"
                                   "GET";
    ASSERT_INT_EQ(pp_parse_n(s, sizeof(s) - 1), 39);
    ASSERT_PP("10.0.0.1 8080", "10.0.0.2 80");
    ASSERT_INT_EQ(pp_split_check(s, 39), 39);
    ASSERT_PP("10.0.0.1 8080", "10.0.0.2 80");
    /* The largest length: 16 + 65535 bytes. */
    static u_char big[16 + 65535 + 1];
    memcpy(big, PP_SIG "\x21\x21\xFF\xFF", 16);
    memcpy(big + 16, &PP_V2_TCP6_HDR[16], 36);
    ASSERT_INT_EQ(pp_parse_n((const char *)big, 16), 0);
    ASSERT_INT_EQ(pp_parse_n((const char *)big, 16 + 65534), 0);
    ASSERT_INT_EQ(pp_parse_n((const char *)big, sizeof(big)), 16 + 65535);
    ASSERT_PP("2001:db8::1 0", "::2 65535");
}

TEST(pp_v2_reject)
{
    /* Address block shorter than the family needs. */
    ASSERT_INT_EQ(pp_parse_n(PP_SIG "\x21\x11\x00\x0B", 16), -1);
    ASSERT_INT_EQ(pp_parse_n(PP_SIG "\x21\x21\x00\x23", 16), -1);
    ASSERT_INT_EQ(pp_parse_n(PP_SIG "\x21\x21\x00\x0C", 16), -1);
    /* Bad version (high nibble), known once byte 13 arrives. */
    ASSERT_INT_EQ(pp_parse_n(PP_SIG "\x11\x11\x00\x0C", 13), -1);
    ASSERT_INT_EQ(pp_parse_n(PP_SIG "\x31\x11\x00\x0C", 16), -1);
    ASSERT_INT_EQ(pp_parse_n(PP_SIG "\x01\x00\x00\x00", 16), -1);
    /* Bad command (low nibble). */
    ASSERT_INT_EQ(pp_parse_n(PP_SIG "\x22\x11\x00\x0C", 13), -1);
    ASSERT_INT_EQ(pp_parse_n(PP_SIG "\x2F\x00\x00\x00", 16), -1);
    /* Signature mismatch at any byte. */
    ASSERT_INT_EQ(pp_parse_n("\x0D\x0A\x0D\x0B", 4), -1);
    ASSERT_INT_EQ(pp_parse_n("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0B\x21", 13), -1);
    ASSERT_INT_EQ(pp_parse_n("\x0D\x0A\x0D\x0A\x01", 5), -1);
    /* Truncated input: a valid prefix, so more bytes are needed. */
    ASSERT_INT_EQ(pp_parse_n(PP_SIG, 12), 0);
    ASSERT_INT_EQ(pp_parse_n(PP_V2_TCP4_HDR, 27), 0);
    ASSERT_INT_EQ(pp_parse_n(PP_SIG "\x21", 13), 0);
    ASSERT_INT_EQ(pp_parse_n("\x0D", 1), 0);
}

static void
pp_sin(struct sockaddr_in *sin, const char *addr, uint16_t port)
{
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    inet_pton(AF_INET, addr, &sin->sin_addr);
}

static void
pp_sin6(struct sockaddr_in6 *sin6, const char *addr, uint16_t port)
{
    memset(sin6, 0, sizeof(*sin6));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    inet_pton(AF_INET6, addr, &sin6->sin6_addr);
}

TEST(pp_write_v1_bytes)
{
    u_char buf[PTC_PROXY_PROTOCOL_MAX];
    struct sockaddr_in s, d;
    pp_sin(&s, "192.0.2.1", 12345);
    pp_sin(&d, "198.51.100.2", 80);
    size_t n = ptc_proxy_protocol_write_v1(buf, (struct sockaddr *)&s, (struct sockaddr *)&d);
    ASSERT_MEM_EQ(buf, n, "PROXY TCP4 192.0.2.1 198.51.100.2 12345 80\r\n");
    struct sockaddr_in6 d6;
    pp_sin6(&d6, "2001:db8::5", 443);
    n = ptc_proxy_protocol_write_v1(buf, (struct sockaddr *)&s, (struct sockaddr *)&d6);
    ASSERT_MEM_EQ(buf, n, "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::5 12345 443\r\n");
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    n = ptc_proxy_protocol_write_v1(buf, (struct sockaddr *)&un, (struct sockaddr *)&d);
    ASSERT_MEM_EQ(buf, n, "PROXY UNKNOWN\r\n");
    n = ptc_proxy_protocol_write_v1(buf, (struct sockaddr *)&s, NULL);
    ASSERT_MEM_EQ(buf, n, "PROXY UNKNOWN\r\n");
    /* The longest IPv6 text still fits the 107-byte line. */
    pp_sin6(&d6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
    n = ptc_proxy_protocol_write_v1(buf, (struct sockaddr *)&d6, (struct sockaddr *)&d6);
    ASSERT_INT_EQ(n, 104);
    ASSERT_INT_EQ(pp_parse_n((const char *)buf, n), 104);
}

TEST(pp_write_v2_bytes)
{
    u_char buf[PTC_PROXY_PROTOCOL_MAX];
    static const char tcp4[] = PP_V2_TCP4_HDR;
    struct sockaddr_in s, d;
    pp_sin(&s, "192.0.2.1", 54321);
    pp_sin(&d, "198.51.100.2", 443);
    size_t n = ptc_proxy_protocol_write_v2(buf, (struct sockaddr *)&s, (struct sockaddr *)&d);
    ASSERT_INT_EQ(n, 28);
    ASSERT_TRUE(memcmp(buf, tcp4, 28) == 0);
    static const char tcp6[] = PP_V2_TCP6_HDR;
    struct sockaddr_in6 s6, d6;
    pp_sin6(&s6, "2001:db8::1", 0);
    pp_sin6(&d6, "::2", 65535);
    n = ptc_proxy_protocol_write_v2(buf, (struct sockaddr *)&s6, (struct sockaddr *)&d6);
    ASSERT_INT_EQ(n, 52);
    ASSERT_TRUE(memcmp(buf, tcp6, 52) == 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    n = ptc_proxy_protocol_write_v2(buf, (struct sockaddr *)&un, (struct sockaddr *)&un);
    ASSERT_INT_EQ(n, 16);
    ASSERT_TRUE(memcmp(buf, PP_SIG "\x20\x00\x00\x00", 16) == 0);
}

TEST(pp_round_trip)
{
    u_char buf[PTC_PROXY_PROTOCOL_MAX];
    struct sockaddr_in s, d;
    struct sockaddr_in6 s6, d6;
    pp_sin(&s, "203.0.113.7", 1);
    pp_sin(&d, "10.255.0.1", 65535);
    pp_sin6(&s6, "fe80::1234:5678", 40000);
    pp_sin6(&d6, "2001:db8:1:2:3:4:5:6", 8080);
    size_t n = ptc_proxy_protocol_write_v1(buf, (struct sockaddr *)&s, (struct sockaddr *)&d);
    ASSERT_INT_EQ(pp_parse_n((const char *)buf, n), (ssize_t)n);
    ASSERT_PP("203.0.113.7 1", "10.255.0.1 65535");
    ASSERT_TRUE(memcmp(&pp_out.src, &s, sizeof(s)) == 0);
    n = ptc_proxy_protocol_write_v2(buf, (struct sockaddr *)&s, (struct sockaddr *)&d);
    ASSERT_INT_EQ(pp_parse_n((const char *)buf, n), 28);
    ASSERT_PP("203.0.113.7 1", "10.255.0.1 65535");
    ASSERT_TRUE(memcmp(&pp_out.dst, &d, sizeof(d)) == 0);
    n = ptc_proxy_protocol_write_v1(buf, (struct sockaddr *)&s6, (struct sockaddr *)&d6);
    ASSERT_INT_EQ(pp_parse_n((const char *)buf, n), (ssize_t)n);
    ASSERT_PP("fe80::1234:5678 40000", "2001:db8:1:2:3:4:5:6 8080");
    ASSERT_TRUE(memcmp(&pp_out.src, &s6, sizeof(s6)) == 0);
    n = ptc_proxy_protocol_write_v2(buf, (struct sockaddr *)&s6, (struct sockaddr *)&d6);
    ASSERT_INT_EQ(pp_parse_n((const char *)buf, n), 52);
    ASSERT_PP("fe80::1234:5678 40000", "2001:db8:1:2:3:4:5:6 8080");
    ASSERT_TRUE(memcmp(&pp_out.dst, &d6, sizeof(d6)) == 0);
    n = ptc_proxy_protocol_write_v2(buf, (struct sockaddr *)&d6, (struct sockaddr *)&s);
    ASSERT_INT_EQ(pp_parse_n((const char *)buf, n), 52);
    ASSERT_PP("2001:db8:1:2:3:4:5:6 8080", "::ffff:203.0.113.7 1");
    n = ptc_proxy_protocol_write_v1(buf, NULL, NULL);
    ASSERT_INT_EQ(pp_parse_n((const char *)buf, n), 15);
    ASSERT_PP_LOCAL();
    n = ptc_proxy_protocol_write_v2(buf, NULL, NULL);
    ASSERT_INT_EQ(pp_parse_n((const char *)buf, n), 16);
    ASSERT_PP_LOCAL();
}

void
suite_proxy_protocol(void)
{
    RUN(pp_v1_tcp4);
    RUN(pp_v1_tcp6);
    RUN(pp_v1_unknown);
    RUN(pp_v1_reject);
    RUN(pp_v1_need_more);
    RUN(pp_v1_split);
    RUN(pp_v2_tcp4);
    RUN(pp_v2_tcp6);
    RUN(pp_v2_local);
    RUN(pp_v2_tlv);
    RUN(pp_v2_reject);
    RUN(pp_write_v1_bytes);
    RUN(pp_write_v2_bytes);
    RUN(pp_round_trip);
}
