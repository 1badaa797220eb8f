// The eBPF owner source against the /proc walk, through the raw binding
// and then the CLI (--owners): the same owner for every
// socket on the host, with holders of known counts, every TCP state, a
// forked sharer, a thread with its own fd table and a process whose main
// thread exited among them; as nobody, auto answers with the walk and says
// why, and a forced bpf fails naming the call; an empty BTF file makes auto
// fall back. Runs as root, like the rest of the suite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { native } from '../../helpers/native';
import type { RawTable } from '../../../src/core/raw';
import { TcpcensusError } from '../../../src/errors';
import * as h from '../../helpers/index';

const ALL_STATES = 0xffe; // bits 1..11
let holders: h.Fixture[] = [];
let states: h.Fixture;
let sharer: h.Fixture;
let unshared: h.Fixture;
let leaderless: h.Fixture;

// A thread that takes its own copy of the fd table (unshare(CLONE_FILES))
// and listens there: /proc/<pid>/fd does not show that socket, so neither
// source may give it an owner.
const UNSHARED = `
import os, socket, sys, json, threading, ctypes
libc = ctypes.CDLL(None, use_errno=True)
shared = socket.socket(); shared.bind(("127.0.0.1", 0)); shared.listen()
res = {}
ready = threading.Event()
def run():
    if libc.unshare(0x400) != 0:  # CLONE_FILES
        res["error"] = ctypes.get_errno()
    t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen()
    res["threadOnly"] = os.fstat(t.fileno()).st_ino
    res["tid"] = threading.get_native_id()
    ready.set()
    threading.Event().wait()
threading.Thread(target=run, daemon=True).start()
ready.wait()
lead = socket.socket(); lead.bind(("127.0.0.1", 0)); lead.listen()
print(json.dumps({"pid": os.getpid(), "shared": os.fstat(shared.fileno()).st_ino,
                  "leaderOnly": os.fstat(lead.fileno()).st_ino, **res}), flush=True)
sys.stdin.read(); os._exit(0)
`;

// The main thread ends (pthread_exit) while 20 others live on: the table is
// reachable only through them.
const LEADERLESS = `
import os, socket, sys, json, threading, ctypes, time
libc = ctypes.CDLL(None)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
pid = os.getpid()
def run():
    for _ in range(20):
        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
    fd_dir = "/proc/%d/fd" % pid
    for _ in range(1000):
        if not os.listdir(fd_dir): break
        time.sleep(0.01)
    print(json.dumps({"pid": pid, "inode": os.fstat(s.fileno()).st_ino,
                      "leaderGone": not os.listdir(fd_dir)}), flush=True)
    sys.stdin.read(); os._exit(0)
threading.Thread(target=run).start()
libc.pthread_exit(None)
`;

before(async () => {
  [holders, states, sharer, unshared, leaderless] = await Promise.all([
    Promise.all([h.startHolder('tc-bpf-a', 17), h.startHolder('tc-bpf-b', 9, 0, '6')]),
    h.startStates(),
    h.startSharer(),
    h.startStatesLike(UNSHARED),
    h.startStatesLike(LEADERLESS),
  ]);
});
after(async () => {
  await h.stopAll([...holders, states, sharer, unshared, leaderless]);
});

function ownerByInode(t: RawTable): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < t.size; i++) if (t.inode[i] !== 0) m.set(t.inode[i]!, t.owners!.owner[i]!);
  return m;
}

function processesByPid(t: RawTable) {
  return new Map(t.owners!.processes.map((p) => [p.pid, p]));
}

/**
 * proc, bpf, proc again: every socket present in all three whose owner the
 * two walks agree on must have that owner from bpf too. Sockets come and go
 * on a shared host between the runs; a real disagreement stays, so a few
 * tries tell the two apart.
 */
