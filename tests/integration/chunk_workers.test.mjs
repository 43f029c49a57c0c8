// parallel_workers never changes the output (SPEC §4, §6.2; issue #14): the
// same CSV in several parts of several row groups each, with
// max_file_size_mb set, written with 1, 2 and 4 workers gives byte-identical
// parts (sha256) and the same _metadata.json part list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { run, workdir, write, readJson, query, cleanup, sha256, BIN_RELEASE } from './lib/harness.mjs';
import { writeCsv, fileConfig } from './lib/csvgen.mjs';

for (const codec of ['gzip', 'zstd']) {
  test(`parallel_workers 1, 2, 4 (${codec}, max_file_size_mb 4): identical parts and part lists`, async () => {
    const dir = workdir();
    const csv = join(dir, 'in.csv');
    await writeCsv(csv, 700000);
    const lists = {};
    for (const w of [1, 2, 4]) {
      write(dir, `c${w}.yaml`, fileConfig(csv, { codec, mb: 4, workers: w }).replace('./output', `./out${w}`));
      const r = run(dir, ['--config', `c${w}.yaml`, '--date', '2025-01-12'], { bin: BIN_RELEASE, timeout: 300000 });
      assert.equal(r.code, 0, r.stderr);
      const p = join(dir, `out${w}/system=s/table=t/dt=2025-01-12`);
      const meta = readJson(join(p, '_metadata.json'));
      for (const f of meta.files) {
        assert.equal(f.sha256, sha256(join(p, f.name)), f.name);
        assert.equal(f.bytes, statSync(join(p, f.name)).size, f.name);
      }
      lists[w] = meta.files.map(({ name, rows, bytes, sha256: h }) => ({ name, rows, bytes, sha256: h }));
      if (w === 1) {
        assert.equal(meta.total_records, 700000);
        assert.ok(lists[1].length >= 3, `${lists[1].length} parts`);
        const g = await query(`SELECT count(DISTINCT row_group_id)::INT n FROM parquet_metadata('${join(p, meta.files[0].name)}')`);
        assert.ok(g[0].n >= 4, `${g[0].n} row groups in the first part`);
      }
    }
    assert.deepEqual(lists[2], lists[1]);
    assert.deepEqual(lists[4], lists[1]);
    cleanup(dir);
  });
}

// The same CSV, no size limit, gzip, with 1, 2 and 4 workers: each run's
// part hashes (and the first part's path of the 1-worker run, for checks).
async function partsByWorkers(dir, csv, env) {
  const hashes = {};
  let first;
  for (const w of [1, 2, 4]) {
    write(dir, `c${w}.yaml`, fileConfig(csv, { codec: 'gzip', workers: w }).replace('./output', `./out${w}`));
    const r = run(dir, ['--config', `c${w}.yaml`, '--date', '2025-01-12'], { bin: BIN_RELEASE, env, timeout: 300000 });
    assert.equal(r.code, 0, r.stderr);
    const p = join(dir, `out${w}/system=s/table=t/dt=2025-01-12`);
    const meta = readJson(join(p, '_metadata.json'));
    hashes[w] = meta.files.map((f) => [f.name, sha256(join(p, f.name))]);
    if (w === 1)
      first = join(p, meta.files[0].name);
  }
  assert.deepEqual(hashes[2], hashes[1]);
  assert.deepEqual(hashes[4], hashes[1]);
  return first;
}

// No size limit: a part's first chunk goes to the workers too, column by
// column, and is accepted when its columns' peaks stay under the row-group
// cap; BRONZE_PQ_RG_CAP_BYTES (a test hook) lowers the cap so that the
// guard cuts the first chunk early and every later chunk is at the cap, so
// the first chunk is redone on the writer's thread and later ones by
// job_run() with the guard. Every path gives the bytes one worker does.
for (const [label, env] of [['row-group cap 64 MiB', {}], ['row-group cap 1.5 MiB (guard cuts)', { BRONZE_PQ_RG_CAP_BYTES: String(1536 << 10) }]]) {
  test(`parallel_workers 1, 2, 4 without a size limit, ${label}: identical parts`, async () => {
    const dir = workdir();
    const csv = join(dir, 'in.csv');
    await writeCsv(csv, 400000);
    const first = await partsByWorkers(dir, csv, env);
    if (env.BRONZE_PQ_RG_CAP_BYTES) {
      const g = await query(`SELECT count(DISTINCT row_group_id)::INT n FROM parquet_metadata('${first}')`);
      assert.ok(g[0].n >= 4, `${g[0].n} row groups`);
    }
    const rows = await query(`SELECT count(*)::INT n FROM read_parquet('${join(dir, 'out4/system=s/table=t/dt=2025-01-12')}/*.parquet')`);
    assert.equal(rows[0].n, 400000);
    cleanup(dir);
  });
}

// A chunk begun before its cap is known (no size limit; the first chunk
// still encoding) takes rows up to the largest cap there can be; when the
// cap comes in smaller, the rows past it start the next chunk. Here the
// first 2^20 rows (a chunk's row cap) are random integers, so the first
// chunk's ratio is near 1 and the next chunks' cap under the 16 MiB
// row-group cap is a fraction of the 100-byte-string rows that follow.
test('parallel_workers 1, 2, 4: a chunk cut after the fact where its cap came in: identical parts', async () => {
  const dir = workdir();
  const csv = join(dir, 'in.csv');
  const { createWriteStream } = await import('node:fs');
  const out = createWriteStream(csv);
  out.write('a,note\n');
  let x = 12345;
  for (let i = 0; i < 1_500_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    if (!out.write(`${x},${i < 1 << 20 ? '' : `n${i}-${'x'.repeat(90)}`}\n`))
      await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  const first = await partsByWorkers(dir, csv, { BRONZE_PQ_RG_CAP_BYTES: String(16 << 20) });
  const g = await query(`SELECT row_group_id::INT g, max(row_group_num_rows)::INT n FROM parquet_metadata('${first}') GROUP BY 1 ORDER BY 1`);
  assert.equal(g[0].n, 1 << 20);
  assert.ok(g.length >= 3 && g[1].n < 500000, JSON.stringify(g));
  const rows = await query(`SELECT count(*)::INT n, count(note)::INT s FROM read_parquet('${join(dir, 'out2/system=s/table=t/dt=2025-01-12')}/*.parquet')`);
  assert.deepEqual(rows[0], { n: 1_500_000, s: 1_500_000 - (1 << 20) });
  cleanup(dir);
});
