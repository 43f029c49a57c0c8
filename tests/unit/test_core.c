/* Unit tests for the core pieces: datetime, value text, partition paths,
 * query wrapping, the record batch and the CSV encoder's exact sizing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/names.h"
#include "batch/batch.h"
#include "format/encoder.h"
#include "format/value_text.h"
#include "run/partition.h"
#include "util/buf.h"
#include "util/copy.h"
#include "util/digits.h"
#include "run/roller.h"
#include "util/utf8_locale.h"
#include "source/db_common.h"
#include "util/datetime.h"
#include "util/fs.h"
#include "util/json_plain.h"
#include "util/json_string.h"
#include <jansson.h>

static void test_dates(void **state)
{
    (void)state;
    int32_t d;
    assert_int_equal(bronze_parse_date("1970-01-01", 10, &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(bronze_parse_date("2000-01-01", 10, &d), 0);
    assert_int_equal(d, 10957);
    assert_int_equal(bronze_parse_date("1969-12-31", 10, &d), 0);
    assert_int_equal(d, -1);
    assert_int_equal(bronze_parse_date("2024-02-29", 10, &d), 0);
    assert_int_equal(bronze_parse_date("2023-02-29", 10, &d), -1);
    assert_int_equal(bronze_parse_date("2023-13-01", 10, &d), -1);
    assert_int_equal(bronze_parse_date("2023-1-01", 9, &d), -1);
    char out[BRONZE_DT_MAX];
    bronze_fmt_date(-719528, out); /* 0000-01-01 */
    assert_string_equal(out, "0000-01-01");
    bronze_fmt_date(INT32_MAX, out);
    assert_string_equal(out, "infinity");
    for (int32_t day = -800000; day < 800000; day += 997) {
        char t[BRONZE_DT_MAX];
        size_t n = bronze_fmt_date(day, t);
        int32_t back;
        if (t[0] != '-') {
            assert_int_equal(bronze_parse_date(t, n, &back), 0);
            assert_int_equal(back, day);
        }
    }
}

/* bronze_scan_digits and bronze_digits_end against a byte-wise reference:
 * every run length 0-40 around each non-digit byte value, at every offset of
 * the 8-byte loads. */
static void test_scan_digits(void **state)
{
    (void)state;
    char t[64];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int iter = 0; iter < 200000; iter++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = (size_t)(x % 41), start = (size_t)((x >> 8) % 3);
        for (size_t i = 0; i < n; i++)
            t[i] = (char)('0' + (x >> (i % 60)) % 10);
        if (n && (x >> 20) % 2) /* one byte that is not a digit, any value but a digit */
            t[(x >> 24) % n] =
                (char)((unsigned char)(x >> 32) % 246 < 0x30 ? (unsigned char)(x >> 32) % 246
                                                             : (unsigned char)(x >> 32) % 246 + 10);
        if (start > n)
            start = n;
        uint64_t want = 7, got = 7;
        size_t wi = start;
        for (; wi < n && t[wi] >= '0' && t[wi] <= '9'; wi++)
            want = want * 10 + (uint64_t)(t[wi] - '0');
        size_t gi = bronze_scan_digits(t, start, n, &got);
        if (gi != wi || got != want)
            fail_msg("%.*s from %zu: index %zu value %llu, want %zu %llu", (int)n, t, start, gi,
                     (unsigned long long)got, wi, (unsigned long long)want);
        if (bronze_digits_end(t, start, n) != wi)
            fail_msg("%.*s from %zu: digits end at %zu, want %zu", (int)n, t, start,
                     bronze_digits_end(t, start, n), wi);
    }
    for (int pos = 0; pos < 8; pos++)
        for (int c = 0; c < 256; c++) {
            char w8[8];
            memcpy(w8, "12345678", 8);
            w8[pos] = (char)c;
            uint64_t w;
            memcpy(&w, w8, 8);
            assert_int_equal(bronze_digits8_ok(w), c >= '0' && c <= '9');
            char run[9];
            memcpy(run, w8, 8);
            run[8] = 'x';
            assert_int_equal(bronze_digits_end(run, 0, 9), c >= '0' && c <= '9' ? 8 : pos);
        }
}

/* bronze_bits_copy against a bit-by-bit reference: every source and
 * destination alignment, lengths 0-200, bits around the copy kept. */
