/* Unit tests for the `type: file` source (src/source/file.c, file_csv.c,
 * file_json.c): CSV parsing, type guessing and widening with RESTART, globs,
 * JSON Lines / JSON array shapes and every malformed-input message. Fixtures
 * are written at test time into a private temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "batch/batch.h"
#include "source/file_csv.h"
#include "util/utf8.h"
#include "source/file_json.h"
#include "source/input.h"
#include "source/source.h"
#include "source/spool.h"
#include "util/buf.h"
#include "util/datetime.h"

static char tmpdir[256];

/* ---- fixtures ---- */

static char *fixture_path(const char *name)
{
    static char p[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static char *write_bytes(const char *name, const void *data, size_t n)
{
    char *p = fixture_path(name);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", p);
    char *slash = strrchr(dir, '/');
    if (slash && slash > dir + strlen(tmpdir)) {
        *slash = 0;
        mkdir(dir, 0755);
    }
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    return p;
}

static char *write_file(const char *name, const char *text)
{
    return write_bytes(name, text, strlen(text));
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bronze-file-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static bronze_config make_cfg(const char *path, bronze_file_format fmt)
{
    bronze_config c;
    memset(&c, 0, sizeof c);
    c.path = "test.yaml";
    c.type = BRONZE_SRC_FILE;
    c.file.path = (char *)path;
    c.file.format = fmt;
    c.file.delimiter = ',';
    c.file.header = true;
    return c;
}

/* ---- running a source to the end ---- */

typedef struct result {
    int rc; /* 0, or -1 with err */
    bronze_err err;
    bronze_schema *schema; /* the final schema (clone) */
    size_t rows;
    int restarts;
    int batches_before_restart; /* ROWS batches returned before the first RESTART */
    bronze_buf text;            /* rows as "a|b|c\n" (when keep_text) */
    char last[256];             /* the last row's text */
} result;

static void value_text(const bronze_field *f, const bronze_column *c, size_t r, bronze_buf *out)
{
    char t[BRONZE_DT_MAX + 8];
    if (!bronze_batch_is_valid(c, r)) {
        bronze_buf_append(out, "NULL", 4);
        return;
    }
    switch (f->type) {
    case BRONZE_T_BOOL:
        bronze_buf_printf(out, "%s", c->v.u8[r] ? "true" : "false");
        break;
    case BRONZE_T_INT64:
        bronze_buf_printf(out, "%lld", (long long)c->v.i64[r]);
        break;
    case BRONZE_T_DOUBLE:
        bronze_buf_printf(out, "%.17g", c->v.f64[r]);
        break;
    case BRONZE_T_DATE:
        bronze_fmt_date(c->v.i32[r], t);
        bronze_buf_printf(out, "%s", t);
        break;
    case BRONZE_T_TIMESTAMP:
        bronze_fmt_timestamp(c->v.i64[r], 'T', "", t);
        bronze_buf_printf(out, "%s", t);
        break;
    case BRONZE_T_TIMESTAMPTZ:
        bronze_fmt_timestamp(c->v.i64[r], 'T', "Z", t);
        bronze_buf_printf(out, "%s", t);
        break;
    case BRONZE_T_STRING: {
        size_t n;
        const char *p = bronze_col_str(c, r, &n);
        bronze_buf_append(out, p, n);
        break;
    }
    default:
        bronze_buf_printf(out, "?");
    }
}

static result run_source(const bronze_config *cfg, size_t batch_cap, bool keep_text)
{
    result res;
    memset(&res, 0, sizeof res);
    bronze_source_ctx ctx = {.cfg = cfg, .run_date = "2025-01-12", .batch_rows = batch_cap};
    bronze_source *s;
    if (bronze_source_file.open(&s, &ctx, &res.err)) {
        res.rc = -1;
        return res;
    }
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, bronze_source_file.schema(s), batch_cap), 0);
    bronze_buf row = BRONZE_BUF_INIT;
    for (;;) {
        int r = bronze_source_file.next(s, &b, &res.err);
        if (r < 0) {
            res.rc = -1;
            break;
        }
        if (r == BRONZE_SRC_END)
            break;
        if (r == BRONZE_SRC_RESTART) {
            res.restarts++;
            res.rows = 0;
            res.text.len = 0;
            bronze_batch_free(&b);
            assert_int_equal(bronze_batch_init(&b, bronze_source_file.schema(s), batch_cap), 0);
            continue;
        }
        assert_int_equal(r, BRONZE_SRC_ROWS);
        assert_true(b.nrows >= 1 && b.nrows <= b.cap);
        if (!res.restarts)
            res.batches_before_restart++;
        for (size_t i = 0; i < b.nrows; i++) {
            row.len = 0;
            for (size_t j = 0; j < b.schema->ncols; j++) {
                if (j)
                    bronze_buf_putc(&row, '|');
                value_text(&b.schema->fields[j], &b.cols[j], i, &row);
            }
            bronze_buf_putc(&row, '\n');
            if (keep_text)
                bronze_buf_append(&res.text, row.data, row.len);
            snprintf(res.last, sizeof res.last, "%.*s", (int)row.len - 1, (const char *)row.data);
        }
        res.rows += b.nrows;
    }
    bronze_buf_cstr(&res.text);
    bronze_buf_free(&row);
    assert_null(bronze_source_file.cursor(s));
    if (res.rc == 0)
        res.schema = bronze_schema_clone(bronze_source_file.schema(s));
    bronze_batch_free(&b);
    bronze_source_file.close(s);
    return res;
}

static void result_free(result *r)
{
    bronze_schema_free(r->schema);
    bronze_buf_free(&r->text);
}

/* "name:TYPE,name:TYPE" */
static void assert_schema(const result *r, const char *want)
{
    assert_int_equal(r->rc, 0);
    bronze_buf got = BRONZE_BUF_INIT;
    for (size_t j = 0; j < r->schema->ncols; j++) {
        const bronze_field *f = &r->schema->fields[j];
        bronze_buf_printf(&got, "%s%s:%s", j ? "," : "", f->name, bronze_type_name(f->type));
        assert_true(f->nullable);
    }
    bronze_buf_cstr(&got);
    assert_string_equal(got.data ? (char *)got.data : "", want);
    bronze_buf_free(&got);
}

static result run_text(const char *name, const char *content, bronze_file_format fmt)
{
    bronze_config cfg = make_cfg(write_file(name, content), fmt);
    return run_source(&cfg, 3, true);
}

static void assert_error(const result *r, const char *needle1, const char *needle2)
{
    assert_int_equal(r->rc, -1);
    assert_int_equal(r->err.kind, BRONZE_E_RUNTIME);
    if (!strstr(r->err.msg, needle1) || (needle2 && !strstr(r->err.msg, needle2)))
        fail_msg("error message '%s' lacks '%s' / '%s'", r->err.msg, needle1,
                 needle2 ? needle2 : "");
}

/* ---- CSV ---- */

static void test_csv_types(void **state)
{
    (void)state;
    result r = run_text("types.csv",
                        "b,i,d,dt,ts,tz,s\n"
                        "true,1,1.5,2024-01-15,2024-01-15 10:30:00,2024-01-15T10:00:00+02:00,x\n"
                        "FALSE,-42,-2e3,2024-02-29,2024-01-15T10:30,2024-01-15T23:30:00.5Z,y\n"
                        "True,9223372036854775807,.25,1970-01-01,2024-01-15 "
                        "10:30:00.123456,2024-06-01 12:00-0130,z z\n",
                        BRONZE_FILE_CSV);
    assert_schema(&r, "b:BOOLEAN,i:INT64,d:DOUBLE,dt:DATE,ts:TIMESTAMP,tz:TIMESTAMPTZ,s:STRING");
    assert_int_equal(r.rows, 3);
    assert_string_equal((char *)r.text.data,
                        "true|1|1.5|2024-01-15|2024-01-15T10:30:00|2024-01-15T08:00:00Z|x\n"
                        "false|-42|-2000|2024-02-29|2024-01-15T10:30:00|2024-01-15T23:30:00.5Z|y\n"
                        "true|9223372036854775807|0.25|1970-01-01|2024-01-15T10:30:00.123456|"
                        "2024-06-01T13:30:00Z|z z\n");
    assert_int_equal(r.restarts, 0);
    result_free(&r);
}

static void test_csv_quotes_newlines_crlf(void **state)
{
    (void)state;
    /* CRLF line ends, delimiter and quotes inside quotes, LF and CRLF inside
     * quotes, JSON text in a field, a quoted number. */
    const char *csv = "id,text,json\r\n"
                      "1,\"a,b\",\"{\"\"k\"\": [1, \"\"x\"\"]}\"\r\n"
                      "2,\"line1\nline2\",\"\"\"quoted\"\"\"\r\n"
                      "\"3\",\"crlf\r\ninside\",plain\r\n";
    result r = run_text("quotes.csv", csv, BRONZE_FILE_CSV);
    assert_schema(&r, "id:INT64,text:STRING,json:STRING");
    assert_string_equal((char *)r.text.data, "1|a,b|{\"k\": [1, \"x\"]}\n"
                                             "2|line1\nline2|\"quoted\"\n"
                                             "3|crlf\r\ninside|plain\n");
    result_free(&r);
}

static void test_csv_bom_utf8(void **state)
{
    (void)state;
    result r = run_text("bom.csv",
                        "\xEF\xBB\xBFnom,ville\n"
                        "na\xC3\xAFve,\xE6\x9D\xB1\xE4\xBA\xAC\n"
                        "\xF0\x9F\x98\x80,S\xC3\xA3o Paulo\n",
                        BRONZE_FILE_CSV);
    assert_schema(&r, "nom:STRING,ville:STRING");
    assert_string_equal((char *)r.text.data, "na\xC3\xAFve|\xE6\x9D\xB1\xE4\xBA\xAC\n"
                                             "\xF0\x9F\x98\x80|S\xC3\xA3o Paulo\n");
    result_free(&r);
}

static void test_csv_empty_and_header_only(void **state)
{
    (void)state;
    result r = run_text("empty.csv", "", BRONZE_FILE_CSV);
    assert_schema(&r, "");
    assert_int_equal(r.rows, 0);
    result_free(&r);

    r = run_text("bom_only.csv", "\xEF\xBB\xBF", BRONZE_FILE_CSV);
    assert_schema(&r, "");
    assert_int_equal(r.rows, 0);
    result_free(&r);

    r = run_text("header_only.csv", "a,b,c\n", BRONZE_FILE_CSV);
    assert_schema(&r, "a:STRING,b:STRING,c:STRING");
    assert_int_equal(r.rows, 0);
    result_free(&r);

    r = run_text("header_only_noeol.csv", "x;y", BRONZE_FILE_CSV);
    assert_schema(&r, "x;y:STRING");
    result_free(&r);
}

static void test_csv_ragged_row(void **state)
{
    (void)state;
    result r = run_text("ragged.csv", "a,b\n1,2\n\"multi\nline\",3\n4,5,6\n", BRONZE_FILE_CSV);
    assert_error(&r, "ragged.csv: line 5: expected 2 fields (as in the header), found 3", NULL);
    result_free(&r);

    r = run_text("ragged2.csv", "a,b,c\n1,2,3\n7\n", BRONZE_FILE_CSV);
    assert_error(&r, "ragged2.csv: line 3: expected 3 fields", "found 1");
    result_free(&r);
}

static void test_csv_invalid_utf8(void **state)
{
    (void)state;
    result r = run_text("badutf.csv", "a,b\nok,fine\n\"two\nlines\",caf\xE9\n", BRONZE_FILE_CSV);
    assert_error(&r, "badutf.csv: line 4: invalid UTF-8", "field 2");
    result_free(&r);

    /* Overlong encodings and surrogates are invalid too. */
    assert_int_equal(bronze_utf8_check("a\xC0\x80", 3), 1);
    assert_int_equal(bronze_utf8_check("\xED\xA0\x80", 3), 0);
    assert_int_equal(bronze_utf8_check("ab\xE6\x9D", 4), 2);
    assert_int_equal(bronze_utf8_check("\xF0\x9F\x98\x80z", 5), 5);
    assert_int_equal(bronze_utf8_check("\xF4\x90\x80\x80", 4), 0);
}

static void test_csv_unterminated_quote(void **state)
{
    (void)state;
    result r = run_text("unterminated.csv", "a,b\n1,2\n3,\"never\nclosed\n\n", BRONZE_FILE_CSV);
    assert_error(&r, "unterminated.csv: line 3: unterminated quoted field", NULL);
    result_free(&r);

    r = run_text("junk_after_quote.csv", "a,b\n\"x\"y,2\n", BRONZE_FILE_CSV);
    assert_error(&r, "junk_after_quote.csv: line 2: unexpected character 'y'", NULL);
    result_free(&r);
}

static void test_csv_leading_zero_and_numbers(void **state)
{
    (void)state;
    result r = run_text("zeros.csv",
                        "zip,zero,half,neg,big,nearbig,plus,space\n"
                        "08123,0,0.5,-01,9223372036854775808,-9223372036854775808,+5, 5\n"
                        "12345,-0,10.25,-1,1,1,6,6\n",
                        BRONZE_FILE_CSV);
    assert_schema(&r, "zip:STRING,zero:INT64,half:DOUBLE,neg:STRING,big:STRING,nearbig:INT64,"
                      "plus:STRING,space:STRING");
    assert_string_equal((char *)r.text.data,
                        "08123|0|0.5|-01|9223372036854775808|-9223372036854775808|+5| 5\n"
                        "12345|0|10.25|-1|1|1|6|6\n");
    result_free(&r);
}

static void test_csv_null_vs_empty(void **state)
{
    (void)state;
    result r = run_text("nulls.csv", "n,s,allnull\n1,\"\",\n,x,\n3,,\n", BRONZE_FILE_CSV);
    assert_schema(&r, "n:INT64,s:STRING,allnull:STRING");
    assert_string_equal((char *)r.text.data, "1||NULL\nNULL|x|NULL\n3|NULL|NULL\n");
    result_free(&r);

    /* A quoted "" is the empty string: it votes STRING, so an int column
     * with one becomes text. */
    r = run_text("quoted_empty.csv", "n\n1\n\"\"\n2\n", BRONZE_FILE_CSV);
    assert_schema(&r, "n:STRING");
    assert_string_equal((char *)r.text.data, "1\n\n2\n");
    result_free(&r);
}

static void test_csv_null_values(void **state)
{
    (void)state;
    char *markers[] = {"NA", "-", "null"};
    bronze_config cfg = make_cfg(write_file("markers.csv", "n,s\n1,NA\nNA,\"NA\"\n-,null\n4,na\n"),
                                 BRONZE_FILE_CSV);
    cfg.file.null_values = markers;
    cfg.file.n_null_values = 3;
    result r = run_source(&cfg, 10, true);
    assert_schema(&r, "n:INT64,s:STRING");
    assert_string_equal((char *)r.text.data, "1|NULL\nNULL|NA\nNULL|NULL\n4|na\n");
    result_free(&r);

    /* Without the markers the same file is all text. */
    cfg.file.n_null_values = 0;
    r = run_source(&cfg, 10, true);
    assert_schema(&r, "n:STRING,s:STRING");
    result_free(&r);
}

static void test_csv_header_false_and_delimiter(void **state)
{
    (void)state;
    bronze_config cfg =
        make_cfg(write_file("nohdr.csv", "1;a;true\n2;\"b;c\";false\n"), BRONZE_FILE_CSV);
    cfg.file.header = false;
    cfg.file.delimiter = ';';
    result r = run_source(&cfg, 10, true);
    assert_schema(&r, "column0:INT64,column1:STRING,column2:BOOLEAN");
    assert_string_equal((char *)r.text.data, "1|a|true\n2|b;c|false\n");
    result_free(&r);

    cfg = make_cfg(write_file("tabs.tsv", "a\tb\n1\t\"x\ty\"\n"), BRONZE_FILE_CSV);
    cfg.file.delimiter = '\t';
    r = run_source(&cfg, 10, true);
    assert_schema(&r, "a:INT64,b:STRING");
    assert_string_equal((char *)r.text.data, "1|x\ty\n");
    result_free(&r);
}

static void test_csv_header_names(void **state)
{
    (void)state;
    /* Empty names -> columnN; repeated names -> name_2. */
    result r = run_text("names.csv", "a,,a,b\n1,2,3,4\n", BRONZE_FILE_CSV);
    assert_schema(&r, "a:INT64,column1:INT64,a_2:INT64,b:INT64");
    result_free(&r);
}

static void test_csv_blank_lines(void **state)
{
    (void)state;
    /* Blank lines are skipped in a multi-column file... */
    result r = run_text("blank.csv", "a,b\n1,2\n\n3,4\n\n", BRONZE_FILE_CSV);
    assert_string_equal((char *)r.text.data, "1|2\n3|4\n");
    result_free(&r);
    /* ...and are a NULL in a one-column file. */
    r = run_text("blank1.csv", "a\n1\n\n3\n", BRONZE_FILE_CSV);
    assert_string_equal((char *)r.text.data, "1\nNULL\n3\n");
    result_free(&r);
}

static void test_csv_guess_and_widen_rules(void **state)
{
    (void)state;
    result r = run_text("widen.csv",
                        "id,mix,bi,dts,tsmix,nanok,nanonly,nanstr,dbl,bad_date,frac9,lower\n"
                        "1,1,true,2024-01-01,2024-01-01 00:00,1,NaN,inf,1e5,2024-02-30,"
                        "2024-01-01 00:00:00.123456789,tRuE\n"
                        "2,2.5,1,2024-01-01 10:00,2024-01-01T00:00Z,-inf,nan,x,-1.5E-3,2024-13-01,"
                        "2024-01-01 00:00:00.1,fAlSe\n"
                        ",,,,,Infinity,,,,,,\n",
                        BRONZE_FILE_CSV);
    assert_schema(&r, "id:INT64,mix:DOUBLE,bi:STRING,dts:STRING,tsmix:STRING,nanok:DOUBLE,"
                      "nanonly:STRING,nanstr:STRING,dbl:DOUBLE,bad_date:STRING,frac9:STRING,"
                      "lower:BOOLEAN");
    assert_string_equal((char *)r.text.data,
                        "1|1|true|2024-01-01|2024-01-01 00:00|1|NaN|inf|100000|2024-02-30|"
                        "2024-01-01 00:00:00.123456789|true\n"
                        "2|2.5|1|2024-01-01 10:00|2024-01-01T00:00Z|-inf|nan|x|-0.0015|2024-13-01|"
                        "2024-01-01 00:00:00.1|false\n"
                        "NULL|NULL|NULL|NULL|NULL|inf|NULL|NULL|NULL|NULL|NULL|NULL\n");
    result_free(&r);
}

/* Writes `n` rows "i,i*2" then the given tail to a CSV file. */
static char *write_many(const char *name, size_t n, const char *tail)
{
    char *p = fixture_path(name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "v,w\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%zu,%zu\n", i, i * 2);
    fputs(tail, f);
    fclose(f);
    return p;
}

static void test_csv_widen_int_to_double_after_100k(void **state)
{
    (void)state;
    bronze_config cfg = make_cfg(write_many("late_double.csv", 100000, "2.5,7\n"), BRONZE_FILE_CSV);
    result r = run_source(&cfg, 4096, false);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.restarts, 1);
    /* The first pass delivered whole batches before it met 2.5. */
    assert_int_equal(r.batches_before_restart, 100000 / 4096);
    assert_schema(&r, "v:DOUBLE,w:INT64");
    assert_int_equal(r.rows, 100001);
    assert_string_equal(r.last, "2.5|7");
    result_free(&r);

    /* The sample alone (first 20,480 rows) says INT64. */
    bronze_source_ctx ctx = {.cfg = &cfg, .batch_rows = 16};
    bronze_source *s;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_source_file.open(&s, &ctx, &err), 0);
    assert_int_equal(bronze_source_file.schema(s)->fields[0].type, BRONZE_T_INT64);
    bronze_source_file.close(s);
}

