// tcpcensus watch, tested as a person would: run under tmux,
// sockets made and closed while it runs, the screen read with capture-pane,
// q pressed, the terminal checked to be restored (normal screen, cursor
// shown), also after a resize, a signal and a crash. Not on a terminal: one
// line (or JSON object) per sample. The view itself is pure functions,
// tested on made-up samples.
import { test, before, after } from 'node:test';
import fs from 'node:fs';
import assert from 'node:assert/strict';
import type * as tc from '../../../src/index';
import * as h from '../../helpers/index';
import { Tmux } from '../../helpers/tmux';

const HOST = '127.0.0.72';
let server: h.HalfCloser;
before(async () => {
  server = await h.startHalfCloser(HOST);
});
after(async () => {
  await server.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the view, pure ----

import { WatchView, renderWatch, sparkline, sampleLine } from '../../../src/cli/watch/watch';

function sample(
  seq: number,
  states: Partial<Record<tc.StateName, number>>,
  rows: Array<[number, string, number]>,
  extra: Partial<tc.Sample> = {},
): tc.Sample {
  const all: Record<string, number> = {
    ESTABLISHED: 0,
    SYN_SENT: 0,
    SYN_RECV: 0,
    FIN_WAIT1: 0,
    FIN_WAIT2: 0,
    TIME_WAIT: 0,
    CLOSE_WAIT: 0,
    LAST_ACK: 0,
    LISTEN: 0,
    CLOSING: 0,
    ...states,
  };
  const total = Object.values(all).reduce((a, b) => a + b, 0);
  return {
    at: new Date(Date.UTC(2025, 0, 1, 12, 0, seq)),
    seq,
    total,
    states: all,
    families: { ipv4: total, ipv6: 0 },
    delta: null,
    top: {
      states: ['CLOSE_WAIT'],
      by: 'process',
      total: all.CLOSE_WAIT,
      owned: all.CLOSE_WAIT,
      unowned: 0,
      unattributed: 0,
      unreadableProcesses: 0,
      shared: 0,
      rows: rows.map(([pid, command, count]) => ({ key: String(pid), pid, command, cmdline: `${command} --serve`, count })),
      tookMs: 1,
    },
    attribution: { source: 'proc', full: seq === 1, cached: 0, lookedUp: 0, probed: 0, walkedProcesses: 0, pending: 0 },
    skipped: 0,
    tookMs: 1.5,
    ...extra,
  } as tc.Sample;
}

test('sparklines scale from zero to the largest value shown, newest at the right', () => {
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8, 1, true), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([1, 2, 3, 4, 5, 6, 7, 8], 8, 1, true), '▂▃▄▅▅▆▇█');
  assert.equal(sparkline([591, 592, 593, 594], 8, 1, true), '████', 'a count that barely moves draws flat, not as a rise from nothing');
  assert.equal(sparkline([1, 1000], 8, 1, true), '▂█', 'above zero is never drawn as none');
  assert.equal(sparkline([5, 5, 5], 8, 1, true), '███');
  assert.equal(sparkline([0, 0, 0], 8, 1, true), '▁▁▁');
  assert.equal(sparkline([0, 10, 0, 0], 2, 2, true), '█▁', 'each character is the largest of its samples');
  assert.equal(sparkline([1, 2, 3, 4, 5, 6], 3, 1, true), '▆▇█', 'only the last width buckets');
  assert.equal(sparkline([0, 8], 2, 1, false), '_#');
  assert.equal(sparkline([], 5, 1, true), '');
});

