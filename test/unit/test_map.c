/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/map/map_table.c: map block lines and the lookup table
 * (exact keys, hostname wildcards, conflicts, growth). */
#include <stdio.h>

#include "core/ptc_pool.h"
#include "core/ptc_str.h"
#include "modules/map/map_table.h"
#include "test/unit/unit.h"

void suite_map(void);

#define STR(lit)                                                                                   \
    {                                                                                              \
        sizeof(lit) - 1, (u_char *)(lit)                                                           \
    }

/* Values are distinct static strings, so a found pointer names its key. */
static char v1[] = "1", v2[] = "2", v3[] = "3";

static ptc_map_line_t
classify2(const char *k, const char *v, ptc_str_t *key)
{
    ptc_str_t args[2] = {{strlen(k), (u_char *)k}, {strlen(v), (u_char *)v}};
    return ptc_map_line_classify(args, 2, false, key);
}

static ptc_map_line_t
classify1(const char *k)
{
    ptc_str_t args[1] = {{strlen(k), (u_char *)k}};
    ptc_str_t key = {0, NULL};
    return ptc_map_line_classify(args, 1, false, &key);
}

static void *
find(const ptc_map_table_t *t, const char *name)
{
    return ptc_map_table_find(t, (const u_char *)name, strlen(name));
}

static ptc_map_add_t
add(ptc_map_table_t *t, const char *key, void *value, bool hostname)
{
    ptc_str_t k = {strlen(key), (u_char *)key};
    return ptc_map_table_add(t, &k, value, hostname);
}

TEST(line_plain_key_points_into_arg)
{
    static char k[] = "abc";
    ptc_str_t args[2] = {STR(k), STR("v")};
    ptc_str_t key = {0, NULL};
    ASSERT_INT_EQ(ptc_map_line_classify(args, 2, false, &key), PTC_MAP_LINE_KEY);
    ASSERT_TRUE(key.data == (u_char *)k);
    ASSERT_INT_EQ(key.len, 3);
}

TEST(line_backslash_makes_literal)
{
    ptc_str_t key;
    ASSERT_INT_EQ(classify2("\\default", "v", &key), PTC_MAP_LINE_KEY);
    ASSERT_MEM_EQ(key.data, key.len, "default");
    ASSERT_INT_EQ(classify2("\\~x", "v", &key), PTC_MAP_LINE_KEY);
    ASSERT_MEM_EQ(key.data, key.len, "~x");
    ASSERT_INT_EQ(classify2("\\\\x", "v", &key), PTC_MAP_LINE_KEY);
    ASSERT_MEM_EQ(key.data, key.len, "\\x");
    ASSERT_INT_EQ(classify2("\\", "v", &key), PTC_MAP_LINE_KEY);
    ASSERT_INT_EQ(key.len, 0);
    ASSERT_INT_EQ(classify2("", "close", &key), PTC_MAP_LINE_KEY);
    ASSERT_INT_EQ(key.len, 0);
}

TEST(line_regex_keys)
{
    ptc_str_t key;
    ASSERT_INT_EQ(classify2("~^/u/(\\d+)", "v", &key), PTC_MAP_LINE_REGEX);
    ASSERT_MEM_EQ(key.data, key.len, "^/u/(\\d+)");
    ASSERT_INT_EQ(classify2("~*^Opera", "v", &key), PTC_MAP_LINE_REGEX_CASELESS);
    ASSERT_MEM_EQ(key.data, key.len, "^Opera");
    ASSERT_INT_EQ(classify2("~", "v", &key), PTC_MAP_LINE_REGEX);
    ASSERT_INT_EQ(key.len, 0);
    ASSERT_INT_EQ(classify2("~*", "v", &key), PTC_MAP_LINE_REGEX_CASELESS);
    ASSERT_INT_EQ(key.len, 0);
}

