/*
 * config.c - loads, validates and resolves one source's YAML config (SPEC §3).
 *
 * yaml_doc.c turns the file into a node tree with line/column marks; this
 * file walks it section by section against the key lists below, applying
 * SPEC §3's defaults and 1.0's aliases. Each section first warns about keys it
 * does not know (with the closest known one), then reads the keys it does; a
 * bad value ends that read with "file:line:col: key.path: message". The file
 * is then read again with the bad key left out (its node "poisoned"), until a
 * read gets through, so one load reports every error of the file; checks
 * that change nothing (soft()) report and go on. Cross-section rules
 * (storage combinations, what each source type needs) come last. Loading
 * never reads the environment: bronze_config_resolve() does that,
 * separately, so --validate-only runs without secrets.
 */
#include "config/config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "config/validate.h"
#include "config/yaml_doc.h"
#include "source/db_common.h"
#include "source/input.h"
#include "util/buf.h"
#include "util/log.h"

/* ---- the keys of each section (aliases and silently accepted keys included) ---- */

static const char *const ROOT_KEYS[] = {"platform", "source",
                                        "silver", /* 1.x Silver CLI section: not ours */
                                        NULL};
static const char *const PLATFORM_KEYS[] = {"bronze", "s3_connection",
                                            "dlt", /* 1.0's optional, ignored section */
                                            NULL};
static const char *const BRONZE_KEYS[] = {"storage_backend",
                                          "s3_bucket",
                                          "s3_prefix",
                                          "local_path",
                                          "partitioning",
                                          "output_defaults",
                                          "storage_metadata", /* 1.x governance labels: ignored */
                                          NULL};
static const char *const PARTITIONING_KEYS[] = {"use_dt_partition", "partition_strategy", NULL};
static const char *const OUTPUT_DEFAULTS_KEYS[] = {"allow_csv",
                                                   "allow_parquet",
                                                   "parquet_compression",
                                                   "parquet_bloom_filter_columns",
                                                   "parquet_bloom_filter_fpp",
                                                   "time_as",
                                                   NULL};
static const char *const S3_KEYS[] = {"endpoint_url_env",  "access_key_env", "secret_key_env",
                                      "session_token_env", "region",         "region_env",
                                      "addressing_style",  "ca_bundle",      NULL};
static const char *const SOURCE_KEYS[] = {"type", "system",           "table", "run", "db", "api",
                                          "file", "custom_extractor", NULL};
static const char *const RUN_KEYS[] = {"max_rows_per_file",  "max_file_size_mb",
                                       "parallel_workers",   "write_csv",
                                       "write_parquet",      "s3_enabled",
                                       "storage_enabled",    "local_output_dir",
                                       "cleanup_on_failure", "batch_id",
                                       "timeout_seconds",    "max_retries",
                                       "invalid_utf8",       NULL};
static const char *const DB_KEYS[] = {"conn_str_env",
                                      "base_query",
                                      "fetch_batch_size",
                                      "batch_size", /* 1.0 DOCUMENTATION.md's name */
                                      "incremental",
                                      "incremental_key",
                                      "incremental_cursor_env",
                                      "incremental_cursor_value",
                                      "partitioning",
                                      NULL};
static const char *const DB_PART_KEYS[] = {"column", "num_partitions", "lower_bound", "upper_bound",
                                           NULL};
static const char *const DB_INC_KEYS[] = {"enabled",     "cursor_column", "state_file",
                                          "cursor_type", "lookback",      NULL};
static const char *const API_KEYS[] = {"base_url",
                                       "endpoint",
                                       "method",
                                       "headers",
                                       "params",
                                       "body",
                                       "data_path",
                                       "auth_type",
                                       "auth_token_env",
                                       "auth_key_env",
                                       "api_key_env",
                                       "auth_key_header",
                                       "api_key_header",
                                       "auth_key_name",
                                       "auth_username_env",
                                       "basic_user_env",
                                       "auth_password_env",
                                       "basic_pass_env",
                                       "pagination",
                                       "incremental",
                                       "cursor_field",
                                       "token_url",
                                       "client_id_env",
                                       "client_secret_env",
                                       "scope",
                                       "rate_limit",
                                       "max_response_mb",
                                       "ca_bundle",
                                       "timeout_seconds",
                                       NULL};
static const char *const RATE_LIMIT_KEYS[] = {"rps", "burst", NULL};
static const char *const PAGINATION_KEYS[] = {
    "type",        "offset_param",    "limit_param",  "page_param",    "page_size_param",
    "page_size",   "max_records",     "start_page",   "max_pages",     "cursor_param",
    "cursor_path", "next_token_path", "records_path", "next_url_path", NULL};
static const char *const API_INC_KEYS[] = {"enabled", "cursor_field", "cursor_param",
                                           "initial_cursor_value", NULL};
static const char *const FILE_KEYS[] = {"path",        "format",   "delimiter", "header",
                                        "null_values", "encoding", "data_path", NULL};
static const char *const CUSTOM_KEYS[] = {"module", "class_name", "command",
                                          "params", "config", /* the extractor's own (1.0) */
                                          NULL};

/* ---- enums: accepted spellings (any case), then the list an error shows ---- */

typedef struct enum_opt {
    const char *name;
    int value;
    bool alias; /* accepted, but not listed in "must be one of" */
} enum_opt;

static const enum_opt STRATEGIES[] = {{"date", BRONZE_PART_DATE, false},
                                      {"hourly", BRONZE_PART_HOURLY, false},
                                      {"timestamp", BRONZE_PART_TIMESTAMP, false},
                                      {"batch_id", BRONZE_PART_BATCH_ID, false},
                                      {NULL, 0, false}};
static const enum_opt CODECS[] = {{"snappy", BRONZE_CODEC_SNAPPY, false},
                                  {"gzip", BRONZE_CODEC_GZIP, false},
                                  {"zstd", BRONZE_CODEC_ZSTD, false},
                                  {"lz4", BRONZE_CODEC_LZ4, false},
                                  {"brotli", BRONZE_CODEC_BROTLI, false},
                                  {"none", BRONZE_CODEC_NONE, false},
                                  {"lz4_raw", BRONZE_CODEC_LZ4, true},
                                  {"uncompressed", BRONZE_CODEC_NONE, true},
                                  {NULL, 0, false}};
static const enum_opt TIME_AS[] = {{"time", BRONZE_TIME_AS_TIME, false},
                                   {"string", BRONZE_TIME_AS_STRING, false},
                                   {NULL, 0, false}};
static const enum_opt BACKENDS[] = {
    {"s3", BRONZE_BACKEND_S3, false}, {"local", BRONZE_BACKEND_LOCAL, false}, {NULL, 0, false}};
static const enum_opt TYPES[] = {{"db", BRONZE_SRC_DB, false},
                                 {"api", BRONZE_SRC_API, false},
                                 {"file", BRONZE_SRC_FILE, false},
                                 {"custom", BRONZE_SRC_CUSTOM, false},
                                 {NULL, 0, false}};
static const enum_opt CURSOR_TYPES[] = {{"datetime", BRONZE_CURSOR_DATETIME, false},
                                        {"string", BRONZE_CURSOR_STRING, false},
                                        {"int", BRONZE_CURSOR_INT, false},
                                        {"timestamp", BRONZE_CURSOR_DATETIME, true},
                                        {"integer", BRONZE_CURSOR_INT, true},
                                        {"auto", BRONZE_CURSOR_AUTO, true},
                                        {NULL, 0, false}};
static const enum_opt AUTH_TYPES[] = {{"none", BRONZE_AUTH_NONE, false},
                                      {"bearer", BRONZE_AUTH_BEARER, false},
                                      {"api_key", BRONZE_AUTH_API_KEY, false},
                                      {"basic", BRONZE_AUTH_BASIC, false},
                                      {"oauth2_client_credentials", BRONZE_AUTH_OAUTH2_CC, false},
                                      {NULL, 0, false}};
static const enum_opt PAGE_TYPES[] = {{"none", BRONZE_PAGE_NONE, false},
                                      {"offset", BRONZE_PAGE_OFFSET, false},
                                      {"page", BRONZE_PAGE_PAGE, false},
                                      {"cursor", BRONZE_PAGE_CURSOR, false},
                                      {"link", BRONZE_PAGE_LINK, false},
                                      {"next_url", BRONZE_PAGE_NEXT_URL, false},
                                      {NULL, 0, false}};
static const enum_opt FILE_FORMATS[] = {{"csv", BRONZE_FILE_CSV, false},
                                        {"jsonl", BRONZE_FILE_JSONL, false},
                                        {"json", BRONZE_FILE_JSON, false},
                                        {"ndjson", BRONZE_FILE_JSONL, true},
                                        {NULL, 0, false}};
static const enum_opt METHODS[] = {{"GET", 0, false}, {"POST", 1, false}, {NULL, 0, false}};
static const enum_opt ADDRESSING[] = {{"path", 0, false}, {"virtual", 1, false}, {NULL, 0, false}};
static const enum_opt INVALID_UTF8[] = {
    {"fail", BRONZE_UTF8_FAIL, false}, {"replace", BRONZE_UTF8_REPLACE, false}, {NULL, 0, false}};

/* ---- load context and messages ---- */

#define KP_MAX 256

typedef struct lctx {
    const char *file;
    bronze_err *err;
    bronze_config *cfg;
    bool custom; /* source.type is custom: its other sections are not ours */
    /* nodes the cross-section checks point at */
    const bronze_ynode *backend_at, *s3_enabled_at, *source_key;
    char s3_enabled_path[KP_MAX];
    bool run_timeout_given; /* source.run.timeout_seconds was set */
    bool backend_explicit;
    /* reporting every error (bronze_config_load_diags): the messages so far,
     * the nodes this read found bad, and the key paths read as absent */
    bronze_diags *diags;
    const bronze_ynode *blamed[8];
    size_t nblamed;
    char (*absent)[KP_MAX];
    size_t nabsent;
    int nfails; /* fail() calls in this read, reported or not */
} lctx;

static void kpath(char *out, const char *path, const char *key)
{
    /* a path longer than KP_MAX is cut; it only ever feeds a message */
    if (snprintf(out, KP_MAX, "%s%s%s", path, *path ? "." : "", key) >= KP_MAX)
        memcpy(out + KP_MAX - 4, "...", 4);
}

/* True when a lies under b (or is b): "source.db.x" under "source.db". */
static bool kp_under(const char *a, const char *b)
{
    size_t n = strlen(b);
    return !strncmp(a, b, n) && (!a[n] || a[n] == '.' || a[n] == '[');
}

/* True when kp is, holds or lies under a key an earlier read found bad: a
 * message about it ("required", "needs x or y") would only echo that error. */
static bool read_as_absent(const lctx *c, const char *kp)
{
    for (size_t i = 0; i < c->nabsent; i++)
        if (kp_under(kp, c->absent[i]) || kp_under(c->absent[i], kp))
            return true;
    return false;
}

/* at: the node at fault; a mapping value is reported at its key. */
static int failv(lctx *c, const bronze_ynode *at, const char *kp, const char *fmt, va_list ap)
{
    const bronze_ynode *blame = at;
    if (at && at->key)
        at = at->key;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int line = at ? at->line : 1, col = at ? at->col : 1;
    bronze_err_set(c->err, BRONZE_E_CONFIG, "%s:%d:%d: %s: %s", c->file, line, col, kp, msg);
    c->nfails++;
    if (!read_as_absent(c, kp)) {
        bronze_diags_add(c->diags, true, line, col, "%s", c->err->msg);
        if (blame && c->nblamed < sizeof c->blamed / sizeof c->blamed[0]) {
            c->blamed[c->nblamed] = blame;
            snprintf(c->absent[c->nabsent + c->nblamed], KP_MAX, "%s", kp);
            c->nblamed++;
        }
    }
    return -1;
}

