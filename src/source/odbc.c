/*
 * odbc.c - `type: db` over unixODBC, for connection strings with DRIVER= or
 * DSN= (SQL Server, MySQL/MariaDB, PostgreSQL through psqlodbc, ...).
 *
 * Shape:
 *   1. SQLDriverConnect (SQL_ATTR_LOGIN_TIMEOUT = run.timeout_seconds;
 *      transient failures retried with backoff);
 *   2. SQLPrepare the (cursor-filtered) query and describe it with
 *      SQLDescribeCol / SQLColAttribute: the schema is fixed before row one;
 *   3. SQLExecute and fetch. Without long columns: block fetch of up to 1024
 *      rows (SQL_ATTR_ROW_ARRAY_SIZE) into column-wise bound buffers. With a
 *      long column (LONGVARCHAR/LONGVARBINARY, size 0 or > 4000 characters /
 *      8000 bytes): one row at a time, every column read with SQLGetData,
 *      long values in pieces. A bound value that comes back truncated (a
 *      driver that under-reports a size, e.g. psqlodbc's 255 for unsized
 *      varchar) switches to row-at-a-time and asks the skeleton to start
 *      over (BRONZE_DBD_REDO, not counted as a retry).
 *
 * Types: integers by width (unsigned ones widened: SMALLINT -> INT32,
 * INTEGER -> INT64, BIGINT -> DECIMAL(20,0)); REAL -> FLOAT; FLOAT/DOUBLE ->
 * DOUBLE; DECIMAL/NUMERIC with 0 <= scale <= precision <= 38 -> DECIMAL,
 * fetched as SQL_C_CHAR text and parsed exactly (a value that does not fit
 * the described precision/scale fails naming row and column), other
 * precisions -> STRING (the text); BIT -> BOOL; DATE -> DATE and TIMESTAMP ->
 * TIMESTAMP via SQL_C_TYPE_* structs (fraction: ns truncated to µs); TIME and
 * SQL Server's time2 / datetimeoffset via their text (TIME / TIMESTAMPTZ);
 * BINARY family -> BYTES; character types, GUID and everything else ->
 * STRING, read as SQL_C_WCHAR (UTF-16) and converted to UTF-8, which does not
 * depend on the driver manager's locale.
 *
 * Incremental: SELECT * FROM (<q>\n) bronze_src WHERE <col> > ? with the
 * cursor bound as a parameter (SQL_C_CHAR in ODBC's literal forms; text
 * cursors as SQL_C_WCHAR). A lookback is applied to the cursor value here
 * (fixed-length intervals, or a number) since interval arithmetic is not
 * portable SQL.
 *
 * Driver notes (psqlodbc, the one tested): it holds the whole result in
 * memory unless the string sets UseDeclareFetch=1 (warned about). It hides
 * PostgreSQL's types (±infinity and BC dates become ordinary dates,
 * timestamptz loses its zone, bool is "1"/"0" text, unconstrained numeric
 * is described as numeric(28,6)); map_psql recovers them by the server's type
 * name so the values land as the native source lands them: date/timestamp
 * columns are cast to text in the query and parsed, the session runs in UTC
 * (SET TIME ZONE 'UTC': timestamptz text and a bound cursor are UTC),
 * numeric(28,6) is exact text. The native postgresql:// source stays faster.
 *
 * Errors: SQLGetDiagRec records; SQLSTATE class 08, HYT00/HYT01, 40001 and
 * 40P01 are transient (BRONZE_E_RETRY) unless the message is about
 * authentication. Retries, RESTART, the cursor maximum and the schemas'
 * lifetime are the shared skeleton's (db_driver.c); this file is its driver.
 * A connection string that does not parse (an unterminated {brace}) is a
 * config error before any connect: the driver manager would quote its
 * pieces. The password (PWD= / Password=, braced or not) as parsed is
 * scrubbed from every driver message (their text is the driver's, not ours)
 * and never logged.
 */
#include <pthread.h>
#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "source/db_common.h"
#include "source/db_driver.h"
#include "source/db_partition.h"
#include "source/source.h"
#include "util/utf8_locale.h"
#include "util/buf.h"
#include "util/datetime.h"
#include "util/interrupt.h"
#include "util/log.h"

#ifndef SQL_SS_TIME2
#define SQL_SS_TIME2 (-154)
#endif
#ifndef SQL_SS_TIMESTAMPOFFSET
#define SQL_SS_TIMESTAMPOFFSET (-155)
#endif

#define BLOCK_ROWS 1024
#define BLOCK_BYTES (32u << 20) /* bound buffers of one block, at most */
#define LONG_CHARS 4000
#define LONG_BYTES 8000
#define PIECE_BYTES 65536

/* How a column is fetched and converted. */
typedef enum {
    OK_BIT,   /* SQL_C_BIT -> BOOL */
    OK_I16,   /* SQL_C_SSHORT -> INT16 */
    OK_I32,   /* SQL_C_SLONG -> INT32 (or INT32 for unsigned SMALLINT) */
    OK_I64,   /* SQL_C_SBIGINT -> INT64 */
    OK_F32,   /* SQL_C_FLOAT */
    OK_F64,   /* SQL_C_DOUBLE */
    OK_DEC,   /* SQL_C_CHAR text -> DECIMAL */
    OK_ATEXT, /* SQL_C_CHAR text (numbers) -> STRING */
    OK_WTEXT, /* SQL_C_WCHAR -> UTF-8 STRING */
    OK_BIN,   /* SQL_C_BINARY -> BYTES */
    OK_DATE,  /* SQL_C_TYPE_DATE -> DATE */
    OK_TS,    /* SQL_C_TYPE_TIMESTAMP -> TIMESTAMP */
    OK_TIME,  /* SQL_C_CHAR "HH:MM:SS[.f]" -> TIME */
    OK_TSTZ,  /* SQL_C_CHAR "YYYY-MM-DD HH:MM:SS[.f] +HH:MM" -> TIMESTAMPTZ */
    /* psqlodbc: the query casts these to text, PostgreSQL's own ISO form */
    OK_PGDATE, /* "2024-02-29", "0044-03-15 BC", "±infinity" -> DATE */
    OK_PGTS,   /* "... HH:MM:SS[.f][±HH[:MM[:SS]]][ BC]" -> TIMESTAMP / TIMESTAMPTZ */
    OK_PGBOOL, /* BoolsAsChar's "1"/"0" -> BOOL */
} oc_kind;

typedef struct oc_col {
    SQLSMALLINT sqltype, digits;
    SQLULEN size;
    oc_kind kind;
    SQLSMALLINT ctype;
    bool is_long;
    bool lower;  /* GUID text: canonical lower case */
    bool cast;   /* psqlodbc: cast to text in the query (OK_PGDATE, OK_PGTS) */
    SQLLEN elem; /* bytes per bound value */
    char *buf;   /* block buffers: rows * elem */
    SQLLEN *ind;
} oc_col;

typedef struct oc_drv {
    const bronze_config *cfg;
    const char *last_cursor;             /* the skeleton's; NULL: none */
    const bronze_dbc_lookback *lookback; /* the skeleton's */
    char *password;                      /* PWD= as parsed, for scrubbing driver messages only */
    char *password2;                     /* Password= (a driver may read either) */
    char *target;                        /* DSN / SERVER / DATABASE / UID, for messages */
    SQLHENV env;
    SQLHDBC dbc;
    SQLHSTMT st;
    bool connected;
    bool psql; /* the driver is psqlodbc: PostgreSQL's types are recovered (see map_psql) */
    char quote;
    const bronze_schema *schema; /* the skeleton's (use_schema) */
    oc_col *cols;
    size_t ncols;
    bool row_mode;
    size_t block_rows;
    SQLULEN fetched;
    SQLUSMALLINT *row_status;
    size_t block_pos;
    bool fetching;
    bronze_buf param; /* bound cursor value (char or UTF-16) */
    SQLLEN param_ind;
    const bronze_source_ctx *ctx; /* shard (SPEC §8) */
    struct {                      /* source.db.partitioning's bound boundaries */
        bool on, lo, hi;
        bronze_type type;
        int64_t v[2];
        char text[2][64];
        SQLLEN ind[2];
    } part;
    bronze_buf scratch; /* UTF-16 / text pieces */
    bronze_buf utf8;
    uint64_t row;
    size_t trunc_col; /* the column whose value came back truncated */
    /* the watcher: SQLCancel(st) on SIGINT/SIGTERM, from its own thread,
     * while this one may block in SQLExecute/SQLFetch (ODBC allows that) */
    pthread_mutex_t mu; /* guards st against the watcher */
    pthread_t watcher;
    bool watching, stop_watch;
} oc_drv;

/* ------------------------------------------------ connection strings */

