// Other network namespaces through the CLI and the library: a
// namespace the test makes (ip netns add, lo up) with a holder inside; its
// sockets appear with --netns NAME, a path, pid:PID, and under its own
// label in --all-netns, and never in the default namespace's answer. A
// socket's inode is unique on the host, so "never" is checked by inode.
// Needs root (ip netns); parts run as nobody.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

const NS = `tcpcensus-t12-${process.pid}`;
const NS_PATH = `/var/run/netns/${NS}`;
const CLOSE_WAIT = 7;
let inside: h.Fixture;
let nsInode: number;

before(async () => {
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  nsInode = fs.statSync(NS_PATH).ino;
  inside = await h.startHolder('tc-t12-inside', CLOSE_WAIT, 0, '4', { prefix: ['ip', 'netns', 'exec', NS] });
});
after(async () => {
  if (inside) await inside.stop();
  execFileSync('ip', ['netns', 'delete', NS]);
  assert.ok(!fs.existsSync(NS_PATH), 'the namespace is gone');
});

// The CLI's JSON (docs/json.md), read loosely at this parse boundary.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(args: string[], opts?: h.RunOptions): Promise<any> {
  const r = await h.runCli([...args, '--json'], opts);
  assert.equal(r.code, 0, `tcpcensus ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// The holder's sockets, by inode: its listener and the accepted CLOSE_WAIT ends.
async function holderInodes() {
  const rows = await json(['list', '-s', 'listen,close-wait', '--netns', NS]);
  assert.equal(rows.length, CLOSE_WAIT + 1, "a fresh namespace holds the holder's sockets alone");
  return new Set(rows.map((r: h.JsonRow) => r.inode));
}

test("--netns NAME, a path and pid:PID show the namespace's sockets and owners; text says where", async () => {
  const { pid, port } = inside.info;
  for (const spec of [NS, NS_PATH, `pid:${pid}`, `/proc/${pid}/ns/net`]) {
    const s = await json(['states', '--netns', spec]);
    assert.equal(s.states.CLOSE_WAIT, CLOSE_WAIT, spec);
    assert.equal(s.states.LISTEN, 1, spec);
    assert.equal(s.source, 'netlink');
    const top = await json(['top', '--netns', spec]);
    assert.deepEqual(
      top.rows.map((r: h.JsonRow) => [r.pid, r.command, r.count]),
      [[pid, 'tc-t12-inside', CLOSE_WAIT]],
      spec,
    );
    const list = await json(['list', '-p', '-s', 'listen', '--netns', spec]);
    assert.deepEqual(
      list.map((r: h.JsonRow) => [r.localPort, r.pid]),
      [[port, pid]],
      spec,
    );
  }
  const text = await h.runCli(['states', '--netns', NS]);
  assert.match(text.stdout, new RegExp(`^TCP sockets by state in netns ${NS} `));
  assert.match(text.stdout, new RegExp(`^\\s+${CLOSE_WAIT}\\s+CLOSE_WAIT`, 'm'));
  const report = await json(['report', '--netns', `pid:${pid}`]);
  assert.equal(report.top.rows[0].pid, pid);
  // The library takes the same specs.
  assert.equal((await tc.countStates({ netns: NS, states: ['close-wait'] })).total, CLOSE_WAIT);
  assert.equal(tc.snapshotSync({ netns: `pid:${pid}`, states: ['listen'] }).netnsInode, nsInode);
});

test("the namespace's sockets are never in the default namespace's answer", async () => {
  const theirs = await holderInodes();
  const ours = await json(['list', '-s', 'all']);
  assert.ok(ours.length > 0);
  assert.deepEqual(
    ours.filter((r: h.JsonRow) => theirs.has(r.inode)),
    [],
  );
  const here = tc.snapshotSync({ states: ['all'] });
  assert.notEqual(here.netnsInode, nsInode);
});

test("--all-netns labels each namespace (inode, name, path, pid) with its totals, the test's among them", async () => {
  const theirs = await holderInodes();
  const s = await json(['states', '--all-netns']);
  assert.deepEqual(Object.keys(s), ['total', 'states', 'families', 'namespaces', 'skipped', 'skippedNamespaces', 'unreadableProcesses', 'tookMs']);
  const mine = s.namespaces.find((n: h.JsonRow) => n.netns.inode === nsInode);
  assert.ok(mine, `namespace ${nsInode} not among ${s.namespaces.map((n: h.JsonRow) => n.netns.inode)}`);
  assert.deepEqual(mine.netns, { inode: nsInode, name: NS, path: NS_PATH, pid: inside.info.pid, self: false });
  assert.deepEqual(Object.keys(mine), ['netns', 'total', 'states', 'families', 'source', 'sourceFallback', 'unknown', 'tookMs']);
  assert.equal(mine.states.CLOSE_WAIT, CLOSE_WAIT);
  assert.equal(mine.states.LISTEN, 1);
  const self = s.namespaces.filter((n: h.JsonRow) => n.netns.self);
  assert.equal(self.length, 1);
  assert.equal(self[0].netns.inode, fs.statSync('/proc/self/ns/net').ino);
  // Sums are the sums of the namespaces.
  assert.equal(
    s.total,
    s.namespaces.reduce((n: number, x: h.JsonRow) => n + x.total, 0),
  );
  assert.equal(
    s.states.CLOSE_WAIT,
    s.namespaces.reduce((n: number, x: h.JsonRow) => n + x.states.CLOSE_WAIT, 0),
  );

  // list: each row says its namespace; the holder's inodes are under ours alone.
  const rows = await json(['list', '-s', 'listen,close-wait', '--all-netns']);
  const under = new Set(rows.filter((r: h.JsonRow) => theirs.has(r.inode)).map((r: h.JsonRow) => `${r.netnsInode} ${r.netnsName}`));
  assert.deepEqual([...under], [`${nsInode} ${NS}`]);
  assert.equal(rows.filter((r: h.JsonRow) => theirs.has(r.inode)).length, theirs.size);
  assert.deepEqual(Object.keys(rows[0]).slice(-2), ['netnsInode', 'netnsName']);

  // top: a report per namespace; the holder is the row of its namespace only.
  const top = await json(['top', '--all-netns', '-n', '1000']);
  assert.deepEqual(Object.keys(top), ['states', 'by', 'total', 'namespaces', 'skipped', 'skippedNamespaces', 'unreadableProcesses', 'tookMs']);
  const withHolder = top.namespaces.filter((n: h.JsonRow) => n.rows.some((r: h.JsonRow) => r.pid === inside.info.pid));
  assert.deepEqual(
    withHolder.map((n: h.JsonRow) => n.netns.inode),
    [nsInode],
  );
  assert.equal(withHolder[0].rows.find((r: h.JsonRow) => r.pid === inside.info.pid).count, CLOSE_WAIT);

  const text = await h.runCli(['states', '--all-netns']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^\\s+${mine.total}\\s+${nsInode}\\s+${NS}\\s+.*CLOSE_WAIT ${CLOSE_WAIT}`, 'm'));
  const topText = await h.runCli(['top', '--all-netns']);
  assert.match(topText.stdout, new RegExp(`^Top processes holding CLOSE_WAIT in netns ${NS} \\[${nsInode}\\]`, 'm'));

  // The library: the same shape, typed per namespace.
  const lib = await tc.countStates({ allNetns: true, states: ['close-wait'] });
  assert.equal(lib.namespaces.find((n) => n.netns.inode === nsInode)?.total, CLOSE_WAIT);
  const snap = tc.snapshotSync({ allNetns: true, states: ['listen'] });
  const t = snap.namespaces.find((n) => n.netns.name === NS)!.table;
  assert.equal(t.length, 1);
  assert.equal(t.netnsInode, nsInode);
});

