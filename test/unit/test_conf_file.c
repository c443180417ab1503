/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of core/ptc_conf_file.c: grammar, escapes, line numbers, every error
 * message, and include expansion against files in a mkdtemp directory. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ptc_array.h"
#include "core/ptc_conf_file.h"
#include "core/ptc_pool.h"
#include "test/unit/unit.h"

void suite_conf_file(void);

static char conf_err[512];
static char conf_dir[64];

static ptc_conf_node_t *
conf_parse(ptc_pool_t *pool, const char *text)
{
    conf_err[0] = '\0';
    return ptc_conf_text_parse(pool, "t.conf", text, strlen(text), "/nonexistent", NULL, conf_err,
                               sizeof(conf_err));
}

/* Parse text that must fail; conf_err then holds the message. */
static bool
conf_fails(const char *text)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *root = conf_parse(pool, text);
    ptc_pool_destroy(pool);
    return root == NULL;
}

static int
conf_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void
conf_rmdir(void)
{
    if (conf_dir[0] != '\0') {
        nftw(conf_dir, conf_rm_one, 8, FTW_DEPTH | FTW_PHYS);
        conf_dir[0] = '\0';
    }
}

/* A fresh temp dir; one left by a test that failed early is removed first. */
static const char *
conf_tmpdir(void)
{
    conf_rmdir();
    strcpy(conf_dir, "/tmp/ptc_conf_XXXXXX");
    return mkdtemp(conf_dir);
}

/* Write `text` to conf_dir/name; returns the full path (static buffer). */
static const char *
conf_write(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", conf_dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return NULL;
    }
    fputs(text, f);
    fclose(f);
    return path;
}

static ptc_conf_node_t *
conf_parse_main(ptc_pool_t *pool, const char *name, ptc_array_t *sources)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", conf_dir, name);
    conf_err[0] = '\0';
    return ptc_conf_file_parse(pool, path, conf_dir, sources, conf_err, sizeof(conf_err));
}

TEST(conf_simple_directives)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "worker_processes 4;\n user  www\tdata ;\nx;");
    ASSERT_NOT_NULL(r);
    ASSERT_TRUE(r->args == NULL);
    ASSERT_INT_EQ(r->nargs, 0);
    ASSERT_TRUE(r->block);
    ASSERT_STR_EQ(r->file, "t.conf");
    ASSERT_INT_EQ(r->nchildren, 3);
    ptc_conf_node_t *n = &r->children[0];
    ASSERT_INT_EQ(n->nargs, 2);
    ASSERT_MEM_EQ(n->args[0].data, n->args[0].len, "worker_processes");
    ASSERT_MEM_EQ(n->args[1].data, n->args[1].len, "4");
    ASSERT_INT_EQ(n->args[1].data[1], '\0');
    ASSERT_TRUE(!n->block);
    ASSERT_TRUE(n->children == NULL);
    ASSERT_INT_EQ(n->nchildren, 0);
    ASSERT_INT_EQ(n->quoted, 0);
    ASSERT_STR_EQ(n->file, "t.conf");
    ASSERT_INT_EQ(n->line, 1);
    n = &r->children[1];
    ASSERT_INT_EQ(n->nargs, 3);
    ASSERT_STR_EQ((char *)n->args[2].data, "data");
    ASSERT_INT_EQ(n->line, 2);
    ASSERT_INT_EQ(r->children[2].nargs, 1);
    ASSERT_INT_EQ(r->children[2].line, 3);
    ptc_pool_destroy(pool);
}

TEST(conf_empty_text)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "  \n# only a comment\n");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 0);
    ASSERT_TRUE(r->children == NULL);
    ptc_pool_destroy(pool);
}

