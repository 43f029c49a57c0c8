// PostgreSQL `time` columns (issue #15 item 7, SPEC §3 output_defaults.time_as):
// TIME(MICROS) by default, the server's text with `time_as: string` (Spark up
// to 4.0 cannot read TIME); 24:00:00, outside TIME's domain, never reaches a
// TIME column: the run fails naming the row, the column and the fix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { run, workdir, write, query, cleanup, BIN_RELEASE } from './lib/harness.mjs';
import { start } from './lib/pg.mjs';

let pg;
before(() => { pg = start(); });
after(() => pg && pg.stop());

const cfg = (table, timeAs) => `platform:
  bronze:
    local_path: "./output"
${timeAs ? `    output_defaults:\n      time_as: "${timeAs}"\n` : ''}source:
  type: "db"
  system: "pg"
  table: "${table}"
  db:
    conn_str_env: "PG_CONN"
    base_query: "SELECT * FROM ${table} ORDER BY id"
  run:
    write_csv: false
`;
const pq = (dir, table) => `read_parquet('${dir}/output/system=pg/table=${table}/dt=2025-01-12/*.parquet')`;

test('time: TIME(MICROS) by default, text with time_as: string, 24:00:00 refused as TIME', async () => {
  pg.psql(`DROP TABLE IF EXISTS tm1; CREATE TABLE tm1 (id int4, t time);
    INSERT INTO tm1 VALUES (1, '00:00:00'), (2, '12:34:56.789012'), (3, '23:59:59.999999'), (4, NULL);
    DROP TABLE IF EXISTS tm2; CREATE TABLE tm2 (id int4, t time);
    INSERT INTO tm2 VALUES (1, '08:00'), (2, '24:00:00');`);
  const env = { PG_CONN: pg.conninfo };
  const want = [
    { id: 1, t: '00:00:00' }, { id: 2, t: '12:34:56.789012' }, { id: 3, t: '23:59:59.999999' }, { id: 4, t: null },
  ];

  const d1 = workdir();
  write(d1, 'c.yaml', cfg('tm1'));
  let r = run(d1, ['--config', 'c.yaml', '--date', '2025-01-12'], { env, bin: BIN_RELEASE });
  assert.equal(r.code, 0, r.stderr);
  const [ty] = await query(`SELECT typeof(t) ty FROM ${pq(d1, 'tm1')} LIMIT 1`);
  assert.equal(ty.ty, 'TIME');
  assert.deepEqual(await query(`SELECT id::INT id, t::VARCHAR t FROM ${pq(d1, 'tm1')} ORDER BY id`), want);

  const d2 = workdir();
  write(d2, 'c.yaml', cfg('tm1', 'string'));
  r = run(d2, ['--config', 'c.yaml', '--date', '2025-01-12'], { env, bin: BIN_RELEASE });
  assert.equal(r.code, 0, r.stderr);
  const [ty2] = await query(`SELECT typeof(t) ty FROM ${pq(d2, 'tm1')} LIMIT 1`);
  assert.equal(ty2.ty, 'VARCHAR');
  assert.deepEqual(await query(`SELECT id::INT id, t FROM ${pq(d2, 'tm1')} ORDER BY id`), want);

  // 24:00:00: refused as TIME (naming row, column and the fix), kept as text with time_as: string
  const d3 = workdir();
  write(d3, 'c.yaml', cfg('tm2'));
  r = run(d3, ['--config', 'c.yaml', '--date', '2025-01-12'], { env, bin: BIN_RELEASE });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /row 2, column 't': 24:00:00 cannot be stored as a Parquet TIME; set platform\.bronze\.output_defaults\.time_as: string/);
  write(d3, 'c.yaml', cfg('tm2', 'string'));
  r = run(d3, ['--config', 'c.yaml', '--date', '2025-01-12'], { env, bin: BIN_RELEASE });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await query(`SELECT id::INT id, t FROM ${pq(d3, 'tm2')} ORDER BY id`), [{ id: 1, t: '08:00:00' }, { id: 2, t: '24:00:00' }]);
  for (const d of [d1, d2, d3]) cleanup(d);
});
