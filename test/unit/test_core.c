/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of core/ptc_pool.c, ptc_str.c and ptc_array.c. */
#include "core/ptc_array.h"
#include "core/ptc_pool.h"
#include "core/ptc_str.h"
#include "test/unit/unit.h"

void suite_pool(void);
void suite_str(void);
void suite_array(void);

static int cleanup_calls;
static void
count_cleanup(void *data)
{
    cleanup_calls += *(int *)data;
}

TEST(pool_alloc_small_and_large)
{
    ptc_pool_t *p = ptc_pool_create(1024);
    ASSERT_NOT_NULL(p);
    for (int i = 0; i < 1000; i++) {
        u_char *m = ptc_palloc(p, (size_t)(i % 50) + 1);
        ASSERT_NOT_NULL(m);
        ASSERT_INT_EQ((uintptr_t)m % sizeof(void *), 0);
        memset(m, 0xAA, (size_t)(i % 50) + 1);
    }
    u_char *big = ptc_palloc(p, 100000);
    ASSERT_NOT_NULL(big);
    memset(big, 1, 100000);
    ASSERT_INT_EQ(ptc_pfree(p, big), PTC_OK);
    ASSERT_INT_EQ(ptc_pfree(p, big + 1), PTC_DECLINED);
    ptc_pool_destroy(p);
}

static void
other_cleanup(void *data)
{
}

TEST(pool_cleanup_find_by_handler)
{
    ptc_pool_t *p = ptc_pool_create(1024);
    ASSERT_NOT_NULL(p);
    ASSERT_NULL(ptc_pool_cleanup_find(p, other_cleanup));
    ptc_pool_cleanup_t *a = ptc_pool_cleanup_add(p, sizeof(int));
    ptc_pool_cleanup_t *b = ptc_pool_cleanup_add(p, sizeof(int));
    ASSERT_TRUE(a && b);
    *(int *)a->data = 0;
    a->handler = count_cleanup;
    b->handler = other_cleanup;
    ASSERT_TRUE(ptc_pool_cleanup_find(p, other_cleanup) == b->data);
    ASSERT_TRUE(ptc_pool_cleanup_find(p, count_cleanup) == a->data);
    ptc_pool_destroy(p);
}

TEST(pool_cleanup_runs_on_destroy)
{
    ptc_pool_t *p = ptc_pool_create(512);
    ptc_pool_cleanup_t *c = ptc_pool_cleanup_add(p, sizeof(int));
    ASSERT_NOT_NULL(c);
    *(int *)c->data = 7;
    c->handler = count_cleanup;
    cleanup_calls = 0;
    ptc_pool_destroy(p);
    ASSERT_INT_EQ(cleanup_calls, 7);
}

void
suite_pool(void)
{
    RUN(pool_alloc_small_and_large);
    RUN(pool_cleanup_runs_on_destroy);
    RUN(pool_cleanup_find_by_handler);
}

TEST(str_numbers)
{
    ASSERT_INT_EQ(ptc_atoi((const u_char *)"12345", 5), 12345);
    ASSERT_INT_EQ(ptc_atoi((const u_char *)"12a", 3), -1);
    ASSERT_INT_EQ(ptc_atoi((const u_char *)"", 0), -1);
    ASSERT_INT_EQ(ptc_atoi((const u_char *)"99999999999999999999", 20), -1);
    ASSERT_INT_EQ(ptc_hextoi((const u_char *)"1aF", 3), 0x1af);
    ASSERT_INT_EQ(ptc_hextoi((const u_char *)"1g", 2), -1);
}

TEST(str_size_and_time)
{
    ptc_str_t s = ptc_string("8k");
    ASSERT_INT_EQ(ptc_parse_size(&s), 8192);
    ptc_str_set(&s, "1m");
    ASSERT_INT_EQ(ptc_parse_size(&s), 1048576);
    ptc_str_set(&s, "10x");
    ASSERT_INT_EQ(ptc_parse_size(&s), -1);
    ptc_str_set(&s, "60");
    ASSERT_INT_EQ(ptc_parse_time_ms(&s), 60000);
    ptc_str_set(&s, "500ms");
    ASSERT_INT_EQ(ptc_parse_time_ms(&s), 500);
    ptc_str_set(&s, "1m 30s");
    ASSERT_INT_EQ(ptc_parse_time_ms(&s), 90000);
    ptc_str_set(&s, "1h");
    ASSERT_INT_EQ(ptc_parse_time_ms(&s), 3600000);
    ptc_str_set(&s, "5q");
    ASSERT_INT_EQ(ptc_parse_time_ms(&s), -1);
}