TEST(conf_blocks_nested)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "http {\n server {\n  listen 80;\n  location / {}\n }\n"
                                          " gzip on;\n}\nevents{}");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 2);
    ptc_conf_node_t *http = &r->children[0];
    ASSERT_TRUE(http->block);
    ASSERT_INT_EQ(http->nargs, 1);
    ASSERT_INT_EQ(http->nchildren, 2);
    ptc_conf_node_t *srv = &http->children[0];
    ASSERT_STR_EQ((char *)srv->args[0].data, "server");
    ASSERT_INT_EQ(srv->line, 2);
    ASSERT_INT_EQ(srv->nchildren, 2);
    ASSERT_STR_EQ((char *)srv->children[0].args[1].data, "80");
    ASSERT_INT_EQ(srv->children[0].line, 3);
    ptc_conf_node_t *loc = &srv->children[1];
    ASSERT_TRUE(loc->block);
    ASSERT_INT_EQ(loc->nargs, 2);
    ASSERT_STR_EQ((char *)loc->args[1].data, "/");
    ASSERT_TRUE(loc->children == NULL);
    ASSERT_INT_EQ(loc->nchildren, 0);
    ASSERT_STR_EQ((char *)http->children[1].args[0].data, "gzip");
    ASSERT_INT_EQ(http->children[1].line, 6);
    ASSERT_STR_EQ((char *)r->children[1].args[0].data, "events");
    ASSERT_TRUE(r->children[1].block);
    ASSERT_INT_EQ(r->children[1].line, 8);
    ptc_pool_destroy(pool);
}

TEST(conf_deep_nesting)
{
    /* 20000 open blocks: the parser must not recurse per block. */
    size_t depth = 20000;
    char *text = calloc(depth * 3 + 1, 1);
    ASSERT_NOT_NULL(text);
    for (size_t i = 0; i < depth; i++) {
        memcpy(text + 2 * i, "a{", 2);
    }
    memset(text + 2 * depth, '}', depth);
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, text);
    free(text);
    ASSERT_NOT_NULL(r);
    size_t n = 0;
    for (ptc_conf_node_t *c = r; c->nchildren == 1; c = &c->children[0]) {
        n++;
    }
    ASSERT_INT_EQ(n, depth);
    ptc_pool_destroy(pool);
}

TEST(conf_comments)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "# head ; {\na b; # tail }\nc \"#q\" d#e f# '#s';#x\n"
                                          "#last");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 2);
    ASSERT_INT_EQ(r->children[0].nargs, 2);
    ptc_conf_node_t *n = &r->children[1];
    ASSERT_INT_EQ(n->line, 3);
    ASSERT_INT_EQ(n->nargs, 5);
    ASSERT_STR_EQ((char *)n->args[1].data, "#q");
    ASSERT_STR_EQ((char *)n->args[2].data, "d#e");
    ASSERT_STR_EQ((char *)n->args[3].data, "f#");
    ASSERT_STR_EQ((char *)n->args[4].data, "#s");
    ptc_pool_destroy(pool);
}

TEST(conf_quoted_strings)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "a \"x y;{}#\" 'it\"s' \"\" '';b'c'd;");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 2);
    ptc_conf_node_t *n = &r->children[0];
    ASSERT_INT_EQ(n->nargs, 5);
    ASSERT_STR_EQ((char *)n->args[1].data, "x y;{}#");
    ASSERT_STR_EQ((char *)n->args[2].data, "it\"s");
    ASSERT_INT_EQ(n->args[3].len, 0);
    ASSERT_INT_EQ(n->args[3].data[0], '\0');
    ASSERT_INT_EQ(n->args[4].len, 0);
    /* A quote inside a word is an ordinary byte. */
    ASSERT_STR_EQ((char *)r->children[1].args[0].data, "b'c'd");
    ptc_pool_destroy(pool);
}

TEST(conf_escapes_quoted)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "e \"q\\\"t\" '\\'' \"\\\\\" \"\\t\\r\\n\" \"\\x\\$\" "
                                          "'a\\\"b' \"\\\\\\\"\";");
    ASSERT_NOT_NULL(r);
    ptc_conf_node_t *n = &r->children[0];
    ASSERT_INT_EQ(n->nargs, 8);
    ASSERT_STR_EQ((char *)n->args[1].data, "q\"t");
    ASSERT_STR_EQ((char *)n->args[2].data, "'");
    ASSERT_STR_EQ((char *)n->args[3].data, "\\");
    ASSERT_STR_EQ((char *)n->args[4].data, "\t\r\n");
    ASSERT_STR_EQ((char *)n->args[5].data, "\\x\\$");
    ASSERT_STR_EQ((char *)n->args[6].data, "a\"b");
    ASSERT_STR_EQ((char *)n->args[7].data, "\\\"");
    ptc_pool_destroy(pool);
}

