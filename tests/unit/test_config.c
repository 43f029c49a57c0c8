/*
 * test_config.c - the config loader (src/config/): SPEC §3 keys, defaults and
 * 1.0 aliases, every seed snippet, the exact "file:line:col: key.path:" form
 * of errors, unknown-key warnings on stderr, as_json typing, and
 * bronze_config_resolve() reading (and never printing) the environment.
 *
 * Fixtures live in tests/fixtures/config/; `make unit` runs from the repo root.
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
#include <jansson.h>

#include "config/config.h"
#include "util/err.h"
#include "util/log.h"

#define FX "tests/fixtures/config/"

/* ---- helpers ---- */

typedef struct loaded {
    bronze_config *cfg;
    bronze_err err;
    int rc;
    char *log; /* everything written to stderr during the load */
} loaded;

/* Loads path with fd 2 redirected to a temporary file, so warnings can be read. */
static loaded load_captured(const char *path)
{
    loaded l = {NULL, BRONZE_ERR_INIT, 0, NULL};
    fflush(stderr);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), 2) >= 0);
    l.rc = bronze_config_load(&l.cfg, path, &l.err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fseek(tmp, 0, SEEK_END);
    long n = ftell(tmp);
    rewind(tmp);
    l.log = calloc((size_t)n + 1, 1);
    assert_non_null(l.log);
    if (n > 0)
        assert_int_equal(fread(l.log, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return l;
}

static void loaded_free(loaded *l)
{
    bronze_config_free(l->cfg);
    free(l->log);
}

/* Loads a config that must be valid and print nothing. */
static bronze_config *load_ok_quiet(const char *path)
{
    loaded l = load_captured(path);
    if (l.rc != 0)
        fail_msg("%s: unexpected error: %s", path, l.err.msg);
    if (l.log[0])
        fail_msg("%s: unexpected output: %s", path, l.log);
    free(l.log);
    assert_non_null(l.cfg);
    return l.cfg;
}

static const char *ENV_NAMES[] = {"POSTGRES_CONN_STR",
                                  "ORDERS_LAST_CURSOR",
                                  "BRONZE_S3_ENDPOINT",
                                  "BRONZE_S3_ACCESS_KEY",
                                  "BRONZE_S3_SECRET_KEY",
                                  "T_DB_CONN",
                                  "T_ORDERS_CURSOR",
                                  "T_S3_ENDPOINT",
                                  "T_S3_ACCESS",
                                  "T_S3_SECRET",
                                  "T_S3_REGION",
                                  "AWS_ACCESS_KEY_ID",
                                  "AWS_SECRET_ACCESS_KEY",
                                  "AWS_SESSION_TOKEN",
                                  "AWS_REGION",
                                  "AWS_DEFAULT_REGION",
                                  "AWS_ENDPOINT_URL",
                                  "TICKETS_TOKEN",
                                  "DEMO_USER",
                                  "DEMO_PASS",
                                  NULL};

static int clear_env(void **state)
{
    (void)state;
    for (const char **n = ENV_NAMES; *n; n++)
        unsetenv(*n);
    return 0;
}

/* ---- valid configs ---- */

static void test_seed_complete_example(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "seed_complete.yaml");
    assert_string_equal(cfg->path, FX "seed_complete.yaml");
    assert_string_equal(cfg->s3_bucket, "production-bronze");
    assert_string_equal(cfg->s3_prefix, "bronze");
    assert_int_equal(cfg->storage_backend, BRONZE_BACKEND_S3); /* bucket set */
    assert_true(cfg->use_dt_partition);
    assert_int_equal(cfg->strategy, BRONZE_PART_HOURLY);
    assert_false(cfg->allow_csv);
    assert_true(cfg->allow_parquet);
    assert_int_equal(cfg->parquet_compression, BRONZE_CODEC_SNAPPY);
    assert_true(cfg->s3.present);
    assert_string_equal(cfg->s3.endpoint_url_env, "BRONZE_S3_ENDPOINT");
    assert_string_equal(cfg->s3.access_key_env, "BRONZE_S3_ACCESS_KEY");
    assert_string_equal(cfg->s3.secret_key_env, "BRONZE_S3_SECRET_KEY");
    assert_string_equal(cfg->s3.region, "us-east-1");
    assert_int_equal(cfg->type, BRONZE_SRC_DB);
    assert_string_equal(cfg->system, "postgres_prod");
    assert_string_equal(cfg->table, "orders");
    assert_string_equal(cfg->db.conn_str_env, "POSTGRES_CONN_STR");
    assert_non_null(strstr(cfg->db.base_query, "FROM orders"));
    assert_true(cfg->db.incremental); /* incremental_key turns it on */
    assert_string_equal(cfg->db.cursor_column, "updated_at");
    assert_string_equal(cfg->db.cursor_env, "ORDERS_LAST_CURSOR");
    assert_null(cfg->db.cursor_value);
    assert_true(cfg->run.max_file_size_mb == 256.0);
    assert_false(cfg->run.write_csv);
    assert_true(cfg->run.write_parquet);
    assert_true(cfg->run.s3_enabled);
    assert_true(cfg->run.cleanup_on_failure);
    assert_string_equal(cfg->run.local_output_dir, "./staging/bronze");
    /* load never reads the environment */
    assert_null(cfg->env.conn_str);
    assert_null(cfg->env.s3_access_key);
    assert_null(cfg->env.cursor_override);
    bronze_config_free(cfg);
}

static void test_load_ignores_environment(void **state)
{
    (void)state;
    setenv("POSTGRES_CONN_STR", "sqlite::memory:", 1);
    setenv("ORDERS_LAST_CURSOR", "2025-01-01", 1);
    bronze_config *cfg = load_ok_quiet(FX "seed_complete.yaml");
    assert_null(cfg->env.conn_str);
    assert_null(cfg->env.cursor_override);
    bronze_config_free(cfg);
}

static void test_seed_snippets(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "seed_file_size.yaml");
    assert_int_equal(cfg->run.max_rows_per_file, 1000000);
    assert_true(cfg->run.max_file_size_mb == 256.0);
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "seed_date.yaml");
    assert_true(cfg->use_dt_partition);
    assert_int_equal(cfg->strategy, BRONZE_PART_DATE);
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "seed_hourly.yaml");
    assert_int_equal(cfg->strategy, BRONZE_PART_HOURLY);
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "seed_timestamp.yaml");
    assert_int_equal(cfg->strategy, BRONZE_PART_TIMESTAMP);
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "seed_batch_id.yaml");
    assert_int_equal(cfg->strategy, BRONZE_PART_BATCH_ID);
    assert_string_equal(cfg->run.batch_id, "batch_20250112_001");
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "seed_chunk_parallel.yaml");
    assert_int_equal(cfg->run.parallel_workers, 4);
    assert_true(cfg->run.max_file_size_mb == 256.0);
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "seed_combined.yaml");
    assert_int_equal(cfg->run.parallel_workers, 4);
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "seed_cursor_value.yaml");
    assert_true(cfg->db.incremental);
    assert_string_equal(cfg->db.cursor_column, "updated_at");
    assert_string_equal(cfg->db.cursor_value, "2025-01-12T14:30:00Z");
    bronze_config_free(cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "minimal_file.yaml");
    assert_int_equal(cfg->storage_backend, BRONZE_BACKEND_LOCAL); /* no bucket */
    assert_null(cfg->s3_bucket);
    assert_null(cfg->s3_prefix);
    assert_null(cfg->local_path);
    assert_true(cfg->use_dt_partition);
    assert_int_equal(cfg->strategy, BRONZE_PART_DATE);
    assert_true(cfg->allow_csv);
    assert_true(cfg->allow_parquet);
    assert_int_equal(cfg->parquet_compression, BRONZE_CODEC_SNAPPY);
    assert_false(cfg->s3.present);
    assert_string_equal(cfg->s3.region, "us-east-1");
    assert_null(cfg->s3.addressing_style);
    assert_int_equal(cfg->run.max_rows_per_file, 0);
    assert_true(cfg->run.max_file_size_mb == 0.0);
    assert_int_equal(cfg->run.parallel_workers, 1);
    assert_true(cfg->run.write_csv);
    assert_true(cfg->run.write_parquet);
    assert_false(cfg->run.s3_enabled);
    assert_string_equal(cfg->run.local_output_dir, "./output");
    assert_true(cfg->run.cleanup_on_failure);
    assert_null(cfg->run.batch_id);
    assert_int_equal(cfg->run.timeout_seconds, 30);
    assert_int_equal(cfg->run.max_retries, 3);
    assert_int_equal(cfg->db.fetch_batch_size, 10000);
    assert_false(cfg->db.incremental);
    assert_null(cfg->db.state_file);
    assert_int_equal(cfg->db.cursor_type, BRONZE_CURSOR_AUTO);
    assert_string_equal(cfg->api.method, "GET");
    assert_string_equal(cfg->api.auth_key_header, "X-API-Key");
    assert_int_equal(cfg->api.auth_type, BRONZE_AUTH_NONE);
    assert_null(cfg->api.body_json);
    assert_int_equal(cfg->api.pagination.type, BRONZE_PAGE_NONE);
    assert_string_equal(cfg->api.pagination.offset_param, "offset");
    assert_string_equal(cfg->api.pagination.limit_param, "limit");
    assert_string_equal(cfg->api.pagination.page_param, "page");
    assert_string_equal(cfg->api.pagination.page_size_param, "page_size");
    assert_string_equal(cfg->api.pagination.cursor_param, "cursor");
    assert_null(cfg->api.pagination.cursor_path);
    assert_int_equal(cfg->api.pagination.page_size, 100);
    assert_int_equal(cfg->api.pagination.max_records, 0);
    assert_int_equal(cfg->api.pagination.start_page, 1);
    assert_int_equal(cfg->api.pagination.max_pages, 0);
    assert_string_equal(cfg->file.path, "data/items.csv");
    assert_int_equal(cfg->file.format, BRONZE_FILE_CSV);
    assert_int_equal(cfg->file.delimiter, ',');
    assert_true(cfg->file.header);
    assert_int_equal(cfg->file.n_null_values, 0);
    assert_null(cfg->custom.command);
    bronze_config_free(cfg);
}

