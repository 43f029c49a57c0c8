/*
 * postgres.c - `type: db` over libpq (postgresql://, postgres://, keywords).
 *
 * Shape, per SOURCES_NOTES.md:
 *   1. connect (client_encoding=UTF8, connect_timeout = run.timeout_seconds;
 *      connection set-up retried with backoff for transient failures);
 *   2. describe: PQprepare + PQdescribePrepared of the (cursor-filtered)
 *      query gives names, type OIDs and typmods, hence the schema before row
 *      one. Types without a binary decoder here are cast to text in step 3;
 *   3. stream COPY (SELECT c1, c2::text, ... FROM (<query>) bronze_q(c1, ...))
 *      TO STDOUT (FORMAT binary) with PQgetCopyData and decode each row
 *      straight into the caller's batch. The positional alias list makes
 *      duplicate column names harmless inside the select.
 *
 * Decisions (SPEC §4, §7):
 *   - date/timestamp ±infinity stay INT32/INT64 max/min (no epoch shift);
 *     finite values are shifted from the 2000 epoch to 1970.
 *   - numeric(p,s) -> DECIMAL(p,s) when it fits 38 digits (PostgreSQL 15's
 *     negative scale numeric(p,-k) -> DECIMAL(p+k,0), scale > precision ->
 *     DECIMAL(s,s)); NaN or ±Infinity in such a column fails the run naming
 *     row and column and suggesting a cast to text: a DECIMAL cannot hold
 *     them and a silent NULL would lose data. Unconstrained numeric and
 *     p > 38 -> STRING, the exact text PostgreSQL itself prints.
 *   - uuid -> STRING (canonical lowercase), json/jsonb -> JSON, "char" and
 *     every other type (arrays, interval, timetz, enums, ranges, inet, user
 *     types) -> STRING via ::text.
 *
 * Incremental: COPY takes no bind parameters, so the cursor is quoted with
 * PQescapeLiteral and cast to the cursor column's own type (format_type):
 *   SELECT * FROM (<q>\n) bronze_src WHERE "col" > '<cursor>'::<type>
 * with a lookback as ('<cursor>'::<type> - '<interval>'::interval) or
 * (... - n). The new cursor is the typed maximum over the rows returned.
 *
 * Errors: SQLSTATE class 08, 40001, 40P01, 57P01-57P03 and a lost connection
 * are BRONZE_E_RETRY; the rest (auth 28xxx, 42xxx ...) fail at once with the
 * server's message. Retries, RESTART, the cursor maximum and the schemas'
 * lifetime are the shared skeleton's (db_driver.c); this file is its driver.
 *
 * Secrets: the target in messages is built from PQconninfoParse's options
 * without the password; strings that libpq would take apart so that the
 * password lands in an option it echoes (no "@host", an unescaped '@') are
 * config errors that quote nothing, and are never retried.
 *
 * Signals: the connection set-up (PQconnectStartParams) and the COPY run
 * asynchronously and every wait polls the socket for at most 100 ms before
 * looking at the SIGINT/SIGTERM flag; on one a running query is cancelled on
 * the server (PQcancel) and the source fails at once.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "source/db_common.h"
#include "source/db_driver.h"
#include "source/db_partition.h"
#include "source/source.h"
#include "util/buf.h"
#include "util/interrupt.h"
#include "util/log.h"

/* Type OIDs (pg_type.dat). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_CHAR = 18,
    OID_NAME = 19,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_OID = 26,
    OID_JSON = 114,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_BPCHAR = 1042,
    OID_VARCHAR = 1043,
    OID_DATE = 1082,
    OID_TIME = 1083,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700,
    OID_UUID = 2950,
    OID_JSONB = 3802,
};

/* How one column's binary value is decoded. */
typedef enum {
    PK_BOOL,
    PK_INT2,
    PK_INT4,
    PK_INT8,
    PK_OID,
    PK_FLOAT4,
    PK_FLOAT8,
    PK_NUMERIC_DEC,
    PK_NUMERIC_TEXT,
    PK_TEXT, /* text-like bytes, incl. columns cast ::text */
    PK_DATE,
    PK_TS,
    PK_TIME,
    PK_UUID,
    PK_JSON,
    PK_JSONB,
    PK_BYTEA,
} pg_kind;

typedef struct pg_col {
    Oid oid;
    int typmod;
    pg_kind kind;
    bool cast_text; /* no binary decoder: the COPY select casts it */
} pg_col;

#define PG_EPOCH_DAYS 10957               /* 1970-01-01 -> 2000-01-01 */
#define PG_EPOCH_MICROS 946684800000000LL /* the same in micros */
#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000

typedef struct pg_drv {
    const bronze_config *cfg;
    const char *last_cursor;             /* the skeleton's; NULL: none */
    const bronze_dbc_lookback *lookback; /* the skeleton's */
    const bronze_source_ctx *ctx;        /* shard (SPEC §8) */
    char *target; /* "host=... port=... dbname=... user=...", never the password */
    PGconn *conn;
    bool multi_host;             /* host=a,b: libpq's blocking connect tries them in turn */
    const bronze_schema *schema; /* the skeleton's (use_schema) */
    pg_col *cols;
    size_t ncols;
    bronze_buf copy_sql;
    bronze_buf scratch; /* numeric text */
    bool in_copy;
    char *msg; /* current CopyData message (libpq's; PQfreemem) */
    size_t msg_len, msg_pos;
    bool header_done, trailer_seen;
    bool lowat;   /* SO_RCVLOWAT raised on the socket (COPY_LOWAT) */
    bool drained; /* PQconsumeInput found nothing: wait before the next read */
    uint64_t row; /* rows decoded so far */
} pg_drv;

/* While the COPY streams, the socket reports readable only once this much
 * is queued (or after LOWAT_POLL_MS): libpq reads 16 KiB at a time, and
 * waking for each read cost a context switch per 16 KiB (50,000 for 5M
 * rows). Reset before anything in libpq may wait on the socket itself. */
#define COPY_LOWAT (256 << 10)
#define LOWAT_POLL_MS 2

/* ------------------------------------------------------------ helpers */

static inline uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}
static inline uint64_t be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static void notice_cb(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(message);
    while (n && (message[n - 1] == '\n' || message[n - 1] == ' '))
        n--;
    if (!strncmp(message, "WARNING", 7))
        BRONZE_WARN("postgres: server says: %.*s", (int)n, message);
    else
        BRONZE_DEBUG("postgres: server says: %.*s", (int)n, message);
}

/* Copies a driver message into err without its trailing newline. libpq's
 * messages never quote the password, and `target` is built from the parsed
 * options without it; nothing is searched for a guessed secret (a short or
 * mis-parsed password would mangle the message and still leak the rest). */
