// procfs mounted hidepid=2 (hidepid=invisible) hides other users' processes
// from a non-root caller: the /proc walk never meets them, so their sockets
// are unattributed and nothing counts as unreadable. The CLI says so on
// stderr and the JSON in procHidden. Tested for real: fresh procfs mounts
// (with hidepid, with hidepid and a gid= group, without) in temporary
// directories, read as nobody through --proc; a root process holds the
// sockets. The mount-table parser is pure and tested on made-up lines.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as h from '../../helpers/index';
import { parseProcHidepid } from '../../../src/request/proc-mount';

const HOST = '127.0.0.116';
let server: h.HalfCloser;
let holder: h.CwClient;
// Not h.tempDir: that removes its directories recursively at exit, which
// must never run into a mounted procfs. Unmounted, then removed, in after().
const mounts = {} as Record<'hidden' | 'group' | 'plain', string>;
before(async () => {
  for (const [name, opts] of <Array<['hidden' | 'group' | 'plain', string | null]>>[
    ['hidden', 'hidepid=2'],
    ['group', 'hidepid=2,gid=65534'],
    ['plain', null],
  ]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tcpcensus-proc-${name}-`));
    execFileSync('mount', ['-t', 'proc', ...(opts ? ['-o', opts] : []), 'proc', dir]);
    mounts[name] = dir;
  }
  server = await h.startHalfCloser(HOST);
  holder = await h.startCwClient('tc-hidepid', HOST, server.port, 5); // runs as root
});
after(async () => {
  if (holder) await holder.stop();
  if (server) await server.close();
  for (const dir of Object.values(mounts)) {
    execFileSync('umount', [dir]);
    fs.rmdirSync(dir);
  }
});

const filter = () => ['-s', 'close-wait', '--dst', HOST, '--dport', String(server.port)];
const HINT = (dir: string) =>
  new RegExp(
    `^tcpcensus: procfs at ${dir} is mounted hidepid=(2|invisible): other users' processes are hidden from this one, ` +
      "so the sockets they hold show no owner \\(root, or the mount's gid= group, sees them all\\)$",
    'm',
  );

async function topAs(prefix: string[] | null, dir: string, extra: string[] = []) {
  const r = await h.runCli(['top', '--json', ...filter(), '--proc', dir, ...extra], prefix ? { prefix } : {});
  assert.equal(r.code, 0, r.stderr);
  return { value: JSON.parse(r.stdout), stderr: r.stderr };
}

test('as nobody under hidepid=2: procHidden in the JSON and one line on stderr, though nothing counts as unreadable', async () => {
  const { value, stderr } = await topAs(h.AS_NOBODY, mounts.hidden);
  assert.equal(value.ownerSource, 'proc');
  assert.equal(value.total, 5);
  assert.equal(value.unattributed, 5, "the root holder's sockets: no owner found");
  assert.equal(value.unreadableProcesses, 0, 'the walk never meets a hidden process');
  assert.match(value.procHidden, /^hidepid=(2|invisible)$/);
  assert.deepEqual(Object.keys(value).slice(6, 8), ['unreadableProcesses', 'procHidden'], 'beside unreadableProcesses');
  assert.match(stderr, HINT(mounts.hidden));
  assert.doesNotMatch(stderr, /could not be read/);
  // The text form and the other commands that walk say it too.
  for (const args of [
    ['top', ...filter()],
    ['report', ...filter()],
    ['list', '-p', ...filter()],
  ]) {
    const r = await h.runCli([...args, '--proc', mounts.hidden], { prefix: h.AS_NOBODY });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, HINT(mounts.hidden), args.join(' '));
  }
  // watch's samples (a sampler's walk) carry it too.
  const w = await h.runCli(['watch', '--json', '--count', '2', '--interval', '100ms', ...filter(), '--proc', mounts.hidden], { prefix: h.AS_NOBODY });
  assert.equal(w.code, 0, w.stderr);
  for (const l of w.stdout.trim().split('\n')) assert.match(JSON.parse(l).top.procHidden, /^hidepid=(2|invisible)$/);
  // And the library.
  const lib = await h.callLibrary('topProcesses', { states: ['close-wait'], procRoot: mounts.hidden }, { prefix: h.AS_NOBODY });
  assert.ok(lib.ok, JSON.stringify(lib));
  assert.match(lib.value.procHidden, /^hidepid=(2|invisible)$/);
});

test('without hidepid, or in its gid= group, or as root: no such line, procHidden null', async () => {
  // Plain procfs: the root holder is listed, refused, and counted as unreadable.
  const plain = await topAs(h.AS_NOBODY, mounts.plain);
  assert.equal(plain.value.procHidden, null);
  assert.ok(plain.value.unreadableProcesses > 0);
  assert.match(plain.stderr, /^tcpcensus: \d+ process(es)? could not be read \(not root; root sees all owners\)$/m);
  assert.doesNotMatch(plain.stderr, /hidepid|hidden/);
  // hidepid=2,gid=65534: nobody's group sees every process.
  const group = await topAs(h.AS_NOBODY, mounts.group);
  assert.equal(group.value.procHidden, null);
  assert.ok(group.value.unreadableProcesses > 0);
  assert.doesNotMatch(group.stderr, /hidepid|hidden/);
  // Root sees them all under hidepid, and finds the owner.
  const root = await topAs(null, mounts.hidden, ['--owners', 'proc']);
  assert.equal(root.value.procHidden, null);
  assert.equal(root.value.rows.find((r: h.JsonRow) => r.pid === holder.info.pid)?.count, 5);
  assert.doesNotMatch(root.stderr, /hidepid|hidden/);
  // The eBPF iterator sees every task, whatever procfs lists.
  const bpf = await topAs(null, mounts.hidden);
  assert.equal(bpf.value.ownerSource, 'bpf');
  assert.equal(bpf.value.procHidden, null);
});

// ---- the mount table, pure ----

test('parseProcHidepid reads the option of the procfs on top at a mount point', () => {
  const line = (id: number, point: string, type: string, superOpts: string, optional = 'shared:12') =>
    `${id} 1 0:${id} / ${point} rw,nosuid,nodev,noexec,relatime ${optional} - ${type} ${type} ${superOpts}`;
  const info = [
    line(21, '/proc', 'proc', 'rw'),
    line(40, '/host/proc', 'proc', 'rw,hidepid=invisible,gid=27', ''),
    line(41, '/with\\040space', 'proc', 'rw,hidepid=2'),
    line(42, '/stacked', 'proc', 'rw,hidepid=2'),
    line(43, '/stacked', 'proc', 'rw'),
    line(44, '/covered', 'proc', 'rw,hidepid=ptraceable'),
    line(45, '/covered', 'tmpfs', 'rw,hidepid=2'),
    line(46, '/closed', 'proc', 'rw,hidepid=noaccess'),
    line(47, '/off', 'proc', 'rw,hidepid=off'),
    'garbage line',
    '',
  ].join('\n');
  assert.equal(parseProcHidepid(info, '/proc'), null);
  assert.deepEqual(parseProcHidepid(info, '/host/proc'), { option: 'hidepid=invisible', hides: true, gid: 27 });
  assert.deepEqual(parseProcHidepid(info, '/with space'), { option: 'hidepid=2', hides: true, gid: null }, 'octal escapes in the path');
  assert.equal(parseProcHidepid(info, '/stacked'), null, 'the mount on top counts');
  assert.equal(parseProcHidepid(info, '/covered'), null, 'not procfs on top');
  assert.deepEqual(
    parseProcHidepid(info, '/closed'),
    { option: 'hidepid=noaccess', hides: false, gid: null },
    'listed, only closed: counted as unreadable',
  );
  assert.equal(parseProcHidepid(info, '/off'), null);
  assert.equal(parseProcHidepid(info, '/nowhere'), null);
});
