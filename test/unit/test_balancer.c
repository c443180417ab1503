/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of the balancer strategies in modules/upstream/upstream_balance_*.c:
 * round robin, least_conn, ip_hash, hash, hash consistent and random. */
#include <stdio.h>
#include <string.h>

#include "core/ptc_pool.h"
#include "modules/upstream/upstream.h"
#include "test/unit/unit.h"

void suite_balancer(void);

#define NPEERS_MAX 256

static char bal_names[NPEERS_MAX][24];

/* Peers 10.0.0.i:80 with the given weights (NULL: all 1), max_fails 1,
 * fail_timeout 10s, initialised by strategy b; returns its data. */
static void *
bal_setup(const ptc_upstream_balancer_t *b, ptc_pool_t *pool, ptc_upstream_peer_t *peers, size_t n,
          const int *weights)
{
    size_t i;
    int len;

    memset(peers, 0, n * sizeof(*peers));
    for (i = 0; i < n; i++) {
        len = snprintf(bal_names[i], sizeof(bal_names[i]), "10.0.%zu.%zu:80", i / 256, i % 256);
        peers[i].name.data = (u_char *)bal_names[i];
        peers[i].name.len = (size_t)len;
        peers[i].server = peers[i].name;
        peers[i].weight = weights ? weights[i] : 1;
        peers[i].max_fails = 1;
        peers[i].fail_timeout = 10000;
    }
    return b->init(pool, peers, n, NULL);
}

/* One pick for a new request at time now with the given key. */
static int
bal_pick(const ptc_upstream_balancer_t *b, void *data, ptc_upstream_peer_t *peers, size_t n,
         const char *key)
{
    ptc_upstream_pick_t p;

    memset(&p, 0, sizeof(p));
    p.now = 100000;
    if (key != NULL) {
        p.key.data = (u_char *)key;
        p.key.len = strlen(key);
    }
    return b->pick(data, peers, n, &p);
}

/* Small deterministic generator for test inputs. */
static uint32_t
bal_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static bool
bal_within(int count, int expected, int percent)
{
    int slack = expected * percent / 100;

    return count >= expected - slack && count <= expected + slack;
}

/* ---- round robin ---- */

TEST(rr_init_sets_weights)
{
    ptc_upstream_peer_t peers[2];
    int w[2] = {3, 1};
    void *data;

    memset(peers, 0, sizeof(peers));
    peers[0].weight = 3;
    peers[0].current_weight = 9;
    peers[1].weight = 1;
    data = ptc_upstream_round_robin.init(NULL, peers, 2, NULL);
    ASSERT_NOT_NULL(data);
    ASSERT_INT_EQ(peers[0].effective_weight, w[0]);
    ASSERT_INT_EQ(peers[0].current_weight, 0);
    ASSERT_INT_EQ(peers[1].effective_weight, w[1]);
}

TEST(rr_smooth_sequence_5_1_1)
{
    static const int want[14] = {0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0};
    ptc_upstream_peer_t peers[3];
    int w[3] = {5, 1, 1};
    void *data = bal_setup(&ptc_upstream_round_robin, NULL, peers, 3, w);
    size_t k;

    for (k = 0; k < 14; k++) {
        ASSERT_INT_EQ(bal_pick(&ptc_upstream_round_robin, data, peers, 3, NULL), want[k]);
    }
}

TEST(rr_weights_3_1_exact)
{
    ptc_upstream_peer_t peers[2];
    int w[2] = {3, 1};
    int count[2] = {0, 0};
    void *data = bal_setup(&ptc_upstream_round_robin, NULL, peers, 2, w);
    int k;

    for (k = 0; k < 4000; k++) {
        count[bal_pick(&ptc_upstream_round_robin, data, peers, 2, NULL)]++;
    }
    ASSERT_INT_EQ(count[0], 3000);
    ASSERT_INT_EQ(count[1], 1000);
}

TEST(rr_down_peer_never_picked)
{
    ptc_upstream_peer_t peers[3];
    int count[3] = {0, 0, 0};
    void *data = bal_setup(&ptc_upstream_round_robin, NULL, peers, 3, NULL);
    int k;

    peers[1].down = true;
    for (k = 0; k < 300; k++) {
        count[bal_pick(&ptc_upstream_round_robin, data, peers, 3, NULL)]++;
    }
    ASSERT_INT_EQ(count[0], 150);
    ASSERT_INT_EQ(count[1], 0);
    ASSERT_INT_EQ(count[2], 150);
}

TEST(rr_max_conns_respected)
{
    ptc_upstream_peer_t peers[2];
    void *data = bal_setup(&ptc_upstream_round_robin, NULL, peers, 2, NULL);
    int k;

    peers[0].max_conns = 2;
    peers[0].conns = 2;
    for (k = 0; k < 10; k++) {
        ASSERT_INT_EQ(bal_pick(&ptc_upstream_round_robin, data, peers, 2, NULL), 1);
    }
    peers[1].max_conns = 1;
    peers[1].conns = 1;
    ASSERT_INT_EQ(bal_pick(&ptc_upstream_round_robin, data, peers, 2, NULL), -1);
    peers[0].conns = 1;
    ASSERT_INT_EQ(bal_pick(&ptc_upstream_round_robin, data, peers, 2, NULL), 0);
}

