/* SPDX-License-Identifier: BSD-2-Clause */
/* Config and request helpers shared by limit_req and limit_conn: zone
 * declarations and references, mapping a zone (fresh or kept over a
 * reload), and the per-request key. */
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_time.h"
#include "modules/limit/limit_int.h"

const char *
ptc_limit_set_log_level(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    int *field = (int *)((char *)conf + d->offset);
    const ptc_str_t *v = ptc_conf_arg(cf, 1);
    if (*field != PTC_CONF_UNSET) {
        return "is duplicate";
    }
    unsigned level = ptc_log_level_parse(v);
    if (level < PTC_LOG_ERR || level > PTC_LOG_INFO) {
        return ptc_conf_error(cf, "invalid value \"" PTC_STR_FMT "\" in \"%s\" directive",
                              PTC_STR_ARG(*v), d->name);
    }
    *field = (int)level;
    return NULL;
}

const char *
ptc_limit_parse_zone(ptc_conf_t *cf, const ptc_str_t *arg, ptc_str_t *name, size_t *size)
{
    ptc_str_t v = {arg->len - 5, arg->data + 5}; /* after "zone=" */
    u_char *colon = memchr(v.data, ':', v.len);
    if (colon == NULL) {
        return ptc_conf_error(cf, "invalid zone size \"" PTC_STR_FMT "\"", PTC_STR_ARG(*arg));
    }
    ptc_str_t sz = {(size_t)(v.data + v.len - colon - 1), colon + 1};
    int64_t n = ptc_parse_size(&sz);
    if (n < 0) {
        return ptc_conf_error(cf, "invalid zone size \"" PTC_STR_FMT "\"", PTC_STR_ARG(*arg));
    }
    if (n < PTC_LIMIT_ZONE_MIN) {
        return ptc_conf_error(cf, "zone \"" PTC_STR_FMT "\" is too small", PTC_STR_ARG(*arg));
    }
    name->data = v.data;
    name->len = (size_t)(colon - v.data);
    *size = (size_t)n;
    return NULL;
}

/* Lay the table out, or keep the one a reload carried over when the key
 * is the same (a different key would make the old buckets meaningless, so
 * nginx refuses it, and so do we). */
static int
limit_zone_init(ptc_shm_zone_t *shm, void *old_data)
{
    ptc_limit_zone_t *z = shm->data, *old = old_data;
    if (old && !ptc_str_eq(&old->key_text, &z->key_text)) {
        snprintf(z->error, sizeof(z->error),
                 "%s \"%.*s\" uses the \"%.*s\" key while previously it used the \"%.*s\" key",
                 z->kind, PTC_STR_ARG(z->name), PTC_STR_ARG(z->key_text),
                 PTC_STR_ARG(old->key_text));
        shm->error = z->error;
        return PTC_ERROR;
    }
    if (old && (z->sh = ptc_limit_shm_attach(shm->addr, shm->size)) != NULL) {
        return PTC_OK;
    }
    uint8_t seed[16];
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        /* no entropy yet (early boot): still unpredictable enough per start */
        uint64_t a = (uint64_t)ptc_current_msec ^ ((uint64_t)getpid() << 32);
        uint64_t b = (uint64_t)(uintptr_t)shm->addr ^ (uint64_t)ptc_time_sec;
        memcpy(seed, &a, 8);
        memcpy(seed + 8, &b, 8);
    }
    z->sh = ptc_limit_shm_init(shm->addr, shm->size, seed);
    if (z->sh == NULL) {
        snprintf(z->error, sizeof(z->error), "zone \"%.*s\" is too small", PTC_STR_ARG(z->name));
        shm->error = z->error;
        return PTC_ERROR;
    }
    return PTC_OK;
}

ptc_limit_zone_t *
ptc_limit_zone_add(ptc_conf_t *cf, const void *tag, const char *directive, const char *kind,
                   const ptc_str_t *name, size_t size)
{
    ptc_shm_zone_t *shm = ptc_cycle_add_shm(cf, name, size, tag);
    if (shm == NULL) {
        return NULL;
    }
    const ptc_str_t *key = ptc_conf_arg(cf, 1);
    if (shm->data) {
        ptc_limit_zone_t *prev = shm->data;
        ptc_conf_error(cf, "%s \"" PTC_STR_FMT "\" is already bound to key \"" PTC_STR_FMT "\"",
                       directive, PTC_STR_ARG(*name), PTC_STR_ARG(prev->key_text));
        return NULL;
    }
    ptc_limit_zone_t *z = ptc_pcalloc(cf->pool, sizeof(*z));
    if (z == NULL || (z->key = ptc_http_complex_value_compile(cf, key)) == NULL) {
        if (!cf->failed) {
            ptc_conf_error(cf, "out of memory");
        }
        return NULL;
    }
    z->kind = kind;
    z->name = *name;
    z->key_text = *key;
    shm->data = z;
    shm->init = limit_zone_init;
    shm->file = cf->node->file;
    shm->line = cf->node->line;
    return z;
}

ptc_shm_zone_t *
ptc_limit_zone_ref(ptc_conf_t *cf, const void *tag, const ptc_str_t *name, ptc_array_t *refs)
{
    ptc_shm_zone_t *shm = ptc_cycle_add_shm(cf, name, 0, tag);
    ptc_limit_ref_t *ref = shm ? ptc_array_push(refs) : NULL;
    if (ref == NULL) {
        if (shm && !cf->failed) {
            ptc_conf_error(cf, "out of memory");
        }
        return NULL;
    }
    ref->shm = shm;
    ref->node = cf->node;
    return shm;
}

int
ptc_limit_check_refs(ptc_conf_t *cf, ptc_array_t *refs)
{
    ptc_limit_ref_t *ref = refs->elts;
    for (size_t i = 0; i < refs->nelts; i++) {
        if (ref[i].shm->data == NULL) {
            ptc_conf_error_at(cf, ref[i].node,
                              "zero size shared memory zone \"" PTC_STR_FMT "\" (no zone of "
                              "that name is declared)",
                              PTC_STR_ARG(ref[i].shm->name));
            return PTC_ERROR;
        }
    }
    return PTC_OK;
}

int
ptc_limit_request_key(ptc_http_request_t *r, ptc_limit_zone_t *zone, ptc_limit_key_t *key)
{
    ptc_str_t v;
    if (zone->sh == NULL || ptc_http_complex_value(r, zone->key, &v) != PTC_OK) {
        return PTC_ERROR;
    }
    if (v.len == 0) {
        return PTC_DECLINED;
    }
    if (ptc_limit_key(zone->sh, v.data, v.len, key) != PTC_OK) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "cannot digest the key of zone \"%.*s\"",
                      PTC_STR_ARG(zone->name));
        return PTC_ERROR;
    }
    return PTC_OK;
}
