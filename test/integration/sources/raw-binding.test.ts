// Where sockets come from and who they belong to, through the raw binding
// (dist/native): the /proc/net/tcp source against the netlink one, a seccomp
// sandbox that refuses netlink, a network namespace the test makes, and
// cgroups the test makes, checked against `ss` and against the kernel's own
// ids. Everything is compared on the test's own sockets only (its ports,
// cookies, cgroups): other engineers' sockets come and go on this host.
// Needs root (ip netns, cgroup directories); parts run as nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as h from '../../helpers/index';
import { native } from '../../helpers/native';
import type { RawSampleResult, RawTable } from '../../../src/core/raw';
import { compileCgroupFilter, andPrograms } from '../../../src/request/cgroup-filter';
import { cgroupShortName } from '../../../src/report/cgroup-name';

const ALL = 0xffe; // states 1..11
const S = { ESTABLISHED: 1, TIME_WAIT: 6, CLOSE: 7, CLOSE_WAIT: 8, LISTEN: 10 };
const HOLDER = h.HOLDER;
const NATIVE = path.join(h.ROOT, 'dist', 'core/addon');

const hex = (a: Uint8Array, i: number) => Buffer.from(a.subarray(16 * i, 16 * i + 16)).toString('hex');

/** One comparable line per row touching `ports`; LISTEN's sendQ (the backlog) is not in /proc/net/tcp. */
function keys(t: RawTable, ports: Set<number>): string[] {
  const out: string[] = [];
  for (let i = 0; i < t.size; i++) {
    if (!ports.has(t.localPort[i]!) && !ports.has(t.remotePort[i]!)) continue;
    const sendQ = t.state[i] === S.LISTEN ? '?' : t.sendQ[i];
    const owner = t.owners ? ` pid ${t.owners.owner[i]}` : '';
    out.push(
      `${t.state[i]} v${t.family[i]} ${hex(t.localAddr, i)}:${t.localPort[i]} ${hex(t.remoteAddr, i)}:${t.remotePort[i]} ` +
        `q ${t.recvQ[i]}/${sendQ} uid ${t.uid[i]} ino ${t.inode[i]}${owner}`,
    );
  }
  return out.sort();
}

