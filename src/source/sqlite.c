/*
 * sqlite.c - `type: db` with a sqlite: connection string (SPEC §3, §7).
 *
 * The query is prepared once and stepped with sqlite3_step straight into the
 * batch. Column types come from declared types (sqlite3_column_decltype):
 * a column's storage class can still differ row by row, so every value is
 * checked against its column: lossless conversions are made (an integer in a
 * REAL column), anything else fails the run naming row and column and
 * suggesting a CAST. Expression columns (no declared type) take the type of
 * their first non-NULL value, found by a look-ahead statement.
 *
 * Incremental: the last cursor is read as the cursor column's type (a
 * cursor that does not read as it fails the run), the lookback subtracted
 * (bronze_dbc_cursor_bind_text, as for ODBC), and bound by type:
 *   INTEGER/BOOLEAN  WHERE "col" > ?1            ?1 an int64 (exact past 2^53)
 *   REAL             WHERE "col" > ?1            ?1 a double
 *   DECIMAL          WHERE "col" > ?1            ?1 exact text (NUMERIC affinity)
 *   TEXT             WHERE "col" > ?1            ?1 text, compared as text
 *   DATE, DATETIME/TIMESTAMP, TIME:
 *     WHERE ("col" >= ?2 OR "col" < '') AND bronze_cursor_key("col") > ?1
 * SQLite keeps datetimes as text in several forms ('T' or ' ', with or
 * without fraction digits or an offset) that do not sort as the instants
 * they name, so the comparison goes through bronze_cursor_key(), a function
 * registered on the connection that reads a value exactly as the batch does
 * (days for DATE, UTC micros otherwise) and ?1 is the cursor read the same
 * way. ?2 (the cursor's date less a day, as text) only lets an index on the
 * column narrow the scan: every ISO 8601 text of a later instant sorts at or
 * above it, whatever its offset, and `"col" < ''` keeps numbers, which then
 * fail as in a full load (so do texts that are no timestamp and sort above
 * ?2: their key is the largest int64; one sorting below, such as
 * ' 2025-...', is skipped). The new cursor is the typed maximum of the rows
 * read, never moved backwards by a lookback; a date or timestamp one is
 * saved in the text the database holds (1.0 saved that text too).
 *
 * JSON columns: a value that is not JSON (checked with yajl) widens the
 * column to TEXT for the run: the schema is replaced (the old one is kept
 * until close, batches may still point at it), the statement rewinds and
 * next() answers RESTART, warned.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_parse.h>

#include "format/value_text.h"
#include "source/db_common.h"
#include "source/db_partition.h"
#include "source/source.h"
#include "util/buf.h"
#include "util/datetime.h"
#include "util/interrupt.h"
#include "util/log.h"

struct bronze_source {
    sqlite3 *db;
    sqlite3_stmt *st;
    bronze_schema *schema;
    const bronze_config *cfg;
    uint64_t row;   /* 1-based number of the last row read */
    int cursor_col; /* -1 when not incremental */
    bronze_dbc_cursor cur;
    bronze_buf cursor_text;
    bool done;
    char *last_cursor;
    bronze_dbc_lookback lookback;
    struct { /* the cursor's bindings, ?1 (and ?2), for every statement */
        enum { CB_NONE = 0, CB_INT, CB_DOUBLE, CB_TEXT } kind;
        int64_t i;
        double f;
        char *text;
        bool with_date;
        char date[BRONZE_DT_MAX];
    } cb;
    int widen_col;           /* a JSON column that met non-JSON, or -1 */
    bronze_schema **retired; /* schemas replaced by a widening, freed at close */
    size_t nretired;
};

const char *bronze_source_sqlite_path(const char *cs)
{
    /* sqlite:///abs/path, sqlite:/abs/path, sqlite:rel/path */
    const char *p = cs + 7;
    if (!strncmp(p, "//", 2))
        p += 2;
    return p;
}

