/* SPDX-License-Identifier: BSD-2-Clause */
/* Pure decisions of the static file handler: preconditions, If-Range,
 * Range, Content-Range and the directory redirect target. Header values are
 * counted strings from the request; nothing here is NUL-dependent. */
#include "modules/http/http_static_cond.h"

#include "core/ptc_pool.h"

static bool static_precondition_failed(const ptc_http_headers_in_t *in, const ptc_str_t *etag,
                                       time_t mtime);
static bool static_etag_ok(const ptc_http_header_t *h, const ptc_str_t *etag, bool weak);
static time_t static_header_time(const ptc_http_header_t *h);
static bool static_uri_needs_escape(u_char c);

unsigned
ptc_http_static_preconditions(const ptc_http_headers_in_t *in, const ptc_str_t *etag, time_t mtime,
                              int ims_mode, bool safe)
{
    if (static_precondition_failed(in, etag, mtime)) {
        return 412;
    }
    if (in->if_none_match) {
        if (!static_etag_ok(in->if_none_match, etag, true)) {
            return 0;
        }
        return safe ? 304 : 412;
    }
    if (!safe || in->if_modified_since == NULL || ims_mode == PTC_HTTP_IMS_OFF || mtime == -1) {
        return 0;
    }
    time_t t = static_header_time(in->if_modified_since);
    if (t == -1) {
        return 0;
    }
    if (ims_mode == PTC_HTTP_IMS_EXACT) {
        return mtime == t ? 304 : 0;
    }
    return mtime <= t ? 304 : 0;
}

bool
ptc_http_static_if_range_ok(const ptc_str_t *value, const ptc_str_t *etag, time_t mtime)
{
    const u_char *v = value->data;
    size_t n = value->len;

    /* an entity-tag starts with DQUOTE or "W/"; only a strong one can match */
    if ((n >= 1 && v[0] == '"') || (n >= 2 && v[0] == 'W' && v[1] == '/')) {
        bool etag_weak = etag->len >= 2 && etag->data[0] == 'W' && etag->data[1] == '/';
        return v[0] == '"' && !etag_weak && ptc_str_eq(value, etag);
    }
    return mtime != -1 && ptc_http_parse_time(v, n) == mtime;
}

int
ptc_http_static_range(const ptc_http_headers_in_t *in, const ptc_str_t *etag, time_t mtime,
                      off_t size, ptc_http_range_t *range)
{
    if (in->range == NULL) {
        return PTC_DECLINED;
    }
    if (in->if_range && !ptc_http_static_if_range_ok(&in->if_range->value, etag, mtime)) {
        return PTC_DECLINED;
    }
    return ptc_http_parse_range(in->range->value.data, in->range->value.len, size, range);
}

int
ptc_http_static_content_range(ptc_pool_t *pool, const ptc_http_range_t *range, off_t size,
                              ptc_str_t *out)
{
    if (range == NULL) {
        return ptc_psprintf(pool, out, "bytes */%jd", (intmax_t)size);
    }
    return ptc_psprintf(pool, out, "bytes %jd-%jd/%jd", (intmax_t)range->start,
                        (intmax_t)range->end, (intmax_t)size);
}

int
ptc_http_static_dir_location(ptc_pool_t *pool, const ptc_str_t *uri, const ptc_str_t *args,
                             ptc_str_t *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = 1 + (args->len ? 1 + args->len : 0);

    for (size_t i = 0; i < uri->len; i++) {
        len += static_uri_needs_escape(uri->data[i]) ? 3 : 1;
    }
    u_char *p = ptc_pnalloc(pool, len);
    if (p == NULL) {
        return PTC_ERROR;
    }
    out->data = p;
    out->len = len;
    for (size_t i = 0; i < uri->len; i++) {
        u_char c = uri->data[i];
        if (static_uri_needs_escape(c)) {
            *p++ = '%';
            *p++ = (u_char)hex[c >> 4];
            *p++ = (u_char)hex[c & 0xf];
        } else {
            *p++ = c;
        }
    }
    *p++ = '/';
    if (args->len) {
        *p++ = '?';
        memcpy(p, args->data, args->len);
    }
    return PTC_OK;
}

/* RFC 9110 §13.2.2 steps 1-2: 412 when If-Match or If-Unmodified-Since fail. */
static bool
static_precondition_failed(const ptc_http_headers_in_t *in, const ptc_str_t *etag, time_t mtime)
{
    if (in->if_match) {
        return !static_etag_ok(in->if_match, etag, false);
    }
    if (in->if_unmodified_since) {
        /* no modification date (-1) never counts as later */
        time_t t = static_header_time(in->if_unmodified_since);
        return t != -1 && mtime > t;
    }
    return false;
}

/* Does the If-Match / If-None-Match field h match etag? */
static bool
static_etag_ok(const ptc_http_header_t *h, const ptc_str_t *etag, bool weak)
{
    return ptc_http_etag_match(h->value.data, h->value.len, etag->data, etag->len, weak);
}

/* The date in a header field, or -1 when it does not parse. */
static time_t
static_header_time(const ptc_http_header_t *h)
{
    return ptc_http_parse_time(h->value.data, h->value.len);
}

/* Bytes of a decoded path that may not appear raw in a Location URI
 * (RFC 3986 §3.3 plus the delimiters that would end the path). */
static bool
static_uri_needs_escape(u_char c)
{
    return c <= 0x20 || c >= 0x7f || strchr("\"#%<>?\\^`{|}", c) != NULL;
}
