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

/* Every record as "key|kind|text;..." lines, then "ERR: msg" or "END". */
static void dump(const char *path, bool fast, bool lenient, bronze_buf *out)
{
    bronze_input *in;
    bronze_err err = BRONZE_ERR_INIT;
    bronze_input_opts o = {0};
    assert_int_equal(bronze_input_open_path(&in, path, "t.jsonl", &o, &err), 0);
    bronze_json *r;
    assert_int_equal(bronze_json_open(&r, in, false, NULL, &err), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_match),
        cmocka_unit_test(test_errors_match),
        cmocka_unit_test(test_long_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
