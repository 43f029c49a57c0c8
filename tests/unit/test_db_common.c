/*
 * test_db_common.c - the database sources' shared helpers: query trimming and
 * wrapping, lookback, interval text, decimal text, numeric-text order,
 * cursor maximum and its text, bind text, backoff and secret scrubbing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "format/value_text.h"
#include "source/db_common.h"
#include "util/datetime.h"
#include "util/retry.h"

static void check_trim(const char *q, const char *want)
{
    size_t n = bronze_dbc_query_trimmed_len(q);
    if (n != strlen(want) || strncmp(q, want, n))
        fail_msg("trim(%s) = '%.*s', want '%s'", q, (int)n, q, want);
}

static void test_trim(void **state)
{
    (void)state;
    check_trim("SELECT 1", "SELECT 1");
    check_trim("SELECT 1;", "SELECT 1");
    check_trim("SELECT 1 ;  \n\t", "SELECT 1");
    check_trim("SELECT 1; -- done", "SELECT 1");
    check_trim("SELECT 1 -- c1\n-- c2\n;;", "SELECT 1");
    check_trim("SELECT 1 /* a /* nested */ b */ ;", "SELECT 1");
    check_trim("SELECT '--x' AS a", "SELECT '--x' AS a");
    check_trim("SELECT '--x'; -- real", "SELECT '--x'");
    check_trim("SELECT 'it''s -- no' -- yes", "SELECT 'it''s -- no'");
    check_trim("SELECT E'\\' -- still a string' x", "SELECT E'\\' -- still a string' x");
    check_trim("SELECT \"a--b\" FROM t", "SELECT \"a--b\" FROM t");
    check_trim("SELECT $$ -- body; $$ AS b;", "SELECT $$ -- body; $$ AS b");
    check_trim("SELECT $tag$ ;-- $x$ $tag$;", "SELECT $tag$ ;-- $x$ $tag$");
    check_trim("SELECT $1 -- param", "SELECT $1");
    check_trim("SELECT 1 ORDER BY 1 LIMIT 5;\n", "SELECT 1 ORDER BY 1 LIMIT 5");
    check_trim("SELECT `a--b` FROM t -- mysql", "SELECT `a--b` FROM t");
    check_trim("-- only a comment", "");
    check_trim("", "");
    check_trim("SELECT 'unterminated -- x", "SELECT 'unterminated -- x");
}

static void test_wrap(void **state)
{
    (void)state;
    bronze_buf b = BRONZE_BUF_INIT;
    assert_int_equal(bronze_dbc_wrap_query(&b, "SELECT * FROM t; -- x", "up\"d", '"', "$1"), 0);
    assert_string_equal((char *)b.data,
                        "SELECT * FROM (SELECT * FROM t\n) bronze_src WHERE \"up\"\"d\" > $1");
    b.len = 0;
    assert_int_equal(bronze_dbc_wrap_query(&b, "SELECT 1", NULL, '"', NULL), 0);
    assert_string_equal((char *)b.data, "SELECT * FROM (SELECT 1\n) bronze_src");
    b.len = 0;
    assert_int_equal(bronze_dbc_wrap_query(&b, "SELECT a FROM t", "a`b", '`', "?"), 0);
    assert_string_equal((char *)b.data,
                        "SELECT * FROM (SELECT a FROM t\n) bronze_src WHERE `a``b` > ?");
    b.len = 0;
    assert_int_equal(bronze_dbc_wrap_query(&b, "SELECT a FROM t", "a", ' ', "?"), 0);
    assert_string_equal((char *)b.data, "SELECT * FROM (SELECT a FROM t\n) bronze_src WHERE a > ?");
    bronze_buf_free(&b);
}