static int fail(lctx *c, const bronze_ynode *at, const char *kp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(lctx *c, const bronze_ynode *at, const char *kp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(c, at, kp, fmt, ap);
    va_end(ap);
    return -1;
}

/* An error found by a check that changes nothing (a required key missing, a
 * rule across sections): reported like fail(), but the read goes on, so the
 * keys after it are checked too. Returns 0. */
static int soft(lctx *c, const bronze_ynode *at, const char *kp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int soft(lctx *c, const bronze_ynode *at, const char *kp, const char *fmt, ...)
{
    if (at && at->key)
        at = at->key;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = at ? at->line : 1, col = at ? at->col : 1;
    if (!read_as_absent(c, kp))
        bronze_diags_add(c->diags, true, line, col, "%s:%d:%d: %s: %s", c->file, line, col, kp,
                         msg);
    return 0;
}

static int oom(lctx *c)
{
    return bronze_err_set(c->err, BRONZE_E_CONFIG, "%s: out of memory", c->file);
}

/* ---- unknown keys ---- */

static int lower(int ch)
{
    return tolower((unsigned char)ch);
}

/* Optimal-string-alignment distance (edits plus adjacent swaps), ignoring case. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = lower(a[i - 1]) != lower(b[j - 1]);
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && lower(hay[i]) == lower(needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

/* The known key closest to s, or NULL when none is reasonably close: a few
 * edits (a third of the longer name, at least two), or one name inside the
 * other ("bucket" -> "s3_bucket"). */
static const char *closest_key(const char *s, const char *const *known)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (; *known; known++) {
        size_t d = edit_distance(s, *known);
        size_t ls = strlen(s), lk = strlen(*known);
        size_t limit = (ls > lk ? ls : lk) / 3;
        if (limit < 2)
            limit = 2;
        bool inside = (ls >= 4 && contains_ci(*known, s)) || (lk >= 4 && contains_ci(s, *known));
        if ((d <= limit || inside) && d < best_d) {
            best = *known;
            best_d = d;
        }
    }
    return best;
}

static bool known_key(const bronze_ynode *k, const char *const *known)
{
    for (; *known; known++)
        if (strlen(*known) == k->len && !memcmp(*known, k->text, k->len))
            return true;
    return false;
}

static void warn_unknown_keys(lctx *c, const bronze_ynode *m, const char *path,
                              const char *const *known)
{
    for (size_t i = 0; i < bronze_ymap_len(m); i++) {
        const bronze_ynode *k = bronze_ymap_key(m, i);
        if (known_key(k, known))
            continue;
        /* Top-level "x-..." keys hold YAML anchors for reuse (the docker-compose
         * extension-field convention): never warned about. */
        if (!*path && k->len > 2 && !strncmp(k->text, "x-", 2))
            continue;
        char kp[KP_MAX];
        kpath(kp, path, k->text);
        const char *hint = strlen(k->text) == k->len ? closest_key(k->text, known) : NULL;
        if (hint)
            bronze_diags_add(c->diags, false, k->line, k->col,
                             "%s:%d:%d: %s: unknown key (did you mean '%s'?)", c->file, k->line,
                             k->col, kp, hint);
        else
            bronze_diags_add(c->diags, false, k->line, k->col, "%s:%d:%d: %s: unknown key", c->file,
                             k->line, k->col, kp);
    }
}

/* ---- typed reads; an absent or null value leaves *out as it was ---- */

/* Finds key (or its 1.0 alias) in m. *v is NULL when absent or null; kp gets
 * the path of the key found (else of key). Both given with different values
 * is an error. */
static int lookup(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                  const char *alias, const bronze_ynode **v, char *kp)
{
    const bronze_ynode *kn = NULL, *akn = NULL;
    const bronze_ynode *pv = bronze_ymap_get(m, key, &kn);
    const bronze_ynode *av = alias ? bronze_ymap_get(m, alias, &akn) : NULL;
    kpath(kp, path, key);
    if (pv && av) {
        bool same = pv->kind == BRONZE_YNODE_SCALAR && av->kind == BRONZE_YNODE_SCALAR &&
                    pv->len == av->len && !memcmp(pv->text, av->text, pv->len);
        if (!same) {
            char akp[KP_MAX];
            kpath(akp, path, alias);
            return fail(c, akn, akp,
                        "same setting as %s (line %d) with a different value; give one", key,
                        kn->line);
        }
    }
    if (!pv && av) {
        pv = av;
        kpath(kp, path, alias);
    }
    *v = pv && !bronze_ynode_is_null(pv) ? pv : NULL;
    return 0;
}

static int need_scalar(lctx *c, const bronze_ynode *v, const char *kp, const char *what)
{
    if (v->kind != BRONZE_YNODE_SCALAR)
        return fail(c, v, kp, "must be %s, not a %s", what,
                    v->kind == BRONZE_YNODE_MAP ? "mapping" : "list");
    return 0;
}

static int val_str(lctx *c, const bronze_ynode *v, const char *kp, char **out)
{
    if (need_scalar(c, v, kp, "a string"))
        return -1;
    if (strlen(v->text) != v->len)
        return fail(c, v, kp, "must not contain a NUL character");
    char *s = strdup(v->text);
    if (!s)
        return oom(c);
    free(*out);
    *out = s;
    return 0;
}

static int opt_str(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                   const char *alias, char **out)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, m, path, key, alias, &v, kp))
        return -1;
    return v ? val_str(c, v, kp, out) : 0;
}

/* A `*_env` key: the NAME of a variable. A value that is not a plain name is
 * most likely the secret itself pasted in, so it is refused and not echoed. */
static int opt_env_name(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                        const char *alias, char **out)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, m, path, key, alias, &v, kp))
        return -1;
    if (!v)
        return 0;
    if (need_scalar(c, v, kp, "an environment variable name"))
        return -1;
    bool ok = v->len > 0 && strlen(v->text) == v->len &&
              (isalpha((unsigned char)v->text[0]) || v->text[0] == '_');
    for (size_t i = 0; ok && i < v->len; i++)
        ok = isalnum((unsigned char)v->text[i]) || v->text[i] == '_';
    if (!ok)
        return fail(c, v, kp,
                    "must be the name of an environment variable (letters, digits and '_'), "
                    "not its value");
    return val_str(c, v, kp, out);
}

static bool text_is(const bronze_ynode *v, const char *s)
{
    return strlen(s) == v->len && !strncasecmp(v->text, s, v->len);
}

static int val_bool(lctx *c, const bronze_ynode *v, const char *kp, bool *out)
{
    if (v->kind == BRONZE_YNODE_SCALAR) {
        if (text_is(v, "true") || text_is(v, "yes")) {
            *out = true;
            return 0;
        }
        if (text_is(v, "false") || text_is(v, "no")) {
            *out = false;
            return 0;
        }
    }
    return fail(c, v, kp, "must be true or false");
}

static int opt_bool(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                    const char *alias, bool *out)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, m, path, key, alias, &v, kp))
        return -1;
    return v ? val_bool(c, v, kp, out) : 0;
}

/* Reads a scalar as a number. Strict: only an unquoted YAML number is one
 * (a quoted "100" is text, as it was to 1.0's validator); lenient reads the
 * text either way. */
static bronze_yscalar_type scalar_number(const bronze_ynode *v, int64_t *i, double *d, bool lenient)
{
    if (v->kind != BRONZE_YNODE_SCALAR || (!v->plain && !lenient))
        return BRONZE_YSCALAR_STR;
    bronze_ynode tmp = *v;
    tmp.plain = true;
    return bronze_yscalar_classify(&tmp, i, d, NULL);
}

/* A YAML number (integer or not) as a double; -1 for anything else. */
static double number_or_minus1(const bronze_ynode *v)
{
    int64_t i;
    double d;
    bronze_yscalar_type t = scalar_number(v, &i, &d, false);
    if (t == BRONZE_YSCALAR_INT)
        return (double)i;
    return t == BRONZE_YSCALAR_FLOAT ? d : -1;
}

/* " (without quotes)" when v is a quoted number, to say why it was refused. */
static const char *quote_hint(const bronze_ynode *v)
{
    bronze_yscalar_type t = scalar_number(v, NULL, NULL, true);
    return !v->plain && (t == BRONZE_YSCALAR_INT || t == BRONZE_YSCALAR_FLOAT)
               ? " (write it without quotes)"
               : "";
}

static int opt_int(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                   const char *alias, int64_t min, int64_t max, int64_t *out)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, m, path, key, alias, &v, kp))
        return -1;
    if (!v)
        return 0;
    int64_t i = 0;
    double d = 0;
    bronze_yscalar_type t = scalar_number(v, &i, &d, false);
    /* an integer beyond int64 reads as a float */
    bool huge = t == BRONZE_YSCALAR_FLOAT && d > (double)max && d == floor(d);
    if (huge || (t == BRONZE_YSCALAR_INT && i > max))
        return fail(c, v, kp, "must be an integer <= %lld", (long long)max);
    if (t != BRONZE_YSCALAR_INT || i < min)
        return fail(c, v, kp, "must be an integer >= %lld%s", (long long)min, quote_hint(v));
    *out = i;
    return 0;
}

static int opt_int32(lctx *c, const bronze_ynode *m, const char *path, const char *key, int64_t min,
                     int64_t max, int *out)
{
    int64_t v = *out;
    if (opt_int(c, m, path, key, NULL, min, max, &v))
        return -1;
    *out = (int)v;
    return 0;
}

/* Scalar text for messages: short and printable. */
static void show_value(const bronze_ynode *v, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < v->len && n + 4 < cap; i++) {
        unsigned char ch = (unsigned char)v->text[i];
        out[n++] = ch >= 0x20 && ch != 0x7f ? (char)ch : '?';
    }
    if (n < v->len && n + 4 <= cap) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = 0;
}

static void enum_list(const enum_opt *opts, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (; opts->name; opts++)
        if (!opts->alias && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "", opts->name);
}

static int val_enum(lctx *c, const bronze_ynode *v, const char *kp, const enum_opt *opts, int *out)
{
    if (v->kind == BRONZE_YNODE_SCALAR) {
        for (const enum_opt *o = opts; o->name; o++) {
            if (text_is(v, o->name)) {
                *out = o->value;
                return 0;
            }
        }
    }
    char allowed[256], got[80];
    enum_list(opts, allowed, sizeof allowed);
    if (v->kind != BRONZE_YNODE_SCALAR)
        return fail(c, v, kp, "must be one of %s", allowed);
    show_value(v, got, sizeof got);
    return fail(c, v, kp, "must be one of %s (got '%s')", allowed, got);
}

static int opt_enum(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                    const enum_opt *opts, int *out, const bronze_ynode **at)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, m, path, key, NULL, &v, kp))
        return -1;
    if (at)
        *at = v;
    return v ? val_enum(c, v, kp, opts, out) : 0;
}

/* A sub-section: absent or null gives *out = NULL; anything but a mapping is
 * an error. *keynode (optional) gets the section's key, for messages. */
static int opt_map(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                   const bronze_ynode **out, const bronze_ynode **keynode)
{
    const bronze_ynode *kn;
    const bronze_ynode *v = m ? bronze_ymap_get(m, key, &kn) : NULL;
    *out = NULL;
    if (keynode)
        *keynode = v ? kn : NULL;
    if (!v || bronze_ynode_is_null(v))
        return 0;
    if (v->kind != BRONZE_YNODE_MAP) {
        char kp[KP_MAX];
        kpath(kp, path, key);
        return fail(c, v, kp, "must be a mapping of keys");
    }
    *out = v;
    return 0;
}

static bool empty(const char *s)
{
    if (!s)
        return true;
    while (*s && isspace((unsigned char)*s))
        s++;
    return !*s;
}

static int set_default(lctx *c, char **field, const char *value)
{
    if (*field)
        return 0;
    if (!(*field = strdup(value)))
        return oom(c);
    return 0;
}

/* ---- platform ---- */

static int load_storage_backend(lctx *c, const bronze_ynode *bronze)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, bronze, "platform.bronze", "storage_backend", NULL, &v, kp))
        return -1;
    if (!v)
        return 0;
    c->backend_at = v;
    if (v->kind == BRONZE_YNODE_SCALAR &&
        (text_is(v, "azure") || text_is(v, "gcs") || text_is(v, "gcp"))) {
        char got[80];
        show_value(v, got, sizeof got);
        return fail(c, v, kp,
                    "'%s' is not supported; use an S3-compatible endpoint instead "
                    "(storage_backend: s3 with platform.s3_connection.endpoint_url_env)",
                    got);
    }
    int b;
    if (val_enum(c, v, kp, BACKENDS, &b))
        return -1;
    c->cfg->storage_backend = (bronze_backend)b;
    c->backend_explicit = true;
    return 0;
}

