/* SPDX-License-Identifier: BSD-2-Clause */
/* PROXY protocol v1/v2 parser and writer. The parser is incremental by
 * re-parsing: it returns 0 while the bytes so far could still start a valid
 * header, so a caller simply retries with more data. */
#include "core/ptc_proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/ptc_str.h"
#define PP_V1_MAX     107 /* whole v1 line including CRLF */
#define PP_V1_PREFIX  "PROXY "
#define PP_V2_HDR     16 /* signature, ver_cmd, fam, 2-byte length */
#define PP_V2_CMD_LOC 0x0
#define PP_V2_CMD_PRX 0x1
#define PP_V2_TCP4    0x11
#define PP_V2_TCP6    0x21

static const u_char pp_v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                     0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* Fields of a v1 line after "PROXY ", in order. */
enum { PP_F_PROTO, PP_F_SRC, PP_F_DST, PP_F_SPORT, PP_F_DPORT };

/* One address pair in wire form: addresses in network order, ports in host order. */
typedef struct {
    int family; /* AF_INET or AF_INET6 */
    u_char src[16], dst[16];
    uint16_t sport, dport;
} pp_pair_t;

static void
pp_sockaddr_set(struct sockaddr_storage *ss, socklen_t *len, int family, const u_char *addr,
                uint16_t port)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, addr, 4);
        *len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        memcpy(&sin6->sin6_addr, addr, 16);
        *len = sizeof(*sin6);
    }
}

static void
pp_pair_store(const pp_pair_t *pair, ptc_proxy_protocol_t *out)
{
    memset(out, 0, sizeof(*out));
    pp_sockaddr_set(&out->src, &out->src_len, pair->family, pair->src, pair->sport);
    pp_sockaddr_set(&out->dst, &out->dst_len, pair->family, pair->dst, pair->dport);
}

static void
pp_local_store(ptc_proxy_protocol_t *out)
{
    memset(out, 0, sizeof(*out));
    out->local = true;
}

/* Find the v1 line: *n is its length without CRLF. *open is true when no CRLF has arrived yet;
 * then a trailing CR is left out (it may start the CRLF). PTC_ERROR once 107 bytes hold no
 * CRLF. */
static int
pp_v1_line(const u_char *buf, size_t len, size_t *n, bool *open)
{
    const u_char *crlf = memmem(buf, ptc_min(len, PP_V1_MAX), "\r\n", 2);
    if (crlf != NULL) {
        *n = (size_t)(crlf - buf);
        *open = false;
        return PTC_OK;
    }
    if (len >= PP_V1_MAX) {
        return PTC_ERROR;
    }
    *n = len > 0 && buf[len - 1] == '\r' ? len - 1 : len;
    *open = true;
    return PTC_OK;
}

/* Is tok (complete, or a prefix when open) the keyword kw? */
static bool
pp_v1_word(const u_char *tok, size_t n, bool open, const char *kw)
{
    size_t kl = strlen(kw);
    return (n == kl || (open && n < kl)) && memcmp(tok, kw, n) == 0;
}

/* The protocol field: "TCP4" or "TCP6" sets *family; when open, any prefix of TCP4, TCP6 or
 * UNKNOWN is accepted. A complete "UNKNOWN" is handled by the caller. */
static bool
pp_v1_proto(const u_char *tok, size_t n, bool open, int *family)
{
    if (pp_v1_word(tok, n, false, "TCP4")) {
        *family = AF_INET;
        return true;
    }
    if (pp_v1_word(tok, n, false, "TCP6")) {
        *family = AF_INET6;
        return true;
    }
    return open
           && (pp_v1_word(tok, n, true, "TCP4") || pp_v1_word(tok, n, true, "TCP6")
               || pp_v1_word(tok, n, true, "UNKNOWN"));
}

/* An address of the line's family. An open one is only checked for its characters and length,
 * since "10.0.0" may still grow into "10.0.0.1"; a complete one must pass inet_pton. */
static bool
pp_v1_addr(const u_char *tok, size_t n, bool open, int family, u_char *addr)
{
    const char *chars = family == AF_INET ? "0123456789." : "0123456789abcdefABCDEF:.";
    size_t max = family == AF_INET ? INET_ADDRSTRLEN - 1 : INET6_ADDRSTRLEN - 1;
    char text[INET6_ADDRSTRLEN];
    if (n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (tok[i] == '\0' || strchr(chars, tok[i]) == NULL) {
            return false;
        }
    }
    if (open) {
        return true;
    }
    memcpy(text, tok, n);
    text[n] = '\0';
    return inet_pton(family, text, addr) == 1;
}