test('the header: LAST is the time the samples drawn cover; a narrow terminal drops whole words', () => {
  const st = { color: false, unicode: true };
  const view = new WatchView(1000, ['CLOSE_WAIT']);
  const at = (sec: number) => new Date(Date.UTC(2025, 0, 1, 12, 0, sec));
  view.push({ ...sample(1, { CLOSE_WAIT: 591 }, []), at: at(0) });
  assert.match(renderWatch(view, 120, 30, st).join('\n'), /CHANGE +LAST 0s$/m, 'one sample covers no time');
  for (let i = 2; i <= 5; i++) view.push({ ...sample(i, { CLOSE_WAIT: 590 + i }, []), at: at(i - 1), delta: { CLOSE_WAIT: 1 } });
  const text = renderWatch(view, 120, 30, st).join('\n');
  assert.match(text, /CHANGE +LAST 4s$/m, '5 samples a second apart cover 4s');
  assert.match(text, /^ {2}CLOSE_WAIT +595 +\+1 +█+ +█$/m, 'one character holds 6 samples of a second at this width');
  // Late samples: the time they were taken, not the interval, says the span.
  view.push({ ...sample(6, { CLOSE_WAIT: 595 }, []), at: at(64) });
  assert.match(renderWatch(view, 120, 30, st).join('\n'), /CHANGE +LAST 1m4s$/m);
  // A wide terminal: the whole header; narrower ones drop parts, never cut a word.
  const head = (cols: number) => renderWatch(view, cols, 30, st, () => '12:01:04')[0];
  assert.equal(head(120), `${'tcpcensus watch  every 1s  12:01:04  sample 6 (1.5 ms)  owners: proc, 0 looked up'.padEnd(111)}  q quits`);
  assert.equal(head(80), `${'every 1s  12:01:04  sample 6 (1.5 ms)  owners: proc, 0 looked up'.padEnd(71)}  q quits`);
  assert.equal(head(70), `${'every 1s  12:01:04  sample 6  owners: proc, 0 looked up'.padEnd(61)}  q quits`);
  assert.equal(head(60), `${'every 1s  12:01:04  sample 6  owners: proc'.padEnd(51)}  q quits`);
  assert.equal(head(45), `${'12:01:04  sample 6  owners: proc'.padEnd(36)}  q quits`);
  assert.equal(head(30), `${'12:01:04  sample 6'.padEnd(21)}  q quits`);
  assert.equal(head(20), `${'sample 6'.padEnd(11)}  q quits`);
  for (const cols of [20, 30, 45, 60, 70, 80, 120]) assert.equal([...head(cols)!].length, cols);
});

