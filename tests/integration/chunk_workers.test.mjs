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
