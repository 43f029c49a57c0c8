/*
 * custom_plugin.c - C extractor plugins: `module: ./libx.so` + `class_name`,
 * loaded with dlopen and driven through include/bronze/extractor.h.
 *
 * Loading, in this order, each step failing with its own message: dlopen;
 * the data symbol bronze_extractor_abi read and compared BEFORE any plugin
 * code runs (a library built for another ABI, or no plugin at all, is refused
 * without being called); the entry symbol; the entry called with class_name;
 * the returned struct's version. A dry run stops there.
 *
 * The plugin runs in process, on the job's thread, inside open(): what it
 * emits is spooled (typed rows become JSON objects), then typed on the whole
 * batch by the file source over the spool. A crash kills the run before any
 * commit (the commit follows the source's END), so it leaves nothing
 * committed and the cursor unchanged. So that the death is not silent, the
 * release build says which config and plugin crashed before the default
 * action ends the process (the ASan build leaves the report to ASan).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bronze/extractor.h"
#include "format/value_text.h"
#include "source/custom.h"
#include "util/buf.h"
#include "util/interrupt.h"
#include "util/json_string.h"
#include "util/log.h"
#include "util/utf8.h"

bool bronze_custom_module_is_library(const char *module)
{
    if (!module)
        return false;
    size_t n = strlen(module);
    return strchr(module, '/') || (n > 3 && !strcmp(module + n - 3, ".so")) ||
           strstr(module, ".so.");
}

struct bronze_extractor_host {
    bronze_source *s;
    const bronze_source_ctx *ctx;
    json_t *cfg;     /* parsed config, for the typed accessors */
    json_t *scratch; /* strings handed out for numbers read as text */
    bronze_buf row;  /* the typed row being built, as JSON object text */
    bool in_row;     /* row_begin without its row_end yet */
    char *failure;   /* the plugin's api->fail() message */
    char *problem;   /* a misuse of the api the host noticed */
    bool spool_err;
    bronze_err *err;
    bronze_scan scan; /* scratch space of emit_json's check */
};

static int host_problem(bronze_extractor_host *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int host_problem(bronze_extractor_host *h, const char *fmt, ...)
{
    if (h->problem)
        return -1; /* the first one is the one to report */
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    h->problem = strdup(msg);
    return -1;
}

/* ---- inputs ---- */

static const char *api_run_date(bronze_extractor_host *h)
{
    return h->ctx->run_date ? h->ctx->run_date : "";
}

static const char *api_last_cursor(bronze_extractor_host *h)
{
    return h->ctx->last_cursor;
}

static const char *api_config_json(bronze_extractor_host *h)
{
    return h->ctx->cfg->as_json ? h->ctx->cfg->as_json : "{}";
}

/* The value at a dotted path ("source.x.0.y": numbers index arrays). */
static json_t *lookup(bronze_extractor_host *h, const char *path)
{
    if (!path || !h->cfg)
        return NULL;
    json_t *v = h->cfg;
    const char *p = path;
    while (v && *p) {
        const char *e = strchr(p, '.');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char key[256];
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = 0;
        if (json_is_object(v)) {
            v = json_object_get(v, key);
        } else if (json_is_array(v)) {
            char *end;
            unsigned long i = strtoul(key, &end, 10);
            v = *key && !*end ? json_array_get(v, i) : NULL;
        } else {
            v = NULL;
        }
        p += n;
        if (*p == '.')
            p++;
    }
    return json_is_null(v) ? NULL : v;
}

static int api_config_string(bronze_extractor_host *h, const char *path, const char **out)
{
    json_t *v = lookup(h, path);
    if (!v)
        return BRONZE_EXTRACTOR_MISSING;
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return BRONZE_EXTRACTOR_OK;
    }
    if (!json_is_number(v) && !json_is_boolean(v))
        return BRONZE_EXTRACTOR_WRONG_TYPE;
    char buf[64];
    if (json_is_boolean(v))
        snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else
        snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
    json_t *str = json_string(buf);
    if (!str || json_array_append_new(h->scratch, str))
        return BRONZE_EXTRACTOR_WRONG_TYPE;
    *out = json_string_value(str);
    return BRONZE_EXTRACTOR_OK;
}

