// S3 storage end to end (issue #10, SPEC §3, §6, §7): bronze-extract uploads to
// s3rver behind lib/s3.mjs's front (which checks every SigV4 signature and
// digest and injects faults); an independent client (@aws-sdk/client-s3)
// lists and downloads what landed, DuckDB reads the Parquet back.
//
// The front lives in this process, so the binary runs with runAsync (never
// the blocking run()). Every test starts and stops its own server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync, copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runAsync, start, workdir, write, sqlite, dbConfig, query, cleanup, readJson, BIN_RELEASE } from './lib/harness.mjs';
import { startS3, s3Platform } from './lib/s3.mjs';
import { startApi, makeRecords } from './lib/http_api.mjs';
import * as pg from './lib/pg.mjs';

const DATE = '2025-01-12';
const PREFIX = 'bronze';
const TABLE_PREFIX = `${PREFIX}/system=shop/table=orders/`;
const P = `${TABLE_PREFIX}dt=${DATE}`; // the partition's key prefix (no trailing /)
const TMP = `${PREFIX}/.bronze-tmp/`; // where uploads and journals wait
const DB = { TEST_DB: 'sqlite:shop.db' };
const ARGS = ['--config', 'c.yaml', '--date', DATE];
// the kill loop wants the fast build; BRONZE_BIN_RELEASE points it elsewhere
const FAST = process.env.BRONZE_BIN_RELEASE || BIN_RELEASE;
const sha = (b) => createHash('sha256').update(b).digest('hex');

/** orders(id, note, amount, updated_at), n rows; `salt` changes every note. */
function table(dir, n, salt = '') {
  sqlite(join(dir, 'shop.db'), `DROP TABLE IF EXISTS orders;
CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT, amount REAL, updated_at TIMESTAMP);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < ${n})
INSERT INTO orders SELECT i, printf('row %d %s%s', i, hex(randomblob(12)), '${salt}'), i * 1.25,
  datetime('2025-01-01', '+' || i || ' seconds') FROM s;`);
}

/** A config uploading to the test bucket through platform.s3_connection. */
function s3cfg({ run = '', db = '', platform = '', bucket = 'bronze', prefix = PREFIX, s3 = true, csv = true } = {}) {
  const y = dbConfig({
    platform: s3 ? s3Platform({ bucket, prefix, extra: platform }) : platform,
    run: `    s3_enabled: true\n${run}`,
    db,
  });
  return csv ? y : y.replace('    write_csv: true\n', '    write_csv: false\n');
}

/** Rows of a query on the test's SQLite database (sqlite3 -json). */
function sqliteJson(dir, sql) {
  return JSON.parse(execFileSync('sqlite3', ['-json', join(dir, 'shop.db'), sql], { encoding: 'utf8', maxBuffer: 1 << 28 }) || '[]');
}

/** Keys directly under a partition (names relative to it), sorted. */
async function names(s3, partition = P) {
  return (await s3.list(`${partition}/`)).map((o) => o.key.slice(partition.length + 1)).sort();
}

/**
 * The partition's marker, checked against the bucket: every file it lists
 * exists with its size and sha256 (downloaded with the independent client).
 * Returns the parsed marker, or null when there is none.
 */
async function honestMarker(s3, partition = P) {
  const objs = await s3.list(`${partition}/`);
  if (!objs.some((o) => o.key === `${partition}/_metadata.json`)) return null;
  const meta = JSON.parse((await s3.getBytes(`${partition}/_metadata.json`)).toString());
  const sizes = new Map(objs.map((o) => [o.key.slice(partition.length + 1), o.size]));
  assert.ok(Array.isArray(meta.files), 'marker has files[]');
  for (const f of meta.files) {
    assert.ok(sizes.has(f.name), `marker lists ${f.name}, not in the bucket`);
    assert.equal(sizes.get(f.name), f.bytes, `size of ${f.name}`);
    assert.equal(await s3.sha256(`${partition}/${f.name}`), f.sha256, `sha256 of ${f.name}`);
  }
  return meta;
}

/** Downloads every Parquet part the marker lists into a temp folder; returns its glob. */
async function downloadParquet(s3, meta, partition = P) {
  const d = workdir('bf-dl-');
  for (const f of meta.files.filter((x) => x.format === 'parquet')) writeFileSync(join(d, f.name), await s3.getBytes(`${partition}/${f.name}`));
  return { glob: `${d}/*.parquet`, dir: d };
}

/** Files with data under a local root, dot-folders included (staging must be gone). */
function stagedDataFiles(root) {
  const out = [];
  const walk = (d) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(parquet|csv|json|tmp|part)$/.test(e.name) || /part-\d+/.test(e.name)) out.push(p);
    }
  };
  walk(root);
  return out;
}

const noActiveUploads = (s3) => assert.deepEqual(s3.uploads().filter((u) => u.state === 'active'), [], 'no multipart upload left open');

function expectOk(r, what = 'run') {
  assert.equal(r.code, 0, `${what} failed (${r.code}/${r.signal}):\n${r.stderr}`);
}

async function withEnv(opts, fn) {
  const s3 = await startS3(opts);
  const dir = workdir('bf-s3-');
  try {
    return await fn(s3, dir);
  } finally {
    await s3.stop();
    cleanup(dir);
  }
}

// ---------------------------------------------------------------------------

