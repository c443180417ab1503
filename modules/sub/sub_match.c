/* SPDX-License-Identifier: BSD-2-Clause */
/* The streaming matcher (see sub_match.h). Each stage copies what it is fed
 * into its own fixed buffer, decides as much as it can, passes the decided
 * bytes on and keeps the undecided tail at the start of the buffer. */
#include "modules/sub/sub_match.h"

#include "core/ptc_pool.h"

#define SUB_CHUNK      4096 /* bytes the string stage scans per round */
#define SUB_MAX_GROUPS 64   /* capture pairs the regex wrapper reports at most */

enum { STAGE_STRINGS, STAGE_REGEX };

typedef struct {
    int kind;
    u_char *buf; /* [0, ctx) passed text kept for lookbehind; [ctx, n) undecided */
    size_t cap;
    size_t n;
    size_t ctx;
    /* strings */
    const ptc_sub_pair_t *pairs;
    size_t npairs;
    bool once;
    bool *used;    /* once: pairs already replaced */
    size_t active; /* pairs still to look for */
    size_t maxlen; /* longest search string */
    u_char *first; /* [256]: bytes an active search string starts with (both cases) */
    /* regex */
    const ptc_sub_rule_t *rule;
    size_t keep;   /* lookbehind context kept before the undecided text */
    bool mid_text; /* buf[0] is not the start of the text (NOTBOL) */
    int *ov;
    size_t ovn;
} sub_stage_t;

struct ptc_sub_s {
    sub_stage_t *stages;
    size_t nstages;
    ptc_sub_emit_fn emit;
    void *data;
    unsigned regex_errors;
};

static int stage_feed(ptc_sub_t *s, size_t i, const u_char *p, size_t n);

/* Pass n bytes from stage i to the next stage (or out of the matcher). */
static int
sub_pass(ptc_sub_t *s, size_t i, const u_char *p, size_t n)
{
    if (n == 0) {
        return PTC_OK;
    }
    if (i + 1 == s->nstages) {
        return s->emit(s->data, p, n);
    }
    return stage_feed(s, i + 1, p, n);
}

/* ---- strings ---- */

static void
str_first_table(sub_stage_t *st)
{
    memset(st->first, 0, 256);
    st->active = 0;
    for (size_t i = 0; i < st->npairs; i++) {
        if (st->used[i]) {
            continue;
        }
        u_char c = st->pairs[i].search.data[0];
        st->first[c] = 1;
        st->first[ptc_toupper(c)] = 1;
        st->active++;
    }
}

static bool
str_caseeq(const u_char *text, const u_char *lower, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (ptc_tolower(text[k]) != lower[k]) {
            return false;
        }
    }
    return true;
}

/* At buf[p]: the pair that matches there (>= 0), -1 when none can, or -2
 * when an earlier-listed pair might still match once more text comes. */
static int
str_match_at(const sub_stage_t *st, size_t p, bool final)
{
    size_t avail = st->n - p;
    bool pending = false;
    for (size_t i = 0; i < st->npairs; i++) {
        const ptc_str_t *srch = &st->pairs[i].search;
        if (st->used[i] || !str_caseeq(st->buf + p, srch->data, ptc_min(srch->len, avail))) {
            continue;
        }
        if (srch->len <= avail) {
            return pending ? -2 : (int)i;
        }
        pending |= !final;
    }
    return pending ? -2 : -1;
}

/* Decide what can be decided in buf[0, n); returns where the undecided
 * tail starts (everything before it was passed on), or -1 on error. */
static ssize_t
str_scan(ptc_sub_t *s, size_t si, bool final)
{
    sub_stage_t *st = &s->stages[si];
    size_t from = 0, p = 0;
    while (p < st->n && st->active) {
        if (!st->first[st->buf[p]]) {
            p++;
            continue;
        }
        int hit = str_match_at(st, p, final);
        if (hit == -2) {
            break;
        }
        if (hit < 0) {
            p++;
            continue;
        }
        const ptc_sub_pair_t *pair = &st->pairs[hit];
        if (sub_pass(s, si, st->buf + from, p - from) != PTC_OK
            || sub_pass(s, si, pair->replace.data, pair->replace.len) != PTC_OK) {
            return -1;
        }
        p += pair->search.len;
        from = p;
        if (st->once) {
            st->used[hit] = true;
            str_first_table(st);
        }
    }
    if (p < st->n && !st->active) {
        p = st->n; /* nothing left to look for */
    }
    return sub_pass(s, si, st->buf + from, p - from) == PTC_OK ? (ssize_t)p : -1;
}

