// PostgreSQL and ODBC end to end through the binary against a real server
// (SPEC §3 source.db, §4, §6.4, §6.6, §7): every type's value read back from
// Parquet with DuckDB equals the server's own rendering; incremental loads are
// exactly-once across days, re-runs, failures and crashes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { run, start as startBin, workdir, write, readJson, listFiles, query, cleanup, BIN_RELEASE } from './lib/harness.mjs';
import { start } from './lib/pg.mjs';

let pg;
before(() => { pg = start(); });
after(() => pg && pg.stop());

const cfg = ({ table, query: q, db = '', runKeys = '', env = 'PG_CONN' }) => `platform:
  bronze:
    local_path: "./output"
source:
  type: "db"
  system: "pg"
  table: "${table}"
  db:
    conn_str_env: "${env}"
    base_query: "${q}"
${db}  run:
    write_csv: false
    write_parquet: true
${runKeys}`;

const pq = (dir, table, dt = '2025-01-12') => `read_parquet('${dir}/output/system=pg/table=${table}/dt=${dt}/*.parquet', hive_partitioning=false)`;

const ALLTYPES = `
DROP TABLE IF EXISTS alltypes;
CREATE TABLE alltypes (id int4 PRIMARY KEY, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
  n102 numeric(10,2), n389 numeric(38,9), nfree numeric, b bool, t text, vc varchar(20), ch char(5),
  d date, ts timestamp, tstz timestamptz, tm time, u uuid, j json, jb jsonb, by bytea, arr int4[], iv interval);
SET TIME ZONE 'America/New_York';
INSERT INTO alltypes VALUES
 (1, 32767, 2147483647, 9223372036854775807, 1.5, 0.1, 12345678.90, 12345678901234567890123456789.123456789, 3.14159265358979323846264338327950288419716939937510,
  true, 'héllo ✓ 日本', 'abc', 'ab', '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456-05', '12:34:56.789',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": [1, 2]}', '{"b": 1, "a": [true, null]}', decode('00ff10', 'hex'), '{1,2,3}', '1 day 02:00:00'),
 (2, -32768, -2147483648, -9223372036854775808, -3.25e-5, 'NaN', -0.01, -99999999999999999999999999999.999999999, -0.000000000000000000001,
  false, '', '', '', '1969-07-20', '1901-12-13 20:45:52', '1970-01-01 00:00:00+14', '00:00:00', '00000000-0000-0000-0000-000000000000', '[]', '{}', '', '{}', '-3 mons'),
 (3, 0, 0, 0, 'Infinity', 'Infinity', 0, 0, 'NaN', NULL, repeat('x', 100000), NULL, NULL, 'infinity', 'infinity', '-infinity', '23:59:59.999999', NULL, NULL, NULL, decode(repeat('ab', 600000), 'hex'), NULL, NULL),
 (4, NULL, NULL, NULL, NULL, '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-infinity', '-infinity', 'infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '0001-01-01', '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`;

