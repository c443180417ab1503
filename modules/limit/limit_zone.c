/* SPDX-License-Identifier: BSD-2-Clause */
/* Key table, leaky buckets and connection counts of limit zones; the
 * layout and its reasons are described in limit_zone.h. */
#include "modules/limit/limit_zone.h"

#include <errno.h>
#include <openssl/sha.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include "core/ptc_log.h"

#define LIMIT_MAGIC 0x4c4d5a31u /* "LMZ1": bump when the layout changes */

typedef struct {
    uint32_t hnext; /* next node of the same bucket */
    uint32_t prev;  /* LRU neighbour towards the most recently used */
    uint32_t next;  /* LRU neighbour towards the least recently used */
    uint32_t hash;
    uint64_t last;  /* limit_req: when the level was last recorded (ms) */
    uint32_t value; /* limit_req: level (milli-requests); limit_conn: count */
    uint8_t klen;   /* 0: free node */
    uint8_t pad[3];
    u_char key[PTC_LIMIT_KEY_INLINE];
} limit_node_t;

struct ptc_limit_shm_s {
    uint32_t lock; /* pid of the holder, 0 when free; alone on its cache line */
    uint8_t pad0[60];
    uint32_t magic;
    uint32_t size_lo, size_hi; /* the zone size the layout was made for */
    uint32_t nnodes;
    uint32_t nbuckets; /* power of two */
    uint32_t used;
    uint32_t lru_head; /* most recently used */
    uint32_t lru_tail; /* least recently used: evicted first */
    uint32_t free;     /* freed nodes, linked by hnext */
    uint32_t fresh;    /* nodes 1..fresh have been used: the rest is untouched memory */
    uint64_t evicted;
    uint8_t seed[16];
};

_Static_assert(sizeof(limit_node_t) == 64, "a node is one cache line");

#define LIMIT_HEAD ptc_align(sizeof(ptc_limit_shm_t), 64)

static uint32_t *
limit_buckets(ptc_limit_shm_t *sh)
{
    return (uint32_t *)((u_char *)sh + LIMIT_HEAD);
}

/* Node number n (1-based). */
static limit_node_t *
limit_node(ptc_limit_shm_t *sh, uint32_t n)
{
    size_t off = LIMIT_HEAD + ptc_align((size_t)sh->nbuckets * sizeof(uint32_t), 64);
    return (limit_node_t *)((u_char *)sh + off) + (n - 1);
}

/* ---- lock ---- */

