/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/limit/limit_zone.c: the keyed hash, leaky-bucket
 * arithmetic, lookups, LRU eviction when the zone is full, expiry of idle
 * keys, digests of long keys, and connection counts. */
#include <stdlib.h>

#include "modules/limit/limit_zone.h"
#include "test/unit/unit.h"

void suite_limit(void);

static const uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static ptc_limit_shm_t *
zone(size_t size)
{
    void *mem = aligned_alloc(64, size);
    return mem ? ptc_limit_shm_init(mem, size, seed) : NULL;
}

static ptc_limit_key_t
key_of(ptc_limit_shm_t *sh, const char *s)
{
    ptc_limit_key_t k;
    memset(&k, 0, sizeof(k));
    if (ptc_limit_key(sh, (const u_char *)s, strlen(s), &k) != PTC_OK) {
        k.len = 0;
    }
    return k;
}

static ptc_limit_key_t
key_n(ptc_limit_shm_t *sh, unsigned n)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "k%u", n);
    return key_of(sh, buf);
}

/* One request for key at `now` (rate in milli-requests/s, burst in milli). */
static bool
take(ptc_limit_shm_t *sh, const ptc_limit_key_t *k, ptc_msec_t now, uint64_t rate, uint64_t burst,
     uint64_t *excess)
{
    uint64_t e;
    return ptc_limit_req_take(sh, k, now, rate, burst, true, excess ? excess : &e);
}

TEST(siphash_reference_vectors)
{
    /* the SipHash paper's key 00..0f; messages 00..(n-1) */
    uint8_t key[16], msg[15];
    for (int i = 0; i < 16; i++) {
        key[i] = (uint8_t)i;
    }
    for (int i = 0; i < 15; i++) {
        msg[i] = (uint8_t)i;
    }
    ASSERT_TRUE(ptc_limit_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
    ASSERT_TRUE(ptc_limit_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL);
}

TEST(level_drains_at_the_rate_and_adds_one_request)
{
    /* 1r/s = 1000 milli-requests per second */
    ASSERT_INT_EQ(ptc_limit_req_level(0, 5000, 5000, 1000), 1000);
    ASSERT_INT_EQ(ptc_limit_req_level(1000, 5000, 5500, 1000), 1500);
    ASSERT_INT_EQ(ptc_limit_req_level(1000, 5000, 7000, 1000), 0);
    ASSERT_INT_EQ(ptc_limit_req_level(1000, 5000, 9000, 1000), 0);
    /* 10r/s drains 10 milli-requests per ms */
    ASSERT_INT_EQ(ptc_limit_req_level(2000, 0, 100, 10000), 2000);
    /* 30r/m = 500 milli-requests per second */
    ASSERT_INT_EQ(ptc_limit_req_level(3000, 0, 2000, 500), 3000);
}

TEST(level_when_the_clock_goes_back)
{
    /* a little: no time passed; a lot (over a minute): 1 ms */
    ASSERT_INT_EQ(ptc_limit_req_level(500, 10000, 9990, 1000), 1500);
    ASSERT_INT_EQ(ptc_limit_req_level(500, 100000, 1000, 1000000), 500);
}

TEST(level_never_overflows)
{
    ASSERT_INT_EQ(ptc_limit_req_level(4000000000ULL, 0, UINT64_MAX / 2, 1000000000000ULL), 0);
}

TEST(burst_zero_admits_one_request_per_interval)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    ptc_limit_key_t k = key_of(sh, "10.0.0.1");
    uint64_t e = 99;
    ASSERT_TRUE(take(sh, &k, 1000, 10000, 0, &e)); /* a new key starts empty */
    ASSERT_INT_EQ(e, 0);
    ASSERT_TRUE(!take(sh, &k, 1000, 10000, 0, &e));
    ASSERT_INT_EQ(e, 1000);
    ASSERT_TRUE(!take(sh, &k, 1050, 10000, 0, &e)); /* refusals change nothing */
    ASSERT_INT_EQ(e, 500);
    ASSERT_TRUE(take(sh, &k, 1100, 10000, 0, &e));
    ASSERT_INT_EQ(e, 0);
    free(sh);
}

TEST(burst_fills_then_refuses)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    ptc_limit_key_t k = key_of(sh, "a");
    uint64_t e;
    ASSERT_TRUE(take(sh, &k, 0, 1000, 2000, &e));
    ASSERT_TRUE(take(sh, &k, 0, 1000, 2000, &e));
    ASSERT_INT_EQ(e, 1000);
    ASSERT_TRUE(take(sh, &k, 0, 1000, 2000, &e));
    ASSERT_INT_EQ(e, 2000);
    ASSERT_TRUE(!take(sh, &k, 0, 1000, 2000, &e));
    ASSERT_INT_EQ(e, 3000);
    ASSERT_TRUE(take(sh, &k, 1000, 1000, 2000, &e)); /* a second later one fits again */
    ASSERT_INT_EQ(e, 2000);
    free(sh);
}