test('a missing namespace is exit 2 naming it and how to list them; joining one as nobody is exit 1 naming setns', async () => {
  const r = await h.runCli(['states', '--netns', 'tcpcensus-no-such-ns']);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.split('\n')[0],
    'tcpcensus: --netns "tcpcensus-no-such-ns": no network namespace of that name ' +
      '(no /var/run/netns/tcpcensus-no-such-ns); ip netns list shows the named ones, tcpcensus states --all-netns every one',
  );
  const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const gone = await h.runCli(['top', '--netns', `pid:${pidMax}`]);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, new RegExp(`^tcpcensus: --netns "pid:${pidMax}": no such process \\(no /proc/${pidMax}\\)`));
  const bad = await h.runCli(['list', '--netns', 'a b']);
  assert.equal(bad.code, 2);
  const notNs = await h.runCli(['states', '--netns', '/dev/null']);
  assert.equal(notNs.code, 2);
  assert.match(notNs.stderr, /^tcpcensus: --netns "\/dev\/null": \/dev\/null is not a namespace file/);
  const both = await h.runCli(['states', '--netns', NS, '--all-netns']);
  assert.equal(both.code, 2);
  await assert.rejects(tc.countStates({ netns: 'tcpcensus-no-such-ns' }), (e) => e instanceof tc.OptionError && e.option === 'netns');

  const nobody = await h.runCli(['states', '--netns', NS], { prefix: h.AS_NOBODY });
  assert.equal(nobody.code, 1);
  assert.equal(nobody.stdout, '');
  assert.equal(
    nobody.stderr,
    `tcpcensus: setns ${NS_PATH} failed: Operation not permitted (EPERM)\n` +
      'tcpcensus: entering another network namespace needs CAP_SYS_ADMIN (root)\n',
  );
  // --all-netns as nobody: our namespace needs no setns, the test's does.
  const all = await h.runCli(['states', '--all-netns'], { prefix: h.AS_NOBODY });
  assert.equal(all.code, 1);
  assert.match(all.stderr, /^tcpcensus: setns \/var\/run\/netns\/\S+ failed: Operation not permitted \(EPERM\)/);
});