TEST(rr_tried_bits_respected)
{
    ptc_upstream_peer_t peers[200];
    ptc_upstream_pick_t p;
    void *data = bal_setup(&ptc_upstream_round_robin, NULL, peers, 200, NULL);
    size_t i;

    memset(&p, 0, sizeof(p));
    for (i = 0; i < 200; i++) {
        if (i != 130) {
            ptc_upstream_set_tried(&p, i);
        }
    }
    ASSERT_INT_EQ(ptc_upstream_round_robin.pick(data, peers, 200, &p), 130);
    ASSERT_INT_EQ(ptc_upstream_tried(&p, 130), 1);
    ASSERT_INT_EQ(ptc_upstream_round_robin.pick(data, peers, 200, &p), -1);
}

TEST(rr_retries_visit_each_peer_once)
{
    ptc_upstream_peer_t peers[NPEERS_MAX];
    ptc_upstream_pick_t p;
    void *data = bal_setup(&ptc_upstream_round_robin, NULL, peers, NPEERS_MAX, NULL);
    int seen[NPEERS_MAX];
    int k, i;

    memset(&p, 0, sizeof(p));
    memset(seen, 0, sizeof(seen));
    for (k = 0; k < NPEERS_MAX; k++) {
        i = ptc_upstream_round_robin.pick(data, peers, NPEERS_MAX, &p);
        ASSERT_TRUE(i >= 0 && i < NPEERS_MAX);
        ASSERT_INT_EQ(seen[i], 0);
        seen[i] = 1;
    }
    ASSERT_INT_EQ(ptc_upstream_round_robin.pick(data, peers, NPEERS_MAX, &p), -1);
}

TEST(rr_empty_and_all_failed)
{
    ptc_upstream_peer_t peers[3];
    void *data = bal_setup(&ptc_upstream_round_robin, NULL, peers, 3, NULL);
    size_t i;

    ASSERT_INT_EQ(bal_pick(&ptc_upstream_round_robin, data, peers, 0, NULL), -1);
    for (i = 0; i < 3; i++) {
        ptc_upstream_peer_release(&peers[i], PTC_UPSTREAM_FAILED, 99000);
    }
    ASSERT_INT_EQ(bal_pick(&ptc_upstream_round_robin, data, peers, 3, NULL), -1);
}

/* max_fails=1: skipped for fail_timeout, then one trial, then back on OK. */
TEST(rr_failed_peer_retried_after_fail_timeout)
{
    ptc_upstream_peer_t peers[2];
    ptc_upstream_pick_t p;
    void *data = bal_setup(&ptc_upstream_round_robin, NULL, peers, 2, NULL);
    int k, zeros = 0;

    ptc_upstream_peer_release(&peers[0], PTC_UPSTREAM_FAILED, 1000);
    memset(&p, 0, sizeof(p));
    for (p.now = 1000; p.now < 11000; p.now += 500) {
        p.tried[0] = 0;
        ASSERT_INT_EQ(ptc_upstream_round_robin.pick(data, peers, 2, &p), 1);
    }
    /* fail_timeout passed: one trial goes to peer 0, then it waits again */
    for (k = 0; k < 4; k++) {
        p.tried[0] = 0;
        zeros += ptc_upstream_round_robin.pick(data, peers, 2, &p) == 0;
    }
    ASSERT_INT_EQ(zeros, 1);
    ASSERT_INT_EQ(peers[0].checked, 11000);
    ptc_upstream_peer_release(&peers[0], PTC_UPSTREAM_OK, 11000);
    for (k = 0, zeros = 0; k < 10; k++) {
        p.tried[0] = 0;
        zeros += ptc_upstream_round_robin.pick(data, peers, 2, &p) == 0;
    }
    ASSERT_TRUE(zeros >= 4);
}

TEST(rr_effective_weight_recovers_one_per_pick)
{
    ptc_upstream_peer_t peers[2];
    int w[2] = {4, 4};
    void *data = bal_setup(&ptc_upstream_round_robin, NULL, peers, 2, w);

    peers[0].max_fails = 2;
    ptc_upstream_peer_release(&peers[0], PTC_UPSTREAM_FAILED, 99000);
    ASSERT_INT_EQ(peers[0].effective_weight, 2);
    bal_pick(&ptc_upstream_round_robin, data, peers, 2, NULL);
    ASSERT_INT_EQ(peers[0].effective_weight, 3);
    bal_pick(&ptc_upstream_round_robin, data, peers, 2, NULL);
    ASSERT_INT_EQ(peers[0].effective_weight, 4);
    bal_pick(&ptc_upstream_round_robin, data, peers, 2, NULL);
    ASSERT_INT_EQ(peers[0].effective_weight, 4);
}

