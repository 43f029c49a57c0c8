/* Unit tests for the API source's page splitter (source/api_scan.h): the
 * record spans it finds, the default lookup order, and every case it must
 * hand back to the jansson path (BRONZE_SCAN_FALLBACK) so that the page's
 * error message stays the jansson path's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "source/api_scan.h"

static int scan(bronze_scan *sc, const char *doc, const char *path)
{
    return bronze_scan_page(sc, doc, strlen(doc), path);
}

static void assert_rec(const bronze_scan *sc, const char *doc, size_t i, const char *want)
{
    assert_true(i < sc->nrecs);
    assert_int_equal(sc->recs[i].len, strlen(want));
    assert_memory_equal(doc + sc->recs[i].off, want, strlen(want));
}

static void test_spans(void **state)
{
    (void)state;
    bronze_scan sc = {0};
    const char *d =
        "{\"next\": \"x\", \"data\": [ {\"a\":1} ,\n {\"b\": \"x\\ny\",\n \"c\": [1, {}]}],"
        " \"done\": true}";
    assert_int_equal(scan(&sc, d, "data"), BRONZE_SCAN_OK);
    assert_int_equal(sc.nrecs, 2);
    assert_rec(&sc, d, 0, "{\"a\":1}");
    assert_rec(&sc, d, 1, "{\"b\": \"x\\ny\",\n \"c\": [1, {}]}");
    assert_memory_equal(d + sc.arr_off, "[ {", 3);
    assert_int_equal(d[sc.arr_off + sc.arr_len - 1], ']');
    assert_false(sc.big_int);
    /* a dotted path with an array index */
    const char *e = "{\"r\": [0, {\"items\": [{\"k\": \"\\ud83d\\ude00\"}]}]}";
    assert_int_equal(scan(&sc, e, "r.1.items"), BRONZE_SCAN_OK);
    assert_int_equal(sc.nrecs, 1);
    assert_rec(&sc, e, 0, "{\"k\": \"\\ud83d\\ude00\"}");
    /* empty array */
    assert_int_equal(scan(&sc, "{\"data\":[]}", "data"), BRONZE_SCAN_OK);
    assert_int_equal(sc.nrecs, 0);
    bronze_scan_free(&sc);
}

static void test_default_lookup(void **state)
{
    (void)state;
    bronze_scan sc = {0};
    const char *a = " [{\"x\":1},{\"x\":2}] ";
    assert_int_equal(scan(&sc, a, NULL), BRONZE_SCAN_OK);
    assert_int_equal(sc.nrecs, 2);
    assert_string_equal(sc.where, "");
    /* items, data, results, records: the first that is an array */
    const char *b = "{\"results\":[{\"r\":1}],\"data\":[{\"d\":1},{\"d\":2}],\"items\":3}";
    assert_int_equal(scan(&sc, b, ""), BRONZE_SCAN_OK);
    assert_string_equal(sc.where, "data");
    assert_int_equal(sc.nrecs, 2);
    assert_rec(&sc, b, 1, "{\"d\":2}");
    /* data_path "$" or ".": the document itself when it is an array; an
     * object (one record) and a nested array are the jansson path's */
    for (int k = 0; k < 2; k++) {
        const char *self = k ? "." : "$";
        assert_int_equal(scan(&sc, a, self), BRONZE_SCAN_OK);
        assert_int_equal(sc.nrecs, 2);
        assert_string_equal(sc.where, "");
        assert_rec(&sc, a, 1, "{\"x\":2}");
        assert_int_equal(scan(&sc, "{\"x\":1}", self), BRONZE_SCAN_FALLBACK);
        assert_int_equal(scan(&sc, "{\"data\":[{\"x\":1}]}", self), BRONZE_SCAN_FALLBACK);
    }
    /* a nested "data" is not a candidate */
    assert_int_equal(scan(&sc, "{\"meta\":{\"data\":[{}]}}", NULL), BRONZE_SCAN_FALLBACK);
    bronze_scan_free(&sc);
}