TEST(conf_escapes_unquoted)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "w a\\\"b a\\tb a\\;b a\\ b a\\{b \\\\ \\#c;");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 1);
    ptc_conf_node_t *n = &r->children[0];
    ASSERT_INT_EQ(n->nargs, 8);
    ASSERT_STR_EQ((char *)n->args[1].data, "a\"b");
    ASSERT_STR_EQ((char *)n->args[2].data, "a\tb");
    ASSERT_STR_EQ((char *)n->args[3].data, "a\\;b");
    ASSERT_STR_EQ((char *)n->args[4].data, "a\\ b");
    ASSERT_STR_EQ((char *)n->args[5].data, "a\\{b");
    ASSERT_STR_EQ((char *)n->args[6].data, "\\");
    ASSERT_STR_EQ((char *)n->args[7].data, "\\#c");
    ptc_pool_destroy(pool);
}

TEST(conf_variables_and_braces_in_words)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "return 200 ${host}x;\nset $a ${b}${c}d}e;\n"
                                          "location /x{ }\nk \\${ }\nm $${;");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 5);
    ptc_conf_node_t *n = &r->children[0];
    ASSERT_INT_EQ(n->nargs, 3);
    ASSERT_STR_EQ((char *)n->args[2].data, "${host}x");
    ASSERT_TRUE(!n->block);
    ASSERT_STR_EQ((char *)r->children[1].args[2].data, "${b}${c}d}e");
    /* `{` not preceded by `$` ends the word and opens a block. */
    n = &r->children[2];
    ASSERT_TRUE(n->block);
    ASSERT_STR_EQ((char *)n->args[1].data, "/x");
    /* An escaped `$` does not start a variable. */
    n = &r->children[3];
    ASSERT_TRUE(n->block);
    ASSERT_INT_EQ(n->nargs, 2);
    ASSERT_STR_EQ((char *)n->args[1].data, "\\$");
    /* `$${`: the second `$` makes the `{` part of the word. */
    n = &r->children[4];
    ASSERT_TRUE(!n->block);
    ASSERT_INT_EQ(n->nargs, 2);
    ASSERT_STR_EQ((char *)n->args[1].data, "$${");
    ptc_pool_destroy(pool);
}

TEST(conf_quoted_flags)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "a \"b\" c 'd';\n'e' {}");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->children[0].quoted, (1u << 1) | (1u << 3));
    ASSERT_INT_EQ(r->children[1].quoted, 1);
    ptc_pool_destroy(pool);
    /* Bits stop at 64 arguments; bit 63 is the last one recorded. */
    char text[1024] = "x";
    for (int i = 1; i < 70; i++) {
        strcat(text, i == 63 || i == 65 ? " \"q\"" : " w");
    }
    strcat(text, ";");
    pool = ptc_pool_create(4096);
    r = conf_parse(pool, text);
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->children[0].nargs, 70);
    ASSERT_TRUE(r->children[0].quoted == (uint64_t)1 << 63);
    ASSERT_STR_EQ((char *)r->children[0].args[65].data, "q");
    ptc_pool_destroy(pool);
}

TEST(conf_line_numbers)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "\n\na\n  b\r\n  c;\nd {\n\n e \"1\n2\"\n f;\n"
                                          "g '\n' \\\n;}\nh;");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 3);
    ASSERT_INT_EQ(r->children[0].line, 3);
    ASSERT_INT_EQ(r->children[0].nargs, 3);
    ptc_conf_node_t *d = &r->children[1];
    ASSERT_INT_EQ(d->line, 6);
    ASSERT_INT_EQ(d->nchildren, 2);
    ASSERT_INT_EQ(d->children[0].line, 8);
    ASSERT_STR_EQ((char *)d->children[0].args[1].data, "1\n2");
    ASSERT_STR_EQ((char *)d->children[0].args[2].data, "f");
    ASSERT_INT_EQ(d->children[1].line, 11);
    ASSERT_STR_EQ((char *)d->children[1].args[2].data, "\\\n");
    ASSERT_INT_EQ(r->children[2].line, 14);
    /* A node's line is where its name starts, even if the name spans lines. */
    r = conf_parse(pool, "x;\n\"multi\nline\"\n arg;\nna\\\nme;");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->children[1].line, 2);
    ASSERT_STR_EQ((char *)r->children[1].args[0].data, "multi\nline");
    ASSERT_INT_EQ(r->children[2].line, 5);
    ASSERT_STR_EQ((char *)r->children[2].args[0].data, "na\\\nme");
    ptc_pool_destroy(pool);
}

