// Attribution by cgroup through the CLI and the library: cgroups
// the test makes under the cgroup2 mount (wherever /proc/mounts says it is),
// shaped like a systemd service, a Docker container and a Kubernetes pod's
// container, with holder processes moved into them. Checks top --by cgroup
// counts, paths and short names, the --cgroup filter against ss given the
// same filter, topCgroupsByState, and all of it as nobody, where the
// default report shows the cgroups instead of owners it cannot read.
// Needs root (cgroup directories); parts run as nobody.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

const MOUNT = h.cgroup2Mount();
const CONTAINER = '7c3e9a1b'.repeat(8);
const POD_UID = '6f1d2c3b-4a59-4e8d-9c7b-0a1b2c3d4e5f';
const BASE = `/tcpcensus-test-${process.pid}.slice`;
const CG = {
  service: { path: `${BASE}/tc-test.service`, closeWait: 5, name: 'tc-test.service' },
  container: { path: `${BASE}/docker-${CONTAINER}.scope`, closeWait: 3, name: CONTAINER.slice(0, 12) },
  pod: {
    path: `${BASE}/kubepods-burstable-pod${POD_UID.replace(/-/g, '_')}.slice/cri-containerd-${CONTAINER.replace(/7/g, '8')}.scope`,
    closeWait: 2,
    name: CONTAINER.replace(/7/g, '8').slice(0, 12),
  },
};
const dirs = [BASE, ...Object.values(CG).map((c) => c.path), path.dirname(CG.pod.path)].map((p) => `${MOUNT}${p}`);
const holders = {} as Record<keyof typeof CG, h.Fixture>;

before(async () => {
  assert.ok(MOUNT, 'no cgroup2 mount in /proc/mounts');
  for (const d of [...new Set(dirs)].sort()) fs.mkdirSync(d, { recursive: true });
  // The shell moves itself into the cgroup, then becomes the holder: every
  // socket the holder creates carries that cgroup. The holders run as root,
  // so nobody cannot read their fd tables.
  for (const [which, c] of Object.entries(CG) as Array<[keyof typeof CG, (typeof CG)[keyof typeof CG]]>) {
    holders[which] = await h.startFixture('sh', [
      '-c',
      'echo $$ > "$0/cgroup.procs" && exec "$@"',
      `${MOUNT}${c.path}`,
      process.execPath,
      h.HOLDER,
      `tc-cg-${which}`,
      String(c.closeWait),
      '1',
    ]);
  }
});
after(async () => {
  for (const x of Object.values(holders)) await x.stop();
  await h.removeCgroups(new Set(dirs));
  assert.ok(!fs.existsSync(`${MOUNT}${BASE}`), "the test's cgroups are gone");
});

// The CLI's JSON (docs/json.md), read loosely at this parse boundary.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(args: string[], opts?: h.RunOptions): Promise<any> {
  const r = await h.runCli([...args, '--json'], opts);
  assert.equal(r.code, 0, `tcpcensus ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const ours = (rows: h.JsonRow[]) => rows.filter((r: h.JsonRow) => r.path?.startsWith(`${BASE}/`));

// A closed client is an orphan that carries its cgroup while in FIN_WAIT1 and
// none once the kernel keeps it as a TIME_WAIT mini-socket; on a loaded host
// that can take a moment. Assertions about every state are retried a few
// times before they fail.
async function eventually(check: () => unknown, tries = 10) {
  for (let i = 1; ; i++) {
    try {
      return await check();
    } catch (e) {
      if (i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function checkRows(rows: h.JsonRow[], statesCounted: (c: (typeof CG)[keyof typeof CG]) => number) {
  const mine = ours(rows);
  assert.deepEqual(
    mine.map((r: h.JsonRow) => r.path).sort(),
    Object.values(CG)
      .map((c) => c.path)
      .sort(),
  );
  for (const c of Object.values(CG)) {
    const r = mine.find((x: h.JsonRow) => x.path === c.path)!;
    assert.equal(r.count, statesCounted(c), c.path);
    assert.equal(r.key, c.path);
    assert.equal(r.name, c.name, c.path);
    assert.equal(r.cgroupId, Number(fs.statSync(`${MOUNT}${c.path}`, { bigint: true }).ino));
  }
}

test('top --by cgroup: one row per cgroup with its path and short name, no /proc walk, unowned = no cgroup id', async () => {
  const top = await json(['top', '--by', 'cgroup', '-n', '1000']);
  assert.equal(top.by, 'cgroup');
  checkRows(top.rows, (c: h.JsonRow) => c.closeWait);
  const svc = top.rows.find((r: h.JsonRow) => r.path === CG.service.path);
  assert.deepEqual(Object.keys(svc), ['key', 'cgroupId', 'path', 'name', 'unit', 'count']);
  assert.equal(svc.unit, 'tc-test.service');
  const ctr = top.rows.find((r: h.JsonRow) => r.path === CG.container.path);
  assert.deepEqual(Object.keys(ctr), ['key', 'cgroupId', 'path', 'name', 'unit', 'containerId', 'count']);
  assert.equal(ctr.containerId, CONTAINER);
  const pod = top.rows.find((r: h.JsonRow) => r.path === CG.pod.path);
  assert.equal(pod.podUid, POD_UID);
  assert.equal(pod.containerId, CONTAINER.replace(/7/g, '8'));
  // No owners were looked for.
  assert.deepEqual([top.owned, top.unattributed, top.ownerSource], [null, null, null]);
  // Every socket in a row or without a cgroup id.
  assert.equal(top.rows.reduce((n: number, r: h.JsonRow) => n + r.count, 0) + top.unowned, top.total);

  // Every state: each holder's listener and CLOSE_WAIT ends carry its cgroup;
  // its TIME_WAIT (and closed clients kept as mini-sockets) carry none.
  await eventually(async () => checkRows((await json(['top', '--by', 'cgroup', '-s', 'all', '-n', '1000'])).rows, (c: h.JsonRow) => c.closeWait + 1));

  const text = await h.runCli(['top', '--by', 'cgroup', '-n', '1000']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Top cgroups holding CLOSE_WAIT {2}\(/);
  assert.match(text.stdout, /^ {2}COUNT {2}NAME +PATH$/m);
  assert.match(text.stdout, new RegExp(`^\\s+5  tc-test\\.service\\s+${CG.service.path.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(text.stdout, new RegExp(`^\\s+3  ${CONTAINER.slice(0, 12)}\\s+${BASE.replace(/\./g, '\\.')}/docker-${CONTAINER}\\.scope$`, 'm'));
  assert.match(text.stdout, /^ {2}\d+ carry no cgroup \(TIME_WAIT, half-open requests, orphans kept as TIME_WAIT\)$/m);
});

