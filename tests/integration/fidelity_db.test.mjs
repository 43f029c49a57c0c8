// Fidelity of the database path (issue #13, items 2, 3, 7, 11): SQLite
// incremental cursors read by the cursor column's type, text that is not
// UTF-8, JSON columns holding non-JSON, an all-empty-string column, and a
// `sqlite:` string without a path. Every test compares values read back
// with DuckDB, not just counts; the ASan/UBSan build runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { run, workdir, write, sqlite, dbConfig, listFiles, query, readJson, cleanup } from './lib/harness.mjs';

const DATE = '2025-01-12';

function extract(dir, cfg, env = { TEST_DB: 'sqlite:shop.db' }, extra = []) {
  write(dir, 'c.yaml', cfg);
  return run(dir, ['--config', 'c.yaml', '--date', DATE, '--log-format', 'simple', ...extra], { env });
}

function parts(dir, ext = '.parquet') {
  return listFiles(join(dir, 'output')).filter((f) => f.endsWith(ext)).map((f) => join(dir, 'output', f));
}

function markers(dir) {
  return listFiles(join(dir, 'output')).filter((f) => f.endsWith('_metadata.json')).map((f) => join(dir, 'output', f));
}

async function readParquet(dir, order = 'id') {
  return query(`SELECT * FROM read_parquet('${join(dir, 'output')}/**/*.parquet', hive_partitioning=false) ORDER BY ${order}`);
}

// ---- item 11: a STRING column whose every value is '' ----