static int set_err(pg_drv *s, bronze_err *err, bronze_err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int set_err(pg_drv *s, bronze_err *err, bronze_err_kind kind, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->kind = kind;
    size_t n = strlen(err->msg);
    while (n && (err->msg[n - 1] == '\n' || err->msg[n - 1] == ' '))
        err->msg[--n] = 0;
    (void)s;
    return -1;
}

static bool sqlstate_retryable(const char *st)
{
    if (!st)
        return false;
    return !strncmp(st, "08", 2) || !strcmp(st, "40001") || !strcmp(st, "40P01") ||
           !strcmp(st, "57P01") || !strcmp(st, "57P02") || !strcmp(st, "57P03");
}

/* err from a failed PGresult (or NULL result). `what` says what was done.
 * The kind follows the SQLSTATE; a lost connection is always retryable. */
static int result_err(pg_drv *s, const PGresult *r, const char *what, bronze_err *err)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *prim = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_HINT) : NULL;
    bool lost = !s->conn || PQstatus(s->conn) == CONNECTION_BAD;
    bronze_err_kind kind = (lost || sqlstate_retryable(st)) ? BRONZE_E_RETRY : BRONZE_E_RUNTIME;
    if (!prim)
        prim = s->conn ? PQerrorMessage(s->conn) : "no connection";
    char tail[64] = "";
    if (st)
        snprintf(tail, sizeof tail, " [SQLSTATE %s]", st);
    return set_err(s, err, kind, "postgres: %s failed on %s: %s%s%s%s%s%s%s", what, s->target, prim,
                   detail ? " (" : "", detail ? detail : "", detail ? ")" : "",
                   hint ? "; hint: " : "", hint ? hint : "", tail);
}

/* ------------------------------------------------------------ connect */

/* A comma-separated list of port numbers (libpq's multi-host form). */
static bool ports_ok(const char *v)
{
    for (const char *p = v; *p; p++)
        if (!(*p >= '0' && *p <= '9') && *p != ',')
            return false;
    return true;
}

/* Parses the connection string (PQconninfoParse) and keeps a description of
 * the target built from the parsed options, never the password. Strings that
 * libpq would take apart in a way that puts the password into an option it
 * echoes in its messages are refused here as config errors that quote
 * nothing: a URL without "@host" (postgresql://user:secret parses the
 * password as the port), an unescaped '@' in the password (the rest of the
 * password becomes the host), any option whose value holds the password. */
static int parse_conninfo(pg_drv *s, bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    const char *where = cfg->path ? cfg->path : "config";
    const char *var = cfg->db.conn_str_env ? cfg->db.conn_str_env : "the environment";
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(cfg->env.conn_str, &perr);
    if (!opts) {
        /* libpq's message quotes pieces of the string, which may hold a
         * secret; only an unknown keyword's name (letters and '_') is shown */
        char kw[64] = "";
        if (perr && sscanf(perr, "invalid connection option \"%63[a-z_]\"", kw) != 1)
            kw[0] = 0;
        PQfreemem(perr);
        if (kw[0])
            return bronze_err_set(err, BRONZE_E_CONFIG,
                                  "%s: source.db.conn_str_env: the connection string in %s has "
                                  "the keyword '%s', which libpq does not know; check its "
                                  "spelling against libpq's list (host, port, dbname, user, "
                                  "password, sslmode, connect_timeout, application_name, ...)",
                                  where, var, kw);
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.conn_str_env: the connection string in %s is not a "
                              "valid PostgreSQL URI or keyword string",
                              where, var);
    }
    const char *host = NULL, *hostaddr = NULL, *port = NULL, *db = NULL, *user = NULL,
               *password = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (!strcmp(o->keyword, "host"))
            host = o->val;
        else if (!strcmp(o->keyword, "hostaddr"))
            hostaddr = o->val;
        else if (!strcmp(o->keyword, "port"))
            port = o->val;
        else if (!strcmp(o->keyword, "dbname"))
            db = o->val;
        else if (!strcmp(o->keyword, "user"))
            user = o->val;
        else if (!strcmp(o->keyword, "password"))
            password = o->val;
    }
    const char *bad = NULL;
    if (port && !ports_ok(port))
        bad = "the port is not a number (in a URL the password goes between ':' and '@': "
              "postgresql://user:password@host:port/db)";
    else if ((host && strchr(host, '@')) || (hostaddr && strchr(hostaddr, '@')))
        bad = "the host holds an '@' (an '@' in a user name or password must be "
              "percent-encoded as %40)";
    for (PQconninfoOption *o = opts; !bad && password && o->keyword; o++)
        if (o->val && strcmp(o->keyword, "password") && !strcmp(o->val, password))
            bad = "an option other than the password holds the password";
    if (bad) {
        PQconninfoFree(opts);
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.conn_str_env: the connection string in %s cannot "
                              "be used: %s",
                              where, var, bad);
    }
    s->multi_host = (host && strchr(host, ',')) || (hostaddr && strchr(hostaddr, ','));
    bronze_buf t = BRONZE_BUF_INIT;
    bronze_buf_printf(&t, "host=%s", host ? host : hostaddr ? hostaddr : "(default)");
    if (port)
        bronze_buf_printf(&t, " port=%s", port);
    if (db)
        bronze_buf_printf(&t, " dbname=%s", db);
    if (user)
        bronze_buf_printf(&t, " user=%s", user);
    bronze_buf_cstr(&t);
    s->target = (char *)t.data;
    PQconninfoFree(opts);
    if (!s->target)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "postgres: out of memory");
    return 0;
}

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* PQconnectdbParams whose wait a SIGINT/SIGTERM ends at once (*stopped), in
 * 100 ms polls of the socket. libpq enforces connect_timeout only in its
 * blocking call, so this does it for the one host (*timed_out); a multi-host
 * string keeps libpq's blocking call, which moves on to the next host after a
 * timeout. NULL on OOM, stop or timeout. */
static PGconn *connect_params(const pg_drv *s, const char *const *kw, const char *const *val,
                              int timeout_s, bool *stopped, bool *timed_out)
{
    *stopped = *timed_out = false;
    if (s->multi_host)
        return PQconnectdbParams(kw, val, 1);
    PGconn *c = PQconnectStartParams(kw, val, 1);
    if (!c || PQstatus(c) == CONNECTION_BAD)
        return c;
    double deadline = timeout_s > 0 ? mono_s() + timeout_s : 0;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        struct pollfd p = {.fd = PQsocket(c),
                           .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        for (;;) {
            if (bronze_interrupted() || (deadline && mono_s() >= deadline)) {
                *stopped = bronze_interrupted() != 0;
                *timed_out = !*stopped;
                PQfinish(c);
                return NULL;
            }
            int n = poll(&p, 1, 100);
            if (n > 0 || (n < 0 && errno != EINTR))
                break; /* ready, or an error PQconnectPoll reports */
        }
        st = PQconnectPoll(c);
    }
    return c;
}

