/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of modules/http/http_parse*.c: request line, header lines, chunked
 * bodies and path normalisation. Inputs are copied into exact-size heap
 * buffers so the sanitizers catch any read past b->last; inputs are also fed
 * in pieces (one byte at a time, and for many split at every offset) and the
 * results compared with a one-shot parse. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ptc_str.h"
#include "modules/http/http_parse.h"
#include "test/unit/unit.h"

void suite_http_parse(void);
void suite_http_chunked(void);
void suite_http_uri(void);

#define LIT(s) s, sizeof(s) - 1

/* A span [start, end) of the input equals the C string s. */
#define ASSERT_SPAN(start, end, s) ASSERT_MEM_EQ((start), (end) - (start), (s))
/* The unparsed rest of r's buffer equals s. */
#define ASSERT_REST(r, s) ASSERT_MEM_EQ((r).b.pos, (r).b.last - (r).b.pos, (s))

typedef struct {
    u_char *data; /* heap copy of the input, exactly len bytes */
    size_t len;
    ptc_buf_t b;
    ptc_http_parse_t p;
} req_t;

static u_char *
test_copy(const char *s, size_t len)
{
    u_char *data = malloc(len ? len : 1);
    if (data != NULL) {
        memcpy(data, s, len);
    }
    return data;
}

static void
req_init(req_t *r, const char *s, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->data = test_copy(s, len);
    r->len = len;
    r->b.start = r->b.pos = r->data;
    r->b.last = r->b.end = r->data + len;
}

static int
req_line(req_t *r)
{
    return ptc_http_parse_request_line(&r->p, &r->b);
}

static int
req_header(req_t *r, bool allow_underscores)
{
    return ptc_http_parse_header_line(&r->p, &r->b, allow_underscores);
}

/* ---- whole request heads, one-shot against split feeding ---- */

typedef struct {
    size_t first; /* bytes available on the first call */
    size_t step;  /* bytes added after each PTC_AGAIN; 0: all the rest */
    char out[4096];
    size_t used;
} trace_t;