static void test_bits_copy(void **state)
{
    (void)state;
    uint8_t src[40], dst[40], want[40];
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (size_t soff = 0; soff < 16; soff++)
        for (size_t doff = 0; doff < 16; doff++)
            for (size_t n = 0; n <= 200; n += 1 + n / 16) {
                for (size_t k = 0; k < sizeof src; k++) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    src[k] = (uint8_t)x;
                    dst[k] = want[k] = (uint8_t)(x >> 8);
                }
                size_t zeros = 0;
                for (size_t i = 0; i < n; i++) {
                    size_t sb = soff + i, db = doff + i;
                    bool v = src[sb >> 3] >> (sb & 7) & 1;
                    zeros += !v;
                    want[db >> 3] =
                        (uint8_t)((want[db >> 3] & ~(1u << (db & 7))) | (unsigned)v << (db & 7));
                }
                assert_int_equal(bronze_bits_copy(dst, doff, src, soff, n), zeros);
                assert_memory_equal(dst, want, sizeof dst);
            }
}

/* HH:MM:SS (read with one load) against the rules: every hour 0-29,
 * minutes and seconds at and past their limits, a non-digit or a wrong
 * separator at each of the 8 positions, and a fraction after it. */
static void test_hms(void **state)
{
    (void)state;
    int64_t us;
    bool tz;
    const int ms[] = {0, 7, 59, 60, 99};
    for (int h = 0; h < 30; h++)
        for (size_t a = 0; a < 5; a++)
            for (size_t b = 0; b < 5; b++) {
                char t[40];
                snprintf(t, sizeof t, "%02d:%02d:%02d", h, ms[a], ms[b]);
                bool ok = h <= 23 && ms[a] <= 59 && ms[b] <= 60;
                int64_t want = ((int64_t)h * 3600 + ms[a] * 60 + ms[b]) * 1000000;
                assert_int_equal(bronze_parse_time(t, 8, &us), ok ? 0 : -1);
                if (ok)
                    assert_true(us == want);
                char ts[64];
                snprintf(ts, sizeof ts, "2001-02-03 %s.25", t);
                assert_int_equal(bronze_parse_timestamp(ts, strlen(ts), &us, &tz), ok ? 0 : -1);
                if (ok)
                    assert_true(us == 981158400000000LL + want + 250000);
                for (int pos = 0; pos < 8; pos++) {
                    const char bad[] = {'/', 'a', ':', '.', ' ', '0' - 1, '9' + 1};
                    for (size_t k = 0; k < sizeof bad; k++) {
                        char u[9];
                        memcpy(u, t, 9);
                        if (u[pos] == bad[k])
                            continue;
                        u[pos] = bad[k];
                        int64_t v;
                        /* only a colon kept at 2 and 5 and digits elsewhere parse */
                        assert_int_equal(bronze_parse_time(u, 8, &v), -1);
                    }
                }
            }
    assert_int_equal(bronze_parse_time("12:30", 5, &us), 0);
    assert_true(us == 45000000000LL);
}

/* parse_ymd keeps the last two valid dates: alternating columns, a date
 * whose first 8 bytes match a kept one, and an invalid date after a valid
 * one with the same prefix all give what a fresh parse gives. */
static void test_date_memo(void **state)
{
    (void)state;
    int32_t d;
    int64_t us;
    bool tz;
    const char *seq[] = {"2023-02-28", "2024-02-29", "2023-02-28", "2023-02-29", "2024-02-29",
                         "2023-02-21", "2023-02-28", "2023-02-2x", "1970-01-01"};
    const int want[] = {19416, 19782, 19416, -1, 19782, 19409, 19416, -1, 0};
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof seq / sizeof *seq; i++) {
            int rc = bronze_parse_date(seq[i], 10, &d);
            if (want[i] < 0) {
                assert_int_equal(rc, -1);
            } else {
                assert_int_equal(rc, 0);
                assert_int_equal(d, want[i]);
            }
            /* a timestamp on another date between every two dates */
            assert_int_equal(bronze_parse_timestamp("2000-01-01 00:00:01", 19, &us, &tz), 0);
            assert_int_equal(us, 946684801000000LL);
        }
}