static bronze_type type_from_decl(const char *decl, int *prec, int *scale)
{
    char up[128];
    size_t n = 0;
    for (; decl[n] && n < sizeof up - 1; n++)
        up[n] = (char)toupper((unsigned char)decl[n]);
    up[n] = 0;
    *prec = *scale = 0;
    if (strstr(up, "BOOL"))
        return BRONZE_T_BOOL;
    if (strstr(up, "INT"))
        return BRONZE_T_INT64;
    if (strstr(up, "TIMESTAMP") || strstr(up, "DATETIME"))
        return strstr(up, "TZ") || strstr(up, "WITH TIME ZONE") ? BRONZE_T_TIMESTAMPTZ
                                                                : BRONZE_T_TIMESTAMP;
    if (strstr(up, "DATE"))
        return BRONZE_T_DATE;
    if (strstr(up, "TIME"))
        return BRONZE_T_TIME;
    if (strstr(up, "JSON"))
        return BRONZE_T_JSON;
    if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT") || strstr(up, "UUID"))
        return BRONZE_T_STRING;
    if (strstr(up, "BLOB") || strstr(up, "BINARY"))
        return BRONZE_T_BYTES;
    if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
        return BRONZE_T_DOUBLE;
    if (strstr(up, "DEC") || strstr(up, "NUMERIC")) {
        int p = 0, s = 0;
        const char *paren = strchr(up, '(');
        if (paren && sscanf(paren, "(%d,%d)", &p, &s) >= 1 && p >= 1 && p <= 38 && s >= 0 &&
            s <= p) {
            *prec = p;
            *scale = s;
            return BRONZE_T_DECIMAL;
        }
        return BRONZE_T_DOUBLE;
    }
    return BRONZE_T_STRING;
}

static bronze_type type_from_storage(int t)
{
    switch (t) {
    case SQLITE_INTEGER:
        return BRONZE_T_INT64;
    case SQLITE_FLOAT:
        return BRONZE_T_DOUBLE;
    case SQLITE_BLOB:
        return BRONZE_T_BYTES;
    default:
        return BRONZE_T_STRING;
    }
}

static int sq_err(bronze_err *err, struct bronze_source *s, const char *what)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: source.db: %s: %s", s->cfg->path, what,
                          sqlite3_errmsg(s->db));
}

/* A DATE / TIMESTAMP / TIME text as the batch holds it: days for DATE, UTC
 * micros for timestamps (a bare date is its midnight), micros for TIME. */
static int datetime_key(bronze_type t, const char *txt, size_t n, int64_t *out)
{
    int32_t days;
    bool tz;
    if (t == BRONZE_T_DATE) {
        if (bronze_parse_date(txt, n, &days))
            return -1;
        *out = days;
        return 0;
    }
    if (t == BRONZE_T_TIME)
        return bronze_parse_time(txt, n, out);
    if (!bronze_parse_timestamp(txt, n, out, &tz))
        return 0;
    if (bronze_parse_date(txt, n, &days))
        return -1;
    *out = (int64_t)days * 86400000000LL;
    return 0;
}

/* SQL function bronze_cursor_key(v) (user data: the column's bronze_type).
 * A value that does not read as the type keys as INT64_MAX, so the filter
 * lets it through and reading it fails the run naming row and column, as a
 * full load does. */
static void cursor_key_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    bronze_type t = (bronze_type)(intptr_t)sqlite3_user_data(cx);
    int st = sqlite3_value_type(argv[0]);
    if (st == SQLITE_NULL) {
        sqlite3_result_null(cx);
        return;
    }
    int64_t key = INT64_MAX;
    if (st == SQLITE_TEXT) {
        const char *txt = (const char *)sqlite3_value_text(argv[0]);
        if (!txt || datetime_key(t, txt, (size_t)sqlite3_value_bytes(argv[0]), &key))
            key = INT64_MAX;
    }
    sqlite3_result_int64(cx, key);
}

static bool is_datetime(bronze_type t)
{
    return t == BRONZE_T_DATE || t == BRONZE_T_TIMESTAMP || t == BRONZE_T_TIMESTAMPTZ ||
           t == BRONZE_T_TIME;
}

/* Expression columns: step a second statement until each has a non-NULL. */
static int settle_expression_types(struct bronze_source *s, const char *sql, bool *undecided,
                                   bronze_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sq_err(err, s, "preparing base_query");
    size_t left = 0;
    for (size_t i = 0; i < s->schema->ncols; i++)
        left += undecided[i];
    int rc;
    while (left && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (size_t i = 0; i < s->schema->ncols; i++) {
            int t = sqlite3_column_type(st, (int)i);
            if (undecided[i] && t != SQLITE_NULL) {
                s->schema->fields[i].type = type_from_storage(t);
                undecided[i] = false;
                left--;
            }
        }
    }
    sqlite3_finalize(st);
    return 0;
}

/* Binds the cursor (?1, and ?2 for a datetime's prefilter) to st. */
static int bind_cursor(struct bronze_source *s, sqlite3_stmt *st)
{
    int rc = SQLITE_OK;
    switch (s->cb.kind) {
    case CB_INT:
        rc = sqlite3_bind_int64(st, 1, s->cb.i);
        break;
    case CB_DOUBLE:
        rc = sqlite3_bind_double(st, 1, s->cb.f);
        break;
    case CB_TEXT:
        rc = sqlite3_bind_text(st, 1, s->cb.text, -1, SQLITE_TRANSIENT);
        break;
    default:
        return SQLITE_OK;
    }
    if (rc == SQLITE_OK && s->cb.with_date)
        rc = sqlite3_bind_text(st, 2, s->cb.date, -1, SQLITE_TRANSIENT);
    return rc;
}

