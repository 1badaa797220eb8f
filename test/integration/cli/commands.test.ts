// The CLI commands, run for real against real sockets: every
// command in text and JSON, every filter against ss with the same filter,
// every --by grouping against the true owners, every bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as h from '../../helpers/index';

let fx: h.Fixture;
const H = {} as Record<'a' | 'b' | 'c1' | 'c2' | 'nobody', h.Fixture>;
before(async () => {
  [fx, H.a, H.b, H.c1, H.c2, H.nobody] = await Promise.all([
    h.startStates(['--close']),
    h.startHolder('tc-cmd-a', 17, 0, '127.0.0.1', { clientHost: '127.0.0.3' }),
    h.startHolder('tc-cmd-b', 9, 0, '::1'),
    h.startHolder('tc-cmd-same', 5, 0, '127.0.0.1', { clientHost: '127.0.0.4' }),
    h.startHolder('tc-cmd-same', 5, 0, '127.0.0.1', { clientHost: '127.0.0.4' }),
    h.startHolder('tc-cmd-nobody', 6, 0, '127.0.0.5', { prefix: h.AS_NOBODY }),
  ]);
});
after(async () => {
  await h.stopAll([fx, ...Object.values(H)]);
});

// The CLI's JSON, parsed: its shape is docs/json.md's, read loosely at this boundary.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(args: string[], opts?: h.RunOptions): Promise<{ value: any; stderr: string }> {
  const r = await h.runCli([...args, '--json'], opts);
  assert.equal(r.code, 0, `tcpcensus ${args.join(' ')}: ${r.stderr}`);
  return { value: JSON.parse(r.stdout), stderr: r.stderr };
}

const closeWaitOracle = () => h.ss(['state', 'close-wait']);
const passwd = new Map(
  fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':'))
    .map((f) => [Number(f[2]), f[0]]),
);
const tally = (items: Iterable<unknown>) => {
  const m = new Map<unknown, number>();
  for (const k of items) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
};
const rowsMap = (rows: h.JsonRow[]) => new Map(rows.map((r: h.JsonRow) => [r.key, r.count]));
const ssHost = (host: string) => (host === '*' ? '::' : host);
const bracket = (host: string) => (host.includes(':') ? `[${host}]` : host);

test('states --json has the documented shape and equals ss', async () => {
  const { oracle, mine: value } = await h.stable(
    () => h.ssCounts(),
    async () => (await json(['states'])).value,
  );
  assert.deepEqual(Object.keys(value), ['total', 'states', 'families', 'source', 'sourceFallback', 'unknown', 'tookMs']);
  assert.deepEqual(Object.keys(value.families), ['ipv4', 'ipv6']);
  assert.equal(value.source, 'netlink');
  for (const s of Object.keys(value.states)) assert.equal(value.states[s], oracle[s] ?? 0, s);
});

test('top --json (by process) has the documented shape and the true owners', async () => {
  // Other processes on a shared host open and close sockets too: compare
  // only while ss saw the same before and after.
  const {
    oracle,
    mine: { value },
  } = await h.stable(closeWaitOracle, () => json(['top', '-n', '1000']));
  assert.deepEqual(Object.keys(value), [
    'states',
    'by',
    'total',
    'owned',
    'unowned',
    'unattributed',
    'unreadableProcesses',
    'procHidden',
    'shared',
    'ownerSource',
    'ownerFallback',
    'source',
    'sourceFallback',
    'unknown',
    'rows',
    'tookMs',
  ]);
  assert.equal(value.by, 'process');
  const a = value.rows.find((r: h.JsonRow) => r.pid === H.a.info.pid);
  assert.deepEqual(Object.keys(a).sort(), ['cmdline', 'command', 'count', 'key', 'pid']);
  assert.equal(a.count, 17);
  assert.equal(a.command, 'tc-cmd-a');
  const truth = tally(oracle.filter((r) => r.users.length).map((r) => String(Math.min(...r.users.map((u) => u.pid)))));
  assert.deepEqual(rowsMap(value.rows), truth);
});

