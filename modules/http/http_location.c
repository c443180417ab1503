/* SPDX-License-Identifier: BSD-2-Clause */
/* Server and location selection, content types, and URI to path mapping.
 * Location search follows nginx: exact match wins at once; otherwise the
 * longest matching prefix is remembered (and searched recursively for
 * nested locations); unless it is "^~", regexes are tried in file order
 * (nested ones first) and the first match wins; else the prefix. */
#include <stdio.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "modules/http/http_int.h"

#include "core/ptc_regex.h"

int
ptc_http_init_locations(ptc_conf_t *cf, ptc_http_core_loc_conf_t *clcf)
{
    ptc_array_t *lists[2] = {clcf->locations, clcf->regex_locations};
    for (int k = 0; k < 2; k++) {
        if (lists[k] == NULL) {
            continue;
        }
        ptc_http_core_loc_conf_t **locs = lists[k]->elts;
        for (size_t i = 0; i < lists[k]->nelts; i++) {
            /* the same prefix twice is an error, as in nginx */
            for (size_t j = 0; k == 0 && j < i; j++) {
                if (ptc_str_eq(&locs[i]->name, &locs[j]->name)
                    && (locs[i]->type == PTC_HTTP_LOC_EXACT)
                           == (locs[j]->type == PTC_HTTP_LOC_EXACT)) {
                    snprintf(cf->errbuf, cf->errlen, "duplicate location \"%.*s\" in %s:%u",
                             PTC_STR_ARG(locs[i]->name), locs[i]->file, locs[i]->line);
                    cf->failed = true;
                    return PTC_ERROR;
                }
            }
            if (locs[i]->regex && ptc_http_regex_names_register(cf, locs[i]->regex) != PTC_OK) {
                return PTC_ERROR;
            }
            if (ptc_http_init_locations(cf, locs[i]) != PTC_OK) {
                return PTC_ERROR;
            }
        }
    }
    return PTC_OK;
}

/* Longest prefix (or exact) among `list`; *exact set on an exact match;
 * *redirect set when uri is a location name ending in '/' minus that slash
 * and the location asks for the redirect (proxy_pass). */
static ptc_http_core_loc_conf_t *
loc_find_prefix(ptc_array_t *list, const ptc_str_t *uri, bool *exact, bool *redirect)
{
    ptc_http_core_loc_conf_t *best = NULL;
    if (list == NULL) {
        return NULL;
    }
    ptc_http_core_loc_conf_t **locs = list->elts;
    for (size_t i = 0; i < list->nelts; i++) {
        ptc_http_core_loc_conf_t *l = locs[i];
        if (l->auto_redirect && l->name.len == uri->len + 1
            && memcmp(l->name.data, uri->data, uri->len) == 0) {
            *redirect = true;
        }
        if (l->type == PTC_HTTP_LOC_EXACT) {
            if (ptc_str_eq(&l->name, uri)) {
                *exact = true;
                return l;
            }
            continue;
        }
        if (l->name.len <= uri->len && memcmp(l->name.data, uri->data, l->name.len) == 0
            && (best == NULL || l->name.len > best->name.len)) {
            best = l;
        }
    }
    return best;
}

static ptc_http_core_loc_conf_t *
loc_find_regex(ptc_http_request_t *r, ptc_http_core_loc_conf_t *scope)
{
    if (scope->regex_locations == NULL) {
        return NULL;
    }
    ptc_http_core_loc_conf_t **locs = scope->regex_locations->elts;
    for (size_t i = 0; i < scope->regex_locations->nelts; i++) {
        /* PTC_ERROR (a match limit, logged) counts as no match */
        if (ptc_http_regex_exec(r, locs[i]->regex, &r->uri) == PTC_OK) {
            return locs[i];
        }
    }
    return NULL;
}