/* Replaces s->st by the base query filtered on the last cursor (see the
 * file comment), bound by the cursor column's type. */
static int apply_cursor(struct bronze_source *s, bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    const bronze_field *f = &s->schema->fields[s->cursor_col];
    char ty[48];
    bronze_field_type_text(f, ty, sizeof ty);
    if (f->type == BRONZE_T_BYTES || f->type == BRONZE_T_JSON)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.incremental.cursor_column / incremental_key: cursor "
                              "column '%s' has type %s, which bronze cannot order; use a "
                              "timestamp, date, integer, numeric or text column (or cast it in "
                              "the query)",
                              cfg->path, f->name, ty);
    bronze_buf bind = BRONZE_BUF_INIT, sql = BRONZE_BUF_INIT;
    int rc = bronze_dbc_cursor_bind_text(f->type, f->scale, s->last_cursor, &s->lookback, &bind);
    if (rc == -1) {
        bronze_buf_free(&bind);
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: the incremental cursor '%s' (from the state file or the cursor "
                              "override) does not read as %s, the type of cursor column '%s'; fix "
                              "or remove the state file, or set source.db.incremental_cursor_value",
                              cfg->path, s->last_cursor, ty, f->name);
    }
    if (rc == -2) {
        bronze_buf_free(&bind);
        if (s->lookback.kind == BRONZE_DBC_LB_INTERVAL)
            return bronze_err_set(err, BRONZE_E_CONFIG,
                                  "%s: source.db.incremental.lookback: an interval ('%s') needs a "
                                  "date, timestamp or time cursor column and fixed units "
                                  "(no months or years); '%s' is %s",
                                  cfg->path, s->lookback.text, f->name, ty);
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.incremental.lookback: a number needs a numeric, "
                              "date or timestamp cursor column (a whole number for an integer "
                              "one); '%s' is %s",
                              cfg->path, f->name, ty);
    }
    if (rc)
        goto oom;
    const char *bound = (const char *)bind.data;
    bool dt = is_datetime(f->type);
    if (bronze_dbc_wrap_query(&sql, cfg->db.base_query, NULL, '"', NULL))
        goto oom;
    sql.len = strlen((char *)sql.data);
    if (dt) {
        bool prefilter = f->type != BRONZE_T_TIME;
        if (bronze_buf_printf(&sql, " WHERE ") ||
            (prefilter &&
             (bronze_buf_printf(&sql, "(") || bronze_dbc_quote_ident(&sql, f->name, '"') ||
              bronze_buf_printf(&sql, " >= ?2 OR ") || bronze_dbc_quote_ident(&sql, f->name, '"') ||
              bronze_buf_printf(&sql, " < '') AND "))) ||
            bronze_buf_printf(&sql, "bronze_cursor_key(") ||
            bronze_dbc_quote_ident(&sql, f->name, '"') || bronze_buf_printf(&sql, ") > ?1"))
            goto oom;
        if (sqlite3_create_function_v2(
                s->db, "bronze_cursor_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                (void *)(intptr_t)f->type, cursor_key_fn, NULL, NULL, NULL) != SQLITE_OK) {
            bronze_buf_free(&bind);
            bronze_buf_free(&sql);
            return sq_err(err, s, "registering bronze_cursor_key");
        }
    } else if (bronze_buf_printf(&sql, " WHERE ") || bronze_dbc_quote_ident(&sql, f->name, '"') ||
               bronze_buf_printf(&sql, " > ?1")) {
        goto oom;
    }
    if (bronze_buf_cstr(&sql))
        goto oom;
    sqlite3_finalize(s->st);
    s->st = NULL;
    if (sqlite3_prepare_v2(s->db, (char *)sql.data, -1, &s->st, NULL) != SQLITE_OK) {
        bronze_buf_free(&bind);
        bronze_buf_free(&sql);
        return sq_err(err, s, "applying the incremental cursor to source.db.base_query");
    }
    bronze_buf_free(&sql);
    bronze_dbc_value v;
    if (dt) {
        int64_t key = 0;
        if (datetime_key(f->type, bound, strlen(bound), &key)) {
            bronze_buf_free(&bind);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: internal: cursor text '%s'",
                                  cfg->path, bound);
        }
        s->cb.kind = CB_INT;
        s->cb.i = key;
        if (f->type != BRONZE_T_TIME) {
            /* the date part less a day: an offset moves a local date by < 1 day */
            int64_t day = key;
            if (f->type != BRONZE_T_DATE)
                day = key / 86400000000LL - (key % 86400000000LL < 0); /* floor */
            bronze_fmt_date((int32_t)(day > -INT32_MAX + 1 && day < INT32_MAX ? day - 1 : day),
                            s->cb.date);
            s->cb.with_date = true;
        }
    } else if (f->type == BRONZE_T_INT16 || f->type == BRONZE_T_INT32 ||
               f->type == BRONZE_T_INT64 || f->type == BRONZE_T_BOOL) {
        if (bronze_dbc_value_parse(BRONZE_T_INT64, 0, bound, &v))
            v.i = 0;
        s->cb.kind = CB_INT;
        s->cb.i = v.i;
    } else if (f->type == BRONZE_T_DOUBLE || f->type == BRONZE_T_FLOAT) {
        if (bronze_dbc_value_parse(BRONZE_T_DOUBLE, 0, bound, &v))
            v.f = 0;
        s->cb.kind = CB_DOUBLE;
        s->cb.f = v.f;
    } else {
        s->cb.kind = CB_TEXT;
        s->cb.text = strdup(bound);
        if (!s->cb.text)
            goto oom;
    }
    bronze_buf_free(&bind);
    if (bind_cursor(s, s->st) != SQLITE_OK)
        return sq_err(err, s, "binding the incremental cursor");
    BRONZE_DEBUG("incremental: %s > %s (cursor '%s')", f->name, dt ? "its instant" : "the cursor",
                 s->last_cursor);
    return 0;
