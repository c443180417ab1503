/* SPDX-License-Identifier: BSD-2-Clause */
/* least_conn: the usable peer with the fewest active connections relative
 * to its weight (conns_a / weight_a < conns_b / weight_b, compared by cross
 * multiplication); peers tied at that ratio share by smooth weighted round
 * robin. `conns` is kept by the caller. */
#include "modules/upstream/upstream.h"

#define LC_PEERS_MAX (sizeof(((ptc_upstream_pick_t *)0)->tried) * 8)

/* -1, 0, 1 as a's load (conns per weight) is lower, equal, higher than b's. */
static int
lc_compare(const ptc_upstream_peer_t *a, const ptc_upstream_peer_t *b)
{
    int64_t la = (int64_t)a->conns * b->weight;
    int64_t lb = (int64_t)b->conns * a->weight;

    return la < lb ? -1 : la > lb;
}

static void *
lc_init(ptc_pool_t *pool, ptc_upstream_peer_t *peers, size_t n, const void *conf)
{
    /* ties use round robin state, which starts the same way */
    return ptc_upstream_round_robin.init(pool, peers, n, NULL);
}

static int
lc_pick(void *data, ptc_upstream_peer_t *peers, size_t n, ptc_upstream_pick_t *p)
{
    uint64_t ties[4] = {0, 0, 0, 0};
    int best = -1;
    size_t i;
    int cmp;

    n = ptc_min(n, LC_PEERS_MAX);
    for (i = 0; i < n; i++) {
        if (!ptc_upstream_peer_usable(&peers[i], i, p)) {
            continue;
        }
        cmp = best < 0 ? -1 : lc_compare(&peers[i], &peers[best]);
        if (cmp < 0) {
            /* a new minimum drops the peers tied at the old one */
            ties[0] = ties[1] = ties[2] = ties[3] = 0;
            best = (int)i;
        }
        if (cmp <= 0) {
            ties[i >> 6] |= (uint64_t)1 << (i & 63);
        }
    }
    if (best < 0) {
        return -1;
    }
    best = ptc_upstream_rr_select(peers, n, ties);
    ptc_upstream_peer_choose(peers, (size_t)best, p);
    return best;
}

const ptc_upstream_balancer_t ptc_upstream_least_conn = {
    .name = "least_conn",
    .init = lc_init,
    .pick = lc_pick,
};
