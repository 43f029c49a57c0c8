// `bronze-extract verify` (SPEC §2): every marker checked against its files,
// unlisted parts and interrupted commits reported; --repair completes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, unlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, workdir, write, sqlite, dbConfig, readJson, cleanup } from './lib/harness.mjs';

const ENV = { TEST_DB: 'sqlite:shop.db' };
const P = 'output/system=shop/table=orders/dt=2025-01-12';

function setup(n = 3000) {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < ${n}) INSERT INTO orders SELECT i, 'n' || i FROM s;`);
  write(dir, 'c.yaml', dbConfig({ run: '    max_rows_per_file: 1000' }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  return dir;
}

test('verify: a clean table passes by config, root, and hive folder', () => {
  const dir = setup();
  for (const args of [['verify', '--config', 'c.yaml'], ['verify', 'output'], ['verify', 'output/system=shop/table=orders'], ['verify', `${P}/`]]) {
    const r = run(dir, args, { env: ENV });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /1 marker\(s\) checked.*0 finding/);
  }
  cleanup(dir);
});

test('verify: a changed, a missing and an unlisted part are each one finding, exit 1', () => {
  const dir = setup();
  const f = join(dir, P, 'part-0002.parquet');
  const b = readFileSync(f);
  b[100] ^= 0xff;
  writeFileSync(f, b);
  unlinkSync(join(dir, P, 'part-0003.csv'));
  writeFileSync(join(dir, P, 'part-0009.parquet'), 'stray');
  mkdirSync(join(dir, 'output/system=shop/table=orders/dt=2025-01-13'));
  writeFileSync(join(dir, 'output/system=shop/table=orders/dt=2025-01-13/part-0001.csv'), 'x\n');
  const r = run(dir, ['verify', '--config', 'c.yaml'], { env: ENV });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trim().split('\n').sort();
  assert.equal(lines.length, 4, r.stdout);
  assert.match(lines[0], /^CHANGED system=shop\/table=orders\/dt=2025-01-12\/part-0002\.parquet: sha256 [0-9a-f]{64}, the marker lists [0-9a-f]{64}$/);
  assert.match(lines[1], /^MISSING system=shop\/table=orders\/dt=2025-01-12\/part-0003\.csv \(listed by .*_metadata\.json\)$/);
  assert.match(lines[2], /^UNLISTED system=shop\/table=orders\/dt=2025-01-12\/part-0009\.parquet: no marker lists it/);
  assert.match(lines[3], /^UNLISTED system=shop\/table=orders\/dt=2025-01-13\/part-0001\.csv: its folder has no _metadata\.json/);
  cleanup(dir);
});

test('verify reports an interrupted commit; --repair completes it to the new batch', () => {
  for (const env of [ENV, { ...ENV, BRONZE_TEST_NO_RENAME_EXCHANGE: '1' }]) {
    const dir = setup();
    sqlite(join(dir, 'shop.db'), 'DELETE FROM orders WHERE id > 1500;');
    const k = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { ...env, BRONZE_FAULT: 'after-journal' } });
    assert.equal(k.signal, 'SIGKILL');
    const r = run(dir, ['verify', 'output'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^JOURNAL \.bronze-tmp\/journals\/system=shop\+table=orders\+dt=2025-01-12\.json: an interrupted commit of system=shop\/table=orders\/dt=2025-01-12\//m);
    const fix = run(dir, ['verify', 'output', '--repair'], { env });
    assert.equal(fix.code, 0, fix.stdout + fix.stderr);
    assert.match(fix.stderr, /Repaired system=shop\/table=orders\/dt=2025-01-12\/: interrupted commit completed/);
    assert.equal(readJson(join(dir, P, '_metadata.json')).total_records, 1500);
    assert.equal(run(dir, ['verify', '--config', 'c.yaml'], { env }).code, 0);
    cleanup(dir);
  }
});

test('verify: usage errors exit 2', () => {
  const dir = workdir();
  assert.equal(run(dir, ['verify'], {}).code, 2);
  assert.equal(run(dir, ['verify', 'a', 'b'], {}).code, 2);
  assert.equal(run(dir, ['verify', '--bogus'], {}).code, 2);
  const r = run(dir, ['verify', 's3://bucket/p'], {});
  assert.equal(r.code, 2);
  assert.match(r.stderr, /AWS_ACCESS_KEY_ID/);
  cleanup(dir);
});
