#!/usr/bin/env node
// sources.js: the procfs socket source against the netlink one, in-process,
// on a farm of real sockets (harness/farm.js) plus whatever else the host holds.
//
//   npm run build && node bench/suites/sources.js [--sockets 5000] [--runs 15]
//
// Each run times, interleaved so drift hits all alike: a full sample (every
// state, rows kept) and a count through each source, and the CLOSE_WAIT-only
// forms, where the netlink source lets the kernel skip other states while
// the procfs source must still have the kernel print every socket as text;
// and a plain read of the two text files, the kernel's share of procfs.
// Run it in a network namespace of its own to measure the farm alone:
//   ip netns add b && ip netns exec b ip link set lo up &&
//   ip netns exec b node bench/suites/sources.js; ip netns del b
// Prints medians (and min) in ms, and the socket counts each source saw.
'use strict';
const fs = require('node:fs');
const { startFarm } = require('../../harness/farm');
const { native } = require('../../dist/core/addon');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
}

const ALL = 0xffe;
const CLOSE_WAIT = 1 << 8;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const sockets = arg('sockets', 5000);
  const runs = arg('runs', 15);
  const farm = await startFarm({ sockets, idle: 0, listen: 20, timeWait: 0 });
  try {
    const jobs = {
      'sample netlink, all states': () => native.sampleSync({ states: ALL, source: 'netlink' }).size,
      'sample procfs, all states': () => native.sampleSync({ states: ALL, source: 'procfs' }).size,
      'count netlink, all states': () => [...native.countSync({ states: ALL, source: 'netlink' }).ipv4].reduce((a, b) => a + b),
      'count procfs, all states': () => [...native.countSync({ states: ALL, source: 'procfs' }).ipv4].reduce((a, b) => a + b),
      'sample netlink, CLOSE_WAIT': () => native.sampleSync({ states: CLOSE_WAIT, source: 'netlink' }).size,
      'sample procfs, CLOSE_WAIT': () => native.sampleSync({ states: CLOSE_WAIT, source: 'procfs' }).size,
      // The kernel's share of the procfs source: printing the text, no parsing.
      'read tcp+tcp6 text only (bytes)': () =>
        fs.readFileSync('/proc/thread-self/net/tcp').length + fs.readFileSync('/proc/thread-self/net/tcp6').length,
    };
    const times = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
    const seen = {};
    for (const fn of Object.values(jobs)) fn(); // warm-up
    for (let r = 0; r < runs; r++) {
      for (const [name, fn] of Object.entries(jobs)) {
        const t0 = process.hrtime.bigint();
        seen[name] = fn();
        times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
    console.log(`farm ${JSON.stringify(farm.truth.total)} sockets; median (min) of ${runs} interleaved runs, ${process.version}`);
    for (const name of Object.keys(jobs)) {
      const t = times[name];
      console.log(`${name.padEnd(30)} ${median(t).toFixed(1).padStart(7)} ms (${Math.min(...t).toFixed(1)})  rows/sockets seen ${seen[name]}`);
    }
  } finally {
    await farm.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
