// Issue #14 item 1 benchmark: the same CPU-bound extraction (CSV -> Parquet)
// with parallel_workers 1 and 2, whole processes interleaved A B A B, medians,
// for gzip, zstd and snappy. Prints wall ratio (1 / 2 workers), CPU seconds
// (user + sys of the child) over wall seconds, and the load average.
// Usage: node bench/chunk_workers.mjs [rows=5000000]   (after `make release`)
//        BENCH_TRIALS=5 BENCH_CODECS=gzip,zstd,snappy BENCH_MB=0 (max_file_size_mb; 0 = unset)
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, BIN, duck } from './lib.mjs';

const rows = Number(process.argv[2] || 5_000_000);
const TRIALS = Number(process.env.BENCH_TRIALS || 5);
const CODECS = (process.env.BENCH_CODECS || 'gzip,zstd,snappy').split(',');
const MB = Number(process.env.BENCH_MB || 0);
const dir = join(ROOT, 'bench/data');
mkdirSync(dir, { recursive: true });

const csv = join(dir, `mixed_${rows}.csv`);
if (!existsSync(csv)) {
  const conn = await duck();
  await conn.run(`COPY (SELECT i AS id, (i * 7919) % 1000003 AS customer_id,
      round(((i * 31) % 100000) / 100.0, 2) AS amount, (i % 997) * 1.25e3 / 7 AS score,
      'customer ' || (i % 50000) AS name, CASE i % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped' ELSE 'closed' END AS status,
      DATE '2020-01-01' + (i % 1500)::INT AS order_date,
      TIMESTAMP '2020-01-01 00:00:00' + to_seconds(i * 13) AS updated_at,
      i % 3 = 0 AS flag, md5(i::VARCHAR) AS token
    FROM range(${rows}) t(i)) TO '${csv}' (HEADER, DELIMITER ',')`);
}

// One run under /usr/bin/time-like accounting: the child's user+sys from
// spawnSync is not exposed, so run through `bash -c 'time ...'` (TIMEFORMAT).
function once(codec, workers) {
  const out = join(dir, `cw_out_${workers}`);
  const cfg = join(dir, `cw_${workers}.yaml`);
  writeFileSync(cfg, `platform:
  bronze:
    local_path: "${out}"
    output_defaults:
      parquet_compression: "${codec}"
source:
  type: "file"
  system: "bench"
  table: "mixed"
  file:
    path: "${csv}"
    format: "csv"
  run:
    write_csv: false
    write_parquet: true
    parallel_workers: ${workers}
${MB ? `    max_file_size_mb: ${MB}\n` : ''}`);
  rmSync(out, { recursive: true, force: true });
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; time "${BIN}" --config "${cfg}" --date 2025-01-12 2>/dev/null`],
    { encoding: 'utf8', cwd: dir });
  if (r.status !== 0) throw new Error(`run failed (${r.status}): ${r.stderr}`);
  const [real, user, sys] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  rmSync(out, { recursive: true, force: true });
  return { wall: real, cpu: user + sys };
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const fmt = (a) => `[${a.map((x) => x.toFixed(2)).join(', ')}]`;
console.log(`rows ${rows}, trials ${TRIALS}, max_file_size_mb ${MB || 'unset'}, load before ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const codec of CODECS) {
  once(codec, 1); // warm-up: the CSV in the page cache
  const w1 = [], w2 = [], c1 = [], c2 = [];
  for (let t = 0; t < TRIALS; t++) {
    const a = once(codec, 1), b = once(codec, 2);
    w1.push(a.wall); c1.push(a.cpu); w2.push(b.wall); c2.push(b.cpu);
  }
  const m1 = median(w1), m2 = median(w2);
  console.log(`${codec}: 1 worker ${m1.toFixed(2)} s ${fmt(w1)} cpu/wall ${(median(c1) / m1).toFixed(2)}; ` +
    `2 workers ${m2.toFixed(2)} s ${fmt(w2)} cpu/wall ${(median(c2) / m2).toFixed(2)} (goal >= 1.8); ` +
    `ratio ${(m1 / m2).toFixed(2)}x (goal >= 1.7x for gzip); load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
