// Parquet as the Bronze layer is read (SPEC §4, §6.2): DuckDB sees the hive
// keys as columns and prunes on them; max_file_size_mb holds end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { run, workdir, write, sqlite, readJson, query, cleanup, sha256, BIN_RELEASE } from './lib/harness.mjs';

const cfg = ({ platform = '', runKeys = '', query: q = 'SELECT * FROM t' }) => `platform:
  bronze:
    local_path: "./output"
${platform}
source:
  type: "db"
  system: "s"
  table: "t"
  db:
    conn_str_env: "DB"
    base_query: "${q}"
  run:
    write_csv: false
${runKeys}`;

test('DuckDB reads dt/hour as hive columns and a dt filter reads only that partition', async () => {
  const dir = workdir();
  sqlite(join(dir, 'a.db'), 'CREATE TABLE t (id INTEGER, v TEXT); INSERT INTO t VALUES (1, \'a\'), (2, \'b\');');
  write(dir, 'c.yaml', cfg({ platform: '    partitioning:\n      partition_strategy: "hourly"' }));
  for (const d of ['2025-01-10T08:00', '2025-01-11T09:00', '2025-01-12T14:00'])
    assert.equal(run(dir, ['--config', 'c.yaml', '--date', d], { env: { DB: 'sqlite:a.db' } }).code, 0);
  const glob = `${dir}/output/**/*.parquet`;
  const all = await query(`SELECT dt::VARCHAR dt, hour, count(*)::INT n FROM read_parquet('${glob}', hive_partitioning = true) GROUP BY ALL ORDER BY dt`);
  assert.deepEqual(all, [{ dt: '2025-01-10', hour: '08', n: 2 }, { dt: '2025-01-11', hour: '09', n: 2 }, { dt: '2025-01-12', hour: '14', n: 2 }]);
  // hour=08 is read as text ('08'), as the seed's paths spell it.
  // Break another partition's file: a query that opened it would fail. (The
  // first file of the glob stays intact: DuckDB binds the schema from it.)
  writeFileSync(join(dir, 'output/system=s/table=t/dt=2025-01-11/hour=09/part-0001.parquet'), 'not parquet at all');
  const pruned = await query(`SELECT id::INT id, hour FROM read_parquet('${glob}', hive_partitioning = true) WHERE dt = DATE '2025-01-12' ORDER BY id`);
  assert.deepEqual(pruned, [{ id: 1, hour: '14' }, { id: 2, hour: '14' }]);
  await assert.rejects(query(`SELECT count(*) FROM read_parquet('${glob}', hive_partitioning = true)`));
  cleanup(dir);
});

