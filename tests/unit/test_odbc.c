/*
 * test_odbc.c - the ODBC source against PostgreSQL through the Debian
 * psqlodbc driver (odbc-postgresql), no odbcinst.ini needed.
 *
 * Server: BRONZE_TEST_PG (a libpq conninfo, used to load data and compute
 * reference values) or a throwaway one from scripts/pg-test-server.sh; the
 * ODBC string: BRONZE_TEST_ODBC, else DRIVER=<psqlodbcw.so>;SERVER=...;PORT=...
 * With CI set, no server is a failure, never a skip. Decoded values are
 * compared with text forms the server computes itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "batch/batch.h"
#include "config/config.h"
#include "format/value_text.h"
#include "format/value_text.h"
#include "source/db_common.h"
#include "source/source.h"

#define PSQLODBC "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so"

/* ------------------------------------------------------------- server */

static char g_dir[256];
static char g_conninfo[512];
static bool g_started, g_have_server;

static bool in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && *ci && strcmp(ci, "0") && strcasecmp(ci, "false");
}

static void server_stop(void)
{
    if (!g_started)
        return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "scripts/pg-test-server.sh stop '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_odbc: stopping the test server failed\n");
    rmdir(g_dir); /* when start failed before creating anything */
    g_started = false;
}

static int server_start(void)
{
    const char *env = getenv("BRONZE_TEST_PG");
    if (env && *env) {
        snprintf(g_conninfo, sizeof g_conninfo, "%s", env);
        g_have_server = true;
        return 0;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/bronze-pgtest.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "scripts/pg-test-server.sh start '%s'", g_dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512] = "";
    while (fgets(line, sizeof line, p))
        if (!strncmp(line, "host=", 5))
            snprintf(g_conninfo, sizeof g_conninfo, "%s", line);
    int st = pclose(p);
    g_started = true; /* the dir exists either way: stop removes it */
    atexit(server_stop);
    g_conninfo[strcspn(g_conninfo, "\n")] = 0;
    if (st != 0 || !g_conninfo[0])
        return -1;
    g_have_server = true;
    return 0;
}

static PGconn *admin(void)
{
    PGconn *c = PQconnectdb(g_conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("admin connection failed: %s", PQerrorMessage(c));
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s\n-> %s", sql, PQerrorMessage(c));
    PQclear(r);
}

#define SKIP_WITHOUT_SERVER()                                                                      \
    do {                                                                                           \
        if (!g_have_server)                                                                        \
            skip();                                                                                \
    } while (0)

/* ------------------------------------------------------------- config */

typedef struct tcfg {
    bronze_config cfg;
    bronze_source_ctx ctx;
} tcfg;

static void tcfg_init(tcfg *t, const char *conn, const char *query)
{
    memset(t, 0, sizeof *t);
    t->cfg.path = "test.yaml";
    t->cfg.type = BRONZE_SRC_DB;
    t->cfg.system = "sys";
    t->cfg.table = "tbl";
    t->cfg.run.timeout_seconds = 5;
    t->cfg.run.max_retries = 1;
    t->cfg.db.conn_str_env = "TEST_ODBC_CONN";
    t->cfg.db.base_query = (char *)query;
    t->cfg.db.fetch_batch_size = 1000;
    t->cfg.env.conn_str = (char *)conn;
    t->ctx.cfg = &t->cfg;
    t->ctx.run_date = "2025-01-12";
    t->ctx.tmp_dir = "/tmp";
    t->ctx.batch_rows = 1000;
}

static void tcfg_incremental(tcfg *t, const char *col, const char *last, const char *lookback)
{
    t->cfg.db.incremental = true;
    t->cfg.db.cursor_column = (char *)col;
    t->cfg.db.lookback = (char *)lookback;
    t->ctx.last_cursor = last;
}

/* An extraction held in memory: every row's values rendered as text. */
typedef struct rows {
    size_t nrows, ncols;
    char **cell; /* nrows * ncols, NULL = SQL NULL */
    bronze_schema *schema;
    char *cursor;
    int restarts;
} rows;

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->nrows * r->ncols; i++)
        free(r->cell[i]);
    free(r->cell);
    bronze_schema_free(r->schema);
    free(r->cursor);
    memset(r, 0, sizeof *r);
}