test('every PostgreSQL type lands in Parquet with the server\'s exact values', async () => {
  pg.psql(ALLTYPES);
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'alltypes', query: 'SELECT * FROM alltypes ORDER BY id' }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: pg.url } });
  assert.equal(r.code, 0, r.stderr);
  const meta = readJson(join(dir, 'output/system=pg/table=alltypes/dt=2025-01-12/_metadata.json'));
  assert.equal(meta.total_records, 5);
  assert.deepEqual(meta.schema.map((c) => c.type), ['INT32', 'INT16', 'INT32', 'INT64', 'FLOAT', 'DOUBLE',
    'DECIMAL(10,2)', 'DECIMAL(38,9)', 'STRING', 'BOOLEAN', 'STRING', 'STRING', 'STRING', 'DATE', 'TIMESTAMP',
    'TIMESTAMPTZ', 'TIME', 'STRING', 'JSON', 'JSON', 'BYTES', 'STRING', 'STRING']);
  // The server's rendering, one JSON object per row (text forms, epoch micros for timestamptz).
  const server = pg.psql(`SET extra_float_digits = 3; SELECT json_build_object(
      'id', id, 'i2', i2::text, 'i4', i4::text, 'i8', i8::text, 'f4', f4::text, 'f8', f8::text,
      'n102', n102::text, 'n389', n389::text, 'nfree', nfree::text, 'b', b, 't', t, 'vc', vc, 'ch', ch::bpchar,
      'd', d::text, 'ts', ts::text,
      'tstz', CASE WHEN isfinite(tstz) THEN (extract(epoch FROM tstz) * 1000000)::int8::text ELSE tstz::text END,
      'tm', tm::text, 'u', u::text, 'j', j::text, 'jb', jb::text, 'by', encode(by, 'hex'), 'arr', arr::text, 'iv', iv::text)
    FROM alltypes ORDER BY id`).trim().split('\n').map((l) => JSON.parse(l));
  const got = await query(`SELECT id, i2::VARCHAR i2, i4::VARCHAR i4, i8::VARCHAR i8, f4, f8, n102::VARCHAR n102, n389::VARCHAR n389,
      nfree, b, t, vc, ch, d::VARCHAR d, ts::VARCHAR ts,
      CASE WHEN isfinite(tstz) THEN epoch_us(tstz)::VARCHAR ELSE tstz::VARCHAR END tstz,
      tm::VARCHAR tm, u, j::VARCHAR j, jb::VARCHAR jb, lower(hex("by")) "by", arr, iv
    FROM ${pq(dir, 'alltypes')} ORDER BY id`);
  assert.equal(got.length, server.length);
  for (let i = 0; i < got.length; i++) {
    const g = got[i], s = server[i];
    const ctx = `row id=${s.id}`;
    for (const k of ['i2', 'i4', 'i8', 'n102', 'n389', 'nfree', 'b', 't', 'vc', 'ch', 'd', 'ts', 'tstz', 'tm', 'u', 'j', 'jb', 'by', 'arr', 'iv']) {
      let want = s[k];
      if (k === 'tstz' && typeof want === 'string' && /infinity/.test(want)) want = want.replace('Infinity', 'infinity');
      assert.deepEqual(g[k], want, `${ctx} column ${k}`);
    }
    const num = (x) => (x === null ? null : x === 'Infinity' ? Infinity : x === '-Infinity' ? -Infinity : x === 'NaN' ? NaN : Number(x));
    assert.ok(Object.is(g.f8, num(s.f8)), `${ctx} f8: ${g.f8} vs ${s.f8}`);
    assert.ok(Object.is(g.f4 === null ? null : Math.fround(g.f4), s.f4 === null ? null : Math.fround(num(s.f4))), `${ctx} f4`);
  }
  cleanup(dir);
});

test('enums, ranges, composite and domain types land as the server\'s text', async () => {
  pg.psql(`DROP TABLE IF EXISTS oddtypes; DROP TYPE IF EXISTS mood; DROP TYPE IF EXISTS pair; DROP DOMAIN IF EXISTS posint;
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TYPE pair AS (a int, b text); CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
    CREATE TABLE oddtypes (id int, m mood, r int4range, tr tstzrange, p pair, pi posint, ip inet, tt timetz, xs text[]);
    INSERT INTO oddtypes VALUES (1, 'happy', '[1,10)', '[2025-01-01 00:00+00,2025-02-01 00:00+00)', ROW(7, 'x,y'), 5, '10.0.0.1/8', '12:00:00+02', '{"a b",NULL}'),
                                (2, NULL, 'empty', NULL, NULL, NULL, NULL, NULL, '{}');`);
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'oddtypes', query: 'SELECT * FROM oddtypes ORDER BY id' }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: pg.url } });
  assert.equal(r.code, 0, r.stderr);
  const meta = readJson(join(dir, 'output/system=pg/table=oddtypes/dt=2025-01-12/_metadata.json'));
  assert.deepEqual(meta.schema.map((c) => c.type), ['INT32', 'STRING', 'STRING', 'STRING', 'STRING', 'INT32', 'STRING', 'STRING', 'STRING']);
  const server = pg.psql(`SELECT json_build_object('m', m::text, 'r', r::text, 'tr', tr::text, 'p', p::text, 'pi', pi, 'ip', ip::text, 'tt', tt::text, 'xs', xs::text)
    FROM oddtypes ORDER BY id`).trim().split('\n').map((l) => JSON.parse(l));
  const got = await query(`SELECT m, r, tr, p, pi, ip, tt, xs FROM ${pq(dir, 'oddtypes')} ORDER BY id`);
  assert.deepEqual(got, server);
  cleanup(dir);
});

