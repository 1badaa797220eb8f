// job.js: one library call in a fresh process, for the benchmark.
//   node bench/job.js count|top [threads]
// Prints {"ms", "maxRssKb", "result"}: ms is the call alone (the library's
// own work, module loading excluded), maxRssKb the peak RSS of this process.
'use strict';
const { performance } = require('node:perf_hooks');
const tc = require('..');

async function main() {
  const [job, threads] = process.argv.slice(2);
  const t = performance.now();
  let result;
  if (job === 'count') result = await tc.countStates();
  else if (job === 'top') result = await tc.topProcesses(threads ? { threads: Number(threads) } : {});
  else throw new Error(`unknown job ${job}`);
  const ms = performance.now() - t;
  process.stdout.write(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, result }) + '\n');
}
main().catch((err) => {
  process.stderr.write(`job: ${err.stack}\n`);
  process.exit(1);
});
