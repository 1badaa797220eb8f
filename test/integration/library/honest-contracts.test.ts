// Issue 9's honest contracts, run for real: "no sockets" must mean
// tcpcensus looked and found none. A pid it cannot read, a pid that does not
// exist or lives in another network namespace, a --proc that is not procfs,
// a misspelt option key, a refused netlink socket: each is an error that says
// what failed, in the library as in the CLI, never an empty answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

// The library as a JavaScript caller meets it: any function by name, any options.
const lib = tc as unknown as Record<string, (options: unknown) => unknown>;

let rootHolder: h.Fixture;
let nobodyHolder: h.Fixture;
let dir: string;
before(async () => {
  dir = h.tempDir();
  [rootHolder, nobodyHolder] = await Promise.all([
    h.startHolder('tc-con-root', 46),
    h.startHolder('tc-con-nobody', 4, 0, '4', { prefix: h.AS_NOBODY }),
  ]);
});
after(async () => {
  await h.stopAll([rootHolder, nobodyHolder]);
  h.removeTempDir(dir);
});

function assertOneLine(r: h.RunResult, code: number, line: string): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.split('\n')[0], line);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('--pid of a process whose fd table cannot be read (not root) is exit 1 naming it, never "no sockets"', async () => {
  const pid = rootHolder.info.pid;
  for (const args of [['top'], ['top', '--json'], ['list'], ['report'], ['top', '-s', 'all', '--by', 'command']]) {
    const r = await h.runCli([...args, '--pid', String(pid)], { prefix: h.AS_NOBODY });
    assertOneLine(r, 1, `tcpcensus: cannot read /proc/${pid}/fd: Permission denied (EACCES)`);
  }
  for (const fn of ['topProcesses', 'topProcessesSync', 'countStates', 'snapshotSync']) {
    const r = await h.callLibrary(fn, { pids: [pid] }, { prefix: h.AS_NOBODY });
    assert.equal(r.ok, false, `${fn} answered ${JSON.stringify(r.value)}`);
    assert.deepEqual(
      r.error,
      {
        name: 'SystemError',
        message: `cannot read /proc/${pid}/fd: Permission denied`,
        code: 'EACCES',
        syscall: 'openat',
        errno: 13,
        path: `/proc/${pid}/fd`,
        pid,
      },
      fn,
    );
  }
  // Its own process it can read: the answer is the real one.
  const own = await h.callLibrary('topProcesses', { pids: [nobodyHolder.info.pid] }, { prefix: h.AS_NOBODY });
  assert.equal(own.value.rows[0].count, 4);
});

test('--pid as root without CAP_SYS_PTRACE: a process whose fd links the walk cannot read is an error too', async () => {
  const pid = nobodyHolder.info.pid;
  const r = await h.runCli(['top', '--pid', String(pid), '-s', 'listen', '--owners', 'proc'], { prefix: h.NO_PTRACE });
  assertOneLine(r, 1, `tcpcensus: cannot read /proc/${pid}/fd: Permission denied (EACCES)`);
  const lib = await h.callLibrary('topProcessesSync', { pids: [pid], states: ['listen'], owners: 'proc' }, { prefix: h.NO_PTRACE });
  assert.equal(lib.error.name, 'SystemError');
  assert.equal(lib.error.pid, pid);
  assert.equal(lib.error.syscall, 'readlinkat', 'the directory lists, its links do not');
  // With it, root reads the same process: one LISTEN socket; so does the
  // eBPF source without it.
  const full = await h.runCli(['top', '--pid', String(pid), '-s', 'listen', '--json', '--owners', 'proc']);
  assert.equal(JSON.parse(full.stdout).rows[0].count, 1);
  const bpf = await h.runCli(['top', '--pid', String(pid), '-s', 'listen', '--json'], { prefix: h.NO_PTRACE });
  assert.equal(bpf.code, 0, bpf.stderr);
  assert.deepEqual([JSON.parse(bpf.stdout).ownerSource, JSON.parse(bpf.stdout).rows[0].count], ['bpf', 1]);
});