static void test_timestamps(void **state)
{
    (void)state;
    int64_t us;
    bool tz;
    assert_int_equal(bronze_parse_timestamp("2025-01-12T14:30:15.123456", 26, &us, &tz), 0);
    assert_false(tz);
    char out[BRONZE_DT_MAX];
    bronze_fmt_timestamp_seed(us, out);
    assert_string_equal(out, "2025-01-12T14:30:15.123456");
    assert_int_equal(bronze_parse_timestamp("2025-01-12 16:30:15+02:00", 25, &us, &tz), 0);
    assert_true(tz);
    bronze_fmt_timestamp(us, ' ', "+00", out);
    assert_string_equal(out, "2025-01-12 14:30:15+00");
    assert_int_equal(bronze_parse_timestamp("1969-12-31T23:59:59.5Z", 22, &us, &tz), 0);
    assert_true(us == -500000);
    bronze_fmt_timestamp(us, 'T', "Z", out);
    assert_string_equal(out, "1969-12-31T23:59:59.5Z");
    assert_int_equal(bronze_parse_timestamp("2025-01-12T25:00", 16, &us, &tz), -1);
    assert_int_equal(bronze_parse_timestamp("2025-01-12T10:00:00x", 20, &us, &tz), -1);
    assert_int_equal(bronze_parse_time("23:59:59.000001", 15, &us), 0);
    bronze_fmt_time(us, out);
    assert_string_equal(out, "23:59:59.000001");
}

static void test_numbers_text(void **state)
{
    (void)state;
    char b[64];
    bronze_fmt_double(0.1, b);
    assert_string_equal(b, "0.1");
    bronze_fmt_double(1.0 / 3.0, b);
    assert_true(strtod(b, NULL) == 1.0 / 3.0);
    bronze_fmt_double(-0.0, b);
    assert_string_equal(b, "-0");
    bronze_fmt_double(NAN, b);
    assert_string_equal(b, "NaN");
    bronze_fmt_double(-INFINITY, b);
    assert_string_equal(b, "-inf");
    bronze_fmt_double(123456789.0, b);
    assert_string_equal(b, "123456789");
    /* subnormals carry fewer digits: their shortest text is shorter than 15 */
    bronze_fmt_double(5e-324, b);
    assert_string_equal(b, "5e-324");
    bronze_fmt_double(-1.5e-310, b);
    assert_string_equal(b, "-1.5e-310");
    bronze_fmt_double(1e-323, b);
    assert_string_equal(b, "1e-323");
    bronze_fmt_double(2.2250738585072014e-308, b); /* DBL_MIN, normal */
    assert_true(strtod(b, NULL) == 2.2250738585072014e-308);
    bronze_fmt_float(0.1f, b);
    assert_string_equal(b, "0.1");
    bronze_fmt_decimal(-1250, 2, b);
    assert_string_equal(b, "-12.50");
    bronze_fmt_decimal(5, 3, b);
    assert_string_equal(b, "0.005");
    bronze_fmt_decimal(-5, 3, b);
    assert_string_equal(b, "-0.005");
    __int128 big = 0;
    for (int i = 0; i < 38; i++)
        big = big * 10 + 9;
    bronze_fmt_decimal(-big, 2, b);
    assert_int_equal(strlen(b), 40);
    assert_memory_equal(b + 35, "99.99", 5);
}

