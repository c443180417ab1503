/* SPDX-License-Identifier: BSD-2-Clause */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/ptc_regex.h"

#include <pcre2.h>
#include <stdio.h>

#include "core/ptc_pool.h"

struct ptc_regex_s {
    pcre2_code *code;
    unsigned captures;
    ptc_str_t pattern;
    void *data; /* ptc_regex_set_data() */
};

/* Per-process match state, made on the first match (after fork). */
static pcre2_match_data *regex_md;
static pcre2_match_context *regex_mctx;
static pcre2_jit_stack *regex_jit_stack;
static uint32_t regex_match_limit = PTC_REGEX_MATCH_LIMIT;
static uint32_t regex_depth_limit = PTC_REGEX_DEPTH_LIMIT;
static int regex_last_error; /* PCRE2 code of the last failed match */

/* PCRE2's default JIT stack (32 KiB on the machine stack) runs out on a
 * repeated group over a couple of KB ("(a|b)*c" on a 2000-byte URI); a
 * private one that may grow to 1 MiB covers any header-sized subject. */
#define REGEX_JIT_STACK_START (32 * 1024)
#define REGEX_JIT_STACK_MAX   (1024 * 1024)

static void
regex_cleanup(void *data)
{
    ptc_regex_t *re = data;
    pcre2_code_free(re->code);
}

ptc_regex_t *
ptc_regex_compile(ptc_pool_t *pool, const ptc_str_t *pattern, unsigned flags, char *err,
                  size_t errlen)
{
    int errcode;
    PCRE2_SIZE erroff;
    uint32_t opts = (flags & PTC_REGEX_CASELESS) ? PCRE2_CASELESS : 0;
    pcre2_code *code = pcre2_compile(pattern->data, pattern->len, opts, &errcode, &erroff, NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        size_t off = ptc_min(erroff, pattern->len);
        int n = snprintf(err, errlen, "pcre2_compile() failed: %s in \"%.*s\"", (char *)msg,
                         PTC_STR_ARG(*pattern));
        /* as nginx: the rest of the pattern only when the error is not at
         * its end; then the offset, which nginx does not give */
        if (off < pattern->len && n >= 0 && (size_t)n < errlen) {
            n += snprintf(err + n, errlen - (size_t)n, " at \"%.*s\"", (int)(pattern->len - off),
                          pattern->data + off);
        }
        if (n >= 0 && (size_t)n < errlen) {
            snprintf(err + n, errlen - (size_t)n, " (offset %zu)", off);
        }
        return NULL;
    }
    /* JIT is an optimisation: a pattern it cannot handle still works. */
    (void)pcre2_jit_compile(code, (flags & PTC_REGEX_PARTIAL)
                                      ? PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD
                                      : PCRE2_JIT_COMPLETE);
    ptc_pool_cleanup_t *cln = ptc_pool_cleanup_add(pool, 0);
    ptc_regex_t *re = ptc_palloc(pool, sizeof(*re));
    if (cln == NULL || re == NULL) {
        pcre2_code_free(code);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    re->code = code;
    re->pattern = *pattern;
    re->data = NULL;
    uint32_t n = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n);
    re->captures = n;
    cln->handler = regex_cleanup;
    cln->data = re;
    return re;
}

const ptc_str_t *
ptc_regex_pattern(const ptc_regex_t *re)
{
    return &re->pattern;
}

unsigned
ptc_regex_captures(const ptc_regex_t *re)
{
    return re->captures;
}

size_t
ptc_regex_names(const ptc_regex_t *re, ptc_str_t *names, unsigned *indexes, size_t max)
{
    uint32_t count = 0, size = 0;
    PCRE2_SPTR table;
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &count);
    if (count == 0) {
        return 0;
    }
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &size);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
    for (uint32_t i = 0; i < count && i < max; i++) {
        const u_char *e = table + (size_t)i * size;
        indexes[i] = ((unsigned)e[0] << 8) | e[1];
        names[i].data = (u_char *)e + 2;
        names[i].len = strlen((const char *)e + 2);
    }
    return count;
}

void
ptc_regex_set_data(ptc_regex_t *re, void *data)
{
    re->data = data;
}

void *
ptc_regex_data(const ptc_regex_t *re)
{
    return re->data;
}

void
ptc_regex_set_limits(uint32_t match_limit, uint32_t depth_limit)
{
    regex_match_limit = match_limit;
    regex_depth_limit = depth_limit;
    if (regex_mctx) {
        pcre2_set_match_limit(regex_mctx, regex_match_limit);
        pcre2_set_depth_limit(regex_mctx, regex_depth_limit);
    }
}

