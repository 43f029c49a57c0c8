// PostgreSQL and ODBC at the edges (issue #13 items 4, 12, 13, 15, 16): the
// schema outlives a RESTART that changes it, a signal cancels a query that has
// sent no row (and the server stops running it), a retry backoff ends on
// SIGINT, psqlodbc's types land as the native source lands them, a config
// error found at open() exits 2, and no password reaches any output or file
// (the secret-leak sweep over every db source kind and log format).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { run, start as startBin, workdir, write, readJson, query, cleanup, sqlite } from './lib/harness.mjs';
import { start } from './lib/pg.mjs';

let pg;
before(() => { pg = start(); });
after(() => pg && pg.stop());

const SECRET = 'bronze-test-secret';

const cfg = ({ table, query: q, db = '', runKeys = '', env = 'PG_CONN', csv = false }) => `platform:
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
    write_csv: ${csv}
    write_parquet: true
${runKeys}`;

const pq = (dir, table, dt = '2025-01-12') => `read_parquet('${dir}/output/system=pg/table=${table}/dt=${dt}/*.parquet', hive_partitioning=false)`;
const pwUrl = () => pg.url.replace('postgres@', `bronze_pw:${SECRET}@`);
const pwKeywords = () => `host=127.0.0.1 port=${pg.port} dbname=postgres user=bronze_pw password=${SECRET}`;
const pwOdbc = () => pg.odbc.replace('UID=postgres;', `UID=bronze_pw;PWD={${SECRET}};`);
const waitFor = async (fn, ms = 10000) => {
  const t0 = performance.now();
  for (;;) {
    const v = fn();
    if (v || performance.now() - t0 > ms) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
};

test('a config error found at open() (cursor column not in the query) exits 2', () => {
  pg.psql('DROP TABLE IF EXISTS cc; CREATE TABLE cc (id int, ts timestamptz); INSERT INTO cc VALUES (1, now());');
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'cc', query: 'SELECT id FROM cc', db: '    incremental_key: "ts"\n' }));
  for (const conn of [pg.url, pg.odbc]) {
    const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: conn } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cursor column 'ts' is not among the query's columns/);
  }
  cleanup(dir);
});

test('a RESTART whose re-describe changes the schema frees nothing the job still uses (ASan)', async () => {
  pg.psql(`DROP TABLE IF EXISTS widen; CREATE TABLE widen AS SELECT g AS id, md5(g::text) AS token FROM generate_series(1, 400000) g;`);
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'widen', query: 'SELECT * FROM widen', db: '    fetch_batch_size: 2000\n', runKeys: '    max_rows_per_file: 50000\n' }));
  const child = startBin(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: pg.url, ASAN_OPTIONS: 'detect_leaks=1' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  let killed = '';
  for (let i = 0; i < 400 && !killed.includes('t'); i++) {
    await new Promise((r) => setTimeout(r, 10));
    killed = pg.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE application_name = 'bronze-extract' AND query LIKE 'COPY%'`);
  }
  // the reconnect (after a backoff of at least 250 ms) describes a wider table
  pg.psql('ALTER TABLE widen ADD COLUMN extra int');
  const code = await exited;
  assert.match(killed, /t/, 'the COPY backend was never seen');
  assert.doesNotMatch(stderr, /AddressSanitizer|heap-use-after-free/, stderr.slice(0, 4000));
  assert.equal(code, 0, stderr.slice(-3000));
  assert.match(stderr, /Source restarted/);
  const n = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d, count(extra)::INT e FROM ${pq(dir, 'widen')}`);
  assert.deepEqual(n[0], { n: 400000, d: 400000, e: 0 });
  cleanup(dir);
});

const activeSleeps = () => pg.psql(`SELECT count(*) FROM pg_stat_activity
  WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%pg_sleep(60)%'`).trim();

