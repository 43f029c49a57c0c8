// type: file end to end (SPEC §7 "File sources", "CSV output"): edge-case CSV
// and JSON land with every value intact, read back with DuckDB; one schema per
// batch when a late value widens a column; a 1 GB JSON array with flat memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, createWriteStream } from 'node:fs';
import { run, workdir, write, listFiles, readJson, query, cleanup, BIN_RELEASE } from './lib/harness.mjs';

const P = 'output/system=files/table=input/dt=2025-01-12';
const cfg = (path, extra = '', runKeys = '') => `platform:
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
${runKeys}`;

function extract(dir, config, opts = {}) {
  write(dir, 'c.yaml', config);
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], opts);
  assert.equal(r.code, 0, r.stderr);
  return readJson(join(dir, P, '_metadata.json'));
}

/** One Parquet file without DuckDB's hive-partition columns. */
const pq = (path) => `read_parquet('${path}', hive_partitioning=false)`;

/** Output CSV read back as text: NULL stays null, "" stays "". */
async function csvBack(path) {
  return query(`SELECT * FROM read_csv('${path}', header=true, all_varchar=true, allow_quoted_nulls=false, hive_partitioning=false)`);
}

test('CSV edge cases round-trip through type: file into CSV and Parquet', async () => {
  const dir = workdir();
  const input = '\uFEFFid,text,note\r\n' +
    '1,"say ""hi""","a,b"\r\n' +
    '2,"line1\nline2","crlf\r\ninside"\r\n' +
    '3,"",\r\n' +
    '4,héllo wörld ✓ 日本,"{""k"": [1, 2]}"\r\n' +
    '5,plain,"  spaced  "\r\n';
  writeFileSync(join(dir, 'in.csv'), input);
  const meta = extract(dir, cfg('in.csv'));
  assert.equal(meta.total_records, 5);
  const want = [
    ['1', 'say "hi"', 'a,b'],
    ['2', 'line1\nline2', 'crlf\r\ninside'],
    ['3', '', null],
    ['4', 'héllo wörld ✓ 日本', '{"k": [1, 2]}'],
    ['5', 'plain', '  spaced  '],
  ];
  const csv = await csvBack(join(dir, P, 'part-0001.csv'));
  assert.deepEqual(csv.map((r) => [r.id, r.text, r.note]), want);
  const fromPq = await query(`SELECT id, text, note FROM ${pq(join(dir, P, 'part-0001.parquet'))} ORDER BY id`);
  assert.deepEqual(fromPq.map((r) => [String(r.id), r.text, r.note]), want);
  assert.deepEqual(meta.schema.map((c) => c.type), ['INT64', 'STRING', 'STRING']);
  cleanup(dir);
});

test('CSV types: booleans, ints, doubles, dates, timestamps, leading zeros, null_values, header: false', async () => {
  const dir = workdir();
  writeFileSync(join(dir, 'in.csv'),
    'true,1,1.5,2024-02-29,2024-01-02T03:04:05,2024-01-02T03:04:05+02:00,08123,N/A\n' +
    'FALSE,-9223372036854775808,-0.25e3,1969-07-20,2024-01-02 03:04:05.123456,2024-01-02T01:04:05Z,00,x\n' +
    ',,,,,,,\n');
  const meta = extract(dir, cfg('in.csv', '    header: false\n    null_values: ["N/A"]\n'));
  assert.deepEqual(meta.schema.map((c) => [c.name, c.type]), [
    ['column0', 'BOOLEAN'], ['column1', 'INT64'], ['column2', 'DOUBLE'], ['column3', 'DATE'],
    ['column4', 'TIMESTAMP'], ['column5', 'TIMESTAMPTZ'], ['column6', 'STRING'], ['column7', 'STRING']]);
  const rows = await query(`SELECT column0::VARCHAR a, column1::VARCHAR b, column2 c, column3::VARCHAR d,
      column4::VARCHAR e, epoch_us(column5)::VARCHAR f, column6 g, column7 h FROM ${pq(join(dir, P, 'part-0001.parquet'))}`);
  assert.deepEqual(rows[0], { a: 'true', b: '1', c: 1.5, d: '2024-02-29', e: '2024-01-02 03:04:05', f: '1704157445000000', g: '08123', h: null });
  assert.deepEqual(rows[1], { a: 'false', b: '-9223372036854775808', c: -250, d: '1969-07-20', e: '2024-01-02 03:04:05.123456', f: '1704157445000000', g: '00', h: 'x' });
  assert.deepEqual(Object.values(rows[2]), Array(8).fill(null));
  const csv = await csvBack(join(dir, P, 'part-0001.csv'));
  assert.deepEqual(Object.values(csv[0]), ['true', '1', '1.5', '2024-02-29', '2024-01-02 03:04:05', '2024-01-02 01:04:05+00', '08123', null]);
  cleanup(dir);
});

