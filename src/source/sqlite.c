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
 * Incremental: the cursor is bound as a parameter:
 *   SELECT * FROM (<base_query>\n) bronze_src WHERE "<col>" > ?1
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/value_text.h"
#include "source/db_common.h"
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
    uint64_t row;      /* 1-based number of the last row read */
    int cursor_col;    /* -1 when not incremental */
    bronze_buf cursor; /* max cursor text seen */
    bool have_cursor, done;
    char *last_cursor;
};

static const char *db_path(const char *cs)
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

/* Binds the cursor with the storage class it reads as, so `col > ?1`
 * compares numbers with numbers and text with text (SQLite orders any
 * INTEGER below any TEXT). */
static void bind_cursor(sqlite3_stmt *st, const char *cur)
{
    char *end;
    long long i = strtoll(cur, &end, 10);
    if (*cur && !*end) {
        sqlite3_bind_int64(st, 1, i);
        return;
    }
    double d = strtod(cur, &end);
    if (*cur && !*end && isfinite(d)) {
        sqlite3_bind_double(st, 1, d);
        return;
    }
    sqlite3_bind_text(st, 1, cur, -1, SQLITE_TRANSIENT);
}

/* Expression columns: step a second statement until each has a non-NULL. */
static int settle_expression_types(struct bronze_source *s, const char *sql, bool *undecided,
                                   bronze_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sq_err(err, s, "preparing base_query");
    if (s->last_cursor)
        bind_cursor(st, s->last_cursor);
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
    *out = s;
    const char *path = db_path(cfg->env.conn_str);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: source.db.conn_str_env: cannot open "
                              "SQLite database %s: %s",
                              cfg->path, path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
    sqlite3_busy_handler(s->db, busy_wait, (void *)cfg);

    bool incremental = cfg->db.incremental && cfg->db.cursor_column;
    bronze_buf sql = BRONZE_BUF_INIT;
    if (incremental && ctx->last_cursor) {
        s->last_cursor = strdup(ctx->last_cursor);
        if (bronze_dbc_wrap_query(&sql, cfg->db.base_query, cfg->db.cursor_column, '"', "?1"))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    } else {
        bronze_buf_append(&sql, cfg->db.base_query, strlen(cfg->db.base_query));
    }
    if (bronze_buf_cstr(&sql))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    int rc = sqlite3_prepare_v2(s->db, (char *)sql.data, -1, &s->st, NULL);
    if (rc != SQLITE_OK) {
        bronze_buf_free(&sql);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: source.db.base_query: %s", cfg->path,
                              sqlite3_errmsg(s->db));
    }
    if (s->last_cursor)
        bind_cursor(s->st, s->last_cursor);

    int ncol = sqlite3_column_count(s->st);
    if (ncol == 0) {
        bronze_buf_free(&sql);
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: source.db.base_query: the statement returns no columns",
                              cfg->path);
    }
    s->schema = bronze_schema_new((size_t)ncol);
    bool *undecided = calloc((size_t)ncol, sizeof *undecided);
    if (!s->schema || !undecided) {
        free(undecided);
        bronze_buf_free(&sql);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    bool any_undecided = false;
    for (int i = 0; i < ncol; i++) {
        const char *decl = sqlite3_column_decltype(s->st, i);
        int prec = 0, scale = 0;
        bronze_type t = decl ? type_from_decl(decl, &prec, &scale) : BRONZE_T_STRING;
        undecided[i] = decl == NULL;
        any_undecided |= undecided[i];
        bronze_schema_set(s->schema, (size_t)i, sqlite3_column_name(s->st, i), t, prec, scale,
                          true);
        if (incremental && !strcmp(sqlite3_column_name(s->st, i), cfg->db.cursor_column))
            s->cursor_col = i;
    }
    if (any_undecided && !ctx->dry_run &&
        settle_expression_types(s, (char *)sql.data, undecided, err)) {
        free(undecided);
        bronze_buf_free(&sql);
        return -1;
    }
    free(undecided);
    bronze_buf_free(&sql);
    size_t renamed = bronze_schema_dedupe_names(s->schema);
    if (renamed)
        BRONZE_WARN("%zu duplicate column name(s) in the query result renamed with a _N suffix",
                    renamed);
    if (incremental && s->cursor_col < 0)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.incremental_key: cursor column '%s' is not in the "
                              "query's result",
                              cfg->path, cfg->db.cursor_column);
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
        const char *t = (const char *)sqlite3_column_text(st, i);
        size_t n = (size_t)sqlite3_column_bytes(st, i);
        int32_t days;
        int64_t us;
        bool tz;
        if (f->type == BRONZE_T_DATE) {
            if (bronze_parse_date(t, n, &days))
                return misfit(err, s, i, "text that is not a YYYY-MM-DD date");
            bronze_batch_put_i32(b, days);
        } else if (f->type == BRONZE_T_TIME) {
            if (bronze_parse_time(t, n, &us))
                return misfit(err, s, i, "text that is not an HH:MM:SS time");
            bronze_batch_put_i64(b, us);
        } else {
            if (bronze_parse_timestamp(t, n, &us, &tz)) {
                if (bronze_parse_date(t, n, &days))
                    return misfit(err, s, i, "text that is not an ISO 8601 timestamp");
                us = (int64_t)days * 86400000000LL;
            }
            bronze_batch_put_i64(b, us);
        }
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
        return bronze_batch_put_bytes(b, p, (size_t)sqlite3_column_bytes(st, i));
    }
    }
}

/* Remembers the largest cursor value seen (numeric compare for numbers). */
static void track_cursor(struct bronze_source *s)
{
    int i = s->cursor_col;
    int t = sqlite3_column_type(s->st, i);
    if (t == SQLITE_NULL)
        return;
    const char *txt = (const char *)sqlite3_column_text(s->st, i);
    size_t n = (size_t)sqlite3_column_bytes(s->st, i);
    bool bigger;
    if (!s->have_cursor) {
        bigger = true;
    } else if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
        bronze_buf_cstr(&s->cursor);
        bigger = sqlite3_column_double(s->st, i) > strtod((char *)s->cursor.data, NULL);
    } else {
        size_t m = s->cursor.len < n ? s->cursor.len : n;
        int c = memcmp(txt, s->cursor.data, m);
        bigger = c > 0 || (c == 0 && n > s->cursor.len);
    }
    if (bigger) {
        s->cursor.len = 0;
        bronze_buf_append(&s->cursor, txt, n);
        s->have_cursor = true;
    }
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
                if (!err->msg[0])
                    bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
                return -1;
            }
        }
        if (s->cursor_col >= 0)
            track_cursor(s);
        bronze_batch_end_row(b);
    }
    return b->nrows ? BRONZE_SRC_ROWS : BRONZE_SRC_END;
}

static const char *sqlite_cursor(bronze_source *s)
{
    if (s->have_cursor && !bronze_buf_cstr(&s->cursor))
        return (const char *)s->cursor.data;
    return s->last_cursor;
}

static void sqlite_close(bronze_source *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->st);
    sqlite3_close(s->db);
    bronze_schema_free(s->schema);
    bronze_buf_free(&s->cursor);
    free(s->last_cursor);
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
