/* SPDX-License-Identifier: BSD-2-Clause */
/* Temporary files (request bodies, spooled responses): created in a
 * configured directory, closed when the owning pool is destroyed. */
#ifndef PTC_CORE_FILE_H
#define PTC_CORE_FILE_H

#include "core/ptc_str.h"
#include "core/ptc_types.h"

/* Create a new file in dir (made on first use, mode 0700). Unless keep,
 * the name is unlinked at once, so the file vanishes when closed. The fd is
 * closed by a cleanup of pool. Returns the fd, or -1 (logged at crit to
 * log). *path (may be NULL) receives the name, in pool. */
int ptc_temp_file_open(ptc_pool_t *pool, const ptc_str_t *dir, bool keep, ptc_log_t *log,
                       ptc_str_t *path);

#endif
