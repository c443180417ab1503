/* SPDX-License-Identifier: BSD-2-Clause */
/* OCSP stapling from a prepared DER response: ssl_stapling,
 * ssl_stapling_file, ssl_stapling_verify. (First cut: not yet sent.) */
#include "modules/ssl/ssl_int.h"

const char *
ptc_http_ssl_stapling_configure(ptc_conf_t *cf, ptc_http_ssl_srv_conf_t *conf)
{
    return NULL;
}
