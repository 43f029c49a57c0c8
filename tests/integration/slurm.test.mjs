// Scale-out on a real Slurm cluster (issue #16, SPEC §8): one PostgreSQL table
// read by a 4-task job array (examples/slurm/extract.sbatch: each task takes
// its shard from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT) and published by
// the dependent commit job (examples/slurm/commit.sbatch, afterok), on shared
// storage (a local folder every "node" sees) and on the S3 test server. The
// committed batch is compared with a one-process extraction of the same table
// (DuckDB): same rows, no duplicates, one _metadata.json. A shard killed before
// its journal leaves no marker (Slurm cancels the commit job, a commit by hand
// exits 1); re-running that one shard and the commit publishes the batch. The
// Kubernetes example runs as processes (its pods' args from the YAML, with
// JOB_COMPLETION_INDEX), there being no Kubernetes here.
//
// lib/slurm.mjs starts slurmctld + slurmd (+ munged) in a temp dir. Without
// Slurm installed the tests skip with the reason, except under CI, where
// scripts/deps.sh installs it and a skip would hide a broken setup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { BIN, ROOT, runAsync, workdir, write, readJson, listFiles, query, cleanup } from './lib/harness.mjs';
import { startSlurm, slurmMissing } from './lib/slurm.mjs';
import { startS3, s3Platform } from './lib/s3.mjs';
import * as pg from './lib/pg.mjs';

const DATE = '2025-01-12';
const ROWS = 200000;
const K = 4;
const EXAMPLES = join(ROOT, 'examples/slurm');
const PART = `system=shop/table=orders/dt=${DATE}`;

const missing = slurmMissing();
if (missing && process.env.CI) throw new Error(`CI must run the Slurm tests: ${missing}`);
const skip = missing ? `skipped: ${missing}` : false;

// seq is unique; id, the partition key, is NULL on every 10000th row (those belong to shard 0)
const ORDERS = `CREATE TABLE orders AS SELECT i::int8 AS seq, CASE WHEN i % 10000 = 0 THEN NULL ELSE i END::int8 AS id,
    'note ' || i || ' ' || md5(i::text) AS note, round((i * 1.25)::numeric, 2)::numeric(12,2) AS amount,
    TIMESTAMPTZ '2025-01-01 00:00:00+00' + i * INTERVAL '1 second' AS updated_at
  FROM generate_series(1, ${ROWS}) i`;

let slurm, db;
before(async () => {
  if (skip) return;
  db = pg.start();
  db.psql(ORDERS);
  slurm = await startSlurm({ cpus: 2 });
});
after(async () => {
  if (slurm) await slurm.stop();
  if (db) db.stop();
});

/** The sharded config: partitioned by id into 8 ranges (shard i of 4 takes two). */
function shardedConfig(dir, { platform = `    local_path: "${dir}/shared/bronze"`, s3 = false } = {}) {
  return write(dir, 'orders.yaml', `platform:
  bronze:
${platform}
source:
  type: "db"
  system: "shop"
  table: "orders"
  db:
    conn_str_env: "SHOP_DB"
    base_query: "SELECT seq, id, note, amount, updated_at FROM orders"
    partitioning:
      column: "id"
      num_partitions: 8
  run:
${s3 ? '    s3_enabled: true\n' : ''}    write_csv: false
    write_parquet: true
    max_rows_per_file: 20000
`);
}

/** The yardstick: the same table in one process, no partitioning, into dir/single. */
async function singleProcess(dir) {
  write(dir, 'single.yaml', `platform:
  bronze:
    local_path: "${dir}/single"
source:
  type: "db"
  system: "shop"
  table: "orders"
  db:
    conn_str_env: "SHOP_DB"
    base_query: "SELECT seq, id, note, amount, updated_at FROM orders"
  run:
    write_csv: false
    write_parquet: true
`);
  const r = await runAsync(dir, ['--config', 'single.yaml', '--date', DATE], { env: { SHOP_DB: db.conninfo } });
  assert.equal(r.code, 0, r.stderr);
  return join(dir, 'single', PART);
}

