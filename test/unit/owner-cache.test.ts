/**
 * The sampler's owner cache (src/sampler/owner-cache.ts), rule by rule from
 * its header comment, against a fake /proc: processes with a start time and
 * an fd table, answering findOwners and startTimes as the addon does
 * (native/owners/owners.h: probes first, then firstPids in order and the
 * rest ascending, the first holder wins, the walk stops once every wanted
 * inode is found). No root, no addon: the test fails if a .node file loads.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { COLUMNS, type ColumnName } from '../../src/core/columns';
import type { RawFindOptions, RawFound, RawOwners, RawProcess, RawSampleResult, RawTable } from '../../src/core/raw';
import { OwnerCache, type OwnedRows, type OwnerLookups } from '../../src/sampler/owner-cache';

interface FakeProcess {
  start: number;
  comm: string;
  /** fd -> socket inode. */
  fds: Map<number, number>;
  /** Fds in its directory (sockets and the rest); default: its sockets. */
  fdCount?: number;
  /** Exits while being read: its start time reads as 0. */
  exiting?: boolean;
}

/** What one findOwners call was asked, and how it was answered. */
interface FindCall {
  seq: number;
  how: 'probes' | 'pids' | 'every process';
  inodes: number[];
  pids: number[] | null;
  probes: Array<[number, number]>;
}

class FakeProc implements OwnerLookups {
  procs = new Map<number, FakeProcess>();
  source: 'proc' | 'bpf' = 'proc';
  /** Milliseconds a walk of every process takes (a wide walk). */
  wideWalkMs = 0;
  seq = 0;
  finds: FindCall[] = [];
  starts: Array<{ seq: number; pids: number[] }> = [];

  spawn(pid: number, start: number, sockets: Record<number, number> = {}, extra: Partial<FakeProcess> = {}): void {
    this.procs.set(pid, { start, comm: `p${pid}`, fds: new Map(Object.entries(sockets).map(([fd, ino]) => [Number(fd), ino])), ...extra });
  }

  findOwners = async (o: RawFindOptions): Promise<RawFound> => {
    const probes: Array<[number, number]> = [];
    for (let n = 0; o.probes && n < o.probes.length; n += 2) probes.push([o.probes[n]!, o.probes[n + 1]!]);
    const how = o.probesOnly ? 'probes' : o.pids ? 'pids' : 'every process';
    this.finds.push({ seq: this.seq, how, inodes: [...o.inodes], pids: o.pids ? [...o.pids] : null, probes });
    if (how === 'every process' && this.wideWalkMs > 0) await new Promise((r) => setTimeout(r, this.wideWalkMs));
    const wanted = new Set([...o.inodes].filter((i) => i !== 0));
    const winner = new Map<number, number>();
    const claims: Array<[number, number, number]> = [];
    const walkedPids = new Set<number>();
    const claim = (pid: number, fd: number, inode: number) => {
      if (!wanted.has(inode)) return;
      claims.push([pid, fd, inode]);
      if (!winner.has(inode)) winner.set(inode, pid);
    };
    for (const [pid, fd] of probes) {
      const ino = this.procs.get(pid)?.fds.get(fd);
      if (ino !== undefined) claim(pid, fd, ino);
    }
    let complete = true;
    if (!o.probesOnly && winner.size < wanted.size) {
      const first = [...(o.firstPids ?? [])];
      const rest = [...(o.pids ?? this.procs.keys())].filter((p) => !first.includes(p)).sort((a, b) => a - b);
      const order = o.pids ? first.filter((p) => o.pids!.includes(p)).concat(rest) : first.concat(rest);
      for (const pid of order) {
        if (winner.size === wanted.size) {
          complete = false;
          break;
        }
        const p = this.procs.get(pid);
        if (!p) continue;
        walkedPids.add(pid);
        for (const [fd, ino] of p.fds) claim(pid, fd, ino);
      }
    }
    const owner = Int32Array.from(o.inodes, (i) => winner.get(i) ?? 0);
    const holders = new Map<number, Set<number>>();
    for (const [pid, , ino] of claims) holders.set(ino, (holders.get(ino) ?? new Set()).add(pid));
    const sockets = new Map<number, number>();
    for (const pid of owner) if (pid) sockets.set(pid, (sockets.get(pid) ?? 0) + 1);
    const processes: RawProcess[] = [...sockets]
      .sort((a, b) => a[0] - b[0])
      .map(([pid, n]) => {
        const p = this.procs.get(pid)!;
        return {
          pid,
          comm: p.comm,
          cmdline: `${p.comm} --serve`,
          sockets: n,
          startTime: p.exiting ? 0 : p.start,
          fds: walkedPids.has(pid) ? (p.fdCount ?? p.fds.size) : 0,
        };
      });
    return {
      owner,
      processes,
      wanted: wanted.size,
      found: winner.size,
      shared: [...holders.values()].filter((h) => h.size > 1).length,
      unreadable: 0,
      vanished: 0,
      walked: walkedPids.size,
      candidates: this.procs.size,
      complete,
      failedPids: new Int32Array(0),
      failedErrnos: new Int32Array(0),
      failedCalls: [],
      source: this.source,
      fallback: null,
      claimPids: Int32Array.from(claims, (c) => c[0]),
      claimFds: Int32Array.from(claims, (c) => c[1]),
      claimInodes: Uint32Array.from(claims, (c) => c[2]),
    };
  };

