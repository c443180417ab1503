/* SPDX-License-Identifier: BSD-2-Clause */
/* Map block lines and the map lookup table. Each of the three hashes uses
 * linear probing over a power-of-two slot array kept at least twice as
 * large as its key count, so a probe always reaches an empty slot. */
#include "modules/map/map_table.h"

#include "core/ptc_pool.h"

#define MAP_HASH_MIN_SLOTS 8

/* Hostname key shapes (see ptc_map_table_add). */
typedef enum { MAP_KEY_EXACT, MAP_KEY_HEAD, MAP_KEY_DOT, MAP_KEY_TAIL, MAP_KEY_BAD } map_key_kind_t;

ptc_map_line_t
ptc_map_line_classify(const ptc_str_t *args, size_t nargs, bool block, ptc_str_t *key)
{
    const ptc_str_t *k = &args[0];
    if (block) {
        return PTC_MAP_LINE_BLOCK;
    }
    if (nargs == 1 && ptc_str_eq_c(k, "hostnames")) {
        return PTC_MAP_LINE_HOSTNAMES;
    }
    if (nargs == 1 && ptc_str_eq_c(k, "volatile")) {
        return PTC_MAP_LINE_VOLATILE;
    }
    if (nargs != 2) {
        return PTC_MAP_LINE_BAD_NARGS;
    }
    if (ptc_str_eq_c(k, "default")) {
        return PTC_MAP_LINE_DEFAULT;
    }
    if (k->len && k->data[0] == '~') {
        bool caseless = k->len > 1 && k->data[1] == '*';
        key->data = k->data + 1 + caseless;
        key->len = k->len - 1 - caseless;
        return caseless ? PTC_MAP_LINE_REGEX_CASELESS : PTC_MAP_LINE_REGEX;
    }
    *key = *k;
    if (key->len && key->data[0] == '\\') {
        key->data++;
        key->len--;
    }
    return PTC_MAP_LINE_KEY;
}

/* ---- one open-addressing hash ---- */

static uint32_t
map_hash_key(const ptc_map_table_t *t, const u_char *s, size_t n)
{
    return t->caseless ? ptc_hash_key_lc(s, n) : ptc_hash_key(s, n);
}

static bool
map_key_eq(const ptc_map_table_t *t, const ptc_map_slot_t *slot, const u_char *s, size_t n)
{
    if (slot->key.len != n) {
        return false;
    }
    if (n == 0) {
        return true;
    }
    return t->caseless ? ptc_strncasecmp(slot->key.data, s, n) == 0
                       : memcmp(slot->key.data, s, n) == 0;
}

static ptc_map_slot_t *
map_hash_lookup(const ptc_map_table_t *t, const ptc_map_hash_t *h, const u_char *s, size_t n)
{
    if (h->used == 0) {
        return NULL;
    }
    uint32_t hash = map_hash_key(t, s, n);
    for (size_t i = hash & h->mask;; i = (i + 1) & h->mask) {
        ptc_map_slot_t *slot = &h->slots[i];
        if (slot->value == NULL) {
            return NULL;
        }
        if (slot->hash == hash && map_key_eq(t, slot, s, n)) {
            return slot;
        }
    }
}

/* Place a slot whose key is known to be absent. */
static void
map_hash_place(ptc_map_hash_t *h, const ptc_map_slot_t *src)
{
    size_t i = src->hash & h->mask;
    while (h->slots[i].value != NULL) {
        i = (i + 1) & h->mask;
    }
    h->slots[i] = *src;
    h->used++;
}

/* Rehash into `nslots` slots (a power of two > 2 * used) taken from pool. */
static int
map_hash_resize(ptc_map_hash_t *h, ptc_pool_t *pool, size_t nslots)
{
    ptc_map_slot_t *old = h->slots;
    size_t nold = h->slots ? h->mask + 1 : 0;
    h->slots = ptc_pcalloc(pool, nslots * sizeof(ptc_map_slot_t));
    if (h->slots == NULL) {
        h->slots = old;
        return PTC_ERROR;
    }
    h->mask = nslots - 1;
    h->used = 0;
    for (size_t i = 0; i < nold; i++) {
        if (old[i].value != NULL) {
            map_hash_place(h, &old[i]);
        }
    }
    return PTC_OK;
}

/* Make room for one more key: the slot count stays >= 2 * keys. */
static int
map_hash_reserve(ptc_map_table_t *t, ptc_map_hash_t *h)
{
    size_t nslots = h->slots ? h->mask + 1 : 0;
    if (2 * (h->used + 1) <= nslots) {
        return PTC_OK;
    }
    return map_hash_resize(h, t->temp_pool, nslots ? 2 * nslots : MAP_HASH_MIN_SLOTS);
}

/* Insert s -> value; the caller checked that s is absent and reserved room. */
static int
map_hash_insert(ptc_map_table_t *t, ptc_map_hash_t *h, const u_char *s, size_t n, void *value)
{
    ptc_map_slot_t slot = {.hash = map_hash_key(t, s, n), .value = value};
    if (ptc_str_dup(t->pool, &slot.key, s, n) != PTC_OK) {
        return PTC_ERROR;
    }
    if (t->caseless) {
        ptc_strlow(slot.key.data, slot.key.data, n);
    }
    map_hash_place(h, &slot);
    return PTC_OK;
}