static int pg_connect(pg_drv *s, bronze_err *err)
{
    char tmo[24];
    int t = s->cfg->run.timeout_seconds;
    snprintf(tmo, sizeof tmo, "%d", t > 0 ? (t < 2 ? 2 : t) : 0);
    /* Keywords after "dbname" (the expanded connection string) override it,
     * those before are defaults it may override. TCP keepalives let a dead
     * peer end a stream that would otherwise block for ever (no statement
     * timeout: a long query is fine, a vanished server is not). */
    const char *kw[] = {"keepalives",       "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname",          "fallback_application_name",
                        "client_encoding",  "connect_timeout", NULL};
    const char *val[] = {"1",    "30", "10", "6", s->cfg->env.conn_str, "bronze-extract",
                         "UTF8", tmo,  NULL};
    bool stopped, timed_out;
    s->conn = connect_params(s, kw, val, t > 0 ? (t < 2 ? 2 : t) : 0, &stopped, &timed_out);
    if (stopped)
        return bronze_dbd_check_interrupt("postgres", err);
    if (timed_out)
        return set_err(s, err, BRONZE_E_RETRY,
                       "postgres: cannot connect to %s: timeout expired after %d s", s->target,
                       t < 2 ? 2 : t);
    if (!s->conn)
        return set_err(s, err, BRONZE_E_RUNTIME, "postgres: out of memory connecting");
    if (PQstatus(s->conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(s->conn, notice_cb, NULL);
        return 0;
    }
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(s->conn));
    PQfinish(s->conn);
    s->conn = NULL;
    /* Locale-independent triage: if the server answers a ping, it is up and
     * refused us (auth, unknown database or role): retrying cannot help. */
    bronze_err_kind kind = BRONZE_E_RETRY;
    if (!strstr(msg, "Connection refused") && !strstr(msg, "timeout expired")) {
        PGPing ping = PQpingParams(kw, val, 1);
        if (ping == PQPING_OK)
            kind = BRONZE_E_RUNTIME;
        else if (ping == PQPING_NO_ATTEMPT)
            kind = BRONZE_E_CONFIG;
    }
    if (strstr(msg, "too many clients") || strstr(msg, "the database system is"))
        kind = BRONZE_E_RETRY;
    return set_err(s, err, kind, "postgres: cannot connect to %s: %s", s->target, msg);
}

/* ----------------------------------------------------------- describe */

/* PQprepare + PQdescribePrepared; on failure err is set and `state` holds
 * the SQLSTATE ("" when none). */
static PGresult *describe(pg_drv *s, const char *sql, const char *what, char state[6],
                          bronze_err *err)
{
    state[0] = 0;
    PGresult *r = PQprepare(s->conn, "", sql, 0, NULL);
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        r = PQdescribePrepared(s->conn, "");
        if (PQresultStatus(r) == PGRES_COMMAND_OK)
            return r;
    }
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (st)
        snprintf(state, 6, "%s", st);
    result_err(s, r, what, err);
    PQclear(r);
    return NULL;
}

/* Bronze type and decoder for one described column. time_text:
 * output_defaults.time_as is string. */
static void map_type(Oid oid, int typmod, bool time_text, pg_col *c, bronze_field *f)
{
    c->oid = oid;
    c->typmod = typmod;
    c->cast_text = false;
    f->precision = f->scale = 0;
    switch (oid) {
    case OID_BOOL:
        c->kind = PK_BOOL, f->type = BRONZE_T_BOOL;
        return;
    case OID_INT2:
        c->kind = PK_INT2, f->type = BRONZE_T_INT16;
        return;
    case OID_INT4:
        c->kind = PK_INT4, f->type = BRONZE_T_INT32;
        return;
    case OID_INT8:
        c->kind = PK_INT8, f->type = BRONZE_T_INT64;
        return;
    case OID_OID:
        c->kind = PK_OID, f->type = BRONZE_T_INT64;
        return;
    case OID_FLOAT4:
        c->kind = PK_FLOAT4, f->type = BRONZE_T_FLOAT;
        return;
    case OID_FLOAT8:
        c->kind = PK_FLOAT8, f->type = BRONZE_T_DOUBLE;
        return;
    case OID_NUMERIC:
        if (typmod >= 4) {
            int p = ((typmod - 4) >> 16) & 0xffff;
            int sc = (typmod - 4) & 0x7ff;
            sc = (sc ^ 1024) - 1024; /* PostgreSQL 15: scale is 11-bit signed */
            int dp = p, ds = sc;
            if (sc < 0)
                dp = p - sc, ds = 0;
            else if (sc > p)
                dp = sc;
            if (dp >= 1 && dp <= 38) {
                c->kind = PK_NUMERIC_DEC, f->type = BRONZE_T_DECIMAL;
                f->precision = dp, f->scale = ds;
                return;
            }
        }
        c->kind = PK_NUMERIC_TEXT, f->type = BRONZE_T_STRING;
        return;
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_BPCHAR:
    case OID_NAME:
        c->kind = PK_TEXT, f->type = BRONZE_T_STRING;
        return;
    case OID_DATE:
        c->kind = PK_DATE, f->type = BRONZE_T_DATE;
        return;
    case OID_TIMESTAMP:
        c->kind = PK_TS, f->type = BRONZE_T_TIMESTAMP;
        return;
    case OID_TIMESTAMPTZ:
        c->kind = PK_TS, f->type = BRONZE_T_TIMESTAMPTZ;
        return;
    case OID_TIME:
        if (time_text)
            c->kind = PK_TEXT, f->type = BRONZE_T_STRING, c->cast_text = true;
        else
            c->kind = PK_TIME, f->type = BRONZE_T_TIME;
        return;
    case OID_UUID:
        c->kind = PK_UUID, f->type = BRONZE_T_STRING;
        return;
    case OID_JSON:
        c->kind = PK_JSON, f->type = BRONZE_T_JSON;
        return;
    case OID_JSONB:
        c->kind = PK_JSONB, f->type = BRONZE_T_JSON;
        return;
    case OID_BYTEA:
        c->kind = PK_BYTEA, f->type = BRONZE_T_BYTES;
        return;
    default: /* "char", arrays, interval, timetz, enums, ranges, inet, xml, user types */
        c->kind = PK_TEXT, f->type = BRONZE_T_STRING, c->cast_text = true;
        return;
    }
}

/* The server's name for a column type ("timestamp with time zone",
 * "numeric(12,2)"), for the cursor cast. Caller frees. */
static char *type_name(pg_drv *s, Oid oid, int typmod, bronze_err *err)
{
    char a[16], b[16];
    snprintf(a, sizeof a, "%u", oid);
    snprintf(b, sizeof b, "%d", typmod);
    const char *vals[] = {a, b};
    PGresult *r = PQexecParams(s->conn, "SELECT pg_catalog.format_type($1::oid, $2::int)", 2, NULL,
                               vals, NULL, NULL, 0);
    char *out = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        out = strdup(PQgetvalue(r, 0, 0));
    else
        result_err(s, r, "looking up the cursor column's type", err);
    PQclear(r);
    if (!out && err->kind == BRONZE_E_NONE)
        set_err(s, err, BRONZE_E_RUNTIME, "postgres: out of memory");
    return out;
}

static const char *result_name(const void *r, size_t i)
{
    return PQfname((const PGresult *)r, (int)i);
}

static int find_column(const PGresult *r, const char *name)
{
    return bronze_dbc_find_name((size_t)PQnfields(r), result_name, r, name);
}

