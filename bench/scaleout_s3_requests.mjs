// Issue #16 measurement for docs/scale-out.md: what one sharded batch costs in
// S3 requests and bytes of bookkeeping, for K = 4, 16 and 64 shards of the same
// table. Each shard (`bronze-extract --shard I/K`, at most 4 at once) and the
// commit run against the S3 test server (tests/integration/lib/s3.mjs, whose
// front logs every request by S3 operation); the shard journals' sizes are read
// from the bucket before the commit, the marker's after it. Not a timing
// benchmark: counts and sizes only.
//
// Usage (after `make release`): node bench/scaleout_s3_requests.mjs [rows=320000] [rows_per_part=20000]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './lib.mjs';
import { startS3, s3Platform } from '../tests/integration/lib/s3.mjs';

const ROWS = Number(process.argv[2] || 320000);
const PER_PART = Number(process.argv[3] || 20000);
const KS = [4, 16, 64];
const DATE = '2025-01-12';
const work = mkdtempSync(join(tmpdir(), 'bf-s3req-'));
const s3 = await startS3({ bucket: 'bronze' });

function run(args, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const c = spawn(BIN, args, { cwd: work, env: { PATH: process.env.PATH, DB: `sqlite:${join(work, 'shop.db')}`, ...s3.configEnv, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => { err += d; });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')}: exit ${code}\n${err}`))));
  });
}
const countOps = () => {
  const n = {};
  for (const r of s3.requests) n[r.op] = (n[r.op] || 0) + 1;
  return n;
};
const fmt = (o) => Object.entries(o).sort().map(([k, v]) => `${k} ${v}`).join(', ');

try {
  execFileSync('sqlite3', [join(work, 'shop.db')], { input: `CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT, amount REAL, updated_at TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < ${ROWS})
INSERT INTO orders SELECT i, printf('row %d %s', i, hex(randomblob(16))), i * 1.25, datetime('2025-01-01', '+' || i || ' seconds') FROM s;` });
  console.log(`bench/scaleout_s3_requests.mjs: ${ROWS} rows, max_rows_per_file ${PER_PART}, ${new Date().toISOString()}`);
  for (let k of [...KS, 'journal']) {
    // the extra pass: K=64 again, its commit killed right after writing its own journal, to weigh that journal
    const prefix = `k${k}`;
    const killed = k === 'journal';
    if (killed) k = KS[KS.length - 1];
    writeFileSync(join(work, `c${k}.yaml`), `platform:
  bronze:
${s3Platform({ bucket: 'bronze', prefix })}
source:
  type: "db"
  system: "shop"
  table: "orders"
  db:
    conn_str_env: "DB"
    base_query: "SELECT * FROM orders"
    partitioning:
      column: "id"
      num_partitions: ${k}
  run:
    s3_enabled: true
    write_csv: false
    write_parquet: true
    max_rows_per_file: ${PER_PART}
`);
    s3.clearRequests();
    for (let i = 0; i < k; i += 4) {
      await Promise.all([...Array(Math.min(4, k - i)).keys()].map((j) => run(['-q', '--config', `c${k}.yaml`, '--date', DATE, '--shard', `${i + j}/${k}`])));
    }
    const shardOps = countOps();
    const tmp = await s3.list(`${prefix}/.bronze-tmp/`);
    const journals = tmp.filter((o) => /journal-s\d+\.json$/.test(o.key));
    const staged = tmp.filter((o) => o.key.endsWith('.parquet'));
    s3.clearRequests();
    const t0 = process.hrtime.bigint();
    if (killed) {
      await run(['commit', '-q', '--config', `c${k}.yaml`, '--date', DATE, '--shards', String(k)], { BRONZE_FAULT: 'after-journal' }).catch(() => {});
      const j = (await s3.list(`${prefix}/.bronze-tmp/journals/`)).map((o) => `${o.key.split('/').pop()} ${o.size} B`);
      console.log(`K=${k}, commit killed after its journal: commit journal ${j.join(', ') || 'none found'}`);
      continue;
    }
    await run(['commit', '-q', '--config', `c${k}.yaml`, '--date', DATE, '--shards', String(k)]);
    const commitSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const commitOps = countOps();
    const part = await s3.list(`${prefix}/system=shop/table=orders/dt=${DATE}/`);
    const marker = part.find((o) => o.key.endsWith('_metadata.json'));
    const jb = journals.map((o) => o.size);
    console.log(`K=${k}: ${staged.length} parts; shard runs (all ${k}): ${fmt(shardOps)}; commit (${commitSeconds.toFixed(2)} s): ${fmt(commitOps)}`);
    console.log(`  journals: ${journals.length}, ${Math.min(...jb)}-${Math.max(...jb)} B each, ${jb.reduce((a, b) => a + b, 0)} B in all; ` +
      `marker ${marker.size} B for ${part.length - 1} parts; left in .bronze-tmp after the commit: ${(await s3.list(`${prefix}/.bronze-tmp/`)).length} keys`);
  }
} finally {
  await s3.stop();
  rmSync(work, { recursive: true, force: true });
}
