// Issue #7 benchmark: a mixed-type PostgreSQL table (10 columns) extracted by
// bronze-extract to snappy Parquet, against `psql -c "\copy (query) to /dev/null"`
// (text COPY, the yardstick) on the same server in the same run. Prints the
// throughput ratio (psql time / bronze time: > 1 means bronze-extract is faster)
// and bronze-extract's peak RSS at 1M and 10M rows.
// Issue #14 item 3: the trials interleave psql text \copy, psql binary \copy
// (the server's own limit here) and bronze-extract with parallel_workers 1 and
// 2; it prints wall medians [min-max], CPU seconds (user+sys) and the load
// average, and the ratios against both psql figures.
// Usage: node bench/pg_vs_psql.mjs [rows=5000000]   (after `make release`)
//        BENCH_TRIALS (default 5); BENCH_RSS=0 skips the 1M/10M RSS runs;
//        BRONZE_TEST_PG=<conninfo> uses that server instead of a throwaway one.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, BIN, peakRss, timedCpu, median, spread, load } from './lib.mjs';
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
  const cfg = (n, workers) => {
    const p = join(dir, `pg_${n}_${workers}.yaml`);
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
    parallel_workers: ${workers}
`);
    return p;
  };
  const bronze = (n, workers) => {
    rmSync(join(dir, 'pg_out'), { recursive: true, force: true });
    return timedCpu(BIN, ['--config', cfg(n, workers), '--date', '2025-01-12'], { env: { ...process.env, BENCH_PG: pg.conninfo } });
  };
  const psql = (binary) => timedCpu('psql', ['-X', '-q', '-d', pg.conninfo, '-c',
    `\\copy (SELECT * FROM ${table(rows)}) to /dev/null${binary ? ' (format binary)' : ''}`]);
  make(rows);
  const TRIALS = Number(process.env.BENCH_TRIALS || 5);
  const k = ['text', 'binary', 'b1', 'b2'];
  const wall = Object.fromEntries(k.map((x) => [x, []])), cpu = Object.fromEntries(k.map((x) => [x, []]));
  const load0 = load();
  psql(false); bronze(rows, 1); // warm-up, untimed: the table in shared buffers / page cache
  for (let t = 0; t < TRIALS; t++) {
    for (const [key, f] of [['text', () => psql(false)], ['b1', () => bronze(rows, 1)],
      ['binary', () => psql(true)], ['b2', () => bronze(rows, 2)]]) {
      const r = f();
      wall[key].push(r.seconds);
      cpu[key].push(r.cpu);
    }
  }
  const load1 = load();
  const m = (key) => median(wall[key]);
  console.log(`rows: ${rows}; ${TRIALS} trials interleaved; load average before ${load0}, after ${load1}`);
  console.log(`psql \\copy text to /dev/null:    wall ${spread(wall.text)}  client cpu ${spread(cpu.text)}`);
  console.log(`psql \\copy binary to /dev/null:  wall ${spread(wall.binary)}  client cpu ${spread(cpu.binary)}`);
  console.log(`bronze-extract, 1 worker:        wall ${spread(wall.b1)}  cpu ${spread(cpu.b1)}`);
  console.log(`bronze-extract, 2 workers:       wall ${spread(wall.b2)}  cpu ${spread(cpu.b2)}`);
  for (const b of ['b1', 'b2'])
    console.log(`ratio bronze(${b === 'b1' ? 1 : 2} worker${b === 'b1' ? '' : 's'})/psql text: ${(m('text') / m(b)).toFixed(2)}x (goal >= 1.2x); /psql binary: ${(m('binary') / m(b)).toFixed(2)}x`);
  if (process.env.BENCH_RSS !== '0') {
    const rss = {};
    for (const n of [1_000_000, 10_000_000]) {
      make(n);
      rss[n] = peakRss(bronze(n, 2).stderr);
    }
    console.log(`peak RSS: 1M rows ${rss[1_000_000]} MiB, 10M rows ${rss[10_000_000]} MiB (goal < 256 MiB, flat)`);
  }
} finally {
  pg.stop();
  rmSync(join(dir, 'pg_out'), { recursive: true, force: true });
}