static void test_csv_widen_int_to_string(void **state)
{
    (void)state;
    /* Late: beyond the sample, one restart, exact text kept. */
    bronze_config cfg = make_cfg(write_many("late_abc.csv", 30000,
                                            "abc,1\n7,2.5\n99999999999999999999,"
                                            "3\n"),
                                 BRONZE_FILE_CSV);
    result r = run_source(&cfg, 1000, false);
    assert_int_equal(r.restarts, 1); /* both widenings found in one pass */
    assert_schema(&r, "v:STRING,w:DOUBLE");
    assert_int_equal(r.rows, 30003);
    assert_string_equal(r.last, "99999999999999999999|3");
    result_free(&r);

    /* Inside the sample: no restart at all. */
    r = run_text("early_abc.csv", "v\n1\nabc\n3\n", BRONZE_FILE_CSV);
    assert_int_equal(r.restarts, 0);
    assert_schema(&r, "v:STRING");
    assert_string_equal((char *)r.text.data, "1\nabc\n3\n");
    result_free(&r);
}

static void test_csv_glob_union(void **state)
{
    (void)state;
    write_file("glob/part2.csv", "id,extra,name\n3,x,carol\n");
    write_file("glob/part1.csv", "id,name\n1,alice\n2,bob\n");
    write_file("glob/part3.csv", "");
    write_file("glob/notes.txt", "not,matched\n");
    mkdir(fixture_path("glob/sub.csv"), 0755); /* a directory: skipped */
    bronze_config cfg = make_cfg(fixture_path("glob/*.csv"), BRONZE_FILE_CSV);
    result r = run_source(&cfg, 2, true);
    assert_schema(&r, "id:INT64,name:STRING,extra:STRING");
    assert_string_equal((char *)r.text.data, "1|alice|NULL\n2|bob|NULL\n3|carol|x\n");
    result_free(&r);

    /* No match: a runtime error naming the path. */
    cfg = make_cfg(fixture_path("glob/*.parquet"), BRONZE_FILE_CSV);
    r = run_source(&cfg, 2, true);
    assert_error(&r, "no file matches", "glob/*.parquet");
    assert_true(strstr(r.err.msg, "test.yaml") != NULL);
    result_free(&r);

    /* A matched file that cannot be read: named. */
    assert_int_equal(symlink(fixture_path("glob/missing-target"), fixture_path("glob/zz.csv")), 0);
    cfg = make_cfg(fixture_path("glob/*.csv"), BRONZE_FILE_CSV);
    r = run_source(&cfg, 2, true);
    assert_error(&r, "glob/zz.csv: cannot read", NULL);
    result_free(&r);
    unlink(fixture_path("glob/zz.csv"));
    if (geteuid() != 0) {
        char *p = write_file("glob/locked.csv", "id\n1\n");
        chmod(p, 0);
        r = run_source(&cfg, 2, true);
        assert_error(&r, "glob/locked.csv: cannot read", NULL);
        result_free(&r);
        unlink(p);
    }
}

