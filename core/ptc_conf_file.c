/* SPDX-License-Identifier: BSD-2-Clause */
/* The nginx-grammar config reader. A lexer turns text into words and the
 * punctuation `;` `{` `}`; the parser keeps an explicit stack of open blocks
 * (so deep nesting cannot overflow the C stack) and splices `include`d files
 * into the block that is open where the include appears. */
#include "core/ptc_conf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ptc_pool.h"

#define CONF_INCLUDE_DEPTH_MAX 32
#define CONF_TOKEN_MAX         (64 * 1024)

typedef enum {
    CONF_TOK_WORD,
    CONF_TOK_SEMI,
    CONF_TOK_OPEN,
    CONF_TOK_CLOSE,
    CONF_TOK_EOF,
    CONF_TOK_ERROR
} conf_tok_t;

/* One file (or in-memory text) being tokenized. */
typedef struct {
    const char *file; /* pool-owned name used in nodes and errors */
    const u_char *p;
    const u_char *end;
    unsigned line; /* current line: 1 + LFs consumed so far */
} conf_lexer_t;

/* A block whose `}` has not been seen yet; frame 0 is the root. */
typedef struct {
    ptc_conf_node_t node;
    ptc_array_t kids; /* ptc_conf_node_t; elts NULL until the first child */
} conf_frame_t;

typedef struct {
    ptc_pool_t *pool;
    const char *prefix;   /* include_prefix, may be NULL */
    ptc_array_t *sources; /* may be NULL */
    char *err;
    size_t errlen;
    unsigned depth;     /* include nesting of the file being parsed (main: 0) */
    ptc_array_t frames; /* conf_frame_t */
    ptc_array_t args;   /* ptc_str_t: words of the directive being read */
    uint64_t quoted;    /* quoted bits of those words */
    unsigned line;      /* line of args[0] */
    ptc_str_t word;     /* the last CONF_TOK_WORD */
    bool word_quoted;
    unsigned word_line; /* line the last token started on */
} conf_parser_t;

static int conf_parse_file(conf_parser_t *ps, const char *path, const conf_lexer_t *from,
                           unsigned from_line);

/* Write "message[ in FILE:LINE]" to the caller's buffer; no in-clause when
 * file is NULL. */
static void __attribute__((format(printf, 4, 5)))
conf_fail(conf_parser_t *ps, const char *file, unsigned line, const char *fmt, ...)
{
    if (ps->err == NULL || ps->errlen == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ps->err, ps->errlen, fmt, ap);
    va_end(ap);
    if (file && n >= 0 && (size_t)n < ps->errlen) {
        snprintf(ps->err + n, ps->errlen - (size_t)n, " in %s:%u", file, line);
    }
}

static bool
conf_is_space(u_char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip whitespace and `#` comments (which can only start a token). */
static void
conf_skip_space(conf_lexer_t *lx)
{
    while (lx->p < lx->end) {
        u_char c = *lx->p;
        if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n') {
                lx->p++;
            }
            continue;
        }
        if (!conf_is_space(c)) {
            return;
        }
        if (c == '\n') {
            lx->line++;
        }
        lx->p++;
    }
}

/* End of the unquoted word at lx->p. A backslash makes the next byte part of
 * the word; `{` right after an unescaped `$` belongs to a `${var}`; `}` and
 * `#` inside a word are ordinary bytes, as in nginx. */
static const u_char *
conf_word_end(conf_lexer_t *lx)
{
    const u_char *p = lx->p;
    bool dollar = false;
    while (p < lx->end) {
        u_char c = *p;
        if (c == '\\' && p + 1 < lx->end) {
            lx->line += p[1] == '\n';
            p += 2;
            dollar = false;
            continue;
        }
        if (conf_is_space(c) || c == ';' || (c == '{' && !dollar)) {
            break;
        }
        dollar = c == '$';
        p++;
    }
    return p;
}

/* Position of the closing quote of the string whose opening quote is at
 * lx->p, or NULL at end of input. */
static const u_char *
conf_quote_end(conf_lexer_t *lx)
{
    u_char q = *lx->p;
    for (const u_char *p = lx->p + 1; p < lx->end; p++) {
        if (*p == '\\' && p + 1 < lx->end) {
            p++;
        } else if (*p == q) {
            return p;
        }
        lx->line += *p == '\n';
    }
    return NULL;
}

/* Copy src into dst translating \" \' \\ \t \r \n; any other backslash pair
 * is kept as both bytes. Returns the bytes written (never more than n). */