/* output_defaults.parquet_bloom_filter_columns / _fpp, time_as (SPEC §3). */
static void test_bloom_filter_keys(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "bloom.yaml");
    assert_int_equal(cfg->n_bloom_columns, 2);
    assert_string_equal(cfg->bloom_columns[0], "id");
    assert_string_equal(cfg->bloom_columns[1], "email");
    assert_true(cfg->bloom_fpp == 0.001);
    assert_int_equal(cfg->time_as, BRONZE_TIME_AS_STRING);
    bronze_config_free(cfg);
    cfg = load_ok_quiet(FX "minimal_file.yaml");
    assert_int_equal(cfg->n_bloom_columns, 0);
    assert_true(cfg->bloom_fpp == 0.01);
    assert_int_equal(cfg->time_as, BRONZE_TIME_AS_TIME);
    bronze_config_free(cfg);
}

static void test_v1_api_aliases(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "v1_api_aliases.yaml"); /* platform.dlt: no warning */
    assert_int_equal(cfg->storage_backend, BRONZE_BACKEND_S3);
    assert_true(cfg->run.s3_enabled); /* storage_enabled */
    assert_int_equal(cfg->run.timeout_seconds, 45);
    assert_int_equal(cfg->type, BRONZE_SRC_API);
    assert_int_equal(cfg->api.auth_type, BRONZE_AUTH_API_KEY);
    assert_string_equal(cfg->api.auth_key_env, "CRM_KEY");      /* api_key_env */
    assert_string_equal(cfg->api.auth_key_header, "X-Crm-Key"); /* api_key_header */
    assert_int_equal(cfg->api.pagination.type, BRONZE_PAGE_CURSOR);
    assert_string_equal(cfg->api.pagination.cursor_path, "nextRecordsUrl"); /* next_token_path */
    assert_string_equal(cfg->api.data_path, "records");                     /* records_path */
    assert_string_equal(cfg->api.cursor_field, "LastModifiedDate");         /* flat form */
    assert_true(cfg->api.incremental);
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "v1_basic_auth.yaml");
    assert_int_equal(cfg->api.auth_type, BRONZE_AUTH_BASIC);
    assert_string_equal(cfg->api.auth_username_env, "DEMO_USER"); /* basic_user_env */
    assert_string_equal(cfg->api.auth_password_env, "DEMO_PASS"); /* basic_pass_env */
    assert_int_equal(cfg->api.pagination.type, BRONZE_PAGE_OFFSET);
    assert_int_equal(cfg->api.pagination.page_size, 250);
    assert_string_equal(cfg->api.pagination.offset_param, "skip");
    assert_string_equal(cfg->api.pagination.limit_param, "take");
    assert_int_equal(cfg->api.pagination.max_records, 5000);
    assert_false(cfg->api.incremental);
    bronze_config_free(cfg);
}