static void test_csv_buffer_boundaries(void **state)
{
    (void)state;
    /* Records laid out so that quotes, "" escapes and CRLF pairs straddle the
     * 64 KiB read buffer; a 200 KB quoted field with embedded newlines. */
    bronze_buf f = BRONZE_BUF_INIT;
    bronze_buf_printf(&f, "k,v\r\n");
    size_t rows = 0;
    while (f.len < 3 * 65536) {
        bronze_buf_printf(&f, "%zu,\"a\"\"b\r\nc\"\r\n", rows);
        rows++;
    }
    /* Pad so that the next record's CR is the last byte of a 64 KiB block. */
    size_t target = 4 * 65536 - 1;
    size_t rec_head = (size_t)snprintf(NULL, 0, "%zu,", rows);
    size_t pad = target - f.len - rec_head;
    bronze_buf_printf(&f, "%zu,", rows++);
    for (size_t i = 0; i < pad; i++)
        bronze_buf_putc(&f, 'p');
    bronze_buf_printf(&f, "\r\n");
    assert_int_equal(f.data[target], '\r');
    bronze_buf_printf(&f, "%zu,\"", rows++);
    for (size_t i = 0; i < 200000; i++)
        bronze_buf_putc(&f, i % 1000 == 999 ? '\n' : (i % 7 == 0 ? '"' : 'q'));
    /* the '"' above must be doubled inside a quoted field: rewrite them */
    bronze_buf g = BRONZE_BUF_INIT;
    size_t qstart = f.len - 200000;
    bronze_buf_append(&g, f.data, qstart);
    for (size_t i = qstart; i < f.len; i++) {
        bronze_buf_putc(&g, f.data[i]);
        if (f.data[i] == '"')
            bronze_buf_putc(&g, '"');
    }
    bronze_buf_printf(&g, "\"\n");
    bronze_config cfg = make_cfg(write_bytes("boundaries.csv", g.data, g.len), BRONZE_FILE_CSV);
    result r = run_source(&cfg, 1000, true);
    assert_schema(&r, "k:INT64,v:STRING");
    assert_int_equal(r.rows, rows);
    /* Every regular row came back exact. */
    const char *t = (const char *)r.text.data;
    assert_true(strstr(t, "0|a\"b\r\nc\n1|a\"b\r\nc\n") == t);
    /* The padded row, and the long field's length. */
    char padrow[64];
    snprintf(padrow, sizeof padrow, "\n%zu|pppp", rows - 2);
    assert_non_null(strstr(t, padrow));
    char *last = strstr(t, padrow);
    last = strchr(last + 1, '\n');
    size_t lastlen = strlen(last + 1);
    char head[32];
    size_t hl = (size_t)snprintf(head, sizeof head, "%zu|", rows - 1);
    assert_int_equal(lastlen, hl + 200000 + 1);
    bronze_buf_free(&f);
    bronze_buf_free(&g);
    result_free(&r);

    /* One column (so a stray empty line would be a NULL row), CRLF line ends
     * with the CR as the last byte of the first 64 KiB block. */
    bronze_buf h = BRONZE_BUF_INIT;
    bronze_buf_printf(&h, "v\r\n");
    while (h.len < 65535)
        bronze_buf_putc(&h, 'x');
    bronze_buf_printf(&h, "\r\nend\r\n\r\n");
    assert_int_equal(h.data[65535], '\r');
    cfg = make_cfg(write_bytes("crlf1.csv", h.data, h.len), BRONZE_FILE_CSV);
    r = run_source(&cfg, 10, true);
    assert_schema(&r, "v:STRING");
    assert_int_equal(r.rows, 3); /* the xxx row, "end", and the blank last line as NULL */
    assert_string_equal(r.last, "NULL");
    assert_int_equal(strlen((char *)r.text.data), 65532 + 1 + 4 + 5);
    bronze_buf_free(&h);
    result_free(&r);

    /* CRLF in a one-column file: no phantom rows. */
    r = run_text("crlf2.csv", "v\r\n1\r\n2\r\n", BRONZE_FILE_CSV);
    assert_schema(&r, "v:INT64");
    assert_string_equal((char *)r.text.data, "1\n2\n");
    result_free(&r);
}

