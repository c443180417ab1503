/* SPDX-License-Identifier: BSD-2-Clause */
/* Request path normalisation: percent-decoding, slash merging and dot-segment
 * removal (RFC 3986 §5.2.4) in one pass. Dot segments are recognised after
 * decoding, so "%2e%2e" climbs like ".."; the output never climbs above "/". */
#include "modules/http/http_parse.h"

static int
uri_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = ptc_tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Decode the two hex digits after a '%' at s (end bounds the input): the
 * byte, or -1 when they are missing or not hex. */
static int
uri_unescape(const u_char *s, const u_char *end)
{
    if (end - s < 2) {
        return -1;
    }
    int hi = uri_hex(s[0]), lo = uri_hex(s[1]);
    return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
}

/* The segment [seg, d) of the output is complete. Returns the new write
 * position: seg for ".", just after the previous segment's slash for "..",
 * d unchanged for any other segment, NULL when ".." would climb above the
 * root slash at `root`. */
static u_char *
uri_end_segment(u_char *root, u_char *seg, u_char *d)
{
    if (d - seg == 1 && seg[0] == '.') {
        return seg;
    }
    if (d - seg != 2 || seg[0] != '.' || seg[1] != '.') {
        return d;
    }
    if (seg - 1 == root) {
        return NULL;
    }
    u_char *q = seg - 2; /* last byte of the previous segment (or its slash) */
    while (*q != '/') {
        q--;
    }
    return q + 1;
}

int
ptc_http_parse_complex_uri(const u_char *uri, size_t uri_len, bool merge_slashes, ptc_str_t *out)
{
    const u_char *s = uri, *end = uri + uri_len;
    u_char *root = out->data, *d = out->data, *seg, *next;

    if (uri_len == 0 || uri[0] != '/') {
        return PTC_ERROR;
    }
    *d++ = *s++;
    seg = d;

    /* '?' and '#' end the path only as raw bytes; "%3F" is a literal '?' */
    while (s < end && *s != '?' && *s != '#') {
        int c = *s++;
        if (c == '%') {
            c = uri_unescape(s, end);
            if (c <= 0) { /* malformed, or a NUL that would truncate C strings */
                return PTC_ERROR;
            }
            s += 2;
        }
        if (c != '/') {
            *d++ = (u_char)c;
            continue;
        }
        next = uri_end_segment(root, seg, d);
        if (next == NULL) {
            return PTC_ERROR;
        }
        if (next != d) { /* a dot segment went away; the slash before it stays */
            d = next;
        } else if (!merge_slashes || d[-1] != '/') {
            *d++ = '/';
        }
        seg = d;
    }

    next = uri_end_segment(root, seg, d); /* "/a/." and "/a/b/.." keep a trailing slash */
    if (next == NULL) {
        return PTC_ERROR;
    }
    out->len = (size_t)(next - root);
    return PTC_OK;
}