static void test_v1_db_nested_incremental(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "v1_db_nested.yaml");
    assert_int_equal(cfg->db.fetch_batch_size, 5000); /* batch_size */
    assert_true(cfg->db.incremental);
    assert_string_equal(cfg->db.cursor_column, "UpdatedAt");
    assert_string_equal(cfg->db.state_file, "./.state/claims_header.cursor");
    assert_int_equal(cfg->db.cursor_type, BRONZE_CURSOR_DATETIME);
    assert_string_equal(cfg->db.lookback, "2 hours");
    assert_null(cfg->db.cursor_env);
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "db_flat.yaml");
    assert_true(cfg->db.incremental);
    assert_string_equal(cfg->db.cursor_column, "updated_at");
    assert_string_equal(cfg->db.cursor_env, "T_ORDERS_CURSOR");
    bronze_config_free(cfg);
}

static void test_v1_custom_sections_are_silent(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "v1_custom.yaml");
    assert_int_equal(cfg->type, BRONZE_SRC_CUSTOM);
    assert_string_equal(cfg->custom.module, "my_org.custom_extractors.salesforce");
    assert_string_equal(cfg->custom.class_name, "SalesforceExtractor");
    assert_null(cfg->custom.command);
    assert_int_equal(cfg->storage_backend, BRONZE_BACKEND_S3);
    assert_false(cfg->run.s3_enabled);
    /* the extractor's section reaches it through as_json */
    json_error_t je;
    json_t *j = json_loads(cfg->as_json, 0, &je);
    assert_non_null(j);
    json_t *soql =
        json_object_get(json_object_get(json_object_get(j, "source"), "salesforce"), "soql_query");
    assert_string_equal(json_string_value(soql), "SELECT Id, Name FROM Account");
    json_decref(j);
    bronze_config_free(cfg);
}

static const char *kv_get(const bronze_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key))
            return kv[i].value;
    return NULL;
}

static void test_api_full(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "api_full.yaml");
    assert_string_equal(cfg->api.base_url, "https://api.example.com");
    assert_string_equal(cfg->api.endpoint, "/v2/tickets/search");
    assert_string_equal(cfg->api.method, "POST"); /* "post", normalised */
    assert_int_equal(cfg->api.nheaders, 2);       /* X-Dropped: ~ is dropped */
    assert_string_equal(kv_get(cfg->api.headers, cfg->api.nheaders, "Accept"), "application/json");
    assert_string_equal(kv_get(cfg->api.headers, cfg->api.nheaders, "X-Page-Limit"), "50");
    assert_int_equal(cfg->api.nparams, 2);
    assert_string_equal(kv_get(cfg->api.params, cfg->api.nparams, "per_page"), "100");
    assert_string_equal(kv_get(cfg->api.params, cfg->api.nparams, "archived"), "false");
    assert_string_equal(cfg->api.body_json,
                        "{\"query\":{\"status\":\"open\",\"tags\":[\"a\",\"b\"]},\"limit\":50,"
                        "\"ratio\":0.5,\"note\":null}");
    assert_string_equal(cfg->api.data_path, "data.items");
    assert_int_equal(cfg->api.auth_type, BRONZE_AUTH_BEARER);
    assert_string_equal(cfg->api.auth_token_env, "TICKETS_TOKEN");
    assert_int_equal(cfg->api.pagination.type, BRONZE_PAGE_PAGE);
    assert_string_equal(cfg->api.pagination.page_param, "p");
    assert_string_equal(cfg->api.pagination.page_size_param, "size");
    assert_int_equal(cfg->api.pagination.page_size, 50);
    assert_int_equal(cfg->api.pagination.start_page, 0);
    assert_int_equal(cfg->api.pagination.max_pages, 10);
    assert_true(cfg->api.incremental);
    assert_string_equal(cfg->api.cursor_field, "updated_at");
    assert_string_equal(cfg->api.cursor_param, "updated_since");
    assert_string_equal(cfg->api.initial_cursor_value, "2025-01-01T00:00:00Z");
    bronze_config_free(cfg);

    /* a literal block of JSON is taken as JSON, not as a JSON string */
    cfg = load_ok_quiet(FX "api_body_text.yaml");
    assert_string_equal(cfg->api.body_json,
                        "{\"query\":\"{ nodes { id } }\",\"variables\":{\"first\":100}}");
    bronze_config_free(cfg);
}

