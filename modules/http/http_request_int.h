/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to the request files of modules/http. */
#ifndef PTC_MODULES_HTTP_REQUEST_INT_H
#define PTC_MODULES_HTTP_REQUEST_INT_H

#include "modules/http/http_int.h"

/* Set r->exten from r->uri. */
void ptc_http_request_set_exten(ptc_http_request_t *r);
/* Validate and store a Host value (lowercased, port and trailing dot
 * removed) in r->headers_in.server. PTC_OK or PTC_DECLINED (invalid). */
int ptc_http_validate_host(ptc_http_request_t *r, ptc_str_t *host);
/* Store the header just parsed; PTC_OK, or PTC_ERROR after finalizing the
 * request with 400. */
int ptc_http_request_header(ptc_http_request_t *r, ptc_http_core_srv_conf_t *cscf);
/* Checks once the head is complete (Host, framing), pick the server.
 * PTC_OK, or PTC_ERROR after finalizing with the right status. */
int ptc_http_request_head_done(ptc_http_request_t *r);
/* True when no unread request body remains on the connection. */
bool ptc_http_body_finished(ptc_http_request_t *r);

#endif
