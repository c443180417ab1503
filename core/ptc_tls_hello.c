/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS ClientHello parser and the JA3 / JA4 fingerprints. The parser checks every length
 * once; the fingerprint writers then walk the validated lists through one small iterator and
 * write through one sink that either fills a buffer, counts, or feeds a digest, so a JA3 hash
 * never needs the (possibly long) JA3 string in memory. */
#include <string.h>

#include <openssl/evp.h>

#include "core/ptc_tls_hello.h"

#define TLS_CLIENT_HELLO   1
#define TLS_EXT_SNI        0
#define TLS_EXT_GROUPS     10
#define TLS_EXT_FORMATS    11
#define TLS_EXT_SIGALGS    13
#define TLS_EXT_ALPN       16
#define TLS_EXT_VERSIONS   43
#define TLS_SORT_SMALL     256  /* lists up to this long are sorted in a stack array */
#define TLS_SORT_BLOCK     4096 /* longer ones by counting, this many values per pass */
#define TLS_JA4_HASH_CHARS 12

static const char tls_hex[] = "0123456789abcdef";

/* ------------------------------------------------------------------------------------------ */
/* Parsing */

typedef struct {
    const u_char *p, *end;
} tls_cur_t;

static uint16_t
tls_u16(const u_char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* GREASE (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa, both bytes equal. */
static bool
tls_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* Take n bytes from c into *out; false when fewer remain. */
static bool
tls_take(tls_cur_t *c, size_t n, const u_char **out)
{
    if ((size_t)(c->end - c->p) < n) {
        return false;
    }
    *out = c->p;
    c->p += n;
    return true;
}

/* Take a vector with a 1- or 2-byte length prefix: *out, *n are its contents. */
static bool
tls_vec(tls_cur_t *c, size_t prefix, const u_char **out, size_t *n)
{
    const u_char *l;
    if (!tls_take(c, prefix, &l)) {
        return false;
    }
    *n = prefix == 1 ? l[0] : tls_u16(l);
    return tls_take(c, *n, out);
}

/* The extension data d[0..len) is exactly one vector with the given prefix. */
static bool
tls_ext_vec(const u_char *d, size_t len, size_t prefix, const u_char **out, size_t *n)
{
    tls_cur_t c = {d, d + len};
    return tls_vec(&c, prefix, out, n) && c.p == c.end;
}

/* ... holding 16-bit values. */
static bool
tls_ext_u16s(const u_char *d, size_t len, size_t prefix, ptc_tls_u16s_t *out)
{
    size_t n;
    if (!tls_ext_vec(d, len, prefix, &out->p, &n) || n % 2 != 0) {
        return false;
    }
    out->n = n / 2;
    return true;
}

/* ALPN: a 2-byte-length list of 1-byte-length names filling it exactly; keep the first. */
static bool
tls_ext_alpn(const u_char *d, size_t len, ptc_tls_hello_t *h)
{
    const u_char *list, *name;
    size_t n, name_len;
    if (!tls_ext_vec(d, len, 2, &list, &n)) {
        return false;
    }
    tls_cur_t c = {list, list + n};
    while (c.p < c.end) {
        if (!tls_vec(&c, 1, &name, &name_len)) {
            return false;
        }
        if (h->alpn == NULL) {
            h->alpn = name;
            h->alpn_len = name_len;
        }
    }
    return true;
}

/* One extension of the given type; the ones fingerprints read are checked and kept. */
static bool
tls_ext(ptc_tls_hello_t *h, uint16_t type, const u_char *d, size_t len)
{
    switch (type) {
    case TLS_EXT_SNI:
        h->sni = true;
        return true;
    case TLS_EXT_GROUPS:
        return tls_ext_u16s(d, len, 2, &h->groups);
    case TLS_EXT_FORMATS:
        return tls_ext_vec(d, len, 1, &h->formats, &h->formats_n);
    case TLS_EXT_SIGALGS:
        return tls_ext_u16s(d, len, 2, &h->sigalgs);
    case TLS_EXT_ALPN:
        return tls_ext_alpn(d, len, h);
    case TLS_EXT_VERSIONS:
        return tls_ext_u16s(d, len, 1, &h->versions);
    default:
        return true;
    }
}

/* Bit of the seen-set for the extensions tls_ext() reads, 0 for the others. */
static unsigned
tls_ext_bit(uint16_t type)
{
    switch (type) {
    case TLS_EXT_SNI:
        return 1;
    case TLS_EXT_GROUPS:
        return 2;
    case TLS_EXT_FORMATS:
        return 4;
    case TLS_EXT_SIGALGS:
        return 8;
    case TLS_EXT_ALPN:
        return 16;
    case TLS_EXT_VERSIONS:
        return 32;
    default:
        return 0;
    }
}

static int
tls_parse_exts(ptc_tls_hello_t *h)
{
    tls_cur_t c = {h->ext, h->ext + h->ext_len};
    unsigned seen = 0;
    while (c.p < c.end) {
        const u_char *hd, *d;
        if (!tls_take(&c, 4, &hd) || !tls_take(&c, tls_u16(hd + 2), &d)) {
            return PTC_ERROR;
        }
        uint16_t type = tls_u16(hd);
        unsigned bit = tls_ext_bit(type);
        if ((seen & bit) != 0 || !tls_ext(h, type, d, tls_u16(hd + 2))) {
            return PTC_ERROR;
        }
        seen |= bit;
        h->ext_n++;
    }
    return PTC_OK;
}

int
ptc_tls_hello_parse(const u_char *msg, size_t len, ptc_tls_hello_t *h)
{
    const u_char *p;
    size_t n;
    memset(h, 0, sizeof(*h));
    if (len < 4 || msg[0] != TLS_CLIENT_HELLO
        || ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]) != len - 4) {
        return PTC_ERROR;
    }
    tls_cur_t c = {msg + 4, msg + len};
    if (!tls_take(&c, 2 + 32, &p)) { /* legacy_version, random */
        return PTC_ERROR;
    }
    h->version = tls_u16(p);
    if (!tls_vec(&c, 1, &p, &n) || n > 32) { /* legacy_session_id */
        return PTC_ERROR;
    }
    if (!tls_vec(&c, 2, &h->ciphers.p, &n) || n % 2 != 0) {
        return PTC_ERROR;
    }
    h->ciphers.n = n / 2;
    if (!tls_vec(&c, 1, &p, &n) || n == 0) { /* legacy_compression_methods */
        return PTC_ERROR;
    }
    if (c.p == c.end) {
        return PTC_OK; /* no extensions block at all */
    }
    if (!tls_vec(&c, 2, &h->ext, &h->ext_len) || c.p != c.end) {
        return PTC_ERROR;
    }
    return tls_parse_exts(h);
}