  startTimes = async (pids: Int32Array): Promise<Float64Array> => {
    this.starts.push({ seq: this.seq, pids: [...pids] });
    return Float64Array.from(pids, (pid) => this.procs.get(pid)?.start ?? 0);
  };

  findsAt(seq: number): FindCall[] {
    return this.finds.filter((f) => f.seq === seq);
  }
}

/** A dump's rows: each socket by inode (0: held by no process) and cookie (default: its inode). */
type Socket = number | { inode: number; cookie: number };

function table(sockets: Socket[]): RawTable {
  const size = sockets.length;
  const t = { size } as RawTable;
  for (const name of Object.keys(COLUMNS) as ColumnName[]) {
    const [Ctor, width] = COLUMNS[name];
    (t as unknown as Record<string, unknown>)[name] = new Ctor(size * width);
  }
  sockets.forEach((s, i) => {
    const { inode, cookie } = typeof s === 'number' ? { inode: s, cookie: s } : s;
    t.inode[i] = inode;
    t.cookie[i] = BigInt(cookie) + (1n << 40n); // both 32-bit halves in use
  });
  return t;
}

function newCache(proc: FakeProc, fullEvery = 100, ownerSource = 'proc'): OwnerCache {
  return new OwnerCache({ threads: 1, procRoot: undefined, ownerSource, fullEvery }, proc);
}

/** One sample as the sampler takes it: validate (meant to overlap the dump), then attribute every row. */
async function sample(cache: OwnerCache, proc: FakeProc, seq: number, sockets: Socket[], dumpMs = 0): Promise<OwnedRows> {
  proc.seq = seq;
  const gone = await cache.validate(seq);
  const t = table(sockets);
  return cache.attribute(t, Uint32Array.from(sockets.keys()), seq, gone, dumpMs, sockets.length);
}

/** Owner per inode, in the rows' order. */
const owners = (r: OwnedRows, sockets: Socket[]) => Object.fromEntries(sockets.map((s, i) => [typeof s === 'number' ? s : s.inode, r.owner[i]]));

function twoServers(): FakeProc {
  const proc = new FakeProc();
  proc.spawn(100, 5000, { 3: 11, 4: 12 });
  proc.spawn(200, 6000, { 5: 21 });
  return proc;
}

test('the cache loads no addon: its rules run without root or a .node file', () => {
  const loaded = Object.keys(require.cache);
  assert.ok(
    loaded.some((f) => f.endsWith('owner-cache.ts')),
    'require.cache is where the cache was loaded',
  );
  assert.deepEqual(
    loaded.filter((f) => f.endsWith('.node')),
    [],
  );
});

test('the first sample is a full attribution: every wanted socket, every process', async () => {
  const proc = twoServers();
  const cache = newCache(proc);
  const rows = [11, 12, 21];
  const r = await sample(cache, proc, 1, rows);
  assert.deepEqual(owners(r, rows), { 11: 100, 12: 100, 21: 200 });
  assert.deepEqual(
    proc.findsAt(1).map((f) => f.how),
    ['every process'],
  );
  assert.deepEqual(proc.starts, [], 'no start times to check before anything is known');
  assert.equal(r.stats.full, true);
  assert.equal(r.stats.lookedUp, 3);
  assert.equal(r.stats.cached, 0);
  assert.equal(r.stats.source, 'proc');
  assert.deepEqual([...r.processes.keys()].sort(), [100, 200]);
  assert.equal(r.processes.get(100)!.sockets, 2);
  assert.equal(r.processes.get(100)!.comm, 'p100');
  assert.equal(r.processes.get(200)!.sockets, 1);
});

