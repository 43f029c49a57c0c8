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

/** Every file under dir, recursively, dot-folders included. */
function allFiles(dir) {
  const out = [];
  const walk = (d, rel) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** The partition holds exactly the files its marker lists (plus the marker). */
function assertExactlyMarked(dir) {
  const meta = readJson(join(dir, P, '_metadata.json'));
  assert.deepEqual(listFiles(join(dir, P)), ['_metadata.json', ...meta.files.map((f) => f.name)].sort());
  return meta;
}

test('SIGKILL at 30+ moments of a full-load re-run: always the old batch or the new, whole', async () => {
  const dir = workdir();
  table(dir, 300000);
  write(dir, 'c.yaml', dbConfig({ run: '    max_rows_per_file: 20000' }));
  const args = ['--config', 'c.yaml', '--date', '2025-01-12'];
  assert.equal(run(dir, args, { env: ENV, bin: BIN_RELEASE }).code, 0);
  sqlite(join(dir, 'shop.db'), 'DELETE FROM orders WHERE id > 150000; UPDATE orders SET note = note || \'x\';');
  // How long a clean re-run takes, so the kills spread over all of it.
  const t0 = performance.now();
  const probe = join(dir, 'probe');
  mkdirSync(probe);
  for (const f of ['c.yaml', 'shop.db']) writeFileSync(join(probe, f), readFileSync(join(dir, f)));
  assert.equal(run(probe, args, { env: ENV, bin: BIN_RELEASE }).code, 0);
  const span = Math.max(200, performance.now() - t0);
  const seen = { old: 0, new: 0 };
  const kills = 32;
  for (let i = 0; i < kills; i++) {
    const child = start(dir, args, { env: ENV, bin: BIN_RELEASE });
    const exited = new Promise((r) => child.on('exit', r));
    await new Promise((r) => setTimeout(r, Math.round((span * 1.1 * i) / kills)));
    child.kill('SIGKILL');
    await exited;
    // The folder swap means a reader always finds a marker that tells the truth.
    assert.ok(assertMarkerHonest(dir), `kill ${i}: no marker`);
    const meta = assertExactlyMarked(dir);
    assert.ok([300000, 150000].includes(meta.total_records), `kill ${i}: ${meta.total_records} rows`);
    seen[meta.total_records === 300000 ? 'old' : 'new']++;
  }
  // A clean run after the crashes leaves exactly one run's files.
  const r = run(dir, args, { env: ENV, bin: BIN_RELEASE });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(assertMarkerHonest(dir));
  assert.equal(assertExactlyMarked(dir).total_records, 150000);
  assert.ok(seen.old > 0, 'some kills came before the commit');
  // Staging, journals and locks of the killed runs are all gone.
  assert.deepEqual(allFiles(join(dir, 'output/.bronze-tmp')), []);
  cleanup(dir);
});

// Commit steps in order; the journal is durable from after-journal on.
// Local full loads exchange the folder (swap); with the exchange disabled
// (as on a file system without RENAME_EXCHANGE) the marker protocol runs.
const SWAP_POINTS = ['before-commit', 'stage-first-part', 'after-stage', 'after-journal', 'after-swap', 'after-marker', 'after-journal-removed'];
const MARKER_POINTS = ['before-commit', 'stage-first-part', 'after-stage', 'after-journal', 'after-old-marker', 'after-first-publish', 'after-parts', 'after-stale', 'after-marker', 'after-journal-removed'];
const JOURNALED = new Set(['after-journal', 'after-swap', 'after-old-marker', 'after-first-publish', 'after-parts', 'after-stale', 'after-marker', 'after-journal-removed']);

for (const [proto, points] of [['swap', SWAP_POINTS], ['marker', MARKER_POINTS]]) {
  for (const point of points) {
    for (const how of ['BRONZE_FAULT', 'BRONZE_FAIL']) {
      test(`${proto} protocol, ${how === 'BRONZE_FAULT' ? 'killed' : 'failing'} at ${point}: the old batch survives or the journal completes it`, () => {
        const dir = workdir();
        table(dir, 5000);
        write(dir, 'c.yaml', dbConfig({ run: '    max_rows_per_file: 1000' }));
        const args = ['--config', 'c.yaml', '--date', '2025-01-12'];
        const base = proto === 'marker' ? { ...ENV, BRONZE_TEST_NO_RENAME_EXCHANGE: '1' } : ENV;
        assert.equal(run(dir, args, { env: base }).code, 0);
        write(dir, join(P, 'README.txt'), 'not a part\n');
        const before = readJson(join(dir, P, '_metadata.json'));
        sqlite(join(dir, 'shop.db'), 'DELETE FROM orders WHERE id > 2500;');
        const r = run(dir, args, { env: { ...base, [how]: point } });
        if (how === 'BRONZE_FAULT') assert.equal(r.signal, 'SIGKILL', r.stderr);
        else assert.equal(r.code, 1, r.stderr);
        const journal = join(dir, 'output/.bronze-tmp/journals/system=shop+table=orders+dt=2025-01-12.json');
        const journaled = JOURNALED.has(point);
        if (!journaled) {
          // nothing visible changed: the old batch is intact, and a failure cleaned its staging
          assert.ok(assertMarkerHonest(dir));
          assert.deepEqual(readJson(join(dir, P, '_metadata.json')), before);
          assert.ok(!existsSync(journal));
          if (how === 'BRONZE_FAIL') assert.deepEqual(allFiles(join(dir, 'output/.bronze-tmp')), []);
        } else if (point !== 'after-journal-removed') {
          // the journal is complete: whatever a reader finds does not lie
          assert.ok(existsSync(journal), 'journal kept for the next run');
          if (existsSync(join(dir, P, '_metadata.json'))) assert.ok(assertMarkerHonest(dir));
          if (how === 'BRONZE_FAIL') assert.match(r.stderr, /verify --repair/);
        }
        // what a kill inside a one-step write leaves: the writer's private temporaries
        writeFileSync(join(dir, P, '_metadata.json.tmp-99999'), '{"half": ');
        mkdirSync(join(dir, 'output/.bronze-tmp/journals'), { recursive: true });
        writeFileSync(`${journal}.tmp-99999`, '{"half": ');
        const next = run(dir, args, { env: base });
        assert.equal(next.code, 0, next.stderr);
        if (journaled && point !== 'after-journal-removed') assert.match(next.stderr, /Completing the commit of batch/);
        assert.ok(assertMarkerHonest(dir));
        assert.deepEqual(listFiles(join(dir, P)), ['README.txt', '_metadata.json', 'part-0001.csv', 'part-0001.parquet',
          'part-0002.csv', 'part-0002.parquet', 'part-0003.csv', 'part-0003.parquet']);
        assert.equal(readJson(join(dir, P, '_metadata.json')).total_records, 2500);
        assert.equal(readFileSync(join(dir, P, 'README.txt'), 'utf8'), 'not a part\n');
        assert.deepEqual(allFiles(join(dir, 'output/.bronze-tmp')), []);
        cleanup(dir);
      });
    }
  }
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

test('--dry-run changes nothing: no state rewrite, no lock, no staging sweep, no folders', () => {
  const dir = workdir();
  table(dir, 20);
  write(dir, 'c.yaml', INCR());
  mkdirSync(join(dir, '.state'));
  // a pending batch that a real run would drop (and rewrite the state for)
  const state = JSON.stringify({ cursor: '2025-01-01 00:00:05', last_run: '2025-01-11', pending: { partition_path: 'system=shop/table=orders/dt=2025-01-11/', batch_id: 'gone', new_cursor: 'x' } });
  writeFileSync(join(dir, '.state/shop_orders_cursor.json'), state);
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12', '--dry-run'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(dir, '.state/shop_orders_cursor.json'), 'utf8'), state);
  assert.deepEqual(readdirSync(join(dir, '.state')), ['shop_orders_cursor.json']);
  assert.ok(!existsSync(join(dir, 'output')), 'the dry run created the output root');
  // with an existing root and a dead run's staging, both stay as they are
  mkdirSync(join(dir, 'output/.bronze-tmp/shop+orders+999999999+deadbeef'), { recursive: true });
  const r2 = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12', '--dry-run'], { env: ENV });
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(allFiles(join(dir, 'output')), []);
  assert.deepEqual(readdirSync(join(dir, 'output/.bronze-tmp')), ['shop+orders+999999999+deadbeef']);
  cleanup(dir);
});

test('two runs of one incremental table into different partitions: the second fails at once', async () => {
  const dir = workdir();
  table(dir, 400000);
  write(dir, 'c.yaml', INCR());
  const first = start(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV, bin: BIN_RELEASE });
  const exited = new Promise((r) => first.on('exit', r));
  await new Promise((r) => setTimeout(r, 150));
  const second = run(dir, ['--config', 'c.yaml', '--date', '2025-01-13'], { env: ENV, bin: BIN_RELEASE });
  assert.equal(await exited, 0);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /cursor state of shop\.orders is being written by another bronze-extract process/);
  assert.ok(!existsSync(join(dir, 'output/system=shop/table=orders/dt=2025-01-13')));
  assert.equal(readJson(join(dir, '.state/shop_orders_cursor.json')).cursor, '2025-01-05 15:06:40');
  // no lock file outlives its run
  assert.deepEqual(readdirSync(join(dir, '.state')), ['shop_orders_cursor.json']);
  cleanup(dir);
});

