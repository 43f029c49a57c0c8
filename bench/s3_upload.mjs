// Issue #10 benchmark: the same ~1 GiB of Parquet parts uploaded by
// bronze-extract (s3_enabled: true) and by `aws s3 cp --recursive`, to the
// same local s3rver behind tests/integration/lib/s3.mjs's front (SigV4 and
// digests checked on every request), in one run. Whole processes, interleaved
// A B A B; medians and spread printed.
//
// bronze-extract cannot upload without extracting, so each round also runs it
// local-only (same config, s3_enabled: false): its upload cost is the
// difference. Two ratios are printed: aws time / bronze upload cost (the
// upload paths compared, goal >= 1.0x) and aws time / whole bronze run
// (extraction included, the conservative one).
//
// Usage: node bench/s3_upload.mjs [MiB=1024]   (after `make release`; needs `aws` on PATH)
// BENCH_TRIALS (default 3), BENCH_WORKERS (bronze parallel_workers, default 4).
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { ROOT, BIN as RELEASE, peakRss } from './lib.mjs';
import { startS3 } from '../tests/integration/lib/s3.mjs';

const BIN = process.env.BRONZE_BIN || RELEASE;
const MIB = Number(process.argv[2] || 1024);
const TRIALS = Number(process.env.BENCH_TRIALS || 3);
const WORKERS = Number(process.env.BENCH_WORKERS || 4);
const ROW = 64 * 1024; // one random 64 KiB BLOB per row: Parquet cannot shrink it
const rows = Math.round((MIB * 1024 * 1024) / ROW);
const dir = join(ROOT, 'bench/data/s3');
mkdirSync(dir, { recursive: true });

// The source: a SQLite table of random BLOBs (made once, kept in bench/data).
const db = join(dir, `blobs_${MIB}.db`);
if (!existsSync(db)) {
  execFileSync('sqlite3', [db], { input: `CREATE TABLE blobs (id INTEGER PRIMARY KEY, payload BLOB);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < ${rows})
INSERT INTO blobs SELECT i, randomblob(${ROW}) FROM s;` });
}

/** Runs a command without blocking this process (the front lives here); resolves seconds. */
function timed(cmd, args, { env = {}, cwd = dir } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.slice(-2000)}`));
      else resolve({ seconds: s, stdout: out, stderr: err });
    });
  });
}

function config(name, upload) {
  const p = join(dir, name);
  writeFileSync(p, `platform:
  bronze:
    local_path: "./out-${upload ? 's3' : 'local'}"
    s3_bucket: "bench"
    s3_prefix: "bronze"
    output_defaults:
      parquet_compression: "snappy"
  s3_connection:
    endpoint_url_env: "BRONZE_S3_ENDPOINT"
    access_key_env: "BRONZE_S3_ACCESS_KEY"
    secret_key_env: "BRONZE_S3_SECRET_KEY"
source:
  type: "db"
  system: "bench"
  table: "blobs"
  db:
    conn_str_env: "BENCH_DB"
    base_query: "SELECT * FROM blobs"
  run:
    write_csv: false
    write_parquet: true
    max_file_size_mb: 128
    parallel_workers: ${WORKERS}
    s3_enabled: ${upload}
