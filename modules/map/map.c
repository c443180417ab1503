/* SPDX-License-Identifier: BSD-2-Clause */
/* `map SOURCE $VARIABLE { ... }`: a variable whose value is picked by
 * matching SOURCE against the block's keys: exact and hostname-wildcard keys
 * in a table (map_table.c), then regexes in file order, else the default.
 * Everything is built at config time in cf->pool; per request the getter
 * only evaluates SOURCE, looks it up and evaluates the chosen value. */
#include <string.h>

#include "core/ptc_array.h"
#include "core/ptc_conf.h"
#include "core/ptc_pool.h"
#include "core/ptc_regex.h"
#include "modules/http/http.h"
#include "modules/map/map_table.h"

typedef struct {
    ptc_str_t text;               /* the value when cv is NULL (cf->pool) */
    ptc_http_complex_value_t *cv; /* NULL for a value without variables */
} map_value_t;

typedef struct {
    ptc_regex_t *regex;
    map_value_t *value;
} map_regex_t;

typedef struct {
    ptc_http_complex_value_t *source;
    ptc_map_table_t table;
    ptc_array_t regexes;        /* map_regex_t, in file order */
    map_value_t *default_value; /* NULL: the empty string */
    bool hostnames;             /* strip one trailing dot from the source */
    bool is_volatile;           /* `volatile`: never cache the value */
} map_ctx_t;

/* A variable defined by `map`. Its registration points here, so a later map
 * of the same name can take it over (nginx: the last definition wins). */
typedef struct {
    ptc_str_t name;
    map_ctx_t *map;
} map_var_t;

typedef struct {
    ptc_array_t vars; /* map_var_t *, every variable a map defined */
} map_main_conf_t;

