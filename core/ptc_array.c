/* SPDX-License-Identifier: BSD-2-Clause */
#include "core/ptc_array.h"

#include <string.h>

#include "core/ptc_pool.h"

ptc_array_t *
ptc_array_create(ptc_pool_t *pool, size_t n, size_t size)
{
    ptc_array_t *a = ptc_palloc(pool, sizeof(ptc_array_t));
    if (a == NULL || ptc_array_init(a, pool, n, size) != PTC_OK) {
        return NULL;
    }
    return a;
}

int
ptc_array_init(ptc_array_t *a, ptc_pool_t *pool, size_t n, size_t size)
{
    if (n == 0) {
        n = 1;
    }
    a->nelts = 0;
    a->size = size;
    a->nalloc = n;
    a->pool = pool;
    a->elts = ptc_palloc(pool, n * size);
    return a->elts ? PTC_OK : PTC_ERROR;
}

void *
ptc_array_push_n(ptc_array_t *a, size_t n)
{
    if (a->nelts + n > a->nalloc) {
        size_t nalloc = 2 * (n >= a->nalloc ? n : a->nalloc);
        void *e = ptc_palloc(a->pool, nalloc * a->size);
        if (e == NULL) {
            return NULL;
        }
        memcpy(e, a->elts, a->nelts * a->size);
        /* The old storage stays in the pool until it dies: pools never free. */
        a->elts = e;
        a->nalloc = nalloc;
    }
    void *elt = (u_char *)a->elts + a->size * a->nelts;
    a->nelts += n;
    return elt;
}

void *
ptc_array_push(ptc_array_t *a)
{
    return ptc_array_push_n(a, 1);
}
