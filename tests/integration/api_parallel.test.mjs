// api_parallel.test.mjs - config-level workers on API sources (issue #14
// item 4): four API configs at --parallel-workers 4, one of whose endpoints
// answers HTTP 500 forever. That job fails alone: the other three commit
// every row, each job keeps its own connection and its own log prefix, the
// failed one leaves nothing behind, the summary counts 3 and 1, exit 1.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runAsync, workdir, write, query, readJson, listFiles, today, cleanup } from './lib/harness.mjs';
import { startApi } from './lib/http_api.mjs';

let api;
before(async () => { api = await startApi(); });
after(async () => { await api.stop(); });
beforeEach(() => api.reset());

const DT = today();
const part = (dir, table) => join(dir, 'output', 'system=multi', `table=${table}`, `dt=${DT}`);

function cfg(table, endpoint) {
  return `platform:
  bronze:
    local_path: "./output"
source:
  type: api
  system: multi
  table: ${table}
  api:
    base_url: "${api.url}"
    endpoint: ${endpoint}
    pagination: {type: page, page_size: 5}
  run:
    write_csv: false
    max_retries: 1
`;
}

test('4 API configs, 4 workers, one endpoint failing with 500 forever: 3 commit, 1 fails, exit 1', async () => {
  const dir = workdir();
  const tables = { t1: '/tables/one', t2: '/tables/fail500', t3: '/tables/three', t4: '/tables/four' };
  for (const [t, ep] of Object.entries(tables)) write(dir, `${t}.yaml`, cfg(t, ep));
  const r = await runAsync(dir, ['--config', 't1.yaml,t2.yaml,t3.yaml,t4.yaml', '--parallel-workers', '4', '--log-format', 'human']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Starting parallel extraction with 4 workers for 4 configs/);
  assert.match(r.stderr, / INFO +Parallel extraction complete: 3 successful, 1 failed out of 4 total\n/);
  assert.doesNotMatch(r.stderr, /Finished Bronze extract run successfully/);
  // the failure is the failing job's, under its own prefix, naming its URL
  assert.match(r.stderr, / ERROR +multi\.t2: t2\.yaml: page 1: GET http:\/\/127\.0\.0\.1:\d+\/tables\/fail500\?page=1&page_size=5: HTTP 500 \(retries exhausted\)/);
  assert.match(r.stderr, / ERROR +multi\.t2: ✗ Extraction failed for multi\.t2/);
  for (const t of ['t1', 't3', 't4']) {
    assert.match(r.stderr, new RegExp(` INFO +multi\\.${t}: ✓ Successfully completed extraction for multi\\.${t}`));
    assert.doesNotMatch(r.stderr, new RegExp(` (ERROR|WARNING) +multi\\.${t}:`), `${t} saw no failure`);
  }
  // each good job's rows, all of them, only its own
  for (const [t, name] of [['t1', 'one'], ['t3', 'three'], ['t4', 'four']]) {
    const m = readJson(join(part(dir, t), '_metadata.json'));
    assert.equal(m.total_records, 25, t);
    const rows = await query(`SELECT DISTINCT src AS n, count(*) OVER ()::INT AS c FROM read_parquet('${part(dir, t)}/*.parquet')`);
    assert.deepEqual(rows, [{ n: name, c: 25 }], t);
  }
  // the failed job: nothing committed, nothing staged left behind
  assert.equal(existsSync(part(dir, 't2')), false, 'no partition for the failed job');
  assert.ok(!listFiles(join(dir, 'output')).some((f) => f.includes('table=t2')));
  const tmp = join(dir, 'output', '.bronze-tmp');
  const left = existsSync(tmp) ? readdirSync(tmp, { recursive: true }).filter((f) => /multi\+t\d\+|spool-/.test(f)) : [];
  assert.deepEqual(left, [], 'no job staging dir or spool left');
  // connections: one kept-alive connection per job, never shared between jobs
  const portsOf = (ep) => new Set(api.requests.filter((q) => q.path === ep).map((q) => q.port));
  const seen = new Map();
  for (const ep of Object.values(tables)) {
    const ports = portsOf(ep);
    if (ep !== '/tables/fail500') assert.equal(ports.size, 1, `${ep}: all 6 pages over one connection`);
    for (const p of ports) {
      assert.ok(!seen.has(p) || seen.get(p) === ep, `connection ${p} used by ${seen.get(p)} and ${ep}`);
      seen.set(p, ep);
    }
  }
  assert.equal(api.requests.filter((q) => q.path === '/tables/fail500').length, 2, 'one try and one retry');
  // the jobs really ran at once: their requests interleave in time
  const first = (ep) => Math.min(...api.requests.filter((q) => q.path === ep).map((q) => q.t));
  const last = (ep) => Math.max(...api.requests.filter((q) => q.path === ep).map((q) => q.t));
  assert.ok(first('/tables/three') < last('/tables/one') && first('/tables/one') < last('/tables/three'), 'overlapping jobs');
  cleanup(dir);
});