TEST(conf_error_eof)
{
    ASSERT_TRUE(conf_fails("a b"));
    ASSERT_STR_EQ(conf_err, "unexpected end of file, expecting \";\" or \"}\" in t.conf:1");
    ASSERT_TRUE(conf_fails("x;\na\n b\n"));
    ASSERT_STR_EQ(conf_err, "unexpected end of file, expecting \";\" or \"}\" in t.conf:4");
    ASSERT_TRUE(conf_fails("http {\n a;\n"));
    ASSERT_STR_EQ(conf_err, "unexpected end of file, expecting \"}\" in t.conf:3");
    ASSERT_TRUE(conf_fails("a {\n b { c; }"));
    ASSERT_STR_EQ(conf_err, "unexpected end of file, expecting \"}\" in t.conf:2");
    ASSERT_TRUE(conf_fails("a { b"));
    ASSERT_STR_EQ(conf_err, "unexpected end of file, expecting \";\" or \"}\" in t.conf:1");
    ASSERT_TRUE(conf_fails("a \"b\nc;\n"));
    ASSERT_STR_EQ(conf_err, "unexpected end of file, expecting \";\" or \"}\" in t.conf:3");
    ASSERT_TRUE(conf_fails("a 'b\\'"));
    ASSERT_STR_EQ(conf_err, "unexpected end of file, expecting \";\" or \"}\" in t.conf:1");
    ASSERT_TRUE(conf_fails("a \"b\""));
    ASSERT_STR_EQ(conf_err, "unexpected end of file, expecting \";\" or \"}\" in t.conf:1");
}

TEST(conf_error_punctuation)
{
    ASSERT_TRUE(conf_fails("a;\n}\n"));
    ASSERT_STR_EQ(conf_err, "unexpected \"}\" in t.conf:2");
    ASSERT_TRUE(conf_fails("a {\n b c\n}\n"));
    ASSERT_STR_EQ(conf_err, "unexpected \"}\" in t.conf:3");
    ASSERT_TRUE(conf_fails("a { b \"c\"}"));
    ASSERT_STR_EQ(conf_err, "unexpected \"}\" in t.conf:1");
    ASSERT_TRUE(conf_fails("a {}\n}"));
    ASSERT_STR_EQ(conf_err, "unexpected \"}\" in t.conf:2");
    ASSERT_TRUE(conf_fails("\n;"));
    ASSERT_STR_EQ(conf_err, "unexpected \";\" in t.conf:2");
    ASSERT_TRUE(conf_fails("a { ; }"));
    ASSERT_STR_EQ(conf_err, "unexpected \";\" in t.conf:1");
    ASSERT_TRUE(conf_fails("a;;"));
    ASSERT_STR_EQ(conf_err, "unexpected \";\" in t.conf:1");
    ASSERT_TRUE(conf_fails("{"));
    ASSERT_STR_EQ(conf_err, "unexpected \"{\" in t.conf:1");
    ASSERT_TRUE(conf_fails("a {\n\n{ }}"));
    ASSERT_STR_EQ(conf_err, "unexpected \"{\" in t.conf:3");
}

TEST(conf_error_after_quote)
{
    ASSERT_TRUE(conf_fails("a \"b\"c;"));
    ASSERT_STR_EQ(conf_err, "unexpected \"c\" in t.conf:1");
    ASSERT_TRUE(conf_fails("a\n'b\n'#;"));
    ASSERT_STR_EQ(conf_err, "unexpected \"#\" in t.conf:3");
    ASSERT_TRUE(conf_fails("a \"b\"'c';"));
    ASSERT_STR_EQ(conf_err, "unexpected \"'\" in t.conf:1");
}

