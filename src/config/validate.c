/*
 * validate.c - the checks --validate-only shares with the run (SPEC §2, §7)
 * and the message list that reports every one of them in file order.
 *
 * bronze_config_load_diags() (config.c) finds each file's key errors; this
 * file adds what the run used to find only later from the config alone: no
 * output format left after the platform gates, a bucket name holding '/',
 * and two configs of one run writing the same partition or state file. The
 * messages point at the key ("file:line:col: key.path: ..."): the file is
 * read again for the place, which costs a small YAML parse per message.
 */
#include "config/validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/yaml_doc.h"
#include "run/state.h"
#include "source/source.h"
#include "util/log.h"

/* ---- the message list ---- */

int bronze_diags_add(bronze_diags *d, bool error, int line, int col, const char *fmt, ...)
{
    if (!d)
        return 0;
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].error == error && !strcmp(d->v[i].msg, msg)) {
            free(msg);
            return 0;
        }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        bronze_diag *v = realloc(d->v, cap * sizeof *v);
        if (!v) {
            free(msg);
            return -1;
        }
        d->v = v;
        d->cap = cap;
    }
    d->v[d->n++] = (bronze_diag){.line = line, .col = col, .error = error, .msg = msg};
    return 0;
}

void bronze_diags_sort(bronze_diags *d)
{
    /* insertion sort: stable, and a file has few messages */
    for (size_t i = 1; i < d->n; i++) {
        bronze_diag x = d->v[i];
        size_t k = i;
        while (k > 0 && (d->v[k - 1].line > x.line ||
                         (d->v[k - 1].line == x.line && d->v[k - 1].col > x.col))) {
            d->v[k] = d->v[k - 1];
            k--;
        }
        d->v[k] = x;
    }
}

size_t bronze_diags_errors(const bronze_diags *d)
{
    size_t n = 0;
    for (size_t i = 0; d && i < d->n; i++)
        n += d->v[i].error;
    return n;
}

void bronze_diags_log(const bronze_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        bronze_log(d->v[i].error ? BRONZE_LOG_ERROR : BRONZE_LOG_WARN, "%s", d->v[i].msg);
}

void bronze_diags_free(bronze_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].msg);
    free(d->v);
    *d = (bronze_diags){0};
}

/* ---- where a key is ---- */

/* The place of key path kp ("source.run.write_csv") in the file: the key
 * itself, else the deepest section of it that is there, else 1:1. Returns
 * true when the key itself was found. */
static bool place_of(const char *file, const char *kp, int *line, int *col)
{
    *line = *col = 1;
    bronze_ynode *root = NULL;
    bronze_err err = BRONZE_ERR_INIT;
    if (bronze_yaml_load(&root, file, &err) || !root)
        return false;
    const bronze_ynode *m = root;
    bool found = true;
    char part[128];
    for (const char *p = kp; *p && found;) {
        size_t n = strcspn(p, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, p);
        const bronze_ynode *k = NULL, *v = bronze_ymap_get(m, part, &k);
        if (!v || !k) {
            found = false;
            break;
        }
        *line = k->line;
        *col = k->col;
        m = v;
        p += n;
        if (*p == '.')
            p++;
    }
    bronze_ynode_free(root);
    return found;
}

/* Adds "file:line:col: kp: msg" at the first of the keys that is in the
 * file (the last one's section when none is). */