/* The shared selector ignores set bits past n and returns -1 on an empty set. */
TEST(rr_select_within_set_and_n)
{
    ptc_upstream_peer_t peers[3];
    const uint64_t all[4] = {~(uint64_t)0, ~(uint64_t)0, ~(uint64_t)0, ~(uint64_t)0};
    const uint64_t two[4] = {5, 0, 0, 0};
    const uint64_t none[4] = {0, 0, 0, 0};
    int count[3] = {0, 0, 0};
    int k;

    bal_setup(&ptc_upstream_round_robin, NULL, peers, 3, NULL);
    for (k = 0; k < 6; k++) {
        count[ptc_upstream_rr_select(peers, 2, all)]++;
    }
    ASSERT_INT_EQ(count[0], 3);
    ASSERT_INT_EQ(count[1], 3);
    for (k = 0; k < 4; k++) {
        ASSERT_INT_EQ(ptc_upstream_rr_select(peers, 3, two), k % 2 ? 2 : 0);
    }
    ASSERT_INT_EQ(ptc_upstream_rr_select(peers, 3, none), -1);
    ASSERT_INT_EQ(peers[2].current_weight, 0);
}

/* ---- least_conn ---- */

TEST(lc_picks_fewest_conns)
{
    ptc_upstream_peer_t peers[3];
    void *data = bal_setup(&ptc_upstream_least_conn, NULL, peers, 3, NULL);
    int k;

    ASSERT_NOT_NULL(data);
    peers[0].conns = 3;
    peers[1].conns = 1;
    peers[2].conns = 2;
    for (k = 0; k < 5; k++) {
        ASSERT_INT_EQ(bal_pick(&ptc_upstream_least_conn, data, peers, 3, NULL), 1);
    }
    peers[1].down = true;
    ASSERT_INT_EQ(bal_pick(&ptc_upstream_least_conn, data, peers, 3, NULL), 2);
    peers[2].max_conns = 2;
    ASSERT_INT_EQ(bal_pick(&ptc_upstream_least_conn, data, peers, 3, NULL), 0);
    peers[0].down = true;
    ASSERT_INT_EQ(bal_pick(&ptc_upstream_least_conn, data, peers, 3, NULL), -1);
}

TEST(lc_weighted_comparison)
{
    ptc_upstream_peer_t peers[2];
    int w[2] = {1, 3};
    void *data = bal_setup(&ptc_upstream_least_conn, NULL, peers, 2, w);

    peers[0].conns = 1; /* 1/1 against 2/3 */
    peers[1].conns = 2;
    ASSERT_INT_EQ(bal_pick(&ptc_upstream_least_conn, data, peers, 2, NULL), 1);
    peers[1].conns = 4; /* 1/1 against 4/3 */
    ASSERT_INT_EQ(bal_pick(&ptc_upstream_least_conn, data, peers, 2, NULL), 0);
}

TEST(lc_ties_spread_by_weight)
{
    ptc_upstream_peer_t peers[3];
    int w[3] = {3, 1, 2};
    int count[3] = {0, 0, 0};
    void *data = bal_setup(&ptc_upstream_least_conn, NULL, peers, 3, w);
    int k;

    /* 3/3 == 1/1 < 2/2? no: 3/3 == 1/1 == 2/2, all tied */
    peers[0].conns = 3;
    peers[1].conns = 1;
    peers[2].conns = 2;
    for (k = 0; k < 600; k++) {
        count[bal_pick(&ptc_upstream_least_conn, data, peers, 3, NULL)]++;
    }
    ASSERT_INT_EQ(count[0], 300);
    ASSERT_INT_EQ(count[1], 100);
    ASSERT_INT_EQ(count[2], 200);
}

/* Peers tied at an earlier, higher load are dropped by a lower one. */
TEST(lc_ties_only_at_the_minimum)
{
    ptc_upstream_peer_t peers[4];
    int count[4] = {0, 0, 0, 0};
    void *data = bal_setup(&ptc_upstream_least_conn, NULL, peers, 4, NULL);
    int k;

    peers[0].conns = 5;
    peers[1].conns = 5;
    peers[2].conns = 0;
    peers[3].conns = 0;
    for (k = 0; k < 100; k++) {
        count[bal_pick(&ptc_upstream_least_conn, data, peers, 4, NULL)]++;
    }
    ASSERT_INT_EQ(count[0], 0);
    ASSERT_INT_EQ(count[1], 0);
    ASSERT_INT_EQ(count[2], 50);
    ASSERT_INT_EQ(count[3], 50);
}

