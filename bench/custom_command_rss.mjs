// Command extractor at scale (issue #12): a command printing N JSON records
// (default 2,000,000; 7 columns: ints, a double, strings, a boolean, a null
// every 7th row) lands as Parquet with bronze-extract's peak RSS under
// 128 MiB: records are spooled to disk as they arrive, one line in memory,
// then typed and encoded from the spool.
//   make release && node bench/custom_command_rss.mjs [N]
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, timed, peakRss, duck } from './lib.mjs';

const N = Number(process.argv[2] || 2_000_000);
const LIMIT_MIB = 128;
const dir = mkdtempSync(join(tmpdir(), 'bf-bench-custom-'));
const gen = `BEGIN { for (i = 1; i <= ${N}; i++) {
  note = (i % 7 == 0) ? "null" : "\\"note " i "\\"";
  printf "{\\"id\\":%d,\\"account\\":\\"acct-%06d\\",\\"amount\\":%.2f,\\"qty\\":%d,\\"ok\\":%s,\\"region\\":\\"%s\\",\\"note\\":%s}\\n",
    i, i % 100000, i * 0.37, i % 13, (i % 2 ? "true" : "false"), (i % 3 ? "eu-west" : "us-east"), note
  }
  print "{\\"_bronze_cursor\\":\\"" ${N} "\\"}"
}`;
writeFileSync(join(dir, 'c.yaml'), `platform:
  bronze:
    local_path: "./output"
source:
  type: "custom"
  system: "bench"
  table: "cmd"
  custom_extractor:
    command: ["awk", ${JSON.stringify(gen)}]
  run:
    write_csv: false
    write_parquet: true
`);
const r = timed(BIN, ['--config', 'c.yaml', '--date', '2025-01-12', '--log-format', 'simple'], { cwd: dir });
const rss = peakRss(r.stderr);
const conn = await duck();
const rows = (await (await conn.runAndReadAll(
  `SELECT count(*) n, sum(id) s, count(note) notes FROM read_parquet('${dir}/output/system=bench/table=cmd/dt=2025-01-12/*.parquet')`,
)).getRowObjectsJS())[0];
const n = Number(rows.n);
console.log(`records ${n} (expected ${N}), sum(id) ${rows.s}, non-null notes ${rows.notes}`);
console.log(`time ${r.seconds.toFixed(2)} s (${Math.round(N / r.seconds)} records/s), peak RSS ${rss} MiB (limit ${LIMIT_MIB})`);
rmSync(dir, { recursive: true, force: true });
if (n !== N || !(rss < LIMIT_MIB)) {
  console.error('FAIL');
  process.exit(1);
}
console.log('OK');