/* ---- JSON ---- */

static const char *jsonl_shapes =
    "{\"i\": 1, \"big\": 1, \"d\": 1.5, \"id\": 1, \"b\": true, \"s\": \"2024-01-15\", \"n\": "
    "null, "
    "\"o\": {\"k\": [1, 2.5, \"x\\\"y\\n\", null, true, {}], \"e\": []}, \"mix\": 1}\n"
    "\n"
    "   \n"
    "{\"i\": -7, \"big\": 18446744073709551615, \"d\": -2E+2, \"id\": 2.0, \"b\": false, \"s\": "
    "\"caf\\u00e9 \\ud83d\\ude00\", \"n\": null, \"o\": [], \"mix\": {\"a\": 1}, \"late\": "
    "\"k\"}\r\n"
    "{\"s\": null, \"i\": 9223372036854775807, \"mix\": \"str\"}\n";

static void check_shapes(const result *r)
{
    assert_schema(r, "i:INT64,big:STRING,d:DOUBLE,id:DOUBLE,b:BOOLEAN,s:STRING,n:STRING,o:STRING,"
                     "mix:STRING,late:STRING");
    assert_int_equal(r->rows, 3);
    assert_string_equal((char *)r->text.data,
                        "1|1|1.5|1|true|2024-01-15|NULL|{\"k\":[1,2.5,\"x\\\"y\\n\",null,true,{}],"
                        "\"e\":[]}|1|NULL\n"
                        "-7|18446744073709551615|-200|2|false|caf\xC3\xA9 \xF0\x9F\x98\x80|NULL|[]|"
                        "{\"a\":1}|k\n"
                        "9223372036854775807|NULL|NULL|NULL|NULL|NULL|NULL|NULL|str|NULL\n");
}

