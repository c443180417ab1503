/* SPDX-License-Identifier: BSD-2-Clause */
/* An ordered list of allow/deny rules and the check of a client address
 * against it: pure code, shared by the access module and its unit tests. */
#ifndef PTC_MODULES_ACCESS_RULES_H
#define PTC_MODULES_ACCESS_RULES_H

#include "core/ptc_array.h"
#include "core/ptc_cidr.h"

typedef struct {
    ptc_cidr_t cidr;
    bool deny;
} ptc_access_rule_t;

typedef struct {
    ptc_array_t rules; /* ptc_access_rule_t, in config order */
    bool inet;         /* some rule covers IPv4 clients (an IPv4 range or "all") */
} ptc_access_list_t;

/* A new empty list in pool; NULL when out of memory. */
ptc_access_list_t *ptc_access_list_create(ptc_pool_t *pool);

/* Append a rule; PTC_OK or PTC_ERROR (out of memory). */
int ptc_access_list_add(ptc_access_list_t *list, const ptc_cidr_t *cidr, bool deny);

/* Is a client at sa denied? The first rule whose range holds the address
 * decides; none matching allows. As in nginx, an IPv4-mapped IPv6 client
 * (::ffff:192.0.2.1) is checked as its IPv4 address when the list has any
 * rule for IPv4 clients (IPv6 rules are then not consulted), and as an
 * IPv6 address otherwise. */
bool ptc_access_denied(const ptc_access_list_t *list, const struct sockaddr *sa);

#endif