test('SQLite -> S3: every object listed by the marker, bytes and sha256 equal, Parquet values equal, staging gone', { timeout: 180000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 3000);
    write(dir, 'c.yaml', s3cfg({ run: '    max_rows_per_file: 1000' }));
    const r = await runAsync(dir, ARGS, { env: { ...DB, ...s3.configEnv } });
    expectOk(r);
    const meta = await honestMarker(s3);
    assert.ok(meta, 'a marker in the bucket');
    assert.equal(meta.total_records, 3000);
    assert.deepEqual(meta.files.map((f) => f.name).sort(), ['part-0001.csv', 'part-0001.parquet', 'part-0002.csv',
      'part-0002.parquet', 'part-0003.csv', 'part-0003.parquet']);
    assert.deepEqual(meta.files.map((f) => f.rows), [1000, 1000, 1000, 1000, 1000, 1000]);
    // the partition holds exactly the marker and what it lists
    assert.deepEqual(await names(s3), ['_metadata.json', ...meta.files.map((f) => f.name)].sort());
    // values, read back from the downloaded Parquet, equal the source
    const { glob, dir: dl } = await downloadParquet(s3, meta);
    const got = await query(`SELECT id::BIGINT id, note, amount FROM read_parquet('${glob}') ORDER BY id`);
    const want = sqliteJson(dir, 'SELECT id, note, amount FROM orders ORDER BY id');
    assert.equal(got.length, 3000);
    assert.deepEqual(got.map((x) => [Number(x.id), x.note, x.amount]), want.map((x) => [x.id, x.note, x.amount]));
    // CSV parts too: the downloaded text holds the same notes
    const csv1 = (await s3.getBytes(`${P}/part-0001.csv`)).toString();
    assert.ok(csv1.startsWith('id,note,amount,updated_at\n'), csv1.slice(0, 60));
    assert.ok(csv1.includes(want[999].note) && !csv1.includes(want[1000].note));
    // local staging is gone, and nothing waits in the bucket's temp area
    assert.deepEqual(stagedDataFiles(join(dir, 'output')), []);
    assert.deepEqual(await s3.list(TMP), []);
    noActiveUploads(s3);
    // every request the binary made was signed right
    assert.deepEqual(s3.requests.filter((x) => x.status === 403 || x.status === 400).map((x) => `${x.method} ${x.path} ${x.error}`), []);
    cleanup(dl);
  });
});

test('without platform.s3_connection the standard AWS_* variables apply', { timeout: 120000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 10);
    write(dir, 'c.yaml', dbConfig({ platform: `    s3_bucket: "${s3.bucket}"\n    s3_prefix: "${PREFIX}"`, run: '    s3_enabled: true' }));
    const r = await runAsync(dir, ARGS, { env: { ...DB, ...s3.awsEnv } });
    expectOk(r);
    const meta = await honestMarker(s3);
    assert.equal(meta.total_records, 10);
  });
});

test('incremental: the cursor state is kept in the bucket and a fresh working directory resumes from it', { timeout: 180000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 100);
    const cfg = s3cfg({ db: '    incremental_key: "updated_at"' });
    write(dir, 'c.yaml', cfg);
    const env = { ...DB, ...s3.configEnv };
    expectOk(await runAsync(dir, ARGS, { env }));
    const stateKey = `${PREFIX}/_state/shop_orders_cursor.json`;
    const state = JSON.parse((await s3.getBytes(stateKey)).toString());
    assert.equal(state.cursor, '2025-01-01 00:01:40');
    assert.equal(state.last_run, DATE);
    assert.equal(readJson(join(dir, '.state/shop_orders_cursor.json')).cursor, '2025-01-01 00:01:40');
    sqlite(join(dir, 'shop.db'), "INSERT INTO orders VALUES (101, 'new a', 1, '2025-01-02 00:00:00'), (102, 'new b', 2, '2025-01-02 00:00:01');");

    // a fresh container: same config and database, no .state/, no output/
    const fresh = workdir('bf-s3-fresh-');
    try {
      copyFileSync(join(dir, 'shop.db'), join(fresh, 'shop.db'));
      write(fresh, 'c.yaml', cfg);
      const r = await runAsync(fresh, ['--config', 'c.yaml', '--date', '2025-01-13'], { env });
      expectOk(r, 'fresh run');
      const P2 = `${TABLE_PREFIX}dt=2025-01-13`;
      const meta = await honestMarker(s3, P2);
      assert.equal(meta.total_records, 2, 'only the rows after the bucket\'s cursor');
      assert.equal(meta.new_cursor, '2025-01-02 00:00:01');
      const { glob, dir: dl } = await downloadParquet(s3, meta, P2);
      const got = await query(`SELECT id::INT id, note FROM read_parquet('${glob}') ORDER BY id`);
      assert.deepEqual(got, [{ id: 101, note: 'new a' }, { id: 102, note: 'new b' }]);
      cleanup(dl);
      assert.equal(JSON.parse((await s3.getBytes(stateKey)).toString()).cursor, '2025-01-02 00:00:01');
      // the first day's partition is untouched
      assert.equal((await honestMarker(s3)).total_records, 100);
    } finally {
      cleanup(fresh);
    }
  });
});