static int api_config_int(bronze_extractor_host *h, const char *path, int64_t *out)
{
    json_t *v = lookup(h, path);
    if (!v)
        return BRONZE_EXTRACTOR_MISSING;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return BRONZE_EXTRACTOR_OK;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9.2e18) {
            *out = (int64_t)d;
            return BRONZE_EXTRACTOR_OK;
        }
    }
    return BRONZE_EXTRACTOR_WRONG_TYPE;
}

static int api_config_double(bronze_extractor_host *h, const char *path, double *out)
{
    json_t *v = lookup(h, path);
    if (!v)
        return BRONZE_EXTRACTOR_MISSING;
    if (!json_is_number(v))
        return BRONZE_EXTRACTOR_WRONG_TYPE;
    *out = json_number_value(v);
    return BRONZE_EXTRACTOR_OK;
}

static int api_config_bool(bronze_extractor_host *h, const char *path, int *out)
{
    json_t *v = lookup(h, path);
    if (!v)
        return BRONZE_EXTRACTOR_MISSING;
    if (!json_is_boolean(v))
        return BRONZE_EXTRACTOR_WRONG_TYPE;
    *out = json_is_true(v) ? 1 : 0;
    return BRONZE_EXTRACTOR_OK;
}

/* ---- outputs ---- */

/* One record's JSON object text to the spool, one line: a line break of
 * pretty text becomes a space. */
static int spool_text(bronze_extractor_host *h, const char *text, size_t n)
{
    bool breaks = memchr(text, '\n', n) || memchr(text, '\r', n);
    if (bronze_spool_add_raw(h->s->spool, text, n, breaks, NULL, 0, h->err)) {
        h->spool_err = true;
        return -1;
    }
    return 0;
}

static int api_emit_json(bronze_extractor_host *h, const char *json, size_t len)
{
    if (bronze_interrupted())
        return -1;
    if (!json)
        return host_problem(h, "emit_json: NULL record");
    size_t nmem;
    char why[200];
    int is = bronze_custom_is_object(&h->scan, json, len, &nmem, why, sizeof why);
    if (is < 0)
        return host_problem(h, "emit_json: out of memory");
    if (!is)
        return host_problem(h, "emit_json: record %llu is not a JSON object (%s): %.80s",
                            (unsigned long long)bronze_spool_records(h->s->spool) + 1, why, json);
    return spool_text(h, json, len);
}

/* A typed row is written as JSON object text as it is put, without a tree:
 * a column put twice is a key repeated, and the JSON Lines reader takes the
 * last value of a repeated key, as a tree would have kept it. */
static int api_row_begin(bronze_extractor_host *h)
{
    if (h->in_row)
        return host_problem(h, "row_begin: the previous row has no row_end");
    h->in_row = true;
    h->row.len = 0;
    return bronze_buf_putc(&h->row, '{') ? host_problem(h, "out of memory") : 0;
}

/* The key of the next column of the row; then the caller appends its value. */
static int put_key(bronze_extractor_host *h, const char *column, const char *fn)
{
    if (!h->in_row)
        return host_problem(h, "%s: no row_begin", fn);
    if (!column || !*column)
        return host_problem(h, "%s: a column needs a name", fn);
    size_t n = strlen(column);
    if (bronze_utf8_check(column, n) < n)
        return host_problem(h, "%s: column name %.80s is not valid UTF-8", fn, column);
    if ((h->row.len > 1 && bronze_buf_putc(&h->row, ',')) ||
        bronze_json_string_put(&h->row, column, n) || bronze_buf_putc(&h->row, ':'))
        return host_problem(h, "out of memory");
    return 0;
}

static int put_literal(bronze_extractor_host *h, const char *column, const char *text,
                       const char *fn)
{
    if (put_key(h, column, fn))
        return -1;
    return bronze_buf_append(&h->row, text, strlen(text)) ? host_problem(h, "out of memory") : 0;
}

static int api_put_null(bronze_extractor_host *h, const char *column)
{
    return put_literal(h, column, "null", "put_null");
}

static int api_put_int(bronze_extractor_host *h, const char *column, int64_t v)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)v);
    return put_literal(h, column, t, "put_int");
}

