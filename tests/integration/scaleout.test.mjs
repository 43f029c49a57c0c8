// Scale-out (issue #16, SPEC §8): one table split by key range over K shard
// processes (`--shard I/K`, run here directly: no scheduler needed), then
// `bronze-extract commit` publishes them as one batch. Compared with a
// one-process extraction of the same table (DuckDB): same rows, none twice,
// one marker. Failure, kill and bad-input cases publish nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, mkdirSync } from 'node:fs';
import { run, runAsync, workdir, write, sqlite, readJson, listFiles, query, cleanup } from './lib/harness.mjs';
import { start as startPg } from './lib/pg.mjs';
import { startS3, s3Platform } from './lib/s3.mjs';

const DATE = '2025-01-12';
const K = 4;

let pg;
before(() => { pg = startPg(); });
after(() => pg && pg.stop());

/** A db config; `part` the partitioning mapping's YAML lines (6-space indent). */
const cfg = ({ table, q, part, db = '', platform = '    local_path: "./output"', runKeys = '', system = 'pg', env = 'SRC' }) => `platform:
  bronze:
${platform}
source:
  type: "db"
  system: "${system}"
  table: "${table}"
  db:
    conn_str_env: "${env}"
    base_query: "${q}"
${part ? `    partitioning:\n${part}` : ''}${db}  run:
    write_csv: true
    write_parquet: true
    max_rows_per_file: 300
${runKeys}`;

const partDir = (dir, system, table, dt = DATE) => join(dir, 'output', `system=${system}`, `table=${table}`, `dt=${dt}`);
const pq = (d) => `read_parquet('${d}/*.parquet', hive_partitioning=false)`;

function ok(r, what) {
  assert.equal(r.code, 0, `${what} failed (${r.code}/${r.signal}):\n${r.stderr}`);
}

/** Runs the K shards of a config, then the commit. */
function shardsAndCommit(dir, env, { k = K, date = DATE, config = 'c.yaml' } = {}) {
  for (let i = 0; i < k; i++) {
    const r = run(dir, ['--config', config, '--date', date, '--shard', `${i}/${k}`], { env });
    ok(r, `shard ${i}`);
    // a shard publishes nothing, and its log says so
    assert.match(r.stderr, new RegExp(`Shard ${i}/${k} staged for .*published by \`bronze-extract commit\``));
    assert.doesNotMatch(r.stderr, /Batch committed/);
  }
  const c = run(dir, ['commit', '--config', config, '--date', date], { env });
  ok(c, 'commit');
  assert.match(c.stderr, /Batch committed to /);
}

/** The rows of a partition's Parquet parts as sorted JSON lines, and the count of distinct ids. */
async function rowsOf(d) {
  const rows = await query(`SELECT * FROM ${pq(d)}`);
  return rows.map((r) => JSON.stringify(r, (k, v) => (typeof v === 'bigint' ? v.toString() : v))).sort();
}

/** Shards + commit in dir A, one process in dir B: same rows, no duplicates, one marker. */
async function compareWithOneProcess({ table, q, part, env, system = 'pg', expectRows, everyShardHasRows = true, dbKeys = '' }) {
  const a = workdir('bf-so-'), b = workdir('bf-so1-');
  try {
    write(a, 'c.yaml', cfg({ table, q, part, system, db: dbKeys }));
    write(b, 'c.yaml', cfg({ table, q, part, system, db: dbKeys }));
    shardsAndCommit(a, env);
    ok(run(b, ['--config', 'c.yaml', '--date', DATE], { env }), 'one-process run');
    const da = partDir(a, system, table), db = partDir(b, system, table);
    const ra = await rowsOf(da), rb = await rowsOf(db);
    assert.equal(ra.length, expectRows);
    assert.deepEqual(ra, rb, 'the sharded batch holds exactly the one-process rows');
    const dup = await query(`SELECT count(*)::INT n FROM (SELECT id FROM ${pq(da)} WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1)`);
    assert.equal(dup[0].n, 0, 'no id twice');
    // one marker, listing every part with its shard; the folder holds exactly it and them
    const files = readdirSync(da).sort();
    assert.equal(files.filter((f) => f === '_metadata.json').length, 1);
    const meta = readJson(join(da, '_metadata.json'));
    assert.equal(meta.total_records, expectRows);
    assert.equal(meta.shards, K);
    assert.deepEqual(files, ['_metadata.json', ...meta.files.map((f) => f.name)].sort());
    for (const f of meta.files) {
      assert.match(f.name, /^part-\d{4}-s\d{2}\.(csv|parquet)$/);
      assert.equal(f.name.slice(11, 13), String(f.shard).padStart(2, '0'));
      assert.equal(f.batch_id, meta.batch_id);
    }
    if (everyShardHasRows) assert.deepEqual([...new Set(meta.files.map((f) => f.shard))].sort(), [0, 1, 2, 3]);
    // nothing left waiting: shard journals and staging are gone
    assert.deepEqual(readdirSync(join(a, 'output/.bronze-tmp')).filter((f) => !f.endsWith('.lock') && f !== 'journals'), []);
    // verify accepts the sharded batch
    const v = run(a, ['verify', '--config', 'c.yaml'], { env });
    assert.equal(v.code, 0, v.stdout + v.stderr);
    return meta;
  } finally {
    cleanup(a);
    cleanup(b);
  }
}