`);
  return p;
}

const s3 = await startS3({ bucket: 'bench' });
try {
  const env = { BENCH_DB: `sqlite:///${db}`, ...s3.configEnv };
  const awsEnv = {
    ...s3.awsEnv, AWS_DEFAULT_REGION: s3.region,
    // plain checksums in headers, no aws-chunked trailers (the front refuses streaming payloads)
    AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required', AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
    AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  const cfgS3 = config('s3.yaml', true);
  const cfgLocal = config('local.yaml', false);
  const args = (c) => ['--config', c, '--date', '2025-01-12'];
  const clear = async (prefix) => {
    for (let round = 0; round < 100; round++) {
      const keys = (await s3.list(prefix)).map((o) => ({ Key: o.key }));
      if (!keys.length) return;
      await s3.client.send(new DeleteObjectsCommand({ Bucket: 'bench', Delete: { Objects: keys.slice(0, 1000) } }));
    }
  };

  // The parts aws uploads: exactly bronze-extract's, made by a local-only run.
  rmSync(join(dir, 'out-local'), { recursive: true, force: true });
  await timed(BIN, args(cfgLocal), { env });
  const partsDir = join(dir, 'out-local/system=bench/table=blobs/dt=2025-01-12');
  const files = readdirSync(partsDir).filter((f) => f.endsWith('.parquet'));
  const bytes = files.reduce((a, f) => a + statSync(join(partsDir, f)).size, 0);
  const awsSrc = join(dir, 'aws-src');
  rmSync(awsSrc, { recursive: true, force: true });
  mkdirSync(awsSrc);
  for (const f of files) execFileSync('cp', [join(partsDir, f), join(awsSrc, f)]);
  console.log(`parts: ${files.length} Parquet files, ${(bytes / 1048576).toFixed(0)} MiB (${rows} rows of ${ROW} random bytes)`);

  const bt = [], lt = [], at = [], rss = [], phases = [];
  // wall time and requests per kind of step, from the front's log
  const phaseOf = (log) => {
    const kinds = { upload: ['PutObject', 'UploadPart', 'CreateMultipartUpload', 'CompleteMultipartUpload'], publish: ['CopyObject', 'DeleteObject', 'DeleteObjects'] };
    const out = {};
    for (const [k, ops] of Object.entries(kinds)) {
      const rs = log.filter((r) => ops.includes(r.op));
      if (!rs.length) continue;
      const t0 = Math.min(...rs.map((r) => r.time)), t1 = Math.max(...rs.map((r) => r.time + (r.ms || 0)));
      const ev = rs.flatMap((r) => [[r.time, 1], [r.time + (r.ms || 0), -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let cur = 0, peak = 0;
      for (const [, d] of ev) peak = Math.max(peak, (cur += d));
      const busy = rs.reduce((a, r) => a + (r.ms || 0), 0) / 1000;
      out[k] = `${rs.length} requests over ${((t1 - t0) / 1000).toFixed(2)} s, ${peak} at most in flight, ${busy.toFixed(1)} request-seconds`;
    }
    return out;
  };
  for (let t = 0; t < TRIALS; t++) {
    // A: bronze-extract, extract + upload
    await clear('bronze/');
    rmSync(join(dir, 'out-s3'), { recursive: true, force: true });
    s3.clearRequests();
    const b = await timed(BIN, args(cfgS3), { env });
    bt.push(b.seconds);
    rss.push(peakRss(b.stderr));
    const landed = (await s3.list('bronze/system=bench/')).filter((o) => o.key.endsWith('.parquet'));
    if (landed.reduce((a, o) => a + o.size, 0) !== bytes) throw new Error(`bronze landed ${landed.length} parts, not ${bytes} bytes`);
    if (s3.requests.some((r) => r.status === 403 || r.status === 400)) throw new Error('bronze-extract requests refused by the front');
    const bronzeLog = [...s3.requests];
    // B: aws s3 cp --recursive of the same parts
    await clear('aws/');
    s3.clearRequests();
    const a = await timed('aws', ['--endpoint-url', s3.endpoint, 's3', 'cp', '--recursive', '--only-show-errors', awsSrc, 's3://bench/aws/'], { env: awsEnv });
    at.push(a.seconds);
    const awsLanded = await s3.list('aws/');
    if (awsLanded.reduce((x, o) => x + o.size, 0) !== bytes) throw new Error('aws did not land every byte');
    // C: bronze-extract local-only (what extraction alone costs)
    rmSync(join(dir, 'out-local'), { recursive: true, force: true });
    lt.push((await timed(BIN, args(cfgLocal), { env })).seconds);
    phases.push({ bronze: phaseOf(bronzeLog), aws: phaseOf([...s3.requests]) });
    console.log(`trial ${t + 1}: bronze s3 ${b.seconds.toFixed(2)} s, aws cp ${a.seconds.toFixed(2)} s, bronze local-only ${lt.at(-1).toFixed(2)} s`);
  }
  const median = (x) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
  const spread = (x) => `[${x.map((v) => v.toFixed(2)).join(', ')}]`;
  const mb = bytes / 1048576;
  const B = median(bt), A = median(at), L = median(lt);
  const up = Math.max(1e-3, B - L);
  console.log(`bronze-extract (extract + upload): median ${B.toFixed(2)} s of ${spread(bt)} (${(mb / B).toFixed(0)} MiB/s), peak RSS ${median(rss)} MiB`);
  console.log(`bronze-extract local-only:         median ${L.toFixed(2)} s of ${spread(lt)}`);
  console.log(`aws s3 cp --recursive:             median ${A.toFixed(2)} s of ${spread(at)} (${(mb / A).toFixed(0)} MiB/s)`);
  console.log(`bronze upload cost (s3 - local):   ${up.toFixed(2)} s (${(mb / up).toFixed(0)} MiB/s)`);
  console.log(`ratio aws / bronze upload cost: ${(A / up).toFixed(2)}x  (goal >= 1.0x)`);
  console.log(`last trial's requests: bronze ${JSON.stringify(phases.at(-1).bronze)}; aws ${JSON.stringify(phases.at(-1).aws)}`);
  console.log(`ratio aws / whole bronze run:   ${(A / B).toFixed(2)}x  (extraction included)`);
} finally {
  await s3.stop();
  rmSync(join(dir, 'out-s3'), { recursive: true, force: true });
  rmSync(join(dir, 'out-local'), { recursive: true, force: true });
  rmSync(join(dir, 'aws-src'), { recursive: true, force: true });
}