TEST(str_unescape_and_html)
{
    u_char out[32];
    ASSERT_INT_EQ(ptc_unescape_uri(out, (const u_char *)"/a%20b", 6), 4);
    ASSERT_MEM_EQ(out, 4, "/a b");
    ASSERT_INT_EQ(ptc_unescape_uri(out, (const u_char *)"/a%2", 4), -1);
    ASSERT_INT_EQ(ptc_unescape_uri(out, (const u_char *)"/a%zz", 5), -1);
    size_t n = ptc_escape_html(out, (const u_char *)"<a&\">", 5);
    ASSERT_MEM_EQ(out, n, "&lt;a&amp;&quot;&gt;");
}

void
suite_str(void)
{
    RUN(str_numbers);
    RUN(str_size_and_time);
    RUN(str_unescape_and_html);
}

TEST(array_grows)
{
    ptc_pool_t *p = ptc_pool_create(1024);
    ptc_array_t *a = ptc_array_create(p, 2, sizeof(int));
    ASSERT_NOT_NULL(a);
    for (int i = 0; i < 100; i++) {
        int *e = ptc_array_push(a);
        ASSERT_NOT_NULL(e);
        *e = i;
    }
    ASSERT_INT_EQ(a->nelts, 100);
    ASSERT_INT_EQ(*ptc_array_at(a, int, 99), 99);
    ptc_pool_destroy(p);
}

void
suite_array(void)
{
    RUN(array_grows);
}

/* ---- core/ptc_cidr.c ---- */
#include <arpa/inet.h>

#include "core/ptc_cidr.h"

void suite_cidr(void);

static bool
cidr_matches(const char *range, const char *addr)
{
    ptc_cidr_t c;
    const char *err;
    ptc_str_t s = {strlen(range), (u_char *)range};
    if (ptc_cidr_parse(&s, &c, &err) != PTC_OK) {
        return false;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strcmp(addr, "unix") == 0) {
        ss.ss_family = AF_UNIX;
    } else if (strchr(addr, ':')) {
        ss.ss_family = AF_INET6;
        inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr);
    } else {
        ss.ss_family = AF_INET;
        inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr);
    }
    return ptc_cidr_match(&c, (struct sockaddr *)&ss);
}

TEST(cidr_parse_and_match)
{
    ASSERT_TRUE(cidr_matches("192.0.2.0/24", "192.0.2.77"));
    ASSERT_TRUE(!cidr_matches("192.0.2.0/24", "192.0.3.1"));
    ASSERT_TRUE(cidr_matches("10.1.2.3", "10.1.2.3"));
    ASSERT_TRUE(!cidr_matches("10.1.2.3", "10.1.2.4"));
    ASSERT_TRUE(cidr_matches("10.1.2.3/8", "10.200.0.1")); /* host bits cleared */
    ASSERT_TRUE(cidr_matches("0.0.0.0/0", "203.0.113.5"));
    ASSERT_TRUE(cidr_matches("2001:db8::/32", "2001:db8:1::1"));
    ASSERT_TRUE(!cidr_matches("2001:db8::/32", "2001:db9::1"));
    ASSERT_TRUE(cidr_matches("127.0.0.0/8", "::ffff:127.0.0.1")); /* mapped */
    ASSERT_TRUE(!cidr_matches("127.0.0.0/8", "::1"));
    ASSERT_TRUE(cidr_matches("unix:", "unix"));
    ASSERT_TRUE(!cidr_matches("unix:", "127.0.0.1"));
    ASSERT_TRUE(cidr_matches("all", "unix"));
    ASSERT_TRUE(cidr_matches("all", "::1"));
    ptc_cidr_t c;
    const char *err;
    ptc_str_t bad[] = {ptc_string("10.0.0.0/33"), ptc_string("10.0.0/8"), ptc_string("x"),
                       ptc_string("::1/129"), ptc_string("10.0.0.0/")};
    for (size_t i = 0; i < ptc_nelems(bad); i++) {
        ASSERT_INT_EQ(ptc_cidr_parse(&bad[i], &c, &err), PTC_ERROR);
    }
    /* host bits beyond the prefix: accepted, cleared, and noted */
    ptc_str_t low[] = {ptc_string("10.0.0.1/8"), ptc_string("2001:db8::1/32"),
                       ptc_string("192.0.2.129/25")};
    for (size_t i = 0; i < ptc_nelems(low); i++) {
        err = NULL;
        ASSERT_INT_EQ(ptc_cidr_parse(&low[i], &c, &err), PTC_OK);
        ASSERT_STR_EQ(err, "low address bits are meaningless");
    }
    ptc_str_t clean[] = {ptc_string("10.0.0.0/8"), ptc_string("192.0.2.128/25"),
                         ptc_string("10.1.2.3"),   ptc_string("::/0"),
                         ptc_string("all"),        ptc_string("unix:")};
    for (size_t i = 0; i < ptc_nelems(clean); i++) {
        err = "x";
        ASSERT_INT_EQ(ptc_cidr_parse(&clean[i], &c, &err), PTC_OK);
        ASSERT_NULL(err);
    }
}

void
suite_cidr(void)
{
    RUN(cidr_parse_and_match);
}