async function compareSources(opts: Record<string, unknown> = {}) {
  let last;
  for (let attempt = 0; attempt < 5; attempt++) {
    const p1 = await native.sample({ states: ALL_STATES, owners: true, ownerSource: 'proc', ...opts });
    const b = await native.sample({ states: ALL_STATES, owners: true, ownerSource: 'bpf', ...opts });
    const p2 = await native.sample({ states: ALL_STATES, owners: true, ownerSource: 'proc', ...opts });
    assert.equal(b.owners!.source, 'bpf');
    assert.equal(b.owners!.fallback, null);
    assert.equal(p1.owners!.source, 'proc');
    const [o1, ob, o2] = [ownerByInode(p1), ownerByInode(b), ownerByInode(p2)];
    const differ: Array<{ inode: number; bpf: number; proc: number | undefined }> = [];
    let compared = 0;
    for (const [inode, owner] of ob) {
      if (!o1.has(inode) || !o2.has(inode) || o1.get(inode) !== o2.get(inode)) continue;
      compared++;
      if (o1.get(inode) !== owner) differ.push({ inode, bpf: owner, proc: o1.get(inode) });
    }
    last = { p1, b, p2, ob, compared, differ };
    if (differ.length === 0) return last;
  }
  assert.fail(`owners differ between bpf and proc: ${JSON.stringify(last!.differ.slice(0, 20))}`);
}

test('bpf and the /proc walk give every socket on the host the same owner', async () => {
  const { p1, b, ob, compared } = await compareSources();
  // Our fixtures alone hold 70 sockets with an inode; the host may add more.
  assert.ok(compared >= 70, `compared ${compared} sockets`);
  // Names come from /proc for the owners only, the same for both sources.
  const pp = processesByPid(p1);
  for (const p of b.owners!.processes) {
    const q = pp.get(p.pid);
    if (!q) continue; // a process that came or went between the runs
    assert.equal(p.comm, q.comm, `comm of ${p.pid}`);
    assert.equal(p.cmdline, q.cmdline, `cmdline of ${p.pid}`);
  }

  // Holders of known counts: each CLOSE_WAIT socket is theirs.
  for (const [i, count] of [
    [0, 17],
    [1, 9],
  ] as const) {
    const pid = holders[i]!.info.pid;
    let cw = 0;
    for (let r = 0; r < b.size; r++) if (b.state[r] === 8 && b.owners!.owner[r] === pid) cw++;
    assert.equal(cw, count, `holder ${i} CLOSE_WAIT`);
    assert.equal(processesByPid(b).get(pid)?.comm, i === 0 ? 'tc-bpf-a' : 'tc-bpf-b');
  }
  // The every-state fixture owns exactly the sockets it says it holds.
  let fixtureOwned = 0;
  for (const [, owner] of ob) if (owner === states.info.pid) fixtureOwned++;
  assert.equal(fixtureOwned, states.info.sockets.filter((s: h.JsonRow) => s.owned).length);

  // The forked sharer: the lower pid owns the listener, and it is shared.
  assert.equal(ob.get(sharer.info.inode), Math.min(sharer.info.pid, sharer.info.child));
  assert.ok(b.owners!.shared >= 1);

  // The thread with its own table: its socket has no owner, the others do.
  assert.equal(unshared.info.error, undefined);
  assert.notEqual(unshared.info.tid, unshared.info.pid);
  assert.equal(ob.get(unshared.info.threadOnly), 0);
  assert.equal(ob.get(unshared.info.shared), unshared.info.pid);
  assert.equal(ob.get(unshared.info.leaderOnly), unshared.info.pid);

  // The leaderless process is found through its other threads.
  assert.equal(leaderless.info.leaderGone, true);
  assert.equal(ob.get(leaderless.info.inode), leaderless.info.pid);
});

test('bpf and the walk agree on named pids, and a pid that does not exist is vanished', async () => {
  const pids = Int32Array.from([holders[0]!.info.pid, leaderless.info.pid, 2147483000]);
  const { b } = await compareSources({ pids });
  assert.equal(b.owners!.vanished, 1);
  assert.deepEqual([...b.owners!.failedPids], [2147483000]);
  const owners = new Set<number>(b.owners!.processes.map((p) => p.pid));
  assert.deepEqual(
    [...owners].sort((x: number, y: number) => x - y),
    [holders[0]!.info.pid, leaderless.info.pid].sort((x, y) => x - y),
  );
});