// ---------------------------------------------------------------- PostgreSQL

test('PostgreSQL: 4 shards + commit equal a one-process extraction, by integer, date and timestamp key', async () => {
  pg.psql(`DROP TABLE IF EXISTS big; CREATE TABLE big (id int8, d date, ts timestamptz, t timestamp, note text);
    INSERT INTO big SELECT CASE WHEN i % 97 = 0 THEN NULL ELSE i END, DATE '2024-01-01' + (i % 400),
      TIMESTAMPTZ '2024-06-01 00:00:00+00' + i * INTERVAL '37 seconds', TIMESTAMP '2024-01-01' + i * INTERVAL '1 hour',
      'row ' || i FROM generate_series(1, 5000) i;
    INSERT INTO big VALUES (NULL, NULL, NULL, NULL, 'all null');`);
  const env = { SRC: pg.url };
  for (const column of ['id', 'd', 'ts', 't']) {
    const meta = await compareWithOneProcess({ table: 'big', q: 'SELECT * FROM big', part: `      column: "${column}"\n      num_partitions: 8\n`, env, expectRows: 5001 });
    // NULL keys went to shard 0
    const s0 = meta.files.filter((f) => f.shard === 0 && f.format === 'parquet').reduce((n, f) => n + f.rows, 0);
    assert.ok(s0 > 0, `${column}: shard 0 has rows`);
  }
});

test('ODBC (psqlodbc): 4 shards + commit equal a one-process extraction, by integer, date and timestamp key, incremental too', async () => {
  pg.psql(`DROP TABLE IF EXISTS ob; CREATE TABLE ob (id int8, d date, t timestamp, note text);
    INSERT INTO ob SELECT CASE WHEN i % 97 = 0 THEN NULL ELSE i END, DATE '2024-01-01' + (i % 400),
      TIMESTAMP '2024-01-01' + i * INTERVAL '1 hour 7 seconds', 'row ' || i FROM generate_series(1, 3000) i;`);
  const env = { SRC: pg.odbc };
  for (const column of ['id', 'd', 't']) {
    await compareWithOneProcess({ table: 'ob', q: 'SELECT * FROM ob', part: `      column: "${column}"\n      num_partitions: 5\n`, env, expectRows: 3000 });
  }
  await compareWithOneProcess({ table: 'ob', q: 'SELECT * FROM ob', part: '      column: "id"\n      num_partitions: 4\n', env, expectRows: 3000,
    dbKeys: '    incremental_key: "t"\n    incremental_cursor_value: "2024-01-01 00:00:00"\n' });
});

test('PostgreSQL: configured bounds, more partitions than keys and lower == upper keep every row exactly once', async () => {
  pg.psql(`DROP TABLE IF EXISTS small; CREATE TABLE small (id int4, note text);
    INSERT INTO small SELECT i, 'n' || i FROM generate_series(1, 3) i; INSERT INTO small VALUES (NULL, 'null');`);
  const env = { SRC: pg.url };
  await compareWithOneProcess({ table: 'small', q: 'SELECT * FROM small', part: '      column: "id"\n      num_partitions: 50\n', env, expectRows: 4, everyShardHasRows: false });
  // bounds narrower than the data: the open first and last ranges keep the rest
  await compareWithOneProcess({ table: 'small', q: 'SELECT * FROM small', part: '      column: "id"\n      num_partitions: 4\n      lower_bound: 2\n      upper_bound: 2\n', env, expectRows: 4, everyShardHasRows: false });
});