test("cached owners are reused: the next sample reads only the owners' start times, and looks nothing up", async () => {
  const proc = twoServers();
  const cache = newCache(proc);
  const rows = [11, 12, 21];
  await sample(cache, proc, 1, rows);
  const r = await sample(cache, proc, 2, rows);
  assert.deepEqual(owners(r, rows), { 11: 100, 12: 100, 21: 200 });
  assert.deepEqual(proc.findsAt(2), [], 'no findOwners in a sample whose sockets are all known');
  assert.deepEqual(proc.starts, [{ seq: 2, pids: [100, 200] }], 'one start time per owning process');
  assert.equal(r.stats.full, false);
  assert.equal(r.stats.cached, 3);
  assert.equal(r.stats.lookedUp, 0);
  assert.equal(r.stats.pending, 0);
  assert.equal(r.processes.get(100)!.sockets, 2);
});

test('a socket is known by inode and cookie: an inode that comes back on another socket is looked up again', async () => {
  const proc = twoServers();
  const cache = newCache(proc);
  await sample(cache, proc, 1, [11, 12, 21]);
  // Socket 11 closed; a new socket in process 200 got the same inode number.
  proc.procs.get(100)!.fds.delete(3);
  proc.procs.get(200)!.fds.set(7, 11);
  const rows: Socket[] = [{ inode: 11, cookie: 999 }, 12, 21];
  const r = await sample(cache, proc, 2, rows);
  assert.deepEqual(owners(r, rows), { 11: 200, 12: 100, 21: 200 }, "never blamed on the old socket's owner");
  assert.equal(r.stats.cached, 2);
  assert.equal(r.stats.lookedUp, 1);
  assert.ok(
    proc.findsAt(2).every((f) => f.inodes.length === 1 && f.inodes[0] === 11),
    'only the new socket is looked up',
  );
});

test('a new socket in a freed fd slot is found by a probe of that slot, walking no fd directory', async () => {
  const proc = twoServers();
  const cache = newCache(proc);
  await sample(cache, proc, 1, [11, 12, 21]);
  // 12 closed and its fd (4) taken by a new socket, 13: a process reuses its lowest free fd.
  proc.procs.get(100)!.fds.set(4, 13);
  const rows = [11, 13, 21];
  const r = await sample(cache, proc, 2, rows);
  assert.deepEqual(owners(r, rows), { 11: 100, 13: 100, 21: 200 });
  const finds = proc.findsAt(2);
  assert.equal(finds.length, 1);
  assert.equal(finds[0]!.how, 'probes');
  assert.deepEqual(finds[0]!.probes, [[100, 4]]);
  assert.deepEqual(finds[0]!.inodes, [13]);
  assert.equal(r.stats.probed, 1);
  assert.equal(r.stats.lookedUp, 1);
  assert.equal(r.stats.cached, 2);
  assert.equal(r.stats.walkedProcesses, 0);
});

test('a new socket elsewhere is looked for in the recent owners that are cheap to walk, in the same sample', async () => {
  const proc = twoServers();
  proc.spawn(300, 7000, { 3: 31 }, { fdCount: 5000 }); // more fds than a small host's budget (1024)
  const cache = newCache(proc);
  await sample(cache, proc, 1, [11, 12, 21, 31]);
  proc.procs.get(200)!.fds.set(9, 22);
  const rows = [11, 12, 21, 31, 22];
  const r = await sample(cache, proc, 2, rows);
  assert.equal(owners(r, rows)[22], 200);
  const finds = proc.findsAt(2);
  assert.deepEqual(
    finds.map((f) => f.how),
    ['pids'],
    'no probe (no slot was freed), no walk of every process',
  );
  assert.deepEqual(finds[0]!.pids!.sort(), [100, 200], 'the owner with 5000 fds is not walked so');
  assert.equal(r.stats.lookedUp, 1);
  assert.equal(r.stats.pending, 0);
  assert.equal(r.stats.walkedProcesses, 2);
});

