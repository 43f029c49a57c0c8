// Shared helpers for integration tests: run the built binary, make temp
// workspaces, build SQLite databases, read output back with DuckDB.
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, statSync, existsSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
// Tests run the sanitizer build unless told otherwise; heavy tests ask for release.
export const BIN = process.env.BRONZE_BIN || join(ROOT, 'build/asan/bronze-extract');
export const BIN_RELEASE = join(ROOT, 'build/release/bronze-extract');

/** A fresh working directory; removed by the caller's cleanup if wanted. */
export function workdir(prefix = 'bf-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs bronze-extract in cwd with args; returns {code, stdout, stderr}. */
export function run(cwd, args, { env = {}, bin = BIN, timeout = 120000 } = {}) {
  const r = spawnSync(bin, args, {
    cwd,
    env: { PATH: process.env.PATH, ASAN_OPTIONS: 'detect_leaks=1', ...env },
    encoding: 'utf8',
    timeout,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts bronze-extract without waiting (for kill tests). */
export function start(cwd, args, { env = {}, bin = BIN } = {}) {
  return spawn(bin, args, { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function write(dir, name, text) {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Creates a SQLite database from SQL text with the sqlite3 CLI. */
export function sqlite(dbPath, sql) {
  const r = spawnSync('sqlite3', [dbPath], { input: sql, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3 failed: ${r.stderr}`);
}

/** A complete db config around the given pieces (YAML text). */
export function dbConfig({ system = 'shop', table = 'orders', query = 'SELECT * FROM orders', env = 'TEST_DB', run = '', platform = '', db = '' } = {}) {
  return `platform:
  bronze:
    local_path: "./output"
${platform}
source:
  type: "db"
  system: "${system}"
  table: "${table}"
  db:
    conn_str_env: "${env}"
    base_query: "${query}"
${db}
  run:
    write_csv: true
    write_parquet: true
${run}
`;
}

/** Every file under dir (relative paths), skipping dot-folders. */
export function listFiles(dir) {
  const out = [];
  const walk = (d, rel) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

export function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function size(path) {
  return statSync(path).size;
}

let duck;
/** Runs SQL in an in-memory DuckDB; returns row objects. */
export async function query(sql) {
  if (!duck) duck = await (await DuckDBInstance.create(':memory:')).connect();
  const r = await duck.runAndReadAll(sql);
  return r.getRowObjectsJS();
}

/** Parses a CSV file with DuckDB (all columns as text) and returns rows. */
export async function readCsvText(path) {
  return query(`SELECT * FROM read_csv('${path}', header=true, all_varchar=true, quote='"', escape='"', nullstr='')`);
}

export function today() {
  return new Date().toISOString().slice(0, 10);
}

export function cleanup(dir) {
  if (!process.env.BRONZE_KEEP) rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs bronze-extract without blocking the event loop (needed when a server
 * the binary talks to lives in this process, e.g. lib/s3.mjs's front);
 * resolves {code, signal, stdout, stderr}. Killed with SIGKILL after timeout.
 */
export function runAsync(cwd, args, { env = {}, bin = BIN, timeout = 120000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd,
      env: { PATH: process.env.PATH, ASAN_OPTIONS: 'detect_leaks=1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeout);
    child.on('error', (e) => { clearTimeout(t); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(t);
      if (timedOut) stderr += `\n[runAsync: killed after ${timeout} ms]`;
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