test('PostgreSQL incremental: shards start from one cursor, commit advances it to the typed maximum, the next run appends only new rows', async () => {
  pg.psql(`DROP TABLE IF EXISTS inc; CREATE TABLE inc (id int8, updated_at timestamptz);
    INSERT INTO inc SELECT i, TIMESTAMPTZ '2025-01-01 00:00:00+00' + i * INTERVAL '1 second' FROM generate_series(1, 1000) i;`);
  const dir = workdir('bf-so-inc-');
  try {
    const env = { SRC: pg.url };
    write(dir, 'c.yaml', cfg({ table: 'inc', q: 'SELECT * FROM inc', part: '      column: "id"\n      num_partitions: 4\n', db: '    incremental_key: "updated_at"\n' }));
    for (let i = 0; i < K; i++) ok(run(dir, ['--config', 'c.yaml', '--date', DATE, '--shard', `${i}/${K}`], { env }), `shard ${i}`);
    assert.ok(!existsSync(join(dir, '.state/pg_inc_cursor.json')), 'no shard writes the cursor');
    assert.ok(!existsSync(join(partDir(dir, 'pg', 'inc'), '_metadata.json')), 'no shard writes a marker');
    ok(run(dir, ['commit', '--config', 'c.yaml', '--date', DATE, '--shards', String(K)], { env }), 'commit');
    // the maximum is shard 3's (ids 751..1000): 1000 s after midnight
    assert.equal(readJson(join(dir, '.state/pg_inc_cursor.json')).cursor, '2025-01-01T00:16:40Z');
    const meta = readJson(join(partDir(dir, 'pg', 'inc'), '_metadata.json'));
    assert.equal(meta.new_cursor, '2025-01-01T00:16:40Z');
    // new rows in shard 0's key range only: the cursor still moves to their maximum
    pg.psql(`INSERT INTO inc SELECT i, TIMESTAMPTZ '2025-01-02 00:00:00+00' + i * INTERVAL '1 second' FROM generate_series(-9, 0) i;`);
    shardsAndCommit(dir, env);
    assert.equal(readJson(join(dir, '.state/pg_inc_cursor.json')).cursor, '2025-01-02T00:00:00Z');
    const m2 = readJson(join(partDir(dir, 'pg', 'inc'), '_metadata.json'));
    assert.deepEqual(m2.batches.map((b) => b.records), [1000, 10]);
    assert.notEqual(m2.batches[0].batch_id, m2.batches[1].batch_id, 'a new cursor gives a new batch id');
    const c = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d FROM ${pq(partDir(dir, 'pg', 'inc'))}`);
    assert.deepEqual(c[0], { n: 1010, d: 1010 });
  } finally {
    cleanup(dir);
  }
});

test('a failed shard publishes nothing; re-running that shard and the commit publishes the batch', async () => {
  pg.psql(`DROP TABLE IF EXISTS ff; CREATE TABLE ff (id int8, note text); INSERT INTO ff SELECT i, 'n' FROM generate_series(1, 2000) i;`);
  const dir = workdir('bf-so-fail-');
  try {
    const env = { SRC: pg.url };
    write(dir, 'c.yaml', cfg({ table: 'ff', q: 'SELECT * FROM ff', part: '      column: "id"\n      num_partitions: 4\n' }));
    const args = (i) => ['--config', 'c.yaml', '--date', DATE, '--shard', `${i}/${K}`];
    for (const i of [0, 1, 3]) ok(run(dir, args(i), { env }), `shard ${i}`);
    // shard 2 fails after staging its parts, before its journal
    let r = run(dir, args(2), { env: { ...env, BRONZE_FAIL: 'shard-before-journal' } });
    assert.equal(r.code, 1, r.stderr);
    // and once more with a bad connection
    r = run(dir, args(2), { env: { SRC: 'postgresql://postgres@127.0.0.1:1/none?connect_timeout=2' } });
    assert.equal(r.code, 1, r.stderr);
    r = run(dir, ['commit', '--config', 'c.yaml', '--date', DATE, '--shards', '4'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /1 of 4 shard\(s\) have no journal for partition system=pg\/table=ff\/dt=2025-01-12\/ \(shard 2\)/);
    assert.match(r.stderr, /Nothing was published/);
    assert.ok(!existsSync(join(partDir(dir, 'pg', 'ff'), '_metadata.json')), 'no marker');
    assert.deepEqual(listFiles(join(dir, 'output')), [], 'nothing in the readers\' view');
    // the other shards' journals are kept for the retry
    const area = join(dir, 'output/.bronze-tmp/shards/system=pg+table=ff+dt=2025-01-12');
    assert.deepEqual(readdirSync(area).filter((f) => f.startsWith('journal-')).sort(), ['journal-s00.json', 'journal-s01.json', 'journal-s03.json']);
    ok(run(dir, args(2), { env }), 'shard 2 again');
    ok(run(dir, ['commit', '--config', 'c.yaml', '--date', DATE], { env }), 'commit');
    const c = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d FROM ${pq(partDir(dir, 'pg', 'ff'))}`);
    assert.deepEqual(c[0], { n: 2000, d: 2000 });
    // a re-run of one shard replaces only its own parts and journal
    ok(run(dir, args(0), { env }), 'shard 0, next run');
    ok(run(dir, args(1), { env }), 'shard 1, next run');
    const before = readFileSync(join(area, 'journal-s00.json'), 'utf8');
    const staged = () => readdirSync(area, { recursive: true }).filter((f) => /part-/.test(f)).sort();
    const parts0 = staged().filter((f) => f.includes('-s00.'));
    pg.psql(`DELETE FROM ff WHERE id BETWEEN 501 AND 800`); // shard 1 now cuts fewer parts
    ok(run(dir, args(1), { env }), 'shard 1 re-run');
    assert.equal(readFileSync(join(area, 'journal-s00.json'), 'utf8'), before, 'shard 0\'s journal untouched');
    assert.deepEqual(staged().filter((f) => f.includes('-s00.')), parts0, 'shard 0\'s parts untouched');
    const j1 = readJson(join(area, 'journal-s01.json'));
    assert.equal(j1.records, 200);
    assert.deepEqual(staged().filter((f) => f.includes('-s01.')).map((f) => f.split('/').pop()).sort(), j1.files.map((f) => f.name).sort(), 'shard 1 staged exactly its new parts');
  } finally {
    cleanup(dir);
  }
});