// ss prints a socket as "State Recv-Q Send-Q Local Peer"; the same line from ours.
const key = (state: string | null, lp: number, rp: number) => `${state} ${lp} ${rp}`;
const ssRows = (filter: string[]) =>
  h
    .ss(['state', 'all', ...filter])
    .map((r) => key(r.state, r.localPort, r.remotePort))
    .sort();
const listRows = (rows: h.JsonRow[]) => rows.map((r: h.JsonRow) => key(r.state, r.localPort, r.remotePort)).sort();

test("--cgroup PATH filters in the kernel as ss 'cgroup PATH' does, by the path ss prints or the path under the mount", async () => {
  // ss, ours, ss again: compared once ss held still.
  const same = async (ssFilter: string[], args: string[]) => {
    const { oracle, mine } = await h.stable(
      () => ssRows(ssFilter),
      async () => listRows(await json(['list', '-s', 'all', ...args])),
    );
    assert.deepEqual(mine, oracle, args.join(' '));
    return oracle;
  };
  for (const c of Object.values(CG)) {
    await eventually(async () => {
      const theirs = await same(['cgroup', c.path], ['--cgroup', c.path]);
      assert.equal(theirs.length, c.closeWait + 1, `ss cgroup ${c.path}`);
      await same(['cgroup', c.path], ['--cgroup', `${MOUNT}${c.path}`]);
      const s = await json(['states', '-s', 'all', '--cgroup', c.path]);
      assert.deepEqual([s.states.CLOSE_WAIT, s.states.LISTEN, s.total], [c.closeWait, 1, c.closeWait + 1]);
    });
  }
  // Several: an OR, as ss writes it; with a port: an AND.
  await same(['(', 'cgroup', CG.service.path, 'or', 'cgroup', CG.container.path, ')'], ['--cgroup', CG.service.path, '--cgroup', CG.container.path]);
  const port = holders.service.info.port;
  await same(['(', 'sport', '=', `:${port}`, ')', 'and', 'cgroup', CG.service.path], ['--sport', String(port), '--cgroup', CG.service.path]);
  assert.deepEqual(listRows(await json(['list', '-s', 'all', '--sport', String(port), '--cgroup', CG.container.path])), []);
  // The parent holds no socket of its own: exactly that cgroup, not its children.
  assert.deepEqual(await same(['cgroup', BASE], ['--cgroup', BASE]), []);
  assert.equal((await json(['states', '--cgroup', BASE])).total, 0);
  // topProcesses with the filter: only the container's holder.
  const top = await json(['top', '--cgroup', CG.container.path]);
  assert.deepEqual(
    top.rows.map((r: h.JsonRow) => [r.pid, r.count]),
    [[holders.container.info.pid, CG.container.closeWait]],
  );
  // The library takes a string or an array.
  assert.equal((await tc.countStates({ cgroup: CG.pod.path, states: ['close-wait'] })).total, CG.pod.closeWait);
  assert.equal(tc.snapshotSync({ cgroup: [CG.pod.path, CG.service.path], states: ['close-wait'] }).length, CG.pod.closeWait + CG.service.closeWait);

  const missing = await h.runCli(['states', '--cgroup', `${BASE}/nope.service`]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stdout, '');
  assert.equal(
    missing.stderr.split('\n')[0],
    `tcpcensus: --cgroup "${BASE}/nope.service": no such cgroup (no ${MOUNT}${BASE}/nope.service); ` +
      `give a path relative to the cgroup2 mount ${MOUNT}, as /proc/PID/cgroup shows it (0::/system.slice/nginx.service), or a directory under it`,
  );
  const file = await h.runCli(['states', '--cgroup', `${CG.service.path}/cgroup.procs`]);
  assert.equal(file.code, 2);
  assert.match(file.stderr, /is not a directory/);
  await assert.rejects(tc.topProcesses({ cgroup: '/tcpcensus-no-such-cgroup' }), (e) => e instanceof tc.OptionError && e.option === 'cgroup');
});