static int opt_str_list(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                        bool single_ok, char ***out, size_t *nout, const bronze_ynode **at);

static int load_bronze(lctx *c, const bronze_ynode *bronze)
{
    bronze_config *cfg = c->cfg;
    const char *P = "platform.bronze";
    warn_unknown_keys(c, bronze, P, BRONZE_KEYS);
    if (load_storage_backend(c, bronze) ||
        opt_str(c, bronze, P, "s3_bucket", NULL, &cfg->s3_bucket) ||
        opt_str(c, bronze, P, "s3_prefix", NULL, &cfg->s3_prefix) ||
        opt_str(c, bronze, P, "local_path", NULL, &cfg->local_path))
        return -1;

    const bronze_ynode *part, *out;
    if (opt_map(c, bronze, P, "partitioning", &part, NULL))
        return -1;
    if (part) {
        const char *PP = "platform.bronze.partitioning";
        int s = (int)cfg->strategy;
        warn_unknown_keys(c, part, PP, PARTITIONING_KEYS);
        if (opt_bool(c, part, PP, "use_dt_partition", NULL, &cfg->use_dt_partition) ||
            opt_enum(c, part, PP, "partition_strategy", STRATEGIES, &s, NULL))
            return -1;
        cfg->strategy = (bronze_partition_strategy)s;
    }
    if (opt_map(c, bronze, P, "output_defaults", &out, NULL))
        return -1;
    if (out) {
        const char *OP = "platform.bronze.output_defaults";
        int codec = (int)cfg->parquet_compression, time_as = (int)cfg->time_as;
        warn_unknown_keys(c, out, OP, OUTPUT_DEFAULTS_KEYS);
        if (opt_bool(c, out, OP, "allow_csv", NULL, &cfg->allow_csv) ||
            opt_bool(c, out, OP, "allow_parquet", NULL, &cfg->allow_parquet) ||
            opt_enum(c, out, OP, "parquet_compression", CODECS, &codec, NULL) ||
            opt_str_list(c, out, OP, "parquet_bloom_filter_columns", true, &cfg->bloom_columns,
                         &cfg->n_bloom_columns, NULL) ||
            opt_enum(c, out, OP, "time_as", TIME_AS, &time_as, NULL))
            return -1;
        cfg->parquet_compression = (bronze_codec)codec;
        cfg->time_as = (bronze_time_as)time_as;
        const bronze_ynode *v;
        char kp[KP_MAX];
        if (lookup(c, out, OP, "parquet_bloom_filter_fpp", NULL, &v, kp))
            return -1;
        if (v) {
            double d = number_or_minus1(v);
            if (!(d > 0 && d < 1))
                return fail(c, v, kp, "must be a number between 0 and 1 (exclusive)%s",
                            quote_hint(v));
            cfg->bloom_fpp = d;
        }
    }
    return 0;
}

static int load_s3_connection(lctx *c, const bronze_ynode *s3)
{
    bronze_config *cfg = c->cfg;
    const char *P = "platform.s3_connection";
    cfg->s3.present = true;
    warn_unknown_keys(c, s3, P, S3_KEYS);
    if (opt_env_name(c, s3, P, "endpoint_url_env", NULL, &cfg->s3.endpoint_url_env) ||
        opt_env_name(c, s3, P, "access_key_env", NULL, &cfg->s3.access_key_env) ||
        opt_env_name(c, s3, P, "secret_key_env", NULL, &cfg->s3.secret_key_env) ||
        opt_env_name(c, s3, P, "session_token_env", NULL, &cfg->s3.session_token_env) ||
        opt_str(c, s3, P, "region", NULL, &cfg->s3.region) ||
        opt_env_name(c, s3, P, "region_env", NULL, &cfg->s3.region_env) ||
        opt_str(c, s3, P, "ca_bundle", NULL, &cfg->s3.ca_bundle))
        return -1;
    int style = -1;
    if (opt_enum(c, s3, P, "addressing_style", ADDRESSING, &style, NULL))
        return -1;
    if (style >= 0 && set_default(c, &cfg->s3.addressing_style, style ? "virtual" : "path"))
        return -1;
    return 0;
}

static int load_platform(lctx *c, const bronze_ynode *root)
{
    const bronze_ynode *pm, *bronze, *s3;
    if (opt_map(c, root, "", "platform", &pm, NULL))
        return -1;
    if (!pm)
        return 0;
    warn_unknown_keys(c, pm, "platform", PLATFORM_KEYS);
    if (opt_map(c, pm, "platform", "bronze", &bronze, NULL))
        return -1;
    if (bronze && load_bronze(c, bronze))
        return -1;
    if (opt_map(c, pm, "platform", "s3_connection", &s3, NULL))
        return -1;
    if (s3 && load_s3_connection(c, s3))
        return -1;
    /* platform.dlt: documented by 1.0, unused; its content is not read */
    return 0;
}

/* ---- source.run ---- */

#define SEGMENT_RULE                                                                               \
    "must be a safe path segment: letters, digits, '_', '-' and '.' only, not '.' or '..' and "    \
    "without '..'"

/* A path segment of at most max bytes (the bound keeps every name built from
 * it inside its buffer and one file name: see BRONZE_SEGMENT_MAX). */
static int opt_segment(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                       size_t max, char **out)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, m, path, key, NULL, &v, kp))
        return -1;
    if (!v)
        return 0;
    if (val_str(c, v, kp, out))
        return -1;
    if (!bronze_config_segment_ok(*out))
        return fail(c, v, kp, SEGMENT_RULE);
    size_t n = strlen(*out);
    if (n > max)
        return fail(c, v, kp, "is %zu bytes long; at most %zu bytes (it becomes a folder name)", n,
                    max);
    return 0;
}

/* The longest partition path this config can give (partition.h's layout,
 * auto batch ids are 24 bytes), checked against BRONZE_PARTITION_PATH_MAX. */
static int check_partition_path(lctx *c, const bronze_ynode *sm)
{
    const bronze_config *cfg = c->cfg;
    if (!cfg->system || !cfg->table)
        return 0; /* reported already */
    size_t n = strlen("system=/table=/") + strlen(cfg->system) + strlen(cfg->table);
    if (cfg->use_dt_partition)
        n += strlen("dt=YYYY-MM-DD/");
    const char *what = "system and table together";
    switch (cfg->strategy) {
    case BRONZE_PART_HOURLY:
        n += strlen("hour=HH/");
        break;
    case BRONZE_PART_TIMESTAMP:
        n += strlen("batch=YYYYMMDD_HHMM/");
        break;
    case BRONZE_PART_BATCH_ID:
        n += strlen("batch_id=/") + (cfg->run.batch_id ? strlen(cfg->run.batch_id) : 24);
        what = "system, table and batch_id together";
        break;
    default:
        break;
    }
    if (n <= BRONZE_PARTITION_PATH_MAX)
        return 0;
    const bronze_ynode *kn, *tv = bronze_ymap_get(sm, "table", &kn);
    return soft(c, tv, "source.table",
                "%s make a partition path of %zu bytes; at most %d bytes (the path, with '/' "
                "as '+', names the partition's lock file, one file name)",
                what, n, BRONZE_PARTITION_PATH_MAX);
}

static int load_run(lctx *c, const bronze_ynode *run)
{
    bronze_config *cfg = c->cfg;
    const char *P = "source.run";
    warn_unknown_keys(c, run, P, RUN_KEYS);
    if (opt_int(c, run, P, "max_rows_per_file", NULL, 0, INT64_MAX, &cfg->run.max_rows_per_file))
        return -1;

    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, run, P, "max_file_size_mb", NULL, &v, kp))
        return -1;
    if (v) {
        double d = number_or_minus1(v);
        /* the upper bound keeps size_mb * 1 MiB well inside int64 */
        if (!isfinite(d) || d <= 0)
            return fail(c, v, kp, "must be a positive number%s", quote_hint(v));
        if (d > 1048576.0)
            return fail(c, v, kp, "must be at most 1048576 (1 TiB)");
        if (d < BRONZE_MIN_FILE_SIZE_MB)
            return fail(c, v, kp,
                        "must be at least 1/1024 (1 KiB): a smaller part cannot hold a header "
                        "and a row");
        cfg->run.max_file_size_mb = d;
    }

    if (opt_int32(c, run, P, "parallel_workers", 1, 1024, &cfg->run.parallel_workers) ||
        opt_bool(c, run, P, "write_csv", NULL, &cfg->run.write_csv) ||
        opt_bool(c, run, P, "write_parquet", NULL, &cfg->run.write_parquet))
        return -1;

    if (lookup(c, run, P, "s3_enabled", "storage_enabled", &v, kp))
        return -1;
    if (v) {
        if (val_bool(c, v, kp, &cfg->run.s3_enabled))
            return -1;
        c->s3_enabled_at = v;
        snprintf(c->s3_enabled_path, sizeof c->s3_enabled_path, "%s", kp);
    }

    if (lookup(c, run, P, "local_output_dir", NULL, &v, kp))
        return -1;
    if (v && val_str(c, v, kp, &cfg->run.local_output_dir))
        return -1;
    if (v && empty(cfg->run.local_output_dir))
        return fail(c, v, kp, "must not be empty");
    if (opt_bool(c, run, P, "cleanup_on_failure", NULL, &cfg->run.cleanup_on_failure) ||
        opt_segment(c, run, P, "batch_id", BRONZE_BATCH_ID_MAX, &cfg->run.batch_id) ||
        opt_int32(c, run, P, "timeout_seconds", 1, 86400, &cfg->run.timeout_seconds) ||
        opt_int32(c, run, P, "max_retries", 0, 100, &cfg->run.max_retries))
        return -1;
    c->run_timeout_given = bronze_ymap_get(run, "timeout_seconds", NULL) != NULL;
    int iu = (int)cfg->run.invalid_utf8;
    if (opt_enum(c, run, P, "invalid_utf8", INVALID_UTF8, &iu, NULL))
        return -1;
    cfg->run.invalid_utf8 = (bronze_invalid_utf8)iu;
    return 0;
}

/* ---- source.db ---- */

/* The head of an `incremental` section, db or api alike: a bare true/false
 * or a mapping whose `enabled` says it. Sets *enabled (-1 when not said) and
 * where it was said; warns about unknown keys of a mapping. */
static int incremental_head(lctx *c, const bronze_ynode *inc, const char *path,
                            const char *const *keys, const char *shape, int *enabled,
                            const bronze_ynode **enabled_at)
{
    bool b;
    if (inc->kind == BRONZE_YNODE_SCALAR) {
        if (val_bool(c, inc, path, &b))
            return fail(c, inc, path, "must be a mapping %s or true/false", shape);
        *enabled = b;
        *enabled_at = inc;
        return 0;
    }
    if (inc->kind != BRONZE_YNODE_MAP)
        return fail(c, inc, path, "must be a mapping of keys");
    warn_unknown_keys(c, inc, path, keys);
    const bronze_ynode *ev;
    char kp[KP_MAX];
    if (lookup(c, inc, path, "enabled", NULL, &ev, kp))
        return -1;
    if (ev) {
        if (val_bool(c, ev, kp, &b))
            return -1;
        *enabled = b;
        *enabled_at = ev;
    }
    return 0;
}

/* source.db.partitioning (SPEC §8): {column, num_partitions, lower_bound?,
 * upper_bound?}; the bounds are read as the column's type once it is known. */
static int load_db_partitioning(lctx *c, const bronze_ynode *db)
{
    bronze_config *cfg = c->cfg;
    const char *P = "source.db.partitioning";
    const bronze_ynode *pm, *pk;
    if (opt_map(c, db, "source.db", "partitioning", &pm, &pk))
        return -1;
    if (!pm)
        return 0;
    warn_unknown_keys(c, pm, P, DB_PART_KEYS);
    const bronze_ynode *col, *np;
    char kp[KP_MAX];
    if (opt_str(c, pm, P, "column", NULL, &cfg->db.partitioning.column) ||
        opt_int(c, pm, P, "num_partitions", NULL, 1, 10000, &cfg->db.partitioning.num_partitions) ||
        opt_str(c, pm, P, "lower_bound", NULL, &cfg->db.partitioning.lower_bound) ||
        opt_str(c, pm, P, "upper_bound", NULL, &cfg->db.partitioning.upper_bound) ||
        lookup(c, pm, P, "column", NULL, &col, kp))
        return -1;
    if (!col || empty(cfg->db.partitioning.column))
        return fail(c, col ? col : pk, "source.db.partitioning.column",
                    col ? "must not be empty"
                        : "required (the integer, date or timestamp "
                          "column to split the query by)");
    if (lookup(c, pm, P, "num_partitions", NULL, &np, kp))
        return -1;
    if (!np)
        return fail(c, pk, "source.db.partitioning.num_partitions",
                    "required (how many key ranges to split the query into)");
    return 0;
}