/* Value of `key` in an ODBC connection string (keys case-insensitive,
 * values possibly {braced} with }} escapes). Caller frees; NULL if absent. */
static char *conn_get(const char *cs, const char *key)
{
    size_t kl = strlen(key);
    const char *p = cs;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *eq = strchr(p, '=');
        if (!eq)
            return NULL;
        const char *ke = eq;
        while (ke > p && ke[-1] == ' ')
            ke--;
        bool match = (size_t)(ke - p) == kl && !strncasecmp(p, key, kl);
        const char *v = eq + 1;
        bronze_buf out = BRONZE_BUF_INIT;
        const char *b = v;
        while (*b == ' ')
            b++;
        if (*b == '{')
            v = b;
        if (*v == '{') {
            v++;
            while (*v) {
                if (*v == '}' && v[1] == '}') {
                    bronze_buf_putc(&out, '}');
                    v += 2;
                } else if (*v == '}') {
                    v++;
                    break;
                } else
                    bronze_buf_putc(&out, (uint8_t)*v++);
            }
            while (*v && *v != ';')
                v++;
        } else {
            while (*v && *v != ';')
                bronze_buf_putc(&out, (uint8_t)*v++);
        }
        if (match) {
            if (bronze_buf_cstr(&out)) {
                bronze_buf_free(&out);
                return NULL;
            }
            if (!out.data)
                return strdup("");
            return (char *)out.data;
        }
        bronze_buf_free(&out);
        p = v;
    }
    return NULL;
}

/* Checks the whole string's shape: "key=value" pairs separated by ';', a
 * value either plain or {braced} (with }} for '}') and nothing but blanks
 * between a closing brace and the next ';'. A string that fails (an
 * unterminated brace, a piece without '=') would be taken apart differently
 * by the driver manager, which then quotes pieces of it (the password too) in
 * its messages: refused before connecting. 0 ok, -1 malformed. */
static int conn_check(const char *cs)
{
    const char *p = cs;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        if (!*p)
            return 0;
        const char *eq = p;
        while (*eq && *eq != '=' && *eq != ';')
            eq++;
        if (*eq != '=' || eq == p)
            return -1;
        const char *v = eq + 1;
        while (*v == ' ')
            v++;
        if (*v == '{') {
            for (v++;; v++) {
                if (!*v)
                    return -1;
                if (*v == '}' && v[1] == '}')
                    v++;
                else if (*v == '}')
                    break;
            }
            v++;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v && *v != ';')
                return -1;
        } else {
            while (*v && *v != ';')
                v++;
        }
        p = v;
    }
}

static int parse_conn(oc_drv *s, bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    const char *cs = cfg->env.conn_str;
    if (conn_check(cs))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.conn_str_env: the ODBC connection string in %s is "
                              "malformed (every piece is key=value, separated by ';'; a value "
                              "holding ';', '{' or '}' is braced: PWD={...}, with '}' doubled)",
                              cfg->path ? cfg->path : "config",
                              cfg->db.conn_str_env ? cfg->db.conn_str_env : "the environment");
    s->password = conn_get(cs, "PWD");
    s->password2 = conn_get(cs, "PASSWORD");
    bronze_buf t = BRONZE_BUF_INIT;
    static const char *keys[] = {"DSN", "SERVER", "HOST", "PORT", "DATABASE", "UID", "USER"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *v = conn_get(cs, keys[i]);
        if (v && *v)
            bronze_buf_printf(&t, "%s%s=%s", t.len ? ";" : "", keys[i], v);
        free(v);
    }
    if (!t.len)
        bronze_buf_printf(&t, "(driver defaults)");
    if (bronze_buf_cstr(&t))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
    s->target = (char *)t.data;
    return 0;
}

/* ------------------------------------------------------- diagnostics */

/* Collects a handle's diagnostic records into err. The kind: transient
 * SQLSTATEs (08xxx, HYT00, HYT01, 40001, 40P01) -> RETRY unless the text is
 * about authentication; else RUNTIME. */
static int diag_err(oc_drv *s, SQLSMALLINT htype, SQLHANDLE h, const char *what, bronze_err *err)
{
    char msg[1536] = "";
    size_t n = 0;
    bool transient = false, auth = false;
    char first[6] = "";
    for (SQLSMALLINT i = 1; i <= 8 && h; i++) {
        SQLCHAR state[6], text[768];
        SQLINTEGER native;
        SQLSMALLINT len;
        SQLRETURN rc = SQLGetDiagRec(htype, h, i, state, &native, text, sizeof text, &len);
        if (!SQL_SUCCEEDED(rc))
            break;
        if (!first[0])
            memcpy(first, state, 6);
        if (!strncmp((char *)state, "08", 2) || !strcmp((char *)state, "HYT00") ||
            !strcmp((char *)state, "HYT01") || !strcmp((char *)state, "40001") ||
            !strcmp((char *)state, "40P01"))
            transient = true;
        if (!strncmp((char *)state, "28", 2) || strcasestr((char *)text, "authentication") ||
            strcasestr((char *)text, "password") || strcasestr((char *)text, "login failed") ||
            strcasestr((char *)text, "access denied"))
            auth = true;
        size_t tl = strlen((char *)text);
        while (tl && (text[tl - 1] == '\n' || text[tl - 1] == ' '))
            text[--tl] = 0;
        int w = snprintf(msg + n, sizeof msg - n, "%s[%s] %s", n ? "; " : "", state, text);
        if (w < 0 || (size_t)w >= sizeof msg - n)
            break;
        n += (size_t)w;
    }
    if (bronze_interrupted())
        return bronze_dbd_check_interrupt("odbc", err); /* the watcher cancelled it */
    if (!msg[0])
        snprintf(msg, sizeof msg, "no diagnostic from the driver");
    bronze_err_set(err, transient && !auth ? BRONZE_E_RETRY : BRONZE_E_RUNTIME,
                   "odbc: %s failed on %s: %s", what, s->target, msg);
    bronze_dbc_scrub(err->msg, sizeof err->msg, s->password);
    bronze_dbc_scrub(err->msg, sizeof err->msg, s->password2);
    return -1;
}

/* ----------------------------------------------------------- connect */

static void disconnect(oc_drv *s)
{
    pthread_mutex_lock(&s->mu); /* the watcher may be about to cancel it */
    SQLHSTMT st = s->st;
    s->st = NULL;
    pthread_mutex_unlock(&s->mu);
    if (st) {
        /* psqlodbc leaks a prepared, never executed statement unless closed first */
        SQLFreeStmt(st, SQL_CLOSE);
        SQLFreeHandle(SQL_HANDLE_STMT, st);
    }
    if (s->dbc) {
        if (s->connected)
            SQLDisconnect(s->dbc);
        SQLFreeHandle(SQL_HANDLE_DBC, s->dbc);
    }
    s->dbc = NULL;
    s->connected = false;
    if (s->env)
        SQLFreeHandle(SQL_HANDLE_ENV, s->env);
    s->env = NULL;
}

static int odbc_connect(oc_drv *s, bronze_err *err)
{
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &s->env)))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: cannot allocate an environment");
    SQLSetEnvAttr(s->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, s->env, &s->dbc)))
        return diag_err(s, SQL_HANDLE_ENV, s->env, "allocating a connection", err);
    int t = s->cfg->run.timeout_seconds;
    if (t > 0)
        SQLSetConnectAttr(s->dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)(intptr_t)t, 0);
    SQLRETURN rc = SQLDriverConnect(s->dbc, NULL, (SQLCHAR *)s->cfg->env.conn_str, SQL_NTS, NULL, 0,
                                    NULL, SQL_DRIVER_NOPROMPT);
    if (!SQL_SUCCEEDED(rc)) {
        diag_err(s, SQL_HANDLE_DBC, s->dbc, "connecting", err);
        /* driver manager: no such DSN, driver not installed or not loadable */
        if (strstr(err->msg, "[IM00") || strstr(err->msg, "Can't open lib"))
            err->kind = BRONZE_E_CONFIG;
        return -1;
    }
    s->connected = true;
    SQLCHAR drv[64] = "";
    s->psql = SQL_SUCCEEDED(SQLGetInfo(s->dbc, SQL_DRIVER_NAME, drv, sizeof drv, NULL)) &&
              strcasestr((char *)drv, "psqlodbc");
    if (s->psql) {
        /* timestamptz text in UTC, and a bound cursor read as UTC, whatever the
         * server's or ConnSettings' zone */
        SQLHSTMT h = NULL;
        if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, s->dbc, &h)))
            return diag_err(s, SQL_HANDLE_DBC, s->dbc, "allocating a statement", err);
        SQLRETURN r = SQLExecDirect(h, (SQLCHAR *)"SET TIME ZONE 'UTC'", SQL_NTS);
        if (!SQL_SUCCEEDED(r)) {
            diag_err(s, SQL_HANDLE_STMT, h, "setting the session time zone to UTC", err);
            SQLFreeHandle(SQL_HANDLE_STMT, h);
            return -1;
        }
        SQLFreeHandle(SQL_HANDLE_STMT, h);
    }
    if (s->psql && !strcasestr(s->cfg->env.conn_str, "UseDeclareFetch=1"))
        BRONZE_WARN("odbc: psqlodbc holds the whole result in memory unless the connection "
                    "string sets UseDeclareFetch=1 (e.g. ;UseDeclareFetch=1;Fetch=10000)");
    SQLCHAR q[8] = "";
    SQLSMALLINT ql = 0;
    s->quote = '"';
    if (SQL_SUCCEEDED(SQLGetInfo(s->dbc, SQL_IDENTIFIER_QUOTE_CHAR, q, sizeof q, &ql)) && ql >= 1)
        s->quote = (char)q[0];
    return 0;
}