TEST(line_keywords)
{
    ptc_str_t key = {0, NULL};
    ASSERT_INT_EQ(classify2("default", "v", &key), PTC_MAP_LINE_DEFAULT);
    ASSERT_TRUE(key.data == NULL); /* untouched */
    ASSERT_INT_EQ(classify1("hostnames"), PTC_MAP_LINE_HOSTNAMES);
    ASSERT_INT_EQ(classify1("volatile"), PTC_MAP_LINE_VOLATILE);
    /* keywords are case-sensitive, and hostnames/volatile only alone */
    ASSERT_INT_EQ(classify2("Default", "v", &key), PTC_MAP_LINE_KEY);
    ASSERT_MEM_EQ(key.data, key.len, "Default");
    ASSERT_INT_EQ(classify2("hostnames", "v", &key), PTC_MAP_LINE_KEY);
    ASSERT_MEM_EQ(key.data, key.len, "hostnames");
    ASSERT_INT_EQ(classify2("volatile", "v", &key), PTC_MAP_LINE_KEY);
    ASSERT_MEM_EQ(key.data, key.len, "volatile");
}

TEST(line_rejections)
{
    ptc_str_t key = {0, NULL};
    ptc_str_t three[3] = {STR("a"), STR("b"), STR("c")};
    ASSERT_INT_EQ(ptc_map_line_classify(three, 3, false, &key), PTC_MAP_LINE_BAD_NARGS);
    ASSERT_INT_EQ(classify1("a"), PTC_MAP_LINE_BAD_NARGS);
    ASSERT_INT_EQ(classify1("default"), PTC_MAP_LINE_BAD_NARGS);
    ASSERT_INT_EQ(classify1("Hostnames"), PTC_MAP_LINE_BAD_NARGS);
    ptc_str_t two[2] = {STR("a"), STR("b")};
    ASSERT_INT_EQ(ptc_map_line_classify(two, 2, true, &key), PTC_MAP_LINE_BLOCK);
    ASSERT_INT_EQ(ptc_map_line_classify(two, 1, true, &key), PTC_MAP_LINE_BLOCK);
    ASSERT_TRUE(key.data == NULL);
}

TEST(table_exact_caseless)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, true);
    ASSERT_INT_EQ(add(&t, "Abc", v1, false), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "websocket", v2, false), PTC_MAP_ADDED);
    ASSERT_INT_EQ(ptc_map_table_build(&t), PTC_OK);
    ASSERT_TRUE(find(&t, "abc") == v1);
    ASSERT_TRUE(find(&t, "ABC") == v1);
    ASSERT_TRUE(find(&t, "WebSocket") == v2);
    ASSERT_NULL(find(&t, "abd"));
    ASSERT_NULL(find(&t, "ab"));
    ASSERT_NULL(find(&t, "abcd"));
    ASSERT_NULL(find(&t, ""));
    /* no hostname semantics without `hostname` keys */
    ASSERT_NULL(find(&t, "abc."));
    ptc_pool_destroy(pool);
}

TEST(table_exact_case_sensitive)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, false);
    ASSERT_INT_EQ(add(&t, "Abc", v1, false), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "abc", v2, false), PTC_MAP_ADDED);
    ASSERT_TRUE(find(&t, "Abc") == v1);
    ASSERT_TRUE(find(&t, "abc") == v2);
    ASSERT_NULL(find(&t, "ABC"));
    ptc_pool_destroy(pool);
}

TEST(table_empty_key_and_empty_table)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, true);
    ASSERT_NULL(find(&t, "x"));
    ASSERT_NULL(ptc_map_table_find(&t, NULL, 0));
    ASSERT_INT_EQ(add(&t, "", v1, false), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "", v2, false), PTC_MAP_CONFLICT);
    ASSERT_TRUE(find(&t, "") == v1);
    ASSERT_TRUE(ptc_map_table_find(&t, NULL, 0) == v1);
    ASSERT_NULL(find(&t, "upgrade"));
    ptc_pool_destroy(pool);
}

TEST(table_conflict_keeps_first)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, true);
    ASSERT_INT_EQ(add(&t, "a", v1, false), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "A", v2, false), PTC_MAP_CONFLICT);
    ASSERT_INT_EQ(add(&t, "a", v2, false), PTC_MAP_CONFLICT);
    ASSERT_INT_EQ(t.exact.used, 1);
    ASSERT_TRUE(find(&t, "a") == v1);
    ptc_pool_destroy(pool);
}