TEST(lc_retry_skips_tried)
{
    ptc_upstream_peer_t peers[2];
    ptc_upstream_pick_t p;
    void *data = bal_setup(&ptc_upstream_least_conn, NULL, peers, 2, NULL);

    memset(&p, 0, sizeof(p));
    peers[1].conns = 7;
    ASSERT_INT_EQ(ptc_upstream_least_conn.pick(data, peers, 2, &p), 0);
    ASSERT_INT_EQ(p.tried[0], 1);
    ASSERT_INT_EQ(ptc_upstream_least_conn.pick(data, peers, 2, &p), 1);
    ASSERT_INT_EQ(p.tried[0], 3);
    ASSERT_INT_EQ(ptc_upstream_least_conn.pick(data, peers, 2, &p), -1);
}

/* ---- ip_hash ---- */

static int
ip_pick(void *data, ptc_upstream_peer_t *peers, size_t n, const u_char *addr, size_t len)
{
    ptc_upstream_pick_t p;

    memset(&p, 0, sizeof(p));
    p.now = 100000;
    p.key.data = (u_char *)addr;
    p.key.len = len;
    return ptc_upstream_ip_hash.pick(data, peers, n, &p);
}

TEST(ip_hash_same_24_same_peer)
{
    ptc_upstream_peer_t peers[4];
    void *data = bal_setup(&ptc_upstream_ip_hash, NULL, peers, 4, NULL);
    u_char a[4] = {192, 168, 7, 0};
    int first, i, others = 0;

    ASSERT_NOT_NULL(data);
    first = ip_pick(data, peers, 4, a, 4);
    ASSERT_TRUE(first >= 0);
    for (i = 0; i < 256; i++) {
        a[3] = (u_char)i;
        ASSERT_INT_EQ(ip_pick(data, peers, 4, a, 4), first);
        ASSERT_INT_EQ(ip_pick(data, peers, 4, a, 4), first); /* sticky */
    }
    /* the /24 decides: other third octets reach other peers */
    for (i = 0; i < 256; i++) {
        a[2] = (u_char)i;
        others += ip_pick(data, peers, 4, a, 4) != first;
    }
    ASSERT_TRUE(others > 100);
}

TEST(ip_hash_spreads_24s_evenly)
{
    ptc_upstream_peer_t peers[4];
    void *data = bal_setup(&ptc_upstream_ip_hash, NULL, peers, 4, NULL);
    int count[4] = {0, 0, 0, 0};
    uint32_t s = 12345, r;
    u_char a[4];
    int k;

    for (k = 0; k < 2000; k++) {
        r = bal_rand(&s);
        memcpy(a, &r, 4);
        count[ip_pick(data, peers, 4, a, 4)]++;
    }
    for (k = 0; k < 4; k++) {
        ASSERT_TRUE(bal_within(count[k], 500, 20));
    }
}

TEST(ip_hash_weighted)
{
    ptc_upstream_peer_t peers[2];
    int w[2] = {3, 1};
    void *data = bal_setup(&ptc_upstream_ip_hash, NULL, peers, 2, w);
    int count[2] = {0, 0};
    uint32_t s = 777, r;
    u_char a[4];
    int k;

    for (k = 0; k < 4000; k++) {
        r = bal_rand(&s);
        memcpy(a, &r, 4);
        count[ip_pick(data, peers, 2, a, 4)]++;
    }
    ASSERT_TRUE(bal_within(count[0], 3000, 10));
    ASSERT_TRUE(bal_within(count[1], 1000, 10));
}

TEST(ip_hash_ipv6_uses_all_16_bytes)
{
    ptc_upstream_peer_t peers[4];
    void *data = bal_setup(&ptc_upstream_ip_hash, NULL, peers, 4, NULL);
    u_char a[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0};
    int seen[4] = {0, 0, 0, 0};
    int i, first;

    for (i = 0; i < 64; i++) {
        a[15] = (u_char)i;
        first = ip_pick(data, peers, 4, a, 16);
        ASSERT_INT_EQ(ip_pick(data, peers, 4, a, 16), first);
        seen[first] = 1;
    }
    ASSERT_INT_EQ(seen[0] + seen[1] + seen[2] + seen[3], 4);
}

/* Keys of other lengths (unix-socket clients) fall back to round robin. */
TEST(ip_hash_non_ip_key_uses_round_robin)
{
    ptc_upstream_peer_t peers[3];
    void *data = bal_setup(&ptc_upstream_ip_hash, NULL, peers, 3, NULL);
    u_char a[6] = {1, 2, 3, 4, 5, 6};

    ASSERT_INT_EQ(ip_pick(data, peers, 3, a, 6), 0);
    ASSERT_INT_EQ(ip_pick(data, peers, 3, a, 6), 1);
    ASSERT_INT_EQ(ip_pick(data, peers, 3, NULL, 0), 2);
}