test('recent owners walked in vain sit out 2, 4, ... samples, then are walked again for new sockets', async () => {
  const proc = twoServers();
  const cache = newCache(proc);
  const rows = [11, 12, 21];
  await sample(cache, proc, 1, rows);
  // Every sample a new socket held by no process the cache can read.
  const walkedFor = (seq: number) => proc.findsAt(seq).some((f) => f.how === 'pids' && f.inodes.includes(1000 + seq));
  const walks: number[] = [];
  for (let seq = 2; seq <= 12; seq++) {
    rows.push(1000 + seq);
    const r = await sample(cache, proc, seq, rows);
    assert.equal(owners(r, rows)[1000 + seq], 0);
    if (walkedFor(seq)) walks.push(seq);
  }
  assert.deepEqual(walks, [2, 4, 8], 'in vain at 2: not at 3; at 4: not at 5 to 7; at 8');
  // In vain at 8: sitting out until 16. A new socket of 200 at 13 is found by the pending rules meanwhile.
  proc.procs.get(200)!.fds.set(9, 22);
  for (let seq = 13; seq <= 16; seq++) {
    await sample(cache, proc, seq, [...rows, 22]);
    assert.ok(!proc.findsAt(seq).some((f) => f.how === 'pids' && f.inodes.includes(22) && seq < 14), `sample ${seq}: 200 not walked the same sample`);
  }
  proc.procs.get(200)!.fds.set(10, 23);
  const r = await sample(cache, proc, 17, [...rows, 22, 23]);
  assert.equal(owners(r, [...rows, 22, 23])[23], 200, 'at 17 found the same sample, by walking the recent owners');
  assert.deepEqual(
    proc.findsAt(17).map((f) => [f.how, f.inodes]),
    [['pids', [23]]],
  );
  assert.equal(r.stats.pending, 0);
});

test('a socket not found at once is pending, not walked for in that sample; one gone by the next sample never costs a walk of /proc', async () => {
  const proc = twoServers();
  const cache = newCache(proc);
  await sample(cache, proc, 1, [11, 12, 21]);
  const r2 = await sample(cache, proc, 2, [11, 12, 21, 77]);
  assert.equal(r2.stats.pending, 1);
  assert.equal(owners(r2, [11, 12, 21, 77])[77], 0);
  assert.ok(proc.findsAt(2).every((f) => f.how !== 'every process'));
  const r3 = await sample(cache, proc, 3, [11, 12, 21]);
  assert.deepEqual(proc.findsAt(3), [], 'it left: nothing is looked up');
  assert.equal(r3.stats.pending, 0);
  assert.equal(r3.stats.cached, 3);
});

test('a pending socket still there is looked for among the known owners, then in every process', async () => {
  const proc = twoServers();
  proc.spawn(400, 8000, {}); // holds no socket yet: not a known owner
  const cache = newCache(proc);
  const rows = [11, 12, 21, 41];
  await sample(cache, proc, 1, [11, 12, 21]);
  await sample(cache, proc, 2, rows); // 41 not held yet (a connection being set up): pending
  proc.procs.get(400)!.fds.set(3, 41);
  const r3 = await sample(cache, proc, 3, rows);
  assert.deepEqual(
    proc.findsAt(3).map((f) => [f.how, f.pids]),
    [['pids', [100, 200]]],
    'among the known owners first',
  );
  assert.equal(owners(r3, rows)[41], 0);
  assert.equal(r3.stats.pending, 1);
  const r4 = await sample(cache, proc, 4, rows);
  assert.deepEqual(
    proc.findsAt(4).map((f) => f.how),
    ['pids', 'every process'],
    'the recent owners again (their sit-out is over), then every process',
  );
  assert.equal(owners(r4, rows)[41], 400);
  assert.equal(r4.stats.pending, 0);
  const r5 = await sample(cache, proc, 5, rows);
  assert.deepEqual(proc.findsAt(5), [], 'then known');
  assert.equal(r5.stats.cached, 4);
});

