/* Unit tests for the parallel CSV reader (src/source/file_csv_par.c and its
 * use in file.c), run under ASan/UBSan: record offsets and lines of
 * bronze_csv_open_at, the row copy between batches (validity bits at every
 * alignment, var-len offsets, the 16 MiB batch limit), and the file source
 * with 2-4 workers and ranges of a few bytes giving the same rows, batch
 * boundaries, schema, widenings and errors as with one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/batch.h"
#include "source/file_csv.h"
#include "source/file_csv_par.h"
#include "source/input.h"
#include "source/source.h"
#include "util/buf.h"

static char tmpdir[256];

static char *write_bytes(const char *name, const void *data, size_t n)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    FILE *f = fopen(p[k], "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    return p[k];
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bronze-csvp-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- bronze_csv_open_at: offsets and lines ---- */

static void test_offsets_and_lines(void **state)
{
    (void)state;
    const char text[] = "\xEF\xBB\xBF"
                        "a,b\r\n"         /* 3..8 */
                        "1,\"x\ny\"\n"    /* 8..16, two lines */
                        "2,z\r"           /* 16..20, a lone CR */
                        "3,\"\"\"\"\r\n"; /* 20..28 */
    char *p = write_bytes("off.csv", text, sizeof text - 1);
    bronze_input *in;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_input_open_path(&in, p, "off.csv", NULL, &err), 0);
    bronze_csv *r;
    assert_int_equal(bronze_csv_open(&r, in, ',', &err), 0);
    const bronze_csv_field *f;
    size_t n;
    static const uint64_t starts[] = {3, 8, 16, 20}, ends[] = {8, 16, 20, 28};
    static const uint64_t lines[] = {1, 2, 4, 5};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(bronze_csv_next(r, &f, &n, &err), 1);
        assert_int_equal(bronze_csv_record_offset(r), starts[i]);
        assert_int_equal(bronze_csv_offset(r), ends[i]);
        assert_int_equal(bronze_csv_record_line(r), lines[i]);
    }
    assert_int_equal(bronze_csv_next(r, &f, &n, &err), 0);
    assert_int_equal(bronze_csv_offset(r), sizeof text - 1);
    assert_int_equal(bronze_csv_line(r), 6);
    bronze_csv_close(r);

    /* From offset 16 on line 4 through a range input: the same records, the
     * same offsets and lines, and no BOM looked for. */
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(bronze_input_open_range(&in, fd, "off.csv", 16, sizeof text - 1, &err), 0);
    assert_int_equal(bronze_csv_open_at(&r, in, ',', 16, 4, &err), 0);
    assert_int_equal(bronze_csv_next(r, &f, &n, &err), 1);
    assert_int_equal(n, 2);
    assert_string_equal(f[1].p, "z");
    assert_int_equal(bronze_csv_record_line(r), 4);
    assert_int_equal(bronze_csv_next(r, &f, &n, &err), 1);
    assert_string_equal(f[1].p, "\"");
    assert_int_equal(bronze_csv_record_offset(r), 20);
    assert_int_equal(bronze_csv_next(r, &f, &n, &err), 0);
    bronze_csv_close(r);
    /* A range cut short ends early: the reader sees the end of its input. */
    assert_int_equal(bronze_input_open_range(&in, fd, "off.csv", 8, 12, &err), 0);
    assert_int_equal(bronze_csv_open_at(&r, in, ',', 8, 2, &err), 0);
    assert_int_equal(bronze_csv_next(r, &f, &n, &err), -1);
    assert_non_null(strstr(err.msg, "line 2: unterminated quoted field"));
    bronze_csv_close(r);
    close(fd);
}

/* ---- copying rows between batches ---- */

static bronze_schema *mixed_schema(void)
{
    bronze_schema *s = bronze_schema_new(3);
    assert_non_null(s);
    assert_int_equal(bronze_schema_set(s, 0, "s", BRONZE_T_STRING, 0, 0, true), 0);
    assert_int_equal(bronze_schema_set(s, 1, "i", BRONZE_T_INT64, 0, 0, true), 0);
    assert_int_equal(bronze_schema_set(s, 2, "b", BRONZE_T_BOOL, 0, 0, true), 0);
    return s;
}