oom:
    bronze_buf_free(&bind);
    bronze_buf_free(&sql);
    return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
}

static const char *schema_name(const void *schema, size_t i)
{
    return ((const bronze_schema *)schema)->fields[i].name;
}

/* source.db.partitioning (SPEC §8, source/db_partition.h): s->st becomes
 * the (cursor-filtered) query cut to this shard's key range. Keys are the
 * integer itself, or a date/timestamp read by bronze_part_key() exactly as
 * the batch reads it (SQLite keeps datetimes as text in several forms);
 * bounds not configured come from min/max of those keys; the boundaries are
 * bound as ?3 and ?4 (?1 and ?2 stay the cursor's). */
static int apply_partitioning(struct bronze_source *s, const bronze_source_ctx *ctx,
                              bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    bronze_dbp_plan plan;
    if (ctx->dry_run)
        return 0;
    if (bronze_dbp_plan_for(cfg, ctx->shard, ctx->nshards, ctx->sub, ctx->nsub, &plan, err))
        return -1;
    if (!cfg->db.partitioning.column)
        return 0;
    int pc =
        bronze_dbc_find_name(s->schema->ncols, schema_name, s->schema, cfg->db.partitioning.column);
    const bronze_field *f = pc >= 0 ? &s->schema->fields[pc] : NULL;
    if (bronze_dbp_check_column(cfg, pc, f, err))
        return -1;
    if (!plan.active)
        return 0; /* one shard reads everything */
    int64_t min = 0, max = 0;
    bool have_min, have_max;
    if (bronze_dbp_config_bounds(cfg, f->type, &min, &have_min, &max, &have_max, err))
        return -1;
    bronze_buf key = BRONZE_BUF_INIT, q = BRONZE_BUF_INIT;
    char *inner = strdup(sqlite3_sql(s->st));
    sqlite3_stmt *st = NULL;
    int rc = -1;
    bool dt = f->type == BRONZE_T_DATE || f->type == BRONZE_T_TIMESTAMP ||
              f->type == BRONZE_T_TIMESTAMPTZ;
    if (!inner || (dt && bronze_buf_printf(&key, "bronze_part_key(")) ||
        bronze_dbc_quote_ident(&key, f->name, '"') || (dt && bronze_buf_printf(&key, ")")) ||
        bronze_buf_cstr(&key))
        goto oom;
    if (dt && sqlite3_create_function_v2(
                  s->db, "bronze_part_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                  (void *)(intptr_t)f->type, cursor_key_fn, NULL, NULL, NULL) != SQLITE_OK) {
        sq_err(err, s, "registering bronze_part_key");
        goto out;
    }
    const char *k = (const char *)key.data;
    if (!have_min || !have_max) {
        /* a text that is no date keys as INT64_MAX: not a bound */
        if (bronze_buf_printf(&q,
                              "SELECT min(%s), max(CASE WHEN %s < 9223372036854775807 THEN %s END)"
                              " FROM (%s) bronze_b",
                              k, k, k, inner) ||
            bronze_buf_cstr(&q))
            goto oom;
        if (sqlite3_prepare_v2(s->db, (const char *)q.data, -1, &st, NULL) != SQLITE_OK ||
            bind_cursor(s, st) != SQLITE_OK) {
            sq_err(err, s, "reading min/max of source.db.partitioning.column");
            goto out;
        }
        int step = sqlite3_step(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE) {
            sq_err(err, s, "reading min/max of source.db.partitioning.column");
            goto out;
        }
        bool none = step != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL ||
                    sqlite3_column_type(st, 1) == SQLITE_NULL;
        int64_t dmin = none ? 0 : sqlite3_column_int64(st, 0);
        int64_t dmax = none ? 0 : sqlite3_column_int64(st, 1);
        sqlite3_finalize(st);
        st = NULL;
        bronze_dbp_fill_bounds(&min, have_min, &max, have_max, dmin, dmax);
    }
    bronze_dbp_note(ctx->part_note, ctx->part_note_cap, f->type, true, min, max);
    bronze_dbp_range rg;
    bronze_dbp_range_of(min, max, plan.n, plan.first, plan.last, &rg);
    q.len = 0;
    if (bronze_buf_printf(&q, "SELECT * FROM (%s) bronze_part WHERE ", inner) ||
        bronze_dbp_condition(&q, k, &rg, "?3", "?4"))
        goto oom;
    if (sqlite3_prepare_v2(s->db, (const char *)q.data, -1, &st, NULL) != SQLITE_OK ||
        bind_cursor(s, st) != SQLITE_OK || (!rg.lo_open && sqlite3_bind_int64(st, 3, rg.lo)) ||
        (!rg.hi_open && sqlite3_bind_int64(st, 4, rg.hi))) {
        sq_err(err, s, "applying source.db.partitioning to source.db.base_query");
        goto out;
    }
    sqlite3_finalize(s->st);
    s->st = st;
    st = NULL;
    BRONZE_DEBUG("sqlite: shard %d/%d reads partitions [%d, %d) of %d on %s", ctx->shard,
                 ctx->nshards, plan.first, plan.last, plan.n, f->name);
    rc = 0;
    goto out;
oom:
    bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
out:
    sqlite3_finalize(st);
    free(inner);
    bronze_buf_free(&key);
    bronze_buf_free(&q);
    return rc;
}

/* A locked database: wait up to run.timeout_seconds in 10 ms steps (what
 * sqlite3_busy_timeout did), but give up at once on SIGINT/SIGTERM. */
static int busy_wait(void *arg, int count)
{
    const bronze_config *cfg = arg;
    if ((long long)count * 10 >= (long long)cfg->run.timeout_seconds * 1000)
        return 0;
    return bronze_interrupt_sleep_ms(10) == 0;
}

static int sqlite_open(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err)
{
    const bronze_config *cfg = ctx->cfg;
    struct bronze_source *s = calloc(1, sizeof *s);
    if (!s)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    s->cfg = cfg;
    s->cursor_col = -1;
    s->widen_col = -1;
    *out = s;
    if (bronze_dbc_open_checks(cfg, &s->lookback, err))
        return -1;
    const char *path = bronze_source_sqlite_path(cfg->env.conn_str);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        /* a URI's query string can hold a key= or password=: name the file only */
        int shown = (int)strcspn(path, "?");
        /* SQLAlchemy reads sqlite:///x.db as x.db in the working directory;
         * here (SPEC §3, as file:/// URLs) it is the absolute /x.db */
        bool three = !strncmp(cfg->env.conn_str, "sqlite:///", 10) && cfg->env.conn_str[10] != '/';
        return bronze_err_set(
            err, BRONZE_E_RUNTIME,
            "%s: source.db.conn_str_env: cannot open "
            "SQLite database %.*s%s: %s%s%.*s%s",
            cfg->path, shown, path, path[shown] ? " (its URI parameters not shown)" : "",
            s->db ? sqlite3_errmsg(s->db) : "out of memory",
            three ? " (sqlite:/// is followed by an absolute path, as in file:/// "
                    "URLs, not a relative one as in SQLAlchemy: for "
                  : "",
            three ? shown - 1 : 0, three ? path + 1 : "",
            three ? " in the working directory write sqlite:<that path>)" : "");
    }
    sqlite3_busy_handler(s->db, busy_wait, (void *)cfg);

    bool incremental = cfg->db.incremental && cfg->db.cursor_column && *cfg->db.cursor_column;
    if (incremental && ctx->last_cursor && !(s->last_cursor = strdup(ctx->last_cursor)))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    const char *sql = cfg->db.base_query;
    if (sqlite3_prepare_v2(s->db, sql, -1, &s->st, NULL) != SQLITE_OK)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: source.db.base_query: %s", cfg->path,
                              sqlite3_errmsg(s->db));
    int ncol = sqlite3_column_count(s->st);
    if (ncol == 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: source.db.base_query: the statement returns no columns",
                              cfg->path);
    s->schema = bronze_schema_new((size_t)ncol);
    bool *undecided = calloc((size_t)ncol, sizeof *undecided);
    if (!s->schema || !undecided) {
        free(undecided);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    bool any_undecided = false;
    for (int i = 0; i < ncol; i++) {
        const char *decl = sqlite3_column_decltype(s->st, i);
        const char *name = sqlite3_column_name(s->st, i);
        int prec = 0, scale = 0;
        bronze_type t = decl ? type_from_decl(decl, &prec, &scale) : BRONZE_T_STRING;
        undecided[i] = decl == NULL;
        any_undecided |= undecided[i];
        if (!name || bronze_schema_set(s->schema, (size_t)i, name, t, prec, scale, true)) {
            free(undecided);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        }
        if (incremental && s->cursor_col < 0 && !strcmp(name, cfg->db.cursor_column))
            s->cursor_col = i;
    }
    /* expression types from the unfiltered query: the filter depends on them */
    int rc = any_undecided && !ctx->dry_run ? settle_expression_types(s, sql, undecided, err) : 0;
    free(undecided);
    if (rc)
        return -1;
    if (incremental && s->cursor_col < 0)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.incremental_key: cursor column '%s' is not in the "
                              "query's result",
                              cfg->path, cfg->db.cursor_column);
    if (s->cursor_col >= 0 && s->last_cursor && apply_cursor(s, err))
        return -1;
    if (apply_partitioning(s, ctx, err))
        return -1;
    if (sqlite3_column_count(s->st) != ncol)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: source.db.base_query: the filtered query returns %d columns, "
                              "not %d",
                              cfg->path, sqlite3_column_count(s->st), ncol);
    if (s->cursor_col >= 0)
        bronze_dbc_cursor_init(&s->cur, &s->schema->fields[s->cursor_col], false);
    return 0;
}