static void test_api_oauth_limits(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "api_oauth.yaml");
    assert_int_equal(cfg->api.auth_type, BRONZE_AUTH_OAUTH2_CC);
    assert_string_equal(cfg->api.token_url, "https://auth.example.com/oauth/token");
    assert_string_equal(cfg->api.client_id_env, "CRM_CLIENT_ID");
    assert_string_equal(cfg->api.client_secret_env, "CRM_CLIENT_SECRET");
    assert_string_equal(cfg->api.scope, "read:accounts");
    assert_int_equal(cfg->api.pagination.type, BRONZE_PAGE_NEXT_URL);
    assert_string_equal(cfg->api.pagination.next_url_path, "links.next");
    assert_true(cfg->api.rate_limit.rps == 2.5);
    assert_int_equal(cfg->api.rate_limit.burst, 4);
    assert_true(cfg->api.max_response_mb == 16);
    assert_string_equal(cfg->api.ca_bundle, "certs/ca.pem");
    bronze_incremental inc;
    bronze_config_incremental(cfg, &inc);
    assert_true(inc.enabled);
    assert_string_equal(inc.cursor_field, "meta.updated");
    assert_string_equal(inc.initial, "2025-01-01");
    assert_null(inc.forced);

    /* resolve reads both OAuth2 variables; a missing one names its key */
    setenv("CRM_CLIENT_ID", "id-1", 1);
    unsetenv("CRM_CLIENT_SECRET");
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_config_resolve(cfg, &err), -1);
    assert_non_null(strstr(err.msg, "source.api.client_secret_env"));
    setenv("CRM_CLIENT_SECRET", "secret-1", 1);
    assert_int_equal(bronze_config_resolve(cfg, &err), 0);
    assert_string_equal(cfg->env.api_client_id, "id-1");
    assert_string_equal(cfg->env.api_client_secret, "secret-1");
    unsetenv("CRM_CLIENT_ID");
    unsetenv("CRM_CLIENT_SECRET");
    bronze_config_free(cfg);

    /* defaults: burst 1, 256 MiB, next_url_path "next", link paging */
    cfg = load_ok_quiet(FX "v1_basic_auth.yaml");
    assert_int_equal(cfg->api.rate_limit.burst, 1);
    assert_true(cfg->api.rate_limit.rps == 0);
    assert_true(cfg->api.max_response_mb == 256);
    assert_string_equal(cfg->api.pagination.next_url_path, "next");
    bronze_config_free(cfg);
}

static void test_file_source(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "file_full.yaml");
    assert_string_equal(cfg->file.path, "incoming/ledger_*.txt");
    assert_int_equal(cfg->file.format, BRONZE_FILE_CSV);
    assert_int_equal(cfg->file.delimiter, '\t'); /* "\t" in double quotes */
    assert_false(cfg->file.header);              /* `no` */
    assert_int_equal(cfg->file.n_null_values, 4);
    assert_string_equal(cfg->file.null_values[0], "");
    assert_string_equal(cfg->file.null_values[1], "NA");
    assert_string_equal(cfg->file.null_values[2], "NULL"); /* the text, not YAML's null */
    assert_string_equal(cfg->file.null_values[3], "-");
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "file_ext_jsonl.yaml");
    assert_int_equal(cfg->file.format, BRONZE_FILE_JSONL); /* .NDJSON */
    assert_int_equal(cfg->file.delimiter, '\t');           /* `tab` */
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "file_ext_json.yaml");
    assert_int_equal(cfg->file.format, BRONZE_FILE_JSON);
    assert_int_equal(cfg->file.delimiter, ';');
    bronze_config_free(cfg);
}

static void test_custom_command(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "custom_command.yaml");
    assert_int_equal(cfg->custom.ncommand, 4);
    assert_string_equal(cfg->custom.command[0], "python3");
    assert_string_equal(cfg->custom.command[1], "scripts/widgets.py");
    assert_string_equal(cfg->custom.command[3], "2025");
    assert_null(cfg->custom.command[4]); /* NULL-terminated argv */
    assert_null(cfg->custom.module);
    bronze_config_free(cfg);
}

static void test_anchors_and_merge_keys(void **state)
{
    (void)state;
    loaded l = load_captured(FX "anchors.yaml");
    assert_int_equal(l.rc, 0);
    assert_string_equal(l.cfg->table, "demo"); /* *sys */
    assert_false(l.cfg->run.write_csv);        /* merged */
    assert_int_equal(l.cfg->run.max_retries, 5);
    assert_int_equal(l.cfg->run.timeout_seconds, 10); /* explicit key wins over <<: */
    /* a top-level x- key only holds anchors: no warning */
    assert_null(strstr(l.log, "x-defaults"));
    loaded_free(&l);
}

static void test_as_json_typing(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "types.yaml");
    json_error_t je;
    json_t *j = json_loads(cfg->as_json, 0, &je);
    assert_non_null(j);
    json_t *x = json_object_get(json_object_get(j, "source"), "extra");
    assert_non_null(x);
    assert_true(json_is_integer(json_object_get(x, "i")));
    assert_int_equal(json_integer_value(json_object_get(x, "i")), 42);
    assert_int_equal(json_integer_value(json_object_get(x, "neg")), -7);
    assert_int_equal(json_integer_value(json_object_get(x, "hex")), 31);
    assert_true(json_is_real(json_object_get(x, "big")));
    assert_true(json_is_real(json_object_get(x, "f")));
    assert_true(json_real_value(json_object_get(x, "f")) == 1.5);
    assert_true(json_is_real(json_object_get(x, "e")));
    assert_string_equal(json_string_value(json_object_get(x, "inf")), ".inf");
    assert_true(json_is_true(json_object_get(x, "t")));
    assert_true(json_is_false(json_object_get(x, "f2")));
    assert_true(json_is_null(json_object_get(x, "n")));
    assert_true(json_is_null(json_object_get(x, "empty")));
    assert_string_equal(json_string_value(json_object_get(x, "quoted")), "true");
    assert_string_equal(json_string_value(json_object_get(x, "date")), "2025-01-12");
    assert_string_equal(json_string_value(json_object_get(x, "ver")), "1.0.0");
    json_t *list = json_object_get(x, "list");
    assert_int_equal(json_array_size(list), 3);
    assert_true(json_is_integer(json_array_get(list, 0)));
    assert_true(json_is_string(json_array_get(list, 1)));
    assert_true(json_is_real(json_array_get(list, 2)));
    /* key order is the file's */
    const char *first = json_object_iter_key(json_object_iter(json_object_get(j, "source")));
    assert_string_equal(first, "type");
    json_decref(j);
    bronze_config_free(cfg);
}