/* A port: 0..65535 in decimal, no sign, no leading zero (the spec forbids them). */
static bool
pp_v1_port(const u_char *tok, size_t n, bool open, uint16_t *port)
{
    uint32_t v = 0;
    if (n == 0) {
        return open;
    }
    if (n > 5 || (tok[0] == '0' && n > 1)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9') {
            return false;
        }
        v = v * 10 + (uint32_t)(tok[i] - '0');
    }
    if (v > 65535) {
        return false;
    }
    *port = (uint16_t)v;
    return true;
}

static bool
pp_v1_field(pp_pair_t *pair, unsigned field, const u_char *tok, size_t n, bool open)
{
    switch (field) {
    case PP_F_PROTO:
        return pp_v1_proto(tok, n, open, &pair->family);
    case PP_F_SRC:
        return pp_v1_addr(tok, n, open, pair->family, pair->src);
    case PP_F_DST:
        return pp_v1_addr(tok, n, open, pair->family, pair->dst);
    case PP_F_SPORT:
        return pp_v1_port(tok, n, open, &pair->sport);
    default:
        return pp_v1_port(tok, n, open, &pair->dport);
    }
}

/* "PROXY" SP proto [SP src SP dst SP sport SP dport] CRLF, fields split by exactly one SP.
 * buf starts with a prefix of "PROXY " (checked by the caller). */
static ssize_t
pp_v1_parse(const u_char *buf, size_t len, ptc_proxy_protocol_t *out)
{
    size_t n;
    bool open, local = false;
    pp_pair_t pair = {0};
    unsigned field = PP_F_PROTO;
    if (pp_v1_line(buf, len, &n, &open) != PTC_OK) {
        return -1;
    }
    if (n < sizeof(PP_V1_PREFIX) - 1) {
        return 0; /* still open: a CRLF cannot come inside "PROXY " */
    }
    const u_char *p = buf + sizeof(PP_V1_PREFIX) - 1, *last = buf + n;
    for (;; field++) {
        const u_char *sp = memchr(p, ' ', (size_t)(last - p));
        const u_char *end = sp != NULL ? sp : last;
        bool tok_open = open && sp == NULL;
        if (field == PP_F_PROTO && pp_v1_word(p, (size_t)(end - p), false, "UNKNOWN")) {
            /* The spec lets anything follow UNKNOWN up to the CRLF. */
            local = true;
            break;
        }
        if (!pp_v1_field(&pair, field, p, (size_t)(end - p), tok_open)) {
            return -1;
        }
        if (sp == NULL) {
            break;
        }
        if (field == PP_F_DPORT) {
            return -1;
        }
        p = sp + 1;
    }
    if (open) {
        return 0;
    }
    if (local) {
        pp_local_store(out);
    } else if (field == PP_F_DPORT) {
        pp_pair_store(&pair, out);
    } else {
        return -1;
    }
    return (ssize_t)n + 2;
}

/* Signature, ver_cmd (0x20 LOCAL / 0x21 PROXY), fam, length, then the address block and TLVs.
 * buf starts with a prefix of the signature (checked by the caller). */
static ssize_t
pp_v2_parse(const u_char *buf, size_t len, ptc_proxy_protocol_t *out)
{
    if (len <= sizeof(pp_v2_sig)) {
        return 0;
    }
    u_char ver = buf[12] >> 4, cmd = buf[12] & 0x0f;
    if (ver != 2 || (cmd != PP_V2_CMD_LOC && cmd != PP_V2_CMD_PRX)) {
        return -1;
    }
    if (len < PP_V2_HDR) {
        return 0;
    }
    u_char fam = cmd == PP_V2_CMD_PRX ? buf[13] : 0;
    size_t body = (size_t)buf[14] << 8 | buf[15];
    size_t need = fam == PP_V2_TCP4 ? 12 : fam == PP_V2_TCP6 ? 36 : 0;
    if (body < need) {
        return -1;
    }
    if (len < PP_V2_HDR + body) {
        return 0;
    }
    if (need == 0) {
        /* LOCAL, or a family we do not relay (UDP, unix, unspec): the spec lets the receiver
         * ignore the addresses and keep the real peer. */
        pp_local_store(out);
        return (ssize_t)(PP_V2_HDR + body);
    }
    pp_pair_t pair = {.family = fam == PP_V2_TCP4 ? AF_INET : AF_INET6};
    size_t alen = fam == PP_V2_TCP4 ? 4 : 16;
    const u_char *a = buf + PP_V2_HDR;
    memcpy(pair.src, a, alen);
    memcpy(pair.dst, a + alen, alen);
    pair.sport = (uint16_t)(a[2 * alen] << 8 | a[2 * alen + 1]);
    pair.dport = (uint16_t)(a[2 * alen + 2] << 8 | a[2 * alen + 3]);
    pp_pair_store(&pair, out);
    return (ssize_t)(PP_V2_HDR + body);
}