static void test_jsonl_value_shapes(void **state)
{
    (void)state;
    result r = run_text("shapes.jsonl", jsonl_shapes, BRONZE_FILE_JSONL);
    check_shapes(&r);
    assert_int_equal(r.restarts, 0);
    result_free(&r);
}

static void test_json_array_value_shapes(void **state)
{
    (void)state;
    /* The same records as one pretty-printed array. */
    bronze_buf doc = BRONZE_BUF_INIT;
    bronze_buf_printf(&doc, "[\n");
    const char *p = jsonl_shapes;
    bool first = true;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = (size_t)(nl - p);
        if (n && p[0] == '{') {
            bronze_buf_printf(&doc, "%s  %.*s", first ? "" : ",\n", (int)n, p);
            first = false;
        }
        p = nl + 1;
    }
    bronze_buf_printf(&doc, "\n]\n");
    bronze_buf_cstr(&doc);
    result r = run_text("shapes.json", (char *)doc.data, BRONZE_FILE_JSON);
    check_shapes(&r);
    result_free(&r);
    bronze_buf_free(&doc);

    r = run_text("empty_array.json", " [ ] ", BRONZE_FILE_JSON);
    assert_schema(&r, "");
    assert_int_equal(r.rows, 0);
    result_free(&r);
    /* An empty document is not JSON (JSONTestSuite n_structure_no_data): an
     * empty table is [] */
    r = run_text("empty.json", "", BRONZE_FILE_JSON);
    assert_error(&r, "empty.json: line 1, column 1:", "the document is empty");
    result_free(&r);
    r = run_text("empty.jsonl", "\n\n", BRONZE_FILE_JSONL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rows, 0);
    result_free(&r);

    /* A byte order mark is skipped; a repeated key: the last value wins. */
    r = run_text("bom.json", "\xEF\xBB\xBF[{\"k\": 1, \"k\": 2, \"j\": \"\\u00e9\"}]",
                 BRONZE_FILE_JSON);
    assert_schema(&r, "k:INT64,j:STRING");
    assert_string_equal((char *)r.text.data, "2|\xC3\xA9\n");
    result_free(&r);
    r = run_text("bom.jsonl", "\xEF\xBB\xBF{\"k\": true}\n", BRONZE_FILE_JSONL);
    assert_schema(&r, "k:BOOLEAN");
    result_free(&r);
}

static void test_json_big_array_streams(void **state)
{
    (void)state;
    /* Many chunks' worth of records with nested values and escapes: every
     * record arrives once, in order, with exact text. */
    char *p = fixture_path("big.json");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("[", f);
    const size_t n = 50000;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s{\"id\":%zu,\"tags\":[\"t%zu\",{\"q\":\"a\\\\b\"}],\"x\":%zu.5}",
                i ? ",\n" : "", i, i % 13, i);
    fputs("]", f);
    fclose(f);
    bronze_config cfg = make_cfg(p, BRONZE_FILE_JSON);
    result r = run_source(&cfg, 777, true);
    assert_schema(&r, "id:INT64,tags:STRING,x:DOUBLE");
    assert_int_equal(r.rows, n);
    char want_last[128];
    snprintf(want_last, sizeof want_last, "%zu|[\"t%zu\",{\"q\":\"a\\\\b\"}]|%zu.5", n - 1,
             (n - 1) % 13, n - 1);
    assert_string_equal(r.last, want_last);
    /* Row k is "k|...": spot-check order. */
    const char *t = (const char *)r.text.data;
    for (size_t k = 0; k < n; k += 4999) {
        char want[128];
        snprintf(want, sizeof want, "\n%zu|[\"t%zu\",{\"q\":\"a\\\\b\"}]|%zu.5\n", k, k % 13, k);
        if (k == 0)
            assert_true(strncmp(t, want + 1, strlen(want + 1)) == 0);
        else
            assert_non_null(strstr(t, want));
    }
    result_free(&r);
}

static void test_json_new_key_after_sample(void **state)
{
    (void)state;
    char *p = fixture_path("newkey.jsonl");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 0; i < 25000; i++)
        fprintf(f, "{\"a\":%d}\n", i);
    fputs("{\"a\":1,\"zz\":5}\n{\"zz\":6.5,\"a\":18446744073709551616}\n", f);
    fclose(f);
    bronze_config cfg = make_cfg(p, BRONZE_FILE_JSONL);
    result r = run_source(&cfg, 5000, false);
    assert_int_equal(r.restarts, 1);
    /* zz is typed from all of its values; a widened to text by the huge int */
    assert_schema(&r, "a:STRING,zz:DOUBLE");
    assert_int_equal(r.rows, 25002);
    assert_string_equal(r.last, "18446744073709551616|6.5");
    result_free(&r);
}

static void test_json_glob_union(void **state)
{
    (void)state;
    write_file("jglob/b.jsonl", "{\"x\":2,\"y\":\"b\"}\n");
    write_file("jglob/a.jsonl", "{\"y\":\"a\"}\n");
    bronze_config cfg = make_cfg(fixture_path("jglob/*.jsonl"), BRONZE_FILE_JSONL);
    result r = run_source(&cfg, 10, true);
    assert_schema(&r, "y:STRING,x:INT64");
    assert_string_equal((char *)r.text.data, "a|NULL\nb|2\n");
    result_free(&r);
}

