// A service samples for weeks: the eBPF owner source loads its program once
// per process and keeps it (one program fd and one iterator link, the same
// kernel program id call after call, read from /proc/self/fdinfo, see
// proc(5)), however many calls run, at once or in turn, async or Sync; every
// concurrent call still gets every socket of a holder. The soak figures
// themselves are bench/soak.js's (npm run bench -- --soak).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

const ROOT = process.getuid!() === 0;
let holder: h.Fixture;
before(async () => {
  holder = await h.startHolder('tc-hold-memory', 500);
});
after(async () => {
  if (holder) await holder.stop();
});

// This process's bpf objects: the program ids behind its program fds, and
// the program ids its link fds hold (fdinfo: prog_id, link_type).
function bpfObjects() {
  const progs: number[] = [];
  const links: number[] = [];
  for (const fd of fs.readdirSync('/proc/self/fdinfo')) {
    let info;
    try {
      info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // the fd readdir itself used, gone already
    }
    const prog = /^prog_id:\s*(\d+)$/m.exec(info);
    if (!prog) continue;
    (/^link_type:/m.test(info) ? links : progs).push(Number(prog[1]));
  }
  return { progs: progs.sort(), links: links.sort() };
}

const opts: tc.TopOptions = { states: ['CLOSE_WAIT'], owners: 'bpf', limit: 1000 };
const holderCount = (top: tc.TopReport) => (top.rows.find((r) => r.pid === holder.info.pid) || { count: 0 }).count;

test('the eBPF program is loaded once and kept across 300 calls, async, Sync and concurrent', { skip: !ROOT && 'needs root (CAP_BPF)' }, async () => {
  const first = await tc.topProcesses(opts);
  assert.equal(first.ownerSource, 'bpf');
  assert.equal(holderCount(first), 500);
  const kept = bpfObjects();
  // One program, and one link to every task, holding that program.
  assert.equal(kept.progs.length, 1, `program fds held after a call: ${JSON.stringify(kept)}`);
  assert.deepEqual(kept.links, kept.progs);
  for (let i = 0; i < 100; i++) assert.equal(holderCount(await tc.topProcesses(opts)), 500);
  for (let i = 0; i < 100; i++) assert.equal(holderCount(tc.topProcessesSync(opts)), 500);
  // Ten rounds of 10 calls at once on the libuv pool: each gets every socket.
  for (let round = 0; round < 10; round++) {
    const tops = await Promise.all(Array.from({ length: 10 }, () => tc.topProcesses(opts)));
    assert.deepEqual(tops.map(holderCount), Array(10).fill(500));
  }
  // The same kernel program as after the first call: not one load more.
  assert.deepEqual(bpfObjects(), kept);
});

test('calls with owners proc hold no bpf program', async () => {
  // Not a program held per call: the count does not move with more calls.
  const before = bpfObjects();
  for (let i = 0; i < 20; i++) await tc.topProcesses({ ...opts, owners: 'proc' });
  assert.deepEqual(bpfObjects(), before);
});

// The columns of a topProcesses call are freed when its report is built, not
// when V8 next collects: a service calling in a loop holds one call's
// columns, not a hundred. Read from process.memoryUsage().external, which
// counts every adopted buffer (napi_adjust_external_memory) until it is freed.
test('topProcesses frees its columns at once: external memory stays flat over 60 calls, both owner sources, the report intact', async () => {
  // 10,000 more sockets, so one call's columns (about 0.8 MB) dwarf the rest
  // of external memory (Buffers of /proc reads, a MB or two in flight).
  const big = await h.startHolder('tc-hold-memory-big', 5000);
  try {
    await freesAtOnce();
  } finally {
    await big.stop();
  }
});

async function freesAtOnce() {
  for (const owners of ROOT ? (['bpf', 'proc'] as const) : (['proc'] as const)) {
    const o: tc.TopOptions = { states: ['all'], owners, limit: 1000 };
    const first = await tc.topProcesses(o);
    const base = process.memoryUsage().external;
    let peak = 0;
    let last;
    for (let i = 0; i < 60; i++) {
      last = await tc.topProcesses(o);
      peak = Math.max(peak, process.memoryUsage().external - base);
    }
    // One call's columns: about 80 bytes a socket (rows of every state here).
    const oneCall = first.total * 80;
    assert.ok(oneCall > 1 << 19, `a table worth measuring: ${first.total} sockets`);
    assert.ok(
      peak < Math.max(oneCall * 3, 4 << 20),
      `${owners}: external rose ${(peak / 2 ** 20).toFixed(1)} MB over 60 calls (one call's columns: ${(oneCall / 2 ** 20).toFixed(2)} MB)`,
    );
    // What the report says was read before the columns went.
    assert.ok(holderCount(last!) >= 500, `${owners}: the holder's sockets are in the report`);
    assert.equal(last!.owned! + last!.unowned + last!.unattributed!, last!.total);
  }
}
