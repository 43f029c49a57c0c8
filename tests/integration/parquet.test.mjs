// The Parquet writer read back by an independent reader (DuckDB).
//
// Builds and runs the fixture writer (tests/unit/test_parquet_fixture.c, under
// ASan/UBSan) once, then checks every file it wrote: every value, NULL
// pattern, column type, schema annotation and some statistics of the "types"
// fixture for every codec; a generated 150,000-row set (pages, dictionaries,
// fallbacks, many row groups, several parts); and exact size control over
// 2,000,000 rows rolled into 8 MiB parts (snappy and zstd).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CODECS = ['none', 'snappy', 'gzip', 'zstd', 'lz4', 'brotli'];
const CODEC_NAME = { none: 'UNCOMPRESSED', snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD', lz4: 'LZ4_RAW', brotli: 'BROTLI' };
const BIN = 'build/asan/tests/test_parquet_fixture';

let dir;
let conn;
let expected;

async function q(sql) {
  return (await conn.runAndReadAll(sql)).getRowObjectsJS();
}

before(async () => {
  const mk = spawnSync('make', ['-C', ROOT, BIN], { encoding: 'utf8' });
  assert.equal(mk.status, 0, mk.stdout + mk.stderr);
  dir = mkdtempSync(join(tmpdir(), 'bronze-parquet-'));
  const r = spawnSync(join(ROOT, BIN), [], {
    encoding: 'utf8',
    env: { ...process.env, BRONZE_PARQUET_FIXTURE_DIR: dir, ASAN_OPTIONS: 'detect_leaks=1' },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /SKIPPED|FAILED|runtime error|Sanitizer/);
  expected = JSON.parse(readFileSync(join(dir, 'types.expected.json'), 'utf8'));
  const db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
  await q(`SET TimeZone = 'UTC'`);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const TYPES = {
  id: 'BIGINT', b: 'BOOLEAN', i16: 'SMALLINT', i32: 'INTEGER', i64: 'BIGINT', f32: 'FLOAT',
  f64: 'DOUBLE', d4: 'DECIMAL(4,1)', d9: 'DECIMAL(9,2)', d18: 'DECIMAL(18,6)',
  d38: 'DECIMAL(38,10)', s: 'VARCHAR', j: 'JSON', by: 'BLOB', dt: 'DATE', ts: 'TIMESTAMP',
  tstz: 'TIMESTAMP WITH TIME ZONE', tm: 'TIME', req_s: 'VARCHAR', allnull: 'INTEGER',
  z: 'DOUBLE', zf: 'FLOAT',
};

// How each column is read back: as text that the fixture also wrote, or as
// a JS number for floats (compared bit-exactly, -0 and NaN included).
const SELECT = {
  id: '"id"::VARCHAR', b: '"b"::VARCHAR', i16: '"i16"::VARCHAR', i32: '"i32"::VARCHAR',
  i64: '"i64"::VARCHAR', f32: '"f32"', f64: '"f64"', d4: '"d4"::VARCHAR', d9: '"d9"::VARCHAR',
  d18: '"d18"::VARCHAR', d38: '"d38"::VARCHAR', s: '"s"', j: '"j"::VARCHAR', by: 'hex("by")',
  dt: '("dt" - DATE \'1970-01-01\')::VARCHAR', ts: 'epoch_us("ts")::VARCHAR',
  tstz: 'epoch_us("tstz")::VARCHAR', tm: 'epoch_us("tm")::VARCHAR', req_s: '"req_s"',
  allnull: '"allnull"::VARCHAR', z: '"z"', zf: '"zf"',
};
const FLOATS = new Set(['f32', 'f64', 'z', 'zf']);
const SINGLE = new Set(['f32', 'zf']);

function same(col, want, got) {
  if (want === null) return got === null;
  if (FLOATS.has(col)) {
    const w = SINGLE.has(col) ? Math.fround(Number(want)) : Number(want);
    return Object.is(w, got);
  }
  return want === got;
}

for (const codec of CODECS) {
  test(`types (${codec}): every value, NULL, type and annotation reads back in DuckDB`, async () => {
    const f = join(dir, `types-${codec}.parquet`);
    const cols = expected.columns;
    assert.deepEqual(cols, Object.keys(TYPES));

    const desc = await q(`DESCRIBE SELECT * FROM read_parquet('${f}')`);
    assert.deepEqual(Object.fromEntries(desc.map((d) => [d.column_name, d.column_type])), TYPES);

    const rows = await q(`SELECT ${cols.map((c) => `${SELECT[c]} AS "${c}"`).join(', ')}
                          FROM read_parquet('${f}')`);
    assert.equal(rows.length, expected.rows.length);
    let bad = 0;
    const nulls = Object.fromEntries(cols.map((c) => [c, 0]));
    for (let i = 0; i < rows.length; i++) {
      cols.forEach((c, k) => {
        const want = expected.rows[i][k];
        const got = rows[i][c];
        if (got === null) nulls[c]++;
        if (!same(c, want, got) && bad++ < 10) {
          const show = (v) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 80)}... (${v.length})` : v);
          assert.fail(`row ${i} column ${c}: want ${show(want)}, got ${show(got)}`);
        }
      });
    }
    assert.equal(bad, 0);
    // every nullable column holds NULLs, the required ones none
    for (const c of cols) {
      if (c === 'id' || c === 'req_s' || c === 'zf') assert.equal(nulls[c], 0, c);
      else assert.ok(nulls[c] > 0, `${c} has no NULLs`);
    }
    assert.equal(nulls.allnull, rows.length);
    // the long values survived whole
    const long = await q(`SELECT id, length(s) AS n FROM read_parquet('${f}') WHERE length(s) >= 1000000 ORDER BY id`);
    assert.deepEqual(long.map((r) => [r.id, r.n]), [[3n, 1228800n], [2500n, 1228799n]]);

    const file = (await q(`SELECT * FROM parquet_file_metadata('${f}')`))[0];
    assert.equal(file.format_version, 1n);
    assert.match(file.created_by, /^bronze-foundry version \S+ \(build \S+\)$/);
    assert.equal(file.num_rows, 3000n);
    assert.equal(file.column_orders.length, cols.length);
    assert.ok(file.column_orders.every((o) => /TYPE_ORDER/.test(o)));

    const schema = Object.fromEntries((await q(`SELECT * FROM parquet_schema('${f}')`)).map((s) => [s.name, s]));
    assert.equal(schema.schema.type, null);
    assert.equal(schema.schema.num_children, BigInt(cols.length));
    assert.equal(schema.id.repetition_type, 'REQUIRED');
    assert.equal(schema.req_s.repetition_type, 'REQUIRED');
    assert.equal(schema.s.repetition_type, 'OPTIONAL');
    assert.equal(schema.i16.converted_type, 'INT_16');
    assert.match(schema.i16.logical_type, /IntType/);
    assert.equal(schema.i32.converted_type, 'INT_32');
    assert.equal(schema.s.converted_type, 'UTF8');
    assert.match(schema.s.logical_type, /StringType/);
    assert.equal(schema.j.converted_type, 'JSON');
    assert.match(schema.j.logical_type, /JsonType/);
    assert.equal(schema.by.converted_type, null);
    assert.equal(schema.by.logical_type, null);
    assert.equal(schema.dt.converted_type, 'DATE');
    assert.equal(schema.ts.converted_type, 'TIMESTAMP_MICROS');
    assert.match(schema.ts.logical_type, /isAdjustedToUTC=0.*MICROS=MicroSeconds/);
    assert.equal(schema.tstz.converted_type, 'TIMESTAMP_MICROS');
    assert.match(schema.tstz.logical_type, /isAdjustedToUTC=1.*MICROS=MicroSeconds/);
    assert.equal(schema.tm.converted_type, 'TIME_MICROS');
    assert.match(schema.tm.logical_type, /TimeType\(isAdjustedToUTC=0.*MICROS=MicroSeconds/);
    for (const [c, p, s, len] of [['d4', 4, 1, 2], ['d9', 9, 2, 4], ['d18', 18, 6, 8], ['d38', 38, 10, 16]]) {
      assert.equal(schema[c].type, 'FIXED_LEN_BYTE_ARRAY', c);
      assert.equal(String(schema[c].type_length), String(len), c);
      assert.equal(schema[c].converted_type, 'DECIMAL', c);
      assert.equal(schema[c].precision, BigInt(p), c);
      assert.equal(schema[c].scale, BigInt(s), c);
      assert.match(schema[c].logical_type, new RegExp(`DecimalType\\(scale=${s}, precision=${p}\\)`));
    }

    const meta = Object.fromEntries((await q(`SELECT * FROM parquet_metadata('${f}')`)).map((m) => [m.path_in_schema, m]));
    for (const c of cols) {
      assert.equal(meta[c].compression, CODEC_NAME[codec], c);
      assert.equal(meta[c].num_values, 3000n, `${c}: num_values counts NULLs`);
      assert.equal(meta[c].stats_null_count, BigInt(expected.rows.filter((r) => r[cols.indexOf(c)] === null).length), c);
    }
    const stats = (c) => [meta[c].stats_min_value, meta[c].stats_max_value];
    assert.deepEqual(stats('id'), ['0', '2999']);
    assert.deepEqual(stats('i64'), ['-9223372036854775808', '9223372036854775807']);
    assert.deepEqual([meta.i64.stats_min, meta.i64.stats_max], ['-9223372036854775808', '9223372036854775807']);
    assert.deepEqual(stats('i32'), ['-2147483648', '2147483647']);
    assert.deepEqual(stats('b'), ['false', 'true']);
    assert.deepEqual(stats('d9'), ['-9999999.99', '9999999.99']);
    assert.deepEqual(stats('d38'), ['-9999999999999999999999999999.9999999999', '9999999999999999999999999999.9999999999']);
    assert.deepEqual([meta.d9.stats_min, meta.d9.stats_max], [null, null], 'no legacy min/max for FLBA');
    assert.deepEqual(stats('dt'), ['0001-01-01', '9999-12-31']);
    assert.deepEqual(stats('req_s'), ['r0', 'r999']);
    assert.deepEqual([meta.req_s.stats_min, meta.req_s.stats_max], [null, null], 'no legacy min/max for strings');
    // NaN present: the file has nan_count and min/max over the other values; DuckDB shows none
    assert.deepEqual(stats('f64'), [null, null]);
    assert.deepEqual(stats('f32'), [null, null]);
    // the longest value (300 'z') is the maximum: truncated to 64 bytes, rounded up, not exact
    assert.equal(meta.s.stats_max_value, 'z'.repeat(63) + '{');
    assert.deepEqual([meta.s.min_is_exact, meta.s.max_is_exact], [true, false]);
    assert.deepEqual(stats('allnull'), [null, null]);
    assert.deepEqual(stats('z'), ['-2.5', '0.0']);
    assert.deepEqual(stats('zf'), ['-0.0', '0.0']);
  });
}

test('a part without rows is a valid file with its schema', async () => {
  const f = join(dir, 'empty.parquet');
  const desc = await q(`DESCRIBE SELECT * FROM read_parquet('${f}')`);
  assert.deepEqual(Object.fromEntries(desc.map((d) => [d.column_name, d.column_type])), TYPES);
  assert.equal((await q(`SELECT count(*) AS n FROM read_parquet('${f}')`))[0].n, 0n);
  const file = (await q(`SELECT * FROM parquet_file_metadata('${f}')`))[0];
  assert.equal(file.num_row_groups, 0n);
});

// The generated set, regenerated in SQL; returns how many rows differ.
async function badBigRows(glob) {
  const rows = await q(`
    SELECT count(*) AS bad FROM read_parquet('${glob}') p FULL OUTER JOIN range(150000) r(i) ON p.id = r.i
    WHERE p.id IS NULL OR r.i IS NULL
       OR p.k IS DISTINCT FROM (CASE WHEN i % 17 = 0 THEN NULL ELSE i % 1000 END)
       OR p.u IS DISTINCT FROM 'value-' || i
       OR p.t IS DISTINCT FROM 'key-' || (CASE WHEN i < 20000 THEN i % 100 ELSE i END) || '-' || repeat('x', 30)
       OR p.x IS DISTINCT FROM (CASE WHEN i % 3 = 0 THEN NULL ELSE i * 0.5 END)
       OR p.n IS DISTINCT FROM (CASE WHEN i % 2 = 1 THEN NULL ELSE i * i END)
       OR p.flag IS DISTINCT FROM (i % 5 = 0)
       OR (p.amt * 100)::BIGINT IS DISTINCT FROM (i * 7) % 1000000`);
  return rows[0].bad;
}

function checkParts(listFile, limit) {
  const list = JSON.parse(readFileSync(join(dir, listFile), 'utf8'));
  assert.equal(list.max_bytes, limit);
  list.parts.forEach((p, i) => {
    assert.equal(statSync(p.path).size, p.bytes, p.path);
    assert.ok(p.bytes <= limit, `${p.path}: ${p.bytes} > ${limit}`);
    if (i < list.parts.length - 1)
      assert.ok(p.bytes >= 0.85 * limit, `${p.path}: ${p.bytes} < 85% of ${limit}`);
  });
  return list;
}

for (const codec of CODECS) {
  test(`150,000 generated rows (${codec}): pages, dictionaries and fallbacks read back`, async () => {
    const f = join(dir, `big-${codec}-0001.parquet`);
    assert.equal(await badBigRows(f), 0n);
    const meta = Object.fromEntries((await q(`SELECT * FROM parquet_metadata('${f}')`)).map((m) => [m.path_in_schema, m]));
    assert.equal(meta.k.encodings, 'PLAIN, RLE, RLE_DICTIONARY');
    assert.ok(meta.k.dictionary_page_offset > 0n && meta.k.dictionary_page_offset < meta.k.data_page_offset);
    assert.equal(meta.u.encodings, 'PLAIN, RLE', 'all distinct: the dictionary does not pay off');
    assert.equal(meta.u.dictionary_page_offset, null);
    assert.equal(meta.t.encodings, 'PLAIN, RLE, RLE_DICTIONARY', 'dictionary, then PLAIN past 1 MiB');
    assert.deepEqual([meta.t.stats_min_value, meta.t.stats_max_value],
      ['key-0-' + 'x'.repeat(30), 'key-99999-' + 'x'.repeat(30)]);
    assert.equal(meta.x.stats_null_count, 50000n);
    assert.equal(meta.k.stats_null_count, 8824n);
  });

  test(`150,000 rows in 2 MiB parts (${codec}): many row groups, parts sized, all rows back`, async () => {
    const list = checkParts(`bigrg-${codec}.json`, 2 * 1024 * 1024);
    assert.equal(list.total_rows, 150000);
    assert.equal(await badBigRows(join(dir, `bigrg-${codec}-*.parquet`)), 0n);
    for (const p of list.parts) {
      const groups = await q(`SELECT row_group_id, max(row_group_num_rows) AS n, max(row_group_compressed_bytes) AS c
                              FROM parquet_metadata('${p.path}') GROUP BY ALL`);
      assert.equal(groups.reduce((s, g) => s + g.n, 0n), BigInt(p.rows));
      if (p.rows > 20000) assert.ok(groups.length > 1, `${p.path}: one row group`);
      for (const g of groups) assert.ok(g.c <= 2 * 1024 * 1024 / 10 * 1.1, `${p.path}: row group of ${g.c} bytes`);
    }
  });

  test(`150,000 rows, fewer written than fit() allowed (${codec}): parts within the limit, all rows back`, async () => {
    const list = JSON.parse(readFileSync(join(dir, `bighalf-${codec}.json`), 'utf8'));
    for (const p of list.parts) {
      assert.equal(statSync(p.path).size, p.bytes);
      assert.ok(p.bytes <= list.max_bytes, `${p.path}: ${p.bytes} > ${list.max_bytes}`);
    }
    assert.equal(list.total_rows, 150000);
    assert.equal(await badBigRows(join(dir, `bighalf-${codec}-*.parquet`)), 0n);
  });
}

for (const codec of ['snappy', 'zstd']) {
  test(`size control (${codec}): 2,000,000 rows with random bytes in 8 MiB parts`, async () => {
    const limit = 8 * 1024 * 1024;
    const list = checkParts(`size-${codec}.json`, limit);
    assert.ok(list.total_rows >= 2000000);
    assert.ok(list.parts.length >= 2);
    const n = list.total_rows;
    const all = (await q(`SELECT count(*) AS c, sum(id) AS s, count(rnd) AS r, count(DISTINCT cust) AS k
                          FROM read_parquet('${join(dir, `size-${codec}-*.parquet`)}')`))[0];
    assert.equal(all.c, BigInt(n));
    assert.equal(all.s, (BigInt(n) * BigInt(n - 1)) / 2n);
    assert.equal(all.r, BigInt(n) - BigInt(Math.floor((n - 8) / 50) + 1));
    assert.equal(all.k, 20000n);
    for (const p of list.parts) {
      const c = (await q(`SELECT count(*) AS c FROM read_parquet('${p.path}')`))[0].c;
      assert.equal(c, BigInt(p.rows), p.path);
    }
  });
}
