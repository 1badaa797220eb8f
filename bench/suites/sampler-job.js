// sampler-job.js: a sampler in a fresh process, for the benchmark
// (sampler.js runs it while the farm churns).
//
//   node bench/suites/sampler-job.js <owners: proc|auto> <samples> [intervalMs]
//
// Takes `samples` samples (processes: true, CLOSE_WAIT attributed, every
// state counted) one interval apart; right after each one, a bare
// countStates() of the same states, so both meet the same host in the same
// second. Prints one JSON line: per sample its time, CPU time (this process,
// every thread: the walk's too) and attribution, and the same for each
// countStates; then the last sample's top rows.
'use strict';
const { performance } = require('node:perf_hooks');
const tc = require('../..');

async function main() {
  const [owners, samplesArg, intervalArg = '1000'] = process.argv.slice(2);
  const samples = Number(samplesArg);
  const sampler = tc.createSampler({ interval: Number(intervalArg), processes: true, owners, limit: 50 });
  const out = { samples: [], counts: [], top: null };
  const cpuMs = (c) => (c.user + c.system) / 1000;
  // A warm-up countStates so neither side pays for loading anything.
  await tc.countStates();
  // The process is idle between a countStates and the next sample (the
  // sampler waits for its tick), so the CPU time in between is the sample's.
  let mark = process.cpuUsage();
  for await (const s of sampler) {
    const sampleCpu = cpuMs(process.cpuUsage(mark));
    out.samples.push({
      seq: s.seq,
      ms: s.tookMs,
      cpuMs: sampleCpu,
      attribution: s.attribution,
      skipped: s.skipped,
      total: s.total,
      closeWait: s.states.CLOSE_WAIT,
    });
    out.top = s.top.rows.map((r) => ({ pid: r.pid, command: r.command, count: r.count }));
    out.unattributed = s.top.unattributed;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const c = await tc.countStates();
    out.counts.push({ ms: performance.now() - t0, cpuMs: cpuMs(process.cpuUsage(c0)), total: c.total });
    mark = process.cpuUsage();
    if (s.seq >= samples) break;
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(`sampler-job: ${err.stack}\n`);
  process.exit(1);
});