static int api_put_double(bronze_extractor_host *h, const char *column, double v)
{
    if (!isfinite(v))
        return host_problem(h, "put_double: column %s: %g is not a finite number (use put_text)",
                            column ? column : "?", v);
    char t[40];
    size_t n = bronze_fmt_double(v, t);
    if (!memchr(t, '.', n) && !memchr(t, 'e', n))
        memcpy(t + n, ".0", 3); /* 1.0 stays a double: "1" would read as an integer */
    return put_literal(h, column, t, "put_double");
}

static int api_put_bool(bronze_extractor_host *h, const char *column, int v)
{
    return put_literal(h, column, v ? "true" : "false", "put_bool");
}

static int api_put_text(bronze_extractor_host *h, const char *column, const char *utf8, size_t len)
{
    if (!utf8)
        return api_put_null(h, column);
    size_t bad = bronze_utf8_check(utf8, len);
    if (bad < len && h->ctx->cfg->run.invalid_utf8 != BRONZE_UTF8_REPLACE)
        return host_problem(h,
                            "put_text: column %s: not valid UTF-8 (byte 0x%02X at offset %zu); "
                            "the text must be UTF-8 (or set source.run.invalid_utf8: replace)",
                            column ? column : "?", (unsigned char)utf8[bad], bad);
    /* with replace, the bytes go to the spool as they are: the reader and
     * the roller replace and count them as for any source */
    if (put_key(h, column, "put_text"))
        return -1;
    return bronze_json_string_put(&h->row, utf8, len) ? host_problem(h, "out of memory") : 0;
}

static int api_row_end(bronze_extractor_host *h)
{
    if (bronze_interrupted())
        return -1;
    if (!h->in_row)
        return host_problem(h, "row_end: no row_begin");
    h->in_row = false;
    if (bronze_buf_putc(&h->row, '}'))
        return host_problem(h, "out of memory");
    return spool_text(h, (const char *)h->row.data, h->row.len);
}

static int api_set_cursor(bronze_extractor_host *h, const char *cursor)
{
    return bronze_custom_set_cursor(h->s, cursor) ? host_problem(h, "out of memory") : 0;
}

static int api_fail(bronze_extractor_host *h, const char *message)
{
    if (!h->failure)
        h->failure = strdup(message && *message ? message : "(no message)");
    return -1;
}

static void api_log(bronze_extractor_host *h, int level, const char *message)
{
    (void)h;
    if (level < BRONZE_EXTRACTOR_LOG_DEBUG || level > BRONZE_EXTRACTOR_LOG_ERROR)
        level = BRONZE_EXTRACTOR_LOG_INFO;
    bronze_log((bronze_log_level)level, "%s", message ? message : "");
}

static int api_interrupted(bronze_extractor_host *h)
{
    (void)h;
    return bronze_interrupted();
}

static const bronze_extractor_api API = {
    .version = BRONZE_EXTRACTOR_ABI_VERSION,
    .size = sizeof(bronze_extractor_api),
    .run_date = api_run_date,
    .last_cursor = api_last_cursor,
    .config_json = api_config_json,
    .config_string = api_config_string,
    .config_int = api_config_int,
    .config_double = api_config_double,
    .config_bool = api_config_bool,
    .emit_json = api_emit_json,
    .row_begin = api_row_begin,
    .put_null = api_put_null,
    .put_int = api_put_int,
    .put_double = api_put_double,
    .put_bool = api_put_bool,
    .put_text = api_put_text,
    .row_end = api_row_end,
    .set_cursor = api_set_cursor,
    .fail = api_fail,
    .log = api_log,
    .interrupted = api_interrupted,
};

/* ---- the source ---- */

