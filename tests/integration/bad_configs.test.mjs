// Bad configs and inputs, table-driven (issue #17, acceptance line 1): every
// source kind (db through SQLite, PostgreSQL and ODBC; api; file csv and
// json; custom) and both storage kinds (local, s3). Each case asserts the
// exit code and the message (file:line:col and key, or the record); where
// the fault is in the config alone, that --validate-only (run with no
// environment at all) exits 2 with the same error lines as the run; where it
// is not, that --validate-only passes and the run fails; and, always, that no
// _metadata.json was published (locally or in the bucket). The fixtures are
// written by the test (real SQLite files, a real PostgreSQL server, the API
// and S3 test servers of lib/), no committed data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { runAsync, workdir, write, sqlite, listFiles, cleanup } from './lib/harness.mjs';
import { start as startPg } from './lib/pg.mjs';
import { startS3, s3Platform } from './lib/s3.mjs';
import { startApi } from './lib/http_api.mjs';

const DATE = '2025-01-12';
let pg, s3, api;

before(async () => {
  pg = startPg();
  pg.psql('CREATE TABLE IF NOT EXISTS orders (id int, note text); INSERT INTO orders VALUES (1, \'a\'), (2, \'b\');');
  s3 = await startS3({ bucket: 'bronze' });
  api = await startApi();
});
after(async () => {
  pg?.stop();
  await s3?.stop();
  await api?.stop();
});

// ---- complete, valid configs of each kind; a case changes one thing ----

const BODY = {
  db: '  db:\n    conn_str_env: "TEST_DB"\n    base_query: "SELECT * FROM orders"\n',
  api: '  api:\n    base_url: "{API}"\n    endpoint: "/offset"\n    data_path: "items"\n    pagination:\n      type: "offset"\n      page_size: 10\n',
  csv: '  file:\n    path: "in.csv"\n',
  json: '  file:\n    path: "in.json"\n    format: "json"\n',
  custom: '  custom_extractor:\n    command: ["sh", "-c", "echo \'{\\"a\\": 1}\'"]\n',
};
const TYPE = { db: 'db', pg: 'db', odbc: 'db', api: 'api', csv: 'file', json: 'file', custom: 'custom', s3: 'db' };

/** A config of kind k; o: {bronze, src, body, run, system, table, top}. */
function Y(k, o = {}) {
  const kind = k === 'pg' || k === 'odbc' || k === 's3' ? 'db' : k;
  const bronze = (k === 's3' ? `${s3Platform({ prefix: o.prefix || 'p' })}\n` : '') + (o.bronze || '');
  const run = (k === 's3' ? '    s3_enabled: true\n' : '') + (o.run || '');
  return `${o.top || ''}platform:
  bronze:
    local_path: "./output"
${bronze}source:
  type: "${TYPE[k]}"
  system: "${o.system ?? 'shop'}"
  table: "${o.table ?? 'orders'}"
${o.src || ''}${o.body ?? BODY[kind]}  run:
    write_csv: true
${run}`;
}
/** Y() with one string replaced (must be there). */
function R(k, from, to, o = {}) {
  const y = Y(k, o);
  assert.ok(y.includes(from), `fixture: ${from} not in config`);
  return y.replace(from, to);
}
const long = (n) => 'x'.repeat(n);
const F = (name) => new RegExp(`c\\.yaml:\\d+:\\d+: ${name.replace(/[.[\]]/g, '\\$&')}: `);

function envFor(k) {
  if (k === 'pg') return { TEST_DB: pg.url };
  if (k === 'odbc') return { TEST_DB: pg.odbc };
  if (k === 's3') return { TEST_DB: 'sqlite:shop.db', ...s3.configEnv };
  return { TEST_DB: 'sqlite:shop.db' };
}