/** The environment every job gets (sbatch exports the submitter's). */
function jobEnv(cfg, extra = {}) {
  return { BRONZE_CONFIG: cfg, BRONZE_DATE: DATE, BRONZE_EXTRACT: BIN, SHOP_DB: db.conninfo, ASAN_OPTIONS: 'detect_leaks=1', ...extra };
}

/** A job's output files (sbatch -o) joined, for assertion messages. */
function outputs(jobs) {
  return jobs.map((j) => `--- job ${j.jobId} task ${j.taskId} ${j.state} ${j.exitCode}\n${existsSync(j.stdout) ? readFileSync(j.stdout, 'utf8') : '(no output)'}`).join('\n');
}

/**
 * A wrapper around examples/slurm/extract.sbatch that kills task `failTask`
 * just before it writes its shard journal (its parts are staged by then), as a
 * node dying mid-run would. The other tasks run the example unchanged.
 */
function failingExtract(dir, failTask) {
  const p = write(dir, 'extract-failing.sbatch', `#!/bin/bash
#SBATCH --output=${dir}/extract-%A_%a.out
if [ "$SLURM_ARRAY_TASK_ID" = ${failTask} ]; then export BRONZE_FAULT=shard-before-journal; fi
exec ${EXAMPLES}/extract.sbatch
`);
  return p;
}

/** Submits the array (script, tasks) and the afterok commit job; returns their ids. */
async function submit(dir, script, array, env) {
  const id = await slurm.sbatch([`--array=${array}`, `--output=${dir}/extract-%A_%a.out`, script], { cwd: dir, env });
  const commit = await slurm.sbatch([`--dependency=afterok:${id}`, '--kill-on-invalid-dep=yes', `--output=${dir}/commit-%j.out`,
    join(EXAMPLES, 'commit.sbatch')], { cwd: dir, env: { ...env, BRONZE_SHARDS: String(K) } });
  return { id, commit };
}

/**
 * Compares the committed batch (parquet globs / file lists) with the one-process
 * extraction: same multiset of rows (EXCEPT ALL both ways), every seq once.
 */
async function sameRows(shardedFiles, singleDir) {
  const list = (fs) => `[${fs.map((f) => `'${f}'`).join(', ')}]`;
  const A = `read_parquet(${list(shardedFiles)})`;
  const B = `read_parquet('${singleDir}/*.parquet')`;
  const cols = 'seq, id, note, amount, updated_at';
  const [c] = await query(`SELECT count(*)::INT AS n, count(DISTINCT seq)::INT AS seqs, count(*) FILTER (WHERE id IS NULL)::INT AS nulls FROM ${A}`);
  assert.deepEqual(c, { n: ROWS, seqs: ROWS, nulls: ROWS / 10000 }, 'every row once, the NULL keys too');
  const [d] = await query(`SELECT (SELECT count(*) FROM (SELECT ${cols} FROM ${A} EXCEPT ALL SELECT ${cols} FROM ${B}))::INT AS extra,
    (SELECT count(*) FROM (SELECT ${cols} FROM ${B} EXCEPT ALL SELECT ${cols} FROM ${A}))::INT AS lacking`);
  assert.deepEqual(d, { extra: 0, lacking: 0 }, 'the sharded batch holds exactly the one-process rows');
}

/** Checks a marker's file list: parts of every shard, names that do not collide. */
function checkMarker(meta) {
  assert.equal(meta.total_records, ROWS);
  const parts = meta.files.filter((f) => f.format === 'parquet');
  assert.equal(new Set(parts.map((f) => f.name)).size, parts.length, 'part names unique');
  const shards = new Set(parts.map((f) => (/-s(\d+)\./.exec(f.name) || [])[1]));
  assert.equal(shards.size, K, `parts of all ${K} shards: ${parts.map((f) => f.name).join(' ')}`);
  return parts;
}

