// The parallel CSV reader (issue #14 item 2, src/source/file_csv_par.c): a
// plain CSV file split into byte ranges read by parallel_workers threads must
// give byte-identical parts (sha256), the same schema and the same errors as
// the single-threaded reader (parallel_workers: 1), whatever the ranges cut:
// quoted newlines, quotes and CRLF at range edges, multiline fields across
// every split point (BRONZE_CSV_RANGE_BYTES makes ranges a few bytes long).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, readdirSync } from 'node:fs';
import { run, workdir, write, readJson, sha256, cleanup } from './lib/harness.mjs';

const P = 'output/system=files/table=input/dt=2025-01-12';
const cfg = (path, workers, extra = '') => `platform:
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
    parallel_workers: ${workers}
    max_rows_per_file: 700
`;

/** Runs one extraction; returns {code, stderr, parts: name -> sha256, meta}. */
function extract(dir, path, workers, rangeBytes, extra = '') {
  const d = workdir('bf-csvp-');
  write(d, 'c.yaml', cfg(join(dir, path), workers, extra));
  const env = rangeBytes ? { BRONZE_CSV_RANGE_BYTES: String(rangeBytes) } : {};
  const r = run(d, ['-v', '--config', 'c.yaml', '--date', '2025-01-12'], { env });
  const out = { code: r.code, stderr: r.stderr, parts: {}, meta: null };
  if (r.code === 0) {
    for (const f of readdirSync(join(d, P)).sort())
      if (f.startsWith('part-')) out.parts[f] = sha256(join(d, P, f));
    out.meta = readJson(join(d, P, '_metadata.json'));
  }
  cleanup(d);
  return out;
}

/** A deterministic pseudo-random generator (mulberry32). */
function rng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rows full of quoted newlines, "" escapes, CRLF, blank lines, and quoted
 * text that itself looks like records of the right width. */
function trickyCsv(rows, seed = 7) {
  const r = rng(seed);
  const texts = [
    () => 'plain',
    () => '"multi\nline\nfield"',
    () => '"looks,like,a,row\n1,2.5,x,y\n3,4.5,z,w"',
    () => '"quote "" at edge"',
    () => '""""',
    () => '"\n"',
    () => '"crlf\r\ninside"',
    () => '"ends with newline\n"',
    () => '',
    () => '"a,b"',
    () => `"${'long '.repeat(1 + Math.floor(r() * 40))}\n${'tail'.repeat(3)}"`,
    () => '"ünïcödé\n✓ 日本"',
  ];
  let s = 'id,amount,text,note\r\n';
  for (let i = 0; i < rows; i++) {
    const t = texts[Math.floor(r() * texts.length)]();
    const n = texts[Math.floor(r() * texts.length)]();
    const amount = r() < 0.1 ? '' : (r() * 1000).toFixed(Math.floor(r() * 4));
    const eol = r() < 0.3 ? '\r\n' : '\n';
    s += `${i},${amount},${t},${n}${eol}`;
    if (r() < 0.03) s += eol; // a blank line (skipped: four columns)
  }
  return s;
}

function sameAsSequential(dir, path, sizes, extra = '') {
  const base = extract(dir, path, 1, 0, extra);
  assert.equal(base.code, 0, base.stderr);
  assert.ok(Object.keys(base.parts).length >= 2, 'several parts');
  for (const rb of sizes)
    for (const w of [2, 4]) {
      const got = extract(dir, path, w, rb, extra);
      assert.equal(got.code, 0, `workers ${w}, ranges of ${rb} bytes: ${got.stderr}`);
      assert.deepEqual(got.parts, base.parts, `workers ${w}, ranges of ${rb} bytes: parts differ`);
      assert.deepEqual(got.meta.schema ?? got.meta.columns, base.meta.schema ?? base.meta.columns);
      assert.equal(got.meta.total_records, base.meta.total_records);
      const restarts = (e) => (e.match(/Source restarted/g) || []).length;
      assert.equal(restarts(got.stderr), restarts(base.stderr), 'the same widenings');
      assert.match(got.stderr, new RegExp(`ranges parsed by ${w} workers`), 'read in parallel');
    }
  return base;
}

