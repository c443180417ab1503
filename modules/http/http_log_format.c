/* SPDX-License-Identifier: BSD-2-Clause */
/* log_format compilation, value escaping and line rendering. Pure: no I/O,
 * no request; the log module evaluates variables and hands over values. */
#include "modules/http/http_log_format.h"

#include "core/ptc_pool.h"

static const char log_hex_upper[] = "0123456789ABCDEF";
static const char log_hex_lower[] = "0123456789abcdef";

int
ptc_http_log_escape_parse(const ptc_str_t *value)
{
    if (ptc_str_eq_c(value, "default")) {
        return PTC_HTTP_LOG_ESCAPE_DEFAULT;
    }
    if (ptc_str_eq_c(value, "json")) {
        return PTC_HTTP_LOG_ESCAPE_JSON;
    }
    if (ptc_str_eq_c(value, "none")) {
        return PTC_HTTP_LOG_ESCAPE_NONE;
    }
    return -1;
}

int
ptc_http_log_format_init(ptc_http_log_format_t *fmt, ptc_pool_t *pool, const ptc_str_t *name,
                         int escape)
{
    fmt->name = *name;
    fmt->escape = escape;
    return ptc_array_init(&fmt->parts, pool, 8, sizeof(ptc_http_log_part_t));
}

/* ---- compiling ---- */

static bool
log_is_name_char(u_char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
           || ch == '_';
}

/* Append literal bytes, merging with a literal that ends the format. */
static int
log_add_literal(ptc_http_log_format_t *fmt, ptc_pool_t *pool, const u_char *p, size_t n)
{
    ptc_http_log_part_t *last = NULL;
    if (fmt->parts.nelts > 0) {
        last = ptc_array_at(&fmt->parts, ptc_http_log_part_t, fmt->parts.nelts - 1);
    }
    size_t old = (last && !last->is_var) ? last->text.len : 0;
    u_char *data = ptc_pnalloc(pool, old + n);
    if (data == NULL) {
        return PTC_ERROR;
    }
    if (old) {
        memcpy(data, last->text.data, old);
    } else {
        last = ptc_array_push(&fmt->parts);
        if (last == NULL) {
            return PTC_ERROR;
        }
        last->index = -1;
        last->is_var = false;
    }
    memcpy(data + old, p, n);
    last->text.data = data;
    last->text.len = old + n;
    return PTC_OK;
}

static int
log_add_var(ptc_http_log_format_t *fmt, const u_char *name, size_t n)
{
    ptc_http_log_part_t *part = ptc_array_push(&fmt->parts);
    if (part == NULL) {
        return PTC_ERROR;
    }
    part->text.data = (u_char *)name;
    part->text.len = n;
    part->index = -1;
    part->is_var = true;
    return PTC_OK;
}

/* Parse the reference starting at the '$' at *pp; on success store the name
 * and move *pp past it. Returns NULL or an error message. */
