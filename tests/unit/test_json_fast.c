/* Unit tests for the JSON Lines fast path (file_json.c "fast path"): the
 * same input read with it on and off gives the very same records (keys,
 * kinds, texts, nested values compacted alike) and, on bad input, the very
 * same error message, because the fast path hands every line it does not
 * fully understand to yajl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/api_scan.h"
#include "source/file_json.h"
#include "source/input.h"
#include "util/buf.h"

static char *write_text(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/bf-json-fast-%d.jsonl", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Every record as "key|kind|text;..." lines, then "ERR: msg" or "END";
 * index: a side index to read beside it (NULL: none). */
static void dump_ix(const char *path, const char *index, bool fast, bool lenient, bronze_buf *out)
{
    bronze_input *in;
    bronze_err err = BRONZE_ERR_INIT;
    bronze_input_opts o = {0};
    assert_int_equal(bronze_input_open_path(&in, path, "t.jsonl", &o, &err), 0);
    bronze_json *r;
    assert_int_equal(bronze_json_open(&r, in, false, NULL, &err), 0);
    if (index) {
        bronze_input *ix;
        assert_int_equal(bronze_input_open_path(&ix, index, NULL, &o, &err), 0);
        bronze_json_set_index(r, ix);
    }
    bronze_json_set_fast_lines(r, fast);
    bronze_json_set_lenient_utf8(r, lenient);
    out->len = 0;
    for (;;) {
        const bronze_json_field *fs;
        size_t nf;
        int rc = bronze_json_next(r, &fs, &nf, &err);
        char line[64];
        if (rc < 0) {
            bronze_buf_append(out, "ERR: ", 5);
            bronze_buf_append(out, err.msg, strlen(err.msg));
            break;
        }
        if (rc == 0) {
            bronze_buf_append(out, "END", 3);
            break;
        }
        bronze_json_record_pos(r, line, sizeof line);
        bronze_buf_append(out, line, strlen(line));
        bronze_buf_putc(out, ':');
        for (size_t i = 0; i < nf; i++) {
            char k[16];
            assert_int_equal(strlen(fs[i].key), fs[i].key_len);
            assert_int_equal(fs[i].p[fs[i].len], 0);
            bronze_buf_append(out, fs[i].key, fs[i].key_len);
            snprintf(k, sizeof k, "|%d|", (int)fs[i].kind);
            bronze_buf_append(out, k, strlen(k));
            bronze_buf_append(out, fs[i].p, fs[i].len);
            bronze_buf_putc(out, ';');
        }
        bronze_buf_putc(out, '\n');
    }
    bronze_buf_putc(out, 0);
    bronze_json_close(r);
}

static void dump(const char *path, bool fast, bool lenient, bronze_buf *out)
{
    dump_ix(path, NULL, fast, lenient, out);
}

static void same(const char *text, bool lenient)
{
    char *path = write_text(text);
    bronze_buf a = BRONZE_BUF_INIT, b = BRONZE_BUF_INIT;
    dump(path, true, lenient, &a);
    dump(path, false, lenient, &b);
    if (strcmp((char *)a.data, (char *)b.data))
        fail_msg("fast path differs on %s\nfast:\n%s\nyajl:\n%s", text, (char *)a.data,
                 (char *)b.data);
    bronze_buf_free(&a);
    bronze_buf_free(&b);
    unlink(path);
}

static void test_records_match(void **state)
{
    (void)state;
    same(
        "{\"id\": 1, \"name\": \"caf\xc3\xa9\", \"s\": 0.5, \"e\": -1.5E+3, \"z\": -0, \"b\": true,"
        " \"f\": false, \"n\": null}\n"
        "{}\n"
        "  {\"nested\": { \"a\" : [1, 2.5, \"x y\", {}, [], null, true] , \"b\": {\"c\": {\"d\": "
        "[]}}}}  \r\n"
        "\n"
        "{\"dup\": 1, \"dup\": \"two\"}\n"
        "{\"esc\": \"a\\\"b\", \"u\": \"\\u00e9\\ud83d\\ude00\"}\n"
        "{\"n2\": {\"k\\\"q\": \"v\\\\\"}, \"t\": \"\\t\"}\n"
        "{\"big\": 123456789012345678901234567890, \"x\": 1e400}\n"
        "\t{\"last\": \"no newline\"}",
        false);
}

/* A first record without members is a record (no array of fields was
 * needed yet: a grown-from-nothing array must still be one). */