test('ODBC through psqlodbc lands the same values', async () => {
  pg.psql(`DROP TABLE IF EXISTS odbc_t; CREATE TABLE odbc_t (id int8, amount numeric(12,3), name varchar(40), d date, ts timestamp, ok bool, score float8);
    INSERT INTO odbc_t SELECT i, i * 1.125, 'name ' || i, DATE '2024-01-01' + i, TIMESTAMP '2024-01-01 00:00:00' + i * INTERVAL '1 minute 0.5 second', i % 2 = 0, i / 7.0 FROM generate_series(1, 5000) i;
    INSERT INTO odbc_t VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    INSERT INTO odbc_t VALUES (0, 0, 'héllo ✓ 日本', NULL, NULL, NULL, NULL);`);
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'odbc_t', query: 'SELECT * FROM odbc_t' }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: pg.odbc + 'BoolsAsChar=0;' } });
  assert.equal(r.code, 0, r.stderr);
  const got = await query(`SELECT count(*)::INT n, count(id)::INT ids, sum(amount)::VARCHAR s, min(d)::VARCHAR dmin, max(ts)::VARCHAR tmax,
    sum(score) sc, count(*) FILTER (WHERE name = 'name 77')::INT named,
    count(*) FILTER (WHERE name = 'héllo ✓ 日本')::INT unicode FROM ${pq(dir, 'odbc_t')}`);
  const want = pg.psql(`SELECT count(*), count(id), sum(amount), min(d), max(ts), sum(score) FROM odbc_t`).trim().split('|');
  assert.equal(got[0].n, Number(want[0]));
  assert.equal(got[0].ids, Number(want[1]));
  assert.equal(got[0].s, want[2]);
  assert.equal(got[0].dmin, want[3]);
  assert.equal(got[0].tmax, want[4]);
  assert.ok(Math.abs(got[0].sc - Number(want[5])) < 1e-6);
  assert.equal(got[0].named, 1);
  assert.equal(got[0].unicode, 1); // the binary runs with no locale variables set
  cleanup(dir);
});

