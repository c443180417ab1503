/* SPDX-License-Identifier: BSD-2-Clause */
/* The static module: a content phase handler answering GET and HEAD with
 * the file that root/alias maps the URI to, with conditional (304/412) and
 * single-range (206/416) support; a directory asked for without its slash
 * gets a 301 to the slashed URI. The file's descriptor is closed by a
 * cleanup on r->pool, so it stays open while sendfile drains the body. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ptc_buf.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/http/http.h"
#include "modules/http/http_core.h"
#include "modules/http/http_static_cond.h"
#include "modules/http/http_util.h"

/* The file a request resolved to; path and etag live in r->pool. */
typedef struct {
    int fd;
    struct stat st;
    ptc_str_t path; /* NUL-terminated */
    ptc_str_t etag;
} static_file_t;

static int static_postconfig(ptc_conf_t *cf);
static int static_handler(ptc_http_request_t *r);
static int static_open(ptc_http_request_t *r, static_file_t *f);
static void static_open_failed(ptc_http_request_t *r, const ptc_str_t *path, int err);
static void static_close_fd(void *data);
static void static_redirect_dir(ptc_http_request_t *r);
static void static_serve(ptc_http_request_t *r, static_file_t *f);
static void static_not_modified(ptc_http_request_t *r, static_file_t *f);
static void static_send(ptc_http_request_t *r, static_file_t *f, const ptc_http_range_t *range);

ptc_module_t ptc_http_static_module = {
    .name = "http_static",
    .type = PTC_MODULE_HTTP,
    .postconfig = static_postconfig,
};

static int
static_postconfig(ptc_conf_t *cf)
{
    return ptc_http_add_phase_handler(cf, PTC_HTTP_CONTENT_PHASE, static_handler);
}

/* The engine runs this only for locations without a handler of their own.
 * Method and slash checks come first, as in nginx: PUT on anything is 405,
 * a URI ending in '/' belongs to the index module. POST is refused only once
 * the file is known to exist (a missing file stays 404). */
static int
static_handler(ptc_http_request_t *r)
{
    static_file_t f;
    int rc;

    if (r->method != PTC_HTTP_GET && r->method != PTC_HTTP_HEAD && r->method != PTC_HTTP_POST) {
        ptc_http_finalize_status(r, 405);
        return PTC_DONE;
    }
    if (r->uri.len == 0 || r->uri.data[r->uri.len - 1] == '/') {
        return PTC_DECLINED;
    }
    if (static_open(r, &f) != PTC_OK) {
        return PTC_DONE;
    }
    if (S_ISDIR(f.st.st_mode)) {
        static_redirect_dir(r);
        return PTC_DONE;
    }
    if (!S_ISREG(f.st.st_mode)) {
        ptc_log_error(PTC_LOG_CRIT, r->c->log, 0, "\"%s\" is not a regular file",
                      (const char *)f.path.data);
        ptc_http_finalize_status(r, 404);
        return PTC_DONE;
    }
    if (r->method == PTC_HTTP_POST) {
        ptc_http_finalize_status(r, 405);
        return PTC_DONE;
    }
    rc = ptc_http_discard_request_body(r);
    if (rc == PTC_ERROR) {
        ptc_http_finalize(r, PTC_ERROR);
        return PTC_DONE;
    }
    if (rc == PTC_DONE) {
        return PTC_DONE;
    }
    static_serve(r, &f);
    return PTC_DONE;
}

/* Map, open and fstat the file. PTC_OK, or PTC_ERROR once the request has
 * been answered (404/403/500). The cleanup is registered before open() so
 * that a successful open can never leak its descriptor. */
static int
static_open(ptc_http_request_t *r, static_file_t *f)
{
    ptc_pool_cleanup_t *cln;

    if (ptc_http_map_uri_to_path(r, &f->path, 0) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return PTC_ERROR;
    }
    cln = ptc_pool_cleanup_add(r->pool, sizeof(int));
    if (cln == NULL) {
        ptc_http_finalize_status(r, 500);
        return PTC_ERROR;
    }
    f->fd = open((const char *)f->path.data, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f->fd == -1) {
        static_open_failed(r, &f->path, errno);
        return PTC_ERROR;
    }
    *(int *)cln->data = f->fd;
    cln->handler = static_close_fd;
    if (fstat(f->fd, &f->st) == -1) {
        ptc_log_error(PTC_LOG_CRIT, r->c->log, errno, "fstat() \"%s\" failed",
                      (const char *)f->path.data);
        ptc_http_finalize_status(r, 500);
        return PTC_ERROR;
    }
    return PTC_OK;
}

/* Answer a failed open(): missing -> 404 (logged unless log_not_found is
 * off), forbidden -> 403, anything else -> 500 at crit level. */
