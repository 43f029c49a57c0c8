/*
 * config.h - one source's YAML config as typed structs (SPEC §3).
 *
 * bronze_config_load() parses a YAML file with libyaml, applies the defaults
 * of SPEC §3, validates every key and warns about unknown ones. It never looks
 * at the environment: `*_env` keys hold variable NAMES. bronze_config_resolve()
 * is the separate, later step that reads those variables (SPEC §7: every
 * config is resolved before any job starts; --validate-only never resolves).
 *
 * Every string is owned by the config and freed by bronze_config_free().
 * A NULL string means "not set".
 */
#ifndef BRONZE_CONFIG_CONFIG_H
#define BRONZE_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef enum { BRONZE_BACKEND_LOCAL = 0, BRONZE_BACKEND_S3 } bronze_backend;
typedef enum {
    BRONZE_PART_DATE = 0,
    BRONZE_PART_HOURLY,
    BRONZE_PART_TIMESTAMP,
    BRONZE_PART_BATCH_ID
} bronze_partition_strategy;
typedef enum {
    BRONZE_CODEC_SNAPPY = 0,
    BRONZE_CODEC_GZIP,
    BRONZE_CODEC_ZSTD,
    BRONZE_CODEC_LZ4, /* written as LZ4_RAW */
    BRONZE_CODEC_BROTLI,
    BRONZE_CODEC_NONE
} bronze_codec;
typedef enum {
    BRONZE_TIME_AS_TIME = 0, /* Parquet TIME(MICROS) */
    BRONZE_TIME_AS_STRING    /* the server's text form (Spark <= 4.0 cannot read TIME) */
} bronze_time_as;
typedef enum {
    BRONZE_SRC_DB = 0,
    BRONZE_SRC_API,
    BRONZE_SRC_FILE,
    BRONZE_SRC_CUSTOM
} bronze_source_type;
/* source.run.invalid_utf8: fail the run (default) or write U+FFFD */
typedef enum { BRONZE_UTF8_FAIL = 0, BRONZE_UTF8_REPLACE } bronze_invalid_utf8;

typedef enum {
    BRONZE_CURSOR_AUTO = 0,
    BRONZE_CURSOR_DATETIME,
    BRONZE_CURSOR_STRING,
    BRONZE_CURSOR_INT
} bronze_cursor_type;
typedef enum { BRONZE_FILE_CSV = 0, BRONZE_FILE_JSONL, BRONZE_FILE_JSON } bronze_file_format;
typedef enum {
    BRONZE_AUTH_NONE = 0,
    BRONZE_AUTH_BEARER,
    BRONZE_AUTH_API_KEY,
    BRONZE_AUTH_BASIC,
    BRONZE_AUTH_OAUTH2_CC /* oauth2_client_credentials */
} bronze_auth_type;
typedef enum {
    BRONZE_PAGE_NONE = 0,
    BRONZE_PAGE_OFFSET,
    BRONZE_PAGE_PAGE,
    BRONZE_PAGE_CURSOR,
    BRONZE_PAGE_LINK,    /* RFC 8288 Link: <...>; rel="next" */
    BRONZE_PAGE_NEXT_URL /* a body field holding the next page's URL */
} bronze_pagination_type;

/* A string->string pair, for API headers and params (values may be numbers in
 * YAML; they are kept as their text). */
typedef struct bronze_kv {
    char *key, *value;
} bronze_kv;

/* Limits checked at load (SPEC §3), each so that a name built from the value
 * fits its buffer and one file name (NAME_MAX 255) on every file system:
 *   system, table       at most BRONZE_SEGMENT_MAX bytes each;
 *   batch_id            at most BRONZE_BATCH_ID_MAX bytes (the job's buffer);
 *   the partition path  system=<s>/table=<t>/[dt=…/][hour=…/|batch=…/|batch_id=…/]
 *                       at most BRONZE_PARTITION_PATH_MAX bytes: it also names
 *                       the partition's lock and journal files (.bronze-tmp/journals/
 *                       <path, '/' -> '+'>.json.tmp-<pid>, 17 bytes more, within 255);
 *   fetch_batch_size    at most BRONZE_FETCH_BATCH_MAX rows;
 *   max_file_size_mb    at least BRONZE_MIN_FILE_SIZE_MB (1 KiB: a smaller part
 *                       cannot hold a header and a row). */
#define BRONZE_SEGMENT_MAX 200
#define BRONZE_BATCH_ID_MAX 127
#define BRONZE_PARTITION_PATH_MAX 230
#define BRONZE_FETCH_BATCH_MAX 999999
#define BRONZE_MIN_FILE_SIZE_MB (1.0 / 1024.0)