static const bronze_schema *sqlite_schema(bronze_source *s)
{
    return s->schema;
}

static int misfit(bronze_err *err, struct bronze_source *s, int col, const char *why)
{
    const bronze_field *f = &s->schema->fields[col];
    char ty[48];
    bronze_field_type_text(f, ty, sizeof ty);
    return bronze_err_set(err, BRONZE_E_RUNTIME,
                          "%s: row %llu, column '%s' (%s): %s; cast it in source.db.base_query "
                          "(e.g. CAST(\"%s\" AS TEXT))",
                          s->cfg->path, (unsigned long long)s->row, f->name, ty, why, f->name);
}

/* True when p[0..n) is one complete JSON text (RFC 8259, any top-level
 * value, UTF-8 checked by yajl). No tree is built: yajl runs without
 * callbacks. */
static bool is_json(const unsigned char *p, size_t n)
{
    yajl_handle h = yajl_alloc(NULL, NULL, NULL);
    if (!h)
        return true; /* out of memory: let the value through as it came */
    bool ok = yajl_parse(h, p, n) == yajl_status_ok && yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    return ok;
}

static int put_value(struct bronze_source *s, bronze_batch *b, int i, bronze_err *err)
{
    sqlite3_stmt *st = s->st;
    int st_type = sqlite3_column_type(st, i);
    const bronze_field *f = &s->schema->fields[i];
    if (st_type == SQLITE_NULL) {
        bronze_batch_put_null(b);
        return 0;
    }
    switch (f->type) {
    case BRONZE_T_INT64:
    case BRONZE_T_BOOL:
        if (st_type == SQLITE_INTEGER) {
            sqlite3_int64 v = sqlite3_column_int64(st, i);
            if (f->type == BRONZE_T_BOOL) {
                if (v != 0 && v != 1)
                    return misfit(err, s, i, "an integer other than 0/1 in a BOOLEAN column");
                bronze_batch_put_bool(b, v);
            } else {
                bronze_batch_put_i64(b, v);
            }
            return 0;
        }
        if (st_type == SQLITE_FLOAT) {
            double d = sqlite3_column_double(st, i);
            if (f->type == BRONZE_T_INT64 && d == trunc(d) && fabs(d) < 9.2e18) {
                bronze_batch_put_i64(b, (int64_t)d);
                return 0;
            }
            return misfit(err, s, i, "a REAL value that is not a whole number");
        }
        if (f->type == BRONZE_T_BOOL && st_type == SQLITE_TEXT) {
            const char *t = (const char *)sqlite3_column_text(st, i);
            if (!strcasecmp(t, "true") || !strcasecmp(t, "false")) {
                bronze_batch_put_bool(b, !strcasecmp(t, "true"));
                return 0;
            }
        }
        return misfit(err, s, i, st_type == SQLITE_TEXT ? "a TEXT value" : "a BLOB value");
    case BRONZE_T_DOUBLE:
        if (st_type == SQLITE_FLOAT || st_type == SQLITE_INTEGER) {
            if (st_type == SQLITE_INTEGER) {
                sqlite3_int64 v = sqlite3_column_int64(st, i);
                if ((sqlite3_int64)(double)v != v)
                    return misfit(err, s, i, "an integer too large for a DOUBLE");
            }
            bronze_batch_put_f64(b, sqlite3_column_double(st, i));
            return 0;
        }
        return misfit(err, s, i, st_type == SQLITE_TEXT ? "a TEXT value" : "a BLOB value");
    case BRONZE_T_DECIMAL: {
        char tmp[64];
        const char *txt;
        if (st_type == SQLITE_FLOAT) {
            bronze_fmt_double(sqlite3_column_double(st, i), tmp);
            txt = tmp;
        } else {
            txt = (const char *)sqlite3_column_text(st, i);
        }
        __int128 v;
        if (st_type == SQLITE_BLOB || !txt ||
            bronze_dbc_parse_decimal(txt, strlen(txt), f->precision, f->scale, &v))
            return misfit(err, s, i, "a value that does not fit the declared precision/scale");
        bronze_batch_put_dec(b, v);
        return 0;
    }
    case BRONZE_T_DATE:
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ:
    case BRONZE_T_TIME: {
        if (st_type != SQLITE_TEXT)
            return misfit(err, s, i, "a non-text value where ISO 8601 text was expected");
        int64_t key;
        if (datetime_key(f->type, (const char *)sqlite3_column_text(st, i),
                         (size_t)sqlite3_column_bytes(st, i), &key))
            return misfit(err, s, i,
                          f->type == BRONZE_T_DATE   ? "text that is not a YYYY-MM-DD date"
                          : f->type == BRONZE_T_TIME ? "text that is not an HH:MM:SS time"
                                                     : "text that is not an ISO 8601 timestamp");
        if (f->type == BRONZE_T_DATE)
            bronze_batch_put_i32(b, (int32_t)key);
        else
            bronze_batch_put_i64(b, key);
        return 0;
    }
    case BRONZE_T_BYTES: {
        const void *p = sqlite3_column_blob(st, i);
        return bronze_batch_put_bytes(b, p, (size_t)sqlite3_column_bytes(st, i));
    }
    default: { /* STRING, JSON: numbers become their text, losslessly */
        if (st_type == SQLITE_FLOAT) {
            char tmp[32];
            size_t n = bronze_fmt_double(sqlite3_column_double(st, i), tmp);
            return bronze_batch_put_bytes(b, tmp, n);
        }
        const unsigned char *p = sqlite3_column_text(st, i);
        size_t n = (size_t)sqlite3_column_bytes(st, i);
        if (f->type == BRONZE_T_JSON && !is_json(p, n)) {
            s->widen_col = i;
            return -1;
        }
        return bronze_batch_put_bytes(b, p, n);
    }
    }
}