static void test_fallbacks(void **state)
{
    (void)state;
    bronze_scan sc = {0};
    static const char *const bad[] = {
        "",
        "<html><body>502 Bad Gateway</body></html>",
        "{\"data\":[{\"a\":1},{\"a\":",       /* truncated */
        "{\"data\":[{\"a\":1}]} x",           /* something after */
        "{\"data\":[{\"a\":1}, 2]}",          /* a record that is not an object */
        "{\"data\":[{\"a\":1}],\"data\":[]}", /* repeated key: jansson keeps the last */
        "{\"data\":{\"a\":1}}",               /* not an array */
        "{\"data\":null}",
        "{\"other\":[{}]}",                   /* no record array */
        "{\"data\":[{\"a\":\"tab\there\"}]}", /* raw control character */
        "{\"data\":[{\"a\":01}]}",            /* leading zero */
        "{\"data\":[{\"a\":1.}]}",            /* no fraction digits */
        "{\"data\":[{\"a\":tru}]}",           /* bad literal */
        "{\"data\":[{\"a\":1,}]}",            /* trailing comma */
        "{\"data\":[{\"a\" 1}]}",             /* no colon */
        "{\"data\":[{'a':1}]}",               /* single quotes */
        "{\"d\\u0061ta\":[{}]}",              /* an escaped key on the lookup */
        "42",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = scan(&sc, bad[i], i == 8 ? NULL : "data");
        if (r != BRONZE_SCAN_FALLBACK)
            fail_msg("case %zu (%s): %d, want a fallback", i, bad[i], r);
    }
    assert_int_equal(scan(&sc, "{\"d\\u0061ta\":[{}]}", NULL), BRONZE_SCAN_FALLBACK);
    /* too deep for jansson */
    char deep[5000];
    strcpy(deep, "{\"data\":[{\"a\":");
    size_t k = strlen(deep);
    for (int i = 0; i < 2100; i++)
        deep[k++] = '[';
    for (int i = 0; i < 2100; i++)
        deep[k++] = ']';
    strcpy(deep + k, "}]}");
    assert_int_equal(scan(&sc, deep, "data"), BRONZE_SCAN_FALLBACK);
    bronze_scan_free(&sc);
}

/* Valid JSON that a column cannot hold as it is (a NUL, a lone surrogate,
 * bytes that are not UTF-8) or that no DOUBLE holds (a real beyond its
 * range): the page is taken, but the record is not listed for the side index,
 * so the JSON Lines reader parses it and judges it as in a file (it names the
 * record and the field, or replaces with invalid_utf8: replace). */
static void test_unfit_records_not_listed(void **state)
{
    (void)state;
    bronze_scan sc = {0};
    static const char *const unfit[] = {
        "{\"data\":[{\"b\":1},{\"a\":\"\\u0000\"}]}",
        "{\"data\":[{\"b\":1},{\"a\":\"\\ud800x\"}]}",
        "{\"data\":[{\"b\":1},{\"a\":\"\\udc00\"}]}",
        "{\"data\":[{\"b\":1},{\"a\":\"\\ud800\\u0041\"}]}", /* a high one, then no low one */
        "{\"data\":[{\"b\":1},{\"a\":\"caf\xe9\"}]}",
        "{\"data\":[{\"b\":1},{\"a\":\"x\xed\xa0\xbdy\"}]}", /* an encoded surrogate */
        "{\"data\":[{\"b\":1},{\"a\":1e400}]}",
        "{\"data\":[{\"b\":1},{\"a\":-1.5E+999}]}",
        "{\"data\":[{\"b\":1},{\"a\":{\"n\":[\"\\u0000\"]}}]}", /* nested */
        "{\"data\":[{\"b\":1},{\"caf\xe9\":1}]}",               /* in a key */
    };
    for (size_t i = 0; i < sizeof unfit / sizeof unfit[0]; i++) {
        int r = scan(&sc, unfit[i], "data");
        if (r != BRONZE_SCAN_OK)
            fail_msg("case %zu (%s): %d, want the page taken", i, unfit[i], r);
        assert_int_equal(sc.nrecs, 2);
        assert_non_null(bronze_scan_rec_members(&sc, &sc.recs[0]));
        if (bronze_scan_rec_members(&sc, &sc.recs[1]))
            fail_msg("case %zu (%s): its second record is listed for the index", i, unfit[i]);
    }
    /* underflow is no overflow: 1e-400 is a DOUBLE's 0, listed as a number */
    assert_int_equal(scan(&sc, "{\"data\":[{\"a\":1e-400}]}", "data"), BRONZE_SCAN_OK);
    assert_non_null(bronze_scan_rec_members(&sc, &sc.recs[0]));
    bronze_scan_free(&sc);
}