/* ---- warnings ---- */

static void test_unknown_key_warnings(void **state)
{
    (void)state;
    loaded l = load_captured(FX "warn_typos.yaml");
    assert_int_equal(l.rc, 0); /* warnings only */
    assert_non_null(l.cfg);
    /* simple log format: "[WARNING] <message>\n", one line each */
    assert_non_null(strstr(l.log, "[WARNING] " FX "warn_typos.yaml:3:5: platform.bronze.s3_buckt: "
                                  "unknown key (did you mean 's3_bucket'?)\n"));
    assert_non_null(strstr(l.log,
                           "[WARNING] " FX "warn_typos.yaml:11:5: source.run.paralel_workers: "
                           "unknown key (did you mean 'parallel_workers'?)\n"));
    /* nothing close: no suggestion at all */
    assert_non_null(strstr(l.log, "[WARNING] " FX "warn_typos.yaml:12:5: source.run.zzzzqqq: "
                                  "unknown key\n"));
    assert_int_equal(l.cfg->run.parallel_workers, 1); /* the typo set nothing */
    assert_null(l.cfg->s3_bucket);
    loaded_free(&l);
}

/* ---- errors: exact "file:line:col: key.path:" prefixes ---- */

typedef struct err_case {
    const char *file;   /* under tests/fixtures/config/ */
    const char *prefix; /* after the path: ":line:col: key.path: " */
    const char *needle; /* a part of the message that must be there */
} err_case;

