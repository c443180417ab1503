/* SPDX-License-Identifier: BSD-2-Clause */
/* Argument and cookie scanners, form decoding and slash merging for the
 * request filter. Everything works on counted strings in place; only the
 * caller allocates, and only when a value must be decoded. */
#include "modules/filter/filter_scan.h"

static int
scan_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = ptc_tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* The byte a form-encoded text gives at p (end bounds it), with the count
 * of input bytes it used in *used. */
static u_char
scan_form_byte(const u_char *p, const u_char *end, size_t *used)
{
    if (*p == '+') {
        *used = 1;
        return ' ';
    }
    if (*p == '%' && end - p >= 3) {
        int hi = scan_hex(p[1]), lo = scan_hex(p[2]);
        if (hi >= 0 && lo >= 0) {
            *used = 3;
            return (u_char)(hi * 16 + lo);
        }
    }
    *used = 1;
    return *p;
}

/* Does the form-encoded name [p, end) decode to `name` (caseless)? */
static bool
scan_name_is(const u_char *p, const u_char *end, const ptc_str_t *name)
{
    size_t i = 0, used;
    while (p < end) {
        u_char c = scan_form_byte(p, end, &used);
        if (i == name->len || ptc_tolower(c) != ptc_tolower(name->data[i])) {
            return false;
        }
        p += used;
        i++;
    }
    return i == name->len;
}

bool
ptc_filter_arg_next(const ptc_str_t *args, size_t *pos, const ptc_str_t *name, ptc_str_t *value)
{
    const u_char *end = args->data + args->len;
    const u_char *p = args->data + *pos;
    while (p < end) {
        const u_char *amp = memchr(p, '&', (size_t)(end - p));
        const u_char *stop = amp ? amp : end;
        const u_char *eq = memchr(p, '=', (size_t)(stop - p));
        const u_char *name_end = eq ? eq : stop;
        bool found = name_end > p && scan_name_is(p, name_end, name);
        if (found) {
            value->data = (u_char *)(eq ? eq + 1 : stop);
            value->len = (size_t)(stop - value->data);
        }
        p = amp ? amp + 1 : end;
        if (found) {
            *pos = (size_t)(p - args->data);
            return true;
        }
    }
    *pos = args->len;
    return false;
}

static bool
scan_blank(u_char c)
{
    return c == ' ' || c == '\t';
}

bool
ptc_filter_cookie_next(const ptc_str_t *header, size_t *pos, const ptc_str_t *name,
                       ptc_str_t *value)
{
    const u_char *end = header->data + header->len;
    const u_char *p = header->data + *pos;
    while (p < end) {
        const u_char *semi = memchr(p, ';', (size_t)(end - p));
        const u_char *stop = semi ? semi : end;
        const u_char *eq = memchr(p, '=', (size_t)(stop - p));
        const u_char *ns = p, *ne = eq ? eq : stop;
        while (ns < ne && scan_blank(*ns)) {
            ns++;
        }
        while (ne > ns && scan_blank(ne[-1])) {
            ne--;
        }
        bool found = eq && (size_t)(ne - ns) == name->len && name->len
                     && ptc_strncasecmp(ns, name->data, name->len) == 0;
        if (found) {
            const u_char *vs = eq + 1, *ve = stop;
            while (vs < ve && scan_blank(*vs)) {
                vs++;
            }
            while (ve > vs && scan_blank(ve[-1])) {
                ve--;
            }
            value->data = (u_char *)vs;
            value->len = (size_t)(ve - vs);
        }
        p = semi ? semi + 1 : end;
        if (found) {
            *pos = (size_t)(p - header->data);
            return true;
        }
    }
    *pos = header->len;
    return false;
}

bool
ptc_filter_form_needs_decode(const u_char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' || p[i] == '+') {
            return true;
        }
    }
    return false;
}

size_t
ptc_filter_form_decode(u_char *dst, const u_char *src, size_t n)
{
    const u_char *end = src + n;
    u_char *d = dst;
    size_t used;
    while (src < end) {
        *d++ = scan_form_byte(src, end, &used);
        src += used;
    }
    return (size_t)(d - dst);
}

bool
ptc_filter_has_double_slash(const u_char *p, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (p[i] == '/' && p[i - 1] == '/') {
            return true;
        }
    }
    return false;
}

size_t
ptc_filter_merge_slashes(u_char *dst, const u_char *src, size_t n)
{
    u_char *d = dst;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '/' && d > dst && d[-1] == '/') {
            continue;
        }
        *d++ = src[i];
    }
    return (size_t)(d - dst);
}