static size_t
conf_unescape(u_char *dst, const u_char *src, size_t n)
{
    u_char *o = dst;
    for (size_t i = 0; i < n; i++) {
        if (src[i] != '\\' || i + 1 == n) {
            *o++ = src[i];
            continue;
        }
        u_char c = src[++i];
        switch (c) {
        case '"':
        case '\'':
        case '\\':
            *o++ = c;
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 'n':
            *o++ = '\n';
            break;
        default:
            *o++ = '\\';
            *o++ = c;
        }
    }
    return (size_t)(o - dst);
}

/* Make ps->word a NUL-terminated pool copy of the raw bytes, unescaped. */
static conf_tok_t
conf_word_set(conf_parser_t *ps, conf_lexer_t *lx, const u_char *raw, size_t n)
{
    if (n > CONF_TOKEN_MAX) {
        conf_fail(ps, lx->file, lx->line, "too long parameter \"%.10s...\" started",
                  (const char *)raw);
        return CONF_TOK_ERROR;
    }
    u_char *d = ptc_pnalloc(ps->pool, n + 1);
    if (d == NULL) {
        conf_fail(ps, lx->file, lx->line, "memory allocation failed");
        return CONF_TOK_ERROR;
    }
    ps->word.len = conf_unescape(d, raw, n);
    ps->word.data = d;
    d[ps->word.len] = '\0';
    return CONF_TOK_WORD;
}

/* A quoted string must be followed by whitespace, `;`, `{`, `}`, EOF, or a
 * `)`, which then starts the next word: `if ($a = "b")` ends its condition
 * with a quoted string, as nginx allows. */
static conf_tok_t
conf_lex_quoted(conf_parser_t *ps, conf_lexer_t *lx)
{
    const u_char *start = lx->p + 1;
    const u_char *q = conf_quote_end(lx);
    if (q == NULL) {
        conf_fail(ps, lx->file, lx->line, "unexpected end of file, expecting \";\" or \"}\"");
        return CONF_TOK_ERROR;
    }
    lx->p = q + 1;
    if (lx->p < lx->end && !conf_is_space(*lx->p) && *lx->p != ';' && *lx->p != '{' && *lx->p != '}'
        && *lx->p != ')') {
        conf_fail(ps, lx->file, lx->line, "unexpected \"%c\"", *lx->p);
        return CONF_TOK_ERROR;
    }
    ps->word_quoted = true;
    return conf_word_set(ps, lx, start, (size_t)(q - start));
}

static conf_tok_t
conf_next_token(conf_parser_t *ps, conf_lexer_t *lx)
{
    conf_skip_space(lx);
    ps->word_line = lx->line;
    if (lx->p == lx->end) {
        return CONF_TOK_EOF;
    }
    switch (*lx->p) {
    case ';':
        lx->p++;
        return CONF_TOK_SEMI;
    case '{':
        lx->p++;
        return CONF_TOK_OPEN;
    case '}':
        lx->p++;
        return CONF_TOK_CLOSE;
    case '"':
    case '\'':
        return conf_lex_quoted(ps, lx);
    }
    const u_char *start = lx->p;
    lx->p = conf_word_end(lx);
    ps->word_quoted = false;
    return conf_word_set(ps, lx, start, (size_t)(lx->p - start));
}

static conf_frame_t *
conf_top(conf_parser_t *ps)
{
    return ptc_array_at(&ps->frames, conf_frame_t, ps->frames.nelts - 1);
}

/* Turn the collected words into a node header and clear them. */
static int
conf_take_args(conf_parser_t *ps, const conf_lexer_t *lx, ptc_conf_node_t *node)
{
    size_t n = ps->args.nelts;
    ptc_str_t *args = ptc_palloc(ps->pool, n * sizeof(ptc_str_t));
    if (args == NULL) {
        conf_fail(ps, lx->file, lx->line, "memory allocation failed");
        return PTC_ERROR;
    }
    memcpy(args, ps->args.elts, n * sizeof(ptc_str_t));
    *node = (ptc_conf_node_t){
        .args = args, .nargs = n, .quoted = ps->quoted, .file = lx->file, .line = ps->line};
    ps->args.nelts = 0;
    ps->quoted = 0;
    return PTC_OK;
}