static void test_lookback(void **state)
{
    (void)state;
    bronze_dbc_lookback lb;
    assert_int_equal(bronze_dbc_lookback_parse(NULL, &lb), 0);
    assert_int_equal(lb.kind, BRONZE_DBC_LB_NONE);
    assert_int_equal(bronze_dbc_lookback_parse("  ", &lb), 0);
    assert_int_equal(lb.kind, BRONZE_DBC_LB_NONE);
    assert_int_equal(bronze_dbc_lookback_parse(" 12 ", &lb), 0);
    assert_int_equal(lb.kind, BRONZE_DBC_LB_NUMBER);
    assert_string_equal(lb.text, "12");
    assert_int_equal(bronze_dbc_lookback_parse("+1.5", &lb), 0);
    assert_int_equal(lb.kind, BRONZE_DBC_LB_NUMBER);
    assert_string_equal(lb.text, "1.5");
    assert_int_equal(bronze_dbc_lookback_parse("2 hours", &lb), 0);
    assert_int_equal(lb.kind, BRONZE_DBC_LB_INTERVAL);
    assert_string_equal(lb.text, "2 hours");
    /* text that is no interval is refused (it was once passed on to the server) */
    assert_int_equal(bronze_dbc_lookback_parse("12; DROP TABLE x", &lb), -1);
    assert_int_equal(bronze_dbc_lookback_parse("abc", &lb), -1);
    assert_int_equal(bronze_dbc_lookback_parse("2 fortnights", &lb), -1);
    assert_int_equal(bronze_dbc_lookback_parse("1 month", &lb), 0); /* PostgreSQL applies it */
    assert_int_equal(lb.kind, BRONZE_DBC_LB_INTERVAL);
    assert_int_equal(bronze_dbc_lookback_parse("01:30", &lb), 0);
    assert_int_equal(lb.kind, BRONZE_DBC_LB_INTERVAL);
    assert_int_equal(bronze_dbc_lookback_parse("-5", &lb), -1);
    char big[300];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(bronze_dbc_lookback_parse(big, &lb), -1);

    int64_t us;
    assert_int_equal(bronze_dbc_interval_micros("2 hours", &us), 0);
    assert_int_equal(us, 7200000000LL);
    assert_int_equal(bronze_dbc_interval_micros("1 day 30 minutes", &us), 0);
    assert_int_equal(us, 88200000000LL);
    assert_int_equal(bronze_dbc_interval_micros("1.5h", &us), 0);
    assert_int_equal(us, 5400000000LL);
    assert_int_equal(bronze_dbc_interval_micros("01:30:00", &us), 0);
    assert_int_equal(us, 5400000000LL);
    assert_int_equal(bronze_dbc_interval_micros("2 weeks, 3 ms", &us), 0);
    assert_int_equal(us, 1209600003000LL);
    assert_int_equal(bronze_dbc_interval_micros("1 month", &us), -1);
    assert_int_equal(bronze_dbc_interval_micros("hours", &us), -1);
    assert_int_equal(bronze_dbc_interval_micros("", &us), -1);
}

static void check_dec(const char *s, int p, int sc, int want_rc, const char *want)
{
    __int128 v = 0;
    int rc = bronze_dbc_parse_decimal(s, strlen(s), p, sc, &v);
    if (rc != want_rc)
        fail_msg("parse_decimal(%s, %d, %d) = %d, want %d", s, p, sc, rc, want_rc);
    if (!rc) {
        char out[64];
        bronze_fmt_decimal(v, sc, out);
        if (strcmp(out, want))
            fail_msg("parse_decimal(%s) -> %s, want %s", s, out, want);
    }
}

static void test_decimal_text(void **state)
{
    (void)state;
    check_dec("12.5", 10, 2, 0, "12.50");
    check_dec("-12.5", 10, 2, 0, "-12.50");
    check_dec(" 7 ", 5, 0, 0, "7");
    check_dec("0.001", 5, 3, 0, "0.001");
    check_dec("-0.001", 5, 3, 0, "-0.001");
    check_dec("1e3", 10, 2, 0, "1000.00");
    check_dec("1.5E-2", 10, 3, 0, "0.015");
    check_dec("12.3400000000000000000000000000000000000000000", 10, 2, 0, "12.34");
    check_dec("12.345", 10, 2, -2, NULL);
    check_dec("99999999999999999999999999999999999999", 38, 0, 0,
              "99999999999999999999999999999999999999");
    check_dec("-9999999999999999999999999999.9999999999", 38, 10, 0,
              "-9999999999999999999999999999.9999999999");
    check_dec("100000000000000000000000000000000000000", 38, 0, -2, NULL);
    check_dec("1000", 3, 0, -2, NULL);
    check_dec("0000000000000000000000000000000000000000000042", 5, 0, 0, "42");
    check_dec("abc", 5, 0, -1, NULL);
    check_dec("", 5, 0, -1, NULL);
    check_dec("1.2.3", 5, 0, -1, NULL);
    check_dec("NaN", 5, 0, -1, NULL);
    char out[64];
    bronze_fmt_decimal(5, 3, out);
    assert_string_equal(out, "0.005");
    bronze_fmt_decimal(-5, 1, out);
    assert_string_equal(out, "-0.5");
    bronze_fmt_decimal(0, 2, out);
    assert_string_equal(out, "0.00");
    __int128 min = -(__int128)(bronze_dbc_pow10[38] - 1);
    bronze_fmt_decimal(min, 0, out);
    assert_string_equal(out, "-99999999999999999999999999999999999999");
}

