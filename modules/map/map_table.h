/* SPDX-License-Identifier: BSD-2-Clause */
/* Pure helpers of the map module: how one line of a `map { }` block is read,
 * and the lookup table of its string keys. Exact keys live in an
 * open-addressing hash; in hostnames mode "*.x" and ".x" keys live in a hash
 * of suffixes and "x.*" keys in a hash of prefixes, probed label by label so
 * the longest wildcard wins. No I/O and no regexes (map.c tries those after
 * the table misses). */
#ifndef PTC_MODULES_MAP_TABLE_H
#define PTC_MODULES_MAP_TABLE_H

#include "core/ptc_str.h"
#include "core/ptc_types.h"

/* What one child line of a map block is. */
typedef enum {
    PTC_MAP_LINE_KEY = 0,        /* "KEY VALUE": *key is KEY with one leading '\' removed */
    PTC_MAP_LINE_REGEX,          /* "~RE VALUE": *key is RE */
    PTC_MAP_LINE_REGEX_CASELESS, /* "~*RE VALUE": *key is RE */
    PTC_MAP_LINE_DEFAULT,        /* "default VALUE" */
    PTC_MAP_LINE_HOSTNAMES,      /* "hostnames" */
    PTC_MAP_LINE_VOLATILE,       /* "volatile" */
    PTC_MAP_LINE_BAD_NARGS,      /* any other word count */
    PTC_MAP_LINE_BLOCK           /* the line opened a { } block */
} ptc_map_line_t;

/* Classify a line whose words are args[0..nargs) (nargs >= 1; args[0] is
 * the key). As in nginx, the keywords are case-sensitive, are keywords
 * whether quoted or not, and `hostnames`/`volatile` are keywords only alone
 * on their line (with a value they are ordinary keys). A '\' before the key
 * makes it literal: "\default", "\~x" ("~x"), "\\x" ("\x"). For KEY, REGEX
 * and REGEX_CASELESS *key points into args[0]; otherwise it is untouched. */
ptc_map_line_t ptc_map_line_classify(const ptc_str_t *args, size_t nargs, bool block,
                                     ptc_str_t *key);

typedef struct {
    ptc_str_t key; /* lowercased when the table is caseless; owned by the table's pool */
    uint32_t hash;
    void *value; /* NULL marks an empty slot */
} ptc_map_slot_t;

typedef struct {
    ptc_map_slot_t *slots;
    size_t mask; /* slot count - 1; the count is a power of two >= 2 * used */
    size_t used;
} ptc_map_hash_t;

typedef struct {
    ptc_pool_t *pool;      /* keys and final slots: lives as long as the table */
    ptc_pool_t *temp_pool; /* slot arrays outgrown while adding */
    ptc_map_hash_t exact;
    ptc_map_hash_t head; /* "*.example.com" and ".example.com", stored as ".example.com" */
    ptc_map_hash_t tail; /* "www.example.*", stored as "www.example." */
    bool caseless;
} ptc_map_table_t;

typedef enum {
    PTC_MAP_ADDED = 0,
    PTC_MAP_CONFLICT, /* the key (or, for ".x", "x" or the wildcard) is already there */
    PTC_MAP_INVALID,  /* a hostname key with a misplaced '*', two '*' or ".." */
    PTC_MAP_NOMEM
} ptc_map_add_t;

/* Start an empty table. Keys and the final slot arrays come from `pool`;
 * slot arrays replaced while the table grows come from `temp_pool` (may be
 * the same pool). Caseless tables compare and hash keys ignoring ASCII case
 * (nginx's map matches strings that way). */
void ptc_map_table_init(ptc_map_table_t *t, ptc_pool_t *pool, ptc_pool_t *temp_pool, bool caseless);

/* Add `key` -> `value` (value must not be NULL). With hostname false every
 * key is exact. With hostname true: "*.example.com" matches names ending in
 * ".example.com"; ".example.com" matches "example.com" and those names;
 * "www.example.*" matches names starting with "www.example."; other keys
 * are exact. The key is copied. Nothing is added unless PTC_MAP_ADDED. */
ptc_map_add_t ptc_map_table_add(ptc_map_table_t *t, const ptc_str_t *key, void *value,
                                bool hostname);

/* Move the slot arrays into `pool` at their final size (a power of two
 * >= twice the keys). Call once after the last add; the table is then
 * read-only. PTC_OK or PTC_ERROR (out of memory). */
int ptc_map_table_build(ptc_map_table_t *t);

/* The value for `name` (len bytes, not NUL-terminated; data may be NULL when
 * len is 0): an exact key first, then the longest head wildcard, then the
 * longest tail wildcard. NULL when nothing matches. The caller strips a
 * hostname's trailing dot. */
void *ptc_map_table_find(const ptc_map_table_t *t, const u_char *name, size_t len);

#endif