/* ---------------------------------------------------------- describe */

static bool is_long_type(SQLSMALLINT t)
{
    return t == SQL_LONGVARCHAR || t == SQL_WLONGVARCHAR || t == SQL_LONGVARBINARY;
}

/* Maps one described column to a bronze field and a fetch kind. */
static void map_col(oc_col *c, SQLLEN is_unsigned, bronze_field *f)
{
    SQLSMALLINT t = c->sqltype;
    f->precision = f->scale = 0;
    c->is_long = false;
    c->lower = t == SQL_GUID;
    switch (t) {
    case SQL_BIT:
        c->kind = OK_BIT, c->ctype = SQL_C_BIT, c->elem = 1, f->type = BRONZE_T_BOOL;
        return;
    case SQL_TINYINT:
        c->kind = OK_I16, c->ctype = SQL_C_SSHORT, c->elem = 2, f->type = BRONZE_T_INT16;
        return;
    case SQL_SMALLINT:
        if (is_unsigned)
            c->kind = OK_I32, c->ctype = SQL_C_SLONG, c->elem = 4, f->type = BRONZE_T_INT32;
        else
            c->kind = OK_I16, c->ctype = SQL_C_SSHORT, c->elem = 2, f->type = BRONZE_T_INT16;
        return;
    case SQL_INTEGER:
        if (is_unsigned)
            c->kind = OK_I64, c->ctype = SQL_C_SBIGINT, c->elem = 8, f->type = BRONZE_T_INT64;
        else
            c->kind = OK_I32, c->ctype = SQL_C_SLONG, c->elem = 4, f->type = BRONZE_T_INT32;
        return;
    case SQL_BIGINT:
        if (is_unsigned) {
            c->kind = OK_DEC, c->ctype = SQL_C_CHAR, c->elem = 48, f->type = BRONZE_T_DECIMAL;
            f->precision = 20, f->scale = 0;
        } else
            c->kind = OK_I64, c->ctype = SQL_C_SBIGINT, c->elem = 8, f->type = BRONZE_T_INT64;
        return;
    case SQL_REAL:
        c->kind = OK_F32, c->ctype = SQL_C_FLOAT, c->elem = 4, f->type = BRONZE_T_FLOAT;
        return;
    case SQL_FLOAT:
    case SQL_DOUBLE:
        c->kind = OK_F64, c->ctype = SQL_C_DOUBLE, c->elem = 8, f->type = BRONZE_T_DOUBLE;
        return;
    case SQL_DECIMAL:
    case SQL_NUMERIC:
        if (c->size >= 1 && c->size <= 38 && c->digits >= 0 && (SQLULEN)c->digits <= c->size) {
            c->kind = OK_DEC, c->ctype = SQL_C_CHAR, c->elem = 48, f->type = BRONZE_T_DECIMAL;
            f->precision = (int)c->size, f->scale = c->digits;
        } else {
            c->kind = OK_ATEXT, c->ctype = SQL_C_CHAR, f->type = BRONZE_T_STRING;
            c->elem = (SQLLEN)(c->size > 0 && c->size < 1000 ? c->size + 8 : 0);
            c->is_long = c->elem == 0;
            if (c->elem < 64 && !c->is_long)
                c->elem = 64;
        }
        return;
    case SQL_TYPE_DATE:
    case SQL_DATE:
        c->kind = OK_DATE, c->ctype = SQL_C_TYPE_DATE, c->elem = sizeof(SQL_DATE_STRUCT);
        f->type = BRONZE_T_DATE;
        return;
    case SQL_TYPE_TIMESTAMP:
    case SQL_TIMESTAMP:
        c->kind = OK_TS, c->ctype = SQL_C_TYPE_TIMESTAMP, c->elem = sizeof(SQL_TIMESTAMP_STRUCT);
        f->type = BRONZE_T_TIMESTAMP;
        return;
    case SQL_TYPE_TIME:
    case SQL_TIME:
    case SQL_SS_TIME2:
        c->kind = OK_TIME, c->ctype = SQL_C_CHAR, c->elem = 40, f->type = BRONZE_T_TIME;
        return;
    case SQL_SS_TIMESTAMPOFFSET:
        c->kind = OK_TSTZ, c->ctype = SQL_C_CHAR, c->elem = 64, f->type = BRONZE_T_TIMESTAMPTZ;
        return;
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY:
        c->kind = OK_BIN, c->ctype = SQL_C_BINARY, f->type = BRONZE_T_BYTES;
        c->is_long = is_long_type(t) || c->size == 0 || c->size > LONG_BYTES;
        c->elem = c->is_long ? 0 : (SQLLEN)c->size;
        return;
    default: /* character types, GUID, intervals, driver-specific types */
        c->kind = OK_WTEXT, c->ctype = SQL_C_WCHAR, f->type = BRONZE_T_STRING;
        c->is_long = is_long_type(t) || c->size == 0 || c->size > LONG_CHARS;
        /* room for surrogate pairs and the terminator */
        c->elem = c->is_long ? 0 : (SQLLEN)((c->size * 2 + 1) * sizeof(SQLWCHAR));
        return;
    }
}

/* psqlodbc hides PostgreSQL's types: it maps ±infinity dates to ordinary
 * ones (today's date, 9999-12-31) and BC years to AD, gives timestamptz as
 * local time without its zone, bool as "1"/"0" text (BoolsAsChar, the
 * default) and describes unconstrained numeric as numeric(28,6). By the
 * server's type name (SQL_DESC_TYPE_NAME), the native source's mapping is
 * restored: date/timestamp/timestamptz are cast to text in the query and
 * parsed here (±infinity -> the INT32/INT64 extremes), bool text -> BOOL,
 * numeric(28,6) -> exact text (STRING), as unconstrained numeric lands
 * natively; a column declared numeric(28,6) lands as text too (lossless:
 * psqlodbc describes both alike). */
static void map_psql(oc_col *c, const char *tname, bronze_field *f)
{
    if (!strcmp(tname, "date")) {
        c->kind = OK_PGDATE, c->ctype = SQL_C_CHAR, c->elem = 48, c->is_long = false;
        c->cast = true, f->type = BRONZE_T_DATE;
    } else if (!strncmp(tname, "timestamp", 9)) {
        /* "timestamp", "timestamptz", "timestamp without time zone", ... */
        bool tz = !strcmp(tname, "timestamptz") || !strcmp(tname, "timestamp with time zone");
        c->kind = OK_PGTS, c->ctype = SQL_C_CHAR, c->elem = 64, c->is_long = false;
        c->cast = true;
        f->type = tz ? BRONZE_T_TIMESTAMPTZ : BRONZE_T_TIMESTAMP;
    } else if (!strcmp(tname, "bool") && c->kind != OK_BIT) {
        c->kind = OK_PGBOOL, c->ctype = SQL_C_CHAR, c->elem = 16, c->is_long = false;
        f->type = BRONZE_T_BOOL;
    } else if (!strcmp(tname, "numeric") &&
               (c->sqltype == SQL_NUMERIC || c->sqltype == SQL_DECIMAL) && c->size == 28 &&
               c->digits == 6) {
        c->kind = OK_ATEXT, c->ctype = SQL_C_CHAR, c->elem = 1024, c->is_long = false;
        f->type = BRONZE_T_STRING, f->precision = f->scale = 0;
    }
}

/* PostgreSQL's ISO text of a date (want_time false) or timestamp:
 * "[-]Y..-MM-DD[ HH:MM:SS[.f]][±HH[:MM[:SS]]][ BC]" or "±infinity". Days or
 * UTC micros in *out. 0 ok, -1 unreadable. */
