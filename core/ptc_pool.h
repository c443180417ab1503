/* SPDX-License-Identifier: BSD-2-Clause */
/* Region allocator: allocate freely, free everything at once with
 * ptc_pool_destroy(). Cleanup handlers release non-memory resources (fds,
 * regex match data) when the pool goes. One pool per cycle, connection and
 * request. */
#ifndef PTC_CORE_POOL_H
#define PTC_CORE_POOL_H

#include "core/ptc_types.h"

typedef void (*ptc_pool_cleanup_fn)(void *data);

typedef struct ptc_pool_cleanup_s ptc_pool_cleanup_t;
struct ptc_pool_cleanup_s {
    ptc_pool_cleanup_fn handler;
    void *data;
    ptc_pool_cleanup_t *next;
};

/* Create a pool whose blocks are `size` bytes (requests above a quarter of
 * that go to individually allocated "large" chunks). NULL on failure. */
ptc_pool_t *ptc_pool_create(size_t size);
/* Run cleanups (last added first), free every block. NULL-safe. */
void ptc_pool_destroy(ptc_pool_t *pool);

/* Aligned (pointer-size) allocation; NULL on failure. */
void *ptc_palloc(ptc_pool_t *pool, size_t size);
/* Unaligned allocation, for byte strings. */
void *ptc_pnalloc(ptc_pool_t *pool, size_t size);
/* Zeroed aligned allocation. */
void *ptc_pcalloc(ptc_pool_t *pool, size_t size);
/* Give back a large allocation early (PTC_OK) or PTC_DECLINED if p is not one. */
int ptc_pfree(ptc_pool_t *pool, void *p);

/* Register a cleanup with `size` bytes of data allocated from the pool
 * (size 0: data is NULL, caller sets it). NULL on failure. */
ptc_pool_cleanup_t *ptc_pool_cleanup_add(ptc_pool_t *pool, size_t size);
/* The data of the most recently added cleanup whose handler is `handler`,
 * or NULL if there is none. Lets a module find state it hung on a request
 * pool again after an internal redirect cleared the request's ctx. */
void *ptc_pool_cleanup_find(const ptc_pool_t *pool, ptc_pool_cleanup_fn handler);

/* Bytes handed out so far, for tests and stats. */
size_t ptc_pool_used(const ptc_pool_t *pool);

#endif
