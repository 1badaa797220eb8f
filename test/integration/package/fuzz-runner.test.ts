// npm run fuzz (native/fuzz/run.js) on a machine that lacks the tools: one
// line saying what to install and exit 1, never a Node stack trace. Run
// with a PATH of its own, a directory of links to the real node, make, sh
// and mkdir (everything the build needs but the compiler); for a clang++
// that cannot link libFuzzer, a clang++ there that fails as such a one does.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as h from '../../helpers/index';

const RUN = path.join(h.ROOT, 'native', 'fuzz', 'run.js');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) h.removeTempDir(d);
});

// The first `name` on this test's own PATH.
function which(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const f = path.join(dir, name);
    if (fs.existsSync(f)) return fs.realpathSync(f);
  }
  throw new Error(`${name} is not on PATH`);
}

function binDir(tools: string[]): string {
  const dir = h.tempDir('tcpcensus-fuzz-path-');
  dirs.push(dir);
  for (const t of tools) fs.symlinkSync(t === 'node' ? process.execPath : which(t), path.join(dir, t));
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(bin: string, env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [RUN], { env: { PATH: bin, FUZZ_SECONDS: '1', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLine(r: Run, re: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(r.stderr, /node:internal|Error: Command failed/);
  const mine = r.stderr.split('\n').filter((l) => l.startsWith('tcpcensus:'));
  assert.equal(mine.length, 1, r.stderr);
  assert.match(mine[0]!, re);
  assert.equal(r.stdout, '');
}

test('fuzz without clang++ on PATH: one line naming what to install, exit 1', () => {
  const bin = binDir(['node', 'make', 'sh', 'mkdir']);
  const r = run(bin);
  assertOneLine(r, /^tcpcensus: fuzzing needs clang\+\+ \(libFuzzer, ASan, UBSan\), not found on PATH: apt-get install clang$/);
  assert.equal(r.stderr, `${r.stderr.split('\n')[0]}\n`, 'nothing else on stderr');
});

test('fuzz without make on PATH: one line, exit 1', () => {
  const bin = binDir(['node']);
  fs.writeFileSync(path.join(bin, 'clang++'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  assertOneLine(run(bin), /^tcpcensus: fuzzing needs make, not found on PATH: apt-get install make$/);
});

test('fuzz with a clang++ that cannot build the targets: its messages, then one line of ours, exit 1', () => {
  const bin = binDir(['node', 'make', 'sh', 'mkdir']);
  // As clang without compiler-rt fails: the link step cannot find the fuzzer runtime.
  fs.writeFileSync(path.join(bin, 'clang++'), '#!/bin/sh\necho "/usr/bin/ld: cannot find libclang_rt.fuzzer.a" >&2\nexit 1\n', { mode: 0o755 });
  const out = h.tempDir('tcpcensus-fuzz-out-');
  dirs.push(out);
  const r = run(bin, { FUZZ_OUT: out });
  assertOneLine(r, /^tcpcensus: building the fuzzers failed \(make -C native\/fuzz exited 2\): see the compiler's messages above/);
  assert.match(r.stderr, /cannot find libclang_rt\.fuzzer\.a/, "the compiler's own message is shown");
});

test('fuzz with a bad FUZZ_SECONDS: one line, exit 2', () => {
  const r = run(binDir(['node']), { FUZZ_SECONDS: 'ten' });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'tcpcensus: FUZZ_SECONDS must be a whole number of seconds, got "ten"\n');
});
