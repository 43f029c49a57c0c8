// Issue #7 benchmark: a mixed-type PostgreSQL table (10 columns) extracted by
// bronze-extract to snappy Parquet, against `psql -c "\copy (query) to /dev/null"`
// (text COPY, the yardstick) on the same server in the same run. Prints the
// throughput ratio (psql time / bronze time: > 1 means bronze-extract is faster)
// and bronze-extract's peak RSS at 1M and 10M rows.
// Usage: node bench/pg_vs_psql.mjs [rows=5000000]   (after `make release`)
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, BIN, timed, peakRss } from './lib.mjs';
import { start } from '../tests/integration/lib/pg.mjs';

const rows = Number(process.argv[2] || 5_000_000);
const dir = join(ROOT, 'bench/data');
mkdirSync(dir, { recursive: true });
const pg = start();
try {
  const table = (n) => `bench_${n}`;
  const make = (n) => pg.psql(`CREATE TABLE IF NOT EXISTS ${table(n)} AS
    SELECT i::int8 AS id, (i % 100000)::int4 AS customer_id, (i % 7)::int2 AS kind,
           round((random() * 10000)::numeric, 2)::numeric(12,2) AS amount, random() AS score,
           'customer ' || (i % 50000) AS name, md5(i::text) AS token,
           DATE '2020-01-01' + (i % 1500) AS order_date,
           TIMESTAMPTZ '2020-01-01 00:00:00+00' + i * INTERVAL '13 seconds' AS updated_at,
           (i % 3 = 0) AS flag
    FROM generate_series(1, ${n}) i`) && pg.psql(`VACUUM ANALYZE ${table(n)}`);
  const cfg = (n) => {
    const p = join(dir, `pg_${n}.yaml`);
    writeFileSync(p, `platform:
  bronze:
    local_path: "${join(dir, 'pg_out')}"
    output_defaults:
      parquet_compression: "snappy"
source:
  type: "db"
  system: "bench"
  table: "${table(n)}"
  db:
    conn_str_env: "BENCH_PG"
    base_query: "SELECT * FROM ${table(n)}"
  run:
    write_csv: false
`);
    return p;
  };
  const bronze = (n) => {
    rmSync(join(dir, 'pg_out'), { recursive: true, force: true });
    return timed(BIN, ['--config', cfg(n), '--date', '2025-01-12'], { env: { ...process.env, BENCH_PG: pg.conninfo } });
  };
  make(rows);
  // Trials interleave psql and bronze-extract so both see the same machine; medians.
  const TRIALS = Number(process.env.BENCH_TRIALS || 3);
  const pt = [], bt = [];
  for (let t = 0; t < TRIALS; t++) {
    pt.push(timed('psql', ['-X', '-q', '-d', pg.conninfo, '-c', `\\copy (SELECT * FROM ${table(rows)}) to /dev/null`]).seconds);
    bt.push(bronze(rows).seconds);
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const yard = median(pt), b = median(bt);
  const list = (a) => a.map((x) => x.toFixed(2)).join(', ');
  console.log(`rows: ${rows}`);
  console.log(`psql \\copy to /dev/null: median ${yard.toFixed(2)} s of [${list(pt)}] (${(rows / yard / 1e6).toFixed(2)} M rows/s)`);
  console.log(`bronze-extract -> snappy Parquet: median ${b.toFixed(2)} s of [${list(bt)}] (${(rows / b / 1e6).toFixed(2)} M rows/s)`);
  console.log(`throughput ratio bronze/psql (medians): ${(yard / b).toFixed(2)}x  (goal >= 1.0x)`);
  const rss = {};
  for (const n of [1_000_000, 10_000_000]) {
    make(n);
    rss[n] = peakRss(bronze(n).stderr);
  }
  console.log(`peak RSS: 1M rows ${rss[1_000_000]} MiB, 10M rows ${rss[10_000_000]} MiB (goal < 256 MiB, flat)`);
} finally {
  pg.stop();
  rmSync(join(dir, 'pg_out'), { recursive: true, force: true });
}
