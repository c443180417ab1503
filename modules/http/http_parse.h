/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP/1.x request parsing: request line, header lines, chunked bodies and
 * URI normalisation. Single-pass resumable state machines over a buffer;
 * results are pointers into that buffer (parse in place, no copies). Strict
 * per RFC 9112; every rejection sets `error` to a short reason for the log.
 * Pure code: no I/O, no allocation except in ptc_http_parse_complex_uri's
 * caller-provided output. */
#ifndef PTC_MODULES_HTTP_PARSE_H
#define PTC_MODULES_HTTP_PARSE_H

#include "core/ptc_buf.h"
#include "core/ptc_str.h"
#include "core/ptc_types.h"

enum {
    PTC_HTTP_UNKNOWN = 0,
    PTC_HTTP_GET,
    PTC_HTTP_HEAD,
    PTC_HTTP_POST,
    PTC_HTTP_PUT,
    PTC_HTTP_DELETE,
    PTC_HTTP_OPTIONS,
    PTC_HTTP_PATCH,
    PTC_HTTP_TRACE,
    PTC_HTTP_CONNECT,
    PTC_HTTP_OTHER /* any other valid token */
};

typedef struct {
    int state;         /* internal; 0 before the first call */
    const char *error; /* reason of the last PTC_ERROR, static string */
    int error_status;  /* HTTP status for the last PTC_ERROR: 400, 414? (no), 505, 501 */

    /* request line (valid after PTC_OK from parse_request_line) */
    u_char *request_start; /* first byte of the method */
    u_char *request_end;   /* byte after the version (before CR/LF) */
    u_char *method_end;    /* byte after the method */
    int method;            /* PTC_HTTP_GET, ... */
    u_char *uri_start;     /* request-target as sent */
    u_char *uri_end;
    u_char *schema_start, *schema_end; /* absolute-form only, else NULL */
    u_char *host_start, *host_end;     /* absolute-form authority host, else NULL;
                                          an IPv6 literal keeps its brackets */
    u_char *port_start, *port_end;     /* absolute-form port, else NULL (also when
                                          empty, as in "http://h:/") */
    u_char *path_start;                /* start of the path inside the target ('/' or '*');
                                          NULL for an absolute-form target with an empty path,
                                          which means "/" */
    u_char *args_start;                /* byte after '?', NULL if no query; a '?' after '#'
                                          belongs to the fragment */
    unsigned http_major, http_minor;
    unsigned complex_uri : 1; /* path has "//", "/.", "%" or a '#' fragment: needs normalising */
    unsigned quoted_uri : 1;  /* path contains '%' */
    unsigned plus_in_uri : 1;

    /* last header line (valid after PTC_OK from parse_header_line) */
    u_char *header_name_start;
    u_char *header_name_end;
    u_char *header_start; /* value with surrounding whitespace trimmed */
    u_char *header_end;
    uint32_t header_hash;        /* ptc_hash_key_lc() of the name */
    unsigned invalid_header : 1; /* name is a valid token but has chars other than
                                    [A-Za-z0-9-] (and '_' when allowed) */
} ptc_http_parse_t;

/* Parse the request line starting at b->pos. Returns:
 *   PTC_OK: complete; fields above set; b->pos is past the line's LF.
 *   PTC_AGAIN: need more bytes; b->pos == b->last; call again with the same
 *     state after appending (the buffer may have been moved: the caller
 *     rebases pointers by the move delta).
 *   PTC_ERROR: malformed; `error`, `error_status` set (400, or 505 for an
 *     unsupported major version); b->pos is at the offending byte (past the
 *     line for a bad version number).
 * Empty lines (CRLF or LF) before the request line are skipped (RFC 9112 §2.2).
 * A bare LF ends the line like CRLF. The state is 0 again after PTC_OK or
 * PTC_ERROR, ready for parse_header_line or the next request. */
int ptc_http_parse_request_line(ptc_http_parse_t *p, ptc_buf_t *b);

/* Parse one header line starting at b->pos. Returns PTC_OK for a header
 * (name/value fields set, b->pos past the line), PTC_DONE for the empty line
 * that ends the header section (b->pos past it), PTC_AGAIN, or PTC_ERROR
 * (status 400) for: NUL, bare CR, control bytes other than HTAB in a value,
 * obs-fold (a line starting with SP/HTAB), whitespace before the colon,
 * a missing colon, an empty name, or a name byte that is not a token char.
 * `allow_underscores` decides whether '_' counts as an ordinary name char
 * (else it sets invalid_header). A bare LF ends a line like CRLF. On
 * PTC_ERROR b->pos is at the offending byte. */
int ptc_http_parse_header_line(ptc_http_parse_t *p, ptc_buf_t *b, bool allow_underscores);

/* Normalise the path of a request target: percent-decode, merge duplicate
 * slashes (when merge_slashes), resolve "." and ".." segments (RFC 3986
 * §5.2.4), also those that appear only after decoding ("%2e%2e"); a decoded
 * "%2f" acts as a slash. Writes into out->data (caller-owned, at least
 * uri_len bytes). Returns PTC_OK with out->len set (the output starts with
 * '/'), or PTC_ERROR for a malformed %-escape, a decoded NUL, a ".." that
 * climbs above the root, or a uri that does not start with '/'. Stops at a
 * raw '?' or '#' (query and fragment are not part of the path). Never
 * returns PTC_AGAIN. */
int ptc_http_parse_complex_uri(const u_char *uri, size_t uri_len, bool merge_slashes,
                               ptc_str_t *out);

/* Chunked transfer coding decoder state (RFC 9112 §7.1). */
typedef struct {
    int state;
    uint64_t size;        /* bytes of chunk data available now (valid with PTC_OK) */
    uint64_t remain;      /* internal: bytes left in the current chunk */
    size_t line_bytes;    /* internal: bounds the chunk-size line (4 KiB) */
    size_t trailer_bytes; /* internal: bounds the trailer section */
    const char *error;
} ptc_http_chunked_t;

/* Decode from b->pos. Returns:
 *   PTC_OK: ctx->size (> 0) bytes of chunk data start at b->pos (and are all
 *     in the buffer: size <= b->last - b->pos); the caller consumes them by
 *     advancing b->pos by size, then calls again.
 *   PTC_AGAIN: everything in the buffer was consumed as framing; need more.
 *   PTC_DONE: the last chunk and trailer section are parsed; b->pos is past
 *     the final CRLF (anything after is the next request).
 *   PTC_ERROR: invalid chunk size (empty, non-hex, > 16 hex digits, over
 *     2^63-1), bad CRLF after data, bare CR, control bytes in extensions, a
 *     chunk-size line over 4 KiB, an invalid trailer field, or a trailer
 *     section over 8 KiB. `error` set; b->pos at the offending byte.
 * A bare LF ends a line like CRLF. ctx->state is 0 again after PTC_DONE or
 * PTC_ERROR. */
int ptc_http_parse_chunked(ptc_http_chunked_t *ctx, ptc_buf_t *b);

#endif
