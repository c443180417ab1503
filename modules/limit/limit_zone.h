/* SPDX-License-Identifier: BSD-2-Clause */
/* The shared-memory state of limit_req and limit_conn zones: a table of
 * keys, each with a leaky bucket (limit_req) or a connection count
 * (limit_conn). Pure code over one mapped region: no HTTP, no I/O; the
 * caller passes the clock.
 *
 * Layout (every link is a 32-bit node number, 1-based, 0 = none, so the
 * zone holds no pointers and means the same in every process):
 *
 *   [header: lock word alone on its cache line | geometry, LRU ends,
 *    free list, hash seed, counters]
 *   [bucket heads: uint32_t[nbuckets], a power of two, 1 to 2 nodes each]
 *   [nodes: 64 bytes each, one cache line: bucket chain, LRU links, hash,
 *    bucket state, key]
 *
 * Why: fixed-size nodes need no allocator inside the zone (nothing to
 * fragment, no slab pages to manage), and the capacity is known when the
 * zone is laid out. One node per cache line keeps a lookup to a few line
 * fills. Chained buckets (open hashing) make removal trivial, which LRU
 * eviction and expiry do all the time. Keys of up to 32 bytes (any binary
 * address, short header values) are stored as they are; a longer key is
 * stored as its SHA-256 digest, so a node never grows and two different
 * keys never share a bucket in practice. Bucket positions come from a
 * keyed hash (SipHash-2-4 with a random per-zone key), so clients cannot
 * aim many keys at one chain. When every node is taken, the least recently
 * used key is dropped to make room (nginx refuses the request instead);
 * idle keys whose bucket has drained are also freed lazily, two at most
 * per new key. limit_conn keys hold a count while requests are active and
 * are freed when it returns to zero, so they are never evicted.
 *
 * Locking: one process-shared spin lock per zone, taken inside each call
 * below and held for a single lookup/update. */
#ifndef PTC_MODULES_LIMIT_ZONE_H
#define PTC_MODULES_LIMIT_ZONE_H

#include "core/ptc_str.h"
#include "core/ptc_types.h"

#define PTC_LIMIT_KEY_INLINE 32          /* longer keys are stored as a digest */
#define PTC_LIMIT_KEY_DIGEST 33          /* klen of a digest key */
#define PTC_LIMIT_ZONE_MIN   (32 * 1024) /* as nginx: smaller zones are refused */
#define PTC_LIMIT_IDLE_MS    60000       /* a key idle this long may be expired */

typedef struct ptc_limit_shm_s ptc_limit_shm_t;

/* A key prepared for lookups: computed once per request and zone. */
typedef struct {
    uint32_t hash;
    uint8_t len; /* 1..32: bytes of data; PTC_LIMIT_KEY_DIGEST: data is a SHA-256 */
    u_char data[PTC_LIMIT_KEY_INLINE];
} ptc_limit_key_t;

/* Lay out an empty zone over `size` bytes at mem, with `seed` (16 random
 * bytes) keying the hash. NULL if the size cannot hold a useful table
 * (below PTC_LIMIT_ZONE_MIN). */
ptc_limit_shm_t *ptc_limit_shm_init(void *mem, size_t size, const uint8_t seed[16]);
/* Take over a zone laid out earlier (a reload kept the mapping): the header
 * must match size and layout. Every key and bucket is kept. NULL if not. */
ptc_limit_shm_t *ptc_limit_shm_attach(void *mem, size_t size);

/* Capacity (nodes) and keys currently held. */
uint32_t ptc_limit_shm_capacity(ptc_limit_shm_t *sh);
uint32_t ptc_limit_shm_used(ptc_limit_shm_t *sh);
/* Keys dropped so far to make room for new ones. */
uint64_t ptc_limit_shm_evicted(ptc_limit_shm_t *sh);

/* Prepare key bytes for this zone (digest when longer than 32 bytes).
 * PTC_OK, or PTC_ERROR if the digest could not be computed. len > 0. */
int ptc_limit_key(ptc_limit_shm_t *sh, const u_char *data, size_t len, ptc_limit_key_t *key);

/* ---- limit_req: leaky buckets ----
 * Levels are in milli-requests and rates in milli-requests per second
 * (10r/s = 10000, 30r/m = 500), as nginx keeps them. */

/* The level a bucket reaches when one more request arrives `now`: the old
 * level drained at `rate` since `last`, plus one request, never below
 * zero. A clock that went back up to a minute counts as no time; further
 * back, as 1 ms. Pure. */
uint64_t ptc_limit_req_level(uint64_t excess, ptc_msec_t last, ptc_msec_t now, uint64_t rate);

/* Look up (or create) the key's bucket and test one request against it.
 * The request fits when the new level is at most `burst` (milli-requests);
 * then, with `commit`, the level is recorded. A new key starts empty and,
 * as in nginx, its first committed request leaves it empty. *excess gets the
 * level the request would bring the bucket to (the one tested). Returns
 * true when it fits. Never fails: a full zone drops its least recently used
 * key. */
bool ptc_limit_req_take(ptc_limit_shm_t *sh, const ptc_limit_key_t *key, ptc_msec_t now,
                        uint64_t rate, uint64_t burst, bool commit, uint64_t *excess);

/* ---- limit_conn: counts ---- */

/* Count one more request for the key unless it already holds `max`.
 * PTC_OK: counted, *node names the key for ptc_limit_conn_release.
 * PTC_DECLINED: at the limit, nothing counted. PTC_ERROR: every node
 * holds active requests, nothing counted. */
int ptc_limit_conn_take(ptc_limit_shm_t *sh, const ptc_limit_key_t *key, uint32_t max,
                        uint32_t *node);
/* Give back one count taken with ptc_limit_conn_take; the key is freed
 * when its count reaches zero. */
void ptc_limit_conn_release(ptc_limit_shm_t *sh, uint32_t node);
/* The key's current count (0 when unknown); for tests and status pages. */
uint32_t ptc_limit_conn_count(ptc_limit_shm_t *sh, const ptc_limit_key_t *key);

/* SipHash-2-4 of data under a 128-bit key (exposed for its test vectors). */
uint64_t ptc_limit_siphash(const uint8_t key[16], const u_char *data, size_t len);

#endif