/* ------------------------------------------------------------------------------------------ */
/* Walking the parsed lists */

/* Iterates the values of a packed 16-bit list or the types of an extension block, leaving out
 * GREASE and, when asked, SNI and ALPN. A copy restarts the walk. */
typedef struct {
    const u_char *p, *end;
    bool ext;      /* an extension block: step over each extension's data */
    bool sni_alpn; /* skip 0x0000 and 0x0010 */
} tls_iter_t;

/* (No arithmetic on the NULL pointer of an absent list.) */
static tls_iter_t
tls_list(ptc_tls_u16s_t l)
{
    return (tls_iter_t){l.p, l.n > 0 ? l.p + 2 * l.n : l.p, false, false};
}

static tls_iter_t
tls_exts(const ptc_tls_hello_t *h, bool sni_alpn)
{
    return (tls_iter_t){h->ext, h->ext_len > 0 ? h->ext + h->ext_len : h->ext, true, sni_alpn};
}

static bool
tls_next(tls_iter_t *it, uint16_t *v)
{
    while ((size_t)(it->end - it->p) >= (it->ext ? 4u : 2u)) {
        uint16_t x = tls_u16(it->p);
        size_t step = it->ext ? 4 + (size_t)tls_u16(it->p + 2) : 2;
        it->p += ptc_min(step, (size_t)(it->end - it->p)); /* parse checked; stay inside */
        if (tls_grease(x) || (it->sni_alpn && (x == TLS_EXT_SNI || x == TLS_EXT_ALPN))) {
            continue;
        }
        *v = x;
        return true;
    }
    return false;
}