test('an all-empty-string column encodes (no memcpy from NULL) and reads back as empty strings', async () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER, s TEXT, j JSON);
    INSERT INTO orders VALUES (1, '', '""'), (2, '', '""'), (3, '', '""');`);
  const r = extract(dir, dbConfig());
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /runtime error/);
  const rows = await readParquet(dir);
  assert.deepEqual(rows.map((x) => [Number(x.id), x.s]), [[1, ''], [2, ''], [3, '']]);
  const csv = readFileSync(parts(dir, '.csv')[0], 'utf8');
  assert.equal(csv, 'id,s,j\n1,"",""""""\n2,"",""""""\n3,"",""""""\n');
  cleanup(dir);
});

// ---- item 7 (part): sqlite: without a path ----

for (const cs of ['sqlite:', 'sqlite://', 'sqlite:  ']) {
  test(`'${cs}' (no path) is a config error, exit 2, naming the key`, () => {
    const dir = workdir();
    const r = extract(dir, dbConfig(), { TEST_DB: cs });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /c\.yaml: source\.db\.conn_str_env: .*no database path/);
    assert.equal(markers(dir).length, 0);
    cleanup(dir);
  });
}

// ---- item 2: SQLite incremental cursors read by the column's type ----

function incWithCursor(cursor, { key = 'updated_at', lookback = null } = {}) {
  return dbConfig({
    db: `    incremental:\n      cursor_column: "${key}"\n${lookback !== null ? `      lookback: "${lookback}"\n` : ''}    incremental_cursor_value: "${cursor}"\n`,
  });
}
function stateOf(dir) {
  const p = join(dir, '.state/shop_orders_cursor.json');
  return existsSync(p) ? readJson(p) : null;
}
async function ids(dir) {
  return (await readParquet(dir)).map((x) => Number(x.id));
}

// Stored in both text forms SQLite meets: ' ' (datetime()) and 'T' (ISO 8601).
const EVENTS = `CREATE TABLE orders (id INTEGER, updated_at DATETIME, d DATE, n INTEGER, t TEXT);
  INSERT INTO orders VALUES
   (1, '2025-01-28 09:00:00', '2025-01-27', 1, 'a'),
   (2, '2025-01-29 10:00:00', '2025-01-28', 2, 'b'),
   (3, '2025-01-29T10:00:00.5', '2025-01-29', 3, 'c'),
   (4, '2025-01-29 11:30:00', '2025-01-30', 4, 'd'),
   (5, '2025-01-30T08:00:00Z', '2025-01-31', 5, 'e'),
   (6, '2025-01-30 07:00:00-02:00', '2025-02-01', 6, 'f');`;

for (const [cursor, want] of [
  ['2025-01-29T10:00:00', [3, 4, 5, 6]], // the guide's ISO form against ' ' text: same instant
  ['2025-01-29 10:00:00', [3, 4, 5, 6]],
  ['2025-01-29T10:00:00.5', [4, 5, 6]], // fraction digits compare as time, not text
  ['2025-01-29T12:00:00+02:00', [3, 4, 5, 6]], // an offset is converted: 10:00Z
  ['2025-01-30T08:30:00Z', [6]], // 07:00-02:00 is 09:00Z, after 08:00Z
]) {
  test(`sqlite incremental: cursor '${cursor}' on a DATETIME column compares as an instant`, async () => {
    const dir = workdir();
    sqlite(join(dir, 'shop.db'), EVENTS);
    const r = extract(dir, incWithCursor(cursor));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await ids(dir), want);
    // the typed maximum (09:00Z), kept as the database wrote it (1.0 saved the stored text)
    assert.equal(stateOf(dir).cursor, '2025-01-30 07:00:00-02:00');
    cleanup(dir);
  });
}

test('sqlite incremental: the first run (no cursor) saves the typed maximum, not the largest text', async () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), EVENTS);
  const r = extract(dir, dbConfig({ db: '    incremental:\n      cursor_column: "updated_at"\n' }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await ids(dir), [1, 2, 3, 4, 5, 6]);
  // as text '2025-01-30T08:00:00Z' sorts last; as instants row 6 does
  assert.equal(stateOf(dir).cursor, '2025-01-30 07:00:00-02:00');
  cleanup(dir);
});

test('sqlite incremental: lookback on a DATETIME column re-reads the window (interval and seconds)', async () => {
  for (const [lb, want] of [['2 hours', [2, 3, 4, 5, 6]], ['3600', [3, 4, 5, 6]], ['1 day', [2, 3, 4, 5, 6]], ['27 hours', [1, 2, 3, 4, 5, 6]], ['01:00', [3, 4, 5, 6]]]) {
    const dir = workdir();
    sqlite(join(dir, 'shop.db'), EVENTS);
    const r = extract(dir, incWithCursor('2025-01-29T11:00:00', { lookback: lb }));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await ids(dir), want, `lookback ${lb}`);
    cleanup(dir);
  }
});

test('sqlite incremental: lookback never moves the cursor backwards', async () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), EVENTS);
  const r = extract(dir, incWithCursor('2025-02-01T00:00:00', { lookback: '3 days' }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await ids(dir), [2, 3, 4, 5, 6]);
  assert.equal(stateOf(dir).cursor, '2025-02-01T00:00:00');
  cleanup(dir);
});

test('sqlite incremental: DATE and INTEGER cursors, with a number lookback', async () => {
  for (const [key, cursor, lb, want, saved] of [
    ['d', '2025-01-29', null, [4, 5, 6], '2025-02-01'],
    ['d', '2025-01-29', '2', [2, 3, 4, 5, 6], '2025-02-01'],
    ['n', '4', null, [5, 6], '6'],
    ['n', '4', '2', [3, 4, 5, 6], '6'],
  ]) {
    const dir = workdir();
    sqlite(join(dir, 'shop.db'), EVENTS);
    const r = extract(dir, incWithCursor(cursor, { key, lookback: lb }));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await ids(dir), want, `${key} > ${cursor} - ${lb}`);
    assert.equal(stateOf(dir).cursor, saved);
    cleanup(dir);
  }
});

test('sqlite incremental: a cursor that does not read as the column type fails, exit 1, and is not saved', () => {
  for (const [key, cursor] of [['updated_at', 'garbage'], ['d', '2025-13-45'], ['n', 'abc']]) {
    const dir = workdir();
    sqlite(join(dir, 'shop.db'), EVENTS);
    const r = extract(dir, incWithCursor(cursor, { key }));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`c\\.yaml: the incremental cursor '${cursor}' .*does not read as`));
    assert.equal(stateOf(dir), null);
    assert.equal(markers(dir).length, 0);
    cleanup(dir);
  }
});

test('sqlite incremental: an unparsable lookback is a config error (exit 2) naming file and key', () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), EVENTS);
  const r = extract(dir, incWithCursor('2025-01-29T10:00:00', { lookback: 'abc' }));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /c\.yaml:\d+:\d+: source\.db\.incremental\.lookback: must be an interval/);
  cleanup(dir);
});

test('sqlite incremental: a lookback on a TEXT cursor column is a config error', () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), EVENTS);
  const r = extract(dir, incWithCursor('b', { key: 't', lookback: '2 hours' }));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /source\.db\.incremental\.lookback: an interval \('2 hours'\) needs a date/);
  cleanup(dir);
});

test('sqlite incremental: a cursor holding SQL on a TEXT column is bound, never pasted', async () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), EVENTS);
  const r = extract(dir, incWithCursor("'; DROP TABLE orders; --", { key: 't' }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await ids(dir), [1, 2, 3, 4, 5, 6]);
  cleanup(dir);
});

test('sqlite incremental: integers above 2^53 are compared exactly (no duplicate, exact new cursor)', async () => {
  const dir = workdir();
  // as doubles 2^53+5 (…997) equals 2^53+4 (…996): a double max would keep …996
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER);
    INSERT INTO orders VALUES (9007199254740993), (9007199254740996), (9007199254740997), (9007199254740992);`);
  const r = extract(dir, incWithCursor('9007199254740992', { key: 'id' }));
  assert.equal(r.code, 0, r.stderr);
  const rows = await query(`SELECT id::VARCHAR id FROM read_parquet('${join(dir, 'output')}/**/*.parquet') ORDER BY id`);
  assert.deepEqual(rows.map((x) => x.id), ['9007199254740993', '9007199254740996', '9007199254740997']);
  assert.equal(stateOf(dir).cursor, '9007199254740997');
  cleanup(dir);
});