test('API -> S3, incremental: records and cursor land in the bucket; a fresh working directory asks from the bucket\'s cursor', { timeout: 180000 }, async () => {
  const api = await startApi();
  try {
    await withEnv({}, async (s3, dir) => {
      api.data = makeRecords(25);
      const cfg = `platform:
  bronze:
    local_path: "./output"
${s3Platform({ bucket: s3.bucket, prefix: PREFIX })}
source:
  type: api
  system: crm
  table: accounts
  api:
    base_url: "${api.url}"
    endpoint: /page
    data_path: data
    pagination: {type: page, page_size: 10}
    incremental: {enabled: true, cursor_field: updated_at, cursor_param: updated_since}
  run:
    s3_enabled: true
    write_csv: false
`;
      write(dir, 'c.yaml', cfg);
      const env = s3.configEnv;
      expectOk(await runAsync(dir, ARGS, { env }));
      const AP = `${PREFIX}/system=crm/table=accounts/dt=${DATE}`;
      const meta = await honestMarker(s3, AP);
      assert.equal(meta.total_records, 25);
      assert.equal(meta.new_cursor, '2025-01-01T00:25:00Z');
      let { glob, dir: dl } = await downloadParquet(s3, meta, AP);
      assert.deepEqual((await query(`SELECT id::INT id, name FROM read_parquet('${glob}') ORDER BY id`)).map((x) => [x.id, x.name]),
        api.data.map((x) => [x.id, x.name]));
      cleanup(dl);
      const stateKey = `${PREFIX}/_state/crm_accounts_cursor.json`;
      assert.equal(JSON.parse((await s3.getBytes(stateKey)).toString()).cursor, '2025-01-01T00:25:00Z');
      // three new records; a fresh container (no .state/, no output/) resumes
      // from the bucket's cursor and sends it
      api.reset();
      api.data = makeRecords(28);
      const fresh = workdir('bf-s3-api-');
      try {
        write(fresh, 'c.yaml', cfg);
        expectOk(await runAsync(fresh, ['--config', 'c.yaml', '--date', '2025-01-13'], { env }), 'fresh run');
        assert.equal(api.requests[0].query.updated_since, '2025-01-01T00:25:00Z');
        const AP2 = `${PREFIX}/system=crm/table=accounts/dt=2025-01-13`;
        const m2 = await honestMarker(s3, AP2);
        assert.equal(m2.total_records, 3);
        ({ glob, dir: dl } = await downloadParquet(s3, m2, AP2));
        assert.deepEqual((await query(`SELECT id::INT id FROM read_parquet('${glob}') ORDER BY id`)).map((x) => x.id), [26, 27, 28]);
        cleanup(dl);
        assert.equal(JSON.parse((await s3.getBytes(stateKey)).toString()).cursor, '2025-01-01T00:28:00Z');
        assert.deepEqual(await s3.list(TMP), []);
      } finally {
        cleanup(fresh);
      }
      assert.deepEqual(s3.requests.filter((x) => x.status === 403 || x.status === 400).map((x) => `${x.method} ${x.path} ${x.error}`), []);
    });
  } finally {
    await api.stop();
  }
});

test('the seed\'s Complete Example (PostgreSQL -> S3) runs and lands', { timeout: 240000 }, async () => {
  const server = pg.start();
  try {
    server.psql(`DROP TABLE IF EXISTS orders;
CREATE TABLE orders (order_id bigint PRIMARY KEY, customer_id bigint, order_date date, total_amount numeric(10,2),
  status text, updated_at timestamp);
INSERT INTO orders SELECT i, i % 97, DATE '2025-01-01' + (i % 10), (i * 3.17)::numeric(10,2),
  (ARRAY['new','paid','shipped'])[1 + i % 3], TIMESTAMP '2025-01-01' + i * INTERVAL '1 minute' FROM generate_series(1, 5000) i;`);
    await withEnv({ bucket: 'production-bronze' }, async (s3, dir) => {
      // the example as the seed prints it; only the env vars' values are ours
      write(dir, 'orders.yaml', `platform:
  bronze:
    s3_bucket: "production-bronze"
    s3_prefix: "bronze"
    
    partitioning:
      use_dt_partition: true
      partition_strategy: "hourly"  # Multiple daily loads
    
    output_defaults:
      allow_csv: false              # Parquet only for production
      allow_parquet: true
      parquet_compression: "snappy" # Fast compression

  s3_connection:
    endpoint_url_env: "BRONZE_S3_ENDPOINT"
    access_key_env: "BRONZE_S3_ACCESS_KEY"
    secret_key_env: "BRONZE_S3_SECRET_KEY"

source:
  type: "db"
  system: "postgres_prod"
  table: "orders"
  
  db:
    conn_str_env: "POSTGRES_CONN_STR"
    base_query: |
      SELECT 
        order_id,
        customer_id,
        order_date,
        total_amount,
        status,
        updated_at
      FROM orders
    
    incremental_key: "updated_at"
    incremental_cursor_env: "ORDERS_LAST_CURSOR"
  
  run:
    # Query-optimized file sizes
    max_file_size_mb: 256
    
    # Parquet only
    write_csv: false
    write_parquet: true
    
    # Production settings
    s3_enabled: true
    cleanup_on_failure: true
    local_output_dir: "./staging/bronze"
`);
      const r = await runAsync(dir, ['--config', 'orders.yaml', '--date', DATE], { env: { POSTGRES_CONN_STR: server.url, ...s3.configEnv } });
      expectOk(r);
      const day = `bronze/system=postgres_prod/table=orders/dt=${DATE}/`;
      const hours = [...new Set((await s3.list(day)).map((o) => o.key.slice(day.length).split('/')[0]))];
      assert.equal(hours.length, 1, `one hour= partition: ${hours}`);
      assert.match(hours[0], /^hour=\d\d$/);
      const part = day + hours[0];
      const meta = await honestMarker(s3, part);
      assert.equal(meta.total_records, 5000);
      assert.deepEqual(meta.file_formats, { csv: false, parquet: true });
      assert.deepEqual(meta.files.map((f) => f.format), ['parquet']);
      assert.equal(meta.new_cursor, '2025-01-04T11:20:00');
      const { glob, dir: dl } = await downloadParquet(s3, meta, part);
      const got = await query(`SELECT count(*)::INT n, sum(total_amount)::VARCHAR s, min(order_id)::INT lo, max(order_id)::INT hi,
        count(DISTINCT status)::INT st FROM read_parquet('${glob}')`);
      const want = server.psql('SELECT count(*), sum(total_amount), min(order_id), max(order_id), count(DISTINCT status) FROM orders').trim().split('|');
      assert.deepEqual([got[0].n, got[0].s, got[0].lo, got[0].hi, got[0].st].map(String), want);
      cleanup(dl);
      assert.deepEqual(stagedDataFiles(join(dir, 'staging/bronze')), []);
      // state in the bucket too
      const st = JSON.parse((await s3.getBytes('bronze/_state/postgres_prod_orders_cursor.json')).toString());
      assert.equal(st.cursor, '2025-01-04T11:20:00');
    });
  } finally {
    server.stop();
  }
});

