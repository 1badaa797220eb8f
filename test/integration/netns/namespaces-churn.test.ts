// --all-netns while namespaces come and go (`ip netns add` and `ip netns del`
// in a loop beside it): a namespace that vanishes between the listing and its
// dump, or while it is entered (open ENOENT, setns EINVAL on the unmounted
// file), is skipped and said why, never a failure of the whole call. Needs
// root (ip netns).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';
import { eachNetns, eachNetnsSync } from '../../../src/core/all-netns';
import { buildRequest } from '../../../src/request/options';
import * as runner from '../../../src/core/runner';

const PREFIX = `tcpcensus-churn-${process.pid}`;
let churners: ChildProcess[] = [];

// Stops the loops, then removes what they left: a namespace, or a file a
// killed `ip netns add` made but never mounted.
async function cleanUp() {
  await Promise.all(
    churners.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', resolve);
          process.kill(-c.pid!, 'SIGKILL'); // the loop's group: its running `ip` too
        }),
    ),
  );
  churners = [];
  await new Promise((r) => setTimeout(r, 100)); // an `ip` of the group still exiting
  for (const name of fs.existsSync('/var/run/netns') ? fs.readdirSync('/var/run/netns') : []) {
    if (!name.startsWith(PREFIX)) continue;
    try {
      execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
    } catch {
      // Mounted twice (two loops raced on one name) or not at all: unmount what is there, then remove.
      const file = `/var/run/netns/${name}`;
      for (let i = 0; i < 4; i++) {
        try {
          execFileSync('umount', ['-l', file], { stdio: 'ignore' });
        } catch {
          break;
        }
      }
      fs.rmSync(file, { force: true });
    }
  }
  const left = fs.readdirSync('/var/run/netns').filter((n) => n.startsWith(PREFIX));
  assert.deepEqual(left, [], 'the churn left no namespace behind');
}
after(cleanUp);

// Three loops, each adding and deleting its own few namespaces, so at any
// moment some are half made or half gone.
function startChurn() {
  for (let k = 0; k < 3; k++) {
    const script = `for i in $(seq 1 100000); do n=${PREFIX}-${k}-$((i % 6)); ip netns add $n 2>/dev/null; ip netns del $n 2>/dev/null; done`;
    const c = spawn('bash', ['-c', script], { stdio: 'ignore', detached: true });
    churners.push(c);
  }
}

test('--all-netns while ip netns add and del run: every run answers, each vanished namespace is skipped with its reason', async () => {
  startChurn();
  await new Promise((r) => setTimeout(r, 300));
  const reasons: string[] = [];
  let runs = 0;
  for (let i = 0; i < 14; i++) {
    const args = i % 2 === 0 ? ['top', '--all-netns', '--json', '-s', 'all'] : ['states', '--all-netns', '--json'];
    const r = await h.runCli(args);
    runs++;
    assert.equal(r.code, 0, `run ${i} (${args.join(' ')}) failed: ${r.stderr}`);
    const o = JSON.parse(r.stdout);
    assert.equal(o.skipped, o.skippedNamespaces.length);
    for (const s of o.skippedNamespaces) {
      assert.match(
        s.reason,
        /^gone during the run \((open ENOENT|open ESRCH|setns EINVAL|its name now names another namespace\))/,
        JSON.stringify(s),
      );
      assert.equal(typeof s.netns.inode, 'number');
      reasons.push(s.reason);
    }
    // The host's own namespace is always there, whatever vanished.
    assert.ok(
      o.namespaces.some((n: h.JsonRow) => n.netns.self),
      'our own namespace is in every answer',
    );
  }
  // The library, both forms, under the same churn.
  for (let i = 0; i < 4; i++) {
    const sync = tc.countStatesSync({ allNetns: true });
    const async = await tc.topProcesses({ allNetns: true, states: ['listen'] });
    for (const o of [sync, async]) {
      assert.equal(o.skipped, o.skippedNamespaces.length);
      reasons.push(...o.skippedNamespaces.map((s) => s.reason));
    }
  }
  // The churn is what this test is about: it must have made the race happen.
  assert.ok(reasons.length > 0, `no namespace vanished mid-run in ${runs} runs: the churn did not race`);
  process.stdout.write(
    `# ${reasons.length} namespaces skipped over ${runs + 8} runs; reasons: ${[...new Set(reasons.map((x) => x.replace(/:.*$/, '')))].join(' | ')}\n`,
  );
  await cleanUp();
});