test('sqlite incremental: the max of ints beyond 2^53 from the state file, second run reads nothing new', async () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER);
    INSERT INTO orders VALUES (9007199254740992), (9007199254740993);`);
  const cfg = dbConfig({ db: '    incremental:\n      cursor_column: "id"\n' });
  let r = extract(dir, cfg);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(stateOf(dir).cursor, '9007199254740993');
  r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-13', '--log-format', 'simple'], { env: { TEST_DB: 'sqlite:shop.db' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readJson(join(dir, 'output/system=shop/table=orders/dt=2025-01-13/_metadata.json')).total_records, 0);
  cleanup(dir);
});

// ---- item 3 (SQLite): a JSON column holding non-JSON widens to STRING ----

test('sqlite: a JSON column with a value that is not JSON is written as STRING (restart, warned)', async () => {
  const dir = workdir();
  const rows = Array.from({ length: 3000 }, (_, i) => `(${i + 1}, '{"k": ${i + 1}}')`).join(',');
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER, doc JSON);
    INSERT INTO orders VALUES ${rows};
    INSERT INTO orders VALUES (3001, 'not json'), (3002, '[1, 2'), (3003, NULL), (3004, '[12345678901234567890123]');`);
  const r = extract(dir, dbConfig({ query: 'SELECT * FROM orders ORDER BY id', db: '    fetch_batch_size: 1000\n' }));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /row 3001, column 'doc' \(JSON\): a value that is not JSON; the column is written as STRING/);
  const meta = readJson(markers(dir)[0]);
  assert.equal(meta.total_records, 3004);
  const doc = meta.schema.find((f) => f.name === 'doc');
  assert.equal(doc.type, 'STRING');
  const back = await query(`SELECT id, doc, typeof(doc) t FROM read_parquet('${join(dir, 'output')}/**/*.parquet') WHERE id IN (1, 3000, 3001, 3002, 3003, 3004) ORDER BY id`);
  assert.deepEqual(back.map((x) => [Number(x.id), x.doc, x.t]), [
    [1, '{"k": 1}', 'VARCHAR'], [3000, '{"k": 3000}', 'VARCHAR'], [3001, 'not json', 'VARCHAR'],
    [3002, '[1, 2', 'VARCHAR'], [3003, null, 'VARCHAR'], [3004, '[12345678901234567890123]', 'VARCHAR'],
  ]);
  cleanup(dir);
});