/* Row r of the test data: nulls at varying places. */
static void put_test_row(bronze_batch *b, size_t r)
{
    char t[32];
    int n = snprintf(t, sizeof t, "v%zu", r * 7);
    if (r % 3 == 1)
        bronze_batch_put_null(b);
    else
        assert_int_equal(bronze_batch_put_bytes(b, t, (size_t)n), 0);
    if (r % 5 == 2)
        bronze_batch_put_null(b);
    else
        bronze_batch_put_i64(b, (int64_t)r * 1000 - 7);
    if (r % 4 == 3)
        bronze_batch_put_null(b);
    else
        bronze_batch_put_bool(b, r & 1);
    bronze_batch_end_row(b);
}

static void assert_batches_equal(const bronze_batch *a, const bronze_batch *b)
{
    assert_int_equal(a->nrows, b->nrows);
    assert_int_equal(a->var_bytes, b->var_bytes);
    for (size_t j = 0; j < a->schema->ncols; j++) {
        const bronze_column *x = &a->cols[j], *y = &b->cols[j];
        assert_int_equal(x->null_count, y->null_count);
        for (size_t r = 0; r < a->nrows; r++) {
            assert_int_equal(bronze_batch_is_valid(x, r), bronze_batch_is_valid(y, r));
            if (!bronze_batch_is_valid(x, r))
                continue;
            switch (a->schema->fields[j].type) {
            case BRONZE_T_STRING: {
                size_t n1, n2;
                const char *p1 = bronze_col_str(x, r, &n1), *p2 = bronze_col_str(y, r, &n2);
                assert_int_equal(n1, n2);
                assert_memory_equal(p1, p2, n1);
                break;
            }
            case BRONZE_T_INT64:
                assert_int_equal(x->v.i64[r], y->v.i64[r]);
                break;
            default:
                assert_int_equal(x->v.u8[r], y->v.u8[r]);
            }
        }
    }
}

static void test_copy_rows(void **state)
{
    (void)state;
    bronze_schema *s = mixed_schema();
    bronze_batch src, want, got;
    assert_int_equal(bronze_batch_init(&src, s, 100), 0);
    for (size_t r = 0; r < 100; r++)
        put_test_row(&src, r);
    /* Every start in dst (0..17) x every start in src (0..17) x lengths. */
    for (size_t pre = 0; pre < 18; pre++)
        for (size_t from = 0; from < 18; from++)
            for (size_t n = 0; n < 40; n += 13) {
                assert_int_equal(bronze_batch_init(&want, s, 100), 0);
                assert_int_equal(bronze_batch_init(&got, s, 100), 0);
                /* Dirty bits first: clear() keeps the bitmaps. */
                for (size_t r = 0; r < 60; r++) {
                    put_test_row(&got, r + 1);
                    put_test_row(&want, r + 1);
                }
                bronze_batch_clear(&got);
                bronze_batch_clear(&want);
                for (size_t r = 0; r < pre; r++) {
                    put_test_row(&want, 1000 + r);
                    put_test_row(&got, 1000 + r);
                }
                for (size_t r = 0; r < n; r++)
                    put_test_row(&want, from + r);
                assert_int_equal(bronze_csvp_copy_rows(&got, &src, from, n), 0);
                assert_batches_equal(&want, &got);
                bronze_batch_free(&want);
                bronze_batch_free(&got);
            }
    bronze_batch_free(&src);
    bronze_schema_free(s);
}