static void
static_open_failed(ptc_http_request_t *r, const ptc_str_t *path, int err)
{
    unsigned status = 500, level = PTC_LOG_CRIT;

    if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG) {
        status = 404;
        level = PTC_LOG_ERR;
    } else if (err == EACCES) {
        status = 403;
        level = PTC_LOG_ERR;
    }
    if (status != 404 || ptc_http_core_loc(r)->log_not_found) {
        ptc_log_error(level, r->c->log, err, "open() \"%s\" failed", (const char *)path->data);
    }
    ptc_http_finalize_status(r, status);
}

static void
static_close_fd(void *data)
{
    close(*(int *)data);
}

/* 301 to "URI/" (plus "?args"), made absolute per the *_redirect settings. */
static void
static_redirect_dir(ptc_http_request_t *r)
{
    ptc_str_t uri;

    if (ptc_http_static_dir_location(r->pool, &r->uri, &r->args, &uri) != PTC_OK
        || ptc_http_redirect_location(r, &uri, &r->headers_out.location) != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return;
    }
    ptc_http_finalize_status(r, 301);
}

/* A byte range is served unless a body filter will transform the file
 * (the filters' tests look at the type the response will have). */
static bool
static_ranges_allowed(ptc_http_request_t *r)
{
    ptc_str_t saved = r->headers_out.content_type;
    ptc_http_set_content_type(r);
    bool transformed = ptc_http_body_transformed(r);
    r->headers_out.content_type = saved;
    return !transformed;
}

/* Preconditions first (RFC 9110 §13.2.2), then Range; the validators are
 * only put on responses that describe the file (200, 206, 304). */
static void
static_serve(ptc_http_request_t *r, static_file_t *f)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    ptc_http_range_t range;
    int rc = PTC_DECLINED;
    u_char *tag = ptc_pnalloc(r->pool, PTC_HTTP_ETAG_MAX);

    if (tag == NULL) {
        ptc_http_finalize_status(r, 500);
        return;
    }
    f->etag.data = tag;
    f->etag.len = ptc_http_etag(tag, f->st.st_mtime, f->st.st_size);

    switch (ptc_http_static_preconditions(&r->headers_in, &f->etag, f->st.st_mtime,
                                          clcf->if_modified_since, true)) {
    case 412:
        ptc_http_finalize_status(r, 412);
        return;
    case 304:
        static_not_modified(r, f);
        return;
    default:
        break;
    }
    if (r->method == PTC_HTTP_GET && clcf->max_ranges != 0 && static_ranges_allowed(r)) {
        rc = ptc_http_static_range(&r->headers_in, &f->etag, f->st.st_mtime, f->st.st_size, &range);
    }
    if (rc == PTC_ERROR) {
        if (ptc_http_static_content_range(r->pool, NULL, f->st.st_size,
                                          &r->headers_out.content_range)
            != PTC_OK) {
            ptc_http_finalize_status(r, 500);
            return;
        }
        ptc_http_finalize_status(r, 416);
        return;
    }
    static_send(r, f, rc == PTC_OK ? &range : NULL);
}

/* 304: no body, no Content-Type/Length, but ETag and Last-Modified kept. */
static void
static_not_modified(ptc_http_request_t *r, static_file_t *f)
{
    r->headers_out.status = 304;
    r->headers_out.last_modified_time = f->st.st_mtime;
    r->headers_out.etag = f->etag;
    r->header_only = 1;
    ptc_http_finalize(r, ptc_http_send_header(r));
}

/* 200 with the whole file or 206 with one range; the body is a file buffer
 * the write filter sends with sendfile. HEAD stops after the header. */
static void
static_send(ptc_http_request_t *r, static_file_t *f, const ptc_http_range_t *range)
{
    ptc_buf_t *b = ptc_buf_calloc(r->pool);
    ptc_chain_t *cl = ptc_chain_alloc(r->pool);
    off_t start = range ? range->start : 0;
    off_t end = range ? range->end + 1 : f->st.st_size;
    int rc;

    if (b == NULL || cl == NULL
        || (range
            && ptc_http_static_content_range(r->pool, range, f->st.st_size,
                                             &r->headers_out.content_range)
                   != PTC_OK)) {
        ptc_http_finalize_status(r, 500);
        return;
    }
    r->headers_out.status = range ? 206 : 200;
    r->headers_out.content_length_n = end - start;
    r->headers_out.last_modified_time = f->st.st_mtime;
    r->headers_out.etag = f->etag;
    r->headers_out.accept_ranges = 1;
    ptc_http_set_content_type(r);
    if (r->method == PTC_HTTP_HEAD) {
        r->header_only = 1;
    }
    b->fd = f->fd;
    b->file_pos = start;
    b->file_last = end;
    b->in_file = end > start; /* an empty file is just the end-of-response mark */
    b->last_buf = 1;
    cl->buf = b;
    cl->next = NULL;

    rc = ptc_http_send_header(r);
    if (rc != PTC_OK || r->header_only) {
        ptc_http_finalize(r, rc);
        return;
    }
    ptc_http_finalize(r, ptc_http_output_filter(r, cl));
}
