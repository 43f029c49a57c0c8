// Issue #16 benchmark: one PostgreSQL table read by K = 1, 2 and 4 shard
// processes (`bronze-extract --shard I/K`, then `bronze-extract commit`), the
// server's connections each rate-limited as over a WAN: PostgreSQL runs in a
// network namespace, shard i reaches it over veth pair i whose server end is
// shaped (bench/scaleout_netns.sh), so each connection gets RATE and the 2
// local cores are not the limit. Prints rows/s per K, the ratio against K = 1
// measured in the same run (goal >= 0.8*K), and, for the record, K = 1 vs 2
// against a server on loopback (no shaping: here the cores are the limit).
// Trials interleave the K values (rotating the order); medians, min-max spread,
// CPU seconds (user+sys, summed over the K processes), load average.
//
// Usage (as root, after `make release`):
//   node bench/scaleout_wan.mjs [rows=400000] [rate=40mbit] [trials=3] [loopback_rows=5*rows]
// The namespace and the servers are removed on exit, also on failure or ^C.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, chownSync, chmodSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, BIN } from './lib.mjs';
import { start as startPg } from '../tests/integration/lib/pg.mjs';

const ROWS = Number(process.argv[2] || 400000);
const RATE = process.argv[3] || '40mbit';
const TRIALS = Number(process.argv[4] || 3);
const LOOP_ROWS = Number(process.argv[5] || 5 * ROWS); // long enough to time without shaping
const KS = [1, 2, 4];
const NS = 'bfwan';
const NETNS = join(ROOT, 'bench/scaleout_netns.sh');
const DATE = '2025-01-12';
const PG_BIN = ['/usr/lib/postgresql/15/bin', '/usr/local/lib/bronze-foundry-pg/usr/lib/postgresql/15/bin']
  .find((d) => existsSync(join(d, 'initdb')));

if (process.getuid() !== 0) throw new Error('run as root (network namespaces, tc)');
if (!existsSync(BIN)) throw new Error(`no ${BIN}: run make release first`);
if (!PG_BIN) throw new Error('no PostgreSQL 15 server binaries (scripts/deps.sh test installs them)');

const work = mkdtempSync(join(tmpdir(), 'bf-scaleout-'));
chmodSync(work, 0o755); // the postgres user works in it
let pgDir = null, nsUp = false, loopPg = null;
function cleanup() {
  if (pgDir) {
    try { execFileSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, 'pg_ctl'), '-D', join(pgDir, 'data'), '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore' }); } catch { /* gone */ }
    pgDir = null;
  }
  if (nsUp) {
    try { execFileSync(NETNS, ['down', NS, String(Math.max(...KS))], { stdio: 'ignore' }); } catch { /* best effort */ }
    nsUp = false;
  }
  if (loopPg) { loopPg.stop(); loopPg = null; }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { cleanup(); process.exit(130); });

const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Runs `argv` under /usr/bin/time; resolves {code, wall, cpu, stderr}. */
function timedProc(argv, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn('/usr/bin/time', ['-f', '@@time %U %S', ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => { err += d; });
    c.on('error', reject);
    c.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const m = /@@time ([\d.]+) ([\d.]+)/.exec(err);
      resolve({ code, wall, cpu: m ? Number(m[1]) + Number(m[2]) : NaN, stderr: err });
    });
  });
}

function config(out) {
  const p = join(work, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, `platform:
  bronze:
    local_path: "${out}"
    output_defaults:
      parquet_compression: "snappy"
source:
  type: "db"
  system: "bench"
  table: "wan"
  db:
    conn_str_env: "BENCH_PG"
    base_query: "SELECT * FROM wan"
    partitioning:
      column: "id"
      num_partitions: 4
  run:
    write_csv: false
    write_parquet: true
`);
  return p;
}

/**
 * One sharded run: K shard processes at once (shard i connects with conninfo(i)),
 * then the commit. Returns {extract, commit, cpu} seconds.
 */
async function sharded(k, conninfo, rows) {
  const out = join(work, 'out');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  const cfg = config(out);
  const t0 = process.hrtime.bigint();
  const runs = await Promise.all([...Array(k).keys()].map((i) =>
    timedProc([BIN, '-q', '--config', cfg, '--date', DATE, '--shard', `${i}/${k}`], { PATH: process.env.PATH, BENCH_PG: conninfo(i) })));
  const extract = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const [i, r] of runs.entries()) if (r.code !== 0) throw new Error(`shard ${i}/${k} failed (${r.code}): ${r.stderr}`);
  const c = await timedProc([BIN, 'commit', '-q', '--config', cfg, '--date', DATE, '--shards', String(k)], { PATH: process.env.PATH, BENCH_PG: conninfo(0) });
  if (c.code !== 0) throw new Error(`commit K=${k} failed (${c.code}): ${c.stderr}`);
  const marker = JSON.parse(readFileSync(join(out, `system=bench/table=wan/dt=${DATE}/_metadata.json`), 'utf8'));
  const marked = marker.total_records;
  if (marked !== rows) throw new Error(`K=${k}: the marker counts ${marked} rows, the table has ${rows}`);
  return { extract, commit: c.wall, cpu: runs.reduce((s, r) => s + r.cpu, 0) + c.cpu };
}

