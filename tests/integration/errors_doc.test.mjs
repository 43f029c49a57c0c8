// docs/errors.md is true (issue #17 item 5): every entry of the catalogue
// names a case; the case is run here, from fixtures written by this file,
// and must exit as the entry says and print the entry's message (its
// <placeholders> stand for any text) on the stream it names. A case id in
// the doc that this file does not know, or a case here that no entry uses,
// fails the test, so the two cannot drift apart.
//
// ERRORS_DOC_PRINT=1 prints each case's output instead of checking (to write
// an entry from what the tool really says).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, rmSync, chmodSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT, BIN, runAsync, workdir, sqlite, dbConfig, cleanup } from './lib/harness.mjs';
import { start as startPg } from './lib/pg.mjs';
import { startApi } from './lib/http_api.mjs';
import { startS3, s3Platform } from './lib/s3.mjs';

const DATE = '2025-01-12';
const DOC = join(ROOT, 'docs/errors.md');
const PRINT = !!process.env.ERRORS_DOC_PRINT;

// ---- the doc: "### `template`" then "case: `id` · exit N · stream" ----

function parseDoc(text) {
  const out = [];
  let area = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const a = /^## (.+)$/.exec(lines[i]);
    if (a) area = a[1];
    const h = /^### `(.+)`$/.exec(lines[i]);
    if (!h) continue;
    const meta = lines.slice(i + 1, i + 4).map((l) => /^case: `([a-z0-9-]+)` · exit (\d) · (stderr|stdout)(?: · (ERROR|WARNING|INFO))?$/.exec(l)).find(Boolean);
    assert.ok(meta, `docs/errors.md:${i + 1}: entry "${h[1]}" has no "case: \`id\` · exit N · stream" line`);
    const body = lines.slice(i + 1, i + 12).join('\n');
    assert.match(body, /\*\*Cause\.\*\*/, `docs/errors.md:${i + 1}: entry without a Cause`);
    assert.match(body, /\*\*Fix\.\*\*/, `docs/errors.md:${i + 1}: entry without a Fix`);
    out.push({ line: i + 1, area, template: h[1].replace(/``/g, '`'), id: meta[1], exit: Number(meta[2]), stream: meta[3], level: meta[4] || null });
  }
  return out;
}

/** A template as a regex: <anything> matches any text, the rest literally. */
function templateRe(t) {
  const parts = t.split(/<[^<>]+>/).map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return new RegExp(parts.join('.+?'));
}

// ---- the cases ----

let pg, api, s3;
const needs = new Set();
const cfgFile = (path, extra = '') => `platform:\n  bronze:\n    local_path: "./output"\nsource:\n  type: "file"\n  system: "files"\n  table: "input"\n  file:\n    path: "${path}"\n${extra}`;
const db = (o = {}) => dbConfig(o);
const apiCfg = (endpoint, extra = '') => `platform:\n  bronze:\n    local_path: "./output"\nsource:\n  type: "api"\n  system: "web"\n  table: "items"\n  api:\n    base_url: "{API}"\n    endpoint: "${endpoint}"\n    data_path: "items"\n${extra}  run:\n    max_retries: 0\n`;
const customCfg = (cmd) => `platform:\n  bronze:\n    local_path: "./output"\nsource:\n  type: "custom"\n  system: "ext"\n  table: "rows"\n  custom_extractor:\n    command: ${cmd}\n  run:\n    timeout_seconds: 5\n`;
const SQ = { TEST_DB: 'sqlite:shop.db' };
const run = (args) => ['--date', DATE, '--log-format', 'simple', ...args];

/** A committed local batch to verify (then damaged by the case). */
async function committed(dir) {
  writeFileSync(join(dir, 'c.yaml'), db());
  const r = await runAsync(dir, run(['--config', 'c.yaml']), { env: SQ });
  assert.equal(r.code, 0, r.stderr);
  const part = join(dir, `output/system=shop/table=orders/dt=${DATE}`);
  return { part, files: readdirSync(part).filter((f) => !f.startsWith('_') && !f.startsWith('.')) };
}

