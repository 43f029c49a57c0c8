// api_state.test.mjs - the cursor state is the source's business, whatever its
// kind (issue #11 item 8): the job asks the source where the state lives
// (db: source.db.incremental.state_file; api and custom: 1.0's default path)
// and what the owner-conflict fix is, instead of reading cfg->db itself.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { run, runAsync, workdir, write, sqlite, dbConfig, readJson, cleanup } from './lib/harness.mjs';
import { startApi, makeRecords } from './lib/http_api.mjs';

let api;
before(async () => { api = await startApi(); });
after(async () => { await api.stop(); });
beforeEach(() => api.reset());

const apiCfg = () => `platform:
  bronze:
    local_path: "./output"
source:
  type: api
  system: ext
  table: t
  api:
    base_url: "${api.url}"
    endpoint: /page
    pagination: {type: page, page_size: 10}
    incremental: {enabled: true, cursor_field: updated_at, cursor_param: since}
  run:
    write_csv: false
`;

test('api: the state at 1.0\'s path; a file owned by another table names a fix an API config has', async () => {
  const dir = workdir();
  write(dir, 'c.yaml', apiCfg());
  let r = await runAsync(dir, ['--config', 'c.yaml']);
  assert.equal(r.code, 0, r.stderr);
  const sp = join(dir, '.state', 'ext_t_cursor.json');
  const st = readJson(sp);
  assert.equal(st.cursor, makeRecords(25)[24].updated_at);
  assert.equal(st.system, 'ext');
  // another table's state at this path (system ex + table t_t... or a copy)
  const other = JSON.stringify({ cursor: '2020-01-01T00:00:00Z', system: 'ex', table: 't_t' });
  writeFileSync(sp, other);
  r = await runAsync(dir, ['--config', 'c.yaml']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /state file \.state\/ext_t_cursor\.json holds the cursor of system=ex\/table=t_t, not of this config's system=ext\/table=t \(both map to this path\); rename one of the two tables/);
  assert.doesNotMatch(r.stderr, /source\.db/, 'an API config is not told about source.db keys');
  assert.equal(readFileSync(sp, 'utf8'), other, 'the other table\'s state is untouched');
  cleanup(dir);
});

test('db: source.db.incremental.state_file is where the state lives and is read back', () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER PRIMARY KEY, v TEXT);
INSERT INTO orders VALUES (1,'a'),(2,'b'),(3,'c');`);
  mkdirSync(join(dir, 'st'));
  write(dir, 'c.yaml', dbConfig({ db: '    incremental: {enabled: true, cursor_column: id, cursor_type: int, state_file: st/orders.json}' }));
  let r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { TEST_DB: 'sqlite:shop.db' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readJson(join(dir, 'st/orders.json')).cursor, '3');
  assert.equal(existsSync(join(dir, '.state', 'shop_orders_cursor.json')), false, 'not at the default path');
  sqlite(join(dir, 'shop.db'), `INSERT INTO orders VALUES (4,'d');`);
  r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { TEST_DB: 'sqlite:shop.db' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readJson(join(dir, 'st/orders.json')).cursor, '4');
  const m = readJson(join(dir, 'output/system=shop/table=orders/dt=2025-01-12/_metadata.json'));
  assert.equal(m.total_records, 4, 'the second run appended only id 4');
  // a file owned by another table: the fix named is the db key
  writeFileSync(join(dir, 'st/orders.json'), JSON.stringify({ cursor: '1', system: 'a', table: 'b' }));
  r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { TEST_DB: 'sqlite:shop.db' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /give this table its own file with source\.db\.incremental\.state_file/);
  cleanup(dir);
});

test('custom command: its cursor in 1.0\'s state file, sent back as BRONZE_LAST_CURSOR', () => {
  const dir = workdir();
  write(dir, 'x.sh', '#!/bin/sh\nlast=${BRONZE_LAST_CURSOR:-0}\necho "{\\"id\\": $((last + 1))}"\necho "{\\"_bronze_cursor\\": \\"$((last + 1))\\"}"\n');
  chmodSync(join(dir, 'x.sh'), 0o755);
  write(dir, 'c.yaml', `platform:
  bronze:
    local_path: "./output"
source:
  type: custom
  system: cmd
  table: x
  custom_extractor:
    command: ["./x.sh"]
  run:
    write_csv: false
`);
  for (const want of ['1', '2']) {
    const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12']);
    assert.equal(r.code, 0, r.stderr);
    const st = readJson(join(dir, '.state', 'cmd_x_cursor.json'));
    assert.equal(st.cursor, want);
    assert.equal(st.system, 'cmd');
  }
  const m = readJson(join(dir, 'output/system=cmd/table=x/dt=2025-01-12/_metadata.json'));
  assert.equal(m.total_records, 2, 'the second run appended');
  cleanup(dir);
});