static size_t
tls_count(tls_iter_t it)
{
    size_t n = 0;
    uint16_t v;
    while (tls_next(&it, &v)) {
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Output: a buffer, a length count, or a digest */

typedef struct {
    u_char *buf;       /* NULL: count only (or digest) */
    size_t size, len;  /* len counts every byte produced, even past size */
    EVP_MD_CTX *md;    /* non-NULL: bytes go to this digest */
    u_char stage[512]; /* digest input gathered into larger updates */
    size_t staged;
    bool failed; /* a digest update failed */
} tls_out_t;

static void
tls_flush(tls_out_t *o)
{
    if (o->staged > 0 && EVP_DigestUpdate(o->md, o->stage, o->staged) != 1) {
        o->failed = true;
    }
    o->staged = 0;
}

static void
tls_put(tls_out_t *o, const char *s, size_t n)
{
    if (o->md != NULL) {
        if (o->staged + n > sizeof(o->stage)) {
            tls_flush(o);
        }
        memcpy(o->stage + o->staged, s, n);
        o->staged += n;
    } else if (o->buf != NULL && o->len + n <= o->size) {
        memcpy(o->buf + o->len, s, n);
    }
    o->len += n;
}

static void
tls_put_dec(tls_out_t *o, unsigned v)
{
    char d[5];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && i > 0);
    tls_put(o, d + i, sizeof(d) - i);
}

static void
tls_put_hex4(tls_out_t *o, uint16_t v)
{
    char d[4] = {tls_hex[v >> 12], tls_hex[(v >> 8) & 15], tls_hex[(v >> 4) & 15], tls_hex[v & 15]};
    tls_put(o, d, 4);
}

/* The values of it in decimal, '-' between them. */
static void
tls_put_dec_list(tls_out_t *o, tls_iter_t it)
{
    uint16_t v;
    for (bool first = true; tls_next(&it, &v); first = false) {
        if (!first) {
            tls_put(o, "-", 1);
        }
        tls_put_dec(o, v);
    }
}

/* One value of a JA4 list: 4 lowercase hex digits, ',' before all but the first. */
static void
tls_put_item(tls_out_t *o, bool *first, uint16_t v)
{
    if (!*first) {
        tls_put(o, ",", 1);
    }
    *first = false;
    tls_put_hex4(o, v);
}

/* Long lists: counting sort over one block of values per pass, so the stack holds 8 KB
 * whatever the length (16 passes at most; counts fit: a list has under 32768 values). */
static void
tls_put_sorted_long(tls_out_t *o, tls_iter_t src)
{
    uint16_t count[TLS_SORT_BLOCK];
    bool first = true;
    for (uint32_t base = 0; base < 65536; base += TLS_SORT_BLOCK) {
        tls_iter_t it = src;
        uint16_t v;
        bool any = false;
        memset(count, 0, sizeof(count));
        while (tls_next(&it, &v)) {
            if (v >= base && v - base < TLS_SORT_BLOCK) {
                count[v - base]++;
                any = true;
            }
        }
        for (size_t i = 0; any && i < TLS_SORT_BLOCK; i++) {
            for (unsigned k = count[i]; k > 0; k--) {
                tls_put_item(o, &first, (uint16_t)(base + i));
            }
        }
    }
}

/* The values of src in ascending order, as JA4 hex items. */
static void
tls_put_sorted(tls_out_t *o, tls_iter_t src)
{
    uint16_t a[TLS_SORT_SMALL], v;
    size_t n = 0;
    tls_iter_t it = src;
    while (tls_next(&it, &v)) {
        if (n == TLS_SORT_SMALL) {
            tls_put_sorted_long(o, src);
            return;
        }
        size_t i = n++;
        for (; i > 0 && a[i - 1] > v; i--) { /* insertion sort */
            a[i] = a[i - 1];
        }
        a[i] = v;
    }
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        tls_put_item(o, &first, a[i]);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* JA3 */

static void
tls_ja3_write(const ptc_tls_hello_t *h, tls_out_t *o)
{
    tls_put_dec(o, h->version);
    tls_put(o, ",", 1);
    tls_put_dec_list(o, tls_list(h->ciphers));
    tls_put(o, ",", 1);
    tls_put_dec_list(o, tls_exts(h, false));
    tls_put(o, ",", 1);
    tls_put_dec_list(o, tls_list(h->groups));
    tls_put(o, ",", 1);
    for (size_t i = 0; i < h->formats_n; i++) { /* one byte each: never GREASE */
        if (i > 0) {
            tls_put(o, "-", 1);
        }
        tls_put_dec(o, h->formats[i]);
    }
}

size_t
ptc_tls_ja3(const ptc_tls_hello_t *h, u_char *buf, size_t size)
{
    tls_out_t o = {.buf = buf, .size = size};
    tls_ja3_write(h, &o);
    return buf == NULL || o.len <= size ? o.len : 0;
}

/* Begin a digest into o; false when OpenSSL cannot. */
static bool
tls_md_begin(tls_out_t *o, EVP_MD_CTX *ctx, const EVP_MD *md)
{
    memset(o, 0, sizeof(*o));
    o->md = ctx;
    return md != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1;
}

/* Finish the digest of o as lowercase hex, keeping the first `chars` characters. */
static bool
tls_md_end(tls_out_t *o, u_char *out, size_t chars)
{
    u_char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    tls_flush(o);
    if (o->failed || EVP_DigestFinal_ex(o->md, d, &n) != 1 || chars > 2 * (size_t)n) {
        return false;
    }
    for (size_t i = 0; i < chars; i++) {
        out[i] = (u_char)tls_hex[i % 2 == 0 ? d[i / 2] >> 4 : d[i / 2] & 15];
    }
    return true;
}

int
ptc_tls_ja3_hash(const ptc_tls_hello_t *h, u_char *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    tls_out_t o;
    bool ok = ctx != NULL && tls_md_begin(&o, ctx, EVP_md5());
    if (ok) {
        tls_ja3_write(h, &o);
        ok = tls_md_end(&o, out, PTC_TLS_JA3_HASH_LEN);
    }
    EVP_MD_CTX_free(ctx);
    return ok ? PTC_OK : PTC_ERROR;
}

/* ------------------------------------------------------------------------------------------ */
/* JA4 */

/* The two-character version: the highest non-GREASE supported_versions value, else the
 * legacy version. */
static const char *
tls_ja4_version(const ptc_tls_hello_t *h)
{
    tls_iter_t it = tls_list(h->versions);
    uint16_t v, best = 0;
    bool any = false;
    while (tls_next(&it, &v)) {
        best = any && best > v ? best : v;
        any = true;
    }
    switch (any ? best : h->version) {
    case 0x0304:
        return "13";
    case 0x0303:
        return "12";
    case 0x0302:
        return "11";
    case 0x0301:
        return "10";
    case 0x0300:
        return "s3";
    case 0x0002:
        return "s2";
    case 0xfeff:
        return "d1";
    case 0xfefd:
        return "d2";
    case 0xfefc:
        return "d3";
    default:
        return "00";
    }
}

static bool
tls_alnum(u_char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* First and last character of the first ALPN name; "00" without one; when either end is not
 * alphanumeric, the first and last characters of the name's hex form instead. */
static void
tls_ja4_alpn(const ptc_tls_hello_t *h, u_char *out)
{
    if (h->alpn == NULL || h->alpn_len == 0) {
        out[0] = out[1] = '0';
        return;
    }
    u_char first = h->alpn[0], last = h->alpn[h->alpn_len - 1];
    if (tls_alnum(first) && tls_alnum(last)) {
        out[0] = first;
        out[1] = last;
    } else {
        out[0] = (u_char)tls_hex[first >> 4];
        out[1] = (u_char)tls_hex[last & 15];
    }
}

static void
tls_put_count(u_char *out, size_t n)
{
    n = ptc_min(n, 99);
    out[0] = (u_char)('0' + n / 10);
    out[1] = (u_char)('0' + n % 10);
}

/* JA4_b: the sorted cipher list, hashed. */
static bool
tls_ja4_ciphers(const ptc_tls_hello_t *h, EVP_MD_CTX *ctx, u_char *out)
{
    tls_out_t o;
    if (tls_count(tls_list(h->ciphers)) == 0) {
        memset(out, '0', TLS_JA4_HASH_CHARS);
        return true;
    }
    if (!tls_md_begin(&o, ctx, EVP_sha256())) {
        return false;
    }
    tls_put_sorted(&o, tls_list(h->ciphers));
    return tls_md_end(&o, out, TLS_JA4_HASH_CHARS);
}

/* JA4_c: the sorted extensions without SNI and ALPN, then '_' and the signature algorithms
 * in their order (no '_' when there are none), hashed. */
static bool
tls_ja4_exts(const ptc_tls_hello_t *h, EVP_MD_CTX *ctx, u_char *out)
{
    tls_out_t o;
    if (tls_count(tls_exts(h, true)) == 0) {
        memset(out, '0', TLS_JA4_HASH_CHARS);
        return true;
    }
    if (!tls_md_begin(&o, ctx, EVP_sha256())) {
        return false;
    }
    tls_put_sorted(&o, tls_exts(h, true));
    tls_iter_t it = tls_list(h->sigalgs);
    uint16_t v;
    bool first = true;
    while (tls_next(&it, &v)) {
        if (first) {
            tls_put(&o, "_", 1);
        }
        tls_put_item(&o, &first, v);
    }
    return tls_md_end(&o, out, TLS_JA4_HASH_CHARS);
}

size_t
ptc_tls_ja4(const ptc_tls_hello_t *h, char transport, u_char *buf, size_t size)
{
    if (buf == NULL || size < PTC_TLS_JA4_LEN) {
        return 0;
    }
    const char *ver = tls_ja4_version(h);
    buf[0] = (u_char)transport;
    buf[1] = (u_char)ver[0];
    buf[2] = (u_char)ver[1];
    buf[3] = h->sni ? 'd' : 'i';
    tls_put_count(buf + 4, tls_count(tls_list(h->ciphers)));
    tls_put_count(buf + 6, tls_count(tls_exts(h, false)));
    tls_ja4_alpn(h, buf + 8);
    buf[10] = '_';
    buf[23] = '_';
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && tls_ja4_ciphers(h, ctx, buf + 11) && tls_ja4_exts(h, ctx, buf + 24);
    EVP_MD_CTX_free(ctx);
    return ok ? PTC_TLS_JA4_LEN : 0;
}
