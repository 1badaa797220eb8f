// sampler.js: the sampler part of the benchmark (npm run bench; alone with
// npm run bench -- --sampler).
//
// On a running farm, every holder replaces 2% of its sockets every second
// (farm.churn), and a sampler (sampler-job.js, in a fresh process) takes a
// sample a second with owners, CLOSE_WAIT attributed and every state
// counted, each followed by a bare countStates of the same states. Reported:
// the cold sample (a full attribution, the first), the median steady-state
// sample (incremental) against the median countStates of the same run, with
// the walk as the owner source (owners 'proc') and with 'auto', wall and
// CPU time. The answers are checked: the top rows against the farm's truth,
// the totals against countStates.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const JOB = path.join(__dirname, 'sampler-job.js');
const LIMIT = 1.3;

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function runJob(owners, samples) {
  return JSON.parse(
    execFileSync(process.execPath, [JOB, owners, String(samples)], { maxBuffer: 1 << 26 })
      .toString()
      .trim()
      .split('\n')
      .pop(),
  );
}

// The top rows must name the farm's CLOSE_WAIT holders with their counts,
// give or take the replacements in flight (a socket being replaced is
// briefly neither).
function check(r, truth, owners) {
  const want = new Map(Object.entries(truth.closeWaitByPid).map(([pid, n]) => [Number(pid), n]));
  const got = new Map(r.top.map((x) => [x.pid, x]));
  for (const [pid, n] of want) {
    const row = got.get(pid);
    if (!row) throw new Error(`sampler (${owners}): holder ${pid} (${truth.commandByPid[pid]}, ${n} CLOSE_WAIT) missing from the top rows`);
    if (row.command !== truth.commandByPid[pid]) throw new Error(`sampler (${owners}): pid ${pid} is ${row.command}, not ${truth.commandByPid[pid]}`);
    if (Math.abs(row.count - n) > Math.max(3, n * 0.03))
      throw new Error(`sampler (${owners}): pid ${pid} holds ${row.count} CLOSE_WAIT, the farm made ${n}`);
  }
  // Other processes of a shared host may hold CLOSE_WAIT too: reported, not checked.
  r.foreign = r.top.filter((x) => !want.has(x.pid));
  r.samples.forEach((s, k) => {
    const c = r.counts[k].total;
    if (Math.abs(s.total - c) > Math.max(50, c * 0.01))
      throw new Error(`sampler (${owners}): sample ${s.seq} counted ${s.total}, countStates right after ${c}`);
  });
}

function summarize(r) {
  const steady = r.samples.slice(1);
  const counts = r.counts.slice(1);
  const att = (k) => median(steady.map((s) => s.attribution[k]));
  return {
    coldMs: r.samples[0].ms,
    coldCpuMs: r.samples[0].cpuMs,
    steadyMs: median(steady.map((s) => s.ms)),
    steadyMeanMs: mean(steady.map((s) => s.ms)),
    steadyMaxMs: Math.max(...steady.map((s) => s.ms)),
    steadyCpuMs: median(steady.map((s) => s.cpuMs)),
    steadyMeanCpuMs: mean(steady.map((s) => s.cpuMs)),
    countMs: median(counts.map((c) => c.ms)),
    countMeanMs: mean(counts.map((c) => c.ms)),
    countCpuMs: median(counts.map((c) => c.cpuMs)),
    countMeanCpuMs: mean(counts.map((c) => c.cpuMs)),
    lookupMs: att('lookupMs'),
    fullInSteady: steady.filter((s) => s.attribution.full).length,
    lookedUp: att('lookedUp'),
    probed: att('probed'),
    walkedProcesses: att('walkedProcesses'),
    pending: att('pending'),
    cached: att('cached'),
    skipped: steady.reduce((a, s) => a + s.skipped, 0),
    samples: r.samples.length,
    source: r.samples[0].attribution.source,
    foreignRows: r.foreign.length,
  };
}

/** Runs the sampler bench on a running farm; resolves with {results, table, met}. */
async function runSamplerBench({ farm, samples = 20, fraction = 0.02, log = () => {} }) {
  log(`sampler: every holder replaces ${fraction * 100}% of its sockets a second`);
  await farm.churn(fraction);
  try {
    await new Promise((r) => setTimeout(r, 3000)); // let the churn settle
    const results = {};
    for (const owners of ['proc', 'auto']) {
      log(`sampler: ${samples} samples, owners ${owners}`);
      const r = runJob(owners, samples);
      check(r, farm.truth, owners);
      results[owners] = summarize(r);
      log(`sampler: owners ${owners}: ${JSON.stringify(results[owners])}`);
    }
    const targets = Object.entries(results)
      .flatMap(([owners, s]) => [
        { name: `steady-state sample with owners (owners '${owners}') vs countStates, medians`, value: s.steadyMs / s.countMs },
        { name: `the same, means (wide walks spread in)`, value: s.steadyMeanMs / s.countMeanMs },
      ])
      .map((t) => ({ ...t, limit: LIMIT, met: t.value <= LIMIT }));
    return { results, targets, met: targets.every((t) => t.met) };
  } finally {
    await farm.churn(0);
  }
}

function renderSampler(r, header) {
  const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
  const lines = [header, ''];
  lines.push(
    '| owners | source | cold sample (full attribution) | steady sample: median, mean, max | of it looking up owners (median) | countStates: median, mean | CPU, median: steady sample / countStates | looked up / probed / walked processes / pending per sample (median) |',
  );
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [owners, s] of Object.entries(r.results)) {
    lines.push(
      `| ${owners} | ${s.source} | ${ms(s.coldMs)} | ${ms(s.steadyMs)}, ${ms(s.steadyMeanMs)}, ${ms(s.steadyMaxMs)} | ${ms(s.lookupMs)} | ${ms(s.countMs)}, ${ms(s.countMeanMs)} | ${ms(s.steadyCpuMs)} / ${ms(s.countCpuMs)} | ${s.lookedUp} / ${s.probed} / ${s.walkedProcesses} / ${s.pending} |`,
    );
  }
  lines.push('');
  lines.push('| target | measured | limit | met |');
  lines.push('| --- | ---: | ---: | :---: |');
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.value.toFixed(2)}x | <= ${t.limit}x | ${t.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

module.exports = { runSamplerBench, renderSampler };