static void trace_add(trace_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
trace_add(trace_t *t, const char *fmt, ...)
{
    va_list ap;
    if (t->used >= sizeof(t->out)) {
        return;
    }
    va_start(ap, fmt);
    int n = vsnprintf(t->out + t->used, sizeof(t->out) - t->used, fmt, ap);
    va_end(ap);
    t->used += n > 0 ? (size_t)n : 0;
}

#define OFF(ptr) ((ptr) == NULL ? -1L : (long)((ptr)-buf))

static void
trace_request_line(trace_t *t, const ptc_http_parse_t *p, const u_char *buf)
{
    trace_add(t, "RL m=%d %ld %ld uri=%ld-%ld sch=%ld-%ld host=%ld-%ld port=%ld-%ld", p->method,
              OFF(p->request_start), OFF(p->method_end), OFF(p->uri_start), OFF(p->uri_end),
              OFF(p->schema_start), OFF(p->schema_end), OFF(p->host_start), OFF(p->host_end),
              OFF(p->port_start), OFF(p->port_end));
    trace_add(t, " path=%ld args=%ld end=%ld v=%u.%u c=%u q=%u p=%u;", OFF(p->path_start),
              OFF(p->args_start), OFF(p->request_end), p->http_major, p->http_minor, p->complex_uri,
              p->quoted_uri, p->plus_in_uri);
}

/* Parse the request line and then header lines until the empty line, an
 * error, or the end of the input, and record every result in t->out. */
static void
trace_head(trace_t *t, const char *in, size_t len)
{
    u_char *buf = test_copy(in, len);
    ptc_buf_t b = {.start = buf, .pos = buf, .last = buf + t->first, .end = buf + len};
    ptc_http_parse_t p;
    bool headers = false;

    memset(&p, 0, sizeof(p));
    for (;;) {
        int rc = headers ? ptc_http_parse_header_line(&p, &b, false)
                         : ptc_http_parse_request_line(&p, &b);
        if (rc == PTC_AGAIN) {
            if (b.pos != b.last) {
                trace_add(t, "AGAIN with pos != last;");
                break;
            }
            if (b.last == b.end) {
                trace_add(t, "INCOMPLETE;");
                break;
            }
            b.last = t->step ? ptc_min(b.end, b.last + t->step) : b.end;
            continue;
        }
        if (rc == PTC_ERROR) {
            trace_add(t, "ERR %d %s at %ld;", p.error_status, p.error, OFF(b.pos));
            break;
        }
        if (rc == PTC_DONE) {
            trace_add(t, "DONE at %ld;", OFF(b.pos));
            break;
        }
        if (!headers) {
            trace_request_line(t, &p, buf);
            headers = true;
        } else {
            trace_add(t, "H %ld-%ld %ld-%ld #%u i=%u;", OFF(p.header_name_start),
                      OFF(p.header_name_end), OFF(p.header_start), OFF(p.header_end),
                      (unsigned)p.header_hash, p.invalid_header);
        }
        trace_add(t, " pos=%ld state=%d;", OFF(b.pos), p.state);
    }
    free(buf);
}

/* Each head ends in DONE with `rest` left unparsed, or, when rest is NULL,
 * its one-shot trace ends with `tail`. */
static const struct {
    const char *in;
    size_t len;
    const char *rest;
    const char *tail;
} split_heads[] = {
    {LIT("GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1.0\r\n"
         "X_U: a b \r\n\r\n"),
     "", NULL},
    {LIT("\r\n\nPOST http://example.com:8080/a//b/%2e+?q#f HTTP/1.0\nHost:x\n"
         "Content-Length: 5\n\nhello"),
     "hello", NULL},
    {LIT("OPTIONS * HTTP/1.1\r\nX: \t\r\nY:\r\n\r\n"), "", NULL},
    {LIT("GET http://[::1]:80 HTTP/1.1\r\nA: b\r\n\r\nGET"), "GET", NULL},
    {LIT("GET https://h?a HTTP/1.1\r\n!#$%&'*+-.^_`|~: \x80\xff\r\n\n"), "", NULL},
    {LIT("GET /\xff\x80 HTTP/1.1\r\nX: \x80 \t\xff\r\n\r\n"), "", NULL},
    {LIT("PUT /a+b HTTP/1.1\r\nBad Header: x\r\n\r\n"), NULL,
     "ERR 400 whitespace before colon in header line at 22;"},
    {LIT("GET /x HTTP/2.0\r\n\r\n"), NULL, "ERR 505 unsupported HTTP version at 17;"},
    {LIT("GET /x HTTP/1.1\r\nHost: a\r\n Folded\r\n\r\n"), NULL,
     "ERR 400 obsolete line folding at 26;"},
    {LIT("GET /x HTTP/1.1\r\nHost: a\rb\r\n\r\n"), NULL, "ERR 400 bare CR in header at 25;"},
    {LIT("GET /x HTTP/1.1\rb"), NULL, "ERR 400 bare CR in request line at 16;"},
    {LIT("GET / HTTP/1.1\r\nHost: a"), NULL, "INCOMPLETE;"},
};

static bool
test_ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

TEST(head_split_at_every_byte)
{
    for (size_t i = 0; i < ptc_nelems(split_heads); i++) {
        const char *in = split_heads[i].in;
        size_t len = split_heads[i].len;
        trace_t one = {.first = len};
        trace_head(&one, in, len);
        char done[64];
        const char *tail = split_heads[i].tail;
        if (split_heads[i].rest != NULL) {
            snprintf(done, sizeof(done), "DONE at %zu;", len - strlen(split_heads[i].rest));
            tail = done;
        }
        if (!test_ends_with(one.out, tail)) {
            unit_fail(__FILE__, __LINE__, "case %zu: %s", i, one.out);
            return;
        }
        for (size_t k = 0; k <= len; k++) {
            trace_t two = {.first = k};
            trace_head(&two, in, len);
            ASSERT_STR_EQ(two.out, one.out);
        }
        trace_t bytes = {.first = 0, .step = 1};
        trace_head(&bytes, in, len);
        ASSERT_STR_EQ(bytes.out, one.out);
    }
}

/* ---- request line ---- */

TEST(rl_origin_form)
{
    req_t r;
    req_init(&r, LIT("GET /index.html?a=1&b=2 HTTP/1.1\r\nHost"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_TRUE(r.p.request_start == r.data);
    ASSERT_TRUE(r.p.method_end == r.data + 3);
    ASSERT_INT_EQ(r.p.method, PTC_HTTP_GET);
    ASSERT_TRUE(r.p.uri_start == r.data + 4);
    ASSERT_SPAN(r.p.uri_start, r.p.uri_end, "/index.html?a=1&b=2");
    ASSERT_TRUE(r.p.path_start == r.p.uri_start);
    ASSERT_SPAN(r.p.args_start, r.p.uri_end, "a=1&b=2");
    ASSERT_SPAN(r.p.request_start, r.p.request_end, "GET /index.html?a=1&b=2 HTTP/1.1");
    ASSERT_NULL(r.p.schema_start);
    ASSERT_NULL(r.p.schema_end);
    ASSERT_NULL(r.p.host_start);
    ASSERT_NULL(r.p.host_end);
    ASSERT_NULL(r.p.port_start);
    ASSERT_NULL(r.p.port_end);
    ASSERT_INT_EQ(r.p.http_major, 1);
    ASSERT_INT_EQ(r.p.http_minor, 1);
    ASSERT_INT_EQ(r.p.complex_uri | r.p.quoted_uri | r.p.plus_in_uri, 0);
    ASSERT_INT_EQ(r.p.state, 0);
    ASSERT_REST(r, "Host");
    free(r.data);
}

TEST(rl_empty_lines_and_bare_lf)
{
    req_t r;
    req_init(&r, LIT("\r\n\n\r\nHEAD / HTTP/1.0\nX"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_TRUE(r.p.request_start == r.data + 5);
    ASSERT_INT_EQ(r.p.method, PTC_HTTP_HEAD);
    ASSERT_SPAN(r.p.request_start, r.p.request_end, "HEAD / HTTP/1.0");
    ASSERT_INT_EQ(r.p.http_minor, 0);
    ASSERT_NULL(r.p.args_start);
    ASSERT_REST(r, "X");
    free(r.data);

    req_init(&r, LIT("\r\n\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_AGAIN);
    ASSERT_TRUE(r.b.pos == r.b.last);
    ASSERT_NULL(r.p.request_start);
    free(r.data);
}

TEST(rl_methods)
{
    static const struct {
        const char *in;
        int method;
    } cases[] = {
        {"GET / HTTP/1.1\r\n", PTC_HTTP_GET},
        {"HEAD / HTTP/1.1\r\n", PTC_HTTP_HEAD},
        {"POST / HTTP/1.1\r\n", PTC_HTTP_POST},
        {"PUT / HTTP/1.1\r\n", PTC_HTTP_PUT},
        {"DELETE / HTTP/1.1\r\n", PTC_HTTP_DELETE},
        {"OPTIONS / HTTP/1.1\r\n", PTC_HTTP_OPTIONS},
        {"PATCH / HTTP/1.1\r\n", PTC_HTTP_PATCH},
        {"TRACE / HTTP/1.1\r\n", PTC_HTTP_TRACE},
        {"CONNECT / HTTP/1.1\r\n", PTC_HTTP_CONNECT},
        {"get / HTTP/1.1\r\n", PTC_HTTP_OTHER},
        {"GETS / HTTP/1.1\r\n", PTC_HTTP_OTHER},
        {"GE / HTTP/1.1\r\n", PTC_HTTP_OTHER},
        {"M-SEARCH / HTTP/1.1\r\n", PTC_HTTP_OTHER},
        {"PROPFIND / HTTP/1.1\r\n", PTC_HTTP_OTHER},
        {"!#$%&'*+-.^_`|~09az / HTTP/1.1\r\n", PTC_HTTP_OTHER},
    };
    for (size_t i = 0; i < ptc_nelems(cases); i++) {
        req_t r;
        req_init(&r, cases[i].in, strlen(cases[i].in));
        ASSERT_INT_EQ(req_line(&r), PTC_OK);
        ASSERT_INT_EQ(r.p.method, cases[i].method);
        ASSERT_INT_EQ(r.p.method_end - r.p.request_start, strchr(cases[i].in, ' ') - cases[i].in);
        free(r.data);
    }
}

TEST(rl_absolute_form)
{
    req_t r;
    req_init(&r, LIT("GET http://example.com:8080/p/q?x=1 HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_SPAN(r.p.uri_start, r.p.uri_end, "http://example.com:8080/p/q?x=1");
    ASSERT_SPAN(r.p.schema_start, r.p.schema_end, "http");
    ASSERT_SPAN(r.p.host_start, r.p.host_end, "example.com");
    ASSERT_SPAN(r.p.port_start, r.p.port_end, "8080");
    ASSERT_SPAN(r.p.path_start, r.p.uri_end, "/p/q?x=1");
    ASSERT_SPAN(r.p.args_start, r.p.uri_end, "x=1");
    ASSERT_INT_EQ(r.p.complex_uri, 0);
    free(r.data);

    req_init(&r, LIT("GET http://example.com HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_SPAN(r.p.host_start, r.p.host_end, "example.com");
    ASSERT_TRUE(r.p.host_end == r.p.uri_end);
    ASSERT_NULL(r.p.path_start); /* empty path means "/" */
    ASSERT_NULL(r.p.port_start);
    ASSERT_NULL(r.p.args_start);
    free(r.data);

    req_init(&r, LIT("GET HTTPS://Ex-1.COM?q HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_SPAN(r.p.schema_start, r.p.schema_end, "HTTPS");
    ASSERT_SPAN(r.p.host_start, r.p.host_end, "Ex-1.COM");
    ASSERT_NULL(r.p.path_start);
    ASSERT_SPAN(r.p.args_start, r.p.uri_end, "q");
    free(r.data);

    req_init(&r, LIT("GET http://a.b-c_d~e%41!$&'()*+,;=/ HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_SPAN(r.p.host_start, r.p.host_end, "a.b-c_d~e%41!$&'()*+,;=");
    ASSERT_SPAN(r.p.path_start, r.p.uri_end, "/");
    free(r.data);

    req_init(&r, LIT("GET http://h:/x HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_SPAN(r.p.host_start, r.p.host_end, "h");
    ASSERT_NULL(r.p.port_start);
    ASSERT_NULL(r.p.port_end);
    ASSERT_SPAN(r.p.path_start, r.p.uri_end, "/x");
    free(r.data);

    req_init(&r, LIT("GET http://h:65535#f HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_SPAN(r.p.port_start, r.p.port_end, "65535");
    ASSERT_NULL(r.p.path_start);
    free(r.data);
}

TEST(rl_absolute_form_ip)
{
    req_t r;
    req_init(&r, LIT("GET http://[2001:db8::1]:443/x HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_SPAN(r.p.host_start, r.p.host_end, "[2001:db8::1]");
    ASSERT_SPAN(r.p.port_start, r.p.port_end, "443");
    ASSERT_SPAN(r.p.path_start, r.p.uri_end, "/x");
    free(r.data);

    req_init(&r, LIT("GET http://[::ffff:1.2.3.4] HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_SPAN(r.p.host_start, r.p.host_end, "[::ffff:1.2.3.4]");
    ASSERT_NULL(r.p.port_start);
    ASSERT_NULL(r.p.path_start);
    free(r.data);

    req_init(&r, LIT("GET http://10.0.0.1:8/ HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_SPAN(r.p.host_start, r.p.host_end, "10.0.0.1");
    ASSERT_SPAN(r.p.port_start, r.p.port_end, "8");
    free(r.data);
}

TEST(rl_asterisk_form)
{
    req_t r;
    req_init(&r, LIT("OPTIONS * HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_INT_EQ(r.p.method, PTC_HTTP_OPTIONS);
    ASSERT_SPAN(r.p.uri_start, r.p.uri_end, "*");
    ASSERT_TRUE(r.p.path_start == r.p.uri_start);
    ASSERT_NULL(r.p.args_start);
    free(r.data);
}

TEST(rl_uri_flags)
{
    static const struct {
        const char *target;
        unsigned complex, quoted, plus;
        const char *args; /* NULL: no query */
    } cases[] = {
        {"/", 0, 0, 0, NULL},
        {"/a.b/c.d/e..", 0, 0, 0, NULL},
        {"/a//b", 1, 0, 0, NULL},
        {"/a/./b", 1, 0, 0, NULL},
        {"/a/../b", 1, 0, 0, NULL},
        {"/.well-known", 1, 0, 0, NULL},
        {"/a%20b", 1, 1, 0, NULL},
        {"/a+b", 0, 0, 1, NULL},
        {"/\x80\xff~", 0, 0, 0, NULL},
        {"/a?b//c/../%20+", 0, 0, 0, "b//c/../%20+"},
        {"/a?", 0, 0, 0, ""},
        {"/a#f", 1, 0, 0, NULL},
        {"/a#f?x//%", 1, 0, 0, NULL},
        {"/a?x#f?y", 0, 0, 0, "x#f?y"},
        {"http://h//x", 1, 0, 0, NULL},
        {"http://h/%41+", 1, 1, 1, NULL},
        {"http://h?//%+", 0, 0, 0, "//%+"},
    };
    for (size_t i = 0; i < ptc_nelems(cases); i++) {
        char line[128];
        int n = snprintf(line, sizeof(line), "GET %s HTTP/1.1\r\n", cases[i].target);
        req_t r;
        req_init(&r, line, (size_t)n);
        ASSERT_INT_EQ(req_line(&r), PTC_OK);
        ASSERT_SPAN(r.p.uri_start, r.p.uri_end, cases[i].target);
        if (r.p.complex_uri != cases[i].complex || r.p.quoted_uri != cases[i].quoted
            || r.p.plus_in_uri != cases[i].plus) {
            unit_fail(__FILE__, __LINE__, "flags of %s: %u %u %u", cases[i].target, r.p.complex_uri,
                      r.p.quoted_uri, r.p.plus_in_uri);
        }
        if (cases[i].args == NULL) {
            ASSERT_NULL(r.p.args_start);
        } else {
            ASSERT_SPAN(r.p.args_start, r.p.uri_end, cases[i].args);
        }
        free(r.data);
    }
}

TEST(rl_versions)
{
    req_t r;
    req_init(&r, LIT("GET / HTTP/1.0\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_INT_EQ(r.p.http_major, 1);
    ASSERT_INT_EQ(r.p.http_minor, 0);
    free(r.data);

    req_init(&r, LIT("GET / HTTP/1.9\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_INT_EQ(r.p.http_minor, 9);
    free(r.data);
}

static const struct {
    const char *in;
    size_t len;
    int status;
    const char *error;
    long at; /* b->pos offset after the error */
} rl_bad[] = {
    {LIT(" GET / HTTP/1.1\r\n"), 400, "invalid method", 0},
    {LIT("GET\t/ HTTP/1.1\r\n"), 400, "invalid method", 3},
    {LIT("GE(T / HTTP/1.1\r\n"), 400, "invalid method", 2},
    {LIT("G\x80T / HTTP/1.1\r\n"), 400, "invalid method", 1},
    {LIT("G\0T / HTTP/1.1\r\n"), 400, "invalid method", 1},
    {LIT("\0GET / HTTP/1.1\r\n"), 400, "invalid method", 0},
    {LIT("GET\r\n"), 400, "invalid method", 3},
    {LIT("\rGET / HTTP/1.1\r\n"), 400, "bare CR before request line", 1},
    {LIT("GET  / HTTP/1.1\r\n"), 400, "invalid request target", 4},
    {LIT("GET ?x HTTP/1.1\r\n"), 400, "invalid request target", 4},
    {LIT("GET 1http://h/ HTTP/1.1\r\n"), 400, "invalid request target", 4},
    {LIT("GET /  HTTP/1.1\r\n"), 400, "invalid HTTP version", 6},
    {LIT("GET / HTTP/1.1 \r\n"), 400, "invalid HTTP version", 14},
    {LIT("GET /\t HTTP/1.1\r\n"), 400, "invalid character in request target", 5},
    {LIT("GET /a\0b HTTP/1.1\r\n"), 400, "invalid character in request target", 6},
    {LIT("GET /a\x01 HTTP/1.1\r\n"), 400, "invalid character in request target", 6},
    {LIT("GET /a\x7f HTTP/1.1\r\n"), 400, "invalid character in request target", 6},
    {LIT("GET /a?b\x1f HTTP/1.1\r\n"), 400, "invalid character in request target", 8},
    {LIT("GET /a#\x7f HTTP/1.1\r\n"), 400, "invalid character in request target", 7},
    {LIT("GET /a\rb HTTP/1.1\r\n"), 400, "no HTTP version after request target", 6},
    {LIT("GET /\r\n"), 400, "no HTTP version after request target", 5},
    {LIT("GET /\n"), 400, "no HTTP version after request target", 5},
    {LIT("GET http://h\r\n"), 400, "no HTTP version after request target", 12},
    {LIT("GET / \r\n"), 400, "missing HTTP version", 6},
    {LIT("GET / HTTP/1.1\rX"), 400, "bare CR in request line", 15},
    {LIT("GET / HTTP/1.1\r\r\n"), 400, "bare CR in request line", 15},
    {LIT("GET / http/1.1\r\n"), 400, "invalid HTTP version", 6},
    {LIT("GET / HTTPS/1.1\r\n"), 400, "invalid HTTP version", 10},
    {LIT("GET / HTTP/1\r\n"), 400, "invalid HTTP version", 12},
    {LIT("GET / HTTP/1.\r\n"), 400, "invalid HTTP version", 13},
    {LIT("GET / HTTP/.1\r\n"), 400, "invalid HTTP version", 11},
    {LIT("GET / HTTP/1,1\r\n"), 400, "invalid HTTP version", 12},
    {LIT("GET / HTTP/11.1\r\n"), 400, "invalid HTTP version", 12},
    {LIT("GET / HTTP/1.10\r\n"), 400, "invalid HTTP version", 14},
    {LIT("GET / HTTP/1.1x\r\n"), 400, "invalid HTTP version", 14},
    {LIT("GET / HTTP/0.9\r\n"), 400, "unsupported HTTP version", 16},
    {LIT("GET / HTTP/2.0\r\n"), 505, "unsupported HTTP version", 16},
    {LIT("GET / HTTP/3.0\n"), 505, "unsupported HTTP version", 15},
    {LIT("GET / HTTP/9.9\r\n"), 505, "unsupported HTTP version", 16},
    {LIT("GET * HTTP/1.1\r\n"), 400, "asterisk-form target outside OPTIONS", 5},
    {LIT("PRI * HTTP/2.0\r\n"), 400, "asterisk-form target outside OPTIONS", 5},
    {LIT("OPTIONS *x HTTP/1.1\r\n"), 400, "invalid request target", 9},
    {LIT("OPTIONS ** HTTP/1.1\r\n"), 400, "invalid request target", 9},
    {LIT("CONNECT example.com:443 HTTP/1.1\r\n"), 400, "invalid request target", 20},
    {LIT("CONNECT 127.0.0.1:443 HTTP/1.1\r\n"), 400, "invalid request target", 8},
    {LIT("GET example.com HTTP/1.1\r\n"), 400, "invalid request target", 15},
    {LIT("GET h!ttp://x/ HTTP/1.1\r\n"), 400, "invalid request target", 5},
    {LIT("GET http:/x HTTP/1.1\r\n"), 400, "invalid request target", 10},
    {LIT("GET http:///x HTTP/1.1\r\n"), 400, "invalid host in request target", 11},
    {LIT("GET http:// HTTP/1.1\r\n"), 400, "invalid host in request target", 11},
    {LIT("GET http://\x80/ HTTP/1.1\r\n"), 400, "invalid host in request target", 11},
    {LIT("GET http://u@h/ HTTP/1.1\r\n"), 400, "invalid authority in request target", 12},
    {LIT("GET http://h\x80/ HTTP/1.1\r\n"), 400, "invalid authority in request target", 12},
    {LIT("GET http://h:8a/ HTTP/1.1\r\n"), 400, "invalid authority in request target", 14},
    {LIT("GET http://h:99999/ HTTP/1.1\r\n"), 400, "invalid port in request target", 18},
    {LIT("GET http://h:123456/ HTTP/1.1\r\n"), 400, "invalid port in request target", 18},
    {LIT("GET http://[::1/ HTTP/1.1\r\n"), 400, "invalid host in request target", 15},
    {LIT("GET http://[]/ HTTP/1.1\r\n"), 400, "invalid host in request target", 12},
    {LIT("GET http://[::1]x/ HTTP/1.1\r\n"), 400, "invalid authority in request target", 16},
};

TEST(rl_rejections)
{
    for (size_t i = 0; i < ptc_nelems(rl_bad); i++) {
        req_t r;
        req_init(&r, rl_bad[i].in, rl_bad[i].len);
        int rc = req_line(&r);
        if (rc != PTC_ERROR || r.p.error_status != rl_bad[i].status || r.p.error == NULL
            || strcmp(r.p.error, rl_bad[i].error) != 0 || r.b.pos - r.data != rl_bad[i].at) {
            unit_fail(__FILE__, __LINE__, "case %zu \"%s\": rc %d status %d \"%s\" at %ld", i,
                      rl_bad[i].in, rc, r.p.error_status, r.p.error ? r.p.error : "(null)",
                      (long)(r.b.pos - r.data));
        }
        ASSERT_INT_EQ(r.p.state, 0);
        free(r.data);
    }
}

TEST(rl_rejections_split)
{
    for (size_t i = 0; i < ptc_nelems(rl_bad); i++) {
        trace_t one = {.first = rl_bad[i].len};
        trace_head(&one, rl_bad[i].in, rl_bad[i].len);
        ASSERT_TRUE(strncmp(one.out, "ERR ", 4) == 0);
        trace_t bytes = {.first = 0, .step = 1};
        trace_head(&bytes, rl_bad[i].in, rl_bad[i].len);
        ASSERT_STR_EQ(bytes.out, one.out);
    }
}

TEST(rl_reused_for_next_request)
{
    req_t r;
    req_init(&r, LIT("GET http://h:1/a//b+%41?q HTTP/1.0\r\n\r\nGET /c HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_INT_EQ(r.p.complex_uri & r.p.quoted_uri & r.p.plus_in_uri, 1);
    ASSERT_INT_EQ(req_header(&r, false), PTC_DONE);
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_SPAN(r.p.request_start, r.p.request_end, "GET /c HTTP/1.1");
    ASSERT_NULL(r.p.schema_start);
    ASSERT_NULL(r.p.host_start);
    ASSERT_NULL(r.p.port_start);
    ASSERT_NULL(r.p.args_start);
    ASSERT_SPAN(r.p.path_start, r.p.uri_end, "/c");
    ASSERT_INT_EQ(r.p.complex_uri | r.p.quoted_uri | r.p.plus_in_uri, 0);
    ASSERT_INT_EQ(r.p.http_minor, 1);
    ASSERT_REST(r, "");
    free(r.data);
}

/* ---- header lines ---- */

TEST(hl_fields)
{
    req_t r;
    req_init(&r, LIT("HoSt: example.com\r\nX-Empty:\r\nX-Ws:  \t\r\nX-Trim: \t a \t b\t \r\n"
                     "X-Obs: \x80\xff\r\nlf:v\n\r\nNEXT"));
    ASSERT_INT_EQ(req_header(&r, false), PTC_OK);
    ASSERT_TRUE(r.p.header_name_start == r.data);
    ASSERT_SPAN(r.p.header_name_start, r.p.header_name_end, "HoSt");
    ASSERT_SPAN(r.p.header_start, r.p.header_end, "example.com");
    ASSERT_INT_EQ(r.p.header_hash, ptc_hash_key_lc((const u_char *)"host", 4));
    ASSERT_INT_EQ(r.p.invalid_header, 0);
    ASSERT_INT_EQ(r.p.state, 0);

    ASSERT_INT_EQ(req_header(&r, false), PTC_OK);
    ASSERT_SPAN(r.p.header_name_start, r.p.header_name_end, "X-Empty");
    ASSERT_TRUE(r.p.header_start == r.p.header_name_end + 1);
    ASSERT_TRUE(r.p.header_end == r.p.header_start);

    ASSERT_INT_EQ(req_header(&r, false), PTC_OK);
    ASSERT_SPAN(r.p.header_name_start, r.p.header_name_end, "X-Ws");
    ASSERT_TRUE(r.p.header_start == r.p.header_name_end + 4); /* at the CR */
    ASSERT_TRUE(r.p.header_end == r.p.header_start);

    ASSERT_INT_EQ(req_header(&r, false), PTC_OK);
    ASSERT_SPAN(r.p.header_start, r.p.header_end, "a \t b");
    ASSERT_INT_EQ(r.p.header_hash, ptc_hash_key_lc((const u_char *)"x-trim", 6));

    ASSERT_INT_EQ(req_header(&r, false), PTC_OK);
    ASSERT_SPAN(r.p.header_start, r.p.header_end, "\x80\xff");

    ASSERT_INT_EQ(req_header(&r, false), PTC_OK);
    ASSERT_SPAN(r.p.header_name_start, r.p.header_name_end, "lf");
    ASSERT_SPAN(r.p.header_start, r.p.header_end, "v");
    ASSERT_REST(r, "\r\nNEXT");

    ASSERT_INT_EQ(req_header(&r, false), PTC_DONE);
    ASSERT_INT_EQ(r.p.state, 0);
    ASSERT_REST(r, "NEXT");
    free(r.data);
}

TEST(hl_end_of_section)
{
    req_t r;
    req_init(&r, LIT("\nX"));
    ASSERT_INT_EQ(req_header(&r, false), PTC_DONE);
    ASSERT_REST(r, "X");
    free(r.data);

    req_init(&r, LIT("\r"));
    ASSERT_INT_EQ(req_header(&r, false), PTC_AGAIN);
    ASSERT_TRUE(r.b.pos == r.b.last);
    free(r.data);
}

TEST(hl_invalid_header_flag)
{
    static const struct {
        const char *line;
        bool underscores;
        unsigned invalid;
    } cases[] = {
        {"Content-Length9: 1\r\n", false, 0},
        {"X_Y: 1\r\n", false, 1},
        {"X_Y: 1\r\n", true, 0},
        {"_: 1\r\n", false, 1},
        {"_: 1\r\n", true, 0},
        {"X.Y: 1\r\n", true, 1},
        {"~x: 1\r\n", true, 1},
        {"!#$%&'*+-.^_`|~: 1\r\n", true, 1},
    };
    for (size_t i = 0; i < ptc_nelems(cases); i++) {
        req_t r;
        req_init(&r, cases[i].line, strlen(cases[i].line));
        ASSERT_INT_EQ(req_header(&r, cases[i].underscores), PTC_OK);
        ASSERT_INT_EQ(r.p.invalid_header, cases[i].invalid);
        ASSERT_TRUE(r.p.header_name_start == r.data);
        ASSERT_INT_EQ(r.p.header_name_end - r.data, strchr(cases[i].line, ':') - cases[i].line);
        ASSERT_SPAN(r.p.header_start, r.p.header_end, "1");
        free(r.data);
    }

    req_t r; /* the flag is per line */
    req_init(&r, LIT("X_Y: 1\r\nHost: 1\r\n"));
    ASSERT_INT_EQ(req_header(&r, false), PTC_OK);
    ASSERT_INT_EQ(r.p.invalid_header, 1);
    ASSERT_INT_EQ(req_header(&r, false), PTC_OK);
    ASSERT_INT_EQ(r.p.invalid_header, 0);
    free(r.data);
}

static const struct {
    const char *in;
    size_t len;
    const char *error;
    long at;
} hl_bad[] = {
    {LIT(" X: 1\r\n"), "obsolete line folding", 0},
    {LIT("\tX: 1\r\n"), "obsolete line folding", 0},
    {LIT(": v\r\n"), "empty header name", 0},
    {LIT("Name v\r\n"), "whitespace before colon in header line", 4},
    {LIT("Name : v\r\n"), "whitespace before colon in header line", 4},
    {LIT("Name\t: v\r\n"), "whitespace before colon in header line", 4},
    {LIT("Name\r\n"), "missing colon in header line", 4},
    {LIT("Name\n"), "missing colon in header line", 4},
    {LIT("Na(me: v\r\n"), "invalid header name", 2},
    {LIT("Na\"me: v\r\n"), "invalid header name", 2},
    {LIT("Na/me: v\r\n"), "invalid header name", 2},
    {LIT("Na{me: v\r\n"), "invalid header name", 2},
    {LIT("Na\x80me: v\r\n"), "invalid header name", 2},
    {LIT("Na\x7fme: v\r\n"), "invalid header name", 2},
    {LIT("Na\0me: v\r\n"), "invalid header name", 2},
    {LIT("\x80: v\r\n"), "invalid header name", 0},
    {LIT("(: v\r\n"), "invalid header name", 0},
    {LIT("\0: v\r\n"), "invalid header name", 0},
    {LIT("N: a\0b\r\n"), "invalid character in header value", 4},
    {LIT("N: \0\r\n"), "invalid character in header value", 3},
    {LIT("N: a\x01\r\n"), "invalid character in header value", 4},
    {LIT("N: a\x7f\r\n"), "invalid character in header value", 4},
    {LIT("N:\x0b\r\n"), "invalid character in header value", 2},
    {LIT("N: a\x0c"
         "b\r\n"),
     "invalid character in header value", 4},
    {LIT("N: a\rb\r\n"), "bare CR in header", 5},
    {LIT("N: a\r\r\n"), "bare CR in header", 5},
    {LIT("N:\r\r\n"), "bare CR in header", 3},
    {LIT("\rX"), "bare CR in header", 1},
    {LIT("\r\r\n"), "bare CR in header", 1},
};

TEST(hl_rejections)
{
    for (size_t i = 0; i < ptc_nelems(hl_bad); i++) {
        req_t r;
        req_init(&r, hl_bad[i].in, hl_bad[i].len);
        int rc = req_header(&r, true);
        if (rc != PTC_ERROR || r.p.error_status != 400 || r.p.error == NULL
            || strcmp(r.p.error, hl_bad[i].error) != 0 || r.b.pos - r.data != hl_bad[i].at) {
            unit_fail(__FILE__, __LINE__, "case %zu: rc %d status %d \"%s\" at %ld", i, rc,
                      r.p.error_status, r.p.error ? r.p.error : "(null)", (long)(r.b.pos - r.data));
        }
        ASSERT_INT_EQ(r.p.state, 0);
        free(r.data);
    }
}

/* Header rejections hold when the line arrives one byte at a time. */
TEST(hl_rejections_split)
{
    for (size_t i = 0; i < ptc_nelems(hl_bad); i++) {
        char in[64];
        size_t n = sizeof("GET / HTTP/1.1\r\n") - 1;
        memcpy(in, "GET / HTTP/1.1\r\n", n);
        memcpy(in + n, hl_bad[i].in, hl_bad[i].len);
        trace_t one = {.first = n + hl_bad[i].len};
        trace_head(&one, in, n + hl_bad[i].len);
        char want[128];
        snprintf(want, sizeof(want), "ERR 400 %s at %ld;", hl_bad[i].error, (long)n + hl_bad[i].at);
        ASSERT_TRUE(test_ends_with(one.out, want));
        trace_t bytes = {.first = 0, .step = 1};
        trace_head(&bytes, in, n + hl_bad[i].len);
        ASSERT_STR_EQ(bytes.out, one.out);
    }
}

void
suite_http_parse(void)
{
    RUN(rl_origin_form);
    RUN(rl_empty_lines_and_bare_lf);
    RUN(rl_methods);
    RUN(rl_absolute_form);
    RUN(rl_absolute_form_ip);
    RUN(rl_asterisk_form);
    RUN(rl_uri_flags);
    RUN(rl_versions);
    RUN(rl_rejections);
    RUN(rl_rejections_split);
    RUN(rl_reused_for_next_request);
    RUN(hl_fields);
    RUN(hl_end_of_section);
    RUN(hl_invalid_header_flag);
    RUN(hl_rejections);
    RUN(hl_rejections_split);
    RUN(head_split_at_every_byte);
}

/* ---- chunked bodies ---- */

typedef struct {
    size_t first; /* bytes available on the first call */
    size_t step;  /* bytes added after each PTC_AGAIN; 0: all the rest */
    int rc;       /* last result; 99 when the PTC_OK or PTC_AGAIN contract broke */
    long pos;     /* b->pos offset after the last call */
    const char *error;
    size_t body_len;
    u_char body[512];
} chunk_run_t;

/* Decode in[0, len) fed as r->first/r->step say, consuming every PTC_OK
 * piece of data into r->body. */
static void
chunked_run(const char *in, size_t len, chunk_run_t *r)
{
    u_char *buf = test_copy(in, len);
    ptc_buf_t b = {.start = buf, .pos = buf, .last = buf + r->first, .end = buf + len};
    ptc_http_chunked_t ctx;

    memset(&ctx, 0, sizeof(ctx));
    for (;;) {
        r->rc = ptc_http_parse_chunked(&ctx, &b);
        if (r->rc == PTC_OK) {
            if (ctx.size == 0 || ctx.size > (uint64_t)(b.last - b.pos)
                || r->body_len + ctx.size > sizeof(r->body)) {
                r->rc = 99;
                break;
            }
            memcpy(r->body + r->body_len, b.pos, ctx.size);
            r->body_len += ctx.size;
            b.pos += ctx.size;
            continue;
        }
        if (r->rc != PTC_AGAIN) {
            break;
        }
        if (b.pos != b.last) {
            r->rc = 99;
            break;
        }
        if (b.last == b.end) {
            break;
        }
        b.last = r->step ? ptc_min(b.end, b.last + r->step) : b.end;
    }
    r->pos = (long)(b.pos - buf);
    r->error = ctx.error;
    free(buf);
}

/* Run one-shot, split at every byte and byte by byte; all must agree. */
static bool
chunked_run_all(const char *in, size_t len, chunk_run_t *one)
{
    memset(one, 0, sizeof(*one));
    one->first = len;
    chunked_run(in, len, one);
    for (size_t k = 0; k <= len + 1; k++) {
        chunk_run_t r = {.first = k <= len ? k : 0, .step = k <= len ? 0 : 1};
        chunked_run(in, len, &r);
        if (r.rc != one->rc || r.pos != one->pos || r.body_len != one->body_len
            || memcmp(r.body, one->body, r.body_len) != 0 || r.error != one->error) {
            unit_fail(__FILE__, __LINE__, "split %zu differs: rc %d pos %ld len %zu", k, r.rc,
                      r.pos, r.body_len);
            return false;
        }
    }
    return true;
}

static const struct {
    const char *in;
    size_t len;
    const char *body;
    size_t body_len;
    const char *rest;
} chunked_good[] = {
    {LIT("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET /"), LIT("hello world"), "GET /"},
    {LIT("0005\r\nhello\r\n000\r\n\r\n"), LIT("hello"), ""},
    {LIT("0000000000000001\r\nx\r\n0000000000000000\r\n\r\n"), LIT("x"), ""},
    {LIT("a\r\n0123456789\r\nA\r\nabcdefghij\r\nf\r\n0123456789abcde\r\n0\r\n\r\n"),
     LIT("0123456789abcdefghij0123456789abcde"), ""},
    {LIT("5;name=value\r\nhello\r\n3 ; a = \"q \\\" x\" ;b\r\nabc\r\n0;last\r\n\r\n"),
     LIT("helloabc"), ""},
    {LIT("5\t;x=\x80\xff\r\nhello\r\n0 \t\r\n\r\n"), LIT("hello"), ""},
    {LIT("4\r\n\r\n\r\n\r\n2\r\n\0\x01\r\n0\r\n\r\n"), LIT("\r\n\r\n\0\x01"), ""},
    {LIT("3\r\nabc\r\n0\r\nX-Sum: 1\r\nY:\r\nZ: a\tb \x80\r\n\r\nNEXT"), LIT("abc"), "NEXT"},
    {LIT("3\nabc\n0\nT: v\n\nNEXT"), LIT("abc"), "NEXT"},
    {LIT("3\r\nabc\n0\r\n\n\r\n"), LIT("abc"), "\r\n"},
    {LIT("0\r\n\r\n"), LIT(""), ""},
};

TEST(chunked_bodies)
{
    for (size_t i = 0; i < ptc_nelems(chunked_good); i++) {
        chunk_run_t one;
        if (!chunked_run_all(chunked_good[i].in, chunked_good[i].len, &one)) {
            unit_fail(__FILE__, __LINE__, "in case %zu", i);
            return;
        }
        if (one.rc != PTC_DONE) {
            unit_fail(__FILE__, __LINE__, "case %zu: rc %d (%s) at %ld", i, one.rc,
                      one.error ? one.error : "", one.pos);
            return;
        }
        ASSERT_INT_EQ(one.body_len, chunked_good[i].body_len);
        ASSERT_TRUE(memcmp(one.body, chunked_good[i].body, one.body_len) == 0);
        ASSERT_INT_EQ(one.pos, chunked_good[i].len - strlen(chunked_good[i].rest));
    }
}

/* PTC_OK hands over exactly the data in the buffer, in place. */
TEST(chunked_data_in_place)
{
    u_char buf[] = "5\r\nhello\r\n0\r\n\r\n";
    ptc_buf_t b = {.start = buf, .pos = buf, .last = buf + 6, .end = buf + sizeof(buf) - 1};
    ptc_http_chunked_t ctx;

    memset(&ctx, 0, sizeof(ctx));
    ASSERT_INT_EQ(ptc_http_parse_chunked(&ctx, &b), PTC_OK);
    ASSERT_TRUE(b.pos == buf + 3);
    ASSERT_INT_EQ(ctx.size, 3);
    b.pos += ctx.size;
    ASSERT_INT_EQ(ptc_http_parse_chunked(&ctx, &b), PTC_AGAIN);
    ASSERT_TRUE(b.pos == buf + 6);
    ASSERT_INT_EQ(ctx.size, 0);
    b.last = b.end;
    ASSERT_INT_EQ(ptc_http_parse_chunked(&ctx, &b), PTC_OK);
    ASSERT_TRUE(b.pos == buf + 6);
    ASSERT_INT_EQ(ctx.size, 2);
    b.pos += ctx.size;
    ASSERT_INT_EQ(ptc_http_parse_chunked(&ctx, &b), PTC_DONE);
    ASSERT_TRUE(b.pos == b.end);
    ASSERT_INT_EQ(ctx.state, 0);
}

/* The largest size accepted is 2^63-1; its data is then streamed. */
TEST(chunked_max_size)
{
    u_char buf[] = "7fffffffffffffff\r\nab";
    ptc_buf_t b = {.start = buf, .pos = buf, .last = buf + sizeof(buf) - 1};
    ptc_http_chunked_t ctx;

    b.end = b.last;
    memset(&ctx, 0, sizeof(ctx));
    ASSERT_INT_EQ(ptc_http_parse_chunked(&ctx, &b), PTC_OK);
    ASSERT_INT_EQ(ctx.size, 2);
    ASSERT_TRUE(b.pos == buf + 18);
    ASSERT_TRUE(ctx.remain == (uint64_t)INT64_MAX - 2);
}

static const struct {
    const char *in;
    size_t len;
    const char *error;
    long at;
} chunked_bad[] = {
    {LIT("\r\n"), "invalid chunk size", 0},
    {LIT(";x\r\n"), "invalid chunk size", 0},
    {LIT("g\r\n"), "invalid chunk size", 0},
    {LIT("-1\r\n"), "invalid chunk size", 0},
    {LIT(" 5\r\n"), "invalid chunk size", 0},
    {LIT("0x5\r\n"), "invalid chunk size", 1},
    {LIT("5x\r\n"), "invalid chunk size", 1},
    {LIT("5 x\r\n"), "invalid chunk size", 2},
    {LIT("5 5\r\n"), "invalid chunk size", 2},
    {LIT("5\0\r\n"), "invalid chunk size", 1},
    {LIT("00000000000000001\r\n"), "too many digits in chunk size", 16},
    {LIT("8000000000000000\r\n"), "chunk size overflow", 15},
    {LIT("ffffffffffffffff\r\n"), "chunk size overflow", 15},
    {LIT("5\rhello"), "bare CR in chunk size", 2},
    {LIT("5;a\rb\r\n"), "bare CR in chunk size", 4},
    {LIT("5;a\x01\r\n"), "invalid chunk extension", 3},
    {LIT("5;a\x7f\r\n"), "invalid chunk extension", 3},
    {LIT("5;\0\r\n"), "invalid chunk extension", 2},
    {LIT("5\r\nhelloX\r\n"), "missing CRLF after chunk data", 8},
    {LIT("5\r\nhello\rX"), "missing CRLF after chunk data", 9},
    {LIT("5\r\nhello\r\r\n"), "missing CRLF after chunk data", 9},
    {LIT("5\r\nhello\r\n\r\n"), "invalid chunk size", 10},
    {LIT("0\r\n\rX"), "bare CR in trailer", 4},
    {LIT("0\r\n T: v\r\n\r\n"), "invalid trailer field", 3},
    {LIT("0\r\n: v\r\n\r\n"), "invalid trailer field", 3},
    {LIT("0\r\nT v\r\n\r\n"), "invalid trailer field", 4},
    {LIT("0\r\nT\r\n\r\n"), "invalid trailer field", 4},
    {LIT("0\r\nT(: v\r\n\r\n"), "invalid trailer field", 4},
    {LIT("0\r\nT: a\x01\r\n\r\n"), "invalid trailer field", 7},
    {LIT("0\r\nT: a\0\r\n\r\n"), "invalid trailer field", 7},
    {LIT("0\r\nT: a\rb\r\n"), "bare CR in trailer", 8},
};

TEST(chunked_rejections)
{
    for (size_t i = 0; i < ptc_nelems(chunked_bad); i++) {
        chunk_run_t one;
        if (!chunked_run_all(chunked_bad[i].in, chunked_bad[i].len, &one)) {
            unit_fail(__FILE__, __LINE__, "in case %zu", i);
            return;
        }
        if (one.rc != PTC_ERROR || one.error == NULL || strcmp(one.error, chunked_bad[i].error)
            || one.pos != chunked_bad[i].at) {
            unit_fail(__FILE__, __LINE__, "case %zu: rc %d \"%s\" at %ld", i, one.rc,
                      one.error ? one.error : "(null)", one.pos);
        }
    }
}

/* A chunk-size line may hold 4096 bytes before its CRLF; one more fails. */
TEST(chunked_extension_limit)
{
    static char in[4200];
    chunk_run_t r;
    size_t n;

    memset(in, 'e', sizeof(in));
    memcpy(in, "1;", 2);
    memcpy(in + 4096, "\r\nx\r\n0\r\n\r\n", 10);
    n = 4096 + 10;
    memset(&r, 0, sizeof(r));
    r.first = n;
    chunked_run(in, n, &r);
    ASSERT_INT_EQ(r.rc, PTC_DONE);
    ASSERT_MEM_EQ(r.body, r.body_len, "x");

    memset(in, 'e', sizeof(in));
    memcpy(in, "1;", 2);
    memcpy(in + 4097, "\r\nx\r\n0\r\n\r\n", 10);
    n = 4097 + 10;
    memset(&r, 0, sizeof(r));
    r.first = n;
    chunked_run(in, n, &r);
    ASSERT_INT_EQ(r.rc, PTC_ERROR);
    ASSERT_STR_EQ(r.error, "chunk extension too long");
    ASSERT_INT_EQ(r.pos, 4096);
}

/* The trailer section, final CRLF included, may be 8192 bytes; one more fails. */
TEST(chunked_trailer_limit)
{
    static char in[8300];
    chunk_run_t r;
    size_t n;

    for (int extra = 0; extra <= 1; extra++) {
        size_t section = 8192 + (size_t)extra;
        memcpy(in, "0\r\nT: ", 6);
        memset(in + 6, 'v', section - 3 - 4);
        memcpy(in + 3 + section - 4, "\r\n\r\n", 4);
        n = 3 + section;
        memset(&r, 0, sizeof(r));
        r.first = n;
        chunked_run(in, n, &r);
        if (extra == 0) {
            ASSERT_INT_EQ(r.rc, PTC_DONE);
            ASSERT_INT_EQ(r.pos, n);
        } else {
            ASSERT_INT_EQ(r.rc, PTC_ERROR);
            ASSERT_STR_EQ(r.error, "trailer section too large");
            ASSERT_INT_EQ(r.pos, n - 1);
        }
    }
}

void
suite_http_chunked(void)
{
    RUN(chunked_bodies);
    RUN(chunked_data_in_place);
    RUN(chunked_max_size);
    RUN(chunked_rejections);
    RUN(chunked_extension_limit);
    RUN(chunked_trailer_limit);
}

/* ---- path normalisation ---- */

static const struct {
    const char *in;
    size_t len;
    bool merge;
    const char *out; /* NULL: PTC_ERROR */
} uri_cases[] = {
    {LIT("/a/../admin"), true, "/admin"},
    {LIT("//admin"), true, "/admin"},
    {LIT("/%61dmin"), true, "/admin"},
    {LIT("/a/./b"), true, "/a/b"},
    {LIT("/a/b/../../.."), true, NULL},
    {LIT("/a%2fb"), true, "/a/b"},
    {LIT("/a//b"), false, "/a//b"},
    {LIT("/a//b"), true, "/a/b"},
    {LIT("/%zz"), true, NULL},
    {LIT("/a%00b"), true, NULL},
    {LIT("/a?x/../y"), true, "/a"},
    {LIT("/a/b/.."), true, "/a/"},
    {LIT("/a/."), true, "/a/"},
    {LIT("/a/b/../c/./d"), true, "/a/c/d"},
    {LIT("/"), true, "/"},
    {LIT("/."), true, "/"},
    {LIT("/.."), true, NULL},
    {LIT("/../a"), true, NULL},
    {LIT("/%2e%2e/"), true, NULL},
    {LIT("/%2e"), true, "/"},
    {LIT("/a/%2e%2e/b"), true, "/b"},
    {LIT("/a/%2E%2E"), true, "/"},
    {LIT("/a/.%2e/b"), true, "/b"},
    {LIT("/a%2F..%2Fb"), true, "/b"},
    {LIT("/..."), true, "/..."},
    {LIT("/a/..b/c./.d"), true, "/a/..b/c./.d"},
    {LIT("/%4a%4A%7e"), true, "/JJ~"},
    {LIT("/a%3Fb?c"), true, "/a?b"},
    {LIT("/a%23b#c"), true, "/a#b"},
    {LIT("/a%25"), true, "/a%"},
    {LIT("/%2541"), true, "/%41"},
    {LIT("/a#frag/../x"), true, "/a"},
    {LIT("///a//b//"), true, "/a/b/"},
    {LIT("///a//b//"), false, "///a//b//"},
    {LIT("/a//../b"), false, "/a/b"},
    {LIT("/a//../b"), true, "/b"},
    {LIT("//.."), false, "/"},
    {LIT("/a/.//b"), false, "/a//b"},
    {LIT("/\x80\xff+"), true, "/\x80\xff+"},
    {LIT("/a%"), true, NULL},
    {LIT("/a%2"), true, NULL},
    {LIT("/a%2?x"), true, NULL},
    {LIT("/a%g0"), true, NULL},
    {LIT("/a%0g"), true, NULL},
    {LIT("/a/.%00"), true, NULL},
    {LIT("a/b"), true, NULL},
    {LIT("%2fa"), true, NULL},
    {LIT(""), true, NULL},
};

TEST(uri_normalise)
{
    for (size_t i = 0; i < ptc_nelems(uri_cases); i++) {
        u_char *in = test_copy(uri_cases[i].in, uri_cases[i].len);
        ptc_str_t out = {0, malloc(uri_cases[i].len ? uri_cases[i].len : 1)};
        int rc = ptc_http_parse_complex_uri(in, uri_cases[i].len, uri_cases[i].merge, &out);
        const char *want = uri_cases[i].out;
        if (want == NULL
                ? rc != PTC_ERROR
                : rc != PTC_OK || out.len != strlen(want) || memcmp(out.data, want, out.len) != 0) {
            unit_fail(__FILE__, __LINE__, "\"%s\" merge=%d: rc %d \"%.*s\", want %s",
                      uri_cases[i].in, uri_cases[i].merge, rc, rc == PTC_OK ? (int)out.len : 0,
                      (const char *)out.data, want ? want : "error");
        }
        free(in);
        free(out.data);
    }
}

/* Normalising a path the request line parser found, in the caller's style. */
TEST(uri_from_request_line)
{
    req_t r;
    req_init(&r, LIT("GET /a/%2e%2e/b//c/./?x=/../ HTTP/1.1\r\n"));
    ASSERT_INT_EQ(req_line(&r), PTC_OK);
    ASSERT_INT_EQ(r.p.complex_uri, 1);
    size_t len = (size_t)(r.p.uri_end - r.p.path_start);
    ptc_str_t out = {0, malloc(len)};
    ASSERT_INT_EQ(ptc_http_parse_complex_uri(r.p.path_start, len, true, &out), PTC_OK);
    ASSERT_MEM_EQ(out.data, out.len, "/b/c/");
    free(out.data);
    free(r.data);
}

void
suite_http_uri(void)
{
    RUN(uri_normalise);
    RUN(uri_from_request_line);
}