static const err_case ERR_CASES[] = {
    {"sales.yaml", ":14:5: source.run.max_file_size_mb: ", "must be a positive number"},
    {"err_syntax.yaml", ":4:2: (root): ", "did not find expected key"},
    {"err_syntax_flow.yaml", ":5:38: source.file.header[1]: ", "did not find expected ','"},
    {"err_not_mapping.yaml", ":1:1: (root): ", "must be a mapping"},
    {"err_empty.yaml", ":1:1: (root): ", "config file is empty"},
    {"err_comments_only.yaml", ":1:1: (root): ", "config file is empty"},
    {"err_two_docs.yaml", ":7:1: (root): ", "one YAML document"},
    {"err_no_source.yaml", ":1:1: source: ", "required section is missing"},
    {"err_source_scalar.yaml", ":1:1: source: ", "must be a mapping"},
    {"err_no_type.yaml", ":1:1: source.type: ", "required: one of db, api, file, custom"},
    {"err_bad_type.yaml",
     ":2:3: source.type: ", "must be one of db, api, file, custom (got 'ftp')"},
    {"err_no_system.yaml", ":1:1: source.system: ", "required"},
    {"err_no_table.yaml", ":1:1: source.table: ", "required"},
    {"err_table_segment.yaml", ":4:3: source.table: ", "safe path segment"},
    {"err_system_slash.yaml", ":3:3: source.system: ", "safe path segment"},
    {"err_batch_id.yaml", ":8:5: source.run.batch_id: ", "safe path segment"},
    {"err_bool.yaml", ":8:5: source.run.write_csv: ", "must be true or false"},
    {"err_rows.yaml", ":8:5: source.run.max_rows_per_file: ", "must be an integer >= 0"},
    {"err_rows_float.yaml", ":8:5: source.run.max_rows_per_file: ", "must be an integer >= 0"},
    {"err_size_text.yaml", ":8:5: source.run.max_file_size_mb: ", "must be a positive number"},
    {"err_workers.yaml", ":8:5: source.run.parallel_workers: ", "must be an integer >= 1"},
    {"err_quoted_int.yaml", ":8:5: source.run.parallel_workers: ", "without quotes"},
    {"err_workers_max.yaml", ":8:5: source.run.parallel_workers: ", "must be an integer <= 1024"},
    {"err_timeout.yaml", ":8:5: source.run.timeout_seconds: ", "must be an integer >= 1"},
    {"err_retries.yaml", ":8:5: source.run.max_retries: ", "must be an integer >= 0"},
    {"err_fetch.yaml", ":8:5: source.db.fetch_batch_size: ", "must be an integer >= 1"},
    {"err_run_list.yaml", ":7:3: source.run: ", "must be a mapping"},
    {"err_strategy.yaml", ":4:7: platform.bronze.partitioning.partition_strategy: ",
     "must be one of date, hourly, timestamp, batch_id (got 'daily')"},
    {"err_codec.yaml", ":4:7: platform.bronze.output_defaults.parquet_compression: ",
     "must be one of snappy, gzip, zstd, lz4, brotli, none (got 'lzo')"},
    {"err_time_as.yaml",
     ":4:7: platform.bronze.output_defaults.time_as: ", "must be one of time, string (got 'text')"},
    {"err_bloom_fpp.yaml", ":4:7: platform.bronze.output_defaults.parquet_bloom_filter_fpp: ",
     "must be a number between 0 and 1"},
    {"err_backend_azure.yaml",
     ":3:5: platform.bronze.storage_backend: ", "use an S3-compatible endpoint"},
    {"err_backend_gcs.yaml",
     ":3:5: platform.bronze.storage_backend: ", "use an S3-compatible endpoint"},
    {"err_backend_bogus.yaml",
     ":3:5: platform.bronze.storage_backend: ", "must be one of s3, local (got 'ftp')"},
    {"err_s3_no_bucket.yaml", ":8:5: source.run.s3_enabled: ", "platform.bronze.s3_bucket"},
    {"err_local_s3.yaml", ":12:5: source.run.storage_enabled: ", "storage_backend: local"},
    {"err_alias_conflict.yaml",
     ":12:5: source.run.storage_enabled: ", "same setting as s3_enabled"},
    {"err_db_no_section.yaml", ":1:1: source.db: ", "required for type db"},
    {"err_db_no_query.yaml", ":5:3: source.db.base_query: ", "required"},
    {"err_db_no_conn.yaml", ":5:3: source.db.conn_str_env: ", "required"},
    {"err_file_no_path.yaml", ":5:3: source.file.path: ", "required"},
    {"err_api_no_base_url.yaml", ":5:3: source.api.base_url: ", "required"},
    {"err_custom_none.yaml", ":5:3: source.custom_extractor: ", "module + class_name, or command"},
    {"err_custom_no_class.yaml", ":5:3: source.custom_extractor.class_name: ", "required"},
    {"err_command_string.yaml", ":6:5: source.custom_extractor.command: ", "list of strings"},
    {"err_db_inc_no_column.yaml",
     ":9:7: source.db.incremental.cursor_column: ", "required when incremental is enabled"},
    {"err_api_inc_no_field.yaml",
     ":8:7: source.api.incremental.cursor_field: ", "required when incremental is enabled"},
    {"err_cursor_env_no_key.yaml", ":8:5: source.db.incremental_cursor_env: ", "incremental_key"},
    {"err_lookback.yaml", ":10:7: source.db.incremental.lookback: ", "interval"},
    {"err_dup_key.yaml", ":10:5: source.run.write_csv: ", "duplicate key (first given at line 8)"},
    {"err_cursor_type.yaml", ":11:7: source.db.incremental.cursor_type: ",
     "must be one of datetime, string, int (got 'uuid')"},
    {"err_auth_type.yaml", ":7:5: source.api.auth_type: ",
     "must be one of none, bearer, api_key, basic, oauth2_client_credentials (got 'oauth2')"},
    {"err_bearer_no_env.yaml",
     ":7:5: source.api.auth_token_env: ", "required for auth_type bearer"},
    {"err_page_type.yaml", ":8:7: source.api.pagination.type: ",
     "must be one of none, offset, page, cursor, link, next_url (got 'link_header')"},
    {"err_oauth_no_token_url.yaml",
     ":7:5: source.api.token_url: ", "required for auth_type oauth2_client_credentials"},
    {"err_cursor_no_path.yaml",
     ":7:5: source.api.pagination.cursor_path: ", "required for pagination type cursor"},
    {"err_rate_limit.yaml", ":8:7: source.api.rate_limit.rps: ", "must be a positive number"},
    {"err_max_response.yaml", ":7:5: source.api.max_response_mb: ", "must be a positive number"},
    {"err_method.yaml", ":7:5: source.api.method: ", "must be one of GET, POST (got 'PUT')"},
    {"err_file_format.yaml",
     ":7:5: source.file.format: ", "must be one of csv, jsonl, json (got 'excel')"},
    {"err_delimiter.yaml", ":7:5: source.file.delimiter: ", "one character"},
    {"err_headers.yaml", ":9:7: source.api.headers.X-Tags: ", "must be a single value"},
    {"err_unknown_alias.yaml", ":6:11: source.file.path: ", "unknown or recursive alias"},
    {"err_env_value.yaml", ":6:5: source.db.conn_str_env: ", "name of an environment variable"},
};

static void test_error_cases(void **state)
{
    (void)state;
    size_t n = sizeof ERR_CASES / sizeof ERR_CASES[0];
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        const err_case *e = &ERR_CASES[i];
        char path[256], want[512];
        snprintf(path, sizeof path, FX "%s", e->file);
        snprintf(want, sizeof want, "%s%s", path, e->prefix);
        loaded l = load_captured(path);
        if (l.rc != -1)
            fail_msg("%s: expected an error, got rc=%d", path, l.rc);
        assert_null(l.cfg);
        assert_int_equal(l.err.kind, BRONZE_E_CONFIG);
        if (strncmp(l.err.msg, want, strlen(want)) != 0)
            fail_msg("%s:\n  want prefix: %s\n  got:         %s", path, want, l.err.msg);
        if (!strstr(l.err.msg, e->needle))
            fail_msg("%s:\n  want text: %s\n  got:       %s", path, e->needle, l.err.msg);
        loaded_free(&l);
    }
}

static void test_error_never_echoes_a_secret(void **state)
{
    (void)state;
    loaded l = load_captured(FX "err_env_value.yaml");
    assert_int_equal(l.rc, -1);
    assert_null(strstr(l.err.msg, "hunter2"));
    assert_null(strstr(l.err.msg, "postgresql://"));
    assert_null(strstr(l.log, "hunter2"));
    loaded_free(&l);
}

static void test_missing_file(void **state)
{
    (void)state;
    bronze_config *cfg = (bronze_config *)(uintptr_t)1;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_config_load(&cfg, FX "no_such_file.yaml", &err), -1);
    assert_null(cfg);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_non_null(strstr(err.msg, FX "no_such_file.yaml: "));
}

/* ---- resolve ---- */