test('null_values of every length: short, one of 63+ bytes, and texts of the same lengths that are not one', async () => {
  const dir = workdir();
  const long = 'NO VALUE RECORDED FOR THIS FIELD BY THE UPSTREAM SYSTEM (SEE NOTE 7)';
  writeFileSync(join(dir, 'in.csv'), `id,a\n1,NA\n2,${long}\n3,nA\n4,${long.replace('7', '8')}\n5,-\n6,x\n`);
  extract(dir, cfg('in.csv', `    null_values: ["NA", "-", "${long}"]\n`));
  const rows = await query(`SELECT id::INT id, a FROM ${pq(join(dir, P, 'part-0001.parquet'))} ORDER BY id`);
  assert.deepEqual(rows.map((r) => r.a), [null, null, 'nA', long.replace('7', '8'), null, 'x']);
  cleanup(dir);
});

test('an empty file and a header-only file commit zero rows', () => {
  const dir = workdir();
  writeFileSync(join(dir, 'empty.csv'), '');
  let meta = extract(dir, cfg('empty.csv'));
  assert.equal(meta.total_records, 0);
  assert.equal(meta.num_files, 0);
  writeFileSync(join(dir, 'head.csv'), 'a,b\n');
  meta = extract(dir, cfg('head.csv'));
  assert.equal(meta.total_records, 0);
  assert.deepEqual(meta.schema.map((c) => c.name), ['a', 'b']);
  cleanup(dir);
});

test('a glob is combined by column name; missing columns are NULL', async () => {
  const dir = workdir();
  writeFileSync(join(dir, 'in_1.csv'), 'id,a\n1,x\n');
  writeFileSync(join(dir, 'in_2.csv'), 'b,id\ny,2\n');
  const meta = extract(dir, cfg('in_*.csv'));
  assert.deepEqual(meta.schema.map((c) => c.name), ['id', 'a', 'b']);
  const rows = await query(`SELECT id::INT id, a, b FROM ${pq(join(dir, P, 'part-0001.parquet'))} ORDER BY id`);
  assert.deepEqual(rows, [{ id: 1, a: 'x', b: null }, { id: 2, a: null, b: 'y' }]);
  cleanup(dir);
});

