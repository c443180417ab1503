/* SPDX-License-Identifier: BSD-2-Clause */
/* Smooth weighted round robin, the default balancer and the fallback of the
 * others. Each pick adds every candidate's effective_weight to its
 * current_weight, takes the largest current_weight (lowest index on ties)
 * and subtracts the sum of the effective weights from the winner: weights
 * 5,1,1 give a,a,b,a,c,a,a. A failure lowers effective_weight
 * (ptc_upstream_peer_release); it grows back by 1 each time the peer is a
 * candidate, up to weight. */
#include "modules/upstream/upstream.h"

#define RR_PEERS_MAX (sizeof(((ptc_upstream_pick_t *)0)->tried) * 8)

/* Returned by init: round robin keeps all its state in the peers. */
static char rr_data;

int
ptc_upstream_rr_select(ptc_upstream_peer_t *peers, size_t n, const uint64_t set[4])
{
    ptc_upstream_peer_t *peer;
    uint64_t bits;
    int best = -1;
    int total = 0;
    size_t w, i;

    n = ptc_min(n, RR_PEERS_MAX);
    for (w = 0; w * 64 < n; w++) {
        for (bits = set[w]; bits != 0; bits &= bits - 1) {
            i = w * 64 + (size_t)__builtin_ctzll(bits);
            if (i >= n) {
                break;
            }
            peer = &peers[i];
            peer->current_weight += peer->effective_weight;
            total += peer->effective_weight;
            if (peer->effective_weight < peer->weight) {
                peer->effective_weight++;
            }
            if (best < 0 || peer->current_weight > peers[best].current_weight) {
                best = (int)i;
            }
        }
    }
    if (best >= 0) {
        peers[best].current_weight -= total;
    }
    return best;
}

/* Start every peer at full weight with no accumulated share. */
static void *
rr_init(ptc_pool_t *pool, ptc_upstream_peer_t *peers, size_t n, const void *conf)
{
    size_t i;

    for (i = 0; i < n; i++) {
        peers[i].effective_weight = peers[i].weight;
        peers[i].current_weight = 0;
    }
    return &rr_data;
}

static int
rr_pick(void *data, ptc_upstream_peer_t *peers, size_t n, ptc_upstream_pick_t *p)
{
    uint64_t set[4] = {0, 0, 0, 0};
    size_t i;
    int best;

    n = ptc_min(n, RR_PEERS_MAX);
    for (i = 0; i < n; i++) {
        if (ptc_upstream_peer_usable(&peers[i], i, p)) {
            set[i >> 6] |= (uint64_t)1 << (i & 63);
        }
    }
    best = ptc_upstream_rr_select(peers, n, set);
    if (best >= 0) {
        ptc_upstream_peer_choose(peers, (size_t)best, p);
    }
    return best;
}

const ptc_upstream_balancer_t ptc_upstream_round_robin = {
    .name = "round_robin",
    .init = rr_init,
    .pick = rr_pick,
};
