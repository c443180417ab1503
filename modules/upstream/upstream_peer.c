/* SPDX-License-Identifier: BSD-2-Clause */
/* Passive health of upstream peers: which peer may be picked now, and how
 * the outcome of a use changes its failure count. A peer with max_fails
 * failures is skipped for fail_timeout, then gets one trial pick; the
 * trial's success clears the failures, its failure restarts the wait. */
#include "modules/upstream/upstream.h"

#define PEER_TRIED_MAX (sizeof(((ptc_upstream_pick_t *)0)->tried) * 8)

/* Whether the peer reached max_fails and its wait is not over: the wait
 * runs fail_timeout from the last failure or from the last trial pick. */
static bool
peer_is_failed(const ptc_upstream_peer_t *peer, ptc_msec_t now)
{
    ptc_msec_t since;

    if (peer->max_fails <= 0 || peer->fails < peer->max_fails) {
        return false;
    }
    since = ptc_max(peer->accessed, peer->checked);
    /* a clock step backwards counts as still inside the window */
    return now < since || now - since < peer->fail_timeout;
}

bool
ptc_upstream_peer_usable(ptc_upstream_peer_t *peer, size_t i, const ptc_upstream_pick_t *p)
{
    if (i >= PEER_TRIED_MAX || ptc_upstream_tried(p, i)) {
        return false;
    }
    if (peer->down) {
        return false;
    }
    if (peer->max_conns > 0 && peer->conns >= peer->max_conns) {
        return false;
    }
    return !peer_is_failed(peer, p->now);
}

void
ptc_upstream_peer_choose(ptc_upstream_peer_t *peers, size_t i, ptc_upstream_pick_t *p)
{
    ptc_upstream_peer_t *peer = &peers[i];

    ptc_upstream_set_tried(p, i);
    if (peer->max_fails > 0 && peer->fails >= peer->max_fails) {
        peer->checked = p->now;
    }
}

void
ptc_upstream_peer_release(ptc_upstream_peer_t *peer, int outcome, ptc_msec_t now)
{
    bool was_failed;

    if (outcome == PTC_UPSTREAM_OK) {
        peer->fails = 0;
        return;
    }

    /* A failure long after the previous one starts a new window, unless
     * the peer is already failed: then this was its trial, and it failed. */
    was_failed = peer->max_fails > 0 && peer->fails >= peer->max_fails;
    if (!was_failed && now >= peer->accessed && now - peer->accessed >= peer->fail_timeout) {
        peer->fails = 0;
    }
    peer->fails++;
    peer->accessed = now;

    /* Lower the peer's share at once; round robin gives it back by 1 per
     * pick (ptc_upstream_rr_select). max_fails 0 means failures are ignored. */
    if (peer->max_fails > 0) {
        peer->effective_weight -= peer->weight / peer->max_fails;
        if (peer->effective_weight < 0) {
            peer->effective_weight = 0;
        }
    }
}
