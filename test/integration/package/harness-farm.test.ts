// The socket farm bench/ uses (harness/farm.js), small: what it says it made must be
// what tcpcensus sees, and stop() must leave no process behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as tc from '../../../src/index';
import { startFarm } from '../../../harness/farm';

/** What the farm says it made (harness/farm.js: truth). */
interface Truth {
  total: number;
  established: number;
  finWait2: number;
  listen: number;
  timeWait: number;
  closeWaitByPid: Record<string, number>;
  commandByPid: Record<string, string>;
}

let farm: Omit<Awaited<ReturnType<typeof startFarm>>, 'truth'> & { truth: Truth };
before(async () => {
  farm = (await startFarm({ sockets: 1000, idle: 20, listen: 10 })) as typeof farm;
});
after(async () => {
  if (farm) await farm.stop();
});

test('the truth adds up', () => {
  const t = farm.truth;
  const cw = Object.values(t.closeWaitByPid).reduce((a, b) => a + b, 0);
  assert.equal(t.total, cw + t.established + t.finWait2 + t.listen + t.timeWait);
  assert.equal(t.total, 1000);
  assert.equal(t.finWait2, cw, 'one FIN_WAIT2 peer per CLOSE_WAIT');
  assert.equal(t.listen, 10);
  assert.equal(farm.idle.length, 20);
  // Strictly decreasing CLOSE_WAIT counts: the top list has one right order.
  const counts = Object.values(t.closeWaitByPid).sort((a, b) => b - a);
  assert.ok(counts.length >= 10);
  for (let i = 1; i < counts.length; i++) assert.ok(counts[i - 1]! > counts[i]!, `tie in ${counts}`);
});

test('topProcesses finds every CLOSE_WAIT holder with its exact count and title, in order', async () => {
  const top = await tc.topProcesses({ limit: 100 });
  const positions: Array<[number, number]> = [];
  for (const [pid, count] of Object.entries(farm.truth.closeWaitByPid)) {
    const idx = top.rows.findIndex((r) => r.pid === Number(pid));
    assert.ok(idx >= 0, `farm holder ${pid} missing from ${JSON.stringify(top.rows)}`);
    assert.equal(top.rows[idx]!.count, count, `count of ${pid}`);
    assert.equal(top.rows[idx]!.command, farm.truth.commandByPid[pid]);
    positions.push([count, idx]);
  }
  positions.sort((a, b) => b[0] - a[0]);
  for (let i = 1; i < positions.length; i++) assert.ok(positions[i - 1]![1] < positions[i]![1], 'holders in count order');
});

test('countStates sees at least the farm in every state', async () => {
  const t = farm.truth;
  const { states } = await tc.countStates();
  const cw = Object.values(t.closeWaitByPid).reduce((a, b) => a + b, 0);
  assert.ok(states.CLOSE_WAIT >= cw, `CLOSE_WAIT ${states.CLOSE_WAIT} < ${cw}`);
  assert.ok(states.ESTABLISHED >= t.established, `ESTABLISHED ${states.ESTABLISHED} < ${t.established}`);
  assert.ok(states.FIN_WAIT2 >= t.finWait2, `FIN_WAIT2 ${states.FIN_WAIT2} < ${t.finWait2}`);
  assert.ok(states.LISTEN >= t.listen, `LISTEN ${states.LISTEN} < ${t.listen}`);
});

test('makeTimeWait adds TIME_WAIT sockets', async () => {
  const before = (await tc.countStates()).states.TIME_WAIT;
  const truth = await farm.makeTimeWait(50);
  assert.equal(truth.timeWait, 50);
  const after = (await tc.countStates()).states.TIME_WAIT;
  // Other TIME_WAIT on the host may expire meanwhile; ours live 60 s.
  assert.ok(after >= 50, `TIME_WAIT ${after} (was ${before})`);
});

test('stop() ends every farm process', async () => {
  const pids = farm.pids;
  assert.equal(pids.length, farm.holders.length + 1 + 20); // holders, the idle shell, idle processes
  await farm.stop();
  const alive = pids.filter((pid) => fs.existsSync(`/proc/${pid}`));
  assert.deepEqual(alive, [], 'farm processes still in /proc');
  await farm.stop(); // idempotent
});