/* One JSON object and its member count (a command's stdout line). */
static void test_scan_object(void **state)
{
    (void)state;
    bronze_scan sc = {0};
    size_t n = 99;
    static const struct {
        const char *doc;
        int want;
        size_t nmem;
    } cases[] = {
        {"{}", BRONZE_SCAN_OK, 0},
        {" {\"a\":1} ", BRONZE_SCAN_OK, 1},
        {"{\"a\":{\"b\":1,\"c\":2},\"d\":[1,{\"e\":3}]}", BRONZE_SCAN_OK, 2},
        {"{\"s\":\"caf\xe9\",\"x\":1e400,\"z\":\"\\u0000\"}", BRONZE_SCAN_OK, 3},
        {"[1,2]", BRONZE_SCAN_FALLBACK, 0},
        {"\"a\"", BRONZE_SCAN_FALLBACK, 0},
        {"{\"a\":1} {}", BRONZE_SCAN_FALLBACK, 0},
        {"{\"a\":1", BRONZE_SCAN_FALLBACK, 0},
        {"not json", BRONZE_SCAN_FALLBACK, 0},
        {"", BRONZE_SCAN_FALLBACK, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        n = 99;
        int r = bronze_scan_object(&sc, cases[i].doc, strlen(cases[i].doc), &n);
        if (r != cases[i].want || (r == BRONZE_SCAN_OK && n != cases[i].nmem))
            fail_msg("case %zu (%s): %d with %zu members", i, cases[i].doc, r, n);
    }
    bronze_scan_free(&sc);
}

/* Where a number ends: after a digit run of every length from 1 to 20 (the
 * scanner steps eight bytes at a time), every byte value; only whitespace
 * or another digit may follow before the closing brace. */
static void test_number_ends(void **state)
{
    (void)state;
    bronze_scan sc = {0};
    char doc[64];
    for (int len = 1; len <= 20; len++)
        for (int v = 1; v < 256; v++) {
            int k = snprintf(doc, sizeof doc, "{\"data\":[{\"n\":");
            for (int d = 0; d < len; d++)
                doc[k++] = (char)('1' + d % 9);
            doc[k++] = (char)v;
            k += snprintf(doc + k, sizeof doc - (size_t)k, "}]}");
            bool digit = v >= '0' && v <= '9';
            bool ok = digit || v == ' ' || v == '\t' || v == '\n' || v == '\r';
            int r = bronze_scan_page(&sc, doc, (size_t)k, "data");
            if (r != (ok ? BRONZE_SCAN_OK : BRONZE_SCAN_FALLBACK))
                fail_msg("%d digits then byte 0x%02x: %d", len, v, r);
            if (ok) {
                assert_int_equal(sc.nrecs, 1);
                assert_int_equal(sc.mem[0].val_len, (uint32_t)(len + digit));
                assert_int_equal(sc.mem[0].kind, BRONZE_JV_INT);
            }
        }
    bronze_scan_free(&sc);
}

static void test_big_int_and_member(void **state)
{
    (void)state;
    bronze_scan sc = {0};
    assert_int_equal(scan(&sc, "{\"data\":[{\"a\":9223372036854775807}]}", "data"), BRONZE_SCAN_OK);
    assert_false(sc.big_int);
    assert_int_equal(scan(&sc, "{\"data\":[{\"a\":9223372036854775808}]}", "data"), BRONZE_SCAN_OK);
    assert_true(sc.big_int);
    assert_int_equal(scan(&sc, "{\"data\":[{\"a\":-9223372036854775809}]}", "data"),
                     BRONZE_SCAN_OK);
    assert_true(sc.big_int);
    assert_int_equal(scan(&sc, "{\"data\":[{\"a\":1.5e300, \"b\":\"\\u00e9\\/\"}]}", "data"),
                     BRONZE_SCAN_OK);
    bronze_scan_free(&sc);

    const char *r = "{ \"id\": 1, \"ts\" : \"2024-01-01\", \"n\": {\"ts\": 5}, \"ts\": \"2025\" }";
    bronze_span sp;
    assert_true(bronze_scan_member(r, strlen(r), "ts", &sp));
    assert_int_equal(sp.len, 6);
    assert_memory_equal(r + sp.off, "\"2025\"", 6); /* the last one wins */
    assert_true(bronze_scan_member(r, strlen(r), "id", &sp));
    assert_memory_equal(r + sp.off, "1", 1);
    assert_false(bronze_scan_member(r, strlen(r), "missing", &sp));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spans),       cmocka_unit_test(test_default_lookup),
        cmocka_unit_test(test_fallbacks),   cmocka_unit_test(test_big_int_and_member),
        cmocka_unit_test(test_number_ends), cmocka_unit_test(test_unfit_records_not_listed),
        cmocka_unit_test(test_scan_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