static void test_partition_paths(void **state)
{
    (void)state;
    bronze_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.system = "sales";
    cfg.table = "orders";
    cfg.use_dt_partition = true;
    bronze_run_date d;
    assert_int_equal(bronze_run_date_parse("2025-01-12T08:30", &d), 0);
    char p[512];
    cfg.strategy = BRONZE_PART_TIMESTAMP;
    bronze_partition_path(&cfg, &d, 0, "x", p, sizeof p);
    assert_string_equal(p, "system=sales/table=orders/dt=2025-01-12/batch=20250112_0830/");
    cfg.strategy = BRONZE_PART_HOURLY;
    bronze_partition_path(&cfg, &d, 0, "x", p, sizeof p);
    assert_string_equal(p, "system=sales/table=orders/dt=2025-01-12/hour=08/");
    /* not pinned: hour from the start time (1970-01-01 13:45 UTC) */
    assert_int_equal(bronze_run_date_parse("2025-01-12", &d), 0);
    bronze_partition_path(&cfg, &d, 13 * 3600 + 45 * 60, "x", p, sizeof p);
    assert_string_equal(p, "system=sales/table=orders/dt=2025-01-12/hour=13/");
    cfg.strategy = BRONZE_PART_BATCH_ID;
    cfg.use_dt_partition = false;
    assert_int_equal(bronze_partition_path(&cfg, &d, 0, "b_1", p, sizeof p), 0);
    assert_string_equal(p, "system=sales/table=orders/batch_id=b_1/");
    /* too long for the buffer: an error, never an overflow (issue #13 item 9) */
    char small[48];
    memset(small, 'Z', sizeof small);
    assert_int_equal(bronze_partition_path(&cfg, &d, 0, "b_1", small, 30), -1);
    assert_true(strlen(small) < 30);
    assert_int_equal(small[30], 'Z');
    static char longname[20001];
    memset(longname, 's', sizeof longname - 1);
    cfg.system = longname;
    assert_int_equal(bronze_partition_path(&cfg, &d, 0, "b_1", p, sizeof p), -1);
    assert_true(strlen(p) < sizeof p);
    assert_int_equal(bronze_run_date_parse("2025-02-30", &d), -1);
    assert_int_equal(bronze_run_date_parse("2025-01-12 08:30", &d), -1);
    assert_int_equal(bronze_run_date_parse("2025-01-12T8:30", &d), -1);
    char id[32];
    bronze_batch_id_auto(1736692215, id); /* 2025-01-12 14:30:15 */
    assert_int_equal(strlen(id), 24);
    assert_memory_equal(id, "20250112_143015_", 16);
}

/* bronze_copy: every length up to past the inline cases, at odd offsets,
 * writes exactly dst[0..n) with src's bytes and nothing around it. */
static void test_copy(void **state)
{
    (void)state;
    unsigned char src[128], dst[128];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= 80; n++)
        for (size_t at = 0; at < 3; at++) {
            memset(dst, 0xEE, sizeof dst);
            bronze_copy(dst + 8 + at, src + at, n);
            assert_memory_equal(dst + 8 + at, src + at, n);
            for (size_t k = 0; k < sizeof dst; k++)
                if (k < 8 + at || k >= 8 + at + n)
                    assert_int_equal(dst[k], 0xEE);
        }
}

/* bronze_same against memcmp: every length up to past the inline cases,
 * equal, and with one byte changed at each position (by one bit, high and
 * low), at odd offsets. */
static void test_same(void **state)
{
    (void)state;
    unsigned char a[64], b[64];
    for (size_t n = 0; n <= 40; n++)
        for (size_t at = 0; at < 3; at++) {
            for (size_t i = 0; i < n; i++)
                a[at + i] = b[at + i] = (unsigned char)(i * 37 + 11 + n);
            assert_true(bronze_same(a + at, b + at, n));
            for (size_t k = 0; k < n; k++)
                for (int bit = 0; bit < 8; bit += 7) {
                    b[at + k] ^= (unsigned char)(1u << bit);
                    assert_false(bronze_same(a + at, b + at, n));
                    assert_int_equal(bronze_same(a + at, b + at, n), !memcmp(a + at, b + at, n));
                    b[at + k] ^= (unsigned char)(1u << bit);
                }
        }
}

/* bronze_json_plain_end against a byte-at-a-time reference: every byte
 * value at every position of every window up to 80 bytes (the 16- and
 * 8-byte steps and the tail), from several start offsets. */