/* Append a finished node to the innermost open block. */
static int
conf_add_child(conf_parser_t *ps, const conf_lexer_t *lx, const ptc_conf_node_t *node)
{
    conf_frame_t *top = conf_top(ps);
    if (top->kids.elts == NULL
        && ptc_array_init(&top->kids, ps->pool, 4, sizeof(ptc_conf_node_t)) != PTC_OK) {
        conf_fail(ps, lx->file, lx->line, "memory allocation failed");
        return PTC_ERROR;
    }
    ptc_conf_node_t *slot = ptc_array_push(&top->kids);
    if (slot == NULL) {
        conf_fail(ps, lx->file, lx->line, "memory allocation failed");
        return PTC_ERROR;
    }
    *slot = *node;
    return PTC_OK;
}

static int
conf_open_block(conf_parser_t *ps, const conf_lexer_t *lx)
{
    conf_frame_t *f = ptc_array_push(&ps->frames);
    if (f == NULL) {
        conf_fail(ps, lx->file, lx->line, "memory allocation failed");
        return PTC_ERROR;
    }
    memset(f, 0, sizeof(*f));
    if (conf_take_args(ps, lx, &f->node) != PTC_OK) {
        return PTC_ERROR;
    }
    f->node.block = true;
    return PTC_OK;
}

/* The block's children keep the array's storage, no copy; elts is still NULL
 * for a block that got no child. */
static void
conf_frame_finish(conf_frame_t *f)
{
    f->node.children = f->kids.elts;
    f->node.nchildren = f->kids.nelts;
}

static int
conf_close_block(conf_parser_t *ps, const conf_lexer_t *lx)
{
    conf_frame_t *f = conf_top(ps);
    conf_frame_finish(f);
    ptc_conf_node_t node = f->node;
    ps->frames.nelts--;
    return conf_add_child(ps, lx, &node);
}

/* The include pattern made absolute against the prefix, NUL-terminated. */
static char *
conf_include_path(conf_parser_t *ps, const ptc_str_t *pattern)
{
    const char *pre = ps->prefix ? ps->prefix : "";
    size_t plen = pattern->data[0] == '/' ? 0 : strlen(pre);
    bool slash = plen > 0 && pre[plen - 1] != '/';
    char *path = ptc_pnalloc(ps->pool, plen + slash + pattern->len + 1);
    if (path == NULL) {
        return NULL;
    }
    memcpy(path, pre, plen);
    if (slash) {
        path[plen] = '/';
    }
    memcpy(path + plen + slash, pattern->data, pattern->len + 1);
    return path;
}

/* Parse every file matching a glob pattern, in sorted order. */
static int
conf_include_glob(conf_parser_t *ps, const char *pattern, const conf_lexer_t *lx, unsigned line)
{
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        return PTC_OK;
    }
    if (rc != 0) {
        conf_fail(ps, lx->file, line, "glob() \"%s\" failed", pattern);
        return PTC_ERROR;
    }
    rc = PTC_OK;
    for (size_t i = 0; i < g.gl_pathc && rc == PTC_OK; i++) {
        ptc_str_t s = {strlen(g.gl_pathv[i]), (u_char *)g.gl_pathv[i]};
        char *path = ptc_str_cstr(ps->pool, &s);
        if (path == NULL) {
            conf_fail(ps, lx->file, line, "memory allocation failed");
            rc = PTC_ERROR;
            break;
        }
        rc = conf_parse_file(ps, path, lx, line);
    }
    globfree(&g);
    return rc;
}

/* `include PATTERN;` with the directive's words still in ps->args. */
static int
conf_include(conf_parser_t *ps, const conf_lexer_t *lx)
{
    if (ps->args.nelts != 2) {
        conf_fail(ps, lx->file, ps->line, "invalid number of arguments in \"include\" directive");
        return PTC_ERROR;
    }
    if (ps->depth >= CONF_INCLUDE_DEPTH_MAX) {
        conf_fail(ps, lx->file, ps->line, "include depth limit exceeded");
        return PTC_ERROR;
    }
    unsigned line = ps->line;
    char *path = conf_include_path(ps, ptc_array_at(&ps->args, ptc_str_t, 1));
    if (path == NULL) {
        conf_fail(ps, lx->file, line, "memory allocation failed");
        return PTC_ERROR;
    }
    /* The included files start with no words of their own. */
    ps->args.nelts = 0;
    ps->quoted = 0;
    ps->depth++;
    int rc = strpbrk(path, "*?[") ? conf_include_glob(ps, path, lx, line)
                                  : conf_parse_file(ps, path, lx, line);
    ps->depth--;
    return rc;
}