test('unattributed: a socket no process is found holding, even by a walk of every process, waits for the next full attribution', async () => {
  const proc = twoServers();
  const cache = newCache(proc, 8);
  const rows = [11, 12, 21, 0, 77];
  await sample(cache, proc, 1, [11, 12, 21]);
  for (let seq = 2; seq <= 4; seq++) await sample(cache, proc, seq, rows); // pending, among the owners, every process
  assert.deepEqual(
    proc.finds.filter((f) => f.inodes.includes(77)).map((f) => [f.seq, f.how]),
    [
      [2, 'pids'],
      [3, 'pids'],
      [4, 'pids'],
      [4, 'every process'],
    ],
    'recent owners at 2 (same sample), known owners at 3, recent owners again and every process at 4',
  );
  for (let seq = 5; seq <= 8; seq++) {
    const r = await sample(cache, proc, seq, rows);
    assert.deepEqual(proc.findsAt(seq), [], `sample ${seq}: not looked for again`);
    assert.equal(owners(r, rows)[77], 0);
    assert.equal(r.stats.pending, 0, 'unattributed is not pending');
    assert.equal(r.stats.lookedUp, 0);
    assert.equal(r.stats.cached, 3);
    assert.deepEqual([...r.processes.keys()].sort(), [100, 200], 'no process for an unattributed row');
  }
  const full = await sample(cache, proc, 9, rows);
  assert.equal(full.stats.full, true);
  assert.ok(proc.findsAt(9)[0]!.inodes.includes(77), 'looked up again by the full attribution');
  assert.equal(owners(full, rows)[77], 0);
});

test('a row with no inode (no process holds it) is never looked up and has no owner', async () => {
  const proc = twoServers();
  const cache = newCache(proc);
  const rows = [11, 0, 12, 0, 21];
  const r1 = await sample(cache, proc, 1, rows);
  assert.equal(r1.stats.lookedUp, 3);
  const r2 = await sample(cache, proc, 2, rows);
  assert.deepEqual([r2.owner[1], r2.owner[3]], [0, 0]);
  assert.deepEqual(proc.findsAt(2), []);
  assert.equal(r2.stats.cached, 3);
  assert.equal(r2.stats.pending, 0);
});

test('pid reuse: an owner whose start time changed is dropped, and its socket never blamed on the new process', async () => {
  const proc = new FakeProc();
  proc.spawn(100, 5000, { 3: 11 });
  proc.spawn(300, 9000, { 3: 11 }); // its child, holding the same socket
  proc.spawn(200, 6000, { 5: 21 });
  const cache = newCache(proc);
  const rows = [11, 21];
  const r1 = await sample(cache, proc, 1, rows);
  assert.equal(owners(r1, rows)[11], 100, 'lowest pid wins in a full attribution');
  // 100 exits; its pid is reused by a process that holds no socket.
  proc.spawn(100, 9500, {});
  const r2 = await sample(cache, proc, 2, rows);
  assert.deepEqual(proc.starts.at(-1), { seq: 2, pids: [100, 200] });
  assert.notEqual(owners(r2, rows)[11], 100);
  assert.equal(r2.stats.cached, 1, '21 only');
  assert.equal(r2.processes.has(100), false);
  let seq = 2;
  let r = r2;
  while (owners(r, rows)[11] === 0 && seq < 6) r = await sample(cache, proc, ++seq, rows);
  assert.equal(owners(r, rows)[11], 300, 'found with the process that holds it');
  assert.equal(r.processes.get(300)!.startTime, 9000);
});

test("an owner that exited (no start time) is dropped with its sockets' entries", async () => {
  const proc = twoServers();
  const cache = newCache(proc);
  await sample(cache, proc, 1, [11, 12, 21]);
  proc.procs.delete(200);
  const r = await sample(cache, proc, 2, [11, 12, 21]);
  assert.equal(r.owner[2], 0);
  assert.equal(r.stats.cached, 2);
  assert.equal(r.processes.has(200), false);
  await sample(cache, proc, 3, [11, 12]);
  assert.deepEqual(proc.starts.at(-1), { seq: 3, pids: [100] }, 'its start time is not read again');
});

test('an owner whose start time could not be read in the walk (exiting) is used for that sample, not remembered', async () => {
  const proc = twoServers();
  proc.spawn(200, 6000, { 5: 21 }, { exiting: true });
  const cache = newCache(proc);
  const rows = [11, 12, 21];
  const r1 = await sample(cache, proc, 1, rows);
  assert.equal(owners(r1, rows)[21], 200);
  assert.equal(r1.processes.get(200)!.comm, 'p200', 'named from the walk');
  const r2 = await sample(cache, proc, 2, rows);
  assert.equal(r2.stats.cached, 2);
  assert.equal(r2.stats.lookedUp, 1);
  assert.deepEqual(proc.starts.at(-1), { seq: 2, pids: [100] });
});