// [id, kind, config (text or fn), exit code, message regex, opts]
// opts.config: true when the fault is in the config alone (default for code 2)
// opts.env: the run's environment (default: envFor(kind)); opts.setup(dir)
// opts.more: extra configs {name: text} passed with --config c.yaml,name...
const CASES = [
  // ---- YAML and the file itself ----
  ['yaml-syntax', 'db', () => 'source:\n  type: "db\n  system: x\n', 2, /c\.yaml:\d+:\d+: /],
  ['yaml-tab-indent', 'db', () => Y('db').replace('  system: "shop"', '\tsystem: "shop"'), 2, /c\.yaml:6:1: source: a tab in the indentation: YAML indents with spaces only; replace the tab with spaces/],
  ['yaml-empty', 'db', () => '', 2, /c\.yaml:1:1: \(root\): config file is empty/],
  ['yaml-list', 'db', () => '- a\n- b\n', 2, /c\.yaml:1:1: \(root\): must be a mapping/],
  ['yaml-dup-key', 'db', () => R('db', '  table: "orders"\n', '  table: "orders"\n  table: "again"\n'), 2, /c\.yaml:\d+:\d+: source\.table: duplicate key/],
  ['yaml-no-source', 'db', () => 'platform:\n  bronze:\n    local_path: "./output"\n', 2, /c\.yaml:\d+:\d+: source: required section is missing/],
  // ---- source (common) ----
  ['type-unknown', 'db', () => R('db', 'type: "db"', 'type: "ftp"'), 2, /c\.yaml:5:3: source\.type: must be one of db, api, file, custom \(got 'ftp'\)/],
  ['system-missing', 'db', () => R('db', '  system: "shop"\n', ''), 2, F('source.system')],
  ['table-dotdot', 'db', () => Y('db', { table: '../x' }), 2, /c\.yaml:7:3: source\.table: must be a safe path segment/],
  ['system-slash', 'db', () => Y('db', { system: 'a/b' }), 2, /c\.yaml:6:3: source\.system: must be a safe path segment/],
  ['system-too-long', 'db', () => Y('db', { system: long(201) }), 2, /c\.yaml:6:3: source\.system: is 201 bytes long; at most 200 bytes/],
  ['partition-path-too-long', 'db', () => Y('db', { system: long(110), table: long(110) }), 2, /c\.yaml:7:3: source\.table: system and table together make a partition path of \d+ bytes; at most 230/],
  ['batch-id-too-long', 'db', () => Y('db', { run: `    batch_id: "${long(128)}"\n` }), 2, F('source.run.batch_id')],
  ['batch-id-path-too-long', 'db', () => Y('db', { system: long(100), bronze: '    partitioning:\n      partition_strategy: "batch_id"\n', run: `    batch_id: "${long(100)}"\n` }), 2, /source\.table: system, table and batch_id together make a partition path/],
  ['batch-id-space', 'db', () => Y('db', { run: '    batch_id: "x y"\n' }), 2, F('source.run.batch_id')],
  // ---- platform.bronze ----
  ['strategy-unknown', 'db', () => Y('db', { bronze: '    partitioning:\n      partition_strategy: "weekly"\n' }), 2, /platform\.bronze\.partitioning\.partition_strategy: must be one of .*\(got 'weekly'\)/],
  ['codec-unknown', 'db', () => Y('db', { bronze: '    output_defaults:\n      parquet_compression: "lzo"\n' }), 2, F('platform.bronze.output_defaults.parquet_compression')],
  ['bloom-fpp', 'db', () => Y('db', { bronze: '    output_defaults:\n      parquet_bloom_filter_fpp: 2\n' }), 2, F('platform.bronze.output_defaults.parquet_bloom_filter_fpp')],
  ['time-as', 'db', () => Y('db', { bronze: '    output_defaults:\n      time_as: "text"\n' }), 2, F('platform.bronze.output_defaults.time_as')],
  ['backend-azure', 'db', () => Y('db', { bronze: '    storage_backend: "azure"\n' }), 2, /platform\.bronze\.storage_backend: .*S3-compatible/],
  ['no-format-run', 'db', () => R('db', '    write_csv: true\n', '    write_csv: false\n    write_parquet: false\n'), 2, /c\.yaml:\d+:\d+: source\.run\.write_parquet: no output format is enabled/],
  ['no-format-gates', 'db', () => Y('db', { bronze: '    output_defaults:\n      allow_csv: false\n      allow_parquet: false\n' }), 2, /c\.yaml:\d+:\d+: source\.run\.write_csv: no output format is enabled/],
  ['no-format-mixed', 'csv', () => R('csv', '    write_csv: true\n', '    write_csv: true\n    write_parquet: true\n', { bronze: '    output_defaults:\n      allow_csv: false\n      allow_parquet: false\n' }), 2, /source\.run\.write_parquet: no output format is enabled/],
  ['no-format-custom', 'custom', () => R('custom', '    write_csv: true\n', '    write_csv: false\n', { bronze: '    output_defaults:\n      allow_parquet: false\n' }), 2, /source\.run\.write_csv: no output format is enabled/],
  ['s3-enabled-no-bucket', 'db', () => Y('db', { run: '    s3_enabled: true\n' }), 2, /source\.run\.s3_enabled: needs platform\.bronze\.s3_bucket/],
  ['local-backend-s3-enabled', 'db', () => Y('db', { bronze: '    storage_backend: "local"\n    s3_bucket: "b"\n', run: '    s3_enabled: true\n' }), 2, /source\.run\.s3_enabled: cannot be true with platform\.bronze\.storage_backend: local/],
  // ---- source.run ----
  ['rows-negative', 'db', () => Y('db', { run: '    max_rows_per_file: -5\n' }), 2, /source\.run\.max_rows_per_file: must be an integer >= 0/],
  ['size-zero', 'db', () => Y('db', { run: '    max_file_size_mb: 0\n' }), 2, /source\.run\.max_file_size_mb: must be a positive number/],
  ['workers-zero', 'db', () => Y('db', { run: '    parallel_workers: 0\n' }), 2, F('source.run.parallel_workers')],
  ['timeout-text', 'db', () => Y('db', { run: '    timeout_seconds: "ten"\n' }), 2, F('source.run.timeout_seconds')],
  ['retries-negative', 'db', () => Y('db', { run: '    max_retries: -1\n' }), 2, F('source.run.max_retries')],
  ['invalid-utf8-mode', 'db', () => Y('db', { run: '    invalid_utf8: "drop"\n' }), 2, F('source.run.invalid_utf8')],
  ['bool-maybe', 'db', () => R('db', '    write_csv: true\n', '    write_csv: maybe\n'), 2, /source\.run\.write_csv: must be true or false/],
  ['alias-conflict', 'db', () => Y('db', { bronze: '    s3_bucket: "b"\n', run: '    s3_enabled: true\n    storage_enabled: false\n' }), 2, /source\.run\.storage_enabled: same setting as s3_enabled/],
  ['run-not-map', 'db', () => R('db', '  run:\n    write_csv: true\n', '  run: 5\n'), 2, /source\.run: must be a mapping/],
  // ---- source.db (SQLite, PostgreSQL, ODBC connection strings) ----
  ['db-no-section', 'db', () => Y('db', { body: '' }), 2, /source\.db: required for type db/],
  ['db-no-query', 'db', () => R('db', '    base_query: "SELECT * FROM orders"\n', ''), 2, /source\.db\.base_query: required/],
  ['db-no-conn', 'db', () => R('db', '    conn_str_env: "TEST_DB"\n', ''), 2, /source\.db\.conn_str_env: required/],
  ['db-env-value', 'db', () => R('db', 'conn_str_env: "TEST_DB"', 'conn_str_env: "postgresql://u:hunter2@h/db"'), 2, /source\.db\.conn_str_env: must be the name of an environment variable/, { secret: 'hunter2' }],
  ['db-fetch-zero', 'db', () => R('db', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    fetch_batch_size: 0\n'), 2, F('source.db.fetch_batch_size')],
  ['db-inc-no-column', 'db', () => R('db', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    incremental:\n      enabled: true\n'), 2, /source\.db\.incremental\.cursor_column: required when incremental is enabled/],
  ['db-lookback', 'db', () => R('db', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    incremental:\n      cursor_column: id\n      lookback: "2 fortnights"\n'), 2, /source\.db\.incremental\.lookback: must be an interval/],
  ['db-lookback-negative', 'db', () => R('db', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    incremental:\n      cursor_column: id\n      lookback: -3\n'), 2, /source\.db\.incremental\.lookback: must be an interval/],
  ['db-cursor-type', 'db', () => R('db', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    incremental:\n      cursor_column: id\n      cursor_type: uuid\n'), 2, F('source.db.incremental.cursor_type')],
  ['db-cursor-env-no-key', 'db', () => R('db', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    incremental_cursor_env: "FROM_HERE"\n'), 2, /source\.db\.incremental_cursor_env: needs source\.db\.incremental_key/],
  ['db-key-differs', 'db', () => R('db', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    incremental:\n      cursor_column: id\n    incremental_key: note\n'), 2, /source\.db\.incremental_key: differs from source\.db\.incremental\.cursor_column/],
  ['pg-no-query', 'pg', () => R('pg', '    base_query: "SELECT * FROM orders"\n', ''), 2, /source\.db\.base_query: required/],
  ['pg-lookback', 'pg', () => R('pg', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    incremental:\n      cursor_column: id\n      lookback: "soon"\n'), 2, /source\.db\.incremental\.lookback: must be an interval/],
  ['pg-batch-alias', 'pg', () => R('pg', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    fetch_batch_size: 10\n    batch_size: 20\n'), 2, /source\.db\.batch_size: same setting as fetch_batch_size/],
  ['pg-env-value', 'pg', () => R('pg', 'conn_str_env: "TEST_DB"', 'conn_str_env: "host=db password=hunter2"'), 2, /source\.db\.conn_str_env: must be the name/, { secret: 'hunter2' }],
  ['pg-query-list', 'pg', () => R('pg', 'base_query: "SELECT * FROM orders"', 'base_query: [1, 2]'), 2, /source\.db\.base_query: must be a string, not a list/],
  ['odbc-no-query', 'odbc', () => R('odbc', '    base_query: "SELECT * FROM orders"\n', ''), 2, /source\.db\.base_query: required/],
  ['odbc-fetch-huge', 'odbc', () => R('odbc', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    fetch_batch_size: 100000000\n'), 2, /source\.db\.fetch_batch_size: must be an integer <= 999999/],
  ['odbc-inc-not-bool', 'odbc', () => R('odbc', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    incremental: maybe\n'), 2, F('source.db.incremental')],
  // ---- source.api ----
  ['api-no-base-url', 'api', () => R('api', '    base_url: "{API}"\n', ''), 2, /source\.api\.base_url: required for type api/],
  ['api-auth-type', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    auth_type: "oauth2"\n'), 2, /source\.api\.auth_type: must be one of .*\(got 'oauth2'\)/],
  ['api-bearer-no-env', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    auth_type: "bearer"\n'), 2, /source\.api\.auth_token_env: required for auth_type bearer/],
  ['api-page-type', 'api', () => R('api', 'type: "offset"', 'type: "link_header"'), 2, F('source.api.pagination.type')],
  ['api-cursor-no-path', 'api', () => R('api', 'type: "offset"', 'type: "cursor"'), 2, /source\.api\.pagination\.cursor_path: required for pagination type cursor/],
  ['api-oauth-no-token-url', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    auth_type: "oauth2_client_credentials"\n    client_id_env: "CID"\n    client_secret_env: "CSEC"\n'), 2, /source\.api\.token_url: required for auth_type oauth2_client_credentials/],
  ['api-rps-zero', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    rate_limit:\n      rps: 0\n'), 2, /source\.api\.rate_limit\.rps: must be a positive number/],
  ['api-max-response', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    max_response_mb: 0\n'), 2, F('source.api.max_response_mb')],
  ['api-method', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    method: "PUT"\n'), 2, /source\.api\.method: must be one of GET, POST \(got 'PUT'\)/],
  ['api-header-list', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    headers:\n      X-Tags: [a, b]\n'), 2, /source\.api\.headers\.X-Tags: must be a single value/],
  ['api-header-name', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    headers:\n      "X-Tenant(1)": "a"\n'), 2, /c\.yaml:\d+:\d+: source\.api\.headers\.X-Tenant\(1\): not an HTTP header name \(letters, digits and !#\$%&'\*\+\.\^_`\|~- only\)/],
  ['api-key-header-name', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/auth/key"\n    auth_type: "api_key"\n    auth_key_env: "K"\n    auth_key_header: "X-API-Key:"\n'), 2, /c\.yaml:\d+:\d+: source\.api\.auth_key_header: not an HTTP header name/],
  ['api-cursor-param-is-paging', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    incremental: {enabled: true, cursor_field: id, cursor_param: offset}\n'), 2, /c\.yaml:\d+:\d+: source\.api\.incremental\.cursor_param: 'offset' is also source\.api\.pagination\.offset_param: the cursor and the paging would be sent under one name/],
  ['api-header-value', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    headers:\n      X-Tenant: "a\\r\\nX-Admin: 1"\n'), 2, /c\.yaml:\d+:\d+: source\.api\.headers\.X-Tenant: holds a line break or a control character, which an HTTP header value cannot/],
  ['api-inc-no-field', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    incremental:\n      enabled: true\n'), 2, /source\.api\.incremental\.cursor_field: required when incremental is enabled/],
  ['api-base-url-scheme', 'api', () => R('api', 'base_url: "{API}"', 'base_url: "ftp://files.example.com"'), 2, /c\.yaml:\d+:\d+: source\.api\.base_url: 'ftp:\/\/files\.example\.com' is not an http:\/\/ or https:\/\/ URL with a host/],
  ['api-base-url-no-scheme', 'api', () => R('api', 'base_url: "{API}"', 'base_url: "localhost:8080"'), 2, /source\.api\.base_url: 'localhost:8080' is not an http:\/\/ or https:\/\/ URL/],
  ['api-token-url', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/offset"\n    auth_type: "oauth2_client_credentials"\n    token_url: "/oauth/token"\n    client_id_env: "CID"\n    client_secret_env: "CSEC"\n'), 2, /source\.api\.token_url: '\/oauth\/token' is not an http:\/\/ or https:\/\/ URL/],
  ['api-page-size', 'api', () => R('api', 'page_size: 10', 'page_size: 0'), 2, F('source.api.pagination.page_size')],
  // ---- source.file (csv, json) ----
  ['csv-no-path', 'csv', () => R('csv', '    path: "in.csv"\n', '    header: true\n'), 2, /source\.file\.path: required/],
  ['csv-delimiter', 'csv', () => R('csv', '    path: "in.csv"\n', '    path: "in.csv"\n    delimiter: "ab"\n'), 2, /source\.file\.delimiter: .*one character/],
  ['csv-encoding', 'csv', () => R('csv', '    path: "in.csv"\n', '    path: "in.csv"\n    encoding: "klingon-8"\n'), 2, /source\.file\.encoding: not an encoding iconv knows/],
  ['csv-header-text', 'csv', () => R('csv', '    path: "in.csv"\n', '    path: "in.csv"\n    header: "first"\n'), 2, /source\.file\.header: must be true or false/],
  ['csv-data-path', 'csv', () => R('csv', '    path: "in.csv"\n', '    path: "in.csv"\n    data_path: "items"\n'), 2, /source\.file\.data_path: applies to format: json/],
  ['csv-format', 'csv', () => R('csv', '    path: "in.csv"\n', '    path: "in.csv"\n    format: "excel"\n'), 2, /source\.file\.format: must be one of csv, jsonl, json \(got 'excel'\)/],
  ['json-data-path', 'json', () => R('json', '    format: "json"\n', '    format: "json"\n    data_path: ".items"\n'), 2, /source\.file\.data_path: must be a dot path/],
  ['json-null-values-map', 'json', () => R('json', '    format: "json"\n', '    format: "json"\n    null_values: {a: 1}\n'), 2, /source\.file\.null_values: must be a list of strings/],
  ['json-no-section', 'json', () => Y('json', { body: '' }), 2, /source\.file: required for type file/],
  // ---- source.custom_extractor ----
  ['custom-none', 'custom', () => Y('custom', { body: '  custom_extractor:\n    params: {}\n' }), 2, /source\.custom_extractor: needs module \+ class_name, or command/],
  ['custom-both', 'custom', () => R('custom', '  custom_extractor:\n', '  custom_extractor:\n    module: "m"\n    class_name: "C"\n'), 2, /source\.custom_extractor: give either module \+ class_name or command, not both/],
  ['custom-no-class', 'custom', () => Y('custom', { body: '  custom_extractor:\n    module: "my.mod"\n' }), 2, /source\.custom_extractor\.class_name: required with module/],
  ['custom-command-string', 'custom', () => Y('custom', { body: '  custom_extractor:\n    command: "python3 x.py"\n' }), 2, /source\.custom_extractor\.command: must be a list of strings/],
  ['custom-command-empty', 'custom', () => Y('custom', { body: '  custom_extractor:\n    command: []\n' }), 2, /source\.custom_extractor\.command: must name a program/],
  // ---- S3 storage ----
  ['s3-bucket-slash', 's3', () => R('s3', 's3_bucket: "bronze"', 's3_bucket: "bronze/raw"'), 2, /c\.yaml:\d+:\d+: platform\.bronze\.s3_bucket: 'bronze\/raw' is not a bucket name/],
  ['s3-addressing', 's3', () => R('s3', '    region: "us-east-1"', '    region: "us-east-1"\n    addressing_style: "dns"'), 2, F('platform.s3_connection.addressing_style')],
  ['s3-key-value', 's3', () => R('s3', 'access_key_env: "BRONZE_S3_ACCESS_KEY"', 'access_key_env: "AKIA/secret+value"'), 2, /platform\.s3_connection\.access_key_env: must be the name of an environment variable/, { secret: 'secret+value' }],
  ['s3-region-env', 's3', () => R('s3', '    region: "us-east-1"', '    region_env: "1REGION"'), 2, F('platform.s3_connection.region_env')],
  ['s3-conn-not-map', 's3', () => Y('db', { bronze: '    s3_bucket: "bronze"\n  s3_connection: "none"\n', run: '    s3_enabled: true\n' }), 2, /platform\.s3_connection: must be a mapping/],
  // ---- several faults in one file: all of them, in file order ----
  ['many-faults', 'db', () => Y('db', { bronze: '    partitioning:\n      partition_strategy: "weekly"\n', run: '    max_rows_per_file: -1\n    timeout_seconds: 0\n' }).replace('SELECT * FROM orders"\n', 'SELECT * FROM orders"\n    fetch_batch_size: 0\n'), 2,
    /partition_strategy: must be one of[^\n]*\n[^\n]*source\.db\.fetch_batch_size[^\n]*\n[^\n]*source\.run\.max_rows_per_file[^\n]*\n[^\n]*source\.run\.timeout_seconds/, { errors: 4 }],
  // ---- the configs of one run ----
  ['clash-partition', 'db', () => Y('db'), 2, /c\.yaml:7:3: source\.table: c\.yaml and d\.yaml: both write the same partition under output/, { more: { 'd.yaml': () => Y('csv', { table: 'orders' }) } }],
  ['clash-state', 'db', () => Y('db', { body: BODY.db + '    incremental:\n      cursor_column: id\n      state_file: "st.json"\n' }), 2, /source\.db\.incremental\.state_file: c\.yaml and d\.yaml: both keep their cursor in st\.json/,
    { more: { 'd.yaml': () => Y('pg', { table: 'other', body: BODY.db + '    incremental:\n      cursor_column: id\n      state_file: "st.json"\n' }) } }],
  ['clash-s3-partition', 's3', () => Y('s3'), 2, /source\.table: c\.yaml and d\.yaml: both write the same partition in s3:\/\/bronze\/p/, { more: { 'd.yaml': () => Y('s3').replace('local_path: "./output"', 'local_path: "./elsewhere"') } }],
  ['clash-same-file-twice', 'csv', () => Y('csv'), 2, /c\.yaml and c\.yaml: both write/, { more: { 'c.yaml': null } }],

  // ---- faults the run finds (the config is valid) ----
  ['sqlite-missing-file', 'db', () => Y('db'), 1, /c\.yaml: source\.db\.conn_str_env: cannot open SQLite database nope\.db/, { env: { TEST_DB: 'sqlite:nope.db' } }],
  ['sqlite-bad-query', 'db', () => R('db', 'FROM orders', 'FROM nowhere'), 1, /c\.yaml: source\.db\.base_query: no such table: nowhere/],
  ['sqlite-no-cursor-column', 'db', () => R('db', '    base_query: "SELECT * FROM orders"\n', '    base_query: "SELECT * FROM orders"\n    incremental_key: "updated"\n'), 2, /c\.yaml: source\.db\.incremental_key: cursor column 'updated' is not in the query's result/, { config: false }],
  ['sqlite-no-path', 'db', () => Y('db'), 2, /c\.yaml: source\.db\.conn_str_env: the connection string in TEST_DB has no database path/, { config: false, env: { TEST_DB: 'sqlite:' } }],
  ['env-unset', 'db', () => Y('db'), 2, /c\.yaml: source\.db\.conn_str_env: environment variable TEST_DB is not set/, { config: false, env: {} }],
  ['conn-unknown-kind', 'db', () => Y('db'), 2, /source\.db\.conn_str_env: the connection string in TEST_DB is not a sqlite:/, { config: false, env: { TEST_DB: 'mysql://x' } }],
  ['pg-bad-query', 'pg', () => R('pg', 'FROM orders', 'FROM nowhere'), 1, /^\[ERROR\] c\.yaml: postgres: describing source\.db\.base_query failed on .*: relation "nowhere" does not exist/m],
  ['pg-bad-column', 'pg', () => R('pg', 'SELECT * FROM orders', 'SELECT nope FROM orders'), 1, /^\[ERROR\] c\.yaml: postgres: .*column "nope" does not exist/m],
  ['pg-refused-retried', 'pg', () => Y('pg', { run: '    max_retries: 1\n' }), 1, /^\[WARNING\] c\.yaml: postgres: cannot connect to .*Connection refused Is the server running on that host and accepting TCP\/IP connections\?; retrying \(1 of 1\)$/m, { env: { TEST_DB: 'postgresql://postgres@127.0.0.1:1/postgres' } }],
  ['pg-refused', 'pg', () => Y('pg', { run: '    max_retries: 0\n' }), 1, /^\[ERROR\] c\.yaml: postgres: cannot connect to .*Connection refused Is the server running/m, { env: { TEST_DB: 'postgresql://postgres@127.0.0.1:1/postgres' } }],
  ['odbc-bad-query', 'odbc', () => R('odbc', 'FROM orders', 'FROM nowhere'), 1, /^\[ERROR\] c\.yaml: odbc: describing source\.db\.base_query failed on .*relation "nowhere" does not exist; ?No query/m],
  ['odbc-no-driver', 'odbc', () => Y('odbc'), 2, /c\.yaml: odbc: connecting failed on SERVER=x: .*Can't open lib '\/no\/such\/driver\.so'/, { config: false, env: { TEST_DB: 'DRIVER=/no/such/driver.so;SERVER=x' } }],
  ['api-404', 'api', () => R('api', '/offset', '/notfound'), 1, /c\.yaml: .*404/],
  ['api-html', 'api', () => R('api', '/offset', '/html'), 1, /c\.yaml: .*(HTML|html|JSON)/],
  ['api-no-records-path', 'api', () => R('api', 'data_path: "items"', 'data_path: "rows"'), 1, /no records at source\.api\.data_path 'rows'/],
  ['api-token-unset', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/auth/bearer"\n    auth_type: "bearer"\n    auth_token_env: "API_TOKEN"\n'), 2, /source\.api\.auth_token_env: environment variable API_TOKEN is not set/, { config: false }],
  ['api-token-empty', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/auth/bearer"\n    auth_type: "bearer"\n    auth_token_env: "API_TOKEN"\n'), 2, /c\.yaml: source\.api\.auth_token_env: environment variable API_TOKEN is empty$/m, { config: false, env: { API_TOKEN: '' } }],
  ['api-token-line-break', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/auth/bearer"\n    auth_type: "bearer"\n    auth_token_env: "API_TOKEN"\n'), 2, /c\.yaml: source\.api\.auth_token_env: environment variable API_TOKEN holds a line break, which no HTTP header can carry$/m, { config: false, env: { API_TOKEN: 'tok-part-one\ntok-part-two' }, secret: 'tok-part-one' }],
  ['api-password-line-break', 'api', () => R('api', '    endpoint: "/offset"\n', '    endpoint: "/auth/basic"\n    auth_type: "basic"\n    auth_username_env: "U"\n    auth_password_env: "PW"\n'), 2, /c\.yaml: source\.api\.auth_password_env: environment variable PW holds a line break, which no HTTP header can carry$/m, { config: false, env: { U: 'me', PW: 'pw-one\rpw-two' }, secret: 'pw-one' }],
  ['csv-missing', 'csv', () => Y('csv'), 1, /in\.csv/, { setup: (d) => rmSync(join(d, 'in.csv')) }],
  ['csv-ragged', 'csv', () => Y('csv'), 1, /in\.csv.*line 3/, { setup: (d) => writeFileSync(join(d, 'in.csv'), 'a,b\n1,2\n3,4,5\n') }],
  ['csv-bad-utf8', 'csv', () => Y('csv'), 1, /in\.csv.*line 2/i, { setup: (d) => writeFileSync(join(d, 'in.csv'), Buffer.concat([Buffer.from('a,b\n1,'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')])) }],
  ['csv-unterminated', 'csv', () => Y('csv'), 1, /in\.csv.*line 2/, { setup: (d) => writeFileSync(join(d, 'in.csv'), 'a,b\n1,"open\n2,3\n') }],
  ['csv-is-dir', 'csv', () => Y('csv'), 1, /in\.csv/, { setup: (d) => { rmSync(join(d, 'in.csv')); mkdirSync(join(d, 'in.csv')); } }],
  ['json-truncated', 'json', () => Y('json'), 1, /in\.json/, { setup: (d) => writeFileSync(join(d, 'in.json'), '[{"a": 1}, {"a": ') }],
  ['json-not-array', 'json', () => Y('json'), 1, /in\.json/, { setup: (d) => writeFileSync(join(d, 'in.json'), '{"a": 1}') }],
  ['json-scalar-item', 'json', () => Y('json'), 1, /in\.json/, { setup: (d) => writeFileSync(join(d, 'in.json'), '[{"a": 1}, 42]') }],
  ['custom-exit', 'custom', () => Y('custom', { body: '  custom_extractor:\n    command: ["sh", "-c", "echo \'{\\"a\\":1}\'; echo oops >&2; exit 3"]\n' }), 1, /c\.yaml: .*(exit|status) 3/],
  ['custom-not-json', 'custom', () => Y('custom', { body: '  custom_extractor:\n    command: ["sh", "-c", "echo not json"]\n' }), 1, /c\.yaml: /],
  ['custom-missing-program', 'custom', () => Y('custom', { body: '  custom_extractor:\n    command: ["./no-such-program"]\n' }), 1, /no-such-program/],
  ['s3-no-bucket', 's3', () => R('s3', 's3_bucket: "bronze"', 's3_bucket: "not-there"'), 1, /not-there/],
  ['s3-bad-secret', 's3', () => Y('s3'), 1, /c\.yaml: .*(403|SignatureDoesNotMatch|InvalidAccessKeyId|denied)/i, { env: () => ({ TEST_DB: 'sqlite:shop.db', ...s3.configEnv, BRONZE_S3_SECRET_KEY: 'wrong' }) }],
  ['s3-secret-line-break', 's3', () => Y('s3'), 2, /platform\.s3_connection\.secret_key_env: environment variable BRONZE_S3_SECRET_KEY holds a line break, which no HTTP header can carry$/m, { config: false, env: () => ({ TEST_DB: 'sqlite:shop.db', ...s3.configEnv, BRONZE_S3_SECRET_KEY: 'sec-one\nsec-two' }), secret: 'sec-one' }],
  ['s3-key-unset', 's3', () => Y('s3'), 2, /platform\.s3_connection\.access_key_env: environment variable BRONZE_S3_ACCESS_KEY is not set/, { config: false, env: { TEST_DB: 'sqlite:shop.db' } }],
];

const errorLines = (stderr) => stderr.split('\n').filter((l) => l.startsWith('[ERROR]'));

async function noMarker(dir, id, kind) {
  const local = listFiles(dir).filter((f) => f.endsWith('_metadata.json'));
  assert.deepEqual(local, [], `${id}: a marker was published locally`);
  if (kind === 's3') {
    const objs = await s3.list('');
    assert.deepEqual(objs.filter((o) => o.key.endsWith('_metadata.json')).map((o) => o.key), [], `${id}: a marker in the bucket`);
  }
}

for (const [id, kind, make, code, re, opts = {}] of CASES) {
  test(`bad config/input ${id} (${kind})`, async () => {
    const dir = workdir('bf-bad-');
    sqlite(join(dir, 'shop.db'), 'CREATE TABLE IF NOT EXISTS orders (id INTEGER); INSERT INTO orders VALUES (1);');
    writeFileSync(join(dir, 'in.json'), '[{"a": 1}]');
    writeFileSync(join(dir, 'in.csv'), 'a,b\n1,2\n');
    if (opts.setup) opts.setup(dir);
    write(dir, 'c.yaml', make().replaceAll('{API}', api.url));
    const names = ['c.yaml'];
    for (const [name, f] of Object.entries(opts.more || {})) {
      if (f) write(dir, name, f().replaceAll('{API}', api.url));
      names.push(name);
    }
    const args = ['--config', names.join(','), '--date', DATE, '--log-format', 'simple'];
    const env = typeof opts.env === 'function' ? opts.env() : (opts.env ?? envFor(kind));
    const r = await runAsync(dir, args, { env });
    assert.equal(r.code, code, `${id}: exit ${r.code} (signal ${r.signal})\n${r.stderr}`);
    assert.match(r.stderr, re, id);
    assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error|LeakSanitizer/);
    if (opts.secret) assert.ok(!r.stderr.includes(opts.secret), `${id}: the secret is in the log`);
    const errs = errorLines(r.stderr);
    assert.ok(errs.length >= 1, r.stderr);
    if (opts.errors) assert.equal(errs.length, opts.errors, r.stderr);
    // --validate-only, with no environment at all
    const v = await runAsync(dir, [...args, '--validate-only'], { env: {} });
    assert.doesNotMatch(v.stderr, /AddressSanitizer|runtime error|LeakSanitizer/);
    const inConfig = opts.config ?? code === 2;
    if (inConfig) {
      assert.equal(v.code, 2, `${id}: --validate-only said ${v.code}\n${v.stderr}`);
      assert.deepEqual(errorLines(v.stderr), errs, `${id}: --validate-only and the run disagree`);
      for (const e of errs) assert.match(e, /^\[ERROR\] \S+\.yaml(:\d+:\d+)?: [a-z_.0-9()[\]A-Z-]+: /, `${id}: ${e}`);
    } else {
      assert.equal(v.code, 0, `${id}: --validate-only should pass a valid config\n${v.stderr}`);
      assert.match(v.stderr, new RegExp(`c\\.yaml: valid`));
    }
    await noMarker(dir, id, kind);
    cleanup(dir);
  });
}

test('the bad-config table has at least 80 cases across every source and storage kind', () => {
  assert.ok(CASES.length >= 80, String(CASES.length));
  const kinds = new Set(CASES.map((c) => c[1]));
  for (const k of ['db', 'pg', 'odbc', 'api', 'csv', 'json', 'custom', 's3']) assert.ok(kinds.has(k), k);
  const ids = CASES.map((c) => c[0]);
  assert.equal(new Set(ids).size, ids.length, 'case ids are unique');
});

