// job.js: one library call in a fresh process, for the benchmark.
//   node bench/suites/job.js count|top|snapshot|snapshotSync [key=value ...]
// keys: threads=N, owners=auto|bpf|proc, source=auto|netlink|procfs,
// states=a,b (snapshot: default all). Prints {"ms", "maxRssKb", "result"}:
// ms is the call alone (the library's own work, module loading excluded),
// maxRssKb the peak RSS of this process. A snapshot's result is its length.
'use strict';
const { performance } = require('node:perf_hooks');
const tc = require('../..');

function options(pairs) {
  const o = {};
  for (const p of pairs) {
    const [k, v] = p.split('=');
    if (k === 'threads') o.threads = Number(v);
    else if (k === 'owners' || k === 'source') o[k] = v;
    else if (k === 'states') o.states = v.split(',');
    else throw new Error(`unknown job option ${p}`);
  }
  return o;
}

async function main() {
  const [job, ...rest] = process.argv.slice(2);
  const o = options(rest);
  const t = performance.now();
  let result;
  if (job === 'count') result = await tc.countStates(o);
  else if (job === 'top') result = await tc.topProcesses(o);
  else if (job === 'snapshot') result = { length: (await tc.snapshot({ states: ['all'], ...o })).length };
  else if (job === 'snapshotSync') result = { length: tc.snapshotSync({ states: ['all'], ...o }).length };
  else throw new Error(`unknown job ${job}`);
  const ms = performance.now() - t;
  process.stdout.write(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, result }) + '\n');
}
main().catch((err) => {
  process.stderr.write(`job: ${err.stack}\n`);
  process.exit(1);
});