static void test_json_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *name, *content;
        bronze_file_format fmt;
        const char *want1, *want2;
    } cases[] = {
        {"trunc.json", "[{\"a\": 1},\n {\"a\": 2", BRONZE_FILE_JSON, "trunc.json: line 2,",
         "truncated"},
        {"trailing_comma.json", "[{\"a\": 1,}]", BRONZE_FILE_JSON,
         "trailing_comma.json: line 1, column 10 (byte", "invalid JSON"},
        {"trailing_comma_arr.json", "[{\"a\": 1},\n]", BRONZE_FILE_JSON,
         "trailing_comma_arr.json: line 2, column 1 (byte", "invalid JSON"},
        {"bad_escape.json", "[\n{\"a\": \"x\\qy\"}]", BRONZE_FILE_JSON, "bad_escape.json: line 2,",
         "invalid JSON"},
        {"bad_utf8.json", "[{\"a\": \"caf\xE9\"}]", BRONZE_FILE_JSON,
         "bad_utf8.json: record 1: field 'a'", "invalid UTF-8 (byte 0xE9)"},
        {"not_array.json", "{\"a\": 1}", BRONZE_FILE_JSON, "not_array.json: line 1, column 1 (byte",
         "not an array"},
        {"scalar_elem.json", "[{\"a\": 1}, 42]", BRONZE_FILE_JSON, "scalar_elem.json: line 1,",
         "element 2 of the top-level array is not an object"},
        {"array_elem.json", "[[1]]", BRONZE_FILE_JSON, "array_elem.json: line 1, column 2 (byte",
         "element 1 of the top-level array is not an object"},
        {"garbage.json", "[{\"a\":1}] x", BRONZE_FILE_JSON, "garbage.json: line 1,",
         "trailing garbage"},
        {"byte.json", "[{\"a\":1},\n{\"a\":tru}]", BRONZE_FILE_JSON, "byte.json: line 2,",
         "(byte "},
        {"line_not_object.jsonl", "{\"a\":1}\n[1,2]\n", BRONZE_FILE_JSONL,
         "line_not_object.jsonl: line 2, column 1:", "not a JSON object"},
        {"line_scalar.jsonl", "{\"a\":1}\n\n\"str\"\n", BRONZE_FILE_JSONL,
         "line_scalar.jsonl: line 3,", "not a JSON object"},
        {"two_values.jsonl", "{\"a\":1} {\"a\":2}\n", BRONZE_FILE_JSONL,
         "two_values.jsonl: line 1, column 9:", "more than one JSON value"},
        {"split.jsonl", "{\"a\":1}\n{\"a\":\n2}\n", BRONZE_FILE_JSONL, "split.jsonl: line 2,",
         "incomplete JSON object at the end of the line"},
        {"trunc.jsonl", "{\"a\":1}\n{\"a\":2", BRONZE_FILE_JSONL, "trunc.jsonl: line 2,",
         "incomplete JSON object at the end of the file"},
        {"comma.jsonl", "{\"a\":1}\n{\"a\":1,}\n", BRONZE_FILE_JSONL,
         "comma.jsonl: line 2, column 8:", "invalid JSON"},
        {"escape.jsonl", "{\"a\":\"\\x\"}\n", BRONZE_FILE_JSONL, "escape.jsonl: line 1,",
         "invalid JSON"},
        {"utf8.jsonl", "{\"a\":1}\n{\"\xC3\x28\":1}\n", BRONZE_FILE_JSONL,
         "utf8.jsonl: line 2: a field name", "invalid UTF-8 (byte 0xC3)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        result r = run_text(cases[i].name, cases[i].content, cases[i].fmt);
        if (r.rc != -1 || r.err.kind != BRONZE_E_RUNTIME || !strstr(r.err.msg, cases[i].want1) ||
            !strstr(r.err.msg, cases[i].want2))
            fail_msg("case %s: rc %d, message '%s'; wanted '%s' and '%s'", cases[i].name, r.rc,
                     r.err.msg, cases[i].want1, cases[i].want2);
        result_free(&r);
    }

    /* A position past the first 16 KiB chunk, on one long line. */
    bronze_buf doc = BRONZE_BUF_INIT;
    bronze_buf_printf(&doc, "[");
    for (int i = 0; i < 3000; i++)
        bronze_buf_printf(&doc, "{\"a\":1},");
    bronze_buf_printf(&doc, "x]");
    bronze_config cfg =
        make_cfg(write_bytes("long_line.json", doc.data, doc.len), BRONZE_FILE_JSON);
    result r = run_source(&cfg, 100, false);
    assert_error(&r, "long_line.json: line 1, column 24002 (byte 24001): invalid JSON", NULL);
    result_free(&r);
    bronze_buf_free(&doc);
}

/* ---- the seam ---- */

static void test_dry_run_and_cursor(void **state)
{
    (void)state;
    bronze_config cfg = make_cfg(write_file("dry.csv", "a,b\n1,x\n"), BRONZE_FILE_CSV);
    bronze_source_ctx ctx = {.cfg = &cfg, .dry_run = true, .batch_rows = 4};
    bronze_source *s;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_source_file.open(&s, &ctx, &err), 0);
    const bronze_schema *sc = bronze_source_file.schema(s);
    assert_int_equal(sc->ncols, 2);
    assert_int_equal(sc->fields[0].type, BRONZE_T_INT64);
    assert_null(bronze_source_file.cursor(s));
    bronze_source_file.close(s);
    assert_string_equal(bronze_source_file.name, "file");

    /* A dry run over a broken file fails at open. */
    cfg = make_cfg(write_file("dry_bad.csv", "a,b\n1\n"), BRONZE_FILE_CSV);
    ctx.cfg = &cfg;
    assert_int_equal(bronze_source_file.open(&s, &ctx, &err), -1);
    assert_non_null(strstr(err.msg, "dry_bad.csv: line 2:"));

    /* A delimiter that cannot work is a config error. */
    cfg = make_cfg(fixture_path("dry.csv"), BRONZE_FILE_CSV);
    cfg.file.delimiter = '"';
    ctx.cfg = &cfg;
    assert_int_equal(bronze_source_file.open(&s, &ctx, &err), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_non_null(strstr(err.msg, "source.file.delimiter"));

    /* The registry hands out this vtable for type: file. */
    assert_ptr_equal(bronze_source_for(&cfg, &err), &bronze_source_file);
}

static void test_batches_are_full(void **state)
{
    (void)state;
    /* next() fills batches to cap; 10 rows at cap 4 -> 4, 4, 2. */
    bronze_config cfg = make_cfg(write_many("ten.csv", 10, ""), BRONZE_FILE_CSV);
    bronze_source_ctx ctx = {.cfg = &cfg, .batch_rows = 4};
    bronze_source *s;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_source_file.open(&s, &ctx, &err), 0);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, bronze_source_file.schema(s), 4), 0);
    size_t sizes[4] = {0};
    int k = 0, r;
    while ((r = bronze_source_file.next(s, &b, &err)) == BRONZE_SRC_ROWS && k < 4)
        sizes[k++] = b.nrows;
    assert_int_equal(r, BRONZE_SRC_END);
    assert_int_equal(k, 3);
    assert_int_equal(sizes[0], 4);
    assert_int_equal(sizes[1], 4);
    assert_int_equal(sizes[2], 2);
    assert_int_equal(bronze_source_file.next(s, &b, &err), BRONZE_SRC_END);
    bronze_batch_free(&b);
    bronze_source_file.close(s);
}

/* ---- byte input layers (input.c) ---- */

/* Reads all of in with reads of at most cap bytes. */
static int read_all(bronze_input *in, size_t cap, bronze_buf *out, bronze_err *err)
{
    out->len = 0;
    char tmp[4096];
    for (;;) {
        ssize_t n = bronze_input_read(in, tmp, cap < sizeof tmp ? cap : sizeof tmp, err);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        assert_int_equal(bronze_buf_append(out, tmp, (size_t)n), 0);
    }
}

