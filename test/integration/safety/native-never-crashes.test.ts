// The native core must never take its host process down: a
// leaderless process with hundreds of threads is walked safely, a failure at
// any stage of a call (the kernel work, the conversion to JS, a runtime that
// refuses external buffers) is a JS error, Sync calls in a loop that never
// yields keep memory bounded, and maxSockets bounds a dump.
import { test } from 'node:test';
import fs from 'node:fs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as tc from '../../../src/index';
import { native } from '../../helpers/native';
import type { RawFound } from '../../../src/core/raw';
import * as h from '../../helpers/index';

test('a leaderless process with 400 threads: the CLI and the library attribute its listener every time, and never crash', async () => {
  const fx = await h.startLeaderless(400);
  try {
    const { pid, port } = fx.info;
    for (let i = 0; i < 10; i++) {
      const r = await h.runCli(['top', '-s', 'listen', '--json', '-n', '100000']);
      assert.equal(r.code, 0, `run ${i}: exit ${r.code}: ${r.stderr}`);
      const row = JSON.parse(r.stdout).rows.find((x: h.JsonRow) => x.pid === pid);
      assert.ok(row, `run ${i}: pid ${pid} missing`);
      assert.equal(row.command, 'leaderless');
      const rows = [...(await tc.snapshot({ states: ['listen'], processes: true, sport: port }))];
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.pid, pid, `library run ${i}`);
    }
  } finally {
    await fx.stop();
  }
});

for (const stage of ['run', 'convert'] as const) {
  test(`a failure in the ${stage} stage is a JS error in every form, and the next call works`, async () => {
    const expectNoMemory = (err: h.Thrown) =>
      err instanceof tc.TcpcensusError && err.code === 'ERR_TCPCENSUS_NO_MEMORY' && /out of memory/.test(err.message);
    for (const [name, call] of <Array<[string, () => unknown]>>[
      ['countStates', () => tc.countStates()],
      ['countStatesSync', () => tc.countStatesSync()],
      ['snapshot', () => tc.snapshot({ processes: true })],
      ['snapshotSync', () => tc.snapshotSync({ processes: true })],
    ]) {
      native.failNext(stage);
      await assert.rejects(async () => call(), expectNoMemory, name);
      const ok = (await call()) as { total?: number; length?: number };
      assert.ok((ok.total ?? 0) >= 1 || (ok.length ?? 0) >= 1, `${name} works after the failure`);
    }
  });
}

test("the incremental sampler's native calls (findOwners, startTimes) fail as JS errors too, and check their arguments", async () => {
  const expectNoMemory = (err: h.Thrown) => err instanceof tc.TcpcensusError && err.code === 'ERR_TCPCENSUS_NO_MEMORY';
  const find = { inodes: Uint32Array.of(1), firstPids: Int32Array.of(process.pid), probes: Int32Array.of(process.pid, 0), claims: true };
  const times = { pids: Int32Array.of(process.pid) };
  for (const stage of ['run', 'convert'] as const) {
    for (const [name, call, ok] of <Array<[string, () => unknown, (r: never) => boolean]>>[
      ['findOwners', () => native.findOwners(find), (r: RawFound) => r.wanted === 1 && r.claimPids instanceof Int32Array],
      ['findOwnersSync', () => native.findOwnersSync(find), (r: RawFound) => r.wanted === 1],
      ['startTimes', () => native.startTimes(times), (r: Float64Array) => r[0]! > 0],
      ['startTimesSync', () => native.startTimesSync(times), (r: Float64Array) => r[0]! > 0],
    ]) {
      native.failNext(stage);
      await assert.rejects(async () => call(), expectNoMemory, `${name} (${stage})`);
      assert.ok(ok((await call()) as never), `${name} works after the failure`);
    }
  }
  assert.throws(() => native.findOwnersSync({ inodes: [1] }), /inodes must be a Uint32Array/);
  assert.throws(() => native.findOwnersSync({ inodes: Uint32Array.of(1), probes: Int32Array.of(1) }), /pid, fd pairs/);
  assert.throws(() => native.findOwnersSync({ inodes: Uint32Array.of(1), probes: Int32Array.of(0, 1) }), /positive pid/);
  assert.throws(() => native.findOwnersSync({ inodes: Uint32Array.of(1), firstPids: Int32Array.of(-1) }), /firstPids must be positive/);
  assert.throws(() => native.startTimesSync({ pids: [1] }), /pids must be an Int32Array/);
  await assert.rejects(
    native.startTimes({ pids: Int32Array.of(1), procRoot: '/nonexistent-proc' }),
    (e: h.Thrown) => e.code === 'ENOENT' && e.path === '/nonexistent-proc',
  );
});

test('a runtime that refuses external buffers gets copies: the same answer', async () => {
  const holder = await h.startHolder('tc-copy', 20);
  const opts = { states: ['all'], sport: holder.info.port }; // sockets that hold still
  const before = await tc.snapshot(opts);
  native.failNext('external');
  const copied = await tc.snapshot(opts);
  await holder.stop();
  assert.equal(before.length, 21, 'the listener and its 20 CLOSE_WAIT');
  // The first column converted was refused; every column must still hold the table.
  assert.equal(copied.length, before.length);
  assert.deepEqual([...copied.columns.state], [...before.columns.state]);
  assert.deepEqual([...copied.columns.localPort], [...before.columns.localPort]);
});

