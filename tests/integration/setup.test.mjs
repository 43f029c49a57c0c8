// Setup speaks plainly (issue #17 item 3): `make` without the libraries names
// what to run; the C sources and unit tests compile without a warning under
// gcc and clang with the Makefile's warning flags; `npm ci` takes the lock as
// it is (package.json and package-lock.json in step).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, workdir, cleanup } from './lib/harness.mjs';

const sh = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
const have = (cmd) => sh('sh', ['-c', `command -v ${cmd}`]).status === 0;

test('make without the -dev libraries says to run scripts/deps.sh build, in one line', () => {
  const r = sh('make', ['-n', 'release'], { env: { ...process.env, PKG_CONFIG_LIBDIR: '/nonexistent', PKG_CONFIG_PATH: '' } });
  assert.notEqual(r.status, 0);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /missing libraries \(pkg-config finds no yaml-0\.1 sqlite3 jansson .*libxxhash\): run `scripts\/deps\.sh build`/);
  assert.doesNotMatch(r.stderr, /was not found in the pkg-config search path/);
  // and without pkg-config at all
  const n = sh('/usr/bin/make', ['-n', 'release'], { env: { PATH: '/nonexistent' } });
  assert.notEqual(n.status, 0);
  assert.match(n.stderr, /pkg-config is not installed: run `scripts\/deps\.sh build`/);
  // the goals that compile nothing still work
  assert.equal(sh('make', ['-n', 'clean'], { env: { ...process.env, PKG_CONFIG_LIBDIR: '/nonexistent' } }).status, 0);
});

test('the sources and unit tests compile without warnings (gcc and clang, the Makefile\'s flags)', () => {
  const pkgs = 'yaml-0.1 sqlite3 jansson yajl libpq odbc snappy zlib libzstd liblz4 libbrotlienc libcrypto libcurl libxxhash cmocka';
  const cflags = sh('pkg-config', ['--cflags', ...pkgs.split(' ')]).stdout.trim().split(/\s+/).filter(Boolean);
  const warn = ['-Wall', '-Wextra', '-Wshadow', '-Wno-unused-parameter', '-Wformat=2', '-Wno-format-nonliteral'];
  const files = readdirSync(join(ROOT, 'tests/unit')).filter((f) => /^test_.*\.c$/.test(f)).map((f) => `tests/unit/${f}`);
  assert.ok(files.length >= 10);
  for (const cc of ['gcc', 'clang'].filter(have)) {
    const r = sh(cc, ['-fsyntax-only', '-std=c11', '-D_GNU_SOURCE', '-Isrc', '-Iinclude', '-Itests/unit', ...warn, ...cflags,
      '-DBRONZE_VERSION="t"', '-DBRONZE_BUILD="t"', ...files]);
    assert.equal(r.status, 0, `${cc}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /warning:/, `${cc}: ${r.stderr}`);
  }
});

test('npm ci takes package-lock.json as it is (no fallback to npm install)', { skip: !have('npm') && 'npm not installed' }, () => {
  const dir = workdir('bf-npm-');
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  copyFileSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
  // --dry-run: npm checks the lock against package.json and plans the
  // install from the lock alone; nothing is fetched or written
  const r = sh('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, timeout: 120000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /in sync|EUSAGE|npm error/, r.stderr);
  assert.match(r.stdout, /added \d+ packages/);
  cleanup(dir);
});
