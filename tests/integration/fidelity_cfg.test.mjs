// Issue #13, config / naming / misc items, through the real binary: each test
// failed on the code before its fix.
//   5  column names clashing with the output path's keys or with each other
//      (case-insensitively); the state file's owner
//   7  batch_id longer than the layout allows; max_file_size_mb below 1 KiB
//   9  long system/table: bounded at config time, never a buffer overflow
//   10 a closed log pipe (SIGPIPE) does not kill a load
//   16 fetch_batch_size above its documented maximum is refused
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, run, workdir, write, sqlite, dbConfig, listFiles, readJson, query, cleanup } from './lib/harness.mjs';

const ENV = { TEST_DB: 'sqlite:shop.db' };
const ORDERS = `CREATE TABLE orders (id INTEGER, name TEXT, updated_at TEXT);
INSERT INTO orders VALUES (1, 'a', '2025-01-01 00:00:01'), (2, 'b', '2025-01-01 00:00:02');`;

function shop(cfg, sql = ORDERS) {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), sql);
  write(dir, 'c.yaml', cfg);
  return dir;
}

const noSanitizer = (r) => assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error|SEGV/);

// ---- item 9: long system / table ----

for (const len of [300, 500, 20000]) {
  test(`a ${len}-byte system is a config error at --validate-only, no crash`, () => {
    const dir = shop(dbConfig({ system: 's'.repeat(len) }));
    const r = run(dir, ['--config', 'c.yaml', '--validate-only', '--log-format', 'simple'], { env: ENV });
    noSanitizer(r);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /c\.yaml:\d+:\d+: source\.system: .*at most \d+ bytes/);
    cleanup(dir);
  });
}

test('a long table is refused too; system + table together are bounded (one file name)', () => {
  let dir = shop(dbConfig({ table: 't'.repeat(500) }));
  let r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12', '--log-format', 'simple'], { env: ENV });
  noSanitizer(r);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /source\.table: .*at most \d+ bytes/);
  assert.deepEqual(listFiles(join(dir, 'output')), []);
  cleanup(dir);
  // each alone fits, together they would not fit one file name
  dir = shop(dbConfig({ system: 's'.repeat(101), table: 't'.repeat(101) }));
  r = run(dir, ['--config', 'c.yaml', '--validate-only', '--log-format', 'simple'], { env: ENV });
  noSanitizer(r);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /source\.table: system and table together make a partition path of 231 bytes; at most 230 bytes/);
  cleanup(dir);
});

test('system and table at the documented limit land a batch', () => {
  const s = 's'.repeat(100), t = 't'.repeat(101); // 230-byte partition path
  const dir = shop(dbConfig({ system: s, table: t, run: '    batch_id: "' + 'b'.repeat(127) + '"' }),
  );
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  noSanitizer(r);
  assert.equal(r.code, 0, r.stderr);
  const meta = readJson(join(dir, `output/system=${s}/table=${t}/dt=2025-01-12/_metadata.json`));
  assert.equal(meta.total_records, 2);
  cleanup(dir);
});

// ---- item 7: batch_id and max_file_size_mb ----

test('a batch_id longer than 127 bytes is refused, not cut', () => {
  const dir = shop(dbConfig({
    run: '    batch_id: "' + 'b'.repeat(200) + '"',
    platform: '    partitioning:\n      partition_strategy: "batch_id"',
  }));
  const r = run(dir, ['--config', 'c.yaml', '--validate-only', '--log-format', 'simple'], { env: ENV });
  noSanitizer(r);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /source\.run\.batch_id: .*at most 127 bytes/);
  cleanup(dir);
});

