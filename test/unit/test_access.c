/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/access/access_rules.c: rule order, address families,
 * unix sockets and IPv4-mapped IPv6 clients. */
#include <arpa/inet.h>
#include <sys/un.h>

#include "core/ptc_pool.h"
#include "modules/access/access_rules.h"
#include "test/unit/unit.h"

void suite_access(void);

/* A list from "allow X; deny Y; ..." written as "+X -Y ..." */
static ptc_access_list_t *
acl(ptc_pool_t *pool, const char *spec)
{
    ptc_access_list_t *list = ptc_access_list_create(pool);
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save, *w = strtok_r(buf, " ", &save); w && list; w = strtok_r(NULL, " ", &save)) {
        ptc_str_t text = {strlen(w + 1), (u_char *)w + 1};
        ptc_cidr_t cidr;
        const char *err;
        if (ptc_cidr_parse(&text, &cidr, &err) != PTC_OK
            || ptc_access_list_add(list, &cidr, w[0] == '-') != PTC_OK) {
            return NULL;
        }
    }
    return list;
}

/* Is a client at addr ("192.0.2.1", "::1", "unix") denied by spec? */
static bool
denied(ptc_pool_t *pool, const char *spec, const char *addr)
{
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
    ptc_access_list_t *list = acl(pool, spec);
    return list != NULL && ptc_access_denied(list, (struct sockaddr *)&ss);
}

static void
access_order_body(ptc_pool_t *pool)
{
    ASSERT_TRUE(!denied(pool, "", "192.0.2.1"));
    ASSERT_TRUE(!denied(pool, "+192.0.2.1 -all", "192.0.2.1"));
    ASSERT_TRUE(denied(pool, "+192.0.2.1 -all", "192.0.2.2"));
    ASSERT_TRUE(denied(pool, "-all +192.0.2.1", "192.0.2.1"));
    ASSERT_TRUE(!denied(pool, "-192.0.2.2 +192.0.2.0/24 -all", "192.0.2.1"));
    ASSERT_TRUE(denied(pool, "-192.0.2.2 +192.0.2.0/24 -all", "192.0.2.2"));
    ASSERT_TRUE(!denied(pool, "-10.0.0.0/8", "192.0.2.1")); /* no match: allowed */
    ASSERT_TRUE(denied(pool, "-10.1.2.3/8", "10.200.0.1")); /* host bits cleared */
}

TEST(access_order)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    access_order_body(pool);
    ptc_pool_destroy(pool);
}

static void
access_families_body(ptc_pool_t *pool)
{
    ASSERT_TRUE(!denied(pool, "-::/0", "192.0.2.1"));
    ASSERT_TRUE(denied(pool, "-::/0", "::1"));
    ASSERT_TRUE(!denied(pool, "-0.0.0.0/0", "::1"));
    ASSERT_TRUE(denied(pool, "+2001:db8::1 -2001:db8::/32", "2001:db8::2"));
    ASSERT_TRUE(!denied(pool, "+2001:db8::1 -2001:db8::/32", "2001:db8::1"));
    ASSERT_TRUE(!denied(pool, "+unix: -all", "unix"));
    ASSERT_TRUE(denied(pool, "+unix: -all", "127.0.0.1"));
    ASSERT_TRUE(denied(pool, "-unix:", "unix"));
    ASSERT_TRUE(!denied(pool, "-127.0.0.1 -::1", "unix"));
}

TEST(access_families)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    access_families_body(pool);
    ptc_pool_destroy(pool);
}

/* nginx: a mapped client is checked as IPv4 when the list has IPv4 rules
 * ("all" counts), else as IPv6. */
static void
access_mapped_body(ptc_pool_t *pool)
{
    ASSERT_TRUE(denied(pool, "-192.0.2.0/24", "::ffff:192.0.2.1"));
    ASSERT_TRUE(!denied(pool, "-192.0.2.0/24", "::ffff:192.0.3.1"));
    ASSERT_TRUE(denied(pool, "-::ffff:192.0.2.1", "::ffff:192.0.2.1"));
    ASSERT_TRUE(!denied(pool, "-::ffff:192.0.2.1 +all", "::ffff:192.0.2.1"));
    ASSERT_TRUE(!denied(pool, "-::ffff:0:0/96 +192.0.2.1 -all", "::ffff:192.0.2.1"));
    ASSERT_TRUE(denied(pool, "-::ffff:0:0/96 +192.0.2.1 -all", "::ffff:192.0.2.2"));
    ASSERT_TRUE(denied(pool, "-::ffff:0:0/96", "::ffff:192.0.2.2"));
}

TEST(access_mapped)
{
    ptc_pool_t *pool = ptc_pool_create(1024);
    access_mapped_body(pool);
    ptc_pool_destroy(pool);
}

void
suite_access(void)
{
    RUN(access_order);
    RUN(access_families);
    RUN(access_mapped);
}