/* A down peer's clients move; every other client stays put. */
TEST(ip_hash_down_peer_rehashes_only_its_clients)
{
    ptc_upstream_peer_t peers[4];
    void *data = bal_setup(&ptc_upstream_ip_hash, NULL, peers, 4, NULL);
    int before[300], moved = 0, now;
    u_char a[4] = {10, 0, 0, 1};
    int k;

    for (k = 0; k < 300; k++) {
        a[1] = (u_char)k;
        a[2] = (u_char)(k >> 8);
        before[k] = ip_pick(data, peers, 4, a, 4);
    }
    peers[2].down = true;
    for (k = 0; k < 300; k++) {
        a[1] = (u_char)k;
        a[2] = (u_char)(k >> 8);
        now = ip_pick(data, peers, 4, a, 4);
        ASSERT_TRUE(now != 2 && now >= 0);
        ASSERT_INT_EQ(ip_pick(data, peers, 4, a, 4), now);
        if (before[k] != 2) {
            ASSERT_INT_EQ(now, before[k]);
        } else {
            moved++;
        }
    }
    ASSERT_TRUE(moved > 40);
}

/* Only one usable peer of 256: the rehash chain gives up, round robin finds it. */
TEST(ip_hash_falls_back_to_round_robin)
{
    ptc_upstream_peer_t peers[NPEERS_MAX];
    void *data = bal_setup(&ptc_upstream_ip_hash, NULL, peers, NPEERS_MAX, NULL);
    u_char a[4] = {172, 16, 0, 9};
    size_t i;
    int k;

    for (i = 0; i < NPEERS_MAX; i++) {
        peers[i].down = i != 201;
    }
    for (k = 0; k < 50; k++) {
        a[2] = (u_char)k;
        ASSERT_INT_EQ(ip_pick(data, peers, NPEERS_MAX, a, 4), 201);
    }
}

/* ---- hash KEY ---- */

TEST(hash_is_crc32_modulo_total_weight)
{
    ptc_upstream_peer_t peers[4];
    int w[4] = {1, 2, 1, 1};
    void *data = bal_setup(&ptc_upstream_hash, NULL, peers, 4, w);
    static const int slot_peer[5] = {0, 1, 1, 2, 3};
    char key[32];
    uint32_t h;
    int k;

    ASSERT_NOT_NULL(data);
    for (k = 0; k < 200; k++) {
        snprintf(key, sizeof(key), "/img/%d.png", k);
        h = ptc_upstream_crc32(key, strlen(key));
        ASSERT_INT_EQ(bal_pick(&ptc_upstream_hash, data, peers, 4, key), slot_peer[h % 5]);
        ASSERT_INT_EQ(bal_pick(&ptc_upstream_hash, data, peers, 4, key), slot_peer[h % 5]);
    }
}

TEST(hash_spreads_keys_evenly)
{
    ptc_upstream_peer_t peers[4];
    void *data = bal_setup(&ptc_upstream_hash, NULL, peers, 4, NULL);
    int count[4] = {0, 0, 0, 0};
    char key[32];
    int k;

    for (k = 0; k < 10000; k++) {
        snprintf(key, sizeof(key), "user-%d", k);
        count[bal_pick(&ptc_upstream_hash, data, peers, 4, key)]++;
    }
    for (k = 0; k < 4; k++) {
        ASSERT_TRUE(bal_within(count[k], 2500, 15));
    }
}

TEST(hash_unusable_peer_rehashes_deterministically)
{
    ptc_upstream_peer_t peers[4];
    void *data = bal_setup(&ptc_upstream_hash, NULL, peers, 4, NULL);
    ptc_upstream_pick_t p;
    char key[32];
    int k, first, second, moved = 0;

    for (k = 0; k < 100; k++) {
        snprintf(key, sizeof(key), "k%d", k);
        first = bal_pick(&ptc_upstream_hash, data, peers, 4, key);
        peers[first].max_conns = 1;
        peers[first].conns = 1;
        second = bal_pick(&ptc_upstream_hash, data, peers, 4, key);
        ASSERT_TRUE(second >= 0 && second != first);
        ASSERT_INT_EQ(bal_pick(&ptc_upstream_hash, data, peers, 4, key), second);
        peers[first].conns = 0;
        moved += second != (first + 1) % 4;
    }
    /* rehashing, not "next peer": some moves skip ahead */
    ASSERT_TRUE(moved > 20);
    /* a retry in the same request goes to a different peer */
    memset(&p, 0, sizeof(p));
    p.key.data = (u_char *)"retry";
    p.key.len = 5;
    first = ptc_upstream_hash.pick(data, peers, 4, &p);
    second = ptc_upstream_hash.pick(data, peers, 4, &p);
    ASSERT_TRUE(first >= 0 && second >= 0 && first != second);
    ASSERT_INT_EQ(p.tried[0], (1U << first) | (1U << second));
}

TEST(hash_nothing_usable)
{
    ptc_upstream_peer_t peers[2];
    void *data = bal_setup(&ptc_upstream_hash, NULL, peers, 2, NULL);

    ASSERT_INT_EQ(bal_pick(&ptc_upstream_hash, data, peers, 0, "x"), -1);
    peers[0].down = true;
    peers[1].down = true;
    ASSERT_INT_EQ(bal_pick(&ptc_upstream_hash, data, peers, 2, "x"), -1);
}