test('quoted newlines, CRLF and blank lines: parts byte-identical for 1, 2 and 4 workers at any range size', () => {
  const dir = workdir('bf-csvp-');
  writeFileSync(join(dir, 'in.csv'), trickyCsv(2500));
  const base = sameAsSequential(dir, 'in.csv', [1, 2, 3, 7, 61, 1000, 65536]);
  assert.equal(base.meta.total_records, 2500);
  cleanup(dir);
});

test('every split point inside a multiline field', () => {
  const dir = workdir('bf-csvp-');
  // Each record is one quoted field of many short lines: a range start found
  // by looking for a newline is almost always inside a quoted field.
  let s = 'k,v\n';
  for (let i = 0; i < 1500; i++) s += `${i},"${Array.from({ length: 6 }, (_, j) => `${i},${j}`).join('\n')}"\n`;
  writeFileSync(join(dir, 'in.csv'), s);
  sameAsSequential(dir, 'in.csv', [1, 5, 16, 300]);
  cleanup(dir);
});

test('a BOM with header: false, a last record without a newline, and a glob of files', () => {
  const dir = workdir('bf-csvp-');
  writeFileSync(join(dir, 'a1.csv'), '\uFEFF' + trickyCsv(900, 11).split('\r\n').slice(1).join('\r\n').trimEnd());
  writeFileSync(join(dir, 'a2.csv'), trickyCsv(900, 12).split('\r\n').slice(1).join('\r\n'));
  sameAsSequential(dir, 'a*.csv', [3, 97], '    header: false\n');
  cleanup(dir);
});

test('a value that does not fit the sampled type widens the same way in parallel', () => {
  const dir = workdir('bf-csvp-');
  // Past the 20,480-row sample: an integer column meets 2.5, a date column text.
  let s = 'id,n,d,t\n';
  for (let i = 0; i < 24000; i++)
    s += `${i},${i === 22222 ? '2.5' : i},${i === 23999 ? 'not a date' : '2024-01-0' + (1 + (i % 9))},"t\n${i}"\n`;
  writeFileSync(join(dir, 'in.csv'), s);
  const base = sameAsSequential(dir, 'in.csv', [4096]);
  const types = JSON.stringify(base.meta.schema ?? base.meta.columns);
  assert.match(types, /DOUBLE/);
  cleanup(dir);
});

test('errors name the same line for 1, 2 and 4 workers', () => {
  const dir = workdir('bf-csvp-');
  const good = trickyCsv(1200, 5);
  const cases = {
    'fields.csv': good + '1200,1.5,"a\nb",x,extra\n' + '1201,2,a,b\n',
    'quote.csv': good + '1200,1.5,"never closed,x\n1201,2,a,b\n',
  };
  writeFileSync(join(dir, 'fields.csv'), cases['fields.csv']);
  writeFileSync(join(dir, 'utf8.csv'), Buffer.concat([Buffer.from(good + '1200,1.5,"bad '), Buffer.from([0xff]), Buffer.from('",x\n')]));
  writeFileSync(join(dir, 'quote.csv'), cases['quote.csv']);
  for (const f of ['fields.csv', 'utf8.csv', 'quote.csv']) {
    const base = extract(dir, f, 1, 0);
    assert.notEqual(base.code, 0, `${f} must fail`);
    const msg = (e) => e.split('\n').find((l) => l.includes(f) && /line \d+/.test(l));
    assert.ok(msg(base.stderr), base.stderr);
    for (const rb of [5, 333])
      for (const w of [2, 4]) {
        const got = extract(dir, f, w, rb);
        assert.equal(got.code, base.code, got.stderr);
        assert.equal(msg(got.stderr).replace(/^\S+\s+/, ''), msg(base.stderr).replace(/^\S+\s+/, ''));
      }
  }
  cleanup(dir);
});