static void test_resolve_db(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "db_flat.yaml");
    bronze_err err = BRONZE_ERR_INIT;

    assert_int_equal(bronze_config_resolve(cfg, &err), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_string_equal(err.msg, FX "db_flat.yaml: source.db.conn_str_env: "
                                    "environment variable T_DB_CONN is not set");

    setenv("T_DB_CONN", "", 1); /* empty is refused as unset is, and said so */
    bronze_err_clear(&err);
    assert_int_equal(bronze_config_resolve(cfg, &err), -1);
    assert_string_equal(err.msg, FX "db_flat.yaml: source.db.conn_str_env: "
                                    "environment variable T_DB_CONN is empty");

    setenv("T_DB_CONN", "postgresql://app:s3cr3t@db/sales", 1);
    bronze_err_clear(&err);
    assert_int_equal(bronze_config_resolve(cfg, &err), 0);
    assert_string_equal(cfg->env.conn_str, "postgresql://app:s3cr3t@db/sales");
    assert_null(cfg->env.cursor_override); /* optional, unset */
    assert_null(cfg->env.s3_access_key);   /* no upload, no S3 */

    setenv("T_ORDERS_CURSOR", "2025-01-10 00:00:00", 1);
    assert_int_equal(bronze_config_resolve(cfg, &err), 0);
    assert_string_equal(cfg->env.cursor_override, "2025-01-10 00:00:00");
    bronze_config_free(cfg);
}

static void test_resolve_seed_complete(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "seed_complete.yaml");
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_config_resolve(cfg, &err), -1);
    assert_non_null(strstr(err.msg, "source.db.conn_str_env: environment variable "
                                    "POSTGRES_CONN_STR is not set"));

    setenv("POSTGRES_CONN_STR", "host=db dbname=prod password=pw-do-not-print", 1);
    setenv("BRONZE_S3_SECRET_KEY", "secret-do-not-print", 1);
    bronze_err_clear(&err);
    assert_int_equal(bronze_config_resolve(cfg, &err), -1);
    assert_string_equal(err.msg, FX "seed_complete.yaml: platform.s3_connection.access_key_env: "
                                    "environment variable BRONZE_S3_ACCESS_KEY is not set");
    assert_null(strstr(err.msg, "do-not-print"));
    assert_null(cfg->env.conn_str); /* a failed resolve keeps nothing */

    setenv("BRONZE_S3_ACCESS_KEY", "AKIAEXAMPLE", 1);
    bronze_err_clear(&err);
    assert_int_equal(bronze_config_resolve(cfg, &err), 0);
    assert_string_equal(cfg->env.s3_access_key, "AKIAEXAMPLE");
    assert_string_equal(cfg->env.s3_secret_key, "secret-do-not-print");
    assert_null(cfg->env.s3_endpoint); /* named but unset: AWS's own endpoint */
    assert_string_equal(cfg->env.s3_region, "us-east-1");
    bronze_config_free(cfg);
}

static void test_resolve_s3_named(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "s3_named.yaml");
    assert_string_equal(cfg->s3.addressing_style, "path");
    assert_string_equal(cfg->s3.ca_bundle, "/etc/ssl/certs/ca.pem");
    assert_null(cfg->s3.region); /* region_env given: no default */
    bronze_err err = BRONZE_ERR_INIT;
    setenv("T_S3_ACCESS", "access-value-xyz", 1);
    assert_int_equal(bronze_config_resolve(cfg, &err), -1);
    assert_string_equal(err.msg, FX "s3_named.yaml: platform.s3_connection.secret_key_env: "
                                    "environment variable T_S3_SECRET is not set");
    assert_null(strstr(err.msg, "access-value-xyz"));

    setenv("T_S3_SECRET", "secret-value", 1);
    setenv("T_S3_ENDPOINT", "http://localhost:9000", 1);
    setenv("T_S3_REGION", "eu-west-3", 1);
    setenv("AWS_ACCESS_KEY_ID", "not-this-one", 1); /* the section's names win */
    bronze_err_clear(&err);
    assert_int_equal(bronze_config_resolve(cfg, &err), 0);
    assert_string_equal(cfg->env.s3_access_key, "access-value-xyz");
    assert_string_equal(cfg->env.s3_secret_key, "secret-value");
    assert_string_equal(cfg->env.s3_endpoint, "http://localhost:9000");
    assert_string_equal(cfg->env.s3_region, "eu-west-3");
    assert_null(cfg->env.s3_session_token);
    bronze_config_free(cfg);
}

static void test_resolve_s3_aws_fallback(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "s3_aws_fallback.yaml");
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_config_resolve(cfg, &err), -1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    assert_non_null(strstr(err.msg, FX "s3_aws_fallback.yaml: platform.s3_connection: "
                                       "environment variable AWS_ACCESS_KEY_ID is not set"));

    setenv("AWS_ACCESS_KEY_ID", "AKIA2", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "shh", 1);
    setenv("AWS_SESSION_TOKEN", "tok", 1);
    setenv("AWS_ENDPOINT_URL", "http://minio:9000", 1);
    setenv("AWS_REGION", "ap-south-1", 1);
    bronze_err_clear(&err);
    assert_int_equal(bronze_config_resolve(cfg, &err), 0);
    assert_string_equal(cfg->env.s3_access_key, "AKIA2");
    assert_string_equal(cfg->env.s3_secret_key, "shh");
    assert_string_equal(cfg->env.s3_session_token, "tok");
    assert_string_equal(cfg->env.s3_endpoint, "http://minio:9000");
    assert_string_equal(cfg->env.s3_region, "ap-south-1");
    bronze_config_free(cfg);

    /* no upload: no S3 credentials needed even with a bucket and backend s3 */
    clear_env(NULL);
    cfg = load_ok_quiet(FX "v1_custom.yaml");
    bronze_err_clear(&err);
    assert_int_equal(bronze_config_resolve(cfg, &err), 0);
    assert_null(cfg->env.s3_access_key);
    bronze_config_free(cfg);
}