test('procfs and netlink give the same rows, owners, counts and filters on every state and a holder', async () => {
  const fx = await h.startStates(['--close']);
  const holder = await h.startHolder('tc-src-hold', 6, 2);
  try {
    const ports = new Set([...fx.info.ports, holder.info.port]);
    let nl!: RawSampleResult, pf!: RawSampleResult, a!: string[], b!: string[];
    // A dump is no snapshot: retry while a socket (a TIME_WAIT) moves in between.
    for (let attempt = 0; attempt < 5; attempt++) {
      nl = native.sampleSync({ states: ALL, source: 'netlink', owners: true });
      pf = native.sampleSync({ states: ALL, source: 'procfs', owners: true });
      a = keys(nl, ports).filter((k) => !k.startsWith(`${S.CLOSE} `));
      b = keys(pf, ports);
      if (JSON.stringify(a) === JSON.stringify(b)) break;
    }
    assert.ok(a.length >= 40, `only ${a.length} fixture rows`);
    assert.deepEqual(b, a);
    assert.equal(nl.source, 'netlink');
    assert.equal(pf.source, 'procfs');
    assert.equal(nl.sourceFallback, null);
    assert.equal(pf.sourceFallback, null);
    assert.deepEqual(nl.missing, []);
    assert.deepEqual(pf.missing, ['boundInactive', 'cgroupId', 'cookie', 'ifindex', 'listenBacklog']);
    assert.equal(pf.netnsInode, nl.netnsInode);
    assert.equal(pf.netnsInode, fs.statSync('/proc/self/ns/net').ino);
    // Bound-inactive sockets are only in the netlink answer; procfs says it cannot see them.
    assert.equal(keys(nl, ports).filter((k) => k.startsWith(`${S.CLOSE} `)).length, 2);
    const owned = a.filter((k) => k.endsWith(` pid ${holder.info.pid}`)).length;
    assert.equal(owned, 7, 'the holder owns its listener and 6 CLOSE_WAIT through both sources');

    // The kernel's filter and the interpreter's agree, counts included.
    const filters = [
      { sport: holder.info.port },
      { dport: holder.info.port },
      { sport: `${Math.min(...fx.info.ports)}-${Math.max(...fx.info.ports)}` },
      { dst: '127.0.0.0/8' },
      { src: '::1' },
      { src: '::ffff:127.0.0.1' },
    ];
    for (const f of filters) {
      const bytecode = h.filterBytecode(f);
      let x, y;
      for (let attempt = 0; attempt < 5; attempt++) {
        x = keys(native.sampleSync({ states: ALL, source: 'netlink', bytecode }), ports).filter((k) => !k.startsWith(`${S.CLOSE} `));
        y = keys(native.sampleSync({ states: ALL, source: 'procfs', bytecode }), ports);
        if (JSON.stringify(x) === JSON.stringify(y)) break;
      }
      assert.deepEqual(y, x, JSON.stringify(f));
    }
    const bytecode = h.filterBytecode({ sport: holder.info.port });
    const cn = await native.count({ states: ALL, source: 'netlink', bytecode });
    const cp = await native.count({ states: ALL, source: 'procfs', bytecode });
    assert.deepEqual([...cp.ipv4], [...cn.ipv4]);
    assert.equal(cp.ipv4[S.CLOSE_WAIT], 6);
    assert.equal(cp.ipv4[S.LISTEN], 1);
    assert.equal(cp.source, 'procfs');
    assert.deepEqual(cp.missing, ['boundInactive']);
    assert.deepEqual(cn.missing, []);
    // The text has no cgroup ids: a cgroup filter on procfs is refused, not guessed.
    assert.throws(
      () => native.sampleSync({ states: ALL, source: 'procfs', bytecode: compileCgroupFilter([1n]) }),
      (e: h.Thrown) => e.code === 'ERR_TCPCENSUS_UNSUPPORTED' && /cgroup/.test(e.message),
    );
  } finally {
    await holder.stop();
    await fx.stop();
  }
});

const SANDBOXED_JS = `
'use strict';
const { native } = require(${JSON.stringify(NATIVE)});
const { compileFilter, parsePortRange } = require(${JSON.stringify(path.join(h.ROOT, 'dist', 'request/filter'))});
const err = (e) => ({ name: e.name, message: e.message, syscall: e.syscall, code: e.code, errno: e.errno });
(async () => {
  const port = Number(process.argv[2]);
  const bytecode = compileFilter({ sport: parsePortRange(port, 'sport') });
  const out = {};
  const t = native.sampleSync({ states: ${ALL}, bytecode, owners: true });
  out.sample = { source: t.source, sourceFallback: t.sourceFallback, missing: t.missing, states: [...t.state], owners: [...t.owners.owner] };
  const c = await native.count({ states: ${ALL}, bytecode });
  out.count = { source: c.source, sourceFallback: c.sourceFallback, closeWait: c.ipv4[${S.CLOSE_WAIT}], listen: c.ipv4[${S.LISTEN}] };
  try { native.sampleSync({ states: ${ALL}, source: 'netlink' }); out.forced = 'answered'; } catch (e) { out.forced = err(e); }
  try { await native.count({ states: ${ALL}, source: 'netlink' }); out.forcedAsync = 'answered'; } catch (e) { out.forcedAsync = err(e); }
  process.stdout.write(JSON.stringify(out));
})();
`;