test("topCgroupsByState: per state, the top cgroups from one dump (the exporter's tcpcensus_cgroup_sockets)", async () => {
  const r = await tc.topCgroupsByState({ states: ['close-wait', 'listen'], limit: 1000 });
  assert.deepEqual(Object.keys(r), ['states', 'rows', 'noCgroup', 'source', 'sourceFallback', 'tookMs']);
  assert.deepEqual(r.states, ['CLOSE_WAIT', 'LISTEN']);
  for (const c of Object.values(CG)) {
    const mine = r.rows.filter((x) => x.path === c.path);
    assert.deepEqual(
      mine.map((x) => [x.state, x.count, x.name]),
      [
        ['CLOSE_WAIT', c.closeWait, c.name],
        ['LISTEN', 1, c.name],
      ],
      c.path,
    );
  }
  // Ranked within each state, states in state-number order.
  const cw = r.rows.filter((x) => x.state === 'CLOSE_WAIT');
  assert.deepEqual(
    cw.map((x) => x.count),
    [...cw.map((x) => x.count)].sort((a, b) => b - a),
  );
  assert.equal(
    r.rows.findIndex((x) => x.state === 'LISTEN'),
    cw.length,
  );
  const one = tc.topCgroupsByStateSync({ states: ['close-wait'], limit: 1, cgroup: [CG.service.path, CG.container.path] });
  assert.deepEqual(
    one.rows.map((x) => [x.path, x.count]),
    [[CG.service.path, CG.service.closeWait]],
  );
});

test('as nobody: --by cgroup, the filter and topCgroupsByState work, and the default report shows cgroups, saying why', async () => {
  const top = await json(['top', '--by', 'cgroup', '-n', '1000'], { prefix: h.AS_NOBODY });
  checkRows(top.rows, (c: h.JsonRow) => c.closeWait);
  const { oracle, mine } = await h.stable(
    () => ssRows(['cgroup', CG.service.path]),
    async () => listRows(await json(['list', '-s', 'all', '--cgroup', CG.service.path], { prefix: h.AS_NOBODY })),
  );
  assert.deepEqual(mine, oracle);
  const lib = await h.callLibrary('topCgroupsByState', { states: ['close-wait'], limit: 1000 }, { prefix: h.AS_NOBODY });
  assert.equal(lib.value.rows.find((x: h.JsonRow) => x.path === CG.container.path).count, CG.container.closeWait);

  // The holders are root's: nobody's /proc walk cannot read them, so the
  // report's second section is by cgroup.
  const rep = await json(['report', '-n', '1000'], { prefix: h.AS_NOBODY });
  assert.equal(rep.top.by, 'cgroup');
  checkRows(rep.top.rows, (c: h.JsonRow) => c.closeWait);
  assert.match(rep.topFallback, /^\d+ process(es)? could not be read \(not root; root sees all owners\), so \d+ of \d+ sockets had no owner found/);
  const text = await h.runCli(['report', '-n', '1000'], { prefix: h.AS_NOBODY });
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /^Top cgroups holding CLOSE_WAIT {2}\(.*\n {2}showing cgroups, not processes: \d+ process(es)? could not be read \(not root; root sees all owners\), so/m,
  );
  assert.match(text.stdout, new RegExp(`^\\s+5  tc-test\\.service\\s+`, 'm'));
  assert.doesNotMatch(text.stderr, /could not be read/, 'said once, in the section');
  // Root reads every owner: by process, no fallback.
  const root = await json(['report', '-n', '1000']);
  assert.equal(root.top.by, 'process');
  assert.equal(root.topFallback, null);
  assert.equal(root.top.rows.find((r: h.JsonRow) => r.pid === holders.service.info.pid).count, CG.service.closeWait);
});
