// Sockets no process holds (inode 0: TIME_WAIT, orphaned FIN_WAIT2) are the
// "held by no process" count alone: never in a user, command or process row,
// where the kernel's uid 0 for them would file them under root. And
// "unattributed" covers sockets closed between the dump and the walk, as the
// docs say (README.md or docs/*.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

let nobody: h.Fixture;
let churn: h.Fixture;
before(async () => {
  // Run as nobody: 5 TIME_WAIT of its own clients, and 7 orphaned FIN_WAIT2
  // (its clients, destroyed after the server got their FIN).
  nobody = await h.startHolder('tc-unowned', 7, 5, '127.0.0.6', { prefix: h.AS_NOBODY });
});
after(async () => {
  await h.stopAll([nobody, churn]);
});

const sum = (rows: Array<{ count: number }>): number => rows.reduce((n, r) => n + r.count, 0);

test('top --by user never files unowned sockets under a user (TIME_WAIT, orphaned FIN_WAIT2)', async () => {
  const tw = await tc.topProcesses({ states: ['time-wait'], by: 'user', limit: 100000 });
  assert.ok(tw.total >= 5, `only ${tw.total} TIME_WAIT`);
  assert.equal(tw.unowned, tw.total, 'every TIME_WAIT socket is unowned');
  assert.deepEqual(tw.rows, [], 'no user holds a TIME_WAIT socket');
  // Compared with ss only while ss saw the same before and after: other
  // processes on a shared host make and drop sockets too.
  const { oracle, mine: fw2 } = await h.stable(
    () => h.ss(['state', 'fin-wait-2']),
    () => tc.topProcesses({ states: ['fin-wait-2'], by: 'user', limit: 100000 }),
  );
  assert.ok(fw2.unowned >= 7);
  assert.equal(sum(fw2.rows) + fw2.unowned, fw2.total, 'rows and the no-owner line never count a socket twice');
  // The rows are ss's sockets that have an inode, by uid.
  const byUid = new Map();
  for (const r of oracle.filter((x) => x.inode !== 0)) byUid.set(r.uid, (byUid.get(r.uid) ?? 0) + 1);
  assert.deepEqual(new Map(fw2.rows.map((r) => [r.uid, r.count])), byUid);
  const text = await h.runCli(['top', '-s', 'time-wait', '--by', 'user']);
  assert.doesNotMatch(text.stdout, /^\s+\d+\s+0\s+root$/m, 'no root row for TIME_WAIT');
  assert.match(text.stdout, /^  \d+ held by no process \(orphans, TIME_WAIT, half-open requests\)$/m);
});

test('owner groupings count owned sockets only; endpoint groupings count every socket and say so', async () => {
  for (const by of ['process', 'command', 'user'] as const) {
    const r = await tc.topProcesses({ states: ['all'], by, limit: 1000000 });
    assert.ok(sum(r.rows) <= r.total - r.unowned, `${by}: ${sum(r.rows)} in rows of ${r.total} with ${r.unowned} unowned`);
  }
  for (const by of ['remote', 'remote-host', 'local-port'] as const) {
    const r = await tc.topProcesses({ states: ['time-wait'], by, limit: 1000000 });
    assert.equal(sum(r.rows), r.total, by);
  }
  const text = await h.runCli(['top', '-s', 'time-wait', '--by', 'remote-host']);
  assert.match(text.stdout, /^  \d+ held by no process \(orphans, TIME_WAIT, half-open requests\), counted in the rows above too$/m);
});

// A listener whose clients connect, hold a few ms and close, over and over,
// from many threads: at any moment some sockets the dump sees are gone by
// the time the walk reads this process.
const CHURN = `
import json, socket, sys, threading, time
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(512)
port = srv.getsockname()[1]
def accept():
    while True:
        c, _ = srv.accept(); c.close()
def client():
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port)); time.sleep(0.002); s.close()
        except OSError:
            time.sleep(0.01)
threading.Thread(target=accept, daemon=True).start()
for _ in range(8): threading.Thread(target=client, daemon=True).start()
print(json.dumps({"pid": __import__("os").getpid(), "port": port}), flush=True)
sys.stdin.read()
`;

test('unattributed includes sockets closed between the dump and the walk, and the docs say so', async () => {
  // Started here, not in before(): its clients pass through FIN_WAIT2 all the
  // time, so the host-wide FIN_WAIT2 comparison above would never hold still.
  churn = await h.startStatesLike(CHURN);
  const { pid, port } = churn.info;
  let seen;
  for (let i = 0; i < 200 && !seen; i++) {
    // Every socket on this port is the churner's, and it is readable: an
    // unattributed one can only have been closed after the dump.
    const r = await tc.topProcesses({ states: ['estab'], dport: port, limit: 10 });
    if ((r.unattributed ?? 0) > 0) seen = r;
  }
  assert.ok(seen, 'no socket closed between the dump and the walk in 200 tries');
  assert.ok(seen.rows.every((r) => r.pid === pid));
  const docs = h.docsText().replace(/\s+/g, ' ');
  assert.ok(
    /`unattributed` are held by a process tcpcensus did not find: [^.]*closed between the dump and the walk/.test(docs),
    'the docs (README.md, docs/*.md) name "closed between the dump and the walk" among the ways a socket becomes unattributed',
  );
});