test('maxSockets stops a dump that would exceed it with a LimitError, not partial rows', async () => {
  const all = native.sampleSync({ families: 3, states: 0xffe });
  assert.ok(all.size >= 2, 'the fixture host has sockets');
  assert.throws(
    () => native.sampleSync({ families: 3, states: 0xffe, maxSockets: all.size - 1 }),
    (err) => err instanceof tc.LimitError && err.code === 'ERR_TCPCENSUS_MAX_SOCKETS' && /more than \d+ sockets/.test(err.message),
  );
  await assert.rejects(native.sample({ families: 3, states: 0xffe, maxSockets: 1 }), tc.LimitError);
  assert.equal(native.sampleSync({ families: 3, states: 0xffe, maxSockets: all.size + 1000 }).size >= all.size - 100, true);
});

test('3,000 back-to-back topProcessesSync calls with 2,000 sockets keep RSS within 64 MB', (t) => {
  // In a child of its own, so this process's heap does not blur the figure.
  const script = `
    const tc = require(${JSON.stringify(h.ROOT)});
    const rss = () => process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) tc.topProcessesSync({ states: ['all'] });
    const base = rss();
    let max = base;
    for (let i = 0; i < 3000; i++) {
      tc.topProcessesSync({ states: ['all'] });
      if (i % 100 === 0) max = Math.max(max, rss());
    }
    max = Math.max(max, rss());
    process.stdout.write(JSON.stringify({ base, max }));`;
  const holder = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `
    const { spawnSync } = require('node:child_process');
    const h = require(${JSON.stringify(path.join(h.ROOT, 'test', 'helpers', 'index.ts'))});
    h.startHolder('tc-sync-mem', 2000).then(async (x) => {
      const r = spawnSync(process.execPath, ['-e', ${JSON.stringify(script)}], { encoding: 'utf8' });
      await x.stop();
      process.stdout.write(r.stdout); process.stderr.write(r.stderr);
      process.exit(r.status);
    });`,
    ],
    { encoding: 'utf8', timeout: 300000, cwd: h.ROOT },
  );
  assert.equal(holder.status, 0, holder.stderr);
  const { base, max } = JSON.parse(holder.stdout);
  const growth = (max - base) / 1e6;
  t.diagnostic(
    `RSS after a 200-call warm-up ${(base / 1e6).toFixed(0)} MB, highest over 3,000 calls ${(max / 1e6).toFixed(0)} MB (+${growth.toFixed(1)} MB)`,
  );
  assert.ok(growth < 64, `RSS grew ${growth.toFixed(1)} MB (from ${(base / 1e6).toFixed(0)} MB)`);
});

// release() frees an adopted table early (topProcesses does): a buffer it
// freed, one freed again after Node ran the buffers' finalizers, and one
// whose memory was handed on must never be touched again.
test('release frees each adopted buffer once: again the same tick, after the finalizers ran and after new allocations, it frees nothing', async () => {
  const code = `
    const { native } = require(${JSON.stringify(path.join(h.ROOT, 'dist', 'core/addon.js'))});
    const s = require('node:net').createServer().listen(0, '127.0.0.1', async () => {
      const bufsOf = (t) => Object.values(t).filter((v) => ArrayBuffer.isView(v)).map((v) => v.buffer);
      const a = await native.sample({ families: 3, states: 1 << 10, owners: false, threads: 1 });
      const bufs = bufsOf(a);
      const out = [native.release(bufs), native.release(bufs)];
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      out.push(native.release(bufs));
      for (let i = 0; i < 20; i++) await native.sample({ families: 3, states: 1 << 10, owners: false, threads: 1 });
      out.push(native.release(bufs), a.localPort.length, a.size);
      const copy = native.sampleSync({ families: 3, states: 1 << 10, owners: false, threads: 1 });
      out.push(native.release(bufsOf(copy)), copy.localPort.length === copy.size);
      s.close();
      process.stdout.write(JSON.stringify(out));
    });`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  const [first, again, afterFinalizers, afterNew, lengthAfter, size, copies, copyIntact] = JSON.parse(r.stdout);
  assert.ok(first >= 10, `the first release frees the table's columns (${first})`);
  assert.deepEqual([again, afterFinalizers, afterNew], [0, 0, 0]);
  assert.equal(lengthAfter, 0, 'a released column reads as empty');
  assert.ok(size >= 1);
  assert.equal(copies, 0, "copies (Sync results) are not the addon's to free");
  assert.equal(copyIntact, true);
});

// A worker thread that exits while a call of ours is on the pool: its
// environment is gone when the call completes, so settling the promise
// fails; that must end the worker alone, not abort the whole process.
test('a worker that exits with a sample or a batch in flight ends alone; the process lives on', () => {
  const code = `
    const { Worker, isMainThread, workerData } = require('node:worker_threads');
    const addon = ${JSON.stringify(path.join(h.ROOT, 'dist', 'core/addon.js'))};
    if (isMainThread) {
      (async () => {
        for (const mode of ['sample', 'batch', 'failed batch']) {
          for (let i = 0; i < 8; i++) await new Promise((r) => new Worker(__filename, { workerData: mode }).on('exit', r));
        }
        process.stdout.write('alive');
      })();
    } else {
      const { native } = require(addon);
      if (workerData === 'sample') native.sample({ families: 3, states: 0xffe, owners: false, threads: 1 }).catch(() => {});
      else {
        if (workerData === 'failed batch') native.failNext('run');
        native.nextBatch(native.openDump({ families: 3, states: 0xffe }), 1).catch(() => {});
      }
      process.exit(0);
    }`;
  const dir = h.tempDir();
  const file = path.join(dir, 'workers.js');
  fs.writeFileSync(file, code);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120000 });
  h.removeTempDir(dir);
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr.slice(0, 300)}`);
  assert.equal(r.stdout, 'alive');
});
