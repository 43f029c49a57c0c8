// source.type: custom end to end (issue #12; SPEC §3 source.custom_extractor,
// §7 "Custom contracts", "Dry run"): the three examples of examples/custom/
// (a C plugin, a command, a 1.0 Python class) land committed Parquet that
// DuckDB reads back value for value, and their cursors round-trip across two
// runs; every way an extractor can fail fails the run with a message naming
// the config and the extractor, exit 1, no committed batch, the cursor as it
// was; --validate-only loads nothing and --dry-run loads without running.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { copyFileSync, cpSync, chmodSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { run, start, workdir, write, readJson, query, cleanup, listFiles, ROOT, BIN, BIN_RELEASE } from './lib/harness.mjs';

const EX = join(ROOT, 'examples/custom');
const FIX = join(ROOT, 'tests/fixtures/custom');
const DATE = '2025-01-12';
const part = (sys, tbl) => `output/system=${sys}/table=${tbl}/dt=${DATE}`;
const pq = (dir) => `read_parquet('${dir}/*.parquet', hive_partitioning=false)`;
const num = (v) => (typeof v === 'bigint' ? Number(v) : v);

let LIBS;
function cc(name, src, defs = []) {
  const out = join(LIBS, name);
  // not instrumented: loads into the ASan binary and the release one alike
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O1', '-Wall', '-Werror', '-Iinclude', ...defs, '-o', out, src],
    { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return out;
}

before(() => {
  LIBS = workdir('bf-plugins-');
  // the example's own build line (examples/custom/c_plugin/stock_extractor.c)
  cc('libstock_extractor.so', 'examples/custom/c_plugin/stock_extractor.c');
  const bad = join(FIX, 'bad_plugin.c');
  cc('libfails.so', bad, ['-DBAD_FAILS']);
  cc('libcrash.so', bad, ['-DBAD_CRASH']);
  cc('libnoentry.so', bad, ['-DBAD_NO_ENTRY']);
  cc('libabi99.so', bad, ['-DBAD_ABI']);
  cc('libforeign.so', bad, ['-DBAD_FOREIGN']);
  cc('libjson.so', join(FIX, 'json_plugin.c'));
});

function extract(dir, cfgName, opts = {}) {
  const r = run(dir, ['--config', cfgName, '--date', DATE, '--log-format', 'simple', ...(opts.args || [])], opts);
  return r;
}

function cursorOf(dir, sys, tbl) {
  const p = join(dir, '.state', `${sys}_${tbl}_cursor.json`);
  return existsSync(p) ? readJson(p).cursor : undefined;
}

test('C plugin example: typed rows to Parquet, cursor round trip across two runs', async () => {
  const dir = workdir('bf-custom-c-');
  copyFileSync(join(LIBS, 'libstock_extractor.so'), join(dir, 'libstock_extractor.so'));
  copyFileSync(join(EX, 'c_plugin/stock.yaml'), join(dir, 'stock.yaml'));
  let r = extract(dir, 'stock.yaml');
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /unknown key/, 'the plugin\'s own section source.stock is not warned about');
  assert.match(r.stderr, /stock: emitted rows after the previous cursor/, 'api->log lands in the job log');
  assert.equal(cursorOf(dir, 'warehouse', 'stock'), '3');
  const P = join(dir, part('warehouse', 'stock'));
  let rows = await query(`SELECT * FROM ${pq(P)} ORDER BY item_id`);
  assert.deepEqual(rows.map((x) => ({ ...x, item_id: num(x.item_id) })), [
    { item_id: 1, sku: 'nut-m6', warehouse: 'north', unit_price: 0.25, in_stock: true, counted_on: DATE, note: 'ok' },
    { item_id: 2, sku: 'washer-6', warehouse: 'north', unit_price: 0.5, in_stock: false, counted_on: DATE, note: 'ok' },
    { item_id: 3, sku: 'screw-4x20', warehouse: 'north', unit_price: 0.75, in_stock: true, counted_on: DATE, note: null },
  ]);
  const types = await query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${pq(P)})`);
  assert.deepEqual(Object.fromEntries(types.map((t) => [t.column_name, t.column_type])),
    { item_id: 'BIGINT', sku: 'VARCHAR', warehouse: 'VARCHAR', unit_price: 'DOUBLE', in_stock: 'BOOLEAN', counted_on: 'VARCHAR', note: 'VARCHAR' });

  r = extract(dir, 'stock.yaml');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(cursorOf(dir, 'warehouse', 'stock'), '6');
  const m = readJson(join(P, '_metadata.json'));
  assert.equal(m.total_records, 6);
  assert.equal(m.new_cursor, '6');
  assert.deepEqual(m.batches.map((b) => [b.records, b.new_cursor]), [[3, '3'], [3, '6']]);
  rows = await query(`SELECT item_id FROM ${pq(P)} ORDER BY item_id`);
  assert.deepEqual(rows.map((x) => num(x.item_id)), [1, 2, 3, 4, 5, 6]);
  cleanup(dir);
});

test('command example: JSON Lines to Parquet and CSV, stderr in the log, cursor round trip', async () => {
  const dir = workdir('bf-custom-cmd-');
  copyFileSync(join(EX, 'command/extract_events.sh'), join(dir, 'extract_events.sh'));
  chmodSync(join(dir, 'extract_events.sh'), 0o755);
  copyFileSync(join(EX, 'command/events.yaml'), join(dir, 'events.yaml'));
  let r = extract(dir, 'events.yaml');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\[INFO\] extract_events: 3 events after the start/);
  assert.match(r.stderr, /No cursor from an earlier run: the extractor starts without one/);
  assert.doesNotMatch(r.stderr, /Incremental load/, 'a custom extractor has no cursor field to name');
  assert.equal(cursorOf(dir, 'web', 'events'), '3');
  r = extract(dir, 'events.yaml');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /The extractor's cursor from its last run: 3$/m);
  assert.match(r.stderr, /extract_events: 3 events after 3\b/, 'BRONZE_LAST_CURSOR reached the command');
  assert.equal(cursorOf(dir, 'web', 'events'), '6');
  const P = join(dir, part('web', 'events'));
  const rows = await query(`SELECT * FROM ${pq(P)} ORDER BY event_id`);
  assert.equal(rows.length, 6);
  assert.deepEqual(rows.slice(0, 2).map((x) => ({ ...x, event_id: num(x.event_id) })), [
    { event_id: 1, kind: 'click', day: DATE, score: 1.5, tags: '["a","b"]' },
    { event_id: 2, kind: 'view', day: DATE, score: 2.5, tags: '["a","b"]' },
  ]);
  assert.deepEqual(rows.map((x) => num(x.event_id)), [1, 2, 3, 4, 5, 6]);
  const m = readJson(join(P, '_metadata.json'));
  assert.equal(m.total_records, 6);
  assert.ok(m.files.some((f) => f.format === 'csv'));
  cleanup(dir);
});

test('1.0 Python class, unchanged: from extractors.base import BaseExtractor; prints stay out of the data; cursor round trip', async () => {
  const dir = workdir('bf-custom-py-');
  copyFileSync(join(EX, 'python/salesforce.yaml'), join(dir, 'salesforce.yaml'));
  const env = { PYTHONPATH: join(EX, 'python') };
  let r = extract(dir, 'salesforce.yaml', { env });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /unknown key/, 'source.salesforce is the extractor\'s business');
  assert.match(r.stderr, /SalesforceExtractor: 3 accounts after None/, 'print() goes to the log');
  assert.equal(cursorOf(dir, 'salesforce', 'accounts'), '2025-01-03T10:15:00');
  r = extract(dir, 'salesforce.yaml', { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /3 accounts after 2025-01-03T10:15:00/);
  assert.equal(cursorOf(dir, 'salesforce', 'accounts'), '2025-01-06T13:20:00');
  const P = join(dir, part('salesforce', 'accounts'));
  const rows = await query(`SELECT * FROM ${pq(P)} ORDER BY Id`);
  assert.equal(rows.length, 6);
  assert.deepEqual(rows[0], {
    Id: '001', Name: 'Acme Corp', LastModifiedDate: '2025-01-01T08:00:00', AnnualRevenue: '1200000.50',
    CreatedDate: '2020-05-01', ExtractedFor: DATE, ExtractedAt: '2025-01-12T14:30:15',
  });
  assert.equal(rows[2].AnnualRevenue, null);
  assert.equal(rows[5].Name, 'Stark Industries');
  const m = readJson(join(P, '_metadata.json'));
  assert.equal(m.total_records, 6);
  assert.equal(m.new_cursor, '2025-01-06T13:20:00');
  cleanup(dir);
});

test('Python: module found from the working directory; generators, core.extractors.base, dates as text', async () => {
  const dir = workdir('bf-custom-gen-');
  cpSync(join(FIX, 'py'), dir, { recursive: true });
  write(dir, 'c.yaml', customCfg('gen', 'module: "bad_extractors"\n    class_name: "Generated"', '  gen:\n    n: 2500\n'));
  const r = extract(dir, 'c.yaml');
  assert.equal(r.code, 0, r.stderr);
  const rows = await query(`SELECT count(*) n, sum(i) s, max(half) h, min("on") d FROM ${pq(join(dir, part('t', 'gen')))}`);
  assert.deepEqual(rows.map((x) => ({ n: num(x.n), s: num(x.s), h: x.h, d: x.d })), [{ n: 2500, s: 2500 * 2499 / 2, h: 1249.5, d: DATE }]);
  cleanup(dir);
});

function customCfg(table, extractor, extra = '', runKeys = '') {
  return `platform:
  bronze:
    local_path: "./output"
source:
  type: "custom"
  system: "t"
  table: "${table}"
  custom_extractor:
    ${extractor}
${extra}  run:
    write_csv: false
    write_parquet: true
${runKeys}`;
}

// The previous state, so "cursor unchanged" means something.
function seedState(dir, table) {
  mkdirSync(join(dir, '.state'), { recursive: true });
  writeFileSync(join(dir, '.state', `t_${table}_cursor.json`), JSON.stringify({ cursor: 'c0', last_run: '2025-01-11' }));
}

function assertFailed(dir, table, r, re) {
  assert.equal(r.code, 1, `exit 1 expected\n${r.stderr}`);
  assert.match(r.stderr, re);
  assert.match(r.stderr, /c\.yaml: custom extractor /, 'names the config and the extractor');
  assert.ok(!existsSync(join(dir, part('t', table), '_metadata.json')), 'no committed batch');
  assert.deepEqual(listFiles(join(dir, 'output')), [], 'no final-named file');
  assert.equal(cursorOf(dir, 't', table), 'c0', 'cursor unchanged');
}

function failCase(table, extractor, { extra = '', runKeys = '', env = {}, setup, bin = BIN } = {}) {
  const dir = workdir('bf-custom-fail-');
  if (setup) setup(dir);
  write(dir, 'c.yaml', customCfg(table, extractor, extra, runKeys));
  seedState(dir, table);
  const t0 = performance.now();
  const r = extract(dir, 'c.yaml', { env, bin });
  r.ms = performance.now() - t0;
  return { dir, r };
}

test('plugin failures: reported error, missing entry symbol, foreign library, wrong ABI (never called)', () => {
  const cases = [
    ['pfail', 'libfails.so', 'fails', /custom extractor \.\/libfails\.so \(class fails\): upstream refused the login \(HTTP 403\)/],
    ['pnoentry', 'libnoentry.so', 'x', /does not export the entry symbol bronze_extractor_entry/],
    ['pforeign', 'libforeign.so', 'x', /exports neither bronze_extractor_entry nor bronze_extractor_abi: it is not a bronze-foundry extractor plugin/],
    ['pabi', 'libabi99.so', 'x', /built for extractor ABI version 99, this bronze-extract speaks version 1: rebuild it .*refused without calling it/],
    ['pclass', 'libstock_extractor.so', 'nosuch', /has no extractor named nosuch \(class_name\)/],
  ];
  for (const [table, lib, cls, re] of cases) {
    const { dir, r } = failCase(table, `module: "./${lib}"\n    class_name: "${cls}"`, {
      setup: (d) => copyFileSync(join(LIBS, lib), join(d, lib)),
    });
    assertFailed(dir, table, r, re);
    cleanup(dir);
  }
  // a library that is not there at all
  const { dir, r } = failCase('pmissing', 'module: "./libnothere.so"\n    class_name: "x"');
  assertFailed(dir, 'pmissing', r, /cannot load the library: .*libnothere\.so/);
  cleanup(dir);
});

test('plugin crash (SIGSEGV inside dlopened code): the run dies, nothing committed, cursor unchanged; the next run recovers', () => {
  for (const bin of [BIN, BIN_RELEASE]) {
    const { dir, r: r2 } = failCase('crash', 'module: "./libcrash.so"\n    class_name: "crash"', {
      setup: (d) => copyFileSync(join(LIBS, 'libcrash.so'), join(d, 'libcrash.so')),
      bin,
    });
    if (bin === BIN) {
      assert.equal(r2.code, 1, r2.stderr); // ASan reports the SEGV and exits 1
      assert.match(r2.stderr, /SEGV/);
    } else {
      assert.equal(r2.signal, 'SIGSEGV', `died by SIGSEGV: ${r2.code} ${r2.stderr}`);
      assert.match(r2.stderr, /c\.yaml: custom extractor \.\/libcrash\.so \(class crash\): crashed inside the plugin; nothing committed, cursor unchanged \(signal 11\)/);
    }
    assert.ok(!existsSync(join(dir, part('t', 'crash'), '_metadata.json')), 'no marker');
    assert.deepEqual(listFiles(join(dir, 'output')), [], 'no final-named file');
    assert.equal(cursorOf(dir, 't', 'crash'), 'c0', 'cursor unchanged');
    // the next run over the crashed run's leftovers works (stock library, same table)
    copyFileSync(join(LIBS, 'libstock_extractor.so'), join(dir, 'libstock_extractor.so'));
    write(dir, 'c.yaml', customCfg('crash', 'module: "./libstock_extractor.so"\n    class_name: "stock"'));
    const ok = run(dir, ['--config', 'c.yaml', '--date', DATE]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(existsSync(join(dir, part('t', 'crash'), '_metadata.json')));
    cleanup(dir);
  }
});

test('command failures: exit 3, a line that is not a JSON object, silence past timeout_seconds, not found', () => {
  let { dir, r } = failCase('cexit', `command: ["sh", "-c", "echo '{\\"a\\":1}'; echo oops >&2; exit 3"]`);
  assertFailed(dir, 'cexit', r, /custom extractor command \[sh -c .*\]: exited with status 3; last stderr line: oops/);
  cleanup(dir);

  ({ dir, r } = failCase('cjson', `command: ["sh", "-c", "echo '{\\"a\\":1}'; echo 'not json at all'"]`));
  assertFailed(dir, 'cjson', r, /stdout line 2 is not a JSON object .*: not json at all/);
  cleanup(dir);

  ({ dir, r } = failCase('carray', `command: ["sh", "-c", "echo '[1,2]'"]`));
  assertFailed(dir, 'carray', r, /stdout line 1 is not a JSON object \(another JSON value\)/);
  cleanup(dir);

  ({ dir, r } = failCase('chang', `command: ["sh", "-c", "echo '{\\"a\\":1}'; sleep 60"]`, { runKeys: '    timeout_seconds: 1\n' }));
  assertFailed(dir, 'chang', r, /silent for more than 1 s \(source\.run\.timeout_seconds\): stopped after 1 lines/);
  assert.ok(r.ms < 15000, `stopped promptly (${r.ms} ms)`);
  cleanup(dir);

  ({ dir, r } = failCase('cmissing', 'command: ["./no-such-program"]'));
  assertFailed(dir, 'cmissing', r, /cannot run \.\/no-such-program: No such file or directory/);
  cleanup(dir);

  ({ dir, r } = failCase('ckilled', `command: ["sh", "-c", "echo '{\\"a\\":1}'; kill -9 $$"]`));
  assertFailed(dir, 'ckilled', r, /killed by signal 9/);
  cleanup(dir);
});

// A command's records are judged as a JSON Lines file's (SPEC §7): valid
// JSON with text no column holds fails naming the record and the field, or
// lands U+FFFD with invalid_utf8: replace; a real beyond the double range is
// kept as its text. None of it is "not a JSON object".
test('command records: text that is not UTF-8 fails naming the record, or is replaced; 1e400 kept as text', async () => {
  const lines = Buffer.concat([Buffer.from('{"id": 1, "s": "a", "x": 1e400}\n{"id": 2, "s": "caf'), Buffer.from([0xe9]), Buffer.from('", "x": 2}\n')]);
  const out = (d) => writeFileSync(join(d, 'out.jsonl'), lines);
  let { dir, r } = failCase('cutf8', 'command: ["cat", "out.jsonl"]', { setup: out });
  assertFailed(dir, 'cutf8', r, /custom extractor command \[cat out\.jsonl\]: its records: record 2: field 's': invalid UTF-8 \(byte 0xE9\); the text must be UTF-8 \(or set source\.run\.invalid_utf8: replace\)/);
  assert.doesNotMatch(r.stderr, /not a JSON object|spool/);
  cleanup(dir);
  ({ dir, r } = failCase('cutf8', 'command: ["cat", "out.jsonl"]', { setup: out, runKeys: '    invalid_utf8: replace\n' }));
  assert.equal(r.code, 0, r.stderr);
  const got = await query(`SELECT id, s, x FROM ${pq(join(dir, part('t', 'cutf8')))} ORDER BY id`);
  assert.deepEqual(got.map((x) => [num(x.id), x.s, x.x]), [[1, 'a', '1e400'], [2, 'caf\ufffd', '2']]);
  cleanup(dir);
});

test('plugin emit_json records are judged as a JSON Lines file\'s: pretty text, 1e400 as text, Latin-1 named or replaced', async () => {
  const setup = (d) => copyFileSync(join(LIBS, 'libjson.so'), join(d, 'libjson.so'));
  let { dir, r } = failCase('pjson', 'module: "./libjson.so"\n    class_name: "json"', { setup });
  assertFailed(dir, 'pjson', r, /custom extractor \.\/libjson\.so \(class json\): its records: record 3: field 's': invalid UTF-8 \(byte 0xE9\)/);
  assert.doesNotMatch(r.stderr, /not a JSON object|spool/);
  cleanup(dir);
  ({ dir, r } = failCase('pjson', 'module: "./libjson.so"\n    class_name: "json"', { setup, runKeys: '    invalid_utf8: replace\n' }));
  assert.equal(r.code, 0, r.stderr);
  const got = await query(`SELECT id, s, x FROM ${pq(join(dir, part('t', 'pjson')))} ORDER BY id`);
  assert.deepEqual(got.map((x) => [num(x.id), x.s, x.x]), [[1, 'a', '1.5'], [2, 'b', '1e400'], [3, 'caf\ufffd', '2']]);
  cleanup(dir);
  // a typed row's put_text says which byte is wrong, not "out of memory or not valid UTF-8"
  ({ dir, r } = failCase('ptext', 'module: "./libjson.so"\n    class_name: "text"', { setup }));
  assertFailed(dir, 'ptext', r, /put_text: column s: not valid UTF-8 \(byte 0xE9 at offset 3\); the text must be UTF-8 \(or set source\.run\.invalid_utf8: replace\)/);
  cleanup(dir);
  // ... and with invalid_utf8: replace it lands U+FFFD, counted, as every other source's text
  ({ dir, r } = failCase('ptext', 'module: "./libjson.so"\n    class_name: "text"', { setup, runKeys: '    invalid_utf8: replace\n' }));
  assert.equal(r.code, 0, r.stderr);
  const rows = await query(`SELECT id, s FROM ${pq(join(dir, part('t', 'ptext')))}`);
  assert.deepEqual(rows.map((x) => [num(x.id), x.s]), [[1, 'caf\ufffd']]);
  const meta = JSON.parse(readFileSync(join(dir, part('t', 'ptext'), '_metadata.json'), 'utf8'));
  assert.equal(meta.replaced_invalid_utf8, 1);
  cleanup(dir);
});

test('plugin typed rows: escaped text, integral doubles stay DOUBLE, int64 extremes, the last put of a column counts', async () => {
  const setup = (d) => copyFileSync(join(LIBS, 'libjson.so'), join(d, 'libjson.so'));
  const { dir, r } = failCase('ptyped', 'module: "./libjson.so"\n    class_name: "typed"', { setup });
  assert.equal(r.code, 0, r.stderr);
  const file = pq(join(dir, part('t', 'ptyped')));
  const types = await query(`SELECT column_name AS c, column_type AS t FROM (DESCRIBE SELECT * FROM ${file})`);
  assert.deepEqual(types.map((x) => [x.c, x.t]), [['id', 'BIGINT'], ['s', 'VARCHAR'], ['d', 'DOUBLE'], ['b', 'BOOLEAN'], ['n', 'VARCHAR'], ['r', 'VARCHAR'], ['k\u00e9y "q"', 'VARCHAR']]);
  const rows = await query(`SELECT id::VARCHAR AS id, s, d, b, n, r, "k\u00e9y ""q""" AS k FROM ${file} ORDER BY id`);
  assert.deepEqual(rows, [
    { id: '-9223372036854775808', s: 'q"b\\s\n\t\r\u0001/\u00e9\u{1F600}\u007f', d: 1, b: true, n: null, r: 'last', k: null },
    { id: '9223372036854775807', s: '', d: 0.1, b: false, n: null, r: '-2.5e-300', k: 'v' },
  ]);
  cleanup(dir);
});

test('command environment: BRONZE_CONFIG_JSON, BRONZE_RUN_DATE, BRONZE_LAST_CURSOR; no shell in between', async () => {
  const dir = workdir('bf-custom-env-');
  write(dir, 'env.py', `import json, os, sys
cfg = json.loads(os.environ["BRONZE_CONFIG_JSON"])
print(json.dumps({"tbl": cfg["source"]["table"], "own": cfg["source"]["mine"]["k"],
  "date": os.environ["BRONZE_RUN_DATE"], "last": os.environ.get("BRONZE_LAST_CURSOR"),
  "argv": " ".join(sys.argv[1:])}))
print(json.dumps({"_bronze_cursor": "next-1"}))
`);
  write(dir, 'c.yaml', customCfg('env', 'command: ["python3", "env.py", "$HOME", "a b"]', '  mine:\n    k: 42\n'));
  seedState(dir, 'env');
  const r = extract(dir, 'c.yaml', { env: { BRONZE_LAST_CURSOR: 'stale-from-parent' } });
  assert.equal(r.code, 0, r.stderr);
  const rows = await query(`SELECT * FROM ${pq(join(dir, part('t', 'env')))}`);
  assert.deepEqual(rows.map((x) => ({ ...x, own: num(x.own) })),
    [{ tbl: 'env', own: 42, date: DATE, last: 'c0', argv: '$HOME a b' }]);
  assert.equal(cursorOf(dir, 't', 'env'), 'next-1');
  cleanup(dir);
});

test('SIGTERM to bronze-extract stops the command\'s whole process group; nothing committed', async () => {
  const dir = workdir('bf-custom-sig-');
  write(dir, 'c.yaml', customCfg('sig', `command: ["sh", "-c", "echo '{\\"a\\":1}'; sleep 300 & echo $! > sleep.pid; wait"]`));
  seedState(dir, 'sig');
  const child = start(dir, ['--config', 'c.yaml', '--date', DATE]);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((res) => child.on('close', (code, signal) => res({ code, signal })));
  for (let i = 0; i < 200 && !existsSync(join(dir, 'sleep.pid')); i++) await new Promise((res) => setTimeout(res, 50));
  await new Promise((res) => setTimeout(res, 100));
  const sleepPid = Number(readFileSync(join(dir, 'sleep.pid'), 'utf8'));
  child.kill('SIGTERM');
  const { code } = await done;
  assert.equal(code, 1, stderr);
  assert.match(stderr, /stopped: bronze-extract was interrupted by signal 15/);
  // gone: no such process, or a zombie (it has exited; its new parent, init
  // or a subreaper, has not reaped it yet)
  const running = (pid) => {
    try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
  };
  let alive = true;
  for (let i = 0; i < 40 && alive; i++) {
    alive = running(sleepPid);
    if (alive) await new Promise((res) => setTimeout(res, 50));
  }
  assert.equal(alive, false, 'the grandchild (sleep) is gone too');
  assert.ok(!existsSync(join(dir, part('t', 'sig'), '_metadata.json')));
  assert.equal(cursorOf(dir, 't', 'sig'), 'c0');
  cleanup(dir);
});

test('Python failures: the class raises (traceback\'s last line), returns a non-dict, module or class missing', () => {
  const setup = (d) => cpSync(join(FIX, 'py'), d, { recursive: true });
  let { dir, r } = failCase('yraise', 'module: "bad_extractors"\n    class_name: "Raising"', { setup });
  assertFailed(dir, 'yraise', r, /custom extractor python bad_extractors\.Raising: RuntimeError: Salesforce said INVALID_SESSION_ID/);
  assert.match(r.stderr, /Traceback \(most recent call last\)/, 'the whole traceback is in the log');
  assert.match(r.stderr, /about to fail/);
  cleanup(dir);

  ({ dir, r } = failCase('ydict', 'module: "bad_extractors"\n    class_name: "NonDict"', { setup }));
  assertFailed(dir, 'ydict', r, /python bad_extractors\.NonDict: record 2 is a list, not a dict: \['not', 'a', 'dict'\]/);
  cleanup(dir);

  ({ dir, r } = failCase('ymod', 'module: "no_such.module"\n    class_name: "X"', { setup }));
  assertFailed(dir, 'ymod', r, /python no_such\.module\.X: ModuleNotFoundError: No module named 'no_such'/);
  cleanup(dir);

  ({ dir, r } = failCase('ycls', 'module: "bad_extractors"\n    class_name: "Nope"', { setup }));
  assertFailed(dir, 'ycls', r, /module bad_extractors has no class Nope/);
  cleanup(dir);
});

test('--validate-only loads nothing; --dry-run loads the plugin / imports the module / checks the command, runs none', () => {
  const dir = workdir('bf-custom-dry-');
  cpSync(join(FIX, 'py'), dir, { recursive: true });
  copyFileSync(join(LIBS, 'libstock_extractor.so'), join(dir, 'libstock_extractor.so'));
  copyFileSync(join(LIBS, 'libabi99.so'), join(dir, 'libabi99.so'));
  write(dir, 'ghost_plugin.yaml', customCfg('a', 'module: "./libghost.so"\n    class_name: "x"'));
  write(dir, 'ghost_py.yaml', customCfg('b', 'module: "ghost.module"\n    class_name: "X"'));
  write(dir, 'ghost_cmd.yaml', customCfg('c', 'command: ["./ghost.sh"]'));
  const v = run(dir, ['--config', 'ghost_plugin.yaml,ghost_py.yaml,ghost_cmd.yaml', '--validate-only']);
  assert.equal(v.code, 0, v.stderr);

  // a dry run of each ghost fails (exit 1), naming what is missing
  for (const [cfg, re] of [['ghost_plugin.yaml', /cannot load the library/], ['ghost_py.yaml', /No module named 'ghost'/],
    ['ghost_cmd.yaml', /\.\/ghost\.sh is not an executable file/]]) {
    const r = run(dir, ['--config', cfg, '--dry-run', '--date', DATE]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  write(dir, 'abi.yaml', customCfg('d', 'module: "./libabi99.so"\n    class_name: "x"'));
  let r = run(dir, ['--config', 'abi.yaml', '--dry-run', '--date', DATE]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ABI version 99/);

  // the good ones: loaded / imported / found, never run (Raising would fail; the
  // command would write a file)
  write(dir, 'ok_plugin.yaml', customCfg('e', 'module: "./libstock_extractor.so"\n    class_name: "stock"'));
  write(dir, 'ok_py.yaml', customCfg('f', 'module: "bad_extractors"\n    class_name: "Raising"'));
  write(dir, 'ok_cmd.yaml', customCfg('g', 'command: ["sh", "-c", "touch ran"]'));
  r = run(dir, ['--config', 'ok_plugin.yaml,ok_py.yaml,ok_cmd.yaml', '--dry-run', '--date', DATE, '--log-format', 'simple']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /libstock_extractor\.so \(class stock\) loads \(ABI 1; not run\)/);
  assert.match(r.stderr, /python bad_extractors\.Raising imports \(not run\)/);
  assert.match(r.stderr, /command \[sh -c touch ran\] is executable \(not run\)/);
  assert.doesNotMatch(r.stderr, /column\(s\)/); // not run: no columns to count
  assert.ok(!existsSync(join(dir, 'ran')), 'the command did not run');
  assert.ok(!existsSync(join(dir, 'output')), 'nothing written');
  assert.ok(!existsSync(join(dir, '.state')), 'no state written');
  cleanup(dir);
});

test('--list-backends lists the custom kinds', () => {
  const r = run(workdir(), ['--list-backends']);
  assert.equal(r.code, 0);
  const lines = r.stdout.trim().split('\n');
  for (const k of ['source custom command', 'source custom plugin', 'source custom python', 'source db sqlite'])
    assert.ok(lines.includes(k), k);
});

// An incremental batch whose column changed type against the partition's
// committed parts is refused; the hint must fit a source with no base_query.
test('a custom extractor whose column changes type between incremental runs is refused with a hint that fits it', () => {
  const dir = workdir('bf-custom-type-');
  write(dir, 'x.sh', '#!/bin/sh\nif [ -z "$BRONZE_LAST_CURSOR" ]; then echo \'{"id": 1}\'; else echo \'{"id": "x"}\'; fi\necho \'{"_bronze_cursor": "a"}\'\n');
  chmodSync(join(dir, 'x.sh'), 0o755);
  write(dir, 'c.yaml', customCfg('ty', 'command: ["./x.sh"]'));
  let r = extract(dir, 'c.yaml');
  assert.equal(r.code, 0, r.stderr);
  r = extract(dir, 'c.yaml');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /column 'id' is STRING in this batch but INT64 in the partition's committed parts; an incremental load cannot change a column's type: run a full load \(no cursor\) to rewrite the partition, or have the source give the column one type \(a CAST in base_query, the same JSON type from an API or extractor\)/);
  assert.doesNotMatch(r.stderr, /or CAST the column in base_query$/m);
  cleanup(dir);
});
