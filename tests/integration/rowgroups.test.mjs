// Row groups sized for engines as well as for memory (SPEC §7 "Memory",
// issue #15 item 6): with max_file_size_mb every row group holds at most a
// tenth of the limit (compressed), and a part is not a run of small row
// groups: below half that cap there are at most the part's last two (the
// staged end of the part); and parts stay exactly sized (SPEC §6.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { run, workdir, write, readJson, query, cleanup, BIN_RELEASE } from './lib/harness.mjs';
import { writeCsv, fileConfig } from './lib/csvgen.mjs';

for (const mb of [1, 8]) {
  test(`max_file_size_mb ${mb}: row groups under a tenth of the limit, no run of small ones, parts sized`, async () => {
    const dir = workdir();
    const csv = join(dir, 'in.csv');
    await writeCsv(csv, 600000);
    write(dir, 'c.yaml', fileConfig(csv, { mb }));
    const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { bin: BIN_RELEASE, timeout: 300000 });
    assert.equal(r.code, 0, r.stderr);
    const p = join(dir, 'output/system=s/table=t/dt=2025-01-12');
    const meta = readJson(join(p, '_metadata.json'));
    assert.equal(meta.total_records, 600000);
    const limit = mb * 1048576, cap = limit / 10;
    assert.ok(meta.files.length >= 2, `${meta.files.length} part(s)`);
    for (const [i, f] of meta.files.entries()) {
      const size = statSync(join(p, f.name)).size;
      assert.ok(size <= limit, `${f.name}: ${size} > ${limit}`);
      if (i < meta.files.length - 1) assert.ok(size >= 0.85 * limit, `${f.name}: ${size} < 85%`);
      const groups = await query(`SELECT row_group_id id, max(row_group_num_rows)::INT n, max(row_group_compressed_bytes)::INT c
                                  FROM parquet_metadata('${join(p, f.name)}') GROUP BY ALL ORDER BY id`);
      const desc = groups.map((g) => `${g.n}/${g.c}`).join(' ');
      assert.equal(groups.reduce((s, g) => s + g.n, 0), f.rows);
      for (const g of groups) assert.ok(g.c <= cap * 1.1, `${f.name}: a row group of ${g.c} bytes > a tenth of the limit: ${desc}`);
      // the last part may be short; elsewhere only the last two groups (the staged end) may be small
      const body = i < meta.files.length - 1 ? groups.slice(0, -2) : groups.slice(0, -1);
      for (const g of body) assert.ok(g.c >= cap / 2, `${f.name}: a small row group (${g.c} bytes, cap ${cap}) before the part's end: ${desc}`);
    }
    cleanup(dir);
  });
}

test('no max_file_size_mb: row groups of ~1 Mi rows or tens of MiB, not a few MiB', async () => {
  const dir = workdir();
  const csv = join(dir, 'in.csv');
  await writeCsv(csv, 2200000);
  write(dir, 'c.yaml', fileConfig(csv, { codec: 'snappy' }));
  const r = run(dir, ['--config', 'c.yaml', '--date', '2025-01-12'], { bin: BIN_RELEASE, timeout: 300000 });
  assert.equal(r.code, 0, r.stderr);
  const p = join(dir, 'output/system=s/table=t/dt=2025-01-12');
  const groups = await query(`SELECT row_group_id id, max(row_group_num_rows)::INT n, max(row_group_compressed_bytes)::INT c
                              FROM parquet_metadata('${p}/part-0001.parquet') GROUP BY ALL ORDER BY id`);
  const desc = groups.map((g) => `${g.n}/${g.c}`).join(' ');
  for (const g of groups.slice(0, -1)) {
    assert.ok(g.n <= 1048576 && g.c <= 64 * 1048576, desc);
    assert.ok(g.n >= 1048576 * 0.9 || g.c >= 16 * 1048576, `a row group of ${g.n} rows, ${g.c} bytes: ${desc}`);
  }
  cleanup(dir);
});