static size_t gzip_bytes(const void *src, size_t n, unsigned char *dst, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t out = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* gzip and zstd decode with any read size, rewind, and a cut stream fails. */
static void test_input_gzip_zstd(void **state)
{
    (void)state;
    size_t n = 300000;
    char *text = malloc(n);
    for (size_t i = 0; i < n; i++)
        text[i] = (char)('a' + (i * 7 + i / 1000) % 26);
    size_t cap = n + 1024;
    unsigned char *gz = malloc(cap), *zs = malloc(ZSTD_compressBound(n));
    size_t ngz = gzip_bytes(text, n, gz, cap);
    size_t nzs = ZSTD_compress(zs, ZSTD_compressBound(n), text, n, 3);
    assert_false(ZSTD_isError(nzs));
    const struct {
        const char *name;
        const unsigned char *p;
        size_t n;
    } cases[] = {{"in.txt.gz", gz, ngz}, {"in.txt.zst", zs, nzs}, {"magic_only.txt", gz, ngz}};
    bronze_input_opts o = {.decompress = true};
    bronze_buf got = BRONZE_BUF_INIT;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char *path = write_bytes(cases[k].name, cases[k].p, cases[k].n);
        bronze_input *in;
        bronze_err err = BRONZE_ERR_INIT;
        assert_int_equal(bronze_input_open_path(&in, path, cases[k].name, &o, &err), 0);
        for (size_t c = 1; c <= 4096; c *= 64) {
            assert_int_equal(read_all(in, c == 1 ? 7 : c, &got, &err), 0);
            assert_int_equal(got.len, n);
            assert_memory_equal(got.data, text, n);
            assert_int_equal(bronze_input_rewind(in, &err), 0);
        }
        bronze_input_close(in);
        /* cut short: an error naming the file, never a shorter text */
        path = write_bytes(cases[k].name, cases[k].p, cases[k].n - 9);
        assert_int_equal(bronze_input_open_path(&in, path, cases[k].name, &o, &err), 0);
        assert_int_equal(read_all(in, 4096, &got, &err), -1);
        assert_non_null(strstr(err.msg, cases[k].name));
        assert_non_null(strstr(err.msg, "truncated") ? err.msg : strstr(err.msg, "not valid"));
        bronze_input_close(in);
    }
    /* a .gz name on plain text is refused */
    char *path = write_bytes("plain.gz", "a,b\n", 4);
    bronze_input *in;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_input_open_path(&in, path, NULL, &o, &err), -1);
    assert_non_null(strstr(err.msg, "does not start like one"));
    bronze_buf_free(&got);
    free(text);
    free(gz);
    free(zs);
}

/* iconv: multi-byte output split over small reads; a byte the encoding lacks. */
static void test_input_iconv(void **state)
{
    (void)state;
    char src[3000];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (char)(i % 3 == 0 ? 0x80 : i % 3 == 1 ? 0xE9 : 'x'); /* euro, e-acute, x */
    char *path = write_bytes("w1252.txt", src, sizeof src);
    bronze_input_opts o = {.decompress = true, .encoding = "windows-1252"};
    bronze_input *in;
    bronze_err err = BRONZE_ERR_INIT;
    bronze_buf got = BRONZE_BUF_INIT;
    assert_int_equal(bronze_input_open_path(&in, path, "w1252.txt", &o, &err), 0);
    assert_int_equal(read_all(in, 5, &got, &err), 0);
    assert_int_equal(got.len, 1000 * (3 + 2 + 1));
    assert_memory_equal(got.data, "\xE2\x82\xAC\xC3\xA9x", 6);
    assert_memory_equal(got.data + got.len - 6, "\xE2\x82\xAC\xC3\xA9x", 6);
    bronze_input_close(in);
    path = write_bytes("bad1252.txt", "ab\x81", 3);
    assert_int_equal(bronze_input_open_path(&in, path, "bad1252.txt", &o, &err), 0);
    assert_int_equal(read_all(in, 4096, &got, &err), -1);
    assert_non_null(
        strstr(err.msg, "bad1252.txt: byte 0x81 at offset 2 is not valid windows-1252"));
    bronze_input_close(in);
    assert_int_equal(bronze_input_check_encoding("latin-1"), 0);
    assert_int_equal(bronze_input_check_encoding("UTF-8"), 0);
    assert_int_equal(bronze_input_check_encoding("no-such-charset"), -1);
    bronze_buf_free(&got);
}

/* A pipe cannot rewind; its spool holds every byte and reads like a file. */
static void test_input_pipe_spool(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    unsigned char gz[256];
    size_t ngz = gzip_bytes("id\n1\n2\n", 7, gz, sizeof gz);
    assert_int_equal(write(fds[1], gz, ngz), (ssize_t)ngz);
    close(fds[1]);
    bronze_input *in;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_input_open_fd(&in, fds[0], true, "pipe", NULL, &err), 0);
    char *spool;
    uint64_t bytes;
    assert_int_equal(bronze_input_spool(in, tmpdir, &spool, &bytes, &err), 0);
    assert_int_equal(bytes, ngz);
    assert_int_equal(bronze_input_rewind(in, &err), -1);
    assert_non_null(strstr(err.msg, "pipe: cannot be read twice"));
    bronze_input_close(in);
    bronze_input_opts o = {.decompress = true};
    assert_int_equal(bronze_input_open_path(&in, spool, "pipe", &o, &err), 0);
    bronze_buf got = BRONZE_BUF_INIT;
    assert_int_equal(read_all(in, 4096, &got, &err), 0);
    assert_int_equal(got.len, 7);
    assert_memory_equal(got.data, "id\n1\n2\n", 7);
    bronze_input_close(in);
    unlink(spool);
    free(spool);
    bronze_buf_free(&got);
}

/* A surrogate pair or a lone surrogate escape that straddles the reader's
 * 16 KiB chunk is decoded (or refused) exactly as one that does not. */
static void test_json_surrogate_across_chunks(void **state)
{
    (void)state;
    for (size_t shift = 0; shift < 14; shift++) {
        bronze_buf doc = BRONZE_BUF_INIT;
        bronze_buf_printf(&doc, "{\"a\":\"");
        while (doc.len < 16384 - 6 + shift)
            bronze_buf_putc(&doc, 'x');
        bronze_buf_printf(&doc, "\\ud83d\\ude00\"}\n{\"a\":\"\\\\ud800\"}\n");
        bronze_buf_cstr(&doc);
        result r = run_text("pair.jsonl", (const char *)doc.data, BRONZE_FILE_JSONL);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.rows, 2);
        assert_non_null(strstr((const char *)r.text.data, "x\xF0\x9F\x98\x80\n\\ud800\n"));
        result_free(&r);
        doc.len = 0;
        bronze_buf_printf(&doc, "{\"a\":\"");
        while (doc.len < 16384 - 6 + shift)
            bronze_buf_putc(&doc, 'x');
        bronze_buf_printf(&doc, "\\ud83d\\u0041\"}\n");
        bronze_buf_cstr(&doc);
        r = run_text("lone.jsonl", (const char *)doc.data, BRONZE_FILE_JSONL);
        assert_error(&r, "lone.jsonl: line 1: field 'a'", "unpaired UTF-16 surrogate");
        result_free(&r);
        bronze_buf_free(&doc);
    }
}