test('a wrong secret key: exit 1, a clear message without the secret, nothing in the bucket', { timeout: 120000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 100);
    write(dir, 'c.yaml', s3cfg());
    const wrong = s3.secretKey.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    const r = await runAsync(dir, ARGS, { env: { ...DB, ...s3.configEnv, BRONZE_S3_SECRET_KEY: wrong } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /403|SignatureDoesNotMatch|signature|credential|access denied/i);
    assert.match(r.stderr, /bronze/, 'names the bucket');
    assert.ok(!r.stderr.includes(wrong) && !r.stderr.includes(s3.secretKey), 'no secret in the message');
    const refused = s3.requests.filter((x) => x.status === 403);
    assert.ok(refused.length >= 1, 'the front refused it');
    // 403 is final: no request is tried again
    const tried = refused.map((x) => `${x.method} ${x.path} ${JSON.stringify(x.query)}`);
    assert.equal(new Set(tried).size, tried.length, `a 403 was retried: ${tried}`);
    assert.deepEqual(await s3.list(TABLE_PREFIX), []);
    assert.deepEqual(await s3.list(TMP), []);
    assert.deepEqual(stagedDataFiles(join(dir, 'output')), []);
  });
});

test('a 12 MiB part goes up in a multipart upload and round-trips byte for byte', { timeout: 240000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    const blob = randomBytes(12 * 1024 * 1024);
    writeFileSync(join(dir, 'blob.bin'), blob);
    execFileSync('sqlite3', [join(dir, 'shop.db')], { cwd: dir, input: `CREATE TABLE orders (id INTEGER PRIMARY KEY, payload BLOB);
INSERT INTO orders VALUES (1, readfile('blob.bin')), (2, x'00ff');` });
    write(dir, 'c.yaml', s3cfg({ csv: false, run: '    max_file_size_mb: 64' }));
    const r = await runAsync(dir, ARGS, { env: { ...DB, ...s3.configEnv }, timeout: 200000 });
    expectOk(r);
    const meta = await honestMarker(s3);
    assert.deepEqual(meta.files.map((f) => f.name), ['part-0001.parquet']);
    assert.ok(meta.files[0].bytes > 8 * 1024 * 1024, `part is ${meta.files[0].bytes} bytes`);
    const mp = s3.requests.filter((x) => x.op === 'UploadPart' && x.status === 200);
    assert.ok(mp.length >= 2, `multipart parts uploaded: ${mp.length}`);
    assert.ok(s3.requests.some((x) => x.op === 'CompleteMultipartUpload' && x.status === 200));
    assert.ok(s3.uploads().some((u) => u.state === 'completed'));
    noActiveUploads(s3);
    const { glob, dir: dl } = await downloadParquet(s3, meta);
    const rows = await query(`SELECT id::INT id, payload FROM read_parquet('${glob}') ORDER BY id`);
    const bytes = (v) => Buffer.from(v.bytes ?? v);
    assert.equal(rows.length, 2);
    assert.equal(sha(bytes(rows[0].payload)), sha(blob), 'the 12 MiB value read back equals the source');
    assert.deepEqual([...bytes(rows[1].payload)], [0, 255]);
    cleanup(dl);
  });
});

test('a full load removes 1,100 stray part objects no marker lists (listing past 1,000 keys)', { timeout: 240000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 200);
    write(dir, 'c.yaml', s3cfg({ csv: false }));
    const env = { ...DB, ...s3.configEnv };
    expectOk(await runAsync(dir, ARGS, { env }));
    // a crashed run's leftovers: part-like names in the partition, unlisted
    const strays = Array.from({ length: 1100 }, (_, i) => `${P}/part-9${String(i).padStart(4, '0')}.parquet`);
    let i = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (i < strays.length) await s3.put(strays[i++], 'stray');
    }));
    assert.equal((await names(s3)).length, 1100 + 2);
    s3.clearRequests();
    table(dir, 150, 'v2');
    const r = await runAsync(dir, ARGS, { env });
    expectOk(r, 're-run');
    const meta = await honestMarker(s3);
    assert.equal(meta.total_records, 150);
    assert.deepEqual(await names(s3), ['_metadata.json', 'part-0001.parquet']);
    const lists = s3.requests.filter((x) => x.op === 'ListObjectsV2' && x.status === 200);
    assert.ok(lists.some((x) => x.query['continuation-token']), 'the binary followed a continuation token');
    const batches = s3.requests.filter((x) => x.op === 'DeleteObjects' && x.status === 200);
    assert.ok(batches.length >= 2, `deleted in batches of at most 1000 (DeleteObjects): ${batches.map((b) => b.deleteKeys.length)}`);
    const deleted = new Set(batches.flatMap((b) => b.deleteKeys));
    for (const k of strays) assert.ok(deleted.has(k), `${k} deleted`);
    assert.ok(!s3.requests.some((x) => x.status === 400), 'no request refused');
  });
});

