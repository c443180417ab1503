/* SPDX-License-Identifier: BSD-2-Clause */
#include "core/ptc_buf.h"

#include "core/ptc_pool.h"

ptc_buf_t *
ptc_buf_calloc(ptc_pool_t *pool)
{
    ptc_buf_t *b = ptc_pcalloc(pool, sizeof(ptc_buf_t));
    if (b) {
        b->fd = -1;
    }
    return b;
}

ptc_buf_t *
ptc_buf_create(ptc_pool_t *pool, size_t size)
{
    ptc_buf_t *b = ptc_buf_calloc(pool);
    if (b == NULL) {
        return NULL;
    }
    b->start = ptc_pnalloc(pool, size);
    if (b->start == NULL) {
        return NULL;
    }
    b->pos = b->start;
    b->last = b->start;
    b->end = b->start + size;
    return b;
}

ptc_chain_t *
ptc_chain_alloc(ptc_pool_t *pool)
{
    ptc_chain_t *cl = ptc_palloc(pool, sizeof(ptc_chain_t));
    if (cl) {
        cl->buf = NULL;
        cl->next = NULL;
    }
    return cl;
}

off_t
ptc_buf_size(const ptc_buf_t *b)
{
    if (b->in_file) {
        return b->file_last - b->file_pos;
    }
    return b->last - b->pos;
}