test('top --by command groups every pid of one command', async () => {
  const {
    oracle,
    mine: { value },
  } = await h.stable(closeWaitOracle, () => json(['top', '--by', 'command', '-n', '1000']));
  const same = value.rows.find((r: h.JsonRow) => r.key === 'tc-cmd-same');
  assert.deepEqual(same, { key: 'tc-cmd-same', command: 'tc-cmd-same', pids: 2, count: 10 });
  const truth = new Map();
  for (const r of oracle) {
    if (!r.users.length) continue;
    const u = r.users.reduce((x, y) => (x.pid < y.pid ? x : y));
    truth.set(u.command, (truth.get(u.command) ?? 0) + 1);
  }
  assert.deepEqual(rowsMap(value.rows), truth);
});

test('top --by remote, remote-host, local-port and user equal ss grouped the same way', async () => {
  const keysBy = {
    remote: (r: h.JsonRow) => `${bracket(ssHost(r.remoteHost))}:${r.remotePort}`,
    'remote-host': (r: h.JsonRow) => ssHost(r.remoteHost),
    'local-port': (r: h.JsonRow) => String(r.localPort),
    user: (r: h.JsonRow) => passwd.get(r.uid) ?? String(r.uid),
  };
  for (const [by, keyOf] of Object.entries(keysBy)) {
    const {
      oracle,
      mine: { value },
    } = await h.stable(closeWaitOracle, () => json(['top', '--by', by, '-n', '100000']));
    assert.equal(value.by, by);
    assert.deepEqual(rowsMap(value.rows), tally(oracle.map(keyOf)), by);
    assert.equal(value.owned, null, `${by} needs no /proc walk`);
  }
  const rh = (await json(['top', '--by', 'remote-host'])).value.rows;
  assert.equal(rh.find((r: h.JsonRow) => r.key === '127.0.0.3').count, 17);
  const user = (await json(['top', '--by', 'user', '-n', '100'])).value.rows.find((r: h.JsonRow) => r.user === 'nobody');
  assert.deepEqual(user, { key: 'nobody', count: 6, uid: 65534, user: 'nobody' });
  const port = (await json(['top', '--by', 'local-port', '--sport', String(H.a.info.port)])).value.rows;
  assert.deepEqual(port, [{ key: String(H.a.info.port), count: 17, localPort: H.a.info.port }]);
});

// Filters: the same expression given to tcpcensus and to ss must select the
// same sockets. Compared on the sockets of this test's fixtures.
function filterCases(): Array<[string[], string[]]> {
  const pa = H.a.info.port;
  const pb = H.b.info.port;
  const lo = Math.min(...fx.info.ports);
  const hi = Math.max(...fx.info.ports);
  return [
    [
      ['--sport', String(pa)],
      ['sport', '=', `:${pa}`],
    ],
    [
      ['--dport', String(pa)],
      ['dport', '=', `:${pa}`],
    ],
    [
      ['--sport', `${lo}-${hi}`],
      ['(', 'sport', '>=', `:${lo}`, 'and', 'sport', '<=', `:${hi}`, ')'],
    ],
    [
      ['--dport', `${lo}-${hi}`],
      ['(', 'dport', '>=', `:${lo}`, 'and', 'dport', '<=', `:${hi}`, ')'],
    ],
    [
      ['--dst', '127.0.0.3'],
      ['dst', '127.0.0.3'],
    ],
    [
      ['--src', '127.0.0.0/8'],
      ['src', '127.0.0.0/8'],
    ],
    [
      ['--src', '::1'],
      ['src', '[::1]'],
    ],
    [
      ['--dst', '::1/128'],
      ['dst', '::1/128'],
    ],
    [
      ['--src', '::/0', '-6'],
      ['-6', 'src', '::/0'],
    ],
    [
      ['-4', '--dport', `${lo}-${hi}`],
      ['-4', '(', 'dport', '>=', `:${lo}`, 'and', 'dport', '<=', `:${hi}`, ')'],
    ],
    [
      ['-6', '--sport', String(pb)],
      ['-6', 'sport', '=', `:${pb}`],
    ],
    [
      ['-s', 'close-wait', '--sport', String(pa), '--dst', '127.0.0.3'],
      ['state', 'close-wait', 'sport', '=', `:${pa}`, 'dst', '127.0.0.3'],
    ],
    [
      ['-s', 'estab,time-wait', '--src', '127.0.0.1'],
      ['state', 'established', 'state', 'time-wait', 'src', '127.0.0.1'],
    ],
    [
      ['-s', 'connected', '--dst', '127.0.0.0/8'],
      ['state', 'connected', 'dst', '127.0.0.0/8'],
    ],
    [
      ['-s', 'synchronized', '-6'],
      ['-6', 'state', 'synchronized'],
    ],
    [
      ['-s', 'bucket'],
      ['state', 'bucket'],
    ],
    [
      ['-s', 'big', '-4'],
      ['-4', 'state', 'big'],
    ],
  ];
}