TEST(table_head_wildcards)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, true);
    ASSERT_INT_EQ(add(&t, "*.Example.com", v1, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "*.b.example.com", v2, true), PTC_MAP_ADDED);
    ASSERT_TRUE(find(&t, "www.example.com") == v1);
    ASSERT_TRUE(find(&t, "WWW.EXAMPLE.COM") == v1);
    ASSERT_TRUE(find(&t, "a.c.example.com") == v1);
    ASSERT_TRUE(find(&t, "b.example.com") == v1);
    ASSERT_TRUE(find(&t, ".example.com") == v1);
    /* the longest suffix wins */
    ASSERT_TRUE(find(&t, "x.b.example.com") == v2);
    ASSERT_TRUE(find(&t, "y.x.b.example.com") == v2);
    ASSERT_NULL(find(&t, "example.com"));
    ASSERT_NULL(find(&t, "xexample.com"));
    ASSERT_NULL(find(&t, "example.com.org"));
    ASSERT_NULL(find(&t, "com"));
    ptc_pool_destroy(pool);
}

TEST(table_dot_form)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, true);
    ASSERT_INT_EQ(add(&t, ".foo.com", v1, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(t.exact.used, 1);
    ASSERT_INT_EQ(t.head.used, 1);
    ASSERT_TRUE(find(&t, "foo.com") == v1);
    ASSERT_TRUE(find(&t, "Foo.Com") == v1);
    ASSERT_TRUE(find(&t, "a.foo.com") == v1);
    ASSERT_TRUE(find(&t, "a.b.foo.com") == v1);
    ASSERT_NULL(find(&t, "xfoo.com"));
    ASSERT_NULL(find(&t, "foo.co"));
    ptc_pool_destroy(pool);
}

TEST(table_tail_wildcards)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, true);
    ASSERT_INT_EQ(add(&t, "www.*", v1, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "www.example.*", v2, true), PTC_MAP_ADDED);
    ASSERT_TRUE(find(&t, "www.a") == v1);
    ASSERT_TRUE(find(&t, "WWW.foo.org") == v1);
    ASSERT_TRUE(find(&t, "www.") == v1);
    ASSERT_TRUE(find(&t, "www.example") == v1);
    /* the longest prefix wins */
    ASSERT_TRUE(find(&t, "www.example.com") == v2);
    ASSERT_TRUE(find(&t, "www.example.co.uk") == v2);
    ASSERT_NULL(find(&t, "www"));
    ASSERT_NULL(find(&t, "wwwx.com"));
    ASSERT_NULL(find(&t, "a.www.com"));
    ptc_pool_destroy(pool);
}

TEST(table_priority_exact_head_tail)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, true);
    ASSERT_INT_EQ(add(&t, "www.*", v3, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "*.example.com", v2, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "www.example.com", v1, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(ptc_map_table_build(&t), PTC_OK);
    ASSERT_TRUE(find(&t, "www.example.com") == v1);
    ASSERT_TRUE(find(&t, "www.b.example.com") == v2); /* head before tail */
    ASSERT_TRUE(find(&t, "a.example.com") == v2);
    ASSERT_TRUE(find(&t, "www.example.org") == v3);
    ASSERT_NULL(find(&t, "example.org"));
    ptc_pool_destroy(pool);
}

TEST(table_hostname_conflicts)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, true);
    ASSERT_INT_EQ(add(&t, "*.a.com", v1, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, ".a.com", v2, true), PTC_MAP_CONFLICT);
    ASSERT_NULL(find(&t, "a.com")); /* the exact half was not added either */
    ASSERT_INT_EQ(add(&t, "b.com", v1, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, ".b.com", v2, true), PTC_MAP_CONFLICT);
    ASSERT_NULL(find(&t, "x.b.com")); /* nor the wildcard half */
    ASSERT_INT_EQ(add(&t, ".c.com", v1, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "c.com", v2, true), PTC_MAP_CONFLICT);
    ASSERT_INT_EQ(add(&t, "*.c.com", v2, true), PTC_MAP_CONFLICT);
    ASSERT_INT_EQ(add(&t, "x.*", v1, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "X.*", v2, true), PTC_MAP_CONFLICT);
    ASSERT_TRUE(find(&t, "c.com") == v1);
    ASSERT_TRUE(find(&t, "x.y") == v1);
    ptc_pool_destroy(pool);
}

