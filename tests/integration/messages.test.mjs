// Messages that help (issue #17 items 1-3): --validate-only reports every
// error and warning of a file in file order; usage errors are logged in the
// chosen format; a job's lines are attributable with several workers; wrong
// folders, SQLAlchemy-style sqlite:/// URLs, unknown libpq keywords and
// empty input files each say what is wrong and what to do; JSON log lines
// are valid UTF-8 and carry the figures as fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { BIN, run, workdir, write, sqlite, dbConfig, listFiles, cleanup } from './lib/harness.mjs';

const ENV = { TEST_DB: 'sqlite:shop.db' };
const DATE = '2025-01-12';
function shop() {
  const dir = workdir('bf-msg-');
  sqlite(join(dir, 'shop.db'), 'CREATE TABLE orders (id INTEGER, note TEXT); INSERT INTO orders VALUES (1, \'a\'), (2, \'b\');');
  return dir;
}
const fileCfg = (path, extra = '') => `platform:\n  bronze:\n    local_path: "./output"\nsource:\n  type: "file"\n  system: "files"\n  table: "input"\n  file:\n    path: "${path}"\n${extra}`;
const noMarker = (dir) => assert.deepEqual(listFiles(dir).filter((f) => f.endsWith('_metadata.json')), []);

test('--validate-only: every error and warning of a file in one pass, in file order', () => {
  const dir = shop();
  write(dir, 'c.yaml', `platform:
  bronze:
    local_pat: "./output"
    partitioning:
      partition_strategy: "weekly"
source:
  type: "db"
  system: "shop"
  table: "orders"
  db:
    conn_str_env: "TEST_DB"
    base_query: "SELECT 1"
    fetch_batch_size: -1
  run:
    write_csv: maybe
    paralel_workers: 2
    max_retries: lots
`);
  const r = run(dir, ['--config', 'c.yaml', '--validate-only', '--log-format', 'simple']);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  const want = [
    ['WARNING', 3, 'platform.bronze.local_pat: unknown key'],
    ['ERROR', 5, 'platform.bronze.partitioning.partition_strategy: must be one of'],
    ['ERROR', 13, 'source.db.fetch_batch_size: must be an integer >= 1'],
    ['ERROR', 15, 'source.run.write_csv: must be true or false'],
    ['WARNING', 16, 'source.run.paralel_workers: unknown key'],
    ['ERROR', 17, 'source.run.max_retries: must be an integer >= 0'],
  ];
  assert.equal(lines.length, want.length, r.stderr);
  want.forEach(([lvl, line, text], i) => assert.ok(lines[i].startsWith(`[${lvl}] c.yaml:${line}:`) && lines[i].includes(text), `${i}: ${lines[i]}`));
  // the run reports the same, and runs nothing
  const full = run(dir, ['--config', 'c.yaml', '--log-format', 'simple'], { env: ENV });
  assert.equal(full.code, 2);
  assert.equal(full.stderr, r.stderr);
  noMarker(dir);
  cleanup(dir);
});

test('--validate-only sees the run-time rules: no format left, clashes, a bucket with a slash', () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({ platform: '    output_defaults:\n      allow_csv: false\n' }).replace('write_parquet: true', 'write_parquet: false'));
  write(dir, 'b.yaml', dbConfig({ table: 'same' }));
  write(dir, 'c.yaml', dbConfig({ table: 'same' }));
  write(dir, 'd.yaml', dbConfig({ table: 'buck', platform: '    s3_bucket: "my/bucket"\n' }));
  const r = run(dir, ['--config', 'a.yaml,b.yaml,c.yaml,d.yaml', '--validate-only', '--log-format', 'simple']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^\[ERROR\] a\.yaml:\d+:\d+: source\.run\.write_parquet: no output format is enabled .*write_parquet is false and allow_parquet is true, write_csv is true and allow_csv is false/m);
  assert.match(r.stderr, /^\[ERROR\] b\.yaml:\d+:3: source\.table: b\.yaml and c\.yaml: both write the same partition under output/m);
  assert.match(r.stderr, /^\[ERROR\] c\.yaml:\d+:3: source\.table: b\.yaml and c\.yaml: both write/m);
  assert.match(r.stderr, /^\[ERROR\] d\.yaml:\d+:\d+: platform\.bronze\.s3_bucket: 'my\/bucket' is not a bucket name/m);
  assert.doesNotMatch(r.stderr, /valid/);
  cleanup(dir);
});

