/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP/1.x request line and header line parsers (RFC 9112 §2-§5). Both are
 * byte-at-a-time state machines whose only state is ptc_http_parse_t, so a
 * line may arrive split at any byte; every result points into the caller's
 * buffer, which must keep the bytes of the current line contiguous. */
#include "modules/http/http_parse.h"

#include <string.h>

/* Request line states. The step functions return the next state, or one of
 * the negative results below.
 *
 *   state             accepts                        next
 *   RL_START          CR, LF (empty lines) | tchar   RL_START_LF, RL_START | RL_METHOD
 *   RL_START_LF       LF                             RL_START
 *   RL_METHOD         tchar | SP                     RL_METHOD | RL_TARGET
 *   RL_TARGET         '/' | '*' | ALPHA              RL_PATH_SLASH | RL_ASTERISK | RL_SCHEMA
 *   RL_SCHEMA         scheme char | ':'              RL_SCHEMA | RL_SCHEMA_SLASH1
 *   RL_SCHEMA_SLASH1  '/'                            RL_SCHEMA_SLASH2
 *   RL_SCHEMA_SLASH2  '/'                            RL_HOST_START
 *   RL_HOST_START     '[' | reg-name char            RL_HOST_IPV6 | RL_HOST
 *   RL_HOST           reg-name char | ':' | end      RL_HOST | RL_PORT_START | (path)
 *   RL_HOST_IPV6      HEXDIG ':' '.' | ']'           RL_HOST_IPV6 | RL_HOST_END
 *   RL_HOST_END       ':' | end of authority         RL_PORT_START | (path)
 *   RL_PORT_START     DIGIT | end of authority       RL_PORT | (path)
 *   RL_PORT           DIGIT | end of authority       RL_PORT | (path)
 *   RL_PATH_SLASH     as RL_PATH; '/' or '.' here mark the path complex
 *   RL_PATH           target byte | '/' '?' '#' SP   ... | RL_ARGS | RL_FRAGMENT | RL_VERSION
 *   RL_ARGS           target byte | '#' | SP         RL_ARGS | RL_FRAGMENT | RL_VERSION
 *   RL_FRAGMENT       target byte | SP               RL_FRAGMENT | RL_VERSION
 *   RL_ASTERISK       SP                             RL_VERSION
 *   RL_VERSION + i    byte i of "HTTP/"              RL_VERSION + i + 1 (= RL_MAJOR after 5)
 *   RL_MAJOR          DIGIT                          RL_DOT
 *   RL_DOT            '.'                            RL_MINOR
 *   RL_MINOR          DIGIT                          RL_VERSION_END
 *   RL_VERSION_END    CR | LF                        RL_ALMOST_DONE | (done)
 *   RL_ALMOST_DONE    LF                             (done)
 *
 * "end of authority" is '/', '?', '#' or SP. */
enum {
    RL_START = 0,
    RL_START_LF,
    RL_METHOD,
    RL_TARGET,
    RL_SCHEMA, /* first authority-group state */
    RL_SCHEMA_SLASH1,
    RL_SCHEMA_SLASH2,
    RL_HOST_START,
    RL_HOST,
    RL_HOST_IPV6,
    RL_HOST_END,
    RL_PORT_START,
    RL_PORT,
    RL_PATH_SLASH, /* first path-group state */
    RL_PATH,
    RL_ARGS,
    RL_FRAGMENT,
    RL_ASTERISK,
    RL_VERSION, /* first version-group state */
    RL_MAJOR = RL_VERSION + 5,
    RL_DOT,
    RL_MINOR,
    RL_VERSION_END,
    RL_ALMOST_DONE
};

/* Header line states.
 *
 *   state            accepts                         next
 *   HL_START         CR | LF | tchar                 HL_END_LF | (section end) | HL_NAME
 *   HL_END_LF        LF                              (section end)
 *   HL_NAME          tchar | ':'                     HL_NAME | HL_VALUE_START
 *   HL_VALUE_START   SP HTAB | value byte | CR LF    HL_VALUE_START | HL_VALUE | ...
 *   HL_VALUE         SP HTAB value byte | CR | LF    HL_VALUE | HL_ALMOST_DONE | (line end)
 *   HL_ALMOST_DONE   LF                              (line end) */
