/* SPDX-License-Identifier: BSD-2-Clause */
/* Error and special responses (error_page, standard pages, 444), in-memory
 * responses, internal redirects, and the phase runner with the engine's own
 * phase handlers (find location, location content handler, 404 fallback). */
#include <stdio.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/http/http_request_int.h"
#include "modules/http/http_util.h"

/* ---- phases ---- */

void
ptc_http_run_phases(ptc_http_request_t *r)
{
    while ((size_t)r->phase_handler < ptc_http_phase_engine_n) {
        ptc_http_phase_handler_t *ph = &ptc_http_phase_engine[r->phase_handler];
        int rc = ph->handler(r);
        if (rc == PTC_DECLINED) {
            r->phase_handler++;
        } else if (rc == PTC_OK) {
            r->phase_handler = ph->next;
        } else {
            return;
        }
    }
}

static int
http_find_config_phase(ptc_http_request_t *r)
{
    r->content_handler = NULL;
    r->uri_changed = 0;
    r->valid_location = 1;
    if (ptc_http_find_location(r) == PTC_DONE) {
        ptc_str_t uri;
        if (ptc_psprintf(r->pool, &uri, PTC_STR_FMT "/%s" PTC_STR_FMT, PTC_STR_ARG(r->uri),
                         r->args.len ? "?" : "", PTC_STR_ARG(r->args))
                != PTC_OK
            || ptc_http_redirect_location(r, &uri, &r->headers_out.location) != PTC_OK) {
            ptc_http_finalize_status(r, 500);
            return PTC_DONE;
        }
        ptc_http_finalize_status(r, 301);
        return PTC_DONE;
    }
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    if (clcf->internal && !r->internal) {
        ptc_http_finalize_status(r, 404);
        return PTC_DONE;
    }
    ptc_http_core_limit_except(r);
    ptc_log_t *log = r->c->log;
    log->level = clcf->error_log->level;
    log->file = clcf->error_log->file;
    log->next = clcf->error_log->next;
    if (r->headers_in.content_length_n > 0 && clcf->client_max_body_size
        && (size_t)r->headers_in.content_length_n > clcf->client_max_body_size) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0,
                      "client intended to send too large body: %lld bytes",
                      (long long)r->headers_in.content_length_n);
        r->close_after = 1; /* the body will not be read */
        ptc_http_finalize_status(r, 413);
        return PTC_DONE;
    }
    return PTC_OK;
}

static int
http_location_content_phase(ptc_http_request_t *r)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    if (clcf->handler) {
        clcf->handler(r);
        return PTC_DONE;
    }
    return PTC_DECLINED;
}

static int
http_not_found_phase(ptc_http_request_t *r)
{
    ptc_http_finalize_status(r,
                             r->method == PTC_HTTP_GET || r->method == PTC_HTTP_HEAD ? 404 : 405);
    return PTC_DONE;
}

/* Registered by the core module's postconfig; the content pair is placed
 * by the engine around the modules' handlers in ptc_http_init_phases. */
int
ptc_http_engine_phases(ptc_conf_t *cf)
{
    return ptc_http_add_phase_handler(cf, PTC_HTTP_FIND_CONFIG_PHASE, http_find_config_phase);
}

ptc_http_phase_fn ptc_http_content_first = http_location_content_phase;
ptc_http_phase_fn ptc_http_content_last = http_not_found_phase;

/* ---- responses ---- */

static void
http_discard_and_send(ptc_http_request_t *r, const ptc_str_t *ctype, const ptc_str_t *body)
{
    r->headers_out.content_type = ctype ? *ctype : (ptc_str_t)ptc_null_string;
    r->headers_out.content_length_n = body ? (off_t)body->len : 0;
    if (ptc_http_discard_request_body(r) == PTC_ERROR) {
        r->keepalive = 0;
        if (r->discard_status && r->headers_out.status != r->discard_status) {
            /* a body that cannot be framed turns the answer into its error */
            ptc_http_finalize_status(r, r->discard_status);
            return;
        }
    }
    int rc = ptc_http_send_header(r);
    if (rc == PTC_ERROR || rc == PTC_DONE) {
        ptc_http_finalize(r, rc == PTC_DONE ? PTC_OK : rc);
        return;
    }
    ptc_buf_t *b = ptc_buf_calloc(r->pool);
    if (b == NULL) {
        ptc_http_finalize(r, PTC_ERROR);
        return;
    }
    if (body && body->len) {
        b->pos = body->data;
        b->last = body->data + body->len;
        b->memory = 1;
    }
    b->last_buf = 1;
    ptc_chain_t cl = {b, NULL};
    rc = ptc_http_output_filter(r, &cl);
    ptc_http_finalize(r, rc == PTC_AGAIN ? PTC_OK : rc);
}

void
ptc_http_send_response(ptc_http_request_t *r, unsigned status, const ptc_str_t *ctype,
                       const ptc_str_t *body)
{
    r->headers_out.status = status;
    http_discard_and_send(r, ctype, body);
}

static bool
http_status_closes(unsigned status)
{
    switch (status) {
    case 400:
    case 408:
    case 413:
    case 414:
    case 494:
    case 495:
    case 496:
    case 497:
    case 500:
    case 501:
        return true;
    default:
        return false;
    }
}

