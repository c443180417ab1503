/* SPDX-License-Identifier: BSD-2-Clause */
/* Length-counted strings. Data parsed from the network is never assumed to
 * be NUL-terminated; print with PTC_STR_FMT / PTC_STR_ARG. */
#ifndef PTC_CORE_STR_H
#define PTC_CORE_STR_H

#include <string.h>

#include "core/ptc_types.h"

typedef struct {
    size_t len;
    u_char *data;
} ptc_str_t;

#define ptc_string(s)                                                                              \
    {                                                                                              \
        sizeof(s) - 1, (u_char *)(s)                                                               \
    }
#define ptc_null_string                                                                            \
    {                                                                                              \
        0, NULL                                                                                    \
    }
#define ptc_str_set(str, text) ((str)->len = sizeof(text) - 1, (str)->data = (u_char *)(text))
#define PTC_STR_FMT            "%.*s"
#define PTC_STR_ARG(s)         (int)(s).len, (const char *)(s).data

#define ptc_tolower(c)          ((u_char)(((c) >= 'A' && (c) <= 'Z') ? ((c) | 0x20) : (c)))
#define ptc_toupper(c)          ((u_char)(((c) >= 'a' && (c) <= 'z') ? ((c) & ~0x20) : (c)))
#define ptc_cpymem(dst, src, n) (((u_char *)memcpy(dst, src, n)) + (n))

bool ptc_str_eq(const ptc_str_t *a, const ptc_str_t *b);
bool ptc_str_caseeq(const ptc_str_t *a, const ptc_str_t *b);
/* Case-insensitive compare of n bytes: <0, 0, >0 as strncasecmp. */
int ptc_strncasecmp(const u_char *a, const u_char *b, size_t n);

/* Compare with a C string (inline: with a literal, the length is known at
 * compile time and most calls end at the length check). */
static inline bool
ptc_str_eq_c(const ptc_str_t *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && (n == 0 || memcmp(a->data, s, n) == 0);
}

static inline bool
ptc_str_caseeq_c(const ptc_str_t *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && ptc_strncasecmp(a->data, (const u_char *)s, n) == 0;
}
void ptc_strlow(u_char *dst, const u_char *src, size_t n);
/* First occurrence of needle in haystack (both counted); NULL if none. */
u_char *ptc_strnstr(const u_char *h, size_t hlen, const char *needle, size_t nlen);

/* Copy into the pool; the copy is NUL-terminated (len excludes the NUL).
 * NULL / PTC_ERROR on allocation failure. */
u_char *ptc_pstrdup(ptc_pool_t *pool, const ptc_str_t *src);
int ptc_str_dup(ptc_pool_t *pool, ptc_str_t *dst, const u_char *src, size_t len);
/* Make a NUL-terminated C string from a counted one. */
char *ptc_str_cstr(ptc_pool_t *pool, const ptc_str_t *src);

/* Decimal non-negative integer: value, or -1 on syntax error or overflow. */
int64_t ptc_atoi(const u_char *s, size_t n);
/* Hex non-negative integer: value or -1. */
int64_t ptc_hextoi(const u_char *s, size_t n);
/* Size with optional k/K/m/M/g/G suffix: bytes, or -1. */
int64_t ptc_parse_size(const ptc_str_t *s);
/* Offset with optional k/m/g suffix: bytes, or -1. */
int64_t ptc_parse_offset(const ptc_str_t *s);
/* nginx time syntax ("30s", "1m 30s", "500ms", "1h", "2d", plain number =
 * seconds): milliseconds, or -1 on error. */
int64_t ptc_parse_time_ms(const ptc_str_t *s);

/* Write v in decimal at p (at most 20 bytes, no NUL); returns the end. */
u_char *ptc_write_u64(u_char *p, uint64_t v);

/* Format into buf (at most size bytes incl. NUL, like snprintf); returns
 * pointer just past the written bytes (not counting the NUL). */
u_char *ptc_sprintf(u_char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Allocate a formatted string from the pool. */
int ptc_psprintf(ptc_pool_t *pool, ptc_str_t *dst, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Escape for HTML (&, <, >, "): returns bytes written to dst when dst is
 * non-NULL, else the escaped length. */
size_t ptc_escape_html(u_char *dst, const u_char *src, size_t n);
/* Percent-decode in place semantics: writes to dst (may equal src); returns
 * bytes written, or -1 on a malformed escape. */
ssize_t ptc_unescape_uri(u_char *dst, const u_char *src, size_t n);

/* Hash used by ptc_hash_t (case-sensitive / lowercasing) */
uint32_t ptc_hash_key(const u_char *data, size_t len);
uint32_t ptc_hash_key_lc(const u_char *data, size_t len);

#endif
