// Bad input: every broken config or input gets one clear message naming the
// file, key or record, and the right exit code (2 config, 1 runtime); never a
// crash (this runs the ASan/UBSan build), never a marker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { run, workdir, write, sqlite, listFiles, cleanup } from './lib/harness.mjs';

const PLATFORM = 'platform:\n  bronze:\n    local_path: "./output"\n';
const DB = (extra = '', run = '', src = '') => `${PLATFORM}source:
  type: "db"
  system: "shop"
  table: "orders"
${src}  db:
    conn_str_env: "TEST_DB"
    base_query: "SELECT * FROM orders"
${extra}  run:
    write_csv: true
${run}`;
const FILE = (path, extra = '') => `${PLATFORM}source:
  type: "file"
  system: "files"
  table: "input"
  file:
    path: "${path}"
${extra}`;

// [name, config text, exit code, message regex, optional setup(dir)]
const CASES = [
  ['bad YAML syntax', 'source:\n  type: "db\n  system: x\n', 2, /c\.yaml:\d+:\d+: /],
  ['top level is a list', '- a\n- b\n', 2, /c\.yaml:1:1: .*mapping/],
  ['empty file', '', 2, /c\.yaml/],
  ['missing source section', PLATFORM, 2, /c\.yaml:\d+:\d+: source: /],
  ['unknown source type', DB().replace('type: "db"', 'type: "ftp"'), 2, /c\.yaml:5:3: source\.type: must be one of db, api, file, custom \(got 'ftp'\)/],
  ['missing system', DB().replace('  system: "shop"\n', ''), 2, /source\.system/],
  ['negative max_rows_per_file', DB('', '    max_rows_per_file: -5\n'), 2, /c\.yaml:\d+:\d+: source\.run\.max_rows_per_file: /],
  ['zero max_file_size_mb', DB('', '    max_file_size_mb: 0\n'), 2, /source\.run\.max_file_size_mb: must be a positive number/],
  ['text max_file_size_mb', DB('', '    max_file_size_mb: "big"\n'), 2, /source\.run\.max_file_size_mb: must be a positive number/],
  ['zero parallel_workers', DB('', '    parallel_workers: 0\n'), 2, /source\.run\.parallel_workers/],
  ['not a boolean', DB('', '    write_csv: maybe\n'), 2, /source\.run\.write_csv/],
  ['unknown partition strategy', DB().replace(PLATFORM, PLATFORM + '    partitioning:\n      partition_strategy: "weekly"\n'), 2, /c\.yaml:\d+:\d+: platform\.bronze\.partitioning\.partition_strategy: .*weekly|platform\.bronze\.partitioning\.partition_strategy: .*(date|hourly)/],
  ['unknown codec', DB().replace(PLATFORM, PLATFORM + '    output_defaults:\n      parquet_compression: "lzo"\n'), 2, /platform\.bronze\.output_defaults\.parquet_compression/],
  ['table ../x', DB().replace('table: "orders"', 'table: "../x"'), 2, /c\.yaml:\d+:\d+: source\.table: /],
  ['system with a slash', DB().replace('system: "shop"', 'system: "a/b"'), 2, /source\.system: /],
  ['batch_id with a space', DB('', '    batch_id: "x y"\n'), 2, /source\.run\.batch_id: /],
  ['azure backend', DB().replace(PLATFORM, PLATFORM + '    storage_backend: "azure"\n'), 2, /platform\.bronze\.storage_backend: .*S3-compatible/],
  ['s3_enabled without bucket', DB('', '    s3_enabled: true\n'), 2, /source\.run\.s3_enabled/],
  ['local backend with s3_enabled', DB('', '    s3_enabled: true\n').replace(PLATFORM, PLATFORM + '    storage_backend: "local"\n    s3_bucket: "b"\n'), 2, /s3_enabled/],
  ['db without base_query', DB().replace('    base_query: "SELECT * FROM orders"\n', ''), 2, /source\.db\.base_query/],
  ['zero fetch_batch_size', DB('    fetch_batch_size: 0\n'), 2, /source\.db\.fetch_batch_size/],
  ['section of the wrong type', DB().replace('  run:\n    write_csv: true\n', '  run: 5\n'), 2, /source\.run: /],
  ['duplicate key', DB().replace('  table: "orders"\n', '  table: "orders"\n  table: "again"\n'), 2, /c\.yaml:\d+:\d+: source\.table: .*duplicate/i],
  ['unset env var', DB(), 2, /c\.yaml: source\.db\.conn_str_env: environment variable TEST_DB is not set/, null, {}],
  ['unrecognised connection string', DB(), 2, /source\.db\.conn_str_env: the connection string in TEST_DB is not/, null, { TEST_DB: 'mysql:whatever' }],
  ['missing SQLite file', DB(), 1, /c\.yaml: source\.db\.conn_str_env: cannot open SQLite database nope\.db/, null, { TEST_DB: 'sqlite:nope.db' }],
  ['DB query error', DB().replace('FROM orders', 'FROM nowhere'), 1, /c\.yaml: source\.db\.base_query: no such table: nowhere/],
  ['value too large for its DECIMAL column', DB(), 1, /row 2, column 'price' \(DECIMAL\(5,2\)\): .*CAST/, (d) => sqlite(join(d, 'shop.db'), "DROP TABLE orders; CREATE TABLE orders (price DECIMAL(5,2)); INSERT INTO orders VALUES (1.5), (123456.5);")],
  ['missing input file', FILE('nothing-*.csv'), 1, /nothing-\*\.csv/],
  ['input path is a directory', FILE('adir'), 1, /adir/, (d) => mkdirSync(join(d, 'adir'))],
  ['ragged CSV row', FILE('in.csv'), 1, /in\.csv.*line 3/, (d) => writeFileSync(join(d, 'in.csv'), 'a,b\n1,2\n3,4,5\n')],
  ['invalid UTF-8 in CSV', FILE('in.csv'), 1, /in\.csv.*line 2/i, (d) => writeFileSync(join(d, 'in.csv'), Buffer.concat([Buffer.from('a,b\n1,'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]))],
  ['unterminated quote in CSV', FILE('in.csv'), 1, /in\.csv.*line 2/, (d) => writeFileSync(join(d, 'in.csv'), 'a,b\n1,"open\n2,3\n')],
  ['truncated JSON', FILE('in.json', '    format: "json"\n'), 1, /in\.json/, (d) => writeFileSync(join(d, 'in.json'), '[{"a": 1}, {"a": ')],
  ['JSON Lines record that is not an object', FILE('in.jsonl', '    format: "jsonl"\n'), 1, /in\.jsonl.*line 2/, (d) => writeFileSync(join(d, 'in.jsonl'), '{"a":1}\n[1,2]\n')],
  ['JSON with a trailing comma', FILE('in.json', '    format: "json"\n'), 1, /in\.json: line 1/, (d) => writeFileSync(join(d, 'in.json'), '[{"a": 1},]')],
  ['JSON with a bad escape', FILE('in.json', '    format: "json"\n'), 1, /in\.json: line 2/, (d) => writeFileSync(join(d, 'in.json'), '[{"a": 1},\n {"a": "x\\q"}]')],
  ['JSON with invalid UTF-8', FILE('in.json', '    format: "json"\n'), 1, /in\.json/, (d) => writeFileSync(join(d, 'in.json'), Buffer.concat([Buffer.from('[{"a": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]')]))],
  ['JSON whose top level is not an array', FILE('in.json', '    format: "json"\n'), 1, /in\.json/, (d) => writeFileSync(join(d, 'in.json'), '{"a": 1}')],
  ['JSON array holding a non-object', FILE('in.json', '    format: "json"\n'), 1, /in\.json/, (d) => writeFileSync(join(d, 'in.json'), '[{"a": 1}, 42]')],
];

for (const [name, cfg, code, re, setup, envOverride] of CASES) {
  test(`bad input: ${name}`, () => {
    const dir = workdir();
    sqlite(join(dir, 'shop.db'), 'CREATE TABLE IF NOT EXISTS orders (id INTEGER); INSERT INTO orders VALUES (1);');
    if (setup) setup(dir);
    write(dir, 'c.yaml', cfg);
    const env = envOverride ?? { TEST_DB: 'sqlite:shop.db' };
    const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12', '--log-format', 'simple'], { env });
    assert.equal(r.code, code, `exit ${r.code} (signal ${r.signal})\n${r.stderr}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error|LeakSanitizer/);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('[ERROR]'));
    assert.ok(errors.length >= 1 && errors.length <= 2, r.stderr);
    assert.ok(!listFiles(join(dir, 'output')).some((f) => f.endsWith('_metadata.json')));
    cleanup(dir);
  });
}

test('the bad-input suite has at least 25 cases', () => {
  assert.ok(CASES.length >= 25, String(CASES.length));
});
