// Benchmark helpers: timing a command, reading bronze-extract's own peak RSS,
// DuckDB in-process as the yardstick.
import { spawnSync } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { resolve, dirname, join } from 'node:path';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import os from 'node:os';
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

/** Like timed(), plus the child's CPU seconds (user + sys, via /usr/bin/time)
 * and peak RSS in MiB: {seconds, cpu, user, sys, rssMiB, stdout, stderr}. */
export function timedCpu(cmd, args, opts = {}) {
  const tf = join(tmpdir(), `bench-time-${process.pid}.txt`);
  const r = timed('/usr/bin/time', ['-o', tf, '-f', '%U %S %M', cmd, ...args], opts);
  const [user, sys, kb] = readFileSync(tf, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  rmSync(tf, { force: true });
  return { ...r, user, sys, cpu: user + sys, rssMiB: kb / 1024 };
}

/** In-process DuckDB statement with this process's CPU seconds. */
export async function duckTimedCpu(conn, sql) {
  const c0 = process.cpuUsage();
  const seconds = await duckTimed(conn, sql);
  const c = process.cpuUsage(c0);
  return { seconds, cpu: (c.user + c.system) / 1e6 };
}

export const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
/** "median s [min-max] over n" for a list of numbers. */
export const spread = (a, unit = 's') =>
  `${median(a).toFixed(2)} ${unit} [${Math.min(...a).toFixed(2)}-${Math.max(...a).toFixed(2)}]`;
export const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
