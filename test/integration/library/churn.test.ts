// Under churn: loopback connections opened and closed as fast as
// one process can, while holder processes start and exit, tcpcensus samples
// at least 300 times with countStates and topProcesses({ states: ['all'] }):
// no exception, and every result adds up (states sum to total; total =
// owned + unowned + unattributed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import readline from 'node:readline';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

const SAMPLES = 300;

test(`${SAMPLES} samples of each kind under connection churn and process churn add up`, async (t) => {
  const churn = await h.startFixture(process.execPath, [path.join(h.FIXTURES, 'churn.js'), '64']);
  let holdersStarted = 0;
  let stopHolders = false;
  // Holders come and go in the background, each with CLOSE_WAIT sockets.
  const holderLoop = (async () => {
    while (!stopHolders) {
      const x = await h.startHolder('tc-churn-holder', 20);
      holdersStarted++;
      await new Promise((r) => setTimeout(r, 30 + Math.random() * 70));
      await x.stop();
    }
  })();
  const seen = { unattributed: 0, maxTotal: 0 };
  try {
    for (let i = 0; i < SAMPLES; i++) {
      const counts = await tc.countStates();
      const sum = Object.values(counts.states).reduce((a, b) => a + b, 0);
      assert.equal(sum, counts.total, `countStates ${i}: states add up`);
      assert.equal(counts.families.ipv4 + counts.families.ipv6, counts.total, `countStates ${i}: families add up`);
      const top = await tc.topProcesses({ states: ['all'], limit: 5 });
      assert.equal(top.owned! + top.unowned + top.unattributed!, top.total, `topProcesses ${i}: ${JSON.stringify(top)}`);
      assert.ok(top.owned! >= 0 && top.unowned >= 0 && top.unattributed! >= 0);
      const rowsSum = top.rows.reduce((a, r) => a + r.count, 0);
      assert.ok(rowsSum <= top.owned!, `topProcesses ${i}: rows within owned`);
      seen.unattributed = Math.max(seen.unattributed, top.unattributed!);
      seen.maxTotal = Math.max(seen.maxTotal, top.total);
    }
  } finally {
    stopHolders = true;
    await holderLoop;
    const rl = readline.createInterface({ input: churn.child.stdout });
    const summary = new Promise<{ connections: number; seconds: number; perSecond: number }>((resolve) =>
      rl.once('line', (l) => resolve(JSON.parse(l))),
    );
    churn.child.stdin.end();
    const rate = await summary;
    await churn.stop();
    t.diagnostic(
      `churn: ${rate.connections} connections in ${rate.seconds.toFixed(1)} s (${rate.perSecond}/s); ` +
        `${holdersStarted} holder processes started and stopped; ${SAMPLES} samples of each; ` +
        `largest total ${seen.maxTotal}, largest unattributed ${seen.unattributed}`,
    );
    assert.ok(rate.perSecond >= 1000, `churn rate ${rate.perSecond}/s: the test did not churn`);
    assert.ok(holdersStarted >= 5, 'holders came and went');
  }
});
