/* SPDX-License-Identifier: BSD-2-Clause */
/* Growable array allocated from a pool; growth copies, so never keep
 * element pointers across a push. */
#ifndef PTC_CORE_ARRAY_H
#define PTC_CORE_ARRAY_H

#include "core/ptc_types.h"

typedef struct {
    void *elts;
    size_t nelts;
    size_t size; /* element size */
    size_t nalloc;
    ptc_pool_t *pool;
} ptc_array_t;

/* NULL on failure. */
ptc_array_t *ptc_array_create(ptc_pool_t *pool, size_t n, size_t size);
/* PTC_OK / PTC_ERROR. */
int ptc_array_init(ptc_array_t *a, ptc_pool_t *pool, size_t n, size_t size);
/* Pointer to a new uninitialised element, NULL on failure. */
void *ptc_array_push(ptc_array_t *a);
void *ptc_array_push_n(ptc_array_t *a, size_t n);

#define ptc_array_at(a, type, i) (&((type *)(a)->elts)[i])

#endif