/* Loads the library and finds the class (see the top of this file). */
static int load(bronze_source *s, const bronze_config *cfg, void **dl, const bronze_extractor **out,
                bronze_err *err)
{
    *dl = NULL;
    *out = NULL;
    const char *mod = cfg->custom.module;
    char path[4200];
    struct stat st;
    /* "libx.so" means the file here when there is one (dlopen alone would
     * only search the library path) */
    if (!strchr(mod, '/') && stat(mod, &st) == 0)
        snprintf(path, sizeof path, "./%s", mod);
    else
        snprintf(path, sizeof path, "%s", mod);
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        return bronze_custom_fail(s, err, "cannot load the library: %s", e ? e : "dlopen failed");
    }
    const unsigned int *abi = (const unsigned int *)dlsym(h, BRONZE_EXTRACTOR_ABI_SYMBOL);
    bronze_extractor_entry_fn entry;
    void *sym = dlsym(h, BRONZE_EXTRACTOR_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof entry); /* POSIX: data pointer to function pointer */
    if (!abi && !entry) {
        dlclose(h);
        return bronze_custom_fail(s, err,
                                  "%s exports neither %s nor %s: it is not a bronze-foundry "
                                  "extractor plugin (see include/bronze/extractor.h)",
                                  mod, BRONZE_EXTRACTOR_ENTRY_SYMBOL, BRONZE_EXTRACTOR_ABI_SYMBOL);
    }
    if (!abi) {
        dlclose(h);
        return bronze_custom_fail(s, err,
                                  "%s has no %s symbol (BRONZE_EXTRACTOR_DEFINE_ABI() missing): "
                                  "refused without calling it",
                                  mod, BRONZE_EXTRACTOR_ABI_SYMBOL);
    }
    if (*abi != BRONZE_EXTRACTOR_ABI_VERSION) {
        unsigned int v = *abi;
        dlclose(h);
        return bronze_custom_fail(s, err,
                                  "%s was built for extractor ABI version %u, this bronze-extract "
                                  "speaks version %u: rebuild it against include/bronze/"
                                  "extractor.h (refused without calling it)",
                                  mod, v, BRONZE_EXTRACTOR_ABI_VERSION);
    }
    if (!entry) {
        dlclose(h);
        return bronze_custom_fail(s, err, "%s does not export the entry symbol %s", mod,
                                  BRONZE_EXTRACTOR_ENTRY_SYMBOL);
    }
    const bronze_extractor *x = entry(cfg->custom.class_name);
    if (!x) {
        dlclose(h);
        return bronze_custom_fail(s, err, "%s has no extractor named %s (class_name)", mod,
                                  cfg->custom.class_name);
    }
    if (x->version != BRONZE_EXTRACTOR_ABI_VERSION || !x->run) {
        unsigned int v = x->version;
        dlclose(h);
        return bronze_custom_fail(s, err,
                                  "%s: extractor %s has version %u (expected %u) or no run "
                                  "function",
                                  mod, cfg->custom.class_name, v, BRONZE_EXTRACTOR_ABI_VERSION);
    }
    *dl = h;
    *out = x;
    return 0;
}

#ifndef __SANITIZE_ADDRESS__
/* The crash note of the plugin running on this thread (empty: none). */
static _Thread_local char t_crash_note[900];
static _Thread_local size_t t_crash_len;

static void on_crash(int sig)
{
    if (t_crash_len) {
        char num[16];
        size_t n = sizeof num;
        unsigned v = (unsigned)sig;
        do
            num[--n] = (char)('0' + v % 10);
        while ((v /= 10) && n);
        ssize_t w = write(2, t_crash_note, t_crash_len);
        w = write(2, num + n, sizeof num - n);
        w = write(2, ")\n", 2);
        (void)w;
    }
    /* SA_RESETHAND: on return the fault recurs under the default action, so
     * the process dies by the same signal (the exit status does not lie) */
}

static pthread_once_t g_crash_once = PTHREAD_ONCE_INIT;
static void crash_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = (int)(SA_RESETHAND | SA_NODEFER);
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

static void crash_note(const bronze_source *s)
{
    pthread_once(&g_crash_once, crash_install);
    int n = snprintf(t_crash_note, sizeof t_crash_note,
                     "bronze-extract: %s: custom extractor %s: crashed inside the plugin; "
                     "nothing committed, cursor unchanged (signal ",
                     s->cfg->path ? s->cfg->path : "config", s->what);
    t_crash_len = n < 0 ? 0 : (size_t)n < sizeof t_crash_note ? (size_t)n : sizeof t_crash_note - 1;
}
static void crash_clear(void)
{
    t_crash_len = 0;
}
#else
static void crash_note(const bronze_source *s)
{
    (void)s;
}
static void crash_clear(void)
{
}
#endif

