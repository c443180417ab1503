/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/upstream/upstream_peer.c (which peer is usable, the trial
 * after fail_timeout, release accounting) and the CRC-32 used by the hash
 * balancers. */
#include <string.h>

#include "modules/upstream/upstream.h"
#include "test/unit/unit.h"

void suite_upstream(void);

static void
peer_setup(ptc_upstream_peer_t *peer)
{
    memset(peer, 0, sizeof(*peer));
    peer->weight = 1;
    peer->effective_weight = 1;
    peer->max_fails = 1;
    peer->fail_timeout = 10000;
}

TEST(usable_fresh_peer)
{
    ptc_upstream_peer_t peer;
    ptc_upstream_pick_t p = {.now = 5000};

    peer_setup(&peer);
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &p));
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 255, &p));
}

TEST(usable_rejects_down)
{
    ptc_upstream_peer_t peer;
    ptc_upstream_pick_t p = {.now = 5000};

    peer_setup(&peer);
    peer.down = true;
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 0, &p));
}

TEST(usable_rejects_max_conns)
{
    ptc_upstream_peer_t peer;
    ptc_upstream_pick_t p = {.now = 5000};

    peer_setup(&peer);
    peer.max_conns = 2;
    peer.conns = 2;
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 0, &p));
    peer.conns = 3;
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 0, &p));
    peer.conns = 1;
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &p));
    /* 0 means unlimited */
    peer.max_conns = 0;
    peer.conns = 100000;
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &p));
}

TEST(usable_rejects_tried_bit_of_its_index)
{
    ptc_upstream_peer_t peer;
    ptc_upstream_pick_t p = {.now = 5000};

    peer_setup(&peer);
    ptc_upstream_set_tried(&p, 70);
    ASSERT_INT_EQ(p.tried[1], (uint64_t)1 << 6);
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 70, &p));
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 69, &p));
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 71, &p));
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 6, &p));
}

TEST(usable_rejects_index_past_tried_bits)
{
    ptc_upstream_peer_t peer;
    ptc_upstream_pick_t p = {.now = 5000};

    peer_setup(&peer);
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 256, &p));
}

TEST(usable_failed_until_fail_timeout)
{
    ptc_upstream_peer_t peer;
    ptc_upstream_pick_t p = {.now = 1000};

    peer_setup(&peer);
    peer.max_fails = 2;
    peer.fail_timeout = 500;
    peer.fails = 1;
    peer.accessed = 1000;
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &p)); /* below max_fails */
    peer.fails = 2;
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 0, &p));
    p.now = 1499;
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 0, &p));
    p.now = 1500;
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &p));
    /* a clock step backwards stays inside the window */
    p.now = 900;
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 0, &p));
}

TEST(usable_max_fails_zero_ignores_failures)
{
    ptc_upstream_peer_t peer;
    ptc_upstream_pick_t p = {.now = 1000};

    peer_setup(&peer);
    peer.max_fails = 0;
    peer.fails = 50;
    peer.accessed = 1000;
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &p));
}

TEST(choose_marks_tried_and_leaves_healthy_unchecked)
{
    ptc_upstream_peer_t peers[3];
    ptc_upstream_pick_t p = {.now = 7000};

    peer_setup(&peers[0]);
    peer_setup(&peers[1]);
    peer_setup(&peers[2]);
    ptc_upstream_peer_choose(peers, 2, &p);
    ASSERT_INT_EQ(p.tried[0], 4);
    ASSERT_INT_EQ(peers[2].checked, 0);
}

/* After fail_timeout one pick is the trial: others wait for its outcome. */
TEST(choose_failed_peer_is_a_single_trial)
{
    ptc_upstream_peer_t peer;
    ptc_upstream_pick_t p = {.now = 20000};
    ptc_upstream_pick_t q = {.now = 20000};

    peer_setup(&peer);
    peer.fails = 1;
    peer.accessed = 5000;
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &p));
    ptc_upstream_peer_choose(&peer, 0, &p);
    ASSERT_INT_EQ(peer.checked, 20000);
    q.now = 29999;
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 0, &q));
    q.now = 30000;
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &q));
    /* the trial succeeded: usable again at once */
    q.now = 20001;
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_OK, 20001);
    ASSERT_INT_EQ(peer.fails, 0);
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &q));
}