test('usage errors follow --log-format and BRONZE_LOG_FORMAT; --date names a day that does not exist', () => {
  const dir = workdir();
  const cases = [
    [['--config', 'x.yaml', '--date', '2025-02-30', '--log-format', 'json'], {}, /--date: '2025-02-30' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM: it has the form but is not a real date/],
    [['--config', 'x.yaml', '--parallel-workers', '0'], { BRONZE_LOG_FORMAT: 'json' }, /--parallel-workers: '0' is not a whole number from 1 to 1024/],
    [['--bogus'], { BRONZE_LOG_FORMAT: 'json' }, /unknown or incomplete option '--bogus'/],
    [['--log-format', 'json', '--config', 'x.yaml', 'extra'], {}, /unexpected argument 'extra'/],
    [['--log-format', 'json'], {}, /--config is required/],
  ];
  for (const [args, env, re] of cases) {
    const r = run(dir, args, { env });
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args}: one JSON line, no usage text: ${r.stderr}`);
    const o = JSON.parse(lines[0]);
    assert.equal(o.level, 'ERROR');
    assert.match(o.msg, re);
  }
  const simple = run(dir, ['--date', '2025-13-40', '--config', 'x.yaml', '--log-format', 'simple']);
  assert.match(simple.stderr, /^\[ERROR\] bronze-extract: --date: '2025-13-40' is not .*not a real date/);
  const shape = run(dir, ['--date', 'tomorrow', '--config', 'x.yaml', '--log-format', 'simple']);
  assert.match(shape.stderr, /--date: 'tomorrow' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM$/m);
  cleanup(dir);
});

test('--config "a.yaml ,b.yaml " trims both sides of each path', () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({ table: 'a' }));
  write(dir, 'b.yaml', dbConfig({ table: 'b' }));
  const r = run(dir, ['--config', ' a.yaml ,b.yaml ', '--validate-only', '--log-format', 'simple']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^\[INFO\] a\.yaml: valid/m);
  assert.match(r.stderr, /^\[INFO\] b\.yaml: valid/m);
  cleanup(dir);
});

test('several workers, simple format: every job line names its job; a server message stays one line', () => {
  const dir = shop();
  sqlite(join(dir, 'shop.db'), 'CREATE TABLE other (id INTEGER); INSERT INTO other VALUES (1);');
  write(dir, 'a.yaml', dbConfig({ table: 'orders' }));
  write(dir, 'b.yaml', dbConfig({ table: 'other', query: 'SELECT * FROM other' }));
  write(dir, 'c.yaml', dbConfig({ table: 'broken', query: 'SELECT * FROM missing' }));
  const r = run(dir, ['--config', 'a.yaml,b.yaml,c.yaml', '--parallel-workers', '3', '--date', DATE, '--log-format', 'simple'], { env: ENV });
  assert.equal(r.code, 1, r.stderr);
  const global = /^\[INFO\] (Starting parallel extraction|Parallel extraction complete|Finished Bronze extract run)/;
  const lines = r.stderr.trim().split('\n').filter((l) => !global.test(l));
  assert.ok(lines.length >= 9, r.stderr);
  for (const l of lines) assert.match(l, /shop\.(orders|other|broken)/, l);
  assert.match(r.stderr, /^\[ERROR\] shop\.broken: c\.yaml: source\.db\.base_query: no such table: missing$/m);
  // one worker: the seed's lines as the seed prints them
  const one = run(dir, ['--config', 'a.yaml', '--date', '2025-01-13', '--log-format', 'simple'], { env: ENV });
  assert.match(one.stderr, /^\[INFO\] Finished: 2 rows/m);
  cleanup(dir);
});

test('a local_path that is a file, a state_file that is a folder: what is wrong and what to do', () => {
  const dir = shop();
  writeFileSync(join(dir, 'outfile'), 'x');
  write(dir, 'a.yaml', dbConfig({}).replace('local_path: "./output"', 'local_path: "./outfile"'));
  let r = run(dir, ['--config', 'a.yaml', '--date', DATE, '--log-format', 'simple'], { env: ENV });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^\[ERROR\] a\.yaml: platform\.bronze\.local_path: \.\/outfile is a file, not a folder; point the key at a folder \(created when missing\) or move the file away$/m);
  mkdirSync(join(dir, 'stdir'));
  write(dir, 'b.yaml', dbConfig({ db: '    incremental:\n      cursor_column: id\n      state_file: "stdir"\n' }));
  r = run(dir, ['--config', 'b.yaml', '--date', DATE, '--log-format', 'simple'], { env: ENV });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^\[ERROR\] b\.yaml: source\.db\.incremental\.state_file: stdir is a folder; give the path of a file \(for example stdir\/shop_orders_cursor\.json\)$/m);
  noMarker(dir);
  cleanup(dir);
});

test('an unwritable working directory is named as such', { skip: process.getuid?.() !== 0 && 'needs root to drop to another user' }, () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({}));
  chmodSync(join(dir, 'shop.db'), 0o644);
  chmodSync(dir, 0o755); // readable, not writable, by nobody
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', BIN, '--config', 'a.yaml', '--date', DATE, '--log-format', 'simple'],
    { cwd: dir, env: { PATH: process.env.PATH, ...ENV, ASAN_OPTIONS: 'detect_leaks=0' }, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^\\[ERROR\\] a\\.yaml: platform\\.bronze\\.local_path: cannot create \\./output: the working directory ${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not writable by this user; run from a folder you can write to, or point platform\\.bronze\\.local_path at one$`, 'm'));
  cleanup(dir);
});