int
ptc_http_find_location(ptc_http_request_t *r)
{
    ptc_conf_ctx_t *sctx = ptc_http_core_srv(r)->ctx;
    ptc_http_core_loc_conf_t *scope = sctx->loc_conf[ptc_http_core_module.ctx_index];
    ptc_http_core_loc_conf_t *chain[16];
    size_t depth = 0;
    bool exact = false, redirect = false;
    chain[depth++] = scope;
    ptc_http_core_loc_conf_t *found = NULL;
    for (;;) {
        ptc_http_core_loc_conf_t *p = loc_find_prefix(scope->locations, &r->uri, &exact, &redirect);
        if (p == NULL) {
            break;
        }
        found = p;
        if (exact || depth == ptc_nelems(chain)) {
            break;
        }
        chain[depth++] = p;
        scope = p;
    }
    if (!exact && !(found && found->type == PTC_HTTP_LOC_NOREGEX)) {
        /* regexes of the innermost matched location first, then outward */
        for (size_t i = depth; i-- > 0;) {
            ptc_http_core_loc_conf_t *rx = loc_find_regex(r, chain[i]);
            if (rx) {
                r->loc_conf = rx->loc_conf;
                return PTC_OK;
            }
        }
    }
    if (redirect && !exact) {
        /* "/a" for "location /a/ { proxy_pass ...; }": 301 to "/a/" */
        r->loc_conf = found ? found->loc_conf : sctx->loc_conf;
        return PTC_DONE;
    }
    if (found) {
        r->loc_conf = found->loc_conf;
        return PTC_OK;
    }
    r->loc_conf = sctx->loc_conf;
    return PTC_DECLINED;
}

static bool
srv_name_match(const ptc_http_server_name_t *n, const ptc_str_t *host)
{
    if (n->wildcard_head) {
        /* name is ".example.com": a proper suffix, or the bare domain for ".x" form */
        if (host->len > n->name.len
            && memcmp(host->data + host->len - n->name.len, n->name.data, n->name.len) == 0) {
            return true;
        }
        return n->dot_form && host->len == n->name.len - 1
               && memcmp(host->data, n->name.data + 1, host->len) == 0;
    }
    if (n->wildcard_tail) {
        return host->len > n->name.len && memcmp(host->data, n->name.data, n->name.len) == 0;
    }
    return false;
}

ptc_http_core_srv_conf_t *
ptc_http_find_server(ptc_http_addr_conf_t *ac, const ptc_str_t *host, ptc_http_request_t *r)
{
    ptc_http_server_name_t *names = ac->names.elts;
    ptc_http_server_name_t *head = NULL, *tail = NULL;
    if (host->len == 0) {
        for (size_t i = 0; i < ac->names.nelts; i++) {
            if (names[i].name.len == 0 && !names[i].regex) {
                return names[i].server;
            }
        }
        return ac->default_server;
    }
    for (size_t i = 0; i < ac->names.nelts; i++) {
        ptc_http_server_name_t *n = &names[i];
        if (n->regex || !(n->wildcard_head || n->wildcard_tail)) {
            if (!n->regex && ptc_str_eq(&n->name, host)) {
                return n->server;
            }
            continue;
        }
        if (srv_name_match(n, host)) {
            ptc_http_server_name_t **best = n->wildcard_head ? &head : &tail;
            if (*best == NULL || n->name.len > (*best)->name.len) {
                *best = n;
            }
        }
    }
    if (head) {
        return head->server;
    }
    if (tail) {
        return tail->server;
    }
    for (size_t i = 0; ac->has_regex_names && i < ac->names.nelts; i++) {
        if (!names[i].regex) {
            continue;
        }
        /* without a request (TLS SNI) there is nowhere to keep captures */
        if (r ? ptc_http_regex_exec(r, names[i].regex, host) == PTC_OK
              : ptc_regex_exec(names[i].regex, host->data, host->len, NULL, 0) >= 0) {
            return names[i].server;
        }
    }
    return ac->default_server;
}

