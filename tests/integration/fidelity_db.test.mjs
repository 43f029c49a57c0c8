// Fidelity of the database path (issue #13, items 2, 3, 7, 11): SQLite
// incremental cursors read by the cursor column's type, text that is not
// UTF-8, JSON columns holding non-JSON, an all-empty-string column, and a
// `sqlite:` string without a path. Every test compares values read back
// with DuckDB, not just counts; the ASan/UBSan build runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { run, workdir, write, sqlite, dbConfig, listFiles, query, readJson, cleanup } from './lib/harness.mjs';

const DATE = '2025-01-12';

function extract(dir, cfg, env = { TEST_DB: 'sqlite:shop.db' }, extra = []) {
  write(dir, 'c.yaml', cfg);
  return run(dir, ['--config', 'c.yaml', '--date', DATE, '--log-format', 'simple', ...extra], { env });
}

function parts(dir, ext = '.parquet') {
  return listFiles(join(dir, 'output')).filter((f) => f.endsWith(ext)).map((f) => join(dir, 'output', f));
}

function markers(dir) {
  return listFiles(join(dir, 'output')).filter((f) => f.endsWith('_metadata.json')).map((f) => join(dir, 'output', f));
}

async function readParquet(dir, order = 'id') {
  return query(`SELECT * FROM read_parquet('${join(dir, 'output')}/**/*.parquet', hive_partitioning=false) ORDER BY ${order}`);
}

// ---- item 11: a STRING column whose every value is '' ----

test('an all-empty-string column encodes (no memcpy from NULL) and reads back as empty strings', async () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER, s TEXT, j JSON);
    INSERT INTO orders VALUES (1, '', '""'), (2, '', '""'), (3, '', '""');`);
  const r = extract(dir, dbConfig());
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /runtime error/);
  const rows = await readParquet(dir);
  assert.deepEqual(rows.map((x) => [Number(x.id), x.s]), [[1, ''], [2, ''], [3, '']]);
  const csv = readFileSync(parts(dir, '.csv')[0], 'utf8');
  assert.equal(csv, 'id,s,j\n1,"",""""""\n2,"",""""""\n3,"",""""""\n');
  cleanup(dir);
});

// ---- item 7 (part): sqlite: without a path ----

for (const cs of ['sqlite:', 'sqlite://', 'sqlite:  ']) {
  test(`'${cs}' (no path) is a config error, exit 2, naming the key`, () => {
    const dir = workdir();
    const r = extract(dir, dbConfig(), { TEST_DB: cs });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /c\.yaml: source\.db\.conn_str_env: .*no database path/);
    assert.equal(markers(dir).length, 0);
    cleanup(dir);
  });
}