static int load_db(lctx *c, const bronze_ynode *db)
{
    bronze_config *cfg = c->cfg;
    const char *P = "source.db";
    warn_unknown_keys(c, db, P, DB_KEYS);
    if (opt_env_name(c, db, P, "conn_str_env", NULL, &cfg->db.conn_str_env) ||
        opt_str(c, db, P, "base_query", NULL, &cfg->db.base_query) ||
        opt_int(c, db, P, "fetch_batch_size", "batch_size", 1, BRONZE_FETCH_BATCH_MAX,
                &cfg->db.fetch_batch_size))
        return -1;

    /* incremental: the nested section (or a bare true/false) */
    const bronze_ynode *kn, *inc = bronze_ymap_get(db, "incremental", &kn);
    const bronze_ynode *enabled_at = NULL;
    int enabled = -1; /* -1: not said */
    if (inc && !bronze_ynode_is_null(inc)) {
        const char *IP = "source.db.incremental";
        if (incremental_head(c, inc, IP, DB_INC_KEYS,
                             "(enabled, cursor_column, state_file, cursor_type, lookback)",
                             &enabled, &enabled_at))
            return -1;
        if (inc->kind == BRONZE_YNODE_MAP) {
            char kp[KP_MAX];
            int ct = (int)cfg->db.cursor_type;
            if (opt_str(c, inc, IP, "cursor_column", NULL, &cfg->db.cursor_column) ||
                opt_str(c, inc, IP, "state_file", NULL, &cfg->db.state_file) ||
                opt_enum(c, inc, IP, "cursor_type", CURSOR_TYPES, &ct, NULL))
                return -1;
            cfg->db.cursor_type = (bronze_cursor_type)ct;
            const bronze_ynode *column_at;
            if (lookup(c, inc, IP, "cursor_column", NULL, &column_at, kp))
                return -1;
            if (column_at && empty(cfg->db.cursor_column))
                return fail(c, column_at, kp, "must not be empty");

            const bronze_ynode *lb;
            if (lookup(c, inc, IP, "lookback", NULL, &lb, kp))
                return -1;
            if (lb) {
                int64_t i;
                double d;
                bronze_yscalar_type t = scalar_number(lb, &i, &d, true);
                if (val_str(c, lb, kp, &cfg->db.lookback))
                    return -1;
                if ((t == BRONZE_YSCALAR_INT && i < 0) ||
                    (t == BRONZE_YSCALAR_FLOAT && !(d >= 0 && isfinite(d))) ||
                    empty(cfg->db.lookback) || strlen(cfg->db.lookback) > 100 ||
                    cfg->db.lookback[0] == '-')
                    return fail(c, lb, kp,
                                "must be an interval such as '2 hours' or a number >= 0");
                bronze_dbc_lookback parsed;
                if (bronze_dbc_lookback_parse(cfg->db.lookback, &parsed))
                    return fail(c, lb, kp,
                                "must be an interval such as '2 hours' or '30 minutes' (units "
                                "us, ms, seconds, minutes, hours, days, weeks, months, years) "
                                "or a number >= 0");
            }
        }
    }

    /* the flat (seed) form */
    const bronze_ynode *key_at;
    char kp[KP_MAX];
    if (lookup(c, db, P, "incremental_key", NULL, &key_at, kp))
        return -1;
    if (key_at) {
        char *col = NULL;
        if (val_str(c, key_at, kp, &col))
            return -1;
        if (empty(col)) {
            free(col);
            return fail(c, key_at, kp, "must not be empty");
        }
        if (cfg->db.cursor_column && strcmp(cfg->db.cursor_column, col)) {
            free(col);
            return fail(c, key_at, kp,
                        "differs from source.db.incremental.cursor_column; give one");
        }
        free(cfg->db.cursor_column);
        cfg->db.cursor_column = col;
    }
    if (opt_env_name(c, db, P, "incremental_cursor_env", NULL, &cfg->db.cursor_env))
        return -1;
    const bronze_ynode *cv;
    if (lookup(c, db, P, "incremental_cursor_value", NULL, &cv, kp))
        return -1;
    if (cv && val_str(c, cv, kp, &cfg->db.cursor_value))
        return -1;

    /* enabled when said so, else when a cursor column is given */
    cfg->db.incremental = enabled >= 0 ? enabled == 1 : cfg->db.cursor_column != NULL;
    if (cfg->db.incremental && !cfg->db.cursor_column)
        return fail(c, enabled_at ? enabled_at : kn, "source.db.incremental.cursor_column",
                    "required when incremental is enabled (or give source.db.incremental_key)");
    if (!cfg->db.cursor_column) {
        const bronze_ynode *k2;
        if (bronze_ymap_get(db, "incremental_cursor_env", &k2) && cfg->db.cursor_env)
            return fail(c, k2, "source.db.incremental_cursor_env",
                        "needs source.db.incremental_key (the cursor column)");
        if (cfg->db.cursor_value) {
            bronze_ymap_get(db, "incremental_cursor_value", &k2);
            return fail(c, k2, "source.db.incremental_cursor_value",
                        "needs source.db.incremental_key (the cursor column)");
        }
    }
    return load_db_partitioning(c, db);
}

/* ---- source.api ---- */

/* headers / params: a mapping of scalars, kept as their text; null values are
 * dropped (as requests does with None). */
/* One name's value, appended to kv[*n]; a null one is left out. */
static int kv_add(lctx *c, const bronze_ynode *k, const bronze_ynode *v, const char *kp,
                  bronze_kv *kv, size_t *n)
{
    if (bronze_ynode_is_null(v))
        return 0;
    if (need_scalar(c, v, kp, "a single value") || val_str(c, v, kp, &kv[*n].value))
        return -1;
    if (!(kv[*n].key = strdup(k->text)))
        return oom(c);
    ++*n;
    return 0;
}

/* RFC 9110 5.6.2: a header's name is a token. Fails at node at (key path kp)
 * when name is not one; 0 when it is. */
static int header_name(lctx *c, const bronze_ynode *at, const char *kp, const char *name)
{
    static const char tchar[] =
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    if (strspn(name, tchar) == strlen(name))
        return 0;
    return fail(c, at, kp, "not an HTTP header name (letters, digits and !#$%%&'*+.^_`|~- only)");
}

/* RFC 9110 5.5: a field value is visible characters, spaces and tabs (and
 * bytes >= 0x80); a CR or LF would end the header and start another. */
static bool header_value_ok(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

/* headers or params: a mapping of names to single values; for params
 * (lists) a list of values too, sent as the name repeated, as 1.0's
 * requests sent them (ids: [1, 2] -> ids=1&ids=2). */
static int load_kv(lctx *c, const bronze_ynode *api, const char *key, bool lists, bronze_kv **out,
                   size_t *nout)
{
    const bronze_ynode *m;
    char kp[KP_MAX];
    kpath(kp, "source.api", key);
    if (opt_map(c, api, "source.api", key, &m, NULL))
        return -1;
    if (!m)
        return 0;
    size_t n = bronze_ymap_len(m), cap = n;
    for (size_t i = 0; i < n; i++)
        if (lists && bronze_ymap_val(m, i)->kind == BRONZE_YNODE_SEQ)
            cap += bronze_ymap_val(m, i)->nkids;
    bronze_kv *kv = calloc(cap ? cap : 1, sizeof *kv);
    if (!kv)
        return oom(c);
    *out = kv;
    *nout = 0;
    for (size_t i = 0; i < n; i++) {
        const bronze_ynode *k = bronze_ymap_key(m, i), *v = bronze_ymap_val(m, i);
        char ikp[KP_MAX];
        kpath(ikp, kp, k->text);
        if (bronze_ynode_is_null(v))
            continue;
        if (strlen(k->text) != k->len || k->len == 0)
            return fail(c, k, ikp, "names must be non-empty text");
        if (!lists && header_name(c, k, ikp, k->text))
            return -1;
        if (!lists || v->kind != BRONZE_YNODE_SEQ) {
            if (kv_add(c, k, v, ikp, kv, nout))
                return -1;
            if (!lists && !header_value_ok(kv[*nout - 1].value))
                return fail(c, v, ikp,
                            "holds a line break or a control character, which an HTTP header "
                            "value cannot");
            continue;
        }
        for (size_t j = 0; j < v->nkids; j++) {
            char jkp[KP_MAX + 24];
            snprintf(jkp, sizeof jkp, "%s.%zu", ikp, j);
            if (kv_add(c, k, v->kids[j], jkp, kv, nout))
                return -1;
        }
    }
    return 0;
}

/* Whether t[0..n) is a JSON number as RFC 8259 writes one. */
static bool json_number_text(const char *t, size_t n)
{
    size_t i = t[0] == '-';
    if (i >= n || !isdigit((unsigned char)t[i]))
        return false;
    if (t[i] == '0')
        i++;
    else
        while (i < n && isdigit((unsigned char)t[i]))
            i++;
    if (i < n && t[i] == '.') {
        if (++i >= n || !isdigit((unsigned char)t[i]))
            return false;
        while (i < n && isdigit((unsigned char)t[i]))
            i++;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        if (++i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        if (i >= n || !isdigit((unsigned char)t[i]))
            return false;
        while (i < n && isdigit((unsigned char)t[i]))
            i++;
    }
    return i == n;
}

/* A YAML value as compact JSON text onto b, numbers as written when JSON
 * writes them so (19.99 stays 19.99, not 19.989999999999998; an integer
 * beyond int64 keeps every digit); other scalars as jansson writes them
 * (0x1F -> 31, strings escaped). -1 on OOM. */
static int yaml_json_text(bronze_buf *b, const bronze_ynode *n)
{
    if (n->kind == BRONZE_YNODE_SEQ || n->kind == BRONZE_YNODE_MAP) {
        bool map = n->kind == BRONZE_YNODE_MAP;
        size_t k = map ? bronze_ymap_len(n) : n->nkids;
        if (bronze_buf_putc(b, map ? '{' : '['))
            return -1;
        for (size_t i = 0; i < k; i++) {
            if (i && bronze_buf_putc(b, ','))
                return -1;
            if (map) {
                const bronze_ynode *key = bronze_ymap_key(n, i);
                json_t *ks = json_stringn(key->text, key->len);
                char *kt = ks ? json_dumps(ks, JSON_ENCODE_ANY) : NULL;
                json_decref(ks);
                int rc = !kt || bronze_buf_append(b, kt, strlen(kt)) || bronze_buf_putc(b, ':');
                free(kt);
                if (rc)
                    return -1;
            }
            if (yaml_json_text(b, map ? bronze_ymap_val(n, i) : n->kids[i]))
                return -1;
        }
        return bronze_buf_putc(b, map ? '}' : ']');
    }
    int kind = bronze_yscalar_classify(n, NULL, NULL, NULL);
    if ((kind == BRONZE_YSCALAR_INT || kind == BRONZE_YSCALAR_FLOAT) &&
        json_number_text(n->text, n->len))
        return bronze_buf_append(b, n->text, n->len);
    json_t *j = bronze_ynode_to_json(n);
    char *t = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    int rc = !t || bronze_buf_append(b, t, strlen(t));
    free(t);
    return rc ? -1 : 0;
}

/* Valid JSON text t[0..n) onto b without the whitespace between its tokens
 * (what is inside strings, and every number, as written). -1 on OOM. */
static int json_compact_text(bronze_buf *b, const char *t, size_t n)
{
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char ch = t[i];
        if (in_str) {
            if (ch == '\\' && i + 1 < n) {
                if (bronze_buf_append(b, t + i, 2))
                    return -1;
                i++;
                continue;
            }
            in_str = ch != '"';
        } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            continue;
        } else {
            in_str = ch == '"';
        }
        if (bronze_buf_putc(b, (uint8_t)ch))
            return -1;
    }
    return 0;
}

