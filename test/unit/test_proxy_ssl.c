/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/proxy/proxy_ssl.c: the host part of proxy_ssl_name,
 * which is sent as SNI and checked against the origin's certificate. */
#include <string.h>

#include "modules/proxy/proxy_int.h"
#include "test/unit/unit.h"

void suite_proxy_ssl(void);

static void
host_part_is(const char *in, const char *want)
{
    ptc_str_t name = {strlen(in), (u_char *)in}, host;
    char got[64];
    ptc_proxy_ssl_host_part(&name, &host);
    snprintf(got, sizeof(got), "%.*s", (int)host.len, (const char *)host.data);
    ASSERT_STR_EQ(got, want);
}

TEST(host_part_plain_names)
{
    host_part_is("origin.test", "origin.test");
    host_part_is("", "");
    host_part_is("backend", "backend");
}

TEST(host_part_drops_the_port)
{
    host_part_is("origin.test:8443", "origin.test");
    host_part_is("127.0.0.1:443", "127.0.0.1");
    host_part_is("origin.test:", "origin.test");
}

TEST(host_part_ipv6)
{
    host_part_is("[::1]:8443", "::1");
    host_part_is("[2001:db8::1]", "2001:db8::1");
    host_part_is("::1", "::1");
    host_part_is("[::1", "::1");
}

void
suite_proxy_ssl(void)
{
    RUN(host_part_plain_names);
    RUN(host_part_drops_the_port);
    RUN(host_part_ipv6);
}