const INCR = (table, extra = '') => cfg({ table, query: `SELECT * FROM ${table}`, db: `    incremental_key: "updated_at"\n${extra}` });
const count = async (dir, table, dt) => (await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d FROM ${pq(dir, table, dt)}`))[0];

test('incremental on PostgreSQL: new rows only, same-day append, failure and crash safety', async () => {
  pg.psql(`DROP TABLE IF EXISTS ev; CREATE TABLE ev (id int8, updated_at timestamptz, note text);
    INSERT INTO ev SELECT i, TIMESTAMPTZ '2025-01-01 00:00:00+00' + i * INTERVAL '1 second', 'n' FROM generate_series(1, 1000) i;`);
  const dir = workdir();
  write(dir, 'c.yaml', INCR('ev'));
  const env = { PG_CONN: pg.url };
  const go = (dt, extraEnv = {}) => run(dir, ['--config', 'c.yaml', '--date', dt], { env: { ...env, ...extraEnv } });
  let r = go('2025-01-12');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await count(dir, 'ev', '2025-01-12'), { n: 1000, d: 1000 });
  const st = readJson(join(dir, '.state/pg_ev_cursor.json'));
  assert.equal(st.cursor, '2025-01-01T00:16:40Z');
  // another day: exactly the new rows
  pg.psql(`INSERT INTO ev SELECT i, TIMESTAMPTZ '2025-01-02 00:00:00+00' + i * INTERVAL '1 second', 'n' FROM generate_series(1001, 1010) i;`);
  r = go('2025-01-13');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await count(dir, 'ev', '2025-01-13'), { n: 10, d: 10 });
  // same day again: appended, nothing lost
  pg.psql(`INSERT INTO ev VALUES (1011, '2025-01-03 00:00:00+00', 'n');`);
  r = go('2025-01-13');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await count(dir, 'ev', '2025-01-13'), { n: 11, d: 11 });
  const meta = readJson(join(dir, 'output/system=pg/table=ev/dt=2025-01-13/_metadata.json'));
  assert.deepEqual(meta.batches.map((b) => b.records), [10, 1]);
  // a run that fails after fetching leaves the cursor; the next run re-reads the rows
  pg.psql(`INSERT INTO ev VALUES (1012, '2025-01-04 00:00:00+00', 'n');`);
  const before = readFileSync(join(dir, '.state/pg_ev_cursor.json'), 'utf8');
  r = go('2025-01-14', { BRONZE_FAULT: 'before-commit' });
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(readFileSync(join(dir, '.state/pg_ev_cursor.json'), 'utf8'), before);
  r = go('2025-01-14');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await count(dir, 'ev', '2025-01-14'), { n: 1, d: 1 });
  // SIGKILL between commit and state write duplicates nothing
  pg.psql(`INSERT INTO ev VALUES (1013, '2025-01-05 00:00:00+00', 'n');`);
  r = go('2025-01-14', { BRONZE_FAULT: 'after-marker' });
  assert.equal(r.signal, 'SIGKILL');
  r = go('2025-01-14');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await count(dir, 'ev', '2025-01-14'), { n: 2, d: 2 });
  assert.equal(readJson(join(dir, '.state/pg_ev_cursor.json')).cursor, '2025-01-05T00:00:00Z');
  cleanup(dir);
});

test('incremental on PostgreSQL: a 1.0 state file resumes; a hostile cursor is harmless', async () => {
  pg.psql(`DROP TABLE IF EXISTS ev2; CREATE TABLE ev2 (id int8, updated_at timestamp);
    INSERT INTO ev2 SELECT i, TIMESTAMP '2025-01-01 00:00:00' + i * INTERVAL '1 hour' FROM generate_series(1, 48) i;`);
  const dir = workdir();
  mkdirSync(join(dir, '.state'));
  writeFileSync(join(dir, '.state/pg_ev2_cursor.json'), JSON.stringify({ cursor: '2025-01-02T12:00:00', last_run: '2025-01-11' }));
  write(dir, 'c.yaml', INCR('ev2'));
  let r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: pg.url } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await count(dir, 'ev2', '2025-01-12'), { n: 12, d: 12 });
  write(dir, 'h.yaml', INCR('ev2', `    incremental_cursor_value: "'; DROP TABLE ev2; --"`).replace('table: "ev2"', 'table: "ev2h"'));
  r = run(dir, ['--config', 'h.yaml', '--date', '2025-01-12'], { env: { PG_CONN: pg.url } });
  assert.notEqual(r.signal, 'SIGSEGV');
  assert.equal(pg.psql('SELECT count(*) FROM ev2').trim(), '48');
  cleanup(dir);
});

test('PostgreSQL errors: bad SQL fails at once with the server message; no password in any line', () => {
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'bad', query: 'SELECT * FROM no_such_table' }));
  let r = run(dir, ['--config', 'c.yaml'], { env: { PG_CONN: pg.url } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no_such_table/);
  const url = pg.url.replace('postgres@', 'bronze_pw:wrong-Secret-123@');
  write(dir, 'd.yaml', cfg({ table: 'bad', query: 'SELECT 1' }));
  r = run(dir, ['--config', 'd.yaml'], { env: { PG_CONN: url } });
  assert.equal(r.code, 1);
  assert.ok(!r.stderr.includes('wrong-Secret-123'), r.stderr);
  const dry = run(dir, ['--config', 'c.yaml', '--dry-run'], { env: { PG_CONN: pg.url } });
  assert.equal(dry.code, 1);
  write(dir, 'e.yaml', cfg({ table: 'ok', query: 'SELECT 1 AS one' }));
  const ok = run(dir, ['--config', 'e.yaml', '--dry-run'], { env: { PG_CONN: pg.url } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(listFiles(join(dir, 'output')), []);
  cleanup(dir);
});

test('a backend killed mid-stream is reconnected: the batch restarts and lands every row once', async () => {
  pg.psql(`DROP TABLE IF EXISTS big; CREATE TABLE big AS SELECT g AS id, md5(g::text) AS token FROM generate_series(1, 1500000) g;`);
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'big', query: 'SELECT * FROM big', runKeys: '    max_rows_per_file: 200000\n' }));
  const child = startBin(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: pg.url }, bin: BIN_RELEASE });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  let killed = '';
  for (let i = 0; i < 200 && !killed.trim(); i++) {
    await new Promise((r) => setTimeout(r, 10));
    killed = pg.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE application_name = 'bronze-extract' AND query LIKE 'COPY%'`);
  }
  const code = await exited;
  assert.equal(code, 0, stderr);
  assert.match(killed, /t/, 'the COPY backend was never seen');
  assert.match(stderr, /Source restarted/);
  const n = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d FROM ${pq(dir, 'big')}`);
  assert.deepEqual(n[0], { n: 1500000, d: 1500000 });
  cleanup(dir);
});