test('sync and async, and auto picks bpf as root', async () => {
  const s = native.sampleSync({ states: 1 << 10, owners: true, ownerSource: 'auto' });
  assert.equal(s.owners!.source, 'bpf');
  assert.equal(s.owners!.fallback, null);
  const a = await native.sample({ states: 1 << 10, owners: true, ownerSource: 'auto' });
  assert.equal(a.owners!.source, 'bpf');
  // Absent, the binding walks /proc (the library passes the option).
  const d = await native.sample({ states: 1 << 10, owners: true });
  assert.equal(d.owners!.source, 'proc');
  assert.throws(() => native.sampleSync({ states: 2, owners: true, ownerSource: 'ebpf' }), /ownerSource must be 'auto', 'bpf' or 'proc'/);
  assert.throws(() => native.sampleSync({ states: 2, owners: true, btfPath: '' }), /btfPath must be a non-empty string/);
});

test('an empty BTF file: auto falls back to the walk and says why; forced bpf fails', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpcensus-btf-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const empty = path.join(dir, 'vmlinux');
  fs.writeFileSync(empty, '');
  const r = await native.sample({ states: ALL_STATES, owners: true, ownerSource: 'auto', btfPath: empty });
  assert.equal(r.owners!.source, 'proc');
  assert.equal(r.owners!.fallback, `BTF ${empty}: empty`);
  assert.equal(ownerByInode(r).get(sharer.info.inode), Math.min(sharer.info.pid, sharer.info.child));
  await assert.rejects(native.sample({ states: 2, owners: true, ownerSource: 'bpf', btfPath: empty }), (e) => {
    assert.ok(e instanceof TcpcensusError);
    assert.equal(e.code, 'ERR_TCPCENSUS_BPF');
    assert.equal(e.message, `BTF ${empty}: empty`);
    return true;
  });
  // The same through the environment variable.
  process.env.TCPCENSUS_BTF_PATH = empty;
  try {
    const e = native.sampleSync({ states: 2, owners: true, ownerSource: 'auto' });
    assert.equal(e.owners!.source, 'proc');
    assert.equal(e.owners!.fallback, `BTF ${empty}: empty`);
  } finally {
    delete process.env.TCPCENSUS_BTF_PATH;
  }
  // A BTF path that does not exist names the failed call.
  const missing = await native.sample({ states: 2, owners: true, ownerSource: 'auto', btfPath: path.join(dir, 'none') });
  assert.equal(missing.owners!.fallback, `open ${path.join(dir, 'none')} failed: No such file or directory (ENOENT)`);
});

