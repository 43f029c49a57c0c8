// Benchmark helpers: timing a command, reading bronze-extract's own peak RSS,
// DuckDB in-process as the yardstick.
import { spawnSync } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = resolve(ROOT, 'build/release/bronze-extract');

export function timed(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { seconds: s, stdout: r.stdout, stderr: r.stderr };
}

/** Peak RSS (MiB) from bronze-extract's "Finished: ... peak RSS X MiB" line. */
export function peakRss(stderr) {
  const m = stderr.match(/peak RSS ([\d.]+) MiB/);
  return m ? Number(m[1]) : NaN;
}

export async function duck() {
  return (await DuckDBInstance.create(':memory:')).connect();
}

export async function duckTimed(conn, sql) {
  const t0 = process.hrtime.bigint();
  await conn.run(sql);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
