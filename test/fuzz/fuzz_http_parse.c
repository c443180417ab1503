/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: bytes through the request line, header and chunked parsers in
 * pieces sized by the first byte; asserts every result stays inside the input. */
#include <assert.h>
#include <stdlib.h>

#include "modules/http/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IN(ptr, lo, hi) assert((ptr) == NULL || ((ptr) >= (lo) && (ptr) <= (hi)))
#define FEED(rc, call)                                                                             \
    while (((rc) = (call)) == PTC_AGAIN && b.last < b.end) {                                       \
        assert(b.pos == b.last);                                                                   \
        b.last = step ? ptc_min(b.end, b.last + step) : b.end;                                     \
    }

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t mode = size ? data[0] : 0, step = mode % 9, n = size ? size - 1 : 0;
    u_char *buf = malloc(n + 1), *line_end;
    ptc_buf_t b = {.start = buf, .pos = buf, .last = buf, .end = buf + n};
    ptc_http_parse_t p = {0};
    ptc_http_chunked_t ch = {0};
    int rc;

    memcpy(buf, data + (size > 0), n);
    FEED(rc, ptc_http_parse_request_line(&p, &b));
    if (rc == PTC_OK) {
        line_end = b.pos;
        assert(p.request_start < p.method_end && p.method_end < p.uri_start);
        assert(p.uri_start < p.uri_end && p.uri_end < p.request_end && p.request_end < line_end);
        IN(p.path_start, p.uri_start, p.uri_end - 1);
        IN(p.args_start, p.uri_start + 1, p.uri_end);
        IN(p.host_end, p.uri_start, p.uri_end);
        assert(p.http_major == 1 && p.request_start >= buf);
        size_t len = p.path_start != NULL ? (size_t)(p.uri_end - p.path_start) : 0;
        if (p.complex_uri && len > 0) {
            ptc_str_t out = {0, malloc(len)};
            rc = ptc_http_parse_complex_uri(p.path_start, len, mode & 0x10, &out);
            assert(rc != PTC_OK || (out.len >= 1 && out.len <= len && out.data[0] == '/'));
            free(out.data);
        }
        do {
            FEED(rc, ptc_http_parse_header_line(&p, &b, mode & 0x20));
            assert(rc != PTC_OK || (p.header_name_start >= line_end && p.header_end < b.pos));
        } while (rc == PTC_OK);
    }
    b.pos = rc == PTC_DONE ? b.pos : buf; /* else decode the input as a body */
    do {
        FEED(rc, ptc_http_parse_chunked(&ch, &b));
        assert(rc != PTC_OK || (ch.size > 0 && ch.size <= (uint64_t)(b.last - b.pos)));
        b.pos += rc == PTC_OK ? ch.size : 0;
        IN(b.pos, buf, b.last);
    } while (rc == PTC_OK);
    free(buf);
    return 0;
}
