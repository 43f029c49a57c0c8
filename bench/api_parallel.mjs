// Issue #14 item 4 benchmark: config-level workers on API sources.
// Four API configs (four tables) against one local server that answers each
// page after 100 ms (a remote API's latency; no CPU to speak of), 20 pages of
// 200 records each per table. `bronze-extract --config a,b,c,d
// --parallel-workers 4` against `--parallel-workers 1`, whole processes,
// interleaved trials (1, 4, 1, 4, ...), medians; prints the ratio (goal >= 3.5x)
// and the floor the latency alone sets (4 x 20 x 0.1 s sequential, 20 x 0.1 s
// with four workers).
//
// The server is this script again in a child process (`--serve`) so the timed,
// blocking runs do not stall it.
// Usage: node bench/api_parallel.mjs [pages=20] [delay_ms=100] [per_page=200]   (after `make release`)
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { ROOT, BIN, timed } from './lib.mjs';

const PAGES = Number(process.argv[2] || 20);
const DELAY = Number(process.argv[3] || 100);
const PER = Number(process.argv[4] || 200);
const TABLES = ['a', 'b', 'c', 'd'];

function page(table, p, per) {
  const rows = [];
  for (let i = (p - 1) * per + 1; i <= p * per; i++)
    rows.push({ id: i, table, name: `row ${i}`, score: i / 4, at: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() });
  return Buffer.from(JSON.stringify({ data: rows }));
}

if (process.argv[2] === '--serve') {
  const [pages, delay, per] = process.argv.slice(3).map(Number);
  const bodies = new Map();
  for (const t of TABLES) for (let p = 1; p <= pages; p++) bodies.set(`${t}/${p}`, page(t, p, per));
  const empty = Buffer.from('{"data":[]}');
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const b = bodies.get(`${u.pathname.slice(1)}/${u.searchParams.get('page')}`) || empty;
    setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': b.length });
      res.end(b);
    }, delay);
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
  process.on('SIGTERM', () => process.exit(0));
} else {
  const dir = join(ROOT, 'bench/data/api_parallel');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', String(PAGES), String(DELAY), String(PER)],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(Number(out.trim())); });
      child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
    const cfgs = TABLES.map((t) => {
      const p = join(dir, `${t}.yaml`);
      writeFileSync(p, `platform:
  bronze:
    local_path: "${join(dir, 'out')}"
source:
  type: api
  system: bench
  table: ${t}
  api:
    base_url: "http://127.0.0.1:${port}"
    endpoint: /${t}
    data_path: data
    pagination: {type: page, page_size: ${PER}}
  run:
    write_csv: false
`);
      return p;
    });
    const runWith = (w) => {
      rmSync(join(dir, 'out'), { recursive: true, force: true });
      const r = timed('/usr/bin/time', ['-f', 'CPU %U %S', BIN, '--config', cfgs.join(','), '--parallel-workers', String(w), '--date', '2025-01-12']);
      const m = /Parallel extraction complete: (\d+) successful, (\d+) failed out of (\d+) total/.exec(r.stderr);
      if (!m || m[1] !== '4') throw new Error(`unexpected summary:\n${r.stderr}`);
      const rows = [...r.stderr.matchAll(/Retrieved (\d+) records/g)].map((x) => Number(x[1]));
      if (rows.length !== 4 || rows.some((n) => n !== PAGES * PER)) throw new Error(`unexpected record counts ${rows}`);
      const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
      return { s: r.seconds, cpu: Number(cpu[1]) + Number(cpu[2]) };
    };
    runWith(4); // warm-up
    const TRIALS = Number(process.env.BENCH_TRIALS || 3);
    const one = [], four = [];
    const load0 = execFileSync('uptime', { encoding: 'utf8' }).trim();
    for (let t = 0; t < TRIALS; t++) {
      one.push(runWith(1));
      four.push(runWith(4));
    }
    const load1 = execFileSync('uptime', { encoding: 'utf8' }).trim();
    const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const list = (a) => a.map((x) => x.toFixed(2)).join(', ');
    const m1 = median(one.map((x) => x.s)), m4 = median(four.map((x) => x.s));
    console.log(`4 API configs x ${PAGES} pages x ${PER} records, ${DELAY} ms per page`);
    console.log(`--parallel-workers 1: median ${m1.toFixed(2)} s [${list(one.map((x) => x.s))}], CPU ${list(one.map((x) => x.cpu))} s (latency floor ${(4 * (PAGES + 1) * DELAY / 1000).toFixed(1)} s)`);
    console.log(`--parallel-workers 4: median ${m4.toFixed(2)} s [${list(four.map((x) => x.s))}], CPU ${list(four.map((x) => x.cpu))} s (latency floor ${((PAGES + 1) * DELAY / 1000).toFixed(1)} s)`);
    console.log(`ratio workers 1 / workers 4: ${(m1 / m4).toFixed(2)}x (goal >= 3.5x)`);
    console.log(`load before: ${load0}\nload after:  ${load1}`);
  } finally {
    child.kill('SIGTERM');
  }
}