static void test_rows_fitting(void **state)
{
    (void)state;
    bronze_schema *s = bronze_schema_new(1);
    assert_int_equal(bronze_schema_set(s, 0, "s", BRONZE_T_STRING, 0, 0, true), 0);
    bronze_batch src, dst;
    assert_int_equal(bronze_batch_init(&src, s, 64), 0);
    assert_int_equal(bronze_batch_init(&dst, s, 64), 0);
    size_t big = 1u << 20; /* 1 MiB values: the 16 MiB limit ends the batch */
    char *v = calloc(1, big);
    assert_non_null(v);
    for (int r = 0; r < 40; r++) {
        assert_int_equal(bronze_batch_put_bytes(&src, v, r == 3 ? 10 : big), 0);
        bronze_batch_end_row(&src);
    }
    /* The sequential reader adds rows while the batch is not full: 16 rows of
     * 1 MiB (plus the 10-byte row 3) reach 16 MiB at the 17th row. */
    size_t k = bronze_csvp_rows_fitting(&dst, &src, 0);
    assert_int_equal(k, 17);
    assert_int_equal(bronze_csvp_copy_rows(&dst, &src, 0, k), 0);
    assert_true(bronze_batch_full(&dst));
    assert_int_equal(bronze_csvp_rows_fitting(&dst, &src, k), 0);
    bronze_batch_clear(&dst);
    assert_int_equal(bronze_csvp_rows_fitting(&dst, &src, 17), 16);
    /* The row cap. */
    bronze_batch_clear(&dst);
    for (int r = 0; r < 60; r++) {
        assert_int_equal(bronze_batch_put_bytes(&dst, "x", 1), 0);
        bronze_batch_end_row(&dst);
    }
    assert_int_equal(bronze_csvp_rows_fitting(&dst, &src, 30), 4);
    free(v);
    bronze_batch_free(&src);
    bronze_batch_free(&dst);
    bronze_schema_free(s);
}

/* ---- the file source, 1 worker against several ---- */

typedef struct outcome {
    int rc;
    bronze_err err;
    int restarts;
    bronze_buf text;    /* every row, "a|b|c\n" */
    bronze_buf batches; /* each batch's row count, "n," */
    bronze_buf types;   /* the final schema's types */
} outcome;

static void outcome_free(outcome *o)
{
    bronze_buf_free(&o->text);
    bronze_buf_free(&o->batches);
    bronze_buf_free(&o->types);
}

static void row_text(const bronze_batch *b, size_t r, bronze_buf *out)
{
    for (size_t j = 0; j < b->schema->ncols; j++) {
        const bronze_column *c = &b->cols[j];
        if (j)
            bronze_buf_putc(out, '|');
        if (!bronze_batch_is_valid(c, r)) {
            bronze_buf_append(out, "NULL", 4);
            continue;
        }
        switch (b->schema->fields[j].type) {
        case BRONZE_T_STRING: {
            size_t n;
            const char *p = bronze_col_str(c, r, &n);
            bronze_buf_append(out, p, n);
            break;
        }
        case BRONZE_T_INT64:
            bronze_buf_printf(out, "%lld", (long long)c->v.i64[r]);
            break;
        case BRONZE_T_DOUBLE:
            bronze_buf_printf(out, "%.17g", c->v.f64[r]);
            break;
        case BRONZE_T_DATE:
            bronze_buf_printf(out, "d%d", (int)c->v.i32[r]);
            break;
        default:
            bronze_buf_printf(out, "%d", (int)c->v.u8[r]);
        }
    }
    bronze_buf_putc(out, '\n');
}

