// Owners: child processes holding known numbers of CLOSE_WAIT sockets must
// come back from topProcesses with exactly those counts, pids and commands;
// unowned and shared sockets are counted like ss -p shows them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

const PLAN = [
  { title: 'tc-hold-a', closeWait: 37, family: '4' },
  { title: 'tc-hold-b', closeWait: 23, family: '6' },
  { title: 'tc-hold-c', closeWait: 11, family: '4' },
];
let holders: h.Fixture[] = [];
let tw: h.Fixture;
let sharer: h.Fixture;

before(async () => {
  holders = await Promise.all(PLAN.map((p) => h.startHolder(p.title, p.closeWait, 0, p.family)));
  tw = await h.startHolder('tc-hold-tw', 0, 12);
  sharer = await h.startSharer(); // a listener shared by a parent and its forked child
});
after(async () => {
  await h.stopAll([...holders, tw, sharer]);
});

function ssOwnerCounts(rows: h.SsRow[]) {
  const byPid = new Map();
  for (const r of rows) {
    if (!r.users.length) continue;
    const pid = Math.min(...r.users.map((u: h.JsonRow) => u.pid));
    byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
  }
  return byPid;
}

test('topProcesses finds each holder with its exact CLOSE_WAIT count, pid, command and cmdline, in order', async () => {
  const top = await tc.topProcesses({ limit: 1000 });
  assert.deepEqual(top.states, ['CLOSE_WAIT']);
  assert.equal(top.by, 'process');
  for (let i = 1; i < top.rows.length; i++) assert.ok(top.rows[i - 1]!.count >= top.rows[i]!.count, 'rows sorted by count');
  const positions: number[] = [];
  PLAN.forEach((p, i) => {
    const pid = holders[i]!.info.pid;
    const idx = top.rows.findIndex((r) => r.pid === pid);
    assert.ok(idx >= 0, `${p.title} (pid ${pid}) missing from ${JSON.stringify(top.rows)}`);
    const row = top.rows[idx];
    assert.equal(row!.count, p.closeWait, `${p.title} count`);
    assert.equal(row!.key, String(pid));
    assert.equal(row!.command, p.title);
    // process.title rewrites argv in place, so /proc/<pid>/cmdline is the title now.
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
    assert.equal(row!.cmdline, cmdline);
    positions.push(idx);
  });
  assert.deepEqual(
    positions,
    [...positions].sort((a, b) => a - b),
    'holders in count order',
  );
  assert.equal(top.total, top.owned! + top.unowned + top.unattributed!);
  assert.ok(top.owned! >= 37 + 23 + 11);
});

test('topProcesses agrees with ss -tanp state close-wait for every owner on the host', async () => {
  // Other processes on a shared host open and close sockets too: compare
  // only while ss saw the same before and after.
  const { oracle, mine: top } = await h.stable(
    () => h.ss(['state', 'close-wait']),
    () => tc.topProcesses({ limit: 100000 }),
  );
  assert.equal(top.total, oracle.length);
  const mine = new Map(top.rows.map((r) => [r.pid, r.count]));
  assert.deepEqual(mine, ssOwnerCounts(oracle));
  assert.equal(top.owned, oracle.filter((r) => r.users.length).length);
});

test('limit keeps the largest rows', async () => {
  const top = await tc.topProcesses({ limit: 1 });
  assert.equal(top.rows.length, 1);
  assert.ok(top.rows[0]!.count >= 37);
});

test('TIME_WAIT and orphaned FIN_WAIT2 sockets count as unowned, never as unattributed', async () => {
  const top = await tc.topProcesses({ states: ['TIME_WAIT'] });
  assert.ok(top.total >= 12, `only ${top.total} TIME_WAIT`);
  assert.equal(top.unowned, top.total);
  assert.equal(top.owned, 0);
  assert.equal(top.unattributed, 0);
  assert.deepEqual(top.rows, []);
  // The holders' clients were destroyed after the server got their FIN: orphans.
  const fw2 = await tc.topProcesses({ states: ['fin-wait-2'] });
  assert.ok(fw2.unowned >= 37 + 23 + 11);
  assert.equal(fw2.total, fw2.owned! + fw2.unowned + fw2.unattributed!);
});

test('a socket held by two processes counts once, for the lower pid, and is reported as shared', async () => {
  const { pid, child, port } = sharer.info;
  assert.ok(pid < child);
  const table = await tc.snapshot({ states: ['LISTEN'], processes: true });
  const rows = [...table].filter((r) => r.localPort === port);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.pid, pid);
  const { oracle, mine: top } = await h.stable(
    () => h.ss(['state', 'listening']),
    () => tc.topProcesses({ states: ['LISTEN'], limit: 1000 }),
  );
  const sharedBySs = oracle.filter((r) => new Set(r.users.map((u) => u.pid)).size > 1).length;
  assert.ok(sharedBySs >= 1);
  assert.equal(top.shared, sharedBySs);
  assert.deepEqual(new Map(top.rows.map((r) => [r.pid, r.count])), ssOwnerCounts(oracle));
});

test('threads: 1 and threads: 8 give the same answer', async () => {
  const {
    mine: [one, eight],
  } = await h.stable(
    () => h.ss(['state', 'close-wait']),
    async () => [await tc.topProcesses({ threads: 1, limit: 1000 }), await tc.topProcesses({ threads: 8, limit: 1000 })],
  );
  assert.deepEqual(one.rows, eight.rows);
  assert.equal(one.owned, eight.owned);
});

test('a process whose main thread exited is still found, through a live thread', async () => {
  const fx = await h.startLeaderless(1);
  try {
    const { pid, port } = fx.info;
    const rows = [...(await tc.snapshot({ states: ['LISTEN'], processes: true, sport: port }))];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.pid, pid);
    assert.equal(rows[0]!.command, 'leaderless');
  } finally {
    await fx.stop();
  }
});