test('a pid that does not exist is an OptionError in the library, as in the CLI', async () => {
  // Pids are below pid_max: this one never exists.
  const pid = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  for (const fn of ['topProcesses', 'countStates', 'snapshot']) {
    await assert.rejects(
      lib[fn]!({ pids: [pid] }) as Promise<unknown>,
      (e: h.Thrown) => e instanceof tc.OptionError && e.message === `pids ${pid}: no such process (no /proc/${pid})`,
    );
    assert.throws(
      () => lib[`${fn}Sync`]!({ pids: [pid] }),
      (e: h.Thrown) => e instanceof tc.OptionError && e.option === 'pids',
    );
  }
  const r = await h.runCli(['top', '--pid', `${process.pid},${pid}`]);
  assertOneLine(r, 2, `tcpcensus: --pid ${pid}: no such process (no /proc/${pid})`);
});

const UNKNOWN: Array<[string, unknown, RegExp]> = [
  [
    'countStates',
    { state: ['LISTEN'] },
    /^unknown option "state" for countStates \(did you mean states\?\); valid options: states, family, sport, dport, src, dst, source, netns, allNetns, cgroup, pids, owners, threads, procRoot, onProgress$/,
  ],
  ['topProcesses', { limt: 3 }, /^unknown option "limt" for topProcesses \(did you mean limit\?\); valid options: .*maxSockets, limit, by$/],
  ['snapshot', { process: true }, /^unknown option "process" for snapshot \(did you mean processes\?\)/],
  ['countStates', { limit: 3 }, /^limit does not apply to countStates; valid options: states,/],
  ['countStates', { maxSockets: 10 }, /^maxSockets does not apply to countStates \(it keeps no rows, so there is nothing to bound\)/],
  ['snapshot', { by: 'user' }, /^by does not apply to snapshot; valid options: .*maxSockets, processes$/],
  ['topProcesses', { processes: true }, /^processes does not apply to topProcesses/],
  ['topProcesses', { zzzzzzzz: 1 }, /^unknown option "zzzzzzzz" for topProcesses; valid options:/],
];

test('an unknown or misplaced option key is an OptionError naming it and the valid keys, in every call', async () => {
  for (const [fn, opts, pattern] of UNKNOWN) {
    await assert.rejects(
      lib[fn]!(opts) as Promise<unknown>,
      (e) => e instanceof tc.OptionError && pattern.test(e.message),
      `${fn}(${JSON.stringify(opts)})`,
    );
    assert.throws(
      () => lib[`${fn}Sync`]!(opts),
      (e) => e instanceof tc.OptionError && pattern.test(e.message),
    );
  }
});

test('--proc must be the root of a procfs mount: anything else is exit 2 naming the path', async () => {
  const empty = fs.mkdtempSync(path.join(dir, 'empty-'));
  const cases = [
    ['/nonexistent-proc', '--proc "/nonexistent-proc" cannot be used: statfs failed: No such file or directory (ENOENT)'],
    [empty, `--proc "${empty}" is not a procfs mount (filesystem type 0x`],
    ['/proc/self', '--proc "/proc/self" is inside a procfs mount, not its root'],
  ];
  for (const [proc, start] of cases) {
    const r = await h.runCli(['top', '--proc', proc!]);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.startsWith(`tcpcensus: ${start}`), r.stderr);
    assert.match(r.stderr, /give the directory procfs is mounted on, e.g. \/proc or \/host\/proc\n\(run tcpcensus --help/);
    assert.equal(r.stdout, '');
    await assert.rejects(
      tc.topProcesses({ procRoot: proc }),
      (e) => e instanceof tc.OptionError && e.option === 'procRoot' && e.message.includes(`"${proc}"`),
    );
    assert.throws(() => tc.countStatesSync({ procRoot: proc }), tc.OptionError);
  }
});

test('--proc of a procfs mounted elsewhere gives the same owners as /proc', async (t) => {
  const mnt = fs.mkdtempSync(path.join(dir, 'proc-'));
  execFileSync('mount', ['-t', 'proc', 'proc', mnt]);
  t.after(() => execFileSync('umount', [mnt]));
  const pid = rootHolder.info.pid;
  const there = await tc.topProcesses({ procRoot: mnt, pids: [pid] });
  assert.deepEqual(
    there.rows.map((r) => [r.pid, r.count, r.command]),
    [[pid, 46, 'tc-con-root']],
  );
  const r = await h.runCli(['top', '--proc', mnt, '--json', '-n', '1000']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).rows.find((x: h.JsonRow) => x.pid === pid).count, 46);
});