test('max_file_size_mb below 1 KiB is refused, not silently unlimited', () => {
  for (const v of ['1e-9', '0.0009']) {
    const dir = shop(dbConfig({ run: `    max_file_size_mb: ${v}` }));
    const r = run(dir, ['--config', 'c.yaml', '--validate-only', '--log-format', 'simple'], { env: ENV });
    assert.equal(r.code, 2, `${v}: ${r.stderr}`);
    assert.match(r.stderr, /source\.run\.max_file_size_mb: .*at least 1\/1024 \(1 KiB\)/);
    cleanup(dir);
  }
  const dir = shop(dbConfig({ run: '    max_file_size_mb: 0.001' }));
  const r = run(dir, ['--config', 'c.yaml', '--validate-only'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  cleanup(dir);
});

// ---- item 16: fetch_batch_size ----

test('fetch_batch_size of 1,000,000 or more is refused at config load, not silently 8192', () => {
  const dir = shop(dbConfig({ db: '    fetch_batch_size: 1000000' }));
  const r = run(dir, ['--config', 'c.yaml', '--validate-only', '--log-format', 'simple'], { env: ENV });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /source\.db\.fetch_batch_size: .*999999/);
  cleanup(dir);
  const ok = shop(dbConfig({ db: '    fetch_batch_size: 999999' }));
  assert.equal(run(ok, ['--config', 'c.yaml', '--validate-only'], { env: ENV }).code, 0);
  cleanup(ok);
});

// ---- item 10: SIGPIPE ----

test('a closed log pipe does not kill the load: the batch commits, exit 0', () => {
  const dir = shop(dbConfig());
  // stderr is a pipe whose read end is closed before the binary starts
  const py = `import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stderr=w, stdout=subprocess.DEVNULL)
print(p.returncode)`;
  const r = spawnSync('python3', ['-c', py, BIN, '--config', 'c.yaml', '--date', '2025-01-12', '-v'], {
    cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, TEST_DB: 'sqlite:shop.db', ASAN_OPTIONS: 'detect_leaks=1' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '0', 'exit code of bronze-extract (-13 = SIGPIPE)');
  const meta = readJson(join(dir, 'output/system=shop/table=orders/dt=2025-01-12/_metadata.json'));
  assert.equal(meta.total_records, 2);
  cleanup(dir);
});

test('`2>&1 | head -1` keeps extracting and exits 0', () => {
  const dir = shop(dbConfig());
  const r = spawnSync('bash', ['-c', `"${BIN}" --config c.yaml --date 2025-01-12 -v 2>&1 | head -1 >/dev/null; echo "rc=\${PIPESTATUS[0]}"`], {
    cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, TEST_DB: 'sqlite:shop.db', ASAN_OPTIONS: 'detect_leaks=1' },
  });
  assert.match(r.stdout, /rc=0/, r.stdout + r.stderr);
  assert.ok(existsSync(join(dir, 'output/system=shop/table=orders/dt=2025-01-12/_metadata.json')));
  cleanup(dir);
});

// ---- item 5: names ----

// SQLite names are case-insensitive, so the clashing cases come from aliases
const CLASH = `CREATE TABLE orders (id INTEGER, dt TEXT, sys TEXT, hour INTEGER, batch_id TEXT,
  tab TEXT, dt_src TEXT, a INTEGER, b INTEGER);
INSERT INTO orders VALUES (1, 'x-dt', 'x-sys', 7, 'x-bid', 'x-tab', 'x-dtsrc', 10, 20);`;
const CLASH_Q = 'SELECT id, dt, sys AS System, hour, batch_id, tab AS \\"TABLE\\", dt_src, a, b AS A, id FROM orders';

test('columns named like path keys get _src, a/A are made unique, in every format and the marker', async () => {
  const dir = shop(dbConfig({ query: CLASH_Q }), CLASH);
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12', '--log-format', 'simple'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const want = ['id', 'dt_src2', 'System_src', 'hour_src', 'batch_id_src', 'TABLE_src', 'dt_src', 'a', 'A_2', 'id_2'];
  const p = join(dir, 'output/system=shop/table=orders/dt=2025-01-12');
  const meta = readJson(join(p, '_metadata.json'));
  assert.deepEqual(meta.schema.map((c) => c.name), want);
  const src = Object.fromEntries(meta.schema.filter((c) => c.source_name).map((c) => [c.name, c.source_name]));
  assert.deepEqual(src, { dt_src2: 'dt', System_src: 'System', hour_src: 'hour', batch_id_src: 'batch_id', TABLE_src: 'TABLE', A_2: 'A', id_2: 'id' });
  // CSV header
  assert.equal(readFileSync(join(p, 'part-0001.csv'), 'utf8').split('\n')[0], want.join(','));
  // Parquet names, and hive reading does not replace the values with the folder's
  const rows = await query(`SELECT * FROM read_parquet('${join(dir, 'output')}/**/*.parquet', hive_partitioning=true)`);
  assert.equal(rows[0].dt_src2, 'x-dt');
  assert.equal(rows[0].System_src, 'x-sys');
  assert.equal(rows[0].dt_src, 'x-dtsrc');
  assert.equal(Number(rows[0].A_2), 20);
  assert.equal(Number(rows[0].a), 10);
  // warned once, naming the columns
  const warns = r.stderr.split('\n').filter((l) => l.startsWith('[WARNING]'));
  assert.equal(warns.length, 1, r.stderr);
  assert.match(warns[0], /'dt' -> 'dt_src2'/);
  assert.match(warns[0], /'A' -> 'A_2'/);
  cleanup(dir);
});

test('a JSON Lines file with keys dt and a/A is renamed the same way (every source kind)', () => {
  const dir = workdir();
  write(dir, 'in.jsonl', '{"dt": "x", "a": 1, "A": 2}\n');
  write(dir, 'c.yaml', `platform:
  bronze:
    local_path: "./output"
source:
  type: "file"
  system: "shop"
  table: "events"
  file:
    path: "in.jsonl"
    format: "jsonl"
  run:
    write_csv: true
    write_parquet: false
`);
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], {});
  assert.equal(r.code, 0, r.stderr);
  const p = join(dir, 'output/system=shop/table=events/dt=2025-01-12');
  assert.equal(readFileSync(join(p, 'part-0001.csv'), 'utf8').split('\n')[0], 'dt_src,a,A_2');
  assert.deepEqual(readJson(join(p, '_metadata.json')).schema.map((c) => [c.name, c.source_name ?? null]),
    [['dt_src', 'dt'], ['a', null], ['A_2', 'A']]);
  cleanup(dir);
});

