// Commands that do not serve metrics never load prom-client or Node's HTTP
// server: they keep the CLI's start-up as it was. Every command
// but serve is run with a preloaded hook that records every module the
// process loaded; serve is the control that loads both, so the check can
// fail. The library's require('tcpcensus') and countStates load neither.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as h from '../../helpers/index';

const HOOK = path.join(h.FIXTURES, 'load-report.js');

interface LoadReport {
  files: string[];
  builtins: string[];
}

async function loaded(args: string[], { serve = false } = {}): Promise<LoadReport> {
  const dir = h.tempDir('tcpcensus-load-');
  try {
    const report = path.join(dir, 'report.json');
    const env = { TCPCENSUS_LOAD_REPORT: report };
    let r: { code: number | null; stderr: string | null };
    if (serve) {
      // serve runs until a signal: start it, wait for its line, stop it.
      const child = spawn(process.execPath, ['-r', HOOK, h.CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          if (/serving metrics/.test(String(d))) resolve();
        });
        child.once('exit', (code: number | null) => reject(new Error(`serve exited ${code}`)));
      });
      r = await new Promise<{ code: number | null; stderr: string | null }>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', (code: number | null, signal: string | null) => resolve({ code, stderr: signal }));
        child.kill('SIGTERM');
      });
    } else {
      r = await h.runNodeArgs(['-r', HOOK, ...args], { env });
    }
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(fs.readFileSync(report, 'utf8')) as LoadReport;
  } finally {
    h.removeTempDir(dir);
  }
}

const promClient = (l: LoadReport) => l.files.filter((f) => f.includes(`${path.sep}prom-client${path.sep}`));
const httpServer = (l: LoadReport) => l.builtins.filter((m) => m === 'http' || m === '_http_server');

test('every command but serve runs without loading prom-client or node:http', async () => {
  for (const args of [
    ['--version'],
    ['states'],
    ['top'],
    ['report'],
    ['list', '-s', 'listen'],
    ['explain'],
    ['watch', '--count', '1', '--interval', '10ms'],
  ]) {
    const l = await loaded([h.CLI, ...args]);
    assert.deepEqual(promClient(l), [], `tcpcensus ${args.join(' ')} loaded prom-client`);
    assert.deepEqual(httpServer(l), [], `tcpcensus ${args.join(' ')} loaded node:http`);
    // The CLI is one bundled file (commander inside it): the hook saw it load.
    assert.ok(l.files.includes(h.CLI), 'the hook saw the CLI load');
  }
  // The control: serve loads both.
  const s = await loaded(['serve', '--listen', '127.0.0.1:0'], { serve: true });
  assert.ok(promClient(s).length > 0, 'serve loads prom-client');
  assert.ok(httpServer(s).length > 0, 'serve loads node:http');
});

test('the library loads prom-client only when registerMetrics is called', async () => {
  const plain = await loaded(['-e', `require(${JSON.stringify(h.ROOT)}).countStates().then(() => {})`]);
  assert.deepEqual(promClient(plain), []);
  assert.deepEqual(httpServer(plain), []);
  const metrics = await loaded([
    '-e',
    `const tc = require(${JSON.stringify(h.ROOT)}); const { Registry } = require(require.resolve('prom-client', { paths: [${JSON.stringify(h.ROOT)}] })); tc.registerMetrics(new Registry());`,
  ]);
  assert.ok(promClient(metrics).length > 0);
  assert.ok(metrics.files.some((f) => f.endsWith(`${path.sep}dist${path.sep}metrics${path.sep}metrics.js`)));
});

// Start-up (the small-host budget: the whole CLI within `node -e 0` + 30 ms): the report and states load no
// Node module they do not use. commander's node:child_process, node:net for
// address parsing, node:fs/promises and node:perf_hooks each cost a few ms.
// stdout and stderr go to files: a pipe or a terminal makes Node itself load
// node:net.
test('the default report and states load neither child_process, net, fs/promises nor perf_hooks', () => {
  const unwanted = ['child_process', 'net', 'internal/fs/promises', 'perf_hooks'];
  for (const args of [[], ['states'], ['top', '-s', 'listen']]) {
    const dir = h.tempDir('tcpcensus-load-');
    try {
      const report = path.join(dir, 'report.json');
      const out = fs.openSync(path.join(dir, 'out'), 'w');
      const err = fs.openSync(path.join(dir, 'err'), 'w');
      const r = spawnSync(process.execPath, ['-r', HOOK, h.CLI, ...args], {
        env: { ...process.env, TCPCENSUS_LOAD_REPORT: report },
        stdio: ['ignore', out, err],
      });
      fs.closeSync(out);
      fs.closeSync(err);
      assert.equal(r.status, 0, fs.readFileSync(path.join(dir, 'err'), 'utf8'));
      const l = JSON.parse(fs.readFileSync(report, 'utf8')) as LoadReport;
      assert.ok(l.builtins.includes('fs'), 'the hook saw the builtins');
      assert.deepEqual(
        l.builtins.filter((m) => unwanted.includes(m)),
        [],
        `tcpcensus ${args.join(' ')}`,
      );
      assert.match(fs.readFileSync(path.join(dir, 'out'), 'utf8'), /total|LISTEN/, 'it printed its answer');
    } finally {
      h.removeTempDir(dir);
    }
  }
  // The control: an address filter loads node:net.
  const dir = h.tempDir('tcpcensus-load-');
  try {
    const report = path.join(dir, 'report.json');
    const r = spawnSync(process.execPath, ['-r', HOOK, h.CLI, 'states', '--dst', '127.0.0.1'], {
      env: { ...process.env, TCPCENSUS_LOAD_REPORT: report },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(JSON.parse(fs.readFileSync(report, 'utf8')).builtins.includes('net'), '--dst loads node:net');
  } finally {
    h.removeTempDir(dir);
  }
});