test('every filter selects what ss selects with the same filter', async () => {
  const ports = new Set([...fx.info.ports, ...Object.values(H).map((x) => x.info.port)]);
  const ours = (r: h.JsonRow) => ports.has(r.localPort) || ports.has(r.remotePort);
  for (const [args, ssArgs] of filterCases()) {
    const hasState = args.includes('-s');
    const norm = (rows: string[]) => rows.sort();
    const { oracle: theirs, mine } = await h.stable(
      () =>
        norm(
          h
            .ss([...(hasState ? [] : ['state', 'all']), ...ssArgs])
            .filter(ours)
            .map((r) => `${ssHost(r.localHost)}|${r.localPort}|${ssHost(r.remoteHost)}|${r.remotePort}`),
        ),
      async () =>
        norm(
          (await json(['list', ...(hasState ? [] : ['-s', 'all']), ...args])).value
            .filter((r: h.JsonRow) => r.state !== 'CLOSE' && ours(r))
            .map((r: h.JsonRow) => `${r.localAddress}|${r.localPort}|${r.remoteAddress}|${r.remotePort}`),
        ),
    );
    assert.ok(theirs.length > 0, `ss ${ssArgs.join(' ')} selected nothing: a useless case`);
    assert.deepEqual(mine, theirs, `tcpcensus list ${args.join(' ')} vs ss ${ssArgs.join(' ')}`);
  }
});

test('list --json rows have the documented keys; -p adds the true owner', async () => {
  const plain = (await json(['list', '-s', 'close-wait', '--sport', String(H.a.info.port)])).value;
  assert.equal(plain.length, 17);
  assert.deepEqual(Object.keys(plain[0]), [
    'state',
    'family',
    'localAddress',
    'localPort',
    'remoteAddress',
    'remotePort',
    'recvQ',
    'sendQ',
    'uid',
    'inode',
    'pid',
    'command',
  ]);
  assert.ok(plain.every((r: h.JsonRow) => r.pid === null && r.command === null && r.state === 'CLOSE_WAIT' && r.remoteAddress === '127.0.0.3'));
  const withP = (await json(['list', '-p', '-s', 'close-wait', '--sport', String(H.a.info.port)])).value;
  assert.ok(withP.every((r: h.JsonRow) => r.pid === H.a.info.pid && r.command === 'tc-cmd-a'));
});

test('list --ndjson streams one object per line, -n limits, text has ss-like columns', async () => {
  const nd = await h.runCli(['list', '--ndjson', '-s', 'close-wait', '--sport', String(H.b.info.port)]);
  assert.equal(nd.code, 0);
  const lines = nd.stdout.trim().split('\n');
  assert.equal(lines.length, 9);
  assert.ok(lines.every((l) => JSON.parse(l).family === 'ipv6'));
  const limited = await h.runCli(['list', '--ndjson', '-n', '3', '-s', 'close-wait']);
  assert.equal(limited.stdout.trim().split('\n').length, 3);
  const text = await h.runCli(['list', '-p', '-s', 'close-wait', '--sport', String(H.b.info.port)]);
  const tl = text.stdout.trim().split('\n');
  assert.match(tl[0]!, /^State\s+Recv-Q\s+Send-Q\s+Local Address:Port\s+Peer Address:Port\s+PID Command$/);
  assert.equal(tl.length, 10);
  assert.match(tl[1]!, new RegExp(`^CLOSE_WAIT\\s+0\\s+0\\s+\\[::1\\]:${H.b.info.port}\\s+\\[::1\\]:\\d+\\s+${H.b.info.pid} tc-cmd-b$`));
});