for (const codec of ['snappy', 'zstd']) {
  test(`2M rows with a random-bytes column, max_file_size_mb 8, ${codec}: every part <= 8 MiB, all but the last >= 6.8 MiB`, async () => {
    const dir = workdir();
    sqlite(join(dir, 'big.db'), `CREATE TABLE t (id INTEGER, r BLOB, label TEXT, amount REAL);
      WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2000000)
      INSERT INTO t SELECT i, randomblob(12), 'label ' || (i % 1000), i * 0.25 FROM s;`);
    write(dir, 'c.yaml', cfg({
      platform: `    output_defaults:\n      parquet_compression: "${codec}"`,
      runKeys: '    max_file_size_mb: 8\n',
    }));
    const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { DB: 'sqlite:big.db' }, bin: BIN_RELEASE, timeout: 600000 });
    assert.equal(r.code, 0, r.stderr);
    const p = join(dir, 'output/system=s/table=t/dt=2025-01-12');
    const meta = readJson(join(p, '_metadata.json'));
    assert.equal(meta.total_records, 2000000);
    const limit = 8 * 1048576;
    const sizes = meta.files.map((f) => statSync(join(p, f.name)).size);
    // hashed while written, or read back after fit() rewound a part: either way exact
    for (const f of meta.files) assert.equal(f.sha256, sha256(join(p, f.name)), f.name);
    assert.ok(sizes.length >= 3, String(sizes));
    sizes.forEach((s, i) => {
      assert.ok(s <= limit, `part ${i + 1}: ${s} > ${limit}`);
      if (i < sizes.length - 1) assert.ok(s >= 0.85 * limit, `part ${i + 1}: ${s} < 85%`);
    });
    const back = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d, sum(octet_length(r))::INT bytes FROM read_parquet('${p}/*.parquet', hive_partitioning=false)`);
    assert.deepEqual(back[0], { n: 2000000, d: 2000000, bytes: 24000000 });
    cleanup(dir);
  });
}

test('parallel_workers encodes columns on several threads with byte-identical parts', () => {
  const dir = workdir();
  sqlite(join(dir, 'w.db'), `CREATE TABLE t (id INTEGER, r BLOB, label TEXT, amount REAL, d DATE, n INTEGER);
    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 300000)
    INSERT INTO t SELECT i, randomblob(8), 'label ' || (i % 777), i * 0.5, date('2020-01-01', '+' || (i % 900) || ' days'),
      CASE WHEN i % 5 = 0 THEN NULL ELSE i % 13 END FROM s;`);
  const hashes = {};
  for (const workers of [1, 4]) {
    const sub = join(dir, `w${workers}`);
    write(dir, `w${workers}.yaml`, cfg({
      platform: '    output_defaults:\n      parquet_compression: "gzip"',
      runKeys: `    max_file_size_mb: 1.5\n    parallel_workers: ${workers}\n`,
    }).replace('local_path: "./output"', `local_path: "${sub}"`));
    const r = run(dir, ['--config', `w${workers}.yaml`, '--date', '2025-01-12'], { env: { DB: 'sqlite:w.db' } });
    assert.equal(r.code, 0, r.stderr);
    const meta = readJson(join(sub, 'system=s/table=t/dt=2025-01-12/_metadata.json'));
    assert.ok(meta.files.length >= 3, String(meta.files.length));
    hashes[workers] = meta.files.map((f) => `${f.name}:${f.rows}:${f.sha256}`);
  }
  assert.deepEqual(hashes[4], hashes[1]);
  cleanup(dir);
});

test('page index and bloom filters on (id, email), max_file_size_mb 4: parts sized, every row back, filters found by DuckDB', async () => {
  const dir = workdir();
  sqlite(join(dir, 'b.db'), `CREATE TABLE t (id INTEGER, email TEXT, descr TEXT, amount REAL);
    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1200000)
    INSERT INTO t SELECT i, 'user' || i || '@example.com',
      CASE WHEN i % 7 = 0 THEN NULL ELSE printf('%.80c description of row %d', 'x', i % 1000) END,
      CASE WHEN i % 11 = 0 THEN NULL ELSE i * 0.25 END FROM s;`);
  write(dir, 'c.yaml', cfg({
    platform: '    output_defaults:\n      parquet_compression: "snappy"\n      parquet_bloom_filter_columns: [id, email]\n      parquet_bloom_filter_fpp: 0.01',
    runKeys: '    max_file_size_mb: 4\n',
  }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { DB: 'sqlite:b.db' }, bin: BIN_RELEASE, timeout: 600000 });
  assert.equal(r.code, 0, r.stderr);
  const p = join(dir, 'output/system=s/table=t/dt=2025-01-12');
  const meta = readJson(join(p, '_metadata.json'));
  assert.equal(meta.total_records, 1200000);
  const limit = 4 * 1048576;
  const sizes = meta.files.map((f) => statSync(join(p, f.name)).size);
  assert.ok(sizes.length >= 3, String(sizes));
  sizes.forEach((s, i) => {
    assert.ok(s <= limit, `part ${i + 1}: ${s} > ${limit}`);
    if (i < sizes.length - 1) assert.ok(s >= 0.85 * limit, `part ${i + 1}: ${s} < 85%`);
  });
  for (const f of meta.files) assert.equal(f.sha256, sha256(join(p, f.name)), f.name);
  const glob = `${p}/*.parquet`;
  const back = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d, sum(id)::BIGINT s,
      sum(strlen(email))::BIGINT e, count(descr)::INT nd, sum(strlen(descr))::BIGINT ld,
      sum(amount)::DOUBLE a, count(amount)::INT na FROM read_parquet('${glob}', hive_partitioning=false)`);
  const want = JSON.parse(spawnSync('sqlite3', ['-json', join(dir, 'b.db'),
    `SELECT count(*) n, count(DISTINCT id) d, sum(id) s, sum(length(email)) e, count(descr) nd, sum(length(descr)) ld, sum(amount) a, count(amount) na FROM t`], { encoding: 'utf8' }).stdout)[0];
  assert.deepEqual({ ...back[0], s: Number(back[0].s), e: Number(back[0].e), ld: Number(back[0].ld) }, want);
  // point lookups (DuckDB prunes with the bloom filters and statistics) find exactly their row
  for (const id of [1, 599999, 1200000]) {
    const hit = await query(`SELECT id::INT id, email FROM read_parquet('${glob}', hive_partitioning=false) WHERE email = 'user${id}@example.com'`);
    assert.deepEqual(hit, [{ id, email: `user${id}@example.com` }]);
  }
  assert.deepEqual(await query(`SELECT count(*)::INT n FROM read_parquet('${glob}', hive_partitioning=false) WHERE email = 'nobody@example.com'`), [{ n: 0 }]);
  const md = await query(`SELECT path_in_schema c, bloom_filter_offset IS NOT NULL bloom, bool_and(bloom_filter_length > 0) len,
      bool_or(NOT max_is_exact) max_inexact, bool_or(NOT min_is_exact) min_inexact
      FROM parquet_metadata('${glob}') GROUP BY ALL ORDER BY c, bloom`);
  const by = Object.fromEntries(md.map((m) => [m.c, m]));
  assert.equal(md.length, 4, JSON.stringify(md)); // one row per column: bloom on every chunk or on none
  assert.equal(by.id.bloom, true);
  assert.equal(by.email.bloom, true);
  assert.equal(by.descr.bloom, false);
  assert.equal(by.amount.bloom, false);
  // descr values are 100+ bytes: their statistics are truncated to 64, not dropped
  assert.equal(by.descr.max_inexact, true);
  assert.equal(by.descr.min_inexact, true);
  cleanup(dir);
});
