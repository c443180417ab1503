/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: streaming request bodies (proxy_request_buffering off). */
#ifndef PTC_MODULES_PROXY_STREAM_H
#define PTC_MODULES_PROXY_STREAM_H

#include "modules/proxy/proxy_ctx.h"

/* Prepare ctx to stream the body; PTC_OK or PTC_ERROR. */
int ptc_proxy_stream_init(proxy_ctx_t *ctx);
/* Move body bytes client -> upstream until blocked or done; on done calls
 * ptc_proxy_request_sent(). */
void ptc_proxy_stream(proxy_ctx_t *ctx);
/* proxy_run.c: the request (head and body) is out; wait for the response. */
void ptc_proxy_request_sent(proxy_ctx_t *ctx);
/* proxy_run.c: give up on the request: status answer (or cut when 0). */
void ptc_proxy_abort(proxy_ctx_t *ctx, unsigned status);

#endif
