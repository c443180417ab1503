/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/http/http_expires.c: parsing `expires` values and the
 * Expires / Cache-Control pair they give. */
#include <stdlib.h>
#include <time.h>

#include "modules/http/http_expires.h"
#include "test/unit/unit.h"

void suite_http_expires(void);

static const char *
parse(const char *text, bool modified, ptc_http_expires_t *e)
{
    ptc_str_t v = {strlen(text), (u_char *)text};
    return ptc_http_expires_parse(&v, modified, e);
}

TEST(expires_parse_keywords)
{
    ptc_http_expires_t e;
    ASSERT_NULL(parse("epoch", false, &e));
    ASSERT_INT_EQ(e.kind, PTC_HTTP_EXPIRES_EPOCH);
    ASSERT_NULL(parse("max", false, &e));
    ASSERT_INT_EQ(e.kind, PTC_HTTP_EXPIRES_MAX);
    ASSERT_NULL(parse("off", false, &e));
    ASSERT_INT_EQ(e.kind, PTC_HTTP_EXPIRES_OFF);
    /* after `modified` the words are times, and invalid ones */
    ASSERT_STR_EQ(parse("epoch", true, &e), "invalid value");
    ASSERT_STR_EQ(parse("Max", false, &e), "invalid value");
}

TEST(expires_parse_times)
{
    ptc_http_expires_t e;
    ASSERT_NULL(parse("1h", false, &e));
    ASSERT_INT_EQ(e.kind, PTC_HTTP_EXPIRES_ACCESS);
    ASSERT_INT_EQ(e.time, 3600);
    ASSERT_NULL(parse("+1d12h", false, &e));
    ASSERT_INT_EQ(e.time, 129600);
    ASSERT_NULL(parse("-1", false, &e));
    ASSERT_INT_EQ(e.time, -1);
    ASSERT_NULL(parse("30m", true, &e));
    ASSERT_INT_EQ(e.kind, PTC_HTTP_EXPIRES_MODIFIED);
    ASSERT_INT_EQ(e.time, 1800);
    ASSERT_NULL(parse("@15h30m", false, &e));
    ASSERT_INT_EQ(e.kind, PTC_HTTP_EXPIRES_DAILY);
    ASSERT_INT_EQ(e.time, 55800);
    ASSERT_STR_EQ(parse("@25h", false, &e), "daily time value must be less than 24 hours");
    ASSERT_STR_EQ(parse("@1h", true, &e), "daily time cannot be used with \"modified\" parameter");
    ASSERT_STR_EQ(parse("500ms", false, &e), "invalid value");
    ASSERT_STR_EQ(parse("", false, &e), "invalid value");
    ASSERT_STR_EQ(parse("-", false, &e), "invalid value");
    ASSERT_STR_EQ(parse("soon", false, &e), "invalid value");
}

TEST(expires_compute)
{
    ptc_http_expires_t e = {PTC_HTTP_EXPIRES_ACCESS, 60};
    time_t exp;
    int64_t age;
    ASSERT_TRUE(ptc_http_expires_compute(&e, 1000000, -1, &exp, &age));
    ASSERT_INT_EQ(exp, 1000060);
    ASSERT_INT_EQ(age, 60);
    e.time = 0;
    ASSERT_TRUE(ptc_http_expires_compute(&e, 1000000, 5, &exp, &age));
    ASSERT_INT_EQ(exp, 1000000);
    ASSERT_INT_EQ(age, 0);
    e.time = -5;
    ASSERT_TRUE(ptc_http_expires_compute(&e, 1000000, -1, &exp, &age));
    ASSERT_INT_EQ(exp, 999995);
    ASSERT_INT_EQ(age, -1);
    e = (ptc_http_expires_t){PTC_HTTP_EXPIRES_MODIFIED, 100};
    ASSERT_TRUE(ptc_http_expires_compute(&e, 1000000, 999950, &exp, &age));
    ASSERT_INT_EQ(exp, 1000050);
    ASSERT_INT_EQ(age, 50);
    ASSERT_TRUE(ptc_http_expires_compute(&e, 1000000, 900000, &exp, &age));
    ASSERT_INT_EQ(exp, 900100);
    ASSERT_INT_EQ(age, -1); /* already past: no-cache */
    ASSERT_TRUE(ptc_http_expires_compute(&e, 1000000, -1, &exp, &age));
    ASSERT_INT_EQ(exp, 1000100); /* no Last-Modified: from now */
    e.kind = PTC_HTTP_EXPIRES_EPOCH;
    ASSERT_TRUE(ptc_http_expires_compute(&e, 1000000, -1, &exp, &age));
    ASSERT_INT_EQ(exp, 1);
    ASSERT_INT_EQ(age, -1);
    e.kind = PTC_HTTP_EXPIRES_MAX;
    ASSERT_TRUE(ptc_http_expires_compute(&e, 1000000, -1, &exp, &age));
    ASSERT_INT_EQ(exp, 2145916555);
    ASSERT_INT_EQ(age, 315360000);
    e.kind = PTC_HTTP_EXPIRES_OFF;
    ASSERT_TRUE(!ptc_http_expires_compute(&e, 1000000, -1, &exp, &age));
}

TEST(expires_compute_daily)
{
    ptc_http_expires_t e = {PTC_HTTP_EXPIRES_DAILY, 3 * 3600 + 30 * 60};
    time_t now = 1700000000, exp;
    int64_t age;
    ASSERT_TRUE(ptc_http_expires_compute(&e, now, -1, &exp, &age));
    ASSERT_TRUE(exp > now && exp - now <= 86400 + 3600);
    ASSERT_INT_EQ(age, exp - now);
    struct tm tm;
    localtime_r(&exp, &tm);
    ASSERT_INT_EQ(tm.tm_hour, 3);
    ASSERT_INT_EQ(tm.tm_min, 30);
    ASSERT_INT_EQ(tm.tm_sec, 0);
}

void
suite_http_expires(void)
{
    RUN(expires_parse_keywords);
    RUN(expires_parse_times);
    RUN(expires_compute);
    RUN(expires_compute_daily);
}
