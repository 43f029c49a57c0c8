/*
 * test_postgres.c - the PostgreSQL source against a real server.
 *
 * Uses BRONZE_TEST_PG (a conninfo) when set, else starts a throwaway server
 * with scripts/pg-test-server.sh (run from the repo root, as `make unit`
 * does) and stops it at the end. With CI set, no server is a failure, never
 * a skip. Every decoded value is compared with a text form the server
 * computes itself (epoch micros, day numbers, ::text, hex).
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
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "batch/names.h"
#include "batch/batch.h"
#include "config/config.h"
#include "format/value_text.h"
#include "source/db_common.h"
#include "source/source.h"

#define DB_TEST_NAME "test_postgres"
#define DB_TEST_CONN_ENV "TEST_PG_CONN"
#define DB_TEST_VT bronze_source_postgres
#include "db_test_util.h"

/* -------------------------------------------------------------- data */

static const char *k_setup_sql[] = {
    "DROP TABLE IF EXISTS bt",
    "DROP TYPE IF EXISTS mood",
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
    "CREATE TABLE bt (id int4 PRIMARY KEY, c_i2 int2, c_i4 int4, c_i8 int8, c_f4 float4, "
    "c_f8 float8, c_n12 numeric(12,3), c_n38 numeric(38,10), c_nu numeric, c_nbig numeric(50,5), "
    "c_nneg numeric(4,-3), c_bool bool, c_text text, c_vc varchar(10), c_bp char(5), c_name name, "
    "c_char \"char\", c_date date, c_ts timestamp, c_tstz timestamptz, c_time time, c_uuid uuid, "
    "c_json json, c_jsonb jsonb, c_bytea bytea, c_oid oid, c_arr int4[], c_intv interval, "
    "c_timetz timetz, c_mood mood, c_inet inet)",
    "SET timezone = 'UTC'",
    "INSERT INTO bt VALUES (1, 12, 1234, 1234567890123, 1.5, 2.25, 123.456, "
    "1234567890.0123456789, 3.14159, 12345.6789, 12000, true, 'hello', 'world', 'ab', 'nm', 'x', "
    "'2025-01-12', '2025-01-12 14:30:00.123456', '2025-01-12 14:30:00.123456+00', '14:30:00.5', "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\":  [1, 2, 3]}', '{\"b\": 1, \"a\": \"x\"}', "
    "'\\x0001ff', 42, '{1,NULL,3}', '1 year 2 mons 3 days 04:05:06.789', '12:00:00+05', 'happy', "
    "'192.168.0.1/24')",
    "INSERT INTO bt (id) VALUES (2)",
    "SET timezone = 'America/Los_Angeles'",
    "INSERT INTO bt VALUES (3, -32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity', "
    "-123456789.123, 9999999999999999999999999999.9999999999, "
    "'123456789012345678901234567890123456789012345678901234567890.00000000000000000000000000000"
    "0000000000001', -123456789012345678901234567890123456789012345.12345, -9999000, false, '', "
    "'héllo✓ü€', '', '', 'a', '-infinity', 'infinity', '2024-03-10 02:30:00', '23:59:59.999999', "
    "'00000000-0000-0000-0000-000000000000', 'null', '[]', '\\x', 0, '{}', '-1 days', "
    "'00:00:00-12', 'sad', '::1')",
    "SET timezone = 'Asia/Kolkata'",
    "INSERT INTO bt VALUES (4, 32767, 2147483647, 9223372036854775807, '3.4028235e38', "
    "'4.9e-324', 999999999.999, -0.0000000001, 'NaN', 0, 0, true, '😀 emoji', 'ascii', 'abcde', "
    "'name_with_63_chars_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'Z', '1969-12-31', "
    "'1900-01-01 00:00:00.000001', '2025-01-12 20:00:00.654321', '00:00:00', "
    "'ffffffff-ffff-ffff-ffff-ffffffffffff', '\"str\"', '{\"k\": [true, null, 1.5e10]}', "
    "decode(repeat('00ff7f80', 393216), 'hex'), 4294967295, '{{1,2},{3,4}}', "
    "'-178000000 years', '23:59:59.999999+14', 'ok', '10.0.0.0/8')",
    "SET timezone = 'UTC'",
    "INSERT INTO bt VALUES (5, 0, 0, 0, '-0', 'Infinity', -0.001, "
    "-9999999999999999999999999999.9999999999, 'Infinity', 0.00001, -3000, false, 'tab\tnl\n', "
    "'ß', ' ', 'x', ' ', '0044-03-15 BC', '-infinity', '-infinity', '12:00:00', "
    "'123e4567-e89b-12d3-a456-426614174000', '1e1000', '{}', '\\x00', 1, '{7,8}', "
    "'00:00:00.000001', '00:00:00+00', 'sad', '0.0.0.0')",
    "INSERT INTO bt VALUES (6, 1, 1, 1, 1e-45, 1e308, 0, 0.0000000001, '-Infinity', 1, 1000, true, "
    "'x', 'y', 'z', 'w', 'v', 'infinity', '4713-01-01 00:00:00 BC', '294247-01-01 00:00:00', "
    "'23:59:59.999999', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '[1,2]', '1', '\\xdeadbeef', 7, "
    "'{}', '1 mon', '01:02:03-01:30', 'ok', '1.2.3.4')",
    "INSERT INTO bt VALUES (7, 7, 7, 7, 7, 7, 7, 7, "
    "'-0.00000000000000000000000000000000000000000000000000000000000000000000000000000000001', "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '1970-01-01', '1970-01-01 00:00:00', "
    "'1969-12-31 23:59:59.999999+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL)",
    NULL,
};