static char *dupn(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* Renders one decoded value in the form the reference queries produce. */
static char *render(const bronze_field *f, const bronze_column *c, size_t r)
{
    char buf[128];
    size_t n;
    const char *p;
    switch (f->type) {
    case BRONZE_T_BOOL:
        return strdup(c->v.u8[r] ? "true" : "false");
    case BRONZE_T_INT16:
    case BRONZE_T_INT32:
        snprintf(buf, sizeof buf, "%d", c->v.i32[r]);
        return strdup(buf);
    case BRONZE_T_DATE:
        if (c->v.i32[r] == INT32_MAX)
            return strdup("infinity");
        if (c->v.i32[r] == INT32_MIN)
            return strdup("-infinity");
        snprintf(buf, sizeof buf, "%d", c->v.i32[r]);
        return strdup(buf);
    case BRONZE_T_INT64:
    case BRONZE_T_TIME:
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ:
        if (f->type != BRONZE_T_INT64 && c->v.i64[r] == INT64_MAX)
            return strdup("infinity");
        if (f->type != BRONZE_T_INT64 && c->v.i64[r] == INT64_MIN)
            return strdup("-infinity");
        snprintf(buf, sizeof buf, "%lld", (long long)c->v.i64[r]);
        return strdup(buf);
    case BRONZE_T_FLOAT:
        snprintf(buf, sizeof buf, "f:%.9g", (double)c->v.f32[r]);
        return strdup(buf);
    case BRONZE_T_DOUBLE:
        snprintf(buf, sizeof buf, "d:%.17g", c->v.f64[r]);
        return strdup(buf);
    case BRONZE_T_DECIMAL:
        bronze_fmt_decimal(c->v.i128[r], f->scale, buf);
        return strdup(buf);
    case BRONZE_T_BYTES: {
        p = bronze_col_str(c, r, &n);
        char *h = malloc(2 * n + 1);
        for (size_t i = 0; i < n; i++)
            sprintf(h + 2 * i, "%02x", (unsigned char)p[i]);
        h[2 * n] = 0;
        return h;
    }
    default:
        p = bronze_col_str(c, r, &n);
        return dupn(p, n);
    }
}

/* Runs the whole extraction through the vtable (batches of `cap` rows),
 * restarting on RESTART. Returns 0, or -1 with err set. */
static int extract(tcfg *t, size_t cap, rows *out, bronze_err *err,
                   void (*after_first_batch)(void *), void *arg)
{
    memset(out, 0, sizeof *out);
    bronze_source *s = NULL;
    const bronze_source_vt *vt = &bronze_source_odbc;
    if (vt->open(&s, &t->ctx, err))
        return -1;
    const bronze_schema *sc = vt->schema(s);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, sc, cap), 0);
    size_t cells_cap = 0;
    int rc;
    bool hooked = false;
    for (;;) {
        rc = vt->next(s, &b, err);
        if (rc < 0)
            break;
        if (rc == BRONZE_SRC_RESTART) {
            out->restarts++;
            for (size_t i = 0; i < out->nrows * out->ncols; i++)
                free(out->cell[i]);
            out->nrows = 0;
            bronze_batch_free(&b);
            sc = vt->schema(s);
            assert_int_equal(bronze_batch_init(&b, sc, cap), 0);
            continue;
        }
        if (rc == BRONZE_SRC_END) {
            assert_int_equal(b.nrows, 0);
            break;
        }
        assert_true(b.nrows >= 1 && b.nrows <= cap);
        out->ncols = sc->ncols;
        for (size_t r = 0; r < b.nrows; r++) {
            if ((out->nrows + 1) * out->ncols > cells_cap) {
                cells_cap = cells_cap ? cells_cap * 2 : 64 * out->ncols;
                out->cell = realloc(out->cell, cells_cap * sizeof *out->cell);
            }
            for (size_t c = 0; c < sc->ncols; c++) {
                const bronze_column *col = &b.cols[c];
                out->cell[out->nrows * out->ncols + c] =
                    bronze_batch_is_valid(col, r) ? render(&sc->fields[c], col, r) : NULL;
            }
            out->nrows++;
        }
        if (!hooked && after_first_batch) {
            hooked = true;
            after_first_batch(arg);
        }
    }
    out->ncols = sc->ncols;
    if (rc < 0) {
        bronze_batch_free(&b);
        vt->close(s);
        rows_free(out);
        return -1;
    }
    out->schema = bronze_schema_clone(sc);
    const char *cur = vt->cursor(s);
    out->cursor = cur ? strdup(cur) : NULL;
    bronze_batch_free(&b);
    vt->close(s);
    return 0;
}