static const char *
log_parse_var(ptc_pool_t *pool, const ptc_str_t *arg, const u_char **pp, ptc_str_t *name)
{
    const u_char *p = *pp + 1, *end = arg->data + arg->len;
    /* "${" needs at least one more byte; a lone "${" is just invalid */
    bool bracket = p + 1 < end && *p == '{';
    ptc_str_t err;
    p += bracket;
    name->data = (u_char *)p;
    while (p < end && log_is_name_char(*p)) {
        p++;
    }
    name->len = (size_t)(p - name->data);
    if (bracket && (p == end || *p != '}')) {
        if (ptc_psprintf(pool, &err,
                         "the closing bracket in \"" PTC_STR_FMT "\" variable is missing",
                         PTC_STR_ARG(*name))
            != PTC_OK) {
            return "out of memory";
        }
        return (const char *)err.data;
    }
    if (name->len == 0) {
        if (ptc_psprintf(pool, &err, "invalid parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*arg))
            != PTC_OK) {
            return "out of memory";
        }
        return (const char *)err.data;
    }
    *pp = p + bracket;
    return NULL;
}

const char *
ptc_http_log_format_add(ptc_http_log_format_t *fmt, ptc_pool_t *pool, const ptc_str_t *arg)
{
    const u_char *p = arg->data, *end = arg->data + arg->len;
    while (p < end) {
        const u_char *lit = p;
        while (p < end && *p != '$') {
            p++;
        }
        if (p > lit && log_add_literal(fmt, pool, lit, (size_t)(p - lit)) != PTC_OK) {
            return "out of memory";
        }
        if (p == end) {
            break;
        }
        ptc_str_t name;
        const char *err = log_parse_var(pool, arg, &p, &name);
        if (err) {
            return err;
        }
        /* the name must outlive a temporary argument: copy it */
        u_char *copy = ptc_pnalloc(pool, name.len);
        if (copy == NULL || log_add_var(fmt, copy, name.len) != PTC_OK) {
            return "out of memory";
        }
        memcpy(copy, name.data, name.len);
    }
    return NULL;
}

/* ---- escaping ---- */

/* Bytes the escaped form of ch takes in mode (1 when it is kept). */
static size_t
log_escape_width(int mode, u_char ch)
{
    if (mode == PTC_HTTP_LOG_ESCAPE_NONE) {
        return 1;
    }
    if (mode == PTC_HTTP_LOG_ESCAPE_DEFAULT) {
        return (ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x7f) ? 4 : 1;
    }
    switch (ch) {
    case '"':
    case '\\':
    case '\n':
    case '\r':
    case '\t':
    case '\b':
    case '\f':
        return 2;
    default:
        return ch < 0x20 ? 6 : 1;
    }
}

/* The letter after '\' for JSON's short escapes (RFC 8259 §7). */
static u_char
log_json_short(u_char ch)
{
    switch (ch) {
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    default:
        return ch; /* '"' and '\\' stand for themselves */
    }
}

static u_char *
log_escape_byte(int mode, u_char *d, u_char ch, size_t width)
{
    if (width == 1) {
        *d++ = ch;
    } else if (mode == PTC_HTTP_LOG_ESCAPE_DEFAULT) {
        *d++ = '\\';
        *d++ = 'x';
        *d++ = (u_char)log_hex_upper[ch >> 4];
        *d++ = (u_char)log_hex_upper[ch & 0xf];
    } else if (width == 2) {
        *d++ = '\\';
        *d++ = log_json_short(ch);
    } else {
        d = ptc_cpymem(d, "\\u00", 4);
        *d++ = (u_char)log_hex_lower[ch >> 4];
        *d++ = (u_char)log_hex_lower[ch & 0xf];
    }
    return d;
}

size_t
ptc_http_log_escape(int mode, u_char *dst, const u_char *src, size_t n)
{
    size_t len = 0;
    if (dst == NULL) {
        for (size_t i = 0; i < n; i++) {
            len += log_escape_width(mode, src[i]);
        }
        return len;
    }
    u_char *d = dst;
    for (size_t i = 0; i < n; i++) {
        d = log_escape_byte(mode, d, src[i], log_escape_width(mode, src[i]));
    }
    return (size_t)(d - dst);
}

/* ---- rendering ---- */

size_t
ptc_http_log_line_len(const ptc_http_log_format_t *fmt, const ptc_str_t *values)
{
    const ptc_http_log_part_t *parts = fmt->parts.elts;
    size_t len = 1; /* '\n' */
    for (size_t i = 0; i < fmt->parts.nelts; i++) {
        if (!parts[i].is_var) {
            len += parts[i].text.len;
        } else if (values[i].len > 0) {
            len += ptc_http_log_escape(fmt->escape, NULL, values[i].data, values[i].len);
        } else if (values[i].data == NULL) {
            len += fmt->escape != PTC_HTTP_LOG_ESCAPE_JSON; /* "-" */
        }
    }
    return len;
}

u_char *
ptc_http_log_line_write(const ptc_http_log_format_t *fmt, const ptc_str_t *values, u_char *dst)
{
    const ptc_http_log_part_t *parts = fmt->parts.elts;
    u_char *d = dst;
    for (size_t i = 0; i < fmt->parts.nelts; i++) {
        if (!parts[i].is_var) {
            d = ptc_cpymem(d, parts[i].text.data, parts[i].text.len);
        } else if (values[i].len > 0) {
            d += ptc_http_log_escape(fmt->escape, d, values[i].data, values[i].len);
        } else if (values[i].data == NULL && fmt->escape != PTC_HTTP_LOG_ESCAPE_JSON) {
            *d++ = '-';
        }
    }
    *d++ = '\n';
    return d;
}