static size_t plain_end_ref(const unsigned char *p, size_t i, size_t n)
{
    while (i < n && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\' && p[i] < 0x80)
        i++;
    return i;
}

/* A JSON string literal written by hand reads back (jansson) as the very
 * bytes it was made of: random UTF-8 with quotes, backslashes, every
 * control character and multi-byte text; bytes that are not UTF-8 are
 * copied as they are, for the reader to judge. */
static void test_json_string_put(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "\"",   "\\", "/",  "a",  "Z9 ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\x7f", "\b", "\f", "\n", "\r",  "\t"};
    unsigned seed = 12345;
    bronze_buf in = BRONZE_BUF_INIT, out = BRONZE_BUF_INIT;
    for (int round = 0; round < 2000; round++) {
        in.len = out.len = 0;
        int parts = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 20;
        for (int k = 0; k < parts; k++) {
            seed = seed * 1103515245u + 12345u;
            unsigned pick = (seed >> 16) % 16;
            if (pick < 14)
                bronze_buf_append(&in, pieces[pick], strlen(pieces[pick]));
            else /* any control character, NUL included */
                bronze_buf_putc(&in, (uint8_t)((seed >> 8) % 0x20));
        }
        assert_int_equal(bronze_json_string_put(&out, in.data, in.len), 0);
        for (size_t i = 0; i < out.len; i++)
            assert_true(out.data[i] >= 0x20); /* one line, whatever the text */
        json_error_t je;
        json_t *v =
            json_loadb((const char *)out.data, out.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        assert_non_null(v);
        assert_int_equal(json_string_length(v), in.len);
        assert_memory_equal(json_string_value(v), in.len ? (const char *)in.data : "", in.len);
        json_decref(v);
    }
    out.len = 0;
    assert_int_equal(bronze_json_string_put(&out, "caf\xe9", 4), 0);
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.data, "\"caf\xe9\"", 6);
    bronze_buf_free(&in);
    bronze_buf_free(&out);
}

static void test_json_plain_end(void **state)
{
    (void)state;
    unsigned char b[96];
    for (size_t n = 0; n <= 80; n++)
        for (size_t at = 0; at < n; at++)
            for (unsigned v = 0; v < 256; v++) {
                for (size_t k = 0; k < sizeof b; k++)
                    b[k] = (unsigned char)('a' + k % 26);
                b[at] = (unsigned char)v;
                b[n] = '"'; /* past the end: must not be seen */
                for (size_t i = 0; i < 3 && i <= n; i++)
                    if (bronze_json_plain_end(b, i, n) != plain_end_ref(b, i, n))
                        fail_msg("n=%zu byte 0x%02x at %zu, from %zu: %zu, not %zu", n, v, at, i,
                                 bronze_json_plain_end(b, i, n), plain_end_ref(b, i, n));
            }
}

static void test_json_hex4(void **state)
{
    (void)state;
    unsigned v = 7;
    assert_true(bronze_json_hex4((const unsigned char *)"00e9", &v));
    assert_int_equal(v, 0xe9);
    assert_true(bronze_json_hex4((const unsigned char *)"D83D", &v));
    assert_int_equal(v, 0xD83D);
    assert_true(bronze_json_hex4((const unsigned char *)"aBcF", &v));
    assert_int_equal(v, 0xABCF);
    /* every byte in each place: only 0-9, a-f, A-F are digits */
    for (unsigned c = 0; c < 256; c++)
        for (int at = 0; at < 4; at++) {
            unsigned char b[4] = {'1', '2', '3', '4'};
            b[at] = (unsigned char)c;
            bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            v = 0;
            assert_int_equal(bronze_json_hex4(b, &v), hex);
            if (hex) {
                unsigned d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
                unsigned want = 0x1234 & ~(0xFu << (12 - 4 * at));
                assert_int_equal(v, want | d << (12 - 4 * at));
            }
        }
}

static void test_grow(void **state)
{
    (void)state;
    size_t cap = 0;
    int *z = bronze_grow(NULL, &cap, 0, sizeof *z, 4); /* nothing needed yet: still an array */
    assert_non_null(z);
    assert_int_equal(cap, 4);
    free(z);
    cap = 0;
    int *a = bronze_grow(NULL, &cap, 9, sizeof *a, 4);
    assert_non_null(a);
    assert_int_equal(cap, 16); /* 4, 8, 16 */
    a[15] = 7;
    assert_ptr_equal(bronze_grow(a, &cap, 16, sizeof *a, 4), a); /* room enough: as it was */
    int *b = bronze_grow(a, &cap, 17, sizeof *a, 4);
    assert_non_null(b);
    assert_int_equal(cap, 32);
    assert_int_equal(b[15], 7);
    /* a size that cannot be had: NULL, the array and its capacity untouched */
    assert_null(bronze_grow(b, &cap, SIZE_MAX / 2, sizeof *b, 4));
    assert_null(bronze_grow(b, &cap, (SIZE_MAX >> 1) + 2, 1, 4));
    assert_int_equal(cap, 32);
    assert_int_equal(b[15], 7);
    free(b);
}

