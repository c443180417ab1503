/* SPDX-License-Identifier: BSD-2-Clause */
/* Region allocator. Small allocations are carved from a chain of blocks;
 * big ones are malloc'd and listed so they die with the pool. Blocks that
 * fail to satisfy requests several times are skipped (the `current` hint),
 * so a long-lived pool does not rescan full blocks. */
#include "core/ptc_pool.h"

#include <string.h>

#include "core/ptc_alloc.h"

typedef struct pool_block_s pool_block_t;
struct pool_block_s {
    u_char *last;
    u_char *end;
    pool_block_t *next;
    unsigned failed;
};

typedef struct pool_large_s pool_large_t;
struct pool_large_s {
    pool_large_t *next;
    void *alloc;
};

struct ptc_pool_s {
    pool_block_t first; /* header of the first block, which starts after the pool */
    pool_block_t *current;
    pool_large_t *large;
    ptc_pool_cleanup_t *cleanup;
    size_t block_size;
    size_t max_small;
    size_t used;
};

#define POOL_ALIGN sizeof(void *)

ptc_pool_t *
ptc_pool_create(size_t size)
{
    if (size < sizeof(ptc_pool_t) + 256) {
        size = sizeof(ptc_pool_t) + 256;
    }
    ptc_pool_t *p = ptc_alloc(size);
    if (p == NULL) {
        return NULL;
    }
    p->first.last = (u_char *)p + sizeof(ptc_pool_t);
    p->first.end = (u_char *)p + size;
    p->first.next = NULL;
    p->first.failed = 0;
    p->current = &p->first;
    p->large = NULL;
    p->cleanup = NULL;
    p->block_size = size;
    p->max_small = (size - sizeof(ptc_pool_t)) / 2;
    p->used = 0;
    return p;
}

void
ptc_pool_destroy(ptc_pool_t *pool)
{
    if (pool == NULL) {
        return;
    }
    for (ptc_pool_cleanup_t *c = pool->cleanup; c; c = c->next) {
        if (c->handler) {
            c->handler(c->data);
        }
    }
    for (pool_large_t *l = pool->large; l; l = l->next) {
        ptc_free(l->alloc);
    }
    pool_block_t *b = pool->first.next;
    while (b) {
        pool_block_t *n = b->next;
        ptc_free(b);
        b = n;
    }
    ptc_free(pool);
}

static void *
pool_alloc_block(ptc_pool_t *pool, size_t size, bool align)
{
    size_t bsize = pool->block_size;
    pool_block_t *b = ptc_alloc(bsize);
    if (b == NULL) {
        return NULL;
    }
    b->end = (u_char *)b + bsize;
    b->next = NULL;
    b->failed = 0;
    u_char *m = (u_char *)b + sizeof(pool_block_t);
    if (align) {
        m = (u_char *)ptc_align((uintptr_t)m, POOL_ALIGN);
    }
    b->last = m + size;

    pool_block_t *t = pool->current;
    for (; t->next; t = t->next) {
        if (t->failed++ > 4) {
            pool->current = t->next;
        }
    }
    t->next = b;
    return m;
}

static void *
pool_alloc_large(ptc_pool_t *pool, size_t size)
{
    void *m = ptc_alloc(size);
    if (m == NULL) {
        return NULL;
    }
    pool_large_t *l = ptc_palloc(pool, sizeof(pool_large_t));
    if (l == NULL) {
        ptc_free(m);
        return NULL;
    }
    l->alloc = m;
    l->next = pool->large;
    pool->large = l;
    return m;
}

static void *
pool_alloc(ptc_pool_t *pool, size_t size, bool align)
{
    pool->used += size;
    if (size > pool->max_small) {
        return pool_alloc_large(pool, size);
    }
    for (pool_block_t *b = pool->current; b; b = b->next) {
        u_char *m = b->last;
        if (align) {
            m = (u_char *)ptc_align((uintptr_t)m, POOL_ALIGN);
        }
        if ((size_t)(b->end - m) >= size) {
            b->last = m + size;
            return m;
        }
    }
    return pool_alloc_block(pool, size, align);
}

void *
ptc_palloc(ptc_pool_t *pool, size_t size)
{
    return pool_alloc(pool, size, true);
}

void *
ptc_pnalloc(ptc_pool_t *pool, size_t size)
{
    return pool_alloc(pool, size, false);
}

void *
ptc_pcalloc(ptc_pool_t *pool, size_t size)
{
    void *p = pool_alloc(pool, size, true);
    if (p) {
        memset(p, 0, size);
    }
    return p;
}

int
ptc_pfree(ptc_pool_t *pool, void *p)
{
    for (pool_large_t *l = pool->large; l; l = l->next) {
        if (l->alloc == p) {
            ptc_free(l->alloc);
            l->alloc = NULL;
            return PTC_OK;
        }
    }
    return PTC_DECLINED;
}

ptc_pool_cleanup_t *
ptc_pool_cleanup_add(ptc_pool_t *pool, size_t size)
{
    ptc_pool_cleanup_t *c = ptc_palloc(pool, sizeof(ptc_pool_cleanup_t));
    if (c == NULL) {
        return NULL;
    }
    c->data = NULL;
    if (size) {
        c->data = ptc_palloc(pool, size);
        if (c->data == NULL) {
            return NULL;
        }
    }
    c->handler = NULL;
    c->next = pool->cleanup;
    pool->cleanup = c;
    return c;
}

void *
ptc_pool_cleanup_find(const ptc_pool_t *pool, ptc_pool_cleanup_fn handler)
{
    for (const ptc_pool_cleanup_t *c = pool->cleanup; c; c = c->next) {
        if (c->handler == handler) {
            return c->data;
        }
    }
    return NULL;
}

size_t
ptc_pool_used(const ptc_pool_t *pool)
{
    return pool->used;
}
