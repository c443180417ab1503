/* SPDX-License-Identifier: BSD-2-Clause */
/* Pure parsing for the rewrite module (see http_rewrite_parse.h). The `if`
 * grammar and its error messages follow nginx, so a config that nginx
 * rejects is rejected here with the same words. */
#include "modules/http/http_rewrite_parse.h"

#include <stdio.h>

#include "core/ptc_pool.h"

/* The arguments of `if` with the parentheses cut off the first and the
 * last one; first and last may be the same argument. */
typedef struct {
    const ptc_str_t *args;
    size_t n;
    ptc_str_t first, last;
} cond_args_t;

static ptc_str_t
cond_arg(const cond_args_t *ca, size_t i)
{
    if (i == ca->n - 1) {
        return ca->last;
    }
    return i == 0 ? ca->first : ca->args[i];
}

static int
cond_error(char *err, size_t errlen, const char *fmt, ptc_str_t s)
{
    snprintf(err, errlen, fmt, PTC_STR_ARG(s));
    return PTC_ERROR;
}

#define COND_INVALID    "invalid condition \"" PTC_STR_FMT "\""
#define COND_UNEXPECTED "unexpected \"" PTC_STR_FMT "\" in condition"

static bool
cond_is(const ptc_str_t *s, const char *word)
{
    return ptc_str_eq_c(s, word);
}

/* "$var OP operand" with OP at index cur + 1 and the operand at cur + 2. */
static int
cond_compare(ptc_http_rewrite_cond_t *cond, ptc_str_t op, ptc_str_t operand, char *err,
             size_t errlen)
{
    cond->operand = operand;
    if (cond_is(&op, "=") || cond_is(&op, "!=")) {
        cond->kind = PTC_REWRITE_COND_EQ;
        cond->negate = op.data[0] == '!';
        return PTC_OK;
    }
    if (cond_is(&op, "~") || cond_is(&op, "~*") || cond_is(&op, "!~") || cond_is(&op, "!~*")) {
        cond->kind = PTC_REWRITE_COND_REGEX;
        cond->negate = op.data[0] == '!';
        cond->caseless = op.data[op.len - 1] == '*';
        return PTC_OK;
    }
    return cond_error(err, errlen, COND_UNEXPECTED, op);
}

/* "-X path" or "!-X path" with the operator at index cur. */
static int
cond_file(const cond_args_t *ca, size_t cur, size_t last, ptc_http_rewrite_cond_t *cond, char *err,
          size_t errlen)
{
    ptc_str_t op = cond_arg(ca, cur);
    u_char x = op.data[op.len - 1];
    if (cur + 1 != last || (x != 'f' && x != 'd' && x != 'e' && x != 'x')) {
        return cond_error(err, errlen, COND_INVALID, op);
    }
    cond->kind = PTC_REWRITE_COND_FILE;
    cond->negate = op.data[0] == '!';
    cond->file_op = x;
    cond->operand = cond_arg(ca, last);
    return PTC_OK;
}

int
ptc_http_rewrite_cond_parse(const ptc_str_t *args, size_t n, ptc_http_rewrite_cond_t *cond,
                            char *err, size_t errlen)
{
    memset(cond, 0, sizeof(*cond));
    if (n == 0) {
        return cond_error(err, errlen, COND_INVALID, (ptc_str_t)ptc_string(""));
    }
    cond_args_t ca = {args, n, args[0], args[n - 1]};
    if (ca.first.len < 1 || ca.first.data[0] != '(') {
        return cond_error(err, errlen, COND_INVALID, ca.first);
    }
    size_t cur = 0;
    if (ca.first.len == 1) {
        cur = 1;
    } else {
        ca.first.data++, ca.first.len--;
        if (n == 1) {
            ca.last = ca.first;
        }
    }
    if (ca.last.len < 1 || ca.last.data[ca.last.len - 1] != ')') {
        return cond_error(err, errlen, COND_INVALID, ca.last);
    }
    size_t last = n - 1;
    if (ca.last.len == 1) {
        if (last == 0) {
            return cond_error(err, errlen, COND_INVALID, ca.last); /* "()" */
        }
        last--;
    } else {
        ca.last.len--;
        if (n == 1) {
            ca.first = ca.last;
        }
    }
    if (cur >= n) {
        return cond_error(err, errlen, COND_INVALID, ca.last);
    }
    ptc_str_t p = cond_arg(&ca, cur);
    if (p.len > 1 && p.data[0] == '$') {
        if (cur != last && cur + 2 != last) {
            return cond_error(err, errlen, COND_INVALID, p);
        }
        cond->var.data = p.data + 1;
        cond->var.len = p.len - 1;
        cond->kind = PTC_REWRITE_COND_VAR;
        if (cur == last) {
            return PTC_OK;
        }
        return cond_compare(cond, cond_arg(&ca, cur + 1), cond_arg(&ca, last), err, errlen);
    }
    if ((p.len == 2 && p.data[0] == '-') || (p.len == 3 && p.data[0] == '!' && p.data[1] == '-')) {
        return cond_file(&ca, cur, last, cond, err, errlen);
    }
    return cond_error(err, errlen, COND_INVALID, p);
}