/* A JSON column met a value that is not JSON: the column becomes TEXT, the
 * statement rewinds, the caller answers RESTART. */
static int widen_json(struct bronze_source *s, bronze_err *err)
{
    int col = s->widen_col;
    s->widen_col = -1;
    bronze_schema **rt = realloc(s->retired, (s->nretired + 1) * sizeof *rt);
    if (!rt)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    s->retired = rt;
    bronze_schema *wide = bronze_schema_clone(s->schema);
    if (!wide)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    wide->fields[col].type = BRONZE_T_STRING;
    BRONZE_WARN("%s: row %llu, column '%s' (JSON): a value that is not JSON; the column is "
                "written as STRING and the extraction starts over",
                s->cfg->path, (unsigned long long)s->row, wide->fields[col].name);
    s->retired[s->nretired++] = s->schema; /* batches in flight still point at it */
    s->schema = wide;
    sqlite3_reset(s->st); /* keeps the bindings */
    s->row = 0;
    s->done = false;
    if (s->cursor_col >= 0)
        bronze_dbc_cursor_reset(&s->cur);
    return 0;
}

/* Folds the current row's cursor value (already in the batch, so read as
 * its type) into the maximum. A date or timestamp maximum also keeps its
 * text as stored, so the saved cursor reads as the database wrote it
 * (`2025-01-01 00:01:40`, as 1.0 saved it); other types are written from
 * the typed value (exact digits, shortest round-trip floats). */