/* ---- the table ---- */

void
ptc_map_table_init(ptc_map_table_t *t, ptc_pool_t *pool, ptc_pool_t *temp_pool, bool caseless)
{
    memset(t, 0, sizeof(*t));
    t->pool = pool;
    t->temp_pool = temp_pool;
    t->caseless = caseless;
}

/* The shape of a hostname key, following nginx: a leading '.' makes the
 * dot form whatever follows; otherwise one '*' is allowed only as "*." in
 * front or ".*" at the end; ".." is never allowed. */
static map_key_kind_t
map_key_kind(const ptc_str_t *key)
{
    const u_char *s = key->data;
    size_t n = key->len, stars = 0;
    for (size_t i = 0; i < n; i++) {
        stars += s[i] == '*';
        if (s[i] == '\0' || (s[i] == '.' && i + 1 < n && s[i + 1] == '.')) {
            return MAP_KEY_BAD;
        }
    }
    if (stars > 1) {
        return MAP_KEY_BAD;
    }
    if (n > 1 && s[0] == '.') {
        return MAP_KEY_DOT;
    }
    if (n > 2 && s[0] == '*' && s[1] == '.') {
        return MAP_KEY_HEAD;
    }
    if (n > 2 && s[n - 2] == '.' && s[n - 1] == '*') {
        return MAP_KEY_TAIL;
    }
    return stars ? MAP_KEY_BAD : MAP_KEY_EXACT;
}

/* Add s to one hash unless present. */
static ptc_map_add_t
map_add_one(ptc_map_table_t *t, ptc_map_hash_t *h, const u_char *s, size_t n, void *value)
{
    if (map_hash_lookup(t, h, s, n)) {
        return PTC_MAP_CONFLICT;
    }
    if (map_hash_reserve(t, h) != PTC_OK || map_hash_insert(t, h, s, n, value) != PTC_OK) {
        return PTC_MAP_NOMEM;
    }
    return PTC_MAP_ADDED;
}

/* ".example.com": both "example.com" (exact) and the ".example.com" suffix,
 * or neither. */
static ptc_map_add_t
map_add_dot(ptc_map_table_t *t, const ptc_str_t *key, void *value)
{
    if (map_hash_lookup(t, &t->exact, key->data + 1, key->len - 1)
        || map_hash_lookup(t, &t->head, key->data, key->len)) {
        return PTC_MAP_CONFLICT;
    }
    if (map_hash_reserve(t, &t->exact) != PTC_OK || map_hash_reserve(t, &t->head) != PTC_OK
        || map_hash_insert(t, &t->exact, key->data + 1, key->len - 1, value) != PTC_OK
        || map_hash_insert(t, &t->head, key->data, key->len, value) != PTC_OK) {
        return PTC_MAP_NOMEM;
    }
    return PTC_MAP_ADDED;
}

ptc_map_add_t
ptc_map_table_add(ptc_map_table_t *t, const ptc_str_t *key, void *value, bool hostname)
{
    switch (hostname ? map_key_kind(key) : MAP_KEY_EXACT) {
    case MAP_KEY_HEAD:
        return map_add_one(t, &t->head, key->data + 1, key->len - 1, value);
    case MAP_KEY_DOT:
        return map_add_dot(t, key, value);
    case MAP_KEY_TAIL:
        return map_add_one(t, &t->tail, key->data, key->len - 1, value);
    case MAP_KEY_BAD:
        return PTC_MAP_INVALID;
    case MAP_KEY_EXACT:
        break;
    }
    return map_add_one(t, &t->exact, key->data, key->len, value);
}

int
ptc_map_table_build(ptc_map_table_t *t)
{
    ptc_map_hash_t *hashes[] = {&t->exact, &t->head, &t->tail};
    if (t->pool == t->temp_pool) {
        return PTC_OK; /* already where they belong */
    }
    for (size_t i = 0; i < ptc_nelems(hashes); i++) {
        ptc_map_hash_t *h = hashes[i];
        if (h->slots && map_hash_resize(h, t->pool, h->mask + 1) != PTC_OK) {
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

/* Longest suffix of name that starts with a '.' and is a head key: the
 * leftmost dot gives the longest candidate. */
static void *
map_find_head(const ptc_map_table_t *t, const u_char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (name[i] != '.') {
            continue;
        }
        const ptc_map_slot_t *slot = map_hash_lookup(t, &t->head, name + i, len - i);
        if (slot) {
            return slot->value;
        }
    }
    return NULL;
}

/* Longest prefix of name that ends with a '.' and is a tail key. */
static void *
map_find_tail(const ptc_map_table_t *t, const u_char *name, size_t len)
{
    for (size_t i = len; i > 0; i--) {
        if (name[i - 1] != '.') {
            continue;
        }
        const ptc_map_slot_t *slot = map_hash_lookup(t, &t->tail, name, i);
        if (slot) {
            return slot->value;
        }
    }
    return NULL;
}

void *
ptc_map_table_find(const ptc_map_table_t *t, const u_char *name, size_t len)
{
    const ptc_map_slot_t *slot = map_hash_lookup(t, &t->exact, name, len);
    if (slot) {
        return slot->value;
    }
    void *value = t->head.used ? map_find_head(t, name, len) : NULL;
    if (value == NULL && t->tail.used) {
        value = map_find_tail(t, name, len);
    }
    return value;
}