test('the test cluster runs a job array and an afterok job (SLURM_ARRAY_TASK_ID / _COUNT as bronze-extract reads them)', { skip }, async () => {
  const dir = workdir('bf-slurm-');
  try {
    const script = write(dir, 'task.sh', '#!/bin/sh\necho "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT $MARK" > "$OUT/task-$SLURM_ARRAY_TASK_ID"\n' +
      '[ "$SLURM_ARRAY_TASK_ID" != "$FAIL" ]\n');
    const env = { OUT: dir, MARK: 'exported', FAIL: 'none' };
    const id = await slurm.sbatch(['--array=0-2', `--output=${dir}/o-%a.out`, script], { cwd: dir, env });
    const dep = await slurm.sbatch([`--dependency=afterok:${id}`, `--output=${dir}/dep.out`, '--wrap', `ls ${dir} > ${dir}/seen`], { cwd: dir, env });
    const tasks = await slurm.waitJob(id, { timeout: 120000 });
    assert.deepEqual(tasks.map((t) => [t.taskId, t.state]), [[0, 'COMPLETED'], [1, 'COMPLETED'], [2, 'COMPLETED']], outputs(tasks));
    for (const i of [0, 1, 2]) assert.equal(readFileSync(join(dir, `task-${i}`), 'utf8'), `${i}/3 exported\n`);
    const [d] = await slurm.waitJob(dep, { timeout: 120000 });
    assert.equal(d.state, 'COMPLETED');
    assert.match(readFileSync(join(dir, 'seen'), 'utf8'), /task-0\ntask-1\ntask-2/, 'the dependent job ran after every task');
    // a failing task: the afterok job never runs
    const id2 = await slurm.sbatch(['--array=0-2', `--output=${dir}/p-%a.out`, script], { cwd: dir, env: { ...env, FAIL: '1' } });
    const dep2 = await slurm.sbatch([`--dependency=afterok:${id2}`, '--kill-on-invalid-dep=yes', '--wrap', `touch ${dir}/ran`], { cwd: dir, env });
    const tasks2 = await slurm.waitJob(id2, { timeout: 120000 });
    assert.deepEqual(tasks2.map((t) => t.state), ['COMPLETED', 'FAILED', 'COMPLETED']);
    const [d2] = await slurm.waitJob(dep2, { timeout: 120000 });
    assert.equal(d2.state, 'CANCELLED');
    assert.ok(!existsSync(join(dir, 'ran')));
  } finally {
    cleanup(dir);
  }
});

test('shared storage: a 4-task array and the afterok commit publish the one-process rows as one batch', { skip }, async () => {
  const dir = workdir('bf-slurm-');
  try {
    const cfg = shardedConfig(dir);
    const single = await singleProcess(dir);
    // examples/slurm/submit.sh, as a user runs it: the array, then the afterok commit
    const sub = await slurm.cmd(join(EXAMPLES, 'submit.sh'), [cfg, DATE, String(K)], { cwd: dir, env: jobEnv(cfg) });
    assert.equal(sub.code, 0, sub.stderr);
    const m = /extract array: (\d+)\s+commit: (\d+)/.exec(sub.stdout);
    assert.ok(m, sub.stdout);
    const tasks = await slurm.waitJob(Number(m[1]));
    assert.deepEqual(tasks.map((t) => t.state), Array(K).fill('COMPLETED'), outputs(tasks));
    const [c] = await slurm.waitJob(Number(m[2]));
    assert.equal(c.state, 'COMPLETED', outputs([c]));

    const part = join(dir, 'shared/bronze', PART);
    const files = listFiles(join(dir, 'shared/bronze'));
    assert.deepEqual(files.filter((f) => f.endsWith('_metadata.json')), [`${PART}/_metadata.json`], 'one marker');
    const meta = readJson(join(part, '_metadata.json'));
    const parts = checkMarker(meta);
    assert.deepEqual(files.filter((f) => f.endsWith('.parquet')).sort(), parts.map((f) => `${PART}/${f.name}`).sort(),
      'the partition holds exactly the parts the marker lists');
    await sameRows(parts.map((f) => join(part, f.name)), single);
  } finally {
    cleanup(dir);
  }
});

