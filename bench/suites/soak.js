// soak.js: many calls in one process (npm run bench -- --soak). A service
// samples for weeks: after a warm-up, 10,000 more topProcesses calls must
// leave the open fd count unchanged and RSS within 10% (issues 8 and 16).
//
//   npm run bench -- --soak [--calls 10000] [--warmup 1000] [--sockets 2000]
//
// A holder process keeps --sockets CLOSE_WAIT sockets (and their orphaned
// FIN_WAIT2 peers) so every call dumps and walks for real. The async and the
// Sync form are soaked in turn, each with both owner sources (auto, which is
// the eBPF iterator as root, and owners: 'proc'); the figures go to
// bench/results/results-soak.json and
// docs/performance.md's soak section. RSS is compared as medians over the first and
// the last 1,000 calls after the warm-up (see soak()).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const tc = require('../..');
const { startHolder } = require('../../harness/holder');

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const rssMb = () => process.memoryUsage().rss / 2 ** 20;

// RSS floats with the garbage collector's phase (results are freed when V8
// collects them), so growth compares medians of RSS sampled every 50 calls
// over the first and the last 1,000 calls, not two single readings.
const SAMPLE_EVERY = 50;
const WINDOW = 1000 / SAMPLE_EVERY;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function soak(name, call, calls, warmup) {
  let source;
  for (let i = 0; i < warmup; i++) source = (await call()).ownerSource;
  const fdsBefore = openFds();
  const rss = [];
  const t = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const top = await call();
    if (top.owned + top.unowned + top.unattributed !== top.total) throw new Error(`${name} call ${i} does not add up`);
    source = top.ownerSource;
    if (i % SAMPLE_EVERY === 0) rss.push(rssMb());
  }
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const fdsAfter = openFds();
  const window = Math.min(WINDOW, Math.max(1, Math.floor(rss.length / 2)));
  const before = { fds: fdsBefore, rssMb: median(rss.slice(0, window)) };
  const after = { fds: fdsAfter, rssMb: median(rss.slice(-window)) };
  const r = {
    name,
    ownerSource: source,
    calls,
    warmup,
    seconds,
    before,
    after,
    peakRssMb: Math.max(...rss),
    fdsChanged: after.fds - before.fds,
    rssGrowthPct: ((after.rssMb - before.rssMb) / before.rssMb) * 100,
  };
  r.met = r.fdsChanged === 0 && r.rssGrowthPct < 10;
  process.stderr.write(
    `soak: ${name} (${source}): ${calls} calls in ${seconds.toFixed(1)} s; fds ${before.fds} -> ${after.fds}; ` +
      `median RSS ${before.rssMb.toFixed(1)} -> ${after.rssMb.toFixed(1)} MB (${r.rssGrowthPct.toFixed(1)}%, peak ${r.peakRssMb.toFixed(1)} MB)\n`,
  );
  return r;
}

function render(results) {
  const lines = [
    `${results.sockets.toLocaleString('en-US')} CLOSE_WAIT sockets held, ${results.calls.toLocaleString('en-US')} calls after ${results.warmup.toLocaleString('en-US')} warm-up calls, Node ${process.version}`,
    '',
    '| form | owner source | time | open fds before -> after | median RSS, first -> last 1,000 calls | RSS growth | peak RSS | met |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | :---: |',
  ];
  for (const r of results.runs) {
    lines.push(
      `| ${r.name} | ${r.ownerSource} | ${r.seconds.toFixed(1)} s | ${r.before.fds} -> ${r.after.fds} | ${r.before.rssMb.toFixed(1)} -> ${r.after.rssMb.toFixed(1)} MB | ` +
        `${r.rssGrowthPct.toFixed(1)}% | ${r.peakRssMb.toFixed(1)} MB | ${r.met ? 'yes' : '**no**'} |`,
    );
  }
  return lines.join('\n');
}

async function runSoak({ calls = 10000, sockets = 2000, warmup = 1000, owners = ['auto', 'proc'], sync = true } = {}) {
  const holder = await startHolder('tc-soak-holder', sockets);
  try {
    const runs = [];
    for (const o of owners) {
      const opts = { states: ['CLOSE_WAIT'], owners: o };
      runs.push(await soak('topProcesses (async)', () => tc.topProcesses(opts), calls, warmup));
    }
    for (const o of sync ? owners : []) {
      const opts = { states: ['CLOSE_WAIT'], owners: o };
      runs.push(await soak('topProcessesSync', async () => tc.topProcessesSync(opts), calls, warmup));
    }
    const results = { date: new Date().toISOString(), sockets, calls, warmup, runs };
    fs.writeFileSync(path.join(__dirname, '..', 'results', 'results-soak.json'), JSON.stringify(results, null, 2) + '\n');
    return { results, table: render(results), met: runs.every((r) => r.met) };
  } finally {
    await holder.stop();
  }
}

module.exports = { runSoak };
