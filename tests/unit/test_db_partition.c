/*
 * test_db_partition.c - source.db.partitioning's key ranges (SPEC §8,
 * source/db_partition.h): every key in exactly one range for integer, date
 * and timestamp keys, more ranges than keys, lower == upper, shard slices,
 * bound text and the SQL condition.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/db_partition.h"
#include "util/datetime.h"

static bool in_range(const bronze_dbp_range *r, int64_t k)
{
    return (r->lo_open || k >= r->lo) && (r->hi_open || k < r->hi);
}

/* Every key from lo-5 to hi+5 (and the extremes) lies in exactly one of the
 * n ranges; the ranges are in order; the first and last are open. */
static void check_cover(int64_t min, int64_t max, int n)
{
    bronze_dbp_range r[64];
    assert_true(n <= 64);
    for (int i = 0; i < n; i++)
        bronze_dbp_range_of(min, max, n, i, i + 1, &r[i]);
    assert_true(r[0].lo_open);
    assert_true(r[n - 1].hi_open);
    for (int i = 1; i < n; i++) {
        assert_false(r[i].lo_open);
        assert_false(r[i - 1].hi_open);
        assert_int_equal(r[i].lo, r[i - 1].hi); /* neighbours share the boundary */
        assert_true(r[i].lo >= r[i - 1].lo || i == 1);
    }
    int64_t probes[] = {INT64_MIN, INT64_MAX, min, max};
    for (size_t p = 0; p < sizeof probes / sizeof *probes; p++) {
        int hits = 0;
        for (int i = 0; i < n; i++)
            hits += in_range(&r[i], probes[p]);
        assert_int_equal(hits, 1);
    }
    int64_t from = min > INT64_MIN + 5 ? min - 5 : min, to = max < INT64_MAX - 5 ? max + 5 : max;
    if ((__int128)to - (__int128)from > 100000)
        to = from + 100000;
    for (int64_t k = from; k <= to; k++) {
        int hits = 0;
        for (int i = 0; i < n; i++)
            hits += in_range(&r[i], k);
        if (hits != 1)
            fail_msg("key %lld in %d ranges (min %lld max %lld n %d)", (long long)k, hits,
                     (long long)min, (long long)max, n);
    }
}

static void test_integer_ranges(void **state)
{
    (void)state;
    check_cover(1, 1000, 4);
    check_cover(-50, 49, 7);
    check_cover(0, 0, 1);
    check_cover(INT64_MIN, INT64_MAX, 16); /* the span overflows int64 */
    /* even split: [1,251) [251,501) [501,751) [751,..) */
    bronze_dbp_range r;
    bronze_dbp_range_of(1, 1000, 4, 1, 2, &r);
    assert_int_equal(r.lo, 251);
    assert_int_equal(r.hi, 501);
}

static void test_more_partitions_than_keys(void **state)
{
    (void)state;
    check_cover(10, 12, 8); /* 3 keys, 8 ranges: some empty, none overlaps */
    int nonempty = 0;
    for (int i = 0; i < 8; i++) {
        bronze_dbp_range r;
        bronze_dbp_range_of(10, 12, 8, i, i + 1, &r);
        int keys = 0;
        for (int64_t k = 10; k <= 12; k++)
            keys += in_range(&r, k);
        nonempty += keys > 0;
    }
    assert_int_equal(nonempty, 3);
}

static void test_lower_equals_upper(void **state)
{
    (void)state;
    check_cover(42, 42, 4);
    bronze_dbp_range last;
    bronze_dbp_range_of(42, 42, 4, 3, 4, &last);
    assert_true(in_range(&last, 42)); /* the one key goes to the last range */
    bronze_dbp_range first;
    bronze_dbp_range_of(42, 42, 4, 0, 1, &first);
    assert_false(in_range(&first, 42));
    assert_true(in_range(&first, 41)); /* below the bounds: the first range */
}