/* Create the match data, context and JIT stack of this process. */
static int
regex_init_match(void)
{
    /* One match block per process, large enough for any sane pattern. */
    regex_md = pcre2_match_data_create(64, NULL);
    regex_mctx = pcre2_match_context_create(NULL);
    if (regex_md == NULL || regex_mctx == NULL) {
        return PTC_ERROR;
    }
    regex_jit_stack = pcre2_jit_stack_create(REGEX_JIT_STACK_START, REGEX_JIT_STACK_MAX, NULL);
    if (regex_jit_stack) {
        pcre2_jit_stack_assign(regex_mctx, NULL, regex_jit_stack);
    }
    pcre2_set_match_limit(regex_mctx, regex_match_limit);
    pcre2_set_depth_limit(regex_mctx, regex_depth_limit);
    return PTC_OK;
}

int
ptc_regex_exec(const ptc_regex_t *re, const u_char *subject, size_t len, int *ovector,
               size_t ovec_pairs)
{
    return ptc_regex_exec_at(re, subject, len, 0, 0, ovector, ovec_pairs);
}

size_t
ptc_regex_max_lookbehind(const ptc_regex_t *re)
{
    uint32_t n = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_MAXLOOKBEHIND, &n);
    return n;
}

static uint32_t
regex_exec_options(unsigned opts)
{
    uint32_t o = 0;
    if (opts & PTC_REGEX_EXEC_PARTIAL) {
        o |= PCRE2_PARTIAL_HARD;
    }
    if (opts & PTC_REGEX_EXEC_NOTBOL) {
        o |= PCRE2_NOTBOL;
    }
    if (opts & PTC_REGEX_EXEC_NOTEMPTY) {
        o |= PCRE2_NOTEMPTY;
    }
    return o;
}

int
ptc_regex_exec_at(const ptc_regex_t *re, const u_char *subject, size_t len, size_t start,
                  unsigned opts, int *ovector, size_t ovec_pairs)
{
    if (regex_mctx == NULL && regex_init_match() != PTC_OK) {
        regex_last_error = PCRE2_ERROR_NOMEMORY;
        return PTC_ERROR;
    }
    int rc = pcre2_match(re->code, subject ? subject : (const u_char *)"", len, start,
                         regex_exec_options(opts), regex_md, regex_mctx);
    if (rc == PCRE2_ERROR_NOMATCH) {
        return PTC_DECLINED;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(regex_md);
    if (rc == PCRE2_ERROR_PARTIAL) {
        if (ovec_pairs) {
            ovector[0] = (int)ov[0];
            ovector[1] = (int)ov[1];
        }
        return PTC_AGAIN;
    }
    if (rc < 0) {
        regex_last_error = rc;
        return PTC_ERROR;
    }
    if (rc == 0) {
        rc = 64;
    }
    size_t n = ptc_min((size_t)rc, ovec_pairs);
    for (size_t i = 0; i < n; i++) {
        ovector[2 * i] = ov[2 * i] == PCRE2_UNSET ? -1 : (int)ov[2 * i];
        ovector[2 * i + 1] = ov[2 * i + 1] == PCRE2_UNSET ? -1 : (int)ov[2 * i + 1];
    }
    return (int)n;
}

/* Copy at most `max` bytes of s into dst (room for 4 * max + 1), printable
 * ASCII as is and anything else (quotes too) as \xHH, so a log line stays
 * one line. */
static void
regex_escape(char *dst, const u_char *s, size_t len, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len && i < max; i++) {
        u_char ch = s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
            *dst++ = (char)ch;
        } else {
            *dst++ = '\\', *dst++ = 'x', *dst++ = hex[ch >> 4], *dst++ = hex[ch & 0xf];
        }
    }
    *dst = '\0';
}

void
ptc_regex_exec_error(const ptc_regex_t *re, const u_char *subject, size_t len, char *buf,
                     size_t buflen)
{
    enum { MAX_SUBJECT = 256 };
    PCRE2_UCHAR msg[128];
    char subj[4 * MAX_SUBJECT + 1];
    if (pcre2_get_error_message(regex_last_error, msg, sizeof(msg)) < 0) {
        snprintf((char *)msg, sizeof(msg), "error %d", regex_last_error);
    }
    regex_escape(subj, subject ? subject : (const u_char *)"", len, MAX_SUBJECT);
    snprintf(buf, buflen, "pcre2_match() failed: %s on \"%s%s\" using \"%.*s\"", (char *)msg, subj,
             len > MAX_SUBJECT ? "..." : "", PTC_STR_ARG(re->pattern));
}
