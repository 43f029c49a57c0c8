// pg.mjs - a throwaway PostgreSQL server for node integration tests.
//
// Wraps scripts/pg-test-server.sh (initdb as the `postgres` user when run as
// root, 127.0.0.1 on a free port, trust auth, plus the password role
// bronze_pw / bronze-test-secret). With BRONZE_TEST_PG set, that server is
// used instead and never stopped.
//
//   import { start, withPg } from './lib/pg.mjs';
//   const pg = start();            // { conninfo, port, url, odbc, psql(sql), stop() }
//   try { ... } finally { pg.stop(); }
//   await withPg(async (pg) => { ... });   // stops it whatever happens
//
// Every server started here is also stopped when the process exits (normal
// exit, uncaught error, SIGINT/SIGTERM), so a failing test leaves none behind.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const script = path.join(repo, 'scripts/pg-test-server.sh');
const pgBin = process.env.PG_BIN ||
  ['/usr/lib/postgresql/15/bin', '/usr/local/lib/bronze-foundry-pg/usr/lib/postgresql/15/bin']
    .find((d) => existsSync(path.join(d, 'initdb'))) || '/usr/lib/postgresql/15/bin';
const psqlPath = existsSync(path.join(pgBin, 'psql')) ? path.join(pgBin, 'psql') : 'psql';
export const PSQLODBC = '/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so';

const live = new Set();

function stopDir(dir) {
  try {
    execFileSync(script, ['stop', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    // best effort: the directory may already be gone
  }
  live.delete(dir);
}

function stopAll() {
  for (const dir of [...live]) stopDir(dir);
}

process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    stopAll();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}

function handle(conninfo, stop) {
  const m = /port=(\d+)/.exec(conninfo);
  const port = m ? Number(m[1]) : 5432;
  const host = (/host=(\S+)/.exec(conninfo) || [])[1] || '127.0.0.1';
  return {
    conninfo,
    port,
    url: `postgresql://postgres@${host}:${port}/postgres`,
    // an ODBC string for the same server through psqlodbc (no odbcinst.ini needed)
    odbc: `DRIVER=${PSQLODBC};SERVER=${host};PORT=${port};DATABASE=postgres;UID=postgres;` +
      'UseDeclareFetch=1;Fetch=10000',
    // runs SQL, returns psql's unaligned, tuples-only output
    psql(sql) {
      return execFileSync(psqlPath, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', conninfo,
        '-c', sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
    },
    stop,
  };
}

// Starts a server (or adopts BRONZE_TEST_PG). Throws when none can start.
export function start() {
  if (process.env.BRONZE_TEST_PG) return handle(process.env.BRONZE_TEST_PG, () => {});
  const dir = mkdtempSync(path.join(tmpdir(), 'bronze-pg-'));
  live.add(dir);
  let out;
  try {
    out = execFileSync(script, ['start', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120000,
    });
  } catch (e) {
    stopDir(dir);
    const detail = e.stderr ? String(e.stderr).trim() : e.message;
    throw new Error(`could not start a PostgreSQL test server: ${detail}`);
  }
  const conninfo = out.trim().split('\n').filter((l) => l.startsWith('host=')).pop();
  if (!conninfo) {
    stopDir(dir);
    throw new Error(`pg-test-server.sh printed no conninfo: ${out}`);
  }
  let stopped = false;
  return handle(conninfo, () => {
    if (!stopped) {
      stopped = true;
      stopDir(dir);
    }
  });
}

// Runs fn(pg) with a fresh server and always stops it afterwards.
export async function withPg(fn) {
  const pg = start();
  try {
    return await fn(pg);
  } finally {
    pg.stop();
  }
}
