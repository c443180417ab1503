/* SPDX-License-Identifier: BSD-2-Clause */
/* Key-hashing balancers: ip_hash, `hash KEY` and `hash KEY consistent`.
 *
 * ip_hash and hash map a 32-bit hash h onto the weighted line of all peers
 * of the tier (down ones too, so one going down moves no other key): the
 * peer owning slot h % total_weight. If that peer is unusable, h is mixed
 * into a new hash and the walk retried, at most HASH_TRIES times, then
 * round robin decides. ip_hash hashes CRC-32 of the first three bytes of
 * an IPv4 key (the /24) or all 16 of an IPv6 one; hash uses CRC-32 of the key.
 *
 * consistent builds a ring of 160 * weight points per peer. Point j of a
 * peer is mix32(CRC-32(name "\0" j)), j as 4 bytes little endian, name the
 * peer's address ("10.0.0.1:80"; its `server` text if it has none). A key
 * goes to the first point >= CRC-32(key), wrapping round, skipping points
 * of unusable peers. Removing a peer only moves the keys that were on it. */
#include "modules/upstream/upstream.h"

#include <stdlib.h>

#include "core/ptc_pool.h"

#define HASH_PEERS_MAX   (sizeof(((ptc_upstream_pick_t *)0)->tried) * 8)
#define HASH_TRIES       20
#define HASH_RING_POINTS 160
#define HASH_REHASH_STEP 0x9e3779b9U

typedef struct {
    uint32_t hash;
    uint32_t peer; /* index into the tier's peers */
} hash_point_t;

/* Data of `hash KEY consistent`: the points sorted by (hash, peer). */
typedef struct {
    hash_point_t *points;
    size_t npoints;
} hash_ring_t;

/* CRC-32 of every nibble value, reflected polynomial 0xedb88320. */
static const uint32_t hash_crc_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

/* Raw CRC register update: no initial or final inversion. */
static uint32_t
hash_crc32_update(uint32_t crc, const u_char *data, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ hash_crc_nibble[crc & 15];
        crc = (crc >> 4) ^ hash_crc_nibble[crc & 15];
    }
    return crc;
}

uint32_t
ptc_upstream_crc32(const void *data, size_t len)
{
    return ~hash_crc32_update(0xffffffffU, data, len);
}

/* A bijective xorshift-multiply mixer: every input bit affects every
 * output bit, which CRC's linearity does not give. */
static uint32_t
hash_mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static uint64_t
hash_total_weight(const ptc_upstream_peer_t *peers, size_t n)
{
    uint64_t total = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        total += (uint64_t)ptc_max(peers[i].weight, 0);
    }
    return total;
}

/* The peer owning slot w (< total weight) of the weighted line. */
static size_t
hash_peer_at(const ptc_upstream_peer_t *peers, size_t n, uint64_t w)
{
    size_t i;

    for (i = 0; i + 1 < n; i++) {
        if (w < (uint64_t)ptc_max(peers[i].weight, 0)) {
            break;
        }
        w -= (uint64_t)ptc_max(peers[i].weight, 0);
    }
    return i;
}

/* Pick by the chain of hashes starting at h (ip_hash and hash). */
static int
hash_pick_chain(uint32_t h, ptc_upstream_peer_t *peers, size_t n, ptc_upstream_pick_t *p)
{
    uint64_t total;
    size_t i;
    int t;

    n = ptc_min(n, HASH_PEERS_MAX);
    total = hash_total_weight(peers, n);
    for (t = 0; total > 0 && t < HASH_TRIES; t++) {
        i = hash_peer_at(peers, n, h % total);
        if (ptc_upstream_peer_usable(&peers[i], i, p)) {
            ptc_upstream_peer_choose(peers, i, p);
            return (int)i;
        }
        h = hash_mix32(h + HASH_REHASH_STEP);
    }
    return ptc_upstream_round_robin.pick(NULL, peers, n, p);
}

static void *
hash_init(ptc_pool_t *pool, ptc_upstream_peer_t *peers, size_t n, const void *conf)
{
    /* the fallback is round robin, whose weights start here */
    return ptc_upstream_round_robin.init(pool, peers, n, NULL);
}

static int
hash_ip_pick(void *data, ptc_upstream_peer_t *peers, size_t n, ptc_upstream_pick_t *p)
{
    size_t len;

    switch (p->key.len) {
    case 4: /* IPv4: clients of one /24 stick to one peer */
        len = 3;
        break;
    case 16:
        len = 16;
        break;
    default: /* not an IP client (unix socket): nothing to hash */
        return ptc_upstream_round_robin.pick(NULL, peers, n, p);
    }
    return hash_pick_chain(ptc_upstream_crc32(p->key.data, len), peers, n, p);
}