static int pg_datetime_text(const char *p, size_t n, bool want_time, int64_t *out)
{
    while (n && (p[n - 1] == ' ' || p[n - 1] == 0))
        n--;
    if (n == 8 && !memcmp(p, "infinity", 8)) {
        *out = want_time ? BRONZE_TS_PINF : BRONZE_DATE_PINF;
        return 0;
    }
    if (n == 9 && !memcmp(p, "-infinity", 9)) {
        *out = want_time ? BRONZE_TS_NINF : BRONZE_DATE_NINF;
        return 0;
    }
    bool bc = n > 3 && !memcmp(p + n - 3, " BC", 3);
    if (bc)
        n -= 3;
    size_t i = 0;
    int64_t y = 0, mo = 0, d = 0, hh = 0, mi = 0, ss = 0, us = 0, off = 0;
#define DIGITS(var, min, max)                                                                      \
    do {                                                                                           \
        size_t k0 = i;                                                                             \
        var = 0;                                                                                   \
        while (i < n && p[i] >= '0' && p[i] <= '9' && i - k0 < (max))                              \
            var = var * 10 + (p[i++] - '0');                                                       \
        if (i - k0 < (min))                                                                        \
            return -1;                                                                             \
    } while (0)
    DIGITS(y, 4, 7);
    if (i >= n || p[i++] != '-')
        return -1;
    DIGITS(mo, 2, 2);
    if (i >= n || p[i++] != '-')
        return -1;
    DIGITS(d, 2, 2);
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    if (bc)
        y = 1 - y;
    int64_t days = bronze_days_from_civil(y, (unsigned)mo, (unsigned)d);
    if (!want_time) {
        if (i != n || days < -INT32_MAX || days > INT32_MAX)
            return -1;
        *out = days;
        return 0;
    }
    if (i < n) {
        if (p[i++] != ' ')
            return -1;
        DIGITS(hh, 2, 2);
        if (i >= n || p[i++] != ':')
            return -1;
        DIGITS(mi, 2, 2);
        if (i >= n || p[i++] != ':')
            return -1;
        DIGITS(ss, 2, 2);
        if (i < n && p[i] == '.') {
            i++;
            size_t k0 = i;
            while (i < n && p[i] >= '0' && p[i] <= '9') {
                if (i - k0 < 6)
                    us = us * 10 + (p[i] - '0');
                i++;
            }
            if (i == k0)
                return -1;
            for (size_t k = i - k0; k < 6; k++)
                us *= 10;
        }
        if (i < n && (p[i] == '+' || p[i] == '-')) {
            int sign = p[i++] == '-' ? -1 : 1;
            int64_t oh, om = 0, os = 0;
            DIGITS(oh, 2, 2);
            if (i < n && p[i] == ':') {
                i++;
                DIGITS(om, 2, 2);
                if (i < n && p[i] == ':') {
                    i++;
                    DIGITS(os, 2, 2);
                }
            }
            off = sign * (oh * 3600 + om * 60 + os);
        }
    }
#undef DIGITS
    if (i != n || hh > 24 || mi > 59 || ss > 60)
        return -1;
    int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - off;
    if (secs > INT64_MAX / 1000000 - 1 || secs < -(INT64_MAX / 1000000 - 1))
        return -1;
    *out = secs * 1000000 + us;
    return 0;
}

/* Column names and descriptions of the prepared (or executed) statement. */
static int describe_cols(oc_drv *s, SQLSMALLINT n, bronze_schema **out_schema, oc_col **out_cols,
                         bronze_err *err)
{
    bronze_schema *sc = bronze_schema_new((size_t)n);
    oc_col *cols = calloc((size_t)n, sizeof *cols);
    if (!sc || !cols)
        goto oom;
    for (SQLSMALLINT i = 0; i < n; i++) {
        SQLCHAR name[512];
        SQLSMALLINT nl = 0, nullable;
        oc_col *c = &cols[i];
        SQLRETURN rc = SQLDescribeCol(s->st, (SQLUSMALLINT)(i + 1), name, sizeof name, &nl,
                                      &c->sqltype, &c->size, &c->digits, &nullable);
        if (!SQL_SUCCEEDED(rc)) {
            diag_err(s, SQL_HANDLE_STMT, s->st, "describing the query's columns", err);
            goto fail;
        }
        SQLLEN uns = 0;
        SQLColAttribute(s->st, (SQLUSMALLINT)(i + 1), SQL_DESC_UNSIGNED, NULL, 0, NULL, &uns);
        /* drivers report characters types as "unsigned": only integers care */
        bronze_field f = {0};
        map_col(c, uns == SQL_TRUE, &f);
        if (s->psql) {
            SQLCHAR tn[64] = "";
            SQLSMALLINT tl = 0;
            if (SQL_SUCCEEDED(SQLColAttribute(s->st, (SQLUSMALLINT)(i + 1), SQL_DESC_TYPE_NAME, tn,
                                              sizeof tn, &tl, NULL)))
                map_psql(c, (const char *)tn, &f);
        }
        char colname[32];
        if (!name[0]) {
            snprintf(colname, sizeof colname, "column%d", i + 1);
            snprintf((char *)name, sizeof name, "%s", colname);
        }
        /* the query's names as they are: the roller gives the output names */
        if (bronze_schema_set(sc, (size_t)i, (char *)name, f.type, f.precision, f.scale, true))
            goto oom;
    }
    *out_schema = sc;
    *out_cols = cols;
    return 0;
oom:
    bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
fail:
    bronze_schema_free(sc);
    free(cols);
    return -1;
}

static const char *field_name(const void *sc, size_t i)
{
    return ((const bronze_schema *)sc)->fields[i].name;
}

/* UTF-8 -> UTF-16 (for a text cursor parameter). */
static int utf8_to_utf16(const char *p, size_t n, bronze_buf *out)
{
    out->len = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        unsigned char c = (unsigned char)p[i];
        int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (extra < 0 || i + (size_t)extra >= n + (extra ? 0 : 1)) {
            cp = 0xFFFD, extra = 0;
        } else {
            cp = extra ? c & (0x3F >> extra) : c;
            for (int k = 1; k <= extra; k++)
                cp = (cp << 6) | ((unsigned char)p[i + (size_t)k] & 0x3F);
        }
        i += (size_t)extra + 1;
        SQLWCHAR u[2];
        int m = 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            u[0] = (SQLWCHAR)(0xD800 + (cp >> 10));
            u[1] = (SQLWCHAR)(0xDC00 + (cp & 0x3FF));
            m = 2;
        } else
            u[0] = (SQLWCHAR)cp;
        if (bronze_buf_append(out, u, (size_t)m * sizeof(SQLWCHAR)))
            return -1;
    }
    SQLWCHAR z = 0;
    if (bronze_buf_append(out, &z, sizeof z))
        return -1;
    out->len -= sizeof z;
    return 0;
}

