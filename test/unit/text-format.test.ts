/**
 * src/cli/text/format.ts: the text the CLI prints for `states`, `top`,
 * `list` and `explain`, from results built by hand (no sockets, no addon).
 * The layouts are the module's own contract: a state line is "  COUNT
 * LABEL(11)  BAR" with the bar scaled to the largest count, top tables are
 * "COUNT" then the grouping's columns, `list` follows ss(8)'s columns
 * (State, Recv-Q, Send-Q, Local Address:Port, Peer Address:Port; "*" for
 * port 0 of a wildcard address; IPv6 in brackets). Colour is SGR
 * (console_codes(4): 1 bold, 2 dim, 31 red) and only when asked for
 * (no-color.org). Whatever a process, cgroup or namespace names itself is
 * shown with its control characters escaped (console_codes(4): ESC, BEL,
 * the C1 CSI 0x9b, DEL, newline), in either style.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  listHeader,
  listLine,
  netnsText,
  procHiddenLine,
  renderExplain,
  renderNetnsStates,
  renderNetnsTop,
  renderStates,
  renderTop,
  sourceLines,
  unreadableLine,
  type Style,
} from '../../src/cli/text/format';
import type { NetnsLabel, NetnsStateCounts, NetnsTopReport, StateCounts, TopReport } from '../../src/types';
import type { SocketRow } from '../../src/report/table';

const PLAIN: Style = { color: false, unicode: false, width: 80 };
const COLOR: Style = { color: true, unicode: true, width: 80 };
// C0, DEL, C1: what no line of escaped text may hold (the text's own
// line breaks are between lines, so each line is checked alone).
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const assertSafe = (text: string) => {
  for (const l of text.split('\n')) assert.doesNotMatch(l, CONTROL);
};
// With colour on, the only ESC allowed is one that starts an SGR sequence we wrote.
const withoutSgr = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
const HOSTILE = '\x1b]0;pwned\x07\u009b2J\x7f\nX';
const HOSTILE_SHOWN = '\\x1b]0;pwned\\x07\\x9b2J\\x7f\\nX';

const counts = (over: Partial<StateCounts> = {}): StateCounts => ({
  total: 12,
  states: { ESTABLISHED: 3, SYN_SENT: 0, CLOSE_WAIT: 8, LISTEN: 1 },
  families: { ipv4: 10, ipv6: 2 },
  source: 'netlink',
  sourceFallback: null,
  unknown: [],
  tookMs: 4,
  ...over,
});

const top = (over: Partial<TopReport> = {}): TopReport => ({
  states: ['CLOSE_WAIT'],
  by: 'process',
  total: 5,
  owned: 5,
  unowned: 0,
  unattributed: 0,
  unreadableProcesses: 0,
  procHidden: null,
  shared: 0,
  ownerSource: 'proc',
  ownerFallback: null,
  source: 'netlink',
  sourceFallback: null,
  unknown: [],
  tookMs: 7,
  rows: [
    { key: '1234', count: 3, pid: 1234, command: 'worker', cmdline: 'worker --flag' },
    { key: '99', count: 2, pid: 99, command: 'node', cmdline: 'node server.js' },
  ],
  ...over,
});

const row = (over: Partial<SocketRow> = {}): SocketRow => ({
  state: 'ESTABLISHED',
  family: 'ipv4',
  localAddress: '127.0.0.1',
  localPort: 8080,
  remoteAddress: '127.0.0.1',
  remotePort: 50000,
  recvQ: 0,
  sendQ: 0,
  uid: 0,
  inode: 1,
  ...over,
});

// ---- renderStates ----

test('states: a title, one line per non-zero state, largest first, bars scaled to the largest, then the total', () => {
  assert.equal(
    renderStates(counts(), PLAIN),
    [
      'TCP sockets by state  (4 ms)',
      `      8  CLOSE_WAIT   ${'#'.repeat(50)}`,
      `      3  ESTABLISHED  ${'#'.repeat(19)}`, // 3/8 of 50, rounded
      `      1  LISTEN       ${'#'.repeat(6)}`, // 1/8 of 50, rounded
      '     12  total  (IPv4 10, IPv6 2)',
    ].join('\n'),
  );
});

test('states: equal counts sort by name; a count column widens past five digits', () => {
  const text = renderStates(counts({ total: 2_000_000, states: { LISTEN: 1_000_000, ESTABLISHED: 1_000_000 } }), PLAIN);
  const lines = text.split('\n');
  assert.match(lines[1]!, /^  1000000  ESTABLISHED  #+$/);
  assert.match(lines[2]!, /^  1000000  LISTEN       #+$/);
  assert.equal(lines[3], '  2000000  total  (IPv4 10, IPv6 2)');
});

test('states: nothing in the states asked for says so, and a place goes in the title', () => {
  assert.equal(
    renderStates(counts({ total: 0, states: { CLOSE_WAIT: 0 }, families: { ipv4: 0, ipv6: 0 } }), PLAIN, 'in netns web'),
    ['TCP sockets by state in netns web  (4 ms)', '      0  (no sockets in the requested states)', '      0  total  (IPv4 0, IPv6 0)'].join('\n'),
  );
});

test('states: every line fits the width, however narrow, and a bar is at least one block', () => {
  for (const width of [20, 30, 40, 80]) {
    const lines = renderStates(counts({ states: { ESTABLISHED: 1, CLOSE_WAIT: 100000 }, total: 100001 }), { ...PLAIN, width }).split('\n');
    for (const l of lines.slice(1, 3)) assert.ok(l.length <= Math.max(width, 24), `${width}: ${l}`);
    assert.match(lines[2]!, /ESTABLISHED  #$/, `${width}`);
  }
});

test('states with colour: bold title and total, dim notes, alarm states in red, block bars', () => {
  const text = renderStates(counts(), COLOR);
  const lines = text.split('\n');
  assert.equal(lines[0], '\x1b[1mTCP sockets by state\x1b[0m\x1b[2m  (4 ms)\x1b[0m');
  assert.equal(lines[1], `      8  \x1b[31mCLOSE_WAIT \x1b[0m  ${'█'.repeat(50)}`);
  assert.equal(lines[2], `      3  ESTABLISHED  ${'█'.repeat(19)}`, 'ESTABLISHED is no alarm');
  assert.equal(lines[4], '     12  \x1b[1mtotal\x1b[0m\x1b[2m  (IPv4 10, IPv6 2)\x1b[0m');
  assert.doesNotMatch(renderStates(counts(), PLAIN), /\x1b/, 'no colour: no escape at all');
});

test('states from /proc/net/tcp say so, why netlink was not used, and what cannot be shown', () => {
  const c = counts({
    source: 'procfs',
    sourceFallback: 'socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation not permitted',
    unknown: ['boundInactive', 'cookie', 'listenBacklog'],
  });
  const lines = renderStates(c, PLAIN).split('\n');
  assert.equal(lines[0], 'TCP sockets by state  (4 ms, from /proc/net/tcp)');
  assert.deepEqual(lines.slice(-2), [
    '  NETLINK_SOCK_DIAG was refused (socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation not permitted): read /proc/net/tcp instead',
    '  from /proc/net/tcp: bound-inactive sockets (CLOSE), socket cookies and LISTEN backlogs (Send-Q) cannot be shown',
  ]);
  assert.deepEqual(sourceLines({ source: 'netlink', sourceFallback: null, unknown: ['cgroupId'] }), ['from this kernel: cgroups cannot be shown']);
  assert.deepEqual(sourceLines({ source: 'netlink', sourceFallback: null, unknown: [] }), []);
});

// ---- renderTop ----

test("top by process: title, the state's meaning, COUNT PID COMMAND CMDLINE aligned, the unowned line", () => {
  assert.equal(
    renderTop(top(), PLAIN),
    [
      'Top processes holding CLOSE_WAIT  (5 sockets, 7 ms, owners via /proc)',
      '  CLOSE_WAIT: the peer closed and the application never called close(): a leak in the owning process',
      '  COUNT   PID  COMMAND  CMDLINE',
      '      3  1234  worker   worker --flag',
      '      2    99  node     node server.js',
      '  0 held by no process (orphans, TIME_WAIT, half-open requests)',
    ].join('\n'),
  );
});

test('top by process: control bytes in a command and a command line come out escaped, in both styles', () => {
  const r = top({ rows: [{ key: '7', count: 1, pid: 7, command: HOSTILE, cmdline: `sh -c ${HOSTILE}` }] });
  const plain = renderTop(r, { ...PLAIN, width: 200 });
  assert.equal(plain.split('\n')[3], `      1    7  ${HOSTILE_SHOWN}  sh -c ${HOSTILE_SHOWN}`);
  assertSafe(plain);
  const colour = renderTop(r, { ...COLOR, width: 200 });
  assertSafe(withoutSgr(colour));
  assert.ok(colour.includes(HOSTILE_SHOWN));
});

test('top by command, with eBPF owners, several states, unattributed and shared sockets', () => {
  const r = top({
    by: 'command',
    states: ['CLOSE_WAIT', 'LISTEN'],
    ownerSource: 'bpf',
    unowned: 2,
    unattributed: 3,
    shared: 1,
    rows: [
      { key: 'nginx', count: 10, pids: 4, command: 'nginx' },
      { key: 'sshd', count: 1, pids: 1, command: 'sshd' },
    ],
  });
  assert.equal(
    renderTop(r, PLAIN),
    [
      'Top commands holding CLOSE_WAIT, LISTEN  (5 sockets, 7 ms, owners via eBPF)',
      '  COUNT  PROCS  COMMAND',
      '     10      4  nginx',
      '      1      1  sshd',
      '  2 held by no process (orphans, TIME_WAIT, half-open requests)',
      '  3 held, but no owner found: unreadable or exited processes, or closed between the dump and the walk',
      '  1 socket is shared by several processes, each counted once, for the lowest pid',
    ].join('\n'),
  );
});

test('top by remote counts unowned sockets in its rows and says so', () => {
  const r = top({
    by: 'remote',
    owned: null,
    ownerSource: null,
    unowned: 4,
    rows: [{ key: '10.0.0.1:443', count: 5, remoteAddress: '10.0.0.1', remotePort: 443 }],
  });
  const lines = renderTop(r, PLAIN).split('\n');
  assert.equal(lines[0], 'Top peers holding CLOSE_WAIT  (5 sockets, 7 ms)');
  assert.deepEqual(lines.slice(2), [
    '  COUNT  PEER',
    '      5  10.0.0.1:443',
    '  4 held by no process (orphans, TIME_WAIT, half-open requests), counted in the rows above too',
  ]);
});

test('top with no sockets at all says "no ... sockets"', () => {
  const lines = renderTop(top({ total: 0, rows: [] }), PLAIN).split('\n');
  assert.equal(lines[2], '  no CLOSE_WAIT sockets');
});

test('top rows longer than the width are cut with an ellipsis', () => {
  const r = top({ rows: [{ key: '1', count: 1, pid: 1, command: 'x', cmdline: 'y'.repeat(200) }] });
  const lines = renderTop(r, { ...PLAIN, width: 40 }).split('\n');
  assert.equal(lines[3], `      1    1  x        ${'y'.repeat(39 - 23)}…`);
  assert.equal(lines[3]!.length, 40);
});

test('top by cgroup: NAME and PATH, "(id N)" for a removed cgroup, and the no-cgroup line', () => {
  const r = top({
    by: 'cgroup',
    unowned: 6,
    rows: [
      {
        key: '/system.slice/nginx.service',
        count: 4,
        cgroupId: 77,
        path: '/system.slice/nginx.service',
        name: 'nginx.service',
        unit: 'nginx.service',
      },
      { key: '78', count: 1, cgroupId: 78, path: null, name: '' },
    ],
  });
  assert.deepEqual(renderTop(r, PLAIN).split('\n').slice(2), [
    '  COUNT  NAME           PATH',
    '      4  nginx.service  /system.slice/nginx.service',
    '      1                 (id 78)',
    '  6 carry no cgroup (TIME_WAIT, half-open requests, orphans kept as TIME_WAIT)',
  ]);
});

// A delegated cgroup (or a container's cgroup namespace) lets an ordinary
// user mkdir a cgroup named with an escape sequence, and NSS can answer any
// user name: every cell of a top table is escaped (report/groupings.ts's
// cells go through printable in renderTop).
test('top by cgroup escapes control bytes in cgroup names and paths', () => {
  const r = top({ by: 'cgroup', rows: [{ key: `/x/${HOSTILE}`, count: 1, cgroupId: 5, path: `/x/${HOSTILE}`, name: HOSTILE }] });
  assertSafe(renderTop(r, { ...PLAIN, width: 200 }));
});
test('top by user escapes control bytes in user names (NSS can answer anything)', () => {
  const r = top({ by: 'user', rows: [{ key: '1000', count: 1, uid: 1000, user: HOSTILE }] });
  assertSafe(renderTop(r, { ...PLAIN, width: 200 }));
});

test('top: the procfs hidepid line escapes the mount point and option it quotes', () => {
  assert.equal(
    procHiddenLine('hidepid=invisible', '/proc'),
    "procfs at /proc is mounted hidepid=invisible: other users' processes are hidden from this one, so the sockets they hold show no owner (root, or the mount's gid= group, sees them all)",
  );
  assertSafe(procHiddenLine(`hidepid=2${HOSTILE}`, `/srv/${HOSTILE}`));
});

test('the unreadable line counts processes in the singular and plural, with the reason for who we are', () => {
  assert.equal(unreadableLine(1, 'not-root'), '1 process could not be read (not root; root sees all owners)');
  assert.equal(
    unreadableLine(3, 'root-without-ptrace'),
    "3 processes could not be read (root without CAP_SYS_PTRACE (a container's default) cannot read another process's fd links)",
  );
});

// ---- list ----

test('list: ss(8)\'s columns, "*" for the wildcard port, IPv6 in brackets, "?" for an unknown Send-Q', () => {
  assert.equal(listHeader(false), `State       Recv-Q Send-Q ${'Local Address:Port'.padEnd(28)} ${'Peer Address:Port'.padEnd(28)}`);
  assert.equal(listLine(row(), false), `ESTABLISHED      0      0 ${'127.0.0.1:8080'.padEnd(28)} 127.0.0.1:50000`);
  const listen = row({
    state: 'LISTEN',
    family: 'ipv6',
    localAddress: '::',
    localPort: 443,
    remoteAddress: '::',
    remotePort: 0,
    recvQ: 2,
    sendQ: null,
  });
  assert.equal(listLine(listen, false), `LISTEN           2      ? ${'[::]:443'.padEnd(28)} [::]:*`);
  assert.equal(listLine(row({ remoteAddress: '0.0.0.0', remotePort: 0 }), false).endsWith('0.0.0.0:*'), true);
  assert.equal(listLine(row({ remoteAddress: '10.0.0.1', remotePort: 0 }), false).endsWith('10.0.0.1:0'), true, 'port 0 of a real address stays 0');
});

test('list -p: PID and Command after the addresses, "-" for none, the command escaped', () => {
  assert.equal(listHeader(true).endsWith('     PID Command'), true);
  assert.equal(
    listLine(row({ pid: 42, command: HOSTILE }), true),
    `ESTABLISHED      0      0 ${'127.0.0.1:8080'.padEnd(28)} ${'127.0.0.1:50000'.padEnd(28)}      42 ${HOSTILE_SHOWN}`,
  );
  assert.equal(listLine(row({ pid: null, command: null }), true).endsWith('       - -'), true);
});

test('list --all-netns: the namespace leads each row in a 12-wide column', () => {
  assert.equal(listHeader(false, true).startsWith('Netns        State'), true);
  assert.equal(listLine(row(), false, 'web').startsWith('web          ESTABLISHED'), true);
});

// list hands listLine a namespace's name as it is (ns.name ?? inode);
// listLine escapes it, as netnsText does everywhere else.
test('list --all-netns escapes control bytes in the namespace column', () => {
  assertSafe(listLine(row(), false, HOSTILE));
});

// ---- namespaces ----

const ns = (over: Partial<NetnsLabel> = {}): NetnsLabel => ({ inode: 4026531840, name: null, path: '/proc/1/ns/net', pid: 1, self: false, ...over });

test('a namespace is its name, else a pid in it, else "?"; "(ours)" marks the caller\'s; the name escaped', () => {
  assert.equal(netnsText(ns({ name: 'web' })), 'web');
  assert.equal(netnsText(ns({ self: true })), 'pid 1 (ours)');
  assert.equal(netnsText(ns({ pid: null })), '?');
  assert.equal(netnsText(ns({ name: HOSTILE })), HOSTILE_SHOWN);
});

test('states --all-netns: the sums, then one line per namespace with its non-zero states, names escaped', () => {
  const one = (netns: NetnsLabel, total: number, states: StateCounts['states']) => ({ netns, ...counts({ total, states }) });
  const r: NetnsStateCounts = {
    total: 5,
    states: { ESTABLISHED: 3, LISTEN: 2 },
    families: { ipv4: 5, ipv6: 0 },
    tookMs: 9,
    namespaces: [
      one(ns({ self: true }), 4, { ESTABLISHED: 3, LISTEN: 1 }),
      one(ns({ inode: 4026532000, name: HOSTILE, pid: null }), 1, { LISTEN: 1, ESTABLISHED: 0 }),
    ],
    skipped: 1,
    skippedNamespaces: [{ netns: ns({ inode: 4026532001, name: 'gone', pid: null }), reason: `setns failed ${HOSTILE}` }],
    unreadableProcesses: 2,
  };
  const text = renderNetnsStates(r, { ...PLAIN, width: 120 });
  const lines = text.split('\n');
  assert.equal(lines[0], 'TCP sockets by state in 2 network namespaces  (9 ms)');
  const w = HOSTILE_SHOWN.length; // the NAME column is as wide as its widest name, here the escaped one
  assert.ok(lines.includes(`  TOTAL  NETNS       ${'NAME'.padEnd(w)}  STATES`), text);
  assert.ok(lines.includes(`      4  4026531840  ${'pid 1 (ours)'.padEnd(w)}  ESTABLISHED 3, LISTEN 1`), text);
  assert.ok(lines.includes(`      1  4026532000  ${HOSTILE_SHOWN}  LISTEN 1`), text);
  assert.ok(lines.includes('  1 namespace vanished between listing and dumping (their last process exited, or ip netns del), skipped:'), text);
  assert.ok(lines.includes(`    gone [4026532001]: setns failed ${HOSTILE_SHOWN}`), text);
  assert.ok(lines.includes("  2 processes' network namespaces could not be read: a namespace only they hold is not shown"), text);
  assertSafe(text);
  assertSafe(withoutSgr(renderNetnsStates(r, COLOR)));
});

// ---- explain ----

test("explain: each state's meaning, who waits, and what many of them say, blank-line separated", () => {
  const text = renderExplain(['CLOSE_WAIT', 'LISTEN']);
  const parts = text.split('\n\n');
  assert.equal(parts.length, 2);
  assert.equal(parts[0]!.split('\n')[0], 'CLOSE_WAIT');
  assert.match(parts[0]!, /^CLOSE_WAIT\n {2}The peer closed its end; this side has not called close\(\)\.\n {2}Waiting: .+\n {2}Many of them: .+$/);
  assert.match(parts[1]!, /^LISTEN\n {2}Waiting for incoming connections\.\n/);
});

test('top --all-netns: a section per namespace holding sockets, titled by its escaped name, then the sums', () => {
  const r: NetnsTopReport = {
    states: ['CLOSE_WAIT'],
    by: 'process',
    total: 5,
    tookMs: 11,
    namespaces: [
      { netns: ns({ inode: 4026532000, name: HOSTILE, pid: null }), ...top() },
      { netns: ns({ inode: 4026532001, name: 'idle', pid: null }), ...top({ total: 0, rows: [] }) },
    ],
    skipped: 0,
    skippedNamespaces: [],
    unreadableProcesses: 0,
  };
  const text = renderNetnsTop(r, { ...PLAIN, width: 120 });
  const sections = text.split('\n\n');
  assert.equal(sections.length, 2, 'the empty namespace has no section');
  assert.equal(
    sections[0]!.split('\n')[0],
    `Top processes holding CLOSE_WAIT in netns ${HOSTILE_SHOWN} [4026532000]  (5 sockets, 7 ms, owners via /proc)`,
  );
  assert.equal(sections[1], '5 CLOSE_WAIT sockets in 2 network namespaces (11 ms); 1 of them holds none');
  assertSafe(text);
  assertSafe(withoutSgr(renderNetnsTop(r, COLOR)));
});