/* `if ($a = "b")`: a `)` may follow a quoted string and starts a new word. */
TEST(conf_paren_after_quote)
{
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse(pool, "if ($a = \"b c\") { x; } if ( 'd'){} e \"f\"):g;");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 3);
    ptc_conf_node_t *n = &r->children[0];
    ASSERT_INT_EQ(n->nargs, 5);
    ASSERT_STR_EQ((char *)n->args[3].data, "b c");
    ASSERT_STR_EQ((char *)n->args[4].data, ")");
    ASSERT_INT_EQ(n->quoted, 1u << 3);
    ASSERT_TRUE(n->block);
    n = &r->children[1];
    ASSERT_INT_EQ(n->nargs, 4);
    ASSERT_STR_EQ((char *)n->args[2].data, "d");
    ASSERT_STR_EQ((char *)n->args[3].data, ")");
    ASSERT_TRUE(n->block);
    n = &r->children[2];
    ASSERT_INT_EQ(n->nargs, 3);
    ASSERT_STR_EQ((char *)n->args[2].data, "):g");
    ptc_pool_destroy(pool);
}

/* Build `head` + n copies of `fill` + `tail` in malloc'd memory. */
static char *
conf_big(const char *head, char fill, size_t n, const char *tail)
{
    size_t h = strlen(head);
    char *t = malloc(h + n + strlen(tail) + 1);
    if (t != NULL) {
        memcpy(t, head, h);
        memset(t + h, fill, n);
        strcpy(t + h + n, tail);
    }
    return t;
}

TEST(conf_error_too_long)
{
    size_t max = 64 * 1024;
    char *text = conf_big("", 'x', max + 1, " a;");
    ASSERT_NOT_NULL(text);
    bool failed = conf_fails(text);
    free(text);
    ASSERT_TRUE(failed);
    ASSERT_STR_EQ(conf_err, "too long parameter \"xxxxxxxxxx...\" started in t.conf:1");
    text = conf_big("a \"", 'x', max, "\";");
    ASSERT_NOT_NULL(text);
    bool ok = !conf_fails(text); /* exactly 64 KiB is allowed */
    free(text);
    ASSERT_TRUE(ok);
    text = conf_big("k\n'0123456789", 'y', max, "\n';");
    ASSERT_NOT_NULL(text);
    failed = conf_fails(text);
    free(text);
    ASSERT_TRUE(failed);
    ASSERT_STR_EQ(conf_err, "too long parameter \"0123456789...\" started in t.conf:3");
    ASSERT_TRUE(conf_fails("a\n\"b\\\nccccccccccccccccccccc\n"));
    ASSERT_STR_EQ(conf_err, "unexpected end of file, expecting \";\" or \"}\" in t.conf:4");
}

TEST(conf_error_include_syntax)
{
    ASSERT_TRUE(conf_fails("a;\ninclude;"));
    ASSERT_STR_EQ(conf_err, "invalid number of arguments in \"include\" directive in t.conf:2");
    ASSERT_TRUE(conf_fails("include a\n b;"));
    ASSERT_STR_EQ(conf_err, "invalid number of arguments in \"include\" directive in t.conf:1");
    ASSERT_TRUE(conf_fails("include a {}"));
    ASSERT_STR_EQ(conf_err, "directive \"include\" is not terminated by \";\" in t.conf:1");
}

TEST(conf_main_file_errors)
{
    ASSERT_NOT_NULL(conf_tmpdir());
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_TRUE(conf_parse_main(pool, "nope.conf", NULL) == NULL);
    char want[512];
    snprintf(want, sizeof(want), "open() \"%s/nope.conf\" failed (2: No such file or directory)",
             conf_dir);
    ASSERT_STR_EQ(conf_err, want);
    ASSERT_TRUE(ptc_conf_file_parse(pool, conf_dir, NULL, NULL, conf_err, sizeof(conf_err))
                == NULL);
    snprintf(want, sizeof(want), "read() \"%s\" failed (21: Is a directory)", conf_dir);
    ASSERT_STR_EQ(conf_err, want);
    ASSERT_NOT_NULL(conf_write("bad.conf", "a {\n"));
    ASSERT_TRUE(conf_parse_main(pool, "bad.conf", NULL) == NULL);
    snprintf(want, sizeof(want), "unexpected end of file, expecting \"}\" in %s/bad.conf:2",
             conf_dir);
    ASSERT_STR_EQ(conf_err, want);
    ptc_pool_destroy(pool);
    conf_rmdir();
}

