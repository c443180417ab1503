/* SPDX-License-Identifier: BSD-2-Clause */
/* Counted-string helpers and the value parsers shared by config setters. */
#include "core/ptc_str.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/ptc_pool.h"

bool
ptc_str_eq(const ptc_str_t *a, const ptc_str_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

bool
ptc_str_caseeq(const ptc_str_t *a, const ptc_str_t *b)
{
    return a->len == b->len && ptc_strncasecmp(a->data, b->data, a->len) == 0;
}

int
ptc_strncasecmp(const u_char *a, const u_char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int d = ptc_tolower(a[i]) - ptc_tolower(b[i]);
        if (d) {
            return d;
        }
    }
    return 0;
}

void
ptc_strlow(u_char *dst, const u_char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = ptc_tolower(src[i]);
    }
}

u_char *
ptc_strnstr(const u_char *h, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0) {
        return (u_char *)h;
    }
    while (hlen >= nlen) {
        const u_char *p = memchr(h, needle[0], hlen - nlen + 1);
        if (p == NULL) {
            return NULL;
        }
        if (memcmp(p, needle, nlen) == 0) {
            return (u_char *)p;
        }
        hlen -= (size_t)(p - h) + 1;
        h = p + 1;
    }
    return NULL;
}

u_char *
ptc_pstrdup(ptc_pool_t *pool, const ptc_str_t *src)
{
    u_char *d = ptc_pnalloc(pool, src->len + 1);
    if (d == NULL) {
        return NULL;
    }
    if (src->len) {
        memcpy(d, src->data, src->len);
    }
    d[src->len] = '\0';
    return d;
}

int
ptc_str_dup(ptc_pool_t *pool, ptc_str_t *dst, const u_char *src, size_t len)
{
    ptc_str_t s = {len, (u_char *)src};
    u_char *d = ptc_pstrdup(pool, &s);
    if (d == NULL) {
        return PTC_ERROR;
    }
    dst->data = d;
    dst->len = len;
    return PTC_OK;
}

char *
ptc_str_cstr(ptc_pool_t *pool, const ptc_str_t *src)
{
    return (char *)ptc_pstrdup(pool, src);
}

int64_t
ptc_atoi(const u_char *s, size_t n)
{
    if (n == 0) {
        return -1;
    }
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        if (v > (INT64_MAX - 9) / 10) {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int64_t
ptc_hextoi(const u_char *s, size_t n)
{
    if (n == 0) {
        return -1;
    }
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        u_char c = ptc_tolower(s[i]);
        int d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else {
            return -1;
        }
        if (v > (INT64_MAX >> 4)) {
            return -1;
        }
        v = (v << 4) | d;
    }
    return v;
}

static int64_t
str_parse_scaled(const ptc_str_t *s, bool gig)
{
    if (s->len == 0) {
        return -1;
    }
    size_t n = s->len;
    int64_t scale = 1;
    switch (s->data[n - 1]) {
    case 'k':
    case 'K':
        scale = 1024;
        n--;
        break;
    case 'm':
    case 'M':
        scale = 1024 * 1024;
        n--;
        break;
    case 'g':
    case 'G':
        if (!gig) {
            return -1;
        }
        scale = 1024LL * 1024 * 1024;
        n--;
        break;
    default:
        break;
    }
    int64_t v = ptc_atoi(s->data, n);
    if (v < 0 || v > INT64_MAX / scale) {
        return -1;
    }
    return v * scale;
}

int64_t
ptc_parse_size(const ptc_str_t *s)
{
    return str_parse_scaled(s, true);
}

int64_t
ptc_parse_offset(const ptc_str_t *s)
{
    return str_parse_scaled(s, true);
}

int64_t
ptc_parse_time_ms(const ptc_str_t *s)
{
    /* Units in nginx order: y M w d h m s ms; each at most once, descending. */
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"y", 365LL * 86400000},
        {"M", 30LL * 86400000},
        {"w", 7LL * 86400000},
        {"d", 86400000},
        {"h", 3600000},
        {"ms", 1},
        {"m", 60000},
        {"s", 1000},
    };
    const u_char *p = s->data, *end = s->data + s->len;
    int64_t total = 0;
    bool any = false;
    if (s->len == 0) {
        return -1;
    }
    while (p < end) {
        while (p < end && *p == ' ') {
            p++;
        }
        if (p == end) {
            break;
        }
        const u_char *d = p;
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
        int64_t v = ptc_atoi(d, (size_t)(p - d));
        if (v < 0) {
            return -1;
        }
        int64_t mult = 1000; /* bare number means seconds */
        if (p < end && *p != ' ') {
            size_t i;
            for (i = 0; i < ptc_nelems(units); i++) {
                size_t ul = strlen(units[i].unit);
                if ((size_t)(end - p) >= ul && memcmp(p, units[i].unit, ul) == 0
                    && (p + ul == end || p[ul] == ' ' || (p[ul] >= '0' && p[ul] <= '9'))) {
                    mult = units[i].ms;
                    p += ul;
                    break;
                }
            }
            if (i == ptc_nelems(units)) {
                return -1;
            }
        }
        if (v > (INT64_MAX - total) / mult) {
            return -1;
        }
        total += v * mult;
        any = true;
    }
    return any ? total : -1;
}

u_char *
ptc_write_u64(u_char *p, uint64_t v)
{
    u_char tmp[20], *t = tmp + sizeof(tmp);
    do {
        *--t = (u_char)('0' + v % 10);
        v /= 10;
    } while (v);
    return ptc_cpymem(p, t, (size_t)(tmp + sizeof(tmp) - t));
}

u_char *
ptc_sprintf(u_char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)buf, size, fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    if (size == 0) {
        return buf;
    }
    if ((size_t)n >= size) {
        n = (int)size - 1;
    }
    return buf + n;
}

int
ptc_psprintf(ptc_pool_t *pool, ptc_str_t *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return PTC_ERROR;
    }
    u_char *p = ptc_pnalloc(pool, (size_t)n + 1);
    if (p == NULL) {
        return PTC_ERROR;
    }
    va_start(ap, fmt);
    vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    dst->data = p;
    dst->len = (size_t)n;
    return PTC_OK;
}

size_t
ptc_escape_html(u_char *dst, const u_char *src, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (src[i]) {
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '&':
            rep = "&amp;";
            break;
        case '"':
            rep = "&quot;";
            break;
        default:
            break;
        }
        if (rep) {
            size_t rl = strlen(rep);
            if (dst) {
                memcpy(dst + len, rep, rl);
            }
            len += rl;
        } else {
            if (dst) {
                dst[len] = src[i];
            }
            len++;
        }
    }
    return len;
}

ssize_t
ptc_unescape_uri(u_char *dst, const u_char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '%') {
            if (i + 2 >= n) {
                return -1;
            }
            int64_t v = ptc_hextoi(src + i + 1, 2);
            if (v < 0) {
                return -1;
            }
            dst[o++] = (u_char)v;
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    return (ssize_t)o;
}

uint32_t
ptc_hash_key(const u_char *data, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ data[i]) * 16777619u;
    }
    return h;
}

uint32_t
ptc_hash_key_lc(const u_char *data, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ ptc_tolower(data[i])) * 16777619u;
    }
    return h;
}