test('20% of requests fail (500, 503 SlowDown, dropped connections): exit 0 and the same objects as a fault-free run', { timeout: 300000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    // three parts, the first above the multipart threshold, so part uploads see faults too
    const chunk = randomBytes(3 * 1024 * 1024);
    writeFileSync(join(dir, 'chunk.bin'), chunk);
    execFileSync('sqlite3', [join(dir, 'shop.db')], { cwd: dir, input: `CREATE TABLE orders (id INTEGER PRIMARY KEY, payload BLOB, note TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 7)
INSERT INTO orders SELECT i, readfile('chunk.bin') || CAST(i AS BLOB), 'n' || i FROM s;` });
    const run = '    max_rows_per_file: 3\n    max_retries: 8\n    timeout_seconds: 5';
    write(dir, 'clean.yaml', s3cfg({ csv: false, run, prefix: 'clean' }));
    write(dir, 'c.yaml', s3cfg({ csv: false, run, prefix: PREFIX }));
    const env = { ...DB, ...s3.configEnv };
    expectOk(await runAsync(dir, ['--config', 'clean.yaml', '--date', DATE], { env, timeout: 200000 }), 'fault-free run');
    const CP = `clean/system=shop/table=orders/dt=${DATE}`;
    const cleanMeta = await honestMarker(s3, CP);
    assert.equal(cleanMeta.files.length, 3);
    s3.clearRequests();
    s3.setFaults({ modes: [500, 503, 'drop-request', 'drop-response'], rate: 0.2, seed: 10 });
    const r = await runAsync(dir, ARGS, { env, timeout: 250000 });
    s3.setFaults(null);
    expectOk(r, 'run under faults');
    const injected = s3.requests.filter((x) => x.fault);
    assert.ok(injected.length >= 3, `faults injected: ${injected.length} of ${s3.requests.length}`);
    const meta = await honestMarker(s3);
    const strip = (m) => m.files.map(({ name, format, rows, bytes, sha256 }) => ({ name, format, rows, bytes, sha256 }));
    assert.deepEqual(strip(meta), strip(cleanMeta), 'identical objects');
    assert.equal(meta.total_records, 7);
    assert.deepEqual(await names(s3), ['_metadata.json', 'part-0001.parquet', 'part-0002.parquet', 'part-0003.parquet']);
    assert.deepEqual(await s3.list(TMP), []);
    noActiveUploads(s3);
  });
});

// One deterministic fault at an awkward step each. A lost answer means the
// step took effect but the binary did not hear it: its retry must cope (a
// retried CompleteMultipartUpload gets 404 NoSuchUpload, from S3 as from s3rver,
// once the first one went through: check the object, do not fail).
const marker = (e) => e.key.endsWith('/_metadata.json') && !e.key.includes('.bronze-tmp');
const AWKWARD = [
  ['the answer to CompleteMultipartUpload is lost', { modes: ['drop-response'], ops: ['CompleteMultipartUpload'], limit: 1 }],
  ['a part upload is cut mid-body', { modes: ['drop-request'], ops: ['UploadPart'], limit: 1 }],
  ['CreateMultipartUpload answers 503 SlowDown', { modes: ['SlowDown'], ops: ['CreateMultipartUpload'], limit: 1 }],
  ['the answer to a server-side copy is lost', { modes: ['drop-response'], ops: ['CopyObject'], limit: 1 }],
  ['the answer to the marker PUT is lost', { modes: ['drop-response'], ops: ['PutObject'], match: marker, limit: 1 }],
  ['the marker PUT is cut mid-body', { modes: ['drop-request'], ops: ['PutObject'], match: marker, limit: 1 }],
  ['DeleteObjects answers 503 SlowDown', { modes: ['SlowDown'], ops: ['DeleteObjects'], limit: 1 }],
  ['a listing answers 500', { modes: [500], ops: ['ListObjectsV2'], limit: 1 }],
];
for (const [what, rule] of AWKWARD) {
  test(`one fault: ${what}; exit 0 and exactly the batch`, { timeout: 240000 }, async () => {
    await withEnv({}, async (s3, dir) => {
      const chunk = randomBytes(3 * 1024 * 1024);
      writeFileSync(join(dir, 'chunk.bin'), chunk);
      execFileSync('sqlite3', [join(dir, 'shop.db')], { cwd: dir, input: `CREATE TABLE orders (id INTEGER PRIMARY KEY, payload BLOB);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 4)
INSERT INTO orders SELECT i, readfile('chunk.bin') || CAST(i AS BLOB) FROM s;` });
      // part 1 (9 MiB) goes multipart, part 2 (3 MiB) in one PUT
      write(dir, 'c.yaml', s3cfg({ csv: false, run: '    max_rows_per_file: 3\n    max_retries: 3' }));
      s3.setFaults(rule);
      const r = await runAsync(dir, ARGS, { env: { ...DB, ...s3.configEnv } });
      const fired = s3.requests.filter((x) => x.fault);
      s3.setFaults(null);
      assert.equal(fired.length, 1, `the fault was injected: ${fired.map((x) => x.op)}`);
      expectOk(r);
      const meta = await honestMarker(s3);
      assert.equal(meta.total_records, 4);
      assert.deepEqual(await names(s3), ['_metadata.json', 'part-0001.parquet', 'part-0002.parquet']);
      assert.deepEqual(await s3.list(TMP), []);
      noActiveUploads(s3);
      const { glob, dir: dl } = await downloadParquet(s3, meta);
      const rows = await query(`SELECT id::INT id, payload FROM read_parquet('${glob}') ORDER BY id`);
      assert.deepEqual(rows.map((x) => sha(Buffer.from(x.payload.bytes ?? x.payload))),
        [1, 2, 3, 4].map((i) => sha(Buffer.concat([chunk, Buffer.from(String(i))]))));
      cleanup(dl);
    });
  });
}