/* body: any YAML value as JSON text (yaml_json_text). A string holding a
 * JSON object or array (a literal block of JSON) is sent as that JSON,
 * compacted, its numbers as written. */
static int load_body(lctx *c, const bronze_ynode *api, bool post)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, api, "source.api", "body", NULL, &v, kp))
        return -1;
    if (!v)
        return 0;
    bool literal = false;
    if (v->kind == BRONZE_YNODE_SCALAR &&
        bronze_yscalar_classify(v, NULL, NULL, NULL) == BRONZE_YSCALAR_STR) {
        json_error_t je;
        json_t *j = json_loadb(v->text, v->len, JSON_DECODE_ANY, &je);
        literal = json_is_object(j) || json_is_array(j);
        json_decref(j);
    }
    bronze_buf b = BRONZE_BUF_INIT;
    if ((literal ? json_compact_text(&b, v->text, v->len) : yaml_json_text(&b, v)) ||
        bronze_buf_cstr(&b)) {
        bronze_buf_free(&b);
        return oom(c);
    }
    char *s = (char *)b.data;
    free(c->cfg->api.body_json);
    c->cfg->api.body_json = s;
    if (!post)
        bronze_diags_add(c->diags, false, v->line, v->col,
                         "%s:%d:%d: %s: sent only with method: POST; this GET source sends no "
                         "body",
                         c->file, v->line, v->col, kp);
    return 0;
}

static int load_pagination(lctx *c, const bronze_ynode *api)
{
    bronze_config *cfg = c->cfg;
    const char *P = "source.api.pagination";
    const bronze_ynode *pg = bronze_ymap_get(api, "pagination", NULL);
    if (!pg || bronze_ynode_is_null(pg))
        return 0;
    int t = (int)cfg->api.pagination.type;
    if (pg->kind == BRONZE_YNODE_SCALAR) { /* `pagination: page` */
        if (val_enum(c, pg, P, PAGE_TYPES, &t))
            return -1;
        cfg->api.pagination.type = (bronze_pagination_type)t;
        return 0;
    }
    if (pg->kind != BRONZE_YNODE_MAP)
        return fail(c, pg, P, "must be a mapping of keys");
    warn_unknown_keys(c, pg, P, PAGINATION_KEYS);
    if (opt_enum(c, pg, P, "type", PAGE_TYPES, &t, NULL))
        return -1;
    cfg->api.pagination.type = (bronze_pagination_type)t;
    if (opt_str(c, pg, P, "offset_param", NULL, &cfg->api.pagination.offset_param) ||
        opt_str(c, pg, P, "limit_param", NULL, &cfg->api.pagination.limit_param) ||
        opt_str(c, pg, P, "page_param", NULL, &cfg->api.pagination.page_param) ||
        opt_str(c, pg, P, "page_size_param", NULL, &cfg->api.pagination.page_size_param) ||
        opt_str(c, pg, P, "cursor_param", NULL, &cfg->api.pagination.cursor_param) ||
        opt_str(c, pg, P, "cursor_path", "next_token_path", &cfg->api.pagination.cursor_path) ||
        opt_int(c, pg, P, "page_size", NULL, 1, INT64_MAX, &cfg->api.pagination.page_size) ||
        opt_int(c, pg, P, "max_records", NULL, 0, INT64_MAX, &cfg->api.pagination.max_records) ||
        opt_int(c, pg, P, "start_page", NULL, 0, INT64_MAX, &cfg->api.pagination.start_page) ||
        opt_int(c, pg, P, "max_pages", NULL, 0, INT64_MAX, &cfg->api.pagination.max_pages) ||
        opt_str(c, pg, P, "next_url_path", NULL, &cfg->api.pagination.next_url_path))
        return -1;
    if (cfg->type == BRONZE_SRC_API && cfg->api.pagination.type == BRONZE_PAGE_CURSOR &&
        empty(cfg->api.pagination.cursor_path))
        return fail(c, pg, "source.api.pagination.cursor_path",
                    "required for pagination type cursor (the dot path to the next cursor, "
                    "e.g. meta.next_cursor)");
    const bronze_ynode *rp;
    char kp[KP_MAX];
    if (lookup(c, pg, P, "records_path", NULL, &rp, kp))
        return -1;
    if (rp) {
        char *s = NULL;
        if (val_str(c, rp, kp, &s))
            return -1;
        if (cfg->api.data_path && strcmp(cfg->api.data_path, s)) {
            free(s);
            return fail(c, rp, kp, "differs from source.api.data_path; give one");
        }
        free(cfg->api.data_path);
        cfg->api.data_path = s;
    }
    return 0;
}

static int load_api_incremental(lctx *c, const bronze_ynode *api)
{
    bronze_config *cfg = c->cfg;
    const char *P = "source.api.incremental";
    const bronze_ynode *kn, *inc = bronze_ymap_get(api, "incremental", &kn);
    const bronze_ynode *enabled_at = NULL;
    int enabled = -1;
    if (inc && !bronze_ynode_is_null(inc)) {
        if (incremental_head(c, inc, P, API_INC_KEYS,
                             "(enabled, cursor_field, cursor_param, initial_cursor_value)",
                             &enabled, &enabled_at))
            return -1;
        if (inc->kind == BRONZE_YNODE_MAP) {
            if (opt_str(c, inc, P, "cursor_field", NULL, &cfg->api.cursor_field) ||
                opt_str(c, inc, P, "cursor_param", NULL, &cfg->api.cursor_param) ||
                opt_str(c, inc, P, "initial_cursor_value", NULL, &cfg->api.initial_cursor_value))
                return -1;
        }
    }
    const bronze_ynode *flat;
    char kp[KP_MAX];
    if (lookup(c, api, "source.api", "cursor_field", NULL, &flat, kp))
        return -1;
    if (flat) {
        char *s = NULL;
        if (val_str(c, flat, kp, &s))
            return -1;
        if (cfg->api.cursor_field && strcmp(cfg->api.cursor_field, s)) {
            free(s);
            return fail(c, flat, kp, "differs from source.api.incremental.cursor_field; give one");
        }
        free(cfg->api.cursor_field);
        cfg->api.cursor_field = s;
    }
    if (cfg->api.cursor_field && empty(cfg->api.cursor_field))
        return fail(c, flat ? flat : inc, flat ? kp : "source.api.incremental.cursor_field",
                    "must not be empty");
    cfg->api.incremental = enabled >= 0 ? enabled == 1 : cfg->api.cursor_field != NULL;
    if (cfg->api.incremental && !cfg->api.cursor_field)
        return fail(c, enabled_at ? enabled_at : kn, "source.api.incremental.cursor_field",
                    "required when incremental is enabled");
    return 0;
}

/* A positive number (fractions allowed) at most max; absent leaves *out. */
static int opt_positive(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                        double max, double *out)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, m, path, key, NULL, &v, kp))
        return -1;
    if (!v)
        return 0;
    double d = number_or_minus1(v);
    if (!isfinite(d) || d <= 0)
        return fail(c, v, kp, "must be a positive number%s", quote_hint(v));
    if (d > max)
        return fail(c, v, kp, "must be at most %g", max);
    *out = d;
    return 0;
}

/* rate_limit: {rps, burst} (burst default 1: requests spaced 1/rps apart) */
static int load_rate_limit(lctx *c, const bronze_ynode *api)
{
    bronze_config *cfg = c->cfg;
    const char *P = "source.api.rate_limit";
    const bronze_ynode *rl, *kn;
    if (opt_map(c, api, "source.api", "rate_limit", &rl, &kn))
        return -1;
    if (!rl)
        return 0;
    warn_unknown_keys(c, rl, P, RATE_LIMIT_KEYS);
    if (opt_positive(c, rl, P, "rps", 1e6, &cfg->api.rate_limit.rps) ||
        opt_int32(c, rl, P, "burst", 1, 1000000, &cfg->api.rate_limit.burst))
        return -1;
    if (cfg->api.rate_limit.rps <= 0)
        return fail(c, kn, "source.api.rate_limit.rps", "required in rate_limit");
    return 0;
}

static int load_api(lctx *c, const bronze_ynode *api)
{
    bronze_config *cfg = c->cfg;
    const char *P = "source.api";
    warn_unknown_keys(c, api, P, API_KEYS);
    if (opt_str(c, api, P, "base_url", NULL, &cfg->api.base_url) ||
        opt_str(c, api, P, "endpoint", NULL, &cfg->api.endpoint) ||
        opt_str(c, api, P, "data_path", NULL, &cfg->api.data_path))
        return -1;

    int method = -1;
    if (opt_enum(c, api, P, "method", METHODS, &method, NULL))
        return -1;
    if (method >= 0) {
        free(cfg->api.method);
        cfg->api.method = NULL;
        if (set_default(c, &cfg->api.method, method ? "POST" : "GET"))
            return -1;
    }

    if (load_kv(c, api, "headers", false, &cfg->api.headers, &cfg->api.nheaders) ||
        load_kv(c, api, "params", true, &cfg->api.params, &cfg->api.nparams) ||
        load_body(c, api, method == 1))
        return -1;

    const bronze_ynode *auth_at;
    int auth = (int)cfg->api.auth_type;
    if (opt_enum(c, api, P, "auth_type", AUTH_TYPES, &auth, &auth_at))
        return -1;
    cfg->api.auth_type = (bronze_auth_type)auth;
    if (opt_env_name(c, api, P, "auth_token_env", NULL, &cfg->api.auth_token_env) ||
        opt_env_name(c, api, P, "auth_key_env", "api_key_env", &cfg->api.auth_key_env) ||
        opt_env_name(c, api, P, "auth_username_env", "basic_user_env",
                     &cfg->api.auth_username_env) ||
        opt_env_name(c, api, P, "auth_password_env", "basic_pass_env",
                     &cfg->api.auth_password_env) ||
        opt_str(c, api, P, "token_url", NULL, &cfg->api.token_url) ||
        opt_env_name(c, api, P, "client_id_env", NULL, &cfg->api.client_id_env) ||
        opt_env_name(c, api, P, "client_secret_env", NULL, &cfg->api.client_secret_env) ||
        opt_str(c, api, P, "scope", NULL, &cfg->api.scope) ||
        opt_str(c, api, P, "ca_bundle", NULL, &cfg->api.ca_bundle) || load_rate_limit(c, api) ||
        opt_positive(c, api, P, "max_response_mb", 1048576.0, &cfg->api.max_response_mb))
        return -1;
    /* timeout_seconds beside the other request settings (issue #11 lists it
     * there): the same setting as source.run.timeout_seconds, given once */
    const bronze_ynode *tv;
    char tkp[KP_MAX];
    if (lookup(c, api, P, "timeout_seconds", NULL, &tv, tkp))
        return -1;
    if (tv && c->run_timeout_given)
        return fail(c, tv, tkp,
                    "the same setting as source.run.timeout_seconds, which is given too: keep one");
    if (opt_int32(c, api, P, "timeout_seconds", 1, 86400, &cfg->run.timeout_seconds))
        return -1;
    /* header name: auth_key_header, or 1.0's api_key_header / auth_key_name */
    const bronze_ynode *hv;
    char kp[KP_MAX];
    if (lookup(c, api, P, "auth_key_header", "api_key_header", &hv, kp))
        return -1;
    if (!hv && lookup(c, api, P, "auth_key_name", NULL, &hv, kp))
        return -1;
    if (hv) {
        if (val_str(c, hv, kp, &cfg->api.auth_key_header))
            return -1;
        if (empty(cfg->api.auth_key_header))
            return fail(c, hv, kp, "must not be empty");
        if (header_name(c, hv, kp, cfg->api.auth_key_header))
            return -1;
    }

    /* each auth type needs its variable names (their values come at resolve);
     * a leftover api section in another type's config is not held to it */
    switch (cfg->type == BRONZE_SRC_API ? cfg->api.auth_type : BRONZE_AUTH_NONE) {
    case BRONZE_AUTH_BEARER:
        if (!cfg->api.auth_token_env)
            return fail(c, auth_at, "source.api.auth_token_env", "required for auth_type bearer");
        break;
    case BRONZE_AUTH_API_KEY:
        if (!cfg->api.auth_key_env)
            return fail(c, auth_at, "source.api.auth_key_env", "required for auth_type api_key");
        break;
    case BRONZE_AUTH_BASIC:
        if (!cfg->api.auth_username_env)
            return fail(c, auth_at, "source.api.auth_username_env", "required for auth_type basic");
        if (!cfg->api.auth_password_env)
            return fail(c, auth_at, "source.api.auth_password_env", "required for auth_type basic");
        break;
    case BRONZE_AUTH_OAUTH2_CC:
        if (empty(cfg->api.token_url))
            return fail(c, auth_at, "source.api.token_url",
                        "required for auth_type oauth2_client_credentials");
        if (!cfg->api.client_id_env)
            return fail(c, auth_at, "source.api.client_id_env",
                        "required for auth_type oauth2_client_credentials");
        if (!cfg->api.client_secret_env)
            return fail(c, auth_at, "source.api.client_secret_env",
                        "required for auth_type oauth2_client_credentials");
        break;
    default:
        break;
    }

    if (load_pagination(c, api) || load_api_incremental(c, api))
        return -1;
    return 0;
}