test('the text of --all-netns names each skipped namespace and why', async () => {
  startChurn();
  await new Promise((r) => setTimeout(r, 300));
  let seen: RegExpExecArray | null = null;
  for (let i = 0; i < 20 && seen === null; i++) {
    const r = await h.runCli(['states', '--all-netns']);
    assert.equal(r.code, 0, r.stderr);
    const m = /(\d+) namespaces? vanished between listing and dumping.*skipped:\n((?:    .*\n?)+)/.exec(r.stdout);
    if (m) seen = m;
  }
  await cleanUp();
  assert.ok(seen, 'a run saw a namespace vanish');
  const listed = seen[2]!.trimEnd().split('\n');
  assert.equal(listed.length, Number(seen[1]));
  for (const line of listed) assert.match(line, /^    \S.* \[\d+\]: gone during the run \(/);
});

// The moment `ip netns del` unmounts a namespace's file but has not removed it
// yet, as the kernel sees it: forced between the listing and that namespace's
// dump by running the real dump through the internal per-namespace loop.
test('a namespace whose file is unmounted between the listing and its dump: setns EINVAL is a skip, or a dump through its process', async () => {
  const empty = `${PREFIX}-empty`;
  const held = `${PREFIX}-held`;
  for (const n of [empty, held]) execFileSync('ip', ['netns', 'add', n]);
  execFileSync('ip', ['-n', held, 'link', 'set', 'lo', 'up']);
  const inside = await h.startHolder('tc-churn-held', 3, 0, '4', { prefix: ['ip', 'netns', 'exec', held] });
  try {
    for (const form of ['sync', 'async']) {
      if (!fs.existsSync(`/var/run/netns/${empty}`)) execFileSync('ip', ['netns', 'add', empty]);
      // The holder's namespace gets its name back (the first round unmounted it).
      if (!fs.existsSync(`/var/run/netns/${held}`)) execFileSync('ip', ['netns', 'attach', held, String(inside.info.pid)]);
      const req = buildRequest('countStates', { allNetns: true, states: ['close-wait'] });
      const inodes: Record<string, number> = {};
      // Unmount just before the dump enters it, and leave the empty file, as ip netns del does in between.
      const before = (r: { raw: { netns?: string } }) => {
        for (const n of [empty, held]) {
          const file = `/var/run/netns/${n}`;
          if (r.raw.netns === file) {
            inodes[n] = fs.statSync(file).ino;
            execFileSync('umount', [file]);
          }
        }
      };
      const out =
        form === 'sync'
          ? eachNetnsSync(req, (r) => {
              before(r);
              return runner.countSync(r);
            })
          : await eachNetns(req, async (r) => {
              before(r);
              return runner.count(r);
            });
      const skipped = out.skipped.find((s) => s.netns.name === empty);
      assert.ok(skipped, `${form}: the empty namespace is skipped: ${JSON.stringify(out.skipped)}`);
      assert.equal(skipped.reason, 'gone during the run (setns EINVAL: the file no longer is that namespace)');
      // The held one lives on in its process: dumped through /proc/PID/ns/net, with its sockets.
      const dumped = out.namespaces.find((x) => x.netns.name === held);
      if (inodes[held] !== undefined) {
        assert.ok(dumped, `${form}: the namespace a process still holds is dumped: ${JSON.stringify(out.skipped)}`);
        assert.equal(dumped.result.ipv4[8], 3, `${form}: its 3 CLOSE_WAIT`);
      }
      for (const n of [empty, held]) fs.rmSync(`/var/run/netns/${n}`, { force: true });
    }
  } finally {
    await inside.stop();
    await cleanUp();
  }
});