enum { HL_START = 0, HL_END_LF, HL_NAME, HL_VALUE_START, HL_VALUE, HL_ALMOST_DONE };

/* Negative step results shared by both machines. */
#define PARSE_FAIL        -1 /* error and error_status are set */
#define PARSE_LINE_END    -2 /* the line is complete; the current byte is its LF */
#define PARSE_SECTION_END -3 /* header lines only: the empty line */

/* RFC 9110 §5.6.2 token characters, split by what invalid_header needs. */
enum { TOK_NONE = 0, TOK_OTHER, TOK_PLAIN, TOK_UNDERSCORE };

static const u_char http_tchar[256] = {
    ['!'] = TOK_OTHER,         ['#'] = TOK_OTHER,         ['$'] = TOK_OTHER,
    ['%'] = TOK_OTHER,         ['&'] = TOK_OTHER,         ['\''] = TOK_OTHER,
    ['*'] = TOK_OTHER,         ['+'] = TOK_OTHER,         ['.'] = TOK_OTHER,
    ['^'] = TOK_OTHER,         ['`'] = TOK_OTHER,         ['|'] = TOK_OTHER,
    ['~'] = TOK_OTHER,         ['-'] = TOK_PLAIN,         ['_'] = TOK_UNDERSCORE,
    ['0' ... '9'] = TOK_PLAIN, ['A' ... 'Z'] = TOK_PLAIN, ['a' ... 'z'] = TOK_PLAIN,
};

static const struct {
    const char *name;
    size_t len;
    int id;
} http_methods[] = {
    {"GET", 3, PTC_HTTP_GET},     {"HEAD", 4, PTC_HTTP_HEAD},     {"POST", 4, PTC_HTTP_POST},
    {"PUT", 3, PTC_HTTP_PUT},     {"DELETE", 6, PTC_HTTP_DELETE}, {"OPTIONS", 7, PTC_HTTP_OPTIONS},
    {"PATCH", 5, PTC_HTTP_PATCH}, {"TRACE", 5, PTC_HTTP_TRACE},   {"CONNECT", 7, PTC_HTTP_CONNECT},
};

static int
http_fail(ptc_http_parse_t *p, const char *error, int status)
{
    p->error = error;
    p->error_status = status;
    return PARSE_FAIL;
}