/* Right-hand side of `col > ...` for the last cursor, in `out`. */
static int cursor_rhs(pg_drv *s, const char *tname, bronze_type bt, bool numeric_text,
                      bronze_buf *out, bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    char *lit = PQescapeLiteral(s->conn, s->last_cursor, strlen(s->last_cursor));
    if (!lit)
        return result_err(s, NULL, "quoting the incremental cursor", err);
    int rc = 0;
    bool datetime = bt == BRONZE_T_DATE || bt == BRONZE_T_TIMESTAMP || bt == BRONZE_T_TIMESTAMPTZ ||
                    bt == BRONZE_T_TIME;
    bool number = bt == BRONZE_T_INT16 || bt == BRONZE_T_INT32 || bt == BRONZE_T_INT64 ||
                  bt == BRONZE_T_FLOAT || bt == BRONZE_T_DOUBLE || bt == BRONZE_T_DECIMAL ||
                  numeric_text;
    switch (s->lookback->kind) {
    case BRONZE_DBC_LB_NONE:
        rc = bronze_buf_printf(out, "%s::%s", lit, tname);
        break;
    case BRONZE_DBC_LB_INTERVAL: {
        if (!datetime) {
            PQfreemem(lit);
            return bronze_err_set(err, BRONZE_E_CONFIG,
                                  "%s: source.db.incremental.lookback: an interval ('%s') needs a "
                                  "date, timestamp or time cursor column; '%s' is %s",
                                  cfg->path, s->lookback->text, cfg->db.cursor_column, tname);
        }
        char *lb = PQescapeLiteral(s->conn, s->lookback->text, strlen(s->lookback->text));
        if (!lb) {
            PQfreemem(lit);
            return result_err(s, NULL, "quoting the lookback", err);
        }
        rc = bronze_buf_printf(out, "(%s::%s - %s::interval)", lit, tname, lb);
        PQfreemem(lb);
        break;
    }
    case BRONZE_DBC_LB_NUMBER:
        /* the text is validated digits[.digits]: safe to paste */
        if (bt == BRONZE_T_DATE)
            rc = bronze_buf_printf(out, "(%s::date - %s * interval '1 day')", lit,
                                   s->lookback->text);
        else if (datetime)
            rc = bronze_buf_printf(out, "(%s::%s - %s * interval '1 second')", lit, tname,
                                   s->lookback->text);
        else if (number)
            rc = bronze_buf_printf(out, "(%s::%s - %s)", lit, tname, s->lookback->text);
        else {
            PQfreemem(lit);
            return bronze_err_set(err, BRONZE_E_CONFIG,
                                  "%s: source.db.incremental.lookback: a number needs a numeric, "
                                  "date or timestamp cursor column; '%s' is %s",
                                  cfg->path, cfg->db.cursor_column, tname);
        }
        break;
    }
    PQfreemem(lit);
    if (rc)
        return set_err(s, err, BRONZE_E_RUNTIME, "postgres: out of memory");
    return 0;
}

/* source.db.partitioning (SPEC §8, source/db_partition.h): wraps `inner`
 * (the base query, cursor-filtered) into `out` so that it returns this
 * shard's key range only. Bounds not configured come from min/max of
 * `inner`, read as int64 keys; the boundaries go back as literals quoted by
 * PQescapeLiteral and cast to the column's type, as the cursor does. */
static int apply_partitioning(pg_drv *s, const PGresult *r, const char *inner, bronze_buf *out,
                              bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    const bronze_source_ctx *ctx = s->ctx;
    bronze_dbp_plan plan;
    if (!ctx || ctx->dry_run)
        return 0;
    if (bronze_dbp_plan_for(cfg, ctx->shard, ctx->nshards, ctx->sub, ctx->nsub, &plan, err))
        return -1;
    if (!cfg->db.partitioning.column)
        return 0;
    int pc = find_column(r, cfg->db.partitioning.column);
    pg_col col;
    bronze_field f = {0};
    if (pc >= 0) {
        map_type(PQftype(r, pc), PQfmod(r, pc), false, &col, &f);
        f.name = PQfname(r, pc);
    }
    if (bronze_dbp_check_column(cfg, pc, &f, err))
        return -1;
    if (!plan.active)
        return 0; /* one shard reads everything */
    int64_t min = 0, max = 0;
    bool have_min, have_max;
    if (bronze_dbp_config_bounds(cfg, f.type, &min, &have_min, &max, &have_max, err))
        return -1;
    bronze_buf q = BRONZE_BUF_INIT, id = BRONZE_BUF_INIT;
    int rc = -1;
    const char *cast = f.type == BRONZE_T_DATE          ? "date"
                       : f.type == BRONZE_T_TIMESTAMP   ? "timestamp"
                       : f.type == BRONZE_T_TIMESTAMPTZ ? "timestamptz"
                                                        : "int8";
    if (bronze_dbc_quote_ident(&id, PQfname(r, pc), '"') || bronze_buf_cstr(&id))
        goto oom;
    const char *c = (const char *)id.data;
    if (!have_min || !have_max) {
        static const char *const agg[2] = {"min", "max"};
        bronze_buf_printf(&q, "SELECT ");
        for (int k = 0; k < 2; k++) {
            const char *sep = k ? ", " : "";
            if (f.type == BRONZE_T_DATE)
                bronze_buf_printf(&q, "%s%s(%s) FILTER (WHERE isfinite(%s)) - DATE '1970-01-01'",
                                  sep, agg[k], c, c);
            else if (f.type == BRONZE_T_TIMESTAMP || f.type == BRONZE_T_TIMESTAMPTZ)
                bronze_buf_printf(&q,
                                  "%sfloor(extract(epoch FROM %s(%s) FILTER (WHERE isfinite(%s))) "
                                  "* 1000000)::int8",
                                  sep, agg[k], c, c);
            else
                bronze_buf_printf(&q, "%s%s(%s)::int8", sep, agg[k], c);
        }
        if (bronze_buf_printf(&q, " FROM (%s\n) bronze_b", inner) || bronze_buf_cstr(&q))
            goto oom;
        PGresult *mr = PQexec(s->conn, (const char *)q.data);
        if (PQresultStatus(mr) != PGRES_TUPLES_OK) {
            result_err(s, mr, "reading min/max of source.db.partitioning.column", err);
            PQclear(mr);
            goto out;
        }
        bool empty = PQntuples(mr) != 1 || PQgetisnull(mr, 0, 0) || PQgetisnull(mr, 0, 1);
        int64_t dmin = empty ? 0 : strtoll(PQgetvalue(mr, 0, 0), NULL, 10);
        int64_t dmax = empty ? 0 : strtoll(PQgetvalue(mr, 0, 1), NULL, 10);
        PQclear(mr);
        bronze_dbp_fill_bounds(&min, have_min, &max, have_max, dmin, dmax);
    }
    bronze_dbp_note(ctx->part_note, ctx->part_note_cap, f.type, true, min, max);
    bronze_dbp_range rg;
    bronze_dbp_range_of(min, max, plan.n, plan.first, plan.last, &rg);
    char lo_rhs[160] = "", hi_rhs[160] = "";
    for (int k = 0; k < 2; k++) {
        if (k ? rg.hi_open : rg.lo_open)
            continue;
        char text[64];
        bronze_dbp_key_text(f.type, k ? rg.hi : rg.lo, text);
        char *lit = PQescapeLiteral(s->conn, text, strlen(text));
        if (!lit) {
            result_err(s, NULL, "quoting a partition boundary", err);
            goto out;
        }
        snprintf(k ? hi_rhs : lo_rhs, sizeof lo_rhs, "%s::%s", lit, cast);
        PQfreemem(lit);
    }
    out->len = 0;
    if (bronze_buf_printf(out, "SELECT * FROM (%s\n) bronze_part WHERE ", inner) ||
        bronze_dbp_condition(out, c, &rg, lo_rhs, hi_rhs))
        goto oom;
    BRONZE_DEBUG("postgres: shard %d/%d reads partitions [%d, %d) of %d on %s", ctx->shard,
                 ctx->nshards, plan.first, plan.last, plan.n, cfg->db.partitioning.column);
    rc = 0;
    goto out;
oom:
    set_err(s, err, BRONZE_E_RUNTIME, "postgres: out of memory");
out:
    bronze_buf_free(&q);
    bronze_buf_free(&id);
    return rc;
}