static int
conf_end_directive(conf_parser_t *ps, const conf_lexer_t *lx)
{
    const ptc_str_t *name = ptc_array_at(&ps->args, ptc_str_t, 0);
    if (ptc_str_eq_c(name, "include")) {
        return conf_include(ps, lx);
    }
    ptc_conf_node_t node;
    if (conf_take_args(ps, lx, &node) != PTC_OK) {
        return PTC_ERROR;
    }
    return conf_add_child(ps, lx, &node);
}

static int
conf_add_word(conf_parser_t *ps, const conf_lexer_t *lx)
{
    ptc_str_t *a = ptc_array_push(&ps->args);
    if (a == NULL) {
        conf_fail(ps, lx->file, lx->line, "memory allocation failed");
        return PTC_ERROR;
    }
    if (ps->args.nelts == 1) {
        ps->line = ps->word_line;
    }
    if (ps->word_quoted && ps->args.nelts <= 64) {
        ps->quoted |= (uint64_t)1 << (ps->args.nelts - 1);
    }
    *a = ps->word;
    return PTC_OK;
}

/* Handle `{`, `}` or EOF; `base` is the number of frames open when this
 * file started, so a file can neither close nor leave open its includer's
 * blocks. Returns PTC_OK, PTC_ERROR, or PTC_DONE at a clean end of file. */
static int
conf_punct(conf_parser_t *ps, conf_lexer_t *lx, conf_tok_t t, size_t base)
{
    bool have = ps->args.nelts > 0;
    if (t == CONF_TOK_OPEN && !have) {
        conf_fail(ps, lx->file, lx->line, "unexpected \"{\"");
    } else if (t == CONF_TOK_OPEN) {
        if (!ptc_str_eq_c(ptc_array_at(&ps->args, ptc_str_t, 0), "include")) {
            return conf_open_block(ps, lx);
        }
        conf_fail(ps, lx->file, lx->line, "directive \"include\" is not terminated by \";\"");
    } else if (t == CONF_TOK_CLOSE) {
        if (!have && ps->frames.nelts > base) {
            return conf_close_block(ps, lx);
        }
        conf_fail(ps, lx->file, lx->line, "unexpected \"}\"");
    } else if (have) {
        conf_fail(ps, lx->file, lx->line, "unexpected end of file, expecting \";\" or \"}\"");
    } else if (ps->frames.nelts > base) {
        conf_fail(ps, lx->file, lx->line, "unexpected end of file, expecting \"}\"");
    } else {
        return PTC_DONE;
    }
    return PTC_ERROR;
}

static int
conf_parse_text(conf_parser_t *ps, conf_lexer_t *lx)
{
    size_t base = ps->frames.nelts;
    int rc;
    do {
        conf_tok_t t = conf_next_token(ps, lx);
        if (t == CONF_TOK_ERROR) {
            return PTC_ERROR;
        } else if (t == CONF_TOK_WORD) {
            rc = conf_add_word(ps, lx);
        } else if (t == CONF_TOK_SEMI && ps->args.nelts == 0) {
            conf_fail(ps, lx->file, lx->line, "unexpected \";\"");
            rc = PTC_ERROR;
        } else if (t == CONF_TOK_SEMI) {
            rc = conf_end_directive(ps, lx);
        } else {
            rc = conf_punct(ps, lx, t, base);
        }
    } while (rc == PTC_OK);
    return rc == PTC_DONE ? PTC_OK : PTC_ERROR;
}

/* Read a whole file into NUL-terminated pool memory. On failure returns NULL
 * with *call naming the failed syscall and errno set (0 for no memory). */
static u_char *
conf_read(ptc_pool_t *pool, const char *path, size_t *len, const char **call)
{
    struct stat st;
    u_char *buf = NULL;
    size_t got = 0;
    *call = "open";
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd == -1) {
        return NULL;
    }
    *call = "fstat";
    if (fstat(fd, &st) == -1) {
        goto failed;
    }
    *call = "read";
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR; /* what read() would say, without relying on st_size */
        goto failed;
    }
    buf = ptc_pnalloc(pool, (size_t)st.st_size + 1);
    if (buf == NULL) {
        errno = 0;
        goto failed;
    }
    for (ssize_t n = 1; got < (size_t)st.st_size && n != 0;) {
        n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n == -1 && errno != EINTR) {
            goto failed;
        }
        got += n > 0 ? (size_t)n : 0;
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return buf;
failed:;
    int saved = errno;
    close(fd);
    errno = saved;
    return NULL;
}