test('--pid of a process in another network namespace says so (exit 2), never "no sockets"', async (t) => {
  const ns = `tc9-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.after(() => execFileSync('ip', ['netns', 'delete', ns]));
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const inside = await h.startHolder('tc-con-netns', 3, 0, '4', { prefix: ['ip', 'netns', 'exec', ns] });
  t.after(() => inside.stop());
  const pid = inside.info.pid;
  const theirs = fs.readlinkSync(`/proc/${pid}/ns/net`);
  const ours = fs.readlinkSync('/proc/self/ns/net');
  assert.notEqual(theirs, ours);
  const r = await h.runCli(['top', '--pid', String(pid), '-s', 'listen']);
  assertOneLine(
    r,
    2,
    `tcpcensus: --pid ${pid} lives in network namespace ${theirs}, not in ${ours} where tcpcensus looks, ` +
      `so none of its sockets would be seen; look in that namespace with --netns pid:${pid}`,
  );
  await assert.rejects(tc.countStates({ pids: [pid] }), (e) => e instanceof tc.OptionError && e.message.includes(theirs));
  // Run inside that namespace, tcpcensus sees them; so does --netns from outside.
  const inNs = execFileSync('ip', ['netns', 'exec', ns, process.execPath, h.CLI, 'top', '--pid', String(pid), '--json']).toString();
  assert.equal(JSON.parse(inNs).rows[0].count, 3);
  const there = await h.runCli(['top', '--pid', String(pid), '--netns', `pid:${pid}`, '--json']);
  assert.equal(there.code, 0, there.stderr);
  assert.equal(JSON.parse(there.stdout).rows[0].count, 3);
});

test('a sandbox refusing netlink: forced netlink names the netlink sock_diag socket, exit 1; auto answers from procfs', async () => {
  const bin = h.buildFixture('no_netlink');
  const r = await h.runCli(['states', '--source', 'netlink'], { prefix: [bin] });
  assertOneLine(r, 1, 'tcpcensus: socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation not permitted (EPERM)');
  const auto = await h.runCli(['states', '--json'], { prefix: [bin] });
  assert.equal(auto.code, 0, auto.stderr);
  assert.equal(JSON.parse(auto.stdout).source, 'procfs');
  const lib = await h.callLibrary('countStatesSync', { source: 'netlink' }, { prefix: [bin] });
  assert.deepEqual(
    lib.error,
    {
      name: 'SystemError',
      message: 'socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation not permitted',
      code: 'EPERM',
      syscall: 'socket',
      errno: 1,
    },
    'no path: a socket is not a file',
  );
});

test('maxSockets: a bound on the rows kept, LimitError past it (exit 1, one line)', async () => {
  const n = (await tc.countStates({ states: ['close-wait'] })).total;
  assert.ok(n >= 46);
  await assert.rejects(
    tc.snapshot({ states: ['close-wait'], maxSockets: 10 }),
    (e) => e instanceof tc.LimitError && e.code === 'ERR_TCPCENSUS_MAX_SOCKETS',
  );
  assert.throws(() => tc.topProcessesSync({ maxSockets: 10 }), tc.LimitError);
  assert.equal((await tc.topProcesses({ maxSockets: 1000000, limit: 1000 })).total >= 46, true);
  const r = await h.runCli(['top', '--max-sockets', '10']);
  assertOneLine(r, 1, 'tcpcensus: more than 10 sockets match (--max-sockets); narrow the states or filters, or raise the bound');
  const bad = await h.runCli(['list', '--max-sockets', '0']);
  assertOneLine(bad, 2, 'tcpcensus: --max-sockets must be an integer from 1 to 2147483647, got "0"');
  const states = await h.runCli(['states', '--max-sockets', '10']);
  assert.equal(states.code, 2, 'states keeps no rows: no --max-sockets');
  await assert.rejects(tc.snapshot({ maxSockets: 0 }), /maxSockets must be an integer from 1 to 2147483647, got 0/);
});
