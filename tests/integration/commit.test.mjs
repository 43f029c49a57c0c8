// Commit guarantees (SPEC §6.3-6.6): markers never lie, re-runs replace or
// append, a crash at any point never leaves a marker listing a missing or
// changed file, and the cursor moves exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, start, workdir, write, sqlite, dbConfig, listFiles, sha256, size, readJson, query, cleanup, BIN_RELEASE } from './lib/harness.mjs';

const ENV = { TEST_DB: 'sqlite:shop.db' };
const P = 'output/system=shop/table=orders/dt=2025-01-12';

function table(dir, n) {
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT, updated_at TIMESTAMP);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < ${n})
INSERT INTO orders SELECT i, printf('row %d %s', i, hex(randomblob(20))), datetime('2025-01-01', '+' || i || ' seconds') FROM s;`);
}

/** Every file a marker lists exists with its size and hash. */
function assertMarkerHonest(dir) {
  const mp = join(dir, P, '_metadata.json');
  if (!existsSync(mp)) return false;
  const meta = readJson(mp);
  for (const f of meta.files) {
    const fp = join(dir, P, f.name);
    assert.ok(existsSync(fp), `marker lists missing ${f.name}`);
    assert.equal(size(fp), f.bytes, `size of ${f.name}`);
    assert.equal(sha256(fp), f.sha256, `hash of ${f.name}`);
  }
  return true;
}

test('SIGKILL at any moment of a full-load re-run never leaves a lying marker', async () => {
  const dir = workdir();
  table(dir, 300000);
  write(dir, 'c.yaml', dbConfig({ run: '    max_rows_per_file: 20000' }));
  const args = ['--config', 'c.yaml', '--date', '2025-01-12'];
  assert.equal(run(dir, args, { env: ENV, bin: BIN_RELEASE }).code, 0);
  sqlite(join(dir, 'shop.db'), 'DELETE FROM orders WHERE id > 150000; UPDATE orders SET note = note || \'x\';');
  let killedWithMarker = 0, killedWithout = 0;
  for (let i = 0; i < 12; i++) {
    const child = start(dir, args, { env: ENV, bin: BIN_RELEASE });
    const exited = new Promise((r) => child.on('exit', r));
    const delay = 20 + i * 45;
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGKILL');
    await exited;
    if (assertMarkerHonest(dir)) killedWithMarker++; else killedWithout++;
  }
  // A clean run after the crashes leaves exactly one run's files.
  const r = run(dir, args, { env: ENV, bin: BIN_RELEASE });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(assertMarkerHonest(dir));
  const meta = readJson(join(dir, P, '_metadata.json'));
  assert.equal(meta.total_records, 150000);
  assert.deepEqual(listFiles(join(dir, P)), ['_metadata.json', ...meta.files.map((f) => f.name)].sort());
  assert.ok(killedWithMarker + killedWithout === 12);
  // The killed runs' staging folders were swept by the clean run (only lock files stay).
  assert.deepEqual(readdirSync(join(dir, 'output/.bronze-tmp')).filter((n) => !n.endsWith('.lock')), []);
  cleanup(dir);
});

for (const point of ['before-commit', 'after-parts']) {
  test(`a crash at ${point} of a full-load re-run leaves no lying marker; the next run is clean`, () => {
    const dir = workdir();
    table(dir, 5000);
    write(dir, 'c.yaml', dbConfig({ run: '    max_rows_per_file: 1000' }));
    const args = ['--config', 'c.yaml', '--date', '2025-01-12'];
    assert.equal(run(dir, args, { env: ENV }).code, 0);
    sqlite(join(dir, 'shop.db'), 'DELETE FROM orders WHERE id > 2500;');
    const r = run(dir, args, { env: { ...ENV, BRONZE_FAULT: point } });
    assert.equal(r.signal, 'SIGKILL');
    if (point === 'before-commit') {
      // nothing changed yet: the old batch is intact
      assert.ok(assertMarkerHonest(dir));
      assert.equal(readJson(join(dir, P, '_metadata.json')).total_records, 5000);
    } else {
      // old marker went first: the partition reads as incomplete
      assert.ok(!existsSync(join(dir, P, '_metadata.json')));
    }
    assert.equal(run(dir, args, { env: ENV }).code, 0);
    assert.ok(assertMarkerHonest(dir));
    assert.deepEqual(listFiles(join(dir, P)), ['_metadata.json', 'part-0001.csv', 'part-0001.parquet',
      'part-0002.csv', 'part-0002.parquet', 'part-0003.csv', 'part-0003.parquet']);
    cleanup(dir);
  });
}

const INCR = (extra = '') => dbConfig({ query: 'SELECT * FROM orders', db: `    incremental_key: "updated_at"\n${extra}` });

test('incremental: run, insert, run on another day reads exactly the new rows', async () => {
  const dir = workdir();
  table(dir, 100);
  write(dir, 'c.yaml', INCR());
  let r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const state = readJson(join(dir, '.state/shop_orders_cursor.json'));
  assert.equal(state.cursor, '2025-01-01 00:01:40');
  assert.equal(state.last_run, '2025-01-12');
  sqlite(join(dir, 'shop.db'), "INSERT INTO orders VALUES (101, 'new', '2025-01-02 00:00:00'), (102, 'new', '2025-01-02 00:00:01');");
  r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-13'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const meta = readJson(join(dir, 'output/system=shop/table=orders/dt=2025-01-13/_metadata.json'));
  assert.equal(meta.total_records, 2);
  assert.equal(meta.new_cursor, '2025-01-02 00:00:01');
  const ids = await query(`SELECT id FROM '${dir}/output/system=shop/table=orders/dt=2025-01-13/*.parquet' ORDER BY id`);
  assert.deepEqual(ids.map((x) => Number(x.id)), [101, 102]);
  cleanup(dir);
});

test('incremental: a second run the same day appends; nothing lost, nothing repeated', async () => {
  const dir = workdir();
  table(dir, 100);
  write(dir, 'c.yaml', INCR());
  assert.equal(run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV }).code, 0);
  sqlite(join(dir, 'shop.db'), "INSERT INTO orders VALUES (101, 'new', '2025-01-02 00:00:00');");
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const meta = readJson(join(dir, P, '_metadata.json'));
  assert.equal(meta.total_records, 101);
  assert.equal(meta.num_files, 4);
  assert.deepEqual(meta.files.map((f) => f.name), ['part-0001.csv', 'part-0001.parquet', 'part-0002.csv', 'part-0002.parquet']);
  assert.equal(meta.batches.length, 2);
  assert.deepEqual(meta.batches.map((b) => b.records), [100, 1]);
  assert.equal(meta.new_cursor, '2025-01-02 00:00:00');
  const n = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d FROM '${dir}/${P}/*.parquet'`);
  assert.deepEqual(n[0], { n: 101, d: 101 });
  // A run with nothing new still commits and carries the cursor forward.
  const r3 = run(dir, ['--config', 'c.yaml', '--date', '2025-01-14'], { env: ENV });
  assert.equal(r3.code, 0, r3.stderr);
  const m3 = readJson(join(dir, 'output/system=shop/table=orders/dt=2025-01-14/_metadata.json'));
  assert.equal(m3.total_records, 0);
  assert.equal(m3.new_cursor, '2025-01-02 00:00:00');
  cleanup(dir);
});