/* Server-side reference forms, one per column of bt (see render()). */
#define TS_REF(c)                                                                                  \
    "CASE WHEN isfinite(" c ") THEN (extract(epoch FROM " c ") * 1000000)::numeric(40,0)::text "   \
    "ELSE " c "::text END"
static const char *k_ref_sql =
    "SELECT id::text, c_i2::text, c_i4::text, c_i8::text, c_f4::text, c_f8::text, c_n12::text, "
    "c_n38::text, c_nu::text, c_nbig::text, c_nneg::text, c_bool::text, c_text, c_vc::text, "
    "CASE WHEN c_bp IS NULL THEN NULL ELSE concat(c_bp) END, c_name::text, c_char::text, "
    "CASE WHEN isfinite(c_date) THEN (c_date - date '1970-01-01')::text ELSE c_date::text "
    "END, " TS_REF("c_ts") ", " TS_REF(
        "c_tstz") ", (extract(epoch FROM c_time) * 1000000)::numeric(20,0)::text, "
                  "c_uuid::text, c_json::text, c_jsonb::text, "
                  "encode(c_bytea, 'hex'), c_oid::text, c_arr::text, "
                  "c_intv::text, c_timetz::text, c_mood::text, c_inet::text "
                  "FROM bt ORDER BY id";

