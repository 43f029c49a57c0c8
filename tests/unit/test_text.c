/* Unit tests for the text check (SPEC §7 "Text must be UTF-8"): the
 * validator's edge cases (overlongs, surrogates, > U+10FFFF, truncated
 * sequences, the ASCII fast path's word boundaries), U+FFFD repair by
 * maximal subpart as Python's errors="replace" does, and the roller failing
 * or repairing a batch without touching the source's copy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/batch.h"
#include "run/roller.h"
#include "util/utf8.h"

#define CHECK(lit, want) assert_int_equal(bronze_utf8_check(lit, sizeof lit - 1), want)

static void test_check_edges(void **state)
{
    (void)state;
    CHECK("", 0);
    CHECK("plain ascii", 11);
    CHECK("caf\xC3\xA9", 5);      /* é */
    CHECK("\xE2\x82\xAC", 3);     /* € */
    CHECK("\xF0\x9F\x98\x80", 4); /* U+1F600 */
    CHECK("\xF4\x8F\xBF\xBF", 4); /* U+10FFFF, the last one */
    CHECK("\xEF\xBF\xBD", 3);     /* U+FFFD itself */
    CHECK("\xED\x9F\xBF", 3);     /* U+D7FF, below the surrogates */
    CHECK("\xEE\x80\x80", 3);     /* U+E000, above them */
    CHECK("a\xE9z", 1);           /* Latin-1 é */
    CHECK("\xC0\x80", 0);         /* overlong NUL */
    CHECK("\xC1\xBF", 0);         /* overlong */
    CHECK("\xE0\x80\xAF", 0);     /* overlong '/' */
    CHECK("\xE0\x9F\xBF", 0);     /* overlong */
    CHECK("\xF0\x8F\xBF\xBF", 0); /* overlong */
    CHECK("\xED\xA0\x80", 0);     /* U+D800, a surrogate (CESU) */
    CHECK("\xED\xBF\xBF", 0);     /* U+DFFF */
    CHECK("\xF4\x90\x80\x80", 0); /* U+110000 */
    CHECK("\xF5\x80\x80\x80", 0); /* lead beyond F4 */
    CHECK("\xFF", 0);
    CHECK("\x80", 0);           /* a continuation alone */
    CHECK("ab\xE6\x9D", 2);     /* truncated at the end */
    CHECK("ab\xF0\x9F\x98", 2); /* truncated at the end */
    CHECK("\xE6\x9Dz", 0);      /* truncated before ASCII */
    CHECK("\xC3", 0);
    CHECK("\xC3\xA9\xC3", 2);
    /* bad bytes on and around the 8- and 32-byte steps of the ASCII skip */
    char buf[80];
    for (size_t at = 0; at < 70; at++) {
        memset(buf, 'x', sizeof buf);
        buf[at] = (char)0xE9;
        assert_int_equal(bronze_utf8_check(buf, sizeof buf), at);
        buf[at] = (char)0xC3; /* a good é across the step */
        buf[at + 1] = (char)0xA9;
        assert_int_equal(bronze_utf8_check(buf, sizeof buf), sizeof buf);
    }
    /* NUL is valid UTF-8 */
    assert_int_equal(bronze_utf8_check("a\0b", 3), 3);
}

static void repair_case(const char *in, size_t n, const char *want, uint64_t want_count)
{
    bronze_buf out = BRONZE_BUF_INIT;
    uint64_t count = 0;
    assert_int_equal(bronze_utf8_repair(&out, in, n, &count), 0);
    assert_int_equal(count, want_count);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    assert_int_equal(bronze_utf8_check(out.data, out.len), out.len);
    bronze_buf_free(&out);
}
#define REPAIR(lit, want, k) repair_case(lit, sizeof lit - 1, want, k)
#define R "\xEF\xBF\xBD"

static void test_repair(void **state)
{
    (void)state;
    /* each expectation is Python's bytes.decode("utf-8", errors="replace") */
    REPAIR("ok", "ok", 0);
    REPAIR("caf\xE9", "caf" R, 1);
    REPAIR("\xED\xA0\x80", R R R, 3); /* surrogate: three maximal subparts */
    REPAIR("\xC0\x80", R R, 2);       /* overlong */
    REPAIR("\xE0\x80\xAF", R R R, 3);
    REPAIR("\xF4\x90\x80\x80", R R R R, 4); /* > U+10FFFF */
    REPAIR("ab\xE6\x9D", "ab" R, 1);        /* truncated: one subpart */
    REPAIR("\xF0\x9F\x98z", R "z", 1);
    REPAIR("\xF0\x9F\x98\xF0\x9F\x98\x80", R "\xF0\x9F\x98\x80", 1);
    REPAIR("\xE6\x9D\xC3\xA9", R "\xC3\xA9", 1);
    REPAIR("\x80\x80", R R, 2);
    REPAIR("\xFF\xFE", R R, 2);
    REPAIR("a\xE9"
           "b\xE9",
           "a" R "b" R, 2);
}

