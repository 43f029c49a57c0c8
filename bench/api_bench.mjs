// Issue #11 benchmark: 1M JSON records over 1,000 pages from a local HTTP API,
// extracted by bronze-extract (`type: api`, page paging, snappy Parquet),
// against `curl` fetching the same pages to /dev/null over one kept-alive
// connection in the same run (the yardstick: the cost of just moving the bytes).
// Prints bronze-extract's peak RSS (its summary line) and the throughput ratio
// (curl time / bronze time: 1.0 would mean paging, parsing, spooling, typing and
// encoding cost nothing beyond the transfer).
// A second yardstick, from the field: DuckDB (in this process) converting the
// same records from a local JSON Lines file to snappy Parquet, interleaved in
// the same trials: its fastest JSON path, with no HTTP and no paging. A third:
// bronze-extract's own file source on that file (`type: file`, jsonl), the
// same reader, typing and encoders without the HTTP, the page scanner and the
// spool: what the API path costs beyond them.
//
// The server is this script again in a child process (`--serve`), so that the
// timed, blocking runs below do not stall it; every page body is built once,
// up front, and served from memory.
// Usage: node bench/api_bench.mjs [pages=1000] [per_page=1000]   (after `make release`)
import http from 'node:http';
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, BIN, timed, peakRss, duck, duckTimedCpu } from './lib.mjs';

const PAGES = Number(process.argv[2] || 1000);
const PER = Number(process.argv[3] || 1000);

// One page's body: `per` records of mixed types (ints, a double, a bool, a
// timestamp string, an array and a nested object, kept as JSON text).
function makePage(p, per) {
  const rows = [];
  for (let i = (p - 1) * per + 1; i <= p * per; i++) {
    rows.push({
      id: i,
      name: `customer ${i % 50000}`,
      email: `user${i}@example.com`,
      score: (i % 1000) / 7,
      active: i % 3 === 0,
      created_at: new Date(Date.UTC(2024, 0, 1) + i * 13000).toISOString(),
      tags: ['a', `t${i % 10}`],
      address: { city: `city ${i % 100}`, zip: String(10000 + (i % 90000)) },
    });
  }
  return Buffer.from(JSON.stringify({ data: rows }));
}

