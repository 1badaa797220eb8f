// The /proc/net/tcp source through the CLI and the library: the
// same sockets through both sources give the same rows, counts and owners;
// a seccomp launcher refusing netlink sockets makes auto fall back and say
// why, and forced netlink fail naming socket() and EPERM; what the text
// file cannot show (CLOSE, LISTEN backlogs, cgroups) is said, never
// printed as zeros. Compared on the test's own ports only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

let fx: h.Fixture;
let holder: h.Fixture;
let dir: string;
let noNetlink: string;
before(async () => {
  dir = h.tempDir();
  noNetlink = path.join(dir, 'no_netlink');
  execFileSync('cc', ['-O2', '-o', noNetlink, path.join(h.FIXTURES, 'no_netlink.c')]);
  [fx, holder] = await Promise.all([h.startStates(['--close']), h.startHolder('tc-src-cli', 6, 2)]);
});
after(async () => {
  await h.stopAll([fx, holder]);
  h.removeTempDir(dir);
});

// The CLI's JSON (docs/json.md), read loosely at this parse boundary.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(args: string[], opts?: h.RunOptions): Promise<any> {
  const r = await h.runCli([...args, '--json'], opts);
  assert.equal(r.code, 0, `tcpcensus ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const REFUSED = 'socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation not permitted';

test('list, states and top give the same sockets, counts and owners through netlink and /proc/net/tcp', async () => {
  const ports = new Set([...fx.info.ports, holder.info.port]);
  const mine = (rows: h.JsonRow[]) => rows.filter((r: h.JsonRow) => ports.has(r.localPort) || ports.has(r.remotePort));
  // LISTEN's Send-Q is the backlog in netlink and unknown in the text.
  const line = (r: h.JsonRow) =>
    `${r.state} ${r.family} ${r.localAddress}:${r.localPort} ${r.remoteAddress}:${r.remotePort} ` +
    `${r.recvQ}/${r.state === 'LISTEN' ? '-' : r.sendQ} ${r.uid} ${r.inode} ${r.pid}`;
  let nl!: h.JsonRow[];
  let pf!: h.JsonRow[];
  // A dump is no snapshot: retry while a socket moves in between (a TIME_WAIT expiring).
  for (let i = 0; i < 5; i++) {
    nl = mine(await json(['list', '-p', '-s', 'all', '--source', 'netlink'])).filter((r: h.JsonRow) => r.state !== 'CLOSE');
    pf = mine(await json(['list', '-p', '-s', 'all', '--source', 'procfs']));
    if (JSON.stringify(nl.map(line).sort()) === JSON.stringify(pf.map(line).sort())) break;
  }
  assert.ok(nl.length >= 40, `only ${nl.length} fixture rows`);
  assert.deepEqual(pf.map(line).sort(), nl.map(line).sort());
  assert.ok(
    pf.filter((r: h.JsonRow) => r.state === 'LISTEN').every((r: h.JsonRow) => r.sendQ === null),
    'procfs LISTEN Send-Q is null, not 0',
  );
  assert.ok(nl.filter((r: h.JsonRow) => r.state === 'LISTEN').every((r: h.JsonRow) => typeof r.sendQ === 'number'));
  assert.equal(pf.filter((r: h.JsonRow) => r.pid === holder.info.pid).length, 7, 'the holder owns its listener and 6 CLOSE_WAIT through both');

  // Counts and owners on the holder's port: identical.
  for (const source of ['netlink', 'procfs']) {
    const s = await json(['states', '-s', 'all', '--sport', String(holder.info.port), '--source', source]);
    assert.equal(s.source, source);
    assert.equal(s.states.CLOSE_WAIT, 6, source);
    assert.equal(s.states.LISTEN, 1, source);
  }
  // The client side: closed clients (orphans in FIN_WAIT2) and TIME_WAIT, none
  // owned; they expire (60 s), so compared between the sources, retried while
  // one moved in between.
  let t!: h.JsonRow[];
  for (let i = 0; i < 5; i++) {
    t = await Promise.all(
      ['netlink', 'procfs'].map((source) => json(['top', '-s', 'all', '--dport', String(holder.info.port), '--source', source, '--owners', 'proc'])),
    );
    if (t[0]!.total === t[1]!.total) break;
  }
  assert.deepEqual(
    t.map((x) => x.source),
    ['netlink', 'procfs'],
  );
  assert.equal(t[1]!.total, t[0]!.total);
  assert.equal(t[1]!.unowned, t[0]!.unowned);
  assert.equal(t[1]!.unowned, t[1]!.total, 'no client end is owned');
  const both = await Promise.all(['netlink', 'procfs'].map((source) => json(['top', '--sport', String(holder.info.port), '--source', source])));
  assert.deepEqual(both[0].rows, both[1].rows);
  assert.deepEqual(
    both[1].rows.map((r: h.JsonRow) => [r.pid, r.count]),
    [[holder.info.pid, 6]],
  );
});

test('what /proc/net/tcp cannot show is said, never a zero: CLOSE left out, unknown listed, a line in the text', async () => {
  const s = await json(['states', '-s', 'all', '--source', 'procfs']);
  assert.equal(s.states.CLOSE, undefined, 'no CLOSE count from the text');
  assert.deepEqual(Object.keys(s.states).length, 10);
  assert.deepEqual(s.unknown, ['boundInactive']);
  assert.equal(s.sourceFallback, null, 'asked for, not fallen back to');
  const nl = await json(['states', '-s', 'all', '--source', 'netlink']);
  assert.deepEqual(nl.unknown, []);
  assert.ok(nl.states.CLOSE >= 2, "the fixture's two bound-inactive sockets");
  // Without CLOSE asked for, nothing is unknown.
  assert.deepEqual((await json(['states', '--source', 'procfs'])).unknown, []);

  const text = await h.runCli(['states', '-s', 'all', '--source', 'procfs']);
  assert.match(text.stdout, /^TCP sockets by state {2}\([\d.]+ ms, from \/proc\/net\/tcp\)$/m);
  assert.doesNotMatch(text.stdout, /^\s+\d+\s+CLOSE\s/m, 'no CLOSE bar');
  assert.match(text.stdout, /^ {2}from \/proc\/net\/tcp: bound-inactive sockets \(CLOSE\) cannot be shown$/m);
  const list = await h.runCli(['list', '-s', 'listen', '--sport', String(holder.info.port), '--source', 'procfs']);
  assert.match(list.stdout, new RegExp(`^LISTEN\\s+0\\s+\\?\\s+127\\.0\\.0\\.1:${holder.info.port}`, 'm'));
  assert.equal(list.stderr, 'tcpcensus: from /proc/net/tcp: LISTEN backlogs (Send-Q) cannot be shown\n');

  const table = await tc.snapshot({ source: 'procfs', states: ['listen'] });
  assert.deepEqual(table.unknown, ['cgroupId', 'cookie', 'ifindex', 'listenBacklog']);
  assert.equal(table.source, 'procfs');
  assert.equal(table.sourceFallback, null);
  const top = await tc.topProcesses({ source: 'procfs', states: ['all'], sport: holder.info.port });
  assert.deepEqual([top.source, top.sourceFallback, top.unknown], ['procfs', null, ['boundInactive']]);
});

test('a sandbox refusing netlink sockets: auto reads /proc/net/tcp and says why; forced netlink and cgroups are exit 1 naming the cause', async () => {
  const run = (args: string[]) => h.runCli(args, { prefix: [noNetlink] });
  const s = JSON.parse((await run(['states', '--json', '--sport', String(holder.info.port)])).stdout);
  assert.deepEqual([s.source, s.sourceFallback, s.states.CLOSE_WAIT, s.states.LISTEN], ['procfs', REFUSED, 6, 1]);
  const text = await run(['states']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(`^ {2}NETLINK_SOCK_DIAG was refused \\(${REFUSED.replace(/[()]/g, '\\$&')}\\): read /proc/net/tcp instead$`, 'm'),
  );
  const top = JSON.parse((await run(['top', '--json', '--sport', String(holder.info.port)])).stdout);
  assert.deepEqual([top.source, top.sourceFallback], ['procfs', REFUSED]);
  assert.deepEqual(
    top.rows.map((r: h.JsonRow) => [r.pid, r.count]),
    [[holder.info.pid, 6]],
  );
  const rep = await run(['report']);
  assert.equal(rep.code, 0, rep.stderr);
  assert.equal([...rep.stdout.matchAll(/NETLINK_SOCK_DIAG was refused/g)].length, 2, 'both sections say it');

  const forced = await run(['states', '--source', 'netlink']);
  assert.equal(forced.code, 1);
  assert.equal(forced.stderr, `tcpcensus: ${REFUSED} (EPERM)\n`);
  const byCgroup = await run(['top', '--by', 'cgroup']);
  assert.equal(byCgroup.code, 1);
  assert.equal(
    byCgroup.stderr,
    `tcpcensus: cannot group by cgroup: NETLINK_SOCK_DIAG was refused (${REFUSED}) and /proc/net/tcp has no cgroup ids\n`,
  );
  const filter = await run(['states', '--cgroup', '/']);
  assert.equal(filter.code, 1);
  assert.match(
    filter.stderr,
    /^tcpcensus: the procfs source cannot filter by cgroup: \/proc\/net\/tcp has no cgroup ids \(NETLINK_SOCK_DIAG was refused: socket/,
  );
  const lib = await h.callLibrary('topCgroupsByState', {}, { prefix: [noNetlink] });
  assert.equal(lib.error.code, 'ERR_TCPCENSUS_UNSUPPORTED');
  // Forcing procfs with cgroups is a contradiction in the options: exit 2.
  const both = await h.runCli(['top', '--by', 'cgroup', '--source', 'procfs']);
  assert.equal(both.code, 2);
  assert.match(
    both.stderr,
    /^tcpcensus: --source "procfs" cannot group sockets by cgroup: \/proc\/net\/tcp has no cgroup ids; use --source auto or netlink\n/,
  );
});