static void test_query_wrap(void **state)
{
    (void)state;
    bronze_buf b = BRONZE_BUF_INIT;
    assert_int_equal(
        bronze_dbc_wrap_query(&b, "SELECT * FROM t; -- all rows\n", "up\"d", '"', "?1"), 0);
    bronze_buf_cstr(&b);
    assert_string_equal((char *)b.data,
                        "SELECT * FROM (SELECT * FROM t\n) bronze_src WHERE \"up\"\"d\" > ?1");
    b.len = 0;
    bronze_dbc_wrap_query(&b, "SELECT '--x' AS a FROM t", "a", '"', "?1");
    bronze_buf_cstr(&b);
    assert_string_equal((char *)b.data,
                        "SELECT * FROM (SELECT '--x' AS a FROM t\n) bronze_src WHERE \"a\" > ?1");
    bronze_buf_free(&b);
}

static bronze_schema *two_col_schema(void)
{
    bronze_schema *s = bronze_schema_new(2);
    bronze_schema_set(s, 0, "id", BRONZE_T_INT64, 0, 0, true);
    bronze_schema_set(s, 1, "text", BRONZE_T_STRING, 0, 0, true);
    return s;
}

static void test_batch_nulls(void **state)
{
    (void)state;
    bronze_schema *s = two_col_schema();
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, 4), 0);
    bronze_batch_put_i64(&b, 7);
    bronze_batch_put_null(&b);
    bronze_batch_end_row(&b);
    bronze_batch_put_null(&b);
    bronze_batch_put_bytes(&b, "", 0);
    bronze_batch_end_row(&b);
    assert_int_equal(b.nrows, 2);
    assert_true(bronze_batch_is_valid(&b.cols[0], 0));
    assert_false(bronze_batch_is_valid(&b.cols[1], 0));
    assert_false(bronze_batch_is_valid(&b.cols[0], 1));
    assert_true(bronze_batch_is_valid(&b.cols[1], 1));
    assert_int_equal(b.cols[1].null_count, 1);
    bronze_batch_clear(&b);
    bronze_batch_put_i64(&b, 1);
    bronze_batch_put_bytes(&b, "abc", 3);
    bronze_batch_abort_row(&b);
    assert_int_equal(b.cols[1].data_len, 0);
    bronze_batch_free(&b);
    bronze_schema *d = bronze_schema_new(3);
    bronze_schema_set(d, 0, "a", BRONZE_T_INT64, 0, 0, true);
    bronze_schema_set(d, 1, "a", BRONZE_T_INT64, 0, 0, true);
    bronze_schema_set(d, 2, "a_2", BRONZE_T_INT64, 0, 0, true);
    assert_int_equal(bronze_schema_dedupe_names(d), 1);
    assert_string_equal(d->fields[1].name, "a_3");
    bronze_schema_free(d);
    bronze_schema_free(s);
}

/* Issue #13 item 5: output names, SPEC §7 "Clashes". */
static void test_output_names(void **state)
{
    (void)state;
    static const char *const in[] = {"id", "DT", "dt_src", "Batch", "a", "A", "a_2", "hour", "x"};
    static const char *const want[] = {"id",  "DT_src2", "dt_src",   "Batch_src", "a",
                                       "A_3", "a_2",     "hour_src", "x"};
    size_t n = sizeof in / sizeof *in;
    bronze_schema *s = bronze_schema_new(n);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(bronze_schema_set(s, i, in[i], BRONZE_T_INT64, 0, 0, true), 0);
    size_t renamed = 0;
    bronze_schema *out = bronze_schema_output_names(s, &renamed);
    assert_non_null(out);
    assert_int_equal(renamed, 4);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(out->fields[i].name, want[i]);
        if (strcmp(in[i], want[i]))
            assert_string_equal(out->fields[i].source_name, in[i]);
        else
            assert_null(out->fields[i].source_name);
        assert_null(s->fields[i].source_name); /* the source's schema is untouched */
    }
    /* clone keeps source_name */
    bronze_schema *c = bronze_schema_clone(out);
    assert_string_equal(c->fields[1].source_name, "DT");
    bronze_schema_free(c);
    assert_true(bronze_name_is_path_key("BATCH_ID"));
    assert_true(bronze_name_is_path_key("System"));
    assert_false(bronze_name_is_path_key("dt_src"));
    assert_false(bronze_name_is_path_key("dates"));
    bronze_schema_free(out);
    bronze_schema_free(s);
}