if (process.argv[2] === '--serve') {
  const pages = Number(process.argv[3]);
  const per = Number(process.argv[4]);
  const bodies = [];
  let total = 0;
  for (let p = 1; p <= pages; p++) { bodies[p] = makePage(p, per); total += bodies[p].length; }
  const empty = Buffer.from('{"data":[]}');
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const b = bodies[Number(u.searchParams.get('page'))] || empty;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': b.length });
    res.end(b);
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${server.address().port} ${total}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
} else {
  const dir = join(ROOT, 'bench/data');
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', String(PAGES), String(PER)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [port, bytes] = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out.trim().split(' ').map(Number)); });
      child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const cfg = join(dir, 'api_bench.yaml');
    writeFileSync(cfg, `platform:
  bronze:
    local_path: "${join(dir, 'api_out')}"
source:
  type: api
  system: bench
  table: api
  api:
    base_url: "${base}"
    endpoint: /items
    data_path: data
    pagination: {type: page, page_size: ${PER}}
  run:
    write_csv: false
`);
    // curl: the same PAGES + 1 URLs (the empty last page too), one connection
    const curlCfg = join(dir, 'api_bench_curl.txt');
    let lines = '';
    for (let p = 1; p <= PAGES + 1; p++) lines += `url = "${base}/items?page=${p}&page_size=${PER}"\noutput = "/dev/null"\n`;
    writeFileSync(curlCfg, lines);
    // whole processes under /usr/bin/time: wall seconds and CPU seconds (user + sys)
    const cpuOf = (stderr) => { const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(stderr); return m ? Number(m[1]) + Number(m[2]) : NaN; };
    const curl = () => { const r = timed('/usr/bin/time', ['-f', 'CPU %U %S', 'curl', '-s', '-f', '--config', curlCfg]); return { seconds: r.seconds, cpu: cpuOf(r.stderr) }; };
    // one bronze-extract run of config c into a fresh output dir
    const bronzeRun = (c, out) => {
      rmSync(join(dir, out), { recursive: true, force: true });
      const r = timed('/usr/bin/time', ['-f', 'CPU %U %S', BIN, '--config', c, '--date', '2025-01-12']);
      return { ...r, cpu: cpuOf(r.stderr) };
    };
    const bronze = () => bronzeRun(cfg, 'api_out');
    // DuckDB: the same records as JSON Lines on local disk, to snappy Parquet
    const jsonl = join(dir, 'api_records.jsonl');
    const fd = openSync(jsonl, 'w');
    for (let p = 1; p <= PAGES; p++) {
      const rows = JSON.parse(makePage(p, PER)).data;
      writeSync(fd, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    }
    closeSync(fd);
    const fileCfg = join(dir, 'api_bench_file.yaml');
    writeFileSync(fileCfg, `platform:
  bronze:
    local_path: "${join(dir, 'file_out')}"
source:
  type: file
  system: bench
  table: file
  file: {path: "${jsonl}", format: jsonl}
  run:
    write_csv: false
`);
    const bronzeFile = () => bronzeRun(fileCfg, 'file_out');
    const conn = await duck();
    const duckPq = join(dir, 'api_duck.parquet');
    const duckdb = () => duckTimedCpu(conn, `COPY (SELECT * FROM read_json('${jsonl}', format = 'newline_delimited')) TO '${duckPq}' (FORMAT parquet, COMPRESSION snappy)`);
    curl(); // warm-up
    const TRIALS = Number(process.env.BENCH_TRIALS || 3);
    const ct = [], bt = [], cc = [], bc = [], dt = [], dc = [], ft = [], fc = [];
    let rss = [];
    const load0 = execFileSync('uptime', { encoding: 'utf8' }).trim();
    for (let t = 0; t < TRIALS; t++) {
      const k = curl();
      ct.push(k.seconds);
      cc.push(k.cpu);
      const r = bronze();
      bt.push(r.seconds);
      bc.push(r.cpu);
      rss.push(peakRss(r.stderr));
      const d = await duckdb();
      dt.push(d.seconds);
      dc.push(d.cpu);
      const f = bronzeFile();
      ft.push(f.seconds);
      fc.push(f.cpu);
      if (!/Retrieved (\d+) records/.test(r.stderr) || Number(/Retrieved (\d+) records/.exec(r.stderr)[1]) !== PAGES * PER)
        throw new Error(`unexpected record count:\n${r.stderr}`);
    }
    const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const list = (a) => a.map((x) => x.toFixed(2)).join(', ');
    const c = median(ct), b = median(bt);
    console.log(`pages: ${PAGES} x ${PER} records, ${(bytes / 1048576).toFixed(1)} MiB of JSON`);
    const load1 = execFileSync('uptime', { encoding: 'utf8' }).trim();
    console.log(`curl (one connection, to /dev/null): median ${c.toFixed(2)} s [${list(ct)}], CPU median ${median(cc).toFixed(2)} s [${list(cc)}]`);
    console.log(`bronze-extract (api -> parquet):      median ${b.toFixed(2)} s [${list(bt)}], ${(PAGES * PER / b / 1e3).toFixed(0)}k records/s, CPU median ${median(bc).toFixed(2)} s [${list(bc)}]`);
    console.log(`duckdb (local JSON Lines -> parquet): median ${median(dt).toFixed(2)} s [${list(dt)}], CPU median ${median(dc).toFixed(2)} s [${list(dc)}]`);
    console.log(`bronze-extract (local JSON Lines -> parquet, type: file): median ${median(ft).toFixed(2)} s [${list(ft)}], CPU median ${median(fc).toFixed(2)} s [${list(fc)}]`);
    console.log(`ratio curl/bronze: ${(c / b).toFixed(2)}x wall (goal >= 0.8x)`);
    console.log(`ratio duckdb/bronze: ${(median(dt) / b).toFixed(2)}x wall (above 1: bronze-extract over HTTP is faster than DuckDB from a local file)`);
    console.log(`ratio file/api: ${(median(ft) / b).toFixed(2)}x wall (above 1: the whole API path, HTTP and spool included, takes less than the file source on the same records)`);
    // each trial's curl run against the bronze run right after it: a load
    // that drifts during the run moves both of a pair, not just one median
    const pairs = ct.map((x, k) => x / bt[k]);
    rmSync(jsonl, { force: true });
    rmSync(duckPq, { force: true });
    rmSync(join(dir, 'file_out'), { recursive: true, force: true });
    console.log(`paired ratios (trial by trial): median ${median(pairs).toFixed(2)}x [${list(pairs)}]`);
    console.log(`load before: ${load0}\nload after:  ${load1}`);
    console.log(`bronze-extract peak RSS: ${rss.map((x) => x.toFixed(1)).join(', ')} MiB (goal < 128 MiB)`);
  } finally {
    child.kill('SIGTERM');
  }
}