/* Connects and describes: a new schema and the cursor column in *out_desc;
 * cols and copy_sql for the COPY. */
static int pg_setup(void *d, bronze_dbd_desc *out_desc, bronze_err *err)
{
    pg_drv *s = d;
    const bronze_config *cfg = s->cfg;
    bronze_buf base = BRONZE_BUF_INIT, filt = BRONZE_BUF_INIT, sql = BRONZE_BUF_INIT;
    PGresult *r = NULL;
    char *tname = NULL;
    bronze_schema *schema = NULL;
    pg_col *cols = NULL;
    char state[6];
    int rc = -1;

    if (pg_connect(s, err))
        return -1;
    size_t qlen = bronze_dbc_query_trimmed_len(cfg->db.base_query);
    if (bronze_buf_append(&base, cfg->db.base_query, qlen) || bronze_buf_cstr(&base))
        goto oom;
    r = describe(s, (const char *)base.data, "describing source.db.base_query", state, err);
    if (!r)
        goto out;
    int n = PQnfields(r);
    if (n <= 0) {
        set_err(s, err, BRONZE_E_RUNTIME, "%s: source.db.base_query: the query returns no columns",
                cfg->path);
        goto out;
    }
    int cc = -1;
    bool numeric_text = false;
    if (cfg->db.incremental && cfg->db.cursor_column && *cfg->db.cursor_column) {
        cc = find_column(r, cfg->db.cursor_column);
        if (cc < 0) {
            bronze_dbc_err_no_cursor_column(cfg, (size_t)n, result_name, r, err);
            goto out;
        }
        pg_col pc;
        bronze_field tf = {0};
        map_type(PQftype(r, cc), PQfmod(r, cc), cfg->time_as == BRONZE_TIME_AS_STRING, &pc, &tf);
        numeric_text = pc.kind == PK_NUMERIC_TEXT;
        if (pc.cast_text || tf.type == BRONZE_T_JSON || s->last_cursor) {
            tname = type_name(s, PQftype(r, cc), PQfmod(r, cc), err);
            if (!tname)
                goto out;
        }
        if (pc.cast_text || tf.type == BRONZE_T_JSON) {
            bronze_err_set(err, BRONZE_E_CONFIG,
                           "%s: source.db.incremental.cursor_column / incremental_key: cursor "
                           "column '%s' has type %s, which bronze cannot order; use a timestamp, "
                           "date, integer, numeric or text column (or cast it in the query)",
                           cfg->path, PQfname(r, cc), tname);
            goto out;
        }
        if (s->last_cursor) {
            if (cursor_rhs(s, tname, tf.type, numeric_text, &sql, err))
                goto out;
            if (bronze_buf_cstr(&sql) ||
                bronze_dbc_wrap_query(&filt, cfg->db.base_query, PQfname(r, cc), '"',
                                      (const char *)sql.data))
                goto oom;
            sql.len = 0;
            char *cname = strdup(PQfname(r, cc));
            PQclear(r);
            r = describe(s, (const char *)filt.data, "applying the incremental cursor", state, err);
            if (!r) {
                free(cname);
                if (!strncmp(state, "22", 2))
                    bronze_err_prefix(err,
                                      "%s: the incremental cursor '%s' (from the state file or "
                                      "the cursor override) does not read as %s",
                                      cfg->path, s->last_cursor, tname);
                goto out;
            }
            cc = cname ? find_column(r, cname) : -1;
            free(cname);
            if (cc < 0 || PQnfields(r) != n)
                goto oom;
        }
    }

    schema = bronze_schema_new((size_t)n);
    cols = calloc((size_t)n, sizeof *cols);
    if (!schema || !cols)
        goto oom;
    for (int i = 0; i < n; i++) {
        bronze_field f = {0};
        map_type(PQftype(r, i), PQfmod(r, i), cfg->time_as == BRONZE_TIME_AS_STRING, &cols[i], &f);
        if (bronze_schema_set(schema, (size_t)i, PQfname(r, i), f.type, f.precision, f.scale, true))
            goto oom;
    }

    bronze_buf part = BRONZE_BUF_INIT;
    if (bronze_buf_cstr(&filt) ||
        apply_partitioning(s, r, filt.len ? (const char *)filt.data : (const char *)base.data,
                           &part, err)) {
        bronze_buf_free(&part);
        goto out;
    }
    if (part.len) {
        bronze_buf_free(&filt);
        filt = part;
    }
    /* COPY (SELECT c1, c2::text ... FROM (<q>\n) bronze_q(c1, c2 ...)) TO STDOUT (FORMAT binary) */
    sql.len = 0;
    bronze_buf_printf(&sql, "COPY (SELECT ");
    for (int i = 0; i < n; i++)
        bronze_buf_printf(&sql, "%sc%d%s", i ? ", " : "", i + 1, cols[i].cast_text ? "::text" : "");
    bronze_buf_printf(&sql, " FROM (");
    if (filt.len)
        bronze_buf_append(&sql, filt.data, filt.len);
    else
        bronze_buf_append(&sql, base.data, base.len);
    bronze_buf_printf(&sql, "\n) bronze_q(");
    for (int i = 0; i < n; i++)
        bronze_buf_printf(&sql, "%sc%d", i ? ", " : "", i + 1);
    if (bronze_buf_printf(&sql, ")) TO STDOUT (FORMAT binary)") || bronze_buf_cstr(&sql))
        goto oom;

    out_desc->schema = schema;
    out_desc->cursor_col = cc;
    out_desc->numeric_text = numeric_text;
    schema = NULL;
    free(s->cols);
    s->cols = cols;
    cols = NULL;
    s->ncols = (size_t)n;
    bronze_buf_free(&s->copy_sql);
    s->copy_sql = sql;
    sql = (bronze_buf)BRONZE_BUF_INIT;
    BRONZE_DEBUG("postgres: described %d column(s) on %s", n, s->target);
    rc = 0;
    goto out;
oom:
    set_err(s, err, BRONZE_E_RUNTIME, "postgres: out of memory");
out:
    PQclear(r);
    free(tname);
    bronze_schema_free(schema);
    free(cols);
    bronze_buf_free(&base);
    bronze_buf_free(&filt);
    bronze_buf_free(&sql);
    if (rc && s->conn) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    return rc;
}