/* ---- hash KEY consistent ---- */

/* Peer name each key maps to in a ring over peers[0..n). */
static void
ring_map(ptc_upstream_peer_t *peers, size_t n, void *data, const char **out, int nkeys)
{
    char key[32];
    int k, i;

    for (k = 0; k < nkeys; k++) {
        snprintf(key, sizeof(key), "/objects/%d", k);
        i = bal_pick(&ptc_upstream_hash_consistent, data, peers, n, key);
        out[k] = i >= 0 ? (const char *)peers[i].name.data : NULL;
    }
}

static const char *ring_before[10000], *ring_after[10000];

TEST(consistent_removing_a_peer_moves_only_its_keys)
{
    ptc_upstream_peer_t peers[5], fewer[4];
    ptc_pool_t *pool = ptc_pool_create(4096);
    void *data;
    int k, stayed = 0, kept = 0, moved = 0;

    ASSERT_NOT_NULL(pool);
    data = bal_setup(&ptc_upstream_hash_consistent, pool, peers, 5, NULL);
    ASSERT_NOT_NULL(data);
    ring_map(peers, 5, data, ring_before, 10000);
    /* the same servers without 10.0.0.3 */
    memcpy(fewer, peers, 3 * sizeof(peers[0]));
    fewer[3] = peers[4];
    data = ptc_upstream_hash_consistent.init(pool, fewer, 4, NULL);
    ASSERT_NOT_NULL(data);
    ring_map(fewer, 4, data, ring_after, 10000);
    for (k = 0; k < 10000; k++) {
        ASSERT_NOT_NULL(ring_after[k]);
        if (ring_before[k] == bal_names[3]) {
            moved++;
            continue;
        }
        kept++;
        stayed += ring_before[k] == ring_after[k];
    }
    ptc_pool_destroy(pool);
    ASSERT_TRUE(stayed * 100 > kept * 99);
    ASSERT_TRUE(moved >= 1500 && moved <= 2500);
}

TEST(consistent_weights_2_1)
{
    ptc_upstream_peer_t peers[2];
    int w[2] = {2, 1};
    ptc_pool_t *pool = ptc_pool_create(4096);
    void *data = bal_setup(&ptc_upstream_hash_consistent, pool, peers, 2, w);
    int count[2] = {0, 0};
    char key[32];
    int k;

    for (k = 0; k < 10000; k++) {
        snprintf(key, sizeof(key), "session=%d", k * 7919);
        count[bal_pick(&ptc_upstream_hash_consistent, data, peers, 2, key)]++;
    }
    ptc_pool_destroy(pool);
    ASSERT_TRUE(bal_within(count[0], 6667, 10));
    ASSERT_TRUE(bal_within(count[1], 3333, 10));
}

/* Short sequential keys ("key1", "key2", ...) spread evenly: their CRC-32s
 * are too regular to place on the ring unmixed. */
TEST(consistent_sequential_keys_spread)
{
    ptc_upstream_peer_t peers[4];
    ptc_pool_t *pool = ptc_pool_create(4096);
    void *data = bal_setup(&ptc_upstream_hash_consistent, pool, peers, 4, NULL);
    int count[4] = {0, 0, 0, 0};
    char key[32];

    for (int k = 1; k <= 4000; k++) {
        snprintf(key, sizeof(key), "key%d", k);
        count[bal_pick(&ptc_upstream_hash_consistent, data, peers, 4, key)]++;
    }
    ptc_pool_destroy(pool);
    for (int i = 0; i < 4; i++) {
        ASSERT_TRUE(bal_within(count[i], 1000, 20));
    }
}

/* Skipping a down peer's points is the same as the ring without it. */
TEST(consistent_unusable_peer_skips_to_next_point)
{
    ptc_upstream_peer_t peers[5], fewer[4];
    ptc_pool_t *pool = ptc_pool_create(4096);
    void *data, *data4;
    int k, moved = 0;

    data = bal_setup(&ptc_upstream_hash_consistent, pool, peers, 5, NULL);
    memcpy(fewer, peers, 4 * sizeof(peers[0]));
    data4 = ptc_upstream_hash_consistent.init(pool, fewer, 4, NULL);
    ring_map(peers, 5, data, ring_before, 2000);
    peers[4].max_fails = 1;
    peers[4].fails = 1;
    peers[4].accessed = 99999;
    ring_map(peers, 5, data, ring_after, 2000);
    for (k = 0; k < 2000; k++) {
        moved += ring_before[k] != ring_after[k];
        ASSERT_TRUE(ring_after[k] != bal_names[4]);
    }
    ring_map(fewer, 4, data4, ring_before, 2000);
    ptc_pool_destroy(pool);
    for (k = 0; k < 2000; k++) {
        ASSERT_TRUE(ring_before[k] == ring_after[k]);
    }
    ASSERT_TRUE(moved > 200);
}