for (const [sig, via] of [['SIGTERM', 'native'], ['SIGINT', 'native'], ['SIGTERM', 'odbc']]) {
  test(`${sig} while PostgreSQL runs a query that sent no row (${via}): cancelled on the server, exit 1 at once`, async () => {
    const dir = workdir();
    write(dir, 'c.yaml', cfg({ table: 'sleepy', query: 'SELECT 1 AS x FROM pg_sleep(60)' }));
    const child = startBin(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: via === 'odbc' ? pg.odbc : pg.url } });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((r) => child.on('exit', (code) => r(code)));
    assert.equal(await waitFor(() => activeSleeps() === '1'), true, 'the query never ran');
    const t0 = performance.now();
    child.kill(sig);
    const code = await exited;
    const took = performance.now() - t0;
    assert.equal(code, 1, stderr);
    assert.ok(took < 5000, `took ${took} ms`);
    assert.match(stderr, /interrupted/i);
    // the server no longer runs it (PQcancel, not just a closed socket)
    assert.equal(await waitFor(() => activeSleeps() === '0', 3000), true, 'the query still runs on the server');
    assert.ok(!existsSync(join(dir, 'output/system=pg/table=sleepy')) ||
      !existsSync(join(dir, 'output/system=pg/table=sleepy/dt=2025-01-12/_metadata.json')));
    cleanup(dir);
  });
}

test('SIGINT during the connection retry backoff ends the run at once', async () => {
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'nowhere', query: 'SELECT 1', runKeys: '    max_retries: 8\n' }));
  // nothing listens on port 1: connection refused, retried with backoff (0.5 s, 1 s, 2 s ...)
  const child = startBin(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: 'postgresql://postgres@127.0.0.1:1/postgres' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  await waitFor(() => (stderr.match(/retrying/g) || []).length >= 3, 15000);
  const t0 = performance.now();
  child.kill('SIGINT');
  const code = await exited;
  const took = performance.now() - t0;
  assert.equal(code, 1, stderr);
  assert.ok(took < 1500, `took ${took} ms`);
  assert.match(stderr, /interrupted/i);
  cleanup(dir);
});

test('SIGTERM while the connection set-up waits for a server that never answers ends the run at once', async () => {
  // accepts the TCP connection, never says a word: libpq waits for connect_timeout
  const sockets = [];
  const mute = net.createServer((c) => sockets.push(c));
  await new Promise((r) => mute.listen(0, '127.0.0.1', r));
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'mute', query: 'SELECT 1', runKeys: '    timeout_seconds: 60\n' }));
  const child = startBin(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: `postgresql://postgres@127.0.0.1:${mute.address().port}/postgres` } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  await waitFor(() => sockets.length > 0);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  child.kill('SIGTERM');
  const code = await exited;
  const took = performance.now() - t0;
  for (const c of sockets) c.destroy();
  mute.close();
  assert.equal(code, 1, stderr);
  assert.ok(took < 1500, `took ${took} ms`);
  assert.match(stderr, /interrupted/i);
  cleanup(dir);
});