const CASES = {
  // CLI and usage
  'cli-unknown-option': { args: ['--config', 'c.yaml', '--colour'] },
  'cli-unexpected-arg': { args: ['--config', 'c.yaml', 'extra'] },
  'cli-no-config': { args: ['--date', DATE] },
  'cli-date-shape': { args: ['--config', 'c.yaml', '--date', '12/01/2025'] },
  'cli-date-not-real': { args: ['--config', 'c.yaml', '--date', '2025-02-30'] },
  'cli-workers': { args: ['--config', 'c.yaml', '--parallel-workers', '0'] },
  'cli-log-format': { args: ['--config', 'c.yaml', '--log-format', 'xml'] },
  'cli-valid': { files: { 'c.yaml': db() }, args: ['--config', 'c.yaml', '--validate-only', '--log-format', 'simple'] },
  'verify-usage': { args: ['verify'] },
  // config
  'cfg-missing-file': { args: run(['--config', 'nope.yaml']) },
  'cfg-empty': { files: { 'c.yaml': '' }, args: run(['--config', 'c.yaml']) },
  'cfg-syntax': { files: { 'c.yaml': 'source:\n  type: "db\n  system: x\n' }, args: run(['--config', 'c.yaml']) },
  'cfg-tab': { files: { 'c.yaml': db().replace('  system: "shop"', '\tsystem: "shop"') }, args: run(['--config', 'c.yaml']) },
  'cfg-dup': { files: { 'c.yaml': db().replace('  table: "orders"\n', '  table: "orders"\n  table: "x"\n') }, args: run(['--config', 'c.yaml']) },
  'cfg-typo': { files: { 'c.yaml': db({ run: '    paralel_workers: 2\n' }) }, args: run(['--config', 'c.yaml', '--validate-only']) },
  'cfg-no-source': { files: { 'c.yaml': 'platform:\n  bronze:\n    local_path: "./output"\n' }, args: run(['--config', 'c.yaml']) },
  'cfg-type': { files: { 'c.yaml': db().replace('type: "db"', 'type: "ftp"') }, args: run(['--config', 'c.yaml']) },
  'cfg-enum': { files: { 'c.yaml': db({ platform: '    partitioning:\n      partition_strategy: "weekly"\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-bool': { files: { 'c.yaml': db().replace('write_csv: true', 'write_csv: maybe') }, args: run(['--config', 'c.yaml']) },
  'cfg-int-min': { files: { 'c.yaml': db({ run: '    max_rows_per_file: -5\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-int-max': { files: { 'c.yaml': db({ run: '    parallel_workers: 5000\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-positive': { files: { 'c.yaml': db({ run: '    max_file_size_mb: 0\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-quoted-number': { files: { 'c.yaml': db({ run: '    parallel_workers: "4"\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-not-map': { files: { 'c.yaml': db().replace('  run:\n    write_csv: true\n    write_parquet: true\n', '  run: 5\n') }, args: run(['--config', 'c.yaml']) },
  'cfg-segment': { files: { 'c.yaml': db({ table: '../x' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-segment-long': { files: { 'c.yaml': db({ system: 'x'.repeat(201) }) }, args: run(['--config', 'c.yaml']) },
  'cfg-partition-long': { files: { 'c.yaml': db({ system: 'x'.repeat(110), table: 'y'.repeat(110) }) }, args: run(['--config', 'c.yaml']) },
  'cfg-env-value': { files: { 'c.yaml': db({ env: 'postgresql://u:pw@h/db' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-db-required': { files: { 'c.yaml': db().replace('    base_query: "SELECT * FROM orders"\n', '') }, args: run(['--config', 'c.yaml']) },
  'cfg-section-required': { files: { 'c.yaml': 'source:\n  type: "db"\n  system: "s"\n  table: "t"\n' }, args: run(['--config', 'c.yaml']) },
  'cfg-lookback': { files: { 'c.yaml': db({ db: '    incremental:\n      cursor_column: id\n      lookback: "2 fortnights"\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-inc-no-column': { files: { 'c.yaml': db({ db: '    incremental:\n      enabled: true\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-s3-no-bucket': { files: { 'c.yaml': db({ run: '    s3_enabled: true\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-local-s3': { files: { 'c.yaml': db({ platform: '    storage_backend: "local"\n    s3_bucket: "b"\n', run: '    s3_enabled: true\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-azure': { files: { 'c.yaml': db({ platform: '    storage_backend: "azure"\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-alias': { files: { 'c.yaml': db({ platform: '    s3_bucket: "b"\n', run: '    s3_enabled: true\n    storage_enabled: false\n' }) }, args: run(['--config', 'c.yaml']) },
  'cfg-no-format': { files: { 'c.yaml': db().replace('write_csv: true', 'write_csv: false').replace('write_parquet: true', 'write_parquet: false') }, args: run(['--config', 'c.yaml']) },
  'cfg-clash': { files: { 'a.yaml': db(), 'b.yaml': db() }, args: run(['--config', 'a.yaml,b.yaml', '--validate-only']) },
  'cfg-clash-state': { files: { 'a.yaml': db({ db: '    incremental:\n      cursor_column: id\n      state_file: "st.json"\n' }), 'b.yaml': db({ table: 'b', db: '    incremental:\n      cursor_column: id\n      state_file: "st.json"\n' }) }, args: run(['--config', 'a.yaml,b.yaml']) },
  'cfg-bucket-slash': { files: { 'c.yaml': db({ platform: '    s3_bucket: "bronze/raw"\n' }) }, args: run(['--config', 'c.yaml', '--validate-only']) },
  'cfg-encoding': { files: { 'c.yaml': cfgFile('in.csv', '    encoding: "klingon-8"\n') }, args: run(['--config', 'c.yaml']) },
  'cfg-custom-none': { files: { 'c.yaml': customCfg('[]').replace('    command: []\n', '    params: {}\n') }, args: run(['--config', 'c.yaml']) },
  'cfg-env-unset': { files: { 'c.yaml': db() }, args: run(['--config', 'c.yaml']), env: {} },
  // sources
  'src-conn-kind': { files: { 'c.yaml': db() }, args: run(['--config', 'c.yaml']), env: { TEST_DB: 'mysql://h/db' } },
  'src-sqlite-no-path': { files: { 'c.yaml': db() }, args: run(['--config', 'c.yaml']), env: { TEST_DB: 'sqlite:' } },
  'src-sqlite-open': { files: { 'c.yaml': db() }, args: run(['--config', 'c.yaml']), env: { TEST_DB: 'sqlite:nope.db' } },
  'src-sqlite-abs': { files: { 'c.yaml': db() }, args: run(['--config', 'c.yaml']), env: { TEST_DB: 'sqlite:///shop.db' } },
  'src-sqlite-query': { files: { 'c.yaml': db({ query: 'SELECT * FROM nowhere' }) }, args: run(['--config', 'c.yaml']) },
  'src-cursor-col': { files: { 'c.yaml': db({ db: '    incremental_key: "updated"\n' }) }, args: run(['--config', 'c.yaml']) },
  'src-libpq-keyword': { files: { 'c.yaml': db() }, args: run(['--config', 'c.yaml']), env: { TEST_DB: 'host=127.0.0.1 dbnme=x' } },
  'src-pg-query': { needs: 'pg', files: { 'c.yaml': db({ query: 'SELECT * FROM nowhere' }) }, args: run(['--config', 'c.yaml']), env: () => ({ TEST_DB: pg.url }) },
  'src-pg-refused': { files: { 'c.yaml': db({ run: '    max_retries: 0\n' }) }, args: run(['--config', 'c.yaml']), env: { TEST_DB: 'postgresql://postgres@127.0.0.1:1/postgres' } },
  'src-odbc-driver': { files: { 'c.yaml': db() }, args: run(['--config', 'c.yaml']), env: { TEST_DB: 'DRIVER=/no/such/driver.so;SERVER=db' } },
  'src-file-missing': { files: { 'c.yaml': cfgFile('exports/*.csv') }, args: run(['--config', 'c.yaml']) },
  'src-file-empty': { files: { 'c.yaml': cfgFile('in.csv'), 'in.csv': '' }, args: run(['--config', 'c.yaml']) },
  'src-file-header-only': { files: { 'c.yaml': cfgFile('in.csv'), 'in.csv': 'a,b\n' }, args: run(['--config', 'c.yaml']) },
  'src-csv-ragged': { files: { 'c.yaml': cfgFile('in.csv'), 'in.csv': 'a,b\n1,2\n3,4,5\n' }, args: run(['--config', 'c.yaml']) },
  'src-csv-utf8': { files: { 'c.yaml': cfgFile('in.csv'), 'in.csv': Buffer.concat([Buffer.from('a,b\n1,'), Buffer.from([0xe9]), Buffer.from('\n')]) }, args: run(['--config', 'c.yaml']) },
  'src-json-truncated': { files: { 'c.yaml': cfgFile('in.json', '    format: "json"\n'), 'in.json': '[{"a": 1}, {"a": ' }, args: run(['--config', 'c.yaml']) },
  'src-api-http': { needs: 'api', files: { 'c.yaml': apiCfg('/notfound') }, args: run(['--config', 'c.yaml']) },
  'src-api-data-path': { needs: 'api', files: { 'c.yaml': apiCfg('/offset').replace('data_path: "items"', 'data_path: "rows"') }, args: run(['--config', 'c.yaml']) },
  'src-api-not-json': { needs: 'api', files: { 'c.yaml': apiCfg('/html') }, args: run(['--config', 'c.yaml']) },
  'src-api-utf8': { needs: 'api', files: { 'c.yaml': apiCfg('/latin1') }, args: run(['--config', 'c.yaml']) },
  'src-custom-exit': { files: { 'c.yaml': customCfg('["sh", "-c", "echo oops >&2; exit 3"]') }, args: run(['--config', 'c.yaml']) },
  'src-custom-missing': { files: { 'c.yaml': customCfg('["./no-such-program"]') }, args: run(['--config', 'c.yaml']) },
  'src-jsonl-not-object': { files: { 'c.yaml': cfgFile('in.jsonl', '    format: "jsonl"\n'), 'in.jsonl': '{"a":1}\n[1,2]\n' }, args: run(['--config', 'c.yaml']) },
  'src-sqlite-utf8': { files: { 'c.yaml': db({ query: 'SELECT id, CAST(X\'41E9\' AS TEXT) AS note FROM orders' }) }, args: run(['--config', 'c.yaml']) },
  'src-sqlite-decimal': { files: { 'c.yaml': db({ query: 'SELECT * FROM prices' }) }, setup: (d) => sqlite(join(d, 'shop.db'), 'CREATE TABLE prices (price DECIMAL(5,2)); INSERT INTO prices VALUES (1.5), (123456.5);'), args: run(['--config', 'c.yaml']) },
  'src-api-auth': { needs: 'api', files: { 'c.yaml': apiCfg('/auth/bearer', '    auth_type: "bearer"\n    auth_token_env: "API_TOKEN"\n') }, env: { API_TOKEN: 'wrong-token' }, args: run(['--config', 'c.yaml']) },
  'src-custom-silent': { files: { 'c.yaml': customCfg('["sh", "-c", "sleep 20"]').replace('timeout_seconds: 5', 'timeout_seconds: 1') }, args: run(['--config', 'c.yaml']) },
  'dry-ok': { files: { 'c.yaml': db() }, args: run(['--config', 'c.yaml', '--dry-run']) },
  'dry-fail': { files: { 'c.yaml': db() }, env: { TEST_DB: 'sqlite:nope.db' }, args: run(['--config', 'c.yaml', '--dry-run']) },
  // storage
  'st-local-file': { files: { 'c.yaml': db().replace('local_path: "./output"', 'local_path: "./out"'), out: 'x' }, args: run(['--config', 'c.yaml']) },
  'st-state-dir': { files: { 'c.yaml': db({ db: '    incremental:\n      cursor_column: id\n      state_file: "state"\n' }) }, setup: (d) => mkdirSync(join(d, 'state')), args: run(['--config', 'c.yaml']) },
  'st-cwd': { root: true, files: { 'c.yaml': db() }, args: run(['--config', 'c.yaml']) },
  'st-lock': { files: { 'c.yaml': db() }, lock: `output/.bronze-tmp/system=shop+table=orders+dt=${DATE}.lock`, args: run(['--config', 'c.yaml']) },
  'st-s3-bad-secret': { needs: 's3', files: { 'c.yaml': () => db({ platform: s3Platform({ prefix: 'p' }), run: '    s3_enabled: true\n    max_retries: 0\n' }) }, args: run(['--config', 'c.yaml']), env: () => ({ ...SQ, ...s3.configEnv, BRONZE_S3_SECRET_KEY: 'wrong' }) },
  'st-s3-no-bucket': { needs: 's3', files: { 'c.yaml': () => db({ platform: s3Platform({ bucket: 'not-there', prefix: 'p' }), run: '    s3_enabled: true\n    max_retries: 0\n' }) }, args: run(['--config', 'c.yaml']), env: () => ({ ...SQ, ...s3.configEnv }) },
  // commit and verify
  'commit-ok': { files: { 'c.yaml': db() }, args: run(['--config', 'c.yaml']) },
  'run-summary': { files: { 'a.yaml': db(), 'b.yaml': db({ table: 'broken', query: 'SELECT * FROM nowhere' }) }, args: run(['--config', 'a.yaml,b.yaml']) },
  'commit-interrupt': { files: { 'c.yaml': customCfg('["sh", "-c", "sleep 30"]') }, signal: 'SIGINT', args: run(['--config', 'c.yaml']) },
  'verify-missing': { batch: (b) => rmSync(join(b.part, b.files[0])), args: ['verify', 'output', '--log-format', 'simple'] },
  'verify-changed': { batch: (b) => writeFileSync(join(b.part, b.files[0]), 'x'), args: ['verify', 'output', '--log-format', 'simple'] },
  'verify-unlisted': { batch: (b) => writeFileSync(join(b.part, 'part-9999.parquet'), 'x'), args: ['verify', 'output', '--log-format', 'simple'] },
  'verify-summary': { batch: () => {}, args: ['verify', 'output', '--log-format', 'simple'] },
};

const entries = parseDoc(readFileSync(DOC, 'utf8'));
for (const e of entries) if (CASES[e.id]?.needs) needs.add(CASES[e.id].needs);

before(async () => {
  if (needs.has('pg')) pg = startPg();
  if (needs.has('api')) api = await startApi();
  if (needs.has('s3')) s3 = await startS3({ bucket: 'bronze' });
});
after(async () => {
  pg?.stop();
  await api?.stop();
  await s3?.stop();
});

/** Runs a case in a fresh folder: {code, stdout, stderr}. */
async function runCase(c) {
  const dir = workdir('bf-errdoc-');
  try {
    sqlite(join(dir, 'shop.db'), 'CREATE TABLE orders (id INTEGER, note TEXT); INSERT INTO orders VALUES (1, \'a\');');
    writeFileSync(join(dir, 'in.csv'), 'a,b\n1,2\n');
    if (c.batch) c.batch(await committed(dir));
    for (const [name, text] of Object.entries(c.files || {})) {
      const t = typeof text === 'function' ? text() : text;
      writeFileSync(join(dir, name), typeof t === 'string' ? t.replaceAll('{API}', api?.url ?? '') : t);
    }
    if (c.setup) c.setup(dir);
    const env = typeof c.env === 'function' ? c.env() : (c.env ?? SQ);
    if (c.root) {
      chmodSync(dir, 0o755);
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', BIN, ...c.args],
        { cwd: dir, env: { PATH: process.env.PATH, ASAN_OPTIONS: 'detect_leaks=0', ...env }, encoding: 'utf8' });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, dir };
    }
    if (c.lock) { // another process holds the partition's lock
      mkdirSync(join(dir, 'output/.bronze-tmp'), { recursive: true });
      const holder = spawn('flock', [join(dir, c.lock), 'sleep', '20'], { stdio: 'ignore' });
      for (let i = 0; i < 100 && !existsSync(join(dir, c.lock)); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100));
      try {
        return { ...(await runAsync(dir, c.args, { env })), dir };
      } finally {
        holder.kill();
      }
    }
    if (c.signal) {
      const child = spawn(BIN, c.args, { cwd: dir, env: { PATH: process.env.PATH, ...env } });
      let stderr = '', stdout = '';
      child.stderr.on('data', (d) => { stderr += d; });
      child.stdout.on('data', (d) => { stdout += d; });
      await new Promise((r) => setTimeout(r, 1500));
      child.kill(c.signal);
      const code = await new Promise((r) => child.on('close', (c2) => r(c2)));
      return { code, stdout, stderr, dir };
    }
    return { ...(await runAsync(dir, c.args, { env })), dir };
  } finally {
    if (!PRINT) cleanup(dir);
  }
}

test('docs/errors.md: every entry names a known case, and every case has an entry', () => {
  assert.ok(entries.length >= 60, String(entries.length));
  const areas = new Set(entries.map((e) => e.area));
  for (const a of ['CLI and usage', 'Config', 'Sources', 'Storage', 'Commit and verify']) assert.ok(areas.has(a), a);
  for (const e of entries) assert.ok(CASES[e.id], `docs/errors.md:${e.line}: unknown case ${e.id}`);
  const used = new Set(entries.map((e) => e.id));
  for (const id of Object.keys(CASES)) assert.ok(used.has(id), `case ${id} has no entry in docs/errors.md`);
});

for (const e of entries) {
  const c = CASES[e.id];
  if (!c) continue;
  const skip = c.root && process.getuid?.() !== 0 ? 'needs root to drop to another user' : false;
  test(`docs/errors.md:${e.line} ${e.id}`, { skip }, async () => {
    const r = await runCase(c);
    if (PRINT) {
      console.log(`== ${e.id} exit ${r.code}\n-- stderr\n${r.stderr}-- stdout\n${r.stdout}`);
      return;
    }
    assert.equal(r.code, e.exit, `${e.id}: exit ${r.code}\n${r.stderr}${r.stdout}`);
    const out = e.stream === 'stdout' ? r.stdout : r.stderr;
    const re = templateRe(e.template);
    const line = out.split('\n').find((l) => re.test(l));
    assert.ok(line, `${e.id}: no line matches the entry\n  ${e.template}\n  regex ${re}\n${out}`);
    if (e.level) assert.match(line, new RegExp(`^(\\[${e.level}\\]|\\S+ ${e.level} )`), `${e.id}: level`);
    assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error|LeakSanitizer/);
  });
}
