/* SPDX-License-Identifier: BSD-2-Clause */
/* Address ranges ("192.0.2.0/24", "2001:db8::/32", "10.1.2.3", "unix:",
 * "all") and matching a socket address against them; used by realip and
 * access rules. */
#ifndef PTC_CORE_CIDR_H
#define PTC_CORE_CIDR_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "core/ptc_str.h"
#include "core/ptc_types.h"

typedef struct {
    int family; /* AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC for "all" */
    u_char addr[16];
    u_char mask[16];
} ptc_cidr_t;

/* Parse; PTC_OK, or PTC_ERROR with *err a static message. A host address
 * with bits set beyond the prefix ("10.1.2.3/8") is accepted with the
 * extra bits cleared, as nginx does: then PTC_OK comes with *err set to
 * "low address bits are meaningless" for the caller to warn about;
 * otherwise *err is NULL on PTC_OK. */
int ptc_cidr_parse(const ptc_str_t *text, ptc_cidr_t *out, const char **err);
/* Does sa fall in the range? An IPv4-mapped IPv6 address matches IPv4
 * ranges. */
bool ptc_cidr_match(const ptc_cidr_t *cidr, const struct sockaddr *sa);

#endif