test('sqlite: a JSON column holding only JSON stays JSON (scalars, big numbers, nested)', async () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER, doc JSON);
    INSERT INTO orders VALUES (1, '{"a": [1, 2, {"b": null}]}'), (2, '[12345678901234567890123]'), (3, '"s"'), (4, ' true ');`);
  const r = extract(dir, dbConfig());
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /not JSON/);
  const doc = readJson(markers(dir)[0]).schema.find((f) => f.name === 'doc');
  assert.equal(doc.type, 'JSON');
  const back = await query(`SELECT id, doc::VARCHAR doc FROM read_parquet('${join(dir, 'output')}/**/*.parquet') ORDER BY id`);
  assert.deepEqual(back.map((x) => x.doc), ['{"a": [1, 2, {"b": null}]}', '[12345678901234567890123]', '"s"', ' true ']);
  cleanup(dir);
});

// ---- item 3: text that is not UTF-8 never reaches a file ----

const LATIN1 = `CREATE TABLE orders (id INTEGER, name TEXT, doc JSON);
  WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 2500)
  INSERT INTO orders SELECT i, 'name ' || i, '{"i": ' || i || '}' FROM s;
  UPDATE orders SET name = 'caf' || CAST(x'e9' AS TEXT) WHERE id = 2345;
  UPDATE orders SET name = CAST(x'eda080' AS TEXT) || 'x' WHERE id = 2400;`;

test('text that is not UTF-8 fails the run naming row, column and the CAST; nothing is published', () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), LATIN1);
  const r = extract(dir, dbConfig({ query: 'SELECT * FROM orders ORDER BY id', db: '    fetch_batch_size: 1000\n' }));
  assert.equal(r.code, 1, r.stderr);
  // row numbers count over the whole stream, not within the third batch
  assert.match(r.stderr, /row 2345, column 'name' \(STRING\): text that is not valid UTF-8 \(byte 0xE9 at byte 3 of the value\); read it as bytes in source\.db\.base_query \(CAST\("name" AS BLOB\)\), or set source\.run\.invalid_utf8: replace/);
  assert.equal(parts(dir).length, 0);
  assert.equal(markers(dir).length, 0);
  cleanup(dir);
});

test('the suggested CAST(col AS BLOB) loads the same rows as bytes', async () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), LATIN1);
  const r = extract(dir, dbConfig({ query: 'SELECT id, CAST(name AS BLOB) AS name FROM orders WHERE id IN (1, 2345, 2400)' }));
  assert.equal(r.code, 0, r.stderr);
  const rows = await query(`SELECT id, hex(name) h FROM read_parquet('${join(dir, 'output')}/**/*.parquet') ORDER BY id`);
  assert.deepEqual(rows.map((x) => [Number(x.id), x.h]), [[1, '6E616D652031'], [2345, '636166E9'], [2400, 'EDA08078']]);
  cleanup(dir);
});

test('a JSON column holding bytes that are not UTF-8 widens to STRING, then fails as text', () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER, doc JSON);
    INSERT INTO orders VALUES (1, '{"a": 1}'), (2, CAST(x'22e922' AS TEXT));`);
  const r = extract(dir, dbConfig());
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /row 2, column 'doc' \(JSON\): a value that is not JSON/);
  assert.match(r.stderr, /row 2, column 'doc' \(STRING\): text that is not valid UTF-8 \(byte 0xE9 at byte 1/);
  assert.equal(markers(dir).length, 0);
  cleanup(dir);
});

