/* SPDX-License-Identifier: BSD-2-Clause */
/* Directive dispatch: walks a parsed tree, finds each directive among the
 * modules' tables, checks its context and argument count in one place, and
 * calls its setter. Generic setters cover flags, numbers, sizes, times,
 * strings and enums; UNSET sentinels plus merge macros put every default in
 * the owning module's merge function. */
#ifndef PTC_CORE_CONF_H
#define PTC_CORE_CONF_H

#include "core/ptc_array.h"
#include "core/ptc_conf_file.h"
#include "core/ptc_str.h"
#include "core/ptc_types.h"

/* contexts (bitmask) */
#define PTC_CTX_MAIN         0x0001
#define PTC_CTX_EVENTS       0x0002
#define PTC_CTX_HTTP         0x0004
#define PTC_CTX_SERVER       0x0008
#define PTC_CTX_LOCATION     0x0010
#define PTC_CTX_UPSTREAM     0x0020
#define PTC_CTX_IF_SRV       0x0040
#define PTC_CTX_IF_LOC       0x0080
#define PTC_CTX_LIMIT_EXCEPT 0x0100

/* argument counts (bitmask of allowed counts, not counting the name) */
#define PTC_ARGS_0     0x0001
#define PTC_ARGS_1     0x0002
#define PTC_ARGS_2     0x0004
#define PTC_ARGS_3     0x0008
#define PTC_ARGS_4     0x0010
#define PTC_ARGS_5     0x0020
#define PTC_ARGS_6     0x0040
#define PTC_ARGS_7     0x0080
#define PTC_ARGS_12    (PTC_ARGS_1 | PTC_ARGS_2)
#define PTC_ARGS_123   (PTC_ARGS_1 | PTC_ARGS_2 | PTC_ARGS_3)
#define PTC_ARGS_1MORE 0x0100
#define PTC_ARGS_2MORE 0x0200
#define PTC_ARGS_ANY   0x0400
#define PTC_ARGS_FLAG  0x0800 /* exactly one: on|off */
#define PTC_ARGS_BLOCK 0x1000 /* takes a { } block */

/* which conf struct of an HTTP module the offset refers to */
enum { PTC_CONF_MAIN = 0, PTC_CONF_SRV, PTC_CONF_LOC };

#define PTC_CONF_UNSET      -1
#define PTC_CONF_UNSET_UINT ((unsigned)-1)
#define PTC_CONF_UNSET_SIZE ((size_t)-1)
#define PTC_CONF_UNSET_MSEC ((ptc_msec_t)-1)
#define PTC_CONF_UNSET_PTR  ((void *)-1)
/* a setter returns this when it reported the error itself */
#define PTC_CONF_ERROR ((const char *)-1)

/* Block context of protocol modules with three conf levels (http): arrays
 * indexed by the module's ctx_index. Core modules use cycle->conf_ctx. */
typedef struct {
    void **main_conf;
    void **srv_conf;
    void **loc_conf;
} ptc_conf_ctx_t;

