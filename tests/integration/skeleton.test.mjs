// The walking skeleton end to end: SQLite -> CSV/Parquet parts -> commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, run, workdir, write, sqlite, dbConfig, listFiles, sha256, readJson, query, today, cleanup } from './lib/harness.mjs';

const ORDERS = (n) => `CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT, amount REAL, day DATE, ts TIMESTAMP);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < ${n})
INSERT INTO orders SELECT i, 'name ' || i, i * 1.5, date('2024-01-01', '+' || (i % 300) || ' days'),
  '2024-02-03 04:05:06' FROM s;`;

function shop(n, cfg) {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), ORDERS(n));
  write(dir, 'c.yaml', cfg);
  return dir;
}
const ENV = { TEST_DB: 'sqlite:shop.db' };

test('the README demo command lands a batch under ./output', () => {
  const dir = workdir();
  const r = spawnSync('bash', [join(ROOT, 'scripts/demo.sh')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const part = join(ROOT, `output/system=demo_shop/table=orders/dt=${today()}`);
  assert.ok(existsSync(join(part, 'part-0001.csv')), r.stdout);
  assert.ok(existsSync(join(part, 'part-0001.parquet')));
  const meta = readJson(join(part, '_metadata.json'));
  assert.equal(meta.total_records, 2500);
  assert.match(r.stderr + r.stdout, /Batch committed to .*system=demo_shop\/table=orders/);
  cleanup(dir);
});

test('max_rows_per_file 1000 over 2500 rows gives 1000/1000/500 and honest metadata', async () => {
  const dir = shop(2500, dbConfig({ run: '    max_rows_per_file: 1000' }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const p = join(dir, 'output/system=shop/table=orders/dt=2025-01-12');
  assert.deepEqual(listFiles(p), ['_metadata.json', 'part-0001.csv', 'part-0001.parquet',
    'part-0002.csv', 'part-0002.parquet', 'part-0003.csv', 'part-0003.parquet']);
  const meta = readJson(join(p, '_metadata.json'));
  assert.equal(meta.total_records, 2500);
  assert.equal(meta.num_files, 6);
  assert.equal(meta.partition_path, 'system=shop/table=orders/dt=2025-01-12/');
  assert.equal(meta.run_date, '2025-01-12');
  assert.deepEqual(meta.file_formats, { csv: true, parquet: true });
  assert.match(meta.batch_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  let csvRows = 0;
  for (const f of meta.files) {
    assert.equal(f.sha256, sha256(join(p, f.name)), f.name);
    const counted = f.format === 'csv'
      ? (await query(`SELECT count(*)::INT AS n FROM read_csv('${join(p, f.name)}', header=true)`))[0].n
      : (await query(`SELECT count(*)::INT AS n FROM '${join(p, f.name)}'`))[0].n;
    assert.equal(counted, f.rows, f.name);
    if (f.format === 'csv') csvRows += counted;
  }
  assert.deepEqual(meta.files.filter((f) => f.format === 'csv').map((f) => f.rows), [1000, 1000, 500]);
  assert.equal(csvRows, meta.total_records);
  // Same rows in CSV and Parquet, in order.
  const a = await query(`SELECT id, name FROM read_csv('${p}/part-0002.csv', header=true) ORDER BY id`);
  const b = await query(`SELECT id, name FROM '${p}/part-0002.parquet' ORDER BY id`);
  assert.deepEqual(a.map((x) => [Number(x.id), x.name]), b.map((x) => [Number(x.id), x.name]));
  assert.equal(Number(a[0].id), 1001);
  cleanup(dir);
});

const STRATEGIES = [
  ['date', 'true', '2025-01-12', /^system=shop\/table=orders\/dt=2025-01-12\/$/],
  ['hourly', 'true', '2025-01-12T14:05', /^system=shop\/table=orders\/dt=2025-01-12\/hour=14\/$/],
  ['timestamp', 'true', '2025-01-12T08:30', /^system=shop\/table=orders\/dt=2025-01-12\/batch=20250112_0830\/$/],
  ['batch_id', 'true', '2025-01-12', /^system=shop\/table=orders\/dt=2025-01-12\/batch_id=batch_20250112_001\/$/],
  ['date', 'false', '2025-01-12', /^system=shop\/table=orders\/$/],
  ['hourly', 'false', '2025-01-12T20:00', /^system=shop\/table=orders\/hour=20\/$/],
];
for (const [strategy, useDt, date, want] of STRATEGIES) {
  test(`partition_strategy ${strategy}, use_dt_partition ${useDt} -> seed path`, () => {
    const platform = `    partitioning:\n      use_dt_partition: ${useDt}\n      partition_strategy: "${strategy}"`;
    const runKeys = strategy === 'batch_id' ? '    batch_id: "batch_20250112_001"' : '';
    const dir = shop(10, dbConfig({ platform, run: runKeys }));
    const r = run(dir, ['--config', 'c.yaml', '--date', date], { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    const metas = listFiles(join(dir, 'output')).filter((f) => f.endsWith('_metadata.json'));
    assert.equal(metas.length, 1, metas.join(','));
    const meta = readJson(join(dir, 'output', metas[0]));
    assert.match(meta.partition_path, want);
    assert.equal(metas[0], meta.partition_path + '_metadata.json');
    assert.ok(existsSync(join(dir, 'output', meta.partition_path, 'part-0001.parquet')));
    cleanup(dir);
  });
}

test('an auto batch_id has the form YYYYMMDD_HHMMSS_<8 hex>', () => {
  const platform = '    partitioning:\n      partition_strategy: "batch_id"';
  const dir = shop(3, dbConfig({ platform }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const meta = listFiles(join(dir, 'output')).find((f) => f.endsWith('_metadata.json'));
  assert.match(meta, /dt=2025-01-12\/batch_id=\d{8}_\d{6}_[0-9a-f]{8}\/_metadata\.json$/);
  cleanup(dir);
});

test('the hour partition defaults to the batch start time in UTC', () => {
  const platform = '    partitioning:\n      partition_strategy: "hourly"';
  const dir = shop(3, dbConfig({ platform }));
  const before = new Date().getUTCHours();
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  const after = new Date().getUTCHours();
  assert.equal(r.code, 0, r.stderr);
  const meta = listFiles(join(dir, 'output')).find((f) => f.endsWith('_metadata.json'));
  const hour = Number(meta.match(/hour=(\d\d)/)[1]);
  assert.ok(hour === before || hour === after, meta);
  cleanup(dir);
});

test('zero rows still commits a marker with total_records 0 and the schema', () => {
  const dir = shop(5, dbConfig({ query: 'SELECT * FROM orders WHERE id < 0' }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const p = join(dir, 'output/system=shop/table=orders/dt=2025-01-12');
  assert.deepEqual(listFiles(p), ['_metadata.json']);
  const meta = readJson(join(p, '_metadata.json'));
  assert.equal(meta.total_records, 0);
  assert.equal(meta.num_files, 0);
  assert.deepEqual(meta.schema.map((c) => [c.name, c.type]),
    [['id', 'INT64'], ['name', 'STRING'], ['amount', 'DOUBLE'], ['day', 'DATE'], ['ts', 'TIMESTAMP']]);
  cleanup(dir);
});

test('a full-load re-run with fewer rows leaves exactly the new parts', () => {
  const dir = shop(2500, dbConfig({ run: '    max_rows_per_file: 1000' }));
  assert.equal(run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV }).code, 0);
  sqlite(join(dir, 'shop.db'), 'DELETE FROM orders WHERE id > 1200;');
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const p = join(dir, 'output/system=shop/table=orders/dt=2025-01-12');
  assert.deepEqual(listFiles(p), ['_metadata.json', 'part-0001.csv', 'part-0001.parquet', 'part-0002.csv', 'part-0002.parquet']);
  const meta = readJson(join(p, '_metadata.json'));
  assert.equal(meta.total_records, 1200);
  for (const f of meta.files) assert.equal(f.sha256, sha256(join(p, f.name)));
  cleanup(dir);
});

test('a run that fails mid-way leaves no final-named part and no marker', () => {
  // Row 1500 holds text in a REAL column: the run fails after staging parts.
  const dir = shop(2500, dbConfig({ run: '    max_rows_per_file: 500' }));
  sqlite(join(dir, 'shop.db'), "UPDATE orders SET amount = 'oops' WHERE id = 1500;");
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /c\.yaml: row 1500, column 'amount' \(DOUBLE\): a TEXT value; cast it/);
  assert.deepEqual(listFiles(join(dir, 'output')), []);
  cleanup(dir);
});

test('write_csv false / allow_parquet false gate the formats', () => {
  const platform = '    output_defaults:\n      allow_parquet: false';
  const dir = shop(10, dbConfig({ platform }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const p = join(dir, 'output/system=shop/table=orders/dt=2025-01-12');
  assert.deepEqual(listFiles(p), ['_metadata.json', 'part-0001.csv']);
  assert.deepEqual(readJson(join(p, '_metadata.json')).file_formats, { csv: true, parquet: false });
  cleanup(dir);
});
