/* SPDX-License-Identifier: BSD-2-Clause */
/* random [two [least_conn]]: a weighted random usable peer, or the less
 * loaded (conns per weight) of two distinct weighted random usable peers.
 * Randomness comes from the caller through p->rand, which each draw
 * advances (a Weyl sequence, mixed for output), so a given p->rand always
 * gives the same picks and a retry in the same request draws afresh. */
#include "modules/upstream/upstream.h"

#include "core/ptc_pool.h"

#define RANDOM_PEERS_MAX (sizeof(((ptc_upstream_pick_t *)0)->tried) * 8)
#define RANDOM_STEP      0x9e3779b9U

/* Next random number: step the state in p->rand, return it well mixed. */
static uint32_t
random_next(ptc_upstream_pick_t *p)
{
    uint32_t x;

    p->rand += RANDOM_STEP;
    x = p->rand;
    x ^= x >> 16;
    x *= 0x21f0aaadU;
    x ^= x >> 15;
    x *= 0x735a2d97U;
    x ^= x >> 15;
    return x;
}

static uint64_t
random_weight(const ptc_upstream_peer_t *peer)
{
    return (uint64_t)ptc_max(peer->weight, 1);
}

/* Set the bits of the usable peers in set; return their total weight. */
static uint64_t
random_usable(ptc_upstream_peer_t *peers, size_t n, const ptc_upstream_pick_t *p, uint64_t *set)
{
    uint64_t total = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (ptc_upstream_peer_usable(&peers[i], i, p)) {
            set[i >> 6] |= (uint64_t)1 << (i & 63);
            total += random_weight(&peers[i]);
        }
    }
    return total;
}

/* A peer of set drawn with probability weight / total (total > 0). */
static size_t
random_draw(const ptc_upstream_peer_t *peers, size_t n, const uint64_t *set, uint64_t total,
            ptc_upstream_pick_t *p)
{
    uint64_t r = random_next(p) % total;
    size_t i, last = 0;

    for (i = 0; i < n; i++) {
        if (!((set[i >> 6] >> (i & 63)) & 1)) {
            continue;
        }
        if (r < random_weight(&peers[i])) {
            return i;
        }
        r -= random_weight(&peers[i]);
        last = i;
    }
    return last;
}

static void *
random_init(ptc_pool_t *pool, ptc_upstream_peer_t *peers, size_t n, const void *conf)
{
    ptc_upstream_random_conf_t *rc;

    ptc_upstream_round_robin.init(pool, peers, n, NULL);
    rc = ptc_pcalloc(pool, sizeof(ptc_upstream_random_conf_t));
    if (rc != NULL && conf != NULL) {
        *rc = *(const ptc_upstream_random_conf_t *)conf;
    }
    return rc;
}

static int
random_pick(void *data, ptc_upstream_peer_t *peers, size_t n, ptc_upstream_pick_t *p)
{
    const ptc_upstream_random_conf_t *rc = data;
    uint64_t set[4] = {0, 0, 0, 0};
    uint64_t total;
    size_t a, b;

    n = ptc_min(n, RANDOM_PEERS_MAX);
    total = random_usable(peers, n, p, set);
    if (total == 0) {
        return -1;
    }
    a = random_draw(peers, n, set, total, p);
    if (rc->two) {
        /* the second draw is from the others, so the two are distinct */
        set[a >> 6] &= ~((uint64_t)1 << (a & 63));
        total -= random_weight(&peers[a]);
        if (total > 0) {
            b = random_draw(peers, n, set, total, p);
            /* b wins only when strictly less loaded: conns_b/w_b < conns_a/w_a */
            if ((int64_t)peers[b].conns * peers[a].weight
                < (int64_t)peers[a].conns * peers[b].weight) {
                a = b;
            }
        }
    }
    ptc_upstream_peer_choose(peers, a, p);
    return (int)a;
}

const ptc_upstream_balancer_t ptc_upstream_random = {
    .name = "random",
    .init = random_init,
    .pick = random_pick,
};