test('as nobody: auto answers with the walk and names bpf(BPF_PROG_LOAD) EPERM; forced bpf is a SystemError', () => {
  const script = `
    const { native } = require(${JSON.stringify(path.join(h.ROOT, 'dist', 'core/addon'))});
    const out = {};
    const r = native.sampleSync({ states: 1 << 10, owners: true, ownerSource: 'auto' });
    out.auto = { source: r.owners.source, fallback: r.owners.fallback, unreadable: r.owners.unreadable };
    try {
      native.sampleSync({ states: 1 << 10, owners: true, ownerSource: 'bpf' });
      out.forced = 'no error';
    } catch (e) {
      out.forced = { name: e.name, syscall: e.syscall, code: e.code, errno: e.errno, message: e.message };
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const got = JSON.parse(execFileSync(h.AS_NOBODY[0], [...h.AS_NOBODY.slice(1), process.execPath, '-e', script]).toString());
  assert.equal(got.auto.source, 'proc');
  assert.equal(got.auto.fallback, 'bpf(BPF_PROG_LOAD) failed: Operation not permitted (EPERM)');
  assert.ok(got.auto.unreadable > 0, "nobody cannot read other users' fd tables");
  assert.deepEqual(got.forced, {
    name: 'SystemError',
    syscall: 'bpf',
    code: 'EPERM',
    errno: 1,
    message: 'bpf(BPF_PROG_LOAD) failed: Operation not permitted',
  });
});

// The same through the CLI, as a person would run it.
// The CLI's JSON (docs/json.md), read loosely at this parse boundary.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function cliJson(args: string[], opts?: h.RunOptions): Promise<any> {
  const r = await h.runCli([...args, '--json'], opts);
  assert.equal(r.code, 0, `tcpcensus ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

test('list -p --json -s all: --owners bpf and --owners proc give every socket the same owner', async () => {
  const key = (r: h.JsonRow) => `${r.localAddress}|${r.localPort}|${r.remoteAddress}|${r.remotePort}|${r.inode}`;
  // Our fixtures' sockets hold still; the host's may not.
  const ports = new Set([...holders.map((x) => x.info.port), ...states.info.ports]);
  const ours = (rows: h.JsonRow[]) =>
    new Map(
      rows
        .filter((r: h.JsonRow) => r.inode !== 0 && (ports.has(r.localPort) || ports.has(r.remotePort)))
        .map((r: h.JsonRow) => [key(r), [r.pid, r.command]]),
    );
  const bpf = ours(await cliJson(['list', '-p', '-s', 'all', '--owners', 'bpf']));
  const proc = ours(await cliJson(['list', '-p', '-s', 'all', '--owners', 'proc']));
  assert.ok(bpf.size >= 17 + 9 + 2, `compared ${bpf.size} sockets`);
  assert.deepEqual(bpf, proc);
  // And the special processes, by pid.
  for (const [src, want] of [
    ['bpf', 'bpf'],
    ['proc', 'proc'],
    ['auto', 'bpf'],
  ]) {
    const top = await cliJson(['top', '-s', 'listen', '-n', '100000', '--owners', src!]);
    assert.equal(top.ownerSource, want);
    assert.equal(top.ownerFallback, null);
    const count = (pid: number) => top.rows.find((r: h.JsonRow) => r.pid === pid)?.count ?? 0;
    assert.ok(count(leaderless.info.pid) >= 1, `${src}: the leaderless process`);
    assert.ok(count(Math.min(sharer.info.pid, sharer.info.child)) >= 1, `${src}: the sharer's parent`);
    assert.equal(count(Math.max(sharer.info.pid, sharer.info.child)), 0, `${src}: the sharer's child owns nothing`);
    assert.equal(count(unshared.info.pid), 2, `${src}: the unshared thread's own listener is nobody's`);
  }
});

test('as nobody: auto answers with the walk and says why; --owners bpf exits 1 naming the call', async () => {
  const auto = await h.runCli(['top', '--json'], { prefix: h.AS_NOBODY });
  assert.equal(auto.code, 0, auto.stderr);
  const top = JSON.parse(auto.stdout);
  assert.equal(top.ownerSource, 'proc');
  assert.match(top.ownerFallback, /^bpf\(BPF_[A-Z_]+\) failed: Operation not permitted \(EPERM\)$/);
  const text = await h.runCli(['top'], { prefix: h.AS_NOBODY });
  assert.match(
    text.stdout,
    /owners via \/proc\)\n\s+the eBPF owner source could not be used: bpf\(BPF_[A-Z_]+\) failed: Operation not permitted \(EPERM\)/,
  );
  const forced = await h.runCli(['top', '--owners', 'bpf'], { prefix: h.AS_NOBODY });
  assert.equal(forced.code, 1, forced.stderr);
  assert.match(forced.stderr, /^tcpcensus: bpf\(BPF_[A-Z_]+\) failed: Operation not permitted \(EPERM\)\n$/);
  const bad = await h.runCli(['top', '--owners', 'ebpf']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^tcpcensus: unknown owner source "ebpf" \(did you mean bpf\?\); valid: auto, bpf, proc/);
});

test('BTF unreadable (TCPCENSUS_BTF_PATH at an empty file): auto falls back to the walk and says why', async (t) => {
  const dir = h.tempDir();
  t.after(() => h.removeTempDir(dir));
  const empty = path.join(dir, 'empty-btf');
  fs.writeFileSync(empty, '');
  const top = await cliJson(['top', '-s', 'listen'], { env: { TCPCENSUS_BTF_PATH: empty } });
  assert.equal(top.ownerSource, 'proc');
  assert.ok(top.ownerFallback && top.ownerFallback.includes(empty), top.ownerFallback);
  const forced = await h.runCli(['top', '--owners', 'bpf'], { env: { TCPCENSUS_BTF_PATH: empty } });
  assert.equal(forced.code, 1);
});