static void add_at(bronze_diags *d, const char *file, const char *const *keys, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_at(bronze_diags *d, const char *file, const char *const *keys, const char *fmt, ...)
{
    int line = 1, col = 1;
    const char *kp = keys[0];
    for (const char *const *k = keys; *k; k++) {
        kp = *k;
        if (place_of(file, *k, &line, &col))
            break;
    }
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bronze_diags_add(d, true, line, col, "%s:%d:%d: %s: %s", file, line, col, kp, msg);
}

/* ---- one config ---- */

/* An http(s) URL with a host: libcurl would otherwise try another protocol
 * (ftp://), guess one (host:port) or fail on resolving the path. */
static bool http_url(const char *u)
{
    size_t n = !strncasecmp(u, "https://", 8) ? 8 : !strncasecmp(u, "http://", 7) ? 7 : 0;
    return n && u[n] && u[n] != '/' && u[n] != '?' && u[n] != '#';
}

void bronze_validate_config(const bronze_config *cfg, bronze_diags *d)
{
    if (!(cfg->run.write_csv && cfg->allow_csv) && !(cfg->run.write_parquet && cfg->allow_parquet))
        add_at(d, cfg->path,
               (const char *const[]){"source.run.write_parquet", "source.run.write_csv",
                                     "platform.bronze.output_defaults.allow_parquet",
                                     "platform.bronze.output_defaults.allow_csv", "source.run",
                                     NULL},
               "no output format is enabled (write_csv/write_parquet and "
               "platform.bronze.output_defaults.allow_*): write_%s is %s and allow_%s is %s, "
               "write_%s is %s and allow_%s is %s; enable one format",
               "parquet", cfg->run.write_parquet ? "true" : "false", "parquet",
               cfg->allow_parquet ? "true" : "false", "csv", cfg->run.write_csv ? "true" : "false",
               "csv", cfg->allow_csv ? "true" : "false");
    if (cfg->type == BRONZE_SRC_API && cfg->api.base_url && !http_url(cfg->api.base_url))
        add_at(d, cfg->path, (const char *const[]){"source.api.base_url", NULL},
               "'%s' is not an http:// or https:// URL with a host; write it as "
               "https://api.example.com (the path goes in source.api.endpoint)",
               cfg->api.base_url);
    if (cfg->type == BRONZE_SRC_API && cfg->api.auth_type == BRONZE_AUTH_OAUTH2_CC &&
        cfg->api.token_url && !http_url(cfg->api.token_url))
        add_at(d, cfg->path, (const char *const[]){"source.api.token_url", NULL},
               "'%s' is not an http:// or https:// URL with a host", cfg->api.token_url);
    if (cfg->s3_bucket && strchr(cfg->s3_bucket, '/'))
        add_at(d, cfg->path, (const char *const[]){"platform.bronze.s3_bucket", NULL},
               "'%s' is not a bucket name (it has a '/'); give the bucket alone and the folder "
               "in platform.bronze.s3_prefix",
               cfg->s3_bucket);
}

/* ---- the configs of one run ---- */

/* The local root as written, without "./" in front or '/' behind, so
 * "./output" and "output/" compare equal. */
static void root_norm(const bronze_config *c, char *out, size_t cap)
{
    const char *r = c->local_path
                        ? c->local_path
                        : (c->run.local_output_dir ? c->run.local_output_dir : "./output");
    while (r[0] == '.' && r[1] == '/')
        for (r += 2; *r == '/';)
            r++;
    size_t n = strlen(r);
    while (n > 1 && r[n - 1] == '/')
        n--;
    snprintf(out, cap, "%.*s", (int)(n ? n : 1), n ? r : ".");
}

static bool uploads(const bronze_config *c)
{
    return c->storage_backend == BRONZE_BACKEND_S3 && c->run.s3_enabled;
}

static bool same_str(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

void bronze_validate_run(bronze_config *const *cfgs, size_t n, bronze_diags *per)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++) {
            const bronze_config *a = cfgs[i], *b = cfgs[k];
            if (!a || !b || !a->system || !b->system || !a->table || !b->table)
                continue;
            bool same_table = !strcmp(a->system, b->system) && !strcmp(a->table, b->table);
            char ra[4096], rb[4096];
            root_norm(a, ra, sizeof ra);
            root_norm(b, rb, sizeof rb);
            char where[4300] = "";
            if (same_table && !strcmp(ra, rb))
                snprintf(where, sizeof where, "the same partition under %s", ra);
            else if (same_table && uploads(a) && uploads(b) &&
                     same_str(a->s3_bucket, b->s3_bucket) && same_str(a->s3_prefix, b->s3_prefix))
                snprintf(where, sizeof where, "the same partition in s3://%s%s%s", a->s3_bucket,
                         a->s3_prefix && *a->s3_prefix ? "/" : "",
                         a->s3_prefix ? a->s3_prefix : "");
            if (where[0]) {
                const bronze_config *pair[2] = {a, b};
                bronze_diags *dl[2] = {&per[i], &per[k]};
                for (int s = 0; s < 2; s++)
                    add_at(dl[s], pair[s]->path, (const char *const[]){"source.table", NULL},
                           "%s and %s: both write %s (system=%s/table=%s); give each config its "
                           "own table or output root",
                           a->path, b->path, where, a->system, a->table);
                continue;
            }
            if (!bronze_source_keeps_state(a) || !bronze_source_keeps_state(b))
                continue;
            char sa[4096], sb[4096];
            bronze_state_path(a, sa, sizeof sa);
            bronze_state_path(b, sb, sizeof sb);
            if (strcmp(sa, sb))
                continue;
            const bronze_config *pair[2] = {a, b};
            bronze_diags *dl[2] = {&per[i], &per[k]};
            for (int s = 0; s < 2; s++)
                add_at(
                    dl[s], pair[s]->path,
                    (const char *const[]){"source.db.incremental.state_file", "source.table", NULL},
                    "%s and %s: both keep their cursor in %s; give each its own "
                    "source.db.incremental.state_file",
                    a->path, b->path, sa);
        }
}

/* ---- a run's configs, loaded and checked together ---- */

/* Loads and validates every config (SPEC §2, §7): each file's errors and
 * warnings, the run-time rules that depend on it alone and the clashes
 * between the configs, logged per file in file order (see validate.h). */
int bronze_config_load_all(bronze_config **cfgs, const char *const *paths, size_t n)
{
    bronze_diags *per = calloc(n, sizeof *per);
    if (!per) {
        BRONZE_ERROR("bronze-extract: out of memory");
        return -1;
    }
    bronze_err err = BRONZE_ERR_INIT;
    bool bad = false;
    for (size_t i = 0; i < n; i++) {
        bool failed = bronze_config_load_diags(&cfgs[i], paths[i], &per[i], &err) != 0;
        if (cfgs[i])
            bronze_validate_config(cfgs[i], &per[i]);
        if (failed) { /* a config with errors takes part in no clash */
            bronze_config_free(cfgs[i]);
            cfgs[i] = NULL;
        }
    }
    bronze_validate_run(cfgs, n, per);
    for (size_t i = 0; i < n; i++) {
        bronze_diags_sort(&per[i]);
        bronze_diags_log(&per[i]);
        bad |= bronze_diags_errors(&per[i]) > 0;
        bronze_diags_free(&per[i]);
    }
    free(per);
    if (!bad)
        return 0;
    for (size_t i = 0; i < n; i++) {
        bronze_config_free(cfgs[i]);
        cfgs[i] = NULL;
    }
    return -1;
}