static int
hash_key_pick(void *data, ptc_upstream_peer_t *peers, size_t n, ptc_upstream_pick_t *p)
{
    return hash_pick_chain(ptc_upstream_crc32(p->key.data, p->key.len), peers, n, p);
}

static int
hash_point_cmp(const void *a, const void *b)
{
    const hash_point_t *pa = a, *pb = b;

    if (pa->hash != pb->hash) {
        return pa->hash < pb->hash ? -1 : 1;
    }
    return pa->peer < pb->peer ? -1 : pa->peer > pb->peer;
}

/* Fill out[0..count) with the ring points of peers[index]. */
static void
hash_peer_points(hash_point_t *out, size_t count, const ptc_upstream_peer_t *peer, uint32_t index)
{
    const ptc_str_t *id = peer->name.len > 0 ? &peer->name : &peer->server;
    u_char counter[4];
    uint32_t base;
    size_t j;

    base = hash_crc32_update(0xffffffffU, id->data, id->len);
    base = hash_crc32_update(base, (const u_char *)"", 1);
    for (j = 0; j < count; j++) {
        counter[0] = (u_char)j;
        counter[1] = (u_char)(j >> 8);
        counter[2] = (u_char)(j >> 16);
        counter[3] = (u_char)(j >> 24);
        out[j].hash = hash_mix32(~hash_crc32_update(base, counter, 4));
        out[j].peer = index;
    }
}

static void *
hash_ring_init(ptc_pool_t *pool, ptc_upstream_peer_t *peers, size_t n, const void *conf)
{
    hash_ring_t *ring;
    size_t i, count, per;

    ptc_upstream_round_robin.init(pool, peers, n, NULL);
    n = ptc_min(n, HASH_PEERS_MAX);
    ring = ptc_pcalloc(pool, sizeof(hash_ring_t));
    if (ring == NULL) {
        return NULL;
    }
    ring->npoints = HASH_RING_POINTS * hash_total_weight(peers, n);
    if (ring->npoints == 0) {
        return ring;
    }
    ring->points = ptc_palloc(pool, ring->npoints * sizeof(hash_point_t));
    if (ring->points == NULL) {
        return NULL;
    }
    for (i = 0, count = 0; i < n; i++) {
        per = HASH_RING_POINTS * (size_t)ptc_max(peers[i].weight, 0);
        hash_peer_points(ring->points + count, per, &peers[i], (uint32_t)i);
        count += per;
    }
    qsort(ring->points, ring->npoints, sizeof(hash_point_t), hash_point_cmp);
    return ring;
}

/* Index of the first point whose hash is >= h (npoints when none is). */
static size_t
hash_ring_find(const hash_ring_t *ring, uint32_t h)
{
    size_t lo = 0, hi = ring->npoints, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (ring->points[mid].hash < h) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static bool
hash_any_usable(ptc_upstream_peer_t *peers, size_t n, const ptc_upstream_pick_t *p)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (ptc_upstream_peer_usable(&peers[i], i, p)) {
            return true;
        }
    }
    return false;
}

static int
hash_ring_pick(void *data, ptc_upstream_peer_t *peers, size_t n, ptc_upstream_pick_t *p)
{
    const hash_ring_t *ring = data;
    const hash_point_t *pt;
    size_t start, k;

    n = ptc_min(n, HASH_PEERS_MAX);
    /* checked first so that the walk below always ends early */
    if (ring->npoints == 0 || !hash_any_usable(peers, n, p)) {
        return -1;
    }
    /* CRC-32 of similar short keys ("key1", "key2") is too regular to spread
     * them over the ring: mix it like the points */
    start = hash_ring_find(ring, hash_mix32(ptc_upstream_crc32(p->key.data, p->key.len)));
    for (k = 0; k < ring->npoints; k++) {
        pt = &ring->points[(start + k) % ring->npoints];
        if (pt->peer < n && ptc_upstream_peer_usable(&peers[pt->peer], pt->peer, p)) {
            ptc_upstream_peer_choose(peers, pt->peer, p);
            return (int)pt->peer;
        }
    }
    return -1;
}

const ptc_upstream_balancer_t ptc_upstream_ip_hash = {
    .name = "ip_hash",
    .init = hash_init,
    .pick = hash_ip_pick,
};

const ptc_upstream_balancer_t ptc_upstream_hash = {
    .name = "hash",
    .init = hash_init,
    .pick = hash_key_pick,
};

const ptc_upstream_balancer_t ptc_upstream_hash_consistent = {
    .name = "hash_consistent",
    .init = hash_ring_init,
    .pick = hash_ring_pick,
};