static int group_setup(void **state)
{
    (void)state;
    if (server_start()) {
        fprintf(stderr, "test_postgres: could not start a PostgreSQL test server%s\n",
                in_ci() ? " (CI: failing)" : "; skipping the server tests");
        g_have_server = false;
        return in_ci() ? -1 : 0;
    }
    PGconn *c = admin();
    for (int i = 0; k_setup_sql[i]; i++)
        exec_ok(c, k_setup_sql[i]);
    exec_ok(c, "DROP TABLE IF EXISTS ev");
    exec_ok(c, "CREATE TABLE ev (id int8 PRIMARY KEY, ts timestamptz, tsl timestamp, d date, "
               "n numeric(10,2), nu numeric, s text, iv interval)");
    exec_ok(c, "INSERT INTO ev SELECT g, timestamptz '2025-01-01 00:00:00+00' + g * interval "
               "'1 hour', timestamp '2025-01-01' + g * interval '1 hour 0.25 seconds', "
               "date '2025-01-01' + g, g * 1.25, (g * 10)::numeric, 'k' || lpad(g::text, 3, '0'), "
               "g * interval '1 minute' FROM generate_series(1, 100) g");
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

static void test_all_types_exact(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    tcfg_init(&t, g_conninfo, "SELECT * FROM bt ORDER BY id;  -- trailing comment");
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    if (extract(&t, 3, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    const struct {
        const char *name;
        bronze_type type;
        int p, s;
    } want[] = {
        {"id", BRONZE_T_INT32, 0, 0},        {"c_i2", BRONZE_T_INT16, 0, 0},
        {"c_i4", BRONZE_T_INT32, 0, 0},      {"c_i8", BRONZE_T_INT64, 0, 0},
        {"c_f4", BRONZE_T_FLOAT, 0, 0},      {"c_f8", BRONZE_T_DOUBLE, 0, 0},
        {"c_n12", BRONZE_T_DECIMAL, 12, 3},  {"c_n38", BRONZE_T_DECIMAL, 38, 10},
        {"c_nu", BRONZE_T_STRING, 0, 0},     {"c_nbig", BRONZE_T_STRING, 0, 0},
        {"c_nneg", BRONZE_T_DECIMAL, 7, 0},  {"c_bool", BRONZE_T_BOOL, 0, 0},
        {"c_text", BRONZE_T_STRING, 0, 0},   {"c_vc", BRONZE_T_STRING, 0, 0},
        {"c_bp", BRONZE_T_STRING, 0, 0},     {"c_name", BRONZE_T_STRING, 0, 0},
        {"c_char", BRONZE_T_STRING, 0, 0},   {"c_date", BRONZE_T_DATE, 0, 0},
        {"c_ts", BRONZE_T_TIMESTAMP, 0, 0},  {"c_tstz", BRONZE_T_TIMESTAMPTZ, 0, 0},
        {"c_time", BRONZE_T_TIME, 0, 0},     {"c_uuid", BRONZE_T_STRING, 0, 0},
        {"c_json", BRONZE_T_JSON, 0, 0},     {"c_jsonb", BRONZE_T_JSON, 0, 0},
        {"c_bytea", BRONZE_T_BYTES, 0, 0},   {"c_oid", BRONZE_T_INT64, 0, 0},
        {"c_arr", BRONZE_T_STRING, 0, 0},    {"c_intv", BRONZE_T_STRING, 0, 0},
        {"c_timetz", BRONZE_T_STRING, 0, 0}, {"c_mood", BRONZE_T_STRING, 0, 0},
        {"c_inet", BRONZE_T_STRING, 0, 0},
    };
    assert_int_equal(got.schema->ncols, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < got.schema->ncols; i++) {
        const bronze_field *f = &got.schema->fields[i];
        assert_string_equal(f->name, want[i].name);
        if (f->type != want[i].type)
            fail_msg("column %s: type %s, want %s", f->name, bronze_type_name(f->type),
                     bronze_type_name(want[i].type));
        if (f->type == BRONZE_T_DECIMAL) {
            assert_int_equal(f->precision, want[i].p);
            assert_int_equal(f->scale, want[i].s);
        }
        assert_true(f->nullable);
    }
    assert_int_equal(got.nrows, 7);
    compare(&got, k_ref_sql);
    /* spot checks independent of the reference query */
    assert_string_equal(got.cell[2 * got.ncols + 17], "-infinity"); /* row 3 c_date */
    assert_string_equal(got.cell[2 * got.ncols + 18], "infinity");  /* row 3 c_ts */
    assert_string_equal(got.cell[3 * got.ncols + 17], "-1");        /* 1969-12-31 */
    assert_string_equal(got.cell[0 * got.ncols + 19], "1736692200123456");
    assert_string_equal(got.cell[2 * got.ncols + 19], "1710066600000000"); /* 02:30 PST-8 */
    assert_string_equal(got.cell[3 * got.ncols + 19], "1736692200654321"); /* 20:00 IST */
    assert_int_equal(strlen(got.cell[3 * got.ncols + 24]), 2 * 1572864);   /* 1.5 MiB bytea */
    assert_string_equal(got.cell[2 * got.ncols + 14], "     ");            /* char(5) '' */
    assert_string_equal(got.cell[0 * got.ncols + 14], "ab   ");
    assert_string_equal(got.cell[2 * got.ncols + 12], ""); /* empty text */
    assert_null(got.cell[1 * got.ncols + 12]);             /* NULL text */
    assert_string_equal(got.cell[2 * got.ncols + 7], "9999999999999999999999999999.9999999999");
    assert_string_equal(got.cell[0 * got.ncols + 22], "{\"a\":  [1, 2, 3]}");
    assert_null(got.cursor); /* not incremental */
    rows_free(&got);
}

static void test_duplicate_names(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    tcfg_init(&t, g_conninfo, "SELECT id AS x, c_i8 AS x, 1, 2, c_text AS x_2 FROM bt ORDER BY id");
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    if (extract(&t, 100, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    /* the source reports the query's names; the output names come from the
     * one function every source kind goes through (batch/names.h) */
    assert_string_equal(got.schema->fields[1].name, "x");
    assert_string_equal(got.schema->fields[3].name, "?column?");
    size_t renamed;
    bronze_schema *out = bronze_schema_output_names(got.schema, &renamed);
    assert_non_null(out);
    assert_int_equal(renamed, 2);
    assert_string_equal(out->fields[0].name, "x");
    assert_string_equal(out->fields[1].name, "x_3");
    assert_string_equal(out->fields[2].name, "?column?");
    assert_string_equal(out->fields[3].name, "?column?_2");
    assert_string_equal(out->fields[4].name, "x_2");
    bronze_schema_free(out);
    compare(&got, "SELECT id::text, c_i8::text, '1', '2', c_text FROM bt ORDER BY id");
    rows_free(&got);
}

static void test_empty_and_dry_run(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    tcfg_init(&t, g_conninfo, "SELECT id, ts FROM ev WHERE false");
    tcfg_incremental(&t, "ts", "2025-01-01T05:00:00Z", NULL);
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    if (extract(&t, 10, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.nrows, 0);
    assert_int_equal(got.schema->ncols, 2);
    assert_int_equal(got.schema->fields[1].type, BRONZE_T_TIMESTAMPTZ);
    assert_string_equal(got.cursor, "2025-01-01T05:00:00Z"); /* carried forward verbatim */
    rows_free(&got);

    /* dry run: describes, reads nothing */
    tcfg_init(&t, g_conninfo, "SELECT * FROM ev");
    t.ctx.dry_run = true;
    if (extract(&t, 10, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.nrows, 0);
    assert_int_equal(got.schema->ncols, 8);
    rows_free(&got);
    /* dry run still reports a bad query */
    tcfg_init(&t, g_conninfo, "SELECT nope FROM ev");
    t.ctx.dry_run = true;
    assert_int_equal(extract(&t, 10, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_RUNTIME);
}

static void test_incremental_filter_and_cursor_forms(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    /* full load with incremental on still tracks the maximum */
    tcfg_init(&t, g_conninfo, "SELECT * FROM ev ORDER BY id");
    tcfg_incremental(&t, "ts", NULL, NULL);
    if (extract(&t, 7, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.nrows, 100);
    assert_string_equal(got.cursor, "2025-01-05T04:00:00Z");
    rows_free(&got);

    /* filter on timestamptz; cursor given with an offset */
    tcfg_incremental(&t, "ts", "2025-01-05T01:30:00+00:00", NULL);
    if (extract(&t, 7, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.nrows, 3); /* ids 98..100 */
    assert_string_equal(got.cell[0], "98");
    assert_string_equal(got.cursor, "2025-01-05T04:00:00Z");
    rows_free(&got);

    struct {
        const char *col, *last, *want_cursor;
        size_t want_rows;
    } cases[] = {
        {"tsl", "2025-01-05 02:00:24.5", "2025-01-05T04:00:25", 2},
        {"tsl", NULL, "2025-01-05T04:00:25", 100},
        {"d", "2025-04-05", "2025-04-11", 6},
        {"id", "95", "100", 5},
        {"n", "120.00", "125.00", 4},
        {"nu", "990", "1000", 1},
        {"nu", "99.5", "1000", 91},
        {"s", "k097", "k100", 3},
        {"ID", "98", "100", 2}, /* case-insensitive column match */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tcfg_init(&t, g_conninfo, "SELECT * FROM ev ORDER BY id");
        tcfg_incremental(&t, cases[i].col, cases[i].last, NULL);
        if (extract(&t, 7, &got, &err, NULL, NULL))
            fail_msg("case %zu: %s", i, err.msg);
        if (got.nrows != cases[i].want_rows)
            fail_msg("case %zu (%s > %s): %zu rows, want %zu", i, cases[i].col, cases[i].last,
                     got.nrows, cases[i].want_rows);
        assert_string_equal(got.cursor, cases[i].want_cursor);
        rows_free(&got);
    }
    /* an incremental query ending in ';' and a comment, cursor on a renamed column */
    tcfg_init(&t, g_conninfo,
              "SELECT id AS \"Key\", s FROM ev WHERE s <> '--not a comment' ORDER BY id;\n"
              "-- done\n/* and a block */");
    tcfg_incremental(&t, "Key", "97", NULL);
    if (extract(&t, 7, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.nrows, 3);
    assert_string_equal(got.cursor, "100");
    rows_free(&got);
}

static void test_cursor_injection_is_harmless(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    const char *evil = "'; DROP TABLE ev; --";
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    /* on a text column: just a value; every 'k...' sorts after "'" */
    tcfg_init(&t, g_conninfo, "SELECT id, s FROM ev ORDER BY id");
    tcfg_incremental(&t, "s", evil, NULL);
    if (extract(&t, 50, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.nrows, 100);
    rows_free(&got);
    /* on a timestamp column: the server rejects the literal */
    tcfg_incremental(&t, "id", evil, NULL);
    t.cfg.db.base_query = "SELECT id, ts FROM ev";
    t.cfg.db.cursor_column = "ts";
    assert_int_equal(extract(&t, 50, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_RUNTIME);
    assert_non_null(strstr(err.msg, "does not read as timestamp with time zone"));
    PGconn *c = admin();
    PGresult *r = PQexec(c, "SELECT count(*) FROM ev");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "100");
    PQclear(r);
    PQfinish(c);
}

static void test_lookback(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    struct {
        const char *col, *last, *lookback, *want_cursor;
        size_t want_rows;
    } cases[] = {
        {"ts", "2025-01-05T04:00:00Z", "2 hours", "2025-01-05T04:00:00Z", 2},
        {"ts", "2025-01-05T02:00:00Z", "3 hours", "2025-01-05T04:00:00Z", 5},
        {"ts", "2025-01-05T02:00:00Z", "3600", "2025-01-05T04:00:00Z", 3},
        {"d", "2025-04-08", "2", "2025-04-11", 5},
        {"id", "100", "10", "100", 10},
        {"id", "95", "10", "100", 15},
        {"n", "120.00", "2.5", "125.00", 6},
        {"tsl", "2025-01-05 04:00:25", "1 day", "2025-01-05 04:00:25", 24},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tcfg_init(&t, g_conninfo, "SELECT * FROM ev ORDER BY id");
        tcfg_incremental(&t, cases[i].col, cases[i].last, cases[i].lookback);
        if (extract(&t, 7, &got, &err, NULL, NULL))
            fail_msg("case %zu: %s", i, err.msg);
        if (got.nrows != cases[i].want_rows)
            fail_msg("case %zu: %zu rows, want %zu", i, got.nrows, cases[i].want_rows);
        assert_string_equal(got.cursor, cases[i].want_cursor);
        rows_free(&got);
    }
    /* an interval lookback on a text column is a config error */
    tcfg_init(&t, g_conninfo, "SELECT * FROM ev");
    tcfg_incremental(&t, "s", "k001", "2 hours");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_non_null(strstr(err.msg, "lookback"));
}

static void test_cursor_column_errors(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    tcfg_init(&t, g_conninfo, "SELECT id, ts FROM ev");
    tcfg_incremental(&t, "updated_at", "2025-01-01", NULL);
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_non_null(strstr(err.msg, "source.db.incremental.cursor_column"));
    assert_non_null(strstr(err.msg, "incremental_key"));
    assert_non_null(strstr(err.msg, "updated_at"));
    /* full load: the same check */
    tcfg_incremental(&t, "updated_at", NULL, NULL);
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    /* a cursor column without an order */
    tcfg_init(&t, g_conninfo, "SELECT id, iv FROM ev");
    tcfg_incremental(&t, "iv", NULL, NULL);
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_non_null(strstr(err.msg, "interval"));
}

static void test_bad_sql(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    tcfg_init(&t, g_conninfo, "SELEC id FROM ev");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_RUNTIME);
    assert_non_null(strstr(err.msg, "syntax error"));
    assert_non_null(strstr(err.msg, "42601"));
    tcfg_init(&t, g_conninfo, "SELECT * FROM no_such_table");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_RUNTIME);
    assert_non_null(strstr(err.msg, "no_such_table"));
    /* an error while the rows stream */
    tcfg_init(&t, g_conninfo, "SELECT id, 1 / (id - 50) AS boom FROM ev ORDER BY id");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_RUNTIME);
    assert_non_null(strstr(err.msg, "division by zero"));
    /* NaN in a DECIMAL column: fails naming row and column */
    tcfg_init(&t, g_conninfo,
              "SELECT x::numeric(10,2) AS amount FROM (VALUES (1), (2), ('NaN'::numeric)) v(x)");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_non_null(strstr(err.msg, "row 3"));
    assert_non_null(strstr(err.msg, "'amount'"));
    assert_non_null(strstr(err.msg, "cast"));
    /* a timestamp beyond what micros since 1970 can hold */
    tcfg_init(&t, g_conninfo,
              "SELECT x AS late FROM (VALUES (timestamp '2000-01-01'), "
              "(timestamp '294276-12-31 23:59:59')) v(x)");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_non_null(strstr(err.msg, "row 2"));
    assert_non_null(strstr(err.msg, "'late'"));
}

static void test_wrong_password(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    const char *port = strstr(g_conninfo, "port=");
    assert_non_null(port);
    int p = atoi(port + 5);
    char conn[512];
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    /* keyword form */
    snprintf(conn, sizeof conn,
             "host=127.0.0.1 port=%d dbname=postgres user=bronze_pw password=Wr0ngPassw0rd-xyz", p);
    tcfg_init(&t, conn, "SELECT 1");
    t.cfg.run.max_retries = 3;
    time_t t0 = time(NULL);
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_true(time(NULL) - t0 < 3); /* no retries for auth */
    assert_int_equal(err.kind, BRONZE_E_RUNTIME);
    assert_null(strstr(err.msg, "Wr0ngPassw0rd"));
    assert_non_null(strstr(err.msg, "bronze_pw"));
    assert_non_null(strstr(err.msg, "password authentication failed"));
    /* URI form */
    snprintf(conn, sizeof conn, "postgresql://bronze_pw:Wr0ngPassw0rd-xyz@127.0.0.1:%d/postgres",
             p);
    tcfg_init(&t, conn, "SELECT 1");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_RUNTIME);
    assert_null(strstr(err.msg, "Wr0ngPassw0rd"));
    /* the right password works */
    snprintf(conn, sizeof conn, "postgres://bronze_pw:bronze-test-secret@127.0.0.1:%d/postgres", p);
    tcfg_init(&t, conn, "SELECT 1 AS one");
    if (extract(&t, 7, &got, &err, NULL, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.nrows, 1);
    rows_free(&got);
    /* an unparsable string: config error that does not quote it */
    tcfg_init(&t, "host=127.0.0.1 password=S3cr3t-Piece oops", "SELECT 1");
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_null(strstr(err.msg, "S3cr3t"));
    assert_null(strstr(err.msg, "oops"));
}

/* Strings that libpq would take apart so that the password lands in an
 * option it echoes: config errors, quoting nothing, never retried. No server
 * is needed: they fail before any connect. */
static void test_conninfo_refused_without_echo(void **state)
{
    (void)state;
    static const char *bad[] = {
        "postgresql://user:S3cretP4ss",          /* no @host: the password is the port */
        "postgresql://user:S3cretP4ss/postgres", /* the same with a database */
        "postgresql://bronze_pw:p@S3cretP4ss@127.0.0.1:5432/postgres", /* unescaped @ */
        "host=127.0.0.1 port=S3cretP4ss user=u", /* a port that is no number */
        "host=127.0.0.1 user=u password=S3cretP4ss sslmode=S3cretP4ss", /* echoed option */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tcfg t;
        rows got;
        bronze_err err = BRONZE_ERR_INIT;
        tcfg_init(&t, bad[i], "SELECT 1");
        t.cfg.run.max_retries = 3;
        time_t t0 = time(NULL);
        assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
        assert_true(time(NULL) - t0 < 2); /* not retried */
        if (err.kind != BRONZE_E_CONFIG || strstr(err.msg, "S3cret") || strstr(err.msg, "***"))
            fail_msg("%s: kind %d: %s", bad[i], err.kind, err.msg);
        assert_non_null(strstr(err.msg, "TEST_PG_CONN"));
    }
    /* a short password does not mangle messages: nothing searches them */
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    tcfg_init(&t, "postgresql://u:p@127.0.0.1:1/postgres", "SELECT 1");
    t.cfg.run.max_retries = 0;
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    assert_null(strstr(err.msg, "***"));
    assert_non_null(strstr(err.msg, "postgres"));
}

/* A server that accepts TCP connections and never answers: the connection
 * set-up ends after connect_timeout (run.timeout_seconds), as a transient
 * error, although it is not libpq's blocking call that waits. */
static void test_mute_server_times_out(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0); /* the kernel completes the handshake */
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    char conn[128];
    snprintf(conn, sizeof conn, "host=127.0.0.1 port=%d dbname=x user=y", ntohs(a.sin_port));
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    tcfg_init(&t, conn, "SELECT 1");
    t.cfg.run.timeout_seconds = 2;
    t.cfg.run.max_retries = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    close(fd);
    assert_int_equal(err.kind, BRONZE_E_RETRY);
    assert_non_null(strstr(err.msg, "timeout expired"));
    assert_true(secs >= 1.9 && secs < 4.0);
}

static void test_server_down_retries(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    /* port 1 on localhost: nothing listens */
    tcfg_init(&t, "host=127.0.0.1 port=1 dbname=postgres user=postgres password=hunter2-secret",
              "SELECT 1");
    t.cfg.run.max_retries = 2;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(extract(&t, 7, &got, &err, NULL, NULL), -1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_int_equal(err.kind, BRONZE_E_RETRY);
    assert_non_null(strstr(err.msg, "3 attempt"));
    assert_null(strstr(err.msg, "hunter2"));
    /* backoff: 0.25..0.5 s then 0.5..1 s */
    assert_true(secs >= 0.7 && secs < 5.0);
}

/* Kills the extraction's backend from another session (57P01). */
static void kill_backend(void *arg)
{
    (void)arg;
    PGconn *c = admin();
    exec_ok(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
               "'bronze-extract' AND query LIKE 'COPY%'");
    PQfinish(c);
    usleep(100000);
}

static void test_midstream_restart(void **state)
{
    (void)state;
    SKIP_WITHOUT_SERVER();
    tcfg t;
    rows got;
    bronze_err err = BRONZE_ERR_INIT;
    const char *q = "SELECT g AS n, repeat('x', 200) AS pad FROM generate_series(1, 300000) g";
    tcfg_init(&t, g_conninfo, q);
    tcfg_incremental(&t, "n", NULL, NULL);
    t.cfg.run.max_retries = 2;
    if (extract(&t, 1000, &got, &err, kill_backend, NULL))
        fail_msg("%s", err.msg);
    assert_int_equal(got.restarts, 1);
    assert_int_equal(got.nrows, 300000);
    assert_string_equal(got.cell[0], "1");
    assert_string_equal(got.cell[(got.nrows - 1) * got.ncols], "300000");
    assert_string_equal(got.cursor, "300000");
    rows_free(&got);
    /* no retries left: the error surfaces as transient */
    t.cfg.run.max_retries = 0;
    assert_int_equal(extract(&t, 1000, &got, &err, kill_backend, NULL), -1);
    assert_int_equal(err.kind, BRONZE_E_RETRY);
    assert_true(strstr(err.msg, "terminat") || strstr(err.msg, "closed"));
}

static void test_registry_picks_postgres(void **state)
{
    (void)state;
    bronze_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.type = BRONZE_SRC_DB;
    bronze_err err = BRONZE_ERR_INIT;
    const char *pg[] = {"postgresql://u@h/db", "postgres://h", "host=h dbname=d"};
    for (size_t i = 0; i < 3; i++) {
        cfg.env.conn_str = (char *)pg[i];
        assert_ptr_equal(bronze_source_for(&cfg, &err), &bronze_source_postgres);
    }
    cfg.env.conn_str = "DRIVER=/x.so;SERVER=h";
    assert_ptr_equal(bronze_source_for(&cfg, &err), &bronze_source_odbc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_picks_postgres),
        cmocka_unit_test(test_all_types_exact),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_empty_and_dry_run),
        cmocka_unit_test(test_incremental_filter_and_cursor_forms),
        cmocka_unit_test(test_cursor_injection_is_harmless),
        cmocka_unit_test(test_lookback),
        cmocka_unit_test(test_cursor_column_errors),
        cmocka_unit_test(test_bad_sql),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_conninfo_refused_without_echo),
        cmocka_unit_test(test_mute_server_times_out),
        cmocka_unit_test(test_server_down_retries),
        cmocka_unit_test(test_midstream_restart),
    };
    return cmocka_run_group_tests_name("postgres", tests, group_setup, group_teardown);
}
