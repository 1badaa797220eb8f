#!/usr/bin/env node
// run.js: npm run fuzz. Builds every libFuzzer target (Makefile; clang with
// ASan and UBSan), then runs each for FUZZ_SECONDS seconds (default 60) from
// its seed corpus, in a scratch copy so the repository's seeds stay as
// committed. Fails on any crash, sanitizer report or timeout; prints each
// target's executions. Without clang++ or make on PATH it says in one line
// what to install and exits 1 (the machine lacks a tool: nothing the caller
// typed was wrong, so not 2), rather than dying in a Node stack trace.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const HERE = __dirname;
// FUZZ_OUT: where the targets are built (a test builds in a scratch directory).
const OUT = process.env.FUZZ_OUT || path.join(HERE, '..', '..', 'build', 'native-fuzz');
const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
if (!Number.isInteger(seconds) || seconds < 1) {
  process.stderr.write(`tcpcensus: FUZZ_SECONDS must be a whole number of seconds, got "${process.env.FUZZ_SECONDS}"\n`);
  process.exit(2);
}

// The first executable called `name` on PATH, as execvp(3) would find it.
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const file = path.join(dir || '.', name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

function die(message) {
  process.stderr.write(`tcpcensus: ${message}\n`);
  process.exit(1);
}

// The Makefile's compiler (CXX := clang++: libFuzzer ships with clang, not gcc).
if (!onPath('clang++')) die('fuzzing needs clang++ (libFuzzer, ASan, UBSan), not found on PATH: apt-get install clang');
if (!onPath('make')) die('fuzzing needs make, not found on PATH: apt-get install make');

// The compiler's own messages are on stderr already (stdio inherited); a
// failed build adds one line, not a stack trace.
const built = spawnSync('make', ['-s', '-C', HERE, `OUT=${OUT}`], { stdio: 'inherit' });
if (built.error) die(`cannot run make: ${built.error.message}`);
if (built.status !== 0) die(`building the fuzzers failed (make -C native/fuzz exited ${built.status ?? built.signal}): see the compiler's messages above; clang++ needs libFuzzer (apt-get install clang)`);
const targets = execFileSync('make', ['-s', '-C', HERE, 'targets']).toString().trim().split(/\s+/);
let failed = 0;
for (const t of targets) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `tcpcensus-fuzz-${t}-`));
  try {
    const seeds = path.join(HERE, 'corpus', t);
    const artifacts = path.join(scratch, 'artifacts') + path.sep;
    fs.mkdirSync(artifacts);
    const r = spawnSync(path.join(OUT, `fuzz_${t}`), [
      `-max_total_time=${seconds}`, '-print_final_stats=1', '-timeout=10', '-rss_limit_mb=2048',
      `-artifact_prefix=${artifacts}`, scratch, seeds,
    ], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const execs = /stat::number_of_executed_units:\s*(\d+)/.exec(r.stderr)?.[1] ?? '?';
    const ok = r.status === 0;
    if (!ok) {
      failed++;
      process.stderr.write(r.stderr.split('\n').slice(-40).join('\n') + '\n');
      for (const a of fs.readdirSync(artifacts)) {
        const keep = path.join(HERE, '..', '..', 'build', `fuzz-crash-${t}-${a}`);
        fs.copyFileSync(path.join(artifacts, a), keep);
        process.stderr.write(`fuzz: ${t}: crashing input kept in ${keep}\n`);
      }
    }
    process.stdout.write(`${ok ? 'ok' : 'not ok'} - fuzz_${t}: ${seconds} s, ${execs} executions\n`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
