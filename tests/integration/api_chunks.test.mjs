// api_chunks.test.mjs - the seed's chunk-level log lines where the source is
// spooled (issue #11 item 7, #14 item 1): an API and a custom command print
//   Retrieved N records from extractor
//   Chunked N records into M chunks (...)
//   Processing M chunks with W workers
//   Chunk K completed successfully   (debug, once per chunk)
// with N the records that land and M the chunks the spool was cut into
// (max_rows_per_file records / max_file_size_mb of JSON each), and no other
// line saying a chunk completed. A database source, which has no spool, says
// "Chunk K completed successfully (N rows)" as each part file closes.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsync, workdir, write, query, readJson, today, cleanup, sqlite, dbConfig } from './lib/harness.mjs';
import { startApi, makeRecords } from './lib/http_api.mjs';

let api;
before(async () => { api = await startApi(); });
after(async () => { await api.stop(); });
beforeEach(() => api.reset());

const DT = today();
const part = (dir, system, table) => join(dir, 'output', `system=${system}`, `table=${table}`, `dt=${DT}`);

function chunkLines(stderr) {
  const grab = (re) => [...stderr.matchAll(re)].map((m) => m.slice(1));
  return {
    retrieved: grab(/\[INFO\] (?:[\w.]+: )?Retrieved (\d+) records from extractor\n/g),
    chunked: grab(/\[INFO\] (?:[\w.]+: )?Chunked (\d+) records into (\d+) chunks(?: \(([^)]*)\))?\n/g),
    processing: grab(/\[INFO\] (?:[\w.]+: )?Processing (\d+) chunks with (\d+) workers\n/g),
    done: grab(/\[DEBUG\] (?:[\w.]+: )?Chunk (\d+) completed successfully\n/g).map((x) => Number(x[0])),
    // every line that says a chunk completed, in any wording: one per chunk
    // (the roller's per-part line must not say it a second time)
    any: grab(/Chunk (\d+) completed/g).map((x) => Number(x[0])),
  };
}

test('API: N records over pages, M chunks of max_rows_per_file, W workers; one debug line per chunk', async () => {
  api.data = makeRecords(2500);
  const dir = workdir();
  write(dir, 'c.yaml', `platform:
  bronze:
    local_path: "./output"
source:
  type: api
  system: ext
  table: t
  api:
    base_url: "${api.url}"
    endpoint: /offset
    pagination: {type: offset, page_size: 100}
  run:
    write_csv: false
    max_rows_per_file: 1000
    parallel_workers: 2
`);
  const r = await runAsync(dir, ['--config', 'c.yaml', '-v', '--log-format', 'simple']);
  assert.equal(r.code, 0, r.stderr);
  const l = chunkLines(r.stderr);
  assert.deepEqual(l.retrieved, [['2500']]);
  assert.deepEqual(l.chunked, [['2500', '3', 'max_rows_per_file=1000']]);
  assert.deepEqual(l.processing, [['3', '2']]);
  assert.deepEqual(l.done, [1, 2, 3]);
  assert.deepEqual(l.any, l.done);
  // the lines come in the seed's order, chunks after "Processing"
  const at = (s) => r.stderr.indexOf(s);
  assert.ok(at('Retrieved 2500') < at('Chunked 2500') && at('Chunked 2500') < at('Processing 3'));
  assert.ok(at('Processing 3') < at('Chunk 1 completed'));
  // N and M are true: N rows landed, in M parts of max_rows_per_file
  const m = readJson(join(part(dir, 'ext', 't'), '_metadata.json'));
  assert.equal(m.total_records, 2500);
  assert.deepEqual(m.files.map((f) => f.rows), [1000, 1000, 500]);
  const rows = await query(`SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS d FROM read_parquet('${part(dir, 'ext', 't')}/*.parquet')`);
  assert.deepEqual(rows, [{ n: 2500, d: 2500 }]);
  // without -v the debug lines stay out, the info lines stay in
  const d2 = workdir();
  write(d2, 'c.yaml', readFileSync(join(dir, 'c.yaml'), 'utf8'));
  const q = await runAsync(d2, ['--config', 'c.yaml', '--log-format', 'simple']);
  assert.equal(q.code, 0, q.stderr);
  assert.deepEqual(chunkLines(q.stderr).done, []);
  assert.deepEqual(chunkLines(q.stderr).processing, [['3', '2']]);
  cleanup(dir);
  cleanup(d2);
});

