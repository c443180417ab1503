/* SPDX-License-Identifier: BSD-2-Clause */
/* Upstream groups: `upstream NAME { server ...; }` blocks (and the implicit
 * one-peer groups behind `proxy_pass http://host:port`), their peers with
 * passive health state, and the balancer strategies that pick a peer.
 * Balancers are pure: no I/O, no clock calls (the caller passes `now`). */
#ifndef PTC_MODULES_UPSTREAM_H
#define PTC_MODULES_UPSTREAM_H

#include <sys/socket.h>

#include "core/ptc_str.h"
#include "core/ptc_types.h"

typedef struct ptc_upstream_peer_s ptc_upstream_peer_t;
typedef struct ptc_upstream_group_s ptc_upstream_group_t;

/* One server of a group. Config fields are set at config time; the state
 * fields change at run time (per worker, or in the group's shared zone). */
struct ptc_upstream_peer_s {
    struct sockaddr_storage sockaddr;
    socklen_t socklen;
    ptc_str_t name;          /* "127.0.0.1:8080" ($upstream_addr) */
    ptc_str_t server;        /* as written in the config ("backend.local:8080") */
    int weight;              /* >= 1, default 1 */
    int max_fails;           /* 0: never marked down by failures; default 1 */
    ptc_msec_t fail_timeout; /* default 10s */
    int max_conns;           /* 0: unlimited */
    bool backup;
    bool down; /* marked `down` in the config */

    /* run-time state */
    int current_weight; /* smooth weighted round robin */
    int effective_weight;
    int conns;           /* active connections through this worker (or zone) */
    int fails;           /* failures in the current fail_timeout window */
    ptc_msec_t checked;  /* when the peer was last tried after failing */
    ptc_msec_t accessed; /* when the last failure happened */
    uint32_t hash_point; /* unused by strategies that do not need it */
};

/* Per-request selection state. `tried` has one bit per peer of the tier
 * (primary or backup) being picked from, so retries skip peers already
 * used by this request. */
typedef struct {
    uint64_t tried[4]; /* up to 256 peers per tier */
    ptc_msec_t now;
    ptc_str_t key;  /* hash / ip_hash input (binary address for ip_hash) */
    uint32_t rand;  /* random source for `random` (caller-supplied) */
    unsigned tries; /* picks made so far for this request */
} ptc_upstream_pick_t;

#define ptc_upstream_tried(p, i)     (((p)->tried[(i) >> 6] >> ((i)&63)) & 1)
#define ptc_upstream_set_tried(p, i) ((p)->tried[(i) >> 6] |= (uint64_t)1 << ((i)&63))

/* How a use of a peer ended, reported to release(). */
enum { PTC_UPSTREAM_OK = 0, PTC_UPSTREAM_FAILED };

/* A balancer strategy (selected by a directive inside upstream {}). */
typedef struct {
    const char *name;
    /* Build strategy data for a tier of peers at config time (e.g. the hash
     * ring); returns NULL on failure. `conf` is the directive's parsed
     * options (strategy-specific, may be NULL). */
    void *(*init)(ptc_pool_t *pool, ptc_upstream_peer_t *peers, size_t n, const void *conf);
    /* Pick a peer index among peers[0..n) that is not tried, not down, not
     * failed (fails >= max_fails within fail_timeout), and under max_conns;
     * -1 when none is usable. Must mark the pick in p->tried and may
     * update peer state (weights). */
    int (*pick)(void *data, ptc_upstream_peer_t *peers, size_t n, ptc_upstream_pick_t *p);
} ptc_upstream_balancer_t;

/* Whether peer i may be picked now (down, failures, max_conns, tried). */
bool ptc_upstream_peer_usable(ptc_upstream_peer_t *peer, size_t i, const ptc_upstream_pick_t *p);
/* Record the outcome of a use: failures count toward max_fails within
 * fail_timeout; a success after failures clears them. */
void ptc_upstream_peer_release(ptc_upstream_peer_t *peer, int outcome, ptc_msec_t now);

/* Helpers shared by the strategies (modules/upstream/upstream_peer.c,
 * upstream_balance_rr.c, upstream_balance_hash.c). */

/* Record that a strategy picked peers[i]: set its bit in p->tried and, when
 * the peer is failed and this is its one trial after fail_timeout, set
 * `checked` to p->now so other picks wait for the trial's outcome. */
void ptc_upstream_peer_choose(ptc_upstream_peer_t *peers, size_t i, ptc_upstream_pick_t *p);
/* Smooth weighted round robin among the peers whose bit is set in `set`
 * (laid out like p->tried; indexes >= n are ignored): updates their
 * current_weight and effective_weight and returns the chosen index, or -1
 * when the set is empty. Does not mark the pick. */
int ptc_upstream_rr_select(ptc_upstream_peer_t *peers, size_t n, const uint64_t set[4]);
/* CRC-32 (IEEE 802.3 polynomial, reflected, as zlib's crc32()) of len bytes. */
uint32_t ptc_upstream_crc32(const void *data, size_t len);

/* The strategies (modules/upstream/upstream_balance_*.c). */
extern const ptc_upstream_balancer_t ptc_upstream_round_robin; /* default: smooth weighted RR */
extern const ptc_upstream_balancer_t ptc_upstream_least_conn;  /* least_conn; ties by weight RR */
extern const ptc_upstream_balancer_t ptc_upstream_ip_hash;     /* ip_hash (key: binary address) */
extern const ptc_upstream_balancer_t ptc_upstream_hash;        /* hash KEY (modulo) */
extern const ptc_upstream_balancer_t
    ptc_upstream_hash_consistent;                         /* hash KEY consistent (ketama ring) */
extern const ptc_upstream_balancer_t ptc_upstream_random; /* random [two [least_conn]] */

/* Options of `random`: conf for ptc_upstream_random.init. */
typedef struct {
    bool two;        /* pick two, keep the better */
    bool least_conn; /* "better" = fewer conns (weighted); the only method now */
} ptc_upstream_random_conf_t;

#endif