static int
str_run(ptc_sub_t *s, size_t si, const u_char *p, size_t n, bool final)
{
    sub_stage_t *st = &s->stages[si];
    do {
        if (st->active == 0 && st->n == 0) {
            return sub_pass(s, si, p, n); /* every pair was used: pass through */
        }
        size_t take = ptc_min(st->cap - st->n, n);
        if (take) {
            memcpy(st->buf + st->n, p, take);
        }
        st->n += take;
        p += take;
        n -= take;
        ssize_t done = str_scan(s, si, final && n == 0);
        if (done < 0) {
            return PTC_ERROR;
        }
        st->n -= (size_t)done;
        memmove(st->buf, st->buf + done, st->n);
    } while (n);
    return PTC_OK;
}

/* ---- regex ---- */

static int
re_replace(ptc_sub_t *s, size_t si, int groups)
{
    sub_stage_t *st = &s->stages[si];
    const ptc_sub_rule_t *rule = st->rule;
    for (size_t k = 0; k < rule->npieces; k++) {
        const ptc_sub_piece_t *pc = &rule->pieces[k];
        if (pc->group < 0) {
            if (sub_pass(s, si, pc->text.data, pc->text.len) != PTC_OK) {
                return PTC_ERROR;
            }
            continue;
        }
        int g = pc->group;
        if (g >= groups || st->ov[2 * g] < 0 || st->ov[2 * g + 1] < st->ov[2 * g]) {
            continue; /* the group did not take part in the match */
        }
        if (sub_pass(s, si, st->buf + st->ov[2 * g], (size_t)(st->ov[2 * g + 1] - st->ov[2 * g]))
            != PTC_OK) {
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

/* Decide what can be decided in buf[ctx, n); returns where the undecided
 * text starts now, or -1 on error. */
static ssize_t
re_scan(ptc_sub_t *s, size_t si, bool final)
{
    sub_stage_t *st = &s->stages[si];
    size_t from = st->ctx;
    unsigned opts = PTC_REGEX_EXEC_NOTEMPTY | (st->mid_text ? PTC_REGEX_EXEC_NOTBOL : 0)
                    | (final ? 0 : PTC_REGEX_EXEC_PARTIAL);
    while (from < st->n) {
        int rc = ptc_regex_exec_at(st->rule->re, st->buf, st->n, from, opts, st->ov, st->ovn);
        if (rc == PTC_AGAIN) {
            size_t at = ptc_max((size_t)st->ov[0], from);
            if (sub_pass(s, si, st->buf + from, at - from) != PTC_OK) {
                return -1;
            }
            from = at;
            if (st->n - from < st->rule->window) {
                break; /* wait for more text */
            }
            /* undecided over a whole window: give its first byte up */
            if (sub_pass(s, si, st->buf + from, 1) != PTC_OK) {
                return -1;
            }
            from++;
            continue;
        }
        if (rc < 1) {
            s->regex_errors += rc == PTC_ERROR;
            if (sub_pass(s, si, st->buf + from, st->n - from) != PTC_OK) {
                return -1;
            }
            return (ssize_t)st->n;
        }
        size_t start = ptc_max((size_t)st->ov[0], from), end = (size_t)st->ov[1];
        if (end <= start) {
            /* no progress (\K can do that): take the byte as text */
            end = ptc_min(start + 1, st->n);
            if (sub_pass(s, si, st->buf + from, end - from) != PTC_OK) {
                return -1;
            }
            from = end;
            continue;
        }
        if (sub_pass(s, si, st->buf + from, start - from) != PTC_OK
            || re_replace(s, si, rc) != PTC_OK) {
            return -1;
        }
        from = end;
    }
    return (ssize_t)from;
}

/* Drop passed text but `keep` bytes of it (lookbehind context). */
static void
re_compact(sub_stage_t *st, size_t from)
{
    size_t ctx = ptc_min(from, st->keep);
    size_t drop = from - ctx;
    if (drop == 0) {
        st->ctx = ctx;
        return;
    }
    memmove(st->buf, st->buf + drop, st->n - drop);
    st->n -= drop;
    st->ctx = ctx;
    st->mid_text = true;
}

static int
re_run(ptc_sub_t *s, size_t si, const u_char *p, size_t n, bool final)
{
    sub_stage_t *st = &s->stages[si];
    do {
        /* the undecided text never exceeds the window */
        size_t take = ptc_min(st->ctx + st->rule->window - st->n, n);
        if (take) {
            memcpy(st->buf + st->n, p, take);
        }
        st->n += take;
        p += take;
        n -= take;
        ssize_t from = re_scan(s, si, final && n == 0);
        if (from < 0) {
            return PTC_ERROR;
        }
        re_compact(st, (size_t)from);
    } while (n);
    return PTC_OK;
}

/* ---- the pipeline ---- */

static int
stage_run(ptc_sub_t *s, size_t i, const u_char *p, size_t n, bool final)
{
    if (s->stages[i].kind == STAGE_STRINGS) {
        return str_run(s, i, p, n, final);
    }
    return re_run(s, i, p, n, final);
}

static int
stage_feed(ptc_sub_t *s, size_t i, const u_char *p, size_t n)
{
    return stage_run(s, i, p, n, false);
}

static int
str_init(ptc_pool_t *pool, sub_stage_t *st, const ptc_sub_pair_t *pairs, size_t npairs, bool once)
{
    st->kind = STAGE_STRINGS;
    st->pairs = pairs;
    st->npairs = npairs;
    st->once = once;
    for (size_t i = 0; i < npairs; i++) {
        st->maxlen = ptc_max(st->maxlen, pairs[i].search.len);
    }
    st->cap = ptc_max(st->maxlen, 1) - 1 + SUB_CHUNK;
    st->buf = ptc_pnalloc(pool, st->cap);
    st->used = ptc_pcalloc(pool, npairs * sizeof(bool));
    st->first = ptc_pnalloc(pool, 256);
    if (st->buf == NULL || st->used == NULL || st->first == NULL) {
        return PTC_ERROR;
    }
    str_first_table(st);
    return PTC_OK;
}

static int
re_init(ptc_pool_t *pool, sub_stage_t *st, const ptc_sub_rule_t *rule)
{
    st->kind = STAGE_REGEX;
    st->rule = rule;
    /* at least one byte: a multiline ^ and \b look at the previous one */
    st->keep = ptc_max(ptc_regex_max_lookbehind(rule->re), 1);
    st->cap = st->keep + rule->window;
    st->ovn = ptc_min(ptc_regex_captures(rule->re) + 1, SUB_MAX_GROUPS);
    st->buf = ptc_pnalloc(pool, st->cap);
    st->ov = ptc_palloc(pool, 2 * st->ovn * sizeof(int));
    return st->buf && st->ov ? PTC_OK : PTC_ERROR;
}

ptc_sub_t *
ptc_sub_create(ptc_pool_t *pool, const ptc_sub_pair_t *pairs, size_t npairs, bool once,
               const ptc_sub_rule_t *rules, size_t nrules, ptc_sub_emit_fn emit, void *data)
{
    ptc_sub_t *s = ptc_pcalloc(pool, sizeof(*s));
    size_t n = (npairs ? 1 : 0) + nrules;
    if (s == NULL || n == 0 || (s->stages = ptc_pcalloc(pool, n * sizeof(sub_stage_t))) == NULL) {
        return NULL;
    }
    s->emit = emit;
    s->data = data;
    if (npairs && str_init(pool, &s->stages[s->nstages++], pairs, npairs, once) != PTC_OK) {
        return NULL;
    }
    for (size_t i = 0; i < nrules; i++) {
        if (re_init(pool, &s->stages[s->nstages++], &rules[i]) != PTC_OK) {
            return NULL;
        }
    }
    return s;
}

int
ptc_sub_feed(ptc_sub_t *s, const u_char *p, size_t n)
{
    return n ? stage_feed(s, 0, p, n) : PTC_OK;
}

int
ptc_sub_finish(ptc_sub_t *s)
{
    /* each stage's last output is fed to the next before that one ends */
    for (size_t i = 0; i < s->nstages; i++) {
        if (stage_run(s, i, NULL, 0, true) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

unsigned
ptc_sub_regex_errors(const ptc_sub_t *s)
{
    return s->regex_errors;
}