test('API: chunks by max_file_size_mb count the spooled bytes; a widened column does not repeat chunk lines', async () => {
  // 20,600 records; the last one's score is a float, past the 20,480-row
  // sample: the int column widens, the spool is read again, and each chunk is
  // still reported once. M is what cutting the spooled lines (each record's
  // bytes and a newline) at 0.5 MiB gives.
  const N = 20600;
  api.data = makeRecords(N);
  api.data[N - 1].score = 0.5;
  const budget = Math.floor(0.5 * 1048576);
  let want = 0, cur = 0, rowsIn = 0;
  for (const rec of api.data) {
    const n = Buffer.byteLength(JSON.stringify(rec)) + 1;
    if (rowsIn && cur + n > budget) { want++; cur = 0; rowsIn = 0; }
    cur += n; rowsIn++;
  }
  if (rowsIn) want++;
  assert.ok(want >= 3, `${want} chunks`);
  const dir = workdir();
  write(dir, 'c.yaml', `platform:
  bronze:
    local_path: "./output"
source:
  type: api
  system: ext
  table: t
  api:
    base_url: "${api.url}"
    endpoint: /offset
    pagination: {type: offset, page_size: 1000}
  run:
    write_csv: false
    max_file_size_mb: 0.5
`);
  const r = await runAsync(dir, ['--config', 'c.yaml', '-v', '--log-format', 'simple']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /a value of column 'score' in page 21, record 600 does not fit INT64; reading the rest of the input/);
  assert.match(r.stderr, /\] (?:[\w.]+: )?column 'score' widened from INT64 to DOUBLE\n/);
  assert.doesNotMatch(r.stderr, /spool-api|file source/);
  const l = chunkLines(r.stderr);
  assert.deepEqual(l.retrieved, [[String(N)]]);
  assert.deepEqual(l.chunked, [[String(N), String(want), 'max_file_size_mb=0.5']]);
  assert.deepEqual(l.processing, [[String(want), '1']]);
  assert.deepEqual(l.done, Array.from({ length: want }, (_, i) => i + 1));
  assert.deepEqual(l.any, l.done);
  const rows = await query(`SELECT score FROM read_parquet('${part(dir, 'ext', 't')}/*.parquet') ORDER BY id`);
  assert.equal(rows.length, N);
  assert.equal(rows[N - 1].score, 0.5);
  cleanup(dir);
});

/** A custom command job in dir: ./gen.sh (script) writing table cmd.<table>. */
function commandJob(dir, table, script, run = '') {
  write(dir, 'gen.sh', script);
  chmodSync(join(dir, 'gen.sh'), 0o755);
  write(dir, 'c.yaml', `platform:
  bronze:
    local_path: "./output"
source:
  type: custom
  system: cmd
  table: ${table}
  custom_extractor:
    command: ["./gen.sh"]
  run:
    write_csv: false
${run}`);
}

test('custom command: the same lines for a spooled extractor', async () => {
  const dir = workdir();
  commandJob(dir, 'gen', '#!/bin/sh\ni=1\nwhile [ $i -le 250 ]; do echo "{\\"id\\": $i, \\"v\\": \\"x$i\\"}"; i=$((i+1)); done\n',
    '    max_rows_per_file: 100\n');
  const r = await runAsync(dir, ['--config', 'c.yaml', '-v', '--log-format', 'simple']);
  assert.equal(r.code, 0, r.stderr);
  const l = chunkLines(r.stderr);
  assert.deepEqual(l.retrieved, [['250']]);
  assert.deepEqual(l.chunked, [['250', '3', 'max_rows_per_file=100']]);
  assert.deepEqual(l.processing, [['3', '1']]);
  assert.deepEqual(l.done, [1, 2, 3]);
  assert.deepEqual(l.any, l.done);
  const m = readJson(join(part(dir, 'cmd', 'gen'), '_metadata.json'));
  assert.equal(m.total_records, 250);
  assert.equal(readdirSync(part(dir, 'cmd', 'gen')).filter((f) => f.endsWith('.parquet')).length, 3);
  cleanup(dir);
});

test('custom command: a record past the sample that widens a column is named by its number, not by the spool file', async () => {
  // 20,600 records (the sample is 20,480); the last one's v is a float
  const dir = workdir();
  commandJob(dir, 'wide', '#!/bin/sh\nawk \'BEGIN { for (i = 1; i < 20600; i++) printf "{\\"id\\": %d, \\"v\\": %d}\\n", i, i; print "{\\"id\\": 20600, \\"v\\": 0.5}" }\'\n');
  const r = await runAsync(dir, ['--config', 'c.yaml', '--log-format', 'simple']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\] (?:[\w.]+: )?a value of column 'v' in record 20600 does not fit INT64; reading the rest of the input/);
  assert.match(r.stderr, /\] (?:[\w.]+: )?column 'v' widened from INT64 to DOUBLE\n/);
  assert.doesNotMatch(r.stderr, /spool-command|file source/);
  const [agg] = await query(`SELECT count(*)::INT n, typeof(any_value(v)) t, max(v) hi FROM read_parquet('${part(dir, 'cmd', 'wide')}/*.parquet')`);
  assert.deepEqual(agg, { n: 20600, t: 'DOUBLE', hi: 20599 });
  cleanup(dir);
});

test('database source: no spool, so the roller says one "Chunk K completed successfully (N rows)" per part', async () => {
  const dir = workdir();
  const values = Array.from({ length: 250 }, (_, i) => `(${i + 1}, 'o${i + 1}')`).join(',');
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER, name TEXT); INSERT INTO orders VALUES ${values};`);
  write(dir, 'c.yaml', dbConfig({ run: '    max_rows_per_file: 100' }));
  const r = await runAsync(dir, ['--config', 'c.yaml', '-v', '--log-format', 'simple'], { env: { TEST_DB: `sqlite:///${join(dir, 'shop.db')}` } });
  assert.equal(r.code, 0, r.stderr);
  const l = chunkLines(r.stderr);
  assert.deepEqual(l.chunked, []); // the seed's Retrieved / Chunked lines belong to spooled sources
  assert.deepEqual(l.any, [1, 2, 3]);
  const parts = [...r.stderr.matchAll(/\[DEBUG\] (?:[\w.]+: )?Chunk (\d+) completed successfully \((\d+) rows\)\n/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.deepEqual(parts, [[1, 100], [2, 100], [3, 50]]);
  cleanup(dir);
});