static int run_plugin(bronze_source *s, const bronze_source_ctx *ctx, const bronze_extractor *x,
                      bronze_err *err)
{
    bronze_extractor_host h = {.s = s, .ctx = ctx, .err = err};
    json_error_t je;
    h.cfg = json_loads(ctx->cfg->as_json ? ctx->cfg->as_json : "{}", 0, &je);
    h.scratch = json_array();
    int rc = -1;
    if (!h.cfg || !h.scratch) {
        bronze_custom_fail(s, err, "out of memory");
        goto out;
    }
    bronze_err_clear(err);
    crash_note(s);
    int r = x->run(&API, &h);
    crash_clear();
    if (bronze_interrupted()) {
        bronze_custom_fail(s, err, "stopped: bronze-extract was interrupted by signal %d",
                           bronze_interrupted());
    } else if (h.spool_err) {
        bronze_err_prefix(err, "%s: custom extractor %s", ctx->cfg->path, s->what);
    } else if (h.failure) {
        bronze_custom_fail(s, err, "%s", h.failure);
    } else if (h.problem) {
        bronze_custom_fail(s, err, "%s", h.problem);
    } else if (r != 0) {
        bronze_custom_fail(s, err, "run() returned %d without a message (api->fail)", r);
    } else if (h.in_row) {
        bronze_custom_fail(s, err, "run() returned with a row that has no row_end");
    } else {
        rc = 0;
    }
out:
    bronze_buf_free(&h.row);
    json_decref(h.cfg);
    json_decref(h.scratch);
    free(h.failure);
    free(h.problem);
    bronze_scan_free(&h.scan);
    return rc;
}

static int plugin_open(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err)
{
    *out = NULL;
    const bronze_config *cfg = ctx->cfg;
    bronze_source *s = bronze_custom_new(ctx, "%s (class %s)", cfg->custom.module,
                                         cfg->custom.class_name ? cfg->custom.class_name : "?");
    if (!s)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    *out = s;
    void *dl;
    const bronze_extractor *x;
    if (load(s, cfg, &dl, &x, err))
        return -1;
    int rc = 0;
    if (ctx->dry_run) {
        BRONZE_INFO("Dry run: custom extractor %s loads (ABI %u; not run)", s->what,
                    BRONZE_EXTRACTOR_ABI_VERSION);
    } else {
        rc = bronze_spool_create(&s->spool, ctx, "plugin", err);
        if (rc == 0)
            rc = run_plugin(s, ctx, x, err);
        if (rc == 0)
            rc = bronze_custom_finish(s, err);
    }
    /* the spool holds text only: the library can go (ASan's leak check
     * symbolises through its own copy of the maps) */
    dlclose(dl);
    return rc;
}

const bronze_source_vt bronze_source_plugin = {
    .name = "custom plugin",
    .open = plugin_open,
    .schema = bronze_custom_schema,
    .next = bronze_custom_next,
    .cursor = bronze_custom_cursor,
    .close = bronze_custom_close,
    .chunk_lines = true, /* spooled (spool.h) */
};

/* ---- tests/fuzz (custom_config.h) ---- */

#include "source/custom_config.h"

int bronze_custom_config_probe(const char *config_json, const char *path, char *out, size_t cap)
{
    bronze_source_ctx ctx = {0};
    bronze_extractor_host h = {.ctx = &ctx};
    json_error_t je;
    h.cfg = json_loads(config_json, 0, &je);
    h.scratch = json_array();
    int rc = -1;
    if (h.cfg && h.scratch) {
        const char *s = NULL;
        int64_t i = 0;
        double d = 0;
        int b = 0;
        int rs = API.config_string(&h, path, &s);
        int ri = API.config_int(&h, path, &i);
        int rd = API.config_double(&h, path, &d);
        int rb = API.config_bool(&h, path, &b);
        snprintf(out, cap, "%d:%s %d:%lld %d:%.17g %d:%d", rs, rs == BRONZE_EXTRACTOR_OK ? s : "",
                 ri, (long long)i, rd, d, rb, b);
        rc = 0;
    }
    json_decref(h.cfg);
    json_decref(h.scratch);
    return rc;
}
