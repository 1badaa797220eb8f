// The CLI, run for real: the default report against real owners.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from '../../helpers/index';

let holder: h.Fixture;
before(async () => {
  holder = await h.startHolder('tc-hold-cli', 9000 % 977);
});
after(async () => {
  if (holder) await holder.stop();
});

test('tcpcensus prints the state histogram and the top CLOSE_WAIT holders', async () => {
  const { code, stdout, stderr } = await h.runCli([]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^TCP sockets by state/);
  const cw = /^\s+(\d+)\s+CLOSE_WAIT\s+#+$/m.exec(stdout);
  assert.ok(cw, stdout);
  assert.ok(Number(cw[1]) >= 9000 % 977);
  assert.match(stdout, /^\s+\d+\s+total\s+\(IPv4 \d+, IPv6 \d+\)$/m);
  assert.match(stdout, /^Top processes holding CLOSE_WAIT/m);
  assert.match(stdout, /CLOSE_WAIT: the peer closed and the application never called close\(\)/);
  const line = new RegExp(`^\\s+${9000 % 977}\\s+${holder.info.pid}\\s+tc-hold-cli\\s+tc-hold-cli$`, 'm');
  assert.match(stdout, line);
  assert.match(stdout, /^\s+\d+ held by no process/m);
});

test('the report histogram equals ss counted by state', async () => {
  const { oracle, mine: stdout } = await h.stable(
    () => h.ssCounts(),
    async () => (await h.runCli([])).stdout,
  );
  const hist = stdout.split('\n\n')[0];
  const mine: Record<string, number> = {};
  for (const m of hist!.matchAll(/^\s+(\d+)\s+([A-Z_0-9]+)\s+#+$/gm)) mine[m[2]!] = Number(m[1]);
  delete oracle.CLOSE;
  assert.deepEqual(mine, oracle);
});

test('an unknown command exits 2 with a one-line message', async () => {
  const { code, stderr } = await h.runCli(['--bogus']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown option '--bogus'/);
});
