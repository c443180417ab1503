/* SPDX-License-Identifier: BSD-2-Clause */
/* The access log: log_format and access_log, and the log-phase handler that
 * renders one line per request and appends it to every access_log of the
 * request's location, with one write() or through the file's buffer.
 * Buffers belong to the cycle's open files (shared by every access_log
 * naming the file); the cycle flushes them on reopen and at worker exit. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/ptc_cycle.h"
#include "core/ptc_event.h"
#include "core/ptc_log.h"
#include "core/ptc_pool.h"
#include "core/ptc_time.h"
#include "modules/http/http.h"
#include "modules/http/http_log_format.h"

/* Lines up to this size are rendered on the stack, longer ones in r->pool. */
#define LOG_STACK_LINE 4096
/* Formats with up to this many parts keep their values on the stack. */
#define LOG_STACK_VALUES 64

/* Time-based flushing of one buffered file; its bytes live in the open
 * file's buf_start..buf_end. */
typedef struct log_flush_s log_flush_t;
struct log_flush_s {
    ptc_open_file_t *file;
    ptc_event_t ev;        /* flush= timer, cancelable */
    ptc_msec_t first_msec; /* ptc_current_msec when the oldest buffered line came */
    log_flush_t *next;
};

typedef struct {
    ptc_array_t formats;  /* ptc_http_log_format_t *; "combined" is the first */
    log_flush_t *flushes; /* one per buffered file */
} log_main_conf_t;

typedef struct {
    ptc_open_file_t *file;          /* static path, opened by the cycle */
    ptc_http_complex_value_t *path; /* path with variables (file is NULL) */
    ptc_str_t prefix;               /* prepended to a relative variable path */
    ptc_http_log_format_t *format;
    ptc_http_complex_value_t *filter; /* if=; NULL: always log */
} log_entry_t;

typedef struct {
    ptc_array_t *logs; /* log_entry_t; NULL: no access_log at this level */
    bool off;          /* "access_log off" at this level (wins over the list) */
} log_loc_conf_t;