/* ---- source.file ---- */

static int load_delimiter(lctx *c, const bronze_ynode *file)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, file, "source.file", "delimiter", NULL, &v, kp))
        return -1;
    if (!v)
        return 0;
    if (need_scalar(c, v, kp, "one character"))
        return -1;
    char d;
    if (text_is(v, "\\t") || text_is(v, "tab"))
        d = '\t';
    else if (v->len == 1 && (unsigned char)v->text[0] < 0x80)
        d = v->text[0];
    else
        return fail(c, v, kp, "must be one character (or \"\\t\" / tab)");
    if (d == '"' || d == '\n' || d == '\r' || d == 0)
        return fail(c, v, kp, "cannot be a quote or a line break");
    c->cfg->file.delimiter = d;
    return 0;
}

/* The extension of path under a compression suffix (.gz, .zst): "in.tsv.gz"
 * -> ".tsv"; NULL when there is none. Copied into buf. */
static const char *path_ext(const char *path, char *buf, size_t cap)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    const char *base = slash ? slash + 1 : path;
    if (!base)
        return NULL;
    snprintf(buf, cap, "%s", base);
    char *dot = strrchr(buf, '.');
    if (dot && (!strcasecmp(dot, ".gz") || !strcasecmp(dot, ".zst"))) {
        *dot = 0;
        dot = strrchr(buf, '.');
    }
    return dot;
}

int bronze_file_format_of(const char *path)
{
    char buf[256];
    const char *dot = path_ext(path, buf, sizeof buf);
    if (dot && (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".ndjson")))
        return BRONZE_FILE_JSONL;
    if (dot && !strcasecmp(dot, ".json"))
        return BRONZE_FILE_JSON;
    if (dot && (!strcasecmp(dot, ".csv") || !strcasecmp(dot, ".tsv")))
        return BRONZE_FILE_CSV;
    return -1;
}

static bronze_file_format format_from_path(const char *path)
{
    int f = bronze_file_format_of(path);
    return f < 0 ? BRONZE_FILE_CSV : (bronze_file_format)f;
}

/* A list of strings for key (a single scalar counts as a one-item list when
 * single_ok). Items keep their text: `NULL` in null_values is the text NULL. */
static int opt_str_list(lctx *c, const bronze_ynode *m, const char *path, const char *key,
                        bool single_ok, char ***out, size_t *nout, const bronze_ynode **at)
{
    const bronze_ynode *v;
    char kp[KP_MAX];
    if (lookup(c, m, path, key, NULL, &v, kp))
        return -1;
    if (at)
        *at = v;
    if (!v)
        return 0;
    if (v->kind == BRONZE_YNODE_MAP || (v->kind == BRONZE_YNODE_SCALAR && !single_ok))
        return fail(c, v, kp, "must be a list of strings");
    size_t n = v->kind == BRONZE_YNODE_SEQ ? v->nkids : 1;
    char **list = calloc(n + 1, sizeof *list);
    if (!list)
        return oom(c);
    *out = list;
    *nout = n;
    for (size_t i = 0; i < n; i++) {
        const bronze_ynode *item = v->kind == BRONZE_YNODE_SEQ ? v->kids[i] : v;
        char ikp[KP_MAX + 32];
        snprintf(ikp, sizeof ikp, "%s[%zu]", kp, i);
        if (item->kind != BRONZE_YNODE_SCALAR)
            return fail(c, item, ikp, "must be a string");
        if (val_str(c, item, ikp, &list[i]))
            return -1;
    }
    return 0;
}

static int load_file(lctx *c, const bronze_ynode *file)
{
    bronze_config *cfg = c->cfg;
    const char *P = "source.file";
    warn_unknown_keys(c, file, P, FILE_KEYS);
    if (opt_str(c, file, P, "path", NULL, &cfg->file.path))
        return -1;
    int fmt = -1;
    if (opt_enum(c, file, P, "format", FILE_FORMATS, &fmt, NULL))
        return -1;
    cfg->file.format = fmt >= 0 ? (bronze_file_format)fmt : format_from_path(cfg->file.path);
    cfg->file.format_set = fmt >= 0;
    cfg->file.delimiter = 0;
    if (load_delimiter(c, file) || opt_bool(c, file, P, "header", NULL, &cfg->file.header) ||
        opt_str_list(c, file, P, "null_values", true, &cfg->file.null_values,
                     &cfg->file.n_null_values, NULL))
        return -1;
    if (!cfg->file.delimiter) { /* not given: a tab for .tsv, else a comma */
        char buf[256];
        const char *ext = path_ext(cfg->file.path, buf, sizeof buf);
        cfg->file.delimiter = ext && !strcasecmp(ext, ".tsv") ? '\t' : ',';
    }
    const bronze_ynode *at;
    char kp[KP_MAX];
    if (opt_str(c, file, P, "encoding", NULL, &cfg->file.encoding))
        return -1;
    if (cfg->file.encoding && bronze_input_check_encoding(cfg->file.encoding)) {
        if (lookup(c, file, P, "encoding", NULL, &at, kp))
            return -1;
        return fail(c, at, kp,
                    "not an encoding iconv knows (e.g. utf-8, latin-1, windows-1252; `iconv -l` "
                    "lists them)");
    }
    if (opt_str(c, file, P, "data_path", NULL, &cfg->file.data_path))
        return -1;
    if (cfg->file.data_path) {
        const char *d = cfg->file.data_path;
        bool bad = !*d || d[0] == '.' || d[strlen(d) - 1] == '.' || strstr(d, "..");
        if (bad || cfg->file.format != BRONZE_FILE_JSON) {
            if (lookup(c, file, P, "data_path", NULL, &at, kp))
                return -1;
            return fail(c, at, kp,
                        bad ? "must be a dot path of keys (e.g. data or result.items)"
                            : "applies to format: json (one document holding the record array)");
        }
    }
    return 0;
}

/* ---- source.custom_extractor ---- */

static int load_custom(lctx *c, const bronze_ynode *cu)
{
    bronze_config *cfg = c->cfg;
    const char *P = "source.custom_extractor";
    warn_unknown_keys(c, cu, P, CUSTOM_KEYS);
    const bronze_ynode *cmd_at;
    if (opt_str(c, cu, P, "module", NULL, &cfg->custom.module) ||
        opt_str(c, cu, P, "class_name", NULL, &cfg->custom.class_name) ||
        opt_str_list(c, cu, P, "command", false, &cfg->custom.command, &cfg->custom.ncommand,
                     &cmd_at))
        return -1;
    if (cmd_at && cfg->custom.ncommand == 0)
        return fail(c, cmd_at, "source.custom_extractor.command",
                    "must name a program: a list such as [\"python3\", \"extract.py\"]");
    if (cmd_at && empty(cfg->custom.command[0]))
        return fail(c, cmd_at, "source.custom_extractor.command[0]", "must not be empty");
    return 0;
}

/* ---- source ---- */

static int need_section(lctx *c, const bronze_ynode *sec, const char *name, const char *type)
{
    if (sec)
        return 0;
    char kp[KP_MAX];
    kpath(kp, "source", name);
    soft(c, c->source_key, kp, "required for type %s", type);
    return -1; /* the section's own checks are moot */
}

static int check_type_needs(lctx *c, const bronze_ynode *sm)
{
    bronze_config *cfg = c->cfg;
    const bronze_ynode *sec, *k;
    switch (cfg->type) {
    case BRONZE_SRC_DB:
        sec = bronze_ymap_get(sm, "db", &k);
        if (need_section(c, sec && !bronze_ynode_is_null(sec) ? sec : NULL, "db", "db"))
            return 0;
        if (!cfg->db.conn_str_env)
            soft(c, k, "source.db.conn_str_env",
                 "required: the name of the variable holding the connection string");
        if (empty(cfg->db.base_query))
            soft(c, k, "source.db.base_query", "required: the SQL query to extract");
        break;
    case BRONZE_SRC_API:
        sec = bronze_ymap_get(sm, "api", &k);
        if (need_section(c, sec && !bronze_ynode_is_null(sec) ? sec : NULL, "api", "api"))
            return 0;
        if (empty(cfg->api.base_url))
            return soft(c, k, "source.api.base_url", "required for type api");
        break;
    case BRONZE_SRC_FILE:
        sec = bronze_ymap_get(sm, "file", &k);
        if (need_section(c, sec && !bronze_ynode_is_null(sec) ? sec : NULL, "file", "file"))
            return 0;
        if (empty(cfg->file.path))
            return soft(c, k, "source.file.path", "required: a file or a glob");
        break;
    case BRONZE_SRC_CUSTOM: {
        sec = bronze_ymap_get(sm, "custom_extractor", &k);
        if (need_section(c, sec && !bronze_ynode_is_null(sec) ? sec : NULL, "custom_extractor",
                         "custom"))
            return 0;
        bool has_module = !empty(cfg->custom.module), has_cmd = cfg->custom.command != NULL;
        if (has_module && has_cmd)
            return soft(c, k, "source.custom_extractor",
                        "give either module + class_name or command, not both");
        if (!has_module && !has_cmd)
            return soft(c, k, "source.custom_extractor",
                        "needs module + class_name, or command (an argv list)");
        if (has_module && empty(cfg->custom.class_name))
            return soft(c, k, "source.custom_extractor.class_name", "required with module");
        break;
    }
    }
    return 0;
}

static int load_source(lctx *c, const bronze_ynode *sm)
{
    bronze_config *cfg = c->cfg;
    const char *P = "source";

    /* type first: it decides whether unknown sections are warned about */
    const bronze_ynode *tv;
    char kp[KP_MAX];
    if (lookup(c, sm, P, "type", NULL, &tv, kp))
        return -1;
    if (!tv)
        return fail(c, c->source_key, "source.type", "required: one of db, api, file, custom");
    int t;
    if (val_enum(c, tv, kp, TYPES, &t))
        return -1;
    cfg->type = (bronze_source_type)t;
    c->custom = cfg->type == BRONZE_SRC_CUSTOM;

    if (!c->custom)
        warn_unknown_keys(c, sm, P, SOURCE_KEYS);

    if (opt_segment(c, sm, P, "system", BRONZE_SEGMENT_MAX, &cfg->system) ||
        opt_segment(c, sm, P, "table", BRONZE_SEGMENT_MAX, &cfg->table))
        return -1;
    if (!cfg->system)
        soft(c, c->source_key, "source.system", "required: the system name (a path segment)");
    if (!cfg->table)
        soft(c, c->source_key, "source.table", "required: the table name (a path segment)");

    const bronze_ynode *run, *db, *api, *file, *cu;
    if (opt_map(c, sm, P, "run", &run, NULL) || (run && load_run(c, run)) ||
        check_partition_path(c, sm))
        return -1;
    if (opt_map(c, sm, P, "db", &db, NULL) || (db && load_db(c, db)))
        return -1;
    if (opt_map(c, sm, P, "api", &api, NULL) || (api && load_api(c, api)))
        return -1;
    if (opt_map(c, sm, P, "file", &file, NULL) || (file && load_file(c, file)))
        return -1;
    if (opt_map(c, sm, P, "custom_extractor", &cu, NULL) || (cu && load_custom(c, cu)))
        return -1;
    return check_type_needs(c, sm);
}

/* ---- storage rules across sections (SPEC §7) ---- */