test('a late 2.5 widens an integer column to DOUBLE in every part; a late abc to text', async () => {
  const dir = workdir();
  const lines = ['n,m'];
  for (let i = 0; i < 100000; i++) lines.push(`${i},${i}`);
  lines.push('2.5,abc');
  writeFileSync(join(dir, 'in.csv'), lines.join('\n') + '\n');
  const meta = extract(dir, cfg('in.csv', '', '    max_rows_per_file: 30000\n'), { bin: BIN_RELEASE });
  assert.equal(meta.total_records, 100001);
  assert.deepEqual(meta.schema.map((c) => c.type), ['DOUBLE', 'STRING']);
  const parts = meta.files.filter((f) => f.format === 'parquet');
  assert.equal(parts.length, 4);
  for (const f of parts) {
    const d = await query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${pq(join(dir, P, f.name))})`);
    assert.deepEqual(d.map((x) => x.column_type), ['DOUBLE', 'VARCHAR'], f.name);
  }
  const last = await query(`SELECT n, m FROM ${pq(join(dir, P, 'part-0004.parquet'))} WHERE m = 'abc' OR n = 99999 ORDER BY n DESC`);
  assert.deepEqual(last, [{ n: 99999, m: '99999' }, { n: 2.5, m: 'abc' }]);
  cleanup(dir);
});

test('JSON Lines and JSON arrays: every value shape lands', async () => {
  const dir = workdir();
  const recs = [
    { id: 1, price: 2, ok: true, name: 'a', tags: ['x', 'y'], obj: { k: 1 }, big: 1 },
    { id: 2, price: 2.5, ok: false, name: 'ü✓', tags: [], obj: null, big: 12345678901234567890n, extra: 'late' },
    { id: 3, price: null, ok: null, name: '', tags: null, obj: { nested: { deep: [1, { a: 2 }] } } },
  ];
  const ser = (r) => JSON.stringify(r, (k, v) => (typeof v === 'bigint' ? `@@${v}@@` : v)).replace(/"@@(\d+)@@"/g, '$1');
  writeFileSync(join(dir, 'in.jsonl'), recs.map(ser).join('\n') + '\n\n');
  writeFileSync(join(dir, 'in.json'), '[' + recs.map(ser).join(',\n') + ']');
  for (const [file, fmt] of [['in.jsonl', 'jsonl'], ['in.json', 'json']]) {
    const meta = extract(dir, cfg(file, `    format: "${fmt}"\n`));
    assert.deepEqual(meta.schema.map((c) => [c.name, c.type]), [
      ['id', 'INT64'], ['price', 'DOUBLE'], ['ok', 'BOOLEAN'], ['name', 'STRING'], ['tags', 'STRING'],
      ['obj', 'STRING'], ['big', 'STRING'], ['extra', 'STRING']], file);
    const rows = await query(`SELECT * FROM ${pq(join(dir, P, 'part-0001.parquet'))} ORDER BY id`);
    assert.deepEqual(rows.map((r) => [Number(r.id), r.price, r.ok, r.name, r.tags, r.obj, r.big, r.extra]), [
      [1, 2, true, 'a', '["x","y"]', '{"k":1}', '1', null],
      [2, 2.5, false, 'ü✓', '[]', null, '12345678901234567890', 'late'],
      [3, null, null, '', null, '{"nested":{"deep":[1,{"a":2}]}}', null, null],
    ], file);
  }
  cleanup(dir);
});

test('a 1 GB JSON array extracts with flat memory (under 128 MiB RSS)', async () => {
  const dir = workdir();
  const path = join(dir, 'big.json');
  const out = createWriteStream(path);
  const pad = 'x'.repeat(180);
  let bytes = 1, i = 0;
  out.write('[');
  while (bytes < 1024 * 1024 * 1024) {
    let chunk = '';
    for (let k = 0; k < 5000; k++, i++) {
      chunk += (i ? ',' : '') + `{"id":${i},"v":${i * 0.5},"s":"${pad}","flag":${i % 2 === 0},"n":{"a":${i}}}`;
    }
    bytes += chunk.length;
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
  out.write(']');
  await new Promise((r) => out.end(r));
  write(dir, 'c.yaml', cfg('big.json', '    format: "json"\n', '    write_csv: false\n').replace('    write_csv: true\n', ''));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { bin: BIN_RELEASE, timeout: 900000 });
  assert.equal(r.code, 0, r.stderr);
  const rss = Number(r.stderr.match(/peak RSS ([\d.]+) MiB/)[1]);
  assert.ok(rss < 128, `peak RSS ${rss} MiB`);
  const meta = readJson(join(dir, P, '_metadata.json'));
  assert.equal(meta.total_records, i);
  cleanup(dir);
});

test('CSV doubles land exactly as strtod reads them (fast path and fallback)', async () => {
  const dir = workdir();
  const vals = ['0.1', '-0.3', '1e22', '1e23', '9007199254740993.5', '123456789012345678.25', '3.14159265358979323846',
    '2.2250738585072014e-308', '4.9e-324', '1.7976931348623157e308', '0.000001', '-123.456e-5', '5e-22', '7E+3', '.5', '-0.0'];
  writeFileSync(join(dir, 'in.csv'), 'x\n' + vals.join('\n') + '\n');
  const meta = extract(dir, cfg('in.csv'));
  assert.deepEqual(meta.schema.map((c) => c.type), ['DOUBLE']);
  const rows = await query(`SELECT x FROM ${pq(join(dir, P, 'part-0001.parquet'))}`);
  assert.deepEqual(rows.map((r) => r.x), vals.map(Number));
  assert.ok(Object.is(rows[rows.length - 1].x, -0));
  const csv = await csvBack(join(dir, P, 'part-0001.csv'));
  assert.deepEqual(csv.map((r) => Number(r.x)), vals.map(Number));
  cleanup(dir);
});

test('JSON Lines doubles land exactly as strtod reads them (17-digit decimals, beyond 2^53, exponents)', async () => {
  const dir = workdir();
  const vals = ['0.1', '-0.3', '0.14285714285714285', '142.85714285714286', '-99.99999999999999', '1e22', '1e23',
    '9007199254740993.5', '123456789012345678.25', '3.14159265358979323846', '2.2250738585072014e-308', '4.9e-324',
    '1.7976931348623157e308', '0.000001', '0.0000000000000000012345678901234567', '-123.456e-5', '5e-22', '7E+3', '-0.0'];
  writeFileSync(join(dir, 'in.jsonl'), vals.map((v) => `{"x":${v}}`).join('\n') + '\n');
  const meta = extract(dir, cfg('in.jsonl', '    format: "jsonl"\n'));
  assert.deepEqual(meta.schema.map((c) => c.type), ['DOUBLE']);
  const rows = await query(`SELECT x FROM ${pq(join(dir, P, 'part-0001.parquet'))}`);
  assert.deepEqual(rows.map((r) => r.x), vals.map(Number));
  assert.ok(Object.is(rows[rows.length - 1].x, -0));
  cleanup(dir);
});

test('a late leading-zero number in an integer column turns it to text, keeping the zero', async () => {
  const dir = workdir();
  const lines = ['n'];
  for (let i = 1; i < 30000; i++) lines.push(String(i));
  lines.push('0123', '-0', '99999');
  writeFileSync(join(dir, 'in.csv'), lines.join('\n') + '\n');
  const meta = extract(dir, cfg('in.csv'));
  assert.deepEqual(meta.schema.map((c) => c.type), ['STRING']);
  const rows = await query(`SELECT n FROM ${pq(join(dir, P, 'part-0001.parquet'))} WHERE n IN ('0123', '-0', '99999', '1')`);
  assert.deepEqual(rows.map((r) => r.n).sort(), ['-0', '0123', '1', '99999']);
  cleanup(dir);
});
