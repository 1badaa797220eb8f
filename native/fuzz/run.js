#!/usr/bin/env node
// run.js: npm run fuzz. Builds every libFuzzer target (Makefile; clang with
// ASan and UBSan), then runs each for FUZZ_SECONDS seconds (default 60) from
// its seed corpus, in a scratch copy so the repository's seeds stay as
// committed. Fails on any crash, sanitizer report or timeout; prints each
// target's executions.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const HERE = __dirname;
const OUT = path.join(HERE, '..', '..', 'build', 'native-fuzz');
const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
if (!Number.isInteger(seconds) || seconds < 1) {
  process.stderr.write(`fuzz: FUZZ_SECONDS must be a whole number of seconds, got "${process.env.FUZZ_SECONDS}"\n`);
  process.exit(2);
}

execFileSync('make', ['-s', '-C', HERE, `OUT=${OUT}`], { stdio: 'inherit' });
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