test('shared storage: a shard killed before its journal publishes nothing; re-running it and the commit publishes the batch', { skip }, async () => {
  const dir = workdir('bf-slurm-');
  try {
    const cfg = shardedConfig(dir);
    const single = await singleProcess(dir);
    const env = jobEnv(cfg);
    const { id, commit } = await submit(dir, failingExtract(dir, 2), `0-${K - 1}`, env);
    const tasks = await slurm.waitJob(id);
    assert.deepEqual(tasks.map((t) => t.state), ['COMPLETED', 'COMPLETED', 'FAILED', 'COMPLETED'], outputs(tasks));
    const [c] = await slurm.waitJob(commit);
    assert.equal(c.state, 'CANCELLED', 'afterok: the commit job never runs');
    const marker = join(dir, 'shared/bronze', PART, '_metadata.json');
    assert.ok(!existsSync(marker));
    // a commit by hand (a scheduler without afterok) refuses too: exit 1, nothing published
    const hand = await runAsync(dir, ['commit', '--config', cfg, '--date', DATE, '--shards', String(K)], { env: { SHOP_DB: db.conninfo } });
    assert.equal(hand.code, 1, hand.stderr);
    assert.match(hand.stderr, /shard/i);
    assert.ok(!existsSync(marker));
    assert.deepEqual(listFiles(join(dir, 'shared/bronze')).filter((f) => !f.includes('.bronze-tmp')), [], 'readers see nothing');

    // re-run only shard 2 (a one-task array: K comes from BRONZE_SHARDS, SLURM_ARRAY_TASK_COUNT is 1 there), then the commit
    const again = await submit(dir, join(EXAMPLES, 'extract.sbatch'), '2', { ...env, BRONZE_SHARDS: String(K) });
    const [t2] = await slurm.waitJob(again.id);
    assert.equal(t2.state, 'COMPLETED', outputs([t2]));
    const [c2] = await slurm.waitJob(again.commit);
    assert.equal(c2.state, 'COMPLETED', outputs([c2]));
    const meta = readJson(marker);
    const parts = checkMarker(meta);
    await sameRows(parts.map((f) => join(dir, 'shared/bronze', PART, f.name)), single);
    assert.deepEqual(listFiles(join(dir, 'shared/bronze')).filter((f) => f.endsWith('_metadata.json')), [`${PART}/_metadata.json`]);
  } finally {
    cleanup(dir);
  }
});