TEST(release_ok_clears_fails)
{
    ptc_upstream_peer_t peer;

    peer_setup(&peer);
    peer.max_fails = 3;
    peer.fails = 2;
    peer.accessed = 100;
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_OK, 200);
    ASSERT_INT_EQ(peer.fails, 0);
    ASSERT_INT_EQ(peer.accessed, 100);
    ASSERT_INT_EQ(peer.effective_weight, 1);
}

TEST(release_failed_counts_within_window)
{
    ptc_upstream_peer_t peer;

    peer_setup(&peer);
    peer.max_fails = 3;
    peer.fail_timeout = 1000;
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 5000);
    ASSERT_INT_EQ(peer.fails, 1);
    ASSERT_INT_EQ(peer.accessed, 5000);
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 5999);
    ASSERT_INT_EQ(peer.fails, 2);
    ASSERT_INT_EQ(peer.accessed, 5999);
    /* a failure fail_timeout after the previous one starts a new window */
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 6999);
    ASSERT_INT_EQ(peer.fails, 1);
    ASSERT_INT_EQ(peer.accessed, 6999);
}

TEST(release_failed_reaching_max_fails_disables)
{
    ptc_upstream_peer_t peer;
    ptc_upstream_pick_t p = {.now = 5000};

    peer_setup(&peer);
    peer.max_fails = 2;
    peer.fail_timeout = 1000;
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 4800);
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &p));
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 4900);
    ASSERT_INT_EQ(peer.fails, 2);
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 0, &p));
    p.now = 5900;
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &p));
}

/* A failed trial long after the last failure keeps the peer failed. */
TEST(release_failed_trial_restarts_wait)
{
    ptc_upstream_peer_t peer;
    ptc_upstream_pick_t p = {.now = 20000};

    peer_setup(&peer);
    peer.fails = 1;
    peer.accessed = 1000;
    ptc_upstream_peer_choose(&peer, 0, &p);
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 20500);
    ASSERT_INT_EQ(peer.fails, 2);
    ASSERT_INT_EQ(peer.accessed, 20500);
    p.tried[0] = 0;
    p.now = 30499;
    ASSERT_TRUE(!ptc_upstream_peer_usable(&peer, 0, &p));
    p.now = 30500;
    ASSERT_TRUE(ptc_upstream_peer_usable(&peer, 0, &p));
}

TEST(release_failed_lowers_effective_weight)
{
    ptc_upstream_peer_t peer;

    peer_setup(&peer);
    peer.weight = 6;
    peer.effective_weight = 6;
    peer.max_fails = 3;
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 100);
    ASSERT_INT_EQ(peer.effective_weight, 4);
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 101);
    ASSERT_INT_EQ(peer.effective_weight, 2);
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 102);
    ASSERT_INT_EQ(peer.effective_weight, 0);
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 103);
    ASSERT_INT_EQ(peer.effective_weight, 0);
    /* max_fails 0: failures do not change the share */
    peer.max_fails = 0;
    peer.effective_weight = 6;
    ptc_upstream_peer_release(&peer, PTC_UPSTREAM_FAILED, 104);
    ASSERT_INT_EQ(peer.effective_weight, 6);
}

TEST(crc32_standard_values)
{
    ASSERT_INT_EQ(ptc_upstream_crc32("123456789", 9), 0xcbf43926U);
    ASSERT_INT_EQ(ptc_upstream_crc32("", 0), 0);
    ASSERT_INT_EQ(ptc_upstream_crc32(NULL, 0), 0);
    ASSERT_INT_EQ(ptc_upstream_crc32("a", 1), 0xe8b7be43U);
    ASSERT_INT_EQ(ptc_upstream_crc32("The quick brown fox jumps over the lazy dog", 43),
                  0x414fa339U);
}

void
suite_upstream(void)
{
    RUN(usable_fresh_peer);
    RUN(usable_rejects_down);
    RUN(usable_rejects_max_conns);
    RUN(usable_rejects_tried_bit_of_its_index);
    RUN(usable_rejects_index_past_tried_bits);
    RUN(usable_failed_until_fail_timeout);
    RUN(usable_max_fails_zero_ignores_failures);
    RUN(choose_marks_tried_and_leaves_healthy_unchecked);
    RUN(choose_failed_peer_is_a_single_trial);
    RUN(release_ok_clears_fails);
    RUN(release_failed_counts_within_window);
    RUN(release_failed_reaching_max_fails_disables);
    RUN(release_failed_trial_restarts_wait);
    RUN(release_failed_lowers_effective_weight);
    RUN(crc32_standard_values);
}