test('sqlite:///rel.db is an absolute path (SPEC §3): the message says so and gives the relative form', () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({}));
  const r = run(dir, ['--config', 'a.yaml', '--date', DATE, '--log-format', 'simple'], { env: { TEST_DB: 'sqlite:///shop.db' } });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /a\.yaml: source\.db\.conn_str_env: cannot open SQLite database \/shop\.db: unable to open database file \(sqlite:\/\/\/ is followed by an absolute path, as in file:\/\/\/ URLs, not a relative one as in SQLAlchemy: for shop\.db in the working directory write sqlite:<that path>\)/);
  const ok = run(dir, ['--config', 'a.yaml', '--date', DATE, '--log-format', 'simple'], { env: { TEST_DB: 'sqlite:shop.db' } });
  assert.equal(ok.code, 0, ok.stderr);
  cleanup(dir);
});

test('an unknown libpq keyword is named (and nothing else of the string is shown)', () => {
  const dir = shop();
  write(dir, 'a.yaml', dbConfig({}));
  const r = run(dir, ['--config', 'a.yaml', '--date', DATE, '--log-format', 'simple'], { env: { TEST_DB: 'host=127.0.0.1 dbname=x pasword=hunter2' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /a\.yaml: source\.db\.conn_str_env: the connection string in TEST_DB has the keyword 'pasword', which libpq does not know; check its spelling/);
  assert.ok(!r.stderr.includes('hunter2'));
  cleanup(dir);
});

test('a 0-byte or header-only input file is loaded with a warning naming it', () => {
  const dir = workdir('bf-msg-');
  writeFileSync(join(dir, 'in1.csv'), '');
  writeFileSync(join(dir, 'in2.csv'), 'a,b\n');
  writeFileSync(join(dir, 'in3.csv'), 'a,b\n1,2\n');
  write(dir, 'c.yaml', fileCfg('in*.csv'));
  const r = run(dir, ['--config', 'c.yaml', '--date', DATE, '--log-format', 'simple']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^\[WARNING\] c\.yaml: source\.file\.path: in1\.csv is empty \(0 bytes\): an empty export often means the job that wrote it failed; check it before relying on this batch$/m);
  assert.match(r.stderr, /^\[WARNING\] c\.yaml: source\.file\.path: in2\.csv holds a header and no rows: an empty export/m);
  assert.doesNotMatch(r.stderr, /in3\.csv/);
  writeFileSync(join(dir, 'e.json'), '[]');
  write(dir, 'j.yaml', fileCfg('e.json').replace('table: "input"', 'table: "json"'));
  const j = run(dir, ['--config', 'j.yaml', '--date', DATE, '--log-format', 'simple']);
  assert.equal(j.code, 0, j.stderr);
  assert.match(j.stderr, /^\[WARNING\] j\.yaml: source\.file\.path: e\.json holds no records: an empty export/m);
  cleanup(dir);
});

test('JSON log lines are valid UTF-8 for a file name that is not, and carry the figures as fields', () => {
  const dir = workdir('bf-msg-');
  const bad = Buffer.concat([Buffer.from(join(dir, 'caf')), Buffer.from([0xe9]), Buffer.from('.csv')]);
  writeFileSync(bad, ''); // a Latin-1 name, empty: the warning names it
  writeFileSync(join(dir, 'ok.csv'), 'a\n1\n');
  write(dir, 'c.yaml', fileCfg('*.csv'));
  const r = spawnSync(BIN, ['--config', 'c.yaml', '--date', DATE, '--log-format', 'json'], { cwd: dir, env: { PATH: process.env.PATH } });
  assert.equal(r.status, 0, r.stderr.toString());
  const text = new TextDecoder('utf-8', { fatal: true }).decode(r.stderr); // throws on invalid UTF-8
  const lines = text.trim().split('\n').map((l) => JSON.parse(l));
  const w = lines.find((l) => l.level === 'WARNING');
  assert.ok(w, text);
  assert.match(w.msg, /caf\uFFFD\.csv is empty \(0 bytes\)/);
  const fin = lines.find((l) => l.msg.startsWith('Finished: '));
  assert.deepEqual(fin.fields, { ...fin.fields, rows: 1, files: 2 });
  for (const k of ['bytes', 'seconds', 'rss_mib']) assert.equal(typeof fin.fields[k], 'number', k);
  cleanup(dir);
});