void
ptc_http_set_content_type(ptc_http_request_t *r)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    if (r->headers_out.content_type.len) {
        return;
    }
    if (r->exten.len && clcf->types) {
        ptc_http_type_t *t = clcf->types->elts;
        for (size_t i = 0; i < clcf->types->nelts; i++) {
            if (ptc_str_caseeq(&t[i].exten, &r->exten)) {
                r->headers_out.content_type = t[i].type;
                return;
            }
        }
    }
    r->headers_out.content_type = clcf->default_type;
}

int
ptc_http_map_uri_to_path(ptc_http_request_t *r, ptc_str_t *path, size_t reserve)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    ptc_str_t root = clcf->root;
    if (clcf->root_cv && ptc_http_complex_value(r, clcf->root_cv, &root) != PTC_OK) {
        return PTC_ERROR;
    }
    ptc_str_t uri = r->uri;
    if (clcf->alias && clcf->type != PTC_HTTP_LOC_REGEX && !r->valid_location) {
        /* after `rewrite ... break` the URI need not start with the location */
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0,
                      "\"alias\" cannot be used in location \"" PTC_STR_FMT
                      "\" where URI was rewritten",
                      PTC_STR_ARG(clcf->name));
        return PTC_ERROR;
    }
    if (clcf->alias && clcf->type != PTC_HTTP_LOC_REGEX) {
        /* alias replaces the location prefix */
        size_t skip = ptc_min(clcf->name.len, uri.len);
        uri.data += skip;
        uri.len -= skip;
    } else if (clcf->alias) {
        uri.len = 0; /* regex alias: the alias is the whole path (with captures) */
    }
    ptc_str_t pre = ptc_null_string;
    if (clcf->root_cv && (root.len == 0 || root.data[0] != '/')) {
        pre = clcf->root_prefix;
    }
    size_t len = pre.len + root.len + uri.len;
    u_char *p = ptc_pnalloc(r->pool, len + reserve + 1);
    if (p == NULL) {
        return PTC_ERROR;
    }
    path->data = p;
    if (pre.len) {
        p = ptc_cpymem(p, pre.data, pre.len);
    }
    p = ptc_cpymem(p, root.data, root.len);
    if (uri.len) {
        p = ptc_cpymem(p, uri.data, uri.len);
    }
    *p = '\0';
    path->len = len;
    return PTC_OK;
}

int
ptc_http_redirect_location(ptc_http_request_t *r, const ptc_str_t *uri, ptc_str_t *out)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_core_loc(r);
    if (!clcf->absolute_redirect || uri->len == 0 || uri->data[0] != '/') {
        *out = *uri;
        return PTC_OK;
    }
    ptc_str_t host = r->headers_in.server;
    if (clcf->server_name_in_redirect || host.len == 0) {
        host = ptc_http_core_srv(r)->server_name;
    }
    if (host.len == 0 && ptc_conn_local_sockaddr(r->c) == PTC_OK) {
        u_char *t = ptc_pnalloc(r->pool, 64);
        if (t == NULL) {
            return PTC_ERROR;
        }
        host.data = t;
        host.len = ptc_sockaddr_text((struct sockaddr *)&r->c->local_sockaddr, r->c->local_socklen,
                                     t, 64, false);
    }
    int port = 0;
    if (clcf->port_in_redirect && ptc_conn_local_sockaddr(r->c) == PTC_OK) {
        port = ptc_sockaddr_port((struct sockaddr *)&r->c->local_sockaddr);
    }
    bool tls = r->c->ssl != NULL;
    const char *scheme = tls ? "https" : "http";
    if (port == 0 || port == (tls ? 443 : 80)) {
        return ptc_psprintf(r->pool, out, "%s://" PTC_STR_FMT PTC_STR_FMT, scheme,
                            PTC_STR_ARG(host), PTC_STR_ARG(*uri));
    }
    return ptc_psprintf(r->pool, out, "%s://" PTC_STR_FMT ":%d" PTC_STR_FMT, scheme,
                        PTC_STR_ARG(host), port, PTC_STR_ARG(*uri));
}
