/* SPDX-License-Identifier: BSD-2-Clause */
/* Access-log formats without I/O: compiling log_format strings into parts
 * (literal text and variable references), escaping variable values and
 * rendering one log line from the values a request supplies. Used by
 * modules/http/http_log.c; kept apart so it can be unit-tested. */
#ifndef PTC_MODULES_HTTP_LOG_FORMAT_H
#define PTC_MODULES_HTTP_LOG_FORMAT_H

#include "core/ptc_array.h"
#include "core/ptc_str.h"
#include "core/ptc_types.h"

/* escape= modes of log_format */
enum {
    PTC_HTTP_LOG_ESCAPE_DEFAULT = 0, /* '"', '\\', < 0x20, >= 0x7f as \xHH */
    PTC_HTTP_LOG_ESCAPE_JSON,        /* JSON string escaping */
    PTC_HTTP_LOG_ESCAPE_NONE         /* values written as they are */
};

/* One piece of a compiled format. */
typedef struct {
    ptc_str_t text; /* literal bytes, or the variable name (no '$', no braces) */
    int index;      /* variable index, filled in by the caller; -1 for literals */
    bool is_var;
} ptc_http_log_part_t;

typedef struct {
    ptc_str_t name;
    int escape;        /* PTC_HTTP_LOG_ESCAPE_* */
    ptc_array_t parts; /* ptc_http_log_part_t, in line order */
} ptc_http_log_format_t;

/* The value of escape=VALUE (VALUE only: "default", "json" or "none") as a
 * PTC_HTTP_LOG_ESCAPE_* mode, or -1 for anything else. */
int ptc_http_log_escape_parse(const ptc_str_t *value);

/* Set up an empty format named `name` (not copied) with `escape` mode.
 * PTC_OK or PTC_ERROR (allocation). */
int ptc_http_log_format_init(ptc_http_log_format_t *fmt, ptc_pool_t *pool, const ptc_str_t *name,
                             int escape);

/* Compile one format argument and append its parts to fmt. "$name" and
 * "${name}" reference variables (name: [A-Za-z0-9_]+); everything else is
 * literal. Literal text is copied into `pool` and merged with a literal
 * that ends the previous argument, so the format holds no two literals in a
 * row. Variable parts get index -1; the caller resolves them. Returns NULL
 * on success, else a fully worded error allocated from `pool` (or a static
 * "out of memory"):
 *   invalid parameter "ARG"            '$' at the end, "${}", or '$'
 *                                       followed by a non-name byte
 *   the closing bracket in "NAME" variable is missing
 *                                       "${" whose name is not closed by '}'
 * On error fmt may hold the parts compiled before the bad one. */
const char *ptc_http_log_format_add(ptc_http_log_format_t *fmt, ptc_pool_t *pool,
                                    const ptc_str_t *arg);

/* Escape n bytes of src in `mode` into dst; with dst NULL only count.
 * Returns the number of bytes written (or needed). Never fails. */
size_t ptc_http_log_escape(int mode, u_char *dst, const u_char *src, size_t n);

/* Bytes needed to render one line of fmt, trailing '\n' included.
 * values[i] is the value of parts[i] when that part is a variable (ignored
 * for literals); a value with data NULL means "not found" and renders as
 * "-" (default and none modes) or nothing (json); a found but empty value
 * (length 0, data not NULL) renders as nothing, as in nginx. */
size_t ptc_http_log_line_len(const ptc_http_log_format_t *fmt, const ptc_str_t *values);

/* Render the line into dst, which holds at least ptc_http_log_line_len()
 * bytes. Returns the end of what was written (just past the '\n'). */
u_char *ptc_http_log_line_write(const ptc_http_log_format_t *fmt, const ptc_str_t *values,
                                u_char *dst);

#endif