test('ODBC through psqlodbc (its default options) lands ±infinity, bool, timestamptz and numeric as the native source does', async () => {
  pg.psql(`DROP TABLE IF EXISTS fid; CREATE TABLE fid (id int4, d date, ts timestamp, tstz timestamptz, b bool, nfree numeric, n102 numeric(10,2));
    SET TIME ZONE 'America/New_York';
    INSERT INTO fid VALUES
     (1, 'infinity', 'infinity', 'infinity', true, 3.14159265358979323846264338327950288419716939937510, 12345678.90),
     (2, '-infinity', '-infinity', '-infinity', false, -0.000000000000000000001, -0.01),
     (3, '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456-05', NULL, 'NaN', 0),
     (4, '1969-07-20', '1901-12-13 20:45:52', '1970-01-01 00:00:00+14', true, 12345678901234567890123456789012345678901234, NULL),
     (5, NULL, NULL, NULL, NULL, NULL, NULL),
     (6, '0001-01-01', '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00+00', false, 1.5, 1),
     (7, '0044-03-15 BC', '4713-01-01 00:00:00 BC', '0001-01-01 00:00:00+05:53:28 BC', true, 0, -1),
     (8, '5874897-12-31', '200000-12-31 23:59:59.999999', '200000-12-31 23:59:59.999999+00', false, 1e-30, 99999999.99);`);
  const dir = workdir();
  write(dir, 'n.yaml', cfg({ table: 'fid_native', query: 'SELECT * FROM fid ORDER BY id' }));
  write(dir, 'o.yaml', cfg({ table: 'fid_odbc', query: 'SELECT * FROM fid ORDER BY id' }));
  const a = run(dir, ['--config', 'n.yaml', '--date', '2025-01-12'], { env: { PG_CONN: pg.url } });
  assert.equal(a.code, 0, a.stderr);
  // the ODBC session runs in another time zone: timestamptz must still be the same instant
  const b = run(dir, ['--config', 'o.yaml', '--date', '2025-01-12'], { env: { PG_CONN: pg.odbc + 'ConnSettings=SET TIME ZONE \'Asia/Kolkata\';', PGTZ: 'Asia/Kolkata' } });
  assert.equal(b.code, 0, b.stderr);
  const mn = readJson(join(dir, 'output/system=pg/table=fid_native/dt=2025-01-12/_metadata.json'));
  const mo = readJson(join(dir, 'output/system=pg/table=fid_odbc/dt=2025-01-12/_metadata.json'));
  assert.deepEqual(mo.schema.map((c) => [c.name, c.type]), mn.schema.map((c) => [c.name, c.type]));
  const sel = (t) => `SELECT id, d::VARCHAR d, ts::VARCHAR ts, epoch_us(tstz)::VARCHAR tstz_us, tstz::VARCHAR tstz, b, nfree, n102::VARCHAR n102 FROM ${pq(dir, t)} ORDER BY id`;
  const native = await query(sel('fid_native'));
  const odbc = await query(sel('fid_odbc'));
  assert.deepEqual(odbc, native);
  assert.equal(native[0].d, 'infinity');
  assert.equal(native[1].ts, '-infinity');
  assert.equal(native[0].b, true);
  cleanup(dir);
});

test('SIGTERM while a locked SQLite database is waited for ends the run at once, not after the busy timeout', async () => {
  const dir = workdir();
  const db = join(dir, 'locked.db');
  sqlite(db, 'CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1);');
  // another process holds an exclusive lock until its stdin closes
  const holder = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'inherit'] });
  holder.stdin.write("BEGIN EXCLUSIVE; SELECT 'locked';\n");
  await new Promise((r) => holder.stdout.once('data', r));
  write(dir, 'c.yaml', cfg({ table: 'locked', query: 'SELECT * FROM t', env: 'DB', runKeys: '    timeout_seconds: 60\n' }));
  const child = startBin(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { DB: `sqlite:${db}` } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  await waitFor(() => /Starting extraction/.test(stderr));
  await new Promise((r) => setTimeout(r, 700));
  const t0 = performance.now();
  child.kill('SIGTERM');
  const code = await exited;
  const took = performance.now() - t0;
  holder.stdin.end();
  assert.equal(code, 1, stderr);
  assert.ok(took < 2000, `took ${took} ms`);
  cleanup(dir);
});

