/* SPDX-License-Identifier: BSD-2-Clause */
#include "modules/access/access_rules.h"

#include "core/ptc_pool.h"

ptc_access_list_t *
ptc_access_list_create(ptc_pool_t *pool)
{
    ptc_access_list_t *list = ptc_pcalloc(pool, sizeof(*list));
    if (list == NULL
        || ptc_array_init(&list->rules, pool, 4, sizeof(ptc_access_rule_t)) != PTC_OK) {
        return NULL;
    }
    return list;
}

int
ptc_access_list_add(ptc_access_list_t *list, const ptc_cidr_t *cidr, bool deny)
{
    ptc_access_rule_t *rule = ptc_array_push(&list->rules);
    if (rule == NULL) {
        return PTC_ERROR;
    }
    rule->cidr = *cidr;
    rule->deny = deny;
    if (cidr->family == AF_INET || cidr->family == AF_UNSPEC) {
        list->inet = true;
    }
    return PTC_OK;
}

/* The IPv4 address inside an IPv4-mapped IPv6 one, as *sin; false if sa is
 * not such an address. */
static bool
access_unmap(const struct sockaddr *sa, struct sockaddr_in *sin)
{
    static const u_char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (sa->sa_family != AF_INET6) {
        return false;
    }
    const u_char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    if (memcmp(a, prefix, sizeof(prefix)) != 0) {
        return false;
    }
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    memcpy(&sin->sin_addr, a + 12, 4);
    return true;
}

bool
ptc_access_denied(const ptc_access_list_t *list, const struct sockaddr *sa)
{
    struct sockaddr_in sin;
    if (list->inet && access_unmap(sa, &sin)) {
        sa = (const struct sockaddr *)&sin;
    }
    const ptc_access_rule_t *rule = list->rules.elts;
    for (size_t i = 0; i < list->rules.nelts; i++) {
        if (ptc_cidr_match(&rule[i].cidr, sa)) {
            return rule[i].deny;
        }
    }
    return false;
}