static void test_numtext_cmp(void **state)
{
    (void)state;
#define C(a, b) bronze_dbc_numtext_cmp(a, strlen(a), b, strlen(b))
    assert_true(C("10", "9") > 0);
    assert_true(C("9", "10") < 0);
    assert_true(C("-10", "-9") < 0);
    assert_true(C("1.50", "1.5") == 0);
    assert_true(C("0.0", "-0") == 0);
    assert_true(C("001.2", "1.19") > 0);
    assert_true(C("-0.001", "0") < 0);
    assert_true(C("NaN", "Infinity") > 0);
    assert_true(C("Infinity", "1e1000") > 0 || C("Infinity", "99999") > 0);
    assert_true(C("-Infinity", "-99999") < 0);
    assert_true(C("123456789012345678901234567890.1", "123456789012345678901234567890.01") > 0);
#undef C
}

static void test_value_text(void **state)
{
    (void)state;
    char out[64];
    bronze_dbc_fmt_timestamp(1736692200123456LL, false, out);
    assert_string_equal(out, "2025-01-12T14:30:00.123456");
    bronze_dbc_fmt_timestamp(1736692200000000LL, true, out);
    assert_string_equal(out, "2025-01-12T14:30:00Z");
    bronze_dbc_fmt_timestamp(1736692200100000LL, true, out);
    assert_string_equal(out, "2025-01-12T14:30:00.100000Z");
    bronze_dbc_fmt_timestamp(-1, false, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999999");
    bronze_dbc_fmt_timestamp(INT64_MAX, true, out);
    assert_string_equal(out, "infinity");
    bronze_dbc_fmt_timestamp(INT64_MIN, false, out);
    assert_string_equal(out, "-infinity");
    bronze_dbc_fmt_time(52200500000LL, out);
    assert_string_equal(out, "14:30:00.500000");
    bronze_dbc_fmt_double(0.1, out);
    assert_string_equal(out, "0.1");
    bronze_dbc_fmt_double(1.0 / 3, out);
    assert_true(strtod(out, NULL) == 1.0 / 3);
    bronze_dbc_fmt_double(NAN, out);
    assert_string_equal(out, "NaN");
    bronze_dbc_fmt_double(-INFINITY, out);
    assert_string_equal(out, "-Infinity");
    /* one double formatter (value_text.c) for CSV and cursor text alike */
    bronze_dbc_fmt_double(100.0, out);
    assert_string_equal(out, "100");
    char csv[64];
    for (double v = 1e-7; v < 1e22; v *= 7.3) {
        bronze_dbc_fmt_double(v, out);
        bronze_fmt_double(v, csv);
        assert_string_equal(out, csv);
        assert_true(strtod(out, NULL) == v);
    }
    /* one timestamp formatter: cursor text is its six-digit form */
    bronze_fmt_timestamp_frac(1736692200100000LL, 'T', BRONZE_FRAC_SIX, "Z", csv);
    bronze_dbc_fmt_timestamp(1736692200100000LL, true, out);
    assert_string_equal(out, csv);
    bronze_fmt_timestamp_frac(1736692200000000LL, 'T', BRONZE_FRAC_ALWAYS, "", out);
    assert_string_equal(out, "2025-01-12T14:30:00.000000");
}

/* A one-column batch of `type` for cursor tests. */
static void cursor_case(bronze_type type, int scale, bool numeric_text,
                        void (*fill)(bronze_batch *), const char *want)
{
    bronze_schema *sc = bronze_schema_new(1);
    bronze_schema_set(sc, 0, "c", type, type == BRONZE_T_DECIMAL ? 10 : 0, scale, true);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, sc, 8), 0);
    bronze_dbc_cursor cur;
    bronze_dbc_cursor_init(&cur, &sc->fields[0], numeric_text);
    bronze_buf t = BRONZE_BUF_INIT;
    assert_int_equal(bronze_dbc_cursor_text(&cur, &t), -1); /* nothing yet */
    fill(&b);
    assert_int_equal(bronze_dbc_cursor_scan(&cur, &b, 0), 0);
    assert_int_equal(bronze_dbc_cursor_text(&cur, &t), 0);
    assert_string_equal((char *)t.data, want);
    /* a second batch with only smaller values keeps the max */
    bronze_batch_clear(&b);
    bronze_batch_put_null(&b);
    bronze_batch_end_row(&b);
    assert_int_equal(bronze_dbc_cursor_scan(&cur, &b, 0), 0);
    assert_int_equal(bronze_dbc_cursor_text(&cur, &t), 0);
    assert_string_equal((char *)t.data, want);
    int cmp;
    assert_int_equal(bronze_dbc_cursor_cmp_text(&cur, want, &cmp), 0);
    assert_int_equal(cmp, 0);
    bronze_buf_free(&t);
    bronze_dbc_cursor_free(&cur);
    bronze_batch_free(&b);
    bronze_schema_free(sc);
}