test('an empty or repeated name in a CSV header or a JSON key is renamed (column<N>, a_2), warned once and named in the marker', () => {
  const dir = workdir();
  write(dir, 'in.csv', ',a,a,id\n1,2,3,4\n');
  write(dir, 'in.jsonl', '{"": 1, "id": 4}\n{"": 5, "id": 6}\n');
  const conf = (table, path, format) => `platform:
  bronze:
    local_path: "./output"
source:
  type: "file"
  system: "shop"
  table: "${table}"
  file:
    path: "${path}"
    format: "${format}"
  run:
    write_csv: true
    write_parquet: false
`;
  for (const [table, path, format, want, note] of [
    ['c', 'in.csv', 'csv', [['column0', ''], ['a', null], ['a_2', 'a'], ['id', null]],
      /2 column\(s\) renamed for the output \(SPEC §7\): '' -> 'column0' \(an empty name\), 'a' -> 'a_2' \(a name another column has\)/],
    ['j', 'in.jsonl', 'jsonl', [['column0', ''], ['id', null]],
      /1 column\(s\) renamed for the output \(SPEC §7\): '' -> 'column0' \(an empty name\)/],
  ]) {
    write(dir, 'c.yaml', conf(table, path, format));
    const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12', '--log-format', 'simple'], {});
    assert.equal(r.code, 0, r.stderr);
    const p = join(dir, `output/system=shop/table=${table}/dt=2025-01-12`);
    assert.deepEqual(readJson(join(p, '_metadata.json')).schema.map((c) => [c.name, c.source_name ?? null]), want);
    assert.equal(readFileSync(join(p, 'part-0001.csv'), 'utf8').split('\n')[0], want.map((w) => w[0]).join(','));
    const warns = r.stderr.split('\n').filter((l) => l.startsWith('[WARNING]'));
    assert.equal(warns.length, 1, r.stderr);
    assert.match(warns[0], note);
  }
  cleanup(dir);
});

// ---- item 5: state file owner ----

const INCR = (system, table) => dbConfig({ system, table, db: '    incremental_key: "updated_at"' });

test('two tables sharing .state/a_b_c_cursor.json: the second is refused naming both owners', () => {
  const dir = shop(INCR('a_b', 'c'));
  write(dir, 'c2.yaml', INCR('a', 'b_c'));
  let r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const st = readJson(join(dir, '.state/a_b_c_cursor.json'));
  assert.equal(st.cursor, '2025-01-01 00:00:02');
  assert.equal(st.system, 'a_b');
  assert.equal(st.table, 'c');
  r = run(dir, ['--config', 'c2.yaml', '--date', '2025-01-12', '--log-format', 'simple'], { env: ENV });
  assert.notEqual(r.code, 0, r.stderr);
  assert.match(r.stderr, /\.state\/a_b_c_cursor\.json/);
  assert.match(r.stderr, /system=a_b\/table=c/);
  assert.match(r.stderr, /system=a\/table=b_c/);
  assert.ok(!existsSync(join(dir, 'output/system=a')), 'nothing written for the second table');
  // the owner runs again fine
  r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-13'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  cleanup(dir);
});

test('a 1.0 state file without an owner is adopted and then owned', () => {
  const dir = shop(INCR('shop', 'orders'));
  mkdirSync(join(dir, '.state'));
  writeFileSync(join(dir, '.state/shop_orders_cursor.json'), JSON.stringify({ cursor: '2025-01-01 00:00:01', last_run: '2025-01-11' }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readJson(join(dir, 'output/system=shop/table=orders/dt=2025-01-12/_metadata.json')).total_records, 1);
  const st = readJson(join(dir, '.state/shop_orders_cursor.json'));
  assert.deepEqual([st.cursor, st.last_run, st.system, st.table], ['2025-01-01 00:00:02', '2025-01-12', 'shop', 'orders']);
  cleanup(dir);
});