test('--pid keeps only the sockets those processes hold', async () => {
  const pids = `${H.a.info.pid},${H.b.info.pid}`;
  const top = (await json(['top', '--pid', pids, '-s', 'all'])).value;
  // Each holder: its CLOSE_WAITs plus its LISTEN socket.
  assert.deepEqual(
    rowsMap(top.rows),
    new Map([
      [String(H.a.info.pid), 18],
      [String(H.b.info.pid), 10],
    ]),
  );
  assert.equal(top.total, 28);
  assert.equal(top.unowned + top.unattributed, 0);
  const list = (await json(['list', '--pid', String(H.b.info.pid)])).value;
  assert.equal(list.length, 10);
  const rep = (await json(['report', '--pid', String(H.a.info.pid)])).value;
  assert.deepEqual(Object.keys(rep), ['states', 'top', 'topFallback']);
  assert.equal(rep.topFallback, null, 'with --pid the report stays by process');
  assert.equal(rep.states.states.CLOSE_WAIT, 17);
  assert.equal(rep.states.states.LISTEN, 1);
  assert.equal(rep.states.total, 18);
  assert.equal(rep.top.rows[0].count, 17);
});

test('report prints the meaning under the top section; explain explains', async () => {
  const r = await h.runCli(['report', '-n', '3']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Top processes holding CLOSE_WAIT.*\n  CLOSE_WAIT: the peer closed and the application never called close\(\)/m);
  const one = await h.runCli(['explain', 'close-wait']);
  assert.equal(one.code, 0);
  assert.match(one.stdout, /^CLOSE_WAIT\n.*\n  Waiting: .*\n  Many of them: A leak in the owning process/m);
  const all = await h.runCli(['explain']);
  for (const s of [
    'ESTABLISHED',
    'SYN_SENT',
    'SYN_RECV',
    'FIN_WAIT1',
    'FIN_WAIT2',
    'TIME_WAIT',
    'CLOSE',
    'CLOSE_WAIT',
    'LAST_ACK',
    'LISTEN',
    'CLOSING',
  ]) {
    assert.match(all.stdout, new RegExp(`^${s}$`, 'm'));
  }
});

const BAD: Array<[string[], RegExp]> = [
  [['bogus'], /^tcpcensus: unknown command 'bogus'/],
  [['tpo'], /^tcpcensus: unknown command 'tpo' \(did you mean top\?\)/],
  [['top', '--bogus'], /unknown option '--bogus'/],
  [['top', '-s', 'close-wat'], /unknown state "close-wat"; valid states: ESTABLISHED/],
  [['states', '--sport', '70000'], /sport "70000" is not a port from 0 to 65535/],
  [['states', '--dport', 'http'], /dport "http" is not a port from 0 to 65535/],
  [['list', '--dport', '2000-1000'], /runs backwards/],
  [['list', '--sport', '1-2-3'], /is not a port/],
  [['top', '--dst', '10.0.0.300'], /dst "10.0.0.300" is not an IPv4 or IPv6 address or prefix/],
  [['top', '--src', '10.0.0.0/40'], /prefix length must be 0 to 32/],
  [['top', '--src', 'fe80::/129'], /prefix length must be 0 to 128/],
  [['top', '-n', '0'], /--limit must be an integer from 1 to 2147483647, got "0"/],
  [['top', '-n', 'ten'], /--limit must be an integer from 1 to 2147483647, got "ten"/],
  [['list', '--limit=-1'], /--limit must be an integer from 1 to 2147483647, got "-1"/],
  [['top', '-4', '--dst', '::1'], /IPv6 src\/dst filter cannot match with family ipv4 \(-4\)/],
  [['top', '--by', 'host'], /unknown grouping "host"; valid: process, command, remote, remote-host, local-port, user/],
  [['top', '--threads', '99'], /threads must be an integer from 1 to 8/],
  [['top', '--pid', 'abc'], /--pid takes process ids/],
  [['explain', 'nope'], /unknown state "nope"/],
];