TEST(consistent_retry_and_empty)
{
    ptc_upstream_peer_t peers[3];
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_upstream_pick_t p;
    void *data = bal_setup(&ptc_upstream_hash_consistent, pool, peers, 3, NULL);
    void *empty = ptc_upstream_hash_consistent.init(pool, peers, 0, NULL);
    int a, b, c;

    memset(&p, 0, sizeof(p));
    p.key.data = (u_char *)"abc";
    p.key.len = 3;
    a = ptc_upstream_hash_consistent.pick(data, peers, 3, &p);
    b = ptc_upstream_hash_consistent.pick(data, peers, 3, &p);
    c = ptc_upstream_hash_consistent.pick(data, peers, 3, &p);
    ASSERT_TRUE(a >= 0 && b >= 0 && c >= 0);
    ASSERT_TRUE(a != b && b != c && a != c);
    ASSERT_INT_EQ(p.tried[0], 7);
    ASSERT_INT_EQ(ptc_upstream_hash_consistent.pick(data, peers, 3, &p), -1);
    ASSERT_NOT_NULL(empty);
    ASSERT_INT_EQ(bal_pick(&ptc_upstream_hash_consistent, empty, peers, 0, "abc"), -1);
    ptc_pool_destroy(pool);
}

/* ---- random ---- */

static int
random_pick_seed(void *data, ptc_upstream_peer_t *peers, size_t n, uint32_t seed)
{
    ptc_upstream_pick_t p;

    memset(&p, 0, sizeof(p));
    p.now = 100000;
    p.rand = seed;
    return ptc_upstream_random.pick(data, peers, n, &p);
}