/* One STRING column "s" with the given values, through a CSV-only roller. */
static int roll(const char *const *vals, const size_t *lens, size_t n, bool replace,
                uint64_t *replaced, char *csv, size_t cap, bronze_err *err)
{
    char dir[] = "/tmp/bf-text-XXXXXX";
    assert_non_null(mkdtemp(dir));
    bronze_schema *sc = bronze_schema_new(2);
    assert_non_null(sc);
    assert_int_equal(bronze_schema_set(sc, 0, "id", BRONZE_T_INT64, 0, 0, true), 0);
    assert_int_equal(bronze_schema_set(sc, 1, "s", BRONZE_T_STRING, 0, 0, true), 0);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, sc, 16), 0);
    for (size_t i = 0; i < n; i++) {
        bronze_batch_put_i64(&b, (int64_t)i + 1);
        assert_int_equal(bronze_batch_put_bytes(&b, vals[i], lens[i]), 0);
        bronze_batch_end_row(&b);
    }
    /* a copy of the source's bytes, to prove the roller leaves them be */
    size_t before_len = b.cols[1].v.off[n];
    char *before = malloc(before_len + 1);
    assert_non_null(before);
    memcpy(before, b.cols[1].data, before_len);

    bronze_roller r;
    bronze_encoder_opts eo = {.codec = BRONZE_CODEC_SNAPPY, .created_by = "test", .workers = 1};
    assert_int_equal(bronze_roller_init(&r, dir, 1, &eo, 0, 1, err), 0);
    bronze_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.path = "c.yaml";
    cfg.type = BRONZE_SRC_DB;
    cfg.run.invalid_utf8 = replace ? BRONZE_UTF8_REPLACE : BRONZE_UTF8_FAIL;
    bronze_roller_set_text_policy(&r, &cfg);
    bronze_roller_set_schema(&r, sc);
    int rc = bronze_roller_write(&r, &b, err);
    /* the second write proves the shadow is rebuilt per batch */
    if (!rc)
        rc = bronze_roller_write(&r, &b, err);
    if (!rc)
        rc = bronze_roller_finish(&r, err);
    *replaced = r.replaced_utf8;
    csv[0] = 0;
    if (!rc) {
        FILE *f = fopen(r.files[0].staged_path, "rb");
        assert_non_null(f);
        size_t k = fread(csv, 1, cap - 1, f);
        csv[k] = 0;
        fclose(f);
    }
    assert_int_equal(b.cols[1].v.off[n], before_len);
    assert_memory_equal(b.cols[1].data, before, before_len);
    free(before);
    bronze_roller_free(&r);
    bronze_batch_free(&b);
    bronze_schema_free(sc);
    rmdir(dir);
    return rc;
}

static void test_roller_fail(void **state)
{
    (void)state;
    const char *vals[] = {"fine", "caf\xE9", "also fine"};
    size_t lens[] = {4, 4, 9};
    char csv[512];
    uint64_t replaced;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(roll(vals, lens, 3, false, &replaced, csv, sizeof csv, &err), -1);
    assert_non_null(strstr(err.msg, "c.yaml: row 2, column 's' (STRING): text that is not valid "
                                    "UTF-8 (byte 0xE9 at byte 3 of the value)"));
    assert_non_null(strstr(err.msg, "CAST(\"s\" AS BLOB)"));
    assert_non_null(strstr(err.msg, "invalid_utf8: replace"));
}

static void test_roller_boundary(void **state)
{
    (void)state;
    /* the arena "\xC3" "\xA9" is valid UTF-8 as a whole, but neither value is */
    const char *vals[] = {"\xC3", "\xA9"};
    size_t lens[] = {1, 1};
    char csv[512];
    uint64_t replaced;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(roll(vals, lens, 2, false, &replaced, csv, sizeof csv, &err), -1);
    assert_non_null(strstr(err.msg, "row 1, column 's'"));
}

static void test_roller_replace(void **state)
{
    (void)state;
    const char *vals[] = {"fine", "caf\xE9", "\xED\xA0\x80", ""};
    size_t lens[] = {4, 4, 3, 0};
    char csv[512];
    uint64_t replaced;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(roll(vals, lens, 4, true, &replaced, csv, sizeof csv, &err), 0);
    assert_int_equal(replaced, 8); /* (1 + 3) per batch, two batches */
    assert_string_equal(csv, "id,s\n1,fine\n2,caf" R "\n3," R R R "\n4,\"\"\n"
                             "1,fine\n2,caf" R "\n3," R R R "\n4,\"\"\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_edges),    cmocka_unit_test(test_repair),
        cmocka_unit_test(test_roller_fail),    cmocka_unit_test(test_roller_boundary),
        cmocka_unit_test(test_roller_replace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
