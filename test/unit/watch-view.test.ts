/**
 * src/cli/watch/watch.ts's pure view: WatchView (the samples seen),
 * renderWatch (the full screen), sparkline, and sampleLine (one line per
 * sample when stdout is no terminal), from samples built by hand. The
 * expectations are the module's contract: sparklines scaled from zero,
 * newest at the right, each character the largest of its samples, a count
 * above zero never drawn as the lowest character; a frame of at most `rows`
 * lines, each at most `columns` wide; a title that loses whole parts, never
 * half of one. Whatever a process or cgroup names itself is escaped
 * (console_codes(4): ESC, BEL, C1 CSI 0x9b, DEL, newline) on the screen
 * and in line mode, with and without colour (SGR, console_codes(4)).
 *
 * watch.ts keeps its loop (runWatch, which imports the sampler and so the
 * addon) beside the view, so importing it loads the addon; nothing here
 * calls it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { renderWatch, sampleLine, sparkline, WatchView, type WatchStyle } from '../../src/cli/watch/watch';
import type { Sample, TopReport, TopRow } from '../../src/types';
import type { StateName } from '../../src/request/states';

const PLAIN: WatchStyle = { color: false, unicode: false };
const COLOR: WatchStyle = { color: true, unicode: true };
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const stripSgr = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
const HOSTILE = '\x1b]0;pwned\x07\u009b2J\x7f\nX';
const HOSTILE_SHOWN = '\\x1b]0;pwned\\x07\\x9b2J\\x7f\\nX';
const clock = () => '12:00:00';

const topOf = (by: TopReport['by'], rows: TopRow[], over: Partial<TopReport> = {}): TopReport => ({
  states: ['CLOSE_WAIT'],
  by,
  total: rows.reduce((n, r) => n + r.count, 0),
  owned: null,
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
  rows,
  tookMs: 1,
  ...over,
});

function sample(
  seq: number,
  states: Partial<Record<StateName, number>>,
  top: TopReport | null = null,
  prev?: Partial<Record<StateName, number>>,
): Sample {
  const total = Object.values(states).reduce((a, b) => a + (b ?? 0), 0);
  const delta = prev ? Object.fromEntries(Object.entries(states).map(([k, v]) => [k, (v ?? 0) - (prev[k as StateName] ?? 0)])) : null;
  return {
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)),
    seq,
    total,
    states,
    families: { ipv4: total, ipv6: 0 },
    delta,
    top,
    attribution: null,
    skipped: 0,
    tookMs: 3,
  };
}

// ---- sparkline ----

test('sparkline: heights scale from zero to the largest value, one character per sample', () => {
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8, 1, true), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8, 1, false), '_.--==*#');
  assert.equal(sparkline([100, 101, 102], 8, 1, true), '███', 'a count that barely moves draws flat, not as a rise from nothing');
});

test('sparkline: above zero is never the lowest character; zero always is', () => {
  assert.equal(sparkline([1, 1000], 8, 1, true), '▂█');
  assert.equal(sparkline([0, 0, 0], 8, 1, true), '▁▁▁');
  assert.equal(sparkline([0, 0, 0], 8, 1, false), '___');
});

test('sparkline: each character is the largest of `per` samples, grouped from the newest; only `width` of them', () => {
  assert.equal(sparkline([1, 5, 2, 2], 2, 2, false), '#-', 'max(1,5)=5 full, max(2,2)=2 is 2/5 of 7, rounded to 3');
  assert.equal(sparkline([9, 0, 0, 0, 1, 2, 3], 3, 1, true), '▃▆█', 'the oldest samples fall off the left');
  assert.equal(sparkline([7, 0, 0], 1, 2, true), '▁', 'the last bucket only: max(0,0)');
  assert.equal(sparkline([], 8, 1, true), '');
});

// ---- WatchView ----

test('WatchView keeps the samples of about five minutes, oldest first, and the last top rows for the change column', () => {
  const v = new WatchView(60_000, ['CLOSE_WAIT']);
  for (let i = 1; i <= 10; i++) v.push(sample(i, { CLOSE_WAIT: i }, topOf('command', [{ key: 'a', count: i, command: 'a', pids: 1 }])));
  // 5 minutes at one a minute: 5 intervals, so 6 samples.
  assert.deepEqual(
    v.history.map((h) => h.CLOSE_WAIT),
    [5, 6, 7, 8, 9, 10],
  );
  assert.equal(v.times.length, 6);
  assert.equal(v.last?.seq, 10);
  assert.deepEqual([...v.prevRows], [['a', 9]]);
  v.fail('boom');
  assert.equal(v.error, 'boom');
  v.push(sample(11, { CLOSE_WAIT: 1 }));
  assert.equal(v.error, null, 'a good sample clears the error');
});

// ---- renderWatch ----

test('before the first sample: the title says so and nothing else is drawn', () => {
  const out = renderWatch(new WatchView(1000, ['CLOSE_WAIT']), 80, 24, PLAIN, clock);
  assert.equal(out.length, 2);
  assert.equal(out[0], `${'tcpcensus watch  every 1s  taking the first sample...'.padEnd(71)}  q quits`);
  assert.equal(out[1], '');
});

test('a frame: the title, the histogram with the top states, the total, then the top rows', () => {
  const v = new WatchView(1000, ['CLOSE_WAIT']);
  v.push(sample(1, { ESTABLISHED: 4, CLOSE_WAIT: 2 }, topOf('process', [{ key: '7', count: 2, pid: 7, command: 'app', cmdline: 'app --serve' }])));
  const out = renderWatch(v, 80, 24, PLAIN, clock);
  assert.equal(out[0], `${'tcpcensus watch  every 1s  12:00:00  sample 1 (3 ms)'.padEnd(71)}  q quits`);
  assert.match(out[2]!, /^ {2}STATE {8}COUNT {3}CHANGE/);
  assert.match(out[3]!, /^ {2}ESTABLISHED {6}4 {11}#+ /);
  assert.match(out[4]!, /^ {2}CLOSE_WAIT {7}2 {11}#+ /);
  assert.match(out[5]!, /^ {2}total {12}6 {11}\(IPv4 6, IPv6 0\)$/);
  assert.equal(out[7], 'Top processes holding CLOSE_WAIT  (2 sockets)');
  assert.equal(out[9], `      2  ${''.padStart(7)}        7  app              app --serve`, 'no change on the first sample');
  assert.equal(out[10], '  0 held by no process');
});

test('the change column: signed against the previous sample, "new" for a row not seen before', () => {
  const v = new WatchView(1000, ['CLOSE_WAIT']);
  const row = (key: string, count: number): TopRow => ({ key, count, pid: Number(key), command: `c${key}`, cmdline: '' });
  v.push(sample(1, { CLOSE_WAIT: 5 }, topOf('process', [row('1', 5)])));
  v.push(sample(2, { CLOSE_WAIT: 9 }, topOf('process', [row('1', 3), row('2', 6)]), { CLOSE_WAIT: 5 }));
  const out = renderWatch(v, 80, 24, PLAIN, clock);
  assert.ok(
    out.some((l) => /^ {2}CLOSE_WAIT {7}9 {7}\+4 /.test(l)),
    out.join('\n'),
  );
  assert.ok(out.some((l) => /^ {2}total {12}9 {7}\+4 /.test(l)));
  assert.ok(out.includes('      3       -2        1  c1               '));
  assert.ok(out.includes('      6      new        2  c2               '));
});

test('every frame fits: at most `rows` lines, each at most `columns` visible characters, in both styles', () => {
  const v = new WatchView(1000, ['CLOSE_WAIT']);
  const rows = Array.from({ length: 40 }, (_, i): TopRow => ({
    key: String(i),
    count: 40 - i,
    pid: 1000 + i,
    command: `proc${i}`,
    cmdline: 'x'.repeat(300),
  }));
  for (let i = 1; i <= 5; i++) v.push(sample(i, { ESTABLISHED: 100 * i, CLOSE_WAIT: 40, TIME_WAIT: 7 }, topOf('process', rows)));
  for (const st of [PLAIN, COLOR]) {
    for (const [columns, height] of [
      [20, 5],
      [40, 10],
      [80, 24],
      [132, 50],
      [200, 12],
    ] as const) {
      const out = renderWatch(v, columns, height, st, clock);
      assert.ok(out.length <= height, `${columns}x${height}: ${out.length} lines`);
      for (const l of out) assert.ok([...stripSgr(l)].length <= columns, `${columns}x${height}: ${JSON.stringify(l)}`);
    }
  }
});

test('a narrow title loses whole parts, never half of one', () => {
  const v = new WatchView(1000, ['CLOSE_WAIT']);
  v.push(sample(3, { CLOSE_WAIT: 1 }));
  const forms = new Set(['tcpcensus watch', 'every 1s', '12:00:00', 'sample 3 (3 ms)', 'sample 3']);
  for (let columns = 20; columns <= 90; columns++) {
    const title = renderWatch(v, columns, 24, PLAIN, clock)[0]!;
    const text = title.slice(0, columns - '  q quits'.length).trim();
    for (const part of text.split('  ').filter((p) => p !== '')) assert.ok(forms.has(part), `${columns}: "${part}" of "${text}"`);
  }
});

test("on screen, a process's name and command line come out escaped, with and without colour", () => {
  const v = new WatchView(1000, ['CLOSE_WAIT']);
  v.push(sample(1, { CLOSE_WAIT: 1 }, topOf('process', [{ key: '7', count: 1, pid: 7, command: HOSTILE, cmdline: `sh ${HOSTILE}` }])));
  for (const st of [PLAIN, COLOR]) {
    const out = renderWatch(v, 200, 24, st, clock);
    for (const l of out) assert.doesNotMatch(stripSgr(l), CONTROL, JSON.stringify(l));
    assert.ok(
      out.some((l) => stripSgr(l).endsWith(`7  ${HOSTILE_SHOWN}  sh ${HOSTILE_SHOWN}`)),
      out.join('\n'),
    );
  }
});

test('on screen, commands, cgroup names and paths, users and peer keys come out escaped', () => {
  const tops = [
    topOf('command', [{ key: HOSTILE, count: 1, command: HOSTILE, pids: 1 }]),
    topOf('cgroup', [{ key: `/x/${HOSTILE}`, count: 1, cgroupId: 9, path: `/x/${HOSTILE}`, name: HOSTILE }]),
    topOf('user', [{ key: '1000', count: 1, uid: 1000, user: HOSTILE }]),
    topOf('remote', [{ key: HOSTILE, count: 1 }]),
  ];
  for (const top of tops) {
    const v = new WatchView(1000, ['CLOSE_WAIT']);
    v.push(sample(1, { CLOSE_WAIT: 1 }, top));
    for (const st of [PLAIN, COLOR]) {
      const out = renderWatch(v, 200, 24, st, clock);
      for (const l of out) assert.doesNotMatch(stripSgr(l), CONTROL, `${top.by}: ${JSON.stringify(l)}`);
      assert.ok(
        out.some((l) => l.includes(HOSTILE_SHOWN)),
        top.by,
      );
    }
  }
});

// view.error is a sampler error's message, which may quote a path or a
// namespace name: drawn escaped, as every other outside byte.
test("on screen, a failed sample's message comes out escaped", () => {
  const v = new WatchView(1000, ['CLOSE_WAIT']);
  v.push(sample(1, { CLOSE_WAIT: 1 }));
  v.fail(`cannot read /var/run/netns/${HOSTILE}`);
  for (const l of renderWatch(v, 200, 24, PLAIN, clock)) assert.doesNotMatch(l, CONTROL);
});

// ---- sampleLine ----

test('a line per sample: time, total and its change, each state with sockets or a change, the top rows', () => {
  const top = topOf('process', [
    { key: '7', count: 2, pid: 7, command: 'app', cmdline: '' },
    { key: '8', count: 1, pid: 8, command: 'db', cmdline: '' },
  ]);
  const s = sample(2, { ESTABLISHED: 4, SYN_SENT: 0, CLOSE_WAIT: 3, LISTEN: 0 }, top, { ESTABLISHED: 4, CLOSE_WAIT: 1, LISTEN: 2 });
  assert.equal(
    sampleLine(s),
    '2026-01-01T00:00:02.000Z  total 7 (0)  ESTABLISHED 4 (0)  CLOSE_WAIT 3 (+2)  LISTEN 0 (-2)  top CLOSE_WAIT: app[7] 2, db[8] 1',
  );
  assert.equal(sampleLine(sample(1, { CLOSE_WAIT: 3 })), '2026-01-01T00:00:01.000Z  total 3  CLOSE_WAIT 3', 'the first sample has no change');
  assert.equal(sampleLine(sample(1, { CLOSE_WAIT: 0 }, topOf('process', []))), '2026-01-01T00:00:01.000Z  total 0  top CLOSE_WAIT: none');
  assert.equal(sampleLine({ ...sample(1, { CLOSE_WAIT: 1 }), skipped: 2 }), '2026-01-01T00:00:01.000Z  total 1  CLOSE_WAIT 1  skipped 2');
});

test('in line mode, commands and keys come out escaped: one line per sample, nothing a terminal acts on', () => {
  for (const top of [
    topOf('process', [{ key: '7', count: 1, pid: 7, command: HOSTILE, cmdline: HOSTILE }]),
    topOf('command', [{ key: HOSTILE, count: 1, command: HOSTILE, pids: 1 }]),
    topOf('cgroup', [{ key: `/x/${HOSTILE}`, count: 1, cgroupId: 9, path: `/x/${HOSTILE}`, name: HOSTILE }]),
  ]) {
    const l = sampleLine(sample(1, { CLOSE_WAIT: 1 }, top));
    assert.doesNotMatch(l, CONTROL, top.by);
    assert.ok(l.includes(HOSTILE_SHOWN), `${top.by}: ${l}`);
  }
});