ssize_t
ptc_proxy_protocol_parse(const u_char *buf, size_t len, ptc_proxy_protocol_t *out)
{
    ptc_proxy_protocol_t pp;
    ssize_t rc;
    if (len == 0) {
        return 0;
    }
    if (memcmp(buf, PP_V1_PREFIX, ptc_min(len, sizeof(PP_V1_PREFIX) - 1)) == 0) {
        rc = pp_v1_parse(buf, len, &pp);
    } else if (memcmp(buf, pp_v2_sig, ptc_min(len, sizeof(pp_v2_sig))) == 0) {
        rc = pp_v2_parse(buf, len, &pp);
    } else {
        return -1;
    }
    if (rc > 0) {
        *out = pp;
    }
    return rc;
}

/* Put src and dst in one family; false when either is missing or not IP. */
static bool
pp_pair_from(pp_pair_t *pair, const struct sockaddr *src, const struct sockaddr *dst)
{
    const struct sockaddr *sa[2] = {src, dst};
    u_char *addr[2] = {pair->src, pair->dst};
    uint16_t *port[2] = {&pair->sport, &pair->dport};
    static const u_char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (src == NULL || dst == NULL) {
        return false;
    }
    if ((src->sa_family != AF_INET && src->sa_family != AF_INET6)
        || (dst->sa_family != AF_INET && dst->sa_family != AF_INET6)) {
        return false;
    }
    pair->family = src->sa_family == AF_INET && dst->sa_family == AF_INET ? AF_INET : AF_INET6;
    for (int i = 0; i < 2; i++) {
        if (sa[i]->sa_family == AF_INET6) {
            const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa[i];
            memcpy(addr[i], &sin6->sin6_addr, 16);
            *port[i] = ntohs(sin6->sin6_port);
            continue;
        }
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa[i];
        u_char *a = addr[i];
        if (pair->family == AF_INET6) {
            a = ptc_cpymem(a, mapped, sizeof(mapped));
        }
        memcpy(a, &sin->sin_addr, 4);
        *port[i] = ntohs(sin->sin_port);
    }
    return true;
}

size_t
ptc_proxy_protocol_write_v1(u_char *buf, const struct sockaddr *src, const struct sockaddr *dst)
{
    static const char unknown[] = "PROXY UNKNOWN\r\n";
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    pp_pair_t pair;
    if (!pp_pair_from(&pair, src, dst)) {
        memcpy(buf, unknown, sizeof(unknown) - 1);
        return sizeof(unknown) - 1;
    }
    inet_ntop(pair.family, pair.src, s, sizeof(s));
    inet_ntop(pair.family, pair.dst, d, sizeof(d));
    /* At most 6 + 5 + 39 + 1 + 39 + 1 + 5 + 1 + 5 + 2 = 104 bytes: inet_ntop only uses the
     * dotted tail for addresses whose zero run it compresses. */
    int n = snprintf((char *)buf, PTC_PROXY_PROTOCOL_MAX, "PROXY %s %s %s %u %u\r\n",
                     pair.family == AF_INET ? "TCP4" : "TCP6", s, d, (unsigned)pair.sport,
                     (unsigned)pair.dport);
    return (size_t)n;
}

size_t
ptc_proxy_protocol_write_v2(u_char *buf, const struct sockaddr *src, const struct sockaddr *dst)
{
    pp_pair_t pair;
    u_char *p = ptc_cpymem(buf, pp_v2_sig, sizeof(pp_v2_sig));
    if (!pp_pair_from(&pair, src, dst)) {
        *p++ = 0x20; /* version 2, LOCAL */
        *p++ = 0x00; /* UNSPEC */
        *p++ = 0;
        *p++ = 0;
        return (size_t)(p - buf);
    }
    size_t alen = pair.family == AF_INET ? 4 : 16;
    *p++ = 0x21; /* version 2, PROXY */
    *p++ = pair.family == AF_INET ? PP_V2_TCP4 : PP_V2_TCP6;
    *p++ = 0;
    *p++ = (u_char)(2 * alen + 4);
    p = ptc_cpymem(p, pair.src, alen);
    p = ptc_cpymem(p, pair.dst, alen);
    *p++ = (u_char)(pair.sport >> 8);
    *p++ = (u_char)pair.sport;
    *p++ = (u_char)(pair.dport >> 8);
    *p++ = (u_char)pair.dport;
    return (size_t)(p - buf);
}