/* A spool's files go once its reader has had every record, before the
 * source is closed (the job closes it after the commit): read to the end,
 * live and not, with and without a side index, and both files disappear
 * while the spool is still open. Fails when they stay until
 * bronze_spool_free. */
static bool gone_soon(const char *path)
{
    struct stat st;
    for (int i = 0; i < 1000 && stat(path, &st) == 0; i++)
        usleep(10000); /* the removal runs on a thread of its own */
    return stat(path, &st) != 0;
}

/* A spool "t" under tmpdir for cfg (the spool copies what it needs). */
static bronze_spool *new_spool(const bronze_config *cfg)
{
    bronze_source_ctx ctx = {
        .cfg = cfg, .run_date = "2025-01-12", .tmp_dir = tmpdir, .batch_rows = 64};
    bronze_err err = BRONZE_ERR_INIT;
    bronze_spool *sp;
    assert_int_equal(bronze_spool_create(&sp, &ctx, "t", &err), 0);
    return sp;
}

static void name_as_page(void *arg, uint64_t rec, char *out, size_t cap)
{
    snprintf(out, cap, "%s %llu", (const char *)arg, (unsigned long long)rec);
}

/* A reader's message names the spool file and its line; the spool's owner
 * gets the record named instead, and any other message is left alone. */
static void test_spool_names_records(void **state)
{
    (void)state;
    bronze_config cfg = make_cfg("unused", BRONZE_FILE_JSONL);
    bronze_err err = BRONZE_ERR_INIT;
    bronze_spool *sp = new_spool(&cfg);
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool-t-%d.jsonl", tmpdir, (int)getpid());
    bronze_err_set(&err, BRONZE_E_RUNTIME, "c.yaml: %s: line 12: field 'a': bad", spool);
    bronze_spool_name_record(sp, &err); /* no namer set: "record N" */
    assert_string_equal(err.msg, "c.yaml: record 12: field 'a': bad");
    static const char *const alone[] = {"c.yaml: page 2: HTTP 500", "%s: out of memory",
                                        "%s: line x: bad", "%s: line 0: bad",
                                        "%s.idx: line 4: bad"};
    for (size_t i = 0; i < sizeof alone / sizeof alone[0]; i++) {
        char want[2048];
        snprintf(want, sizeof want, alone[i], spool);
        bronze_err_set(&err, BRONZE_E_RUNTIME, "%s", want);
        bronze_spool_name_record(sp, &err);
        assert_string_equal(err.msg, want);
    }
    bronze_spool_set_namer(sp, name_as_page, "rec");
    bronze_err_set(&err, BRONZE_E_RUNTIME, "%s: line 3, column 9: bad", spool);
    bronze_spool_name_record(sp, &err);
    assert_string_equal(err.msg, "rec 3, column 9: bad");
    bronze_spool_free(sp);
}

static void test_spool_files_go_at_end(void **state)
{
    (void)state;
    for (int mode = 0; mode < 4; mode++) {
        bool live = mode & 1, index = mode & 2;
        bronze_config cfg = make_cfg("unused", BRONZE_FILE_JSONL);
        bronze_err err = BRONZE_ERR_INIT;
        bronze_spool *sp = new_spool(&cfg);
        if (index)
            assert_int_equal(bronze_spool_set_index(sp, &err), 0);
        if (live)
            assert_int_equal(bronze_spool_set_live(sp, &err), 0);
        for (int i = 0; i < 300; i++) {
            char rec[64];
            int n = snprintf(rec, sizeof rec, "{\"id\":%d,\"s\":\"x%d\"}", i, i);
            assert_int_equal(bronze_spool_add(sp, rec, (size_t)n, &err), 0);
        }
        if (live)
            assert_int_equal(bronze_spool_finish(sp, false, &err), 0);
        char jpath[600], ipath[610];
        snprintf(jpath, sizeof jpath, "%s/spool-t-%d.jsonl", tmpdir, (int)getpid());
        snprintf(ipath, sizeof ipath, "%s.idx", jpath);
        struct stat st;
        assert_int_equal(stat(jpath, &st), 0);
        assert_int_equal(stat(ipath, &st) == 0, index);
        bronze_source *inner;
        assert_int_equal(bronze_spool_open_reader(sp, &inner, &err), 0);
        bronze_batch b;
        assert_int_equal(bronze_batch_init(&b, bronze_source_file.schema(inner), 64), 0);
        size_t rows = 0;
        int r;
        while ((r = bronze_spool_next(sp, inner, &b, &err)) == BRONZE_SRC_ROWS) {
            rows += b.nrows;
            bronze_batch_clear(&b);
            assert_int_equal(stat(jpath, &st), 0); /* still needed: a widening rereads it */
        }
        assert_int_equal(r, BRONZE_SRC_END);
        assert_int_equal(rows, 300);
        assert_true(gone_soon(jpath));
        assert_true(gone_soon(ipath));
        bronze_batch_free(&b);
        bronze_source_file.close(inner);
        bronze_spool_free(sp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spool_files_go_at_end),
        cmocka_unit_test(test_spool_names_records),
        cmocka_unit_test(test_csv_types),
        cmocka_unit_test(test_csv_quotes_newlines_crlf),
        cmocka_unit_test(test_csv_bom_utf8),
        cmocka_unit_test(test_csv_empty_and_header_only),
        cmocka_unit_test(test_csv_ragged_row),
        cmocka_unit_test(test_csv_invalid_utf8),
        cmocka_unit_test(test_csv_unterminated_quote),
        cmocka_unit_test(test_csv_leading_zero_and_numbers),
        cmocka_unit_test(test_csv_null_vs_empty),
        cmocka_unit_test(test_csv_null_values),
        cmocka_unit_test(test_csv_header_false_and_delimiter),
        cmocka_unit_test(test_csv_header_names),
        cmocka_unit_test(test_csv_blank_lines),
        cmocka_unit_test(test_csv_guess_and_widen_rules),
        cmocka_unit_test(test_csv_widen_int_to_double_after_100k),
        cmocka_unit_test(test_csv_widen_int_to_string),
        cmocka_unit_test(test_csv_glob_union),
        cmocka_unit_test(test_csv_buffer_boundaries),
        cmocka_unit_test(test_jsonl_value_shapes),
        cmocka_unit_test(test_json_array_value_shapes),
        cmocka_unit_test(test_json_big_array_streams),
        cmocka_unit_test(test_json_new_key_after_sample),
        cmocka_unit_test(test_json_glob_union),
        cmocka_unit_test(test_json_malformed),
        cmocka_unit_test(test_dry_run_and_cursor),
        cmocka_unit_test(test_batches_are_full),
        cmocka_unit_test(test_input_gzip_zstd),
        cmocka_unit_test(test_input_iconv),
        cmocka_unit_test(test_input_pipe_spool),
        cmocka_unit_test(test_json_surrogate_across_chunks),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
