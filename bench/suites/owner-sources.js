#!/usr/bin/env node
// owner-sources.js: the two owner sources side by side through the raw
// binding, in one process, runs alternated: the dump alone, the dump with
// owners from the eBPF iterator, the dump with owners from the /proc walk.
// The owner join is (dump + owners) - dump. A quick check at the sockets the
// host has now; with --farm N it first builds a socket farm (harness/farm.js:
// minutes and a lot of CPU) and tears it down afterwards.
//
//   npm run build && node bench/suites/owner-sources.js [--rounds 7] [--states close-wait|all|both] [--farm 200000]
'use strict';
const { native } = require('../../dist/core/addon');

const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
}
const rounds = Number(opt('--rounds', 7));
const stateArg = opt('--states', 'close-wait');
const stateSets = stateArg === 'both' ? [1 << 8, 0xffe] : [stateArg === 'all' ? 0xffe : 1 << 8];
const farmSize = Number(opt('--farm', 0));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn) {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, r };
}

async function main() {
  let farm;
  if (farmSize > 0) {
    const { startFarm } = require('../../harness/farm');
    process.stderr.write(`building a farm of ${farmSize} sockets...\n`);
    farm = await startFarm({ sockets: farmSize });
  }
  try {
    for (const states of stateSets) await measure(states);
  } finally {
    if (farm) await farm.stop();
  }
}

async function measure(states) {
  {
    const kinds = {
      dump: () => native.sample({ states }),
      bpf: () => native.sample({ states, owners: true, ownerSource: 'bpf' }),
      proc: () => native.sample({ states, owners: true, ownerSource: 'proc' }),
    };
    const times = { dump: [], bpf: [], proc: [] };
    let rows = 0;
    let found = {};
    await kinds.bpf(); // the first call parses BTF once per process: time it apart
    for (let i = 0; i < rounds; i++) {
      for (const k of Object.keys(kinds)) {
        const { ms, r } = await time(kinds[k]);
        times[k].push(ms);
        rows = r.size;
        if (r.owners) found[k] = r.owners.found;
      }
    }
    const d = median(times.dump);
    const b = median(times.bpf);
    const p = median(times.proc);
    const out = {
      rows,
      rounds,
      states: states === 0xffe ? 'all' : 'CLOSE_WAIT',
      found,
      medianMs: { dump: +d.toFixed(1), dumpAndBpf: +b.toFixed(1), dumpAndProc: +p.toFixed(1) },
      joinMs: { bpf: +(b - d).toFixed(1), proc: +(p - d).toFixed(1) },
      speedup: { total: +(p / b).toFixed(2), join: +((p - d) / Math.max(b - d, 0.01)).toFixed(1) },
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