static bool
http_is_alpha(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
http_is_digit(u_char c)
{
    return c >= '0' && c <= '9';
}

static bool
http_is_hex(u_char c)
{
    return http_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986 §3.2.2 reg-name: unreserved / pct-encoded / sub-delims. */
static bool
http_is_regname(u_char c)
{
    return http_is_alpha(c) || http_is_digit(c) || (c != '\0' && strchr("-._~%!$&'()*+,;=", c));
}

static int
http_method_id(const u_char *start, size_t len)
{
    for (size_t i = 0; i < ptc_nelems(http_methods); i++) {
        if (http_methods[i].len == len && memcmp(http_methods[i].name, start, len) == 0) {
            return http_methods[i].id;
        }
    }
    return PTC_HTTP_OTHER;
}

/* Forget the previous request (the struct is reused on keep-alive). */
static void
rl_reset(ptc_http_parse_t *p, u_char *request_start)
{
    p->request_start = request_start;
    p->request_end = p->method_end = NULL;
    p->uri_start = p->uri_end = NULL;
    p->schema_start = p->schema_end = NULL;
    p->host_start = p->host_end = NULL;
    p->port_start = p->port_end = NULL;
    p->path_start = p->args_start = NULL;
    p->method = PTC_HTTP_UNKNOWN;
    p->http_major = p->http_minor = 0;
    p->complex_uri = p->quoted_uri = p->plus_in_uri = 0;
}

static int
rl_step_method(ptc_http_parse_t *p, int state, u_char *pos)
{
    u_char c = *pos;

    switch (state) {
    case RL_START:
        if (c == '\r' || c == '\n') { /* RFC 9112 §2.2: skip empty lines */
            return c == '\r' ? RL_START_LF : RL_START;
        }
        if (http_tchar[c] == TOK_NONE) {
            return http_fail(p, "invalid method", 400);
        }
        rl_reset(p, pos);
        return RL_METHOD;
    case RL_START_LF:
        return c == '\n' ? RL_START : http_fail(p, "bare CR before request line", 400);
    case RL_METHOD:
        if (http_tchar[c] != TOK_NONE) {
            return RL_METHOD;
        }
        if (c != ' ') {
            return http_fail(p, "invalid method", 400);
        }
        p->method_end = pos;
        p->method = http_method_id(p->request_start, (size_t)(pos - p->request_start));
        return RL_TARGET;
    }
    /* RL_TARGET */
    p->uri_start = pos;
    if (c == '/' || c == '*') {
        p->path_start = pos;
        return c == '/' ? RL_PATH_SLASH : RL_ASTERISK;
    }
    if (http_is_alpha(c)) {
        p->schema_start = pos;
        return RL_SCHEMA;
    }
    return http_fail(p, "invalid request target", 400);
}

/* The authority of an absolute-form target ended at `pos` (after host or
 * port): start the path, the query, the fragment or the version. An empty
 * path leaves path_start NULL. */
static int
rl_authority_end(ptc_http_parse_t *p, u_char *pos)
{
    switch (*pos) {
    case '/':
        p->path_start = pos;
        return RL_PATH_SLASH;
    case '?':
        p->args_start = pos + 1;
        return RL_ARGS;
    case '#':
        return RL_FRAGMENT;
    case ' ':
        p->uri_end = pos;
        return RL_VERSION;
    case '\r':
    case '\n':
        return http_fail(p, "no HTTP version after request target", 400);
    }
    return http_fail(p, "invalid authority in request target", 400);
}

/* RL_PORT_START and RL_PORT: port = *DIGIT (RFC 3986 §3.2.3), at most 65535. */
static int
rl_step_port(ptc_http_parse_t *p, int state, u_char *pos)
{
    if (!http_is_digit(*pos)) {
        if (p->port_start != NULL) {
            p->port_end = pos;
            if (ptc_atoi(p->port_start, (size_t)(pos - p->port_start)) > 65535) {
                return http_fail(p, "invalid port in request target", 400);
            }
        }
        return rl_authority_end(p, pos);
    }
    if (state == RL_PORT_START) {
        p->port_start = pos;
    }
    if (pos - p->port_start >= 5) {
        return http_fail(p, "invalid port in request target", 400);
    }
    return RL_PORT;
}

static int
rl_step_authority(ptc_http_parse_t *p, int state, u_char *pos)
{
    u_char c = *pos;

    switch (state) {
    case RL_SCHEMA: /* RFC 3986 §3.1 */
        if (http_is_alpha(c) || http_is_digit(c) || c == '+' || c == '-' || c == '.') {
            return RL_SCHEMA;
        }
        if (c != ':') {
            break;
        }
        p->schema_end = pos;
        return RL_SCHEMA_SLASH1;
    case RL_SCHEMA_SLASH1:
    case RL_SCHEMA_SLASH2:
        if (c != '/') {
            break;
        }
        return state + 1;
    case RL_HOST_START:
        p->host_start = pos;
        if (c == '[') {
            return RL_HOST_IPV6;
        }
        if (!http_is_regname(c)) { /* also an empty host: RFC 9110 §4.2.1 */
            return http_fail(p, "invalid host in request target", 400);
        }
        return RL_HOST;
    case RL_HOST:
        if (http_is_regname(c)) {
            return RL_HOST;
        }
        p->host_end = pos;
        return c == ':' ? RL_PORT_START : rl_authority_end(p, pos);
    case RL_HOST_IPV6:
        if (http_is_hex(c) || c == ':' || c == '.') {
            return RL_HOST_IPV6;
        }
        if (c != ']' || pos - p->host_start < 2) {
            return http_fail(p, "invalid host in request target", 400);
        }
        p->host_end = pos + 1; /* the host keeps its brackets */
        return RL_HOST_END;
    case RL_HOST_END:
        return c == ':' ? RL_PORT_START : rl_authority_end(p, pos);
    case RL_PORT_START:
    case RL_PORT:
        return rl_step_port(p, state, pos);
    }
    return http_fail(p, "invalid request target", 400);
}

static int
rl_step_path(ptc_http_parse_t *p, int state, u_char *pos)
{
    u_char c = *pos;

    if (c <= ' ' || c == 0x7f) { /* bytes >= 0x80 pass, as nginx allows them */
        if (c == '\r' || c == '\n') {
            return http_fail(p, "no HTTP version after request target", 400);
        }
        if (c != ' ') {
            return http_fail(p, "invalid character in request target", 400);
        }
        if (state == RL_ASTERISK && p->method != PTC_HTTP_OPTIONS) {
            return http_fail(p, "asterisk-form target outside OPTIONS", 400);
        }
        p->uri_end = pos;
        return RL_VERSION;
    }

    switch (state) {
    case RL_ASTERISK:
        return http_fail(p, "invalid request target", 400);
    case RL_FRAGMENT:
        return RL_FRAGMENT;
    case RL_ARGS:
        return c == '#' ? RL_FRAGMENT : RL_ARGS;
    case RL_PATH_SLASH:
        if (c == '/' || c == '.') { /* "//", "/./", "/../" need normalising */
            p->complex_uri = 1;
        }
        break;
    }

    switch (c) {
    case '/':
        return RL_PATH_SLASH;
    case '?':
        p->args_start = pos + 1;
        return RL_ARGS;
    case '#': /* the fragment must not reach the normalised path */
        p->complex_uri = 1;
        return RL_FRAGMENT;
    case '%':
        p->complex_uri = 1;
        p->quoted_uri = 1;
        break;
    case '+':
        p->plus_in_uri = 1;
        break;
    }
    return RL_PATH;
}

static int
rl_step_version(ptc_http_parse_t *p, int state, u_char *pos)
{
    u_char c = *pos;

    if (state < RL_MAJOR) {
        if (c == "HTTP/"[state - RL_VERSION]) {
            return state + 1;
        }
        if (state == RL_VERSION && (c == '\r' || c == '\n')) {
            return http_fail(p, "missing HTTP version", 400);
        }
        return http_fail(p, "invalid HTTP version", 400);
    }

    switch (state) {
    case RL_MAJOR:
    case RL_MINOR:
        if (!http_is_digit(c)) {
            break;
        }
        if (state == RL_MAJOR) {
            p->http_major = (unsigned)(c - '0');
        } else {
            p->http_minor = (unsigned)(c - '0');
        }
        return state + 1;
    case RL_DOT:
        return c == '.' ? RL_MINOR : http_fail(p, "invalid HTTP version", 400);
    case RL_VERSION_END:
        if (c != '\r' && c != '\n') {
            break;
        }
        p->request_end = pos;
        return c == '\r' ? RL_ALMOST_DONE : PARSE_LINE_END;
    case RL_ALMOST_DONE:
        return c == '\n' ? PARSE_LINE_END : http_fail(p, "bare CR in request line", 400);
    }
    return http_fail(p, "invalid HTTP version", 400);
}

int
ptc_http_parse_request_line(ptc_http_parse_t *p, ptc_buf_t *b)
{
    int state = p->state;
    u_char *pos;

    for (pos = b->pos; pos < b->last; pos++) {
        if (state < RL_SCHEMA) {
            state = rl_step_method(p, state, pos);
        } else if (state < RL_PATH_SLASH) {
            state = rl_step_authority(p, state, pos);
        } else if (state < RL_VERSION) {
            state = rl_step_path(p, state, pos);
        } else {
            state = rl_step_version(p, state, pos);
        }
        if (state < 0) {
            break;
        }
    }

    if (state >= 0) {
        p->state = state;
        b->pos = pos;
        return PTC_AGAIN;
    }
    p->state = 0;
    if (state == PARSE_FAIL) {
        b->pos = pos;
        return PTC_ERROR;
    }
    b->pos = pos + 1;
    if (p->http_major != 1) {
        /* 0.x has no place in RFC 9112 (400); 2 and later are not spoken here (505) */
        http_fail(p, "unsupported HTTP version", p->http_major == 0 ? 400 : 505);
        return PTC_ERROR;
    }
    return PTC_OK;
}

static int
hl_step_start(ptc_http_parse_t *p, u_char *pos, bool allow_underscores)
{
    u_char c = *pos;
    int tok = http_tchar[c];

    switch (c) {
    case '\r':
        return HL_END_LF;
    case '\n':
        return PARSE_SECTION_END;
    case ' ':
    case '\t': /* RFC 9112 §5.2: reject obs-fold */
        return http_fail(p, "obsolete line folding", 400);
    case ':':
        return http_fail(p, "empty header name", 400);
    }
    if (tok == TOK_NONE) {
        return http_fail(p, "invalid header name", 400);
    }
    p->header_name_start = pos;
    p->header_name_end = p->header_start = p->header_end = NULL;
    p->invalid_header = tok == TOK_OTHER || (tok == TOK_UNDERSCORE && !allow_underscores);
    return HL_NAME;
}

static int
hl_step_name(ptc_http_parse_t *p, u_char *pos, bool allow_underscores)
{
    u_char c = *pos;
    int tok = http_tchar[c];

    if (tok != TOK_NONE) {
        if (tok == TOK_OTHER || (tok == TOK_UNDERSCORE && !allow_underscores)) {
            p->invalid_header = 1;
        }
        return HL_NAME;
    }
    switch (c) {
    case ':':
        p->header_name_end = pos;
        p->header_hash =
            ptc_hash_key_lc(p->header_name_start, (size_t)(pos - p->header_name_start));
        return HL_VALUE_START;
    case ' ':
    case '\t': /* RFC 9112 §5.1: no whitespace between name and colon */
        return http_fail(p, "whitespace before colon in header line", 400);
    case '\r':
    case '\n':
        return http_fail(p, "missing colon in header line", 400);
    }
    return http_fail(p, "invalid header name", 400);
}

/* A value byte: HTAB, SP, VCHAR or obs-text (RFC 9110 §5.5). Whitespace does
 * not move header_end, which trims the trailing OWS. */
static int
hl_step_value(ptc_http_parse_t *p, u_char *pos)
{
    u_char c = *pos;

    if (c > ' ' && c != 0x7f) {
        p->header_end = pos + 1;
        return HL_VALUE;
    }
    switch (c) {
    case ' ':
    case '\t':
        return HL_VALUE;
    case '\r':
        return HL_ALMOST_DONE;
    case '\n':
        return PARSE_LINE_END;
    }
    return http_fail(p, "invalid character in header value", 400);
}

static int
hl_step(ptc_http_parse_t *p, int state, u_char *pos, bool allow_underscores)
{
    switch (state) {
    case HL_START:
        return hl_step_start(p, pos, allow_underscores);
    case HL_END_LF:
        return *pos == '\n' ? PARSE_SECTION_END : http_fail(p, "bare CR in header", 400);
    case HL_NAME:
        return hl_step_name(p, pos, allow_underscores);
    case HL_VALUE_START:
        if (*pos == ' ' || *pos == '\t') {
            return HL_VALUE_START;
        }
        p->header_start = p->header_end = pos;
        return hl_step_value(p, pos);
    case HL_VALUE:
        return hl_step_value(p, pos);
    }
    /* HL_ALMOST_DONE */
    return *pos == '\n' ? PARSE_LINE_END : http_fail(p, "bare CR in header", 400);
}

int
ptc_http_parse_header_line(ptc_http_parse_t *p, ptc_buf_t *b, bool allow_underscores)
{
    int state = p->state;
    u_char *pos;

    for (pos = b->pos; pos < b->last; pos++) {
        state = hl_step(p, state, pos, allow_underscores);
        if (state < 0) {
            break;
        }
    }

    if (state >= 0) {
        p->state = state;
        b->pos = pos;
        return PTC_AGAIN;
    }
    p->state = 0;
    if (state == PARSE_FAIL) {
        b->pos = pos;
        return PTC_ERROR;
    }
    b->pos = pos + 1;
    return state == PARSE_LINE_END ? PTC_OK : PTC_DONE;
}