test('incremental: a failed run leaves the cursor unchanged and the next run re-reads the rows', () => {
  const dir = workdir();
  table(dir, 50);
  write(dir, 'c.yaml', INCR());
  assert.equal(run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV }).code, 0);
  const before = readFileSync(join(dir, '.state/shop_orders_cursor.json'), 'utf8');
  sqlite(join(dir, 'shop.db'), "INSERT INTO orders VALUES (51, 'a', '2025-02-01 00:00:00'); INSERT INTO orders VALUES (52, 'b', '2025-02-02 00:00:00');");
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-13'], { env: { ...ENV, BRONZE_FAULT: 'before-commit' } });
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(readFileSync(join(dir, '.state/shop_orders_cursor.json'), 'utf8'), before);
  assert.ok(!existsSync(join(dir, 'output/system=shop/table=orders/dt=2025-01-13/_metadata.json')));
  const r2 = run(dir, ['--config', 'c.yaml', '--date', '2025-01-13'], { env: ENV });
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(readJson(join(dir, 'output/system=shop/table=orders/dt=2025-01-13/_metadata.json')).total_records, 2);
  cleanup(dir);
});

test('incremental: SIGKILL between marker and state write duplicates nothing', async () => {
  const dir = workdir();
  table(dir, 50);
  write(dir, 'c.yaml', INCR());
  assert.equal(run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV }).code, 0);
  sqlite(join(dir, 'shop.db'), "INSERT INTO orders VALUES (51, 'a', '2025-02-01 00:00:00');");
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { ...ENV, BRONZE_FAULT: 'after-marker' } });
  assert.equal(r.signal, 'SIGKILL');
  const st = readJson(join(dir, '.state/shop_orders_cursor.json'));
  assert.equal(st.pending.new_cursor, '2025-02-01 00:00:00');
  const r2 = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /Adopting committed batch/);
  const n = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d FROM '${dir}/${P}/*.parquet'`);
  assert.deepEqual(n[0], { n: 51, d: 51 });
  const st2 = readJson(join(dir, '.state/shop_orders_cursor.json'));
  assert.equal(st2.cursor, '2025-02-01 00:00:00');
  assert.equal(st2.pending, undefined);
  cleanup(dir);
});

test('incremental: a 1.0 state file is resumed; env and cursor_value override it', async () => {
  const dir = workdir();
  table(dir, 10);
  mkdirSync(join(dir, '.state'));
  writeFileSync(join(dir, '.state/shop_orders_cursor.json'), JSON.stringify({ cursor: '2025-01-01 00:00:07', last_run: '2025-01-11' }));
  write(dir, 'c.yaml', INCR('    incremental_cursor_env: "ORDERS_CURSOR"'));
  let r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readJson(join(dir, P, '_metadata.json')).total_records, 3);
  r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-13'], { env: { ...ENV, ORDERS_CURSOR: '2025-01-01 00:00:04' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readJson(join(dir, 'output/system=shop/table=orders/dt=2025-01-13/_metadata.json')).total_records, 6);
  write(dir, 'c2.yaml', INCR('    incremental_cursor_value: "2025-01-01 00:00:08"').replace('table: "orders"', 'table: "orders"'));
  r = run(dir, ['--config', 'c2.yaml', '--date', '2025-01-14'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readJson(join(dir, 'output/system=shop/table=orders/dt=2025-01-14/_metadata.json')).total_records, 2);
  cleanup(dir);
});

test('a cursor holding SQL is never pasted (on a TIMESTAMP column it does not read as one: exit 1)', () => {
  // issue #13 item 2: a cursor is read as the column's type; a text column's
  // bound cursor is tested in fidelity_db.test.mjs
  const dir = workdir();
  table(dir, 5);
  write(dir, 'c.yaml', INCR('    incremental_cursor_value: "\'; DROP TABLE orders; --"'));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /does not read as TIMESTAMP/);
  sqlite(join(dir, 'shop.db'), 'SELECT count(*) FROM orders;');
  cleanup(dir);
});

test('a second process on the same partition fails at once', async () => {
  const dir = workdir();
  table(dir, 400000);
  write(dir, 'c.yaml', dbConfig({}));
  const args = ['--config', 'c.yaml', '--date', '2025-01-12'];
  const first = start(dir, args, { env: ENV, bin: BIN_RELEASE });
  const exited = new Promise((r) => first.on('exit', r));
  await new Promise((r) => setTimeout(r, 150));
  const second = run(dir, args, { env: ENV, bin: BIN_RELEASE });
  const code = await exited;
  assert.equal(code, 0);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /being written by another bronze-extract process/);
  assert.ok(assertMarkerHonest(dir));
  cleanup(dir);
});

test('SIGTERM stops a run cleanly: nothing committed, staging removed, exit 1', async () => {
  const dir = workdir();
  table(dir, 2000000); // a run of about two seconds
  write(dir, 'c.yaml', dbConfig({ run: '    max_rows_per_file: 20000' }));
  const child = start(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV, bin: BIN_RELEASE });
  let stderr = '';
  const started = new Promise((r) => child.stderr.on('data', (d) => {
    stderr += d;
    if (/Starting extraction/.test(stderr)) r();
  }));
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  await started;
  await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 1, stderr);
  assert.match(stderr, /interrupted by signal 15/);
  assert.deepEqual(listFiles(join(dir, 'output')), []);
  assert.deepEqual(readdirSync(join(dir, 'output/.bronze-tmp')).filter((n) => !n.endsWith('.lock')), []);
  cleanup(dir);
});