static void test_resolve_api_auth(void **state)
{
    (void)state;
    bronze_config *cfg = load_ok_quiet(FX "api_full.yaml");
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_config_resolve(cfg, &err), -1);
    assert_string_equal(err.msg, FX "api_full.yaml: source.api.auth_token_env: "
                                    "environment variable TICKETS_TOKEN is not set");
    setenv("TICKETS_TOKEN", "tkn", 1);
    bronze_err_clear(&err);
    assert_int_equal(bronze_config_resolve(cfg, &err), 0);
    assert_string_equal(cfg->env.api_token, "tkn");
    /* a file's trailing line break is dropped; one inside, or only one, is refused */
    static const struct {
        const char *v, *got, *msg;
    } nl[] = {
        {"tkn\n", "tkn", NULL},
        {"tkn\r\n\n", "tkn", NULL},
        {"tk\nn", NULL,
         "environment variable TICKETS_TOKEN holds a line break, which no HTTP "
         "header can carry"},
        {"tk\rn\n", NULL, "holds a line break"},
        {"\n", NULL, "environment variable TICKETS_TOKEN is empty (a line break only)"},
    };
    for (size_t i = 0; i < sizeof nl / sizeof nl[0]; i++) {
        setenv("TICKETS_TOKEN", nl[i].v, 1);
        bronze_err_clear(&err);
        assert_int_equal(bronze_config_resolve(cfg, &err), nl[i].got ? 0 : -1);
        if (nl[i].got)
            assert_string_equal(cfg->env.api_token, nl[i].got);
        else {
            assert_non_null(strstr(err.msg, nl[i].msg));
            assert_null(strstr(err.msg, "tk"));
            assert_null(cfg->env.api_token);
        }
    }
    bronze_config_free(cfg);

    cfg = load_ok_quiet(FX "v1_basic_auth.yaml");
    setenv("DEMO_USER", "alice", 1);
    bronze_err_clear(&err);
    assert_int_equal(bronze_config_resolve(cfg, &err), -1);
    assert_string_equal(err.msg, FX "v1_basic_auth.yaml: source.api.auth_password_env: "
                                    "environment variable DEMO_PASS is not set");
    assert_null(strstr(err.msg, "alice"));
    setenv("DEMO_PASS", "pw", 1);
    bronze_err_clear(&err);
    assert_int_equal(bronze_config_resolve(cfg, &err), 0);
    assert_string_equal(cfg->env.api_username, "alice");
    assert_string_equal(cfg->env.api_password, "pw");
    bronze_config_free(cfg);
}

/* ---- small helpers ---- */

static void test_segment_ok(void **state)
{
    (void)state;
    assert_true(bronze_config_segment_ok("orders"));
    assert_true(bronze_config_segment_ok("postgres_prod"));
    assert_true(bronze_config_segment_ok("batch-2025.01_a"));
    assert_true(bronze_config_segment_ok("v1.2"));
    assert_false(bronze_config_segment_ok(NULL));
    assert_false(bronze_config_segment_ok(""));
    assert_false(bronze_config_segment_ok("."));
    assert_false(bronze_config_segment_ok(".."));
    assert_false(bronze_config_segment_ok("a..b"));
    assert_false(bronze_config_segment_ok("a/b"));
    assert_false(bronze_config_segment_ok("a b"));
    assert_false(bronze_config_segment_ok("dt=1"));
    assert_false(bronze_config_segment_ok("caf\xc3\xa9"));
}

static void test_codec_name(void **state)
{
    (void)state;
    assert_string_equal(bronze_codec_name(BRONZE_CODEC_SNAPPY), "snappy");
    assert_string_equal(bronze_codec_name(BRONZE_CODEC_GZIP), "gzip");
    assert_string_equal(bronze_codec_name(BRONZE_CODEC_ZSTD), "zstd");
    assert_string_equal(bronze_codec_name(BRONZE_CODEC_LZ4), "lz4");
    assert_string_equal(bronze_codec_name(BRONZE_CODEC_BROTLI), "brotli");
    assert_string_equal(bronze_codec_name(BRONZE_CODEC_NONE), "none");
    bronze_config_free(NULL); /* a no-op */
}

int main(void)
{
    bronze_log_setup(BRONZE_LOG_INFO, BRONZE_LOGFMT_SIMPLE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_seed_complete_example, clear_env),
        cmocka_unit_test_setup(test_load_ignores_environment, clear_env),
        cmocka_unit_test_setup(test_seed_snippets, clear_env),
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_bloom_filter_keys, clear_env),
        cmocka_unit_test_setup(test_v1_api_aliases, clear_env),
        cmocka_unit_test_setup(test_v1_db_nested_incremental, clear_env),
        cmocka_unit_test_setup(test_v1_custom_sections_are_silent, clear_env),
        cmocka_unit_test_setup(test_api_full, clear_env),
        cmocka_unit_test_setup(test_api_oauth_limits, clear_env),
        cmocka_unit_test_setup(test_file_source, clear_env),
        cmocka_unit_test_setup(test_custom_command, clear_env),
        cmocka_unit_test_setup(test_anchors_and_merge_keys, clear_env),
        cmocka_unit_test_setup(test_as_json_typing, clear_env),
        cmocka_unit_test_setup(test_unknown_key_warnings, clear_env),
        cmocka_unit_test_setup(test_error_cases, clear_env),
        cmocka_unit_test_setup(test_error_never_echoes_a_secret, clear_env),
        cmocka_unit_test_setup(test_missing_file, clear_env),
        cmocka_unit_test_setup(test_resolve_db, clear_env),
        cmocka_unit_test_setup(test_resolve_seed_complete, clear_env),
        cmocka_unit_test_setup(test_resolve_s3_named, clear_env),
        cmocka_unit_test_setup(test_resolve_s3_aws_fallback, clear_env),
        cmocka_unit_test_setup(test_resolve_api_auth, clear_env),
        cmocka_unit_test_setup(test_segment_ok, clear_env),
        cmocka_unit_test_setup(test_codec_name, clear_env),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, clear_env);
}