/* Compares an extraction with a reference query's text output (same column
 * count and row order). Float columns: "f:"/"d:" prefixed, the reference
 * is parsed and compared bit for bit. */
static void compare(const rows *got, const char *ref_sql)
{
    PGconn *c = admin();
    exec_ok(c, "SET timezone = 'UTC'");
    PGresult *r = PQexec(c, ref_sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s -> %s", ref_sql, PQerrorMessage(c));
    assert_int_equal((size_t)PQntuples(r), got->nrows);
    assert_int_equal((size_t)PQnfields(r), got->ncols);
    for (size_t i = 0; i < got->nrows; i++)
        for (size_t j = 0; j < got->ncols; j++) {
            const char *g = got->cell[i * got->ncols + j];
            if (PQgetisnull(r, (int)i, (int)j)) {
                if (g)
                    fail_msg("row %zu col %s: expected NULL, got '%.80s'", i + 1,
                             got->schema->fields[j].name, g);
                continue;
            }
            const char *e = PQgetvalue(r, (int)i, (int)j);
            if (!g)
                fail_msg("row %zu col %s: expected '%.80s', got NULL", i + 1,
                         got->schema->fields[j].name, e);
            if (!strncmp(g, "f:", 2)) {
                float a = strtof(g + 2, NULL), b = strtof(e, NULL);
                if (!(memcmp(&a, &b, 4) == 0 || (isnan(a) && isnan(b))))
                    fail_msg("row %zu col %s: float %s vs %s", i + 1, got->schema->fields[j].name,
                             g, e);
            } else if (!strncmp(g, "d:", 2)) {
                double a = strtod(g + 2, NULL), b = strtod(e, NULL);
                if (!(memcmp(&a, &b, 8) == 0 || (isnan(a) && isnan(b))))
                    fail_msg("row %zu col %s: double %s vs %s", i + 1, got->schema->fields[j].name,
                             g, e);
            } else if (strcmp(g, e)) {
                fail_msg("row %zu col %s: expected '%.200s' got '%.200s'", i + 1,
                         got->schema->fields[j].name, e, g);
            }
        }
    PQclear(r);
    PQfinish(c);
}

/* -------------------------------------------------------------- data */

static char g_odbc[1024];
static int g_port;

static const char *k_setup_sql[] = {
    "DROP TABLE IF EXISTS ot",
    "CREATE TABLE ot (id int4 PRIMARY KEY, i2 int2, i8 int8, f4 float4, f8 float8, "
    "n12 numeric(12,3), n38 numeric(38,10), b bool, vc varchar(10), bp char(5), d date, "
    "ts timestamp, tstz timestamptz, tm time, u uuid, o oid, txt text, by bytea, vu varchar)",
    "SET timezone = 'UTC'",
    "INSERT INTO ot VALUES (1, 12, 1234567890123, 1.5, 2.25, 123.456, 1234567890.0123456789, "
    "true, 'héllo✓', 'ab', '2025-01-12', '2025-01-12 14:30:00.123456', "
    "'2025-01-12 14:30:00.654321+00', '14:30:00.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 42, "
    "'short text', '\\x0001ff', 'v1')",
    "INSERT INTO ot (id) VALUES (2)",
    "SET timezone = 'America/Los_Angeles'",
    "INSERT INTO ot VALUES (3, -32768, -9223372036854775808, 'NaN', '-Infinity', -123456789.123, "
    "-9999999999999999999999999999.9999999999, false, '', '', '1969-12-31', "
    "'1900-01-01 00:00:00.000001', '2024-03-10 01:30:00', '00:00:00', "
    "'00000000-0000-0000-0000-000000000000', 4294967295, repeat('😀é', 40000), "
    "decode(repeat('00ff7f80', 60000), 'hex'), repeat('long varchar ', 100))",
    "SET timezone = 'UTC'",
    "INSERT INTO ot VALUES (4, 32767, 9223372036854775807, 3.4028235e38, 4.9e-324, -0.001, "
    "0.0000000001, true, 'ß€', 'abcde', '0044-03-15', '2099-12-31 23:59:59.999999', "
    "'1970-01-01 00:00:00+00', '23:59:59.999999', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 0, '', "
    "'\\x', '')",
    NULL,
};

#define TS_REF(c) "(extract(epoch FROM " c ") * 1000000)::numeric(40,0)::text"
/* columns without the long ones (block fetch) */
static const char *k_block_cols = "id, i2, i8, f4, f8, n12, n38, b, vc, bp, d, ts, tstz, tm, u, o";
static const char *k_block_ref =
    "SELECT id::text, i2::text, i8::text, f4::text, f8::text, n12::text, n38::text, "
    "CASE WHEN b IS NULL THEN NULL WHEN b THEN '1' ELSE '0' END, vc::text, CASE WHEN bp IS NULL "
    "THEN NULL ELSE concat(bp) "
    "END, (d - date '1970-01-01')::text, " TS_REF("ts") ", " TS_REF(
        "tstz") ", "
                "(extract(epoch FROM tm) * 1000000)::numeric(20,0)::text, u::text, o::text FROM ot "
                "ORDER BY id";

static int group_setup(void **state)
{
    (void)state;
    if (server_start()) {
        fprintf(stderr, "test_odbc: could not start a PostgreSQL test server%s\n",
                in_ci() ? " (CI: failing)" : "; skipping the server tests");
        g_have_server = false;
        return in_ci() ? -1 : 0;
    }
    if (access(PSQLODBC, R_OK) != 0 && !getenv("BRONZE_TEST_ODBC")) {
        fprintf(stderr, "test_odbc: %s missing (install odbc-postgresql)%s\n", PSQLODBC,
                in_ci() ? " (CI: failing)" : "; skipping");
        g_have_server = false;
        return in_ci() ? -1 : 0;
    }
    const char *port = strstr(g_conninfo, "port=");
    g_port = port ? atoi(port + 5) : 5432;
    const char *env = getenv("BRONZE_TEST_ODBC");
    if (env && *env)
        snprintf(g_odbc, sizeof g_odbc, "%s", env);
    else
        snprintf(g_odbc, sizeof g_odbc,
                 "DRIVER=" PSQLODBC ";SERVER=127.0.0.1;PORT=%d;DATABASE=postgres;UID=postgres;"
                 "UseDeclareFetch=1;Fetch=500",
                 g_port);
    PGconn *c = admin();
    for (int i = 0; k_setup_sql[i]; i++)
        exec_ok(c, k_setup_sql[i]);
    exec_ok(c, "DROP TABLE IF EXISTS oev");
    exec_ok(c, "CREATE TABLE oev (id int8 PRIMARY KEY, ts timestamp, d date, n numeric(10,2), "
               "s varchar(20))");
    exec_ok(c, "INSERT INTO oev SELECT g, timestamp '2025-01-01' + g * interval '1 hour', "
               "date '2025-01-01' + g, g * 1.25, 'k' || lpad(g::text, 3, '0') "
               "FROM generate_series(1, 100) g");
    PQfinish(c);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_stop();
    return 0;
}

/* -------------------------------------------------------------- tests */

static void test_block_fetch_types(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    char q[512];
    snprintf(q, sizeof q, "SELECT %s FROM ot ORDER BY id", k_block_cols);
    tcfg t;
    tcfg_init(&t, g_odbc, q);
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    if (extract(&t, 3, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    const bronze_type want[] = {
        BRONZE_T_INT32,     BRONZE_T_INT16,   BRONZE_T_INT64,   BRONZE_T_FLOAT,
        BRONZE_T_DOUBLE,    BRONZE_T_DECIMAL, BRONZE_T_DECIMAL, BRONZE_T_STRING,
        BRONZE_T_STRING,    BRONZE_T_STRING,  BRONZE_T_DATE,    BRONZE_T_TIMESTAMP,
        BRONZE_T_TIMESTAMP, BRONZE_T_TIME,    BRONZE_T_STRING,  BRONZE_T_INT64,
    };
    assert_int_equal(got.schema->ncols, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < got.schema->ncols; i++)
        if (got.schema->fields[i].type != want[i])
            fail_msg("column %s: %s, want %s", got.schema->fields[i].name,
                     bronze_type_name(got.schema->fields[i].type), bronze_type_name(want[i]));
    assert_int_equal(got.schema->fields[6].precision, 38);
    assert_int_equal(got.schema->fields[6].scale, 10);
    assert_int_equal(got.nrows, 4);
    assert_int_equal(got.restarts, 0);
    compare(&got, k_block_ref);
    rows_free(&got);
}

static void test_row_mode_long_values(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    char q[512];
    snprintf(q, sizeof q, "SELECT %s, txt, by, vu FROM ot ORDER BY id", k_block_cols);
    tcfg t;
    tcfg_init(&t, g_odbc, q);
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    if (extract(&t, 2, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    size_t nc = got.ncols;
    assert_int_equal(got.schema->fields[nc - 3].type, BRONZE_T_STRING);
    assert_int_equal(got.schema->fields[nc - 2].type, BRONZE_T_BYTES);
    char ref[1024];
    snprintf(ref, sizeof ref, "%.*s, txt, encode(by, 'hex'), vu FROM ot ORDER BY id",
             (int)(strstr(k_block_ref, " FROM ot") - k_block_ref), k_block_ref);
    compare(&got, ref);
    assert_int_equal(strlen(got.cell[2 * nc + nc - 3]), 40000 * 6); /* 4-byte emoji + é */
    rows_free(&got);
}

static void test_truncation_switches_to_row_mode(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    /* psqlodbc describes unsized varchar as 255 characters; row 3 holds 1300 */
    tcfg t;
    tcfg_init(&t, g_odbc, "SELECT id, vu FROM ot ORDER BY id");
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    if (extract(&t, 10, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.restarts, 1);
    compare(&got, "SELECT id::text, vu FROM ot ORDER BY id");
    rows_free(&got);
}

static void test_incremental(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    struct {
        const char *col, *last, *lookback, *want_cursor;
        size_t want_rows;
    } cases[] = {
        {"id", NULL, NULL, "100", 100},
        {"id", "95", NULL, "100", 5},
        {"ts", "2025-01-05T01:00:00", NULL, "2025-01-05T04:00:00", 3},
        {"ts", "2025-01-05T04:00:00", "2 hours", "2025-01-05T04:00:00", 2},
        {"ts", "2025-01-05 02:00:00", "3600", "2025-01-05T04:00:00", 3},
        {"d", "2025-04-08", NULL, "2025-04-11", 3},
        {"d", "2025-04-08", "2", "2025-04-11", 5},
        {"n", "120.00", NULL, "125.00", 4},
        {"s", "k097", NULL, "k100", 3},
        {"S", "'; DROP TABLE oev; --", NULL, "k100", 100},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tcfg t;
        tcfg_init(&t, g_odbc, "SELECT * FROM oev ORDER BY id;");
        tcfg_incremental(&t, cases[i].col, cases[i].last, cases[i].lookback);
        rows got;
        bronze_err err = BRONZE_ERR_INIT;
        if (extract(&t, 7, &got, &err, NULL, NULL))
            fail_msg("case %zu: %s", i, err.msg);
        if (got.nrows != cases[i].want_rows)
            fail_msg("case %zu: %zu rows, want %zu", i, got.nrows, cases[i].want_rows);
        assert_string_equal(got.cursor, cases[i].want_cursor);
        rows_free(&got);
    }
    PGconn *c = admin();
    PGresult *r = PQexec(c, "SELECT count(*) FROM oev");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "100");
    PQclear(r);
    PQfinish(c);
    /* errors: missing column, unreadable cursor, month lookback */
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    tcfg_init(&t, g_odbc, "SELECT * FROM oev");
    tcfg_incremental(&t, "nope", "1", NULL);
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_non_null(strstr(err.msg, "incremental_key"));
    tcfg_incremental(&t, "ts", "yesterday", NULL);
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_RUNTIME);
    assert_non_null(strstr(err.msg, "does not read as"));
    tcfg_incremental(&t, "ts", "2025-01-01T00:00:00", "1 month");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
}

static void test_errors(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    char conn[1024];
    /* bad SQL */
    tcfg_init(&t, g_odbc, "SELEC 1");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_RUNTIME);
    assert_non_null(strstr(err.msg, "syntax error"));
    /* a value that does not fit the described DECIMAL: psqlodbc says numeric(28,6) */
    tcfg_init(&t, g_odbc, "SELECT 1.1234567::numeric AS x");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_non_null(strstr(err.msg, "row 1, column 'x'"));
    assert_non_null(strstr(err.msg, "DECIMAL(28,6)"));
    /* wrong password: runtime at once, no secret */
    snprintf(conn, sizeof conn,
             "DRIVER=" PSQLODBC ";SERVER=127.0.0.1;PORT=%d;DATABASE=postgres;UID=bronze_pw;"
             "PWD={Wr0ng;Secret}",
             g_port);
    tcfg_init(&t, conn, "SELECT 1");
    t.cfg.run.max_retries = 3;
    time_t t0 = time(NULL);
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_true(time(NULL) - t0 < 3);
    assert_int_equal(err.kind, BRONZE_E_RUNTIME);
    assert_null(strstr(err.msg, "Wr0ng"));
    assert_non_null(strstr(err.msg, "password authentication failed"));
    /* the right password */
    snprintf(conn, sizeof conn,
             "DRIVER=" PSQLODBC ";SERVER=127.0.0.1;PORT=%d;DATABASE=postgres;UID=bronze_pw;"
             "PWD=bronze-test-secret",
             g_port);
    tcfg_init(&t, conn, "SELECT 7 AS seven");
    if (extract(&t, 7, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_string_equal(got.cell[0], "7");
    rows_free(&got);
    /* server down: transient, retried */
    snprintf(conn, sizeof conn,
             "DRIVER=" PSQLODBC ";SERVER=127.0.0.1;PORT=1;DATABASE=postgres;UID=postgres;"
             "PWD=hunter2-secret");
    tcfg_init(&t, conn, "SELECT 1");
    t.cfg.run.max_retries = 1;
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_RETRY);
    assert_non_null(strstr(err.msg, "2 attempt"));
    assert_null(strstr(err.msg, "hunter2"));
    /* no such driver: config */
    tcfg_init(&t, "DRIVER=/nonexistent/driver.so;SERVER=x", "SELECT 1");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
}

static void test_dry_run_and_dupes(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    tcfg_init(&t, g_odbc, "SELECT id, id, i2 AS id FROM ot ORDER BY 1");
    if (extract(&t, 7, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_string_equal(got.schema->fields[1].name, "id_2");
    assert_string_equal(got.schema->fields[2].name, "id_3");
    assert_int_equal(got.nrows, 4);
    rows_free(&got);
    t.ctx.dry_run = true;
    if (extract(&t, 7, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.nrows, 0);
    assert_int_equal(got.schema->ncols, 3);
    rows_free(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_fetch_types),
        cmocka_unit_test(test_row_mode_long_values),
        cmocka_unit_test(test_truncation_switches_to_row_mode),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_dry_run_and_dupes),
    };
    return cmocka_run_group_tests_name("odbc", tests, group_setup, group_teardown);
}