const fillSql = (n) => `DROP TABLE IF EXISTS wan;
CREATE TABLE wan AS SELECT i::int8 AS id, (i % 1000)::int4 AS customer_id, round((i * 0.37)::numeric, 2) AS amount,
  TIMESTAMPTZ '2025-01-01 00:00:00+00' + i * INTERVAL '1 second' AS updated_at,
  repeat(md5(i::text), 6) AS payload
FROM generate_series(1, ${n}) i;
ANALYZE wan;`;

async function trials(label, ks, conninfo, rows) {
  const res = Object.fromEntries(ks.map((k) => [k, []]));
  for (let t = 0; t < TRIALS; t++) {
    const order = ks.map((_, j) => ks[(j + t) % ks.length]); // rotate: A B C, B C A, C A B
    for (const k of order) {
      const r = await sharded(k, conninfo, rows);
      res[k].push(r);
      console.log(`  ${label} trial ${t + 1} K=${k}: extract ${r.extract.toFixed(2)} s, commit ${r.commit.toFixed(2)} s, cpu ${r.cpu.toFixed(2)} s  (load ${load()})`);
    }
  }
  const base = median(res[ks[0]].map((r) => r.extract + r.commit));
  console.log(`${label}: ${rows} rows`);
  for (const k of ks) {
    const tot = res[k].map((r) => r.extract + r.commit);
    const m = median(tot);
    console.log(`  K=${k}: median ${m.toFixed(2)} s [${tot.map((x) => x.toFixed(2)).join(', ')}] ` +
      `(extract ${median(res[k].map((r) => r.extract)).toFixed(2)} s + commit ${median(res[k].map((r) => r.commit)).toFixed(2)} s), ` +
      `${Math.round(rows / m)} rows/s, cpu ${median(res[k].map((r) => r.cpu)).toFixed(2)} s, ` +
      `speed-up vs K=${ks[0]} ${(base / m).toFixed(2)}x` + (label.startsWith('WAN') ? ` (goal >= ${(0.8 * k).toFixed(1)}x)` : ''));
  }
}

try {
  console.log(`bench/scaleout_wan.mjs ${ROWS} rows, ${RATE} per connection, ${TRIALS} trials, ${new Date().toISOString()}, load ${load()}`);
  // ---- WAN: the server in a namespace behind K shaped veth pairs
  execFileSync(NETNS, ['up', NS, String(Math.max(...KS)), RATE], { stdio: 'inherit' });
  nsUp = true;
  pgDir = join(work, 'pg');
  mkdirSync(pgDir);
  chownSync(pgDir, Number(sh('id', ['-u', 'postgres']).trim()), Number(sh('id', ['-g', 'postgres']).trim()));
  const asPg = (bin, args) => sh('runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args], { cwd: pgDir });
  asPg('initdb', ['-D', join(pgDir, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  writeFileSync(join(pgDir, 'data/pg_hba.conf'), 'local all all trust\nhost all all 10.77.0.0/16 trust\nhost all all 127.0.0.1/32 trust\n');
  writeFileSync(join(pgDir, 'data/postgresql.auto.conf'), `listen_addresses = '*'\nport = 5432\nunix_socket_directories = '${pgDir}'\n` +
    "fsync = off\nsynchronous_commit = off\nshared_buffers = 128MB\ntimezone = 'UTC'\nmax_connections = 50\n");
  sh('ip', ['netns', 'exec', NS, 'runuser', '-u', 'postgres', '--', join(PG_BIN, 'pg_ctl'), '-D', join(pgDir, 'data'),
    '-l', join(pgDir, 'server.log'), '-w', '-t', '60', 'start'], { cwd: pgDir });
  const psqlLocal = (sql) => sh(join(PG_BIN, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', pgDir, '-U', 'postgres', '-d', 'postgres', '-c', sql]);
  psqlLocal(fillSql(ROWS));
  const bytes = Number(sh(join(PG_BIN, 'psql'), ['-X', '-A', '-t', '-h', pgDir, '-U', 'postgres', '-d', 'postgres', '-c',
    'SELECT sum(length(t::text) + 1) FROM wan t']).trim());
  console.log(`table wan: ${ROWS} rows, ${(bytes / 1e6).toFixed(1)} MB as COPY text; ${RATE} is ${(bytes / (parseFloat(RATE) * 1e6 / 8)).toFixed(1)} s of one link`);
  await trials(`WAN (${RATE} per connection)`, KS, (i) => `host=10.77.${i}.1 port=5432 dbname=postgres user=postgres`, ROWS);
  try { asPg('pg_ctl', ['-D', join(pgDir, 'data'), '-m', 'fast', '-w', 'stop']); } catch { /* cleanup() retries */ }
  pgDir = null;
  execFileSync(NETNS, ['down', NS, String(Math.max(...KS))]);
  nsUp = false;

  // ---- for the record: loopback, no shaping (the 2 cores are the limit)
  loopPg = startPg();
  loopPg.psql(fillSql(LOOP_ROWS));
  await trials('loopback (no shaping)', [1, 2], () => loopPg.conninfo, LOOP_ROWS);
  console.log(`done, load ${load()}`);
} finally {
  cleanup();
}
