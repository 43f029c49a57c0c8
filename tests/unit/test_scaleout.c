/*
 * test_scaleout.c - the scale-out command line and naming (SPEC §2, §8):
 * --shard I/K and --shards K parsing, the schedulers' variables, the
 * deterministic batch id, shard keys and part names, the config keys of
 * source.db.partitioning.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/scaleout_args.h"
#include "config/config.h"
#include "run/commit.h"
#include "run/shard.h"

static void test_parse_shard(void **state)
{
    (void)state;
    char msg[400];
    int i = -1, k = -1;
    assert_int_equal(bronze_cli_parse_shard("3/4", &i, &k, msg, sizeof msg), 0);
    assert_int_equal(i, 3);
    assert_int_equal(k, 4);
    assert_int_equal(bronze_cli_parse_shard("0/1", &i, &k, msg, sizeof msg), 0);
    const char *bad[] = {"5/4",   "4/4",  "0/0",  "x",     "1/",      "/4", "-1/4",
                         "1/4/2", " 1/4", "1/4 ", "1.0/4", "0/10001", ""};
    for (size_t n = 0; n < sizeof bad / sizeof *bad; n++) {
        msg[0] = 0;
        if (bronze_cli_parse_shard(bad[n], &i, &k, msg, sizeof msg) != -1)
            fail_msg("'%s' accepted", bad[n]);
        assert_non_null(strstr(msg, "--shard"));
    }
    assert_int_equal(bronze_cli_parse_shard("5/4", &i, &k, msg, sizeof msg), -1);
    assert_string_equal(msg, "--shard: '5/4': shard index 5 is out of range for 4 shards (indices "
                             "are 0-based: 0 to 3)");
    assert_int_equal(bronze_cli_parse_shard("0/0", &i, &k, msg, sizeof msg), -1);
    assert_string_equal(msg, "--shard: '0/0': the shard count K must be at least 1");
    assert_int_equal(bronze_cli_parse_shards("0", &k, msg, sizeof msg), -1);
    assert_int_equal(bronze_cli_parse_shards("12", &k, msg, sizeof msg), 0);
    assert_int_equal(k, 12);
}

static void clear_env(void)
{
    unsetenv("SLURM_ARRAY_TASK_ID");
    unsetenv("SLURM_ARRAY_TASK_COUNT");
    unsetenv("SLURM_ARRAY_TASK_MIN");
    unsetenv("JOB_COMPLETION_INDEX");
}

static void test_scheduler_env(void **state)
{
    (void)state;
    char msg[400];
    bronze_job_opts o;
    clear_env();
    /* nothing set: a whole extraction */
    memset(&o, 0, sizeof o);
    assert_int_equal(bronze_cli_scaleout(&o, false, NULL, NULL, msg, sizeof msg), 0);
    assert_int_equal(o.mode, BRONZE_JOB_EXTRACT);
    assert_int_equal(o.env_nshards, 0);
    /* Slurm, a 1-based array: --array=1-4 is shards 0..3 */
    setenv("SLURM_ARRAY_TASK_ID", "3", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
    memset(&o, 0, sizeof o);
    assert_int_equal(bronze_cli_scaleout(&o, false, NULL, NULL, msg, sizeof msg), 0);
    assert_int_equal(o.mode, BRONZE_JOB_EXTRACT); /* applied per config (partitioned ones) */
    assert_int_equal(o.env_shard, 2);
    assert_int_equal(o.env_nshards, 4);
    /* --shard wins over the environment */
    memset(&o, 0, sizeof o);
    assert_int_equal(bronze_cli_scaleout(&o, false, "1/2", NULL, msg, sizeof msg), 0);
    assert_int_equal(o.mode, BRONZE_JOB_SHARD);
    assert_int_equal(o.shard, 1);
    assert_int_equal(o.nshards, 2);
    setenv("SLURM_ARRAY_TASK_ID", "5", 1);
    memset(&o, 0, sizeof o);
    assert_int_equal(bronze_cli_scaleout(&o, false, NULL, NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "$SLURM_ARRAY_TASK_ID 5 (min 1) is out of range"));
    setenv("SLURM_ARRAY_TASK_ID", "two", 1);
    assert_int_equal(bronze_cli_scaleout(&o, false, NULL, NULL, msg, sizeof msg), -1);
    assert_string_equal(msg, "$SLURM_ARRAY_TASK_ID: 'two' is not a whole number");
    clear_env();
    /* Kubernetes: the index, with --shards K */
    setenv("JOB_COMPLETION_INDEX", "2", 1);
    memset(&o, 0, sizeof o);
    assert_int_equal(bronze_cli_scaleout(&o, false, NULL, "3", msg, sizeof msg), 0);
    assert_int_equal(o.mode, BRONZE_JOB_SHARD);
    assert_int_equal(o.shard, 2);
    assert_int_equal(o.nshards, 3);
    assert_int_equal(bronze_cli_scaleout(&o, false, NULL, "2", msg, sizeof msg), -1);
    assert_string_equal(msg, "$JOB_COMPLETION_INDEX 2 is out of range for --shards 2");
    clear_env();
    assert_int_equal(bronze_cli_scaleout(&o, false, NULL, "3", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "--shards 3 needs the shard index"));
    /* disagreeing counts; commit takes --shards only */
    assert_int_equal(bronze_cli_scaleout(&o, false, "0/4", "3", msg, sizeof msg), -1);
    assert_string_equal(msg, "--shard 0/4 and --shards 3 disagree on the shard count");
    assert_int_equal(bronze_cli_scaleout(&o, true, "0/4", NULL, msg, sizeof msg), -1);
    memset(&o, 0, sizeof o);
    assert_int_equal(bronze_cli_scaleout(&o, true, NULL, "4", msg, sizeof msg), 0);
    assert_int_equal(o.mode, BRONZE_JOB_COMMIT);
    assert_int_equal(o.nshards, 4);
}