static int log_preconfig(ptc_conf_t *cf);
static int log_postconfig(ptc_conf_t *cf);
static void *log_create_main(ptc_conf_t *cf);
static void *log_create_loc(ptc_conf_t *cf);
static const char *log_merge_loc(ptc_conf_t *cf, void *prev, void *conf);
static const char *log_set_format(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *log_set_access_log(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static const char *log_set_file_cache(ptc_conf_t *cf, const ptc_directive_t *d, void *conf);
static int log_handler(ptc_http_request_t *r);

#define LOG_HSL (PTC_CTX_HTTP | PTC_CTX_SERVER | PTC_CTX_LOCATION)

static const ptc_directive_t log_directives[] = {
    {"log_format", PTC_CTX_HTTP, PTC_ARGS_2MORE, log_set_format, PTC_CONF_MAIN, 0, NULL},
    {"access_log", LOG_HSL, PTC_ARGS_1MORE, log_set_access_log, PTC_CONF_LOC, 0, NULL},
    {"open_log_file_cache", LOG_HSL, PTC_ARGS_1 | PTC_ARGS_2 | PTC_ARGS_3 | PTC_ARGS_4,
     log_set_file_cache, PTC_CONF_LOC, 0, NULL},
    PTC_DIRECTIVE_END,
};

ptc_module_t ptc_http_log_module = {
    .name = "http_log",
    .type = PTC_MODULE_HTTP,
    .directives = log_directives,
    .preconfig = log_preconfig,
    .postconfig = log_postconfig,
    .create_main = log_create_main,
    .create_loc = log_create_loc,
    .merge_loc = log_merge_loc,
};

static const char log_combined[] = "$remote_addr - $remote_user [$time_local] \"$request\" "
                                   "$status $body_bytes_sent \"$http_referer\" "
                                   "\"$http_user_agent\"";

/* ---- configuration ---- */

static void *
log_create_main(ptc_conf_t *cf)
{
    log_main_conf_t *lmcf = ptc_pcalloc(cf->pool, sizeof(*lmcf));
    if (lmcf == NULL
        || ptc_array_init(&lmcf->formats, cf->pool, 4, sizeof(ptc_http_log_format_t *)) != PTC_OK) {
        return NULL;
    }
    return lmcf;
}

static void *
log_create_loc(ptc_conf_t *cf)
{
    /* zeroed: logs NULL and off false mean "not set here" */
    return ptc_pcalloc(cf->pool, sizeof(log_loc_conf_t));
}

static ptc_http_log_format_t *
log_format_find(log_main_conf_t *lmcf, const ptc_str_t *name)
{
    ptc_http_log_format_t **fmts = lmcf->formats.elts;
    for (size_t i = 0; i < lmcf->formats.nelts; i++) {
        if (ptc_str_eq(&fmts[i]->name, name)) {
            return fmts[i];
        }
    }
    return NULL;
}

/* Look up the index of every variable the format references. */
static const char *
log_format_resolve(ptc_conf_t *cf, ptc_http_log_format_t *fmt)
{
    ptc_http_log_part_t *parts = fmt->parts.elts;
    for (size_t i = 0; i < fmt->parts.nelts; i++) {
        if (parts[i].is_var) {
            parts[i].index = ptc_http_variable_index(cf, &parts[i].text);
            if (parts[i].index == -1) {
                return PTC_CONF_ERROR;
            }
        }
    }
    return NULL;
}

/* Compile args[first..] of the current directive (or `text` when non-NULL)
 * into a new format and register it. */
static const char *
log_format_create(ptc_conf_t *cf, log_main_conf_t *lmcf, const ptc_str_t *name, int escape,
                  size_t first, const ptc_str_t *text)
{
    ptc_http_log_format_t *fmt = ptc_palloc(cf->pool, sizeof(*fmt));
    ptc_http_log_format_t **slot = ptc_array_push(&lmcf->formats);
    ptc_str_t copy;
    if (fmt == NULL || slot == NULL || ptc_str_dup(cf->pool, &copy, name->data, name->len) != PTC_OK
        || ptc_http_log_format_init(fmt, cf->pool, &copy, escape) != PTC_OK) {
        return "out of memory";
    }
    *slot = fmt;
    size_t n = text ? first + 1 : ptc_conf_nargs(cf);
    for (size_t i = first; i < n; i++) {
        const char *err = ptc_http_log_format_add(fmt, cf->pool, text ? text : ptc_conf_arg(cf, i));
        if (err) {
            return ptc_conf_error(cf, "%s", err);
        }
    }
    return log_format_resolve(cf, fmt);
}

static int
log_preconfig(ptc_conf_t *cf)
{
    log_main_conf_t *lmcf = ptc_http_conf_get_main(cf, ptc_http_log_module);
    const ptc_str_t name = ptc_string("combined");
    const ptc_str_t text = {sizeof(log_combined) - 1, (u_char *)log_combined};
    const char *rv = log_format_create(cf, lmcf, &name, PTC_HTTP_LOG_ESCAPE_DEFAULT, 0, &text);
    return rv ? PTC_ERROR : PTC_OK;
}

static const char *
log_set_format(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    log_main_conf_t *lmcf = conf;
    const ptc_str_t *name = ptc_conf_arg(cf, 1);
    if (log_format_find(lmcf, name)) {
        return ptc_conf_error(cf, "duplicate \"log_format\" name \"" PTC_STR_FMT "\"",
                              PTC_STR_ARG(*name));
    }
    const ptc_str_t *a = ptc_conf_arg(cf, 2);
    int escape = PTC_HTTP_LOG_ESCAPE_DEFAULT;
    size_t first = 2;
    if (a->len >= 7 && memcmp(a->data, "escape=", 7) == 0) {
        ptc_str_t v = {a->len - 7, a->data + 7};
        escape = ptc_http_log_escape_parse(&v);
        if (escape == -1) {
            return ptc_conf_error(cf, "unknown log format escaping \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(v));
        }
        first = 3;
    }
    return log_format_create(cf, lmcf, name, escape, first, NULL);
}

static log_flush_t *
log_flush_find(const log_main_conf_t *lmcf, const ptc_open_file_t *file)
{
    for (log_flush_t *fl = lmcf->flushes; fl; fl = fl->next) {
        if (fl->file == file) {
            return fl;
        }
    }
    return NULL;
}

static void log_flush_timer(ptc_event_t *ev);
static void log_flush_cleanup(void *data);

/* Give the file a buffer of `size` bytes flushed after `flush_ms` (0: only
 * when full), or check that the buffer it has matches. */
static const char *
log_buffer_attach(ptc_conf_t *cf, log_main_conf_t *lmcf, log_entry_t *e, size_t size,
                  ptc_msec_t flush_ms)
{
    ptc_open_file_t *f = e->file;
    if (f->buf_start) {
        if ((size_t)(f->buf_end - f->buf_start) != size || f->flush_ms != flush_ms) {
            return ptc_conf_error(cf,
                                  "access_log \"%s\" already defined with conflicting "
                                  "parameters",
                                  f->path);
        }
        return NULL;
    }
    log_flush_t *fl = ptc_pcalloc(cf->pool, sizeof(*fl));
    u_char *buf = ptc_pnalloc(cf->pool, size);
    /* a cycle destroyed in this process must not leave its timer behind */
    ptc_pool_cleanup_t *cln = ptc_pool_cleanup_add(cf->pool, 0);
    if (fl == NULL || buf == NULL || cln == NULL) {
        return "out of memory";
    }
    cln->handler = log_flush_cleanup;
    cln->data = fl;
    fl->file = f;
    fl->ev.data = fl;
    fl->ev.handler = log_flush_timer;
    fl->ev.log = cf->cycle->log;
    fl->ev.timer_index = -1;
    fl->ev.cancelable = 1; /* a pending flush does not delay a graceful stop */
    fl->next = lmcf->flushes;
    lmcf->flushes = fl;
    f->buf_start = buf;
    f->buf_pos = buf;
    f->buf_end = buf + size;
    f->flush_ms = flush_ms;
    return NULL;
}

/* buffer=, flush= and if= (args from index 3 on). */
static const char *
log_entry_params(ptc_conf_t *cf, log_main_conf_t *lmcf, log_entry_t *e)
{
    int64_t size = 0, flush = -1;
    for (size_t i = 3; i < ptc_conf_nargs(cf); i++) {
        const ptc_str_t *a = ptc_conf_arg(cf, i);
        if (a->len >= 7 && memcmp(a->data, "buffer=", 7) == 0) {
            ptc_str_t v = {a->len - 7, a->data + 7};
            if ((size = ptc_parse_size(&v)) == -1) {
                return ptc_conf_error(cf, "invalid buffer size \"" PTC_STR_FMT "\"",
                                      PTC_STR_ARG(v));
            }
        } else if (a->len >= 6 && memcmp(a->data, "flush=", 6) == 0) {
            ptc_str_t v = {a->len - 6, a->data + 6};
            if ((flush = ptc_parse_time_ms(&v)) == -1) {
                return ptc_conf_error(cf, "invalid flush time \"" PTC_STR_FMT "\"", PTC_STR_ARG(v));
            }
        } else if (a->len >= 3 && memcmp(a->data, "if=", 3) == 0) {
            ptc_str_t v = {a->len - 3, a->data + 3};
            if ((e->filter = ptc_http_complex_value_compile(cf, &v)) == NULL) {
                return PTC_CONF_ERROR;
            }
        } else {
            return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"", PTC_STR_ARG(*a));
        }
    }
    if (flush != -1 && size == 0) {
        return ptc_conf_error(cf, "no buffer is defined for access_log \"" PTC_STR_FMT "\"",
                              PTC_STR_ARG(*ptc_conf_arg(cf, 1)));
    }
    if (size == 0) {
        return NULL;
    }
    if (e->path) {
        return ptc_conf_error(cf, "buffered logs cannot have variables in name");
    }
    return log_buffer_attach(cf, lmcf, e, (size_t)size, flush == -1 ? 0 : (ptc_msec_t)flush);
}

/* A path without '$' names a file the cycle opens; one with variables is
 * evaluated and opened for each line. */
static const char *
log_entry_path(ptc_conf_t *cf, log_entry_t *e, const ptc_str_t *path)
{
    if (path->len >= 7 && memcmp(path->data, "syslog:", 7) == 0) {
        return ptc_conf_error(cf, "syslog logging is not supported");
    }
    if (memchr(path->data, '$', path->len) == NULL) {
        char *full = ptc_conf_full_path(cf, path, false);
        e->file = full ? ptc_cycle_open_file(cf->cycle, full) : NULL;
        return e->file ? NULL : "out of memory";
    }
    if ((e->path = ptc_http_complex_value_compile(cf, path)) == NULL) {
        return PTC_CONF_ERROR;
    }
    if (path->data[0] != '/' && cf->prefix
        && ptc_str_dup(cf->pool, &e->prefix, (const u_char *)cf->prefix, strlen(cf->prefix))
               != PTC_OK) {
        return "out of memory";
    }
    return NULL;
}

static const char *
log_set_access_log(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    log_loc_conf_t *llcf = conf;
    log_main_conf_t *lmcf = ptc_http_conf_get_main(cf, ptc_http_log_module);
    const ptc_str_t *path = ptc_conf_arg(cf, 1);
    if (ptc_str_eq_c(path, "off")) {
        if (ptc_conf_nargs(cf) == 2) {
            llcf->off = true;
            return NULL;
        }
        return ptc_conf_error(cf, "invalid parameter \"" PTC_STR_FMT "\"",
                              PTC_STR_ARG(*ptc_conf_arg(cf, 2)));
    }
    if (llcf->logs == NULL
        && (llcf->logs = ptc_array_create(cf->pool, 2, sizeof(log_entry_t))) == NULL) {
        return "out of memory";
    }
    log_entry_t *e = ptc_array_push(llcf->logs);
    if (e == NULL) {
        return "out of memory";
    }
    memset(e, 0, sizeof(*e));
    const char *rv = log_entry_path(cf, e, path);
    if (rv) {
        return rv;
    }
    ptc_str_t combined = ptc_string("combined");
    const ptc_str_t *name = ptc_conf_nargs(cf) >= 3 ? ptc_conf_arg(cf, 2) : &combined;
    if ((e->format = log_format_find(lmcf, name)) == NULL) {
        return ptc_conf_error(cf, "unknown log format \"" PTC_STR_FMT "\"", PTC_STR_ARG(*name));
    }
    return log_entry_params(cf, lmcf, e);
}

/* Portico opens a variable-path log for each line and keeps no descriptor
 * cache; the directive is checked and accepted so nginx configs load. */
static const char *
log_set_file_cache(ptc_conf_t *cf, const ptc_directive_t *d, void *conf)
{
    static const char *const keys[] = {"max=", "inactive=", "min_uses=", "valid="};
    if (ptc_str_eq_c(ptc_conf_arg(cf, 1), "off") && ptc_conf_nargs(cf) == 2) {
        return NULL;
    }
    bool has_max = false;
    for (size_t i = 1; i < ptc_conf_nargs(cf); i++) {
        const ptc_str_t *a = ptc_conf_arg(cf, i);
        bool known = false;
        for (size_t k = 0; k < ptc_nelems(keys); k++) {
            size_t n = strlen(keys[k]);
            known |= a->len > n && memcmp(a->data, keys[k], n) == 0;
        }
        if (!known) {
            return ptc_conf_error(cf,
                                  "invalid \"open_log_file_cache\" parameter \"" PTC_STR_FMT "\"",
                                  PTC_STR_ARG(*a));
        }
        has_max |= a->len > 4 && memcmp(a->data, "max=", 4) == 0;
    }
    if (!has_max) {
        return ptc_conf_error(cf, "\"open_log_file_cache\" must have \"max\" parameter");
    }
    return NULL;
}

/* The http level's default, "access_log logs/access.log combined", shared
 * by every server that inherits it. */
static int
log_add_default(ptc_conf_t *cf, log_loc_conf_t *llcf)
{
    log_main_conf_t *lmcf = ptc_http_conf_get_main(cf, ptc_http_log_module);
    const ptc_str_t path = ptc_string("logs/access.log");
    llcf->logs = ptc_array_create(cf->pool, 1, sizeof(log_entry_t));
    log_entry_t *e = llcf->logs ? ptc_array_push(llcf->logs) : NULL;
    char *full = ptc_conf_full_path(cf, &path, false);
    if (e == NULL || full == NULL) {
        return PTC_ERROR;
    }
    memset(e, 0, sizeof(*e));
    e->format = *(ptc_http_log_format_t **)lmcf->formats.elts; /* combined */
    e->file = ptc_cycle_open_file(cf->cycle, full);
    return e->file ? PTC_OK : PTC_ERROR;
}

/* A level with any access_log (or "off") keeps its own; otherwise it takes
 * the parent's list as a whole. */
static const char *
log_merge_loc(ptc_conf_t *cf, void *parent, void *child)
{
    log_loc_conf_t *prev = parent, *conf = child;
    if (conf->logs || conf->off) {
        return NULL;
    }
    if (prev->logs == NULL && !prev->off && log_add_default(cf, prev) != PTC_OK) {
        return "out of memory";
    }
    conf->logs = prev->logs;
    conf->off = prev->off;
    return NULL;
}

static int
log_postconfig(ptc_conf_t *cf)
{
    return ptc_http_add_phase_handler(cf, PTC_HTTP_LOG_PHASE, log_handler);
}

/* ---- writing ---- */

static void
log_write_fd(ptc_log_t *log, int fd, const char *path, const u_char *buf, size_t len)
{
    ssize_t n = write(fd, buf, len);
    if (n == -1) {
        ptc_log_error(PTC_LOG_CRIT, log, errno, "write() to \"%s\" failed", path);
    } else if ((size_t)n != len) {
        ptc_log_error(PTC_LOG_CRIT, log, 0, "write() to \"%s\" was incomplete: %zd of %zu", path, n,
                      len);
    }
}

static void
log_flush(log_flush_t *fl, ptc_log_t *log)
{
    ptc_open_file_t *f = fl->file;
    if (f->buf_pos > f->buf_start && f->fd != -1) {
        log_write_fd(log, f->fd, f->path, f->buf_start, (size_t)(f->buf_pos - f->buf_start));
    }
    f->buf_pos = f->buf_start;
    ptc_event_del_timer(&fl->ev);
}

static void
log_flush_timer(ptc_event_t *ev)
{
    log_flush(ev->data, ptc_cycle && ptc_cycle->log ? ptc_cycle->log : ev->log);
}

static void
log_flush_cleanup(void *data)
{
    log_flush_t *fl = data;
    ptc_event_del_timer(&fl->ev);
}

/* Append a line to a buffered file: flush first when the oldest line is
 * due or the line does not fit; a line larger than the whole buffer goes
 * straight to the file (after the flush, so lines stay in order). */
static void
log_write_buffered(ptc_log_t *log, log_flush_t *fl, const u_char *line, size_t len)
{
    ptc_open_file_t *f = fl->file;
    bool pending = f->buf_pos > f->buf_start;
    if ((pending && f->flush_ms && ptc_current_msec - fl->first_msec >= f->flush_ms)
        || len > (size_t)(f->buf_end - f->buf_pos)) {
        log_flush(fl, log);
    }
    if (len > (size_t)(f->buf_end - f->buf_start)) {
        log_write_fd(log, f->fd, f->path, line, len);
        return;
    }
    /* buf_pos == buf_start also after the cycle flushed the buffer itself */
    if (f->buf_pos == f->buf_start) {
        fl->first_msec = ptc_current_msec;
        if (f->flush_ms) {
            ptc_event_add_timer(&fl->ev, f->flush_ms);
        }
    }
    f->buf_pos = ptc_cpymem(f->buf_pos, line, len);
}

/* Evaluate the path, open the file, write the line, close it. */
static void
log_write_path(ptc_http_request_t *r, const log_entry_t *e, const u_char *line, size_t len)
{
    ptc_str_t name;
    if (ptc_http_complex_value(r, e->path, &name) != PTC_OK) {
        return;
    }
    if (name.len == 0 || memchr(name.data, '\0', name.len)) {
        ptc_log_error(PTC_LOG_ERR, r->c->log, 0, "invalid access_log path \"" PTC_STR_FMT "\"",
                      PTC_STR_ARG(name));
        return;
    }
    size_t pre = name.data[0] == '/' ? 0 : e->prefix.len;
    char *full = ptc_pnalloc(r->pool, pre + name.len + 1);
    if (full == NULL) {
        return;
    }
    memcpy(full, e->prefix.data, pre);
    memcpy(full + pre, name.data, name.len);
    full[pre + name.len] = '\0';
    int fd = open(full, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1) {
        ptc_log_error(PTC_LOG_CRIT, r->c->log, errno, "open() \"%s\" failed", full);
        return;
    }
    log_write_fd(r->c->log, fd, full, line, len);
    close(fd);
}

/* Render fmt for r into `stack` (size bytes) or, when longer, r->pool. */
static int
log_render(ptc_http_request_t *r, const ptc_http_log_format_t *fmt, u_char *stack, size_t size,
           ptc_str_t *line)
{
    ptc_str_t vstack[LOG_STACK_VALUES], *vals = vstack;
    size_t n = fmt->parts.nelts;
    if (n > LOG_STACK_VALUES && (vals = ptc_palloc(r->pool, n * sizeof(*vals))) == NULL) {
        return PTC_ERROR;
    }
    /* each value is fetched once: $msec or $request_time could change
     * between measuring the line and writing it */
    const ptc_http_log_part_t *parts = fmt->parts.elts;
    for (size_t i = 0; i < n; i++) {
        ptc_http_variable_value_t *v =
            parts[i].is_var ? ptc_http_variable_get(r, parts[i].index) : NULL;
        /* a found but empty value logs as nothing, a missing one as "-" (nginx) */
        vals[i] = (v && !v->not_found) ? v->value : (ptc_str_t)ptc_null_string;
        if (v && !v->not_found && vals[i].len == 0) {
            vals[i].data = (u_char *)"";
        }
    }
    size_t len = ptc_http_log_line_len(fmt, vals);
    u_char *buf = len <= size ? stack : ptc_pnalloc(r->pool, len);
    if (buf == NULL) {
        return PTC_ERROR;
    }
    line->data = buf;
    line->len = (size_t)(ptc_http_log_line_write(fmt, vals, buf) - buf);
    return PTC_OK;
}

/* if=: log unless the condition is empty or "0". */
static bool
log_filter_pass(ptc_http_request_t *r, const ptc_http_complex_value_t *cv)
{
    ptc_str_t v;
    if (ptc_http_complex_value(r, cv, &v) != PTC_OK) {
        return false;
    }
    return !(v.len == 0 || (v.len == 1 && v.data[0] == '0'));
}

static void
log_entry_write(ptc_http_request_t *r, const log_main_conf_t *lmcf, const log_entry_t *e)
{
    u_char stack[LOG_STACK_LINE];
    ptc_str_t line;
    if (log_render(r, e->format, stack, sizeof(stack), &line) != PTC_OK) {
        return;
    }
    if (e->path) {
        log_write_path(r, e, line.data, line.len);
        return;
    }
    log_flush_t *fl = e->file->buf_start ? log_flush_find(lmcf, e->file) : NULL;
    if (fl) {
        log_write_buffered(r->c->log, fl, line.data, line.len);
    } else {
        log_write_fd(r->c->log, e->file->fd, e->file->path, line.data, line.len);
    }
}

/* Log phase: every handler of this phase runs, so always decline. */
static int
log_handler(ptc_http_request_t *r)
{
    log_loc_conf_t *llcf = ptc_http_get_loc_conf(r, ptc_http_log_module);
    log_main_conf_t *lmcf = ptc_http_get_main_conf(r, ptc_http_log_module);
    if (llcf->off || llcf->logs == NULL) {
        return PTC_DECLINED;
    }
    const log_entry_t *e = llcf->logs->elts;
    for (size_t i = 0; i < llcf->logs->nelts; i++) {
        if (e[i].filter == NULL || log_filter_pass(r, e[i].filter)) {
            log_entry_write(r, lmcf, &e[i]);
        }
    }
    return PTC_DECLINED;
}