static int check_storage(lctx *c)
{
    bronze_config *cfg = c->cfg;
    bool bucket = !empty(cfg->s3_bucket);
    if (!c->backend_explicit)
        cfg->storage_backend = bucket ? BRONZE_BACKEND_S3 : BRONZE_BACKEND_LOCAL;
    if (!cfg->run.s3_enabled)
        return 0;
    if (c->backend_explicit && cfg->storage_backend == BRONZE_BACKEND_LOCAL)
        return soft(c, c->s3_enabled_at, c->s3_enabled_path,
                    "cannot be true with platform.bronze.storage_backend: local");
    if (!bucket)
        return soft(c, c->s3_enabled_at, c->s3_enabled_path,
                    "needs platform.bronze.s3_bucket (the bucket to upload to)");
    return 0;
}

/* ---- defaults, load, free ---- */

static int set_defaults(lctx *c)
{
    bronze_config *cfg = c->cfg;
    cfg->storage_backend = BRONZE_BACKEND_LOCAL;
    cfg->use_dt_partition = true;
    cfg->strategy = BRONZE_PART_DATE;
    cfg->allow_csv = cfg->allow_parquet = true;
    cfg->parquet_compression = BRONZE_CODEC_SNAPPY;
    cfg->bloom_fpp = 0.01;
    cfg->run.parallel_workers = 1;
    cfg->run.write_csv = cfg->run.write_parquet = true;
    cfg->run.cleanup_on_failure = true;
    cfg->run.timeout_seconds = 30;
    cfg->run.max_retries = 3;
    cfg->db.fetch_batch_size = 10000;
    cfg->db.cursor_type = BRONZE_CURSOR_AUTO;
    cfg->api.pagination.page_size = 100;
    cfg->api.pagination.start_page = 1;
    cfg->api.rate_limit.burst = 1;
    cfg->api.max_response_mb = 256;
    cfg->file.delimiter = ',';
    cfg->file.header = true;
    return 0;
}

/* String defaults go in after loading so that a value given in the file is
 * never overwritten and no default is allocated twice. */
static int set_string_defaults(lctx *c)
{
    bronze_config *cfg = c->cfg;
    if (!cfg->s3.region && !cfg->s3.region_env && set_default(c, &cfg->s3.region, "us-east-1"))
        return -1;
    if (set_default(c, &cfg->run.local_output_dir, "./output") ||
        set_default(c, &cfg->api.method, "GET") ||
        set_default(c, &cfg->api.auth_key_header, "X-API-Key") ||
        set_default(c, &cfg->api.pagination.offset_param, "offset") ||
        set_default(c, &cfg->api.pagination.limit_param, "limit") ||
        set_default(c, &cfg->api.pagination.page_param, "page") ||
        set_default(c, &cfg->api.pagination.page_size_param, "page_size") ||
        set_default(c, &cfg->api.pagination.cursor_param, "cursor") ||
        set_default(c, &cfg->api.pagination.next_url_path, "next"))
        return -1;
    return 0;
}

bronze_param_owner bronze_api_param_owner(const bronze_config *cfg, const char *name)
{
    const __typeof__(cfg->api.pagination) *pg = &cfg->api.pagination;
    if ((pg->type == BRONZE_PAGE_OFFSET &&
         (!strcmp(name, pg->offset_param) || !strcmp(name, pg->limit_param))) ||
        (pg->type == BRONZE_PAGE_PAGE &&
         (!strcmp(name, pg->page_param) || !strcmp(name, pg->page_size_param))))
        return BRONZE_PARAM_PAGING;
    if (pg->type == BRONZE_PAGE_CURSOR && !strcmp(name, pg->cursor_param))
        return BRONZE_PARAM_CURSOR_PAGING;
    if (cfg->api.incremental && cfg->api.cursor_param && !strcmp(name, cfg->api.cursor_param))
        return BRONZE_PARAM_INCREMENTAL;
    return BRONZE_PARAM_FREE;
}

/* A source.api.params entry that another setter owns (bronze_api_param_owner). */
static void warn_owned_params(lctx *c, const bronze_ynode *sm)
{
    static const char *const why[] = {
        [BRONZE_PARAM_PAGING] =
            "set by the paging on every page built from base_url: this value is not sent",
        [BRONZE_PARAM_CURSOR_PAGING] = "set by the cursor paging from the second page on: this "
                                       "value is sent on the first page only",
        [BRONZE_PARAM_INCREMENTAL] = "set by incremental.cursor_param whenever there is a "
                                     "cursor: this value is sent only while there is none",
    };
    const bronze_config *cfg = c->cfg;
    const bronze_ynode *api = cfg->type == BRONZE_SRC_API ? bronze_ymap_get(sm, "api", NULL) : NULL;
    const bronze_ynode *m = api ? bronze_ymap_get(api, "params", NULL) : NULL;
    if (!m || m->kind != BRONZE_YNODE_MAP)
        return;
    for (size_t i = 0; i < bronze_ymap_len(m); i++) {
        const bronze_ynode *k = bronze_ymap_key(m, i);
        bronze_param_owner o = bronze_api_param_owner(cfg, k->text);
        if (o != BRONZE_PARAM_FREE)
            bronze_diags_add(c->diags, false, k->line, k->col, "%s:%d:%d: source.api.params.%s: %s",
                             c->file, k->line, k->col, k->text, why[o]);
    }
}

/* incremental.cursor_param named like a parameter the paging sets: both
 * would be sent under one name (?offset=<cursor>&offset=10), and which one
 * the API reads is its own affair. A config error. */
static void check_cursor_param(lctx *c, const bronze_ynode *sm)
{
    const bronze_config *cfg = c->cfg;
    if (cfg->type != BRONZE_SRC_API || !cfg->api.incremental || !cfg->api.cursor_param)
        return;
    const __typeof__(cfg->api.pagination) *pg = &cfg->api.pagination;
    const char *name = cfg->api.cursor_param, *also = NULL;
    if (pg->type == BRONZE_PAGE_OFFSET && !strcmp(name, pg->offset_param))
        also = "offset_param";
    else if (pg->type == BRONZE_PAGE_OFFSET && !strcmp(name, pg->limit_param))
        also = "limit_param";
    else if (pg->type == BRONZE_PAGE_PAGE && !strcmp(name, pg->page_param))
        also = "page_param";
    else if (pg->type == BRONZE_PAGE_PAGE && !strcmp(name, pg->page_size_param))
        also = "page_size_param";
    else if (pg->type == BRONZE_PAGE_CURSOR && !strcmp(name, pg->cursor_param))
        also = "cursor_param";
    if (!also)
        return;
    const bronze_ynode *api = bronze_ymap_get(sm, "api", NULL);
    const bronze_ynode *inc = api ? bronze_ymap_get(api, "incremental", NULL) : NULL;
    const bronze_ynode *at = inc ? bronze_ymap_get(inc, "cursor_param", NULL) : NULL;
    soft(c, at, "source.api.incremental.cursor_param",
         "'%s' is also source.api.pagination.%s: the cursor and the paging would be sent under "
         "one name; give the API's filter parameter (updated_since, ...)",
         name, also);
}

static int load_root(lctx *c, const bronze_ynode *root)
{
    if (!root)
        return fail(c, NULL, "(root)", "config file is empty");
    if (root->kind != BRONZE_YNODE_MAP)
        return fail(c, root, "(root)", "must be a mapping with 'platform' and 'source' sections");
    warn_unknown_keys(c, root, "", ROOT_KEYS);

    const bronze_ynode *sm;
    if (opt_map(c, root, "", "source", &sm, &c->source_key))
        return -1;
    if (!sm) {
        if (c->source_key)
            return fail(c, c->source_key, "source", "must not be empty");
        return fail(c, root, "source", "required section is missing");
    }
    if (load_platform(c, root) || load_source(c, sm) || check_storage(c) || set_string_defaults(c))
        return -1;
    warn_owned_params(c, sm);
    check_cursor_param(c, sm);

    json_t *j = bronze_ynode_to_json(root);
    if (!j)
        return fail(c, root, "(root)",
                    "cannot be written as JSON (a key or text is not valid UTF-8)");
    c->cfg->as_json = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!c->cfg->as_json)
        return oom(c);
    return 0;
}

/* The node to read as absent when `target` is at fault: a mapping's value
 * itself, a key's value, else the closest mapping value holding it (a list
 * item). holder: the closest mapping value at or above n. */
static bronze_ynode *absent_for(bronze_ynode *n, const bronze_ynode *target, bronze_ynode *holder)
{
    if (n == target)
        return holder;
    for (size_t i = 0; i < n->nkids; i++) {
        bronze_ynode *kid = n->kids[i], *r;
        if (n->kind == BRONZE_YNODE_MAP && i % 2 == 0) {
            if (kid == target)
                return n->kids[i + 1];
            continue;
        }
        if ((r = absent_for(kid, target, n->kind == BRONZE_YNODE_MAP ? kid : holder)))
            return r;
    }
    return NULL;
}

/* One read of the tree into a fresh config. */
static int load_once(lctx *c, const char *path, const bronze_ynode *root)
{
    c->cfg = calloc(1, sizeof *c->cfg);
    if (!c->cfg)
        return oom(c);
    if (!(c->cfg->path = strdup(path)))
        return oom(c);
    set_defaults(c);
    return load_root(c, root);
}

/* Each read that fails leaves out the keys it found bad; every read leaves
 * out at least one more, so this many reads report that many errors. */
#define LOAD_READS 64

int bronze_config_load_diags(bronze_config **out, const char *path, bronze_diags *d,
                             bronze_err *err)
{
    *out = NULL;
    bronze_ynode *root;
    if (bronze_yaml_load(&root, path, err)) {
        bronze_diags_add(d, true, 0, 0, "%s", err->msg);
        return -1;
    }
    size_t absent_cap = LOAD_READS * 8 + 8;
    lctx c = {.file = path, .err = err, .diags = d};
    c.absent = calloc(absent_cap, sizeof *c.absent);
    if (!c.absent) {
        bronze_ynode_free(root);
        oom(&c);
        bronze_diags_add(d, true, 0, 0, "%s", err->msg);
        return -1;
    }
    size_t errors_before = bronze_diags_errors(d);
    for (int read = 0;; read++) {
        lctx fresh = {
            .file = path, .err = err, .diags = d, .absent = c.absent, .nabsent = c.nabsent};
        c = fresh;
        int rc = load_once(&c, path, root);
        if (rc == 0)
            break;
        size_t added = 0;
        for (size_t i = 0; i < c.nblamed; i++) {
            bronze_ynode *a = root ? absent_for(root, c.blamed[i], NULL) : NULL;
            if (a && !a->poisoned) {
                a->poisoned = true;
                memmove(c.absent[c.nabsent + added], c.absent[c.nabsent + i], KP_MAX);
                added++;
            }
        }
        c.nabsent += added;
        if (c.nfails == 0) /* failed without saying where (out of memory) */
            bronze_diags_add(d, true, 0, 0, "%s", err->msg[0] ? err->msg : "config error");
        if (added == 0 || read + 1 == LOAD_READS) {
            bronze_config_free(c.cfg);
            c.cfg = NULL;
            break;
        }
        bronze_config_free(c.cfg);
    }
    bronze_ynode_free(root);
    free(c.absent);
    *out = c.cfg;
    if (bronze_diags_errors(d) == errors_before)
        return 0;
    if (err->kind == BRONZE_E_NONE)
        err->kind = BRONZE_E_CONFIG;
    return -1;
}

int bronze_config_load(bronze_config **out, const char *path, bronze_err *err)
{
    *out = NULL;
    bronze_diags d = {0};
    bronze_config *cfg = NULL;
    int rc = bronze_config_load_diags(&cfg, path, &d, err);
    bronze_diags_sort(&d);
    for (size_t i = 0; i < d.n; i++)
        if (!d.v[i].error)
            BRONZE_WARN("%s", d.v[i].msg);
    if (rc) {
        /* the first error in file order */
        for (size_t i = 0; i < d.n; i++)
            if (d.v[i].error) {
                bronze_err_set(err, BRONZE_E_CONFIG, "%s", d.v[i].msg);
                break;
            }
        bronze_config_free(cfg);
        cfg = NULL;
    }
    bronze_diags_free(&d);
    *out = cfg;
    return rc;
}

