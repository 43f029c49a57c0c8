// 1.0's config forms through the real binary (SPEC §3, §7): valid fixtures
// pass --validate-only with their env vars unset and print nothing; error
// fixtures exit 2 with the file:line:col: key.path: form; typos warn once each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run, workdir, cleanup } from './lib/harness.mjs';

const FIX = join(ROOT, 'tests/fixtures/config');
const all = readdirSync(FIX).filter((f) => f.endsWith('.yaml'));
// sales.yaml reproduces SPEC's own example error message.
const isBroken = (f) => f.startsWith('err_') || f === 'sales.yaml';
const valid = all.filter((f) => !isBroken(f) && !f.startsWith('warn_'));
const broken = all.filter(isBroken);

test('every 1.0-form and seed config validates with env vars unset and no warning', () => {
  assert.ok(valid.length >= 20, String(valid.length));
  const dir = workdir();
  for (const f of valid) {
    const r = run(dir, ['--config', join(FIX, f), '--validate-only', '--log-format', 'simple']);
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /WARN|ERROR/, f);
  }
  // all at once, comma-separated, as a CI job would: --validate-only sees
  // what the run sees, and these fixtures share tables (demo.items, ...), so
  // the clashes between them, and nothing else, are reported (SPEC §7)
  const r = run(dir, ['--config', valid.map((f) => join(FIX, f)).join(','), '--validate-only', '--log-format', 'simple']);
  assert.equal(r.code, 2, r.stderr);
  const errs = r.stderr.trim().split('\n').filter((l) => l.startsWith('[ERROR]'));
  assert.ok(errs.length > 0);
  for (const e of errs) assert.match(e, /^\[ERROR\] \S+\.yaml:\d+:\d+: source\.(table|db\.incremental\.state_file): \S+ and \S+: both (write the same partition|keep their cursor in)/, e);
  assert.doesNotMatch(r.stderr, /WARN/);
  cleanup(dir);
});

test('every broken config exits 2 naming file:line:col or file and key path', () => {
  assert.ok(broken.length >= 25);
  const dir = workdir();
  for (const f of broken) {
    const r = run(dir, ['--config', join(FIX, f), '--validate-only', '--log-format', 'simple']);
    assert.equal(r.code, 2, `${f}: ${r.stderr}`);
    const errs = r.stderr.trim().split('\n').filter((l) => l.startsWith('[ERROR]'));
    assert.equal(errs.length, 1, `${f}: ${r.stderr}`);
    assert.match(errs[0], new RegExp(`\\[ERROR\\] ${join(FIX, f).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(:\\d+:\\d+)?: [a-z_.]+|${f}`), f);
    assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error/);
  }
  cleanup(dir);
});

test('an API body with method GET (or no method) warns that it is not sent; with POST it does not', () => {
  const dir = workdir();
  for (const [method, warned] of [['', true], ['    method: GET\n', true], ['    method: POST\n', false]]) {
    writeFileSync(join(dir, 'b.yaml'), `platform:\n  bronze:\n    local_path: ./out\nsource:\n  type: api\n  system: s\n  table: t\n  api:\n    base_url: "http://127.0.0.1:9"\n${method}    body: {filter: {min: 1}}\n`);
    const r = run(dir, ['--config', join(dir, 'b.yaml'), '--validate-only', '--log-format', 'simple']);
    assert.equal(r.code, 0, r.stderr);
    if (warned) assert.match(r.stderr, /^\[WARNING\] \S*b\.yaml:1\d:11: source\.api\.body: sent only with method: POST; this GET source sends no body$/m, method);
    else assert.doesNotMatch(r.stderr, /WARN/, method);
  }
  cleanup(dir);
});

test('misspelled keys warn in the one form with a good suggestion, and still validate', () => {
  const dir = workdir();
  const r = run(dir, ['--config', join(FIX, 'warn_typos.yaml'), '--validate-only', '--log-format', 'simple']);
  assert.equal(r.code, 0, r.stderr);
  const warns = r.stderr.split('\n').filter((l) => l.startsWith('[WARNING]'));
  assert.ok(warns.length >= 3, r.stderr);
  for (const w of warns) assert.match(w, /^\[WARNING\] \S+warn_typos\.yaml:\d+:\d+: [a-z0-9_.]+: unknown key( \(did you mean '[a-z0-9_]+'\?\))?$/);
  assert.match(r.stderr, /platform\.bronze\.s3_buckt: unknown key \(did you mean 's3_bucket'\?\)/);
  assert.match(r.stderr, /source\.run\.paralel_workers: unknown key \(did you mean 'parallel_workers'\?\)/);
  cleanup(dir);
});