typedef struct bronze_config {
    char *path; /* the config file path as given on the command line */

    /* platform.bronze */
    bronze_backend storage_backend; /* default: s3 when s3_bucket set, else local */
    char *s3_bucket, *s3_prefix, *local_path;
    bool use_dt_partition;              /* default true */
    bronze_partition_strategy strategy; /* default date */
    bool allow_csv, allow_parquet;      /* default true */
    bronze_codec parquet_compression;   /* default snappy */
    char **bloom_columns;               /* parquet_bloom_filter_columns (owned) */
    size_t n_bloom_columns;
    double bloom_fpp;       /* parquet_bloom_filter_fpp, default 0.01 */
    bronze_time_as time_as; /* output_defaults.time_as, default time */

    /* platform.s3_connection */
    struct {
        char *endpoint_url_env, *access_key_env, *secret_key_env, *session_token_env;
        char *region, *region_env; /* region default "us-east-1" when neither set */
        char *addressing_style;    /* "path" | "virtual" | NULL (SPEC §7 default) */
        char *ca_bundle;
        bool present; /* the section was given */
    } s3;

    /* source (common) */
    bronze_source_type type;
    char *system, *table; /* validated path segments (see BRONZE_SEGMENT_MAX) */

    /* source.run */
    struct {
        int64_t max_rows_per_file;        /* 0 = unlimited */
        double max_file_size_mb;          /* 0 = unset */
        int parallel_workers;             /* default 1 */
        bool write_csv, write_parquet;    /* default true */
        bool s3_enabled;                  /* alias storage_enabled; default false */
        char *local_output_dir;           /* default "./output" */
        bool cleanup_on_failure;          /* default true */
        char *batch_id;                   /* NULL = auto */
        int timeout_seconds;              /* default 30 */
        int max_retries;                  /* default 3 */
        bronze_invalid_utf8 invalid_utf8; /* STRING/JSON text that is not UTF-8 (SPEC §7) */
    } run;

    /* source.db */
    struct {
        char *conn_str_env, *base_query;
        int64_t fetch_batch_size; /* default 10000 */
        /* incremental: either form fills these */
        bool incremental;    /* enabled */
        char *cursor_column; /* incremental.cursor_column or incremental_key */
        char *state_file;    /* NULL = .state/<system>_<table>_cursor.json */
        bronze_cursor_type cursor_type;
        char *lookback;     /* interval text ("2 hours") or a number, NULL = none */
        char *cursor_env;   /* incremental_cursor_env */
        char *cursor_value; /* incremental_cursor_value */
        /* partitioning (SPEC §8): column NULL when not given */
        struct {
            char *column;
            int64_t num_partitions;          /* >= 1 */
            char *lower_bound, *upper_bound; /* text as given, NULL: min/max of the query */
        } partitioning;
    } db;

    /* source.api */
    struct {
        char *base_url, *endpoint;
        char *method; /* "GET" (default) | "POST" */
        bronze_kv *headers;
        size_t nheaders;
        bronze_kv *params;
        size_t nparams;
        char *body_json; /* source.api.body re-serialised as JSON text, NULL if unset */
        char *data_path; /* alias pagination.records_path */
        bronze_auth_type auth_type;
        char *auth_token_env;
        char *auth_key_env, *auth_key_header; /* header default "X-API-Key" */
        char *auth_username_env, *auth_password_env;
        /* auth_type oauth2_client_credentials */
        char *token_url, *client_id_env, *client_secret_env, *scope;
        struct {
            double rps; /* 0 = unlimited */
            int burst;  /* default 1 */
        } rate_limit;
        double max_response_mb; /* default 256 */
        char *ca_bundle;        /* PEM file for TLS verification; NULL = system store */
        struct {
            bronze_pagination_type type;
            char *offset_param, *limit_param;   /* "offset", "limit" */
            char *page_param, *page_size_param; /* "page", "page_size" */
            char *cursor_param, *cursor_path;   /* "cursor", NULL */
            int64_t page_size;                  /* 100 */
            int64_t max_records;                /* 0 = all */
            int64_t start_page;                 /* 1 */
            int64_t max_pages;                  /* 0 = all */
            char *next_url_path;                /* type next_url; default "next" */
        } pagination;
        bool incremental;
        char *cursor_field, *cursor_param, *initial_cursor_value;
    } api;

    /* source.file */
    struct {
        char *path;                /* file or glob */
        bronze_file_format format; /* default: from the extension, else csv */
        bool format_set;           /* format was given (not taken from the path) */
        char delimiter;            /* default ',' (a tab for a .tsv path) */
        bool header;               /* default true */
        char **null_values;
        size_t n_null_values;
        char *encoding;  /* the text's encoding (iconv name); NULL: UTF-8 */
        char *data_path; /* format: json: dot path to the record array; NULL: the top */
    } file;

    /* source.custom_extractor */
    struct {
        char *module, *class_name;
        char **command; /* argv, NULL-terminated; NULL when unset */
        size_t ncommand;
    } custom;

    /* The whole document as JSON text (for custom extractors). */
    char *as_json;

    /* Filled by bronze_config_resolve() (never by load). Secrets: never log. */
    struct {
        char *conn_str;
        char *s3_endpoint, *s3_access_key, *s3_secret_key, *s3_session_token, *s3_region;
        char *api_token, *api_key, *api_username, *api_password;
        char *api_client_id, *api_client_secret;
        char *cursor_override; /* from db.cursor_env when that variable is set */
    } env;
} bronze_config;