test('a request that stalls past timeout_seconds is given up and retried; the run lands', { timeout: 180000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 2000);
    write(dir, 'c.yaml', s3cfg({ run: '    max_rows_per_file: 1000\n    timeout_seconds: 2\n    max_retries: 3' }));
    // the first two uploads of a part's data hang for 20 s (10x timeout_seconds)
    s3.setFaults({ modes: ['stall'], stallMs: 20000, ops: ['PutObject', 'UploadPart'], match: (e) => /part-\d+[^/]*\.(parquet|csv)$/.test(e.key), limit: 2 });
    const t0 = performance.now();
    const r = await runAsync(dir, ARGS, { env: { ...DB, ...s3.configEnv } });
    expectOk(r);
    const stalled = s3.requests.filter((x) => x.fault === 'stall');
    assert.equal(stalled.length, 2);
    for (const st of stalled) {
      assert.equal(st.status, 'client-gone', `the binary hung up on the stalled request: ${s3.requests.map((x) => `${x.seq} ${Math.round(x.time / 100) % 1000} ${x.op} ${x.key.slice(-30)} ${x.status} ${x.fault || ''}`).join('\n')}`);
      assert.ok(s3.requests.some((x) => x.seq > st.seq && x.key === st.key && x.op === st.op && x.status === 200), `${st.key} retried`);
    }
    assert.ok(performance.now() - t0 < 40000, `took ${performance.now() - t0} ms: stalls not cut short`);
    const meta = await honestMarker(s3);
    assert.equal(meta.total_records, 2000);
    assert.deepEqual(await names(s3), ['_metadata.json', ...meta.files.map((f) => f.name)].sort());
  });
});

test('past the retry budget: exit 1, no new marker or parts, the previous batch intact and listed', { timeout: 240000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 3000);
    write(dir, 'c.yaml', s3cfg({ run: '    max_rows_per_file: 1000\n    max_retries: 1\n    cleanup_on_failure: true' }));
    const env = { ...DB, ...s3.configEnv };
    expectOk(await runAsync(dir, ARGS, { env }));
    const before = await s3.list(`${PREFIX}/`);
    const oldMarker = await s3.getBytes(`${P}/_metadata.json`);
    table(dir, 2000, 'v2');
    s3.clearRequests();
    // every upload of a part's data fails, however often it is tried
    s3.setFaults({ modes: [500, 503], ops: ['PutObject', 'UploadPart'], match: (e) => /part-\d+[^/]*\.(parquet|csv)$/.test(e.key) });
    const r = await runAsync(dir, ARGS, { env });
    s3.setFaults(null);
    assert.equal(r.code, 1, r.stderr);
    const tries = s3.requests.filter((x) => x.fault);
    assert.ok(tries.length >= 2, `part uploads tried: ${tries.length}`);
    // at most max_retries + 1 tries of any one part upload
    const perKey = {};
    for (const t of tries) perKey[`${t.key}#${t.query.partNumber || ''}`] = (perKey[`${t.key}#${t.query.partNumber || ''}`] || 0) + 1;
    assert.ok(Object.values(perKey).every((n) => n <= 2), JSON.stringify(perKey));
    // the bucket is exactly as before: same keys, same marker, old batch honest
    const after = await s3.list(`${PREFIX}/`);
    assert.deepEqual(after.map((o) => [o.key, o.size, o.etag]), before.map((o) => [o.key, o.size, o.etag]));
    assert.deepEqual(await s3.getBytes(`${P}/_metadata.json`), oldMarker);
    assert.equal((await honestMarker(s3)).total_records, 3000);
    noActiveUploads(s3);
    assert.deepEqual(stagedDataFiles(join(dir, 'output')), []);
  });
});

test('a re-run that makes 2 parts where there were 3 leaves exactly part-0001, part-0002 and their marker', { timeout: 180000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 3000);
    write(dir, 'c.yaml', s3cfg({ run: '    max_rows_per_file: 1000' }));
    const env = { ...DB, ...s3.configEnv };
    expectOk(await runAsync(dir, ARGS, { env }));
    assert.equal((await names(s3)).length, 7);
    table(dir, 1500, 'v2');
    expectOk(await runAsync(dir, ARGS, { env }), 're-run');
    assert.deepEqual(await names(s3), ['_metadata.json', 'part-0001.csv', 'part-0001.parquet', 'part-0002.csv', 'part-0002.parquet']);
    const meta = await honestMarker(s3);
    assert.deepEqual(meta.files.map((f) => f.name).sort(), ['part-0001.csv', 'part-0001.parquet', 'part-0002.csv', 'part-0002.parquet']);
    assert.equal(meta.total_records, 1500);
    const { glob, dir: dl } = await downloadParquet(s3, meta);
    const got = await query(`SELECT id::INT id, note FROM read_parquet('${glob}') ORDER BY id`);
    assert.deepEqual(got.map((x) => [x.id, x.note]), sqliteJson(dir, 'SELECT id, note FROM orders ORDER BY id').map((x) => [x.id, x.note]));
    assert.ok(got.every((x) => x.note.endsWith('v2')));
    cleanup(dl);
    assert.deepEqual(await s3.list(TMP), []);
  });
});