static void free_secret(char **s)
{
    if (*s) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

static void free_env(bronze_config *cfg)
{
    free_secret(&cfg->env.conn_str);
    free_secret(&cfg->env.s3_endpoint);
    free_secret(&cfg->env.s3_access_key);
    free_secret(&cfg->env.s3_secret_key);
    free_secret(&cfg->env.s3_session_token);
    free_secret(&cfg->env.s3_region);
    free_secret(&cfg->env.api_token);
    free_secret(&cfg->env.api_key);
    free_secret(&cfg->env.api_username);
    free_secret(&cfg->env.api_password);
    free_secret(&cfg->env.api_client_id);
    free_secret(&cfg->env.api_client_secret);
    free_secret(&cfg->env.cursor_override);
}

static void free_kv(bronze_kv *kv, size_t n)
{
    for (size_t i = 0; kv && i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

void bronze_config_free(bronze_config *cfg)
{
    if (!cfg)
        return;
    free_env(cfg);
    free(cfg->path);
    free(cfg->s3_bucket);
    free(cfg->s3_prefix);
    free(cfg->local_path);
    free(cfg->s3.endpoint_url_env);
    free(cfg->s3.access_key_env);
    free(cfg->s3.secret_key_env);
    free(cfg->s3.session_token_env);
    free(cfg->s3.region);
    free(cfg->s3.region_env);
    free(cfg->s3.addressing_style);
    free(cfg->s3.ca_bundle);
    free(cfg->system);
    free(cfg->table);
    free(cfg->run.local_output_dir);
    free(cfg->run.batch_id);
    free(cfg->db.conn_str_env);
    free(cfg->db.base_query);
    free(cfg->db.cursor_column);
    free(cfg->db.state_file);
    free(cfg->db.lookback);
    free(cfg->db.partitioning.column);
    free(cfg->db.partitioning.lower_bound);
    free(cfg->db.partitioning.upper_bound);
    free(cfg->db.cursor_env);
    free(cfg->db.cursor_value);
    free(cfg->api.base_url);
    free(cfg->api.endpoint);
    free(cfg->api.method);
    free_kv(cfg->api.headers, cfg->api.nheaders);
    free_kv(cfg->api.params, cfg->api.nparams);
    free(cfg->api.body_json);
    free(cfg->api.data_path);
    free(cfg->api.auth_token_env);
    free(cfg->api.auth_key_env);
    free(cfg->api.auth_key_header);
    free(cfg->api.auth_username_env);
    free(cfg->api.auth_password_env);
    free(cfg->api.pagination.offset_param);
    free(cfg->api.pagination.limit_param);
    free(cfg->api.pagination.page_param);
    free(cfg->api.pagination.page_size_param);
    free(cfg->api.pagination.cursor_param);
    free(cfg->api.pagination.cursor_path);
    free(cfg->api.pagination.next_url_path);
    free(cfg->api.token_url);
    free(cfg->api.client_id_env);
    free(cfg->api.client_secret_env);
    free(cfg->api.scope);
    free(cfg->api.ca_bundle);
    free(cfg->api.cursor_field);
    free(cfg->api.cursor_param);
    free(cfg->api.initial_cursor_value);
    free(cfg->file.path);
    free_list(cfg->file.null_values, cfg->file.n_null_values);
    free(cfg->file.encoding);
    free(cfg->file.data_path);
    free_list(cfg->bloom_columns, cfg->n_bloom_columns);
    free(cfg->custom.module);
    free(cfg->custom.class_name);
    free_list(cfg->custom.command, cfg->custom.ncommand);
    free(cfg->as_json);
    free(cfg);
}

/* ---- resolve: the one place that reads the environment ---- */

typedef struct rctx {
    bronze_config *cfg;
    bronze_err *err;
} rctx;

/* A credential that goes into an HTTP header (or a signature over one): a
 * trailing line break, which a secret copied from a file keeps (a Kubernetes
 * secret made from a file, `export T="$(cat f; echo)"`), is dropped with a
 * warning; one inside the value is an error, as no header can carry it.
 * Names the variable, never the value. */
static int header_safe(rctx *r, const char *kp, const char *name, char *v)
{
    size_t n = strlen(v), t = n;
    while (t && (v[t - 1] == '\n' || v[t - 1] == '\r'))
        t--;
    if (t && (memchr(v, '\n', t) || memchr(v, '\r', t)))
        return bronze_err_set(r->err, BRONZE_E_CONFIG,
                              "%s: %s: environment variable %s holds a line break, which no HTTP "
                              "header can carry",
                              r->cfg->path, kp, name);
    if (t < n) {
        memset(v + t, 0, n - t);
        if (!t)
            return bronze_err_set(r->err, BRONZE_E_CONFIG,
                                  "%s: %s: environment variable %s is empty (a line break only)",
                                  r->cfg->path, kp, name);
        BRONZE_WARN("%s: %s: environment variable %s ends with a line break (as a file read into "
                    "it does): sent without it",
                    r->cfg->path, kp, name);
    }
    return 0;
}

/* Reads variable name into *out; unset or empty is an error naming key path
 * kp and the variable (never a value); header: header_safe applies. */
static int env_required(rctx *r, const char *kp, const char *name, const char *why, bool header,
                        char **out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return bronze_err_set(r->err, BRONZE_E_CONFIG, "%s: %s: environment variable %s is %s%s",
                              r->cfg->path, kp, name, v ? "empty" : "not set", why ? why : "");
    if (!(*out = strdup(v)))
        return bronze_err_set(r->err, BRONZE_E_CONFIG, "%s: out of memory", r->cfg->path);
    return header ? header_safe(r, kp, name, *out) : 0;
}

/* Optional variable: unset or empty leaves *out NULL; header (with kp, the
 * key path that names it): header_safe applies. */
static int env_optional(rctx *r, const char *kp, const char *name, bool header, char **out)
{
    const char *v = name ? getenv(name) : NULL;
    if (!v || !*v)
        return 0;
    if (!(*out = strdup(v)))
        return bronze_err_set(r->err, BRONZE_E_CONFIG, "%s: out of memory", r->cfg->path);
    return header ? header_safe(r, kp, name, *out) : 0;
}

static int resolve_s3(rctx *r)
{
    bronze_config *cfg = r->cfg;
    const char *P = "platform.s3_connection";
    if (!cfg->s3.present) {
        /* no section: the standard AWS variables (SPEC §7) */
        const char *why =
            " (no platform.s3_connection section, so the standard AWS variables apply)";
        if (env_required(r, P, "AWS_ACCESS_KEY_ID", why, true, &cfg->env.s3_access_key) ||
            env_required(r, P, "AWS_SECRET_ACCESS_KEY", why, true, &cfg->env.s3_secret_key) ||
            env_optional(r, P, "AWS_SESSION_TOKEN", true, &cfg->env.s3_session_token) ||
            env_optional(r, P, "AWS_ENDPOINT_URL", false, &cfg->env.s3_endpoint) ||
            env_optional(r, P, "AWS_REGION", false, &cfg->env.s3_region))
            return -1;
        if (!cfg->env.s3_region &&
            env_optional(r, P, "AWS_DEFAULT_REGION", false, &cfg->env.s3_region))
            return -1;
    } else {
        /* a named variable must be set; an unnamed key falls back to AWS's */
        bool named = cfg->s3.access_key_env != NULL;
        if (env_required(r, "platform.s3_connection.access_key_env",
                         named ? cfg->s3.access_key_env : "AWS_ACCESS_KEY_ID", NULL, true,
                         &cfg->env.s3_access_key) ||
            env_required(r, "platform.s3_connection.secret_key_env",
                         cfg->s3.secret_key_env ? cfg->s3.secret_key_env : "AWS_SECRET_ACCESS_KEY",
                         NULL, true, &cfg->env.s3_secret_key))
            return -1;
        const char *tok = cfg->s3.session_token_env ? cfg->s3.session_token_env
                          : named                   ? NULL
                                                    : "AWS_SESSION_TOKEN";
        if (env_optional(r, "platform.s3_connection.session_token_env", tok, true,
                         &cfg->env.s3_session_token) ||
            env_optional(r, NULL, cfg->s3.endpoint_url_env, false, &cfg->env.s3_endpoint) ||
            env_optional(r, NULL, cfg->s3.region_env, false, &cfg->env.s3_region))
            return -1;
    }
    if (!cfg->env.s3_region &&
        !(cfg->env.s3_region = strdup(cfg->s3.region ? cfg->s3.region : "us-east-1")))
        return bronze_err_set(r->err, BRONZE_E_CONFIG, "%s: out of memory", cfg->path);
    return 0;
}

int bronze_config_resolve(bronze_config *cfg, bronze_err *err)
{
    rctx r = {cfg, err};
    free_env(cfg); /* resolving twice reads the environment afresh */
    int rc = 0;
    switch (cfg->type) {
    case BRONZE_SRC_DB:
        if (cfg->db.conn_str_env)
            rc = env_required(&r, "source.db.conn_str_env", cfg->db.conn_str_env, NULL, false,
                              &cfg->env.conn_str);
        else
            rc = bronze_err_set(err, BRONZE_E_CONFIG, "%s: source.db.conn_str_env: not set",
                                cfg->path);
        if (rc == 0)
            rc = env_optional(&r, NULL, cfg->db.cursor_env, false, &cfg->env.cursor_override);
        break;
    case BRONZE_SRC_API:
        switch (cfg->api.auth_type) {
        case BRONZE_AUTH_BEARER:
            rc = env_required(&r, "source.api.auth_token_env", cfg->api.auth_token_env, NULL, true,
                              &cfg->env.api_token);
            break;
        case BRONZE_AUTH_API_KEY:
            rc = env_required(&r, "source.api.auth_key_env", cfg->api.auth_key_env, NULL, true,
                              &cfg->env.api_key);
            break;
        case BRONZE_AUTH_BASIC:
            rc = env_required(&r, "source.api.auth_username_env", cfg->api.auth_username_env, NULL,
                              true, &cfg->env.api_username);
            if (rc == 0)
                rc = env_required(&r, "source.api.auth_password_env", cfg->api.auth_password_env,
                                  NULL, true, &cfg->env.api_password);
            break;
        case BRONZE_AUTH_OAUTH2_CC:
            rc = env_required(&r, "source.api.client_id_env", cfg->api.client_id_env, NULL, true,
                              &cfg->env.api_client_id);
            if (rc == 0)
                rc = env_required(&r, "source.api.client_secret_env", cfg->api.client_secret_env,
                                  NULL, true, &cfg->env.api_client_secret);
            break;
        default:
            break;
        }
        break;
    default:
        break;
    }
    if (rc == 0 && cfg->run.s3_enabled && cfg->storage_backend == BRONZE_BACKEND_S3)
        rc = resolve_s3(&r);
    if (rc)
        free_env(cfg);
    return rc;
}

/* ---- small helpers ---- */

const char *bronze_codec_name(bronze_codec c)
{
    switch (c) {
    case BRONZE_CODEC_SNAPPY:
        return "snappy";
    case BRONZE_CODEC_GZIP:
        return "gzip";
    case BRONZE_CODEC_ZSTD:
        return "zstd";
    case BRONZE_CODEC_LZ4:
        return "lz4";
    case BRONZE_CODEC_BROTLI:
        return "brotli";
    case BRONZE_CODEC_NONE:
        return "none";
    }
    return "none";
}

bool bronze_config_segment_ok(const char *s)
{
    if (!s || !*s || !strcmp(s, ".") || strstr(s, ".."))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

void bronze_config_incremental(const bronze_config *cfg, bronze_incremental *out)
{
    memset(out, 0, sizeof *out);
    switch (cfg->type) {
    case BRONZE_SRC_DB:
        out->enabled = cfg->db.incremental;
        out->cursor_field = cfg->db.cursor_column;
        out->forced = cfg->db.cursor_value;
        out->forced_key = "source.db.incremental_cursor_value";
        out->env_value = cfg->env.cursor_override;
        out->env_name = cfg->db.cursor_env;
        break;
    case BRONZE_SRC_API:
        out->enabled = cfg->api.incremental;
        out->cursor_field = cfg->api.cursor_field;
        out->initial = cfg->api.initial_cursor_value;
        break;
    default:
        break;
    }
}