static outcome run_file(const char *path, int workers, const char *range_bytes, bool header,
                        size_t batch_cap)
{
    outcome o;
    memset(&o, 0, sizeof o);
    bronze_config c;
    memset(&c, 0, sizeof c);
    c.path = "test.yaml";
    c.type = BRONZE_SRC_FILE;
    c.file.path = (char *)path;
    c.file.format = BRONZE_FILE_CSV;
    c.file.delimiter = ',';
    c.file.header = header;
    c.run.parallel_workers = workers;
    setenv("BRONZE_CSV_RANGE_BYTES", range_bytes, 1);
    bronze_source_ctx ctx = {.cfg = &c, .run_date = "2025-01-12", .batch_rows = batch_cap};
    bronze_source *s;
    if (bronze_source_file.open(&s, &ctx, &o.err)) {
        o.rc = -1;
        unsetenv("BRONZE_CSV_RANGE_BYTES");
        return o;
    }
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, bronze_source_file.schema(s), batch_cap), 0);
    for (;;) {
        int r = bronze_source_file.next(s, &b, &o.err);
        if (r < 0) {
            o.rc = -1;
            break;
        }
        if (r == BRONZE_SRC_END)
            break;
        if (r == BRONZE_SRC_RESTART) {
            o.restarts++;
            o.text.len = o.batches.len = 0;
            bronze_batch_free(&b);
            assert_int_equal(bronze_batch_init(&b, bronze_source_file.schema(s), batch_cap), 0);
            continue;
        }
        bronze_buf_printf(&o.batches, "%zu,", b.nrows);
        for (size_t i = 0; i < b.nrows; i++)
            row_text(&b, i, &o.text);
    }
    const bronze_schema *sc = bronze_source_file.schema(s);
    for (size_t j = 0; j < sc->ncols; j++)
        bronze_buf_printf(&o.types, "%s:%s,", sc->fields[j].name,
                          bronze_type_name(sc->fields[j].type));
    bronze_buf_cstr(&o.text);
    bronze_buf_cstr(&o.batches);
    bronze_buf_cstr(&o.types);
    bronze_batch_free(&b);
    bronze_source_file.close(s);
    unsetenv("BRONZE_CSV_RANGE_BYTES");
    return o;
}

static void assert_same(const outcome *a, const outcome *b)
{
    assert_int_equal(a->rc, b->rc);
    if (a->rc)
        assert_string_equal(a->err.msg, b->err.msg);
    assert_int_equal(a->restarts, b->restarts);
    assert_string_equal(a->types.data ? (char *)a->types.data : "",
                        b->types.data ? (char *)b->types.data : "");
    assert_string_equal(a->batches.data ? (char *)a->batches.data : "",
                        b->batches.data ? (char *)b->batches.data : "");
    assert_int_equal(a->text.len, b->text.len);
    if (a->text.len)
        assert_memory_equal(a->text.data, b->text.data, a->text.len);
}

static void check_all(const char *path, bool header, const char *const *sizes, size_t nsizes,
                      bool want_ok)
{
    outcome base = run_file(path, 1, "1", header, 50);
    if (base.rc != (want_ok ? 0 : -1))
        fail_msg("%s: %s", path, base.rc ? base.err.msg : "no error");
    for (size_t i = 0; i < nsizes; i++)
        for (int w = 2; w <= 4; w++) {
            outcome got = run_file(path, w, sizes[i], header, 50);
            assert_same(&base, &got);
            outcome_free(&got);
        }
    outcome_free(&base);
}

/* Quoted newlines at every position, quoted text shaped like records of the
 * right width, "" escapes, CRLF and lone CR, blank lines. */
static char *tricky(size_t rows, size_t *len)
{
    static const char *texts[] = {
        "plain",
        "\"multi\nline\"",
        "\"x,y,z\n1,2,3\n4,5,6\"",
        "\"q \"\" q\"",
        "\"\"\"\"",
        "\"\n\"",
        "\"cr\r\nlf\"",
        "",
        "\"a,b\"",
        "\"ends\n\"",
        "\"\xC3\xBC\n\xE2\x9C\x93\"",
    };
    size_t nt = sizeof texts / sizeof *texts;
    bronze_buf b = BRONZE_BUF_INIT;
    bronze_buf_printf(&b, "id,n,t,u\r\n");
    unsigned x = 12345;
    for (size_t i = 0; i < rows; i++) {
        x = x * 1103515245u + 12345u;
        const char *t = texts[(x >> 8) % nt];
        const char *u = texts[(x >> 16) % nt];
        const char *eol = (x >> 4) % 3 == 0 ? "\r\n" : "\n";
        bronze_buf_printf(&b, "%zu,%u,%s,%s%s", i, (x >> 20) % 1000, t, u, eol);
        if ((x >> 12) % 29 == 0)
            bronze_buf_printf(&b, "%s", eol); /* a blank line */
    }
    *len = b.len;
    return (char *)b.data;
}

