// Sockets no process holds (inode 0: TIME_WAIT, orphaned FIN_WAIT2) are the
// "held by no process" count alone: never in a user, command or process row,
// where the kernel's uid 0 for them would file them under root.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const tc = require('..');
const h = require('./helpers');

let nobody;
before(async () => {
  // Run as nobody: 5 TIME_WAIT of its own clients, and 7 orphaned FIN_WAIT2
  // (its clients, destroyed after the server got their FIN).
  nobody = await h.startHolder('tc-unowned', 7, 5, '127.0.0.6', { prefix: h.AS_NOBODY });
});
after(async () => { if (nobody) await nobody.stop(); });

const sum = (rows) => rows.reduce((n, r) => n + r.count, 0);

test('top --by user never files unowned sockets under a user (TIME_WAIT, orphaned FIN_WAIT2)', async () => {
  const tw = await tc.topProcesses({ states: ['time-wait'], by: 'user', limit: 100000 });
  assert.ok(tw.total >= 5, `only ${tw.total} TIME_WAIT`);
  assert.equal(tw.unowned, tw.total, 'every TIME_WAIT socket is unowned');
  assert.deepEqual(tw.rows, [], 'no user holds a TIME_WAIT socket');
  const fw2 = await tc.topProcesses({ states: ['fin-wait-2'], by: 'user', limit: 100000 });
  assert.ok(fw2.unowned >= 7);
  assert.equal(sum(fw2.rows) + fw2.unowned, fw2.total, 'rows and the no-owner line never count a socket twice');
  // The rows are ss's sockets that have an inode, by uid.
  const oracle = h.ss(['state', 'fin-wait-2']).filter((r) => r.inode !== 0);
  const byUid = new Map();
  for (const r of oracle) byUid.set(r.uid, (byUid.get(r.uid) ?? 0) + 1);
  assert.deepEqual(new Map(fw2.rows.map((r) => [r.uid, r.count])), byUid);
  const text = await h.runCli(['top', '-s', 'time-wait', '--by', 'user']);
  assert.doesNotMatch(text.stdout, /^\s+\d+\s+0\s+root$/m, 'no root row for TIME_WAIT');
  assert.match(text.stdout, /^  \d+ held by no process \(orphans, TIME_WAIT, half-open requests\)$/m);
});

test('owner groupings count owned sockets only; endpoint groupings count every socket and say so', async () => {
  for (const by of ['process', 'command', 'user']) {
    const r = await tc.topProcesses({ states: ['all'], by, limit: 1000000 });
    assert.ok(sum(r.rows) <= r.total - r.unowned, `${by}: ${sum(r.rows)} in rows of ${r.total} with ${r.unowned} unowned`);
  }
  for (const by of ['remote', 'remote-host', 'local-port']) {
    const r = await tc.topProcesses({ states: ['time-wait'], by, limit: 1000000 });
    assert.equal(sum(r.rows), r.total, by);
  }
  const text = await h.runCli(['top', '-s', 'time-wait', '--by', 'remote-host']);
  assert.match(text.stdout, /^  \d+ held by no process \(orphans, TIME_WAIT, half-open requests\), counted in the rows above too$/m);
});