TEST(conf_include_single)
{
    ASSERT_NOT_NULL(conf_tmpdir());
    ASSERT_NOT_NULL(conf_write("inc.conf", "\nb 1;\nc {\n d;\n}\n"));
    ASSERT_NOT_NULL(conf_write("main.conf", "a;\ninclude inc.conf;\ne;\n"));
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse_main(pool, "main.conf", NULL);
    ASSERT_NOT_NULL(r);
    char main_path[256], inc_path[256];
    snprintf(main_path, sizeof(main_path), "%s/main.conf", conf_dir);
    snprintf(inc_path, sizeof(inc_path), "%s/inc.conf", conf_dir);
    ASSERT_STR_EQ(r->file, main_path);
    ASSERT_INT_EQ(r->nchildren, 4);
    ASSERT_STR_EQ((char *)r->children[0].args[0].data, "a");
    ASSERT_STR_EQ((char *)r->children[1].args[0].data, "b");
    ASSERT_STR_EQ(r->children[1].file, inc_path);
    ASSERT_INT_EQ(r->children[1].line, 2);
    ASSERT_TRUE(r->children[2].block);
    ASSERT_INT_EQ(r->children[2].line, 3);
    ASSERT_INT_EQ(r->children[2].children[0].line, 4);
    ASSERT_STR_EQ(r->children[2].children[0].file, inc_path);
    ASSERT_STR_EQ((char *)r->children[3].args[0].data, "e");
    ASSERT_STR_EQ(r->children[3].file, main_path);
    ASSERT_INT_EQ(r->children[3].line, 3);
    ptc_pool_destroy(pool);
    conf_rmdir();
}

TEST(conf_include_prefix_forms)
{
    ASSERT_NOT_NULL(conf_tmpdir());
    ASSERT_NOT_NULL(conf_write("x.conf", "x;"));
    char text[256];
    snprintf(text, sizeof(text), "include x.conf; include %s/x.conf;", conf_dir);
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "%s/", conf_dir);
    ptc_pool_t *pool = ptc_pool_create(4096);
    /* Prefix with a trailing slash; the absolute path ignores it. */
    ptc_conf_node_t *r = ptc_conf_text_parse(pool, "cmd", text, strlen(text), prefix, NULL,
                                             conf_err, sizeof(conf_err));
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 2);
    char want[256];
    snprintf(want, sizeof(want), "%s/x.conf", conf_dir);
    ASSERT_STR_EQ(r->children[0].file, want);
    ASSERT_STR_EQ(r->children[1].file, want);
    r = ptc_conf_text_parse(pool, "cmd", text, strlen(text), "/nonexistent-ptc", NULL, conf_err,
                            sizeof(conf_err));
    ASSERT_TRUE(r == NULL);
    ASSERT_STR_EQ(conf_err, "open() \"/nonexistent-ptc/x.conf\" failed "
                            "(2: No such file or directory) in cmd:1");
    ptc_pool_destroy(pool);
    conf_rmdir();
}

TEST(conf_include_glob_sorted)
{
    ASSERT_NOT_NULL(conf_tmpdir());
    /* Created out of order so directory order is unlikely to be sorted. */
    static const char *names[] = {"e.inc", "b.inc", "f.inc", "a.inc", "d.inc", "c.inc"};
    for (size_t i = 0; i < 6; i++) {
        char text[16];
        snprintf(text, sizeof(text), "%s;", names[i]);
        ASSERT_NOT_NULL(conf_write(names[i], text));
    }
    ASSERT_NOT_NULL(conf_write("c.other", "never;"));
    ASSERT_NOT_NULL(conf_write("main.conf", "include *.inc;\ninclude nothing/*.conf;\nlast;"));
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse_main(pool, "main.conf", NULL);
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 7);
    ASSERT_STR_EQ((char *)r->children[0].args[0].data, "a.inc");
    ASSERT_STR_EQ((char *)r->children[1].args[0].data, "b.inc");
    ASSERT_STR_EQ((char *)r->children[2].args[0].data, "c.inc");
    ASSERT_STR_EQ((char *)r->children[3].args[0].data, "d.inc");
    ASSERT_STR_EQ((char *)r->children[4].args[0].data, "e.inc");
    ASSERT_STR_EQ((char *)r->children[5].args[0].data, "f.inc");
    ASSERT_STR_EQ((char *)r->children[6].args[0].data, "last");
    char want[256];
    snprintf(want, sizeof(want), "%s/b.inc", conf_dir);
    ASSERT_STR_EQ(r->children[1].file, want);
    ptc_pool_destroy(pool);
    conf_rmdir();
}

