// Issue #3 benchmark: the same CSV to one snappy Parquet file, by bronze-extract
// (type: file) and by DuckDB (COPY ... FORMAT parquet, COMPRESSION snappy), in
// one run. Prints the throughput ratio (DuckDB time / bronze time: > 1 means
// bronze-extract is faster) and bronze-extract's peak RSS at 1M and 10M rows.
// Usage: node bench/parquet_vs_duckdb.mjs [rows=5000000]   (after `make release`)
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, BIN, timed, peakRss, duck, duckTimed } from './lib.mjs';

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

function bronze(csv, out) {
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
`);
  rmSync(out, { recursive: true, force: true });
  return timed(BIN, ['--config', cfg, '--date', '2025-01-12'], { cwd: dir });
}

const csv = await makeCsv(rows);
const out = join(dir, 'out');
const dOut = join(dir, 'duck.parquet');
// Trials interleave the two writers so both see the same machine; medians.
const TRIALS = Number(process.env.BENCH_TRIALS || 3);
const bt = [], dt = [];
bronze(csv, out); // warm-up, untimed: both writers start with the input in the page cache
rmSync(dOut, { force: true });
await duckTimed(conn, `COPY (SELECT * FROM read_csv('${csv}')) TO '${dOut}' (FORMAT parquet, COMPRESSION snappy)`);
for (let t = 0; t < TRIALS; t++) {
  bt.push(bronze(csv, out).seconds);
  rmSync(dOut, { force: true });
  dt.push(await duckTimed(conn, `COPY (SELECT * FROM read_csv('${csv}')) TO '${dOut}' (FORMAT parquet, COMPRESSION snappy)`));
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const b = median(bt), d = median(dt);
const check = await conn.runAndReadAll(`SELECT count(*)::BIGINT n FROM '${out}/**/*.parquet'`);
console.log(`rows: ${rows}  (rows read back from bronze output: ${check.getRowObjectsJS()[0].n})`);
console.log(`bronze-extract: median ${b.toFixed(2)} s of [${bt.map((x) => x.toFixed(2)).join(', ')}] (${(rows / b / 1e6).toFixed(2)} M rows/s)`);
console.log(`duckdb:         median ${d.toFixed(2)} s of [${dt.map((x) => x.toFixed(2)).join(', ')}] (${(rows / d / 1e6).toFixed(2)} M rows/s)`);
console.log(`throughput ratio bronze/duckdb (medians): ${(d / b).toFixed(2)}x  (goal >= 1.0x)`);

const rss = {};
for (const n of [1_000_000, 10_000_000]) {
  const c = await makeCsv(n);
  rss[n] = peakRss(bronze(c, out).stderr);
}
console.log(`peak RSS: 1M rows ${rss[1_000_000]} MiB, 10M rows ${rss[10_000_000]} MiB, ratio ${(rss[10_000_000] / rss[1_000_000]).toFixed(2)} (goal <= 1.2)`);
rmSync(out, { recursive: true, force: true });
