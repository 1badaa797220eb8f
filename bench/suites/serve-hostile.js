#!/usr/bin/env node
// serve-hostile.js: `tcpcensus serve` under the attacks of issue 16, on
// loopback: the pipelining flood (connections that write 20,000 pipelined
// GET /metrics each and never read) and the slowloris (200 connections that
// drip a request header). Prints one JSON line per run: the exporter's peak
// RSS and fds, the scrapes of /metrics and /healthz answered once a second
// during the attack, /healthz after the attackers left, and how long SIGTERM
// took to end it (SIGKILL after 10 s).
//
//   npm run build && node bench/suites/serve-hostile.js flood [connections] [seconds]
//   node bench/suites/serve-hostile.js flood-term [connections]   # SIGTERM during the flood
//   node bench/suites/serve-hostile.js slowloris [connections] [seconds]
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const a = require('../../harness/serve-attacks');

// TCPCENSUS_CLI: another build to measure (e.g. a copy of the tree before).
const CLI = process.env.TCPCENSUS_CLI ?? path.join(__dirname, '..', '..', 'dist', 'cli.js');

function startServe(args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      err += `${line}\n`;
      const m = /serving metrics on (http:\/\/[^ ]+)\/metrics$/.exec(line);
      if (m) resolve({ url: m[1], port: Number(new URL(m[1]).port), child, stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

/** Sends SIGTERM; resolves {ms, code, signal}, with SIGKILL after 10 s. */
function term(child) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const kill = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.once('exit', (code, signal) => {
      clearTimeout(kill);
      resolve({ ms: Date.now() - t0, code, signal });
    });
    child.kill('SIGTERM');
  });
}

const mb = (b) => Math.round(b / 1048576);

async function main() {
  const [scenario = 'flood', n, secs] = process.argv.slice(2);
  const srv = await startServe();
  await a.scrape(`${srv.url}/metrics`); // warm: the first sample and the addon loaded
  const base = a.usage(srv.child.pid);
  const out = { scenario, before: { rssMB: mb(base.rss), fds: base.fds } };
  const watch = a.watchUsage(srv.child.pid);
  if (scenario === 'flood' || scenario === 'flood-term') {
    const connections = Number(n ?? 1);
    const seconds = Number(secs ?? 10);
    const flood = await a.pipeliningFlood(srv.port, { connections });
    out.connections = connections;
    out.sentKB = Math.round(flood.bytes / 1024);
    if (scenario === 'flood-term') {
      await a.sleep(2000);
      out.term = await term(srv.child);
      flood.stop();
    } else {
      const metrics = a.scrapeEvery(`${srv.url}/metrics`);
      const health = a.scrapeEvery(`${srv.url}/healthz`);
      await a.sleep(seconds * 1000);
      out.during = { metrics: await metrics.stop(), healthz: await health.stop() };
      flood.stop();
      await a.sleep(1000);
      const after = [];
      for (let i = 0; i < 5; i++) after.push((await a.scrape(`${srv.url}/healthz`)).status ?? 'failed');
      out.healthzAfter = after;
      out.term = await term(srv.child);
    }
  } else if (scenario === 'slowloris') {
    const connections = Number(n ?? 200);
    const seconds = Number(secs ?? 20);
    const loris = a.slowloris(srv.port, { connections });
    await a.sleep(1000);
    const metrics = a.scrapeEvery(`${srv.url}/metrics`);
    await a.sleep(seconds * 1000);
    out.connections = connections;
    out.during = { metrics: await metrics.stop() };
    out.attack = await loris.stop();
    out.term = await term(srv.child);
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
  const peak = watch.stop();
  out.peak = { rssMB: mb(peak.rss), fds: peak.fds };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