/* Loads and validates one config. Warnings (unknown keys) go to the log as
 * "file:line:col: key.path: unknown key (did you mean 'x'?)".
 * On error returns -1 with err->kind = BRONZE_E_CONFIG and a message
 * "file:line:col: key.path: what is wrong". *out is owned by the caller. */
int bronze_config_load(bronze_config **out, const char *path, bronze_err *err);

/* Every error and warning of one config file (or of a run's configs): each a
 * complete message "file:line:col: key.path: what is wrong", kept with its
 * place so a report lists them in file order (src/config/validate.c). */
typedef struct bronze_diag {
    int line, col; /* 0:0 when the message has no place in the file */
    bool error;    /* else a warning */
    char *msg;
} bronze_diag;
typedef struct bronze_diags {
    bronze_diag *v;
    size_t n, cap;
} bronze_diags;

/* Loads like bronze_config_load() but does not stop at the first bad value:
 * each bad key is reported, then read as absent, and the file read again, so
 * one call finds every error and warning of the file (SPEC §2
 * --validate-only). They are added to *d (not logged). Returns -1 when any
 * is an error; *out is then the config as loaded with the bad keys left out
 * (NULL when it could not be loaded at all), only for further checks. */
int bronze_config_load_diags(bronze_config **out, const char *path, bronze_diags *d,
                             bronze_err *err);

/* Reads every `*_env` variable this config needs for a run. A required one
 * that is unset or empty is a config error naming the file, key and variable
 * (never its value). */
int bronze_config_resolve(bronze_config *cfg, bronze_err *err);

void bronze_config_free(bronze_config *cfg);

/* What the job needs to know about a config's incremental state, whatever
 * the source kind, so run/ never reads cfg->db or cfg->api itself. Every
 * pointer points into cfg. */
typedef struct bronze_incremental {
    bool enabled;
    const char *cursor_field; /* the column (db) or record field (api) */
    const char *initial;      /* used only when no state exists (api initial_cursor_value) */
    const char *forced;       /* overrides the state (db incremental_cursor_value) */
    const char *forced_key;   /* the key path that set forced, for the log */
    const char *env_value;    /* overrides everything (db incremental_cursor_env, resolved) */
    const char *env_name;     /* that variable's name */
} bronze_incremental;
void bronze_config_incremental(const bronze_config *cfg, bronze_incremental *out);

/* Who sets a source.api query parameter named `name` besides params: the
 * paging on every page built from base_url, the cursor paging once it has a
 * cursor, the incremental cursor_param once there is a cursor; or nobody.
 * config.c warns about such a params entry, api.c leaves it out whenever its
 * owner sends the name. */
typedef enum {
    BRONZE_PARAM_FREE = 0,
    BRONZE_PARAM_PAGING,
    BRONZE_PARAM_CURSOR_PAGING,
    BRONZE_PARAM_INCREMENTAL
} bronze_param_owner;
bronze_param_owner bronze_api_param_owner(const bronze_config *cfg, const char *name);

const char *bronze_codec_name(bronze_codec c);

/* True when s is a safe path segment: [A-Za-z0-9_.-]+, not "." or "..", no "..". */
bool bronze_config_segment_ok(const char *s);

/* The format a file's name says (.csv/.tsv, .jsonl/.ndjson, .json, under
 * .gz or .zst), or -1 when its extension names none. */
int bronze_file_format_of(const char *path);

#endif