static int track_cursor(struct bronze_source *s, const bronze_batch *b)
{
    const bronze_column *k = &b->cols[s->cursor_col];
    size_t r = b->nrows;
    if (!bronze_batch_is_valid(k, r))
        return 0;
    bronze_dbc_cursor *c = &s->cur;
    bool bigger;
    switch (c->type) {
    case BRONZE_T_BOOL:
        bigger = !c->have || k->v.u8[r] > c->i;
        if (bigger)
            c->i = k->v.u8[r];
        break;
    case BRONZE_T_INT16:
    case BRONZE_T_INT32:
    case BRONZE_T_DATE:
        bigger = !c->have || k->v.i32[r] > c->i;
        if (bigger)
            c->i = k->v.i32[r];
        break;
    case BRONZE_T_INT64:
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ:
    case BRONZE_T_TIME:
        bigger = !c->have || k->v.i64[r] > c->i;
        if (bigger)
            c->i = k->v.i64[r];
        break;
    case BRONZE_T_FLOAT:
    case BRONZE_T_DOUBLE: {
        double v = c->type == BRONZE_T_FLOAT ? (double)k->v.f32[r] : k->v.f64[r];
        bigger = !c->have || v > c->f;
        if (bigger)
            c->f = v;
        break;
    }
    case BRONZE_T_DECIMAL:
        bigger = !c->have || k->v.i128[r] > c->d;
        if (bigger)
            c->d = k->v.i128[r];
        break;
    default: {
        size_t n;
        const char *p = bronze_col_str(k, r, &n);
        size_t m = n < c->s.len ? n : c->s.len;
        int cmp = m ? memcmp(p, c->s.data, m) : 0;
        bigger = !c->have || cmp > 0 || (cmp == 0 && n > c->s.len);
        if (bigger) {
            c->s.len = 0;
            if (bronze_buf_append(&c->s, p, n))
                return -1;
        }
        break;
    }
    }
    if (!bigger)
        return 0;
    c->have = true;
    if (is_datetime(c->type)) {
        s->cursor_text.len = 0;
        if (bronze_buf_append(&s->cursor_text, sqlite3_column_text(s->st, s->cursor_col),
                              (size_t)sqlite3_column_bytes(s->st, s->cursor_col)) ||
            bronze_buf_cstr(&s->cursor_text))
            return -1;
    }
    return 0;
}