static bool
http_try_error_page(ptc_http_request_t *r, unsigned status)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    if (clcf->error_pages == NULL || (r->error_page && !clcf->recursive_error_pages)
        || r->uri_changes == 0) {
        return false;
    }
    ptc_http_error_page_t *ep = clcf->error_pages->elts;
    for (size_t i = 0; i < clcf->error_pages->nelts; i++) {
        if (ep[i].status != status) {
            continue;
        }
        ptc_str_t uri;
        if (ptc_http_complex_value(r, ep[i].uri, &uri) != PTC_OK) {
            return false;
        }
        r->error_page = 1;
        r->headers_out.status = ep[i].overwrite > 0 ? (unsigned)ep[i].overwrite : status;
        if (uri.len && uri.data[0] == '@') {
            r->err_status = ep[i].overwrite < 0 ? status : (unsigned)ep[i].overwrite;
            ptc_http_named_location(r, &uri);
            return true;
        }
        if (uri.len && uri.data[0] == '/') {
            ptc_str_t args = ptc_null_string;
            u_char *q = memchr(uri.data, '?', uri.len);
            if (q) {
                args.data = q + 1;
                args.len = uri.len - (size_t)(q - uri.data) - 1;
                uri.len = (size_t)(q - uri.data);
            }
            if (r->method != PTC_HTTP_HEAD) {
                r->method = PTC_HTTP_GET;
                ptc_str_set(&r->method_name, "GET");
            }
            r->err_status = ep[i].overwrite < 0 ? status : (unsigned)ep[i].overwrite;
            ptc_http_internal_redirect(r, &uri, q ? &args : NULL);
            return true;
        }
        /* an external URL: redirect the client */
        unsigned st = ep[i].overwrite > 0 && ep[i].overwrite >= 301 && ep[i].overwrite <= 308
                          ? (unsigned)ep[i].overwrite
                          : 302;
        r->headers_out.location = uri;
        r->error_page = 1;
        ptc_str_t page;
        ptc_str_t html = ptc_string("text/html");
        r->headers_out.status = st;
        if (ptc_http_error_page(r->pool, st, clcf->server_tokens, &page) != PTC_OK) {
            page.len = 0;
        }
        http_discard_and_send(r, &html, &page);
        return true;
    }
    return false;
}

void
ptc_http_finalize_status(ptc_http_request_t *r, unsigned status)
{
    ptc_conn_t *c = r->c;
    if (r->header_sent) {
        /* too late for a status: the client sees a cut response */
        c->error = 1;
        ptc_http_finalize(r, PTC_ERROR);
        return;
    }
    if (status == 444) {
        r->headers_out.status = 444;
        c->error = 1;
        ptc_http_close_request(r, false);
        return;
    }
    r->headers_out.status = status;
    if (http_status_closes(status)) {
        r->keepalive = 0;
        r->lingering_close = 1;
    }
    if (r->srv_conf && r->loc_conf && r->uri.data && http_try_error_page(r, status)) {
        return;
    }
    ptc_str_t page = ptc_null_string, html = ptc_string("text/html");
    bool tokens = r->loc_conf ? ptc_http_core_loc(r)->server_tokens : true;
    if (ptc_http_error_page(r->pool, status, tokens, &page) != PTC_OK) {
        page.len = 0;
        page.data = NULL;
    }
    /* the reset list of extra headers: only "always" ones are re-added by their filters */
    r->headers_out.list.nelts = 0;
    r->headers_out.etag.len = 0;
    r->headers_out.last_modified_time = -1;
    r->headers_out.accept_ranges = 0;
    http_discard_and_send(r, page.len ? &html : NULL, &page);
}

/* ---- internal redirects ---- */

static void
http_restart(ptc_http_request_t *r)
{
    if (--r->uri_changes == 0) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0,
                      "rewrite or internal redirection cycle "
                      "while internally redirecting to \"%.*s\"",
                      PTC_STR_ARG(r->uri));
        r->error_page = 1;
        ptc_http_finalize_status(r, 500);
        return;
    }
    r->internal = 1;
    r->captures = NULL;
    r->ncaptures = 0;
    memset(r->variables, 0, sizeof(ptc_http_variable_value_t) * ptc_http_variables_count());
    size_t n = ptc_http_modules_n();
    memset(r->ctx, 0, n * sizeof(void *));
    ptc_conf_ctx_t *sctx = ptc_http_core_srv(r)->ctx;
    r->loc_conf = sctx->loc_conf;
    /* the server's rewrites see the new URI too, as in nginx */
    r->phase_handler = ptc_http_server_rewrite_index();
    ptc_http_run_phases(r);
}

void
ptc_http_internal_redirect(ptc_http_request_t *r, const ptc_str_t *uri, const ptc_str_t *args)
{
    r->uri = *uri;
    if (args) {
        r->args = *args;
    }
    ptc_http_request_set_exten(r);
    http_restart(r);
}

void
ptc_http_named_location(ptc_http_request_t *r, const ptc_str_t *name)
{
    ptc_conf_ctx_t *sctx = ptc_http_core_srv(r)->ctx;
    ptc_http_core_loc_conf_t *srv = sctx->loc_conf[ptc_http_core_module.ctx_index];
    if (srv->named) {
        ptc_http_core_loc_conf_t **named = srv->named->elts;
        for (size_t i = 0; i < srv->named->nelts; i++) {
            if (ptc_str_eq(&named[i]->name, name)) {
                if (--r->uri_changes == 0) {
                    ptc_http_finalize_status(r, 500);
                    return;
                }
                r->internal = 1;
                r->uri_changed = 0; /* an earlier rewrite does not move it elsewhere */
                r->loc_conf = named[i]->loc_conf;
                ptc_http_core_limit_except(r);
                size_t n = ptc_http_modules_n();
                memset(r->ctx, 0, n * sizeof(void *));
                /* skip location lookup: continue at the rewrite phase */
                r->phase_handler = ptc_http_find_config_index() + 1;
                ptc_http_run_phases(r);
                return;
            }
        }
    }
    ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "could not find named location \"%.*s\"",
                  PTC_STR_ARG(*name));
    r->error_page = 1;
    ptc_http_finalize_status(r, 500);
}
