/* SPDX-License-Identifier: BSD-2-Clause */
/* stub_status: a location that prints the connection and request counters
 * of every worker in nginx's exact text (monitoring tools parse it), and
 * the $connections_* variables. The counters live in core (ptc_stats): the
 * accept loop, the connection slots and the HTTP engine keep them. */
#include <stdio.h>

#include "core/ptc_pool.h"
#include "core/ptc_process.h"
#include "modules/http/http_core.h"

static int stub_status_preconfig(ptc_conf_t *cf);
static const char *stub_status_set(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);

static const ptc_directive_t stub_status_directives[] = {
    {"stub_status", PTC_CTX_SERVER | PTC_CTX_LOCATION, PTC_ARGS_0 | PTC_ARGS_1, stub_status_set,
     PTC_CONF_LOC, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_stub_status_module = {
    .name = "http_stub_status",
    .type = PTC_MODULE_HTTP,
    .directives = stub_status_directives,
    .preconfig = stub_status_preconfig,
};

enum { STUB_ACTIVE, STUB_READING, STUB_WRITING, STUB_WAITING };

static int64_t
stub_status_gauge(uintptr_t which)
{
    switch (which) {
    case STUB_ACTIVE:
        return ptc_stat_get(active);
    case STUB_READING:
        return ptc_stat_get(reading);
    case STUB_WRITING:
        return ptc_stat_get(writing);
    default:
        return ptc_stat_get(waiting);
    }
}

static int
stub_status_variable(ptc_http_request_t *r, ptc_http_variable_value_t *v, uintptr_t which)
{
    u_char *p = ptc_pnalloc(r->pool, 24);
    if (p == NULL) {
        return PTC_ERROR;
    }
    v->value.data = p;
    v->value.len = (size_t)snprintf((char *)p, 24, "%lld", (long long)stub_status_gauge(which));
    v->valid = 1;
    return PTC_OK;
}

static const ptc_http_variable_def_t stub_status_vars[] = {
    {"connections_active", stub_status_variable, STUB_ACTIVE, PTC_HTTP_VAR_NOCACHEABLE},
    {"connections_reading", stub_status_variable, STUB_READING, PTC_HTTP_VAR_NOCACHEABLE},
    {"connections_writing", stub_status_variable, STUB_WRITING, PTC_HTTP_VAR_NOCACHEABLE},
    {"connections_waiting", stub_status_variable, STUB_WAITING, PTC_HTTP_VAR_NOCACHEABLE},
    {NULL, NULL, 0, 0},
};

static int
stub_status_preconfig(ptc_conf_t *cf)
{
    return ptc_http_add_variables(cf, stub_status_vars);
}

/* The page, byte for byte as nginx writes it (trailing spaces included). */
static void
stub_status_handler(ptc_http_request_t *r)
{
    if (r->method != PTC_HTTP_GET && r->method != PTC_HTTP_HEAD) {
        ptc_http_finalize_status(r, 405);
        return;
    }
    ptc_str_t body, ctype = ptc_string("text/plain");
    if (ptc_psprintf(r->pool, &body,
                     "Active connections: %lld \nserver accepts handled requests\n"
                     " %llu %llu %llu \nReading: %lld Writing: %lld Waiting: %lld \n",
                     (long long)ptc_stat_get(active), (unsigned long long)ptc_stat_get(accepted),
                     (unsigned long long)ptc_stat_get(handled),
                     (unsigned long long)ptc_stat_get(requests), (long long)ptc_stat_get(reading),
                     (long long)ptc_stat_get(writing), (long long)ptc_stat_get(waiting))
        != PTC_OK) {
        ptc_http_finalize_status(r, 500);
        return;
    }
    ptc_http_send_response(r, 200, &ctype, &body);
}

/* stub_status [on]: the argument of old configs is accepted and ignored. */
static const char *
stub_status_set(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    ptc_http_core_loc_conf_t *clcf = ptc_http_conf_get_loc(cf, ptc_http_core_module);
    if (clcf->handler == stub_status_handler) {
        return "is duplicate";
    }
    clcf->handler = stub_status_handler;
    return NULL;
}