static int sqlite_next(bronze_source *s, bronze_batch *b, bronze_err *err)
{
    bronze_batch_clear(b);
    if (s->done)
        return BRONZE_SRC_END;
    int ncol = (int)s->schema->ncols;
    while (!bronze_batch_full(b)) {
        int rc = sqlite3_step(s->st);
        if (rc == SQLITE_DONE) {
            s->done = true;
            break;
        }
        if (rc != SQLITE_ROW)
            return sq_err(err, s, "reading the query result");
        s->row++;
        for (int i = 0; i < ncol; i++) {
            if (put_value(s, b, i, err)) {
                bronze_batch_abort_row(b);
                if (s->widen_col >= 0) {
                    bronze_batch_clear(b);
                    return widen_json(s, err) ? -1 : BRONZE_SRC_RESTART;
                }
                if (!err->msg[0])
                    bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
                return -1;
            }
        }
        if (s->cursor_col >= 0 && track_cursor(s, b))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        bronze_batch_end_row(b);
    }
    return b->nrows ? BRONZE_SRC_ROWS : BRONZE_SRC_END;
}

static const char *sqlite_cursor(bronze_source *s)
{
    if (s->cursor_col < 0 || !s->cur.have)
        return s->last_cursor;
    int cmp;
    /* with a lookback the rows may all be older than the last cursor:
     * never move the cursor backwards */
    if (s->last_cursor && !bronze_dbc_cursor_cmp_text(&s->cur, s->last_cursor, &cmp) && cmp >= 0)
        return s->last_cursor;
    if (is_datetime(s->cur.type))
        return (const char *)s->cursor_text.data;
    if (bronze_dbc_cursor_text(&s->cur, &s->cursor_text))
        return s->last_cursor;
    return (const char *)s->cursor_text.data;
}

static void sqlite_close(bronze_source *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->st);
    sqlite3_close(s->db);
    bronze_schema_free(s->schema);
    for (size_t i = 0; i < s->nretired; i++)
        bronze_schema_free(s->retired[i]);
    free(s->retired);
    bronze_dbc_cursor_free(&s->cur);
    bronze_buf_free(&s->cursor_text);
    free(s->last_cursor);
    free(s->cb.text);
    free(s);
}

const bronze_source_vt bronze_source_sqlite = {
    .name = "sqlite",
    .open = sqlite_open,
    .schema = sqlite_schema,
    .next = sqlite_next,
    .cursor = sqlite_cursor,
    .close = sqlite_close,
};