static void
limit_lock(ptc_limit_shm_t *sh)
{
    uint32_t me = (uint32_t)(ptc_process_slot_pid ? ptc_process_slot_pid : getpid());
    for (unsigned spins = 1;; spins++) {
        uint32_t holder = 0;
        if (__atomic_compare_exchange_n(&sh->lock, &holder, me, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            return;
        }
        if (spins % 1024 != 0) {
            __builtin_ia32_pause();
            continue;
        }
        /* Held for long: the holder may be off the CPU (yield to it) or
         * dead (a crashed worker never unlocks: take the lock over). */
        if (holder != 0 && kill((pid_t)holder, 0) == -1 && errno == ESRCH
            && __atomic_compare_exchange_n(&sh->lock, &holder, me, false, __ATOMIC_ACQUIRE,
                                           __ATOMIC_RELAXED)) {
            return;
        }
        sched_yield();
    }
}

static void
limit_unlock(ptc_limit_shm_t *sh)
{
    __atomic_store_n(&sh->lock, 0, __ATOMIC_RELEASE);
}

/* ---- layout ---- */

ptc_limit_shm_t *
ptc_limit_shm_init(void *mem, size_t size, const uint8_t seed[16])
{
    if (size < PTC_LIMIT_ZONE_MIN || (uintptr_t)mem % 64 != 0) {
        return NULL;
    }
    ptc_limit_shm_t *sh = mem;
    memset(sh, 0, sizeof(*sh));
    size_t avail = size - LIMIT_HEAD - 64; /* 64: alignment of the nodes */
    size_t est = avail / (sizeof(limit_node_t) + sizeof(uint32_t));
    if (est > UINT32_MAX / 2) {
        est = UINT32_MAX / 2;
    }
    uint32_t nb = 1;
    while ((size_t)nb * 2 <= est) {
        nb *= 2;
    }
    sh->nbuckets = nb;
    size_t nodes = (avail - (size_t)nb * sizeof(uint32_t)) / sizeof(limit_node_t);
    sh->nnodes = (uint32_t)ptc_min(nodes, (size_t)UINT32_MAX - 1);
    sh->magic = LIMIT_MAGIC;
    sh->size_lo = (uint32_t)size;
    sh->size_hi = (uint32_t)((uint64_t)size >> 32);
    memcpy(sh->seed, seed, sizeof(sh->seed));
    /* nodes are initialized when first used: a large zone's memory is not
     * touched (and so not made resident) before it is needed */
    memset(limit_buckets(sh), 0, (size_t)nb * sizeof(uint32_t));
    return sh;
}

ptc_limit_shm_t *
ptc_limit_shm_attach(void *mem, size_t size)
{
    ptc_limit_shm_t *sh = mem;
    if (size < PTC_LIMIT_ZONE_MIN || sh->magic != LIMIT_MAGIC || sh->size_lo != (uint32_t)size
        || sh->size_hi != (uint32_t)((uint64_t)size >> 32)) {
        return NULL;
    }
    return sh;
}

uint32_t
ptc_limit_shm_capacity(ptc_limit_shm_t *sh)
{
    return sh->nnodes;
}

uint32_t
ptc_limit_shm_used(ptc_limit_shm_t *sh)
{
    return __atomic_load_n(&sh->used, __ATOMIC_RELAXED);
}

uint64_t
ptc_limit_shm_evicted(ptc_limit_shm_t *sh)
{
    return __atomic_load_n(&sh->evicted, __ATOMIC_RELAXED);
}

/* ---- keys ---- */

static uint64_t
limit_le64(const u_char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

uint64_t
ptc_limit_siphash(const uint8_t key[16], const u_char *data, size_t len)
{
    uint64_t k0 = limit_le64(key), k1 = limit_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = limit_le64(data + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    /* the last block: the remaining bytes, and the length in the top byte */
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = len & 7; i > 0; i--) {
        b |= (uint64_t)data[full + i - 1] << (8 * (i - 1));
    }
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

int
ptc_limit_key(ptc_limit_shm_t *sh, const u_char *data, size_t len, ptc_limit_key_t *key)
{
    if (len <= PTC_LIMIT_KEY_INLINE) {
        key->len = (uint8_t)len;
        memcpy(key->data, data, len);
        memset(key->data + len, 0, PTC_LIMIT_KEY_INLINE - len);
    } else {
        if (SHA256(data, len, key->data) == NULL) {
            return PTC_ERROR;
        }
        key->len = PTC_LIMIT_KEY_DIGEST;
    }
    size_t n = key->len == PTC_LIMIT_KEY_DIGEST ? PTC_LIMIT_KEY_INLINE : key->len;
    key->hash = (uint32_t)ptc_limit_siphash(sh->seed, key->data, n);
    return PTC_OK;
}

static bool
limit_key_is(const limit_node_t *node, const ptc_limit_key_t *key)
{
    size_t n = key->len == PTC_LIMIT_KEY_DIGEST ? PTC_LIMIT_KEY_INLINE : key->len;
    return node->hash == key->hash && node->klen == key->len
           && memcmp(node->key, key->data, n) == 0;
}

/* ---- the LRU list ---- */

static void
limit_lru_unlink(ptc_limit_shm_t *sh, uint32_t n)
{
    limit_node_t *node = limit_node(sh, n);
    if (node->prev) {
        limit_node(sh, node->prev)->next = node->next;
    } else {
        sh->lru_head = node->next;
    }
    if (node->next) {
        limit_node(sh, node->next)->prev = node->prev;
    } else {
        sh->lru_tail = node->prev;
    }
    node->prev = node->next = 0;
}

static void
limit_lru_push(ptc_limit_shm_t *sh, uint32_t n)
{
    limit_node_t *node = limit_node(sh, n);
    node->prev = 0;
    node->next = sh->lru_head;
    if (sh->lru_head) {
        limit_node(sh, sh->lru_head)->prev = n;
    } else {
        sh->lru_tail = n;
    }
    sh->lru_head = n;
}

/* ---- the table ---- */

/* Unlink node n from its bucket chain, the LRU list, and free it. */
static void
limit_remove(ptc_limit_shm_t *sh, uint32_t n)
{
    limit_node_t *node = limit_node(sh, n);
    uint32_t *link = &limit_buckets(sh)[node->hash & (sh->nbuckets - 1)];
    for (uint32_t guard = 0; *link && guard < sh->nnodes; guard++) {
        if (*link == n) {
            *link = node->hnext;
            break;
        }
        link = &limit_node(sh, *link)->hnext;
    }
    limit_lru_unlink(sh, n);
    node->klen = 0;
    node->hnext = sh->free;
    sh->free = n;
    sh->used--;
}

static uint32_t
limit_find(ptc_limit_shm_t *sh, const ptc_limit_key_t *key)
{
    uint32_t n = limit_buckets(sh)[key->hash & (sh->nbuckets - 1)];
    for (uint32_t guard = 0; n && guard < sh->nnodes; guard++) {
        limit_node_t *node = limit_node(sh, n);
        if (limit_key_is(node, key)) {
            return n;
        }
        n = node->hnext;
    }
    return 0;
}

/* A node for a new key: a freed one, else one never used, else (evict)
 * the least recently used key's; 0 when there is none. */
static uint32_t
limit_alloc(ptc_limit_shm_t *sh, const ptc_limit_key_t *key, bool evict)
{
    if (sh->free == 0 && sh->fresh == sh->nnodes) {
        if (!evict || sh->lru_tail == 0) {
            return 0;
        }
        limit_remove(sh, sh->lru_tail);
        sh->evicted++;
    }
    uint32_t n;
    if (sh->free) {
        n = sh->free;
        sh->free = limit_node(sh, n)->hnext;
    } else {
        n = ++sh->fresh;
    }
    limit_node_t *node = limit_node(sh, n);
    memset(node, 0, sizeof(*node));
    node->hash = key->hash;
    node->klen = key->len;
    memcpy(node->key, key->data, sizeof(node->key));
    uint32_t *head = &limit_buckets(sh)[key->hash & (sh->nbuckets - 1)];
    node->hnext = *head;
    *head = n;
    limit_lru_push(sh, n);
    sh->used++;
    return n;
}

/* ---- limit_req ---- */

/* Milli-requests leaked at `rate` in `ms` milliseconds (saturating). */
static uint64_t
limit_drained(uint64_t rate, uint64_t ms)
{
    if (rate != 0 && ms > UINT64_MAX / rate) {
        return UINT64_MAX;
    }
    return rate * ms / 1000;
}

uint64_t
ptc_limit_req_level(uint64_t excess, ptc_msec_t last, ptc_msec_t now, uint64_t rate)
{
    int64_t ms = (int64_t)(now - last);
    if (ms < -60000) {
        ms = 1;
    } else if (ms < 0) {
        ms = 0;
    }
    uint64_t drained = limit_drained(rate, (uint64_t)ms);
    return drained >= excess + 1000 ? 0 : excess + 1000 - drained;
}

/* Free up to two idle keys whose bucket has drained, from the LRU end. */
static void
limit_req_expire(ptc_limit_shm_t *sh, ptc_msec_t now, uint64_t rate)
{
    for (int i = 0; i < 2 && sh->lru_tail; i++) {
        limit_node_t *node = limit_node(sh, sh->lru_tail);
        int64_t ms = (int64_t)(now - node->last);
        if (ms < PTC_LIMIT_IDLE_MS || limit_drained(rate, (uint64_t)ms) < node->value) {
            return;
        }
        limit_remove(sh, sh->lru_tail);
    }
}

bool
ptc_limit_req_take(ptc_limit_shm_t *sh, const ptc_limit_key_t *key, ptc_msec_t now, uint64_t rate,
                   uint64_t burst, bool commit, uint64_t *excess)
{
    limit_lock(sh);
    limit_req_expire(sh, now, rate);
    uint32_t n = limit_find(sh, key);
    if (n == 0) {
        n = limit_alloc(sh, key, true);
        if (n) {
            limit_node(sh, n)->last = now;
        }
        limit_unlock(sh);
        *excess = 0;
        return true;
    }
    limit_node_t *node = limit_node(sh, n);
    limit_lru_unlink(sh, n);
    limit_lru_push(sh, n);
    uint64_t level = ptc_limit_req_level(node->value, node->last, now, rate);
    *excess = level;
    bool fits = level <= burst;
    if (fits && commit) {
        node->value = (uint32_t)ptc_min(level, (uint64_t)UINT32_MAX);
        node->last = now;
    }
    limit_unlock(sh);
    return fits;
}

/* ---- limit_conn ---- */

int
ptc_limit_conn_take(ptc_limit_shm_t *sh, const ptc_limit_key_t *key, uint32_t max,
                    uint32_t *node_out)
{
    int rc = PTC_OK;
    limit_lock(sh);
    uint32_t n = limit_find(sh, key);
    if (n == 0) {
        n = limit_alloc(sh, key, false);
    }
    if (n == 0) {
        rc = PTC_ERROR;
    } else if (limit_node(sh, n)->value >= max) {
        rc = PTC_DECLINED;
    } else {
        limit_node(sh, n)->value++;
        *node_out = n;
    }
    limit_unlock(sh);
    return rc;
}

void
ptc_limit_conn_release(ptc_limit_shm_t *sh, uint32_t n)
{
    limit_lock(sh);
    if (n >= 1 && n <= sh->fresh) {
        limit_node_t *node = limit_node(sh, n);
        if (node->klen && node->value > 0 && --node->value == 0) {
            limit_remove(sh, n);
        }
    }
    limit_unlock(sh);
}

uint32_t
ptc_limit_conn_count(ptc_limit_shm_t *sh, const ptc_limit_key_t *key)
{
    limit_lock(sh);
    uint32_t n = limit_find(sh, key);
    uint32_t count = n ? limit_node(sh, n)->value : 0;
    limit_unlock(sh);
    return count;
}