static void test_date_and_timestamp_keys(void **state)
{
    (void)state;
    int64_t d0, d1;
    assert_int_equal(bronze_dbp_key_parse(BRONZE_T_DATE, "2025-01-01", &d0), 0);
    assert_int_equal(bronze_dbp_key_parse(BRONZE_T_DATE, "2025-12-31", &d1), 0);
    assert_int_equal(d1 - d0, 364);
    check_cover(d0, d1, 12);
    char t[64];
    bronze_dbp_range r;
    bronze_dbp_range_of(d0, d1, 4, 1, 2, &r);
    bronze_dbp_key_text(BRONZE_T_DATE, r.lo, t);
    assert_string_equal(t, "2025-04-02"); /* 2025-01-01 + 91 days */
    int64_t t0, t1;
    assert_int_equal(bronze_dbp_key_parse(BRONZE_T_TIMESTAMP, "2025-01-01 00:00:00", &t0), 0);
    assert_int_equal(bronze_dbp_key_parse(BRONZE_T_TIMESTAMP, "2025-01-02", &t1), 0);
    assert_true(t1 - t0 == 86400000000LL);
    check_cover(t0, t0 + 99999, 9);
    bronze_dbp_range_of(t0, t1, 2, 1, 2, &r);
    bronze_dbp_key_text(BRONZE_T_TIMESTAMP, r.lo, t);
    assert_string_equal(t, "2025-01-01 12:00:00.000000");
    bronze_dbp_key_text(BRONZE_T_TIMESTAMPTZ, r.lo, t);
    assert_string_equal(t, "2025-01-01 12:00:00.000000+00");
    bronze_dbp_key_text(BRONZE_T_INT64, -7, t);
    assert_string_equal(t, "-7");
    int64_t k;
    assert_int_equal(bronze_dbp_key_parse(BRONZE_T_INT64, "12x", &k), -1);
    assert_int_equal(bronze_dbp_key_parse(BRONZE_T_DATE, "2025-13-01", &k), -1);
    assert_int_equal(bronze_dbp_key_parse(BRONZE_T_TIMESTAMP, "yesterday", &k), -1);
}

static void test_shard_slices(void **state)
{
    (void)state;
    /* K shards over n partitions: contiguous, in order, covering all */
    int ns[] = {1, 4, 7, 16, 100};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (int k = 1; k <= ns[a]; k++) {
            int expect = 0;
            for (int s = 0; s < k; s++) {
                int f, l;
                bronze_dbp_shard_slice(ns[a], s, k, &f, &l);
                assert_int_equal(f, expect);
                assert_true(l > f); /* k <= n: no shard is empty */
                expect = l;
            }
            assert_int_equal(expect, ns[a]);
        }
}

static void test_condition_sql(void **state)
{
    (void)state;
    bronze_buf b = BRONZE_BUF_INIT;
    bronze_dbp_range r = {.lo_open = true, .hi = 5};
    assert_int_equal(bronze_dbp_condition(&b, "\"id\"", &r, "?3", "?4"), 0);
    assert_string_equal((char *)b.data, "(\"id\" < ?4 OR \"id\" IS NULL)");
    b.len = 0;
    r = (bronze_dbp_range){.hi_open = true, .lo = 5};
    assert_int_equal(bronze_dbp_condition(&b, "\"id\"", &r, "?3", "?4"), 0);
    assert_string_equal((char *)b.data, "\"id\" >= ?3");
    b.len = 0;
    r = (bronze_dbp_range){.lo = 1, .hi = 5};
    assert_int_equal(bronze_dbp_condition(&b, "k", &r, "'1'::int8", "'5'::int8"), 0);
    assert_string_equal((char *)b.data, "(k >= '1'::int8 AND k < '5'::int8)");
    b.len = 0;
    r = (bronze_dbp_range){.lo_open = true, .hi_open = true};
    assert_int_equal(bronze_dbp_condition(&b, "k", &r, "", ""), 0);
    assert_string_equal((char *)b.data, "1 = 1");
    bronze_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_ranges),     cmocka_unit_test(test_more_partitions_than_keys),
        cmocka_unit_test(test_lower_equals_upper), cmocka_unit_test(test_date_and_timestamp_keys),
        cmocka_unit_test(test_shard_slices),       cmocka_unit_test(test_condition_sql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