TEST(table_invalid_wildcards)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, true);
    const char *bad[] = {"a.*.com", "*a.com", "a..com", "*", "*.", "*.a.*", "a*", "..a", "*..a"};
    for (size_t i = 0; i < ptc_nelems(bad); i++) {
        ASSERT_INT_EQ(add(&t, bad[i], v1, true), PTC_MAP_INVALID);
    }
    ptc_str_t nul = {3, (u_char *)"a\0b"};
    ASSERT_INT_EQ(ptc_map_table_add(&t, &nul, v1, true), PTC_MAP_INVALID);
    ASSERT_INT_EQ(t.exact.used + t.head.used + t.tail.used, 0);
    /* nginx accepts these shapes */
    ASSERT_INT_EQ(add(&t, ".", v1, true), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, ".a.*", v2, true), PTC_MAP_ADDED);
    ASSERT_TRUE(find(&t, ".") == v1);
    ASSERT_TRUE(find(&t, "a.*") == v2);
    ptc_pool_destroy(pool);
}

TEST(table_wildcards_need_hostnames)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, pool, true);
    ASSERT_INT_EQ(add(&t, "*.a.com", v1, false), PTC_MAP_ADDED);
    ASSERT_INT_EQ(add(&t, "a..b*", v2, false), PTC_MAP_ADDED);
    ASSERT_TRUE(find(&t, "*.a.com") == v1);
    ASSERT_TRUE(find(&t, "a..b*") == v2);
    ASSERT_NULL(find(&t, "x.a.com"));
    ASSERT_INT_EQ(t.head.used, 0);
    ptc_pool_destroy(pool);
}

TEST(table_growth_and_build)
{
    ptc_pool_t *pool = ptc_pool_create(4096), *temp = ptc_pool_create(4096);
    ASSERT_NOT_NULL(pool);
    ASSERT_NOT_NULL(temp);
    ptc_map_table_t t;
    ptc_map_table_init(&t, pool, temp, true);
    static char vals[1000];
    char key[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        ASSERT_INT_EQ(add(&t, key, &vals[i], false), PTC_MAP_ADDED);
        size_t nslots = t.exact.mask + 1;
        ASSERT_TRUE((nslots & (nslots - 1)) == 0);
        ASSERT_TRUE(nslots >= 2 * t.exact.used);
    }
    ASSERT_INT_EQ(ptc_map_table_build(&t), PTC_OK);
    ASSERT_INT_EQ(t.exact.used, 1000);
    ASSERT_INT_EQ(t.exact.mask + 1, 2048);
    /* after build nothing may point into the temp pool */
    ptc_pool_destroy(temp);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "KEY%d", i);
        ASSERT_TRUE(find(&t, key) == &vals[i]);
    }
    ASSERT_NULL(find(&t, "key1000"));
    ptc_pool_destroy(pool);
}

void
suite_map(void)
{
    RUN(line_plain_key_points_into_arg);
    RUN(line_backslash_makes_literal);
    RUN(line_regex_keys);
    RUN(line_keywords);
    RUN(line_rejections);
    RUN(table_exact_caseless);
    RUN(table_exact_case_sensitive);
    RUN(table_empty_key_and_empty_table);
    RUN(table_conflict_keeps_first);
    RUN(table_head_wildcards);
    RUN(table_dot_form);
    RUN(table_tail_wildcards);
    RUN(table_priority_exact_head_tail);
    RUN(table_hostname_conflicts);
    RUN(table_invalid_wildcards);
    RUN(table_wildcards_need_hostnames);
    RUN(table_growth_and_build);
}
