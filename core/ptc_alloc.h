/* SPDX-License-Identifier: BSD-2-Clause */
/* The only doorway to the C heap. Failures are logged with the size asked. */
#ifndef PTC_CORE_ALLOC_H
#define PTC_CORE_ALLOC_H

#include "core/ptc_types.h"

/* Return NULL (after logging to stderr/error log) when memory is exhausted. */
void *ptc_alloc(size_t size);
void *ptc_calloc(size_t size);
void *ptc_realloc(void *p, size_t size);
void ptc_free(void *p);
/* Page-aligned allocation for buffers handed to O_DIRECT-like paths; freed by ptc_free. */
void *ptc_memalign(size_t alignment, size_t size);

#endif