static int
conf_add_source(conf_parser_t *ps, const char *path, const u_char *text, size_t len)
{
    if (ps->sources == NULL) {
        return PTC_OK;
    }
    ptc_conf_source_t *s = ptc_array_push(ps->sources);
    if (s == NULL) {
        return PTC_ERROR;
    }
    *s = (ptc_conf_source_t){.path = path, .text = text, .len = len};
    return PTC_OK;
}

/* Parse a file into the open block; `from` and `from_line` locate the include
 * directive, `from` is NULL for the main file (whose errors carry no
 * in-clause). */
static int
conf_parse_file(conf_parser_t *ps, const char *path, const conf_lexer_t *from, unsigned from_line)
{
    const char *call;
    size_t len = 0;
    const u_char *text = conf_read(ps->pool, path, &len, &call);
    if (text == NULL || conf_add_source(ps, path, text, len) != PTC_OK) {
        int e = text ? 0 : errno;
        const char *where = from ? from->file : NULL;
        if (e == 0) {
            conf_fail(ps, where, from_line, "memory allocation failed");
        } else {
            conf_fail(ps, where, from_line, "%s() \"%s\" failed (%d: %s)", call, path, e,
                      strerror(e));
        }
        return PTC_ERROR;
    }
    conf_lexer_t lx = {.file = path, .p = text, .end = text + len, .line = 1};
    return conf_parse_text(ps, &lx);
}

/* Set up the parser with the root frame open. */
static int
conf_parser_init(conf_parser_t *ps, ptc_pool_t *pool, const char *name, const char *prefix,
                 ptc_array_t *sources)
{
    *ps = (conf_parser_t){.pool = pool, .prefix = prefix, .sources = sources};
    if (ptc_array_init(&ps->frames, pool, 8, sizeof(conf_frame_t)) != PTC_OK
        || ptc_array_init(&ps->args, pool, 8, sizeof(ptc_str_t)) != PTC_OK) {
        return PTC_ERROR;
    }
    conf_frame_t *root = ptc_array_push(&ps->frames);
    memset(root, 0, sizeof(*root));
    root->node.block = true;
    root->node.file = name;
    root->node.line = 1;
    return PTC_OK;
}

static ptc_conf_node_t *
conf_root(conf_parser_t *ps)
{
    conf_frame_t *root = ptc_array_at(&ps->frames, conf_frame_t, 0);
    conf_frame_finish(root);
    ptc_conf_node_t *node = ptc_palloc(ps->pool, sizeof(*node));
    if (node == NULL) {
        conf_fail(ps, NULL, 0, "memory allocation failed");
        return NULL;
    }
    *node = root->node;
    return node;
}

ptc_conf_node_t *
ptc_conf_file_parse(ptc_pool_t *pool, const char *path, const char *include_prefix,
                    ptc_array_t *sources, char *err, size_t errlen)
{
    conf_parser_t ps;
    ptc_str_t s = {strlen(path), (u_char *)path};
    char *name = ptc_str_cstr(pool, &s);
    if (name == NULL || conf_parser_init(&ps, pool, name, include_prefix, sources) != PTC_OK) {
        snprintf(err, errlen, "memory allocation failed");
        return NULL;
    }
    ps.err = err;
    ps.errlen = errlen;
    if (conf_parse_file(&ps, name, NULL, 0) != PTC_OK) {
        return NULL;
    }
    return conf_root(&ps);
}

ptc_conf_node_t *
ptc_conf_text_parse(ptc_pool_t *pool, const char *name, const char *text, size_t len,
                    const char *include_prefix, ptc_array_t *sources, char *err, size_t errlen)
{
    conf_parser_t ps;
    ptc_str_t s = {strlen(name), (u_char *)name};
    char *pname = ptc_str_cstr(pool, &s);
    if (pname == NULL || conf_parser_init(&ps, pool, pname, include_prefix, sources) != PTC_OK) {
        snprintf(err, errlen, "memory allocation failed");
        return NULL;
    }
    ps.err = err;
    ps.errlen = errlen;
    conf_lexer_t lx = {
        .file = pname, .p = (const u_char *)text, .end = (const u_char *)text + len, .line = 1};
    if (conf_parse_text(&ps, &lx) != PTC_OK) {
        return NULL;
    }
    return conf_root(&ps);
}
