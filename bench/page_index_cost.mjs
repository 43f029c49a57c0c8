// Issue #15 benchmark: what the page index (always written) and bloom filters
// (opt-in) cost on the CSV -> snappy Parquet run of parquet_vs_duckdb.mjs.
// Runs a baseline binary (built from a commit before the page index) and this
// build on the same CSV, interleaved, and prints medians, spreads and the cost.
// Wall time on the shared 2-core VM swings with the other tenants' load, so
// the CPU time (user + system, from /usr/bin/time) is reported beside it.
// Usage: BASE_BIN=/path/to/old/bronze-extract node bench/page_index_cost.mjs [rows=5000000]
import { mkdirSync, rmSync, writeFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, BIN, timed, duck } from './lib.mjs';

const rows = Number(process.argv[2] || 5_000_000);
const BASE = process.env.BASE_BIN;
if (!BASE) throw new Error('set BASE_BIN to a bronze-extract built before the page index');
const dir = join(ROOT, 'bench/data');
mkdirSync(dir, { recursive: true });
const conn = await duck();

// the same CSV as parquet_vs_duckdb.mjs (shared file name: generated once)
const csv = join(dir, `mixed_${rows}.csv`);
if (!existsSync(csv))
  await conn.run(`COPY (SELECT i AS id, (i * 7919) % 1000003 AS customer_id,
      round(((i * 31) % 100000) / 100.0, 2) AS amount, (i % 997) * 1.25e3 / 7 AS score,
      'customer ' || (i % 50000) AS name, CASE i % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped' ELSE 'closed' END AS status,
      DATE '2020-01-01' + (i % 1500)::INT AS order_date,
      TIMESTAMP '2020-01-01 00:00:00' + to_seconds(i * 13) AS updated_at,
      i % 3 = 0 AS flag, md5(i::VARCHAR) AS token
    FROM range(${rows}) t(i)) TO '${csv}' (HEADER, DELIMITER ',')`);

function config(name, extra) {
  const cfg = join(dir, `${name}.yaml`);
  writeFileSync(cfg, `platform:
  bronze:
    local_path: "${join(dir, 'out-' + name)}"
    output_defaults:
      parquet_compression: "snappy"
${extra}
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
  return cfg;
}

const variants = [
  { name: 'base', bin: BASE, cfg: config('base', '') },
  { name: 'page index', bin: BIN, cfg: config('pidx', '') },
  { name: 'page index + bloom(id, token)', bin: BIN, cfg: config('bloom', '      parquet_bloom_filter_columns: [id, token]') },
];
function once(v) {
  const out = join(dir, 'out-' + v.cfg.split('/').pop().replace('.yaml', ''));
  rmSync(out, { recursive: true, force: true });
  const t = timed('/usr/bin/time', ['-f', 'CPU %U %S', v.bin, '--config', v.cfg, '--date', '2025-01-12'], { cwd: dir });
  const m = t.stderr.match(/CPU ([\d.]+) ([\d.]+)\s*$/);
  v.cpu.push(Number(m[1]) + Number(m[2]));
  const p = join(out, 'system=bench/table=mixed/dt=2025-01-12');
  v.bytes = readdirSync(p).filter((f) => f.endsWith('.parquet')).reduce((s, f) => s + statSync(join(p, f)).size, 0);
  return t.seconds;
}
const TRIALS = Number(process.env.BENCH_TRIALS || 7);
for (const v of variants) { v.t = []; v.cpu = []; once(v); v.cpu = []; } // warm-up, untimed
for (let t = 0; t < TRIALS; t++)
  for (const v of (t % 2 ? [...variants].reverse() : variants)) v.t.push(once(v));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const base = median(variants[0].t), baseCpu = median(variants[0].cpu);
const span = (a) => `[${Math.min(...a).toFixed(2)}..${Math.max(...a).toFixed(2)}]`;
const pct = (x, b) => `${x >= b ? '+' : ''}${((x / b - 1) * 100).toFixed(1)}%`;
console.log(`rows: ${rows}, ${TRIALS} interleaved trials each (order alternating), medians [min..max]`);
for (const v of variants) {
  const m = median(v.t), c = median(v.cpu);
  const cost = v === variants[0] ? '' : `  cost: wall ${pct(m, base)}, CPU ${pct(c, baseCpu)}`;
  console.log(`${v.name.padEnd(30)} wall ${m.toFixed(2)} s ${span(v.t)}  CPU ${c.toFixed(2)} s ${span(v.cpu)}  file ${v.bytes} B${cost}`);
}
for (const v of variants) rmSync(join(dir, 'out-' + v.cfg.split('/').pop().replace('.yaml', '')), { recursive: true, force: true });
