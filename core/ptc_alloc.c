/* SPDX-License-Identifier: BSD-2-Clause */
/* Heap wrappers. jemalloc, when linked, replaces malloc itself (Debian's
 * libjemalloc overrides the symbols), so no #ifdef is needed here. */
#include "core/ptc_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
alloc_failed(size_t size)
{
    /* The error log may itself need memory; stderr is always there. */
    fprintf(stderr, PTC_NAME ": malloc(%zu) failed\n", size);
}

void *
ptc_alloc(size_t size)
{
    void *p = malloc(size);
    if (p == NULL) {
        alloc_failed(size);
    }
    return p;
}

void *
ptc_calloc(size_t size)
{
    void *p = calloc(1, size);
    if (p == NULL) {
        alloc_failed(size);
    }
    return p;
}

void *
ptc_realloc(void *p, size_t size)
{
    void *n = realloc(p, size);
    if (n == NULL) {
        alloc_failed(size);
    }
    return n;
}

void
ptc_free(void *p)
{
    free(p);
}

#ifdef PTC_DEBUG
void
ptc_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, PTC_NAME ": assertion \"%s\" failed at %s:%d\n", expr, file, line);
    abort();
}
#endif

void *
ptc_memalign(size_t alignment, size_t size)
{
    void *p;
    if (posix_memalign(&p, alignment, size) != 0) {
        alloc_failed(size);
        return NULL;
    }
    return p;
}