TEST(conf_include_glob_no_match)
{
    ASSERT_NOT_NULL(conf_tmpdir());
    ASSERT_NOT_NULL(conf_write("main.conf", "a { include none-?.conf; }"));
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse_main(pool, "main.conf", NULL);
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 1);
    ASSERT_TRUE(r->children[0].block);
    ASSERT_INT_EQ(r->children[0].nchildren, 0);
    ASSERT_TRUE(r->children[0].children == NULL);
    ptc_pool_destroy(pool);
    conf_rmdir();
}

TEST(conf_include_missing)
{
    ASSERT_NOT_NULL(conf_tmpdir());
    ASSERT_NOT_NULL(conf_write("main.conf", "a;\nb {\n include\n  missing.conf;\n}\n"));
    ptc_pool_t *pool = ptc_pool_create(4096);
    ASSERT_TRUE(conf_parse_main(pool, "main.conf", NULL) == NULL);
    char want[512];
    snprintf(want, sizeof(want),
             "open() \"%s/missing.conf\" failed (2: No such file or directory) in "
             "%s/main.conf:3",
             conf_dir, conf_dir);
    ASSERT_STR_EQ(conf_err, want);
    ptc_pool_destroy(pool);
    conf_rmdir();
}

TEST(conf_include_in_block_nested)
{
    ASSERT_NOT_NULL(conf_tmpdir());
    ASSERT_NOT_NULL(conf_write("leaf.conf", "leaf on;\n"));
    ASSERT_NOT_NULL(conf_write("srv.conf", "server {\n  include leaf.conf;\n  listen 80;\n}\n"));
    ASSERT_NOT_NULL(conf_write("main.conf", "http {\n  include srv.conf;\n  gzip off;\n}\n"));
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_conf_node_t *r = conf_parse_main(pool, "main.conf", NULL);
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nchildren, 1);
    ptc_conf_node_t *http = &r->children[0];
    ASSERT_INT_EQ(http->nchildren, 2);
    ptc_conf_node_t *srv = &http->children[0];
    ASSERT_STR_EQ((char *)srv->args[0].data, "server");
    ASSERT_INT_EQ(srv->line, 1);
    ASSERT_INT_EQ(srv->nchildren, 2);
    ASSERT_STR_EQ((char *)srv->children[0].args[0].data, "leaf");
    ASSERT_INT_EQ(srv->children[0].line, 1);
    ASSERT_STR_EQ((char *)srv->children[1].args[0].data, "listen");
    ASSERT_INT_EQ(srv->children[1].line, 3);
    ASSERT_STR_EQ((char *)http->children[1].args[0].data, "gzip");
    ASSERT_INT_EQ(http->children[1].line, 3);
    ptc_pool_destroy(pool);
    conf_rmdir();
}

TEST(conf_include_cannot_touch_outer_block)
{
    ASSERT_NOT_NULL(conf_tmpdir());
    ASSERT_NOT_NULL(conf_write("close.conf", "a;\n}\n"));
    ASSERT_NOT_NULL(conf_write("open.conf", "a {\n"));
    ASSERT_NOT_NULL(conf_write("half.conf", "a b"));
    ASSERT_NOT_NULL(conf_write("m1.conf", "x {\ninclude close.conf;\n"));
    ASSERT_NOT_NULL(conf_write("m2.conf", "include open.conf;\n}\n"));
    ASSERT_NOT_NULL(conf_write("m3.conf", "include half.conf;\n;\n"));
    ptc_pool_t *pool = ptc_pool_create(4096);
    char want[512];
    ASSERT_TRUE(conf_parse_main(pool, "m1.conf", NULL) == NULL);
    snprintf(want, sizeof(want), "unexpected \"}\" in %s/close.conf:2", conf_dir);
    ASSERT_STR_EQ(conf_err, want);
    ASSERT_TRUE(conf_parse_main(pool, "m2.conf", NULL) == NULL);
    snprintf(want, sizeof(want), "unexpected end of file, expecting \"}\" in %s/open.conf:2",
             conf_dir);
    ASSERT_STR_EQ(conf_err, want);
    ASSERT_TRUE(conf_parse_main(pool, "m3.conf", NULL) == NULL);
    snprintf(want, sizeof(want),
             "unexpected end of file, expecting \";\" or \"}\" in %s/half.conf:1", conf_dir);
    ASSERT_STR_EQ(conf_err, want);
    ptc_pool_destroy(pool);
    conf_rmdir();
}

