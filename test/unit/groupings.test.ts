/**
 * src/report/groupings.ts and src/report/top.ts: each --by grouping over a
 * socket table built by hand in the addon's columnar layout (core/columns.ts),
 * no addon. The rules are docs/cli.md's ("top"): owner groupings never count
 * sockets held by no process (inode 0: TIME_WAIT, orphans, request sockets;
 * the kernel reports uid 0 for them), the endpoint groupings count sockets,
 * those included; by cgroup a socket without a cgroup id is the unowned one.
 * Rows rank by count, then by key; addresses read as inet_ntop(3) writes them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { COLUMNS, type ColumnName } from '../../src/core/columns';
import type { RawDumpInfo, RawProcess, RawTable } from '../../src/core/raw';
import { GROUPINGS } from '../../src/report/groupings';
import { topReport } from '../../src/report/top';
import { buildRequest } from '../../src/request/options';
import { stateNumber, type StateName } from '../../src/request/states';
import { TOP_BY, type TopBy } from '../../src/types';

interface Sock {
  state?: StateName;
  family?: 4 | 6;
  remote?: number[];
  remotePort?: number;
  localPort?: number;
  uid?: number;
  inode?: number;
  cgroupId?: bigint;
  owner?: number;
}

function table(socks: Sock[], processes: RawProcess[] = []): RawTable & RawDumpInfo {
  const n = socks.length;
  const cols = Object.fromEntries(
    (Object.entries(COLUMNS) as Array<[ColumnName, (typeof COLUMNS)[ColumnName]]>).map(([name, [Ctor, width]]) => [name, new Ctor(n * width)]),
  ) as unknown as RawTable;
  socks.forEach((s, i) => {
    cols.state[i] = stateNumber(s.state ?? 'CLOSE_WAIT');
    cols.family[i] = s.family ?? 4;
    cols.remoteAddr.set(s.remote ?? [127, 0, 0, 1], i * 16);
    cols.remotePort[i] = s.remotePort ?? 5000;
    cols.localPort[i] = s.localPort ?? 80;
    cols.uid[i] = s.uid ?? 1000;
    cols.inode[i] = s.inode ?? 100 + i;
    cols.cgroupId[i] = s.cgroupId ?? 0n;
  });
  const owner = Int32Array.from(socks.map((s) => s.owner ?? 0));
  return {
    ...cols,
    size: n,
    source: 'netlink',
    sourceFallback: null,
    netnsInode: 1,
    missing: [],
    owners: {
      owner,
      processes,
      wanted: n,
      found: n,
      shared: 0,
      unreadable: 0,
      vanished: 0,
      walked: 1,
      candidates: 1,
      complete: true,
      failedPids: new Int32Array(),
      failedErrnos: new Int32Array(),
      failedCalls: [],
      source: 'proc',
      fallback: null,
    },
  };
}

const report = (by: TopBy, t: RawTable & RawDumpInfo, labels = {}) =>
  topReport(buildRequest('topProcesses', { by, states: ['all'] }), t, labels, () => 0);

test('every grouping has an entry with a title and columns, and every column a header', () => {
  for (const by of TOP_BY) {
    const g = GROUPINGS[by];
    assert.ok(g.title.length > 0, by);
    for (const c of [...g.columns, ...g.watchColumns]) assert.ok(c.header.length > 0, `${by}: a column without a header`);
  }
});

test('by remote: one row per peer address and port, IPv6 in brackets, the unowned ones counted too', () => {
  const t = table([
    { remote: [10, 0, 0, 1], remotePort: 443 },
    { remote: [10, 0, 0, 1], remotePort: 443, inode: 0, state: 'TIME_WAIT' },
    { remote: [10, 0, 0, 1], remotePort: 444 },
    { family: 6, remote: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], remotePort: 443 },
  ]);
  const r = report('remote', t);
  assert.deepEqual(
    r.rows.map((x) => [x.key, x.count]),
    [
      ['10.0.0.1:443', 2],
      ['10.0.0.1:444', 1],
      ['[2001:db8::1]:443', 1],
    ],
  );
  assert.equal(r.unowned, 1);
  assert.equal(GROUPINGS.remote.countsUnowned, true);
});

test('by remote-host and by local-port: grouped by address alone, by port alone', () => {
  const t = table([
    { remote: [10, 0, 0, 2], remotePort: 1, localPort: 8080 },
    { remote: [10, 0, 0, 2], remotePort: 2, localPort: 8080 },
    { remote: [10, 0, 0, 3], localPort: 22 },
  ]);
  assert.deepEqual(
    report('remote-host', t).rows.map((x) => [x.key, x.count]),
    [
      ['10.0.0.2', 2],
      ['10.0.0.3', 1],
    ],
  );
  assert.deepEqual(
    report('local-port', t).rows.map((x) => [x.key, x.localPort, x.count]),
    [
      ['8080', 8080, 2],
      ['22', 22, 1],
    ],
  );
});

test("by user: sockets held by no process are in no user's row (the kernel says uid 0 for them)", () => {
  const t = table([{ uid: 1000 }, { uid: 1000 }, { uid: 0, inode: 0, state: 'TIME_WAIT' }, { uid: 33 }]);
  const r = report('user', t, {
    users: new Map([
      [1000, 'alice'],
      [33, 'www-data'],
    ]),
  });
  assert.deepEqual(
    r.rows.map((x) => [x.key, x.uid, x.count]),
    [
      ['alice', 1000, 2],
      ['www-data', 33, 1],
    ],
  );
  assert.equal(r.unowned, 1);
});

test('by cgroup: a socket with no cgroup id is the unowned one, whatever its inode', () => {
  const t = table([{ cgroupId: 7n }, { cgroupId: 7n }, { cgroupId: 0n }, { cgroupId: 9n, inode: 0 }]);
  const labels = {
    cgroups: new Map([
      [7n, { path: '/system.slice/a.service', name: 'a.service', unit: 'a.service' }],
      [9n, { path: null, name: '(removed)' }],
    ]),
  };
  const r = report('cgroup', t, labels);
  assert.deepEqual(
    r.rows.map((x) => [x.key, x.count, x.name]),
    [
      ['/system.slice/a.service', 2, 'a.service'],
      ['cgroup id 9', 1, '(removed)'],
    ],
  );
  assert.equal(r.unowned, 1);
});

test('by process and by command: rows are the owners; ties rank by key; the limit cuts', () => {
  const procs: RawProcess[] = [
    { pid: 20, comm: 'nginx', cmdline: 'nginx: worker', sockets: 2, startTime: 1, fds: 3 },
    { pid: 10, comm: 'nginx', cmdline: 'nginx: worker', sockets: 2, startTime: 1, fds: 3 },
    { pid: 30, comm: 'java', cmdline: 'java -jar x', sockets: 1, startTime: 1, fds: 3 },
  ];
  const t = table([{ owner: 20 }, { owner: 20 }, { owner: 10 }, { owner: 10 }, { owner: 30 }, { inode: 0, state: 'TIME_WAIT' }], procs);
  const byProcess = report('process', t);
  assert.deepEqual(
    byProcess.rows.map((x) => [x.pid, x.count]),
    [
      [10, 2],
      [20, 2],
      [30, 1],
    ],
  );
  assert.equal(byProcess.unowned, 1);
  assert.equal(byProcess.owned, 5);
  assert.deepEqual(
    report('command', t).rows.map((x) => [x.command, x.pids, x.count]),
    [
      ['nginx', 2, 4],
      ['java', 1, 1],
    ],
  );
  const limited = topReport(buildRequest('topProcesses', { by: 'process', states: ['all'], limit: 1 }), t, {}, () => 0);
  assert.deepEqual(
    limited.rows.map((x) => x.pid),
    [10],
  );
});