static void test_empty_first_record(void **state)
{
    (void)state;
    char *path = write_text("{}\n{\"a\": 1}\n");
    bronze_buf a = BRONZE_BUF_INIT;
    dump(path, true, false, &a);
    assert_string_equal((char *)a.data, "line 1:\nline 2:a|2|1;\nEND");
    dump(path, false, false, &a);
    assert_string_equal((char *)a.data, "line 1:\nline 2:a|2|1;\nEND");
    bronze_buf_free(&a);
    unlink(path);
}

static void test_errors_match(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"a\": 1}\n{\"a\": 01}\n",
        "{\"a\": 1}\n{\"a\": 1.}\n",
        "{\"a\": 1} {\"b\": 2}\n",
        "{\"a\": 1}\n[1, 2]\n",
        "{\"a\": 1}\n42\n",
        "{\"a\": 1,}\n",
        "{\"a\" 1}\n",
        "{\"a\": tru}\n",
        "{\"a\": truex}\n",
        "{\"a\": 1x}\n",
        "{\"a\": \"caf\xe9\"}\n",
        "{\"caf\xe9\": 1}\n",
        "{\"a\": {\"b\": \"\xe9\"}}\n",
        "{\"a\": \"tab\there\"}\n",
        "{\"a\": \"\\u0000\"}\n",
        "{\"a\": \"\\ud800\"}\n",
        "{\"a\": [1, 2}\n",
        "{\"a\": {\"b\" 1}}\n",
        "{\"a\": 1\n",
        "{\"a\": 1}}\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        same(bad[i], false);
    /* invalid UTF-8 with invalid_utf8: replace passes both ways alike */
    same("{\"a\": \"caf\xe9\", \"b\": {\"c\": \"\xff\"}}\n", true);
}

static void test_long_input(void **state)
{
    (void)state;
    /* lines split across the reader's 16 KiB chunks, plain and not */
    bronze_buf t = BRONZE_BUF_INIT;
    for (int i = 0; i < 3000; i++) {
        char line[200];
        int n =
            snprintf(line, sizeof line,
                     "{\"id\": %d, \"v\": \"%s\", \"a\": [%d, {\"k\": %d.5}], \"p\": \"%.*s\"}\n",
                     i, i % 7 ? "plain" : "esc\\naped", i, i, i % 90,
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxxxxxxxxxxxx");
        bronze_buf_append(&t, line, (size_t)n);
    }
    bronze_buf_putc(&t, 0);
    same((const char *)t.data, false);
    bronze_buf_free(&t);
}

/* ---- the side index (file_json.h): the API page scanner's member spans,
 * written beside the records as the spool does, read back exactly as
 * parsing the lines reads them ---- */

static uint64_t rng = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void put(bronze_buf *b, const char *s)
{
    bronze_buf_append(b, s, strlen(s));
}

static void gap(bronze_buf *b)
{
    static const char *const ws[] = {"", "", "", "", " ", "\n", "\r\n", "\t", "  "};
    put(b, ws[rnd(9)]);
}

static void rstring(bronze_buf *b)
{
    static const char *const s[] = {"plain",
                                    "",
                                    "caf\xc3\xa9 \xf0\x9f\x98\x80",
                                    "a\\\"b",
                                    "\\u00e9",
                                    "tab\\t",
                                    "x y z",
                                    "\\ud83d\\ude00",
                                    "2024-01-01T00:00:00Z"};
    put(b, "\"");
    put(b, s[rnd(9)]);
    put(b, "\"");
}

static void rvalue(bronze_buf *b, int depth)
{
    static const char *const num[] = {"0",
                                      "-0",
                                      "42",
                                      "-7",
                                      "0.5",
                                      "-1.5E+3",
                                      "1e5",
                                      "12345678901",
                                      "9223372036854775807",
                                      "123456789012345678901234567890",
                                      "3.14159265358979",
                                      "-1234567890123456e-0000000012"};
    unsigned k = rnd(depth < 3 ? 8 : 5);
    switch (k) {
    case 0:
    case 1:
        put(b, num[rnd(12)]);
        break;
    case 2:
        rstring(b);
        break;
    case 3:
        put(b, rnd(2) ? "true" : "false");
        break;
    case 4:
        put(b, "null");
        break;
    case 5:
    case 6: {
        bool obj = k == 5;
        put(b, obj ? "{" : "[");
        unsigned n = rnd(4);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                put(b, ",");
            gap(b);
            if (obj) {
                rstring(b);
                gap(b);
                put(b, ":");
                gap(b);
            }
            rvalue(b, depth + 1);
            gap(b);
        }
        put(b, obj ? "}" : "]");
        break;
    }
    default:
        put(b, "{\"deep\":[1,{\"x\":\"y\"}],\"e\":{}}");
    }
}