TEST(a_test_without_commit_changes_nothing)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    ptc_limit_key_t k = key_of(sh, "a");
    uint64_t e;
    ASSERT_TRUE(take(sh, &k, 0, 1000, 5000, &e));
    for (int i = 0; i < 3; i++) {
        ASSERT_TRUE(ptc_limit_req_take(sh, &k, 0, 1000, 5000, false, &e));
        ASSERT_INT_EQ(e, 1000);
    }
    free(sh);
}

TEST(keys_are_independent)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    ptc_limit_key_t a = key_of(sh, "a"), b = key_of(sh, "b");
    ASSERT_TRUE(take(sh, &a, 0, 1000, 0, NULL));
    ASSERT_TRUE(!take(sh, &a, 0, 1000, 0, NULL));
    ASSERT_TRUE(take(sh, &b, 0, 1000, 0, NULL));
    ASSERT_INT_EQ(ptc_limit_shm_used(sh), 2);
    free(sh);
}

TEST(full_zone_drops_the_least_recently_used_key)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    uint32_t cap = ptc_limit_shm_capacity(sh);
    ASSERT_TRUE(cap >= 400);
    for (unsigned i = 0; i < cap; i++) {
        ptc_limit_key_t k = key_n(sh, i);
        ASSERT_TRUE(take(sh, &k, 0, 1000, 0, NULL));
    }
    ASSERT_INT_EQ(ptc_limit_shm_used(sh), cap);
    ASSERT_INT_EQ(ptc_limit_shm_evicted(sh), 0);
    ptc_limit_key_t k0 = key_n(sh, 0), k1 = key_n(sh, 1), k2 = key_n(sh, 2);
    ASSERT_TRUE(!take(sh, &k0, 0, 1000, 0, NULL)); /* k0 is used again: k1 is now the oldest */
    ptc_limit_key_t fresh = key_n(sh, cap);
    ASSERT_TRUE(take(sh, &fresh, 0, 1000, 0, NULL)); /* the new key is never refused */
    ASSERT_INT_EQ(ptc_limit_shm_used(sh), cap);
    ASSERT_INT_EQ(ptc_limit_shm_evicted(sh), 1);
    ASSERT_TRUE(!take(sh, &k0, 0, 1000, 0, NULL)); /* kept: still limited */
    ASSERT_TRUE(!take(sh, &k2, 0, 1000, 0, NULL));
    ASSERT_TRUE(take(sh, &k1, 0, 1000, 0, NULL)); /* dropped: starts afresh */
    ASSERT_INT_EQ(ptc_limit_shm_evicted(sh), 2);
    free(sh);
}

TEST(idle_drained_keys_expire_lazily)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    for (unsigned i = 0; i < 3; i++) {
        ptc_limit_key_t k = key_n(sh, i);
        ASSERT_TRUE(take(sh, &k, 0, 1000, 0, NULL));
    }
    ptc_limit_key_t k = key_n(sh, 100);
    ASSERT_TRUE(take(sh, &k, PTC_LIMIT_IDLE_MS - 1, 1000, 0, NULL));
    ASSERT_INT_EQ(ptc_limit_shm_used(sh), 4); /* not idle long enough */
    k = key_n(sh, 101);
    ASSERT_TRUE(take(sh, &k, PTC_LIMIT_IDLE_MS, 1000, 0, NULL));
    ASSERT_INT_EQ(ptc_limit_shm_used(sh), 3); /* two expired, one added */
    ASSERT_INT_EQ(ptc_limit_shm_evicted(sh), 0);
    free(sh);
}

TEST(idle_keys_still_over_their_rate_are_kept)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    ptc_limit_key_t a = key_of(sh, "a");
    /* 1r/m (16 milli/s) with a burst of 5 takes minutes to drain */
    for (int i = 0; i < 6; i++) {
        ASSERT_TRUE(take(sh, &a, 0, 16, 5000, NULL));
    }
    ptc_limit_key_t b = key_of(sh, "b");
    ASSERT_TRUE(take(sh, &b, 2 * PTC_LIMIT_IDLE_MS, 16, 5000, NULL));
    ASSERT_INT_EQ(ptc_limit_shm_used(sh), 2);
    free(sh);
}

TEST(long_keys_are_stored_as_sha256)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    const char *nist = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static const u_char digest[32] = {
        0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26,
        0x93, 0x0c, 0x3e, 0x60, 0x39, 0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff,
        0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1,
    };
    ptc_limit_key_t k = key_of(sh, nist);
    ASSERT_INT_EQ(k.len, PTC_LIMIT_KEY_DIGEST);
    ASSERT_TRUE(memcmp(k.data, digest, 32) == 0);
    ptc_limit_key_t in = key_of(sh, "0123456789abcdef0123456789abcdef"); /* 32: kept as is */
    ASSERT_INT_EQ(in.len, 32);
    ASSERT_MEM_EQ(in.data, 32, "0123456789abcdef0123456789abcdef");
    free(sh);
}

