// Every command, with names chosen by someone else: a process that names
// itself with an OSC sequence (ESC ] 0 ; ... BEL sets the terminal's title,
// console_codes(4); process.title sets comm and argv), in a cgroup whose
// directory has that name, holding CLOSE_WAIT sockets, and a network
// namespace with that name (a bind mount under /var/run/netns, as ip-netns(8)
// makes them) with a holder inside. No command may write one of those bytes
// to the terminal raw, on stdout or stderr, in text, JSON or NDJSON, in
// watch's screen or its lines, in serve's metrics, or in an error message:
// each shows the name escaped (\x1b]0;pwned\x07), and JSON keeps the value.
// Needs root (cgroups, namespaces, mount).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import * as h from '../../helpers/index';
import { Tmux } from '../../helpers/tmux';

const EVIL = '\x1b]0;pwned\x07';
const SHOWN = '\\x1b]0;pwned\\x07';
// Any control character but newline and tab, and any ESC that does not start an SGR colour sequence.
const RAW = /[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]|\x1b(?!\[[0-9;]*m)/;

const ns = `tc-esc-${process.pid}`;
const evilNs = `tc-esc-${process.pid}-${EVIL}`;
let mount: string;
let cgroupDir: string;
let holder: h.Fixture;
let inside: h.Fixture;

before(async () => {
  mount = h.cgroup2Mount()!;
  assert.ok(mount, 'a cgroup2 mount');
  cgroupDir = path.join(mount, `tc-esc-${process.pid}-${EVIL}`);
  fs.mkdirSync(cgroupDir);
  // The holder joins the cgroup before it makes its sockets, so the kernel tags them with it.
  const join = 'echo $$ > "$0/cgroup.procs" && exec "$@"';
  holder = await h.startFixture('/bin/sh', ['-c', join, cgroupDir, process.execPath, h.HOLDER, EVIL, '3', '0', '4']);
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  inside = await h.startHolder(EVIL, 2, 0, '4', { prefix: ['ip', 'netns', 'exec', ns] });
  // The namespace known by the hostile name alone.
  fs.writeFileSync(`/var/run/netns/${evilNs}`, '');
  execFileSync('mount', ['--bind', `/var/run/netns/${ns}`, `/var/run/netns/${evilNs}`]);
  execFileSync('umount', [`/var/run/netns/${ns}`]);
  fs.rmSync(`/var/run/netns/${ns}`);
});

after(async () => {
  await holder?.stop();
  await inside?.stop();
  try {
    execFileSync('umount', [`/var/run/netns/${evilNs}`]);
  } catch {
    /* not mounted */
  }
  fs.rmSync(`/var/run/netns/${evilNs}`, { force: true });
  await h.removeCgroups([cgroupDir]);
});

const port = () => String(holder.info.port);

function assertSafe(what: string, text: string): void {
  const bad = text.split('\n').find((l) => RAW.test(l));
  assert.equal(bad, undefined, `${what}: a raw control character in ${JSON.stringify(bad)}`);
}

async function cli(args: string[], opts: h.RunOptions = {}): Promise<h.RunResult> {
  const r = await h.runCli(args, opts);
  assertSafe(`${args.join(' ')} (stdout)`, r.stdout);
  assertSafe(`${args.join(' ')} (stderr)`, r.stderr);
  return r;
}

test('report, top (by process, command, cgroup), list -p: the name escaped in text, never raw', async () => {
  for (const args of [
    ['report', '--sport', port()],
    ['top', '--sport', port()],
    ['top', '--by', 'command', '--sport', port()],
    ['top', '--by', 'cgroup', '--sport', port()],
    ['list', '-p', '-s', 'close-wait', '--sport', port()],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stdout.includes(SHOWN), `${args.join(' ')} shows the name escaped:\n${r.stdout}`);
  }
});

test('--all-netns: states, top and list name the namespace escaped', async () => {
  for (const args of [
    ['states', '--all-netns'],
    ['top', '--all-netns'],
    ['list', '--all-netns', '-p', '-s', 'close-wait'],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stdout.includes(`tc-esc-${process.pid}-${SHOWN}`), `${args.join(' ')} names the namespace escaped:\n${r.stdout.slice(0, 2000)}`);
  }
});

test('JSON and NDJSON: the same bytes as \\u escapes, so a parser reads the name back as it is', async () => {
  const top = await cli(['top', '--json', '--sport', port()]);
  assert.equal((JSON.parse(top.stdout) as { rows: Array<{ command: string }> }).rows[0]?.command, EVIL);
  const report = await cli(['report', '--json', '--sport', port()]);
  assert.equal((JSON.parse(report.stdout) as { top: { rows: Array<{ command: string }> } }).top.rows[0]?.command, EVIL);
  const list = await cli(['list', '--json', '-p', '-s', 'close-wait', '--sport', port()]);
  assert.ok((JSON.parse(list.stdout) as Array<{ command: string }>).every((r) => r.command === EVIL));
  const nd = await cli(['list', '--ndjson', '--all-netns', '-s', 'close-wait']);
  assert.ok(
    nd.stdout
      .split('\n')
      .filter(Boolean)
      .some((l) => (JSON.parse(l) as { netnsName: string | null }).netnsName === evilNs),
  );
  const states = await cli(['states', '--all-netns', '--json']);
  assert.ok((JSON.parse(states.stdout) as { namespaces: Array<{ netns: { name: string | null } }> }).namespaces.some((n) => n.netns.name === evilNs));
});

test('watch, not on a terminal: lines and NDJSON, by process and by cgroup', async () => {
  for (const args of [
    ['watch', '-c', '2'],
    ['watch', '-c', '2', '--by', 'cgroup'],
    ['watch', '-c', '2', '--json'],
  ]) {
    const r = await cli([...args, '--interval', '300ms', '--sport', port()]);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    if (args.includes('--json')) assert.ok(r.stdout.includes('\\u001b]0;pwned\\u0007'), r.stdout);
    else assert.ok(r.stdout.includes(SHOWN), `${args.join(' ')}:\n${r.stdout}`);
  }
});

test('watch on a terminal, by process and by cgroup: the name escaped on the screen, the title untouched', async () => {
  for (const by of ['process', 'cgroup']) {
    const t = new Tmux(`tc-esc-${process.pid}-${by}`);
    try {
      t.send(`cd ${h.ROOT} && ${process.execPath} dist/cli.js watch --interval 300ms --by ${by} --sport ${port()}`, 'Enter');
      await t.waitFor(/\\x1b\]0;pwned\\x07/);
      assert.doesNotMatch(t.tmux('display', '-p', '-t', t.name, '#{pane_title}'), /pwned/, `${by}: the terminal title is untouched`);
      t.send('q');
      await t.waitFor(/^\$\s*$/m);
    } finally {
      t.kill();
    }
  }
});

test('serve: the command and cgroup labels escaped in /metrics, as curl shows them', async () => {
  const s = await h.startServe(['--sport', port(), '--min-interval', '0s']);
  try {
    const body = await (await fetch(`${s.url}/metrics`)).text();
    assertSafe('/metrics', body);
    assert.match(body, /tcpcensus_command_sockets\{state="CLOSE_WAIT",command="\\\\x1b\]0;pwned\\\\x07"\} 3/);
    assert.ok(body.includes(`cgroup="/tc-esc-${process.pid}-\\\\x1b]0;pwned\\\\x07"`), body);
    assertSafe('serve stderr', s.stderr());
  } finally {
    await s.stop();
  }
});

test('errors quote what was typed escaped: a cgroup, a namespace, a state, a command', async () => {
  for (const args of [['top', '--cgroup', `/nope-${EVIL}`], ['states', '--netns', EVIL], ['explain', EVIL], ['top', '-s', EVIL], [EVIL]]) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`);
    assert.ok(r.stderr.includes(SHOWN), `${JSON.stringify(args)}: ${r.stderr}`);
  }
});