test('commit refuses to publish while a shard is still running (its lock held)', async () => {
  pg.psql(`DROP TABLE IF EXISTS lk; CREATE TABLE lk (id int8); INSERT INTO lk SELECT i FROM generate_series(1, 100) i;`);
  const dir = workdir('bf-so-lock-');
  try {
    const env = { SRC: pg.url };
    write(dir, 'c.yaml', cfg({ table: 'lk', q: 'SELECT lk.id FROM lk, pg_sleep(4)', part: '      column: "id"\n      num_partitions: 2\n' }));
    ok(run(dir, ['--config', 'c.yaml', '--date', DATE, '--shard', '0/2'], { env }), 'shard 0');
    ok(run(dir, ['--config', 'c.yaml', '--date', DATE, '--shard', '1/2'], { env }), 'shard 1');
    // shard 1 runs again (slowly) while the commit starts
    const slow = runAsync(dir, ['--config', 'c.yaml', '--date', DATE, '--shard', '1/2'], { env });
    await new Promise((res) => setTimeout(res, 1500));
    const r = run(dir, ['commit', '--config', 'c.yaml', '--date', DATE], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /shard 1 of partition system=pg\/table=lk\/dt=2025-01-12\/ is being written by another bronze-extract process/);
    assert.ok(!existsSync(join(partDir(dir, 'pg', 'lk'), '_metadata.json')));
    ok(await slow, 'the slow shard');
    ok(run(dir, ['commit', '--config', 'c.yaml', '--date', DATE], { env }), 'commit after it');
    assert.equal(readJson(join(partDir(dir, 'pg', 'lk'), '_metadata.json')).total_records, 100);
  } finally {
    cleanup(dir);
  }
});

