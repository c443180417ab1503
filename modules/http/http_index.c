/* SPDX-License-Identifier: BSD-2-Clause */
/* The index module: the `index` directive and a content phase handler that
 * turns a URI ending in '/' into an internal redirect to the first index
 * file that exists (an absolute name is redirected to without a check).
 * When none exists it answers 403 for an existing directory, else 404. The
 * list itself lives in the core loc conf (`index`), which the core merge
 * defaults to "index.html". */
#include <errno.h>
#include <sys/stat.h>

#include "core/ptc_array.h"
#include "core/ptc_conf.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/http/http.h"
#include "modules/http/http_core.h"

/* One request's walk over the index names. */
typedef struct {
    ptc_str_t *names; /* evaluated index names, r->pool */
    size_t nnames;
    size_t reserve; /* longest relative name, plus its NUL */
    ptc_str_t path; /* mapped directory path (len), NUL-terminated name after it */
    bool dir_tested;
} index_walk_t;

static const char *index_set(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static int index_postconfig(ptc_conf_t *cf);
static int index_handler(ptc_http_request_t *r);
static int index_eval_names(ptc_http_request_t *r, const ptc_array_t *list, index_walk_t *w);
static int index_try(ptc_http_request_t *r, index_walk_t *w, const ptc_str_t *name);
static int index_test_dir(ptc_http_request_t *r, index_walk_t *w);
static void index_error(ptc_http_request_t *r, const u_char *path, int err);
static void index_redirect(ptc_http_request_t *r, const ptc_str_t *name);

static const ptc_directive_t index_directives[] = {
    {"index", PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION, PTC_ARGS_1MORE, index_set,
     PTC_CONF_LOC, offsetof(ptc_http_core_loc_conf_t, index), NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_index_module = {
    .name = "http_index",
    .type = PTC_MODULE_HTTP,
    .directives = index_directives,
    .postconfig = index_postconfig,
};

/* `index FILE ...;` appends to the list (repeated directives accumulate).
 * The dispatcher passes this module's own conf, but the list belongs to the
 * core loc conf, so d->offset is applied to that conf of the current block. */
static const char *
index_set(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    char *clcf = ptc_http_conf_get_loc(cf, ptc_http_core_module);
    ptc_array_t **list = (ptc_array_t **)(clcf + d->offset);
    size_t n = ptc_conf_nargs(cf);

    if (*list == PTC_CONF_UNSET_PTR || *list == NULL) {
        *list = ptc_array_create(cf->pool, n - 1, sizeof(ptc_http_complex_value_t *));
        if (*list == NULL) {
            return "out of memory";
        }
    }
    for (size_t i = 1; i < n; i++) {
        const ptc_str_t *v = ptc_conf_arg(cf, i);
        if (v->len == 0) {
            return ptc_conf_error(cf, "index \"\" in \"index\" directive is invalid");
        }
        if (v->data[0] == '/' && i != n - 1) {
            /* names after an absolute one are never reached */
            ptc_conf_warn(cf, "only the last index in \"index\" directive should be absolute");
        }
        ptc_http_complex_value_t **slot = ptc_array_push(*list);
        if (slot == NULL) {
            return "out of memory";
        }
        *slot = ptc_http_complex_value_compile(cf, v);
        if (*slot == NULL) {
            return PTC_CONF_ERROR;
        }
    }
    return NULL;
}

static int
index_postconfig(ptc_conf_t *cf)
{
    return ptc_http_add_phase_handler(cf, PTC_HTTP_CONTENT_PHASE, index_handler);
}

static int
index_handler(ptc_http_request_t *r)
{
    const ptc_array_t *list = ptc_http_core_loc(r)->index;
    index_walk_t w = {0};
    int rc;

    if (r->uri.len == 0 || r->uri.data[r->uri.len - 1] != '/') {
        return PTC_DECLINED;
    }
    if (r->method != PTC_HTTP_GET && r->method != PTC_HTTP_HEAD && r->method != PTC_HTTP_POST) {
        return PTC_DECLINED;
    }
    if (list == NULL || list == PTC_CONF_UNSET_PTR || list->nelts == 0) {
        return PTC_DECLINED;
    }
    if (index_eval_names(r, list, &w) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return PTC_DONE;
    }
    for (size_t i = 0; i < w.nnames; i++) {
        rc = index_try(r, &w, &w.names[i]);
        if (rc != PTC_DECLINED) {
            return PTC_DONE; /* redirected or answered */
        }
    }
    if (!w.dir_tested) {
        return PTC_DECLINED; /* every name evaluated to "" */
    }
    ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "directory index of \"" PTC_STR_FMT "\" is forbidden",
                  PTC_STR_ARG(w.path));
    ptc_http_finalize_status(r, 403);
    return PTC_DONE;
}

/* Evaluate every name (they may hold variables) and size the room needed
 * after the directory path for the longest relative one. */
static int
index_eval_names(ptc_http_request_t *r, const ptc_array_t *list, index_walk_t *w)
{
    ptc_http_complex_value_t **cv = list->elts;

    w->names = ptc_palloc(r->pool, list->nelts * sizeof(ptc_str_t));
    if (w->names == NULL) {
        return PTC_ERROR;
    }
    w->nnames = list->nelts;
    for (size_t i = 0; i < list->nelts; i++) {
        if (ptc_http_complex_value(r, cv[i], &w->names[i]) != PTC_OK) {
            return PTC_ERROR;
        }
        if (w->names[i].len && w->names[i].data[0] != '/') {
            w->reserve = ptc_max(w->reserve, w->names[i].len + 1);
        }
    }
    return PTC_OK;
}

/* Try one name. PTC_DONE when the request was redirected or answered,
 * PTC_DECLINED to go on with the next name. */
static int
index_try(ptc_http_request_t *r, index_walk_t *w, const ptc_str_t *name)
{
    struct stat st;
    int err;

    if (name->len == 0) {
        return PTC_DECLINED; /* would redirect to the directory itself, forever */
    }
    if (name->data[0] == '/') {
        index_redirect(r, name);
        return PTC_DONE;
    }
    if (w->path.data == NULL && ptc_http_map_uri_to_path(r, &w->path, w->reserve) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return PTC_DONE;
    }
    u_char *file = w->path.data;
    memcpy(file + w->path.len, name->data, name->len);
    file[w->path.len + name->len] = '\0';

    if (stat((const char *)file, &st) == 0) {
        index_redirect(r, name);
        return PTC_DONE;
    }
    err = errno;
    if (err == ENOTDIR || err == ENAMETOOLONG || err == EACCES) {
        index_error(r, file, err);
        return PTC_DONE;
    }
    if (!w->dir_tested) {
        if (index_test_dir(r, w) != PTC_OK) {
            return PTC_DONE;
        }
        w->dir_tested = true;
    }
    if (err == ENOENT) {
        return PTC_DECLINED;
    }
    ptc_log_error(PTC_LOG_CRIT, r->c->log, err, "stat() \"%s\" failed", (const char *)file);
    ptc_http_finalize_status(r, 500);
    return PTC_DONE;
}

/* The first index file is missing: is the directory itself there? PTC_OK
 * when it is a directory; otherwise the request is answered (404 naming the
 * index file that was tried, 403, or 500) and PTC_DONE returned. */
static int
index_test_dir(ptc_http_request_t *r, index_walk_t *w)
{
    u_char *file = w->path.data, saved = file[w->path.len];
    struct stat st;
    int rc, err;

    file[w->path.len] = '\0';
    rc = stat((const char *)file, &st);
    err = errno;
    file[w->path.len] = saved;

    if (rc == 0 && S_ISDIR(st.st_mode)) {
        return PTC_OK;
    }
    if (rc == 0) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "\"" PTC_STR_FMT "\" is not a directory",
                      PTC_STR_ARG(w->path));
        ptc_http_finalize_status(r, 500);
    } else if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG || err == EACCES) {
        index_error(r, file, err);
    } else {
        ptc_log_error(PTC_LOG_CRIT, r->c->log, err, "stat() \"" PTC_STR_FMT "\" failed",
                      PTC_STR_ARG(w->path));
        ptc_http_finalize_status(r, 500);
    }
    return PTC_DONE;
}

/* 403 for a permission error, else 404 (logged unless log_not_found off). */
static void
index_error(ptc_http_request_t *r, const u_char *path, int err)
{
    if (err == EACCES) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, err, "\"%s\" is forbidden", (const char *)path);
        ptc_http_finalize_status(r, 403);
        return;
    }
    if (ptc_http_core_loc(r)->log_not_found) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, err, "\"%s\" is not found", (const char *)path);
    }
    ptc_http_finalize_status(r, 404);
}

/* Internal redirect to URI + name, or to name itself when it is absolute;
 * the query string goes along. */
static void
index_redirect(ptc_http_request_t *r, const ptc_str_t *name)
{
    ptc_str_t uri = *name;

    if (name->data[0] != '/') {
        uri.len = r->uri.len + name->len;
        uri.data = ptc_pnalloc(r->pool, uri.len);
        if (uri.data == NULL) {
            ptc_http_finalize_status(r, 500);
            return;
        }
        memcpy(ptc_cpymem(uri.data, r->uri.data, r->uri.len), name->data, name->len);
    }
    ptc_http_internal_redirect(r, &uri, &r->args);
}
