// The async forms run off the JS thread: while one is in flight the event
// loop keeps turning. The sync forms, for contrast, hold it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

let holder: h.Fixture;
before(async () => {
  holder = await h.startHolder('tc-hold-async', 3000);
});
after(async () => {
  if (holder) await holder.stop();
});

// Counts event-loop turns (setImmediate callbacks) while fn's promise is pending.
async function turnsDuring<R>(fn: () => R | Promise<R>): Promise<{ turns: number; result: R }> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (!done) {
      turns++;
      setImmediate(spin);
    }
  };
  setImmediate(spin);
  const result = await fn();
  done = true;
  return { turns, result };
}

for (const [name, call] of <Array<[string, () => Promise<unknown>]>>[
  ['countStates', () => tc.countStates()],
  ['topProcesses', () => tc.topProcesses({ threads: 1 })],
  ['snapshot with processes', () => tc.snapshot({ processes: true, threads: 1 })],
]) {
  test(`${name} leaves the event loop free while the kernel works`, async () => {
    let total = 0;
    for (let i = 0; i < 5; i++) total += (await turnsDuring(call)).turns;
    assert.ok(total >= 10, `only ${total} event-loop turns during 5 calls`);
  });
}

test('the async result is the real one: 3000 CLOSE_WAIT for the holder', async () => {
  const { result } = await turnsDuring(() => tc.topProcesses({ limit: 1000 }));
  const row = result.rows.find((r) => r.pid === holder.info.pid);
  assert.equal(row?.count, 3000);
});

test('a sync call, by contrast, lets no turn happen', async () => {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (!done) {
      turns++;
      setImmediate(spin);
    }
  };
  setImmediate(spin);
  tc.topProcessesSync();
  tc.snapshotSync({ processes: true });
  done = true;
  assert.equal(turns, 0);
});
