/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for the config reader. Inputs naming `include` are
 * skipped: expanding them would read arbitrary files from the host. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/ptc_array.h"
#include "core/ptc_conf_file.h"
#include "core/ptc_pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk the tree so every node and argument is touched (bounded recursion). */
static size_t
fuzz_conf_walk(const ptc_conf_node_t *n, unsigned depth)
{
    size_t sum = n->nargs;
    for (size_t i = 0; i < n->nargs; i++) {
        sum += n->args[i].len + (n->args[i].data[n->args[i].len] == '\0');
    }
    for (size_t i = 0; i < n->nchildren && depth < 1000; i++) {
        sum += fuzz_conf_walk(&n->children[i], depth + 1) + n->children[i].line;
    }
    return sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memmem(data, size, "include", 7) != NULL) {
        return 0;
    }
    ptc_pool_t *pool = ptc_pool_create(4096);
    if (pool == NULL) {
        return 0;
    }
    char err[256];
    ptc_conf_node_t *root = ptc_conf_text_parse(pool, "fuzz", (const char *)data, size,
                                                "/nonexistent", NULL, err, sizeof(err));
    if (root != NULL && fuzz_conf_walk(root, 0) == (size_t)-1) {
        err[0] = '\0';
    }
    ptc_pool_destroy(pool);
    return 0;
}
