/* SPDX-License-Identifier: BSD-2-Clause */
/* `expires` values and the Expires / Cache-Control pair they give, with
 * nginx's rules: a zero time means "now, max-age=0", a negative time or a
 * past expiry means no-cache, daily times count in local time. */
#include "modules/http/http_expires.h"

/* What nginx sends for `expires max`: a date before 2038 for old clients,
 * and ten years of max-age. */
#define EXPIRES_MAX_TIME    2145916555 /* Thu, 31 Dec 2037 23:55:55 GMT */
#define EXPIRES_MAX_AGE     315360000
#define EXPIRES_DAY_SECONDS 86400

const char *
ptc_http_expires_parse(const ptc_str_t *value, bool modified, ptc_http_expires_t *e)
{
    ptc_str_t v = *value;
    bool minus = false;
    e->kind = modified ? PTC_HTTP_EXPIRES_MODIFIED : PTC_HTTP_EXPIRES_ACCESS;
    if (!modified) {
        static const struct {
            const char *name;
            ptc_http_expires_kind_t kind;
        } words[] = {{"epoch", PTC_HTTP_EXPIRES_EPOCH},
                     {"max", PTC_HTTP_EXPIRES_MAX},
                     {"off", PTC_HTTP_EXPIRES_OFF}};
        for (size_t i = 0; i < ptc_nelems(words); i++) {
            if (ptc_str_eq_c(&v, words[i].name)) {
                e->kind = words[i].kind;
                e->time = 0;
                return NULL;
            }
        }
    }
    if (v.len && v.data[0] == '@') {
        if (modified) {
            return "daily time cannot be used with \"modified\" parameter";
        }
        e->kind = PTC_HTTP_EXPIRES_DAILY;
        v.data++, v.len--;
    } else if (v.len && (v.data[0] == '+' || v.data[0] == '-')) {
        minus = v.data[0] == '-';
        v.data++, v.len--;
    }
    /* whole seconds only: "ms" is not a unit here */
    int64_t ms = ptc_strnstr(v.data, v.len, "ms", 2) ? -1 : ptc_parse_time_ms(&v);
    if (ms < 0) {
        return "invalid value";
    }
    e->time = (time_t)(ms / 1000);
    if (e->kind == PTC_HTTP_EXPIRES_DAILY && e->time > EXPIRES_DAY_SECONDS) {
        return "daily time value must be less than 24 hours";
    }
    if (minus) {
        e->time = -e->time;
    }
    return NULL;
}

/* The next moment after `now` whose local time of day is `at` seconds after
 * midnight; -1 if the C library cannot tell. */
static time_t
expires_next_daily(time_t at, time_t now)
{
    struct tm tm;
    if (localtime_r(&now, &tm) == NULL) {
        return -1;
    }
    tm.tm_hour = (int)(at / 3600);
    tm.tm_min = (int)(at % 3600 / 60);
    tm.tm_sec = (int)(at % 60);
    time_t next = mktime(&tm);
    if (next == -1 || next > now) {
        return next;
    }
    tm.tm_mday++; /* mktime normalises the 32nd of a month */
    return mktime(&tm);
}

bool
ptc_http_expires_compute(const ptc_http_expires_t *e, time_t now, time_t last_modified,
                         time_t *expires, int64_t *max_age)
{
    switch (e->kind) {
    case PTC_HTTP_EXPIRES_OFF:
        return false;
    case PTC_HTTP_EXPIRES_EPOCH:
        *expires = 1;
        *max_age = -1;
        return true;
    case PTC_HTTP_EXPIRES_MAX:
        *expires = EXPIRES_MAX_TIME;
        *max_age = EXPIRES_MAX_AGE;
        return true;
    case PTC_HTTP_EXPIRES_DAILY:
        *expires = expires_next_daily(e->time, now);
        if (*expires == -1) {
            *expires = now;
        }
        *max_age = *expires - now;
        return true;
    default:
        break;
    }
    if (e->time == 0) {
        *expires = now;
        *max_age = 0;
        return true;
    }
    if (e->kind == PTC_HTTP_EXPIRES_ACCESS || last_modified == -1) {
        *expires = now + e->time;
        *max_age = e->time;
    } else {
        *expires = last_modified + e->time;
        *max_age = *expires - now;
    }
    if (e->time < 0 || *max_age < 0) {
        *max_age = -1;
    }
    return true;
}