static void test_batch_id(void **state)
{
    (void)state;
    bronze_config cfg;
    memset(&cfg, 0, sizeof cfg);
    bronze_run_date d;
    assert_int_equal(bronze_run_date_parse("2025-01-12", &d), 0);
    const char *sha = "ab";
    char a[32], b[32], c[32], e[32], f[32];
    assert_int_equal(bronze_shard_batch_id(&cfg, &d, sha, NULL, NULL, a), 0);
    assert_int_equal(bronze_shard_batch_id(&cfg, &d, sha, NULL, NULL, b), 0);
    assert_string_equal(a, b); /* every shard derives the same id */
    assert_int_equal(strlen(a), 24);
    assert_memory_equal(a, "20250112_000000_", 16);
    assert_int_equal(bronze_shard_batch_id(&cfg, &d, sha, "2025-01-01T00:00:00Z", NULL, c), 0);
    assert_string_not_equal(a, c); /* another start cursor: another run */
    assert_int_equal(bronze_shard_batch_id(&cfg, &d, "ac", NULL, NULL, e), 0);
    assert_string_not_equal(a, e); /* another config */
    json_t *prev = json_pack("{s:s}", "batch_id", "x");
    assert_int_equal(bronze_shard_batch_id(&cfg, &d, sha, NULL, prev, f), 0);
    assert_string_not_equal(a, f); /* another marker to append to */
    json_decref(prev);
    assert_int_equal(bronze_run_date_parse("2025-01-12T14:30", &d), 0);
    assert_int_equal(bronze_shard_batch_id(&cfg, &d, sha, NULL, NULL, f), 0);
    assert_memory_equal(f, "20250112_143000_", 16);
}