TEST(long_keys_differing_late_are_distinct)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    char a[300], b[300];
    memset(a, 'x', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(a));
    b[sizeof(b) - 2] = 'y';
    ptc_limit_key_t ka = key_of(sh, a), kb = key_of(sh, b), ka2 = key_of(sh, a);
    ASSERT_TRUE(take(sh, &ka, 0, 1000, 0, NULL));
    ASSERT_TRUE(take(sh, &kb, 0, 1000, 0, NULL));
    ASSERT_TRUE(!take(sh, &ka2, 0, 1000, 0, NULL)); /* the same long key: same bucket */
    ASSERT_INT_EQ(ptc_limit_shm_used(sh), 2);
    /* a 32-byte key equal to a digest's bytes is still another key */
    ptc_limit_key_t raw;
    ASSERT_INT_EQ(ptc_limit_key(sh, ka.data, 32, &raw), PTC_OK);
    ASSERT_TRUE(take(sh, &raw, 0, 1000, 0, NULL));
    ASSERT_INT_EQ(ptc_limit_shm_used(sh), 3);
    free(sh);
}

TEST(conn_counts_up_to_the_limit_and_back)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    ptc_limit_key_t k = key_of(sh, "c");
    uint32_t n1 = 0, n2 = 0, n3 = 0;
    ASSERT_INT_EQ(ptc_limit_conn_take(sh, &k, 2, &n1), PTC_OK);
    ASSERT_INT_EQ(ptc_limit_conn_take(sh, &k, 2, &n2), PTC_OK);
    ASSERT_INT_EQ(ptc_limit_conn_take(sh, &k, 2, &n3), PTC_DECLINED);
    ASSERT_INT_EQ(ptc_limit_conn_count(sh, &k), 2);
    ptc_limit_conn_release(sh, n1);
    ASSERT_INT_EQ(ptc_limit_conn_take(sh, &k, 2, &n3), PTC_OK);
    ptc_limit_conn_release(sh, n2);
    ptc_limit_conn_release(sh, n3);
    ASSERT_INT_EQ(ptc_limit_conn_count(sh, &k), 0);
    ASSERT_INT_EQ(ptc_limit_shm_used(sh), 0); /* freed at zero */
    free(sh);
}

TEST(conn_keys_in_use_are_never_evicted)
{
    ptc_limit_shm_t *sh = zone(PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(sh);
    uint32_t cap = ptc_limit_shm_capacity(sh), node = 0;
    for (unsigned i = 0; i < cap; i++) {
        ptc_limit_key_t k = key_n(sh, i);
        ASSERT_INT_EQ(ptc_limit_conn_take(sh, &k, 1, &node), PTC_OK);
    }
    ptc_limit_key_t fresh = key_n(sh, cap), k0 = key_n(sh, 0);
    ASSERT_INT_EQ(ptc_limit_conn_take(sh, &fresh, 1, &node), PTC_ERROR);
    ASSERT_INT_EQ(ptc_limit_conn_count(sh, &k0), 1);
    ASSERT_INT_EQ(ptc_limit_shm_evicted(sh), 0);
    free(sh);
}

TEST(attach_keeps_state_and_checks_the_layout)
{
    size_t size = 64 * 1024;
    void *mem = aligned_alloc(64, size);
    ASSERT_NOT_NULL(mem);
    ptc_limit_shm_t *sh = ptc_limit_shm_init(mem, size, seed);
    ASSERT_NOT_NULL(sh);
    ptc_limit_key_t k = key_of(sh, "kept");
    ASSERT_TRUE(take(sh, &k, 0, 1000, 0, NULL));
    ptc_limit_shm_t *again = ptc_limit_shm_attach(mem, size);
    ASSERT_TRUE(again == sh);
    ASSERT_TRUE(!take(again, &k, 0, 1000, 0, NULL));
    ASSERT_NULL(ptc_limit_shm_attach(mem, size * 2));
    memset(mem, 0, size);
    ASSERT_NULL(ptc_limit_shm_attach(mem, size));
    free(mem);
}

TEST(too_small_zone_is_refused)
{
    void *mem = aligned_alloc(64, PTC_LIMIT_ZONE_MIN);
    ASSERT_NOT_NULL(mem);
    ASSERT_NULL(ptc_limit_shm_init(mem, PTC_LIMIT_ZONE_MIN - 64, seed));
    ASSERT_NOT_NULL(ptc_limit_shm_init(mem, PTC_LIMIT_ZONE_MIN, seed));
    free(mem);
}

void
suite_limit(void)
{
    RUN(siphash_reference_vectors);
    RUN(level_drains_at_the_rate_and_adds_one_request);
    RUN(level_when_the_clock_goes_back);
    RUN(level_never_overflows);
    RUN(burst_zero_admits_one_request_per_interval);
    RUN(burst_fills_then_refuses);
    RUN(a_test_without_commit_changes_nothing);
    RUN(keys_are_independent);
    RUN(full_zone_drops_the_least_recently_used_key);
    RUN(idle_drained_keys_expire_lazily);
    RUN(idle_keys_still_over_their_rate_are_kept);
    RUN(long_keys_are_stored_as_sha256);
    RUN(long_keys_differing_late_are_distinct);
    RUN(conn_counts_up_to_the_limit_and_back);
    RUN(conn_keys_in_use_are_never_evicted);
    RUN(attach_keeps_state_and_checks_the_layout);
    RUN(too_small_zone_is_refused);
}