test('the screen: histogram with changes and bars, top owners with changes, within the terminal', () => {
  // One sample a minute: one sparkline character per sample.
  const view = new WatchView(60000, ['CLOSE_WAIT']);
  view.push(
    sample(1, { ESTABLISHED: 40, CLOSE_WAIT: 10 }, [
      [100, 'billing', 7],
      [200, 'api', 3],
    ]),
  );
  view.push({
    ...sample(2, { ESTABLISHED: 38, CLOSE_WAIT: 14 }, [
      [100, 'billing', 9],
      [200, 'api', 3],
      [300, 'new-one', 2],
    ]),
    delta: { ESTABLISHED: -2, CLOSE_WAIT: 4, LISTEN: 0 },
  });
  const st = { color: false, unicode: true };
  const lines = renderWatch(view, 100, 30, st, () => '12:00:02');
  const text = lines.join('\n');
  assert.match(lines[0]!, /^tcpcensus watch {2}every 1m {2}12:00:02 {2}sample 2 \(1\.5 ms\) {2}owners: proc, 0 looked up +q quits$/);
  assert.match(text, /^ {2}ESTABLISHED +38 +-2 +█+ +██$/m);
  assert.match(text, /^ {2}CLOSE_WAIT +14 +\+4 +█+ +▆█$/m);
  assert.doesNotMatch(text, /LISTEN/, 'states with no sockets in the span are left out');
  assert.match(text, /^ {2}total +52 +\+2 {2}\(IPv4 52, IPv6 0\)$/m);
  assert.match(text, /^Top processes holding CLOSE_WAIT {2}\(14 sockets\)$/m);
  assert.match(text, /^ +9 +\+2 +100 {2}billing +billing --serve$/m);
  assert.match(text, /^ +3 +0 +200 {2}api +api --serve$/m);
  assert.match(text, /^ +2 +new +300 {2}new-one +new-one --serve$/m);
  for (const l of lines) assert.ok([...l].length <= 100, `wider than the terminal: ${l}`);
  // A small terminal: cut to its size, never wrapped.
  const small = renderWatch(view, 40, 8, st);
  assert.ok(small.length <= 8);
  for (const l of small) assert.ok([...l].length <= 40, l);
  // Colour only when asked.
  assert.doesNotMatch(text, /\x1b\[/);
  assert.match(renderWatch(view, 100, 30, { color: true, unicode: true }).join('\n'), /\x1b\[31mCLOSE_WAIT/);
});

test("the screen says when procfs hides other users' processes (hidepid)", () => {
  const view = new WatchView(1000, ['CLOSE_WAIT']);
  const s1 = sample(1, { CLOSE_WAIT: 5 }, []);
  view.push({ ...s1, top: { ...s1.top!, owned: 0, unattributed: 5, procHidden: 'hidepid=invisible' } });
  const text = renderWatch(view, 120, 30, { color: false, unicode: true }).join('\n');
  assert.match(text, /^ {2}5 held, owner not found \(yet\)/m);
  assert.match(text, /^ {2}procfs is mounted hidepid=invisible: other users' processes are hidden, their sockets show no owner$/m);
  view.push(sample(2, { CLOSE_WAIT: 5 }, []));
  assert.doesNotMatch(renderWatch(view, 120, 30, { color: false, unicode: true }).join('\n'), /hidepid/);
});

test('one line per sample when not on a terminal', () => {
  const s = { ...sample(2, { ESTABLISHED: 38, CLOSE_WAIT: 14 }, [[100, 'billing', 9]]), delta: { ESTABLISHED: -2, CLOSE_WAIT: 4 } };
  assert.equal(sampleLine(s), '2025-01-01T12:00:02.000Z  total 52 (+2)  ESTABLISHED 38 (-2)  CLOSE_WAIT 14 (+4)  top CLOSE_WAIT: billing[100] 9');
});

// ---- the command, for real ----

test('not on a terminal: NDJSON with --json, one line per sample, --count stops it', async () => {
  const r = await h.runCli(['watch', '--json', '--count', '3', '--interval', '100ms', '--dst', HOST, '--dport', String(server.port)]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((s) => s.seq),
    [1, 2, 3],
  );
  assert.equal(lines[0].delta, null);
  assert.deepEqual(Object.keys(lines[1]), ['at', 'seq', 'total', 'states', 'families', 'delta', 'top', 'attribution', 'skipped', 'tookMs']);
  assert.ok(Date.parse(lines[2].at) - Date.parse(lines[1].at) >= 90);
  const plain = await h.runCli(['watch', '--count', '2', '--interval', '100ms', '--dst', HOST, '--dport', String(server.port)]);
  assert.equal(plain.code, 0, plain.stderr);
  const pl = plain.stdout.trim().split('\n');
  assert.equal(pl.length, 2);
  assert.match(pl[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}total 0 {2}top CLOSE_WAIT: none$/);
  assert.match(pl[1]!, /^\S+ {2}total 0 \(0\) {2}top CLOSE_WAIT: none$/);
});

test('bad watch flags exit 2 with one line', async () => {
  for (const [args, msg] of <Array<[string[], RegExp]>>[
    [['--interval', '1'], /^tcpcensus: --interval must be a duration such as 500ms, 1s or 2m, from 10ms to 24 days, got "1"$/m],
    [['--interval', '5ms'], /--interval must be a duration/],
    [['--count', '0'], /^tcpcensus: --count must be an integer from 1 to 2147483647, got "0"$/m],
    [['--owners', 'x'], /unknown owner source "x"/],
    [['--full-every', 'x'], /--full-every must be an integer/],
    [['--by', 'nope'], /unknown grouping "nope"/],
    [['--pid', '1'], /unknown option '--pid'/],
  ]) {
    const r = await h.runCli(['watch', ...args]);
    assert.equal(r.code, 2, `${args}: ${r.code} ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
    assert.equal(r.stdout, '');
  }
});

// A shell on a 120x40 terminal (or as asked) in a tmux server of its own (its socket in a
// temporary directory, so no one else's tmux is touched); the server is
// killed and the directory removed after each test.
const watchCmd = (extra = '') =>
  `cd ${h.ROOT} && ${extra}${process.execPath} dist/cli.js watch --interval 300ms --dst ${HOST} --dport ${server.port}`;

test('watch under tmux: a live screen that follows sockets made and closed, q quits and restores the terminal', async () => {
  const t = new Tmux(`tc-watch-${process.pid}`);
  let a: h.CwClient | null | undefined;
  try {
    t.send(watchCmd(), 'Enter');
    let s = await t.waitFor(/sample \d+ .*q quits/);
    assert.deepEqual(t.flags(), { alternate: true, cursor: false }, 'full screen, cursor hidden while it runs');
    assert.match(s, /^ {2}CLOSE_WAIT +0 /m);
    assert.match(s, /no CLOSE_WAIT sockets/);

    a = await h.startCwClient('tc-watch-a', HOST, server.port, 4);
    // New owner: pending for one sample, then walked for.
    s = await t.waitFor(new RegExp(`^ +4 +(new|\\+\\d+) +${a.info.pid} {2}tc-watch-a`, 'm'));
    assert.match(s, /^ {2}CLOSE_WAIT +4 /m);
    assert.match(s, /^Top processes holding CLOSE_WAIT {2}\(4 sockets\)$/m);
    assert.match(s, /LAST \d/, 'sparkline column');
    for (const l of s.split('\n')) assert.ok([...l].length <= 120);

    // A resize redraws at the new size.
    t.resize(70, 20);
    s = await t.waitFor(/q quits/);
    await sleep(700);
    s = t.screen();
    for (const l of s.split('\n')) assert.ok([...l].length <= 70, `after the resize: ${l}`);
    assert.match(s, /CLOSE_WAIT +4/);
    t.resize(120, 40);

    await a.stop();
    a = null;
    s = await t.waitFor(/^ {2}CLOSE_WAIT +0 +-4 /m);
    assert.doesNotMatch(s, /tc-watch-a/);

    t.send('q');
    s = await t.waitFor(/^\$\s*$/m);
    assert.deepEqual(t.flags(), { alternate: false, cursor: true }, 'normal screen, cursor shown');
    t.send('echo EXIT=$?', 'Enter');
    s = await t.waitFor(/^EXIT=\d+$/m);
    assert.match(s, /^EXIT=0$/m);
    assert.doesNotMatch(s, /q quits/, 'the watch screen went with the alternate screen');
  } finally {
    t.kill();
    if (a) await a.stop();
  }
});

// "LAST 4s" or "LAST 600ms" or "LAST 1m4s" on the histogram's header, in ms.
function lastSpan(screen: string) {
  const m = /LAST (?:(\d+)ms|(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?)$/m.exec(screen);
  assert.ok(m, `no LAST on the screen:\n${screen}`);
  if (m[1] !== undefined) return Number(m[1]);
  return ((Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0)) * 1000;
}

const HEADER_120 =
  /^tcpcensus watch {2}every 300ms {2}\d\d:\d\d:\d\d {2}sample (\d+) \([\d.]+ ms\) {2}owners: (bpf|proc)(, full|, \d+ looked up) +q quits$/;
// Narrower: whole parts left out, never a word cut.
const HEADER_70 = /^(every 300ms {2})?\d\d:\d\d:\d\d {2}sample (\d+)( \([\d.]+ ms\))?( {2}owners: (bpf|proc)(, full|, \d+ looked up)?)? +q quits$/;

test('watch under tmux at 120 and 70 columns: the header in whole words, LAST the time the samples cover, a count that barely moves draws flat', async () => {
  const t = new Tmux(`tc-watch3-${process.pid}`, 120, 40);
  let a: h.CwClient | null | undefined;
  let b: h.CwClient | undefined;
  try {
    a = await h.startCwClient('tc-watch-flat', HOST, server.port, 20);
    t.send(watchCmd(), 'Enter');
    let s = await t.waitFor(/sample ([3-9]|\d\d+) .*q quits/);
    let head = s.split('\n')[0];
    assert.match(head!, HEADER_120);
    assert.match(s, /^ {2}CLOSE_WAIT +20 /m);
    // The span of the samples drawn: a few samples 300ms apart, not the
    // 5 minutes the row could hold.
    let seq = Number(HEADER_120.exec(head!)![1]);
    let span = lastSpan(s);
    assert.ok(span >= (seq - 1) * 150 && span <= (seq - 1) * 600 + 1000, `LAST ${span}ms after ${seq} samples 300ms apart`);

    // Past 18 samples (5.4 s: what one character holds at 120 columns) the
    // row has two characters; then one socket more: 20 -> 21 draws flat
    // (it drew as a rise from nothing when scaled from the smallest value).
    await t.waitFor(/sample (19|[2-9]\d|\d{3,}) /, 20000);
    b = await h.startCwClient('tc-watch-flat2', HOST, server.port, 1);
    s = await t.waitFor(/^ {2}CLOSE_WAIT +21 /m);
    const row = s.split('\n').find((l) => l.startsWith('  CLOSE_WAIT'))!;
    const spark = row.trim().split(/\s+/).pop()!;
    assert.ok([...spark].length >= 2, row);
    assert.match(spark, /^█+$/, `20 then 21 is flat, from zero: ${row}`);
    for (const l of s.split('\n')) assert.ok([...l].length <= 120, l);

    // 70 columns: every word of the header whole, LAST still the samples' span.
    t.resize(70, 40);
    await sleep(700);
    s = t.screen();
    head = s.split('\n')[0];
    assert.match(head!, HEADER_70, 'cut to whole words');
    assert.ok([...head!].length <= 70);
    seq = Number(HEADER_70.exec(head!)![2]);
    span = lastSpan(s);
    assert.ok(span >= (seq - 1) * 150 && span <= (seq - 1) * 600 + 1000, `at 70 columns, LAST ${span}ms after ${seq} samples 300ms apart`);
    for (const l of s.split('\n')) assert.ok([...l].length <= 70, l);

    t.send('q');
    await t.waitFor(/^\$\s*$/m);
  } finally {
    t.kill();
    if (a) await a.stop();
    if (b) await b.stop();
  }
});

test('watch under tmux: Ctrl-C, a signal and a crash all restore the terminal', async () => {
  const t = new Tmux(`tc-watch2-${process.pid}`);
  try {
    // Ctrl-C (raw mode: it arrives as a key).
    t.send(watchCmd(), 'Enter');
    await t.waitFor(/q quits/);
    t.send('C-c');
    await t.waitFor(/^\$\s*$/m);
    assert.deepEqual(t.flags(), { alternate: false, cursor: true }, 'after Ctrl-C');
    t.send('echo EXIT=$?', 'Enter');
    assert.match(await t.waitFor(/^EXIT=\d+$/m), /^EXIT=0$/m);
    t.send('clear', 'Enter');

    // SIGTERM from elsewhere: to the shell's child, the watch.
    t.send(watchCmd(), 'Enter');
    await t.waitFor(/q quits/);
    const shell = Number(t.tmux('display', '-p', '-t', t.name, '#{pane_pid}').trim());
    const pid = Number(fs.readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(' ')[0]);
    assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /cli\.js\0watch/);
    process.kill(pid, 'SIGTERM');
    await sleep(1000);
    assert.deepEqual(t.flags(), { alternate: false, cursor: true }, 'after SIGTERM');
    t.send('clear', 'Enter');

    // A crash in the middle of drawing (a test failpoint): the error is said
    // on the normal screen, after the terminal is restored.
    t.send(watchCmd('TCPCENSUS_TEST_WATCH_CRASH=2 '), 'Enter');
    const s = await t.waitFor(/tcpcensus: test crash/);
    assert.deepEqual(t.flags(), { alternate: false, cursor: true }, 'after a crash');
    t.send('echo EXIT=$?', 'Enter');
    assert.match(await t.waitFor(/^EXIT=\d+$/m), /^EXIT=1$/m);
    assert.doesNotMatch(s, /q quits/);
  } finally {
    t.kill();
  }
});

// A local process names itself (prctl(PR_SET_NAME), here process.title) with
// an OSC sequence that would retitle the terminal of whoever runs watch: on a
// screen and in line mode it is shown escaped, and the terminal keeps its title.
test('a process named with an escape sequence cannot drive the terminal of watch, on a screen or in its lines', async () => {
  const evil = '\x1b]0;pwned\x07';
  const a = await h.startCwClient(evil, HOST, server.port, 2);
  const t = new Tmux(`tc-watch-evil-${process.pid}`);
  try {
    t.send(watchCmd(), 'Enter');
    const s = await t.waitFor(/\\x1b\]0;pwned\\x07/);
    assert.match(s, new RegExp(`${a.info.pid} {2}\\\\x1b\\]0;pwned\\\\x07`), 'the name, escaped, beside its pid');
    assert.doesNotMatch(t.tmux('display', '-p', '-t', t.name, '#{pane_title}'), /pwned/, 'the terminal title is untouched');
    t.send('q');
    await t.waitFor(/^\$\s*$/m);
    const r = await h.runCli(['watch', '-c', '3', '--interval', '300ms', '--dst', HOST, '--dport', String(server.port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f\x7f]/, 'no control character in the lines');
    assert.match(r.stdout, new RegExp(`\\\\x1b\\]0;pwned\\\\x07\\[${a.info.pid}\\] 2`));
  } finally {
    t.kill();
    await a.stop();
  }
});