static void test_batch_byte_cap(void **state)
{
    (void)state;
    bronze_schema *s = two_col_schema();
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, 1000), 0);
    static char big[1 << 20];
    memset(big, 'x', sizeof big);
    size_t rows = 0;
    while (!bronze_batch_full(&b)) {
        bronze_batch_put_i64(&b, (int64_t)rows);
        assert_int_equal(bronze_batch_put_bytes(&b, big, sizeof big), 0);
        bronze_batch_end_row(&b);
        rows++;
    }
    /* 1 MiB values: full at 16 MiB, long before the 1000-row cap */
    assert_int_equal(rows, BRONZE_BATCH_MAX_BYTES / sizeof big);
    bronze_batch_clear(&b);
    assert_false(bronze_batch_full(&b));
    assert_int_equal(b.var_bytes, 0);
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_csv_encoder_format_and_fit(void **state)
{
    (void)state;
    bronze_schema *s = two_col_schema();
    bronze_batch b;
    bronze_batch_init(&b, s, 8);
    const char *texts[] = {"plain", "with,comma", "quote\"d", "line\nbreak", "", NULL};
    for (int i = 0; i < 6; i++) {
        bronze_batch_put_i64(&b, i);
        if (texts[i])
            bronze_batch_put_bytes(&b, texts[i], strlen(texts[i]));
        else
            bronze_batch_put_null(&b);
        bronze_batch_end_row(&b);
    }
    char path[] = "/tmp/bf-csv-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    bronze_err err = BRONZE_ERR_INIT;
    bronze_encoder_opts o = {.max_bytes = 0};
    bronze_encoder *e;
    assert_int_equal(bronze_encoder_csv.open(&e, path, s, &o, &err), 0);
    assert_int_equal(bronze_encoder_csv.fit(e, &b, 0, 6, &err), 6);
    assert_int_equal(bronze_encoder_csv.write(e, &b, 0, 6, &err), 0);
    uint64_t bytes;
    assert_int_equal(bronze_encoder_csv.finish(e, &bytes, &err), 0);
    bronze_encoder_csv.destroy(e);
    const char *want = "id,text\n0,plain\n1,\"with,comma\"\n2,\"quote\"\"d\"\n3,\"line\nbreak\"\n"
                       "4,\"\"\n5,\n";
    assert_string_equal(slurp(path), want);
    assert_int_equal(bytes, strlen(want));

    /* Exact limit: header (8) + "0,plain\n" (8) + next row (15) = 31 bytes. */
    o.max_bytes = 30;
    assert_int_equal(bronze_encoder_csv.open(&e, path, s, &o, &err), 0);
    assert_int_equal(bronze_encoder_csv.fit(e, &b, 0, 6, &err), 1);
    assert_int_equal(bronze_encoder_csv.write(e, &b, 0, 1, &err), 0);
    assert_int_equal(bronze_encoder_csv.fit(e, &b, 1, 5, &err), 0);
    assert_int_equal(bronze_encoder_csv.finish(e, &bytes, &err), 0);
    bronze_encoder_csv.destroy(e);
    assert_int_equal(bytes, 16);
    o.max_bytes = 31;
    assert_int_equal(bronze_encoder_csv.open(&e, path, s, &o, &err), 0);
    assert_int_equal(bronze_encoder_csv.fit(e, &b, 0, 6, &err), 2);
    bronze_encoder_csv.destroy(e);
    unlink(path);
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

/* Issue #13 item 16: a failing fsync must still close the part's descriptor
 * (fsync on /dev/null fails with EINVAL after writes that succeed), in both
 * encoders (one write path, util/out_file.c). */
static void test_csv_fsync_failure_closes(void **state)
{
    (void)state;
    bronze_schema *s = two_col_schema();
    const bronze_encoder_vt *vts[] = {&bronze_encoder_csv, &bronze_encoder_parquet};
    for (size_t k = 0; k < 2; k++) {
        bronze_err err = BRONZE_ERR_INIT;
        bronze_encoder_opts o = {.max_bytes = 0};
        int before = open_fds();
        bronze_encoder *e;
        assert_int_equal(vts[k]->open(&e, "/dev/null", s, &o, &err), 0);
        assert_int_equal(open_fds(), before + 1);
        uint64_t bytes;
        assert_int_equal(vts[k]->finish(e, &bytes, &err), -1);
        assert_non_null(strstr(err.msg, "syncing /dev/null"));
        vts[k]->destroy(e);
        assert_int_equal(open_fds(), before);
    }
    bronze_schema_free(s);
}

/* Issue #13 item 16: the locale is set once per process; a later call (a
 * source opened on a worker thread) changes nothing process-wide. */
static void test_utf8_locale_once(void **state)
{
    (void)state;
    unsetenv("LC_ALL");
    unsetenv("LANG");
    unsetenv("LC_CTYPE");
    bronze_utf8_locale();
    assert_true(MB_CUR_MAX > 1);
    assert_non_null(getenv("LC_CTYPE"));
    unsetenv("LC_CTYPE");
    bronze_utf8_locale(); /* no setenv, no setlocale */
    assert_null(getenv("LC_CTYPE"));
    assert_true(MB_CUR_MAX > 1);
}

/* The file hash the roller falls back on (OpenSSL calls checked). */
static void test_sha256_file(void **state)
{
    (void)state;
    char path[] = "/tmp/bf-sha-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
    char hex[65];
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_sha256_file(path, hex, &err), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unlink(path);
    assert_int_equal(bronze_sha256_file(path, hex, &err), -1);
    assert_non_null(strstr(err.msg, "hashing"));
}

/* Two runs share .bronze-tmp: one prunes the folders its removes left empty
 * while another is creating a path through them (seen as "creating
 * directory ...: No such file or directory" from a Slurm shard). mkdirs
 * must get through a parent removed under it. */
static volatile int g_prune_stop;
static char g_prune_root[64];

static void *pruner(void *arg)
{
    (void)arg;
    char b[128], a[128];
    snprintf(a, sizeof a, "%s/a", g_prune_root);
    snprintf(b, sizeof b, "%s/a/b", g_prune_root);
    while (!g_prune_stop) {
        rmdir(b);
        rmdir(a);
        usleep(20);
    }
    return NULL;
}

static void test_mkdirs_races_a_pruner(void **state)
{
    (void)state;
    snprintf(g_prune_root, sizeof g_prune_root, "/tmp/bf-mkdirs-XXXXXX");
    assert_non_null(mkdtemp(g_prune_root));
    char leaf[128];
    snprintf(leaf, sizeof leaf, "%s/a/b/c", g_prune_root);
    g_prune_stop = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pruner, NULL), 0);
    int failures = 0;
    char first[sizeof((bronze_err *)0)->msg] = "";
    for (int i = 0; i < 2000; i++) {
        bronze_err err = BRONZE_ERR_INIT;
        if (bronze_mkdirs(leaf, &err) != 0) {
            if (!failures++)
                snprintf(first, sizeof first, "%s", err.msg);
            continue;
        }
        rmdir(leaf); /* empty again: the pruner may take its parents */
    }
    g_prune_stop = 1;
    pthread_join(t, NULL);
    char p[128];
    snprintf(p, sizeof p, "%s/a/b", g_prune_root);
    rmdir(p);
    snprintf(p, sizeof p, "%s/a", g_prune_root);
    rmdir(p);
    rmdir(g_prune_root);
    if (failures)
        fail_msg("%d of 2000 mkdirs failed, first: %s", failures, first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mkdirs_races_a_pruner),
        cmocka_unit_test(test_json_plain_end),
        cmocka_unit_test(test_json_hex4),
        cmocka_unit_test(test_json_string_put),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_same),
        cmocka_unit_test(test_scan_digits),
        cmocka_unit_test(test_date_memo),
        cmocka_unit_test(test_hms),
        cmocka_unit_test(test_bits_copy),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_numbers_text),
        cmocka_unit_test(test_partition_paths),
        cmocka_unit_test(test_output_names),
        cmocka_unit_test(test_query_wrap),
        cmocka_unit_test(test_batch_nulls),
        cmocka_unit_test(test_batch_byte_cap),
        cmocka_unit_test(test_csv_encoder_format_and_fit),
        cmocka_unit_test(test_csv_fsync_failure_closes),
        cmocka_unit_test(test_utf8_locale_once),
        cmocka_unit_test(test_sha256_file),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