static void test_parallel_same_rows(void **state)
{
    (void)state;
    size_t n;
    char *t = tricky(1500, &n);
    const char *p = write_bytes("tricky.csv", t, n);
    static const char *const sizes[] = {"1", "2", "3", "5", "17", "64", "1000", "100000"};
    check_all(p, true, sizes, sizeof sizes / sizeof *sizes, true);
    free(t);
}

static void test_parallel_lone_cr_and_no_newline(void **state)
{
    (void)state;
    /* Records end in a lone CR only: no newline to guess a start from, every
     * range is re-read on one thread. */
    const char *cr = "a,b\r1,2\r3,\"x\ry\"\r5,6\r7,8";
    const char *p = write_bytes("cr.csv", cr, strlen(cr));
    static const char *const sizes[] = {"1", "4", "9"};
    check_all(p, true, sizes, 3, true);
    /* No header; the last record has no line end. */
    const char *nh = "1,\"a\nb\"\n2,c\n3,\"d\ne\"";
    p = write_bytes("nh.csv", nh, strlen(nh));
    check_all(p, false, sizes, 3, true);
}

static void test_parallel_errors(void **state)
{
    (void)state;
    size_t n;
    char *t = tricky(700, &n);
    static const char *tails[] = {
        "700,1,\"a\nb\",x,extra\n701,2,a,b\n", /* a field too many */
        "700,1,\"bad \xFF\",x\n",              /* invalid UTF-8 */
        "700,1,\"never closed,x\n701,2,a,b\n", /* unterminated quote */
        "700,1,\"a\"b,x\n",                    /* text after a closing quote */
    };
    static const char *const sizes[] = {"3", "50", "4096"};
    for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
        bronze_buf b = BRONZE_BUF_INIT;
        bronze_buf_append(&b, t, n);
        bronze_buf_printf(&b, "%s", tails[i]);
        const char *p = write_bytes("bad.csv", b.data, b.len);
        check_all(p, true, sizes, 3, false);
        bronze_buf_free(&b);
    }
    free(t);
}

static void test_parallel_widening(void **state)
{
    (void)state;
    /* Past the 20,480-row sample: an integer column meets 2.5 in one range
     * and a date column text in a later one. */
    bronze_buf b = BRONZE_BUF_INIT;
    bronze_buf_printf(&b, "id,n,d,t\n");
    for (int i = 0; i < 23000; i++)
        bronze_buf_printf(&b, "%d,%s,%s,\"t\n%d\"\n", i, i == 21500 ? "2.5" : "7",
                          i == 22900 ? "not a date" : "2024-01-02", i);
    const char *p = write_bytes("widen.csv", b.data, b.len);
    static const char *const sizes[] = {"4096", "100000"};
    outcome base = run_file(p, 1, "1", true, 8192);
    assert_int_equal(base.rc, 0);
    assert_int_equal(base.restarts, 1);
    assert_non_null(strstr((char *)base.types.data, "n:DOUBLE,d:STRING"));
    for (size_t i = 0; i < 2; i++) {
        outcome got = run_file(p, 2, sizes[i], true, 8192);
        assert_same(&base, &got);
        outcome_free(&got);
    }
    outcome_free(&base);
    /* The scan after the widening meets a bad record: the same message. */
    bronze_buf_printf(&b, "23000,7,2024-01-02,\"x\",extra\n");
    p = write_bytes("widen_bad.csv", b.data, b.len);
    base = run_file(p, 1, "1", true, 8192);
    assert_int_equal(base.rc, -1);
    assert_non_null(strstr(base.err.msg, "expected 4 fields"));
    for (size_t i = 0; i < 2; i++) {
        outcome got = run_file(p, 3, sizes[i], true, 8192);
        assert_same(&base, &got);
        outcome_free(&got);
    }
    outcome_free(&base);
    bronze_buf_free(&b);
}