test('--dry-run with uploads on puts and deletes one probe object; a wrong secret fails it', { timeout: 120000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 10);
    write(dir, 'c.yaml', s3cfg());
    await s3.put(`${PREFIX}/keep.txt`, 'already here');
    s3.clearRequests();
    const env = { ...DB, ...s3.configEnv };
    const r = await runAsync(dir, ['--config', 'c.yaml', '--date', DATE, '--dry-run'], { env });
    expectOk(r, 'dry run');
    const puts = s3.requests.filter((x) => x.op === 'PutObject' && x.status === 200);
    // one probe deleted, by DeleteObject or by a DeleteObjects of just that key
    const dels = s3.requests.filter((x) => (x.op === 'DeleteObject' && x.status === 204) || (x.op === 'DeleteObjects' && x.status === 200));
    const all = s3.requests.map((x) => `${x.op} ${x.key} ${x.status}`).join('; ');
    assert.equal(puts.length, 1, `PUTs: ${all}`);
    assert.equal(dels.length, 1, `DELETEs: ${all}`);
    assert.deepEqual(dels[0].op === 'DeleteObject' ? [dels[0].key] : dels[0].deleteKeys, [puts[0].key], 'the probe it put is the one it deleted');
    assert.ok(s3.requests.every((x) => !['UploadPart', 'CopyObject', 'CreateMultipartUpload'].includes(x.op)), all);
    assert.deepEqual((await s3.list('')).map((o) => o.key), [`${PREFIX}/keep.txt`]);
    assert.ok(!existsSync(join(dir, '.state')), 'no state written');
    const bad = await runAsync(dir, ['--config', 'c.yaml', '--date', DATE, '--dry-run'],
      { env: { ...env, BRONZE_S3_SECRET_KEY: s3.secretKey.slice(1) + 'x' } });
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /403|SignatureDoesNotMatch|signature|credential|access denied/i);
    assert.deepEqual((await s3.list('')).map((o) => o.key), [`${PREFIX}/keep.txt`]);
  });
});

// ---------------------------------------------------------------------------
// Crash tests. After every kill: the partition holds a marker that tells the
// truth (old batch or new) unless a journal waits under .bronze-tmp/ to be
// rolled forward; after the next normal run, exactly the new batch.

/** The invariant after a kill; returns 'old' | 'new' | 'journal'. */
async function afterKill(s3, oldN, newN) {
  const journal = await s3.list(TMP);
  const meta = await honestMarker(s3); // asserts the files it lists
  if (!journal.length) {
    assert.ok(meta, 'no journal waiting and no marker: the committed batch was lost');
    assert.ok([oldN, newN].includes(meta.total_records), `marker says ${meta.total_records} rows`);
    return meta.total_records === newN ? 'new' : 'old';
  }
  if (meta) assert.ok([oldN, newN].includes(meta.total_records));
  return 'journal';
}

async function exactlyNewBatch(s3, dir, newN) {
  const meta = await honestMarker(s3);
  assert.ok(meta, 'marker after the clean run');
  assert.equal(meta.total_records, newN);
  assert.deepEqual(await names(s3), ['_metadata.json', ...meta.files.map((f) => f.name)].sort());
  assert.deepEqual(await s3.list(TMP), [], 'no journal or temp object left');
  const { glob, dir: dl } = await downloadParquet(s3, meta);
  const got = await query(`SELECT id::INT id, note FROM read_parquet('${glob}') ORDER BY id`);
  assert.deepEqual(got.map((x) => [x.id, x.note]), sqliteJson(dir, 'SELECT id, note FROM orders ORDER BY id').map((x) => [x.id, x.note]));
  cleanup(dl);
}

// The commit steps BRONZE_FAULT (kill) and BRONZE_FAIL (an I/O error) stop at,
// in commit order (src/run/commit.c's list; after-swap is local-only). Add new
// ones here or through BRONZE_S3_FAULT_POINTS=a,b.
const FAULT_POINTS = ['before-commit', 'stage-first-part', 'after-stage', 'after-journal', 'after-old-marker',
  'after-first-publish', 'after-parts', 'after-stale', 'after-marker', 'after-journal-removed',
  ...(process.env.BRONZE_S3_FAULT_POINTS || '').split(',').filter(Boolean)];

