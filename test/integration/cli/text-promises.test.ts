// The CLI's smaller promises, run for real: --version, the "could not be
// read" line said once with the hint that fits, limits checked as typed,
// shared sockets shown, the state bar within the terminal, NO_COLOR as
// no-color.org defines it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

let holder: h.Fixture;
let sharer: h.Fixture;
before(async () => {
  holder = await h.startHolder('tc-text', 12);
  sharer = await h.startSharer(); // a listener shared by a parent and its forked child
});
after(async () => {
  await h.stopAll([holder, sharer]);
});

test('--version and -V print the package version', async () => {
  const { version } = JSON.parse(fs.readFileSync(path.join(h.ROOT, 'package.json'), 'utf8'));
  for (const flag of ['--version', '-V']) {
    const r = await h.runCli([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  }
});

const UNREADABLE = /^tcpcensus: (\d+) process(?:es)? could not be read \((.*)\)$/gm;

test('"could not be read" is said once, on stderr, with the hint that fits who runs it', async () => {
  for (const args of [['top'], ['list', '-p']]) {
    const r = await h.runCli(args, { prefix: h.AS_NOBODY });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /could not be read/, `${args}: stdout stays what was asked for`);
    const lines = [...r.stderr.matchAll(UNREADABLE)];
    assert.equal(lines.length, 1, `${args}: ${r.stderr}`);
    assert.equal(lines[0]![2], 'not root; root sees all owners');
  }
  const np = await h.runCli(['top', '--owners', 'proc'], { prefix: h.NO_PTRACE });
  const [line] = [...np.stderr.matchAll(UNREADABLE)];
  assert.equal(line![2], "root without CAP_SYS_PTRACE (a container's default) cannot read another process's fd links");
  assert.doesNotMatch(np.stdout, /could not be read/);
  // Root with CAP_SYS_PTRACE reads what it may; what it may not (on some
  // hosts pid 1, behind a security module) gets neither of the hints above.
  const root = await h.runCli(['top', '--json', '--owners', 'proc']);
  const n = JSON.parse(root.stdout).unreadableProcesses;
  const rootLines = [...root.stderr.matchAll(UNREADABLE)];
  assert.equal(rootLines.length, n ? 1 : 0);
  if (n) assert.equal(rootLines[0]![2], 'refused even to root: a security module, or a process holding capabilities this one lacks');
});

const LIMITS: Array<[string[], string]> = [
  [['top', '-n', '9007199254740993'], '--limit must be an integer from 1 to 2147483647, got "9007199254740993"'],
  [['list', '-n', '1000000000000000000000'], '--limit must be an integer from 1 to 2147483647, got "1000000000000000000000"'],
  [['list', '-n', '1e21'], '--limit must be an integer from 1 to 2147483647, got "1e21"'],
  [['top', '-n', '2147483648'], '--limit must be an integer from 1 to 2147483647, got "2147483648"'],
  [['top', '-n', '0'], '--limit must be an integer from 1 to 2147483647, got "0"'],
  [['list', '-n', '0'], '--limit must be an integer from 1 to 2147483647, got "0"'],
  [['report', '--limit=-1'], '--limit must be an integer from 1 to 2147483647, got "-1"'],
  [['top', '--threads', '9'], '--threads must be an integer from 1 to 8, got "9"'],
  [['top', '--threads', '01e0'], '--threads must be an integer from 1 to 8, got "01e0"'],
  [['top', '--pid', '2147483648'], '--pid takes process ids such as 1234 or 1234,5678, got "2147483648"'],
];

test('limits are integers 1..2^31-1 everywhere, the input quoted as typed, in one wording', async () => {
  for (const [args, message] of LIMITS) {
    const r = await h.runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}`);
    assert.equal(r.stderr, `tcpcensus: ${message}\n(run tcpcensus --help for usage)\n`);
  }
  const max = await h.runCli(['list', '-n', '2147483647', '-s', 'listen', '--json']);
  assert.equal(max.code, 0, max.stderr);
  await assert.rejects(tc.topProcesses({ limit: 2 ** 31 }), /^OptionError: limit must be an integer from 1 to 2147483647, got 2147483648$/);
  assert.equal(tc.topProcessesSync({ limit: 2 ** 31 - 1 }).by, 'process');
});

test('text output shows sockets shared by several processes', async () => {
  const { port } = sharer.info;
  const r = await h.runCli(['top', '-s', 'listen', '--by', 'command']);
  const line = /^  (\d+) sockets? (is|are) shared by several processes, each counted once, for the lowest pid$/m.exec(r.stdout);
  assert.ok(line, r.stdout);
  assert.ok(Number(line[1]) >= 1);
  const list = await h.runCli(['list', '-p', '-s', 'listen']);
  assert.match(list.stdout, new RegExp(`:${port} .* ${sharer.info.pid} python3`));
  assert.match(list.stderr, /^tcpcensus: \d+ sockets are shared by several processes; PID shows the lowest$/m);
});

// Runs the CLI on a terminal `cols` wide (script(1) gives it a pty).
function onTerminal(args: string[], cols: number, env = process.env): string {
  const cmd = `stty cols ${cols} rows 40; exec ${process.execPath} ${h.CLI} ${args.join(' ')}`;
  return execFileSync('script', ['-qec', cmd, '/dev/null'], { env }).toString();
}
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');

test('the state histogram fits the terminal: no line wider than 60 columns at 60', () => {
  const out = plain(onTerminal(['states'], 60));
  const bars = out.split('\n').filter((l) => /█/.test(l));
  assert.ok(bars.length >= 2, out);
  for (const line of out.split('\n')) assert.ok(line.length <= 60, `${line.length} columns: ${line}`);
  assert.ok(
    bars.some((l) => l.length === 60),
    'the longest bar uses the width',
  );
});

test('colour on a terminal unless NO_COLOR is set and not empty (no-color.org); never in a pipe', async () => {
  const env = { ...process.env };
  delete env.NO_COLOR;
  assert.match(onTerminal(['states'], 100, env), /\x1b\[1mTCP sockets by state/);
  assert.match(onTerminal(['states'], 100, { ...env, NO_COLOR: '' }), /\x1b\[1mTCP sockets by state/, 'NO_COLOR= (empty) keeps colour');
  assert.doesNotMatch(onTerminal(['states'], 100, { ...env, NO_COLOR: '1' }), /\x1b\[/);
  const piped = await h.runCli(['states'], { env });
  assert.doesNotMatch(piped.stdout, /\x1b\[/);
});

test('a command name with a newline or an escape sequence is shown escaped: one line per row, no terminal control', async () => {
  const evil = await h.startHolder('tc-esc\nx\x1b[2J', 3);
  try {
    const r = await h.runCli(['top', '--pid', String(evil.info.pid)]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /\x1b\[2J/);
    const row = r.stdout.split('\n').find((l) => l.includes(String(evil.info.pid)));
    assert.ok(row, r.stdout);
    assert.match(row, /^\s+3\s+\d+\s+tc-esc\\nx\\x1b\[2J\s+tc-esc\\nx\\x1b\[2J/);
    const list = await h.runCli(['list', '-p', '--pid', String(evil.info.pid), '-s', 'close-wait']);
    assert.equal(list.stdout.trim().split('\n').length, 4, list.stdout);
    // JSON keeps the name as it is.
    const json = JSON.parse((await h.runCli(['top', '--json', '--pid', String(evil.info.pid)])).stdout);
    assert.equal(json.rows[0].command, 'tc-esc\nx\x1b[2J');
  } finally {
    await evil.stop();
  }
});