static void set_lowat(pg_drv *s, bool on)
{
    if (s->lowat == on || !s->conn || PQsocket(s->conn) < 0)
        return;
    int v = on ? COPY_LOWAT : 1;
    if (setsockopt(PQsocket(s->conn), SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v) == 0)
        s->lowat = on;
}

static void drop_stream(pg_drv *s)
{
    set_lowat(s, false);
    if (s->msg)
        PQfreemem(s->msg);
    s->msg = NULL;
    s->msg_len = s->msg_pos = 0;
    s->header_done = s->trailer_seen = false;
}

static void pg_disconnect(void *d)
{
    pg_drv *s = d;
    drop_stream(s);
    s->in_copy = false;
    if (s->conn)
        PQfinish(s->conn);
    s->conn = NULL;
}

static void pg_destroy(void *d)
{
    pg_drv *s = d;
    if (!s)
        return;
    pg_disconnect(s);
    free(s->cols);
    bronze_buf_free(&s->copy_sql);
    bronze_buf_free(&s->scratch);
    free(s->target);
    free(s);
}

static int pg_create(void **out, const bronze_dbd_args *args, bronze_err *err)
{
    pg_drv *s = calloc(1, sizeof *s);
    *out = s;
    if (!s)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "postgres: out of memory");
    s->cfg = args->cfg;
    s->last_cursor = args->last_cursor;
    s->lookback = args->lookback;
    s->ctx = args->ctx;
    return parse_conninfo(s, err);
}

static void pg_use_schema(void *d, const bronze_schema *schema)
{
    ((pg_drv *)d)->schema = schema;
}

/* ------------------------------------------------------------- decode */

/* Binary numeric -> unscaled value at scale `scale`. 0 ok; -1 NaN/Inf;
 * -2 does not fit; -3 malformed. */
static int numeric_to_dec(const uint8_t *p, int32_t len, int precision, int scale, __int128 *out)
{
    if (len < 8)
        return -3;
    int nd = (int16_t)be16(p), weight = (int16_t)be16(p + 2);
    unsigned sign = be16(p + 4);
    if (nd < 0 || len != 8 + 2 * nd)
        return -3;
    if (sign == NUMERIC_NAN || sign == NUMERIC_PINF || sign == NUMERIC_NINF)
        return -1;
    if (sign != NUMERIC_POS && sign != NUMERIC_NEG)
        return -3;
    const unsigned __int128 *p10 = bronze_dbc_pow10;
    unsigned __int128 acc = 0;
    for (int i = 0; i < nd; i++) {
        unsigned d = be16(p + 8 + 2 * i);
        if (d > 9999)
            return -3;
        if (!d)
            continue;
        int e = 4 * (weight - i) + scale;
        if (e >= 0) {
            /* d < 10^4, so d * 10^e < 10^38 for e <= 34: the division
             * (a 128-bit one) is only needed above. */
            if (e > 38 || (e > 34 && d > (p10[38] - 1) / p10[e]))
                return -2;
            acc += (unsigned __int128)d * p10[e];
        } else {
            if (e < -4 || d % (unsigned)p10[-e])
                return -2; /* digits beyond the column's scale: cannot happen for numeric(p,s) */
            acc += d / (unsigned)p10[-e];
        }
        if (acc >= p10[38])
            return -2;
    }
    if (acc >= p10[precision])
        return -2;
    *out = sign == NUMERIC_NEG ? -(__int128)acc : (__int128)acc;
    return 0;
}

/* Binary numeric -> the exact text PostgreSQL prints (numeric_out). */
static int numeric_to_text(const uint8_t *p, int32_t len, bronze_buf *out)
{
    out->len = 0;
    if (len < 8)
        return -3;
    int nd = (int16_t)be16(p), weight = (int16_t)be16(p + 2);
    unsigned sign = be16(p + 4);
    int dscale = (int16_t)be16(p + 6);
    if (nd < 0 || len != 8 + 2 * nd || dscale < 0)
        return -3;
    if (sign == NUMERIC_NAN)
        return bronze_buf_append(out, "NaN", 3);
    if (sign == NUMERIC_PINF)
        return bronze_buf_append(out, "Infinity", 8);
    if (sign == NUMERIC_NINF)
        return bronze_buf_append(out, "-Infinity", 9);
    size_t need = 2 + (size_t)(weight > 0 ? weight + 1 : 1) * 4 + (size_t)dscale + 8;
    if (bronze_buf_reserve(out, need))
        return -4;
    char *o = (char *)out->data;
    size_t k = 0;
    if (sign == NUMERIC_NEG)
        o[k++] = '-';
    int d;
    if (weight < 0) {
        d = weight + 1;
        o[k++] = '0';
    } else {
        for (d = 0; d <= weight; d++) {
            unsigned dig = d < nd ? be16(p + 8 + 2 * d) : 0;
            if (dig > 9999)
                return -3;
            if (d == 0) {
                k += (size_t)snprintf(o + k, 8, "%u", dig);
            } else {
                o[k++] = (char)('0' + dig / 1000);
                o[k++] = (char)('0' + dig / 100 % 10);
                o[k++] = (char)('0' + dig / 10 % 10);
                o[k++] = (char)('0' + dig % 10);
            }
        }
    }
    if (dscale > 0) {
        o[k++] = '.';
        size_t end = k + (size_t)dscale;
        for (int i = 0; i < dscale; d++, i += 4) {
            unsigned dig = (d >= 0 && d < nd) ? be16(p + 8 + 2 * d) : 0;
            if (dig > 9999)
                return -3;
            o[k++] = (char)('0' + dig / 1000);
            o[k++] = (char)('0' + dig / 100 % 10);
            o[k++] = (char)('0' + dig / 10 % 10);
            o[k++] = (char)('0' + dig % 10);
        }
        k = end;
    }
    out->len = k;
    return 0;
}

static int malformed(pg_drv *s, bronze_err *err, const char *what)
{
    return set_err(s, err, BRONZE_E_RUNTIME,
                   "postgres: malformed COPY stream from %s at row %llu: %s", s->target,
                   (unsigned long long)s->row + 1, what);
}