int
ptc_http_rewrite_flag(const ptc_str_t *s)
{
    static const char *const names[] = {"last", "break", "redirect", "permanent"};
    for (size_t i = 0; i < ptc_nelems(names); i++) {
        if (ptc_str_eq_c(s, names[i])) {
            return (int)i + PTC_REWRITE_FLAG_LAST;
        }
    }
    return -1;
}

static bool
repl_starts(const ptc_str_t *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s->len > n && memcmp(s->data, prefix, n) == 0;
}

bool
ptc_http_rewrite_is_url(const ptc_str_t *s)
{
    return repl_starts(s, "http://") || repl_starts(s, "https://") || repl_starts(s, "$scheme");
}

static int
repl_push(ptc_http_rewrite_repl_t *out, const u_char *p, size_t len, unsigned capture, bool args)
{
    if (len == 0 && capture == 0) {
        return PTC_OK;
    }
    ptc_http_rewrite_piece_t *piece = ptc_array_push(&out->pieces);
    if (piece == NULL) {
        return PTC_ERROR;
    }
    piece->text.data = (u_char *)p;
    piece->text.len = capture ? 0 : len;
    piece->capture = capture;
    piece->args = args;
    return PTC_OK;
}

/* Length of a capture reference ("$N" or "${N}", N in 1..9) at p, or 0. */
static size_t
repl_capture(const u_char *p, const u_char *end, unsigned *n)
{
    if (end - p >= 2 && p[1] >= '1' && p[1] <= '9') {
        *n = (unsigned)(p[1] - '0');
        return 2;
    }
    if (end - p >= 4 && p[1] == '{' && p[2] >= '1' && p[2] <= '9' && p[3] == '}') {
        *n = (unsigned)(p[2] - '0');
        return 4;
    }
    return 0;
}

int
ptc_http_rewrite_repl_parse(ptc_pool_t *pool, const ptc_str_t *src, bool redirect,
                            ptc_http_rewrite_repl_t *out)
{
    if (ptc_array_init(&out->pieces, pool, 4, sizeof(ptc_http_rewrite_piece_t)) != PTC_OK) {
        return PTC_ERROR;
    }
    const u_char *p = src->data, *end = src->data + src->len;
    out->add_args = !(src->len && end[-1] == '?');
    end -= !out->add_args;
    out->has_query = memchr(p, '?', (size_t)(end - p)) != NULL;
    const u_char *text = p;
    bool args = false;
    while (p < end) {
        unsigned n = 0;
        size_t used = *p == '$' ? repl_capture(p, end, &n) : 0;
        bool split = *p == '?' && !redirect && !args;
        if (used == 0 && !split) {
            p++;
            continue;
        }
        if (repl_push(out, text, (size_t)(p - text), 0, args) != PTC_OK
            || (n && repl_push(out, p, 0, n, args) != PTC_OK)) {
            return PTC_ERROR;
        }
        args = args || split;
        p += split ? 1 : used;
        text = p;
    }
    return repl_push(out, text, (size_t)(p - text), 0, args);
}

static bool
escape_args_byte(u_char c)
{
    return c <= ' ' || c >= 0x7f || c == '#' || c == '%' || c == '&' || c == '+' || c == ';'
           || c == '?';
}

size_t
ptc_http_rewrite_escape_args(u_char *dst, const u_char *src, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!escape_args_byte(src[i])) {
            if (dst) {
                dst[len] = src[i];
            }
            len++;
            continue;
        }
        if (dst) {
            dst[len] = '%';
            dst[len + 1] = (u_char)hex[src[i] >> 4];
            dst[len + 2] = (u_char)hex[src[i] & 0xf];
        }
        len += 3;
    }
    return len;
}