/* UTF-16 units -> UTF-8 in out (replaced: unpaired surrogates -> U+FFFD). */
static int utf16_to_utf8(const SQLWCHAR *u, size_t n, bronze_buf *out)
{
    out->len = 0;
    if (bronze_buf_reserve(out, n * 3 + 4))
        return -1;
    uint8_t *o = out->data;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = u[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (u[i + 1] - 0xDC00);
            i++;
        } else if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xFFFD;
        if (cp < 0x80)
            o[k++] = (uint8_t)cp;
        else if (cp < 0x800) {
            o[k++] = (uint8_t)(0xC0 | (cp >> 6));
            o[k++] = (uint8_t)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            o[k++] = (uint8_t)(0xE0 | (cp >> 12));
            o[k++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            o[k++] = (uint8_t)(0x80 | (cp & 0x3F));
        } else {
            o[k++] = (uint8_t)(0xF0 | (cp >> 18));
            o[k++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
            o[k++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            o[k++] = (uint8_t)(0x80 | (cp & 0x3F));
        }
    }
    out->len = k;
    return 0;
}

/* Binds the last cursor (minus the lookback) to parameter 1. */
static int bind_cursor(oc_drv *s, const bronze_field *f, const oc_col *c, bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    bronze_buf text = BRONZE_BUF_INIT;
    int rc = bronze_dbc_cursor_bind_text(f->type, f->scale, s->last_cursor, s->lookback, &text);
    if (rc == -2) {
        bronze_buf_free(&text);
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.incremental.lookback: '%s' does not apply to cursor "
                              "column '%s' (%s); over ODBC use a number, or a fixed-length "
                              "interval (seconds to weeks) on a date/time column",
                              cfg->path, s->lookback->text, f->name, bronze_type_name(f->type));
    }
    if (rc) {
        bronze_buf_free(&text);
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: the incremental cursor '%s' (from the state file or the cursor "
                              "override) does not read as %s (column '%s')",
                              cfg->path, s->last_cursor, bronze_type_name(f->type), f->name);
    }
    SQLSMALLINT sqltype = c->sqltype;
    SQLULEN size = c->size;
    SQLSMALLINT digits = c->digits;
    SQLRETURN r;
    if (c->kind == OK_WTEXT || c->kind == OK_BIN) {
        if (utf8_to_utf16((const char *)text.data, text.len, &s->param)) {
            bronze_buf_free(&text);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
        }
        s->param_ind = (SQLLEN)s->param.len;
        size = s->param.len / sizeof(SQLWCHAR);
        r = SQLBindParameter(s->st, 1, SQL_PARAM_INPUT, SQL_C_WCHAR, SQL_WVARCHAR, size ? size : 1,
                             0, s->param.data, (SQLLEN)s->param.len, &s->param_ind);
    } else {
        s->param.len = 0;
        bronze_buf_append(&s->param, text.data, text.len);
        if (bronze_buf_cstr(&s->param)) {
            bronze_buf_free(&text);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
        }
        s->param_ind = (SQLLEN)s->param.len;
        if (c->kind == OK_TS || c->kind == OK_PGTS) {
            sqltype = SQL_TYPE_TIMESTAMP, size = 26, digits = 6;
        } else if (c->kind == OK_DATE || c->kind == OK_PGDATE) {
            sqltype = SQL_TYPE_DATE, size = 10, digits = 0;
        } else if (c->kind == OK_DEC || c->kind == OK_ATEXT) {
            sqltype = SQL_DECIMAL;
            if (size == 0 || size > 38)
                size = 38;
        } else if (size == 0) {
            size = s->param.len;
        }
        r = SQLBindParameter(s->st, 1, SQL_PARAM_INPUT, SQL_C_CHAR, sqltype, size, digits,
                             s->param.data, (SQLLEN)s->param.len + 1, &s->param_ind);
    }
    bronze_buf_free(&text);
    if (!SQL_SUCCEEDED(r))
        return diag_err(s, SQL_HANDLE_STMT, s->st, "binding the incremental cursor", err);
    return 0;
}

/* Binds the partition boundaries after the cursor's parameter. */
static int bind_part(oc_drv *s, bronze_err *err)
{
    if (!s->part.on)
        return 0;
    SQLUSMALLINT p = s->last_cursor ? 2 : 1;
    for (int k = 0; k < 2; k++) {
        if (!(k ? s->part.hi : s->part.lo))
            continue;
        SQLRETURN r;
        bronze_type t = s->part.type;
        if (t == BRONZE_T_DATE || t == BRONZE_T_TIMESTAMP || t == BRONZE_T_TIMESTAMPTZ) {
            /* ODBC's literal forms; a time-zone-aware key as its UTC timestamp */
            bronze_dbp_key_text(t == BRONZE_T_DATE ? t : BRONZE_T_TIMESTAMP, s->part.v[k],
                                s->part.text[k]);
            s->part.ind[k] = (SQLLEN)strlen(s->part.text[k]);
            bool d = t == BRONZE_T_DATE;
            r = SQLBindParameter(s->st, p, SQL_PARAM_INPUT, SQL_C_CHAR,
                                 d ? SQL_TYPE_DATE : SQL_TYPE_TIMESTAMP, d ? 10 : 26, d ? 0 : 6,
                                 s->part.text[k], (SQLLEN)sizeof s->part.text[k], &s->part.ind[k]);
        } else {
            s->part.ind[k] = 0;
            r = SQLBindParameter(s->st, p, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
                                 &s->part.v[k], 0, &s->part.ind[k]);
        }
        if (!SQL_SUCCEEDED(r))
            return diag_err(s, SQL_HANDLE_STMT, s->st, "binding a partition boundary", err);
        p++;
    }
    return 0;
}

/* source.db.partitioning (SPEC §8, source/db_partition.h): `sql` (the
 * prepared, cursor-filtered query) becomes this shard's key range; bounds
 * not configured come from min/max of it (on a second statement), the
 * boundaries are bound as parameters after the cursor's. */
static int apply_partitioning(oc_drv *s, const bronze_schema *sc, const oc_col *cols,
                              bronze_buf *sql, bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    const bronze_source_ctx *ctx = s->ctx;
    bronze_dbp_plan plan;
    s->part.on = false;
    if (!ctx || ctx->dry_run || !cfg->db.partitioning.column)
        return 0;
    if (bronze_dbp_plan_for(cfg, ctx->shard, ctx->nshards, ctx->sub, ctx->nsub, &plan, err))
        return -1;
    int pc = bronze_dbc_find_name(sc->ncols, field_name, sc, cfg->db.partitioning.column);
    const bronze_field *f = pc >= 0 ? &sc->fields[pc] : NULL;
    if (bronze_dbp_check_column(cfg, pc, f, err))
        return -1;
    if (!plan.active)
        return 0;
    (void)cols;
    int64_t min = 0, max = 0;
    bool have_min, have_max;
    if (bronze_dbp_config_bounds(cfg, f->type, &min, &have_min, &max, &have_max, err))
        return -1;
    bronze_buf q = BRONZE_BUF_INIT, id = BRONZE_BUF_INIT;
    int rc = -1;
    if (bronze_dbc_quote_ident(&id, f->name, s->quote) || bronze_buf_cstr(&id))
        goto oom;
    const char *c = (const char *)id.data;
    if (!have_min || !have_max) {
        if (bronze_buf_printf(&q, "SELECT min(%s), max(%s) FROM (%s\n) bronze_b", c, c,
                              (const char *)sql->data) ||
            bronze_buf_cstr(&q))
            goto oom;
        SQLHSTMT keep = s->st, st2 = NULL;
        if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, s->dbc, &st2))) {
            diag_err(s, SQL_HANDLE_DBC, s->dbc, "allocating a statement", err);
            goto out;
        }
        char val[2][80] = {"", ""};
        SQLLEN ind[2] = {SQL_NULL_DATA, SQL_NULL_DATA};
        pthread_mutex_lock(&s->mu);
        s->st = st2;
        pthread_mutex_unlock(&s->mu);
        bool okq = SQL_SUCCEEDED(SQLPrepare(st2, q.data, SQL_NTS));
        int brc = 0;
        if (okq && s->last_cursor) {
            oc_col cc =
                cols[bronze_dbc_find_name(sc->ncols, field_name, sc, cfg->db.cursor_column)];
            bronze_field cf =
                sc->fields[bronze_dbc_find_name(sc->ncols, field_name, sc, cfg->db.cursor_column)];
            brc = bind_cursor(s, &cf, &cc, err);
        }
        okq = okq && brc == 0 && SQL_SUCCEEDED(SQLExecute(st2)) && SQL_SUCCEEDED(SQLFetch(st2));
        for (int k = 0; okq && k < 2; k++)
            okq = SQL_SUCCEEDED(
                SQLGetData(st2, (SQLUSMALLINT)(k + 1), SQL_C_CHAR, val[k], sizeof val[k], &ind[k]));
        if (!okq && brc == 0)
            diag_err(s, SQL_HANDLE_STMT, st2, "reading min/max of source.db.partitioning.column",
                     err);
        pthread_mutex_lock(&s->mu);
        s->st = keep;
        pthread_mutex_unlock(&s->mu);
        SQLFreeHandle(SQL_HANDLE_STMT, st2);
        if (!okq)
            goto out;
        int64_t dmin = 0, dmax = 0;
        bool none = ind[0] == SQL_NULL_DATA || ind[1] == SQL_NULL_DATA ||
                    bronze_dbp_key_parse(f->type, val[0], &dmin) ||
                    bronze_dbp_key_parse(f->type, val[1], &dmax);
        if (none)
            dmin = dmax = 0;
        bronze_dbp_fill_bounds(&min, have_min, &max, have_max, dmin, dmax);
    }
    bronze_dbp_note(ctx->part_note, ctx->part_note_cap, f->type, true, min, max);
    bronze_dbp_range rg;
    bronze_dbp_range_of(min, max, plan.n, plan.first, plan.last, &rg);
    bronze_buf w = BRONZE_BUF_INIT;
    if (bronze_buf_printf(&w, "SELECT * FROM (%s\n) bronze_part WHERE ", (const char *)sql->data) ||
        bronze_dbp_condition(&w, c, &rg, "?", "?")) {
        bronze_buf_free(&w);
        goto oom;
    }
    bronze_buf_free(sql);
    *sql = w;
    s->part.on = true;
    s->part.type = f->type;
    s->part.lo = !rg.lo_open;
    s->part.hi = !rg.hi_open;
    s->part.v[0] = rg.lo;
    s->part.v[1] = rg.hi;
    rc = 0;
    goto out;
oom:
    bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