test('the staging sweep removes only this table\'s dead runs (a dotted table name is another table)', () => {
  const dir = workdir();
  table(dir, 10);
  write(dir, 'c.yaml', dbConfig({}));
  const tmp = join(dir, 'output/.bronze-tmp');
  mkdirSync(join(tmp, 'shop+orders+999999999+deadbeef'), { recursive: true });
  writeFileSync(join(tmp, 'shop+orders+999999999+deadbeef/part-0001.csv'), 'x\n');
  // table "orders.999999999" of the same system, whose run is alive (this process)
  const other = `shop+orders.999999999+${process.pid}+cafef00d`;
  mkdirSync(join(tmp, other));
  writeFileSync(join(tmp, other, 'part-0001.csv'), 'live\n');
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(allFiles(tmp), [`${other}/part-0001.csv`]);
  cleanup(dir);
});

test('incremental schema drift: a new column is warned and recorded, a type change fails', async () => {
  const dir = workdir();
  table(dir, 10);
  write(dir, 'c.yaml', INCR());
  const args = ['--config', 'c.yaml', '--date', '2025-01-12'];
  assert.equal(run(dir, args, { env: ENV }).code, 0);
  sqlite(join(dir, 'shop.db'), "ALTER TABLE orders ADD COLUMN extra TEXT; INSERT INTO orders VALUES (11, 'a', '2025-02-01 00:00:00', 'e1');");
  let r = run(dir, args, { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /new column 'extra' \(STRING\) in this incremental batch/);
  const meta = readJson(join(dir, P, '_metadata.json'));
  assert.deepEqual(meta.schema.map((c) => c.name), ['id', 'note', 'updated_at', 'extra']);
  assert.equal(meta.schema.find((c) => c.name === 'extra').nullable, true);
  assert.deepEqual(meta.batches.map((b) => b.schema.map((c) => c.name)), [['id', 'note', 'updated_at'], ['id', 'note', 'updated_at', 'extra']]);
  const rows = await query(`SELECT id::INT id, extra FROM read_parquet('${dir}/${P}/*.parquet', union_by_name=true) ORDER BY id`);
  assert.equal(rows.length, 11);
  assert.deepEqual(rows[10], { id: 11, extra: 'e1' });
  assert.equal(rows[0].extra, null);
  // a type change against the committed parts: fail, nothing committed, cursor kept
  const state = readFileSync(join(dir, '.state/shop_orders_cursor.json'), 'utf8');
  sqlite(join(dir, 'shop.db'), `CREATE TABLE o2 (id INTEGER PRIMARY KEY, note INTEGER, updated_at TIMESTAMP, extra TEXT);
INSERT INTO o2 SELECT id, 7, updated_at, extra FROM orders; DROP TABLE orders; ALTER TABLE o2 RENAME TO orders;
INSERT INTO orders VALUES (12, 5, '2025-03-01 00:00:00', NULL);`);
  const before = readFileSync(join(dir, P, '_metadata.json'), 'utf8');
  r = run(dir, args, { env: ENV });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /column 'note' is INT64 in this batch but STRING in the partition's committed parts.*run a full load/);
  assert.equal(readFileSync(join(dir, P, '_metadata.json'), 'utf8'), before);
  assert.equal(readFileSync(join(dir, '.state/shop_orders_cursor.json'), 'utf8'), state);
  cleanup(dir);
});