static void test_keys_and_names(void **state)
{
    (void)state;
    bronze_err err = BRONZE_ERR_INIT;
    char stage[1200], journal[1200];
    assert_int_equal(bronze_shard_keys("system=s/table=t/dt=2025-01-12/", "B1", 3, stage, journal,
                                       sizeof stage, &err),
                     0);
    assert_string_equal(stage, ".bronze-tmp/shards/system=s+table=t+dt=2025-01-12/batch=B1/");
    assert_string_equal(journal,
                        ".bronze-tmp/shards/system=s+table=t+dt=2025-01-12/journal-s03.json");
    assert_int_equal(
        bronze_shard_keys("system=s/table=t/", NULL, -1, NULL, journal, sizeof journal, &err), 0);
    assert_string_equal(journal, ".bronze-tmp/shards/system=s+table=t/journal-");
    /* a shard's parts are parts: a later full load replaces them, verify checks them */
    assert_true(bronze_commit_is_part_name("part-0001-s03.parquet"));
    assert_true(bronze_commit_is_part_name("part-0012-s127.csv"));
    assert_true(bronze_commit_is_part_name("part-0001.parquet"));
    assert_false(bronze_commit_is_part_name("part-0001-s03.parquet.tmp"));
    assert_false(bronze_commit_is_part_name("part-0001-x03.parquet"));
    assert_false(bronze_commit_is_part_name("part-0001-s.parquet"));
    /* typed cursor maximum: numbers and instants, not text */
    assert_true(bronze_shard_cursor_cmp(BRONZE_T_INT64, "10", "9") > 0);
    assert_true(bronze_shard_cursor_cmp(BRONZE_T_TIMESTAMPTZ, "2025-01-01T00:00:00Z",
                                        "2025-01-01T00:00:00.5Z") < 0);
    assert_true(bronze_shard_cursor_cmp(BRONZE_T_STRING, "b", "a") > 0);
}

static void test_config_keys(void **state)
{
    (void)state;
    char path[] = "/tmp/bronze-scaleout-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    const char *y =
        "source:\n  type: db\n  system: s\n  table: t\n  db:\n    conn_str_env: X\n"
        "    base_query: SELECT 1\n    partitioning:\n      column: id\n"
        "      num_partitions: 8\n      lower_bound: 1\n      upper_bound: '2025-01-01'\n";
    assert_int_equal(write(fd, y, strlen(y)), (ssize_t)strlen(y));
    close(fd);
    bronze_config *cfg = NULL;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_config_load(&cfg, path, &err), 0);
    assert_string_equal(cfg->db.partitioning.column, "id");
    assert_int_equal(cfg->db.partitioning.num_partitions, 8);
    assert_string_equal(cfg->db.partitioning.lower_bound, "1");
    assert_string_equal(cfg->db.partitioning.upper_bound, "2025-01-01");
    bronze_config_free(cfg);
    /* num_partitions required, >= 1; column required */
    const char *bad[][2] = {
        {"      column: id\n", "source.db.partitioning.num_partitions: required"},
        {"      column: id\n      num_partitions: 0\n",
         "source.db.partitioning.num_partitions: must be an integer >= 1"},
        {"      num_partitions: 2\n", "source.db.partitioning.column: required"},
    };
    for (size_t n = 0; n < sizeof bad / sizeof *bad; n++) {
        char text[600];
        snprintf(text, sizeof text,
                 "source:\n  type: db\n  system: s\n  table: t\n  db:\n    conn_str_env: X\n"
                 "    base_query: SELECT 1\n    partitioning:\n%s",
                 bad[n][0]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        cfg = NULL;
        bronze_err_clear(&err);
        assert_int_equal(bronze_config_load(&cfg, path, &err), -1);
        if (!strstr(err.msg, bad[n][1]))
            fail_msg("want '%s' in '%s'", bad[n][1], err.msg);
        assert_int_equal(err.kind, BRONZE_E_CONFIG);
        bronze_config_free(cfg);
    }
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_shard), cmocka_unit_test(test_scheduler_env),
        cmocka_unit_test(test_batch_id),    cmocka_unit_test(test_keys_and_names),
        cmocka_unit_test(test_config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