out:
    bronze_buf_free(&q);
    bronze_buf_free(&id);
    return rc;
}

static void free_cols(oc_col *cols, size_t n)
{
    if (!cols)
        return;
    for (size_t i = 0; i < n; i++) {
        free(cols[i].buf);
        free(cols[i].ind);
    }
    free(cols);
}

/* Connects, prepares, describes and binds the cursor parameter: a new schema
 * and the cursor column in *out_desc, column buffers for the fetch. */
static int odbc_setup(void *d, bronze_dbd_desc *out_desc, bronze_err *err)
{
    oc_drv *s = d;
    const bronze_config *cfg = s->cfg;
    bronze_buf sql = BRONZE_BUF_INIT;
    bronze_schema *sc = NULL;
    oc_col *cols = NULL;
    SQLSMALLINT n = 0;
    int rc = -1;
    if (odbc_connect(s, err))
        goto out;
    SQLHSTMT st = NULL;
    bool got_st = SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, s->dbc, &st));
    pthread_mutex_lock(&s->mu);
    s->st = got_st ? st : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!got_st) {
        diag_err(s, SQL_HANDLE_DBC, s->dbc, "allocating a statement", err);
        goto out;
    }
    bool incremental = cfg->db.incremental && cfg->db.cursor_column && *cfg->db.cursor_column;
    size_t qlen = bronze_dbc_query_trimmed_len(cfg->db.base_query);
    if (bronze_buf_append(&sql, cfg->db.base_query, qlen) || bronze_buf_cstr(&sql))
        goto oom;
    if (!SQL_SUCCEEDED(SQLPrepare(s->st, sql.data, SQL_NTS))) {
        diag_err(s, SQL_HANDLE_STMT, s->st, "preparing source.db.base_query", err);
        goto out;
    }
    if (!SQL_SUCCEEDED(SQLNumResultCols(s->st, &n))) {
        diag_err(s, SQL_HANDLE_STMT, s->st, "describing source.db.base_query", err);
        goto out;
    }
    if (n <= 0) {
        bronze_err_set(err, BRONZE_E_RUNTIME,
                       "%s: source.db.base_query: the driver describes no result columns (is it a "
                       "SELECT?)",
                       cfg->path);
        goto out;
    }
    if (describe_cols(s, n, &sc, &cols, err))
        goto out;
    int cc = -1;
    if (incremental) {
        cc = bronze_dbc_find_name(sc->ncols, field_name, sc, cfg->db.cursor_column);
        if (cc < 0) {
            bronze_dbc_err_no_cursor_column(cfg, sc->ncols, field_name, sc, err);
            goto out;
        }
        if (sc->fields[cc].type == BRONZE_T_JSON) {
            bronze_err_set(err, BRONZE_E_CONFIG,
                           "%s: source.db.incremental.cursor_column: '%s' cannot be ordered",
                           cfg->path, sc->fields[cc].name);
            goto out;
        }
        if (s->last_cursor) {
            oc_col cursor_c = cols[cc];
            bronze_field cursor_f = sc->fields[cc];
            /* the name as the driver spells it (a case-insensitive match) */
            sql.len = 0;
            char *real = strdup(sc->fields[cc].name);
            if (!real || bronze_dbc_wrap_query(&sql, cfg->db.base_query, real, s->quote, "?")) {
                free(real);
                goto oom;
            }
            free(real);
            SQLFreeStmt(s->st, SQL_CLOSE);
            if (!SQL_SUCCEEDED(SQLPrepare(s->st, sql.data, SQL_NTS))) {
                diag_err(s, SQL_HANDLE_STMT, s->st, "preparing the incremental query", err);
                goto out;
            }
            if (bind_cursor(s, &cursor_f, &cursor_c, err))
                goto out;
        }
    }
    s->part.on = false;
    if (cfg->db.partitioning.column) {
        if (!s->last_cursor) {
            sql.len = 0;
            if (bronze_buf_append(&sql, cfg->db.base_query, qlen) || bronze_buf_cstr(&sql))
                goto oom;
        }
        if (apply_partitioning(s, sc, cols, &sql, err))
            goto out;
        if (s->part.on) {
            SQLFreeStmt(s->st, SQL_CLOSE);
            if (!SQL_SUCCEEDED(SQLPrepare(s->st, sql.data, SQL_NTS))) {
                diag_err(s, SQL_HANDLE_STMT, s->st, "preparing the partitioned query", err);
                goto out;
            }
            if ((s->last_cursor && bind_cursor(s, &sc->fields[cc], &cols[cc], err)) ||
                bind_part(s, err))
                goto out;
        }
    }
    /* psqlodbc: the columns map_psql recovers are read as PostgreSQL's text
     * (SELECT c1, c2::text ... FROM (<prepared query>) bronze_q(c1, c2 ...),
     * positional like postgres.c's COPY, so duplicate names are harmless) */
    bool any_cast = false;
    for (SQLSMALLINT i = 0; i < n; i++)
        any_cast |= cols[i].cast;
    if (any_cast) {
        bronze_buf w = BRONZE_BUF_INIT;
        int wr = bronze_buf_printf(&w, "SELECT ");
        for (SQLSMALLINT i = 0; i < n && !wr; i++) {
            wr = bronze_buf_printf(&w, "%sc%d%s AS ", i ? ", " : "", i + 1,
                                   cols[i].cast ? "::text" : "");
            wr = wr ? wr : bronze_dbc_quote_ident(&w, sc->fields[i].name, '"');
        }
        wr = wr ? wr : bronze_buf_printf(&w, " FROM (");
        wr = wr ? wr : bronze_buf_append(&w, sql.data, strlen((const char *)sql.data));
        wr = wr ? wr : bronze_buf_printf(&w, "\n) bronze_q(");
        for (SQLSMALLINT i = 0; i < n && !wr; i++)
            wr = bronze_buf_printf(&w, "%sc%d", i ? ", " : "", i + 1);
        wr = wr ? wr : bronze_buf_printf(&w, ")");
        if (wr || bronze_buf_cstr(&w)) {
            bronze_buf_free(&w);
            goto oom;
        }
        bronze_buf_free(&sql);
        sql = w;
        SQLFreeStmt(s->st, SQL_CLOSE);
        if (!SQL_SUCCEEDED(SQLPrepare(s->st, sql.data, SQL_NTS))) {
            diag_err(s, SQL_HANDLE_STMT, s->st, "preparing the query", err);
            goto out;
        }
        if ((s->last_cursor && cc >= 0 && bind_cursor(s, &sc->fields[cc], &cols[cc], err)) ||
            bind_part(s, err))
            goto out;
    }
    /* block buffers or row mode */
    bool any_long = false;
    size_t row_bytes = 0;
    for (SQLSMALLINT i = 0; i < n; i++) {
        any_long |= cols[i].is_long;
        row_bytes += (size_t)cols[i].elem + sizeof(SQLLEN);
    }
    if (any_long)
        s->row_mode = true;
    s->block_rows = 1;
    if (!s->row_mode) {
        size_t rows = BLOCK_ROWS;
        if (row_bytes * rows > BLOCK_BYTES)
            rows = BLOCK_BYTES / row_bytes ? BLOCK_BYTES / row_bytes : 1;
        s->block_rows = rows;
        for (SQLSMALLINT i = 0; i < n; i++) {
            cols[i].buf = malloc((size_t)cols[i].elem * rows);
            cols[i].ind = malloc(sizeof(SQLLEN) * rows);
            if (!cols[i].buf || !cols[i].ind)
                goto oom;
        }
    }
    out_desc->schema = sc;
    out_desc->cursor_col = cc;
    out_desc->numeric_text = cc >= 0 && cols[cc].kind == OK_ATEXT;
    sc = NULL;
    free_cols(s->cols, s->ncols);
    s->cols = cols;
    s->ncols = (size_t)n;
    cols = NULL;
    BRONZE_DEBUG("odbc: described %d column(s) on %s (%s)", n, s->target,
                 s->row_mode ? "row at a time" : "block fetch");
    rc = 0;
    goto out;
oom:
    bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
out:
    bronze_buf_free(&sql);
    bronze_schema_free(sc);
    free_cols(cols, (size_t)n);
    if (rc)
        disconnect(s);
    return rc;
}

/* ------------------------------------------------------------ execute */

