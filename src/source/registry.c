/*
 * registry.c - picks the source implementation for a config, once, at setup
 * (the curl "protocol handler table" idea): the job only ever sees the vtable.
 * The table is a list of kinds, each with a claim() that says whether a
 * config is its own; kinds registered at run time (bronze_source_register)
 * are asked before the built-in ones, newest first.
 * For `type: db` the connection string's form decides: sqlite:, postgres(ql)://
 * or libpq keywords, or an ODBC string (DRIVER= / DSN=). For `type: custom`:
 * command, a shared library (C plugin) or a dotted Python module.
 */
#include <string.h>
#include <stdlib.h>
#include <strings.h>

#include "source/custom.h"
#include "source/source.h"

static bool has_kv(const char *s, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = s; (p = strcasestr(p, key)); p += n)
        if (p == s || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t')
            return true;
    return false;
}

static int claim_file(const bronze_config *cfg, const bronze_source_vt **vt, bronze_err *err)
{
    (void)err;
    if (cfg->type != BRONZE_SRC_FILE)
        return 0;
    *vt = &bronze_source_file;
    return 1;
}

static int claim_db(const bronze_config *cfg, const bronze_source_vt **vt, bronze_err *err)
{
    if (cfg->type != BRONZE_SRC_DB)
        return 0;
    const char *cs = cfg->env.conn_str ? cfg->env.conn_str : "";
    if (!strncmp(cs, "sqlite:", 7)) {
        /* sqlite3_open_v2("") opens a private temporary database: a
         * typo in the variable would load nothing, exit 0 */
        const char *p = bronze_source_sqlite_path(cs);
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            return bronze_err_set(err, BRONZE_E_CONFIG,
                                  "%s: source.db.conn_str_env: the connection string in %s has "
                                  "no database path (sqlite:path/to/file.db)",
                                  cfg->path, cfg->db.conn_str_env);
        *vt = &bronze_source_sqlite;
        return 1;
    }
    if (!strncmp(cs, "postgresql://", 13) || !strncmp(cs, "postgres://", 11))
        *vt = &bronze_source_postgres;
    else if (has_kv(cs, "DRIVER=") || has_kv(cs, "DSN="))
        *vt = &bronze_source_odbc;
    else if (strstr(cs, "host=") || strstr(cs, "dbname=") || strstr(cs, "user="))
        *vt = &bronze_source_postgres;
    else
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.conn_str_env: the connection string in %s is not a "
                              "sqlite:, postgresql://, libpq keyword or ODBC (DRIVER=/DSN=) string",
                              cfg->path, cfg->db.conn_str_env);
    return 1;
}

static int claim_api(const bronze_config *cfg, const bronze_source_vt **vt, bronze_err *err)
{
    (void)err;
    if (cfg->type != BRONZE_SRC_API)
        return 0;
    *vt = &bronze_source_api;
    return 1;
}

static int claim_custom(const bronze_config *cfg, const bronze_source_vt **vt, bronze_err *err)
{
    (void)err;
    if (cfg->type != BRONZE_SRC_CUSTOM)
        return 0;
    if (cfg->custom.command)
        *vt = &bronze_source_command;
    else if (bronze_custom_module_is_library(cfg->custom.module))
        *vt = &bronze_source_plugin;
    else
        *vt = &bronze_source_python;
    return 1;
}

static const char *const DB_NAMES[] = {"db sqlite", "db postgresql", "db odbc", NULL};
static const char *const FILE_NAMES[] = {"file csv", "file jsonl", "file json", NULL};
static const char *const API_NAMES[] = {"api", NULL};
static const char *const CUSTOM_NAMES[] = {"custom command", "custom plugin", "custom python",
                                           NULL};

static const bronze_source_kind BUILT_IN[] = {
    {.names = DB_NAMES, .claim = claim_db},
    {.names = FILE_NAMES, .claim = claim_file},
    {.names = API_NAMES, .claim = claim_api},
    {.names = CUSTOM_NAMES, .claim = claim_custom},
};

/* Kinds added at run time. Registration happens at start-up, before any job
 * thread runs (not locked). */
static const bronze_source_kind **g_added;
static size_t g_nadded;

int bronze_source_register(const bronze_source_kind *kind, bronze_err *err)
{
    const bronze_source_kind **k = realloc(g_added, (g_nadded + 1) * sizeof *k);
    if (!k)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    k[g_nadded++] = kind;
    g_added = k;
    return 0;
}

void bronze_source_unregister_all(void)
{
    free(g_added);
    g_added = NULL;
    g_nadded = 0;
}

const bronze_source_kind *bronze_source_kind_at(size_t i)
{
    if (i < g_nadded)
        return g_added[g_nadded - 1 - i];
    i -= g_nadded;
    return i < sizeof BUILT_IN / sizeof BUILT_IN[0] ? &BUILT_IN[i] : NULL;
}

const bronze_source_vt *bronze_source_for(const bronze_config *cfg, bronze_err *err)
{
    const bronze_source_kind *k;
    for (size_t i = 0; (k = bronze_source_kind_at(i)); i++) {
        const bronze_source_vt *vt = NULL;
        int r = k->claim(cfg, &vt, err);
        if (r < 0)
            return NULL;
        if (r > 0 && vt)
            return vt;
    }
    bronze_err_set(err, BRONZE_E_CONFIG, "%s: source.type: no source kind for this config",
                   cfg->path);
    return NULL;
}

bool bronze_source_keeps_state(const bronze_config *cfg)
{
    /* incremental db and api configs; a custom extractor may return a cursor
     * on any run, so its state is kept */
    bronze_incremental inc;
    bronze_config_incremental(cfg, &inc);
    return inc.enabled || cfg->type == BRONZE_SRC_CUSTOM;
}

bool bronze_source_appends(const bronze_config *cfg, const char *last_cursor)
{
    if (cfg->type == BRONZE_SRC_CUSTOM)
        return last_cursor != NULL; /* no cursor yet: the extractor loads everything */
    return bronze_source_keeps_state(cfg);
}

const char *bronze_source_state_file(const bronze_config *cfg, const char **key)
{
    *key = NULL;
    switch (cfg->type) {
    case BRONZE_SRC_DB:
        *key = "source.db.incremental.state_file";
        return cfg->db.state_file;
    default:
        return NULL; /* api, custom, file: 1.0's default path only */
    }
}

size_t bronze_source_batch_rows(const bronze_config *cfg, size_t dflt)
{
    /* a database hands rows over fetch_batch_size at a time; every other
     * source fills the job's default batch */
    if (cfg->type == BRONZE_SRC_DB && cfg->db.fetch_batch_size > 0 &&
        cfg->db.fetch_batch_size < 1000000)
        return (size_t)cfg->db.fetch_batch_size;
    return dflt;
}