for (const point of FAULT_POINTS) {
  test(`S3: killed at ${point} of a full-load re-run, the old batch survives or a journal rolls forward; the next run is clean`, { timeout: 180000 }, async () => {
    await withEnv({}, async (s3, dir) => {
      table(dir, 3000);
      write(dir, 'c.yaml', s3cfg({ run: '    max_rows_per_file: 1000' }));
      const env = { ...DB, ...s3.configEnv };
      expectOk(await runAsync(dir, ARGS, { env }));
      table(dir, 1500, 'v2');
      const r = await runAsync(dir, ARGS, { env: { ...env, BRONZE_FAULT: point } });
      assert.equal(r.signal, 'SIGKILL', `BRONZE_FAULT=${point} did not stop the run (code ${r.code}): ${r.stderr.slice(-500)}`);
      await afterKill(s3, 3000, 1500);
      expectOk(await runAsync(dir, ARGS, { env }), 'run after the crash');
      await exactlyNewBatch(s3, dir, 1500);
    });
  });
  test(`S3: a failure at ${point} of a full-load re-run: exit 1, the old batch survives or a journal rolls forward; the next run is clean`, { timeout: 180000 }, async () => {
    await withEnv({}, async (s3, dir) => {
      table(dir, 3000);
      write(dir, 'c.yaml', s3cfg({ run: '    max_rows_per_file: 1000\n    cleanup_on_failure: true' }));
      const env = { ...DB, ...s3.configEnv };
      expectOk(await runAsync(dir, ARGS, { env }));
      table(dir, 1500, 'v2');
      const r = await runAsync(dir, ARGS, { env: { ...env, BRONZE_FAIL: point } });
      // a failure after the marker is in place may be reported or not; before it, the run fails
      if (!['after-marker', 'after-journal-removed'].includes(point)) assert.equal(r.code, 1, `BRONZE_FAIL=${point}: ${r.stderr.slice(-500)}`);
      else assert.ok(r.code === 0 || r.code === 1, r.stderr);
      const what = await afterKill(s3, 3000, 1500);
      if (['before-commit', 'stage-first-part', 'after-stage'].includes(point)) {
        // nothing was visible yet: the old batch, and no trace of the failed one (§6.5)
        assert.equal(what, 'old');
        assert.deepEqual(await s3.list(TMP), []);
      }
      noActiveUploads(s3);
      expectOk(await runAsync(dir, ARGS, { env }), 'run after the failure');
      await exactlyNewBatch(s3, dir, 1500);
    });
  });
}

test('S3: SIGKILL at 32 moments of a full-load re-run never leaves a lying marker; the next run leaves exactly the new batch', { timeout: 600000 }, async (t) => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 60000);
    write(dir, 'c.yaml', s3cfg({ run: '    max_rows_per_file: 5000\n    parallel_workers: 2' }));
    const env = { ...DB, ...s3.configEnv };
    expectOk(await runAsync(dir, ARGS, { env, bin: FAST }));
    table(dir, 40000, 'v2');
    // how long a whole re-run takes, to spread the kills over it
    const t0 = performance.now();
    expectOk(await runAsync(dir, ARGS, { env, bin: FAST }), 'timed re-run');
    const span = Math.max(200, performance.now() - t0);
    table(dir, 30000, 'v3');
    const delays = Array.from({ length: 32 }, (_, i) => Math.round(10 + (i * span * 1.15) / 31));
    const seen = { old: 0, new: 0, journal: 0 };
    let prev = 40000;
    for (const delay of delays) {
      const child = start(dir, ARGS, { env, bin: FAST });
      const exited = new Promise((res) => child.on('exit', (code, sig) => res({ code, sig })));
      child.stdout.resume();
      child.stderr.resume();
      await new Promise((res) => setTimeout(res, delay));
      child.kill('SIGKILL');
      const ex = await exited;
      assert.ok(ex.sig === 'SIGKILL' || ex.code === 0, `run ended ${ex.code}/${ex.sig} before the kill at ${delay} ms`);
      const what = await afterKill(s3, prev, 30000);
      seen[what]++;
      if (what === 'new') prev = 30000;
    }
    expectOk(await runAsync(dir, ARGS, { env, bin: FAST }), 'run after the kills');
    await exactlyNewBatch(s3, dir, 30000);
    // the kills really spread over the run: some before any change, some later
    t.diagnostic(`re-run ${span} ms; after the kills: ${JSON.stringify(seen)}`);
    assert.ok(seen.old >= 1, JSON.stringify(seen));
    assert.ok(seen.journal + seen.new >= 1, `no kill came after the journal: ${JSON.stringify(seen)}`);
  });
});

test('verify on S3: a clean table passes; a changed object is found; --repair completes an interrupted commit', { timeout: 240000 }, async () => {
  await withEnv({}, async (s3, dir) => {
    table(dir, 3000);
    write(dir, 'c.yaml', s3cfg({ run: '    max_rows_per_file: 1000' }));
    const env = { ...DB, ...s3.configEnv };
    expectOk(await runAsync(dir, ARGS, { env }));
    const loc = `s3://${s3.bucket}/${PREFIX}`;
    let r = await runAsync(dir, ['verify', '--config', 'c.yaml'], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    r = await runAsync(dir, ['verify', `${loc}/system=shop/table=orders`], { env: s3.awsEnv });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /1 marker\(s\) checked/);
    // one object's bytes changed behind the marker's back
    const key = `${P}/part-0002.parquet`;
    const good = await s3.getBytes(key);
    const bad = Buffer.from(good);
    bad[50] ^= 0xff;
    await s3.put(key, bad);
    r = await runAsync(dir, ['verify', loc], { env: s3.awsEnv });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^CHANGED system=shop\/table=orders\/dt=2025-01-12\/part-0002\.parquet: sha256 /m);
    await s3.put(key, good);
    // a commit killed after its journal: reported, then completed by --repair
    table(dir, 1500, 'v2');
    const k = await runAsync(dir, ARGS, { env: { ...env, BRONZE_FAULT: 'after-journal' } });
    assert.equal(k.signal, 'SIGKILL');
    r = await runAsync(dir, ['verify', loc], { env: s3.awsEnv });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^JOURNAL \.bronze-tmp\/journals\/system=shop\+table=orders\+dt=2025-01-12\.json/m);
    r = await runAsync(dir, ['verify', loc, '--repair'], { env: s3.awsEnv });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await honestMarker(s3)).total_records, 1500);
    assert.deepEqual(await s3.list(TMP), []);
  });
});