test('a full attribution every fullEvery samples, which catches a socket passed to another process', async () => {
  const proc = twoServers();
  const cache = newCache(proc, 3);
  const rows = [11, 12, 21];
  const full: boolean[] = [];
  let last: OwnedRows | undefined;
  for (let seq = 1; seq <= 7; seq++) {
    if (seq === 2) proc.spawn(50, 4000, { 8: 11 }); // 11 passed to pid 50 too (SCM_RIGHTS)
    last = await sample(cache, proc, seq, rows);
    full.push(last.stats.full);
    if (seq === 3) assert.equal(owners(last, rows)[11], 100, 'between two full ones the cached holder stays');
    if (seq === 4) assert.equal(owners(last, rows)[11], 50, 'the full one puts it under the lowest pid');
  }
  assert.deepEqual(full, [true, false, false, true, false, false, true]);
  assert.deepEqual(
    proc.starts.map((s) => s.seq),
    [2, 3, 5, 6],
    'no start times read before a full one',
  );
  for (const seq of [1, 4, 7])
    assert.deepEqual(
      proc.findsAt(seq).map((f) => [f.how, f.inodes.length]),
      [['every process', 3]],
    );
  assert.equal(last!.stats.lookedUp, 3);
});

test('wide walks are paced: one that took W ms waits until later samples paid max(25 ms, 10% of their dump) towards it', async () => {
  // Owners too big to walk the same sample: only the paced walks look for a pending socket.
  const proc = new FakeProc();
  proc.spawn(100, 5000, { 3: 11, 4: 12 }, { fdCount: 5000 });
  proc.spawn(200, 6000, { 5: 21 }, { fdCount: 5000 });
  const cache = newCache(proc);
  const base = [11, 12, 21];
  await sample(cache, proc, 1, base);
  await sample(cache, proc, 2, [...base, 77]); // pending
  await sample(cache, proc, 3, [...base, 77]); // among the owners (quick)
  assert.deepEqual(
    proc.finds.map((f) => [f.seq, f.how]),
    [
      [1, 'every process'],
      [3, 'pids'],
    ],
  );
  proc.wideWalkMs = 60;
  await sample(cache, proc, 4, [...base, 77, 88]); // 77 in every process: 60 ms at least; 88 pending
  assert.deepEqual(
    proc
      .findsAt(4)
      .filter((f) => f.how === 'every process')
      .map((f) => f.inodes),
    [[77]],
  );
  // 5 and 6 pay 25 ms each: not yet 60.
  for (const seq of [5, 6]) {
    await sample(cache, proc, seq, [...base, 77, 88]);
    assert.deepEqual(
      proc.findsAt(seq).filter((f) => f.inodes.includes(88) && f.how !== 'probes'),
      [],
      `sample ${seq}: 88 waits`,
    );
  }
  let seq = 6;
  while (proc.finds.filter((f) => f.inodes.includes(88) && f.seq > 6).length === 0 && seq < 20) await sample(cache, proc, ++seq, [...base, 77, 88]);
  assert.deepEqual(
    proc.finds.filter((f) => f.inodes.includes(88) && f.seq > 6).map((f) => f.pids),
    [[100, 200]],
    'then looked for among the owners',
  );
});

test('a sample whose dump took long pays 10% of it towards the last wide walk', async () => {
  // Owners too big to walk the same sample: only the paced walks look for a pending socket.
  const proc = new FakeProc();
  proc.spawn(100, 5000, { 3: 11, 4: 12 }, { fdCount: 5000 });
  proc.spawn(200, 6000, { 5: 21 }, { fdCount: 5000 });
  const cache = newCache(proc);
  const base = [11, 12, 21];
  await sample(cache, proc, 1, base);
  await sample(cache, proc, 2, [...base, 77]);
  await sample(cache, proc, 3, [...base, 77]);
  proc.wideWalkMs = 60;
  await sample(cache, proc, 4, [...base, 77, 88]);
  await sample(cache, proc, 5, [...base, 77, 88], 10_000); // pays 1000 ms
  assert.deepEqual(
    proc
      .findsAt(5)
      .filter((f) => f.inodes.includes(88))
      .map((f) => f.pids),
    [[100, 200]],
  );
});

