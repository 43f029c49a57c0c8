/*
 * test_validate.c - bronze_config_load_diags() and src/config/validate.c:
 * every error and warning of a file in one pass, in file order, without the
 * "required" echoes of a key that was already reported; the run-time rules
 * that depend on a config alone; the clashes between the configs of a run.
 * Configs are written to a temporary folder by each test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/validate.h"

static char g_dir[] = "/tmp/bf-validate-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *put(const char *name, const char *text)
{
    static char path[8][256];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 256, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* Loads path; returns its messages sorted (the caller frees). */
static bronze_diags load(const char *path, int want_rc, bronze_config **keep)
{
    bronze_diags d = {0};
    bronze_err err = BRONZE_ERR_INIT;
    bronze_config *cfg = NULL;
    int rc = bronze_config_load_diags(&cfg, path, &d, &err);
    assert_int_equal(rc, want_rc);
    if (cfg)
        bronze_validate_config(cfg, &d);
    bronze_diags_sort(&d);
    if (keep)
        *keep = cfg;
    else
        bronze_config_free(cfg);
    return d;
}

static void expect(const bronze_diags *d, size_t i, bool error, int line, const char *text)
{
    assert_true(i < d->n);
    if (d->v[i].error != error || d->v[i].line != line || !strstr(d->v[i].msg, text))
        fail_msg("message %zu: want %s at line %d with '%s', got %s (line %d): %s", i,
                 error ? "error" : "warning", line, text, d->v[i].error ? "error" : "warning",
                 d->v[i].line, d->v[i].msg);
}

static const char *DB_HEAD = "source:\n"
                             "  type: db\n"
                             "  system: shop\n"
                             "  table: orders\n"
                             "  db:\n"
                             "    conn_str_env: DB\n"
                             "    base_query: SELECT 1\n";

static void test_every_error_in_file_order(void **state)
{
    (void)state;
    const char *p = put("many.yaml", "platform:\n"
                                     "  bronze:\n"
                                     "    s3_buckt: x\n" /* 3: warning */
                                     "    partitioning:\n"
                                     "      partition_strategy: weekly\n" /* 5 */
                                     "source:\n"
                                     "  type: db\n"
                                     "  system: shop\n"
                                     "  table: orders\n"
                                     "  db:\n"
                                     "    conn_str_env: \"postgres://x\"\n" /* 11 */
                                     "    base_query: SELECT 1\n"
                                     "    fetch_batch_size: 0\n" /* 13 */
                                     "  run:\n"
                                     "    max_rows_per_file: -1\n" /* 15 */
                                     "    paralel_workers: 2\n"    /* 16: warning */
                                     "    write_csv: maybe\n");    /* 17 */
    bronze_diags d = load(p, -1, NULL);
    assert_int_equal(d.n, 7);
    expect(&d, 0, false, 3, "platform.bronze.s3_buckt: unknown key (did you mean 's3_bucket'?)");
    expect(&d, 1, true, 5, "partition_strategy: must be one of");
    expect(&d, 2, true, 11, "source.db.conn_str_env: must be the name of an environment variable");
    expect(&d, 3, true, 13, "source.db.fetch_batch_size: must be an integer >= 1");
    expect(&d, 4, true, 15, "source.run.max_rows_per_file: must be an integer >= 0");
    expect(&d, 5, false, 16, "source.run.paralel_workers: unknown key");
    expect(&d, 6, true, 17, "source.run.write_csv: must be true or false");
    /* the bad conn_str_env is not echoed as "required" as well */
    for (size_t i = 0; i < d.n; i++)
        assert_null(strstr(d.v[i].msg, "required"));
    bronze_diags_free(&d);
}

static void test_first_error_still_the_old_api(void **state)
{
    (void)state;
    const char *p = put("two.yaml", "source:\n"
                                    "  type: db\n"
                                    "  system: shop\n"
                                    "  table: orders\n"
                                    "  db:\n"
                                    "    conn_str_env: DB\n"
                                    "    base_query: SELECT 1\n"
                                    "  run:\n"
                                    "    timeout_seconds: 0\n"
                                    "    max_retries: -2\n");
    bronze_config *cfg = (bronze_config *)1;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_config_load(&cfg, p, &err), -1);
    assert_null(cfg);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_non_null(strstr(err.msg, ":9:5: source.run.timeout_seconds: "));
}

