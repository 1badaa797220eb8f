// The lint gate catches import cycles: import-x/no-cycle, run through the
// repo's own eslint.config.mjs with the ESLint Node API, on a pair of files
// that import each other (and not on the same pair without the back edge),
// and on a cycle closed inside src/ with type information on; and
// scripts/check-cycles.js on the cycles import-x never follows (a type-only
// import, CommonJS require()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.join(__dirname, '..', '..');
const CONFIG = path.join(ROOT, 'eslint.config.mjs');
const CHECK_CYCLES = path.join(ROOT, 'scripts', 'check-cycles.js');

/** A temporary tree of files (relative path -> text), removed after fn. */
async function withTree(files: Record<string, string>, fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tcpcensus-lint-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each linted file (relative to cwd) -> the import-x/no-cycle messages it got. */
function cycleMessages(results: ESLint.LintResult[], cwd: string): Map<string, string[]> {
  return new Map(
    results.map((r) => [path.relative(cwd, r.filePath), r.messages.filter((m) => m.ruleId === 'import-x/no-cycle').map((m) => m.message)]),
  );
}

const A = "import { b } from './b';\nexport const a = (): number => b() + 1;\n";
const B_BACK = "import { a } from './a';\nexport const b = (): number => a.length;\n";
const B_LEAF = 'export const b = (): number => 1;\n';

test('import-x/no-cycle in eslint.config.mjs reports both files of a two-file cycle, and nothing once the back edge is gone', async () => {
  await withTree({ 'test/a.ts': A, 'test/b.ts': B_BACK, 'test/leaf/a.ts': A, 'test/leaf/b.ts': B_LEAF }, async (dir) => {
    const eslint = new ESLint({ cwd: dir, overrideConfigFile: CONFIG });
    const found = cycleMessages(await eslint.lintFiles(['test']), dir);
    assert.deepEqual(found.get('test/a.ts'), ['Dependency cycle detected']);
    assert.deepEqual(found.get('test/b.ts'), ['Dependency cycle detected']);
    assert.deepEqual(found.get('test/leaf/a.ts'), []);
    assert.deepEqual(found.get('test/leaf/b.ts'), []);
  });
});

test('a cycle closed inside src/ (errors.ts importing the addon loader, which imports errors.ts) fails lint with types on', async () => {
  const eslint = new ESLint({ cwd: ROOT });
  const file = path.join(ROOT, 'src', 'errors.ts');
  const text = readFileSync(file, 'utf8');
  const [clean] = await eslint.lintText(text, { filePath: file });
  assert.ok(clean);
  assert.deepEqual(cycleMessages([clean], ROOT).get('src/errors.ts'), []);
  const [cyclic] = await eslint.lintText(`${text}\nimport { native } from './core/addon';\nexport const threads = native.maxThreads;\n`, {
    filePath: file,
  });
  assert.ok(cyclic);
  assert.deepEqual(cycleMessages([cyclic], ROOT).get('src/errors.ts'), ['Dependency cycle detected']);
});

test('scripts/check-cycles.js fails on a type-only cycle and a require() cycle, which import-x/no-cycle does not follow', async () => {
  const files = {
    'test/types/a.ts': "import type { B } from './b';\nexport interface A { b?: B }\n",
    'test/types/b.ts': "import type { A } from './a';\nexport interface B { a?: A }\n",
    'test/cjs/c.js': "'use strict';\nconst { d } = require('./d');\nmodule.exports = { c: () => d() };\n",
    'test/cjs/d.js': "'use strict';\nconst { c } = require('./c');\nmodule.exports = { d: () => c };\n",
  };
  await withTree(files, async (dir) => {
    const eslint = new ESLint({ cwd: dir, overrideConfigFile: CONFIG });
    const found = cycleMessages(await eslint.lintFiles(['test']), dir);
    assert.deepEqual(
      [...found.values()].flat(),
      [],
      'import-x is expected to miss these two cycles (if it now finds them, say so in eslint.config.mjs)',
    );

    const run = () => execFileSync(process.execPath, [CHECK_CYCLES, path.join(dir, 'test')], { encoding: 'utf8', stdio: 'pipe' });
    assert.throws(run, (err: { status: number; stderr: string }) => {
      assert.equal(err.status, 1);
      const lines = err.stderr.trim().split('\n').sort();
      assert.equal(lines.length, 2);
      assert.match(lines[0]!, /^import cycle: .*test\/cjs\/(c|d)\.js -> .*test\/cjs\/(c|d)\.js -> .*test\/cjs\/(c|d)\.js$/);
      assert.match(lines[1]!, /^import cycle: .*test\/types\/(a|b)\.ts -> .*test\/types\/(a|b)\.ts -> .*test\/types\/(a|b)\.ts$/);
      return true;
    });
  });
});

test('scripts/check-cycles.js passes on the repo as it is', () => {
  const out = execFileSync(process.execPath, [CHECK_CYCLES], { encoding: 'utf8' });
  assert.match(out, /^no import cycle among \d+ files$/m);
});
