/* SPDX-License-Identifier: BSD-2-Clause */
/* Chunked transfer coding decoder (RFC 9112 §7.1). Framing bytes are consumed
 * one at a time with all state in ptc_http_chunked_t; chunk data is handed to
 * the caller in place, never copied. Extensions and trailers are validated and
 * discarded. */
#include "modules/http/http_parse.h"

#include <string.h>

#define CHUNKED_MAX_LINE    4096 /* chunk-size line without its CRLF, extensions included */
#define CHUNKED_MAX_TRAILER 8192 /* bytes of the trailer section, line ends included */
#define CHUNKED_MAX_DIGITS  16

/* States. chunked_step returns the next one, or CH_FAIL / CH_FINISHED.
 *
 *   state             accepts                          next
 *   CH_SIZE_START     HEXDIG                           CH_SIZE
 *   CH_SIZE           HEXDIG | SP HTAB | ';' | CR LF   CH_SIZE | CH_SIZE_WS | CH_EXT | ...
 *   CH_SIZE_WS        SP HTAB | ';' | CR LF            CH_SIZE_WS | CH_EXT | ...
 *   CH_EXT            VCHAR SP HTAB obs-text | CR LF   CH_EXT | CH_SIZE_LF | (line done)
 *   CH_SIZE_LF        LF                               (line done)
 *   (line done)       size > 0: CH_DATA; size 0: CH_TRAILER_START
 *   CH_DATA           chunk data, returned to the caller, not stepped
 *   CH_DATA_CR        CR | LF                          CH_DATA_LF | CH_SIZE_START
 *   CH_DATA_LF        LF                               CH_SIZE_START
 *   CH_TRAILER_START  tchar | CR | LF                  CH_TRAILER_NAME | CH_FINAL_LF | finished
 *   CH_TRAILER_NAME   tchar | ':'                      CH_TRAILER_NAME | CH_TRAILER_VALUE
 *   CH_TRAILER_VALUE  VCHAR SP HTAB obs-text | CR LF   CH_TRAILER_VALUE | CH_TRAILER_LF | ...
 *   CH_TRAILER_LF     LF                               CH_TRAILER_START
 *   CH_FINAL_LF       LF                               finished */
enum {
    CH_SIZE_START = 0,
    CH_SIZE,
    CH_SIZE_WS,
    CH_EXT,
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START,
    CH_TRAILER_NAME,
    CH_TRAILER_VALUE,
    CH_TRAILER_LF,
    CH_FINAL_LF
};

#define CH_FAIL     -1
#define CH_FINISHED -2

static int
chunked_fail(ptc_http_chunked_t *ctx, const char *error)
{
    ctx->error = error;
    return CH_FAIL;
}