test('S3: the array and the commit publish one batch in the bucket; a killed shard publishes nothing until it is re-run', { skip }, async () => {
  const dir = workdir('bf-slurm-');
  const s3 = await startS3({ bucket: 'bronze' });
  try {
    const cfg = shardedConfig(dir, { platform: s3Platform({ bucket: 'bronze', prefix: 'lake' }), s3: true });
    const single = await singleProcess(dir);
    const env = jobEnv(cfg, s3.configEnv);
    const key = `lake/${PART}`;
    const markers = async () => (await s3.list('lake/')).filter((o) => o.key.endsWith('_metadata.json')).map((o) => o.key);

    const { id, commit } = await submit(dir, failingExtract(dir, 1), `0-${K - 1}`, env);
    const tasks = await slurm.waitJob(id);
    assert.deepEqual(tasks.map((t) => t.state), ['COMPLETED', 'FAILED', 'COMPLETED', 'COMPLETED'], outputs(tasks));
    assert.equal((await slurm.waitJob(commit))[0].state, 'CANCELLED');
    assert.deepEqual(await markers(), []);
    assert.deepEqual((await s3.list(`${key}/`)).map((o) => o.key), [], 'readers see nothing in the partition');

    const again = await submit(dir, join(EXAMPLES, 'extract.sbatch'), '1', { ...env, BRONZE_SHARDS: String(K) });
    const [t1] = await slurm.waitJob(again.id);
    assert.equal(t1.state, 'COMPLETED', outputs([t1]));
    const [c1] = await slurm.waitJob(again.commit);
    assert.equal(c1.state, 'COMPLETED', outputs([c1]));
    assert.deepEqual(await markers(), [`${key}/_metadata.json`], 'one marker');
    const meta = JSON.parse((await s3.getBytes(`${key}/_metadata.json`)).toString());
    const parts = checkMarker(meta);
    const objs = new Map((await s3.list(`${key}/`)).map((o) => [o.key.slice(key.length + 1), o.size]));
    const dl = join(dir, 'dl');
    mkdirSync(dl);
    for (const f of parts) {
      assert.equal(objs.get(f.name), f.bytes, `${f.name} in the bucket with the listed size`);
      writeFileSync(join(dl, f.name), await s3.getBytes(`${key}/${f.name}`));
    }
    assert.deepEqual([...objs.keys()].filter((n) => n.endsWith('.parquet')).sort(), parts.map((f) => f.name).sort());
    await sameRows(parts.map((f) => join(dl, f.name)), single);
  } finally {
    await s3.stop();
    cleanup(dir);
  }
});

test('examples/k8s: the Indexed Job\'s container args (JOB_COMPLETION_INDEX 0..3) and the commit Job\'s publish one batch; the example configs validate', async () => {
  // no Kubernetes here: the pods' command lines, taken from the YAML, run as processes
  const argsOf = (file) => JSON.parse(/^\s*args: (\[.*\])\s*$/m.exec(readFileSync(join(ROOT, 'examples/k8s', file), 'utf8'))[1]);
  const ex = argsOf('extract-job.yaml'), cm = argsOf('commit-job.yaml');
  const completions = Number(/completions: (\d+)/.exec(readFileSync(join(ROOT, 'examples/k8s/extract-job.yaml'), 'utf8'))[1]);
  assert.equal(ex[ex.indexOf('--shards') + 1], String(completions), '--shards K matches completions');
  for (const f of ['examples/k8s/orders.yaml', 'examples/slurm/orders.yaml']) {
    const r = await runAsync(ROOT, ['--validate-only', '--config', join(ROOT, f)]);
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
  }
  const own = !db; // without Slurm, before() started no server
  if (own) {
    db = pg.start();
    db.psql(ORDERS);
  }
  const dir = workdir('bf-k8s-');
  try {
    const cfg = shardedConfig(dir);
    const single = await singleProcess(dir);
    const local = (a) => a.map((x) => (x === '/config/orders.yaml' ? cfg : x));
    const env = { SHOP_DB: db.conninfo };
    const pods = await Promise.all([...Array(completions).keys()].map((i) =>
      runAsync(dir, local(ex), { env: { ...env, JOB_COMPLETION_INDEX: String(i) } })));
    for (const [i, r] of pods.entries()) assert.equal(r.code, 0, `index ${i}: ${r.stderr}`);
    assert.ok(!existsSync(join(dir, 'shared/bronze', PART, '_metadata.json')), 'no marker before the commit Job');
    const c = await runAsync(dir, local(cm), { env });
    assert.equal(c.code, 0, c.stderr);
    const parts = checkMarker(readJson(join(dir, 'shared/bronze', PART, '_metadata.json')));
    await sameRows(parts.map((f) => join(dir, 'shared/bronze', PART, f.name)), single);
  } finally {
    if (own) { db.stop(); db = null; }
    cleanup(dir);
  }
});