static void fill_ts(bronze_batch *b)
{
    int64_t v[] = {1736692200000000LL, 1736692200123456LL, 5};
    for (int i = 0; i < 3; i++) {
        bronze_batch_put_i64(b, v[i]);
        bronze_batch_end_row(b);
    }
    bronze_batch_put_null(b);
    bronze_batch_end_row(b);
}
static void fill_date(bronze_batch *b)
{
    int32_t v[] = {-5, 20100, 3};
    for (int i = 0; i < 3; i++) {
        bronze_batch_put_i32(b, v[i]);
        bronze_batch_end_row(b);
    }
}
static void fill_dec(bronze_batch *b)
{
    __int128 v[] = {-1250, 99, 1249};
    for (int i = 0; i < 3; i++) {
        bronze_batch_put_dec(b, v[i]);
        bronze_batch_end_row(b);
    }
}
static void fill_str(bronze_batch *b)
{
    const char *v[] = {"k099", "k100", "k0999", ""};
    for (int i = 0; i < 4; i++) {
        bronze_batch_put_bytes(b, v[i], strlen(v[i]));
        bronze_batch_end_row(b);
    }
}
static void fill_numtext(bronze_batch *b)
{
    const char *v[] = {"990", "1000", "-5", "999.99"};
    for (int i = 0; i < 4; i++) {
        bronze_batch_put_bytes(b, v[i], strlen(v[i]));
        bronze_batch_end_row(b);
    }
}
static void fill_i64(bronze_batch *b)
{
    int64_t v[] = {-9, INT64_MAX, 0};
    for (int i = 0; i < 3; i++) {
        bronze_batch_put_i64(b, v[i]);
        bronze_batch_end_row(b);
    }
}
static void fill_f64(bronze_batch *b)
{
    double v[] = {1.5, 0.1, -3};
    for (int i = 0; i < 3; i++) {
        bronze_batch_put_f64(b, v[i]);
        bronze_batch_end_row(b);
    }
}

static void test_cursor(void **state)
{
    (void)state;
    cursor_case(BRONZE_T_TIMESTAMPTZ, 0, false, fill_ts, "2025-01-12T14:30:00.123456Z");
    cursor_case(BRONZE_T_TIMESTAMP, 0, false, fill_ts, "2025-01-12T14:30:00.123456");
    cursor_case(BRONZE_T_DATE, 0, false, fill_date, "2025-01-12");
    cursor_case(BRONZE_T_DECIMAL, 2, false, fill_dec, "12.49");
    cursor_case(BRONZE_T_STRING, 0, false, fill_str, "k100");
    cursor_case(BRONZE_T_STRING, 0, true, fill_numtext, "1000");
    cursor_case(BRONZE_T_INT64, 0, false, fill_i64, "9223372036854775807");
    cursor_case(BRONZE_T_DOUBLE, 0, false, fill_f64, "1.5");
}