/* Decodes one field (non-NULL, len bytes at p) of column i into the batch. */
static int decode_field(pg_drv *s, bronze_batch *b, size_t i, const uint8_t *p, int32_t len,
                        bronze_err *err)
{
    const pg_col *c = &s->cols[i];
    const bronze_field *f = &s->schema->fields[i];
    static const int fixed_len[] = {
        [PK_BOOL] = 1, [PK_INT2] = 2,   [PK_INT4] = 4,   [PK_INT8] = 8,
        [PK_OID] = 4,  [PK_FLOAT4] = 4, [PK_FLOAT8] = 8, [PK_DATE] = 4,
        [PK_TS] = 8,   [PK_TIME] = 8,   [PK_UUID] = 16,
    };
    if ((unsigned)c->kind < sizeof fixed_len / sizeof fixed_len[0] && fixed_len[c->kind] &&
        len != fixed_len[c->kind])
        return malformed(s, err, "a fixed-width value has the wrong length");
    switch (c->kind) {
    case PK_BOOL:
        bronze_batch_put_bool(b, p[0] != 0);
        return 0;
    case PK_INT2:
        bronze_batch_put_i32(b, (int16_t)be16(p));
        return 0;
    case PK_INT4:
        bronze_batch_put_i32(b, (int32_t)be32(p));
        return 0;
    case PK_INT8:
        bronze_batch_put_i64(b, (int64_t)be64(p));
        return 0;
    case PK_OID:
        bronze_batch_put_i64(b, (int64_t)be32(p));
        return 0;
    case PK_FLOAT4: {
        uint32_t u = be32(p);
        float v;
        memcpy(&v, &u, 4);
        bronze_batch_put_f32(b, v);
        return 0;
    }
    case PK_FLOAT8: {
        uint64_t u = be64(p);
        double v;
        memcpy(&v, &u, 8);
        bronze_batch_put_f64(b, v);
        return 0;
    }
    case PK_DATE: {
        int32_t d = (int32_t)be32(p);
        if (d == INT32_MIN)
            d = BRONZE_DATE_NINF;
        else if (d != INT32_MAX && __builtin_add_overflow(d, PG_EPOCH_DAYS, &d))
            goto range;
        bronze_batch_put_i32(b, d);
        return 0;
    }
    case PK_TS: {
        int64_t v = (int64_t)be64(p);
        if (v == INT64_MIN)
            v = BRONZE_TS_NINF;
        else if (v != INT64_MAX && (__builtin_add_overflow(v, PG_EPOCH_MICROS, &v) ||
                                    v >= BRONZE_TS_PINF - 1 || v <= BRONZE_TS_NINF))
            goto range;
        bronze_batch_put_i64(b, v);
        return 0;
    }
    case PK_TIME: {
        int64_t v = (int64_t)be64(p);
        if (v >= 86400000000LL) /* 24:00:00 is outside Parquet TIME's domain */
            return set_err(s, err, BRONZE_E_RUNTIME,
                           "postgres: row %llu, column '%s': 24:00:00 cannot be stored as a "
                           "Parquet TIME; set platform.bronze.output_defaults.time_as: string, "
                           "or cast the column in the query",
                           (unsigned long long)s->row + 1, f->name);
        bronze_batch_put_i64(b, v);
        return 0;
    }
    case PK_UUID: {
        static const char hex[] = "0123456789abcdef";
        char u[36];
        size_t k = 0;
        for (int j = 0; j < 16; j++) {
            if (j == 4 || j == 6 || j == 8 || j == 10)
                u[k++] = '-';
            u[k++] = hex[p[j] >> 4];
            u[k++] = hex[p[j] & 15];
        }
        return bronze_batch_put_bytes(b, u, 36) ? set_err(s, err, BRONZE_E_RUNTIME, "out of memory")
                                                : 0;
    }
    case PK_JSONB:
        if (len < 1 || p[0] != 1)
            return malformed(s, err, "unknown jsonb version");
        p++, len--;
        /* fall through */
    case PK_TEXT:
    case PK_JSON:
    case PK_BYTEA:
        return bronze_batch_put_bytes(b, p, (size_t)len)
                   ? set_err(s, err, BRONZE_E_RUNTIME, "postgres: out of memory")
                   : 0;
    case PK_NUMERIC_TEXT: {
        int rc = numeric_to_text(p, len, &s->scratch);
        if (rc == -3)
            return malformed(s, err, "bad numeric");
        if (rc || bronze_batch_put_bytes(b, s->scratch.data, s->scratch.len))
            return set_err(s, err, BRONZE_E_RUNTIME, "postgres: out of memory");
        return 0;
    }
    case PK_NUMERIC_DEC: {
        __int128 v;
        int rc = numeric_to_dec(p, len, f->precision, f->scale, &v);
        if (rc == -1)
            return set_err(s, err, BRONZE_E_RUNTIME,
                           "postgres: row %llu, column '%s': NaN or Infinity in a numeric(%d,%d) "
                           "column has no DECIMAL form; cast it in the query (e.g. \"%s\"::text, "
                           "or NULLIF(\"%s\", 'NaN'))",
                           (unsigned long long)s->row + 1, f->name, f->precision, f->scale, f->name,
                           f->name);
        if (rc == -2)
            return set_err(s, err, BRONZE_E_RUNTIME,
                           "postgres: row %llu, column '%s': value does not fit DECIMAL(%d,%d); "
                           "cast it to text in the query",
                           (unsigned long long)s->row + 1, f->name, f->precision, f->scale);
        if (rc)
            return malformed(s, err, "bad numeric");
        bronze_batch_put_dec(b, v);
        return 0;
    }
    }
    return malformed(s, err, "unknown column kind");
range:
    return set_err(s, err, BRONZE_E_RUNTIME,
                   "postgres: row %llu, column '%s': value is outside the range bronze stores as "
                   "micros/days since 1970; cast it to text in the query",
                   (unsigned long long)s->row + 1, f->name);
}

/* Parses the current message into the batch. Returns 0 when the message is
 * used up, 1 when the batch filled first, -1 on error. */
static int parse_message(pg_drv *s, bronze_batch *b, bronze_err *err)
{
    const uint8_t *msg = (const uint8_t *)s->msg;
    size_t len = s->msg_len, pos = s->msg_pos;
    if (!s->header_done) {
        static const uint8_t sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
        if (len < 19 || memcmp(msg, sig, 11))
            return malformed(s, err, "bad signature");
        uint32_t ext = be32(msg + 15);
        if (ext > len - 19)
            return malformed(s, err, "bad header extension");
        pos = 19 + ext;
        s->header_done = true;
    }
    while (pos < len) {
        if (s->trailer_seen)
            return malformed(s, err, "data after the end marker");
        if (len - pos < 2)
            return malformed(s, err, "truncated row");
        int16_t nf = (int16_t)be16(msg + pos);
        if (nf == -1) {
            s->trailer_seen = true;
            pos += 2;
            continue;
        }
        if (bronze_batch_full(b)) {
            s->msg_pos = pos;
            return 1;
        }
        if (nf != (int)s->ncols)
            return malformed(s, err, "field count differs from the described columns");
        pos += 2;
        for (size_t i = 0; i < s->ncols; i++) {
            if (len - pos < 4) {
                bronze_batch_abort_row(b);
                return malformed(s, err, "truncated field");
            }
            int32_t fl = (int32_t)be32(msg + pos);
            pos += 4;
            if (fl == -1) {
                bronze_batch_put_null(b);
                continue;
            }
            if (fl < 0 || (size_t)fl > len - pos) {
                bronze_batch_abort_row(b);
                return malformed(s, err, "field length out of bounds");
            }
            if (decode_field(s, b, i, msg + pos, fl, err)) {
                bronze_batch_abort_row(b);
                return -1;
            }
            pos += (size_t)fl;
        }
        bronze_batch_end_row(b);
        s->row++;
    }
    s->msg_pos = pos;
    return 0;
}

/* Asks the server to stop the running query. Closing the socket is not
 * enough: a query that has not sent a row (pg_sleep, a big sort) would run on
 * until it tries to. */