static int odbc_start(void *d, bronze_err *err)
{
    oc_drv *s = d;
    SQLFreeStmt(s->st, SQL_UNBIND);
    SQLRETURN r;
    if (!s->row_mode) {
        SQLSetStmtAttr(s->st, SQL_ATTR_ROW_BIND_TYPE, (SQLPOINTER)SQL_BIND_BY_COLUMN, 0);
        r = SQLSetStmtAttr(s->st, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)(uintptr_t)s->block_rows, 0);
        if (r == SQL_SUCCESS_WITH_INFO) { /* the driver picked another size (01S02) */
            SQLULEN got = 0;
            SQLGetStmtAttr(s->st, SQL_ATTR_ROW_ARRAY_SIZE, &got, 0, NULL);
            if (got >= 1 && got < s->block_rows)
                s->block_rows = got;
        } else if (!SQL_SUCCEEDED(r)) {
            s->block_rows = 1;
            SQLSetStmtAttr(s->st, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)1, 0);
        }
        free(s->row_status);
        s->row_status = calloc(s->block_rows, sizeof *s->row_status);
        if (!s->row_status)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
        SQLSetStmtAttr(s->st, SQL_ATTR_ROWS_FETCHED_PTR, &s->fetched, 0);
        SQLSetStmtAttr(s->st, SQL_ATTR_ROW_STATUS_PTR, s->row_status, 0);
        for (size_t i = 0; i < s->ncols; i++) {
            oc_col *c = &s->cols[i];
            r = SQLBindCol(s->st, (SQLUSMALLINT)(i + 1), c->ctype, c->buf, c->elem, c->ind);
            if (!SQL_SUCCEEDED(r))
                return diag_err(s, SQL_HANDLE_STMT, s->st, "binding result columns", err);
        }
    } else {
        SQLSetStmtAttr(s->st, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)1, 0);
        SQLSetStmtAttr(s->st, SQL_ATTR_ROWS_FETCHED_PTR, NULL, 0);
        SQLSetStmtAttr(s->st, SQL_ATTR_ROW_STATUS_PTR, NULL, 0);
    }
    r = SQLExecute(s->st);
    if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA)
        return diag_err(s, SQL_HANDLE_STMT, s->st, "running the query", err);
    s->fetched = 0;
    s->block_pos = 0;
    s->row = 0;
    s->fetching = true;
    return 0;
}

/* -------------------------------------------------------------- open */

/* Looks at the SIGINT/SIGTERM flag every 100 ms; on a signal, cancels the
 * statement that runs (the server stops a query that has sent no row, say
 * pg_sleep or a big sort, instead of running on after we exit). */
static void *watch(void *arg)
{
    oc_drv *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool stop = s->stop_watch;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return NULL;
        if (bronze_interrupt_sleep_ms(100)) {
            pthread_mutex_lock(&s->mu);
            if (s->st && !s->stop_watch && SQL_SUCCEEDED(SQLCancel(s->st)))
                BRONZE_INFO("odbc: asked the server to cancel the running query");
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
    }
}

static void odbc_disconnect(void *d)
{
    oc_drv *s = d;
    disconnect(s);
    s->fetching = false;
}

static void odbc_destroy(void *d)
{
    oc_drv *s = d;
    if (!s)
        return;
    if (s->watching) {
        pthread_mutex_lock(&s->mu);
        s->stop_watch = true;
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->watcher, NULL);
    }
    disconnect(s);
    pthread_mutex_destroy(&s->mu);
    free_cols(s->cols, s->ncols);
    free(s->row_status);
    free(s->target);
    char *pw[] = {s->password, s->password2};
    for (size_t i = 0; i < 2; i++)
        if (pw[i]) {
            explicit_bzero(pw[i], strlen(pw[i]));
            free(pw[i]);
        }
    bronze_buf_free(&s->param);
    bronze_buf_free(&s->scratch);
    bronze_buf_free(&s->utf8);
    free(s);
}

static int odbc_create(void **out, const bronze_dbd_args *args, bronze_err *err)
{
    if (MB_CUR_MAX == 1) /* main() did this already; a source used on its own */
        bronze_utf8_locale();
    oc_drv *s = calloc(1, sizeof *s);
    *out = s;
    if (!s)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
    pthread_mutex_init(&s->mu, NULL);
    s->cfg = args->cfg;
    s->last_cursor = args->last_cursor;
    s->lookback = args->lookback;
    s->ctx = args->ctx;
    if (parse_conn(s, err))
        return -1;
    s->watching = pthread_create(&s->watcher, NULL, watch, s) == 0;
    if (!s->watching)
        BRONZE_DEBUG("odbc: no watcher thread: a signal cannot cancel a running query");
    return 0;
}

static void odbc_use_schema(void *d, const bronze_schema *schema)
{
    ((oc_drv *)d)->schema = schema;
}

/* ------------------------------------------------------------ convert */

static int value_err(oc_drv *s, size_t col, const char *what, const char *text, bronze_err *err)
{
    const bronze_field *f = &s->schema->fields[col];
    return bronze_err_set(err, BRONZE_E_RUNTIME,
                          "odbc: row %llu, column '%s': %s '%.64s'; cast it in the query (e.g. to "
                          "a string type)",
                          (unsigned long long)s->row + 1, f->name, what, text);
}

/* Converts a value held at p (n bytes; text kinds NUL-terminated by the
 * driver, n without it) into the batch. */
static int put_value(oc_drv *s, bronze_batch *b, size_t i, const char *p, size_t n, bronze_err *err)
{
    const oc_col *c = &s->cols[i];
    const bronze_field *f = &s->schema->fields[i];
    switch (c->kind) {
    case OK_BIT:
        bronze_batch_put_bool(b, *(const unsigned char *)p != 0);
        return 0;
    case OK_I16: {
        SQLSMALLINT v;
        memcpy(&v, p, sizeof v);
        bronze_batch_put_i32(b, v);
        return 0;
    }
    case OK_I32: {
        SQLINTEGER v;
        memcpy(&v, p, sizeof v);
        bronze_batch_put_i32(b, v);
        return 0;
    }
    case OK_I64: {
        SQLBIGINT v;
        memcpy(&v, p, sizeof v);
        bronze_batch_put_i64(b, v);
        return 0;
    }
    case OK_F32: {
        SQLREAL v;
        memcpy(&v, p, sizeof v);
        bronze_batch_put_f32(b, v);
        return 0;
    }
    case OK_F64: {
        SQLDOUBLE v;
        memcpy(&v, p, sizeof v);
        bronze_batch_put_f64(b, v);
        return 0;
    }
    case OK_DEC: {
        __int128 v;
        int rc = bronze_dbc_parse_decimal(p, n, f->precision, f->scale, &v);
        if (rc) {
            char what[96];
            snprintf(what, sizeof what,
                     "%s DECIMAL(%d,%d):", rc == -2 ? "value does not fit" : "not a number for",
                     f->precision, f->scale);
            return value_err(s, i, what, p, err);
        }
        bronze_batch_put_dec(b, v);
        return 0;
    }
    case OK_DATE: {
        SQL_DATE_STRUCT d;
        memcpy(&d, p, sizeof d);
        bronze_batch_put_i32(b, (int32_t)bronze_days_from_civil(d.year, d.month, d.day));
        return 0;
    }
    case OK_TS: {
        SQL_TIMESTAMP_STRUCT t;
        memcpy(&t, p, sizeof t);
        int64_t days = bronze_days_from_civil(t.year, t.month, t.day);
        int64_t us = days * 86400000000LL +
                     ((int64_t)t.hour * 3600 + t.minute * 60 + t.second) * 1000000LL +
                     t.fraction / 1000;
        bronze_batch_put_i64(b, us);
        return 0;
    }
    case OK_TIME: {
        int64_t us;
        size_t k = n;
        while (k && p[k - 1] == ' ')
            k--;
        if (bronze_parse_time(p, k, &us))
            return value_err(s, i, "not a time:", p, err);
        bronze_batch_put_i64(b, us);
        return 0;
    }
    case OK_TSTZ: {
        /* "2025-01-12 14:30:00.1234567 +02:00": drop the space before the offset */
        char t[80];
        size_t k = 0;
        for (size_t j = 0; j < n && k < sizeof t - 1; j++)
            if (!(p[j] == ' ' && j > 10 && j + 1 < n && (p[j + 1] == '+' || p[j + 1] == '-')))
                t[k++] = p[j];
        t[k] = 0;
        int64_t us;
        bool tz;
        if (bronze_parse_timestamp(t, k, &us, &tz))
            return value_err(s, i, "not a timestamp:", p, err);
        bronze_batch_put_i64(b, us);
        return 0;
    }
    case OK_PGDATE:
    case OK_PGTS: {
        int64_t v;
        if (pg_datetime_text(p, n, c->kind == OK_PGTS, &v))
            return value_err(s, i, c->kind == OK_PGTS ? "not a timestamp:" : "not a date:", p, err);
        if (c->kind == OK_PGTS)
            bronze_batch_put_i64(b, v);
        else
            bronze_batch_put_i32(b, (int32_t)v);
        return 0;
    }
    case OK_PGBOOL: {
        size_t k = n;
        while (k && p[k - 1] == ' ')
            k--;
        bool t = (k == 1 && (p[0] == '1' || p[0] == 't')) || (k == 4 && !strncmp(p, "true", 4));
        bool no = (k == 1 && (p[0] == '0' || p[0] == 'f')) || (k == 5 && !strncmp(p, "false", 5));
        if (!t && !no)
            return value_err(s, i, "not a boolean:", p, err);
        bronze_batch_put_bool(b, t);
        return 0;
    }
    case OK_WTEXT:
        if (utf16_to_utf8((const SQLWCHAR *)(const void *)p, n / sizeof(SQLWCHAR), &s->utf8))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
        if (c->lower)
            for (size_t k = 0; k < s->utf8.len; k++)
                if (s->utf8.data[k] >= 'A' && s->utf8.data[k] <= 'F')
                    s->utf8.data[k] = (uint8_t)(s->utf8.data[k] + 32);
        if (bronze_batch_put_bytes(b, s->utf8.data, s->utf8.len))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
        return 0;
    case OK_ATEXT:
    case OK_BIN:
        if (bronze_batch_put_bytes(b, p, n))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
        return 0;
    }
    return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: unknown column kind");
}