static void test_required_section_and_keys_all_reported(void **state)
{
    (void)state;
    const char *p = put("req.yaml", "source:\n"
                                    "  type: db\n"
                                    "  db:\n"
                                    "    fetch_batch_size: 10\n");
    bronze_diags d = load(p, -1, NULL);
    size_t want = 0;
    for (size_t i = 0; i < d.n; i++)
        want += strstr(d.v[i].msg, "source.system: required") ||
                strstr(d.v[i].msg, "source.table: required") ||
                strstr(d.v[i].msg, "source.db.conn_str_env: required") ||
                strstr(d.v[i].msg, "source.db.base_query: required");
    assert_int_equal(want, 4);
    assert_int_equal(bronze_diags_errors(&d), 4);
    bronze_diags_free(&d);
}

static void test_no_output_format_and_bucket(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text,
             "platform:\n"
             "  bronze:\n"
             "    s3_bucket: \"a/b\"\n"
             "    output_defaults:\n"
             "      allow_parquet: false\n"
             "%s"
             "  run:\n"
             "    write_csv: false\n",
             DB_HEAD);
    bronze_diags d = load(put("fmt.yaml", text), 0, NULL);
    assert_int_equal(d.n, 2);
    expect(&d, 0, true, 3, "platform.bronze.s3_bucket: 'a/b' is not a bucket name");
    expect(&d, 1, true, 14, "source.run.write_csv: no output format is enabled");
    bronze_diags_free(&d);
}

static void test_clashes(void **state)
{
    (void)state;
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s    incremental:\n      cursor_column: id\n      state_file: s.json\n",
             DB_HEAD);
    snprintf(b, sizeof b, "%s", a);
    char *t = strstr(b, "table: orders");
    memcpy(t, "table: others", 13);
    bronze_config *cfgs[3] = {NULL, NULL, NULL};
    bronze_diags d0 = load(put("a.yaml", a), 0, &cfgs[0]);
    bronze_diags d1 = load(put("b.yaml", b), 0, &cfgs[1]);
    bronze_diags d2 = load(put("c.yaml", DB_HEAD), 0, &cfgs[2]);
    bronze_diags per[3] = {d0, d1, d2};
    bronze_validate_run(cfgs, 3, per);
    /* a and b share a state file; a and c write one partition */
    assert_int_equal(bronze_diags_errors(&per[0]), 2);
    assert_int_equal(bronze_diags_errors(&per[1]), 1);
    assert_int_equal(bronze_diags_errors(&per[2]), 1);
    bronze_diags_sort(&per[0]);
    assert_non_null(strstr(per[1].v[0].msg, ":10:7: source.db.incremental.state_file: "));
    assert_non_null(strstr(per[1].v[0].msg, "both keep their cursor in s.json"));
    assert_non_null(strstr(per[2].v[0].msg, ":4:3: source.table: "));
    assert_non_null(strstr(per[2].v[0].msg, "both write the same partition under output"));
    /* a config that did not load takes part in no clash */
    bronze_config *none[2] = {cfgs[0], NULL};
    bronze_diags q[2] = {{0}, {0}};
    bronze_validate_run(none, 2, q);
    assert_int_equal(q[0].n + q[1].n, 0);
    for (int i = 0; i < 3; i++) {
        bronze_diags_free(&per[i]);
        bronze_config_free(cfgs[i]);
    }
}

static void test_diags_dedupe_and_stable_sort(void **state)
{
    (void)state;
    bronze_diags d = {0};
    bronze_diags_add(&d, true, 5, 1, "b");
    bronze_diags_add(&d, false, 2, 3, "a");
    bronze_diags_add(&d, true, 5, 1, "c");
    bronze_diags_add(&d, true, 5, 1, "b");
    bronze_diags_add(&d, true, 0, 0, "no place");
    assert_int_equal(d.n, 4);
    bronze_diags_sort(&d);
    assert_string_equal(d.v[0].msg, "no place");
    assert_string_equal(d.v[1].msg, "a");
    assert_string_equal(d.v[2].msg, "b");
    assert_string_equal(d.v[3].msg, "c");
    assert_int_equal(bronze_diags_errors(&d), 3);
    bronze_diags_free(&d);
    assert_int_equal(d.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_in_file_order),
        cmocka_unit_test(test_first_error_still_the_old_api),
        cmocka_unit_test(test_required_section_and_keys_all_reported),
        cmocka_unit_test(test_no_output_format_and_bucket),
        cmocka_unit_test(test_clashes),
        cmocka_unit_test(test_diags_dedupe_and_stable_sort),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
