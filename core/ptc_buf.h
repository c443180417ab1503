/* SPDX-License-Identifier: BSD-2-Clause */
/* Buffers (memory or a file range) and chains of them. */
#ifndef PTC_CORE_BUF_H
#define PTC_CORE_BUF_H

#include <sys/types.h>

#include "core/ptc_types.h"

struct ptc_buf_s {
    u_char *start; /* memory: [start, end) is the allocation */
    u_char *pos;   /* [pos, last) is the data not yet consumed */
    u_char *last;
    u_char *end;
    off_t file_pos; /* in_file: [file_pos, file_last) of fd */
    off_t file_last;
    int fd;
    unsigned in_file : 1;
    unsigned last_buf : 1; /* no more data follows in this response */
    unsigned flush : 1;
    unsigned memory : 1; /* read-only memory (e.g. static strings) */
};

struct ptc_chain_s {
    ptc_buf_t *buf;
    ptc_chain_t *next;
};

/* A memory buffer of `size` bytes from the pool; NULL on failure. */
ptc_buf_t *ptc_buf_create(ptc_pool_t *pool, size_t size);
/* A zeroed buffer header without memory. */
ptc_buf_t *ptc_buf_calloc(ptc_pool_t *pool);
ptc_chain_t *ptc_chain_alloc(ptc_pool_t *pool);
/* Bytes remaining in a buffer (memory or file). */
off_t ptc_buf_size(const ptc_buf_t *b);

#endif