/* texts[0..n) as a one-column CSV file: typed DOUBLE, each value read back
 * as the very double strtod gives (row_text prints %.17g, which round-trips
 * a double exactly). */
static void assert_doubles_as_strtod(const char *name, char *const *texts, size_t n)
{
    bronze_buf b = BRONZE_BUF_INIT;
    bronze_buf_printf(&b, "x\n");
    for (size_t i = 0; i < n; i++)
        bronze_buf_printf(&b, "%s\n", texts[i]);
    const char *p = write_bytes(name, b.data, b.len);
    outcome o = run_file(p, 1, "1", true, 8192);
    assert_int_equal(o.rc, 0);
    assert_string_equal((char *)o.types.data, "x:DOUBLE,");
    const char *line = (const char *)o.text.data;
    for (size_t i = 0; i < n; i++) {
        double got = strtod(line, NULL), want = strtod(texts[i], NULL);
        if (memcmp(&got, &want, sizeof got))
            fail_msg("%s: read %.17g, strtod %.17g", texts[i], got, want);
        line = strchr(line, '\n') + 1;
    }
    outcome_free(&o);
    bronze_buf_free(&b);
}

/* Decimal texts whose digits overflow 64 bits (an integer part of 2^64 or
 * 2^65 wraps to 0) and long zero fractions: read as strtod reads them, never
 * as the fraction alone. */
static void test_doubles_past_64_bits(void **state)
{
    (void)state;
    char *texts[] = {"18446744073709551616.5",
                     "36893488147419103232.25",
                     "-18446744073709551616.0",
                     "0.000000000000000000000000000001",
                     "0.5",
                     "1000000000000000000000.5"};
    assert_doubles_as_strtod("doubles64.csv", texts, sizeof texts / sizeof *texts);
}

/* Decimals of 1-18 digits, some with exponents (plain_decimal(), the fast
 * path and the long double path of fast_double in file.c), read back as the
 * very double strtod gives. */
static void test_doubles_match_strtod(void **state)
{
    (void)state;
    enum { N = 200000 };
    char **texts = calloc(N, sizeof *texts);
    assert_non_null(texts);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* half of them 15-18 digits, half 1-18 (the one-pass and the
         * fast-path shapes: 0.x, x., -0.0 among them) */
        int nd = i % 2 ? 15 + (int)(x % 4) : 1 + (int)(x % 18),
            dot = 1 + (int)((x >> 8) % (uint64_t)nd);
        char t[64];
        size_t k = 0;
        if ((x >> 16) & 1)
            t[k++] = '-';
        uint64_t y = x;
        for (int d = 0; d < nd; d++) {
            if (d == dot)
                t[k++] = '.';
            y = y * 6364136223846793005ull + 1442695040888963407ull;
            t[k++] = (char)('0' + (d == 0 ? (dot == 1 && (y >> 40) % 3 == 0 ? 0 : 1 + (y >> 60) % 9)
                                          : (y >> 59) % 10));
        }
        if (dot == nd)
            t[k++] = '.';
        if (dot == nd && (x >> 28) & 1)
            t[k++] = '5';
        if ((x >> 20) % 3 == 0)
            k += (size_t)snprintf(t + k, sizeof t - k, "e%d", (int)((x >> 24) % 61) - 30);
        t[k] = 0;
        texts[i] = strdup(t);
    }
    assert_doubles_as_strtod("doubles.csv", texts, N);
    for (int i = 0; i < N; i++)
        free(texts[i]);
    free(texts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_and_lines),
        cmocka_unit_test(test_copy_rows),
        cmocka_unit_test(test_rows_fitting),
        cmocka_unit_test(test_parallel_same_rows),
        cmocka_unit_test(test_parallel_lone_cr_and_no_newline),
        cmocka_unit_test(test_parallel_errors),
        cmocka_unit_test(test_parallel_widening),
        cmocka_unit_test(test_doubles_match_strtod),
        cmocka_unit_test(test_doubles_past_64_bits),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