static void *map_create_main(ptc_conf_t *cf);
static const char *map_block(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static int map_line(ptc_conf_t *cf, map_ctx_t *map, const ptc_conf_node_t *line);
static int map_default(ptc_conf_t *cf, map_ctx_t *map, const ptc_str_t *value);
static int map_regex(ptc_conf_t *cf, map_ctx_t *map, const ptc_str_t *pattern, unsigned flags,
                     const ptc_str_t *value);
static int map_key(ptc_conf_t *cf, map_ctx_t *map, const ptc_str_t *key, const ptc_str_t *value);
static map_value_t *map_value_create(ptc_conf_t *cf, const ptc_str_t *src);
static const char *map_var_define(ptc_conf_t *cf, map_main_conf_t *mmcf, const ptc_str_t *arg,
                                  map_ctx_t *map);
static int map_variable_get(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data);
static int map_regex_find(ptc_http_request_t *r, const map_ctx_t *map, const ptc_str_t *subject,
                          const map_value_t **value);

static const ptc_directive_t map_directives[] = {
    {"map", PTC_CTX_HTTP, PTC_ARGS_2 | PTC_ARGS_BLOCK, map_block, PTC_CONF_MAIN, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_map_module = {
    .name = "map",
    .type = PTC_MODULE_HTTP,
    .directives = map_directives,
    .create_main = map_create_main,
};

static void *
map_create_main(ptc_conf_t *cf)
{
    map_main_conf_t *mmcf = ptc_pcalloc(cf->pool, sizeof(*mmcf));
    if (mmcf == NULL || ptc_array_init(&mmcf->vars, cf->pool, 8, sizeof(map_var_t *)) != PTC_OK) {
        return NULL;
    }
    return mmcf;
}

/* Errors below are reported where they happen; this covers allocation
 * failures, which are not. */
static const char *
map_failed(ptc_conf_t *cf)
{
    return cf->failed ? PTC_CONF_ERROR : ptc_conf_error(cf, "out of memory");
}

/* map SOURCE $VARIABLE { KEY VALUE; ... } */
static const char *
map_block(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    const ptc_conf_node_t *node = cf->node;
    const ptc_str_t *var = ptc_conf_arg(cf, 2);
    if (var->len < 2 || var->data[0] != '$') {
        return ptc_conf_error(cf, "invalid variable name \"" PTC_STR_FMT "\"", PTC_STR_ARG(*var));
    }
    map_ctx_t *map = ptc_pcalloc(cf->pool, sizeof(*map));
    if (map == NULL || ptc_array_init(&map->regexes, cf->pool, 4, sizeof(map_regex_t)) != PTC_OK) {
        return map_failed(cf);
    }
    map->source = ptc_http_complex_value_compile(cf, ptc_conf_arg(cf, 1));
    if (map->source == NULL) {
        return map_failed(cf);
    }
    ptc_map_table_init(&map->table, cf->pool, cf->temp_pool ? cf->temp_pool : cf->pool, true);
    for (size_t i = 0; i < node->nchildren; i++) {
        if (map_line(cf, map, &node->children[i]) != PTC_OK) {
            cf->node = node;
            return map_failed(cf);
        }
    }
    cf->node = node;
    if (ptc_map_table_build(&map->table) != PTC_OK) {
        return map_failed(cf);
    }
    return map_var_define(cf, conf, var, map);
}

/* One line of the block; errors name the line. */
static int
map_line(ptc_conf_t *cf, map_ctx_t *map, const ptc_conf_node_t *line)
{
    ptc_str_t key;
    cf->node = line;
    if (line->nargs == 0) {
        ptc_conf_error(cf, "invalid number of the map parameters");
        return PTC_ERROR;
    }
    switch (ptc_map_line_classify(line->args, line->nargs, line->block, &key)) {
    case PTC_MAP_LINE_BLOCK:
        ptc_conf_error(cf, "unexpected \"{\"");
        return PTC_ERROR;
    case PTC_MAP_LINE_BAD_NARGS:
        ptc_conf_error(cf, "invalid number of the map parameters");
        return PTC_ERROR;
    case PTC_MAP_LINE_HOSTNAMES:
        map->hostnames = true;
        return PTC_OK;
    case PTC_MAP_LINE_VOLATILE:
        map->is_volatile = true;
        return PTC_OK;
    case PTC_MAP_LINE_DEFAULT:
        return map_default(cf, map, &line->args[1]);
    case PTC_MAP_LINE_REGEX:
        return map_regex(cf, map, &key, 0, &line->args[1]);
    case PTC_MAP_LINE_REGEX_CASELESS:
        return map_regex(cf, map, &key, PTC_REGEX_CASELESS, &line->args[1]);
    case PTC_MAP_LINE_KEY:
        return map_key(cf, map, &key, &line->args[1]);
    }
    return PTC_ERROR;
}

static int
map_default(ptc_conf_t *cf, map_ctx_t *map, const ptc_str_t *value)
{
    if (map->default_value) {
        ptc_conf_error(cf, "duplicate default map parameter");
        return PTC_ERROR;
    }
    map->default_value = map_value_create(cf, value);
    return map->default_value ? PTC_OK : PTC_ERROR;
}

/* A regex key: its named groups become variables, so the value (and any
 * later directive) can say $name as well as $1..$9. */
static int
map_regex(ptc_conf_t *cf, map_ctx_t *map, const ptc_str_t *pattern, unsigned flags,
          const ptc_str_t *value)
{
    char err[512];
    ptc_regex_t *re = ptc_regex_compile(cf->pool, pattern, flags, err, sizeof(err));
    if (re == NULL) {
        ptc_conf_error(cf, "%s", err);
        return PTC_ERROR;
    }
    if (ptc_http_regex_names_register(cf, re) != PTC_OK) {
        return PTC_ERROR;
    }
    map_regex_t *mr = ptc_array_push(&map->regexes);
    if (mr == NULL) {
        return PTC_ERROR;
    }
    mr->regex = re;
    mr->value = map_value_create(cf, value);
    return mr->value ? PTC_OK : PTC_ERROR;
}

static int
map_key(ptc_conf_t *cf, map_ctx_t *map, const ptc_str_t *key, const ptc_str_t *value)
{
    map_value_t *v = map_value_create(cf, value);
    if (v == NULL) {
        return PTC_ERROR;
    }
    switch (ptc_map_table_add(&map->table, key, v, map->hostnames)) {
    case PTC_MAP_ADDED:
        return PTC_OK;
    case PTC_MAP_CONFLICT:
        ptc_conf_error(cf, "conflicting parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*key));
        return PTC_ERROR;
    case PTC_MAP_INVALID:
        ptc_conf_error(cf, "invalid hostname or wildcard \"" PTC_STR_FMT "\"", PTC_STR_ARG(*key));
        return PTC_ERROR;
    case PTC_MAP_NOMEM:
        break;
    }
    return PTC_ERROR;
}

/* A value without '$' is kept as text and costs nothing per request. */
static map_value_t *
map_value_create(ptc_conf_t *cf, const ptc_str_t *src)
{
    map_value_t *v = ptc_pcalloc(cf->pool, sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    ptc_str_t text = *src;
    if (src->len && memchr(src->data, '$', src->len)) {
        v->cv = ptc_http_complex_value_compile(cf, src);
        if (v->cv == NULL) {
            return NULL;
        }
        if (!ptc_http_complex_value_is_literal(v->cv, &text)) {
            return v;
        }
        v->cv = NULL; /* e.g. "50$": a '$' that starts no variable */
    }
    if (ptc_str_dup(cf->pool, &v->text, text.data, text.len) != PTC_OK) {
        return NULL;
    }
    return v;
}

/* Register $NAME now, so directives after the map can use it. */
static const char *
map_var_define(ptc_conf_t *cf, map_main_conf_t *mmcf, const ptc_str_t *arg, map_ctx_t *map)
{
    ptc_str_t name = {arg->len - 1, arg->data + 1};
    map_var_t **vars = mmcf->vars.elts;
    for (size_t i = 0; i < mmcf->vars.nelts; i++) {
        if (ptc_str_caseeq(&vars[i]->name, &name)) {
            ptc_conf_warn(cf,
                          "duplicate \"map\" variable \"$" PTC_STR_FMT "\", "
                          "the last definition is used",
                          PTC_STR_ARG(name));
            vars[i]->map = map;
            return NULL;
        }
    }
    map_var_t *var = ptc_palloc(cf->pool, sizeof(*var));
    map_var_t **slot = ptc_array_push(&mmcf->vars);
    if (var == NULL || slot == NULL
        || ptc_str_dup(cf->pool, &var->name, name.data, name.len) != PTC_OK) {
        return map_failed(cf);
    }
    var->map = map;
    *slot = var;
    /* changeable: `set` may assign a map variable, as in nginx */
    unsigned flags = PTC_HTTP_VAR_CHANGEABLE | (map->is_volatile ? PTC_HTTP_VAR_NOCACHEABLE : 0);
    if (ptc_http_add_variable(cf, &var->name, map_variable_get, (uintptr_t)var, flags) < 0) {
        return map_failed(cf);
    }
    return NULL;
}

/* ---- runtime ---- */

/* The value of a map variable: SOURCE, then exact/wildcard keys, then the
 * regexes, then the default (or ""). */
static int
map_variable_get(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t data)
{
    const map_ctx_t *map = ((const map_var_t *)data)->map;
    ptc_str_t subject;
    if (ptc_http_complex_value(r, map->source, &subject) != PTC_OK) {
        return PTC_ERROR;
    }
    if (map->hostnames && subject.len && subject.data[subject.len - 1] == '.') {
        subject.len--;
    }
    const map_value_t *val = ptc_map_table_find(&map->table, subject.data, subject.len);
    if (val == NULL) {
        (void)map_regex_find(r, map, &subject, &val);
    }
    if (val == NULL) {
        val = map->default_value;
    }
    v->value.len = 0;
    v->value.data = (u_char *)"";
    if (val && val->cv) {
        if (ptc_http_complex_value(r, val->cv, &v->value) != PTC_OK) {
            return PTC_ERROR;
        }
    } else if (val) {
        v->value = val->text;
    }
    v->valid = 1;
    v->not_found = 0;
    v->no_cacheable = map->is_volatile;
    return PTC_OK;
}

/* First regex that matches, in file order; its captures stay in r for the
 * value. PTC_OK (*value set) or PTC_DECLINED (none). */
static int
map_regex_find(ptc_http_request_t *r, const map_ctx_t *map, const ptc_str_t *subject,
               const map_value_t **value)
{
    const map_regex_t *re = map->regexes.elts;
    for (size_t i = 0; i < map->regexes.nelts; i++) {
        /* PTC_ERROR (a match limit, logged) counts as no match */
        if (ptc_http_regex_exec(r, re[i].regex, subject) != PTC_OK) {
            continue;
        }
        *value = re[i].value;
        return PTC_OK;
    }
    return PTC_DECLINED;
}