TEST(conf_include_loop)
{
    ASSERT_NOT_NULL(conf_tmpdir());
    ASSERT_NOT_NULL(conf_write("loop.conf", "a;\ninclude loop.conf;\n"));
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_array_t *sources = ptc_array_create(pool, 4, sizeof(ptc_conf_source_t));
    ASSERT_NOT_NULL(sources);
    ASSERT_TRUE(conf_parse_main(pool, "loop.conf", sources) == NULL);
    char want[512];
    snprintf(want, sizeof(want), "include depth limit exceeded in %s/loop.conf:2", conf_dir);
    ASSERT_STR_EQ(conf_err, want);
    /* The main file plus 32 nested includes were read before the limit. */
    ASSERT_INT_EQ(sources->nelts, 33);
    ptc_pool_destroy(pool);
    conf_rmdir();
}

TEST(conf_sources)
{
    ASSERT_NOT_NULL(conf_tmpdir());
    ASSERT_NOT_NULL(conf_write("one.inc", "one;\n"));
    ASSERT_NOT_NULL(conf_write("two.inc", ""));
    ASSERT_NOT_NULL(conf_write("main.conf", "b { include one.inc; }\ninclude two.inc;\n"));
    ptc_pool_t *pool = ptc_pool_create(4096);
    ptc_array_t *sources = ptc_array_create(pool, 1, sizeof(ptc_conf_source_t));
    ASSERT_NOT_NULL(sources);
    ptc_conf_node_t *r = conf_parse_main(pool, "main.conf", sources);
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(sources->nelts, 3);
    ptc_conf_source_t *s = sources->elts;
    char want[256];
    snprintf(want, sizeof(want), "%s/main.conf", conf_dir);
    ASSERT_STR_EQ(s[0].path, want);
    ASSERT_MEM_EQ(s[0].text, s[0].len, "b { include one.inc; }\ninclude two.inc;\n");
    snprintf(want, sizeof(want), "%s/one.inc", conf_dir);
    ASSERT_STR_EQ(s[1].path, want);
    ASSERT_MEM_EQ(s[1].text, s[1].len, "one;\n");
    snprintf(want, sizeof(want), "%s/two.inc", conf_dir);
    ASSERT_STR_EQ(s[2].path, want);
    ASSERT_INT_EQ(s[2].len, 0);
    ASSERT_NOT_NULL(s[2].text);
    /* The node's file is the same pool string as the source path. */
    ASSERT_TRUE(r->children[0].children[0].file == s[1].path);
    ptc_pool_destroy(pool);
    conf_rmdir();
}

void
suite_conf_file(void)
{
    RUN(conf_simple_directives);
    RUN(conf_empty_text);
    RUN(conf_blocks_nested);
    RUN(conf_deep_nesting);
    RUN(conf_comments);
    RUN(conf_quoted_strings);
    RUN(conf_escapes_quoted);
    RUN(conf_escapes_unquoted);
    RUN(conf_variables_and_braces_in_words);
    RUN(conf_quoted_flags);
    RUN(conf_line_numbers);
    RUN(conf_error_eof);
    RUN(conf_error_punctuation);
    RUN(conf_error_after_quote);
    RUN(conf_paren_after_quote);
    RUN(conf_error_too_long);
    RUN(conf_error_include_syntax);
    RUN(conf_main_file_errors);
    RUN(conf_include_single);
    RUN(conf_include_prefix_forms);
    RUN(conf_include_glob_sorted);
    RUN(conf_include_glob_no_match);
    RUN(conf_include_missing);
    RUN(conf_include_in_block_nested);
    RUN(conf_include_cannot_touch_outer_block);
    RUN(conf_include_loop);
    RUN(conf_sources);
    conf_rmdir();
}
