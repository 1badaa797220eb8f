// The package as a new user meets it: a fresh clone installs without
// changing the lock file, ships its LICENSE, exports every public type,
// leaves no temporary directory behind after its tests, and its README
// states what the code does (JSON keys, what npm test needs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import * as h from '../../helpers/index';

const read = (f: string) => fs.readFileSync(path.join(h.ROOT, f), 'utf8');
const pkg = JSON.parse(read('package.json'));

test('package-lock.json records the dependencies package.json asks for (npm install leaves a clone clean)', () => {
  const lock = JSON.parse(read('package-lock.json'));
  const root = lock.packages[''];
  for (const field of ['dependencies', 'devDependencies']) assert.deepEqual(root[field], pkg[field], field);
  assert.equal(root.name, pkg.name);
  assert.equal(root.version, pkg.version);
  assert.equal(root.license, pkg.license);
});

test('the MIT licence the package declares is in a LICENSE file that npm packs', () => {
  assert.equal(pkg.license, 'MIT');
  const text = read('LICENSE');
  assert.match(text, /^MIT License\n\nCopyright \(c\) \d{4} /);
  assert.match(text, /Permission is hereby granted, free of charge/);
  const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: h.ROOT }).toString());
  assert.ok(
    packed[0].files.some((f: { path: string }) => f.path === 'LICENSE'),
    'LICENSE in the tarball',
  );
});

test('every public type is exported from the package root; state records are keyed by StateName', () => {
  const tsc = path.join(h.ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--target',
      'es2022',
      '--module',
      'commonjs',
      '--moduleResolution',
      'node',
      '--types',
      'node',
      path.join(h.FIXTURES, 'public-types.ts'),
    ],
    { cwd: h.ROOT },
  );
  assert.equal(r.status, 0, r.stdout.toString() + r.stderr.toString());
});

const MAKES_DIRS =
  'main thread exited|--proc|sandbox refusing netlink|a procRoot that is not procfs|Ctrl-C, a signal and a crash|BTF|promtool|systemd-analyze|without loading prom-client';

test('tests leave no temporary directory behind', () => {
  // Every test file that makes temporary directories, run with a TMPDIR of
  // its own: afterwards that directory must be empty again. Their before()
  // and after() hooks always run; of their tests, those that make
  // directories (the rest only cost time on a shared machine).
  const integration = path.join(h.ROOT, 'test', 'integration');
  const files = fs
    .readdirSync(integration, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts') && path.join(integration, f) !== __filename)
    .filter((f) => /mkdtemp|tempDir\(/.test(fs.readFileSync(path.join(integration, f), 'utf8')));
  assert.ok(files.length >= 1, `only ${files}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpcensus-tmpcheck-'));
  try {
    // Without NODE_TEST_CONTEXT the child is a test runner of its own, not
    // a subtest reporter of this one.
    // tsx's cache would live in TMPDIR (os.tmpdir()): off, so what is left is the tests'.
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, TSX_DISABLE_CACHE: '1' };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-concurrency=1',
        '--test-reporter=tap',
        `--test-name-pattern=${MAKES_DIRS}`,
        ...files.map((f) => path.join(integration, f)),
      ],
      { env, cwd: h.ROOT, maxBuffer: 1 << 26 },
    );
    const out = r.stdout.toString();
    assert.equal(
      r.status,
      0,
      `${files.join(' ')} failed:\n${out
        .split('\n')
        .filter((l) => /^not ok|error/.test(l))
        .join('\n')}`,
    );
    assert.ok(Number(/^# pass (\d+)$/m.exec(out)?.[1]) >= files.length, `the tests did not run:\n${out.slice(-500)}`);
    assert.deepEqual(fs.readdirSync(tmp), [], `left behind in TMPDIR by ${files.join(', ')}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// The docs' key lists (README.md and docs/*.md, wherever the line now
// lives), e.g. `{"total", "states": {STATE: count}, ...}`: the top-level
// keys, nested groups dropped.
function docsKeys(label: string): string[] {
  const line = h
    .docsText()
    .split('\n')
    .find((l) => l.startsWith(`- \`${label}\`:`));
  assert.ok(line, `the docs have no JSON line for ${label}`);
  let body = /`(\{.*\})`/.exec(line)![1]!.slice(1, -1);
  for (let prev; prev !== body;) {
    prev = body;
    body = body.replace(/\{[^{}[\]]*\}|\[[^{}[\]]*\]/g, '');
  }
  return [...body.matchAll(/"(\w+)"/g)].map((m) => m[1]!);
}

test("the docs' JSON contracts list the keys the CLI prints, in order", async () => {
  const json = async (args: string[]) => {
    const r = await h.runCli([...args, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  assert.deepEqual(Object.keys(await json(['states'])), docsKeys('states --json'));
  assert.deepEqual(Object.keys(await json(['top'])), docsKeys('top --json'));
  assert.deepEqual(Object.keys((await json(['list', '-s', 'listen']))[0]), docsKeys('list --json'));
  assert.deepEqual(Object.keys(await json(['report'])), ['states', 'top', 'topFallback']);
  assert.match(h.docsText(), /^- `report --json`: `\{"states": <states json>, "top": <top json>, "topFallback"\}`/m);
  const watch = await h.runCli(['watch', '--json', '--count', '1', '-s', 'listen']);
  assert.equal(watch.code, 0, watch.stderr);
  assert.deepEqual(Object.keys(JSON.parse(watch.stdout)), docsKeys('watch --json'));
});

test('the docs say what npm test needs', () => {
  // README.md's "## Development" or docs/development.md's "# Development".
  const dev = h.docsText().split(/^#{1,2} Development$/m)[1];
  assert.ok(dev, 'the docs have a Development section');
  const needs = /`npm test` needs ([^\n]*(?:\n(?!\n)[^\n]*)*)/.exec(dev);
  assert.ok(needs, 'a sentence starting "`npm test` needs"');
  for (const word of ['root', '`ss`', '`ip`', '`cc`', '`python3`', '`setpriv`', '`script`', '`mount`', '`tmux`']) {
    assert.ok(needs[1]!.includes(word), `docs: npm test needs ${word}`);
  }
});
