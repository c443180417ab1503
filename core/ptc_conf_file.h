/* SPDX-License-Identifier: BSD-2-Clause */
/* The nginx-grammar config reader: text -> tree of nodes, with `include`
 * expanded in place. Knows nothing of modules or directives; pure apart from
 * reading files, so it is unit-tested from strings and fuzzed. */
#ifndef PTC_CORE_CONF_FILE_H
#define PTC_CORE_CONF_FILE_H

#include "core/ptc_array.h"
#include "core/ptc_str.h"
#include "core/ptc_types.h"

typedef struct ptc_conf_node_s ptc_conf_node_t;
struct ptc_conf_node_s {
    ptc_str_t *args;           /* args[0] is the directive name; NUL-terminated copies */
    size_t nargs;              /* including the name */
    uint64_t quoted;           /* bit i set when args[i] was written in quotes (i < 64) */
    ptc_conf_node_t *children; /* block contents (array of nchildren), NULL if none */
    size_t nchildren;
    bool block;       /* ended by `{ ... }` rather than `;` */
    const char *file; /* file it came from (pool-owned) */
    unsigned line;    /* line of the directive name */
};

/* One file read while parsing, kept for -T (which prints every file). */
typedef struct {
    const char *path;
    const u_char *text;
    size_t len;
} ptc_conf_source_t;

/* Parse a whole file into a root node (args NULL, nargs 0, block true, line 1).
 * Relative `include` paths resolve against `include_prefix` (a directory,
 * with or without trailing '/'). Everything lives in `pool`. If `sources`
 * is non-NULL (an array of ptc_conf_source_t) every file read is appended
 * to it, in the order read. On error returns NULL and writes
 * "message in FILE:LINE" to err. */
ptc_conf_node_t *ptc_conf_file_parse(ptc_pool_t *pool, const char *path, const char *include_prefix,
                                     ptc_array_t *sources, char *err, size_t errlen);

/* Same for text in memory; `name` stands in for the file name in errors
 * (used for -g directives and unit tests). The text itself is not added to
 * `sources` (files it includes are) and need not outlive the call. */
ptc_conf_node_t *ptc_conf_text_parse(ptc_pool_t *pool, const char *name, const char *text,
                                     size_t len, const char *include_prefix, ptc_array_t *sources,
                                     char *err, size_t errlen);

#endif