/* Bytes of terminator a driver writes after a text value of this kind. */
static size_t term_bytes(const oc_col *c)
{
    return c->ctype == SQL_C_WCHAR ? sizeof(SQLWCHAR) : c->ctype == SQL_C_CHAR ? 1 : 0;
}

/* One row from the current block. Returns 0, 1 when a value was truncated
 * (the caller switches to row mode), -1 on error. */
static int put_block_row(oc_drv *s, bronze_batch *b, size_t r, bronze_err *err)
{
    for (size_t i = 0; i < s->ncols; i++) {
        const oc_col *c = &s->cols[i];
        SQLLEN ind = c->ind[r];
        if (ind == SQL_NULL_DATA) {
            bronze_batch_put_null(b);
            continue;
        }
        const char *p = c->buf + (size_t)c->elem * r;
        size_t n;
        if (c->ctype == SQL_C_CHAR || c->ctype == SQL_C_WCHAR || c->ctype == SQL_C_BINARY) {
            if (ind == SQL_NO_TOTAL || ind < 0 || (size_t)ind + term_bytes(c) > (size_t)c->elem) {
                bronze_batch_abort_row(b);
                s->trunc_col = i;
                return 1;
            }
            n = (size_t)ind;
        } else {
            n = (size_t)c->elem;
        }
        if (put_value(s, b, i, p, n, err)) {
            bronze_batch_abort_row(b);
            return -1;
        }
    }
    bronze_batch_end_row(b);
    s->row++;
    return 0;
}

/* One row with SQLGetData for every column (long values in pieces). */
static int get_row(oc_drv *s, bronze_batch *b, bronze_err *err)
{
    for (size_t i = 0; i < s->ncols; i++) {
        const oc_col *c = &s->cols[i];
        SQLUSMALLINT col = (SQLUSMALLINT)(i + 1);
        SQLLEN ind = 0;
        bool var = c->ctype == SQL_C_CHAR || c->ctype == SQL_C_WCHAR || c->ctype == SQL_C_BINARY;
        if (!var) {
            union {
                SQL_TIMESTAMP_STRUCT ts;
                SQLBIGINT i64;
                SQLDOUBLE f64;
                char raw[32];
            } u;
            SQLRETURN r = SQLGetData(s->st, col, c->ctype, &u, sizeof u, &ind);
            if (!SQL_SUCCEEDED(r)) {
                bronze_batch_abort_row(b);
                return diag_err(s, SQL_HANDLE_STMT, s->st, "reading a value", err);
            }
            if (ind == SQL_NULL_DATA)
                bronze_batch_put_null(b);
            else if (put_value(s, b, i, u.raw, (size_t)c->elem, err)) {
                bronze_batch_abort_row(b);
                return -1;
            }
            continue;
        }
        size_t tb = term_bytes(c);
        s->scratch.len = 0;
        bool null = false;
        for (;;) {
            if (bronze_buf_reserve(&s->scratch, PIECE_BYTES)) {
                bronze_batch_abort_row(b);
                return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
            }
            size_t room = s->scratch.cap - s->scratch.len;
            if (room > (1u << 30))
                room = 1u << 30;
            SQLRETURN r = SQLGetData(s->st, col, c->ctype, s->scratch.data + s->scratch.len,
                                     (SQLLEN)room, &ind);
            if (r == SQL_NO_DATA)
                break;
            if (!SQL_SUCCEEDED(r)) {
                bronze_batch_abort_row(b);
                return diag_err(s, SQL_HANDLE_STMT, s->st, "reading a value", err);
            }
            if (ind == SQL_NULL_DATA) {
                null = true;
                break;
            }
            if (r == SQL_SUCCESS_WITH_INFO && (ind == SQL_NO_TOTAL || (size_t)ind + tb > room)) {
                /* a piece: the buffer is full but for the terminator */
                size_t got = room - tb;
                if (tb == sizeof(SQLWCHAR))
                    got -= got % sizeof(SQLWCHAR);
                s->scratch.len += got;
                if (ind != SQL_NO_TOTAL &&
                    bronze_buf_reserve(&s->scratch, (size_t)ind + tb + PIECE_BYTES)) {
                    bronze_batch_abort_row(b);
                    return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
                }
                continue;
            }
            s->scratch.len += (size_t)ind;
            break;
        }
        if (null) {
            bronze_batch_put_null(b);
            continue;
        }
        if (bronze_buf_reserve(&s->scratch, 4)) {
            bronze_batch_abort_row(b);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "odbc: out of memory");
        }
        memset(s->scratch.data + s->scratch.len, 0, 4);
        if (put_value(s, b, i, (const char *)s->scratch.data, s->scratch.len, err)) {
            bronze_batch_abort_row(b);
            return -1;
        }
    }
    bronze_batch_end_row(b);
    s->row++;
    return 0;
}

/* ---------------------------------------------------------------- next */

static int odbc_fetch(void *d, bronze_batch *b, bronze_err *err)
{
    oc_drv *s = d;
    while (!bronze_batch_full(b) && s->fetching) {
        if (s->row_mode) {
            SQLRETURN r = SQLFetch(s->st);
            if (r == SQL_NO_DATA) {
                s->fetching = false;
                break;
            }
            if (!SQL_SUCCEEDED(r))
                return diag_err(s, SQL_HANDLE_STMT, s->st, "fetching rows", err);
            if (get_row(s, b, err))
                return -1;
            continue;
        }
        if (s->block_pos >= s->fetched) {
            s->fetched = 0;
            s->block_pos = 0;
            SQLRETURN r = SQLFetch(s->st);
            if (r == SQL_NO_DATA) {
                s->fetching = false;
                break;
            }
            if (!SQL_SUCCEEDED(r))
                return diag_err(s, SQL_HANDLE_STMT, s->st, "fetching rows", err);
            if (s->fetched == 0) {
                s->fetching = false;
                break;
            }
        }
        while (s->block_pos < s->fetched && !bronze_batch_full(b)) {
            size_t r = s->block_pos++;
            SQLUSMALLINT st = s->row_status[r];
            if (st == SQL_ROW_NOROW || st == SQL_ROW_DELETED)
                continue;
            if (st == SQL_ROW_ERROR)
                return diag_err(s, SQL_HANDLE_STMT, s->st, "fetching a row", err);
            int rc = put_block_row(s, b, r, err);
            if (rc < 0)
                return -1;
            if (rc > 0) {
                BRONZE_WARN("odbc: row %llu, column '%s': a value longer than the driver "
                            "described; reading row at a time and starting over",
                            (unsigned long long)s->row + 1, s->schema->fields[s->trunc_col].name);
                s->row_mode = true;
                return BRONZE_DBD_REDO;
            }
        }
    }
    return s->fetching ? BRONZE_DBD_MORE : BRONZE_DBD_END;
}

static const bronze_dbd_vt odbc_driver = {
    .name = "odbc",
    .create = odbc_create,
    .setup = odbc_setup,
    .use_schema = odbc_use_schema,
    .start = odbc_start,
    .fetch = odbc_fetch,
    .disconnect = odbc_disconnect,
    .destroy = odbc_destroy,
};

static int odbc_open(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err)
{
    return bronze_dbd_open(out, &odbc_driver, ctx, err);
}

const bronze_source_vt bronze_source_odbc = {
    .name = "odbc",
    .open = odbc_open,
    .schema = bronze_dbd_schema,
    .next = bronze_dbd_next,
    .cursor = bronze_dbd_cursor,
    .close = bronze_dbd_close,
};