static int
chunked_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = ptc_tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static bool
chunked_is_tchar(u_char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* VCHAR, SP, HTAB or obs-text: what extensions and field values may hold. */
static bool
chunked_is_text(u_char c)
{
    return c == '\t' || (c >= ' ' && c != 0x7f);
}

/* The chunk-size line ended: ctx->remain holds the size. */
static int
chunked_line_done(ptc_http_chunked_t *ctx)
{
    if (ctx->remain > 0) {
        return CH_DATA;
    }
    ctx->trailer_bytes = 0;
    return CH_TRAILER_START;
}

/* CH_SIZE, CH_SIZE_WS and CH_EXT: the rest of the chunk-size line. */
static int
chunked_step_line(ptc_http_chunked_t *ctx, int state, u_char c)
{
    int digit = chunked_hex(c);

    if (state == CH_SIZE && digit >= 0) {
        if (ctx->line_bytes++ == CHUNKED_MAX_DIGITS) {
            return chunked_fail(ctx, "too many digits in chunk size");
        }
        ctx->remain = ctx->remain * 16 + (uint64_t)digit; /* 16 digits cannot wrap */
        if (ctx->remain > INT64_MAX) {
            return chunked_fail(ctx, "chunk size overflow");
        }
        return CH_SIZE;
    }
    if (c == '\r' || c == '\n') {
        return c == '\r' ? CH_SIZE_LF : chunked_line_done(ctx);
    }
    if (++ctx->line_bytes > CHUNKED_MAX_LINE) {
        return chunked_fail(ctx, "chunk extension too long");
    }
    if (state == CH_EXT) {
        return chunked_is_text(c) ? CH_EXT : chunked_fail(ctx, "invalid chunk extension");
    }
    /* BWS ";" before each extension (RFC 9112 §7.1.1) */
    if (c == ' ' || c == '\t') {
        return CH_SIZE_WS;
    }
    return c == ';' ? CH_EXT : chunked_fail(ctx, "invalid chunk size");
}

/* Trailer fields (RFC 9112 §7.1.2) are checked like header lines, loosely,
 * and dropped. */
static int
chunked_step_trailer(ptc_http_chunked_t *ctx, int state, u_char c)
{
    if (++ctx->trailer_bytes > CHUNKED_MAX_TRAILER) {
        return chunked_fail(ctx, "trailer section too large");
    }
    switch (state) {
    case CH_TRAILER_START:
        if (c == '\r' || c == '\n') {
            return c == '\r' ? CH_FINAL_LF : CH_FINISHED;
        }
        return chunked_is_tchar(c) ? CH_TRAILER_NAME : chunked_fail(ctx, "invalid trailer field");
    case CH_TRAILER_NAME:
        if (c == ':') {
            return CH_TRAILER_VALUE;
        }
        return chunked_is_tchar(c) ? CH_TRAILER_NAME : chunked_fail(ctx, "invalid trailer field");
    case CH_TRAILER_VALUE:
        if (c == '\r' || c == '\n') {
            return c == '\r' ? CH_TRAILER_LF : CH_TRAILER_START;
        }
        return chunked_is_text(c) ? CH_TRAILER_VALUE : chunked_fail(ctx, "invalid trailer field");
    case CH_TRAILER_LF:
        return c == '\n' ? CH_TRAILER_START : chunked_fail(ctx, "bare CR in trailer");
    }
    /* CH_FINAL_LF */
    return c == '\n' ? CH_FINISHED : chunked_fail(ctx, "bare CR in trailer");
}

static int
chunked_step(ptc_http_chunked_t *ctx, int state, u_char c)
{
    switch (state) {
    case CH_SIZE_START:
        if (chunked_hex(c) < 0) {
            return chunked_fail(ctx, "invalid chunk size");
        }
        ctx->remain = 0;
        ctx->line_bytes = 0;
        return chunked_step_line(ctx, CH_SIZE, c);
    case CH_SIZE:
    case CH_SIZE_WS:
    case CH_EXT:
        return chunked_step_line(ctx, state, c);
    case CH_SIZE_LF:
        return c == '\n' ? chunked_line_done(ctx) : chunked_fail(ctx, "bare CR in chunk size");
    case CH_DATA_CR:
        if (c == '\r' || c == '\n') {
            return c == '\r' ? CH_DATA_LF : CH_SIZE_START;
        }
        return chunked_fail(ctx, "missing CRLF after chunk data");
    case CH_DATA_LF:
        return c == '\n' ? CH_SIZE_START : chunked_fail(ctx, "missing CRLF after chunk data");
    }
    return chunked_step_trailer(ctx, state, c);
}

int
ptc_http_parse_chunked(ptc_http_chunked_t *ctx, ptc_buf_t *b)
{
    int state = ctx->state;
    u_char *pos = b->pos;

    ctx->size = 0;
    while (pos < b->last) {
        if (state == CH_DATA) {
            ctx->size = ptc_min(ctx->remain, (uint64_t)(b->last - pos));
            ctx->remain -= ctx->size;
            ctx->state = ctx->remain > 0 ? CH_DATA : CH_DATA_CR;
            b->pos = pos;
            return PTC_OK;
        }
        state = chunked_step(ctx, state, *pos);
        if (state == CH_FAIL) {
            ctx->state = CH_SIZE_START;
            b->pos = pos;
            return PTC_ERROR;
        }
        pos++;
        if (state == CH_FINISHED) {
            ctx->state = CH_SIZE_START;
            b->pos = pos;
            return PTC_DONE;
        }
    }
    ctx->state = state;
    b->pos = pos;
    return PTC_AGAIN;
}