TEST(random_deterministic_for_seed)
{
    ptc_upstream_peer_t peers[8];
    ptc_pool_t *pool = ptc_pool_create(4096);
    void *data = bal_setup(&ptc_upstream_random, pool, peers, 8, NULL);
    ptc_upstream_pick_t p;
    int seen[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    uint32_t seed;
    int i, distinct = 0;

    ASSERT_NOT_NULL(data);
    for (seed = 0; seed < 64; seed++) {
        i = random_pick_seed(data, peers, 8, seed);
        ASSERT_INT_EQ(random_pick_seed(data, peers, 8, seed), i);
        distinct += !seen[i];
        seen[i] = 1;
    }
    ASSERT_INT_EQ(distinct, 8);
    /* each draw advances p->rand, so a retry draws afresh */
    memset(&p, 0, sizeof(p));
    p.rand = 42;
    ptc_upstream_random.pick(data, peers, 8, &p);
    ASSERT_TRUE(p.rand != 42);
    ptc_pool_destroy(pool);
}

TEST(random_respects_weights)
{
    ptc_upstream_peer_t peers[3];
    int w[3] = {1, 3, 4};
    ptc_pool_t *pool = ptc_pool_create(4096);
    void *data = bal_setup(&ptc_upstream_random, pool, peers, 3, w);
    int count[3] = {0, 0, 0};
    uint32_t s = 99;
    int k;

    for (k = 0; k < 10000; k++) {
        count[random_pick_seed(data, peers, 3, bal_rand(&s))]++;
    }
    ptc_pool_destroy(pool);
    ASSERT_TRUE(bal_within(count[0], 1250, 10));
    ASSERT_TRUE(bal_within(count[1], 3750, 5));
    ASSERT_TRUE(bal_within(count[2], 5000, 5));
}

TEST(random_skips_unusable_and_tried)
{
    ptc_upstream_peer_t peers[3];
    ptc_pool_t *pool = ptc_pool_create(4096);
    void *data = bal_setup(&ptc_upstream_random, pool, peers, 3, NULL);
    ptc_upstream_pick_t p;
    uint32_t seed;

    peers[0].down = true;
    for (seed = 0; seed < 50; seed++) {
        memset(&p, 0, sizeof(p));
        p.rand = seed;
        p.tried[0] = 4;
        ASSERT_INT_EQ(ptc_upstream_random.pick(data, peers, 3, &p), 1);
        ASSERT_INT_EQ(p.tried[0], 6);
        ASSERT_INT_EQ(ptc_upstream_random.pick(data, peers, 3, &p), -1);
    }
    ptc_pool_destroy(pool);
}

TEST(random_two_prefers_fewer_conns)
{
    ptc_upstream_random_conf_t conf = {.two = true, .least_conn = true};
    ptc_upstream_peer_t peers[3];
    ptc_pool_t *pool = ptc_pool_create(4096);
    int count[3] = {0, 0, 0};
    void *data;
    uint32_t s = 5;
    int k;

    bal_setup(&ptc_upstream_random, pool, peers, 3, NULL);
    data = ptc_upstream_random.init(pool, peers, 3, &conf);
    ASSERT_NOT_NULL(data);
    peers[0].conns = 0;
    peers[1].conns = 5;
    peers[2].conns = 9;
    for (k = 0; k < 3000; k++) {
        count[random_pick_seed(data, peers, 3, bal_rand(&s))]++;
    }
    /* the pair always holds a less loaded peer than 2; 0 wins when drawn */
    ASSERT_INT_EQ(count[2], 0);
    ASSERT_TRUE(bal_within(count[0], 2000, 10));
    ASSERT_INT_EQ(count[0] + count[1], 3000);
    /* two peers: both are always drawn, the weighted lighter one wins */
    peers[0].weight = 1;
    peers[1].weight = 4;
    peers[0].conns = 1;
    peers[1].conns = 3; /* 1/1 against 3/4 */
    for (k = 0; k < 50; k++) {
        ASSERT_INT_EQ(random_pick_seed(data, peers, 2, bal_rand(&s)), 1);
    }
    peers[1].conns = 5; /* 1/1 against 5/4 */
    for (k = 0; k < 50; k++) {
        ASSERT_INT_EQ(random_pick_seed(data, peers, 2, bal_rand(&s)), 0);
    }
    peers[0].down = true;
    ASSERT_INT_EQ(random_pick_seed(data, peers, 2, 1), 1);
    ptc_pool_destroy(pool);
}

/* ---- all strategies ---- */

/* Down, failed, at max_conns and tried peers are never picked. */
TEST(every_strategy_skips_unusable_peers)
{
    const ptc_upstream_balancer_t *all[] = {
        &ptc_upstream_round_robin, &ptc_upstream_least_conn,      &ptc_upstream_ip_hash,
        &ptc_upstream_hash,        &ptc_upstream_hash_consistent, &ptc_upstream_random,
    };
    ptc_upstream_peer_t peers[5];
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_upstream_pick_t p;
    u_char addr[4] = {1, 2, 3, 4};
    size_t b;
    int k;
    void *data;

    for (b = 0; b < ptc_nelems(all); b++) {
        data = bal_setup(all[b], pool, peers, 5, NULL);
        ASSERT_NOT_NULL(data);
        peers[0].down = true;
        peers[1].fails = 1;
        peers[1].accessed = 99000;
        peers[2].max_conns = 3;
        peers[2].conns = 3;
        for (k = 0; k < 40; k++) {
            memset(&p, 0, sizeof(p));
            p.now = 100000;
            p.rand = (uint32_t)k;
            addr[2] = (u_char)k;
            p.key.data = addr;
            p.key.len = 4;
            p.tried[0] = 1 << 3;
            ASSERT_INT_EQ(all[b]->pick(data, peers, 5, &p), 4);
            ASSERT_INT_EQ(p.tried[0], (1 << 3) | (1 << 4));
            ASSERT_INT_EQ(all[b]->pick(data, peers, 5, &p), -1);
        }
    }
    ptc_pool_destroy(pool);
}

void
suite_balancer(void)
{
    RUN(rr_init_sets_weights);
    RUN(rr_smooth_sequence_5_1_1);
    RUN(rr_weights_3_1_exact);
    RUN(rr_down_peer_never_picked);
    RUN(rr_max_conns_respected);
    RUN(rr_tried_bits_respected);
    RUN(rr_retries_visit_each_peer_once);
    RUN(rr_empty_and_all_failed);
    RUN(rr_failed_peer_retried_after_fail_timeout);
    RUN(rr_effective_weight_recovers_one_per_pick);
    RUN(rr_select_within_set_and_n);
    RUN(lc_picks_fewest_conns);
    RUN(lc_weighted_comparison);
    RUN(lc_ties_spread_by_weight);
    RUN(lc_ties_only_at_the_minimum);
    RUN(lc_retry_skips_tried);
    RUN(ip_hash_same_24_same_peer);
    RUN(ip_hash_spreads_24s_evenly);
    RUN(ip_hash_weighted);
    RUN(ip_hash_ipv6_uses_all_16_bytes);
    RUN(ip_hash_non_ip_key_uses_round_robin);
    RUN(ip_hash_down_peer_rehashes_only_its_clients);
    RUN(ip_hash_falls_back_to_round_robin);
    RUN(hash_is_crc32_modulo_total_weight);
    RUN(hash_spreads_keys_evenly);
    RUN(hash_unusable_peer_rehashes_deterministically);
    RUN(hash_nothing_usable);
    RUN(consistent_removing_a_peer_moves_only_its_keys);
    RUN(consistent_weights_2_1);
    RUN(consistent_sequential_keys_spread);
    RUN(consistent_unusable_peer_skips_to_next_point);
    RUN(consistent_retry_and_empty);
    RUN(random_deterministic_for_seed);
    RUN(random_respects_weights);
    RUN(random_skips_unusable_and_tried);
    RUN(random_two_prefers_fewer_conns);
    RUN(every_strategy_skips_unusable_peers);
}