static void check_bind(bronze_type t, int scale, const char *cur, const char *lb, int want_rc,
                       const char *want)
{
    bronze_dbc_lookback l;
    assert_int_equal(bronze_dbc_lookback_parse(lb, &l), 0);
    bronze_buf out = BRONZE_BUF_INIT;
    int rc = bronze_dbc_cursor_bind_text(t, scale, cur, &l, &out);
    if (rc != want_rc)
        fail_msg("bind(%s, %s) = %d, want %d", cur, lb ? lb : "-", rc, want_rc);
    if (!rc && strcmp((char *)out.data, want))
        fail_msg("bind(%s, %s) = %s, want %s", cur, lb ? lb : "-", (char *)out.data, want);
    bronze_buf_free(&out);
}

static void test_bind_text(void **state)
{
    (void)state;
    check_bind(BRONZE_T_TIMESTAMPTZ, 0, "2025-01-12T14:30:00Z", NULL, 0, "2025-01-12 14:30:00");
    check_bind(BRONZE_T_TIMESTAMP, 0, "2025-01-12T14:30:00.5", "2 hours", 0,
               "2025-01-12 12:30:00.500000");
    check_bind(BRONZE_T_TIMESTAMP, 0, "2025-01-12 14:30:00", "90", 0, "2025-01-12 14:28:30");
    check_bind(BRONZE_T_TIMESTAMPTZ, 0, "2025-01-12T14:30:00+02:00", NULL, 0,
               "2025-01-12 12:30:00");
    check_bind(BRONZE_T_DATE, 0, "2025-01-12", "3", 0, "2025-01-09");
    check_bind(BRONZE_T_DATE, 0, "2025-01-12", "36 hours", 0, "2025-01-10");
    check_bind(BRONZE_T_INT64, 0, "100", "10", 0, "90");
    check_bind(BRONZE_T_INT64, 0, "100", "1.5", -2, NULL);
    check_bind(BRONZE_T_DECIMAL, 2, "12.5", "0.25", 0, "12.25");
    check_bind(BRONZE_T_STRING, 0, "'; DROP TABLE x; --", NULL, 0, "'; DROP TABLE x; --");
    check_bind(BRONZE_T_STRING, 0, "abc", "2 hours", -2, NULL);
    check_bind(BRONZE_T_TIMESTAMP, 0, "not a time", NULL, -1, NULL);
    check_bind(BRONZE_T_TIMESTAMP, 0, "2025-01-12", "1 month", -2, NULL);
    check_bind(BRONZE_T_INT32, 0, "12x", NULL, -1, NULL);
}

static void test_backoff_and_scrub(void **state)
{
    (void)state;
    /* the database backoff: full jitter under 500 ms * 2^attempt, capped at 30 s */
    uint64_t rng = 12345, top = 0;
    for (int k = 0; k < 2000; k++) {
        uint64_t a = bronze_retry_backoff_ms(0, 500, 30000, &rng),
                 b = bronze_retry_backoff_ms(1, 500, 30000, &rng),
                 c = bronze_retry_backoff_ms(10, 500, 30000, &rng);
        assert_true(a <= 500 && b <= 1000 && c <= 30000);
        if (c > top)
            top = c;
    }
    assert_true(top > 25000); /* the cap is reached, not just the base */
    char msg[64] = "auth failed for pw=hunter2 (hunter2)";
    bronze_dbc_scrub(msg, sizeof msg, "hunter2");
    assert_string_equal(msg, "auth failed for pw=*** (***)");
    char small[16] = "ab ab ab ab ab";
    bronze_dbc_scrub(small, sizeof small, "ab");
    assert_null(strstr(small, "ab"));
    char same[32] = "nothing here";
    bronze_dbc_scrub(same, sizeof same, "");
    assert_string_equal(same, "nothing here");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_lookback),
        cmocka_unit_test(test_decimal_text),
        cmocka_unit_test(test_numtext_cmp),
        cmocka_unit_test(test_value_text),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_bind_text),
        cmocka_unit_test(test_backoff_and_scrub),
    };
    return cmocka_run_group_tests_name("db_common", tests, NULL, NULL);
}
