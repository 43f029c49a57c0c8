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

#include "batch/names.h"
#include "batch/batch.h"
#include "config/config.h"
#include "format/value_text.h"
#include "source/db_common.h"
#include "source/source.h"

#define PSQLODBC "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so"

#define DB_TEST_NAME "test_odbc"
#define DB_TEST_CONN_ENV "TEST_ODBC_CONN"
#define DB_TEST_VT bronze_source_odbc
#include "db_test_util.h"

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
    "CASE WHEN b IS NULL THEN NULL WHEN b THEN 'true' ELSE 'false' END, vc::text, CASE WHEN bp IS "
    "NULL "
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
        BRONZE_T_INT32,       BRONZE_T_INT16,   BRONZE_T_INT64,   BRONZE_T_FLOAT,
        BRONZE_T_DOUBLE,      BRONZE_T_DECIMAL, BRONZE_T_DECIMAL, BRONZE_T_BOOL,
        BRONZE_T_STRING,      BRONZE_T_STRING,  BRONZE_T_DATE,    BRONZE_T_TIMESTAMP,
        BRONZE_T_TIMESTAMPTZ, BRONZE_T_TIME,    BRONZE_T_STRING,  BRONZE_T_INT64,
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
    /* psqlodbc says numeric(28,6) for unconstrained numeric: exact text, as natively */
    tcfg_init(&t, g_odbc, "SELECT 1.1234567::numeric AS x");
    if (extract(&t, 7, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.schema->fields[0].type, BRONZE_T_STRING);
    assert_string_equal(got.cell[0], "1.1234567");
    rows_free(&got);
    /* a malformed string (unterminated brace): config error, nothing quoted */
    tcfg_init(&t, "DRIVER={PostgreSQL Unicode;UID=u;PWD=Br4ce-Secret", "SELECT 1");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_null(strstr(err.msg, "Br4ce"));
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
    size_t renamed;
    bronze_schema *out = bronze_schema_output_names(got.schema, &renamed);
    assert_non_null(out);
    assert_int_equal(renamed, 2);
    assert_string_equal(out->fields[1].name, "id_2");
    assert_string_equal(out->fields[2].name, "id_3");
    assert_string_equal(out->fields[2].source_name, "id");
    bronze_schema_free(out);
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
