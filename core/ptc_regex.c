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

static pcre2_match_data *regex_md;
static pcre2_match_context *regex_mctx;
static uint32_t regex_match_limit = 100000, regex_depth_limit = 10000;

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
        /* as nginx: the rest of the pattern only when the error is not at its end */
        if (off < pattern->len && n >= 0 && (size_t)n < errlen) {
            snprintf(err + n, errlen - (size_t)n, " at \"%.*s\"", (int)(pattern->len - off),
                     pattern->data + off);
        }
        return NULL;
    }
    /* JIT is an optimisation: a pattern it cannot handle still works. */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
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

int
ptc_regex_exec(const ptc_regex_t *re, const u_char *subject, size_t len, int *ovector,
               size_t ovec_pairs)
{
    if (regex_md == NULL) {
        /* One match block per process, large enough for any sane pattern. */
        regex_md = pcre2_match_data_create(64, NULL);
        regex_mctx = pcre2_match_context_create(NULL);
        if (regex_md == NULL || regex_mctx == NULL) {
            return PTC_ERROR;
        }
        pcre2_set_match_limit(regex_mctx, regex_match_limit);
        pcre2_set_depth_limit(regex_mctx, regex_depth_limit);
    }
    int rc = pcre2_match(re->code, subject ? subject : (const u_char *)"", len, 0, 0, regex_md,
                         regex_mctx);
    if (rc == PCRE2_ERROR_NOMATCH) {
        return PTC_DECLINED;
    }
    if (rc < 0) {
        return PTC_ERROR;
    }
    if (rc == 0) {
        rc = 64;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(regex_md);
    size_t n = ptc_min((size_t)rc, ovec_pairs);
    for (size_t i = 0; i < n; i++) {
        ovector[2 * i] = ov[2 * i] == PCRE2_UNSET ? -1 : (int)ov[2 * i];
        ovector[2 * i + 1] = ov[2 * i + 1] == PCRE2_UNSET ? -1 : (int)ov[2 * i + 1];
    }
    return (int)n;
}