static void rrecord(bronze_buf *b)
{
    static const char *const keys[] = {"id", "name", "k\\\"q", "dup", "dup", "caf\xc3\xa9", "n"};
    put(b, "{");
    unsigned n = rnd(7);
    if (!rnd(40))
        n = 300; /* many members; long keys below */
    for (unsigned i = 0; i < n; i++) {
        if (i)
            put(b, ",");
        gap(b);
        if (n == 300) {
            char k[300];
            int l = i % 50 ? snprintf(k, sizeof k, "\"m%u\"", i)
                           : snprintf(k, sizeof k, "\"%0280u\"", i);
            bronze_buf_append(b, k, (size_t)l);
        } else {
            put(b, "\"");
            put(b, keys[rnd(7)]);
            put(b, "\"");
        }
        gap(b);
        put(b, ":");
        gap(b);
        rvalue(b, 1);
        gap(b);
    }
    put(b, "}");
}

/* page: a JSON array of records. Spools them as the API source does (raw
 * line breaks become spaces, index entries from the scanner's members), reads
 * them back with the index and by parsing, and fails when the two differ.
 * *listed / *lines count the entries that list members and the lines. */
static void index_round(const bronze_buf *page, const char *jpath, const char *ipath,
                        size_t *listed, size_t *lines)
{
    bronze_scan sc = {0};
    assert_int_equal(bronze_scan_page(&sc, (const char *)page->data, page->len, NULL),
                     BRONZE_SCAN_OK);
    FILE *jf = fopen(jpath, "w"), *xf = fopen(ipath, "w");
    assert_non_null(jf);
    assert_non_null(xf);
    static unsigned char ent[2 + 8 * BRONZE_JSON_INDEX_MAX];
    for (size_t i = 0; i < sc.nrecs; i++) {
        const bronze_scan_rec *rc = &sc.recs[i];
        for (size_t k = 0; k < rc->len; k++) {
            char c = (char)page->data[rc->off + k];
            fputc(c == '\n' || c == '\r' ? ' ' : c, jf);
        }
        fputc('\n', jf);
        const bronze_json_span *m = bronze_scan_rec_members(&sc, rc);
        size_t n = bronze_json_index_entry(ent, rc->len, m, rc->nmem);
        *listed += n > 2 || (ent[0] == 0 && ent[1] == 0);
        (*lines)++;
        fwrite(ent, 1, n, xf);
    }
    fclose(jf);
    fclose(xf);
    bronze_buf a = BRONZE_BUF_INIT, b = BRONZE_BUF_INIT;
    dump_ix(jpath, ipath, true, false, &a);
    dump(jpath, true, false, &b);
    if (strcmp((char *)a.data, (char *)b.data))
        fail_msg("index differs on %.*s\nindex:\n%s\nparse:\n%s", (int)page->len,
                 (const char *)page->data, (char *)a.data, (char *)b.data);
    bronze_buf_free(&a);
    bronze_buf_free(&b);
    bronze_scan_free(&sc);
}

static void test_index_matches_parse(void **state)
{
    (void)state;
    char jpath[64], ipath[64];
    snprintf(jpath, sizeof jpath, "/tmp/bf-json-ix-%d.jsonl", (int)getpid());
    snprintf(ipath, sizeof ipath, "/tmp/bf-json-ix-%d.idx", (int)getpid());
    size_t listed = 0, lines = 0;
    /* records without members only (the fuzzer's [{}]: no member array at all) */
    bronze_buf page = BRONZE_BUF_INIT;
    put(&page, "[{}, {} ]");
    index_round(&page, jpath, ipath, &listed, &lines);
    /* rounds 40-42: many records, so that the reader's 16 KiB chunks end
     * inside lines; 41 and 42 also lines longer than a chunk (one past the
     * index's 64 KiB reach) */
    for (int round = 0; round < 43; round++) {
        page.len = 0;
        put(&page, "[");
        for (int i = 0; i < (round < 40 ? 60 : 400); i++) {
            if (i)
                put(&page, ",");
            gap(&page);
            if (round > 40 && i % 97 == 5) {
                size_t len = i % 2 ? 40000 : 70000;
                put(&page, "{\"id\":1,\"long\":\"");
                for (size_t k = 0; k < len; k++)
                    put(&page, k % 61 ? "x" : " ");
                put(&page, "\",\"n\":2}");
            } else {
                rrecord(&page);
            }
        }
        put(&page, "]");
        index_round(&page, jpath, ipath, &listed, &lines);
    }
    bronze_buf_free(&page);
    /* the index was used for most lines, and not for all (escapes, spacing) */
    assert_true(listed > lines / 4);
    assert_true(listed < lines);
    /* an index that does not belong to the lines is refused, naming the line */
    FILE *jf = fopen(jpath, "w"), *xf = fopen(ipath, "w");
    fputs("{\"a\":1}\n", jf);
    bronze_json_span bad = {0, 1, 40, 2, BRONZE_JV_INT};
    unsigned char ent[16];
    fwrite(ent, 1, bronze_json_index_entry(ent, 60, &bad, 1), xf);
    fclose(jf);
    fclose(xf);
    bronze_buf a = BRONZE_BUF_INIT;
    dump_ix(jpath, ipath, true, false, &a);
    assert_non_null(strstr((char *)a.data, "line 1: the spool's index does not match the line"));
    /* ... as is one whose member count no writer makes */
    xf = fopen(ipath, "w");
    fwrite("\x89\x13", 1, 2, xf); /* 5001 > BRONZE_JSON_INDEX_MAX */
    fclose(xf);
    dump_ix(jpath, ipath, true, false, &a);
    assert_non_null(strstr((char *)a.data, "line 1: the spool's index is damaged"));
    /* ... as is one that ends before the lines do */
    xf = fopen(ipath, "w");
    fclose(xf);
    dump_ix(jpath, ipath, true, false, &a);
    assert_non_null(strstr((char *)a.data, "line 1: the spool's index ends before its records"));
    bronze_buf_free(&a);
    unlink(jpath);
    unlink(ipath);
}