static void cancel_query(pg_drv *s)
{
    PGcancel *c = s->conn ? PQgetCancel(s->conn) : NULL;
    char why[256] = "";
    if (c && PQcancel(c, why, sizeof why))
        BRONZE_INFO("postgres: asked the server to cancel the running query");
    else
        BRONZE_WARN("postgres: could not ask the server to cancel the running query%s%s",
                    why[0] ? ": " : "", why);
    if (c)
        PQfreeCancel(c);
}

/* Waits until the socket is readable, looking every 100 ms for a SIGINT or
 * SIGTERM (the handler only sets a flag; the signal may land on any thread).
 * On one: PQcancel, then fail with "interrupted". */
static int wait_readable(pg_drv *s, bronze_err *err)
{
    int fd = PQsocket(s->conn);
    if (fd < 0)
        return result_err(s, NULL, "reading the query's rows", err);
    for (;;) {
        if (bronze_interrupted()) {
            cancel_query(s);
            return bronze_dbd_check_interrupt("postgres", err);
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, s->lowat ? LOWAT_POLL_MS : 100);
        if (n > 0 || (n == 0 && s->lowat)) /* less than the low mark may be all there is */
            return 0;
        if (n < 0 && errno != EINTR)
            return set_err(s, err, BRONZE_E_RETRY, "postgres: waiting for %s failed: %s", s->target,
                           strerror(errno));
    }
}

/* The next result of the query sent with PQsendQuery, waiting interruptibly.
 * NULL with err set when interrupted (*stop) or the connection broke. */
static PGresult *next_result(pg_drv *s, bool *stop, bronze_err *err)
{
    *stop = false;
    while (PQisBusy(s->conn)) {
        if (wait_readable(s, err)) {
            *stop = true;
            return NULL;
        }
        if (!PQconsumeInput(s->conn))
            break;
    }
    return PQgetResult(s->conn);
}

static int pg_start(void *d, bronze_err *err)
{
    pg_drv *s = d;
    drop_stream(s);
    s->row = 0;
    if (!PQsendQuery(s->conn, (const char *)s->copy_sql.data))
        return result_err(s, NULL, "running the query", err);
    bool stop;
    PGresult *r = next_result(s, &stop, err);
    if (stop)
        return -1;
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        result_err(s, r, "running the query", err);
        PQclear(r);
        return -1;
    }
    PQclear(r);
    s->in_copy = true;
    s->drained = false;
    set_lowat(s, true);
    return 0;
}

/* The stream ended: collect the final status. */
static int finish_copy(pg_drv *s, bronze_err *err)
{
    PGresult *r;
    int rc = 0;
    while ((r = PQgetResult(s->conn))) {
        if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK) {
            result_err(s, r, "reading the query's rows", err);
            rc = -1;
        }
        PQclear(r);
    }
    if (!rc && !s->trailer_seen)
        rc = malformed(s, err, "the stream ended without its end marker");
    if (!rc)
        s->in_copy = false;
    return rc;
}

/* The next CopyData message into s->msg: 1, 0 at the stream's end, -1 on
 * error. When nothing is buffered it reads what the socket holds, and waits
 * (interruptibly) only when that read found nothing. */
static int read_message(pg_drv *s, bronze_err *err)
{
    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(s->conn, &buf, 1);
        if (n > 0) {
            s->drained = false;
            s->msg = buf;
            s->msg_len = (size_t)n;
            s->msg_pos = 0;
            return 1;
        }
        if (n == -1)
            return 0;
        if (n < 0)
            return result_err(s, NULL, "reading the query's rows", err);
        if (s->drained && wait_readable(s, err))
            return -1;
        s->drained = !s->drained;
        if (!PQconsumeInput(s->conn))
            return result_err(s, NULL, "reading the query's rows", err);
    }
}

static int pg_fetch(void *d, bronze_batch *b, bronze_err *err)
{
    pg_drv *s = d;
    while (!bronze_batch_full(b) && s->in_copy) {
        if (!s->msg) {
            int r = read_message(s, err);
            if (r <= 0) {
                set_lowat(s, false); /* libpq may wait on the socket itself from here */
                if (r < 0 || finish_copy(s, err))
                    return -1;
                break;
            }
        }
        int rc = parse_message(s, b, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            PQfreemem(s->msg);
            s->msg = NULL;
        }
    }
    return s->in_copy ? BRONZE_DBD_MORE : BRONZE_DBD_END;
}

static const bronze_dbd_vt pg_driver = {
    .name = "postgres",
    .create = pg_create,
    .setup = pg_setup,
    .use_schema = pg_use_schema,
    .start = pg_start,
    .fetch = pg_fetch,
    .disconnect = pg_disconnect,
    .destroy = pg_destroy,
};

static int pg_open(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err)
{
    return bronze_dbd_open(out, &pg_driver, ctx, err);
}

const bronze_source_vt bronze_source_postgres = {
    .name = "postgres",
    .open = pg_open,
    .schema = bronze_dbd_schema,
    .next = bronze_dbd_next,
    .cursor = bronze_dbd_cursor,
    .close = bronze_dbd_close,
};

/* ------------------------------------------- tests/fuzz (postgres_copy.h) */

#include "source/postgres_copy.h"

int bronze_pg_copy_decode(const uint32_t *oids, const int32_t *typmods, size_t ncols,
                          bool time_text, const void *const *msgs, const size_t *lens, size_t nmsgs,
                          size_t batch_rows, uint64_t *rows, bronze_err *err)
{
    pg_drv s = {.target = "fuzz"};
    bronze_schema *schema = bronze_schema_new(ncols);
    s.cols = calloc(ncols ? ncols : 1, sizeof *s.cols);
    s.ncols = ncols;
    bronze_batch b = {0};
    int rc = -1;
    if (!schema || !s.cols) {
        set_err(&s, err, BRONZE_E_RUNTIME, "postgres: out of memory");
        goto out;
    }
    for (size_t i = 0; i < ncols; i++) {
        bronze_field f = {0};
        char name[32];
        snprintf(name, sizeof name, "c%zu", i + 1);
        map_type(oids[i], typmods[i], time_text, &s.cols[i], &f);
        if (bronze_schema_set(schema, i, name, f.type, f.precision, f.scale, true)) {
            set_err(&s, err, BRONZE_E_RUNTIME, "postgres: out of memory");
            goto out;
        }
    }
    s.schema = schema;
    if (bronze_batch_init(&b, schema, batch_rows)) {
        set_err(&s, err, BRONZE_E_RUNTIME, "postgres: out of memory");
        goto out;
    }
    for (size_t m = 0; m < nmsgs; m++) {
        s.msg = (char *)msgs[m]; /* parse_message only reads it */
        s.msg_len = lens[m];
        s.msg_pos = 0;
        int r;
        while ((r = parse_message(&s, &b, err)) == 1)
            bronze_batch_clear(&b);
        if (r < 0)
            goto out;
    }
    if (!s.trailer_seen) {
        malformed(&s, err, "the stream ended without its end marker");
        goto out;
    }
    rc = 0;
out:
    if (rows)
        *rows = s.row;
    s.msg = NULL;
    bronze_batch_free(&b);
    bronze_schema_free(schema);
    free(s.cols);
    bronze_buf_free(&s.scratch);
    return rc;
}