typedef const char *(*ptc_conf_set_fn)(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

struct ptc_directive_s {
    const char *name;
    unsigned contexts;
    unsigned args;
    ptc_conf_set_fn set;
    unsigned level; /* PTC_CONF_MAIN/SRV/LOC for HTTP modules */
    size_t offset;
    const void *extra; /* bounds, enum table or post handler */
};

#define PTC_DIRECTIVE_END                                                                          \
    {                                                                                              \
        NULL, 0, 0, NULL, 0, 0, NULL                                                               \
    }

struct ptc_conf_s {
    ptc_cycle_t *cycle;
    ptc_pool_t *pool;      /* the cycle's pool: lives as long as the config */
    ptc_pool_t *temp_pool; /* freed after the config is loaded */
    ptc_log_t *log;
    const ptc_conf_node_t *node; /* directive being applied */
    unsigned ctx_type;           /* PTC_CTX_* of the block being walked */
    void *ctx;                   /* module-type specific block context */
    const char *prefix;          /* for relative paths: ends with '/' */
    const char *conf_prefix;     /* directory of the main config file */
    char *errbuf;                /* where the first error is written */
    size_t errlen;
    bool failed;
};

/* Apply every child of `block` within context ctx_type with module ctx `ctx`
 * (saved and restored around the walk). PTC_OK or PTC_ERROR (reported). */
int ptc_conf_walk(ptc_conf_t *cf, const ptc_conf_node_t *block, unsigned ctx_type, void *ctx);

/* Report an error at the current node: "MSG in FILE:LINE". Returns
 * PTC_CONF_ERROR for convenient `return ptc_conf_error(...)`. */
const char *ptc_conf_error(ptc_conf_t *cf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, naming an explicit node. */
const char *ptc_conf_error_at(ptc_conf_t *cf, const ptc_conf_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Log a warning (with file:line) without failing. */
void ptc_conf_warn(ptc_conf_t *cf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Arguments of the current directive; arg(cf, 0) is its name. */
#define ptc_conf_arg(cf, i) (&(cf)->node->args[i])
#define ptc_conf_nargs(cf)  ((cf)->node->nargs)

/* Resolve a path against the prefix (or conf prefix); pool-owned C string. */
char *ptc_conf_full_path(ptc_conf_t *cf, const ptc_str_t *path, bool conf_prefix);

/* Make a relative path absolute against the prefix, in place (a path that
 * is already absolute is left alone). PTC_OK or PTC_ERROR. */
int ptc_conf_resolve_path(ptc_conf_t *cf, ptc_str_t *path);

/* Generic setters. Fields: int for flag/enum, int64_t for num, size_t for size,
 * ptc_msec_t for msec/sec (sec stores seconds*1000 too? no: sec stores
 * seconds in a time_t-compatible int64_t), ptc_str_t for str,
 * ptc_array_t* (of ptc_str_t) for str_array. */
const char *ptc_conf_set_flag(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
const char *ptc_conf_set_num(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
const char *ptc_conf_set_size(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
const char *ptc_conf_set_msec(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
const char *ptc_conf_set_str(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
const char *ptc_conf_set_str_array(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
const char *ptc_conf_set_enum(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
/* A file name into a ptc_str_t, made absolute against the configuration
 * directory as nginx does for certificates and keys (NUL-terminated). */
const char *ptc_conf_set_conf_file(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
/* "PATH [LEVEL1 [LEVEL2 [LEVEL3]]]" of the *_temp_path directives into a
 * ptc_str_t; the levels (1 or 2) are checked and not used: temp files are
 * spread by name. */
const char *ptc_conf_set_temp_path(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

/* enum table for ptc_conf_set_enum (extra), NULL-name terminated */
typedef struct {
    const char *name;
    int value;
} ptc_conf_enum_t;

/* bounds for ptc_conf_set_num / set_size (extra) */
typedef struct {
    int64_t min, max;
} ptc_conf_bounds_t;

#define ptc_conf_merge_value(conf, prev, def)                                                      \
    do {                                                                                           \
        if ((conf) == PTC_CONF_UNSET) {                                                            \
            (conf) = ((prev) == PTC_CONF_UNSET) ? (def) : (prev);                                  \
        }                                                                                          \
    } while (0)
#define ptc_conf_merge_size(conf, prev, def)                                                       \
    do {                                                                                           \
        if ((conf) == PTC_CONF_UNSET_SIZE) {                                                       \
            (conf) = ((prev) == PTC_CONF_UNSET_SIZE) ? (def) : (prev);                             \
        }                                                                                          \
    } while (0)
#define ptc_conf_merge_msec(conf, prev, def)                                                       \
    do {                                                                                           \
        if ((conf) == PTC_CONF_UNSET_MSEC) {                                                       \
            (conf) = ((prev) == PTC_CONF_UNSET_MSEC) ? (def) : (prev);                             \
        }                                                                                          \
    } while (0)
#define ptc_conf_merge_ptr(conf, prev, def)                                                        \
    do {                                                                                           \
        if ((conf) == PTC_CONF_UNSET_PTR) {                                                        \
            (conf) = ((prev) == PTC_CONF_UNSET_PTR) ? (def) : (prev);                              \
        }                                                                                          \
    } while (0)
#define ptc_conf_merge_str(conf, prev, def)                                                        \
    do {                                                                                           \
        if ((conf).data == NULL) {                                                                 \
            if ((prev).data) {                                                                     \
                (conf) = (prev);                                                                   \
            } else {                                                                               \
                ptc_str_set(&(conf), def);                                                         \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#endif