test('incremental over psqlodbc on timestamptz and date cursors: the same cursors and rows as the native source', async () => {
  pg.psql(`DROP TABLE IF EXISTS incr; CREATE TABLE incr (id int, at timestamptz, d date);
    SET TIME ZONE 'America/New_York';
    INSERT INTO incr SELECT g, TIMESTAMPTZ '2025-01-01 00:00:00+00' + g * INTERVAL '90 minutes', DATE '2025-01-01' + g FROM generate_series(1, 40) g;`);
  const dir = workdir();
  const conns = { native: pg.url, odbc: pg.odbc + 'ConnSettings=SET TIME ZONE \'Asia/Kolkata\';' };
  for (const col of ['at', 'd']) {
    const cursors = {};
    for (const [via, conn] of Object.entries(conns)) {
      write(dir, 'c.yaml', cfg({ table: `incr_${col}_${via}`, query: 'SELECT * FROM incr', db: `    incremental_key: "${col}"\n` }));
      const a = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: conn } });
      assert.equal(a.code, 0, a.stderr);
      const first = readJson(join(dir, `.state/pg_incr_${col}_${via}_cursor.json`)).cursor;
      const b = run(dir, ['--config', 'c.yaml', '--date', '2025-01-13'], { env: { PG_CONN: conn } });
      assert.equal(b.code, 0, b.stderr);
      assert.equal(existsSync(join(dir, `output/system=pg/table=incr_${col}_${via}/dt=2025-01-13/_metadata.json`)) &&
        readJson(join(dir, `output/system=pg/table=incr_${col}_${via}/dt=2025-01-13/_metadata.json`)).total_records, 0);
      cursors[via] = first;
    }
    assert.deepEqual(cursors.odbc, cursors.native, col);
  }
  // new rows: each path picks up exactly them (the ODBC cursor is bound in UTC)
  pg.psql(`INSERT INTO incr SELECT g, TIMESTAMPTZ '2025-01-01 00:00:00+00' + g * INTERVAL '90 minutes', DATE '2025-01-01' + g FROM generate_series(41, 45) g;`);
  for (const col of ['at', 'd'])
    for (const [via, conn] of Object.entries(conns)) {
      write(dir, 'c.yaml', cfg({ table: `incr_${col}_${via}`, query: 'SELECT * FROM incr', db: `    incremental_key: "${col}"\n` }));
      const c = run(dir, ['--config', 'c.yaml', '--date', '2025-01-14'], { env: { PG_CONN: conn } });
      assert.equal(c.code, 0, c.stderr);
      assert.equal(readJson(join(dir, `output/system=pg/table=incr_${col}_${via}/dt=2025-01-14/_metadata.json`)).total_records, 5, `${col} ${via}`);
    }
  assert.equal((await query(`SELECT count(*)::INT n FROM ${pq(dir, 'incr_at_odbc')}`))[0].n, 40);
  cleanup(dir);
});

// ---------------------------------------------------------------- secrets

test('postgresql://user:password without @host is refused as a config error and never printed', () => {
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'nohost', query: 'SELECT 1', runKeys: '    max_retries: 3\n' }));
  for (const conn of ['postgresql://user:S3cretP4ss', 'postgresql://bronze_pw:S3cretP4ss/postgres']) {
    const r = run(dir, ['-v', '--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: conn } });
    assert.equal(r.code, 2, r.stderr);
    assert.ok(!(r.stdout + r.stderr).includes('S3cretP4ss'), r.stderr);
    assert.doesNotMatch(r.stderr, /retrying/);
  }
  cleanup(dir);
});

test('a password with an unescaped @ is refused without mangling or leaking the message', () => {
  const dir = workdir();
  write(dir, 'c.yaml', cfg({ table: 'at', query: 'SELECT 1', runKeys: '    max_retries: 3\n' }));
  const r = run(dir, ['-v', '--config', 'c.yaml'], { env: { PG_CONN: `postgresql://bronze_pw:p@ss@127.0.0.1:${pg.port}/postgres` } });
  assert.equal(r.code, 2, r.stderr);
  assert.ok(!r.stderr.includes('ss@127'), r.stderr);
  assert.ok(!r.stderr.includes('***'), r.stderr);
  assert.match(r.stderr, /%40/);
  assert.match(r.stderr, /percent-encoded/); // the message is intact: its 'p's are still there
  assert.doesNotMatch(r.stderr, /retrying/);
  cleanup(dir);
});

