// The command line (SPEC §2, §7): flags, exit codes, several configs, logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, run, workdir, write, sqlite, dbConfig, listFiles, readJson, cleanup, BIN_RELEASE } from './lib/harness.mjs';

const ENV = { TEST_DB: 'sqlite:shop.db' };
function shop() {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER, v TEXT); INSERT INTO orders VALUES (1,'a'),(2,'b');
CREATE TABLE other (id INTEGER); INSERT INTO other VALUES (7);`);
  return dir;
}

test('--version and --help print on stdout and exit 0', () => {
  const dir = workdir();
  const v = run(dir, ['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^bronze-extract \d+\.\d+\.\d+ \(build \w+\)\n$/);
  const h = run(dir, ['--help']);
  assert.equal(h.code, 0);
  for (const flag of ['--config', '--date', '--parallel-workers', '--validate-only', '--dry-run', '--verbose', '--quiet', '--log-format', '--list-backends', '--version'])
    assert.ok(h.stdout.includes(flag), flag);
  cleanup(dir);
});

test('--list-backends prints one back end or source kind per line on stdout', () => {
  const r = run(workdir(), ['--list-backends']);
  assert.equal(r.code, 0);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.includes('storage local'));
  assert.ok(lines.includes('source db sqlite'));
  assert.ok(lines.includes('source file csv'));
  assert.equal(r.stderr, '');
});

test('usage errors exit 2 with one clear message', () => {
  const dir = workdir();
  for (const [args, re] of [
    [[], /--config is required/],
    [['--config', 'x.yaml', '--date', '2025-13-01'], /--date: '2025-13-01' is not YYYY-MM-DD/],
    [['--config', 'x.yaml', '--date', '12/01/2025'], /--date/],
    [['--config', 'x.yaml', '--parallel-workers', '0'], /--parallel-workers/],
    [['--config', 'x.yaml', '--log-format', 'xml'], /--log-format: 'xml'/],
    [['--bogus'], /unknown or incomplete option '--bogus'/],
    [['--config'], /unknown or incomplete option/],
    [['--config', 'x.yaml', 'extra'], /unexpected argument 'extra'/],
  ]) {
    const r = run(dir, args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
  cleanup(dir);
});

test('several configs: a job failure is exit 1, the others finish, the closing line counts', () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({ table: 'orders' }));
  write(dir, 'b.yaml', dbConfig({ table: 'broken', query: 'SELECT * FROM missing_table' }));
  write(dir, 'c.yaml', dbConfig({ table: 'other', query: 'SELECT * FROM other' }));
  const r = run(dir, ['--config', 'a.yaml,b.yaml,c.yaml', '--parallel-workers', '2', '--date', '2025-01-12', '--log-format', 'simple'], { env: ENV });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\[INFO\] Starting extraction for shop\.orders/);
  assert.match(r.stderr, /b\.yaml: source\.db\.base_query: no such table: missing_table/);
  assert.match(r.stderr, /\[INFO\] Parallel extraction complete: 2 successful, 1 failed out of 3 total/);
  const metas = listFiles(join(dir, 'output')).filter((f) => f.endsWith('_metadata.json'));
  assert.deepEqual(metas, ['system=shop/table=orders/dt=2025-01-12/_metadata.json', 'system=shop/table=other/dt=2025-01-12/_metadata.json']);
  cleanup(dir);
});

test('several configs: any config error exits 2 and runs nothing', () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({ table: 'orders' }));
  write(dir, 'b.yaml', dbConfig({ table: 'other', env: 'UNSET_VAR_FOR_TEST' }));
  const r = run(dir, ['--config', 'a.yaml,b.yaml', '--date', '2025-01-12'], { env: ENV });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /b\.yaml: source\.db\.conn_str_env: environment variable UNSET_VAR_FOR_TEST is not set/);
  assert.deepEqual(listFiles(join(dir, 'output')), []);
  cleanup(dir);
});

test('two configs on one partition are a config error', () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({}));
  write(dir, 'b.yaml', dbConfig({}));
  const r = run(dir, ['--config', 'a.yaml,b.yaml'], { env: ENV });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /a\.yaml and b\.yaml: both write/);
  cleanup(dir);
});

test('--validate-only touches nothing: no env lookup, no output, no database', () => {
  const dir = workdir();
  write(dir, 'a.yaml', dbConfig({ env: 'NOT_SET_ANYWHERE' }));
  const r = run(dir, ['--config', 'a.yaml', '--validate-only']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(listFiles(dir), ['a.yaml']);
  cleanup(dir);
});

test('--dry-run connects and checks the output root without extracting', () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({}));
  const r = run(dir, ['--config', 'a.yaml', '--dry-run'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Dry run: source reachable, 2 column\(s\)\n/); // the query described
  assert.deepEqual(listFiles(join(dir, 'output')), []);
  write(dir, 'b.yaml', dbConfig({ query: 'SELECT nope FROM orders' }));
  const bad = run(dir, ['--config', 'b.yaml', '--dry-run'], { env: ENV });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /no such column: nope/);
  cleanup(dir);
});

test('log formats: json is one object per line with ts, level, job, msg; -q shows errors only', () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({}));
  const r = run(dir, ['--config', 'a.yaml', '--log-format', 'json'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length >= 3);
  // ts, level, job, msg, and fields on a line that carries figures (SPEC §2)
  for (const l of lines) assert.deepEqual(Object.keys(l), l.fields ? ['ts', 'level', 'job', 'msg', 'fields'] : ['ts', 'level', 'job', 'msg']);
  assert.ok(lines.some((l) => l.msg === 'Starting extraction for shop.orders' && l.job === 'shop.orders'));
  const fin = lines.find((l) => l.msg.startsWith('Finished: '));
  assert.ok(fin, r.stderr);
  assert.deepEqual(Object.keys(fin.fields), ['rows', 'files', 'bytes', 'seconds', 'rss_mib']);
  assert.equal(fin.fields.rows, Number(/Finished: (\d+) rows/.exec(fin.msg)[1]));
  assert.equal(fin.fields.files, Number(/, (\d+) files/.exec(fin.msg)[1]));
  assert.ok(fin.fields.bytes > 0 && fin.fields.seconds >= 0 && fin.fields.rss_mib > 1, JSON.stringify(fin));
  const env = run(dir, ['--config', 'a.yaml'], { env: { ...ENV, BRONZE_LOG_FORMAT: 'simple' } });
  assert.match(env.stderr, /^\[INFO\] /m);
  const q = run(dir, ['--config', 'a.yaml', '-q'], { env: ENV });
  assert.equal(q.code, 0);
  assert.equal(q.stderr, '');
  cleanup(dir);
});

test('no secret reaches a log line or an error', () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({}));
  const secret = 'postgresql://user:S3cretPassw0rd@127.0.0.1:1/db?connect_timeout=1';
  const r = run(dir, ['--config', 'a.yaml', '-v'], { env: { TEST_DB: secret } });
  assert.notEqual(r.code, 0);
  assert.ok(!r.stderr.includes('S3cretPassw0rd'), r.stderr);
  assert.ok(!r.stdout.includes('S3cretPassw0rd'));
  cleanup(dir);
});

test('on a terminal a live progress line is redrawn; off a terminal there is none', () => {
  const dir = workdir();
  sqlite(join(dir, 'big.db'), `CREATE TABLE orders (id INTEGER, v TEXT);
    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2000000)
    INSERT INTO orders SELECT i, hex(randomblob(16)) FROM s;`);
  write(dir, 'a.yaml', dbConfig({}));
  const cmd = `TEST_DB=sqlite:big.db ${BIN_RELEASE} --config a.yaml --date 2025-01-12`;
  const tty = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, TERM: 'xterm' } });
  assert.equal(tty.status, 0, tty.stdout);
  assert.match(tty.stdout, /\r\x1b\[Kshop\.orders: \d+ rows, \d+ parts, [\d.]+ MiB, \d+ rows\/s/);
  assert.match(tty.stdout, /Successfully completed extraction for shop\.orders/);
  const plain = run(dir, ['--config', 'a.yaml', '--date', '2025-01-12'], { env: { TEST_DB: 'sqlite:big.db' }, bin: BIN_RELEASE });
  assert.equal(plain.code, 0);
  assert.doesNotMatch(plain.stderr, /\x1b\[K/);
  cleanup(dir);
});