test('a commit killed at any step rolls forward on verify --repair (or the next commit) with every row once', async () => {
  pg.psql(`DROP TABLE IF EXISTS kk; CREATE TABLE kk (id int8, note text); INSERT INTO kk SELECT i, 'n' FROM generate_series(1, 1500) i;`);
  const env = { SRC: pg.url };
  for (const point of ['after-journal', 'after-swap', 'after-marker', 'after-cleanup']) {
    const dir = workdir('bf-so-kill-');
    try {
      write(dir, 'c.yaml', cfg({ table: 'kk', q: 'SELECT * FROM kk', part: '      column: "id"\n      num_partitions: 4\n' }));
      for (let i = 0; i < K; i++) ok(run(dir, ['--config', 'c.yaml', '--date', DATE, '--shard', `${i}/${K}`], { env }), `shard ${i}`);
      const r = run(dir, ['commit', '--config', 'c.yaml', '--date', DATE], { env: { ...env, BRONZE_FAULT: point } });
      assert.equal(r.signal, 'SIGKILL', `${point}: ${r.stderr}`);
      const mk = join(partDir(dir, 'pg', 'kk'), '_metadata.json');
      if (existsSync(mk)) {
        // a marker that exists never lies: each file it lists is there
        for (const f of readJson(mk).files) assert.ok(existsSync(join(partDir(dir, 'pg', 'kk'), f.name)), `${point}: ${f.name}`);
      }
      const v = run(dir, ['verify', '--repair', '--config', 'c.yaml'], { env });
      assert.equal(v.code, 0, `${point}: ${v.stdout}${v.stderr}`);
      const meta = readJson(mk);
      assert.equal(meta.total_records, 1500, point);
      const c = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d FROM ${pq(partDir(dir, 'pg', 'kk'))}`);
      assert.deepEqual(c[0], { n: 1500, d: 1500 }, point);
      assert.ok(!existsSync(join(dir, 'output/.bronze-tmp/shards/system=pg+table=kk+dt=2025-01-12/journal-s00.json')), `${point}: shard journals consumed`);
      // the next commit has nothing to publish, and says so
      const again = run(dir, ['commit', '--config', 'c.yaml', '--date', DATE], { env });
      assert.equal(again.code, 1, again.stderr);
      assert.match(again.stderr, /no shard journal/);
      assert.equal(readJson(mk).batch_id, meta.batch_id);
    } finally {
      cleanup(dir);
    }
  }
});

test('bad input: --shard 5/4, 0/0 and junk, a missing or text partitioning column, a journal of another date or config, a missing shard', async () => {
  pg.psql(`DROP TABLE IF EXISTS bi; CREATE TABLE bi (id int8, name text, d date); INSERT INTO bi SELECT i, 'n' || i, DATE '2025-01-01' + i FROM generate_series(1, 100) i;`);
  const dir = workdir('bf-so-bad-');
  try {
    const env = { SRC: pg.url };
    const nothing = () => assert.deepEqual(listFiles(join(dir, 'output')), [], 'nothing published');
    write(dir, 'c.yaml', cfg({ table: 'bi', q: 'SELECT * FROM bi', part: '      column: "id"\n      num_partitions: 4\n' }));
    const cases = [
      ['5/4', "bronze-extract: --shard: '5/4': shard index 5 is out of range for 4 shards (indices are 0-based: 0 to 3)"],
      ['4/4', "bronze-extract: --shard: '4/4': shard index 4 is out of range for 4 shards (indices are 0-based: 0 to 3)"],
      ['0/0', "bronze-extract: --shard: '0/0': the shard count K must be at least 1"],
      ['two/4', "bronze-extract: --shard: 'two/4' is not I/K (shard I of K, 0-based as Slurm array task ids: 0/4 .. 3/4)"],
      ['1', "bronze-extract: --shard: '1' is not I/K (shard I of K, 0-based as Slurm array task ids: 0/4 .. 3/4)"],
    ];
    for (const [arg, msg] of cases) {
      const r = run(dir, ['--config', 'c.yaml', '--date', DATE, '--shard', arg], { env });
      assert.equal(r.code, 2, arg);
      assert.equal(r.stderr.trim(), msg);
    }
    let r = run(dir, ['--config', 'c.yaml', '--date', DATE, '--shards', '4'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--shards 4 needs the shard index: --shard I\/4, or \$JOB_COMPLETION_INDEX/);
    r = run(dir, ['--config', 'c.yaml', '--date', DATE], { env: { ...env, SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\$SLURM_ARRAY_TASK_ID 4 \(min 0\) is out of range for \$SLURM_ARRAY_TASK_COUNT 4/);
    r = run(dir, ['commit', '--config', 'c.yaml'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /commit: --date is required/);
    nothing();
    // the partitioning column: missing, text
    write(dir, 'missing.yaml', cfg({ table: 'bi', q: 'SELECT * FROM bi', part: '      column: "nope"\n      num_partitions: 4\n' }));
    r = run(dir, ['--config', 'missing.yaml', '--date', DATE, '--shard', '0/4'], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /missing\.yaml: source\.db\.partitioning\.column: column 'nope' is not among the query's columns/);
    write(dir, 'text.yaml', cfg({ table: 'bi', q: 'SELECT * FROM bi', part: '      column: "name"\n      num_partitions: 4\n' }));
    r = run(dir, ['--config', 'text.yaml', '--date', DATE, '--shard', '1/4'], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /text\.yaml: source\.db\.partitioning\.column: column 'name' is STRING; partition on an integer, date or timestamp column/);
    r = run(dir, ['--config', 'text.yaml', '--date', DATE], { env });
    assert.equal(r.code, 2, 'a whole run checks the column too');
    // bounds that do not read as the column's type
    write(dir, 'bound.yaml', cfg({ table: 'bi', q: 'SELECT * FROM bi', part: '      column: "d"\n      num_partitions: 4\n      lower_bound: "soon"\n' }));
    r = run(dir, ['--config', 'bound.yaml', '--date', DATE, '--shard', '0/4'], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /bound\.yaml: source\.db\.partitioning\.lower_bound: 'soon' is not a date \(YYYY-MM-DD\), the type of column 'd'/);
    // a config that cannot be sharded
    write(dir, 'plain.yaml', cfg({ table: 'bi', q: 'SELECT * FROM bi' }));
    r = run(dir, ['--config', 'plain.yaml', '--date', DATE, '--shard', '0/4'], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /plain\.yaml: --shard needs source\.db\.partitioning/);
    nothing();
    // a missing shard
    for (const i of [0, 1, 2]) ok(run(dir, ['--config', 'c.yaml', '--date', DATE, '--shard', `${i}/4`], { env }), `shard ${i}`);
    r = run(dir, ['commit', '--config', 'c.yaml', '--date', DATE], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /1 of 4 shard\(s\) have no journal .*\(shard 3\)/);
    nothing();
    // a commit that expects another shard count
    r = run(dir, ['commit', '--config', 'c.yaml', '--date', DATE, '--shards', '3'], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the journal of shard 0 was written by a run of 4 shards, this commit expects 3/);
    nothing();
    // commit for another date: no journal there
    r = run(dir, ['commit', '--config', 'c.yaml', '--date', '2025-01-13'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no shard journal for .*dt=2025-01-13\/ \(--date 2025-01-13\)/);
    // a journal written by another config (the same table, an edited file)
    ok(run(dir, ['--config', 'c.yaml', '--date', DATE, '--shard', '3/4'], { env }), 'shard 3');
    writeFileSync(join(dir, 'c.yaml'), readFileSync(join(dir, 'c.yaml'), 'utf8') + '# edited\n');
    r = run(dir, ['commit', '--config', 'c.yaml', '--date', DATE], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /c\.yaml: the journal of shard 0 has config sha256 '[0-9a-f]{64}', this commit '[0-9a-f]{64}': it was written with another config/);
    nothing();
    // a journal of another date, where the partition has no dt= level
    const nodt = '    local_path: "./output"\n    partitioning:\n      use_dt_partition: false';
    write(dir, 'nodt.yaml', cfg({ table: 'nodt', q: 'SELECT * FROM bi', part: '      column: "id"\n      num_partitions: 2\n', platform: nodt }));
    for (const i of [0, 1]) ok(run(dir, ['--config', 'nodt.yaml', '--date', '2025-01-11', '--shard', `${i}/2`], { env }), `nodt shard ${i}`);
    r = run(dir, ['commit', '--config', 'nodt.yaml', '--date', DATE], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /nodt\.yaml: the journal of shard 0 has run date '2025-01-11', this commit '2025-01-12': give commit the --date the shards ran with/);
    nothing();
    ok(run(dir, ['commit', '--config', 'nodt.yaml', '--date', '2025-01-11'], { env }), 'the right date commits');
    assert.equal(readJson(join(dir, 'output/system=pg/table=nodt/_metadata.json')).total_records, 100);
  } finally {
    cleanup(dir);
  }
});

test('parallel_workers reads the key ranges over that many connections into one batch, alone or inside a shard', async () => {
  pg.psql(`DROP TABLE IF EXISTS pw; CREATE TABLE pw (id int8, updated_at timestamptz, note text);
    INSERT INTO pw SELECT CASE WHEN i % 89 = 0 THEN NULL ELSE i END, TIMESTAMPTZ '2025-01-01 00:00:00+00' + ((i * 7919) % 4000) * INTERVAL '1 second',
      repeat('x', i % 50) FROM generate_series(1, 4000) i;`);
  const env = { SRC: pg.url };
  const part = '      column: "id"\n      num_partitions: 6\n';
  const inc = '    incremental_key: "updated_at"\n';
  const one = workdir('bf-so-pw1-'), par = workdir('bf-so-pw-'), sh = workdir('bf-so-pws-');
  try {
    write(one, 'c.yaml', cfg({ table: 'pw', q: 'SELECT * FROM pw', part, db: inc }));
    write(par, 'c.yaml', cfg({ table: 'pw', q: 'SELECT * FROM pw', part, db: inc, runKeys: '    parallel_workers: 3\n' }));
    write(sh, 'c.yaml', cfg({ table: 'pw', q: 'SELECT * FROM pw', part, db: inc, runKeys: '    parallel_workers: 3\n' }));
    ok(run(one, ['--config', 'c.yaml', '--date', DATE], { env }), 'one connection');
    const r = run(par, ['--config', 'c.yaml', '--date', DATE], { env });
    ok(r, 'three connections');
    assert.match(r.stderr, /Reading pg\.pw over 3 connections/);
    // two shards of three connections each (each shard has 3 of the 6 ranges)
    for (const i of [0, 1]) {
      const rs = run(sh, ['--config', 'c.yaml', '--date', DATE, '--shard', `${i}/2`], { env });
      ok(rs, `shard ${i}`);
      assert.match(rs.stderr, /over 3 connections/);
    }
    ok(run(sh, ['commit', '--config', 'c.yaml', '--date', DATE], { env }), 'commit');
    const want = await rowsOf(partDir(one, 'pg', 'pw'));
    assert.equal(want.length, 4000);
    assert.deepEqual(await rowsOf(partDir(par, 'pg', 'pw')), want);
    assert.deepEqual(await rowsOf(partDir(sh, 'pg', 'pw')), want);
    // the cursor is the maximum over every connection
    for (const d of [one, par, sh]) assert.equal(readJson(join(d, '.state/pg_pw_cursor.json')).cursor, '2025-01-01T01:06:39Z');
  } finally {
    cleanup(one);
    cleanup(par);
    cleanup(sh);
  }
});

// ---------------------------------------------------------------- SQLite

test('SQLite: 4 shards + commit equal a one-process extraction, by integer and by text-stored datetime', async () => {
  const dir = workdir('bf-so-sq-');
  try {
    sqlite(join(dir, 'src.db'), `CREATE TABLE ev (id INTEGER, at DATETIME, note TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 3000)
INSERT INTO ev SELECT CASE WHEN i % 101 = 0 THEN NULL ELSE i END,
  CASE i % 3 WHEN 0 THEN datetime('2025-01-01', '+' || i || ' minutes') WHEN 1 THEN strftime('%Y-%m-%dT%H:%M:%S', '2025-01-01', '+' || i || ' minutes')
  ELSE NULL END, 'n' || i FROM s;`);
    const env = { SRC: `sqlite:${join(dir, 'src.db')}` };
    for (const column of ['id', 'at']) {
      await compareWithOneProcess({ table: 'ev', q: 'SELECT * FROM ev', part: `      column: "${column}"\n      num_partitions: 6\n`, env, system: 'sq', expectRows: 3000 });
    }
    // an expression column that is NULL in every row of the first shards: every shard still
    // types it from the whole query, so the batch has one schema
    const meta = await compareWithOneProcess({ table: 'ev', q: "SELECT id, CASE WHEN id > 2500 THEN 'late' END AS tag FROM ev", part: '      column: "id"\n      num_partitions: 4\n', env, system: 'sq', expectRows: 3000 });
    assert.deepEqual(meta.schema.map((c) => [c.name, c.type]), [['id', 'INT64'], ['tag', 'STRING']]);
  } finally {
    cleanup(dir);
  }
});

test('a file glob shards by file; shards whose sniffed types differ fail the commit clearly, nothing published', async () => {
  const a = workdir('bf-so-f-'), b = workdir('bf-so-f1-');
  try {
    const fcfg = `platform:\n  bronze:\n    local_path: "./output"\nsource:\n  type: "file"\n  system: "f"\n  table: "g"\n  file:\n    path: "in/*.csv"\n  run:\n    write_csv: false\n`;
    for (const d of [a, b]) {
      write(d, 'c.yaml', fcfg);
    }
    for (const d of [a, b]) {
      mkdirSync(join(d, 'in'), { recursive: true });
      for (let i = 1; i <= 7; i++) {
        const rows = Array.from({ length: 50 }, (_, k) => `${i * 1000 + k},n${k},${k % 2 ? 'true' : 'false'}`).join('\n');
        writeFileSync(join(d, 'in', `f${i}.csv`), `id,name,flag\n${rows}\n`);
      }
    }
    for (let i = 0; i < 3; i++) ok(run(a, ['--config', 'c.yaml', '--date', DATE, '--shard', `${i}/3`]), `file shard ${i}`);
    ok(run(a, ['commit', '--config', 'c.yaml', '--date', DATE]), 'commit');
    ok(run(b, ['--config', 'c.yaml', '--date', DATE]), 'one process');
    const ra = await rowsOf(partDir(a, 'f', 'g')), rb = await rowsOf(partDir(b, 'f', 'g'));
    assert.equal(ra.length, 350);
    assert.deepEqual(ra, rb);
    const meta = readJson(join(partDir(a, 'f', 'g'), '_metadata.json'));
    assert.deepEqual(meta.files.map((f) => [f.shard, f.rows]), [[0, 150], [1, 100], [2, 100]]);
    // more shards than files
    let r = run(a, ['--config', 'c.yaml', '--date', DATE, '--shard', '0/8']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /c\.yaml: source\.file\.path: the glob matches 7 file\(s\); a shard reads whole files, so run at most 7 shards \(not 8\)/);
    // a file whose 'flag' column is text: shard 1 sniffs STRING, the others BOOLEAN
    writeFileSync(join(a, 'in', 'f2.csv'), 'id,name,flag\n1,x,maybe\n');
    for (let i = 0; i < 3; i++) ok(run(a, ['--config', 'c.yaml', '--date', '2025-01-13', '--shard', `${i}/3`]), `file shard ${i}`);
    r = run(a, ['commit', '--config', 'c.yaml', '--date', '2025-01-13']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /c\.yaml: column 'flag' is STRING in shard 1 but BOOLEAN in an earlier shard; one batch has one schema/);
    assert.ok(!existsSync(partDir(a, 'f', 'g', '2025-01-13')), 'nothing published');
  } finally {
    cleanup(a);
    cleanup(b);
  }
});

// ---------------------------------------------------------------- S3

test('S3: 4 shards + commit publish one batch in the bucket; a failed shard leaves no marker until it is re-run', { timeout: 240000 }, async () => {
  const s3 = await startS3({});
  const dir = workdir('bf-so-s3-'), one = workdir('bf-so-s31-');
  try {
    sqlite(join(dir, 'src.db'), `CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 2500) INSERT INTO orders SELECT i, 'row ' || i FROM s;`);
    const env = { SRC: `sqlite:${join(dir, 'src.db')}`, ...s3.configEnv };
    const y = cfg({ table: 'orders', system: 'shop', q: 'SELECT * FROM orders', part: '      column: "id"\n      num_partitions: 4\n',
      platform: `    local_path: "./output"\n${s3Platform({ bucket: s3.bucket, prefix: 'bronze' })}`, runKeys: '    s3_enabled: true\n' });
    write(dir, 'c.yaml', y);
    write(one, 'c.yaml', y.replace('prefix: "bronze"', 'prefix: "one"').replace('s3_prefix: "bronze"', 's3_prefix: "one"'));
    const P = `bronze/system=shop/table=orders/dt=${DATE}/`;
    const args = (i) => ['--config', 'c.yaml', '--date', DATE, '--shard', `${i}/${K}`];
    for (const i of [0, 1, 2]) ok(await runAsync(dir, args(i), { env }), `shard ${i}`);
    let r = await runAsync(dir, args(3), { env: { ...env, BRONZE_FAIL: 'shard-before-journal' } });
    assert.equal(r.code, 1, r.stderr);
    r = await runAsync(dir, ['commit', '--config', 'c.yaml', '--date', DATE], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /\(shard 3\)/);
    assert.deepEqual(await s3.list(P), [], 'nothing in the partition');
    ok(await runAsync(dir, args(3), { env }), 'shard 3 again');
    ok(await runAsync(dir, ['commit', '--config', 'c.yaml', '--date', DATE], { env }), 'commit');
    ok(await runAsync(one, ['--config', 'c.yaml', '--date', DATE], { env }), 'one process');
    const meta = JSON.parse((await s3.getBytes(`${P}_metadata.json`)).toString());
    assert.equal(meta.total_records, 2500);
    assert.equal(meta.shards, 4);
    const keys = (await s3.list(P)).map((o) => o.key.slice(P.length)).sort();
    assert.deepEqual(keys, ['_metadata.json', ...meta.files.map((f) => f.name)].sort());
    for (const f of meta.files) assert.equal(await s3.sha256(`${P}${f.name}`), f.sha256, f.name);
    // the same rows as the one-process batch
    const dl = (prefix, m) => Promise.all(m.files.filter((f) => f.format === 'parquet').map(async (f) => {
      const d = mkdtempSync(join(dir, 'dl-'));
      writeFileSync(join(d, f.name), await s3.getBytes(`${prefix}${f.name}`));
      return join(d, f.name);
    }));
    const P1 = `one/system=shop/table=orders/dt=${DATE}/`;
    const meta1 = JSON.parse((await s3.getBytes(`${P1}_metadata.json`)).toString());
    const fa = await dl(P, meta), fb = await dl(P1, meta1);
    const ra = await query(`SELECT id::BIGINT id, note FROM read_parquet([${fa.map((f) => `'${f}'`).join(',')}]) ORDER BY id`);
    const rb = await query(`SELECT id::BIGINT id, note FROM read_parquet([${fb.map((f) => `'${f}'`).join(',')}]) ORDER BY id`);
    assert.equal(ra.length, 2500);
    assert.deepEqual(ra, rb);
    // nothing waits in the bucket's temp area
    assert.deepEqual((await s3.list('bronze/.bronze-tmp/')).map((o) => o.key), []);
    const v = await runAsync(dir, ['verify', '--config', 'c.yaml'], { env });
    assert.equal(v.code, 0, v.stdout + v.stderr);
  } finally {
    await s3.stop();
    cleanup(dir);
    cleanup(one);
  }
});

test('S3: a commit killed mid-publish rolls forward on verify --repair; every row once, nothing left waiting', { timeout: 240000 }, async () => {
  const s3 = await startS3({});
  const dir = workdir('bf-so-s3k-');
  try {
    sqlite(join(dir, 'src.db'), `CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 1200) INSERT INTO orders SELECT i, 'row ' || i FROM s;`);
    const env = { SRC: `sqlite:${join(dir, 'src.db')}`, ...s3.configEnv };
    write(dir, 'c.yaml', cfg({ table: 'orders', system: 'shop', q: 'SELECT * FROM orders', part: '      column: "id"\n      num_partitions: 4\n',
      platform: `    local_path: "./output"\n${s3Platform({ bucket: s3.bucket, prefix: 'bronze' })}`, runKeys: '    s3_enabled: true\n' }));
    for (const [n, point] of [['2025-01-12', 'after-first-publish'], ['2025-01-13', 'after-cleanup']]) {
      const P = `bronze/system=shop/table=orders/dt=${n}/`;
      for (let i = 0; i < K; i++) ok(await runAsync(dir, ['--config', 'c.yaml', '--date', n, '--shard', `${i}/${K}`], { env }), `shard ${i}`);
      const r = await runAsync(dir, ['commit', '--config', 'c.yaml', '--date', n], { env: { ...env, BRONZE_FAULT: point } });
      assert.equal(r.signal, 'SIGKILL', `${point}: ${r.stderr}`);
      const v = await runAsync(dir, ['verify', '--repair', '--config', 'c.yaml'], { env });
      assert.equal(v.code, 0, `${point}: ${v.stdout}${v.stderr}`);
      const meta = JSON.parse((await s3.getBytes(`${P}_metadata.json`)).toString());
      assert.equal(meta.total_records, 1200, point);
      const keys = (await s3.list(P)).map((o) => o.key.slice(P.length)).sort();
      assert.deepEqual(keys, ['_metadata.json', ...meta.files.map((f) => f.name)].sort(), point);
      assert.equal(meta.files.filter((f) => f.format === 'parquet').reduce((a, f) => a + f.rows, 0), 1200, point);
      assert.deepEqual((await s3.list('bronze/.bronze-tmp/')).map((o) => o.key), [], `${point}: journals and staging gone`);
    }
  } finally {
    await s3.stop();
    cleanup(dir);
  }
});
