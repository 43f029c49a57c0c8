// Issue #3 benchmark: the same CSV to one snappy Parquet file, by bronze-extract
// (type: file) and by DuckDB (COPY ... FORMAT parquet, COMPRESSION snappy), in
// one run. Prints the throughput ratio (DuckDB time / bronze time: > 1 means
// bronze-extract is faster) and bronze-extract's peak RSS at 1M and 10M rows.
// Issue #14 item 2: bronze-extract runs with parallel_workers 1 and N (N = the
// machine's cores, so the parallel CSV reader is on), interleaved with DuckDB;
// it prints wall medians with [min-max], CPU seconds (user+sys), the load
// average, the ratios, and checks both worker counts wrote identical parts.
// Usage: node bench/parquet_vs_duckdb.mjs [rows=5000000]   (after `make release`)
//        BENCH_TRIALS=5 (default 5), BENCH_RSS=0 skips the 1M/5M/10M RSS runs.
import { mkdirSync, rmSync, writeFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ROOT, BIN, peakRss, duck, duckTimedCpu, timedCpu, median, spread, load } from './lib.mjs';

const rows = Number(process.argv[2] || 5_000_000);
const dir = join(ROOT, 'bench/data');
mkdirSync(dir, { recursive: true });
const conn = await duck();

async function makeCsv(n) {
  const path = join(dir, `mixed_${n}.csv`);
  if (existsSync(path)) return path;
  await conn.run(`COPY (SELECT i AS id, (i * 7919) % 1000003 AS customer_id,
      round(((i * 31) % 100000) / 100.0, 2) AS amount, (i % 997) * 1.25e3 / 7 AS score,
      'customer ' || (i % 50000) AS name, CASE i % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped' ELSE 'closed' END AS status,
      DATE '2020-01-01' + (i % 1500)::INT AS order_date,
      TIMESTAMP '2020-01-01 00:00:00' + to_seconds(i * 13) AS updated_at,
      i % 3 = 0 AS flag, md5(i::VARCHAR) AS token
    FROM range(${n}) t(i)) TO '${path}' (HEADER, DELIMITER ',')`);
  return path;
}

function bronze(csv, out, workers) {
  const cfg = join(dir, 'bench.yaml');
  writeFileSync(cfg, `platform:
  bronze:
    local_path: "${out}"
    output_defaults:
      parquet_compression: "snappy"
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
`);
  rmSync(out, { recursive: true, force: true });
  return timedCpu(BIN, ['--config', cfg, '--date', '2025-01-12'], { cwd: dir });
}

/** sha256 of every part file under out, in name order. */
function partsHash(out) {
  const h = createHash('sha256');
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.startsWith('part-')) h.update(e.name).update(readFileSync(join(d, e.name)));
    }
  };
  walk(out);
  return h.digest('hex');
}

const csv = await makeCsv(rows);
const out = join(dir, 'out');
const dOut = join(dir, 'duck.parquet');
const N = Math.max(2, availableParallelism());
const duckSql = `COPY (SELECT * FROM read_csv('${csv}')) TO '${dOut}' (FORMAT parquet, COMPRESSION snappy)`;
// Trials interleave the writers (bronze 1 worker, bronze N workers, DuckDB) so
// all see the same machine; medians.
const TRIALS = Number(process.env.BENCH_TRIALS || 5);
const r = { b1: [], bN: [], d: [], c1: [], cN: [], cd: [] };
const load0 = load();
bronze(csv, out, N); // warm-up, untimed: every writer starts with the input in the page cache
rmSync(dOut, { force: true });
await duckTimedCpu(conn, duckSql);
let h1 = '', hN = '';
for (let t = 0; t < TRIALS; t++) {
  let x = bronze(csv, out, 1);
  r.b1.push(x.seconds); r.c1.push(x.cpu);
  if (!t) h1 = partsHash(out);
  x = bronze(csv, out, N);
  r.bN.push(x.seconds); r.cN.push(x.cpu);
  if (!t) hN = partsHash(out);
  rmSync(dOut, { force: true });
  const y = await duckTimedCpu(conn, duckSql);
  r.d.push(y.seconds); r.cd.push(y.cpu);
}
const load1 = load();
const check = await conn.runAndReadAll(`SELECT count(*)::BIGINT n FROM '${out}/**/*.parquet'`);
console.log(`rows: ${rows}  (rows read back from bronze output: ${check.getRowObjectsJS()[0].n}); ${TRIALS} trials; load average before ${load0}, after ${load1}`);
console.log(`bronze-extract, 1 worker:   wall ${spread(r.b1)}  cpu ${spread(r.c1)}  (${(rows / median(r.b1) / 1e6).toFixed(2)} M rows/s)`);
console.log(`bronze-extract, ${N} workers:  wall ${spread(r.bN)}  cpu ${spread(r.cN)}  (${(rows / median(r.bN) / 1e6).toFixed(2)} M rows/s)`);
console.log(`duckdb:                     wall ${spread(r.d)}  cpu ${spread(r.cd)}  (${(rows / median(r.d) / 1e6).toFixed(2)} M rows/s)`);
console.log(`parts identical for 1 and ${N} workers (sha256): ${h1 === hN ? 'yes' : 'NO'}`);
console.log(`throughput ratio bronze(${N} workers)/duckdb (medians): ${(median(r.d) / median(r.bN)).toFixed(2)}x  (goal >= 1.5x)`);
console.log(`throughput ratio bronze(1 worker)/duckdb (medians): ${(median(r.d) / median(r.b1)).toFixed(2)}x`);
console.log(`${N} workers vs 1: ${(median(r.b1) / median(r.bN)).toFixed(2)}x wall; cpu/wall with ${N} workers ${(median(r.cN) / median(r.bN)).toFixed(2)}`);

if (process.env.BENCH_RSS !== '0') {
  // 1M, 5M and 10M rows, 1 and N workers. With N workers a run holds up to
  // N chunks of rows and their encoding (SPEC §7: one row group per worker),
  // ~555k rows each here, so a 1M-row run (two chunks, the second short) is
  // below that plateau: whether memory still grows with rows is 10M against
  // 5M; 10M against 1M is printed beside it.
  const rss = {};
  for (const n of [1_000_000, 5_000_000, 10_000_000]) {
    const c = await makeCsv(n);
    rss[n] = { 1: peakRss(bronze(c, out, 1).stderr), [N]: peakRss(bronze(c, out, N).stderr) };
  }
  for (const w of [1, N])
    console.log(`peak RSS (${w} worker${w > 1 ? 's' : ''}): 1M rows ${rss[1_000_000][w]} MiB, 5M ${rss[5_000_000][w]} MiB, 10M ${rss[10_000_000][w]} MiB; 10M/5M ${(rss[10_000_000][w] / rss[5_000_000][w]).toFixed(2)} (flat: goal <= 1.2), 10M/1M ${(rss[10_000_000][w] / rss[1_000_000][w]).toFixed(2)}`);
}
rmSync(out, { recursive: true, force: true });