test('bad input: exit 2, one line naming the problem and what is accepted, a --help hint, no stack', async () => {
  for (const [args, pattern] of BAD) {
    const r = await h.runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.match(r.stderr, /--help/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(r.stderr.trim().split('\n').length <= 2, r.stderr);
    assert.equal(r.stdout, '');
  }
});

test('a runtime failure names what failed and the errno, exits 1; TCPCENSUS_DEBUG=1 adds the stack', async () => {
  const args = ['top', '--pid', String(H.a.info.pid)];
  const r = await h.runCli(args, { prefix: h.AS_NOBODY });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `tcpcensus: cannot read /proc/${H.a.info.pid}/fd: Permission denied (EACCES)\n`);
  const d = await h.runCli(args, { prefix: h.AS_NOBODY, env: { TCPCENSUS_DEBUG: '1' } });
  assert.equal(d.code, 1);
  assert.match(d.stderr, /\n\s+at /);
});

test('--help on every command shows examples', async () => {
  for (const cmd of ['report', 'states', 'top', 'list', 'explain']) {
    const r = await h.runCli([cmd, '--help']);
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, /Examples/, cmd);
  }
  assert.match((await h.runCli(['top', '--help'])).stdout, /netstat -apn \| grep CLOSE_WAIT/);
});

test('not root: states still equal ss, and stderr says how many processes could not be read', async () => {
  const { value, stderr } = await json(['top', '-n', '100'], { prefix: h.AS_NOBODY });
  assert.ok(value.unreadableProcesses > 0);
  assert.match(stderr, new RegExp(`tcpcensus: ${value.unreadableProcesses} processes could not be read \\(not root; root sees all owners\\)`));
  // nobody can read its own holder, and nothing it cannot read is called owned.
  assert.equal(value.rows.find((r: h.JsonRow) => r.pid === H.nobody.info.pid).count, 6);
  assert.ok(!value.rows.some((r: h.JsonRow) => r.pid === H.a.info.pid));
  assert.ok(value.unattributed >= 17 + 9 + 10);
  const { oracle, mine: states } = await h.stable(
    () => h.ssCounts(),
    async () => (await json(['states'], { prefix: h.AS_NOBODY })).value,
  );
  for (const s of Object.keys(states.states)) assert.equal(states.states[s], oracle[s] ?? 0, s);
});

test('root without CAP_SYS_PTRACE: the walk counts processes whose fd links it cannot read, never silently walks them; the eBPF source sees them', async () => {
  const full = (await json(['top', '-n', '100', '--owners', 'proc'])).value;
  const { value, stderr } = await json(['top', '-n', '100', '--owners', 'proc'], { prefix: h.NO_PTRACE });
  // Another user's process: its fd directory lists, its links do not.
  assert.ok(!value.rows.some((r: h.JsonRow) => r.pid === H.nobody.info.pid));
  assert.ok(value.unreadableProcesses > full.unreadableProcesses);
  assert.ok(value.unattributed >= full.unattributed + 6);
  assert.equal(value.total, value.owned + value.unowned + value.unattributed);
  assert.match(
    stderr,
    /processes could not be read \(root without CAP_SYS_PTRACE \(a container's default\) cannot read another process's fd links\)/,
  );
  assert.equal(full.rows.find((r: h.JsonRow) => r.pid === H.nobody.info.pid).count, 6);
  // The iterator joins inside the kernel: CAP_BPF and CAP_PERFMON are enough.
  const bpf = (await json(['top', '-n', '100'], { prefix: h.NO_PTRACE })).value;
  assert.equal(bpf.ownerSource, 'bpf');
  assert.equal(bpf.unreadableProcesses, 0);
  assert.equal(bpf.rows.find((r: h.JsonRow) => r.pid === H.nobody.info.pid).count, 6);
});