test('in a seccomp sandbox refusing netlink sockets, auto reads procfs and says why; forced netlink names socket() and EPERM', async () => {
  const dir = h.tempDir('tcpcensus-seccomp-');
  const holder = await h.startHolder('tc-src-sandbox', 4);
  try {
    fs.writeFileSync(path.join(dir, 'sandboxed.js'), SANDBOXED_JS);
    const exe = h.buildFixture('no_netlink'); // refuses socket(AF_NETLINK, ...) with EPERM
    const r = spawnSync(exe, [process.execPath, path.join(dir, 'sandboxed.js'), String(holder.info.port)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const refused = 'socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: Operation not permitted';
    assert.equal(out.sample.source, 'procfs');
    assert.equal(out.sample.sourceFallback, refused);
    assert.ok(out.sample.missing.includes('cgroupId'));
    // The same sockets, owners included, as outside the sandbox.
    assert.deepEqual(
      out.sample.states.sort((x: number, y: number) => x - y),
      [S.CLOSE_WAIT, S.CLOSE_WAIT, S.CLOSE_WAIT, S.CLOSE_WAIT, S.LISTEN],
    );
    assert.ok(out.sample.owners.every((p: number) => p === holder.info.pid));
    assert.deepEqual(out.count, { source: 'procfs', sourceFallback: refused, closeWait: 4, listen: 1 });
    for (const forced of [out.forced, out.forcedAsync]) {
      assert.deepEqual(forced, { name: 'SystemError', message: refused, syscall: 'socket', code: 'EPERM', errno: 1 });
    }
  } finally {
    await holder.stop();
    h.removeTempDir(dir);
  }
});

// Inside the namespace: a listener and one connection to it, held until
// stdin closes.
const NS_HOLDER = `
import json, os, socket, sys
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen()
port = srv.getsockname()[1]
cli = socket.create_connection(('127.0.0.1', port))
conn, _ = srv.accept()
print(json.dumps({'pid': os.getpid(), 'port': port}), flush=True)
sys.stdin.read()
`;

test('a network namespace the test made: its sockets by name, path and pid, in listNetns, and never in ours', async () => {
  const name = `tcpcensus-test-${process.pid}`;
  const nsPath = `/var/run/netns/${name}`;
  execFileSync('ip', ['netns', 'add', name]);
  let fx: h.Fixture | undefined;
  try {
    execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
    fx = await h.startFixture('ip', ['netns', 'exec', name, h.PYTHON, '-c', NS_HOLDER]);
    const { pid, port } = fx.info;
    const ports = new Set([port]);
    const nsIno = fs.statSync(nsPath).ino;
    const cookies = new Set();
    let expected;
    for (const netns of [name, nsPath, `pid:${pid}`, `/proc/${pid}/ns/net`]) {
      for (const source of ['netlink', 'procfs']) {
        const t = native.sampleSync({ states: ALL, netns, source, owners: true });
        assert.equal(t.netnsInode, nsIno, `${netns} ${source}`);
        assert.equal(t.source, source);
        // A fresh namespace holds only what the fixture made: the listener and both ends.
        assert.equal(t.size, 3, `${netns} ${source}`);
        const k = keys(t, ports);
        assert.equal(k.length, 3);
        // Owners come from the host's /proc: the fixture's pid, as the host sees it.
        assert.ok(
          [...t.owners!.owner].every((p) => p === pid),
          `owners through ${netns} ${source}`,
        );
        expected ??= k;
        assert.deepEqual(k, expected);
        if (source === 'netlink') for (const c of t.cookie) cookies.add(c);
      }
    }
    const counts = await native.count({ states: ALL, netns: name });
    assert.equal(counts.ipv4[S.LISTEN], 1);
    assert.equal(counts.ipv4[S.ESTABLISHED], 2);
    assert.equal(counts.netnsInode, nsIno);
    const asyncTable = await native.sample({ states: 1 << S.LISTEN, netns: `pid:${pid}` });
    assert.equal(asyncTable.size, 1);
    assert.equal(asyncTable.localPort[0], port);

    // Cookies are unique across namespaces: none of these is in our own namespace's dump.
    const here = native.sampleSync({ states: ALL });
    assert.notEqual(here.netnsInode, nsIno);
    assert.ok(
      [...here.cookie].every((c) => !cookies.has(c)),
      'a namespaced socket showed in the default namespace',
    );

    const list = await native.listNetns();
    const entry = list.namespaces.find((n) => n.inode === nsIno);
    assert.deepEqual(entry, { inode: nsIno, path: nsPath, name, pid, self: false });
    assert.equal(list.namespaces.filter((n) => n.self).length, 1);
    assert.equal(list.namespaces.find((n) => n.self)?.inode, here.netnsInode);
    assert.deepEqual(
      native.listNetnsSync().namespaces.find((n) => n.inode === nsIno),
      entry,
    );
    // Every namespace in turn (what --all-netns will do): the fixture's sockets under its inode only.
    const seenUnder = new Set();
    for (const n of list.namespaces) {
      let t;
      try {
        t = native.sampleSync({ states: ALL, netns: n.path });
      } catch (e) {
        if ((e as h.Thrown).code === 'ENOENT') continue; // its last process exited meanwhile
        throw e;
      }
      assert.equal(t.netnsInode, n.inode);
      if ([...t.cookie].some((c) => cookies.has(c))) seenUnder.add(n.inode);
    }
    assert.deepEqual([...seenUnder], [nsIno]);

    assert.throws(
      () => native.sampleSync({ states: ALL, netns: 'tcpcensus-no-such-namespace' }),
      (e: h.Thrown) =>
        e.name === 'SystemError' && e.code === 'ENOENT' && e.syscall === 'open' && e.path === '/var/run/netns/tcpcensus-no-such-namespace',
    );
    await assert.rejects(
      native.count({ states: ALL, netns: 'pid:2147483647' }),
      (e: h.Thrown) => e.code === 'ENOENT' && e.path === '/proc/2147483647/ns/net',
    );
    assert.throws(() => native.countSync({ states: ALL, netns: 'no spaces' }), RangeError);
    assert.throws(() => native.countSync({ states: ALL, netns: 'pid:x' }), RangeError);
    assert.throws(
      () => native.countSync({ states: ALL, netns: '/dev/null' }),
      (e: h.Thrown) => e.code === 'EINVAL' && e.message === 'setns /dev/null failed: Invalid argument',
    );
    // Joining a namespace needs CAP_SYS_ADMIN.
    const r = spawnSync(
      h.AS_NOBODY[0],
      [
        ...h.AS_NOBODY.slice(1),
        process.execPath,
        '-e',
        `try { require(${JSON.stringify(NATIVE)}).native.countSync({ states: 2, netns: ${JSON.stringify(name)} }); } ` +
          'catch (e) { process.stdout.write(JSON.stringify({ message: e.message, code: e.code, syscall: e.syscall })); }',
      ],
      { encoding: 'utf8' },
    );
    assert.deepEqual(JSON.parse(r.stdout), { message: `setns ${nsPath} failed: Operation not permitted`, code: 'EPERM', syscall: 'setns' });
  } finally {
    if (fx) await fx.stop();
    execFileSync('ip', ['netns', 'del', name]);
  }
  assert.ok(!fs.existsSync(nsPath));
});

function cgroup2Mount() {
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2') return f[1]!.replace(/\\([0-7]{3})/g, (_m, o) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}

const CONTAINER_ID = '0123456789abcdef'.repeat(4);

// As nobody: the cgroup ids of the holders' sockets, their paths, and the
// kernel's cgroup filter.
const NOBODY_CGROUP_JS = (ports: number[], ids: bigint[]) => `
const { native } = require(${JSON.stringify(NATIVE)});
const { compileCgroupFilter } = require(${JSON.stringify(path.join(h.ROOT, 'dist', 'request/cgroup-filter'))});
const ports = ${JSON.stringify(ports)};
const ids = [${ids.map((i) => `${i}n`).join(', ')}];
(async () => {
  const t = native.sampleSync({ states: ${ALL} });
  const byPort = {};
  for (let i = 0; i < t.size; i++) {
    if (ports.includes(t.localPort[i]) && t.state[i] === ${S.CLOSE_WAIT}) (byPort[t.localPort[i]] ??= []).push(String(t.cgroupId[i]));
  }
  const paths = await native.cgroupPaths({ ids: new BigUint64Array(ids) });
  const filtered = native.sampleSync({ states: ${ALL}, bytecode: compileCgroupFilter([ids[0]]) });
  process.stdout.write(JSON.stringify({ uid: process.getuid(), byPort, paths: paths.paths, ids: [...paths.ids].map(String), filtered: filtered.size, missing: t.missing }));
})();
`;

test('cgroups the test made: socket cgroup ids are their inodes, paths map back, the kernel filter equals ss, short names, and as nobody', async () => {
  const mount = cgroup2Mount();
  assert.ok(mount, 'no cgroup2 mount in /proc/mounts');
  const base = `tcpcensus-test-${process.pid}`;
  const rel = { service: `${base}/app.service`, container: `${base}/docker-${CONTAINER_ID}.scope` };
  fs.mkdirSync(path.join(mount, base));
  fs.mkdirSync(path.join(mount, rel.service));
  fs.mkdirSync(path.join(mount, rel.container));
  const holders: h.Fixture[] = [];
  // The shell moves itself into the cgroup, then becomes the holder, so
  // every socket the holder creates carries that cgroup.
  const start = async (r: string, title: string, n: number) => {
    const fx = await h.startFixture('sh', [
      '-c',
      'echo $$ > "$0/cgroup.procs" && exec "$@"',
      path.join(mount, r),
      process.execPath,
      HOLDER,
      title,
      String(n),
      '0',
    ]);
    holders.push(fx);
    return fx;
  };
  try {
    const svc = await start(rel.service, 'tc-cg-svc', 5);
    const ctr = await start(rel.container, 'tc-cg-ctr', 3);
    const ino = (r: string) => fs.statSync(path.join(mount, r), { bigint: true }).ino;
    const ids = { service: ino(rel.service), container: ino(rel.container) };
    assert.equal(
      fs
        .readFileSync(`/proc/${svc.info.pid}/cgroup`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('0::')),
      `0::/${rel.service}`,
    );

    // Every full socket a holder made carries its cgroup's id: the listener
    // and the accepted CLOSE_WAIT ends. Its closed clients are orphans in
    // FIN_WAIT2, which the kernel keeps as TIME_WAIT mini-sockets (substate
    // FIN_WAIT2, no inode) when tcp_fin_timeout <= 60 s: those carry none.
    const t = native.sampleSync({ states: ALL });
    const perCgroup = new Map();
    const withId = { service: 0, container: 0 };
    for (let i = 0; i < t.size; i++) {
      for (const [which, fx] of [
        ['service', svc],
        ['container', ctr],
      ] as const) {
        if (t.localPort[i] !== fx.info.port && t.remotePort[i] !== fx.info.port) continue;
        const mini = t.cgroupId[i] === 0n && t.inode[i] === 0 && (t.state[i] === S.TIME_WAIT || t.state[i] === 5);
        assert.ok(mini || t.cgroupId[i] === ids[which], `row ${i} of the ${which} holder: state ${t.state[i]}, cgroup ${t.cgroupId[i]}`);
        if (!mini) withId[which]++;
        if (t.state[i] === S.CLOSE_WAIT) perCgroup.set(t.cgroupId[i], (perCgroup.get(t.cgroupId[i]) ?? 0) + 1);
      }
    }
    assert.ok(withId.service >= 6 && withId.container >= 4, JSON.stringify(withId));
    // What top --by cgroup will count.
    assert.equal(perCgroup.get(ids.service), 5);
    assert.equal(perCgroup.get(ids.container), 3);

    const named = await native.cgroupPaths({ ids: new BigUint64Array([ids.container, ids.service, 0n]) });
    assert.equal(named.mount, mount);
    assert.ok(named.complete);
    const pathOf = new Map([...named.ids].map((id, i) => [id, named.paths[i]]));
    assert.equal(pathOf.get(ids.service), `/${rel.service}`);
    assert.equal(pathOf.get(ids.container), `/${rel.container}`);
    assert.deepEqual(native.cgroupPathsSync({ ids: new BigUint64Array([ids.service]) }).paths, [`/${rel.service}`]);
    assert.equal(cgroupShortName(pathOf.get(ids.service)!).name, 'app.service');
    assert.equal(cgroupShortName(pathOf.get(ids.container)!).name, CONTAINER_ID.slice(0, 12));
    assert.equal(cgroupShortName(pathOf.get(ids.container)!).containerId, CONTAINER_ID);

    // The kernel's filter against ss with the same filter (ss takes a path
    // relative to the cgroup2 mount, and finds its id by name_to_handle_at).
    const rows = (table: RawTable) => {
      const out: string[] = [];
      for (let i = 0; i < table.size; i++) out.push(`${table.state[i]} ${table.localPort[i]} ${table.remotePort[i]}`);
      return out.sort();
    };
    const ssRows = (extra: string[]) =>
      h
        .ss(['state', 'all', ...extra])
        .map((r) => {
          const n = {
            ESTABLISHED: 1,
            SYN_SENT: 2,
            SYN_RECV: 3,
            FIN_WAIT1: 4,
            FIN_WAIT2: 5,
            TIME_WAIT: 6,
            CLOSE: 7,
            CLOSE_WAIT: 8,
            LAST_ACK: 9,
            LISTEN: 10,
            CLOSING: 11,
          }[r.state!];
          return `${n} ${r.localPort} ${r.remotePort}`;
        })
        .sort();
    const cases = [
      { ours: compileCgroupFilter([ids.service]), ss: ['cgroup', rel.service], size: withId.service },
      {
        ours: compileCgroupFilter([ids.container, ids.service]),
        ss: ['(', 'cgroup', rel.container, 'or', 'cgroup', rel.service, ')'],
        size: withId.service + withId.container,
      },
      {
        ours: andPrograms(h.filterBytecode({ sport: svc.info.port }), compileCgroupFilter([ids.service])),
        ss: ['(', 'sport', '=', `:${svc.info.port}`, ')', 'and', 'cgroup', rel.service],
        size: 6,
      },
      {
        ours: andPrograms(h.filterBytecode({ sport: svc.info.port }), compileCgroupFilter([ids.container])),
        ss: ['(', 'sport', '=', `:${svc.info.port}`, ')', 'and', 'cgroup', rel.container],
        size: 0,
      },
    ];
    for (const c of cases) {
      const mine = rows(native.sampleSync({ states: ALL, bytecode: c.ours }));
      assert.equal(mine.length, c.size, c.ss.join(' '));
      assert.deepEqual(mine, ssRows(c.ss), c.ss.join(' '));
    }

    // As nobody: the same ids, paths and filtered rows, no privilege needed.
    const ports = [svc.info.port, ctr.info.port];
    const r = spawnSync(h.AS_NOBODY[0], [...h.AS_NOBODY.slice(1), process.execPath, '-e', NOBODY_CGROUP_JS(ports, [ids.service, ids.container])], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const nobody = JSON.parse(r.stdout);
    assert.equal(nobody.uid, 65534);
    assert.deepEqual(nobody.byPort, { [svc.info.port]: Array(5).fill(String(ids.service)), [ctr.info.port]: Array(3).fill(String(ids.container)) });
    assert.deepEqual(
      nobody.ids,
      [String(ids.service), String(ids.container)].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)),
    );
    assert.deepEqual(new Set(nobody.paths), new Set([`/${rel.service}`, `/${rel.container}`]));
    assert.equal(nobody.filtered, withId.service);
    assert.deepEqual(nobody.missing, []);
  } finally {
    for (const fx of holders) await fx.stop();
    for (const r of [rel.service, rel.container, base]) {
      // rmdir succeeds once the cgroup has no process left (the holders exited).
      for (let i = 0; i < 50; i++) {
        try {
          fs.rmdirSync(path.join(mount, r));
          break;
        } catch (e) {
          const code = (e as h.Thrown).code;
          if (code === 'ENOENT') break;
          // eslint-disable-next-line no-unsafe-finally -- cleanup that cannot remove its cgroup must fail the test, not hide it
          if (code !== 'EBUSY' || i === 49) throw e;
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    }
  }
  assert.ok(!fs.existsSync(path.join(mount, base)));
});
