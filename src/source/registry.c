/*
 * registry.c - picks the source implementation for a config, once, at setup
 * (the curl "protocol handler table" idea): the job only ever sees the vtable.
 * For `type: db` the connection string's form decides: sqlite:, postgres(ql)://
 * or libpq keywords, or an ODBC string (DRIVER= / DSN=).
 */
#include <string.h>
#include <strings.h>

#include "source/source.h"

static bool has_kv(const char *s, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = s; (p = strcasestr(p, key)); p += n)
        if (p == s || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t')
            return true;
    return false;
}

const bronze_source_vt *bronze_source_for(const bronze_config *cfg, bronze_err *err)
{
    switch (cfg->type) {
    case BRONZE_SRC_FILE:
        return &bronze_source_file;
    case BRONZE_SRC_DB: {
        const char *cs = cfg->env.conn_str ? cfg->env.conn_str : "";
        if (!strncmp(cs, "sqlite:", 7)) {
            /* sqlite3_open_v2("") opens a private temporary database: a
             * typo in the variable would load nothing, exit 0 */
            const char *p = bronze_source_sqlite_path(cs);
            while (*p == ' ' || *p == '\t')
                p++;
            if (!*p) {
                bronze_err_set(err, BRONZE_E_CONFIG,
                               "%s: source.db.conn_str_env: the connection string in %s has no "
                               "database path (sqlite:path/to/file.db)",
                               cfg->path, cfg->db.conn_str_env);
                return NULL;
            }
            return &bronze_source_sqlite;
        }
        if (!strncmp(cs, "postgresql://", 13) || !strncmp(cs, "postgres://", 11))
            return &bronze_source_postgres;
        if (has_kv(cs, "DRIVER=") || has_kv(cs, "DSN="))
            return &bronze_source_odbc;
        if (strstr(cs, "host=") || strstr(cs, "dbname=") || strstr(cs, "user="))
            return &bronze_source_postgres;
        bronze_err_set(err, BRONZE_E_CONFIG,
                       "%s: source.db.conn_str_env: the connection string in %s is not a "
                       "sqlite:, postgresql://, libpq keyword or ODBC (DRIVER=/DSN=) string",
                       cfg->path, cfg->db.conn_str_env);
        return NULL;
    }
    case BRONZE_SRC_API:
        return &bronze_source_api;
    case BRONZE_SRC_CUSTOM:
        bronze_err_set(err, BRONZE_E_RUNTIME,
                       "%s: source.type: custom extractors are not available in this build yet",
                       cfg->path);
        return NULL;
    }
    bronze_err_set(err, BRONZE_E_CONFIG, "%s: source.type: unknown", cfg->path);
    return NULL;
}
