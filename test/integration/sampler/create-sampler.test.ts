// createSampler: counts and deltas against sockets the test opens
// and closes between ticks, owners found incrementally (probes of freed fd
// slots, pending then walked), a reused pid never blamed, the schedule
// (skipped ticks, no overlap), and close() leaving nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

const HOST = '127.0.0.71';
let server: h.HalfCloser;
before(async () => {
  server = await h.startHalfCloser(HOST);
});
after(async () => {
  await server.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rowsOf = (top: tc.TopReport | null) =>
  top!.rows.map((r): [number | null | undefined, string | null | undefined, number] => [r.pid, r.command, r.count]);

test('counts, deltas and owners follow sockets opened and closed between ticks', async () => {
  // Only the clients' ends: their remote port is the server's.
  const sampler = tc.createSampler({ interval: 150, dport: server.port, processes: true, fullEvery: 1000, owners: 'proc' });
  const it = sampler[Symbol.asyncIterator]();
  const next = async () => (await it.next()).value;
  let a: h.CwClient | undefined;
  let b: h.CwClient | undefined;
  try {
    const s1 = await next();
    assert.equal(s1.seq, 1);
    assert.equal(s1.total, 0);
    assert.equal(s1.delta, null, 'the first sample has no previous one');
    assert.deepEqual(Object.keys(s1.states), [
      'ESTABLISHED',
      'SYN_SENT',
      'SYN_RECV',
      'FIN_WAIT1',
      'FIN_WAIT2',
      'TIME_WAIT',
      'CLOSE_WAIT',
      'LAST_ACK',
      'LISTEN',
      'CLOSING',
    ]);
    assert.deepEqual(s1.top.states, ['CLOSE_WAIT']);
    assert.equal(s1.attribution.full, true);
    assert.ok(s1.at instanceof Date && s1.tookMs >= 0);

    a = await h.startCwClient('tc-smp-a', HOST, server.port, 5);
    // A process that never owned a socket: not probed, pending for one sample...
    const s2 = await next();
    assert.equal(s2.states.CLOSE_WAIT, 5);
    assert.equal(s2.delta.CLOSE_WAIT, 5);
    assert.equal(s2.delta.ESTABLISHED, 0);
    assert.equal(s2.attribution.full, false);
    assert.equal(s2.attribution.pending, 5);
    assert.equal(s2.top.unattributed, 5);
    assert.deepEqual(s2.top.rows, []);
    // ...then walked for, and found.
    const s3 = await next();
    assert.equal(s3.delta.CLOSE_WAIT, 0);
    assert.deepEqual(rowsOf(s3.top), [[a.info.pid, 'tc-smp-a', 5]]);
    assert.equal(s3.attribution.lookedUp, 5);
    assert.equal(s3.attribution.pending, 0);
    assert.ok(s3.attribution.walkedProcesses >= 1);
    const s4 = await next();
    assert.equal(s4.attribution.cached, 5, 'known owners come from the cache');
    assert.equal(s4.attribution.lookedUp, 0);
    assert.equal(s4.attribution.walkedProcesses, 0);

    // Two sockets replaced: the new ones take the freed fds, found by probes alone.
    await a.replace(2);
    const s5 = await next();
    assert.equal(s5.states.CLOSE_WAIT, 5);
    assert.equal(s5.delta.CLOSE_WAIT, 0);
    assert.deepEqual(rowsOf(s5.top), [[a.info.pid, 'tc-smp-a', 5]]);
    assert.equal(s5.attribution.cached, 3);
    assert.equal(s5.attribution.lookedUp, 2);
    assert.equal(s5.attribution.probed, 2);
    assert.equal(s5.attribution.walkedProcesses, 0, 'no fd directory listed');

    b = await h.startCwClient('tc-smp-b', HOST, server.port, 3);
    const s6 = await next();
    assert.equal(s6.states.CLOSE_WAIT, 8);
    assert.equal(s6.delta.CLOSE_WAIT, 3);
    await a.stop();
    const s7 = await next();
    assert.equal(s7.states.CLOSE_WAIT, 3);
    assert.equal(s7.delta.CLOSE_WAIT, -5);
    assert.deepEqual(rowsOf(s7.top), [[b.info.pid, 'tc-smp-b', 3]]);
    // The same answer as a full attribution.
    const once = await tc.topProcesses({ dport: server.port });
    assert.deepEqual(rowsOf(s7.top), rowsOf(once));
    assert.equal(s7.top.total, once.total);
  } finally {
    await sampler.close();
    await h.stopAll([a, b]);
  }
});

test('with the eBPF iterator, owners come with each dump: every sample full, new and closed sockets at once', async (t) => {
  if (process.getuid!() !== 0) return t.skip('the eBPF owner source needs root (or CAP_BPF and CAP_PERFMON)');
  const sampler = tc.createSampler({ interval: 150, dport: server.port, processes: true, owners: 'bpf' });
  const it = sampler[Symbol.asyncIterator]();
  const next = async () => (await it.next()).value;
  let a: h.CwClient | undefined;
  let b: h.CwClient | undefined;
  try {
    const s1 = await next();
    assert.equal(s1.attribution.source, 'bpf');
    assert.equal(s1.total, 0);
    a = await h.startCwClient('tc-smp-bpf-a', HOST, server.port, 4);
    b = await h.startCwClient('tc-smp-bpf-b', HOST, server.port, 2);
    // No pending sample: the iterator sees every process each time.
    const s2 = await next();
    assert.equal(s2.states.CLOSE_WAIT, 6);
    assert.equal(s2.attribution.source, 'bpf');
    assert.equal(s2.attribution.full, true);
    assert.equal(s2.attribution.pending, 0);
    assert.equal(s2.attribution.lookedUp, 6);
    assert.deepEqual(rowsOf(s2.top), [
      [a.info.pid, 'tc-smp-bpf-a', 4],
      [b.info.pid, 'tc-smp-bpf-b', 2],
    ]);
    assert.equal(s2.top.unattributed, 0);
    await a.replace(3);
    await b.stop();
    const s3 = await next();
    assert.equal(s3.states.CLOSE_WAIT, 4);
    assert.equal(s3.delta.CLOSE_WAIT, -2);
    assert.deepEqual(rowsOf(s3.top), [[a.info.pid, 'tc-smp-bpf-a', 4]]);
    assert.equal(s3.attribution.lookedUp, 4, 'owners of the attributed state only');
    // The same answer as topProcesses, and as the walk.
    const once = await tc.topProcesses({ dport: server.port, owners: 'proc' });
    assert.deepEqual(rowsOf(s3.top), rowsOf(once));
    assert.equal(s3.top.total, once.total);
  } finally {
    await sampler.close();
    await h.stopAll([a, b]);
  }
});

test('a full attribution runs every fullEvery samples; counts match countStates', async () => {
  const sampler = tc.createSampler({ interval: '100ms', processes: true, fullEvery: 3, dport: server.port, owners: 'proc' });
  const full: boolean[] = [];
  for await (const s of sampler) {
    full.push(s.attribution!.full);
    if (s.seq === 7) break;
  }
  assert.deepEqual(full, [true, false, false, true, false, false, true]);
  const counts = tc.createSampler({ interval: 100, sport: server.port });
  try {
    const { oracle, mine } = await h.stable(
      () => h.ssCounts(['sport', `= :${server.port}`]),
      async () => (await counts.next()).value,
    );
    for (const [state, n] of Object.entries(mine.states)) assert.equal(n, oracle[state] ?? 0, state);
    assert.equal(mine.top, null, 'no top rows unless processes or by asks');
    assert.equal(mine.attribution, null);
  } finally {
    await counts.close();
  }
});

test('with the eBPF owner source (auto, as root) every sample joins in full: new sockets have their owner at once', async () => {
  const sampler = tc.createSampler({ interval: 150, dport: server.port, processes: true });
  const it = sampler[Symbol.asyncIterator]();
  const next = async () => (await it.next()).value;
  let a: h.CwClient | undefined;
  try {
    const s1 = await next();
    assert.equal(s1.attribution.source, 'bpf');
    assert.equal(s1.attribution.fallback, null);
    a = await h.startCwClient('tc-smp-bpf', HOST, server.port, 4);
    const s2 = await next();
    assert.equal(s2.attribution.full, true);
    assert.equal(s2.attribution.pending, 0);
    assert.deepEqual(rowsOf(s2.top), [[a.info.pid, 'tc-smp-bpf', 4]]);
    assert.equal(s2.top.ownerSource, 'bpf');
  } finally {
    await sampler.close();
    if (a) await a.stop();
  }
});

test('a reused pid is never blamed: a holder exits, a new process gets its pid, the socket goes to the holder left', async () => {
  const fx = await h.startFixture(h.PYTHON, [path.join(h.FIXTURES, 'shared_cw.py'), HOST, String(server.port), '2']);
  const { pid: parent, child } = fx.info;
  let reuser: h.Fixture | undefined;
  const sampler = tc.createSampler({ interval: 150, dport: server.port, processes: true, fullEvery: 1000, owners: 'proc' });
  const it = sampler[Symbol.asyncIterator]();
  const next = async () => (await it.next()).value;
  try {
    const s1 = await next();
    const low = Math.min(parent, child);
    assert.deepEqual(
      rowsOf(s1.top).map(([pid, , n]) => [pid, n]),
      [[low, 2]],
      'a full attribution: the lowest pid',
    );
    assert.equal(low, parent, 'the parent forked the child, so it has the lower pid');
    // The parent exits (node reaps it: its pid is free) ...
    const exited = new Promise((r) => fx.child.once('exit', r));
    process.kill(parent, 'SIGTERM');
    await exited;
    // ... and a new process is made with that very pid.
    reuser = await h.startFixture(h.buildFixture('at_pid'), [
      String(parent),
      h.PYTHON,
      '-c',
      'import json, os, sys; print(json.dumps({"pid": os.getpid()}), flush=True); sys.stdin.read()',
    ]);
    assert.equal(reuser.info.pid, parent, 'the pid was reused');
    const s2 = await next();
    for (const r of s2.top.rows) assert.notEqual(r.pid, parent, 'a socket blamed on the process that reused the pid');
    const s3 = await next();
    assert.deepEqual(
      rowsOf(s3.top).map(([pid, , n]) => [pid, n]),
      [[child, 2]],
    );
    const s4 = await next();
    assert.deepEqual(
      rowsOf(s4.top).map(([pid, , n]) => [pid, n]),
      [[child, 2]],
    );
  } finally {
    await sampler.close();
    if (reuser) await reuser.stop();
    await fx.stop();
    try {
      process.kill(child, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
});

test('ticks missed while the reader was busy are skipped, not caught up; samples never overlap', async () => {
  const sampler = tc.createSampler({ interval: 200 });
  try {
    const first = (await sampler.next()).value;
    await sleep(700); // ticks 1, 2 and 3 pass
    const second = (await sampler.next()).value;
    assert.equal(first.skipped, 0);
    assert.equal(second.skipped, 3);
    assert.ok(second.at - first.at >= 790, `sampled at tick 4: ${second.at - first.at} ms after the first`);
    // Three reads at once: taken one after the other, one tick apart.
    const [x, y, z] = await Promise.all([sampler.next(), sampler.next(), sampler.next()]).then((r) => r.map((v) => v.value));
    assert.deepEqual([x.seq, y.seq, z.seq], [3, 4, 5]);
    assert.ok(y.at - x.at >= 190 && z.at - y.at >= 190, `${y.at - x.at}, ${z.at - y.at}`);
    assert.equal(y.skipped + z.skipped, 0);
  } finally {
    await sampler.close();
  }
});

test('close() ends a waiting read at once and leaves no timer: the process exits', async () => {
  const code = `
    const tc = require(${JSON.stringify(h.ROOT)});
    const s = tc.createSampler({ interval: '1h' });
    (async () => {
      await s.next();
      const t = Date.now();
      const waiting = s.next();
      setTimeout(() => s[Symbol.asyncDispose](), 50);
      const r = await waiting;
      console.log(JSON.stringify({ done: r.done, ms: Date.now() - t, after: (await s.next()).done }));
    })();`;
  const t0 = Date.now();
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (c) => resolve({ code: c, out }));
  });
  assert.equal(r.code, 0);
  const got = JSON.parse(r.out);
  assert.equal(got.done, true);
  assert.equal(got.after, true);
  assert.ok(got.ms < 1000, `the waiting read ended ${got.ms} ms later`);
  assert.ok(Date.now() - t0 < 10000, 'the process exited: no timer kept it alive');
});

test('bad sampler options throw at once, naming what is accepted', () => {
  for (const [options, message] of <Array<[Record<string, unknown>, RegExp]>>[
    [{ interval: '1' }, /interval must be a duration such as 500ms, 1s or 2m, from 10ms to 24 days, got "1"/],
    [{ interval: 5 }, /interval must be a duration/],
    [{ interval: '2x' }, /interval must be a duration/],
    [{ fullEvery: 0 }, /fullEvery must be an integer from 1/],
    [{ owners: 'ebpf' }, /unknown owner source "ebpf" \(did you mean bpf\?\); valid: auto, bpf, proc/],
    [{ pids: [1] }, /pids does not apply to createSampler \(a sampler watches every process\)/],
    [{ intervall: 100 }, /unknown option "intervall" for createSampler \(did you mean interval\?\)/],
    [{ by: 'pid' }, /unknown grouping "pid"/],
  ]) {
    assert.throws(
      () => tc.createSampler(options as tc.SamplerOptions),
      (e) => e instanceof tc.OptionError && message.test(e.message),
      JSON.stringify(options),
    );
  }
});

test('a procRoot that is not procfs rejects the first sample', async () => {
  const dir = h.tempDir();
  try {
    const s = tc.createSampler({ processes: true, procRoot: dir });
    await assert.rejects(s.next(), (e) => e instanceof tc.OptionError && /is not a procfs mount/.test(e.message));
    await s.close();
  } finally {
    h.removeTempDir(dir);
  }
});