// every file under dir, dot-folders (.state, .bronze-tmp) included
const allFiles = (dir) => {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (statSync(p).isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
};

const sweep = (kinds, minRuns) => {
  pg.psql('DROP TABLE IF EXISTS sweep; CREATE TABLE sweep (id int, ts timestamptz); INSERT INTO sweep VALUES (1, now()), (2, now()); GRANT SELECT ON sweep TO bronze_pw;');
  const dir = workdir();
  sqlite(join(dir, 'sweep.db'), 'CREATE TABLE sweep (id INTEGER, ts TEXT); INSERT INTO sweep VALUES (1, \'2025-01-01\');');
  const wrong = SECRET.toUpperCase();
  const cases = {
    postgres_url: [pwUrl(), pwUrl().replace(SECRET, wrong), `postgresql://bronze_pw:${SECRET}`, `postgresql://bronze_pw:${SECRET}@127.0.0.1:${pg.port}:/postgres`,
      `postgresql://bronze_pw:${SECRET}@[127.0.0.1/postgres`],
    postgres_keywords: [pwKeywords(), pwKeywords().replace(SECRET, wrong), `${pwKeywords()} port='`, `host=127.0.0.1 port=${SECRET} user=bronze_pw`,
      `host=127.0.0.1 port=${pg.port} dbname=postgres user=bronze_pw password='${SECRET}' sslmode=${SECRET}`],
    odbc: [pwOdbc(), pwOdbc().replace(SECRET, wrong), `DRIVER={PostgreSQL Unicode;UID=bronze_pw;PWD=${SECRET}`, `DRIVER=/nonexistent/driver.so;PWD=${SECRET};`,
      pwOdbc().replace(`PWD={${SECRET}}`, `Password=${SECRET}`) /* correct too */, `DSN=${SECRET}nope;UID=bronze_pw;PWD=${SECRET}`],
    sqlite: [`sqlite:file:${join(dir, 'sweep.db')}?mode=ro&key=${SECRET}`, `sqlite:file:${join(dir, 'nope.db')}?mode=ro&key=${SECRET}`, `sqlite:file:${join(dir, 'sweep.db')}?mode=bogus&key=${SECRET}`],
  };
  let runs = 0;
  for (const [kind, conns] of Object.entries(cases).filter(([k]) => kinds.includes(k))) {
    conns.forEach((conn, i) => {
      const modes = [['human', 'full'], ['human', 'inc'], ['human', 'dry'], ['human', 'validate'],
        ['json', 'full'], ['json', 'inc'], ['json', 'dry'], ['simple', 'full'], ['simple', 'inc'], ['simple', 'dry']];
      for (const [fmt, mode] of modes) {
        const incremental = mode === 'inc';
        const table = `${kind}_${i}_${fmt}_${mode}`;
        write(dir, 'c.yaml', cfg({ table, query: 'SELECT * FROM sweep', csv: true, db: incremental ? '    incremental_key: "id"\n' : '', runKeys: '    max_retries: 1\n' }));
        const extra = mode === 'dry' ? ['--dry-run'] : mode === 'validate' ? ['--validate-only'] : [];
        const r = run(dir, ['-v', '--log-format', fmt, ...extra, '--config', 'c.yaml', '--date', '2025-01-12'], { env: { PG_CONN: conn } });
        runs++;
        assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), `${kind} #${i} ${fmt}: the password leaked:\n${r.stderr}`);
        assert.ok(!r.stdout.includes(wrong) && !r.stderr.includes(wrong), `${kind} #${i} ${fmt}: the wrong password leaked:\n${r.stderr}`);
        if (mode === 'validate') continue; // connects to nothing
        if (i === 0 || (kind === 'odbc' && i === 4)) assert.equal(r.code, 0, `${kind} #${i} ${fmt} ${mode}: ${r.stderr}`);
        else assert.notEqual(r.code, 0, `${kind} #${i} ${fmt} ${mode}`);
      }
    });
  }
  assert.ok(runs >= minRuns);
  for (const f of allFiles(dir)) {
    if (f.endsWith('.yaml') || f.endsWith('sweep.db')) continue;
    const text = readFileSync(f, 'latin1');
    assert.ok(!text.includes(SECRET) && !text.includes(wrong), `${f} holds the password`);
  }
  cleanup(dir);
};

test('secret-leak sweep: PostgreSQL (URL and keywords) and ODBC, wrong / malformed / correct strings, -v, every log format, full / incremental / dry run / validate', () => {
  sweep(['postgres_url', 'postgres_keywords', 'odbc'], 160);
});

// A SQLite URI's query string can hold a key= or password= parameter.
test('secret-leak sweep: SQLite URI parameters', () => {
  sweep(['sqlite'], 30);
});
