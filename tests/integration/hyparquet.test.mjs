// A second independent reader, hyparquet, reads our files through the page
// index (issue #15): every row back bit-exactly, and a selective filter over
// a sorted column returns the same rows with usePageIndex while fetching a
// fraction of the bytes (counted by wrapping its file reader). Bloom filters
// let it skip row groups for a value that is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { parquetReadObjects, parquetMetadataAsync, asyncBufferFromFile } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { run, workdir, write, sqlite, cleanup, BIN_RELEASE } from './lib/harness.mjs';

const ROWS = 300000;

/** An AsyncBuffer over the file that counts the bytes asked for. */
async function countingFile(path) {
  const base = await asyncBufferFromFile(path);
  const f = { bytes: 0, byteLength: base.byteLength };
  f.slice = (s, e) => {
    f.bytes += (e ?? base.byteLength) - s;
    return base.slice(s, e);
  };
  return f;
}

async function read(path, opts) {
  const file = await countingFile(path);
  const metadata = await parquetMetadataAsync(file);
  const meta = file.bytes; // the footer read (hyparquet fetches the last 512 KiB at once)
  const rows = await parquetReadObjects({ file, metadata, compressors, ...opts });
  return { rows, bytes: file.bytes - meta, meta, groups: metadata.row_groups.length };
}

test('hyparquet reads every row, and through the page index and bloom filters reads less', async () => {
  const dir = workdir();
  sqlite(join(dir, 'h.db'), `CREATE TABLE t (id INTEGER, email TEXT, descr TEXT, amount REAL);
    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${ROWS})
    INSERT INTO t SELECT i, 'user' || i || '@example.com',
      CASE WHEN i % 7 = 0 THEN NULL ELSE printf('%.80c description of row %d', 'x', i % 1000) END,
      CASE WHEN i % 11 = 0 THEN NULL ELSE i * 0.25 END FROM s;`);
  write(dir, 'c.yaml', `platform:
  bronze:
    local_path: "./output"
    output_defaults:
      parquet_bloom_filter_columns: [email]
source:
  type: "db"
  system: "s"
  table: "t"
  db:
    conn_str_env: "DB"
    base_query: "SELECT * FROM t ORDER BY id"
  run:
    write_csv: false
    max_file_size_mb: 16
`);
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { DB: 'sqlite:h.db' }, bin: BIN_RELEASE, timeout: 300000 });
  assert.equal(r.code, 0, r.stderr);
  const p = join(dir, 'output/system=s/table=t/dt=2025-01-12');
  const parts = readdirSync(p).filter((f) => f.endsWith('.parquet'));
  assert.equal(parts.length, 1);
  const path = join(p, parts[0]);

  // every row, bit-exactly, against SQLite's own rendering
  const want = JSON.parse(spawnSync('sqlite3', ['-json', join(dir, 'h.db'), 'SELECT * FROM t ORDER BY id'],
    { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout);
  const all = await read(path, {});
  assert.ok(all.groups >= 2, `row groups: ${all.groups}`);
  assert.equal(all.rows.length, ROWS);
  for (let i = 0; i < ROWS; i++) {
    const g = all.rows[i], w = want[i];
    if (Number(g.id) !== w.id || g.email !== w.email || g.descr !== w.descr || g.amount !== w.amount)
      assert.fail(`row ${i}: ${JSON.stringify(g, (k, v) => (typeof v === 'bigint' ? Number(v) : v))} != ${JSON.stringify(w)}`);
  }

  // a selective range over the sorted id: the same rows, a fraction of the bytes
  const filter = { id: { $gte: 150000, $lt: 150100 } };
  const scan = await read(path, { filter });
  const indexed = await read(path, { filter, usePageIndex: true });
  assert.equal(scan.rows.length, 100);
  assert.deepEqual(indexed.rows, scan.rows);
  assert.equal(Number(indexed.rows[0].id), 150000);
  console.log(`# hyparquet range filter, bytes after the footer: ${scan.bytes} without the page index, ` +
    `${indexed.bytes} with; footer read ${scan.meta}; all rows ${all.bytes}; ${all.groups} row groups`);
  assert.ok(indexed.bytes * 3 < scan.bytes, `${indexed.bytes} vs ${scan.bytes}`);

  // an absent value: the bloom filters rule out every row group
  // (inside every row group's min/max: statistics cannot rule it out)
  const absent = { email: { $eq: 'user150000x@example.com' } };
  const plain = await read(path, { filter: absent });
  const bloom = await read(path, { filter: absent, useBloomFilters: true });
  assert.equal(plain.rows.length, 0);
  assert.equal(bloom.rows.length, 0);
  console.log(`# hyparquet absent email, bytes after the footer: ${plain.bytes} without bloom filters, ${bloom.bytes} with`);
  assert.ok(bloom.bytes * 4 < plain.bytes, `${bloom.bytes} vs ${plain.bytes}`);
  const hit = await read(path, { filter: { email: { $eq: 'user123456@example.com' } }, useBloomFilters: true });
  assert.deepEqual(hit.rows.map((x) => Number(x.id)), [123456]);
  cleanup(dir);
});