test('eBPF as the owner source: every sample a full attribution, nothing validated, owners then joined in the dump', async () => {
  const proc = twoServers();
  proc.source = 'bpf';
  const cache = newCache(proc, 100, 'auto');
  const rows = [11, 12, 21];
  assert.equal(cache.joinsInDump(), false, 'not before the iterator answered');
  for (let seq = 1; seq <= 3; seq++) {
    const r = await sample(cache, proc, seq, rows);
    assert.equal(r.stats.full, true);
    assert.equal(r.stats.source, 'bpf');
    assert.equal(r.stats.cached, 0);
    assert.deepEqual(owners(r, rows), { 11: 100, 12: 100, 21: 200 });
    assert.deepEqual(
      proc.findsAt(seq).map((f) => f.how),
      ['every process'],
    );
  }
  assert.deepEqual(proc.starts, [], 'no start times: nothing is trusted from an earlier sample');
  assert.equal(cache.joinsInDump(), true);
});

function dumpWithOwners(sockets: number[], source: 'bpf' | 'proc', byInode: Record<number, number>): RawSampleResult {
  const t = table(sockets);
  const owner = Int32Array.from(sockets, (i) => byInode[i] ?? 0);
  const pids = [...new Set(owner)].filter((p) => p !== 0).sort((a, b) => a - b);
  const owners: RawOwners = {
    owner,
    processes: pids.map((pid) => ({ pid, comm: `p${pid}`, cmdline: '', sockets: owner.filter((p) => p === pid).length, startTime: 1, fds: 0 })),
    wanted: sockets.filter((i) => i !== 0).length,
    found: owner.filter((p) => p !== 0).length,
    shared: 0,
    unreadable: 0,
    vanished: 0,
    walked: pids.length,
    candidates: pids.length,
    complete: true,
    failedPids: new Int32Array(0),
    failedErrnos: new Int32Array(0),
    failedCalls: [],
    source,
    fallback: source === 'proc' ? 'bpf(BPF_PROG_LOAD) failed: Operation not permitted (EPERM)' : null,
  };
  return {
    ...t,
    owners,
    source: 'netlink',
    sourceFallback: null,
    netnsInode: 1,
    missing: [],
    tally: { ipv4: new Float64Array(16), ipv6: new Float64Array(16), unowned: new Float64Array(16) },
  };
}

test("owners from the dump (fromDump): the dump's owners as a full attribution; a walk answering instead makes the next sample a full one", async () => {
  const proc = twoServers();
  proc.source = 'bpf';
  const cache = newCache(proc, 100, 'auto');
  await sample(cache, proc, 1, [11, 12, 21]);
  const sockets = [11, 12, 21, 0];
  const r2 = cache.fromDump(dumpWithOwners(sockets, 'bpf', { 11: 100, 12: 100, 21: 200 }), Uint32Array.from(sockets.keys()), 2);
  assert.deepEqual([...r2.owner], [100, 100, 200, 0]);
  assert.deepEqual(
    { full: r2.stats.full, source: r2.stats.source, lookedUp: r2.stats.lookedUp, cached: r2.stats.cached },
    { full: true, source: 'bpf', lookedUp: 3, cached: 0 },
  );
  assert.equal(r2.processes.get(100)!.sockets, 2);
  assert.equal(cache.joinsInDump(), true);
  assert.equal(proc.finds.length, 1, 'no look-up of its own');
  // The iterator failed this time and 'auto' walked /proc in the dump instead.
  const r3 = cache.fromDump(dumpWithOwners(sockets, 'proc', { 11: 100, 12: 100, 21: 200 }), Uint32Array.from(sockets.keys()), 3);
  assert.equal(r3.stats.source, 'proc');
  assert.match(r3.stats.fallback!, /BPF_PROG_LOAD/);
  assert.equal(cache.joinsInDump(), false);
  proc.source = 'proc';
  const r4 = await sample(cache, proc, 4, [11, 12, 21]);
  assert.equal(r4.stats.full, true, 'the cache is empty: a full attribution, not an incremental one');
  assert.deepEqual(proc.starts, []);
  assert.deepEqual(owners(r4, [11, 12, 21]), { 11: 100, 12: 100, 21: 200 });
  const r5 = await sample(cache, proc, 5, [11, 12, 21]);
  assert.equal(r5.stats.full, false, 'the walk answered: incremental from here');
  assert.equal(r5.stats.cached, 3);
});

test('and still no addon loaded after every rule ran', () => {
  assert.deepEqual(
    Object.keys(require.cache).filter((f) => f.endsWith('.node')),
    [],
  );
  assert.ok(!Object.keys(require.cache).some((f) => /core[/\\](addon|runner)\./.test(f)), 'neither the loader nor the runner');
});