test('source.run.invalid_utf8 takes fail or replace (config error otherwise, exit 2)', () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), LATIN1);
  const r = extract(dir, dbConfig({ run: '    invalid_utf8: "ignore"\n' }));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /c\.yaml:\d+:\d+: source\.run\.invalid_utf8: must be one of fail, replace/);
  const ok = extract(dir, dbConfig({ run: '    invalid_utf8: "fail"\n' }));
  assert.equal(ok.code, 1, ok.stderr);
  cleanup(dir);
});

// The roller repairs (unit-tested in tests/unit/test_text.c); the job must
// hand it the config: bronze_roller_set_text_policy() after
// bronze_roller_init() and .replaced_invalid_utf8 in the marker info, both
// in src/run/job.c, which this change does not own.
test('invalid_utf8: replace writes U+FFFD per maximal subpart, counted in _metadata.json; DuckDB reads it', async () => {
  const dir = workdir();
  sqlite(join(dir, 'shop.db'), LATIN1);
  const r = extract(dir, dbConfig({ query: 'SELECT * FROM orders ORDER BY id', db: '    fetch_batch_size: 1000\n', run: '    invalid_utf8: "replace"\n' }));
  assert.equal(r.code, 0, r.stderr);
  const meta = readJson(markers(dir)[0]);
  assert.equal(meta.total_records, 2500);
  assert.equal(meta.replaced_invalid_utf8, 4); // é: 1; ED A0 80: 3 (as Python's errors="replace")
  const rows = await query(`SELECT id, name FROM read_parquet('${join(dir, 'output')}/**/*.parquet') WHERE id IN (2344, 2345, 2400) ORDER BY id`);
  assert.deepEqual(rows.map((x) => [Number(x.id), x.name]), [[2344, 'name 2344'], [2345, 'caf\uFFFD'], [2400, '\uFFFD\uFFFD\uFFFDx']]);
  const csv = await query(`SELECT name FROM read_csv('${parts(dir, '.csv')[0]}', header=true, all_varchar=true) WHERE name LIKE 'caf%'`);
  assert.deepEqual(csv.map((x) => x.name), ['caf\uFFFD']);
  cleanup(dir);
});

test('sqlite: the JSON widening restart keeps the incremental filter and the typed cursor', async () => {
  const dir = workdir();
  const rows = Array.from({ length: 2500 }, (_, i) => `(${i + 1}, datetime('2025-01-01', '+${i + 1} minutes'), '[${i}]')`).join(',');
  sqlite(join(dir, 'shop.db'), `CREATE TABLE orders (id INTEGER, updated_at DATETIME, doc JSON);
    INSERT INTO orders VALUES ${rows};
    UPDATE orders SET doc = 'oops' WHERE id = 2400;`);
  const r = extract(dir, dbConfig({
    query: 'SELECT * FROM orders ORDER BY id',
    db: '    fetch_batch_size: 1000\n    incremental:\n      cursor_column: "updated_at"\n    incremental_cursor_value: "2025-01-01T00:10:00"\n',
  }));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /row 2390, column 'doc' \(JSON\): a value that is not JSON/); // row 2390 of the filtered stream
  const meta = readJson(markers(dir)[0]);
  assert.equal(meta.total_records, 2490);
  assert.equal(meta.schema.find((f) => f.name === 'doc').type, 'STRING');
  assert.equal(stateOf(dir).cursor, '2025-01-02 17:40:00');
  const n = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT d, min(id)::INT lo FROM read_parquet('${join(dir, 'output')}/**/*.parquet')`);
  assert.deepEqual(n[0], { n: 2490, d: 2490, lo: 11 });
  cleanup(dir);
});