/* The lines an index does not list are parsed, and checked, as without one:
 * a form feed between tokens is refused naming its line and column (also
 * in a later chunk, after many listed lines), a lone surrogate escape is
 * refused naming its field (yajl alone would land it as "?"). Fails when parsed lines skip the
 * checks the unindexed reader makes, or count the position from elsewhere. */
static void test_index_parsed_lines_checked(void **state)
{
    (void)state;
    char jpath[64], ipath[64];
    snprintf(jpath, sizeof jpath, "/tmp/bf-json-ixp-%d.jsonl", (int)getpid());
    snprintf(ipath, sizeof ipath, "/tmp/bf-json-ixp-%d.idx", (int)getpid());
    const char *parsed[] = {"{\"id\":1,\"s\":\"\\ud800x\"}\n", "{\"id\":2,\f\"s\":\"y\"}\n"};
    for (int listed = 0; listed <= 600; listed += 600) {
        for (size_t p = 0; p < 2; p++) {
            FILE *jf = fopen(jpath, "w"), *xf = fopen(ipath, "w");
            assert_non_null(jf);
            assert_non_null(xf);
            unsigned char ent[2 + 8 * 2];
            for (int i = 0; i < listed + 1; i++) {
                /* {"id":12345,"s":"abcdefghij"}: 30 bytes, both members listed */
                fprintf(jf, "{\"id\":%d,\"s\":\"abcdefghij\"}\n", 10000 + i);
                bronze_json_span m[2] = {{2, 2, 6, 5, BRONZE_JV_INT},
                                         {13, 1, 17, 10, BRONZE_JV_STRING}};
                fwrite(ent, 1, bronze_json_index_entry(ent, 30, m, 2), xf);
            }
            fputs(parsed[p], jf);
            fwrite(ent, 1, bronze_json_index_entry(ent, strlen(parsed[p]), NULL, 0), xf);
            fclose(jf);
            fclose(xf);
            bronze_buf a = BRONZE_BUF_INIT, b = BRONZE_BUF_INIT;
            dump_ix(jpath, ipath, true, false, &a);
            dump(jpath, true, false, &b);
            /* a form feed: the unindexed reader refuses the whole chunk before
             * its records, the indexed one at its line; the same message */
            const char *ta = strrchr((char *)a.data, '\n'), *tb = strrchr((char *)b.data, '\n');
            ta = ta ? ta + 1 : (const char *)a.data;
            tb = tb ? tb + 1 : (const char *)b.data;
            if (p == 0 ? strcmp((char *)a.data, (char *)b.data) : strcmp(ta, tb))
                fail_msg("index differs\nindex:\n%s\nparse:\n%s", (char *)a.data, (char *)b.data);
            char want[128];
            snprintf(want, sizeof want,
                     p == 0 ? "ERR: t.jsonl: line %d: field 's': invalid UTF-8: an unpaired UTF-16 "
                              "surrogate"
                            : "ERR: t.jsonl: line %d, column 9: invalid JSON: a form feed",
                     listed + 2);
            assert_non_null(strstr((char *)a.data, want));
            bronze_buf_free(&a);
            bronze_buf_free(&b);
        }
    }
    unlink(jpath);
    unlink(ipath);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_match),
        cmocka_unit_test(test_empty_first_record),
        cmocka_unit_test(test_errors_match),
        cmocka_unit_test(test_long_input),
        cmocka_unit_test(test_index_matches_parse),
        cmocka_unit_test(test_index_parsed_lines_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
