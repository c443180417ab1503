/* SPDX-License-Identifier: BSD-2-Clause */
#include "core/ptc_module.h"

size_t ptc_modules_n;

size_t
ptc_modules_init(void)
{
    size_t counts[4] = {0};
    size_t i;
    for (i = 0; ptc_modules[i]; i++) {
        ptc_modules[i]->index = i;
        ptc_modules[i]->ctx_index = counts[ptc_modules[i]->type]++;
    }
    ptc_modules_n = i;
    return i;
}

size_t
ptc_modules_count(int type)
{
    size_t n = 0;
    for (size_t i = 0; ptc_modules[i]; i++) {
        n += ptc_modules[i]->type == type;
    }
    return n;
}
